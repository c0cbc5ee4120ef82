#!/usr/bin/env bash
# Kafka's kafka-reassign-partitions.sh on Samsa: same flags, same output. See `samsa reassign-partitions --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa reassign-partitions "$@"
