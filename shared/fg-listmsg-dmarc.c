/*
 * NAME
 *	fg-listmsg-dmarc 3 - Mailman's From munging for DMARC
 * DESCRIPTION
 *	See fg-listmsg.h, fg_listmsg_dmarc(). The author's domain's DMARC
 *	policy is looked up by the caller; this file only rewrites From,
 *	Reply-To and X-Original-From.
 */
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-charset.h"
#include "fg-common.h"
#include "fg-compose.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest author name kept before " via LIST". */
#define FG_LISTMSG_NAME_MAX 200

/* fg_listmsg_author_name - the display name Mailman puts before "via":
   the From display name, else the address, with an address-like end
   ("@host.domain") replaced by "---" */
static char *fg_listmsg_author_name(const char *name, const char *addr)
{
	char *s = fg_mail_clean_line(name != NULL && *name != '\0' ?
				     name : addr);
	char *at = strrchr(s, '@');

	if (at != NULL && at[1] != '\0' && strchr(at, ' ') == NULL &&
	    strchr(at, '.') != NULL && at[1] != '.' &&
	    at[strlen(at) - 1] != '.' && strstr(at, "..") == NULL) {
		char *out = fg_xasprintf("%.*s---", (int)(at - s), s);
		free(s);
		s = out;
	}
	s[fg_utf8_prefix_len(s, FG_LISTMSG_NAME_MAX)] = '\0';
	return s;
}

/* fg_listmsg_reply_has - see fg-listmsg.h */
bool fg_listmsg_reply_has(InternetAddressList *list, const char *addr)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		    strcasecmp(internet_address_mailbox_get_addr(
				       INTERNET_ADDRESS_MAILBOX(ia)), addr) == 0)
			return true;
	}
	return false;
}

/* fg_listmsg_original_from - the From header as it came, one line,
   for X-Original-From; the bare address when it is too long */
static char *fg_listmsg_original_from(GMimeMessage *msg, const char *addr)
{
	GMimeHeader *h = g_mime_header_list_get_header(
		g_mime_object_get_header_list(GMIME_OBJECT(msg)), "From");
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	char *value;

	if (raw == NULL || strlen(raw) > FG_LISTMSG_VALUE_MAX)
		return fg_xasprintf("<%s>", addr);
	value = fg_mail_clean_line(raw);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p >= 0x80) {
			/* raw 8-bit From: only the address travels */
			free(value);
			return fg_xasprintf("<%s>", addr);
		}
	}
	return value;
}

/* fg_listmsg_dmarc - see fg-listmsg.h */
int fg_listmsg_dmarc(GMimeMessage *msg, const struct fg_listmsg_list *list,
		     enum fg_listmsg_dmarc policy, bool always,
		     bool *munged_r, const char **error_r)
{
	InternetAddressList *from, *reply_to;
	InternetAddress *author, *ia;
	const char *addr, *name;
	char *author_name, *display, *original;

	*munged_r = false;
	if (fg_listmsg_list_check(list, error_r) < 0)
		return -1;
	if (!always && policy != FG_LISTMSG_DMARC_QUARANTINE &&
	    policy != FG_LISTMSG_DMARC_REJECT)
		return 0;
	from = g_mime_message_get_from(msg);
	if (internet_address_list_length(from) != 1 ||
	    !INTERNET_ADDRESS_IS_MAILBOX(
		    internet_address_list_get_address(from, 0))) {
		*error_r = fg_errorf("dmarc: From is not one address");
		return -1;
	}
	author = internet_address_list_get_address(from, 0);
	addr = internet_address_mailbox_get_addr(
		INTERNET_ADDRESS_MAILBOX(author));
	if (!fg_compose_address_valid(addr)) {
		*error_r = fg_errorf("dmarc: invalid From address");
		return -1;
	}
	fg_listmsg_header_end(GMIME_OBJECT(msg));
	g_object_ref(author);
	name = internet_address_get_name(author);
	author_name = fg_listmsg_author_name(name, addr);
	display = fg_xasprintf("%s via %s", author_name,
			       list->display_name != NULL ?
			       list->display_name : list->name);
	original = fg_listmsg_original_from(msg, addr);

	reply_to = g_mime_message_get_reply_to(msg);
	if (!fg_listmsg_reply_has(reply_to, addr)) {
		/* the decoded name may hold line breaks from encoded words */
		char *clean = fg_mail_clean_line(name != NULL ? name : "");

		ia = internet_address_mailbox_new(*clean != '\0' ? clean : NULL,
						  addr);
		internet_address_set_charset(ia, "utf-8");
		internet_address_list_add(reply_to, ia);
		g_object_unref(ia);
		free(clean);
	}
	internet_address_list_clear(from);
	ia = internet_address_mailbox_new(display, list->address);
	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(from, ia);
	g_object_unref(ia);
	fg_listmsg_remove_all(GMIME_OBJECT(msg), "X-Original-From");
	g_mime_object_append_header(GMIME_OBJECT(msg), "X-Original-From",
				    original, NULL);
	g_object_unref(author);
	free(original);
	free(display);
	free(author_name);
	*munged_r = true;
	return 0;
}
