/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/run.h: running CMD under the fake kernel the way a shell runs a
 * command: same process group, INT/TERM/HUP/QUIT forwarded, exit status
 * passed through (128 + N when CMD died of signal N).
 *
 * The caller blocks fv_run_signals() in every thread (before creating
 * any) and waits for them with fv_run_wait.  CMD is killed (SIGKILL, via
 * PR_SET_PDEATHSIG) if fakevfio dies first.
 */
#ifndef FAKEVFIO_RUN_H
#define FAKEVFIO_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

enum {
	FV_RUN_EXIT_FAILURE = 125,	/* fakevfio itself failed */
	FV_RUN_EXIT_CANNOT_EXEC = 126,	/* CMD found but not executable */
	FV_RUN_EXIT_NOT_FOUND = 127,	/* CMD not found */
};

/* The signals fakevfio waits for: the forwarded ones and SIGCHLD. */
void fv_run_signals(sigset_t *set);

/*
 * Find cmd as execvp would (PATH search unless it has a '/').  Returns a
 * malloc'ed path, or NULL with *exit_code set to 126 or 127 and errp.
 */
char *fv_run_which(const char *cmd, int *exit_code, Error **errp);

/*
 * A forwarded signal that arrived before CMD existed (0: none).  CMD is
 * not started then: fakevfio exits as if CMD had died of it.
 */
int fv_run_pending(const sigset_t *set);

/* Something to do around the fork (fakevfio/seccomp.h installs a filter). */
typedef struct FvRunHook {
	/*
	 * In the child, before exec: async-signal-safe only.  0 to go on to
	 * the exec, or an errno that fails the run with "<what>: <strerror>"
	 * (exit status 125).  It may also exec path with argv itself (through
	 * a helper program), which then reports through report_fd with
	 * fv_run_report; it returns only if that exec failed.
	 */
	int (*child)(void *opaque, const char *path, char *const argv[], int report_fd);
	/* In the parent, right after the fork (may be NULL). */
	void (*parent)(void *opaque);
	const char *what;
	void *opaque;
} FvRunHook;

/*
 * Fork and exec path with argv (restoring signal mask orig in the child),
 * running hook (may be NULL) around the fork.  Returns CMD's pid, or -1
 * with *exit_code (125/126/127) and errp when the hook or the exec failed
 * (the child has then been reaped).
 */
pid_t fv_run_spawn(const char *path, char *const argv[], const sigset_t *orig,
		   const FvRunHook *hook, int *exit_code, Error **errp);

/*
 * For a helper that the hook execs in CMD's place: tell fv_run_spawn, over
 * report_fd, that the hook's work (hook true) or the exec of CMD (false)
 * failed with errno err.  Async-signal-safe.
 */
void fv_run_report(int report_fd, bool hook, int err);

/*
 * Forward signals to pid until it exits; returns the exit status a shell
 * would report (0-255, 128 + signal).
 */
int fv_run_wait(pid_t pid, const sigset_t *set);

#endif
