"""kafka-python (Debian python3-kafka) as a long-running consumer-group member, or as a steady producer.

  member BOOTSTRAP TOPIC GROUP [key=value ...]   subscribes TOPIC in GROUP and prints one JSON line per event
  ticker BOOTSTRAP TOPIC PARTITIONS INTERVAL_MS [COUNT]
      sends "m-<n>" to partition n % PARTITIONS every INTERVAL_MS (COUNT records, or until closed)

Member options: assignor (range|roundrobin), session_timeout_ms, heartbeat_interval_ms, max_poll_interval_ms,
auto_offset_reset (earliest|latest|none). Every line carries "ts" (ms since the epoch) and "event":
  assigned {partitions, generation, member}   revoked {partitions}   record {partition, offset, value}
  committing, committed {partition, offset}  (before and after a commit; offset: the next offset to read)
  commit_failed {error}   error {error}   closed
The member commits the offsets it consumed, synchronously, after each poll. Commands on stdin, one a line:
  stop-polling   keeps the process (and kafka-python's heartbeat thread) alive but stops calling poll()
  close          commits, leaves the group and exits; end of stdin (the test host went away) does the same
A ticker prints {"event": "sent", partition, offset, value} per acknowledged record and stops on "close"/end of stdin.
"""
import json
import queue
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.structs import OffsetAndMetadata


def emit(event, **fields):
    fields["event"] = event
    fields["ts"] = int(time.time() * 1000)
    print(json.dumps(fields), flush=True)


def commands():
    """stdin lines as a queue; end of stdin reads as "close"."""
    q = queue.Queue()

    def pump():
        for line in sys.stdin:
            q.put(line.strip())
        q.put("close")

    threading.Thread(target=pump, daemon=True).start()
    return q


def next_command(q):
    try:
        return q.get_nowait()
    except queue.Empty:
        return None


def member(bootstrap, topic, group, options):
    assignor = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}[options.get("assignor", "range")]
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, client_id=options.get("client_id", "kafka-python-member"),
        enable_auto_commit=False, partition_assignment_strategy=[assignor],
        auto_offset_reset=options.get("auto_offset_reset", "earliest"),
        session_timeout_ms=int(options.get("session_timeout_ms", 10000)),
        heartbeat_interval_ms=int(options.get("heartbeat_interval_ms", 500)),
        max_poll_interval_ms=int(options.get("max_poll_interval_ms", 30000)),
        request_timeout_ms=int(options.get("max_poll_interval_ms", 30000)) + 5000,
        metadata_max_age_ms=5000)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit("revoked", partitions=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            generation = consumer._coordinator._generation
            emit("assigned", partitions=sorted(tp.partition for tp in assigned),
                 generation=generation.generation_id, member=generation.member_id)

    consumer.subscribe([topic], listener=Listener())
    control = commands()
    polling = True
    while True:
        command = next_command(control)
        if command == "close":
            break
        if command == "stop-polling":
            polling = False
            emit("stopped-polling")
        if not polling:
            time.sleep(0.05)
            continue
        try:
            batches = consumer.poll(timeout_ms=100)
        except Exception as e:  # noqa: BLE001 - reported to the test, which decides
            emit("error", error=type(e).__name__ + ": " + str(e))
            time.sleep(0.1)
            continue
        offsets = {}
        for tp, records in batches.items():
            for r in records:
                emit("record", partition=r.partition, offset=r.offset, value=r.value.decode())
                offsets[tp] = OffsetAndMetadata(r.offset + 1, "")
        if offsets:
            for tp, om in offsets.items():
                emit("committing", partition=tp.partition, offset=om.offset)
            try:
                consumer.commit(offsets)
                for tp, om in offsets.items():
                    emit("committed", partition=tp.partition, offset=om.offset)
            except Exception as e:  # noqa: BLE001 - a rebalance in the way: at-least-once
                emit("commit_failed", error=type(e).__name__)
    consumer.close()
    emit("closed")


def ticker(bootstrap, topic, partitions, interval_ms, count):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0, retries=20, retry_backoff_ms=200)
    control = commands()
    n = 0
    while next_command(control) != "close" and n != count:
        value = "m-%d" % n
        meta = producer.send(topic, value=value.encode(), partition=n % partitions).get(timeout=30)
        emit("sent", partition=meta.partition, offset=meta.offset, value=value)
        n += 1
        time.sleep(interval_ms / 1000.0)
    producer.close()
    emit("closed")


if sys.argv[1] == "member":
    member(sys.argv[2], sys.argv[3], sys.argv[4], dict(a.split("=", 1) for a in sys.argv[5:]))
elif sys.argv[1] == "ticker":
    ticker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else -1)
else:
    sys.exit("unknown command " + sys.argv[1])
