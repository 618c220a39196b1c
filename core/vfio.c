/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/vfio: groups, containers, DMA mapping, device fds, the reset
 * handler and the fd handlers (see vfio.h).
 */
#include "core/vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/trace.h"

static VfcGroup *group_list;
static VfcContainer *container_list;
static bool reset_registered;
static unsigned container_serial;

/* ------------------------------------------------------------------ */
/* messages                                                             */

static VfcWarnFn warn_fn;
static void *warn_opaque;

void vfc_set_warn_handler(VfcWarnFn fn, void *opaque)
{
	warn_fn = fn;
	warn_opaque = opaque;
}

void vfc_warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	trace_core_vfio_warn(msg);
	if (warn_fn)
		warn_fn(msg, warn_opaque);
	else
		fprintf(stderr, "%s\n", msg);
}

/* ------------------------------------------------------------------ */
/* system calls                                                         */

int vfc_ioctl(const char *who, int fd, unsigned long req, const char *reqname,
	      void *arg)
{
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		ret = -errno;
	trace_core_vfio_ioctl(who, reqname, ret);
	return ret;
}

ssize_t vfc_pread(const char *who, int fd, void *buf, size_t len, off_t off)
{
	ssize_t ret = pread(fd, buf, len, off);

	if (ret < 0)
		ret = -errno;
	trace_core_vfio_pread(who, (unsigned long long)off, (unsigned)len, (long)ret);
	return ret;
}

ssize_t vfc_pwrite(const char *who, int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ret = pwrite(fd, buf, len, off);

	if (ret < 0)
		ret = -errno;
	trace_core_vfio_pwrite(who, (unsigned long long)off, (unsigned)len, (long)ret);
	return ret;
}

uint64_t vfc_host_page_size(void)
{
	long sz = sysconf(_SC_PAGESIZE);

	return sz > 0 ? (uint64_t)sz : 4096;
}

/* ------------------------------------------------------------------ */
/* RAM device marker                                                    */

static char ram_device_tag;

void vfc_mark_ram_device(GMemRegion *mr)
{
	mr->opaque = &ram_device_tag;
}

bool vfc_is_ram_device(const GMemRegion *mr)
{
	return mr && mr->kind == GMEM_RAM && mr->opaque == &ram_device_tag;
}

/* ------------------------------------------------------------------ */
/* DMA                                                                  */

int vfc_dma_unmap(VfcContainer *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = 0,
		.iova = iova,
		.size = size,
	};
	int ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	trace_core_vfio_dma_unmap(c->name, iova, size, ret);
	if (ret < 0)
		return ret;
	/* unmap.size is what the kernel unmapped; count the ranges we made. */
	if (c->nr_mappings && unmap.size)
		c->nr_mappings--;
	return 0;
}

int vfc_dma_map(VfcContainer *c, uint64_t iova, uint64_t size, void *vaddr,
		bool readonly)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ,
		.vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};
	int ret;

	if (!readonly)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_MAP_DMA, &map);
	/*
	 * The seed: if the mapping fails with EBUSY, unmap the range and try
	 * once more (seen in the VGA ROM space).
	 */
	if (ret == -EBUSY) {
		int r = vfc_dma_unmap(c, iova, size);

		ret = r ? -EBUSY : VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_MAP_DMA, &map);
	}
	trace_core_vfio_dma_map(c->name, iova, size, map.vaddr, map.flags, ret);
	if (ret < 0)
		return ret;
	c->nr_mappings++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the memory listener (seed 8)                                         */

static bool section_skipped(VfcContainer *c, const GMemSection *s)
{
	const char *why = NULL;

	if (!s->is_ram && !s->is_iommu)
		why = "not RAM";
	else if (s->is_iommu)
		/* The guest-IOMMU (sPAPR TCE) path is its own issue. */
		why = "guest IOMMU: not supported yet";
	else if (s->offset_within_address_space & (1ULL << 63))
		why = "address bit 63";
	if (why)
		trace_core_vfio_listener_skip(c->name, s->offset_within_address_space,
					      s->size, why);
	return why != NULL;
}

/* The page-aligned part of s: false if none. */
static bool section_range(VfcContainer *c, const GMemSection *s,
			  uint64_t *iova, uint64_t *end)
{
	uint64_t page = vfc_host_page_size(), mask = page - 1;

	if ((s->offset_within_address_space & mask) !=
	    (s->offset_within_region & mask)) {
		vfc_warn("vfio: %s: received unaligned region %s", c->name,
			 gmem_region_name(s->mr));
		return false;
	}
	*iova = (s->offset_within_address_space + mask) & ~mask;
	*end = (s->offset_within_address_space + s->size) & ~mask;
	if (s->offset_within_address_space + s->size < s->offset_within_address_space)
		*end = ~mask;	/* a section reaching 2^64 */
	if (*iova >= *end) {
		trace_core_vfio_listener_skip(c->name, s->offset_within_address_space,
					      s->size, "less than a page");
		return false;
	}
	return true;
}

static void listener_region_add(GMemListener *l, const GMemSection *s)
{
	VfcContainer *c = l->opaque;
	uint64_t iova, end;
	void *vaddr;
	int ret;

	if (section_skipped(c, s) || !section_range(c, s, &iova, &end))
		return;
	vaddr = (uint8_t *)s->host + (iova - s->offset_within_address_space);
	ret = vfc_dma_map(c, iova, end - iova, vaddr, s->readonly);
	if (!ret)
		return;
	vfc_warn("vfio_dma_map(%s, 0x%llx, 0x%llx, %p) = %d (%s)", c->name,
		 (unsigned long long)iova, (unsigned long long)(end - iova),
		 vaddr, ret, strerror(-ret));
	if (vfc_is_ram_device(s->mr))
		return;		/* peer-to-peer: reported only */
	/* During the replay the failure fails the container (QEMU 7.2). */
	if (!c->initialized && !c->error)
		c->error = ret;
}

static void listener_region_del(GMemListener *l, const GMemSection *s)
{
	VfcContainer *c = l->opaque;
	uint64_t iova, end, page = vfc_host_page_size();
	int ret;

	if (section_skipped(c, s) || !section_range(c, s, &iova, &end))
		return;
	ret = vfc_dma_unmap(c, iova, end - iova);
	/* A range reaching 2^64: the kernel wants one page fewer (7.2). */
	if (ret == -EINVAL && end == ~(page - 1) && end - iova > page)
		ret = vfc_dma_unmap(c, iova, end - iova - page);
	if (ret)
		vfc_warn("vfio_dma_unmap(%s, 0x%llx, 0x%llx) = %d (%s)", c->name,
			 (unsigned long long)iova,
			 (unsigned long long)(end - iova), ret, strerror(-ret));
}

/* ------------------------------------------------------------------ */
/* containers (seed 5.1.1)                                              */

static const struct {
	unsigned long type;
	const char *name;
} iommu_types[] = {
	{ VFIO_TYPE1v2_IOMMU, "Type1v2" },
	{ VFIO_TYPE1_IOMMU, "Type1" },
	{ VFIO_SPAPR_TCE_v2_IOMMU, "sPAPR TCE v2" },
	{ VFIO_SPAPR_TCE_IOMMU, "sPAPR TCE" },
};

/* CHECK_EXTENSION on the still-empty container, first answer wins. */
static bool get_iommu_type(int fd, const char *who, unsigned long *type,
			   Error **errp)
{
	size_t i;

	for (i = 0; i < sizeof(iommu_types) / sizeof(iommu_types[0]); i++) {
		if (VFC_IOCTL(who, fd, VFIO_CHECK_EXTENSION,
			      (uintptr_t)iommu_types[i].type) > 0) {
			*type = iommu_types[i].type;
			return true;
		}
	}
	error_setg(errp, "No available IOMMU models");
	return false;
}

static const char *iommu_type_name(unsigned long type)
{
	size_t i;

	for (i = 0; i < sizeof(iommu_types) / sizeof(iommu_types[0]); i++)
		if (iommu_types[i].type == type)
			return iommu_types[i].name;
	return "?";
}

/* VFIO_IOMMU_GET_INFO with the argsz retry; the caps we use. */
static void container_get_info(VfcContainer *c)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info), off;
	int ret;

	c->pgsizes = vfc_host_page_size();
	c->dma_max_mappings = 65535;
	info = calloc(1, argsz);
	if (!info)
		return;
	info->argsz = argsz;
	ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_GET_INFO, info);
	if (!ret && info->argsz > argsz && info->argsz <= 65536) {
		struct vfio_iommu_type1_info *bigger;

		argsz = info->argsz;
		bigger = realloc(info, argsz);
		if (!bigger) {
			free(info);
			return;
		}
		info = bigger;
		memset(info, 0, argsz);
		info->argsz = argsz;
		ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_GET_INFO, info);
	}
	if (ret) {
		free(info);
		return;
	}
	if (info->flags & VFIO_IOMMU_INFO_PGSIZES)
		c->pgsizes = info->iova_pgsizes;
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && argsz > sizeof(*info)) {
		unsigned hops = 0;

		for (off = info->cap_offset; off && hops < 64; hops++) {
			struct vfio_info_cap_header *h;

			if (off < sizeof(*info) || off + sizeof(*h) > argsz)
				break;
			h = (struct vfio_info_cap_header *)((uint8_t *)info + off);
			if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
			    off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= argsz)
				c->dma_max_mappings =
					((struct vfio_iommu_type1_info_dma_avail *)h)->avail;
			off = h->next;
		}
	}
	free(info);
}

static void container_free(VfcContainer *c)
{
	VfcContainer **pp;

	if (c->listener_registered) {
		gmem_listener_unregister(&c->listener);
		c->listener_registered = false;
	}
	for (pp = &container_list; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void container_add_group(VfcContainer *c, VfcGroup *g)
{
	g->container = c;
	g->container_next = c->groups;
	c->groups = g;
}

static bool connect_container(VfcGroup *group, GAddressSpace *as, Error **errp)
{
	VfcContainer *c;
	char who[32];
	int fd, ret;

	snprintf(who, sizeof(who), "group%d", group->groupid);
	/* Reuse a container of this address space that takes the group. */
	for (c = container_list; c; c = c->next) {
		if (c->as != as)
			continue;
		if (!VFC_IOCTL(who, group->fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
			container_add_group(c, group);
			return true;
		}
	}

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		error_setg_errno(errp, errno, "failed to open /dev/vfio/vfio");
		return false;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		error_setg(errp, "out of memory");
		return false;
	}
	c->fd = fd;
	c->as = as;
	snprintf(c->name, sizeof(c->name), "container%u", container_serial++);

	ret = VFC_IOCTL(c->name, fd, VFIO_GET_API_VERSION, 0);
	if (ret != VFIO_API_VERSION) {
		error_setg(errp, "supported vfio version: %d, reported version: %d",
			   VFIO_API_VERSION, ret);
		goto fail;
	}
	if (!get_iommu_type(fd, c->name, &c->iommu_type, errp))
		goto fail;
	if (c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU ||
	    c->iommu_type == VFIO_SPAPR_TCE_IOMMU) {
		/* Probe and report; the sPAPR path is its own issue. */
		error_setg(errp, "IOMMU model %s (type %lu) is not supported yet",
			   iommu_type_name(c->iommu_type), c->iommu_type);
		goto fail;
	}
	ret = VFC_IOCTL(who, group->fd, VFIO_GROUP_SET_CONTAINER, &fd);
	if (ret) {
		error_setg_errno(errp, -ret, "failed to set group container");
		goto fail;
	}
	ret = VFC_IOCTL(c->name, fd, VFIO_SET_IOMMU, (uintptr_t)c->iommu_type);
	if (ret) {
		error_setg_errno(errp, -ret, "failed to set iommu for container");
		VFC_IOCTL(who, group->fd, VFIO_GROUP_UNSET_CONTAINER, &fd);
		goto fail;
	}
	container_get_info(c);

	c->next = container_list;
	container_list = c;
	container_add_group(c, group);

	/* Replay every RAM section of the address space as MAP_DMA. */
	c->listener.region_add = listener_region_add;
	c->listener.region_del = listener_region_del;
	c->listener.opaque = c;
	if (!gmem_listener_register(&c->listener, as, errp)) {
		error_prepend(errp, "memory listener: ");
		goto fail_attached;
	}
	c->listener_registered = true;
	c->initialized = true;
	if (c->error) {
		error_setg_errno(errp, -c->error, "memory listener initialization failed");
		goto fail_attached;
	}
	return true;

fail_attached:
	if (c->listener_registered) {
		gmem_listener_unregister(&c->listener);
		c->listener_registered = false;
	}
	VFC_IOCTL(who, group->fd, VFIO_GROUP_UNSET_CONTAINER, &c->fd);
	group->container = NULL;
	group->container_next = NULL;
	c->groups = NULL;
	container_free(c);
	return false;
fail:
	container_free(c);
	return false;
}

static void disconnect_container(VfcGroup *group)
{
	VfcContainer *c = group->container;
	VfcGroup **pp;
	char who[32];
	int ret;

	if (!c)
		return;
	snprintf(who, sizeof(who), "group%d", group->groupid);
	/*
	 * The last group: unmap while the IOMMU is still set (QEMU 7.2 order;
	 * after UNSET_CONTAINER every UNMAP_DMA would fail).
	 */
	if (c->groups == group && !group->container_next && c->listener_registered) {
		gmem_listener_unregister(&c->listener);
		c->listener_registered = false;
	}
	ret = VFC_IOCTL(who, group->fd, VFIO_GROUP_UNSET_CONTAINER, &c->fd);
	if (ret)
		vfc_warn("vfio: error disconnecting group %d from container: %s",
			 group->groupid, strerror(-ret));
	for (pp = &c->groups; *pp; pp = &(*pp)->container_next) {
		if (*pp == group) {
			*pp = group->container_next;
			break;
		}
	}
	group->container = NULL;
	group->container_next = NULL;
	if (!c->groups)
		container_free(c);
}

/* ------------------------------------------------------------------ */
/* groups (seed 5.1)                                                    */

VfcGroup *vfc_group_find(int groupid)
{
	VfcGroup *g;

	for (g = group_list; g; g = g->next)
		if (g->groupid == groupid)
			return g;
	return NULL;
}

VfcGroup *vfc_group_first(void)
{
	return group_list;
}

VfcContainer *vfc_container_first(void)
{
	return container_list;
}

bool vfc_reset_handler_registered(void)
{
	return reset_registered;
}

VfcGroup *vfc_group_get(int groupid, GAddressSpace *as, Error **errp)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	VfcGroup *group = vfc_group_find(groupid);
	char path[32], who[32];
	int ret;

	if (group) {
		if (group->container && group->container->as == as)
			return group;
		error_setg(errp, "group %d used in multiple address spaces", groupid);
		return NULL;
	}
	group = calloc(1, sizeof(*group));
	if (!group) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", groupid);
	snprintf(who, sizeof(who), "group%d", groupid);
	group->fd = open(path, O_RDWR | O_CLOEXEC);
	if (group->fd < 0) {
		error_setg_errno(errp, errno, "error opening %s", path);
		goto free_group;
	}
	ret = VFC_IOCTL(who, group->fd, VFIO_GROUP_GET_STATUS, &status);
	if (ret) {
		error_setg_errno(errp, -ret, "error getting group status");
		goto close_fd;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		error_setg(errp, "error, group %d is not viable, please ensure "
			   "all devices within the iommu_group are bound to their "
			   "vfio bus driver.", groupid);
		goto close_fd;
	}
	group->groupid = groupid;
	if (!connect_container(group, as, errp)) {
		error_prepend(errp, "failed to setup container for group %d: ", groupid);
		goto close_fd;
	}
	/* The first group registers the system reset handler. */
	if (!group_list)
		reset_registered = true;
	group->next = group_list;
	group_list = group;
	return group;

close_fd:
	close(group->fd);
free_group:
	free(group);
	return NULL;
}

void vfc_group_put(VfcGroup *group)
{
	VfcGroup **pp;

	if (!group || group->devices)
		return;
	disconnect_container(group);
	for (pp = &group_list; *pp; pp = &(*pp)->next) {
		if (*pp == group) {
			*pp = group->next;
			break;
		}
	}
	close(group->fd);
	free(group);
	if (!group_list)
		reset_registered = false;
}

void vfc_reset_handler(void)
{
	VfcGroup *g;
	VfcDevice *d;

	if (!reset_registered)
		return;
	for (g = group_list; g; g = g->next)
		for (d = g->devices; d; d = d->next)
			if (d->ops && d->ops->compute_needs_reset)
				d->ops->compute_needs_reset(d);
	for (g = group_list; g; g = g->next)
		for (d = g->devices; d; d = d->next)
			if (d->needs_reset && d->ops && d->ops->hot_reset_multi)
				d->ops->hot_reset_multi(d);
}

/* ------------------------------------------------------------------ */
/* devices (seed 5.2)                                                   */

bool vfc_device_get(VfcGroup *group, VfcDevice *dev, Error **errp)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char who[32];
	int fd, ret;

	snprintf(who, sizeof(who), "group%d", group->groupid);
	fd = VFC_IOCTL(who, group->fd, VFIO_GROUP_GET_DEVICE_FD, dev->name);
	if (fd < 0) {
		error_setg(errp, "error getting device %s from group %d: %s; "
			   "Verify all devices in group %d are bound to vfio-<bus> "
			   "or pci-stub and not already in use", dev->name,
			   group->groupid, strerror(-fd), group->groupid);
		return false;
	}
	ret = VFC_IOCTL(dev->name, fd, VFIO_DEVICE_GET_INFO, &info);
	if (ret) {
		error_setg_errno(errp, -ret, "error getting device info");
		close(fd);
		return false;
	}
	dev->fd = fd;
	dev->group = group;
	dev->next = group->devices;
	group->devices = dev;
	dev->num_irqs = info.num_irqs;
	dev->num_regions = info.num_regions;
	dev->flags = info.flags;
	dev->reset_works = !!(info.flags & VFIO_DEVICE_FLAGS_RESET);
	return true;
}

void vfc_device_put(VfcDevice *dev)
{
	VfcDevice **pp;

	if (dev->group) {
		for (pp = &dev->group->devices; *pp; pp = &(*pp)->next) {
			if (*pp == dev) {
				*pp = dev->next;
				break;
			}
		}
		dev->group = NULL;
		dev->next = NULL;
	}
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

/* ------------------------------------------------------------------ */
/* fd handlers                                                          */

typedef struct FdHandler {
	int fd;
	VfcFdHandler fn;
	void *opaque;
} FdHandler;

static FdHandler *handlers;
static size_t nhandlers, caphandlers;

bool vfc_set_fd_handler(int fd, VfcFdHandler fn, void *opaque)
{
	size_t i;

	for (i = 0; i < nhandlers; i++) {
		if (handlers[i].fd != fd)
			continue;
		if (fn) {
			handlers[i].fn = fn;
			handlers[i].opaque = opaque;
		} else {
			handlers[i] = handlers[--nhandlers];
		}
		return true;
	}
	if (!fn)
		return true;
	if (nhandlers == caphandlers) {
		size_t cap = caphandlers ? caphandlers * 2 : 16;
		FdHandler *n = realloc(handlers, cap * sizeof(*n));

		if (!n)
			return false;
		handlers = n;
		caphandlers = cap;
	}
	handlers[nhandlers++] = (FdHandler){ .fd = fd, .fn = fn, .opaque = opaque };
	return true;
}

unsigned vfc_fd_handler_count(void)
{
	return (unsigned)nhandlers;
}

int vfc_fd_handlers_poll(int timeout_ms)
{
	struct pollfd *pfds;
	size_t i, n = nhandlers;
	int ret, ran = 0;

	if (!n) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms);
		return 0;
	}
	pfds = calloc(n, sizeof(*pfds));
	if (!pfds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		pfds[i].fd = handlers[i].fd;
		pfds[i].events = POLLIN;
	}
	ret = poll(pfds, (nfds_t)n, timeout_ms);
	if (ret < 0) {
		ret = -errno;
		free(pfds);
		return ret;
	}
	/* Handlers may add or remove handlers: look each fd up again. */
	for (i = 0; i < n; i++) {
		size_t j;

		if (!(pfds[i].revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		for (j = 0; j < nhandlers; j++) {
			if (handlers[j].fd == pfds[i].fd) {
				handlers[j].fn(handlers[j].opaque);
				ran++;
				break;
			}
		}
	}
	free(pfds);
	return ran;
}
