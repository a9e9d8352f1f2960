/*
 * NAME
 *	policy-noop - a policy server that answers DUNNO to everything
 * SYNOPSIS
 *	policy-noop port
 * DESCRIPTION
 *	The baseline of bench/policy: the same event loop (libevent
 *	bufferevents), the same request parser (fg_policy_parse) and the
 *	same answer path as forumgate-policyd, but no decision, no log and no
 *	Redis, so its rate is what the protocol and the loop allow on
 *	this machine.
 */
#include "fg-policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void noop_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	for (;;) {
		struct fg_policy_request req;
		const char *error;
		size_t len = evbuffer_get_length(in), size;
		int ret;

		if (len == 0)
			return;
		ret = fg_policy_parse((const char *)evbuffer_pullup(in, -1), len,
				      &req, &size, &error);
		if (ret < 0) {
			bufferevent_free(bev);
			return;
		}
		if (ret == 0)
			return;
		evbuffer_drain(in, size);
		/* the daemon's answer path: write at once when nothing
		   waits to go out, otherwise through the buffer */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
		    write(bufferevent_getfd(bev), "action=DUNNO\n\n", 14) == 14)
			continue;
		bufferevent_write(bev, "action=DUNNO\n\n", 14);
	}
}

static void noop_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void noop_accept(struct evconnlistener *l, evutil_socket_t fd,
			struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(arg, fd,
							 BEV_OPT_CLOSE_ON_FREE);

	(void)l;
	(void)sa;
	(void)salen;
	bufferevent_setcb(bev, noop_read, NULL, noop_event, NULL);
	bufferevent_enable(bev, EV_READ);
}

int main(int argc, char **argv)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in sin;

	if (argc != 2) {
		fprintf(stderr, "usage: policy-noop port\n");
		return 64;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (evconnlistener_new_bind(base, noop_accept, base,
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
				    -1, (struct sockaddr *)&sin,
				    sizeof(sin)) == NULL) {
		perror("bind");
		return 71;
	}
	event_base_dispatch(base);
	return 0;
}
