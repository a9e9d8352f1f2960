/*
 * NAME
 *	bridge-inbound 3 - list mail to forum posts
 * DESCRIPTION
 *	For each record of a list's inbound queue, in order:
 *
 *	1. A Message-ID the map knows was posted before (a redelivery,
 *	   or a crash after posting): acknowledged, nothing posted.
 *	2. The parent is the first of In-Reply-To and References (newest
 *	   first) that the map knows; found, the record becomes a reply
 *	   in the parent's topic, else a new topic in the list's
 *	   category. Resolving the parent now, not when the mail arrived,
 *	   lets a reply that came in while its parent was still queued
 *	   land in the right topic.
 *	3. The post created, the map records Message-ID <-> post (with
 *	   the parent's post number, which the forum-to-list direction
 *	   walks for References) and the entry is acknowledged.
 *
 *	A transient forum failure stops the list's queue and retries the
 *	same record with backoff; a permanent one is retried up to
 *	forum_max_tries times, then the record goes to the dead-letter
 *	stream with the forum's reason. A post held for review by the
 *	forum is acknowledged without a map entry.
 *
 *	Every record ends in one log line with the list, the Message-ID
 *	and what became of it.
 */
#include "bridge-worker.h"
#include "fg-forum.h"
#include "fg-msgid.h"
#include "fg-threading.h"

#include <stdlib.h>
#include <string.h>

struct inbound {
	struct fg_forum *forum;
};

struct inbound_lookup {
	struct worker *w;
	const char *list;
};

/* inbound_lookup_msgid - fg-threading's view of the Message-ID map */
static int inbound_lookup_msgid(void *context, const char *message_id,
				struct fg_post_ref *ref_r,
				const char **error_r)
{
	struct inbound_lookup *ctx = context;

	return fg_store_lookup_msgid(ctx->w->store, ctx->list, message_id,
				     ref_r, error_r);
}

/* inbound_title - the normalized subject, else the subject as sent */
static const char *inbound_title(const struct fg_record *rec)
{
	if (rec->title != NULL && *rec->title != '\0')
		return rec->title;
	if (rec->subject != NULL && *rec->subject != '\0')
		return rec->subject;
	return "(no subject)";
}

/* inbound_record_posted - map, acknowledge, and log the success */
static int inbound_record_posted(struct worker *w, struct worker_list *l,
				 const struct fg_entry *entry,
				 const char *message_id)
{
	const struct fg_post_ref *ref = &l->done_ref;
	const char *error;
	int ret;

	if (fg_store_map_post(w->store, l->name, message_id, ref,
			      &error) < 0)
		return worker_store_failed(w, l, "recording the post", error);
	ret = worker_finish(w, l, entry);
	if (ret != WORKER_DONE)
		return ret;
	if (ref->parent_post_number == 0)
		msg_info("list=%s message_id=<%s>: topic created id=%lld "
			 "post_id=%lld", l->name, message_id, ref->topic_id,
			 ref->post_id);
	else
		msg_info("list=%s message_id=<%s>: reply in topic %lld "
			 "post_number=%lld to post_number=%lld post_id=%lld",
			 l->name, message_id, ref->topic_id, ref->post_number,
			 ref->parent_post_number, ref->post_id);
	return WORKER_DONE;
}

/* inbound_failed - backoff, or the dead-letter stream after max tries */
static int inbound_failed(struct worker *w, struct worker_list *l,
			  const struct fg_entry *entry, const char *message_id,
			  int status, const struct fg_forum_answer *answer,
			  const char *reason)
{
	unsigned int max_tries = w->bridge->config->forum_max_tries;
	unsigned int tries, wait;
	char *why;
	int ret;

	if (status == FG_FORUM_TRANSIENT) {
		wait = worker_retry(w, l, answer->retry_after_ms);
		msg_warn("list=%s message_id=<%s>: forum unavailable: %s; "
			 "queue stopped, retry in %u.%03us", l->name,
			 message_id, reason, wait / 1000, wait % 1000);
		return WORKER_RETRY;
	}
	if (max_tries == 0)
		max_tries = 1;
	tries = worker_count_try(l, entry->id);
	if (tries < max_tries) {
		wait = worker_retry(w, l, answer->retry_after_ms);
		msg_warn("list=%s message_id=<%s>: forum refused the post "
			 "(try %u of %u): %s; retry in %u.%03us", l->name,
			 message_id, tries, max_tries, reason, wait / 1000,
			 wait % 1000);
		return WORKER_RETRY;
	}
	why = fg_xasprintf("forum refused the post %u times: %s", tries,
			   reason);
	ret = worker_dead(w, l, entry, why);
	if (ret == WORKER_DONE)
		msg_warn("list=%s message_id=<%s>: dead-letter: %s", l->name,
			 message_id, why);
	free(why);
	return ret;
}

/* inbound_process - one record; see the DESCRIPTION */
static int inbound_process(struct worker *w, struct worker_list *l,
			   const struct fg_entry *entry)
{
	struct inbound *in = w->context;
	struct inbound_lookup lookup = { w, l->name };
	struct fg_record *rec;
	struct fg_post_ref ref, parent;
	struct fg_forum_answer answer;
	const char *error, *parent_id;
	int ret, status;

	if (worker_is_done(l, entry->id)) {
		/* posted already; Redis failed before the map was stored */
		return inbound_record_posted(w, l, entry, l->done_message_id);
	}
	rec = fg_record_from_entry(entry);
	if (rec == NULL || rec->message_id == NULL ||
	    *rec->message_id == '\0') {
		fg_record_free(&rec);
		ret = worker_dead(w, l, entry, "record has no Message-ID");
		if (ret == WORKER_DONE)
			msg_warn("list=%s entry=%s: dead-letter: record has "
				 "no Message-ID", l->name, entry->id);
		return ret;
	}

	ret = fg_store_lookup_msgid(w->store, l->name, rec->message_id, &ref,
				    &error);
	if (ret < 0) {
		fg_record_free(&rec);
		return worker_store_failed(w, l, "looking up a Message-ID",
					   error);
	}
	if (ret > 0) {
		ret = worker_finish(w, l, entry);
		if (ret == WORKER_DONE)
			msg_info("list=%s message_id=<%s>: already posted as "
				 "topic %lld post_number=%lld: skipped",
				 l->name, rec->message_id, ref.topic_id,
				 ref.post_number);
		fg_record_free(&rec);
		return ret;
	}

	ret = fg_threading_find_parent(rec, w->bridge->config->secret,
				       l->name, inbound_lookup_msgid, &lookup,
				       &parent, &parent_id, &error);
	if (ret < 0) {
		fg_record_free(&rec);
		return worker_store_failed(w, l, "looking up the parent",
					   error);
	}
	if (ret > 0) {
		status = fg_forum_create_reply(in->forum, parent.topic_id,
					       parent.post_number, rec->body,
					       &answer, &error);
	} else {
		status = fg_forum_create_topic(in->forum, inbound_title(rec),
					       rec->body,
					       l->def != NULL ?
					       l->def->category : 0,
					       &answer, &error);
	}

	switch (status) {
	case FG_FORUM_OK:
		memset(&ref, 0, sizeof(ref));
		ref.topic_id = answer.topic_id;
		ref.post_number = answer.post_number;
		ref.post_id = answer.post_id;
		ref.parent_post_number = ret > 0 ? parent.post_number : 0;
		if (ref.post_number == 1)
			ref.parent_post_number = 0;
		worker_mark_done(l, entry->id, rec->message_id, &ref);
		ret = inbound_record_posted(w, l, entry, rec->message_id);
		break;
	case FG_FORUM_HELD:
		ret = worker_finish(w, l, entry);
		if (ret == WORKER_DONE)
			msg_info("list=%s message_id=<%s>: held for review by "
				 "the forum%s%lld (not mapped)", l->name,
				 rec->message_id,
				 parent_id != NULL ? ", reply in topic " :
				 ", new topic in category ",
				 parent_id != NULL ? parent.topic_id :
				 l->def != NULL ? l->def->category : 0);
		break;
	default:
		ret = inbound_failed(w, l, entry, rec->message_id, status,
				     &answer, error);
		break;
	}
	fg_record_free(&rec);
	return ret;
}

/* inbound_deinit - the forum connection goes with the worker */
static void inbound_deinit(struct worker *w)
{
	struct inbound *in = w->context;

	fg_forum_deinit(&in->forum);
	free(in);
}

/* inbound_start - see bridge.h */
int inbound_start(struct bridge *b, struct worker **worker_r,
		  const char **error_r)
{
	const struct fg_config *c = b->config;
	struct fg_forum_settings set = {
		.type = c->forum_type,
		.url = c->forum_url,
		.api_key = c->forum_api_key,
		.api_username = c->forum_api_username,
		.timeout_ms = c->forum_timeout,
	};
	struct inbound *in = fg_xcalloc(1, sizeof(*in));
	struct worker *w;

	if (fg_forum_init(&set, &in->forum, error_r) < 0) {
		free(in);
		return -1;
	}
	w = fg_xcalloc(1, sizeof(*w));
	w->name = "list->forum";
	w->queue = FG_QUEUE_INBOUND;
	w->bridge = b;
	w->context = in;
	w->process = inbound_process;
	w->deinit = inbound_deinit;
	if (worker_start(w, error_r) < 0) {
		worker_join(&w);
		return -1;
	}
	*worker_r = w;
	return 0;
}
