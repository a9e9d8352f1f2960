/*
 * NAME
 *	fg-charset 3 - mail text as valid UTF-8
 * DESCRIPTION
 *	See fg-charset.h. Charsets are converted here, with iconv,
 *	because GMime's own conversion replaces what it cannot convert
 *	with '?' and a forum post must show that something was lost
 *	(U+FFFD) rather than hide it. RFC 2047 encoded words of a header
 *	are decoded word by word before GMime sees them (see
 *	fg_rfc2047_merge).
 *
 *	fg_utf8_clean_text(), fg_charset_to_utf8() and
 *	fg_mail_raw_header() serve the rest of the mail parser, through
 *	fg-mail-private.h.
 */
#include "fg-charset.h"
#include "fg-mail-private.h"
#include "fg-common.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

/* The replacement character, for bytes that do not decode. */
const char fg_utf8_replacement[] = "\xef\xbf\xbd";

/*
 * UTF-8 and text helpers
 */

/* fg_utf8_seq_len - length of the valid UTF-8 sequence at s, 0 when
   the bytes there are not one (overlong forms, surrogates and values
   past U+10FFFF included) */
static size_t fg_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* fg_utf8_valid - the bytes are valid UTF-8 */
static bool fg_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = fg_utf8_seq_len(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* fg_utf8_clean_text - append text as valid UTF-8 with LF line ends:
   each invalid byte and each NUL becomes U+FFFD, CR LF and lone CR
   become LF */
void fg_utf8_clean_text(struct fg_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < n) {
		size_t len = fg_utf8_seq_len(p + i, n - i);

		if (len > 0 && p[i] != '\0' && p[i] != '\r') {
			i += len;
			run += len;
			continue;
		}
		fg_buf_append(out, s + i - run, run);
		run = 0;
		if (p[i] == '\r') {
			fg_buf_putc(out, '\n');
			if (i + 1 < n && p[i + 1] == '\n')
				i++;
		} else {
			fg_buf_puts(out, fg_utf8_replacement);
		}
		i++;
	}
	fg_buf_append(out, s + i - run, run);
	if (out->s == NULL)
		fg_buf_append(out, "", 0);
}

/* fg_mail_clean_text - text as valid UTF-8 with LF line ends */
char *fg_mail_clean_text(const char *text, size_t len)
{
	struct fg_buf out = { 0 };

	fg_utf8_clean_text(&out, text != NULL ? text : "",
			   text != NULL ? len : 0);
	return fg_buf_steal(&out);
}

/* fg_utf8_line_break_len - length of the C1 control (U+0080 to
   U+009F, NEL among them) or line or paragraph separator (U+2028,
   U+2029) at s in valid UTF-8, 0 when there is none: characters a
   reader's software may take for a line end */
static size_t fg_utf8_line_break_len(const unsigned char *s, size_t n)
{
	if (n >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] == 0xa8 || s[2] == 0xa9))
		return 3;
	return 0;
}

/* fg_mail_clean_line - one header-safe line of UTF-8 */
char *fg_mail_clean_line(const char *text)
{
	struct fg_buf valid = { 0 }, out = { 0 };
	bool space = false;

	if (text == NULL)
		return fg_xstrdup("");
	fg_utf8_clean_text(&valid, text, strlen(text));
	for (size_t i = 0; i < valid.len; i++) {
		unsigned char c = (unsigned char)valid.s[i];
		size_t brk = fg_utf8_line_break_len(
			(const unsigned char *)valid.s + i, valid.len - i);

		/* every control character could end or split a header */
		if (c <= ' ' || c == 0x7f || brk > 0) {
			if (brk > 0)
				i += brk - 1;
			space = true;
			continue;
		}
		if (space && out.len > 0)
			fg_buf_putc(&out, ' ');
		space = false;
		fg_buf_putc(&out, (char)c);
	}
	fg_buf_free(&valid);
	return fg_buf_steal(&out);
}

/*
 * Charsets
 */

/* fg_charset_is_utf8 - the name means UTF-8 */
static bool fg_charset_is_utf8(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
		strcasecmp(charset, "utf8") == 0;
}

/* fg_charset_is_ascii - the name means US-ASCII, which real mail uses
   for anything from Latin-1 to UTF-8 */
static bool fg_charset_is_ascii(const char *charset)
{
	return strcasecmp(charset, "us-ascii") == 0 ||
		strcasecmp(charset, "ascii") == 0 ||
		strcasecmp(charset, "ansi_x3.4-1968") == 0 ||
		strcasecmp(charset, "iso646-us") == 0;
}

/* fg_charset_iconv - convert with iconv; each byte iconv rejects
   becomes U+FFFD and the conversion goes on after it. Returns false
   when iconv does not know the charset. */
static bool fg_charset_iconv_count(struct fg_buf *out, const char *charset,
				   const char *data, size_t len, size_t *bad_r)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	char *in = (char *)data;
	size_t inleft = len;
	char buf[4096];

	if (cd == (iconv_t)-1)
		return false;
	for (;;) {
		char *o = buf;
		size_t oleft = sizeof(buf);
		size_t r = iconv(cd, inleft > 0 ? &in : NULL, &inleft,
				 &o, &oleft);
		int err = errno;

		fg_buf_append(out, buf, (size_t)(o - buf));
		if (r != (size_t)-1) {
			if (inleft == 0 && in != NULL) {
				/* flush a stateful charset's shift state */
				in = NULL;
				continue;
			}
			break;
		}
		if (err == E2BIG)
			continue;
		fg_buf_puts(out, fg_utf8_replacement);
		(*bad_r)++;
		if (err != EILSEQ || inleft == 0)
			break;	/* truncated sequence at the end */
		in++;
		inleft--;
	}
	g_mime_iconv_close(cd);
	if (out->s == NULL)
		fg_buf_append(out, "", 0);
	return true;
}

/* fg_charset_iconv - convert with iconv, see fg_charset_iconv_count */
static bool fg_charset_iconv(struct fg_buf *out, const char *charset,
			     const char *data, size_t len)
{
	size_t bad = 0;

	return fg_charset_iconv_count(out, charset, data, len, &bad);
}

/* fg_charset_to_utf8 - text of a part in UTF-8 (still unchecked) */
void fg_charset_to_utf8(struct fg_buf *out, const char *charset,
			const char *data, size_t len)
{
	if (charset == NULL || *charset == '\0' ||
	    fg_charset_is_ascii(charset)) {
		/* undeclared or mislabelled 8-bit text: UTF-8 if it is
		   that, else what Western mail most often is */
		if (fg_utf8_valid(data, len) ||
		    !fg_charset_iconv(out, "windows-1252", data, len))
			fg_buf_append(out, data, len);
		return;
	}
	if (!fg_charset_is_utf8(charset) && fg_utf8_valid(data, len)) {
		/* UTF-8 labelled as something else, as some clients do
		   (Big5 on text that is UTF-8): the label wins only when
		   its conversion went without errors */
		struct fg_buf conv = { 0 };
		size_t bad = 0;

		if (fg_charset_iconv_count(&conv, charset, data, len, &bad) &&
		    bad == 0) {
			fg_buf_append(out, conv.s, conv.len);
			fg_buf_free(&conv);
			return;
		}
		fg_buf_free(&conv);
		fg_buf_append(out, data, len);
		return;
	}
	if (fg_charset_is_utf8(charset) ||
	    !fg_charset_iconv(out, charset, data, len)) {
		/* an unknown charset: ASCII stays readable, every other
		   byte becomes U+FFFD in the check that follows */
		fg_buf_append(out, data, len);
	}
}

/*
 * RFC 2047 encoded words
 */

/* fg_rfc2047_word - parse an encoded word at p: "=?charset?B?text?=".
   Sets the charset (without an RFC 2231 language), encoding and text
   spans and returns the end, or NULL when there is none at p; *stop_r
   is where the scan for its end gave up, so that a caller never scans
   the same bytes twice. */
static const char *fg_rfc2047_word(const char *p, const char **cs_r,
				   size_t *cs_len_r, char *enc_r,
				   const char **text_r, size_t *text_len_r,
				   const char **stop_r)
{
	const char *q = p + 2, *cs = q, *text;
	size_t cs_len;

	*stop_r = p + 1;
	if (p[0] != '=' || p[1] != '?')
		return NULL;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
	       (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' ||
	       *q == '.' || *q == ':' || *q == '+' || *q == '*') {
		if (q - cs > 64)
			return NULL;
		q++;
	}
	cs_len = (size_t)(q - cs);
	if (cs_len == 0 || q[0] != '?' || q[1] == '\0' ||
	    strchr("BbQq", q[1]) == NULL || q[2] != '?')
		return NULL;
	*enc_r = (char)(q[1] == 'b' || q[1] == 'B' ? 'B' : 'Q');
	text = q + 3;
	for (q = text; *q != '\0'; q++) {
		if (q[0] == '?' && q[1] == '=')
			break;
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n' ||
		    q - text > FG_MAIL_WORD_MAX) {
			*stop_r = q;
			return NULL;
		}
	}
	if (*q == '\0') {
		*stop_r = q;
		return NULL;
	}
	for (size_t i = 0; i < cs_len; i++) {
		if (cs[i] == '*') {
			cs_len = i;
			break;
		}
	}
	*cs_r = cs;
	*cs_len_r = cs_len;
	*text_r = text;
	*text_len_r = (size_t)(q - text);
	return q + 2;
}

/* fg_rfc2047_payload - append the bytes an encoded word carries. Each
   word is decoded on its own: carrying base64 state across words is
   what loses the rest of a header after a padded word in GMime 3.2.13
   (fixed upstream in 3.2.14). */
static void fg_rfc2047_payload(struct fg_buf *out, char enc,
			       const char *text, size_t len)
{
	if (enc == 'B') {
		guchar *buf = fg_xmalloc(len / 4 * 3 + 4);
		gint state = 0;
		guint save = 0;
		gsize n = g_base64_decode_step(text, len, buf, &state, &save);

		fg_buf_append(out, (const char *)buf, n);
		free(buf);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '_') {
			fg_buf_putc(out, ' ');
		} else if (c == '=' && i + 2 < len &&
			   g_ascii_isxdigit(text[i + 1]) &&
			   g_ascii_isxdigit(text[i + 2])) {
			fg_buf_putc(out, (char)(g_ascii_xdigit_value(text[i + 1])
						* 16 +
						g_ascii_xdigit_value(text[i + 2])));
			i += 2;
		} else {
			fg_buf_putc(out, c);
		}
	}
}

/* fg_rfc2047_flush - convert the bytes of one charset to UTF-8 */
static void fg_rfc2047_flush(struct fg_buf *utf8, struct fg_buf *bytes,
			     const char *cs, size_t cs_len)
{
	char *charset = fg_xstrndup(cs, cs_len);
	struct fg_buf conv = { 0 };

	if (bytes->len > 0) {
		fg_charset_to_utf8(&conv, charset, bytes->s, bytes->len);
		fg_utf8_clean_text(utf8, conv.s, conv.len);
	}
	fg_buf_free(&conv);
	free(charset);
	bytes->len = 0;
}

/* fg_rfc2047_merge - the header text with every run of adjacent
   encoded words replaced by one UTF-8 word that carries the same
   text, so that GMime decodes each run correctly. Bytes the word's
   charset cannot decode become U+FFFD instead of '?'. */
static char *fg_rfc2047_merge(const char *raw)
{
	struct fg_buf out = { 0 };
	const char *p = raw, *cs, *text, *stop, *end;
	size_t cs_len, text_len;
	char enc;

	while (*p != '\0') {
		struct fg_buf utf8 = { 0 }, bytes = { 0 };
		const char *run_cs = NULL;
		size_t run_cs_len = 0;

		end = fg_rfc2047_word(p, &cs, &cs_len, &enc, &text, &text_len,
				      &stop);
		if (end == NULL) {
			/* a failed scan never starts again inside its span */
			fg_buf_append(&out, p, (size_t)(stop - p));
			p = stop;
			continue;
		}
		for (;;) {
			const char *next = end, *nend;

			if (run_cs != NULL && (cs_len != run_cs_len ||
			    strncasecmp(cs, run_cs, cs_len) != 0))
				fg_rfc2047_flush(&utf8, &bytes, run_cs,
						 run_cs_len);
			run_cs = cs;
			run_cs_len = cs_len;
			/* the bytes of one charset are converted together:
			   a character may be split between two words */
			fg_rfc2047_payload(&bytes, enc, text, text_len);
			p = end;
			while (*next == ' ' || *next == '\t' || *next == '\r' ||
			       *next == '\n')
				next++;
			nend = fg_rfc2047_word(next, &cs, &cs_len, &enc, &text,
					       &text_len, &stop);
			if (nend == NULL)
				break;
			end = nend;
		}
		fg_rfc2047_flush(&utf8, &bytes, run_cs, run_cs_len);
		if (utf8.len > 0) {
			gchar *b64 = g_base64_encode((const guchar *)utf8.s,
						     utf8.len);
			fg_buf_printf(&out, "=?UTF-8?B?%s?=", b64);
			g_free(b64);
		}
		fg_buf_free(&utf8);
		fg_buf_free(&bytes);
	}
	return fg_buf_steal(&out);
}

/* fg_mail_raw_header - unfolded raw value of a header, or NULL */
char *fg_mail_raw_header(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeader *header = list != NULL ?
		g_mime_header_list_get_header(list, name) : NULL;
	const char *raw = header != NULL ?
		g_mime_header_get_raw_value(header) : NULL;
	char *unfolded, *merged;

	if (raw == NULL)
		return NULL;
	unfolded = g_mime_utils_header_unfold(raw);
	merged = fg_rfc2047_merge(unfolded);
	g_free(unfolded);
	return merged;
}
