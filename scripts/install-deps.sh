#!/usr/bin/env bash
# Installs the Debian packages needed to build, run and test code-interpreter.
# Does nothing when they are all present already.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config libboost-dev nlohmann-json3-dev
  libcli11-dev libspdlog-dev libfmt-dev libssl-dev libseccomp-dev libgtest-dev libgmock-dev
  # kernels
  python3 python3-ipykernel python3-matplotlib python3-numpy
  # the docker sandbox backend: an engine, and debootstrap to build the worker image offline
  docker.io debootstrap
  # scripts, examples
  curl python3-httpx
  # fuzzing (clang 19: the first Debian 12 clang whose C++23 mode enables libstdc++'s
  # <expected>; llvm-19 for llvm-symbolizer in crash reports)
  clang-19 libclang-rt-19-dev llvm-19
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
