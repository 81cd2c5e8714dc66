#!/usr/bin/env bash
# Builds one environment's root filesystem from its recipe; `code-interpreter env build`
# runs it (and owns caching by recipe hash, the manifest and the atomic move into the store).
#
#   build-root.sh RECIPE_DIR ROOT CACHE_DIR
#
# RECIPE_DIR holds packages.txt (Debian packages, one per line, # comments) and optionally
# setup.sh (run with /bin/sh inside the new root, as root, after the packages), matplotlibrc
# (becomes /etc/matplotlibrc) and check.py (run inside the root at the end: the build fails
# when it fails). ROOT must not exist. CACHE_DIR keeps what several builds share: the
# debootstrapped base (per suite and mirror) and the downloaded .deb files.
#
# Environment: MIRROR (default http://deb.debian.org/debian), SUITE (default bookworm).
# Progress goes to stdout as "step: ..." lines; the tools' own output to ROOT.log files in
# CACHE_DIR, whose last lines are shown when a step fails.
set -euo pipefail
recipe="$1" root="$2" cache="$3"
mirror="${MIRROR:-http://deb.debian.org/debian}"
suite="${SUITE:-bookworm}"
[ -f "$recipe/packages.txt" ] || { echo "build-root.sh: $recipe/packages.txt is missing" >&2; exit 2; }
[ ! -e "$root" ] || { echo "build-root.sh: $root exists" >&2; exit 2; }
for tool in debootstrap chroot tar; do
  command -v "$tool" >/dev/null || { echo "build-root.sh: $tool is not installed (apt-get install debootstrap)" >&2; exit 2; }
done
mkdir -p "$cache/debs"
log="$cache/last-build.log"
: >"$log"
fail() { echo "build-root.sh: $1 failed; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }
step() { echo "step: $*"; }

# 1. The base: debootstrap once per suite and mirror, kept as a tarball.
base="$cache/base-$(echo "$suite $mirror $(debootstrap --version 2>/dev/null)" | sha256sum | cut -c1-16).tar"
if [ ! -f "$base" ]; then
  step "debootstrap $suite (minbase) from $mirror"
  tmp=$(mktemp -d "$cache/base.XXXXXX")
  debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$tmp/root" "$mirror" >>"$log" 2>&1 ||
    { rm -rf "$tmp"; fail debootstrap; }
  tar -C "$tmp/root" --numeric-owner -cf "$tmp/base.tar" . && mv "$tmp/base.tar" "$base"
  rm -rf "$tmp"
fi
step "unpack the base"
mkdir -p "$root"
tar -C "$root" --numeric-owner -xf "$base"

# 2. The packages, with apt inside the root (maintainer scripts want /proc, names the host's
# resolver); downloads go to the shared cache.
cleanup() {
  umount "$root/var/cache/apt/archives" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind "$cache/debs" "$root/var/cache/apt/archives"
packages=$(grep -v '^\s*#' "$recipe/packages.txt" | tr -s ' \t\n' ' ')
step "apt-get install $(echo "$packages" | wc -w) packages"
export DEBIAN_FRONTEND=noninteractive
chroot "$root" apt-get update -q >>"$log" 2>&1 || fail "apt-get update"
# shellcheck disable=SC2086
chroot "$root" apt-get install -y -q --no-install-recommends $packages >>"$log" 2>&1 ||
  fail "apt-get install"
if [ -f "$recipe/setup.sh" ]; then
  step "setup.sh"
  chroot "$root" /bin/sh -es <"$recipe/setup.sh" >>"$log" 2>&1 || fail setup.sh
fi
cleanup
trap - EXIT
: >"$root/etc/resolv.conf"

# 3. What every kernel expects: the usual unprivileged user (docker runs kernels as a uid of
# their own; the namespaces sandbox writes its own /etc/passwd), its home and mount points.
chroot "$root" /usr/sbin/groupadd --gid 1000 sandbox
chroot "$root" /usr/sbin/useradd --uid 1000 --gid 1000 --home-dir /home/sandbox \
  --no-create-home --shell /usr/sbin/nologin sandbox
mkdir -p "$root/home/sandbox" "$root/run/kernel" "$root/sandbox"
[ -f "$recipe/matplotlibrc" ] && install -m 0644 "$recipe/matplotlibrc" "$root/etc/matplotlibrc"
step "trim (apt lists, docs, logs)"
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/* "$root"/debootstrap
mkdir -p "$root/var/lib/apt/lists/partial" "$root/var/log"

# 4. The recipe's check, as an unprivileged user with a scratch home, as a kernel would be.
if [ -f "$recipe/check.py" ]; then
  step "check.py"
  install -m 0644 "$recipe/check.py" "$root/tmp/check.py"
  mkdir -p "$root/tmp/check-home" && chown 1000:1000 "$root/tmp/check-home"
  mount -t proc proc "$root/proc"
  trap 'umount "$root/proc" 2>/dev/null || true' EXIT
  chroot --userspec=1000:1000 "$root" /usr/bin/env -i HOME=/tmp/check-home LANG=C.UTF-8 \
    PATH=/usr/bin:/bin /usr/bin/python3 /tmp/check.py 2>&1 | tee -a "$log" || fail check.py
  umount "$root/proc"
  trap - EXIT
  rm -rf "$root/tmp/check.py" "$root/tmp/check-home"
fi
step "done"
