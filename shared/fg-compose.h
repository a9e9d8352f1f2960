#ifndef FG_COMPOSE_H
#define FG_COMPOSE_H
/*
 * NAME
 *	fg-compose 3 - the mail that carries a forum post to the list
 * SYNOPSIS
 *	#include "fg-compose.h"
 *
 *	int fg_compose_mail(const struct fg_compose *c, char **data_r,
 *			    size_t *size_r, const char **error_r);
 * DESCRIPTION
 *	fg_compose_mail() builds a complete RFC 5322 message with CR LF
 *	line ends, ready for SMTP DATA (the SMTP client does the dot
 *	stuffing). It has exactly these header fields, in this order:
 *
 *	From: "NAME via Forum" <from_address>, NAME the poster's display
 *	name or else the username; the bridge's own address keeps DMARC
 *	happy, Reply-To sends answers to the list.
 *	Reply-To: (unless no_reply_to) and To: the list address.
 *	Subject: the topic title, "Re: " in front for every post after
 *	the first (post_number > 1).
 *	Date:, Message-ID:, In-Reply-To: (when given), References:
 *	(when any; at most FG_COMPOSE_MAX_REFERENCES, the first and the
 *	newest kept, and In-Reply-To always last), List-Id:
 *	<list_name.mail_domain>, List-Post: <mailto:list_address>,
 *	List-Archive: <topic_url> (when given), MIME-Version:,
 *	Content-Type: text/plain; charset=utf-8, and
 *	Content-Transfer-Encoding: quoted-printable.
 *
 *	The body is post->raw (Markdown) as UTF-8, encoded as
 *	quoted-printable so that no line is too long for SMTP, followed,
 *	when topic_url is given, by a signature that links the topic.
 *	There is no Auto-Submitted: a forum post is written by a person.
 *
 *	With html, the body is multipart/alternative: the text/plain part
 *	above first, then text/html (UTF-8, quoted-printable), the
 *	Markdown rendered by cmark in its safe mode: raw HTML from the
 *	post is left out and javascript:, vbscript:, file: and most
 *	data: links are emptied, so a forum user cannot put markup or
 *	script of their own into the mail.
 *
 *	List-Unsubscribe: <unsubscribe> follows List-Archive when the list
 *	has one that fg_compose_unsubscribe_valid() accepts; an invalid
 *	one is left out, never mended.
 *
 *	An edited post (edited) is mailed with "[edited] " before its
 *	Subject (and "Re: ", as it answers the first version); the
 *	caller gives it its own Message-ID and the first version as
 *	In-Reply-To.
 *
 *	Non-ASCII names and titles become RFC 2047 encoded words.
 *
 *	Header injection is impossible by construction: every text that
 *	goes into a header (title, name, username, name suffix) has each
 *	control character (CR, LF, NUL, any other C0 byte, DEL and the
 *	C1 controls, U+0085 among them) and the separators U+2028 and
 *	U+2029 replaced by a space, invalid UTF-8 replaced by U+FFFD and
 *	its length bounded before GMime sees it; Message-IDs and
 *	addresses that contain anything but printable ASCII are refused;
 *	the topic URL is percent-encoded where it is not printable ASCII.
 *
 *	What the reader sees after RFC 2047 decoding is as safe: a title
 *	or display name containing "=?" (that could be taken for encoded
 *	words) is sent as encoded words that decode to exactly that text,
 *	never raw; in the display name "@" becomes " at " and "<" ">"
 *	(and their full-width and small forms) become "(" ")", so that no
 *	client shows a forum user's text as the sender's address.
 * DIAGNOSTICS
 *	0 with *data_r (NUL-terminated, caller frees) and *size_r set,
 *	or -1 with *error_r naming the field that is missing or invalid.
 *	fg_mail_init() must have been called.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-record.h"

#define FG_COMPOSE_MAX_REFERENCES 20

struct fg_compose {
	const struct fg_post *post;
	const char *list_address;	/* To: and Reply-To: */
	const char *list_name;		/* List-Id: <list_name.mail_domain> */
	const char *mail_domain;
	const char *from_address;	/* the bridge's address */
	const char *name_suffix;	/* "via Forum"; NULL or "": none */
	const char *message_id;		/* without <> */
	const char *in_reply_to;	/* NULL for a topic's first post */
	const char *const *references;	/* oldest first */
	size_t n_references;
	const char *topic_url;		/* List-Archive, footer; may be NULL */
	long long date;			/* unix time for Date:; 0: now */
	bool no_reply_to;		/* leave out Reply-To: */
	bool html;			/* add a text/html alternative */
	const char *unsubscribe;	/* List-Unsubscribe URI; NULL: none */
	bool edited;			/* a later revision of a mailed post */
};

/* fg_compose_unsubscribe_valid - a List-Unsubscribe URI that may go
   into the header: mailto: or https:, printable ASCII without <>" and
   space, at most FG_COMPOSE_UNSUBSCRIBE_MAX bytes */
bool fg_compose_unsubscribe_valid(const char *uri);
#define FG_COMPOSE_UNSUBSCRIBE_MAX 512

/* fg_compose_address_valid - a plain ASCII addr-spec, local@domain,
   with nothing that could end or extend a header */
bool fg_compose_address_valid(const char *addr);

/* fg_compose_field - header-safe text: one line, no control
   characters, valid UTF-8, at most max bytes (cut between characters);
   caller frees */
char *fg_compose_field(const char *text, size_t max);

/* fg_compose_text_part - a text/SUBTYPE part of UTF-8 text, encoded
   quoted-printable (a GMimeObject; the caller unrefs it) */
typedef struct _GMimeObject GMimeObject;
GMimeObject *fg_compose_text_part(const char *subtype, const char *text);

/* fg_compose_mail - the RFC 5322 message of a forum post */
int fg_compose_mail(const struct fg_compose *c, char **data_r,
		    size_t *size_r, const char **error_r);

#endif
