#!/usr/bin/env bash
# Installs the Debian packages needed to build, run and test code-interpreter; with `run`,
# only those needed to build and run it (what scripts/start.sh needs). Does nothing when they
# are all present already; otherwise installs them with apt-get, through sudo when not root.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config libboost-dev nlohmann-json3-dev
  libcli11-dev libspdlog-dev libfmt-dev libssl-dev libseccomp-dev libgtest-dev libgmock-dev
  # kernels
  python3 python3-ipykernel python3-matplotlib python3-numpy
  # scripts
  curl
  # the system's CAs, which URL import and export verify HTTPS servers against
  ca-certificates
  # building environments (`code-interpreter env build`: a Debian root from Debian's mirror)
  debootstrap
)
[ "${1:-}" = run ] || packages+=(
  # the docker sandbox backend: an engine (the worker image is built with debootstrap too)
  docker.io
  # examples, and the Python SDK (clients/python: its tests install it offline with pip)
  python3-httpx python3-pip python3-setuptools
  # the test page's browser test (headless, through chromedriver)
  chromium chromium-driver
  # fuzzing (clang 19: the first Debian 12 clang whose C++23 mode enables libstdc++'s
  # <expected>; llvm-19 for llvm-symbolizer in crash reports)
  clang-19 libclang-rt-19-dev llvm-19
)
# The MCP test's client (the official TypeScript SDK, which the test installs from the npm
# registry with its lock file): Debian's node and npm, unless a node with npm is there already.
if [ "${1:-}" != run ] && ! { command -v node && command -v npm; } >/dev/null; then
  packages+=(nodejs npm)
fi

# promtool (the metrics test checks GET /metrics with it): only the binary, taken from Debian's
# `prometheus` package, whose installation would also start a Prometheus server.
install_promtool() {
  command -v promtool >/dev/null && return 0
  local dir
  dir=$(mktemp -d)
  (cd "$dir" && { apt-get download -q prometheus 2>/dev/null || { $sudo apt-get update -q && apt-get download -q prometheus; }; } &&
    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool)
  $sudo install -m 0755 "$dir/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$dir"
}

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] && [ -z "$sudo" ]; then
    echo "missing Debian packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ "${1:-}" = run ] || install_promtool
