#!/usr/bin/env bash
# Kafka's kafka-server-stop.sh on Samsa: stops the servers started with kafka-server-start.sh -daemon (SIGTERM,
# a clean shutdown), found through their pid files in $LOG_DIR rather than by process name, so that other
# servers on the machine are never touched.
set -uo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log_dir="${LOG_DIR:-$bin/../logs}"
stopped=0
for pidfile in "$log_dir"/samsa-server.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    stopped=1
  fi
  rm -f "$pidfile"
done
if [ "$stopped" -eq 0 ]; then
  echo "No kafka server to stop"
  exit 1
fi
