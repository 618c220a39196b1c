/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/op.h: one VFIO operation as the observers see it -- the
 * operation trace (optrace.h) and fault injection (faults.h) -- and the
 * symbolic names they print and parse: ioctl names (decoded by the kind of
 * file, since one number means different things on a container, a group
 * and a device), errno names, region and IRQ index names, IOMMU types.
 *
 * Everything here is pure and thread-safe.
 */
#ifndef FAKEVFIO_OP_H
#define FAKEVFIO_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A device fd's file offset: region index << FV_OP_REGION_SHIFT | offset. */
#define FV_OP_REGION_SHIFT 40
#define FV_OP_REGION_MASK ((1ull << FV_OP_REGION_SHIFT) - 1)
/* Room for a generated name ("REGION4294967295"). */
#define FV_OP_NAME_BUF 24

/* The kind of VFIO file an operation is made on. */
typedef enum FvObjKind {
	FV_OBJ_CONTAINER,	/* /dev/vfio/vfio */
	FV_OBJ_GROUP,		/* /dev/vfio/<group> */
	FV_OBJ_DEVICE,		/* a device fd from VFIO_GROUP_GET_DEVICE_FD */
} FvObjKind;

typedef enum FvOpKind {
	FV_OP_OPEN,		/* open(2); for a device: GET_DEVICE_FD's open */
	FV_OP_CLOSE,		/* the release of the open file */
	FV_OP_IOCTL,
	FV_OP_READ,		/* read/pread; on a device: a region read */
	FV_OP_WRITE,		/* write/pwrite; on a device: a region write */
} FvOpKind;

/*
 * One operation.  Strings are the caller's and need only live for the
 * duration of the call they are passed to.
 */
typedef struct FvOp {
	FvOpKind kind;
	FvObjKind obj;
	unsigned container;	/* FV_OBJ_CONTAINER: its number (1, 2, ...) */
	int group;		/* the group (FV_OBJ_GROUP, FV_OBJ_DEVICE); -1: none */
	const char *bdf;	/* FV_OBJ_DEVICE: canonical "dddd:bb:dd.f" */
	bool spapr;		/* FV_OBJ_CONTAINER with an sPAPR TCE IOMMU set */
	pid_t pid;		/* the caller */
	unsigned cmd;		/* FV_OP_IOCTL: the ioctl number */
	int flags;		/* FV_OP_OPEN: the open flags */
	uint64_t pos;		/* FV_OP_READ/WRITE: the file offset */
	size_t count;		/* FV_OP_READ/WRITE: the byte count */
} FvOp;

/* "open", "close", "ioctl", "read", "write". */
const char *fv_op_kind_name(FvOpKind kind);
/* "container", "group", "device". */
const char *fv_op_obj_name(FvObjKind obj);

/*
 * The name of ioctl cmd on a file of kind obj ("VFIO_IOMMU_MAP_DMA"), or
 * NULL when that file has no such ioctl.  spapr selects the sPAPR TCE
 * meaning of the container numbers the two IOMMU models share (12, 15-17).
 */
const char *fv_op_ioctl_name(FvObjKind obj, bool spapr, unsigned cmd);
/*
 * Look an ioctl up by name (case-insensitive): true, the canonical name
 * (static) and the kind of file it belongs to; false when unknown.
 */
bool fv_op_ioctl_lookup(const char *name, const char **canon, FvObjKind *obj);
/* Call fn for every ioctl name, in table order (for help texts and tests). */
void fv_op_ioctl_foreach(void (*fn)(void *opaque, const char *name, FvObjKind obj,
				    bool spapr, unsigned cmd), void *opaque);

/* "EINVAL" for EINVAL, or NULL for a number without a name. */
const char *fv_op_errno_name(int err);
/*
 * "EBUSY" (case-insensitive, aliases such as EWOULDBLOCK too) or a
 * decimal number 1-4095: the errno (> 0), or 0 when s is neither.
 */
int fv_op_errno_parse(const char *s);

/* Region index names: BAR0-BAR5, ROM, CONFIG, VGA; others "REGION<n>". */
const char *fv_op_region_name(unsigned index, char buf[FV_OP_NAME_BUF]);
/* A region name (case-insensitive) or a decimal index: the index, or -1. */
int fv_op_region_parse(const char *s);

/* IRQ index names: INTX, MSI, MSIX, ERR, REQ; NULL beyond. */
const char *fv_op_irq_name(unsigned index);
/* An IRQ index name (case-insensitive, also "MSI-X") or 0-4: index or -1. */
int fv_op_irq_parse(const char *s);

/* VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU argument names, NULL if unknown. */
const char *fv_op_extension_name(unsigned long ext);

#endif
