#!/usr/bin/env bash
# Kafka's kafka-acls.sh on Samsa: same flags, same output. See `samsa acls --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa acls "$@"
