"""A transactional producer left mid-transaction: python3 confluent_python_open_txn.py BOOTSTRAP TOPIC TRANSACTIONAL_ID COUNT

Initialises transactions, begins one, produces COUNT records ("open-{i}") to partition 0, waits until every one is
acknowledged, prints "open", then sleeps without committing or aborting until it is killed.
"""
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, transactional_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": transactional_id,
        "transaction.timeout.ms": 600000,
    })
    producer.init_transactions(30)
    producer.begin_transaction()
    failures = []
    for i in range(count):
        producer.produce(topic, value=f"open-{i}".encode(), partition=0,
                         on_delivery=lambda err, msg: failures.append(str(err)) if err else None)
    if producer.flush(30) != 0 or failures:
        sys.stderr.write(f"not acknowledged: {failures}\n")
        return 1
    print("open", flush=True)
    time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
