#!/usr/bin/env bash
# Kafka's kafka-verifiable-consumer.sh on Samsa: same flags, same JSON event lines. See `samsa verifiable-consumer --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa verifiable-consumer "$@"
