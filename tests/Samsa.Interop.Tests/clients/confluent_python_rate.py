"""confluent-kafka-python producing as fast as it can: python3 confluent_python_rate.py BOOTSTRAP TOPIC CLIENT_ID SECONDS [WARMUP]

Produces 1000-byte values for WARMUP + SECONDS seconds with client.id CLIENT_ID, counting the value bytes acknowledged
in the last SECONDS (after the warm-up) and the broker's throttle reports (librdkafka's throttle_cb). The warm-up
matters under a quota: Kafka's rate counts the windows before a client's first request as empty, so a new client may
send a window count's worth of quota at once before it is throttled. Prints
{"acked_bytes": N, "seconds": S, "throttle_events": K, "max_throttle_ms": M}.
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, client_id, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    warmup = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    throttles = []
    acked = [0]
    value = b"x" * 1000
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "acks": 1,
        "linger.ms": 5,
        # The Java producer's defaults (16 KiB batches, five requests in flight): librdkafka's 1 MB batches would make
        # each request a whole second of a 1 MB/s quota, measured only after the fact.
        "batch.size": 16384,
        "max.in.flight.requests.per.connection": 5,
        # A short queue, so the run ends soon after SECONDS instead of draining a backlog.
        "queue.buffering.max.messages": 5000,
        "throttle_cb": lambda event: throttles.append(event.throttle_time * 1000.0),
    })
    begin = time.monotonic()
    start = begin + warmup
    deadline = start + seconds

    def on_delivery(err, msg):
        now = time.monotonic()
        if err is None and start <= now <= deadline:
            acked[0] += len(msg.value())

    while time.monotonic() < deadline:
        try:
            producer.produce(topic, value, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.005)
            continue
        producer.poll(0)
    elapsed = time.monotonic() - start
    producer.purge()
    producer.flush(5)
    print(json.dumps({"acked_bytes": acked[0], "seconds": elapsed, "throttle_events": len(throttles),
                      "max_throttle_ms": max(throttles) if throttles else 0}))


if __name__ == "__main__":
    main()
