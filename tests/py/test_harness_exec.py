# SPDX-License-Identifier: GPL-2.0-or-later
"""`vfio-harness exec`: one scenario run against the passthrough core under
`fakevfio run` (the sim backend) and on this machine's real VFIO (the host
backend, where there is none).  Every test writes its scenario to tmp_path,
runs the real binaries in their own process group and checks the exact
result-protocol lines (harness/exec.h) and messages.
"""
import os
import pathlib
import re
import signal
import subprocess

import pytest

DMA = "0000:03:00.0"
T5 = "0000:04:00.1"
TOPO = f"""device dma-test {DMA}
device chelsio-t5-vf {T5}
device dma-test 05:00.0 group=7
device dma-test 05:00.1 group=7 driver=nvme
"""
DEVS = f"""device d0 dma-test host={DMA}
device t5 chelsio-t5-vf host={T5}
device nv dma-test host=0000:05:00.0 group=7
device nv2 dma-test host=0000:05:00.1 group=7 driver=nvme
"""


def need_fake():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("fakevfio needs root and /dev/fuse")


class Exec:
    def __init__(self, build, tmp):
        self.harness = build / "bin" / "vfio-harness"
        self.fakevfio = build / "bin" / "fakevfio"
        self.tmp = tmp

    def sim(self, text, topo=TOPO):
        """Run the scenario under fakevfio; (rc, result lines, stderr)."""
        need_fake()
        scn = self.tmp / "t.scn"
        scn.write_text(text)
        (self.tmp / "topo").write_text(topo)
        trace = self.tmp / "t.trace"
        argv = [str(self.fakevfio), "run", "--topology", str(self.tmp / "topo"),
                "--trace", str(trace), "--", str(self.harness), "exec",
                "--backend", "sim", "--fake-trace", str(trace),
                "--result-fd", "RESFD", str(scn)]
        return self._exec(argv)

    def host(self, text, *opts):
        scn = self.tmp / "t.scn"
        scn.write_text(text)
        argv = [str(self.harness), "exec", "--backend", "host", *opts,
                "--result-fd", "RESFD", str(scn)]
        return self._exec(argv)

    def _exec(self, argv):
        r, w = os.pipe()
        argv = [str(w) if a == "RESFD" else a for a in argv]
        env = dict(os.environ)
        env.pop("FAKEVFIO_CONTROL", None)
        env.pop("VFIOSIM_TRACE", None)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             pass_fds=(w,), text=True, env=env,
                             start_new_session=True)
        os.close(w)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            os.close(r)
            pytest.fail(f"timeout: {argv}")
        with os.fdopen(r) as f:
            res = f.read().splitlines()
        assert out == ""
        return p.returncode, res, err


@pytest.fixture
def ex(build, tmp_path):
    if not (build / "bin" / "vfio-harness").exists():
        pytest.fail("bin/vfio-harness is not built")
    return Exec(build, tmp_path)


def split(res):
    """(lines before stats, the stats line, the done line)."""
    assert len(res) >= 2, res
    assert re.fullmatch(r"stats steps=\d+ skipped=\d+ ops=\d+ seconds=\d+\.\d{3}",
                        res[-2]), res
    return res[:-2], res[-2], res[-1]


def stat(line, key):
    return int(re.search(rf"\b{key}=(\d+)", line).group(1))


# ---- passing scenarios: every statement family, both models --------------

def test_guest_side_dma_test(ex):
    rc, res, err = ex.sim(DEVS + """
machine ram=64M
attach d0
cfg.read d0 PCI_VENDOR_ID 2 == 0x1b36
cfg.read d0 PCI_VENDOR_ID 4 == 0x11f01b36
cfg.read d0 PCI_VENDOR_ID 4 == 0x1b36 mask=0xffff
cfg.read d0 PCI_VENDOR_ID 2 != 0x8086
expect d0.vendor_id == 0x1b36
expect d0.msix.entries == 8
expect d0.msix.table_bar == 2
expect d0.msix.pba_offset == 0x1000
expect d0.msix.pba_quirk == 0
expect d0.has_flr == 1
expect d0.config_size == 0x1000
expect cap(d0,PCI_CAP_ID_MSIX) == 0xb0
expect cap(d0,PCI_CAP_ID_MSI) == 0x50
expect ecap(d0,PCI_EXT_CAP_ID_ERR) == 0x100
expect cap(d0,0x99) == 0
expect barsize(d0,2) == 0x4000
expect barsize(d0,6) == 0x800
pci.assign d0
expect bar(d0,0) == 0xc0000000
expect bar(d0,2) == 0xc0004000
expect bar(d0,1) == 0xc000
cfg.read d0 PCI_COMMAND 2 == 7 mask=7
bar.read d0 0 0 4 -> id
io.read bar(d0,1) 4 == $id
bar.write d0 0 8 4 0x12345678
mem.read bar(d0,0)+8 4 == 0x12345678
mem.write 0xc0000008 4 0xabcdef01
bar.read d0 0 8 4 == 0xabcdef01
mem.read 0x80000000 4 => error "unassigned"
ram.write 0x2000 01:02:03:04
ram.fill 0x2004 4 0xee
expect.ram 0x2000 01:02:03:04:ee:ee:ee:ee
set n 0
repeat 3 i
  repeat 2
    set n $n+$i
  end
end
expect $n == 6
expect.nowarn
""")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, [], "done pass"), err
    assert stat(stats, "skipped") == 0


def test_interrupts_and_device_side(ex):
    rc, res, err = ex.sim(DEVS + """
attach d0
attach t5
expect t5.msix.pba_quirk == 1
expect t5.msix.pba_offset == 0x1000
pci.assign t5
msix.program t5 1 addr=0xfee00000 data=0x42
msix.enable t5
device.irq t5 msix 1 == delivered
expect.msi addr=0xfee00000 data=0x42
expect t5.interrupt == 3
msix.mask t5 1
device.irq t5 msix 1 == delivered
step 20
msix.pending t5 1 == 1
expect.none ms=20
msix.unmask t5 1
expect.msi data=0x42
msix.pending t5 1 == 0
pci.assign d0
msi.enable d0 addr=0xfee01000 data=0x50
device.irq d0 msi 0 == delivered
expect.msi data=0x50 times=1
expect d0.interrupt == 2
msi.disable d0
device.dma-write d0 0x1000 de:ad:be:ef
expect.ram 0x1000 de:ad:be:ef
device.dma-read d0 0x1000 4 == de:ad:be:ef
device.dma-read d0 0x10000000 4 => errno EFAULT
expect.iommu-fault d0 iova=0x10000000 dir=read
expect.dma-map iova=0 size=64M
expect.dma-map iova=0x10000000 size=0x1000 absent
device.reset d0 flr
expect.event reset device=d0 how=flr
expect.trace VFIO_DEVICE_SET_IRQS obj=device:d0
expect.trace VFIO_DEVICE_SET_IRQS times=0
control "faults" == "ok"
fault VFIO_DEVICE_RESET device=d0 errno=EIO count=1
control "faults" == "op=VFIO_DEVICE_RESET device=0000:03:00.0 errno=EIO count=1"
attach nv => error "not viable"
""")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, [], "done pass"), err


def test_raw_vfio(ex):
    rc, res, err = ex.sim(DEVS + """
vfio.open-container c
vfio.ioctl c VFIO_GET_API_VERSION == VFIO_API_VERSION
vfio.ioctl c VFIO_CHECK_EXTENSION arg=VFIO_TYPE1v2_IOMMU == 1
vfio.open-group g 100
vfio.open-group x 9999 => errno ENOENT
vfio.close c
vfio.close g
""")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, [], "done pass"), err


# ---- failures: exact expected/actual and the trace tail ------------------

def test_check_failure_details(ex, tmp_path):
    rc, res, err = ex.sim(DEVS + "attach d0\ncfg.read d0 PCI_VENDOR_ID 4 == 0x58031425\n"
                          "set never 1\n")
    lines, stats, done = split(res)
    assert rc == 1 and done == "done fail"
    assert lines[:4] == [
        "fail 6:1 expectation failed: cfg.read d0 PCI_VENDOR_ID 4 == 0x58031425",
        "detail expected: 0x58031425",
        "detail actual:   0x11f01b36",
        "detail last VFIO operations (fakevfio trace):"]
    # The tail is the trace's last 8 lines when the check failed: the
    # closes at exit come after it.
    trace = (tmp_path / "t.trace").read_text().splitlines()
    end = max(i for i, l in enumerate(trace)
              if "op=read region=CONFIG offset=0x0 size=4 " in l) + 1
    tail = trace[end - 8:end]
    assert lines[4:] == ["detail   " + l for l in tail]
    assert stat(stats, "steps") == 2
    assert err.startswith(f"{tmp_path}/t.scn:6:1: expectation failed: cfg.read d0 "
                          "PCI_VENDOR_ID 4 == 0x58031425\n  expected: 0x58031425\n"
                          "  actual:   0x11f01b36\n  last VFIO operations (fakevfio trace):\n"
                          f"    {tail[0]}\n")


@pytest.mark.parametrize("stmt,col,detail", [
    ("mem.read 0x80000000 4", 1,
     ["detail error: memory read of 4 bytes at 0x80000000 failed: unassigned"]),
    ("mem.read 0 4 => error \"unassigned\"", 1,
     None),
    ("cfg.write d0 PCI_COMMAND 2 0x1ffff", 1,
     ["detail error: value 0x1ffff does not fit in 2 bytes"]),
    ("mem.write 0x1000 1 0x100", 1, ["detail error: value 0x100 does not fit in 1 byte"]),
    ("expect $nope+1 == 1", 8, ["detail error: variable $nope is not defined"]),
    ("expect 1/($z-$z) == 1", 9, None),
    ("tce.put 1 0 0", 1, ["detail error: tce.put needs machine platform=pseries"]),
    ("device.dma-read d0 0x1000 4 => errno EFAULT", 1, None),
    ("expect.msi timeout=30", 1, ["detail expected: 1 message",
                                  "detail actual:   0 matching (nothing reached the "
                                  "interrupt sink)"]),
    ("expect.warn \"boom\"", 1, ["detail expected: a warning containing \"boom\"",
                                 "detail actual:   no warning"]),
    ("expect.dma-map iova=0 size=0x1000", 1, ["detail expected: a mapping iova=0x0 size=0x1000",
                                              "detail actual:   the host IOMMU's mappings:"]),
    ("expect.trace VFIO_DEVICE_RESET", 1, ["detail expected: at least 1 trace line "
                                           "VFIO_DEVICE_RESET",
                                           "detail actual:   0 after the last line matched by an expect.trace"]),
    ("expect.event reset times=1", 1, ["detail expected: 1 reset event",
                                       "detail actual:   0 matching; reset events after the "
                                       "last one matched by an expect.event: none"]),
    # values out of range fail the statement instead of wrapping or being cut
    ("cfg.read d0 0xfffffffffffffffe 4", 1,
     ["detail error: config offset 0xfffffffffffffffe + 4 is beyond 4096"]),
    ("step 0xffffffffffffffff", 1,
     ["detail error: 18446744073709551615 ms: more than an hour"]),
    ("expect.none ms=3600001", 1, ["detail error: 3600001 ms: more than an hour"]),
    ("expect.msi timeout=0x1000000000", 1,
     ["detail error: timeout=68719476736 ms: more than an hour"]),
    ("expect.msi data=0x100000041 timeout=1", 1,
     ["detail error: data=0x100000041: an MSI data word has 32 bits"]),
    ("intx.route 0 0x80000000", 1,
     ["detail error: IRQ 2147483648 out of range (-1: disabled, or 0 up)"]),
])
def test_failures(ex, stmt, col, detail):
    rc, res, err = ex.sim(DEVS + "attach d0\nset z 3\n" + stmt + "\n")
    lines, stats, done = split(res)
    if stmt == "mem.read 0 4 => error \"unassigned\"":
        assert lines[:3] == ["fail 7:1 expectation failed: " + stmt,
                             "detail expected: an error containing \"unassigned\"",
                             "detail actual:   success"]
    elif stmt.startswith("expect 1/"):
        assert lines[:2] == ["fail 7:9 failed: " + stmt, "detail error: division by zero"]
    elif stmt.startswith("device.dma-read"):
        # Bus Master is off: the device's DMA is refused before the IOMMU.
        assert lines[:2] == ["fail 7:1 expectation failed: " + stmt,
                             "detail expected: failure with errno EFAULT"]
        assert lines[2].startswith("detail actual:   errno EACCES: dma-read 0000:03:00.0 "
                                   "0x1000 4: error EACCES ")
    else:
        kind = "expectation failed" if detail[0].startswith("detail expected") else "failed"
        assert lines[0] == f"fail 7:{col} {kind}: {stmt}"
        assert lines[1:1 + len(detail)] == detail
    assert (rc, done) == (1, "done fail")


def test_dma_read_fault_is_an_unexpected_failure(ex):
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\n"
                          "device.dma-read d0 0x10000000 4\n")
    lines, stats, done = split(res)
    assert (rc, done) == (1, "done fail")
    assert lines[0] == "fail 7:1 failed: device.dma-read d0 0x10000000 4"
    assert lines[1].startswith("detail error: dma-read 0000:03:00.0 0x10000000 4: error EFAULT ")


def test_parse_error_runs_nothing(ex, tmp_path):
    rc, res, err = ex.sim(DEVS + "attach d0\ncfg.read d0 PCI_COMAND 4\n")
    assert rc == 2
    assert res == ["fail 6:13 unknown symbol 'PCI_COMAND' (did you mean PCI_COMMAND?)",
                   "done fail"]
    assert err == (f"{tmp_path}/t.scn:6:13: error: unknown symbol 'PCI_COMAND' "
                   "(did you mean PCI_COMMAND?)\n")
    # nothing ran: no device fd was opened
    assert "obj=device" not in (tmp_path / "t.trace").read_text()


# ---- the host backend (no VFIO on this machine) ---------------------------

def test_host_skips_device_side_steps(ex, tmp_path):
    rc, res, err = ex.host(DEVS + """
set x 1
device.irq d0 msix 0 == delivered
expect $x == 1
fault VFIO_DEVICE_RESET errno=EIO
expect.event reset
set y 2
""")
    lines, stats, done = split(res)
    assert (rc, done) == (0, "done pass"), err
    assert lines == ["skip 7 needs the simulator (device-side step)",
                     "skip 8 depends on the skipped step at line 7",
                     "skip 9 needs the simulator (device-side step)",
                     "skip 10 depends on the skipped step at line 7"]
    assert stat(stats, "skipped") == 4 and stat(stats, "steps") == 2


def test_host_expect_needs_simulator(ex):
    rc, res, err = ex.host("expect.trace VFIO_DEVICE_RESET\nexpect 1 == 1\n")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, ["skip 1 needs the simulator (fakevfio's state)"],
                                 "done pass")


def test_host_attach_fails_cleanly(ex):
    rc, res, err = ex.host(DEVS + "attach d0\n", "--map", "d0=ff:1f.7")
    lines, stats, done = split(res)
    assert (rc, done) == (1, "done fail")
    assert lines == ["fail 5:1 failed: attach d0",
                     "detail error: vfio 0000:ff:1f.7: error: no such host device: "
                     "/sys/bus/pci/devices/0000:ff:1f.7/"]


def test_usage(ex, tmp_path):
    p = subprocess.run([str(ex.harness), "exec", "--backend", "kvm", "x.scn"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.startswith("vfio-harness exec: --backend is sim or host\nusage: ")
    (tmp_path / "a.scn").write_text("device d0 dma-test\n")
    p = subprocess.run([str(ex.harness), "exec", "--map", "zz=01:00.0",
                        str(tmp_path / "a.scn")], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (
        2, "vfio-harness exec: --map zz=01:00.0: no such device in the scenario\n")


def test_attach_long_property_is_not_cut(ex):
    # a property value longer than the 160 bytes it was once copied into
    rc, res, err = ex.sim(DEVS + "attach d0 x-pci-vendor-id=0x" + "0" * 170 + "8086\n"
                          "cfg.read d0 PCI_VENDOR_ID 2 == 0x8086\n")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, [], "done pass"), err


def test_msi_data_out_of_range(ex):
    rc, res, err = ex.sim(DEVS + "attach t5\nmsi.enable t5 addr=0xfee00000 data=0x10041\n")
    lines, stats, done = split(res)
    assert lines[:2] == ["fail 6:1 failed: msi.enable t5 addr=0xfee00000 data=0x10041",
                         "detail error: data=0x10041: MSI message data has 16 bits"]
    assert (rc, done) == (1, "done fail")


def test_control_check_reads_the_whole_answer(ex):
    # 80 events answer about 4.6 KiB, more than the 4 KiB the check once
    # looked at: the closing "last=80" is matched all the same
    body = DEVS + "repeat 80\ndevice.reset d0 flr\nend\n"
    rc, res, err = ex.sim(body + 'control "events" == "last=80 lost=0"\n')
    assert (rc, res[-1]) == (0, "done pass"), err
    rc, res, err = ex.sim(body + 'control "events" == "last=81"\n')
    lines, stats, done = split(res)
    assert lines[:2] == ['fail 8:1 expectation failed: control "events" == "last=81"',
                         'detail expected: an answer containing "last=81"']
    assert (rc, done) == (1, "done fail")


def test_fuzz_scn_bounded(build):
    """A short deterministic run of the parser's mutation fuzzer (the long
    one is by hand: fuzz-scn -n 300000 scenarios/, under SAN=1)."""
    fz = build / "bin" / "fuzz-scn"
    if not fz.exists():
        pytest.fail("bin/fuzz-scn is not built")
    repo = pathlib.Path(__file__).resolve().parents[2]
    p = subprocess.run([str(fz), "-n", "3000", "-s", "1", str(repo / "scenarios")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-4000:]
    m = re.fullmatch(r"fuzz-scn: 3000 inputs from (\d+) seeds \(-s 1\): (\d+) parsed, "
                     r"(\d+) refused, \d+ expressions evaluated\n", p.stdout)
    assert m, p.stdout
    assert int(m.group(1)) >= 30
    assert int(m.group(2)) + int(m.group(3)) == 3000
    assert int(m.group(2)) > 0 and int(m.group(3)) > 0


def test_boot_twice_fails_at_the_second(ex):
    rc, res, err = ex.sim(DEVS + "boot\nboot\n")
    lines, stats, done = split(res)
    assert lines[:2] == ["fail 6:1 failed: boot",
                         "detail error: the machine is already up (boot given twice)"]
    assert (rc, done) == (1, "done fail")


def test_negative_values_fit_any_width(ex):
    rc, res, err = ex.sim(DEVS + "mem.write 0x1000 2 -1\nexpect.ram 0x1000 ff:ff\n"
                          "mem.write 0x1000 1 -0x80\nexpect.ram 0x1000 80:ff\n")
    lines, stats, done = split(res)
    assert (rc, done) == (0, "done pass"), lines


# ---- run-time failures of guest-side statements: exact messages ---------

ASSIGNED = "pci.assign d0\n"


@pytest.mark.parametrize("body,detail", [
    ("expect bar(d0,7) == 0", ["fail 7:12 failed: expect bar(d0,7) == 0",
                               "detail error: BAR number 7 out of range (0-5, 6: the ROM)"]),
    ("bar.read d0 7 0 4", ["fail 7:1 failed: bar.read d0 7 0 4",
                           "detail error: BAR number 7 out of range 0-5"]),
    (ASSIGNED + "cfg.write d0 PCI_COMMAND 2 0\nbar.read d0 0 0 4",
     ["fail 9:1 failed: bar.read d0 0 0 4",
      "detail error: BAR0 of d0 does not decode: memory space is off in PCI_COMMAND (0x0)"]),
    (ASSIGNED + "cfg.write d0 PCI_COMMAND 2 0\nbar.read d0 1 0 4",
     ["fail 9:1 failed: bar.read d0 1 0 4",
      "detail error: BAR1 of d0 does not decode: I/O space is off in PCI_COMMAND (0x0)"]),
    # the register holds the host's address, but nothing programmed the BAR
    ("bar.read d0 0 0 4", ["fail 7:1 failed: bar.read d0 0 0 4",
                           "detail error: BAR0 of d0 (0xe0000000 in config) is not mapped in "
                           "the guest: not a BAR of the device, or not programmed since "
                           "attach (pci.assign)"]),
    (ASSIGNED + "cfg.write d0 PCI_BASE_ADDRESS_0 4 0\nbar.read d0 0 0 4",
     ["fail 9:1 failed: bar.read d0 0 0 4",
      "detail error: BAR0 of d0 is not assigned (pci.assign)"]),
    # BAR1 of the T5 VF is BAR0's upper half: no BAR of its own
    ("attach t5\npci.assign t5\ncfg.write t5 PCI_BASE_ADDRESS_1 4 0x10\nbar.read t5 1 0 4",
     ["fail 10:1 failed: bar.read t5 1 0 4",
      "detail error: BAR1 of t5 (0x10 in config) is not mapped in the guest: not a BAR of "
      "the device, or not programmed since attach (pci.assign)"]),
    ("cfg.read d0 PCI_VENDOR_ID 2 != 0x1b36",
     ["fail 7:1 expectation failed: cfg.read d0 PCI_VENDOR_ID 2 != 0x1b36",
      "detail expected: != 0x1b36", "detail actual:   0x1b36"]),
    ("cfg.read d0 PCI_VENDOR_ID 4 == 0x1b37 mask=0xffff",
     ["fail 7:1 expectation failed: cfg.read d0 PCI_VENDOR_ID 4 == 0x1b37 mask=0xffff",
      "detail expected: 0x1b37 (mask 0xffff)", "detail actual:   0x11f01b36 (masked: 0x1b36)"]),
    ("ram.fill 0 4 0x100", ["fail 7:1 failed: ram.fill 0 4 0x100",
                            "detail error: fill byte 0x100 is more than a byte"]),
    ("ram.fill 0x3fffffe 4 1", ["fail 7:1 failed: ram.fill 0x3fffffe 4 1",
                                "detail error: [0x3fffffe, +0x4) is not in guest RAM "
                                "(0 to 0x4000000)"]),
    ("msi.enable d0 addr=0xfee00000 data=1 vectors=3",
     ["fail 7:1 failed: msi.enable d0 addr=0xfee00000 data=1 vectors=3",
      "detail error: vectors=3: a power of two 1-32"]),
    ("msi.enable d0 addr=0xfee00000 data=1 vectors=32",
     ["fail 7:1 failed: msi.enable d0 addr=0xfee00000 data=1 vectors=32",
      "detail error: d0's MSI capability offers 4 vectors, not 32"]),
    ("msi.mask d0 32", ["fail 7:1 failed: msi.mask d0 32",
                        "detail error: MSI vector 32 out of range 0-31"]),
    (ASSIGNED + "msix.program d0 8 addr=0xfee00000 data=1",
     ["fail 8:1 failed: msix.program d0 8 addr=0xfee00000 data=1",
      "detail error: MSI-X vector 8 out of range: d0 has 8"]),
    (ASSIGNED + "msix.program d0 0 addr=0xfee00000 data=0x100000000",
     ["fail 8:1 failed: msix.program d0 0 addr=0xfee00000 data=0x100000000",
      "detail error: data=0x100000000: MSI-X message data has 32 bits"]),
    # the table's BAR has no address yet: the guest's write goes nowhere
    ("msix.program d0 0 addr=0xfee00000 data=1",
     ["fail 7:1 failed: msix.program d0 0 addr=0xfee00000 data=1",
      "detail error: memory write of 4 bytes at 0x800000000 failed: unassigned"]),
    ("reset.flr t5", ["fail 7:1 failed: reset.flr t5", "detail error: device t5 is not attached"]),
    ("attach t5\nreset.pm t5", ["fail 8:1 failed: reset.pm t5",
                                "detail error: t5 has no power management capability "
                                "(as the guest sees it)"]),
    ("intx.route 4 1", ["fail 7:1 failed: intx.route 4 1",
                        "detail error: INTx line 4 out of range 0-3"]),
    ("vfio.open-group g 0x100000000", ["fail 7:1 failed: vfio.open-group g 0x100000000",
                                       "detail error: group 4294967296 out of range"]),
    ("vfio.open-group g 103", ["fail 7:1 failed: vfio.open-group g 103",
                               "detail error: open group: No such file or directory"]),
    ("expect.intx d0 level=1", ["fail 7:1 expectation failed: expect.intx d0 level=1",
                                "detail expected: level=1", "detail actual:   level=0"]),
    (ASSIGNED + "device.intx d0 1\nstep 20\nexpect.intx d0 level=0",
     ["fail 10:1 expectation failed: expect.intx d0 level=0",
      "detail expected: level=0", "detail actual:   level=1"]),
    ("device.irq d0 msix 0 == masked", ["fail 7:1 expectation failed: device.irq d0 msix 0 "
                                        "== masked",
                                        "detail expected: masked", "detail actual:   dropped"]),
    ("fault VFIO_DEVICE_PCI_HOT_RESET errno=EIO count=1\nreset.hot d0",
     ["fail 8:1 failed: reset.hot d0", "detail error: hot reset of d0: Input/output error"]),
    # an expected errno, but the failure has none: the message is shown
    ("mem.read 0x80000000 4 => errno EIO",
     ["fail 7:1 expectation failed: mem.read 0x80000000 4 => errno EIO",
      "detail expected: failure with errno EIO",
      "detail actual:   error: memory read of 4 bytes at 0x80000000 failed: unassigned"]),
    ("expect.dma-map iova=0 size=0x1000 absent",
     ["fail 7:1 expectation failed: expect.dma-map iova=0 size=0x1000 absent",
      "detail expected: no mapping overlapping [0x0, 0x1000)",
      "detail actual:   the host IOMMU's mappings:"]),
    ("device.dma-write d0 0 hex:" + "00" * 4097,
     ["fail 7:1 failed: device.dma-write d0 0 hex:" + "00" * 4097,
      "detail error: device.dma-write: at most 4096 bytes at once"]),
])
def test_runtime_failures(ex, body, detail):
    rc, res, err = ex.sim(DEVS + "attach d0\nset z 3\n" + body + "\n")
    lines, stats, done = split(res)
    assert lines[:len(detail)] == detail, err
    assert (rc, done) == (1, "done fail")


def test_passing_resets_and_expected_errno(ex):
    rc, res, err = ex.sim(DEVS + """attach d0
reset.pm d0
reset.hot d0
reset.system
fault VFIO_DEVICE_PCI_HOT_RESET errno=EIO count=1
reset.hot d0 => errno EIO
expect.trace VFIO_DEVICE_PCI_HOT_RESET ret=-EIO times=1
intx.route 0 5
pci.assign d0
msix.enable d0
msix.fmask d0 1
cfg.read d0 cap(d0,PCI_CAP_ID_MSIX)+PCI_MSIX_FLAGS 2 == 0xc007
msix.fmask d0 0
cfg.read d0 cap(d0,PCI_CAP_ID_MSIX)+PCI_MSIX_FLAGS 2 == 0x8007
""")
    lines, stats, done = split(res)
    assert (rc, lines, done) == (0, [], "done pass"), err


def test_expect_none_lists_what_arrived(ex):
    # eight MSI-X messages are listed; a ninth (after a step: an eventfd
    # signalled twice before the loop reads it delivers once) makes a count
    prog = "".join(f"msix.program d0 {i} addr=0xfee00000 data={i}\n" for i in range(8))
    fire = "".join(f"device.irq d0 msix {i}\n" for i in range(8))
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\n" + prog + "msix.enable d0\n"
                          + fire + "step 20\nexpect.none ms=20\n")
    lines, stats, done = split(res)
    assert lines[:12] == ["fail 25:1 expectation failed: expect.none ms=20",
                          "detail expected: no interrupt",
                          "detail actual:   since the last expect.msi/none:"] + [
        f"detail           msi source=0x0 addr=0xfee00000 data=0x{i:x}" for i in range(8)] + [
        "detail last VFIO operations (fakevfio trace):"]
    assert (rc, done) == (1, "done fail")
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\n" + prog + "msix.enable d0\n"
                          + fire + "step 20\ndevice.irq d0 msix 0\nstep 20\nexpect.none ms=20\n")
    lines, stats, done = split(res)
    assert lines[11:13] == ["detail           ... (9 events)",
                            "detail last VFIO operations (fakevfio trace):"]
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\ndevice.intx d0 1\nexpect.none ms=20\n")
    lines, stats, done = split(res)
    assert lines[:5] == ["fail 8:1 expectation failed: expect.none ms=20",
                         "detail expected: no interrupt",
                         "detail actual:   since the last expect.msi/none:",
                         "detail           intx source=0x0 pin=0 level=1",
                         "detail last VFIO operations (fakevfio trace):"]


def test_expect_nowarn_shows_every_warning(ex):
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\nfault VFIO_DEVICE_SET_IRQS errno=EIO\n"
                          "msix.program d0 0 addr=0xfee00000 data=1\nmsix.enable d0\n"
                          "expect.nowarn\n")
    lines, stats, done = split(res)
    assert lines[:4] == ["fail 10:1 expectation failed: expect.nowarn",
                         "detail expected: no warning",
                         "detail actual:   warning: vfio 0000:03:00.0: failed to enable vectors, -5",
                         "detail           warning: vfio 0000:03:00.0: failed to modify vector, -5"]
    assert (rc, done) == (1, "done fail")


def test_raw_vfio_read_bytes_check(ex):
    body = DEVS + """vfio.open-container c
vfio.open-group g 100
vfio.ioctl g VFIO_GROUP_SET_CONTAINER container=c
vfio.ioctl c VFIO_SET_IOMMU arg=VFIO_TYPE1v2_IOMMU
vfio.open-device d g d0
vfio.write d CONFIG 0x40 3 hex:010203
vfio.read d CONFIG 0 3 == """
    rc, res, err = ex.sim(body + "36:1b:f0\n")
    assert (rc, res[-1]) == (0, "done pass"), res
    rc, res, err = ex.sim(body + "36:1b:f1\n")
    lines, stats, done = split(res)
    assert lines[:3] == ["fail 11:1 expectation failed: vfio.read d CONFIG 0 3 == 36:1b:f1",
                         "detail expected: 36:1b:f1", "detail actual:   36:1b:f0"]
    assert (rc, done) == (1, "done fail")


USAGE = ("usage: vfio-harness exec [--backend sim|host] [--map DEV=BDF]... "
         "[--fake-trace FILE] [--result-fd N] FILE\n")


@pytest.mark.parametrize("args,message", [
    (["A", "B"], "more than one scenario file"),
    (["--frob", "A"], "unknown option '--frob'"),
    (["A", "--map"], "--map needs an argument"),
    (["--result-fd", "x", "A"], "--result-fd needs a file descriptor number"),
    ([], "no scenario file"),
    ([a for i in range(70) for a in ("--map", f"d{i}=01:00.0")] + ["A"], "too many --map"),
])
def test_exec_usage_errors(ex, tmp_path, args, message):
    (tmp_path / "a.scn").write_text("device d0 dma-test\n")
    argv = [str(tmp_path / "a.scn") if a in ("A", "B") else a for a in args]
    p = subprocess.run([str(ex.harness), "exec", *argv], capture_output=True, text=True)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", f"vfio-harness exec: {message}\n" + USAGE)


def test_exec_bad_result_fd_and_bad_map(ex, tmp_path):
    (tmp_path / "a.scn").write_text("device d0 dma-test\n")
    p = subprocess.run([str(ex.harness), "exec", "--result-fd", "77", str(tmp_path / "a.scn")],
                       capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (2, "vfio-harness exec: --result-fd 77: "
                                           "Bad file descriptor\n")
    p = subprocess.run([str(ex.harness), "exec", "--backend", "host", "--map", "d0=zz",
                        str(tmp_path / "a.scn")], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (2, "vfio-harness exec: --map d0=zz: bad BDF 'zz': "
                                           "expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1\n")


@pytest.mark.parametrize("env,opts,stmt,message", [
    ({}, [], "device.irq d0 msix 0",
     "no fakevfio control socket ($FAKEVFIO_CONTROL is not set: run under fakevfio run)"),
    ({"FAKEVFIO_CONTROL": "/nonexistent/sock"}, [], "device.irq d0 msix 0",
     "cannot connect to fakevfio's control socket /nonexistent/sock: No such file or directory"),
    ({"FAKEVFIO_CONTROL": "/" + "x" * 120}, [], "device.irq d0 msix 0",
     "$FAKEVFIO_CONTROL is too long"),
    ({}, [], "expect.trace VFIO_DEVICE_RESET",
     "expect.trace needs fakevfio's operation trace (vfio-harness exec --fake-trace FILE)"),
    ({}, ["--fake-trace=/nonexistent/t"], "expect.trace VFIO_DEVICE_RESET",
     "/nonexistent/t: No such file or directory"),
])
def test_sim_statements_without_fakevfio(ex, tmp_path, env, opts, stmt, message):
    """The sim backend outside `fakevfio run`: the statements that need
    fakevfio's control socket or trace fail with what is missing."""
    scn = tmp_path / "a.scn"
    scn.write_text(f"device d0 dma-test\nset x 1\n{stmt}\n")
    e = {k: v for k, v in os.environ.items() if k not in ("FAKEVFIO_CONTROL", "VFIOSIM_TRACE")}
    e.update(env)
    r, w = os.pipe()
    p = subprocess.run([str(ex.harness), "exec", *opts, "--result-fd", str(w), str(scn)],
                       capture_output=True, text=True, env=e, pass_fds=(w,), timeout=30)
    os.close(w)
    with os.fdopen(r) as f:
        res = f.read().splitlines()
    lines, stats, done = split(res)
    assert lines == [f"fail 3:1 failed: {stmt}", f"detail error: {message}"]
    assert (p.returncode, done) == (1, "done fail")
    assert p.stderr == f"{scn}:3:1: failed: {stmt}\n  error: {message}\n"


def test_event_count_fails_when_the_ring_lost_events(ex):
    """fakevfio's event log is a ring: when more events came since the last
    check than it holds, a count cannot be exact.  Here the one IOMMU fault
    is overwritten by 4100 DMA events: times=0 would pass on what is left,
    so the check fails instead."""
    rc, res, err = ex.sim(DEVS + "attach d0\npci.assign d0\n"
                          "device.dma-read d0 0x10000000 4 => errno EFAULT\n"
                          "repeat 4100 i\n  device.dma-write d0 0x1000 de:ad\nend\n"
                          "expect.iommu-fault times=0\n")
    lines, stats, done = split(res)
    assert lines[:2] == ["fail 11:1 failed: expect.iommu-fault times=0",
                         "detail error: events 0: 6 events since the last check are gone "
                         "from fakevfio's event log (its ring overflowed): no exact count"]
    assert (rc, done) == (1, "done fail")
