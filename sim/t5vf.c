/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PLACEHOLDER: being written. */
#include "models.h"

static SimDevice *create(const char *name, SimParams *p, Error **errp)
{
	(void)name; (void)p;
	error_setg(errp, "model chelsio-t5-vf: not written yet");
	return NULL;
}

const SimModel sim_model_chelsio_t5_vf = { "chelsio-t5-vf", "placeholder", "", create };
