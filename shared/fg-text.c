/*
 * NAME
 *	fg-text 3 - the text of a post in the markup its forum wants
 * DESCRIPTION
 *	See fg-text.h. The renderer reads the Markdown line by line:
 *	block state (quote depth, fence, paragraph) carries from line to
 *	line, inline markup is resolved within one line.
 */
#include "fg-text.h"
#include "fg-common.h"

#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

/* Quote levels rendered as nested blocks; deeper ones stay flat. */
#define FG_TEXT_QUOTE_MAX 8
/* How far an inline closer is looked for: keeps a line full of
   unclosed "[" or "*" linear. */
#define FG_TEXT_SPAN_MAX 2048

/* fg_text_format_parse - "markdown", "bbcode" or "html" */
int fg_text_format_parse(const char *name, enum fg_text_format *format_r)
{
	if (name == NULL || *name == '\0' ||
	    strcasecmp(name, "markdown") == 0)
		*format_r = FG_TEXT_MARKDOWN;
	else if (strcasecmp(name, "bbcode") == 0)
		*format_r = FG_TEXT_BBCODE;
	else if (strcasecmp(name, "html") == 0)
		*format_r = FG_TEXT_HTML;
	else
		return -1;
	return 0;
}

/* fg_text_format_name - the name of a format */
const char *fg_text_format_name(enum fg_text_format format)
{
	switch (format) {
	case FG_TEXT_MARKDOWN: return "markdown";
	case FG_TEXT_BBCODE: return "bbcode";
	case FG_TEXT_HTML: return "html";
	}
	return "markdown";
}

/* fg_text_rule_line - the line is only '-', '=', '*' or '_' (and
   spaces), three or more: a rule or a heading underline */
static bool fg_text_rule_line(const char *s, size_t len)
{
	size_t marks = 0;
	char c = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] != '-' && s[i] != '=' && s[i] != '*' && s[i] != '_')
			return false;
		if (c != 0 && s[i] != c)
			return false;
		c = s[i];
		marks++;
	}
	return marks >= 3;
}

/* fg_text_heading_line - the line starts like an ATX heading */
static bool fg_text_heading_line(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && i < 3 && s[i] == ' ')
		i++;
	if (i >= len || s[i] != '#')
		return false;
	while (i < len && s[i] == '#')
		i++;
	return i == len || s[i] == ' ' || s[i] == '\t';
}

/* fg_text_prompt_line - "# command", as a root shell prompt reads:
   one '#' and a space (Markdown headings of two and more '#' are kept,
   as senders who write Markdown mean them) */
static bool fg_text_prompt_line(const char *s, size_t len)
{
	return len >= 2 && s[0] == '#' && s[1] == ' ';
}

/* fg_text_fence - the length of the ``` or ~~~ run a line starts
   with (at most 3 spaces in), 0 when it opens no fence */
static size_t fg_text_fence(const char *s, size_t len, char *ch_r)
{
	size_t i = 0, n = 0;

	while (i < len && i < 3 && s[i] == ' ')
		i++;
	if (i >= len || (s[i] != '`' && s[i] != '~'))
		return 0;
	*ch_r = s[i];
	while (i + n < len && s[i + n] == *ch_r)
		n++;
	return n >= 3 ? n : 0;
}

/* fg_text_indent - columns of white space a line starts with after
   its quote marks (and the one space after them); a tab counts 4 */
static size_t fg_text_indent(const char *s, size_t len)
{
	size_t i = 0, cols = 0, last_mark = len;

	for (size_t k = 0; k < len && (s[k] == '>' || s[k] == ' '); k++) {
		if (s[k] == '>')
			last_mark = k;
	}
	if (last_mark < len) {
		i = last_mark + 1;
		if (i < len && s[i] == ' ')
			i++;
	}
	for (; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		cols += s[i] == '\t' ? 4 : 1;
	return cols;
}

/* fg_text_escape_plain - plain text that reads the same as Markdown;
   code (fenced, or indented after a blank line) is shown as it is,
   so it gets no escape */
char *fg_text_escape_plain(const char *text)
{
	struct fg_buf out = { 0 };
	const char *p = text != NULL ? text : "";
	bool prev_text = false, prev_blank = true, indented = false;
	size_t fence = 0;
	char fence_ch = 0;

	for (;;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		size_t q = 0, run;
		bool blank, code = false;
		char ch;

		/* look behind the quote marks of a quoted line */
		while (q < len && (p[q] == '>' || p[q] == ' '))
			q++;
		blank = q == len;
		run = fg_text_fence(p + q, len - q, &ch);
		if (fence > 0) {
			code = true;
			if (run >= fence && ch == fence_ch)
				fence = 0;	/* the closing fence */
		} else if (run > 0) {
			code = true;
			fence = run;
			fence_ch = ch;
		} else if (!blank && fg_text_indent(p, len) >= 4 &&
			   (indented || (prev_blank && !prev_text))) {
			code = true;
		}
		if (!blank)
			indented = code && fence == 0 && run == 0;
		fg_buf_append(&out, p, q);
		if (!code && (fg_text_prompt_line(p + q, len - q) ||
			      (prev_text && fg_text_rule_line(p + q,
							      len - q)))) {
			/* "---" or "===" under a line would make a heading */
			fg_buf_putc(&out, '\\');
		}
		fg_buf_append(&out, p + q, len - q);
		prev_text = !code && !blank &&
			!fg_text_rule_line(p + q, len - q);
		prev_blank = blank;
		if (eol == NULL)
			break;
		fg_buf_putc(&out, '\n');
		p = eol + 1;
	}
	return fg_buf_steal(&out);
}

/* fg_text_escape_char - one character of text in the target markup */
static void fg_text_escape_char(struct fg_buf *out, char c,
				enum fg_text_format format)
{
	if (format == FG_TEXT_HTML) {
		switch (c) {
		case '&': fg_buf_puts(out, "&amp;"); return;
		case '<': fg_buf_puts(out, "&lt;"); return;
		case '>': fg_buf_puts(out, "&gt;"); return;
		case '"': fg_buf_puts(out, "&quot;"); return;
		}
	}
	fg_buf_putc(out, c);
}

/* fg_text_escape_span - text in the target markup */
static void fg_text_escape_span(struct fg_buf *out, const char *s, size_t n,
				enum fg_text_format format)
{
	for (size_t i = 0; i < n; i++)
		fg_text_escape_char(out, s[i], format);
}

/* fg_text_find - the next occurrence of mark in s[from, len), not
   preceded by a backslash, or len */
static size_t fg_text_find(const char *s, size_t from, size_t len,
			   const char *mark)
{
	size_t n = strlen(mark), stop = len;

	if (stop - from > FG_TEXT_SPAN_MAX)
		stop = from + FG_TEXT_SPAN_MAX;
	for (size_t i = from; i + n <= stop; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (memcmp(s + i, mark, n) == 0)
			return i;
	}
	return len;
}

/* fg_text_url_ok - a link target worth making a link */
static bool fg_text_url_ok(const char *s, size_t n)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "mailto:",
	};

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '<' ||
		    s[i] == '>' || s[i] == '[' || s[i] == ']')
			return false;
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(schemes); i++) {
		size_t len = strlen(schemes[i]);
		if (n > len && strncasecmp(s, schemes[i], len) == 0)
			return true;
	}
	return false;
}

static const char *const fg_text_tags[][2][2] = {
	/* { { bbcode open, close }, { html open, close } } */
	{ { "[b]", "[/b]" }, { "<b>", "</b>" } },
	{ { "[i]", "[/i]" }, { "<i>", "</i>" } },
	{ { "[font=monospace]", "[/font]" }, { "<code>", "</code>" } },
};
enum { FG_TAG_B, FG_TAG_I, FG_TAG_CODE };

/* fg_text_tag - the open or close tag of an inline element */
static const char *fg_text_tag(int tag, bool close,
			       enum fg_text_format format)
{
	return fg_text_tags[tag][format == FG_TEXT_HTML ? 1 : 0][close];
}

/* fg_text_inline - one line of Markdown inline markup, rendered; bold
   and italic open only when their closer is on the same line */
static void fg_text_inline(struct fg_buf *out, const char *s, size_t len,
			   enum fg_text_format format, bool links)
{
	bool bold = false, italic = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		size_t j, k;

		if (c == '\\' && i + 1 < len &&
		    strchr("\\`*_{}[]()#+-.!>|=~", s[i + 1]) != NULL) {
			fg_text_escape_char(out, s[++i], format);
		} else if (c == '`' &&
			   (j = fg_text_find(s, i + 1, len, "`")) < len) {
			fg_buf_puts(out, fg_text_tag(FG_TAG_CODE, false, format));
			fg_text_escape_span(out, s + i + 1, j - i - 1, format);
			fg_buf_puts(out, fg_text_tag(FG_TAG_CODE, true, format));
			i = j;
		} else if (c == '*' && i + 1 < len && s[i + 1] == '*' &&
			   (bold || (i + 2 < len && s[i + 2] != ' ' &&
				     fg_text_find(s, i + 2, len, "**") < len))) {
			fg_buf_puts(out, fg_text_tag(FG_TAG_B, bold, format));
			bold = !bold;
			i++;
		} else if (c == '*' &&
			   (italic || (i + 1 < len && s[i + 1] != ' ' &&
				       fg_text_find(s, i + 1, len, "*") < len))) {
			fg_buf_puts(out, fg_text_tag(FG_TAG_I, italic, format));
			italic = !italic;
		} else if (c == '[' && links &&
			   (j = fg_text_find(s, i + 1, len, "](")) < len &&
			   (k = fg_text_find(s, j + 2, len, ")")) < len &&
			   fg_text_url_ok(s + j + 2, k - j - 2)) {
			const char *url = s + j + 2;
			size_t url_len = k - j - 2;

			if (format == FG_TEXT_HTML) {
				fg_buf_puts(out, "<a href=\"");
				fg_text_escape_span(out, url, url_len, format);
				fg_buf_puts(out, "\">");
			} else {
				fg_buf_puts(out, "[url=");
				fg_buf_append(out, url, url_len);
				fg_buf_puts(out, "]");
			}
			fg_text_inline(out, s + i + 1, j - i - 1, format, false);
			fg_buf_puts(out, format == FG_TEXT_HTML ? "</a>" :
				    "[/url]");
			i = k;
		} else {
			fg_text_escape_char(out, c, format);
		}
	}
	/* an emphasis the line did not close after all */
	if (italic)
		fg_buf_puts(out, fg_text_tag(FG_TAG_I, true, format));
	if (bold)
		fg_buf_puts(out, fg_text_tag(FG_TAG_B, true, format));
}

/* The block state of the renderer between lines. */
struct fg_text_blocks {
	struct fg_buf *out;
	enum fg_text_format format;
	unsigned int quote;	/* quote blocks open */
	bool para;		/* a paragraph is open (HTML <p>) */
	bool fence;		/* inside ``` */
	bool line;		/* a line of the paragraph was written */
};

/* fg_text_para_end - close an open paragraph */
static void fg_text_para_end(struct fg_text_blocks *b)
{
	if (!b->para)
		return;
	if (b->format == FG_TEXT_HTML)
		fg_buf_puts(b->out, "</p>\n");
	else
		fg_buf_puts(b->out, "\n\n");
	b->para = false;
	b->line = false;
}

/* fg_text_quote_to - open or close quote blocks to reach depth */
static void fg_text_quote_to(struct fg_text_blocks *b, unsigned int depth)
{
	if (depth > FG_TEXT_QUOTE_MAX)
		depth = FG_TEXT_QUOTE_MAX;
	if (depth == b->quote)
		return;
	fg_text_para_end(b);
	/* a closing [/quote] follows its last line directly */
	while (b->quote > depth && b->out->len >= 2 &&
	       b->out->s[b->out->len - 1] == '\n' &&
	       b->out->s[b->out->len - 2] == '\n')
		b->out->s[--b->out->len] = '\0';
	while (b->quote > depth) {
		fg_buf_puts(b->out, b->format == FG_TEXT_HTML ?
			    "</blockquote>\n" : "[/quote]\n");
		b->quote--;
	}
	while (b->quote < depth) {
		fg_buf_puts(b->out, b->format == FG_TEXT_HTML ?
			    "<blockquote>\n" : "[quote]\n");
		b->quote++;
	}
}

/* fg_text_block_line - one line of Markdown */
static void fg_text_block_line(struct fg_text_blocks *b, const char *s,
			       size_t len)
{
	bool html = b->format == FG_TEXT_HTML;
	unsigned int depth = 0;
	size_t i = 0;

	if (b->fence) {
		if (len >= 3 && memcmp(s, "```", 3) == 0) {
			fg_buf_puts(b->out, html ? "</pre>\n" : "[/code]\n");
			b->fence = false;
			return;
		}
		fg_text_escape_span(b->out, s, len, b->format);
		fg_buf_putc(b->out, '\n');
		return;
	}
	while (i < len && s[i] == '>') {
		depth++;
		i++;
		if (i < len && s[i] == ' ')
			i++;
	}
	s += i;
	len -= i;
	fg_text_quote_to(b, depth);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0) {
		fg_text_para_end(b);
		return;
	}
	if (len >= 3 && memcmp(s, "```", 3) == 0) {
		fg_text_para_end(b);
		fg_buf_puts(b->out, html ? "<pre>" : "[code]\n");
		b->fence = true;
		return;
	}
	if (fg_text_heading_line(s, len)) {
		size_t level = 0;

		fg_text_para_end(b);
		while (level < len && s[level] == '#')
			level++;
		if (level > 6)
			level = 6;
		s += level;
		len -= level;
		while (len > 0 && *s == ' ') {
			s++;
			len--;
		}
		fg_buf_printf(b->out, html ? "<h%zu>" : "[b]", level);
		fg_text_inline(b->out, s, len, b->format, true);
		fg_buf_printf(b->out, html ? "</h%zu>\n" : "[/b]\n\n", level);
		return;
	}
	if (fg_text_rule_line(s, len) && (s[0] == '-' || s[0] == '*' ||
					  s[0] == '_')) {
		fg_text_para_end(b);
		fg_buf_puts(b->out, html ? "<hr>\n" : "[hr]\n");
		return;
	}
	if (!b->para) {
		if (html)
			fg_buf_puts(b->out, "<p>");
		b->para = true;
	} else if (b->line) {
		fg_buf_puts(b->out, html ? "<br>\n" : "\n");
	}
	fg_text_inline(b->out, s, len, b->format, true);
	b->line = true;
}

/* fg_text_render - Markdown in the forum's markup */
char *fg_text_render(const char *markdown, enum fg_text_format format)
{
	struct fg_buf out = { 0 };
	struct fg_text_blocks b = { &out, format, 0, false, false, false };
	const char *p = markdown != NULL ? markdown : "";

	if (format == FG_TEXT_MARKDOWN)
		return fg_xstrdup(p);
	for (;;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		fg_text_block_line(&b, p, len);
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (b.fence)
		fg_buf_puts(&out, format == FG_TEXT_HTML ? "</pre>\n" :
			    "[/code]\n");
	fg_text_para_end(&b);
	fg_text_quote_to(&b, 0);
	while (out.len > 0 && out.s[out.len - 1] == '\n')
		out.s[--out.len] = '\0';
	return fg_buf_steal(&out);
}

/* fg_text_details - Markdown as a collapsed block with a summary */
char *fg_text_details(const char *summary, const char *markdown,
		      enum fg_text_format format)
{
	char *inner = fg_text_render(markdown, format), *s;
	struct fg_buf sum = { 0 };

	/* the summary is one line of plain text inside quotes */
	for (const char *p = summary; *p != '\0'; p++) {
		if (*p == '"' || *p == '[' || *p == ']' || *p == '\n')
			continue;
		fg_text_escape_char(&sum, *p, format);
	}
	if (sum.s == NULL)
		fg_buf_puts(&sum, "");
	switch (format) {
	case FG_TEXT_HTML:
		s = fg_xasprintf("<details><summary>%s</summary>\n%s\n"
				 "</details>", sum.s, inner);
		break;
	case FG_TEXT_BBCODE:
		s = fg_xasprintf("[spoiler=\"%s\"]\n%s\n[/spoiler]", sum.s,
				 inner);
		break;
	default:
		s = fg_xasprintf("[details=\"%s\"]\n%s\n[/details]", sum.s,
				 inner);
		break;
	}
	fg_buf_free(&sum);
	free(inner);
	return s;
}
