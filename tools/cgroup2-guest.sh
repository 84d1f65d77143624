#!/bin/bash
# pyruntime's copy of /work/shared/tools/cgroup2-guest.sh, adapted for the test
# suite (tests/cgroups/test_in_v2_guest.py): the guest's environment has
# PYRT_IN_V2_GUEST=1 (tests use it to tell where they run), PYTHONDONTWRITEBYTECODE=1
# (no __pycache__ left in the read-write repo), and V2VM_CONTROLLERS picks the
# controllers enabled in the root's cgroup.subtree_control.
#
# cgroup2-guest.sh "COMMAND" -- run COMMAND as root inside a throw-away Linux guest whose
# only cgroup hierarchy is cgroup v2 (mounted at /sys/fs/cgroup, nsdelegate,
# with "cpu io memory pids" in the root's cgroup.subtree_control).
#
# The guest is a User-Mode Linux kernel (Debian package `user-mode-linux`,
# kernel 6.1, 1 vCPU). No KVM, no disk image, no network (only lo): the
# guest's / is the host's / through hostfs, READ-ONLY; the current directory
# and the per-run dir are mounted read-write at the same paths; /tmp, /run,
# /var/tmp and /dev/shm are fresh tmpfs. The host's cgroups/mounts are untouched.
#
# COMMAND runs via /bin/sh -c, as root, cwd = the caller's cwd, stdin =
# /dev/null, with the caller's exported environment (minus TMPDIR TMP TEMP PWD
# OLDPWD SHLVL). Its stdout/stderr come out on this script's stdout/stderr
# (through pipes, or a tty if our stdout is one); the exit code is COMMAND's.
# The wrapper's own codes: 124 = V2VM_TIMEOUT hit, 125 = guest failed (the
# kernel log is printed to stderr).
#
# Knobs (env): V2VM_MEM guest RAM (default 2G); V2VM_TIMEOUT seconds (default
# none); V2VM_RW="/dir1:/dir2" more host dirs to mount read-write at the same
# path (e.g. a bundle under the host's /tmp, or $HOME); V2VM_DISK_MB size of a
# sparse scratch disk /dev/ubda = 98:0 so io.max has a real device (default 64,
# 0 = none); V2VM_DEBUG=1 kernel log to stderr, keep the run dir.
# V2VM_CONTROLLERS="cpu io memory pids" (default) controllers to enable in the
# root's cgroup.subtree_control.
# Controllers: cpu io memory pids only (no cpuset/hugetlb/misc/rdma: UML has
# no SMP; io.weight absent, io.max works). Every guest syscall is trapped via
# ptrace: ~25 ms per exec, ~0.3 s python3 start-up, CPU-bound code ~native.
# Host setup, once: apt-get install -y --no-install-recommends user-mode-linux kmod
# (kmod only for module autoload in the guest: overlay, veth, bridge, ...;
# a static busybox on PATH, e.g. busybox-static, makes the boot ~0.4 s faster).
set -u

UML=${V2VM_UML:-/usr/bin/linux.uml}
if [ ! -x "$UML" ]; then
    echo "v2vm: $UML not found; run: apt-get install -y --no-install-recommends user-mode-linux" >&2
    exit 125
fi
if [ $# -lt 1 ]; then
    echo "usage: $0 \"COMMAND\"" >&2
    exit 2
fi
CMD="$*"
CWD=$(pwd -P)
case "$CWD" in *,*) echo "v2vm: cwd must not contain a comma: $CWD" >&2; exit 2;; esac

RUN=$(mktemp -d /tmp/v2vm-run.XXXXXX) || exit 125
UMLPID=
cleanup() {
    if [ -n "$UMLPID" ]; then kill "$UMLPID" 2>/dev/null; wait "$UMLPID" 2>/dev/null; fi
    if [ "${V2VM_DEBUG:-0}" = 1 ]; then echo "v2vm: run dir kept: $RUN" >&2
    else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf '%s' "$CMD" >"$RUN/cmd"
printf '%s' "$CWD" >"$RUN/cwd"
# Extra host dirs to mount read-write at the same path (V2VM_RW="/a:/b").
: >"$RUN/rw"
IFS=: read -r -a RWDIRS <<<"${V2VM_RW:-}"
for d in "${RWDIRS[@]}"; do
    [ -n "$d" ] || continue
    d=$(cd "$d" 2>/dev/null && pwd -P) || { echo "v2vm: V2VM_RW: no such dir" >&2; exit 2; }
    case "$d" in *,*) echo "v2vm: V2VM_RW dir must not contain a comma: $d" >&2; exit 2;; esac
    printf '%s\n' "$d" >>"$RUN/rw"
done
# Environment: bash `export -p` output, sourced by bash in the guest.
(
    unset TMPDIR TMP TEMP PWD OLDPWD SHLVL _ 2>/dev/null
    export PYRT_IN_V2_GUEST=1 PYTHONDONTWRITEBYTECODE=1
    export -p
) >"$RUN/env"
CONTROLLERS=${V2VM_CONTROLLERS:-cpu io memory pids}
printf '%s' "+${CONTROLLERS// / +}" >"$RUN/controllers"

# Module loading in the guest (overlay, veth, bridge, loop... are =m): the
# modules are in /usr/lib/uml/modules/<ver>; the guest's kernel.modprobe points
# at a wrapper that runs modprobe -d on a dir whose lib/modules links there.
mkdir -p "$RUN/modroot/lib"
ln -s /usr/lib/uml/modules "$RUN/modroot/lib/modules"
printf '#!/bin/sh\nexec /sbin/modprobe -d %s/modroot "$@"\n' "$RUN" >"$RUN/modprobe"
chmod +x "$RUN/modprobe"

# Symlinks that devtmpfs lacks (bash's <(...) needs /dev/fd), copied in one exec.
mkdir "$RUN/devlinks"
ln -s /proc/self/fd "$RUN/devlinks/fd"
ln -s /proc/self/fd/0 "$RUN/devlinks/stdin"
ln -s /proc/self/fd/1 "$RUN/devlinks/stdout"
ln -s /proc/self/fd/2 "$RUN/devlinks/stderr"

DISK_MB=${V2VM_DISK_MB:-64}
UBD=
if [ "$DISK_MB" -gt 0 ] 2>/dev/null; then
    truncate -s "${DISK_MB}M" "$RUN/disk.img"
    UBD="ubd0=$RUN/disk.img"
fi

if [ -t 1 ]; then TTYMODE=1; else TTYMODE=0; fi

# Guest PID 1. Each exec costs ~40 ms under UML, so builtins where possible.
cat >"$RUN/init" <<EOF_INIT
#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN=$RUN
TTYMODE=$TTYMODE
EOF_INIT
cat >>"$RUN/init" <<'EOF_INIT'
read -r -d '' CWD <$RUN/cwd
read -r -d '' CMD <$RUN/cmd
fail() { echo "v2vm-init: $*" >/dev/ttyS1; echo 125 >$RUN/rc; echo o >/proc/sysrq-trigger; sleep 60; }
# A (static) busybox, if the host has one, execs ~3x faster than util-linux here.
if BB=$(type -P busybox); then
    for a in $($BB --list); do
        case $a in mount|mkdir|cp|stty|ip) eval "$a() { $BB $a \"\$@\"; }";; esac
    done
fi
cp -a $RUN/devlinks/. /dev/ || fail "devlinks"
mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
# guest-local writable dirs (the host's / is read-only in here)
for d in /tmp /run /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $d || fail "mount $d"; done
mkdir -p /dev/pts /dev/shm "$RUN" "$CWD" 2>/dev/null
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# writable host dirs, at the same paths
mount -t hostfs -o "$RUN" hostfs "$RUN" || fail "mount hostfs $RUN"
if [ "$CWD" != / ]; then mount -t hostfs -o "$CWD" hostfs "$CWD" || fail "mount hostfs $CWD"; fi
while IFS= read -r d; do
    mkdir -p "$d" 2>/dev/null; mount -t hostfs -o "$d" hostfs "$d" || fail "mount hostfs $d"
done <$RUN/rw
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
read -r -d '' CTRLS <$RUN/controllers
[ "$CTRLS" = "+" ] || echo "$CTRLS" >/sys/fs/cgroup/cgroup.subtree_control || fail "enable controllers: $CTRLS"
echo $RUN/modprobe >/proc/sys/kernel/modprobe
echo v2vm >/proc/sys/kernel/hostname
ip link set lo up 2>/dev/null
# byte-exact output (no \n -> \r\n; a host tty, if any, does its own)
stty raw -echo </dev/ttyS0 2>/dev/null; stty raw -echo </dev/ttyS1 2>/dev/null
read -r up _ </proc/uptime; echo $up >$RUN/boot_s
set +u
. $RUN/env 2>/dev/null
cd "$CWD" || fail "cd $CWD"
if [ $TTYMODE = 1 ]; then
    /bin/sh -c "$CMD" </dev/null >/dev/ttyS0 2>/dev/ttyS1
    rc=$?
else
    # pipes, as in a non-interactive run on the host (no tty => no colours)
    { /bin/sh -c "$CMD" </dev/null 2> >(exec cat >/dev/ttyS1); } | cat >/dev/ttyS0
    rc=${PIPESTATUS[0]}
    wait
fi
echo $rc >$RUN/rc.tmp && mv $RUN/rc.tmp $RUN/rc
sync
echo o >/proc/sysrq-trigger
sleep 60
EOF_INIT
chmod +x "$RUN/init"

if [ "${V2VM_DEBUG:-0}" = 1 ]; then CONS="con=null con0=null,fd:2"; QUIET="printk.time=1"
else CONS="con=null"; QUIET=quiet; fi

# fds 3/4 carry the guest's /dev/ttyS0 (stdout) and /dev/ttyS1 (stderr). UML
# sets O_NONBLOCK on fds it is given, so it gets private FIFOs, not ours.
mkfifo "$RUN/out" "$RUN/err"
cat "$RUN/out" &
CAT1=$!
cat "$RUN/err" >&2 &
CAT2=$!
TO=()
[ -n "${V2VM_TIMEOUT:-}" ] && TO=(timeout -k 5 "$V2VM_TIMEOUT")
"${TO[@]}" "$UML" mem="${V2VM_MEM:-2G}" uml_dir="$RUN" umid=v2vm \
    rootfstype=hostfs rootflags=/ ro init="$RUN/init" $QUIET \
    $CONS ssl=null ssl0=null,fd:3 ssl1=null,fd:4 $UBD \
    3>"$RUN/out" 4>"$RUN/err" </dev/null >"$RUN/log" 2>&1 &
UMLPID=$!
wait "$UMLPID"
UMLRC=$?
UMLPID=
wait "$CAT1" "$CAT2" 2>/dev/null
if [ "${V2VM_DEBUG:-0}" = 1 ]; then
    cat "$RUN/log" >&2
    echo "v2vm: guest uptime at command start: $(cat "$RUN/boot_s" 2>/dev/null)s" >&2
fi
if [ -n "${V2VM_TIMEOUT:-}" ] && { [ $UMLRC = 124 ] || [ $UMLRC = 137 ]; }; then
    echo "v2vm: timed out after ${V2VM_TIMEOUT}s" >&2
    exit 124
fi
if [ -f "$RUN/rc" ]; then
    exit "$(cat "$RUN/rc")"
fi
echo "v2vm: guest ended without an exit status (uml rc=$UMLRC); kernel log:" >&2
tail -n 40 "$RUN/log" >&2
exit 125
