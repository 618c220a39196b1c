/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PLACEHOLDER: being written. */
#include "models.h"

static SimDevice *create(const char *name, SimParams *p, Error **errp)
{
	(void)name; (void)p;
	error_setg(errp, "model profile: not written yet");
	return NULL;
}

const SimModel sim_model_profile = { "profile", "placeholder", "", create };
