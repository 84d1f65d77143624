"""Test support for pyruntime: the subreaper, the runtime driver (``rt``),
bundles from a per-session busybox rootfs cache, the leak checker, schema
validation, terminal helpers.  See tests/conftest.py for the fixtures."""
