/*
 * NAME
 *	bridge-outbound 3 - forum posts to list mail
 * DESCRIPTION
 *	For each post of a list's outbound queue, in order:
 *
 *	1. A post the bridge made itself from list mail is not mailed:
 *	   the list has it already. Such a post is in the map under the
 *	   list mail's Message-ID; and because the forum's webhook can
 *	   arrive before the bridge stored that map entry, a post by
 *	   forum_api_username is skipped as well (on NodeBB that setting
 *	   is the bridge's uid, compared with the post's uid).
 *	   Posts by outbound_blocked_users or by members of
 *	   outbound_blocked_groups are not mailed either.
 *	2. A post whose payload carried only the forum's HTML (NodeBB's
 *	   content) gets its Markdown from the forum (fg_forum_post_text:
 *	   NodeBB's GET /api/v3/posts/PID/raw), or, when that call
 *	   fails, the HTML converted to text: HTML is never mailed as
 *	   text/plain. The call is made here, not in the webhook.
 *	   Message-ID, In-Reply-To and References follow fg-threading:
 *	   the post answers the post the forum's reply link names (NodeBB's
 *	   toPid, Discourse's reply_to_post_number), else the topic's
 *	   first post. A post is known in the maps by its forum id, so a
 *	   NodeBB post whose number another post had before a purge is
 *	   not taken for that one; on a forum whose numbers move (every
 *	   type but discourse) its Message-ID names it by id as well.
 *	3. The Message-ID is recorded in the map before the mail is
 *	   sent, so a list copy of it coming back, or a member's reply to
 *	   it, is recognised even when it is faster than this daemon.
 *	4. The mail is composed (fg-compose) and submitted to the routes
 *	   of smtp_relay in order, to the list address, with a VERP
 *	   return path (fg-verp, the post's id) on the route's sender or
 *	   bridge_address. The relay's 250 acknowledges the entry. A
 *	   route that answers 4xx or cannot be reached is skipped for
 *	   smtp_relay_backoff and the next one is tried at once; when
 *	   all failed, the list's queue stops and retries with backoff.
 *	   A 5xx moves the entry to the dead-letter stream with the
 *	   relay's answer.
 *
 *	A post the map does not know whose author and text the bridge
 *	sent to the forum from list mail (fg:{LIST}:ours:*, set before
 *	the request) is the bridge's own: the forum's webhook may come
 *	before the post is recorded, or the request's answer may have
 *	been lost, and a post made as a mapped author is not recognized
 *	by its username.
 *
 *	A post the map does not know that is list mail the forum held
 *	for review, approved now, is mapped to that mail's Message-ID
 *	and not mailed (bridge-review.c); held posts that waited longer
 *	than forum_review_expiry are counted as expired before the next
 *	entry. Every post mailed records its topic's list (fg:topics).
 *
 *	An edit (a revision queued by the webhook when outbound_edits =
 *	mail) of a post that was mailed is mailed once more, with the
 *	revision's own Message-ID (fg_msgid_make_revision) and
 *	In-Reply-To the post's; an edit of a post the list never had,
 *	or any edit with outbound_edits = ignore, is not mailed.
 *
 *	Before each entry, with refused_notify = pm, the author of a post
 *	the list manager refused is told (bridge-refused.c).
 *
 *	A post found in the map under our own Message-ID was recorded
 *	by an earlier attempt that did not finish: it is sent (again).
 *	Delivery is at least once; the list sees the same Message-ID.
 */
#include "bridge-worker.h"
#include "bridge-relay.h"
#include "fg-compose.h"
#include "fg-forum.h"
#include "fg-msgid.h"
#include "fg-quote.h"
#include "fg-secret.h"
#include "fg-smtp.h"
#include "fg-threading.h"
#include "fg-verp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <time.h>

struct outbound {
	struct fg_forum *forum;		/* post URLs, telling authors */
	struct fg_forum_settings fset;	/* what it was opened with */
	char *api_key;			/* the forum_api_key it uses */
	bool key_refused;		/* the forum refused it: read it again */
	bool notify;			/* refused_notify = pm */
	struct relay relay;		/* smtp_relay's routes */
};

/* outbound_in_list - is name in the comma-separated list (any case) */
static bool outbound_in_list(const char *list, const char *name)
{
	size_t len;

	if (list == NULL || name == NULL || *name == '\0')
		return false;
	len = strlen(name);
	while (*list != '\0') {
		const char *end = strchr(list, ',');
		const char *a = list, *b = end != NULL ? end : list + strlen(list);

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) == len && strncasecmp(a, name, len) == 0)
			return true;
		if (end == NULL)
			break;
		list = end + 1;
	}
	return false;
}

/* what the VERP return path of a post is made of */
struct outbound_sending {
	const char *secret;
	const char *list;
	long long post_id;
};

struct outbound_lookup {
	struct worker *w;
	const char *list;
};

/* outbound_lookup_post - fg-threading's view of the post map */
static int outbound_lookup_post(void *context, long long topic_id,
				long long post_number, long long post_id,
				char **message_id_r, struct fg_post_ref *ref_r,
				const char **error_r)
{
	struct outbound_lookup *ctx = context;

	return fg_store_lookup_post(ctx->w->store, ctx->list, topic_id,
				    post_number, post_id, message_id_r, ref_r,
				    error_r);
}

/* outbound_parse_date - ISO 8601 (2024-05-01T12:34:56.789Z or with an
   offset) to seconds since the epoch; now when unreadable */
static long long outbound_parse_date(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;
	const char *p;
	long long t;

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 || n == 0)
		return (long long)time(NULL);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm);
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == '+' || *p == '-') {
		/* +HH, +HHMM or +HH:MM */
		const char *q = p + 1;
		int digits[4], n_digits = 0;

		for (; *q != '\0' && n_digits < 4; q++) {
			if (*q >= '0' && *q <= '9')
				digits[n_digits++] = *q - '0';
			else if (*q != ':' || n_digits != 2)
				break;
		}
		if (n_digits == 2 || n_digits == 4) {
			long long off = (digits[0] * 10 + digits[1]) * 3600LL;
			if (n_digits == 4)
				off += (digits[2] * 10 + digits[3]) * 60LL;
			t += *p == '+' ? -off : off;
		}
	}
	return t;
}

/* outbound_is_ours - the map entry of this post is under one of our
   own Message-IDs of the list (an earlier attempt recorded it, or it
   was mailed before: the ID may name it by a number it no longer has),
   not under a list mail's */
static bool outbound_is_ours(const char *secret, const char *list,
			     const char *message_id)
{
	struct fg_msgid_post named;
	char *id_list = NULL;
	bool ours;

	if (fg_msgid_parse_post(secret, message_id, &id_list, &named) != 1)
		return false;
	ours = strcmp(id_list, list) == 0;
	free(id_list);
	return ours;
}

/* outbound_by_id - does the forum's post number move (NodeBB: the
   index in the topic, renumbered by a purge): then Message-IDs name
   posts by id. Discourse keeps a post's number. */
static bool outbound_by_id(const struct fg_config *c)
{
	return strcmp(c->forum_type, "discourse") != 0;
}

/* outbound_skip - done without mail: the post came from the list */
static int outbound_skip(struct worker *w, struct worker_list *l,
			 const struct fg_entry *entry,
			 const struct fg_post *post, const char *why)
{
	int ret = worker_finish(w, l, entry);

	if (ret == WORKER_DONE)
		msg_info("list=%s post_id=%lld topic=%lld post_number=%lld: "
			 "not mailed: %s", l->name, post->post_id,
			 post->topic_id, post->post_number, why);
	return ret;
}

/* outbound_dead - a post that cannot be mailed, with the reason */
static int outbound_dead(struct worker *w, struct worker_list *l,
			 const struct fg_entry *entry,
			 const struct fg_post *post, const char *message_id,
			 const char *reason)
{
	int ret = worker_dead(w, l, entry, reason);

	if (ret == WORKER_DONE)
		msg_warn("list=%s post_id=%lld topic=%lld post_number=%lld "
			 "message_id=<%s>: dead-letter: %s", l->name,
			 post->post_id, post->topic_id, post->post_number,
			 message_id != NULL ? message_id : "", reason);
	return ret;
}

/* outbound_sender - the VERP return path of the post on a route */
static char *outbound_sender(void *context, const char *base)
{
	const struct outbound_sending *sending = context;

	return fg_verp_make_post(sending->secret, sending->list,
				 sending->post_id, base);
}

/* outbound_submit - through smtp_relay's routes (bridge-relay.h) */
static int outbound_submit(struct outbound *out, const struct fg_config *c,
			   struct worker_list *l, const struct fg_post *post,
			   const char *rcpt, const char *data, size_t size,
			   const char **reply_r)
{
	struct outbound_sending sending = { c->secret, l->name,
					    post->post_id };
	char what[160];
	int status;

	snprintf(what, sizeof(what), "list=%s post_id=%lld", l->name,
		 post->post_id);
	status = relay_send(&out->relay, c, what, l->name, outbound_sender,
			    &sending, rcpt, data, size, reply_r);
	return status;
}

/* outbound_distribute - a list-mode list is its own list manager: the
   composed mail goes to its distribution stream, which the fan-out
   (bridge-dist.c) sends to the subscribers as it sends a mail post;
   mailing the posting address would only come back as our own */
static int outbound_distribute(struct worker *w, struct worker_list *l,
			       const struct fg_entry *entry,
			       const struct fg_post *post,
			       const struct fg_threading_headers *h,
			       const char *data, size_t size)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_dist dist = {
		.message_id = h->message_id,
		.envelope_from = c->bridge_address,
		.from_email = c->bridge_address,
		.subject = post->topic_title != NULL ? post->topic_title : "",
		.chain = "forum",
		.message = data,
		.message_size = size,
	};
	const char *error;
	int added, ret;

	added = fg_store_dist_add(w->store, l->name, &dist, &error);
	if (added < 0)
		return worker_store_failed(w, l, "adding the post to the "
					   "distribution stream", error);
	worker_mark_done(l, entry->id, h->message_id, NULL);
	ret = worker_finish(w, l, entry);
	if (ret == WORKER_DONE)
		msg_info("list=%s post_id=%lld topic=%lld post_number=%lld "
			 "message_id=<%s>%s%s%s: %s the subscribers (list "
			 "mode)", l->name, post->post_id, post->topic_id,
			 post->post_number, h->message_id,
			 h->in_reply_to != NULL ? " in_reply_to=<" :
			 " (new topic)",
			 h->in_reply_to != NULL ? h->in_reply_to : "",
			 h->in_reply_to != NULL ? ">" : "",
			 added > 0 ? "queued for" : "queued before for");
	return ret;
}

/* outbound_send - compose and submit; the result for the worker */
static int outbound_send(struct worker *w, struct worker_list *l,
			 const struct fg_entry *entry,
			 const struct fg_post *post,
			 const struct fg_threading_headers *h)
{
	struct outbound *out = w->context;
	const struct fg_config *c = w->bridge->config;
	struct fg_compose comp;
	const char *error, *reply, *rcpt;
	char *data = NULL, *url;
	size_t size = 0;
	int status, ret;

	url = fg_forum_post_url(out->forum, post->topic_id,
				post->post_number);
	memset(&comp, 0, sizeof(comp));
	comp.post = post;
	comp.list_address = l->def->address;
	comp.list_name = l->name;
	comp.mail_domain = c->mail_domain;
	comp.from_address = c->bridge_address;
	comp.name_suffix = c->bridge_name_suffix;
	comp.message_id = h->message_id;
	comp.in_reply_to = h->in_reply_to;
	comp.references = (const char *const *)h->references;
	comp.n_references = h->n_references;
	comp.topic_url = url;
	comp.date = outbound_parse_date(post->created_at);
	comp.no_reply_to = !c->outbound_reply_to_list;
	comp.html = c->outbound_html;
	comp.unsubscribe = l->def->unsubscribe;
	comp.edited = post->revision > 0;
	ret = fg_compose_mail(&comp, &data, &size, &error);
	free(url);
	if (ret < 0) {
		char *why = fg_xasprintf("cannot compose the mail: %s", error);
		ret = outbound_dead(w, l, entry, post, h->message_id, why);
		free(why);
		return ret;
	}

	if (l->def->mode == FG_LIST_MODE_LIST) {
		ret = outbound_distribute(w, l, entry, post, h, data, size);
		free(data);
		return ret;
	}
	rcpt = l->def->address;
	status = outbound_submit(out, w->bridge->config, l, post, rcpt, data,
				 size, &reply);
	free(data);
	switch (status) {
	case FG_SMTP_OK:
		worker_mark_done(l, entry->id, h->message_id, NULL);
		ret = worker_finish(w, l, entry);
		if (ret == WORKER_DONE)
			msg_info("list=%s post_id=%lld topic=%lld "
				 "post_number=%lld message_id=<%s>%s%s%s: "
				 "mailed to %s: %s",
				 l->name, post->post_id, post->topic_id,
				 post->post_number, h->message_id,
				 h->in_reply_to != NULL ? " in_reply_to=<" :
				 " (new topic)",
				 h->in_reply_to != NULL ? h->in_reply_to : "",
				 h->in_reply_to != NULL ? ">" : "",
				 rcpt, reply);
		return ret;
	case FG_SMTP_PERMANENT: {
		char *why = fg_xasprintf("relay refused the mail: %s", reply);
		ret = outbound_dead(w, l, entry, post, h->message_id, why);
		free(why);
		return ret;
	}
	default: {
		unsigned int wait = worker_retry(w, l, 0);
		msg_warn("list=%s post_id=%lld message_id=<%s>: relay "
			 "deferred: %s; queue stopped, retry in %u.%03us",
			 l->name, post->post_id, h->message_id, reply,
			 wait / 1000, wait % 1000);
		return WORKER_RETRY;
	}
	}
}

/* outbound_send_edit - a later revision of a mailed post: its own
   Message-ID, below the first version (In-Reply-To), never mapped, so
   replies and later posts still thread under the post itself */
static int outbound_send_edit(struct worker *w, struct worker_list *l,
			      const struct fg_entry *entry,
			      const struct fg_post *post,
			      const struct fg_threading_headers *h)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_threading_headers eh = *h;
	int ret;

	eh.message_id = fg_threading_post_msgid(c->secret, l->name,
						c->mail_domain,
						outbound_by_id(c), post,
						post->revision);
	eh.in_reply_to = h->message_id;
	ret = outbound_send(w, l, entry, post, &eh);
	free(eh.message_id);
	return ret;
}

/* outbound_is_bridge_request - did the bridge ask for a post with this
   author and text (fg_forum_fingerprint() as bridge-inbound.c made it:
   NodeBB's author is the uid) */
static int outbound_is_bridge_request(struct worker *w, struct worker_list *l,
				      const struct fg_post *post,
				      const char **error_r)
{
	const struct fg_config *c = w->bridge->config;
	char *author, *fp;
	int ret;

	if (post->raw == NULL)
		return 0;
	if (strcmp(c->forum_type, "nodebb") == 0)
		author = fg_xasprintf("%lld", post->user_id);
	else
		author = fg_xstrdup(post->username != NULL ?
				    post->username : "");
	fp = fg_forum_fingerprint(author, post->raw);
	ret = fg_store_ours_is(w->store, l->name, fp, error_r);
	free(fp);
	free(author);
	return ret;
}

/* outbound_text - the Markdown of a post whose payload carried only
   HTML (NodeBB's content): the forum's source text, or the HTML
   converted; here in the worker, so the webhook answers fast */
static void outbound_text(struct worker *w, struct worker_list *l,
			  struct fg_post *post)
{
	struct outbound *out = w->context;
	const char *error = NULL;

	switch (fg_forum_post_text(out->forum, post, &error)) {
	case 1:
		msg_info("list=%s post_id=%lld: text from the forum's raw "
			 "source", l->name, post->post_id);
		break;
	case 2:
		msg_warn("list=%s post_id=%lld: the forum's raw source is "
			 "not available (%s): mailing the HTML converted to "
			 "text", l->name, post->post_id, error);
		break;
	default:
		break;
	}
}

/* outbound_process - one post; see the DESCRIPTION */
static int outbound_process(struct worker *w, struct worker_list *l,
			    const struct fg_entry *entry)
{
	const struct fg_config *c = w->bridge->config;
	struct outbound_lookup lookup = { w, l->name };
	struct fg_threading_headers h;
	struct fg_post *post;
	struct fg_post_ref ref;
	const char *error;
	char *mapped = NULL, *sketch;
	int ret;

	post = fg_post_from_entry(entry);
	if (worker_is_done(l, entry->id)) {
		/* mailed already; Redis failed before the acknowledgement */
		ret = worker_finish(w, l, entry);
		fg_post_free(&post);
		return ret;
	}
	if (post == NULL || post->topic_id <= 0 || post->post_number <= 0) {
		struct fg_post empty = { 0 };
		ret = outbound_dead(w, l, entry, post != NULL ? post : &empty,
				    NULL, "entry is not a forum post");
		fg_post_free(&post);
		return ret;
	}
	if (fg_forum_post_is_bridge(c->forum_type, c->forum_api_username,
				    post)) {
		/* list mail the forum held, approved: mapped */
		ret = post->revision == 0 ?
			review_approved(w, l, entry, post) : -1;
		if (ret < 0)
			ret = outbound_skip(w, l, entry, post,
					    "created by the bridge from list "
					    "mail");
		fg_post_free(&post);
		return ret;
	}
	if (outbound_in_list(c->outbound_blocked_users, post->username) ||
	    outbound_in_list(c->outbound_blocked_groups, post->group)) {
		ret = outbound_skip(w, l, entry, post,
				    "blocked user or group");
		fg_post_free(&post);
		return ret;
	}
	if (post->revision < 0 || post->revision == 1) {
		/* revision 1 would be the post's own Message-ID again */
		ret = outbound_dead(w, l, entry, post, NULL,
				    "an edit's revision must be 2 or more");
		fg_post_free(&post);
		return ret;
	}
	if (post->revision > 0 && strcmp(c->outbound_edits, "mail") != 0) {
		ret = outbound_skip(w, l, entry, post,
				    "an edit (outbound_edits = ignore)");
		fg_post_free(&post);
		return ret;
	}
	/* by id: a NodeBB number may have been another post's */
	ret = fg_store_lookup_post(w->store, l->name, post->topic_id,
				   post->post_number, post->post_id, &mapped,
				   &ref, &error);
	if (ret < 0) {
		fg_post_free(&post);
		return worker_store_failed(w, l, "looking up the post", error);
	}
	if (ret > 0 && !outbound_is_ours(c->secret, l->name, mapped)) {
		char *why = fg_xasprintf("created by the bridge from list "
					 "mail <%s>", mapped);
		ret = outbound_skip(w, l, entry, post, why);
		free(why);
		free(mapped);
		fg_post_free(&post);
		return ret;
	}
	if (ret == 0 && post->revision > 0) {
		/* an edit of a post the list never had (older than the
		   bridge, or not mailed): nothing to thread it under */
		ret = outbound_skip(w, l, entry, post,
				    "an edit of a post that was not mailed");
		fg_post_free(&post);
		return ret;
	}
	/* before the fingerprint and the mail: both need the Markdown */
	outbound_text(w, l, post);
	if (ret == 0) {
		/* list mail the forum held for review, approved now */
		ret = review_approved(w, l, entry, post);
		if (ret >= 0) {
			fg_post_free(&post);
			return ret;
		}
		ret = 0;
	}
	if (ret == 0) {
		/* the bridge may have asked for this post from list mail
		   and not recorded it yet (its webhook came first, or the
		   answer was lost): its fingerprint says so */
		ret = outbound_is_bridge_request(w, l, post, &error);
		if (ret != 0) {
			if (ret > 0)
				ret = outbound_skip(w, l, entry, post,
						    "created by the bridge "
						    "from list mail (same "
						    "author and text)");
			else
				ret = worker_store_failed(w, l, "looking up "
							  "the post's "
							  "fingerprint",
							  error);
			fg_post_free(&post);
			return ret;
		}
	}

	if (fg_threading_outbound(c->secret, l->name, c->mail_domain,
				  outbound_by_id(c), post,
				  outbound_lookup_post, &lookup, &h,
				  &error) < 0) {
		free(mapped);
		fg_post_free(&post);
		return worker_store_failed(w, l, "looking up the thread",
					   error);
	}
	if (mapped != NULL) {
		/* recorded or mailed before (perhaps by a release that named
		   it by its number): the list knows it by that ID */
		free(h.message_id);
		h.message_id = mapped;
		mapped = NULL;
	}
	if (post->revision > 0) {
		ret = outbound_send_edit(w, l, entry, post, &h);
		fg_threading_headers_free(&h);
		fg_post_free(&post);
		return ret;
	}
	memset(&ref, 0, sizeof(ref));
	ref.topic_id = post->topic_id;
	ref.post_number = post->post_number;
	ref.post_id = post->post_id;
	ref.parent_post_number = h.parent_post_number;
	ref.parent_post_id = h.parent_post_id;
	/* a reply that quotes the post is compared with its sketch */
	sketch = fg_quote_sketch(post->raw);
	if (fg_store_map_post(w->store, l->name, h.message_id, &ref, sketch,
			      &error) < 0 ||
	    fg_store_topic_set(w->store, post->topic_id, l->name, &error) < 0)
		ret = worker_store_failed(w, l, "recording the Message-ID",
					  error);
	else
		ret = outbound_send(w, l, entry, post, &h);
	free(sketch);
	fg_threading_headers_free(&h);
	fg_post_free(&post);
	return ret;
}

/* outbound_before - posts in the forum's review queue that expired;
   authors of refused posts first (refused_notify) */
static int outbound_before(struct worker *w, struct worker_list *l)
{
	struct outbound *out = w->context;

	review_expire(w, l);
	if (!out->notify)
		return -1;
	if (out->key_refused) {
		(void)worker_forum_reopen(w, &out->fset, &out->forum,
					  &out->api_key);
		out->key_refused = false;
	}
	return refused_notify(w, l, out->forum, &out->key_refused);
}

/* outbound_deinit - close the relay and forum connections */
static void outbound_deinit(struct worker *w)
{
	struct outbound *out = w->context;

	relay_close(&out->relay);
	fg_forum_deinit(&out->forum);
	free(out->api_key);
	free(out);
}

/* outbound_start - see bridge.h */
int outbound_start(struct bridge *b, struct worker **worker_r,
		   const char **error_r)
{
	const struct fg_config *c = b->config;
	struct fg_forum_settings fset;
	struct outbound *out = fg_xcalloc(1, sizeof(*out));
	struct worker *w = fg_xcalloc(1, sizeof(*w));
	int ret;

	bridge_forum_settings(c, &fset);
	ret = fg_forum_init(&fset, &out->forum, error_r);

	out->fset = fset;
	out->api_key = fg_xstrdup(c->forum_api_key);
	if (ret == 0)
		ret = relay_open(&out->relay, c, w, false, error_r);
	if (ret == 0 && strcmp(c->refused_notify, "pm") == 0) {
		out->notify = fg_forum_can_message(out->forum);
		if (!out->notify)
			msg_warn("refused_notify = pm: forum_type %s gets no "
				 "private messages; refused posts are only "
				 "recorded", c->forum_type);
	} else if (ret == 0 && strcmp(c->refused_notify, "off") != 0) {
		*error_r = fg_errorf("refused_notify: '%s' is not off or pm",
				     c->refused_notify);
		ret = -1;
	}
	if (ret < 0) {
		w->context = out;
		outbound_deinit(w);
		free(w);
		return -1;
	}
	w->name = "forum->list";
	w->queue = FG_QUEUE_OUTBOUND;
	w->bridge = b;
	w->context = out;
	w->process = outbound_process;
	w->before = outbound_before;
	w->deinit = outbound_deinit;
	if (worker_start(w, error_r) < 0) {
		worker_join(&w);
		return -1;
	}
	*worker_r = w;
	return 0;
}
