/*
 * NAME
 *	policyd-redis 3 - Redis for forumgate-policyd
 * DESCRIPTION
 *	One asynchronous Redis connection per process, on the daemon's
 *	event loop (hiredis' libevent adapter). It keeps the posting
 *	addresses in memory, read at connect and every policy_refresh with
 *	one HGETALL, so a recipient that is not a list address is answered
 *	without a round trip; a failed read keeps the addresses read last.
 *
 *	hiredis 0.14 has no timeouts in its async API, so this module
 *	runs them: a timer on the connect, and a deadline on every
 *	command. Redis answers in order, so the commands in flight form
 *	a queue and only the oldest can be late: one timer watches the
 *	head of the queue, and an answer costs no timer work. When a
 *	command times out the connection is dropped: the commands queued
 *	behind it are stuck as well.
 *	Freeing the context completes every pending command with an
 *	error, and the waiting clients get their DEFER answers at once.
 *	A dropped or failed connection is retried after a wait that
 *	doubles up to POLICYD_BACKOFF_MAX_MS and starts again at
 *	POLICYD_BACKOFF_MIN_MS once the addresses were read.
 *
 *	A context is never reused after an error, and this module never
 *	frees a context from inside one of hiredis' callbacks (hiredis
 *	frees it itself after a failed connect or a lost connection).
 */
#include "forumgate-config.h"
#include "policyd.h"
#include "fg-store-async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

struct policyd_lookup {
	struct policyd_lookup *prev, *next;	/* in flight, oldest first */
	struct policyd_redis *r;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	policyd_member_cb *callback;	/* NULL: cancelled */
	void *context;
};

/* Finished command records kept for reuse. */
#define LOOKUP_SPARE_MAX 256

struct policyd_redis {
	struct policyd *pd;
	const char *address;
	unsigned int timeout_ms;
	policyd_addresses_cb *callback;

	redisAsyncContext *ac;		/* NULL: waiting to reconnect */
	bool connected;
	unsigned int backoff_ms;
	struct event *connect_timer;
	struct event *retry_timer;
	struct event *refresh_timer;
	struct policyd_lookup *refresh;	/* HGETALL in flight */
	bool stopping;

	/* Commands in flight, in the order Redis answers them. */
	struct policyd_lookup *head, *tail;
	struct event *deadline_timer;	/* watches head's deadline */
	struct policyd_lookup *spare;	/* LIFO of reusable records */
	unsigned int n_spare;

	struct fg_policy_addresses *addresses;
	bool tried;			/* first read finished */
	size_t logged_count, logged_skipped;

	/* Why the connection is down, for the clients' log lines. */
	char error[256];
	/* Set while a context is freed on purpose: the reason the
	   pending commands fail. */
	const char *drop_error;
};

static void redis_connect(struct policyd_redis *r);

/* redis_tv - milliseconds as a timeval */
static struct timeval redis_tv(unsigned int ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/* redis_set_error - remember why Redis is unavailable */
static void redis_set_error(struct policyd_redis *r, const char *error)
{
	snprintf(r->error, sizeof(r->error), "%s", error);
}

/* redis_first_done - the first read of the addresses ended, either
   way: requests that waited for it can be answered now */
static void redis_first_done(struct policyd_redis *r)
{
	if (r->tried || r->stopping)
		return;
	r->tried = true;
	r->callback(r->pd);
}

/* redis_retry_later - a connection attempt or connection failed */
static void redis_retry_later(struct policyd_redis *r)
{
	struct timeval tv = redis_tv(r->backoff_ms);

	if (r->stopping)
		return;
	evtimer_add(r->retry_timer, &tv);
	r->backoff_ms = r->backoff_ms >= POLICYD_BACKOFF_MAX_MS / 2 ?
		POLICYD_BACKOFF_MAX_MS : r->backoff_ms * 2;
	redis_first_done(r);
}

/* redis_drop - free the context on purpose (not from inside hiredis);
   every pending command fails with the reason */
static void redis_drop(struct policyd_redis *r, const char *reason)
{
	redisAsyncContext *ac = r->ac;
	char why[256];

	if (ac == NULL)
		return;
	snprintf(why, sizeof(why), "%s", reason);
	r->ac = NULL;
	r->connected = false;
	evtimer_del(r->connect_timer);
	redis_set_error(r, why);
	r->drop_error = why;
	redisAsyncFree(ac);
	r->drop_error = NULL;
	redis_retry_later(r);
}

/* lookup_ms_until - milliseconds from now to a deadline, 0 if past */
static unsigned int lookup_ms_until(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
		(deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : (unsigned int)ms;
}

/* lookup_new - a command record at the tail of the queue, with its
   deadline */
static struct policyd_lookup *lookup_new(struct policyd_redis *r)
{
	struct policyd_lookup *l = r->spare;

	if (l != NULL) {
		r->spare = l->next;
		r->n_spare--;
		memset(l, 0, sizeof(*l));
	} else {
		l = fg_xcalloc(1, sizeof(*l));
	}
	l->r = r;
	clock_gettime(CLOCK_MONOTONIC, &l->deadline);
	l->deadline.tv_sec += (time_t)(r->timeout_ms / 1000);
	l->deadline.tv_nsec += (long)(r->timeout_ms % 1000) * 1000000;
	if (l->deadline.tv_nsec >= 1000000000) {
		l->deadline.tv_sec++;
		l->deadline.tv_nsec -= 1000000000;
	}
	l->prev = r->tail;
	if (r->tail != NULL)
		r->tail->next = l;
	else
		r->head = l;
	r->tail = l;
	if (!evtimer_pending(r->deadline_timer, NULL)) {
		struct timeval tv = redis_tv(r->timeout_ms);
		evtimer_add(r->deadline_timer, &tv);
	}
	return l;
}

/* lookup_free - out of the queue, kept for reuse */
static void lookup_free(struct policyd_lookup *l)
{
	struct policyd_redis *r = l->r;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		r->head = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	else
		r->tail = l->prev;
	if (r->n_spare >= LOOKUP_SPARE_MAX) {
		free(l);
		return;
	}
	l->next = r->spare;
	r->spare = l;
	r->n_spare++;
}

/* lookup_deadline - the timer of the queue's head went off: the head
   is late, or (answered meanwhile) the new head is watched now */
static void lookup_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_redis *r = arg;
	unsigned int left;
	char reason[128];

	(void)fd;
	(void)what;
	if (r->head == NULL)
		return;
	left = lookup_ms_until(&r->head->deadline);
	if (left > 0) {
		struct timeval tv = redis_tv(left);
		evtimer_add(r->deadline_timer, &tv);
		return;
	}
	snprintf(reason, sizeof(reason),
		 "Redis command timed out after %u ms", r->timeout_ms);
	policyd_warn("%s: %s; reconnecting", r->address, reason);
	/* Answers every command in flight with the reason. */
	redis_drop(r, reason);
}

void policyd_lookup_cancel(struct policyd_lookup *l)
{
	/* The command stays queued (hiredis cannot take it back) and
	   keeps its timeout: a stuck Redis is still noticed. */
	l->callback = NULL;
	l->context = NULL;
}

/* lookup_member_done - the facts script answered or failed */
static void lookup_member_done(void *context, int ret, const char *mode,
			       int member, int allowed, long long count,
			       const char *error)
{
	struct policyd_lookup *l = context;
	struct policyd_redis *r = l->r;
	policyd_member_cb *callback = l->callback;
	void *cb_context = l->context;
	struct fg_policy_facts facts;

	if (ret < 0 && r->drop_error != NULL)
		error = r->drop_error;
	lookup_free(l);
	if (callback == NULL)
		return;
	if (ret < 0) {
		callback(cb_context, NULL, error);
		return;
	}
	memset(&facts, 0, sizeof(facts));
	if (*mode != '\0' && fg_policy_access_parse(mode, &facts.access) < 0) {
		char printable[64];
		policyd_warn("unknown access mode '%s' in a list config; "
			     "using 'members'",
			     policyd_printable(printable, sizeof(printable),
					       mode));
		facts.access = FG_ACCESS_MEMBERS;
	}
	facts.member = member != 0;
	facts.allowed = allowed != 0;
	facts.count = count;
	callback(cb_context, &facts, NULL);
}

int policyd_redis_is_member(struct policyd_redis *r, const char *list,
			    const char *address, policyd_member_cb *callback,
			    void *context, struct policyd_lookup **lookup_r,
			    const char **error_r)
{
	struct policyd_lookup *l;

	if (r->ac == NULL) {
		*error_r = r->error[0] != '\0' ? r->error :
			"not connected to Redis";
		return -1;
	}
	l = lookup_new(r);
	l->callback = callback;
	l->context = context;
	if (fg_store_async_facts(r->ac, list, address,
				 r->pd->policy.rate_limit > 0 ||
				 r->pd->policy.rate_reject > 0 ?
				 r->pd->config->policy_rate_window : 0,
				 lookup_member_done, l, error_r) < 0) {
		lookup_free(l);
		return -1;
	}
	*lookup_r = l;
	return 0;
}

/* redis_addresses_done - HGETALL of the posting addresses answered */
static void redis_addresses_done(void *context, int ret,
				 const char *const *addresses,
				 const char *const *lists, size_t count,
				 const char *error)
{
	struct policyd_lookup *l = context;
	struct policyd_redis *r = l->r;
	bool cancelled = l->context == NULL;
	struct fg_policy_addresses *addrs;
	const char *first_error = NULL;
	size_t skipped = 0;

	if (ret < 0 && r->drop_error != NULL)
		error = r->drop_error;
	lookup_free(l);
	if (cancelled)
		return;
	r->refresh = NULL;
	if (ret < 0) {
		policyd_warn("reading the posting addresses (%s) from %s "
			     "failed: %s", FG_KEY_ADDRESSES, r->address, error);
		redis_first_done(r);
		return;
	}

	addrs = fg_policy_addresses_new();
	for (size_t i = 0; i < count; i++) {
		const char *add_error;
		if (fg_policy_addresses_add(addrs, addresses[i], lists[i],
					    &add_error) < 0) {
			if (skipped++ == 0)
				first_error = fg_errorf("%s", add_error);
		}
	}
	if (r->addresses == NULL ||
	    fg_policy_addresses_count(addrs) != r->logged_count ||
	    skipped != r->logged_skipped) {
		policyd_info("%zu list posting addresses read from %s",
			     fg_policy_addresses_count(addrs), r->address);
		if (skipped > 0)
			policyd_warn("%s: %zu invalid entries ignored, the "
				     "first: %s", FG_KEY_ADDRESSES, skipped,
				     first_error);
		r->logged_count = fg_policy_addresses_count(addrs);
		r->logged_skipped = skipped;
	}
	fg_policy_addresses_free(&r->addresses);
	r->addresses = addrs;
	r->backoff_ms = POLICYD_BACKOFF_MIN_MS;
	redis_first_done(r);
}

void policyd_redis_refresh(struct policyd_redis *r)
{
	const char *error;
	struct policyd_lookup *l;

	if (r->ac == NULL || !r->connected || r->refresh != NULL)
		return;
	l = lookup_new(r);
	l->context = r;		/* not NULL: not cancelled */
	if (fg_store_async_addresses(r->ac, redis_addresses_done, l,
				     &error) < 0) {
		lookup_free(l);
		policyd_warn("reading the posting addresses from %s failed: %s",
			     r->address, error);
		return;
	}
	r->refresh = l;
}

/* redis_refresh_tick - time to read the posting addresses again */
static void redis_refresh_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	policyd_redis_refresh(arg);
}

/* redis_connected - hiredis finished (or failed) connecting */
static void redis_connected(const redisAsyncContext *ac, int status)
{
	struct policyd_redis *r = ac->data;

	if (r == NULL || ac != r->ac)
		return;
	evtimer_del(r->connect_timer);
	if (status != REDIS_OK) {
		/* hiredis frees the context when this returns. */
		char error[256];
		snprintf(error, sizeof(error), "connect to %s failed: %s",
			 r->address, ac->errstr);
		policyd_warn("%s", error);
		redis_set_error(r, error);
		r->ac = NULL;
		redis_retry_later(r);
		return;
	}
	r->connected = true;
	if (r->pd->verbose || r->error[0] != '\0')
		policyd_info("connected to Redis at %s", r->address);
	r->error[0] = '\0';
	policyd_redis_refresh(r);
}

/* redis_disconnected - the connection was lost (hiredis frees it) */
static void redis_disconnected(const redisAsyncContext *ac, int status)
{
	struct policyd_redis *r = ac->data;
	char error[256];

	if (r == NULL || ac != r->ac)
		return;		/* dropped on purpose, already handled */
	snprintf(error, sizeof(error), "connection to Redis at %s lost: %s",
		 r->address, status == REDIS_OK ? "closed" : ac->errstr);
	policyd_warn("%s", error);
	redis_set_error(r, error);
	r->ac = NULL;
	r->connected = false;
	redis_retry_later(r);
}

/* redis_connect_timeout - connect() neither succeeded nor failed */
static void redis_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_redis *r = arg;
	char reason[256];

	(void)fd;
	(void)what;
	snprintf(reason, sizeof(reason), "connect to %s timed out after %u ms",
		 r->address, r->timeout_ms);
	policyd_warn("%s", reason);
	redis_drop(r, reason);
}

/* redis_retry - the wait after a failure is over */
static void redis_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_connect(arg);
}

/* redis_connect - start a connection attempt */
static void redis_connect(struct policyd_redis *r)
{
	redisAsyncContext *ac;
	const char *error;
	struct timeval tv = redis_tv(r->timeout_ms);

	if (r->ac != NULL || r->stopping)
		return;
	if (fg_store_async_connect(r->address, &ac, &error) < 0) {
		policyd_warn("%s", error);
		redis_set_error(r, error);
		redis_retry_later(r);
		return;
	}
	ac->data = r;
	if (redisLibeventAttach(ac, r->pd->base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, redis_connected) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, redis_disconnected) !=
	    REDIS_OK)
		policyd_fatal(POLICYD_EX_SOFTWARE,
			      "cannot set up the Redis connection");
	r->ac = ac;
	r->connected = false;
	evtimer_add(r->connect_timer, &tv);
}

struct policyd_redis *policyd_redis_new(struct policyd *pd,
					policyd_addresses_cb *callback)
{
	struct policyd_redis *r = fg_xcalloc(1, sizeof(*r));
	struct timeval tv = redis_tv(pd->config->policy_refresh > 0 ?
				     pd->config->policy_refresh : 5000);

	r->pd = pd;
	r->address = pd->config->redis;
	r->timeout_ms = pd->config->redis_timeout;
	r->callback = callback;
	r->backoff_ms = POLICYD_BACKOFF_MIN_MS;
	r->connect_timer = evtimer_new(pd->base, redis_connect_timeout, r);
	r->retry_timer = evtimer_new(pd->base, redis_retry, r);
	r->deadline_timer = evtimer_new(pd->base, lookup_deadline, r);
	r->refresh_timer = event_new(pd->base, -1, EV_PERSIST,
				     redis_refresh_tick, r);
	if (r->connect_timer == NULL || r->retry_timer == NULL ||
	    r->refresh_timer == NULL || r->deadline_timer == NULL)
		policyd_fatal(POLICYD_EX_OSERR, "event_new failed");
	evtimer_add(r->refresh_timer, &tv);
	redis_connect(r);
	return r;
}

void policyd_redis_free(struct policyd_redis **_r)
{
	struct policyd_redis *r = *_r;

	if (r == NULL)
		return;
	r->stopping = true;
	if (r->refresh != NULL)
		r->refresh->context = NULL;	/* cancelled */
	if (r->ac != NULL) {
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		r->drop_error = "shutting down";
		redisAsyncFree(ac);
		r->drop_error = NULL;
	}
	event_free(r->connect_timer);
	event_free(r->retry_timer);
	event_free(r->refresh_timer);
	event_free(r->deadline_timer);
	while (r->spare != NULL) {
		struct policyd_lookup *l = r->spare;
		r->spare = l->next;
		free(l);
	}
	fg_policy_addresses_free(&r->addresses);
	free(r);
	*_r = NULL;
}

const struct fg_policy_addresses *
policyd_redis_addresses(const struct policyd_redis *r)
{
	return r->addresses;
}

bool policyd_redis_tried(const struct policyd_redis *r)
{
	return r->tried;
}
