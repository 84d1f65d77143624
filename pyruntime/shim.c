/* pyruntime's C shim: thin wrappers over the syscalls Python's os module lacks.
 * Kept deliberately small; all logic lives in Python. Every wrapper returns
 * -errno on failure so Python never has to read errno separately. */
#define _GNU_SOURCE
#include <Python.h> /* only for shim_fork_into_cgroup: Python's fork hooks */
#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/personality.h>
#include <sys/vfs.h>

#define RET(x) do { long _r = (long)(x); return _r < 0 ? -errno : (int)_r; } while (0)

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct shim_open_how { uint64_t flags, mode, resolve; };
struct shim_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

int shim_mount(const char *source, const char *target, const char *fstype,
               unsigned long flags, const char *data)
{ RET(mount(source, target, fstype, flags, data)); }

int shim_umount2(const char *target, int flags) { RET(umount2(target, flags)); }

int shim_pivot_root(const char *new_root, const char *put_old)
{ RET(syscall(SYS_pivot_root, new_root, put_old)); }

int shim_unshare(int flags) { RET(unshare(flags)); }
int shim_setns(int fd, int nstype) { RET(setns(fd, nstype)); }
int shim_sethostname(const char *name, size_t len) { RET(sethostname(name, len)); }
int shim_setdomainname(const char *name, size_t len) { RET(setdomainname(name, len)); }

int shim_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
               unsigned long a5)
{ RET(prctl(option, a2, a3, a4, a5)); }

int shim_openat2(int dirfd, const char *path, int flags, int mode, unsigned long long resolve)
{
    struct shim_open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = (uint64_t)mode;
    how.resolve = resolve;
    RET(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int shim_open_tree(int dirfd, const char *path, unsigned int flags)
{ RET(syscall(SYS_open_tree, dirfd, path, flags)); }

int shim_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
                    unsigned int flags)
{ RET(syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags)); }

int shim_mount_setattr(int dirfd, const char *path, unsigned int flags,
                       unsigned long long attr_set, unsigned long long attr_clr,
                       unsigned long long propagation, unsigned long long userns_fd)
{
    struct shim_mount_attr attr = { attr_set, attr_clr, propagation, userns_fd };
    RET(syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr));
}

int shim_fsopen(const char *fsname, unsigned int flags) { RET(syscall(SYS_fsopen, fsname, flags)); }
int shim_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux)
{ RET(syscall(SYS_fsconfig, fd, cmd, key, value, aux)); }
int shim_fsmount(int fd, unsigned int flags, unsigned int attr_flags)
{ RET(syscall(SYS_fsmount, fd, flags, attr_flags)); }

/* KEYCTL_JOIN_SESSION_KEYRING (1): a fresh session keyring named NAME. */
long shim_keyctl_join(const char *name)
{
    long r = syscall(SYS_keyctl, 1, name, 0, 0, 0);
    return r < 0 ? -errno : r;
}

int shim_personality(unsigned long persona) { RET(personality(persona)); }

/* sched_setattr(2) for the calling thread (process.scheduler). */
#ifndef SYS_sched_setattr
#define SYS_sched_setattr 314
#endif
struct shim_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};
int shim_sched_setattr(unsigned int policy, unsigned long long flags, int nice,
                       unsigned int priority, unsigned long long runtime,
                       unsigned long long deadline, unsigned long long period)
{
    struct shim_sched_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = policy;
    attr.sched_flags = flags;
    attr.sched_nice = nice;
    attr.sched_priority = priority;
    attr.sched_runtime = runtime;
    attr.sched_deadline = deadline;
    attr.sched_period = period;
    RET(syscall(SYS_sched_setattr, 0, &attr, 0));
}

/* ioprio_set(2) (process.ioPriority); ioprio = class << 13 | level. */
#ifndef SYS_ioprio_set
#define SYS_ioprio_set 251
#endif
int shim_ioprio_set(int which, int who, int ioprio)
{ RET(syscall(SYS_ioprio_set, which, who, ioprio)); }

/* Filesystem magic of an open fd: used to make sure /proc is really procfs
 * before writing to it (the CVE-2019-16884 family). */
int shim_fstatfs_magic(int fd, long *magic)
{
    struct statfs st;
    if (fstatfs(fd, &st) < 0) return -errno;
    *magic = (long)st.f_type;
    return 0;
}

int shim_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode)
{ RET(syscall(SYS_set_mempolicy, mode, nodemask, maxnode)); }

/* setrlimit through prlimit(2): saves importing Python's resource module. */
int shim_setrlimit(int resource, unsigned long long soft, unsigned long long hard)
{
    struct { unsigned long long cur, max; } lim = { soft, hard };
    RET(syscall(SYS_prlimit64, 0, resource, &lim, NULL));
}

/* fork() whose child is born in the cgroup v2 directory cgroup_fd
 * (clone3 with CLONE_INTO_CGROUP, Linux 5.7): nothing has to be migrated
 * afterwards, so no cgroup.procs write and none of the RCU grace period it
 * waits for (10-18 ms here) while holding the lock every other cgroup write
 * needs. The child goes on running Python, so the call is wrapped in Python's
 * own fork hooks, as os.fork() is (cffi calls us without the GIL: take it).
 * Returns what fork() does, or -errno. */
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define SHIM_CLONE_INTO_CGROUP 0x200000000ULL
struct shim_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
};
long shim_fork_into_cgroup(int cgroup_fd)
{
    struct shim_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = SHIM_CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyOS_BeforeFork();
    long pid = syscall(SYS_clone3, &args, sizeof args);
    int err = errno;
    if (pid == 0)
        PyOS_AfterFork_Child();
    else
        PyOS_AfterFork_Parent();
    PyGILState_Release(gil);
    return pid < 0 ? -err : pid;
}
