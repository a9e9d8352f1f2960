#ifndef FG_CHARSET_H
#define FG_CHARSET_H
/*
 * NAME
 *	fg-charset 3 - mail text as valid UTF-8
 * SYNOPSIS
 *	#include "fg-charset.h"
 *
 *	char *fg_mail_clean_line(const char *text);
 *	char *fg_mail_clean_text(const char *text, size_t len);
 * DESCRIPTION
 *	fg_mail_clean_line() makes one line of header text safe: valid
 *	UTF-8, every control character (C0, DEL and C1, U+0085 NEL
 *	among them) and the line and paragraph separators U+2028 and
 *	U+2029 a space, white space collapsed.
 *	fg_mail_clean_text() makes text valid UTF-8 with LF line ends:
 *	invalid bytes and NULs become U+FFFD, CR LF and lone CRs LF.
 *
 *	The mail parser (fg-mailparse.h) also converts the charsets of
 *	parts and decodes RFC 2047 encoded words here; see there for
 *	what it does with bytes that do not decode.
 */
#include <stddef.h>

/* fg_mail_clean_line - one line of header text, caller frees */
char *fg_mail_clean_line(const char *text);
/* fg_mail_clean_text - text as valid UTF-8 with LF line ends */
char *fg_mail_clean_text(const char *text, size_t len);

#endif
