#!/usr/bin/env bash
# Installs dependencies, builds, and starts the service in the background on 127.0.0.1:3874.
# Extra arguments go to `code-interpreter serve`. Stop it with scripts/stop.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run_dir="$root/.run"
bin="$root/build/default/code-interpreter"

./scripts/install-deps.sh run
cmake --preset default >/dev/null
cmake --build --preset default --target code-interpreter

# The default environment ("python": numpy, pandas, scikit-learn, matplotlib with a CJK font,
# ...; environments/python/) is built on first start, as root: about 4 minutes and 2.8 GB,
# then reused until its recipe changes. Without root the gateway serves the host's own Python.
sandbox=namespaces
for arg in "$@"; do
  case "$arg" in --sandbox=*) sandbox="${arg#--sandbox=}" ;; esac
done
if [ "$sandbox" != none ]; then
  if [ "$(id -u)" -eq 0 ]; then
    docker_flag=""
    [ "$sandbox" = docker ] && docker_flag="--docker"
    "$bin" env build python --recipes "$root/environments" $docker_flag
  else
    "$bin" env list --recipes "$root/environments" 2>/dev/null | grep -q '^python ' ||
      echo "note: the default environment is not built (run as root: $bin env build python" \
        "--recipes $root/environments); serving the host's own Python"
  fi
fi

mkdir -p "$run_dir"
if [ -f "$run_dir/server.pid" ] && kill -0 "$(cat "$run_dir/server.pid")" 2>/dev/null; then
  echo "code-interpreter is already running (pid $(cat "$run_dir/server.pid")); stop it with scripts/stop.sh"
  exit 1
fi

# The default sandbox (namespaces) runs as root, or rootless as an ordinary user (where the
# host does not let that user enforce memory and CPU limits, serve exits unless given
# --accept-unenforced-limits); `--sandbox=none` runs the development backend, which
# isolates nothing (see docs/security.md).
listen="${CODE_INTERPRETER_LISTEN:-127.0.0.1:3874}"
nohup "$bin" serve --listen "$listen" "$@" >>"$run_dir/server.log" 2>&1 &
echo $! >"$run_dir/server.pid"

url="http://$listen"
for _ in $(seq 1 150); do
  if curl -fsS "$url/health" >/dev/null 2>&1; then
    echo "code-interpreter is running at $url (pid $(cat "$run_dir/server.pid"), log $run_dir/server.log)"
    echo "token: $("$bin" token)"
    exit 0
  fi
  if ! kill -0 "$(cat "$run_dir/server.pid")" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "code-interpreter did not start; last log lines:" >&2
tail -n 20 "$run_dir/server.log" >&2
exit 1
