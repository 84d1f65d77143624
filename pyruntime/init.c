/* pyruntime-init: the C stage of a container's init (and of an exec'd process).
 *
 * Python (pyruntime/create.py, pyruntime/execproc.py) prepares namespaces, mounts,
 * the root filesystem and a *plan*, then execs this program from a sealed memfd.
 * Being small and static, it is what waits inside the container's cgroup until
 * `start` (so the container is charged a few pages, not a Python interpreter) and
 * what a container process could see as /proc/<pid>/exe (a sealed memfd, so the
 * host binary cannot be overwritten: CVE-2019-5736). It is non-dumpable.
 *
 * Plan (read from the fd given as argv[1]): a sequence of records
 *     u32 key_len, key bytes, u32 value_len, value bytes   (host byte order)
 * Keys: ready_fd, sync_fd, fifo_fd (O_PATH of exec.fifo), fifo_dirfd (its directory:
 * only when the container has no procfs), cgroupns, uid, gid, groups (comma list),
 * cap.bounding/effective/permitted/inheritable/ambient (hex masks), nnp,
 * seccomp (raw struct sock_filter array), seccomp_early, path, arg (repeated),
 * env (repeated), apparmor, selinux, seccomp_flags, seccomp_listener_fd, affinity
 * (raw cpu mask bytes), hook.path/hook.arg/hook.env/hook.timeout (startContainer
 * hooks, in order), hook_state (their stdin), cgroup_fd (repeated: open
 * cgroup "tasks" files to join by writing "0") and pidns_fd (exec: the pid
 * namespace to fork into; the parent reports "P<pid>" and exits).
 *
 * Protocol with the parent on ready_fd/sync_fd:
 *     C stage -> "R"   started, non-dumpable
 *     parent  -> "G"   the pid has joined the container's cgroups
 *     C stage -> "W"   credentials dropped; (create) now blocking on exec.fifo
 *     C stage -> "E<message>" on any failure, then exits 1
 * `start` opens exec.fifo for reading; we write one byte and exec the program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define MAX_ITEMS 4096

static int ready_fd = -1, sync_fd = -1, fifo_dirfd = -1, fifo_fd = -1;
static int want_cgroupns, nnp, seccomp_early;
static int pidns_fd = -1;
static int new_session, take_tty;
static int have_uid, have_gid, have_groups;
static uid_t uid;
static gid_t gid;
static gid_t groups[256];
static int ngroups;
static int have_caps;
static uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
static const char *path, *apparmor, *selinux;
static char *args[MAX_ITEMS + 1], *envs[MAX_ITEMS + 1];
static int nargs, nenvs;
static struct sock_fprog seccomp_prog;
static int have_seccomp;
static unsigned long seccomp_flags;
static int seccomp_listener_fd = -1;
static char sync_payload[65536];      /* after "G": the seccomp notify state JSON, if any */
static size_t sync_payload_len;
static int cgroup_fds[64];
static int ncgroup_fds;
static unsigned char affinity[1024];
static size_t affinity_len;

/* startContainer hooks (run after `start`, inside the container, before exec) */
#define MAX_HOOKS 64
struct hook { char *path; char *args[MAX_ITEMS / 16 + 1]; int nargs;
              char *envs[MAX_ITEMS / 16 + 1]; int nenvs; long timeout; };
static struct hook hooks[MAX_HOOKS];
static int nhooks;
static const char *hook_state;

static int start_fd = -1;     /* exec.fifo after `start` opened it: errors go to start */

static void fail(const char *what, int err)
{
    char buf[1024];
    int n;
    if (err)
        n = snprintf(buf, sizeof buf, "E%s: %s", what, strerror(err));
    else
        n = snprintf(buf, sizeof buf, "E%s", what);
    if (ready_fd >= 0) {
        if (write(ready_fd, buf, (size_t)n) < 0) { /* nothing more we can do */ }
    } else if (start_fd >= 0) {
        if (write(start_fd, buf, (size_t)n) < 0) { /* nothing more we can do */ }
    } else {
        dprintf(2, "pyruntime-init: %s\n", buf + 1);
    }
    _exit(1);
}

static void say(const char *c)
{
    if (ready_fd >= 0 && write(ready_fd, c, 1) != 1)
        _exit(1);
}

static int read_all(int fd, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -ENOMEM;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) return -ENOMEM;
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

static long num(const char *v) { return strtol(v, NULL, 10); }

static void parse_groups(char *v)
{
    char *save = NULL;
    for (char *t = strtok_r(v, ",", &save); t && ngroups < 256; t = strtok_r(NULL, ",", &save))
        groups[ngroups++] = (gid_t)strtoul(t, NULL, 10);
    have_groups = 1;
}

static void parse_plan(char *buf, size_t len)
{
    size_t off = 0;
    while (off + 4 <= len) {
        uint32_t kl, vl;
        memcpy(&kl, buf + off, 4); off += 4;
        if (off + kl + 4 > len) fail("corrupt plan", 0);
        char *key = buf + off; off += kl;
        memcpy(&vl, buf + off, 4);
        /* NUL-terminate the key in place of the value length we just read */
        buf[off] = 0; off += 4;
        if (off + vl > len) fail("corrupt plan", 0);
        char *val = buf + off; off += vl;
        /* values are followed by a NUL the writer adds (not counted in vl) */
        if (off >= len || buf[off] != 0) fail("corrupt plan", 0);
        off += 1;
#define IS(k) (strcmp(key, k) == 0)
        if (IS("ready_fd")) ready_fd = (int)num(val);
        else if (IS("sync_fd")) sync_fd = (int)num(val);
        else if (IS("fifo_dirfd")) fifo_dirfd = (int)num(val);
        else if (IS("fifo_fd")) fifo_fd = (int)num(val);
        else if (IS("cgroupns")) want_cgroupns = 1;
        else if (IS("pidns_fd")) pidns_fd = (int)num(val);
        else if (IS("session")) { new_session = 1; take_tty = strcmp(val, "tty") == 0; }
        else if (IS("nnp")) nnp = 1;
        else if (IS("uid")) { uid = (uid_t)strtoul(val, NULL, 10); have_uid = 1; }
        else if (IS("gid")) { gid = (gid_t)strtoul(val, NULL, 10); have_gid = 1; }
        else if (IS("groups")) parse_groups(val);
        else if (IS("cap.bounding")) { cap_bounding = strtoull(val, NULL, 16); have_caps = 1; }
        else if (IS("cap.effective")) cap_effective = strtoull(val, NULL, 16);
        else if (IS("cap.permitted")) cap_permitted = strtoull(val, NULL, 16);
        else if (IS("cap.inheritable")) cap_inheritable = strtoull(val, NULL, 16);
        else if (IS("cap.ambient")) cap_ambient = strtoull(val, NULL, 16);
        else if (IS("seccomp")) {
            seccomp_prog.len = (unsigned short)(vl / sizeof(struct sock_filter));
            seccomp_prog.filter = (struct sock_filter *)val;
            have_seccomp = 1;
        }
        else if (IS("seccomp_early")) seccomp_early = 1;
        else if (IS("path")) path = val;
        else if (IS("arg")) { if (nargs < MAX_ITEMS) args[nargs++] = val; }
        else if (IS("env")) { if (nenvs < MAX_ITEMS) envs[nenvs++] = val; }
        else if (IS("cgroup_fd")) { if (ncgroup_fds < 64) cgroup_fds[ncgroup_fds++] = (int)num(val); }
        else if (IS("seccomp_flags")) seccomp_flags = strtoul(val, NULL, 10);
        else if (IS("seccomp_listener_fd")) seccomp_listener_fd = (int)num(val);
        else if (IS("affinity")) {
            affinity_len = vl < sizeof affinity ? vl : sizeof affinity;
            memcpy(affinity, val, affinity_len);
        }
        else if (IS("hook.path")) { if (nhooks < MAX_HOOKS) hooks[nhooks++].path = val; }
        else if (IS("hook.arg") && nhooks) {
            struct hook *h = &hooks[nhooks - 1];
            if (h->nargs < MAX_ITEMS / 16) h->args[h->nargs++] = val;
        }
        else if (IS("hook.env") && nhooks) {
            struct hook *h = &hooks[nhooks - 1];
            if (h->nenvs < MAX_ITEMS / 16) h->envs[h->nenvs++] = val;
        }
        else if (IS("hook.timeout") && nhooks) hooks[nhooks - 1].timeout = num(val);
        else if (IS("hook_state")) hook_state = val;
        else if (IS("apparmor")) apparmor = val;
        else if (IS("selinux")) selinux = val;
#undef IS
    }
}

/* Send the seccomp notify fd and the container process state to the
 * listener (config-linux.md#seccomp: listenerPath). */
static void send_listener(int notify_fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { sync_payload, sync_payload_len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    memset(cbuf, 0, sizeof cbuf);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));
    if (sendmsg(seccomp_listener_fd, &msg, MSG_NOSIGNAL) < 0)
        fail("send the seccomp notify fd to linux.seccomp.listenerPath", errno);
    close(notify_fd);
    close(seccomp_listener_fd);
    seccomp_listener_fd = -1;
}

static void load_seccomp(void)
{
    if (!have_seccomp) return;
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &seccomp_prog);
    if (r < 0) fail("load the seccomp filter", errno);
    if (seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        if (seccomp_listener_fd < 0) fail("seccomp notify: no listener socket", 0);
        send_listener((int)r);
    }
}

static char hook_error[600];

/* Run one startContainer hook: state JSON on stdin, killed after its timeout. */
static int run_hook(struct hook *h)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(p[0], 0);
        h->args[h->nargs] = NULL;
        h->envs[h->nenvs] = NULL;
        execve(h->path, h->nargs ? h->args : (char *[]){ h->path, NULL }, h->envs);
        _exit(127);
    }
    close(p[0]);
    if (hook_state) {
        signal(SIGPIPE, SIG_IGN);
        if (write(p[1], hook_state, strlen(hook_state)) < 0) { /* hook need not read */ }
        signal(SIGPIPE, SIG_DFL);
    }
    close(p[1]);
    long waited_ms = 0;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, h->timeout > 0 ? WNOHANG : 0);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) return -1;
        if (h->timeout > 0 && waited_ms >= h->timeout * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(hook_error, sizeof hook_error,
                     "startContainer hook %s did not finish within %lds and was killed",
                     h->path, h->timeout);
            return -1;
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
        waited_ms += 2;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status))
            snprintf(hook_error, sizeof hook_error, "startContainer hook %s was killed by "
                     "signal %d", h->path, WTERMSIG(status));
        else
            snprintf(hook_error, sizeof hook_error, "startContainer hook %s exited with "
                     "status %d", h->path, WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

/* Block until `start` opens exec.fifo for reading; return the fifo open for
 * writing. While we wait we hold only an O_PATH fd of the fifo itself, re-opened
 * through /proc/self/fd, never a directory of the host: a process of the
 * container allowed to ptrace us (CAP_SYS_PTRACE) could otherwise walk from
 * /proc/1/fd/N/.. to the host's root (as runc does; CVE-2024-21626 class).
 * fifo_dirfd is only used for a container without procfs. */
static int open_exec_fifo(void)
{
    int fd;
    if (fifo_fd >= 0) {
        char p[64];
        struct stat want, got;
        snprintf(p, sizeof p, "/proc/self/fd/%d", fifo_fd);
        do fd = open(p, O_WRONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) return -1;
        if (fstat(fifo_fd, &want) < 0 || fstat(fd, &got) < 0 || want.st_dev != got.st_dev ||
            want.st_ino != got.st_ino || !S_ISFIFO(got.st_mode)) {
            close(fd);
            errno = EXDEV;   /* /proc/self/fd is not what it should be */
            return -1;
        }
        close(fifo_fd);
        return fd;
    }
    do fd = openat(fifo_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    close(fifo_dirfd);
    return fd;
}

static void write_attr(const char *attr, const char *label)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/thread-self/attr/%s", attr);
    int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) fail("open /proc/thread-self/attr for the LSM label", errno);
    /* A mount planted over /proc/.../attr would swallow the label (CVE-2019-16884) */
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != 0x9fa0 /* PROC_SUPER_MAGIC */)
        fail("set the LSM exec label: /proc/thread-self/attr is not on procfs", 0);
    if (write(fd, label, strlen(label)) < 0) fail("set the LSM exec label", errno);
    close(fd);
}

static void drop_credentials(void)
{
    if (have_caps) {
        for (int c = 0; c <= 63; c++) {
            if (cap_bounding & (1ULL << c)) continue;
            if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
                if (errno == EINVAL) break;   /* past the kernel's last capability */
                fail("drop a capability from the bounding set", errno);
            }
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("prctl(PR_SET_KEEPCAPS)", errno);
    }
    if (have_groups && setgroups((size_t)ngroups, groups) < 0)
        fail("setgroups", errno);
    if (have_gid && setresgid(gid, gid, gid) < 0) fail("setgid", errno);
    if (have_uid && setresuid(uid, uid, uid) < 0) fail("setuid", errno);
    if (have_caps) {
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        data[0].effective = (uint32_t)cap_effective;
        data[1].effective = (uint32_t)(cap_effective >> 32);
        data[0].permitted = (uint32_t)cap_permitted;
        data[1].permitted = (uint32_t)(cap_permitted >> 32);
        data[0].inheritable = (uint32_t)cap_inheritable;
        data[1].inheritable = (uint32_t)(cap_inheritable >> 32);
        if (syscall(SYS_capset, &hdr, data) < 0) fail("capset", errno);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("prctl(PR_SET_KEEPCAPS)", errno);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
            fail("clear ambient capabilities", errno);
        for (int c = 0; c <= 63; c++) {
            if (!(cap_ambient & (1ULL << c))) continue;
            /* The spec's ambient set is only effective when also permitted and
             * inheritable; the kernel refuses otherwise. runc ignores that error. */
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM &&
                errno != EINVAL)
                fail("raise an ambient capability", errno);
        }
    }
}

int main(int argc, char **argv)
{
    char *buf = NULL;
    size_t len = 0;

    /* First thing: nobody in the container may ptrace us or open our /proc files. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (argc < 2) {
        dprintf(2, "pyruntime-init: internal program of pyruntime; not to be run by hand\n");
        return 2;
    }
    int plan_fd = atoi(argv[1]);
    int r = read_all(plan_fd, &buf, &len);
    if (r < 0) { errno = -r; perror("pyruntime-init: read plan"); return 1; }
    close(plan_fd);
    parse_plan(buf, len);
    if (!path || nargs == 0) fail("plan has no program", 0);
    args[nargs] = NULL;
    envs[nenvs] = NULL;

    if (pidns_fd >= 0) {
        /* exec: only now enter the container's pid namespace (it applies to
         * children), so no Python process ever lived in it. The child goes on;
         * we tell the runtime its pid and leave. */
        if (setns(pidns_fd, CLONE_NEWPID) < 0) fail("join the container's pid namespace", errno);
        close(pidns_fd);
        int gate[2];
        if (pipe2(gate, O_CLOEXEC) < 0) fail("pipe", errno);
        pid_t child = fork();
        if (child < 0) fail("fork into the container's pid namespace", errno);
        if (child > 0) {
            char msg[32];
            int n = snprintf(msg, sizeof msg, "P%d", (int)child);
            if (write(ready_fd, msg, (size_t)n) != n) _exit(1);
            _exit(0);   /* closes gate[1]: the child may go on */
        }
        /* The runtime must learn our pid ("P") before our "R": it joins that
         * pid to the cgroups. Wait until the parent half has said it. */
        char c;
        close(gate[1]);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
        close(gate[0]);
    }
    if (new_session) {
        if (setsid() < 0) fail("setsid", errno);
        if (take_tty && ioctl(0, TIOCSCTTY, 0) < 0) fail("make the pty the controlling terminal", errno);
    }
    say("R");
    if (sync_fd >= 0) {
        ssize_t n;
        do n = read(sync_fd, sync_payload, sizeof sync_payload);
        while (n < 0 && errno == EINTR);
        if (n < 1 || sync_payload[0] != 'G') _exit(1);   /* the runtime gave up on us */
        sync_payload_len = (size_t)n - 1;
        memmove(sync_payload, sync_payload + 1, sync_payload_len);
        if (sync_fd != ready_fd) close(sync_fd);
    }
    /* Join the container's cgroups ourselves: a task writing "0" to a v1 "tasks"
     * file moves itself without the kernel's global threadgroup lock (whose RCU
     * grace period costs 10-20 ms per move). We are the C stage by now, so no
     * Python memory was ever charged to the container. */
    for (int i = 0; i < ncgroup_fds; i++) {
        if (write(cgroup_fds[i], "0", 1) != 1) fail("join the container's cgroup", errno);
        close(cgroup_fds[i]);
    }
    /* After joining the cgroup: joining a cpuset resets the affinity. */
    if (affinity_len && sched_setaffinity(0, affinity_len, (cpu_set_t *)affinity) < 0)
        fail("process.execCPUAffinity.final: sched_setaffinity", errno);
    if (want_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        fail("unshare the cgroup namespace", errno);
    if (apparmor) write_attr(access("/proc/thread-self/attr/apparmor/exec", F_OK) == 0 ? "apparmor/exec" : "exec", apparmor);
    if (selinux) write_attr("exec", selinux);
    if (have_seccomp && seccomp_early) load_seccomp();
    drop_credentials();
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("set no_new_privs", errno);

    if (fifo_fd >= 0 || fifo_dirfd >= 0) {
        /* Created: tell the parent we are ready, then wait for `start`. */
        say("W");
        close(ready_fd);
        ready_fd = -1;
        int fd = open_exec_fifo();
        if (fd < 0) { dprintf(2, "pyruntime-init: open exec.fifo: %s\n", strerror(errno)); _exit(1); }
        if (write(fd, "0", 1) != 1) _exit(1);
        /* Kept open (O_CLOEXEC): `start` waits for EOF, i.e. for our execve, so
         * poststart hooks run after the program started, and it reads "E<msg>"
         * if a startContainer hook, seccomp or the exec itself fails. */
        start_fd = fd;
        for (int i = 0; i < nhooks; i++)
            if (run_hook(&hooks[i]) < 0) fail(hook_error[0] ? hook_error : "startContainer hook failed", 0);
    }
    if (have_seccomp && !seccomp_early) load_seccomp();
    if (ready_fd >= 0) {
        /* exec: the parent reads "W" then sees EOF when execve closes the fd. */
        say("W");
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    }
    if (sync_fd >= 0 && sync_fd != ready_fd) close(sync_fd);
    execve(path, args, envs);
    int err = errno;
    if (ready_fd >= 0 || start_fd >= 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "exec %s", path);
        fail(msg, err);
    }
    dprintf(2, "pyruntime-init: exec %s: %s\n", path, strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}
