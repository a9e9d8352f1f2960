#ifndef FG_BOUNCE_H
#define FG_BOUNCE_H
/*
 * NAME
 *	fg-bounce 3 - delivery failure reports: who failed, how, and why
 * SYNOPSIS
 *	#include "fg-bounce.h"
 *
 *	int fg_bounce_parse(const void *data, size_t size,
 *			    const char *secret, const char *envelope_to,
 *			    struct fg_bounce **report_r,
 *			    const char **error_r);
 *	void fg_bounce_free(struct fg_bounce **report);
 *	char *fg_bounce_json(const struct fg_bounce *report);
 *	const char *fg_bounce_kind_name(enum fg_bounce_kind kind);
 * DESCRIPTION
 *	fg_bounce_parse() reads one message (RFC 5322, in memory; GMime
 *	must be started, fg_mail_init()) and says whether it is a
 *	delivery failure report, and if so for which recipients, with
 *	which status and why. The report is always set; report->bounce
 *	says whether the message is one.
 *
 *	Recognised, in this order:
 *
 *	An RFC 5965 feedback report (multipart/report;
 *	report-type=feedback-report, or a message/feedback-report part):
 *	report->feedback, not a bounce. Its recipients are the
 *	Original-Rcpt-To or Removal-Recipient fields, else the To of the
 *	returned message, with action "feedback" and kind complaint.
 *
 *	An Amazon SES notification mailed by SNS (JSON with
 *	notificationType Bounce or Complaint; a Delivery notification is
 *	none): its bouncedRecipients or complainedRecipients.
 *
 *	An RFC 3464 delivery status notification: a
 *	message/delivery-status part, or RFC 6533's
 *	message/global-delivery-status, anywhere in the MIME tree
 *	outside a returned message (with or without a multipart/report
 *	report-type; a daemon's mail that attaches a multipart/report
 *	message is unwrapped once, as gateways send it). One recipient
 *	per block: Original-Recipient, else Final-Recipient or
 *	X-Actual-Recipient (the word with an '@' of a pipe or file
 *	recipient); its Action, Status, Diagnostic-Code (a more precise
 *	code there wins over an X.0.0 Status); Reporting-MTA of the
 *	message block. DSN fields written as text, their MIME boundaries
 *	lost, are read the same way.
 *
 *	The text reports of MTAs that write no DSN (qmail and its
 *	descendants, Exim, old sendmail and Postfix, Exchange 2003,
 *	Lotus Domino and Notes, GroupWise, Yahoo, AOL, Gmail, mail.ru,
 *	Courier, antivirus and filtering gateways): a message from a
 *	null or daemon sender (Return-Path <>, MAILER-DAEMON,
 *	postmaster, "Mail Delivery ..." names), with X-Failed-Recipients,
 *	or with a returned original attached, whose subject or text
 *	says delivery failed or is delayed. The report's text is its
 *	first text parts up to the line that starts the returned message
 *	("--- Below this line is a copy of the message.", "------ This is
 *	a copy of the message", "----- Original message -----", ...).
 *	Recipients: X-Failed-Recipients (Exim, Gmail), then the
 *	addresses the text names, except the report's own From, To and
 *	envelope recipient, the returned message's sender, MAILER-DAEMON
 *	and postmaster, and addresses in quoted header lines ("To:",
 *	"From:", ...) and after "from" (MAIL FROM:<...>); when the text
 *	names none, the To of the returned message. For each, the text
 *	from its first mention to the next recipient's: the first
 *	enhanced status code (RFC 3463, "5.1.1", "#5.1.1"), else an SMTP
 *	reply code (550 -> 5.0.0), else a status its wording implies
 *	("user unknown" 5.1.1, "mailbox full" 5.2.2, a policy rejection
 *	5.7.1); the line that says it is the diagnostic.
 *
 *	The envelope recipient (envelope_to, NULL: not known) is read
 *	with fg_verp_parse() and secret: report->verp_state 1 with
 *	report->verp when it is one of our VERP addresses and its MAC
 *	verifies, -1 when it has the form but does not verify, 0
 *	otherwise. Mail to a verified VERP address is a bounce unless it
 *	is an automatic reply (Auto-Submitted, X-Autoreply,
 *	X-Autorespond, Precedence auto_reply, an auto-reply subject
 *	prefix) that reports no failure: report->auto_reply, not a
 *	bounce. Where the VERP address names the recipient, it is the one
 *	recipient of the report, even when the report names none or
 *	another (a forwarded address); status, action and diagnostic
 *	are those of the report's recipient of that address, else of its
 *	first recipient.
 *
 *	temporary: no recipient failed: every DSN action is delayed (or
 *	delivered, relayed, expanded), or a text report says it will
 *	retry ("will retry", "still being retried", "could not send
 *	message for past 4 hours", "Delivery Status Notification
 *	(Delay)") and does not say it gave up. A temporary report never
 *	counts as a failure.
 *
 *	kind, per recipient: FG_BOUNCE_POLICY for a 5.7.x status or a
 *	policy rejection (spam, DMARC, SPF, DKIM, blocklists, "message
 *	content rejected", viruses); FG_BOUNCE_SOFT for 4.x.x, 5.2.2
 *	(mailbox full), 5.2.x and 5.3.x; FG_BOUNCE_HARD for 5.1.x, 5.2.1
 *	and 5.4.4 (no such user, mailbox or domain). A status without a
 *	specific meaning (X.0.0 other than 5.1.0, 5.5.x, 5.6.x) is decided
 *	by the diagnostic's wording (policy, then mailbox full, then
 *	unknown user or domain), and a permanent failure nothing else
 *	explains is hard. FG_BOUNCE_COMPLAINT for feedback reports. A
 *	report that names no recipient but came to a recipient VERP
 *	address is soft, with no status.
 *
 *	fg_bounce_json() is the report as the JSON object `forumgate
 *	parse` prints (doc/bounces.md):
 *
 *	  {"recipients": [{"address", "status", "action", "kind",
 *	   "diagnostic"}], "reporting_mta", "temporary", "feedback",
 *	   "verp": {"list", "recipient" | "post", "valid"}}
 *
 *	status and reporting_mta are null when the report states none;
 *	feedback is the feedback type of a feedback report, else null;
 *	verp is there only for an envelope recipient of our VERP form.
 * BOUNDS
 *	GMime sees at most FG_BOUNCE_SCAN_MAX bytes of the message (the
 *	report comes first; the returned message after it is cut). At
 *	most FG_BOUNCE_MAX_PARTS MIME parts are visited,
 *	FG_BOUNCE_TEXT_MAX bytes of text read, FG_BOUNCE_MAX_RECIPIENTS
 *	recipients kept (report->truncated when there were more; a DSN of
 *	10,000 recipients costs its reading, nothing more), and a
 *	diagnostic is at most FG_BOUNCE_DIAG_MAX bytes on one line.
 *	Fields too long, without a colon, or of garbage are skipped.
 * DIAGNOSTICS
 *	fg_bounce_parse() returns 0, or -1 with *error_r when the data
 *	is not a mail message (or GMime is not started). Never logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-verp.h"

#define FG_BOUNCE_SCAN_MAX (1024 * 1024)
#define FG_BOUNCE_MAX_PARTS 100
#define FG_BOUNCE_TEXT_MAX (128 * 1024)
#define FG_BOUNCE_MAX_RECIPIENTS 100
#define FG_BOUNCE_DIAG_MAX 512

enum fg_bounce_kind {
	FG_BOUNCE_HARD,		/* the address is dead */
	FG_BOUNCE_SOFT,		/* it may work later: full, too large, 4xx */
	FG_BOUNCE_POLICY,	/* refused for what the mail is or who sent it */
	FG_BOUNCE_COMPLAINT,	/* a feedback report: the recipient
				   complained */
};

struct fg_bounce_recipient {
	char *address;		/* lowercase */
	char *status;		/* "5.1.1"; NULL: the report states none */
	char *action;		/* failed, delayed, delivered, relayed,
				   expanded, feedback */
	enum fg_bounce_kind kind;
	char *diagnostic;	/* one line; "" when none */
};

struct fg_bounce {
	bool bounce;		/* a delivery failure or delay report */
	bool feedback;		/* an RFC 5965 feedback report */
	bool auto_reply;	/* an automatic reply, no report */
	bool temporary;		/* no recipient failed (delays only) */
	bool truncated;		/* more than FG_BOUNCE_MAX_RECIPIENTS */
	const char *format;	/* "dsn", "feedback", "ses", "text", "verp", or
				   NULL when no report */
	char *feedback_type;	/* abuse, fraud, ...; NULL */
	char *reporting_mta;	/* NULL: not stated */
	struct fg_bounce_recipient *recipients;
	size_t n_recipients;
	int verp_state;		/* 1 verified, -1 forged, 0 none */
	struct fg_verp verp;	/* verp_state 1 */
	char *reason;		/* why it is, or is not, a report */
};

/* fg_bounce_parse - read a message as a delivery failure report */
int fg_bounce_parse(const void *data, size_t size, const char *secret,
		    const char *envelope_to, struct fg_bounce **report_r,
		    const char **error_r);
/* fg_bounce_free - free a report and set the pointer to NULL */
void fg_bounce_free(struct fg_bounce **report);
/* fg_bounce_json - the report as a JSON object (caller frees) */
char *fg_bounce_json(const struct fg_bounce *report);
/* fg_bounce_kind_name - hard, soft, policy or complaint */
const char *fg_bounce_kind_name(enum fg_bounce_kind kind);

#endif
