#!/bin/bash
# Install pyruntime and run a container from a busybox bundle built on the spot,
# showing that it is isolated. Run as root on Debian 12:  ./demo.sh
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
PY=${PYTHON:-python3}
"$PY" -m pip install -q --disable-pip-version-check . 2>&1 | grep -v "Running pip as the 'root' user" || true
PYRUNTIME=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/pyruntime
[ -x "$PYRUNTIME" ] || PYRUNTIME=$(command -v pyruntime)
BUNDLE=$(mktemp -d /tmp/pyruntime-demo.XXXXXX)
trap 'rm -rf "$BUNDLE"' EXIT
"$PY" tools/mkbundle.py "$BUNDLE" -- sh -c '
  echo "inside the container:"
  echo "  my pid:       $$"
  echo "  hostname:     $(hostname)"
  echo "  processes:    $(ls /proc | grep -c "^[0-9]")"
  echo "  root dir:     $(ls / | tr "\n" " ")"
  echo "  mounts:       $(cut -d" " -f5 /proc/self/mountinfo | sort -u | tr "\n" " ")"
  echo "  capabilities: $(grep CapEff /proc/self/status)"
  exit 7' >/dev/null
echo "host: $(hostname), running: $PYRUNTIME run demo-$$ (bundle $BUNDLE)"
rc=0
"$PYRUNTIME" run --bundle "$BUNDLE" "demo-$$" || rc=$?
echo "the container exited with status $rc (it ran 'exit 7')"
[ "$rc" = 7 ]
