#!/bin/bash
# Install what pyruntime's build, demo and tests need on a fresh Debian 12 machine
# (as root). Idempotent and quiet; fast when everything is already there.
set -euo pipefail
PKGS=(gcc libc6-dev busybox-static runc user-mode-linux kmod iproute2 strace
      podman conmon containerd umoci crun)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
