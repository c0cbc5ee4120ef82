#!/usr/bin/env bash
# Issue 17: produce throughput over PLAINTEXT, SASL_PLAINTEXT (SCRAM-SHA-512) and SASL_SSL (SCRAM-SHA-512 over TLS)
# on one broker in the same run: kafka-producer-perf-test (Confluent.Kafka / librdkafka) with 1 KiB records,
# acks=1, linger.ms=5, each listener in turn for ROUNDS rounds, alternating the order. Prints a markdown table of the
# medians and each one's ratio to PLAINTEXT (the issue's bar: SASL_SSL >= 0.65), with the CPU seconds the broker and
# the client spent per GB sent, which say on which side the cost of TLS lies (both share the machine's cores).
#
#   bench/security.sh                 # ROUNDS=3 rounds of RECORDS=300000 x 1 KiB per listener, about 2-3 minutes on 2 cores
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$home"
records="${RECORDS:-300000}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d /tmp/samsa-security-XXXXXX)"
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "== $*" >&2; }

for project in src/Samsa.Server src/Samsa.Cli; do dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >&2; done
server="$home/src/Samsa.Server/bin/Release/net10.0/samsa-server.dll"
samsa() { dotnet "$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll" "$@"; }

log "certificates (openssl)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=localhost" 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/server.pem" -days 2 -extfile "$work/san.ext" 2>/dev/null
cat "$work/server.pem" "$work/server.key" > "$work/keystore.pem"

[ -x /usr/bin/time ] || { echo "GNU time is required (apt-get install time)" >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
plain="$(free_port)"; sasl="$(free_port)"; tls="$(free_port)"
dotnet "$server" --override "listeners=PLAINTEXT://127.0.0.1:$plain,SASL_PLAINTEXT://127.0.0.1:$sasl,SASL_SSL://127.0.0.1:$tls" \
  --override "log.dirs=$work/data" --override "sasl.enabled.mechanisms=SCRAM-SHA-512" \
  --override "ssl.keystore.type=PEM" --override "ssl.keystore.location=$work/keystore.pem" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 150); do
  if (echo >"/dev/tcp/127.0.0.1/$plain") 2>/dev/null; then break; fi
  kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
  sleep 0.2
done
samsa configs --bootstrap-server "127.0.0.1:$plain" --alter --add-config 'SCRAM-SHA-512=[password=bench-secret]' --entity-type users --entity-name bench >/dev/null
jaas="sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username='bench' password='bench-secret';"
printf 'security.protocol=PLAINTEXT\n' > "$work/PLAINTEXT.properties"
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n%s\n' "$jaas" > "$work/SASL_PLAINTEXT.properties"
printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.ca.location=%s\n%s\n' "$work/ca.pem" "$jaas" > "$work/SASL_SSL.properties"
declare -A port=([PLAINTEXT]=$plain [SASL_PLAINTEXT]=$sasl [SASL_SSL]=$tls)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$broker_pid/stat"; }
perf() { # protocol round -> "records/s broker-cpu-s client-cpu-s"
  local protocol="$1" topic="bench-$1-$2" before rate
  samsa topics --bootstrap-server "127.0.0.1:$plain" --create --topic "$topic" --partitions 1 --replication-factor 1 >/dev/null
  before="$(cpu_ticks)"
  rate="$(/usr/bin/time -f "%U %S" -o "$work/$topic.time" dotnet "$home/src/Samsa.Cli/bin/Release/net10.0/samsa.dll" producer-perf-test \
    --topic "$topic" --num-records "$records" --record-size 1024 --throughput -1 \
    --producer-props "bootstrap.servers=127.0.0.1:${port[$protocol]}" acks=1 linger.ms=5 batch.size=131072 \
    --producer.config "$work/$protocol.properties" 2>"$work/$topic.err" | tail -1 | awk '{print $4}')"
  echo "$rate $(awk -v t="$(( $(cpu_ticks) - before ))" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/hz}') $(awk '{printf "%.2f", $1 + $2}' "$work/$topic.time")"
}
declare -A runs broker_cpu client_cpu
order=(PLAINTEXT SASL_PLAINTEXT SASL_SSL)
for round in $(seq 1 "$rounds"); do
  if (( round % 2 == 0 )); then order=(SASL_SSL SASL_PLAINTEXT PLAINTEXT); else order=(PLAINTEXT SASL_PLAINTEXT SASL_SSL); fi
  for protocol in "${order[@]}"; do
    read -r r b c <<<"$(perf "$protocol" "$round")"
    [ -n "$r" ] || { cat "$work/bench-$protocol-$round.err" >&2; exit 1; }
    log "round $round $protocol: $r records/s, broker ${b} s CPU, client ${c} s CPU"
    runs[$protocol]="${runs[$protocol]:-} $r"
    broker_cpu[$protocol]="${broker_cpu[$protocol]:-} $b"
    client_cpu[$protocol]="${client_cpu[$protocol]:-} $c"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base="$(echo "${runs[PLAINTEXT]}" | median)"
gb="$(awk -v n="$records" 'BEGIN{print n*1024/1e9}')"
echo "| listener | runs (records/s) | median records/s | MB/s | ratio to PLAINTEXT | broker CPU s/GB | client CPU s/GB |"
echo "|---|---|---|---|---|---|---|"
for protocol in PLAINTEXT SASL_PLAINTEXT SASL_SSL; do
  m="$(echo "${runs[$protocol]}" | median)"
  bm="$(echo "${broker_cpu[$protocol]}" | median)"; cm="$(echo "${client_cpu[$protocol]}" | median)"
  echo "| $protocol |${runs[$protocol]} | $m | $(awk -v m="$m" 'BEGIN{printf "%.1f", m*1024/1048576}') | $(awk -v m="$m" -v b="$base" 'BEGIN{printf "%.3f", m/b}') | $(awk -v x="$bm" -v g="$gb" 'BEGIN{printf "%.2f", x/g}') | $(awk -v x="$cm" -v g="$gb" 'BEGIN{printf "%.2f", x/g}') |"
done
