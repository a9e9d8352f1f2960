#ifndef FG_REFUSAL_H
#define FG_REFUSAL_H
/*
 * NAME
 *	fg-refusal 3 - a list manager's notice that it held, rejected or
 *	bounced a forum post the bridge mailed
 * SYNOPSIS
 *	#include "fg-refusal.h"
 *
 *	bool fg_refusal_candidate(const char *list, const void *data,
 *				  size_t size);
 *	int fg_refusal_parse(const char *secret, const char *list,
 *			     const char *list_address,
 *			     const struct fg_verp *verp,
 *			     const void *data, size_t size,
 *			     struct fg_refusal **refusal_r,
 *			     const char **why_r);
 *	void fg_refusal_free(struct fg_refusal **refusal);
 * DESCRIPTION
 *	A forum post goes to the list with a Message-ID the bridge made
 *	(fg-msgid.h) and a VERP return path that names the post
 *	(fg-verp.h). When the list manager does not distribute it, what
 *	comes back names the post in one of these ways:
 *
 *	mlmmj 1.3 (text.skel/en deny-post, wait-post): to the From
 *	address of the post (the bridge address), From LIST+owner@,
 *	envelope sender LIST+bounces-help@; Subject "Post to LIST@DOMAIN
 *	denied: SUBJECT" or "Awaiting release to LIST@DOMAIN: SUBJECT";
 *	multipart/mixed: a text/plain part ("... was unable to be
 *	delivered to the list because you are not a list subscriber.")
 *	and the post as message/rfc822.
 *
 *	GNU Mailman 3: a rejection (app/bounces.py bounce_message with
 *	template list:user:notice:rejected) goes to the post's sender
 *	(From) from LIST-owner@, with the post's own subject, a
 *	text/plain part ("... was rejected for the following reasons:")
 *	and the post as message/rfc822. The hold notice
 *	(chains/hold.py, list:user:notice:hold: "Your message to LIST
 *	awaits moderator approval", "... is being held because:") and a
 *	moderator's later refusal (app/moderator.py send_rejection,
 *	list:user:notice:refuse) carry only the subject in their text:
 *	they name no Message-ID, so they are not recognised here.
 *	Mailman's bounce probe (send_probe) attaches a message that
 *	bounced, which may be one of ours: it is not a refusal.
 *
 *	An MTA's delivery status notification (RFC 3464,
 *	multipart/report; report-type=delivery-status) goes to the VERP
 *	return path; its text/rfc822-headers or message/rfc822 part
 *	carries the Message-ID.
 *
 *	fg_refusal_candidate() is a cheap test on the raw bytes: does
 *	the message mention a Message-ID of the list ("fg.LIST.") at all
 *	(list NULL: of any list, "<fg.").
 *	Only then is the full parse worth its cost.
 *
 *	fg_refusal_parse() decides. verp is the envelope recipient read
 *	with fg_verp_parse() when it was a post's VERP address of this
 *	list (NULL otherwise); list_address the list's posting address.
 *	The post is named by verp, or by one of our Message-IDs
 *	(fg_msgid_parse() with secret, of this list) in an attached
 *	message/rfc822, text/rfc822-headers or message/rfc822-headers
 *	part, or in In-Reply-To/References of the notice. Mail that did
 *	not come to the VERP address counts only when the list manager
 *	sent it: its From is LIST+x@ or LIST-x@ at the list's domain (or
 *	mailman@, mlmmj@, MAILER-DAEMON@, postmaster@ there), so a
 *	member's reply through the list is never a notice; a delivery
 *	status report counts only at the VERP address, where MTAs send
 *	it. (With list_address NULL, any -owner, -bounces, -request or
 *	-admin address, or bulk mail without List-Post, is taken for the
 *	list manager.) The kind:
 *
 *	FG_REFUSAL_BOUNCED	a DSN with an "Action: failed" recipient
 *				(a DSN that only reports delays is not a
 *				refusal), or a non-DSN failure report
 *				("Undelivered Mail Returned to Sender",
 *				...) to the VERP address;
 *	FG_REFUSAL_REJECTED	subject or first text part says denied,
 *				rejected, refused, "unable to be
 *				delivered to the list";
 *	FG_REFUSAL_HELD		... awaits moderator approval, awaiting
 *				release, being held, held for moderation.
 *
 *	Anything else (a probe, a welcome, a digest, a reply) returns 0.
 *
 *	The reason is the list manager's own words: a DSN's
 *	Diagnostic-Code (else its Status), else the text after
 *	"because" or "following reason(s):" up to the next empty line,
 *	else the notice's subject; made one line by fg_mail_clean_line()
 *	and cut to FG_REFUSAL_REASON_MAX bytes. The subject of the
 *	original (when attached) is cleaned and cut the same way.
 * BOUNDS
 *	Only the first FG_REFUSAL_SCAN_MAX bytes of the message are
 *	parsed (a notice and the headers of what it attaches come
 *	first), at most FG_REFUSAL_MAX_PARTS MIME parts are visited and
 *	FG_REFUSAL_TEXT_MAX bytes of a text part are read.
 * DIAGNOSTICS
 *	fg_refusal_parse() returns 1 with *refusal_r, or 0 with *why_r
 *	saying why the message is not a refusal of one of our posts. It
 *	never fails otherwise and never logs. fg_mail_init() must have
 *	been called.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-verp.h"

#define FG_REFUSAL_SCAN_MAX (64 * 1024)
#define FG_REFUSAL_MAX_PARTS 50
#define FG_REFUSAL_TEXT_MAX (16 * 1024)
#define FG_REFUSAL_REASON_MAX 300

enum fg_refusal_kind {
	FG_REFUSAL_HELD,
	FG_REFUSAL_REJECTED,
	FG_REFUSAL_BOUNCED,
	FG_REFUSAL_KIND_COUNT
};

struct fg_refusal {
	enum fg_refusal_kind kind;
	char *list;
	long long post_id;		/* from the VERP address; 0 unknown */
	long long topic_id;		/* from our Message-ID; 0 unknown */
	long long post_number;
	char *message_id;		/* ours, named by the notice; or NULL */
	char *subject;			/* the original's, "" when unknown */
	char *reason;			/* one line, never empty */
	char *notice_from;		/* the notice's From address, or "" */
};

/* fg_refusal_candidate - may the message name a post of the list */
bool fg_refusal_candidate(const char *list, const void *data, size_t size);
/* fg_refusal_parse - 1 a refusal of one of our posts, 0 not */
int fg_refusal_parse(const char *secret, const char *list,
		     const char *list_address, const struct fg_verp *verp,
		     const void *data, size_t size,
		     struct fg_refusal **refusal_r, const char **why_r);
/* fg_refusal_kind_name - "held", "rejected", "bounced" */
const char *fg_refusal_kind_name(enum fg_refusal_kind kind);
/* fg_refusal_kind_parse - the kind of a name; -1 unknown */
int fg_refusal_kind_parse(const char *name);
void fg_refusal_free(struct fg_refusal **refusal);

#endif
