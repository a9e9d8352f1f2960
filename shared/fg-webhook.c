/*
 * NAME
 *	fg-webhook 3 - verify and read a Discourse webhook
 * DESCRIPTION
 *	The signature is checked on the exact body bytes before anything
 *	looks at the JSON. The parser is strict about the members the
 *	bridge needs (ids are positive integers, username and raw are
 *	strings) and tolerant of everything else, since Discourse adds
 *	members over time.
 * SEE ALSO
 *	fg-webhook.h for the events and results.
 */
#include "fg-webhook.h"
#include "fg-common.h"
#include "fg-msgid.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define FG_SIGNATURE_PREFIX "sha256="
#define FG_SIGNATURE_HEX 64
/* Discourse's post types: only regular posts are mail. */
#define FG_POST_TYPE_REGULAR 1

/* fg_webhook_sign - what a genuine sender puts into the header */
char *fg_webhook_sign(const char *secret, const void *body, size_t size)
{
	char hex[FG_SIGNATURE_HEX + 1];

	fg_hmac_sha256_hex(secret, strlen(secret), body, size, hex);
	return fg_xasprintf(FG_SIGNATURE_PREFIX "%s", hex);
}

/* fg_webhook_verify - the header's HMAC against our own, in constant time */
int fg_webhook_verify(const char *secret, const void *body, size_t size,
		      const char *signature, const char **error_r)
{
	char expected[FG_SIGNATURE_HEX + 1], given[FG_SIGNATURE_HEX + 1];
	const char *hex;
	size_t len;

	if (secret == NULL || *secret == '\0') {
		*error_r = "no webhook secret is configured";
		return -1;
	}
	if (signature == NULL || *signature == '\0') {
		*error_r = "no signature";
		return -1;
	}
	while (isspace((unsigned char)*signature))
		signature++;
	if (strncasecmp(signature, FG_SIGNATURE_PREFIX,
			sizeof(FG_SIGNATURE_PREFIX) - 1) != 0) {
		*error_r = "signature is not sha256=HEX";
		return -1;
	}
	hex = signature + sizeof(FG_SIGNATURE_PREFIX) - 1;
	len = strlen(hex);
	while (len > 0 && isspace((unsigned char)hex[len - 1]))
		len--;
	if (len != FG_SIGNATURE_HEX) {
		*error_r = "signature has the wrong length";
		return -1;
	}
	/* hex digits in either case; the length is public, the digits not */
	for (size_t i = 0; i < FG_SIGNATURE_HEX; i++)
		given[i] = (char)tolower((unsigned char)hex[i]);
	given[FG_SIGNATURE_HEX] = '\0';
	fg_hmac_sha256_hex(secret, strlen(secret), body, size, expected);
	if (!fg_mem_equal_ct(expected, given, FG_SIGNATURE_HEX)) {
		*error_r = "signature mismatch";
		return -1;
	}
	return 0;
}

/* fg_json_number - a JSON integer, or a string of digits (some forum
   versions send numbers as strings); 0 for null or missing */
static int fg_json_number(json_t *obj, const char *name, bool required,
			  long long *value_r, const char **error_r)
{
	json_t *v = json_object_get(obj, name);
	long long n;

	*value_r = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		*error_r = fg_errorf("post.%s is missing", name);
		return -1;
	}
	if (json_is_integer(v)) {
		n = (long long)json_integer_value(v);
	} else if (!json_is_string(v) ||
		   fg_parse_llong(json_string_value(v), &n) < 0) {
		*error_r = fg_errorf("post.%s is not a number", name);
		return -1;
	}
	if (n < 0 || (required && n == 0)) {
		*error_r = fg_errorf("post.%s is out of range", name);
		return -1;
	}
	*value_r = n;
	return 0;
}

/* fg_json_text - a copy of a string member; "" for null or missing */
static int fg_json_text(json_t *obj, const char *name, bool required,
			char **value_r, const char **error_r)
{
	json_t *v = json_object_get(obj, name);

	*value_r = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			*error_r = fg_errorf("post.%s is missing", name);
			return -1;
		}
		*value_r = fg_xstrdup("");
		return 0;
	}
	if (!json_is_string(v)) {
		*error_r = fg_errorf("post.%s is not a string", name);
		return -1;
	}
	/* a NUL inside would cut the text short downstream */
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		*error_r = fg_errorf("post.%s contains a NUL byte", name);
		return -1;
	}
	*value_r = fg_xstrdup(json_string_value(v));
	return 0;
}

/* fg_webhook_cooked - a post without raw keeps its rendered HTML
   (cooked) for the outbound worker, which never mails HTML as text;
   raw is required when there is no cooked either */
static int fg_webhook_cooked(json_t *p, struct fg_post *post,
			     const char **error_r)
{
	json_t *raw = json_object_get(p, "raw");

	if (*post->raw != '\0')
		return 0;
	if (fg_json_text(p, "cooked", false, &post->cooked, error_r) < 0)
		return -1;
	if (*post->cooked == '\0') {
		free(post->cooked);
		post->cooked = NULL;
		if (raw == NULL || json_is_null(raw)) {
			*error_r = "post.raw is missing";
			return -1;
		}
	}
	return 0;
}

/* fg_json_error_text - jansson's complaint without its "near '...'"
   part: that quotes the body, and a body may carry secrets (NodeBB's
   echoed request headers) that must not reach a log */
static const char *fg_json_error_text(const json_error_t *jerr)
{
	const char *near = strstr(jerr->text, " near ");
	int len = near != NULL ? (int)(near - jerr->text) :
		(int)strlen(jerr->text);

	return fg_errorf("invalid JSON: %.*s (line %d)", len, jerr->text,
			 jerr->line);
}

/* fg_webhook_post - the members of "post" into a struct fg_post */
static int fg_webhook_post(json_t *p, struct fg_post **post_r,
			   const char **error_r)
{
	struct fg_post *post = fg_xcalloc(1, sizeof(*post));

	if (fg_json_number(p, "id", true, &post->post_id, error_r) < 0 ||
	    fg_json_number(p, "topic_id", true, &post->topic_id,
			   error_r) < 0 ||
	    fg_json_number(p, "post_number", true, &post->post_number,
			   error_r) < 0 ||
	    fg_json_number(p, "reply_to_post_number", false,
			   &post->reply_to_post_number, error_r) < 0 ||
	    fg_json_number(p, "reply_to_post_id", false,
			   &post->reply_to_post_id, error_r) < 0 ||
	    fg_json_number(p, "category_id", false, &post->category_id,
			   error_r) < 0 ||
	    fg_json_text(p, "username", true, &post->username, error_r) < 0 ||
	    fg_json_text(p, "name", false, &post->name, error_r) < 0 ||
	    fg_json_text(p, "raw", false, &post->raw, error_r) < 0 ||
	    fg_json_text(p, "topic_title", false, &post->topic_title,
			 error_r) < 0 ||
	    fg_json_text(p, "created_at", false, &post->created_at,
			 error_r) < 0 ||
	    fg_json_text(p, "primary_group_name", false, &post->group,
			 error_r) < 0) {
		fg_post_free(&post);
		return -1;
	}
	if (*post->username == '\0') {
		*error_r = "post.username is empty";
		fg_post_free(&post);
		return -1;
	}
	if (fg_webhook_cooked(p, post, error_r) < 0) {
		fg_post_free(&post);
		return -1;
	}
	*post_r = post;
	return 0;
}

/* fg_webhook_parse - read an event; only a regular public post is work */
int fg_webhook_parse(const char *event, const void *body, size_t size,
		     size_t max_size, struct fg_post **post_r,
		     const char **error_r)
{
	json_error_t jerr;
	json_t *root, *p, *v;
	bool edited;
	int ret;

	*post_r = NULL;
	if (max_size > 0 && size > max_size) {
		*error_r = fg_errorf("body of %zu bytes exceeds %zu", size,
				     max_size);
		return FG_WEBHOOK_TOO_LARGE;
	}
	if (event == NULL || *event == '\0') {
		*error_r = "no event name";
		return FG_WEBHOOK_INVALID;
	}
	edited = strcmp(event, "post_edited") == 0;
	if (strcmp(event, "post_created") != 0 && !edited) {
		*error_r = fg_errorf("event %.64s is not bridged", event);
		return FG_WEBHOOK_IGNORE;
	}
	root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		*error_r = fg_json_error_text(&jerr);
		return FG_WEBHOOK_INVALID;
	}
	p = json_object_get(root, "post");
	if (!json_is_object(p)) {
		*error_r = "no \"post\" object";
		json_decref(root);
		return FG_WEBHOOK_INVALID;
	}
	v = json_object_get(p, "post_type");
	if (json_is_integer(v) &&
	    json_integer_value(v) != FG_POST_TYPE_REGULAR) {
		*error_r = fg_errorf("post_type %lld is not a regular post",
				     (long long)json_integer_value(v));
		json_decref(root);
		return FG_WEBHOOK_IGNORE;
	}
	v = json_object_get(p, "topic_archetype");
	if (json_is_string(v) &&
	    strcmp(json_string_value(v), "private_message") == 0) {
		*error_r = "private message";
		json_decref(root);
		return FG_WEBHOOK_IGNORE;
	}
	if (edited) {
		/* Discourse counts versions from 1; an edit in the grace
		   period keeps the version and is no revision of its own */
		v = json_object_get(p, "version");
		if (!json_is_integer(v) || json_integer_value(v) < 2) {
			*error_r = "post_edited without a new version";
			json_decref(root);
			return FG_WEBHOOK_IGNORE;
		}
	}
	ret = fg_webhook_post(p, post_r, error_r) < 0 ?
		FG_WEBHOOK_INVALID : FG_WEBHOOK_POST;
	if (ret == FG_WEBHOOK_POST && edited)
		(*post_r)->revision = (long long)json_integer_value(v);
	json_decref(root);
	return ret;
}

/* fg_webhook_verify_nodebb - x-webhook-signature: sha1=HEX, the
   HMAC-SHA1 of the body, compared in constant time */
int fg_webhook_verify_nodebb(const char *secret, const void *body,
			     size_t size, const char *signature,
			     const char **error_r)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char expected[41], given[41];
	size_t len;

	if (secret == NULL || *secret == '\0') {
		*error_r = "no webhook secret is configured";
		return -1;
	}
	if (signature == NULL || strncasecmp(signature, "sha1=", 5) != 0) {
		*error_r = "no x-webhook-signature: sha1=HEX header";
		return -1;
	}
	signature += 5;
	len = strlen(signature);
	if (len != 40) {
		*error_r = "signature has the wrong length";
		return -1;
	}
	for (size_t i = 0; i < 40; i++)
		given[i] = (char)tolower((unsigned char)signature[i]);
	given[40] = '\0';
	HMAC(EVP_sha1(), secret, (int)strlen(secret), body, size, mac,
	     &mac_len);
	for (unsigned int i = 0; i < mac_len && i < 20; i++)
		snprintf(expected + 2 * i, 3, "%02x", mac[i]);
	expected[40] = '\0';
	if (!fg_mem_equal_ct(expected, given, 40)) {
		*error_r = "signature mismatch";
		return -1;
	}
	return 0;
}

/* fg_nodebb_text - a bounded copy of obj.name ("" when missing) */
static char *fg_nodebb_text(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fg_xstrdup("");
	return fg_xstrdup(json_string_value(v));
}

/* fg_nodebb_number - obj.name as a number (NodeBB sends ids as numbers
   or strings); -1 when missing or invalid */
static long long fg_nodebb_number(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	long long n;

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_string(v) && fg_parse_llong(json_string_value(v), &n) == 0)
		return n;
	return -1;
}

/* fg_nodebb_reply_to - the pid the post answers, 0 for none: NodeBB
   stores the reply link as toPid (src/posts/create.js: data.toPid of
   POST /api/v3/topics/{tid}; null or absent for an answer to the
   topic), and action:topic.reply's post carries it, with the parent's
   summary under parent (src/topics/create.js, Topics.addParentPosts)
   where a version names its pid */
static long long fg_nodebb_reply_to(json_t *p)
{
	json_t *parent = json_object_get(p, "parent");
	long long pid = fg_nodebb_number(p, "toPid");

	if (pid <= 0 && json_is_object(parent))
		pid = fg_nodebb_number(parent, "pid");
	return pid > 0 ? pid : 0;
}

/* fg_webhook_parse_nodebb - read one nodebb-plugin-webhooks event:
   {"hook": NAME, "params": {"post": {...}, ...}}. Only the members
   named here are read: params also carries the request's headers,
   which are never copied, stored or logged. */
int fg_webhook_parse_nodebb(const void *body, size_t size, size_t max_size,
			    struct fg_post **post_r, const char **error_r)
{
	json_error_t jerr;
	json_t *root, *params, *p, *topic, *user;
	const char *hook;
	struct fg_post *post;
	long long index, ts;

	*post_r = NULL;
	if (max_size > 0 && size > max_size) {
		*error_r = fg_errorf("body of %zu bytes exceeds %zu", size,
				     max_size);
		return FG_WEBHOOK_TOO_LARGE;
	}
	root = json_loadb(body, size, 0, &jerr);
	if (root == NULL) {
		*error_r = fg_json_error_text(&jerr);
		return FG_WEBHOOK_INVALID;
	}
	hook = json_string_value(json_object_get(root, "hook"));
	params = json_object_get(root, "params");
	if (hook == NULL || !json_is_object(params)) {
		json_decref(root);
		*error_r = "no \"hook\" and \"params\"";
		return FG_WEBHOOK_INVALID;
	}
	/* a new topic's first post, or a reply; action:post.save and
	   action:post.edit come as well when configured, and are not new
	   posts of their own (save) or must not be mailed (edit) */
	if (strcmp(hook, "action:post.edit") == 0) {
		/* its payload has no revision number to give an edit a
		   Message-ID of its own: recognised, never mailed */
		*error_r = "hook action:post.edit: an edit is not mailed";
		json_decref(root);
		return FG_WEBHOOK_IGNORE;
	}
	if (strcmp(hook, "action:topic.post") != 0 &&
	    strcmp(hook, "action:topic.reply") != 0) {
		*error_r = fg_errorf("hook %.64s is not bridged", hook);
		json_decref(root);
		return FG_WEBHOOK_IGNORE;
	}
	p = json_object_get(params, "post");
	if (!json_is_object(p)) {
		json_decref(root);
		*error_r = "no params.post object";
		return FG_WEBHOOK_INVALID;
	}
	topic = json_object_get(p, "topic");
	if (!json_is_object(topic))
		topic = json_object_get(params, "topic");
	user = json_object_get(p, "user");
	post = fg_xcalloc(1, sizeof(*post));
	post->post_id = fg_nodebb_number(p, "pid");
	post->topic_id = fg_nodebb_number(p, "tid");
	index = fg_nodebb_number(p, "index");
	if (index < 0 && strcmp(hook, "action:topic.post") == 0)
		index = 0;
	post->post_number = index >= 0 ? index + 1 : -1;
	post->reply_to_post_id = fg_nodebb_reply_to(p);
	post->category_id = json_is_object(topic) ?
		fg_nodebb_number(topic, "cid") : -1;
	if (post->category_id < 0)
		post->category_id = fg_nodebb_number(p, "cid");
	/* content is HTML (NodeBB parses the post for the hook); the
	   Markdown comes from the forum later (fg_forum_post_text()) */
	post->raw = fg_xstrdup("");
	post->cooked = fg_nodebb_text(p, "content");
	post->topic_title = json_is_object(topic) ?
		fg_nodebb_text(topic, "title") : fg_xstrdup("");
	post->username = json_is_object(user) ?
		fg_nodebb_text(user, "username") : fg_xstrdup("");
	post->user_id = fg_nodebb_number(p, "uid");
	if (post->user_id <= 0 && json_is_object(user))
		post->user_id = fg_nodebb_number(user, "uid");
	if (post->user_id < 0)
		post->user_id = 0;
	post->name = json_is_object(user) ?
		fg_nodebb_text(user, "displayname") : fg_xstrdup("");
	ts = fg_nodebb_number(p, "timestamp");
	if (ts > 0) {
		time_t t = (time_t)(ts / 1000);
		struct tm tm;
		char buf[32];

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		post->created_at = fg_xstrdup(buf);
	} else {
		post->created_at = fg_xstrdup("");
	}
	json_decref(root);
	if (post->post_id <= 0 || post->topic_id <= 0 ||
	    post->post_number <= 0 || *post->username == '\0' ||
	    post->category_id < 0) {
		*error_r = "params.post lacks pid, tid, index, cid or "
			"user.username";
		fg_post_free(&post);
		return FG_WEBHOOK_INVALID;
	}
	*post_r = post;
	return FG_WEBHOOK_POST;
}

/* fg_webhook_nodebb_rejected - NodeBB's action:post-queue:removeFromQueue
   (src/posts/queue.js Posts.removeFromQueue(): a moderator rejected a
   queued post; an approval goes through submitFromQueue() and does not
   fire it): {"hook": ..., "params": {"data": {"id": "reply-MS", "uid",
   "type", "data"}}} */
int fg_webhook_nodebb_rejected(const void *body, size_t size,
			       size_t max_size, char **held_id_r)
{
	json_t *root, *data, *id;
	const char *hook;
	int ret = 0;

	*held_id_r = NULL;
	if (max_size > 0 && size > max_size)
		return 0;
	if ((root = json_loadb(body, size, 0, NULL)) == NULL)
		return 0;
	hook = json_string_value(json_object_get(root, "hook"));
	data = json_object_get(json_object_get(root, "params"), "data");
	id = json_object_get(data, "id");
	if (hook != NULL &&
	    strcmp(hook, "action:post-queue:removeFromQueue") == 0 &&
	    json_is_string(id) && json_string_length(id) > 0 &&
	    json_string_length(id) < 64 &&
	    strlen(json_string_value(id)) == json_string_length(id)) {
		*held_id_r = fg_xstrdup(json_string_value(id));
		ret = 1;
	}
	json_decref(root);
	return ret;
}

/* fg_webhook_discourse_rejected - Discourse's reviewable_transitioned_to
   (event type reviewable_updated; config/initializers/
   012-web_hook_events.rb): {"reviewable": ReviewableSerializer} whose
   type is ReviewableQueuedPost and whose status (status_for_database)
   is 2 rejected, 3 ignored or 4 deleted */
int fg_webhook_discourse_rejected(const char *event, const void *body,
				  size_t size, size_t max_size,
				  char **held_id_r)
{
	json_t *root, *r, *type, *status, *id;
	long long st = -1;
	int ret = 0;

	*held_id_r = NULL;
	if (event == NULL || strcmp(event, "reviewable_transitioned_to") != 0 ||
	    (max_size > 0 && size > max_size))
		return 0;
	if ((root = json_loadb(body, size, 0, NULL)) == NULL)
		return 0;
	r = json_object_get(root, "reviewable");
	type = json_object_get(r, "type");
	status = json_object_get(r, "status");
	id = json_object_get(r, "id");
	if (json_is_integer(status))
		st = (long long)json_integer_value(status);
	else if (json_is_string(status))
		st = strcmp(json_string_value(status), "rejected") == 0 ? 2 :
			strcmp(json_string_value(status), "ignored") == 0 ? 3 :
			strcmp(json_string_value(status), "deleted") == 0 ? 4 : -1;
	if (json_is_string(type) &&
	    strcmp(json_string_value(type), "ReviewableQueuedPost") == 0 &&
	    st >= 2 && st <= 4 && json_is_integer(id) &&
	    json_integer_value(id) > 0) {
		*held_id_r = fg_xasprintf("%lld",
					  (long long)json_integer_value(id));
		ret = 1;
	}
	json_decref(root);
	return ret;
}
