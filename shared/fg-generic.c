/*
 * NAME
 *	fg-generic 3 - the generic driver of fg-forum: signed JSON posts
 * DESCRIPTION
 *	For a forum without a driver of its own, a small endpoint on the
 *	forum's side (forum_generic_url) takes each post as one signed
 *	JSON request and answers with the ids the forum gave it. The
 *	contract is doc/generic-forum.md, its JSON Schema
 *	doc/generic-forum.schema.json.
 *
 *	Every request is POST forum_generic_url with a JSON body whose
 *	"action" is create_topic, create_reply or find, and the headers
 *	X-Forumgate-Timestamp (Unix seconds) and X-Forumgate-Signature
 *	(sha256=HEX, HMAC-SHA256 of "TIMESTAMP." and the body under
 *	forum_generic_secret), and Idempotency-Key. The key is stable for
 *	a list message (from its Message-ID), so a request sent again
 *	after a lost answer gets the first post's ids instead of a second
 *	post; find asks for the post of a key without making one.
 *
 *	Classification (the same classes as the other drivers): 2xx with
 *	topic_id, post_id and post_number ok; 202 or "queued": true held;
 *	401 and 403 (credentials refused) transient, so the list's queue
 *	waits instead of dead-lettering; 408, 425, 429, 3xx and 5xx
 *	transient with Retry-After (or the answer's error.retry_after);
 *	413 and 422 (or error.code content_refused) permanent with
 *	content_refused; other 4xx permanent with error.message as the
 *	reason; no answer transient.
 */
#include "forumgate-config.h"
#include "fg-forum.h"
#include "fg-forum-http.h"
#include "fg-common.h"
#include "fg-msgid.h"
#include "fg-secret.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>

#define FG_GENERIC_VERSION 1
#define FG_GENERIC_REASON_MAX 400
/* a Retry-After beyond a day is read as a day (fg-forum.c does too) */
#define FG_GENERIC_RETRY_MAX_S (24 * 3600)
#define FG_GENERIC_LINK_DEFAULT "%u/t/%t/%n"

struct fg_generic {
	struct fg_forum forum;
	struct fg_forum_http http;
	char *url;		/* where requests go */
	char *shown_url;	/* url less userinfo: messages */
	char *base;		/* forum_url, no trailing slash: links */
	char *link;		/* the post address template */
	char *secret;
};

/* fg_generic_check_link - the template names only %u %t %n %% */
static int fg_generic_check_link(const char *link, const char **error_r)
{
	for (const char *p = link; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p != 'u' && *p != 't' && *p != 'n' && *p != '%') {
			*error_r = fg_errorf("forum_generic_link '%s': only "
					     "%%u, %%t, %%n and %%%% are "
					     "known", link);
			return -1;
		}
	}
	return 0;
}

/* fg_generic_init - a handle for the endpoint */
static int fg_generic_init(const struct fg_forum_settings *set,
			   struct fg_forum **forum_r, const char **error_r)
{
	const char *url = set->generic_url != NULL &&
		*set->generic_url != '\0' ? set->generic_url : set->url;
	const char *link = set->generic_link != NULL &&
		*set->generic_link != '\0' ? set->generic_link :
		FG_GENERIC_LINK_DEFAULT;
	struct fg_generic *g;

	if (set->generic_secret == NULL || *set->generic_secret == '\0') {
		*error_r = "forum_generic_secret is not set (forum_type = "
			"generic signs every request with it)";
		return -1;
	}
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		char *shown = fg_url_redact(url);

		*error_r = fg_errorf("forum_generic_url '%s' is not an "
				     "http:// or https:// URL", shown);
		free(shown);
		return -1;
	}
	if (fg_generic_check_link(link, error_r) < 0)
		return -1;
	g = fg_xcalloc(1, sizeof(*g));
	if (fg_forum_http_init(&g->http, &g->forum, set, error_r) < 0) {
		free(g);
		return -1;
	}
	g->url = fg_xstrdup(url);
	g->shown_url = fg_url_redact(g->url);
	g->base = fg_url_redact(set->url);
	for (size_t len = strlen(g->base); len > 0 &&
	     g->base[len - 1] == '/'; len--)
		g->base[len - 1] = '\0';
	g->link = fg_xstrdup(link);
	g->secret = fg_xstrdup(set->generic_secret);
	*forum_r = &g->forum;
	return 0;
}

/* fg_generic_deinit - close and free */
static void fg_generic_deinit(struct fg_forum *forum)
{
	struct fg_generic *g = (struct fg_generic *)forum;

	fg_forum_http_deinit(&g->http);
	free(g->url);
	free(g->shown_url);
	free(g->base);
	free(g->link);
	free(g->secret);
	free(g);
}

/* fg_generic_sign - see fg-forum.h */
char *fg_generic_sign(const char *secret, long long timestamp,
		      const char *body, size_t size)
{
	struct fg_buf b = { 0 };
	char hex[65];

	fg_buf_puts(&b, fg_errorf("%lld.", timestamp));
	fg_buf_append(&b, body, size);
	fg_hmac_sha256_hex(secret, strlen(secret), b.s, b.len, hex);
	fg_buf_free(&b);
	return fg_xasprintf("sha256=%s", hex);
}

/* fg_generic_idempotency_key - see fg-forum.h */
char *fg_generic_idempotency_key(const struct fg_forum_request *req)
{
	char *what, *fp, *key;

	if (req->message_id != NULL && *req->message_id != '\0')
		return fg_forum_external_id(req->message_id);
	if (req->external_id != NULL && *req->external_id != '\0')
		return fg_xstrdup(req->external_id);
	what = fg_xasprintf("%lld\n%s\n%s", req->topic_id,
			    req->title != NULL ? req->title : "",
			    req->raw != NULL ? req->raw : "");
	fp = fg_forum_fingerprint(req->author, what);
	free(what);
	key = fg_xasprintf("fp-%s", fp);
	free(fp);
	return key;
}

/* fg_generic_number - a positive integer member (or a string of
   digits), else 0 */
static long long fg_generic_number(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	long long n = 0;

	if (json_is_integer(v))
		n = (long long)json_integer_value(v);
	else if (json_is_string(v) &&
		 fg_parse_llong(json_string_value(v), &n) < 0)
		n = 0;
	return n > 0 ? n : 0;
}

/* fg_generic_reason - error.message (else error.code, else the start
   of a body that is not JSON), one bounded line; NULL for none */
static const char *fg_generic_reason(json_t *root, const char *body,
				     size_t size)
{
	json_t *err = json_object_get(root, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *code = json_string_value(json_object_get(err, "code"));
	struct fg_buf b = { 0 };

	if (json_is_string(err))
		msg = json_string_value(err);
	if (msg != NULL && *msg != '\0')
		fg_buf_puts(&b, msg);
	else if (code != NULL && *code != '\0')
		fg_buf_puts(&b, code);
	else if (root == NULL && body != NULL && size > 0 && body[0] != '<')
		fg_buf_append(&b, body, size < 200 ? size : 200);
	return fg_forum_http_reason(&b, FG_GENERIC_REASON_MAX);
}

/* fg_generic_ok - a 2xx answer: ids, held, or ids missing */
static int fg_generic_ok(long http_status, json_t *root,
			 struct fg_forum_answer *answer_r,
			 const char **error_r)
{
	if (http_status == 202 ||
	    json_is_true(json_object_get(root, "queued"))) {
		*error_r = "the forum holds the post for a moderator";
		return FG_FORUM_HELD;
	}
	answer_r->topic_id = fg_generic_number(root, "topic_id");
	answer_r->post_id = fg_generic_number(root, "post_id");
	answer_r->post_number = fg_generic_number(root, "post_number");
	if (answer_r->topic_id > 0 && answer_r->post_id > 0 &&
	    answer_r->post_number > 0)
		return FG_FORUM_OK;
	answer_r->topic_id = answer_r->post_id = answer_r->post_number = 0;
	*error_r = fg_errorf("forum answered HTTP %ld without topic_id, "
			     "post_id and post_number; the post may exist",
			     http_status);
	return FG_FORUM_PERMANENT;
}

/* fg_generic_classify - see fg-forum.h */
int fg_generic_classify(long http_status, const char *body, size_t size,
			const char *retry_after, long long now,
			struct fg_forum_answer *answer_r,
			const char **error_r)
{
	json_t *root = NULL, *err;
	const char *reason, *code, *what = "";
	bool transient;
	int ret;

	memset(answer_r, 0, sizeof(*answer_r));
	answer_r->http_status = http_status;
	if (body != NULL && size > 0)
		root = json_loadb(body, size, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	if (http_status >= 200 && http_status <= 299) {
		ret = fg_generic_ok(http_status, root, answer_r, error_r);
		json_decref(root);
		return ret;
	}
	err = json_object_get(root, "error");
	code = json_string_value(json_object_get(err, "code"));
	reason = fg_generic_reason(root, body, size);
	transient = http_status == 401 || http_status == 403 ||
		http_status == 408 || http_status == 425 ||
		http_status == 429 ||
		(http_status >= 300 && http_status <= 399) ||
		(http_status >= 500 && http_status <= 599);
	if (http_status == 401 || http_status == 403) {
		what = " (credentials refused: check forum_generic_secret)";
	} else if (transient) {
		answer_r->retry_after_ms =
			fg_forum_parse_retry_after(retry_after, now);
		if (answer_r->retry_after_ms == 0) {
			long long s = fg_generic_number(err, "retry_after");
			if (s > FG_GENERIC_RETRY_MAX_S)
				s = FG_GENERIC_RETRY_MAX_S;
			answer_r->retry_after_ms = (unsigned int)s * 1000;
		}
	} else {
		answer_r->content_refused = http_status == 413 ||
			http_status == 422 ||
			(code != NULL && strcmp(code, "content_refused") == 0);
	}
	*error_r = fg_errorf("forum answered HTTP %ld%s%s%s", http_status,
			     reason != NULL ? ": " : "",
			     reason != NULL ? reason : "", what);
	json_decref(root);
	return transient ? FG_FORUM_TRANSIENT : FG_FORUM_PERMANENT;
}

/* fg_generic_perform - one signed POST of json: 0 an answer came
   (*status_r, g->http.body, g->http.overflow), -1 none (*error_r) */
static int fg_generic_perform(struct fg_generic *g, const char *json,
			      const char *key, long *status_r,
			      const char **error_r)
{
	long long now = (long long)time(NULL);
	struct curl_slist *headers = NULL;
	size_t len = strlen(json);
	char *sig = fg_generic_sign(g->secret, now, json, len), *h;
	CURLcode code;
	long status = 0;

	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	h = fg_xasprintf("X-Forumgate-Timestamp: %lld", now);
	headers = curl_slist_append(headers, h);
	free(h);
	h = fg_xasprintf("X-Forumgate-Signature: %s", sig);
	headers = curl_slist_append(headers, h);
	free(h);
	free(sig);
	h = fg_xasprintf("Idempotency-Key: %s", key);
	headers = curl_slist_append(headers, h);
	free(h);
	if (headers == NULL)
		abort();

	fg_forum_http_reset(&g->http);
	curl_easy_setopt(g->http.curl, CURLOPT_URL, g->url);
	curl_easy_setopt(g->http.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(g->http.curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)len);
	curl_easy_setopt(g->http.curl, CURLOPT_POSTFIELDS, json);
	code = curl_easy_perform(g->http.curl);
	curl_easy_getinfo(g->http.curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(g->http.curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(g->http.curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	*status_r = status;
	if (code != CURLE_OK && !(g->http.overflow && status > 0)) {
		*error_r = fg_errorf("forum request to %s failed: %s",
				     g->shown_url,
				     g->http.errbuf[0] != '\0' ? g->http.errbuf :
				     curl_easy_strerror(code));
		fg_buf_free(&g->http.body);
		return -1;
	}
	return 0;
}

/* fg_generic_body - the request's JSON (NULL: not valid UTF-8) */
static json_t *fg_generic_body(const char *action,
			       const struct fg_forum_request *req,
			       const char *key)
{
	json_t *body = json_object(), *raw, *title = NULL, *msgid = NULL;

	raw = json_string(req->raw != NULL ? req->raw : "");
	if (req->topic_id <= 0)
		title = json_string(req->title != NULL ? req->title : "");
	if (raw == NULL || (req->topic_id <= 0 && title == NULL)) {
		json_decref(raw);
		json_decref(title);
		json_decref(body);
		return NULL;
	}
	json_object_set_new(body, "version", json_integer(FG_GENERIC_VERSION));
	json_object_set_new(body, "action", json_string(action));
	json_object_set_new(body, "idempotency_key", json_string(key));
	if (req->message_id != NULL)
		msgid = json_string(req->message_id);
	json_object_set_new(body, "message_id",
			    msgid != NULL ? msgid : json_null());
	json_object_set_new(body, "author",
			    req->author != NULL && *req->author != '\0' ?
			    json_string(req->author) : json_null());
	json_object_set_new(body, "raw", raw);
	if (req->topic_id > 0) {
		json_object_set_new(body, "topic_id",
				    json_integer(req->topic_id));
		json_object_set_new(body, "reply_to_post_id",
				    req->reply_to_post_id > 0 ?
				    json_integer(req->reply_to_post_id) :
				    json_null());
		json_object_set_new(body, "reply_to_post_number",
				    req->reply_to_post_number > 0 ?
				    json_integer(req->reply_to_post_number) :
				    json_null());
	} else {
		json_object_set_new(body, "title", title);
		json_object_set_new(body, "category",
				    req->category > 0 ?
				    json_integer(req->category) : json_null());
	}
	return body;
}

/* fg_generic_send - one action for req: the status class, or for find
   1 found, 0 not found */
static int fg_generic_send(struct fg_generic *g, const char *action,
			   const struct fg_forum_request *req,
			   struct fg_forum_answer *answer_r,
			   const char **error_r)
{
	bool find = strcmp(action, "find") == 0;
	char *key = fg_generic_idempotency_key(req), *json = NULL;
	json_t *body = fg_generic_body(action, req, key);
	long status = 0;
	int ret;

	if (body != NULL)
		json = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (json == NULL) {
		free(key);
		*error_r = "the title or text is not valid UTF-8";
		return FG_FORUM_PERMANENT;
	}
	ret = fg_generic_perform(g, json, key, &status, error_r);
	free(json);
	free(key);
	if (ret < 0) {
		ret = FG_FORUM_TRANSIENT;
	} else if (g->http.overflow && status >= 200 && status <= 299) {
		answer_r->http_status = status;
		*error_r = fg_errorf("forum answer is larger than %zu bytes; "
				     "the post may exist", g->http.max_answer);
		ret = FG_FORUM_PERMANENT;
	} else if (find && status == 404) {
		answer_r->http_status = status;
		ret = 0;
	} else {
		ret = fg_generic_classify(status, g->http.overflow ? NULL :
					  g->http.body.s, g->http.overflow ? 0 :
					  g->http.body.len, g->http.retry_after,
					  (long long)time(NULL), answer_r,
					  error_r);
		if (find && ret == FG_FORUM_OK)
			ret = 1;
		else if (find && ret == FG_FORUM_HELD)
			ret = 0;	/* held: no ids to find yet */
	}
	fg_buf_free(&g->http.body);
	return ret;
}

/* fg_generic_create - a topic or a reply */
static int fg_generic_create(struct fg_forum *forum,
			     const struct fg_forum_request *req,
			     struct fg_forum_answer *answer_r,
			     const char **error_r)
{
	return fg_generic_send((struct fg_generic *)forum,
			       req->topic_id > 0 ? "create_reply" :
			       "create_topic", req, answer_r, error_r);
}

/* fg_generic_find - the post of the request's idempotency key */
static int fg_generic_find(struct fg_forum *forum,
			   const struct fg_forum_request *req,
			   struct fg_forum_answer *answer_r,
			   const char **error_r)
{
	return fg_generic_send((struct fg_generic *)forum, "find", req,
			       answer_r, error_r);
}

/* fg_generic_post_url - forum_generic_link with its escapes filled */
static char *fg_generic_post_url(struct fg_forum *forum, long long topic_id,
				 long long post_number)
{
	struct fg_generic *g = (struct fg_generic *)forum;
	struct fg_buf b = { 0 };

	for (const char *p = g->link; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			fg_buf_putc(&b, *p);
			continue;
		}
		p++;
		if (*p == 'u')
			fg_buf_puts(&b, g->base);
		else if (*p == 't')
			fg_buf_puts(&b, fg_errorf("%lld", topic_id));
		else if (*p == 'n')
			fg_buf_puts(&b, fg_errorf("%lld", post_number));
		else
			fg_buf_putc(&b, *p);
	}
	return b.s != NULL ? b.s : fg_xstrdup("");
}

const struct fg_forum_vfuncs fg_forum_generic = {
	.name = "generic",
	.init = fg_generic_init,
	.deinit = fg_generic_deinit,
	.post_url = fg_generic_post_url,
	.create = fg_generic_create,
	.find = fg_generic_find,
	/* no limits of its own: the settings' forum_*_length apply */
	.default_limits = {
		.max_title = 0,
		.min_title = 0,
		.max_post = 0,
		.min_post = 0,
	},
};
