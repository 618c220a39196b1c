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
#include "core/spapr.h"

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

/* ------------------------------------------------------------------ */
/* sPAPR host windows and the guest IOMMU (seed 8.1)                    */

static GAddressSpace *system_memory;

void vfc_set_system_memory(GAddressSpace *as)
{
	system_memory = as;
}

static void hostwin_add(VfcContainer *c, uint64_t min, uint64_t max, uint64_t pgsizes)
{
	if (c->nhostwins == VFC_MAX_HOSTWINS) {
		vfc_warn("vfio: %s: too many host DMA windows", c->name);
		return;
	}
	c->hostwins[c->nhostwins++] = (VfcHostWin){ min, max, pgsizes };
}

static void hostwin_del(VfcContainer *c, uint64_t min)
{
	unsigned i;

	for (i = 0; i < c->nhostwins; i++) {
		if (c->hostwins[i].min_iova != min)
			continue;
		c->hostwins[i] = c->hostwins[--c->nhostwins];
		return;
	}
}

/* The host window holding [iova, end - 1]; type1 has one over everything. */
static bool hostwin_covers(VfcContainer *c, uint64_t iova, uint64_t end)
{
	unsigned i;

	if (!c->spapr)
		return true;
	for (i = 0; i < c->nhostwins; i++)
		if (c->hostwins[i].min_iova <= iova && end - 1 <= c->hostwins[i].max_iova)
			return true;
	return false;
}

static int spapr_remove_window(VfcContainer *c, uint64_t start)
{
	struct vfio_iommu_spapr_tce_remove remove = {
		.argsz = sizeof(remove),
		.start_addr = start,
	};
	int ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_SPAPR_TCE_REMOVE, &remove);

	trace_core_vfio_spapr_window(c->name, "remove", start, 0, 0, ret);
	if (ret)
		vfc_warn("vfio: %s: failed to remove window at 0x%llx: %s", c->name,
			 (unsigned long long)start, strerror(-ret));
	return ret;
}

static unsigned ctz64(uint64_t v)
{
	return v ? (unsigned)__builtin_ctzll(v) : 64;
}

/* The IOMMU page size of a section: the TCE table's, or the host page. */
static uint64_t section_page_size(const GMemSection *s)
{
	uint64_t ps = s->is_iommu ? vfc_spapr_iommu_page_size(s->mr) : 0;

	return ps ? ps : vfc_host_page_size();
}

/*
 * VFIO_IOMMU_SPAPR_TCE_CREATE for section s (QEMU's
 * vfio_spapr_create_window): page size from the guest table, levels from
 * the table size (retrying with more), and the host must put the window
 * where the guest has it.
 */
static int spapr_create_window(VfcContainer *c, const GMemSection *s,
			       uint64_t *pgsize, Error **errp)
{
	struct vfio_iommu_spapr_tce_create create = { .argsz = sizeof(create) };
	uint64_t guest_ps = section_page_size(s), host_ps = vfc_host_page_size();
	uint64_t ps = guest_ps, mask;
	unsigned bits_total, bits_per_level, levels, max_levels;
	int ret = -EINVAL;

	/*
	 * The host IOMMU page may be smaller than the guest's (a guest TCE
	 * then maps as several host pages), never larger than a page of the
	 * RAM behind it (QEMU's qemu_minrampagesize: our guest RAM is plain
	 * anonymous memory, so the host page size): the largest page the
	 * host offers up to that.
	 */
	if (ps > host_ps)
		ps = host_ps;
	mask = c->pgsizes & (ps | (ps - 1));
	ps = mask ? 1ull << (63 - __builtin_clzll(mask)) : 0;
	if (!ps) {
		error_setg(errp, "Host doesn't support page size 0x%llx, the supported "
			   "mask is 0x%llx", (unsigned long long)guest_ps,
			   (unsigned long long)c->pgsizes);
		return -EINVAL;
	}
	create.page_shift = ctz64(ps);
	create.window_size = s->size;
	/* 8-byte TCEs; a level indexes what one host-page-sized chunk holds (x256). */
	bits_total = ctz64((s->size >> create.page_shift) * 8);
	bits_per_level = ctz64(host_ps) + 8;
	levels = (bits_total + bits_per_level - 1) / bits_per_level;
	if (!levels)
		levels = 1;
	max_levels = (64 - create.page_shift) / ctz64(host_ps);
	if (c->ddw_levels && c->ddw_levels < max_levels)
		max_levels = c->ddw_levels;
	for (; levels <= max_levels; levels++) {
		create.levels = levels;
		ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_SPAPR_TCE_CREATE, &create);
		trace_core_vfio_spapr_window(c->name, "create", create.start_addr,
					     create.window_size, create.page_shift, ret);
		if (!ret)
			break;
	}
	if (ret) {
		error_setg_errno(errp, -ret, "Failed to create a window (page shift %u, "
				 "size 0x%llx)", create.page_shift,
				 (unsigned long long)create.window_size);
		return ret;
	}
	if (create.start_addr != s->offset_within_address_space) {
		spapr_remove_window(c, create.start_addr);
		error_setg(errp, "Host doesn't support DMA window at 0x%llx, must be 0x%llx",
			   (unsigned long long)s->offset_within_address_space,
			   (unsigned long long)create.start_addr);
		return -EINVAL;
	}
	*pgsize = ps;
	return 0;
}

/* Seed 8.1 vfio_iommu_map_notify: one TCE change -> MAP_DMA / UNMAP_DMA. */
static void iommu_map_notify(GIommuNotifier *n, const GIommuTlbEntry *e)
{
	VfcGuestIommu *g = n->opaque;
	VfcContainer *c = g->container;
	uint64_t iova = e->iova + g->iommu_offset, len = e->addr_mask + 1;
	uint64_t xlat = 0, plen = len;
	GMemRegion *mr;
	void *vaddr;
	int ret;

	if (!len) {	/* a 2^64 entry: nothing VFIO can map in one call */
		vfc_warn("vfio: %s: iommu entry at 0x%llx covers the whole space",
			 c->name, (unsigned long long)iova);
		return;
	}
	if (e->perm == GIOMMU_NONE) {
		ret = vfc_dma_unmap(c, iova, len);
		if (ret)
			vfc_warn("vfio_dma_unmap(%s, 0x%llx, 0x%llx) = %d (%s)", c->name,
				 (unsigned long long)iova, (unsigned long long)len,
				 ret, strerror(-ret));
		return;
	}
	/*
	 * The entry only goes through this IOMMU to its immediate target:
	 * translate the rest of the way to memory.
	 */
	mr = e->target_as ? gmem_translate(e->target_as, e->translated_addr,
					   (e->perm & GIOMMU_WO) != 0, &xlat, &plen, NULL)
			  : NULL;
	if (!mr || !gmem_region_is_ram(mr)) {
		vfc_warn("vfio: %s: iommu map to non memory area 0x%llx (iova 0x%llx)",
			 c->name, (unsigned long long)e->translated_addr,
			 (unsigned long long)iova);
		return;
	}
	if (plen < len) {
		vfc_warn("vfio: %s: iommu has granularity incompatible with target AS "
			 "(iova 0x%llx: 0x%llx of 0x%llx bytes are RAM)", c->name,
			 (unsigned long long)iova, (unsigned long long)plen,
			 (unsigned long long)len);
		return;
	}
	vaddr = (uint8_t *)gmem_region_ram_ptr(mr) + xlat;
	ret = vfc_dma_map(c, iova, len, vaddr, !(e->perm & GIOMMU_WO) || mr->readonly);
	if (ret)
		vfc_warn("vfio_dma_map(%s, 0x%llx, 0x%llx, %p) = %d (%s)", c->name,
			 (unsigned long long)iova, (unsigned long long)len, vaddr,
			 ret, strerror(-ret));
}

static bool giommu_add(VfcContainer *c, const GMemSection *s, Error **errp)
{
	VfcGuestIommu *g = calloc(1, sizeof(*g));

	if (!g) {
		error_setg(errp, "out of memory");
		return false;
	}
	g->container = c;
	g->iommu = s->mr;
	g->iommu_offset = s->offset_within_address_space - s->offset_within_region;
	gmem_iommu_notifier_init(&g->n, iommu_map_notify, GIOMMU_NOTIFY_ALL,
				 s->offset_within_region,
				 s->offset_within_region + s->size - 1, g);
	if (!gmem_iommu_register_notifier(s->mr, &g->n, errp)) {
		free(g);
		return false;
	}
	g->next = c->giommus;
	c->giommus = g;
	/* Mappings the guest made before we listened (none in a new window). */
	gmem_iommu_replay(s->mr, &g->n, section_page_size(s));
	return true;
}

static void giommu_del(VfcContainer *c, const GMemSection *s)
{
	VfcGuestIommu **pp;
	uint64_t off = s->offset_within_address_space - s->offset_within_region;

	for (pp = &c->giommus; *pp; pp = &(*pp)->next) {
		VfcGuestIommu *g = *pp;

		if (g->iommu != s->mr || g->iommu_offset != off)
			continue;
		gmem_iommu_unregister_notifier(&g->n);
		*pp = g->next;
		free(g);
		return;
	}
}

static void listener_fail(VfcContainer *c, const GMemSection *s, int ret, Error *err)
{
	vfc_warn("vfio: %s: %s", c->name, error_get_pretty(err));
	error_free(err);
	if (vfc_is_ram_device(s->mr))
		return;		/* peer-to-peer: reported only */
	/* During the replay the failure fails the container (QEMU 7.2). */
	if (!c->initialized && !c->error)
		c->error = ret;
}

static void listener_region_add(GMemListener *l, const GMemSection *s)
{
	VfcContainer *c = l->opaque;
	Error *err = NULL;
	uint64_t iova, end;
	void *vaddr;
	int ret;

	if (section_skipped(c, s) || !section_range(c, s, &iova, &end))
		return;
	if (c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU) {
		uint64_t pgsize = 0, last = s->offset_within_address_space + s->size - 1;
		unsigned i;

		/* No intersections with existing windows (as QEMU). */
		for (i = 0; i < c->nhostwins; i++) {
			if (c->hostwins[i].min_iova <= last &&
			    s->offset_within_address_space <= c->hostwins[i].max_iova) {
				error_setg(&err, "region [0x%llx,0x%llx] overlaps with existing "
					   "host iommu window [0x%llx,0x%llx]",
					   (unsigned long long)s->offset_within_address_space,
					   (unsigned long long)last,
					   (unsigned long long)c->hostwins[i].min_iova,
					   (unsigned long long)c->hostwins[i].max_iova);
				listener_fail(c, s, -EINVAL, err);
				return;
			}
		}
		ret = spapr_create_window(c, s, &pgsize, &err);
		if (ret) {
			error_prepend(&err, "Failed to create SPAPR window: ");
			listener_fail(c, s, ret, err);
			return;
		}
		hostwin_add(c, s->offset_within_address_space, last, pgsize);
	}
	if (!hostwin_covers(c, iova, end)) {
		error_setg(&err, "can't map guest IOVA region 0x%llx..0x%llx",
			   (unsigned long long)iova, (unsigned long long)(end - 1));
		listener_fail(c, s, -EFAULT, err);
		return;
	}
	if (s->is_iommu) {
		if (!giommu_add(c, s, &err))
			listener_fail(c, s, -ENOMEM, err);
		return;
	}
	vaddr = (uint8_t *)s->host + (iova - s->offset_within_address_space);
	ret = vfc_dma_map(c, iova, end - iova, vaddr, s->readonly);
	if (!ret)
		return;
	error_setg(&err, "vfio_dma_map(%s, 0x%llx, 0x%llx, %p) = %d (%s)", c->name,
		   (unsigned long long)iova, (unsigned long long)(end - iova),
		   vaddr, ret, strerror(-ret));
	vfc_warn("%s", error_get_pretty(err));
	error_free(err);
	if (vfc_is_ram_device(s->mr))
		return;		/* peer-to-peer: reported only */
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
	if (s->is_iommu)
		giommu_del(c, s);
	if (c->spapr && !hostwin_covers(c, iova, end))
		return;		/* region_add failed: nothing was mapped */
	ret = vfc_dma_unmap(c, iova, end - iova);
	/* A range reaching 2^64: the kernel wants one page fewer (7.2). */
	if (ret == -EINVAL && end == ~(page - 1) && end - iova > page)
		ret = vfc_dma_unmap(c, iova, end - iova - page);
	if (ret)
		vfc_warn("vfio_dma_unmap(%s, 0x%llx, 0x%llx) = %d (%s)", c->name,
			 (unsigned long long)iova,
			 (unsigned long long)(end - iova), ret, strerror(-ret));
	if (c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU) {
		spapr_remove_window(c, s->offset_within_address_space);
		hostwin_del(c, s->offset_within_address_space);
	}
}

/* ---- the v2 pre-registration listener: guest RAM, REGISTER_MEMORY ---- */

static bool prereg_range(VfcContainer *c, const GMemSection *s)
{
	uint64_t mask = vfc_host_page_size() - 1;

	if (!s->is_ram || vfc_is_ram_device(s->mr))
		return false;
	if ((s->offset_within_address_space | s->offset_within_region | s->size) & mask) {
		vfc_warn("vfio: %s: prereg listener received unaligned region %s",
			 c->name, gmem_region_name(s->mr));
		return false;
	}
	return true;
}

static void prereg_region_add(GMemListener *l, const GMemSection *s)
{
	VfcContainer *c = l->opaque;
	struct vfio_iommu_spapr_register_memory reg = {
		.argsz = sizeof(reg),
		.vaddr = (uint64_t)(uintptr_t)s->host,
		.size = s->size,
	};
	int ret;

	if (!prereg_range(c, s))
		return;
	ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &reg);
	if (!ret) {
		c->nr_prereg++;
		return;
	}
	vfc_warn("vfio: %s: cannot register RAM [0x%llx +0x%llx] at %p: %s", c->name,
		 (unsigned long long)s->offset_within_address_space,
		 (unsigned long long)s->size, s->host, strerror(-ret));
	if (!c->initialized && !c->error)
		c->error = ret;
}

static void prereg_region_del(GMemListener *l, const GMemSection *s)
{
	VfcContainer *c = l->opaque;
	struct vfio_iommu_spapr_register_memory reg = {
		.argsz = sizeof(reg),
		.vaddr = (uint64_t)(uintptr_t)s->host,
		.size = s->size,
	};
	int ret;

	if (!prereg_range(c, s))
		return;
	ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &reg);
	if (ret)
		vfc_warn("vfio: %s: cannot unregister RAM [0x%llx +0x%llx]: %s", c->name,
			 (unsigned long long)s->offset_within_address_space,
			 (unsigned long long)s->size, strerror(-ret));
	else if (c->nr_prereg)
		c->nr_prereg--;
}

/*
 * Seed 5.1.1.3: after SET_IOMMU.  v1: IOMMU_ENABLE, then GET_INFO, the
 * default 32-bit window is the one host window (4 KiB pages).  v2: the
 * pre-registration listener over guest RAM, GET_INFO, then the default
 * window is removed: the listener creates windows as the guest has them.
 */
static bool spapr_setup(VfcContainer *c, Error **errp)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	bool v2 = c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU;
	int ret;

	c->spapr = true;
	if (!v2) {
		ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_ENABLE, 0);
		if (ret) {
			error_setg_errno(errp, -ret, "failed to enable container");
			return false;
		}
	} else {
		c->prereg_as = system_memory ? system_memory : c->as;
		c->prereg_listener.region_add = prereg_region_add;
		c->prereg_listener.region_del = prereg_region_del;
		c->prereg_listener.opaque = c;
		if (!gmem_listener_register(&c->prereg_listener, c->prereg_as, errp)) {
			error_prepend(errp, "RAM memory listener: ");
			return false;
		}
		c->prereg_registered = true;
		if (c->error) {
			error_setg_errno(errp, -c->error,
					 "RAM memory listener initialization failed");
			return false;
		}
	}
	ret = VFC_IOCTL(c->name, c->fd, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info);
	if (ret) {
		error_setg_errno(errp, -ret, "VFIO_IOMMU_SPAPR_TCE_GET_INFO failed");
		return false;
	}
	c->dma32_start = info.dma32_window_start;
	c->dma32_size = info.dma32_window_size;
	if (v2) {
		c->pgsizes = info.ddw.pgsizes;
		c->max_windows = info.ddw.max_dynamic_windows_supported;
		c->ddw_levels = info.ddw.levels;
		/*
		 * A new container has a default window; remove it so that the
		 * listener creates and removes every window as the guest does.
		 */
		if (spapr_remove_window(c, info.dma32_window_start)) {
			error_setg(errp, "failed to remove existing window");
			return false;
		}
	} else {
		c->pgsizes = 0x1000;	/* the default table has 4 KiB pages */
		hostwin_add(c, info.dma32_window_start,
			    info.dma32_window_start + info.dma32_window_size - 1, 0x1000);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* EEH                                                                  */

VfcContainer *vfc_container_of_as(GAddressSpace *as)
{
	VfcContainer *c, *found = NULL;

	for (c = container_list; c; c = c->next) {
		if (c->as != as)
			continue;
		if (found)
			return NULL;	/* several: no way to keep them in step */
		found = c;
	}
	return found;
}

bool vfc_eeh_as_ok(GAddressSpace *as)
{
	VfcContainer *c = vfc_container_of_as(as);

	return c && c->groups && !c->groups->container_next;
}

int vfc_eeh_as_op(GAddressSpace *as, uint32_t op, const VfcEehErr *err)
{
	struct vfio_eeh_pe_op pe_op = { .argsz = sizeof(pe_op), .op = op };
	VfcContainer *c = vfc_container_of_as(as);
	int ret;

	if (!c) {
		vfc_warn("vfio/eeh: No container to operate on");
		return -ENODEV;
	}
	if (err) {
		pe_op.err.type = err->type;
		pe_op.err.func = err->func;
		pe_op.err.addr = err->addr;
		pe_op.err.mask = err->mask;
	}
	ret = VFC_IOCTL(c->name, c->fd, VFIO_EEH_PE_OP, &pe_op);
	if (ret < 0)
		vfc_warn("vfio/eeh: EEH_PE_OP 0x%x failed: %s", op, strerror(-ret));
	return ret;
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

const char *vfc_container_iommu_name(const VfcContainer *c)
{
	return iommu_type_name(c->iommu_type);
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
	if (c->prereg_registered) {
		gmem_listener_unregister(&c->prereg_listener);
		c->prereg_registered = false;
	}
	while (c->giommus) {
		VfcGuestIommu *g = c->giommus;

		gmem_iommu_unregister_notifier(&g->n);
		c->giommus = g->next;
		free(g);
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
	ret = VFC_IOCTL(who, group->fd, VFIO_GROUP_SET_CONTAINER, &fd);
	if (ret) {
		error_setg_errno(errp, -ret, "failed to set group container");
		goto fail;
	}
	ret = VFC_IOCTL(c->name, fd, VFIO_SET_IOMMU, (uintptr_t)c->iommu_type);
	/* sPAPR: a host refusing v2 may still take v1. */
	if (ret && c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU) {
		c->iommu_type = VFIO_SPAPR_TCE_IOMMU;
		ret = VFC_IOCTL(c->name, fd, VFIO_SET_IOMMU, (uintptr_t)c->iommu_type);
	}
	if (ret) {
		error_setg_errno(errp, -ret, "failed to set iommu for container");
		VFC_IOCTL(who, group->fd, VFIO_GROUP_UNSET_CONTAINER, &fd);
		goto fail;
	}

	c->next = container_list;
	container_list = c;
	container_add_group(c, group);

	if (c->iommu_type == VFIO_SPAPR_TCE_v2_IOMMU ||
	    c->iommu_type == VFIO_SPAPR_TCE_IOMMU) {
		if (!spapr_setup(c, errp))
			goto fail_attached;
	} else {
		container_get_info(c);
	}

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
	if (c->prereg_registered) {
		gmem_listener_unregister(&c->prereg_listener);
		c->prereg_registered = false;
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
	if (c->groups == group && !group->container_next && c->prereg_registered) {
		gmem_listener_unregister(&c->prereg_listener);
		c->prereg_registered = false;
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
