#!/usr/bin/env bash
# Kafka's kafka-consumer-groups.sh on Samsa: same flags, same output. See `samsa consumer-groups --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa consumer-groups "$@"
