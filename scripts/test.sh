#!/usr/bin/env bash
# Installs dependencies, builds the normal and the ASan+UBSan build, runs every test in both.
# Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The docker-labelled suites need a running engine and the worker image.
./scripts/docker-engine.sh
for preset in default asan; do
  echo "=== build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "=== test: $preset"
  ctest --preset "$preset" "$@"
done
FUZZ_SECONDS=${FUZZ_SECONDS:-30} ./scripts/fuzz.sh
