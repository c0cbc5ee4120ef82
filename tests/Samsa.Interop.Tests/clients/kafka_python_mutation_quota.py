"""kafka-python's admin client under a controller_mutation_rate quota: python3 kafka_python_mutation_quota.py BOOTSTRAP CLIENT_ID

kafka-python 2.0.2 sends CreateTopics v3 at most, below the strict v6, so a creation over the quota is accepted and the
response throttled (KIP-599's permissive quota). Creates "m1" with 5 partitions and then "m2" with 1, and prints
{"first": {"throttle_time_ms": T, "errors": [...]}, "second": {...}}.
"""
import json
import sys

from kafka.admin import KafkaAdminClient, NewTopic


def answer(response):
    return {"throttle_time_ms": response.throttle_time_ms, "errors": [error for _, error, *_ in response.topic_errors]}


def main():
    bootstrap, client_id = sys.argv[1], sys.argv[2]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
    first = answer(admin.create_topics([NewTopic("m1", 5, 1)]))
    second = answer(admin.create_topics([NewTopic("m2", 1, 1)]))
    admin.close()
    print(json.dumps({"first": first, "second": second}))


if __name__ == "__main__":
    main()
