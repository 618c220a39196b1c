# SPDX-License-Identifier: GPL-2.0-or-later
"""The core under valgrind: no leak and no memory error when a device is
realized and unrealized, nor on each failure path of realize."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VFIOSIM_BUILD", os.path.join(ROOT, "build", "cc"))
VALGRIND = shutil.which("valgrind")

pytestmark = [
    pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed"),
    pytest.mark.skipif("-san" in os.path.basename(BUILD),
                       reason="a sanitizer build cannot run under valgrind"),
]


def realize_under_valgrind(devices, bdf, *props, topology=None):
    cmd = [os.path.join(BUILD, "bin", "fakevfio"), "run"]
    for d in devices:
        cmd += ["--device", d]
    if topology:
        cmd += ["--topology", topology]
    cmd += ["--", VALGRIND, "-q", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
            os.path.join(BUILD, "bin", "vfc-realize")]
    for p in props:
        cmd += ["--property", p]
    cmd += ["--steps", "2", bdf]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    noise = ("unhandled ioctl", "spurious value", "README_MISSING_SYSCALL")
    report = [l for l in r.stderr.splitlines() if l.startswith("==") and not any(n in l for n in noise)]
    return r, report


@pytest.mark.parametrize("device,bdf", [
    ("dma-test@0000:00:05.0", "0000:00:05.0"),
    ("chelsio-t5-vf@0000:03:00.1", "0000:03:00.1"),
])
def test_realize_and_unrealize_are_clean(device, bdf):
    r, report = realize_under_valgrind([device], bdf)
    assert r.returncode == 0, r.stderr
    assert "unrealized" in r.stdout
    assert report == []


@pytest.mark.parametrize("device,props,message", [
    ("dma-test@0000:00:05.0,pba_offset=0x8000", (), "MSIX PBA outside of specified BAR"),
    ("dma-test@0000:00:05.0", ("x-pci-vendor-id=0xffff",), "Invalid PCI vendor ID provided"),
])
def test_failure_paths_are_clean(device, props, message):
    r, report = realize_under_valgrind([device], "0000:00:05.0", *props)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr
    assert report == []


def test_non_viable_group_is_clean(tmp_path):
    topo = tmp_path / "machine.topo"
    topo.write_text("device dma-test 0000:00:05.0 group=9\n"
                    "device dma-test 0000:00:05.1 group=9 driver=host\n")
    r, report = realize_under_valgrind([], "0000:00:05.0", topology=str(topo))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "not viable" in r.stderr
    assert report == []
