#!/bin/bash
# Build the cffi shim and the C init stage inside the source tree, so that
# `import pyruntime` from a checkout (tests run with the repo on sys.path) works
# like the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" setup.py -q build_ext --inplace >/dev/null 2>&1 || "$PY" setup.py build_ext --inplace
${CC:-cc} -static -Os -Wall -o pyruntime/pyruntime-init pyruntime/init.c
strip pyruntime/pyruntime-init
