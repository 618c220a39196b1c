/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/topology.h: `fakevfio run --topology FILE`, a line-oriented
 * description of the simulated machine (docs/fakevfio.md, "Topology
 * files"):
 *
 *   # comment
 *   platform x86|pseries [tce=v1|v2|both]
 *   device MODEL BDF [group=N] [driver=vfio-pci|NAME] [KEY=VALUE...]
 *   fault OPERATION [MATCH...] errno=E [count=N] [after=M]
 *   advertise-mmap
 *
 * Parsing checks everything it can (syntax, BDFs, model names, duplicate
 * BDFs and keys, fault rules); errors name FILE:LINE:COLUMN and say what
 * was expected.  The model parameters themselves are checked when the
 * devices are created (fv_topology_add_devices), with FILE:LINE:COLUMN of
 * the device's model name.
 */
#ifndef FAKEVFIO_TOPOLOGY_H
#define FAKEVFIO_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "fakevfio.h"
#include "faults.h"

enum {
	FV_TOPOLOGY_MAX_SIZE = 16 << 20,	/* bytes of a topology file */
};

typedef struct FvTopoDevice {
	FvDeviceSpec spec;		/* spec.text: "MODEL@BDF", for messages */
	unsigned line, col;		/* of the model name */
	unsigned driver_col;		/* of "driver=NAME" for a host driver (0: none) */
} FvTopoDevice;

typedef struct FvTopoFault {
	FvFaultRule rule;
	unsigned line, col;		/* of the operation */
} FvTopoFault;

typedef struct FvTopology {
	char *file;			/* the name errors use */
	bool has_platform;
	FvPlatform platform;
	unsigned platform_line, platform_col;	/* of the platform's name */
	/* pseries: FV_SPAPR_TCE_* from tce= (0: not given, both). */
	unsigned tce, tce_col;
	FvTopoDevice *devs;		/* in file order */
	unsigned ndevs;
	FvTopoFault *faults;		/* in file order */
	unsigned nfaults;
	/* "advertise-mmap": FvVdevConfig.advertise_mmap for every device. */
	bool advertise_mmap;
	unsigned advertise_mmap_line;
} FvTopology;

/* Read and parse the file at path (errors say "path:LINE:COL: ..."). */
bool fv_topology_load(FvTopology *t, const char *path, Error **errp);
/* Parse len bytes of text; file is the name errors use. */
bool fv_topology_parse(FvTopology *t, const char *file, const char *text,
		       size_t len, Error **errp);
/* Free what t holds and zero it (a zeroed FvTopology is empty). */
void fv_topology_clear(FvTopology *t);

/* The device at canonical bdf, or NULL. */
const FvTopoDevice *fv_topology_find(const FvTopology *t, const char *bdf);
/*
 * Create every device in m (fv_machine_add_device), in file order, with
 * its vfio_bound flag.  A model's error is prefixed with FILE:LINE:COL.
 */
bool fv_topology_add_devices(const FvTopology *t, FvMachine *m, Error **errp);
/* Append the fault rules to f, in file order. */
bool fv_topology_add_faults(const FvTopology *t, FvFaults *f, Error **errp);
/*
 * After fv_machine_realize: every group must have a device bound to
 * vfio-pci (a group whose devices are all on host drivers would have no
 * /dev/vfio/N).  The error names the first such device's driver=NAME.
 */
bool fv_topology_check_groups(const FvTopology *t, const FvMachine *m,
			      Error **errp);

#endif
