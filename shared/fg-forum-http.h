#ifndef FG_FORUM_HTTP_H
#define FG_FORUM_HTTP_H
/*
 * NAME
 *	fg-forum-http 3 - the HTTP plumbing a forum driver needs
 * SYNOPSIS
 *	#include "fg-forum-http.h"
 *
 *	struct fg_forum_http http;
 *
 *	fg_forum_http_init(&http, forum, set, &error);
 *	fg_forum_http_reset(&http);
 *	... curl_easy_perform(http.curl) ...
 *	reason = fg_forum_http_reason(&b);
 *	fg_forum_http_deinit(&http);
 * DESCRIPTION
 *	One curl handle set up as every driver wants it: the settings'
 *	timeout for the whole request and for the connect, no redirects
 *	followed, only http and https, the answer kept up to the
 *	settings' max_answer_size (past it the transfer stops and
 *	overflow is set), the last answer's Retry-After kept, and the
 *	settings' progress function called (fg_forum_progress_init()).
 * DIAGNOSTICS
 *	fg_forum_http_init() returns -1 with *error_r when curl cannot
 *	make a handle.
 */
#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>
#include "fg-common.h"
#include "fg-forum.h"

struct fg_forum_http {
	CURL *curl;
	size_t max_answer;
	char errbuf[CURL_ERROR_SIZE];
	struct fg_buf body;	/* the answer being read */
	bool overflow;		/* the answer was larger than max_answer */
	char *retry_after;	/* the Retry-After header, or NULL */
};

/* fg_forum_http_init - the handle, with the settings' limits */
int fg_forum_http_init(struct fg_forum_http *http, struct fg_forum *forum,
		       const struct fg_forum_settings *set,
		       const char **error_r);
/* fg_forum_http_reset - forget the last answer before a request */
void fg_forum_http_reset(struct fg_forum_http *http);
/* fg_forum_http_deinit - close the handle and free the answer */
void fg_forum_http_deinit(struct fg_forum_http *http);
/* fg_forum_http_reason - b made one log line: control characters
   blanked, cut at max bytes on a character boundary; returns the text
   from the per-thread error ring (NULL for an empty b) and frees b */
const char *fg_forum_http_reason(struct fg_buf *b, size_t max);

#endif
