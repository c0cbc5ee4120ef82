# kafka-python's KafkaAdminClient consumer-group calls against a group that a consumer has left with committed
# offsets: list, describe, list offsets, delete, and deleting a group that does not exist. Prints one JSON object.
import json
import sys

from kafka.admin import KafkaAdminClient

bootstrap, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
out = {}
out["listed"] = sorted([g, p] for g, p in admin.list_consumer_groups() if g == group)
described = admin.describe_consumer_groups([group])[0]
out["described"] = {"error": described.error_code, "state": described.state, "protocol_type": described.protocol_type, "members": len(described.members)}
offsets = admin.list_consumer_group_offsets(group)
out["offsets"] = {str(tp.partition): om.offset for tp, om in offsets.items() if tp.topic == topic}
out["deleted"] = [[g, e.errno] for g, e in admin.delete_consumer_groups([group])]
out["listed_after_delete"] = [g for g, _ in admin.list_consumer_groups() if g == group]
out["delete_unknown"] = [[g, e.errno] for g, e in admin.delete_consumer_groups(["no-such-group-" + group])]
admin.close()
print(json.dumps(out, separators=(",", ":")))
