/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/optrace.c: the VFIO operation trace. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "common/crc32.h"
#include "optrace.h"

struct FvOptrace {
	pthread_mutex_t lock;
	int fd;
	bool own_fd;
	uint64_t t0_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

FvOptrace *fv_optrace_open(const char *path, Error **errp)
{
	FvOptrace *t = calloc(1, sizeof(*t));

	if (!t) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	if (!strcmp(path, "-")) {
		t->fd = STDERR_FILENO;
	} else {
		t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (t->fd < 0) {
			error_setg_errno(errp, errno, "cannot open the trace file %s", path);
			free(t);
			return NULL;
		}
		t->own_fd = true;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->t0_ns = now_ns();
	return t;
}

void fv_optrace_close(FvOptrace *t)
{
	if (!t)
		return;
	if (t->own_fd)
		close(t->fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- decoding --------------------------------------------------------- */

/* An appending formatter that never overflows (truncates instead). */
typedef struct Buf {
	char *s;
	size_t len, used;
} Buf;

__attribute__((format(printf, 2, 3)))
static void put(Buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->used + 1 >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->used += (size_t)n;
	if (b->used >= b->len)
		b->used = b->len - 1;
}

/* Read n bytes of the argument; on a fault, say so and return false. */
static bool arg_read(Buf *b, const FvUser *u, uint64_t arg, void *dst, size_t n)
{
	if (!u) {
		put(b, " arg=0x%" PRIx64, arg);
		return false;
	}
	if (fv_user_read(u, arg, dst, n) < 0) {
		put(b, " arg=0x%" PRIx64 " efault=1", arg);
		return false;
	}
	return true;
}

/* A string as one token: bytes outside '!'..'~', '%' and '"' as %XX. */
static void put_escaped(Buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > ' ' && c < 0x7f && c != '%' && c != '"')
			put(b, "%c", c);
		else
			put(b, "%%%02X", c);
	}
	if (s[i])
		put(b, " truncated=1");
}

static void put_by_value(Buf *b, const char *key, uint64_t arg)
{
	const char *n = fv_op_extension_name((unsigned long)arg);

	put(b, " arg=%" PRIu64 " %s=%s", arg, key, n ? n : "unknown");
}

/* argsz and flags, the head of most argument structs. */
typedef struct Head {
	uint32_t argsz, flags;
} Head;

static void decode_container(Buf *b, unsigned cmd, bool spapr, const FvUser *u,
			     uint64_t arg)
{
	union {
		Head h;
		struct vfio_iommu_type1_dma_map map;
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_iommu_spapr_register_memory reg;
		struct vfio_iommu_spapr_tce_create create;
		struct vfio_iommu_spapr_tce_remove remove;
		struct vfio_eeh_pe_op eeh;
	} a;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return;
	case VFIO_CHECK_EXTENSION:
		put_by_value(b, "ext", arg);
		return;
	case VFIO_SET_IOMMU:
		put_by_value(b, "type", arg);
		return;
	case VFIO_IOMMU_MAP_DMA:
		if (arg_read(b, u, arg, &a.map, sizeof(a.map)))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " vaddr=0x%llx iova=0x%llx size=0x%llx",
			    a.map.argsz, a.map.flags, (unsigned long long)a.map.vaddr,
			    (unsigned long long)a.map.iova, (unsigned long long)a.map.size);
		return;
	case VFIO_IOMMU_UNMAP_DMA:
		if (arg_read(b, u, arg, &a.unmap, sizeof(a.unmap)))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " iova=0x%llx size=0x%llx",
			    a.unmap.argsz, a.unmap.flags, (unsigned long long)a.unmap.iova,
			    (unsigned long long)a.unmap.size);
		return;
	}
	if (!spapr) {
		switch (cmd) {
		case VFIO_IOMMU_GET_INFO:
			if (arg_read(b, u, arg, &a.h, 4))
				put(b, " argsz=%" PRIu32, a.h.argsz);
			return;
		case VFIO_IOMMU_DIRTY_PAGES:
			if (arg_read(b, u, arg, &a.h, sizeof(a.h)))
				put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32, a.h.argsz, a.h.flags);
			return;
		}
	} else {
		switch (cmd) {
		case VFIO_IOMMU_SPAPR_TCE_GET_INFO:
			if (arg_read(b, u, arg, &a.h, 4))
				put(b, " argsz=%" PRIu32, a.h.argsz);
			return;
		case VFIO_IOMMU_ENABLE:
		case VFIO_IOMMU_DISABLE:
			return;
		case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
		case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
			if (arg_read(b, u, arg, &a.reg, sizeof(a.reg)))
				put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " vaddr=0x%llx size=0x%llx",
				    a.reg.argsz, a.reg.flags, (unsigned long long)a.reg.vaddr,
				    (unsigned long long)a.reg.size);
			return;
		case VFIO_IOMMU_SPAPR_TCE_CREATE:
			if (arg_read(b, u, arg, &a.create, sizeof(a.create)))
				put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " page_shift=%" PRIu32
				    " window_size=0x%llx levels=%" PRIu32,
				    a.create.argsz, a.create.flags, a.create.page_shift,
				    (unsigned long long)a.create.window_size, a.create.levels);
			return;
		case VFIO_IOMMU_SPAPR_TCE_REMOVE:
			if (arg_read(b, u, arg, &a.remove, sizeof(a.remove)))
				put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " start_addr=0x%llx",
				    a.remove.argsz, a.remove.flags,
				    (unsigned long long)a.remove.start_addr);
			return;
		case VFIO_EEH_PE_OP:
			if (arg_read(b, u, arg, &a.eeh, 12))
				put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " pe_op=%" PRIu32,
				    a.eeh.argsz, a.eeh.flags, a.eeh.op);
			return;
		}
	}
	put(b, " arg=0x%" PRIx64, arg);
}

static void decode_group(Buf *b, unsigned cmd, const FvUser *u, uint64_t arg)
{
	Head h;
	int32_t fd;
	char *name;
	int err;

	switch (cmd) {
	case VFIO_GROUP_GET_STATUS:
		if (arg_read(b, u, arg, &h, 4))
			put(b, " argsz=%" PRIu32, h.argsz);
		return;
	case VFIO_GROUP_SET_CONTAINER:
		if (arg_read(b, u, arg, &fd, sizeof(fd)))
			put(b, " fd=%" PRId32, fd);
		return;
	case VFIO_GROUP_UNSET_CONTAINER:
		return;
	case VFIO_GROUP_GET_DEVICE_FD:
		if (!u) {
			put(b, " arg=0x%" PRIx64, arg);
			return;
		}
		name = fv_user_strndup(u, arg, 4096, &err);
		if (!name) {
			put(b, " arg=0x%" PRIx64 " %s=1", arg, err == -EFAULT ? "efault" : "unterminated");
			return;
		}
		put(b, " name=");
		put_escaped(b, name, 128);
		free(name);
		return;
	}
	put(b, " arg=0x%" PRIx64, arg);
}

static void decode_device(Buf *b, unsigned cmd, const FvUser *u, uint64_t arg)
{
	union {
		Head h;
		struct vfio_region_info region;
		struct vfio_irq_info irq;
		struct vfio_irq_set set;
		struct vfio_pci_hot_reset reset;
		struct vfio_device_ioeventfd ioeventfd;
		uint32_t id;
	} a;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		if (arg_read(b, u, arg, &a.h, 4))
			put(b, " argsz=%" PRIu32, a.h.argsz);
		return;
	case VFIO_DEVICE_GET_REGION_INFO:
		if (arg_read(b, u, arg, &a.region, 12))
			put(b, " argsz=%" PRIu32 " index=%" PRIu32, a.region.argsz, a.region.index);
		return;
	case VFIO_DEVICE_GET_IRQ_INFO:
		if (arg_read(b, u, arg, &a.irq, 12))
			put(b, " argsz=%" PRIu32 " index=%" PRIu32, a.irq.argsz, a.irq.index);
		return;
	case VFIO_DEVICE_SET_IRQS:
		if (arg_read(b, u, arg, &a.set, sizeof(a.set)))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " index=%" PRIu32
			    " start=%" PRIu32 " count=%" PRIu32, a.set.argsz, a.set.flags,
			    a.set.index, a.set.start, a.set.count);
		return;
	case VFIO_DEVICE_RESET:
		return;
	case VFIO_DEVICE_PCI_HOT_RESET:
		if (arg_read(b, u, arg, &a.reset, sizeof(a.reset)))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " count=%" PRIu32,
			    a.reset.argsz, a.reset.flags, a.reset.count);
		return;
	case VFIO_DEVICE_QUERY_GFX_PLANE:
	case VFIO_DEVICE_FEATURE:
		if (arg_read(b, u, arg, &a.h, sizeof(a.h)))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32, a.h.argsz, a.h.flags);
		return;
	case VFIO_DEVICE_GET_GFX_DMABUF:
		if (arg_read(b, u, arg, &a.id, sizeof(a.id)))
			put(b, " dmabuf_id=%" PRIu32, a.id);
		return;
	case VFIO_DEVICE_IOEVENTFD:
		if (arg_read(b, u, arg, &a.ioeventfd, 28))
			put(b, " argsz=%" PRIu32 " flags=0x%" PRIx32 " offset=0x%llx data=0x%llx fd=%" PRId32,
			    a.ioeventfd.argsz, a.ioeventfd.flags,
			    (unsigned long long)a.ioeventfd.offset,
			    (unsigned long long)a.ioeventfd.data, a.ioeventfd.fd);
		return;
	}
	put(b, " arg=0x%" PRIx64, arg);
}

void fv_optrace_decode(const FvOp *op, const FvUser *u, uint64_t arg,
		       char *buf, size_t len)
{
	Buf b = { buf, len, 0 };
	char rn[FV_OP_NAME_BUF];

	if (!len)
		return;
	buf[0] = '\0';
	switch (op->kind) {
	case FV_OP_OPEN:
		put(&b, " flags=0x%x", (unsigned)op->flags);
		break;
	case FV_OP_CLOSE:
		break;
	case FV_OP_READ:
	case FV_OP_WRITE:
		if (op->obj == FV_OBJ_DEVICE)
			put(&b, " region=%s offset=0x%llx size=%zu",
			    fv_op_region_name((unsigned)(op->pos >> FV_OP_REGION_SHIFT), rn),
			    (unsigned long long)(op->pos & FV_OP_REGION_MASK), op->count);
		else
			put(&b, " offset=0x%llx size=%zu", (unsigned long long)op->pos, op->count);
		break;
	case FV_OP_IOCTL:
		switch (op->obj) {
		case FV_OBJ_CONTAINER:
			decode_container(&b, op->cmd, op->spapr, u, arg);
			break;
		case FV_OBJ_GROUP:
			decode_group(&b, op->cmd, u, arg);
			break;
		case FV_OBJ_DEVICE:
			decode_device(&b, op->cmd, u, arg);
			break;
		}
		break;
	}
	/* Drop the leading space. */
	if (buf[0] == ' ')
		memmove(buf, buf + 1, strlen(buf));
}

static void write_line(FvOptrace *t, const char *line, size_t len);

/* ---- data of region accesses ------------------------------------------ */

size_t fv_optrace_format_data(char *out, size_t outlen, const void *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = buf;
	Buf b = { out, outlen, 0 };

	if (!outlen)
		return 0;
	out[0] = '\0';
	if (!len)
		return 0;
	if (len > FV_OPTRACE_DATA_MAX) {
		put(&b, " crc32=0x%08x", (unsigned)crc32_update(0, buf, len));
		return b.used;
	}
	put(&b, " data=");
	for (size_t i = 0; i < len && b.used + 2 < outlen; i++) {
		out[b.used++] = hex[p[i] >> 4];
		out[b.used++] = hex[p[i] & 15];
	}
	out[b.used] = '\0';
	return b.used;
}

void fv_optrace_data(FvOptraceCall *c, const void *buf, size_t len)
{
	size_t used;

	if (!c->on || !len)
		return;
	used = strlen(c->args);
	fv_optrace_format_data(c->args + used, sizeof(c->args) - used, buf, len);
	if (c->args[0] == ' ')
		memmove(c->args, c->args + 1, strlen(c->args));
}

/* ---- the header ------------------------------------------------------- */

char *fv_optrace_header_text(const FvMachine *m, const char *const *params)
{
	size_t len = 128;
	char *out;
	Buf b;

	for (unsigned i = 0; i < m->ndevs; i++)
		len += 128 + strlen(m->devs[i]->model) +
		       3 * (params && params[i] ? strlen(params[i]) : 0);
	out = malloc(len);
	if (!out)
		return NULL;
	b = (Buf){ out, len, 0 };
	out[0] = '\0';
	put(&b, "# fakevfio trace v1\n");
	for (unsigned i = 0; i < m->ndevs; i++) {
		const FvDevice *d = m->devs[i];

		put(&b, "# device bdf=%s model=", d->bdf);
		put_escaped(&b, d->model, len);
		put(&b, " group=%d driver=", d->group ? d->group->id : d->want_group);
		put_escaped(&b, d->driver[0] ? d->driver : FV_DRIVER_VFIO_PCI, len);
		put(&b, " params=");
		if (params && params[i])
			put_escaped(&b, params[i], len);
		put(&b, "\n");
	}
	put(&b, "# platform %s\n", m->platform == FV_PLATFORM_PSERIES ? "pseries" : "x86");
	return out;
}

void fv_optrace_header(FvOptrace *t, const FvMachine *m, const char *const *params)
{
	char *text;

	if (!t)
		return;
	text = fv_optrace_header_text(m, params);
	if (text)
		write_line(t, text, strlen(text));
	free(text);
}

/* ---- lines ------------------------------------------------------------ */

int fv_optrace_format(char *buf, size_t len, uint64_t t_us, const FvOp *op,
		      const char *args, long ret, uint64_t us, bool injected)
{
	Buf b = { buf, len, 0 };
	const char *name;

	if (!len)
		return 0;
	buf[0] = '\0';
	put(&b, "t=%" PRIu64 ".%06" PRIu64 " pid=%d obj=%s:", t_us / 1000000u,
	    t_us % 1000000u, (int)op->pid, fv_op_obj_name(op->obj));
	switch (op->obj) {
	case FV_OBJ_CONTAINER:
		put(&b, "%u", op->container);
		break;
	case FV_OBJ_GROUP:
		put(&b, "%d", op->group);
		break;
	case FV_OBJ_DEVICE:
		put(&b, "%s", op->bdf ? op->bdf : "?");
		break;
	}
	put(&b, " op=%s", fv_op_kind_name(op->kind));
	if (op->kind == FV_OP_IOCTL) {
		name = fv_op_ioctl_name(op->obj, op->spapr, op->cmd);
		put(&b, " name=%s cmd=0x%x", name ? name : "unknown", op->cmd);
	}
	if (args && args[0])
		put(&b, " %s", args);
	if (ret >= 0) {
		put(&b, " ret=%ld", ret);
	} else {
		name = ret >= -4095 ? fv_op_errno_name((int)-ret) : NULL;
		if (name)
			put(&b, " ret=-%s", name);
		else
			put(&b, " ret=%ld", ret);
	}
	if (injected)
		put(&b, " injected=1");
	put(&b, " us=%" PRIu64 "\n", us);
	/* A truncated line still ends with its newline. */
	if (b.used == len - 1 && buf[b.used - 1] != '\n')
		buf[b.used - 1] = '\n';
	return (int)b.used;
}

static void write_line(FvOptrace *t, const char *line, size_t len)
{
	pthread_mutex_lock(&t->lock);
	while (len) {
		ssize_t n = write(t->fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* a full disk: the trace is best effort */
		line += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&t->lock);
}

void fv_optrace_begin(FvOptrace *t, FvOptraceCall *c, const FvOp *op,
		      const FvUser *u, uint64_t arg)
{
	c->on = t != NULL;
	if (!t)
		return;
	c->op = *op;
	if (op->bdf) {
		snprintf(c->bdf, sizeof(c->bdf), "%s", op->bdf);
		c->op.bdf = c->bdf;
	}
	fv_optrace_decode(op, u, arg, c->args, sizeof(c->args));
	c->t0_ns = now_ns();
}

void fv_optrace_end(FvOptrace *t, FvOptraceCall *c, long ret, bool injected)
{
	char line[FV_OPTRACE_LINE_MAX];
	uint64_t end;
	int n;

	if (!t || !c->on)
		return;
	end = now_ns();
	n = fv_optrace_format(line, sizeof(line),
			      (c->t0_ns - t->t0_ns) / 1000u, &c->op, c->args, ret,
			      (end - c->t0_ns) / 1000u, injected);
	write_line(t, line, (size_t)n);
}

void fv_optrace_op(FvOptrace *t, const FvOp *op, const char *args, long ret,
		   uint64_t us, bool injected)
{
	char line[FV_OPTRACE_LINE_MAX];
	uint64_t now;
	int n;

	if (!t)
		return;
	/* The line carries the start time: now minus the duration. */
	now = (now_ns() - t->t0_ns) / 1000u;
	n = fv_optrace_format(line, sizeof(line), now > us ? now - us : 0, op, args,
			      ret, us, injected);
	write_line(t, line, (size_t)n);
}
