#!/usr/bin/env bash
# Builds the worker image without any registry: debootstrap a Debian bookworm root filesystem
# with the packages in packages.txt (from Debian's mirror), then `docker import` it.
#
#   docker/worker/build-image.sh [image]      (default: code-interpreter-worker:latest)
#
# The image carries a label with a hash of its recipe (this script, packages.txt, the
# mirror); when an image with that tag and hash exists already, nothing is rebuilt. Set
# FORCE=1 to rebuild anyway, MIRROR to use another Debian mirror.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
image="${1:-code-interpreter-worker:latest}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
suite=bookworm

packages=$(grep -v '^\s*#' "$here/packages.txt" | tr -s ' \n' ',' | sed 's/^,//;s/,$//')
recipe=$( { cat "$0" "$here/packages.txt"; echo "$mirror $suite"; } | sha256sum | cut -c1-16)

existing=$(docker image inspect --format '{{ index .Config.Labels "org.code-interpreter.recipe" }}' "$image" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$existing" = "$recipe" ]; then
  echo "worker image $image is up to date (recipe $recipe)"
  exit 0
fi

for tool in debootstrap docker; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/ci-worker-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "debootstrap $suite (minbase), then apt-get install: $packages"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
  exit 1
}
# apt inside the new root orders and configures the packages (debootstrap --include cannot
# always); maintainer scripts want /proc, name resolution wants the host's resolv.conf.
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get update -q >"$work/apt.log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -q --no-install-recommends \
    ${packages//,/ } >>"$work/apt.log" 2>&1 || {
  tail -n 40 "$work/apt.log" >&2
  exit 1
}
chroot "$rootfs" apt-get clean
umount "$rootfs/proc"
: >"$rootfs/etc/resolv.conf"

# The kernel runs as an unprivileged uid chosen by the gateway; give the usual one a name.
chroot "$rootfs" /usr/sbin/groupadd --gid 1000 sandbox
chroot "$rootfs" /usr/sbin/useradd --uid 1000 --gid 1000 --home-dir /home/sandbox --no-create-home \
  --shell /usr/sbin/nologin sandbox
mkdir -p "$rootfs/home/sandbox" "$rootfs/run/kernel"
# Nothing needed at run time: package caches, lists, docs, byte-compiled caches stay.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/var/log/* "$rootfs"/debootstrap
# A smoke test before import: the kernel's module must load.
chroot "$rootfs" /usr/bin/python3 -c 'import ipykernel, numpy, pandas, matplotlib, scipy, PIL'

echo "importing $image"
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'LABEL org.code-interpreter.recipe='"$recipe" \
  --change 'LABEL managed-by=code-interpreter' \
  --change 'ENV LANG=C.UTF-8 HOME=/home/sandbox' \
  --change 'USER 1000:1000' \
  --change 'WORKDIR /home/sandbox' \
  --change 'CMD ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "/run/kernel/kernel-sandbox.json"]' \
  - "$image" >/dev/null
echo "built $image (recipe $recipe)"
