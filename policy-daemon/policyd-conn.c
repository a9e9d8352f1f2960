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
 *	Posts are counted against the rate limit once accepted: an RCPT
 *	answer that lets a post to a list through is remembered with the
 *	message's instance (fg_policy_txn), and the END-OF-MESSAGE request
 *	of that instance, which comes over the same connection, counts it
 *	once per list. A transaction that ends without its data (RSET,
 *	QUIT, a lost connection) counts nothing.
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

/* The request values in a decision's log line. */
enum conn_log_value {
	LOG_INSTANCE,
	LOG_CLIENT,
	LOG_SENDER,
	LOG_RECIPIENT,

	LOG_N
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

	/* The request waiting for a lookup, copied out of the input
	   buffer into one reused allocation (copy). */
	char *copy;
	size_t copy_size;
	const char *instance;
	char *sender;			/* lowercase */
	char *sender_key;		/* as the member sets store it */
	const char *recipient;
	const char *client;
	struct fg_policy_decision decision;
	struct policyd_lookup *lookup;

	struct fg_policy_cache cache;
	struct fg_policy_txn txn;	/* the lists of the current message */
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
	free(conn->copy);
	free(conn->peer);
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

/* conn_log_value - "name=value, " with a value from the request, "-"
   when it is empty */
static void conn_log_value(struct policyd_line *line, const char *name,
			   const struct fg_policy_value *v, size_t max)
{
	policyd_line_add(line, name);
	if (v->len == 0)
		policyd_line_add(line, "-");
	else
		policyd_line_add_value(line, v, max);
}

/* conn_log - the one log line of a decision: the request's values
   come as pointers and lengths, from the input buffer or the copy */
static void conn_log(struct policyd_conn *conn,
		     const struct fg_policy_value *v, const char *detail)
{
	const struct fg_policy_decision *d = &conn->decision;
	struct policyd_line line;

	line.len = 0;
	policyd_line_add(&line, conn->peer);
	conn_log_value(&line, ": instance=", &v[LOG_INSTANCE], 60);
	conn_log_value(&line, ", client=", &v[LOG_CLIENT], 124);
	policyd_line_add(&line, ", sender=<");
	policyd_line_add_value(&line, &v[LOG_SENDER], 252);
	policyd_line_add(&line, ">, recipient=<");
	policyd_line_add_value(&line, &v[LOG_RECIPIENT], 252);
	policyd_line_add(&line, ">, list=");
	policyd_line_add(&line, d->list[0] != '\0' ? d->list : "-");
	policyd_line_add(&line, ", reason=");
	policyd_line_add(&line, d->reason);
	if (detail != NULL) {
		/* may quote a Redis error: printable only */
		struct fg_policy_value dv = { detail, strlen(detail) };
		policyd_line_add(&line, " (");
		policyd_line_add_value(&line, &dv, 256);
		policyd_line_add(&line, ")");
	}
	policyd_line_add(&line, ", action=");
	policyd_line_add(&line, d->action);
	policyd_line_info(&line);
}

/* conn_answer - send the final decision and log it. Mail that is not
   for a list (DUNNO, no list) is logged with -v only: on a busy MX
   that is nearly every recipient, and the bridge decided nothing. */
static void conn_answer(struct policyd_conn *conn,
			const struct fg_policy_value *log_values,
			const char *detail)
{
	char answer[FG_POLICY_ACTION_MAX + 16];
	size_t len = fg_policy_answer(&conn->decision, answer, sizeof(answer));

	struct evbuffer *output = bufferevent_get_output(conn->out);
	const char *p = answer;

	if (conn->decision.list[0] != '\0' || conn->pd->verbose ||
	    strcmp(conn->decision.action, "DUNNO") != 0)
		conn_log(conn, log_values, detail);
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

/* conn_request_log - the logged values of a request in the buffer */
static void conn_request_log(const struct fg_policy_request *req,
			     struct fg_policy_value v[LOG_N])
{
	static const enum fg_policy_attr attrs[LOG_N] = {
		[LOG_INSTANCE] = FG_POLICY_INSTANCE,
		[LOG_CLIENT] = FG_POLICY_CLIENT_ADDRESS,
		[LOG_SENDER] = FG_POLICY_SENDER,
		[LOG_RECIPIENT] = FG_POLICY_RECIPIENT,
	};

	for (unsigned int i = 0; i < LOG_N; i++) {
		v[i] = req->attrs[attrs[i]];
		if (v[i].data == NULL) {
			v[i].data = "";
			v[i].len = 0;
		}
	}
}

/* conn_copy_log - the logged values of the copied request */
static void conn_copy_log(const struct policyd_conn *conn,
			  struct fg_policy_value v[LOG_N])
{
	v[LOG_INSTANCE].data = conn->instance;
	v[LOG_CLIENT].data = conn->client;
	v[LOG_SENDER].data = conn->sender;
	v[LOG_RECIPIENT].data = conn->recipient;
	for (unsigned int i = 0; i < LOG_N; i++)
		v[i].len = strlen(v[i].data);
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

/* conn_take_request - copy what the lookup, the decision and the log
   need, then drop the request from the input buffer */
static void conn_take_request(struct policyd_conn *conn,
			      const struct fg_policy_request *req,
			      size_t size)
{
	static const enum fg_policy_attr attrs[] = {
		FG_POLICY_INSTANCE, FG_POLICY_SENDER, FG_POLICY_RECIPIENT,
		FG_POLICY_CLIENT_ADDRESS,
	};
	const char **slots[] = {
		&conn->instance, (const char **)&conn->sender,
		&conn->recipient, &conn->client,
	};
	size_t need = req->attrs[FG_POLICY_SENDER].len + 1, pos = 0;

	for (unsigned int i = 0; i < FG_N_ELEMENTS(attrs); i++)
		need += req->attrs[attrs[i]].len + 1;
	if (need > conn->copy_size) {
		conn->copy = fg_xrealloc(conn->copy, need);
		conn->copy_size = need;
	}
	for (unsigned int i = 0; i < FG_N_ELEMENTS(attrs); i++) {
		const struct fg_policy_value *v = &req->attrs[attrs[i]];
		*slots[i] = conn->copy + pos;
		if (v->len > 0)
			memcpy(conn->copy + pos, v->data, v->len);
		conn->copy[pos + v->len] = '\0';
		pos += v->len + 1;
	}
	fg_str_lower(conn->sender);
	conn_verp_base(conn);
	conn->sender_key = conn->copy + pos;
	memcpy(conn->sender_key, conn->sender, strlen(conn->sender) + 1);
	fg_policy_sender_normalize(&conn->pd->policy, conn->sender_key);
	evbuffer_drain(bufferevent_get_input(conn->in), size);
}

/* conn_note_post - the answer lets a post through: count it at
   END-OF-MESSAGE */
static void conn_note_post(struct policyd_conn *conn)
{
	if (conn->decision.post)
		fg_policy_txn_add(&conn->txn, conn->instance,
				  conn->sender_key, conn->decision.list);
}

/* conn_end_of_message - the message was accepted: count it for each
   list its RCPT answers let it post to, then answer DUNNO */
static void conn_end_of_message(struct policyd_conn *conn,
				const struct fg_policy_request *req)
{
	struct fg_policy_decision *d = &conn->decision;
	struct fg_policy_value log_values[LOG_N];
	struct fg_policy_txn msg;
	char *instance = fg_policy_value_dup(req, FG_POLICY_INSTANCE, false);
	char detail[256];
	size_t len = 0;

	conn_request_log(req, log_values);
	if (!fg_policy_txn_end(&conn->txn, instance, &msg)) {
		free(instance);
		conn_answer(conn, log_values, NULL);
		return;
	}
	free(instance);
	detail[0] = '\0';
	for (unsigned int i = 0; i < msg.count; i++) {
		const char *error, *what = "counted";
		int n;

		if (policyd_redis_count(conn->pd->redis, msg.lists[i],
					msg.sender, &error) < 0) {
			policyd_warn("%s: a post to list %s was not counted: "
				     "%s", conn->peer, msg.lists[i], error);
			what = "not counted";
		}
		n = snprintf(detail + len, sizeof(detail) - len, "%s%s %s",
			     i > 0 ? ", " : "", msg.lists[i], what);
		if (n > 0 && (size_t)n < sizeof(detail) - len)
			len += (size_t)n;
	}
	/* the log line names the lists; the sender is the one counted */
	snprintf(d->list, sizeof(d->list), "%s", msg.lists[0]);
	d->reason = "end of message, post";
	log_values[LOG_SENDER].data = msg.sender;
	log_values[LOG_SENDER].len = strlen(msg.sender);
	conn_answer(conn, log_values, detail);
}

/* conn_member_done - the membership lookup ended */
static void conn_member_done(void *context,
			     const struct fg_policy_facts *facts,
			     const char *error)
{
	struct policyd_conn *conn = context;
	struct fg_policy_value log_values[LOG_N];

	conn->lookup = NULL;
	if (facts != NULL)
		fg_policy_cache_put_facts(&conn->cache, conn->instance,
					  conn->sender_key,
					  conn->decision.list, facts);
	fg_policy_facts(&conn->decision, &conn->pd->policy, conn->sender,
			facts);
	conn_note_post(conn);
	conn_copy_log(conn, log_values);
	conn_answer(conn, log_values, facts == NULL ? error : NULL);
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
	struct fg_policy_value log_values[LOG_N];
	const struct fg_policy_list_facts *lf;

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

	if (d->verdict == FG_POLICY_END_OF_MESSAGE) {
		conn_end_of_message(conn, req);
		evbuffer_drain(bufferevent_get_input(conn->in), size);
		return true;
	}
	if (d->verdict == FG_POLICY_ANSWER) {
		/* Answered from the request itself: log it from the input
		   buffer, no copy. */
		conn_request_log(req, log_values);
		conn_answer(conn, log_values, NULL);
		evbuffer_drain(bufferevent_get_input(conn->in), size);
		return true;
	}

	conn_take_request(conn, req, size);
	conn_copy_log(conn, log_values);
	if (d->verdict == FG_POLICY_NEED_ADDRESSES) {
		fg_policy_facts(d, &pd->policy, conn->sender, NULL);
		d->reason = "posting addresses not known";
		conn_answer(conn, log_values, "Redis unavailable since startup");
		return true;
	}

	if (fg_policy_cache_get_facts(&conn->cache, conn->instance,
				      conn->sender_key, d->list, &cached) > 0) {
		fg_policy_facts(d, &pd->policy, conn->sender, &cached);
		conn_note_post(conn);
		conn_answer(conn, log_values, "same message");
		return true;
	}
	/* The list's facts in memory answer, unless the post has to be
	   counted: only Redis counts. */
	lf = policyd_redis_list_facts(pd->redis, d->list);
	if (lf != NULL) {
		fg_policy_list_facts_get(lf, conn->sender_key, &cached);
		if (!fg_policy_counts(&pd->policy) ||
		    (!d->control && !fg_policy_facts_can_post(&cached))) {
			fg_policy_facts(d, &pd->policy, conn->sender, &cached);
			conn_note_post(conn);
			conn_answer(conn, log_values, NULL);
			return true;
		}
	}
	if (policyd_redis_is_member(pd->redis, d->list, conn->sender_key,
				    conn_member_done, conn, &conn->lookup,
				    &error) < 0) {
		fg_policy_facts(d, &pd->policy, conn->sender, NULL);
		conn_answer(conn, log_values, error);
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
	const struct timeval *tv = pd->idle_timeout;

	conn->pd = pd;
	conn->peer = fg_xstrdup(peer);
	conn->in = conn_bev(conn, fd);
	conn->out = out_fd == fd ? conn->in : conn_bev(conn, out_fd);
	/* Stop reading at the largest request: the parser rejects a
	   request that does not end within it. */
	bufferevent_setwatermark(conn->in, EV_READ, 0, FG_POLICY_REQUEST_MAX);
	if (idle > 0) {
		bufferevent_set_timeouts(conn->in, tv, tv);
		if (conn->out != conn->in)
			bufferevent_set_timeouts(conn->out, NULL, tv);
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
