#ifndef FG_HTML_H
#define FG_HTML_H
/*
 * NAME
 *	fg-html 3 - plain text of an HTML mail body
 * SYNOPSIS
 *	#include "fg-html.h"
 *
 *	char *fg_html_to_text(const char *html, size_t len);
 *	char *fg_html_sniff_charset(const char *html, size_t len);
 * DESCRIPTION
 *	fg_html_to_text() turns the HTML of an HTML-only mail into text
 *	that reads well as a forum post and as Markdown: paragraphs and
 *	headings become blank-line separated blocks ("# " for headings),
 *	<br> a line break, lists "- " or "1. " items, <blockquote> "> "
 *	lines, <pre> a ``` fence, a link "text (url)" (just the text when
 *	it already is the URL), an image its alt text. Scripts, styles,
 *	<head> and comments (Outlook's conditional comments included) are
 *	dropped; character references are decoded. The input must be
 *	UTF-8 and the output is UTF-8; the caller frees it.
 *
 *	fg_html_sniff_charset() finds the charset a <meta> element of the
 *	first few KB declares, for HTML parts whose Content-Type names
 *	none. It returns NULL or an allocated name.
 *
 *	This is deliberately not a full HTML5 parser, and not libxml2:
 *	libxml2 pulls ICU into every process that loads the library, and
 *	the Dovecot plugin runs inside every lmtp process. Measured on
 *	Dovecot 2.3.19: address space per lmtp process grows from about
 *	12.5 to 58.6 MB, and with vsz_limit = 48M the plugin no longer
 *	loads ("libicudata.so.72: failed to map segment").
 *	Mail HTML only needs its text and its block structure, which a
 *	single forward pass gets without building a tree.
 * BOUNDS
 *	One pass over the input, no recursion. Tag names, attribute
 *	values, quote and list nesting are capped, and the output stops
 *	growing at four times the input plus 64 KB, so hostile HTML
 *	costs time and memory linear in its size. Unterminated tags and
 *	comments at the end of the input are dropped.
 */
#include <stddef.h>

/* fg_html_to_text - Markdown-ish plain text of UTF-8 HTML */
char *fg_html_to_text(const char *html, size_t len);

/* fg_html_sniff_charset - charset named by a <meta> element, or NULL */
char *fg_html_sniff_charset(const char *html, size_t len);

#endif
