#!/usr/bin/env bash
# Kafka's kafka-broker-api-versions.sh on Samsa: same flags, same output. See `samsa broker-api-versions --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa broker-api-versions "$@"
