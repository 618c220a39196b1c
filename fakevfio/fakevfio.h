/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio: the fake kernel.  Simulated PCI functions (sim/) presented at
 * /sys/bus/pci/devices, /sys/kernel/iommu_groups and /dev/vfio through a
 * FUSE filesystem, inside a private mount namespace (see docs/fakevfio.md).
 *
 * This header holds the machine description every part of fakevfio shares:
 * the devices (one SimDevice each, with the BDF, IOMMU group, IRQ and BAR
 * addresses the "firmware" gave it) and the IOMMU groups.
 */
#ifndef FAKEVFIO_FAKEVFIO_H
#define FAKEVFIO_FAKEVFIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bdf.h"
#include "common/error.h"
#include "sim/sim.h"

enum {
	FV_BDF_LEN = BDF_LEN,		/* "dddd:bb:dd.f" + NUL */
	FV_GROUP_BASE = 100,		/* first default IOMMU group number */
	FV_GROUP_MAX = 0x7fffffff,
	FV_DRIVER_LEN = 64,		/* a driver name + NUL (fv_driver_name_valid) */
};

/* The driver devices are bound to by default. */
#define FV_DRIVER_VFIO_PCI "vfio-pci"


typedef enum FvPlatform {
	FV_PLATFORM_X86,
	FV_PLATFORM_PSERIES,
} FvPlatform;

typedef struct FvGroup FvGroup;

/* One simulated PCI function. */
typedef struct FvDevice {
	char bdf[FV_BDF_LEN];		/* canonical sysfs name */
	unsigned domain, bus, slot, func;
	char *model;
	SimDevice *sim;
	int want_group;			/* group=N, or -1 for a default group */
	FvGroup *group;
	unsigned irq;			/* sysfs "irq": legacy IRQ, 0 without a pin */
	atomic_int numa_node;		/* sysfs "numa_node" (-1: none) */
	bool rom_enabled;		/* the ROM BAR was enabled at enumeration */
	/*
	 * Bound to vfio-pci (true, the default).  false models a device of
	 * the group left bound to a host driver (topology "driver=host"):
	 * its group is not viable (VFIO_GROUP_GET_STATUS without
	 * VFIO_GROUP_FLAGS_VIABLE, SET_CONTAINER -> EPERM) and the device
	 * itself cannot be opened through VFIO.
	 */
	bool vfio_bound;
	/*
	 * The name of the driver the sysfs "driver" link points to
	 * (drivers/<name>): FV_DRIVER_VFIO_PCI, or the host driver of a
	 * device that is not vfio_bound (topology "driver=NAME").
	 */
	char driver[FV_DRIVER_LEN];
} FvDevice;

/* One IOMMU group: the unit /dev/vfio/<id> hands out. */
struct FvGroup {
	int id;
	FvDevice **devs;
	unsigned ndevs;
};

/* What one --device option asked for (parsed, not yet created). */
typedef struct FvDeviceSpec {
	char *text;			/* as given, for messages */
	char *model;
	char bdf[FV_BDF_LEN];
	unsigned domain, bus, slot, func;
	int group;			/* -1: default */
	char *params;			/* the rest, "key=val,..." (never NULL) */
	bool host_driver;		/* bound to a host driver: !vfio_bound */
	char driver[FV_DRIVER_LEN];	/* host_driver: its name ("" = "host") */
} FvDeviceSpec;

/* The simulated machine. */
typedef struct FvMachine {
	FvPlatform platform;
	FvDevice **devs;		/* in command-line order */
	unsigned ndevs;
	FvGroup **groups;		/* sorted by id */
	unsigned ngroups;
} FvMachine;


/*
 * Whether name can be a kernel driver's name (a directory of
 * /sys/bus/pci/drivers): 1-63 characters of [A-Za-z0-9_.-], not starting
 * with '.' or '-'.
 */
bool fv_driver_name_valid(const char *name);

/* Parse "MODEL@BDF[,group=N][,key=val...]". */
bool fv_device_spec_parse(const char *text, FvDeviceSpec *spec, Error **errp);
void fv_device_spec_clear(FvDeviceSpec *spec);

FvMachine *fv_machine_new(FvPlatform platform);
void fv_machine_free(FvMachine *m);
/*
 * Create the device a spec describes (sim_model_create) and add it.
 * Fails on a duplicate BDF or when the model fails.  Groups, BAR
 * addresses and IRQs are assigned by fv_machine_realize.
 */
bool fv_machine_add_device(FvMachine *m, const FvDeviceSpec *spec, Error **errp);
/*
 * Finish the machine as firmware would: put every device in its group
 * (explicit group=N, else a new group numbered from FV_GROUP_BASE up,
 * skipping numbers already taken), assign BAR addresses and legacy IRQs.
 */
bool fv_machine_realize(FvMachine *m, Error **errp);
/* The names of the bundled models, ", "-separated (malloc'ed; NULL: ENOMEM). */
char *fv_model_list(void);
FvDevice *fv_machine_find(const FvMachine *m, const char *bdf);
FvGroup *fv_machine_group(const FvMachine *m, int id);

#endif
