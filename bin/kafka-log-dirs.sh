#!/usr/bin/env bash
# Kafka's kafka-log-dirs.sh on Samsa: same flags, same output. See `samsa log-dirs --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa log-dirs "$@"
