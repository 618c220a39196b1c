# SPDX-License-Identifier: GPL-2.0-or-later
"""fakevfio as a POWER host (`--platform pseries`): the sPAPR TCE IOMMU v1
and v2 and EEH through the real binary, with a Python VFIO client
(tests/py/spapr_client.py) as CMD and the control socket for device DMA."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VFIOSIM_BUILD", os.path.join(ROOT, "build", "cc"))
FAKEVFIO = os.path.join(BUILD, "bin", "fakevfio")
CLIENT = os.path.join(ROOT, "tests", "py", "spapr_client.py")
BDF = "0000:00:05.0"


def run(scenario, *opts, check=True):
    r = subprocess.run([FAKEVFIO, "run", *opts, "--", sys.executable, CLIENT, scenario, "100", BDF],
                       capture_output=True, text=True, timeout=60)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    if check:
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "oserror" not in out, (out, r.stderr)
    return out, r


def unaddr(text):
    """Mapping lines without the addresses that change from run to run."""
    return re.sub(r" vaddr=0x[0-9a-f]+ pid=\d+", "", text)


def test_v1_flow_tces_and_device_dma():
    out, _ = run("v1", "--platform", "pseries", "--device", "dma-test@" + BDF)
    # CHECK_EXTENSION 1..8: sPAPR v1 (2), EEH (5), v2 (7); no type1.
    assert out["ext"] == "0,1,0,0,1,0,1,0"
    assert out["set_type1"] == "ENODEV"
    assert out["set_v1"] == "0"
    # argsz 32, no DDW flag (v1), dma32 window 0 + 1 GiB, ddw zero.
    assert out["info"] == "(32, 0, 0, 1073741824, 0, 0, 0)"
    assert out["map_before_enable"] == "EPERM"
    assert out["enable"] == "0"
    assert out["enable_again"] == "EBUSY"
    assert out["map_outside"] == "ENXIO"
    assert out["map_unaligned"] == "EINVAL"
    assert out["map_rw"] == out["map_ro"] == out["map_wo"] == "0"
    # One line per TCE run; a write-only TCE is readable too (PowerNV).
    assert unaddr(out["dump"]) == ("container=2 iova=0x100000 size=0x2000 prot=rw|"
                                   "container=2 iova=0x102000 size=0x1000 prot=r|"
                                   "container=2 iova=0x103000 size=0x1000 prot=rw")
    # Device DMA across two TCEs lands in the buffer.
    assert out["dma_write"] == "ok"
    assert out["buf"] == "11223344"
    assert out["dma_read_ro"] == "data=abcdef01"
    assert out["dma_write_ro"].startswith("error EPERM")
    assert out["dma_read_wo"] == "data=0000"
    # UNMAP does not write size back; a cleared TCE and no window both fault.
    assert out["unmap"] == "0x1000"
    assert out["dma_cleared"].startswith("error EFAULT")
    assert out["dma_outside"].startswith("error EFAULT")
    assert out["faults"] == (
        "kind=iommu-fault device=0000:00:05.0 iova=0x102000 size=0x1 dir=write err=EPERM|"
        "kind=iommu-fault device=0000:00:05.0 iova=0x101000 size=0x4 dir=read err=EFAULT|"
        "kind=iommu-fault device=0000:00:05.0 iova=0x40000000 size=0x4 dir=read err=EFAULT")
    assert unaddr(out["dump_after"]) == ("container=2 iova=0x100000 size=0x1000 prot=rw|"
                                         "container=2 iova=0x102000 size=0x1000 prot=r|"
                                         "container=2 iova=0x103000 size=0x1000 prot=rw")
    assert out["disable"] == "0"
    assert out["unmap_disabled"] == "EPERM"
    assert out["register_v1"] == "ENOTTY"


def test_v2_flow_registration_windows_and_other_mm():
    out, _ = run("v2", "--platform", "pseries", "--device", "dma-test@" + BDF)
    # DDW flag, pgsizes 4K|64K|16M, 2 windows, 5 levels.
    assert out["info"] == "(32, 1, 0, 1073741824, %d, 2, 5)" % (0x1000 | 0x10000 | 0x1000000)
    assert out["enable_v2"] == "ENOTTY"
    assert out["map_unregistered"] == "EPERM"       # nothing registered: not enabled
    assert out["unregister_absent"] == "EPERM"      # no mm bound yet
    assert out["register"] == "0"
    assert out["register_again"] == "EBUSY"
    assert out["map_outside_mem"] == "EINVAL"
    assert out["map_default"] == "0"
    assert out["create"] == "0x800000000000000"     # window 1 at bit 59
    assert out["map_ddw"] == "0"
    assert unaddr(out["dump"]) == ("container=1 iova=0x1000 size=0x2000 prot=rw|"
                                   "container=1 iova=0x800000000010000 size=0x1000 prot=rw")
    assert out["dma_ddw"] == "ok"
    assert out["buf"] == "cafe"
    assert out["unregister_busy"] == "EBUSY"
    assert out["remove"] == "0"
    assert out["dma_removed"].startswith("error EFAULT")
    assert out["unmap"] == "0x40000000"
    assert out["unregister"] == "ENOENT"            # off the list since the EBUSY
    assert out["register_back"] == "0"              # still in the mm: taken back
    assert out["unregister_back"] == "0"
    assert out["dump_after"] == "0"
    # A forked child is another mm: EPERM, except CHECK_EXTENSION.
    assert out["child_info"] == "EPERM"
    assert out["child_ext"] == "1"
    assert out["child_eeh"] == "EPERM"
    assert out["parent_info"] == "1073741824"


def test_eeh_inject_freezes_the_pe_and_signals_err():
    out, _ = run("eeh", "--platform", "pseries", "--device", "dma-test@" + BDF)
    assert out["set_err"] == "0"
    assert out["state0"] == "0"                     # VFIO_EEH_PE_STATE_NORMAL
    assert out["vendor"] == "0x11f01b36"
    assert out["bar0"] != "0xffffffff"
    assert out["inject_bad"] == "EINVAL"            # type 7
    assert out["inject"] == "0"
    assert out["err_signalled"] == "1"              # the ERR eventfd, once
    assert out["state_frozen"] == "2"               # STOPPED (MMIO and DMA)
    assert out["vendor_frozen"] == "0xffffffff"
    assert out["bar0_frozen"] == "0xffffffff"
    assert out["dma_frozen"].startswith("error EIO")
    assert out["unfreeze_io"] == "0"
    assert out["state_io"] == "4"                   # STOPPED_DMA
    assert out["vendor_io"] == "0x11f01b36"
    assert out["unfreeze_dma"] == "0"
    assert out["state_thawed"] == "0"
    assert out["dma_thawed"] == "ok"
    assert out["reset_hot"] == "0"
    assert out["state_reset"] == "1"                # RESET
    assert out["deactivate"] == "0"
    assert out["state_after"] == "0"
    assert out["events"] == ("kind=irq device=0000:00:05.0 index=ERR vector=0|"
                             "kind=iommu-fault device=0000:00:05.0 iova=0x0 size=0x4 dir=read err=EIO|"
                             "kind=reset device=0000:00:05.0 how=hot")


def test_topology_tce_v1_only(tmp_path):
    topo = tmp_path / "t.topo"
    topo.write_text("platform pseries tce=v1\ndevice dma-test %s\n" % BDF)
    out, _ = run("tce-v1-only", "--topology", str(topo))
    assert out["ext"] == "1,0"
    assert out["set_v2"] == "ENODEV"
    assert out["set_v1"] == "0"
    assert out["v2_ioctl"] == "ENOTTY"
    # --platform on the command line wins over the file's tce=.
    out, _ = run("tce-v1-only", "--topology", str(topo), "--platform", "pseries,tce=v2", check=False)
    assert out["ext"] == "0,1"
    assert out["set_v2"] == "0"


def test_platform_errors(tmp_path):
    for opt, msg in [("pseries,tce=v3", "fakevfio: --platform 'pseries,tce=v3': expected pseries,tce=v1|v2|both"),
                     ("pseries,x", "fakevfio: --platform 'pseries,x': expected pseries,tce=v1|v2|both")]:
        r = subprocess.run([FAKEVFIO, "run", "--platform", opt, "--", "true"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 125
        assert r.stderr.splitlines()[0] == msg
    for text, msg in [("platform pseries tce=v4\n", "t.topo:1:22: bad tce 'v4' (expected v1, v2 or both)"),
                      ("platform x86 tce=v1\n", "t.topo:1:14: unexpected 'tce=v1' after the platform"),
                      ("platform pseries tce=v1 x\n", "t.topo:1:25: unexpected 'x' after tce=")]:
        topo = tmp_path / "t.topo"
        topo.write_text(text)
        r = subprocess.run([FAKEVFIO, "run", "--topology", str(topo), "--", "true"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 125, r.stderr
        assert r.stderr.splitlines()[0].endswith(msg), r.stderr


def test_trace_names_the_spapr_ioctls(tmp_path):
    trace = tmp_path / "trace"
    run("v2", "--platform", "pseries", "--trace", str(trace), "--device", "dma-test@" + BDF)
    text = trace.read_text()
    assert re.search(r"name=VFIO_IOMMU_SPAPR_TCE_GET_INFO cmd=0x3b70 argsz=32 ret=0", text)
    assert re.search(r"name=VFIO_IOMMU_SPAPR_REGISTER_MEMORY cmd=0x3b75 argsz=24 flags=0x0 "
                     r"vaddr=0x[0-9a-f]+ size=0x20000 ret=-EBUSY", text)
    assert re.search(r"name=VFIO_IOMMU_SPAPR_TCE_CREATE cmd=0x3b77 argsz=40 flags=0x0 page_shift=12 "
                     r"window_size=0x100000000 levels=1 ret=0", text)
    assert re.search(r"name=VFIO_IOMMU_SPAPR_TCE_REMOVE cmd=0x3b78 argsz=16 flags=0x0 "
                     r"start_addr=0x800000000000000 ret=0", text)
    assert re.search(r"name=VFIO_EEH_PE_OP cmd=0x3b79 argsz=12 flags=0x0 pe_op=4 ret=-EPERM", text)
    assert re.search(r"name=VFIO_SET_IOMMU cmd=0x3b66 arg=7 type=VFIO_SPAPR_TCE_v2_IOMMU ret=0", text)
