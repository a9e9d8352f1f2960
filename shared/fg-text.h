#ifndef FG_TEXT_H
#define FG_TEXT_H
/*
 * NAME
 *	fg-text 3 - the text of a post in the markup its forum wants
 * SYNOPSIS
 *	#include "fg-text.h"
 *
 *	int fg_text_format_parse(const char *name,
 *				 enum fg_text_format *format_r);
 *	const char *fg_text_format_name(enum fg_text_format format);
 *	char *fg_text_escape_plain(const char *text);
 *	char *fg_text_render(const char *markdown,
 *			     enum fg_text_format format);
 *	char *fg_text_details(const char *summary, const char *markdown,
 *			      enum fg_text_format format);
 * DESCRIPTION
 *	The body of a list message is worked on as Markdown: the HTML
 *	converter writes Markdown, and quote and signature trimming works
 *	on its "> " lines. This module turns that Markdown into what a
 *	forum takes (setting post_format): Markdown as it is (Discourse,
 *	NodeBB), BBCode, or HTML.
 *
 *	fg_text_escape_plain() keeps plain text (a text/plain part) from
 *	turning into headings by accident when read as Markdown: a line
 *	"# postconf -n" (a root prompt, one '#' and a space) and a "---"
 *	or "===" line right under a line of text (which would underline
 *	it into a heading) get a backslash in front. Other Markdown is
 *	left as the sender wrote it ("## Title" stays a heading, **bold**
 *	stays bold); quote lines ("> ") stay quotes. Code gets no escape,
 *	since Markdown shows a backslash there: the lines of a ``` or ~~~
 *	fence (up to its closing fence, or the end) and lines indented by
 *	four columns after a blank line (and the lines after them).
 *
 *	fg_text_render() converts the Markdown subset that this project
 *	writes: paragraphs and line breaks, "> " quotes (nested), ```
 *	fences, "#" headings, "---" rules, **bold**, *italic*, `code`,
 *	[text](url) links with http, https, ftp or mailto URLs, and
 *	backslash escapes. BBCode gets [quote], [code], [b], [i],
 *	[url=...]; HTML gets <p>, <br>, <blockquote>, <pre>, <hN>, <hr>,
 *	<b>, <i>, <code> and <a href>, with every other character of the
 *	text escaped, so the result carries no markup the mail did not
 *	ask for. For FG_TEXT_MARKDOWN it returns a copy.
 *
 *	fg_text_details() renders markdown as a collapsed block with a
 *	summary line: Discourse's [details="summary"]...[/details] for
 *	Markdown, [spoiler="summary"]...[/spoiler] for BBCode and
 *	<details><summary>...</summary>...</details> for HTML.
 * BOUNDS
 *	One pass per line; emphasis and link closers are looked for on
 *	the same line only, so the cost is linear in the length of a line
 *	times a small constant, whatever the input.
 * DIAGNOSTICS
 *	fg_text_format_parse() returns -1 for an unknown name. The
 *	strings returned are allocated; the caller frees them.
 */

enum fg_text_format {
	FG_TEXT_MARKDOWN,
	FG_TEXT_BBCODE,
	FG_TEXT_HTML,
};

/* fg_text_format_parse - "markdown", "bbcode" or "html" */
int fg_text_format_parse(const char *name, enum fg_text_format *format_r);
/* fg_text_format_name - the name of a format */
const char *fg_text_format_name(enum fg_text_format format);
/* fg_text_escape_plain - plain text that reads the same as Markdown */
char *fg_text_escape_plain(const char *text);
/* fg_text_render - Markdown in the forum's markup */
char *fg_text_render(const char *markdown, enum fg_text_format format);
/* fg_text_details - Markdown as a collapsed block with a summary */
char *fg_text_details(const char *summary, const char *markdown,
		      enum fg_text_format format);

#endif
