#!/usr/bin/env bash
# Kafka's kafka-producer-perf-test.sh on Samsa: same flags, same output. See `samsa producer-perf-test --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa producer-perf-test "$@"
