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
 * DESCRIPTION
 *	fg_mail_unflow() unfolds format=flowed text (RFC 3676, with
 *	DelSp when delsp) and fg_mail_trim_body() does the trimming of
 *	plain text that fg_mail_parse() describes (fg-mailparse.h):
 *	trailing quote and signature cut, and the quote a bottom-posted
 *	reply starts with, never to nothing.
 *	fg_mail_parse() uses both; they are exported for tests.
 */
#include <stdbool.h>

/* fg_mail_unflow - text of a format=flowed body, caller frees */
char *fg_mail_unflow(const char *text, bool delsp);
/* fg_mail_trim_body - body without trailing signature and quote */
char *fg_mail_trim_body(const char *text);

#endif
