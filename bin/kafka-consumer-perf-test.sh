#!/usr/bin/env bash
# Kafka's kafka-consumer-perf-test.sh on Samsa: same flags, same output. See `samsa consumer-perf-test --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa consumer-perf-test "$@"
