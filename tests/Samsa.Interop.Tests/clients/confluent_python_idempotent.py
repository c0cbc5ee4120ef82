"""confluent-kafka-python as an idempotent producer: python3 confluent_python_idempotent.py BOOTSTRAP TOPIC COUNT

Produces COUNT records, key "k{i}" and value "{i}", with enable.idempotence=True and otherwise librdkafka's defaults,
spread over the topic's partitions by the default partitioner. Prints {"produced": N}; exits 1 on any delivery error
or fatal producer error.
"""
import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    errors = []
    fatal = []

    def on_error(err):
        sys.stderr.write(f"error: {err}\n")
        if err.fatal():
            fatal.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "error_cb": on_error})
    delivered = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"{msg.value()}: {err}")
        else:
            delivered[0] += 1

    for i in range(count):
        while True:
            try:
                producer.produce(topic, key=f"k{i}", value=str(i), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(60)
    print(json.dumps({"produced": delivered[0], "unflushed": left}))
    if errors or fatal or left or delivered[0] != count:
        sys.stderr.write("\n".join(errors + fatal) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
