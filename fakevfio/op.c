/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/op.c: names of VFIO operations, ioctls, errnos, regions, IRQs. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/vfio.h>

#include "op.h"

const char *fv_op_kind_name(FvOpKind kind)
{
	switch (kind) {
	case FV_OP_OPEN: return "open";
	case FV_OP_CLOSE: return "close";
	case FV_OP_IOCTL: return "ioctl";
	case FV_OP_READ: return "read";
	case FV_OP_WRITE: return "write";
	}
	return "?";
}

const char *fv_op_obj_name(FvObjKind obj)
{
	switch (obj) {
	case FV_OBJ_CONTAINER: return "container";
	case FV_OBJ_GROUP: return "group";
	case FV_OBJ_DEVICE: return "device";
	}
	return "?";
}

/* ---- ioctls (every _IO(VFIO_TYPE, ...) of <linux/vfio.h>, Linux 6.1) ---- */

/* Which container IOMMU model an entry belongs to. */
enum { ANY, TYPE1, SPAPR };

typedef struct IoctlName {
	FvObjKind obj;
	int model;		/* containers: ANY, TYPE1 or SPAPR */
	unsigned cmd;
	const char *name;
} IoctlName;

#define C(model, x) { FV_OBJ_CONTAINER, model, x, #x }
#define G(x) { FV_OBJ_GROUP, ANY, x, #x }
#define D(x) { FV_OBJ_DEVICE, ANY, x, #x }

static const IoctlName ioctls[] = {
	C(ANY, VFIO_GET_API_VERSION),
	C(ANY, VFIO_CHECK_EXTENSION),
	C(ANY, VFIO_SET_IOMMU),
	C(TYPE1, VFIO_IOMMU_GET_INFO),
	C(ANY, VFIO_IOMMU_MAP_DMA),
	C(ANY, VFIO_IOMMU_UNMAP_DMA),
	C(TYPE1, VFIO_IOMMU_DIRTY_PAGES),
	C(SPAPR, VFIO_IOMMU_SPAPR_TCE_GET_INFO),
	C(SPAPR, VFIO_IOMMU_ENABLE),
	C(SPAPR, VFIO_IOMMU_DISABLE),
	C(SPAPR, VFIO_IOMMU_SPAPR_REGISTER_MEMORY),
	C(SPAPR, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY),
	C(SPAPR, VFIO_IOMMU_SPAPR_TCE_CREATE),
	C(SPAPR, VFIO_IOMMU_SPAPR_TCE_REMOVE),
	C(SPAPR, VFIO_EEH_PE_OP),
	G(VFIO_GROUP_GET_STATUS),
	G(VFIO_GROUP_SET_CONTAINER),
	G(VFIO_GROUP_UNSET_CONTAINER),
	G(VFIO_GROUP_GET_DEVICE_FD),
	D(VFIO_DEVICE_GET_INFO),
	D(VFIO_DEVICE_GET_REGION_INFO),
	D(VFIO_DEVICE_GET_IRQ_INFO),
	D(VFIO_DEVICE_SET_IRQS),
	D(VFIO_DEVICE_RESET),
	D(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO),
	D(VFIO_DEVICE_PCI_HOT_RESET),
	D(VFIO_DEVICE_QUERY_GFX_PLANE),
	D(VFIO_DEVICE_GET_GFX_DMABUF),
	D(VFIO_DEVICE_IOEVENTFD),
	D(VFIO_DEVICE_FEATURE),
};

#undef C
#undef G
#undef D

#define NIOCTLS (sizeof(ioctls) / sizeof(ioctls[0]))

const char *fv_op_ioctl_name(FvObjKind obj, bool spapr, unsigned cmd)
{
	for (size_t i = 0; i < NIOCTLS; i++) {
		const IoctlName *e = &ioctls[i];

		if (e->obj != obj || e->cmd != cmd)
			continue;
		if (e->model == ANY || e->model == (spapr ? SPAPR : TYPE1))
			return e->name;
	}
	return NULL;
}

bool fv_op_ioctl_lookup(const char *name, const char **canon, FvObjKind *obj)
{
	for (size_t i = 0; i < NIOCTLS; i++) {
		if (!strcasecmp(ioctls[i].name, name)) {
			if (canon)
				*canon = ioctls[i].name;
			if (obj)
				*obj = ioctls[i].obj;
			return true;
		}
	}
	return false;
}

void fv_op_ioctl_foreach(void (*fn)(void *opaque, const char *name, FvObjKind obj,
				    bool spapr, unsigned cmd), void *opaque)
{
	for (size_t i = 0; i < NIOCTLS; i++)
		fn(opaque, ioctls[i].name, ioctls[i].obj, ioctls[i].model == SPAPR,
		   ioctls[i].cmd);
}

/* ---- errno ------------------------------------------------------------ */

enum { ERRNO_MAX = 4095 };

const char *fv_op_errno_name(int err)
{
	if (err <= 0 || err > ERRNO_MAX)
		return NULL;
	return strerrorname_np(err);
}

static const struct {
	const char *alias;
	int err;
} errno_aliases[] = {
	{ "EWOULDBLOCK", EWOULDBLOCK },
	{ "EDEADLOCK", EDEADLOCK },
	{ "ENOTSUP", ENOTSUP },
};

int fv_op_errno_parse(const char *s)
{
	if (isdigit((unsigned char)s[0])) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 10);
		if (*end || errno || v < 1 || v > ERRNO_MAX)
			return 0;
		return (int)v;
	}
	for (int e = 1; e <= ERRNO_MAX; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcasecmp(n, s))
			return e;
	}
	for (size_t i = 0; i < sizeof(errno_aliases) / sizeof(errno_aliases[0]); i++)
		if (!strcasecmp(errno_aliases[i].alias, s))
			return errno_aliases[i].err;
	return 0;
}

/* ---- regions, IRQ indexes, IOMMU types -------------------------------- */

static const char *const regions[] = {
	[VFIO_PCI_BAR0_REGION_INDEX] = "BAR0",
	[VFIO_PCI_BAR1_REGION_INDEX] = "BAR1",
	[VFIO_PCI_BAR2_REGION_INDEX] = "BAR2",
	[VFIO_PCI_BAR3_REGION_INDEX] = "BAR3",
	[VFIO_PCI_BAR4_REGION_INDEX] = "BAR4",
	[VFIO_PCI_BAR5_REGION_INDEX] = "BAR5",
	[VFIO_PCI_ROM_REGION_INDEX] = "ROM",
	[VFIO_PCI_CONFIG_REGION_INDEX] = "CONFIG",
	[VFIO_PCI_VGA_REGION_INDEX] = "VGA",
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

const char *fv_op_region_name(unsigned index, char buf[FV_OP_NAME_BUF])
{
	if (index < NREGIONS)
		return regions[index];
	snprintf(buf, FV_OP_NAME_BUF, "REGION%u", index);
	return buf;
}

/* A decimal number 0..max: the value, or -1. */
static int small_number(const char *s, int max)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > (unsigned long)max)
		return -1;
	return (int)v;
}

int fv_op_region_parse(const char *s)
{
	for (unsigned i = 0; i < NREGIONS; i++)
		if (!strcasecmp(regions[i], s))
			return (int)i;
	if (!strncasecmp(s, "REGION", 6))
		s += 6;
	return small_number(s, INT_MAX);
}

static const char *const irq_names[] = {
	[VFIO_PCI_INTX_IRQ_INDEX] = "INTX",
	[VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
	[VFIO_PCI_MSIX_IRQ_INDEX] = "MSIX",
	[VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
	[VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
};
#define NIRQS (sizeof(irq_names) / sizeof(irq_names[0]))

const char *fv_op_irq_name(unsigned index)
{
	return index < NIRQS ? irq_names[index] : NULL;
}

int fv_op_irq_parse(const char *s)
{
	for (unsigned i = 0; i < NIRQS; i++)
		if (!strcasecmp(irq_names[i], s))
			return (int)i;
	if (!strcasecmp(s, "MSI-X"))
		return VFIO_PCI_MSIX_IRQ_INDEX;
	return small_number(s, NIRQS - 1);
}

const char *fv_op_extension_name(unsigned long ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU: return "VFIO_TYPE1_IOMMU";
	case VFIO_SPAPR_TCE_IOMMU: return "VFIO_SPAPR_TCE_IOMMU";
	case VFIO_TYPE1v2_IOMMU: return "VFIO_TYPE1v2_IOMMU";
	case VFIO_DMA_CC_IOMMU: return "VFIO_DMA_CC_IOMMU";
	case VFIO_EEH: return "VFIO_EEH";
	case VFIO_TYPE1_NESTING_IOMMU: return "VFIO_TYPE1_NESTING_IOMMU";
	case VFIO_SPAPR_TCE_v2_IOMMU: return "VFIO_SPAPR_TCE_v2_IOMMU";
	case VFIO_NOIOMMU_IOMMU: return "VFIO_NOIOMMU_IOMMU";
	case VFIO_UNMAP_ALL: return "VFIO_UNMAP_ALL";
	case VFIO_UPDATE_VADDR: return "VFIO_UPDATE_VADDR";
	}
	return NULL;
}
