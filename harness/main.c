/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-harness: replay scenario files against the passthrough core, on
 * the simulator (under fakevfio) or on the host's VFIO.  Subcommands:
 * run, list, check (harness/runner), exec (harness/exec), record
 * (harness/record).  harness/README.md is the manual.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/exec.h"
#include "harness/record.h"
#include "harness/runner.h"

#define HX_VERSION "0.1"
#define HX_MAX_JOBS 256

static const char usage_main[] =
	"Usage: vfio-harness COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Replay VFIO passthrough scenarios (scenarios/README.md) against the\n"
	"passthrough core: on the simulator under fakevfio (the default), or on\n"
	"the host's VFIO with --backend host.\n"
	"\n"
	"Commands:\n"
	"  run PATH...      run scenario files (directories: every *.scn in them)\n"
	"  list PATH...     print the scenarios 'run' would run, one per line\n"
	"  check PATH...    parse the scenarios, print every error\n"
	"  exec FILE        run one scenario in this process (what 'run' starts)\n"
	"  record TRACE     turn a fakevfio operation trace into a scenario\n"
	"  help [COMMAND]   this text, or a command's options\n"
	"\n"
	"  -h, --help       this text\n"
	"  --version        the version\n"
	"\n"
	"Exit status of run: 0 all passed, 1 a scenario failed, 2 usage error,\n"
	"3 no scenario selected.  See harness/README.md.\n";

static const char usage_run[] =
	"Usage: vfio-harness run [OPTIONS] PATH...\n"
	"\n"
	"Run every scenario of PATH (a .scn file, or a directory searched\n"
	"recursively for *.scn), each in a fresh process, and report.\n"
	"\n"
	"Selection (also for list and check):\n"
	"  -k PATTERN         keep scenarios whose name contains PATTERN, or matches\n"
	"                     it as a glob when it has * ? or [ (repeatable: any)\n"
	"  --shard I/N        then keep every N-th, from the I-th (1 <= I <= N)\n"
	"\n"
	"Running:\n"
	"  --backend sim|host sim (default): under fakevfio run; host: the real VFIO\n"
	"  --map NAME=BDF     host backend: device NAME is the host's BDF (repeatable)\n"
	"  -j, --jobs N       run up to N scenarios at once (default 1)\n"
	"  --timeout SEC      per scenario (default 120; 0: none)\n"
	"  --trace DIR        keep each fakevfio operation trace in DIR/NAME.trace\n"
	"\n"
	"Reports:\n"
	"  -v, --verbose      every scenario's output and skipped steps\n"
	"  --tap              TAP version 13 on stdout (the summary on stderr)\n"
	"  --junit FILE       also write a JUnit XML report to FILE\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 nothing failed, 1 a scenario failed, 2 usage or setup\n"
	"error, 3 no scenario selected, 128+N interrupted by signal N.\n";

static const char usage_list[] =
	"Usage: vfio-harness list [OPTIONS] PATH...\n"
	"\n"
	"Print the names of the scenarios 'run' would run with the same options,\n"
	"one per line, in the order it runs them.  Takes every option of 'run'\n"
	"(only -k and --shard change the list).\n"
	"\n"
	"  -k PATTERN         keep names containing PATTERN (or matching a glob)\n"
	"  --shard I/N        every N-th scenario from the I-th\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0, 2 usage error, 3 no scenario selected.\n";

static const char usage_check[] =
	"Usage: vfio-harness check [-k PATTERN]... [--shard I/N] [-v] PATH...\n"
	"\n"
	"Parse every selected scenario and print each parse error as\n"
	"FILE:LINE:COL: error: MESSAGE on stderr; run nothing.\n"
	"\n"
	"  -k PATTERN         keep names containing PATTERN (or matching a glob)\n"
	"  --shard I/N        every N-th scenario from the I-th\n"
	"  -v, --verbose      print 'ok  NAME' for each good scenario\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 no error, 1 a scenario has an error, 2 usage error,\n"
	"3 no scenario selected.\n";

typedef enum Cmd { CMD_RUN, CMD_LIST, CMD_CHECK } Cmd;

static const char *cmd_name(Cmd c)
{
	return c == CMD_RUN ? "run" : c == CMD_LIST ? "list" : "check";
}

static int usage_error(Cmd c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(Cmd c, const char *fmt, ...)
{
	va_list ap;

	fputs("vfio-harness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vfio-harness %s --help'.\n", cmd_name(c));
	return 2;
}

enum {
	OPT_BACKEND = 0x100,
	OPT_MAP,
	OPT_JUNIT,
	OPT_TAP,
	OPT_TRACE,
	OPT_SHARD,
	OPT_TIMEOUT,
};

static const struct option run_options[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "map", required_argument, NULL, OPT_MAP },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "tap", no_argument, NULL, OPT_TAP },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "jobs", required_argument, NULL, 'j' },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* "--name" (or "-j") of an option of run_options. */
static const char *option_name(int c)
{
	static char buf[64];
	unsigned i;

	for (i = 0; run_options[i].name; i++)
		if (run_options[i].val == c)
			break;
	if (c == 'j' || !run_options[i].name)
		snprintf(buf, sizeof(buf), "-%c", c);
	else
		snprintf(buf, sizeof(buf), "--%s", run_options[i].name);
	return buf;
}

/* run, list, check. */
static int cmd_suite(Cmd cmd, int argc, char **argv)
{
	HxRunOptions o = { .jobs = 1, .timeout = 120 };
	HxSelect sel = { 0 };
	HxSuite suite;
	Error *err = NULL;
	char **patterns, **maps;
	int c, rc;

	patterns = calloc((size_t)argc + 1, sizeof(*patterns));
	maps = calloc((size_t)argc + 1, sizeof(*maps));
	if (!patterns || !maps) {
		fputs("vfio-harness: out of memory\n", stderr);
		return 2;
	}
	sel.patterns = patterns;
	o.maps = maps;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hk:j:v", run_options, NULL)) != -1) {
		char *end;

		/* check takes the selection options and -v only. */
		if (cmd == CMD_CHECK && c != 'k' && c != OPT_SHARD && c != 'v' &&
		    c != 'h' && c != '?' && c != ':') {
			rc = usage_error(cmd, "check: '%s' is an option of 'run' only",
					 option_name(c));
			goto out;
		}
		switch (c) {
		case 'h':
			fputs(cmd == CMD_RUN ? usage_run : cmd == CMD_LIST ? usage_list :
			      usage_check, stdout);
			rc = 0;
			goto out;
		case 'k':
			sel.patterns[sel.npatterns++] = optarg;
			break;
		case OPT_SHARD:
			if (!hx_shard_parse(optarg, &sel.shard_index, &sel.shard_count, &err)) {
				rc = usage_error(cmd, "%s", error_get_pretty(err));
				error_free(err);
				goto out;
			}
			break;
		case 'v':
			o.verbose = true;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "sim") == 0)
				o.host = false;
			else if (strcmp(optarg, "host") == 0)
				o.host = true;
			else {
				rc = usage_error(cmd, "--backend %s: expected sim or host", optarg);
				goto out;
			}
			break;
		case OPT_MAP:
			o.maps[o.nmaps++] = optarg;
			break;
		case OPT_JUNIT:
			if (!*optarg) {
				rc = usage_error(cmd, "--junit needs a file name");
				goto out;
			}
			o.junit = optarg;
			break;
		case OPT_TAP:
			o.tap = true;
			break;
		case OPT_TRACE:
			if (!*optarg) {
				rc = usage_error(cmd, "--trace needs a directory");
				goto out;
			}
			o.trace_dir = optarg;
			break;
		case 'j': {
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || n < 1 ||
			    n > HX_MAX_JOBS) {
				rc = usage_error(cmd, "-j %s: expected a number of jobs from 1 to "
						 "256", optarg);
				goto out;
			}
			o.jobs = (unsigned)n;
			break;
		}
		case OPT_TIMEOUT:
			errno = 0;
			o.timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o.timeout) ||
			    o.timeout < 0 || o.timeout > 7 * 86400) {
				rc = usage_error(cmd, "--timeout %s: expected seconds, from 0 "
						 "(none) to 604800", optarg);
				goto out;
			}
			break;
		case ':':
			if (optopt && optopt < 0x100) {
				char opt[3] = { '-', (char)optopt, '\0' };

				rc = usage_error(cmd, "option '%s' needs an argument", opt);
			} else {
				rc = usage_error(cmd, "option '%s' needs an argument",
						 argv[optind - 1]);
			}
			goto out;
		default:
			if (optopt) {
				char opt[3] = { '-', (char)optopt, '\0' };

				rc = usage_error(cmd, "unknown option '%s'", opt);
			} else {
				rc = usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
			}
			goto out;
		}
	}
	if (optind >= argc) {
		rc = usage_error(cmd, "%s: no PATH given (a .scn file or a directory)",
				 cmd_name(cmd));
		goto out;
	}
	if (o.tap && o.verbose && cmd == CMD_RUN) {
		/* Result lines and TAP would interleave on stdout. */
		rc = usage_error(cmd, "--tap and -v do not go together");
		goto out;
	}
	if (!hx_suite_collect(argv + optind, (unsigned)(argc - optind), &sel, &suite, &err)) {
		fprintf(stderr, "vfio-harness: %s\n", error_get_pretty(err));
		error_free(err);
		rc = 2;
		goto out;
	}
	if (suite.n == 0) {
		if (suite.total == 0)
			fprintf(stderr, "vfio-harness: no scenarios selected: no *.scn file "
				"in the PATHs given\n");
		else
			fprintf(stderr, "vfio-harness: no scenarios selected: -k/--shard "
				"kept none of the %u found\n", suite.total);
		hx_suite_free(&suite);
		rc = 3;
		goto out;
	}
	switch (cmd) {
	case CMD_LIST: {
		unsigned i;

		for (i = 0; i < suite.n; i++)
			printf("%s\n", suite.names[i]);
		rc = fflush(stdout) == 0 ? 0 : 2;
		break;
	}
	case CMD_CHECK:
		rc = hx_check(&suite, o.verbose);
		break;
	default:
		rc = hx_run(&suite, &o);
		break;
	}
	hx_suite_free(&suite);
out:
	free(patterns);
	free(maps);
	return rc;
}

static int help(const char *topic)
{
	char *argv[3] = { NULL, (char *)"--help", NULL };

	if (!topic) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(topic, "run") == 0)
		fputs(usage_run, stdout);
	else if (strcmp(topic, "list") == 0)
		fputs(usage_list, stdout);
	else if (strcmp(topic, "check") == 0)
		fputs(usage_check, stdout);
	else if (strcmp(topic, "exec") == 0 || strcmp(topic, "record") == 0) {
		argv[0] = (char *)topic;
		return topic[0] == 'e' ? hx_exec_main(2, argv) : hx_record_main(2, argv);
	} else if (strcmp(topic, "help") == 0)
		fputs(usage_main, stdout);
	else {
		fprintf(stderr, "vfio-harness: help: unknown command '%s'\n"
			"Try 'vfio-harness --help'.\n", topic);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs("vfio-harness: no command given\nTry 'vfio-harness --help'.\n", stderr);
		return 2;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(NULL);
	if (strcmp(cmd, "help") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("vfio-harness (vfiosim) %s\n", HX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_suite(CMD_RUN, argc - 1, argv + 1);
	if (strcmp(cmd, "list") == 0)
		return cmd_suite(CMD_LIST, argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_suite(CMD_CHECK, argc - 1, argv + 1);
	if (strcmp(cmd, "exec") == 0)
		return hx_exec_main(argc - 1, argv + 1);
	if (strcmp(cmd, "record") == 0)
		return hx_record_main(argc - 1, argv + 1);
	fprintf(stderr, "vfio-harness: unknown command '%s'\nTry 'vfio-harness --help'.\n",
		cmd);
	return 2;
}
