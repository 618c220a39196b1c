/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/run.c: start CMD, forward signals, collect its status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

void fv_run_signals(sigset_t *set)
{
	sigemptyset(set);
	for (unsigned i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

/* 0 if path is an executable regular file, else an errno. */
static int check_exec(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return EACCES;
	return 0;
}

char *fv_run_which(const char *cmd, int *exit_code, Error **errp)
{
	const char *path = getenv("PATH"), *p;
	int seen = ENOENT;

	if (!*cmd) {
		*exit_code = FV_RUN_EXIT_NOT_FOUND;
		error_setg(errp, "the command is an empty string");
		return NULL;
	}
	if (strchr(cmd, '/')) {
		int err = check_exec(cmd);

		if (!err)
			return strdup(cmd);
		*exit_code = err == ENOENT || err == ENOTDIR ?
			     FV_RUN_EXIT_NOT_FOUND : FV_RUN_EXIT_CANNOT_EXEC;
		error_setg(errp, "cannot run '%s': %s", cmd, strerror(err));
		return NULL;
	}
	if (!path)
		path = "/bin:/usr/bin";	/* confstr(_CS_PATH), as execvp */
	for (p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char *cand = NULL;
		int err;

		/* An empty PATH element is the current directory. */
		if (asprintf(&cand, "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/",
			     cmd) < 0) {
			*exit_code = FV_RUN_EXIT_FAILURE;
			error_setg(errp, "out of memory");
			return NULL;
		}
		err = check_exec(cand);
		if (!err)
			return cand;
		free(cand);
		if (err == EACCES || err == EISDIR)
			seen = EACCES;
		if (!*end)
			break;
		p = end;
	}
	if (seen == EACCES) {
		*exit_code = FV_RUN_EXIT_CANNOT_EXEC;
		error_setg(errp, "cannot run '%s': %s", cmd, strerror(EACCES));
	} else {
		*exit_code = FV_RUN_EXIT_NOT_FOUND;
		error_setg(errp, "%s: command not found", cmd);
	}
	return NULL;
}

int fv_run_pending(const sigset_t *set)
{
	struct timespec zero = { 0, 0 };
	sigset_t fwd = *set;
	int sig;

	sigdelset(&fwd, SIGCHLD);
	sig = sigtimedwait(&fwd, NULL, &zero);
	return sig > 0 ? sig : 0;
}

/* What the child reports through the close-on-exec pipe. */
typedef struct SpawnError {
	int hook;		/* 1: the hook failed, 0: execve did */
	int err;
} SpawnError;

void fv_run_report(int report_fd, bool hook, int err)
{
	SpawnError se = { hook, err };
	ssize_t n = write(report_fd, &se, sizeof(se));

	(void)n;
}

pid_t fv_run_spawn(const char *path, char *const argv[], const sigset_t *orig,
		   const FvRunHook *hook, int *exit_code, Error **errp)
{
	pid_t parent = getpid(), pid;
	SpawnError se = { 0, 0 };
	int pfd[2];
	ssize_t n;

	/* The child reports a failed hook or exec through a close-on-exec pipe. */
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*exit_code = FV_RUN_EXIT_FAILURE;
		error_setg_errno(errp, errno, "pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*exit_code = FV_RUN_EXIT_FAILURE;
		error_setg_errno(errp, errno, "fork");
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		close(pfd[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(FV_RUN_EXIT_FAILURE);
		sigprocmask(SIG_SETMASK, orig, NULL);
		if (hook && hook->child) {
			int err = hook->child(hook->opaque, path, argv, pfd[1]);

			if (err) {
				fv_run_report(pfd[1], true, err);
				_exit(FV_RUN_EXIT_FAILURE);
			}
		}
		execve(path, argv, environ);
		fv_run_report(pfd[1], false, errno);
		_exit(FV_RUN_EXIT_CANNOT_EXEC);
	}
	close(pfd[1]);
	if (hook && hook->parent)
		hook->parent(hook->opaque);
	do {
		n = read(pfd[0], &se, sizeof(se));
	} while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == sizeof(se)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (se.hook) {
			*exit_code = FV_RUN_EXIT_FAILURE;
			error_setg(errp, "%s: %s", hook->what, strerror(se.err));
			return -1;
		}
		*exit_code = se.err == ENOENT ? FV_RUN_EXIT_NOT_FOUND : FV_RUN_EXIT_CANNOT_EXEC;
		error_setg(errp, "cannot run '%s': %s", path, strerror(se.err));
		return -1;
	}
	return pid;
}

int fv_run_wait(pid_t pid, const sigset_t *set)
{
	/*
	 * A signal the kernel generated (si_code SI_KERNEL: the terminal's
	 * ^C, ^\) went to the whole foreground process group, CMD included:
	 * forwarding it would deliver it twice.  Except the hangup a session
	 * leader gets alone when its terminal goes away.
	 */
	bool leader = getsid(0) == getpid();

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si), status;

		if (sig < 0)
			continue;	/* EINTR (a stop/continue) */
		if (sig == SIGCHLD) {
			pid_t r = waitpid(pid, &status, WNOHANG);

			if (r < 0 && errno == ECHILD)
				return FV_RUN_EXIT_FAILURE;
			if (r != pid)
				continue;	/* stopped or continued */
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		if (si.si_code == SI_KERNEL && !(leader && sig == SIGHUP))
			continue;
		kill(pid, sig);
	}
}
