/* checker: a tiny static program the conformance suite places in every test
 * rootfs (as /bin/checker) and also runs on the host as a hook.  It reports
 * what a process can observe about itself, one verb per invocation, in plain
 * "key=value" or JSON lines that conformance/harness.py parses.
 *
 * Built by the suite with:  gcc -static -Os -o checker checker.c
 *
 * Verbs (errors are reported on stdout as "error=ENAME", exit status 0,
 * unless stated otherwise):
 *   argv ARGS...        JSON array of argv[2..]
 *   env                 JSON array of environ
 *   caps                Cap* lines of /proc/self/status
 *   rlimits             "NAME soft hard" for every RLIMIT (unsigned)
 *   ids                 uid=r,e,s gid=r,e,s groups=a,b
 *   umask               octal umask
 *   cwd                 getcwd()
 *   isatty              per fd 0..2: tty flag, ttyname, window size, rdev
 *   stat PATH           lstat: type mode uid gid rdev dev ino [link]
 *   statfs PATH         statvfs flags and size, f_type
 *   open PATH MODE      open(r|w|rw|rp) -> ok / error
 *   read PATH [N]       ok len=N hex=... (first N bytes, default 64)
 *   write PATH DATA     create/truncate + write -> ok / error
 *   mkdir PATH          ok / error
 *   mknod PATH T MA MI  T in c|b|p -> ok / error
 *   exec PATH ARGS...   execv; on failure prints error=
 *   sysctl KEY          value of /proc/sys/KEY (dots -> slashes)
 *   ns                  "<type> <inode>" for each /proc/self/ns entry
 *   fds                 open fds other than 0,1,2 and the dir fd: "fd -> target"
 *   status KEY          value of KEY: in /proc/self/status (NoNewPrivs, Seccomp, ...)
 *   oom                 /proc/self/oom_score_adj
 *   uname               sysname nodename release machine domainname
 *   sched               policy nice rtprio ioprio_class ioprio_data
 *   personality         current persona (hex)
 *   clocks              monotonic and boottime seconds
 *   mempolicy           mode and nodemask
 *   affinity            cpu list
 *   cgroup              /proc/self/cgroup
 *   cat PATH            file content
 *   ls DIR              directory entries
 *   pid                 pid ppid
 *   seccomp-test NAME [ARG]  run one syscall: ok ret=N / error=E / trapped (SIGSYS)
 *   sigwait READY OUT   block signals, create READY, write the first signal to OUT
 *   pause               sleep forever
 *   append FILE TEXT    append a line to FILE (O_APPEND)
 *   exit N              exit with status N
 *   multi V1 A.. :: V2 A.. ::   several verbs, each preceded by "### V A.."
 *   hook DIR NAME [exit=N] [sleep=S]   OCI hook: records stdin, argv, env,
 *                       namespaces, the state pid's root/namespaces/cmdline.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
    E(EMLINK) E(EPIPE) E(ERANGE) E(ENOSYS) E(ELOOP) E(ENAMETOOLONG)
    E(ENOTEMPTY) E(EOPNOTSUPP) E(ECONNREFUSED)
#undef E
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static int err(void) { printf("error=%s\n", ename(errno)); return 0; }

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { fputc('\\', f); fputc(c, f); }
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_array(FILE *f, char **v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) { if (i) fputc(',', f); json_str(f, v[i]); }
    fputs("]\n", f);
}

static int count(char **v) { int n = 0; while (v[n]) n++; return n; }

static int cat(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err();
    char buf[8192];
    ssize_t r;
    char last = '\n';
    fflush(stdout);
    while ((r = read(fd, buf, sizeof buf)) > 0) { fwrite(buf, 1, r, stdout); last = buf[r - 1]; }
    close(fd);
    if (last != '\n') fputc('\n', stdout);
    return 0;
}

static int grep_status(const char *key) {
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return err();
    char line[512];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            char *v = line + kl + 1;
            while (*v == ' ' || *v == '\t') v++;
            fputs(v, stdout);
        }
    }
    fclose(f);
    return 0;
}

static int v_caps(void) {
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return err();
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Cap", 3)) fputs(line, stdout);
    fclose(f);
    return 0;
}

static int v_rlimits(void) {
    static const char *names[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
        "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK",
        "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
        "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
    for (int i = 0; i < 16; i++) {
        struct rlimit rl;
        if (getrlimit(i, &rl) < 0) { printf("%s error=%s\n", names[i], ename(errno)); continue; }
        printf("%s %llu %llu\n", names[i], (unsigned long long)rl.rlim_cur,
               (unsigned long long)rl.rlim_max);
    }
    return 0;
}

static int v_ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    gid_t groups[256];
    int n = getgroups(256, groups);
    printf("uid=%u,%u,%u gid=%u,%u,%u groups=", r, e, s, gr, ge, gs);
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", groups[i]);
    printf("\n");
    return 0;
}

static char ftype(mode_t m) {
    if (S_ISREG(m)) return 'f';
    if (S_ISDIR(m)) return 'd';
    if (S_ISCHR(m)) return 'c';
    if (S_ISBLK(m)) return 'b';
    if (S_ISLNK(m)) return 'l';
    if (S_ISFIFO(m)) return 'p';
    if (S_ISSOCK(m)) return 's';
    return '?';
}

static int v_stat(const char *p) {
    struct stat st;
    if (lstat(p, &st) < 0) return err();
    printf("type=%c mode=%04o uid=%u gid=%u rdev=%u:%u dev=%u:%u ino=%llu size=%lld", ftype(st.st_mode),
           st.st_mode & 07777, st.st_uid, st.st_gid, major(st.st_rdev), minor(st.st_rdev),
           major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, (long long)st.st_size);
    if (S_ISLNK(st.st_mode)) {
        char buf[PATH_MAX];
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        if (n >= 0) { buf[n] = 0; printf(" link=%s", buf); }
    }
    printf("\n");
    return 0;
}

static int v_statfs(const char *p) {
    struct statvfs sv;
    struct statfs sf;
    if (statvfs(p, &sv) < 0 || statfs(p, &sf) < 0) return err();
    printf("flags=");
    static const struct { unsigned long f; const char *n; } fl[] = {
        {ST_RDONLY, "ro"}, {ST_NOSUID, "nosuid"}, {ST_NODEV, "nodev"}, {ST_NOEXEC, "noexec"},
        {ST_SYNCHRONOUS, "sync"}, {ST_MANDLOCK, "mand"}, {ST_NOATIME, "noatime"},
        {ST_NODIRATIME, "nodiratime"}, {ST_RELATIME, "relatime"}, {0x2000, "nosymfollow"}};
    int first = 1;
    for (unsigned i = 0; i < sizeof fl / sizeof fl[0]; i++)
        if (sv.f_flag & fl[i].f) { printf(first ? "%s" : ",%s", fl[i].n); first = 0; }
    printf(" size=%llu ftype=0x%lx\n", (unsigned long long)sv.f_blocks * sv.f_frsize,
           (unsigned long)sf.f_type);
    return 0;
}

static int v_open(const char *p, const char *mode) {
    int fl = O_RDONLY;
    if (!strcmp(mode, "w")) fl = O_WRONLY;
    else if (!strcmp(mode, "rw")) fl = O_RDWR;
    else if (!strcmp(mode, "rp")) fl = O_PATH;
    else if (!strcmp(mode, "rn")) fl = O_RDONLY | O_NONBLOCK;
    int fd = open(p, fl | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return err();
    close(fd);
    printf("ok\n");
    return 0;
}

static int v_read(const char *p, int n) {
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return err();
    unsigned char buf[4096];
    if (n > (int)sizeof buf) n = sizeof buf;
    ssize_t r = read(fd, buf, n);
    if (r < 0) { int e = errno; close(fd); errno = e; return err(); }
    close(fd);
    printf("ok len=%zd hex=", r);
    for (ssize_t i = 0; i < r; i++) printf("%02x", buf[i]);
    printf("\n");
    return 0;
}

static int v_write(const char *p, const char *data) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) return err();
    size_t l = strlen(data);
    if (write(fd, data, l) != (ssize_t)l) { int e = errno; close(fd); errno = e; return err(); }
    if (close(fd) < 0) return err();
    printf("ok\n");
    return 0;
}

static int v_mknod(const char *p, const char *t, const char *ma, const char *mi) {
    mode_t m = (*t == 'b') ? S_IFBLK : (*t == 'p') ? S_IFIFO : S_IFCHR;
    if (mknod(p, m | 0600, makedev(atoi(ma), atoi(mi))) < 0) return err();
    printf("ok\n");
    return 0;
}

static int v_sysctl(const char *key) {
    char path[512];
    snprintf(path, sizeof path, "/proc/sys/%s", key);
    for (char *c = path + 10; *c; c++) if (*c == '.') *c = '/';
    return cat(path);
}

static int v_ns(void) {
    static const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                               "time", "time_for_children", "user", "uts"};
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char p[64];
        struct stat st;
        snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
        if (stat(p, &st) < 0) printf("%s error=%s\n", ns[i], ename(errno));
        else printf("%s %llu\n", ns[i], (unsigned long long)st.st_ino);
    }
    return 0;
}

static int v_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return err();
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == self || fd <= 2) continue;
        char p[64], buf[PATH_MAX];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        printf("%d -> %s\n", fd, buf);
    }
    closedir(d);
    return 0;
}

static int v_ls(const char *p) {
    DIR *d = opendir(p);
    if (!d) return err();
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("%s\n", e->d_name);
    closedir(d);
    return 0;
}

static int v_isatty(void) {
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        char *name = isatty(fd) ? ttyname(fd) : NULL;
        printf("fd=%d tty=%d name=%s", fd, isatty(fd), name ? name : "-");
        if (fstat(fd, &st) == 0) printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
        struct winsize ws;
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0) printf(" rows=%u cols=%u", ws.ws_row, ws.ws_col);
        printf("\n");
    }
    return 0;
}

static int v_uname(void) {
    struct utsname u;
    if (uname(&u) < 0) return err();
    printf("sysname=%s\nnodename=%s\nrelease=%s\nmachine=%s\ndomainname=%s\n", u.sysname,
           u.nodename, u.release, u.machine, u.domainname);
    return 0;
}

static int v_sched(void) {
    int pol = sched_getscheduler(0);
    struct sched_param sp = {0};
    sched_getparam(0, &sp);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
    const char *pn = pol == SCHED_OTHER ? "SCHED_OTHER" : pol == SCHED_FIFO ? "SCHED_FIFO" :
                     pol == SCHED_RR ? "SCHED_RR" : pol == SCHED_BATCH ? "SCHED_BATCH" :
                     pol == SCHED_IDLE ? "SCHED_IDLE" : pol == 6 ? "SCHED_DEADLINE" : "?";
    printf("policy=%s nice=%d rtprio=%d ioprio_class=%ld ioprio_data=%ld\n", pn, nice,
           sp.sched_priority, io < 0 ? -1 : (io >> 13), io < 0 ? -1 : (io & 0x1fff));
    return 0;
}

static int v_clocks(void) {
    struct timespec m, b, r;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_BOOTTIME, &b);
    clock_gettime(CLOCK_REALTIME, &r);
    printf("monotonic=%lld boottime=%lld realtime=%lld\n", (long long)m.tv_sec,
           (long long)b.tv_sec, (long long)r.tv_sec);
    return 0;
}

static int v_mempolicy(void) {
    int mode = -1;
    unsigned long mask[16] = {0};
    if (syscall(SYS_get_mempolicy, &mode, mask, 1024, 0, 0) < 0) return err();
    static const char *names[] = {"MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
                                  "MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"};
    int m = mode & 0xff;
    printf("mode=%s flags=0x%x nodes=0x%lx\n", m < 7 ? names[m] : "?", mode & ~0xff, mask[0]);
    return 0;
}

static int v_affinity(void) {
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof s, &s) < 0) return err();
    int first = 1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &s)) { printf(first ? "%d" : ",%d", i); first = 0; }
    printf("\n");
    return 0;
}

static void on_sigsys(int sig) {
    (void)sig;
    static const char m[] = "trapped\n";
    write(1, m, sizeof m - 1);
    _exit(0);
}

static int v_seccomp_test(const char *name, const char *arg) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sigsys;
    sigaction(SIGSYS, &sa, NULL);
    long a = arg ? strtol(arg, NULL, 0) : 0;
    long r;
    char buf[PATH_MAX];
    struct utsname u;
    fflush(stdout);
    errno = 0;
    if (!strcmp(name, "getcwd")) r = syscall(SYS_getcwd, buf, sizeof buf);
    else if (!strcmp(name, "uname")) r = syscall(SYS_uname, &u);
    else if (!strcmp(name, "getppid")) r = syscall(SYS_getppid);
    else if (!strcmp(name, "getpriority")) r = syscall(SYS_getpriority, a, 0);
    else if (!strcmp(name, "getpgid")) r = syscall(SYS_getpgid, 0);
    else if (!strcmp(name, "getsid")) r = syscall(SYS_getsid, 0);
    else if (!strcmp(name, "sched_yield")) r = syscall(SYS_sched_yield);
    else if (!strcmp(name, "mkdir")) r = syscall(SYS_mkdir, "/tmp/seccomp-mkdir", 0700);
    else if (!strcmp(name, "chdir")) r = syscall(SYS_chdir, "/");
    else { printf("unknown syscall %s\n", name); return 2; }
    if (r < 0) printf("error=%s\n", ename(errno));
    else printf("ok ret=%ld\n", r);
    return 0;
}

static int v_sigwait(const char *ready, const char *out) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
    int sig = sigwaitinfo(&all, NULL);
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) { dprintf(fd, "%d\n", sig); close(fd); }
    return 0;
}

static int v_append(const char *file, const char *text) {
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return err();
    dprintf(fd, "%s\n", text);
    close(fd);
    printf("ok\n");
    return 0;
}

static char *read_all(int fd, size_t *len) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    ssize_t r;
    while ((r = read(fd, b + n, cap - n - 1)) > 0) {
        n += r;
        if (cap - n < 2) b = realloc(b, cap *= 2);
    }
    b[n] = 0;
    *len = n;
    return b;
}

static void write_file(const char *dir, const char *name, const char *suffix, const char *d, size_t l) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s.%s", dir, name, suffix);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    write(fd, d, l);
    close(fd);
}

static void ns_of(FILE *f, const char *prefix, const char *procdir) {
    static const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char p[128];
        struct stat st;
        snprintf(p, sizeof p, "%s/ns/%s", procdir, ns[i]);
        if (stat(p, &st) == 0) fprintf(f, "%s_ns_%s=%llu\n", prefix, ns[i], (unsigned long long)st.st_ino);
    }
}

/* OCI hook: everything goes to DIR/NAME.{stdin,info} and DIR/order. */
static int v_hook(int argc, char **argv) {
    const char *dir = argv[2], *name = argv[3];
    int code = 0, sl = 0;
    for (int i = 4; i < argc; i++) {
        if (!strncmp(argv[i], "exit=", 5)) code = atoi(argv[i] + 5);
        if (!strncmp(argv[i], "sleep=", 6)) sl = atoi(argv[i] + 6);
    }
    const char *probe = NULL;
    for (int i = 4; i < argc; i++)
        if (!strncmp(argv[i], "probe=", 6)) probe = argv[i] + 6;
    size_t len;
    char *in = read_all(0, &len);
    write_file(dir, name, "stdin", in, len);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s.info", dir, name);
    FILE *f = fopen(p, "we");
    if (!f) return 3;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(f, "time=%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fprintf(f, "argv=");
    json_array(f, argv, argc);
    fprintf(f, "env=");
    extern char **environ;
    json_array(f, environ, count(environ));
    char cwd[PATH_MAX];
    fprintf(f, "cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    fprintf(f, "self_pid=%d\n", getpid());
    if (probe) fprintf(f, "probe_exists=%d\n", access(probe, F_OK) == 0);
    ns_of(f, "self", "/proc/self");
    char *pp = strstr(in, "\"pid\"");
    if (pp) {
        pp = strchr(pp, ':');
        long pid = pp ? strtol(pp + 1, NULL, 10) : 0;
        if (pid > 0) {
            char pd[64], buf[PATH_MAX];
            snprintf(pd, sizeof pd, "/proc/%ld", pid);
            fprintf(f, "state_pid=%ld\n", pid);
            snprintf(p, sizeof p, "%s/root", pd);
            ssize_t n = readlink(p, buf, sizeof buf - 1);
            if (n >= 0) { buf[n] = 0; fprintf(f, "pid_root=%s\n", buf); }
            else fprintf(f, "pid_root=error:%s\n", ename(errno));
            ns_of(f, "pid", pd);
            snprintf(p, sizeof p, "%s/cmdline", pd);
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                n = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (n > 0) {
                    for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
                    buf[n] = 0;
                    fprintf(f, "pid_cmdline=%s\n", buf);
                }
            } else fprintf(f, "pid_alive=0\n");
        }
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/order", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) { dprintf(fd, "%s\n", name); close(fd); }
    if (sl) sleep(sl);
    return code;
}

static int run_verb(int argc, char **argv);

static int v_multi(int argc, char **argv) {
    int start = 2;
    for (int i = 2; i <= argc; i++) {
        if (i == argc || !strcmp(argv[i], "::")) {
            if (i > start) {
                char *sub[64];
                int n = 0;
                sub[n++] = argv[0];
                printf("###");
                for (int j = start; j < i && n < 63; j++) { sub[n++] = argv[j]; printf(" %s", argv[j]); }
                printf("\n");
                sub[n] = NULL;
                fflush(stdout);
                run_verb(n, sub);
                fflush(stdout);
            }
            start = i + 1;
        }
    }
    return 0;
}

static int run_verb(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: checker VERB [ARGS]\n"); return 2; }
    const char *v = argv[1];
#define A(n) if (argc < (n) + 2) { fprintf(stderr, "%s: needs %d args\n", v, n); return 2; }
    if (!strcmp(v, "argv")) { json_array(stdout, argv + 2, argc - 2); return 0; }
    if (!strcmp(v, "env")) { extern char **environ; json_array(stdout, environ, count(environ)); return 0; }
    if (!strcmp(v, "caps")) return v_caps();
    if (!strcmp(v, "rlimits")) return v_rlimits();
    if (!strcmp(v, "ids")) return v_ids();
    if (!strcmp(v, "umask")) { mode_t m = umask(0); umask(m); printf("%04o\n", m); return 0; }
    if (!strcmp(v, "cwd")) { char b[PATH_MAX]; if (!getcwd(b, sizeof b)) return err(); printf("%s\n", b); return 0; }
    if (!strcmp(v, "isatty")) return v_isatty();
    if (!strcmp(v, "stat")) { A(1) return v_stat(argv[2]); }
    if (!strcmp(v, "statfs")) { A(1) return v_statfs(argv[2]); }
    if (!strcmp(v, "open")) { A(2) return v_open(argv[2], argv[3]); }
    if (!strcmp(v, "read")) { A(1) return v_read(argv[2], argc > 3 ? atoi(argv[3]) : 64); }
    if (!strcmp(v, "write")) { A(2) return v_write(argv[2], argv[3]); }
    if (!strcmp(v, "mkdir")) { A(1) if (mkdir(argv[2], 0755) < 0) return err(); printf("ok\n"); return 0; }
    if (!strcmp(v, "mknod")) { A(4) return v_mknod(argv[2], argv[3], argv[4], argv[5]); }
    if (!strcmp(v, "exec")) { A(1) fflush(stdout); execv(argv[2], argv + 2); return err(); }
    if (!strcmp(v, "sysctl")) { A(1) return v_sysctl(argv[2]); }
    if (!strcmp(v, "ns")) return v_ns();
    if (!strcmp(v, "fds")) return v_fds();
    if (!strcmp(v, "status")) { A(1) return grep_status(argv[2]); }
    if (!strcmp(v, "oom")) return cat("/proc/self/oom_score_adj");
    if (!strcmp(v, "uname")) return v_uname();
    if (!strcmp(v, "sched")) return v_sched();
    if (!strcmp(v, "personality")) { printf("0x%x\n", personality(0xffffffff)); return 0; }
    if (!strcmp(v, "clocks")) return v_clocks();
    if (!strcmp(v, "mempolicy")) return v_mempolicy();
    if (!strcmp(v, "affinity")) return v_affinity();
    if (!strcmp(v, "cgroup")) return cat("/proc/self/cgroup");
    if (!strcmp(v, "cat")) { A(1) return cat(argv[2]); }
    if (!strcmp(v, "ls")) { A(1) return v_ls(argv[2]); }
    if (!strcmp(v, "mountinfo")) return cat("/proc/self/mountinfo");
    if (!strcmp(v, "pid")) { printf("pid=%d ppid=%d\n", getpid(), getppid()); return 0; }
    if (!strcmp(v, "seccomp-test")) { A(1) return v_seccomp_test(argv[2], argc > 3 ? argv[3] : NULL); }
    if (!strcmp(v, "sigwait")) { A(2) return v_sigwait(argv[2], argv[3]); }
    if (!strcmp(v, "pause")) { for (;;) pause(); }
    if (!strcmp(v, "append")) { A(2) return v_append(argv[2], argv[3]); }
    if (!strcmp(v, "exit")) { A(1) fflush(stdout); return atoi(argv[2]); }
    if (!strcmp(v, "multi")) return v_multi(argc, argv);
    if (!strcmp(v, "hook")) { A(2) return v_hook(argc, argv); }
    fprintf(stderr, "unknown verb %s\n", v);
    return 2;
#undef A
}

int main(int argc, char **argv) {
    int r = run_verb(argc, argv);
    fflush(stdout);
    return r;
}
