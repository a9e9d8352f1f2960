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
 *	401, 408, 429	transient: the credentials, a slow request or a
 *			rate limit are not this post's fault. 429 takes
 *			Retry-After, or the body's extras.wait_seconds.
 *	403 bad key	transient too: Discourse's 403 "The API username or
 *			key is invalid" (a rotated key must stop the
 *			queue, not empty it into the dead-letter stream).
 *	3xx		transient: forum_url points at a redirect.
 *	5xx		transient, with Retry-After when given.
 *	other 4xx	permanent, with the forum's {"errors": [...]} text.
 *	no answer	transient (timeout, refused connection, TLS, DNS).
 * BUGS
 *	A request that timed out after the forum stored the post is sent
 *	again; Discourse then refuses the repeat as too similar, and the
 *	record ends in the dead-letter stream although the post exists.
 */
#include "forumgate-config.h"
#include "fg-forum.h"
#include "fg-common.h"

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
	unsigned int timeout_ms;
	size_t max_answer;
	char errbuf[CURL_ERROR_SIZE];

	/* the request in progress */
	struct fg_buf answer;
	bool answer_too_large;
	char *retry_after;
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

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new status line: 100 Continue's headers do not count */
		free(d->retry_after);
		d->retry_after = NULL;
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
	free(d->url);
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
	if (http_status == 429 || http_status == 408 ||
	    fg_discourse_bad_credentials(http_status, reason) ||
	    (http_status >= 300 && http_status <= 399) ||
	    (http_status >= 500 && http_status <= 599)) {
		answer_r->retry_after_ms =
			fg_forum_parse_retry_after(retry_after, now);
		if (answer_r->retry_after_ms == 0 && http_status == 429 &&
		    json_is_object(root)) {
			/* Discourse: {"extras": {"wait_seconds": N}} */
			json_t *wait = json_object_get(
				json_object_get(root, "extras"),
				"wait_seconds");
			if (json_is_integer(wait) &&
			    json_integer_value(wait) > 0) {
				char s[32];
				snprintf(s, sizeof(s), "%lld",
					 (long long)json_integer_value(wait));
				answer_r->retry_after_ms =
					fg_forum_parse_retry_after(s, now);
			}
		}
		ret = FG_FORUM_TRANSIENT;
	} else {
		ret = FG_FORUM_PERMANENT;
	}
	*error_r = fg_errorf("forum answered HTTP %ld%s%s%s", http_status,
			     reason != NULL ? ": " : "",
			     reason != NULL ? reason : "",
			     http_status >= 300 && http_status <= 399 ?
			     " (a redirect: check forum_url)" : "");
	json_decref(root);
	return ret;
}

/* fg_discourse_post - POST /posts.json with a JSON body, then classify */
static int fg_discourse_post(struct fg_discourse *d, json_t *body,
			     struct fg_forum_answer *answer_r,
			     const char **error_r)
{
	char *url, *json;
	CURLcode code;
	long status = 0;
	int ret;

	json = json_dumps(body, JSON_COMPACT);
	if (json == NULL) {
		*error_r = "cannot encode the post as JSON";
		return FG_FORUM_PERMANENT;
	}
	url = fg_xasprintf("%s/posts.json", d->url);
	fg_buf_free(&d->answer);
	d->answer_too_large = false;
	free(d->retry_after);
	d->retry_after = NULL;
	d->errbuf[0] = '\0';

	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(json));
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, json);
	code = curl_easy_perform(d->curl);
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	/* the handle must not keep pointing at freed memory */
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, NULL);
	free(json);
	free(url);

	if (code == CURLE_OK || (code == CURLE_WRITE_ERROR &&
				 d->answer_too_large && status > 0)) {
		if (code != CURLE_OK && status >= 200 && status <= 299) {
			memset(answer_r, 0, sizeof(*answer_r));
			answer_r->http_status = status;
			*error_r = fg_errorf("forum answer is larger than %zu "
					     "bytes; the post may exist",
					     d->max_answer);
			return FG_FORUM_PERMANENT;
		}
		ret = fg_discourse_classify(status,
			code == CURLE_OK ? d->answer.s : NULL,
			code == CURLE_OK ? d->answer.len : 0,
			d->retry_after, (long long)time(NULL),
			answer_r, error_r);
		fg_buf_free(&d->answer);
		return ret;
	}
	memset(answer_r, 0, sizeof(*answer_r));
	*error_r = fg_errorf("forum request to %s failed: %s", d->url,
			     d->errbuf[0] != '\0' ? d->errbuf :
			     curl_easy_strerror(code));
	fg_buf_free(&d->answer);
	return FG_FORUM_TRANSIENT;
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
	ret = fg_discourse_post(d, body, answer_r, error_r);
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
	ret = fg_discourse_post(d, body, answer_r, error_r);
	json_decref(body);
	return ret;
}

/* fg_discourse_post_url - /t/TOPIC for a topic, /t/TOPIC/N for a post */
static char *fg_discourse_post_url(struct fg_forum *forum, long long topic_id,
				   long long post_number)
{
	struct fg_discourse *d = (struct fg_discourse *)forum;

	if (post_number <= 1)
		return fg_xasprintf("%s/t/%lld", d->url, topic_id);
	return fg_xasprintf("%s/t/%lld/%lld", d->url, topic_id, post_number);
}

const struct fg_forum_vfuncs fg_forum_discourse = {
	.name = "discourse",
	.init = fg_discourse_init,
	.deinit = fg_discourse_deinit,
	.create_topic = fg_discourse_create_topic,
	.create_reply = fg_discourse_create_reply,
	.post_url = fg_discourse_post_url,
};
