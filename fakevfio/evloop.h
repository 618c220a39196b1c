/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/evloop.h: one epoll thread that watches file descriptors for the
 * daemon (the INTx unmask eventfd, later IOEVENTFD) and runs a callback when
 * one becomes readable.
 *
 * Watches are level-triggered on EPOLLIN: a callback must consume what made
 * the fd readable or it is called again.  Callbacks run one at a time on the
 * loop thread.
 *
 * Teardown rule: after fv_evloop_del returns, the callback of that watch is
 * not running and will not run again (unless del was called from that very
 * callback, which then simply finishes).  A caller may hold a lock that the
 * callback wants -- typically the sim device lock -- while it calls del, so a
 * callback must never block on such a lock: it takes it with
 * fv_evloop_lock_sim(), which gives up when the watch was deleted meanwhile.
 */
#ifndef FAKEVFIO_EVLOOP_H
#define FAKEVFIO_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "sim/sim.h"

typedef struct FvEvloop FvEvloop;

/* fd became readable (events: the epoll events seen). */
typedef void (*FvEvloopFn)(void *opaque, int fd, uint32_t events);

/* Create the loop and start its thread. */
FvEvloop *fv_evloop_new(Error **errp);
/*
 * Stop the thread and drop every watch (the fds are not closed).  Waits for
 * a running callback; one waiting in fv_evloop_lock_sim gives up.  Not from
 * a callback.  NULL is a no-op.
 */
void fv_evloop_free(FvEvloop *loop);

/*
 * Watch fd (which stays the caller's: del it before closing it).  0, or
 * -EEXIST when fd is watched already, or another negative errno.
 */
int fv_evloop_add(FvEvloop *loop, int fd, FvEvloopFn fn, void *opaque);
/*
 * Stop watching fd; when its callback is running on the loop thread, wait
 * for it to return (not when called from the loop thread itself).
 * 0, or -ENOENT when fd is not watched.
 */
int fv_evloop_del(FvEvloop *loop, int fd);

/* Whether the calling thread is the loop thread. */
bool fv_evloop_in_loop(FvEvloop *loop);
/*
 * From a callback: whether its own watch has been deleted meanwhile (or the
 * loop is being freed).
 */
bool fv_evloop_cancelled(FvEvloop *loop);
/*
 * From a callback: take dev's lock, waiting as long as another thread holds
 * it, but give up -- return false, lock not taken -- as soon as the watch is
 * deleted (its deleter may hold the lock and wait for this callback).  On
 * false the callback must return without touching what its watch guarded.
 */
bool fv_evloop_lock_sim(FvEvloop *loop, SimDevice *dev);

#endif
