/*
 * NAME
 *	bridge-confirm 3 - the confirmation page of subscribing by mail
 * DESCRIPTION
 *	See bridge-confirm.h.
 */
#include "bridge-confirm.h"
#include "fg-listaddr.h"
#include "fg-listjoin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>

/* confirm_path - the path of confirm_url ("" when it has none, NULL
   when the setting is empty) */
static const char *confirm_path(const struct fg_config *c)
{
	const char *p = c->confirm_url, *slash;

	if (*p == '\0')
		return NULL;
	if ((p = strstr(p, "://")) == NULL)
		return NULL;
	slash = strchr(p + 3, '/');
	return slash != NULL ? slash : "";
}

/* confirm_rest - what follows PATH/ in url, or NULL */
static const char *confirm_rest(const struct fg_config *c, const char *url)
{
	const char *path = confirm_path(c);
	size_t n;

	if (path == NULL)
		return NULL;
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (strncmp(url, path, n) != 0 || url[n] != '/')
		return NULL;
	return url + n + 1;
}

bool confirm_serves(const struct fg_config *c, const char *url)
{
	return confirm_rest(c, url) != NULL;
}

/* confirm_html - text escaped for HTML (caller frees) */
static char *confirm_html(const char *s)
{
	struct fg_buf b = { 0 };

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': fg_buf_puts(&b, "&lt;"); break;
		case '>': fg_buf_puts(&b, "&gt;"); break;
		case '&': fg_buf_puts(&b, "&amp;"); break;
		case '"': fg_buf_puts(&b, "&quot;"); break;
		case '\'': fg_buf_puts(&b, "&#39;"); break;
		default: fg_buf_putc(&b, *s); break;
		}
	}
	if (b.s == NULL)
		fg_buf_puts(&b, "");
	return fg_buf_steal(&b);
}

/* confirm_reply - queue an HTML page with status */
static bool confirm_reply(struct MHD_Connection *conn, unsigned int status,
			  const char *title, const char *text_html)
{
	struct MHD_Response *resp;
	char *body = fg_xasprintf("<!DOCTYPE html>\n<html><head>"
				  "<meta charset=\"utf-8\">"
				  "<meta name=\"robots\" content=\"noindex\">"
				  "<title>%s</title></head>\n<body>\n%s\n"
				  "</body></html>\n", title, text_html);
	bool ok;

	resp = MHD_create_response_from_buffer(strlen(body), body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return false;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/html; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ok = MHD_queue_response(conn, status, resp) == MHD_YES;
	MHD_destroy_response(resp);
	return ok;
}

/* confirm_queue - queue the confirmation as the control mail of a
   reply: 1 queued, 0 queued before, -1 Redis failed */
static int confirm_queue(struct bridge *b, struct fg_store *store,
			 const char *list, const char *token,
			 const char *address, const char **error_r)
{
	struct fg_control control;
	char *message_id, *lower = fg_str_lower(fg_xstrdup(token));
	int ret;

	message_id = fg_xasprintf("fg-web-confirm.%s@%s",
				  strrchr(lower, '.') + 1,
				  b->config->mail_domain);
	memset(&control, 0, sizeof(control));
	control.role = fg_listaddr_role_name(FG_LISTADDR_CONFIRM);
	control.detail = lower;
	control.rcpt = "";
	control.envelope_from = address;
	control.from_email = address;
	control.message_id = message_id;
	control.subject = "confirmed on the confirmation page";
	control.message = "";
	control.message_size = 0;
	ret = fg_store_control_add(store, list, &control, error_r);
	free(message_id);
	free(lower);
	return ret;
}

bool confirm_page(struct bridge *b, struct fg_store *store,
		  const char *store_error, struct MHD_Connection *conn,
		  const char *url, const char *method)
{
	const struct fg_config *c = b->config;
	const char *rest = confirm_rest(c, url), *slash, *error;
	enum fg_listjoin_action action;
	char *list, *address = NULL, *html_addr, *html_list, *text;
	long long expires;
	bool is_post = strcmp(method, "POST") == 0, ok;
	int queued = -1;

	if (!is_post && strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0)
		return confirm_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "Method not allowed",
				     "<p>Method not allowed.</p>");
	slash = rest != NULL ? strchr(rest, '/') : NULL;
	list = slash != NULL ? fg_xstrndup(rest, (size_t)(slash - rest)) :
		NULL;
	if (list == NULL || !fg_list_name_valid(list) ||
	    fg_listjoin_verify(c->secret, list, slash + 1, (long long)time(NULL),
			       &action, &address, &expires, &error) <= 0) {
		if (list != NULL && fg_list_name_valid(list))
			msg_info("confirm page: list=%s %s: %s", list, method,
				 error);
		free(list);
		return confirm_reply(conn, MHD_HTTP_NOT_FOUND,
				     "Not a valid confirmation",
				     "<p>This confirmation link is not valid, "
				     "or it has expired. Nothing was "
				     "changed.</p>");
	}
	html_addr = confirm_html(address);
	html_list = confirm_html(list);
	if (!is_post) {
		text = fg_xasprintf("<p>Confirm: %s the address <b>%s</b> "
				    "%s the mailing list <b>%s</b>?</p>\n"
				    "<form method=\"post\" action=\"\">"
				    "<button type=\"submit\">Confirm</button>"
				    "</form>",
				    fg_listjoin_action_name(action), html_addr,
				    action == FG_LISTJOIN_SUBSCRIBE ? "to" :
				    "from", html_list);
		ok = confirm_reply(conn, MHD_HTTP_OK, "Confirm", text);
	} else if (store == NULL ||
		   (queued = confirm_queue(b, store, list, slash + 1, address,
					   &store_error)) < 0) {
		msg_warn("confirm page: list=%s address=<%s>: Redis: %s; "
			 "answered 503", list, address, store_error);
		text = fg_xstrdup("<p>The confirmation cannot be taken right "
				  "now. Please try again later.</p>");
		ok = confirm_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "Try again later", text);
	} else {
		msg_info("confirm page: list=%s address=<%s>: %s confirmed, "
			 "%s", list, address, fg_listjoin_action_name(action),
			 queued > 0 ? "queued" : "queued before");
		text = fg_xasprintf("<p>Thank you: the %s of <b>%s</b> %s the "
				    "mailing list <b>%s</b> is confirmed. A "
				    "message to that address follows.</p>",
				    action == FG_LISTJOIN_SUBSCRIBE ?
				    "subscription" : "unsubscription",
				    html_addr,
				    action == FG_LISTJOIN_SUBSCRIBE ? "to" :
				    "from", html_list);
		ok = confirm_reply(conn, MHD_HTTP_OK, "Confirmed", text);
	}
	free(text);
	free(html_addr);
	free(html_list);
	free(address);
	free(list);
	return ok;
}
