"""confluent-kafka-python (Debian python3-confluent-kafka, on Debian's librdkafka): cluster metadata.

Prints one JSON line with the cluster id, controller id and brokers from AdminClient.list_topics().
"""
import json
import sys

from confluent_kafka.admin import AdminClient

admin = AdminClient({"bootstrap.servers": sys.argv[1], "socket.timeout.ms": 10000})
metadata = admin.list_topics(timeout=10)
print(json.dumps({
    "cluster_id": metadata.cluster_id,
    "controller_id": metadata.controller_id,
    "orig_broker_id": metadata.orig_broker_id,
    "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in metadata.brokers.values()],
    "topics": list(metadata.topics.keys()),
}))
