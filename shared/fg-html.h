#ifndef FG_HTML_H
#define FG_HTML_H
/*
 * NAME
 *	fg-html 3 - plain text of an HTML mail body
 * SYNOPSIS
 *	#include "fg-html.h"
 *
 *	char *fg_html_to_text(const char *html, size_t len);
 *	char *fg_html_to_markdown(const char *html, size_t len,
 *				  char **trimmed_r);
 *	char *fg_html_sniff_charset(const char *html, size_t len);
 * DESCRIPTION
 *	fg_html_to_text() turns the HTML of an HTML-only mail into
 *	Markdown that also reads well as plain text: paragraphs and
 *	headings become blank-line separated blocks ("# " for headings),
 *	<br> a line break, lists "- " or "1. " items, <blockquote> "> "
 *	lines, <pre> a ``` fence, <b>/<strong> "**", <i>/<em> "*",
 *	<code>/<tt>/<kbd> "`", a link "[text](url)" (just the text when it
 *	already is the URL; "text (url)" when the text is long or spans
 *	lines), an image its alt text. Scripts, styles,
 *	<head> and comments (Outlook's conditional comments included) are
 *	dropped; character references are decoded. The input must be
 *	UTF-8 and the output is UTF-8; the caller frees it.
 *
 *	fg_html_to_markdown() does the same and also finds the quote of
 *	the message replied to by the markers mail clients put into their
 *	HTML: Gmail's gmail_quote, gmail_attr and gmail_signature,
 *	Thunderbird's moz-cite-prefix and moz-signature, Apple Mail's
 *	AppleMailSignature and <blockquote type="cite">, Outlook's
 *	divRplyFwdMsg (and its Outlook for Mac and web forms), Yahoo's and
 *	Proton's quote containers. A marker starts the cut when nothing
 *	the sender wrote follows it outside quotes and attribution lines
 *	(an inline reply keeps its quotes as "> " lines); Outlook's header
 *	block always does, since Outlook quotes the old message as plain
 *	paragraphs. When trimmed_r is not NULL, the Markdown from the cut
 *	on is stored there (or NULL when nothing was cut) and left out of
 *	the result; the cut is never made when nothing would be left.
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

/* fg_html_to_text - Markdown of UTF-8 HTML */
char *fg_html_to_text(const char *html, size_t len);

/* fg_html_to_markdown - Markdown of UTF-8 HTML, trailing quote cut */
char *fg_html_to_markdown(const char *html, size_t len, char **trimmed_r);

/* fg_html_sniff_charset - charset named by a <meta> element, or NULL */
char *fg_html_sniff_charset(const char *html, size_t len);

#endif
