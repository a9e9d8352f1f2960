/*
 * NAME
 *	fg-mailpart 3 - the content of a MIME leaf part, and the fields of
 *	a header-like block
 * DESCRIPTION
 *	See fg-mail-private.h. A message/delivery-status part (RFC 3464
 *	section 2.1), a message/feedback-report part (RFC 5965) and a
 *	text/rfc822-headers part are "Name: value" lines that GMime
 *	leaves as the text of a leaf part: fg_mail_fields() reads them
 *	with continuation lines unfolded. GMime's own header parser is
 *	not used for them because a DSN holds several blocks separated
 *	by empty lines, which it would read as headers and a body.
 *
 *	fg_mail_visit() visits the parts of a message, bounded in count
 *	and depth, for fg-refusal.c and fg-bounce.c.
 */
#include "fg-common.h"
#include "fg-mail-private.h"
#include "fg-mailparse.h"

#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

/* fg_mail_part_bytes - see fg-mail-private.h */
char *fg_mail_part_bytes(GMimePart *part, size_t max, size_t *len_r)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *stream;
	GByteArray *bytes;
	char *out;
	size_t len;

	*len_r = 0;
	if (content == NULL)
		return fg_xstrdup("");
	stream = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	len = bytes->len > max ? max : bytes->len;
	out = len > 0 ? fg_xstrndup((const char *)bytes->data, len) :
		fg_xstrdup("");
	g_object_unref(stream);
	/* a NUL inside ends the text: what follows is not read */
	*len_r = strlen(out);
	return out;
}

/* fg_mail_part_utf8 - see fg-mail-private.h */
char *fg_mail_part_utf8(GMimePart *part, size_t max)
{
	struct fg_buf conv = { 0 }, clean = { 0 };
	size_t len;
	char *bytes = fg_mail_part_bytes(part, max, &len);
	const char *charset = g_mime_object_get_content_type_parameter(
		GMIME_OBJECT(part), "charset");

	fg_charset_to_utf8(&conv, charset, bytes, len);
	free(bytes);
	fg_utf8_clean_text(&clean, conv.s != NULL ? conv.s : "", conv.len);
	fg_buf_free(&conv);
	return fg_buf_steal(&clean);
}

/* fg_mail_fields - see fg-mail-private.h */
void fg_mail_fields(const char *text,
		    void (*fn)(void *ctx, const char *name, const char *value),
		    void *ctx)
{
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n'), *colon, *next;
		struct fg_buf value = { 0 };
		char *name;

		if (eol == NULL)
			eol = p + strlen(p);
		if (fg_line_rtrim(p, (size_t)(eol - p)) == 0) {
			fn(ctx, "", "");
			p = *eol != '\0' ? eol + 1 : eol;
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		next = *eol != '\0' ? eol + 1 : eol;
		if (colon == NULL || *p == ' ' || *p == '\t') {
			p = next;
			continue;
		}
		name = fg_xstrndup(p, (size_t)(colon - p));
		fg_buf_append(&value, colon + 1, (size_t)(eol - colon - 1));
		/* continuation lines */
		while (*next == ' ' || *next == '\t') {
			const char *e = strchr(next, '\n');
			if (e == NULL)
				e = next + strlen(next);
			fg_buf_append(&value, next, (size_t)(e - next));
			next = *e != '\0' ? e + 1 : e;
		}
		fg_str_trim(name);
		fn(ctx, name, value.s != NULL ? fg_str_trim(value.s) : "");
		free(name);
		fg_buf_free(&value);
		p = next;
	}
}

/* fg_mail_visit - see fg-mail-private.h */
void fg_mail_visit(struct fg_mail_visit *walk, GMimeObject *obj,
		  unsigned int depth)
{
	if (obj == NULL || ++walk->parts > walk->max_parts ||
	    depth > FG_MAIL_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		for (int i = 0; i < n; i++)
			fg_mail_visit(walk, g_mime_multipart_get_part(mp, i),
				     depth + 1);
		if (n == 0 && walk->empty != NULL)
			walk->empty(walk, mp);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));

		if (walk->message != NULL)
			walk->message(walk, inner, depth);
	} else if (GMIME_IS_PART(obj)) {
		walk->part(walk, GMIME_PART(obj));
	}
}
