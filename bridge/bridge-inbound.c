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
 *	   A record that names a parent the map does not know yet is set
 *	   aside (FG_QUEUE_INBOUND_WAIT) for reply_wait (parent received,
 *	   not posted) or reply_wait_unseen (never received) after it
 *	   arrived, and the queue goes on; inbound_before() posts it
 *	   under its parent as soon as the parent is mapped, or without
 *	   one when the time is up.
 *	3. Before the request, the post's fingerprint and the posting
 *	   mark go to Redis (inbound_may_exist()); a record whose mark is
 *	   there from an earlier try is looked for on the forum first.
 *	4. The post created, the map records Message-ID <-> post (with
 *	   the parent's post number, which the forum-to-list direction
 *	   walks for References) and the entry is acknowledged, in one
 *	   step under the queue's lease (worker_posted()).
 *
 *	A transient forum failure stops the list's queue and retries the
 *	same record with backoff; a rate limit or posting delay waits as
 *	long as the forum said (fg_forum_classify_refusal()); refused
 *	credentials stop the queue until a try works, forum_api_key read
 *	again from the configuration before each try (SIGHUP tries at
 *	once); both are recorded for `forumgate status`
 *	(fg_store_in_stopped_set()) until a post goes through. A
 *	permanent one is retried up to forum_max_tries times, then the
 *	record goes to the dead-letter stream with the forum's reason; a
 *	refusal of the content (too long, too short, too similar:
 *	answer.content_refused) at once, since fg-forum fitted the text to
 *	the forum's limits already - unless it has a remedy
 *	(inbound_remedy(): a mapped author's post as the bridge user with
 *	the attribution line, a limit the forum names learnt). A post held
 *	for review by the forum is acknowledged without a map entry and
 *	remembered, so that its approval maps it (bridge-review.c).
 *
 *	Every record ends in one log line with the list, the Message-ID
 *	and what became of it.
 *
 *	Threading by subject (thread_by_subject_days > 0): a record whose
 *	parent is unknown joins the topic that list mail with the same
 *	normalized subject started within that many days.
 *
 *	A quote that ends the text without an attribution (the parser
 *	left it in the body and recorded where it is) is cut when the
 *	parent was found by Message-ID and the quote is the parent's
 *	text: its sketch compared with the one kept of the parent when
 *	it was posted or mailed (fg-quote.h, fg_store_text_get()); one
 *	more round trip, only for such replies. Otherwise it stays.
 *
 *	Authors: an authenticated sender (the record's from_auth, see
 *	fg-auth.h) found in the authors map (fg:authors) is posted as that
 *	forum user; anyone else, and every sender that is not
 *	authenticated, as the bridge's user, with the author_attribution
 *	line first. The log line says which.
 *
 *	Exactly once across lost answers: a topic carries an external id
 *	made from its Message-ID. After a transient failure of an entry
 *	(the request may have reached the forum), and when the forum
 *	refuses the post as a repeat ("too similar", "already been
 *	taken"), the forum is asked for the post first (fg_forum_find());
 *	one that is there is recorded instead of posted again.
 *
 *	Attachments that came with their data through the queue are
 *	uploaded and linked under the text; the others (too large, a type
 *	not in attachment_types, a forum without uploads) are listed by
 *	name, type and size.
 */
#include "bridge-worker.h"
#include "fg-attach.h"
#include "fg-forum.h"
#include "fg-msgid.h"
#include "fg-quote.h"
#include "fg-threading.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* A reply whose parent is not posted yet waits aside: looked at again
   this often (and at once after a post), this many at a time, looking
   for at most this many of its parents. */
#define INBOUND_WAIT_CHECK_MS 2000
#define INBOUND_WAIT_BATCH 32
#define INBOUND_WAIT_MAX_IDS 8

struct inbound {
	struct fg_forum *forum;
	char *api_key;		/* the forum_api_key the handle uses */
	bool key_refused;	/* the forum refused it: read it again */
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

/* inbound_record_posted - map and acknowledge in one step, and log
   the success */
static int inbound_record_posted(struct worker *w, struct worker_list *l,
				 const struct fg_entry *entry,
				 const char *message_id)
{
	/* copies: message_id may be l->done_message_id, and
	   worker_posted() forgets the entry's state */
	const struct fg_post_ref ref = l->done_ref;
	char *msgid = fg_xstrdup(message_id);
	const char *error;
	int ret;

	ret = worker_posted(w, l, entry, msgid, &ref);
	if (ret == WORKER_DONE && l->has_waiting)
		/* a reply waiting for this post goes next */
		l->wait_due = true;
	if (ret == WORKER_DONE &&
	    fg_store_topic_set(w->store, ref.topic_id, l->name, &error) < 0)
		msg_warn("list=%s message_id=<%s>: recording the topic's list "
			 "failed: %s", l->name, msgid, error);
	if (ret == WORKER_DONE && ref.parent_post_number == 0)
		msg_info("list=%s message_id=<%s>: topic created id=%lld "
			 "post_id=%lld", l->name, msgid, ref.topic_id,
			 ref.post_id);
	else if (ret == WORKER_DONE)
		msg_info("list=%s message_id=<%s>: reply in topic %lld "
			 "post_number=%lld to post_number=%lld post_id=%lld",
			 l->name, msgid, ref.topic_id, ref.post_number,
			 ref.parent_post_number, ref.post_id);
	free(msgid);
	return ret;
}

/* inbound_stopped - a refusal of the credentials or a rate limit stops
   the queue: recorded for `forumgate status` when the cause changes
   (a Redis failure here only costs the record) */
static void inbound_stopped(struct worker *w, struct worker_list *l,
			    const struct fg_forum_answer *answer,
			    const char *reason, unsigned int wait_ms)
{
	struct inbound *in = w->context;
	const char *cause, *error;
	long long now = (long long)time(NULL);

	if (answer->cause != FG_FORUM_CAUSE_CREDENTIALS &&
	    answer->cause != FG_FORUM_CAUSE_RATE_LIMIT)
		return;
	cause = fg_forum_cause_name(answer->cause);
	if (answer->cause == FG_FORUM_CAUSE_CREDENTIALS)
		in->key_refused = true;
	if (l->stopped_cause != NULL && strcmp(l->stopped_cause, cause) == 0)
		return;
	if (fg_store_in_stopped_set(w->store, l->name, cause, reason, now,
				    now + (wait_ms + 999) / 1000, &error) < 0) {
		msg_warn("list=%s: recording why the queue is stopped failed: "
			 "%s", l->name, error);
		return;
	}
	l->stopped_cause = cause;
	l->stopped_known = true;
}

/* inbound_going - a post went through, or the forum answered about
   the post itself: a queue the forum had stopped moves again, and says
   so */
static void inbound_going(struct worker *w, struct worker_list *l)
{
	struct inbound *in = w->context;
	const char *error;

	if (in->key_refused) {
		in->key_refused = false;
		msg_info("list=%s: the forum accepts the bridge's credentials "
			 "again: the queue moves", l->name);
	}
	if (l->stopped_known && l->stopped_cause == NULL)
		return;
	if (fg_store_in_stopped_clear(w->store, l->name, &error) < 0) {
		msg_warn("list=%s: clearing why the queue was stopped failed: "
			 "%s", l->name, error);
		return;
	}
	if (l->stopped_cause != NULL &&
	    strcmp(l->stopped_cause, "credentials") != 0)
		msg_info("list=%s: the forum takes posts again: the queue "
			 "moves", l->name);
	l->stopped_cause = NULL;
	l->stopped_known = true;
}

/* inbound_settings - the forum handle's settings from the
   configuration, with api_key */
static struct fg_forum_settings inbound_settings(const struct fg_config *c,
						 const char *api_key,
						 struct worker *w)
{
	struct fg_forum_settings set = {
		.type = c->forum_type,
		.url = c->forum_url,
		.api_key = api_key,
		.generic_url = c->forum_generic_url,
		.generic_secret = c->forum_generic_secret,
		.generic_link = c->forum_generic_link,
		.api_username = c->forum_api_username,
		.timeout_ms = c->forum_timeout,
		.max_title_length = c->forum_max_title_length,
		.min_title_length = c->forum_min_title_length,
		.max_post_length = c->forum_max_post_length,
		.min_post_length = c->forum_min_post_length,
		/* a long forum request keeps the list's lease */
		.progress = worker_progress,
		.progress_context = w,
	};

	return set;
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
		if (answer->cause == FG_FORUM_CAUSE_RATE_LIMIT &&
		    answer->retry_after_ms > 0)
			/* the forum said how long: no longer, however often
			   it says so */
			l->delay_ms = 0;
		wait = worker_retry(w, l, answer->retry_after_ms);
		inbound_stopped(w, l, answer, reason, wait);
		if (answer->cause == FG_FORUM_CAUSE_CREDENTIALS)
			msg_warn("list=%s message_id=<%s>: the forum refused "
				 "the bridge's credentials (forum_api_key, "
				 "forum_api_username): %s; the list's queue is "
				 "stopped until they work, nothing is "
				 "dead-lettered; forum_api_key is read again "
				 "before each try (SIGHUP: try now); retry in "
				 "%u.%03us", l->name, message_id, reason,
				 wait / 1000, wait % 1000);
		else if (answer->cause == FG_FORUM_CAUSE_RATE_LIMIT)
			msg_warn("list=%s message_id=<%s>: the forum asks to "
				 "wait (rate limit or posting delay): %s; "
				 "queue stopped, retry in %u.%03us", l->name,
				 message_id, reason, wait / 1000, wait % 1000);
		else
			msg_warn("list=%s message_id=<%s>: forum unavailable: "
				 "%s; queue stopped, retry in %u.%03us",
				 l->name, message_id, reason, wait / 1000,
				 wait % 1000);
		return WORKER_RETRY;
	}
	/* the forum answered about the post itself: nothing stops the
	   queue any more */
	inbound_going(w, l);
	if (max_tries == 0 || answer->content_refused)
		max_tries = 1;	/* the same text would be refused again */
	tries = worker_count_try(l, entry->id);
	if (tries < max_tries) {
		wait = worker_retry(w, l, answer->retry_after_ms);
		msg_warn("list=%s message_id=<%s>: forum refused the post "
			 "(try %u of %u): %s; retry in %u.%03us", l->name,
			 message_id, tries, max_tries, reason, wait / 1000,
			 wait % 1000);
		return WORKER_RETRY;
	}
	if (tries == 1)
		why = fg_xasprintf("forum refused the post: %s", reason);
	else
		why = fg_xasprintf("forum refused the post %u times: %s",
				   tries, reason);
	ret = worker_dead(w, l, entry, why);
	if (ret == WORKER_DONE)
		msg_warn("list=%s message_id=<%s>: dead-letter: %s", l->name,
			 message_id, why);
	free(why);
	return ret;
}

/* inbound_short_address - "alice@e…": enough to recognize, not to mail */
static char *inbound_short_address(const char *address)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || at[1] == '\0')
		return fg_xstrdup(address);
	return fg_xasprintf("%.*s@%c\xe2\x80\xa6", (int)(at - address),
			    address, at[1]);
}

/* inbound_md_escape - text that Markdown shows as it is */
static void inbound_md_escape(struct fg_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr("\\`*_{}[]()<>#+-!|~", *s) != NULL)
			fg_buf_putc(b, '\\');
		fg_buf_putc(b, (unsigned char)*s < 0x20 ? ' ' : *s);
	}
}

/* inbound_attribution - author_attribution expanded, or NULL */
static char *inbound_attribution(const char *format,
				 const struct fg_record *rec)
{
	struct fg_buf b = { 0 };
	char *name, *addr;

	if (format == NULL || *format == '\0')
		return NULL;
	addr = inbound_short_address(rec->from_email != NULL ?
				     rec->from_email : "");
	if (rec->from_name != NULL && *rec->from_name != '\0') {
		name = fg_xstrdup(rec->from_name);
	} else {
		const char *at = strrchr(addr, '@');
		name = at != NULL ? fg_xstrndup(addr, (size_t)(at - addr)) :
			fg_xstrdup(addr);
	}
	for (const char *p = format; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			fg_buf_putc(&b, *p);
			continue;
		}
		p++;
		if (*p == 'n')
			inbound_md_escape(&b, name);
		else if (*p == 'a')
			inbound_md_escape(&b, addr);
		else if (*p == '%')
			fg_buf_putc(&b, '%');
		else {
			fg_buf_putc(&b, '%');
			fg_buf_putc(&b, *p);
		}
	}
	free(name);
	free(addr);
	return fg_buf_steal(&b);
}

/* inbound_attachments - the record's attachments for the post: those
   that came with their data are uploaded (when the forum takes files),
   the others listed by name. FG_FORUM_OK, or an upload's transient
   failure (the record is tried again). */
static int inbound_attachments(struct inbound *in,
			       const struct fg_entry *entry,
			       const char *author, struct fg_buf *raw,
			       const char **error_r)
{
	const char *count = fg_entry_get(entry, "attachments");
	long long n = 0;
	bool first = true;

	if (count == NULL || fg_parse_llong(count, &n) < 0 || n <= 0)
		return FG_FORUM_OK;
	if (n > FG_ATTACH_MAX)
		n = FG_ATTACH_MAX;
	for (long long i = 0; i < n; i++) {
		char key[64], size_text[32], *line = NULL;
		const char *name, *type, *data, *size;
		struct fg_forum_upload up;
		struct fg_forum_file file;
		unsigned char *bytes;
		long long bytes_size = 0;
		size_t len;
		int ret;

		snprintf(key, sizeof(key), "attachment.%lld.name", i);
		name = fg_entry_get(entry, key);
		snprintf(key, sizeof(key), "attachment.%lld.type", i);
		type = fg_entry_get(entry, key);
		snprintf(key, sizeof(key), "attachment.%lld.size", i);
		size = fg_entry_get(entry, key);
		snprintf(key, sizeof(key), "attachment.%lld.data", i);
		data = fg_entry_get(entry, key);
		if (name == NULL || type == NULL)
			continue;
		if (size == NULL || fg_parse_llong(size, &bytes_size) < 0 ||
		    bytes_size < 0)
			bytes_size = 0;
		fg_attach_human_size((size_t)bytes_size, size_text,
				     sizeof(size_text));
		if (data != NULL && *data != '\0' &&
		    fg_forum_can_upload(in->forum) &&
		    fg_attach_b64_decode(data, &bytes, &len) == 0) {
			memset(&file, 0, sizeof(file));
			file.name = name;
			file.type = type;
			file.data = bytes;
			file.size = len;
			file.author = author;
			ret = fg_forum_upload(in->forum, &file, &up, error_r);
			free(bytes);
			if (ret == FG_FORUM_TRANSIENT)
				return ret;
			if (ret == FG_FORUM_OK) {
				line = fg_xasprintf("%s (%s)", up.markdown,
						    size_text);
				fg_forum_upload_free(&up);
			}
		}
		if (first) {
			fg_buf_puts(raw, "\n\nAttachments:\n");
			first = false;
		}
		fg_buf_puts(raw, "\n- ");
		if (line != NULL) {
			fg_buf_puts(raw, line);
			free(line);
		} else {
			inbound_md_escape(raw, name);
			fg_buf_printf(raw, " (%s, %s, not uploaded)", type,
				      size_text);
		}
	}
	return FG_FORUM_OK;
}

/* inbound_raw - what is posted: the attribution line when the post is
   not made as the author, the text, the attachments */
static int inbound_raw(struct inbound *in, const struct fg_config *c,
		       const struct fg_record *rec,
		       const struct fg_entry *entry, const char *author,
		       struct fg_buf *raw, const char **error_r)
{
	char *line;

	fg_buf_free(raw);
	if (author == NULL &&
	    (line = inbound_attribution(c->author_attribution, rec)) != NULL) {
		fg_buf_puts(raw, line);
		fg_buf_puts(raw, "\n\n");
		free(line);
	}
	fg_buf_puts(raw, rec->body != NULL ? rec->body : "");
	return inbound_attachments(in, entry, author, raw, error_r);
}

/* inbound_parent_quote - cut the body's trailing quote when it is the
   text of the parent post; 0 cut or kept, -1 Redis failed */
static int inbound_parent_quote(struct worker *w, struct worker_list *l,
				struct fg_record *rec, const char *parent_id,
				const char **error_r)
{
	char *sketch, *body;
	size_t hits, looked;
	int ret;

	ret = fg_store_text_get(w->store, l->name, parent_id, &sketch,
				error_r);
	if (ret <= 0) {
		if (ret == 0)
			msg_info("list=%s message_id=<%s>: the trailing quote "
				 "stays: no text kept of the parent <%s>",
				 l->name, rec->message_id, parent_id);
		return ret;
	}
	if (!fg_quote_matches(rec->quote_sketch, sketch, &hits, &looked)) {
		msg_info("list=%s message_id=<%s>: the trailing quote stays: "
			 "not the text of the parent <%s> (%zu of %zu word "
			 "runs in it)", l->name, rec->message_id, parent_id,
			 hits, looked);
		free(sketch);
		return 0;
	}
	body = fg_xasprintf("%.*s%s", (int)rec->quote_start, rec->body,
			    rec->body + rec->quote_end);
	free(rec->body);
	rec->body = body;
	msg_info("list=%s message_id=<%s>: the trailing quote cut: the text "
		 "of the parent <%s> (%zu of %zu word runs in it)", l->name,
		 rec->message_id, parent_id, hits, looked);
	free(sketch);
	return 0;
}

/* inbound_author_refused - the forum refused to act as the mapped user
   (Discourse: 403 for an unknown username; NodeBB: no such uid), not
   the post */
static bool inbound_author_refused(int status,
				   const struct fg_forum_answer *answer,
				   const char *reason)
{
	if (status == FG_FORUM_OK || status == FG_FORUM_HELD)
		return false;
	return answer->http_status == 401 || answer->http_status == 403 ||
		(status == FG_FORUM_PERMANENT && answer->http_status == 0) ||
		(reason != NULL && strstr(reason, "User does not exist") != NULL);
}

static int inbound_may_exist(struct worker *w, struct worker_list *l,
			     const struct fg_entry *entry, const char *author,
			     const char *raw, const char **error_r);

/* inbound_remedy - a refusal of the content that has a remedy: a
   mapped author's post too short or too similar goes again as the
   bridge user, with the attribution line that makes it longer and
   different; a length limit the forum named (stricter than the
   settings) is learnt and the text fitted to it again. The status of
   the last try: the one given when there was no remedy. */
static int inbound_remedy(struct worker *w, struct worker_list *l,
			  const struct fg_entry *entry,
			  const struct fg_record *rec,
			  struct fg_forum_request *req, char **author,
			  struct fg_buf *raw, int status,
			  struct fg_forum_answer *answer, const char **error_r)
{
	struct inbound *in = w->context;
	const struct fg_config *c = w->bridge->config;
	const char *error;

	if (*author != NULL && (answer->cause == FG_FORUM_CAUSE_TOO_SHORT ||
				answer->cause == FG_FORUM_CAUSE_TOO_SIMILAR)) {
		msg_info("list=%s message_id=<%s>: the forum refused the post "
			 "as '%s' (%s): posting it as the bridge user with the "
			 "attribution line", l->name, rec->message_id, *author,
			 *error_r);
		free(*author);
		*author = NULL;
		req->author = NULL;
		status = inbound_raw(in, c, rec, entry, NULL, raw, error_r);
		req->raw = raw->s;
		if (status != FG_FORUM_OK)
			return status;
		status = fg_forum_create(in->forum, req, answer, error_r);
		if (status != FG_FORUM_PERMANENT)
			return status;
	}
	if (!fg_forum_learn_limits(in->forum, answer))
		return status;
	msg_info("list=%s message_id=<%s>: %s; fitted to the forum's own "
		 "limit and tried again", l->name, rec->message_id, *error_r);
	/* the text changes: its fingerprint is the bridge's too */
	if (inbound_may_exist(w, l, entry, *author, raw->s, &error) < 0) {
		memset(answer, 0, sizeof(*answer));
		*error_r = fg_errorf("Redis: %s", error);
		return FG_FORUM_TRANSIENT;
	}
	return fg_forum_create(in->forum, req, answer, error_r);
}

/* inbound_is_repeat - the forum's words for a post it has already */
static bool inbound_is_repeat(const char *reason)
{
	return reason != NULL &&
		(strstr(reason, "too similar") != NULL ||
		 strstr(reason, "already been taken") != NULL);
}

/* inbound_wall_ms - the wall clock in ms (a record's "received" is
   unix time) */
static long long inbound_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* inbound_wait_left - how much longer a record without a known parent
   waits for one: 1 with *left_ms_r and *awaited_r (the newest parent
   the bridge received, else the In-Reply-To), 0 no more waiting (no
   parent named, or the time is up), -1 Redis failed. The time counts
   from the record's arrival: reply_wait for a parent the bridge
   received but has not posted, reply_wait_unseen for one it never
   received. */
static int inbound_wait_left(struct worker *w, struct worker_list *l,
			     const struct fg_record *rec,
			     const struct fg_entry *entry, long long *left_ms_r,
			     const char **awaited_r, const char **error_r)
{
	const struct fg_config *c = w->bridge->config;
	const char *received = fg_entry_get(entry, "received");
	const char *ids[INBOUND_WAIT_MAX_IDS];
	size_t n = 0, first = 0;
	long long since, limit, now;
	int seen;

	if (rec->in_reply_to != NULL && *rec->in_reply_to != '\0')
		ids[n++] = rec->in_reply_to;
	for (size_t i = rec->n_references; i > 0 && n < INBOUND_WAIT_MAX_IDS;
	     i--) {
		if (rec->references[i - 1] != NULL &&
		    *rec->references[i - 1] != '\0')
			ids[n++] = rec->references[i - 1];
	}
	if (n == 0 || received == NULL ||
	    fg_parse_llong(received, &since) < 0)
		return 0;
	now = inbound_wall_ms();
	limit = c->reply_wait > c->reply_wait_unseen ? c->reply_wait :
		c->reply_wait_unseen;
	if (since * 1000 + limit <= now)
		return 0;	/* past either wait: no need to look */
	seen = fg_store_inbound_seen(w->store, l->name, ids, n, &first,
				     error_r);
	if (seen < 0)
		return -1;
	*awaited_r = ids[first];
	limit = seen > 0 ? c->reply_wait : c->reply_wait_unseen;
	*left_ms_r = since * 1000 + limit - now;
	return *left_ms_r > 0 ? 1 : 0;
}

/* inbound_may_exist - from now on the entry's post may exist: its
   fingerprint is the bridge's (its webhook is not mailed back to the
   list, even when it comes before the post is recorded or the answer
   is lost), and the posting mark tells whoever tries the entry next to
   look for the post first */
static int inbound_may_exist(struct worker *w, struct worker_list *l,
			     const struct fg_entry *entry, const char *author,
			     const char *raw, const char **error_r)
{
	struct inbound *in = w->context;
	char *fitted = fg_forum_fit_raw(in->forum, raw);
	char *fp = fg_forum_fingerprint(author, fitted);
	int ret;

	ret = fg_store_ours_add(w->store, l->name, fp, error_r);
	free(fp);
	free(fitted);
	if (ret == 0)
		ret = fg_store_posting_begin(w->store, l->name, entry->id,
					     w->bridge->consumer, error_r);
	return ret;
}

/* inbound_process - one record; see the DESCRIPTION */
static int inbound_process(struct worker *w, struct worker_list *l,
			   const struct fg_entry *entry)
{
	struct inbound *in = w->context;
	const struct fg_config *c = w->bridge->config;
	struct inbound_lookup lookup = { w, l->name };
	struct fg_record *rec;
	struct fg_post_ref ref, parent;
	struct fg_forum_answer answer;
	struct fg_forum_request req;
	struct fg_buf raw = { 0 };
	const char *error, *parent_id;
	char *author = NULL, *external_id = NULL;
	int ret, status, found;
	int was_unsure;
	bool is_reply, by_msgid;

	if (worker_is_done(l, entry->id)) {
		/* posted already; Redis failed before the map was stored */
		return inbound_record_posted(w, l, entry, l->done_message_id);
	}
	if (in->key_refused) {
		struct fg_forum_settings set = inbound_settings(
			w->bridge->config, in->api_key, w);
		(void)worker_forum_reopen(w, &set, &in->forum, &in->api_key);
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

	ret = fg_threading_find_parent(rec, c->secret, l->name,
				       inbound_lookup_msgid, &lookup,
				       &parent, &parent_id, &error);
	by_msgid = ret > 0;
	if (ret == 0 && l->entry_queue == FG_QUEUE_INBOUND) {
		/* an early reply waits for its parent, aside */
		long long left_ms;
		const char *awaited;

		ret = inbound_wait_left(w, l, rec, entry, &left_ms, &awaited,
					&error);
		if (ret > 0) {
			ret = worker_park(w, l, entry);
			if (ret == WORKER_DONE) {
				l->has_waiting = true;
				msg_info("list=%s message_id=<%s>: parent <%s> "
					 "not posted yet: set aside for up to "
					 "%llds, the list's queue goes on",
					 l->name, rec->message_id, awaited,
					 (left_ms + 999) / 1000);
			}
			fg_record_free(&rec);
			return ret;
		}
	}
	if (ret == 0 && l->entry_queue == FG_QUEUE_INBOUND_WAIT)
		msg_info("list=%s message_id=<%s>: its parent was not posted "
			 "in time: posted without it", l->name,
			 rec->message_id);
	if (ret == 0 && c->thread_by_subject_days > 0 &&
	    rec->title != NULL && *rec->title != '\0') {
		long long since = (long long)time(NULL) -
			(long long)c->thread_by_subject_days * 86400;
		ret = fg_store_subject_get(w->store, l->name, rec->title, since,
					   &parent, &error);
		if (ret > 0) {
			parent.post_number = 0;	/* answers the topic */
			parent_id = "(same subject)";
		}
	}
	if (ret < 0) {
		fg_record_free(&rec);
		return worker_store_failed(w, l, "looking up the parent",
					   error);
	}
	is_reply = ret > 0;
	if (by_msgid && parent_id != NULL && rec->quote_sketch != NULL &&
	    inbound_parent_quote(w, l, rec, parent_id, &error) < 0) {
		fg_record_free(&rec);
		return worker_store_failed(w, l, "looking up the parent's "
					   "text", error);
	}

	/* only an authenticated sender is looked up (an entry from before
	   from_auth existed has none: not authenticated) */
	if (rec->from_auth != NULL && *rec->from_auth != '\0' &&
	    rec->from_email != NULL && *rec->from_email != '\0' &&
	    fg_store_author_get(w->store, rec->from_email, &author,
				&error) < 0) {
		fg_record_free(&rec);
		return worker_store_failed(w, l, "looking up the author",
					   error);
	}
	if (rec->from_auth == NULL || *rec->from_auth == '\0')
		msg_info("list=%s message_id=<%s>: sender not authenticated: "
			 "posted as the bridge user", l->name,
			 rec->message_id);
	else
		msg_info("list=%s message_id=<%s>: sender authenticated (%s): "
			 "%s%s", l->name, rec->message_id, rec->from_auth,
			 author != NULL ? "posted as forum user " :
			 "no forum user, posted as the bridge user",
			 author != NULL ? author : "");
	memset(&answer, 0, sizeof(answer));
	status = inbound_raw(in, c, rec, entry, author, &raw, &error);
	if (status != FG_FORUM_OK) {
		ret = inbound_failed(w, l, entry, rec->message_id, status,
				     &answer, error);
		free(author);
		fg_buf_free(&raw);
		fg_record_free(&rec);
		return ret;
	}

	memset(&req, 0, sizeof(req));
	req.raw = raw.s;
	req.author = author;
	req.message_id = rec->message_id;
	if (is_reply) {
		req.topic_id = parent.topic_id;
		req.reply_to_post_number = parent.post_number;
		/* a parent found by Message-ID is that post (our own
		   Message-ID may name it by id alone); one found by subject
		   answers the topic */
		req.reply_to_post_id = parent.post_number > 0 || by_msgid ?
			parent.post_id : 0;
	} else {
		req.title = inbound_title(rec);
		req.category = l->def != NULL ? l->def->category : 0;
		external_id = fg_forum_external_id(rec->message_id);
		req.external_id = external_id;
	}

	found = 0;
	status = FG_FORUM_TRANSIENT;
	/* a try that got no clear answer, in this daemon before a crash or
	   in another one, may have posted it: look first */
	was_unsure = fg_store_posting_is(w->store, l->name, entry->id,
					 &error);
	if (was_unsure < 0) {
		ret = worker_store_failed(w, l, "looking for a post that may "
					  "exist", error);
		goto out;
	}
	if (was_unsure > 0) {
		found = fg_forum_find(in->forum, &req, &answer, &error);
		if (found < 0)
			status = found;
	}
	if (found == 0) {
		if (inbound_may_exist(w, l, entry, author, raw.s, &error) < 0) {
			ret = worker_store_failed(w, l, "marking the post",
						  error);
			goto out;
		}
		status = fg_forum_create(in->forum, &req, &answer, &error);
		if (author != NULL &&
		    inbound_author_refused(status, &answer, error)) {
			/* a stale authors map must not stop the list */
			msg_warn("list=%s message_id=<%s>: the forum refused to "
				 "post as '%s' (%s); posting as the bridge user",
				 l->name, rec->message_id, author, error);
			free(author);
			author = NULL;
			req.author = NULL;
			status = inbound_raw(in, c, rec, entry, NULL, &raw,
					     &error);
			req.raw = raw.s;
			if (status == FG_FORUM_OK)
				status = fg_forum_create(in->forum, &req,
							 &answer, &error);
		}
		if (status == FG_FORUM_PERMANENT && inbound_is_repeat(error)) {
			const char *refused = error;
			found = fg_forum_find(in->forum, &req, &answer, &error);
			if (found <= 0)
				error = refused;
		}
		if (found <= 0 && status == FG_FORUM_PERMANENT)
			status = inbound_remedy(w, l, entry, rec, &req, &author,
						&raw, status, &answer, &error);
	}
	if (found > 0) {
		msg_info("list=%s message_id=<%s>: the forum has the post "
			 "already (an earlier try got no clear answer)",
			 l->name, rec->message_id);
		status = FG_FORUM_OK;
	}
	/* Not posted for sure (a refusal, a 429): the mark goes. No
	   answer, or a 5xx a proxy may have sent after the forum stored
	   the post: the mark stays, and the next try looks first. */
	if (status != FG_FORUM_OK && status != FG_FORUM_HELD &&
	    !(status == FG_FORUM_TRANSIENT &&
	      (answer.http_status == 0 || answer.http_status >= 500)) &&
	    fg_store_posting_end(w->store, l->name, entry->id, &error) < 0) {
		ret = worker_store_failed(w, l, "clearing the posting mark",
					  error);
		goto out;
	}

	if (status == FG_FORUM_OK || status == FG_FORUM_HELD)
		inbound_going(w, l);
	switch (status) {
	case FG_FORUM_OK:
		memset(&ref, 0, sizeof(ref));
		ref.topic_id = answer.topic_id;
		ref.post_number = answer.post_number;
		ref.post_id = answer.post_id;
		ref.parent_post_number = is_reply ? parent.post_number : 0;
		ref.parent_post_id = req.reply_to_post_id;
		if (is_reply && ref.parent_post_number == 0)
			ref.parent_post_number = 1;
		if (ref.post_number == 1) {
			ref.parent_post_number = 0;
			ref.parent_post_id = 0;
		}
		if (!is_reply && c->thread_by_subject_days > 0 &&
		    rec->title != NULL && *rec->title != '\0' &&
		    fg_store_subject_set(w->store, l->name, rec->title, &ref,
					 (long long)time(NULL), &error) < 0)
			msg_warn("list=%s message_id=<%s>: recording the "
				 "subject failed: %s", l->name,
				 rec->message_id, error);
		worker_mark_done(l, entry->id, rec->message_id, &ref);
		ret = inbound_record_posted(w, l, entry, rec->message_id);
		break;
	case FG_FORUM_HELD:
		review_held(w, l, rec->message_id,
			    is_reply ? parent.topic_id : 0, req.title, author,
			    raw.s, &answer, in->forum);
		ret = worker_finish(w, l, entry);
		if (ret == WORKER_DONE)
			msg_info("list=%s message_id=<%s>: held for review by "
				 "the forum%s%lld (%s; mapped when approved)",
				 l->name, rec->message_id,
				 parent_id != NULL ? ", reply in topic " :
				 ", new topic in category ",
				 parent_id != NULL ? parent.topic_id :
				 l->def != NULL ? l->def->category : 0,
				 answer.held_id[0] != '\0' ? answer.held_id :
				 "no id named");
		break;
	default:
		ret = inbound_failed(w, l, entry, rec->message_id, status,
				     &answer, error);
		break;
	}
out:
	free(author);
	free(external_id);
	fg_buf_free(&raw);
	fg_record_free(&rec);
	return ret;
}

/* inbound_before - a reply set aside whose parent is posted now, or
   whose time is up, goes before the list's next entry. The replies are
   looked at every INBOUND_WAIT_CHECK_MS, and at once after this worker
   posted something (a parent, perhaps). */
static int inbound_before(struct worker *w, struct worker_list *l)
{
	struct inbound_lookup lookup = { w, l->name };
	const struct fg_config *c = w->bridge->config;
	long long now = bridge_now_ms();
	struct fg_entry **entries;
	const char *error;
	size_t n;
	int ret = -1;

	if (!l->wait_due && now < l->wait_check_ms)
		return -1;
	l->wait_due = false;
	l->wait_check_ms = now + INBOUND_WAIT_CHECK_MS;
	if (fg_store_waiting(w->store, l->name, INBOUND_WAIT_BATCH, &entries,
			     &n, &error) < 0)
		return worker_store_failed(w, l, "reading the waiting replies",
					   error);
	l->has_waiting = n > 0;
	for (size_t i = 0; i < n && ret < 0; i++) {
		struct fg_record *rec = fg_record_from_entry(entries[i]);
		struct fg_post_ref parent;
		const char *parent_id, *awaited;
		long long left_ms;
		int due = 1;

		if (rec != NULL) {
			due = fg_threading_find_parent(rec, c->secret, l->name,
						       inbound_lookup_msgid,
						       &lookup, &parent,
						       &parent_id, &error);
			if (due == 0)
				due = inbound_wait_left(w, l, rec, entries[i],
							&left_ms, &awaited,
							&error) == 0;
		}
		fg_record_free(&rec);
		if (due < 0) {
			ret = worker_store_failed(w, l, "looking up the parent "
						  "of a waiting reply", error);
			break;
		}
		if (!due)
			continue;
		l->entry_queue = FG_QUEUE_INBOUND_WAIT;
		w->current = l;
		ret = inbound_process(w, l, entries[i]);
		w->current = NULL;
		l->entry_queue = w->queue;
		/* more may be due */
		l->wait_due = true;
	}
	fg_entries_free(entries, n);
	return ret;
}

/* inbound_deinit - the forum connection goes with the worker */
static void inbound_deinit(struct worker *w)
{
	struct inbound *in = w->context;

	fg_forum_deinit(&in->forum);
	free(in->api_key);
	free(in);
}

/* inbound_start - see bridge.h */
int inbound_start(struct bridge *b, struct worker **worker_r,
		  const char **error_r)
{
	const struct fg_config *c = b->config;
	struct inbound *in = fg_xcalloc(1, sizeof(*in));
	struct worker *w = fg_xcalloc(1, sizeof(*w));
	struct fg_forum_settings set = inbound_settings(c, c->forum_api_key,
							w);

	if (fg_forum_init(&set, &in->forum, error_r) < 0) {
		free(in);
		free(w);
		return -1;
	}
	in->api_key = fg_xstrdup(c->forum_api_key);
	w->name = "list->forum";
	w->queue = FG_QUEUE_INBOUND;
	w->bridge = b;
	w->context = in;
	w->process = inbound_process;
	w->before = inbound_before;
	w->deinit = inbound_deinit;
	if (worker_start(w, error_r) < 0) {
		worker_join(&w);
		return -1;
	}
	*worker_r = w;
	return 0;
}
