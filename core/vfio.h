/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/vfio: VFIO common (seed sections 5.1, 5.2, 8): IOMMU groups,
 * containers and DMA mapping, the device fd, the system reset handler and
 * the process's fd-handler table (the main loop the interrupt eventfds
 * are polled from).
 *
 * Behaviour of QEMU's hw/vfio/common.c as the seed quotes it (with the
 * QEMU 7.2 details vfio-abi.md §4 lists where the seed is silent); code
 * and names are our own.  Every call is a real system call on a real path
 * (/dev/vfio/vfio, /dev/vfio/<group>): on a host with VFIO this drives the
 * kernel, under `fakevfio run` the simulator.
 *
 * Like QEMU, the group and container lists are per process; the model is
 * single-threaded (callers serialize).
 */
#ifndef CORE_VFIO_H
#define CORE_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/gmem.h"

typedef struct VfcContainer VfcContainer;
typedef struct VfcGroup VfcGroup;
typedef struct VfcDevice VfcDevice;

/* What a device type plugs into the common code (QEMU's VFIODeviceOps). */
typedef struct VfcDeviceOps {
	/* Sets dev->needs_reset: the device needs a multi-device hot reset. */
	void (*compute_needs_reset)(VfcDevice *dev);
	/* Hot reset of the bus with every affected device; 0 or -errno. */
	int (*hot_reset_multi)(VfcDevice *dev);
} VfcDeviceOps;

/* A device fd (QEMU's VFIODevice). */
struct VfcDevice {
	char name[32];		/* "0000:03:00.1": what GET_DEVICE_FD is given */
	int fd;			/* -1 when not open */
	VfcGroup *group;
	uint32_t flags;		/* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	bool reset_works;
	bool needs_reset;
	const VfcDeviceOps *ops;
	void *opaque;
	VfcDevice *next;	/* in group->devices */
};

struct VfcGroup {
	int groupid;
	int fd;
	VfcContainer *container;
	VfcDevice *devices;
	VfcGroup *next;			/* the process's group list */
	VfcGroup *container_next;	/* container->groups */
};

/* A DMA window of the host IOMMU (QEMU's VFIOHostDMAWindow). */
typedef struct VfcHostWin {
	uint64_t min_iova, max_iova;	/* inclusive */
	uint64_t pgsizes;
} VfcHostWin;

#define VFC_MAX_HOSTWINS 4

/* A guest IOMMU region the container follows (QEMU's VFIOGuestIOMMU). */
typedef struct VfcGuestIommu {
	VfcContainer *container;
	GMemRegion *iommu;
	uint64_t iommu_offset;	/* address space offset - region offset */
	GIommuNotifier n;
	struct VfcGuestIommu *next;
} VfcGuestIommu;

struct VfcContainer {
	char name[32];		/* "container<N>" for traces and messages */
	int fd;
	GAddressSpace *as;
	unsigned long iommu_type;	/* VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU,
					   VFIO_SPAPR_TCE_v2_IOMMU, VFIO_SPAPR_TCE_IOMMU */
	uint64_t pgsizes;		/* IOVA page sizes (GET_INFO) */
	/* sPAPR TCE (seed 5.1.1.3, 8.1) */
	bool spapr;			/* either sPAPR type */
	uint64_t dma32_start, dma32_size;	/* SPAPR_TCE_GET_INFO */
	uint32_t max_windows, ddw_levels;	/* v2 with DDW */
	VfcHostWin hostwins[VFC_MAX_HOSTWINS];
	unsigned nhostwins;
	VfcGuestIommu *giommus;
	GMemListener prereg_listener;	/* v2: guest RAM pre-registration */
	GAddressSpace *prereg_as;
	bool prereg_registered;
	unsigned nr_prereg;		/* regions registered */
	unsigned dma_max_mappings;	/* DMA_AVAIL cap, 65535 without */
	GMemListener listener;
	bool listener_registered;
	bool initialized;	/* listener replay finished */
	int error;		/* first MAP_DMA failure during the replay */
	unsigned nr_mappings;	/* MAP_DMA that succeeded minus UNMAP_DMA */
	VfcGroup *groups;
	VfcContainer *next;
};

/* ---- messages: errors with an Error, runtime warnings via a hook ---- */

/*
 * Runtime problems that have no caller to return to (a failed MAP_DMA
 * from a listener, a short BAR read, an unrecoverable device error) go to
 * the warning hook: default stderr, one line.  Also the core_vfio_warn
 * trace point.
 */
typedef void (*VfcWarnFn)(const char *msg, void *opaque);
void vfc_set_warn_handler(VfcWarnFn fn, void *opaque);
void vfc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- system call wrappers: >= 0 as the call returns, or -errno ---- */

/* who names the object (device or container) in the trace. */
int vfc_ioctl(const char *who, int fd, unsigned long req, const char *reqname,
	      void *arg);
#define VFC_IOCTL(who, fd, req, arg) vfc_ioctl((who), (fd), (req), #req, (void *)(arg))
ssize_t vfc_pread(const char *who, int fd, void *buf, size_t len, off_t off);
ssize_t vfc_pwrite(const char *who, int fd, const void *buf, size_t len, off_t off);

/* The host page size (QEMU's qemu_real_host_page_size). */
uint64_t vfc_host_page_size(void);

/* ---- groups and containers (seed 5.1, 5.1.1) ---- */

/*
 * The group groupid in address space as: an existing one is reused (it
 * must be in as: "group %d used in multiple address spaces"); a new one is
 * opened, checked viable and connected to a container (reused across
 * groups of as when SET_CONTAINER accepts it, else a new one: API version,
 * IOMMU type probe, SET_CONTAINER, SET_IOMMU, GET_INFO, listener replay).
 * The first group registers the system reset handler.
 */
VfcGroup *vfc_group_get(int groupid, GAddressSpace *as, Error **errp);
/* Drop group if it has no device: disconnect, close, free. */
void vfc_group_put(VfcGroup *group);
VfcGroup *vfc_group_find(int groupid);
/* The process's groups, in creation order reversed (as QEMU's list). */
VfcGroup *vfc_group_first(void);
VfcContainer *vfc_container_first(void);
/* Whether the system reset handler is registered (first group up). */
bool vfc_reset_handler_registered(void);
/* QEMU's vfio_reset_handler: multi-device hot resets where needed. */
void vfc_reset_handler(void);

/* ---- DMA (seed 8.1.2, 8.1.3) ---- */

/*
 * VFIO_IOMMU_MAP_DMA of [iova, iova + size) -> vaddr; on EBUSY unmap the
 * range and try once more.  0 or -errno.
 */
int vfc_dma_map(VfcContainer *c, uint64_t iova, uint64_t size, void *vaddr,
		bool readonly);
int vfc_dma_unmap(VfcContainer *c, uint64_t iova, uint64_t size);

/* ---- sPAPR (seed 5.1.1.3, 8.1) ---- */

/*
 * The guest's system memory (QEMU's address_space_memory): a sPAPR TCE v2
 * container pre-registers the RAM of this space (REGISTER_MEMORY) before
 * any mapping.  NULL (the default): the container's own address space.
 */
void vfc_set_system_memory(GAddressSpace *as);

/*
 * EEH (QEMU's vfio_eeh_as_ok / vfio_eeh_as_op): as must have exactly one
 * container, with exactly one group (the kernel applies a PE operation to
 * every group of a container without keeping them in step).
 */
bool vfc_eeh_as_ok(GAddressSpace *as);
typedef struct VfcEehErr {
	uint32_t type, func;
	uint64_t addr, mask;
} VfcEehErr;
/*
 * VFIO_EEH_PE_OP op (VFIO_EEH_PE_*; err for INJECT_ERR, else NULL) on the
 * container of as.  The ioctl's result (GET_STATE: the state) or -errno;
 * -ENODEV when as has no single container.  Failures are also warned.
 */
int vfc_eeh_as_op(GAddressSpace *as, uint32_t op, const VfcEehErr *err);
/* "Type1v2", "Type1", "sPAPR TCE v2", "sPAPR TCE". */
const char *vfc_container_iommu_name(const VfcContainer *c);
/* The container following as (NULL: none or several). */
VfcContainer *vfc_container_of_as(GAddressSpace *as);

/* ---- devices (seed 5.2) ---- */

/*
 * GROUP_GET_DEVICE_FD(name), DEVICE_GET_INFO; dev joins group.  The
 * caller set dev->name.
 */
bool vfc_device_get(VfcGroup *group, VfcDevice *dev, Error **errp);
/* Leave the group and close the fd. */
void vfc_device_put(VfcDevice *dev);

/*
 * RAM regions that are a device's mmapped BAR (peer-to-peer): the
 * listener maps them too, but a failure is only reported.
 */
void vfc_mark_ram_device(GMemRegion *mr);
bool vfc_is_ram_device(const GMemRegion *mr);

/* ---- the fd handlers (QEMU's qemu_set_fd_handler and main loop) ---- */

typedef void (*VfcFdHandler)(void *opaque);
/* fn NULL removes fd.  false: out of memory. */
bool vfc_set_fd_handler(int fd, VfcFdHandler fn, void *opaque);
unsigned vfc_fd_handler_count(void);
/*
 * poll() every registered fd for input for up to timeout_ms (-1: forever,
 * 0: don't wait) and run the handler of each readable one.  Returns the
 * number of handlers run, or -errno.
 */
int vfc_fd_handlers_poll(int timeout_ms);

#endif
