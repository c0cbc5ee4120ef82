#!/usr/bin/env bash
# Kafka's kafka-transactions.sh on Samsa: same sub-commands, flags and tables. See `samsa transactions --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa transactions "$@"
