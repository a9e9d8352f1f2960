/*
 * NAME
 *	fg-mailfrom 3 - the sender of a list message
 * DESCRIPTION
 *	fg_mail_from() fills from_name, from_email and from_auth of a
 *	record from the From header (see fg-mailparse.h). Addresses are
 *	what GMime's internet_address_list_parse() makes of them: a
 *	quoted local part, a trailing dot or a comment stay as GMime
 *	reads them, nothing is rewritten into another address. For the
 *	attribution line, the first mailbox is shown through a group or
 *	an unquoted name with a comma; but only a message with exactly
 *	one From header holding exactly one mailbox can be authenticated
 *	(fg-auth.h) and so be posted as a mapped forum user.
 *
 *	A list manager's From rewriting ("Alice via List" <list@...>,
 *	DMARC mitigation) is undone only for a list marked trusted, and
 *	only when From is the list's posting address (set->list_address,
 *	else List-Post), and only from the headers the list manager
 *	writes: X-Original-From, or Reply-To as GNU Mailman 3 writes it
 *	(its dmarc handler sets From to the list's posting address and
 *	appends the original From to Reply-To, so a Reply-To of one
 *	mailbox is the author; one of several is ambiguous and not
 *	used). Cc and X-MailFrom are never
 *	used: a sender writes them. The address found must then be
 *	authenticated like any other. Internal to the mail parser
 *	(fg-mail-private.h).
 */
#include "fg-mail-private.h"
#include "fg-auth.h"
#include "fg-mailparse.h"
#include "fg-charset.h"
#include "fg-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

/* fg_mail_list_post - the address of a List-Post <mailto:...>, or NULL */
static char *fg_mail_list_post(const char *value)
{
	const char *p = value != NULL ? strstr(value, "mailto:") : NULL;
	size_t len = 0;

	if (p == NULL)
		return NULL;
	p += 7;
	while (p[len] != '\0' && p[len] != '>' && p[len] != '?' &&
	       p[len] != ' ' && len < 256)
		len++;
	return len > 0 ? fg_xstrndup(p, len) : NULL;
}

/* fg_mail_via_name - the sender's name in a From: a list manager
   rewrote ("Alice via List", "'Alice' via List"), or NULL */
static char *fg_mail_via_name(const char *name)
{
	const char *via = NULL;
	size_t len;

	for (const char *p = name; (p = strstr(p, " via ")) != NULL; p++)
		via = p;
	if (via == NULL)
		return NULL;
	while (*name == ' ' || *name == '\'' || *name == '"')
		name++;
	len = via > name ? (size_t)(via - name) : 0;
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\'' ||
			   name[len - 1] == '"'))
		len--;
	return len > 0 ? fg_xstrndup(name, len) : NULL;
}

/* fg_mail_header_count - how many headers of this name the message has */
static unsigned int fg_mail_header_count(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = list != NULL ? g_mime_header_list_get_count(list) : 0;
	unsigned int count = 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);

		if (strcasecmp(g_mime_header_get_name(h), name) == 0)
			count++;
	}
	return count;
}

/* fg_mail_one_mailbox - the name and address of a header that is there
   once and holds exactly one mailbox (no group); false otherwise */
static bool fg_mail_one_mailbox(GMimeMessage *msg, GMimeParserOptions *options,
				const char *header, char **name_r,
				char **addr_r)
{
	char *raw = fg_mail_header_count(msg, header) == 1 ?
		fg_mail_raw_header(msg, header) : NULL;
	InternetAddressList *list = raw != NULL ?
		internet_address_list_parse(options, raw) : NULL;
	InternetAddress *ia = list != NULL &&
		internet_address_list_length(list) == 1 ?
		internet_address_list_get_address(list, 0) : NULL;
	const char *addr = ia != NULL && INTERNET_ADDRESS_IS_MAILBOX(ia) ?
		internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) :
		NULL;
	bool ok = addr != NULL && strchr(addr, '@') != NULL;

	if (ok) {
		*name_r = fg_mail_clean_line(internet_address_get_name(ia));
		*addr_r = fg_mail_clean_line(addr);
	}
	if (list != NULL)
		g_object_unref(list);
	free(raw);
	return ok;
}

/* fg_mail_unmunge - undo a trusted list manager's From rewriting (see
   the DESCRIPTION); false when there was none to undo, or the author
   cannot be told for sure */
static bool fg_mail_unmunge(GMimeMessage *msg, GMimeParserOptions *options,
			    const struct fg_parse_settings *set,
			    struct fg_record *rec)
{
	char *via = fg_mail_via_name(rec->from_name);
	char *list_post, *xo_name = NULL, *xo_addr = NULL;
	char *rt_name = NULL, *rt_addr = NULL, *name, *addr;
	bool done = false;

	if (via == NULL)
		return false;
	/* the list rewrote From to its own posting address: the list's
	   definition says which it is, else its List-Post header */
	list_post = set->list_address != NULL && *set->list_address != '\0' ?
		fg_xstrdup(set->list_address) :
		fg_mail_list_post(fg_mail_header(msg, "List-Post"));
	if (list_post == NULL || strcasecmp(list_post, rec->from_email) != 0)
		goto out;
	fg_mail_one_mailbox(msg, options, "X-Original-From", &xo_name,
			    &xo_addr);
	if (fg_mail_one_mailbox(msg, options, "Reply-To", &rt_name, &rt_addr) &&
	    strcasecmp(rt_addr, list_post) == 0) {
		free(rt_name);
		free(rt_addr);
		rt_name = rt_addr = NULL;
	}
	/* both there and naming different people: nobody is sure */
	if (xo_addr != NULL && rt_addr != NULL &&
	    strcasecmp(xo_addr, rt_addr) != 0)
		goto out;
	name = xo_addr != NULL ? xo_name : rt_name;
	addr = xo_addr != NULL ? xo_addr : rt_addr;
	if (addr == NULL)
		goto out;
	free(rec->from_email);
	rec->from_email = fg_xstrdup(addr);
	free(rec->from_name);
	rec->from_name = fg_xstrdup(*name != '\0' ? name : via);
	done = true;
out:
	free(xo_name);
	free(xo_addr);
	free(rt_name);
	free(rt_addr);
	free(list_post);
	free(via);
	return done;
}

/* fg_mail_raw_headers - the unfolded raw values of every header of a
   name, at most FG_AUTH_MAX_HEADERS */
static size_t fg_mail_raw_headers(GMimeMessage *msg, const char *name,
				  char **values)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = list != NULL ? g_mime_header_list_get_count(list) : 0;
	size_t count = 0;

	for (int i = 0; i < n && count < FG_AUTH_MAX_HEADERS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *raw = g_mime_header_get_raw_value(h);

		if (strcasecmp(g_mime_header_get_name(h), name) != 0 ||
		    raw == NULL)
			continue;
		char *unfolded = g_mime_utils_header_unfold(raw);
		values[count++] = fg_xstrdup(unfolded);
		g_free(unfolded);
	}
	return count;
}

/* fg_mail_authenticate - the evidence that from_email is authenticated
   by a trusted host's Authentication-Results, or "" */
static char *fg_mail_authenticate(GMimeMessage *msg, const char *trusted,
				  const char *from_email)
{
	char *ar[FG_AUTH_MAX_HEADERS], *arc_ar[FG_AUTH_MAX_HEADERS];
	char *arc_seal[FG_AUTH_MAX_HEADERS], *evidence;
	const char *at = strrchr(from_email, '@');
	struct fg_auth_headers h;

	if (at == NULL || trusted == NULL || *trusted == '\0')
		return fg_xstrdup("");
	h.n_ar = fg_mail_raw_headers(msg, "Authentication-Results", ar);
	h.n_arc_ar = fg_mail_raw_headers(msg, "ARC-Authentication-Results",
					 arc_ar);
	h.n_arc_seal = fg_mail_raw_headers(msg, "ARC-Seal", arc_seal);
	h.ar = (const char *const *)ar;
	h.arc_ar = (const char *const *)arc_ar;
	h.arc_seal = (const char *const *)arc_seal;
	evidence = fg_auth_from(at + 1, trusted, &h);
	for (size_t i = 0; i < FG_AUTH_MAX_HEADERS; i++) {
		if (i < h.n_ar)
			free(ar[i]);
		if (i < h.n_arc_ar)
			free(arc_ar[i]);
		if (i < h.n_arc_seal)
			free(arc_seal[i]);
	}
	return evidence;
}

/* fg_mail_from_unquoted - From: as "Name, With Comma <addr>" that a
   list manager wrote without quoting the name, which reads as two
   addresses: the name is everything before the last <addr> */
static void fg_mail_from_unquoted(GMimeParserOptions *options,
				  const char *raw, struct fg_record *rec)
{
	const char *lt = strrchr(raw, '<'), *gt;
	char *name, *decoded, *addr;

	if (lt == NULL || (gt = strchr(lt, '>')) == NULL ||
	    memchr(lt, '@', (size_t)(gt - lt)) == NULL)
		return;
	addr = fg_xstrndup(lt + 1, (size_t)(gt - lt - 1));
	name = fg_xstrndup(raw, (size_t)(lt - raw));
	decoded = g_mime_utils_header_decode_phrase(options, name);
	free(rec->from_email);
	rec->from_email = fg_mail_clean_line(addr);
	free(rec->from_name);
	rec->from_name = fg_mail_clean_line(decoded);
	g_free(decoded);
	free(name);
	free(addr);
}

/* fg_mail_from - the sender, and whether it is authenticated */
void fg_mail_from(GMimeMessage *msg, GMimeParserOptions *options,
		  const struct fg_parse_settings *set, struct fg_record *rec)
{
	char *raw = fg_mail_raw_header(msg, "From");
	InternetAddressList *from = raw != NULL ?
		internet_address_list_parse(options, raw) : NULL;
	InternetAddressList *list = from;
	InternetAddress *ia = NULL;
	const char *name = NULL, *addr = NULL;
	bool single;
	char *at;

	/* one From header of one mailbox: the only sender that may be
	   authenticated (RFC 5322 allows more; DMARC refuses them too) */
	single = from != NULL && internet_address_list_length(from) == 1 &&
		INTERNET_ADDRESS_IS_MAILBOX(
			internet_address_list_get_address(from, 0)) &&
		fg_mail_header_count(msg, "From") == 1;
	for (int depth = 0; list != NULL && depth < 4; depth++) {
		if (internet_address_list_length(list) == 0)
			break;
		ia = internet_address_list_get_address(list, 0);
		if (!INTERNET_ADDRESS_IS_GROUP(ia))
			break;
		list = internet_address_group_get_members(
			INTERNET_ADDRESS_GROUP(ia));
		ia = NULL;
	}
	if (ia != NULL && INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		name = internet_address_get_name(ia);
		addr = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
	}
	rec->from_name = fg_mail_clean_line(name);
	rec->from_email = fg_mail_clean_line(addr);
	if (from != NULL)
		g_object_unref(from);
	if (raw != NULL && strchr(rec->from_email, '@') == NULL) {
		/* shown in the attribution, never authenticated */
		fg_mail_from_unquoted(options, raw, rec);
		single = false;
	}
	free(raw);
	if (single && set->list_trusted)
		fg_mail_unmunge(msg, options, set, rec);
	/* an address has no spaces; what has them is not an address */
	if (strchr(rec->from_email, ' ') != NULL) {
		rec->from_email[0] = '\0';
		single = false;
	}
	at = strrchr(rec->from_email, '@');
	if (at != NULL)
		fg_str_lower(at);
	rec->from_auth = single ?
		fg_mail_authenticate(msg, set->trusted_authserv_ids,
				     rec->from_email) : fg_xstrdup("");
}
