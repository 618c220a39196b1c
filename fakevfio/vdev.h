/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vdev.h: the device half of the fake vfio-pci (the kernel's
 * vfio_pci_core_device): what happens behind a device fd that
 * VFIO_GROUP_GET_DEVICE_FD handed out.  One FvVdev per simulated device,
 * shared by every fd opened on it (the kernel's open_count).
 *
 * It knows nothing of FUSE, groups or containers: the VFIO core (vfio.c)
 * creates it and supplies what it needs through FvVdevHost.  It wires the
 * device's outputs (SimHostOps) to the interrupt layer (irqs.c) and to the
 * host's DMA translation, and dispatches the device fd's ioctls and region
 * reads/writes to vconfig.c, irqs.c and hostpci.c.
 *
 * Locking: per-device state is guarded by the sim device's lock (see
 * /tmp/fv-modules.md rule: device lock first, then container lock), so the
 * host's dma callback is called with the device lock held and may take the
 * container lock.  A process-wide mutex (the kernel's dev_set->lock) is
 * held by open, close and VFIO_DEVICE_PCI_HOT_RESET, which take the device
 * locks of a whole bus inside it: call no fv_vdev_* function with a sim
 * device lock held.  The host callbacks may run with a device lock held.
 */
#ifndef FAKEVFIO_VDEV_H
#define FAKEVFIO_VDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/error.h"
#include "evloop.h"
#include "fakevfio.h"
#include "user.h"

typedef struct FvVdev FvVdev;

/* What the VFIO core provides to a device. */
typedef struct FvVdevHost {
	/*
	 * Device DMA through the IOMMU of the container the device's group is
	 * attached to: 0, or -errno (-EFAULT unmapped, -EPERM permission,
	 * -ENODEV no container / no IOMMU).  Must not touch memory on error.
	 */
	int (*dma)(void *opaque, FvDevice *dev, uint64_t iova, void *buf,
		   size_t len, bool write);
	/* Told of every failed device DMA (IOMMU fault), for the event log. */
	void (*dma_fault)(void *opaque, FvDevice *dev, uint64_t iova, size_t len,
			  bool write, int err);
	/*
	 * VFIO_DEVICE_PCI_HOT_RESET: resolve the caller's group fd number to
	 * a group the caller has open: the group, or NULL with *err = -EBADF
	 * (no such fd) or -EINVAL (not a VFIO group file).
	 */
	FvGroup *(*group_from_fd)(void *opaque, const FvUser *u, int fd, int *err);
	/*
	 * Called for every device interrupt signalled to user space (event
	 * log); not for SET_IRQS loopback signals.  An INTx that the unmask
	 * eventfd re-fires is told at the device's next ioctl, read/write or
	 * INTx change.
	 */
	void (*irq_signalled)(void *opaque, FvDevice *dev, unsigned index,
			      unsigned vector);
	/*
	 * Told of every reset user space asked for and got: VFIO_DEVICE_RESET
	 * and an FLR through the config region (how: "flr", "pm" or "hot", by
	 * the method pci_try_reset_function used), and, for every function
	 * of the bus, VFIO_DEVICE_PCI_HOT_RESET ("hot").  Not the resets of
	 * open and close.  Called with dev's lock held.  May be NULL.
	 */
	void (*reset)(void *opaque, FvDevice *dev, const char *how);
	void *opaque;
} FvVdevHost;

typedef struct FvVdevConfig {
	/*
	 * Advertise VFIO_REGION_INFO_FLAG_MMAP on memory BARs (and the
	 * MSIX_MAPPABLE cap where 6.1 adds it) although mmap of the device fd
	 * fails (FUSE direct_io: ENODEV), to test clients' fallback paths.
	 */
	bool advertise_mmap;
} FvVdevConfig;

/*
 * The first open of the device (vfio_pci_core_open_device /
 * vfio_pci_core_enable): enable the device in the host PCI core, try a
 * reset (its result is reset_works), initialize config virtualization and
 * the interrupt state, take over the device's SimHostOps.
 */
FvVdev *fv_vdev_open(FvDevice *dev, FvMachine *m, FvEvloop *loop,
		     const FvVdevHost *host, const FvVdevConfig *cfg,
		     Error **errp);
/*
 * The last close (vfio_pci_core_close_device / vfio_pci_core_disable):
 * disable interrupts, reset as the kernel does, restore the host PCI
 * state, give back the device's SimHostOps, free.
 */
void fv_vdev_close(FvVdev *vd);

/* The device fd's ioctls (everything but VFIO_GROUP_* / container ones). */
long fv_vdev_ioctl(FvVdev *vd, const FvUser *u, unsigned int cmd, uint64_t arg);
/*
 * read/write at a region offset (index << 40 | offset), as
 * vfio_pci_core_read/write: the byte count (possibly short) or -errno.
 */
ssize_t fv_vdev_rw(FvVdev *vd, void *buf, size_t count, uint64_t pos, bool write);

/* One line-oriented, human-readable dump of the device state. */
void fv_vdev_dump(FvVdev *vd, FILE *out);

#endif
