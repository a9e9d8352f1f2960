/*
 * NAME
 *	fg-bounce 3 - delivery failure reports: who failed, how, and why
 * DESCRIPTION
 *	See fg-bounce.h. GMime parses the message and decodes its parts;
 *	the fields of a delivery-status or feedback-report part are read
 *	with fg_mail_fields() (GMime leaves them as the text of a leaf
 *	part), and the text of a report without one is searched by hand
 *	for addresses, status codes and wording: no library knows the
 *	text formats of MTAs.
 *
 *	The wording tables are lowercase; the text is searched through a
 *	lowercase copy of it, so a search is one strstr().
 */
#include "fg-bounce.h"
#include "fg-classify.h"
#include "fg-common.h"
#include "fg-html.h"
#include "fg-mail-private.h"
#include "fg-mailparse.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>

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

/* Wording of a delivery failure report (subject or text). */
static const char *const fg_bounce_failure_words[] = {
	"undeliverable", "undelivered", "not delivered", "not be delivered",
	"could not deliver", "couldn't deliver", "cannot deliver",
	"can't deliver", "unable to deliver", "able to deliver",
	"failed to deliver", "delivery failed", "delivery failure",
	"delivery has failed", "delivery to the following",
	"delivery status notification", "delivery notification",
	"delivery problem", "delivery error", "error delivering",
	"trouble delivering", "failure notice", "failed permanently",
	"permanent error", "permanent failure", "fatal error",
	"returned mail", "returned to sender", "mail delivery",
	"non-delivery", "nondeliverable", "non delivery", "did not reach",
	"mail system error", "mail failure", "failed recipient",
	"following address", "following recipient", "error sending",
	"there was an error", "was rejected", "rejected by",
	"user unknown", "message could not", "failure delivery",
	"permanent delivery failure", "not reach", "undeliverable mail",
	"invalid user", "requested action not taken", "mail failed",
	"failed addresses", "smtp server: errors from",
};

/* Wording of a delay warning. */
static const char *const fg_bounce_delay_words[] = {
	"will retry", "will be retried", "still being retried",
	"will continue to", "will keep trying", "still trying",
	"could not send message for past", "delivery delayed",
	"delivery has been delayed", "has been delayed", "delayed mail",
	"(delay)", "message delayed", "not yet been delivered",
	"warning: message", "delivery is delayed",
	"delivery attempts will continue", "warning message only",
	"warning only", "do not need to resend", "no action is required",
};

/* Wording that the sender gave up (overrides a delay word). */
static const char *const fg_bounce_final_words[] = {
	"permanent", "given up", "gave up", "giving up",
	"will not be retried", "not be retried", "retry timeout exceeded",
	"retry time not reached for any host after a long",
};

/* A refusal for what the mail is or who sent it. */
static const char *const fg_bounce_policy_words[] = {
	"spam", "blacklist", "blocklist", "block list", "blocked",
	"dmarc", "spf", "dkim", "policy", "content rejected",
	"rejected due to", "reputation", "rbl", "spamhaus", "junk mail",
	"virus", "malware", "infected", "relay access denied",
	"relaying denied", "not permitted to relay", "unauthenticated",
	"access denied", "refused to accept", "denied by",
	"domain filter", "unsolicited", "bulk mail", "suspicious",
	"prohibited", "sender address rejected", "sender verify failed",
	"blacklisted", "not accepted due to", "content filter",
	"security reasons", "message filtered",
};

/* A full mailbox, a mail too large, a passing failure. */
static const char *const fg_bounce_soft_words[] = {
	"mailbox full", "mailbox is full", "mailbox is over", "over quota",
	"overquota", "quota exceeded", "exceeded storage", "full mailbox",
	"insufficient system storage", "too many messages",
	"message too large", "message size", "size limit",
	"mailbox has exceeded", "is full", "exceeds", "temporarily",
	"try again later", "timed out", "timeout", "connection refused",
	"deferred", "disk full", "out of storage", "quota",
};

/* A dead address: no such user, mailbox or domain. */
static const char *const fg_bounce_hard_words[] = {
	"user unknown", "unknown user", "no such user", "no such mailbox",
	"no such recipient", "no such address", "no mailbox",
	"mailbox not found", "mailbox unavailable", "does not exist",
	"doesn't exist", "not exist", "unknown recipient",
	"recipient unknown", "unknown address", "invalid recipient",
	"invalid address", "invalid mailbox", "not listed in", "not a valid",
	"account has been disabled", "account disabled",
	"account is disabled", "disabled", "inactive", "deactivated",
	"unrouteable", "unroutable", "host not found", "host unknown",
	"domain not found", "no such domain", "unknown domain",
	"name or service not known", "nxdomain", "not our customer",
	"not recognized", "user not found", "recipient not found",
	"addressee unknown", "address unknown", "doesn't have a",
	"no longer", "not found", "bad destination", "illegal alias",
	"invalid", "not known",
};

/* Lines (after leading dashes, stars and spaces) that begin the
   returned message. */
static const char *const fg_bounce_separators[] = {
	"below this line is a copy", "this is a copy of the message",
	"original message", "returned message", "original mail",
	"message headers follow", "headers of the original",
	"header of the original", "unsent message", "undelivered message",
	"the original message headers", "copy of the original",
	"message header follow", "rejected message", "original headers",
	"the attachment contains the original", "message text follows",
};

/* Header lines quoted in a report: their addresses are not the
   failed recipients (Exchange 2003 quotes the original To). */
static const char *const fg_bounce_quoted_headers[] = {
	"to:", "from:", "cc:", "sent:", "date:", "subject:", "reply-to:",
	"return-path:", "received:", "message-id:", "references:",
	"in-reply-to:", "sender:", "x-", "envelope-from", "delivered-to:",
};

/* Local parts of daemons, never a failed recipient. */
static const char *const fg_bounce_daemons[] = {
	"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon",
	"mailer_daemon", "mdaemon", "mail.delivery.system", "nobody",
	"post_master",
};

/* Display names of daemons. */
static const char *const fg_bounce_daemon_names[] = {
	"mail delivery", "mailer-daemon", "mailer daemon", "postmaster",
	"mail administrator", "mail system", "delivery subsystem",
	"mail deliver",
};

static const char *const fg_bounce_kind_names[] = {
	"hard", "soft", "policy", "complaint",
};

/* What the walk over the parts found. */
struct fg_bounce_walk {
	struct fg_bounce *b;
	unsigned int parts;
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

/* fg_bounce_kind_name - see fg-bounce.h */
const char *fg_bounce_kind_name(enum fg_bounce_kind kind)
{
	return (unsigned int)kind < FG_N_ELEMENTS(fg_bounce_kind_names) ?
		fg_bounce_kind_names[kind] : "unknown";
}

/* fg_bounce_any - the first of the words found in the lowercase text,
   or NULL */
static const char *fg_bounce_any(const char *low, const char *const *words,
				 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strstr(low, words[i]) != NULL)
			return words[i];
	}
	return NULL;
}

#define FG_BOUNCE_ANY(low, table) \
	fg_bounce_any(low, table, FG_N_ELEMENTS(table))

/* fg_bounce_lower - a lowercase copy of n bytes of text */
static char *fg_bounce_lower(const char *s, size_t n)
{
	char *low = fg_xstrndup(s, n);

	return fg_str_lower(low);
}

/* fg_bounce_one_line - text as one line: white space collapsed, at
   most FG_BOUNCE_DIAG_MAX bytes, not cut inside a UTF-8 character */
static char *fg_bounce_one_line(const char *s, size_t n)
{
	struct fg_buf out = { 0 };
	bool space = false;

	for (size_t i = 0; i < n && s[i] != '\0' &&
		     out.len < FG_BOUNCE_DIAG_MAX + 4; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			space = out.len > 0;
			continue;
		}
		if (c == ' ') {
			space = out.len > 0;
			continue;
		}
		if (space)
			fg_buf_putc(&out, ' ');
		space = false;
		fg_buf_putc(&out, (char)c);
	}
	char *line = fg_buf_steal(&out);
	line[fg_utf8_prefix_len(line, FG_BOUNCE_DIAG_MAX)] = '\0';
	return line;
}

/* fg_bounce_status_at - an enhanced status code (RFC 3463) starts at
   p: class 2, 4 or 5, subject and detail of 1-3 digits, not part of a
   longer dotted number; its length, or 0 */
static size_t fg_bounce_status_at(const char *start, const char *p)
{
	size_t n = 1, digits;

	if (*p != '2' && *p != '4' && *p != '5')
		return 0;
	if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
		return 0;
	for (int field = 0; field < 2; field++) {
		if (p[n] != '.')
			return 0;
		n++;
		for (digits = 0; isdigit((unsigned char)p[n]) && digits < 4;
		     digits++)
			n++;
		if (digits == 0 || digits > 3)
			return 0;
	}
	if (isalnum((unsigned char)p[n]) ||
	    (p[n] == '.' && isdigit((unsigned char)p[n + 1])))
		return 0;
	return n;
}

/* fg_bounce_smtp_at - an SMTP reply code of a failure (4xx, 5xx)
   starts at p, as "550 ", "550-" or "554:" */
static bool fg_bounce_smtp_at(const char *start, const char *p)
{
	if ((*p != '4' && *p != '5') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) ||
	    (p[3] != ' ' && p[3] != '-' && p[3] != ':'))
		return false;
	if (p[1] > '5')
		return false;
	return p == start || p[-1] == ' ' || p[-1] == '\t' ||
		p[-1] == '\n' || p[-1] == '(' || p[-1] == '[' ||
		p[-1] == '"' || p[-1] == '\'' || p[-1] == ':' ||
		p[-1] == '=' || p[-1] == '#';
}

/* fg_bounce_find_status - the first enhanced status code of a failure
   (4.x.x, 5.x.x) in text[0, n), else "C.0.0" of the first SMTP failure
   code; NULL when none. *at_r is where it was found. */
static char *fg_bounce_find_status(const char *text, size_t n,
				   const char **at_r)
{
	const char *smtp = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t len = fg_bounce_status_at(text, text + i);

		if (len > 0 && i + len <= n && text[i] != '2') {
			*at_r = text + i;
			return fg_xstrndup(text + i, len);
		}
		if (smtp == NULL && i + 4 <= n &&
		    fg_bounce_smtp_at(text, text + i))
			smtp = text + i;
	}
	if (smtp == NULL)
		return NULL;
	*at_r = smtp;
	return fg_xasprintf("%c.0.0", *smtp);
}

/* fg_bounce_line_of - the whole line around p in text[0, n) */
static char *fg_bounce_line_of(const char *text, size_t n, const char *p)
{
	const char *s = p, *e = p;

	while (s > text && s[-1] != '\n')
		s--;
	while (e < text + n && *e != '\n')
		e++;
	return fg_bounce_one_line(s, (size_t)(e - s));
}

/* fg_bounce_generic - a status whose code says nothing specific, so
   the wording decides */
static bool fg_bounce_generic(const char *status)
{
	return strcmp(status + 1, ".0.0") == 0 ||
		strncmp(status + 1, ".5.", 3) == 0 ||
		strncmp(status + 1, ".6.", 3) == 0 ||
		(strncmp(status + 1, ".3.0", 4) == 0 && status[5] == '\0') ||
		(strncmp(status + 1, ".2.0", 4) == 0 && status[5] == '\0') ||
		(strncmp(status + 1, ".1.0", 4) == 0 && status[5] == '\0');
}

/* fg_bounce_kind_of - the kind of a failure from its status (NULL:
   none) and the lowercase wording of its diagnostic */
static enum fg_bounce_kind fg_bounce_kind_of(const char *status,
					     const char *low)
{
	if (status != NULL && status[0] == '4')
		return FG_BOUNCE_SOFT;
	if (status != NULL && strncmp(status, "5.7.", 4) == 0)
		return FG_BOUNCE_POLICY;
	if (status != NULL && !fg_bounce_generic(status)) {
		if (strncmp(status, "5.1.", 4) == 0 ||
		    strcmp(status, "5.2.1") == 0 ||
		    strcmp(status, "5.4.4") == 0)
			return FG_BOUNCE_HARD;
		if (strncmp(status, "5.2.", 4) == 0 ||
		    strncmp(status, "5.3.", 4) == 0 ||
		    strcmp(status, "5.4.7") == 0)
			return FG_BOUNCE_SOFT;
	}
	if (FG_BOUNCE_ANY(low, fg_bounce_policy_words) != NULL)
		return FG_BOUNCE_POLICY;
	if (FG_BOUNCE_ANY(low, fg_bounce_hard_words) != NULL)
		return FG_BOUNCE_HARD;
	if (FG_BOUNCE_ANY(low, fg_bounce_soft_words) != NULL)
		return FG_BOUNCE_SOFT;
	if (status != NULL && strncmp(status, "5.2.", 4) == 0)
		return FG_BOUNCE_SOFT;
	return FG_BOUNCE_HARD;
}

/* fg_bounce_clean_address - an address from a DSN field or text
   ("rfc822; <a@b>"), lowercase; NULL when it is none */
static char *fg_bounce_clean_address(const char *value)
{
	const char *semi = strchr(value, ';'), *p, *end;
	char *addr;

	p = semi != NULL ? semi + 1 : value;
	for (;;) {
		/* the word with the '@' ("|/usr/bin/prog user@host args",
		   a pipe Exim delivered to) */
		while (*p == ' ' || *p == '\t' || *p == '<' || *p == '"')
			p++;
		end = p + strcspn(p, " \t<>\"()[],;");
		if (*end == '\0' || memchr(p, '@', (size_t)(end - p)) != NULL)
			break;
		p = end + 1;
	}
	while (end > p && end[-1] == '.')
		end--;
	if (end == p || (size_t)(end - p) > FG_BOUNCE_ADDRESS_MAX)
		return NULL;
	addr = fg_str_lower(fg_xstrndup(p, (size_t)(end - p)));
	char *at = strrchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '.') == NULL) {
		free(addr);
		return NULL;
	}
	for (const char *c = addr; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x21 || *c == 0x7f) {
			free(addr);
			return NULL;
		}
	}
	return addr;
}

/* fg_bounce_token - a short field value, one line, bounded; NULL when
   empty */
static char *fg_bounce_token(const char *value)
{
	const char *semi = strchr(value, ';');
	char *v;

	if (semi != NULL && semi - value < 16)	/* "dns; host" */
		value = semi + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return NULL;
	v = fg_bounce_one_line(value, strlen(value));
	v[fg_utf8_prefix_len(v, FG_BOUNCE_TOKEN_MAX)] = '\0';
	if (*v == '\0') {
		free(v);
		return NULL;
	}
	return v;
}

/* fg_bounce_clear_recipients - free the recipients, none left */
static void fg_bounce_clear_recipients(struct fg_bounce *b)
{
	for (size_t i = 0; i < b->n_recipients; i++) {
		free(b->recipients[i].address);
		free(b->recipients[i].status);
		free(b->recipients[i].action);
		free(b->recipients[i].diagnostic);
	}
	free(b->recipients);
	b->recipients = NULL;
	b->n_recipients = 0;
}

/* fg_bounce_find - the recipient of that address, or NULL */
static struct fg_bounce_recipient *fg_bounce_find(struct fg_bounce *b,
						  const char *address)
{
	for (size_t i = 0; i < b->n_recipients; i++) {
		if (strcmp(b->recipients[i].address, address) == 0)
			return &b->recipients[i];
	}
	return NULL;
}

/* fg_bounce_add - a new recipient (address taken), or NULL when it is
   there already or there are enough */
static struct fg_bounce_recipient *fg_bounce_add(struct fg_bounce *b,
						 char *address)
{
	struct fg_bounce_recipient *r;

	if (fg_bounce_find(b, address) != NULL) {
		free(address);
		return NULL;
	}
	if (b->n_recipients >= FG_BOUNCE_MAX_RECIPIENTS) {
		b->truncated = true;
		free(address);
		return NULL;
	}
	if (b->n_recipients % 8 == 0)
		b->recipients = fg_xrealloc(b->recipients,
					    (b->n_recipients + 8) *
					    sizeof(*b->recipients));
	r = &b->recipients[b->n_recipients++];
	memset(r, 0, sizeof(*r));
	r->address = address;
	return r;
}

/* fg_bounce_block_end - a DSN or feedback block ended: keep its
   recipient */
static void fg_bounce_block_end(struct fg_bounce_walk *w)
{
	char *addr = NULL;
	struct fg_bounce_recipient *r;

	if (w->original_rcpt != NULL)
		addr = fg_bounce_clean_address(w->original_rcpt);
	if (addr == NULL && w->final != NULL)
		addr = fg_bounce_clean_address(w->final);
	if (addr == NULL && w->final != NULL && w->status != NULL &&
	    w->orphan_status == NULL) {
		const char *v = w->status + strspn(w->status, " \t");
		size_t len = fg_bounce_status_at(v, v);
		if (len > 0)
			w->orphan_status = fg_xstrndup(v, len);
	}
	if (addr != NULL && (r = fg_bounce_add(w->b, addr)) != NULL) {
		const char *at;
		char *diag_status = NULL, *low;

		r->action = w->action != NULL ? fg_bounce_token(w->action) :
			NULL;
		if (r->action != NULL)
			fg_str_lower(r->action)[strcspn(r->action,
							" \t(;")] = '\0';
		if (r->action == NULL || *r->action == '\0') {
			free(r->action);
			r->action = fg_xstrdup(w->feedback ? "feedback" :
					       "failed");
		}
		r->diagnostic = w->diag != NULL ?
			fg_bounce_one_line(w->diag, strlen(w->diag)) :
			fg_xstrdup("");
		if (w->status != NULL) {
			const char *v = w->status + strspn(w->status, " \t");
			size_t len = fg_bounce_status_at(v, v);
			r->status = len > 0 ? fg_xstrndup(v, len) : NULL;
		}
		/* "Status: 5.0.0" with "550 5.1.1 user unknown" in the
		   diagnostic: the diagnostic is more precise */
		diag_status = fg_bounce_find_status(r->diagnostic,
						    strlen(r->diagnostic),
						    &at);
		if (diag_status != NULL && strchr(diag_status, '.') != NULL &&
		    strcmp(diag_status + 1, ".0.0") != 0 &&
		    (r->status == NULL ||
		     (strcmp(r->status + 1, ".0.0") == 0 &&
		      r->status[0] == diag_status[0]))) {
			free(r->status);
			r->status = diag_status;
			diag_status = NULL;
		} else if (r->status == NULL && diag_status != NULL) {
			r->status = diag_status;
			diag_status = NULL;
		}
		free(diag_status);
		low = fg_bounce_lower(r->diagnostic, strlen(r->diagnostic));
		r->kind = w->feedback ? FG_BOUNCE_COMPLAINT :
			fg_bounce_kind_of(r->status, low);
		free(low);
	}
	free(w->final);
	free(w->original_rcpt);
	free(w->action);
	free(w->status);
	free(w->diag);
	w->final = w->original_rcpt = w->action = w->status = w->diag = NULL;
}

/* fg_bounce_set - keep the first value of a field of a block */
static void fg_bounce_set(char **slot, const char *value)
{
	if (*slot == NULL && strlen(value) <= FG_BOUNCE_TEXT_MAX)
		*slot = fg_xstrdup(value);
}

/* fg_bounce_dsn_field - one field of a delivery-status or
   feedback-report part */
static void fg_bounce_dsn_field(void *ctx, const char *name,
				const char *value)
{
	struct fg_bounce_walk *w = ctx;

	if (*name == '\0') {
		fg_bounce_block_end(w);
		return;
	}
	if (strcasecmp(name, "Final-Recipient") == 0 ||
	    strcasecmp(name, "Original-Recipient") == 0) {
		char **slot = name[0] == 'F' || name[0] == 'f' ?
			&w->final : &w->original_rcpt;

		/* a new recipient without the empty line before it */
		if (*slot != NULL)
			fg_bounce_block_end(w);
		fg_bounce_set(slot, value);
	} else if (strcasecmp(name, "X-Actual-Recipient") == 0) {
		fg_bounce_set(&w->final, value);
	} else if (strcasecmp(name, "Original-Rcpt-To") == 0 ||
		   strcasecmp(name, "Removal-Recipient") == 0) {
		/* a feedback report names each in one field */
		if (w->original_rcpt != NULL)
			fg_bounce_block_end(w);
		fg_bounce_set(&w->original_rcpt, value);
	} else if (strcasecmp(name, "Action") == 0) {
		fg_bounce_set(&w->action, value);
	} else if (strcasecmp(name, "Status") == 0) {
		fg_bounce_set(&w->status, value);
	} else if (strcasecmp(name, "Diagnostic-Code") == 0) {
		const char *semi = strchr(value, ';');
		fg_bounce_set(&w->diag, semi != NULL && semi - value < 16 ?
			      semi + 1 : value);
	} else if (strcasecmp(name, "Reporting-MTA") == 0 &&
		   w->b->reporting_mta == NULL) {
		w->b->reporting_mta = fg_bounce_token(value);
	} else if (strcasecmp(name, "Feedback-Type") == 0 &&
		   w->b->feedback_type == NULL) {
		w->b->feedback_type = fg_bounce_token(value);
		if (w->b->feedback_type != NULL)
			fg_str_lower(w->b->feedback_type);
	}
}

/* fg_bounce_orig_field - a header of the returned message */
static void fg_bounce_orig_field(void *ctx, const char *name,
				 const char *value)
{
	struct fg_bounce_walk *w = ctx;

	if (strcasecmp(name, "To") == 0 && w->orig_to == NULL)
		w->orig_to = fg_bounce_clean_address(value);
	else if ((strcasecmp(name, "From") == 0 ||
		  strcasecmp(name, "Return-Path") == 0) &&
		 w->orig_from == NULL) {
		const char *lt = strchr(value, '<');
		w->orig_from = fg_bounce_clean_address(lt != NULL ? lt :
						       value);
	}
}

/* fg_bounce_mailbox - the address of the first mailbox of a list,
   lowercase, or NULL */
static char *fg_bounce_mailbox(InternetAddressList *list)
{
	if (list == NULL || internet_address_list_length(list) == 0)
		return NULL;
	InternetAddress *ia = internet_address_list_get_address(list, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
		return NULL;
	const char *addr = internet_address_mailbox_get_addr(
		INTERNET_ADDRESS_MAILBOX(ia));
	return addr != NULL ? fg_bounce_clean_address(addr) : NULL;
}

/* fg_bounce_text - append a text part to the report's text */
static void fg_bounce_text(struct fg_bounce_walk *w, GMimePart *part,
			   bool html)
{
	char *text;

	if (w->text.len >= FG_BOUNCE_TEXT_MAX)
		return;
	text = fg_mail_part_utf8(part, FG_BOUNCE_TEXT_MAX - w->text.len);
	if (html) {
		char *plain = fg_html_to_text(text, strlen(text));
		free(text);
		text = plain;
	}
	if (w->text.len > 0)
		fg_buf_putc(&w->text, '\n');
	fg_buf_puts(&w->text, text);
	free(text);
}

/* fg_bounce_leaf - a leaf part: report fields, returned headers or
   the report's text */
static void fg_bounce_leaf(struct fg_bounce_walk *w, GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(
		GMIME_OBJECT(part));
	const char *disposition = g_mime_object_get_disposition(
		GMIME_OBJECT(part));
	bool attachment = (disposition != NULL &&
			   strcasecmp(disposition, "attachment") == 0) ||
		g_mime_part_get_filename(part) != NULL;
	char *text;
	size_t len;

	if (ct == NULL)
		return;
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message",
					"global-delivery-status") ||
	    g_mime_content_type_is_type(ct, "message", "feedback-report")) {
		bool feedback = g_mime_content_type_is_type(
			ct, "message", "feedback-report");

		if ((feedback && w->feedback) || (!feedback && w->dsn))
			return;		/* one report is read */
		if (feedback)
			w->feedback = true;
		else
			w->dsn = true;
		text = fg_mail_part_utf8(part, FG_BOUNCE_TEXT_MAX);
		fg_mail_fields(text, fg_bounce_dsn_field, w);
		fg_bounce_block_end(w);
		free(text);
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message",
					       "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message",
					       "global-headers")) {
		w->original = true;
		text = fg_mail_part_bytes(part, FG_BOUNCE_TEXT_MAX, &len);
		fg_mail_fields(text, fg_bounce_orig_field, w);
		free(text);
	} else if (!attachment && w->n_text < FG_BOUNCE_TEXT_PARTS &&
		   (g_mime_content_type_is_type(ct, "text", "plain") ||
		    (g_mime_content_type_is_type(ct, "text", "html") &&
		     w->n_text == 0))) {
		/* read later, when the message may be a report */
		w->text_html[w->n_text] = g_mime_content_type_is_type(
			ct, "text", "html");
		w->text_parts[w->n_text++] = part;
	}
}

/* fg_bounce_visit - walk the parts of the report, bounded; a returned
   message is not looked into (its parts are someone else's) */
static void fg_bounce_visit(struct fg_bounce_walk *w, GMimeObject *obj,
			    unsigned int depth)
{
	if (obj == NULL || ++w->parts > FG_BOUNCE_MAX_PARTS ||
	    depth > FG_MAIL_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		for (int i = 0; i < n; i++)
			fg_bounce_visit(w, g_mime_multipart_get_part(mp, i),
					depth + 1);
		/* a report whose boundary lines were lost is all prologue */
		if (n == 0 && w->prologue == NULL)
			w->prologue = g_mime_multipart_get_prologue(mp);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));

		w->original = true;
		if (inner == NULL)
			return;
		GMimeObject *body = g_mime_message_get_mime_part(inner);
		GMimeContentType *ict = body != NULL ?
			g_mime_object_get_content_type(body) : NULL;
		if (w->unwrap && !w->dsn && ict != NULL &&
		    g_mime_content_type_is_type(ict, "multipart", "report")) {
			w->unwrap = false;
			fg_bounce_visit(w, body, depth + 1);
			return;
		}
		if (w->orig_to == NULL)
			w->orig_to = fg_bounce_mailbox(
				g_mime_message_get_to(inner));
		if (w->orig_from == NULL)
			w->orig_from = fg_bounce_mailbox(
				g_mime_message_get_from(inner));
		const char *hm = g_mime_object_get_header(
			GMIME_OBJECT(inner), "X-HmXmrOriginalRecipient");
		if (hm != NULL && w->orig_rcpt == NULL)
			w->orig_rcpt = fg_bounce_clean_address(hm);
	} else if (GMIME_IS_PART(obj)) {
		fg_bounce_leaf(w, GMIME_PART(obj));
	}
}

/* fg_bounce_separator - the line starts the returned message */
static bool fg_bounce_separator(const char *low, size_t len)
{
	size_t i = 0;

	while (i < len && strchr("-=*_#+>| \t", low[i]) != NULL)
		i++;
	for (size_t k = 0; k < FG_N_ELEMENTS(fg_bounce_separators); k++) {
		size_t n = strlen(fg_bounce_separators[k]);
		if (len - i >= n &&
		    memcmp(low + i, fg_bounce_separators[k], n) == 0)
			return true;
	}
	return false;
}

/* fg_bounce_cut - the length of the report's own text: up to the line
   that begins the returned message */
static size_t fg_bounce_cut(const char *low)
{
	const char *p = low;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (fg_bounce_separator(p, len))
			return (size_t)(p - low);
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return strlen(low);
}

/* fg_bounce_local_is_daemon - the local part of an address (or a bare
   name) is a daemon's */
static bool fg_bounce_local_is_daemon(const char *addr)
{
	size_t local = strcspn(addr, "@");

	for (size_t i = 0; i < FG_N_ELEMENTS(fg_bounce_daemons); i++) {
		size_t n = strlen(fg_bounce_daemons[i]);
		if (local == n && strncasecmp(addr, fg_bounce_daemons[i],
					      n) == 0)
			return true;
	}
	return false;
}

/* fg_bounce_daemon_sender - the message comes from a null or daemon
   sender */
static bool fg_bounce_daemon_sender(GMimeMessage *msg)
{
	const char *rp = fg_mail_header(msg, "Return-Path");
	InternetAddressList *from = g_mime_message_get_from(msg);
	const char *raw = fg_mail_header(msg, "From");

	if (rp != NULL) {
		rp += strspn(rp, " \t\r\n<");
		if (*rp == '>' || *rp == '\0' ||
		    fg_bounce_local_is_daemon(rp))
			return true;
	}
	if (raw != NULL) {
		char *low = fg_bounce_lower(raw, strlen(raw));
		bool daemon = FG_BOUNCE_ANY(low, fg_bounce_daemon_names) !=
			NULL || strstr(low, "<>") != NULL;

		free(low);
		if (daemon)
			return true;
	}
	int n = from != NULL ? internet_address_list_length(from) : 0;
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(from,
									 i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *addr = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL || *addr == '\0' ||
		    fg_bounce_local_is_daemon(addr))
			return true;
	}
	return false;
}

/* fg_bounce_auto_reply - the message says it is an automatic reply;
   the header that says so, or NULL */
static const char *fg_bounce_auto_reply(GMimeMessage *msg,
					const char *subject)
{
	const char *v;

	if ((v = fg_mail_header(msg, "Auto-Submitted")) != NULL &&
	    strncasecmp(v + strspn(v, " \t"), "no", 2) != 0)
		return "Auto-Submitted";
	if (fg_mail_header(msg, "X-Autoreply") != NULL)
		return "X-Autoreply";
	if (fg_mail_header(msg, "X-Autorespond") != NULL)
		return "X-Autorespond";
	if ((v = fg_mail_header(msg, "Precedence")) != NULL &&
	    strncasecmp(v + strspn(v, " \t"), "auto_reply", 10) == 0)
		return "Precedence: auto_reply";
	if (subject != NULL && fg_classify_auto_subject(subject) != NULL)
		return "an automatic reply's subject";
	return NULL;
}

/* What an address in a report's text may not be. */
struct fg_bounce_excluded {
	const char *addrs[8];
	size_t n;
};

/* fg_bounce_is_excluded - the address is the report's sender or
   receiver, the returned message's sender, or (daemons) a daemon */
static bool fg_bounce_is_excluded(const struct fg_bounce_excluded *ex,
				  const char *addr, bool daemons)
{
	for (size_t i = 0; i < ex->n; i++) {
		if (ex->addrs[i] != NULL && strcmp(ex->addrs[i], addr) == 0)
			return true;
	}
	return daemons && fg_bounce_local_is_daemon(addr);
}

/* fg_bounce_quoted_line - the line holding p is a quoted header line
   ("To: ...") */
static bool fg_bounce_quoted_line(const char *low, const char *p)
{
	const char *s = p;

	/* a header line is short before its address */
	while (s > low && s[-1] != '\n') {
		if (p - s > FG_BOUNCE_LINE_LOOKBACK)
			return false;
		s--;
	}
	while (*s == ' ' || *s == '\t' || *s == '>')
		s++;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_bounce_quoted_headers); i++) {
		const char *h = fg_bounce_quoted_headers[i];
		if (strncmp(s, h, strlen(h)) == 0)
			return true;
	}
	return false;
}

/* fg_bounce_from_before - "from" right before the address (MAIL
   FROM:<...>, envelope-from <...>, "from ..."): the sender */
static bool fg_bounce_from_before(const char *low, const char *start)
{
	const char *s = start;
	size_t back = 0;

	while (s > low && back < FG_BOUNCE_FROM_LOOKBACK && s[-1] != '\n') {
		s--;
		back++;
	}
	char *window = fg_xstrndup(s, (size_t)(start - s));
	bool from = (strstr(window, "from") != NULL &&
		     strstr(window, "expanded from") == NULL) ||
		strstr(window, "sender") != NULL ||
		strstr(window, "return-path") != NULL;
	free(window);
	return from;
}

/* One address the text names, and where. */
struct fg_bounce_mention {
	char *address;
	size_t line;		/* offset of its line in the text */
};

/* fg_bounce_mentions - the addresses the text names (not excluded,
   each once, in order); loose: also those on quoted header lines
   ("To: ...") and daemons' (postmaster@ may be the one that failed) */
static size_t fg_bounce_mentions(const char *low, size_t n,
				 const struct fg_bounce_excluded *ex,
				 bool loose, struct fg_bounce_mention *out,
				 size_t max)
{
	static const char local_chars[] =
		"abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-";
	size_t count = 0;

	for (const char *at = memchr(low, '@', n); at != NULL && count < max;
	     at = memchr(at + 1, '@', n - (size_t)(at + 1 - low))) {
		const char *s = at, *e = at + 1;

		while (s > low && strchr(local_chars, s[-1]) != NULL &&
		       s[-1] != '\0' && at - s < 64)
			s--;
		while (e < low + n && (isalnum((unsigned char)*e) ||
				       *e == '.' || *e == '-') &&
		       e - at < 256)
			e++;
		while (e > at + 1 && e[-1] == '.')
			e--;
		while (s < at && *s == '.')
			s++;
		if (s == at || e == at + 1)
			continue;
		char *addr = fg_xstrndup(s, (size_t)(e - s));
		char *clean = fg_bounce_clean_address(addr);
		free(addr);
		if (clean == NULL || fg_bounce_is_excluded(ex, clean, !loose) ||
		    (!loose && fg_bounce_quoted_line(low, s)) ||
		    fg_bounce_from_before(low, s)) {
			free(clean);
			continue;
		}
		size_t k;
		for (k = 0; k < count; k++) {
			if (strcmp(out[k].address, clean) == 0)
				break;
		}
		if (k < count) {
			free(clean);
			continue;
		}
		const char *line = s;
		while (line > low && line[-1] != '\n' &&
		       s - line < FG_BOUNCE_LINE_LOOKBACK)
			line--;
		out[count].address = clean;
		out[count].line = (size_t)(line - low);
		count++;
	}
	return count;
}

/* fg_bounce_reason_line - the diagnostic of a recipient whose text
   has no status code: the first line after its address's line that
   says why (a hard, soft or policy wording), else the first line
   with text after it, else its own line */
static char *fg_bounce_reason_line(const char *text, const char *low,
				   size_t start, size_t end, size_t n)
{
	const char *first = NULL;
	size_t p = start;

	while (p < end && text[p] != '\n')
		p++;
	while (p < end) {
		size_t e = p + 1;
		while (e < end && text[e] != '\n')
			e++;
		if (fg_line_rtrim(text + p + 1, e - p - 1) > 0) {
			char *line = fg_bounce_lower(low + p + 1, e - p - 1);
			bool says = FG_BOUNCE_ANY(line, fg_bounce_policy_words)
				!= NULL ||
				FG_BOUNCE_ANY(line, fg_bounce_hard_words) !=
				NULL ||
				FG_BOUNCE_ANY(line, fg_bounce_soft_words) !=
				NULL;
			free(line);
			if (says)
				return fg_bounce_line_of(text, n, text + p + 1);
			if (first == NULL)
				first = text + p + 1;
		}
		p = e;
	}
	return fg_bounce_line_of(text, n, first != NULL ? first :
				 text + start);
}

/* fg_bounce_text_recipient - status, diagnostic and kind of one
   recipient of a text report from its part of the text */
static void fg_bounce_text_recipient(struct fg_bounce_recipient *r,
				     const char *text, const char *low,
				     size_t start, size_t end, size_t n,
				     bool temporary)
{
	const char *at = NULL;
	char *status = fg_bounce_find_status(text + start, end - start, &at);
	char *diag_low;

	if (status == NULL) {
		/* the code may stand before the list of recipients */
		status = fg_bounce_find_status(text, n, &at);
	}
	if (status != NULL && strchr(status, '.') != NULL &&
	    strcmp(status + 1, ".0.0") == 0) {
		/* "550 ... (#5.1.1)": the enhanced code further on */
		const char *at2;
		char *better = fg_bounce_find_status(at + 3,
						     (size_t)(text + n - at -
							      3), &at2);
		if (better != NULL && strcmp(better + 1, ".0.0") != 0 &&
		    better[0] == status[0] &&
		    (size_t)(at2 - text) < (end > start ? end : n)) {
			free(status);
			status = better;
			at = at2;
		} else {
			free(better);
		}
	}
	if (at != NULL) {
		r->diagnostic = fg_bounce_line_of(text, n, at);
	} else {
		r->diagnostic = fg_bounce_reason_line(text, low, start, end, n);
	}
	r->status = status;
	r->action = fg_xstrdup(temporary ? "delayed" : "failed");
	diag_low = fg_bounce_lower(low + start, end - start);
	r->kind = temporary ? FG_BOUNCE_SOFT :
		fg_bounce_kind_of(status, diag_low);
	free(diag_low);
}

/* fg_bounce_read_text - recipients of a report without DSN fields,
   from X-Failed-Recipients and the text */
static void fg_bounce_read_text(struct fg_bounce *b, GMimeMessage *msg,
				struct fg_bounce_walk *w, const char *text,
				const char *low, size_t n,
				const char *envelope_to)
{
	struct fg_bounce_mention mentions[FG_BOUNCE_MAX_RECIPIENTS];
	struct fg_bounce_excluded ex = { .n = 0 }, few = { .n = 0 };
	const char *failed = fg_mail_header(msg, "X-Failed-Recipients");
	char *from = fg_bounce_mailbox(g_mime_message_get_from(msg));
	char *to = fg_bounce_mailbox(g_mime_message_get_to(msg));
	char *env = envelope_to != NULL ?
		fg_bounce_clean_address(envelope_to) : NULL;
	size_t count = 0;

	ex.addrs[ex.n++] = from;
	ex.addrs[ex.n++] = to;
	ex.addrs[ex.n++] = env;
	ex.addrs[ex.n++] = w->orig_from;
	few.addrs[few.n++] = env;
	few.addrs[few.n++] = w->orig_from;
	if (failed != NULL) {
		/* Exim's and Gmail's list is the truth; their mentions in
		   the text only give the status */
		char *copy = fg_xstrndup(failed, strnlen(failed,
						       FG_BOUNCE_TEXT_MAX));
		char *save = NULL;
		for (char *tok = strtok_r(copy, ", \t\r\n", &save);
		     tok != NULL; tok = strtok_r(NULL, ", \t\r\n", &save)) {
			char *addr = fg_bounce_clean_address(tok);
			if (addr != NULL)
				(void)fg_bounce_add(b, addr);
		}
		free(copy);
	}
	/* the addresses the text names; when there are none, those on
	   quoted header lines and daemons'; then even the report's own
	   From and To (anonymised reports reuse them) */
	for (int level = 0; level < 3; level++) {
		count = fg_bounce_mentions(low, n, level < 2 ? &ex : &few,
					   level > 0, mentions,
					   FG_BOUNCE_MAX_RECIPIENTS);
		if (b->n_recipients > 0)
			break;
		for (size_t i = 0; i < count; i++)
			(void)fg_bounce_add(b, fg_xstrdup(
						    mentions[i].address));
		if (b->n_recipients > 0)
			break;
		for (size_t i = 0; i < count; i++)
			free(mentions[i].address);
		count = 0;
	}
	if (b->n_recipients == 0 && w->orig_to != NULL &&
	    !fg_bounce_is_excluded(&few, w->orig_to, false))
		(void)fg_bounce_add(b, fg_xstrdup(w->orig_to));
	for (size_t i = 0; i < b->n_recipients; i++) {
		struct fg_bounce_recipient *r = &b->recipients[i];
		size_t start = 0, end = n, k;

		for (k = 0; k < count; k++) {
			if (strcmp(mentions[k].address, r->address) == 0)
				break;
		}
		if (k < count) {
			start = mentions[k].line;
			/* up to the next recipient mentioned on another line */
			for (size_t j = k + 1; j < count; j++) {
				if (mentions[j].line > start &&
				    fg_bounce_find(b, mentions[j].address) !=
				    NULL) {
					end = mentions[j].line;
					break;
				}
			}
		}
		fg_bounce_text_recipient(r, text, low, start, end, n,
					 b->temporary);
	}
	for (size_t i = 0; i < count; i++)
		free(mentions[i].address);
	free(from);
	free(to);
	free(env);
}

/* fg_bounce_verp_recipient - where the VERP address names the
   recipient, it is the one recipient of the report */
static void fg_bounce_verp_recipient(struct fg_bounce *b)
{
	struct fg_bounce_recipient *r, one;
	const char *address = b->verp.recipient;

	if (b->verp_state != 1 || b->verp.kind != FG_VERP_RECIPIENT ||
	    address == NULL)
		return;
	r = fg_bounce_find(b, address);
	if (r == NULL && b->n_recipients > 0)
		r = &b->recipients[0];
	if (r != NULL) {
		one = *r;
		memset(r, 0, sizeof(*r));
		free(one.address);
	} else {
		memset(&one, 0, sizeof(one));
		one.action = fg_xstrdup(b->temporary ? "delayed" : "failed");
		one.diagnostic = fg_xstrdup("");
		/* a report nothing could be read from says no more than
		   that something came back */
		one.kind = FG_BOUNCE_SOFT;
	}
	one.address = fg_xstrdup(address);
	fg_bounce_clear_recipients(b);
	b->recipients = fg_xmalloc(sizeof(*b->recipients));
	b->recipients[0] = one;
	b->n_recipients = 1;
}

/* fg_bounce_temporary - no recipient of a DSN failed */
static bool fg_bounce_dsn_temporary(const struct fg_bounce *b)
{
	for (size_t i = 0; i < b->n_recipients; i++) {
		const char *a = b->recipients[i].action;
		if (strcmp(a, "delayed") != 0 && strcmp(a, "delivered") != 0 &&
		    strcmp(a, "relayed") != 0 && strcmp(a, "expanded") != 0)
			return false;
	}
	return b->n_recipients > 0;
}

/* fg_bounce_text_dsn - DSN fields written in the text of a report
   whose MIME structure was lost ("Final-Recipient:" at the start of a
   line): read them as the delivery-status part */
static void fg_bounce_text_dsn(struct fg_bounce_walk *w, const char *text,
			       const char *low)
{
	static const char *const starts[] = {
		"\nreporting-mta:", "\noriginal-recipient:",
		"\nfinal-recipient:",
	};
	const char *first = NULL;

	if (strstr(low, "\nfinal-recipient:") == NULL)
		return;
	for (size_t i = 0; i < FG_N_ELEMENTS(starts); i++) {
		const char *p = strstr(low, starts[i]);
		if (p != NULL && (first == NULL || p < first))
			first = p;
	}
	fg_mail_fields(text + (first - low) + 1, fg_bounce_dsn_field, w);
	fg_bounce_block_end(w);
	w->dsn = w->b->n_recipients > 0;
}

/* fg_bounce_ses_string - a string member of a JSON object, or NULL */
static const char *fg_bounce_ses_string(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

/* fg_bounce_ses - an Amazon SES notification (JSON, as SNS mails it):
   its bounced or complained recipients; "Bounce", "Complaint",
   "Delivery" or NULL */
static const char *fg_bounce_ses(struct fg_bounce_walk *w, const char *text)
{
	const char *p = text + strspn(text, " \t\r\n"), *type;
	json_t *root, *report, *list;
	bool complaint;

	if (*p != '{' || strstr(p, "notificationType") == NULL)
		return NULL;
	root = json_loadb(p, strlen(p), JSON_DISABLE_EOF_CHECK, NULL);
	if (root == NULL) {
		/* SNS folds long lines with a space, inside strings too */
		struct fg_buf joined = { 0 };
		for (const char *c = p; *c != '\0'; c++) {
			if (*c == '\n' && c[1] == ' ')
				c++;
			else if (*c != '\n')
				fg_buf_putc(&joined, *c);
		}
		char *j = fg_buf_steal(&joined);
		root = json_loadb(j, strlen(j), JSON_DISABLE_EOF_CHECK, NULL);
		free(j);
	}
	if (fg_bounce_ses_string(root, "notificationType") == NULL &&
	    fg_bounce_ses_string(root, "Message") != NULL) {
		/* the SNS envelope: the notification is a string in it */
		const char *inner = fg_bounce_ses_string(root, "Message");
		json_t *msg = json_loads(inner, 0, NULL);
		json_decref(root);
		root = msg;
	}
	type = fg_bounce_ses_string(root, "notificationType");
	if (type == NULL || (strcmp(type, "Bounce") != 0 &&
			     strcmp(type, "Complaint") != 0 &&
			     strcmp(type, "Delivery") != 0)) {
		json_decref(root);
		return NULL;
	}
	type = type[0] == 'B' ? "Bounce" : type[0] == 'C' ? "Complaint" :
		"Delivery";
	complaint = type[0] == 'C';
	report = json_object_get(root, complaint ? "complaint" : "bounce");
	list = json_object_get(report, complaint ? "complainedRecipients" :
			       "bouncedRecipients");
	for (size_t i = 0; i < json_array_size(list) &&
		     i < FG_BOUNCE_MAX_RECIPIENTS * 2; i++) {
		json_t *o = json_array_get(list, i);
		const char *addr = fg_bounce_ses_string(o, "emailAddress");
		const char *status = fg_bounce_ses_string(o, "status");
		const char *action = fg_bounce_ses_string(o, "action");
		const char *diag = fg_bounce_ses_string(o, "diagnosticCode");
		char *clean = addr != NULL ? fg_bounce_clean_address(addr) :
			NULL;

		if (clean == NULL)
			continue;
		fg_bounce_set(&w->final, clean);
		free(clean);
		if (status != NULL)
			fg_bounce_set(&w->status, status);
		fg_bounce_set(&w->action, action != NULL ? action :
			      complaint ? "feedback" : "failed");
		if (diag != NULL) {
			const char *semi = strchr(diag, ';');
			fg_bounce_set(&w->diag, semi != NULL &&
				      semi - diag < 16 ? semi + 1 : diag);
		}
		w->feedback = complaint;
		fg_bounce_block_end(w);
	}
	const char *mta = fg_bounce_ses_string(report, "reportingMTA");
	if (mta != NULL && w->b->reporting_mta == NULL)
		w->b->reporting_mta = fg_bounce_token(mta);
	if (complaint) {
		const char *ft = fg_bounce_ses_string(report,
						      "complaintFeedbackType");
		w->b->feedback_type = fg_bounce_token(ft != NULL ? ft :
						      "abuse");
	} else {
		const char *bt = fg_bounce_ses_string(report, "bounceType");
		w->b->temporary = bt != NULL && strcmp(bt, "Transient") == 0;
	}
	json_decref(root);
	return type;
}

/* fg_bounce_after_to - the first "To:" address of the returned
   message written out after the report's text, or NULL */
static char *fg_bounce_after_to(const char *text, const char *low)
{
	for (const char *p = low; *p != '\0'; ) {
		const char *s = p + strspn(p, " \t>");

		if (strncmp(s, "to:", 3) == 0) {
			const char *v = text + (s - low) + 3;
			const char *lt = memchr(v, '<', strcspn(v, "\n"));
			char *line = fg_xstrndup(v, strcspn(v, "\n"));
			char *addr = fg_bounce_clean_address(
				lt != NULL ? line + (lt - v) : line);
			free(line);
			if (addr != NULL)
				return addr;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return NULL;
}

/* fg_bounce_decide - is the message a report, and of what */
static void fg_bounce_decide(struct fg_bounce *b, GMimeMessage *msg,
			     struct fg_bounce_walk *w,
			     const char *envelope_to)
{
	const char *subject = g_mime_message_get_subject(msg);
	const char *failed = fg_mail_header(msg, "X-Failed-Recipients");
	const char *ct_report = NULL, *word, *auto_header;
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	GMimeContentType *ct = top != NULL ?
		g_mime_object_get_content_type(top) : NULL;
	char *text = fg_buf_steal(&w->text);
	char *low = fg_bounce_lower(text, strlen(text));
	size_t n = fg_bounce_cut(low);
	char *subject_low = fg_bounce_lower(subject != NULL ? subject : "",
					    subject != NULL ?
					    strlen(subject) : 0);
	bool daemon = fg_bounce_daemon_sender(msg);
	const char *ses = NULL;

	if (!w->dsn && !w->feedback) {
		ses = fg_bounce_ses(w, text);
		if (ses == NULL)
			fg_bounce_text_dsn(w, text, low);
	}
	if (w->orig_to == NULL && low[n] != '\0')
		w->orig_to = fg_bounce_after_to(text + n, low + n);
	low[n] = '\0';
	if (ct != NULL && g_mime_content_type_is_type(ct, "multipart",
						      "report"))
		ct_report = g_mime_content_type_get_parameter(ct,
							      "report-type");
	word = FG_BOUNCE_ANY(subject_low, fg_bounce_failure_words);
	if (word == NULL)
		word = FG_BOUNCE_ANY(subject_low, fg_bounce_delay_words);
	if (word == NULL)
		word = FG_BOUNCE_ANY(low, fg_bounce_failure_words);
	if (word == NULL)
		word = FG_BOUNCE_ANY(low, fg_bounce_delay_words);
	auto_header = fg_bounce_auto_reply(msg, subject);
	if (strstr(subject_low, "complaint about message from") != NULL &&
	    w->original)
		w->feedback = true;	/* Hotmail's JMRP, not ARF */

	if (w->feedback || (ct_report != NULL &&
			    strcasecmp(ct_report, "feedback-report") == 0)) {
		b->feedback = true;
		b->format = "feedback";
		if (b->n_recipients == 0 && w->orig_rcpt != NULL)
			(void)fg_bounce_add(b, fg_xstrdup(w->orig_rcpt));
		if (b->n_recipients == 0 && w->orig_to != NULL)
			(void)fg_bounce_add(b, fg_xstrdup(w->orig_to));
		for (size_t i = 0; i < b->n_recipients; i++) {
			struct fg_bounce_recipient *r = &b->recipients[i];
			if (r->action == NULL)
				r->action = fg_xstrdup("feedback");
			if (r->diagnostic == NULL)
				r->diagnostic = fg_xstrdup("");
			r->kind = FG_BOUNCE_COMPLAINT;
		}
		if (b->feedback_type == NULL)
			b->feedback_type = fg_xstrdup("abuse");
		b->reason = fg_xasprintf("feedback report (RFC 5965, %s), "
					 "not a bounce", b->feedback_type);
	} else if (ses != NULL && strcmp(ses, "Delivery") == 0) {
		b->reason = fg_xstrdup("delivery notification (Amazon SES), "
				       "not a bounce");
	} else if (ses != NULL) {
		b->bounce = true;
		b->format = "ses";
		b->reason = fg_xstrdup("bounce notification (Amazon SES)");
	} else if (w->dsn || (ct_report != NULL &&
			      strcasecmp(ct_report, "delivery-status") == 0)) {
		/* a multipart/report of delivery-status is one, even when
		   its delivery-status part was lost */
		b->bounce = true;
		b->format = "dsn";
		b->temporary = fg_bounce_dsn_temporary(b);
		b->reason = ct_report != NULL &&
			strcasecmp(ct_report, "delivery-status") == 0 ?
			fg_xstrdup("multipart/report; "
				   "report-type=delivery-status") :
			fg_xstrdup("delivery status notification "
				   "(message/delivery-status part)");
		if (b->n_recipients == 0 && n > 0)
			fg_bounce_read_text(b, msg, w, text, low, n,
					    envelope_to);
		/* the DSN's status of a pipe or file the address led to */
		for (size_t i = 0; i < b->n_recipients &&
			     w->orphan_status != NULL; i++) {
			struct fg_bounce_recipient *r = &b->recipients[i];
			if (r->status == NULL) {
				r->status = fg_xstrdup(w->orphan_status);
				char *low_diag = fg_bounce_lower(
					r->diagnostic, strlen(r->diagnostic));
				r->kind = fg_bounce_kind_of(r->status,
							    low_diag);
				free(low_diag);
			}
		}
	} else if (auto_header != NULL && failed == NULL &&
		   (word == NULL || !daemon)) {
		b->auto_reply = true;
		b->reason = fg_xasprintf("automatic reply (%s), not a "
					 "bounce", auto_header);
	} else if (failed != NULL || (word != NULL &&
				      (daemon || w->original))) {
		b->bounce = true;
		b->format = "text";
		b->temporary =
			(FG_BOUNCE_ANY(subject_low, fg_bounce_delay_words) !=
			 NULL || FG_BOUNCE_ANY(low, fg_bounce_delay_words) !=
			 NULL) &&
			FG_BOUNCE_ANY(subject_low, fg_bounce_final_words) ==
			NULL && FG_BOUNCE_ANY(low, fg_bounce_final_words) ==
			NULL;
		fg_bounce_read_text(b, msg, w, text, low, n, envelope_to);
		if (!daemon && failed == NULL && b->n_recipients == 0) {
			/* a forwarded original and failure wording, but no
			   daemon and nobody who failed: someone's mail */
			b->bounce = false;
			b->format = NULL;
		} else if (failed != NULL) {
			b->reason = fg_xstrdup("delivery failure report "
					       "(X-Failed-Recipients)");
		} else {
			b->reason = fg_xasprintf("delivery %s report from a "
						 "%s (\"%s\")",
						 b->temporary ? "delay" :
						 "failure",
						 daemon ? "null or daemon "
						 "sender" : "mail server",
						 word);
		}
	}
	if (!b->bounce && !b->feedback && !b->auto_reply &&
	    b->verp_state == 1) {
		/* nothing but bounces is sent to a VERP address */
		b->bounce = true;
		b->format = "verp";
		b->reason = fg_xasprintf("mail to the VERP address of list %s",
					 b->verp.list);
	}
	if (b->bounce) {
		if (b->reporting_mta == NULL && daemon) {
			char *from = fg_bounce_mailbox(
				g_mime_message_get_from(msg));
			const char *at = from != NULL ? strrchr(from, '@') :
				NULL;
			if (at != NULL)
				b->reporting_mta = fg_xstrdup(at + 1);
			free(from);
		}
		fg_bounce_verp_recipient(b);
	}
	if (b->reason == NULL)
		b->reason = fg_xstrdup("not a delivery report");
	free(subject_low);
	free(low);
	free(text);
}

/* fg_bounce_candidate - the message may be a report, so its text is
   worth reading (a member's post is not read twice) */
static bool fg_bounce_candidate(GMimeMessage *msg,
				const struct fg_bounce_walk *w)
{
	const char *subject = g_mime_message_get_subject(msg);
	char *low;
	bool words;

	if (w->dsn || w->feedback || w->original || w->b->verp_state != 0 ||
	    fg_mail_header(msg, "X-Failed-Recipients") != NULL ||
	    fg_bounce_daemon_sender(msg))
		return true;
	/* Amazon SES notifications, mailed by SNS */
	char *from = fg_bounce_mailbox(g_mime_message_get_from(msg));
	bool sns = from != NULL && strlen(from) > 18 &&
		strcmp(from + strlen(from) - 18, "@sns.amazonaws.com") == 0;
	free(from);
	if (sns)
		return true;
	if (subject == NULL)
		return false;
	low = fg_bounce_lower(subject, strlen(subject));
	words = FG_BOUNCE_ANY(low, fg_bounce_failure_words) != NULL ||
		FG_BOUNCE_ANY(low, fg_bounce_delay_words) != NULL;
	free(low);
	return words;
}

/* fg_bounce_of_message - see fg-mail-private.h */
struct fg_bounce *fg_bounce_of_message(GMimeMessage *msg, const char *secret,
				       const char *envelope_to)
{
	struct fg_bounce *b = fg_xcalloc(1, sizeof(*b));
	struct fg_bounce_walk w = { .b = b };

	if (envelope_to != NULL && secret != NULL && *secret != '\0')
		b->verp_state = fg_verp_parse(secret, envelope_to, &b->verp);
	w.unwrap = fg_bounce_daemon_sender(msg);
	fg_bounce_visit(&w, g_mime_message_get_mime_part(msg), 0);
	fg_bounce_block_end(&w);
	if (fg_bounce_candidate(msg, &w)) {
		for (unsigned int i = 0; i < w.n_text; i++)
			fg_bounce_text(&w, w.text_parts[i], w.text_html[i]);
		if (w.text.len == 0 && w.prologue != NULL) {
			size_t len = strnlen(w.prologue, FG_BOUNCE_TEXT_MAX);
			fg_utf8_clean_text(&w.text, w.prologue, len);
		}
	}
	fg_bounce_decide(b, msg, &w, envelope_to);
	if (!b->bounce && !b->feedback) {
		fg_bounce_clear_recipients(b);
	}
	fg_buf_free(&w.text);
	free(w.orig_to);
	free(w.orig_from);
	free(w.orig_rcpt);
	free(w.orphan_status);
	return b;
}

/* fg_bounce_parse - see fg-bounce.h */
int fg_bounce_parse(const void *data, size_t size, const char *secret,
		    const char *envelope_to, struct fg_bounce **report_r,
		    const char **error_r)
{
	GMimeParserOptions *options;
	GMimeMessage *msg;

	*report_r = NULL;
	if (size == 0) {
		*error_r = "empty message";
		return -1;
	}
	/* the report comes first: what GMime sees is bounded */
	msg = fg_mail_construct(data, size > FG_BOUNCE_SCAN_MAX ?
				FG_BOUNCE_SCAN_MAX : size, &options);
	if (msg == NULL) {
		g_mime_parser_options_free(options);
		*error_r = "not a mail message";
		return -1;
	}
	*report_r = fg_bounce_of_message(msg, secret, envelope_to);
	g_object_unref(msg);
	g_mime_parser_options_free(options);
	return 0;
}

/* fg_bounce_free - see fg-bounce.h */
void fg_bounce_free(struct fg_bounce **_b)
{
	struct fg_bounce *b = *_b;

	if (b == NULL)
		return;
	*_b = NULL;
	fg_bounce_clear_recipients(b);
	free(b->feedback_type);
	free(b->reporting_mta);
	free(b->reason);
	fg_verp_clear(&b->verp);
	free(b);
}

/* fg_bounce_json - see fg-bounce.h */
char *fg_bounce_json(const struct fg_bounce *b)
{
	json_t *obj = json_object(), *rcpts = json_array(), *verp;
	char *out;

	for (size_t i = 0; i < b->n_recipients; i++) {
		const struct fg_bounce_recipient *r = &b->recipients[i];
		json_t *o = json_object();

		json_object_set_new(o, "address", json_string(r->address));
		json_object_set_new(o, "status", r->status != NULL ?
				    json_string(r->status) : json_null());
		json_object_set_new(o, "action", json_string(r->action));
		json_object_set_new(o, "kind", json_string(
					    fg_bounce_kind_name(r->kind)));
		json_object_set_new(o, "diagnostic",
				    json_string(r->diagnostic));
		json_array_append_new(rcpts, o);
	}
	json_object_set_new(obj, "recipients", rcpts);
	json_object_set_new(obj, "reporting_mta", b->reporting_mta != NULL ?
			    json_string(b->reporting_mta) : json_null());
	json_object_set_new(obj, "temporary", json_boolean(b->temporary));
	json_object_set_new(obj, "feedback", b->feedback_type != NULL &&
			    b->feedback ? json_string(b->feedback_type) :
			    json_null());
	if (b->verp_state != 0) {
		verp = json_object();
		json_object_set_new(verp, "list", b->verp.list != NULL ?
				    json_string(b->verp.list) : json_null());
		if (b->verp_state == 1 && b->verp.kind == FG_VERP_POST)
			json_object_set_new(verp, "post", json_integer(
						    b->verp.post_id));
		else if (b->verp_state == 1)
			json_object_set_new(verp, "recipient",
					    json_string(b->verp.recipient));
		json_object_set_new(verp, "valid",
				    json_boolean(b->verp_state == 1));
		json_object_set_new(obj, "verp", verp);
	}
	out = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(obj);
	return out != NULL ? out : fg_xstrdup("{}");
}
