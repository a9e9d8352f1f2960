/*
 * NAME
 *	bridge-review 3 - list mail in the forum's review queue
 * DESCRIPTION
 *	A forum may hold a post the bridge made for a moderator (NodeBB's
 *	post queue answers 200 with {"queued": true, "id": "reply-MS"};
 *	Discourse answers {"action": "enqueued", "pending_post": {id}}).
 *	No post exists yet, so the list mail cannot be mapped; the list's
 *	queue entry is finished all the same (sending it again would
 *	queue it twice) and the held post is remembered
 *	(fg_store_review_add()) with what recognises it later: the
 *	forum's id for it, the topic (0 for a new topic) and title, the
 *	forum user it was posted as, and the fingerprint of that user and
 *	the text (the one the bridge keeps in fg:{LIST}:ours:*).
 *
 *	When a moderator approves it, the forum creates the post and its
 *	webhook arrives like any other. review_approved() recognises it,
 *	before anything is mailed: by the fingerprint of its author and
 *	text, else, when the bridge asked for no post with that
 *	fingerprint (a moderator edited it, or the webhook carries
 *	rendered HTML), by its author and topic (a reply) or by its
 *	author and title (a new topic's first post); the oldest such
 *	entry wins.
 *	The post is then mapped to the list mail's Message-ID, so replies
 *	on either side thread under it, and it is not mailed.
 *
 *	A rejection is recorded where the forum says so: NodeBB fires
 *	action:post-queue:removeFromQueue with the queued post
 *	({"data": {"id", "uid", "type", "data"}}; src/posts/queue.js,
 *	Posts.removeFromQueue(); an approval goes through
 *	submitFromQueue(), which does not fire it), and
 *	nodebb-plugin-webhooks forwards it when it is configured
 *	(review_rejected()). Discourse sends reviewable_transitioned_to
 *	({"reviewable": {id, type: "ReviewableQueuedPost", status: 2}},
 *	the webhook's "Reviewable Event") when that event is enabled. A
 *	held post that is neither approved nor rejected within
 *	forum_review_expiry counts as expired, with a log line
 *	(review_expire()). All show in `forumgate status`.
 */
#include "bridge-worker.h"
#include "fg-forum.h"
#include "fg-quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How often a list's held posts are looked at for expiry, at most. */
#define REVIEW_CHECK_MS (60 * 1000)
/* forum_review_expiry is taken within these bounds */
#define REVIEW_EXPIRY_MIN_MS 1000LL
#define REVIEW_EXPIRY_MAX_MS (40LL * 86400 * 1000)

/* review_expiry_ms - forum_review_expiry, bounded */
static long long review_expiry_ms(const struct fg_config *c)
{
	long long ms = c->forum_review_expiry;

	return ms < REVIEW_EXPIRY_MIN_MS ? REVIEW_EXPIRY_MIN_MS :
		ms > REVIEW_EXPIRY_MAX_MS ? REVIEW_EXPIRY_MAX_MS : ms;
}

/* review_author - the post's author as fg_forum_request.author names
   users (NodeBB: the uid) */
static char *review_author(const struct fg_config *c,
			   const struct fg_post *post)
{
	if (strcmp(c->forum_type, "nodebb") == 0)
		return fg_xasprintf("%lld", post->user_id);
	return fg_xstrdup(post->username != NULL ? post->username : "");
}

/* review_held - see bridge-worker.h */
void review_held(struct worker *w, struct worker_list *l,
		 const char *message_id, long long topic_id,
		 const char *title, const char *author, const char *raw,
		 const struct fg_forum_answer *answer, struct fg_forum *forum)
{
	const struct fg_config *c = w->bridge->config;
	char *fitted = fg_forum_fit_raw(forum, raw);
	/* the author as the post's webhook will name it */
	const char *as = author != NULL ? author : c->forum_api_username;
	struct fg_review r = {
		.at = bridge_now_ms(),
		.topic_id = topic_id,
		.author = (char *)as,
		.fingerprint = fg_forum_fingerprint(as, fitted),
		.message_id = (char *)message_id,
		.title = (char *)(topic_id > 0 || title == NULL ? "" : title),
	};
	const char *error;

	/* a forum that named no id: the Message-ID stands for it */
	r.held_id = answer->held_id[0] != '\0' ?
		fg_xstrdup(answer->held_id) :
		fg_xasprintf("mail-%s", message_id);
	if (fg_store_review_add(w->store, l->name, &r, &error) < 0)
		/* the entry is finished anyway: posting it again would
		   queue it twice; the fingerprint still keeps the approved
		   post from being mailed for FG_OURS_TTL_MS */
		msg_warn("list=%s message_id=<%s>: remembering the post the "
			 "forum holds (%s) failed: %s", l->name, message_id,
			 r.held_id, error);
	free(r.held_id);
	free(r.fingerprint);
	free(fitted);
}

/* review_find - the entry the post is: 1 with *found_r, 0 none, -1
   error. Only a post whose text the bridge did not ask for as such
   (a moderator edited it in the queue, or the forum's webhook carries
   rendered text) is matched by author and topic or title: a post the
   bridge made with another text, held or not, is never taken for
   it. */
static int review_find(struct worker *w, struct worker_list *l,
		       const struct fg_review *r, size_t n,
		       const struct fg_post *post,
		       const struct fg_review **found_r, const char **error_r)
{
	const struct fg_config *c = w->bridge->config;
	char *author = review_author(c, post);
	char *fp = post->raw != NULL ?
		fg_forum_fingerprint(author, post->raw) : NULL;
	char *fp_ours = NULL;
	int ret = 0;

	*found_r = NULL;
	for (size_t i = 0; i < n && *found_r == NULL && fp != NULL; i++) {
		if (strcmp(r[i].fingerprint, fp) == 0)
			*found_r = &r[i];
	}
	if (*found_r == NULL && fp != NULL) {
		/* fg:{LIST}:ours:* names the bridge's own user "" */
		fp_ours = fg_forum_post_is_bridge(c->forum_type,
						  c->forum_api_username,
						  post) ?
			fg_forum_fingerprint(NULL, post->raw) : fg_xstrdup(fp);
		ret = fg_store_ours_is(w->store, l->name, fp_ours, error_r);
	}
	for (size_t i = 0; i < n && *found_r == NULL && ret == 0; i++) {
		if (strcasecmp(r[i].author, author) != 0)
			continue;
		if (r[i].topic_id > 0 && r[i].topic_id == post->topic_id &&
		    post->post_number > 1)
			*found_r = &r[i];
		else if (r[i].topic_id == 0 && post->post_number == 1 &&
			 post->topic_title != NULL && *r[i].title != '\0' &&
			 fg_forum_raw_same(r[i].title, post->topic_title))
			*found_r = &r[i];
	}
	free(fp_ours);
	free(fp);
	free(author);
	if (ret < 0)
		return -1;
	return *found_r != NULL;
}

/* review_approved - see bridge-worker.h */
int review_approved(struct worker *w, struct worker_list *l,
		    const struct fg_entry *entry, const struct fg_post *post)
{
	const struct fg_review *found = NULL;
	struct fg_review *r;
	struct fg_post_ref ref;
	const char *error;
	char *sketch;
	size_t n;
	int ret;

	if (fg_store_review_all(w->store, l->name, &r, &n, &error) < 0)
		return worker_store_failed(w, l, "reading the posts in review",
					   error);
	ret = n == 0 ? 0 : review_find(w, l, r, n, post, &found, &error);
	if (ret <= 0) {
		fg_reviews_free(r, n);
		return ret == 0 ? -1 :
			worker_store_failed(w, l, "looking up the post's "
					    "fingerprint", error);
	}
	memset(&ref, 0, sizeof(ref));
	ref.topic_id = post->topic_id;
	ref.post_number = post->post_number;
	ref.post_id = post->post_id;
	if (post->post_number > 1)
		ref.parent_post_number = post->reply_to_post_number > 0 ?
			post->reply_to_post_number : 1;
	sketch = fg_quote_sketch(post->raw);
	if (fg_store_map_post(w->store, l->name, found->message_id, &ref,
			      sketch, &error) < 0 ||
	    fg_store_topic_set(w->store, post->topic_id, l->name,
			       &error) < 0 ||
	    fg_store_review_end(w->store, l->name, found->held_id, "approved",
				&error) < 0) {
		ret = worker_store_failed(w, l, "mapping an approved post",
					  error);
	} else {
		ret = worker_finish(w, l, entry);
		if (ret == WORKER_DONE)
			msg_info("list=%s post_id=%lld topic=%lld "
				 "post_number=%lld: not mailed: list mail "
				 "<%s> approved from the forum's review "
				 "queue (%s); mapped", l->name, post->post_id,
				 post->topic_id, post->post_number,
				 found->message_id, found->held_id);
	}
	free(sketch);
	fg_reviews_free(r, n);
	return ret;
}

/* review_expire - see bridge-worker.h */
void review_expire(struct worker *w, struct worker_list *l)
{
	const struct fg_config *c = w->bridge->config;
	long long now = bridge_now_ms();
	long long expiry = review_expiry_ms(c);
	long long every = expiry < REVIEW_CHECK_MS ? expiry : REVIEW_CHECK_MS;
	struct fg_review *r;
	const char *error;
	size_t n;

	if (now < l->review_check_ms)
		return;
	l->review_check_ms = now + every;
	if (fg_store_review_all(w->store, l->name, &r, &n, &error) < 0) {
		msg_warn("list=%s: reading the posts in review failed: %s",
			 l->name, error);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].at + expiry > now)
			break;
		if (fg_store_review_end(w->store, l->name, r[i].held_id,
					"expired", &error) < 0) {
			msg_warn("list=%s: ending an expired post in review "
				 "failed: %s", l->name, error);
			break;
		}
		msg_warn("list=%s message_id=<%s>: the forum's review queue "
			 "held the post (%s) for longer than "
			 "forum_review_expiry: counted as expired, no longer "
			 "awaited", l->name, r[i].message_id, r[i].held_id);
	}
	fg_reviews_free(r, n);
}

/* review_rejected - see bridge-worker.h */
int review_rejected(struct fg_store *store, const char *held_id,
		    char **list_r, const char **error_r)
{
	char **names;
	size_t n;
	int ret = 0;

	*list_r = NULL;
	if (fg_store_lists(store, &names, &n, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = fg_store_review_end(store, names[i], held_id,
					  "rejected", error_r);
		if (ret > 0)
			*list_r = fg_xstrdup(names[i]);
	}
	fg_strv_free(names, n);
	return ret;
}
