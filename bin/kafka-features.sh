#!/usr/bin/env bash
# Kafka's kafka-features.sh on Samsa: same flags, same output. See `samsa features --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa features "$@"
