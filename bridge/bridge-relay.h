#ifndef BRIDGE_RELAY_H
#define BRIDGE_RELAY_H
/*
 * NAME
 *	bridge-relay 3 - the routes of smtp_relay: SMTP relays and pipes
 * SYNOPSIS
 *	#include "bridge-relay.h"
 *
 *	relay_open(&relay, config, worker, &error);
 *	status = relay_send(&relay, config, "list=ml post_id=7", "ml",
 *			    make_sender, context, rcpt, data, size, &reply);
 *	relay_close(&relay);
 * DESCRIPTION
 *	smtp_relay names the routes (fg-transport.h: SMTP relays and pipe
 *	commands, each with optional conditions, envelope sender and From
 *	rewrite). An SMTP route has its own handle, which keeps its
 *	connection for the next message (libcurl's, fg-smtp.h, or for the
 *	fan-out on a plain smtp:// route the pipelining client,
 *	fg-smtp-pipe.h); a pipe route runs its command once per message
 *	(fg_pipe_run()).
 *
 *	relay_send() submits one message of one list to one recipient
 *	through the first route whose conditions match and that is not
 *	in back-off (fg_routes_plan()); the envelope sender is what
 *	make_sender makes of the route's sender base (its sender=, else
 *	bridge_address; NULL: the base itself), or the base with
 *	verp=no; with from= the route's copy has its From rewritten
 *	(fg_from_rewrite()). A route that fails temporarily (4xx, no
 *	connection, a pipe's EX_TEMPFAIL, signal or time-out) is skipped
 *	for smtp_relay_backoff and the next matching one is tried at
 *	once; when every matching route is skipped, all are tried. No
 *	matching route: the message is refused (permanent). Long
 *	submissions keep the worker's lease (worker_progress()).
 * DIAGNOSTICS
 *	relay_send() returns an fg_smtp_status with the route's last
 *	answer in *reply_r (a pipe's: "PATH: exit status N; output:
 *	..."); a route going into back-off is logged once, with what
 *	(the caller's "list=... post_id=..." words). relay_open() fails
 *	on a bad smtp_relay or a pipe command that is not an executable
 *	file.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-config.h"
#include "fg-transport.h"

struct worker;
struct fg_smtp;
struct fg_smtp_pipe;

/* the handle of one route */
struct relay_route {
	struct fg_smtp *smtp;
	/* the pipelining client (fg-smtp-pipe.h) where the route is plain
	   SMTP and relay_open() was asked for it; NULL: smtp */
	struct fg_smtp_pipe *pipe;
};

struct relay {
	struct fg_routes routes;	/* parsed, with back-off state */
	struct relay_route *handles;	/* one per route */
	struct worker *w;
	size_t *order;			/* room for fg_routes_plan() */
};

/* the envelope sender for a route's base address; NULL: the base */
typedef char *relay_sender_func(void *context, const char *base);

/* relay_open - parse smtp_relay and open a handle per SMTP route; with
   pipelining, a plain smtp:// route without credentials gets the
   pipelining client (fg-smtp-pipe.h) instead of libcurl */
int relay_open(struct relay *relay, const struct fg_config *c,
	       struct worker *w, bool pipelining, const char **error_r);
/* relay_close - say QUIT on every route and free them */
void relay_close(struct relay *relay);
/* relay_send - one message of list to one recipient; see DESCRIPTION */
int relay_send(struct relay *relay, const struct fg_config *c,
	       const char *what, const char *list,
	       relay_sender_func *make_sender, void *context,
	       const char *rcpt, const char *data, size_t size,
	       const char **reply_r);

#endif
