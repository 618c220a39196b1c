/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bundled device models (one file each in sim/). */
#ifndef SIM_MODELS_H
#define SIM_MODELS_H

#include "sim.h"

extern const SimModel sim_model_chelsio_t5_vf;	/* sim/t5vf.c */
extern const SimModel sim_model_dma_test;	/* sim/dmatest.c */
extern const SimModel sim_model_profile;	/* sim/profile.c */

#endif
