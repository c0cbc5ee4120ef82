#!/usr/bin/env bash
# Kafka's kafka-console-consumer.sh on Samsa: same flags, same output. See `samsa console-consumer --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa console-consumer "$@"
