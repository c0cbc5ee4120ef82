#!/usr/bin/env bash
# Kafka's kafka-delete-records.sh on Samsa: same flags, same output. See `samsa delete-records --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa delete-records "$@"
