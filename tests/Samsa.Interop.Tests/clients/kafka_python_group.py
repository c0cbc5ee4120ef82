"""kafka-python (Debian python3-kafka) as a consumer-group member, for the consumer-groups tool tests.

  commit BOOTSTRAP GROUP TOPIC P=M[,P=M]   reads the first M records of each partition P (assigned, no
                                           membership) and commits offset M for it; prints {"read": {P: M}}
  hold BOOTSTRAP GROUP TOPIC               subscribes in GROUP, prints {"assigned": [partitions]} once it owns
                                           partitions, and keeps polling until stdin closes
  read BOOTSTRAP GROUP TOPIC COUNT         subscribes in GROUP (auto.offset.reset=earliest), prints the first
                                           COUNT records as {"partition": p, "offset": o}, commits and leaves
"""
import json
import sys
import threading

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

command, bootstrap, group, topic = sys.argv[1:5]


def consumer(**extra):
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", **extra)


if command == "commit":
    wanted = {int(p): int(m) for p, m in (pair.split("=") for pair in sys.argv[5].split(","))}
    c = consumer()
    partitions = [TopicPartition(topic, p) for p in wanted]
    c.assign(partitions)
    c.seek_to_beginning()
    read = {p: 0 for p in wanted}
    while any(read[p] < wanted[p] for p in wanted):
        for tp, records in c.poll(timeout_ms=1000).items():
            for record in records:
                if read[tp.partition] < wanted[tp.partition]:
                    assert record.offset == read[tp.partition], (record.offset, read[tp.partition])
                    read[tp.partition] += 1
    c.commit({TopicPartition(topic, p): OffsetAndMetadata(m, "") for p, m in wanted.items()})
    c.close(autocommit=False)
    print(json.dumps({"read": read}), flush=True)
elif command == "hold":
    c = consumer(session_timeout_ms=30000, heartbeat_interval_ms=1000)
    c.subscribe([topic])
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    announced = False
    while not stop.is_set():
        c.poll(timeout_ms=200)
        if not announced and c.assignment():
            print(json.dumps({"assigned": sorted(tp.partition for tp in c.assignment())}), flush=True)
            announced = True
    c.close(autocommit=False)
elif command == "read":
    want = int(sys.argv[5])
    c = consumer(consumer_timeout_ms=30000)
    c.subscribe([topic])
    seen = 0
    for record in c:
        print(json.dumps({"partition": record.partition, "offset": record.offset}), flush=True)
        seen += 1
        if seen >= want:
            break
    c.commit()
    c.close(autocommit=False)
else:
    sys.exit("unknown command " + command)
