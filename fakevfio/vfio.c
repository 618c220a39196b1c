/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vfio.c: the fake VFIO core (container and group files).
 *
 * What the kernel does (vfio-abi.md §2.0): /dev/vfio/vfio and /dev/vfio/N
 * are misc/char devices whose file_operations have open, release and
 * unlocked_ioctl only, so read() and write() fail with EINVAL, lseek() with
 * ESPIPE (fs.c opens them non-seekable) and mmap() with ENODEV.
 */
#include <errno.h>
#include <stdlib.h>

#include "vfio.h"

struct FvVfio {
	FvMachine *machine;
};

FvVfio *fv_vfio_new(FvMachine *m)
{
	FvVfio *v = calloc(1, sizeof(*v));

	if (v)
		v->machine = m;
	return v;
}

void fv_vfio_free(FvVfio *v)
{
	free(v);
}

int fv_vfio_open(FvVfio *v, FvVfioFileKind kind, FvGroup *group,
		 const FvCaller *who, int flags, FvVfioFile **out)
{
	FvVfioFile *f;

	(void)v;
	(void)who;
	(void)flags;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->kind = kind;
	f->group = group;
	*out = f;
	return 0;
}

void fv_vfio_release(FvVfio *v, FvVfioFile *f)
{
	(void)v;
	free(f);
}

long fv_vfio_ioctl(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		   unsigned int cmd, uint64_t arg)
{
	(void)v;
	(void)f;
	(void)who;
	(void)cmd;
	(void)arg;
	return -ENOTTY;
}

ssize_t fv_vfio_read(FvVfio *v, FvVfioFile *f, void *buf, size_t len)
{
	(void)v;
	(void)f;
	(void)buf;
	(void)len;
	return -EINVAL;
}

ssize_t fv_vfio_write(FvVfio *v, FvVfioFile *f, const void *buf, size_t len)
{
	(void)v;
	(void)f;
	(void)buf;
	(void)len;
	return -EINVAL;
}
