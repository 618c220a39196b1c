/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/evloop.c: the epoll thread.
 *
 * Each watch has a unique 64-bit id, which is what epoll carries, so an
 * event fetched for a watch that was deleted (or deleted and re-added with
 * the same fd number) before its dispatch is recognised and skipped.  The
 * loop marks the watch it is running; del waits on a condition variable
 * until that mark moves on.
 */
#include "evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum {
	EVLOOP_BATCH = 16,
	EVLOOP_WAKE_ID = 0,	/* the epoll id of the stop eventfd */
	EVLOOP_LOCK_POLL_NS = 50 * 1000,
};

typedef struct Watch {
	struct Watch *next;
	uint64_t id;
	int fd;
	FvEvloopFn fn;
	void *opaque;
	bool dead;		/* deleted while running: the loop frees it */
} Watch;

struct FvEvloop {
	pthread_mutex_t lock;
	pthread_cond_t idle;	/* signalled whenever a callback returns */
	pthread_t thread;
	int epfd, wakefd;
	bool stop;
	Watch *watches;		/* the live ones */
	uint64_t next_id;
	Watch *running;		/* the watch whose callback runs, or NULL */
	uint64_t running_id;	/* its id (0: none) */
};

static Watch *find_fd(FvEvloop *loop, int fd, Watch ***link)
{
	for (Watch **pp = &loop->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static Watch *find_id(FvEvloop *loop, uint64_t id)
{
	for (Watch *w = loop->watches; w; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

static void dispatch(FvEvloop *loop, const struct epoll_event *ev)
{
	Watch *w;

	pthread_mutex_lock(&loop->lock);
	w = loop->stop ? NULL : find_id(loop, ev->data.u64);
	if (!w) {
		pthread_mutex_unlock(&loop->lock);
		return;
	}
	loop->running = w;
	loop->running_id = w->id;
	pthread_mutex_unlock(&loop->lock);

	w->fn(w->opaque, w->fd, ev->events);

	pthread_mutex_lock(&loop->lock);
	loop->running = NULL;
	loop->running_id = 0;
	if (w->dead)
		free(w);
	pthread_cond_broadcast(&loop->idle);
	pthread_mutex_unlock(&loop->lock);
}

static void *loop_main(void *arg)
{
	FvEvloop *loop = arg;
	struct epoll_event evs[EVLOOP_BATCH];

	for (;;) {
		int n = epoll_wait(loop->epfd, evs, EVLOOP_BATCH, -1);
		bool stop;

		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&loop->lock);
		stop = loop->stop;
		pthread_mutex_unlock(&loop->lock);
		if (stop)
			break;
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 != EVLOOP_WAKE_ID)
				dispatch(loop, &evs[i]);
	}
	return NULL;
}

FvEvloop *fv_evloop_new(Error **errp)
{
	FvEvloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EVLOOP_WAKE_ID };
	int err;

	if (!loop) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	loop->next_id = 1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
		error_setg_errno(errp, errno, "event loop");
		goto fail;
	}
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->idle, NULL);
	err = pthread_create(&loop->thread, NULL, loop_main, loop);
	if (err) {
		error_setg_errno(errp, err, "event loop thread");
		pthread_cond_destroy(&loop->idle);
		pthread_mutex_destroy(&loop->lock);
		goto fail;
	}
	return loop;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop);
	return NULL;
}

void fv_evloop_free(FvEvloop *loop)
{
	uint64_t one = 1;
	ssize_t r;

	if (!loop)
		return;
	pthread_mutex_lock(&loop->lock);
	loop->stop = true;
	pthread_mutex_unlock(&loop->lock);
	r = write(loop->wakefd, &one, sizeof(one));
	(void)r;
	pthread_join(loop->thread, NULL);
	while (loop->watches) {
		Watch *w = loop->watches;

		loop->watches = w->next;
		free(w);
	}
	close(loop->epfd);
	close(loop->wakefd);
	pthread_cond_destroy(&loop->idle);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int fv_evloop_add(FvEvloop *loop, int fd, FvEvloopFn fn, void *opaque)
{
	struct epoll_event ev = { .events = EPOLLIN };
	Watch *w;
	int ret = 0;

	if (fd < 0 || !fn)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&loop->lock);
	if (find_fd(loop, fd, NULL)) {
		ret = -EEXIST;
		goto out;
	}
	w->id = loop->next_id++;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	ev.data.u64 = w->id;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	w->next = loop->watches;
	loop->watches = w;
	w = NULL;
out:
	pthread_mutex_unlock(&loop->lock);
	free(w);
	return ret;
}

int fv_evloop_del(FvEvloop *loop, int fd)
{
	Watch **link, *w;
	uint64_t id;

	pthread_mutex_lock(&loop->lock);
	w = find_fd(loop, fd, &link);
	if (!w) {
		pthread_mutex_unlock(&loop->lock);
		return -ENOENT;
	}
	*link = w->next;
	/* Fails only if fd was closed already, which removed it too. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	id = w->id;
	if (loop->running_id != id) {
		free(w);
	} else {
		w->dead = true;		/* the loop frees it when it returns */
		if (!pthread_equal(pthread_self(), loop->thread))
			while (loop->running_id == id)
				pthread_cond_wait(&loop->idle, &loop->lock);
	}
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

bool fv_evloop_in_loop(FvEvloop *loop)
{
	return pthread_equal(pthread_self(), loop->thread);
}

bool fv_evloop_cancelled(FvEvloop *loop)
{
	bool dead;

	pthread_mutex_lock(&loop->lock);
	dead = loop->running && (loop->running->dead || loop->stop) &&
	       pthread_equal(pthread_self(), loop->thread);
	pthread_mutex_unlock(&loop->lock);
	return dead;
}

bool fv_evloop_lock_sim(FvEvloop *loop, SimDevice *dev)
{
	const struct timespec nap = { 0, EVLOOP_LOCK_POLL_NS };

	while (!sim_device_trylock(dev)) {
		if (fv_evloop_cancelled(loop))
			return false;
		nanosleep(&nap, NULL);
	}
	if (fv_evloop_cancelled(loop)) {
		sim_device_unlock(dev);
		return false;
	}
	return true;
}
