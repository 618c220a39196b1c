/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/hx-vfio: raw VFIO calls on named handles (see hx-vfio.h).
 *
 * Argument structs are built from key=value arguments with the sizes of
 * <linux/vfio.h>; keys that are not given are 0, except
 *   argsz   the struct's size (plus the payload of SET_IRQS and
 *           PCI_HOT_RESET); a larger argsz gets a zeroed buffer that big
 *   flags   MAP_DMA: READ|WRITE; SET_IRQS: ACTION_TRIGGER with the data
 *           type of the payload (EVENTFD for fds=, BOOL for data=, else
 *           NONE)
 *   count   SET_IRQS: the number of fds/bytes; PCI_HOT_RESET: the groups
 * Regions are addressed the way vfio-pci lays them out: region N at file
 * offset N << 40.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "hx-vfio.h"

#define HX_REGION_SHIFT 40
#define HX_ARGSZ_MAX (1u << 20)
#define HX_PAYLOAD_MAX (4 * HX_VFIO_FDS_MAX)	/* fds, bytes or groups of one call */

typedef enum HxObj {
	HX_OBJ_CONTAINER,
	HX_OBJ_GROUP,
	HX_OBJ_DEVICE,
} HxObj;

typedef struct HxHandle {
	char name[32];
	int fd;			/* -1: a free slot */
	HxObj obj;
} HxHandle;

struct HxVfio {
	uint8_t *ram;
	uint64_t ram_size;
	HxHandle h[HX_VFIO_HANDLE_MAX];
	int *eventfds;		/* made for SET_IRQS, closed by hx_vfio_free */
	unsigned neventfds;
};

/* ---- the ioctls ------------------------------------------------------- */

typedef enum HxBuild {
	B_NOARG,	/* ioctl(fd, cmd) */
	B_VALUE,	/* ioctl(fd, cmd, arg) */
	B_STRUCT,	/* a struct with argsz (and the keys at their offsets) */
	B_SET_CONTAINER,
	B_SET_IRQS,
	B_HOT_RESET,
} HxBuild;

typedef struct HxField {
	const char *key;
	unsigned off, size;	/* in the struct */
} HxField;

#define F(type, key, field) \
	{ key, offsetof(type, field), sizeof(((type *)0)->field) }

typedef struct HxIoctl {
	const char *name;
	unsigned long cmd;
	HxBuild build;
	unsigned size;		/* the struct */
	const char *keys;	/* for messages and kind lookups */
	HxField fields[6];
} HxIoctl;

static const HxIoctl ioctls[] = {
	{ "VFIO_GET_API_VERSION", VFIO_GET_API_VERSION, B_NOARG, 0, "", { { 0 } } },
	{ "VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, B_VALUE, 0, "arg", { { 0 } } },
	{ "VFIO_SET_IOMMU", VFIO_SET_IOMMU, B_VALUE, 0, "arg", { { 0 } } },
	{ "VFIO_GROUP_GET_STATUS", VFIO_GROUP_GET_STATUS, B_STRUCT,
	  sizeof(struct vfio_group_status), "argsz, flags",
	  { F(struct vfio_group_status, "flags", flags) } },
	{ "VFIO_GROUP_SET_CONTAINER", VFIO_GROUP_SET_CONTAINER, B_SET_CONTAINER, 0,
	  "container", { { 0 } } },
	{ "VFIO_GROUP_UNSET_CONTAINER", VFIO_GROUP_UNSET_CONTAINER, B_NOARG, 0, "", { { 0 } } },
	{ "VFIO_DEVICE_GET_INFO", VFIO_DEVICE_GET_INFO, B_STRUCT,
	  sizeof(struct vfio_device_info), "argsz, flags",
	  { F(struct vfio_device_info, "flags", flags) } },
	{ "VFIO_DEVICE_GET_REGION_INFO", VFIO_DEVICE_GET_REGION_INFO, B_STRUCT,
	  sizeof(struct vfio_region_info), "index, argsz, flags",
	  { F(struct vfio_region_info, "index", index),
	    F(struct vfio_region_info, "flags", flags) } },
	{ "VFIO_DEVICE_GET_IRQ_INFO", VFIO_DEVICE_GET_IRQ_INFO, B_STRUCT,
	  sizeof(struct vfio_irq_info), "index, argsz, flags",
	  { F(struct vfio_irq_info, "index", index),
	    F(struct vfio_irq_info, "flags", flags) } },
	{ "VFIO_DEVICE_SET_IRQS", VFIO_DEVICE_SET_IRQS, B_SET_IRQS,
	  sizeof(struct vfio_irq_set), "flags, index, start, count, fds, data, argsz",
	  { F(struct vfio_irq_set, "flags", flags),
	    F(struct vfio_irq_set, "index", index),
	    F(struct vfio_irq_set, "start", start),
	    F(struct vfio_irq_set, "count", count) } },
	{ "VFIO_DEVICE_RESET", VFIO_DEVICE_RESET, B_NOARG, 0, "", { { 0 } } },
	{ "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, B_STRUCT,
	  sizeof(struct vfio_pci_hot_reset_info), "argsz, flags",
	  { F(struct vfio_pci_hot_reset_info, "flags", flags) } },
	{ "VFIO_DEVICE_PCI_HOT_RESET", VFIO_DEVICE_PCI_HOT_RESET, B_HOT_RESET,
	  sizeof(struct vfio_pci_hot_reset), "groups, flags, count, argsz",
	  { F(struct vfio_pci_hot_reset, "flags", flags),
	    F(struct vfio_pci_hot_reset, "count", count) } },
	{ "VFIO_IOMMU_GET_INFO", VFIO_IOMMU_GET_INFO, B_STRUCT,
	  sizeof(struct vfio_iommu_type1_info), "argsz, flags",
	  { F(struct vfio_iommu_type1_info, "flags", flags) } },
	{ "VFIO_IOMMU_MAP_DMA", VFIO_IOMMU_MAP_DMA, B_STRUCT,
	  sizeof(struct vfio_iommu_type1_dma_map), "vaddr, iova, size, flags, argsz",
	  { F(struct vfio_iommu_type1_dma_map, "flags", flags),
	    F(struct vfio_iommu_type1_dma_map, "vaddr", vaddr),
	    F(struct vfio_iommu_type1_dma_map, "iova", iova),
	    F(struct vfio_iommu_type1_dma_map, "size", size) } },
	{ "VFIO_IOMMU_UNMAP_DMA", VFIO_IOMMU_UNMAP_DMA, B_STRUCT,
	  sizeof(struct vfio_iommu_type1_dma_unmap), "iova, size, flags, argsz",
	  { F(struct vfio_iommu_type1_dma_unmap, "flags", flags),
	    F(struct vfio_iommu_type1_dma_unmap, "iova", iova),
	    F(struct vfio_iommu_type1_dma_unmap, "size", size) } },
	{ "VFIO_IOMMU_SPAPR_TCE_GET_INFO", VFIO_IOMMU_SPAPR_TCE_GET_INFO, B_STRUCT,
	  sizeof(struct vfio_iommu_spapr_tce_info), "argsz, flags",
	  { F(struct vfio_iommu_spapr_tce_info, "flags", flags) } },
	{ "VFIO_IOMMU_ENABLE", VFIO_IOMMU_ENABLE, B_NOARG, 0, "", { { 0 } } },
	{ "VFIO_IOMMU_DISABLE", VFIO_IOMMU_DISABLE, B_NOARG, 0, "", { { 0 } } },
	{ "VFIO_IOMMU_SPAPR_REGISTER_MEMORY", VFIO_IOMMU_SPAPR_REGISTER_MEMORY, B_STRUCT,
	  sizeof(struct vfio_iommu_spapr_register_memory), "vaddr, size, flags, argsz",
	  { F(struct vfio_iommu_spapr_register_memory, "flags", flags),
	    F(struct vfio_iommu_spapr_register_memory, "vaddr", vaddr),
	    F(struct vfio_iommu_spapr_register_memory, "size", size) } },
	{ "VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, B_STRUCT,
	  sizeof(struct vfio_iommu_spapr_register_memory), "vaddr, size, flags, argsz",
	  { F(struct vfio_iommu_spapr_register_memory, "flags", flags),
	    F(struct vfio_iommu_spapr_register_memory, "vaddr", vaddr),
	    F(struct vfio_iommu_spapr_register_memory, "size", size) } },
	{ "VFIO_IOMMU_SPAPR_TCE_CREATE", VFIO_IOMMU_SPAPR_TCE_CREATE, B_STRUCT,
	  sizeof(struct vfio_iommu_spapr_tce_create),
	  "page_shift, window_size, levels, flags, argsz",
	  { F(struct vfio_iommu_spapr_tce_create, "flags", flags),
	    F(struct vfio_iommu_spapr_tce_create, "page_shift", page_shift),
	    F(struct vfio_iommu_spapr_tce_create, "window_size", window_size),
	    F(struct vfio_iommu_spapr_tce_create, "levels", levels) } },
	{ "VFIO_IOMMU_SPAPR_TCE_REMOVE", VFIO_IOMMU_SPAPR_TCE_REMOVE, B_STRUCT,
	  sizeof(struct vfio_iommu_spapr_tce_remove), "start_addr, flags, argsz",
	  { F(struct vfio_iommu_spapr_tce_remove, "flags", flags),
	    F(struct vfio_iommu_spapr_tce_remove, "start_addr", start_addr) } },
	{ "VFIO_EEH_PE_OP", VFIO_EEH_PE_OP, B_STRUCT,
	  sizeof(struct vfio_eeh_pe_op), "pe_op, flags, argsz",
	  { F(struct vfio_eeh_pe_op, "flags", flags),
	    F(struct vfio_eeh_pe_op, "pe_op", op) } },
};

#define NIOCTLS (sizeof(ioctls) / sizeof(ioctls[0]))

static const HxIoctl *ioctl_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NIOCTLS; i++)
		if (!strcmp(ioctls[i].name, name))
			return &ioctls[i];
	return NULL;
}

/* Whether key is one of the ", "-separated words of list. */
static bool key_listed(const char *list, const char *key)
{
	size_t n = strlen(key);

	if (!n)
		return false;
	for (const char *p = list; (p = strstr(p, key)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

unsigned long hx_vfio_ioctl_number(const char *name)
{
	const HxIoctl *io = ioctl_find(name);

	return io ? io->cmd : 0;
}

HxVfioArgKind hx_vfio_arg_kind(const char *name, const char *key)
{
	const HxIoctl *io = ioctl_find(name);

	if (!io || !key || !key_listed(io->keys, key))
		return HX_ARG_NONE;
	if (!strcmp(key, "vaddr"))
		return HX_ARG_RAM;
	if (!strcmp(key, "container"))
		return HX_ARG_HANDLE;
	if (!strcmp(key, "groups"))
		return HX_ARG_HANDLES;
	if (!strcmp(key, "fds"))
		return HX_ARG_EVENTFDS;
	if (!strcmp(key, "data"))
		return HX_ARG_BYTES;
	return HX_ARG_NUM;
}

unsigned hx_vfio_struct_size(const char *name)
{
	const HxIoctl *io = ioctl_find(name);

	return io && io->build != B_NOARG && io->build != B_VALUE &&
	       io->build != B_SET_CONTAINER ? io->size : 0;
}

const char *hx_vfio_keys(const char *name)
{
	const HxIoctl *io = ioctl_find(name);

	return io ? io->keys : NULL;
}

/* ---- handles ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!why || !n)
		return;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

HxVfio *hx_vfio_new(void *ram, uint64_t ram_size)
{
	HxVfio *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->ram = ram;
	v->ram_size = ram ? ram_size : 0;
	for (unsigned i = 0; i < HX_VFIO_HANDLE_MAX; i++)
		v->h[i].fd = -1;
	return v;
}

void hx_vfio_free(HxVfio *v)
{
	if (!v)
		return;
	/* Devices before groups before containers, as a client would. */
	for (int obj = HX_OBJ_DEVICE; obj >= HX_OBJ_CONTAINER; obj--)
		for (unsigned i = 0; i < HX_VFIO_HANDLE_MAX; i++)
			if (v->h[i].fd >= 0 && (int)v->h[i].obj == obj)
				close(v->h[i].fd);
	for (unsigned i = 0; i < v->neventfds; i++)
		close(v->eventfds[i]);
	free(v->eventfds);
	free(v);
}

static HxHandle *handle_find(HxVfio *v, const char *h)
{
	for (unsigned i = 0; i < HX_VFIO_HANDLE_MAX; i++)
		if (v->h[i].fd >= 0 && !strcmp(v->h[i].name, h))
			return &v->h[i];
	return NULL;
}

/* An open handle h, or NULL with -EBADF and a message. */
static HxHandle *handle_get(HxVfio *v, const char *h, int *err, char *why, size_t n)
{
	HxHandle *hh = h ? handle_find(v, h) : NULL;

	if (!hh) {
		say(why, n, "no open handle '%s'", h ? h : "(null)");
		*err = -EBADF;
	}
	return hh;
}

/* A free slot for a new handle h, or NULL (-EEXIST, -EMFILE, -EINVAL). */
static HxHandle *handle_new(HxVfio *v, const char *h, int *err, char *why, size_t n)
{
	if (!h || !h[0] || strlen(h) >= sizeof(v->h[0].name)) {
		say(why, n, "bad handle name '%s' (1 to 31 characters)", h ? h : "(null)");
		*err = -EINVAL;
		return NULL;
	}
	if (handle_find(v, h)) {
		say(why, n, "handle '%s' is already open", h);
		*err = -EEXIST;
		return NULL;
	}
	for (unsigned i = 0; i < HX_VFIO_HANDLE_MAX; i++)
		if (v->h[i].fd < 0)
			return &v->h[i];
	say(why, n, "too many open handles (at most %d)", HX_VFIO_HANDLE_MAX);
	*err = -EMFILE;
	return NULL;
}

static int handle_open(HxVfio *v, const char *h, const char *path, HxObj obj,
		       char *why, size_t n)
{
	int err = 0, fd;
	HxHandle *hh = handle_new(v, h, &err, why, n);

	if (!hh)
		return err;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(hh->name, sizeof(hh->name), "%s", h);
	hh->fd = fd;
	hh->obj = obj;
	return 0;
}

int hx_vfio_open_container(HxVfio *v, const char *h, char *why, size_t n)
{
	return handle_open(v, h, "/dev/vfio/vfio", HX_OBJ_CONTAINER, why, n);
}

int hx_vfio_open_group(HxVfio *v, const char *h, unsigned group, char *why, size_t n)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	return handle_open(v, h, path, HX_OBJ_GROUP, why, n);
}

int hx_vfio_open_device(HxVfio *v, const char *h, const char *group_h,
			const char *bdf, char *why, size_t n)
{
	int err = 0, fd;
	HxHandle *g = handle_get(v, group_h, &err, why, n), *hh;

	if (!g)
		return err;
	hh = handle_new(v, h, &err, why, n);
	if (!hh)
		return err;
	fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (fd < 0)
		return -errno;
	snprintf(hh->name, sizeof(hh->name), "%s", h);
	hh->fd = fd;
	hh->obj = HX_OBJ_DEVICE;
	return 0;
}

int hx_vfio_fd(HxVfio *v, const char *h)
{
	HxHandle *hh = h ? handle_find(v, h) : NULL;

	return hh ? hh->fd : -1;
}

int hx_vfio_close(HxVfio *v, const char *h, char *why, size_t n)
{
	int err = 0;
	HxHandle *hh = handle_get(v, h, &err, why, n);

	if (!hh)
		return err;
	err = close(hh->fd) < 0 ? -errno : 0;
	hh->fd = -1;
	hh->name[0] = '\0';
	return err;
}

/* ---- building the argument -------------------------------------------- */

/* hx-vfio.h calls it HxVfioArg; a short name here. */
typedef HxVfioArg HxArg;

static const HxArg *arg_find(const HxVfioArg *args, unsigned nargs, const char *key)
{
	for (unsigned i = 0; i < nargs; i++)
		if (!strcmp(args[i].key, key))
			return &args[i];
	return NULL;
}

static void put_field(uint8_t *buf, const HxField *f, uint64_t val)
{
	if (f->size == 4) {
		uint32_t v32 = (uint32_t)val;

		memcpy(buf + f->off, &v32, 4);
	} else {
		memcpy(buf + f->off, &val, 8);
	}
}

/* Check every key: known for the ioctl, of the right kind, given once. */
static int check_args(const HxIoctl *io, const HxVfioArg *args, unsigned nargs,
		      char *why, size_t n)
{
	for (unsigned i = 0; i < nargs; i++) {
		HxVfioArgKind want = args[i].key ? hx_vfio_arg_kind(io->name, args[i].key)
						 : HX_ARG_NONE;

		if (want == HX_ARG_NONE) {
			say(why, n, "%s takes no key '%s' (%s%s)", io->name,
			    args[i].key ? args[i].key : "(null)",
			    io->keys[0] ? "keys: " : "no keys", io->keys);
			return -EINVAL;
		}
		if (args[i].kind != want) {
			say(why, n, "%s: key '%s' has a value of the wrong kind", io->name,
			    args[i].key);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(args[j].key, args[i].key)) {
				say(why, n, "%s: key '%s' given twice", io->name, args[i].key);
				return -EINVAL;
			}
	}
	return 0;
}

/* A guest RAM offset with size bytes behind it: the address, or 0. */
static uint64_t ram_addr(HxVfio *v, const HxArg *a, uint64_t size, int *err,
			 char *why, size_t n)
{
	if (!v->ram || a->num > v->ram_size || size > v->ram_size - a->num) {
		say(why, n, "vaddr=ram:0x%" PRIx64 " size=0x%" PRIx64
		    " is outside the guest RAM (0x%" PRIx64 " bytes)", a->num, size,
		    v->ram_size);
		*err = -EINVAL;
		return 0;
	}
	return (uint64_t)(uintptr_t)(v->ram + a->num);
}

static int eventfds_add(HxVfio *v, int fd)
{
	int *nv = realloc(v->eventfds, (v->neventfds + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	v->eventfds = nv;
	v->eventfds[v->neventfds++] = fd;
	return 0;
}

/*
 * The payload after the struct of SET_IRQS (fds or bytes) and
 * PCI_HOT_RESET (group fds): into *payload (malloc'ed), its length and
 * the number of elements.
 */
static int build_payload(HxVfio *v, const HxIoctl *io, const HxVfioArg *args,
			 unsigned nargs, uint8_t **payload, size_t *len,
			 uint32_t *nelem, uint32_t *data_flag, char *why, size_t n)
{
	const HxArg *fds = arg_find(args, nargs, "fds");
	const HxArg *data = arg_find(args, nargs, "data");
	const HxArg *groups = arg_find(args, nargs, "groups");
	int32_t *fdv;
	int err = 0;

	*payload = NULL;
	*len = 0;
	*nelem = 0;
	*data_flag = VFIO_IRQ_SET_DATA_NONE;
	if (fds && data) {
		say(why, n, "%s: fds= and data= exclude each other", io->name);
		return -EINVAL;
	}
	if (data) {
		if (data->nbytes > HX_PAYLOAD_MAX) {
			say(why, n, "%s: data= has more than %d bytes", io->name, HX_PAYLOAD_MAX);
			return -EINVAL;
		}
		*data_flag = VFIO_IRQ_SET_DATA_BOOL;
		*nelem = (uint32_t)data->nbytes;
		*len = data->nbytes;
		*payload = malloc(*len ? *len : 1);
		if (!*payload)
			return -ENOMEM;
		if (*len)
			memcpy(*payload, data->bytes, *len);
		return 0;
	}
	if (fds) {
		if (fds->num > HX_PAYLOAD_MAX / 4) {
			say(why, n, "%s: fds= asks for more than %d fds", io->name,
			    HX_PAYLOAD_MAX / 4);
			return -EINVAL;
		}
		*data_flag = VFIO_IRQ_SET_DATA_EVENTFD;
		*nelem = (uint32_t)fds->num;
		*len = fds->num * 4;
		fdv = malloc(*len ? *len : 1);
		if (!fdv)
			return -ENOMEM;
		for (uint32_t i = 0; i < *nelem; i++) {
			int fd = -1;

			if (!fds->eventfd_none) {
				fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
				if (fd < 0 || (err = eventfds_add(v, fd)) < 0) {
					err = fd < 0 ? -errno : err;
					if (fd >= 0)
						close(fd);
					say(why, n, "cannot make an eventfd: %s", strerror(-err));
					free(fdv);
					return err;
				}
			}
			fdv[i] = fd;
		}
		*payload = (uint8_t *)fdv;
		return 0;
	}
	if (groups) {
		char name[32];
		const char *p = groups->str ? groups->str : "";

		fdv = malloc(HX_PAYLOAD_MAX);
		if (!fdv)
			return -ENOMEM;
		while (*p) {
			size_t l = strcspn(p, ",");
			HxHandle *g;

			if (!l || l >= sizeof(name) || *nelem >= HX_PAYLOAD_MAX / 4) {
				say(why, n, "%s: bad groups= list '%s'", io->name, groups->str);
				free(fdv);
				return -EINVAL;
			}
			memcpy(name, p, l);
			name[l] = '\0';
			g = handle_get(v, name, &err, why, n);
			if (!g) {
				free(fdv);
				return err;
			}
			fdv[(*nelem)++] = g->fd;
			p += l + (p[l] == ',');
		}
		*len = *nelem * 4u;
		*payload = (uint8_t *)fdv;
	}
	return 0;
}

/* The argument of a struct ioctl: a malloc'ed buffer of *size bytes. */
static int build_struct(HxVfio *v, const HxIoctl *io, const HxVfioArg *args,
			unsigned nargs, uint8_t **out, size_t *size, char *why, size_t n)
{
	const HxArg *a;
	uint8_t *buf, *payload = NULL;
	size_t plen = 0, bufsz;
	uint32_t nelem = 0, data_flag = 0, argsz;
	int err;

	err = build_payload(v, io, args, nargs, &payload, &plen, &nelem, &data_flag, why, n);
	if (err)
		return err;
	a = arg_find(args, nargs, "argsz");
	if (a && a->num > HX_ARGSZ_MAX) {
		say(why, n, "%s: argsz=%" PRIu64 " is more than %u", io->name, a->num,
		    HX_ARGSZ_MAX);
		free(payload);
		return -EINVAL;
	}
	argsz = a ? (uint32_t)a->num : (uint32_t)(io->size + plen);
	bufsz = io->size + plen > argsz ? io->size + plen : argsz;
	buf = calloc(1, bufsz);
	if (!buf) {
		free(payload);
		return -ENOMEM;
	}
	memcpy(buf, &argsz, 4);
	if (plen)
		memcpy(buf + io->size, payload, plen);
	free(payload);
	/* Defaults that the keys may override. */
	for (unsigned i = 0; i < sizeof(io->fields) / sizeof(io->fields[0]) && io->fields[i].key; i++) {
		const HxField *f = &io->fields[i];
		uint64_t val = 0;

		a = arg_find(args, nargs, f->key);
		if (!strcmp(f->key, "flags")) {
			if (io->cmd == VFIO_IOMMU_MAP_DMA)
				val = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
			else if (io->build == B_SET_IRQS)
				val = VFIO_IRQ_SET_ACTION_TRIGGER | data_flag;
		} else if (!strcmp(f->key, "count") && io->build != B_STRUCT) {
			val = nelem;
		}
		if (a && a->kind == HX_ARG_RAM) {
			const HxArg *sz = arg_find(args, nargs, "size");

			val = ram_addr(v, a, sz ? sz->num : 0, &err, why, n);
			if (err) {
				free(buf);
				return err;
			}
		} else if (a) {
			val = a->num;
		}
		put_field(buf, f, val);
	}
	*out = buf;
	*size = bufsz;
	return 0;
}

/* Look the ioctl up and check its keys. */
static const HxIoctl *ioctl_prepare(const char *name, const HxVfioArg *args,
				    unsigned nargs, int *err, char *why, size_t n)
{
	const HxIoctl *io = ioctl_find(name);

	if (!io) {
		say(why, n, "'%s' is not a VFIO ioctl that vfio.ioctl can make",
		    name ? name : "(null)");
		*err = -EINVAL;
		return NULL;
	}
	*err = check_args(io, args, nargs, why, n);
	return *err ? NULL : io;
}

int hx_vfio_build_arg(HxVfio *v, const char *name, const HxVfioArg *args,
		      unsigned nargs, void **buf, size_t *size, char *why, size_t n)
{
	int err;
	const HxIoctl *io = ioctl_prepare(name, args, nargs, &err, why, n);

	*buf = NULL;
	*size = 0;
	if (!io)
		return err;
	if (io->build != B_STRUCT && io->build != B_SET_IRQS && io->build != B_HOT_RESET) {
		say(why, n, "%s takes no argument struct", io->name);
		return -EINVAL;
	}
	return build_struct(v, io, args, nargs, (uint8_t **)buf, size, why, n);
}

int64_t hx_vfio_ioctl(HxVfio *v, const char *h, const char *name,
		      const HxVfioArg *args, unsigned nargs, char *why, size_t n)
{
	const HxIoctl *io;
	const HxArg *a;
	HxHandle *hh, *c;
	uint8_t *buf;
	size_t size;
	int err = 0;
	int32_t fd32;
	long ret;

	hh = handle_get(v, h, &err, why, n);
	if (!hh)
		return err;
	io = ioctl_prepare(name, args, nargs, &err, why, n);
	if (!io)
		return err;
	switch (io->build) {
	case B_NOARG:
		ret = ioctl(hh->fd, io->cmd);
		return ret < 0 ? -errno : ret;
	case B_VALUE:
		a = arg_find(args, nargs, "arg");
		ret = ioctl(hh->fd, io->cmd, (unsigned long)(a ? a->num : 0));
		return ret < 0 ? -errno : ret;
	case B_SET_CONTAINER:
		a = arg_find(args, nargs, "container");
		if (!a) {
			say(why, n, "%s needs container=HANDLE", io->name);
			return -EINVAL;
		}
		c = handle_get(v, a->str, &err, why, n);
		if (!c)
			return err;
		fd32 = c->fd;
		ret = ioctl(hh->fd, io->cmd, &fd32);
		return ret < 0 ? -errno : ret;
	case B_STRUCT:
	case B_SET_IRQS:
	case B_HOT_RESET:
		break;
	}
	err = build_struct(v, io, args, nargs, &buf, &size, why, n);
	if (err)
		return err;
	ret = ioctl(hh->fd, io->cmd, buf);
	err = errno;
	free(buf);
	return ret < 0 ? -err : ret;
}

int hx_vfio_adopt(HxVfio *v, const char *h, int fd, char *why, size_t n)
{
	int err = 0;
	HxHandle *hh = handle_new(v, h, &err, why, n);

	if (!hh)
		return err;
	snprintf(hh->name, sizeof(hh->name), "%s", h);
	hh->fd = fd;
	hh->obj = HX_OBJ_DEVICE;
	return 0;
}

/* ---- regions ---------------------------------------------------------- */

int hx_vfio_region_index(const char *name)
{
	static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4",
					     "BAR5", "ROM", "CONFIG", "VGA" };
	const char *p = name;
	unsigned long v = 0;

	if (!name)
		return -1;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], name))
			return (int)i;
	if (!strncmp(p, "REGION", 6))
		p += 6;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		/* The scenario language's limit; N << 40 must stay in 64 bits. */
		if (v >= HX_VFIO_REGION_MAX)
			return -1;
	}
	return (int)v;
}

static int rw_check(HxVfio *v, const char *h, int region, uint64_t off, size_t len,
		    HxHandle **out, char *why, size_t n)
{
	int err = 0;

	*out = handle_get(v, h, &err, why, n);
	if (!*out)
		return err;
	if (region < 0 || region >= HX_VFIO_REGION_MAX) {
		say(why, n, "bad region index %d", region);
		return -EINVAL;
	}
	if (len < 1 || len > 65536) {
		say(why, n, "bad access length %zu (1 to 65536)", len);
		return -EINVAL;
	}
	if (off >> HX_REGION_SHIFT || (off + len - 1) >> HX_REGION_SHIFT) {
		say(why, n, "offset 0x%" PRIx64 " length %zu is beyond a region (2^%d bytes)",
		    off, len, HX_REGION_SHIFT);
		return -EINVAL;
	}
	return 0;
}

int hx_vfio_pread(HxVfio *v, const char *h, int region, uint64_t off,
		  void *buf, size_t len, char *why, size_t n)
{
	HxHandle *hh;
	int err = rw_check(v, h, region, off, len, &hh, why, n);
	ssize_t r;

	if (err)
		return err;
	r = pread(hh->fd, buf, len, (off_t)((uint64_t)region << HX_REGION_SHIFT | off));
	return r < 0 ? -errno : (int)r;
}

int hx_vfio_pwrite(HxVfio *v, const char *h, int region, uint64_t off,
		   const void *buf, size_t len, char *why, size_t n)
{
	HxHandle *hh;
	int err = rw_check(v, h, region, off, len, &hh, why, n);
	ssize_t r;

	if (err)
		return err;
	r = pwrite(hh->fd, buf, len, (off_t)((uint64_t)region << HX_REGION_SHIFT | off));
	return r < 0 ? -errno : (int)r;
}

static bool len_ok(unsigned len, char *why, size_t n)
{
	if (len == 1 || len == 2 || len == 4 || len == 8)
		return true;
	say(why, n, "bad access size %u (1, 2, 4 or 8)", len);
	return false;
}

int hx_vfio_read(HxVfio *v, const char *h, int region, uint64_t off,
		 unsigned len, uint64_t *val, char *why, size_t n)
{
	uint8_t b[8] = { 0 };
	int r;

	if (!len_ok(len, why, n))
		return -EINVAL;
	r = hx_vfio_pread(v, h, region, off, b, len, why, n);
	if (r < 0)
		return r;
	if ((unsigned)r != len) {
		say(why, n, "short read: %d of %u bytes", r, len);
		return -EIO;
	}
	*val = 0;
	for (unsigned i = len; i-- > 0;)
		*val = *val << 8 | b[i];
	return 0;
}

int hx_vfio_write(HxVfio *v, const char *h, int region, uint64_t off,
		  unsigned len, uint64_t val, char *why, size_t n)
{
	uint8_t b[8];
	int r;

	if (!len_ok(len, why, n))
		return -EINVAL;
	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	r = hx_vfio_pwrite(v, h, region, off, b, len, why, n);
	if (r < 0)
		return r;
	if ((unsigned)r != len) {
		say(why, n, "short write: %d of %u bytes", r, len);
		return -EIO;
	}
	return 0;
}
