#!/usr/bin/env bash
# Stops what scripts/start.sh started: SIGTERM (graceful: every kernel is shut down and the
# runtime directories removed), then SIGKILL if it has not exited after 20 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
pid_file=".run/server.pid"
if [ ! -f "$pid_file" ]; then
  echo "code-interpreter is not running (no $pid_file)"
  exit 0
fi
pid=$(cat "$pid_file")
if kill -TERM "$pid" 2>/dev/null; then
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "still running after 20 s; killing"
    kill -KILL "$pid"
  fi
  echo "code-interpreter stopped (pid $pid)"
else
  echo "code-interpreter was not running (stale pid $pid)"
fi
rm -f "$pid_file"
