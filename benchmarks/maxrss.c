/* maxrss: run a command and report its peak RSS.
 *
 *     maxrss PROGRAM [ARGS...]
 *
 * Forks, execs PROGRAM, waits for it with wait4() and prints
 * "PYRTBENCH_MAXRSS=<ru_maxrss in KiB>" on stderr; exits with the command's
 * status.  ru_maxrss covers the command and every descendant it waited for.
 *
 * Why a C wrapper: the benchmark driver is a ~20 MiB Python process that
 * spawns with posix_spawn (vfork); exec() records the *old* mm's high-water
 * RSS into the child's maxrss, so anything spawned straight from the driver
 * reports at least the driver's own size.  Forked from this small static
 * program, the figure is the command's own (floor: this wrapper's few pages).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: maxrss PROGRAM [ARGS...]\n", stderr);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 126;
    }
    if (pid == 0) {
        execv(argv[1], argv + 1);
        perror("execv");
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) {
        perror("wait4");
        return 126;
    }
    fprintf(stderr, "\nPYRTBENCH_MAXRSS=%ld\n", ru.ru_maxrss);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}
