/*
 * NAME
 *	fg-mailfrom 3 - the sender of a list message
 * DESCRIPTION
 *	fg_mail_from() fills from_name and from_email of a record from
 *	the From header (see fg-mailparse.h), through groups and an
 *	unquoted name with a comma, and undoes a list manager's From
 *	rewriting ("Alice via List" <list@...>) from X-Original-From,
 *	Reply-To, Cc and X-MailFrom. Internal to the mail parser
 *	(fg-mail-private.h).
 */
#include "fg-mail-private.h"
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

/* A mailbox that may be the real sender of a rewritten From. */
struct fg_mail_candidate {
	char *name, *addr;
	bool by_name_only;	/* Cc: only when its name matches */
};

/* fg_mail_candidates_add - the mailboxes of one header */
static void fg_mail_candidates_add(GMimeMessage *msg,
				   GMimeParserOptions *options,
				   const char *header, bool by_name_only,
				   struct fg_mail_candidate *c, size_t *n,
				   size_t max)
{
	char *raw = fg_mail_raw_header(msg, header);
	InternetAddressList *list = raw != NULL ?
		internet_address_list_parse(options, raw) : NULL;
	int count = list != NULL ? internet_address_list_length(list) : 0;

	for (int i = 0; i < count && i < 8 && *n < max; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *addr;

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		addr = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL || strchr(addr, '@') == NULL)
			continue;
		c[*n].name = fg_mail_clean_line(internet_address_get_name(ia));
		c[*n].addr = fg_mail_clean_line(addr);
		c[*n].by_name_only = by_name_only;
		(*n)++;
	}
	if (list != NULL)
		g_object_unref(list);
	free(raw);
}

/* fg_mail_unmunge - undo a list manager's From rewriting (DMARC
   mitigation of Mailman, Google Groups and others: "Alice via List"
   <list@...>). The real sender is the mailbox of X-Original-From,
   Reply-To or Cc whose name is the one before "via", else the first
   of X-Original-From and Reply-To that is not the list, else
   X-MailFrom (Mailman's envelope sender). */
static void fg_mail_unmunge(GMimeMessage *msg, GMimeParserOptions *options,
			    struct fg_record *rec)
{
	struct fg_mail_candidate c[24];
	size_t n = 0, pick = SIZE_MAX;
	char *via = fg_mail_via_name(rec->from_name), *list_post;
	const char *xmf;

	if (via == NULL)
		return;
	list_post = fg_mail_list_post(fg_mail_header(msg, "List-Post"));
	fg_mail_candidates_add(msg, options, "X-Original-From", false, c, &n,
			       FG_N_ELEMENTS(c));
	fg_mail_candidates_add(msg, options, "Reply-To", false, c, &n,
			       FG_N_ELEMENTS(c));
	fg_mail_candidates_add(msg, options, "Cc", true, c, &n,
			       FG_N_ELEMENTS(c));
	for (size_t i = 0; i < n; i++) {
		/* the list itself (Reply-To: list) is nobody's address */
		if (strcasecmp(c[i].addr, rec->from_email) == 0 ||
		    (list_post != NULL &&
		     strcasecmp(c[i].addr, list_post) == 0))
			c[i].by_name_only = true, c[i].name[0] = '\0';
	}
	for (size_t i = 0; i < n && pick == SIZE_MAX; i++) {
		if (*c[i].name != '\0' && strcasecmp(c[i].name, via) == 0)
			pick = i;
	}
	for (size_t i = 0; i < n && pick == SIZE_MAX; i++) {
		if (!c[i].by_name_only)
			pick = i;
	}
	if (pick != SIZE_MAX) {
		free(rec->from_email);
		rec->from_email = fg_xstrdup(c[pick].addr);
		free(rec->from_name);
		rec->from_name = fg_xstrdup(*c[pick].name != '\0' ?
					    c[pick].name : via);
	} else if ((xmf = fg_mail_header(msg, "X-MailFrom")) != NULL) {
		char *addr = fg_mail_clean_line(xmf);

		if (strchr(addr, '@') != NULL && strchr(addr, ' ') == NULL &&
		    strchr(addr, '<') == NULL) {
			free(rec->from_email);
			rec->from_email = addr;
			free(rec->from_name);
			rec->from_name = fg_xstrdup(via);
		} else {
			free(addr);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].addr);
	}
	free(list_post);
	free(via);
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

/* fg_mail_from - the first mailbox of From: */
void fg_mail_from(GMimeMessage *msg, GMimeParserOptions *options,
		  struct fg_record *rec)
{
	char *raw = fg_mail_raw_header(msg, "From");
	InternetAddressList *from = raw != NULL ?
		internet_address_list_parse(options, raw) : NULL;
	InternetAddressList *list = from;
	InternetAddress *ia = NULL;
	const char *name = NULL, *addr = NULL;
	char *at;

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
	if (raw != NULL && strchr(rec->from_email, '@') == NULL)
		fg_mail_from_unquoted(options, raw, rec);
	free(raw);
	fg_mail_unmunge(msg, options, rec);
	/* an address has no spaces; what has them is not an address */
	if (strchr(rec->from_email, ' ') != NULL)
		rec->from_email[0] = '\0';
	at = strrchr(rec->from_email, '@');
	if (at != NULL)
		fg_str_lower(at);
}
