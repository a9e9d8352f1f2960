/*
 * NAME
 *	fg-html 3 - plain text of an HTML mail body
 * DESCRIPTION
 *	See fg-html.h for what comes out and why this is not libxml2.
 *
 *	The converter is a single forward scan. Text is not written when
 *	it is read: white space and block boundaries only set "pending"
 *	state (a space, one line break, or a paragraph break), and the
 *	next visible word first writes what is pending, then the line
 *	prefix (quote marks, list indentation, a list or heading marker).
 *	That is what keeps the output free of leading, trailing and
 *	doubled blank lines however the HTML nests its <div>s.
 */
#include "fg-html.h"
#include "fg-common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FG_HTML_NAME_MAX 32		/* tag and attribute names */
#define FG_HTML_URL_MAX 2048		/* a longer href is not shown */
#define FG_HTML_ALT_MAX 512
#define FG_HTML_QUOTE_MAX 8		/* "> " levels written */
#define FG_HTML_LIST_MAX 8		/* list levels tracked */
#define FG_HTML_ENTITY_MAX 32
#define FG_HTML_SNIFF_MAX 4096

enum fg_html_break {
	FG_BREAK_NONE,
	FG_BREAK_LINE,
	FG_BREAK_PARA,
};

struct fg_html {
	struct fg_buf out;
	size_t out_max;
	bool full;

	enum fg_html_break pending;
	unsigned int break_quote; /* quote depth of a pending blank line */
	bool space;		/* a collapsed space waits for the next word */
	bool line_start;	/* nothing written on this line yet */
	char marker[16];	/* list or heading marker for the next line */

	unsigned int quote;	/* <blockquote> depth */
	unsigned int pre;	/* <pre> depth */
	bool pre_start;		/* drop the newline right after <pre> */
	unsigned int hidden;	/* inside <head>, <template>, <svg>, ... */

	unsigned int lists;	/* list depth, may exceed FG_HTML_LIST_MAX */
	struct {
		bool ordered;
		long counter;
	} list[FG_HTML_LIST_MAX];

	bool in_link;
	bool link_fresh;	/* no link text written yet */
	size_t link_start;	/* out.len where the link text begins */
	char *href;		/* NULL: nothing worth showing */

	/* Markdown emphasis: an opening "**", "*" or "`" waits for the
	   next word, so that it sticks to the word, not to a space */
	char open_marks[16];
	unsigned int strong, em, code; /* element depths */

	/* The trailing quote of the message replied to, found by the
	   markers mail clients put in their HTML (see fg_html_marker) */
	size_t cut;		/* output offset where it begins, or NONE */
	bool cut_hard;		/* the rest is quote, whatever follows */
	unsigned int divs;	/* <div> depth */
	unsigned int aside_div;	/* div depth of an attribution or
				   signature block; 0: not inside one */
};

#define FG_HTML_NO_CUT ((size_t)-1)
/* A link's text is moved behind "[" only when it is this short, so
   that many links cost linear time. */
#define FG_HTML_LINK_TEXT_MAX 4096

/* The attributes of one tag that the conversion uses. */
struct fg_html_tag {
	char name[FG_HTML_NAME_MAX + 1];
	bool closing;
	struct fg_buf href, alt, start, cls, id, type, style;
};

/* Elements whose content is not shown; script and style are raw text
   (no markup inside), the others are skipped element by element. */
static const char *const fg_html_raw_text[] = {
	"script", "style", "title", "xmp", "noembed", "noframes",
};
static const char *const fg_html_hidden[] = {
	"head", "template", "svg", "math", "object", "iframe",
};

/* Elements that start a paragraph (blank line) or a line. */
static const char *const fg_html_para_tags[] = {
	"p", "blockquote", "pre", "table", "ul", "ol", "dl", "hr",
	"h1", "h2", "h3", "h4", "h5", "h6", "figure",
};
static const char *const fg_html_line_tags[] = {
	"div", "li", "tr", "dt", "dd", "section", "article", "header",
	"footer", "address", "center", "main", "nav", "aside", "form",
	"fieldset", "caption", "legend", "details", "summary", "body",
	"html", "figcaption", "thead", "tbody", "tfoot",
};

/* HTML's named references for U+00A0..U+00FF, in code point order. */
static const char *const fg_html_latin1[96] = {
	"nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
	"uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
	"deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
	"cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34",
	"iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring",
	"AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave",
	"Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
	"Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute",
	"Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute",
	"acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave",
	"eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml",
	"eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml",
	"divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute",
	"thorn", "yuml",
};

static const struct {
	const char *name;
	uint32_t cp;
} fg_html_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "OElig", 0x152 }, { "oelig", 0x153 },
	{ "Scaron", 0x160 }, { "scaron", 0x161 }, { "Yuml", 0x178 },
	{ "fnof", 0x192 }, { "circ", 0x2c6 }, { "tilde", 0x2dc },
	{ "ensp", 0x2002 }, { "emsp", 0x2003 }, { "thinsp", 0x2009 },
	{ "zwnj", 0x200c }, { "zwj", 0x200d }, { "lrm", 0x200e },
	{ "rlm", 0x200f }, { "ndash", 0x2013 }, { "mdash", 0x2014 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "sbquo", 0x201a },
	{ "ldquo", 0x201c }, { "rdquo", 0x201d }, { "bdquo", 0x201e },
	{ "dagger", 0x2020 }, { "Dagger", 0x2021 }, { "bull", 0x2022 },
	{ "hellip", 0x2026 }, { "permil", 0x2030 }, { "prime", 0x2032 },
	{ "Prime", 0x2033 }, { "lsaquo", 0x2039 }, { "rsaquo", 0x203a },
	{ "euro", 0x20ac }, { "trade", 0x2122 }, { "larr", 0x2190 },
	{ "uarr", 0x2191 }, { "rarr", 0x2192 }, { "darr", 0x2193 },
	{ "harr", 0x2194 }, { "minus", 0x2212 },
};

/* What a numeric reference to 0x80..0x9F means (HTML takes those as
   windows-1252, as the mail that contains them meant them); 0 marks
   the five bytes windows-1252 leaves undefined. */
static const uint16_t fg_html_cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* fg_html_in - name is one of the list */
static bool fg_html_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(name, list[i]) == 0)
			return true;
	}
	return false;
}

/* fg_html_is_space - HTML white space; other control bytes count too,
   since they have no visible form in a post */
static bool fg_html_is_space(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

/* fg_html_utf8 - encode one code point; returns the length */
static size_t fg_html_utf8(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* fg_html_write - append to the output unless the cap is reached */
static void fg_html_write(struct fg_html *h, const char *s, size_t n)
{
	if (h->full)
		return;
	if (h->out.len + n > h->out_max) {
		h->full = true;
		return;
	}
	fg_buf_append(&h->out, s, n);
}

/* fg_html_quote_marks - the quote prefix of a line; a blank line in a
   quote keeps its marks so the quote stays one block */
static void fg_html_quote_marks(struct fg_html *h, unsigned int depth,
				bool blank)
{
	if (depth > FG_HTML_QUOTE_MAX)
		depth = FG_HTML_QUOTE_MAX;

	for (unsigned int i = 0; i < depth; i++)
		fg_html_write(h, ">", 1);
	if (depth > 0 && !blank)
		fg_html_write(h, " ", 1);
}

/* fg_html_line_prefix - quote marks, list indentation and marker */
static void fg_html_line_prefix(struct fg_html *h)
{
	unsigned int depth = h->lists < FG_HTML_LIST_MAX ?
		h->lists : FG_HTML_LIST_MAX;

	fg_html_quote_marks(h, h->quote, false);
	if (h->marker[0] != '\0') {
		/* the marker stands where the item's text will be indented */
		for (unsigned int i = 1; i < depth; i++)
			fg_html_write(h, "  ", 2);
		fg_html_write(h, h->marker, strlen(h->marker));
		h->marker[0] = '\0';
	} else {
		for (unsigned int i = 0; i < depth; i++)
			fg_html_write(h, "  ", 2);
	}
}

/* fg_html_flush - write the pending break and, at a line start, the
   prefix; called right before visible text */
static void fg_html_flush(struct fg_html *h)
{
	if (h->pending != FG_BREAK_NONE) {
		if (h->out.len > 0) {
			/* after a line <pre> ended, one break is written */
			if (!h->line_start)
				fg_html_write(h, "\n", 1);
			if (h->pending == FG_BREAK_PARA) {
				/* the blank line between a text and a quote
				   belongs to the outer level */
				fg_html_quote_marks(h, h->break_quote <
						    h->quote ? h->break_quote :
						    h->quote, true);
				fg_html_write(h, "\n", 1);
			}
		}
		h->pending = FG_BREAK_NONE;
		h->line_start = true;
	}
	if (h->line_start) {
		fg_html_line_prefix(h);
		h->line_start = false;
		h->space = false;
	} else if (h->space) {
		fg_html_write(h, " ", 1);
		h->space = false;
	}
	if (h->link_fresh) {
		/* the link text starts after the break and the prefix */
		h->link_start = h->out.len;
		h->link_fresh = false;
	}
	if (h->open_marks[0] != '\0') {
		fg_html_write(h, h->open_marks, strlen(h->open_marks));
		h->open_marks[0] = '\0';
	}
}

/* fg_html_user_text - visible text the sender wrote is coming: a
   quote marker seen before it was not the trailing quote after all
   (an inline reply keeps its quotes) */
static void fg_html_user_text(struct fg_html *h)
{
	if (h->cut != FG_HTML_NO_CUT && !h->cut_hard && h->quote == 0 &&
	    h->aside_div == 0)
		h->cut = FG_HTML_NO_CUT;
}

/* fg_html_emit - one visible word (or, in <pre>, a run of text) */
static void fg_html_emit(struct fg_html *h, const char *s, size_t n)
{
	if (h->hidden > 0 || n == 0)
		return;
	fg_html_user_text(h);
	fg_html_flush(h);
	fg_html_write(h, s, n);
}

/* fg_html_mark_open - an emphasis starts: its mark waits for a word */
static void fg_html_mark_open(struct fg_html *h, const char *mark)
{
	size_t used = strlen(h->open_marks);

	if (h->hidden > 0 || h->pre > 0 ||
	    used + strlen(mark) >= sizeof(h->open_marks))
		return;
	memcpy(h->open_marks + used, mark, strlen(mark) + 1);
}

/* fg_html_mark_close - an emphasis ends: its mark goes right after
   the last word, or, when no word came, the opening mark is taken
   back */
static void fg_html_mark_close(struct fg_html *h, const char *mark)
{
	size_t used = strlen(h->open_marks), n = strlen(mark);

	if (h->hidden > 0 || h->pre > 0)
		return;
	if (used >= n && strcmp(h->open_marks + used - n, mark) == 0) {
		h->open_marks[used - n] = '\0';
		return;
	}
	if (h->line_start || h->pending != FG_BREAK_NONE || h->out.len == 0)
		return;	/* the mark would start a line: leave it out */
	fg_html_write(h, mark, n);
}

/* fg_html_break - ask for a line or paragraph break before more text */
static void fg_html_break(struct fg_html *h, enum fg_html_break brk)
{
	if (h->hidden > 0 || brk == FG_BREAK_NONE)
		return;
	if (brk == FG_BREAK_PARA && (h->pending != FG_BREAK_PARA ||
				     h->quote < h->break_quote))
		h->break_quote = h->quote;
	if (brk > h->pending)
		h->pending = brk;
	h->space = false;
}

/* fg_html_pre_text - text inside <pre>: kept as it is, line by line */
static void fg_html_pre_text(struct fg_html *h, const char *s, size_t n)
{
	size_t i = 0;

	if (h->pre_start && n > 0) {
		if (s[0] == '\r')
			i++;
		if (i < n && s[i] == '\n')
			i++;
		h->pre_start = false;
	}
	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '\n' && s[j] != '\r')
			j++;
		if (j > i)
			fg_html_emit(h, s + i, j - i);
		if (j < n) {
			/* CR LF and lone CR are one line end */
			if (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')
				j++;
			if (h->pending != FG_BREAK_NONE)
				fg_html_flush(h);
			else if (h->line_start)
				fg_html_quote_marks(h, h->quote, true);
			fg_html_write(h, "\n", 1);
			h->line_start = true;
		}
		i = j + 1;
	}
}

/* fg_html_text - a run of character data */
static void fg_html_text(struct fg_html *h, const char *s, size_t n)
{
	if (h->hidden > 0)
		return;
	if (h->pre > 0) {
		fg_html_pre_text(h, s, n);
		return;
	}
	for (size_t i = 0; i < n;) {
		if (fg_html_is_space((unsigned char)s[i])) {
			h->space = true;
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !fg_html_is_space((unsigned char)s[j]))
			j++;
		fg_html_emit(h, s + i, j - i);
		i = j;
	}
}

/* fg_html_code_point - a decoded character reference, as text */
static void fg_html_code_point(struct fg_html *h, uint32_t cp)
{
	char utf8[4];

	if (cp == 0xa0 || cp == '\t' || cp == '\n' || cp == '\r' ||
	    cp == ' ' || cp == '\f') {
		/* no-break spaces mostly pad Outlook's empty paragraphs */
		if (h->pre > 0)
			fg_html_text(h, " ", 1);
		else
			h->space = true;
		return;
	}
	if (cp == 0xad || cp == 0x200b)
		return;		/* soft hyphen, zero width space */
	fg_html_emit(h, utf8, fg_html_utf8(cp, utf8));
}

/* fg_html_numeric - value of "#123" / "#x1F" (without & and ;) */
static uint32_t fg_html_numeric(const char *s, size_t n)
{
	uint32_t cp = 0;
	bool hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
	size_t i = hex ? 2 : 1;

	if (i >= n)
		return 0xfffd;
	for (; i < n; i++) {
		unsigned int d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return 0xfffd;
		cp = cp * (hex ? 16 : 10) + d;
		if (cp > 0x10ffff)
			return 0xfffd;
	}
	if (cp >= 0x80 && cp <= 0x9f)
		cp = fg_html_cp1252[cp - 0x80] != 0 ?
			fg_html_cp1252[cp - 0x80] : 0xfffd;
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r' &&
	     cp != '\f') || cp == 0x7f)
		return 0xfffd;
	return cp;
}

/* fg_html_named - code point of a named reference, 0 when unknown */
static uint32_t fg_html_named(const char *s, size_t n)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_html_entities); i++) {
		const char *name = fg_html_entities[i].name;

		if (strlen(name) == n && memcmp(name, s, n) == 0)
			return fg_html_entities[i].cp;
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_html_latin1); i++) {
		const char *name = fg_html_latin1[i];

		if (strlen(name) == n && memcmp(name, s, n) == 0)
			return 0xa0 + (uint32_t)i;
	}
	return 0;
}

/* fg_html_reference - decode a character reference at p ('&'); sets
   *cp_r (0: not a reference, take the '&' literally) and returns the
   end of what it consumed */
static const char *fg_html_reference(const char *p, const char *end,
				     uint32_t *cp_r)
{
	const char *q = p + 1;

	*cp_r = 0;
	while (q < end && q - p <= FG_HTML_ENTITY_MAX &&
	       ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		(*q >= '0' && *q <= '9') || (q == p + 1 && *q == '#')))
		q++;
	if (q == p + 1 || q - p > FG_HTML_ENTITY_MAX)
		return p + 1;
	if (p[1] == '#') {
		*cp_r = fg_html_numeric(p + 1, (size_t)(q - p - 1));
	} else {
		uint32_t cp = fg_html_named(p + 1, (size_t)(q - p - 1));

		/* legacy HTML drops the ';' after the common ones only */
		if (cp == 0 || ((q >= end || *q != ';') &&
				cp != '&' && cp != '<' && cp != '>' &&
				cp != '"' && cp != 0xa0))
			return p + 1;
		*cp_r = cp;
	}
	if (q < end && *q == ';')
		q++;
	return q;
}

/* fg_html_attr_value - decode an attribute value into buf, capped */
static void fg_html_attr_value(struct fg_buf *buf, const char *s, size_t n,
			       size_t max)
{
	const char *p = s, *end = s + n;

	fg_buf_free(buf);
	while (p < end && buf->len < max) {
		if (*p == '&') {
			uint32_t cp;
			const char *q = fg_html_reference(p, end, &cp);

			if (cp != 0) {
				char utf8[4];
				fg_buf_append(buf, utf8, fg_html_utf8(cp, utf8));
				p = q;
				continue;
			}
		}
		fg_buf_putc(buf, *p++);
	}
	if (p < end)
		fg_buf_free(buf);	/* too long to be useful: absent */
}

/* fg_html_parse_tag - read the tag at p ('<' + name or '/'); returns
   the end of the tag, or NULL when it is not terminated */
static const char *fg_html_parse_tag(const char *p, const char *end,
				     struct fg_html_tag *tag)
{
	size_t n = 0;

	p++;
	tag->closing = *p == '/';
	if (tag->closing)
		p++;
	while (p < end && !fg_html_is_space((unsigned char)*p) &&
	       *p != '>' && *p != '/') {
		if (n < FG_HTML_NAME_MAX) {
			char c = *p;
			tag->name[n++] = c >= 'A' && c <= 'Z' ? c + 32 : c;
		}
		p++;
	}
	tag->name[n] = '\0';
	while (p < end) {
		char name[FG_HTML_NAME_MAX + 1];
		const char *value = NULL;
		size_t name_len = 0, value_len = 0;

		while (p < end && (fg_html_is_space((unsigned char)*p) ||
				   *p == '/'))
			p++;
		if (p >= end)
			return NULL;
		if (*p == '>')
			return p + 1;
		while (p < end && !fg_html_is_space((unsigned char)*p) &&
		       *p != '>' && *p != '=' && (*p != '/' || name_len == 0)) {
			if (name_len < FG_HTML_NAME_MAX) {
				char c = *p;
				name[name_len++] = c >= 'A' && c <= 'Z' ?
					c + 32 : c;
			}
			p++;
		}
		name[name_len] = '\0';
		while (p < end && fg_html_is_space((unsigned char)*p))
			p++;
		if (p < end && *p == '=') {
			p++;
			while (p < end && fg_html_is_space((unsigned char)*p))
				p++;
			if (p >= end)
				return NULL;
			if (*p == '"' || *p == '\'') {
				const char *q = memchr(p + 1, *p,
						       (size_t)(end - p - 1));
				if (q == NULL)
					return NULL;
				value = p + 1;
				value_len = (size_t)(q - p - 1);
				p = q + 1;
			} else {
				value = p;
				while (p < end &&
				       !fg_html_is_space((unsigned char)*p) &&
				       *p != '>')
					p++;
				value_len = (size_t)(p - value);
			}
		}
		if (value == NULL)
			continue;
		if (strcmp(name, "href") == 0)
			fg_html_attr_value(&tag->href, value, value_len,
					   FG_HTML_URL_MAX);
		else if (strcmp(name, "alt") == 0)
			fg_html_attr_value(&tag->alt, value, value_len,
					   FG_HTML_ALT_MAX);
		else if (strcmp(name, "start") == 0)
			fg_html_attr_value(&tag->start, value, value_len, 16);
		else if (strcmp(name, "class") == 0)
			fg_html_attr_value(&tag->cls, value, value_len, 256);
		else if (strcmp(name, "id") == 0)
			fg_html_attr_value(&tag->id, value, value_len, 256);
		else if (strcmp(name, "type") == 0)
			fg_html_attr_value(&tag->type, value, value_len, 16);
		else if (strcmp(name, "style") == 0)
			fg_html_attr_value(&tag->style, value, value_len, 512);
	}
	return NULL;
}

/* fg_html_link_target - the URL of an href worth showing, or NULL */
static char *fg_html_link_target(const struct fg_buf *href)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "mailto:",
	};
	char *url;

	if (href->s == NULL || href->len == 0 || href->len > FG_HTML_URL_MAX)
		return NULL;
	url = fg_str_trim(fg_xstrndup(href->s, href->len));
	for (const char *p = url; *p != '\0'; p++) {
		/* a URL with white space or controls is not one to show */
		if (fg_html_is_space((unsigned char)*p)) {
			free(url);
			return NULL;
		}
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(schemes); i++) {
		if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0 &&
		    url[strlen(schemes[i])] != '\0')
			return url;
	}
	free(url);
	return NULL;
}

/* fg_html_url_core - URL without scheme and trailing slash, to compare
   it with the text a link shows */
static void fg_html_url_core(const char *s, size_t n, const char **core_r,
			     size_t *len_r)
{
	static const char *const prefixes[] = {
		"http://", "https://", "ftp://", "mailto:",
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(prefixes); i++) {
		size_t len = strlen(prefixes[i]);
		if (n >= len && strncasecmp(s, prefixes[i], len) == 0) {
			s += len;
			n -= len;
			break;
		}
	}
	while (n > 0 && s[n - 1] == '/')
		n--;
	*core_r = s;
	*len_r = n;
}

/* fg_html_link_end - after a link's text: make it "[text](url)",
   unless the text already says the URL */
static void fg_html_link_end(struct fg_html *h)
{
	const char *text, *a, *b;
	size_t text_len, a_len, b_len, lead = 0;

	if (!h->in_link)
		return;
	h->in_link = false;
	if (h->href == NULL)
		return;
	if (h->link_fresh || h->out.s == NULL || h->link_start > h->out.len) {
		text = "";
		text_len = 0;
	} else {
		text = h->out.s + h->link_start;
		text_len = h->out.len - h->link_start;
	}
	h->link_fresh = false;
	while (text_len > 0 && fg_html_is_space((unsigned char)*text)) {
		text++;
		text_len--;
		lead++;
	}
	while (text_len > 0 &&
	       fg_html_is_space((unsigned char)text[text_len - 1]))
		text_len--;
	if (text_len == 0) {
		fg_html_emit(h, h->href, strlen(h->href));
	} else {
		fg_html_url_core(text, text_len, &a, &a_len);
		fg_html_url_core(h->href, strlen(h->href), &b, &b_len);
		if ((a_len != b_len || strncasecmp(a, b, a_len) != 0) &&
		    !h->full && text_len <= FG_HTML_LINK_TEXT_MAX &&
		    memchr(text, '\n', text_len) == NULL &&
		    memchr(text, '[', text_len) == NULL &&
		    memchr(text, ']', text_len) == NULL &&
		    h->out.len + strlen(h->href) + 4 <= h->out_max) {
			/* "[" goes in front of the text already written */
			size_t at = h->link_start + lead;
			size_t end = at + text_len;
			size_t tail = h->out.len - end;

			fg_buf_append(&h->out, " ", 1);
			memmove(h->out.s + at + 1, h->out.s + at, text_len);
			h->out.s[at] = '[';
			/* trailing white space after the text stays after */
			h->out.len = end + 1;
			h->out.s[h->out.len] = '\0';
			fg_html_write(h, "](", 2);
			fg_html_write(h, h->href, strlen(h->href));
			fg_html_write(h, ")", 1);
			if (tail > 0)
				h->space = true;
		} else if (a_len != b_len || strncasecmp(a, b, a_len) != 0) {
			char *s = fg_xasprintf("(%s)", h->href);
			h->space = true;
			fg_html_emit(h, s, strlen(s));
			free(s);
		}
	}
	free(h->href);
	h->href = NULL;
}

/* fg_html_heading - "h1".."h6" level, 0 for other names */
static int fg_html_heading(const char *name)
{
	if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' &&
	    name[2] == '\0')
		return name[1] - '0';
	return 0;
}

/* fg_html_block - the break an element's start and end make */
static enum fg_html_break fg_html_block(const struct fg_html *h,
					const char *name)
{
	/* a list inside a list item is part of that item */
	if (h->lists > 0 && (strcmp(name, "ul") == 0 ||
			     strcmp(name, "ol") == 0))
		return FG_BREAK_LINE;
	if (fg_html_in(name, fg_html_para_tags,
		       FG_N_ELEMENTS(fg_html_para_tags)))
		return FG_BREAK_PARA;
	if (fg_html_in(name, fg_html_line_tags,
		       FG_N_ELEMENTS(fg_html_line_tags)))
		return FG_BREAK_LINE;
	return FG_BREAK_NONE;
}

/* What mail clients wrap the quoted message in. A "start" marker
   begins the trailing quote: everything from it on is cut, unless the
   sender's own text follows (an inline reply). A "hard" marker begins
   a quote that is not marked up as one (Outlook puts the old message
   after its header block as ordinary text), so the cut stands. An
   "aside" holds an attribution line or a signature: its text is not
   the sender's own. */
enum {
	FG_MARK_START = 1,
	FG_MARK_HARD = 2,
	FG_MARK_ASIDE = 4,
};
static const struct {
	const char *attr;	/* "class" or "id" */
	const char *value;
	unsigned int what;
} fg_html_markers[] = {
	{ "class", "gmail_quote", FG_MARK_START },
	{ "class", "gmail_attr", FG_MARK_ASIDE },
	{ "class", "gmail_signature", FG_MARK_START | FG_MARK_ASIDE },
	{ "class", "moz-cite-prefix", FG_MARK_START | FG_MARK_ASIDE },
	{ "class", "moz-signature", FG_MARK_START | FG_MARK_ASIDE },
	{ "class", "yahoo_quoted", FG_MARK_START },
	{ "class", "protonmail_quote", FG_MARK_START },
	{ "id", "AppleMailSignature", FG_MARK_START | FG_MARK_ASIDE },
	{ "id", "divRplyFwdMsg", FG_MARK_HARD | FG_MARK_ASIDE },
	{ "id", "x_divRplyFwdMsg", FG_MARK_HARD | FG_MARK_ASIDE },
	{ "id", "OLK_SRC_BODY_SECTION", FG_MARK_HARD | FG_MARK_ASIDE },
	{ "id", "mail-editor-reference-message-container", FG_MARK_HARD },
};

/* fg_html_has_word - a space-separated attribute value has word */
static bool fg_html_has_word(const struct fg_buf *v, const char *word)
{
	size_t n = strlen(word);

	if (v->s == NULL)
		return false;
	for (const char *p = v->s; (p = strstr(p, word)) != NULL; p++) {
		if ((p == v->s || fg_html_is_space((unsigned char)p[-1])) &&
		    (p[n] == '\0' || fg_html_is_space((unsigned char)p[n])))
			return true;
	}
	return false;
}

/* fg_html_marker - the quote-marker flags of an element */
static unsigned int fg_html_marker(const struct fg_html_tag *tag)
{
	unsigned int what = 0;

	for (size_t i = 0; i < FG_N_ELEMENTS(fg_html_markers); i++) {
		const struct fg_buf *v = fg_html_markers[i].attr[0] == 'c' ?
			&tag->cls : &tag->id;

		if (fg_html_has_word(v, fg_html_markers[i].value))
			what |= fg_html_markers[i].what;
	}
	/* Outlook's separator above its header block: a div with only a
	   top border ("border:none;border-top:solid #E1E1E1 1.0pt") */
	if (strcmp(tag->name, "div") == 0 && tag->style.s != NULL &&
	    strstr(tag->style.s, "border:none") != NULL &&
	    strstr(tag->style.s, "border-top:solid") != NULL)
		what |= FG_MARK_HARD | FG_MARK_ASIDE;
	if (strcmp(tag->name, "blockquote") == 0 && tag->type.s != NULL &&
	    strcasecmp(tag->type.s, "cite") == 0)
		what |= FG_MARK_START;
	return what;
}

/* fg_html_marker_start - an element that marks a quote opens */
static void fg_html_marker_start(struct fg_html *h, unsigned int what)
{
	if (what == 0 || h->hidden > 0)
		return;
	if ((what & (FG_MARK_START | FG_MARK_HARD)) != 0 &&
	    (h->cut == FG_HTML_NO_CUT || (!h->cut_hard &&
					  (what & FG_MARK_HARD) != 0))) {
		if (h->cut == FG_HTML_NO_CUT)
			h->cut = h->out.len;
		h->cut_hard = (what & FG_MARK_HARD) != 0;
	}
	if ((what & FG_MARK_ASIDE) != 0 && h->aside_div == 0 &&
	    h->divs > 0)
		h->aside_div = h->divs;
}

/* fg_html_start_tag - what an opening tag does to the output */
static void fg_html_start_tag(struct fg_html *h, struct fg_html_tag *tag)
{
	const char *name = tag->name;
	int level;

	if (fg_html_in(name, fg_html_hidden, FG_N_ELEMENTS(fg_html_hidden))) {
		h->hidden++;
		return;
	}
	if (strcmp(name, "body") == 0)
		h->hidden = 0;	/* a <head> nobody closed ends here */
	if (h->hidden > 0)
		return;
	if (strcmp(name, "div") == 0)
		h->divs++;
	fg_html_marker_start(h, fg_html_marker(tag));
	if (strcmp(name, "br") == 0) {
		if (h->pre > 0) {
			fg_html_pre_text(h, "\n", 1);
			return;
		}
		/* two <br> in a row are a blank line */
		fg_html_break(h, h->pending == FG_BREAK_NONE ?
			      FG_BREAK_LINE : FG_BREAK_PARA);
		return;
	}
	fg_html_break(h, fg_html_block(h, name));

	if ((level = fg_html_heading(name)) > 0) {
		memset(h->marker, '#', (size_t)level);
		h->marker[level] = ' ';
		h->marker[level + 1] = '\0';
	} else if (strcmp(name, "blockquote") == 0) {
		h->quote++;
	} else if (strcmp(name, "pre") == 0) {
		fg_html_emit(h, "```", 3);
		fg_html_break(h, FG_BREAK_LINE);
		h->pre++;
		h->pre_start = true;
	} else if (strcmp(name, "hr") == 0) {
		fg_html_emit(h, "---", 3);
		fg_html_break(h, FG_BREAK_PARA);
	} else if (strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0) {
		if (h->lists < FG_HTML_LIST_MAX) {
			long start = 1;
			long long v;

			if (tag->start.s != NULL && tag->start.len <= 16 &&
			    fg_parse_llong(tag->start.s, &v) == 0 &&
			    v >= 0 && v < 1000000)
				start = (long)v;
			h->list[h->lists].ordered = name[0] == 'o';
			h->list[h->lists].counter = start;
		}
		h->lists++;
	} else if (strcmp(name, "li") == 0) {
		if (h->lists > 0 && h->lists <= FG_HTML_LIST_MAX &&
		    h->list[h->lists - 1].ordered) {
			long n = h->list[h->lists - 1].counter++;
			snprintf(h->marker, sizeof(h->marker), "%ld. ", n);
		} else {
			strcpy(h->marker, "- ");
		}
	} else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		h->space = true;
	} else if (strcmp(name, "b") == 0 || strcmp(name, "strong") == 0) {
		if (h->strong++ == 0)
			fg_html_mark_open(h, "**");
	} else if (strcmp(name, "i") == 0 || strcmp(name, "em") == 0) {
		if (h->em++ == 0)
			fg_html_mark_open(h, "*");
	} else if (strcmp(name, "code") == 0 || strcmp(name, "tt") == 0 ||
		   strcmp(name, "kbd") == 0) {
		if (h->code++ == 0)
			fg_html_mark_open(h, "`");
	} else if (strcmp(name, "a") == 0) {
		fg_html_link_end(h);	/* links do not nest */
		h->href = fg_html_link_target(&tag->href);
		h->in_link = true;
		h->link_fresh = true;
	} else if (strcmp(name, "img") == 0) {
		if (tag->alt.s != NULL && tag->alt.len > 0 &&
		    tag->alt.len <= FG_HTML_ALT_MAX) {
			h->space = true;
			fg_html_text(h, tag->alt.s, tag->alt.len);
			h->space = true;
		}
	}
}

/* fg_html_end_tag - what a closing tag does to the output */
static void fg_html_end_tag(struct fg_html *h, const char *name)
{
	if (fg_html_in(name, fg_html_hidden, FG_N_ELEMENTS(fg_html_hidden))) {
		if (h->hidden > 0)
			h->hidden--;
		return;
	}
	if (h->hidden > 0)
		return;
	if (strcmp(name, "a") == 0) {
		fg_html_link_end(h);
		return;
	}
	if (strcmp(name, "b") == 0 || strcmp(name, "strong") == 0) {
		if (h->strong > 0 && --h->strong == 0)
			fg_html_mark_close(h, "**");
		return;
	}
	if (strcmp(name, "i") == 0 || strcmp(name, "em") == 0) {
		if (h->em > 0 && --h->em == 0)
			fg_html_mark_close(h, "*");
		return;
	}
	if (strcmp(name, "code") == 0 || strcmp(name, "tt") == 0 ||
	    strcmp(name, "kbd") == 0) {
		if (h->code > 0 && --h->code == 0)
			fg_html_mark_close(h, "`");
		return;
	}
	if (strcmp(name, "div") == 0 && h->divs > 0) {
		if (h->aside_div == h->divs)
			h->aside_div = 0;
		h->divs--;
	}
	if (strcmp(name, "pre") == 0 && h->pre > 0) {
		h->pre--;
		h->pre_start = false;
		fg_html_break(h, FG_BREAK_LINE);
		fg_html_emit(h, "```", 3);
	} else if (strcmp(name, "blockquote") == 0 && h->quote > 0) {
		/* the blank line after it carries the outer level's marks,
		   so an outer quote stays one block */
		h->quote--;
	} else if (strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0) {
		if (h->lists > 0)
			h->lists--;
	} else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		h->space = true;
	}
	if (fg_html_heading(name) > 0)
		h->marker[0] = '\0';
	fg_html_break(h, fg_html_block(h, name));
}

/* fg_html_find_ci - first case-insensitive occurrence of needle */
static const char *fg_html_find_ci(const char *p, const char *end,
				   const char *needle)
{
	size_t n = strlen(needle);

	for (; (size_t)(end - p) >= n; p++) {
		if (strncasecmp(p, needle, n) == 0)
			return p;
	}
	return NULL;
}

/* fg_html_markup - handle the markup at p ('<'); returns where the
   scan continues */
static const char *fg_html_markup(struct fg_html *h, const char *p,
				  const char *end)
{
	struct fg_html_tag tag;
	const char *q;

	if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
		/* comments, Outlook's "<!--[if mso]>" blocks included */
		for (q = p + 4; end - q >= 3; q++) {
			if (memcmp(q, "-->", 3) == 0)
				return q + 3;
		}
		return end;
	}
	if (end - p >= 2 && (p[1] == '!' || p[1] == '?')) {
		/* doctype, <![endif]>, processing instructions */
		q = memchr(p, '>', (size_t)(end - p));
		return q != NULL ? q + 1 : end;
	}
	if (end - p < 2 ||
	    !((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
	      (p[1] == '/' && end - p >= 3 &&
	       ((p[2] >= 'a' && p[2] <= 'z') ||
		(p[2] >= 'A' && p[2] <= 'Z'))))) {
		/* "a < b" is text */
		fg_html_text(h, "<", 1);
		return p + 1;
	}
	memset(&tag, 0, sizeof(tag));
	q = fg_html_parse_tag(p, end, &tag);
	if (q == NULL)
		q = end;	/* cut off in the middle of a tag */
	else if (tag.closing)
		fg_html_end_tag(h, tag.name);
	else if (fg_html_in(tag.name, fg_html_raw_text,
			    FG_N_ELEMENTS(fg_html_raw_text))) {
		/* nothing inside is markup; skip to the end tag */
		char close[FG_HTML_NAME_MAX + 4];
		const char *e;

		snprintf(close, sizeof(close), "</%s", tag.name);
		e = fg_html_find_ci(q, end, close);
		if (e == NULL) {
			q = end;
		} else {
			e = memchr(e, '>', (size_t)(end - e));
			q = e != NULL ? e + 1 : end;
		}
	} else {
		fg_html_start_tag(h, &tag);
	}
	fg_buf_free(&tag.href);
	fg_buf_free(&tag.alt);
	fg_buf_free(&tag.start);
	fg_buf_free(&tag.cls);
	fg_buf_free(&tag.id);
	fg_buf_free(&tag.type);
	fg_buf_free(&tag.style);
	return q;
}

/* fg_html_rtrim - drop trailing white space of a buffer */
static void fg_html_rtrim(struct fg_buf *b)
{
	while (b->len > 0 && fg_html_is_space((unsigned char)b->s[b->len - 1]))
		b->s[--b->len] = '\0';
}

/* fg_html_to_markdown - Markdown of UTF-8 HTML, quote cut off */
char *fg_html_to_markdown(const char *html, size_t len, char **trimmed_r)
{
	struct fg_html h;
	const char *p, *end;

	/* an empty part's bytes may be a NULL pointer */
	if (html == NULL) {
		html = "";
		len = 0;
	}
	p = html;
	end = html + len;
	memset(&h, 0, sizeof(h));
	h.out_max = len * 4 + 65536;
	h.line_start = true;
	h.cut = FG_HTML_NO_CUT;
	while (p < end && !h.full) {
		const char *q;

		if (*p == '<') {
			p = fg_html_markup(&h, p, end);
		} else if (*p == '&') {
			uint32_t cp;

			q = fg_html_reference(p, end, &cp);
			if (cp != 0)
				fg_html_code_point(&h, cp);
			else
				fg_html_text(&h, "&", 1);
			p = q;
		} else {
			for (q = p; q < end && *q != '<' && *q != '&'; q++)
				;
			fg_html_text(&h, p, (size_t)(q - p));
			p = q;
		}
	}
	fg_html_link_end(&h);
	free(h.href);
	if (trimmed_r != NULL)
		*trimmed_r = NULL;
	if (trimmed_r != NULL && h.cut != FG_HTML_NO_CUT &&
	    h.cut < h.out.len) {
		size_t keep = h.cut;

		/* only when the sender wrote something before it */
		while (keep > 0 &&
		       fg_html_is_space((unsigned char)h.out.s[keep - 1]))
			keep--;
		if (keep > 0) {
			const char *t = h.out.s + h.cut;
			struct fg_buf cut = { 0 };

			while (*t != '\0' && fg_html_is_space((unsigned char)*t))
				t++;
			fg_buf_puts(&cut, t);
			fg_html_rtrim(&cut);
			*trimmed_r = fg_buf_steal(&cut);
			h.out.len = keep;
			h.out.s[keep] = '\0';
		}
	}
	/* text written at a line start may have left trailing blanks */
	fg_html_rtrim(&h.out);
	return fg_buf_steal(&h.out);
}

/* fg_html_to_text - Markdown of UTF-8 HTML, nothing cut */
char *fg_html_to_text(const char *html, size_t len)
{
	return fg_html_to_markdown(html, len, NULL);
}

/* fg_html_sniff_charset - charset named by a <meta> element */
char *fg_html_sniff_charset(const char *html, size_t len)
{
	const char *end, *p = html;

	if (html == NULL)
		return NULL;
	end = html + (len < FG_HTML_SNIFF_MAX ? len : FG_HTML_SNIFF_MAX);

	while ((p = fg_html_find_ci(p, end, "<meta")) != NULL) {
		const char *tag_end = memchr(p, '>', (size_t)(end - p));
		const char *c;

		if (tag_end == NULL)
			return NULL;
		c = fg_html_find_ci(p, tag_end, "charset");
		if (c != NULL) {
			const char *v = c + 7, *e;

			while (v < tag_end && fg_html_is_space((unsigned char)*v))
				v++;
			if (v < tag_end && *v == '=') {
				v++;
				while (v < tag_end &&
				       (fg_html_is_space((unsigned char)*v) ||
					*v == '"' || *v == '\''))
					v++;
				for (e = v; e < tag_end && e - v < 40 &&
				     ((*e >= 'a' && *e <= 'z') ||
				      (*e >= 'A' && *e <= 'Z') ||
				      (*e >= '0' && *e <= '9') ||
				      *e == '-' || *e == '_' || *e == '.' ||
				      *e == ':');
				     e++)
					;
				if (e > v)
					return fg_xstrndup(v, (size_t)(e - v));
			}
		}
		p = tag_end;
	}
	return NULL;
}
