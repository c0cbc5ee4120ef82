#!/usr/bin/env bash
# Kafka's kafka-get-offsets.sh on Samsa: same flags, same output. See `samsa get-offsets --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa get-offsets "$@"
