/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sim/model.c: model registry and "key=val,..." parameters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "sim.h"

typedef struct SimParam {
	char *key, *val;
	bool used;
} SimParam;

struct SimParams {
	SimParam *v;
	unsigned n;
};

void sim_params_free(SimParams *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].val);
	}
	free(p->v);
	free(p);
}

SimParams *sim_params_parse(const char *text, Error **errp)
{
	SimParams *p = calloc(1, sizeof(*p));
	const char *s = text ? text : "";

	if (!p) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	while (*s) {
		const char *end = strchr(s, ','), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		SimParam *nv;

		eq = memchr(s, '=', len);
		if (!len) {
			error_setg(errp, "empty parameter in '%s'", text);
			goto fail;
		}
		if (!eq || eq == s) {
			error_setg(errp, "parameter '%.*s' is not key=value", (int)len, s);
			goto fail;
		}
		for (unsigned i = 0; i < p->n; i++) {
			if (strlen(p->v[i].key) == (size_t)(eq - s) &&
			    !strncmp(p->v[i].key, s, (size_t)(eq - s))) {
				error_setg(errp, "parameter '%s' given twice", p->v[i].key);
				goto fail;
			}
		}
		nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
		if (!nv) {
			error_setg(errp, "out of memory");
			goto fail;
		}
		p->v = nv;
		nv[p->n].key = strndup(s, (size_t)(eq - s));
		nv[p->n].val = strndup(eq + 1, len - (size_t)(eq - s) - 1);
		nv[p->n].used = false;
		p->n++;
		if (!nv[p->n - 1].key || !nv[p->n - 1].val) {
			error_setg(errp, "out of memory");
			goto fail;
		}
		s += len;
		if (*s == ',') {
			s++;
			if (!*s) {
				error_setg(errp, "trailing ',' in '%s'", text);
				goto fail;
			}
		}
	}
	return p;
fail:
	sim_params_free(p);
	return NULL;
}

const char *sim_params_get(SimParams *p, const char *key)
{
	if (!p)
		return NULL;
	for (unsigned i = 0; i < p->n; i++) {
		if (!strcmp(p->v[i].key, key)) {
			p->v[i].used = true;
			return p->v[i].val;
		}
	}
	return NULL;
}

bool sim_params_get_u64(SimParams *p, const char *key, uint64_t def,
			uint64_t min, uint64_t max, uint64_t *out, Error **errp)
{
	const char *s = sim_params_get(p, key);
	unsigned long long v;
	char *end;

	if (!s) {
		*out = def;
		return true;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-') {
		error_setg(errp, "parameter %s=%s: not a number", key, s);
		return false;
	}
	if (v < min || v > max) {
		error_setg(errp, "parameter %s=%s: out of range 0x%llx..0x%llx", key, s,
			   (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

bool sim_params_get_bool(SimParams *p, const char *key, bool def, bool *out,
			 Error **errp)
{
	const char *s = sim_params_get(p, key);

	if (!s) {
		*out = def;
		return true;
	}
	if (!strcmp(s, "1") || !strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "0") || !strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false")) {
		*out = false;
		return true;
	}
	error_setg(errp, "parameter %s=%s: expected on/off, yes/no, true/false or 1/0", key, s);
	return false;
}

bool sim_params_check_used(SimParams *p, const char *model, Error **errp)
{
	if (!p)
		return true;
	for (unsigned i = 0; i < p->n; i++) {
		if (!p->v[i].used) {
			error_setg(errp, "model %s has no parameter '%s'", model, p->v[i].key);
			return false;
		}
	}
	return true;
}

static const SimModel *const models[] = {
	&sim_model_chelsio_t5_vf,
	&sim_model_dma_test,
	&sim_model_profile,
	NULL,
};

const SimModel *const *sim_models(void)
{
	return models;
}

const SimModel *sim_model_find(const char *name)
{
	for (unsigned i = 0; models[i]; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

SimDevice *sim_model_create(const char *model, const char *name,
			    const char *params, Error **errp)
{
	const SimModel *m = sim_model_find(model);
	SimParams *p;
	SimDevice *dev;

	if (!m) {
		char list[256] = "";

		for (unsigned i = 0; models[i]; i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, models[i]->name, sizeof(list) - strlen(list) - 1);
		}
		error_setg(errp, "unknown device model '%s' (known: %s)", model, list);
		return NULL;
	}
	p = sim_params_parse(params, errp);
	if (!p) {
		error_prepend(errp, "%s: ", model);
		return NULL;
	}
	dev = m->create(name, p, errp);
	if (dev && !sim_params_check_used(p, model, errp)) {
		sim_device_free(dev);
		dev = NULL;
	}
	if (dev && !sim_device_realized(dev) && !sim_device_realize(dev, errp)) {
		sim_device_free(dev);
		dev = NULL;
	}
	sim_params_free(p);
	return dev;
}
