#!/usr/bin/env bash
# Replication cost (issue 16): on one three-node cluster (samsa-cluster.sh start --nodes 3, every node a broker and
# a controller, all on this machine), producer-perf-test with acks=all into a topic with replication factor 3
# (min.insync.replicas=2) against one with replication factor 1, alternating which goes first, each round on fresh
# topics of 3 partitions (one led by each node). Then consumer-perf-test reading the RF=3 topic from its leaders and,
# with client.rack (KIP-392, broker.rack and replica.selector.class set), from followers. Prints a markdown table:
# each run, the medians, and the ratios RF=3 / RF=1 (target >= 0.50) and follower / leader reads.
#
#   bench/replication.sh              # ROUNDS=3 rounds of RECORDS=1000000 x 100 B each way, about 3-4 minutes on 2 cores
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$home"
records="${RECORDS:-1000000}"
rounds="${ROUNDS:-3}"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
work="$(mktemp -d /tmp/samsa-replication-XXXXXX)"
cleanup() {
  "$home/bin/samsa-cluster.sh" stop --base-dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "== $*" >&2; }

log "building (Release)"
for project in src/Samsa.Server src/Samsa.Cli; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >&2
done
samsa() { dotnet "$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll" "$@"; }

free_base() { python3 -c '
import random, socket
while True:
    b = random.randrange(20000, 30000)
    try:
        for p in range(b, b + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(b); break
    except OSError: pass'; }
broker_base="$(free_base)"
controller_base="$(free_base)"
log "starting 3 nodes (brokers from port $broker_base) in $work/cluster"
"$home/bin/samsa-cluster.sh" start --nodes 3 --base-dir "$work/cluster" --base-port "$broker_base" --controller-base-port "$controller_base" >&2
# KIP-392: each node in its own rack, leaders choosing a same-rack replica for consumers that name a rack.
for id in 1 2 3; do
  printf 'broker.rack=rack-%s\nreplica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector\n' "$id" >>"$work/cluster/node-$id/server.properties"
done
"$home/bin/samsa-cluster.sh" stop --base-dir "$work/cluster" >&2
for id in 1 2 3; do
  LOG_DIR="$work/cluster/node-$id/logs" "$home/bin/kafka-server-start.sh" -daemon "$work/cluster/node-$id/server.properties"
done
bootstrap="localhost:$broker_base,localhost:$((broker_base + 1)),localhost:$((broker_base + 2))"
for _ in $(seq 1 150); do samsa topics --bootstrap-server "$bootstrap" --list >/dev/null 2>&1 && break; sleep 0.2; done

create() { samsa topics --bootstrap-server "$bootstrap" --create --topic "$1" --partitions 3 --replication-factor "$2" --config min.insync.replicas="$3" >/dev/null; }
# One producer-perf-test run; prints "records/s MB/s p50 p99", and fails unless every record was sent.
perf() {
  local topic="$1" rf="$2" n="$3" out="$work/$1.txt" line
  create "$topic" "$rf" "$([ "$rf" -eq 3 ] && echo 2 || echo 1)"
  samsa producer-perf-test --topic "$topic" --num-records "$n" --record-size 100 --throughput -1 \
    --producer-props "bootstrap.servers=$bootstrap" acks=all linger.ms=5 batch.size=131072 >"$out"
  line="$(tail -1 "$out")"
  [[ "$line" =~ ^([0-9]+)\ records\ sent,\ ([0-9.]+)\ records/sec\ \(([0-9.]+)\ MB/sec\),.*\ ([0-9]+)\ ms\ 50th,\ [0-9]+\ ms\ 95th,\ ([0-9]+)\ ms\ 99th ]] ||
    { echo "unexpected producer-perf-test output for $topic:" >&2; cat "$out" >&2; exit 1; }
  [ "${BASH_REMATCH[1]}" -eq "$n" ] || { echo "$topic: ${BASH_REMATCH[1]} of $n records sent" >&2; cat "$out" >&2; exit 1; }
  echo "${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]}"
}
# One consumer-perf-test run over a whole topic; prints its MB/s and records/s.
consume() {
  local topic="$1" n="$2" rack="$3" config="$work/consumer-$3.properties"
  printf 'client.rack=%s\n' "$rack" >"$config"
  samsa consumer-perf-test --bootstrap-server "$bootstrap" --topic "$topic" --messages "$n" --consumer.config "$config" --group "perf-$topic-$rack" >"$work/consume-$topic-$rack.txt"
  awk -F', ' 'NR==2 {print $4, $6}' "$work/consume-$topic-$rack.txt"
}
n() { python3 -c "print(f'{float($1):,.0f}')"; }

log "warm-up: 200,000 records each way"
perf warmup-rf1 1 200000 >/dev/null
perf warmup-rf3 3 200000 >/dev/null

rows=""
rf1=()
rf3=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="1 3"; else order="3 1"; fi
  for rf in $order; do
    log "round $round, replication factor $rf"
    read -r rps mbs p50 p99 <<<"$(perf "r$round-rf$rf" "$rf" "$records")"
    if [ "$rf" -eq 3 ]; then rf3+=("$rps"); r3="$rps $mbs $p50 $p99"; else rf1+=("$rps"); r1="$rps $mbs $p50 $p99"; fi
  done
  read -r a_rps a_mbs a_p50 a_p99 <<<"$r1"
  read -r b_rps b_mbs b_p50 b_p99 <<<"$r3"
  rows+="| $round | $(n "$a_rps") ($a_mbs MB/s), p50 $a_p50, p99 $a_p99 ms | $(n "$b_rps") ($b_mbs MB/s), p50 $b_p50, p99 $b_p99 ms | $(python3 -c "print(f'{$b_rps / $a_rps:.3f}')") |"$'\n'
done

# Reads of the last RF=3 topic, after one warm-up read: a rack no broker is in (every fetch to the leader), then
# rack-1 (node 1 serves every partition, two of three as a follower).
log "consumer-perf-test from leaders and from followers"
consume "r$rounds-rf3" "$records" warm-up >/dev/null
read -r lead_mbs lead_rps <<<"$(consume "r$rounds-rf3" "$records" rack-none)"
read -r follow_mbs follow_rps <<<"$(consume "r$rounds-rf3" "$records" rack-1)"

median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }
m1=$(median "${rf1[@]}")
m3=$(median "${rf3[@]}")
cat <<EOF

## Replication factor 3 vs 1 ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); load average $load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after)

Three combined nodes on this one machine (samsa-cluster.sh start --nodes 3). producer-perf-test $(n "$records") x 100 B per
run, acks=all, linger.ms=5, batch.size=131072, 3 partitions (one led by each node); RF=3 with min.insync.replicas=2.

| round | RF=1 | RF=3 | RF=3 / RF=1 |
| --- | --- | --- | ---: |
${rows}| median | $(n "$m1") records/s | $(n "$m3") records/s | $(python3 -c "print(f'{$m3 / $m1:.3f}')") |

consumer-perf-test over the RF=3 topic ($(n "$records") records): from the leaders $(n "$lead_rps") records/s ($lead_mbs MB/s);
with client.rack=rack-1, node 1 serving as the preferred read replica (KIP-392), $(n "$follow_rps") records/s ($follow_mbs MB/s);
follower / leader $(python3 -c "print(f'{$follow_rps / $lead_rps:.3f}')").
EOF
