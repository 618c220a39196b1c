/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec-spapr: the guest side of a POWER (pseries) machine for the
 * scenario executor: the PHB's TCE tables and the PAPR hypercalls that
 * fill them (tce.*, phb.*, eeh statements of scenarios/README.md).
 * harness/exec.c calls these on platform=pseries only.
 */
#ifndef HARNESS_EXEC_SPAPR_H
#define HARNESS_EXEC_SPAPR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "core/machine.h"
#include "harness/scn.h"

typedef struct HxSpapr HxSpapr;

/* After vfc_machine_new: the PHB, its default window, the sPAPR IOMMU. */
HxSpapr *hx_spapr_new(VfcMachine *m, const ScnMachine *mc, Error **errp);
void hx_spapr_free(HxSpapr *s);
/*
 * An hcall by name ("H_PUT_TCE", "H_GET_TCE", "H_STUFF_TCE",
 * "H_PUT_TCE_INDIRECT"): *ret gets its return code (H_*), *out H_GET_TCE's
 * TCE.  false + errp on a harness error (not an hcall failure).
 */
bool hx_spapr_hcall(HxSpapr *s, const char *name, const uint64_t *args,
		    unsigned nargs, int64_t *ret, uint64_t *out, Error **errp);
bool hx_spapr_bypass(HxSpapr *s, bool on, Error **errp);
bool hx_spapr_ddw_create(HxSpapr *s, unsigned page_shift, unsigned window_shift,
			 uint64_t *liobn, Error **errp);
bool hx_spapr_ddw_remove(HxSpapr *s, uint64_t liobn, Error **errp);
/* A PE operation (eeh DEV OP): "enable", ..., "inject" (args TYPE FUNC). */
bool hx_spapr_eeh(HxSpapr *s, VfcPciDevice *dev, const char *op,
		  const uint64_t *args, unsigned nargs, int64_t *ret, Error **errp);

#endif
