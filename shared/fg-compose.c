/*
 * NAME
 *	fg-compose 3 - the mail that carries a forum post to the list
 * DESCRIPTION
 *	See fg-compose.h. GMime does the encoding (RFC 2047 words,
 *	folding, quoted-printable, CR LF); this file decides what goes
 *	in, and makes sure nothing that reaches a header can end it.
 */
#include "fg-compose.h"
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmark.h>
#include <gmime/gmime.h>

/* Longest header text taken from a post, in bytes. Forums limit
   titles and names far below this; the bound keeps every header line
   below SMTP's 998 even when a title is one long word. */
#define FG_COMPOSE_FIELD_MAX 400
#define FG_COMPOSE_URL_MAX 900
#define FG_COMPOSE_ADDRESS_MAX 254
#define FG_COMPOSE_DOMAIN_MAX 253
#define FG_COMPOSE_DEFAULT_NAME "Forum user"

/* fg_compose_field - see fg-compose.h */
char *fg_compose_field(const char *text, size_t max)
{
	char *s = fg_mail_clean_line(text);
	size_t len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		s[len] = '\0';
		fg_str_trim(s);
	}
	return s;
}

/* Longest encoded word fg_compose_encode_words() writes: RFC 2047's
   75, of which "=?UTF-8?Q?" and "?=" take 12. */
#define FG_COMPOSE_WORD_MAX 75
#define FG_COMPOSE_WORD_PAYLOAD (FG_COMPOSE_WORD_MAX - 12)

/* fg_compose_looks_encoded - text that a mail client could take for
   RFC 2047 encoded words ("=?charset?q?...?="): GMime passes such
   text through as it is, and the reader would see what it decodes to,
   not what the forum user wrote */
static bool fg_compose_looks_encoded(const char *text)
{
	return strstr(text, "=?") != NULL;
}

/* fg_compose_q_plain - a byte that may stand for itself in a "Q"
   encoded word of a phrase (RFC 2047 5(3)), space aside */
static bool fg_compose_q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

/* fg_compose_q_len - bytes of the "Q" encoding of text[0..len) */
static size_t fg_compose_q_len(const unsigned char *text, size_t len)
{
	size_t need = 0;

	for (size_t i = 0; i < len; i++)
		need += text[i] == ' ' || fg_compose_q_plain(text[i]) ? 1 : 3;
	return need;
}

/* fg_compose_encode_words - clean UTF-8 text as "Q" encoded words,
   each at most FG_COMPOSE_WORD_MAX long and holding whole characters,
   so that the reader sees exactly the text, "=?" included. A word
   ends before a space where the next text word would not fit, so
   that a decoder that keeps the space between encoded words (against
   RFC 2047 6.2) shows at most a space more. GMime has no call that
   encodes text which needs no encoding in its eyes; its own encoder
   passes "=?...?=" through. */
static char *fg_compose_encode_words(const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	struct fg_buf out = { 0 };
	size_t used = 0;
	bool open = false;

	while (*p != '\0') {
		size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
		size_t need;

		for (size_t i = 0; i < n; i++) {
			if (p[i] == '\0')
				n = i;	/* a cut sequence: no reading past */
		}
		need = fg_compose_q_len(p, n);
		if (open && *p == ' ' &&
		    used + fg_compose_q_len(p, 1 + strcspn((const char *)p + 1,
							   " ")) >
		    FG_COMPOSE_WORD_PAYLOAD) {
			fg_buf_puts(&out, "?=");
			open = false;
		}
		if (open && used + need > FG_COMPOSE_WORD_PAYLOAD) {
			fg_buf_puts(&out, "?=");
			open = false;
		}
		if (!open) {
			if (out.len > 0)
				fg_buf_putc(&out, ' ');
			fg_buf_puts(&out, "=?UTF-8?Q?");
			open = true;
			used = 0;
		}
		for (size_t i = 0; i < n; i++) {
			if (p[i] == ' ') {
				fg_buf_putc(&out, '_');
			} else if (fg_compose_q_plain(p[i])) {
				fg_buf_putc(&out, (char)p[i]);
			} else {
				fg_buf_putc(&out, '=');
				fg_buf_putc(&out, hex[p[i] >> 4]);
				fg_buf_putc(&out, hex[p[i] & 15]);
			}
		}
		used += need;
		p += n;
	}
	if (open)
		fg_buf_puts(&out, "?=");
	if (out.s == NULL)
		fg_buf_append(&out, "", 0);
	return fg_buf_steal(&out);
}

/* fg_compose_defuse_name - a display name that no mail client can show
   as an address: "@" becomes " at ", "<" and ">" become "(" and ")",
   also in their full-width and small forms (U+FF20, U+FE6B, U+FF1C,
   U+FF1E, U+FE64, U+FE65), which look the same */
static char *fg_compose_defuse_name(const char *name)
{
	static const struct {
		const char *from, *to;
	} swaps[] = {
		{ "@", " at " }, { "<", "(" }, { ">", ")" },
		{ "\xef\xbc\xa0", " at " }, { "\xef\xb9\xab", " at " },
		{ "\xef\xbc\x9c", "(" }, { "\xef\xbc\x9e", ")" },
		{ "\xef\xb9\xa4", "(" }, { "\xef\xb9\xa5", ")" },
	};
	struct fg_buf out = { 0 };
	char *clean;

	for (const char *p = name; *p != '\0';) {
		size_t i;

		for (i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
			size_t len = strlen(swaps[i].from);
			if (strncmp(p, swaps[i].from, len) == 0) {
				fg_buf_puts(&out, swaps[i].to);
				p += len;
				break;
			}
		}
		if (i == sizeof(swaps) / sizeof(swaps[0]))
			fg_buf_putc(&out, *p++);
	}
	if (out.s == NULL)
		fg_buf_append(&out, "", 0);
	/* " at " next to a space: one space again */
	clean = fg_mail_clean_line(out.s);
	fg_buf_free(&out);
	return clean;
}

/* fg_compose_address_valid - see fg-compose.h */
bool fg_compose_address_valid(const char *addr)
{
	const char *at;

	if (addr == NULL || *addr == '\0' ||
	    strlen(addr) > FG_COMPOSE_ADDRESS_MAX)
		return false;
	at = strchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = addr; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || strchr("<>()[],;:\"\\", c))
			return false;
	}
	return true;
}

/* fg_compose_domain_valid - a host name for List-Id */
static bool fg_compose_domain_valid(const char *domain)
{
	if (domain == NULL || *domain == '\0' || *domain == '.' ||
	    strlen(domain) > FG_COMPOSE_DOMAIN_MAX)
		return false;
	for (const char *p = domain; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* fg_compose_url - the topic URL with everything that is not
   printable ASCII, and the characters that would end <...>,
   percent-encoded; NULL when there is no usable URL */
static char *fg_compose_url(const char *url)
{
	static const char hex[] = "0123456789ABCDEF";
	struct fg_buf out = { 0 };

	if (url == NULL)
		return NULL;
	while (*url == ' ' || *url == '\t')
		url++;
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return NULL;
	for (const char *p = url; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' ||
		    c == '"') {
			fg_buf_putc(&out, '%');
			fg_buf_putc(&out, hex[c >> 4]);
			fg_buf_putc(&out, hex[c & 15]);
		} else {
			fg_buf_putc(&out, (char)c);
		}
	}
	/* trailing white space became %20 and %09: drop it again */
	while (out.len >= 3 && (strcmp(out.s + out.len - 3, "%20") == 0 ||
				strcmp(out.s + out.len - 3, "%09") == 0)) {
		out.len -= 3;
		out.s[out.len] = '\0';
	}
	if (out.len > FG_COMPOSE_URL_MAX) {
		fg_buf_free(&out);
		return NULL;
	}
	return fg_buf_steal(&out);
}

/* fg_compose_references - "<id> <id> ..." for References:, bounded to
   the first and the newest, with the parent last; NULL when empty */
static char *fg_compose_references(const struct fg_compose *c,
				   const char *in_reply_to)
{
	size_t n = 0, max = c->n_references + 1;
	char **ids = fg_xcalloc(max, sizeof(char *));
	struct fg_buf out = { 0 };

	for (size_t i = 0; i < c->n_references; i++) {
		/* a stored ID that is not one is left out, not fatal */
		char *id = c->references[i] != NULL ?
			fg_msgid_normalize(c->references[i]) : NULL;
		if (id != NULL)
			ids[n++] = id;
	}
	if (in_reply_to != NULL &&
	    (n == 0 || strcmp(ids[n - 1], in_reply_to) != 0))
		ids[n++] = fg_xstrdup(in_reply_to);
	for (size_t i = 0; i < n; i++) {
		/* the root names the thread; the newest find the parent */
		if (n > FG_COMPOSE_MAX_REFERENCES && i > 0 &&
		    i < n - (FG_COMPOSE_MAX_REFERENCES - 1))
			continue;
		if (out.len > 0)
			fg_buf_putc(&out, ' ');
		fg_buf_printf(&out, "<%s>", ids[i]);
	}
	fg_strv_free(ids, n);
	if (out.len == 0) {
		fg_buf_free(&out);
		return NULL;
	}
	return fg_buf_steal(&out);
}

/* fg_compose_body - post text as valid UTF-8 with LF line ends, and
   the footer */
static char *fg_compose_body(const char *raw, const char *url)
{
	const char *text = raw != NULL ? raw : "";
	char *clean = fg_mail_clean_text(text, strlen(text));
	size_t len = strlen(clean);
	struct fg_buf out = { 0 };

	/* trailing blank lines, then exactly one line end */
	while (len > 0 && (clean[len - 1] == '\n' || clean[len - 1] == ' ' ||
			   clean[len - 1] == '\t'))
		len--;
	fg_buf_append(&out, clean, len);
	fg_buf_putc(&out, '\n');
	free(clean);
	if (url != NULL)
		fg_buf_printf(&out, "\n-- \nForum topic: %s\n", url);
	return fg_buf_steal(&out);
}

/* fg_compose_html_escape - text for an HTML attribute or element */
static void fg_compose_html_escape(struct fg_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fg_buf_puts(out, "&amp;"); break;
		case '<': fg_buf_puts(out, "&lt;"); break;
		case '>': fg_buf_puts(out, "&gt;"); break;
		case '"': fg_buf_puts(out, "&quot;"); break;
		default: fg_buf_putc(out, *s); break;
		}
	}
}

/* fg_compose_html - the post's Markdown as an HTML document, and the
   footer. CMARK_OPT_SAFE: the forum user's own HTML and dangerous
   link schemes never reach the mail. */
static char *fg_compose_html(const char *raw, const char *url)
{
	const char *text = raw != NULL ? raw : "";
	char *clean = fg_mail_clean_text(text, strlen(text));
	char *html = cmark_markdown_to_html(clean, strlen(clean),
					    CMARK_OPT_SAFE |
					    CMARK_OPT_VALIDATE_UTF8);
	struct fg_buf out = { 0 };

	fg_buf_puts(&out, "<!DOCTYPE html>\n<html><head>"
		    "<meta charset=\"utf-8\"></head><body>\n");
	fg_buf_puts(&out, html != NULL ? html : "");
	if (url != NULL) {
		fg_buf_puts(&out, "<p>-- <br>\nForum topic: <a href=\"");
		fg_compose_html_escape(&out, url);
		fg_buf_puts(&out, "\">");
		fg_compose_html_escape(&out, url);
		fg_buf_puts(&out, "</a></p>\n");
	}
	fg_buf_puts(&out, "</body></html>\n");
	free(html);
	free(clean);
	return fg_buf_steal(&out);
}

/* fg_compose_text_part - see fg-compose.h */
GMimeObject *fg_compose_text_part(const char *subtype, const char *text)
{
	GMimePart *part = g_mime_part_new_with_type("text", subtype);
	GMimeStream *stream;
	GMimeDataWrapper *content;

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	content = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(stream);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_mime_part_set_content_encoding(part,
		GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(part);
}

/* fg_compose_unsubscribe_valid - see fg-compose.h */
bool fg_compose_unsubscribe_valid(const char *uri)
{
	size_t len;

	if (uri == NULL)
		return false;
	len = strlen(uri);
	if (len > FG_COMPOSE_UNSUBSCRIBE_MAX)
		return false;
	if (!(strncasecmp(uri, "mailto:", 7) == 0 && len > 7 &&
	      strchr(uri + 7, '@') != NULL) &&
	    !(strncasecmp(uri, "https://", 8) == 0 && len > 8 &&
	      uri[8] != '/'))
		return false;
	for (const char *p = uri; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' ||
		    c == '"')
			return false;
	}
	return true;
}

/* fg_compose_check - the settings that must be present and valid */
static int fg_compose_check(const struct fg_compose *c, const char **error_r)
{
	if (c->post == NULL) {
		*error_r = fg_errorf("compose: no post");
		return -1;
	}
	if (!fg_compose_address_valid(c->list_address)) {
		*error_r = fg_errorf("compose: invalid list address");
		return -1;
	}
	if (!fg_compose_address_valid(c->from_address)) {
		*error_r = fg_errorf("compose: invalid bridge address");
		return -1;
	}
	if (c->list_name == NULL || !fg_list_name_valid(c->list_name)) {
		*error_r = fg_errorf("compose: invalid list name");
		return -1;
	}
	if (!fg_compose_domain_valid(c->mail_domain)) {
		*error_r = fg_errorf("compose: invalid mail domain");
		return -1;
	}
	return 0;
}

/* fg_compose_mailbox - add one mailbox to an address header */
static void fg_compose_mailbox(InternetAddressList *list, const char *name,
			       const char *addr)
{
	InternetAddress *ia = internet_address_mailbox_new(name, addr);

	/* UTF-8 encoded words, never a guessed Latin-1 */
	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(list, ia);
	g_object_unref(ia);
}

/* fg_compose_mail - the RFC 5322 message of a forum post */
int fg_compose_mail(const struct fg_compose *c, char **data_r,
		    size_t *size_r, const char **error_r)
{
	const struct fg_post *post;
	char *message_id = NULL, *in_reply_to = NULL, *refs, *url;
	char *title, *name, *suffix, *display, *subject, *body, *value;
	GMimeMessage *msg;
	GMimeObject *obj, *part;
	GMimeStream *stream;
	GMimeFormatOptions *format;
	GDateTime *date;
	GByteArray *bytes;

	*data_r = NULL;
	*size_r = 0;
	if (fg_compose_check(c, error_r) < 0)
		return -1;
	post = c->post;
	message_id = c->message_id != NULL ?
		fg_msgid_normalize(c->message_id) : NULL;
	if (message_id == NULL) {
		*error_r = fg_errorf("compose: missing or invalid Message-ID");
		return -1;
	}
	if (c->in_reply_to != NULL &&
	    (in_reply_to = fg_msgid_normalize(c->in_reply_to)) == NULL) {
		free(message_id);
		*error_r = fg_errorf("compose: invalid In-Reply-To");
		return -1;
	}

	title = fg_compose_field(post->topic_title, FG_COMPOSE_FIELD_MAX);
	if (*title == '\0') {
		free(title);
		title = fg_xstrdup("(no subject)");
	}
	subject = c->edited ? fg_xasprintf("[edited] Re: %s", title) :
		post->post_number > 1 ?
		fg_xasprintf("Re: %s", title) : fg_xstrdup(title);
	name = fg_compose_field(post->name, FG_COMPOSE_FIELD_MAX);
	if (*name == '\0') {
		free(name);
		name = fg_compose_field(post->username, FG_COMPOSE_FIELD_MAX);
	}
	if (*name == '\0') {
		free(name);
		name = fg_xstrdup(FG_COMPOSE_DEFAULT_NAME);
	}
	suffix = fg_compose_field(c->name_suffix, FG_COMPOSE_FIELD_MAX);
	value = *suffix != '\0' ? fg_xasprintf("%s %s", name, suffix) :
		fg_xstrdup(name);
	display = fg_compose_defuse_name(value);
	free(value);
	if (fg_compose_looks_encoded(display)) {
		value = display;
		display = fg_compose_encode_words(value);
		free(value);
	}
	url = fg_compose_url(c->topic_url);
	refs = fg_compose_references(c, in_reply_to);
	body = fg_compose_body(post->raw, url);

	msg = g_mime_message_new(FALSE);
	obj = GMIME_OBJECT(msg);
	fg_compose_mailbox(g_mime_message_get_from(msg), display,
			   c->from_address);
	if (!c->no_reply_to)
		fg_compose_mailbox(g_mime_message_get_reply_to(msg), NULL,
				   c->list_address);
	fg_compose_mailbox(g_mime_message_get_to(msg), NULL, c->list_address);
	if (fg_compose_looks_encoded(title)) {
		/* "Re: " stays readable for threading by subject */
		char *words = fg_compose_encode_words(title);
		size_t prefix = strlen(subject) - strlen(title);

		value = fg_xasprintf("%.*s%s", (int)prefix, subject, words);
		g_mime_object_set_header(obj, "Subject", value, NULL);
		free(value);
		free(words);
	} else {
		g_mime_message_set_subject(msg, subject, "utf-8");
	}
	date = g_date_time_new_from_unix_utc(c->date > 0 ? c->date :
					     (long long)time(NULL));
	if (date == NULL)
		date = g_date_time_new_now_utc();
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);

	value = fg_xasprintf("<%s>", message_id);
	g_mime_object_set_header(obj, "Message-ID", value, NULL);
	free(value);
	if (in_reply_to != NULL) {
		value = fg_xasprintf("<%s>", in_reply_to);
		g_mime_object_set_header(obj, "In-Reply-To", value, NULL);
		free(value);
	}
	if (refs != NULL)
		g_mime_object_set_header(obj, "References", refs, NULL);
	value = fg_xasprintf("<%s.%s>", c->list_name, c->mail_domain);
	g_mime_object_set_header(obj, "List-Id", value, NULL);
	free(value);
	value = fg_xasprintf("<mailto:%s>", c->list_address);
	g_mime_object_set_header(obj, "List-Post", value, NULL);
	free(value);
	if (url != NULL) {
		value = fg_xasprintf("<%s>", url);
		g_mime_object_set_header(obj, "List-Archive", value, NULL);
		free(value);
	}
	if (fg_compose_unsubscribe_valid(c->unsubscribe)) {
		value = fg_xasprintf("<%s>", c->unsubscribe);
		g_mime_object_set_header(obj, "List-Unsubscribe", value, NULL);
		free(value);
	}
	g_mime_object_set_header(obj, "MIME-Version", "1.0", NULL);

	part = fg_compose_text_part("plain", body);
	if (c->html) {
		/* RFC 2046: the plainest first, the preferred last */
		GMimeMultipart *alt =
			g_mime_multipart_new_with_subtype("alternative");
		char *html = fg_compose_html(post->raw, url);
		GMimeObject *html_part = fg_compose_text_part("html", html);

		free(html);
		g_mime_multipart_add(alt, part);
		g_mime_multipart_add(alt, html_part);
		g_object_unref(html_part);
		g_object_unref(part);
		part = GMIME_OBJECT(alt);
	}
	g_mime_message_set_mime_part(msg, part);
	g_object_unref(part);

	format = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(format,
						 GMIME_NEWLINE_FORMAT_DOS);
	stream = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(obj, format, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	*data_r = fg_xstrndup((const char *)bytes->data, bytes->len);
	*size_r = bytes->len;

	g_object_unref(stream);
	g_mime_format_options_free(format);
	g_object_unref(msg);
	free(message_id);
	free(in_reply_to);
	free(refs);
	free(url);
	free(title);
	free(subject);
	free(name);
	free(suffix);
	free(display);
	free(body);
	return 0;
}
