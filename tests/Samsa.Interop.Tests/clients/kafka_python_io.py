"""kafka-python (Debian python3-kafka) as producer or consumer, speaking JSON lines.

  produce BOOTSTRAP TOPIC COMPRESSION [PARTITION]
                                        reads messages from stdin, sends them with acks=all (to PARTITION if given)
  produce-bad-crc BOOTSTRAP TOPIC       the same, uncompressed, with every batch's CRC-32C flipped: the broker
                                        must answer CORRUPT_MESSAGE
  consume BOOTSTRAP TOPIC COUNT         prints COUNT messages from the beginning of partition 0
  group BOOTSTRAP TOPIC GROUP COUNT     subscribes as a member of GROUP, prints COUNT messages, commits them, leaves

A message line: {"key": b64|null, "value": b64|null, "headers": [[name, b64]], "timestamp": ms|null}.
"""
import base64
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def unb64(text):
    return None if text is None else base64.b64decode(text)


command, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
if command == "produce-bad-crc":
    import kafka.record.default_records as default_records
    real_crc = default_records.calc_crc32c
    default_records.calc_crc32c = lambda data: real_crc(data) ^ 0xFFFFFFFF
    command, sys.argv[4:] = "produce", ["none"]
if command == "produce":
    compression = None if sys.argv[4] == "none" else sys.argv[4]
    partition = int(sys.argv[5]) if len(sys.argv) > 5 else None
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression,
                             max_request_size=4_000_000, linger_ms=5, retries=0)
    count = 0
    for line in sys.stdin:
        m = json.loads(line)
        producer.send(topic, partition=partition, key=unb64(m["key"]), value=unb64(m["value"]),
                      headers=[(k, unb64(v)) for k, v in m["headers"]], timestamp_ms=m["timestamp"]).get(timeout=30)
        count += 1
    producer.flush()
    producer.close()
    print(json.dumps({"produced": count}))
elif command == "consume":
    want = int(sys.argv[4])
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=30000,
                             max_partition_fetch_bytes=4_000_000, fetch_max_bytes=8_000_000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    seen = 0
    for record in consumer:
        print(json.dumps({"partition": record.partition, "offset": record.offset, "key": b64(record.key),
                          "value": b64(record.value), "headers": [[k, b64(v)] for k, v in record.headers],
                          "timestamp": record.timestamp}))
        seen += 1
        if seen >= want:
            break
    consumer.close()
elif command == "group":
    group, want = sys.argv[4], int(sys.argv[5])
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=30000)
    seen = 0
    for record in consumer:
        print(json.dumps({"partition": record.partition, "offset": record.offset, "value": b64(record.value)}), flush=True)
        seen += 1
        if seen >= want:
            break
    consumer.commit()
    consumer.close()
    if seen < want:
        sys.exit("only %d of %d messages arrived" % (seen, want))
else:
    sys.exit("unknown command " + command)
