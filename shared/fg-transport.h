#ifndef FG_TRANSPORT_H
#define FG_TRANSPORT_H
/*
 * NAME
 *	fg-transport 3 - the routes of smtp_relay: parsing, choice, pipes
 * SYNOPSIS
 *	#include "fg-transport.h"
 *
 *	fg_routes_parse(config->smtp_relay, &routes, &error);
 *	n = fg_routes_plan(&routes, now_ms, list, rcpt, order);
 *	fg_route_failed(&routes.routes[order[0]], now_ms, backoff_ms);
 *	status = fg_pipe_run(&request, &reply);
 *	fg_from_rewrite(data, size, "list@example.org", &out, &out_size,
 *			&error);
 *	fg_routes_free(&routes);
 * DESCRIPTION
 *	forumgated hands every message it sends (a forum post to a list,
 *	a list-mode copy to a subscriber) to the first route of
 *	smtp_relay whose conditions match the message and which is
 *	available. The setting is a comma-separated list of routes:
 *
 *	    smtp://host:port [OPTION ...]
 *	    smtps://user:password@host:port [OPTION ...]
 *	    host[:port] [OPTION ...]
 *	    pipe [OPTION ...] argv=/absolute/path [ARG ...]
 *
 *	Words are separated by white space; a word in double quotes
 *	may hold white space and commas ("\"" and "\\" inside). A comma
 *	outside quotes ends a route. The options:
 *
 *	sender=ADDRESS	the envelope sender's base: the VERP return path
 *			is built on it (default: the caller's,
 *			bridge_address).
 *	verp=no		the envelope sender is the base itself, no VERP
 *			(default yes).
 *	from=ADDRESS	the From header's address becomes ADDRESS (the
 *			display name is kept); the author's address is
 *			added to Reply-To and the original From kept in
 *			X-Original-From (fg_from_rewrite()).
 *	domains=D[:D...]  the route is used only for recipients in these
 *			domains: "example.org" is that domain,
 *			".example.org" any of its subdomains.
 *	lists=L[:L...]	the route is used only for these lists' mail.
 *	timeout=DURATION  a pipe route's time limit (default: the
 *			caller's, smtp_timeout).
 *	argv=PATH ARG...  a pipe route's command, the last option: every
 *			word after it is an argument. PATH is absolute.
 *
 *	An existing "URL [sender=ADDRESS], ..." keeps its meaning: every
 *	route without conditions matches every message.
 *
 *	The pipe's arguments may hold ${sender} (the envelope sender, ""
 *	for the null sender), ${recipient}, ${user} and ${domain} (the
 *	recipient's local part and domain), ${list}, and $$ for a "$";
 *	$name is the same as ${name}. Each is substituted inside its
 *	word, never split or given to a shell; a word naming ${recipient},
 *	${user} or ${domain} is repeated once per recipient (as Postfix's
 *	pipe(8) does). Any other $ is an error when the setting is read.
 *
 *	Choice. fg_routes_plan() lists the routes to try for one
 *	recipient, in their order: those whose conditions match and that
 *	are not in back-off; when every matching route is in back-off,
 *	all matching routes (trying beats waiting for nothing). None
 *	matches: 0 routes, the caller refuses the message.
 *	fg_route_failed() puts a route into back-off until now +
 *	backoff_ms; fg_route_worked() takes it out and says whether it
 *	was in.
 *
 *	Pipe. fg_pipe_run() runs the command without a shell, in a
 *	session of its own, as the caller's user, with a clean
 *	environment (PATH=/usr/bin:/bin, HOME, LOGNAME, USER and SHELL of
 *	that user, TZ and LANG when set) and no other open descriptor;
 *	the message goes to its standard input with LF line ends (as
 *	Postfix's pipe(8) writes it). Standard output and error are read
 *	together, their first FG_PIPE_OUTPUT_MAX bytes kept. The outcome,
 *	as sendmail and pipe(8) read exit codes (sysexits.h):
 *
 *	FG_SMTP_OK		exit 0 (a command that stops reading its
 *				input early and exits 0 took the message).
 *	FG_SMTP_TRANSIENT	exit 75 (EX_TEMPFAIL) or 71 (EX_OSERR);
 *				killed by a signal; the time limit passed
 *				(the whole session is killed); the command
 *				could not be started.
 *	FG_SMTP_PERMANENT	any other exit status.
 *
 *	From. fg_from_rewrite() changes the header block only: the body
 *	passes byte for byte (a signed part stays valid), and the copy a
 *	fan-out shares between recipients is not parsed again for each.
 *	A message without exactly one From address is refused.
 * BOUNDS
 *	FG_ROUTES_MAX routes, FG_PIPE_ARGS_MAX words in a command,
 *	FG_ROUTE_CONDITIONS_MAX domains or lists in a condition.
 * DIAGNOSTICS
 *	fg_routes_parse() and fg_from_rewrite() return 0, or -1 with
 *	*error_r. fg_pipe_run() returns an enum fg_smtp_status and sets
 *	*reply_r to one line: "exit status 0", or the failure and the
 *	command's output (valid until a few more errors are formatted in
 *	the same thread). Never logs.
 */
#include <stdbool.h>
#include <stddef.h>

#define FG_ROUTES_MAX 32
#define FG_PIPE_ARGS_MAX 64
#define FG_ROUTE_CONDITIONS_MAX 64
#define FG_PIPE_OUTPUT_MAX 512

enum fg_route_kind {
	FG_ROUTE_SMTP,
	FG_ROUTE_PIPE,
};

struct fg_route {
	enum fg_route_kind kind;
	char *relay;		/* SMTP: the URL as written (credentials too) */
	char *shown;		/* for logs: URL less userinfo, "pipe:PATH" */
	char **argv;		/* pipe: the command's template */
	size_t argc;
	char *sender;		/* envelope sender base; NULL: the caller's */
	bool verp;		/* VERP on the base (default) or the base */
	char *from;		/* From rewrite address; NULL: untouched */
	char **domains;		/* recipient domain condition */
	size_t n_domains;
	char **lists;		/* list condition */
	size_t n_lists;
	unsigned int timeout_ms;	/* pipe: 0 is the caller's */
	long long skip_until_ms;	/* in back-off until then */
};

struct fg_routes {
	struct fg_route *routes;
	size_t n_routes;
};

/* What fg_pipe_run() runs and with what. */
struct fg_pipe_request {
	const struct fg_route *route;	/* a FG_ROUTE_PIPE route */
	const char *sender;		/* "" is the null sender */
	const char *const *rcpts;
	size_t n_rcpts;
	const char *list;		/* NULL: "" */
	const char *data;		/* the message, CR LF or LF */
	size_t size;
	unsigned int timeout_ms;	/* when the route has none */
	/* optional: called about once a second while the command runs
	   (the caller keeps a lease alive); its result is ignored */
	int (*progress)(void *context);
	void *progress_context;
};

/* fg_routes_parse - smtp_relay's value into routes */
int fg_routes_parse(const char *value, struct fg_routes *routes_r,
		    const char **error_r);
/* fg_routes_free - free the routes; the struct is zeroed */
void fg_routes_free(struct fg_routes *routes);
/* fg_route_matches - do the route's conditions take this message */
bool fg_route_matches(const struct fg_route *route, const char *list,
		      const char *rcpt);
/* fg_routes_plan - the routes to try, in order (order_r holds
   n_routes); returns how many */
size_t fg_routes_plan(const struct fg_routes *routes, long long now_ms,
		      const char *list, const char *rcpt, size_t *order_r);
/* fg_route_failed - into back-off; true when it was not in it before */
bool fg_route_failed(struct fg_route *route, long long now_ms,
		     unsigned int backoff_ms);
/* fg_route_worked - out of back-off; true when it was in it */
bool fg_route_worked(struct fg_route *route);

/* fg_pipe_argv - the command's arguments for this message, NULL-
   terminated; *argc_r of them (caller frees: fg_strv_free()) */
char **fg_pipe_argv(const struct fg_route *route, const char *sender,
		    const char *const *rcpts, size_t n_rcpts,
		    const char *list, size_t *argc_r);
/* fg_pipe_placeholder - the placeholder that starts at p ("$$",
   "$name", "${name}" of a known name): the bytes it takes, with its
   name ("$" for "$$"); 0 when there is none */
size_t fg_pipe_placeholder(const char *p, const char **name_r,
			   size_t *len_r);
/* fg_pipe_run - hand the message to the route's command */
int fg_pipe_run(const struct fg_pipe_request *req, const char **reply_r);

/* fg_from_rewrite - From's address becomes address; see DESCRIPTION */
int fg_from_rewrite(const char *data, size_t size, const char *address,
		    char **out_r, size_t *out_size_r, const char **error_r);

#endif
