/*
 * NAME
 *	bridge-relay 3 - the routes of smtp_relay: SMTP relays and pipes
 * DESCRIPTION
 *	See bridge-relay.h. Both directions that send mail use it: the
 *	forum->list worker (a forum post to a list manager) and the
 *	fan-out (a list-mode post to each subscriber). Parsing, the
 *	choice of routes, the pipe runner and the From rewrite are the
 *	library's (fg-transport.h); this file owns the handles, the log
 *	and the lease.
 */
#include "bridge-relay.h"
#include "bridge-worker.h"
#include "fg-secret.h"
#include "fg-smtp.h"
#include "fg-smtp-pipe.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* relay_open - see bridge-relay.h */
int relay_open(struct relay *relay, const struct fg_config *c,
	       struct worker *w, bool pipelining, const char **error_r)
{
	bool catch_all = false;

	memset(relay, 0, sizeof(*relay));
	relay->w = w;
	if (fg_routes_parse(c->smtp_relay, &relay->routes, error_r) < 0)
		return -1;
	relay->handles = fg_xcalloc(relay->routes.n_routes,
				    sizeof(*relay->handles));
	relay->order = fg_xcalloc(relay->routes.n_routes,
				  sizeof(*relay->order));
	for (size_t i = 0; i < relay->routes.n_routes; i++) {
		const struct fg_route *r = &relay->routes.routes[i];
		/* a long submission keeps the list's lease */
		struct fg_smtp_settings sset = {
			.relay = r->relay,
			.timeout_ms = c->smtp_timeout,
			.progress = worker_progress,
			.progress_context = w,
		};

		if (r->n_domains == 0 && r->n_lists == 0)
			catch_all = true;
		if (r->kind == FG_ROUTE_PIPE) {
			if (access(r->argv[0], X_OK) < 0) {
				*error_r = fg_errorf("smtp_relay: pipe %s is "
						     "not an executable file",
						     r->argv[0]);
				relay_close(relay);
				return -1;
			}
			continue;
		}
		if (pipelining && fg_smtp_pipe_usable(sset.relay)) {
			if (fg_smtp_pipe_init(sset.relay, NULL, sset.timeout_ms,
					      &relay->handles[i].pipe,
					      error_r) < 0) {
				relay_close(relay);
				return -1;
			}
			continue;
		}
		if (fg_smtp_init(&sset, &relay->handles[i].smtp, error_r) < 0) {
			relay_close(relay);
			return -1;
		}
	}
	if (!catch_all)
		msg_info("smtp_relay: every route has a condition: mail that "
			 "matches none is refused");
	return 0;
}

/* relay_close - see bridge-relay.h */
void relay_close(struct relay *relay)
{
	for (size_t i = 0; relay->handles != NULL &&
		     i < relay->routes.n_routes; i++) {
		fg_smtp_deinit(&relay->handles[i].smtp);
		fg_smtp_pipe_deinit(&relay->handles[i].pipe);
	}
	fg_routes_free(&relay->routes);
	free(relay->handles);
	free(relay->order);
	memset(relay, 0, sizeof(*relay));
}

/* relay_route_send - one try on one route */
static int relay_route_send(struct relay *relay, const struct fg_config *c,
			    size_t i, const char *list, const char *sender,
			    const char *rcpt, const char *data, size_t size,
			    const char **reply_r)
{
	const struct fg_route *r = &relay->routes.routes[i];
	struct relay_route *h = &relay->handles[i];
	char *rewritten = NULL;
	size_t rewritten_size;
	int status;

	if (r->from != NULL) {
		if (fg_from_rewrite(data, size, r->from, &rewritten,
				    &rewritten_size, reply_r) < 0)
			return FG_SMTP_PERMANENT;
		data = rewritten;
		size = rewritten_size;
	}
	if (r->kind == FG_ROUTE_PIPE) {
		struct fg_pipe_request req = {
			.route = r,
			.sender = sender,
			.rcpts = &rcpt,
			.n_rcpts = 1,
			.list = list,
			.data = data,
			.size = size,
			.timeout_ms = c->smtp_timeout,
			.progress = worker_progress,
			.progress_context = relay->w,
		};
		status = fg_pipe_run(&req, reply_r);
	} else if (h->pipe != NULL) {
		status = fg_smtp_pipe_send(h->pipe, sender, rcpt, data, size,
					   reply_r);
	} else {
		status = fg_smtp_send(h->smtp, sender, &rcpt, 1, data, size,
				      reply_r);
	}
	free(rewritten);
	return status;
}

/* relay_send - through the matching routes in order; see bridge-relay.h */
int relay_send(struct relay *relay, const struct fg_config *c,
	       const char *what, const char *list,
	       relay_sender_func *make_sender, void *context,
	       const char *rcpt, const char *data, size_t size,
	       const char **reply_r)
{
	size_t n = fg_routes_plan(&relay->routes, bridge_now_ms(), list, rcpt,
				  relay->order);
	int status = FG_SMTP_TRANSIENT;

	if (n == 0) {
		*reply_r = fg_errorf("no route of smtp_relay takes <%s> of "
				     "list %s", rcpt, list != NULL ? list : "");
		return FG_SMTP_PERMANENT;
	}
	for (size_t k = 0; k < n; k++) {
		struct fg_route *r = &relay->routes.routes[relay->order[k]];
		const char *base = r->sender != NULL ? r->sender :
			c->bridge_address;
		char *sender = r->verp ? make_sender(context, base) : NULL;

		status = relay_route_send(relay, c, relay->order[k], list,
					  sender != NULL ? sender : base, rcpt,
					  data, size, reply_r);
		free(sender);
		if (status != FG_SMTP_TRANSIENT) {
			if (fg_route_worked(r))
				msg_info("route %s: works again", r->shown);
			return status;
		}
		/* Said once, when the route goes into back-off; tried again
		   while every route is in back-off, it fails quietly (the
		   caller's "relay deferred" line has the last answer). */
		if (fg_route_failed(r, bridge_now_ms(), c->smtp_relay_backoff))
			msg_warn("%s: route %s: %s; skipped for %u.%03us",
				 what, r->shown, *reply_r,
				 c->smtp_relay_backoff / 1000,
				 c->smtp_relay_backoff % 1000);
	}
	return status;
}
