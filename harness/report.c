/* SPDX-License-Identifier: GPL-2.0-or-later */
/* harness/report.c: result lines, summary, TAP 13 and JUnit XML. */
#include "harness/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Captured output above this is cut from the front (the tail matters). */
#define HX_BUF_CAP (1u << 20)
#define HX_TAIL_LINES 20
#define HX_SLOWEST 3

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	return q;
}

void hx_buf_append(HxBuf *b, const char *data, size_t len)
{
	if (len > HX_BUF_CAP) {
		b->dropped += b->len + (len - HX_BUF_CAP);
		data += len - HX_BUF_CAP;
		len = HX_BUF_CAP;
		b->len = 0;
	}
	if (b->len + len > HX_BUF_CAP) {
		size_t cut = b->len + len - HX_BUF_CAP / 2;

		if (cut > b->len)
			cut = b->len;
		memmove(b->data, b->data + cut, b->len - cut);
		b->len -= cut;
		b->dropped += cut;
	}
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void hx_buf_free(HxBuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

const char *hx_buf_tail(const HxBuf *b, unsigned n)
{
	size_t i;

	if (!b->len)
		return "";
	i = b->len;
	if (b->data[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (b->data[i - 1] == '\n' && --n == 0)
			break;
		i--;
	}
	return b->data + i;
}

void hx_result_add_detail(HxResult *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	r->details = xrealloc(r->details, (r->ndetails + 1) * sizeof(*r->details));
	r->details[r->ndetails++] = s;
}

void hx_result_free(HxResult *r)
{
	unsigned i;

	free(r->message);
	for (i = 0; i < r->ndetails; i++)
		free(r->details[i]);
	free(r->details);
	for (i = 0; i < r->nskips; i++)
		free(r->skips[i].reason);
	free(r->skips);
	hx_buf_free(&r->out);
	hx_buf_free(&r->err);
	hx_buf_free(&r->all);
	memset(r, 0, sizeof(*r));
}

/* Print text with every line prefixed (a missing final newline added). */
static void print_indented(FILE *f, const char *prefix, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		fprintf(f, "%s%.*s\n", prefix, (int)len, text);
		text += len + (nl != NULL);
	}
}

static const char *outcome_word(const HxResult *r)
{
	switch (r->outcome) {
	case HX_PASS:
		return "PASS";
	case HX_FAIL:
		return "FAIL";
	default:
		return "STOP";
	}
}

void hx_report_result(FILE *f, const HxResult *r, bool verbose)
{
	unsigned i;

	fprintf(f, "%s  %s  %.2fs", outcome_word(r), r->name, r->seconds);
	if (r->outcome == HX_NOT_RUN)
		fprintf(f, "  (%s)", r->not_run ? r->not_run : "not run");
	if (r->nskips)
		fprintf(f, "  (%u step%s skipped)", r->nskips, r->nskips == 1 ? "" : "s");
	fputc('\n', f);
	if (r->outcome == HX_FAIL) {
		print_indented(f, "      ", r->message ? r->message : "failed");
		for (i = 0; i < r->ndetails; i++)
			print_indented(f, "        ", r->details[i]);
	}
	if (verbose)
		for (i = 0; i < r->nskips; i++)
			fprintf(f, "      skipped: line %u: %s\n", r->skips[i].line,
				r->skips[i].reason);
	if (verbose && r->all.len) {
		fprintf(f, "      output%s:\n", r->all.dropped ? " (the start was cut)" : "");
		print_indented(f, "      | ", r->all.data);
	} else if (r->outcome == HX_FAIL && !r->reported && r->all.len) {
		/* A reported failure has its story in the details already. */
		fprintf(f, "      output (last %u lines):\n", HX_TAIL_LINES);
		print_indented(f, "      | ", hx_buf_tail(&r->all, HX_TAIL_LINES));
	}
}

/* ---- TAP version 13 ----------------------------------------------------- */

void hx_report_tap_plan(FILE *f, unsigned n)
{
	fprintf(f, "TAP version 13\n1..%u\n", n);
}

static size_t xml_char_len(const unsigned char *s, size_t len);

/*
 * A YAML double-quoted scalar: valid UTF-8 as it is, control characters
 * and the bytes of invalid UTF-8 as \xNN (YAML streams must be Unicode).
 */
static void yaml_quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];
		size_t n = xml_char_len(s + i, len - i);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (n == 1 && c != '\r')
			fputc(c, f);
		else if (n > 1) {
			fwrite(s + i, 1, n, f);
			i += n;
			continue;
		} else
			fprintf(f, "\\x%02x", c);
		i++;
	}
	fputc('"', f);
}

/* TAP descriptions: no newline, no '#' (it would start a directive). */
static void tap_name(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c == '#' ? '_' : (c < 0x20 || c == 0x7f) ? '?' : c, f);
	}
}

void hx_report_tap_result(FILE *f, unsigned number, const HxResult *r)
{
	unsigned i;

	if (r->outcome == HX_NOT_RUN) {
		fprintf(f, "ok %u - ", number);
		tap_name(f, r->name);
		fprintf(f, " # SKIP %s\n", r->not_run ? r->not_run : "not run");
		return;
	}
	fprintf(f, "%s %u - ", r->outcome == HX_PASS ? "ok" : "not ok", number);
	tap_name(f, r->name);
	fputc('\n', f);
	fputs("  ---\n", f);
	fprintf(f, "  duration_ms: %.0f\n", r->seconds * 1000);
	if (r->outcome == HX_FAIL) {
		fputs("  severity: fail\n  message: ", f);
		yaml_quoted(f, r->message ? r->message : "failed");
		fputc('\n', f);
		if (r->ndetails) {
			fputs("  details:\n", f);
			for (i = 0; i < r->ndetails; i++) {
				fputs("    - ", f);
				yaml_quoted(f, r->details[i]);
				fputc('\n', f);
			}
		}
		if (r->all.len && !r->reported) {
			fputs("  output: ", f);
			yaml_quoted(f, hx_buf_tail(&r->all, HX_TAIL_LINES));
			fputc('\n', f);
		}
	}
	if (r->nskips) {
		fputs("  skipped_steps:\n", f);
		for (i = 0; i < r->nskips; i++) {
			fprintf(f, "    - line: %u\n      reason: ", r->skips[i].line);
			yaml_quoted(f, r->skips[i].reason);
			fputc('\n', f);
		}
	}
	fputs("  ...\n", f);
}

/* ---- summary ------------------------------------------------------------ */

void hx_report_summary(FILE *f, const HxResult *results, unsigned n,
		       double wall, unsigned jobs, const char *interrupted)
{
	unsigned passed = 0, failed = 0, notrun = 0, skips = 0, skipping = 0;
	unsigned slow[HX_SLOWEST], nslow = 0, i, j;
	double busy = 0;

	for (i = 0; i < n; i++) {
		const HxResult *r = &results[i];

		if (r->outcome == HX_PASS)
			passed++;
		else if (r->outcome == HX_FAIL)
			failed++;
		else
			notrun++;
		skips += r->nskips;
		skipping += r->nskips > 0;
		busy += r->seconds;
		if (r->outcome == HX_NOT_RUN)
			continue;
		/* Insertion into the top HX_SLOWEST (stable: suite order on ties). */
		if (nslow == HX_SLOWEST && results[slow[HX_SLOWEST - 1]].seconds >= r->seconds)
			continue;
		j = nslow < HX_SLOWEST ? nslow : HX_SLOWEST - 1;
		for (; j > 0 && results[slow[j - 1]].seconds < r->seconds; j--)
			slow[j] = slow[j - 1];
		slow[j] = i;
		if (nslow < HX_SLOWEST)
			nslow++;
	}
	fprintf(f, "\n%u scenario%s: %u passed, %u failed", n, n == 1 ? "" : "s",
		passed, failed);
	if (notrun)
		fprintf(f, ", %u not run", notrun);
	fputc('\n', f);
	if (interrupted)
		fprintf(f, "  interrupted    %s\n", interrupted);
	fprintf(f, "  passed         %u\n", passed);
	fprintf(f, "  failed         %u\n", failed);
	if (notrun)
		fprintf(f, "  not run        %u\n", notrun);
	fprintf(f, "  skipped steps  %u", skips);
	if (skips)
		fprintf(f, " (in %u scenario%s)", skipping, skipping == 1 ? "" : "s");
	fputc('\n', f);
	fprintf(f, "  time           %.2fs (-j %u; %.2fs in scenarios)\n", wall, jobs, busy);
	for (i = 0; i < nslow; i++)
		fprintf(f, "  %-14s %.2fs  %s\n", i ? "" : "slowest",
			results[slow[i]].seconds, results[slow[i]].name);
	for (i = 0, j = 0; i < n; i++)
		if (results[i].outcome == HX_FAIL)
			fprintf(f, "  %-14s %s\n", j++ ? "" : "failed", results[i].name);
}

/* ---- JUnit XML ---------------------------------------------------------- */

/* Length of the valid XML character's UTF-8 sequence at s, 0 if none. */
static size_t xml_char_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 && s[0] != 0x7f) || s[0] == '\t' || s[0] == '\n' ||
		       s[0] == '\r';
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

void hx_xml_escape(FILE *f, const char *str, size_t len, bool attr)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		size_t n = xml_char_len(s + i, len - i);

		if (!n) {
			fprintf(f, "\\x%02x", s[i]);
			i++;
			continue;
		}
		if (n > 1) {
			fwrite(s + i, 1, n, f);
			i += n;
			continue;
		}
		switch (s[i]) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs(attr ? "&quot;" : "\"", f);
			break;
		case '\'':
			fputs(attr ? "&apos;" : "'", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		case '\n':
			fputs(attr ? "&#10;" : "\n", f);
			break;
		case '\t':
			fputs(attr ? "&#9;" : "\t", f);
			break;
		default:
			fputc(s[i], f);
		}
		i++;
	}
}

static void xml_str(FILE *f, const char *s, bool attr)
{
	hx_xml_escape(f, s, strlen(s), attr);
}

static void junit_case(FILE *f, const HxResult *r)
{
	const char *slash = strrchr(r->name, '/');
	unsigned i;

	fputs("    <testcase classname=\"", f);
	if (slash)
		hx_xml_escape(f, r->name, (size_t)(slash - r->name), true);
	else
		fputs(".", f);
	fputs("\" name=\"", f);
	xml_str(f, slash ? slash + 1 : r->name, true);
	fputs("\" file=\"", f);
	xml_str(f, r->name, true);
	fprintf(f, "\" time=\"%.3f\">\n", r->seconds);
	if (r->nskips || r->has_stats) {
		fputs("      <properties>\n", f);
		if (r->has_stats)
			fprintf(f, "        <property name=\"steps\" value=\"%lu\"/>\n"
				"        <property name=\"ops\" value=\"%lu\"/>\n"
				"        <property name=\"exec_seconds\" value=\"%.3f\"/>\n",
				r->steps, r->ops, r->exec_seconds);
		for (i = 0; i < r->nskips; i++) {
			fprintf(f, "        <property name=\"skipped-step\" value=\"line %u: ",
				r->skips[i].line);
			xml_str(f, r->skips[i].reason, true);
			fputs("\"/>\n", f);
		}
		fputs("      </properties>\n", f);
	}
	if (r->outcome == HX_FAIL) {
		const char *msg = r->message ? r->message : "failed";

		fputs("      <failure type=\"failure\" message=\"", f);
		xml_str(f, msg, true);
		fputs("\">", f);
		xml_str(f, msg, false);
		fputc('\n', f);
		for (i = 0; i < r->ndetails; i++) {
			fputs("  ", f);
			xml_str(f, r->details[i], false);
			fputc('\n', f);
		}
		fputs("</failure>\n", f);
	} else if (r->outcome == HX_NOT_RUN) {
		fputs("      <skipped message=\"", f);
		xml_str(f, r->not_run ? r->not_run : "not run", true);
		fputs("\"/>\n", f);
	}
	if (r->nskips || r->out.len) {
		fputs("      <system-out>", f);
		if (r->nskips) {
			fprintf(f, "%u step%s skipped:\n", r->nskips, r->nskips == 1 ? "" : "s");
			for (i = 0; i < r->nskips; i++) {
				fprintf(f, "  line %u: ", r->skips[i].line);
				xml_str(f, r->skips[i].reason, false);
				fputc('\n', f);
			}
		}
		if (r->out.dropped)
			fprintf(f, "[... %zu bytes cut ...]\n", r->out.dropped);
		hx_xml_escape(f, r->out.data, r->out.len, false);
		fputs("</system-out>\n", f);
	}
	if (r->err.len) {
		fputs("      <system-err>", f);
		if (r->err.dropped)
			fprintf(f, "[... %zu bytes cut ...]\n", r->err.dropped);
		hx_xml_escape(f, r->err.data, r->err.len, false);
		fputs("</system-err>\n", f);
	}
	fputs("    </testcase>\n", f);
}

bool hx_report_junit(const char *path, const HxResult *results, unsigned n,
		     double wall, Error **errp)
{
	unsigned failed = 0, notrun = 0, i;
	char *tmp = NULL, stamp[32] = "", host[256] = "localhost";
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	for (i = 0; i < n; i++) {
		failed += results[i].outcome == HX_FAIL;
		notrun += results[i].outcome == HX_NOT_RUN;
	}
	now -= (time_t)wall;
	if (gmtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';

	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		error_setg(errp, "out of memory");
		return false;
	}
	f = fopen(tmp, "w");
	if (!f) {
		error_setg_errno(errp, errno, "cannot write the JUnit report %s", tmp);
		free(tmp);
		return false;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"vfio-harness\" tests=\"%u\" failures=\"%u\" "
		"errors=\"0\" skipped=\"%u\" time=\"%.3f\">\n", n, failed, notrun, wall);
	fprintf(f, "  <testsuite name=\"vfio-harness\" tests=\"%u\" failures=\"%u\" "
		"errors=\"0\" skipped=\"%u\" time=\"%.3f\" timestamp=\"%s\" hostname=\"",
		n, failed, notrun, wall, stamp);
	xml_str(f, host, true);
	fputs("\">\n", f);
	for (i = 0; i < n; i++)
		junit_case(f, &results[i]);
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (ferror(f) | (fclose(f) != 0)) {
		error_setg_errno(errp, errno, "cannot write the JUnit report %s", tmp);
		unlink(tmp);
		free(tmp);
		return false;
	}
	if (rename(tmp, path) < 0) {
		error_setg_errno(errp, errno, "cannot rename %s to %s", tmp, path);
		unlink(tmp);
		free(tmp);
		return false;
	}
	free(tmp);
	return true;
}
