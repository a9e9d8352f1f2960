/*
 * NAME
 *	fg-forum-http 3 - the HTTP plumbing a forum driver needs
 * DESCRIPTION
 *	See fg-forum-http.h.
 */
#include "forumgate-config.h"
#include "fg-forum-http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fg_forum_http_on_data - keep the answer while it fits */
static size_t fg_forum_http_on_data(char *data, size_t size, size_t nmemb,
				    void *context)
{
	struct fg_forum_http *http = context;

	if (http->body.len + size * nmemb > http->max_answer) {
		http->overflow = true;
		return 0;
	}
	fg_buf_append(&http->body, data, size * nmemb);
	return size * nmemb;
}

/* fg_forum_http_on_header - Retry-After of the last status line's
   answer */
static size_t fg_forum_http_on_header(char *data, size_t size, size_t nmemb,
				      void *context)
{
	struct fg_forum_http *http = context;
	size_t n = size * nmemb, skip = strlen("Retry-After:");

	if (n > 5 && memcmp(data, "HTTP/", 5) == 0) {
		free(http->retry_after);
		http->retry_after = NULL;
	} else if (n > skip && strncasecmp(data, "Retry-After:", skip) == 0) {
		free(http->retry_after);
		http->retry_after = fg_str_trim(fg_xstrndup(data + skip,
							    n - skip));
	}
	return n;
}

/* fg_forum_http_init - see fg-forum-http.h */
int fg_forum_http_init(struct fg_forum_http *http, struct fg_forum *forum,
		       const struct fg_forum_settings *set,
		       const char **error_r)
{
	memset(http, 0, sizeof(*http));
	if ((http->curl = curl_easy_init()) == NULL) {
		*error_r = "curl_easy_init() failed";
		return -1;
	}
	http->max_answer = set->max_answer_size > 0 ? set->max_answer_size :
		FG_FORUM_DEFAULT_MAX_ANSWER;
	curl_easy_setopt(http->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(http->curl, CURLOPT_USERAGENT,
			 "forumgate/" PACKAGE_VERSION);
	curl_easy_setopt(http->curl, CURLOPT_TIMEOUT_MS,
			 (long)set->timeout_ms);
	curl_easy_setopt(http->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)set->timeout_ms);
	curl_easy_setopt(http->curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(http->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(http->curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(http->curl, CURLOPT_ERRORBUFFER, http->errbuf);
	curl_easy_setopt(http->curl, CURLOPT_WRITEFUNCTION,
			 fg_forum_http_on_data);
	curl_easy_setopt(http->curl, CURLOPT_WRITEDATA, http);
	curl_easy_setopt(http->curl, CURLOPT_HEADERFUNCTION,
			 fg_forum_http_on_header);
	curl_easy_setopt(http->curl, CURLOPT_HEADERDATA, http);
	fg_forum_progress_init(forum, http->curl);
	return 0;
}

/* fg_forum_http_reset - see fg-forum-http.h */
void fg_forum_http_reset(struct fg_forum_http *http)
{
	fg_buf_free(&http->body);
	http->overflow = false;
	free(http->retry_after);
	http->retry_after = NULL;
	http->errbuf[0] = '\0';
}

/* fg_forum_http_deinit - see fg-forum-http.h */
void fg_forum_http_deinit(struct fg_forum_http *http)
{
	if (http->curl != NULL)
		curl_easy_cleanup(http->curl);
	http->curl = NULL;
	fg_forum_http_reset(http);
}

/* fg_forum_http_reason - see fg-forum-http.h */
const char *fg_forum_http_reason(struct fg_buf *b, size_t max)
{
	const char *ret;

	if (b->len == 0) {
		fg_buf_free(b);
		return NULL;
	}
	for (size_t i = 0; i < b->len; i++) {
		if ((unsigned char)b->s[i] < 0x20 || b->s[i] == 0x7f)
			b->s[i] = ' ';
	}
	if (b->len > max) {
		b->len = max;
		while (b->len > 0 &&
		       ((unsigned char)b->s[b->len] & 0xc0) == 0x80)
			b->len--;
		b->s[b->len] = '\0';
	}
	ret = fg_errorf("%s", b->s);
	fg_buf_free(b);
	return ret;
}
