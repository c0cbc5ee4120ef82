#!/usr/bin/env bash
# Kafka's kafka-storage.sh on Samsa: same flags, same output. See `samsa storage --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa storage "$@"
