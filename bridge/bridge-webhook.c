/*
 * NAME
 *	bridge-webhook 3 - the forum's webhooks in, health out
 * DESCRIPTION
 *	A small HTTP server (libmicrohttpd in one thread of ours, so one
 *	Redis connection serves every request) on webhook_listen:
 *
 *	POST /webhooks/discourse
 *		The body is read up to webhook_max_size (more: 413) and
 *		its X-Discourse-Event-Signature checked (missing or
 *		wrong: 403, nothing stored, a warning with the peer). A
 *		post_created event is queued for the list its topic
 *		belongs to (fg:topics: a post of it was posted from or
 *		mailed to the list; a moved topic stays the list's), else
 *		the list whose category the post is in; the answer 200 comes only after Redis
 *		stored it, and 503 when Redis fails, so the forum sends
 *		the event again. A replay of a queued post answers 200
 *		too. Events and posts that are not bridged answer 200
 *		"ignored: why", so the forum does not retry them.
 *		post_edited with a new version is queued as a revision
 *		when outbound_edits = mail, and ignored otherwise.
 *		reviewable_transitioned_to of a ReviewableQueuedPost that
 *		was rejected records the rejection of list mail the forum
 *		held (bridge-review.c).
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
 *		HMAC-SHA1 of the body under webhook_secret; hook
 *		action:post-queue:removeFromQueue records the rejection
 *		of list mail NodeBB held (bridge-review.c). The body
 *		echoes the requests that made the post, headers and
 *		session included (params.data.req, params.caller.req:
 *		the master token, session cookies): they are never
 *		logged or stored, only the post's members are read.
 *		The post's content is HTML: the outbound worker, not
 *		this handler, asks the forum for its Markdown.
 *	GET /health
 *		200 "ok" when Redis answers, 503 otherwise.
 *	GET, POST PATH/TOKEN
 *		PATH the path of list_unsubscribe_url (list mode's
 *		one-click unsubscribe, RFC 8058; off while the setting
 *		is empty): handled by bridge-unsub.c, which answers the
 *		person or mail provider behind the link, not the forum.
 *	GET, POST PATH/LIST/TOKEN
 *		PATH the path of confirm_url (list mode's confirmation of
 *		subscribing by mail; off while the setting is empty):
 *		answered by bridge-confirm.c.
 *
 *	Listen on loopback (or a private address) behind the forum host's
 *	reverse proxy; the signature is the authentication, not the
 *	address.
 *
 *	Idle and slow clients must not keep the forum out (a forum does
 *	not send a failed webhook again). One thread serves every
 *	connection with epoll (libmicrohttpd driven by our own loop, so
 *	the loop can also enforce deadlines), and:
 *
 *	- every request must be complete within webhook_request_timeout
 *	  of its connection's start or of the previous request's end;
 *	  libmicrohttpd's own timeout only counts idle time, so a client
 *	  that sends a byte every few seconds is cut by the loop
 *	  (shutdown() of the socket, which libmicrohttpd then closes);
 *	- one address holds at most webhook_per_address_limit
 *	  connections, all addresses together webhook_max_connections;
 *	- webhook_trusted_addresses (the forum's, or its proxy's) are
 *	  exempt from the per-address limit and have TRUSTED_RESERVE
 *	  connections beyond webhook_max_connections, so a flood from
 *	  many other addresses still leaves the forum room.
 *
 *	Refused and cut connections are logged at most once a minute,
 *	with how many there were.
 */
#include "bridge.h"
#include "bridge-http.h"
#include "bridge-unsub.h"
#include "bridge-confirm.h"
#include "fg-net.h"
#include "fg-webhook.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <microhttpd.h>


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
/* connections beyond webhook_max_connections that only
   webhook_trusted_addresses may use */
#define TRUSTED_RESERVE 32
/* file descriptors besides the connections (Redis, logs, workers) */
#define SPARE_FDS 64
/* how often the loop looks for late requests, at most */
#define LOOP_WAIT_MS 200
/* refused and cut connections are logged once in this time */
#define SHED_LOG_MS 60000
/* a client that goes on sending this far past the limit is cut off */
#define OVERSIZE_FACTOR 4

/* an address as 16 bytes: IPv4 as ::ffff:a.b.c.d */
#define webhook_ip fg_net_ip

/* one client connection, in the deadline list while it is not cut */
struct webhook_conn {
	struct webhook_conn *prev, *next;
	struct webhook_ip ip;
	int fd;
	bool trusted;
	bool listed;
	long long since;	/* ms: accepted, or last request done */
};

struct webhook {
	struct bridge *bridge;
	struct MHD_Daemon *daemon;
	pthread_t thread;
	bool thread_started;
	struct fg_store *store;	/* used by the server thread only */
	bool store_failing;

	/* everything below belongs to the server thread */
	struct fg_net_list *trusted;
	unsigned int max_connections;
	struct webhook_conn *head, *tail;	/* oldest since first */
	unsigned int untrusted;		/* open untrusted connections */
	long long shed_log_next;	/* ms */
	unsigned long shed_count;	/* not logged yet */
};

struct request {
	bool is_webhook;
	bool is_generic;
	bool is_nodebb;
	struct unsub_request *unsub;	/* a one-click unsubscribe */
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
	    fg_store_connect_config(c, &wh->store, error_r) < 0)
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
	/* a topic some of whose posts were posted from or mailed to a
	   list stays that list's, in whatever category it is now */
	ret = fg_store_list_by_topic(store, post->topic_id, &list, &error);
	if (ret == 0)
		ret = fg_store_list_by_category(store, post->category_id,
						&list, &error);
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

/* webhook_rejected - a post the forum held for review was rejected:
   recorded for the list that sent it */
static mhd_result webhook_rejected(struct webhook *wh,
				   struct MHD_Connection *conn,
				   const char *held_id, const char *forum)
{
	struct fg_store *store;
	const char *error;
	char *list;
	int ret;

	if ((store = webhook_store(wh, &error)) == NULL)
		return webhook_store_failed(wh, conn, "connecting", error);
	ret = review_rejected(store, held_id, &list, &error);
	if (ret < 0)
		return webhook_store_failed(wh, conn, "recording a rejection",
					    error);
	webhook_store_ok(wh);
	if (ret == 0) {
		msg_info("webhook: event=%s: the forum rejected the queued "
			 "post %s: not list mail in review", forum, held_id);
		return webhook_reply(conn, MHD_HTTP_OK,
				     "ignored: not a post in review");
	}
	msg_warn("webhook: event=%s list=%s: the forum rejected the list "
		 "mail it held for review (%s)", forum, list, held_id);
	free(list);
	return webhook_reply(conn, MHD_HTTP_OK, "rejection recorded");
}

/* webhook_nodebb - a complete POST /webhooks/nodebb. The body echoes
   the requests that made the post (params.data.req, params.caller.req,
   with the master token or a session cookie): it is never logged, and
   only the post's own members are kept. */
static mhd_result webhook_nodebb(struct webhook *wh,
				 struct MHD_Connection *conn,
				 struct request *req)
{
	const struct fg_config *c = wh->bridge->config;
	const char *sig, *error;
	struct fg_post *post;
	char peer[64], *held_id;
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
	if (fg_webhook_nodebb_rejected(req->body.s, req->body.len,
				       c->webhook_max_size, &held_id) > 0) {
		mhd_result mret = webhook_rejected(wh, conn, held_id, "nodebb");
		free(held_id);
		return mret;
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
	char peer[64], *held_id;
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
	if (!req->is_generic &&
	    fg_webhook_discourse_rejected(event, req->body.s, req->body.len,
					  c->webhook_max_size, &held_id) > 0) {
		mhd_result mret = webhook_rejected(wh, conn, held_id, "discourse");
		free(held_id);
		return mret;
	}
	ret = fg_webhook_parse(event, req->body.s, req->body.len,
			       c->webhook_max_size, &post, &error);
	if (ret == FG_WEBHOOK_INVALID && (event == NULL || *event == '\0'))
		error = fg_errorf("no %s header", event_header);
	return webhook_parsed(wh, conn, ret, post, error, event_id);
}

/* webhook_unsub - a piece of a one-click unsubscribe's body, or its
   end: bridge-unsub.c answers, with the Redis connection of this
   thread */
static mhd_result webhook_unsub(struct webhook *wh,
				struct MHD_Connection *conn,
				struct request *req, const char *upload_data,
				size_t *upload_data_size)
{
	struct fg_store *store;
	const char *error = NULL;
	size_t n = *upload_data_size;

	if (n > 0) {
		*upload_data_size = 0;
		return unsub_body(req->unsub, upload_data, n);
	}
	store = webhook_store(wh, &error);
	return unsub_finish(req->unsub, conn, store, error);
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
		if (unsub_serves(c, url)) {
			struct unsub_request *unsub;
			char peer[64];
			mhd_result ret = unsub_start(conn, c, url, method,
				webhook_peer(conn, peer, sizeof(peer)), &unsub);

			if (unsub != NULL) {
				req = fg_xcalloc(1, sizeof(*req));
				req->unsub = unsub;
				*con_cls = req;
			}
			return ret;
		}
		if (confirm_serves(c, url)) {
			const char *error = NULL;
			struct fg_store *store = webhook_store(wh, &error);

			return confirm_page(wh->bridge, store, error, conn, url,
					    method) ? MHD_YES : MHD_NO;
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
	if (req->unsub != NULL)
		return webhook_unsub(wh, conn, req, upload_data,
				     upload_data_size);
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

/* webhook_ip_of - a client address as 16 bytes; false if not IP */
static bool webhook_ip_of(const struct sockaddr *sa, struct webhook_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		ip->b[10] = ip->b[11] = 0xff;
		memcpy(ip->b + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(ip->b, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

/* webhook_ip_text - an address for the log */
static const char *webhook_ip_text(const struct webhook_ip *ip, char *buf,
				   size_t size)
{
	static const unsigned char v4[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(ip->b, v4, sizeof(v4)) == 0)
		inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET6, ip->b, buf, (socklen_t)size);
	return buf;
}

/* webhook_shed - log a refused or cut connection, once a minute */
static void webhook_shed(struct webhook *wh, const char *what,
			 const struct webhook_ip *ip)
{
	long long now = bridge_now_ms();
	char addr[INET6_ADDRSTRLEN];

	if (now < wh->shed_log_next) {
		wh->shed_count++;
		return;
	}
	if (wh->shed_count > 0)
		msg_warn("webhook: %s from %s (and %lu more connections "
			 "refused or cut in the last minute)", what,
			 webhook_ip_text(ip, addr, sizeof(addr)),
			 wh->shed_count);
	else
		msg_warn("webhook: %s from %s", what,
			 webhook_ip_text(ip, addr, sizeof(addr)));
	wh->shed_count = 0;
	wh->shed_log_next = now + SHED_LOG_MS;
}

/* webhook_unlist - take a connection out of the deadline list */
static void webhook_unlist(struct webhook *wh, struct webhook_conn *wc)
{
	if (!wc->listed)
		return;
	if (wc->prev != NULL)
		wc->prev->next = wc->next;
	else
		wh->head = wc->next;
	if (wc->next != NULL)
		wc->next->prev = wc->prev;
	else
		wh->tail = wc->prev;
	wc->prev = wc->next = NULL;
	wc->listed = false;
}

/* webhook_list - (re)start a connection's deadline: now, at the tail */
static void webhook_list(struct webhook *wh, struct webhook_conn *wc)
{
	webhook_unlist(wh, wc);
	wc->since = bridge_now_ms();
	wc->prev = wh->tail;
	if (wh->tail != NULL)
		wh->tail->next = wc;
	else
		wh->head = wc;
	wh->tail = wc;
	wc->listed = true;
}

/* webhook_accept - libmicrohttpd's accept policy: the connection
   limits of untrusted addresses */
static mhd_result webhook_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct webhook *wh = cls;
	const struct fg_config *c = wh->bridge->config;
	struct webhook_ip ip;
	unsigned int same = 0;

	(void)addrlen;
	if (!webhook_ip_of(addr, &ip) || fg_net_list_match(wh->trusted, &ip))
		return MHD_YES;
	if (wh->untrusted >= wh->max_connections) {
		webhook_shed(wh, "refused a connection: "
			     "webhook_max_connections reached", &ip);
		return MHD_NO;
	}
	if (c->webhook_per_address_limit == 0)
		return MHD_YES;
	/* connections being cut are out of the list: they are closing */
	for (const struct webhook_conn *wc = wh->head; wc != NULL;
	     wc = wc->next)
		if (memcmp(&wc->ip, &ip, sizeof(ip)) == 0 &&
		    ++same >= c->webhook_per_address_limit) {
			webhook_shed(wh, "refused a connection: "
				     "webhook_per_address_limit reached",
				     &ip);
			return MHD_NO;
		}
	return MHD_YES;
}

/* webhook_notify - a connection opens or closes */
static void webhook_notify(void *cls, struct MHD_Connection *conn,
			   void **socket_context,
			   enum MHD_ConnectionNotificationCode toe)
{
	struct webhook *wh = cls;
	struct webhook_conn *wc = *socket_context;
	const union MHD_ConnectionInfo *info;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		wc = fg_xcalloc(1, sizeof(*wc));
		info = MHD_get_connection_info(conn,
			MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		(void)webhook_ip_of(info != NULL ? info->client_addr : NULL,
				    &wc->ip);
		info = MHD_get_connection_info(conn,
			MHD_CONNECTION_INFO_CONNECTION_FD);
		wc->fd = info != NULL ? info->connect_fd : -1;
		wc->trusted = fg_net_list_match(wh->trusted, &wc->ip);
		if (!wc->trusted)
			wh->untrusted++;
		webhook_list(wh, wc);
		*socket_context = wc;
		return;
	}
	if (wc == NULL)
		return;
	webhook_unlist(wh, wc);
	if (!wc->trusted)
		wh->untrusted--;
	free(wc);
	*socket_context = NULL;
}

/* webhook_cut_late - shut down connections past their deadline;
   libmicrohttpd sees the end and closes them. Runs in the server
   thread, where a connection's socket stays open until its close
   notification. */
static void webhook_cut_late(struct webhook *wh)
{
	long long limit = bridge_now_ms() -
		(long long)wh->bridge->config->webhook_request_timeout;
	struct webhook_conn *wc;

	while ((wc = wh->head) != NULL && wc->since <= limit) {
		webhook_unlist(wh, wc);
		if (wc->fd >= 0)
			(void)shutdown(wc->fd, SHUT_RDWR);
		webhook_shed(wh, "cut a connection: no complete request "
			     "within webhook_request_timeout", &wc->ip);
	}
}

/* webhook_thread - the server loop */
static void *webhook_thread(void *arg)
{
	struct webhook *wh = arg;
	bool failed = false;

	while (!bridge_stopping(wh->bridge)) {
		if (MHD_run_wait(wh->daemon, LOOP_WAIT_MS) != MHD_YES) {
			if (!failed)
				msg_warn("webhook: libmicrohttpd's loop "
					 "failed; retrying");
			failed = true;
			bridge_sleep(wh->bridge, LOOP_WAIT_MS);
		}
		webhook_cut_late(wh);
	}
	return NULL;
}

/* webhook_fd_room - raise RLIMIT_NOFILE to fit the connections */
static void webhook_fd_room(struct webhook *wh)
{
	rlim_t need = (rlim_t)wh->max_connections + TRUSTED_RESERVE +
		SPARE_FDS;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
		need : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		unsigned int fit = rl.rlim_cur > TRUSTED_RESERVE + SPARE_FDS +
			1 ? (unsigned int)(rl.rlim_cur - TRUSTED_RESERVE -
					   SPARE_FDS) : 1;
		msg_warn("webhook: only %llu file descriptors: serving %u "
			 "connections, not webhook_max_connections = %u",
			 (unsigned long long)rl.rlim_cur, fit,
			 wh->max_connections);
		wh->max_connections = fit;
	}
}

/* webhook_request_done - a request ended: the deadline starts again */
static void webhook_request_done(struct webhook *wh,
				 struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn,
					MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct webhook_conn *wc = info != NULL ? info->socket_context : NULL;

	/* a connection already cut stays cut */
	if (wc != NULL && wc->listed)
		webhook_list(wh, wc);
}

/* webhook_completed - free a request's state */
static void webhook_completed(void *cls, struct MHD_Connection *conn,
			      void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)toe;
	webhook_request_done(cls, conn);
	if (req == NULL)
		return;
	unsub_free(&req->unsub);
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

/* webhook_free - free a webhook whose daemon is stopped */
static void webhook_free(struct webhook *wh)
{
	fg_store_free(&wh->store);
	fg_net_list_free(&wh->trusted);
	free(wh);
}

/* webhook_start - see bridge.h */
int webhook_start(struct bridge *b, struct webhook **webhook_r,
		  const char **error_r)
{
	const struct fg_config *c = b->config;
	union webhook_addr addr;
	struct webhook *wh;
	/* no internal thread: webhook_thread() runs the epoll loop */
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned int timeout_s = (c->webhook_request_timeout + 999) / 1000;
	int err;

	if (webhook_parse_listen(c->webhook_listen, &addr, error_r) < 0)
		return -1;
	if (addr.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	wh = fg_xcalloc(1, sizeof(*wh));
	wh->bridge = b;
	wh->max_connections = c->webhook_max_connections;
	if (fg_net_list_parse("webhook_trusted_addresses",
			      c->webhook_trusted_addresses, &wh->trusted,
			      error_r) < 0) {
		webhook_free(wh);
		return -1;
	}
	webhook_fd_room(wh);
	errno = 0;
	wh->daemon = MHD_start_daemon(flags, 0, webhook_accept, wh,
		webhook_access, wh,
		MHD_OPTION_EXTERNAL_LOGGER, webhook_mhd_log, wh,
		MHD_OPTION_SOCK_ADDR, &addr.sa,
		MHD_OPTION_CONNECTION_LIMIT,
		wh->max_connections + TRUSTED_RESERVE,
		/* the idle timeout; webhook_cut_late() the whole request */
		MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
		MHD_OPTION_NOTIFY_CONNECTION, webhook_notify, wh,
		MHD_OPTION_NOTIFY_COMPLETED, webhook_completed, wh,
		MHD_OPTION_END);
	if (wh->daemon == NULL) {
		*error_r = fg_errorf("cannot listen on %s%s%s",
				     c->webhook_listen,
				     errno != 0 ? ": " : "",
				     errno != 0 ? strerror(errno) : "");
		webhook_free(wh);
		return -1;
	}
	if ((err = pthread_create(&wh->thread, NULL, webhook_thread,
				  wh)) != 0) {
		*error_r = fg_errorf("cannot start a thread: %s",
				     strerror(err));
		MHD_stop_daemon(wh->daemon);
		webhook_free(wh);
		return -1;
	}
	wh->thread_started = true;
	msg_info("webhook: listening on %s (request timeout %ums, %u "
		 "per address, %u connections, %zu trusted networks)",
		 c->webhook_listen, c->webhook_request_timeout,
		 c->webhook_per_address_limit, wh->max_connections,
		 fg_net_list_count(wh->trusted));
	*webhook_r = wh;
	return 0;
}

/* webhook_stop - see bridge.h; bridge_stop() ends the loop */
void webhook_stop(struct webhook **_wh)
{
	struct webhook *wh = *_wh;

	if (wh == NULL)
		return;
	*_wh = NULL;
	if (wh->thread_started)
		pthread_join(wh->thread, NULL);
	MHD_stop_daemon(wh->daemon);
	webhook_free(wh);
}
