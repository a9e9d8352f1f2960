#ifndef BRIDGE_RELAY_H
#define BRIDGE_RELAY_H
/*
 * NAME
 *	bridge-relay 3 - the SMTP routes of smtp_relay
 * SYNOPSIS
 *	#include "bridge-relay.h"
 *
 *	relay_open(&relay, config, worker, &error);
 *	status = relay_send(&relay, config, "list=ml post_id=7",
 *			    make_sender, context, rcpt, data, size, &reply);
 *	relay_close(&relay);
 * DESCRIPTION
 *	smtp_relay names one or more routes, "URL [sender=ADDRESS]"
 *	separated by commas; each has its own SMTP handle, which keeps its
 *	connection for the next message (libcurl's, fg-smtp.h, or for the
 *	fan-out on a plain smtp:// route the pipelining client,
 *	fg-smtp-pipe.h). relay_send() submits one message
 *	to one recipient through the routes in order: the envelope sender
 *	is what make_sender makes of the route's sender base (its
 *	sender=, else bridge_address; NULL: the base itself). A route
 *	that answers 4xx or cannot be reached is skipped for
 *	smtp_relay_backoff and the next one is tried at once; when every
 *	route is skipped, all are tried. Long submissions keep the
 *	worker's lease (worker_progress()).
 * DIAGNOSTICS
 *	relay_send() returns an fg_smtp_status with the relay's last
 *	answer in *reply_r; a route going into back-off is logged once,
 *	with what (the caller's "list=... post_id=..." words).
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-config.h"

struct worker;
struct fg_smtp;
struct fg_smtp_pipe;

struct relay_route {
	char *relay;
	char *shown;			/* relay less userinfo, for the log */
	char *sender;			/* NULL: bridge_address */
	struct fg_smtp *smtp;
	/* the pipelining client (fg-smtp-pipe.h) where the route is plain
	   SMTP and relay_open() was asked for it; NULL: smtp */
	struct fg_smtp_pipe *pipe;
	long long skip_until_ms;	/* failed: not tried before */
};

struct relay {
	struct relay_route *routes;
	size_t n_routes;
};

/* the envelope sender for a route's base address; NULL: the base */
typedef char *relay_sender_func(void *context, const char *base);

/* relay_open - parse smtp_relay and open a handle per route; with
   pipelining, a plain smtp:// route without credentials gets the
   pipelining client (fg-smtp-pipe.h) instead of libcurl */
int relay_open(struct relay *relay, const struct fg_config *c,
	       struct worker *w, bool pipelining, const char **error_r);
/* relay_close - say QUIT on every route and free them */
void relay_close(struct relay *relay);
/* relay_send - one message to one recipient; see DESCRIPTION */
int relay_send(struct relay *relay, const struct fg_config *c,
	       const char *what, relay_sender_func *make_sender,
	       void *context, const char *rcpt, const char *data,
	       size_t size, const char **reply_r);

#endif
