/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/runner.c: collect a suite of scenario files, run each one in a
 * fresh executor process (its own process group), up to N at once, read
 * the result protocol (harness/exec.h) and report.
 */
#include "harness/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bdf.h"
#include "harness/report.h"
#include "harness/scn.h"

#define HX_WALK_DEPTH 32	/* directory nesting followed */
#define HX_KILL_GRACE 2.0	/* seconds from SIGTERM to SIGKILL */
#define HX_EXIT_FAKEVFIO 125	/* fakevfio's own errors */

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the suite ---------------------------------------------------------- */

typedef struct Entry {
	char *name;
	dev_t dev;
	ino_t ino;
} Entry;

typedef struct EntryList {
	Entry *v;
	unsigned n, cap;
} EntryList;

static void entries_add(EntryList *l, char *name, const struct stat *st)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			fputs("vfio-harness: out of memory\n", stderr);
			abort();
		}
	}
	l->v[l->n].name = name;
	l->v[l->n].dev = st->st_dev;
	l->v[l->n].ino = st->st_ino;
	l->n++;
}

/*
 * The path as given, tidied: no repeated '/', no "." component, no
 * trailing '/'.  "" and "." become ".".
 */
static char *path_tidy(const char *in)
{
	char *out = xmalloc(strlen(in) + 2), *o = out;
	const char *p = in;

	if (*p == '/')
		*o++ = '/';
	while (*p) {
		const char *q;
		size_t len;

		while (*p == '/')
			p++;
		q = strchr(p, '/');
		len = q ? (size_t)(q - p) : strlen(p);
		if (len == 0)
			break;
		if (!(len == 1 && p[0] == '.')) {
			if (o > out && o[-1] != '/')
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == out)
		*o++ = '.';
	*o = '\0';
	return out;
}

static bool has_scn_suffix(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && strcmp(name + len - 4, ".scn") == 0;
}

static bool walk(const char *dir, unsigned depth, EntryList *l, Error **errp)
{
	struct dirent *de;
	DIR *d;

	if (depth > HX_WALK_DEPTH) {
		error_setg(errp, "%s: directories nested more than %u deep", dir,
			   HX_WALK_DEPTH);
		return false;
	}
	d = opendir(dir);
	if (!d) {
		error_setg_errno(errp, errno, "%s", dir);
		return false;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;	/* ., .., hidden files and directories */
		path = strcmp(dir, ".") == 0 ? xstrdup(de->d_name) :
		       xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
				 de->d_name);
		if (lstat(path, &st) < 0) {
			free(path);
			continue;	/* vanished */
		}
		if (S_ISDIR(st.st_mode)) {
			bool ok = walk(path, depth + 1, l, errp);

			free(path);
			if (!ok) {
				closedir(d);
				return false;
			}
			continue;
		}
		/* A symbolic link to a file counts; to a directory it does not. */
		if (has_scn_suffix(de->d_name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			entries_add(l, path, &st);
			continue;
		}
		free(path);
	}
	if (errno) {
		error_setg_errno(errp, errno, "%s", dir);
		closedir(d);
		return false;
	}
	closedir(d);
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

bool hx_select_match(const char *pattern, const char *name)
{
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, name, 0) == 0;
	return strstr(name, pattern) != NULL;
}

bool hx_shard_parse(const char *text, unsigned *index, unsigned *count, Error **errp)
{
	unsigned long i, n;
	char *end;

	errno = 0;
	if (text[0] < '0' || text[0] > '9')
		goto bad;
	i = strtoul(text, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
		goto bad;
	n = strtoul(end + 1, &end, 10);
	if (errno || *end)
		goto bad;
	if (n < 1 || n > 100000 || i < 1 || i > n) {
		error_setg(errp, "--shard %s: I/N needs 1 <= I <= N (N at most 100000)", text);
		return false;
	}
	*index = (unsigned)i;
	*count = (unsigned)n;
	return true;
bad:
	error_setg(errp, "--shard %s: expected I/N, e.g. 1/3", text);
	return false;
}

bool hx_suite_collect(char *const *paths, unsigned npaths, const HxSelect *sel,
		      HxSuite *out, Error **errp)
{
	EntryList l = { 0 };
	unsigned i, j, k, kept;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < npaths; i++) {
		char *p = path_tidy(paths[i]);
		struct stat st;

		if (stat(p, &st) < 0) {
			error_setg_errno(errp, errno, "%s", paths[i]);
			free(p);
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			bool ok = walk(p, 0, &l, errp);

			free(p);
			if (!ok)
				goto fail;
		} else if (S_ISREG(st.st_mode)) {
			entries_add(&l, p, &st);
		} else {
			error_setg(errp, "%s: not a file or a directory", paths[i]);
			free(p);
			goto fail;
		}
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	/* De-duplicate: the same name, or the same file under another name. */
	for (i = 0, k = 0; i < l.n; i++) {
		bool dup = false;

		for (j = 0; j < k && !dup; j++)
			dup = strcmp(l.v[j].name, l.v[i].name) == 0 ||
			      (l.v[j].dev == l.v[i].dev && l.v[j].ino == l.v[i].ino);
		if (dup)
			free(l.v[i].name);
		else
			l.v[k++] = l.v[i];
	}
	out->total = k;
	out->names = xmalloc((k ? k : 1) * sizeof(*out->names));
	for (i = 0, kept = 0; i < k; i++) {
		bool keep = sel->npatterns == 0;

		for (j = 0; j < sel->npatterns && !keep; j++)
			keep = hx_select_match(sel->patterns[j], l.v[i].name);
		if (keep && sel->shard_count) {
			keep = kept % sel->shard_count == sel->shard_index - 1;
			kept++;
		}
		if (keep)
			out->names[out->n++] = l.v[i].name;
		else
			free(l.v[i].name);
	}
	free(l.v);
	return true;
fail:
	for (i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return false;
}

void hx_suite_free(HxSuite *suite)
{
	unsigned i;

	for (i = 0; i < suite->n; i++)
		free(suite->names[i]);
	free(suite->names);
	memset(suite, 0, sizeof(*suite));
}

/* ---- check -------------------------------------------------------------- */

int hx_check(const HxSuite *suite, bool verbose)
{
	unsigned i, bad = 0;

	for (i = 0; i < suite->n; i++) {
		Error *err = NULL;
		Scn *scn = scn_parse_file(suite->names[i], &err);

		if (!scn) {
			fprintf(stderr, "%s\n", error_get_pretty(err));
			error_free(err);
			bad++;
			continue;
		}
		scn_free(scn);
		if (verbose)
			printf("ok  %s\n", suite->names[i]);
	}
	fflush(stdout);
	fprintf(stderr, "%u scenario%s checked, %u with errors\n", suite->n,
		suite->n == 1 ? "" : "s", bad);
	return bad ? 1 : 0;
}

/* ---- signals ------------------------------------------------------------ */

static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t signal_count;

static void on_signal(int sig)
{
	int saved = errno;
	ssize_t n;

	if (sig != SIGCHLD) {
		if (!got_signal)
			got_signal = sig;
		signal_count++;
	}
	n = write(wake_pipe[1], "x", 1);
	(void)n;
	errno = saved;
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

typedef struct SavedSignals {
	struct sigaction old[4], pipe;
} SavedSignals;

static bool signals_setup(SavedSignals *saved, Error **errp)
{
	struct sigaction sa;
	unsigned i;

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		error_setg_errno(errp, errno, "pipe");
		return false;
	}
	got_signal = 0;
	signal_count = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < 3; i++)
		sigaction(stop_signals[i], &sa, &saved->old[i]);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, &saved->old[3]);
	/* A closed stdout must not kill the runner before it cleans up. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &saved->pipe);
	return true;
}

static void signals_restore(const SavedSignals *saved)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		sigaction(stop_signals[i], &saved->old[i], NULL);
	sigaction(SIGCHLD, &saved->old[3], NULL);
	sigaction(SIGPIPE, &saved->pipe, NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
}

/* ---- one scenario's process --------------------------------------------- */

enum { FD_RES, FD_OUT, FD_ERR, NFDS };

typedef struct Job {
	unsigned idx;		/* in the suite */
	pid_t pid;		/* also its process group */
	int fd[NFDS];		/* read ends, -1 once at EOF */
	HxBuf res;		/* protocol bytes not yet parsed */
	double start;
	double deadline;	/* --timeout, 0: none */
	double kill_at;		/* SIGKILL the group then, 0: not yet asked */
	double eof_wait;	/* reaped, output still open: kill then */
	bool reaped;		/* exited: a zombie until job_finish reaps it */
	int status;
	bool timed_out;
	int stopped_by;		/* the runner's signal that stopped it */
	int done;		/* protocol "done": 0 none, 1 pass, 2 fail */
	bool bad_line;		/* a protocol line we could not read */
	char *topo, *trace;	/* files to remove afterwards */
	bool keep_trace;
} Job;

typedef struct Run {
	const HxSuite *suite;
	const HxRunOptions *o;
	HxResult *results;
	bool *finished;
	char *self, *fakevfio, *tmpdir;
	Job *jobs;
	unsigned njobs;		/* running */
	unsigned next;		/* next to start */
	unsigned printed;	/* results printed, in suite order */
	unsigned nfinished, nfailed;
	bool progress;		/* stderr is a terminal */
	bool progress_shown;
	const char *latest;	/* the last started, for the progress line */
} Run;

static void progress_erase(Run *run)
{
	if (run->progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		run->progress_shown = false;
	}
}

static void progress_show(Run *run)
{
	struct winsize ws;
	char line[512];
	int width = 80, len;

	if (!run->progress || run->nfinished == run->suite->n)
		return;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		width = ws.ws_col;
	len = snprintf(line, sizeof(line), "[%*u/%u] %u running, %u failed  %s",
		       snprintf(NULL, 0, "%u", run->suite->n), run->nfinished,
		       run->suite->n, run->njobs, run->nfailed,
		       run->latest ? run->latest : "");
	if (len >= width)
		len = width - 1;
	if (len > (int)sizeof(line) - 1)
		len = (int)sizeof(line) - 1;
	fprintf(stderr, "\r\033[K%.*s", len, line);
	fflush(stderr);
	run->progress_shown = true;
}

/* Print every finished result that is next in suite order. */
static void print_ready(Run *run)
{
	while (run->printed < run->suite->n && run->finished[run->printed]) {
		HxResult *r = &run->results[run->printed];

		progress_erase(run);
		if (run->o->tap)
			hx_report_tap_result(stdout, run->printed + 1, r);
		else if (r->outcome != HX_NOT_RUN || r->seconds > 0)
			hx_report_result(stdout, r, run->o->verbose);
		run->printed++;
	}
	fflush(stdout);
}

static void finish(Run *run, unsigned idx)
{
	run->finished[idx] = true;
	run->nfinished++;
	run->nfailed += run->results[idx].outcome == HX_FAIL;
	print_ready(run);
}

static void fail_now(Run *run, unsigned idx, double start, char *message)
{
	HxResult *r = &run->results[idx];

	r->outcome = HX_FAIL;
	r->message = message;
	r->seconds = now_s() - start;
	finish(run, idx);
}

/* "NAME" with '/' -> '_', for --trace DIR. */
static char *trace_name(const char *dir, const char *name)
{
	char *s = xasprintf("%s/%s.trace", dir, name), *p;

	for (p = s + strlen(dir) + 1; *p; p++)
		if (*p == '/')
			*p = '_';
	return s;
}

static void add_arg(char ***argv, unsigned *argc, const char *s)
{
	*argv = realloc(*argv, (*argc + 2) * sizeof(**argv));
	if (!*argv) {
		fputs("vfio-harness: out of memory\n", stderr);
		abort();
	}
	(*argv)[(*argc)++] = (char *)s;
	(*argv)[*argc] = NULL;
}

/* Move fd to 10 or above (close-on-exec), so dup2 onto 1, 2, 3 is safe. */
static int fd_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static void start(Run *run, unsigned idx)
{
	const char *name = run->suite->names[idx];
	const HxRunOptions *o = run->o;
	int res[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char **argv = NULL, *topo = NULL, *trace = NULL, *fail = NULL;
	double t0 = now_s();
	unsigned argc = 0, i, j;
	Error *e = NULL;
	Job *job;
	Scn *scn;
	pid_t pid;

	scn = scn_parse_file(name, &e);
	if (!scn) {
		fail_now(run, idx, t0, xstrdup(error_get_pretty(e)));
		error_free(e);
		return;
	}
	if (!o->host) {
		FILE *f;

		topo = xasprintf("%s/%u.topo", run->tmpdir, idx);
		f = fopen(topo, "w");
		if (!f) {
			fail = xasprintf("cannot write the topology file %s: %s", topo,
					 strerror(errno));
		} else {
			bool ok = scn_write_topology(scn, f, &e);

			if (fclose(f) != 0 && ok) {
				ok = false;
				error_setg_errno(&e, errno, "%s", topo);
			}
			if (!ok) {
				fail = xasprintf("cannot write the topology file: %s",
						 error_get_pretty(e));
				error_free(e);
			}
		}
		trace = o->trace_dir ? trace_name(o->trace_dir, name) :
			xasprintf("%s/%u.trace", run->tmpdir, idx);
		add_arg(&argv, &argc, run->fakevfio);
		add_arg(&argv, &argc, "run");
		add_arg(&argv, &argc, "--topology");
		add_arg(&argv, &argc, topo);
		add_arg(&argv, &argc, "--trace");
		add_arg(&argv, &argc, trace);
		add_arg(&argv, &argc, "--");
		add_arg(&argv, &argc, run->self);
		add_arg(&argv, &argc, "exec");
		add_arg(&argv, &argc, "--backend");
		add_arg(&argv, &argc, "sim");
		add_arg(&argv, &argc, "--fake-trace");
		add_arg(&argv, &argc, trace);
	} else {
		add_arg(&argv, &argc, run->self);
		add_arg(&argv, &argc, "exec");
		add_arg(&argv, &argc, "--backend");
		add_arg(&argv, &argc, "host");
		/* Only the maps that name a device of this scenario. */
		for (i = 0; i < o->nmaps; i++) {
			const char *eq = strchr(o->maps[i], '=');

			for (j = 0; j < scn_device_count(scn); j++) {
				const char *dn = scn_device(scn, j)->name;

				if (strlen(dn) == (size_t)(eq - o->maps[i]) &&
				    strncmp(dn, o->maps[i], strlen(dn)) == 0) {
					add_arg(&argv, &argc, "--map");
					add_arg(&argv, &argc, o->maps[i]);
					break;
				}
			}
		}
	}
	add_arg(&argv, &argc, "--result-fd");
	add_arg(&argv, &argc, "3");
	add_arg(&argv, &argc, name);
	scn_free(scn);

	if (!fail && (pipe2(res, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		      pipe2(err, O_CLOEXEC) < 0))
		fail = xasprintf("pipe: %s", strerror(errno));
	if (fail)
		goto failed;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fail = xasprintf("fork: %s", strerror(errno));
		goto failed;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		struct sigaction sa;
		int null, r3, o1, e2;

		setpgid(0, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGCHLD, &sa, NULL);
		r3 = fd_high(res[1]);
		o1 = fd_high(out[1]);
		e2 = fd_high(err[1]);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (r3 < 0 || o1 < 0 || e2 < 0 || null < 0 || dup2(null, 0) < 0 ||
		    dup2(o1, 1) < 0 || dup2(e2, 2) < 0 || dup2(r3, 3) < 0)
			_exit(126);
		execv(argv[0], argv);
		{
			const char *m = "vfio-harness: cannot execute ";
			const char *s = strerror(errno);
			ssize_t n = write(2, m, strlen(m));

			n = write(2, argv[0], strlen(argv[0]));
			n = write(2, ": ", 2);
			n = write(2, s, strlen(s));
			n = write(2, "\n", 1);
			(void)n;
		}
		_exit(127);
	}
	setpgid(pid, pid);	/* also here: no race with kill(-pid) */
	close(res[1]);
	close(out[1]);
	close(err[1]);
	free(argv);

	job = &run->jobs[run->njobs++];
	memset(job, 0, sizeof(*job));
	job->idx = idx;
	job->pid = pid;
	job->fd[FD_RES] = res[0];
	job->fd[FD_OUT] = out[0];
	job->fd[FD_ERR] = err[0];
	for (i = 0; i < NFDS; i++)
		fcntl(job->fd[i], F_SETFL, O_NONBLOCK);
	job->start = t0;
	job->deadline = o->timeout > 0 ? t0 + o->timeout : 0;
	job->topo = topo;
	job->trace = trace;
	job->keep_trace = o->trace_dir != NULL;
	run->latest = name;
	return;

failed:
	for (i = 0; i < 2; i++) {
		if (res[i] >= 0)
			close(res[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (topo)
		unlink(topo);
	if (trace && !o->trace_dir)
		unlink(trace);
	free(topo);
	free(trace);
	free(argv);
	fail_now(run, idx, t0, fail);
}

/* One protocol line (without its newline). */
static void protocol_line(Run *run, Job *job, char *line)
{
	HxResult *r = &run->results[job->idx];
	const char *name = run->suite->names[job->idx];
	char *end;

	if (strncmp(line, "skip ", 5) == 0) {
		unsigned long ln;

		errno = 0;
		ln = strtoul(line + 5, &end, 10);
		if (errno || end == line + 5 || (*end && *end != ' ') || ln > UINT_MAX)
			goto bad;
		r->skips = realloc(r->skips, (r->nskips + 1) * sizeof(*r->skips));
		if (!r->skips)
			abort();
		r->skips[r->nskips].line = (unsigned)ln;
		r->skips[r->nskips].reason = xstrdup(*end ? end + 1 : "");
		r->nskips++;
	} else if (strncmp(line, "fail ", 5) == 0) {
		char *loc = line + 5, *msg = strchr(loc, ' ');

		if (r->message)
			goto bad;
		if (msg)
			*msg++ = '\0';
		r->message = xasprintf("%s:%s: %s", name, loc, msg ? msg : "failed");
	} else if (strncmp(line, "detail ", 7) == 0 || strcmp(line, "detail") == 0) {
		hx_result_add_detail(r, "%s", line[6] ? line + 7 : "");
	} else if (strncmp(line, "stats ", 6) == 0) {
		char *tok, *save = NULL;

		for (tok = strtok_r(line + 6, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			if (strncmp(tok, "steps=", 6) == 0)
				r->steps = strtoul(tok + 6, NULL, 10);
			else if (strncmp(tok, "ops=", 4) == 0)
				r->ops = strtoul(tok + 4, NULL, 10);
			else if (strncmp(tok, "seconds=", 8) == 0) {
				double s = strtod(tok + 8, &end);

				if (end != tok + 8 && !*end && isfinite(s) && s >= 0)
					r->exec_seconds = s;
			}
		}
		r->has_stats = true;
	} else if (strcmp(line, "done pass") == 0 && !job->done) {
		job->done = 1;
	} else if (strcmp(line, "done fail") == 0 && !job->done) {
		job->done = 2;
	} else {
		goto bad;
	}
	return;
bad:
	if (!job->bad_line)
		hx_result_add_detail(r, "unexpected result line from the executor: '%s'", line);
	job->bad_line = true;
}

static void protocol_parse(Run *run, Job *job, bool eof)
{
	char *nl, *p = job->res.data;

	if (!p)
		return;
	while ((nl = memchr(p, '\n', job->res.len - (size_t)(p - job->res.data)))) {
		*nl = '\0';
		protocol_line(run, job, p);
		p = nl + 1;
	}
	if (eof && p < job->res.data + job->res.len) {
		protocol_line(run, job, p);
		p = job->res.data + job->res.len;
	}
	job->res.len -= (size_t)(p - job->res.data);
	memmove(job->res.data, p, job->res.len);
	job->res.data[job->res.len] = '\0';
}

static void job_read(Run *run, Job *job, int which)
{
	HxResult *r = &run->results[job->idx];
	char buf[65536];
	ssize_t n = read(job->fd[which], buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(job->fd[which]);
		job->fd[which] = -1;
		if (which == FD_RES)
			protocol_parse(run, job, true);
		return;
	}
	if (which == FD_RES) {
		hx_buf_append(&job->res, buf, (size_t)n);
		protocol_parse(run, job, false);
		return;
	}
	hx_buf_append(which == FD_OUT ? &r->out : &r->err, buf, (size_t)n);
	hx_buf_append(&r->all, buf, (size_t)n);
}

static void job_kill(Job *job, int sig, double now)
{
	kill(-job->pid, sig);
	if (sig != SIGKILL && !job->kill_at)
		job->kill_at = now + HX_KILL_GRACE;
}

static void describe_status(char *buf, size_t size, int status, bool sim)
{
	if (WIFSIGNALED(status)) {
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	} else if (sim && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 128 + 65) {
		/* fakevfio run: 128+N when CMD died of signal N. */
		int sig = WEXITSTATUS(status) - 128;

		snprintf(buf, size, "killed by signal %d (%s; fakevfio exited with status %d)",
			 sig, strsignal(sig), WEXITSTATUS(status));
	} else {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	}
}

static bool status_is_crash(int status, bool sim)
{
	return WIFSIGNALED(status) ||
	       (sim && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 128 + 65);
}

/* The process is reaped and its pipes are closed: the verdict. */
static void job_finish(Run *run, Job *job, double now)
{
	HxResult *r = &run->results[job->idx];
	bool sim = !run->o->host;
	char st[160];
	unsigned i;

	/*
	 * Whatever the executor left behind in its process group (a daemon
	 * that closed the pipes) goes now: the unreaped leader still pins
	 * the group's id.  Then reap the leader.
	 */
	kill(-job->pid, SIGKILL);
	while (waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR)
		;
	for (i = 0; i < NFDS; i++)
		if (job->fd[i] >= 0)
			close(job->fd[i]);
	hx_buf_free(&job->res);
	if (job->topo)
		unlink(job->topo);
	if (job->trace && !job->keep_trace)
		unlink(job->trace);
	free(job->topo);
	free(job->trace);
	r->seconds = now - job->start;
	describe_status(st, sizeof(st), job->status, sim);

	if (job->stopped_by && job->done != 1 && !job->timed_out) {
		/* The runner stopped it (SIGINT/SIGTERM/SIGHUP to the runner). */
		r->outcome = HX_NOT_RUN;
		r->not_run = job->stopped_by == SIGINT ? "interrupted (SIGINT)" :
			     job->stopped_by == SIGTERM ? "interrupted (SIGTERM)" :
			     "interrupted (SIGHUP)";
	} else if (job->timed_out) {
		char *prev = r->message;

		r->outcome = HX_FAIL;
		r->message = xasprintf("timed out after %g s", run->o->timeout);
		if (prev) {
			hx_result_add_detail(r, "it had reported: %s", prev);
			free(prev);
		}
	} else if (job->done == 1 && WIFEXITED(job->status) && WEXITSTATUS(job->status) == 0 &&
		   !job->bad_line) {
		r->outcome = HX_PASS;
	} else if (job->done == 1) {
		r->outcome = HX_FAIL;
		if (job->bad_line)
			r->message = xstrdup("the executor wrote a result line the runner "
					     "does not understand");
		else
			r->message = xasprintf("the executor reported a pass, then %s", st);
	} else if (job->done == 2) {
		r->outcome = HX_FAIL;
		r->reported = r->message != NULL;
		if (!r->message)
			r->message = xasprintf("failed without a message (the executor %s)", st);
	} else {
		char *prev = r->message;

		r->outcome = HX_FAIL;
		if (status_is_crash(job->status, sim))
			r->message = xasprintf("the executor crashed: %s", st);
		else if (sim && WIFEXITED(job->status) &&
			 WEXITSTATUS(job->status) == HX_EXIT_FAKEVFIO)
			r->message = xasprintf("%s before finishing (fakevfio could not start?)", st);
		else
			r->message = xasprintf("the executor %s before finishing", st);
		if (prev) {
			hx_result_add_detail(r, "it had reported: %s", prev);
			free(prev);
		}
	}
	/* Remove the job from the running set (order does not matter). */
	*job = run->jobs[--run->njobs];
	finish(run, (unsigned)(r - run->results));
}

static bool job_fds_open(const Job *job)
{
	return job->fd[FD_RES] >= 0 || job->fd[FD_OUT] >= 0 || job->fd[FD_ERR] >= 0;
}

static const char *self_exe(Error **errp)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n < 0) {
		error_setg_errno(errp, errno, "readlink /proc/self/exe");
		return NULL;
	}
	path[n] = '\0';
	return path;
}

/* Every --map NAME=BDF well formed and naming a device of some scenario. */
static bool maps_check(const HxSuite *suite, const HxRunOptions *o, Error **errp)
{
	bool *used;
	unsigned i, j;

	for (i = 0; i < o->nmaps; i++) {
		const char *eq = strchr(o->maps[i], '=');
		char bdf[BDF_LEN];
		Error *e = NULL;

		if (!eq || eq == o->maps[i]) {
			error_setg(errp, "--map %s: expected NAME=BDF", o->maps[i]);
			return false;
		}
		if (!bdf_parse(eq + 1, bdf, NULL, NULL, NULL, NULL, &e)) {
			error_setg(errp, "--map %s: %s", o->maps[i], error_get_pretty(e));
			error_free(e);
			return false;
		}
	}
	if (!o->nmaps)
		return true;
	used = xmalloc(o->nmaps * sizeof(*used));
	for (i = 0; i < suite->n; i++) {
		Scn *scn = scn_parse_file(suite->names[i], NULL);

		if (!scn)
			continue;	/* reported when it runs */
		for (j = 0; j < o->nmaps; j++) {
			char dn[SCN_NAME_MAX + 1];
			size_t len = (size_t)(strchr(o->maps[j], '=') - o->maps[j]);

			if (len > SCN_NAME_MAX)
				continue;
			memcpy(dn, o->maps[j], len);
			dn[len] = '\0';
			if (scn_device_by_name(scn, dn))
				used[j] = true;
		}
		scn_free(scn);
	}
	for (j = 0; j < o->nmaps; j++) {
		if (!used[j]) {
			error_setg(errp, "--map %s: no selected scenario has a device '%.*s'",
				   o->maps[j], (int)(strchr(o->maps[j], '=') - o->maps[j]),
				   o->maps[j]);
			free(used);
			return false;
		}
	}
	free(used);
	return true;
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

int hx_run(const HxSuite *suite, const HxRunOptions *o)
{
	Run run = { .suite = suite, .o = o };
	struct pollfd *pfd;
	Job **pjob;
	int *pwhich;
	SavedSignals saved;
	const char *tmp = getenv("TMPDIR"), *self;
	double t0 = now_s();
	int stopped = 0, rc;
	unsigned i;
	Error *err = NULL;

	if (!o->host && o->nmaps) {
		fprintf(stderr, "vfio-harness: --map is for --backend host\n"
			"Try 'vfio-harness run --help'.\n");
		return 2;
	}
	if (!maps_check(suite, o, &err)) {
		fprintf(stderr, "vfio-harness: %s\nTry 'vfio-harness run --help'.\n",
			error_get_pretty(err));
		error_free(err);
		return 2;
	}
	self = self_exe(&err);
	if (!self) {
		error_report_err("vfio-harness", err);
		return 2;
	}
	run.self = xstrdup(self);
	if (!o->host) {
		const char *env = getenv("VFIO_HARNESS_FAKEVFIO");

		if (env && *env) {
			run.fakevfio = xstrdup(env);
		} else {
			char *slash;

			run.fakevfio = xasprintf("%s", run.self);
			slash = strrchr(run.fakevfio, '/');
			slash[1] = '\0';
			slash = run.fakevfio;
			run.fakevfio = xasprintf("%sfakevfio", slash);
			free(slash);
		}
		if (access(run.fakevfio, X_OK) < 0) {
			fprintf(stderr, "vfio-harness: cannot run fakevfio at %s: %s "
				"(build it, or set VFIO_HARNESS_FAKEVFIO)\n",
				run.fakevfio, strerror(errno));
			free(run.self);
			free(run.fakevfio);
			return 2;
		}
	}
	if (o->trace_dir && mkdir(o->trace_dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "vfio-harness: --trace %s: %s\n", o->trace_dir, strerror(errno));
		free(run.self);
		free(run.fakevfio);
		return 2;
	}
	run.tmpdir = xasprintf("%s/vfio-harness.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(run.tmpdir)) {
		fprintf(stderr, "vfio-harness: cannot create a directory %s: %s\n",
			run.tmpdir, strerror(errno));
		free(run.self);
		free(run.fakevfio);
		free(run.tmpdir);
		return 2;
	}
	if (!signals_setup(&saved, &err)) {
		error_report_err("vfio-harness", err);
		rmdir(run.tmpdir);
		free(run.self);
		free(run.fakevfio);
		free(run.tmpdir);
		return 2;
	}

	run.results = xmalloc(suite->n * sizeof(*run.results));
	run.finished = xmalloc(suite->n * sizeof(*run.finished));
	for (i = 0; i < suite->n; i++)
		run.results[i].name = suite->names[i];
	run.jobs = xmalloc(o->jobs * sizeof(*run.jobs));
	pfd = xmalloc((1 + NFDS * o->jobs) * sizeof(*pfd));
	pjob = xmalloc((1 + NFDS * o->jobs) * sizeof(*pjob));
	pwhich = xmalloc((1 + NFDS * o->jobs) * sizeof(*pwhich));
	run.progress = isatty(STDERR_FILENO);
	if (o->tap)
		hx_report_tap_plan(stdout, suite->n);

	for (;;) {
		double now = now_s(), wait = -1;
		unsigned np = 0;
		int timeout_ms;

		if (got_signal && !stopped) {
			stopped = got_signal;
			for (i = 0; i < run.njobs; i++) {
				run.jobs[i].stopped_by = stopped;
				job_kill(&run.jobs[i], SIGTERM, now);
			}
		} else if (stopped && signal_count > 1) {
			/* A second signal: no more grace. */
			for (i = 0; i < run.njobs; i++)
				job_kill(&run.jobs[i], SIGKILL, now);
			signal_count = 1;
		}

		/* Reap, time out, escalate, finish. */
		for (i = 0; i < run.njobs;) {
			Job *job = &run.jobs[i];

			if (!job->reaped) {
				siginfo_t si;

				/*
				 * WNOWAIT: the zombie keeps the process group's id
				 * from being reused until job_finish has killed
				 * what is left of the group and reaped it.
				 */
				memset(&si, 0, sizeof(si));
				if (waitid(P_PID, (id_t)job->pid, &si,
					   WEXITED | WNOHANG | WNOWAIT) == 0 &&
				    si.si_pid == job->pid) {
					job->reaped = true;
					if (job_fds_open(job))
						job->eof_wait = now + HX_KILL_GRACE;
				}
			}
			if (!job->reaped && job->deadline && now >= job->deadline &&
			    !job->timed_out && !job->stopped_by) {
				job->timed_out = true;
				job_kill(job, SIGTERM, now);
			}
			if (job->kill_at && now >= job->kill_at && (!job->reaped || job_fds_open(job))) {
				kill(-job->pid, SIGKILL);
				job->kill_at = 0;
			}
			if (job->reaped && job_fds_open(job) && now >= job->eof_wait) {
				/*
				 * Something of its process group still holds the
				 * pipes: the group still exists, so its id is not
				 * reused yet.
				 */
				unsigned k;

				kill(-job->pid, SIGKILL);
				for (k = 0; k < NFDS; k++)
					if (job->fd[k] >= 0)
						job_read(&run, job, k);
				for (k = 0; k < NFDS; k++)
					if (job->fd[k] >= 0) {
						close(job->fd[k]);
						job->fd[k] = -1;
					}
			}
			if (job->reaped && !job_fds_open(job)) {
				job_finish(&run, job, now);
				continue;	/* the slot now holds another job */
			}
			i++;
		}
		if (!run.njobs && (stopped || run.next >= suite->n))
			break;
		if (!stopped && run.njobs < o->jobs && run.next < suite->n) {
			/* A slot is free: fill it, then look again. */
			start(&run, run.next++);
			continue;
		}
		progress_show(&run);

		pfd[np].fd = wake_pipe[0];
		pfd[np].events = POLLIN;
		pjob[np] = NULL;
		np++;
		for (i = 0; i < run.njobs; i++) {
			Job *job = &run.jobs[i];
			int k;

			for (k = 0; k < NFDS; k++) {
				if (job->fd[k] < 0)
					continue;
				pfd[np].fd = job->fd[k];
				pfd[np].events = POLLIN;
				pjob[np] = job;
				pwhich[np] = k;
				np++;
			}
#define SOONER(t) do { if ((t) > 0 && (wait < 0 || (t) - now < wait)) \
			wait = (t) - now < 0 ? 0 : (t) - now; } while (0)
			if (!job->timed_out && !job->stopped_by)
				SOONER(job->deadline);
			SOONER(job->kill_at);
			if (job->reaped)
				SOONER(job->eof_wait);
#undef SOONER
		}
		timeout_ms = wait < 0 ? -1 : (int)(wait * 1000) + 1;
		if (poll(pfd, np, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vfio-harness: poll: %s\n", strerror(errno));
			if (!got_signal)
				got_signal = SIGTERM;	/* stop everything, then report */
			signal_count++;
			continue;
		}
		for (i = 0; i < np; i++) {
			if (!pfd[i].revents)
				continue;
			if (!pjob[i]) {
				char drain[64];

				while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
					;
				continue;
			}
			job_read(&run, pjob[i], pwhich[i]);
		}
	}

	/* Whatever did not run. */
	for (i = 0; i < suite->n; i++) {
		if (!run.finished[i]) {
			run.results[i].outcome = HX_NOT_RUN;
			run.results[i].not_run = "not run (interrupted)";
			run.finished[i] = true;
		}
	}
	print_ready(&run);
	progress_erase(&run);
	{
		double wall = now_s() - t0;
		char why[64];

		snprintf(why, sizeof(why), "by %s", signal_name(stopped));
		hx_report_summary(o->tap ? stderr : stdout, run.results, suite->n, wall,
				  o->jobs, stopped ? why : NULL);
		fflush(stdout);
		rc = run.nfailed ? 1 : 0;
		if (o->junit && !hx_report_junit(o->junit, run.results, suite->n, wall, &err)) {
			error_report_err("vfio-harness", err);
			rc = 2;
		}
	}
	if (stopped)
		rc = 128 + stopped;

	signals_restore(&saved);
	rmdir(run.tmpdir);
	for (i = 0; i < suite->n; i++)
		hx_result_free(&run.results[i]);
	free(run.results);
	free(run.finished);
	free(run.jobs);
	free(pfd);
	free(pjob);
	free(pwhich);
	free(run.self);
	free(run.fakevfio);
	free(run.tmpdir);
	return rc;
}
