/*
 * NAME
 *	bridge-refused 3 - tell a forum post's author that the list
 *	refused it
 * DESCRIPTION
 *	With refused_notify = pm, the forum->list worker looks at the
 *	list's refusals (fg:{LIST}:refused, recorded by the Dovecot
 *	plugin from the list manager's notices and bounces) before its
 *	next queue entry. It takes the oldest one not yet taken
 *	(fg_store_refused_take(): the mark moves in the same step, so a
 *	refusal is taken once, also with several daemons), asks the forum
 *	who wrote the post, and sends that user a private message as the
 *	bridge's user: which post, which list, held, rejected or bounced,
 *	and the list manager's words.
 *
 *	Those words come from mail anyone can write, so they are shown
 *	as an indented code block: one line each (fg_mail_clean_line()
 *	made them so when they were recorded), where the forum renders no
 *	markup, no HTML and no links. The rest of the text is the
 *	bridge's own.
 *
 *	At most once: when the forum answers that it is unavailable, the
 *	mark is put back and the list's worker backs off, so the same
 *	refusal is tried again; a crash between the take and the message
 *	loses that one message rather than sending it twice. A refusal
 *	older than REFUSED_MAX_AGE (the setting was off, the forum was
 *	down for long), one whose post is unknown, one whose post the
 *	forum no longer has, and a hold whose post came through the list
 *	since (approved), is logged and not told.
 */
#include "bridge-worker.h"
#include "fg-forum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Look for new refusals of a list this often when there were none. */
#define REFUSED_CHECK_MS 2000
/* Older refusals are not told any more. */
#define REFUSED_MAX_AGE (24 * 3600)

/* refused_field - a field of the refusal, "" when absent */
static const char *refused_field(const struct fg_entry *e, const char *name)
{
	const char *v = fg_entry_get(e, name);

	return v != NULL ? v : "";
}

/* refused_text - the private message (caller frees) */
static char *refused_text(struct fg_forum *forum, const struct worker_list *l,
			  const struct fg_entry *e, const char *kind)
{
	long long topic = 0, number = 0;
	struct fg_buf b = { 0 };
	char *url = NULL;

	(void)fg_parse_llong(refused_field(e, "topic_id"), &topic);
	(void)fg_parse_llong(refused_field(e, "post_number"), &number);
	/* a post named by its id (NodeBB, whose numbers move) has no
	   number: the link is to its topic */
	if (topic > 0)
		url = fg_forum_post_url(forum, topic, number > 0 ? number : 1);
	if (strcmp(kind, "held") == 0)
		fg_buf_printf(&b, "Your forum post is held for a moderator "
			      "by the mailing list `%s`: its members get it "
			      "when a moderator of the list releases it.",
			      l->def->address);
	else if (strcmp(kind, "rejected") == 0)
		fg_buf_printf(&b, "The mailing list `%s` rejected your forum "
			      "post: its members did not get it. The post "
			      "stays on the forum.", l->def->address);
	else
		fg_buf_printf(&b, "Your forum post could not be delivered to "
			      "the mailing list `%s`: its members did not "
			      "get it. The post stays on the forum.",
			      l->def->address);
	if (url != NULL)
		fg_buf_printf(&b, "\n\nThe post: %s", url);
	fg_buf_puts(&b, "\n\nWhat the list manager said:\n\n");
	if (*refused_field(e, "subject") != '\0')
		fg_buf_printf(&b, "    Subject: %s\n",
			      refused_field(e, "subject"));
	fg_buf_printf(&b, "    %s\n", refused_field(e, "reason"));
	fg_buf_puts(&b, "\nThis message was sent by the bridge between the "
		    "forum and the mailing list.\n");
	free(url);
	return fg_buf_steal(&b);
}

/* refused_put_back - the forum was unavailable: the refusal is taken
   again after the backoff */
static int refused_put_back(struct worker *w, struct worker_list *l,
			    const struct fg_entry *e, const char *previous,
			    const struct fg_forum_answer *answer,
			    const char *error, bool *key_refused)
{
	const char *store_error;
	unsigned int wait;

	if (fg_store_refused_untake(w->store, l->name, e->id, previous,
				    &store_error) < 0)
		return worker_store_failed(w, l, "putting a refusal back",
					   store_error);
	wait = worker_retry(w, l, answer->retry_after_ms);
	if (answer->cause == FG_FORUM_CAUSE_CREDENTIALS)
		*key_refused = true;
	msg_warn("list=%s refusal=%s: telling the author failed: %s%s; retry "
		 "in %u.%03us", l->name, e->id, error,
		 answer->cause == FG_FORUM_CAUSE_CREDENTIALS ?
		 " (the forum refused the bridge's credentials: "
		 "forum_api_key is read again before the next try)" : "",
		 wait / 1000, wait % 1000);
	return WORKER_RETRY;
}

/* refused_tell - the private message for one refusal */
static int refused_tell(struct worker *w, struct worker_list *l,
			struct fg_forum *forum, const struct fg_entry *e,
			const char *previous, bool *key_refused)
{
	const struct fg_config *c = w->bridge->config;
	const char *kind = refused_field(e, "kind"), *error = NULL;
	struct fg_forum_answer answer;
	long long post_id = 0, at = 0;
	char *author = NULL, *text, *title;
	int ret;

	(void)fg_parse_llong(refused_field(e, "post_id"), &post_id);
	(void)fg_parse_llong(refused_field(e, "at"), &at);
	if (at < (long long)time(NULL) - REFUSED_MAX_AGE) {
		msg_info("list=%s refusal=%s post_id=%lld: older than a day, "
			 "the author is not told", l->name, e->id, post_id);
		return WORKER_DONE;
	}
	if (post_id <= 0) {
		msg_info("list=%s refusal=%s message_id=<%s>: the post is not "
			 "known, the author is not told", l->name, e->id,
			 refused_field(e, "message_id"));
		return WORKER_DONE;
	}
	ret = fg_forum_post_author(forum, post_id, &author, &answer, &error);
	if (ret == FG_FORUM_TRANSIENT)
		return refused_put_back(w, l, e, previous, &answer, error,
					key_refused);
	if (ret != FG_FORUM_OK) {
		msg_warn("list=%s refusal=%s post_id=%lld: the author is not "
			 "told: %s", l->name, e->id, post_id, error);
		return WORKER_DONE;
	}
	if (strcasecmp(author, c->forum_api_username) == 0) {
		free(author);
		return WORKER_DONE;
	}
	text = refused_text(forum, l, e, kind);
	title = fg_xasprintf(strcmp(kind, "held") == 0 ?
			     "Your post is held by the mailing list %s" :
			     "Your post did not reach the mailing list %s",
			     l->name);
	ret = fg_forum_private_message(forum, author, title, text, &answer,
				       &error);
	free(title);
	free(text);
	if (ret == FG_FORUM_TRANSIENT) {
		free(author);
		return refused_put_back(w, l, e, previous, &answer, error,
					key_refused);
	}
	if (ret == FG_FORUM_OK || ret == FG_FORUM_HELD)
		msg_info("list=%s refusal=%s post_id=%lld kind=%s: told %s in "
			 "a private message%s", l->name, e->id, post_id, kind,
			 author, ret == FG_FORUM_HELD ?
			 " (held by the forum for review)" : "");
	else
		msg_warn("list=%s refusal=%s post_id=%lld: the forum refused "
			 "the private message to %s: %s", l->name, e->id,
			 post_id, author, error);
	free(author);
	return WORKER_DONE;
}

/* refused_notify - see bridge.h */
int refused_notify(struct worker *w, struct worker_list *l,
		   struct fg_forum *forum, bool *key_refused)
{
	struct fg_entry *e;
	char *previous, *state;
	const char *error;
	long long now = bridge_now_ms();
	int ret;

	if (now < l->refused_check_ms)
		return -1;
	ret = fg_store_refused_take(w->store, l->name, &e, &previous, &state,
				    &error);
	if (ret < 0)
		return worker_store_failed(w, l, "taking a refusal", error);
	if (ret == 0) {
		l->refused_check_ms = now + REFUSED_CHECK_MS;
		return -1;
	}
	if (strcmp(refused_field(e, "kind"), "held") == 0 &&
	    strcmp(state, "approved") == 0) {
		msg_info("list=%s refusal=%s post_id=%s: held, and approved "
			 "since: the author is not told", l->name, e->id,
			 refused_field(e, "post_id"));
		ret = WORKER_DONE;
	} else {
		ret = refused_tell(w, l, forum, e, previous, key_refused);
	}
	fg_entry_free(&e);
	free(previous);
	free(state);
	return ret;
}
