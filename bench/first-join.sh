#!/usr/bin/env bash
# First consumer-group join on a fresh broker (issue 13): kcat joins a group and reads one message on a broker
# whose __consumer_offsets does not exist yet (the join creates it, 50 partitions), against the reference of a
# second group joining on the same broker once the topic exists. Zero-config broker (Kafka's shipped defaults:
# group.initial.rebalance.delay.ms=0). Usage: bench/first-join.sh [runs]  (default 5). Needs kcat.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
dotnet build src/Samsa.Server -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
server=src/Samsa.Server/bin/Release/net10.0/samsa-server.dll
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
join() { timeout 30 kcat -b "127.0.0.1:$1" -G "$2" jt -c 1 -e -q -o beginning >/dev/null 2>&1; }
printf 'run\tfirst_join_ms\tsecond_join_ms\n'
for run in $(seq 1 "$runs"); do
  dir=$(mktemp -d); port=$((19400 + run))
  timeout 60 dotnet "$server" --override "log.dirs=$dir/data" --override "listeners=PLAINTEXT://127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  pid=$!
  until kcat -b "127.0.0.1:$port" -L -m 1 >/dev/null 2>&1; do sleep 0.1; done
  echo x | kcat -b "127.0.0.1:$port" -P -t jt 2>/dev/null
  start=$(date +%s%N); join "$port" first; first=$(ms "$start")
  start=$(date +%s%N); join "$port" second; second=$(ms "$start")
  printf '%s\t%s\t%s\n' "$run" "$first" "$second"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
done
