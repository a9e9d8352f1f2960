/*
 * NAME
 *	bridge-webhook 3 - the forum's webhooks in, health out
 * DESCRIPTION
 *	A small HTTP server (libmicrohttpd, one internal thread, so one
 *	Redis connection serves every request) on webhook_listen:
 *
 *	POST /webhooks/discourse
 *		The body is read up to webhook_max_size (more: 413) and
 *		its X-Discourse-Event-Signature checked (missing or
 *		wrong: 403, nothing stored, a warning with the peer). A
 *		post_created event is queued for the list whose category
 *		the post is in; the answer 200 comes only after Redis
 *		stored it, and 503 when Redis fails, so the forum sends
 *		the event again. A replay of a queued post answers 200
 *		too. Events and posts that are not bridged answer 200
 *		"ignored: why", so the forum does not retry them.
 *		post_edited with a new version is queued as a revision
 *		when outbound_edits = mail, and ignored otherwise.
 *	POST /webhooks/post
 *		The generic signed JSON webhook for other forums: the same
 *		body ({"post": {...}}) and signature (sha256=HEX, the
 *		HMAC-SHA256 of the body under webhook_secret) in the
 *		headers X-Forumgate-Signature and X-Forumgate-Event
 *		(post_created; post_edited as for Discourse;
 *		post_destroyed is acknowledged and not mailed).
 *	POST /webhooks/nodebb
 *		nodebb-plugin-webhooks, hooks action:topic.post and
 *		action:topic.reply: x-webhook-signature: sha1=HEX, the
 *		HMAC-SHA1 of the body under webhook_secret. The body
 *		echoes the forum's request headers: they are never
 *		logged or stored, only the post's members are read.
 *	GET /health
 *		200 "ok" when Redis answers, 503 otherwise.
 *
 *	Listen on loopback (or a private address) behind the forum host's
 *	reverse proxy; the signature is the authentication, not the
 *	address.
 */
#include "bridge.h"
#include "fg-webhook.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;		/* before 0.9.71 handlers returned int */
#endif
#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif

#define WEBHOOK_PATH "/webhooks/discourse"
/* the generic signed JSON webhook: Discourse's body and signature
   format under headers of our own (doc/forum-to-list.md) */
#define GENERIC_PATH "/webhooks/post"
#define GENERIC_SIGNATURE_HEADER "X-Forumgate-Signature"
#define GENERIC_EVENT_HEADER "X-Forumgate-Event"
/* nodebb-plugin-webhooks */
#define NODEBB_PATH "/webhooks/nodebb"
#define NODEBB_SIGNATURE_HEADER "x-webhook-signature"
#define HEALTH_PATH "/health"
#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S 30
/* a client that goes on sending this far past the limit is cut off */
#define OVERSIZE_FACTOR 4

struct webhook {
	struct bridge *bridge;
	struct MHD_Daemon *daemon;
	struct fg_store *store;	/* used by the server thread only */
	bool store_failing;
};

struct request {
	bool is_webhook;
	bool is_generic;
	bool is_nodebb;
	bool too_large;
	size_t received;
	struct fg_buf body;
};

/* webhook_reply - queue a short text/plain answer */
static mhd_result webhook_reply(struct MHD_Connection *conn,
				     unsigned int status, const char *text)
{
	struct MHD_Response *resp;
	mhd_result ret;
	char *body = fg_xasprintf("%s\n", text);

	resp = MHD_create_response_from_buffer(strlen(body), body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* webhook_peer - the client's address for the log */
static const char *webhook_peer(struct MHD_Connection *conn, char *buf,
				size_t size)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn,
					MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;

	if (sa == NULL ||
	    getnameinfo(sa, sa->sa_family == AF_INET6 ?
			sizeof(struct sockaddr_in6) :
			sizeof(struct sockaddr_in), buf, (socklen_t)size,
			NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "unknown");
	return buf;
}

/* webhook_store - the Redis connection, opened on first use */
static struct fg_store *webhook_store(struct webhook *wh,
				      const char **error_r)
{
	const struct fg_config *c = wh->bridge->config;

	if (wh->store == NULL &&
	    fg_store_connect(c->redis, c->redis_timeout, &wh->store,
			     error_r) < 0)
		return NULL;
	fg_store_set_retention_config(wh->store, c);
	return wh->store;
}

/* webhook_store_failed - 503, logged once per outage */
static mhd_result webhook_store_failed(struct webhook *wh,
					    struct MHD_Connection *conn,
					    const char *what,
					    const char *error)
{
	if (!wh->store_failing)
		msg_warn("webhook: %s: %s; answering 503 until Redis is back",
			 what, error);
	wh->store_failing = true;
	return webhook_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "temporarily unavailable: state store down");
}

/* webhook_store_ok - Redis worked: end an outage */
static void webhook_store_ok(struct webhook *wh)
{
	if (wh->store_failing)
		msg_info("webhook: Redis answers again");
	wh->store_failing = false;
}

/* webhook_health - GET /health */
static mhd_result webhook_health(struct webhook *wh,
				      struct MHD_Connection *conn)
{
	struct fg_store *store;
	const char *error;

	if ((store = webhook_store(wh, &error)) == NULL ||
	    fg_store_ping(store, &error) < 0)
		return webhook_store_failed(wh, conn, "health check", error);
	webhook_store_ok(wh);
	return webhook_reply(conn, MHD_HTTP_OK, "ok");
}

/* webhook_post - a verified post_created: queue it for its list */
static mhd_result webhook_post(struct webhook *wh,
				    struct MHD_Connection *conn,
				    const struct fg_post *post,
				    const char *event_id)
{
	struct fg_store *store;
	const char *error;
	char *list = NULL;
	int ret;

	if (post->revision > 0 &&
	    strcmp(wh->bridge->config->outbound_edits, "mail") != 0) {
		msg_info("webhook: event=%s post_id=%lld topic=%lld "
			 "revision=%lld: ignored: an edit (outbound_edits = "
			 "%s)", event_id, post->post_id, post->topic_id,
			 post->revision, wh->bridge->config->outbound_edits);
		return webhook_reply(conn, MHD_HTTP_OK,
				     "ignored: an edit is not mailed");
	}
	if ((store = webhook_store(wh, &error)) == NULL)
		return webhook_store_failed(wh, conn, "connecting", error);
	ret = fg_store_list_by_category(store, post->category_id, &list,
					&error);
	if (ret < 0)
		return webhook_store_failed(wh, conn, "finding the list",
					    error);
	webhook_store_ok(wh);
	if (ret == 0) {
		msg_info("webhook: event=%s post_id=%lld topic=%lld "
			 "category=%lld: ignored: category not bridged",
			 event_id, post->post_id, post->topic_id,
			 post->category_id);
		return webhook_reply(conn, MHD_HTTP_OK,
				     "ignored: category not bridged");
	}
	ret = fg_store_outbound_add(store, list, post, &error);
	if (ret < 0) {
		free(list);
		return webhook_store_failed(wh, conn, "queueing the post",
					    error);
	}
	msg_info("webhook: event=%s list=%s post_id=%lld topic=%lld "
		 "post_number=%lld revision=%lld user=%s: %s", event_id,
		 list, post->post_id, post->topic_id, post->post_number,
		 post->revision, post->username, ret > 0 ? "queued" :
		 "queued before: replay ignored");
	free(list);
	return webhook_reply(conn, MHD_HTTP_OK,
			     ret > 0 ? "queued" : "duplicate: queued before");
}

/* webhook_parsed - the answer to a verified, parsed event; frees post */
static mhd_result webhook_parsed(struct webhook *wh,
				 struct MHD_Connection *conn, int ret,
				 struct fg_post *post, const char *error,
				 const char *event_id)
{
	char peer[64], *text;
	mhd_result mret;

	switch (ret) {
	case FG_WEBHOOK_POST:
		mret = webhook_post(wh, conn, post, event_id);
		fg_post_free(&post);
		return mret;
	case FG_WEBHOOK_IGNORE:
		text = fg_xasprintf("ignored: %s", error);
		msg_info("webhook: event=%s: %s", event_id, text);
		mret = webhook_reply(conn, MHD_HTTP_OK, text);
		free(text);
		return mret;
	case FG_WEBHOOK_TOO_LARGE:
		return webhook_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				     "payload too large");
	default:
		text = fg_xasprintf("bad request: %s", error);
		msg_warn("webhook: event=%s from %s: %s", event_id,
			 webhook_peer(conn, peer, sizeof(peer)), text);
		mret = webhook_reply(conn, MHD_HTTP_BAD_REQUEST, text);
		free(text);
		return mret;
	}
}

/* webhook_nodebb - a complete POST /webhooks/nodebb. The body echoes
   the forum's request headers (params.req): it is never logged, and
   only the post's own members are kept. */
static mhd_result webhook_nodebb(struct webhook *wh,
				 struct MHD_Connection *conn,
				 struct request *req)
{
	const struct fg_config *c = wh->bridge->config;
	const char *sig, *error;
	struct fg_post *post;
	char peer[64];
	int ret;

	sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					  NODEBB_SIGNATURE_HEADER);
	if (fg_webhook_verify_nodebb(c->webhook_secret, req->body.s,
				     req->body.len, sig, &error) < 0) {
		msg_warn("webhook: refused a NodeBB request from %s: %s",
			 webhook_peer(conn, peer, sizeof(peer)), error);
		return webhook_reply(conn, MHD_HTTP_FORBIDDEN,
				     "forbidden: bad or missing signature");
	}
	ret = fg_webhook_parse_nodebb(req->body.s, req->body.len,
				      c->webhook_max_size, &post, &error);
	return webhook_parsed(wh, conn, ret, post, error, "nodebb");
}

/* webhook_discourse - a complete POST /webhooks/discourse */
static mhd_result webhook_discourse(struct webhook *wh,
					 struct MHD_Connection *conn,
					 struct request *req)
{
	const struct fg_config *c = wh->bridge->config;
	/* the generic webhook's headers, or Discourse's */
	const char *sig_header = req->is_generic ? GENERIC_SIGNATURE_HEADER :
		FG_WEBHOOK_SIGNATURE_HEADER;
	const char *event_header = req->is_generic ? GENERIC_EVENT_HEADER :
		FG_WEBHOOK_EVENT_HEADER;
	const char *sig, *event, *event_id, *error;
	char peer[64];
	struct fg_post *post;
	int ret;

	if (req->is_nodebb)
		return webhook_nodebb(wh, conn, req);
	sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, sig_header);
	if (fg_webhook_verify(c->webhook_secret, req->body.s, req->body.len,
			      sig, &error) < 0) {
		msg_warn("webhook: refused a request from %s: %s: %s",
			 webhook_peer(conn, peer, sizeof(peer)), sig_header,
			 error);
		return webhook_reply(conn, MHD_HTTP_FORBIDDEN,
				     "forbidden: bad or missing signature");
	}
	event = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					    event_header);
	event_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					       "X-Discourse-Event-Id");
	if (event_id == NULL)
		event_id = "-";
	ret = fg_webhook_parse(event, req->body.s, req->body.len,
			       c->webhook_max_size, &post, &error);
	if (ret == FG_WEBHOOK_INVALID && (event == NULL || *event == '\0'))
		error = fg_errorf("no %s header", event_header);
	return webhook_parsed(wh, conn, ret, post, error, event_id);
}

/* webhook_access - libmicrohttpd's request handler, called for the
   headers, for each piece of the body, and once more at its end */
static mhd_result webhook_access(void *cls, struct MHD_Connection *conn,
				      const char *url, const char *method,
				      const char *version,
				      const char *upload_data,
				      size_t *upload_data_size,
				      void **con_cls)
{
	struct webhook *wh = cls;
	const struct fg_config *c = wh->bridge->config;
	struct request *req = *con_cls;

	(void)version;
	if (req == NULL) {
		/* the headers are in */
		if (strcmp(url, HEALTH_PATH) == 0) {
			if (strcmp(method, "GET") != 0 &&
			    strcmp(method, "HEAD") != 0)
				return webhook_reply(conn,
					MHD_HTTP_METHOD_NOT_ALLOWED,
					"method not allowed");
			return webhook_health(wh, conn);
		}
		if (strcmp(url, WEBHOOK_PATH) != 0 &&
		    strcmp(url, GENERIC_PATH) != 0 &&
		    strcmp(url, NODEBB_PATH) != 0)
			return webhook_reply(conn, MHD_HTTP_NOT_FOUND,
					     "not found");
		if (strcmp(method, "POST") != 0)
			return webhook_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					     "method not allowed");
		const char *cl = MHD_lookup_connection_value(conn,
			MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		long long len;
		if (cl != NULL && fg_parse_llong(cl, &len) == 0 &&
		    (unsigned long long)len > c->webhook_max_size) {
			char peer[64];
			msg_warn("webhook: refused %lld bytes from %s: "
				 "more than webhook_max_size", len,
				 webhook_peer(conn, peer, sizeof(peer)));
			return webhook_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					     "payload too large");
		}
		req = fg_xcalloc(1, sizeof(*req));
		req->is_webhook = true;
		req->is_generic = strcmp(url, GENERIC_PATH) == 0;
		req->is_nodebb = strcmp(url, NODEBB_PATH) == 0;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		req->received += n;
		*upload_data_size = 0;
		if (req->received > c->webhook_max_size) {
			/* no Content-Length (chunked): read and drop */
			req->too_large = true;
			fg_buf_free(&req->body);
			if (req->received / OVERSIZE_FACTOR >
			    c->webhook_max_size)
				return MHD_NO;
			return MHD_YES;
		}
		fg_buf_append(&req->body, upload_data, n);
		return MHD_YES;
	}
	/* the body is complete */
	if (req->too_large) {
		char peer[64];
		msg_warn("webhook: refused %zu bytes from %s: more than "
			 "webhook_max_size", req->received,
			 webhook_peer(conn, peer, sizeof(peer)));
		return webhook_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				     "payload too large");
	}
	if (req->body.s == NULL)
		fg_buf_append(&req->body, "", 0);
	return webhook_discourse(wh, conn, req);
}

/* webhook_completed - free a request's state */
static void webhook_completed(void *cls, struct MHD_Connection *conn,
			      void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	fg_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

/* webhook_mhd_log - libmicrohttpd's own errors into our log */
static void webhook_mhd_log(void *cls, const char *fmt, va_list ap)
	FG_ATTR_FORMAT(2, 0);
static void webhook_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	msg_vwarn(fmt, ap);
}

union webhook_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/* webhook_parse_listen - host:port or [v6]:port to an address */
static int webhook_parse_listen(const char *listen,
				union webhook_addr *addr,
				const char **error_r)
{
	struct addrinfo hints, *res;
	char *host, *port, *copy;
	int err;

	copy = fg_xstrdup(listen);
	port = strrchr(copy, ':');
	if (port == NULL || port[1] == '\0') {
		free(copy);
		*error_r = fg_errorf("webhook_listen '%s' is not host:port",
				     listen);
		return -1;
	}
	*port++ = '\0';
	host = copy;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host++;
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(*host == '\0' ? NULL : host, port, &hints, &res);
	if (err != 0) {
		*error_r = fg_errorf("webhook_listen '%s': %s", listen,
				     gai_strerror(err));
		free(copy);
		return -1;
	}
	memset(addr, 0, sizeof(*addr));
	if (res->ai_addrlen > sizeof(*addr)) {
		*error_r = fg_errorf("webhook_listen '%s': address too long",
				     listen);
		freeaddrinfo(res);
		free(copy);
		return -1;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	free(copy);
	return 0;
}

/* webhook_start - see bridge.h */
int webhook_start(struct bridge *b, struct webhook **webhook_r,
		  const char **error_r)
{
	union webhook_addr addr;
	struct webhook *wh;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (webhook_parse_listen(b->config->webhook_listen, &addr,
				 error_r) < 0)
		return -1;
	if (addr.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	wh = fg_xcalloc(1, sizeof(*wh));
	wh->bridge = b;
	errno = 0;
	wh->daemon = MHD_start_daemon(flags, 0, NULL, NULL,
		webhook_access, wh,
		MHD_OPTION_EXTERNAL_LOGGER, webhook_mhd_log, wh,
		MHD_OPTION_SOCK_ADDR, &addr.sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)CONNECTION_TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, webhook_completed, wh,
		MHD_OPTION_END);
	if (wh->daemon == NULL) {
		*error_r = fg_errorf("cannot listen on %s%s%s",
				     b->config->webhook_listen,
				     errno != 0 ? ": " : "",
				     errno != 0 ? strerror(errno) : "");
		free(wh);
		return -1;
	}
	msg_info("webhook: listening on %s", b->config->webhook_listen);
	*webhook_r = wh;
	return 0;
}

/* webhook_stop - see bridge.h */
void webhook_stop(struct webhook **_wh)
{
	struct webhook *wh = *_wh;

	if (wh == NULL)
		return;
	*_wh = NULL;
	MHD_stop_daemon(wh->daemon);
	fg_store_free(&wh->store);
	free(wh);
}
