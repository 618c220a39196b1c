/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/faults.h: fault injection.  A table of rules
 *
 *   OPERATION [MATCH...] errno=E [count=N] [after=M]
 *
 * (docs/fakevfio.md, "Fault rules"), checked by the VFIO dispatchers before
 * they do anything: an operation that a rule matches fails with that rule's
 * errno instead of running.
 *
 *   OPERATION  an ioctl by name (VFIO_IOMMU_MAP_DMA, VFIO_DEVICE_SET_IRQS,
 *              ...), "ioctl" (any ioctl), region-read, region-write,
 *              open-container, open-group, open-device
 *   MATCH      device=BDF, group=N, container=N, region=NAME|INDEX, pid=N
 *   errno=E    EBUSY, EIO, ... or a number (required)
 *   count=N    fire N times, then the rule is spent (default: always)
 *   after=M    let the first M matching operations through (default 0)
 *
 * Rules are checked in the order they were added.  Every live rule that
 * matches an operation counts it toward its after=; the first one that then
 * fires decides the errno and the rules after it do not see the operation.
 *
 * Thread-safe: one mutex, a leaf lock.  Checking an empty table takes no
 * lock.
 */
#ifndef FAKEVFIO_FAULTS_H
#define FAKEVFIO_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/error.h"
#include "fakevfio.h"
#include "op.h"

/* The operation the dispatchers describe (see op.h). */
typedef FvOp FvFaultOp;

typedef enum FvFaultKind {
	FV_FAULT_IOCTL,		/* one ioctl, by name */
	FV_FAULT_ANY_IOCTL,	/* "ioctl" */
	FV_FAULT_REGION_READ,
	FV_FAULT_REGION_WRITE,
	FV_FAULT_OPEN_CONTAINER,
	FV_FAULT_OPEN_GROUP,
	FV_FAULT_OPEN_DEVICE,
} FvFaultKind;

/* One parsed rule. */
typedef struct FvFaultRule {
	FvFaultKind kind;
	const char *ioctl;	/* FV_FAULT_IOCTL: the canonical name (static) */
	FvObjKind ioctl_obj;	/* FV_FAULT_IOCTL: the file kind it belongs to */
	bool has_device, has_group, has_container, has_region, has_pid;
	char bdf[FV_BDF_LEN];
	int group;
	unsigned container;
	int region;
	pid_t pid;
	int err;		/* positive errno */
	unsigned count;		/* 0: unlimited */
	unsigned after;
} FvFaultRule;

typedef struct FvFaults FvFaults;

/*
 * Parse a rule (the text after the word "fault").  On error, *errpos (may
 * be NULL) is the byte offset in text of the word at fault.
 */
bool fv_fault_rule_parse(const char *text, FvFaultRule *r, size_t *errpos,
			 Error **errp);
/*
 * The rule in canonical form, which parses back to the same rule:
 * "VFIO_IOMMU_MAP_DMA device=0000:03:00.0 errno=EBUSY count=1" (malloc'ed;
 * NULL: ENOMEM).  Match keys in the order device, group, container,
 * region, pid; count= only when limited, after= only when not 0.
 */
char *fv_fault_rule_text(const FvFaultRule *r);

FvFaults *fv_faults_new(void);
void fv_faults_free(FvFaults *f);
/* Append a parsed rule: its id (1, 2, ... never reused), or 0 on ENOMEM. */
unsigned fv_faults_add_rule(FvFaults *f, const FvFaultRule *r);
/* Parse and append (errpos as in fv_fault_rule_parse): the id, or 0. */
unsigned fv_faults_add(FvFaults *f, const char *text, size_t *errpos,
		       Error **errp);
/* Remove every rule; returns how many there were. */
unsigned fv_faults_clear(FvFaults *f);
/* Rules in the table (spent ones included). */
unsigned fv_faults_count(FvFaults *f);
/*
 * One line per rule, e.g. "id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1
 * after=0 seen=0 hits=0 left=1" (docs/fakevfio.md, "Fault rules").
 */
void fv_faults_list(FvFaults *f, FILE *out);

/*
 * The hook: 0 to let op run, or -errno to fail it.  f NULL: 0.  Counts
 * the operation as described above.
 */
int fv_faults_check(FvFaults *f, const FvFaultOp *op);
/* Whether any rule is in the table (cheap; NULL: false). */
bool fv_faults_any(FvFaults *f);

#endif
