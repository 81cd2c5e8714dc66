#!/usr/bin/env bash
# Makes a docker image of an environment's root filesystem (`code-interpreter env build
# --docker` runs it), so that the docker backend runs exactly what the namespaces backend
# mounts. Skips when the image exists already (its name carries the recipe hash).
#
#   docker-import.sh ROOT IMAGE
#
# Talks to the engine through the docker CLI (DOCKER_HOST, else /var/run/docker.sock).
set -euo pipefail
root="$1" image="$2"
command -v docker >/dev/null || { echo "docker-import.sh: the docker CLI is not installed (apt-get install docker.io)" >&2; exit 2; }
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "step: docker image $image exists"
  exit 0
fi
echo "step: docker import $image"
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'LABEL managed-by=code-interpreter' \
  --change 'ENV LANG=C.UTF-8 HOME=/home/sandbox' \
  --change 'USER 1000:1000' \
  --change 'WORKDIR /home/sandbox' \
  --change 'CMD ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "/run/kernel/kernel-sandbox.json"]' \
  - "$image" >/dev/null
echo "step: imported $image"
