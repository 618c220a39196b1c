/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/profile.h: devices served from a declarative text profile, and the
 * capture of a real device's sysfs files into such a profile.
 *
 * The format is described in docs/profile-format.md.  Parsing validates the
 * whole profile (syntax, ranges, BAR layout, capability chains, overrides,
 * BAR contents) and names FILE:LINE in every error; a parsed profile can
 * then make any number of devices.
 */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"
#include "sim.h"

typedef struct SimProfile SimProfile;

/* Parse and validate the profile at path. */
SimProfile *sim_profile_parse(const char *path, Error **errp);
/* The same from an open stream; "path" only names it in messages. */
SimProfile *sim_profile_parse_stream(FILE *f, const char *path, Error **errp);
void sim_profile_free(SimProfile *p);
/* The profile's "name" directive, or "" when it has none. */
const char *sim_profile_title(const SimProfile *p);

/* A realized device named "name" (the BDF, in the fake) from a profile. */
SimDevice *sim_profile_create(const SimProfile *p, const char *name,
			      Error **errp);
/* Parse, create, free the profile: one call for the common case. */
SimDevice *sim_profile_load(const char *path, const char *name, Error **errp);

/* What a capture found. */
typedef struct SimCaptureInfo {
	unsigned cfg_read;	/* config bytes that could be read */
	unsigned cfg_size;	/* the device's config size: 256 or 4096 */
	bool vf;		/* an SR-IOV virtual function (physfn link) */
} SimCaptureInfo;

/*
 * Write a profile of the PCI device whose sysfs directory is dev_dir
 * (e.g. /sys/bus/pci/devices/0000:00:03.0) to out.  Reads config,
 * resource, vendor, device, subsystem_vendor, subsystem_device, class,
 * revision and the physfn link.  A config file shorter than the device's
 * config space (only root reads beyond the 64-byte header) is not an
 * error: the profile says so in a comment and info->cfg_read tells.
 * info may be NULL.
 */
bool sim_profile_capture(const char *dev_dir, FILE *out, SimCaptureInfo *info,
			 Error **errp);

#endif
