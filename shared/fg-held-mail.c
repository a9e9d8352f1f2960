/*
 * NAME
 *	fg-held-mail 3 - the mails of the moderation queue
 * DESCRIPTION
 *	See fg-held.h. Both mails are built with GMime: headers from
 *	the held post's fields made one clean line (fg_mail_clean_line())
 *	and encoded by GMime, the text quoted-printable UTF-8
 *	(fg_compose_text_part()), CR LF line ends for SMTP. They carry
 *	Auto-Submitted (RFC 3834), so that a vacation responder does not
 *	answer them to the list's control addresses.
 *
 *	The announcement is multipart/mixed: what the moderator can do,
 *	then the held message as message/rfc822 (as Mailman 3 attaches
 *	it); its Reply-To is the approve address, so a plain reply
 *	approves. A held message GMime cannot read is attached as
 *	application/octet-stream.
 */
#include "fg-held.h"
#include "fg-common.h"
#include "fg-charset.h"
#include "fg-compose.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest subject quoted from a held post. */
#define HELD_SUBJECT_MAX 200

/* held_mail_check - the addresses the mail needs */
static int held_mail_check(const struct fg_held_mail *m, bool announce,
			   const char **error_r)
{
	if (!fg_compose_address_valid(m->from) ||
	    !fg_compose_address_valid(m->to) ||
	    m->message_id == NULL || *m->message_id == '\0' ||
	    m->held == NULL ||
	    (announce && (!fg_compose_address_valid(m->approve_address) ||
			  !fg_compose_address_valid(m->reject_address)))) {
		*error_r = fg_errorf("moderation mail: an invalid address "
				     "or no Message-ID");
		return -1;
	}
	return 0;
}

/* held_mail_new - a message with the headers both mails have */
static GMimeMessage *held_mail_new(const struct fg_held_mail *m,
				   const char *subject, const char *auto_submitted)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeObject *obj = GMIME_OBJECT(msg);
	GDateTime *now = g_date_time_new_now_utc();
	char *from_name = fg_xasprintf("%s list", m->list);
	char *clean = fg_mail_clean_line(subject);

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name,
				   m->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, m->to);
	g_mime_message_set_subject(msg, clean, "utf-8");
	g_mime_message_set_date(msg, now);
	g_mime_message_set_message_id(msg, m->message_id);
	g_mime_object_set_header(obj, "Auto-Submitted", auto_submitted, NULL);
	g_mime_object_set_header(obj, "MIME-Version", "1.0", NULL);
	g_date_time_unref(now);
	free(from_name);
	free(clean);
	return msg;
}

/* held_mail_out - the message as SMTP DATA; unrefs it */
static void held_mail_out(GMimeMessage *msg, char **data_r, size_t *size_r)
{
	GMimeFormatOptions *format = g_mime_format_options_new();
	GMimeStream *stream = g_mime_stream_mem_new();
	GByteArray *bytes;

	g_mime_format_options_set_newline_format(format,
						 GMIME_NEWLINE_FORMAT_DOS);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), format, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	*data_r = fg_xstrndup((const char *)bytes->data, bytes->len);
	*size_r = bytes->len;
	g_object_unref(stream);
	g_mime_format_options_free(format);
	g_object_unref(msg);
}

/* held_attachment - the held message as message/rfc822, or as bytes
   when GMime cannot read it */
static GMimeObject *held_attachment(const struct fg_held *h)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(
		h->message, h->message_size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *held;
	GMimeObject *part;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	held = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (held != NULL) {
		part = GMIME_OBJECT(g_mime_message_part_new_with_message(
			"rfc822", held));
		g_object_unref(held);
	} else {
		GMimeDataWrapper *content;

		g_mime_stream_reset(stream);
		part = GMIME_OBJECT(g_mime_part_new_with_type(
			"application", "octet-stream"));
		content = g_mime_data_wrapper_new_with_stream(
			stream, GMIME_CONTENT_ENCODING_DEFAULT);
		g_mime_part_set_content(GMIME_PART(part), content);
		g_object_unref(content);
		g_mime_part_set_content_encoding(GMIME_PART(part),
			GMIME_CONTENT_ENCODING_BASE64);
	}
	g_object_unref(stream);
	return part;
}

/* held_quoted - a header value of the held post for the text */
static char *held_quoted(const char *text)
{
	return fg_compose_field(text != NULL ? text : "", HELD_SUBJECT_MAX);
}

int fg_held_announce_mail(const struct fg_held_mail *m, char **data_r,
			  size_t *size_r, const char **error_r)
{
	const struct fg_held *h = m->held;
	GMimeMultipart *mixed;
	GMimeMessage *msg;
	GMimeObject *text_part, *attached;
	char *subject, *from, *title, *reason, *text, expires[64];
	time_t t = (time_t)m->expires;
	struct tm tm;

	if (held_mail_check(m, true, error_r) < 0)
		return -1;
	from = held_quoted(h->from);
	title = held_quoted(h->subject);
	reason = held_quoted(h->reason);
	gmtime_r(&t, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%d %H:%M UTC", &tm);
	subject = fg_xasprintf("%s post %lld from %s needs approval: %s",
			       m->list, h->id, from, title);
	text = fg_xasprintf(
		"A post to the %s list <%s> is held for a moderator.\n"
		"\n"
		"  Held post: %lld\n"
		"  From:      %s\n"
		"  Subject:   %s\n"
		"  Why:       %s\n"
		"\n"
		"To approve it, reply to this message: the reply goes to\n"
		"  %s\n"
		"\n"
		"To reject it, write to\n"
		"  %s\n"
		"The first line of your message that is not quoted is the "
		"reason\nthe sender is given.\n"
		"\n"
		"Or on the server: forumgate approve %s %lld\n"
		"              or: forumgate reject %s %lld --reason TEXT\n"
		"\n"
		"Without a decision the post expires at %s and the sender\n"
		"is told. The held message is attached.\n",
		m->list, m->list_address, h->id, from, title, reason,
		m->approve_address, m->reject_address, m->list, h->id,
		m->list, h->id, expires);
	msg = held_mail_new(m, subject, "auto-generated");
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL,
				   m->approve_address);
	mixed = g_mime_multipart_new_with_subtype("mixed");
	text_part = fg_compose_text_part("plain", text);
	attached = held_attachment(h);
	g_mime_multipart_add(mixed, text_part);
	g_mime_multipart_add(mixed, attached);
	g_object_unref(text_part);
	g_object_unref(attached);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
	g_object_unref(mixed);
	held_mail_out(msg, data_r, size_r);
	free(subject);
	free(from);
	free(title);
	free(reason);
	free(text);
	return 0;
}

int fg_held_notice_mail(const struct fg_held_mail *m, char **data_r,
			size_t *size_r, const char **error_r)
{
	const struct fg_held *h = m->held;
	bool expired = strcmp(h->state, FG_HELD_STATE_EXPIRED) == 0;
	GMimeMessage *msg;
	GMimeObject *text_part;
	char *subject, *title, *reason, *text, *in_reply_to = NULL;

	if (held_mail_check(m, false, error_r) < 0)
		return -1;
	title = held_quoted(h->subject);
	reason = held_quoted(h->reject_reason);
	subject = fg_xasprintf("Your message to the %s list was not posted: "
			       "%s", m->list, title);
	text = fg_xasprintf(
		"Your message to the %s list <%s>\n"
		"\n"
		"  Subject: %s\n"
		"\n"
		"was held for a moderator and is not posted:\n%s.\n"
		"%s%s%s",
		m->list, m->list_address, title,
		expired ? "no moderator approved it in time" :
		"a moderator rejected it",
		*reason != '\0' ? "\nThe reason given: " : "", reason,
		*reason != '\0' ? "\n" : "");
	msg = held_mail_new(m, subject, "auto-replied");
	if (h->message_id != NULL && *h->message_id != '\0' &&
	    strpbrk(h->message_id, "<> \t\r\n") == NULL) {
		in_reply_to = fg_xasprintf("<%s>", h->message_id);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To",
					 in_reply_to, NULL);
	}
	text_part = fg_compose_text_part("plain", text);
	g_mime_message_set_mime_part(msg, text_part);
	g_object_unref(text_part);
	held_mail_out(msg, data_r, size_r);
	free(in_reply_to);
	free(subject);
	free(title);
	free(reason);
	free(text);
	return 0;
}

char *fg_held_first_line(const char *message, size_t size, size_t max)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(message, size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;
	GMimeObject *body;
	char *text = NULL, *line = NULL;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL)
		return fg_xstrdup("");
	/* the text the mail client wrote: its first text/plain part */
	body = g_mime_message_get_body(msg);
	if (body != NULL && GMIME_IS_TEXT_PART(body))
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
	g_object_unref(msg);
	for (char *p = text, *end; p != NULL && *p != '\0' && line == NULL;
	     p = *end != '\0' ? end + 1 : end) {
		size_t n;

		end = p + strcspn(p, "\n");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		if (n == 0 || *p == '>')
			continue;
		/* a client's "On ... wrote:" line starts the quote */
		if (n > 6 && strncmp(p + n - 6, "wrote:", 6) == 0)
			break;
		line = fg_xstrndup(p, n > max ? max : n);
	}
	g_free(text);
	if (line == NULL)
		return fg_xstrdup("");
	text = fg_mail_clean_line(line);
	free(line);
	return text;
}
