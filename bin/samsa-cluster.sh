#!/usr/bin/env bash
# A local Samsa cluster in one command: `samsa-cluster.sh start [--nodes 3] [--base-dir ./samsa-cluster]` formats and
# starts N combined broker/controller nodes in the background (brokers on localhost:9092, 9093, ...; controllers on
# 19092, 19093, ...) and prints the bootstrap servers; `samsa-cluster.sh stop [--base-dir DIR]` stops them.
# See `samsa cluster start --help`. Kafka's kafka-cluster.sh subcommands pass through too.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa cluster "$@"
