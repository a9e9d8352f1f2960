/*
 * NAME
 *	fg-trim 3 - the text a reply adds, without quote and signature
 * DESCRIPTION
 *	See fg-trim.h. A body is looked at line by line (struct
 *	fg_lines) and cut from the end: each trim sees what the one
 *	before left, until none cuts more. Then a quote that the reply
 *	starts with (bottom-posting) is cut when only the author's text
 *	follows it. The words (attributions, "Original Message" and
 *	forward separators, Outlook header blocks, phone signatures) are
 *	tables in fg-trim-lang.c, in the languages of the lists; what is
 *	under a separator or a header block is found in
 *	fg-trim-original.c.
 *
 *	Doubt keeps: an attribution is one only when it ends right above
 *	the quote (or the unmarked original, with a date and time in
 *	it), a wrapped one does not reach over the end of a sentence,
 *	and text between quotes (an inline reply) is never cut.
 *
 *	fg_mail_trim_split() and fg_line_rtrim() serve the rest of the
 *	mail parser, through fg-mail-private.h.
 */
#include "fg-trim.h"
#include "fg-trim-lang.h"
#include "fg-trim-private.h"
#include "fg-mail-private.h"
#include "fg-common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A signature longer than this is more likely content after a "-- "
   line than a signature. */
#define FG_MAIL_SIG_MAX_LINES 15
/* Lines an "On ... wrote:" attribution may be wrapped over. */
#define FG_MAIL_ATTRIB_MAX_LINES 5
/* A line of a wrapped attribution above its last one is this long at
   least: clients wrap near 72 to 78 columns, so a short line above is
   the author's. */
#define FG_MAIL_ATTRIB_WRAP_MIN 30
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

/* fg_line_rtrim - length without trailing white space */
size_t fg_line_rtrim(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

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

/* fg_line_ends_ci - the line, white space cut, ends with word */
static bool fg_line_ends_ci(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	len = fg_line_rtrim(s, len);
	return len >= n && strncasecmp(s + len - n, word, n) == 0;
}

/* fg_lines_have - one of lines [from, to] contains word */
static bool fg_lines_have(const struct fg_lines *lines, size_t from,
			  size_t to, const char *word)
{
	for (size_t i = from; i <= to; i++) {
		if (fg_line_has(lines->start[i], lines->len[i], word))
			return true;
	}
	return false;
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

/* fg_is_digit - an ASCII digit */
static bool fg_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* fg_lines_have_time - one of lines [from, to] has a time ("9:41"):
   what an attribution over an unmarked original always has */
static bool fg_lines_have_time(const struct fg_lines *lines, size_t from,
			       size_t to)
{
	for (size_t i = from; i <= to; i++) {
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		for (size_t k = 1; k + 2 < len; k++) {
			if (s[k] == ':' && fg_is_digit(s[k - 1]) &&
			    fg_is_digit(s[k + 1]) && fg_is_digit(s[k + 2]))
				return true;
		}
	}
	return false;
}

/* fg_line_sentence_end - the line ends a sentence ("works.", "ok!"),
   not an abbreviation of a date ("Oct.", "г.") */
static bool fg_line_sentence_end(const char *s, size_t len)
{
	size_t word = 0;

	len = fg_line_rtrim(s, len);
	if (len == 0)
		return false;
	if (s[len - 1] == '!' || s[len - 1] == '?' || s[len - 1] == ';' ||
	    s[len - 1] == ':')
		return true;
	if (s[len - 1] != '.')
		return false;
	while (word + 1 < len && s[len - 2 - word] != ' ')
		word++;
	return word >= 5;
}

/* fg_mail_attrib_first - the first line of an attribution without a
   word to start it, ending at line last: the lines above it as long
   as they look wrapped (long, no sentence ending, no quote) */
static size_t fg_mail_attrib_first(const struct fg_lines *lines, size_t last)
{
	size_t first = last;

	while (first > 0 && last - first + 1 < FG_MAIL_ATTRIB_MAX_LINES) {
		const char *s = lines->start[first - 1];
		size_t len = lines->len[first - 1];

		if (fg_line_blank(s, len) || fg_line_quoted(s, len) ||
		    len > FG_MAIL_ATTRIB_LINE_MAX ||
		    fg_line_rtrim(s, len) < FG_MAIL_ATTRIB_WRAP_MIN ||
		    fg_line_sentence_end(s, len))
			break;
		first--;
	}
	return first;
}

/* fg_mail_attrib_started - first line of attribution a ending at line
   last, looked for up to its start word; -1 when none */
static long fg_mail_attrib_started(const struct fg_lines *lines, size_t last,
				   const struct fg_trim_attribution *a)
{
	bool has_word = a->word == NULL;

	for (size_t k = 0; k < FG_MAIL_ATTRIB_MAX_LINES && k <= last; k++) {
		size_t i = last - k;
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if (fg_line_blank(s, len) || fg_line_quoted(s, len) ||
		    len > FG_MAIL_ATTRIB_LINE_MAX)
			break;
		/* a wrapped attribution does not go on after a sentence */
		if (k > 0 && fg_line_sentence_end(s, len))
			break;
		if (!has_word)
			has_word = fg_line_has(s, len, a->word);
		if (has_word && fg_line_starts_ci(s, len, a->start))
			/* more than one line: the date makes it sure */
			return k == 0 || fg_lines_have_digit(lines, i, last) ?
				(long)i : -1;
	}
	return -1;
}

/* fg_mail_attrib_addressed - "DATE NAME <ADDR>:", the form without a
   verb (Gmail in Russian and Japanese, and its older ISO date form
   "2016-10-24 15:36 GMT+02:00 NAME <ADDR>:"): first line or -1 */
static long fg_mail_attrib_addressed(const struct fg_lines *lines,
				     size_t last)
{
	const char *s = lines->start[last];
	size_t len = fg_line_rtrim(s, lines->len[last]), first;

	if (len >= 3 && memcmp(s + len - 3, "\xef\xbc\x9a", 3) == 0)
		len -= 3;			/* a full-width colon */
	else if (len >= 1 && s[len - 1] == ':')
		len--;
	else
		return -1;
	len = fg_line_rtrim(s, len);
	if (len == 0 || s[len - 1] != '>')
		return -1;
	first = fg_mail_attrib_first(lines, last);
	if (!fg_lines_have(lines, first, last, "@") ||
	    !fg_lines_have(lines, first, last, "<") ||
	    !fg_lines_have_time(lines, first, last))
		return -1;
	return (long)first;
}

/* fg_mail_attrib_end_word - the end of attribution a without its
   colon ("wrote:" -> "wrote"), as Zoho writes it between dashes */
static size_t fg_mail_attrib_end_word(const struct fg_trim_attribution *a)
{
	size_t n = strlen(a->end);

	if (n >= 3 && strcmp(a->end + n - 3, "\xef\xbc\x9a") == 0)
		return n - 3;
	if (n >= 1 && a->end[n - 1] == ':')
		return n - 1;
	return n;
}

/* fg_mail_zoho_attribution - "---- On DATE NAME <ADDR> wrote ----",
   Zoho's attribution between dashes */
static bool fg_mail_zoho_attribution(const char *s, size_t len)
{
	size_t i = 0, e;

	len = fg_line_rtrim(s, len);
	while (i < len && s[i] == '-')
		i++;
	if (i < 2 || i >= len || s[i] != ' ')
		return false;
	e = len;
	while (e > i && s[e - 1] == '-')
		e--;
	if (len - e < 2 || s[e - 1] != ' ')
		return false;
	while (i < e && s[i] == ' ')
		i++;
	while (e > i && s[e - 1] == ' ')
		e--;
	for (size_t a = 0; fg_trim_attributions[a].start != NULL; a++) {
		const struct fg_trim_attribution *at = &fg_trim_attributions[a];
		size_t n = fg_mail_attrib_end_word(at);

		if (e - i < n || strncasecmp(s + e - n, at->end, n) != 0 ||
		    !fg_line_starts_ci(s + i, e - i, at->start) ||
		    (at->word != NULL && !fg_line_has(s + i, e - i, at->word)))
			continue;
		/* the date makes it sure */
		for (size_t k = i; k < e; k++) {
			if (fg_is_digit(s[k]))
				return true;
		}
	}
	return false;
}

/* fg_mail_attribution - first line of an attribution ending at line
   last, or -1 when line last does not end one; the form without a verb
   only when addressed (right above a "> " quote: alone, "DATE NAME
   <ADDR>:" reads like the author's own text) */
static long fg_mail_attribution(const struct fg_lines *lines, size_t last,
				bool addressed)
{
	const char *s = lines->start[last];
	size_t len = lines->len[last];

	if (len > FG_MAIL_ATTRIB_LINE_MAX || fg_line_blank(s, len) ||
	    fg_line_quoted(s, len))
		return -1;
	if (fg_mail_zoho_attribution(s, len))
		return (long)last;
	for (size_t a = 0; fg_trim_attributions[a].start != NULL; a++) {
		const struct fg_trim_attribution *at = &fg_trim_attributions[a];
		size_t first;
		long found;

		if (!fg_line_ends_ci(s, len, at->end))
			continue;
		if (*at->start != '\0') {
			found = fg_mail_attrib_started(lines, last, at);
			if (found >= 0)
				return found;
			continue;
		}
		first = fg_mail_attrib_first(lines, last);
		if (at->word != NULL &&
		    !fg_lines_have(lines, first, last, at->word))
			continue;
		if (first < last && !fg_lines_have_digit(lines, first, last))
			first = last;
		/* "Jak pisze dokumentacja:" introduces the author's quote;
		   an attribution with a verb alone names a date or an
		   address ("NAME wrote:" is too common to ask that of) */
		if (at->word != NULL &&
		    !fg_lines_have_digit(lines, first, last) &&
		    !fg_lines_have(lines, first, last, "@"))
			continue;
		return (long)first;
	}
	return addressed ? fg_mail_attrib_addressed(lines, last) : -1;
}

/* fg_mail_quoted_attribution - the quoted line is itself an
   attribution ("> On ... wrote:"), as Apple's clients quote it */
static bool fg_mail_quoted_attribution(const char *s, size_t len)
{
	struct fg_lines one;

	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	while (len > 0 && (*s == '>' || *s == ' ')) {
		s++;
		len--;
	}
	one.start = &s;
	one.len = &len;
	one.n = 1;
	return fg_mail_attribution(&one, 0, true) == 0;
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
		} else if (fg_line_quoted(s, len)) {
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
	attrib = fg_mail_attribution(lines, i - 1, true);
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

/* fg_line_underscores - a line of underscores ("____", perhaps with
   the backslash fg_text_escape_plain() puts before a rule) */
static bool fg_line_underscores(const char *s, size_t len)
{
	size_t i = 0, marks = 0;

	len = fg_line_rtrim(s, len);
	if (i < len && s[i] == '\\')
		i++;
	for (; i < len; i++) {
		if (s[i] != '_')
			return false;
		marks++;
	}
	return marks >= 4;
}

/* fg_mail_sig_line - see fg-trim.h */
bool fg_mail_sig_line(const char *s, size_t len)
{
	len = fg_line_rtrim(s, len);
	return (len == 2 && s[0] == '-' && s[1] == '-') ||
		fg_line_underscores(s, len);
}

/* A signature under a "____" line: this many lines at most, none
   longer than FG_MAIL_UNDERSCORE_SIG_WIDTH; a longer text under such a
   line is a section of the author's. */
#define FG_MAIL_UNDERSCORE_SIG_LINES 8
#define FG_MAIL_UNDERSCORE_SIG_WIDTH 100

/* A line of this many words that ends like a sentence is one. */
#define FG_MAIL_SENTENCE_WORDS 6

/* fg_line_sentence - the line is a sentence ("I tried it, it did not
   work."), as a signature's name, title or address are not */
static bool fg_line_sentence(const char *s, size_t len)
{
	size_t words = 0;

	len = fg_line_rtrim(s, len);
	if (len == 0 || (s[len - 1] != '.' && s[len - 1] != '!' &&
			 s[len - 1] != '?'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
			words++;
	}
	return words >= FG_MAIL_SENTENCE_WORDS;
}

/* fg_mail_trim_underscores - number of lines left after cutting a
   signature under a "____" line: a few short lines right under it, no
   quote and no sentence among them, and text above */
static size_t fg_mail_trim_underscores(const struct fg_lines *lines,
				       size_t n)
{
	for (size_t k = 0; k < n && k <= FG_MAIL_UNDERSCORE_SIG_LINES; k++) {
		size_t i = n - 1 - k;
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if (fg_line_quoted(s, len))
			return n;
		if (k == 0 || !fg_line_underscores(s, len)) {
			if (fg_line_rtrim(s, len) > FG_MAIL_UNDERSCORE_SIG_WIDTH ||
			    fg_line_sentence(s, len))
				return n;
			continue;
		}
		/* "____", an empty line, then text: a new section */
		if (fg_line_blank(lines->start[i + 1], lines->len[i + 1]))
			return n;
		for (size_t j = 0; j < i; j++) {
			if (!fg_line_blank(lines->start[j], lines->len[j]))
				return i;
		}
		return n;
	}
	return n;
}

/* A mobile signature line is short; a longer line is content. */
#define FG_MAIL_MOBILE_SIG_MAX 80
/* Nor does it say more after its first words than a device's name. */
#define FG_MAIL_MOBILE_SIG_REST 40

/* fg_mail_mobile_sig - the line is a phone's or webmail's signature:
   its words, then a device's or an app's name, no sentence */
static bool fg_mail_mobile_sig(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	len = fg_line_rtrim(s, len);
	if (len > FG_MAIL_MOBILE_SIG_MAX || i >= len)
		return false;
	for (size_t k = 0; fg_trim_mobile_prefixes[k] != NULL; k++) {
		const char *prefix = fg_trim_mobile_prefixes[k];
		size_t rest = i + strlen(prefix);

		if (!fg_line_starts_ci(s + i, len - i, prefix))
			continue;
		/* "Sent from my experience, this works" is a sentence */
		if (len - rest > FG_MAIL_MOBILE_SIG_REST ||
		    memchr(s + rest, ',', len - rest) != NULL)
			return false;
		return true;
	}
	for (size_t k = 0; fg_trim_mobile_suffixes[k] != NULL; k++) {
		if (fg_line_ends_ci(s + i, len - i, fg_trim_mobile_suffixes[k]) &&
		    len - i <= FG_MAIL_MOBILE_SIG_REST)
			return true;
	}
	return false;
}

/* fg_mail_trim_unquoted - number of lines left after cutting an
   attribution ("On ... wrote:", with a date and a time) and the
   unmarked text after it, as phones send the message replied to; only
   when no line after it is a "> " quote (that would be an inline
   reply) */
static size_t fg_mail_trim_unquoted(const struct fg_lines *lines, size_t n)
{
	size_t limit = n > 400 ? n - 400 : 0;

	for (size_t i = n; i > limit; i--) {
		const char *s = lines->start[i - 1];
		size_t len = lines->len[i - 1];
		long attrib;

		if (fg_line_quoted(s, len))
			return n;
		attrib = fg_mail_attribution(lines, i - 1, false);
		if (attrib > 0 && fg_lines_have_time(lines, (size_t)attrib,
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
   signature, a paragraph of its own on the last line */
static size_t fg_mail_trim_mobile(const struct fg_lines *lines, size_t n)
{
	if (n > 2 && fg_mail_mobile_sig(lines->start[n - 1], lines->len[n - 1]) &&
	    (fg_line_blank(lines->start[n - 2], lines->len[n - 2]) ||
	     fg_mail_trim_signature(lines, n) == n - 2))
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

/* fg_lines_skip_blank - the first line from i on that is not blank */
static size_t fg_lines_skip_blank(const struct fg_lines *lines, size_t i,
				  size_t n)
{
	while (i < n && fg_line_blank(lines->start[i], lines->len[i]))
		i++;
	return i;
}

/* fg_mail_trim_leading - the first line kept after cutting the quote
   a bottom-posted reply starts with: an attribution (or a quote whose
   first line is one), the quote, then the author's text with no quote
   in it. 0 when the body is not so. */
static size_t fg_mail_trim_leading(const struct fg_lines *lines, size_t n)
{
	size_t i = fg_lines_skip_blank(lines, 0, n), q = n, k;

	if (i >= n)
		return 0;
	if (fg_line_quoted(lines->start[i], lines->len[i])) {
		if (!fg_mail_quoted_attribution(lines->start[i],
						lines->len[i]))
			return 0;
		q = i;
	} else {
		for (size_t j = i; j < n && j < i + FG_MAIL_ATTRIB_MAX_LINES;
		     j++) {
			if (fg_line_blank(lines->start[j], lines->len[j]))
				break;
			if (fg_mail_attribution(lines, j, true) == (long)i) {
				q = fg_lines_skip_blank(lines, j + 1, n);
				break;
			}
		}
		if (q >= n || !fg_line_quoted(lines->start[q], lines->len[q]))
			return 0;
	}
	for (k = q; k < n; k++) {
		if (!fg_line_blank(lines->start[k], lines->len[k]) &&
		    !fg_line_quoted(lines->start[k], lines->len[k]))
			break;
	}
	if (k >= n)
		return 0;
	for (size_t m = k; m < n; m++) {
		if (fg_line_quoted(lines->start[m], lines->len[m]))
			return 0;
	}
	return k;
}

/* fg_mail_trailing_quote - the first line of a quote block that ends
   the text [first, n) when the author's text above has no quote (not
   an inline reply); n when there is none */
static size_t fg_mail_trailing_quote(const struct fg_lines *lines,
				     size_t first, size_t n)
{
	size_t q = n;
	bool text = false;

	while (q > first && (fg_line_blank(lines->start[q - 1],
					   lines->len[q - 1]) ||
			     fg_line_quoted(lines->start[q - 1],
					    lines->len[q - 1])))
		q--;
	q = fg_lines_skip_blank(lines, q, n);
	if (q >= n)
		return n;
	for (size_t i = first; i < q; i++) {
		if (fg_line_quoted(lines->start[i], lines->len[i]))
			return n;
		if (!fg_line_blank(lines->start[i], lines->len[i]))
			text = true;
	}
	return text ? q : n;
}

/* fg_lines_join - lines [first, n) as text, blank edges left out */
static char *fg_lines_join(const struct fg_lines *lines, size_t first,
			   size_t n)
{
	struct fg_buf out = { 0 };

	n = fg_lines_strip_blank(lines, n);
	first = fg_lines_skip_blank(lines, first, n);
	for (size_t i = first; i < n; i++) {
		if (i > first)
			fg_buf_putc(&out, '\n');
		fg_buf_append(&out, lines->start[i],
			      fg_line_rtrim(lines->start[i], lines->len[i]) ==
			      0 ? 0 : lines->len[i]);
	}
	return fg_buf_steal(&out);
}

/* fg_mail_trim_tail - number of lines left after cutting signatures
   from the end, until none cuts more */
static size_t fg_mail_trim_tail(const struct fg_lines *lines, size_t n)
{
	size_t before;

	do {
		before = n;
		n = fg_lines_strip_blank(lines, n);
		n = fg_mail_trim_signature(lines, n);
		n = fg_lines_strip_blank(lines, n);
		n = fg_mail_trim_underscores(lines, n);
		n = fg_lines_strip_blank(lines, n);
		n = fg_mail_trim_mobile(lines, n);
	} while (n < before && n > 0);
	return fg_lines_strip_blank(lines, n);
}

/* fg_mail_only_mobile - lines [first, n) are a phone's signature and
   nothing else */
static bool fg_mail_only_mobile(const struct fg_lines *lines, size_t first,
				size_t n)
{
	first = fg_lines_skip_blank(lines, first, n);
	return first + 1 == n &&
		fg_mail_mobile_sig(lines->start[first], lines->len[first]);
}

/* fg_cut_add - append part to the cut text, an empty line between */
static void fg_cut_add(struct fg_buf *cut, char *part)
{
	if (*part != '\0') {
		if (cut->len > 0)
			fg_buf_puts(cut, "\n\n");
		fg_buf_puts(cut, part);
	}
	free(part);
}

/* fg_mail_trim_split_quote - see fg-mail-private.h */
char *fg_mail_trim_split_quote(const char *text, bool forward,
			       char **cut_r, char **quote_r)
{
	struct fg_lines lines;
	size_t first = 0, n, end, before, q, sig;
	bool whole = false;
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
		n = fg_mail_trim_tail(&lines, n);
	} while (n < before && n > 0);
	if (n == 0) {
		/* nothing but quote and signature: better post it all
		   than an empty post */
		n = lines.n;
		whole = true;
	} else {
		first = fg_mail_trim_leading(&lines, n);
	}
	/* a quote that ends the text without attribution is set apart;
	   the text above it without its signature ("Sent from my
	   iPhone" above the quote) is the reply, unless that leaves
	   nothing */
	end = sig = n;
	*quote_r = NULL;
	q = whole ? end : fg_mail_trailing_quote(&lines, first, end);
	if (q < end)
		sig = fg_mail_trim_tail(&lines, q);
	if (q < end && sig > first && !fg_mail_only_mobile(&lines, first, sig)) {
		*quote_r = fg_lines_join(&lines, q, end);
		n = q;
	} else {
		sig = end;
	}
	kept = fg_lines_join(&lines, first, sig < n ? sig : n);
	if (cut_r != NULL) {
		struct fg_buf cut = { 0 };

		fg_cut_add(&cut, fg_lines_join(&lines, 0, first));
		if (sig < n)
			fg_cut_add(&cut, fg_lines_join(&lines, sig, n));
		fg_cut_add(&cut, fg_lines_join(&lines, end, lines.n));
		*cut_r = cut.s != NULL ? fg_buf_steal(&cut) : fg_xstrdup("");
	}
	free(lines.start);
	free(lines.len);
	return kept;
}

/* fg_mail_trim_split - see fg-mail-private.h; the trailing quote
   stays, after an empty line as fg_mail_parse() puts it */
char *fg_mail_trim_split(const char *text, bool forward, char **cut_r)
{
	char *quote, *kept, *both;

	kept = fg_mail_trim_split_quote(text, forward, cut_r, &quote);
	if (quote == NULL)
		return kept;
	both = fg_xasprintf("%s\n\n%s", kept, quote);
	free(kept);
	free(quote);
	return both;
}

/* fg_mail_trim_body - cut trailing quote and signature */
char *fg_mail_trim_body(const char *text)
{
	return fg_mail_trim_split(text, false, NULL);
}
