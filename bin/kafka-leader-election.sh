#!/usr/bin/env bash
# Kafka's kafka-leader-election.sh on Samsa: same flags, same output. See `samsa leader-election --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa leader-election "$@"
