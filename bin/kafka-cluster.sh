#!/usr/bin/env bash
# Kafka's kafka-cluster.sh on Samsa: same flags, same output. See `samsa cluster --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa cluster "$@"
