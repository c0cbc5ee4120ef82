#!/usr/bin/env bash
# Issue 18: what the metrics and the web console cost produce throughput. Two brokers in the same run, identical but for
# metrics.listener and console.listener: "off" has neither (the instruments exist, nothing listens to them), "on" serves
# the web console (not browsed) and /metrics, which is
# scraped every SCRAPE_INTERVAL seconds during its runs (Prometheus scrapes every 15-60 s; 1 s is harsher).
# kafka-producer-perf-test (Confluent.Kafka / librdkafka) with 1 KiB records, acks=1, linger.ms=5, one broker after the
# other for ROUNDS rounds, alternating the order. Prints a markdown table of the medians, the ratio on/off (the issue's
# bar: metrics cost < 3 %, so ratio > 0.97) and the broker's CPU seconds per GB; then, with the load off, what a
# scrape costs the broker (CPU over SCRAPES back-to-back scrapes) and how many produce requests a GB took, which
# together with the per-call cost (MetricsServerTests prints it) bound the metrics' share of the broker's CPU.
#
#   CONTROL=1 bench/metrics.sh        # A/A control: the "on" broker gets no listener either (and is not scraped)
#   bench/metrics.sh                  # ROUNDS=5 rounds of RECORDS=300000 x 1 KiB per broker, about 2 minutes on 2 cores
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$home"
records="${RECORDS:-300000}"
rounds="${ROUNDS:-5}"
scrape_interval="${SCRAPE_INTERVAL:-1}"
scrapes="${SCRAPES:-200}"
control="${CONTROL:-0}"
work="$(mktemp -d /tmp/samsa-metrics-XXXXXX)"
declare -A broker_pid
scraper_pid=""
cleanup() {
  if [ -n "$scraper_pid" ]; then kill "$scraper_pid" 2>/dev/null || true; wait "$scraper_pid" 2>/dev/null || true; fi
  for pid in "${broker_pid[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "== $*" >&2; }

for project in src/Samsa.Server src/Samsa.Cli; do dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >&2; done
server="$home/src/Samsa.Server/bin/Release/net10.0/samsa-server.dll"
samsa() { dotnet "$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

declare -A port
metrics_port="$(free_port)"
console_port="$(free_port)"
for mode in off on; do
  port[$mode]="$(free_port)"
  # No config file is the zero-config start, whose web console is set explicitly here: off for "off", on for "on".
  extra=(--override "console.listener=")
  [ "$mode" = on ] && [ "$control" = 0 ] && extra=(--override "metrics.listener=http://127.0.0.1:$metrics_port" --override "console.listener=http://127.0.0.1:$console_port")
  dotnet "$server" --override "listeners=PLAINTEXT://127.0.0.1:${port[$mode]}" --override "log.dirs=$work/data-$mode" "${extra[@]}" \
    >"$work/broker-$mode.log" 2>&1 &
  broker_pid[$mode]=$!
  for _ in $(seq 1 150); do
    if (echo >"/dev/tcp/127.0.0.1/${port[$mode]}") 2>/dev/null; then break; fi
    kill -0 "${broker_pid[$mode]}" 2>/dev/null || { cat "$work/broker-$mode.log" >&2; exit 1; }
    sleep 0.2
  done
done
if [ "$control" = 0 ]; then
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$metrics_port/health/ready" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null || { echo "no /metrics on the 'on' broker" >&2; exit 1; }
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/${broker_pid[$1]}/stat"; }
perf() { # mode round -> "records/s broker-cpu-s"
  local mode="$1" topic="bench-$1-$2" before rate
  samsa topics --bootstrap-server "127.0.0.1:${port[$mode]}" --create --topic "$topic" --partitions 1 --replication-factor 1 >/dev/null
  if [ "$mode" = on ] && [ "$control" = 0 ]; then
    (while true; do curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null; sleep "$scrape_interval"; done) &
    scraper_pid=$!
  fi
  before="$(cpu_ticks "$mode")"
  rate="$(dotnet "$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll" producer-perf-test \
    --topic "$topic" --num-records "$records" --record-size 1024 --throughput -1 \
    --producer-props "bootstrap.servers=127.0.0.1:${port[$mode]}" acks=1 linger.ms=5 batch.size=131072 \
    2>"$work/$topic.err" | tail -1 | awk '{print $4}')"
  local ticks=$(( $(cpu_ticks "$mode") - before ))
  if [ -n "$scraper_pid" ]; then kill "$scraper_pid" 2>/dev/null || true; wait "$scraper_pid" 2>/dev/null || true; scraper_pid=""; fi
  echo "$rate $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/hz}')"
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A runs broker_cpu
for round in $(seq 1 "$rounds"); do
  if (( round % 2 == 0 )); then order=(on off); else order=(off on); fi
  for mode in "${order[@]}"; do
    read -r r b <<<"$(perf "$mode" "$round")"
    [ -n "$r" ] || { cat "$work/bench-$mode-$round.err" >&2; exit 1; }
    log "round $round metrics $mode: $r records/s, broker ${b} s CPU"
    runs[$mode]="${runs[$mode]:-} $r"
    broker_cpu[$mode]="${broker_cpu[$mode]:-} $b"
  done
done
log "load average (1, 5, 15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$control" = 0 ]; then
  # The counters saw every record: MessagesIn of the 'on' broker's topics adds up to what was sent.
  counted="$(curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk '/^kafka_server_brokertopicmetrics_messagesin_total\{.*topic="bench-on-/ {s += $2} END {printf "%.0f", s}')"
  log "MessagesIn on the 'on' broker: $counted of $(( records * rounds )) records sent"
  produce_requests="$(curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk '/^kafka_network_requestmetrics_requests_total\{.*request="Produce"/ {s += $2} END {printf "%.0f", s}')"
  bytes_in="$(curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk '/^kafka_server_brokertopicmetrics_bytesin_total\{.*topic="bench-on-/ {s += $2} END {printf "%.0f", s}')"
  before="$(cpu_ticks on)"
  for _ in $(seq 1 "$scrapes"); do curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/scrape.txt"; done
  scrape_ms="$(awk -v t="$(( $(cpu_ticks on) - before ))" -v hz="$(getconf CLK_TCK)" -v n="$scrapes" 'BEGIN{printf "%.2f", t/hz*1000/n}')"
  log "one scrape ($(wc -c <"$work/scrape.txt") bytes, $(grep -vc '^#' "$work/scrape.txt") series lines) costs the broker $scrape_ms ms CPU (over $scrapes scrapes)"
  log "produce requests: $produce_requests for $bytes_in bytes in: $(awk -v r="$produce_requests" -v b="$bytes_in" 'BEGIN{printf "%.0f", r/(b/1e9)}') per GB"
fi
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base="$(echo "${runs[off]}" | median)"
gb="$(awk -v n="$records" 'BEGIN{print n*1024/1e9}')"
echo "| metrics | runs (records/s) | median records/s | MB/s | ratio to off | broker CPU s/GB |"
echo "|---|---|---|---|---|---|"
for mode in off on; do
  m="$(echo "${runs[$mode]}" | median)"
  bm="$(echo "${broker_cpu[$mode]}" | median)"
  echo "| $mode |${runs[$mode]} | $m | $(awk -v m="$m" 'BEGIN{printf "%.1f", m*1024/1048576}') | $(awk -v m="$m" -v b="$base" 'BEGIN{printf "%.3f", m/b}') | $(awk -v x="$bm" -v g="$gb" 'BEGIN{printf "%.2f", x/g}') |"
done
