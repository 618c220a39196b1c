/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/hx-vfio: raw VFIO calls on named handles, for the scenario
 * statements vfio.* (scenarios/README.md, "Raw VFIO") and for replaying
 * recorded traces (vfio-harness record).  No core, no fakevfio: plain
 * open/ioctl/pread/pwrite/close, so it runs on the real kernel too.
 *
 * Every function returns 0 (or the ioctl's non-negative return value)
 * on success and -errno on failure; `why` (may be NULL) gets a one-line
 * explanation of failures that are not the kernel's errno (an unknown
 * handle, a bad key).
 */
#ifndef HARNESS_HX_VFIO_H
#define HARNESS_HX_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_VFIO_HANDLE_MAX 32
#define HX_VFIO_REGION_MAX 64	/* region indexes 0-63 */
#define HX_VFIO_FDS_MAX 1024	/* fds=eventfd*N, groups=: N of one call */

typedef struct HxVfio HxVfio;

/* What the value of an ioctl key must be (the parser reads it so). */
typedef enum HxVfioArgKind {
	HX_ARG_NONE = 0,	/* the key is not valid for this ioctl */
	HX_ARG_NUM,		/* an expression */
	HX_ARG_RAM,		/* "ram:EXPR": an offset into the guest RAM */
	HX_ARG_HANDLE,		/* a handle name (container=, group=) */
	HX_ARG_HANDLES,		/* handle names separated by ',' (groups=) */
	HX_ARG_EVENTFDS,	/* "eventfd*N" (N fresh eventfds) or "-1*N" */
	HX_ARG_BYTES,		/* a byte string */
} HxVfioArgKind;

typedef struct HxVfioArg {
	const char *key;
	HxVfioArgKind kind;
	uint64_t num;		/* NUM, RAM (the offset), EVENTFDS (N) */
	const char *str;	/* HANDLE, HANDLES */
	const uint8_t *bytes;	/* BYTES */
	size_t nbytes;
	bool eventfd_none;	/* EVENTFDS: "-1*N" */
} HxVfioArg;

/*
 * Parse time: the ioctl number of a VFIO ioctl name (with "VFIO_"), or
 * 0 if it is not one hx_vfio_ioctl can build; the kind of a key's value
 * for that ioctl (HX_ARG_NONE: not a key of it).  hx_vfio_keys lists the
 * valid keys (for error messages: "index, start, count, flags, fds").
 */
unsigned long hx_vfio_ioctl_number(const char *name);
HxVfioArgKind hx_vfio_arg_kind(const char *name, const char *key);
const char *hx_vfio_keys(const char *name);
/*
 * The size of the argument struct (the default argsz, without payload) of
 * a struct ioctl, 0 for the others and unknown names.
 */
unsigned hx_vfio_struct_size(const char *name);

/* ram/ram_size: the guest RAM that "ram:OFF" values point into. */
HxVfio *hx_vfio_new(void *ram, uint64_t ram_size);
/* Closes every handle still open (and the eventfds it made). */
void hx_vfio_free(HxVfio *v);

int hx_vfio_open_container(HxVfio *v, const char *h, char *why, size_t n);
int hx_vfio_open_group(HxVfio *v, const char *h, unsigned group, char *why,
		       size_t n);
int hx_vfio_open_device(HxVfio *v, const char *h, const char *group_h,
			const char *bdf, char *why, size_t n);
/* An ioctl on handle h; *out gets the return value (>= 0). */
int64_t hx_vfio_ioctl(HxVfio *v, const char *h, const char *name,
		      const HxVfioArg *args, unsigned nargs, char *why,
		      size_t n);
/*
 * Region index from "CONFIG", "BAR0".."BAR5", "ROM", "VGA", a number or
 * "REGIONn" (below HX_VFIO_REGION_MAX); -1 if neither.
 */
int hx_vfio_region_index(const char *name);
/* pread/pwrite of len (1, 2, 4, 8) bytes, little-endian value. */
int hx_vfio_read(HxVfio *v, const char *h, int region, uint64_t off,
		 unsigned len, uint64_t *val, char *why, size_t n);
int hx_vfio_write(HxVfio *v, const char *h, int region, uint64_t off,
		  unsigned len, uint64_t val, char *why, size_t n);
/*
 * Any length (1-65536): the bytes themselves.  These return the number of
 * bytes read or written (which may be less than len) or -errno; the two
 * above fail with -EIO on a short access.  Region N is at file offset
 * N << 40 (vfio-pci's layout).
 */
int hx_vfio_pread(HxVfio *v, const char *h, int region, uint64_t off,
		  void *buf, size_t len, char *why, size_t n);
int hx_vfio_pwrite(HxVfio *v, const char *h, int region, uint64_t off,
		   const void *buf, size_t len, char *why, size_t n);
int hx_vfio_close(HxVfio *v, const char *h, char *why, size_t n);
/*
 * The argument struct hx_vfio_ioctl would pass for a struct ioctl (not
 * for GET_API_VERSION, CHECK_EXTENSION, SET_IOMMU, SET_CONTAINER, RESET,
 * UNSET_CONTAINER, IOMMU_ENABLE/DISABLE): *buf (malloc'ed, *size bytes).
 * Makes the eventfds of fds= too.  For tests and for messages.
 */
int hx_vfio_build_arg(HxVfio *v, const char *name, const HxVfioArg *args,
		      unsigned nargs, void **buf, size_t *size, char *why, size_t n);
/* Make fd (owned from now on) handle h: for tests. */
int hx_vfio_adopt(HxVfio *v, const char *h, int fd, char *why, size_t n);
/* The fd of open handle h, or -1 (for the executor: poll an eventfd...). */
int hx_vfio_fd(HxVfio *v, const char *h);

#endif
