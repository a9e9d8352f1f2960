/*
 * NAME
 *	policyd-conn 3 - one Postfix policy client connection
 * DESCRIPTION
 *	A Postfix smtpd process keeps its policy connection open and
 *	sends one request at a time; each request gets exactly one
 *	answer, in order. A connection is in one of three states:
 *
 *	READING: answering what is in the input buffer, then waiting
 *	for more. WAITING: the first request arrived before the posting
 *	addresses were first read; it stays in the buffer and is parsed
 *	again once they are known. LOOKUP: a membership lookup is in
 *	flight for the request that was taken out of the buffer.
 *
 *	Memory per connection is bounded: the input buffer holds at most
 *	FG_POLICY_REQUEST_MAX bytes (libevent stops reading there, and
 *	the parser rejects a request that does not end within it), and
 *	requests are not read while more than POLICYD_OUTPUT_MAX bytes of
 *	answers wait for the client to read them.
 *
 *	A protocol error is logged and the connection is closed without
 *	an answer, as SMTPD_POLICY_README asks; Postfix then retries or
 *	applies smtpd_policy_service_default_action. A connection idle
 *	for policy_idle_timeout is closed.
 */
#include "forumgate-config.h"
#include "policyd.h"
#include "fg-verp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

enum conn_state {
	CONN_READING,
	CONN_WAITING,
	CONN_LOOKUP,
};

struct policyd_conn {
	struct policyd_conn *prev, *next;
	struct policyd *pd;
	struct bufferevent *in;
	struct bufferevent *out;	/* == in, except spawn mode on pipes */
	char *peer;
	enum conn_state state;
	bool eof;			/* the client sent all it will */
	bool closing;			/* close once answers are out */

	/* The request being decided, copied out of the input buffer. */
	char *instance;
	char *sender;			/* lowercase */
	char *sender_key;		/* as the member sets store it */
	char *recipient;
	char *client;
	struct fg_policy_decision decision;
	struct policyd_lookup *lookup;

	struct fg_policy_cache cache;
};

static void conn_process(struct policyd_conn *conn);

/* conn_free - close the connection and forget it */
static void conn_free(struct policyd_conn *conn)
{
	struct policyd *pd = conn->pd;

	if (pd->verbose)
		policyd_info("%s: disconnect", conn->peer);
	if (conn->lookup != NULL)
		policyd_lookup_cancel(conn->lookup);
	if (conn->out != conn->in)
		bufferevent_free(conn->out);
	bufferevent_free(conn->in);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		pd->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	pd->n_conns--;
	free(conn->instance);
	free(conn->sender);
	free(conn->sender_key);
	free(conn->recipient);
	free(conn->client);
	free(conn->peer);
	fg_policy_cache_clear(&conn->cache);
	free(conn);

	/* In spawn mode the process serves this one client only. */
	if (pd->spawn && pd->n_conns == 0)
		event_base_loopbreak(pd->base);
}

/* conn_finish - read no more; close once the answers given so far
   were written */
static void conn_finish(struct policyd_conn *conn)
{
	conn->closing = true;
	bufferevent_disable(conn->in, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(conn->out)) == 0)
		conn_free(conn);
}

/* conn_log - the one log line of a decision */
static void conn_log(struct policyd_conn *conn, const char *detail)
{
	const struct fg_policy_decision *d = &conn->decision;
	char instance[64], client[128], sender[256], rcpt[256];

	policyd_info("%s: instance=%s, client=%s, sender=<%s>, recipient=<%s>, "
		     "list=%s, reason=%s%s%s%s, action=%s", conn->peer,
		     *conn->instance != '\0' ?
		     policyd_printable(instance, sizeof(instance),
				       conn->instance) : "-",
		     *conn->client != '\0' ?
		     policyd_printable(client, sizeof(client), conn->client) :
		     "-",
		     policyd_printable(sender, sizeof(sender), conn->sender),
		     policyd_printable(rcpt, sizeof(rcpt), conn->recipient),
		     d->list[0] != '\0' ? d->list : "-", d->reason,
		     detail != NULL ? " (" : "", detail != NULL ? detail : "",
		     detail != NULL ? ")" : "", d->action);
}

/* conn_answer - send the final decision and log it */
static void conn_answer(struct policyd_conn *conn, const char *detail)
{
	char answer[FG_POLICY_ACTION_MAX + 16];
	size_t len = fg_policy_answer(&conn->decision, answer, sizeof(answer));

	struct evbuffer *output = bufferevent_get_output(conn->out);
	const char *p = answer;

	conn_log(conn, detail);
	/* Nothing waits to go out (the usual case: smtpd reads its
	   answer before it asks again): write at once. Through the
	   buffer, each answer would cost adding and removing a write
	   event, two epoll_ctl calls and a loop iteration. */
	if (evbuffer_get_length(output) == 0) {
		ssize_t n = write(bufferevent_getfd(conn->out), p, len);
		if (n == (ssize_t)len)
			return;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		/* EAGAIN: buffered below; other errors: the bufferevent
		   reports them when it writes. */
	}
	if (bufferevent_write(conn->out, p, len) < 0)
		policyd_warn("%s: cannot queue the answer", conn->peer);
}

/* conn_verp_base - a genuine VERP return path of ours (forumgated's
   forum posts) is checked as its base address: base+fgb.MAC.X@domain
   is a member when base@domain is one */
static void conn_verp_base(struct policyd_conn *conn)
{
	const char *secret = conn->pd->config->secret;
	struct fg_verp verp;
	char *plus, *at;

	if (secret == NULL || *secret == '\0' || conn->sender == NULL ||
	    fg_verp_parse(secret, conn->sender, &verp) != 1)
		return;
	fg_verp_clear(&verp);
	for (plus = strchr(conn->sender, '+'); plus != NULL &&
	     strncasecmp(plus + 1, FG_VERP_TAG ".", strlen(FG_VERP_TAG) + 1);
	     plus = strchr(plus + 1, '+'))
		;
	at = strrchr(conn->sender, '@');
	if (plus == NULL || at == NULL || plus > at)
		return;
	memmove(plus, at, strlen(at) + 1);
}

/* conn_take_request - copy what the decision and the log need, then
   drop the request from the input buffer */
static void conn_take_request(struct policyd_conn *conn,
			      const struct fg_policy_request *req,
			      size_t size)
{
	free(conn->instance);
	free(conn->sender);
	free(conn->sender_key);
	free(conn->recipient);
	free(conn->client);
	conn->instance = fg_policy_value_dup(req, FG_POLICY_INSTANCE, false);
	conn->sender = fg_policy_value_dup(req, FG_POLICY_SENDER, true);
	conn_verp_base(conn);
	conn->sender_key = fg_policy_sender_key(&conn->pd->policy,
						conn->sender);
	conn->recipient = fg_policy_value_dup(req, FG_POLICY_RECIPIENT, false);
	conn->client = fg_policy_value_dup(req, FG_POLICY_CLIENT_ADDRESS,
					   false);
	evbuffer_drain(bufferevent_get_input(conn->in), size);
}

/* conn_member_done - the membership lookup ended */
static void conn_member_done(void *context,
			     const struct fg_policy_facts *facts,
			     const char *error)
{
	struct policyd_conn *conn = context;

	conn->lookup = NULL;
	if (facts != NULL)
		fg_policy_cache_put_facts(&conn->cache, conn->instance,
					  conn->sender_key,
					  conn->decision.list, facts);
	fg_policy_facts(&conn->decision, &conn->pd->policy, conn->sender,
			facts);
	conn_answer(conn, facts == NULL ? error : NULL);
	conn->state = CONN_READING;
	conn_process(conn);
}

/* conn_decide - take one parsed request to its answer or a lookup;
   false when the connection waits */
static bool conn_decide(struct policyd_conn *conn,
			const struct fg_policy_request *req, size_t size)
{
	struct policyd *pd = conn->pd;
	struct fg_policy_decision *d = &conn->decision;
	const char *error;
	struct fg_policy_facts cached;

	if (fg_policy_check(req, policyd_redis_addresses(pd->redis),
			    &pd->policy, d, &error) < 0) {
		policyd_warn("%s: %s; closing without an answer", conn->peer,
			     error);
		conn_finish(conn);
		return false;
	}
	if (d->verdict == FG_POLICY_NEED_ADDRESSES &&
	    !policyd_redis_tried(pd->redis)) {
		/* Parsed again when the addresses arrive. */
		conn->state = CONN_WAITING;
		return false;
	}

	conn_take_request(conn, req, size);
	switch (d->verdict) {
	case FG_POLICY_ANSWER:
		conn_answer(conn, NULL);
		return true;
	case FG_POLICY_NEED_ADDRESSES:
		fg_policy_facts(d, &pd->policy, conn->sender, NULL);
		d->reason = "posting addresses not known";
		conn_answer(conn, "Redis unavailable since startup");
		return true;
	case FG_POLICY_NEED_MEMBERSHIP:
		break;
	}

	if (fg_policy_cache_get_facts(&conn->cache, conn->instance,
				      conn->sender_key, d->list, &cached) > 0) {
		fg_policy_facts(d, &pd->policy, conn->sender, &cached);
		conn_answer(conn, "same message");
		return true;
	}
	if (policyd_redis_is_member(pd->redis, d->list, conn->sender_key,
				    conn_member_done, conn, &conn->lookup,
				    &error) < 0) {
		fg_policy_facts(d, &pd->policy, conn->sender, NULL);
		conn_answer(conn, error);
		return true;
	}
	conn->state = CONN_LOOKUP;
	return false;
}

/* conn_process - answer the requests in the input buffer */
static void conn_process(struct policyd_conn *conn)
{
	struct evbuffer *input = bufferevent_get_input(conn->in);
	struct evbuffer *output = bufferevent_get_output(conn->out);

	while (conn->state == CONN_READING && !conn->closing) {
		struct fg_policy_request req;
		const char *error;
		size_t len = evbuffer_get_length(input), size;
		int ret;

		if (evbuffer_get_length(output) > POLICYD_OUTPUT_MAX)
			return;		/* resumed by conn_write */
		if (len == 0) {
			if (conn->eof)
				conn_finish(conn);
			return;
		}
		ret = fg_policy_parse((const char *)evbuffer_pullup(input, -1),
				      len, &req, &size, &error);
		if (ret < 0) {
			policyd_warn("%s: %s; closing without an answer",
				     conn->peer, error);
			conn_finish(conn);
			return;
		}
		if (ret == 0) {
			if (conn->eof) {
				policyd_warn("%s: connection ended inside a "
					     "request", conn->peer);
				conn_finish(conn);
			}
			return;
		}
		if (!conn_decide(conn, &req, size))
			return;
	}
}

/* conn_read - more input arrived */
static void conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

/* conn_write - the output buffer drained */
static void conn_write(struct bufferevent *bev, void *arg)
{
	struct policyd_conn *conn = arg;

	(void)bev;
	if (conn->closing)
		conn_free(conn);
	else
		conn_process(conn);
}

/* conn_event - end of input, an error, or the idle timeout */
static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct policyd_conn *conn = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_READING) != 0) {
		conn->eof = true;
		bufferevent_disable(conn->in, EV_READ);
		if (conn->state == CONN_READING)
			conn_process(conn);
	} else if ((what & BEV_EVENT_TIMEOUT) != 0) {
		if (conn->pd->verbose)
			policyd_info("%s: idle for %u ms, closing", conn->peer,
				     conn->pd->config->policy_idle_timeout);
		conn_free(conn);
	} else if ((what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) != 0) {
		int err = EVUTIL_SOCKET_ERROR();
		if ((what & BEV_EVENT_ERROR) != 0 && err != 0 &&
		    err != ECONNRESET && err != EPIPE)
			policyd_warn("%s: %s error: %s", conn->peer,
				     (what & BEV_EVENT_WRITING) != 0 ?
				     "write" : "read",
				     evutil_socket_error_to_string(err));
		conn_free(conn);
	}
}

/* conn_bev - a bufferevent for one direction of a client */
static struct bufferevent *conn_bev(struct policyd_conn *conn, int fd)
{
	struct bufferevent *bev;

	evutil_make_socket_nonblocking(fd);
	bev = bufferevent_socket_new(conn->pd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		policyd_fatal(POLICYD_EX_OSERR,
			      "bufferevent_socket_new failed");
	bufferevent_setcb(bev, conn_read, conn_write, conn_event, conn);
	return bev;
}

void policyd_conn_new(struct policyd *pd, int fd, int out_fd,
		      const char *peer)
{
	struct policyd_conn *conn = fg_xcalloc(1, sizeof(*conn));
	unsigned int idle = pd->config->policy_idle_timeout;
	struct timeval tv = { (time_t)(idle / 1000),
			      (suseconds_t)(idle % 1000) * 1000 };

	conn->pd = pd;
	conn->peer = fg_xstrdup(peer);
	conn->instance = fg_xstrdup("");
	conn->sender = fg_xstrdup("");
	conn->sender_key = fg_xstrdup("");
	conn->recipient = fg_xstrdup("");
	conn->client = fg_xstrdup("");
	conn->in = conn_bev(conn, fd);
	conn->out = out_fd == fd ? conn->in : conn_bev(conn, out_fd);
	/* Stop reading at the largest request: the parser rejects a
	   request that does not end within it. */
	bufferevent_setwatermark(conn->in, EV_READ, 0, FG_POLICY_REQUEST_MAX);
	if (idle > 0) {
		bufferevent_set_timeouts(conn->in, &tv, &tv);
		if (conn->out != conn->in)
			bufferevent_set_timeouts(conn->out, NULL, &tv);
	}
	bufferevent_enable(conn->in, EV_READ);
	if (conn->out != conn->in)
		bufferevent_enable(conn->out, EV_WRITE);

	conn->next = pd->conns;
	if (pd->conns != NULL)
		pd->conns->prev = conn;
	pd->conns = conn;
	pd->n_conns++;
	if (pd->verbose)
		policyd_info("%s: connect", conn->peer);
}

void policyd_conn_resume_all(struct policyd *pd)
{
	struct policyd_conn *conn, *next;

	for (conn = pd->conns; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->state == CONN_WAITING) {
			conn->state = CONN_READING;
			conn_process(conn);
		}
	}
}

void policyd_conn_close_all(struct policyd *pd)
{
	while (pd->conns != NULL)
		conn_free(pd->conns);
}
