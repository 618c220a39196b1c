/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/seccomp.h: how VFIO_GROUP_GET_DEVICE_FD makes a new fd in the
 * caller, which a FUSE server cannot.
 *
 * `fakevfio run` installs, in CMD before exec, a seccomp filter (built with
 * libseccomp) that returns SECCOMP_RET_USER_NOTIF for
 * ioctl(*, VFIO_GROUP_GET_DEVICE_FD, *) and lets every other system call
 * through.  It is inherited by every thread and child of CMD, static
 * binaries included.  A supervisor thread in fakevfio receives the
 * notifications: for one of fakevfio's group files, vfio.c checks the call
 * as the kernel does and opens a device file, which the supervisor installs
 * in the caller with SECCOMP_IOCTL_NOTIF_ADDFD (SECCOMP_ADDFD_FLAG_SEND,
 * O_CLOEXEC, as the kernel installs device fds); its number is the ioctl's
 * return value.  Errors become the ioctl's errno.  Any other fd: the call
 * goes on to whatever file it is (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *
 * Use with fakevfio/run.h:
 *
 *   FvSeccomp *sc = fv_seccomp_new(&err);         // before fork
 *   FvRunHook hook;  fv_seccomp_hook(sc, &hook);
 *   pid = fv_run_spawn(path, argv, &orig, &hook, &status, &err);
 *   fv_seccomp_start(sc, vfio, &err);               // the supervisor
 *   ...
 *   fv_seccomp_free(sc);                            // stops it
 */
#ifndef FAKEVFIO_SECCOMP_H
#define FAKEVFIO_SECCOMP_H

#include <stdbool.h>

#include "common/error.h"
#include "run.h"
#include "vfio.h"

typedef struct FvSeccomp FvSeccomp;

/*
 * `fakevfio FV_SECCOMP_HELPER_ARG SOCK REPORT PATH ARGV...`: the helper
 * that installs the filter in CMD's place when fakevfio cannot (valgrind);
 * main() hands it over at once.  Internal.
 */
#define FV_SECCOMP_HELPER_ARG "--seccomp-exec-helper"
int fv_seccomp_helper_main(int argc, char **argv);

/* Build the filter program.  NULL with errp on failure. */
FvSeccomp *fv_seccomp_new(Error **errp);
/*
 * The fv_run_spawn hook: the child installs the filter (asking for a
 * notification listener) and passes the listener to the parent.
 */
void fv_seccomp_hook(FvSeccomp *sc, FvRunHook *hook);
/* Serve the notifications for v (after fv_run_spawn). */
bool fv_seccomp_start(FvSeccomp *sc, FvVfio *v, Error **errp);
/*
 * Stop the supervisor and close the listener: a GET_DEVICE_FD issued from
 * then on fails with ENOSYS.  NULL is a no-op.
 */
void fv_seccomp_free(FvSeccomp *sc);

#endif
