#ifndef BRIDGE_WORKER_H
#define BRIDGE_WORKER_H
/*
 * NAME
 *	bridge-worker 3 - the queue loop both directions share
 * DESCRIPTION
 *	A worker owns a thread and a Redis connection, knows the lists,
 *	and takes one entry at a time from each list's queue in turn, so
 *	a busy list does not starve a quiet one. The process function
 *	decides what an entry becomes:
 *
 *	WORKER_DONE	the entry is finished: acknowledged, or moved to
 *			the dead-letter stream. The list's backoff resets.
 *	WORKER_RETRY	leave the entry pending and stop this list's queue
 *			until the time worker_retry() set: the next read
 *			returns the same entry, so nothing overtakes it.
 *
 *	A list's queue holds entries in order; other lists go on while
 *	one waits. Several daemons may share one Redis: a lease per list
 *	and direction (fg_store_queue_lease) lets one of them work a list
 *	at a time; when its holder stops renewing it, another takes the
 *	list over together with the entries the first left pending.
 *	The lease is renewed between entries and, through
 *	worker_progress(), during every forum request and SMTP
 *	submission, so one slow entry does not let it lapse. Every step
 *	that finishes an entry checks the lease's fencing token in the
 *	same atomic step: a daemon that lost the lease anyway (stalled
 *	longer than queue_lease_ttl, cut off from Redis) finishes
 *	nothing, logs it, and leaves the list to the new holder.
 *
 *	Effects outside Redis (a forum post created, a mail sent) are
 *	remembered per list with worker_mark_done(): when Redis fails
 *	right after such an effect, the retry of the same entry only
 *	finishes the bookkeeping instead of repeating the effect.
 */
#include <stdbool.h>
#include <pthread.h>
#include "bridge.h"

enum worker_result {
	WORKER_DONE,
	WORKER_RETRY,
};

struct worker_list {
	char *name;
	struct fg_list *def;		/* address, category */
	bool listed;			/* still in fg:lists at the last look */
	bool maps_upgraded;		/* fg_store_maps_upgrade() done */

	/* the lease on this list's queue (one daemon works a list) */
	bool leased;
	long long lease_token;		/* its fencing token while leased */
	long long lease_renew_ms;	/* renew or try again then */

	/* backoff */
	unsigned int delay_ms;		/* last wait, 0 after a success */
	long long next_ms;		/* no read before this time */

	/* permanent failures of the entry at the head */
	char *try_entry;
	unsigned int tries;

	/* the queue of the entry being processed: the worker's, or
	   FG_QUEUE_INBOUND_WAIT for a reply that waited for its parent */
	enum fg_queue entry_queue;

	/* replies waiting for their parent (list->forum): look at them
	   again then, or at once when wait_due */
	long long wait_check_ms;
	bool wait_due;
	bool has_waiting;		/* some were there at the last look */

	/* why the forum stops the queue, as recorded in Redis
	   (fg_store_in_stopped_set): NULL none; stopped_known false until
	   the record was cleared once by this daemon */
	const char *stopped_cause;
	bool stopped_known;

	/* forum->list: look for refusals to tell their authors then */
	long long refused_check_ms;
	/* forum->list: look for expired posts in review then */
	long long review_check_ms;
	/* list mode: look at the list's digest then (bridge-digest.c) */
	long long digest_check_ms;

	/* the external effect of this entry happened already */
	char *done_entry;
	struct fg_post_ref done_ref;
	char *done_message_id;
};

struct worker {
	const char *name;		/* for the log: "list->forum" */
	enum fg_queue queue;
	struct bridge *bridge;
	struct fg_store *store;
	void *context;			/* the direction's own state */

	int (*process)(struct worker *w, struct worker_list *list,
		       const struct fg_entry *entry);
	/* optional: work that goes before the list's next entry (replies
	   whose parent came); WORKER_DONE or WORKER_RETRY when it
	   processed an entry, -1 when there was nothing to do */
	int (*before)(struct worker *w, struct worker_list *list);
	void (*deinit)(struct worker *w);
	/* optional: does the worker serve this list (the fan-out serves
	   list-mode lists only); NULL: every list */
	bool (*serves)(const struct fg_list *def);

	struct worker_list *lists;
	size_t n_lists;
	struct worker_list *current;	/* the list whose entry is processed */
	long long lists_read_ms;
	unsigned int refresh_generation;
	bool store_failing;		/* log a Redis outage once */

	pthread_t thread;
	bool started;
};

/* worker_start - run the loop in a new thread */
int worker_start(struct worker *w, const char **error_r);
/* worker_retry - stop the list's queue for the next backoff step, or
   retry_after_ms when the other side asked for longer; the wait in ms */
unsigned int worker_retry(struct worker *w, struct worker_list *list,
			  unsigned int retry_after_ms);
/* worker_count_try - one more permanent failure of this entry; the
   count so far */
unsigned int worker_count_try(struct worker_list *list, const char *entry_id);
/* worker_mark_done - remember that the entry's effect happened */
void worker_mark_done(struct worker_list *list, const char *entry_id,
		      const char *message_id, const struct fg_post_ref *ref);
/* worker_is_done - did the entry's effect happen already */
bool worker_is_done(const struct worker_list *list, const char *entry_id);
/* worker_finish - acknowledge the entry; WORKER_RETRY when Redis fails
   or the lease is lost */
int worker_finish(struct worker *w, struct worker_list *list,
		  const struct fg_entry *entry);
/* worker_posted - record the entry's post (Message-ID <-> post) and
   acknowledge the entry in one step; WORKER_RETRY when Redis fails or
   the lease is lost */
int worker_posted(struct worker *w, struct worker_list *list,
		  const struct fg_entry *entry, const char *message_id,
		  const struct fg_post_ref *ref);
/* worker_progress - for long requests (fg_forum_settings.progress):
   renew the lease of the list being worked when it is due; non-zero
   (abort the request) when another daemon holds the list now */
int worker_progress(void *worker);
/* worker_keep_lease - renew the list's lease if due; false when it is
   lost to another daemon */
bool worker_keep_lease(struct worker *w, struct worker_list *list);
/* worker_lease_lost - another daemon holds the list: log, forget the
   entry's state, stop working the list; WORKER_RETRY */
int worker_lease_lost(struct worker *w, struct worker_list *list,
		      const struct fg_entry *entry, const char *what);
/* worker_park - set the entry aside until its parent is posted
   (FG_QUEUE_INBOUND_WAIT); WORKER_RETRY when Redis fails or the lease
   is lost */
int worker_park(struct worker *w, struct worker_list *list,
		const struct fg_entry *entry);
/* worker_dead - move the entry to the dead-letter stream */
int worker_dead(struct worker *w, struct worker_list *list,
		const struct fg_entry *entry, const char *reason);
/* worker_forum_reopen - after the forum refused the credentials: read
   forum_api_key from the configuration again; when it differs from
   *api_key, open *forum anew with set and the new key, and keep the key
   in *api_key. 1 reopened, 0 unchanged, -1 failed (logged). */
struct fg_forum_settings;
int worker_forum_reopen(struct worker *w, const struct fg_forum_settings *set,
			struct fg_forum **forum, char **api_key);
/* worker_store_failed - log a Redis failure and back off */
int worker_store_failed(struct worker *w, struct worker_list *list,
			const char *what, const char *error);

/* The forum's review queue (bridge-review.c). */
struct fg_forum;
struct fg_forum_answer;
struct fg_post;
/* review_held - remember list mail the forum holds for review (author
   NULL: the bridge's user; topic_id 0: a new topic with title); a
   Redis failure is logged, the entry is finished all the same */
void review_held(struct worker *w, struct worker_list *list,
		 const char *message_id, long long topic_id,
		 const char *title, const char *author, const char *raw,
		 const struct fg_forum_answer *answer, struct fg_forum *forum);
/* review_approved - a forum post that is list mail the forum held and
   a moderator approved: mapped to its Message-ID and finished, not
   mailed (WORKER_DONE or WORKER_RETRY); -1 when it is not one */
int review_approved(struct worker *w, struct worker_list *list,
		    const struct fg_entry *entry, const struct fg_post *post);
/* review_expire - held posts older than forum_review_expiry counted
   as expired and logged (at most once a minute per list) */
void review_expire(struct worker *w, struct worker_list *list);

#endif
