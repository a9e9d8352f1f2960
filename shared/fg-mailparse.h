#ifndef FG_MAILPARSE_H
#define FG_MAILPARSE_H
/*
 * NAME
 *	fg-mailparse 3 - one list message as a normalized record
 * SYNOPSIS
 *	#include "fg-mailparse.h"
 *
 *	void fg_mail_init(void);
 *	void fg_mail_deinit(void);
 *
 *	int fg_mail_parse(const void *data, size_t size,
 *			  const struct fg_parse_settings *set,
 *			  struct fg_record **rec_r, const char **error_r);
 * DESCRIPTION
 *	fg_mail_init() and fg_mail_deinit() start and stop GMime. They
 *	count references, so the Dovecot plugin and a program (or two
 *	modules of one program) may each call them once; GMime is shut
 *	down by the last fg_mail_deinit(). Call them from one thread.
 *
 *	fg_mail_parse() parses one RFC 5322 message held in memory (the
 *	Dovecot plugin and the standalone command both read the message
 *	into a bounded buffer first, so there is one code path) and fills
 *	every field of a struct fg_record:
 *
 *	message_id: normalized, without angle brackets. A message without
 *	a usable Message-ID gets "fg-synth.HEX24@MAIL_DOMAIN", HEX24 from
 *	a SHA-256 of its From, Date and Subject headers and its raw body,
 *	so a re-delivery of the same message gets the same ID.
 *
 *	in_reply_to (or NULL), references (oldest first; the newest
 *	FG_MAIL_MAX_REFERENCES are kept), subject (RFC 2047 decoded),
 *	title (fg_subject_normalize()), from_name and from_email (domain
 *	lowercased; "" when there is no From), date (ISO 8601 UTC,
 *	"YYYY-MM-DDTHH:MM:SSZ"; the time of parsing when Date is missing
 *	or invalid), list_id (the id inside <> of List-Id, or NULL).
 *
 *	from_name and from_email are the first mailbox of From as GMime
 *	parses it (through a group; a From whose unquoted name has a
 *	comma, "Doe, Jane <jane@...>", keeps its name and address). For
 *	a list marked trusted (set->list_trusted) they undo the list
 *	manager's From rewriting ("Alice via List" <list posting
 *	address>, set->list_address or else List-Post; DMARC
 *	mitigation): the author is the one mailbox of
 *	X-Original-From or of Reply-To (as GNU Mailman writes it), never
 *	Cc or X-MailFrom, and nothing when the two disagree.
 *
 *	from_auth: the evidence that from_email is authenticated
 *	(fg_auth_from() with set->trusted_authserv_ids), or "". A message
 *	with more than one From header, or a From of more than one
 *	mailbox or of a group, is never authenticated.
 *
 *body: UTF-8 text in set->format (enum fg_text_format, Markdown by
 *	default), from the message's main text: the first inline text
 *	part in document order, and inside a multipart/alternative its
 *	text/plain part first. A text/plain part is kept as written
 *	(fg_text_escape_plain() keeps root prompts from becoming
 *	headings); a text/html part is converted to Markdown by
 *	fg_html_to_markdown(), which also cuts the quote its HTML markers
 *	show. Empty parts, attachments and parts that are nothing but a
 *	list footer (fg_footer_only(), as Mailman 3 adds its footer to a
 *	multipart message, before or after the author's text) are never
 *	the body, and the other text parts are not joined to it.
 *	The footer a list manager appended to the text is cut before
 *	anything else (fg-footer.h: Mailman 2 and 3, Google Groups,
 *	groups.io, LISTSERV, Sympa, and set->list_footer, the list's
 *	declared footer): in HTML before the conversion (Google Groups,
 *	groups.io, LISTSERV), and in the text or the converted Markdown. Every charset iconv knows is decoded; bytes
 *	that are invalid in the declared charset, and text in a charset
 *	nobody knows, come out as U+FFFD instead of disappearing; text
 *	that is valid UTF-8 but labelled with a charset it is not valid
 *	in (Big5 on UTF-8) is taken as UTF-8. A part without a charset is
 *	taken as UTF-8 when it is valid UTF-8 and as windows-1252
 *	otherwise. format=flowed (RFC 3676, with DelSp) is unfolded.
 *	Then trailing quote and signature are cut (fg-trim.c, the words
 *	in fg-trim-lang.c): "-----Original Message-----" and forward
 *	separators with any number of dashes, Apple's "Begin forwarded
 *	message:", and Outlook header blocks (From:, Sent:, To:,
 *	Subject: in 14 languages; not in a forwarded message, whose
 *	subject says Fwd:), a "> " quote after an attribution ("On ...
 *	wrote:" in 14 languages, wrapped over up to 5 lines, Gmail's
 *	"DATE NAME <ADDR>:" forms, Zoho's "---- On ... wrote ----"), an
 *	attribution with a date and time followed by the old message
 *	unquoted (as phones send it), "-- " and "____" signatures and
 *	phone or webmail signatures ("Sent from my iPhone" and its
 *	translations). A bottom-posted reply (attribution and quote
 *	first, then only the sender's text) loses the quote. Quotes
 *	between the sender's own lines (an inline reply) stay, as
 *	Markdown quotes. The body is never cut to nothing.
 *	set->show_trimmed appends the cut text as a collapsed block
 *	(fg_text_details()).
 *
 *	A quote that ends the body without an attribution (and without
 *	an inline reply above it) stays, as its own block; quote_start
 *	and quote_end are its byte range in body and quote_sketch its
 *	sketch, for the bridge to cut it when it is the parent's text.
 *	text_sketch is the sketch of the message's whole text (fg-quote.h).
 *
 *	trimmed: the text that was cut, as Markdown ("" when nothing).
 *
 *	classification and reason: fg_classify_list() (fg-classify.h)
 *	with set->secret: our own mail, a bounce (fg-bounce.h: a delivery
 *	failure, delay or feedback report, or mail to the VERP address
 *	set->envelope_to; bounce is the report then, else NULL), an
 *	automatic reply (by
 *	its headers; an auto-reply subject only counts together with
 *	X-Auto-Response-Suppress) or a post; with set->list_address also
 *	mail the list did not distribute (not-list) and the list
 *	manager's own notices (list-notice), by fg_listmail_check()
 *	(fg-listmail.h) with the list's address, List-Id and return path
 *	patterns, the envelope sender and set->recipient_delimiter, and
 *	From, To and Cc as GMime parses them. notice: the form of a
 *	list-notice (fg_listmail_check()), else NULL.
 *
 *	The caller frees the record with fg_record_free().
 *
 *	fg_mail_unflow() and fg_mail_trim_body() (fg-trim.h), and
 *	fg_mail_clean_line() and fg_mail_clean_text() (fg-charset.h), are
 *	declared by the headers this one includes.
 * BOUNDS
 *	A message larger than set->max_size (0: no limit) is refused. At
 *	most FG_MAIL_MAX_PARTS MIME parts are looked at, nesting deeper
 *	than FG_MAIL_MAX_DEPTH is not followed, and GMime only gets to see
 *	the message up to the boundary line that would start a few times
 *	FG_MAIL_MAX_PARTS parts (it builds every part before anything is
 *	looked at: 1.4 KB each, so a 2 MB message of empty parts took
 *	550 MB). A header field with many "=?" that nothing closes is
 *	defused first (GMime's lenient decoder is quadratic on those: a
 *	1 MB Subject took minutes). NUL bytes, broken base64 or
 *	quoted-printable, absurd nesting and megabyte header lines cost
 *	time and memory in proportion to the message, nothing more.
 *
 *	RFC 2047 encoded words of Subject and From are decoded word by
 *	word here before GMime sees them: GMime 3.2.13 (Debian 12) drops
 *	the rest of a header after a padded base64 word that another word
 *	of the same charset follows (fixed upstream in 3.2.14).
 * DIAGNOSTICS
 *	fg_mail_parse() returns 0, or -1 with *error_r set when the
 *	message is too large or is not a message at all. It never logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-charset.h"
#include "fg-config.h"
#include "fg-record.h"
#include "fg-text.h"
#include "fg-trim.h"

#define FG_MAIL_MAX_PARTS 100
#define FG_MAIL_MAX_DEPTH 32
#define FG_MAIL_MAX_REFERENCES 50

struct fg_parse_settings {
	const char *secret;		/* NULL: no message is our own */
	const char *mail_domain;	/* right-hand side of synthetic IDs */
	size_t max_size;		/* 0: no limit */
	enum fg_text_format format;	/* markup of the body (post_format) */
	bool show_trimmed;		/* append the cut text, collapsed */
	/* sender authentication (fg-auth.h) and un-munging of From:
	   the setting, and the list's "trusted" field (per delivery) */
	const char *trusted_authserv_ids; /* trusted_authserv_ids */
	bool list_trusted;		/* the list's "trusted" field */
	/* Per list, filled for each delivery (not by
	   fg_parse_settings_init()): */
	const char *list_footer;	/* list field footer; NULL: none */
	/* The list a message was delivered for (mirror mode), filled per
	   delivery: only list mail is posted (fg-listmail.h).
	   list_address NULL: no list rule. */
	const char *list_address;	/* posting address */
	const char *list_id;		/* expected List-Id; NULL: default */
	const char *list_return_path;	/* envelope patterns; NULL: default */
	const char *envelope_from;	/* MAIL FROM; NULL: not known */
	/* The envelope recipient, filled per delivery: a VERP address of
	   ours (fg-verp.h) names the list and the recipient or post a
	   bounce is for (fg-bounce.h). NULL: not known. */
	const char *envelope_to;
	const char *recipient_delimiter;	/* from the configuration */
};

/* fg_parse_settings_init - the settings the plugin parses list mail
   with, from the configuration (secret, mail_domain, max_message_size,
   post_format, show_trimmed); -1 naming a setting with a bad value.
   The strings point into config. */
int fg_parse_settings_init(struct fg_parse_settings *set,
			   const struct fg_config *config,
			   const char **error_r);
/* fg_mail_init - start GMime (reference counted) */
void fg_mail_init(void);
/* fg_mail_deinit - stop GMime after the last user */
void fg_mail_deinit(void);

/* fg_mail_parse - parse and classify one message */
int fg_mail_parse(const void *data, size_t size,
		  const struct fg_parse_settings *set,
		  struct fg_record **rec_r, const char **error_r);

#endif
