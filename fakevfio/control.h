/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/control.h: the control socket.  A test (or the harness) drives
 * the device side of the simulation through it while CMD drives the VFIO
 * side: raise interrupts, make devices DMA, inject AER errors and device
 * requests, reset devices, add fault rules, read the event log, dump state.
 *
 * The protocol (docs/fakevfio.md, "The control socket") is line-oriented
 * text over a Unix stream socket: one request line, then one or more
 * response lines, the last one "ok" or "error ERRNO-NAME MESSAGE".  No data
 * line is ever "ok" or begins with "error".
 *
 * One thread serves every client with non-blocking I/O: a slow, silent or
 * hostile client (long lines, binary, a flood of requests, never reading
 * its answers) cannot block the daemon or the other clients.
 *
 * Requests run on that thread and call into the devices (sim_*) with no
 * control lock held; the hooks into the VFIO core (FvControlOps) are called
 * the same way.
 */
#ifndef FAKEVFIO_CONTROL_H
#define FAKEVFIO_CONTROL_H

#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"
#include "events.h"
#include "fakevfio.h"
#include "faults.h"
#include "type1.h"

enum {
	FV_CONTROL_LINE_MAX = 16384,	/* bytes of a request line (no newline) */
	FV_CONTROL_MAX_CLIENTS = 32,	/* connected at once */
	FV_CONTROL_DMA_MAX = 65536,	/* bytes of one dma-read */
	FV_CONTROL_OUT_MAX = 4 << 20,	/* unread output before input pauses */
};

/* What the VFIO core provides (any member may be NULL). */
typedef struct FvControlOps {
	/*
	 * "dump device BDF": write the VFIO state of dev (fv_vdev_dump of its
	 * open device, ...) to out, one item per line.  Return false when
	 * there is none (no device fd open): the dump then says "vdev open=0".
	 */
	bool (*dump_device)(void *opaque, FvDevice *dev, FILE *out);
	/*
	 * "dump mappings": every DMA mapping of every container, one line each
	 * (fv_control_format_mapping writes the documented line).
	 */
	void (*dump_mappings)(void *opaque, FILE *out);
	void *opaque;
} FvControlOps;

typedef struct FvControlConfig {
	FvMachine *machine;		/* realized; outlives the FvControl */
	FvEvents *events;		/* the event log (required) */
	FvFaults *faults;		/* the fault table (required) */
	FvControlOps ops;
} FvControlConfig;

typedef struct FvControl FvControl;

FvControl *fv_control_new(const FvControlConfig *cfg, Error **errp);
/* Stop the thread, close every socket and free.  NULL is a no-op. */
void fv_control_free(FvControl *c);
/* Replace the hooks; safe while the thread serves. */
void fv_control_set_ops(FvControl *c, const FvControlOps *ops);

/*
 * Start the serving thread.  In the launcher: after the signals it waits
 * for are blocked (the thread inherits the mask).
 */
bool fv_control_start(FvControl *c, Error **errp);
/* Listen on a new Unix socket at path (before or after start). */
bool fv_control_listen(FvControl *c, const char *path, Error **errp);
/* Serve fd, a connected stream socket (taken over, also on failure). */
bool fv_control_add_client(FvControl *c, int fd, Error **errp);

/*
 * Execute one request (a line without its newline; a trailing '\r' is
 * ignored) and write the whole response to out.  A blank line gets no
 * response.  This is what the thread does for each line it reads.
 */
void fv_control_exec(FvControl *c, const char *line, FILE *out);

/*
 * A private directory for the socket that exists nowhere in the file
 * system: a tmpfs (mode 0700) mounted over the directory cover, opened
 * (O_PATH) and at once detached.  It is reached as /proc/PID/fd/FD and
 * disappears with the descriptor -- at exit, even after SIGKILL, leaving
 * nothing on the host.  Needs CAP_SYS_ADMIN in a private mount namespace,
 * and nothing may use cover meanwhile.  The fd, or -1 and errp.
 */
int fv_control_private_dir(const char *cover, Error **errp);

/*
 * One "dump mappings" line for a mapping of container number container:
 * "container=1 iova=0x100000 size=0x1000 vaddr=0x7f... pid=42 prot=rw"
 * (and " vaddr_invalid=1" when so).
 */
void fv_control_format_mapping(FILE *out, unsigned container,
			       const FvType1Mapping *m);

#endif
