# SPDX-License-Identifier: GPL-2.0-or-later
"""The core as the fake kernel sees it: the SET_IRQS sequence in fakevfio's
own operation trace, a masked MSI-X vector held pending until the guest
unmasks it, and unrealize releasing everything (fakevfio's state dump)."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VFIOSIM_BUILD", os.path.join(ROOT, "build", "cc"))
DMA = "0000:00:05.0"
# Guest programming of the dma-test: BAR2 (MSI-X table) at 0xe0100000,
# memory + bus master, MSI-X enabled; vector 1 -> 0xfee00000 / 0x42.
MSIX_SETUP = ["--cfg-write", "0x18:4:0xe0100000", "--cfg-write", "0x1c:4:0",
              "--cfg-write", "0x4:2:0x6", "--cfg-write", "0xb2:2:0x8007",
              "--mmio-write", "0xe0100010:4:0xfee00000", "--mmio-write", "0xe0100018:4:0x42"]


def fv_realize(tmp_path, ops):
    trace = tmp_path / "fakevfio.trace"
    r = subprocess.run([os.path.join(BUILD, "bin", "fakevfio"), "run", "--trace", str(trace),
                        "--device", "dma-test@" + DMA, "--",
                        os.path.join(BUILD, "bin", "vfc-realize"), *ops, DMA],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r.stdout, trace.read_text().splitlines()


def set_irqs(trace):
    """(index, count, flags, ret) of every SET_IRQS the fake answered."""
    out = []
    for line in trace:
        if "name=VFIO_DEVICE_SET_IRQS" in line:
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            out.append((int(f["index"]), int(f["count"]), f["flags"], f["ret"]))
    return out


def test_msix_enable_shows_the_vector0_sequence_in_the_fakes_trace(tmp_path):
    out, trace = fv_realize(tmp_path, MSIX_SETUP + [
        "--mmio-write", "0xe010001c:4:0",                 # guest unmasks vector 1
        "--control", f"irq {DMA} MSIX 1", "--step", "1000"])
    seq = set_irqs(trace)
    # Realize: INTx trigger, then the err and req notifiers.
    assert seq[:3] == [(0, 1, "0x24", "0"), (3, 1, "0x24", "0"), (4, 1, "0x24", "0")]
    # MSI-X enable: INTx off, a disable of the not-yet-enabled index (EINVAL,
    # ignored), then vector 0 alone (the use/release trick).
    assert seq[3:6] == [(0, 0, "0x21", "0"), (2, 0, "0x21", "-EINVAL"), (2, 1, "0x24", "0")]
    # Vector 1 in use: the index is disabled and re-enabled with two vectors.
    assert seq[6:8] == [(2, 0, "0x21", "0"), (2, 2, "0x24", "0")]
    assert "intc msi source=0x0 addr=0xfee00000 data=0x42" in out


def test_masked_vector_is_pending_until_the_guest_unmasks_it(tmp_path):
    out, _ = fv_realize(tmp_path, MSIX_SETUP + [
        "--mmio-write", "0xe010001c:4:1",                 # vector 1 masked
        "--control", f"irq {DMA} MSIX 1", "--step", "300", "--dump",
        "--mmio-write", "0xe010001c:4:0",                 # unmask
        "--step", "1000"])
    before, after = out.split("mmio[0xe010001c/4] <- 0x0", 1)
    masked = before.split("mmio[0xe010001c/4] <- 0x1", 1)[1]
    # The device raised vector 1: it has no trigger in the fake (the guest
    # masked it), so the device keeps it pending in its PBA; nothing reaches
    # the guest, whose table shows the vector masked.
    assert "control: result=pending" in masked
    assert "intc msi" not in masked
    assert "vector 1 addr=0x00000000fee00000 data=0x00000042 ctrl=0x00000001" in masked
    # Unmasked: the core attaches a trigger, the device delivers, once.
    assert after.count("intc msi source=0x0 addr=0xfee00000 data=0x42") == 1


def test_unrealize_releases_everything_in_the_fake(tmp_path):
    # FUSE delivers RELEASE asynchronously after close(2): give it a moment
    # (--step) before asking the fake what is still held.
    out, trace = fv_realize(tmp_path, ["--control", "dump mappings", "--unrealize",
                                       "--step", "200",
                                       "--control", "dump mappings",
                                       "--control", f"dump device {DMA}"])
    before, after = out.split("unrealized first device", 1)
    assert len(re.findall(r"^control: container=\d+ iova=0x0 size=0x4000000 ", before, re.M)) == 1
    assert "container=" not in after              # no mapping is left ...
    assert "control: vdev open=0" in after        # ... and no device fd
    ops = [l.split("obj=", 1)[1] for l in trace if "obj=" in l]
    ioctls = [o for o in ops if "op=ioctl" in o]
    # The last two ioctls: the RAM unmapped, then the group leaves the container.
    assert "name=VFIO_IOMMU_UNMAP_DMA" in ioctls[-2] and "size=0x4000000" in ioctls[-2]
    assert "name=VFIO_GROUP_UNSET_CONTAINER" in ioctls[-1] and "ret=0" in ioctls[-1]
    closes = sorted(o.split()[0] for o in ops if "op=close" in o)
    assert closes == ["container:1", "device:" + DMA, "group:100"]
