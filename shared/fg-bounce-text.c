/*
 * NAME
 *	fg-bounce-text 3 - the text of a delivery report: wording, status
 *	codes and addresses
 * DESCRIPTION
 *	See fg-bounce.h and fg-bounce-private.h. The text of a report
 *	without DSN fields is searched by hand for addresses, status
 *	codes (RFC 3463, RFC 5321 reply codes) and wording: no library
 *	knows the text formats of MTAs. Amazon SES notifications are JSON
 *	read with jansson.
 *
 *	The wording tables are lowercase; the text is searched through a
 *	lowercase copy of it, so a search is one strstr().
 */
#include "fg-bounce-private.h"
#include "fg-mail-private.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* fg_bounce_words - see fg-bounce-private.h */
const char *fg_bounce_words(const char *low, enum fg_bounce_words which)
{
	switch (which) {
	case FG_BOUNCE_FAILURE:
		return FG_BOUNCE_ANY(low, fg_bounce_failure_words);
	case FG_BOUNCE_DELAY:
		return FG_BOUNCE_ANY(low, fg_bounce_delay_words);
	case FG_BOUNCE_FINAL:
		return FG_BOUNCE_ANY(low, fg_bounce_final_words);
	case FG_BOUNCE_POLICY_WORDS:
		return FG_BOUNCE_ANY(low, fg_bounce_policy_words);
	case FG_BOUNCE_SOFT_WORDS:
		return FG_BOUNCE_ANY(low, fg_bounce_soft_words);
	case FG_BOUNCE_HARD_WORDS:
		return FG_BOUNCE_ANY(low, fg_bounce_hard_words);
	case FG_BOUNCE_DAEMON_NAMES:
		return FG_BOUNCE_ANY(low, fg_bounce_daemon_names);
	}
	return NULL;
}

/* fg_bounce_lower - a lowercase copy of n bytes of text */
char *fg_bounce_lower(const char *s, size_t n)
{
	char *low = fg_xstrndup(s, n);

	return fg_str_lower(low);
}

/* fg_bounce_one_line - text as one line: white space collapsed, at
   most FG_BOUNCE_DIAG_MAX bytes, not cut inside a UTF-8 character */
char *fg_bounce_one_line(const char *s, size_t n)
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
size_t fg_bounce_status_at(const char *start, const char *p)
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
char *fg_bounce_find_status(const char *text, size_t n,
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
enum fg_bounce_kind fg_bounce_kind_of(const char *status,
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
char *fg_bounce_clean_address(const char *value)
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
size_t fg_bounce_cut(const char *low)
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
bool fg_bounce_local_is_daemon(const char *addr)
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
void fg_bounce_read_text(struct fg_bounce *b, GMimeMessage *msg,
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

/* fg_bounce_text_dsn - DSN fields written in the text of a report
   whose MIME structure was lost ("Final-Recipient:" at the start of a
   line): read them as the delivery-status part */
void fg_bounce_text_dsn(struct fg_bounce_walk *w, const char *text,
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
const char *fg_bounce_ses(struct fg_bounce_walk *w, const char *text)
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
char *fg_bounce_after_to(const char *text, const char *low)
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
