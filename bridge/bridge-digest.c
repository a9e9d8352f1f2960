/*
 * NAME
 *	bridge-digest 3 - digests of a list-mode list, sent by the fan-out
 * DESCRIPTION
 *	Subscribers in state "digest" get no copy of each post from the
 *	fan-out (bridge-dist.c); they get the list's posts bundled, once
 *	a day or sooner when enough has gathered, as Mailman 3's digests.
 *
 *	digest_add(): the fan-out adds each post it distributes, before
 *	its first copy goes out, to the list's accumulator
 *	(fg_store_digest_add(), once per Message-ID): the copy the list
 *	makes of it with the subject tag and without the footer
 *	(fg_listmsg_build()). When the accumulator holds
 *	digest_pending_max posts, a post is left out of the digest and
 *	that is logged; the fan-out goes on.
 *
 *	digest_run(): the fan-out worker's "before" step, so that it
 *	works under the list's fan-out lease, between two posts: one
 *	daemon sends a list's digest, and a daemon that lost the lease
 *	records nothing (the fencing token of every script). Every few
 *	seconds per list it asks fg_store_digest_take() for an issue:
 *	due at digest_hour (local time) each day, or as soon as the
 *	posts waiting reach digest_size_max bytes, or when
 *	`forumgate digest LIST --send-now` asked for one. The issue is
 *	built (fg_digest_build(): multipart/digest, or RFC 1153 plain
 *	text with digest_format, the list's field first), with a table of
 *	contents linking each post's forum post (the Message-ID <-> post
 *	map the list->forum worker records), and the list's footer once
 *	at the end. It goes to each digest subscriber snapshot for the
 *	issue, one SMTP transaction each through smtp_relay's routes,
 *	from the recipient's own VERP return path and with the
 *	recipient's one-click List-Unsubscribe lines, as the fan-out
 *	sends a post. After each transaction the relay answered, the
 *	position is recorded: a daemon killed in the middle resumes with
 *	the next recipient and the same issue (same posts, numbers, Date
 *	and Message-ID); only a kill between the relay's 250 and the
 *	record sends that one digest twice. A 5xx is logged and counted,
 *	a 4xx stops the list (the fan-out too) for the queues' backoff.
 * SEE ALSO
 *	doc/list-mode.md ("Digests"), fg-digest.h, fg-store-digest.h.
 */
#include "bridge-digest.h"
#include "bridge-relay.h"
#include "fg-digest.h"
#include "fg-forum.h"
#include "fg-listmsg.h"
#include "fg-smtp.h"
#include "fg-store-digest.h"
#include "fg-verp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* how often a list's digest is looked at */
#define DIGEST_CHECK_MS 2000
/* recipients read at a time */
#define DIGEST_PAGE 256
/* the posts and bytes of one issue at most */
#define DIGEST_ISSUE_POSTS 500
#define DIGEST_ISSUE_BYTES (8LL * 1024 * 1024)

struct digest {
	enum fg_digest_format format;	/* digest_format */
	struct fg_forum *forum;		/* for the post URLs; NULL: none */
};

/* One issue being sent. */
struct digest_send {
	struct worker *w;
	struct worker_list *l;
	struct relay *relay;
	struct fg_listmsg_list lml;
	struct fg_digest_issue is;
	char *data;			/* the digest mail */
	size_t size;
	const char *rcpt;
};

/* digest_init - see bridge-digest.h */
int digest_init(struct bridge *b, struct digest **digest_r,
		const char **error_r)
{
	const struct fg_config *c = b->config;
	struct fg_forum_settings fset;
	struct digest *dg;
	enum fg_digest_format format;
	const char *forum_error;

	if (c->digest_hour > 23) {
		*error_r = fg_errorf("digest_hour: %u is not an hour (0-23)",
				     c->digest_hour);
		return -1;
	}
	if (fg_digest_format_parse(c->digest_format, &format) < 0) {
		*error_r = fg_errorf("digest_format: '%s' is not mime or "
				     "rfc1153", c->digest_format);
		return -1;
	}
	dg = fg_xcalloc(1, sizeof(*dg));
	dg->format = format;
	bridge_forum_settings(c, &fset);
	if (fg_forum_init(&fset, &dg->forum, &forum_error) < 0) {
		msg_warn("digest: no links to the forum in digests: %s",
			 forum_error);
		dg->forum = NULL;
	}
	*digest_r = dg;
	return 0;
}

/* digest_deinit - see bridge-digest.h */
void digest_deinit(struct digest **digest)
{
	if (*digest == NULL)
		return;
	if ((*digest)->forum != NULL)
		fg_forum_deinit(&(*digest)->forum);
	free(*digest);
	*digest = NULL;
}

/* digest_lease_lost - worker_lease_lost() for digest work, which has
   no entry of the stream */
static int digest_lease_lost(struct worker *w, struct worker_list *l,
			     const char *what)
{
	struct fg_entry none = { .id = (char *)"(digest)" };

	return worker_lease_lost(w, l, &none, what);
}

/* digest_add - see bridge-digest.h */
int digest_add(struct worker *w, struct worker_list *l,
	       const struct fg_listmsg_list *lml, const char *message,
	       const char *message_id, bool tag, bool dmarc_always)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_listmsg_build set = {
		.list = lml,
		.tag = tag,
		.dmarc_always = dmarc_always,
	};
	struct fg_lease lease = { w->bridge->consumer, l->lease_token };
	const char *error;
	char *copy;
	size_t size;
	int ret;

	if (fg_listmsg_build(message, strlen(message), &set, &copy, &size,
			     &error) < 0) {
		/* the fan-out's own build of it worked: not expected */
		msg_warn("digest: list=%s message_id=<%s>: left out of the "
			 "digest: %s", l->name, message_id, error);
		return WORKER_DONE;
	}
	ret = fg_store_digest_add(w->store, l->name, &lease, message_id, copy,
				  size, c->digest_pending_max, &error);
	free(copy);
	if (ret < 0)
		return worker_store_failed(w, l, "adding the post to the "
					   "digest", error);
	if (ret == 0)
		return digest_lease_lost(w, l, "adding the post to the digest");
	if (ret == 3)
		msg_warn("digest: list=%s message_id=<%s>: left out of the "
			 "digest: %u posts wait already (digest_pending_max)",
			 l->name, message_id, c->digest_pending_max);
	return WORKER_DONE;
}

/* digest_due - when the list's issue is due, and how big: the list's
   fields digest_hour and digest_size_max, else the settings */
static void digest_due(const struct fg_config *c, const struct fg_list *def,
		       struct fg_digest_due *due)
{
	time_t now = time(NULL), since;
	unsigned int hour = def->digest_hour_set ? def->digest_hour :
		c->digest_hour;
	size_t size_max = def->digest_size_set ? def->digest_size_max :
		c->digest_size_max;
	struct tm tm;

	localtime_r(&now, &tm);
	due->month = (tm.tm_year + 1900) * 100LL + tm.tm_mon + 1;
	tm.tm_hour = (int)hour;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	since = mktime(&tm);
	if (since > now) {
		localtime_r(&now, &tm);
		tm.tm_mday--;
		tm.tm_hour = (int)hour;
		tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		since = mktime(&tm);
	}
	due->now = now;
	due->since = since;
	due->size_max = (long long)size_max;
	due->bytes_max = size_max > 0 ? (long long)size_max :
		DIGEST_ISSUE_BYTES;
	due->posts_max = DIGEST_ISSUE_POSTS;
}

/* digest_build - the issue's mail, once per issue (and again, the
   same, after a restart) */
static int digest_build(struct digest_send *s, struct digest *dg,
			const char *footer, const char **error_r)
{
	const struct fg_list *def = s->l->def;
	struct fg_digest_stored *stored;
	struct fg_digest_post *posts;
	struct fg_digest_set set = {
		.list = &s->lml,
		.volume = s->is.volume,
		.issue = s->is.issue,
		.date = s->is.date,
		.format = dg->format,
		.footer = footer,
		.personal_unsubscribe = s->lml.unsubscribe_base != NULL,
	};
	size_t n;
	int ret;

	if (def->digest_format != NULL &&
	    fg_digest_format_parse(def->digest_format, &set.format) < 0)
		msg_warn("digest: list=%s: digest_format '%s' is not mime or "
			 "rfc1153; the setting is used", s->l->name,
			 def->digest_format);
	if (fg_store_digest_posts(s->w->store, s->l->name, &s->is, &stored,
				  &n, error_r) < 0)
		return -1;
	posts = fg_xcalloc(n + 1, sizeof(*posts));
	for (size_t i = 0; i < n; i++) {
		struct fg_post_ref ref;
		const char *error;

		posts[i].message = stored[i].message;
		posts[i].size = stored[i].size;
		if (dg->forum != NULL && *stored[i].message_id != '\0' &&
		    fg_store_lookup_msgid(s->w->store, s->l->name,
					  stored[i].message_id, &ref,
					  &error) > 0)
			posts[i].url = fg_forum_post_url(dg->forum,
							 ref.topic_id,
							 ref.post_number);
	}
	ret = fg_digest_build(posts, n, &set, &s->data, &s->size, error_r);
	for (size_t i = 0; i < n; i++)
		free((char *)posts[i].url);
	free(posts);
	fg_store_digest_posts_free(stored, n);
	return ret;
}

/* digest_sender - the recipient's VERP return path on a route's base */
static char *digest_sender(void *context, const char *base)
{
	const struct digest_send *s = context;

	return fg_verp_make_recipient(s->w->bridge->config->secret,
				      s->l->name, s->rcpt, base);
}

/* digest_record - the position after pos; WORKER_DONE recorded */
static int digest_record(struct digest_send *s, long long pos, int sent,
			 int refused)
{
	struct fg_lease lease = { s->w->bridge->consumer, s->l->lease_token };
	const char *error;
	int ret;

	ret = fg_store_digest_record(s->w->store, s->l->name, &lease,
				     s->is.first, pos + 1, sent, refused,
				     &error);
	if (ret < 0)
		return worker_store_failed(s->w, s->l, "recording the "
					   "digest's progress", error);
	if (ret == 0)
		return digest_lease_lost(s->w, s->l, "recording the digest's "
					 "progress");
	s->is.next = pos + 1;
	s->is.sent += sent;
	s->is.refused += refused;
	return WORKER_DONE;
}

/* digest_send_one - the digest to s->rcpt at position pos */
static int digest_send_one(struct digest_send *s, long long pos)
{
	const struct fg_config *c = s->w->bridge->config;
	char *data, what[200];
	const char *reply;
	size_t size;
	int status;

	snprintf(what, sizeof(what), "digest: list=%s vol=%lld issue=%lld",
		 s->l->name, s->is.volume, s->is.issue);
	data = dist_personal_copy(c, &s->lml, s->rcpt, s->data, s->size, what,
				  &size);
	status = relay_send(s->relay, c, what, s->l->name, digest_sender, s,
			    s->rcpt, data, size, &reply);
	if (data != s->data)
		free(data);
	if (status == FG_SMTP_OK)
		return digest_record(s, pos, 1, 0);
	if (status == FG_SMTP_PERMANENT) {
		msg_warn("%s rcpt=<%s>: refused by the relay, not retried: "
			 "%s", what, s->rcpt, reply);
		return digest_record(s, pos, 0, 1);
	}
	msg_warn("%s rcpt=<%s>: relay deferred: %s; stopped at %lld/%lld, "
		 "retry in %u ms", what, s->rcpt, reply, pos, s->is.total,
		 worker_retry(s->w, s->l, 0));
	return WORKER_RETRY;
}

/* digest_send_all - every recipient from the recorded position */
static int digest_send_all(struct digest_send *s)
{
	const char *error;

	while (s->is.next < s->is.total) {
		char **rcpts;
		size_t n;
		int ret = WORKER_DONE;

		if (fg_store_digest_recipients(s->w->store, s->l->name,
					       s->is.next, DIGEST_PAGE, &rcpts,
					       &n, &error) < 0)
			return worker_store_failed(s->w, s->l, "reading the "
						   "digest's recipients",
						   error);
		if (n == 0) {
			msg_warn("digest: list=%s vol=%lld issue=%lld: the "
				 "recipients end at %lld of %lld", s->l->name,
				 s->is.volume, s->is.issue, s->is.next,
				 s->is.total);
			fg_strv_free(rcpts, n);
			break;
		}
		for (size_t i = 0; i < n && ret == WORKER_DONE; i++) {
			if (bridge_stopping(s->w->bridge))
				ret = WORKER_RETRY;
			else if (!worker_keep_lease(s->w, s->l))
				ret = digest_lease_lost(s->w, s->l,
							"sending the digest");
			else {
				s->rcpt = rcpts[i];
				ret = digest_send_one(s, s->is.next);
				s->rcpt = NULL;
			}
		}
		fg_strv_free(rcpts, n);
		if (ret != WORKER_DONE)
			return ret;
	}
	return WORKER_DONE;
}

/* digest_issue - build and send a taken issue, then finish it */
static int digest_issue(struct digest_send *s, struct digest *dg,
			const char *footer)
{
	struct fg_lease lease = { s->w->bridge->consumer, s->l->lease_token };
	const char *error;
	int ret;

	if (s->is.total > 0 && digest_build(s, dg, footer, &error) < 0) {
		msg_warn("digest: list=%s vol=%lld issue=%lld: cannot build "
			 "the digest of %lld post(s): %s; retry in %u ms",
			 s->l->name, s->is.volume, s->is.issue, s->is.posts,
			 error, worker_retry(s->w, s->l, 0));
		return WORKER_RETRY;
	}
	if (s->is.resumed)
		msg_info("digest: list=%s vol=%lld issue=%lld: resuming at "
			 "recipient %lld of %lld", s->l->name, s->is.volume,
			 s->is.issue, s->is.next, s->is.total);
	ret = s->is.total > 0 ? digest_send_all(s) : WORKER_DONE;
	free(s->data);
	s->data = NULL;
	if (ret != WORKER_DONE)
		return ret;
	ret = fg_store_digest_finish(s->w->store, s->l->name, &lease,
				     s->is.first, (long long)time(NULL),
				     &error);
	if (ret < 0)
		return worker_store_failed(s->w, s->l, "finishing the digest",
					   error);
	if (ret == 0)
		return digest_lease_lost(s->w, s->l, "finishing the digest");
	msg_info("digest: list=%s vol=%lld issue=%lld: sent to the digest "
		 "subscribers: posts=%lld bytes=%lld recipients=%lld "
		 "sent=%lld refused=%lld", s->l->name, s->is.volume,
		 s->is.issue, s->is.posts, s->is.size, s->is.total,
		 s->is.sent, s->is.refused);
	return WORKER_DONE;
}

/* digest_run - see bridge-digest.h */
int digest_run(struct worker *w, struct worker_list *l, struct digest *dg,
	       struct relay *relay, const char *footer)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_lease lease = { w->bridge->consumer, l->lease_token };
	struct fg_digest_due due;
	struct digest_send s;
	const char *error;
	long long now = bridge_now_ms();
	int ret;

	if (now < l->digest_check_ms)
		return -1;
	l->digest_check_ms = now + DIGEST_CHECK_MS;
	memset(&s, 0, sizeof(s));
	digest_due(c, l->def, &due);
	ret = fg_store_digest_take(w->store, l->name, &lease, &due, &s.is,
				   &error);
	if (ret < 0)
		return worker_store_failed(w, l, "looking at the digest",
					   error);
	if (ret == FG_DIGEST_LOST)
		return digest_lease_lost(w, l, "taking the digest");
	if (ret == FG_DIGEST_NOT_DUE)
		return -1;
	s.w = w;
	s.l = l;
	s.relay = relay;
	s.lml.name = l->name;
	s.lml.address = l->def->address;
	s.lml.list_id = l->def->list_id;
	s.lml.unsubscribe_base = *c->list_unsubscribe_url != '\0' ?
		c->list_unsubscribe_url : NULL;
	w->current = l;
	ret = digest_issue(&s, dg, footer);
	w->current = NULL;
	if (ret == WORKER_DONE)
		l->digest_check_ms = 0;	/* another issue may be due */
	return ret;
}
