/*
 * NAME
 *	bridge-unsub 3 - the one-click unsubscribe endpoint (RFC 8058)
 * DESCRIPTION
 *	Each copy the fan-out sends carries List-Unsubscribe:
 *	<list_unsubscribe_url/TOKEN> and List-Unsubscribe-Post:
 *	List-Unsubscribe=One-Click (bridge-dist.c). forumgated's HTTP
 *	listener (bridge-webhook.c) hands every request whose path is
 *	list_unsubscribe_url's path followed by "/TOKEN" to this module;
 *	a reverse proxy in front of forumgated keeps the path as it is
 *	(doc/list-mode.md, "One-click unsubscribe").
 *
 *	POST PATH/TOKEN with the body List-Unsubscribe=One-Click, as
 *	application/x-www-form-urlencoded or multipart/form-data (RFC
 *	8058 section 3.1; libmicrohttpd's post processor reads both):
 *	the token is verified (fg_listmsg_unsub_verify(): its MAC under
 *	secret, its expiry) and the recipient it names is removed from
 *	the list's subscribers, as Mailman 3 removes a member who
 *	unsubscribes (there is no "unsubscribed" state: a later
 *	subscribe starts afresh). 200 with a short text, and a log line
 *	naming list and recipient. A second POST finds no subscriber:
 *	200 again, nothing changed. A token that is not one (400), whose
 *	MAC does not verify or that has expired (403), or a body that is
 *	not the one-click pair (400): nothing changed, and a warning that
 *	names the peer and the token without its MAC. Redis unreachable:
 *	503, so the mail provider tries again. A body larger than
 *	UNSUB_BODY_MAX: 413.
 *
 *	GET (or HEAD) of the same URL, a person who clicked the link or
 *	a scanner that follows every link: RFC 8058 section 3.2 says a
 *	GET must not unsubscribe. The answer is a small HTML page with a
 *	form that POSTs the one-click body to the same URL; nothing is
 *	changed.
 */
#include "bridge.h"
#include "bridge-http.h"
#include "bridge-unsub.h"
#include "fg-listmsg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>


/* a one-click body is 26 bytes; a form-data one with its boundaries a
   few hundred */
#define UNSUB_BODY_MAX 8192
/* libmicrohttpd's post processor buffer */
#define UNSUB_POST_BUFFER 1024
#define UNSUB_KEY "List-Unsubscribe"
#define UNSUB_VALUE "One-Click"
/* the token as logged: at most this much, its MAC left out */
#define UNSUB_LOG_MAX 200

struct unsub_request {
	const struct fg_config *c;
	char *token;
	char *peer;
	struct MHD_PostProcessor *pp;	/* NULL: not a form content type */
	bool form;			/* there was one */
	struct fg_buf raw;		/* the body, without a form type */
	size_t received;
	bool too_large;
	bool one_click;			/* the form had the pair */
	char value[sizeof(UNSUB_VALUE) + 1];	/* its value so far */
	size_t value_len;
	bool value_long;
};

/* unsub_base_path - the path of list_unsubscribe_url without a
   trailing "/", NULL when there is none (caller frees) */
static char *unsub_base_path(const struct fg_config *c)
{
	const char *url = c->list_unsubscribe_url, *p;
	size_t n;

	if (url == NULL || *url == '\0' ||
	    (p = strstr(url, "://")) == NULL)
		return NULL;
	p = strchr(p + 3, '/');
	if (p == NULL)
		p = "";
	n = strcspn(p, "?#");
	while (n > 0 && p[n - 1] == '/')
		n--;
	return fg_xstrndup(p, n);
}

/* unsub_token_of - the token in url, NULL when url is not the
   endpoint's */
static const char *unsub_token_of(const struct fg_config *c,
				  const char *url)
{
	char *base = unsub_base_path(c);
	const char *token = NULL;
	size_t n;

	if (base == NULL)
		return NULL;
	n = strlen(base);
	if (strncmp(url, base, n) == 0 && url[n] == '/' &&
	    url[n + 1] != '\0' && strchr(url + n + 1, '/') == NULL)
		token = url + n + 1;
	free(base);
	return token;
}

/* unsub_serves - see bridge-unsub.h */
bool unsub_serves(const struct fg_config *c, const char *url)
{
	return unsub_token_of(c, url) != NULL;
}

/* unsub_reply - queue an answer of type type */
static mhd_result unsub_reply(struct MHD_Connection *conn,
			      unsigned int status, const char *type,
			      char *body)
{
	struct MHD_Response *resp;
	mhd_result ret;

	resp = MHD_create_response_from_buffer(strlen(body), body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	/* a page about one person's subscription is not for caches */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* unsub_text - a text/plain answer, one line */
static mhd_result unsub_text(struct MHD_Connection *conn,
			     unsigned int status, const char *text)
{
	return unsub_reply(conn, status, "text/plain; charset=utf-8",
			   fg_xasprintf("%s\n", text));
}

/* unsub_loggable - the token for the log: printable, bounded, and
   without its last field, the MAC (caller frees) */
static char *unsub_loggable(const char *token)
{
	const char *dot = strrchr(token, '.');
	size_t n = dot != NULL ? (size_t)(dot - token) : 0;
	char *s, *shown;

	if (n > UNSUB_LOG_MAX)
		n = UNSUB_LOG_MAX;
	s = fg_xstrndup(token, n);
	for (char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			*p = '?';
	}
	shown = fg_xasprintf("%s.<mac>", s);
	free(s);
	return shown;
}

/* unsub_check - verify the token: 1 with list and recipient (caller
   frees), else the HTTP status of the refusal and *why_r */
static int unsub_check(const struct fg_config *c, const char *token,
		       char **list_r, char **rcpt_r, const char **why_r)
{
	int ret = fg_listmsg_unsub_verify(c->secret, token,
					  (long long)time(NULL), list_r,
					  rcpt_r, why_r);

	if (ret > 0)
		return 1;
	return ret == 0 ? MHD_HTTP_FORBIDDEN : MHD_HTTP_BAD_REQUEST;
}

/* unsub_page - the GET page: what the link does, and a form that
   POSTs the one-click body to the same URL */
static mhd_result unsub_page(struct MHD_Connection *conn,
			     const struct fg_config *c, const char *token)
{
	char *list, *rcpt, *body, *elist, *ercpt;
	const char *why;
	int status = unsub_check(c, token, &list, &rcpt, &why);

	if (status != 1) {
		char *ewhy = g_markup_escape_text(why, -1);

		body = fg_xasprintf(
			"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			"<title>Unsubscribe</title></head><body>\n"
			"<p>This unsubscribe link cannot be used: %s.</p>\n"
			"</body></html>\n", ewhy);
		g_free(ewhy);
		return unsub_reply(conn, (unsigned int)status,
				   "text/html; charset=utf-8", body);
	}
	elist = g_markup_escape_text(list, -1);
	ercpt = g_markup_escape_text(rcpt, -1);
	/* the empty action posts to the URL the page came from, the
	   public one behind a reverse proxy */
	body = fg_xasprintf(
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		"<title>Unsubscribe from %s</title></head><body>\n"
		"<p>Stop sending the %s list to %s?</p>\n"
		"<form method=\"post\" action=\"\">\n"
		"<input type=\"hidden\" name=\"" UNSUB_KEY "\" value=\""
		UNSUB_VALUE "\">\n"
		"<button type=\"submit\">Unsubscribe</button>\n"
		"</form>\n</body></html>\n", elist, elist, ercpt);
	g_free(elist);
	g_free(ercpt);
	free(list);
	free(rcpt);
	return unsub_reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			   body);
}

/* unsub_field - libmicrohttpd's post processor: one piece of a form
   field */
static mhd_result unsub_field(void *cls, enum MHD_ValueKind kind,
			      const char *key, const char *filename,
			      const char *content_type,
			      const char *transfer_encoding,
			      const char *data, uint64_t off, size_t size)
{
	struct unsub_request *req = cls;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (key == NULL || strcmp(key, UNSUB_KEY) != 0)
		return MHD_YES;
	if (off == 0) {
		req->value_len = 0;
		req->value_long = false;
	}
	if (req->value_len + size >= sizeof(req->value)) {
		req->value_long = true;
		return MHD_YES;
	}
	memcpy(req->value + req->value_len, data, size);
	req->value_len += size;
	req->value[req->value_len] = '\0';
	if (!req->value_long && strcmp(req->value, UNSUB_VALUE) == 0)
		req->one_click = true;
	return MHD_YES;
}

/* unsub_start - see bridge-unsub.h */
mhd_result unsub_start(struct MHD_Connection *conn,
		       const struct fg_config *c, const char *url,
		       const char *method, const char *peer,
		       struct unsub_request **req_r)
{
	const char *token = unsub_token_of(c, url);
	struct unsub_request *req;

	*req_r = NULL;
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return unsub_page(conn, c, token);
	if (strcmp(method, "POST") != 0)
		return unsub_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed");
	req = fg_xcalloc(1, sizeof(*req));
	req->c = c;
	req->token = fg_xstrdup(token);
	req->peer = fg_xstrdup(peer);
	/* NULL when the content type is neither form type */
	req->pp = MHD_create_post_processor(conn, UNSUB_POST_BUFFER,
					    unsub_field, req);
	req->form = req->pp != NULL;
	*req_r = req;
	return MHD_YES;
}

/* unsub_body - see bridge-unsub.h */
mhd_result unsub_body(struct unsub_request *req, const char *data,
		      size_t size)
{
	req->received += size;
	if (req->too_large || req->received > UNSUB_BODY_MAX) {
		req->too_large = true;
		/* a client that goes on far past the limit is cut off */
		return req->received > 4 * UNSUB_BODY_MAX ? MHD_NO : MHD_YES;
	}
	if (req->pp != NULL)
		return MHD_post_process(req->pp, data, size) == MHD_YES ?
			MHD_YES : MHD_NO;
	fg_buf_append(&req->raw, data, size);
	return MHD_YES;
}

/* unsub_is_one_click - the body is RFC 8058's one-click pair */
static bool unsub_is_one_click(struct unsub_request *req)
{
	char *raw;
	bool ok;

	if (req->form) {
		/* the last field of an urlencoded body may reach
		   unsub_field() only when the processor is destroyed */
		if (req->pp != NULL)
			(void)MHD_destroy_post_processor(req->pp);
		req->pp = NULL;
		return req->one_click;
	}
	/* no form content type: the pair alone, as some senders post it */
	raw = fg_str_trim(fg_xstrndup(req->raw.s != NULL ? req->raw.s : "",
				      req->raw.len));
	ok = strcmp(raw, UNSUB_KEY "=" UNSUB_VALUE) == 0;
	free(raw);
	return ok;
}

/* unsub_refused - a token or body refused: logged without the MAC */
static mhd_result unsub_refused(struct unsub_request *req,
				struct MHD_Connection *conn,
				unsigned int status, const char *why,
				const char *answer)
{
	char *shown = unsub_loggable(req->token);
	char *text = fg_xasprintf("%s: %s", answer, why);
	mhd_result ret;

	msg_warn("unsubscribe: refused a request from %s: token=%s: %s",
		 req->peer, shown, why);
	ret = unsub_text(conn, status, text);
	free(shown);
	free(text);
	return ret;
}

/* unsub_finish - see bridge-unsub.h */
mhd_result unsub_finish(struct unsub_request *req,
			struct MHD_Connection *conn, struct fg_store *store,
			const char *store_error)
{
	char *list, *rcpt, *text;
	const char *why, *error;
	mhd_result mret;
	int ret;

	if (req->too_large)
		return unsub_text(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				  "payload too large");
	ret = unsub_check(req->c, req->token, &list, &rcpt, &why);
	if (ret != 1)
		return unsub_refused(req, conn, (unsigned int)ret, why,
				     ret == MHD_HTTP_FORBIDDEN ? "forbidden" :
				     "bad request");
	if (!unsub_is_one_click(req)) {
		free(list);
		free(rcpt);
		return unsub_refused(req, conn, MHD_HTTP_BAD_REQUEST,
				     "the body is not List-Unsubscribe="
				     "One-Click (RFC 8058)", "bad request");
	}
	if (store == NULL) {
		msg_warn("unsubscribe: list=%s rcpt=<%s>: Redis: %s; "
			 "answering 503", list, rcpt, store_error);
		free(list);
		free(rcpt);
		return unsub_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "temporarily unavailable: try again later");
	}
	ret = fg_store_subscriber_del(store, list, rcpt, &error);
	if (ret < 0) {
		msg_warn("unsubscribe: list=%s rcpt=<%s>: Redis: %s; "
			 "answering 503", list, rcpt, error);
		mret = unsub_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "temporarily unavailable: try again later");
	} else if (ret > 0) {
		msg_info("unsubscribe: list=%s rcpt=<%s>: unsubscribed "
			 "(one-click, from %s)", list, rcpt, req->peer);
		text = fg_xasprintf("unsubscribed: %s will get no more mail "
				    "from the %s list", rcpt, list);
		mret = unsub_text(conn, MHD_HTTP_OK, text);
		free(text);
	} else {
		msg_info("unsubscribe: list=%s rcpt=<%s>: not a subscriber "
			 "(unsubscribed before): nothing changed", list, rcpt);
		text = fg_xasprintf("not subscribed: %s is not on the %s list",
				    rcpt, list);
		mret = unsub_text(conn, MHD_HTTP_OK, text);
		free(text);
	}
	free(list);
	free(rcpt);
	return mret;
}

/* unsub_free - see bridge-unsub.h */
void unsub_free(struct unsub_request **_req)
{
	struct unsub_request *req = *_req;

	if (req == NULL)
		return;
	*_req = NULL;
	if (req->pp != NULL)
		(void)MHD_destroy_post_processor(req->pp);
	fg_buf_free(&req->raw);
	free(req->token);
	free(req->peer);
	free(req);
}
