#!/usr/bin/env bash
# Kafka's kafka-server-start.sh on Samsa: kafka-server-start.sh [-daemon] server.properties [--override property=value]*
# With -daemon the server runs in the background, its output goes to $LOG_DIR/kafkaServer.out and its pid to
# $LOG_DIR/samsa-server.pid (LOG_DIR defaults to logs/ in this checkout), which kafka-server-stop.sh reads.
set -euo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi
daemon=false
if [ "$1" = "-daemon" ]; then daemon=true; shift; fi
if [ "$daemon" = true ]; then
  log_dir="${LOG_DIR:-$bin/../logs}"
  mkdir -p "$log_dir"
  nohup "$bin/samsa-run" samsa-server "$@" > "$log_dir/kafkaServer.out" 2>&1 < /dev/null &
  echo $! > "$log_dir/samsa-server.pid"
  exit 0
fi
exec "$bin/samsa-run" samsa-server "$@"
