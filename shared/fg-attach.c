/*
 * NAME
 *	fg-attach 3 - the attachments of a list message
 * DESCRIPTION
 *	See fg-attach.h. The message is parsed by GMime a second time,
 *	apart from fg_mail_parse(): most list mail has no attachment and
 *	is not multipart, and such mail is never handed to GMime here.
 */
#include "fg-attach.h"
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-mail-private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>
#include <openssl/evp.h>

struct fg_attach_walk {
	const struct fg_attach_settings *set;
	struct fg_attachment *atts;
	size_t n;
	size_t carried;		/* data bytes kept so far */
};

/* fg_attach_never - see fg-attach.h */
bool fg_attach_never(const char *name, const char *type)
{
	static const char *const names[] = {
		"winmail.dat", "smime.p7s", "signature.asc",
	};
	static const char *const types[] = {
		"application/ms-tnef", "application/vnd.ms-tnef",
		"application/pkcs7-signature",
		"application/x-pkcs7-signature",
		"application/pgp-signature", "application/pgp-encrypted",
	};

	for (size_t i = 0; name != NULL && i < FG_N_ELEMENTS(names); i++) {
		if (strcasecmp(name, names[i]) == 0)
			return true;
	}
	for (size_t i = 0; type != NULL && i < FG_N_ELEMENTS(types); i++) {
		if (strcasecmp(type, types[i]) == 0)
			return true;
	}
	return false;
}

/* fg_attach_type_allowed - see fg-attach.h */
bool fg_attach_type_allowed(const char *types, const char *type)
{
	const char *p = types, *slash = strchr(type, '/');

	while (p != NULL && *p != '\0') {
		size_t len;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, " ,\t");
		if (len == 0)
			break;
		if (len == strlen(type) && strncasecmp(p, type, len) == 0)
			return true;
		/* a whole top-level type: "image/" then "*" */
		if (slash != NULL && len >= 2 && p[len - 1] == '*' &&
		    p[len - 2] == '/' &&
		    (size_t)(slash - type) == len - 2 &&
		    strncasecmp(p, type, len - 2) == 0)
			return true;
		p += len;
	}
	return false;
}

/* fg_attach_name - a safe one-line base name of at most
   FG_ATTACH_NAME_MAX bytes, or a made-up one */
static char *fg_attach_name(const char *raw, size_t index)
{
	char *clean, *base, *name;
	size_t len;

	if (raw == NULL || *raw == '\0')
		return fg_xasprintf("attachment-%zu", index + 1);
	clean = fg_mail_clean_line(raw);
	base = clean;
	for (char *p = clean; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = p + 1;
	}
	len = strlen(base);
	if (len > FG_ATTACH_NAME_MAX) {
		len = FG_ATTACH_NAME_MAX;
		/* do not cut a UTF-8 sequence */
		while (len > 0 && ((unsigned char)base[len] & 0xc0) == 0x80)
			len--;
	}
	name = fg_xstrndup(base, len);
	free(clean);
	fg_str_trim(name);
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		free(name);
		return fg_xasprintf("attachment-%zu", index + 1);
	}
	return name;
}

/* fg_attach_is_attachment - not the text the message is posted as */
static bool fg_attach_is_attachment(GMimeObject *part, const char *filename)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *disposition = g_mime_object_get_disposition(part);

	if (disposition != NULL && strcasecmp(disposition, "attachment") == 0)
		return true;
	if (filename != NULL && *filename != '\0')
		return true;
	return ct == NULL || !g_mime_content_type_is_type(ct, "text", "*");
}

/* fg_attach_leaf - one leaf part */
static void fg_attach_leaf(struct fg_attach_walk *w, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	const char *filename = g_mime_part_get_filename(part);
	struct fg_attachment *a;
	GMimeStream *stream;
	GByteArray *bytes;
	char *type;

	if (w->n >= FG_ATTACH_MAX || !fg_attach_is_attachment(obj, filename))
		return;
	type = ct != NULL ? g_mime_content_type_get_mime_type(ct) : NULL;
	if (type == NULL)
		type = g_strdup("application/octet-stream");
	if (fg_attach_never(filename, type)) {
		g_free(type);
		return;
	}
	a = &w->atts[w->n];
	a->name = fg_attach_name(filename, w->n);
	a->type = fg_str_lower(fg_mail_clean_line(type));
	g_free(type);
	w->n++;
	if (content == NULL)
		return;
	stream = g_mime_stream_mem_new();
	/* undoes the Content-Transfer-Encoding, leniently */
	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	a->size = bytes->len;
	if (fg_attach_type_allowed(w->set->types, a->type) &&
	    a->size <= w->set->max_size &&
	    a->size <= w->set->max_total - w->carried) {
		a->data = fg_xmalloc(a->size > 0 ? a->size : 1);
		memcpy(a->data, bytes->data, a->size);
		w->carried += a->size;
	}
	g_object_unref(stream);
}

/* fg_attach_walk - the tree, depth first, bounded */
static void fg_attach_walk(struct fg_attach_walk *w, GMimeObject *obj,
			   unsigned int depth)
{
	if (obj == NULL || depth > FG_MAIL_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int count = g_mime_multipart_get_count(mp);

		/* a signed message's signature part is not an attachment */
		if (GMIME_IS_MULTIPART_SIGNED(obj) && count > 1)
			count = 1;
		for (int i = 0; i < count && w->n < FG_ATTACH_MAX; i++)
			fg_attach_walk(w, g_mime_multipart_get_part(mp, i),
				       depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		fg_attach_leaf(w, GMIME_PART(obj));
	}
	/* a forwarded message (message/rfc822) is part of the text */
}

/* fg_attach_prefix - how much of the message GMime gets to see; 0 when
   it has too many encoded words */
static size_t fg_attach_prefix(const char *data, size_t size)
{
	size_t lines = 0, words = 0;

	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] == '=' && data[i + 1] == '?' &&
		    ++words > FG_ATTACH_MAX_WORDS)
			return 0;
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '-' &&
		    data[i + 1] == '-' && ++lines > FG_ATTACH_MAX_BOUNDARIES)
			return i;
	}
	return size;
}

/* fg_attach_is_multipart - a cheap look at the top Content-Type before
   anything is parsed: only multipart mail has attachments */
static bool fg_attach_is_multipart(const char *data, size_t size)
{
	static const char name[] = "content-type:";

	for (size_t i = 0; i < size; ) {
		const char *line = data + i;
		const char *nl = memchr(line, '\n', size - i);
		size_t len = nl != NULL ? (size_t)(nl - line) : size - i;

		if (len == 0 || (len == 1 && line[0] == '\r'))
			return false;	/* end of the header */
		if (len > sizeof(name) - 1 &&
		    strncasecmp(line, name, sizeof(name) - 1) == 0) {
			const char *p = line + sizeof(name) - 1;
			const char *end = data + size;
			/* white space, folded lines included */
			while (p < end && isspace((unsigned char)*p) &&
			       (*p != '\n' || (p + 1 < end &&
						(p[1] == ' ' || p[1] == '\t'))))
				p++;
			return (size_t)(end - p) >= 10 &&
				strncasecmp(p, "multipart/", 10) == 0;
		}
		i += len + 1;
	}
	return false;
}

int fg_attach_extract(const void *data, size_t size,
		      const struct fg_attach_settings *set,
		      struct fg_attachment **atts_r, size_t *count_r,
		      const char **error_r)
{
	struct fg_attach_walk w = { .set = set };
	GMimeParserOptions *options;
	GMimeMessage *msg;
	size_t len;

	*atts_r = NULL;
	*count_r = 0;
	if (!fg_attach_is_multipart(data, size))
		return 0;
	len = fg_attach_prefix(data, size);
	if (len == 0)
		return 0;
	msg = fg_mail_construct(data, len, &options);
	if (msg == NULL) {
		g_mime_parser_options_free(options);
		*error_r = "not a mail message";
		return -1;
	}
	w.atts = fg_xcalloc(FG_ATTACH_MAX, sizeof(*w.atts));
	fg_attach_walk(&w, g_mime_message_get_mime_part(msg), 0);
	g_object_unref(msg);
	g_mime_parser_options_free(options);
	if (w.n == 0) {
		free(w.atts);
		return 0;
	}
	*atts_r = w.atts;
	*count_r = w.n;
	return 0;
}

/* fg_mail_construct - see fg-mail-private.h */
GMimeMessage *fg_mail_construct(const void *data, size_t len,
				GMimeParserOptions **options_r)
{
	GMimeParserOptions *options = g_mime_parser_options_new();
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;

	g_mime_parser_options_set_rfc2047_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, options);
	g_object_unref(parser);
	g_object_unref(stream);
	*options_r = options;
	return msg;
}

void fg_attachments_free(struct fg_attachment *atts, size_t n)
{
	if (atts == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(atts[i].name);
		free(atts[i].type);
		free(atts[i].data);
	}
	free(atts);
}

char *fg_attach_b64_encode(const unsigned char *data, size_t size)
{
	char *out = fg_xmalloc(4 * ((size + 2) / 3) + 1);
	size_t done = 0, o = 0;

	/* EVP_EncodeBlock takes an int: go in slices */
	while (done < size) {
		size_t n = size - done > 3 * 1024 * 1024 ? 3 * 1024 * 1024 :
			size - done;
		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o,
					     data + done, (int)n);
		done += n;
	}
	out[o] = '\0';
	return out;
}

int fg_attach_b64_decode(const char *text, unsigned char **data_r,
			 size_t *size_r)
{
	size_t len = strlen(text), done = 0, o = 0;
	unsigned char *out;

	*data_r = NULL;
	*size_r = 0;
	if (len % 4 != 0)
		return -1;
	out = fg_xmalloc(len / 4 * 3 + 1);
	while (done < len) {
		size_t n = len - done > 4 * 1024 * 1024 ? 4 * 1024 * 1024 :
			len - done;
		int got = EVP_DecodeBlock(out + o,
					  (const unsigned char *)text + done,
					  (int)n);
		if (got < 0) {
			free(out);
			return -1;
		}
		o += (size_t)got;
		done += n;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	if (len >= 1 && text[len - 1] == '=')
		o--;
	if (len >= 2 && text[len - 2] == '=')
		o--;
	*data_r = out;
	*size_r = o;
	return 0;
}

void fg_attach_human_size(size_t size, char *buf, size_t bufsize)
{
	if (size < 1024)
		snprintf(buf, bufsize, "%zu bytes", size);
	else if (size < 1024 * 1024)
		snprintf(buf, bufsize, "%.1f KB", (double)size / 1024);
	else
		snprintf(buf, bufsize, "%.1f MB",
			 (double)size / (1024 * 1024));
}
