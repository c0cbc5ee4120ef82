#!/usr/bin/env bash
# Issue 12's latency soak: its own samsa-server, 2,000 msg/s with acks=all through Confluent.Kafka, a consumer group
# committing offsets, a topic created every 3 s; prints p50/p99/p99.9/p99.99/max of the produce ack and of
# produce -> consume, against the targets max <= 100 ms and p99.99 <= 20 ms (exit 1 when missed).
#
#   bench/latency-soak.sh              # 10 minutes, on a quiet machine
#   bench/latency-soak.sh 2            # 2 minutes
#   bench/latency-soak.sh --smoke      # 20 seconds: checks that it runs and loses nothing, not the targets
#
# Extra arguments after the first go to the program (--rate N, --warmup N). SAMSA_BENCH_SERVER_LOG=1 shows the
# broker's stdout too (its stderr is always shown).
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$home"
duration=(--minutes 10)
if [ "${1:-}" = "--smoke" ]; then
  duration=(--seconds 20 --warmup 3 --smoke)
  shift
elif [ -n "${1:-}" ] && [ "${1#--}" = "$1" ]; then
  duration=(--minutes "$1")
  shift
fi
dotnet build src/Samsa.Server/Samsa.Server.csproj -c Release -v quiet -nologo >/dev/null
dotnet build bench/Samsa.Latency.Benchmarks/Samsa.Latency.Benchmarks.csproj -c Release -v quiet -nologo >/dev/null
exec dotnet bench/Samsa.Latency.Benchmarks/bin/Release/net10.0/Samsa.Latency.Benchmarks.dll "${duration[@]}" "$@"
