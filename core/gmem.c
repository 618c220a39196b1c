/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gmem: regions, flat views, listeners, guest accesses.  See gmem.h.
 */
#include "gmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/trace.h"

struct GFlatRange {
	uint64_t addr;
	uint64_t size;
	GMemRegion *mr;
	uint64_t offset;
	bool readonly;
};

typedef struct FlatView {
	GFlatRange *r;
	size_t n, cap;
	bool oom;
} FlatView;

/* Deepest nesting of containers/aliases/IOMMUs we follow (cycle guard). */
#define GMEM_MAX_DEPTH 32

static GAddressSpace *as_list;
static unsigned txn_depth;
static bool update_pending;
static bool updating;

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* a + b, saturated at UINT64_MAX */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------------ */
/* regions                                                              */

static void region_init(GMemRegion *mr, const char *name, uint64_t size,
			GMemRegionKind kind)
{
	memset(mr, 0, sizeof(*mr));
	snprintf(mr->name, sizeof(mr->name), "%s", name ? name : "");
	mr->kind = kind;
	mr->size = size;
	mr->enabled = true;
}

void gmem_region_init_container(GMemRegion *mr, const char *name, uint64_t size)
{
	region_init(mr, name, size, GMEM_CONTAINER);
}

bool gmem_region_init_ram(GMemRegion *mr, const char *name, uint64_t size,
			  Error **errp)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pg = page > 0 ? (uint64_t)page : 4096;
	uint64_t map, align, head;
	void *p;

	if (!size || size > UINT64_MAX - pg || (map = (size + pg - 1) & ~(pg - 1)) > SIZE_MAX) {
		error_setg(errp, "gmem: invalid RAM size 0x%llx for %s",
			   (unsigned long long)size, name ? name : "");
		return false;
	}
	/*
	 * Aligned to the largest power of two up to GMEM_RAM_ALIGN that the
	 * size allows, whatever the kernel's huge-page setting: an IOMMU page
	 * (a sPAPR window of 64 KiB or 16 MiB pages) must be backed by host
	 * memory aligned to it, as QEMU's RAM blocks are.
	 */
	align = GMEM_RAM_ALIGN;
	while (align > pg && align > map)
		align >>= 1;
	if (map > SIZE_MAX - align) {
		error_setg(errp, "gmem: invalid RAM size 0x%llx for %s",
			   (unsigned long long)size, name ? name : "");
		return false;
	}
	p = mmap(NULL, (size_t)(map + align - pg), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		error_setg_errno(errp, errno,
				 "gmem: cannot allocate 0x%llx bytes of RAM for %s",
				 (unsigned long long)size, name ? name : "");
		return false;
	}
	head = (uintptr_t)p & (align - 1) ? align - ((uintptr_t)p & (align - 1)) : 0;
	if (head)
		munmap(p, (size_t)head);
	if (align - pg - head)
		munmap((char *)p + head + map, (size_t)(align - pg - head));
	p = (char *)p + head;
	region_init(mr, name, size, GMEM_RAM);
	mr->ram = p;
	mr->ram_map_size = (size_t)map;
	return true;
}

void gmem_region_init_ram_ptr(GMemRegion *mr, const char *name, uint64_t size,
			      void *host)
{
	region_init(mr, name, size, GMEM_RAM);
	mr->ram = host;
}

void gmem_region_init_io(GMemRegion *mr, const char *name, uint64_t size,
			 const GMemOps *ops, void *opaque)
{
	region_init(mr, name, size, GMEM_IO);
	mr->ops = ops;
	mr->opaque = opaque;
}

bool gmem_region_init_alias(GMemRegion *mr, const char *name,
			    GMemRegion *target, uint64_t offset, uint64_t size,
			    Error **errp)
{
	if (!target || target == mr) {
		error_setg(errp, "gmem: alias %s has no target", name ? name : "");
		return false;
	}
	if (offset > target->size || size > target->size - offset) {
		error_setg(errp, "gmem: alias %s [0x%llx, +0x%llx) is outside %s (size 0x%llx)",
			   name ? name : "", (unsigned long long)offset,
			   (unsigned long long)size, target->name,
			   (unsigned long long)target->size);
		return false;
	}
	region_init(mr, name, size, GMEM_ALIAS);
	mr->alias = target;
	mr->alias_offset = offset;
	mr->alias_next = target->alias_users;
	target->alias_users = mr;
	return true;
}

void gmem_region_init_iommu(GMemRegion *mr, const char *name, uint64_t size,
			    const GIommuOps *ops, void *opaque)
{
	region_init(mr, name, size, GMEM_IOMMU);
	mr->iommu_ops = ops;
	mr->opaque = opaque;
}

/* ------------------------------------------------------------------ */
/* flattening                                                           */

static bool view_insert(FlatView *v, size_t at, const GFlatRange *fr)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		GFlatRange *r = realloc(v->r, cap * sizeof(*r));

		if (!r) {
			v->oom = true;
			return false;
		}
		v->r = r;
		v->cap = cap;
	}
	memmove(&v->r[at + 1], &v->r[at], (v->n - at) * sizeof(*fr));
	v->r[at] = *fr;
	v->n++;
	return true;
}

/* Fill the holes of [cs, ce) with mr; origin is where mr's offset 0 lies. */
static void render_leaf(FlatView *v, GMemRegion *mr, uint64_t origin,
			uint64_t cs, uint64_t ce, bool ro)
{
	size_t i = 0;
	uint64_t pos = cs;

	while (i < v->n && v->r[i].addr + v->r[i].size <= cs)
		i++;
	while (pos < ce) {
		GFlatRange fr;
		uint64_t gap_end;

		if (i < v->n && v->r[i].addr <= pos) {
			pos = max_u64(pos, v->r[i].addr + v->r[i].size);
			i++;
			continue;
		}
		gap_end = i < v->n ? min_u64(v->r[i].addr, ce) : ce;
		fr.addr = pos;
		fr.size = gap_end - pos;
		fr.mr = mr;
		fr.offset = pos - origin;
		fr.readonly = ro;
		if (!view_insert(v, i, &fr))
			return;
		i++;
		pos = gap_end;
	}
}

/*
 * Render mr, whose offset 0 lies at absolute address origin (modulo 2^64),
 * clipped to the absolute range [cs, ce); the clip lies inside mr.
 */
static void render(FlatView *v, GMemRegion *mr, uint64_t origin,
		   uint64_t cs, uint64_t ce, bool ro, unsigned depth)
{
	GMemRegion *sub;

	if (depth > GMEM_MAX_DEPTH || cs >= ce)
		return;
	ro |= mr->readonly;
	if (mr->kind == GMEM_ALIAS) {
		GMemRegion *t = mr->alias;
		uint64_t ls, le;

		if (!t || !t->enabled)
			return;
		/* Clip in the target's coordinates. */
		ls = sat_add(cs - origin, mr->alias_offset);
		le = min_u64(sat_add(ce - origin, mr->alias_offset), t->size);
		if (ls >= le)
			return;
		origin = origin - mr->alias_offset;
		render(v, t, origin, ls + origin, le + origin, ro, depth + 1);
		return;
	}
	for (sub = mr->subregions; sub; sub = sub->sibling) {
		uint64_t ls = cs - origin, le = ce - origin;

		if (!sub->enabled)
			continue;
		ls = max_u64(ls, sub->addr);
		le = min_u64(le, sat_add(sub->addr, sub->size));
		if (ls >= le)
			continue;
		render(v, sub, origin + sub->addr, ls + origin, le + origin, ro,
		       depth + 1);
	}
	if (mr->kind != GMEM_CONTAINER)
		render_leaf(v, mr, origin, cs, ce, ro);
}

static bool can_merge(const GFlatRange *a, const GFlatRange *b)
{
	return a->mr == b->mr && a->addr + a->size == b->addr &&
	       a->offset + a->size == b->offset && a->readonly == b->readonly;
}

static void view_simplify(FlatView *v)
{
	size_t i = 0, j;

	while (i < v->n) {
		j = i + 1;
		while (j < v->n && can_merge(&v->r[i], &v->r[j])) {
			v->r[i].size += v->r[j].size;
			j++;
		}
		if (j > i + 1) {
			memmove(&v->r[i + 1], &v->r[j], (v->n - j) * sizeof(v->r[0]));
			v->n -= j - i - 1;
		}
		i++;
	}
}

static void view_build(FlatView *v, GMemRegion *root)
{
	memset(v, 0, sizeof(*v));
	if (root && root->enabled && root->size)
		render(v, root, 0, 0, root->size, false, 0);
	view_simplify(v);
}

static bool range_equal(const GFlatRange *a, const GFlatRange *b)
{
	return a->mr == b->mr && a->addr == b->addr && a->size == b->size &&
	       a->offset == b->offset && a->readonly == b->readonly;
}

static void make_section(GAddressSpace *as, const GFlatRange *fr, GMemSection *s)
{
	s->mr = fr->mr;
	s->as = as;
	s->offset_within_address_space = fr->addr;
	s->size = fr->size;
	s->offset_within_region = fr->offset;
	s->readonly = fr->readonly;
	s->is_ram = fr->mr->kind == GMEM_RAM;
	s->is_iommu = fr->mr->kind == GMEM_IOMMU;
	s->host = s->is_ram && fr->mr->ram ? (uint8_t *)fr->mr->ram + fr->offset : NULL;
}

/* ------------------------------------------------------------------ */
/* listeners                                                            */

static GMemListener *listener_prev(GAddressSpace *as, GMemListener *l)
{
	GMemListener *p;

	for (p = as->listeners; p && p->next != l; p = p->next)
		;
	return p;
}

static void call_add(GAddressSpace *as, const GFlatRange *fr)
{
	GMemSection s;
	GMemListener *l;

	make_section(as, fr, &s);
	trace_core_mem_region_add(as->name, s.offset_within_address_space, s.size,
				  fr->mr->name, s.offset_within_region);
	for (l = as->listeners; l; l = l->next)
		if (l->region_add)
			l->region_add(l, &s);
}

static void call_del(GAddressSpace *as, const GFlatRange *fr)
{
	GMemSection s;
	GMemListener *l;

	make_section(as, fr, &s);
	trace_core_mem_region_del(as->name, s.offset_within_address_space, s.size,
				  fr->mr->name, s.offset_within_region);
	/* Reverse order: walk back from the tail. */
	for (l = listener_prev(as, NULL); l; l = listener_prev(as, l))
		if (l->region_del)
			l->region_del(l, &s);
}

static void call_begin(GAddressSpace *as)
{
	GMemListener *l;

	for (l = as->listeners; l; l = l->next)
		if (l->begin)
			l->begin(l);
}

static void call_commit(GAddressSpace *as)
{
	GMemListener *l;

	for (l = as->listeners; l; l = l->next)
		if (l->commit)
			l->commit(l);
}

static void as_update(GAddressSpace *as)
{
	FlatView nv;
	GFlatRange *old = as->ranges;
	size_t nold = as->nranges, io, in;
	bool changed;

	view_build(&nv, as->root);
	if (nv.oom) {
		/* Keep the old view rather than publish half of one. */
		free(nv.r);
		return;
	}
	changed = nold != nv.n;
	for (io = 0; !changed && io < nold; io++)
		changed = !range_equal(&old[io], &nv.r[io]);
	if (!changed) {
		free(nv.r);
		return;
	}
	as->ranges = nv.r;
	as->nranges = nv.n;
	trace_core_mem_update(as->name, (unsigned)nv.n);

	call_begin(as);
	/* Pass 1: what went away (or changed). */
	for (io = in = 0; io < nold || in < nv.n;) {
		const GFlatRange *o = io < nold ? &old[io] : NULL;
		const GFlatRange *n = in < nv.n ? &nv.r[in] : NULL;

		if (o && (!n || o->addr < n->addr ||
			  (o->addr == n->addr && !range_equal(o, n)))) {
			call_del(as, o);
			io++;
		} else if (o && n && range_equal(o, n)) {
			io++;
			in++;
		} else {
			in++;
		}
	}
	/* Pass 2: what appeared. */
	for (io = in = 0; io < nold || in < nv.n;) {
		const GFlatRange *o = io < nold ? &old[io] : NULL;
		const GFlatRange *n = in < nv.n ? &nv.r[in] : NULL;

		if (o && (!n || o->addr < n->addr ||
			  (o->addr == n->addr && !range_equal(o, n)))) {
			io++;
		} else if (o && n && range_equal(o, n)) {
			io++;
			in++;
		} else {
			call_add(as, n);
			in++;
		}
	}
	call_commit(as);
	free(old);
}

static void update_all(void)
{
	GAddressSpace *as;

	updating = true;
	do {
		update_pending = false;
		for (as = as_list; as; as = as->next)
			as_update(as);
	} while (update_pending);
	updating = false;
}

static void topology_changed(void)
{
	if (txn_depth || updating) {
		update_pending = true;
		return;
	}
	update_all();
}

void gmem_transaction_begin(void)
{
	txn_depth++;
}

void gmem_transaction_commit(void)
{
	if (!txn_depth)
		return;
	if (--txn_depth == 0 && update_pending && !updating)
		update_all();
}

/* ------------------------------------------------------------------ */
/* tree edits                                                           */

static void link_subregion(GMemRegion *container, GMemRegion *sub)
{
	GMemRegion **pp;

	/* In front of the first sibling it beats or ties. */
	for (pp = &container->subregions; *pp; pp = &(*pp)->sibling)
		if (sub->priority >= (*pp)->priority)
			break;
	sub->sibling = *pp;
	*pp = sub;
	sub->container = container;
}

static void unlink_subregion(GMemRegion *container, GMemRegion *sub)
{
	GMemRegion **pp;

	for (pp = &container->subregions; *pp; pp = &(*pp)->sibling) {
		if (*pp == sub) {
			*pp = sub->sibling;
			sub->sibling = NULL;
			sub->container = NULL;
			return;
		}
	}
}

bool gmem_region_add_subregion_overlap(GMemRegion *container, uint64_t offset,
				       GMemRegion *sub, int priority,
				       Error **errp)
{
	GMemRegion *a;

	if (!container || !sub) {
		error_setg(errp, "gmem: no region to add");
		return false;
	}
	if (sub->container) {
		error_setg(errp, "gmem: %s is already in %s", sub->name,
			   sub->container->name);
		return false;
	}
	if (container->kind == GMEM_ALIAS) {
		error_setg(errp, "gmem: cannot add %s to alias %s", sub->name,
			   container->name);
		return false;
	}
	for (a = container; a; a = a->container) {
		if (a == sub) {
			error_setg(errp, "gmem: adding %s to %s would make a loop",
				   sub->name, container->name);
			return false;
		}
	}
	sub->addr = offset;
	sub->priority = priority;
	link_subregion(container, sub);
	topology_changed();
	return true;
}

bool gmem_region_add_subregion(GMemRegion *container, uint64_t offset,
			       GMemRegion *sub, Error **errp)
{
	return gmem_region_add_subregion_overlap(container, offset, sub, 0, errp);
}

void gmem_region_del_subregion(GMemRegion *container, GMemRegion *sub)
{
	if (!container || !sub || sub->container != container)
		return;
	unlink_subregion(container, sub);
	topology_changed();
}

void gmem_region_set_enabled(GMemRegion *mr, bool enabled)
{
	if (mr->enabled == enabled)
		return;
	mr->enabled = enabled;
	topology_changed();
}

void gmem_region_set_address(GMemRegion *mr, uint64_t addr)
{
	GMemRegion *c = mr->container;

	if (addr == mr->addr)
		return;
	mr->addr = addr;
	if (c) {
		unlink_subregion(c, mr);
		link_subregion(c, mr);
	}
	topology_changed();
}

void gmem_region_set_readonly(GMemRegion *mr, bool readonly)
{
	if (mr->readonly == readonly)
		return;
	mr->readonly = readonly;
	topology_changed();
}

void gmem_region_set_alias_offset(GMemRegion *mr, uint64_t offset)
{
	if (mr->kind != GMEM_ALIAS || mr->alias_offset == offset)
		return;
	mr->alias_offset = offset;
	topology_changed();
}

void gmem_region_destroy(GMemRegion *mr)
{
	GAddressSpace *as;
	GIommuNotifier *n;

	if (!mr)
		return;
	gmem_transaction_begin();
	if (mr->container)
		gmem_region_del_subregion(mr->container, mr);
	while (mr->subregions)
		unlink_subregion(mr, mr->subregions);
	while (mr->alias_users) {
		GMemRegion *a = mr->alias_users;

		mr->alias_users = a->alias_next;
		a->alias = NULL;
		a->alias_next = NULL;
	}
	if (mr->kind == GMEM_ALIAS && mr->alias) {
		GMemRegion **pp;

		for (pp = &mr->alias->alias_users; *pp; pp = &(*pp)->alias_next) {
			if (*pp == mr) {
				*pp = mr->alias_next;
				break;
			}
		}
		mr->alias = NULL;
	}
	while ((n = mr->notifiers)) {
		mr->notifiers = n->next;
		n->iommu = NULL;
		n->next = NULL;
	}
	for (as = as_list; as; as = as->next)
		if (as->root == mr)
			as->root = NULL;
	update_pending = true;
	txn_depth--;
	/* No view may keep pointing at mr once we return. */
	if (!updating)
		update_all();
	if (mr->ram_map_size)
		munmap(mr->ram, mr->ram_map_size);
	mr->ram = NULL;
	mr->ram_map_size = 0;
	mr->kind = GMEM_CONTAINER;
	mr->size = 0;
}

/* ------------------------------------------------------------------ */
/* address spaces                                                       */

void gmem_as_init(GAddressSpace *as, GMemRegion *root, const char *name)
{
	GAddressSpace **pp;
	FlatView v;

	memset(as, 0, sizeof(*as));
	snprintf(as->name, sizeof(as->name), "%s", name ? name : "");
	as->root = root;
	view_build(&v, root);
	as->ranges = v.r;
	as->nranges = v.n;
	as->live = true;
	for (pp = &as_list; *pp; pp = &(*pp)->next)
		;
	*pp = as;
}

void gmem_as_destroy(GAddressSpace *as)
{
	GAddressSpace **pp;

	if (!as || !as->live)
		return;
	while (as->listeners)
		gmem_listener_unregister(as->listeners);
	for (pp = &as_list; *pp; pp = &(*pp)->next) {
		if (*pp == as) {
			*pp = as->next;
			break;
		}
	}
	free(as->ranges);
	as->ranges = NULL;
	as->nranges = 0;
	as->root = NULL;
	as->live = false;
}

size_t gmem_as_section_count(const GAddressSpace *as)
{
	return as->nranges;
}

bool gmem_as_section(GAddressSpace *as, size_t i, GMemSection *out)
{
	if (i >= as->nranges)
		return false;
	make_section(as, &as->ranges[i], out);
	return true;
}

/* Index of the first range ending after addr. */
static size_t as_lookup(const GAddressSpace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const GFlatRange *r = &as->ranges[mid];

		if (r->addr + r->size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool gmem_as_find(GAddressSpace *as, uint64_t addr, GMemSection *out)
{
	size_t i = as_lookup(as, addr);

	if (i >= as->nranges || as->ranges[i].addr > addr)
		return false;
	make_section(as, &as->ranges[i], out);
	return true;
}

/* Sorted by priority; equal priorities in registration order. */
static void listener_insert(GMemListener **head, GMemListener *l)
{
	GMemListener **pp;

	for (pp = head; *pp && (*pp)->priority <= l->priority; pp = &(*pp)->next)
		;
	l->next = *pp;
	*pp = l;
}

bool gmem_listener_register(GMemListener *l, GAddressSpace *as, Error **errp)
{
	size_t i;

	if (!as || !as->live) {
		error_setg(errp, "gmem: no address space for the listener");
		return false;
	}
	if (l->as) {
		error_setg(errp, "gmem: listener already registered on %s", l->as->name);
		return false;
	}
	if (!l->region_add && !l->region_del) {
		error_setg(errp, "gmem: listener has no region callbacks");
		return false;
	}
	l->as = as;
	listener_insert(&as->listeners, l);
	/* Replay the current view to this listener alone. */
	if (l->begin)
		l->begin(l);
	for (i = 0; i < as->nranges; i++) {
		GMemSection s;

		make_section(as, &as->ranges[i], &s);
		if (l->region_add)
			l->region_add(l, &s);
	}
	if (l->commit)
		l->commit(l);
	return true;
}

void gmem_listener_unregister(GMemListener *l)
{
	GAddressSpace *as = l ? l->as : NULL;
	GMemListener **pp;
	size_t i;

	if (!as)
		return;
	if (l->begin)
		l->begin(l);
	for (i = as->nranges; i-- > 0;) {
		GMemSection s;

		make_section(as, &as->ranges[i], &s);
		if (l->region_del)
			l->region_del(l, &s);
	}
	if (l->commit)
		l->commit(l);
	for (pp = &as->listeners; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	l->next = NULL;
	l->as = NULL;
}

/* ------------------------------------------------------------------ */
/* translation and accesses                                             */

static GMemRegion *translate(GAddressSpace *as, uint64_t addr, bool is_write,
			     uint64_t *xlat, uint64_t *plen, bool *denied,
			     bool *ro)
{
	unsigned depth;

	if (denied)
		*denied = false;
	if (ro)
		*ro = false;
	for (depth = 0; as && depth <= GMEM_MAX_DEPTH; depth++) {
		size_t i = as_lookup(as, addr);
		const GFlatRange *r;
		GIommuTlbEntry e;
		uint64_t off, a2, room;

		if (i >= as->nranges || as->ranges[i].addr > addr) {
			if (i < as->nranges)
				*plen = min_u64(*plen, as->ranges[i].addr - addr);
			return NULL;
		}
		r = &as->ranges[i];
		off = addr - r->addr;
		*plen = min_u64(*plen, r->size - off);
		*xlat = r->offset + off;
		if (ro)
			*ro = r->readonly;
		if (r->mr->kind != GMEM_IOMMU)
			return r->mr;
		e = gmem_iommu_translate(r->mr, *xlat, is_write);
		a2 = (e.translated_addr & ~e.addr_mask) | (*xlat & e.addr_mask);
		room = (a2 | e.addr_mask) - a2 + 1;
		if (room)	/* 0: the whole 2^64 space */
			*plen = min_u64(*plen, room);
		if (!(e.perm & (is_write ? GIOMMU_WO : GIOMMU_RO)) || !e.target_as) {
			if (denied)
				*denied = true;
			return NULL;
		}
		as = e.target_as;
		addr = a2;
	}
	if (denied)
		*denied = true;
	return NULL;
}

GMemRegion *gmem_translate(GAddressSpace *as, uint64_t addr, bool is_write,
			   uint64_t *xlat, uint64_t *plen, bool *denied)
{
	return translate(as, addr, is_write, xlat, plen, denied, NULL);
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static void put_le(uint8_t *p, unsigned n, uint64_t v)
{
	unsigned i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static unsigned ops_size(unsigned v, unsigned dflt)
{
	return v == 1 || v == 2 || v == 4 || v == 8 ? v : dflt;
}

/* One valid access of sz bytes at off, in the callbacks' sizes. */
static void io_dispatch(GMemRegion *mr, uint64_t off, uint8_t *p, unsigned sz,
			bool is_write)
{
	const GMemOps *ops = mr->ops;
	unsigned imin = ops_size(ops->impl_min, 1);
	unsigned imax = ops_size(ops->impl_max, 4);
	unsigned a = sz < imin ? imin : sz > imax ? imax : sz;
	unsigned i;

	if (imin > imax)
		a = imax;
	if (a < sz) {
		for (i = 0; i < sz; i += a)
			io_dispatch(mr, off + i, p + i, a, is_write);
		return;
	}
	if (a > sz) {
		/* Widen to the aligned impl_min word around the access. */
		uint64_t base = off & ~(uint64_t)(a - 1);
		uint8_t w[8];
		unsigned at = (unsigned)(off - base);

		put_le(w, a, ops->read ? ops->read(mr->opaque, base, a) : ~0ull);
		if (!is_write) {
			memcpy(p, w + at, sz);
			return;
		}
		memcpy(w + at, p, sz);
		if (ops->write)
			ops->write(mr->opaque, base, get_le(w, a), a);
		return;
	}
	if (is_write) {
		if (ops->write)
			ops->write(mr->opaque, off, get_le(p, sz), sz);
	} else {
		put_le(p, sz, ops->read ? ops->read(mr->opaque, off, sz) : ~0ull);
	}
}

static unsigned io_access(GMemRegion *mr, uint64_t off, uint8_t *p, uint64_t l,
			  bool is_write)
{
	const GMemOps *ops = mr->ops;
	unsigned vmin = ops ? ops_size(ops->valid_min, 1) : 1;
	unsigned vmax = ops ? ops_size(ops->valid_max, 4) : 4;
	unsigned res = GMEM_OK;

	while (l) {
		unsigned sz = vmax;

		/* Naturally aligned, a power of two, within what is left. */
		while (sz > 1 && ((off & (sz - 1)) || sz > l))
			sz >>= 1;
		if (!ops || sz < vmin) {
			res |= GMEM_BAD_ACCESS;
			trace_core_mem_bad_access(mr->name, off, sz, is_write);
			if (!is_write)
				memset(p, 0xff, sz);
		} else {
			io_dispatch(mr, off, p, sz, is_write);
		}
		off += sz;
		p += sz;
		l -= sz;
	}
	return res;
}

unsigned gmem_rw(GAddressSpace *as, uint64_t addr, void *buf, uint64_t len,
		 bool is_write)
{
	uint8_t *p = buf;
	unsigned res = GMEM_OK;

	while (len) {
		uint64_t xlat = 0, l = len;
		bool denied, ro;
		GMemRegion *mr = translate(as, addr, is_write, &xlat, &l, &denied, &ro);

		if (!l)		/* cannot happen; never loop forever */
			l = len;
		if (!mr) {
			res |= denied ? GMEM_DENIED : GMEM_UNASSIGNED;
			trace_core_mem_unassigned(as->name, addr, l, is_write);
			if (!is_write)
				memset(p, 0xff, l);
		} else if (mr->kind == GMEM_RAM) {
			if (!mr->ram) {
				res |= GMEM_UNASSIGNED;
				if (!is_write)
					memset(p, 0xff, l);
			} else if (!is_write) {
				memcpy(p, (uint8_t *)mr->ram + xlat, l);
			} else if (ro) {
				res |= GMEM_READONLY;
			} else {
				memcpy((uint8_t *)mr->ram + xlat, p, l);
			}
		} else {
			res |= io_access(mr, xlat, p, l, is_write);
		}
		p += l;
		addr += l;
		len -= l;
	}
	return res;
}

unsigned gmem_read_val(GAddressSpace *as, uint64_t addr, unsigned size,
		       uint64_t *val)
{
	uint8_t b[8];
	unsigned res;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		*val = ~0ull;
		return GMEM_BAD_ACCESS;
	}
	res = gmem_rw(as, addr, b, size, false);
	*val = get_le(b, size);
	return res;
}

unsigned gmem_write_val(GAddressSpace *as, uint64_t addr, unsigned size,
			uint64_t val)
{
	uint8_t b[8];

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return GMEM_BAD_ACCESS;
	put_le(b, size, val);
	return gmem_rw(as, addr, b, size, true);
}

/* ------------------------------------------------------------------ */
/* IOMMU                                                                */

void gmem_iommu_notifier_init(GIommuNotifier *n,
			      void (*notify)(GIommuNotifier *, const GIommuTlbEntry *),
			      unsigned flags, uint64_t start, uint64_t last,
			      void *opaque)
{
	memset(n, 0, sizeof(*n));
	n->notify = notify;
	n->flags = flags & GIOMMU_NOTIFY_ALL;
	n->start = start;
	n->last = last;
	n->opaque = opaque;
}

bool gmem_iommu_register_notifier(GMemRegion *iommu, GIommuNotifier *n,
				  Error **errp)
{
	GIommuNotifier **pp;

	if (!iommu || iommu->kind != GMEM_IOMMU) {
		error_setg(errp, "gmem: %s is not an IOMMU region",
			   iommu ? iommu->name : "(null)");
		return false;
	}
	if (n->iommu) {
		error_setg(errp, "gmem: notifier already registered on %s",
			   n->iommu->name);
		return false;
	}
	if (!n->notify || !n->flags || n->start > n->last) {
		error_setg(errp, "gmem: invalid IOMMU notifier for %s", iommu->name);
		return false;
	}
	for (pp = &iommu->notifiers; *pp; pp = &(*pp)->next)
		;
	*pp = n;
	n->next = NULL;
	n->iommu = iommu;
	return true;
}

void gmem_iommu_unregister_notifier(GIommuNotifier *n)
{
	GIommuNotifier **pp;

	if (!n || !n->iommu)
		return;
	for (pp = &n->iommu->notifiers; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	n->iommu = NULL;
	n->next = NULL;
}

unsigned gmem_iommu_notifier_count(const GMemRegion *iommu)
{
	const GIommuNotifier *n;
	unsigned c = 0;

	for (n = iommu->notifiers; n; n = n->next)
		c++;
	return c;
}

static void notify_one(GIommuNotifier *n, const GIommuTlbEntry *e)
{
	unsigned want = e->perm == GIOMMU_NONE ? GIOMMU_NOTIFY_UNMAP : GIOMMU_NOTIFY_MAP;
	uint64_t last = e->iova | e->addr_mask;

	if (!(n->flags & want) || e->iova > n->last || last < n->start)
		return;
	n->notify(n, e);
}

void gmem_iommu_notify(GMemRegion *iommu, const GIommuTlbEntry *entry)
{
	GIommuNotifier *n, *next;

	if (!iommu || iommu->kind != GMEM_IOMMU)
		return;
	trace_core_iommu_notify(iommu->name, entry->iova, entry->translated_addr,
				entry->addr_mask, (unsigned)entry->perm);
	for (n = iommu->notifiers; n; n = next) {
		next = n->next;	/* a notifier may unregister itself */
		notify_one(n, entry);
	}
}

GIommuTlbEntry gmem_iommu_translate(GMemRegion *iommu, uint64_t addr,
				    bool is_write)
{
	GIommuTlbEntry none = { .iova = addr, .perm = GIOMMU_NONE };

	if (!iommu || iommu->kind != GMEM_IOMMU || !iommu->iommu_ops ||
	    !iommu->iommu_ops->translate)
		return none;
	return iommu->iommu_ops->translate(iommu, addr, is_write, iommu->opaque);
}

void gmem_iommu_replay(GMemRegion *iommu, GIommuNotifier *n,
		       uint64_t granularity)
{
	uint64_t a, end;

	if (!iommu || iommu->kind != GMEM_IOMMU || !n || !n->notify)
		return;
	if (iommu->iommu_ops && iommu->iommu_ops->replay) {
		iommu->iommu_ops->replay(iommu, n, iommu->opaque);
		return;
	}
	if (!granularity || (granularity & (granularity - 1)) || !iommu->size)
		return;
	end = min_u64(iommu->size - 1, n->last);
	for (a = n->start & ~(granularity - 1); a <= end; a += granularity) {
		GIommuTlbEntry e = gmem_iommu_translate(iommu, a, false);

		if (e.perm != GIOMMU_NONE)
			notify_one(n, &e);
		if (a + granularity < a)
			break;
	}
}
