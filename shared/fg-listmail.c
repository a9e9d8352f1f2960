/*
 * NAME
 *	fg-listmail 3 - did the list distribute this message
 * DESCRIPTION
 *	See fg-listmail.h for the rule. The addresses a list manager
 *	writes from are those of Mailman 3 (mailman/model/mailinglist.py:
 *	request, bounces, owner, join, leave, confirm addresses;
 *	app/bounces.py: probes From LIST-bounces+TOKEN;
 *	email/message.py: notices Precedence: bulk, Message-ID from
 *	make_msgid(); handlers/rfc_2369.py: no List-Post on notices) and
 *	mlmmj 1.3 (notices From LIST+owner, envelope LIST+bounces-help,
 *	LIST+bounces-probe-..., copies LIST+bounces-N-USER=DOMAIN;
 *	Message-ID <TIME-PID-mlmmj-HEX@LISTDOMAIN>).
 */
#include "fg-listmail.h"
#include "fg-common.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Mailman's role addresses: LIST-ROLE@DOMAIN; those marked take a
   "+TOKEN" (VERP probes, confirmations). */
static const struct {
	const char *role;
	bool token;
} fg_listmail_mailman_roles[] = {
	{ "request", false }, { "bounces", true }, { "owner", false },
	{ "admin", false }, { "confirm", true }, { "join", false },
	{ "leave", false }, { "subscribe", false }, { "unsubscribe", false },
};

/* The notice names, "mailman:ROLE", in the order of the roles. */
static const char *const fg_listmail_mailman_names[] = {
	"mailman:request", "mailman:bounces", "mailman:owner",
	"mailman:admin", "mailman:confirm", "mailman:join", "mailman:leave",
	"mailman:subscribe", "mailman:unsubscribe",
};

/* An address split at its last '@'. */
struct fg_listmail_addr {
	const char *local, *domain;
	size_t local_len;
};

/* fg_listmail_split - split an address; false without '@' */
static bool fg_listmail_split(const char *address, struct fg_listmail_addr *r)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	if (at == NULL || at == address || at[1] == '\0' ||
	    strlen(address) > FG_LISTMAIL_VALUE_MAX)
		return false;
	r->local = address;
	r->local_len = (size_t)(at - address);
	r->domain = at + 1;
	return true;
}

/* fg_listmail_is_delim - c starts an address extension */
static bool fg_listmail_is_delim(const struct fg_listmail_list *list, char c)
{
	const char *delims = list->delimiters != NULL ? list->delimiters : "+";

	return c != '\0' && (c == '+' || strchr(delims, c) != NULL);
}

/* fg_listmail_has_prefix - local part [p, end) begins with s (case
   ignored); *rest_r after it */
static bool fg_listmail_has_prefix(const char *p, const char *end,
				   const char *s, const char **rest_r)
{
	size_t len = strlen(s);

	if ((size_t)(end - p) < len || strncasecmp(p, s, len) != 0)
		return false;
	*rest_r = p + len;
	return true;
}

/* fg_listmail_patterns - address matches one of the patterns */
static bool fg_listmail_patterns(const char *patterns, const char *address)
{
	const char *p = patterns;
	char pattern[FG_LISTMAIL_VALUE_MAX + 1];

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return false;
		size_t len = strcspn(p, ", \t");
		if (len <= FG_LISTMAIL_VALUE_MAX) {
			memcpy(pattern, p, len);
			pattern[len] = '\0';
			if (fnmatch(pattern, address, FNM_CASEFOLD) == 0)
				return true;
		}
		p += len;
	}
}

/* fg_listmail_return_path - see fg-listmail.h */
bool fg_listmail_return_path(const struct fg_listmail_list *list,
			     const char *address)
{
	struct fg_listmail_addr a, l;
	const char *p, *end;

	if (list->return_path != NULL && *list->return_path != '\0')
		return fg_listmail_patterns(list->return_path, address);
	if (!fg_listmail_split(address, &a) ||
	    !fg_listmail_split(list->address, &l) ||
	    strcasecmp(a.domain, l.domain) != 0)
		return false;
	end = a.local + a.local_len;
	if (a.local_len <= l.local_len ||
	    strncasecmp(a.local, l.local, l.local_len) != 0)
		return false;
	p = a.local + l.local_len;
	/* Mailman: LIST-bounces, LIST-bounces+... */
	if (fg_listmail_has_prefix(p, end, "-bounces", &p) &&
	    (p == end || fg_listmail_is_delim(list, *p)))
		return true;
	/* mlmmj: LIST+bounces-... */
	p = a.local + l.local_len;
	return fg_listmail_is_delim(list, *p) &&
		fg_listmail_has_prefix(p + 1, end, "bounces-", &p) && p < end;
}

/* fg_listmail_default_id - see fg-listmail.h */
char *fg_listmail_default_id(const char *address)
{
	char *id = fg_str_lower(fg_xstrdup(address != NULL ? address : ""));
	char *at = strrchr(id, '@');

	if (at != NULL)
		*at = '.';
	return id;
}

/* fg_listmail_from_role - the notice name when from is one of the
   list manager's addresses, or NULL */
static const char *fg_listmail_from_role(const struct fg_listmail_list *list,
					 const char *from)
{
	struct fg_listmail_addr a, l;
	const char *p, *end;

	if (!fg_listmail_split(from, &a) ||
	    !fg_listmail_split(list->address, &l) ||
	    strcasecmp(a.domain, l.domain) != 0)
		return NULL;
	end = a.local + a.local_len;
	if (a.local_len == 7 && strncasecmp(a.local, "mailman", 7) == 0)
		return "mailman:site";
	if (fg_listmail_has_prefix(a.local, end, "owner-", &p) &&
	    (size_t)(end - p) == l.local_len &&
	    strncasecmp(p, l.local, l.local_len) == 0)
		return "owner-list";
	if (a.local_len <= l.local_len ||
	    strncasecmp(a.local, l.local, l.local_len) != 0)
		return NULL;
	p = a.local + l.local_len;
	if (*p == '-') {
		for (size_t i = 0; i < FG_N_ELEMENTS(fg_listmail_mailman_roles);
		     i++) {
			const char *rest;

			if (!fg_listmail_has_prefix(p + 1, end,
				fg_listmail_mailman_roles[i].role, &rest))
				continue;
			if (rest == end ||
			    (fg_listmail_mailman_roles[i].token &&
			     fg_listmail_is_delim(list, *rest)))
				return fg_listmail_mailman_names[i];
		}
	}
	/* mlmmj writes from LIST+owner; every other extension of the
	   posting address is the list manager's too (commands,
	   bounces) */
	if (fg_listmail_is_delim(list, *p) && p + 1 < end)
		return fg_listmail_has_prefix(p + 1, end, "owner", &p) &&
			p == end ? "mlmmj:owner" : "list-extension";
	return NULL;
}

/* fg_listmail_header_is - the header's first word is value */
static bool fg_listmail_header_is(const struct fg_classify_msg *msg,
				  const char *name, const char *value)
{
	const char *v = msg->header(msg->context, name);
	size_t len = strlen(value);

	if (v == NULL)
		return false;
	v += strspn(v, " \t");
	return strncasecmp(v, value, len) == 0 &&
		(v[len] == '\0' || strchr(" \t;(", v[len]) != NULL);
}

/* fg_listmail_msgid_notice - the notice name a Message-ID shows, or
   NULL; list_post: the message has List-Post */
static const char *
fg_listmail_msgid_notice(const struct fg_listmail_list *list,
			 const char *message_id, bool list_post)
{
	struct fg_listmail_addr m, l;
	const char *mark;

	if (!fg_listmail_split(message_id, &m) ||
	    !fg_listmail_split(list->address, &l))
		return NULL;
	/* mlmmj: TIME-PID-mlmmj-HEX@LISTDOMAIN */
	mark = strstr(message_id, "-mlmmj-");
	if (mark != NULL && mark < m.domain &&
	    strcasecmp(m.domain, l.domain) == 0)
		return "mlmmj:message-id";
	if (list_post)
		return NULL;
	/* Python's make_msgid() on a host without a name; not the list's
	   domain, which members' own mail clients use as well */
	if (strcasecmp(m.domain, "localhost") == 0 ||
	    strncasecmp(m.domain, "localhost.", 10) == 0)
		return "localhost-message-id";
	return NULL;
}

/* fg_listmail_notice - the notice name when the list manager wrote
   the message itself, or NULL */
static const char *fg_listmail_notice(const struct fg_listmail_list *list,
				      const struct fg_classify_msg *msg,
				      const char **what_r)
{
	bool list_post = msg->header(msg->context, "List-Post") != NULL;
	const char *notice;

	if (msg->header_from != NULL &&
	    (notice = fg_listmail_from_role(list, msg->header_from)) != NULL) {
		*what_r = msg->header_from;
		return notice;
	}
	if ((notice = fg_listmail_msgid_notice(list, msg->message_id,
					       list_post)) != NULL) {
		*what_r = msg->message_id;
		return notice;
	}
	if (list_post)
		return NULL;
	*what_r = "no List-Post";
	if (fg_listmail_header_is(msg, "Precedence", "bulk"))
		return "precedence-bulk";
	if (fg_listmail_header_is(msg, "X-List-Administrivia", "yes"))
		return "mailman:administrivia";
	return NULL;
}

/* fg_listmail_id_matches - the List-Id (the id inside <>) names the
   list */
static bool fg_listmail_id_matches(const struct fg_listmail_list *list,
				   const char *id)
{
	char *want;
	bool ok;

	if (id == NULL)
		return false;
	want = list->list_id != NULL && *list->list_id != '\0' ?
		fg_xstrdup(list->list_id) :
		fg_listmail_default_id(list->address);
	ok = strcasecmp(want, id) == 0;
	free(want);
	return ok;
}

/* fg_listmail_post_matches - List-Post is <mailto:ADDRESS> */
static bool fg_listmail_post_matches(const struct fg_listmail_list *list,
				     const char *value)
{
	const char *p = value != NULL ? strchr(value, '<') : NULL;
	size_t len;

	if (p == NULL || strncasecmp(p + 1, "mailto:", 7) != 0)
		return false;
	p += 8;
	len = strcspn(p, ">?");
	return p[len] != '\0' && len == strlen(list->address) &&
		strncasecmp(p, list->address, len) == 0;
}

/* fg_listmail_check - see fg-listmail.h */
enum fg_listmail fg_listmail_check(const struct fg_listmail_list *list,
				   const struct fg_classify_msg *msg,
				   const char *envelope_from,
				   const char **notice_r, char **reason_r)
{
	const char *notice, *what = "";

	*notice_r = NULL;
	if (envelope_from != NULL && *envelope_from != '\0' &&
	    !fg_listmail_return_path(list, envelope_from)) {
		*reason_r = fg_xasprintf("envelope sender <%.*s> is not a "
					 "return path of the list <%s>",
					 FG_LISTMAIL_VALUE_MAX, envelope_from,
					 list->address);
		return FG_LISTMAIL_ENVELOPE;
	}
	if ((notice = fg_listmail_notice(list, msg, &what)) != NULL) {
		*notice_r = notice;
		*reason_r = fg_xasprintf("the list manager's own mail (%s: "
					 "%.*s)", notice,
					 FG_LISTMAIL_VALUE_MAX, what);
		return FG_LISTMAIL_NOTICE;
	}
	if (fg_listmail_id_matches(list, msg->list_id)) {
		*reason_r = fg_xstrdup("list mail (List-Id)");
		return FG_LISTMAIL_POST;
	}
	if (fg_listmail_post_matches(list, msg->header(msg->context,
						       "List-Post"))) {
		*reason_r = fg_xstrdup("list mail (List-Post)");
		return FG_LISTMAIL_POST;
	}
	for (size_t i = 0; msg->recipients != NULL &&
	     msg->recipients[i] != NULL; i++) {
		if (strcasecmp(msg->recipients[i], list->address) == 0) {
			*reason_r = fg_xstrdup("list mail (To/Cc)");
			return FG_LISTMAIL_POST;
		}
	}
	*reason_r = fg_xasprintf("neither List-Id, List-Post nor To/Cc "
				 "names the list <%s>", list->address);
	return FG_LISTMAIL_NOT_LIST;
}
