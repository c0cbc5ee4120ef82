#!/usr/bin/env bash
# Kafka's kafka-dump-log.sh on Samsa: same flags, same output. See `samsa dump-log --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa dump-log "$@"
