# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest sPAPR IOMMU (core/spapr, core/vfio's sPAPR container) end to
end: vfc-realize --platform pseries under `fakevfio run --platform
pseries[,tce=...]`.  Guest hypercalls fill the PHB's TCE table, the core
turns each change into MAP_DMA/UNMAP_DMA on the host's sPAPR IOMMU, and
the device's DMA goes through the host's TCE table into guest RAM.
"""
import re
import subprocess

import pytest

from core_runner import Runner, need_fake

DEV = "0000:05:00.0"
LIOBN = "0x80000000"
MASTER = ["--cfg-write", "0x4:2:0x6"]     # memory + bus master


def need_pseries(build):
    need_fake()
    out = subprocess.run([str(build / "bin" / "fakevfio"), "--help"],
                         capture_output=True, text=True).stdout
    if "pseries" not in out:
        pytest.skip("fakevfio has no pseries host")


class PseriesRunner(Runner):
    def run(self, tce, args, trace=None, dev=DEV):
        """vfc-realize --platform pseries ARGS DEV under a pseries fakevfio
        with TCE IOMMU tce and a dma-test at dev."""
        return self.fv(["--platform", f"pseries,tce={tce}", "--device", f"dma-test@{dev}"],
                       ["--platform", "pseries", *args, dev], trace)


@pytest.fixture
def fv(build, tmp_path):
    need_pseries(build)
    return PseriesRunner(build, tmp_path)


def ioctls(trace):
    """(object, ioctl, ret) of the container's and group's ioctls."""
    out = []
    for l in trace:
        m = re.fullmatch(r"core_vfio_ioctl (container\d+|group\d+) (\S+) ret=(-?\d+)", l)
        if m:
            out.append((m.group(2), int(m.group(3))))
    return out


def mappings(out):
    """The (iova, size, prot) lines of each `dump mappings` answer, in order."""
    dumps, cur = [], None
    for l in out.splitlines():
        if l == "control: ok" and cur is not None:
            dumps.append(cur)
            cur = None
            continue
        m = re.match(r"control: container=\d+ iova=(0x[0-9a-f]+) size=(0x[0-9a-f]+) "
                     r"vaddr=\S+ pid=\d+ prot=(\w+)", l)
        if m:
            cur = (cur or []) + [(int(m.group(1), 16), int(m.group(2), 16), m.group(3))]
        elif l.startswith("control: ") and cur is None:
            pass
    return dumps


def dump_mappings():
    return ["--control", "dump mappings"]


def test_v2_connect_sequence(fv):
    rc, out, err, tr = fv.run("both", [], trace="core_vfio_ioctl")
    assert rc == 0, err
    seq = [n for n, _ in ioctls(tr)]
    i = seq.index("VFIO_SET_IOMMU")
    assert seq[i:i + 5] == ["VFIO_SET_IOMMU", "VFIO_IOMMU_SPAPR_REGISTER_MEMORY",
                            "VFIO_IOMMU_SPAPR_TCE_GET_INFO", "VFIO_IOMMU_SPAPR_TCE_REMOVE",
                            "VFIO_IOMMU_SPAPR_TCE_CREATE"]
    assert all(r == 0 for n, r in ioctls(tr) if n.startswith("VFIO_IOMMU"))
    assert "VFIO_IOMMU_ENABLE" not in seq
    # Teardown: the window unmapped and removed, RAM unregistered, then the group out.
    tail = seq[seq.index("VFIO_GROUP_GET_DEVICE_FD") + 1:]
    assert tail == ["VFIO_IOMMU_UNMAP_DMA", "VFIO_IOMMU_SPAPR_TCE_REMOVE",
                    "VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", "VFIO_GROUP_UNSET_CONTAINER"]
    assert "  window liobn=0x80000000 start=0x0 size=0x40000000 page_shift=12 " \
           "bypass=0 live=0 table_bytes=4096\n" in out


def test_v1_connect_sequence(fv):
    rc, out, err, tr = fv.run("v1", [], trace="core_vfio_ioctl")
    assert rc == 0, err
    seq = [n for n, _ in ioctls(tr)]
    i = seq.index("VFIO_SET_IOMMU")
    assert seq[i:i + 3] == ["VFIO_SET_IOMMU", "VFIO_IOMMU_ENABLE",
                            "VFIO_IOMMU_SPAPR_TCE_GET_INFO"]
    assert "VFIO_IOMMU_SPAPR_REGISTER_MEMORY" not in seq
    assert "VFIO_IOMMU_SPAPR_TCE_CREATE" not in seq


@pytest.mark.parametrize("tce", ["v1", "v2"])
def test_put_tce_maps_and_device_dma_reaches_guest_ram(fv, tce):
    rc, out, err, _ = fv.run(tce, [
        *MASTER,
        "--hcall", f"H_PUT_TCE:{LIOBN}:0x1000:0x20003", *dump_mappings(),
        "--control", f"dma-write {DEV} 0x1040 deadbeef",
        "--mmio-read", "0x20040:4",
        "--ram-write", "0x20080:4:0x44332211",
        "--control", f"dma-read {DEV} 0x1080 4",
        "--hcall", f"H_GET_TCE:{LIOBN}:0x1000",
        "--hcall", f"H_PUT_TCE:{LIOBN}:0x1000:0", *dump_mappings()])
    assert rc == 0, err
    assert "hcall H_PUT_TCE ret=0\n" in out
    assert mappings(out) == [[(0x1000, 0x1000, "rw")]]       # the second dump is empty
    assert "mmio[0x20040/4] = 0xefbeadde status=0\n" in out
    assert "control: data=11223344\n" in out
    assert "hcall H_GET_TCE ret=0 tce=0x20003\n" in out
    assert out.count("control: ok\n") >= 2


def test_unmapped_and_readonly_dma_faults(fv):
    rc, out, err, _ = fv.run("both", [
        *MASTER,
        "--hcall", f"H_PUT_TCE:{LIOBN}:0x2000:0x30001", *dump_mappings(),
        "--control", f"dma-read {DEV} 0x2000 4",
        "--control", f"dma-write {DEV} 0x2000 01"])
    # The refused write ends the run: its control line is an error.
    assert rc == 1
    assert mappings(out) == [[(0x2000, 0x1000, "r")]]
    assert "control: data=00000000\n" in out
    assert re.search(r"control: error E\w+ .*0x2000", out), out


def test_indirect_and_stuff(fv):
    args = [*MASTER]
    for i in range(4):
        # RAM pages not contiguous: the host's dump would merge them.
        args += ["--ram-write-be64", f"{0x10000 + 8 * i:#x}:{0x100000 + 0x2000 * i | 3:#x}"]
    args += ["--hcall", f"H_PUT_TCE_INDIRECT:{LIOBN}:0x400000:0x10000:4", *dump_mappings(),
             "--hcall", f"H_STUFF_TCE:{LIOBN}:0x400000:0:2", *dump_mappings(),
             "--hcall", f"H_PUT_TCE_INDIRECT:{LIOBN}:0x400000:0x10008:4",
             "--hcall", f"H_PUT_TCE_INDIRECT:{LIOBN}:0x400000:0x10000:513",
             "--hcall", f"H_PUT_TCE:0x80000007:0x0:0x3",
             "--hcall", f"H_PUT_TCE:{LIOBN}:0x40000000:0x3"]
    rc, out, err, _ = fv.run("v2", args)
    assert rc == 0, err
    d = mappings(out)
    assert d[0] == [(0x400000 + 0x1000 * i, 0x1000, "rw") for i in range(4)]
    assert d[1] == [(0x402000, 0x1000, "rw"), (0x403000, 0x1000, "rw")]
    assert re.findall(r"hcall (\w+) ret=(-?\d+)", out) == [
        ("H_PUT_TCE_INDIRECT", "0"), ("H_STUFF_TCE", "0"),
        ("H_PUT_TCE_INDIRECT", "-4"), ("H_PUT_TCE_INDIRECT", "-4"),
        ("H_PUT_TCE", "-4"), ("H_PUT_TCE", "-4")]


def test_ddw_v2(fv):
    rc, out, err, tr = fv.run("v2", [
        *MASTER, "--ddw-create", "16:32",
        "--hcall", "H_PUT_TCE:0x80000001:0x800000000010000:0x200003", *dump_mappings(),
        "--control", f"dma-write {DEV} 0x800000000010010 cafe",
        "--mmio-read", "0x200010:2",
        "--ddw-remove", "0x80000001", *dump_mappings(),
        "--ddw-remove", "0x80000001"], trace="core_vfio_spapr_window")
    assert rc == 0, err
    assert "ddw create rtas=0 liobn=0x80000001 start=0x800000000000000\n" in out
    assert mappings(out)[0] == [(0x800000000010000, 0x10000, "rw")]
    assert "mmio[0x200010/2] = 0xfeca status=0\n" in out
    assert re.findall(r"ddw remove rtas=(-?\d+)", out) == ["0", "-3"]
    wins = [l for l in tr if l.startswith("core_vfio_spapr_window")]
    # The host window's IOMMU pages are at most a RAM page (QEMU's
    # qemu_minrampagesize: 4 KiB here), whatever the guest's TCE size.
    assert any("create start=0x800000000000000 size=0x100000000 page_shift=12 ret=0" in l
               for l in wins), wins
    assert any("remove start=0x800000000000000 size=0x0 page_shift=0 ret=0" in l
               for l in wins), wins


def test_ddw_on_v1_is_reported(fv):
    rc, out, err, _ = fv.run("v1", ["--ddw-create", "16:32"])
    assert rc == 0
    assert "can't map guest IOVA region 0x800000000000000..0x8000000ffffffff" in err


def test_eeh(fv):
    rc, out, err, tr = fv.run("both", [
        "--eeh", "enable", "--eeh", "get-state", "--eeh", "disable",
        "--eeh", "reset-hot", "--eeh", "reset-deactivate", "--eeh", "configure",
        "--eeh", "thaw-io", "--eeh", "thaw-dma", "--eeh", "inject:0:0:0:0"],
        trace="core_spapr_eeh")
    assert rc == 0, err
    assert re.findall(r"eeh (\S+) rtas=(-?\d+)", out)[:3] == [
        ("enable", "0"), ("get-state", "0"), ("disable", "0")]
    assert "eeh get-state rtas=0 state=0\n" in out
    ops = [int(m.group(1)) for l in tr for m in [re.search(r" op=(\d+) ", l)] if m]
    assert ops[:8] == [1, 4, 0, 6, 5, 8, 2, 3]
