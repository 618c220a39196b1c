/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/optrace.h: the VFIO operation trace (`fakevfio run --trace FILE`,
 * or FAKEVFIO_TRACE=FILE): one line per operation on a VFIO file -- open,
 * close, every ioctl with its decoded arguments, region reads and writes
 * -- with the caller, the result and the duration.  The format
 * (docs/fakevfio.md, "The operation trace") is regular key=value text meant
 * to be parsed by tools:
 *
 *   t=0.012345 pid=4242 obj=container:1 op=ioctl name=VFIO_IOMMU_MAP_DMA
 *     cmd=0x3b71 argsz=32 flags=0x3 vaddr=0x7f5a2c000000 iova=0x100000
 *     size=0x1000 ret=0 us=14
 *
 * (one line).  Each line is written with a single write(2) under a mutex:
 * lines of concurrent operations never interleave, and each is in the file
 * when the operation returns.
 *
 * Use from a dispatcher:
 *
 *   FvOptraceCall c;
 *   fv_optrace_begin(trace, &c, &op, u, arg);   // op: what, who (op.h)
 *   ret = ...the operation...;
 *   fv_optrace_end(trace, &c, ret, injected);   // injected: fv_faults_check
 *
 * A NULL FvOptrace is a valid "off" trace: begin/end then cost a branch.
 */
#ifndef FAKEVFIO_OPTRACE_H
#define FAKEVFIO_OPTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "fakevfio.h"
#include "op.h"
#include "user.h"

enum {
	FV_OPTRACE_ARGS_MAX = 384,	/* decoded arguments of one operation */
	FV_OPTRACE_LINE_MAX = 640,	/* one whole line */
	/* Region accesses up to this many bytes show data=HEX, longer crc32= */
	FV_OPTRACE_DATA_MAX = 64,
};

typedef struct FvOptrace FvOptrace;

/* One operation between begin and end. */
typedef struct FvOptraceCall {
	bool on;
	FvOp op;
	char bdf[FV_BDF_LEN];		/* a copy of op.bdf */
	char args[FV_OPTRACE_ARGS_MAX];
	uint64_t t0_ns;
} FvOptraceCall;

/*
 * Open the trace: path "-" is stderr, anything else is created (or
 * truncated) with mode 0644.  The environment variable FAKEVFIO_TRACE is
 * the launcher's business, not this module's.
 */
FvOptrace *fv_optrace_open(const char *path, Error **errp);
void fv_optrace_close(FvOptrace *t);

/*
 * Start tracing op.  For an ioctl, the argument (arg: a pointer in the
 * memory of u, or a value) is decoded now, before the operation changes
 * it; u may be NULL, then only "arg=" is shown.  For a read or write on a
 * device, op->pos is decoded into the region and offset.
 */
void fv_optrace_begin(FvOptrace *t, FvOptraceCall *c, const FvOp *op,
		      const FvUser *u, uint64_t arg);
/*
 * Finish: ret is the operation's result (>= 0, or -errno); injected tells
 * that fv_faults_check made it fail.  Writes the line.
 */
void fv_optrace_end(FvOptrace *t, FvOptraceCall *c, long ret, bool injected);

/*
 * The bytes of a region access, between begin and end: " data=HEX" (the
 * bytes in memory order, for at most FV_OPTRACE_DATA_MAX bytes) or
 * " crc32=0x%08x" (zlib's CRC-32, for longer ones) is appended to the
 * arguments.  A read passes what it returned (when ret > 0), a write what
 * it was given.  Nothing for len 0 or a call that is off.
 */
void fv_optrace_data(FvOptraceCall *c, const void *buf, size_t len);
/* The same text into out (for the tests); returns its length. */
size_t fv_optrace_format_data(char *out, size_t outlen, const void *buf, size_t len);

/*
 * The header that describes the machine, written once right after the
 * trace is opened (consumers skip lines starting with '#'):
 *
 *   # fakevfio trace v1
 *   # device bdf=0000:03:00.0 model=dma-test group=100 driver=vfio-pci params=k=v,k=v
 *   # platform x86
 *
 * params[i] (may be NULL: none) are the model parameters of m->devs[i],
 * escaped like names (bytes outside '!'..'~', '%' and '"' as %XX).
 * fv_optrace_header_text returns the text (malloc'ed; NULL: no memory).
 */
char *fv_optrace_header_text(const FvMachine *m, const char *const *params);
void fv_optrace_header(FvOptrace *t, const FvMachine *m, const char *const *params);

/*
 * A whole operation already decoded (args: "key=val ..." or NULL), which
 * took us microseconds.  Writes the line.
 */
void fv_optrace_op(FvOptrace *t, const FvOp *op, const char *args, long ret,
		   uint64_t us, bool injected);

/*
 * The decoding that fv_optrace_begin does, into buf (never fails; at worst
 * "arg=0x... efault=1").  For the tests and for callers that trace
 * elsewhere.
 */
void fv_optrace_decode(const FvOp *op, const FvUser *u, uint64_t arg,
		       char *buf, size_t len);
/*
 * Format one line (with its newline) for an operation that started t_us
 * microseconds after the trace was opened.  Returns what snprintf returns.
 */
int fv_optrace_format(char *buf, size_t len, uint64_t t_us, const FvOp *op,
		      const char *args, long ret, uint64_t us, bool injected);

#endif
