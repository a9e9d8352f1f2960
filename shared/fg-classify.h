#ifndef FG_CLASSIFY_H
#define FG_CLASSIFY_H
/*
 * NAME
 *	fg-classify 3 - is a list message a post, our own, a bounce or an
 *	automatic reply
 * SYNOPSIS
 *	#include "fg-classify.h"
 *
 *	void fg_classify(const struct fg_classify_msg *msg,
 *			 const char *secret,
 *			 enum fg_class *class_r, char **reason_r);
 *	void fg_classify_list(const struct fg_classify_msg *msg,
 *			      const char *secret,
 *			      const struct fg_listmail_list *list,
 *			      const char *envelope_from,
 *			      enum fg_class *class_r, const char **notice_r,
 *			      char **reason_r);
 *
 *	const char *fg_classify_auto_subject(const char *subject);
 *
 *	const char *fg_not_posted_name(enum fg_not_posted reason);
 *	enum fg_not_posted fg_not_posted_of_class(enum fg_class class);
 *	int fg_not_posted_mask(const char *names, unsigned int *mask_r,
 *			       const char **error_r);
 * DESCRIPTION
 *	fg_classify() decides what a parsed message is, in this order,
 *	and says why in *reason_r (the caller frees it):
 *
 *	FG_CLASS_OWN: the Message-ID is one the bridge made
 *	(fg_msgid_parse() with secret; a NULL or empty secret: none is).
 *
 *	fg_classify_list() only, for mail to a list's bridge recipient
 *	(fg_listmail_check() in fg-listmail.h): FG_CLASS_NOT_LIST when
 *	the envelope sender is not one of the list's return paths;
 *	FG_CLASS_LIST_NOTICE when the list manager wrote the message
 *	itself (*notice_r names the form). These come before the bounce
 *	and automatic reply rules, which see list copies only, and a
 *	message that passes them all but that the list did not
 *	distribute (no List-Id, List-Post or To/Cc naming it) is
 *	FG_CLASS_NOT_LIST as well.
 *
 *	FG_CLASS_BOUNCE: what fg_bounce_parse() (fg-bounce.h) finds a
 *	delivery failure, delay or feedback report, or mail to a VERP
 *	address that is no automatic reply (msg->bounce, when
 *	msg->bounce_parsed; fg_mail_parse() sets them). Without it: a
 *	multipart/report delivery-status report, or a null, MAILER-DAEMON
 *	or postmaster sender with a subject that reads like a delivery
 *	failure. An automatic reply to a VERP address
 *	(msg->bounce_auto_reply) is FG_CLASS_AUTO_REPLY.
 *
 *	FG_CLASS_AUTO_REPLY, on a header that says so by itself: a read
 *	receipt (multipart/report disposition-notification),
 *	Auto-Submitted other than "no" (RFC 3834: Gmail, Zimbra, Sieve
 *	vacation, Thunderbird, Exchange 2010 and later), X-Autoreply
 *	(Yahoo), X-Autorespond (cPanel and other autoresponders),
 *	Precedence auto_reply or junk (vacation(1)), or a null,
 *	MAILER-DAEMON or postmaster sender (RFC 3834 asks auto-replies
 *	to be sent from the null return path).
 *
 *	FG_CLASS_AUTO_REPLY, on a subject together with a header: the
 *	subject begins with one of the exact forms auto-responders write
 *	("Automatic reply:", "Out of Office:", "Auto:", "Autoreply:",
 *	"Abwesenheitsnotiz:", "Réponse automatique :", ... the prefix,
 *	optional spaces, a colon; a list manager's "[tag]" before it is
 *	skipped; fg_classify_auto_subject()) AND the message carries
 *	X-Auto-Response-Suppress naming All, OOF or AutoReply (as
 *	Exchange's and Outlook's out-of-office replies do). Neither of the
 *	two is enough alone: members write "Out of Office: who covers
 *	support in August?" or "Auto: new build", and GitLab, Jira,
 *	Discourse and other notification senders put
 *	X-Auto-Response-Suppress: All on every mail they send, to ask for
 *	no auto-reply, not to say they are one.
 *
 *	FG_CLASS_POST otherwise (Precedence: list or bulk and List-Id are
 *	ordinary list traffic; for fg_classify_list(), Precedence: bulk
 *	without List-Post is the list manager's notice).
 *
 *	The message is described by struct fg_classify_msg: a few parsed
 *	fields and a function that returns a header's unfolded value (or
 *	NULL), so this module knows no MIME library.
 *
 *	fg_classify_auto_subject() returns the auto-reply prefix the
 *	subject begins with (as listed, without the colon), or NULL.
 *
 *	enum fg_not_posted names why a list message was not posted (the
 *	classes above, and what the Dovecot plugin finds before or after
 *	classifying); fg_not_posted_name() gives the reason's name, used
 *	for the mailbox the message is kept in, the counter in Redis and
 *	the log: own, auto-reply, bounce, duplicate, empty, too-large,
 *	unparsable, no-list, bad-verp, not-list, list-notice, refusal,
 *	and for list mode loop, rejected, held.
 *	fg_not_posted_mask() reads a list of such names (separated by
 *	commas or spaces; "" is none) into a bit mask, bit (1 << reason).
 * DIAGNOSTICS
 *	fg_classify() gives every message a class. fg_not_posted_mask()
 *	returns -1 with *error_r naming an unknown reason. Never logs.
 */
#include <stdbool.h>
#include "fg-record.h"

struct fg_listmail_list;

struct fg_classify_msg {
	const char *message_id;		/* normalized, without <> */
	const char *subject;		/* decoded to UTF-8 */
	const char *from_email;		/* "" when there is no From */
	const char *report_type;	/* of a multipart/report top part */
	/* a header's unfolded value, or NULL when it is absent */
	const char *(*header)(void *context, const char *name);
	void *context;
	/* for the list rule (fg-listmail.h): the first address of From
	   as written (before any un-munging), lowercase, NULL: none; the
	   addresses of To and Cc, lowercase, NULL-terminated (NULL: none);
	   the list's id as List-Id names it */
	const char *header_from;
	const char *const *recipients;
	const char *list_id;		/* inside <> of List-Id, NULL: none */
	/* what fg-bounce.h made of the message, when it was asked
	   (bounce_parsed): the reason it is a delivery or feedback
	   report, or an automatic reply to a VERP address; NULL: not */
	bool bounce_parsed;
	const char *bounce;
	const char *bounce_auto_reply;
};

enum fg_not_posted {
	FG_NOT_POSTED_OWN,		/* our own mail came back */
	FG_NOT_POSTED_AUTO_REPLY,	/* vacation, out of office, receipt */
	FG_NOT_POSTED_BOUNCE,		/* DSN, or mail to a VERP address */
	FG_NOT_POSTED_DUPLICATE,	/* Message-ID queued before */
	FG_NOT_POSTED_EMPTY,		/* no text and no attachment */
	FG_NOT_POSTED_TOO_LARGE,	/* above max_message_size */
	FG_NOT_POSTED_UNPARSABLE,	/* not a mail message */
	FG_NOT_POSTED_NO_LIST,		/* list not defined in Redis */
	FG_NOT_POSTED_BAD_VERP,		/* VERP address, MAC does not verify */
	FG_NOT_POSTED_NOT_LIST,		/* not distributed by the list */
	FG_NOT_POSTED_LIST_NOTICE,	/* the list manager's own mail */
	FG_NOT_POSTED_REFUSAL,		/* the list manager's notice that it
					   held or rejected one of our posts
					   (fg-refusal.h) */
	/* list mode (fg-chain.h): */
	FG_NOT_POSTED_LOOP,		/* the list's own mail came back */
	FG_NOT_POSTED_REJECTED,		/* the chain refused it */
	FG_NOT_POSTED_HELD,		/* the chain held it for a moderator */
	/* mail to LIST-WORD@ that is no control address (fg-listaddr.h),
	   or an automatic reply or bounce to a control address */
	FG_NOT_POSTED_CONTROL,
	FG_NOT_POSTED_COUNT
};

/* fg_classify - set the class of a message and the reason for it */
void fg_classify(const struct fg_classify_msg *msg, const char *secret,
		 enum fg_class *class_r, char **reason_r);
/* fg_classify_list - fg_classify() of a message delivered to a list's
   bridge recipient (list NULL: fg_classify()); *notice_r is the
   notice form of FG_CLASS_LIST_NOTICE, else NULL */
void fg_classify_list(const struct fg_classify_msg *msg, const char *secret,
		      const struct fg_listmail_list *list,
		      const char *envelope_from, enum fg_class *class_r,
		      const char **notice_r, char **reason_r);

/* fg_classify_auto_subject - the exact auto-reply prefix the subject
   begins with, or NULL */
const char *fg_classify_auto_subject(const char *subject);

/* fg_not_posted_name - the name of a reason not to post */
const char *fg_not_posted_name(enum fg_not_posted reason);
/* fg_not_posted_of_class - the reason not to post a class (not
   FG_CLASS_POST) */
enum fg_not_posted fg_not_posted_of_class(enum fg_class class);
/* fg_not_posted_mask - a list of reason names as a bit mask */
int fg_not_posted_mask(const char *names, unsigned int *mask_r,
		       const char **error_r);

#endif
