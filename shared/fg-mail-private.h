#ifndef FG_MAIL_PRIVATE_H
#define FG_MAIL_PRIVATE_H
/*
 * NAME
 *	fg-mail-private 3 - what the files of the mail parser share
 * SYNOPSIS
 *	#include "fg-mail-private.h"
 * DESCRIPTION
 *	Internal to libforumgate's mail parser: included by
 *	fg-mailparse.c, fg-charset.c, fg-trim.c, fg-trim-original.c,
 *	fg-mailfrom.c, fg-attach.c, fg-refusal.c, fg-mailpart.c,
 *	fg-bounce.c and fg-bounce-text.c only, and not
 *	installed. Other callers use fg-mailparse.h (which includes
 *	fg-charset.h and fg-trim.h).
 *
 *	fg_utf8_clean_text() appends text as valid UTF-8 with LF line
 *	ends; fg_charset_to_utf8() converts the text of a part from its
 *	declared charset (still unchecked UTF-8 after it);
 *	fg_mail_raw_header() is a header's unfolded raw value with its
 *	RFC 2047 encoded words merged so that GMime decodes them right.
 *
 *	fg_mail_trim_split() is fg_mail_trim_body() that, in a forward,
 *	keeps the quoted header block, and returns what it cut.
 *	fg_mail_trim_split_quote() returns the text without a quote block
 *	that ends it without an attribution (and without an inline reply
 *	above it), and that block in *quote_r (NULL when none): whether
 *	it is the text replied to, only the bridge can tell (fg-quote.h);
 *	fg_mail_trim_split() puts it back after an empty line.
 *
 *	fg_mail_from() sets from_name, from_email and from_auth of a
 *	record.
 *
 *	fg_mail_construct() parses a message from a copy of a buffer
 *	with loose RFC 2047 and parameter rules (fg-attach.c,
 *	fg-refusal.c and fg-bounce.c, which look at a message apart from
 *	fg_mail_parse()).
 *
 *	fg_mail_part_bytes() and fg_mail_part_utf8() (fg-mailpart.c) are
 *	a leaf part's decoded content, at most max bytes, as bytes or as
 *	valid UTF-8 text; fg_mail_fields() calls fn for each unfolded
 *	"Name: value" line of a header block, a DSN or a feedback report
 *	(an empty line as ("", "")).
 *
 *	fg_bounce_of_message() is fg_bounce_parse() (fg-bounce.h) of a
 *	message GMime already parsed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <gmime/gmime.h>
#include "fg-common.h"
#include "fg-record.h"

/* Encoded words are 75 characters at most (RFC 2047); mailers that
   ignore that stay far below this. */
#define FG_MAIL_WORD_MAX 1024

/* The replacement character, for bytes that do not decode. */
extern const char fg_utf8_replacement[];

/* fg_utf8_clean_text - append text as valid UTF-8 with LF line ends:
   each invalid byte and each NUL becomes U+FFFD, CR LF and lone CR
   become LF */
void fg_utf8_clean_text(struct fg_buf *out, const char *s, size_t n);
/* fg_charset_to_utf8 - text of a part in UTF-8 (still unchecked) */
void fg_charset_to_utf8(struct fg_buf *out, const char *charset,
			const char *data, size_t len);
/* fg_mail_raw_header - unfolded raw value of a header, or NULL */
char *fg_mail_raw_header(GMimeMessage *msg, const char *name);

/* fg_mail_header - a header's unfolded, decoded value, or NULL */
static inline const char *fg_mail_header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

/* fg_mail_trim_split - body without trailing quote and signature;
   *cut_r (when not NULL) gets what was cut, "" when nothing */
char *fg_mail_trim_split(const char *text, bool forward, char **cut_r);
/* fg_mail_trim_split_quote - fg_mail_trim_split(), the trailing
   quote without attribution apart in *quote_r (NULL: none) */
char *fg_mail_trim_split_quote(const char *text, bool forward,
			       char **cut_r, char **quote_r);
/* fg_line_rtrim - length without trailing white space */
size_t fg_line_rtrim(const char *s, size_t len);

struct fg_parse_settings;

/* fg_mail_from - the first mailbox of From:, a trusted list manager's
   rewriting undone, and whether it is authenticated */
void fg_mail_from(GMimeMessage *msg, GMimeParserOptions *options,
		  const struct fg_parse_settings *set, struct fg_record *rec);

/* fg_mail_construct - a message parsed from a copy of data, with the
   options it was parsed with (caller frees both); NULL when it is not
   a message (*options_r still set) */
GMimeMessage *fg_mail_construct(const void *data, size_t len,
				GMimeParserOptions **options_r);

/* fg_mail_part_bytes - a leaf part's content, transfer-decoded, at
   most max bytes, NUL-terminated (a NUL inside ends it) */
char *fg_mail_part_bytes(GMimePart *part, size_t max, size_t *len_r);
/* fg_mail_part_utf8 - a text part in valid UTF-8, from at most max
   bytes of its content */
char *fg_mail_part_utf8(GMimePart *part, size_t max);
/* fg_mail_fields - call fn for each unfolded "Name: value" line of a
   header block or DSN fields; an empty line is passed as ("", "") */
void fg_mail_fields(const char *text,
		    void (*fn)(void *ctx, const char *name, const char *value),
		    void *ctx);

/* A walk over the MIME tree of a message (fg_mail_visit()). */
struct fg_mail_visit {
	unsigned int parts, max_parts;	/* visited, and the most */
	/* a leaf part */
	void (*part)(struct fg_mail_visit *walk, GMimePart *part);
	/* an attached message (inner may be NULL), not looked into
	   unless the callback walks it at depth + 1; NULL: skipped */
	void (*message)(struct fg_mail_visit *walk, GMimeMessage *inner,
			unsigned int depth);
	/* a multipart GMime found no parts in; NULL: skipped */
	void (*empty)(struct fg_mail_visit *walk, GMimeMultipart *mp);
	void *context;
};

/* fg_mail_visit - visit obj and the parts below it, at most
   walk->max_parts objects and FG_MAIL_MAX_DEPTH levels deep */
void fg_mail_visit(struct fg_mail_visit *walk, GMimeObject *obj,
		  unsigned int depth);

struct fg_bounce;
/* fg_bounce_of_message - fg_bounce_parse() of a parsed message */
struct fg_bounce *fg_bounce_of_message(GMimeMessage *msg,
				       const char *secret,
				       const char *envelope_to);

#endif
