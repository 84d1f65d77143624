/* The bpf(2) calls pyruntime's cgroup v2 device controller needs: load a
 * BPF_PROG_TYPE_CGROUP_DEVICE program (whose instructions Python generates, see
 * pyruntime/cgroups/devicefilter.py), attach it to a cgroup directory, list and
 * detach the programs already attached there.
 *
 * Every function returns -errno on failure (never sets a global), like shim.c.
 * Compiled as its own translation unit into pyruntime._shim (see _shim_build.py);
 * the declarations Python sees are in ebpf.cdef. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#ifndef BPF_F_ALLOW_MULTI
#define BPF_F_ALLOW_MULTI (1U << 1)
#endif

static long pyrt_bpf(int cmd, union bpf_attr *attr)
{
    long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
    return r < 0 ? -errno : r;
}

/* Load `insn_cnt` 8-byte instructions as a cgroup device program. On failure
 * the verifier's log (if log_buf/log_size given) explains why. Returns the
 * program fd (O_CLOEXEC) or -errno. */
int pyrt_ebpf_load_cgroup_dev(const char *insns, uint32_t insn_cnt, const char *license,
                              char *log_buf, uint32_t log_size)
{
    union bpf_attr attr;
    long r;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = insn_cnt;
    attr.license = (uint64_t)(uintptr_t)license;
    r = pyrt_bpf(BPF_PROG_LOAD, &attr);
    if (r == -EACCES || r == -EINVAL) {
        if (log_buf != NULL && log_size > 0) {
            /* again, with the verifier's log: it says which instruction is wrong */
            log_buf[0] = '\0';
            attr.log_level = 1;
            attr.log_buf = (uint64_t)(uintptr_t)log_buf;
            attr.log_size = log_size;
            long r2 = pyrt_bpf(BPF_PROG_LOAD, &attr);
            if (r2 >= 0)
                return (int)r2;
        }
    }
    return (int)r;
}

/* Attach program `prog_fd` to the cgroup open at `cgroup_fd` as a
 * BPF_CGROUP_DEVICE program with `flags` (BPF_F_ALLOW_MULTI normally).
 * 0 or -errno. */
int pyrt_ebpf_attach_cgroup_dev(int prog_fd, int cgroup_fd, uint32_t flags)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cgroup_fd;
    attr.attach_bpf_fd = prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = flags;
    return (int)pyrt_bpf(BPF_PROG_ATTACH, &attr);
}

/* Detach program `prog_fd` (a BPF_CGROUP_DEVICE program) from `cgroup_fd`.
 * 0 or -errno. */
int pyrt_ebpf_detach_cgroup_dev(int prog_fd, int cgroup_fd)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cgroup_fd;
    attr.attach_bpf_fd = prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    return (int)pyrt_bpf(BPF_PROG_DETACH, &attr);
}

/* The ids of the BPF_CGROUP_DEVICE programs attached directly to `cgroup_fd`
 * (not inherited ones): at most *count ids are stored in ids[]; *count is set
 * to the number attached and *attach_flags to the flags they were attached
 * with. 0 or -errno (-ENOSPC: ids[] too small; *count says how many). */
int pyrt_ebpf_query_cgroup_dev(int cgroup_fd, uint32_t *ids, uint32_t *count,
                               uint32_t *attach_flags)
{
    union bpf_attr attr;
    long r;

    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = *count;
    r = pyrt_bpf(BPF_PROG_QUERY, &attr);
    *count = attr.query.prog_cnt;
    *attach_flags = attr.query.attach_flags;
    return (int)r;
}

/* An fd (O_CLOEXEC) for the loaded program with id `id`, or -errno. */
int pyrt_ebpf_prog_fd_by_id(uint32_t id)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    return (int)pyrt_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}
