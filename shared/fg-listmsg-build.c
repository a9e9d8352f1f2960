/*
 * NAME
 *	fg-listmsg-build 3 - the copy a list-mode list sends its members
 * DESCRIPTION
 *	See fg-listmsg.h, fg_listmsg_build(): the filter chain's "build"
 *	step, the message changes of this library in their order, made
 *	once per post by the fan-out (forumgated's bridge-dist.c), which
 *	then writes only the per-recipient lines in front of each copy.
 */
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-common.h"
#include "fg-mail-private.h"

#include <stdlib.h>
#include <string.h>

/* the trace headers of the delivery to the posting address: the
   members' copies get their own */
static const char *const fg_listmsg_trace_headers[] = {
	"Return-Path", "Delivered-To",
};

/* fg_listmsg_untrace - remove the trace headers of the delivery */
static void fg_listmsg_untrace(GMimeMessage *msg)
{
	GMimeObject *obj = GMIME_OBJECT(msg);

	for (size_t i = 0; i < FG_N_ELEMENTS(fg_listmsg_trace_headers); i++) {
		while (g_mime_object_remove_header(obj,
						   fg_listmsg_trace_headers[i]))
			;
	}
}

/* fg_listmsg_write - see fg-listmsg-private.h */
char *fg_listmsg_write(GMimeMessage *msg, size_t *size_r)
{
	GMimeFormatOptions *format = g_mime_format_options_new();
	GMimeStream *stream = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *data;

	g_mime_format_options_set_newline_format(format,
						 GMIME_NEWLINE_FORMAT_DOS);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), format, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	data = fg_xstrndup((const char *)bytes->data, bytes->len);
	*size_r = bytes->len;
	g_object_unref(stream);
	g_mime_format_options_free(format);
	return data;
}

/* fg_listmsg_author_domain - the domain of the From address, lower
   case (caller frees); NULL when From has not exactly one address */
static char *fg_listmsg_author_domain(GMimeMessage *msg)
{
	InternetAddressList *from = g_mime_message_get_from(msg);
	InternetAddress *ia;
	const char *addr, *at;

	if (from == NULL || internet_address_list_length(from) != 1)
		return NULL;
	ia = internet_address_list_get_address(from, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
		return NULL;
	/* an internationalized domain as DNS knows it (punycode) */
	addr = internet_address_mailbox_get_idn_addr(
		INTERNET_ADDRESS_MAILBOX(ia));
	if (addr == NULL || (at = strrchr(addr, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;
	return fg_str_lower(fg_xstrdup(at + 1));
}

/* fg_listmsg_build_dmarc - rewrite From when the author's domain asks
   for it (set->dmarc_policy) */
static int fg_listmsg_build_dmarc(GMimeMessage *msg,
				  const struct fg_listmsg_build *set,
				  const char **error_r)
{
	char *domain = fg_listmsg_author_domain(msg);
	enum fg_listmsg_dmarc policy;
	bool munged;

	if (domain == NULL)
		return 0;	/* no one author: no domain to ask about */
	policy = set->dmarc_policy(set->dmarc_context, domain);
	free(domain);
	if (policy == FG_LISTMSG_DMARC_NONE)
		return 0;
	return fg_listmsg_dmarc(msg, set->list, policy, false, &munged,
				error_r);
}

/* fg_listmsg_build_changes - the changes of set, in order */
static int fg_listmsg_build_changes(GMimeMessage *msg,
				    const struct fg_listmsg_build *set,
				    const char **error_r)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	bool munged;

	fg_listmsg_untrace(msg);
	if (set->tag &&
	    fg_listmsg_tag_subject(msg, set->list->name, 0, error_r) < 0)
		return -1;
	if (set->footer != NULL) {
		char *footer;
		int ret;

		if (fg_listmsg_footer_expand(set->footer, set->list,
					     set->topic_url, NULL, &footer,
					     error_r) < 0)
			return -1;
		ret = fg_listmsg_add_footer(msg, footer, error_r);
		free(footer);
		if (ret < 0)
			return -1;
	}
	if (set->dmarc_always &&
	    fg_listmsg_dmarc(msg, set->list, FG_LISTMSG_DMARC_NONE, true,
			     &munged, error_r) < 0)
		return -1;
	if (!set->dmarc_always && set->dmarc_policy != NULL &&
	    fg_listmsg_build_dmarc(msg, set, error_r) < 0)
		return -1;
	if (fg_listmsg_set_headers(msg, set->list, set->topic_url,
				   error_r) < 0)
		return -1;
	if (set->personal_unsubscribe) {
		/* written per recipient in front of the copy */
		g_mime_object_remove_header(obj, "List-Unsubscribe");
		g_mime_object_remove_header(obj, "List-Unsubscribe-Post");
	}
	return 0;
}

/* fg_listmsg_build - see fg-listmsg.h */
int fg_listmsg_build(const char *data, size_t size,
		     const struct fg_listmsg_build *set, char **copy_r,
		     size_t *copy_size_r, const char **error_r)
{
	GMimeParserOptions *options;
	GMimeMessage *msg;
	int ret;

	*copy_r = NULL;
	*copy_size_r = 0;
	if (fg_listmsg_list_check(set->list, error_r) < 0)
		return -1;
	msg = fg_mail_construct(data, size, &options);
	g_mime_parser_options_free(options);
	if (msg == NULL) {
		*error_r = "the message is not a MIME message";
		return -1;
	}
	ret = fg_listmsg_build_changes(msg, set, error_r);
	if (ret == 0)
		*copy_r = fg_listmsg_write(msg, copy_size_r);
	g_object_unref(msg);
	return ret;
}

/* fg_listmsg_forward - see fg-listmsg.h */
int fg_listmsg_forward(const char *data, size_t size, char **copy_r,
		       size_t *copy_size_r, const char **error_r)
{
	GMimeParserOptions *options;
	GMimeMessage *msg;

	*copy_r = NULL;
	*copy_size_r = 0;
	msg = fg_mail_construct(data, size, &options);
	g_mime_parser_options_free(options);
	if (msg == NULL) {
		*error_r = "the message is not a MIME message";
		return -1;
	}
	fg_listmsg_untrace(msg);
	*copy_r = fg_listmsg_write(msg, copy_size_r);
	g_object_unref(msg);
	return 0;
}
