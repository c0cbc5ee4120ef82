# kafka-python's KafkaAdminClient against a broker: every admin call the topics issue names, and each error case.
# Prints one JSON object: what succeeded and the Kafka error code each failing call got.
import json
import sys

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

bootstrap = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
out = {}


def error_code(call):
    try:
        call()
        return 0
    except KafkaError as e:
        return getattr(e, "errno", -1)


admin.create_topics([NewTopic("py-orders", 3, 1, topic_configs={"retention.ms": "172800000"})])
out["listed"] = sorted(admin.list_topics())
described = admin.describe_topics(["py-orders"])[0]
out["partitions"] = len(described["partitions"])
out["leaders"] = sorted(p["leader"] for p in described["partitions"])
admin.create_partitions({"py-orders": NewPartitions(4)})
out["partitions_after_add"] = len(admin.describe_topics(["py-orders"])[0]["partitions"])
admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "py-orders", configs={"retention.ms": "86400000"})])
configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-orders")])[0].resources[0][4]
out["retention_ms"] = next(c[1] for c in configs if c[0] == "retention.ms")
out["cleanup_policy"] = next(c[1] for c in configs if c[0] == "cleanup.policy")
out["errors"] = {
    "replication_factor": error_code(lambda: admin.create_topics([NewTopic("py-rf", 1, 3)])),
    "exists": error_code(lambda: admin.create_topics([NewTopic("py-orders", 1, 1)])),
    "invalid_config": error_code(lambda: admin.create_topics([NewTopic("py-bad", 1, 1, topic_configs={"no.such.config": "1"})])),
    "invalid_value": error_code(lambda: admin.create_topics([NewTopic("py-bad", 1, 1, topic_configs={"retention.ms": "soon"})])),
    "invalid_name": error_code(lambda: admin.create_topics([NewTopic("bad/name", 1, 1)])),
    "decrease": error_code(lambda: admin.create_partitions({"py-orders": NewPartitions(2)})),
    "delete_unknown": error_code(lambda: admin.delete_topics(["py-missing"])),
}
if hasattr(admin, "delete_records"):
    result = admin.delete_records({TopicPartition("py-orders", 0): 0})
    out["delete_records"] = "ok"
admin.delete_topics(["py-orders"])
out["listed_after_delete"] = sorted(admin.list_topics())
admin.create_topics([NewTopic("py-orders", 1, 1)])
out["recreated"] = len(admin.describe_topics(["py-orders"])[0]["partitions"])
print(json.dumps(out))
