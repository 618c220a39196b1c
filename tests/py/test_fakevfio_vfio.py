# SPDX-License-Identifier: GPL-2.0-or-later
"""The VFIO core of fakevfio, end to end: containers, groups and device fds
behind /dev/vfio, errno by errno as Linux 6.1 answers (vfio-abi.md
§2.0-2.3), through the real binary and small libc-only clients
(tests/clients/) that run on real VFIO too.

vfio-ioctl runs a script of system calls given on its command line and
prints "STEP -> RESULT" per step; most tests here are tables of such steps.
vfio-probe runs QEMU's realize sequence (vfio-abi.md §4, steps 5-10).

Every fakevfio runs in a process group of its own that the test kills at
teardown; a run must leave no process behind and print nothing on stderr.
"""
import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="fakevfio run needs root (mount namespaces)")

PY = sys.executable or "/usr/bin/python3"
DEV = "dma-test@3:0.0"          # group 100
BDF = "0000:03:00.0"
UUID = "01234567-89ab-cdef-0123-456789abcdef"

G = ["g=open:/dev/vfio/100"]
GC = G + ["c=open:/dev/vfio/vfio", "ioctl:g:GROUP_SET_CONTAINER:fd:c"]
GCI = GC + ["ioctl:c:SET_IOMMU:v:3"]
GCID = GCI + [f"d=ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}"]


def group_members(pgid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


class Fv:
    """Runs `fakevfio run DEVICES -- CMD` in sessions of their own."""

    def __init__(self, build, tmp_path):
        self.binary = str(build / "bin" / "fakevfio")
        self.ioctl = str(build / "bin" / "tests" / "vfio-ioctl")
        self.probe = str(build / "bin" / "tests" / "vfio-probe")
        self.build = build
        self.tmp = tmp_path
        self.procs = []

    def start(self, devices, cmd, **popen):
        args = [self.binary, "run"]
        for d in devices:
            if d.startswith("--"):
                args.append(d)          # an option of its own
            else:
                args += ["--topology", d] if d.endswith(".topo") else ["--device", d]
        popen.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args + ["--", *cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             **popen)
        self.procs.append(p)
        return p

    def run(self, devices, cmd, timeout=60, **popen):
        p = self.start(devices, cmd, **popen)
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err

    def steps(self, *steps, devices=(DEV,), prefix=()):
        """Run vfio-ioctl STEPS; return the results, one per output line."""
        status, out, err = self.run(devices, [*prefix, self.ioctl, *steps])
        assert (status, err) == (0, ""), (status, err, out)
        return [line.split(" -> ", 1)[1] for line in out.splitlines()]

    def last(self, *steps, **kw):
        return self.steps(*steps, **kw)[-1]

    def cleanup(self):
        leaked = []
        for p in self.procs:
            if p.poll() is not None:
                end = time.monotonic() + 3
                while group_members(p.pid) and time.monotonic() < end:
                    time.sleep(0.01)
                leaked += group_members(p.pid)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
        assert not leaked, f"processes left behind: {leaked}"


@pytest.fixture
def fv(build, tmp_path):
    f = Fv(build, tmp_path)
    yield f
    f.cleanup()


def topo(tmp_path, text):
    p = tmp_path / "machine.topo"
    p.write_text(textwrap.dedent(text))
    return str(p)


def le32(v):
    return v.to_bytes(4, "little").hex()


# ---- the realize sequence -----------------------------------------------------

PROBE = """\
open group: ok
group status: flags=0x1
open container: ok
api version: 0
extension TYPE1v2: 1
extension TYPE1: 1
extension SPAPR_TCE_v2: 0
extension SPAPR_TCE: 0
set container: ok
set iommu: 3
iommu info: argsz=116 flags=0x3 pgsizes=0x40201000
get device fd: ok cloexec=1
device info: flags=0x3 regions=9 irqs=5
config region: size=0x1000 offset=0x70000000000 flags=0x3
config read: 4096 bytes vendor=0x1b36 device=0x11f0
unset container: ok
done
"""


@pytest.mark.parametrize("variant", ["plain", "thread", "static", "helper"])
def test_probe(fv, variant):
    """QEMU's sequence, also from a thread that is not the leader (the fake
    must use the caller's process, not its thread, for pidfd_getfd and
    the mappings) and from a static binary (the seccomp filter is the
    kernel's: no library is involved)."""
    cmd = {"plain": [fv.probe, "100", BDF],
           "thread": [fv.probe, "-t", "100", BDF],
           "static": [fv.probe + "-static", "100", BDF],
           "helper": [fv.probe, "100", BDF]}[variant]
    if variant == "static" and not os.path.exists(cmd[0]):
        pytest.skip("no libc.a: no static client")
    # "helper": the filter installed by fakevfio re-executed (what it does
    # under valgrind, which cannot pass seccomp(2) through).
    env = dict(os.environ, FAKEVFIO_SECCOMP_HELPER="1") if variant == "helper" else None
    status, out, err = fv.run([DEV], cmd, env=env)
    assert (status, err) == (0, "")
    assert out == ("thread: tid!=pid\n" if variant == "thread" else "") + PROBE


def test_probe_t5vf(fv):
    """A second model, in a named group."""
    status, out, err = fv.run(["chelsio-t5-vf@4:0.1,group=26"],
                              [fv.probe, "26", "0000:04:00.1"])
    assert (status, err) == (0, ""), out
    # A VF: vfio-pci shows the IDs its Vendor/Device registers lack.
    assert "config read: 4096 bytes vendor=0x1425 device=0x5803\n" in out
    assert out.endswith("unset container: ok\ndone\n")


# ---- the container (vfio-abi.md §2.1) -------------------------------------------

# CHECK_EXTENSION with no IOMMU set polls the drivers (type1 on x86).
EXT_BEFORE = {0: 0, 1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1, 7: 0, 8: 0, 9: 1, 10: 0, 11: 0}
# With type1 set: DMA_CC (every domain coherent) and UPDATE_VADDR too.
EXT_AFTER = {**EXT_BEFORE, 4: 1, 10: 1}


def test_check_extension(fv):
    before = [f"ioctl:c:CHECK_EXTENSION:v:{e}" for e in EXT_BEFORE]
    after = [f"ioctl:c:CHECK_EXTENSION:v:{e}" for e in EXT_AFTER]
    res = fv.steps("c=open:/dev/vfio/vfio", *before, *GC[:1], "ioctl:g:GROUP_SET_CONTAINER:fd:c",
                   *before, "ioctl:c:SET_IOMMU:v:1", *after)
    n = len(EXT_BEFORE)
    assert res[1:1 + n] == [str(v) for v in EXT_BEFORE.values()]
    assert res[1 + n:3 + n] == ["ok", "0"]
    assert res[3 + n:3 + 2 * n] == [str(v) for v in EXT_BEFORE.values()]  # a group changes nothing
    assert res[3 + 2 * n] == "0"
    assert res[4 + 2 * n:] == [str(v) for v in EXT_AFTER.values()]


@pytest.mark.parametrize("setup,step,expect", [
    # GET_API_VERSION ignores its argument.
    ([], "ioctl:c:GET_API_VERSION", "0"),
    ([], "ioctl:c:GET_API_VERSION:v:77", "0"),
    # SET_IOMMU: no group attached -> EINVAL before anything else.
    ([], "ioctl:c:SET_IOMMU:v:3", "EINVAL"),
    ([], "ioctl:c:SET_IOMMU:v:99", "EINVAL"),
    # With a group: no driver takes the type -> ENODEV.
    (GC, "ioctl:c:SET_IOMMU:v:2", "ENODEV"),
    (GC, "ioctl:c:SET_IOMMU:v:7", "ENODEV"),
    (GC, "ioctl:c:SET_IOMMU:v:8", "ENODEV"),
    (GC, "ioctl:c:SET_IOMMU:v:0", "ENODEV"),
    (GC, "ioctl:c:SET_IOMMU:v:99", "ENODEV"),
    (GC, "ioctl:c:SET_IOMMU:v:1", "0"),
    (GC, "ioctl:c:SET_IOMMU:v:3", "0"),
    (GC, "ioctl:c:SET_IOMMU:v:6", "0"),
    # A driver already set -> EINVAL.
    (GCI, "ioctl:c:SET_IOMMU:v:3", "EINVAL"),
    (GCI, "ioctl:c:SET_IOMMU:v:2", "EINVAL"),
    # Anything else needs a driver: EINVAL (not ENOTTY) without one.
    ([], "ioctl:c:IOMMU_GET_INFO:hex:18000000/24", "EINVAL out=" + le32(24) + "00" * 20),
    (GC, "ioctl:c:IOMMU_GET_INFO:hex:18000000/24", "EINVAL out=" + le32(24) + "00" * 20),
    (GC, "ioctl:c:IOMMU_MAP_DMA:ptr:8", "EINVAL"),
    (GC, "ioctl:c:IOMMU_UNMAP_DMA:ptr:8", "EINVAL"),
    (GC, "ioctl:c:0x3b99", "EINVAL"),
    ([], "ioctl:c:GROUP_GET_STATUS:ptr:8", "EINVAL"),
    # With type1: its own ioctls, ENOTTY for the rest (sPAPR numbers too).
    (GCI, "ioctl:c:0x3b99", "ENOTTY"),
    (GCI, "ioctl:c:IOMMU_ENABLE", "ENOTTY"),
    (GCI, "ioctl:c:GROUP_GET_STATUS:ptr:8", "ENOTTY"),
    (GCI, "ioctl:c:IOMMU_GET_INFO:ptr:8", "EFAULT"),
    (GCI, "map:c:0x100000:0x1000", "0"),
])
def test_container(fv, setup, step, expect):
    assert fv.last(*(setup or ["c=open:/dev/vfio/vfio"]), step) == expect


def test_container_shared_by_groups(fv):
    """One container, two groups (one of them holding two devices): the
    IOMMU is set once, a group joining later is attached to it, both see the
    mappings, and the container lives on without its fd; the last group
    leaving drops every mapping and unsets the driver."""
    devs = ["dma-test@3:0.0,group=5", "dma-test@3:0.1,group=5", "dma-test@4:0.0"]
    res = fv.steps(
        "a=open:/dev/vfio/5", "b=open:/dev/vfio/100", "c=open:/dev/vfio/vfio",
        "ioctl:a:GROUP_SET_CONTAINER:fd:c",
        "ioctl:c:SET_IOMMU:v:3",
        "ioctl:b:GROUP_SET_CONTAINER:fd:c",                 # joins a set container
        "ioctl:b:GROUP_GET_STATUS:hex:08000000/8",
        "map:c:0x100000:0x2000",
        "d0=ioctl:a:GROUP_GET_DEVICE_FD:str:0000:03:00.0",
        "d1=ioctl:a:GROUP_GET_DEVICE_FD:str:0000:03:00.1",
        "ioctl:a:GROUP_GET_DEVICE_FD:str:0000:04:00.0",     # not in group 5
        "d2=ioctl:b:GROUP_GET_DEVICE_FD:str:0000:04:00.0",
        "close:c",                                          # the container lives on
        "ioctl:a:GROUP_GET_STATUS:hex:08000000/8",
        "d3=ioctl:b:GROUP_GET_DEVICE_FD:str:0000:04:00.0",  # a second open
        "close:d0", "close:d1",
        "ioctl:a:GROUP_UNSET_CONTAINER",
        "ioctl:a:GROUP_GET_STATUS:hex:08000000/8",
        "close:d2",
        "ioctl:b:GROUP_UNSET_CONTAINER",                    # d3 still open
        "close:d3",
        "ioctl:b:GROUP_UNSET_CONTAINER",                    # the last group: IOMMU gone
        "c=open:/dev/vfio/vfio",
        "ioctl:a:GROUP_SET_CONTAINER:fd:c",
        "ioctl:b:GROUP_SET_CONTAINER:fd:c",                 # no driver yet: just joins
        "ioctl:c:IOMMU_GET_INFO:hex:18000000/24",
        "ioctl:c:SET_IOMMU:v:3",
        "unmap:c:0x100000:0x2000",                          # nothing left to unmap
        devices=devs)
    assert res == ["ok", "ok", "ok", "0", "0", "0", "0 out=0800000003000000", "0",
                   "ok", "ok", "ENODEV", "ok", "ok", "0 out=0800000003000000", "ok",
                   "ok", "ok", "0", "0 out=0800000001000000", "ok", "EBUSY", "ok", "0",
                   "ok", "0", "0", "EINVAL out=" + le32(24) + "00" * 20, "0",
                   "0 size=0x0"]


def test_mappings_survive_a_group_leaving(fv):
    devs = ["dma-test@3:0.0", "dma-test@4:0.0"]
    res = fv.steps(
        "a=open:/dev/vfio/100", "b=open:/dev/vfio/101", "c=open:/dev/vfio/vfio",
        "ioctl:a:GROUP_SET_CONTAINER:fd:c", "ioctl:b:GROUP_SET_CONTAINER:fd:c",
        "ioctl:c:SET_IOMMU:v:3", "map:c:0x100000:0x1000",
        "ioctl:a:GROUP_UNSET_CONTAINER",
        "unmap:c:0x100000:0x1000", devices=devs)
    assert res[-2:] == ["0", "0 size=0x1000"]


# ---- the group (vfio-abi.md §2.0, §2.2) ------------------------------------------

@pytest.mark.parametrize("setup,step,expect", [
    # One open at a time.
    (G, "h=open:/dev/vfio/100", "EBUSY"),
    # GET_STATUS: 8 bytes in, argsz >= 8, 8 bytes back.
    (G, "ioctl:g:GROUP_GET_STATUS:hex:08000000/8", "0 out=0800000001000000"),
    (G, "ioctl:g:GROUP_GET_STATUS:hex:07000000ffffffff", "EINVAL out=07000000ffffffff"),
    (G, "ioctl:g:GROUP_GET_STATUS:hex:10000000ffffffffeeeeeeeeeeeeeeee",
     "0 out=1000000001000000eeeeeeeeeeeeeeee"),
    (G, "ioctl:g:GROUP_GET_STATUS:ptr:8", "EFAULT"),
    (G, "ioctl:g:GROUP_GET_STATUS:unmapped", "EFAULT"),
    (GC, "ioctl:g:GROUP_GET_STATUS:hex:08000000/8", "0 out=0800000003000000"),
    (GCI, "ioctl:g:GROUP_GET_STATUS:hex:08000000/8", "0 out=0800000003000000"),
    # SET_CONTAINER: get_user, fdget, already set, not a container.
    (G, "ioctl:g:GROUP_SET_CONTAINER:ptr:8", "EFAULT"),
    (G, "ioctl:g:GROUP_SET_CONTAINER:fd:-1", "EBADF"),
    (G, "ioctl:g:GROUP_SET_CONTAINER:fd:999", "EBADF"),
    (G + ["o=opath:/dev/vfio/vfio"], "ioctl:g:GROUP_SET_CONTAINER:fd:o", "EBADF"),
    (G + ["p=pipe"], "ioctl:g:GROUP_SET_CONTAINER:fd:p", "EINVAL"),
    (G + ["n=open:/dev/null"], "ioctl:g:GROUP_SET_CONTAINER:fd:n", "EINVAL"),
    (G, "ioctl:g:GROUP_SET_CONTAINER:fd:g", "EINVAL"),
    (G + [f"s=open:/sys/bus/pci/devices/{BDF}/config"], "ioctl:g:GROUP_SET_CONTAINER:fd:s",
     "EINVAL"),
    (GC, "ioctl:g:GROUP_SET_CONTAINER:fd:c", "EINVAL"),
    (GC + ["e=open:/dev/vfio/vfio"], "ioctl:g:GROUP_SET_CONTAINER:fd:e", "EINVAL"),
    (GC, "ioctl:g:GROUP_SET_CONTAINER:fd:999", "EBADF"),       # EBADF comes first
    (GCID, "ioctl:g:GROUP_SET_CONTAINER:fd:d", "EINVAL"),
    # UNSET_CONTAINER
    (G, "ioctl:g:GROUP_UNSET_CONTAINER", "EINVAL"),
    (GC, "ioctl:g:GROUP_UNSET_CONTAINER", "0"),
    (GCI, "ioctl:g:GROUP_UNSET_CONTAINER", "0"),
    (GCID, "ioctl:g:GROUP_UNSET_CONTAINER", "EBUSY"),
    (GCID + ["close:d"], "ioctl:g:GROUP_UNSET_CONTAINER", "0"),
    (GC + ["ioctl:g:GROUP_UNSET_CONTAINER"], "ioctl:g:GROUP_UNSET_CONTAINER", "EINVAL"),
    (GC + ["ioctl:g:GROUP_UNSET_CONTAINER"], "ioctl:g:GROUP_GET_STATUS:hex:08000000/8", "0 out=0800000001000000"),
    # GET_DEVICE_FD: the name first (strndup_user, match), then the container.
    (G, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "EINVAL"),
    (G, "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00.1", "ENODEV"),
    (GC, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "EINVAL"),
    (GC, "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00.1", "ENODEV"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "5"),        # after 0-2, g, c
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00.1", "ENODEV"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:str:", "ENODEV"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00", "ENODEV"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:str:03:00.0", "ENODEV"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}x", "ENODEV"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}  ", "5"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF} foo", "EINVAL"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF} vf_token={UUID}", "EINVAL"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF} vf_token={UUID[:-1]}", "EINVAL"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF} vf_token={UUID.replace('-', 'x')}", "EINVAL"),
    (G, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF} vf_token={UUID}", "EINVAL"),
    (G, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}x vf_token={UUID}", "ENODEV"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:long:4095", "ENODEV"),     # 4096 with the NUL
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:long:4096", "EINVAL"),     # longer than a page
    (G, "ioctl:g:GROUP_GET_DEVICE_FD:long:5000", "EINVAL"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:ptr:8", "EFAULT"),
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:unmapped", "EFAULT"),
    (GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:edge:{BDF}", "EFAULT"),   # no NUL before the hole
    (GCI, "ioctl:g:GROUP_GET_DEVICE_FD:ptr:0", "EFAULT"),
    # Several opens of one device.
    (GCID, f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "6"),
    # Other numbers: ENOTTY on a group.
    (G, "ioctl:g:GET_API_VERSION", "ENOTTY"),
    (G, "ioctl:g:0x3b99", "ENOTTY"),
    (G, "ioctl:g:DEVICE_GET_INFO:ptr:8", "ENOTTY"),
    (G, "ioctl:g:0x5401", "ENOTTY"),                            # TCGETS
])
def test_group(fv, setup, step, expect):
    assert fv.last(*setup, step) == expect


def test_get_device_fd_on_other_files(fv):
    """GET_DEVICE_FD's number on a container, a device, a pipe: the
    supervisor lets it through to the file's own ioctl."""
    res = fv.steps(*GCID, "p=pipe", f"ioctl:c:GROUP_GET_DEVICE_FD:str:{BDF}",
                   f"ioctl:d:GROUP_GET_DEVICE_FD:str:{BDF}",
                   f"ioctl:p:GROUP_GET_DEVICE_FD:str:{BDF}",
                   f"ioctl:999:GROUP_GET_DEVICE_FD:str:{BDF}")
    assert res[-4:] == ["ENOTTY", "ENOTTY", "ENOTTY", "EBADF"]


def test_not_viable(fv, tmp_path):
    """A device of the group left on a host driver: the group opens but is
    not viable; SET_CONTAINER is EPERM; that device is not a VFIO device."""
    t = topo(tmp_path, """\
        device dma-test 03:00.0 group=7
        device dma-test 03:00.1 group=7 driver=host
        """)
    res = fv.steps("g=open:/dev/vfio/7", "ioctl:g:GROUP_GET_STATUS:hex:08000000/8",
                   "c=open:/dev/vfio/vfio", "ioctl:g:GROUP_SET_CONTAINER:fd:c",
                   "ioctl:g:GROUP_SET_CONTAINER:fd:999",
                   "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00.1",
                   f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}",
                   "ioctl:c:SET_IOMMU:v:3", devices=[t])
    assert res == ["ok", "0 out=0800000000000000", "ok", "EPERM", "EBADF", "ENODEV",
                   "EINVAL", "EINVAL"]


# ---- the device fd (vfio-abi.md §2.0, §2.3) ---------------------------------------

def test_device_fd(fv):
    res = fv.steps(*GCID, "cloexec:d", "flags:d", "pread:d:0x70000000000:4",
                   "read:d:4", "pread:d:0:4", "mmap:d:0:4096", "lseek:d:0:cur",
                   "ioctl:d:DEVICE_GET_INFO:hex:14000000/20",
                   "ioctl:d:GROUP_GET_STATUS:ptr:8", "ioctl:d:0x3b99",
                   "e=ioctl:g:GROUP_GET_DEVICE_FD:str:" + BDF, "cloexec:e",
                   "pread:e:0x70000000000:2")
    assert res[len(GCID):] == [
        "1",                    # installed O_CLOEXEC
        "rdwr",
        "361bf011",             # config: vendor 0x1b36, device 0x11f0
        "444d4154",             # read() at f_pos 0: BAR0's first register
        "444d4154",
        "ENODEV",               # mmap of a direct_io FUSE file
        # lseek: the kernel's device fd has no llseek (ESPIPE); FUSE cannot
        # refuse it and keep pread, so the fake's moves f_pos.
        "4",
        "0 out=1400000003000000090000000500000000000000",
        "ENOTTY", "ENOTTY",
        "ok", "1", "361b"]


def region_info(index, argsz=32):
    """A vfio_region_info argument for vfio-ioctl: argsz, flags, index."""
    return f"ioctl:d:DEVICE_GET_REGION_INFO:hex:{le32(argsz)}{le32(0)}{le32(index)}/{argsz}"


def region_flags(result):
    """The flags of a GET_REGION_INFO result "0 out=HEX"."""
    assert result.startswith("0 out="), result
    return int.from_bytes(bytes.fromhex(result[6:])[4:8], "little")


R, W, M, CAPS = 0x1, 0x2, 0x4, 0x8       # VFIO_REGION_INFO_FLAG_*


@pytest.mark.parametrize("how", ["default", "option", "topology"])
def test_advertise_mmap(fv, tmp_path, how):
    """--advertise-mmap (topology: advertise-mmap): memory BARs report
    VFIO_REGION_INFO_FLAG_MMAP (the MSI-X BAR also the MSIX_MAPPABLE cap), I/O
    BARs and the config space never; the mmap itself still fails (ENODEV),
    so a client's fallback to read/write is what gets tested."""
    devices = [DEV]
    if how == "option":
        devices = ["--advertise-mmap", DEV]
    elif how == "topology":
        devices = [topo(tmp_path, f"""\
            device dma-test {BDF}
            advertise-mmap
            """)]
    steps = [*GCID, region_info(0), region_info(1), region_info(2, 48), region_info(7),
             "mmap:d:0:4096", "pread:d:0:4"]
    res = fv.steps(*steps, devices=devices)[len(GCID):]
    mmap = M if how != "default" else 0
    # BAR0: 4K mem32; BAR1: I/O; BAR2: 16K mem64 with the MSI-X table; config.
    assert [region_flags(r) for r in res[:4]] == [R | W | mmap, R | W,
                                                  R | W | mmap | (CAPS if mmap else 0), R | W]
    if mmap:
        # cap_offset 32: the MSIX_MAPPABLE cap header (id 3, version 1, next 0).
        out = bytes.fromhex(res[2][6:])
        assert (out[12:16], out[32:40]) == (bytes.fromhex(le32(32)),
                                            bytes.fromhex("0300" "0100" "00000000"))
    assert res[4:] == ["ENODEV", "444d4154"]


def test_group_held_by_device_fds(fv):
    """A device fd holds its group: closing the group fd releases nothing
    until the device fds are closed; then the container is detached."""
    res = fv.steps(*GCID, "e=ioctl:g:GROUP_GET_DEVICE_FD:str:" + BDF,
                   "close:g", "h=open:/dev/vfio/100",
                   "ioctl:c:IOMMU_GET_INFO:hex:18000000/24",    # still attached: type1 set
                   "pread:d:0x70000000000:2",
                   "close:d", "h=open:/dev/vfio/100",
                   "close:e", "h=open:/dev/vfio/100",
                   "ioctl:h:GROUP_GET_STATUS:hex:08000000/8",
                   "ioctl:c:IOMMU_GET_INFO:hex:18000000/24",
                   "ioctl:h:GROUP_SET_CONTAINER:fd:c")
    assert res[len(GCID) + 1:len(GCID) + 4] == ["ok", "EBUSY", res[len(GCID) + 3]]
    assert res[len(GCID) + 3].startswith("0 out=")
    assert res[len(GCID) + 4:] == ["361b", "ok", "EBUSY", "ok", "ok", "0 out=0800000001000000",
                                   "EINVAL out=" + le32(24) + "00" * 20, "0"]


def test_group_release_detaches(fv):
    res = fv.steps(*GCI, "map:c:0x100000:0x1000", "close:g", "g=open:/dev/vfio/100",
                   "ioctl:g:GROUP_GET_STATUS:hex:08000000/8",
                   "ioctl:c:IOMMU_GET_INFO:hex:18000000/24",
                   "ioctl:g:GROUP_SET_CONTAINER:fd:c", "ioctl:c:SET_IOMMU:v:3",
                   "unmap:c:0x100000:0x1000")
    assert res[len(GCI):] == ["0", "ok", "ok", "0 out=0800000001000000",
                              "EINVAL out=" + le32(24) + "00" * 20, "0", "0", "0 size=0x0"]


def test_device_fd_emfile(fv):
    """No room in the caller's fd table: EMFILE, and nothing stays open."""
    steps = [*GCI, "x=open:/dev/null", f"d=ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}",
             "ioctl:g:GROUP_UNSET_CONTAINER"]
    res = fv.steps(*steps, prefix=["sh", "-c", 'ulimit -n 6; exec "$@"', "sh"])
    assert res[-2:] == ["EMFILE", "0"]


# ---- threads, processes, races ---------------------------------------------------------

def test_from_a_thread(fv):
    """Every ioctl from a thread that is not the leader: SET_CONTAINER and
    GET_DEVICE_FD resolve fds of its process."""
    res = fv.steps("g=open:/dev/vfio/100", "c=open:/dev/vfio/vfio", "thread",
                   "ioctl:g:GROUP_SET_CONTAINER:fd:c", "ioctl:c:SET_IOMMU:v:3",
                   "map:c:0x100000:0x1000",
                   f"d=ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "pread:d:0x70000000000:2",
                   "ioctl:g:GROUP_SET_CONTAINER:fd:999",
                   "close:d", "ioctl:g:GROUP_UNSET_CONTAINER")
    assert res == ["ok", "ok", "tid!=pid", "0", "0", "0", "ok", "361b", "EBADF", "ok", "0"]


def test_racing_opens(fv, tmp_path):
    """Eight processes open the group at once: exactly one gets it."""
    script = tmp_path / "race.sh"
    script.write_text(textwrap.dedent(f"""\
        for i in 1 2 3 4 5 6 7 8; do
            {fv.ioctl} g=open:/dev/vfio/100 sleep:500 &
        done
        wait
        """))
    status, out, err = fv.run([DEV], ["sh", str(script)])
    assert (status, err) == (0, "")
    opens = [l for l in out.splitlines() if l.startswith("g=open")]
    assert sorted(opens) == ["g=open:/dev/vfio/100 -> EBUSY"] * 7 + ["g=open:/dev/vfio/100 -> ok"]


def test_close_then_open(fv, tmp_path):
    """FUSE releases after close(2) returns; the kernel at once.  A close
    followed at once by an open (or UNSET_CONTAINER, or a new device open)
    must not see the old file."""
    res = fv.steps("g=open:/dev/vfio/100", "reopen:g:/dev/vfio/100:2000")
    assert res == ["ok", "ok"]
    # Whole processes, one after the other (exit closes the fds).
    status, out, err = fv.run([DEV], ["sh", "-c",
                                      f"for i in $(seq 30); do {fv.probe} 100 {BDF} >/dev/null "
                                      "|| exit 1; done; echo ok"])
    assert (status, out, err) == (0, "ok\n", "")
    loop = []
    for _ in range(20):
        loop += [f"d=ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}", "close:d",
                 "ioctl:g:GROUP_UNSET_CONTAINER", "ioctl:g:GROUP_SET_CONTAINER:fd:c",
                 "ioctl:c:SET_IOMMU:v:3"]
    res = fv.steps(*GCI, *loop)
    assert res[len(GCI):] == ["ok", "ok", "0", "0", "0"] * 20


def test_dup_keeps_group_open(fv, tmp_path):
    """A close that is not the last (the file lives in a child) keeps the
    group busy: the waiting open gives up with EBUSY."""
    script = tmp_path / "dup.py"
    script.write_text(textwrap.dedent(f"""\
        import os, time
        fd = os.open("/dev/vfio/100", os.O_RDWR)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        os.close(fd)                # the child still has it
        t = time.monotonic()
        try:
            os.open("/dev/vfio/100", os.O_RDWR)
            print("open ok")
        except OSError as e:
            print("open", os.strerror(e.errno), time.monotonic() - t < 2)
        os.close(w)
        os.waitpid(pid, 0)
        fd = os.open("/dev/vfio/100", os.O_RDWR)
        print("after the child: ok")
        """))
    status, out, err = fv.run([DEV], [PY, str(script)])
    assert (status, err) == (0, "")
    assert out == "open Device or resource busy True\nafter the child: ok\n"


# ---- callers outside the namespace ----------------------------------------------------

# CMD for the outsider tests: opens a container, the group and a device fd,
# checks that a child of its own that moved to a new mount namespace is
# refused (also its GET_DEVICE_FD, which the supervisor lets go on to the
# FUSE ioctl), prints its pid and fd numbers, and waits for a line on stdin.
HOLDER = r"""
import ctypes, errno, fcntl, json, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
g = os.open("/dev/vfio/100", os.O_RDWR)
c = os.open("/dev/vfio/vfio", os.O_RDWR)
fcntl.ioctl(g, 0x3b68, struct.pack("i", c))             # GROUP_SET_CONTAINER
fcntl.ioctl(c, 0x3b66, 3)                               # SET_IOMMU TYPE1v2
r, w = os.pipe()
child = os.fork()
if child == 0:
    res = {"unshare": libc.unshare(0x20000)}              # CLONE_NEWNS
    for name, call in [("api", lambda: fcntl.ioctl(c, 0x3b64)),
                       ("device", lambda: fcntl.ioctl(g, 0x3b6a, bytearray(b"BDF\0"))),
                       ("reopen", lambda: os.open("/dev/vfio/vfio", os.O_RDWR))]:
        try:
            res[name] = call()
        except OSError as e:
            res[name] = errno.errorcode[e.errno]
    os.write(w, json.dumps(res).encode())
    os._exit(0)
os.close(w)
os.waitpid(child, 0)
moved = json.loads(os.read(r, 4096))
d = fcntl.ioctl(g, 0x3b6a, bytearray(b"BDF\0"))        # GET_DEVICE_FD: still ours
print(json.dumps({"pid": os.getpid(), "c": c, "g": g, "d": d, "moved": moved}), flush=True)
sys.stdin.readline()
print(fcntl.ioctl(c, 0x3b64), os.pread(d, 2, 0x70000000000).hex(), flush=True)
""".replace("BDF", BDF)


def pidfd_getfd(pid, fd):
    """A duplicate of fd of process pid (pidfd_open, pidfd_getfd)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        new = libc.syscall(438, pidfd, fd, 0)        # SYS_pidfd_getfd (x86-64)
        if new < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return new
    finally:
        os.close(pidfd)


def err_of(call):
    try:
        return call()
    except OSError as e:
        return errno.errorcode[e.errno]


def test_outsider_is_refused(fv, tmp_path):
    """A process outside fakevfio's mount namespace -- here the test itself,
    reaching the files through /proc/<CMD>/root, or with duplicates of CMD's
    fds -- gets EPERM for every open, ioctl, read and write, and so does a
    descendant of CMD that moved to a mount namespace of its own.  The sysfs
    files stay readable.  CMD itself goes on unharmed."""
    import fcntl
    import json
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    trace = tmp_path / "trace.log"
    p = fv.start([f"--trace={trace}", DEV], [PY, str(script)], stdin=subprocess.PIPE)
    info = json.loads(p.stdout.readline())
    assert info["moved"] == {"unshare": 0, "api": "EPERM", "device": "EPERM",
                             "reopen": "EPERM"}
    root = f"/proc/{info['pid']}/root"
    res = {
        "container": err_of(lambda: os.open(f"{root}/dev/vfio/vfio", os.O_RDWR)),
        "group": err_of(lambda: os.open(f"{root}/dev/vfio/100", os.O_RDWR)),
        "fd-link": err_of(lambda: os.open(f"/proc/{info['pid']}/fd/{info['c']}", os.O_RDWR)),
    }
    c = pidfd_getfd(info["pid"], info["c"])
    d = pidfd_getfd(info["pid"], info["d"])
    g = pidfd_getfd(info["pid"], info["g"])
    res["api"] = err_of(lambda: fcntl.ioctl(c, 0x3b64))                 # GET_API_VERSION
    res["status"] = err_of(lambda: fcntl.ioctl(g, 0x3b67, bytearray(8)))  # GET_STATUS
    res["info"] = err_of(lambda: fcntl.ioctl(d, 0x3b6b, bytearray(16)))   # DEVICE_GET_INFO
    res["pread"] = err_of(lambda: os.pread(d, 2, 0x70000000000))
    res["pwrite"] = err_of(lambda: os.pwrite(d, b"\0", 0x70000000000 + 0x40))
    res["read"] = err_of(lambda: os.read(c, 4))
    with open(f"{root}/sys/bus/pci/devices/{BDF}/vendor") as f:
        res["vendor"] = f.read()
    for fd in (c, d, g):
        os.close(fd)
    p.stdin.write("\n")
    p.stdin.close()
    assert p.stdout.read() == "0 361b\n"       # CMD: its own calls still work
    assert p.wait(30) == 0
    assert p.stderr.read() == ""
    assert res == {"container": "EPERM", "group": "EPERM", "fd-link": "EPERM",
                   "api": "EPERM", "status": "EPERM", "info": "EPERM", "pread": "EPERM",
                   "pwrite": "EPERM", "read": "EPERM", "vendor": "0x1b36\n"}
    # The trace shows the refusals under the outsider's pid, arguments unread.
    mine = [l.split(" ", 2)[2].rsplit(" us=", 1)[0] for l in trace.read_text().splitlines()
            if f" pid={os.getpid()} " in l]
    assert mine[:3] == ["obj=container:2 op=open flags=0x8002 ret=-EPERM",
                        "obj=group:100 op=open flags=0x8002 ret=-EPERM",
                        "obj=container:2 op=open flags=0x8002 ret=-EPERM"], mine
    assert mine[3] == "obj=container:1 op=ioctl name=VFIO_GET_API_VERSION cmd=0x3b64 ret=-EPERM"
    assert mine[4].startswith("obj=group:100 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 "
                              "arg=0x")
    assert "argsz" not in mine[4]


# ---- where the seccomp supervisor cannot help ----------------------------------------

def test_outside_the_filter(fv, tmp_path):
    """A process that entered the namespace from outside (not a descendant
    of CMD) has no seccomp filter: its GET_DEVICE_FD reaches the FUSE ioctl,
    which checks it and refuses to pretend (EOPNOTSUPP)."""
    p = fv.start([DEV], ["sh", "-c", "echo ready; read x"], stdin=subprocess.PIPE)
    assert p.stdout.readline() == "ready\n"
    steps = [*GCI, "ioctl:g:GROUP_GET_DEVICE_FD:str:0000:03:00.1",
             f"ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}"]
    r = subprocess.run(["nsenter", f"--mount=/proc/{p.pid}/ns/mnt", fv.ioctl, *steps],
                       capture_output=True, text=True, timeout=30)
    p.stdin.write("\n")
    p.stdin.close()
    assert p.wait(30) == 0
    assert r.stderr == ""
    assert [l.split(" -> ")[1] for l in r.stdout.splitlines()][-2:] == ["ENODEV", "EOPNOTSUPP"]


def test_nested_run(fv):
    """fakevfio inside fakevfio: one seccomp listener per task, so the inner
    run's devices cannot be opened (EOPNOTSUPP); everything else works."""
    inner = [fv.binary, "run", "--device", "dma-test@5:0.0", "--", fv.ioctl,
             *GCI, f"ioctl:g:GROUP_GET_DEVICE_FD:str:0000:05:00.0"]
    status, out, err = fv.run([DEV], inner)
    assert (status, err) == (0, "")
    assert [l.split(" -> ")[1] for l in out.splitlines()] == ["ok", "ok", "0", "0", "EOPNOTSUPP"]


# ---- what the device asks of the core (FvVdevHost) --------------------------------------

CFG = 0x70000000000     # the config region's offset (index 7 << 40)


def test_device_dma_through_the_container(fv):
    """The dma-test engine fills 16 bytes at IOVA 0x100000 (mapped) and then
    at 0x200000 (not mapped): the container's IOMMU translates the first
    and refuses the second (the device records the fault)."""
    fill = lambda dst: [f"pwrite:d:0x18:{dst.to_bytes(8, 'little').hex()}",
                        "pwrite:d:0x20:10000000", "pwrite:d:0x24:efbeadde",
                        "pwrite:d:0x28:02000000", "pwrite:d:0x2c:01000000",
                        "pread:d:0x30:4"]
    res = fv.steps(*GCID, "map:c:0x100000:0x1000", f"pwrite:d:{CFG + 4}:0600",
                   *fill(0x100000), "pread:d:0x34:4", *fill(0x200000), "pread:d:0x38:8")
    n = len(GCID) + 2
    assert res[n:n + 6] == ["8", "4", "4", "4", "4", "02000000"]     # DONE
    assert res[n + 6] == "01000000"                                   # one completion
    status = int.from_bytes(bytes.fromhex(res[n + 12]), "little")
    assert status & 0x6 == 0x6 and status >> 8                        # DONE | ERROR, a cause
    assert res[n + 13] == (0x200000).to_bytes(8, "little").hex()      # FAULT_IOVA


@pytest.mark.parametrize("fd,expect", [(3, "0"), (4, "EINVAL"), (5, "EINVAL"), (999, "EBADF")])
def test_hot_reset_group_fds(fv, fd, expect):
    """PCI_HOT_RESET names groups by fds of the caller: the core resolves
    them (g is fd 3, c 4, d 5)."""
    arg = "hex:" + le32(16) + le32(0) + le32(1) + le32(fd)
    assert fv.last(*GCID, f"ioctl:d:DEVICE_PCI_HOT_RESET:{arg}") == \
        expect + " out=" + arg[4:]


EVENTS = """
import os, socket
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["FAKEVFIO_CONTROL"])
s.sendall(b"events\\n")
f = s.makefile("r")
for line in f:
    if line.startswith("last="):
        break
    print(line.split(" ", 2)[2], end="")
"""


def test_reset_events(fv, tmp_path):
    """Resets user space asks for are events: VFIO_DEVICE_RESET and an FLR
    through the PCIe Device Control (FLR: the device's first method), and a
    hot reset (every function of the bus).  The resets of open and close
    are not."""
    ev = tmp_path / "events.py"
    ev.write_text(EVENTS)
    hot = "hex:" + le32(16) + le32(0) + le32(1) + le32(3)
    steps = [*GCID, "ioctl:d:DEVICE_RESET", f"pwrite:d:{CFG + 0x78}:0080",
             f"ioctl:d:DEVICE_PCI_HOT_RESET:{hot}"]
    status, out, err = fv.run(["dma-test@3:0.0,group=100", "dma-test@3:0.1,group=100"],
                              ["sh", "-c", f'{fv.ioctl} "$@" && exec {PY} {ev}', "sh", *steps])
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert [l.split(" -> ")[1] for l in lines[len(GCID):len(GCID) + 3]] == \
        ["0", "2", "0 out=" + hot[4:]]
    assert lines[len(GCID) + 3:] == [
        f"kind=reset device={BDF} how=flr",
        f"kind=reset device={BDF} how=flr",
        f"kind=reset device={BDF} how=hot",
        "kind=reset device=0000:03:00.1 how=hot",
    ]


def test_faults_on_device_fd(fv, tmp_path):
    """Fault rules on the seccomp GET_DEVICE_FD path (the group ioctl, then
    open-device once the name resolves) and on region reads; the trace
    shows each."""
    t = topo(tmp_path, f"""\
        device dma-test {BDF}
        fault VFIO_GROUP_GET_DEVICE_FD errno=EAGAIN count=1
        fault open-device device={BDF} errno=EIO count=1
        fault region-read region=CONFIG errno=ENXIO after=1 count=1
        fault VFIO_DEVICE_GET_INFO errno=ENOSPC count=1
        """)
    trace = tmp_path / "trace.log"
    dfd = f"d=ioctl:g:GROUP_GET_DEVICE_FD:str:{BDF}"
    res = fv.steps(*GCI, dfd, dfd, dfd, "pread:d:0x70000000000:2", "pread:d:0x70000000000:2",
                   "pread:d:0x70000000000:2", "ioctl:d:DEVICE_GET_INFO:hex:14000000/20",
                   devices=[f"--trace={trace}", t])
    assert res[len(GCI):] == ["EAGAIN", "EIO", "ok", "361b", "ENXIO", "361b",
                              "ENOSPC out=1400000000000000000000000000000000000000"]
    body = [l.split(" ", 2)[2].rsplit(" us=", 1)[0] for l in trace.read_text().splitlines()]
    get = [b for b in body if "GET_DEVICE_FD" in b or "op=open flags=0x2 " in b]
    name = f"name=VFIO_GROUP_GET_DEVICE_FD cmd=0x3b6a name={BDF}"
    assert get == [f"obj=group:100 op=ioctl {name} ret=-EAGAIN injected=1",
                   f"obj=device:{BDF} op=open flags=0x2 ret=-EIO injected=1",
                   f"obj=group:100 op=ioctl {name} ret=-EIO",
                   f"obj=device:{BDF} op=open flags=0x2 ret=0",
                   f"obj=group:100 op=ioctl {name} ret=5"], body
    reads = [b for b in body if " op=read " in b]
    # data=: the bytes a read returned (none when it failed).
    assert reads == [f"obj=device:{BDF} op=read region=CONFIG offset=0x0 size=2 data=361b ret=2",
                     f"obj=device:{BDF} op=read region=CONFIG offset=0x0 size=2 ret=-ENXIO "
                     "injected=1",
                     f"obj=device:{BDF} op=read region=CONFIG offset=0x0 size=2 data=361b ret=2"]
    assert body[-4] == (f"obj=device:{BDF} op=ioctl name=VFIO_DEVICE_GET_INFO cmd=0x3b6b "
                        "argsz=20 ret=-ENOSPC injected=1"), body
    # The releases at exit come in any order.
    assert sorted(body[-3:]) == ["obj=container:1 op=close ret=0",
                                 f"obj=device:{BDF} op=close ret=0",
                                 "obj=group:100 op=close ret=0"], body


def test_files_left_open_at_exit(fv):
    """CMD exits while an orphan still holds the group, a container and a
    device fd: fakevfio cleans up what FUSE never released, and the orphan's
    fds then fail (ENOTCONN)."""
    status, out, err = fv.run([DEV], ["sh", "-c", f"{fv.ioctl} {' '.join(GCID)} echo:held "
                                      "sleep:1000 pread:d:0x70000000000:2 >$0 & sleep 0.5",
                                      str(fv.tmp / "orphan")])
    assert (status, out, err) == (0, "", "")
    end = time.monotonic() + 5
    while "pread" not in (fv.tmp / "orphan").read_text() and time.monotonic() < end:
        time.sleep(0.05)
    lines = (fv.tmp / "orphan").read_text().splitlines()
    assert lines[len(GCID):] == ["echo:held -> held", "sleep:1000 -> ok",
                                 "pread:d:0x70000000000:2 -> ENOTCONN"]


def test_helper_reports_exec_errors(fv):
    """Through the helper, CMD's exec errors read as without it."""
    env = dict(os.environ, FAKEVFIO_SECCOMP_HELPER="1")
    garbage = fv.tmp / "garbage"           # passes the checks, fails in execve
    garbage.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    garbage.chmod(0o755)
    status, out, err = fv.run([DEV], [str(garbage)], env=env)
    assert (status, out, err) == (126, "", f"fakevfio: cannot run '{garbage}': Exec format error\n")
    status, out, err = fv.run([DEV], ["sh", "-c", "exit 7"], env=env)
    assert (status, out, err) == (7, "", "")
