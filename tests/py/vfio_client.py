# SPDX-License-Identifier: GPL-2.0-or-later
"""A small VFIO client in plain Python (fcntl + ctypes), for end-to-end tests.

It speaks the Linux VFIO ABI directly, like any user-space driver, so it runs
against fakevfio (inside `fakevfio run`) or against the real kernel.  Also a
tiny client of fakevfio's control socket.  Run as a script, it executes the
scenario named on its command line (see SCENARIOS) and prints one
"key value" line per observation; the pytest side checks them.
"""
import ctypes
import errno
import fcntl
import mmap
import os
import select
import socket
import struct
import sys

VFIO_BASE = 0x3B64


def IO(n):
    return VFIO_BASE + n


GET_API_VERSION, CHECK_EXTENSION, SET_IOMMU = IO(0), IO(1), IO(2)
GROUP_GET_STATUS, GROUP_SET_CONTAINER, GROUP_UNSET_CONTAINER, GROUP_GET_DEVICE_FD = IO(3), IO(4), IO(5), IO(6)
DEVICE_GET_INFO, DEVICE_GET_REGION_INFO, DEVICE_GET_IRQ_INFO, DEVICE_SET_IRQS = IO(7), IO(8), IO(9), IO(10)
DEVICE_RESET = IO(11)
IOMMU_GET_INFO, IOMMU_MAP_DMA, IOMMU_UNMAP_DMA = IO(12), IO(13), IO(14)
TYPE1_IOMMU, TYPE1v2_IOMMU = 1, 3
PCI_CONFIG_REGION_INDEX = 7
IRQ_INTX, IRQ_MSI, IRQ_MSIX, IRQ_ERR, IRQ_REQ = range(5)
IRQ_SET_DATA_NONE, IRQ_SET_DATA_BOOL, IRQ_SET_DATA_EVENTFD = 1, 2, 4
IRQ_SET_ACTION_MASK, IRQ_SET_ACTION_UNMASK, IRQ_SET_ACTION_TRIGGER = 8, 0x10, 0x20
DMA_MAP_FLAG_READ, DMA_MAP_FLAG_WRITE = 1, 2


def ioctl_buf(fd, req, data):
    """ioctl with an in/out argument buffer: (return value, buffer)."""
    buf = bytearray(data)
    ret = fcntl.ioctl(fd, req, buf, True)
    return ret, bytes(buf)


class Device:
    """A device set up the way QEMU's vfio-pci does it (vfio-abi.md §4)."""

    def __init__(self, group, bdf, iommu=TYPE1v2_IOMMU):
        self.group = os.open("/dev/vfio/%d" % group, os.O_RDWR)
        self.container = os.open("/dev/vfio/vfio", os.O_RDWR)
        _, st = ioctl_buf(self.group, GROUP_GET_STATUS, struct.pack("II", 8, 0))
        self.group_flags = struct.unpack("II", st)[1]
        fcntl.ioctl(self.group, GROUP_SET_CONTAINER, struct.pack("i", self.container))
        fcntl.ioctl(self.container, SET_IOMMU, iommu)
        self.fd, _ = ioctl_buf(self.group, GROUP_GET_DEVICE_FD, bdf.encode() + b"\0")
        _, info = ioctl_buf(self.fd, DEVICE_GET_INFO, struct.pack("IIIII", 20, 0, 0, 0, 0))
        _, self.flags, self.num_regions, self.num_irqs, _ = struct.unpack("IIIII", info)
        self.regions = {}
        for i in range(self.num_regions):
            try:
                _, ri = ioctl_buf(self.fd, DEVICE_GET_REGION_INFO,
                                  struct.pack("IIIIQQ", 32, 0, i, 0, 0, 0))
            except OSError:
                continue
            _, flags, _, _, size, offset = struct.unpack("IIIIQQ", ri)
            self.regions[i] = (flags, size, offset)
        self.eventfds = []
        self.buffers = []

    # config space and BARs through the device fd
    def cfg_read(self, off, size):
        data = os.pread(self.fd, size, self.regions[PCI_CONFIG_REGION_INDEX][2] + off)
        return int.from_bytes(data, "little")

    def cfg_write(self, off, size, val):
        os.pwrite(self.fd, val.to_bytes(size, "little"), self.regions[PCI_CONFIG_REGION_INDEX][2] + off)

    def bar_read(self, bar, off, size):
        return int.from_bytes(os.pread(self.fd, size, self.regions[bar][2] + off), "little")

    def bar_write(self, bar, off, size, val):
        os.pwrite(self.fd, val.to_bytes(size, "little"), self.regions[bar][2] + off)

    # interrupts
    def set_irq_eventfds(self, index, fds, start=0):
        hdr = struct.pack("IIIII", 20 + 4 * len(fds), IRQ_SET_DATA_EVENTFD | IRQ_SET_ACTION_TRIGGER,
                          index, start, len(fds))
        return fcntl.ioctl(self.fd, DEVICE_SET_IRQS, bytearray(hdr + struct.pack("%di" % len(fds), *fds)), True)

    def new_eventfd(self):
        efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.eventfds.append(efd)
        return efd

    # DMA
    def dma_buffer(self, size):
        buf = mmap.mmap(-1, size)
        self.buffers.append(buf)
        return buf, ctypes.addressof(ctypes.c_char.from_buffer(buf))

    def map_dma(self, vaddr, iova, size, flags=DMA_MAP_FLAG_READ | DMA_MAP_FLAG_WRITE):
        fcntl.ioctl(self.container, IOMMU_MAP_DMA, struct.pack("IIQQQ", 32, flags, vaddr, iova, size))

    def unmap_dma(self, iova, size):
        _, out = ioctl_buf(self.container, IOMMU_UNMAP_DMA, struct.pack("IIQQ", 24, 0, iova, size))
        return struct.unpack("IIQQ", out)[3]

    def close(self):
        for efd in self.eventfds:
            os.close(efd)
        os.close(self.fd)
        os.close(self.group)
        os.close(self.container)


def eventfd_count(efd, timeout=2.0):
    """Wait up to timeout for efd to be signalled; its counter (0: never)."""
    r, _, _ = select.select([efd], [], [], timeout)
    if not r:
        return 0
    return struct.unpack("Q", os.read(efd, 8))[0]


class Control:
    """fakevfio's control socket (docs/fakevfio.md)."""

    def __init__(self, path=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path or os.environ["FAKEVFIO_CONTROL"])
        self.rfile = self.sock.makefile("r")

    def request(self, line):
        """(ok, data lines, last line)."""
        self.sock.sendall(line.encode() + b"\n")
        data = []
        while True:
            reply = self.rfile.readline()
            if not reply:
                raise EOFError("control socket closed")
            reply = reply.rstrip("\n")
            if reply == "ok":
                return True, data, reply
            if reply.startswith("error"):
                return False, data, reply
            data.append(reply)


def say(key, value):
    print(key, value, flush=True)


# ---- scenarios (run as CMD under fakevfio run) ------------------------------

def scenario_msix_irq(group, bdf):
    """MSI-X vector 3 gets an eventfd; the control socket raises it."""
    dev = Device(group, bdf)
    ctl = Control()
    efds = [dev.new_eventfd() for _ in range(4)]
    say("set_irqs", dev.set_irq_eventfds(IRQ_MSIX, efds))
    ok, _, last = ctl.request("irq %s MSIX 3" % bdf)
    say("irq", last)
    say("v3", eventfd_count(efds[3]))
    say("v0", eventfd_count(efds[0], 0.2))
    # Vector 2 without a trigger: pending in the device, delivered when one is attached.
    say("set_irqs_clear2", dev.set_irq_eventfds(IRQ_MSIX, [-1], start=2))
    ctl.request("irq %s MSIX 2" % bdf)
    say("v2_before", eventfd_count(efds[2], 0.2))
    dev.set_irq_eventfds(IRQ_MSIX, [efds[2]], start=2)
    say("v2_after", eventfd_count(efds[2]))
    ok, lines, _ = ctl.request("events")
    say("events_irq", sum(1 for l in lines if "kind=irq" in l))
    dev.close()


def scenario_dma(group, bdf):
    """Device DMA through the IOMMU: lands in our buffer; unmapped faults."""
    dev = Device(group, bdf)
    ctl = Control()
    buf, vaddr = dev.dma_buffer(0x2000)
    buf[0:8] = b"\x11" * 8
    dev.map_dma(vaddr, 0x100000, 0x2000)
    ok, _, last = ctl.request("dma-write %s 0x100010 deadbeef" % bdf)
    say("dma_no_master", last)
    dev.cfg_write(4, 2, dev.cfg_read(4, 2) | 0x6)     # Memory Space + Bus Master
    ok, _, last = ctl.request("dma-write %s 0x100010 deadbeef" % bdf)
    say("dma_write", last)
    say("buf", buf[0x10:0x14].hex())
    ok, lines, last = ctl.request("dma-read %s 0x100000 8" % bdf)
    say("dma_read", " ".join(lines))
    before = bytes(buf[:])
    ok, _, last = ctl.request("dma-write %s 0x200000 cafe" % bdf)
    say("dma_unmapped", last)
    say("unchanged", bytes(buf[:]) == before)
    ok, lines, _ = ctl.request("events")
    say("fault_events", sum(1 for l in lines if "kind=dma" in l and "err=EFAULT" in l))
    ok, lines, _ = ctl.request("dump mappings")
    say("mappings", len(lines))
    say("unmapped_size", hex(dev.unmap_dma(0x100000, 0x2000)))
    dev.close()


SCENARIOS = {"msix-irq": scenario_msix_irq, "dma": scenario_dma}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in SCENARIOS:
        print("usage: vfio_client.py {%s} GROUP BDF" % "|".join(SCENARIOS), file=sys.stderr)
        sys.exit(2)
    try:
        SCENARIOS[sys.argv[1]](int(sys.argv[2]), sys.argv[3])
    except OSError as e:
        say("oserror", "%s %s" % (errno.errorcode.get(e.errno, e.errno), e))
        sys.exit(1)
