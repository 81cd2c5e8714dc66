#!/usr/bin/env bash
# Installs dependencies, starts a Docker engine if none runs and builds the worker image,
# builds the normal and the ASan+UBSan build, runs every suite on the normal build and the
# gateway suites on the sanitizer build, then fuzzes each target briefly (FUZZ_SECONDS).
# Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
# The sandbox suites run as root (and start gateways as other users); so does the engine.
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "scripts/test.sh needs root" >&2; exit 1; }
  exec sudo "$0" "$@"
fi
# Each phase says when it starts (seconds since this script began), so a slow run shows where.
phase() { echo "=== $1 (at ${SECONDS} s)"; }
phase "install"
./scripts/install-deps.sh
phase "engine and worker image"
# The docker-labelled suites need a running engine and the worker image.
./scripts/docker-engine.sh
for preset in default asan; do
  phase "build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
done
# The environments the suites run (tests/environments_test.cc), for both backends; each is
# reused while its recipe is unchanged.
phase "environments"
for environment in minimal python; do
  ./build/default/code-interpreter env build "$environment" --recipes environments --docker
done
phase "test: default (every suite)"
ctest --preset default "$@"
# The sanitizer build runs what exercises the gateway's own code (unit, integration, faults,
# the docker client against the engine). What a sandbox lets a kernel do does not depend on
# how the gateway was compiled, so the security suites and the docker variants of the
# integration and fault suites run once, above; so does the long soak test.
phase "test: asan"
ctest --preset asan -LE "soak|security" -E "_docker$" "$@"
# Eight targets: 20 s each keeps the whole run within its budget (longer runs: fuzz.sh).
phase "fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} ./scripts/fuzz.sh
phase "done"
