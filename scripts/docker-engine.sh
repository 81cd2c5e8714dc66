#!/usr/bin/env bash
# Makes sure a Docker engine answers on $DOCKER_SOCKET (default /var/run/docker.sock) and that
# the worker image exists: starts dockerd when none runs (no bridge network, no iptables: the
# workers use --network none), then builds the image from Debian's packages when it is missing
# or its recipe changed (docker/worker/build-image.sh caches by recipe hash).
set -euo pipefail
cd "$(dirname "$0")/.."
sock="${DOCKER_SOCKET:-/var/run/docker.sock}"
log=/var/log/code-interpreter-dockerd.log

ping() { curl -sf --max-time 5 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1; }

if ! ping; then
  command -v dockerd >/dev/null || { echo "dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
  echo "starting dockerd (log: $log)"
  # Detached from this shell's stdio, so that callers waiting on our output do not wait on it.
  setsid dockerd --host "unix://$sock" --bridge=none --iptables=false --ip-masq=false \
    </dev/null >"$log" 2>&1 &
  for _ in $(seq 1 120); do
    ping && break
    sleep 0.5
  done
  ping || { echo "dockerd did not come up; last lines of $log:" >&2; tail -n 20 "$log" >&2; exit 1; }
fi
DOCKER_HOST="unix://$sock" docker/worker/build-image.sh "${CODE_INTERPRETER_DOCKER_IMAGE:-code-interpreter-worker:latest}"
