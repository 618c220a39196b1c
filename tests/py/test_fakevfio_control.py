# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests of `fakevfio run --topology`, `--trace` and the control
socket ($FAKEVFIO_CONTROL), through the real binary, as root.

The fixtures (`fv`: a fakevfio per test in its own process group, killed at
teardown; `host_unchanged`: nothing left on the host afterwards) are the
ones of test_fakevfio_run.py.

With a container and a device fd (fakevfio/vfio.c, fakevfio/vdev.c): the
trace lines of ioctls, fault rules firing on them, dumps, device DMA.
"""
import errno
import json
import os
import re
import subprocess

import pytest

from test_fakevfio_run import (PY, fv, host_unchanged, read, script,  # noqa: F401
                               wait_for)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="fakevfio run needs root (mount namespaces)")

# A client run as CMD: sends each request of argv[1] (a JSON list; a string
# is one request line, a list of strings is raw chunks sent as they are) on
# one connection and prints the responses as a JSON list.
CLIENT = r"""
import json, os, socket, sys

def response(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            lines.append("<EOF>")
            return lines
        lines.append(l.rstrip("\n"))
        if l == "ok\n" or l.startswith("error "):
            return lines

path = os.environ["FAKEVFIO_CONTROL"]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
f = s.makefile("r", encoding="latin-1", newline="\n")
out = []
for r in json.loads(sys.argv[1]):
    if isinstance(r, list):
        for chunk in r:
            s.sendall(chunk.encode("latin-1"))
    else:
        s.sendall(r.encode("latin-1") + b"\n")
    out.append(response(f))
print(json.dumps({"path": path, "responses": out}))
"""


def control(fv, tmp_path, requests, args=("--device", "dma-test@00:05.0"), pre=""):
    """Run CMD = (shell snippet pre, then) the client with requests; return
    its responses (one list of lines per request) and the socket path."""
    prog = script(tmp_path, "client.py", CLIENT)
    cmd = f"{pre}exec {PY} {prog} '{json.dumps(requests)}'"
    status, out, err = fv.run("run", *args, "--", "sh", "-c", cmd)
    assert (status, err) == (0, ""), err
    res = json.loads(out)
    return res["responses"], res["path"]


def strip_heads(lines):
    """Event lines without their "seq=N t=S " heads."""
    return [re.sub(r"^seq=\d+ t=\d+\.\d{6} ", "", l) for l in lines]


# ---- topology files --------------------------------------------------------

TOPOLOGY = """\
# Two groups of two, and a device of its own.
platform x86
device dma-test      0000:03:00.0 group=26
device chelsio-t5-vf 0000:03:00.1 group=26   # the T5 VF beside it
device dma-test      04:00.0      group=7 msix_vectors=16
device dma-test      04:00.1      group=7 driver=nvme   # a host driver: not viable
device dma-test      05:00.0      intx=off
"""

INSPECT = r"""
import json, os
groups = {g: sorted(os.listdir(f"/sys/kernel/iommu_groups/{g}/devices"))
          for g in os.listdir("/sys/kernel/iommu_groups")}
print(json.dumps({"groups": groups, "devices": sorted(os.listdir("/sys/bus/pci/devices")),
                  "dev_vfio": sorted(os.listdir("/dev/vfio"))}))
"""


def test_topology_machine(fv, tmp_path):
    topo = script(tmp_path, "m.topo", TOPOLOGY)
    prog = script(tmp_path, "inspect.py", INSPECT)
    status, out, err = fv.run("run", "--topology", topo, "--device", "dma-test@6:0.0",
                              "--", PY, prog)
    assert (status, err) == (0, "")
    res = json.loads(out)
    assert res["groups"] == {
        "26": ["0000:03:00.0", "0000:03:00.1"],
        "7": ["0000:04:00.0", "0000:04:00.1"],
        "100": ["0000:05:00.0"],
        "101": ["0000:06:00.0"],        # --device comes after the file's devices
    }
    assert res["devices"] == ["0000:03:00.0", "0000:03:00.1", "0000:04:00.0", "0000:04:00.1",
                              "0000:05:00.0", "0000:06:00.0"]
    assert res["dev_vfio"] == ["100", "101", "26", "7", "vfio"]


DRIVERS = r"""
import json, os
d = "/sys/bus/pci/devices"
print(json.dumps({
    "link": {b: os.readlink(f"{d}/{b}/driver") for b in sorted(os.listdir(d))},
    "real": {b: os.path.realpath(f"{d}/{b}/driver") for b in sorted(os.listdir(d))},
    "drivers": {n: sorted(os.listdir(f"/sys/bus/pci/drivers/{n}"))
                for n in sorted(os.listdir("/sys/bus/pci/drivers"))},
}))
"""


def test_topology_host_driver_names(fv, tmp_path):
    """driver=NAME: the device's driver link leads to a drivers/NAME of its
    own (lspci -k names it); vfio-pci stays the default, also with no device."""
    topo = script(tmp_path, "d.topo", "device dma-test 3:0.0 group=5\n"
                  "device dma-test 3:0.1 group=5 driver=mlx5_core\n"
                  "device dma-test 4:0.0 group=6 driver=vfio-pci\n"
                  "device dma-test 4:0.1 group=6 driver=host\n"
                  "device dma-test 4:0.2 group=6 driver=mlx5_core\n")
    prog = script(tmp_path, "drivers.py", DRIVERS)
    status, out, err = fv.run("run", "--topology", topo, "--", PY, prog)
    assert (status, err) == (0, "")
    res = json.loads(out)
    assert res["link"] == {
        "0000:03:00.0": "../../../../bus/pci/drivers/vfio-pci",
        "0000:03:00.1": "../../../../bus/pci/drivers/mlx5_core",
        "0000:04:00.0": "../../../../bus/pci/drivers/vfio-pci",
        "0000:04:00.1": "../../../../bus/pci/drivers/host",
        "0000:04:00.2": "../../../../bus/pci/drivers/mlx5_core",
    }
    assert res["real"]["0000:03:00.1"] == "/sys/bus/pci/drivers/mlx5_core"
    assert res["drivers"] == {
        "host": ["0000:04:00.1"],
        "mlx5_core": ["0000:03:00.1", "0000:04:00.2"],
        "vfio-pci": ["0000:03:00.0", "0000:04:00.0"],
    }
    status, out, err = fv.run("run", "--topology", topo, "--", "lspci", "-k")
    assert status == 0, err
    drivers = re.findall(r"^(\S+) .*\n(?:\t.*\n)*?\tKernel driver in use: (\S+)$", out, re.M)
    assert drivers == [("03:00.0", "vfio-pci"), ("03:00.1", "mlx5_core"),
                       ("04:00.0", "vfio-pci"), ("04:00.1", "host"),
                       ("04:00.2", "mlx5_core")], out
    # Only vfio-pci when every device is on it.
    status, out, err = fv.run("run", "--device", "dma-test@3:0.0", "--",
                              "ls", "/sys/bus/pci/drivers")
    assert (status, out, err) == (0, "vfio-pci\n", "")


def test_topology_parameters_and_driver(fv, tmp_path):
    topo = script(tmp_path, "m.topo", TOPOLOGY)
    resp, _ = control(fv, tmp_path, ["dump device 4:0.1", "dump device 4:0.0",
                                     "irq 5:0.0 INTX"], args=("--topology", topo))
    assert resp[0][0] == ("device=0000:04:00.1 model=dma-test group=7 driver=nvme irq=16 "
                          "numa_node=-1")
    assert resp[1][0] == ("device=0000:04:00.0 model=dma-test group=7 driver=vfio-pci irq=16 "
                          "numa_node=-1")
    assert "irq mode=intx pin=1 intx_asserted=0 msi_enabled=0 msi_vectors=0 msix_enabled=0 " \
           "msix_vectors=16" in resp[1]
    # intx=off reached the model.
    assert resp[2] == ["error EOPNOTSUPP 0000:05:00.0 has no INTx pin"]


@pytest.mark.parametrize("text,msg", [
    ("platform x86\nplatform x86\n", "{f}:2:1: platform given twice (first on line 1)"),
    ("platform arm\n", "{f}:1:10: unknown platform 'arm' (expected x86 or pseries)"),
    ("\n\ndevcie dma-test 1:0.0\n",
     "{f}:3:1: unknown directive 'devcie' (expected platform, device, fault or "
     "advertise-mmap)"),
    ("advertise-mmap\nadvertise-mmap\n",
     "{f}:2:1: advertise-mmap given twice (first on line 1)"),
    ("device nosuch 1:0.0\n",
     "{f}:1:8: unknown model 'nosuch' (known models: chelsio-t5-vf, dma-test, profile)"),
    ("device dma-test 1:0.8\n", "{f}:1:17: bad BDF '1:0.8': function 8 is out of range (0-7)"),
    ("device dma-test 1:0.0\ndevice dma-test 01:00.0\n",
     "{f}:2:17: 0000:01:00.0 is already used on line 1"),
    ("device dma-test 1:0.0 group=x\n",
     "{f}:1:29: bad group 'x': expected a decimal number 0-2147483647"),
    ("device dma-test 1:0.0 driver=../x\n",
     "{f}:1:30: bad driver '../x': expected vfio-pci or a host driver's name (1-63 of "
     "A-Z a-z 0-9 _ . -, not starting with . or -)"),
    ("device dma-test 1:0.0 msi_vectors=3\n",
     "{f}:1:8: dma-test: parameter msi_vectors=3: not 0 or a power of two up to 32"),
    ("device dma-test 1:0.0 colour=red\n",
     "{f}:1:8: model dma-test has no parameter 'colour'"),
    ("device dma-test 1:0.0 driver=host\n",
     "{f}:1:23: group 100 has no device bound to vfio-pci (every device in it is "
     "on a host driver), so it would have no /dev/vfio/100"),
    ("fault VFIO_IOMMU_MAP_DMA errno=EWHAT\n",
     "{f}:1:26: unknown errno 'EWHAT': expected a name such as EBUSY or a number 1-4095"),
    ("platform pseries tce=v9\n", "{f}:1:22: bad tce 'v9' (expected v1, v2 or both)"),
    ("device dma-test 1:0.0 file=\"x\n",
     "{f}:1:23: unterminated quote (a '\"' is missing before the end of the line)"),
    ("device\tdma-test\x01\n", "{f}:1:16: unexpected control character 0x01 (a topology "
     "file is text)"),
])
def test_topology_errors(fv, tmp_path, text, msg):
    topo = tmp_path / "bad.topo"
    topo.write_text(text)
    status, out, err = fv.run("run", "--topology", str(topo), "--", "true")
    assert (status, out) == (125, "")
    assert err == "fakevfio: " + msg.format(f=topo) + "\n"


def test_topology_file_errors(fv, tmp_path):
    status, out, err = fv.run("run", "--topology", str(tmp_path / "none"), "--", "true")
    assert (status, out, err) == (125, "", f"fakevfio: {tmp_path}/none: cannot open: "
                                  "No such file or directory\n")
    status, out, err = fv.run("run", "--topology", str(tmp_path), "--", "true")
    assert (status, out, err) == (125, "", f"fakevfio: {tmp_path}: is a directory, "
                                  "not a topology file\n")


def test_topology_and_device_conflicts(fv, tmp_path):
    topo = script(tmp_path, "m.topo", "\n\ndevice dma-test 3:0.0\n")
    status, out, err = fv.run("run", "--topology", topo, "--device", "dma-test@0000:03:00.0",
                              "--", "true")
    assert (status, out) == (125, "")
    assert err == (f"fakevfio: --device 'dma-test@0000:03:00.0': 0000:03:00.0 is already "
                   f"taken by a dma-test device ({topo}:3)\n")
    # --platform wins over the file's platform.
    topo = script(tmp_path, "p.topo", "platform pseries\ndevice dma-test 3:0.0\n")
    status, out, err = fv.run("run", "--platform", "x86", "--topology", topo, "--",
                              "cat", "/sys/bus/pci/devices/0000:03:00.0/vendor")
    assert (status, out, err) == (0, "0x1b36\n", "")


# ---- the control socket ----------------------------------------------------

def test_control_basics(fv, tmp_path):
    resp, path = control(fv, tmp_path, [
        "help",
        "irq 00:05.0 MSIX 0",           # nobody listens: harmless
        "irq 00:05.0 MSI 3",
        "irq 00:05.0 REQ",
        "intx 00:05.0 1",
        "intx 00:05.0 0",
        "aer 00:05.0 correctable BAD_TLP",
        "reset 00:05.0",
        "events",
        "events 6",
        "irq 00:09.0 MSIX 0",
        "irq 00:05.0 NMI",
        "launch missiles",
    ])
    assert re.fullmatch(r"/proc/\d+/fd/\d+/control", path)
    assert resp[0][0].startswith("help ")
    assert resp[0][-1] == "ok" and len(resp[0]) == 13
    assert resp[1:8] == [["result=dropped", "ok"], ["result=dropped", "ok"],
                         ["result=delivered", "ok"], ["line=asserted", "ok"],
                         ["line=deasserted", "ok"], ["result=logged", "ok"], ["ok"]]
    assert strip_heads(resp[8]) == [
        "kind=raise device=0000:00:05.0 index=MSIX vector=0 result=dropped",
        "kind=raise device=0000:00:05.0 index=MSI vector=3 result=dropped",
        "kind=raise device=0000:00:05.0 index=REQ vector=0 result=delivered",
        "kind=intx device=0000:00:05.0 level=1",
        "kind=intx device=0000:00:05.0 level=0",
        "kind=aer device=0000:00:05.0 severity=correctable status=0x00000040",
        "kind=reset device=0000:00:05.0 how=flr",
        "last=7 lost=0",
        "ok",
    ]
    assert re.fullmatch(r"seq=1 t=\d+\.\d{6} kind=raise .*", resp[8][0])
    assert strip_heads(resp[9]) == ["kind=reset device=0000:00:05.0 how=flr", "last=7 lost=0",
                                    "ok"]
    assert resp[10] == ["error ENODEV no device 0000:00:09.0 in this machine"]
    assert resp[11] == ["error EINVAL bad IRQ index 'NMI': expected INTX, MSI, MSIX, ERR, REQ "
                        "or 0-4"]
    assert resp[12] == ["error EINVAL unknown command 'launch' (try 'help')"]


# Enable Bus Master through sysfs config (PCI_COMMAND, offset 4).
BUS_MASTER = ("printf '\\006\\000' | dd of=/sys/bus/pci/devices/0000:00:05.0/config bs=1 seek=4 "
              "conv=notrunc status=none && ")


def test_control_dma_without_container(fv, tmp_path):
    resp, _ = control(fv, tmp_path, [
        "dma-write 00:05.0 0x1000 de:ad:be:ef",
        "dma-read 00:05.0 0x1000 4",
        "events",
    ], pre=BUS_MASTER)
    # The device's group is in no container: no IOMMU translation.
    assert resp[0] == ["error ENODEV 0000:00:05.0: DMA write of 4 bytes at IOVA 0x1000 "
                       "failed: no IOMMU translation (the device's group is in no container)"]
    assert resp[1] == ["error ENODEV 0000:00:05.0: DMA read of 4 bytes at IOVA 0x1000 "
                       "failed: no IOMMU translation (the device's group is in no container)"]
    assert strip_heads(resp[2]) == [
        "kind=dma device=0000:00:05.0 iova=0x1000 size=0x4 dir=write err=ENODEV",
        "kind=dma device=0000:00:05.0 iova=0x1000 size=0x4 dir=read err=ENODEV",
        "last=2 lost=0", "ok"]
    # Without Bus Master nothing is attempted.
    resp, _ = control(fv, tmp_path, ["dma-write 00:05.0 0x1000 00"])
    assert resp[0] == ["error EACCES 0000:00:05.0: DMA write of 1 bytes at IOVA 0x1000 not "
                       "attempted: Bus Master is disabled (PCI_COMMAND)"]


def test_control_dump_device(fv, tmp_path):
    resp, _ = control(fv, tmp_path, ["dump device 00:05.0", "dump mappings", "dump"])
    assert resp[0] == [
        "device=0000:00:05.0 model=dma-test group=100 driver=vfio-pci irq=17 numa_node=-1",
        "ids vendor=0x1b36 device=0x11f0 subsystem_vendor=0x1b36 subsystem_device=0x0001 "
        "class=0x00ff00 revision=0x01 vf=0",
        "config size=4096 command=0x0000 status=0x0010",
        "bar name=BAR0 type=mem32 prefetch=0 size=0x1000 addr=0xe0000000 decodes=0",
        "bar name=BAR1 type=io prefetch=0 size=0x20 addr=0xc000 decodes=0",
        "bar name=BAR2 type=mem64 prefetch=1 size=0x4000 addr=0x800000000 decodes=0",
        "bar name=ROM type=rom prefetch=0 size=0x800 addr=0xe0001000 decodes=0",
        "irq mode=intx pin=1 intx_asserted=0 msi_enabled=0 msi_vectors=0 msix_enabled=0 "
        "msix_vectors=8",
        "resets power-on=0 flr=0 pm=0 hot=0",
        "dma faults=0",
        "vdev open=0",
        "ok",
    ]
    assert resp[1] == ["ok"]          # no container has a mapping
    assert resp[2] == ["error EINVAL usage: dump device BDF | dump mappings"]


def test_control_faults(fv, tmp_path):
    topo = script(tmp_path, "f.topo", "device dma-test 0:5.0\n"
                  "fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1\n")
    resp, _ = control(fv, tmp_path, [
        "faults",
        "fault region-read device=00:05.0 region=CONFIG errno=EIO after=1",
        "fault VFIO_IOMMU_MAP_DMA device=00:05.0 errno=EIO",
        "faults",
        "faults clear",
        "faults",
    ], args=("--topology", topo))
    assert resp == [
        ["id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1 after=0 seen=0 hits=0 left=1", "ok"],
        ["id=2", "ok"],
        ["error EINVAL column 26: device= does not apply to VFIO_IOMMU_MAP_DMA "
         "(a container ioctl)"],
        ["id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1 after=0 seen=0 hits=0 left=1",
         "id=2 op=region-read device=0000:00:05.0 region=CONFIG errno=EIO count=inf after=1 "
         "seen=0 hits=0 left=inf", "ok"],
        ["cleared=2", "ok"],
        ["ok"],
    ]


def test_control_hostile_input(fv, tmp_path):
    resp, _ = control(fv, tmp_path, [
        "x" * 100000,                               # overlong
        "req 00:05.0",                              # and then fine
        "req\x00\x01\xff",                          # binary
        ["re", "q 00", ":05.0\r\n"],                # in pieces, CRLF
        ["\n\n   \nreq 0000:00:05.0\n"],            # blank lines get no answer
        "req 00:05.0 extra",
        "req 12:34",
    ])
    assert resp == [
        ["error E2BIG request line longer than 16384 bytes"],
        ["ok"],
        ["error EINVAL non-printable byte 0x00 at column 4 (requests are lines of text)"],
        ["ok"],
        ["ok"],
        ["error EINVAL usage: req BDF"],
        ["error EINVAL bad BDF '12:34': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1"],
    ]


SEVERAL = r"""
import json, os, socket
socks = []
for i in range(5):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["FAKEVFIO_CONTROL"])
    socks.append(s)
# A client that sends without reading, and one that sends half a line.
socks[0].sendall(b"dump device 00:05.0\n" * 2000)
socks[1].sendall(b"req 00:0")
out = []
for s in socks[2:]:
    s.sendall(b"events 99999\n")
    out.append(s.makefile("r").readline())
socks[1].sendall(b"5.0\n")
out.append(socks[1].makefile("r").readline())
f = socks[0].makefile("r")
oks = 0
while oks < 2000:
    oks += f.readline() == "ok\n"
out.append(oks)
print(json.dumps(out))
"""


def test_control_several_clients(fv, tmp_path):
    prog = script(tmp_path, "several.py", SEVERAL)
    status, out, err = fv.run("run", "--device", "dma-test@00:05.0", "--", PY, prog)
    assert (status, err) == (0, "")
    assert json.loads(out) == ["last=0 lost=0\n"] * 3 + ["ok\n", 2000]


ENV = r"""
import json, os
print(json.dumps({k: os.environ.get(k) for k in ("FAKEVFIO_CONTROL", "FAKEVFIO_TRACE")}))
"""


def test_control_path_and_trace_env(fv, tmp_path):
    prog = script(tmp_path, "env.py", ENV)
    trace = tmp_path / "trace.log"
    trace.write_text("stale\n")
    status, out, err = fv.run("run", "--", PY, prog,
                              env=dict(os.environ, FAKEVFIO_TRACE=str(trace)))
    assert (status, err) == (0, "")
    env = json.loads(out)
    # The trace is fakevfio's: CMD does not inherit the variable.
    assert env["FAKEVFIO_TRACE"] is None
    assert re.fullmatch(r"/proc/\d+/fd/\d+/control", env["FAKEVFIO_CONTROL"])
    # The socket's directory died with fakevfio.
    assert not os.path.exists(env["FAKEVFIO_CONTROL"])
    # Created (truncated) even though CMD made no VFIO operation: only the
    # header describing the machine (no devices here).
    assert read(trace) == "# fakevfio trace v1\n# platform x86\n"
    # --trace wins over the environment.
    other = tmp_path / "other.log"
    status, out, err = fv.run("run", "--trace", str(other), "--", "true",
                              env=dict(os.environ, FAKEVFIO_TRACE=str(tmp_path / "unused")))
    assert (status, out, err) == (0, "", "")
    assert other.exists() and not (tmp_path / "unused").exists()
    status, out, err = fv.run("run", "--trace", str(tmp_path / "no/such/dir"), "--", "true")
    assert (status, out) == (125, "")
    assert err == (f"fakevfio: cannot open the trace file {tmp_path}/no/such/dir: "
                   "No such file or directory\n")


def test_nested_runs_have_their_own_socket(fv, tmp_path, build):
    prog = script(tmp_path, "client.py", CLIENT)
    inner = (f"{fv.binary} run --device dma-test@00:06.0 -- "
             f"{PY} {prog} '{json.dumps(['dump device 00:06.0', 'req 00:05.0'])}'")
    status, out, err = fv.run("run", "--device", "dma-test@00:05.0", "--", "sh", "-c",
                              f"echo $FAKEVFIO_CONTROL; {inner}")
    assert (status, err) == (0, "")
    outer_path, inner_json = out.split("\n", 1)
    res = json.loads(inner_json)
    assert res["path"] != outer_path
    assert res["responses"][0][0].startswith("device=0000:00:06.0 model=dma-test")
    assert res["responses"][1] == ["error ENODEV no device 0000:00:05.0 in this machine"]


# ---- with the VFIO core (skipped until fakevfio/vfio.c lands) -------------

# A VFIO client: container + group, type1v2, then MAP_DMA of a page at IOVA
# 0x100000, then whatever argv[2] asks; prints a JSON report.
VFIO_CLIENT = r"""
import ctypes, errno, fcntl, json, mmap, os, socket, struct, sys
GET_STATUS, SET_CONTAINER, SET_IOMMU, MAP_DMA = 0x3b67, 0x3b68, 0x3b66, 0x3b71
GET_DEVICE_FD = 0x3b6a
group = sys.argv[1]
rep = {}

def ioctl(fd, cmd, arg):
    try:
        return fcntl.ioctl(fd, cmd, arg)
    except OSError as e:
        return errno.errorcode[e.errno]

def ctl(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["FAKEVFIO_CONTROL"])
    s.sendall(req.encode() + b"\n")
    f = s.makefile("r")
    lines = []
    while True:
        l = f.readline()
        lines.append(l.rstrip("\n"))
        if l == "ok\n" or l.startswith("error "):
            return lines

c = os.open("/dev/vfio/vfio", os.O_RDWR)
g = os.open(f"/dev/vfio/{group}", os.O_RDWR)
st = bytearray(struct.pack("II", 8, 0))
rep["status"] = ioctl(g, GET_STATUS, st)
rep["flags"] = struct.unpack("II", st)[1]
rep["set_container"] = ioctl(g, SET_CONTAINER, bytearray(struct.pack("i", c)))
if rep["set_container"] == 0:
    rep["set_iommu"] = ioctl(c, SET_IOMMU, 3)
    buf = mmap.mmap(-1, 4096)
    vaddr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    m = bytearray(struct.pack("IIQQQ", 32, 3, vaddr, 0x100000, 4096))
    rep["map"] = [ioctl(c, MAP_DMA, m), ioctl(c, MAP_DMA, m)]
    for req in sys.argv[2:]:
        if req == "device":
            # A mutable buffer: ioctl() then returns the ioctl's value, the fd.
            r = ioctl(g, GET_DEVICE_FD, bytearray(b"0000:00:05.0\0"))
            rep["device_fd"] = r if isinstance(r, str) else r >= 0
        elif req == "busmaster":
            # The open reset the device: Memory Space and Bus Master again.
            cfg = os.open("/sys/bus/pci/devices/0000:00:05.0/config", os.O_WRONLY)
            os.pwrite(cfg, b"\x06\x00", 4)
            os.close(cfg)
        else:
            rep.setdefault("ctl", []).append(ctl(req))
    rep["buf"] = buf[:8].hex()
print(json.dumps(rep))
"""


def vfio_run(fv, tmp_path, group, *reqs, args=("--device", "dma-test@00:05.0")):
    prog = script(tmp_path, "vfio.py", VFIO_CLIENT)
    status, out, err = fv.run("run", *args, "--", "sh", "-c",
                              BUS_MASTER + f"exec {PY} {prog} {group} " +
                              " ".join(f"'{r}'" for r in reqs))
    assert (status, err) == (0, "")
    return json.loads(out)


def test_trace_lines_for_ioctls(fv, tmp_path):
    trace = tmp_path / "trace.log"
    vfio_run(fv, tmp_path, 100, args=("--device", "dma-test@00:05.0", "--trace", str(trace)))
    lines = read(trace).splitlines()
    # The header: the machine, then the operations.
    assert lines[:3] == ["# fakevfio trace v1",
                         "# device bdf=0000:00:05.0 model=dma-test group=100 driver=vfio-pci "
                         "params=",
                         "# platform x86"]
    lines = lines[3:]
    body = [re.sub(r"^t=\d+\.\d{6} pid=\d+ (.*) us=\d+$", r"\1", l) for l in lines]
    assert all(re.fullmatch(r"t=\d+\.\d{6} pid=\d+ obj=\S+ op=\S+ .*ret=\S+( injected=1)? "
                            r"us=\d+", l) for l in lines), lines
    # (The open flags are what FUSE passes on: O_RDWR and maybe O_LARGEFILE.)
    assert any(re.fullmatch(r"obj=container:1 op=open flags=0x[0-9a-f]*2 ret=0", b)
               for b in body), body
    assert any(re.fullmatch(r"obj=group:100 op=open flags=0x[0-9a-f]*2 ret=0", b)
               for b in body), body
    assert "obj=group:100 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 argsz=8 ret=0" in body
    assert any(re.fullmatch(r"obj=group:100 op=ioctl name=VFIO_GROUP_SET_CONTAINER "
                            r"cmd=0x3b68 fd=\d+ ret=0", b) for b in body)
    assert ("obj=container:1 op=ioctl name=VFIO_SET_IOMMU cmd=0x3b66 arg=3 "
            "type=VFIO_TYPE1v2_IOMMU ret=0") in body
    maps = [b for b in body if "VFIO_IOMMU_MAP_DMA" in b]
    assert len(maps) == 2
    assert re.fullmatch(r"obj=container:1 op=ioctl name=VFIO_IOMMU_MAP_DMA cmd=0x3b71 "
                        r"argsz=32 flags=0x3 vaddr=0x[0-9a-f]+ iova=0x100000 size=0x1000 "
                        r"ret=0", maps[0])
    assert maps[1].endswith(" ret=-EEXIST")
    assert "obj=container:1 op=close ret=0" in body


def test_fault_injected_into_map_dma(fv, tmp_path):
    topo = script(tmp_path, "f.topo", "device dma-test 0:5.0\n"
                  "fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1\n")
    trace = tmp_path / "trace.log"
    rep = vfio_run(fv, tmp_path, 100, "faults",
                   args=("--topology", topo, "--trace", str(trace)))
    # The first MAP_DMA fails as injected, the retry maps.
    assert rep["map"] == ["EBUSY", 0]
    assert rep["ctl"][0] == ["id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1 after=0 seen=1 "
                             "hits=1 left=0", "ok"]
    maps = [l for l in read(trace).splitlines() if "VFIO_IOMMU_MAP_DMA" in l]
    assert maps[0].endswith(" ret=-EBUSY injected=1 us=" + maps[0].rsplit("us=", 1)[1])
    assert " ret=0 " in maps[1]


def test_dump_mappings_and_device_dma(fv, tmp_path):
    # The device DMAs through its container once its fd is open (the device
    # layer then routes the model's DMA to the container's IOMMU).
    rep = vfio_run(fv, tmp_path, 100, "device", "busmaster", "dump mappings",
                   "dma-write 00:05.0 0x100000 0102030405060708",
                   "dma-write 00:05.0 0x200000 00", "events")
    assert rep["map"] == [0, "EEXIST"]
    mapping = rep["ctl"][0]
    assert len(mapping) == 2 and mapping[1] == "ok"
    assert re.fullmatch(r"container=1 iova=0x100000 size=0x1000 vaddr=0x[0-9a-f]+ pid=\d+ "
                        r"prot=rw", mapping[0])
    assert rep["ctl"][1] == ["written=8", "ok"]
    assert rep["buf"] == "0102030405060708"
    assert rep["ctl"][2] == ["error EFAULT 0000:00:05.0: DMA write of 1 bytes at IOVA "
                             "0x200000 failed: IOMMU fault (Bad address)"]
    kinds = strip_heads(rep["ctl"][3])
    assert "kind=iommu-fault device=0000:00:05.0 iova=0x200000 size=0x1 dir=write " \
           "err=EFAULT" in kinds


def test_group_not_viable(fv, tmp_path):
    topo = script(tmp_path, "nv.topo", "device dma-test 0:5.0 group=9\n"
                  "device dma-test 0:5.1 group=9 driver=host\n")
    rep = vfio_run(fv, tmp_path, 9, args=("--topology", topo))
    assert (rep["status"], rep["flags"]) == (0, 0)     # not VFIO_GROUP_FLAGS_VIABLE
    assert rep["set_container"] == "EPERM"


def test_dump_device_with_open_device(fv, tmp_path):
    rep = vfio_run(fv, tmp_path, 100, "device", "dump device 00:05.0")
    assert rep["device_fd"] is True
    dump = rep["ctl"][0]
    assert "vdev open=0" not in dump
    assert any(l.startswith("vdev ") for l in dump)
    assert dump[-1] == "ok"
