#ifndef FG_TRIM_H
#define FG_TRIM_H
/*
 * NAME
 *	fg-trim 3 - the text a reply adds, without quote and signature
 * SYNOPSIS
 *	#include "fg-trim.h"
 *
 *	char *fg_mail_unflow(const char *text, bool delsp);
 *	char *fg_mail_trim_body(const char *text);
 *	bool fg_mail_sig_line(const char *s, size_t len);
 * DESCRIPTION
 *	fg_mail_unflow() unfolds format=flowed text (RFC 3676, with
 *	DelSp when delsp) and fg_mail_trim_body() does the trimming of
 *	plain text that fg_mail_parse() describes (fg-mailparse.h):
 *	trailing quote and signature cut, and the quote a bottom-posted
 *	reply starts with, never to nothing.
 *	fg_mail_parse() uses both; they are exported for tests.
 *	fg_mail_sig_line() is true for a line that a signature or a list
 *	footer starts under: "-- " (or "--") and "____" (four or more,
 *	perhaps escaped as fg_text_escape_plain() does).
 */
#include <stdbool.h>
#include <stddef.h>

/* fg_mail_unflow - text of a format=flowed body, caller frees */
char *fg_mail_unflow(const char *text, bool delsp);
/* fg_mail_trim_body - body without trailing signature and quote */
char *fg_mail_trim_body(const char *text);
/* fg_mail_sig_line - a "-- " or "____" line */
bool fg_mail_sig_line(const char *s, size_t len);

#endif
