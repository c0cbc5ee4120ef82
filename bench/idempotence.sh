#!/usr/bin/env bash
# Idempotent produce against plain produce on one broker, in the same run (issue 14): producer-perf-test
# (Confluent.Kafka 2.16 / librdkafka 2.16.0) with acks=all, linger.ms=5, batch.size=131072, five requests in flight,
# once with enable.idempotence=false and once with enable.idempotence=true per round, alternating which goes first,
# each round on fresh 1-partition topics. Prints a markdown table: each run, the medians, and the ratio
# idempotent / plain of the median records/s (target >= 0.95).
#
#   bench/idempotence.sh              # ROUNDS=5 rounds of RECORDS=2000000 x 100 B each way, about 2-3 minutes on 2 cores
#
# Builds the server and the tools in Release, starts its own samsa-server on a free port with a temp data dir, and
# stops it at the end (also on Ctrl-C or failure).
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$home"
records="${RECORDS:-2000000}"
rounds="${ROUNDS:-5}"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
work="$(mktemp -d /tmp/samsa-idempotence-XXXXXX)"
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "== $*" >&2; }

[ -x /usr/bin/time ] || { echo "GNU time is required (apt-get install time)" >&2; exit 2; }

log "building (Release)"
for project in src/Samsa.Server src/Samsa.Cli; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >&2
done
server="$home/src/Samsa.Server/bin/Release/net10.0/samsa-server.dll"
samsa="$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
bootstrap="127.0.0.1:$port"
log "starting samsa-server on $bootstrap, data in $work/data"
dotnet "$server" --override "listeners=PLAINTEXT://$bootstrap" --override "log.dirs=$work/data" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 150); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
  sleep 0.2
done

samsa() { dotnet "$samsa" "$@"; }
create() { samsa topics --bootstrap-server "$bootstrap" --create --topic "$1" --partitions 1 --replication-factor 1 >/dev/null; }
# The broker's CPU time so far (user + system), in clock ticks: a figure other load on the machine disturbs less than records/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$broker_pid/stat"; }
# One producer-perf-test run; prints "records/s MB/s p50 p99" of its last line, then the broker's and the client's CPU seconds, and fails unless every record was sent.
perf() {
  local topic="$1" idempotence="$2" n="$3" out="$work/$1.txt" before
  create "$topic"
  before="$(cpu_ticks)"
  /usr/bin/time -f "%U %S" -o "$work/$1.time" dotnet "$samsa" producer-perf-test --topic "$topic" --num-records "$n" --record-size 100 --throughput -1 \
    --producer-props "bootstrap.servers=$bootstrap" acks=all linger.ms=5 batch.size=131072 \
    max.in.flight.requests.per.connection=5 "enable.idempotence=$idempotence" >"$out"
  local line
  line="$(tail -1 "$out")"
  [[ "$line" =~ ^([0-9]+)\ records\ sent,\ ([0-9.]+)\ records/sec\ \(([0-9.]+)\ MB/sec\),.*\ ([0-9]+)\ ms\ 50th,\ [0-9]+\ ms\ 95th,\ ([0-9]+)\ ms\ 99th ]] ||
    { echo "unexpected producer-perf-test output for $topic:" >&2; cat "$out" >&2; exit 1; }
  [ "${BASH_REMATCH[1]}" -eq "$n" ] || { echo "$topic: ${BASH_REMATCH[1]} of $n records sent" >&2; cat "$out" >&2; exit 1; }
  echo "${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]} $(python3 -c "print(f'{($(cpu_ticks) - $before) / $(getconf CLK_TCK):.2f}')") $(awk '{printf "%.2f", $1 + $2}' "$work/$1.time")"
}
n() { python3 -c "print(f'{float($1):,.0f}')"; }

log "warm-up: 500,000 records each way"
perf warmup-plain false 500000 >/dev/null
perf warmup-idempotent true 500000 >/dev/null

rows=""
plain_rps=()
idem_rps=()
plain_p99=()
idem_p99=()
plain_cpu=()
idem_cpu=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="false true"; else order="true false"; fi
  for idempotence in $order; do
    log "round $round, enable.idempotence=$idempotence"
    read -r rps mbs p50 p99 cpu ccpu <<<"$(perf "r$round-idempotence-$idempotence" "$idempotence" "$records")"
    if [ "$idempotence" = true ]; then
      idem_rps+=("$rps"); idem_p99+=("$p99"); idem_cpu+=("$cpu"); i_row="$rps $mbs $p50 $p99 $cpu $ccpu"
    else
      plain_rps+=("$rps"); plain_p99+=("$p99"); plain_cpu+=("$cpu"); p_row="$rps $mbs $p50 $p99 $cpu $ccpu"
    fi
  done
  read -r prps pmbs pp50 pp99 pcpu pccpu <<<"$p_row"
  read -r irps imbs ip50 ip99 icpu iccpu <<<"$i_row"
  rows+="| $round$([ $((round % 2)) -eq 1 ] && echo " (plain first)" || echo " (idempotent first)") | $(n "$prps") ($pmbs MB/s), p50 $pp50, p99 $pp99 ms; CPU broker $pcpu s, client $pccpu s | $(n "$irps") ($imbs MB/s), p50 $ip50, p99 $ip99 ms; CPU broker $icpu s, client $iccpu s | $(python3 -c "print(f'{$irps / $prps:.3f}')") |"$'\n'
done

kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""

median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }
mp=$(median "${plain_rps[@]}")
mi=$(median "${idem_rps[@]}")
mpc=$(median "${plain_cpu[@]}")
mic=$(median "${idem_cpu[@]}")
cat <<EOF

## Idempotent vs plain produce ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); load average $load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after)

producer-perf-test $(n "$records") x 100 B per run, acks=all, linger.ms=5, batch.size=131072, max.in.flight=5, one partition, one broker.

| round | plain (enable.idempotence=false) | idempotent (enable.idempotence=true) | ratio |
| --- | --- | --- | ---: |
${rows}| median | $(n "$mp") records/s, p99 $(median "${plain_p99[@]}") ms; broker CPU $mpc s | $(n "$mi") records/s, p99 $(median "${idem_p99[@]}") ms; broker CPU $mic s | $(python3 -c "print(f'{$mi / $mp:.3f}')") |
| broker CPU per record, plain / idempotent (medians) | | | $(python3 -c "print(f'{$mpc / $mic:.3f}')") |

Target: idempotent / plain >= 0.95 (ratio of the median records/s). The last row is the same ratio of the broker's own
CPU time (user + system, /proc), which other load on the machine disturbs less.
EOF
