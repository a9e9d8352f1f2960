/*
 * NAME
 *	fg-mailparse 3 - one list message as a normalized record
 * DESCRIPTION
 *	See fg-mailparse.h for the record that comes out. GMime parses
 *	the MIME structure and decodes headers and transfer encodings;
 *	charsets are converted here, with iconv, because GMime's own
 *	conversion replaces what it cannot convert with '?' and a forum
 *	post must show that something was lost (U+FFFD) rather than hide
 *	it.
 *
 *	Every string that leaves this file went through a UTF-8 check,
 *	so a record never carries invalid UTF-8 or NUL bytes into Redis
 *	or the forum's JSON, whatever the mail contained.
 */
#include "fg-mailparse.h"
#include "fg-classify.h"
#include "fg-common.h"
#include "fg-html.h"
#include "fg-msgid.h"
#include "fg-subject.h"
#include "fg-text.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>

/* A signature longer than this is more likely content after a "-- "
   line than a signature. */
#define FG_MAIL_SIG_MAX_LINES 15
/* Lines an "On ... wrote:" attribution may be wrapped over. */
#define FG_MAIL_ATTRIB_MAX_LINES 3
/* A longer line is no attribution (nor a forward's intro line): keeps
   the search for them linear in the size of the body. */
#define FG_MAIL_ATTRIB_LINE_MAX 512
#define FG_MAIL_LIST_ID_MAX 255
#define FG_MAIL_SYNTH_HEX 24
/* Encoded words are 75 characters at most (RFC 2047); mailers that
   ignore that stay far below this. */
#define FG_MAIL_WORD_MAX 1024
/* Boundary lines GMime gets to see (see fg_mail_cut_parts). */
#define FG_MAIL_MAX_BOUNDARIES (FG_MAIL_MAX_PARTS * 3)
#define FG_MAIL_MAX_DASH_LINES 20000
/* Unclosed "=?" a header field may have before they are defused. */
#define FG_MAIL_OPEN_WORDS_MAX 16

static unsigned int fg_mail_refcount;

/* The replacement character, for bytes that do not decode. */
static const char fg_utf8_replacement[] = "\xef\xbf\xbd";

/* fg_parse_settings_init - see fg-mailparse.h */
int fg_parse_settings_init(struct fg_parse_settings *set,
			   const struct fg_config *config,
			   const char **error_r)
{
	const char *trimmed = config->show_trimmed;

	memset(set, 0, sizeof(*set));
	set->secret = config->secret;
	set->mail_domain = config->mail_domain;
	set->max_size = config->max_message_size;
	if (fg_text_format_parse(config->post_format, &set->format) < 0) {
		*error_r = fg_errorf("invalid post_format '%s' (markdown, "
				     "bbcode or html)", config->post_format);
		return -1;
	}
	if (trimmed != NULL && strcmp(trimmed, "details") == 0) {
		set->show_trimmed = true;
	} else if (trimmed != NULL && strcmp(trimmed, "no") != 0) {
		*error_r = fg_errorf("invalid show_trimmed '%s' (no or "
				     "details)", trimmed);
		return -1;
	}
	return 0;
}

/* fg_mail_init - start GMime for the first user */
void fg_mail_init(void)
{
	if (fg_mail_refcount++ == 0)
		g_mime_init();
}

/* fg_mail_deinit - stop GMime after the last user */
void fg_mail_deinit(void)
{
	if (fg_mail_refcount == 0)
		return;
	if (--fg_mail_refcount == 0)
		g_mime_shutdown();
}

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
static void fg_utf8_clean_text(struct fg_buf *out, const char *s, size_t n)
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

		/* every control character could end or split a header */
		if (c <= ' ' || c == 0x7f) {
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
static void fg_charset_to_utf8(struct fg_buf *out, const char *charset,
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
static char *fg_mail_raw_header(GMimeMessage *msg, const char *name)
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

/*
 * Body text
 */

/* fg_mail_unflow - join the flowed lines of RFC 3676 text */
char *fg_mail_unflow(const char *text, bool delsp)
{
	struct fg_buf out = { 0 };
	const char *p = text;
	bool in_para = false;
	size_t para_depth = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		size_t depth = 0;
		const char *content;
		size_t clen;
		bool flowed;

		while (depth < len && p[depth] == '>')
			depth++;
		content = p + depth;
		clen = len - depth;
		if (clen > 0 && content[0] == ' ') {
			/* space-stuffing (RFC 3676 4.4) */
			content++;
			clen--;
		}
		flowed = clen > 0 && content[clen - 1] == ' ' &&
			!(clen == 3 && memcmp(content, "-- ", 3) == 0);
		if (in_para && depth != para_depth) {
			/* a flowed line may not join another quote depth */
			fg_buf_putc(&out, '\n');
			in_para = false;
		}
		if (!in_para) {
			for (size_t i = 0; i < depth; i++)
				fg_buf_putc(&out, '>');
			if (depth > 0 && clen > 0)
				fg_buf_putc(&out, ' ');
		}
		if (flowed && delsp)
			clen--;
		fg_buf_append(&out, content, clen);
		if (flowed) {
			in_para = true;
			para_depth = depth;
		} else {
			fg_buf_putc(&out, '\n');
			in_para = false;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (in_para)
		fg_buf_putc(&out, '\n');
	return fg_buf_steal(&out);
}

/* A line by line view of a body, for trimming from the end. */
struct fg_lines {
	const char **start;
	size_t *len;
	size_t n;
};

/* fg_lines_split - point at every line of text (without its LF) */
static void fg_lines_split(const char *text, struct fg_lines *lines)
{
	size_t n = 1, i = 0;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (*p == '\n')
			n++;
	}
	lines->start = fg_xmalloc(n * sizeof(*lines->start));
	lines->len = fg_xmalloc(n * sizeof(*lines->len));
	p = text;
	for (;;) {
		const char *eol = strchr(p, '\n');

		lines->start[i] = p;
		lines->len[i] = eol != NULL ? (size_t)(eol - p) : strlen(p);
		i++;
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	lines->n = i;
}

/* fg_line_blank - the line has nothing but white space */
static bool fg_line_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	}
	return true;
}

/* fg_line_rtrim - length without trailing white space */
static size_t fg_line_rtrim(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

/* How mail clients introduce the quote of the message replied to, in
   the languages seen on lists: the first line starts with "start",
   the (possibly wrapped) last line ends with "end", and one of the
   lines has "word" (languages that put the name after the verb). */
static const struct {
	const char *start, *word, *end;
} fg_mail_attributions[] = {
	{ "On ", NULL, "wrote:" },
	{ "", NULL, " wrote:" },
	{ "Am ", " schrieb ", ":" },
	{ "Le ", " a \xc3\xa9" "crit", ":" },
	{ "El ", " escribi\xc3\xb3", ":" },
	{ "Op ", " schreef ", ":" },
	{ "Il ", " ha scritto", ":" },
	{ "Em ", " escreveu", ":" },
	{ "Den ", " skrev", ":" },
	{ "W dniu ", " pisze", ":" },
	{ "W dniu ", " napisa", ":" },
	{ "Dne ", " napsal", ":" },
	/* languages that may start with the date or the name */
	{ "", " \xd0\xbd\xd0\xb0\xd0\xbf\xd0\xb8\xd1\x81\xd0\xb0\xd0\xbb",
	  ":" },				/* написал */
	{ "", " \xd0\xbf\xd0\xb8\xd1\x88\xd0\xb5\xd1\x82", ":" },	/* пишет */
	{ "", "\xe5\x86\x99\xe9\x81\x93", "\xef\xbc\x9a" },	/* 写道： */
	{ "", "\xe5\x86\x99\xe9\x81\x93", ":" },
	{ "", "\xe5\xaf\xab\xe9\x81\x93", "\xef\xbc\x9a" },	/* 寫道： */
	{ "", "\xe5\xaf\xab\xe9\x81\x93", ":" },
	{ "", "\xe3\x81\xae\xe3\x83\xa1\xe3\x83\x83\xe3\x82\xbb\xe3\x83\xbc"
	  "\xe3\x82\xb8", ":" },		/* のメッセージ: */
	{ "", "\xe6\x9b\xb8\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f",
	  ":" },				/* 書きました: */
};

/* fg_line_has - the line contains word (ASCII case ignored) */
static bool fg_line_has(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; i + wlen <= len; i++) {
		if (strncasecmp(s + i, word, wlen) == 0)
			return true;
	}
	return false;
}

/* fg_mail_attribution_end - the line ends like attribution a */
static bool fg_mail_attribution_end(const char *s, size_t len, size_t a)
{
	const char *end = fg_mail_attributions[a].end;
	size_t elen = strlen(end);

	len = fg_line_rtrim(s, len);
	return len >= elen && strncasecmp(s + len - elen, end, elen) == 0;
}

/* fg_mail_attribution_start - the line starts like attribution a */
static bool fg_mail_attribution_start(const char *s, size_t len, size_t a)
{
	const char *start = fg_mail_attributions[a].start;
	size_t slen = strlen(start);

	return len >= slen && strncasecmp(s, start, slen) == 0;
}

/* fg_mail_attribution - first line of an attribution ending at line
   last, or -1 when line last does not end one */
static long fg_mail_attribution(const struct fg_lines *lines, size_t last)
{
	if (lines->len[last] > FG_MAIL_ATTRIB_LINE_MAX)
		return -1;
	for (size_t a = 0; a < FG_N_ELEMENTS(fg_mail_attributions); a++) {
		const char *word = fg_mail_attributions[a].word;
		bool has_word = word == NULL;

		if (!fg_mail_attribution_end(lines->start[last],
					     lines->len[last], a))
			continue;
		for (size_t k = 0; k < FG_MAIL_ATTRIB_MAX_LINES &&
		     k <= last; k++) {
			size_t i = last - k;

			if (fg_line_blank(lines->start[i], lines->len[i]) ||
			    lines->len[i] > FG_MAIL_ATTRIB_LINE_MAX)
				break;
			if (!has_word)
				has_word = fg_line_has(lines->start[i],
						       lines->len[i], word);
			if (has_word &&
			    fg_mail_attribution_start(lines->start[i],
						      lines->len[i], a))
				return (long)i;
		}
	}
	return -1;
}

/* fg_mail_quoted_attribution - the quoted line is itself an
   attribution ("> On ... wrote:"), as Apple's clients quote it */
static bool fg_mail_quoted_attribution(const char *s, size_t len)
{
	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	while (len > 0 && (*s == '>' || *s == ' ')) {
		s++;
		len--;
	}
	for (size_t a = 0; a < FG_N_ELEMENTS(fg_mail_attributions); a++) {
		const char *word = fg_mail_attributions[a].word;

		if (fg_mail_attribution_start(s, len, a) &&
		    fg_mail_attribution_end(s, len, a) &&
		    (word == NULL || fg_line_has(s, len, word)))
			return true;
	}
	return false;
}

/* fg_mail_trim_quote - number of lines left after cutting a trailing
   quote that an attribution line introduces */
static size_t fg_mail_trim_quote(const struct fg_lines *lines, size_t n)
{
	size_t i = n, quoted = 0, first = n;
	long attrib;

	while (i > 0) {
		const char *s = lines->start[i - 1];
		size_t len = lines->len[i - 1];

		if (fg_line_blank(s, len)) {
			i--;
		} else if (s[0] == '>') {
			quoted++;
			first = --i;
		} else {
			break;
		}
	}
	if (quoted == 0)
		return n;
	if (fg_mail_quoted_attribution(lines->start[first],
				       lines->len[first]))
		return first;
	if (i == 0)
		return n;
	attrib = fg_mail_attribution(lines, i - 1);
	return attrib < 0 ? n : (size_t)attrib;
}

/* fg_mail_trim_signature - number of lines left after cutting a
   signature that starts with "-- " (or "--", as clients that strip
   trailing spaces send it) */
static size_t fg_mail_trim_signature(const struct fg_lines *lines, size_t n)
{
	for (size_t k = 0; k < n && k <= FG_MAIL_SIG_MAX_LINES; k++) {
		size_t i = n - 1 - k;
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if ((len == 3 && memcmp(s, "-- ", 3) == 0) ||
		    (len == 2 && memcmp(s, "--", 2) == 0))
			return i;
	}
	return n;
}

/* Last lines that phones and webmail append to every message. */
static const char *const fg_mail_mobile_sigs[] = {
	"Sent from my ", "Sent from Mail for ", "Sent from Outlook",
	"Sent from Yahoo Mail", "Sent from Samsung", "Sent from BlueMail",
	"Sent from ProtonMail", "Sent from Proton Mail", "Sent with ",
	"Sent via ", "Sent using ", "Get Outlook for ",
	"Von meinem ", "Gesendet von meinem ", "Gesendet mit ",
	"Gesendet von ", "Envoy\xc3\xa9 de mon ", "Envoy\xc3\xa9 depuis mon ",
	"Enviado desde mi ", "Enviado de mi ", "Enviado do meu ",
	"Enviado de meu ", "Verzonden vanaf mijn ", "Verstuurd vanaf mijn ",
	"Verzonden met ", "Inviato da ", "Skickat fr\xc3\xa5n min ",
	"Sendt fra min ", "Sendt fra ", "L\xc3\xa4hetetty ",
	"Wys\xc5\x82" "ane z ", "Odesl\xc3\xa1no z ",
	"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe "
	"\xd1\x81 ",				/* Отправлено с */
};
/* A mobile signature line is short; a longer line is content. */
#define FG_MAIL_MOBILE_SIG_MAX 80

/* Separators Outlook and others put above the message replied to. */
static const char *const fg_mail_original_phrases[] = {
	"Original Message", "Original", "Urspr\xc3\xbcngliche Nachricht",
	"Message d'origine", "Mensaje original", "Mensagem original",
	"Oorspronkelijk bericht", "Origineel bericht",
	"Messaggio originale", "Originalmeddelande",
	"Oprindelig meddelelse", "Opprinnelig melding",
	"Alkuper\xc3\xa4inen viesti", "Wiadomo\xc5\x9b\xc4\x87 oryginalna",
	"P\xc5\xafvodn\xc3\xad zpr\xc3\xa1va",
	"\xd0\x98\xd1\x81\xd1\x85\xd0\xbe\xd0\xb4\xd0\xbd\xd0\xbe\xd0\xb5 "
	"\xd1\x81\xd0\xbe\xd0\xbe\xd0\xb1\xd1\x89\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5",
};

/* The labels of the header block Outlook (and others) write above the
   message replied to, by what they label. */
enum fg_hdr_label {
	FG_HDR_NONE,
	FG_HDR_FROM,
	FG_HDR_SENT,		/* Outlook's own word for the date */
	FG_HDR_DATE,		/* also in headers pasted into a mail */
	FG_HDR_TO,
	FG_HDR_SUBJECT,
	FG_HDR_RAW,		/* only in a real header: pasted, not a quote */
};
static const struct {
	const char *word;
	enum fg_hdr_label label;
} fg_mail_hdr_labels[] = {
	{ "From", FG_HDR_FROM }, { "Von", FG_HDR_FROM }, { "De", FG_HDR_FROM },
	{ "Van", FG_HDR_FROM }, { "Da", FG_HDR_FROM },
	{ "Fr\xc3\xa5n", FG_HDR_FROM }, { "Fra", FG_HDR_FROM },
	{ "Od", FG_HDR_FROM }, { "\xd0\x9e\xd1\x82", FG_HDR_FROM },
	{ "Sent", FG_HDR_SENT }, { "Date", FG_HDR_DATE },
	{ "Gesendet", FG_HDR_SENT }, { "Datum", FG_HDR_DATE },
	{ "Envoy\xc3\xa9", FG_HDR_SENT }, { "Enviado", FG_HDR_SENT },
	{ "Enviada", FG_HDR_SENT }, { "Fecha", FG_HDR_DATE },
	{ "Verzonden", FG_HDR_SENT }, { "Inviato", FG_HDR_SENT },
	{ "Data", FG_HDR_DATE }, { "Skickat", FG_HDR_SENT },
	{ "Sendt", FG_HDR_SENT }, { "Wys\xc5\x82" "ano", FG_HDR_SENT },
	{ "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe",
	  FG_HDR_SENT },
	{ "To", FG_HDR_TO }, { "An", FG_HDR_TO }, { "\xc3\x80", FG_HDR_TO },
	{ "A", FG_HDR_TO }, { "Para", FG_HDR_TO }, { "Aan", FG_HDR_TO },
	{ "Till", FG_HDR_TO }, { "Til", FG_HDR_TO }, { "Do", FG_HDR_TO },
	{ "Subject", FG_HDR_SUBJECT }, { "Betreff", FG_HDR_SUBJECT },
	{ "Objet", FG_HDR_SUBJECT }, { "Asunto", FG_HDR_SUBJECT },
	{ "Assunto", FG_HDR_SUBJECT }, { "Onderwerp", FG_HDR_SUBJECT },
	{ "Oggetto", FG_HDR_SUBJECT }, { "\xc3\x84mne", FG_HDR_SUBJECT },
	{ "Emne", FG_HDR_SUBJECT }, { "Temat", FG_HDR_SUBJECT },
	{ "\xd0\xa2\xd0\xb5\xd0\xbc\xd0\xb0", FG_HDR_SUBJECT },
	{ "Received", FG_HDR_RAW }, { "Return-Path", FG_HDR_RAW },
	{ "Message-ID", FG_HDR_RAW }, { "MIME-Version", FG_HDR_RAW },
	{ "Content-Type", FG_HDR_RAW }, { "Delivered-To", FG_HDR_RAW },
	{ "DKIM-Signature", FG_HDR_RAW }, { "X-", FG_HDR_RAW },
	{ "Authentication-Results", FG_HDR_RAW }, { "References", FG_HDR_RAW },
	{ "In-Reply-To", FG_HDR_RAW },
};
/* Lines a header block may span. */
#define FG_MAIL_HDR_BLOCK_LINES 8

/* fg_text_rule_above - a rule or underscore line, as Outlook puts
   above its header block */
static bool fg_text_rule_above(const char *s, size_t len)
{
	size_t marks = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-' || s[i] == '_')
			marks++;
		else if (s[i] != ' ' && s[i] != '\\')
			return false;
	}
	return marks >= 3;
}

/* fg_lines_have_digit - one of lines [from, to] has a digit (a date) */
static bool fg_lines_have_digit(const struct fg_lines *lines, size_t from,
				size_t to)
{
	for (size_t i = from; i <= to; i++) {
		for (size_t k = 0; k < lines->len[i]; k++) {
			if (lines->start[i][k] >= '0' &&
			    lines->start[i][k] <= '9')
				return true;
		}
	}
	return false;
}

/* fg_line_skip_decor - skip leading spaces and Markdown emphasis */
static size_t fg_line_skip_decor(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' ||
			   s[i] == '_'))
		i++;
	return i;
}

/* fg_line_starts_ci - the line starts with word (ASCII case ignored) */
static bool fg_line_starts_ci(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(s, word, n) == 0;
}

/* fg_mail_mobile_sig - the line is a phone's or webmail's signature */
static bool fg_mail_mobile_sig(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	if (len > FG_MAIL_MOBILE_SIG_MAX)
		return false;
	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_mobile_sigs); k++) {
		if (fg_line_starts_ci(s + i, len - i, fg_mail_mobile_sigs[k]))
			return true;
	}
	return false;
}

/* fg_mail_original_line - "-----Original Message-----" and friends */
static bool fg_mail_original_line(const char *s, size_t len)
{
	size_t i = 0, dashes = 0, e;

	while (i < len && s[i] == ' ')
		i++;
	while (i < len && (s[i] == '-' || s[i] == '_')) {
		i++;
		dashes++;
	}
	if (dashes < 2)
		return false;
	while (i < len && s[i] == ' ')
		i++;
	len = fg_line_rtrim(s, len);
	e = len;
	while (e > i && (s[e - 1] == '-' || s[e - 1] == '_'))
		e--;
	if (len - e < 2)
		return false;
	while (e > i && s[e - 1] == ' ')
		e--;
	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_original_phrases); k++) {
		const char *phrase = fg_mail_original_phrases[k];

		if (strlen(phrase) == e - i &&
		    strncasecmp(s + i, phrase, e - i) == 0)
			return true;
	}
	return false;
}

/* fg_mail_hdr_label - the header-block label a line starts with */
static enum fg_hdr_label fg_mail_hdr_label(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_hdr_labels); k++) {
		const char *word = fg_mail_hdr_labels[k].word;
		size_t n = strlen(word), p = i + n;

		if (!fg_line_starts_ci(s + i, len - i, word))
			continue;
		while (p < len && (s[p] == '*' || s[p] == '_'))
			p++;
		/* "De :" and "Objet :" as French clients write them */
		if (p < len && (s[p] == ' ' || s[p] == '\xc2'))
			p += s[p] == ' ' ? 1 : 2;	/* also U+00A0 */
		if (p < len && s[p] == ':')
			return fg_mail_hdr_labels[k].label;
		if (len - p >= 3 && memcmp(s + p, "\xef\xbc\x9a", 3) == 0)
			return fg_mail_hdr_labels[k].label;
	}
	return FG_HDR_NONE;
}

/* fg_mail_forward_intro - the line introduces a forwarded message,
   whose header block is content, not a quote */
static bool fg_mail_forward_intro(const char *s, size_t len)
{
	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	return fg_line_has(s, len, "Forwarded message") ||
		fg_line_has(s, len, "Begin forwarded message") ||
		fg_line_has(s, len, "Weitergeleitete Nachricht") ||
		fg_line_has(s, len, "Message transf\xc3\xa9r\xc3\xa9") ||
		fg_line_has(s, len, "Mensaje reenviado");
}

/* fg_mail_hdr_block - line i starts the header block of a quoted
   message: From:, then a date and a subject or recipient within a few
   lines. Header fields that only a real header has (Received:,
   Message-ID:, X-...) make it headers pasted into the text, which are
   content; so does "Date:" unless a separator line comes before the
   block (Outlook writes "Sent:", a pasted header "Date:"). */
static bool fg_mail_hdr_block(const struct fg_lines *lines, size_t i,
			      size_t n)
{
	bool sent = false, date = false, other = false, separated = false;

	if (fg_mail_hdr_label(lines->start[i], lines->len[i]) != FG_HDR_FROM)
		return false;
	for (size_t k = 1; k <= 3 && k <= i; k++) {
		const char *s = lines->start[i - k];
		size_t len = lines->len[i - k];

		if (fg_mail_forward_intro(s, len))
			return false;
		if (fg_text_rule_above(s, len) || fg_mail_original_line(s, len))
			separated = true;
		else if (!fg_line_blank(s, len))
			break;
	}
	for (size_t j = i + 1; j < n && j <= i + FG_MAIL_HDR_BLOCK_LINES &&
	     !fg_line_blank(lines->start[j], lines->len[j]); j++) {
		switch (fg_mail_hdr_label(lines->start[j], lines->len[j])) {
		case FG_HDR_SENT: sent = true; break;
		case FG_HDR_DATE: date = true; break;
		case FG_HDR_TO: case FG_HDR_SUBJECT: other = true; break;
		case FG_HDR_RAW: return false;
		default: break;
		}
	}
	return other && (sent || (date && separated));
}

/* fg_mail_trim_original - number of lines left after cutting the
   message replied to when a separator line or a header block
   introduces it; only after the sender's own text, outside quotes */
static size_t fg_mail_trim_original(const struct fg_lines *lines, size_t n)
{
	bool content = false;

	for (size_t i = 0; i < n; i++) {
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if (len > 0 && s[0] == '>')
			continue;
		if (content && (fg_mail_original_line(s, len) ||
				fg_mail_hdr_block(lines, i, n))) {
			/* a rule or an underscore line above goes too */
			if (i > 0 && fg_text_rule_above(lines->start[i - 1],
							lines->len[i - 1]))
				return i - 1;
			return i;
		}
		if (!fg_line_blank(s, len))
			content = true;
	}
	return n;
}

/* fg_mail_trim_unquoted - number of lines left after cutting an
   attribution ("On ... wrote:") and the unmarked text after it, as
   phones send the message replied to; only when no line after it is
   a "> " quote (that would be an inline reply) */
static size_t fg_mail_trim_unquoted(const struct fg_lines *lines, size_t n)
{
	size_t limit = n > 400 ? n - 400 : 0;

	for (size_t i = n; i > limit; i--) {
		const char *s = lines->start[i - 1];
		size_t len = lines->len[i - 1];
		long attrib;

		if (len > 0 && s[0] == '>')
			return n;
		attrib = fg_mail_attribution(lines, i - 1);
		if (attrib > 0 && fg_lines_have_digit(lines, (size_t)attrib,
						      i - 1)) {
			for (size_t k = 0; k < (size_t)attrib; k++) {
				if (!fg_line_blank(lines->start[k],
						   lines->len[k]))
					return (size_t)attrib;
			}
			return n;
		}
	}
	return n;
}

/* fg_mail_trim_mobile - number of lines left after cutting a phone's
   signature on the last line */
static size_t fg_mail_trim_mobile(const struct fg_lines *lines, size_t n)
{
	if (n > 1 && fg_mail_mobile_sig(lines->start[n - 1], lines->len[n - 1]))
		return n - 1;
	return n;
}

/* fg_lines_strip_blank - n without trailing blank lines */
static size_t fg_lines_strip_blank(const struct fg_lines *lines, size_t n)
{
	while (n > 0 && fg_line_blank(lines->start[n - 1], lines->len[n - 1]))
		n--;
	return n;
}

/* fg_lines_join - lines [first, n) as text, blank edges left out */
static char *fg_lines_join(const struct fg_lines *lines, size_t first,
			   size_t n)
{
	struct fg_buf out = { 0 };

	n = fg_lines_strip_blank(lines, n);
	while (first < n && fg_line_blank(lines->start[first],
					  lines->len[first]))
		first++;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			fg_buf_putc(&out, '\n');
		fg_buf_append(&out, lines->start[i],
			      fg_line_rtrim(lines->start[i], lines->len[i]) ==
			      0 ? 0 : lines->len[i]);
	}
	return fg_buf_steal(&out);
}

/* fg_mail_trim_split - body without trailing quote and signature;
   *cut_r (when not NULL) gets what was cut, "" when nothing */
static char *fg_mail_trim_split(const char *text, bool forward,
				char **cut_r)
{
	struct fg_lines lines;
	size_t n, before;
	char *kept;

	fg_lines_split(text, &lines);
	/* in a forward, the header block introduces the content */
	n = forward ? lines.n : fg_mail_trim_original(&lines, lines.n);
	/* The trims are a sequence of cuts at the end, each seeing what
	   the one before left. */
	do {
		before = n;
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_quote(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_unquoted(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_signature(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_mobile(&lines, n);
	} while (n < before && n > 0);
	n = fg_lines_strip_blank(&lines, n);
	if (n == 0) {
		/* nothing but quote and signature: better post it all
		   than an empty post */
		n = lines.n;
	}
	kept = fg_lines_join(&lines, 0, n);
	if (cut_r != NULL)
		*cut_r = fg_lines_join(&lines, n, lines.n);
	free(lines.start);
	free(lines.len);
	return kept;
}

/* fg_mail_trim_body - cut trailing quote and signature */
char *fg_mail_trim_body(const char *text)
{
	return fg_mail_trim_split(text, false, NULL);
}

/* fg_mail_part_text - the decoded text of a leaf part, in UTF-8 (HTML
   still HTML) */
static char *fg_mail_part_text(GMimePart *part, bool html)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	const char *charset, *format, *delsp;
	struct fg_buf conv = { 0 }, clean = { 0 };
	char *sniffed = NULL, *text;
	GMimeStream *stream;
	GByteArray *bytes;

	if (content == NULL)
		return fg_xstrdup("");
	stream = g_mime_stream_mem_new();
	/* this undoes the Content-Transfer-Encoding, leniently */
	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));

	charset = g_mime_object_get_content_type_parameter(obj, "charset");
	if (html && (charset == NULL || *charset == '\0')) {
		sniffed = fg_html_sniff_charset((const char *)bytes->data,
						bytes->len);
		charset = sniffed;
	}
	fg_charset_to_utf8(&conv, charset, (const char *)bytes->data,
			   bytes->len);
	g_object_unref(stream);
	free(sniffed);
	fg_utf8_clean_text(&clean, conv.s, conv.len);
	fg_buf_free(&conv);

	if (html)
		return fg_buf_steal(&clean);	/* converted by the caller */
	format = g_mime_object_get_content_type_parameter(obj, "format");
	if (format != NULL && strcasecmp(format, "flowed") == 0) {
		delsp = g_mime_object_get_content_type_parameter(obj, "delsp");
		text = fg_mail_unflow(clean.s, delsp != NULL &&
				      strcasecmp(delsp, "yes") == 0);
		fg_buf_free(&clean);
		return text;
	}
	return fg_buf_steal(&clean);
}

/* The state of the walk over the MIME tree that looks for the body. */
struct fg_walk {
	unsigned int parts;
	char *plain;		/* first non-empty inline text/plain */
	GMimePart *html;	/* first inline text/html */
};

/* fg_mail_walk - depth first, in order, bounded in parts and depth */
static void fg_mail_walk(GMimeObject *obj, unsigned int depth,
			 struct fg_walk *walk)
{
	GMimeContentType *ct;

	if (obj == NULL || walk->plain != NULL ||
	    walk->parts >= FG_MAIL_MAX_PARTS)
		return;
	walk->parts++;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		if (depth >= FG_MAIL_MAX_DEPTH)
			return;
		for (int i = 0; i < n && walk->plain == NULL; i++)
			fg_mail_walk(g_mime_multipart_get_part(mp, i),
				     depth + 1, walk);
		return;
	}
	/* a forwarded message/rfc822 is an attachment, not the body */
	if (!GMIME_IS_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)))
		return;
	ct = g_mime_object_get_content_type(obj);
	if (ct == NULL)
		return;
	if (g_mime_content_type_is_type(ct, "text", "plain")) {
		char *text = fg_mail_part_text(GMIME_PART(obj), false);

		if (text[strspn(text, " \t\n")] != '\0')
			walk->plain = text;
		else
			free(text);
	} else if (g_mime_content_type_is_type(ct, "text", "html") &&
		   walk->html == NULL) {
		walk->html = GMIME_PART(obj);
	}
}

/* fg_mail_trimmed_summary - the summary line of the collapsed block */
#define FG_MAIL_TRIMMED_SUMMARY "Quoted text"

/* fg_mail_body - the text that is posted, and what was cut from it */
static char *fg_mail_body(GMimeMessage *msg,
			  const struct fg_parse_settings *set, bool forward,
			  char **trimmed_r)
{
	struct fg_walk walk = { 0, NULL, NULL };
	char *text, *kept, *cut = NULL, *html_cut = NULL, *body;
	bool plain = false;

	GMimeObject *top = g_mime_message_get_mime_part(msg);

	fg_mail_walk(top, 0, &walk);
	if (walk.plain != NULL) {
		text = walk.plain;
		plain = true;
	} else if (walk.html != NULL) {
		char *html = fg_mail_part_text(walk.html, true);

		text = fg_html_to_markdown(html, strlen(html), &html_cut);
		free(html);
	} else if (top != NULL && GMIME_IS_MULTIPART(top) &&
		   g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0 &&
		   g_mime_multipart_get_prologue(GMIME_MULTIPART(top)) !=
		   NULL) {
		/* a multipart without a single boundary line: the text
		   the sender wrote is all in what GMime calls prologue */
		const char *prologue =
			g_mime_multipart_get_prologue(GMIME_MULTIPART(top));
		text = fg_mail_clean_text(prologue, strlen(prologue));
		plain = true;
	} else {
		text = fg_xstrdup("");
	}
	if (plain) {
		/* text/plain is posted as it reads, also as Markdown */
		char *escaped = fg_text_escape_plain(text);

		free(text);
		text = escaped;
	}
	kept = fg_mail_trim_split(text, forward, &cut);
	free(text);
	if (html_cut != NULL && *html_cut != '\0') {
		char *both = *cut != '\0' ?
			fg_xasprintf("%s\n\n%s", cut, html_cut) :
			fg_xstrdup(html_cut);
		free(cut);
		cut = both;
	}
	free(html_cut);
	body = fg_text_render(kept, set->format);
	if (set->show_trimmed && *cut != '\0') {
		char *details = fg_text_details(FG_MAIL_TRIMMED_SUMMARY, cut,
						set->format);
		char *both = fg_xasprintf("%s\n\n%s", body, details);

		free(details);
		free(body);
		body = both;
	}
	free(kept);
	*trimmed_r = cut;
	return body;
}

/*
 * Headers
 */

/* fg_mail_header - a header's unfolded, decoded value, or NULL */
static const char *fg_mail_header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

/* fg_mail_msgid - the normalized first Message-ID in a header value */
static char *fg_mail_msgid(GMimeParserOptions *options, const char *value)
{
	GMimeReferences *refs;
	char *id = NULL, *decoded;

	if (value == NULL)
		return NULL;
	refs = g_mime_references_parse(options, value);
	if (refs != NULL) {
		for (int i = 0; i < g_mime_references_length(refs) &&
		     id == NULL; i++)
			id = fg_msgid_normalize(
				g_mime_references_get_message_id(refs, i));
		g_mime_references_free(refs);
	}
	if (id == NULL) {
		/* a bare "id@host" without angle brackets */
		decoded = g_mime_utils_decode_message_id(value);
		if (decoded != NULL)
			id = fg_msgid_normalize(decoded);
		g_free(decoded);
	}
	return id;
}

/* fg_mail_references - the References IDs, oldest first, the newest
   FG_MAIL_MAX_REFERENCES kept */
static void fg_mail_references(GMimeParserOptions *options, const char *value,
			       struct fg_record *rec)
{
	GMimeReferences *refs;
	int n, first;

	rec->references = NULL;
	rec->n_references = 0;
	if (value == NULL || (refs = g_mime_references_parse(options, value))
	    == NULL)
		return;
	n = g_mime_references_length(refs);
	rec->references = fg_xcalloc((size_t)n + 1, sizeof(char *));
	/* walk from the newest so the bound keeps the newest */
	first = n;
	for (int i = n - 1; i >= 0 &&
	     n - first < FG_MAIL_MAX_REFERENCES; i--) {
		char *id = fg_msgid_normalize(
			g_mime_references_get_message_id(refs, i));
		if (id != NULL)
			rec->references[--first] = id;
	}
	g_mime_references_free(refs);
	rec->n_references = (size_t)(n - first);
	memmove(rec->references, rec->references + first,
		rec->n_references * sizeof(char *));
	rec->references[rec->n_references] = NULL;
}

/* fg_mail_list_id - the id inside <> of a List-Id value, or NULL */
static char *fg_mail_list_id(const char *value)
{
	const char *start, *end;

	if (value == NULL)
		return NULL;
	start = strrchr(value, '<');
	if (start != NULL) {
		start++;
		end = strchr(start, '>');
		if (end == NULL)
			return NULL;
	} else {
		while (*value == ' ' || *value == '\t')
			value++;
		start = value;
		end = start + fg_line_rtrim(start, strlen(start));
	}
	if (end == start || end - start > FG_MAIL_LIST_ID_MAX)
		return NULL;
	for (const char *p = start; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return fg_xstrndup(start, (size_t)(end - start));
}

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
static void fg_mail_from(GMimeMessage *msg, GMimeParserOptions *options,
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

/* fg_mail_subject - the decoded subject, one clean line */
static char *fg_mail_subject(GMimeMessage *msg, GMimeParserOptions *options)
{
	char *raw = fg_mail_raw_header(msg, "Subject"), *decoded, *subject;

	if (raw == NULL)
		return fg_xstrdup("");
	decoded = g_mime_utils_header_decode_text(options, raw);
	subject = fg_mail_clean_line(decoded);
	g_free(decoded);
	free(raw);
	return subject;
}

/* fg_mail_date - ISO 8601 UTC of Date:, or of now */
static char *fg_mail_date(GMimeMessage *msg)
{
	GDateTime *date = g_mime_message_get_date(msg);
	GDateTime *utc = date != NULL ? g_date_time_to_utc(date) : NULL;
	char *s;

	if (utc == NULL) {
		struct tm tm;
		time_t now = time(NULL);

		gmtime_r(&now, &tm);
		return fg_xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
				    tm.tm_year + 1900, tm.tm_mon + 1,
				    tm.tm_mday, tm.tm_hour, tm.tm_min,
				    tm.tm_sec);
	}
	s = fg_xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
			 g_date_time_get_year(utc),
			 g_date_time_get_month(utc),
			 g_date_time_get_day_of_month(utc),
			 g_date_time_get_hour(utc),
			 g_date_time_get_minute(utc),
			 g_date_time_get_second(utc));
	g_date_time_unref(utc);
	return s;
}

/* fg_sha256_field - hash one field with its length, so that fields
   cannot shift into each other */
static void fg_sha256_field(EVP_MD_CTX *ctx, const char *s)
{
	uint64_t len = s != NULL ? strlen(s) : 0;
	unsigned char lenbuf[8];

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)(len >> (56 - 8 * i));
	EVP_DigestUpdate(ctx, lenbuf, sizeof(lenbuf));
	if (len > 0)
		EVP_DigestUpdate(ctx, s, (size_t)len);
}

/* fg_mail_synthetic_id - a Message-ID for a message without one.
   Derived from what a re-delivery keeps: the From, Date and Subject
   headers and the raw body, with CRs and trailing white space left
   out because a hop may change them. */
static char *fg_mail_synthetic_id(GMimeMessage *msg, const char *data,
				  size_t size, const char *domain)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char out[FG_MAIL_SYNTH_HEX + 1];
	const char *body = NULL, *end = data + size, *p;

	if (ctx == NULL)
		abort();	/* out of memory, as fg_xmalloc would */
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	fg_sha256_field(ctx, fg_mail_header(msg, "From"));
	fg_sha256_field(ctx, fg_mail_header(msg, "Date"));
	fg_sha256_field(ctx, fg_mail_header(msg, "Subject"));
	for (p = data; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p + 1 < end && p[1] == '\n') {
			body = p + 2;
			break;
		}
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n') {
			body = p + 3;
			break;
		}
	}
	if (body != NULL) {
		while (end > body && (end[-1] == ' ' || end[-1] == '\t' ||
				      end[-1] == '\r' || end[-1] == '\n'))
			end--;
		for (p = body; p < end;) {
			const char *cr = memchr(p, '\r', (size_t)(end - p));
			const char *stop = cr != NULL ? cr : end;

			EVP_DigestUpdate(ctx, p, (size_t)(stop - p));
			p = stop + (cr != NULL ? 1 : 0);
		}
	}
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < FG_MAIL_SYNTH_HEX / 2; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 15];
	}
	out[FG_MAIL_SYNTH_HEX] = '\0';
	return fg_xasprintf("fg-synth.%s@%s", out,
			    domain != NULL && *domain != '\0' ?
			    domain : "forumgate.invalid");
}

/*
 * Classification (fg-classify.c)
 */

/* fg_mail_classify_header - fg_classify()'s header lookup */
static const char *fg_mail_classify_header(void *context, const char *name)
{
	return fg_mail_header(context, name);
}

/* fg_mail_classify - set classification and reason */
static void fg_mail_classify(GMimeMessage *msg, struct fg_record *rec,
			     const struct fg_parse_settings *set)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	GMimeContentType *ct = top != NULL ?
		g_mime_object_get_content_type(top) : NULL;
	struct fg_classify_msg cmsg = {
		.message_id = rec->message_id,
		.subject = rec->subject,
		.from_email = rec->from_email,
		.header = fg_mail_classify_header,
		.context = msg,
	};

	if (ct != NULL && g_mime_content_type_is_type(ct, "multipart",
						      "report"))
		cmsg.report_type = g_mime_content_type_get_parameter(
			ct, "report-type");
	fg_classify(&cmsg, set->secret, &rec->classification, &rec->reason);
}

/*
 * The parse
 */

/* fg_mail_defuse_field - break the encoded-word openers of one header
   field that no "?=" closes nearby, when there are many of them */
static void fg_mail_defuse_field(const char *data, size_t start, size_t end,
				 char **copy, size_t size)
{
	size_t open = 0, term = start;

	for (int pass = 0; pass < 2; pass++) {
		term = start;
		for (size_t j = start; j + 1 < end; j++) {
			if (data[j] != '=' || data[j + 1] != '?')
				continue;
			/* the next "?=" after the opener; it only moves
			   forward, so the whole field costs one scan */
			if (term < j + 2)
				term = j + 2;
			while (term + 1 < end &&
			       !(data[term] == '?' && data[term + 1] == '='))
				term++;
			if (term + 1 < end && term - j <= FG_MAIL_WORD_MAX)
				continue;
			if (pass == 0) {
				open++;
				continue;
			}
			if (*copy == NULL) {
				*copy = fg_xmalloc(size);
				memcpy(*copy, data, size);
			}
			(*copy)[j + 1] = ' ';
		}
		if (open <= FG_MAIL_OPEN_WORDS_MAX)
			return;
	}
}

/* fg_mail_boundaries_in - add the boundary parameters declared on one
   line to the set: boundary=x, boundary="x", and the RFC 2231 forms
   boundary*=''x and boundary*0="x" */
static void fg_mail_boundaries_in(const char *line, size_t len, GHashTable *set)
{
	static const char name[] = "boundary";
	const size_t nlen = sizeof(name) - 1;

	for (size_t i = 0; i + nlen < len; i++) {
		size_t p = i + nlen, v, e;
		bool extended = false;

		if (strncasecmp(line + i, name, nlen) != 0)
			continue;
		while (p < len && (line[p] == '*' ||
				   (line[p] >= '0' && line[p] <= '9'))) {
			extended = line[p] == '*';
			p++;
		}
		while (p < len && (line[p] == ' ' || line[p] == '\t'))
			p++;
		if (p >= len || line[p] != '=')
			continue;
		p++;
		while (p < len && (line[p] == ' ' || line[p] == '\t'))
			p++;
		if (p < len && line[p] == '"') {
			v = ++p;
			while (p < len && line[p] != '"')
				p++;
			e = p;
		} else {
			v = p;
			while (p < len && line[p] != ';' && line[p] != ' ' &&
			       line[p] != '\t' && line[p] != '\r')
				p++;
			e = p;
			if (extended) {
				/* charset'language'value */
				const char *q = memchr(line + v, '\'', e - v);
				q = q != NULL ? memchr(q + 1, '\'',
						       (size_t)(line + e - q - 1)) :
					NULL;
				if (q != NULL)
					v = (size_t)(q + 1 - line);
			}
		}
		if (e > v && e - v <= 200)
			g_hash_table_add(set, g_strndup(line + v, e - v));
		i = p > i ? p - 1 : i;
	}
}

/* fg_mail_cut_parts - how much of the message to parse: all of it, or
   everything before the boundary line that would start one part too
   many.

   GMime builds every part of a message before anything looks at it,
   about 1.4 KB and 11 us each: a 2 MB message of empty parts took
   550 MB. Only the first FG_MAIL_MAX_PARTS parts are ever looked at,
   so the parser never sees more boundary lines than a few times that.
   A boundary line is "--" and a declared boundary, as GMime matches
   it; any "--" line counts when there are very many, in case a
   boundary was declared in a form not recognized here. */
static size_t fg_mail_cut_parts(const char *data, size_t size)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal,
						g_free, NULL);
	unsigned int boundaries = 0, dashes = 0;
	size_t i = 0, cut = size;

	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t eol = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = eol - i;

		if (len >= 2 && data[i] == '-' && data[i + 1] == '-') {
			size_t tlen = len - 2;
			const char *token = data + i + 2;
			char *key;

			while (tlen > 0 && (token[tlen - 1] == ' ' ||
					    token[tlen - 1] == '\t' ||
					    token[tlen - 1] == '\r'))
				tlen--;
			key = g_strndup(token, tlen);
			if (g_hash_table_contains(set, key) ||
			    (tlen > 2 && key[tlen - 1] == '-' &&
			     key[tlen - 2] == '-' &&
			     (key[tlen - 2] = '\0',
			      g_hash_table_contains(set, key))))
				boundaries++;
			g_free(key);
			if (boundaries > FG_MAIL_MAX_BOUNDARIES ||
			    ++dashes > FG_MAIL_MAX_DASH_LINES) {
				cut = i;
				break;
			}
		} else if (len >= 8) {
			fg_mail_boundaries_in(data + i, len, set);
		}
		i = eol + 1;
	}
	g_hash_table_destroy(set);
	return cut;
}

/* fg_mail_defuse - a copy of the message with hostile header fields
   defused, or NULL when there is nothing to defuse.

   In its lenient mode GMime 3.2 looks for the end of every "=?" to
   the end of the header field, and starts again after each one it
   does not find: a field of many unclosed "=?" costs time quadratic
   in its length (a 1 MB Subject took minutes), inside an lmtp
   process. An opener with no "?=" within FG_MAIL_WORD_MAX bytes
   cannot start an encoded word anyway; when a field has more than a
   few, they lose their '?'. Header blocks of MIME parts are found
   by their boundary lines ("--" at the start of a line). */
static char *fg_mail_defuse(const char *data, size_t size)
{
	char *copy = NULL;
	bool in_header = true;
	size_t i = 0;

	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t eol = nl != NULL ? (size_t)(nl - data) : size;
		size_t field_end = eol;

		if (!in_header) {
			if (eol - i >= 2 && data[i] == '-' && data[i + 1] == '-')
				in_header = true;
			i = eol + 1;
			continue;
		}
		if (eol == i || (eol == i + 1 && data[i] == '\r')) {
			in_header = false;
			i = eol + 1;
			continue;
		}
		while (field_end + 1 < size &&
		       (data[field_end + 1] == ' ' ||
			data[field_end + 1] == '\t')) {
			nl = memchr(data + field_end + 1, '\n',
				    size - field_end - 1);
			field_end = nl != NULL ? (size_t)(nl - data) : size;
		}
		fg_mail_defuse_field(data, i, field_end, &copy, size);
		i = field_end + 1;
	}
	return copy;
}

/* fg_mail_header_nuls - a copy of the message with each NUL byte of
   its header replaced by U+FFFD, or NULL when the header has none.
   GMime keeps header values as C strings: a NUL would silently cut
   off the rest of the field (a Subject "a\0b" became "a"). */
static char *fg_mail_header_nuls(const char *data, size_t size,
				 size_t *size_r)
{
	const char *end = data + size, *p;
	struct fg_buf out = { 0 };
	size_t hdr = size;

	for (p = data; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p + 1 < end && (p[1] == '\n' ||
				    (p[1] == '\r' && p + 2 < end &&
				     p[2] == '\n'))) {
			hdr = (size_t)(p - data);
			break;
		}
	}
	if (memchr(data, '\0', hdr) == NULL)
		return NULL;
	for (size_t i = 0; i < hdr; i++) {
		if (data[i] == '\0')
			fg_buf_puts(&out, fg_utf8_replacement);
		else
			fg_buf_putc(&out, data[i]);
	}
	fg_buf_append(&out, data + hdr, size - hdr);
	*size_r = out.len;
	return fg_buf_steal(&out);
}

/* fg_mail_skip_envelope - skip what may come before the header: blank
   lines, and the "From " line of a message taken from an mbox file */
static const char *fg_mail_skip_envelope(const char *p, const char *end)
{
	while (p < end && (*p == '\n' || *p == '\r'))
		p++;
	if (end - p > 5 && memcmp(p, "From ", 5) == 0) {
		const char *q = p + 5;

		while (q < end && *q == ' ')
			q++;
		if (q < end && *q != ':') {
			q = memchr(p, '\n', (size_t)(end - p));
			p = q != NULL ? q + 1 : end;
		}
	}
	return p;
}

/* fg_mail_array_release - free a GByteArray that wraps memory GLib
   does not own, without freeing that memory */
static void fg_mail_array_release(GByteArray *array)
{
	gsize len;

	(void)g_byte_array_steal(array, &len);
	g_byte_array_unref(array);
}

/* fg_mail_parse - parse and classify one message */
int fg_mail_parse(const void *data, size_t size,
		  const struct fg_parse_settings *set,
		  struct fg_record **rec_r, const char **error_r)
{
	const char *start, *end = (const char *)data + size;
	GMimeParserOptions *options;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	struct fg_record *rec;
	char *defused, *nul_free;
	size_t nul_free_size = 0;
	GByteArray *array;
	static const char *fallback[] = {
		"utf-8", "windows-1252", "iso-8859-1", NULL
	};

	*rec_r = NULL;
	if (fg_mail_refcount == 0) {
		*error_r = fg_errorf("mail parser not initialized "
				     "(fg_mail_init)");
		return -1;
	}
	if (set->max_size > 0 && size > set->max_size) {
		*error_r = fg_errorf("message too large: %zu bytes, "
				     "limit %zu", size, set->max_size);
		return -1;
	}
	start = size > 0 ? fg_mail_skip_envelope(data, end) : end;
	if (start == end) {
		*error_r = fg_errorf("empty message");
		return -1;
	}
	nul_free = fg_mail_header_nuls(start, (size_t)(end - start),
				       &nul_free_size);
	if (nul_free != NULL) {
		start = nul_free;
		end = nul_free + nul_free_size;
	}
	defused = fg_mail_defuse(start, (size_t)(end - start));
	if (defused != NULL) {
		end = defused + (end - start);
		start = defused;
	}
	end = start + fg_mail_cut_parts(start, (size_t)(end - start));

	options = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(options,
								 TRUE);
	/* raw 8-bit headers: UTF-8 if they are, else Western; Latin-1
	   last because it never fails, so nothing becomes '?' */
	g_mime_parser_options_set_fallback_charsets(options, fallback);

	/* GMime reads the caller's buffer in place instead of copying it
	   (g_mime_stream_mem_new_with_buffer would: a second copy of a
	   25 MB message inside an lmtp process). The parts' contents are
	   substreams of it, so the buffer outlives msg; the array is taken
	   back from GLib, never freed by it (see fg_mail_array_release). */
	array = g_byte_array_new_take((guint8 *)start, (gsize)(end - start));
	stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, options);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL) {
		g_mime_parser_options_free(options);
		fg_mail_array_release(array);
		free(defused);
		free(nul_free);
		*error_r = fg_errorf("not a mail message");
		return -1;
	}

	rec = fg_xcalloc(1, sizeof(*rec));
	rec->subject = fg_mail_subject(msg, options);
	rec->title = fg_subject_normalize(rec->subject);
	fg_mail_from(msg, options, rec);
	rec->date = fg_mail_date(msg);
	rec->list_id = fg_mail_list_id(fg_mail_header(msg, "List-Id"));
	rec->in_reply_to = fg_mail_msgid(options,
					 fg_mail_header(msg, "In-Reply-To"));
	fg_mail_references(options, fg_mail_header(msg, "References"), rec);
	rec->body = fg_mail_body(msg, set, fg_subject_is_forward(rec->subject),
				 &rec->trimmed);
	rec->message_id = fg_mail_msgid(options,
					fg_mail_header(msg, "Message-ID"));
	if (rec->message_id == NULL)
		rec->message_id = fg_mail_synthetic_id(msg, start,
						       (size_t)(end - start),
						       set->mail_domain);
	fg_mail_classify(msg, rec, set);

	g_object_unref(msg);
	g_mime_parser_options_free(options);
	fg_mail_array_release(array);
	free(defused);
	free(nul_free);
	*rec_r = rec;
	return 0;
}
