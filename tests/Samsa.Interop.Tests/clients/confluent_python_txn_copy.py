"""confluent-kafka-python as a transactional copier:
python3 confluent_python_txn_copy.py BOOTSTRAP INPUT OUTPUT GROUP TXNID BATCH ABORT COUNT

A consumer of GROUP (isolation.level=read_committed, no auto commit) and a transactional producer (TXNID) copy each
input record to the same partition of OUTPUT, one transaction per batch of up to BATCH records, the consumer's
next offsets sent with send_offsets_to_transaction. Transaction number ABORT (1-based) is aborted on purpose once, and
the consumer rewinds to the group's committed offsets, so the same records are copied again in the next transaction.
Stops when COUNT records were committed. Prints one JSON line per transaction and {"done": true, ...} last.
"""
import json
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


def main():
    bootstrap, source, target, group, txn_id = sys.argv[1:6]
    batch_size, abort_at, count = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])

    def on_error(err):
        sys.stderr.write(f"error: {err}\n")

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "error_cb": on_error,
    })
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "error_cb": on_error})
    producer.init_transactions(30)
    consumer.subscribe([source])

    copied = 0
    transactions = 0
    aborted = 0
    while copied < count:
        messages = [m for m in consumer.consume(batch_size, 1.0) if m.error() is None]
        if not messages:
            continue
        transactions += 1
        producer.begin_transaction()
        for m in messages:
            producer.produce(target, key=m.key(), value=m.value(), partition=m.partition())
        positions = {}
        for m in messages:
            positions[m.partition()] = m.offset() + 1
        offsets = [TopicPartition(source, p, o) for p, o in sorted(positions.items())]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
        if transactions == abort_at:
            producer.abort_transaction(30)
            aborted += len(messages)
            for tp in consumer.committed(consumer.assignment(), 30):
                consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))
            print(json.dumps({"event": "aborted", "txn": transactions, "records": len(messages)}), flush=True)
            continue
        producer.commit_transaction(30)
        copied += len(messages)
        print(json.dumps({"event": "committed", "txn": transactions, "records": len(messages), "copied": copied}), flush=True)

    consumer.close()
    print(json.dumps({"done": True, "copied": copied, "aborted": aborted, "transactions": transactions}))
    return 0 if copied == count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaException as e:
        sys.stderr.write(f"fatal: {e}\n")
        sys.exit(3)
