/*
 * NAME
 *	fg-transport 3 - the routes of smtp_relay: parsing and choice
 * DESCRIPTION
 *	See fg-transport.h. The value is read in two passes: words (with
 *	quotes, split into routes at unquoted commas), then each route's
 *	words into a struct fg_route. Nothing here opens a connection or
 *	runs a command: fg-transport-pipe.c runs pipes, the daemon opens
 *	SMTP handles.
 */
#include "fg-transport.h"
#include "fg-common.h"
#include "fg-secret.h"
#include "fg-smtp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* the words of one route */
struct fg_route_words {
	char **words;
	size_t n;
};

/* fg_routes_words - split the value into routes of words; quotes keep
   white space and commas in a word */
static int fg_routes_words(const char *value, struct fg_route_words **routes_r,
			   size_t *n_routes_r, const char **error_r)
{
	struct fg_route_words *routes = fg_xcalloc(1, sizeof(*routes));
	size_t n_routes = 1;
	const char *p = value;

	while (*p != '\0') {
		struct fg_route_words *r = &routes[n_routes - 1];
		struct fg_buf word = { NULL, 0, 0 };
		bool quoted = false;

		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == ',') {
			if (n_routes == FG_ROUTES_MAX) {
				*error_r = fg_errorf("smtp_relay: more than %d "
						     "routes", FG_ROUTES_MAX);
				goto fail;
			}
			routes = fg_xrealloc(routes, (n_routes + 1) *
					     sizeof(*routes));
			memset(&routes[n_routes++], 0, sizeof(*routes));
			p++;
			continue;
		}
		fg_buf_puts(&word, "");
		while (*p != '\0') {
			if (*p == '"') {
				quoted = !quoted;
				p++;
			} else if (quoted && *p == '\\' &&
				   (p[1] == '"' || p[1] == '\\')) {
				fg_buf_putc(&word, p[1]);
				p += 2;
			} else if (!quoted && strchr(" \t\r\n,", *p) != NULL) {
				break;
			} else {
				fg_buf_putc(&word, *p++);
			}
		}
		if (quoted) {
			fg_buf_free(&word);
			*error_r = "smtp_relay: a quote is not closed";
			goto fail;
		}
		if (r->n == FG_PIPE_ARGS_MAX + 8) {
			fg_buf_free(&word);
			*error_r = "smtp_relay: a route has too many words";
			goto fail;
		}
		r->words = fg_xrealloc(r->words, (r->n + 1) * sizeof(char *));
		r->words[r->n++] = fg_buf_steal(&word);
	}
	*routes_r = routes;
	*n_routes_r = n_routes;
	return 0;
fail:
	for (size_t i = 0; i < n_routes; i++)
		fg_strv_free(routes[i].words, routes[i].n);
	free(routes);
	return -1;
}

/* fg_route_domain_ok - a domain condition: letters, digits, '-', '.',
   optionally a leading '.' (the subdomains) */
static bool fg_route_domain_ok(const char *d)
{
	const char *p = *d == '.' ? d + 1 : d;

	if (*p == '\0' || *p == '.' || strstr(p, "..") != NULL ||
	    p[strlen(p) - 1] == '.')
		return false;
	for (; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.'))
			return false;
	}
	return true;
}

/* fg_route_condition - "a:b:c" into a vector, each checked */
static int fg_route_condition(const char *name, const char *value,
			      bool domains, char ***v_r, size_t *n_r,
			      const char **error_r)
{
	char *copy = fg_str_lower(fg_xstrdup(value)), *save = NULL, *item;

	if (*v_r != NULL) {
		*error_r = fg_errorf("smtp_relay: %s= given twice in a route",
				     name);
		free(copy);
		return -1;
	}
	for (item = strtok_r(copy, ":, ", &save); item != NULL;
	     item = strtok_r(NULL, ":, ", &save)) {
		if (domains ? !fg_route_domain_ok(item) :
		    !fg_list_name_valid(item)) {
			*error_r = fg_errorf("smtp_relay: %s=: '%s' is not a "
					     "%s", name, item,
					     domains ? "domain" : "list name");
			goto fail;
		}
		if (*n_r == FG_ROUTE_CONDITIONS_MAX) {
			*error_r = fg_errorf("smtp_relay: %s=: more than %d",
					     name, FG_ROUTE_CONDITIONS_MAX);
			goto fail;
		}
		*v_r = fg_xrealloc(*v_r, (*n_r + 2) * sizeof(char *));
		(*v_r)[(*n_r)++] = fg_xstrdup(item);
		(*v_r)[*n_r] = NULL;
	}
	free(copy);
	if (*n_r == 0) {
		*error_r = fg_errorf("smtp_relay: %s= is empty", name);
		return -1;
	}
	return 0;
fail:
	free(copy);
	return -1;
}

/* fg_pipe_template_ok - every $ of a pipe argument is a placeholder */
static bool fg_pipe_template_ok(const char *word, const char **bad_r)
{
	const char *name;
	size_t len, n;

	for (const char *p = word; *p != '\0'; p += n > 0 ? n : 1) {
		n = fg_pipe_placeholder(p, &name, &len);
		if (n == 0 && *p == '$') {
			*bad_r = p;
			return false;
		}
	}
	return true;
}

/* fg_route_address_option - sender= and from=: one address */
static int fg_route_address_option(const char *name, const char *value,
				   char **field, const char **error_r)
{
	if (*field != NULL) {
		*error_r = fg_errorf("smtp_relay: %s= given twice in a route",
				     name);
		return -1;
	}
	if (strchr(value, '@') == NULL || !fg_smtp_address_ok(value) ||
	    strlen(value) > 254) {
		*error_r = fg_errorf("smtp_relay: %s=%s is not an address",
				     name, value);
		return -1;
	}
	*field = fg_xstrdup(value);
	return 0;
}

/* fg_route_option - one NAME=VALUE word of a route */
static int fg_route_option(struct fg_route *r, const char *word,
			   const char **error_r)
{
	const char *eq = strchr(word, '='), *value = eq + 1;
	size_t len = (size_t)(eq - word);
	bool b;

#define IS(opt) (len == strlen(opt) && strncmp(word, opt, len) == 0)
	if (IS("sender"))
		return fg_route_address_option("sender", value, &r->sender,
					       error_r);
	if (IS("from"))
		return fg_route_address_option("from", value, &r->from,
					       error_r);
	if (IS("domains"))
		return fg_route_condition("domains", value, true, &r->domains,
					  &r->n_domains, error_r);
	if (IS("lists"))
		return fg_route_condition("lists", value, false, &r->lists,
					  &r->n_lists, error_r);
	if (IS("verp")) {
		if (fg_parse_bool(value, &b) < 0) {
			*error_r = fg_errorf("smtp_relay: verp=%s is not yes "
					     "or no", value);
			return -1;
		}
		r->verp = b;
		return 0;
	}
	if (IS("timeout") && r->kind == FG_ROUTE_PIPE) {
		if (fg_parse_duration_ms(value, &r->timeout_ms) < 0 ||
		    r->timeout_ms == 0) {
			*error_r = fg_errorf("smtp_relay: timeout=%s is not a "
					     "duration", value);
			return -1;
		}
		return 0;
	}
#undef IS
	*error_r = fg_errorf("smtp_relay: unknown option '%.*s' after %s",
			     (int)len, word, r->shown);
	return -1;
}

/* fg_route_pipe_command - argv=PATH ARG...: the rest of the route
   (words[0] still starts with "argv=") */
static int fg_route_pipe_command(struct fg_route *r, char *const *words,
				 size_t n, const char **error_r)
{
	const char *path = words[0] + 5, *bad;

	if (n > FG_PIPE_ARGS_MAX) {
		*error_r = fg_errorf("smtp_relay: pipe %s: more than %d "
				     "arguments", path, FG_PIPE_ARGS_MAX);
		return -1;
	}
	if (path[0] != '/') {
		*error_r = fg_errorf("smtp_relay: pipe argv=%s: the command "
				     "must be an absolute path", path);
		return -1;
	}
	r->argv = fg_xcalloc(n + 1, sizeof(char *));
	r->argc = n;
	for (size_t i = 0; i < n; i++) {
		const char *w = i == 0 ? path : words[i];

		r->argv[i] = fg_xstrdup(w);
		if (!fg_pipe_template_ok(w, &bad)) {
			*error_r = fg_errorf("smtp_relay: pipe %s: unknown "
					     "placeholder at '%s'", path, bad);
			return -1;
		}
	}
	free(r->shown);
	r->shown = fg_xasprintf("pipe:%s", path);
	return 0;
}

/* fg_route_parse - one route's words */
static int fg_route_parse(struct fg_route *r, char *const *words, size_t n,
			  const char **error_r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->verp = true;
	if (strcmp(words[0], "pipe") == 0) {
		r->kind = FG_ROUTE_PIPE;
		r->shown = fg_xstrdup("pipe");
	} else {
		r->kind = FG_ROUTE_SMTP;
		r->relay = fg_xstrdup(words[0]);
		r->shown = fg_url_redact(words[0]);
	}
	for (i = 1; i < n; i++) {
		if (r->kind == FG_ROUTE_PIPE &&
		    strncmp(words[i], "argv=", 5) == 0) {
			if (words[i][5] == '\0') {
				*error_r = "smtp_relay: pipe argv= is empty";
				return -1;
			}
			return fg_route_pipe_command(r, words + i, n - i,
						     error_r);
		}
		if (strchr(words[i], '=') == NULL) {
			*error_r = fg_errorf("smtp_relay: unexpected '%s' "
					     "after %s", words[i], r->shown);
			return -1;
		}
		if (fg_route_option(r, words[i], error_r) < 0)
			return -1;
	}
	if (r->kind == FG_ROUTE_PIPE) {
		*error_r = "smtp_relay: a pipe route needs argv=COMMAND, last";
		return -1;
	}
	return 0;
}

/* fg_route_clear - free one route's fields */
static void fg_route_clear(struct fg_route *r)
{
	free(r->relay);
	free(r->shown);
	fg_strv_free(r->argv, r->argc);
	free(r->sender);
	free(r->from);
	fg_strv_free(r->domains, r->n_domains);
	fg_strv_free(r->lists, r->n_lists);
	memset(r, 0, sizeof(*r));
}

/* fg_routes_parse - see fg-transport.h */
int fg_routes_parse(const char *value, struct fg_routes *routes_r,
		    const char **error_r)
{
	struct fg_route_words *words;
	struct fg_routes routes = { NULL, 0 };
	size_t n_words;
	int ret = 0;

	memset(routes_r, 0, sizeof(*routes_r));
	if (fg_routes_words(value != NULL ? value : "", &words, &n_words,
			    error_r) < 0)
		return -1;
	for (size_t i = 0; i < n_words && ret == 0; i++) {
		char **w = words[i].words;

		if (words[i].n == 0)
			continue;	/* "a,,b" or a trailing comma */
		routes.routes = fg_xrealloc(routes.routes,
					    (routes.n_routes + 1) *
					    sizeof(*routes.routes));
		ret = fg_route_parse(&routes.routes[routes.n_routes++], w,
				     words[i].n, error_r);
	}
	for (size_t i = 0; i < n_words; i++)
		fg_strv_free(words[i].words, words[i].n);
	free(words);
	if (ret == 0 && routes.n_routes == 0) {
		*error_r = "smtp_relay names no relay";
		ret = -1;
	}
	if (ret < 0) {
		fg_routes_free(&routes);
		return -1;
	}
	*routes_r = routes;
	return 0;
}

/* fg_routes_free - see fg-transport.h */
void fg_routes_free(struct fg_routes *routes)
{
	for (size_t i = 0; i < routes->n_routes; i++)
		fg_route_clear(&routes->routes[i]);
	free(routes->routes);
	memset(routes, 0, sizeof(*routes));
}

/* fg_route_domain_matches - rcpt's domain against one condition */
static bool fg_route_domain_matches(const char *cond, const char *domain)
{
	size_t dlen = strlen(domain), clen = strlen(cond);

	if (*cond != '.')
		return strcasecmp(cond, domain) == 0;
	/* ".example.org": a subdomain, never example.org itself */
	return dlen > clen && strcasecmp(domain + dlen - clen, cond) == 0;
}

/* fg_route_matches - see fg-transport.h */
bool fg_route_matches(const struct fg_route *route, const char *list,
		      const char *rcpt)
{
	if (route->n_lists > 0) {
		bool found = false;

		for (size_t i = 0; !found && list != NULL &&
			     i < route->n_lists; i++)
			found = strcasecmp(route->lists[i], list) == 0;
		if (!found)
			return false;
	}
	if (route->n_domains > 0) {
		const char *at = rcpt != NULL ? strrchr(rcpt, '@') : NULL;
		bool found = false;

		for (size_t i = 0; !found && at != NULL &&
			     i < route->n_domains; i++)
			found = fg_route_domain_matches(route->domains[i],
							at + 1);
		if (!found)
			return false;
	}
	return true;
}

/* fg_routes_plan - see fg-transport.h */
size_t fg_routes_plan(const struct fg_routes *routes, long long now_ms,
		      const char *list, const char *rcpt, size_t *order_r)
{
	size_t n = 0, n_ready = 0;

	for (size_t i = 0; i < routes->n_routes; i++) {
		const struct fg_route *r = &routes->routes[i];

		if (fg_route_matches(r, list, rcpt) &&
		    r->skip_until_ms <= now_ms)
			order_r[n_ready++] = i;
	}
	if (n_ready > 0)
		return n_ready;
	/* every matching route in back-off: try them all, not none */
	for (size_t i = 0; i < routes->n_routes; i++) {
		if (fg_route_matches(&routes->routes[i], list, rcpt))
			order_r[n++] = i;
	}
	return n;
}

/* fg_route_failed - see fg-transport.h */
bool fg_route_failed(struct fg_route *route, long long now_ms,
		     unsigned int backoff_ms)
{
	bool was_ready = route->skip_until_ms <= now_ms;

	route->skip_until_ms = now_ms + backoff_ms;
	return was_ready;
}

/* fg_route_worked - see fg-transport.h */
bool fg_route_worked(struct fg_route *route)
{
	bool was_skipped = route->skip_until_ms != 0;

	route->skip_until_ms = 0;
	return was_skipped;
}
