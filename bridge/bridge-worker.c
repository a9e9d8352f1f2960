/*
 * NAME
 *	bridge-worker 3 - the queue loop both directions share
 * DESCRIPTION
 *	One pass visits every list whose queue is not waiting out a
 *	backoff and processes at most one entry of each. While entries
 *	flow, reads do not block; after a pass found nothing, the reads
 *	block briefly (about a second over all lists), so an idle daemon
 *	neither spins nor reacts slowly.
 *
 *	The list set is re-read from Redis every LIST_REFRESH_MS and on
 *	SIGHUP. A list that disappeared is dropped with its state; its
 *	queue stays in Redis.
 * SEE ALSO
 *	bridge-worker.h for the contract with the process functions.
 */
#include "bridge-worker.h"
#include "fg-forum.h"

#include <stdlib.h>
#include <string.h>

#define LIST_REFRESH_MS 10000
#define IDLE_WAIT_MS 1000
#define MIN_BLOCK_MS 10
#define MIN_RETRY_MS 100
#define STORE_RETRY_MS 1000

/* worker_list_clear - free a list's members */
static void worker_list_clear(struct worker_list *l)
{
	free(l->name);
	fg_list_free(&l->def);
	free(l->try_entry);
	free(l->done_entry);
	free(l->done_message_id);
	memset(l, 0, sizeof(*l));
}

/* worker_find_list - a known list by name */
static struct worker_list *worker_find_list(struct worker *w, const char *name)
{
	for (size_t i = 0; i < w->n_lists; i++) {
		if (strcmp(w->lists[i].name, name) == 0)
			return &w->lists[i];
	}
	return NULL;
}

/* worker_maps_upgrade - the list's maps get their post id fields once
   (maps of releases before them have none); tried again at the next
   look at the lists when Redis failed */
static void worker_maps_upgrade(struct worker *w, struct worker_list *l)
{
	const char *error;
	long long added;

	if (fg_store_maps_upgrade(w->store, l->name, &added, &error) < 0) {
		msg_warn("%s: list=%s: giving the maps their post ids failed: "
			 "%s; trying again later", w->name, l->name, error);
		return;
	}
	l->maps_upgraded = true;
	if (added > 0)
		msg_info("%s: list=%s: maps upgraded: %lld posts known by "
			 "their id now", w->name, l->name, added);
}

/* worker_topics_fill - the topics of a list mapped before fg:topics
   existed are entered once, so that moved ones keep their list */
static void worker_topics_fill(struct worker *w, const char *list)
{
	const char *error;
	long long added;
	int ret;

	ret = fg_store_topics_fill(w->store, list, &added, &error);
	if (ret < 0)
		msg_warn("%s: list=%s: entering its topics in " FG_KEY_TOPICS
			 " failed: %s", w->name, list, error);
	else if (ret > 0)
		msg_info("%s: list=%s: %lld topic(s) of its maps entered in "
			 FG_KEY_TOPICS, w->name, list, added);
}

/* worker_read_lists - the list set and each list's definition */
static int worker_read_lists(struct worker *w)
{
	char **names;
	size_t count, kept = 0;
	const char *error;

	if (fg_store_lists(w->store, &names, &count, &error) < 0) {
		worker_store_failed(w, NULL, "reading the lists", error);
		return -1;
	}
	for (size_t i = 0; i < w->n_lists; i++)
		w->lists[i].listed = false;
	for (size_t i = 0; i < count; i++) {
		struct worker_list *l = worker_find_list(w, names[i]);
		struct fg_list *def;
		int ret;

		ret = fg_store_list_get(w->store, names[i], &def, &error);
		if (ret < 0) {
			worker_store_failed(w, NULL, "reading a list", error);
			fg_strv_free(names, count);
			return -1;
		}
		if (ret == 0) {
			msg_warn("%s: list=%s is in " FG_KEY_LISTS
				 " but has no definition: skipped",
				 w->name, names[i]);
			continue;
		}
		if (w->serves != NULL && !w->serves(def)) {
			/* not (or no longer) this worker's: dropped below */
			fg_list_free(&def);
			continue;
		}
		if (l == NULL) {
			w->lists = fg_xrealloc(w->lists, (w->n_lists + 1) *
					       sizeof(*w->lists));
			l = &w->lists[w->n_lists++];
			memset(l, 0, sizeof(*l));
			l->name = fg_xstrdup(names[i]);
			msg_info("%s: list=%s address=%s category=%lld: "
				 "serving", w->name, l->name, def->address,
				 def->category);
			/* a list defined before fg:bridges existed: the
			   policy daemon learns its bridge recipient */
			ret = fg_store_bridge_register(w->store, def, &error);
			if (ret < 0)
				msg_warn("%s: list=%s: registering bridge "
					 "recipient %s failed: %s", w->name,
					 l->name, def->bridge_recipient, error);
			else if (ret > 0)
				msg_info("%s: list=%s: bridge recipient %s "
					 "entered in " FG_KEY_BRIDGES, w->name,
					 l->name, def->bridge_recipient);
			if (w->queue == FG_QUEUE_OUTBOUND)
				worker_topics_fill(w, l->name);
		}
		fg_list_free(&l->def);
		l->def = def;
		l->listed = true;
		if (w->queue == FG_QUEUE_OUTBOUND && !l->maps_upgraded)
			worker_maps_upgrade(w, l);
	}
	fg_strv_free(names, count);
	/* drop lists that are gone */
	for (size_t i = 0; i < w->n_lists; i++) {
		if (w->lists[i].listed) {
			if (kept != i)
				w->lists[kept] = w->lists[i];
			kept++;
			continue;
		}
		msg_info("%s: list=%s: no longer defined, not served",
			 w->name, w->lists[i].name);
		worker_list_clear(&w->lists[i]);
	}
	w->n_lists = kept;
	return 0;
}

/* worker_store_failed - log the first failure of an outage, back off */
int worker_store_failed(struct worker *w, struct worker_list *list,
			const char *what, const char *error)
{
	if (!w->store_failing && list != NULL)
		msg_warn("%s: list=%s: %s: %s; retrying", w->name, list->name,
			 what, error);
	else if (!w->store_failing)
		msg_warn("%s: %s: %s; retrying", w->name, what, error);
	w->store_failing = true;
	/* Redis comes back on its own time: a short, fixed wait */
	if (list != NULL)
		list->next_ms = bridge_now_ms() + STORE_RETRY_MS;
	return WORKER_RETRY;
}

/* worker_store_ok - a Redis command worked: end an outage */
static void worker_store_ok(struct worker *w)
{
	if (w->store_failing)
		msg_info("%s: Redis answers again", w->name);
	w->store_failing = false;
}

/* worker_retry - the next step of exponential backoff */
unsigned int worker_retry(struct worker *w, struct worker_list *l,
			  unsigned int retry_after_ms)
{
	const struct fg_config *c = w->bridge->config;
	unsigned int min = c->forum_retry_min, max = c->forum_retry_max;
	unsigned int wait;

	if (min < MIN_RETRY_MS)
		min = MIN_RETRY_MS;
	if (max < min)
		max = min;
	if (l->delay_ms == 0)
		l->delay_ms = min;
	else
		l->delay_ms = l->delay_ms > max / 2 ? max : l->delay_ms * 2;
	/* the other side knows best how long it needs, within reason */
	wait = fg_forum_retry_wait(l->delay_ms, retry_after_ms,
				   c->forum_retry_after_max);
	l->next_ms = bridge_now_ms() + wait;
	return wait;
}

/* worker_count_try - permanent failures count per head entry */
unsigned int worker_count_try(struct worker_list *l, const char *entry_id)
{
	if (l->try_entry == NULL || strcmp(l->try_entry, entry_id) != 0) {
		free(l->try_entry);
		l->try_entry = fg_xstrdup(entry_id);
		l->tries = 0;
	}
	return ++l->tries;
}

/* worker_mark_done - see bridge-worker.h */
void worker_mark_done(struct worker_list *l, const char *entry_id,
		      const char *message_id, const struct fg_post_ref *ref)
{
	free(l->done_entry);
	free(l->done_message_id);
	l->done_entry = fg_xstrdup(entry_id);
	l->done_message_id = fg_xstrdup(message_id);
	if (ref != NULL)
		l->done_ref = *ref;
	else
		memset(&l->done_ref, 0, sizeof(l->done_ref));
}

/* worker_is_done - see bridge-worker.h */
bool worker_is_done(const struct worker_list *l, const char *entry_id)
{
	return l->done_entry != NULL && strcmp(l->done_entry, entry_id) == 0;
}

/* worker_forget_entry - the entry left the queue: reset its state */
static void worker_forget_entry(struct worker_list *l)
{
	free(l->try_entry);
	free(l->done_entry);
	free(l->done_message_id);
	l->try_entry = l->done_entry = l->done_message_id = NULL;
	l->tries = 0;
	l->delay_ms = 0;
	l->next_ms = 0;
}

/* worker_lease - the list's lease as the store checks it */
static struct fg_lease worker_lease(struct worker *w,
				    const struct worker_list *l)
{
	struct fg_lease lease = { w->bridge->consumer, l->lease_token };

	return lease;
}

/* worker_lease_lost - see bridge-worker.h */
int worker_lease_lost(struct worker *w, struct worker_list *l,
			     const struct fg_entry *entry, const char *what)
{
	msg_warn("%s: list=%s entry=%s: the lease of the queue was lost "
		 "before %s; the entry is left to the daemon that holds the "
		 "list now", w->name, l->name, entry->id, what);
	l->leased = false;
	l->lease_token = 0;
	l->lease_renew_ms = 0;
	worker_forget_entry(l);
	return WORKER_RETRY;
}

/* worker_finished - the outcome of a step that finishes an entry */
static int worker_finished(struct worker *w, struct worker_list *l,
			   const struct fg_entry *entry, int ret,
			   const char *what, const char *error)
{
	if (ret < 0)
		return worker_store_failed(w, l, what, error);
	worker_store_ok(w);
	if (ret == 0)
		return worker_lease_lost(w, l, entry, what);
	worker_forget_entry(l);
	return WORKER_DONE;
}

/* worker_finish - XACK + XDEL the entry, under the lease */
int worker_finish(struct worker *w, struct worker_list *l,
		  const struct fg_entry *entry)
{
	struct fg_lease lease = worker_lease(w, l);
	const char *error = NULL;
	int ret;

	ret = fg_store_queue_ack(w->store, l->name, l->entry_queue, &lease,
				 entry->id, &error);
	return worker_finished(w, l, entry, ret, "acknowledging an entry",
			       error);
}

/* worker_posted - see bridge-worker.h */
int worker_posted(struct worker *w, struct worker_list *l,
		  const struct fg_entry *entry, const char *message_id,
		  const struct fg_post_ref *ref)
{
	struct fg_lease lease = worker_lease(w, l);
	const char *error = NULL;
	int ret;

	/* the text's sketch goes with it: a reply quoting this post
	   is compared with it (fg-quote.h) */
	ret = fg_store_queue_posted(w->store, l->name, l->entry_queue, &lease,
				    entry->id,
				    message_id, ref,
				    fg_entry_get(entry, "text_sketch"), &error);
	return worker_finished(w, l, entry, ret, "recording the post",
			       error);
}

/* worker_dead - to the dead-letter stream with the reason */
int worker_dead(struct worker *w, struct worker_list *l,
		const struct fg_entry *entry, const char *reason)
{
	struct fg_lease lease = worker_lease(w, l);
	const char *error = NULL;
	long long trimmed = 0;
	int ret;

	ret = fg_store_queue_bury(w->store, l->name, l->entry_queue, &lease,
				  entry, reason, &trimmed, &error);
	if (ret > 0 && trimmed > 0)
		msg_info("%s: list=%s: %lld oldest dead letters dropped "
			 "(dead_letter_max=%u)", w->name, l->name, trimmed,
			 w->bridge->config->dead_letter_max);
	return worker_finished(w, l, entry, ret, "dead-lettering an entry",
			       error);
}

/* worker_park - see bridge-worker.h */
int worker_park(struct worker *w, struct worker_list *l,
		const struct fg_entry *entry)
{
	struct fg_lease lease = worker_lease(w, l);
	const char *error = NULL;
	int ret;

	ret = fg_store_queue_park(w->store, l->name, &lease, entry, &error);
	return worker_finished(w, l, entry, ret, "setting a reply aside",
			       error);
}

/* worker_lease_ttl - queue_lease_ttl, at least 300 ms */
static unsigned int worker_lease_ttl(struct worker *w)
{
	unsigned int ttl = w->bridge->config->queue_lease_ttl;

	return ttl < 300 ? 300 : ttl;
}

/* worker_renew - take or renew one list's lease now; 1 held, 0 held by
   another, -1 Redis failed */
static int worker_renew(struct worker *w, struct worker_list *l)
{
	unsigned int ttl = worker_lease_ttl(w);
	struct fg_lease lease = worker_lease(w, l);
	long long had = l->leased ? l->lease_token : 0;
	const char *error;
	char *holder;
	int ret;

	ret = fg_store_queue_lease(w->store, l->name, w->queue, &lease, ttl,
				   &holder, &error);
	if (ret < 0) {
		worker_store_failed(w, l, "renewing the lease", error);
		return -1;
	}
	if (ret > 0 && had != lease.token)
		msg_info("%s: list=%s: this daemon (%s) works the queue "
			 "(lease token %lld)", w->name, l->name,
			 w->bridge->consumer, lease.token);
	else if (ret == 0 && l->leased)
		msg_info("%s: list=%s: queue now worked by consumer %s",
			 w->name, l->name, holder);
	if (ret > 0 && had != 0 && had != lease.token)
		/* taken anew: what this daemon knew of its entries may be
		   stale */
		worker_forget_entry(l);
	l->leased = ret > 0;
	l->lease_token = lease.token;
	/* renewed three times in a TTL span */
	l->lease_renew_ms = bridge_now_ms() + ttl / 3;
	free(holder);
	return ret;
}

/* worker_keep_lease - see bridge-worker.h */
bool worker_keep_lease(struct worker *w, struct worker_list *l)
{
	if (!l->leased)
		return false;
	if (bridge_now_ms() < l->lease_renew_ms)
		return true;
	/* Redis failing: go on, the fencing token decides at the end */
	return worker_renew(w, l) != 0;
}

/* worker_progress - see bridge-worker.h */
int worker_progress(void *context)
{
	struct worker *w = context;

	if (w->current == NULL)
		return 0;
	return worker_keep_lease(w, w->current) ? 0 : 1;
}

/* worker_hold_leases - take or renew the lease of every list that is
   due, so that only lists this daemon holds are read; a list another
   daemon holds waits until the next try. The lease lapses
   queue_lease_ttl after its holder stopped renewing it (a crash). */
static void worker_hold_leases(struct worker *w)
{
	long long now = bridge_now_ms();

	for (size_t i = 0; i < w->n_lists; i++) {
		struct worker_list *l = &w->lists[i];

		if (now < l->lease_renew_ms)
			continue;
		if (worker_renew(w, l) < 0)
			continue;
		if (!l->leased && l->next_ms < l->lease_renew_ms)
			l->next_ms = l->lease_renew_ms;
	}
}

/* worker_pass - one entry from each ready list; true when any came */
static bool worker_pass(struct worker *w, bool idle, long long *soonest_r)
{
	struct fg_entry *entry;
	const char *error;
	long long now = bridge_now_ms();
	size_t n_ready = 0;
	unsigned int block = 0;
	bool worked = false;

	worker_hold_leases(w);
	now = bridge_now_ms();
	*soonest_r = now + IDLE_WAIT_MS;
	for (size_t i = 0; i < w->n_lists; i++) {
		if (w->lists[i].next_ms <= now)
			n_ready++;
		else if (w->lists[i].next_ms < *soonest_r)
			*soonest_r = w->lists[i].next_ms;
	}
	if (idle && n_ready > 0) {
		block = IDLE_WAIT_MS / (unsigned int)n_ready;
		if (block < MIN_BLOCK_MS)
			block = MIN_BLOCK_MS;
	}
	for (size_t i = 0; i < w->n_lists && !bridge_stopping(w->bridge);
	     i++) {
		struct worker_list *l = &w->lists[i];
		int ret;

		if (!l->leased || l->next_ms > bridge_now_ms())
			continue;
		if (w->before != NULL &&
		    (ret = w->before(w, l)) >= 0) {
			worked = true;
			if (ret == WORKER_DONE) {
				l->delay_ms = 0;
				l->next_ms = 0;
			} else if (l->next_ms < *soonest_r) {
				*soonest_r = l->next_ms;
			}
			continue;
		}
		l->entry_queue = w->queue;
		ret = fg_store_queue_read(w->store, l->name, w->queue,
					  w->bridge->consumer, block, &entry,
					  &error);
		if (ret < 0) {
			worker_store_failed(w, l, "reading the queue", error);
			if (l->next_ms < *soonest_r)
				*soonest_r = l->next_ms;
			continue;
		}
		worker_store_ok(w);
		if (ret == 0)
			continue;
		worked = true;
		w->current = l;
		ret = w->process(w, l, entry);
		w->current = NULL;
		if (ret == WORKER_DONE) {
			l->delay_ms = 0;
			l->next_ms = 0;
		} else if (l->next_ms < *soonest_r) {
			*soonest_r = l->next_ms;
		}
		fg_entry_free(&entry);
	}
	return worked;
}

/* worker_forum_reopen - see bridge-worker.h */
int worker_forum_reopen(struct worker *w, const struct fg_forum_settings *set,
			struct fg_forum **forum, char **api_key)
{
	const char *path = w->bridge->config_path, *error;
	struct fg_forum_settings with_key = *set;
	struct fg_forum *fresh;
	struct fg_config *c;
	int ret = 0;

	if (path == NULL)
		return 0;
	if (fg_config_load_component(path, FG_COMPONENT_BRIDGE, &c,
				     &error) < 0) {
		msg_warn("%s: reading forum_api_key again: %s", w->name, error);
		return -1;
	}
	if (c->forum_api_key != NULL && *c->forum_api_key != '\0' &&
	    strcmp(c->forum_api_key, *api_key) != 0) {
		with_key.api_key = c->forum_api_key;
		if (fg_forum_init(&with_key, &fresh, &error) < 0) {
			msg_warn("%s: the new forum_api_key: %s", w->name,
				 error);
			ret = -1;
		} else {
			fg_forum_deinit(forum);
			*forum = fresh;
			free(*api_key);
			*api_key = fg_xstrdup(c->forum_api_key);
			msg_info("%s: forum_api_key changed in %s: trying the "
				 "new key", w->name, path);
			ret = 1;
		}
	}
	fg_config_free(&c);
	return ret;
}

/* worker_wake_stopped - SIGHUP: a queue the forum's refusal of the
   credentials stopped is tried now (the key may be fixed) */
static void worker_wake_stopped(struct worker *w)
{
	for (size_t i = 0; i < w->n_lists; i++) {
		struct worker_list *l = &w->lists[i];

		if (l->stopped_cause != NULL &&
		    strcmp(l->stopped_cause, "credentials") == 0) {
			l->next_ms = 0;
			l->delay_ms = 0;
		}
	}
}

/* worker_main - the thread: connect, then passes until stopped */
static void *worker_main(void *context)
{
	struct worker *w = context;
	bool idle = false;
	long long soonest;

	if (!bridge_store_connect(w->bridge, w->name, &w->store))
		return NULL;
	while (!bridge_stopping(w->bridge)) {
		long long now = bridge_now_ms();
		unsigned int gen = bridge_refresh_generation(w->bridge);

		if (gen != w->refresh_generation || w->lists_read_ms == 0 ||
		    now - w->lists_read_ms >= LIST_REFRESH_MS) {
			if (gen != w->refresh_generation)
				worker_wake_stopped(w);
			w->refresh_generation = gen;
			if (worker_read_lists(w) == 0) {
				worker_store_ok(w);
				w->lists_read_ms = now;
			}
		}
		if (w->n_lists == 0) {
			bridge_sleep(w->bridge, IDLE_WAIT_MS);
			continue;
		}
		idle = !worker_pass(w, idle, &soonest);
		if (idle) {
			/* nothing came: either every list waits out a
			   backoff (sleep until the first is due) or the
			   reads blocked already */
			now = bridge_now_ms();
			bool any_ready = false;
			for (size_t i = 0; i < w->n_lists; i++) {
				if (w->lists[i].next_ms <= now)
					any_ready = true;
			}
			if (!any_ready && soonest > now)
				bridge_sleep(w->bridge, (unsigned int)
					     (soonest - now > IDLE_WAIT_MS ?
					      IDLE_WAIT_MS : soonest - now));
			else if (w->store_failing)
				bridge_sleep(w->bridge, IDLE_WAIT_MS);
		}
	}
	return NULL;
}

/* worker_start - see bridge-worker.h */
int worker_start(struct worker *w, const char **error_r)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	if (err != 0) {
		*error_r = fg_errorf("pthread_create: %s", strerror(err));
		return -1;
	}
	w->started = true;
	return 0;
}

/* worker_join - see bridge.h */
void worker_join(struct worker **_w)
{
	struct worker *w = *_w;

	if (w == NULL)
		return;
	*_w = NULL;
	if (w->started)
		pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->n_lists; i++)
		worker_list_clear(&w->lists[i]);
	free(w->lists);
	fg_store_free(&w->store);
	if (w->deinit != NULL)
		w->deinit(w);
	free(w);
}
