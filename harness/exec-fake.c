/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec-fake: what the executor asks fakevfio (docs/fakevfio.md):
 * requests on the control socket at $FAKEVFIO_CONTROL (one connection,
 * kept open), the event log read incrementally (expect.iommu-fault,
 * expect.event), the DMA mappings (expect.dma-map) and the operation
 * trace file (expect.trace, and the trace tail of a failure).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness/exec-int.h"

/* ---- the control socket ---- */

static bool ctl_connect(HxExec *ex)
{
	const char *path = getenv("FAKEVFIO_CONTROL");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!path || !*path)
		return hx_fail(ex, "no fakevfio control socket ($FAKEVFIO_CONTROL is not set: "
			       "run under fakevfio run)");
	if (strlen(path) >= sizeof(sa.sun_path))
		return hx_fail(ex, "$FAKEVFIO_CONTROL is too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ex->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ex->ctl_fd < 0)
		return hx_fail(ex, "control socket: %s", strerror(errno));
	if (connect(ex->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(ex->ctl_fd);
		ex->ctl_fd = -1;
		return hx_fail(ex, "cannot connect to fakevfio's control socket %s: %s", path,
			       strerror(e));
	}
	return true;
}

void hx_control_close(HxExec *ex)
{
	if (ex->ctl_fd >= 0)
		close(ex->ctl_fd);
	ex->ctl_fd = -1;
}

static void ans_add(HxExec *ex, const char *line, size_t n)
{
	if (ex->anslen + n + 2 > ex->anscap) {
		size_t cap = (ex->anslen + n + 2) * 2;
		char *p = realloc(ex->ans, cap);

		if (!p)
			abort();
		ex->ans = p;
		ex->anscap = cap;
	}
	memcpy(ex->ans + ex->anslen, line, n);
	ex->anslen += n;
	ex->ans[ex->anslen++] = '\n';
	ex->ans[ex->anslen] = 0;
}

/* The longest answer line taken from fakevfio (a longer one fails the
 * statement instead of growing the buffer without end). */
#define HX_CTL_LINE_MAX (16u << 20)

/* One line from the socket into line (NUL-terminated, no '\n'). */
static bool ctl_line(HxExec *ex, char **line, size_t *n)
{
	char *nl;

	if (ex->rcons) {
		memmove(ex->rbuf, ex->rbuf + ex->rcons, ex->rlen - ex->rcons);
		ex->rlen -= ex->rcons;
		ex->rcons = 0;
	}
	for (;;) {
		ssize_t r;

		nl = ex->rbuf ? memchr(ex->rbuf, '\n', ex->rlen) : NULL;
		if (nl) {
			*nl = 0;
			*line = ex->rbuf;
			*n = (size_t)(nl - ex->rbuf);
			if (*n && ex->rbuf[*n - 1] == '\r')
				ex->rbuf[--*n] = 0;
			ex->rcons = (size_t)(nl - ex->rbuf) + 1;
			return true;
		}
		if (ex->rlen >= HX_CTL_LINE_MAX)
			return hx_fail(ex, "fakevfio's control socket: an answer line longer than "
				       "%u bytes", HX_CTL_LINE_MAX);
		if (ex->rlen + 4096 > ex->rcap) {
			size_t cap = ex->rcap ? ex->rcap * 2 : 65536;
			char *p = realloc(ex->rbuf, cap);

			if (!p)
				abort();
			ex->rbuf = p;
			ex->rcap = cap;
		}
		r = read(ex->ctl_fd, ex->rbuf + ex->rlen, ex->rcap - ex->rlen - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return hx_fail(ex, "fakevfio's control socket: %s",
				       r < 0 ? strerror(errno) : "closed by fakevfio");
		ex->rlen += (size_t)r;
	}
}

bool hx_control(HxExec *ex, const char *req, int *err)
{
	size_t len = strlen(req), off = 0;

	*err = 0;
	ex->anslen = 0;
	ans_add(ex, "", 0);
	ex->anslen = 0;
	ex->ans[0] = 0;
	ex->final[0] = 0;
	if (ex->ctl_fd < 0 && !ctl_connect(ex))
		return false;
	if (memchr(req, '\n', len))
		return hx_fail(ex, "a control request is one line");
	{
		char *msg = malloc(len + 2);

		if (!msg)
			abort();
		memcpy(msg, req, len);
		msg[len] = '\n';
		while (off < len + 1) {
			ssize_t w = write(ex->ctl_fd, msg + off, len + 1 - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				free(msg);
				return hx_fail(ex, "fakevfio's control socket: %s", strerror(errno));
			}
			off += (size_t)w;
		}
		free(msg);
	}
	for (;;) {
		char *line = NULL;
		size_t n = 0;

		if (!ctl_line(ex, &line, &n))
			return false;
		if (!strcmp(line, "ok")) {
			snprintf(ex->final, sizeof(ex->final), "ok");
			return true;
		}
		if (!strncmp(line, "error ", 6)) {
			size_t el = strcspn(line + 6, " ");
			uint64_t e = 0;

			snprintf(ex->final, sizeof(ex->final), "%s", line);
			if (!scn_symbol_lookup(line + 6, el, &e) || !e ||
			    !scn_errno_name((int)e)) {
				char *end;
				long v = strtol(line + 6, &end, 10);

				e = v > 0 ? (uint64_t)v : EIO;
			}
			*err = (int)e;
			return true;
		}
		ans_add(ex, line, n);
	}
}

/* ---- matching fields ---- */

bool hx_value_match(const char *want, const char *have)
{
	uint64_t a, b;
	bool oa, ob;

	if (!strcmp(want, have))
		return true;
	if (scn_parse_number(want, strlen(want), &a, &oa) &&
	    scn_parse_number(have, strlen(have), &b, &ob) && !oa && !ob)
		return a == b;
	return false;
}

/* The value of key in a "k=v k=v" line (copied to buf), or NULL. */
static const char *field(const char *line, const char *key, char *buf, size_t n)
{
	size_t kl = strlen(key);
	const char *p = line;

	while (*p) {
		size_t wl = strcspn(p, " ");

		if (wl > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(buf, n, "%.*s", (int)(wl - kl - 1), p + kl + 1);
			return buf;
		}
		p += wl;
		while (*p == ' ')
			p++;
	}
	return NULL;
}

static bool line_matches(HxExec *ex, const char *line, const ScnStmt *st)
{
	unsigned i;
	char buf[256];

	for (i = 0; i < st->nkv; i++) {
		const ScnKv *kv = &st->kv[i];
		char want[300];
		const char *have;

		if (kv->spec >= 0)
			continue;
		if (kv->dev >= 0 && !strcmp(kv->key, "obj"))
			snprintf(want, sizeof(want), "device:%s", ex->bdf[kv->dev]);
		else
			snprintf(want, sizeof(want), "%s", kv->dev >= 0 ? ex->bdf[kv->dev] : kv->val);
		have = field(line, kv->key, buf, sizeof(buf));
		if (!have || !hx_value_match(want, have))
			return false;
	}
	return true;
}

static void describe_filters(HxExec *ex, const ScnStmt *st, char *buf, size_t n)
{
	size_t l = strlen(buf);
	unsigned i;

	for (i = 0; i < st->nkv && l < n; i++) {
		const ScnKv *kv = &st->kv[i];

		if (kv->spec >= 0)
			continue;
		if (kv->dev >= 0 && !strcmp(kv->key, "obj"))
			l += (size_t)snprintf(buf + l, n - l, " obj=device:%s", ex->bdf[kv->dev]);
		else
			l += (size_t)snprintf(buf + l, n - l, " %s=%s", kv->key,
					      kv->dev >= 0 ? ex->bdf[kv->dev] : kv->val);
	}
}

/* ---- events ---- */

bool hx_expect_events(HxExec *ex, const ScnStmt *st)
{
	bool fault = st->op == SCN_OP_EXPECT_IOMMU_FAULT;
	uint64_t *cursor = fault ? &ex->seq_fault : &ex->seq_event;
	const char *kind = fault ? "iommu-fault" : st->args[0].str;
	const ScnKv *kt = scn_stmt_kv(st, "times");
	uint64_t times = 1, iova = 0, cnt = 0, last_match = 0;
	const char *v_seq;
	const ScnKv *ki = fault ? scn_stmt_kv(st, "iova") : NULL;
	const ScnKv *kd = fault ? scn_stmt_kv(st, "dir") : NULL;
	char req[64], list[2048] = "", buf[256], want[512];
	size_t ll = 0;
	unsigned shown = 0;
	const char *p;
	int err;

	if ((kt && !hx_eval(ex, kt->e, &times)) || (ki && !hx_eval(ex, ki->e, &iova)))
		return false;
	snprintf(req, sizeof(req), "events %" PRIu64, *cursor);
	ex->ops++;
	if (!hx_control(ex, req, &err))
		return false;
	if (err)
		return hx_fail(ex, "%s: %s", req, ex->final);
	for (p = ex->ans; *p;) {
		size_t n = strcspn(p, "\n");
		char line[1024];
		const char *k;
		bool m;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] ? 1 : 0);
		if (!strncmp(line, "last=", 5)) {
			/* A count is exact only when the ring still held them all. */
			k = field(line, "lost", buf, sizeof(buf));
			if (k && strtoull(k, NULL, 0))
				return hx_fail(ex, "%s: %s events since the last check are gone "
					       "from fakevfio's event log (its ring overflowed): "
					       "no exact count", req, k);
			continue;
		}
		k = field(line, "kind", buf, sizeof(buf));
		if (!k || strcmp(k, kind))
			continue;
		m = true;
		if (fault) {
			const char *v;

			if (st->args[0].present) {
				v = field(line, "device", buf, sizeof(buf));
				m = m && v && !strcmp(v, ex->bdf[st->args[0].dev]);
			}
			if (ki) {
				char w[32];

				snprintf(w, sizeof(w), "0x%" PRIx64, iova);
				v = field(line, "iova", buf, sizeof(buf));
				m = m && v && hx_value_match(w, v);
			}
			if (kd) {
				v = field(line, "dir", buf, sizeof(buf));
				m = m && v && !strcmp(v, kd->val);
			}
		} else {
			m = line_matches(ex, line, st);
		}
		if (shown < 8 && ll + 2 < sizeof(list)) {
			ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "\n%s", line);
			shown++;
		}
		if (m) {
			v_seq = field(line, "seq", buf, sizeof(buf));
			if (v_seq)
				last_match = strtoull(v_seq, NULL, 0);
		}
		cnt += m;
	}
	/* Consumed: up to the last matching event (nothing when none did). */
	if (last_match)
		*cursor = last_match;
	if (cnt == times)
		return true;
	snprintf(want, sizeof(want), "%" PRIu64 " %s event%s", times, kind, times == 1 ? "" : "s");
	if (fault) {
		if (st->args[0].present)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), " device=%s",
				 ex->bdf[st->args[0].dev]);
		if (ki)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), " iova=0x%" PRIx64,
				 iova);
		if (kd)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), " dir=%s", kd->val);
	} else {
		describe_filters(ex, st, want, sizeof(want));
	}
	{
		char a[2600];

		snprintf(a, sizeof(a), "%" PRIu64 " matching; %s events after the last one matched by an %s:%s",
			 cnt, kind, scn_op_name(st->op), list[0] ? list : " none");
		return hx_fail_check(ex, want, a);
	}
}

/* ---- mappings ---- */

bool hx_expect_dma_map(HxExec *ex, const ScnStmt *st)
{
	uint64_t iova, size;
	bool absent = scn_stmt_kv(st, "absent") != NULL, found = false;
	char list[2048] = "", buf[64], want[160];
	size_t ll = 0;
	unsigned shown = 0;
	const char *p;
	int err;

	if (!hx_eval(ex, scn_stmt_kv(st, "iova")->e, &iova) ||
	    !hx_eval(ex, scn_stmt_kv(st, "size")->e, &size))
		return false;
	ex->ops++;
	if (!hx_control(ex, "dump mappings", &err))
		return false;
	if (err)
		return hx_fail(ex, "dump mappings: %s", ex->final);
	for (p = ex->ans; *p;) {
		size_t n = strcspn(p, "\n");
		char line[512];
		const char *v;
		uint64_t mi, ms;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] ? 1 : 0);
		v = field(line, "iova", buf, sizeof(buf));
		if (!v)
			continue;
		mi = strtoull(v, NULL, 0);
		v = field(line, "size", buf, sizeof(buf));
		ms = v ? strtoull(v, NULL, 0) : 0;
		if (absent ? (mi < iova + size && iova < mi + ms) : (mi == iova && ms == size))
			found = true;
		if (shown++ < 8 && ll + 2 < sizeof(list))
			ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "\n%s", line);
	}
	if (found != absent)
		return true;
	if (absent)
		snprintf(want, sizeof(want), "no mapping overlapping [0x%" PRIx64 ", 0x%" PRIx64 ")",
			 iova, iova + size);
	else
		snprintf(want, sizeof(want), "a mapping iova=0x%" PRIx64 " size=0x%" PRIx64,
			 iova, size);
	{
		char a[2200];

		snprintf(a, sizeof(a), "%s%s", list[0] ? "the host IOMMU's mappings:" : "no mappings",
			 list);
		return hx_fail_check(ex, want, a);
	}
}

/* ---- the operation trace ---- */

bool hx_expect_trace(HxExec *ex, const ScnStmt *st)
{
	const ScnKv *kt = scn_stmt_kv(st, "times");
	uint64_t times = 0, cnt = 0;
	char want[512], buf[256], chunk[65536], line[4096];
	size_t ll = 0;
	off_t off, match_end = -1;
	FILE *f;

	if (kt && !hx_eval(ex, kt->e, &times))
		return false;
	if (!ex->fake_trace)
		return hx_fail(ex, "expect.trace needs fakevfio's operation trace "
			       "(vfio-harness exec --fake-trace FILE)");
	f = fopen(ex->fake_trace, "r");
	if (!f)
		return hx_fail(ex, "%s: %s", ex->fake_trace, strerror(errno));
	if (fseeko(f, ex->trace_off, SEEK_SET) < 0) {
		fclose(f);
		return hx_fail(ex, "%s: %s", ex->fake_trace, strerror(errno));
	}
	off = ex->trace_off;
	ll = 0;
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f), i;

		if (!n)
			break;
		for (i = 0; i < n; i++) {
			const char *v;

			if (chunk[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = chunk[i];
				continue;
			}
			line[ll] = 0;
			off += (off_t)ll + 1;
			ll = 0;
			v = field(line, "name", buf, sizeof(buf));
			if (!v || strcmp(v, st->args[0].str)) {
				v = field(line, "op", buf, sizeof(buf));
				if (!v || strcmp(v, st->args[0].str))
					continue;
			}
			if (line_matches(ex, line, st)) {
				cnt++;
				match_end = off;
			}
		}
	}
	fclose(f);
	/* Consumed: up to the last matching line (nothing when none did). */
	if (match_end >= 0)
		ex->trace_off = match_end;
	ex->ops++;
	if (kt ? cnt == times : cnt >= 1)
		return true;
	if (kt)
		snprintf(want, sizeof(want), "%" PRIu64 " trace line%s %s", times,
			 times == 1 ? "" : "s", st->args[0].str);
	else
		snprintf(want, sizeof(want), "at least 1 trace line %s", st->args[0].str);
	describe_filters(ex, st, want, sizeof(want));
	snprintf(buf, sizeof(buf), "%" PRIu64 " after the last line matched by an expect.trace", cnt);
	return hx_fail_check(ex, want, buf);
}

void hx_trace_tail(HxExec *ex, char *buf, size_t size, unsigned n)
{
	FILE *f;
	off_t end, start;
	size_t got, i;
	unsigned lines = 0;
	char *p;

	buf[0] = 0;
	if (!ex->fake_trace || !(f = fopen(ex->fake_trace, "r")))
		return;
	if (fseeko(f, 0, SEEK_END) < 0 || (end = ftello(f)) <= 0) {
		fclose(f);
		return;
	}
	start = end > (off_t)(size - 1) ? end - (off_t)(size - 1) : 0;
	if (fseeko(f, start, SEEK_SET) < 0) {
		fclose(f);
		return;
	}
	got = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[got] = 0;
	while (got && buf[got - 1] == '\n')
		buf[--got] = 0;
	for (i = got; i > 0; i--) {
		if (buf[i - 1] == '\n' && ++lines == n)
			break;
	}
	p = buf + i;
	if (i == 0 && start > 0) {
		/* a partial first line */
		p = strchr(buf, '\n');
		p = p ? p + 1 : buf + got;
	}
	memmove(buf, p, strlen(p) + 1);
}
