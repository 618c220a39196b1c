# SPDX-License-Identifier: GPL-2.0-or-later
"""sPAPR TCE and EEH scenarios for a POWER host (`fakevfio run --platform
pseries`), run as CMD: each prints "key value" lines for
test_fakevfio_spapr.py to check.  Plain VFIO ioctls through vfio_client."""
import errno
import fcntl
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vfio_client import (IO, CHECK_EXTENSION, SET_IOMMU, IOMMU_MAP_DMA, IOMMU_UNMAP_DMA,  # noqa: E402
                         IRQ_ERR, Control, Device, eventfd_count, ioctl_buf, say)

SPAPR_TCE_GET_INFO, IOMMU_ENABLE, IOMMU_DISABLE = IO(12), IO(15), IO(16)
REGISTER_MEMORY, UNREGISTER_MEMORY, TCE_CREATE, TCE_REMOVE, EEH_PE_OP = IO(17), IO(18), IO(19), IO(20), IO(21)
SPAPR_TCE, SPAPR_TCE_V2, EEH = 2, 7, 5
RD, WR = 1, 2
EEH_GET_STATE, EEH_UNFREEZE_IO, EEH_UNFREEZE_DMA, EEH_RESET_HOT, EEH_RESET_DEACTIVATE, EEH_INJECT = 4, 2, 3, 6, 5, 9


def err(fn, *args):
    """fn's result, or the errno name it failed with."""
    try:
        r = fn(*args)
        return "0" if r is None else str(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def ioc(fd, cmd, data):
    return ioctl_buf(fd, cmd, data)[0]


def get_info(c):
    _, out = ioctl_buf(c, SPAPR_TCE_GET_INFO, struct.pack("IIIIQII", 32, 0, 0, 0, 0, 0, 0))
    return struct.unpack("IIIIQII", out)


def mapping(c, flags, vaddr, iova, size):
    return ioc(c, IOMMU_MAP_DMA, struct.pack("IIQQQ", 32, flags, vaddr, iova, size))


def unmap(c, iova, size):
    _, out = ioctl_buf(c, IOMMU_UNMAP_DMA, struct.pack("IIQQ", 24, 0, iova, size))
    return hex(struct.unpack("IIQQ", out)[3])


def register(c, vaddr, size, cmd=REGISTER_MEMORY):
    return ioc(c, cmd, struct.pack("IIQQ", 24, 0, vaddr, size))


def eeh(c, op, *err_args):
    if op == EEH_INJECT:
        return ioc(c, EEH_PE_OP, struct.pack("IIIIIIQQ", 40, 0, op, 0, *err_args, 0, 0))
    return ioc(c, EEH_PE_OP, struct.pack("III", 12, 0, op))


def dump(ctl):
    return ctl.request("dump mappings")[1]


def faults(ctl):
    _, lines, _ = ctl.request("events")
    return [l.split(" ", 2)[2] for l in lines if "kind=iommu-fault" in l]


def scenario_v1(group, bdf):
    c = os.open("/dev/vfio/vfio", os.O_RDWR)
    say("ext", ",".join(str(fcntl.ioctl(c, CHECK_EXTENSION, i)) for i in range(1, 9)))
    g = os.open("/dev/vfio/%d" % group, os.O_RDWR)
    fcntl.ioctl(g, IO(4), struct.pack("i", c))
    say("set_type1", err(fcntl.ioctl, c, SET_IOMMU, 1))
    say("set_v1", err(fcntl.ioctl, c, SET_IOMMU, SPAPR_TCE))
    say("info", get_info(c))
    os.close(c)
    os.close(g)
    dev = Device(group, bdf, iommu=SPAPR_TCE)
    c = dev.container
    buf, vaddr = dev.dma_buffer(0x4000)
    say("map_before_enable", err(mapping, c, RD | WR, vaddr, 0x100000, 0x1000))
    say("enable", err(fcntl.ioctl, c, IOMMU_ENABLE))
    say("enable_again", err(fcntl.ioctl, c, IOMMU_ENABLE))
    say("map_outside", err(mapping, c, RD | WR, vaddr, 1 << 30, 0x1000))
    say("map_unaligned", err(mapping, c, RD | WR, vaddr + 0x800, 0x100000, 0x1000))
    say("map_rw", err(mapping, c, RD | WR, vaddr, 0x100000, 0x2000))
    say("map_ro", err(mapping, c, RD, vaddr + 0x2000, 0x102000, 0x1000))
    say("map_wo", err(mapping, c, WR, vaddr + 0x3000, 0x103000, 0x1000))
    ctl = Control()
    say("dump", "|".join(dump(ctl)))
    dev.cfg_write(4, 2, dev.cfg_read(4, 2) | 0x6)
    say("dma_write", ctl.request("dma-write %s 0x100ffe 11223344" % bdf)[2])
    say("buf", buf[0xffe:0x1002].hex())
    buf[0x2000:0x2004] = b"\xab\xcd\xef\x01"
    say("dma_read_ro", " ".join(ctl.request("dma-read %s 0x102000 4" % bdf)[1]))
    say("dma_write_ro", ctl.request("dma-write %s 0x102000 00" % bdf)[2])
    say("dma_read_wo", " ".join(ctl.request("dma-read %s 0x103000 2" % bdf)[1]))
    say("unmap", unmap(c, 0x101000, 0x1000))
    say("dma_cleared", ctl.request("dma-read %s 0x101000 4" % bdf)[2])
    say("dma_outside", ctl.request("dma-read %s 0x40000000 4" % bdf)[2])
    say("faults", "|".join(faults(ctl)))
    say("dump_after", "|".join(dump(ctl)))
    say("disable", err(fcntl.ioctl, c, IOMMU_DISABLE))
    say("unmap_disabled", err(unmap, c, 0x100000, 0x1000))
    say("register_v1", err(register, c, vaddr, 0x1000))
    dev.close()


def scenario_v2(group, bdf):
    dev = Device(group, bdf, iommu=SPAPR_TCE_V2)
    c = dev.container
    say("info", get_info(c))
    say("enable_v2", err(fcntl.ioctl, c, IOMMU_ENABLE))
    buf, vaddr = dev.dma_buffer(0x40000)
    say("map_unregistered", err(mapping, c, RD | WR, vaddr, 0, 0x1000))
    say("unregister_absent", err(register, c, vaddr, 0x1000, UNREGISTER_MEMORY))
    say("register", err(register, c, vaddr, 0x20000))
    say("register_again", err(register, c, vaddr, 0x20000))
    say("map_outside_mem", err(mapping, c, RD | WR, vaddr + 0x20000, 0, 0x1000))
    say("map_default", err(mapping, c, RD | WR, vaddr, 0x1000, 0x2000))
    arg = struct.pack("IIIIQIIQ", 40, 0, 12, 0, 1 << 32, 1, 0, 0)
    _, out = ioctl_buf(c, TCE_CREATE, arg)
    say("create", hex(struct.unpack("IIIIQIIQ", out)[7]))
    say("map_ddw", err(mapping, c, RD | WR, vaddr + 0x10000, (1 << 59) + 0x10000, 0x1000))
    ctl = Control()
    say("dump", "|".join(dump(ctl)))
    dev.cfg_write(4, 2, dev.cfg_read(4, 2) | 0x6)
    say("dma_ddw", ctl.request("dma-write %s 0x%x cafe" % (bdf, (1 << 59) + 0x10010))[2])
    say("buf", buf[0x10010:0x10012].hex())
    say("unregister_busy", err(register, c, vaddr, 0x20000, UNREGISTER_MEMORY))
    say("remove", err(ioc, c, TCE_REMOVE, struct.pack("IIQ", 16, 0, 1 << 59)))
    say("dma_removed", ctl.request("dma-write %s 0x%x cafe" % (bdf, (1 << 59) + 0x10010))[2])
    say("unmap", unmap(c, 0, 0x40000000))
    # 6.1: the EBUSY above already took the region off the container's list.
    say("unregister", err(register, c, vaddr, 0x20000, UNREGISTER_MEMORY))
    say("register_back", err(register, c, vaddr, 0x20000))
    say("unregister_back", err(register, c, vaddr, 0x20000, UNREGISTER_MEMORY))
    say("dump_after", len(dump(ctl)))
    # Another process (a child: another mm) is refused; CHECK_EXTENSION is not.
    pid = os.fork()
    if pid == 0:
        say("child_info", err(get_info, c))
        say("child_ext", err(fcntl.ioctl, c, CHECK_EXTENSION, SPAPR_TCE_V2))
        say("child_eeh", err(eeh, c, EEH_GET_STATE))
        os._exit(0)
    os.waitpid(pid, 0)
    say("parent_info", err(lambda: get_info(c)[3]))
    dev.close()


def scenario_eeh(group, bdf):
    dev = Device(group, bdf, iommu=SPAPR_TCE_V2)
    c = dev.container
    ctl = Control()
    efd = dev.new_eventfd()
    say("set_err", dev.set_irq_eventfds(IRQ_ERR, [efd]))
    buf, vaddr = dev.dma_buffer(0x1000)
    register(c, vaddr, 0x1000)
    mapping(c, RD | WR, vaddr, 0, 0x1000)
    dev.cfg_write(4, 2, dev.cfg_read(4, 2) | 0x6)
    say("state0", eeh(c, EEH_GET_STATE))
    say("vendor", hex(dev.cfg_read(0, 4)))
    say("bar0", hex(dev.bar_read(0, 0, 4)))
    say("inject_bad", err(eeh, c, EEH_INJECT, 7, 0))
    say("inject", eeh(c, EEH_INJECT, 0, 0))
    say("err_signalled", eventfd_count(efd))
    say("state_frozen", eeh(c, EEH_GET_STATE))
    say("vendor_frozen", hex(dev.cfg_read(0, 4)))
    say("bar0_frozen", hex(dev.bar_read(0, 0, 4)))
    say("dma_frozen", ctl.request("dma-read %s 0x0 4" % bdf)[2])
    say("unfreeze_io", eeh(c, EEH_UNFREEZE_IO))
    say("state_io", eeh(c, EEH_GET_STATE))
    say("vendor_io", hex(dev.cfg_read(0, 4)))
    say("unfreeze_dma", eeh(c, EEH_UNFREEZE_DMA))
    say("state_thawed", eeh(c, EEH_GET_STATE))
    say("dma_thawed", ctl.request("dma-read %s 0x0 4" % bdf)[2])
    say("reset_hot", eeh(c, EEH_RESET_HOT))
    say("state_reset", eeh(c, EEH_GET_STATE))
    say("deactivate", eeh(c, EEH_RESET_DEACTIVATE))
    say("state_after", eeh(c, EEH_GET_STATE))
    _, lines, _ = ctl.request("events")
    say("events", "|".join(l.split(" ", 2)[2] for l in lines
                           if "kind=reset" in l or "kind=iommu-fault" in l or "index=ERR" in l))
    dev.close()


def scenario_tce_v1_only(group, bdf):
    c = os.open("/dev/vfio/vfio", os.O_RDWR)
    g = os.open("/dev/vfio/%d" % group, os.O_RDWR)
    fcntl.ioctl(g, IO(4), struct.pack("i", c))
    say("ext", ",".join(str(fcntl.ioctl(c, CHECK_EXTENSION, i)) for i in (2, 7)))
    say("set_v2", err(fcntl.ioctl, c, SET_IOMMU, SPAPR_TCE_V2))
    say("set_v1", err(fcntl.ioctl, c, SET_IOMMU, SPAPR_TCE))
    say("v2_ioctl", err(register, c, 0, 0x1000))


SCENARIOS = {"v1": scenario_v1, "v2": scenario_v2, "eeh": scenario_eeh,
             "tce-v1-only": scenario_tce_v1_only}

if __name__ == "__main__":
    try:
        SCENARIOS[sys.argv[1]](int(sys.argv[2]), sys.argv[3])
    except OSError as e:
        import traceback
        traceback.print_exc()
        say("oserror", "%s %s" % (errno.errorcode.get(e.errno, e.errno), e))
        sys.exit(1)
