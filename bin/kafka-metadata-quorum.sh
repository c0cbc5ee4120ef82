#!/usr/bin/env bash
# Kafka's kafka-metadata-quorum.sh on Samsa: same flags, same output. See `samsa metadata-quorum --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa metadata-quorum "$@"
