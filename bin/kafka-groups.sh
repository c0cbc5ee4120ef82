#!/usr/bin/env bash
# Kafka's kafka-groups.sh on Samsa: same flags, same output. See `samsa groups --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa groups "$@"
