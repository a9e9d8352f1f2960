/*
 * NAME
 *	bridge-relay 3 - the SMTP routes of smtp_relay
 * DESCRIPTION
 *	See bridge-relay.h. Both directions that send mail use it: the
 *	forum->list worker (a forum post to a list manager) and the
 *	fan-out (a list-mode post to each subscriber).
 */
#include "bridge-relay.h"
#include "bridge-worker.h"
#include "fg-secret.h"
#include "fg-smtp.h"
#include "fg-smtp-pipe.h"

#include <stdlib.h>
#include <string.h>

/* relay_parse_routes - smtp_relay: "URL [sender=ADDRESS], ..." */
static int relay_parse_routes(struct relay *relay, const struct fg_config *c,
			      const char **error_r)
{
	char *copy = fg_xstrdup(c->smtp_relay != NULL ? c->smtp_relay : "");
	char *save = NULL, *item;

	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		char *save2 = NULL, *tok, *url = NULL, *sender = NULL;
		struct relay_route *r;

		for (tok = strtok_r(item, " \t", &save2); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save2)) {
			if (url == NULL)
				url = tok;
			else if (strncmp(tok, "sender=", 7) == 0 &&
				 sender == NULL && strchr(tok + 7, '@') != NULL)
				sender = tok + 7;
			else {
				char *shown = fg_url_redact(url);

				*error_r = fg_errorf("smtp_relay: unexpected "
						     "'%s' after %s", tok,
						     shown);
				free(shown);
				free(copy);
				return -1;
			}
		}
		if (url == NULL)
			continue;
		relay->routes = fg_xrealloc(relay->routes,
					    (relay->n_routes + 1) *
					    sizeof(*relay->routes));
		r = &relay->routes[relay->n_routes++];
		memset(r, 0, sizeof(*r));
		r->relay = fg_xstrdup(url);
		r->shown = fg_url_redact(url);
		r->sender = sender != NULL ? fg_xstrdup(sender) : NULL;
	}
	free(copy);
	if (relay->n_routes == 0) {
		*error_r = "smtp_relay names no relay";
		return -1;
	}
	return 0;
}

/* relay_open - see bridge-relay.h */
int relay_open(struct relay *relay, const struct fg_config *c,
	       struct worker *w, bool pipelining, const char **error_r)
{
	memset(relay, 0, sizeof(*relay));
	if (relay_parse_routes(relay, c, error_r) < 0) {
		relay_close(relay);
		return -1;
	}
	for (size_t i = 0; i < relay->n_routes; i++) {
		/* a long submission keeps the list's lease */
		struct fg_smtp_settings sset = {
			.relay = relay->routes[i].relay,
			.timeout_ms = c->smtp_timeout,
			.progress = worker_progress,
			.progress_context = w,
		};
		if (pipelining && fg_smtp_pipe_usable(sset.relay)) {
			if (fg_smtp_pipe_init(sset.relay, NULL, sset.timeout_ms,
					      &relay->routes[i].pipe,
					      error_r) < 0) {
				relay_close(relay);
				return -1;
			}
			continue;
		}
		if (fg_smtp_init(&sset, &relay->routes[i].smtp, error_r) < 0) {
			relay_close(relay);
			return -1;
		}
	}
	return 0;
}

/* relay_close - see bridge-relay.h */
void relay_close(struct relay *relay)
{
	for (size_t i = 0; i < relay->n_routes; i++) {
		fg_smtp_deinit(&relay->routes[i].smtp);
		fg_smtp_pipe_deinit(&relay->routes[i].pipe);
		free(relay->routes[i].relay);
		free(relay->routes[i].shown);
		free(relay->routes[i].sender);
	}
	free(relay->routes);
	memset(relay, 0, sizeof(*relay));
}

/* relay_send - through the routes in order; see bridge-relay.h */
int relay_send(struct relay *relay, const struct fg_config *c,
	       const char *what, relay_sender_func *make_sender,
	       void *context, const char *rcpt, const char *data,
	       size_t size, const char **reply_r)
{
	long long now = bridge_now_ms();
	int status = FG_SMTP_TRANSIENT;
	size_t n_ready = 0;

	*reply_r = "no relay";
	for (size_t i = 0; i < relay->n_routes; i++) {
		if (relay->routes[i].skip_until_ms <= now)
			n_ready++;
	}
	for (size_t i = 0; i < relay->n_routes; i++) {
		struct relay_route *r = &relay->routes[i];
		const char *base = r->sender != NULL ? r->sender :
			c->bridge_address;
		char *sender;

		/* every route skipped: try them all rather than none */
		if (n_ready > 0 && r->skip_until_ms > now)
			continue;
		sender = make_sender(context, base);
		if (r->pipe != NULL)
			status = fg_smtp_pipe_send(r->pipe, sender != NULL ?
						   sender : base, rcpt, data,
						   size, reply_r);
		else
			status = fg_smtp_send(r->smtp, sender != NULL ? sender :
					      base, &rcpt, 1, data, size,
					      reply_r);
		free(sender);
		if (status != FG_SMTP_TRANSIENT) {
			if (r->skip_until_ms != 0)
				msg_info("route %s: works again", r->shown);
			r->skip_until_ms = 0;
			return status;
		}
		/* Said once, when the route goes into back-off; tried again
		   while every route is in back-off, it fails quietly (the
		   caller's "relay deferred" line has the last answer). */
		if (r->skip_until_ms <= now)
			msg_warn("%s: route %s: %s; skipped for %u.%03us",
				 what, r->shown, *reply_r,
				 c->smtp_relay_backoff / 1000,
				 c->smtp_relay_backoff % 1000);
		r->skip_until_ms = bridge_now_ms() + c->smtp_relay_backoff;
	}
	return status;
}
