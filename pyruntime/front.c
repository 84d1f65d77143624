/* pyruntime front end: the `pyruntime` command itself.
 *
 * Clients call `state` over and over (podman polls it, containerd's shim asks it
 * after every step) and `start` once per container. CPython needs ~8.5 ms just
 * to start here; runc's whole `state` takes ~4.5 ms. So this small static
 * program answers the plain cases of `state ID` and `start ID` itself and execs
 * the Python CLI (python -I -S, the package's install directory put on
 * sys.path) for everything else.
 *
 * The native paths handle only the plain case and refuse nothing themselves:
 * any flag they do not know, a malformed ID, a missing or unusual state.json, a
 * container still being created (pid 0) or not in the right status, a string
 * they would have to unescape, poststart hooks to run ... all go to Python
 * before anything is done or printed, and Python answers (or fails) exactly as
 * it always does. Only `start` can fail after the point of no return (the init
 * released): that message is logged by Python (cli.report_native_error).
 * Output and effects are the Python CLI's (tests/integration/
 * test_native_front.py compares both); the rules mirror pyruntime/state.py
 * (status) and pyruntime/container.py (Container.state, Container.start), and
 * a change to either must be made here too.
 *
 * For `create` and `run` it also makes itself a child subreaper before
 * exec'ing Python (see preset_subreaper).
 *
 * PYRUNTIME_NO_NATIVE=1 in the environment sends every call to Python.
 *
 * Built by setup.py, which writes front_paths.h: PYRT_PYTHON (the interpreter)
 * and PYRT_LIBDIR_PY (the install directory, as a Python string literal).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "front_paths.h"

/* The Python side of the launcher (argv follows "-c" as sys.argv[1:]). */
static const char BOOT[] =
    "import sys\n"
    "sys.path.insert(0, " PYRT_LIBDIR_PY ")\n"
    "try:\n"
    "    from pyruntime.cli import entry\n"
    "except ImportError:  # installed elsewhere (--user, --target): search normally\n"
    "    del sys.path[0]\n"
    "    import site\n"
    "    site.main()\n"
    "    from pyruntime.cli import entry\n"
    "entry()\n";

/* An error found after the point of no return of a native command: Python
 * logs it as it logs its own (--log, --log-format) and exits 1. */
static const char BOOT_ERROR[] =
    "import sys\n"
    "sys.path.insert(0, " PYRT_LIBDIR_PY ")\n"
    "from pyruntime.cli import report_native_error\n"
    "report_native_error()\n";

/* Runs the Python CLI with argv[1:]; with `error`, its error reporter
 * (sys.argv: -c, error, argv[1:]). */
static void exec_python(int argc, char **argv, const char *error)
{
    char **args = calloc((size_t)argc + 6, sizeof(char *));
    if (args) {
        int n = 0;
        args[n++] = (char *)PYRT_PYTHON;
        args[n++] = "-IS"; /* no site-packages scan: ~20 ms per call */
        args[n++] = "-c";
        args[n++] = (char *)(error ? BOOT_ERROR : BOOT);
        if (error)
            args[n++] = (char *)error;
        for (int i = 1; i < argc; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execv(PYRT_PYTHON, args);
    }
    dprintf(2, "pyruntime: cannot run the Python interpreter %s: %s\n", PYRT_PYTHON,
            strerror(errno));
    _exit(127);
}

/* ---- a minimal JSON scanner: finds values, never decodes them ------------ */

typedef struct {
    const char *p, *end; /* the value's text, quotes included */
} span;

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"': returns the position after the closing quote, or NULL. */
static const char *scan_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        } else if ((unsigned char)*p < 0x20) {
            return NULL;
        }
    }
    return NULL;
}

static const char *scan_value(const char *p, const char *e, int depth)
{
    if (p >= e || depth > 64)
        return NULL;
    if (*p == '"')
        return scan_string(p, e);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (p >= e || *p != '"' || !(p = scan_string(p, e)))
                    return NULL;
                p = skip_ws(p, e);
                if (p >= e || *p != ':')
                    return NULL;
                p = skip_ws(p + 1, e);
            }
            if (!(p = scan_value(p, e, depth + 1)))
                return NULL;
            p = skip_ws(p, e);
            if (p < e && *p == ',') {
                p = skip_ws(p + 1, e);
                continue;
            }
            return p < e && *p == close ? p + 1 : NULL;
        }
    }
    const char *s = p; /* number, true, false, null */
    while (p < e && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
        p++;
    return p > s ? p : NULL;
}

/* Calls fn(key, value, arg) for each member of the object at o; returns 0, or -1
 * if o is not a well-formed object. Keys are spans without their quotes. */
static int each_member(span o, int (*fn)(span, span, void *), void *arg)
{
    const char *p = skip_ws(o.p, o.end), *e = o.end;
    if (p >= e || *p != '{')
        return -1;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}')
        return 0;
    for (;;) {
        span k, v;
        if (p >= e || *p != '"' || !(k.end = scan_string(p, e)))
            return -1;
        k.p = p + 1;
        k.end--;
        p = skip_ws(k.end + 1, e);
        if (p >= e || *p != ':')
            return -1;
        v.p = skip_ws(p + 1, e);
        if (!(v.end = scan_value(v.p, e, 1)))
            return -1;
        if (fn(k, v, arg) < 0)
            return -1;
        p = skip_ws(v.end, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        return p < e && *p == '}' ? 0 : -1;
    }
}

static int key_is(span k, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(k.end - k.p) == n && memcmp(k.p, name, n) == 0;
}

static int is_null(span v) { return v.end - v.p == 4 && memcmp(v.p, "null", 4) == 0; }
static int is_string(span v) { return v.p < v.end && *v.p == '"'; }
static int is_object(span v) { return v.p < v.end && *v.p == '{'; }

/* A canonical non-negative integer (what state.py's _sane() accepts), or -1. */
static long long as_uint(span v)
{
    long long n = 0;
    if (v.p >= v.end || (*v.p == '0' && v.end - v.p > 1))
        return -1;
    for (const char *p = v.p; p < v.end; p++) {
        if (*p < '0' || *p > '9' || n > (LLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

/* ---- state.json ------------------------------------------------------------ */

enum { F_OCI, F_BUNDLE, F_ROOTFS, F_CREATED, F_OWNER, N_TEXT };
static const char *const TEXT_FIELDS[N_TEXT] = {"ociVersion", "bundle", "rootfs", "created",
                                                "owner"};

struct state {
    span text[N_TEXT]; /* missing: p == NULL */
    long long pid, pid_start;
    span annotations, cgroup;
    int has_poststart;
    int unusual; /* something only the Python code handles */
};

static int find_poststart(span k, span v, void *arg)
{
    (void)v;
    if (key_is(k, "poststart"))
        ((struct state *)arg)->has_poststart = 1;
    return 0;
}

/* An int >= 0, null, or absent: state.py's _sane(); -2 for null/absent. */
static long long uint_or_null(span v, int *unusual)
{
    if (is_null(v))
        return -2;
    long long n = as_uint(v);
    if (n < 0)
        *unusual = 1;
    return n;
}

static int take_member(span k, span v, void *arg)
{
    struct state *s = arg;
    for (int i = 0; i < N_TEXT; i++) {
        if (key_is(k, TEXT_FIELDS[i])) {
            if (!is_string(v))
                s->unusual = 1;
            s->text[i] = v;
            return 0;
        }
    }
    if (key_is(k, "pid")) {
        s->pid = uint_or_null(v, &s->unusual);
    } else if (key_is(k, "pid_start")) {
        s->pid_start = uint_or_null(v, &s->unusual);
    } else if (key_is(k, "creator_pid") || key_is(k, "creator_start")) {
        uint_or_null(v, &s->unusual);
    } else if (key_is(k, "cgroup")) {
        s->cgroup = v;
        if (!is_object(v) && !is_null(v))
            s->unusual = 1;
    } else if (key_is(k, "hooks")) {
        if (is_object(v))
            each_member(v, find_poststart, s);
        else if (!is_null(v))
            s->unusual = 1;
    } else if (key_is(k, "annotations")) {
        s->annotations = v;
    } else if (key_is(k, "half_made")) {
        s->unusual = 1;
    }
    return 0;
}

static char *read_all(int dirfd, const char *name, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || st.st_size > (64 << 20)) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            free(buf);
            buf = NULL;
        } else if (r == 0) {
            break;
        } else if ((n += (size_t)r) == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    close(fd);
    *len = n;
    return buf;
}

/* ---- status: the rules of state.py's status() ------------------------------ */

/* Is pid the living (non-zombie) process started at start_time (-2: any)? */
static int pid_alive(long long pid, long long start_time)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces and ')' */
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return 0;
    if (start_time == -2)
        return 1;
    /* the start time comes 19 fields after the state letter (field 22) */
    for (int field = 0; field < 19; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        while (*p == ' ')
            p++;
    }
    return strtoll(p, NULL, 10) == start_time;
}

struct freeze {
    span file;
};

static int take_freeze_file(span k, span v, void *arg)
{
    if (key_is(k, "freeze_file"))
        ((struct freeze *)arg)->file = v;
    return 0;
}

/* 1 frozen, 0 not, -1: ask Python (a path it would have to unescape). */
static int is_frozen(span cgroup)
{
    struct freeze f = {{NULL, NULL}};
    if (!is_object(cgroup) || each_member(cgroup, take_freeze_file, &f) < 0)
        return 0;
    if (!f.file.p || is_null(f.file) || (is_string(f.file) && f.file.end - f.file.p == 2))
        return 0;
    if (!is_string(f.file))
        return -1;
    if (memchr(f.file.p, '\\', (size_t)(f.file.end - f.file.p)) ||
        f.file.end - f.file.p > PATH_MAX)
        return -1;
    char path[PATH_MAX + 1], buf[8];
    size_t len = (size_t)(f.file.end - f.file.p) - 2;
    memcpy(path, f.file.p + 1, len);
    path[len] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0)
        return 0;
    char *s = buf, *e = buf + n;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return e - s == 1 && *s == '1';
}

/* ---- output: container.py's Container.state(), printed like indent_json ---- */

struct out {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct out *o, const char *p, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2 + 256;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->failed = 1;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }
static void put_span(struct out *o, span s) { put(o, s.p, (size_t)(s.end - s.p)); }

static void put_text(struct out *o, const char *name, span v)
{
    puts_(o, ",\n  \"");
    puts_(o, name);
    puts_(o, "\": ");
    if (v.p)
        put_span(o, v);
    else
        puts_(o, "\"\"");
}

struct annot {
    struct out *o;
    int n;
};

static int put_annotation(span k, span v, void *arg)
{
    struct annot *a = arg;
    if (!is_string(v))
        return -1; /* indent_json would lay it out: leave it to Python */
    puts_(a->o, a->n++ ? ",\n    \"" : "    \"");
    put(a->o, k.p, (size_t)(k.end - k.p));
    puts_(a->o, "\": ");
    put_span(a->o, v);
    return 0;
}

static int write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") == n;
}

/* A container's directory and what state.json says, with the status derived:
 * 0, or -1 when Python must decide (nothing found, anything unusual). */
struct container {
    int dirfd;
    char *raw;
    struct state s;
    const char *status;
};

static void release(struct container *c)
{
    free(c->raw);
    close(c->dirfd); /* also drops the flock, if taken */
}

static int load(const char *root, const char *id, int lock, struct container *c)
{
    memset(c, 0, sizeof(*c));
    if (!valid_id(id) || strlen(root) > PATH_MAX)
        return -1;
    char dir[2 * PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", root, id);
    c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0)
        return -1;
    size_t len;
    struct state *s = &c->s;
    s->pid = s->pid_start = -2;
    if ((lock && flock(c->dirfd, LOCK_EX) < 0) ||
        !(c->raw = read_all(c->dirfd, "state.json", &len)))
        goto python;
    span whole = {c->raw, c->raw + len};
    const char *tail;
    if (each_member(whole, take_member, s) < 0 || s->unusual || s->pid <= 0 ||
        !(tail = scan_value(skip_ws(c->raw, c->raw + len), c->raw + len, 0)) ||
        skip_ws(tail, c->raw + len) != c->raw + len)
        goto python; /* malformed, half-made or being created: state.py decides */
    if (s->annotations.p && !is_null(s->annotations) && !is_object(s->annotations))
        goto python;

    struct stat st;
    int alive = pid_alive(s->pid, s->pid_start);
    if (alive < 0)
        goto python;
    if (!alive) {
        c->status = "stopped";
    } else if (fstatat(c->dirfd, "exec.fifo", &st, 0) == 0) {
        c->status = "created";
    } else {
        int frozen = is_frozen(s->cgroup);
        if (frozen < 0)
            goto python;
        c->status = frozen ? "paused" : "running";
    }
    return 0;

python:
    release(c);
    return -1;
}

/* Prints the state and returns the exit code, or -1 to hand over to Python
 * (nothing has been printed then). */
static int native_state(const char *root, const char *id)
{
    struct container c;
    if (load(root, id, 0, &c) < 0)
        return -1;
    struct state *s = &c.s;
    int live = strcmp(c.status, "stopped") != 0;
    struct out o = {0};
    char num[32];
    puts_(&o, "{\n  \"ociVersion\": ");
    if (s->text[F_OCI].p)
        put_span(&o, s->text[F_OCI]);
    else
        puts_(&o, "\"\"");
    puts_(&o, ",\n  \"id\": \"");
    puts_(&o, id);
    snprintf(num, sizeof(num), "\",\n  \"pid\": %lld", live ? s->pid : 0);
    puts_(&o, num);
    puts_(&o, ",\n  \"status\": \"");
    puts_(&o, c.status);
    puts_(&o, "\"");
    for (int i = F_BUNDLE; i < N_TEXT; i++)
        put_text(&o, TEXT_FIELDS[i], s->text[i]);
    if (is_object(s->annotations) &&
        skip_ws(s->annotations.p + 1, s->annotations.end)[0] != '}') {
        struct annot a = {&o, 0};
        puts_(&o, ",\n  \"annotations\": {\n");
        if (each_member(s->annotations, put_annotation, &a) < 0) {
            free(o.buf);
            release(&c);
            return -1;
        }
        puts_(&o, "\n  }");
    }
    puts_(&o, "\n}\n");
    release(&c);
    if (o.failed)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is exit 1, as in Python */
    int rc = write_all(o.buf, o.len) < 0 ? 1 : 0;
    free(o.buf);
    return rc;
}

/* ---- start: container.py's Container.start(), without poststart hooks ------ */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* The init is blocked opening exec.fifo for writing; our open let it go on.
 * Read its byte (it is about to exec), then wait for EOF: its end is
 * close-on-exec, so EOF means the program runs; "E<message>" means the
 * startContainer hooks, seccomp or the exec failed. Returns NULL on success,
 * else the error (allocated). container.py's _open_fifo_and_release. */
static char *release_init(int fifo, int pidfd)
{
    struct pollfd p[2] = {{fifo, POLLIN, 0}, {pidfd, POLLIN, 0}};
    for (;;) {
        int n = poll(p, 2, 30000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return strdup("timed out waiting for the container init to start");
        char byte;
        ssize_t r = read(fifo, &byte, 1);
        if (r == 1)
            break;
        if (r == 0 || (p[1].revents & POLLIN))
            return strdup("container init exited before it could start the process");
    }
    struct out msg = {0};
    for (;;) {
        struct pollfd q = {fifo, POLLIN, 0};
        char buf[4096];
        if (poll(&q, 1, -1) < 0 && errno != EINTR)
            break;
        ssize_t r = read(fifo, buf, sizeof(buf));
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            break;
        put(&msg, buf, (size_t)r);
    }
    char *err = NULL;
    if (msg.len && msg.buf[0] == 'E') {
        put(&msg, "", 1);
        err = strdup(msg.failed ? "container init failed to start the process" : msg.buf + 1);
    }
    free(msg.buf);
    return err;
}

/* 0, -1 to hand over to Python (nothing done yet), or it does not return
 * (an error after the init was released: reported by Python). */
static int native_start(const char *root, const char *id, int argc, char **argv)
{
    struct container c;
    if (load(root, id, 1, &c) < 0)
        return -1;
    int pidfd = -1, fifo = -1;
    /* taken before the fifo is opened: a program that exits at once and is
     * reaped by the caller is then still a success */
    if (strcmp(c.status, "created") || c.s.has_poststart ||
        (pidfd = (int)syscall(SYS_pidfd_open, (int)c.s.pid, 0)) < 0 ||
        (fifo = openat(c.dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        if (pidfd >= 0)
            close(pidfd);
        release(&c);
        return -1; /* every refusal, and the poststart hooks, are Python's */
    }
    char *err = release_init(fifo, pidfd);
    close(fifo);
    close(pidfd);
    if (err) {
        release(&c);
        exec_python(argc, argv, err);
    }
    unlinkat(c.dirfd, "exec.fifo", 0); /* the status is "running" from now */
    release(&c);
    return 0;
}

/* ---- the command line: runc's global flags, then `state ID` or `start ID` -- */

/* The flag's name (-root is --root, as in urfave/cli) without "=value" in
 * name; returns the "=value" part's value, or NULL. */
static const char *flag_name(const char *arg, char *name, size_t size)
{
    if (arg[1] != '-' && strlen(arg) > 2)
        snprintf(name, size, "-%s", arg);
    else
        snprintf(name, size, "%s", arg);
    char *eq = strchr(name, '=');
    if (!eq)
        return NULL;
    *eq = 0;
    return strchr(arg, '=') + 1;
}

/* Global flags the native path may skip (each takes a value and changes
 * nothing when `state` succeeds). Any other flag goes to Python. */
static int skippable_global(const char *name)
{
    static const char *const names[] = {"--root", "--log", "--log-format", "--rootless",
                                        "--criu"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

static int try_native(int argc, char **argv)
{
    const char *root = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        char name[64];
        const char *val = flag_name(argv[i], name, sizeof(name));
        if (!skippable_global(name))
            return -1;
        if (!val) {
            if (++i >= argc)
                return -1;
            val = argv[i];
        }
        if (!strcmp(name, "--root"))
            root = val;
        else if (!strcmp(name, "--log-format") && strcmp(val, "text") && strcmp(val, "json"))
            return -1;
    }
    if (argc - i != 2 || argv[i + 1][0] == '-')
        return -1;
    if (!root) {
        if (geteuid() != 0)
            return -1; /* the rootless default root: cli.py's _default_root */
        root = "/run/pyruntime";
    }
    if (!strcmp(argv[i], "state"))
        return native_state(root, argv[i + 1]);
    if (!strcmp(argv[i], "start"))
        return native_start(root, argv[i + 1], argc, argv);
    return -1;
}

/* The command after the global flags, or NULL if unsure. */
static const char *command_of(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        if (argv[i][0] != '-' || !argv[i][1])
            return argv[i];
        int has_value = flag_name(argv[i], name, sizeof(name)) != NULL;
        if (skippable_global(name))
            i += !has_value;
        else if (strcmp(name, "--debug") && strcmp(name, "--systemd-cgroup"))
            return NULL;
    }
    return NULL;
}

/* `create` and `run` make the runtime a child subreaper (the init, forked by
 * an intermediate process, is reparented to it). The flag survives execve:
 * set it here and tell Python (runner.set_subreaper) by this pid, so that
 * Python need not load the cffi shim for that one prctl (~0.4 MiB of create's
 * peak RSS). */
static void preset_subreaper(int argc, char **argv)
{
    const char *cmd = command_of(argc, argv);
    char pid[24];
    if (cmd && (!strcmp(cmd, "create") || !strcmp(cmd, "run")) &&
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0) {
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("PYRUNTIME_SUBREAPER", pid, 1);
    }
}

int main(int argc, char **argv)
{
    const char *off = getenv("PYRUNTIME_NO_NATIVE");
    if (!off || !*off || !strcmp(off, "0")) {
        int rc = try_native(argc, argv);
        if (rc >= 0)
            return rc;
    }
    preset_subreaper(argc, argv);
    exec_python(argc, argv, NULL);
    return 127;
}
