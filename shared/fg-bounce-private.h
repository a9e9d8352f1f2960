#ifndef FG_BOUNCE_PRIVATE_H
#define FG_BOUNCE_PRIVATE_H
/*
 * NAME
 *	fg-bounce-private 3 - what the two files of the bounce parser share
 * SYNOPSIS
 *	#include "fg-bounce-private.h"
 * DESCRIPTION
 *	Internal to fg-bounce.c (the MIME walk, the DSN and feedback
 *	fields, the decision and the JSON) and fg-bounce-text.c (the text
 *	of a report: its wording, status codes and addresses, and Amazon
 *	SES notifications). Not installed; callers use fg-bounce.h.
 *
 *	fg_bounce_words() returns the first phrase of one wording table
 *	that a lowercase text contains, or NULL.
 */
#include <stdbool.h>
#include <stddef.h>
#include <gmime/gmime.h>
#include "fg-bounce.h"
#include "fg-common.h"

/* Longest address kept (RFC 5321: 64 + 1 + 255). */
#define FG_BOUNCE_ADDRESS_MAX 320
/* Longest Reporting-MTA, Action or Feedback-Type value kept. */
#define FG_BOUNCE_TOKEN_MAX 255
/* Text parts of a report read (its own text, not the returned one). */
#define FG_BOUNCE_TEXT_PARTS 3
/* How far back the start of an address's line is looked for. */
#define FG_BOUNCE_LINE_LOOKBACK 200
/* Characters before an address that may say it is the sender. */
#define FG_BOUNCE_FROM_LOOKBACK 14

/* What the walk over the parts found. */
struct fg_bounce_walk {
	struct fg_bounce *b;
	bool dsn;			/* a delivery-status part */
	bool feedback;			/* a feedback-report part */
	bool original;			/* a returned message is attached */
	GMimePart *text_parts[FG_BOUNCE_TEXT_PARTS];	/* in order */
	bool text_html[FG_BOUNCE_TEXT_PARTS];
	unsigned int n_text;
	struct fg_buf text;		/* the report's own text */
	char *orig_to, *orig_from;	/* of the returned message */
	char *orig_rcpt;		/* Hotmail's X-HmXmrOriginalRecipient */
	const char *prologue;		/* of a multipart GMime found no
					   parts in (no boundary line) */
	bool unwrap;			/* a daemon's mail: an attached
					   multipart/report is the report
					   (gateways wrap it once) */
	char *orphan_status;		/* of a DSN block whose recipient
					   is no address (a pipe, a file) */
	/* the DSN or feedback block being read */
	char *final, *original_rcpt, *action, *status, *diag;
};

/* The wording tables of fg-bounce-text.c. */
enum fg_bounce_words {
	FG_BOUNCE_FAILURE,	/* a delivery failure report */
	FG_BOUNCE_DELAY,	/* a delay warning */
	FG_BOUNCE_FINAL,	/* the sender gave up */
	FG_BOUNCE_POLICY_WORDS,	/* a policy rejection */
	FG_BOUNCE_SOFT_WORDS,	/* full, too large, passing */
	FG_BOUNCE_HARD_WORDS,	/* no such user, mailbox or domain */
	FG_BOUNCE_DAEMON_NAMES,	/* display names of daemons */
};

/* fg_bounce_words - the first phrase of a table in the lowercase
   text, or NULL */
const char *fg_bounce_words(const char *low, enum fg_bounce_words which);
/* fg_bounce_lower - a lowercase copy of n bytes of text */
char *fg_bounce_lower(const char *s, size_t n);
/* fg_bounce_one_line - text as one line: white space collapsed, at
   most FG_BOUNCE_DIAG_MAX bytes, not cut inside a UTF-8 character */
char *fg_bounce_one_line(const char *s, size_t n);
/* fg_bounce_status_at - an enhanced status code (RFC 3463) starts at
   p: class 2, 4 or 5, subject and detail of 1-3 digits, not part of a
   longer dotted number; its length, or 0 */
size_t fg_bounce_status_at(const char *start, const char *p);
/* fg_bounce_find_status - the first enhanced status code of a failure
   (4.x.x, 5.x.x) in text[0, n), else "C.0.0" of the first SMTP failure
   code; NULL when none. *at_r is where it was found. */
char *fg_bounce_find_status(const char *text, size_t n,
			    const char **at_r);
/* fg_bounce_kind_of - the kind of a failure from its status (NULL:
   none) and the lowercase wording of its diagnostic */
enum fg_bounce_kind fg_bounce_kind_of(const char *status,
				      const char *low);
/* fg_bounce_clean_address - an address from a DSN field or text
   ("rfc822; <a@b>"), lowercase; NULL when it is none */
char *fg_bounce_clean_address(const char *value);
/* fg_bounce_cut - the length of the report's own text: up to the line
   that begins the returned message */
size_t fg_bounce_cut(const char *low);
/* fg_bounce_local_is_daemon - the local part of an address (or a bare
   name) is a daemon's */
bool fg_bounce_local_is_daemon(const char *addr);
/* fg_bounce_read_text - recipients of a report without DSN fields,
   from X-Failed-Recipients and the text */
void fg_bounce_read_text(struct fg_bounce *b, GMimeMessage *msg,
			 struct fg_bounce_walk *w, const char *text,
			 const char *low, size_t n,
			 const char *envelope_to);
/* fg_bounce_text_dsn - DSN fields written in the text of a report
   whose MIME structure was lost ("Final-Recipient:" at the start of a
   line): read them as the delivery-status part */
void fg_bounce_text_dsn(struct fg_bounce_walk *w, const char *text,
			const char *low);
/* fg_bounce_ses - an Amazon SES notification (JSON, as SNS mails it):
   its bounced or complained recipients; "Bounce", "Complaint",
   "Delivery" or NULL */
const char *fg_bounce_ses(struct fg_bounce_walk *w, const char *text);
/* fg_bounce_after_to - the first "To:" address of the returned
   message written out after the report's text, or NULL */
char *fg_bounce_after_to(const char *text, const char *low);
/* fg_bounce_add - a new recipient (address taken), or NULL when it is
   there already or there are enough */
struct fg_bounce_recipient *fg_bounce_add(struct fg_bounce *b,
					  char *address);
/* fg_bounce_find - the recipient of that address, or NULL */
struct fg_bounce_recipient *fg_bounce_find(struct fg_bounce *b,
					   const char *address);
/* fg_bounce_mailbox - the address of the first mailbox of a list,
   lowercase, or NULL */
char *fg_bounce_mailbox(InternetAddressList *list);
/* fg_bounce_block_end - a DSN or feedback block ended: keep its
   recipient */
void fg_bounce_block_end(struct fg_bounce_walk *w);
/* fg_bounce_set - keep the first value of a field of a block */
void fg_bounce_set(char **slot, const char *value);
/* fg_bounce_token - a short field value, one line, bounded; NULL when
   empty */
char *fg_bounce_token(const char *value);
/* fg_bounce_dsn_field - one field of a delivery-status or
   feedback-report part */
void fg_bounce_dsn_field(void *ctx, const char *name,
			 const char *value);

#endif
