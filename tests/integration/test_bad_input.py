"""Bad input: a one-line error on stderr that names the problem, a non-zero exit,
never a Python traceback, and nothing left behind (the autouse leak checker
looks for state dir entries, mounts, cgroups and processes after each test)."""
from __future__ import annotations

import os

import pytest

from support.checks import assert_one_line_error, pid_alive, wait_file


def assert_nothing_left(rt):
    assert os.listdir(rt.root) == [], f"state left under --root: {os.listdir(rt.root)}"


def _create_fails(rt, bundle_path, cid, *patterns):
    res = rt("create", "--bundle", bundle_path, cid)
    line = assert_one_line_error(res, *patterns)
    assert res.out == "", f"stdout must stay empty on error: {res!r}"
    assert rt.status(cid) is None, "a failed create left a container behind"
    assert_nothing_left(rt)
    return line


def test_no_config_json(rt, make_bundle, new_id):
    b = make_bundle(["true"], config=False)
    _create_fails(rt, b.path, new_id("nocfg"), r"config\.json", r"no such file")


def test_bundle_dir_missing(rt, testdir, new_id):
    _create_fails(rt, os.path.join(testdir, "no-such-bundle"), new_id("nob"),
                  r"no such file", r"not exist", r"bundle")


def test_invalid_json(rt, make_bundle, new_id):
    b = make_bundle(["true"])
    with open(b.config_path, "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {bad json')
    _create_fails(rt, b.path, new_id("badjson"),
                  r"json", r"config", r"invalid character", r"parse", r"decod", r"syntax",
                  r"expecting")


def test_config_not_an_object(rt, make_bundle, new_id):
    b = make_bundle(["true"])
    with open(b.config_path, "w") as f:
        f.write('["not", "an", "object"]')
    _create_fails(rt, b.path, new_id("arr"), r"json", r"config", r"unmarshal", r"object",
                  r"invalid")


@pytest.mark.parametrize("args", [[], "sh -c true", [1, 2]], ids=["empty", "string", "ints"])
def test_process_args_invalid(rt, make_bundle, new_id, args):
    b = make_bundle(["true"])
    b.edit(lambda c: c["process"].update(args=args))
    _create_fails(rt, b.path, new_id("args"), r"args")


def test_missing_rootfs_dir(rt, make_bundle, new_id):
    b = make_bundle(["true"], rootfs=False)
    _create_fails(rt, b.path, new_id("norootfs"), r"rootfs", r"root\b", r"no such file")


def test_duplicate_id(rt, make_bundle, new_id):
    b1 = make_bundle(["sh", "-c", "echo x >> /shared/starts; exec sleep 1000"], shared=True)
    b2 = make_bundle(["true"])
    cid = new_id("dup")
    assert rt("create", "--bundle", b1.path, cid).rc == 0
    before = rt.state(cid)
    res = rt("create", "--bundle", b2.path, cid)
    assert_one_line_error(res, r"exist", r"already", r"in use", r"duplicate")
    after = rt.state(cid)
    assert after == before, "the first container was changed by the failed create"
    assert pid_alive(before["pid"])
    assert os.listdir(rt.root) == [cid]
    # the first container still starts normally
    assert rt("start", cid).rc == 0
    assert wait_file(b1.shared_file("starts")) == "x\n"
    assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("cid", ["../x", "a/b", "", "/abs", "..", "x" * 300],
                         ids=["dotdot-x", "slash", "empty", "abs", "dotdot", "too-long"])
def test_invalid_container_id(rt, make_bundle, cid):
    b = make_bundle(["true"])
    res = rt("create", "--bundle", b.path, cid)
    assert_one_line_error(res, r"\bid\b", r"invalid", r"too long", r"empty", r"name")
    assert_nothing_left(rt)
    # nothing was created next to the state dir either ("../x")
    assert not os.path.exists(os.path.join(os.path.dirname(rt.root), "x"))


def test_missing_container_id(rt, make_bundle):
    b = make_bundle(["true"])
    res = rt("create", "--bundle", b.path)
    assert_one_line_error(res, r"\bid\b", r"argument", r"usage", r"requires", r"missing",
                          r"container")
    assert_nothing_left(rt)


@pytest.mark.parametrize("sig", ["FOO", "SIGNOPE", "TERMX"])
def test_unknown_signal(rt, make_bundle, new_id, sig):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("sig")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    before = rt.state(cid)
    res = rt("kill", cid, sig)
    assert_one_line_error(res, r"signal")
    assert rt.state(cid) == before
    assert pid_alive(before["pid"])
    assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill"], ["kill", "--all"],
                                 ["delete"]],
                         ids=lambda c: "-".join(c))
def test_unknown_container(rt, new_id, cmd):
    res = rt(*cmd, new_id("ghost"))
    assert_one_line_error(res, r"does not exist")
    assert res.out == ""
    assert_nothing_left(rt)


@pytest.mark.parametrize("prog,patterns", [
    ("no-such-program", (r"executable file not found",)),
    ("/no/such/program", (r"no such file or directory",)),
], ids=["path-lookup", "absolute"])
def test_missing_executable(rt, make_bundle, new_id, prog, patterns):
    """podman maps these texts to exit 127."""
    b = make_bundle([prog])
    _create_fails(rt, b.path, new_id("noexec"), *patterns)


def test_missing_executable_with_run(rt, make_bundle, new_id):
    b = make_bundle(["no-such-program"])
    cid = new_id("noexecrun")
    res = rt("run", "--bundle", b.path, cid)
    assert_one_line_error(res, r"executable file not found")
    assert rt.status(cid) is None
    assert_nothing_left(rt)


def test_terminal_without_console_socket(rt, make_bundle, new_id):
    b = make_bundle(["sh"], terminal=True)
    _create_fails(rt, b.path, new_id("tty"), r"console", r"tty", r"terminal")


def test_console_socket_that_does_not_exist(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id("nosock")
    res = rt("create", "--bundle", b.path, "--console-socket",
             os.path.join(testdir, "no-such.sock"), cid)
    assert_one_line_error(res, r"console", r"socket", r"no such file", r"connect")
    assert rt.status(cid) is None
    assert_nothing_left(rt)


def test_unknown_subcommand(rt):
    res = rt("frobnicate")
    assert res.rc != 0
    assert "Traceback" not in res.err + res.out
    assert "frobnicate" in res.err + res.out


def test_unknown_flag(rt, new_id):
    res = rt("state", "--no-such-flag", new_id("f"))
    assert res.rc != 0
    assert "Traceback" not in res.err + res.out
    assert "no-such-flag" in res.err + res.out
