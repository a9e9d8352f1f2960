#ifndef FG_WEBHOOK_H
#define FG_WEBHOOK_H
/*
 * NAME
 *	fg-webhook 3 - verify and read a Discourse webhook
 * SYNOPSIS
 *	#include "fg-webhook.h"
 *
 *	if (fg_webhook_verify(secret, body, size, signature, &error) < 0)
 *		answer 403;
 *	switch (fg_webhook_parse(event, body, size, max_size, &post, &error))
 * DESCRIPTION
 *	Discourse signs every webhook body with the shared secret:
 *
 *		X-Discourse-Event-Signature: sha256=HEX
 *
 *	where HEX is the HMAC-SHA256 of the body bytes. The comparison
 *	runs in constant time (fg_mem_equal_ct), so a forger learns
 *	nothing from how long a wrong guess took to refuse.
 *
 *	The X-Discourse-Event header names the event. Only post_created
 *	carries work: {"post": {id, topic_id, post_number,
 *	reply_to_post_number (null for an answer to the topic), username,
 *	name, raw, topic_title, category_id, created_at, post_type,
 *	topic_archetype, ...}}; a payload without raw (a generic forum's)
 *	keeps cooked, the rendered HTML, for the outbound worker
 *	(fg_forum_post_text()). post_edited carries the same post and its
 *	version: version 2 and up is returned as a post with revision set
 *	(the caller decides whether edits are mailed); an edit that made
 *	no new version (Discourse's grace period) is ignored. Other events
 *	(ping, post_destroyed, topic events, ...) are acknowledged and ignored,
 *	and so are posts that must never reach a list: whispers, moderator
 *	and small-action posts (post_type other than 1) and private
 *	messages.
 * DIAGNOSTICS
 *	fg_webhook_verify() returns 0 when the signature is genuine, -1
 *	with the reason otherwise.
 *
 *	fg_webhook_parse() returns FG_WEBHOOK_POST with a new *post_r,
 *	FG_WEBHOOK_IGNORE with the reason in *error_r, FG_WEBHOOK_INVALID
 *	for a body that is not the JSON the event promises, or
 *	FG_WEBHOOK_TOO_LARGE when size exceeds max_size.
 */
#include <stddef.h>
#include "fg-record.h"

#define FG_WEBHOOK_SIGNATURE_HEADER "X-Discourse-Event-Signature"
#define FG_WEBHOOK_EVENT_HEADER "X-Discourse-Event"

enum fg_webhook_result {
	FG_WEBHOOK_POST = 1,
	FG_WEBHOOK_IGNORE = 0,
	FG_WEBHOOK_INVALID = -1,
	FG_WEBHOOK_TOO_LARGE = -2,
};

/* fg_webhook_sign - the header value for body: "sha256=" + 64 hex */
char *fg_webhook_sign(const char *secret, const void *body, size_t size);
/* fg_webhook_verify - check the X-Discourse-Event-Signature value */
int fg_webhook_verify(const char *secret, const void *body, size_t size,
		      const char *signature, const char **error_r);
/* fg_webhook_parse - read one event; see DIAGNOSTICS for the result */
int fg_webhook_parse(const char *event, const void *body, size_t size,
		     size_t max_size, struct fg_post **post_r,
		     const char **error_r);
/* fg_webhook_verify_nodebb - check nodebb-plugin-webhooks'
   x-webhook-signature: sha1=HEX, HMAC-SHA1 of the body */
int fg_webhook_verify_nodebb(const char *secret, const void *body,
			     size_t size, const char *signature,
			     const char **error_r);
/* fg_webhook_parse_nodebb - read a NodeBB action:topic.post or
   action:topic.reply event (params.post with pid, tid, index, content,
   timestamp, toPid or parent {pid} (the post it answers: the post's
   reply_to_post_id), topic {title, cid}, user {username,
   displayname}); results as fg_webhook_parse(). content is NodeBB's
   rendered HTML: it becomes the post's cooked, raw is "". params.data
   and params.caller (the requests that made the post, with the master
   token and session cookies) are never read. */
int fg_webhook_parse_nodebb(const void *body, size_t size, size_t max_size,
			    struct fg_post **post_r, const char **error_r);

/* fg_webhook_nodebb_rejected - is the body NodeBB's
   action:post-queue:removeFromQueue (a moderator rejected a post in
   the post queue): 1 with the queued post's id (caller frees), else 0
   (then read it with fg_webhook_parse_nodebb()) */
int fg_webhook_nodebb_rejected(const void *body, size_t size,
			       size_t max_size, char **held_id_r);
/* fg_webhook_discourse_rejected - is the event Discourse's
   reviewable_transitioned_to of a queued post that will not be posted
   (rejected, ignored, deleted): 1 with its id (caller frees), else 0 */
int fg_webhook_discourse_rejected(const char *event, const void *body,
				  size_t size, size_t max_size,
				  char **held_id_r);

#endif
