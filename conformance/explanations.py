"""Why a reference runtime fails a test: curated after reading the failures on this
host (runc 1.1.5, crun 1.8.1, kernel 6.18, hybrid cgroups). report.py prints these next
to every difference. Categories:

- ``bug``: the runtime breaks the statement (a real bug or a missing validation);
- ``predates``: the runtime predates the spec text (it implements an older spec
  release and ignores or rejects the newer field): not conformant to 1.3.0, not a
  defect of that release;
- ``deliberate``: a documented, intentional deviation of that runtime;
- ``host``: the host makes the statement untestable or unsatisfiable (not the runtime);
- ``reading``: our reading of the spec is debatable; the test states which reading it
  takes.
"""

E = {}


def explain(test_id, runtime, category, text):
    E.setdefault(test_id, {})[runtime] = (category, text)


def both(test_id, category, text):
    explain(test_id, "runc", category, text)
    explain(test_id, "crun", category, text)


# -- lifecycle / hooks ----------------------------------------------------------------
both("lifecycle.delete_created", "deliberate",
     "`delete` of a `created` container kills and removes it (runc and crun both do this on purpose: there is "
     "no other way to get rid of a created container without `--force`); runtime.md#delete requires an error.")
explain("hooks.poststart_timing", "runc", "bug",
        "runc ≤1.1 runs `poststart` hooks at the end of `create` (libcontainer `start()` is shared by create "
        "and run), before the user program is executed: a long-standing runc bug.")
explain("hooks.hooks_stdin_status", "runc", "bug",
        "follows from the poststart bug: the poststart hook runs during create and sees `created`.")
explain("hooks.poststart_fails", "runc", "bug",
        "the failing poststart hook runs (and fails) during `create`, see poststart_timing.")
explain("hooks.poststart_timing", "crun", "bug",
        "crun runs the poststart hooks before the container process has exec'd the user program (the "
        "process is still crun's own init).")
explain("hooks.startcontainer_fails", "runc", "bug",
        "`runc start` only releases the exec fifo and returns 0; the init runs the startContainer hooks "
        "afterwards, so a failing hook is never reported by `start`.")
explain("hooks.startcontainer_fails", "crun", "bug",
        "`crun start` returns 0 although the startContainer hook failed (the failure only kills the "
        "container).")
explain("hooks.poststart_fails", "crun", "bug",
        "`crun start` returns 0 although a poststart hook failed.")
both("hooks.poststop_after_failed_create", "bug",
     "after a failed createRuntime hook the container is torn down without running the poststop hooks "
     "(runtime.md#lifecycle step 12 -> 13).")
explain("hooks.poststop_failure_is_warning", "runc", "bug",
        "runc stops at the first failing poststop hook: the remaining poststop hooks never run (delete "
        "itself succeeds).")
both("hooks.hook_path_absolute", "bug", "no validation: a relative hook path is resolved against the cwd.")
explain("hooks.hook_timeout_zero", "crun", "bug", "no validation of `timeout > 0`.")
explain("hooks.hooks_stdin_state", "crun", "bug",
        "crun passes `bundle: \"/\"` to startContainer hooks (the path as seen after pivot_root).")
explain("hooks.hooks_stdin_status", "crun", "bug",
        "crun passes status `created` to prestart/createRuntime/createContainer hooks and `starting` (not a "
        "status defined by the spec) to startContainer hooks.")
explain("hooks.hooks_pid_container_ns", "crun", "bug",
        "crun passes `pid: 0` to hooks run in the container namespace instead of the pid as seen in the "
        "container (1).")

# -- config validation gaps ------------------------------------------------------------
both("config.annotations_empty_key", "bug", "no validation of annotation keys.")
explain("config.oci_version_not_semver", "runc", "bug", "runc does not validate `ociVersion` at all.")
explain("config.oci_version_major", "runc", "bug", "runc does not validate `ociVersion` at all.")
explain("config.invalid_value_type", "crun", "bug", "crun's parser accepts a string uid (it becomes 0).")
both("paths.masked_relative", "bug", "no validation: relative maskedPaths are used as is.")
both("paths.readonly_relative", "bug", "no validation: relative readonlyPaths are used as is.")
explain("namespaces.ns_duplicate", "crun", "bug", "crun accepts two entries of the same namespace type.")
explain("process.cwd_relative", "crun", "bug", "crun accepts a relative `cwd`.")
both("seccomp.seccomp_names_empty", "bug", "no validation: a rule with no syscall names is accepted.")
explain("seccomp.seccomp_default_errno_with_allow", "runc", "bug",
        "`defaultErrnoRet` with an action that takes no errno is silently ignored.")
explain("seccomp.seccomp_errno_with_allow", "runc", "bug",
        "`errnoRet` on a SCMP_ACT_ALLOW rule is silently ignored.")
both("seccomp.metadata_without_listener", "bug", "no validation of listenerMetadata without listenerPath.")
both("devices.devices_conflict", "bug",
     "an existing regular file at a device path is left in place (mknod's EEXIST is ignored), no error.")

# -- deliberate deviations -----------------------------------------------------------------
both("process.env_exact", "deliberate", "adds `HOME` (from /etc/passwd, else /) when `env` has none, as Docker "
     "expects.")
both("process.umask_inherited", "deliberate", "sets umask 0022 when `process.user.umask` is unset instead of "
     "keeping the caller's (SHOULD).")
both("devices.devcgroup_mknod", "deliberate",
     "always appends `c *:* m` and `b *:* m` to the device allow list (mknod is harmless without r/w), so "
     "the listed entries are not the whole list.")
explain("cgroups.memory_kernel_tcp", "runc", "deliberate",
        "runc ≥1.0 ignores kernel memory settings (`kernel`, `kernelTCP`), deprecated by the kernel; MAY-level "
        "here because the spec marks them NOT RECOMMENDED.")
both("cgroups.pids_limit_zero", "bug",
     "`pids.limit: 0` is treated as unset (no limit); the spec asks to write 0.")
both("process.caps_ungrantable_no_fail", "bug",
     "requesting CAP_SYS_RESOURCE, which this sandbox's bounding set lacks, makes capset() fail and the "
     "container with it (SHOULD NOT fail; the spec wants a warning).")

# -- not implemented in these releases (spec text newer than the runtime) ---------------------
for tid, what in (("process.scheduler_policy", "process.scheduler"), ("process.scheduler_nice", "process.scheduler"),
                  ("process.io_priority", "process.ioPriority"), ("process.domainname", "domainname"),
                  ("config.memory_policy", "linux.memoryPolicy (1.3.0)"),
                  ("config.personality_linux32", "linux.personality"),
                  ("cgroups.cpu_burst", "cpu.burst"), ("cgroups.cpu_idle", "cpu.idle"),
                  ("mounts.opt_idmap", "idmapped mounts"), ("mounts.opt_ridmap", "idmapped mounts"),
                  ("mounts.opt_idmap_no_mapping", "idmapped mounts"),
                  ("mounts.mount_uidmap_without_gidmap", "mount uid/gidMappings"),
                  ("namespaces.ns_type_time", "the time namespace"),
                  ("namespaces.time_offsets_boottime", "the time namespace"),
                  ("namespaces.ns_path_time", "the time namespace")):
    explain(tid, "runc", "predates", f"runc 1.1.5 (spec 1.0.2) does not implement {what}; the field is ignored "
            "or rejected.")
for tid in ("config.netdev_moved", "config.netdev_renamed", "config.netdev_up", "config.netdev_addresses",
            "config.netdev_name_exists"):
    both(tid, "predates", "`linux.netDevices` is new in runtime-spec 1.3.0; these releases ignore it.")
for tid, what in (("process.scheduler_policy", "process.scheduler"), ("process.scheduler_nice", "process.scheduler"),
                  ("process.io_priority", "process.ioPriority"), ("config.memory_policy", "linux.memoryPolicy"),
                  ("cgroups.cpu_burst", "cpu.burst"), ("mounts.opt_nosymfollow", "nosymfollow"),
                  ("mounts.opt_symfollow", "symfollow"), ("mounts.opt_rnosymfollow", "rnosymfollow"),
                  ("mounts.opt_rsymfollow", "rsymfollow")):
    explain(tid, "crun", "predates", f"crun 1.8.1 does not implement {what}.")
explain("config.personality_linux32", "crun", "predates", "crun 1.8.1 does not implement linux.personality.")

# -- mount options -------------------------------------------------------------------------------
explain("mounts.opt_defaults", "runc", "bug", "runc 1.1.5 passes `defaults` to the filesystem as data (EINVAL).")
explain("features.features_mount_options", "runc", "bug",
        "runc lists `defaults` in its features but passes it to mount(2) as data (EINVAL).")
for o in ("iversion", "noiversion", "loud", "silent"):
    explain(f"mounts.opt_{o}", "crun", "bug", f"crun 1.8.1 does not know `{o}` and passes it to mount(2) as data "
            "(EINVAL).")
explain("mounts.opt_ratime", "runc", "bug",
        "runc calls mount_setattr() clearing the atime bits without setting one (EINVAL).")
explain("mounts.opt_rnostrictatime", "runc", "bug",
        "runc calls mount_setattr() clearing the atime bits without setting one (EINVAL).")
for o in ("rnoatime", "ratime", "rnodiratime", "rdiratime", "rstrictatime", "rnostrictatime"):
    explain(f"mounts.opt_{o}", "crun", "bug", "crun's mount_setattr() call for the recursive atime options is "
            "rejected by the kernel (EINVAL).")
explain("mounts.opt_rrelatime", "crun", "bug", "rrelatime does not make a strictatime submount relatime; it sets "
        "`nosymfollow` on it instead (a wrong mount_setattr attribute).")
for o in ("shared", "unbindable", "rshared", "runbindable"):
    explain(f"mounts.opt_{o}", "crun", "bug", f"the `{o}` propagation option is not applied to the mount.")
explain("mounts.rootfs_prop_shared", "runc", "bug",
        "runc makes the rootfs' parent mount private before bind-mounting the rootfs (a plain directory "
        "here, as in most bundles), so `/` ends up private instead of in a new peer group.")
explain("mounts.rootfs_prop_unbindable", "runc", "bug",
        "runc marks `/` unbindable and then tries to bind-mount the rootfs from under it (EINVAL).")
explain("mounts.rootfs_prop_slave", "crun", "bug",
        "with `rootfsPropagation: slave` the container's `/` is private: it receives no mount events from "
        "the host.")

# -- cgroups -----------------------------------------------------------------------------------------
explain("cgroups.pids_limit_unlimited", "crun", "bug",
        "on cgroup v1 crun writes `-1` to pids.max, which only accepts `max` (EINVAL), and leaks the "
        "cgroups of the failed container.")
explain("cgroups.unified_missing_controller", "crun", "bug",
        "crun reports the error but leaves the container's cgroups behind (leak).")
explain("cgroups.intelrdt_without_resctrl", "crun", "bug", "crun ignores `intelRdt` when resctrl is not mounted.")

# -- time namespace on crun ---------------------------------------------------------------------------
for tid in ("namespaces.ns_type_time", "namespaces.time_offsets_boottime", "namespaces.ns_path_time"):
    explain(tid, "crun", "bug", "crun 1.8.1's container process dies while it sets up the time namespace "
            "(`write to sync socket: Connection reset by peer`), both new and joined by path; not investigated "
            "further.")

CATEGORY = {"bug": "bug", "predates": "not implemented (predates the spec text)", "deliberate": "deliberate deviation",
            "host": "host limit", "reading": "spec reading"}
