# SPDX-License-Identifier: GPL-2.0-or-later
"""The passthrough core (core/vfio, core/vfio-pci, core/machine) through
bin/vfc-realize: against fakevfio (`fakevfio run`), and against the real
kernel of this machine (a clean failure).  Every test runs the real binaries
in its own process group and checks the exact output lines it cares about.
"""
import re

import pytest

from core_runner import Runner, need_fake

DMA = "0000:00:05.0"
T5 = "0000:03:00.1"


@pytest.fixture
def run(build, tmp_path):
    if not (build / "bin" / "vfc-realize").exists():
        pytest.fail("bin/vfc-realize is not built")
    return Runner(build, tmp_path)


def ioctls(trace):
    """(object, ioctl, ret) of every core_vfio_ioctl trace line."""
    out = []
    for l in trace:
        m = re.fullmatch(r"core_vfio_ioctl (\S+) (\S+) ret=(-?\d+)", l)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3))))
    return out


# ---- without fakevfio: the real kernel of this machine ---------------------

def test_no_such_host_device(run):
    rc, out, err = run.host(["0000:ff:1f.7"])
    assert rc == 1
    assert out == ""
    assert err == ("vfc-realize: vfio 0000:ff:1f.7: error: no such host device: "
                   "/sys/bus/pci/devices/0000:ff:1f.7/\n")


def test_usage_errors(run):
    rc, out, err = run.host([])
    assert rc == 2 and err.startswith("usage: vfc-realize")
    rc, out, err = run.host(["--property", "bogus=1", "0000:ff:1f.7"])
    assert (rc, err) == (1, "vfc-realize: Property 'vfio-pci.bogus' not found\n")
    rc, out, err = run.host(["--steps"])
    assert (rc, err) == (2, "vfc-realize: --steps needs an argument\n")


# ---- under fakevfio -----------------------------------------------------------

def test_realize_dma_test_sequence_and_dump(run):
    need_fake()
    rc, out, err, trace = run.fv(["--device", f"dma-test@{DMA}"], [DMA],
                                 trace="core_vfio_ioctl,core_vfio_dma_map")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"realized {DMA}"
    assert f"device {DMA} id=device[0] devfn=00.0 group=100 container=container0 mappings=1" in lines
    assert "flags reset_works=1 has_flr=1 has_pm_reset=1 pci_aer=1 req=1 config_size=0x1000" in lines
    assert "caps: 0x40:PM 0x50:MSI 0x70:EXP 0xb0:MSIX" in lines
    assert "bar0 mem32 size=0x1000 addr=unmapped mmap=no" in lines
    assert "bar1 io size=0x20 addr=unmapped mmap=no" in lines
    assert "bar2 mem64 size=0x4000 addr=unmapped mmap=no" in lines
    assert "rom size=0x800" in lines
    assert "msix entries=8 table=bar2+0x0 pba=bar2+0x1000 enabled=0" in lines
    assert "  vector 7 addr=0x0000000000000000 data=0x00000000 ctrl=0x00000001" in lines
    assert "interrupt mode=intx vectors=0 intx_pin=A irqs intx=0 msi=0 msix=0 err=0 req=0" in lines
    assert "  000: 11f01b36 00100003 00ff0001 00000000" in lines
    assert lines[-1] == "unrealized"
    calls = [(o, c) for o, c, _ in ioctls(trace)]
    # vfio-abi.md §4: group, container, type probe, DMA replay, device.
    assert calls[:10] == [
        ("group100", "VFIO_GROUP_GET_STATUS"),
        ("container0", "VFIO_GET_API_VERSION"),
        ("container0", "VFIO_CHECK_EXTENSION"),
        ("group100", "VFIO_GROUP_SET_CONTAINER"),
        ("container0", "VFIO_SET_IOMMU"),
        ("container0", "VFIO_IOMMU_GET_INFO"),
        ("container0", "VFIO_IOMMU_GET_INFO"),
        ("container0", "VFIO_IOMMU_MAP_DMA"),
        ("group100", "VFIO_GROUP_GET_DEVICE_FD"),
        (DMA, "VFIO_DEVICE_GET_INFO"),
    ]
    assert calls[10:17] == [(DMA, "VFIO_DEVICE_GET_REGION_INFO")] * 7
    assert calls[17:22] == [(DMA, "VFIO_DEVICE_GET_IRQ_INFO"),
                            (DMA, "VFIO_DEVICE_SET_IRQS"),   # INTx eventfd
                            (DMA, "VFIO_DEVICE_SET_IRQS"),   # ERR eventfd
                            (DMA, "VFIO_DEVICE_GET_IRQ_INFO"),
                            (DMA, "VFIO_DEVICE_SET_IRQS")]   # REQ eventfd
    # Teardown: REQ, ERR, INTx off, unmap, unset.
    assert calls[-5:] == [(DMA, "VFIO_DEVICE_SET_IRQS")] * 3 + [
        ("container0", "VFIO_IOMMU_UNMAP_DMA"), ("group100", "VFIO_GROUP_UNSET_CONTAINER")]
    assert all(r >= 0 for _, _, r in ioctls(trace))
    # The whole RAM, readable and writable, at IOVA 0.
    maps = [l for l in trace if l.startswith("core_vfio_dma_map")]
    assert len(maps) == 1
    assert re.fullmatch(r"core_vfio_dma_map container0 iova=0x0 size=0x4000000 "
                        r"vaddr=0x[0-9a-f]+ flags=0x3 ret=0", maps[0])


def test_t5vf_pba_quirk_and_cap_order(run):
    need_fake()
    rc, out, err, _ = run.fv(["--device", f"chelsio-t5-vf@{T5}"], [T5])
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "caps: 0x70:EXP 0xb0:MSIX 0x50:MSI" in lines
    assert "msix entries=8 table=bar4+0x0 pba=bar4+0x1000 (quirk) enabled=0" in lines
    # The guest reads the fixed PBA offset (BIR 4) at 0xb8.
    assert "  0b0: 00075011 00000004 00001004 00000000" in lines
    assert "interrupt mode=none vectors=0 intx_pin=- irqs intx=0 msi=0 msix=0 err=0 req=0" in lines
    assert "flags reset_works=1 has_flr=1 has_pm_reset=0 pci_aer=1 req=1 config_size=0x1000" in lines


def test_t5vf_fixed_silicon_no_quirk(run):
    need_fake()
    rc, out, err, _ = run.fv(["--device", f"chelsio-t5-vf@{T5},pba_erratum=off"], [T5])
    assert (rc, err) == (0, "")
    assert "msix entries=8 table=bar4+0x0 pba=bar4+0x1000 enabled=0" in out.splitlines()


def test_pba_outside_bar_fails_cleanly(run):
    need_fake()
    rc, out, err, trace = run.fv(["--device", f"dma-test@{DMA},pba_offset=0x8000"], [DMA],
                                 trace="core_vfio_ioctl")
    assert rc == 1
    assert err == (f"vfc-realize: vfio {DMA}: Hardware reports invalid configuration, "
                   "MSIX PBA outside of specified BAR\n")
    calls = ioctls(trace)
    # Everything released: unmap, unset, nothing after.
    assert [(o, c) for o, c, _ in calls[-2:]] == [
        ("container0", "VFIO_IOMMU_UNMAP_DMA"), ("group100", "VFIO_GROUP_UNSET_CONTAINER")]


def test_id_override_validation(run):
    need_fake()
    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"],
                             ["--property", "x-pci-vendor-id=0xffff", DMA])
    assert (rc, err) == (1, f"vfc-realize: vfio {DMA}: Invalid PCI vendor ID provided\n")
    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"],
                             ["--property", "x-pci-device-id=0x10000", DMA])
    assert (rc, err) == (1, f"vfc-realize: vfio {DMA}: Invalid PCI device ID provided\n")
    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"],
                             ["--property", "x-pci-vendor-id=0x8086",
                              "--property", "x-pci-sub-device-id=0x4242", DMA])
    assert (rc, err) == (0, "")
    assert "  000: 11f08086 00100003 00ff0001 00000000" in out.splitlines()
    assert "  020: 00000000 00000000 00000000 42421b36" in out.splitlines()


def test_groups_containers_and_already_attached(run):
    need_fake()
    topo = run.topology(f"device dma-test {DMA} group=100\n"
                        "device dma-test 0000:00:06.0 group=100\n"
                        "device dma-test 0000:00:07.0 group=101\n")
    rc, out, err, trace = run.fv(topo, [DMA, "0000:00:06.0", "0000:00:07.0"],
                                 trace="core_vfio_ioctl")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "device 0000:00:06.0 id=device[1] devfn=01.0 group=100 container=container0 mappings=1" in lines
    # Group 101 joined the same container: no second open, no second map.
    assert "device 0000:00:07.0 id=device[2] devfn=02.0 group=101 container=container0 mappings=1" in lines
    calls = [(o, c) for o, c, _ in ioctls(trace)]
    assert calls.count(("group100", "VFIO_GROUP_GET_STATUS")) == 1
    assert ("group101", "VFIO_GROUP_SET_CONTAINER") in calls
    assert sum(1 for o, c in calls if c == "VFIO_GET_API_VERSION") == 1
    assert sum(1 for o, c in calls if c == "VFIO_IOMMU_MAP_DMA") == 1
    # Group 101 leaves first, the last group unmaps and unsets.
    assert calls[-2:] == [("container0", "VFIO_IOMMU_UNMAP_DMA"),
                          ("group100", "VFIO_GROUP_UNSET_CONTAINER")]
    assert ("group101", "VFIO_GROUP_UNSET_CONTAINER") in calls

    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"], [DMA, DMA])
    assert (rc, err) == (1, f"vfc-realize: vfio {DMA}: error: device {DMA} is already attached\n")


def test_group_not_viable(run):
    need_fake()
    topo = run.topology(f"device dma-test {DMA} group=100\n"
                        "device dma-test 0000:00:06.0 group=100 driver=host\n")
    rc, out, err, _ = run.fv(topo, [DMA])
    assert rc == 1
    assert err == (f"vfc-realize: vfio {DMA}: failed to get group 100: error, group 100 "
                   "is not viable, please ensure all devices within the iommu_group "
                   "are bound to their vfio bus driver.\n")


def test_msix_enable_and_delivery(run):
    need_fake()
    rc, out, err, trace = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--cfg-write", "0x18:4:0xe0100000", "--cfg-write", "0x1c:4:0",
         "--cfg-write", "0x4:2:0x6", "--cfg-write", "0xb2:2:0x8007",
         "--mmio-write", "0xe0100010:4:0xfee00000", "--mmio-write", "0xe0100018:4:0x42",
         "--mmio-write", "0xe010001c:4:0",
         "--control", f"irq {DMA} MSIX 1", "--step", "2000",
         "--control", f"irq {DMA} MSIX 0", "--step", "200",
         "--cfg-write", "0xb2:2:0x0007", "--dump"],
        trace="core_vfio_ioctl,core_vfio_irq*")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "intc msi source=0x0 addr=0xfee00000 data=0x42" in lines
    assert lines.count("intc msi source=0x0 addr=0xfee00000 data=0x42") == 1
    # Vector 0 stays masked in the guest: its interrupt is pending, not sent.
    assert not any("data=0x0\n" in l for l in lines)
    assert "interrupt mode=intx vectors=0 intx_pin=A irqs intx=0 msi=0 msix=2 err=0 req=0" in lines
    modes = [l for l in trace if l.startswith("core_vfio_irq_mode")]
    assert modes == [f"core_vfio_irq_mode {DMA} mode=intx vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0",
                     f"core_vfio_irq_mode {DMA} mode=msix vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0",
                     f"core_vfio_irq_mode {DMA} mode=intx vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0"]
    uses = [l for l in trace if "msix-use" in l]
    assert uses == [f"core_vfio_irq {DMA} msix-use vector=0",
                    f"core_vfio_irq {DMA} msix-use vector=1"]


def test_msi_enable_and_delivery(run):
    need_fake()
    rc, out, err, _ = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--cfg-write", "0x4:2:0x6", "--cfg-write", "0x54:4:0xfee01000",
         "--cfg-write", "0x58:4:0", "--cfg-write", "0x5c:2:0x30",
         "--cfg-write", "0x52:2:0x1",
         "--control", f"irq {DMA} MSI 0", "--step", "2000", "--dump"])
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "intc msi source=0x0 addr=0xfee01000 data=0x30" in lines
    assert "interrupt mode=msi vectors=1 intx_pin=A irqs intx=0 msi=1 msix=0 err=0 req=0" in lines


def test_intx_and_eoi(run):
    need_fake()
    rc, out, err, trace = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--cfg-write", "0x10:4:0xe0000000", "--cfg-write", "0x4:2:0x2",
         "--control", f"irq {DMA} INTX", "--step", "2000",
         "--mmio-read", "0xe0000000:4", "--dump"],
        trace="core_vfio_ioctl,core_vfio_bar_read")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    i = lines.index("intc intx source=0x0 pin=0 level=1")
    assert lines[i + 1] == "step handlers=1"
    # The BAR read (the ID register "DMAT") is the EOI: pin low, unmask.
    assert lines[i + 2] == "intc intx source=0x0 pin=0 level=0"
    assert lines[i + 3] == "mmio[0xe0000000/4] = 0x54414d44 status=0"
    assert f"core_vfio_bar_read {DMA} bar=0 off=0x0 len=4 val=0x54414d44" in trace
    assert "interrupt mode=intx vectors=0 intx_pin=A irqs intx=1 msi=0 msix=0 err=0 req=0" in lines


def test_err_and_req_notifiers(run):
    need_fake()
    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"],
                             [DMA, "--control", f"irq {DMA} ERR", "--step", "2000",
                              "--control", f"irq {DMA} REQ", "--step", "2000", "--dump"])
    assert rc == 0
    assert err == (f"vfio_err_notifier_handler({DMA}) Unrecoverable error detected.  "
                   "Please collect any data possible and then kill the guest\n"
                   f"vfio {DMA}: device request: the host wants the device back\n")
    assert "interrupt mode=intx vectors=0 intx_pin=A irqs intx=0 msi=0 msix=0 err=1 req=1" \
        in out.splitlines()


def test_reset_flr(run):
    need_fake()
    rc, out, err, trace = run.fv(["--device", f"dma-test@{DMA}"], [DMA, "--reset"],
                                 trace="core_vfio_ioctl,core_vfio_reset")
    assert (rc, err) == (0, "")
    assert f"core_vfio_reset {DMA} kind=flr ret=0" in trace
    assert (DMA, "VFIO_DEVICE_RESET", 0) in ioctls(trace)


def test_reset_hot_reset_two_calls(run):
    need_fake()
    bdf = "0000:03:00.0"	# not on the root bus: a bus reset is possible
    rc, out, err, trace = run.fv(["--device", f"dma-test@{bdf},flr=off"],
                                 [bdf, "--reset"], trace="core_vfio_ioctl,core_vfio_reset")
    assert (rc, err) == (0, "")
    calls = ioctls(trace)
    info = [c for c in calls if c[1] == "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO"]
    # ENOSPC with the count, then the full call; again for the multi reset
    # of the reset handler, which finds no other device of ours: no ioctl.
    assert info == [(bdf, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", -28),
                    (bdf, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", 0)] * 2
    assert [c for c in calls if c[1] in ("VFIO_DEVICE_PCI_HOT_RESET", "VFIO_DEVICE_RESET")] \
        == [(bdf, "VFIO_DEVICE_PCI_HOT_RESET", 0)]
    resets = [l for l in trace if l.startswith("core_vfio_reset")]
    assert resets == [f"core_vfio_reset {bdf} kind=reset ret=0",
                      f"core_vfio_reset {bdf} kind=hot-one ret=0",
                      f"core_vfio_reset {bdf} kind=hot-result ret=0",
                      f"core_vfio_reset {bdf} kind=hot-multi ret=0"]


def test_reset_pm_when_no_bus_reset(run):
    need_fake()
    # On the root bus the kernel has no bus reset (ENODEV): PM reset.
    rc, out, err, trace = run.fv(["--device", f"dma-test@{DMA},flr=off"],
                                 [DMA, "--reset"], trace="core_vfio_ioctl,core_vfio_reset")
    assert (rc, err) == (0, "")
    calls = ioctls(trace)
    assert (DMA, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", -19) in calls
    assert f"core_vfio_reset {DMA} kind=pm ret=0" in trace
    assert [c for c in calls if c[1] == "VFIO_DEVICE_RESET"] == [(DMA, "VFIO_DEVICE_RESET", 0)]


def test_dma_map_ebusy_retry(run):
    need_fake()
    topo = run.topology(f"device dma-test {DMA}\n"
                        "fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1\n")
    rc, out, err, trace = run.fv(topo, [DMA], trace="core_vfio_ioctl")
    assert (rc, err) == (0, "")
    calls = [c for c in ioctls(trace) if c[0] == "container0" and "DMA" in c[1]]
    assert calls[:3] == [("container0", "VFIO_IOMMU_MAP_DMA", -16),
                         ("container0", "VFIO_IOMMU_UNMAP_DMA", 0),
                         ("container0", "VFIO_IOMMU_MAP_DMA", 0)]


def test_dma_map_failure_fails_realize(run):
    need_fake()
    topo = run.topology(f"device dma-test {DMA}\nfault VFIO_IOMMU_MAP_DMA errno=EIO\n")
    rc, out, err, _ = run.fv(topo, [DMA])
    assert rc == 1
    assert err.endswith("memory listener initialization failed: Input/output error\n")


def test_bars_rom_io_and_properties(run):
    need_fake()
    rc, out, err, trace = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--property", "x-req=off", "--property", "multifunction=on",
         "--property", "addr=3.0", "--property", "id=dt0",
         "--cfg-write", "0x10:4:0xe0000000", "--cfg-write", "0x14:4:0xc000",
         "--cfg-write", "0x30:4:0xe0200001", "--cfg-write", "0x4:2:0x3",
         "--mmio-read", "0xe0200000:4", "--mmio-read", "0xe0200040:8",
         "--mmio-write", "0xe0000008:4:0x12345678", "--io-read", "0xc004:4",
         "--io-write", "0xc004:2:0xabcd", "--mmio-read", "0xe0000008:4",
         "--cfg-read", "0xe:1"],
        trace="core_vfio_ioctl,core_vfio_bar_*")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "device 0000:00:05.0 id=dt0 devfn=03.0 group=100 container=container0 mappings=1" in lines
    assert "flags reset_works=1 has_flr=1 has_pm_reset=1 pci_aer=1 req=0 config_size=0x1000" in lines
    # The option ROM, read on first use: "55 aa 04 cb", then the text.
    assert "mmio[0xe0200000/4] = 0xcb04aa55 status=0" in lines
    assert "mmio[0xe0200040/8] = 0x747365742d616d64 status=0" in lines
    # BAR0 SCRATCH is BAR1 + 4: the slow path both ways.
    assert "io[0xc004/4] = 0x12345678 status=0" in lines
    assert "mmio[0xe0000008/4] = 0x1234abcd status=0" in lines
    assert f"core_vfio_bar_write {DMA} bar=1 off=0x4 len=2 val=0xabcd" in trace
    # Multifunction is ours: the header type shows it.
    assert "cfg[0xe/1] = 0x80" in lines
    # ROM region info asked once, at the first ROM read.
    assert sum(1 for o, c, r in ioctls(trace) if c == "VFIO_DEVICE_GET_REGION_INFO") == 8
    # x-req=off: no REQ irq info, no REQ eventfd.
    assert sum(1 for o, c, r in ioctls(trace) if c == "VFIO_DEVICE_GET_IRQ_INFO") == 1

    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"], [DMA, "--property", "rombar=off"])
    assert (rc, err) == (0, "")
    assert not any(l.startswith("rom ") for l in out.splitlines())
    assert "  030: 00000000 00000040 00000000 00000111" in out.splitlines()

    rc, out, err, _ = run.fv(["--device", f"dma-test@{DMA}"], [DMA, "--property", "x-vga=on"])
    assert (rc, err) == (1, f"vfc-realize: vfio {DMA}: Device does not support requested feature x-vga\n")


G = f"vfc-realize: vfio {DMA}: failed to get group 100: "
C = G + "failed to setup container for group 100: "
D = f"vfc-realize: vfio {DMA}: failed to get device {DMA}: "
V = f"vfc-realize: vfio {DMA}: "


@pytest.mark.parametrize("fault,msg", [
    ("open-group errno=EACCES", G + "error opening /dev/vfio/100: Permission denied"),
    ("VFIO_GROUP_GET_STATUS errno=EIO", G + "error getting group status: Input/output error"),
    ("open-container errno=ENOENT",
     C + "failed to open /dev/vfio/vfio: No such file or directory"),
    ("VFIO_GET_API_VERSION errno=EIO", C + "supported vfio version: 0, reported version: -5"),
    ("VFIO_CHECK_EXTENSION errno=EIO", C + "No available IOMMU models"),
    ("VFIO_GROUP_SET_CONTAINER errno=EBUSY",
     C + "failed to set group container: Device or resource busy"),
    ("VFIO_SET_IOMMU errno=EPERM", C + "failed to set iommu for container: Operation not permitted"),
    ("VFIO_IOMMU_MAP_DMA errno=ENOMEM",
     C + "memory listener initialization failed: Cannot allocate memory"),
    ("VFIO_GROUP_GET_DEVICE_FD errno=EBUSY",
     D + f"error getting device {DMA} from group 100: Device or resource busy; Verify all "
     "devices in group 100 are bound to vfio-<bus> or pci-stub and not already in use"),
    ("VFIO_DEVICE_GET_INFO errno=EIO", D + "error getting device info: Input/output error"),
    ("VFIO_DEVICE_GET_REGION_INFO errno=EIO", V + "Error getting region 0 info: Input/output error"),
    ("VFIO_DEVICE_GET_REGION_INFO errno=EIO after=6", V + "Error getting config info: Input/output error"),
    ("region-read region=7 errno=EIO", V + "Failed to read device config space: Input/output error"),
    ("VFIO_DEVICE_SET_IRQS errno=EINVAL", V + "Error: Failed to setup INTx fd: Invalid argument"),
])
def test_realize_failures(run, fault, msg):
    """Each failure: the message, exit 1, and every resource released."""
    need_fake()
    topo = run.topology(f"device dma-test {DMA}\nfault {fault}\n")
    rc, out, err, trace = run.fv(topo, [DMA], trace="core_vfio_ioctl")
    assert rc == 1
    if fault.startswith("VFIO_IOMMU_MAP_DMA"):
        # The failed mapping itself is reported as it happens.
        first, err = err.split("\n", 1)
        assert re.fullmatch(r"vfio_dma_map\(container0, 0x0, 0x4000000, 0x[0-9a-f]+\) = -12 "
                            r"\(Cannot allocate memory\)", first)
    assert err == msg + "\n"
    calls = [(o, c) for o, c, _ in ioctls(trace)]
    if ("group100", "VFIO_GROUP_SET_CONTAINER") in calls and "container" not in fault.lower():
        assert calls[-1] == ("group100", "VFIO_GROUP_UNSET_CONTAINER")


@pytest.mark.parametrize("fault,warning,flags", [
    # No ERR/REQ info: no notifiers, no message.
    ("VFIO_DEVICE_GET_IRQ_INFO errno=EIO", "", "pci_aer=0 req=0"),
    # The ERR and REQ eventfds refused: reported, realize goes on.
    ("VFIO_DEVICE_SET_IRQS errno=EIO after=1",
     "vfio: Failed to set up error notification\n"
     "vfio: Failed to set up device request notification\n", "pci_aer=0 req=0"),
    ("VFIO_IOMMU_GET_INFO errno=EIO", "", "pci_aer=1 req=1"),
    ("VFIO_IOMMU_UNMAP_DMA errno=EIO",
     "vfio_dma_unmap(container0, 0x0, 0x4000000) = -5 (Input/output error)\n", "pci_aer=1 req=1"),
    ("VFIO_GROUP_UNSET_CONTAINER errno=EIO",
     "vfio: error disconnecting group 100 from container: Input/output error\n", "pci_aer=1 req=1"),
])
def test_non_fatal_failures(run, fault, warning, flags):
    need_fake()
    topo = run.topology(f"device dma-test {DMA}\nfault {fault}\n")
    rc, out, err, _ = run.fv(topo, [DMA])
    assert (rc, err) == (0, warning)
    assert f"flags reset_works=1 has_flr=1 has_pm_reset=1 {flags} config_size=0x1000" \
        in out.splitlines()


def test_hot_reset_info_failure(run):
    need_fake()
    bdf = "0000:03:00.0"
    topo = run.topology(f"device dma-test {bdf} flr=off\n"
                        "fault VFIO_DEVICE_GET_PCI_HOT_RESET_INFO errno=EIO after=1\n")
    rc, out, err, trace = run.fv(topo, [bdf, "--reset"], trace="core_vfio_ioctl")
    assert (rc, err) == (0, "vfio: hot reset info failed: Input/output error\n")
    calls = ioctls(trace)
    # The count (ENOSPC), the failed full call, then the PM reset; the
    # reset handler's multi reset then fails at once, quietly (PM reset).
    assert [c for c in calls if "RESET" in c[1]] == [
        (bdf, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", -28),
        (bdf, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", -5),
        (bdf, "VFIO_DEVICE_RESET", 0),
        (bdf, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", -5)]


def test_hot_reset_multi_device(run):
    need_fake()
    a, b = "0000:03:00.0", "0000:03:00.1"
    topo = run.topology(f"device dma-test {a} group=100 flr=off\n"
                        f"device dma-test {b} group=101 flr=off\n")
    rc, out, err, trace = run.fv(topo, [a, b, "--reset"],
                                 trace="core_vfio_ioctl,core_vfio_reset")
    assert (rc, err) == (0, "")
    resets = [l for l in trace if l.startswith("core_vfio_reset")]
    # Device resets: a single-device bus reset would hit our other device
    # (EINVAL), so PM resets; then the reset handler resets the bus once,
    # for both, with both group fds.
    assert resets == [f"core_vfio_reset {a} kind=reset ret=0",
                      f"core_vfio_reset {a} kind=hot-one ret=0",
                      f"core_vfio_reset {a} kind=pm ret=0",
                      f"core_vfio_reset {b} kind=reset ret=0",
                      f"core_vfio_reset {b} kind=hot-one ret=0",
                      f"core_vfio_reset {b} kind=pm ret=0",
                      f"core_vfio_reset {b} kind=hot-multi ret=0",
                      f"core_vfio_reset {b} kind=hot-result ret=0"]
    assert [c for c in ioctls(trace) if c[1] == "VFIO_DEVICE_PCI_HOT_RESET"] == \
        [(b, "VFIO_DEVICE_PCI_HOT_RESET", 0)]


def test_hot_reset_group_not_owned(run):
    need_fake()
    a = "0000:03:00.0"
    topo = run.topology(f"device dma-test {a} group=100 flr=off nosoftrst=on\n"
                        "device dma-test 0000:03:00.1 group=101\n")
    rc, out, err, trace = run.fv(topo, [a, "--reset"], trace="core_vfio_ioctl")
    assert rc == 0
    # No FLR, no PM reset (reset_works=0): a hot reset, refused twice.
    assert "flags reset_works=0 has_flr=0 has_pm_reset=0 pci_aer=1 req=1 config_size=0x1000" \
        in out.splitlines()
    assert err == (f"vfio: Cannot reset device {a}, depends on group 101 which is not owned.\n") * 2
    assert not [c for c in ioctls(trace) if c[1] in ("VFIO_DEVICE_PCI_HOT_RESET", "VFIO_DEVICE_RESET")]


def test_intx_route_change_is_an_eoi(run):
    need_fake()
    rc, out, err, trace = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--intx-route", "0:5", "--control", f"irq {DMA} INTX", "--step", "2000",
         "--intx-route", "0:5", "--intx-route", "0:10", "--intx-route", "0:-1"],
        trace="core_vfio_ioctl")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    i = lines.index("intc intx source=0x0 pin=0 level=1")
    assert lines[i + 1:i + 3] == ["step handlers=1", "intc intx source=0x0 pin=0 level=0"]
    # One unmask (the route change); an unchanged route does nothing.
    n = [c for c in ioctls(trace) if c[1] == "VFIO_DEVICE_SET_IRQS"]
    assert len(n) == 3 + 1 + 3


def test_msi_disable_back_to_intx(run):
    need_fake()
    rc, out, err, trace = run.fv(
        ["--device", f"dma-test@{DMA}"],
        [DMA, "--cfg-write", "0x52:2:0x1", "--cfg-write", "0x54:4:0xfee00000",
         "--cfg-write", "0x52:2:0x0", "--dump"], trace="core_vfio_irq_mode")
    assert (rc, err) == (0, "")
    assert trace == [f"core_vfio_irq_mode {DMA} mode=intx vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0",
                     f"core_vfio_irq_mode {DMA} mode=msi vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0",
                     f"core_vfio_irq_mode {DMA} mode=intx vectors=1",
                     f"core_vfio_irq_mode {DMA} mode=none vectors=0"]
    assert "interrupt mode=intx vectors=0 intx_pin=A irqs intx=0 msi=0 msix=0 err=0 req=0" \
        in out.splitlines()
