#!/usr/bin/env bash
# Kafka's kafka-e2e-latency.sh (EndToEndLatency) on Samsa: same arguments, same output. See `samsa end-to-end-latency --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa end-to-end-latency "$@"
