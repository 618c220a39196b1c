/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec-spapr: the guest side of a pseries machine for the scenario
 * executor, on the core's sPAPR API (core/spapr.h): hypercalls on the
 * machine's PHB, bypass of the default window, dynamic DMA windows and the
 * EEH RTAS calls.  Hypercall failures are return codes (the scenario
 * checks them); only harness errors (an unknown hcall, a DDW RTAS failure)
 * set errp.
 */
#include <stdlib.h>
#include <string.h>

#include "harness/exec-spapr.h"

struct HxSpapr {
	VfcMachine *m;
	VfcSpaprPhb *phb;
};

HxSpapr *hx_spapr_new(VfcMachine *m, const ScnMachine *mc, Error **errp)
{
	HxSpapr *s;

	(void)mc;	/* tce= is the host's (fakevfio's topology), ram= the machine's */
	if (!m || vfc_machine_platform(m) != VFC_PLATFORM_PSERIES || !vfc_machine_phb(m)) {
		error_setg(errp, "platform=pseries: the machine has no sPAPR PHB");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	s->m = m;
	s->phb = vfc_machine_phb(m);
	return s;
}

void hx_spapr_free(HxSpapr *s)
{
	free(s);	/* the PHB is the machine's */
}

static const char *rtas_name(int r)
{
	switch (r) {
	case RTAS_OUT_SUCCESS: return "success";
	case RTAS_OUT_HW_ERROR: return "hardware error";
	case RTAS_OUT_BUSY: return "busy";
	case RTAS_OUT_PARAM_ERROR: return "parameter error";
	default: return "error";
	}
}

bool hx_spapr_hcall(HxSpapr *s, const char *name, const uint64_t *args,
		    unsigned nargs, int64_t *ret, uint64_t *out, Error **errp)
{
	static const struct {
		const char *name;
		unsigned nargs;
	} calls[] = {
		{ "H_PUT_TCE", 3 }, { "H_GET_TCE", 2 }, { "H_STUFF_TCE", 4 },
		{ "H_PUT_TCE_INDIRECT", 4 },
	};
	unsigned i;
	long r;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(name, calls[i].name))
			break;
	if (i == sizeof(calls) / sizeof(calls[0])) {
		error_setg(errp, "unknown hypercall '%s'", name);
		return false;
	}
	if (nargs != calls[i].nargs) {
		error_setg(errp, "%s takes %u arguments, got %u", name, calls[i].nargs, nargs);
		return false;
	}
	if (out)
		*out = 0;
	switch (i) {
	case 0:
		r = vfc_spapr_h_put_tce(s->phb, args[0], args[1], args[2]);
		break;
	case 1:
		r = vfc_spapr_h_get_tce(s->phb, args[0], args[1], out);
		break;
	case 2:
		r = vfc_spapr_h_stuff_tce(s->phb, args[0], args[1], args[2], args[3]);
		break;
	default:
		r = vfc_spapr_h_put_tce_indirect(s->phb, args[0], args[1], args[2], args[3]);
		break;
	}
	*ret = r;
	return true;
}

bool hx_spapr_bypass(HxSpapr *s, bool on, Error **errp)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(s->phb, vfc_spapr_default_liobn(s->phb));

	if (!tbl) {
		error_setg(errp, "phb.bypass: the default window (LIOBN 0x%x) is not enabled",
			   vfc_spapr_default_liobn(s->phb));
		return false;
	}
	vfc_spapr_table_set_bypass(tbl, on);
	return true;
}

bool hx_spapr_ddw_create(HxSpapr *s, unsigned page_shift, unsigned window_shift,
			 uint64_t *liobn, Error **errp)
{
	uint32_t l = 0;
	uint64_t start = 0;
	int r = vfc_spapr_ddw_create(s->phb, page_shift, window_shift, &l, &start);

	if (r != RTAS_OUT_SUCCESS) {
		error_setg(errp, "ibm,create-pe-dma-window(page shift %u, window shift %u): "
			   "RTAS %d (%s)", page_shift, window_shift, r, rtas_name(r));
		return false;
	}
	*liobn = l;
	return true;
}

bool hx_spapr_ddw_remove(HxSpapr *s, uint64_t liobn, Error **errp)
{
	int r = vfc_spapr_ddw_remove(s->phb, liobn);

	if (r != RTAS_OUT_SUCCESS) {
		error_setg(errp, "ibm,remove-pe-dma-window(0x%llx): RTAS %d (%s)",
			   (unsigned long long)liobn, r, rtas_name(r));
		return false;
	}
	return true;
}

/*
 * *ret: the RTAS return code, except get-state: the PE state
 * (VFIO_EEH_PE_STATE_*, >= 0) when the call succeeded, else its (negative)
 * RTAS code.
 */
bool hx_spapr_eeh(HxSpapr *s, VfcPciDevice *dev, const char *op,
		  const uint64_t *args, unsigned nargs, int64_t *ret, Error **errp)
{
	static const struct {
		const char *name;
		int kind;	/* 0 set-option, 1 slot reset */
		int option;
	} ops[] = {
		{ "enable", 0, RTAS_EEH_ENABLE },
		{ "disable", 0, RTAS_EEH_DISABLE },
		{ "unfreeze-mmio", 0, RTAS_EEH_THAW_IO },
		{ "unfreeze-dma", 0, RTAS_EEH_THAW_DMA },
		{ "reset-hot", 1, RTAS_SLOT_RESET_HOT },
		{ "reset-fundamental", 1, RTAS_SLOT_RESET_FUNDAMENTAL },
		{ "reset-deactivate", 1, RTAS_SLOT_RESET_DEACTIVATE },
	};
	unsigned i;

	if (!strcmp(op, "inject")) {
		if (nargs != 2 || args[0] > UINT32_MAX || args[1] > UINT32_MAX) {
			error_setg(errp, "eeh inject: expected TYPE and FUNC (32-bit)");
			return false;
		}
		*ret = vfc_spapr_eeh_inject(s->phb, (uint32_t)args[0], (uint32_t)args[1], 0, 0);
		return true;
	}
	if (nargs) {
		error_setg(errp, "eeh %s takes no argument", op);
		return false;
	}
	if (!strcmp(op, "get-state")) {
		int state = 0;
		int r = vfc_spapr_eeh_get_state(s->phb, &state);

		*ret = r == RTAS_OUT_SUCCESS ? state : r;
		return true;
	}
	if (!strcmp(op, "configure")) {
		*ret = vfc_spapr_eeh_configure(s->phb);
		return true;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name))
			continue;
		if (ops[i].kind == 1)
			*ret = vfc_spapr_eeh_reset(s->phb, ops[i].option);
		else
			*ret = vfc_spapr_eeh_set_option(s->phb, vfc_spapr_config_addr(&dev->pdev),
							ops[i].option);
		return true;
	}
	error_setg(errp, "unknown eeh operation '%s'", op);
	return false;
}
