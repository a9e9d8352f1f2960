/*
 * NAME
 *	fg-listmsg-body 3 - the list footer, in the text or as a MIME part
 * DESCRIPTION
 *	See fg-listmsg.h for fg_listmsg_footer_expand() and
 *	fg_listmsg_add_footer(), and fg-listmsg-private.h for the text
 *	of a part as UTF-8, which the passphrase removal uses too. GMime
 *	undoes and redoes the transfer encodings; GLib's g_convert()
 *	converts charsets, strictly (a byte not valid in the declared
 *	charset is an error, never guessed).
 */
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-charset.h"
#include "fg-common.h"
#include "fg-listmail.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fg_listmsg_charset - the part's charset for iconv, us-ascii when it
   declares none; NULL for the charsets whose text holds NUL bytes
   (UTF-16, UTF-32, UCS-2, UCS-4), which no mail text part should use */
static const char *fg_listmsg_charset(GMimePart *part)
{
	const char *cs = g_mime_object_get_content_type_parameter(
		GMIME_OBJECT(part), "charset");

	if (cs == NULL || *cs == '\0')
		return "us-ascii";
	if (strncasecmp(cs, "utf-16", 6) == 0 ||
	    strncasecmp(cs, "utf-32", 6) == 0 ||
	    strncasecmp(cs, "ucs", 3) == 0 || strlen(cs) > 40)
		return NULL;
	return cs;
}

/* fg_listmsg_part_text - see fg-listmsg-private.h */
int fg_listmsg_part_text(GMimePart *part, char **text_r, size_t *len_r)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	const char *cs = fg_listmsg_charset(part);
	GMimeStream *stream;
	GByteArray *bytes;
	gchar *utf8;
	gsize written = 0;
	GError *error = NULL;

	*text_r = NULL;
	*len_r = 0;
	if (cs == NULL)
		return -1;
	stream = g_mime_stream_mem_new();
	if (content != NULL &&
	    g_mime_data_wrapper_write_to_stream(content, stream) < 0) {
		g_object_unref(stream);
		return -1;
	}
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	if (bytes->len == 0) {
		g_object_unref(stream);
		*text_r = fg_xstrdup("");
		return 0;
	}
	utf8 = g_convert((const gchar *)bytes->data, (gssize)bytes->len,
			 "UTF-8", g_mime_charset_iconv_name(cs), NULL,
			 &written, &error);
	g_object_unref(stream);
	if (utf8 == NULL) {
		g_clear_error(&error);
		return -1;
	}
	if (memchr(utf8, '\0', written) != NULL) {
		g_free(utf8);
		return -1;
	}
	*text_r = fg_xstrndup(utf8, written);
	*len_r = written;
	g_free(utf8);
	return 0;
}

/* fg_listmsg_8bit - the bytes need more than 7 bits */
static bool fg_listmsg_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

/* fg_listmsg_long_line - a line longer than SMTP's 998 with room to
   spare, which 7bit cannot carry */
static bool fg_listmsg_long_line(const char *s, size_t len)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		line = s[i] == '\n' ? 0 : line + 1;
		if (line > 900)
			return true;
	}
	return false;
}

/* fg_listmsg_part_set_text - see fg-listmsg-private.h */
void fg_listmsg_part_set_text(GMimePart *part, const char *text, size_t len)
{
	const char *cs = fg_listmsg_charset(part);
	GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);
	gchar *bytes = NULL;
	gsize written = 0;
	GMimeStream *stream;
	GMimeDataWrapper *content;

	if (cs != NULL)
		bytes = g_convert(text, (gssize)len,
				  g_mime_charset_iconv_name(cs), "UTF-8",
				  NULL, &written, NULL);
	if (bytes == NULL) {
		/* Mailman's last resort too: the whole text as UTF-8 */
		bytes = g_strndup(text, len);
		written = len;
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
							 "charset", "utf-8");
	}
	stream = g_mime_stream_mem_new_with_buffer(bytes, written);
	content = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(stream);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	     enc == GMIME_CONTENT_ENCODING_7BIT) &&
	    (fg_listmsg_8bit(bytes, written) ||
	     fg_listmsg_long_line(bytes, written)))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if (enc != GMIME_CONTENT_ENCODING_DEFAULT)
		g_mime_part_set_content_encoding(part, enc);
	g_free(bytes);
}

/* fg_listmsg_var - the value of a footer placeholder, NULL when the
   name is none */
static const char *fg_listmsg_var(const char *name, size_t len,
				  const struct fg_listmsg_list *list,
				  const char *list_id, const char *topic_url,
				  const char *unsubscribe_url)
{
	static const char *const names[] = {
		"list_name", "display_name", "list_address", "list_id",
		"topic_url", "unsubscribe_url",
	};
	const char *values[] = {
		list->name,
		list->display_name != NULL ? list->display_name : list->name,
		list->address, list_id,
		topic_url != NULL ? topic_url : "",
		unsubscribe_url != NULL ? unsubscribe_url : "",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return values[i];
	}
	return NULL;
}

/* fg_listmsg_name_len - length of a placeholder name at s */
static size_t fg_listmsg_name_len(const char *s)
{
	size_t n = 0;

	while ((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_')
		n++;
	return n;
}

/* fg_listmsg_footer_expand - see fg-listmsg.h */
int fg_listmsg_footer_expand(const char *tmpl,
			     const struct fg_listmsg_list *list,
			     const char *topic_url, const char *unsubscribe_url,
			     char **text_r, const char **error_r)
{
	struct fg_buf out = { 0 };
	char *list_id, *clean;

	*text_r = NULL;
	if (fg_listmsg_list_check(list, error_r) < 0)
		return -1;
	if (tmpl == NULL || strlen(tmpl) > FG_LISTMSG_FOOTER_MAX) {
		*error_r = fg_errorf("footer: no template, or longer than "
				     "%d bytes", FG_LISTMSG_FOOTER_MAX);
		return -1;
	}
	list_id = list->list_id != NULL ? fg_xstrdup(list->list_id) :
		fg_listmail_default_id(list->address);
	for (const char *p = tmpl; *p != '\0';) {
		const char *name, *value;
		size_t len, skip;

		if (*p != '$') {
			fg_buf_putc(&out, *p++);
			continue;
		}
		if (p[1] == '$') {
			fg_buf_putc(&out, '$');
			p += 2;
			continue;
		}
		if (p[1] == '{') {
			name = p + 2;
			len = fg_listmsg_name_len(name);
			skip = name[len] == '}' ? len + 3 : 0;
		} else {
			name = p + 1;
			len = fg_listmsg_name_len(name);
			skip = len + 1;
		}
		value = skip > 0 ? fg_listmsg_var(name, len, list, list_id,
						  topic_url,
						  unsubscribe_url) : NULL;
		if (value == NULL) {
			fg_buf_putc(&out, *p++);
			continue;
		}
		fg_buf_puts(&out, value);
		p += skip;
	}
	free(list_id);
	if (out.s == NULL)
		fg_buf_append(&out, "", 0);
	clean = fg_mail_clean_text(out.s, out.len);
	fg_buf_free(&out);
	if (strlen(clean) > FG_LISTMSG_FOOTER_MAX) {
		free(clean);
		*error_r = fg_errorf("footer: longer than %d bytes once "
				     "expanded", FG_LISTMSG_FOOTER_MAX);
		return -1;
	}
	*text_r = clean;
	return 0;
}

/* fg_listmsg_footer_part - the footer as its own inline text part */
static GMimeObject *fg_listmsg_footer_part(const char *footer)
{
	GMimePart *part = g_mime_part_new_with_type("text", "plain");

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	g_mime_object_set_disposition(GMIME_OBJECT(part), "inline");
	fg_listmsg_part_set_text(part, footer, strlen(footer));
	return GMIME_OBJECT(part);
}

/* fg_listmsg_append_text - the footer at the end of a text/plain
   part; -1 when its text cannot be read in its charset */
static int fg_listmsg_append_text(GMimePart *part, const char *footer)
{
	struct fg_buf out = { 0 };
	char *text;
	size_t len;
	bool crlf;

	if (fg_listmsg_part_text(part, &text, &len) < 0)
		return -1;
	crlf = strstr(text, "\r\n") != NULL;
	fg_buf_append(&out, text, len);
	if (len > 0 && text[len - 1] != '\n')
		fg_buf_puts(&out, crlf ? "\r\n" : "\n");
	for (const char *p = footer; *p != '\0'; p++) {
		if (*p == '\n' && crlf)
			fg_buf_putc(&out, '\r');
		fg_buf_putc(&out, *p);
	}
	if (out.s == NULL)
		fg_buf_append(&out, "", 0);
	fg_listmsg_part_set_text(part, out.s, out.len);
	fg_buf_free(&out);
	free(text);
	return 0;
}

/* fg_listmsg_add_footer - see fg-listmsg.h */
int fg_listmsg_add_footer(GMimeMessage *msg, const char *footer,
			  const char **error_r)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	GMimeObject *part;
	GMimeMultipart *mixed;
	GMimeContentType *ct;

	if (footer == NULL || strlen(footer) > FG_LISTMSG_FOOTER_MAX ||
	    !g_utf8_validate(footer, -1, NULL)) {
		*error_r = fg_errorf("footer: missing, not UTF-8 or longer "
				     "than %d bytes", FG_LISTMSG_FOOTER_MAX);
		return -1;
	}
	if (*footer == '\0')
		return 0;
	if (body == NULL) {
		part = fg_listmsg_footer_part(footer);
		g_mime_message_set_mime_part(msg, part);
		g_object_unref(part);
		return 0;
	}
	ct = g_mime_object_get_content_type(body);
	if (GMIME_IS_PART(body) && g_mime_content_type_is_type(ct, "text",
							       "plain") &&
	    fg_listmsg_append_text(GMIME_PART(body), footer) == 0)
		return 0;
	part = fg_listmsg_footer_part(footer);
	if (GMIME_IS_MULTIPART(body) && !GMIME_IS_MULTIPART_SIGNED(body) &&
	    !GMIME_IS_MULTIPART_ENCRYPTED(body) &&
	    g_mime_content_type_is_type(ct, "multipart", "mixed")) {
		g_mime_multipart_add(GMIME_MULTIPART(body), part);
		g_object_unref(part);
		return 0;
	}
	/* Mailman's wrap: the original, untouched, then the footer */
	g_object_ref(body);
	mixed = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_add(mixed, body);
	g_mime_multipart_add(mixed, part);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
	g_object_unref(mixed);
	g_object_unref(part);
	g_object_unref(body);
	return 0;
}
