#!/usr/bin/env bash
# Kafka's kafka-configs.sh on Samsa: same flags, same output. See `samsa configs --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa configs "$@"
