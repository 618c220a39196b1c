# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests of `fakevfio run`: the launcher, the private mount
namespace, the fake sysfs and /dev/vfio nodes, and that nothing is left on
the host afterwards, whichever way the run ends.

Every fakevfio runs in a session (and process group) of its own, which the
test owns: the `fv` fixture kills whatever is left in it at teardown and
fails the test if a finished run left processes behind.  The autouse
`host_unchanged` fixture checks after every test that the host has no new
mount, /dev entry or /tmp entry.
"""
import errno
import glob
import json
import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

PY = sys.executable or "/usr/bin/python3"

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="fakevfio run needs root (mount namespaces)")


# ---- helpers ---------------------------------------------------------------

def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def group_members(pgid):
    """Live (non-zombie) processes of process group pgid."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(stat.split("/")[2]))
    return found


def host_snapshot():
    with open("/proc/self/mountinfo") as f:
        mounts = [l for l in f if "fakevfio" in l or "fuse" in l or " /dev/vfio " in l]
    return {
        "mounts": mounts,
        "dev": sorted(os.listdir("/dev")),
        "tmp": sorted(glob.glob("/tmp/fakevfio*")),
        "pci": sorted(os.listdir("/sys/bus/pci/devices")),
        "groups": sorted(os.listdir("/sys/kernel/iommu_groups")),
    }


def read(path):
    with open(path) as f:
        return f.read()


class Run:
    """One fakevfio process; stdout/stderr go to files in tmp_path."""

    def __init__(self, argv, tmp_path, n, stdin, popen):
        self.out_path = tmp_path / f"fv{n}.out"
        self.err_path = tmp_path / f"fv{n}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err,
                                      start_new_session=True, **popen)
        self.pid = self.p.pid

    @property
    def out(self):
        return read(self.out_path)

    @property
    def err(self):
        return read(self.err_path)

    def wait(self, timeout=30):
        return self.p.wait(timeout=timeout)


# Known noise: lspci on a host without modules; gcov (coverage builds) when
# the process may not write its counters.
NOISE = re.compile(r"^(lspci: Unable to load libkmod resources: error -2|profiling:.*)\n",
                   re.M)


def clean_err(text):
    return NOISE.sub("", text)


@pytest.fixture(autouse=True)
def host_unchanged():
    before = host_snapshot()
    yield
    after = host_snapshot()
    assert after == before, "the host changed"


@pytest.fixture
def fv(build, tmp_path):
    """fv(*args) starts `fakevfio ARGS` (fv(argv=[...]): any command; other
    keywords go to Popen) and returns a Run; fv.run(*args) also waits and
    returns (status, stdout, stderr)."""
    binary = str(build / "bin" / "fakevfio")
    runs = []

    def start(*args, stdin=subprocess.DEVNULL, argv=None, **popen):
        r = Run(argv or [binary, *args], tmp_path, len(runs), stdin, popen)
        runs.append(r)
        return r

    def run(*args, timeout=30, **popen):
        r = start(*args, **popen)
        status = r.wait(timeout)
        return status, r.out, r.err

    start.run = run
    start.binary = binary
    yield start

    leaked = []
    for r in runs:
        finished = r.p.poll() is not None
        if finished:
            # Orphans may take a moment to go; then none may remain.
            try:
                wait_for(lambda: not group_members(r.pid), 3, "the group to empty")
            except AssertionError:
                leaked += group_members(r.pid)
        try:
            os.killpg(r.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        r.p.wait(10)
        wait_for(lambda: not group_members(r.pid), 10, "killed processes to go")
    assert not leaked, f"processes left behind: {leaked}"


def script(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def run_json(fv, tmp_path, text, *args):
    """`fakevfio run ARGS -- python3 SCRIPT` (text): it must succeed
    silently; what the script printed, parsed as JSON."""
    prog = script(tmp_path, "cmd.py", text)
    status, out, err = fv.run("run", *args, "--", PY, prog)
    assert (status, err) == (0, "")
    return json.loads(out)


# ---- the command line ------------------------------------------------------

def test_help(fv):
    for args in (["--help"], ["-h"], ["run", "--help"], ["run", "--device", "dma-test@1:0.0", "-h"]):
        status, out, err = fv.run(*args)
        assert status == 0 and err == ""
        assert out.startswith("Usage: fakevfio run [OPTIONS] -- CMD [ARGS...]\n")
        assert "--device MODEL@BDF[,group=N][,key=val...]" in out
        assert "numbered from 100 up" in out
        assert "Models: chelsio-t5-vf, dma-test, profile\n" in out


MODELS = "chelsio-t5-vf, dma-test, profile"


@pytest.mark.parametrize("args,msg", [
    ([], "missing command (try 'fakevfio --help')"),
    (["foo"], "unknown command 'foo' (try 'fakevfio --help')"),
    (["run"], "missing '--' and the command to run"),
    (["run", "--device", "dma-test@1:0.0"], "missing '--' and the command to run"),
    (["run", "--"], "missing the command to run after '--'"),
    (["run", "true"], "missing '--' before the command 'true'"),
    (["run", "--bogus", "--", "true"], "unknown option '--bogus'"),
    (["run", "--devices=x", "--", "true"], "unknown option '--devices=x'"),
    (["run", "--device"], "option '--device' needs an argument"),
    (["run", "--device", "dma-test", "--", "true"],
     "--device 'dma-test': expected MODEL@BDF[,group=N][,key=val...]"),
    (["run", "--device", "@01:00.0", "--", "true"],
     "--device '@01:00.0': missing model name before '@'"),
    (["run", "--device", "dma-test@", "--", "true"],
     "--device 'dma-test@': missing BDF after '@'"),
    (["run", "--device", "dma-test@,group=3", "--", "true"],
     "--device 'dma-test@,group=3': missing BDF after '@'"),
    (["run", "--device", "dma-test@1:2:3:4", "--", "true"],
     "bad BDF '1:2:3:4': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@03:00", "--", "true"],
     "bad BDF '03:00': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@0000.03:00.0", "--", "true"],
     "bad BDF '0000.03:00.0': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@03:0g.0", "--", "true"],
     "bad BDF '03:0g.0': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@03:00.0x", "--", "true"],
     "bad BDF '03:00.0x': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@123456789:00:00.0", "--", "true"],
     "bad BDF '123456789:00:00.0': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"),
    (["run", "--device", "dma-test@10000:00:00.0", "--", "true"],
     "bad BDF '10000:00:00.0': domain 0x10000 is out of range (0000-ffff)"),
    (["run", "--device", "dma-test@100:00.0", "--", "true"],
     "bad BDF '100:00.0': bus 0x100 is out of range (00-ff)"),
    (["run", "--device", "dma-test@00:20.0", "--", "true"],
     "bad BDF '00:20.0': device 0x20 is out of range (00-1f)"),
    (["run", "--device", "dma-test@00:1f.8", "--", "true"],
     "bad BDF '00:1f.8': function 8 is out of range (0-7)"),
    (["run", "--device", "nosuch@00:01.0", "--", "true"],
     f"--device 'nosuch@00:01.0': unknown model 'nosuch' (known models: {MODELS})"),
    (["run", "--device", "dma-test@00:01.0,group=", "--", "true"], "group= needs a number"),
    (["run", "--device", "dma-test@00:01.0,group", "--", "true"], "group= needs a number"),
    (["run", "--device", "dma-test@00:01.0,group=x", "--", "true"],
     "bad group 'x': expected a decimal number 0-2147483647"),
    (["run", "--device", "dma-test@00:01.0,group=-1", "--", "true"],
     "bad group '-1': expected a decimal number 0-2147483647"),
    (["run", "--device", "dma-test@00:01.0,group=2147483648", "--", "true"],
     "bad group '2147483648': expected a decimal number 0-2147483647"),
    (["run", "--device", "dma-test@00:01.0,group=" + "9" * 40, "--", "true"],
     "bad group '" + "9" * 40 + "': expected a decimal number 0-2147483647"),
    (["run", "--device", "dma-test@00:01.0,group=1,group=2", "--", "true"], "group= given twice"),
    (["run", "--device", "dma-test@00:01.0,,flr=on", "--", "true"],
     "empty parameter after 'dma-test@00:01.0,'"),
    (["run", "--device", "dma-test@00:01.0,flr=on,", "--", "true"],
     "empty parameter after 'dma-test@00:01.0,flr=on,'"),
    (["run", "--platform"], "option '--platform' needs an argument"),
    (["run", "--platform", "pseries,tce=v9", "--", "true"],
     "--platform 'pseries,tce=v9': expected pseries,tce=v1|v2|both"),
    (["run", "--platform=arm", "--", "true"], "--platform 'arm': unknown platform (x86 or pseries)"),
    (["run", "--topology", "a", "--topology=b", "--", "true"], "--topology given twice"),
    (["run", "--topology"], "option '--topology' needs an argument"),
    (["run", "--topology=", "--", "true"], "--topology needs a file name"),
    (["run", "--trace=t.log", "--trace", "u.log", "--", "true"], "--trace given twice"),
    (["run", "--trace", ""], "--trace needs a file name"),
])
def test_bad_option(fv, args, msg):
    status, out, err = fv.run(*args)
    assert status == 125
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("fakevfio: ") and first.endswith(msg), err
    if "BDF" in msg or "group" in msg or "parameter" in msg:
        assert first.startswith("fakevfio: --device '"), err
    if args and args[0] == "run":
        assert err.endswith("\nTry 'fakevfio --help'.\n")


PROFILES = {
    # A BAR and an enabled ROM the model placed itself, outside the windows.
    "placed": """\
        profile 1
        vendor 0x1234
        device 0x5678
        class 0xff0000
        bar 0 mem32 size=0x1000 addr=0xd0000000
        rom size=0x800
        config 0x030: 01 00 01 d0
        """,
    # 1 GiB does not fit the 32-bit window.
    "big": """\
        profile 1
        vendor 0x1234
        device 0x5679
        bar 0 mem32 size=0x40000000
        """,
    # BARs that fill the 32-bit window; the ROM finds no room.
    "full": """\
        profile 1
        vendor 0x1234
        device 0x567a
        bar 0 mem32 size=0x10000000
        bar 1 mem32 size=0x8000000
        bar 2 mem32 size=0x4000000
        bar 3 mem32 size=0x2000000
        rom size=0x1000000
        """,
}


def profile(tmp_path, name):
    return script(tmp_path, name + ".profile", PROFILES[name])


@pytest.mark.parametrize("specs,msg", [
    # Errors of the model itself (sim_model_create), after parsing.
    (["dma-test@00:01.0,colour=red"],
     "fakevfio: --device 'dma-test@00:01.0,colour=red': model dma-test has no parameter 'colour'\n"),
    (["dma-test@00:01.0,msi_vectors=3"],
     "fakevfio: --device 'dma-test@00:01.0,msi_vectors=3': dma-test: parameter msi_vectors=3: "),
    (["profile@00:01.0"], "fakevfio: --device 'profile@00:01.0': parameter file=PATH is required"),
    (["dma-test@00:01.0", "chelsio-t5-vf@0000:00:01.0"],
     "fakevfio: --device 'chelsio-t5-vf@0000:00:01.0': 0000:00:01.0 is already taken by a dma-test device\n"),
    (["profile@1:0.0,file={big}"],
     "fakevfio: 0000:01:00.0: no room for BAR0 (0x40000000 bytes) in the 32-bit memory window\n"),
    (["profile@1:0.0,file={full}"],
     "fakevfio: 0000:01:00.0: no room for ROM (0x1000000 bytes) in the 32-bit memory window\n"),
])
def test_model_errors(fv, tmp_path, specs, msg):
    args = []
    for spec in specs:
        args += ["--device", spec.format(big=profile(tmp_path, "big"),
                                         full=profile(tmp_path, "full"))]
    status, out, err = fv.run("run", *args, "--", "true")
    assert status == 125 and out == ""
    assert err.startswith(msg), err
    assert "Try 'fakevfio --help'" not in err


def test_model_parameters_and_group(fv, tmp_path):
    res = run_json(fv, tmp_path, INSPECT, "--platform=x86", "--device",
                   "dma-test@1:0.0,msi_vectors=2,group=7,msix_vectors=0")
    assert res["groups"] == ["7"]
    cfg = bytes.fromhex(res["0000:01:00.0"]["config"])
    assert cfg[0x52] & 0x0e == 0x02         # MSI: 2 vectors (Multiple Message Capable 1)
    assert cfg[0x71] != 0xb0                # no MSI-X capability after Express


def test_placed_bars_are_kept(fv, tmp_path):
    """BARs the model placed (a captured profile keeps its machine's
    addresses) stay unless they collide; the ROM enable bit shows."""
    prof = profile(tmp_path, "placed")
    res = inspect(fv, tmp_path, f"profile@1:0.0,file={prof}", f"profile@2:0.0,file={prof}")
    first = resource_lines(res["0000:01:00.0"]["resource"])
    second = resource_lines(res["0000:02:00.0"]["resource"])
    assert first[0] == (0xd0000000, 0xd0000fff, 0x40200)
    assert first[6] == (0xd0010000, 0xd00107ff, 0x46201)
    assert second[0] == (0xe0000000, 0xe0000fff, 0x40200)
    assert second[6] == (0xe0001000, 0xe00017ff, 0x46201)
    cfg = bytes.fromhex(res["0000:02:00.0"]["config"])
    assert int.from_bytes(cfg[0x30:0x34], "little") == 0xe0001001


def test_command_not_runnable(fv, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    garbage.chmod(0o755)
    noexec = tmp_path / "noexec"
    noexec.write_text("#!/bin/sh\n")
    noexec.chmod(0o644)
    cases = [
        (["nosuch-command-xyz"], 127, "fakevfio: nosuch-command-xyz: command not found\n"),
        ([str(tmp_path / "nosuch")], 127, f"fakevfio: cannot run '{tmp_path}/nosuch': No such file or directory\n"),
        ([str(noexec)], 126, f"fakevfio: cannot run '{noexec}': Permission denied\n"),
        ([str(tmp_path)], 126, f"fakevfio: cannot run '{tmp_path}': Is a directory\n"),
        ([""], 127, "fakevfio: the command is an empty string\n"),
        # Passes the checks, fails in execve (in the child, after the mounts).
        ([str(garbage)], 126, f"fakevfio: cannot run '{garbage}': Exec format error\n"),
    ]
    for cmd, code, msg in cases:
        status, out, err = fv.run("run", "--device", "dma-test@1:0.0", "--", *cmd)
        assert (status, out, err) == (code, "", msg)


def test_path_default_and_not_executable(fv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    status, out, err = fv.run("run", "--", "sh", "-c", "echo $0", env=env)
    assert (status, out, err) == (0, "sh\n", "")       # execvp's /bin:/usr/bin
    d = tmp_path / "bin"
    d.mkdir()
    (d / "mycmd").write_text("#!/bin/sh\n")            # not executable
    (d / "mydir").mkdir()
    env["PATH"] = f"{d}:/nonexistent"
    for cmd in ("mycmd", "mydir"):
        status, out, err = fv.run("run", "--", cmd, env=env)
        assert (status, out, err) == (126, "", f"fakevfio: cannot run '{cmd}': Permission denied\n")


def test_not_root(fv, tmp_path):
    status, out, err = fv.run("run", "--device", "dma-test@1:0.0", "--", "true",
                              user=65534, group=65534, extra_groups=[])
    assert (status, out) == (125, "")
    assert clean_err(err) == ("fakevfio: cannot create a mount namespace: Operation not permitted "
                   "(fakevfio run needs CAP_SYS_ADMIN: run it as root)\n")


def test_path_search(fv, tmp_path):
    tool = tmp_path / "bin" / "mytool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho \"mytool $*\"\n")
    tool.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"/nonexistent:{tmp_path}:{tool.parent}:{old}"
    try:
        status, out, err = fv.run("run", "--", "mytool", "a", "b c")
    finally:
        os.environ["PATH"] = old
    assert (status, out, err) == (0, "mytool a b c\n", "")


# ---- exit status and signals ----------------------------------------------

@pytest.mark.parametrize("code", [0, 3, 255])
def test_exit_status(fv, code):
    status, out, err = fv.run("run", "--device", "dma-test@3:0.0", "--",
                              "sh", "-c", f"echo hi; echo oops >&2; exit {code}")
    assert (status, out, err) == (code, "hi\n", "oops\n")


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL])
def test_killed_by_signal(fv, sig):
    status, out, err = fv.run("run", "--device", "dma-test@3:0.0", "--",
                              PY, "-c", f"import os; os.kill(os.getpid(), {int(sig)})")
    assert (status, out, err) == (128 + sig, "", "")


TRAP = """\
import os, signal, sys, time
sig, out = int(sys.argv[1]), sys.argv[2]
def handler(s, frame):
    with open(out, "a") as f:
        f.write(f"got {s} pgid-same {os.getpgrp() == os.getpgid(os.getppid())}\\n")
    sys.exit(40 + s)
signal.signal(sig, handler)
with open(out, "a") as f:
    f.write("ready\\n")
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_signal_forwarded(fv, tmp_path, sig):
    trap = script(tmp_path, "trap.py", TRAP)
    log = tmp_path / "log"
    r = fv("run", "--device", "dma-test@3:0.0", "--", PY, trap, str(int(sig)), str(log))
    wait_for(lambda: log.exists() and "ready" in read(log), what="CMD ready")
    os.kill(r.pid, sig)
    assert r.wait() == 40 + sig
    # Delivered once, to CMD, which runs in fakevfio's process group.
    assert read(log) == f"ready\ngot {int(sig)} pgid-same True\n"
    assert r.err == ""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_signal_default_action(fv, tmp_path, sig):
    r = fv("run", "--", "sh", "-c", "echo ready; exec sleep 30")
    wait_for(lambda: r.out == "ready\n", what="CMD ready")
    time.sleep(0.05)    # sh has exec'd sleep
    os.kill(r.pid, sig)
    assert r.wait() == 128 + sig


COUNT_INT = """\
import signal, sys, time
out = sys.argv[1]
hits = []
signal.signal(signal.SIGINT, lambda s, f: hits.append(s))
with open(out, "w") as f:
    f.write("ready\\n")
while not hits:
    time.sleep(0.01)
time.sleep(0.5)     # a second (forwarded) SIGINT would arrive by now
sys.exit(len(hits))
"""


def test_terminal_interrupt_delivered_once(fv, tmp_path):
    """^C on a terminal reaches CMD once: fakevfio does not forward a signal
    the terminal already sent to the whole foreground process group."""
    prog = script(tmp_path, "count.py", COUNT_INT)
    log = tmp_path / "log"
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execv(fv.binary, [fv.binary, "run", "--", PY, prog, str(log)])
        finally:
            os._exit(99)
    try:
        wait_for(lambda: log.exists() and read(log) == "ready\n", what="CMD ready")
        os.write(master, b"\x03")
        end = time.monotonic() + 10
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() < end, "fakevfio did not exit"
            try:
                os.read(master, 4096)   # keep the terminal drained
            except OSError:
                pass
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 1
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(master)
        wait_for(lambda: not group_members(pid), 10, "the pty session to end")


# ---- what CMD sees ---------------------------------------------------------

INSPECT = """\
import errno, fcntl, json, mmap, os, sys
res = {}
def attempt(f):
    try:
        return f()
    except OSError as e:
        return errno.errorcode[e.errno]
D = "/sys/bus/pci/devices"
res["devices"] = sorted(os.listdir(D))
res["groups"] = sorted(os.listdir("/sys/kernel/iommu_groups"), key=int)
res["dev_vfio"] = sorted(os.listdir("/dev/vfio"))
res["drivers"] = sorted(os.listdir("/sys/bus/pci/drivers"))
res["vfio_pci"] = {b: os.readlink("/sys/bus/pci/drivers/vfio-pci/" + b)
                   for b in sorted(os.listdir("/sys/bus/pci/drivers/vfio-pci"))}
res["isdir_vfio"] = os.path.isdir("/dev/vfio")
res["dev_null"] = attempt(lambda: open("/dev/null", "w").write("x"))
res["pts_mounted"] = os.path.ismount("/dev/pts")
for b in res["devices"]:
    d = {}
    p = D + "/" + b
    d["entries"] = sorted(os.listdir(p))
    for a in ["vendor", "device", "subsystem_vendor", "subsystem_device", "class",
              "revision", "irq", "numa_node", "modalias", "resource"]:
        d[a] = open(p + "/" + a).read()
    for l in ["iommu_group", "driver", "subsystem"]:
        d[l] = os.readlink(p + "/" + l)
        d[l + "_real"] = os.path.realpath(p + "/" + l)
    st = os.stat(p + "/config")
    d["config_size"] = st.st_size
    d["config_mode"] = oct(st.st_mode)
    d["vendor_size"] = os.stat(p + "/vendor").st_size
    d["vendor_mode"] = oct(os.stat(p + "/vendor").st_mode)
    with open(p + "/config", "rb") as f:
        d["config"] = f.read().hex()
    # Reads at an offset, short at the end, empty past it.
    fd = os.open(p + "/config", os.O_RDONLY)
    d["config_tail"] = os.pread(fd, 64, st.st_size - 2).hex()
    d["config_past"] = os.pread(fd, 64, st.st_size + 10).hex()
    os.close(fd)
    fd = os.open(p + "/vendor", os.O_RDONLY)
    d["vendor_at_2"] = os.pread(fd, 100, 2).decode()
    d["vendor_past"] = os.pread(fd, 100, 4000).decode()
    os.close(fd)
    d["vendor_write"] = attempt(lambda: os.open(p + "/vendor", os.O_WRONLY))
    d["vendor_ioctl"] = attempt(lambda: fcntl.ioctl(os.open(p + "/vendor", os.O_RDONLY), 0x3b64))
    d["nosuch"] = attempt(lambda: os.stat(p + "/nosuch"))
    g = "/sys/kernel/iommu_groups/" + d["iommu_group"].rsplit("/", 1)[1]
    d["group_devices"] = {x: os.readlink(g + "/devices/" + x)
                          for x in sorted(os.listdir(g + "/devices"))}
    d["group_devices_real"] = sorted(os.path.realpath(g + "/devices/" + x)
                                     for x in os.listdir(g + "/devices"))
    res[b] = d
json.dump(res, sys.stdout)
"""

T5_RESOURCE_FLAGS = {0: 0x140204, 2: 0x14220c, 4: 0x140204}


def inspect(fv, tmp_path, *devices):
    return run_json(fv, tmp_path, INSPECT, *(a for d in devices for a in ("--device", d)))


def resource_lines(text):
    lines = text.splitlines()
    assert len(lines) == 13
    res = []
    for l in lines:
        assert re.fullmatch(r"0x[0-9a-f]{16} 0x[0-9a-f]{16} 0x[0-9a-f]{16}", l), l
        res.append(tuple(int(x, 16) for x in l.split()))
    return res


def test_client_sees_fake_tree(fv, tmp_path):
    res = inspect(fv, tmp_path, "dma-test@0000:03:00.0", "chelsio-t5-vf@4:0.1,group=26",
                  "dma-test@0000:05:01.0")
    assert res["devices"] == ["0000:03:00.0", "0000:04:00.1", "0000:05:01.0"]
    assert res["groups"] == ["26", "100", "101"]
    assert res["dev_vfio"] == ["100", "101", "26", "vfio"]
    assert res["drivers"] == ["vfio-pci"]
    assert res["vfio_pci"] == {b: "../../devices/" + b for b in res["devices"]}
    assert res["isdir_vfio"] and res["pts_mounted"] and res["dev_null"] == 1

    dma = res["0000:03:00.0"]
    assert dma["entries"] == ["class", "config", "device", "driver", "iommu_group", "irq",
                              "modalias", "numa_node", "resource", "revision", "subsystem",
                              "subsystem_device", "subsystem_vendor", "vendor"]
    assert (dma["vendor"], dma["device"]) == ("0x1b36\n", "0x11f0\n")
    assert (dma["subsystem_vendor"], dma["subsystem_device"]) == ("0x1b36\n", "0x0001\n")
    assert (dma["class"], dma["revision"]) == ("0x00ff00\n", "0x01\n")
    assert dma["modalias"] == "pci:v00001B36d000011F0sv00001B36sd00000001bc00scFFi00\n"
    assert dma["numa_node"] == "-1\n"
    # Pin A of slot 0 -> IOAPIC pin 16, also in the Interrupt Line register.
    assert dma["irq"] == "16\n"
    cfg = bytes.fromhex(dma["config"])
    assert len(cfg) == 4096 == dma["config_size"]
    assert (cfg[0x3c], cfg[0x3d]) == (16, 1)
    assert cfg[0:4] == bytes.fromhex("361bf011")
    assert dma["config_tail"] == cfg[-2:].hex() and dma["config_past"] == ""
    assert dma["config_mode"] == oct(0o100644) and dma["vendor_mode"] == oct(0o100444)
    assert dma["vendor_size"] == 4096
    assert (dma["vendor_at_2"], dma["vendor_past"]) == ("1b36\n", "")
    assert dma["vendor_write"] == "EACCES" and dma["vendor_ioctl"] == "ENOTTY"
    assert dma["nosuch"] == "ENOENT"
    # Links: the kernel's basenames, resolving inside the fake trees.
    assert dma["iommu_group"] == "../../../../kernel/iommu_groups/100"
    assert dma["iommu_group_real"] == "/sys/kernel/iommu_groups/100"
    assert dma["driver"] == "../../../../bus/pci/drivers/vfio-pci"
    assert dma["driver_real"] == "/sys/bus/pci/drivers/vfio-pci"
    assert dma["subsystem"] == "../../../../bus/pci" and dma["subsystem_real"] == "/sys/bus/pci"
    assert dma["group_devices"] == {"0000:03:00.0": "../../../../bus/pci/devices/0000:03:00.0"}
    assert dma["group_devices_real"] == ["/sys/bus/pci/devices/0000:03:00.0"]
    # BAR0 mem32 4K, BAR1 I/O 32, BAR2 64-bit prefetchable 16K, ROM 2K.
    r = resource_lines(dma["resource"])
    assert r[0] == (0xe0000000, 0xe0000fff, 0x40200)
    assert r[1] == (0xc000, 0xc01f, 0x40101)
    assert r[2] == (0x800000000, 0x800003fff, 0x14220c)
    assert r[3] == (0, 0, 0)
    assert r[6] == (0xe0001000, 0xe00017ff, 0x46200)
    assert all(x == (0, 0, 0) for x in r[4:6] + r[7:])
    # Firmware programmed the BAR registers.
    assert int.from_bytes(cfg[0x10:0x14], "little") == 0xe0000000
    assert int.from_bytes(cfg[0x14:0x18], "little") == 0xc001
    assert int.from_bytes(cfg[0x18:0x20], "little") == 0x80000000c
    assert int.from_bytes(cfg[0x30:0x34], "little") & ~1 == 0xe0001000

    vf = res["0000:04:00.1"]
    assert (vf["vendor"], vf["device"], vf["class"], vf["revision"]) == \
        ("0x1425\n", "0x5803\n", "0x020000\n", "0x00\n")
    assert vf["subsystem_vendor"] == "0x1425\n"
    assert vf["irq"] == "0\n"          # a VF has no INTx
    vcfg = bytes.fromhex(vf["config"])
    assert vcfg[0:4] == b"\xff\xff\xff\xff"     # raw VF IDs; sysfs has the real ones
    assert vf["iommu_group"] == "../../../../kernel/iommu_groups/26"
    assert vf["iommu_group_real"] == "/sys/kernel/iommu_groups/26"
    r = resource_lines(vf["resource"])
    for bar, flags in T5_RESOURCE_FLAGS.items():
        assert r[bar][2] == flags
    assert (r[0][1] - r[0][0] + 1, r[2][1] - r[2][0] + 1, r[4][1] - r[4][0] + 1) == \
        (0x1000, 0x2000, 0x2000)
    assert vcfg[0x10:0x28] == bytes(24)        # VF BAR registers read 0

    # The third device: next default group, next free addresses, pin A of
    # slot 1 -> 17; nothing overlaps.
    third = res["0000:05:01.0"]
    assert third["irq"] == "17\n"
    assert third["iommu_group_real"] == "/sys/kernel/iommu_groups/101"
    spans = []
    for b in res["devices"]:
        for i, (s, e, f) in enumerate(resource_lines(res[b]["resource"])):
            if f:
                size = e - s + 1
                assert size & (size - 1) == 0 and s % size == 0
                io = bool(f & 0x100)
                assert (s >= 0xc000 and e < 0x10000) if io else \
                    (0xe0000000 <= s and e < 0xfec00000) or s >= 0x800000000
                spans.append((io, s, e))
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        assert a[0] != b[0] or a[2] < b[1], (a, b)


def test_groups(fv, tmp_path):
    res = inspect(fv, tmp_path, "dma-test@1:0.0", "dma-test@2:0.0,group=100",
                  "dma-test@3:0.0,group=5", "dma-test@4:0.0,group=5", "dma-test@5:0.0")
    assert res["groups"] == ["5", "100", "101", "102"]
    assert res["dev_vfio"] == ["100", "101", "102", "5", "vfio"]
    # Defaults skip the explicit 100, in command-line order.
    assert res["0000:01:00.0"]["iommu_group"].endswith("/101")
    assert res["0000:02:00.0"]["iommu_group"].endswith("/100")
    assert res["0000:05:00.0"]["iommu_group"].endswith("/102")
    for b in ["0000:03:00.0", "0000:04:00.0"]:
        assert res[b]["group_devices"] == {
            x: "../../../../bus/pci/devices/" + x for x in ["0000:03:00.0", "0000:04:00.0"]}


def test_no_devices(fv, tmp_path):
    res = inspect(fv, tmp_path)
    assert res["devices"] == [] and res["groups"] == []
    assert res["dev_vfio"] == ["vfio"] and res["vfio_pci"] == {}


VFIO_FILES = """\
import ctypes, errno, fcntl, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
res = {}
def attempt(f):
    try:
        r = f()
        return "ok" if r is None else r
    except OSError as e:
        return errno.errorcode[e.errno]
def mmap_shared(fd):
    p = libc.mmap(None, 4096, 3, 1, fd, 0)      # PROT_READ|WRITE, MAP_SHARED
    if p == ctypes.c_void_p(-1).value:
        raise OSError(ctypes.get_errno(), "mmap")
for path in ["/dev/vfio/vfio", "/dev/vfio/100"]:
    st = os.stat(path)
    d = {"mode": oct(st.st_mode), "size": st.st_size}
    fd = os.open(path, os.O_RDWR)
    d["ioctl"] = attempt(lambda: fcntl.ioctl(fd, 0x3b64))       # VFIO_GET_API_VERSION
    d["ioctl_ptr"] = attempt(lambda: fcntl.ioctl(fd, 0x3b6a, b"x" * 8))
    d["read"] = attempt(lambda: os.read(fd, 8))
    d["write"] = attempt(lambda: os.write(fd, b"x"))
    d["lseek"] = attempt(lambda: os.lseek(fd, 0, os.SEEK_SET))
    d["pread"] = attempt(lambda: os.pread(fd, 8, 0))
    d["mmap"] = attempt(lambda: mmap_shared(fd))
    d["close"] = attempt(lambda: os.close(fd))
    # Open and close again (release of the first open is asynchronous).
    d["reopen"] = attempt(lambda: os.close(os.open(path, os.O_RDWR)))
    res[path] = d
# An unprivileged task: the kernel's config and permission rules.
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    u = {}
    cfg = "/sys/bus/pci/devices/0000:03:00.0/config"
    u["config"] = attempt(lambda: len(open(cfg, "rb").read()))
    fd = os.open(cfg, os.O_RDONLY)
    u["config_at_60"] = attempt(lambda: len(os.pread(fd, 100, 60)))
    u["config_at_64"] = attempt(lambda: len(os.pread(fd, 100, 64)))
    u["config_write"] = attempt(lambda: os.open(cfg, os.O_WRONLY))
    u["vendor"] = attempt(lambda: open("/sys/bus/pci/devices/0000:03:00.0/vendor").read())
    u["container"] = attempt(lambda: os.close(os.open("/dev/vfio/vfio", os.O_RDWR)))
    u["group"] = attempt(lambda: os.open("/dev/vfio/100", os.O_RDWR))
    u["numa_write"] = attempt(lambda: os.open("/sys/bus/pci/devices/0000:03:00.0/numa_node", os.O_WRONLY))
    os.write(w, json.dumps(u).encode())
    os._exit(0)
os.close(w)
res["user"] = json.loads(os.read(r, 65536))
os.waitpid(pid, 0)
json.dump(res, sys.stdout)
"""


def test_vfio_nodes_and_permissions(fv, tmp_path):
    res = run_json(fv, tmp_path, VFIO_FILES, "--device", "dma-test@3:0.0")
    common = {"size": 0, "read": "EINVAL",
              "write": "EINVAL", "lseek": "ESPIPE", "pread": "ESPIPE", "mmap": "ENODEV",
              "close": "ok", "reopen": "ok"}
    # GET_API_VERSION; GET_DEVICE_FD's number: no IOMMU driver (container),
    # no device named "xxxxxxxx" (group).  test_fakevfio_vfio.py has the rest.
    assert res["/dev/vfio/vfio"] == dict(common, mode=oct(0o100666), ioctl=0, ioctl_ptr="EINVAL")
    assert res["/dev/vfio/100"] == dict(common, mode=oct(0o100600), ioctl="ENOTTY",
                                        ioctl_ptr="ENODEV")
    assert res["user"] == {
        "config": 64, "config_at_60": 4, "config_at_64": 0, "config_write": "EACCES",
        "vendor": "0x1b36\n", "container": "ok", "group": "EACCES", "numa_write": "EACCES"}


WRITES = """\
import errno, json, os, sys
D = "/sys/bus/pci/devices/0000:03:00.0/"
res = {}
def attempt(f):
    try:
        return f()
    except OSError as e:
        return errno.errorcode[e.errno]
def write(name, data, off=0):
    fd = os.open(D + name, os.O_WRONLY)
    try:
        return os.pwrite(fd, data, off)
    finally:
        os.close(fd)
def cfg(off, n):
    with open(D + "config", "rb") as f:
        f.seek(off)
        return f.read(n).hex()
res["line_before"] = cfg(0x3c, 1)
res["write_line"] = attempt(lambda: write("config", b"\\x55", 0x3c))
res["line_after"] = cfg(0x3c, 1)
res["write_vendor_reg"] = attempt(lambda: write("config", b"\\x00\\x00", 0))
res["vendor_reg"] = cfg(0, 2)
res["write_past"] = attempt(lambda: write("config", b"\\x01\\x02", 4096))
res["write_tail"] = attempt(lambda: write("config", b"\\x01\\x02\\x03", 4095))
for v in [b"0\\n", b"-1", b"5", b"0x0", b"abc", b" 0", b"99999999999999999999", b""]:
    res["numa " + repr(v)] = attempt(lambda: write("numa_node", v))
    res["numa_now " + repr(v)] = open(D + "numa_node").read()
with open(D + "numa_node", "w") as f:    # O_TRUNC, as a shell's ">" does
    f.write("0\\n")
res["numa_trunc"] = open(D + "numa_node").read()
res["numa_long"] = attempt(lambda: write("numa_node", b"0" * 5000))
res["chmod"] = attempt(lambda: os.chmod(D + "vendor", 0o666))
res["chown"] = attempt(lambda: os.chown(D + "vendor", 1, 1))
res["utime"] = attempt(lambda: os.utime(D + "config", (0, 0)))
res["truncate"] = attempt(lambda: os.truncate(D + "numa_node", 0))
res["mode_after"] = oct(os.stat(D + "vendor").st_mode)
json.dump(res, sys.stdout)
"""


def test_sysfs_writes(fv, tmp_path):
    res = run_json(fv, tmp_path, WRITES, "--device", "dma-test@3:0.0")
    assert res["line_before"] == "10"
    assert (res["write_line"], res["line_after"]) == (1, "55")
    assert (res["write_vendor_reg"], res["vendor_reg"]) == (2, "361b")
    assert res["write_past"] == 0 and res["write_tail"] == 1
    expect = {b"0\n": (2, "0\n"), b"-1": (2, "-1\n"), b"5": ("EINVAL", "-1\n"),
              b"0x0": (3, "0\n"), b"abc": ("EINVAL", "0\n"), b" 0": ("EINVAL", "0\n"),
              b"99999999999999999999": ("ERANGE", "0\n"), b"": (0, "0\n")}
    for v, (ret, now) in expect.items():
        assert (res["numa " + repr(v)], res["numa_now " + repr(v)]) == (ret, now), v
    assert res["numa_trunc"] == "0\n"
    assert res["numa_long"] == "EINVAL"
    # Modes and owners are fixed; times and truncation are accepted, ignored.
    assert (res["chmod"], res["chown"], res["utime"], res["truncate"]) == \
        ("EPERM", "EPERM", None, None)
    assert res["mode_after"] == oct(0o100444)


CAPS = """\
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]
hdr, data = Hdr(0x20080522, 0), (Data * 2)()
assert libc.capget(ctypes.byref(hdr), data) == 0
data[0].effective &= ~(1 << 21)                 # CAP_SYS_ADMIN
assert libc.capset(ctypes.byref(hdr), data) == 0
D = "/sys/bus/pci/devices/0000:03:00.0/"
res = {"uid": os.getuid(), "config": len(open(D + "config", "rb").read())}
try:
    with open(D + "numa_node", "w") as f:
        f.write("0")
    res["numa"] = "ok"
except OSError as e:
    res["numa"] = errno.errorcode[e.errno]
json.dump(res, sys.stdout)
"""


def test_root_without_cap_sys_admin(fv, tmp_path):
    """The kernel asks for CAP_SYS_ADMIN, not uid 0: config reads stop at
    64 bytes and numa_node refuses writes (EPERM)."""
    res = run_json(fv, tmp_path, CAPS, "--device", "dma-test@3:0.0")
    assert res == {"uid": 0, "config": 64, "numa": "EPERM"}


def test_nested(fv, tmp_path):
    """fakevfio inside fakevfio: the inner one covers the outer's trees
    (its /dev/vfio exists, so no overlay), and the outer's come back."""
    prog = script(tmp_path, "inspect.py", INSPECT)
    inner = f"{fv.binary} run --device chelsio-t5-vf@4:0.1,group=26 -- {PY} {prog}"
    status, out, err = fv.run("run", "--device", "dma-test@3:0.0", "--", "sh", "-c",
                              f"{inner} && echo && ls /sys/bus/pci/devices && ls /dev/vfio")
    assert (status, err) == (0, "")
    inside, after = out.split("\n", 1)
    res = json.loads(inside)
    assert res["devices"] == ["0000:04:00.1"] and res["dev_vfio"] == ["26", "vfio"]
    assert after == "0000:03:00.0\n100\nvfio\n"


def test_dev_overlay_keeps_submounts(fv, tmp_path):
    """The /dev overlay moves every mount on /dev onto itself: directories
    and files, names with blanks, and keeps nosuid/noexec.  Made inside an
    outer fakevfio (so the host's /dev is not touched), without /dev/vfio."""
    hostname = read("/etc/hostname")
    setup = ("umount /dev/vfio && rmdir /dev/vfio && "
             "mkdir '/dev/sub dir' && mount -t tmpfs fvtest '/dev/sub dir' && "
             "echo inside > '/dev/sub dir/f' && "
             "touch /dev/fvfile && mount --bind /etc/hostname /dev/fvfile && "
             "mount -o remount,bind,nosuid,noexec /dev")
    check = ("cat '/dev/sub dir/f' /dev/fvfile; ls /dev/vfio; "
             "findmnt -no FSTYPE,OPTIONS /dev | tail -1; "
             "findmnt -no SOURCE '/dev/sub dir' | tail -1; echo x > /dev/null && echo null-ok")
    status, out, err = fv.run("run", "--", "sh", "-c",
                              f"{setup} && {fv.binary} run --device dma-test@3:0.0 -- "
                              f"sh -c \"{check}\"")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "inside" and lines[1] == hostname.rstrip("\n")
    assert lines[2:4] == ["100", "vfio"]
    fstype, opts = lines[4].split()
    assert fstype == "overlay" and "nosuid" in opts.split(",") and "noexec" in opts.split(",")
    assert lines[5:] == ["fvtest", "null-ok"]


# ---- lspci, unmodified -----------------------------------------------------

def lspci(fv, devices, *args):
    argv = ["run"]
    for d in devices:
        argv += ["--device", d]
    status, out, err = fv.run(*argv, "--", "lspci", *args)
    assert status == 0 and clean_err(err) == "", err
    return out


def test_lspci_decodes_dma_test(fv):
    out = lspci(fv, ["dma-test@0000:03:00.0"], "-vvv", "-nn")
    for line in [
        "03:00.0 Unclassified device [00ff]: Red Hat, Inc. Device [1b36:11f0] (rev 01)\n",
        "\tSubsystem: Red Hat, Inc. Device [1b36:0001]\n",
        "\tInterrupt: pin A routed to IRQ 16\n",
        "\tIOMMU group: 100\n",
        "\tRegion 0: Memory at e0000000 (32-bit, non-prefetchable) [disabled] [size=4K]\n",
        "\tRegion 1: I/O ports at c000 [disabled] [size=32]\n",
        "\tRegion 2: Memory at 800000000 (64-bit, prefetchable) [disabled] [size=16K]\n",
        "\tExpansion ROM at e0001000 [disabled] [size=2K]\n",
        "\tCapabilities: [40] Power Management version 3\n",
        "\tCapabilities: [50] MSI: Enable- Count=1/4 Maskable+ 64bit+\n",
        "\tCapabilities: [70] Express (v2) Endpoint, MSI 00\n",
        "\tCapabilities: [b0] MSI-X: Enable- Count=8 Masked-\n",
        "\t\tVector table: BAR=2 offset=00000000\n",
        "\t\tPBA: BAR=2 offset=00001000\n",
        "\tCapabilities: [100 v2] Advanced Error Reporting\n",
        "\tKernel driver in use: vfio-pci\n",
    ]:
        assert line in out, line
    assert "access denied" not in out and "unreadable" not in out


def test_lspci_decodes_t5_vf(fv):
    out = lspci(fv, ["chelsio-t5-vf@0000:04:00.1,group=26"], "-vvv", "-nn")
    for line in [
        "04:00.1 Ethernet controller [0200]: Chelsio Communications Inc ",
        "[1425:5803]\n",
        "\tIOMMU group: 26\n",
        "\tRegion 0: Memory at e0000000 (64-bit, non-prefetchable) [virtual] [size=4K]\n",
        "\tRegion 2: Memory at 800000000 (64-bit, prefetchable) [virtual] [size=8K]\n",
        "\tRegion 4: Memory at e0002000 (64-bit, non-prefetchable) [virtual] [size=8K]\n",
        "\tCapabilities: [70] Express (v2) Endpoint, MSI 00\n",
        "\tCapabilities: [b0] MSI-X: Enable- Count=8 Masked-\n",
        "\t\tVector table: BAR=4 offset=00000000\n",
        "\t\tPBA: BAR=4 offset=00008000\n",
        "\tCapabilities: [100 v2] Advanced Error Reporting\n",
        "\tCapabilities: [140 v1] Alternative Routing-ID Interpretation (ARI)\n",
        "\tKernel driver in use: vfio-pci\n",
    ]:
        assert line in out, line
    assert "Interrupt:" not in out
    assert "access denied" not in out and "unreadable" not in out


def test_lspci_hexdump_is_config(fv, tmp_path):
    """lspci reads the whole 4K config space through the fake file."""
    status, out, err = fv.run(
        "run", "--device", "dma-test@3:0.0", "--", "sh", "-c",
        "lspci -s 03:00.0 -xxxx; echo ===; od -An -v -tx1 /sys/bus/pci/devices/0000:03:00.0/config")
    assert status == 0 and clean_err(err) == ""
    dump, od = out.split("===\n")
    lsbytes = "".join(l.split(":", 1)[1] for l in dump.splitlines()[1:] if ":" in l).split()
    assert len(lsbytes) == 4096
    assert lsbytes == od.split()


def host_pci_device():
    """A host device with a BAR (its address is kept) and readable config."""
    for d in sorted(glob.glob("/sys/bus/pci/devices/*")):
        try:
            with open(d + "/config", "rb") as f:
                full = len(f.read()) >= 256
            bars = [l for l in read(d + "/resource").splitlines()[:6]
                    if int(l.split()[1], 16)]
        except OSError:
            continue
        if full and bars:
            return os.path.basename(d)
    return None


def test_lspci_of_captured_profile_reads_like_the_original(fv, build, tmp_path):
    """A real device captured with sim-capture, served as a profile,
    decodes like the original (apart from what the fake changes)."""
    bdf = host_pci_device()
    if not bdf:
        pytest.skip("no readable PCI device on this host")
    prof = tmp_path / "dev.profile"
    subprocess.run([str(build / "bin" / "sim-capture"), "-o", str(prof), bdf],
                   check=True, timeout=30)
    real = subprocess.run(["lspci", "-vvv", "-s", bdf], capture_output=True, text=True,
                          timeout=30).stdout
    fake = lspci(fv, [f"profile@{bdf},file={prof}"], "-vvv", "-s", bdf)

    def norm(text):
        drop = ("\tIOMMU group:", "\tKernel driver in use:", "\tKernel modules:",
                "\tInterrupt:", "\tNUMA node:", "\tPhysical Slot:")
        return [l for l in text.splitlines() if not l.startswith(drop)]
    assert norm(fake) == norm(real)
    assert "\tKernel driver in use: vfio-pci" in fake


# ---- nothing left behind ---------------------------------------------------

def test_namespace_is_private(fv, tmp_path):
    """Inside: the fake mounts and /dev/vfio; outside (checked by
    host_unchanged): none of it, during the run too."""
    before = host_snapshot()
    r = fv("run", "--device", "dma-test@3:0.0", "--", "sh", "-c",
           "grep -c fakevfio /proc/self/mountinfo; touch /dev/fakevfio-made-inside; "
           "ls -d /dev/vfio /dev/fakevfio-made-inside; echo ready; exec sleep 30")
    wait_for(lambda: "ready" in r.out, what="CMD ready")
    # The host, while CMD runs: no mount, no /dev/vfio, the real PCI tree.
    assert host_snapshot() == before
    assert "vfio" not in before["dev"] and "fakevfio-made-inside" not in before["dev"]
    os.kill(r.pid, signal.SIGTERM)
    assert r.wait() == 128 + signal.SIGTERM
    lines = r.out.splitlines()
    assert int(lines[0]) == 4     # devices, drivers, iommu_groups, /dev/vfio
    assert lines[1:] == ["/dev/fakevfio-made-inside", "/dev/vfio", "ready"]


def test_nothing_left_after_crash(fv):
    status, out, err = fv.run("run", "--device", "dma-test@3:0.0", "--",
                              PY, "-c", "import os; os.abort()")
    assert (status, out, err) == (128 + signal.SIGABRT, "", "")


def test_nothing_left_after_sigkill(fv, tmp_path):
    r = fv("run", "--device", "dma-test@3:0.0", "--", "sh", "-c",
           "cat /sys/bus/pci/devices/0000:03:00.0/vendor; exec sleep 30")
    wait_for(lambda: r.out == "0x1b36\n", what="CMD ready")
    wait_for(lambda: len(group_members(r.pid)) == 2, what="fakevfio and CMD")
    os.kill(r.pid, signal.SIGKILL)
    assert r.wait() == -signal.SIGKILL
    # CMD dies with fakevfio (PR_SET_PDEATHSIG), and the namespace with it.
    wait_for(lambda: not group_members(r.pid), what="CMD to die")


READER = """\
import errno, os, subprocess, sys, time
d = sys.argv[1]
if sys.argv[2] == "parent":
    # CMD: start the reader (same process group), then wait for ever.
    subprocess.Popen([sys.executable, __file__, d, "reader"])
    while True:
        time.sleep(1)
fd = os.open("/sys/bus/pci/devices/0000:03:00.0/config", os.O_RDONLY)
os.pread(fd, 4, 0)
with open(d + "/ready", "w") as f:
    f.write(str(os.getpid()))
while not os.path.exists(d + "/go"):
    time.sleep(0.01)
res = []
def attempt(f):
    try:
        f()
        res.append("ok")
    except OSError as e:
        res.append(errno.errorcode[e.errno])
attempt(lambda: os.pread(fd, 4, 0))          # blocked while the daemon is stopped
attempt(lambda: os.open("/sys/bus/pci/devices/0000:03:00.0/vendor", os.O_RDONLY))
attempt(lambda: os.open("/dev/vfio/vfio", os.O_RDWR))
attempt(lambda: os.listdir("/sys/kernel/iommu_groups"))
with open(d + "/result.tmp", "w") as f:
    f.write(" ".join(res))
os.rename(d + "/result.tmp", d + "/result")
"""


def test_blocked_reader_fails_when_daemon_is_killed(fv, tmp_path):
    prog = script(tmp_path, "reader.py", READER)
    r = fv("run", "--device", "dma-test@3:0.0", "--", PY, prog, str(tmp_path), "parent")
    wait_for(lambda: (tmp_path / "ready").exists(), what="reader ready")
    reader = int(read(tmp_path / "ready"))
    os.kill(r.pid, signal.SIGSTOP)
    (tmp_path / "go").touch()
    # The reader's request waits for the stopped daemon.
    time.sleep(0.5)
    assert not (tmp_path / "result").exists()
    with open(f"/proc/{reader}/stat") as f:
        assert f.read().rsplit(")", 1)[1].split()[0] in ("S", "D")
    os.kill(r.pid, signal.SIGKILL)
    assert r.wait() == -signal.SIGKILL
    result = wait_for(lambda: (tmp_path / "result").exists() and read(tmp_path / "result"),
                      timeout=10, what="the reader to fail")
    # The pending request is aborted, later ones find no connection.
    assert result == "ECONNABORTED ENOTCONN ENOTCONN ENOTCONN"
    wait_for(lambda: not group_members(r.pid), what="every process to end")


def test_interrupted_before_cmd_starts(fv):
    """A forwarded signal pending when CMD would start: CMD is not run."""
    # SIGTERM, blocked and pending in fakevfio from the start (the signal
    # mask and pending signals survive execve), is seen before the fork.
    code = ("import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]);"
            "os.kill(os.getpid(), signal.SIGTERM);"
            "os.execv(sys.argv[1], sys.argv[1:])")
    r = fv(argv=[PY, "-c", code, fv.binary, "run", "--device", "dma-test@3:0.0", "--",
                 "sh", "-c", "echo ran"])
    assert r.wait() == 128 + signal.SIGTERM
    assert (r.out, r.err) == ("", "")


# ---- failures on the way: every one is reported, cleaned up, leak-free ----

# An LD_PRELOAD shim that makes the Nth call of one function fail with a
# given errno in the fakevfio process (never in CMD: it drops itself from
# the environment).  Only fakevfio's own code and libfuse call these.  With
# FVFAULT=count:FILE it writes how often each was called instead.
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

struct fuse_session;

#define FUNCS(X) X(unshare) X(mount) X(umount2) X(mkdir) X(chmod) X(chown) \
	X(open) X(stat) X(statx) X(statvfs) X(fopen) X(pipe2) X(fork) X(eventfd) \
	X(pthread_create) X(fcntl) X(fuse_session_new) X(fuse_session_mount)
#define ID(f) F_##f,
enum { FUNCS(ID) NF };
#define NAME(f) #f,
static const char *const names[NF] = { FUNCS(NAME) };

static pid_t owner;
static int target = -1, fail_errno;
static long nth, counts[NF];
static char countfile[512];

__attribute__((constructor)) static void init(void)
{
	const char *spec = getenv("FVFAULT");
	char fn[64];

	owner = getpid();
	if (spec && !strncmp(spec, "count:", 6)) {
		snprintf(countfile, sizeof(countfile), "%s", spec + 6);
	} else if (spec && sscanf(spec, "%63[^:]:%ld:%d", fn, &nth, &fail_errno) == 3) {
		for (int i = 0; i < NF; i++)
			if (!strcmp(names[i], fn))
				target = i;
	}
	unsetenv("FVFAULT");
	unsetenv("LD_PRELOAD");
}

__attribute__((destructor)) static void fini(void)
{
	FILE *f;

	if (!countfile[0] || getpid() != owner || !(f = fopen(countfile, "w")))
		return;
	for (int i = 0; i < NF; i++)
		fprintf(f, "%s %ld\n", names[i], counts[i]);
	fclose(f);
}

/* Whether this call fails (it is counted either way). */
static int fail(int id)
{
	if (getpid() != owner)
		return 0;
	if (__atomic_add_fetch(&counts[id], 1, __ATOMIC_SEQ_CST) != nth || id != target)
		return 0;
	errno = fail_errno;
	return 1;
}

#define REAL(f) ((__typeof__(&f))dlsym(RTLD_NEXT, #f))

int unshare(int flags) { return fail(F_unshare) ? -1 : REAL(unshare)(flags); }
int mount(const char *s, const char *t, const char *fs, unsigned long fl, const void *d)
{ return fail(F_mount) ? -1 : REAL(mount)(s, t, fs, fl, d); }
int umount2(const char *t, int fl) { return fail(F_umount2) ? -1 : REAL(umount2)(t, fl); }
int mkdir(const char *p, mode_t m) { return fail(F_mkdir) ? -1 : REAL(mkdir)(p, m); }
int chmod(const char *p, mode_t m) { return fail(F_chmod) ? -1 : REAL(chmod)(p, m); }
int chown(const char *p, uid_t u, gid_t g) { return fail(F_chown) ? -1 : REAL(chown)(p, u, g); }
int open(const char *p, int fl, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, fl);
	m = va_arg(ap, mode_t);
	va_end(ap);
	return fail(F_open) ? -1 : REAL(open)(p, fl, m);
}
int stat(const char *p, struct stat *st) { return fail(F_stat) ? -1 : REAL(stat)(p, st); }
int statx(int d, const char *p, int fl, unsigned mask, struct statx *st)
{ return fail(F_statx) ? -1 : REAL(statx)(d, p, fl, mask, st); }
int statvfs(const char *p, struct statvfs *st)
{ return fail(F_statvfs) ? -1 : REAL(statvfs)(p, st); }
FILE *fopen(const char *p, const char *m) { return fail(F_fopen) ? NULL : REAL(fopen)(p, m); }
int pipe2(int fd[2], int fl) { return fail(F_pipe2) ? -1 : REAL(pipe2)(fd, fl); }
pid_t fork(void) { return fail(F_fork) ? -1 : REAL(fork)(); }
int eventfd(unsigned v, int fl) { return fail(F_eventfd) ? -1 : REAL(eventfd)(v, fl); }
int pthread_create(void *t, const void *a, void *(*fn)(void *), void *arg)
{ return fail(F_pthread_create) ? fail_errno : REAL(pthread_create)(t, a, fn, arg); }
int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fail(F_fcntl) ? -1 : REAL(fcntl)(fd, cmd, arg);
}
struct fuse_session *fuse_session_new(void *a, const void *op, size_t sz, void *ud)
{ return fail(F_fuse_session_new) ? NULL : REAL(fuse_session_new)(a, op, sz, ud); }
int fuse_session_mount(struct fuse_session *se, const char *mp)
{ return fail(F_fuse_session_mount) ? -1 : REAL(fuse_session_mount)(se, mp); }
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    d = tmp_path_factory.mktemp("shim")
    (d / "shim.c").write_text(SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(d / "shim.so"), str(d / "shim.c"),
                    "-ldl"], check=True, timeout=60)
    return str(d / "shim.so")


def fault_env(shim, spec):
    env = dict(os.environ, LD_PRELOAD=shim, FVFAULT=spec)
    # ASan builds: the shim comes first; LeakSanitizer still checks exits.
    env["ASAN_OPTIONS"] = "verify_asan_link_order=0:" + env.get("ASAN_OPTIONS", "")
    return env


# CMD reads through the fake (config as root: pid_is_admin's stat/fopen).
FAULT_CMD = ["sh", "-c", "cat /sys/bus/pci/devices/0000:03:00.0/config >/dev/null && echo ran"]


def test_every_failure_is_clean(fv, shim, tmp_path):
    """Make each call of each wrapped function fail in turn: fakevfio
    either reports one error and exits 125 before CMD runs, or (a failure it
    tolerates) runs CMD normally.  It never crashes or hangs, and the host
    and the process group are clean every time (fixtures)."""
    args = ["run", "--device", "dma-test@3:0.0", "--", *FAULT_CMD]
    counts_file = tmp_path / "counts"
    status, out, err = fv.run(*args, env=fault_env(shim, f"count:{counts_file}"))
    assert (status, out, err) == (0, "ran\n", "")
    counts = {l.split()[0]: int(l.split()[1]) for l in read(counts_file).splitlines()}
    for fn in ("unshare", "mount", "umount2", "mkdir", "chmod", "chown", "open", "stat",
               "statx", "statvfs", "fopen", "pipe2", "fork", "eventfd", "pthread_create",
               "fcntl", "fuse_session_new", "fuse_session_mount"):
        assert counts[fn] > 0, fn
    seen = set()
    for fn, n in sorted(counts.items()):
        errname = "EAGAIN" if fn in ("fork", "pthread_create") else "EIO"
        for i in range(1, n + 1):
            status, out, err = fv.run(*args, env=fault_env(shim, f"{fn}:{i}:{getattr(errno, errname)}"))
            where = f"{fn} call {i}: status {status}, stderr {err!r}"
            if status == 0:
                assert (out, err) == ("ran\n", ""), where
                continue
            assert status == 125 and out == "", where
            lines = err.splitlines()
            assert len(lines) == 1 and lines[0].startswith("fakevfio: "), where
            seen.add(lines[0])
    # A few of the messages, exactly.
    for msg in [
        "fakevfio: cannot create a mount namespace: Input/output error",
        "fakevfio: cannot make the mount namespace private: Input/output error",
        "fakevfio: cannot open /dev/fuse: Input/output error",
        "fakevfio: cannot mount a tmpfs on /sys/bus/pci/devices: Input/output error",
        "fakevfio: cannot mount the FUSE filesystem: Input/output error",
        "fakevfio: cannot create the FUSE session",
        "fakevfio: cannot start a FUSE worker: Resource temporarily unavailable",
        "fakevfio: cannot mount an overlay on /dev to add /dev/vfio: Input/output error",
        "fakevfio: cannot make /dev/vfio in the overlay: Input/output error",
        "fakevfio: cannot detach the scratch tmpfs: Input/output error",
        "fakevfio: fork: Resource temporarily unavailable",
        "fakevfio: cannot move the mount at /dev/pts aside: Input/output error",
        "fakevfio: cannot move the mount at /dev/pts onto the /dev overlay: Input/output error",
    ]:
        assert msg in seen, (msg, sorted(seen))
