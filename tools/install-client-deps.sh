#!/bin/bash
# Install what the client integration tests (tests/clients, pytest marker `clients`) need:
#   podman + conmon        podman 4.3 drives the runtime through conmon
#   runc                   the reference runtime (CLIENT_RUNTIME=/usr/sbin/runc)
#   containerd             containerd, ctr and containerd-shim-runc-v2
#   umoci                  builds the OCI image layout that ctr imports
#   busybox-static         the image's content (tools/mkbundle.py)
# Idempotent and quiet: does nothing (and needs no network) when all are installed.
# Tries the install without `apt-get update` first; updates the lists only if that fails.
set -euo pipefail

PKGS=(podman conmon runc containerd umoci busybox-static)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-client-deps: need root to install: ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/install-client-deps.XXXXXX.log)
trap 'rm -f "$log"' EXIT
install() {
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$log" 2>&1
}
if ! install; then
    apt-get update -q >>"$log" 2>&1 || true
    if ! install; then
        echo "install-client-deps: apt-get install ${missing[*]} failed:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
fi
echo "install-client-deps: installed ${missing[*]}"
