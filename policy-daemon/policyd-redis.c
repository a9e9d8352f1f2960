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
 *	It also keeps each list's access mode, members and allow list
 *	(fg_policy_list_facts), so a list decision needs no round trip
 *	either unless the post has to be counted. A second connection
 *	listens on FG_CHANNEL_CHANGES, where forumgate says which list
 *	changed: that list's facts are dropped at once and read again.
 *	They are used only while the subscription stands. They are read
 *	in full when it starts, every POLICYD_FULL_READ_EVERY refreshes
 *	and on SIGHUP (changes made around forumgate, with redis-cli),
 *	and otherwise with the addresses only when the list's serial
 *	moved. While Redis is unreachable none are kept: list mail then
 *	gets policy_redis_down_action.
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
#include "fg-redis.h"

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

/* What is known of one list. */
struct policyd_list {
	char name[FG_LIST_NAME_MAX + 1];
	char serial[24];		/* "": never read */
	struct fg_policy_list_facts *facts;	/* NULL: ask Redis */
	bool reading;			/* a read is in flight */
	bool again;			/* changed since that read was sent */
};

struct policyd_redis {
	struct policyd *pd;
	struct fg_redis_params *params;	/* address, AUTH, TLS */
	char *address;			/* for messages: with the user */
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

	/* The lists of the posting addresses, sorted by name. */
	struct policyd_list *lists;
	size_t n_lists;
	unsigned int refreshes;		/* counts to a full read */
	bool full_next;			/* SIGHUP: read every list in full */
	redisAsyncContext *sub;		/* FG_CHANNEL_CHANGES; NULL: none */
	bool subscribed;		/* the facts may be used */
	size_t logged_count, logged_skipped;

	/* Why the connection is down, for the clients' log lines. */
	char error[256];
	/* Set while a context is freed on purpose: the reason the
	   pending commands fail. */
	const char *drop_error;
};

static void redis_connect(struct policyd_redis *r);
static void redis_set_error(struct policyd_redis *r, const char *error);

/* redis_auth_failed - Redis refused the user or password: the
   connection goes, and is tried again after the usual wait */
static void redis_auth_failed(void *context, redisAsyncContext *ac,
			      const char *error)
{
	struct policyd_redis *r = context;

	policyd_warn("%s", error);
	if (ac == r->ac)
		redis_set_error(r, error);
	redisAsyncDisconnect(ac);
}

/* redis_attach - a new context on the event loop, with its callbacks */
static void redis_attach(struct policyd_redis *r, redisAsyncContext *ac,
			 redisConnectCallback *connected,
			 redisDisconnectCallback *disconnected)
{
	ac->data = r;
	if (redisLibeventAttach(ac, r->pd->base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, connected) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, disconnected) != REDIS_OK)
		policyd_fatal(POLICYD_EX_SOFTWARE,
			      "cannot set up the Redis connection");
}

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

/* redis_forget_lists - nothing is known of the lists any more */
static void redis_forget_lists(struct policyd_redis *r)
{
	for (size_t i = 0; i < r->n_lists; i++) {
		fg_policy_list_facts_free(&r->lists[i].facts);
		r->lists[i].serial[0] = '\0';
		r->lists[i].reading = false;
		r->lists[i].again = false;
	}
}

/* sub_stop - end the subscription (not from inside its callbacks) */
static void sub_stop(struct policyd_redis *r)
{
	redisAsyncContext *sub = r->sub;

	r->sub = NULL;
	r->subscribed = false;
	if (sub != NULL)
		redisAsyncFree(sub);
}

/* redis_retry_later - a connection attempt or connection failed: the
   lists' facts may be changing unseen, so they go too */
static void redis_retry_later(struct policyd_redis *r)
{
	struct timeval tv = redis_tv(r->backoff_ms);

	sub_stop(r);
	redis_forget_lists(r);
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
				 fg_policy_counts(&r->pd->policy) ?
				 r->pd->config->policy_rate_window : 0,
				 lookup_member_done, l, error_r) < 0) {
		lookup_free(l);
		return -1;
	}
	*lookup_r = l;
	return 0;
}

/* redis_count_done - a post was counted, or not */
static void redis_count_done(void *context, int ret, long long count,
			     const char *error)
{
	struct policyd_lookup *l = context;
	struct policyd_redis *r = l->r;
	char *list = l->context;

	(void)count;
	if (ret < 0 && r->drop_error != NULL)
		error = r->drop_error;
	lookup_free(l);
	if (ret < 0 && !r->stopping)
		policyd_warn("a post to list %s was not counted: %s", list,
			     error);
	free(list);
}

int policyd_redis_count(struct policyd_redis *r, const char *list,
			const char *address, const char **error_r)
{
	struct policyd_lookup *l;

	if (r->ac == NULL) {
		*error_r = r->error[0] != '\0' ? r->error :
			"not connected to Redis";
		return -1;
	}
	l = lookup_new(r);
	l->context = fg_xstrdup(list);
	if (fg_store_async_count(r->ac, list, address,
				 r->pd->config->policy_rate_window,
				 redis_count_done, l, error_r) < 0) {
		free(l->context);
		lookup_free(l);
		return -1;
	}
	return 0;
}

/* redis_list_find - the list of that name, or NULL */
static struct policyd_list *redis_list_find(const struct policyd_redis *r,
					    const char *name)
{
	size_t lo = 0, hi = r->n_lists;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcmp(name, r->lists[mid].name);
		if (cmp == 0)
			return &r->lists[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct fg_policy_list_facts *
policyd_redis_list_facts(struct policyd_redis *r, const char *list)
{
	const struct policyd_list *l;

	/* A change announced before this request came is taken first:
	   its notice and the request may be readable in the same turn of
	   the event loop, and served in either order. Nothing waiting
	   costs one read() that finds nothing. */
	if (r->sub != NULL && r->subscribed && !r->stopping)
		redisAsyncHandleRead(r->sub);
	if (!r->subscribed)
		return NULL;	/* changes would go unseen */
	l = redis_list_find(r, list);
	return l == NULL ? NULL : l->facts;
}

static void redis_list_read(struct policyd_redis *r, struct policyd_list *l,
			    bool full);

/* redis_list_facts_done - a list's facts were read, or were unchanged */
static void redis_list_facts_done(void *context, int ret, const char *serial,
				  const char *mode,
				  struct fg_policy_list_facts *lf,
				  const char *error)
{
	struct policyd_lookup *lk = context;
	struct policyd_redis *r = lk->r;
	char *name = lk->context;
	struct policyd_list *l;
	enum fg_policy_access access;

	if (ret < 0 && r->drop_error != NULL)
		error = r->drop_error;
	lookup_free(lk);
	l = r->stopping ? NULL : redis_list_find(r, name);
	if (l == NULL) {
		/* gone from the posting addresses meanwhile */
		fg_policy_list_facts_free(&lf);
		free(name);
		return;
	}
	l->reading = false;
	if (l->again) {
		/* changed after this read was sent: read again */
		fg_policy_list_facts_free(&lf);
		l->again = false;
		redis_list_read(r, l, true);
	} else if (ret < 0) {
		/* Ask Redis per message until a read works again. */
		if (r->connected)
			policyd_warn("reading the facts of list %s from %s "
				     "failed: %s", name, r->address, error);
		fg_policy_list_facts_free(&l->facts);
		l->serial[0] = '\0';
	} else if (lf != NULL) {
		if (*mode != '\0' && fg_policy_access_parse(mode, &access) < 0) {
			char printable[64];
			policyd_warn("unknown access mode '%s' in the config "
				     "of list %s; using 'members'",
				     policyd_printable(printable,
						       sizeof(printable), mode),
				     name);
		}
		if (r->pd->verbose)
			policyd_info("list %s: %zu addresses read, serial %s",
				     name, fg_policy_list_facts_count(lf),
				     serial);
		fg_policy_list_facts_free(&l->facts);
		l->facts = lf;
		snprintf(l->serial, sizeof(l->serial), "%s", serial);
	}
	free(name);
}

/* redis_list_read - ask for a list's facts, in full or if its serial
   moved */
static void redis_list_read(struct policyd_redis *r, struct policyd_list *l,
			    bool full)
{
	struct policyd_lookup *lk;
	const char *error;

	if (l->reading || r->ac == NULL || !r->connected)
		return;
	lk = lookup_new(r);
	lk->context = fg_xstrdup(l->name);
	if (fg_store_async_list_facts(r->ac, l->name,
				      full || l->facts == NULL ? "" : l->serial,
				      redis_list_facts_done, lk, &error) < 0) {
		free(lk->context);
		lookup_free(lk);
		policyd_warn("reading the facts of list %s failed: %s",
			     l->name, error);
		return;
	}
	l->reading = true;
}

/* redis_lists_read - ask for each list's facts: those whose serial
   moved, or all of them (full) */
static void redis_lists_read(struct policyd_redis *r, bool full)
{
	/* Without the subscription the facts are not used; it reads them
	   in full when it starts. */
	if (r->sub == NULL)
		return;
	for (size_t i = 0; i < r->n_lists; i++)
		redis_list_read(r, &r->lists[i], full);
}

/* sub_changes - the subscription stands, a list changed, or the
   subscription ended */
static void sub_changes(void *context, int ret, const char *list,
			const char *error)
{
	struct policyd_redis *r = context;
	struct policyd_list *l;

	if (ret < 0) {
		/* the context goes; sub_disconnected or sub_stop tell */
		if (r->sub != NULL && !r->stopping)
			policyd_warn("list change notifications from %s: %s",
				     r->address, error);
		return;
	}
	if (ret == 0) {
		/* Changes are seen from now on; read what may have
		   changed before. */
		r->subscribed = true;
		if (r->pd->verbose)
			policyd_info("listening for list changes on %s",
				     r->address);
		redis_lists_read(r, true);
		return;
	}
	l = redis_list_find(r, list);
	if (l == NULL)
		return;		/* not a list of the posting addresses */
	if (r->pd->verbose)
		policyd_info("list %s changed", l->name);
	fg_policy_list_facts_free(&l->facts);
	l->serial[0] = '\0';
	if (l->reading)
		l->again = true;
	else
		redis_list_read(r, l, true);
}

/* sub_disconnected - the subscription's connection ended (hiredis
   frees it) */
static void sub_disconnected(const redisAsyncContext *ac, int status)
{
	struct policyd_redis *r = ac->data;

	if (r == NULL || ac != r->sub)
		return;		/* ended on purpose */
	policyd_warn("list change notifications from %s lost: %s; asking "
		     "Redis for every list decision until they are back",
		     r->address, status == REDIS_OK ? "closed" : ac->errstr);
	r->sub = NULL;
	r->subscribed = false;
	redis_forget_lists(r);
}

/* sub_connected - the subscription's connection is up or failed */
static void sub_connected(const redisAsyncContext *ac, int status)
{
	struct policyd_redis *r = ac->data;

	if (r == NULL || ac != r->sub || status == REDIS_OK)
		return;
	/* hiredis frees the context; tried again at the next refresh */
	policyd_warn("list change notifications: connect to %s failed: %s",
		     r->address, ac->errstr);
	r->sub = NULL;
}

/* sub_start - subscribe to the list changes, unless that stands */
static void sub_start(struct policyd_redis *r)
{
	redisAsyncContext *sub;
	const char *error;

	/* In spawn mode a process serves one smtpd process for a while:
	   reading every list would cost more than it saves. */
	if (r->sub != NULL || r->stopping || !r->connected || r->pd->spawn)
		return;
	if (fg_store_async_connect(r->params, redis_auth_failed, r, &sub,
				   &error) < 0) {
		policyd_warn("list change notifications: %s", error);
		return;
	}
	redis_attach(r, sub, sub_connected, sub_disconnected);
	r->sub = sub;
	if (fg_store_async_subscribe_changes(sub, sub_changes, r,
					     &error) < 0) {
		policyd_warn("list change notifications: %s", error);
		sub_stop(r);
	}
}

/* redis_list_cmp - qsort by name */
static int redis_list_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policyd_list *)a)->name,
		      ((const struct policyd_list *)b)->name);
}

/* redis_lists_update - the lists are those of the posting addresses
   read now; what was known of the others is dropped */
static void redis_lists_update(struct policyd_redis *r,
			       const char *const *names, size_t count)
{
	struct policyd_list *lists = fg_xcalloc(count + 1, sizeof(*lists));
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		if (!fg_list_name_valid(names[i]))
			continue;
		snprintf(lists[n].name, sizeof(lists[n].name), "%s", names[i]);
		n++;
	}
	qsort(lists, n, sizeof(*lists), redis_list_cmp);
	/* one entry per list; take over what is known */
	size_t unique = 0;
	for (size_t i = 0; i < n; i++) {
		if (unique > 0 &&
		    strcmp(lists[unique - 1].name, lists[i].name) == 0)
			continue;
		lists[unique] = lists[i];
		struct policyd_list *old = redis_list_find(r, lists[unique].name);
		if (old != NULL) {
			lists[unique] = *old;
			old->facts = NULL;
		}
		unique++;
	}
	for (size_t i = 0; i < r->n_lists; i++)
		fg_policy_list_facts_free(&r->lists[i].facts);
	free(r->lists);
	r->lists = lists;
	r->n_lists = unique;
}

/* redis_addresses_done - HGETALL of the posting addresses answered */
static void redis_addresses_done(void *context, int ret,
				 const char *const *addresses,
				 const char *const *lists, size_t count,
				 const char *const *bridges,
				 const char *const *bridge_lists,
				 size_t n_bridges, const char *error)
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
	for (size_t i = 0; i < n_bridges; i++) {
		const char *add_error;
		if (fg_policy_addresses_add_bridge(addrs, bridges[i],
						   bridge_lists[i],
						   &add_error) < 0) {
			if (skipped++ == 0)
				first_error = fg_errorf("%s", add_error);
		}
	}
	if (r->addresses == NULL ||
	    fg_policy_addresses_count(addrs) +
	    fg_policy_bridges_count(addrs) != r->logged_count ||
	    skipped != r->logged_skipped) {
		policyd_info("%zu list posting addresses and %zu bridge "
			     "recipients read from %s",
			     fg_policy_addresses_count(addrs),
			     fg_policy_bridges_count(addrs), r->address);
		if (skipped > 0)
			policyd_warn("%s, %s: %zu invalid entries ignored, "
				     "the first: %s", FG_KEY_ADDRESSES,
				     FG_KEY_BRIDGES, skipped, first_error);
		r->logged_count = fg_policy_addresses_count(addrs) +
			fg_policy_bridges_count(addrs);
		r->logged_skipped = skipped;
	}
	fg_policy_addresses_free(&r->addresses);
	r->addresses = addrs;
	r->backoff_ms = POLICYD_BACKOFF_MIN_MS;
	redis_lists_update(r, lists, count);
	redis_lists_read(r, r->full_next ||
			 ++r->refreshes % POLICYD_FULL_READ_EVERY == 0);
	r->full_next = false;
	redis_first_done(r);
}

void policyd_redis_refresh(struct policyd_redis *r, bool full)
{
	const char *error;
	struct policyd_lookup *l;

	if (full)
		r->full_next = true;
	sub_start(r);
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
	policyd_redis_refresh(arg, false);
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
	policyd_redis_refresh(r, true);
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
	if (fg_store_async_connect(r->params, redis_auth_failed, r, &ac,
				   &error) < 0) {
		policyd_warn("%s", error);
		redis_set_error(r, error);
		redis_retry_later(r);
		return;
	}
	redis_attach(r, ac, redis_connected, redis_disconnected);
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
	r->params = pd->redis_params;
	pd->redis_params = NULL;
	r->address = *pd->config->redis_user == '\0' ?
		fg_xstrdup(pd->config->redis) :
		fg_xasprintf("%s (user '%s')", pd->config->redis,
			     pd->config->redis_user);
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
	sub_stop(r);
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
	redis_forget_lists(r);
	free(r->lists);
	fg_redis_params_free(&r->params);
	free(r->address);
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
