"""kafka-python (Debian python3-kafka): connect, negotiate API versions, read cluster metadata.

Prints one JSON line: the broker version kafka-python inferred from our ApiVersions answer, the brokers
and controller it learned from Metadata, and the topics it listed.
"""
import json
import sys

from kafka.admin import KafkaAdminClient

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000,
                         api_version_auto_timeout_ms=10000, client_id="samsa-interop")
topics = admin.list_topics()
cluster = admin._client.cluster
print(json.dumps({
    "api_version": list(admin.config["api_version"]),
    "api_versions": {str(k): list(v) for k, v in admin._client.get_api_versions().items()},
    "brokers": [{"id": b.nodeId, "host": b.host, "port": b.port} for b in cluster.brokers()],
    "controller": admin._controller_id,
    "topics": topics,
}))
admin.close()
