/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/machine.c: the simulated machine: device specs, BDFs, IOMMU
 * groups, and what firmware does before the OS runs (BAR addresses,
 * legacy IRQ lines).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "fakevfio.h"

/* ---- BDF ------------------------------------------------------------ */

/* Up to maxdigits hex digits, at least one; advances *s. */
/* ---- --device MODEL@BDF[,group=N][,key=val...] ----------------------- */

void fv_device_spec_clear(FvDeviceSpec *spec)
{
	free(spec->text);
	free(spec->model);
	free(spec->params);
	memset(spec, 0, sizeof(*spec));
	spec->group = -1;
}

static bool parse_group(const char *val, int *out, Error **errp)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || *end || errno || v > FV_GROUP_MAX) {
		error_setg(errp, "bad group '%s': expected a decimal number 0-%d",
			   val, FV_GROUP_MAX);
		return false;
	}
	*out = (int)v;
	return true;
}

bool fv_device_spec_parse(const char *text, FvDeviceSpec *spec, Error **errp)
{
	const char *at = strchr(text, '@'), *comma, *s;
	size_t plen = 0;
	char *bdf = NULL;
	bool ok = false;

	memset(spec, 0, sizeof(*spec));
	spec->group = -1;
	if (!at) {
		error_setg(errp, "expected MODEL@BDF[,group=N][,key=val...]");
		return false;
	}
	if (at == text) {
		error_setg(errp, "missing model name before '@'");
		return false;
	}
	comma = strchr(at, ',');
	bdf = strndup(at + 1, comma ? (size_t)(comma - at - 1) : strlen(at + 1));
	spec->text = strdup(text);
	spec->model = strndup(text, (size_t)(at - text));
	spec->params = calloc(1, strlen(text) + 1);
	if (!bdf || !spec->text || !spec->model || !spec->params) {
		error_setg(errp, "out of memory");
		goto out;
	}
	if (!*bdf) {
		error_setg(errp, "missing BDF after '@'");
		goto out;
	}
	if (!bdf_parse(bdf, spec->bdf, &spec->domain, &spec->bus, &spec->slot,
			  &spec->func, errp))
		goto out;
	/* Take group=N out; the rest goes to the model untouched. */
	for (s = comma; s; s = comma) {
		const char *item = s + 1;
		size_t len;

		comma = strchr(item, ',');
		len = comma ? (size_t)(comma - item) : strlen(item);
		if (!len) {
			error_setg(errp, "empty parameter after '%.*s'", (int)(item - text), text);
			goto out;
		}
		if (len > 6 && !strncmp(item, "group=", 6)) {
			char val[32];

			if (spec->group >= 0) {
				error_setg(errp, "group= given twice");
				goto out;
			}
			snprintf(val, sizeof(val), "%.*s", (int)(len - 6), item + 6);
			if (len - 6 >= sizeof(val)) {
				error_setg(errp, "bad group '%.*s': expected a decimal number 0-%d",
					   (int)(len - 6), item + 6, FV_GROUP_MAX);
				goto out;
			}
			if (!parse_group(val, &spec->group, errp))
				goto out;
			continue;
		}
		if (!strncmp(item, "group", 5) && (len == 5 || item[5] == '=')) {
			error_setg(errp, "group= needs a number");
			goto out;
		}
		if (plen)
			spec->params[plen++] = ',';
		memcpy(spec->params + plen, item, len);
		plen += len;
	}
	spec->params[plen] = '\0';
	ok = true;
out:
	free(bdf);
	if (!ok)
		fv_device_spec_clear(spec);
	return ok;
}

/* ---- the machine ---------------------------------------------------- */

bool fv_driver_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= FV_DRIVER_LEN || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

FvMachine *fv_machine_new(FvPlatform platform)
{
	FvMachine *m = calloc(1, sizeof(*m));

	if (m)
		m->platform = platform;
	return m;
}

void fv_machine_free(FvMachine *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->ndevs; i++) {
		sim_device_free(m->devs[i]->sim);
		free(m->devs[i]->model);
		free(m->devs[i]);
	}
	for (unsigned i = 0; i < m->ngroups; i++) {
		free(m->groups[i]->devs);
		free(m->groups[i]);
	}
	free(m->devs);
	free(m->groups);
	free(m);
}

FvDevice *fv_machine_find(const FvMachine *m, const char *bdf)
{
	for (unsigned i = 0; i < m->ndevs; i++)
		if (!strcmp(m->devs[i]->bdf, bdf))
			return m->devs[i];
	return NULL;
}

FvGroup *fv_machine_group(const FvMachine *m, int id)
{
	for (unsigned i = 0; i < m->ngroups; i++)
		if (m->groups[i]->id == id)
			return m->groups[i];
	return NULL;
}

bool fv_machine_add_device(FvMachine *m, const FvDeviceSpec *spec, Error **errp)
{
	FvDevice *d, **nv;

	d = fv_machine_find(m, spec->bdf);
	if (d) {
		error_setg(errp, "%s is already taken by a %s device", spec->bdf, d->model);
		return false;
	}
	d = calloc(1, sizeof(*d));
	nv = realloc(m->devs, (m->ndevs + 1) * sizeof(*nv));
	if (nv)
		m->devs = nv;
	if (!d || !nv || !(d->model = strdup(spec->model))) {
		free(d);
		error_setg(errp, "out of memory");
		return false;
	}
	memcpy(d->bdf, spec->bdf, sizeof(d->bdf));
	d->domain = spec->domain;
	d->bus = spec->bus;
	d->slot = spec->slot;
	d->func = spec->func;
	d->want_group = spec->group;
	d->vfio_bound = !spec->host_driver;
	snprintf(d->driver, sizeof(d->driver), "%s", !spec->host_driver ? FV_DRIVER_VFIO_PCI :
		 spec->driver[0] ? spec->driver : "host");
	atomic_init(&d->numa_node, -1);
	d->sim = sim_model_create(spec->model, spec->bdf, spec->params, errp);
	if (!d->sim) {
		free(d->model);
		free(d);
		return false;
	}
	m->devs[m->ndevs++] = d;
	return true;
}

static FvGroup *group_get(FvMachine *m, int id, Error **errp)
{
	FvGroup *g = fv_machine_group(m, id), **nv;
	unsigned pos;

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	nv = realloc(m->groups, (m->ngroups + 1) * sizeof(*nv));
	if (nv)
		m->groups = nv;
	if (!g || !nv) {
		free(g);
		error_setg(errp, "out of memory");
		return NULL;
	}
	g->id = id;
	for (pos = 0; pos < m->ngroups && m->groups[pos]->id < id; pos++)
		;
	memmove(&m->groups[pos + 1], &m->groups[pos],
		(m->ngroups - pos) * sizeof(*m->groups));
	m->groups[pos] = g;
	m->ngroups++;
	return g;
}

static bool group_add(FvGroup *g, FvDevice *d, Error **errp)
{
	FvDevice **nv = realloc(g->devs, (g->ndevs + 1) * sizeof(*nv));

	if (!nv) {
		error_setg(errp, "out of memory");
		return false;
	}
	g->devs = nv;
	g->devs[g->ndevs++] = d;
	d->group = g;
	return true;
}

/* The address ranges in use, per space (I/O, memory). */
typedef struct Range {
	bool io;
	uint64_t start, end;	/* [start, end) */
} Range;

typedef struct Ranges {
	Range *v;
	unsigned n;
} Ranges;

static const Range *ranges_overlap(const Ranges *r, bool io, uint64_t start,
				   uint64_t end)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->v[i].io == io && start < r->v[i].end && r->v[i].start < end)
			return &r->v[i];
	return NULL;
}

static bool ranges_add(Ranges *r, bool io, uint64_t start, uint64_t end,
		       Error **errp)
{
	Range *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));

	if (!nv) {
		error_setg(errp, "out of memory");
		return false;
	}
	r->v = nv;
	r->v[r->n++] = (Range){ io, start, end };
	return true;
}

/* A first-fit allocator over one address window, around what is in use. */
typedef struct Window {
	const char *name;
	bool io;
	uint64_t base, limit;
} Window;

static bool window_alloc(const Window *w, const Ranges *used, uint64_t size,
			 uint64_t align, uint64_t *addr)
{
	uint64_t a = w->base;

	for (;;) {
		const Range *r;

		a = (a + align - 1) & ~(align - 1);
		if (a < w->base || a > w->limit || size > w->limit - a)
			return false;
		r = ranges_overlap(used, w->io, a, a + size);
		if (!r)
			break;
		a = r->end;
	}
	*addr = a;
	return true;
}

static const char *bar_name(unsigned idx, char buf[8])
{
	if (idx == SIM_ROM_SLOT)
		return "ROM";
	snprintf(buf, 8, "BAR%u", idx);
	return buf;
}

/*
 * BARs the model placed itself (a captured profile keeps the addresses of
 * the machine it came from) stay where they are unless they collide; the
 * others get the first free, size-aligned place in their window.
 */
static bool assign_bars(FvMachine *m, Error **errp)
{
	/* x86: I/O ports high in the 64K space, 32-bit MMIO below the
	 * IOAPIC, 64-bit prefetchable MMIO from 32 GiB. */
	const Window io = { "I/O", true, 0xc000, 0x10000 };
	const Window mem32 = { "32-bit memory", false, 0xe0000000, 0xfec00000 };
	const Window mem64 = { "64-bit memory", false, 0x800000000ull, 0x10000000000ull };
	Ranges used = { NULL, 0 };
	bool *kept = calloc(m->ndevs * (SIM_NUM_BARS + 1) + 1, sizeof(*kept));
	bool ok = kept != NULL;

	if (!kept)
		error_setg(errp, "out of memory");
	for (int pass = 0; ok && pass < 2; pass++) {
		for (unsigned i = 0; ok && i < m->ndevs; i++) {
			FvDevice *d = m->devs[i];

			for (unsigned idx = 0; ok && idx <= SIM_NUM_BARS; idx++) {
				SimBarInfo info;
				bool isio;
				const Window *w;
				uint64_t addr, align;
				char nb[8];

				if (!sim_bar_info(d->sim, idx, &info) || !info.size)
					continue;
				isio = info.type == SIM_BAR_IO;
				if (pass == 0) {
					/* Keep a placed BAR that collides with nothing. */
					if (info.addr &&
					    !ranges_overlap(&used, isio, info.addr, info.addr + info.size)) {
						kept[i * (SIM_NUM_BARS + 1) + idx] = true;
						ok = ranges_add(&used, isio, info.addr,
								info.addr + info.size, errp);
					}
					continue;
				}
				if (kept[i * (SIM_NUM_BARS + 1) + idx])
					continue;
				if (isio) {
					w = &io;
					align = info.size;
				} else {
					w = info.type == SIM_BAR_MEM64 && info.prefetch ? &mem64 : &mem32;
					align = info.size < 4096 ? 4096 : info.size;
				}
				if (!window_alloc(w, &used, info.size, align, &addr)) {
					error_setg(errp, "%s: no room for %s (0x%llx bytes) in the %s window",
						   d->bdf, bar_name(idx, nb),
						   (unsigned long long)info.size, w->name);
					ok = false;
					break;
				}
				ok = ranges_add(&used, isio, addr, addr + info.size, errp) &&
				     sim_bar_set_addr(d->sim, idx, addr, errp);
			}
		}
	}
	free(used.v);
	free(kept);
	return ok;
}

bool fv_machine_realize(FvMachine *m, Error **errp)
{
	int next = FV_GROUP_BASE;

	/* Explicit groups first, so default numbering can skip them. */
	for (unsigned i = 0; i < m->ndevs; i++) {
		FvDevice *d = m->devs[i];
		FvGroup *g;

		if (d->want_group < 0)
			continue;
		g = group_get(m, d->want_group, errp);
		if (!g || !group_add(g, d, errp))
			return false;
	}
	for (unsigned i = 0; i < m->ndevs; i++) {
		FvDevice *d = m->devs[i];
		FvGroup *g;

		if (d->want_group >= 0)
			continue;
		while (fv_machine_group(m, next))
			next++;
		g = group_get(m, next, errp);
		if (!g || !group_add(g, d, errp))
			return false;
	}
	if (!assign_bars(m, errp))
		return false;
	for (unsigned i = 0; i < m->ndevs; i++) {
		FvDevice *d = m->devs[i];
		uint32_t pin = 0;

		d->rom_enabled = sim_cfg_get(d->sim, PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_ENABLE;
		/* The legacy interrupt line, swizzled onto IOAPIC pins 16-19. */
		if (sim_cfg_read(d->sim, PCI_INTERRUPT_PIN, 1, &pin) == 0 &&
		    pin >= 1 && pin <= 4) {
			d->irq = 16 + (d->slot + pin - 1) % 4;
			sim_cfg_write(d->sim, PCI_INTERRUPT_LINE, 1, d->irq);
		}
	}
	return true;
}

char *fv_model_list(void)
{
	const SimModel *const *models = sim_models();
	size_t len = 1;
	char *s;

	for (unsigned i = 0; models[i]; i++)
		len += strlen(models[i]->name) + 2;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (unsigned i = 0; models[i]; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, models[i]->name);
	}
	return s;
}
