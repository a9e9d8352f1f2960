/*
 * NAME
 *	fg-discourse 3 - the Discourse driver of fg-forum
 * DESCRIPTION
 *	Topics and replies are both made with POST /posts.json and a JSON
 *	body: {title, raw, category} for a topic, {topic_id, raw,
 *	reply_to_post_number} for a reply. The body schema of that call
 *	allows no other members. Authentication is the Api-Key and
 *	Api-Username header pair of an all-users API key, so the bridge
 *	posts as forum_api_username.
 *
 *	One libcurl easy handle per forum handle keeps the connection
 *	alive between posts. Requests never follow redirects (a redirected
 *	POST is a configuration error worth seeing), speak only HTTP(S),
 *	and stop reading an answer past max_answer_size.
 *
 *	Classification of an answer:
 *
 *	2xx with a post	ok.
 *	2xx "enqueued"	the forum holds the post for review (no post
 *			exists yet): FG_FORUM_HELD.
 *	The rest by fg_forum_classify_refusal(), with the forum's
 *	{"errors": [...]} text as the reason:
 *	408, 429	transient: a slow request or a rate limit are not
 *			this post's fault. 429 takes the body's
 *			extras.wait_seconds, or Retry-After.
 *	401, 403 bad key
 *			transient, cause credentials: Discourse's 403 "The
 *			API username or key is invalid" (a rotated key must
 *			stop the queue, not empty it into the dead-letter
 *			stream).
 *	3xx		transient: forum_url points at a redirect.
 *	5xx		transient, with Retry-After when given.
 *	other 4xx	permanent, with the cause of a content refusal
 *			(too short, too long, too similar) and the limit
 *			the words name.
 *	no answer	transient (timeout, refused connection, TLS, DNS).
 *	Authors: a post is made as req->author by sending that user in
 *	Api-Username (an all-users API key allows it).
 *
 *	Lost answers: a topic carries external_id (fg_forum_external_id()
 *	of the Message-ID); after a request without an answer, find()
 *	asks GET /t/external_id/ID.json (a 301 to the topic) before the
 *	post is sent again. A reply has no external id: find() reads the
 *	topic's newest FG_DISCOURSE_FIND_DEPTH posts (GET /t/ID.json, then
 *	GET /posts/ID.json for raw) and takes the one by the same user
 *	with the same text (white space and case ignored).
 *
 *	Uploads: POST /uploads.json, multipart/form-data with
 *	upload_type=composer, synchronous=true and the file; the post
 *	links short_url (upload://...) as ![name](...) for images and
 *	[name|attachment](...) for other files.
 */
#include "forumgate-config.h"
#include "fg-forum.h"
#include "fg-common.h"
#include "fg-secret.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>

/* Longest forum error text kept for logs and the dead-letter stream. */
#define FG_DISCOURSE_ERROR_MAX 400
#define FG_DISCOURSE_USER_AGENT "forumgate/" PACKAGE_VERSION

struct fg_discourse {
	struct fg_forum forum;
	CURL *curl;
	struct curl_slist *headers;
	char *url;		/* base URL without a trailing slash */
	char *shown_url;	/* url less userinfo: links, messages */
	char *api_key, *api_username;
	unsigned int timeout_ms;
	size_t max_answer;
	char errbuf[CURL_ERROR_SIZE];

	/* the request in progress */
	struct fg_buf answer;
	bool answer_too_large;
	char *retry_after;
	char *location;
};

/* fg_discourse_write - collect the answer body, up to the limit */
static size_t fg_discourse_write(char *data, size_t size, size_t nmemb,
				 void *context)
{
	struct fg_discourse *d = context;
	size_t n = size * nmemb;

	if (d->answer.len + n > d->max_answer) {
		d->answer_too_large = true;
		return 0;	/* makes libcurl abort with CURLE_WRITE_ERROR */
	}
	fg_buf_append(&d->answer, data, n);
	return n;
}

/* fg_discourse_header - remember Retry-After of the final answer */
static size_t fg_discourse_header(char *data, size_t size, size_t nmemb,
				  void *context)
{
	struct fg_discourse *d = context;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	static const char location[] = "location:";

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new status line: 100 Continue's headers do not count */
		free(d->retry_after);
		d->retry_after = NULL;
		free(d->location);
		d->location = NULL;
	} else if (n > sizeof(location) - 1 &&
		   strncasecmp(data, location, sizeof(location) - 1) == 0) {
		free(d->location);
		d->location = fg_xstrndup(data + sizeof(location) - 1,
					  n - (sizeof(location) - 1));
		fg_str_trim(d->location);
	} else if (n > sizeof(name) - 1 &&
		   strncasecmp(data, name, sizeof(name) - 1) == 0) {
		free(d->retry_after);
		d->retry_after = fg_xstrndup(data + sizeof(name) - 1,
					     n - (sizeof(name) - 1));
		fg_str_trim(d->retry_after);
	}
	return n;
}

/* fg_discourse_header_add - one "Name: value" request header */
static void fg_discourse_header_add(struct fg_discourse *d, const char *name,
				    const char *value)
{
	char *line = fg_xasprintf("%s: %s", name, value);
	struct curl_slist *list = curl_slist_append(d->headers, line);

	free(line);
	if (list == NULL)
		abort();	/* allocation, as everywhere in the library */
	d->headers = list;
}

/* fg_discourse_text_ok - no line breaks or NULs that could forge headers */
static bool fg_discourse_text_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* fg_discourse_init - one handle with its connection and headers */
static int fg_discourse_init(const struct fg_forum_settings *set,
			     struct fg_forum **forum_r, const char **error_r)
{
	struct fg_discourse *d;
	size_t len;

	if (set->api_key == NULL || *set->api_key == '\0' ||
	    !fg_discourse_text_ok(set->api_key)) {
		*error_r = "forum_api_key is not set or not a single line";
		return -1;
	}
	if (set->api_username == NULL || *set->api_username == '\0' ||
	    !fg_discourse_text_ok(set->api_username)) {
		*error_r = "forum_api_username is not set or not a single line";
		return -1;
	}
	d = fg_xcalloc(1, sizeof(*d));
	d->curl = curl_easy_init();
	if (d->curl == NULL) {
		free(d);
		*error_r = "curl_easy_init() failed";
		return -1;
	}
	d->url = fg_xstrdup(set->url);
	len = strlen(d->url);
	while (len > 0 && d->url[len - 1] == '/')
		d->url[--len] = '\0';
	d->shown_url = fg_url_redact(d->url);
	d->api_key = fg_xstrdup(set->api_key);
	d->api_username = fg_xstrdup(set->api_username);
	d->timeout_ms = set->timeout_ms;
	d->max_answer = set->max_answer_size != 0 ? set->max_answer_size :
		FG_FORUM_DEFAULT_MAX_ANSWER;

	fg_discourse_header_add(d, "Api-Key", set->api_key);
	fg_discourse_header_add(d, "Api-Username", set->api_username);
	fg_discourse_header_add(d, "Content-Type", "application/json");
	fg_discourse_header_add(d, "Accept", "application/json");
	/* no "100 Continue" round trip for larger posts */
	fg_discourse_header_add(d, "Expect", "");

	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(d->curl, CURLOPT_USERAGENT, FG_DISCOURSE_USER_AGENT);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)d->timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, fg_discourse_write);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, fg_discourse_header);
	curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, d);
	fg_forum_progress_init(&d->forum, d->curl);
	*forum_r = &d->forum;
	return 0;
}

/* fg_discourse_deinit - close the connection and free the handle */
static void fg_discourse_deinit(struct fg_forum *forum)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;

	curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->headers);
	fg_buf_free(&d->answer);
	free(d->retry_after);
	free(d->location);
	free(d->api_key);
	free(d->api_username);
	free(d->url);
	free(d->shown_url);
	free(d);
}

/* fg_discourse_clean_text - one printable line of at most max bytes */
static char *fg_discourse_clean_text(const char *s, size_t len, size_t max)
{
	struct fg_buf b = { 0 };

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (b.len >= max) {
			/* do not cut a UTF-8 sequence in half */
			while (b.len > 0 &&
			       ((unsigned char)b.s[b.len - 1] & 0xc0) == 0x80)
				b.len--;
			if (b.len > 0 &&
			    (unsigned char)b.s[b.len - 1] >= 0xc0)
				b.len--;
			b.s[b.len] = '\0';
			fg_buf_puts(&b, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (b.len == 0 || b.s[b.len - 1] == ' '))
			continue;
		fg_buf_putc(&b, (char)c);
	}
	if (b.len > 0 && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	return fg_buf_steal(&b);
}

/* fg_discourse_error_text - the forum's reason: {"errors": [...]} joined,
   else "error", else a short piece of a non-HTML body */
static const char *fg_discourse_error_text(json_t *root, const char *body,
					   size_t size)
{
	struct fg_buf b = { 0 };
	json_t *errors, *e;
	size_t i;
	char *clean;
	const char *ret;

	if (json_is_object(root)) {
		errors = json_object_get(root, "errors");
		if (json_is_array(errors)) {
			json_array_foreach(errors, i, e) {
				if (!json_is_string(e))
					continue;
				if (b.len > 0)
					fg_buf_puts(&b, "; ");
				fg_buf_puts(&b, json_string_value(e));
			}
		} else if (json_is_string(errors)) {
			fg_buf_puts(&b, json_string_value(errors));
		}
		e = json_object_get(root, "error");
		if (b.len == 0 && json_is_string(e))
			fg_buf_puts(&b, json_string_value(e));
	} else if (body != NULL && size > 0 && body[0] != '<') {
		fg_buf_append(&b, body, size > 200 ? 200 : size);
	}
	if (b.len == 0)
		return NULL;
	clean = fg_discourse_clean_text(b.s, b.len, FG_DISCOURSE_ERROR_MAX);
	fg_buf_free(&b);
	ret = fg_errorf("%s", clean);
	free(clean);
	return ret;
}

/* fg_json_id - a positive integer member, or 0 */
static long long fg_json_id(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return 0;
	return (long long)json_integer_value(v);
}

/* fg_discourse_is_held - Discourse's answer for a post put into the
   review queue: {"action": "enqueued", "pending_post": {...}} */
static bool fg_discourse_is_held(json_t *root)
{
	json_t *action = json_object_get(root, "action");

	if (json_is_object(json_object_get(root, "pending_post")))
		return true;
	return json_is_string(action) &&
		strcmp(json_string_value(action), "enqueued") == 0;
}

/* fg_discourse_bad_credentials - the forum refused the API key, not
   the post: 401, or Discourse's 403 for an unknown key or username */
static bool fg_discourse_bad_credentials(long http_status, const char *reason)
{
	if (http_status == 401)
		return true;
	return http_status == 403 && reason != NULL &&
		strstr(reason, "API username or key") != NULL;
}

/* fg_discourse_classify - an HTTP answer of POST /posts.json */
int fg_discourse_classify(long http_status, const char *body, size_t size,
			  const char *retry_after, long long now,
			  struct fg_forum_answer *answer_r,
			  const char **error_r)
{
	json_t *root = NULL;
	const char *reason;
	int ret;

	memset(answer_r, 0, sizeof(*answer_r));
	answer_r->http_status = http_status;
	if (body != NULL && size > 0)
		root = json_loadb(body, size, 0, NULL);

	if (http_status >= 200 && http_status <= 299) {
		if (!json_is_object(root)) {
			*error_r = fg_errorf("forum answered HTTP %ld without "
					     "JSON; the post may exist",
					     http_status);
			ret = FG_FORUM_PERMANENT;
		} else if ((answer_r->post_id = fg_json_id(root, "id")) > 0 &&
			   (answer_r->topic_id =
			    fg_json_id(root, "topic_id")) > 0 &&
			   (answer_r->post_number =
			    fg_json_id(root, "post_number")) > 0) {
			ret = FG_FORUM_OK;
		} else if (fg_discourse_is_held(root)) {
			answer_r->post_id = answer_r->topic_id =
				answer_r->post_number = 0;
			/* NewPostResult's pending_post: the
			   ReviewableQueuedPost's id */
			long long id = fg_json_id(json_object_get(root,
						  "pending_post"), "id");

			if (id > 0)
				snprintf(answer_r->held_id,
					 sizeof(answer_r->held_id), "%lld",
					 id);
			*error_r = "the forum holds the post for review";
			ret = FG_FORUM_HELD;
		} else {
			answer_r->post_id = answer_r->topic_id =
				answer_r->post_number = 0;
			reason = fg_discourse_error_text(root, NULL, 0);
			*error_r = fg_errorf("forum answered HTTP %ld without a "
					     "post id%s%s", http_status,
					     reason != NULL ? ": " : "",
					     reason != NULL ? reason : "");
			ret = FG_FORUM_PERMANENT;
		}
		json_decref(root);
		return ret;
	}

	reason = fg_discourse_error_text(root, body, size);
	{
		/* 429: {"extras": {"wait_seconds": N}} beside Retry-After
		   (ApplicationController's rescue of
		   RateLimiter::LimitExceeded) */
		json_t *wait = json_object_get(json_object_get(root, "extras"),
					       "wait_seconds");
		unsigned int wait_s = json_is_integer(wait) &&
			json_integer_value(wait) > 0 &&
			json_integer_value(wait) < 86400 * 365 ?
			(unsigned int)json_integer_value(wait) : 0;

		ret = fg_forum_classify_refusal(
			http_status, reason, retry_after, wait_s,
			fg_discourse_bad_credentials(http_status, reason),
			now, answer_r);
	}
	*error_r = fg_errorf("forum answered HTTP %ld%s%s%s", http_status,
			     reason != NULL ? ": " : "",
			     reason != NULL ? reason : "",
			     http_status >= 300 && http_status <= 399 ?
			     " (a redirect: check forum_url)" : "");
	json_decref(root);
	return ret;
}

/* fg_discourse_perform - one request: method and path under the base
   URL, a JSON body, a multipart body or none, as author (NULL: the
   configured user). 0: an answer came (*status_r, d->answer; when it
   was too large d->answer_too_large is set); -1: no answer, *error_r
   set. */
static int fg_discourse_perform(struct fg_discourse *d, const char *method,
				const char *path, const char *json,
				curl_mime *mime, const char *author,
				long *status_r, const char **error_r)
{
	struct curl_slist *headers = NULL;
	char *url;
	CURLcode code;
	long status = 0;

	if (author != NULL && *author != '\0' &&
	    strcmp(author, d->api_username) != 0) {
		if (!fg_discourse_text_ok(author)) {
			*error_r = "the author's forum username is not a "
				"single line";
			return -1;
		}
		/* the same headers with another Api-Username */
		struct fg_discourse tmp = { .headers = NULL };
		fg_discourse_header_add(&tmp, "Api-Key", d->api_key);
		fg_discourse_header_add(&tmp, "Api-Username", author);
		if (mime == NULL)
			fg_discourse_header_add(&tmp, "Content-Type",
						"application/json");
		fg_discourse_header_add(&tmp, "Accept", "application/json");
		fg_discourse_header_add(&tmp, "Expect", "");
		headers = tmp.headers;
	} else if (mime != NULL) {
		struct fg_discourse tmp = { .headers = NULL };
		fg_discourse_header_add(&tmp, "Api-Key", d->api_key);
		fg_discourse_header_add(&tmp, "Api-Username",
					d->api_username);
		fg_discourse_header_add(&tmp, "Accept", "application/json");
		fg_discourse_header_add(&tmp, "Expect", "");
		headers = tmp.headers;
	}
	url = fg_xasprintf("%s%s", d->url, path);
	fg_buf_free(&d->answer);
	d->answer_too_large = false;
	free(d->retry_after);
	d->retry_after = NULL;
	free(d->location);
	d->location = NULL;
	d->errbuf[0] = '\0';

	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER,
			 headers != NULL ? headers : d->headers);
	if (mime != NULL) {
		curl_easy_setopt(d->curl, CURLOPT_MIMEPOST, mime);
	} else if (json != NULL) {
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(json));
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, json);
	} else {
		curl_easy_setopt(d->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, json != NULL || mime != NULL ?
				"POST" : "GET") == 0 ? NULL : method);
	code = curl_easy_perform(d->curl);
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	/* the handle must not keep pointing at freed memory */
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(d->curl, CURLOPT_MIMEPOST, NULL);
	curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers);
	curl_slist_free_all(headers);
	free(url);

	*status_r = status;
	if (code == CURLE_OK || (code == CURLE_WRITE_ERROR &&
				 d->answer_too_large && status > 0))
		return 0;
	*error_r = fg_errorf("forum request to %s failed: %s", d->shown_url,
			     d->errbuf[0] != '\0' ? d->errbuf :
			     curl_easy_strerror(code));
	fg_buf_free(&d->answer);
	return -1;
}

/* fg_discourse_post - POST /posts.json with a JSON body, then classify */
static int fg_discourse_post(struct fg_discourse *d, json_t *body,
			     const char *author,
			     struct fg_forum_answer *answer_r,
			     const char **error_r)
{
	char *json;
	long status = 0;
	int ret;

	json = json_dumps(body, JSON_COMPACT);
	if (json == NULL) {
		*error_r = "cannot encode the post as JSON";
		return FG_FORUM_PERMANENT;
	}
	ret = fg_discourse_perform(d, "POST", "/posts.json", json, NULL,
				   author, &status, error_r);
	free(json);
	memset(answer_r, 0, sizeof(*answer_r));
	if (ret < 0)
		return FG_FORUM_TRANSIENT;
	if (d->answer_too_large) {
		answer_r->http_status = status;
		fg_buf_free(&d->answer);
		if (status >= 200 && status <= 299) {
			*error_r = fg_errorf("forum answer is larger than %zu "
					     "bytes; the post may exist",
					     d->max_answer);
			return FG_FORUM_PERMANENT;
		}
		return fg_discourse_classify(status, NULL, 0, d->retry_after,
					     (long long)time(NULL), answer_r,
					     error_r);
	}
	ret = fg_discourse_classify(status, d->answer.s, d->answer.len,
				    d->retry_after, (long long)time(NULL),
				    answer_r, error_r);
	fg_buf_free(&d->answer);
	return ret;
}

/* fg_discourse_text - a JSON string, refusing invalid UTF-8 */
static json_t *fg_discourse_text(const char *what, const char *s,
				 const char **error_r)
{
	json_t *v = json_string(s != NULL ? s : "");

	if (v == NULL)
		*error_r = fg_errorf("the %s is not valid UTF-8", what);
	return v;
}

/* fg_discourse_create_topic - {title, raw, category} */
static int fg_discourse_create_topic(struct fg_forum *forum,
				     const char *title, const char *raw,
				     long long category,
				     struct fg_forum_answer *answer_r,
				     const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	json_t *body, *t, *r;
	int ret;

	if ((t = fg_discourse_text("title", title, error_r)) == NULL)
		return FG_FORUM_PERMANENT;
	if ((r = fg_discourse_text("text", raw, error_r)) == NULL) {
		json_decref(t);
		return FG_FORUM_PERMANENT;
	}
	body = json_object();
	json_object_set_new(body, "title", t);
	json_object_set_new(body, "raw", r);
	if (category > 0)
		json_object_set_new(body, "category", json_integer(category));
	ret = fg_discourse_post(d, body, NULL, answer_r, error_r);
	json_decref(body);
	return ret;
}

/* fg_discourse_create_reply - {topic_id, raw, reply_to_post_number} */
static int fg_discourse_create_reply(struct fg_forum *forum,
				     long long topic_id,
				     long long reply_to_post_number,
				     const char *raw,
				     struct fg_forum_answer *answer_r,
				     const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	json_t *body, *r;
	int ret;

	if (topic_id <= 0) {
		*error_r = fg_errorf("invalid topic id %lld", topic_id);
		return FG_FORUM_PERMANENT;
	}
	if ((r = fg_discourse_text("text", raw, error_r)) == NULL)
		return FG_FORUM_PERMANENT;
	body = json_object();
	json_object_set_new(body, "topic_id", json_integer(topic_id));
	json_object_set_new(body, "raw", r);
	if (reply_to_post_number > 0)
		json_object_set_new(body, "reply_to_post_number",
				    json_integer(reply_to_post_number));
	ret = fg_discourse_post(d, body, NULL, answer_r, error_r);
	json_decref(body);
	return ret;
}

/* fg_discourse_post_url - /t/TOPIC for a topic, /t/TOPIC/N for a post */
static char *fg_discourse_post_url(struct fg_forum *forum, long long topic_id,
				   long long post_number)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;

	if (post_number <= 1)
		return fg_xasprintf("%s/t/%lld", d->shown_url, topic_id);
	return fg_xasprintf("%s/t/%lld/%lld", d->shown_url, topic_id,
			    post_number);
}

/* fg_discourse_create - a topic or a reply, as req->author */
static int fg_discourse_create(struct fg_forum *forum,
			       const struct fg_forum_request *req,
			       struct fg_forum_answer *answer_r,
			       const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	json_t *body, *t = NULL, *r;
	int ret;

	if (req->topic_id <= 0 &&
	    (t = fg_discourse_text("title", req->title, error_r)) == NULL)
		return FG_FORUM_PERMANENT;
	if ((r = fg_discourse_text("text", req->raw, error_r)) == NULL) {
		json_decref(t);
		return FG_FORUM_PERMANENT;
	}
	body = json_object();
	if (req->topic_id > 0) {
		json_object_set_new(body, "topic_id",
				    json_integer(req->topic_id));
		json_object_set_new(body, "raw", r);
		if (req->reply_to_post_number > 0)
			json_object_set_new(body, "reply_to_post_number",
				json_integer(req->reply_to_post_number));
	} else {
		json_object_set_new(body, "title", t);
		json_object_set_new(body, "raw", r);
		if (req->category > 0)
			json_object_set_new(body, "category",
					    json_integer(req->category));
		/* only topics carry an external_id in Discourse */
		if (req->external_id != NULL && *req->external_id != '\0')
			json_object_set_new(body, "external_id",
					    json_string(req->external_id));
	}
	ret = fg_discourse_post(d, body, req->author, answer_r, error_r);
	json_decref(body);
	return ret;
}

/* fg_discourse_get - GET a JSON document; 1 with *root_r, 0 on 404,
   else a failure class */
static int fg_discourse_get(struct fg_discourse *d, const char *path,
			    const char *author, json_t **root_r,
			    struct fg_forum_answer *answer_r,
			    const char **error_r)
{
	long status = 0;
	int ret;

	*root_r = NULL;
	if (fg_discourse_perform(d, "GET", path, NULL, NULL, author, &status,
				 error_r) < 0)
		return FG_FORUM_TRANSIENT;
	if (status == 404) {
		fg_buf_free(&d->answer);
		return 0;
	}
	if (status >= 200 && status <= 299 && !d->answer_too_large) {
		*root_r = json_loadb(d->answer.s != NULL ? d->answer.s : "",
				     d->answer.len, 0, NULL);
		fg_buf_free(&d->answer);
		if (!json_is_object(*root_r)) {
			json_decref(*root_r);
			*root_r = NULL;
			*error_r = fg_errorf("GET %s: the answer is not a "
					     "JSON object", path);
			return FG_FORUM_PERMANENT;
		}
		return 1;
	}
	if (status >= 300 && status <= 399) {
		fg_buf_free(&d->answer);
		return 2;	/* a redirect: d->location */
	}
	/* a failure: its class and the wait the forum asked for */
	ret = fg_discourse_classify(status, d->answer_too_large ? NULL :
				    d->answer.s, d->answer_too_large ? 0 :
				    d->answer.len, d->retry_after,
				    (long long)time(NULL), answer_r, error_r);
	fg_buf_free(&d->answer);
	return ret == FG_FORUM_OK ? FG_FORUM_PERMANENT : ret;
}

/* fg_discourse_find_topic - GET /t/external_id/ID.json redirects to
   /t/SLUG/TOPIC.json; the topic's first post is the one we made */
static int fg_discourse_find_topic(struct fg_discourse *d,
				   const struct fg_forum_request *req,
				   struct fg_forum_answer *answer_r,
				   const char **error_r)
{
	char *path;
	const char *p, *end;
	long long topic = 0;
	json_t *root, *posts, *first;
	int ret;

	for (p = req->external_id; *p != '\0'; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
			return 0;	/* not one we could have set */
	}
	path = fg_xasprintf("/t/external_id/%s.json", req->external_id);
	ret = fg_discourse_get(d, path, req->author, &root, answer_r,
			       error_r);
	free(path);
	if (ret == 1) {
		/* a forum that answers directly instead of redirecting */
		topic = fg_json_id(root, "id");
	} else if (ret == 2 && d->location != NULL) {
		/* ".../t/slug/123.json" or ".../t/123.json" */
		end = strstr(d->location, ".json");
		if (end == NULL)
			end = d->location + strlen(d->location);
		for (p = end; p > d->location && isdigit((unsigned char)p[-1]);
		     p--)
			;
		for (; p < end; p++)
			topic = topic * 10 + (*p - '0');
	} else if (ret <= 0) {
		return ret;
	}
	json_decref(root);
	if (topic <= 0 || topic > (1LL << 53))
		return 0;
	path = fg_xasprintf("/t/%lld.json", topic);
	ret = fg_discourse_get(d, path, req->author, &root, answer_r,
			       error_r);
	free(path);
	if (ret != 1)
		return ret == 2 ? FG_FORUM_PERMANENT : ret;
	posts = json_object_get(json_object_get(root, "post_stream"), "posts");
	first = json_array_get(posts, 0);
	answer_r->topic_id = topic;
	answer_r->post_id = fg_json_id(first, "id");
	answer_r->post_number = 1;
	answer_r->http_status = 200;
	json_decref(root);
	return answer_r->post_id > 0 ? 1 : 0;
}

/* Newest posts of a topic compared with a reply that may exist. */
#define FG_DISCOURSE_FIND_DEPTH 10

/* fg_discourse_find_reply - the newest posts of the topic: one by the
   same user with the same text is the reply that timed out */
static int fg_discourse_find_reply(struct fg_discourse *d,
				   const struct fg_forum_request *req,
				   struct fg_forum_answer *answer_r,
				   const char **error_r)
{
	const char *user = req->author != NULL && *req->author != '\0' ?
		req->author : d->api_username;
	json_t *root, *stream, *post;
	char *path;
	size_t n;
	int ret, found = 0;

	path = fg_xasprintf("/t/%lld.json", req->topic_id);
	ret = fg_discourse_get(d, path, req->author, &root, answer_r,
			       error_r);
	free(path);
	if (ret != 1)
		return ret == 2 ? FG_FORUM_PERMANENT : ret;
	stream = json_object_get(json_object_get(root, "post_stream"),
				 "stream");
	n = json_array_size(stream);
	for (size_t i = 0; i < n && i < FG_DISCOURSE_FIND_DEPTH && !found;
	     i++) {
		json_t *id = json_array_get(stream, n - 1 - i);
		if (!json_is_integer(id))
			continue;
		path = fg_xasprintf("/posts/%lld.json",
				    (long long)json_integer_value(id));
		ret = fg_discourse_get(d, path, req->author, &post, answer_r,
				       error_r);
		free(path);
		if (ret == 0 || ret == 2)
			continue;
		if (ret < 0) {
			json_decref(root);
			return ret;
		}
		const char *raw = json_string_value(
			json_object_get(post, "raw"));
		const char *name = json_string_value(
			json_object_get(post, "username"));
		if (raw != NULL && name != NULL &&
		    strcasecmp(name, user) == 0 &&
		    fg_forum_raw_same(raw, req->raw)) {
			answer_r->post_id = fg_json_id(post, "id");
			answer_r->topic_id = req->topic_id;
			answer_r->post_number = fg_json_id(post,
							   "post_number");
			answer_r->http_status = 200;
			found = answer_r->post_id > 0 &&
				answer_r->post_number > 0;
		}
		json_decref(post);
	}
	json_decref(root);
	return found;
}

/* fg_discourse_find - see fg_forum_find() */
static int fg_discourse_find(struct fg_forum *forum,
			     const struct fg_forum_request *req,
			     struct fg_forum_answer *answer_r,
			     const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;

	if (req->topic_id > 0)
		return fg_discourse_find_reply(d, req, answer_r, error_r);
	if (req->external_id == NULL || *req->external_id == '\0')
		return 0;
	return fg_discourse_find_topic(d, req, answer_r, error_r);
}

/* fg_discourse_markdown_name - a file name safe inside [...] */
static char *fg_discourse_markdown_name(const char *name)
{
	struct fg_buf b = { 0 };

	for (const char *p = name; *p != '\0'; p++) {
		if (strchr("[]|()\\*_`<>", *p) != NULL)
			fg_buf_putc(&b, '\\');
		fg_buf_putc(&b, (unsigned char)*p < 0x20 ? ' ' : *p);
	}
	return fg_buf_steal(&b);
}

/* fg_discourse_upload - POST /uploads.json (multipart/form-data,
   upload_type composer, synchronous) */
static int fg_discourse_upload(struct fg_forum *forum,
			       const struct fg_forum_file *file,
			       struct fg_forum_upload *upload_r,
			       const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	struct fg_forum_answer answer;
	curl_mime *mime;
	curl_mimepart *part;
	json_t *root;
	const char *url;
	char *name;
	long status = 0;
	int ret;

	if (!fg_discourse_text_ok(file->name) ||
	    !fg_discourse_text_ok(file->type)) {
		*error_r = "the file name or type is not a single line";
		return FG_FORUM_PERMANENT;
	}
	mime = curl_mime_init(d->curl);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "upload_type");
	curl_mime_data(part, "composer", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "synchronous");
	curl_mime_data(part, "true", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_data(part, (const char *)file->data, file->size);
	curl_mime_filename(part, file->name);
	curl_mime_type(part, file->type);
	ret = fg_discourse_perform(d, "POST", "/uploads.json", NULL, mime,
				   file->author, &status, error_r);
	curl_mime_free(mime);
	if (ret < 0)
		return FG_FORUM_TRANSIENT;
	if (status < 200 || status > 299 || d->answer_too_large) {
		ret = fg_discourse_classify(status, d->answer_too_large ? NULL :
					    d->answer.s, d->answer_too_large ?
					    0 : d->answer.len, d->retry_after,
					    (long long)time(NULL), &answer,
					    error_r);
		fg_buf_free(&d->answer);
		return ret == FG_FORUM_OK ? FG_FORUM_PERMANENT : ret;
	}
	root = json_loadb(d->answer.s != NULL ? d->answer.s : "",
			  d->answer.len, 0, NULL);
	fg_buf_free(&d->answer);
	url = json_string_value(json_object_get(root, "short_url"));
	if (url == NULL || *url == '\0')
		url = json_string_value(json_object_get(root, "url"));
	if (url == NULL || *url == '\0' || !fg_discourse_text_ok(url)) {
		json_decref(root);
		*error_r = "the forum's upload answer has no url";
		return FG_FORUM_PERMANENT;
	}
	name = fg_discourse_markdown_name(file->name);
	upload_r->url = fg_xstrdup(url);
	if (strncmp(file->type, "image/", 6) == 0)
		upload_r->markdown = fg_xasprintf("![%s](%s)", name, url);
	else
		upload_r->markdown = fg_xasprintf("[%s|attachment](%s)", name,
						  url);
	free(name);
	json_decref(root);
	return FG_FORUM_OK;
}

/* fg_discourse_get_post - GET /posts/ID.json: FG_FORUM_OK with
   *root_r, or a failure class (no such post: permanent) */
static int fg_discourse_get_post(struct fg_discourse *d, long long post_id,
				 json_t **root_r,
				 struct fg_forum_answer *answer_r,
				 const char **error_r)
{
	char *path = fg_xasprintf("/posts/%lld.json", post_id);
	int ret = fg_discourse_get(d, path, NULL, root_r, answer_r, error_r);

	free(path);
	if (ret == 0 || ret == 2) {
		*error_r = fg_errorf("the forum has no post %lld", post_id);
		return FG_FORUM_PERMANENT;
	}
	return ret == 1 ? FG_FORUM_OK : ret;
}

/* fg_discourse_post_author - GET /posts/ID.json: its username */
static int fg_discourse_post_author(struct fg_forum *forum, long long post_id,
				    char **author_r,
				    struct fg_forum_answer *answer_r,
				    const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	const char *username;
	json_t *root;
	int ret = fg_discourse_get_post(d, post_id, &root, answer_r, error_r);

	if (ret != FG_FORUM_OK)
		return ret;
	username = json_string_value(json_object_get(root, "username"));
	if (username == NULL || !fg_discourse_text_ok(username) ||
	    *username == '\0') {
		json_decref(root);
		*error_r = fg_errorf("post %lld: the answer names no username",
				     post_id);
		return FG_FORUM_PERMANENT;
	}
	*author_r = fg_xstrdup(username);
	json_decref(root);
	return FG_FORUM_OK;
}

/* fg_discourse_post_raw - GET /posts/ID.json: its raw (Discourse's
   posts#show serializes the post with raw) */
static int fg_discourse_post_raw(struct fg_forum *forum, long long post_id,
				 char **raw_r,
				 struct fg_forum_answer *answer_r,
				 const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	json_t *root, *raw;
	int ret = fg_discourse_get_post(d, post_id, &root, answer_r, error_r);

	if (ret != FG_FORUM_OK)
		return ret;
	raw = json_object_get(root, "raw");
	if (!json_is_string(raw) ||
	    strlen(json_string_value(raw)) != json_string_length(raw)) {
		json_decref(root);
		*error_r = fg_errorf("post %lld: the answer has no raw text",
				     post_id);
		return FG_FORUM_PERMANENT;
	}
	*raw_r = fg_xstrdup(json_string_value(raw));
	json_decref(root);
	return FG_FORUM_OK;
}

/* fg_discourse_private_message - POST /posts.json {title, raw,
   archetype: private_message, target_recipients} as the bridge's user */
static int fg_discourse_private_message(struct fg_forum *forum,
					const char *recipient,
					const char *title, const char *raw,
					struct fg_forum_answer *answer_r,
					const char **error_r)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;
	json_t *body, *t, *r, *to;
	int ret;

	/* one username: a comma would name more recipients */
	if (!fg_discourse_text_ok(recipient) || *recipient == '\0' ||
	    strchr(recipient, ',') != NULL) {
		*error_r = "the recipient is not one forum username";
		return FG_FORUM_PERMANENT;
	}
	if ((t = fg_discourse_text("title", title, error_r)) == NULL)
		return FG_FORUM_PERMANENT;
	if ((r = fg_discourse_text("text", raw, error_r)) == NULL) {
		json_decref(t);
		return FG_FORUM_PERMANENT;
	}
	if ((to = fg_discourse_text("recipient", recipient, error_r)) == NULL) {
		json_decref(t);
		json_decref(r);
		return FG_FORUM_PERMANENT;
	}
	body = json_object();
	json_object_set_new(body, "title", t);
	json_object_set_new(body, "raw", r);
	json_object_set_new(body, "archetype", json_string("private_message"));
	json_object_set_new(body, "target_recipients", to);
	ret = fg_discourse_post(d, body, NULL, answer_r, error_r);
	json_decref(body);
	return ret;
}

const struct fg_forum_vfuncs fg_forum_discourse = {
	.name = "discourse",
	.init = fg_discourse_init,
	.deinit = fg_discourse_deinit,
	.create_topic = fg_discourse_create_topic,
	.create_reply = fg_discourse_create_reply,
	.post_url = fg_discourse_post_url,
	.create = fg_discourse_create,
	.find = fg_discourse_find,
	.upload = fg_discourse_upload,
	.post_author = fg_discourse_post_author,
	.post_raw = fg_discourse_post_raw,
	.private_message = fg_discourse_private_message,
	.default_limits = {
		.max_title = FG_DISCOURSE_MAX_TITLE_DEFAULT,
		.min_title = FG_DISCOURSE_MIN_TITLE_DEFAULT,
		.max_post = FG_DISCOURSE_MAX_POST_DEFAULT,
		.min_post = FG_DISCOURSE_MIN_POST_DEFAULT,
		.utf16 = false,		/* Ruby String#length */
	},
};
