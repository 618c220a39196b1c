# SPDX-License-Identifier: GPL-2.0-or-later
"""sim-capture end to end: capture this machine's PCI devices (and fake
sysfs trees), serve the profiles with the simulator, compare."""
import os
import re
import subprocess

import pytest

SYS = "/sys/bus/pci/devices"


@pytest.fixture
def tool(build):
    """tool(NAME, ARGS...): run build/bin/NAME."""
    return lambda name, *args: subprocess.run([str(build / "bin" / name), *args],
                                              capture_output=True, text=True, timeout=60)


def real_devices():
    try:
        return sorted(os.listdir(SYS))
    except OSError:
        return []


def test_help(tool):
    r = tool("sim-capture", "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: sim-capture [-o FILE] [--sysfs DIR] BDF")


@pytest.mark.parametrize("args,code,msg", [
    ((), 2, "missing BDF"),
    (("bogus",), 2, "bad BDF 'bogus'"),
    (("0000:00:20.0",), 2, "bad BDF '0000:00:20.0': device 0x20 is out of range (00-1f)"),
    (("0000:99:00.0",), 1, "no PCI device 0000:99:00.0 in /sys/bus/pci/devices"),
    (("--frob", "00:00.0"), 2, "Try 'sim-capture --help'"),
    (("a", "b"), 2, "more than one BDF"),
])
def test_usage_errors(tool, args, code, msg):
    r = tool("sim-capture", *args)
    assert r.returncode == code
    assert msg in r.stderr
    assert r.stdout == ""


@pytest.mark.skipif(not real_devices(), reason="this machine has no PCI device in /sys/bus/pci/devices")
def test_capture_every_real_device_round_trips(tool, tmp_path):
    """Capture, serve through sim-dump, and compare config bytes with sysfs."""
    for bdf in real_devices():
        prof = tmp_path / (bdf.replace(":", "_") + ".profile")
        r = tool("sim-capture", "-o", str(prof), bdf)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(SYS, bdf, "config"), "rb") as f:
            real = f.read()
        r = tool("sim-dump", "--hex=%d" % (4096 if len(real) > 256 else 256),
                 "profile:file=" + str(prof))
        assert r.returncode == 0, r.stderr
        # Rebuild the bytes from the dump (sim-dump skips all-zero lines past 0x100).
        got = bytearray(len(real))
        for m in re.finditer(r"^([0-9a-f]{3}):((?: [0-9a-f]{2}){16})$", r.stdout, re.M):
            off = int(m.group(1), 16)
            got[off:off + 16] = bytes(int(x, 16) for x in m.group(2).split())
        assert bytes(got) == real, bdf
        with open(os.path.join(SYS, bdf, "vendor")) as f:
            vendor = int(f.read(), 16)
        assert "IDs (as published): %04x:" % vendor in r.stdout


def test_fake_sysfs_tree(tool, tmp_path):
    """A VF-like device in a fake tree: IDs from the sysfs files, a short
    (non-root style) config read is reported."""
    d = tmp_path / "0000:05:00.1"
    d.mkdir()
    cfg = bytearray(64)
    cfg[0:4] = b"\xff\xff\xff\xff"
    cfg[0x08:0x0c] = bytes([0x00, 0x00, 0x00, 0x02])
    (d / "config").write_bytes(bytes(cfg))
    (d / "resource").write_text("0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * 7)
    for name, val in (("vendor", "0x1425"), ("device", "0x5803"), ("subsystem_vendor", "0x1425"),
                      ("subsystem_device", "0x0000"), ("class", "0x020000"), ("revision", "0x00")):
        (d / name).write_text(val + "\n")
    out = tmp_path / "vf.profile"
    r = tool("sim-capture", "--sysfs", str(tmp_path), "-o", str(out), "05:00.1")
    assert r.returncode == 0, r.stderr
    assert "only 64 of 256 config bytes readable" in r.stderr
    r = tool("sim-dump", "profile:file=" + str(out))
    assert r.returncode == 0, r.stderr
    assert "IDs (as published): 1425:5803" in r.stdout
    # A missing mandatory file is an error naming it.
    os.unlink(d / "resource")
    r = tool("sim-capture", "--sysfs", str(tmp_path), "05:00.1")
    assert r.returncode == 1
    assert r.stderr == "sim-capture: %s/resource: cannot read: No such file or directory\n" % d
