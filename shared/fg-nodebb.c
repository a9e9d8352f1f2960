/*
 * NAME
 *	fg-nodebb 3 - the NodeBB driver of fg-forum (Write API v3)
 * DESCRIPTION
 *	A topic is POST /api/v3/topics {cid, title, content}, a reply
 *	POST /api/v3/topics/TID {content, toPid}. Authentication is a
 *	master API token (Authorization: Bearer TOKEN); with a master
 *	token every request names the user it acts as in _uid, which is
 *	forum_api_username (a numeric uid) or the author's mapped uid.
 *
 *	Every answer is NodeBB's envelope {"status": {"code", "message"},
 *	"response": {...}}. A topic's answer carries tid and mainPid; a
 *	reply's pid, tid and index (0 is the topic's first post), so the
 *	post number the bridge keeps is index + 1.
 *
 *	Classification: 2xx with ids ok; 202 or {"queued": true} held for
 *	the post queue; the rest by fg_forum_classify_refusal() with
 *	status.message as the reason: 408, 429, 3xx and 5xx transient
 *	(Retry-After honoured); the posting delays NodeBB answers with
 *	400 (too-many-posts, too-many-posts-newbie, user-too-new,
 *	already-posting) transient with the seconds they state; 401 and
 *	403 transient as refused credentials; other 4xx permanent; no
 *	answer transient.
 *
 *	A private message is a chat: a room with the user (POST
 *	/api/v3/chats), then the message in it; a post's author is the
 *	uid of GET /api/v3/posts/PID (_uid in the query, as NodeBB takes
 *	it for a GET with a master token), and its Markdown the content
 *	of GET /api/v3/posts/PID/raw (webhook payloads carry the post
 *	rendered as HTML).
 *
 *	The Write API has no upload call for post attachments and no
 *	external ids: attachments are listed by name, and a request that
 *	timed out after NodeBB stored the post cannot be recognized (NodeBB
 *	refuses no duplicate, so the retry posts it a second time).
 */
#include "forumgate-config.h"
#include "fg-forum.h"
#include "fg-forum-http.h"
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

#define FG_NODEBB_REASON_MAX 400
/* NodeBB's maximumChatMessageLength default (install/data/defaults.json) */
#define FG_NODEBB_CHAT_MAX 1000

struct fg_nodebb {
	struct fg_forum forum;
	CURL *curl;
	struct curl_slist *headers;
	char *url;		/* base URL without a trailing slash */
	char *shown_url;	/* url less userinfo: links, messages */
	long long uid;		/* the bridge's own user */
	size_t max_answer;
	char errbuf[CURL_ERROR_SIZE];

	struct fg_buf body;	/* the answer being read */
	bool overflow;
	char *retry_after;
};

/* fg_nodebb_on_data - keep the answer while it fits */
static size_t fg_nodebb_on_data(char *data, size_t size, size_t nmemb,
				void *context)
{
	struct fg_nodebb *nb = context;

	if (nb->body.len + size * nmemb > nb->max_answer) {
		nb->overflow = true;
		return 0;
	}
	fg_buf_append(&nb->body, data, size * nmemb);
	return size * nmemb;
}

/* fg_nodebb_on_header - Retry-After of the last status line's answer */
static size_t fg_nodebb_on_header(char *data, size_t size, size_t nmemb,
				  void *context)
{
	struct fg_nodebb *nb = context;
	size_t n = size * nmemb, skip = strlen("Retry-After:");

	if (n > 5 && memcmp(data, "HTTP/", 5) == 0) {
		free(nb->retry_after);
		nb->retry_after = NULL;
	} else if (n > skip && strncasecmp(data, "Retry-After:", skip) == 0) {
		free(nb->retry_after);
		nb->retry_after = fg_str_trim(fg_xstrndup(data + skip,
							  n - skip));
	}
	return n;
}

/* fg_nodebb_parse_uid - a positive decimal user id */
static int fg_nodebb_parse_uid(const char *s, long long *uid_r)
{
	return s != NULL && fg_parse_llong(s, uid_r) == 0 && *uid_r > 0 ?
		0 : -1;
}

/* fg_nodebb_init - a handle with the token header */
static int fg_nodebb_init(const struct fg_forum_settings *set,
			  struct fg_forum **forum_r, const char **error_r)
{
	struct fg_nodebb *nb;
	long long uid;
	char *auth;

	if (set->api_key == NULL || *set->api_key == '\0' ||
	    strpbrk(set->api_key, "\r\n") != NULL) {
		*error_r = "forum_api_key (a NodeBB master token) is not set "
			"or not a single line";
		return -1;
	}
	if (fg_nodebb_parse_uid(set->api_username, &uid) < 0) {
		*error_r = "forum_api_username must be the numeric uid the "
			"bridge posts as with forum_type = nodebb";
		return -1;
	}
	nb = fg_xcalloc(1, sizeof(*nb));
	if ((nb->curl = curl_easy_init()) == NULL) {
		free(nb);
		*error_r = "curl_easy_init() failed";
		return -1;
	}
	nb->url = fg_xstrdup(set->url);
	for (size_t len = strlen(nb->url); len > 0 &&
	     nb->url[len - 1] == '/'; len--)
		nb->url[len - 1] = '\0';
	nb->shown_url = fg_url_redact(nb->url);
	nb->uid = uid;
	nb->max_answer = set->max_answer_size > 0 ? set->max_answer_size :
		FG_FORUM_DEFAULT_MAX_ANSWER;
	auth = fg_xasprintf("Authorization: Bearer %s", set->api_key);
	nb->headers = curl_slist_append(nb->headers, auth);
	free(auth);
	nb->headers = curl_slist_append(nb->headers,
					"Content-Type: application/json");
	nb->headers = curl_slist_append(nb->headers,
					"Accept: application/json");
	nb->headers = curl_slist_append(nb->headers, "Expect:");
	if (nb->headers == NULL)
		abort();

	curl_easy_setopt(nb->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(nb->curl, CURLOPT_HTTPHEADER, nb->headers);
	curl_easy_setopt(nb->curl, CURLOPT_USERAGENT,
			 "forumgate/" PACKAGE_VERSION);
	curl_easy_setopt(nb->curl, CURLOPT_TIMEOUT_MS, (long)set->timeout_ms);
	curl_easy_setopt(nb->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)set->timeout_ms);
	curl_easy_setopt(nb->curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(nb->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(nb->curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(nb->curl, CURLOPT_ERRORBUFFER, nb->errbuf);
	curl_easy_setopt(nb->curl, CURLOPT_WRITEFUNCTION, fg_nodebb_on_data);
	curl_easy_setopt(nb->curl, CURLOPT_WRITEDATA, nb);
	curl_easy_setopt(nb->curl, CURLOPT_HEADERFUNCTION,
			 fg_nodebb_on_header);
	curl_easy_setopt(nb->curl, CURLOPT_HEADERDATA, nb);
	fg_forum_progress_init(&nb->forum, nb->curl);
	*forum_r = &nb->forum;
	return 0;
}

/* fg_nodebb_deinit - close and free */
static void fg_nodebb_deinit(struct fg_forum *forum)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;

	curl_easy_cleanup(nb->curl);
	curl_slist_free_all(nb->headers);
	fg_buf_free(&nb->body);
	free(nb->retry_after);
	free(nb->url);
	free(nb->shown_url);
	free(nb);
}

/* fg_nodebb_number - a positive JSON number (NodeBB's ids are numbers,
   sometimes strings of digits), or 0 */
static long long fg_nodebb_number(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	long long n = 0;

	if (json_is_integer(v))
		n = (long long)json_integer_value(v);
	else if (json_is_real(v)) {
		double d = json_real_value(v);
		n = d >= 1 && d < 9007199254740992.0 ? (long long)d : 0;
	}
	else if (json_is_string(v) &&
		 fg_parse_llong(json_string_value(v), &n) < 0)
		n = 0;
	return n > 0 ? n : 0;
}

/* fg_nodebb_reason - status.message of the envelope, one short line */
static const char *fg_nodebb_reason(json_t *root, const char *body,
				    size_t size)
{
	json_t *status = json_object_get(root, "status");
	const char *msg = json_string_value(json_object_get(status, "message"));
	const char *code = json_string_value(json_object_get(status, "code"));
	struct fg_buf b = { 0 };

	if (msg != NULL && *msg != '\0')
		fg_buf_puts(&b, msg);
	else if (code != NULL && *code != '\0')
		fg_buf_puts(&b, code);
	else if (root == NULL && body != NULL && size > 0 && body[0] != '<')
		fg_buf_append(&b, body, size < 200 ? size : 200);
	return fg_forum_http_reason(&b, FG_NODEBB_REASON_MAX);
}

/* fg_nodebb_classify - see fg-forum.h */
int fg_nodebb_classify(long http_status, const char *body, size_t size,
		       const char *retry_after, long long now,
		       struct fg_forum_answer *answer_r,
		       const char **error_r)
{
	json_t *root = NULL, *resp;
	const char *reason;
	int ret;

	memset(answer_r, 0, sizeof(*answer_r));
	answer_r->http_status = http_status;
	if (body != NULL && size > 0)
		root = json_loadb(body, size, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	resp = json_object_get(root, "response");

	if (http_status >= 200 && http_status <= 299) {
		if (http_status == 202 ||
		    json_is_true(json_object_get(resp, "queued"))) {
			/* src/posts/queue.js addToQueue(): {id:
			   "TYPE-MS", type, queued: true, message} */
			json_t *id = json_object_get(resp, "id");

			if (json_is_string(id))
				snprintf(answer_r->held_id,
					 sizeof(answer_r->held_id), "%s",
					 json_string_value(id));
			*error_r = "the forum holds the post in its post queue";
			ret = FG_FORUM_HELD;
		} else if ((answer_r->topic_id =
			    fg_nodebb_number(resp, "tid")) > 0 &&
			   (answer_r->post_id = fg_nodebb_number(resp, "pid")) > 0) {
			/* a reply: index 0 is the topic's first post */
			json_t *index = json_object_get(resp, "index");
			double i = json_is_number(index) ?
				json_number_value(index) : -1;
			answer_r->post_number = i >= 0 && i < 1e15 ?
				(long long)i + 1 : 0;
			ret = answer_r->post_number > 0 ? FG_FORUM_OK :
				FG_FORUM_PERMANENT;
			if (ret != FG_FORUM_OK)
				*error_r = "forum answered without the post's "
					"index; the post exists";
		} else if (answer_r->topic_id > 0 &&
			   ((answer_r->post_id =
			     fg_nodebb_number(resp, "mainPid")) > 0 ||
			    (answer_r->post_id = fg_nodebb_number(
				    json_object_get(resp, "mainPost"),
				    "pid")) > 0)) {
			answer_r->post_number = 1;
			ret = FG_FORUM_OK;
		} else {
			answer_r->topic_id = answer_r->post_id = 0;
			*error_r = fg_errorf("forum answered HTTP %ld without "
					     "post ids; the post may exist",
					     http_status);
			ret = FG_FORUM_PERMANENT;
		}
		json_decref(root);
		return ret;
	}
	reason = fg_nodebb_reason(root, body, size);
	/* A wrong or revoked master token is no error to NodeBB: the
	   request goes on as a guest (src/middleware/user.js, authenticate:
	   no user from passport, next()), and posting as a guest is
	   refused with 403 [[error:no-privileges]] - the same answer as a
	   bridge account without the privilege to post in the category.
	   Either way only an administrator can help: a 403 stops the queue
	   (a mapped author's 403 is retried as the bridge user first, see
	   bridge-inbound). Rate limits and posting delays are 400s
	   (src/user/posts.js isReady()), with the wait in the message. */
	ret = fg_forum_classify_refusal(http_status, reason, retry_after, 0,
					true, now, answer_r);
	*error_r = fg_errorf("forum answered HTTP %ld%s%s", http_status,
			     reason != NULL ? ": " : "",
			     reason != NULL ? reason : "");
	json_decref(root);
	return ret;
}

/* fg_nodebb_perform - one request to PATH under /api/v3: POST of a JSON
   body, or GET when json is NULL; 0 an answer came (*status_r,
   nb->body, nb->overflow), -1 none (*error_r) */
static int fg_nodebb_perform(struct fg_nodebb *nb, const char *path,
			     const char *json, long *status_r,
			     const char **error_r)
{
	char *url = fg_xasprintf("%s/api/v3%s", nb->url, path);
	CURLcode code;
	long status = 0;

	fg_buf_free(&nb->body);
	nb->overflow = false;
	free(nb->retry_after);
	nb->retry_after = NULL;
	nb->errbuf[0] = '\0';
	curl_easy_setopt(nb->curl, CURLOPT_URL, url);
	if (json != NULL) {
		curl_easy_setopt(nb->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(json));
		curl_easy_setopt(nb->curl, CURLOPT_POSTFIELDS, json);
	} else {
		curl_easy_setopt(nb->curl, CURLOPT_HTTPGET, 1L);
	}
	code = curl_easy_perform(nb->curl);
	curl_easy_getinfo(nb->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(nb->curl, CURLOPT_POSTFIELDS, NULL);
	free(url);
	*status_r = status;
	if (code != CURLE_OK && !(nb->overflow && status > 0)) {
		*error_r = fg_errorf("forum request to %s failed: %s",
				     nb->shown_url,
				     nb->errbuf[0] != '\0' ? nb->errbuf :
				     curl_easy_strerror(code));
		fg_buf_free(&nb->body);
		return -1;
	}
	return 0;
}

/* fg_nodebb_send - POST a JSON body to PATH under /api/v3: a post */
static int fg_nodebb_send(struct fg_nodebb *nb, const char *path,
			  json_t *body, struct fg_forum_answer *answer_r,
			  const char **error_r)
{
	char *json = json_dumps(body, JSON_COMPACT);
	long status = 0;
	int ret;

	if (json == NULL) {
		*error_r = "cannot encode the post as JSON";
		return FG_FORUM_PERMANENT;
	}
	ret = fg_nodebb_perform(nb, path, json, &status, error_r);
	free(json);
	if (ret < 0) {
		ret = FG_FORUM_TRANSIENT;
	} else if (nb->overflow && status >= 200 && status <= 299) {
		answer_r->http_status = status;
		*error_r = fg_errorf("forum answer is larger than %zu bytes; "
				     "the post may exist", nb->max_answer);
		ret = FG_FORUM_PERMANENT;
	} else {
		ret = fg_nodebb_classify(status, nb->overflow ? NULL :
					 nb->body.s, nb->overflow ? 0 :
					 nb->body.len, nb->retry_after,
					 (long long)time(NULL), answer_r,
					 error_r);
	}
	fg_buf_free(&nb->body);
	return ret;
}

/* fg_nodebb_call - a request whose answer is not a post: FG_FORUM_OK
   with *root_r (the envelope; *resp_r its response object), or a
   failure class */
static int fg_nodebb_call(struct fg_nodebb *nb, const char *path,
			  json_t *body, json_t **root_r, json_t **resp_r,
			  struct fg_forum_answer *answer_r,
			  const char **error_r)
{
	char *json = NULL;
	long status = 0;
	int ret;

	*root_r = *resp_r = NULL;
	if (body != NULL && (json = json_dumps(body, JSON_COMPACT)) == NULL) {
		*error_r = "cannot encode the request as JSON";
		return FG_FORUM_PERMANENT;
	}
	ret = fg_nodebb_perform(nb, path, json, &status, error_r);
	free(json);
	if (ret < 0)
		return FG_FORUM_TRANSIENT;
	if (status >= 200 && status <= 299 && !nb->overflow) {
		*root_r = json_loadb(nb->body.s != NULL ? nb->body.s : "",
				     nb->body.len, 0, NULL);
		*resp_r = json_object_get(*root_r, "response");
		fg_buf_free(&nb->body);
		if (!json_is_object(*resp_r)) {
			json_decref(*root_r);
			*root_r = *resp_r = NULL;
			*error_r = fg_errorf("%s: the answer has no response "
					     "object", path);
			return FG_FORUM_PERMANENT;
		}
		return FG_FORUM_OK;
	}
	if (status >= 200 && status <= 299) {
		fg_buf_free(&nb->body);
		*error_r = fg_errorf("%s: the answer is larger than %zu bytes",
				     path, nb->max_answer);
		return FG_FORUM_PERMANENT;
	}
	ret = fg_nodebb_classify(status, nb->overflow ? NULL : nb->body.s,
				 nb->overflow ? 0 : nb->body.len,
				 nb->retry_after, (long long)time(NULL),
				 answer_r, error_r);
	fg_buf_free(&nb->body);
	return ret;
}

/* fg_nodebb_post_author - GET /api/v3/posts/PID: its uid */
static int fg_nodebb_post_author(struct fg_forum *forum, long long post_id,
				 char **author_r,
				 struct fg_forum_answer *answer_r,
				 const char **error_r)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;
	char *path = fg_xasprintf("/posts/%lld?_uid=%lld", post_id, nb->uid);
	json_t *root, *resp;
	long long uid;
	int ret = fg_nodebb_call(nb, path, NULL, &root, &resp, answer_r,
				 error_r);

	free(path);
	if (ret != FG_FORUM_OK)
		return ret;
	uid = fg_nodebb_number(resp, "uid");
	json_decref(root);
	if (uid <= 0) {
		*error_r = fg_errorf("post %lld: the answer names no uid",
				     post_id);
		return FG_FORUM_PERMANENT;
	}
	*author_r = fg_xasprintf("%lld", uid);
	return FG_FORUM_OK;
}

/* fg_nodebb_post_raw - GET /api/v3/posts/PID/raw: the post's Markdown
   (NodeBB's getRaw answers {content}: sourceContent or content as
   stored, unparsed; 404 when the post is gone or, deleted, hidden
   from the bridge's user). _uid in the query, as for post_author. */
static int fg_nodebb_post_raw(struct fg_forum *forum, long long post_id,
			      char **raw_r, struct fg_forum_answer *answer_r,
			      const char **error_r)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;
	char *path = fg_xasprintf("/posts/%lld/raw?_uid=%lld", post_id,
				  nb->uid);
	json_t *root, *resp, *content;
	int ret = fg_nodebb_call(nb, path, NULL, &root, &resp, answer_r,
				 error_r);

	free(path);
	if (ret != FG_FORUM_OK)
		return ret;
	content = json_object_get(resp, "content");
	if (!json_is_string(content) ||
	    strlen(json_string_value(content)) !=
	    json_string_length(content)) {
		json_decref(root);
		*error_r = fg_errorf("post %lld: the raw answer has no "
				     "content text", post_id);
		return FG_FORUM_PERMANENT;
	}
	*raw_r = fg_xstrdup(json_string_value(content));
	json_decref(root);
	return FG_FORUM_OK;
}

/* fg_nodebb_private_message - a chat room with the user
   (POST /api/v3/chats {uids}), then the message in it
   (POST /api/v3/chats/ROOM {message}); the title is the message's
   first line, as a chat has none. NodeBB's maximumChatMessageLength
   (default 1000) bounds the message. */
static int fg_nodebb_private_message(struct fg_forum *forum,
				     const char *recipient,
				     const char *title, const char *raw,
				     struct fg_forum_answer *answer_r,
				     const char **error_r)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;
	json_t *body, *root, *resp, *uids, *message;
	long long uid, room;
	char *path, *text;
	size_t len;
	int ret;

	if (fg_nodebb_parse_uid(recipient, &uid) < 0) {
		*error_r = fg_errorf("recipient '%s' is not a NodeBB uid",
				     recipient);
		return FG_FORUM_PERMANENT;
	}
	text = fg_xasprintf("**%s**\n\n%s", title, raw);
	len = strlen(text);
	if (len > FG_NODEBB_CHAT_MAX) {
		/* bytes bound the characters NodeBB counts; no cut
		   UTF-8 sequence */
		len = FG_NODEBB_CHAT_MAX;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		text[len] = '\0';
	}
	message = json_string(text);
	free(text);
	if (message == NULL) {
		*error_r = "the message is not valid UTF-8";
		return FG_FORUM_PERMANENT;
	}
	body = json_object();
	uids = json_array();
	json_array_append_new(uids, json_integer(uid));
	json_object_set_new(body, "uids", uids);
	json_object_set_new(body, "_uid", json_integer(nb->uid));
	ret = fg_nodebb_call(nb, "/chats", body, &root, &resp, answer_r,
			     error_r);
	json_decref(body);
	if (ret != FG_FORUM_OK) {
		json_decref(message);
		return ret;
	}
	room = fg_nodebb_number(resp, "roomId");
	json_decref(root);
	if (room <= 0) {
		json_decref(message);
		*error_r = "the forum made a chat room without a roomId";
		return FG_FORUM_PERMANENT;
	}
	body = json_object();
	json_object_set_new(body, "message", message);
	json_object_set_new(body, "_uid", json_integer(nb->uid));
	path = fg_xasprintf("/chats/%lld", room);
	ret = fg_nodebb_call(nb, path, body, &root, &resp, answer_r, error_r);
	free(path);
	json_decref(body);
	if (ret == FG_FORUM_OK)
		json_decref(root);
	return ret;
}

/* fg_nodebb_create - a topic or a reply as the author's uid */
static int fg_nodebb_create(struct fg_forum *forum,
			    const struct fg_forum_request *req,
			    struct fg_forum_answer *answer_r,
			    const char **error_r)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;
	json_t *body = json_object(), *content, *title = NULL;
	long long uid = nb->uid;
	char *path;
	int ret;

	if (req->author != NULL && *req->author != '\0' &&
	    fg_nodebb_parse_uid(req->author, &uid) < 0) {
		json_decref(body);
		*error_r = fg_errorf("author '%s' is not a NodeBB uid",
				     req->author);
		return FG_FORUM_PERMANENT;
	}
	content = json_string(req->raw != NULL ? req->raw : "");
	if (req->topic_id <= 0)
		title = json_string(req->title != NULL ? req->title : "");
	if (content == NULL || (req->topic_id <= 0 && title == NULL)) {
		json_decref(content);
		json_decref(title);
		json_decref(body);
		*error_r = "the title or text is not valid UTF-8";
		return FG_FORUM_PERMANENT;
	}
	json_object_set_new(body, "content", content);
	json_object_set_new(body, "_uid", json_integer(uid));
	if (req->topic_id > 0) {
		if (req->reply_to_post_id > 0)
			json_object_set_new(body, "toPid",
					    json_integer(req->reply_to_post_id));
		path = fg_xasprintf("/topics/%lld", req->topic_id);
	} else {
		/* cid is required: the forum's first category by default */
		json_object_set_new(body, "cid", json_integer(
			req->category > 0 ? req->category : 1));
		json_object_set_new(body, "title", title);
		path = fg_xstrdup("/topics");
	}
	ret = fg_nodebb_send(nb, path, body, answer_r, error_r);
	free(path);
	json_decref(body);
	return ret;
}

/* fg_nodebb_create_topic - the older call */
static int fg_nodebb_create_topic(struct fg_forum *forum, const char *title,
				  const char *raw, long long category,
				  struct fg_forum_answer *answer_r,
				  const char **error_r)
{
	struct fg_forum_request req = {
		.title = title, .raw = raw, .category = category,
	};

	return fg_nodebb_create(forum, &req, answer_r, error_r);
}

/* fg_nodebb_create_reply - the older call: no post id, so the reply
   answers the topic */
static int fg_nodebb_create_reply(struct fg_forum *forum, long long topic_id,
				  long long reply_to_post_number,
				  const char *raw,
				  struct fg_forum_answer *answer_r,
				  const char **error_r)
{
	struct fg_forum_request req = {
		.topic_id = topic_id, .raw = raw,
		.reply_to_post_number = reply_to_post_number,
	};

	if (topic_id <= 0) {
		*error_r = fg_errorf("invalid topic id %lld", topic_id);
		return FG_FORUM_PERMANENT;
	}
	return fg_nodebb_create(forum, &req, answer_r, error_r);
}

/* fg_nodebb_post_url - /topic/TID, or /topic/TID/-/N (NodeBB redirects
   to the right slug and keeps the post index) */
static char *fg_nodebb_post_url(struct fg_forum *forum, long long topic_id,
				long long post_number)
{
	struct fg_nodebb *nb = (struct fg_nodebb *)forum;

	if (post_number <= 1)
		return fg_xasprintf("%s/topic/%lld", nb->shown_url, topic_id);
	return fg_xasprintf("%s/topic/%lld/-/%lld", nb->shown_url, topic_id,
			    post_number);
}

const struct fg_forum_vfuncs fg_forum_nodebb = {
	.name = "nodebb",
	.init = fg_nodebb_init,
	.deinit = fg_nodebb_deinit,
	.create_topic = fg_nodebb_create_topic,
	.create_reply = fg_nodebb_create_reply,
	.post_url = fg_nodebb_post_url,
	.post_author = fg_nodebb_post_author,
	.post_raw = fg_nodebb_post_raw,
	.private_message = fg_nodebb_private_message,
	.create = fg_nodebb_create,
	.default_limits = {
		.max_title = FG_NODEBB_MAX_TITLE_DEFAULT,
		.min_title = FG_NODEBB_MIN_TITLE_DEFAULT,
		.max_post = FG_NODEBB_MAX_POST_DEFAULT,
		.min_post = FG_NODEBB_MIN_POST_DEFAULT,
		.utf16 = true,		/* JavaScript's String length */
	},
};
