#ifndef FG_FOOTER_H
#define FG_FOOTER_H
/*
 * NAME
 *	fg-footer 3 - the footer a list manager appends to list mail
 * SYNOPSIS
 *	#include "fg-footer.h"
 *
 *	char *fg_footer_cut(const char *text, const char *declared,
 *			    char **footer_r);
 *	bool fg_footer_only(const char *text, const char *declared);
 *	size_t fg_footer_html_start(const char *html, size_t len);
 * DESCRIPTION
 *	A list manager appends its boilerplate (how to unsubscribe, where
 *	the archive is) to every message it distributes: as trailing
 *	text of the message's text, or as a MIME part of its own. A forum
 *	post carries none of it, and quote trimming needs the quote to be
 *	the end of the text, so the footer is cut first.
 *
 *	Recognised without configuration, each by its separator line
 *	followed, to the end of the text, by a few lines of which one
 *	carries the list manager's wording or addresses:
 *
 *	Mailman 3: a line of underscores, then "NAME mailing list --
 *	LIST@DOMAIN" and "To unsubscribe send an email to
 *	LIST-leave@DOMAIN" (list:member:regular:footer and its
 *	translations, which all name the -leave address).
 *
 *	Mailman 2: a line of underscores, then "NAME mailing list",
 *	"LIST@HOST" and the list's listinfo URL (msg_footer); Mailman 1's
 *	dashed "NAME maillist" form too.
 *
 *	Google Groups: "-- " (or its old "--~--~---" frame), then "You
 *	received this message because you are subscribed to the Google
 *	Groups ..." with the group's googlegroups.com addresses and
 *	groups.google.com links, in any language.
 *
 *	groups.io: "-=-=-=-=-=-=-=-=-=-=-=-", then "Groups.io Links: ..."
 *	to the closing "-=-=-" line.
 *
 *	LISTSERV: a line of '#', then "To unsubscribe from the LIST list,
 *	click the following link:" and its wa?SUBED1= URL (and JISCMail's
 *	wording for it).
 *
 *	Sympa: a separator line ("-- ", dashes, underscores), then lines
 *	with Sympa's command address (sympa@) or web interface links
 *	(/sympa/, /wws/).
 *
 *	mlmmj (1.3) appends its control/footer verbatim to the raw
 *	message (after the last boundary of a multipart one, where it is
 *	not text) and mlmmj-make-ml writes none, so an mlmmj list's
 *	footer is cut as the list's declared footer.
 *
 *	A footer whose separator is there but whose wording is not
 *	recognised is left alone: an author's own text that mentions
 *	unsubscribing stays. Only the last lines of the text are looked
 *	at (FG_FOOTER_MAX_LINES).
 *
 *	The declared footer (list field footer, NULL or "" for none) is
 *	the footer text as the list appends it; it matches the end of the
 *	text with all white space (line wrapping, indentation, blank
 *	lines) and Markdown backslash escapes ignored, starting at the
 *	beginning of a line or after the author's last character.
 *
 *	fg_footer_cut() returns a copy of text without the footer at its
 *	end, trailing blank lines removed, and stores the cut footer in
 *	*footer_r (NULL when nothing was cut; footer_r may be NULL). A
 *	cut that would leave nothing but white space is not made.
 *
 *	fg_footer_only() is true when text, blank lines aside, is nothing
 *	but a footer: a MIME part a list manager added, never the body.
 *
 *	fg_footer_html_start() is the offset in an HTML text at which the
 *	footer of Google Groups, groups.io or LISTSERV starts (at its
 *	separator), or len when there is none; the HTML before that
 *	offset is the author's, unclosed elements and all.
 * BOUNDS
 *	Linear in the length of the text: lines are looked at from the
 *	end, at most FG_FOOTER_MAX_LINES of them, and a line longer than
 *	FG_FOOTER_LINE_MAX is no footer line. The HTML search looks at
 *	the last FG_FOOTER_HTML_TAIL bytes only.
 * DIAGNOSTICS
 *	None: the functions cannot fail. The strings returned are
 *	allocated; the caller frees them.
 */
#include <stdbool.h>
#include <stddef.h>

/* Lines after a separator that a footer may have. */
#define FG_FOOTER_MAX_LINES 12
/* A longer line is text, not a footer line. */
#define FG_FOOTER_LINE_MAX 400
/* Bytes at the end of an HTML part that may hold its footer. */
#define FG_FOOTER_HTML_TAIL 8192

/* fg_footer_cut - text without the list footer at its end */
char *fg_footer_cut(const char *text, const char *declared, char **footer_r);
/* fg_footer_only - text is a footer and nothing else */
bool fg_footer_only(const char *text, const char *declared);
/* fg_footer_html_start - offset of the footer in HTML, or len */
size_t fg_footer_html_start(const char *html, size_t len);

#endif
