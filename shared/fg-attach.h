#ifndef FG_ATTACH_H
#define FG_ATTACH_H
/*
 * NAME
 *	fg-attach 3 - the attachments of a list message
 * SYNOPSIS
 *	#include "fg-attach.h"
 *
 *	struct fg_attach_settings set = { .max_size = ..., ... };
 *	struct fg_attachment *atts;
 *	size_t n;
 *
 *	ret = fg_attach_extract(data, size, &set, &atts, &n, &error);
 *	fg_attachments_free(atts, n);
 * DESCRIPTION
 *	fg_attach_extract() walks the MIME tree of one RFC 5322 message
 *	(GMime; fg_mail_init() first) and returns its attachments in
 *	message order: every leaf part with Content-Disposition
 *	attachment, and every other leaf part that has a file name or is
 *	not text (an inline image). The text the message is posted as is
 *	not an attachment.
 *
 *	name is the file name in UTF-8, RFC 2231 and RFC 2047 decoded,
 *	one line, without any directory part (at most FG_ATTACH_NAME_MAX
 *	bytes); "attachment" plus a number when the part has none. type
 *	is the lowercase MIME type, size the decoded size.
 *
 *	Some files are never wanted on a forum and are left out entirely:
 *	winmail.dat and application/ms-tnef (Outlook's TNEF), signatures
 *	(smime.p7s, signature.asc, application/pkcs7-signature,
 *	application/pgp-signature) and PGP/MIME's control part.
 *
 *	data holds the decoded content when the attachment may be
 *	uploaded: its type is in set->types (fg_attach_type_allowed()),
 *	it is not larger than set->max_size, and the attachments before
 *	it leave room in set->max_total. Otherwise data is NULL and the
 *	attachment is only listed by name.
 *
 *	fg_attach_b64_encode() and fg_attach_b64_decode() carry data
 *	through the inbound stream, whose values are text.
 * BOUNDS
 *	At most FG_ATTACH_MAX attachments are returned. GMime only sees
 *	the message up to its FG_ATTACH_MAX_BOUNDARIES-th line that starts
 *	with "--", and a message with more than FG_ATTACH_MAX_WORDS "=?"
 *	(encoded words GMime decodes slowly) has no attachments: cost and
 *	memory stay in proportion to the message.
 * DIAGNOSTICS
 *	fg_attach_extract() returns 0, or -1 with *error_r when the data
 *	is not a message. It never logs.
 */
#include <stdbool.h>
#include <stddef.h>

#define FG_ATTACH_MAX 50
#define FG_ATTACH_NAME_MAX 200
#define FG_ATTACH_MAX_BOUNDARIES 400
#define FG_ATTACH_MAX_WORDS 4000

struct fg_attachment {
	char *name;
	char *type;
	size_t size;
	unsigned char *data;	/* NULL: listed by name only */
};

struct fg_attach_settings {
	size_t max_size;	/* largest attachment carried */
	size_t max_total;	/* most data carried for one message */
	const char *types;	/* allowed types, e.g. "application/pdf" */
};

/* fg_attach_extract - see the DESCRIPTION */
int fg_attach_extract(const void *data, size_t size,
		      const struct fg_attach_settings *set,
		      struct fg_attachment **atts_r, size_t *count_r,
		      const char **error_r);
/* fg_attachments_free - free a vector of n attachments */
void fg_attachments_free(struct fg_attachment *atts, size_t n);
/* fg_attach_never - a file that is never posted nor listed */
bool fg_attach_never(const char *name, const char *type);
/* fg_attach_type_allowed - type matches a word of types ("image/" "*"
   matches every image type); words are separated by spaces or commas */
bool fg_attach_type_allowed(const char *types, const char *type);
/* fg_attach_b64_encode - base64 without line breaks (caller frees) */
char *fg_attach_b64_encode(const unsigned char *data, size_t size);
/* fg_attach_b64_decode - 0 with *data_r (caller frees) and *size_r,
   -1 when text is not base64 */
int fg_attach_b64_decode(const char *text, unsigned char **data_r,
			 size_t *size_r);
/* fg_attach_human_size - "512 bytes", "1.2 KB", "3.4 MB" */
void fg_attach_human_size(size_t size, char *buf, size_t bufsize);

#endif
