#!/usr/bin/env bash
# Kafka's kafka-topics.sh on Samsa: same flags, same output. See `samsa topics --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa topics "$@"
