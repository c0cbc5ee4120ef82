"""confluent-kafka-python writing at a steady rate while brokers fail:
python3 confluent_python_availability.py BOOTSTRAP TOPIC SECONDS INTERVAL_MS [key=value ...]

Sends value "{i}" every INTERVAL_MS to partition 0 for SECONDS with acks=all and enable.idempotence=True (extra
librdkafka settings as key=value), waits for every delivery, and prints one JSON line per record:
{"value": i, "sent": t, "acked": t, "offset": o, "error": null | "..."} with times in ms since the epoch.
Exits 1 on a fatal producer error.
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, seconds, interval_ms = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    config = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
    for setting in sys.argv[5:]:
        key, value = setting.split("=", 1)
        config[key] = value
    fatal = []

    def on_error(err):
        sys.stderr.write(f"error: {err}\n")
        if err.fatal():
            fatal.append(str(err))

    config["error_cb"] = on_error
    producer = Producer(config)
    records = []

    def delivery(record):
        def on_delivery(err, msg):
            record["acked"] = int(time.time() * 1000)
            if err is not None:
                record["error"] = str(err)
            else:
                record["offset"] = msg.offset()
        return on_delivery

    start = time.time()
    i = 0
    while time.time() - start < seconds:
        record = {"value": i, "sent": int(time.time() * 1000), "acked": None, "offset": None, "error": None}
        records.append(record)
        producer.produce(topic, value=str(i), partition=0, on_delivery=delivery(record))
        i += 1
        next_send = start + i * interval_ms / 1000.0
        while True:
            left = next_send - time.time()
            producer.poll(max(0.0, min(left, 0.05)))
            if left <= 0:
                break
    producer.flush(120)
    for record in records:
        print(json.dumps(record))
    sys.exit(1 if fatal else 0)


if __name__ == "__main__":
    main()
