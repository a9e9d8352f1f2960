/*
 * NAME
 *	fg-classify 3 - is a list message a post, our own, a bounce or an
 *	automatic reply
 * DESCRIPTION
 *	See fg-classify.h for the rule. Headers decide first; a subject
 *	alone never makes a member's post an automatic reply, because
 *	what is not posted stays out of the forum.
 */
#include "fg-classify.h"
#include "fg-common.h"
#include "fg-listmail.h"
#include "fg-msgid.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest header token quoted in a reason. */
#define FG_CLASSIFY_TOKEN_MAX 64
/* A list manager's subject tag longer than this is no tag. */
#define FG_CLASSIFY_TAG_MAX 64

/* Subjects of delivery failure notices, as MTAs word them. */
static const char *const fg_classify_dsn_subjects[] = {
	"undeliverable", "undelivered", "delivery status notification",
	"delivery failure", "delivery has failed", "mail delivery failed",
	"failure notice", "returned mail", "non-delivery", "nondeliverable",
	"delivery problem", "could not be delivered", "mail system error",
	"delivery notification",
};

/* Subject prefixes of automatic replies, each followed by a colon in
   the subject (spaces before it allowed, as French writes it). Longer
   forms come before their beginnings ("Out of Office AutoReply:",
   Exchange 2003, before "Out of Office:"). */
static const char *const fg_classify_auto_subjects[] = {
	"Out of Office AutoReply",
	"Out of Office",
	"Automatic reply",
	"Auto",
	"Autoreply",
	"Auto-Reply",
	"Auto Reply",
	"Automatische Antwort",
	"Abwesenheitsnotiz",
	"R\xc3\xa9ponse automatique",
	"Absence",
	"Respuesta autom\xc3\xa1tica",
	"Fuera de la oficina",
	"Resposta autom\xc3\xa1tica",
	"Automatisch antwoord",
	"Afwezig",
	"Risposta automatica",
	"Automatiskt svar",
	"Autosvar",
	"Automatisk svar",
	"Odpowied\xc5\xba automatyczna",
	/* Автоматический ответ */
	"\xd0\x90\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbc\xd0\xb0\xd1\x82\xd0\xb8\xd1\x87"
	"\xd0\xb5\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9 \xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82",
	"\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d",	/* 自动回复 */
	"Vacation",
	"On vacation",
};

/* The values of X-Auto-Response-Suppress that ask for no out-of-office
   reply (Microsoft's [MS-OXCMAIL] 2.2.3.2.14). */
static const char *const fg_classify_oof_values[] = {
	"all", "oof", "autoreply",
};

/* fg_classify_header - a header of the message, or NULL */
static const char *fg_classify_header(const struct fg_classify_msg *msg,
				      const char *name)
{
	return msg->header(msg->context, name);
}

/* fg_classify_token - the first word of a header value from p on,
   lowercased and limited to harmless characters; *end_r after it */
static char *fg_classify_token(const char *p, const char **end_r)
{
	struct fg_buf out = { 0 };

	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p != '\0' && out.len < FG_CLASSIFY_TOKEN_MAX; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			break;
		fg_buf_putc(&out, c);
	}
	if (end_r != NULL)
		*end_r = p;
	return fg_buf_steal(&out);
}

/* fg_classify_null_sender - the mail comes from a null or daemon
   sender */
static bool fg_classify_null_sender(const struct fg_classify_msg *msg)
{
	const char *rp = fg_classify_header(msg, "Return-Path");
	const char *from = msg->from_email, *at;
	size_t local;

	if (rp != NULL) {
		rp += strspn(rp, " \t\r\n");
		if (*rp == '\0')
			return true;
		if (*rp == '<') {
			rp++;
			rp += strspn(rp, " \t\r\n");
			if (*rp == '>')
				return true;
		}
	}
	at = strchr(from, '@');
	local = at != NULL ? (size_t)(at - from) : strlen(from);
	return (local == 13 && strncasecmp(from, "mailer-daemon", 13) == 0) ||
		(local == 10 && strncasecmp(from, "postmaster", 10) == 0);
}

/* fg_classify_auto_subject - see fg-classify.h */
const char *fg_classify_auto_subject(const char *subject)
{
	const char *s = subject;

	/* a list manager may have put its tag in front */
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *close = *s == '[' ? strchr(s, ']') : NULL;
		if (close == NULL || close - s > FG_CLASSIFY_TAG_MAX)
			break;
		s = close + 1;
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_classify_auto_subjects); i++) {
		const char *prefix = fg_classify_auto_subjects[i];
		size_t len = strlen(prefix);
		const char *p = s + len;

		if (strncasecmp(s, prefix, len) != 0)
			continue;
		for (;;) {
			if (*p == ' ')
				p++;
			else if (strncmp(p, "\xc2\xa0", 2) == 0)	/* NBSP */
				p += 2;
			else
				break;
		}
		/* ASCII or full-width colon */
		if (*p == ':' || strncmp(p, "\xef\xbc\x9a", 3) == 0)
			return prefix;
	}
	return NULL;
}

/* fg_classify_suppress_oof - X-Auto-Response-Suppress asks for no
   out-of-office reply; the value that does, or NULL */
static const char *fg_classify_suppress_oof(const struct fg_classify_msg *msg)
{
	const char *p = fg_classify_header(msg, "X-Auto-Response-Suppress");

	while (p != NULL && *p != '\0') {
		char *token = fg_classify_token(p, &p);

		for (size_t i = 0; i < FG_N_ELEMENTS(fg_classify_oof_values);
		     i++) {
			if (strcmp(token, fg_classify_oof_values[i]) == 0) {
				free(token);
				return fg_classify_oof_values[i];
			}
		}
		free(token);
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return NULL;
}

/* fg_classify_bounce - a delivery failure notice; the reason, or NULL */
static char *fg_classify_bounce(const struct fg_classify_msg *msg)
{
	const char *report = msg->report_type;

	if (msg->bounce_parsed)
		return msg->bounce != NULL ? fg_xstrdup(msg->bounce) : NULL;
	if (report != NULL && strcasecmp(report, "delivery-status") == 0)
		return fg_xstrdup("multipart/report; "
				  "report-type=delivery-status");
	if (!fg_classify_null_sender(msg))
		return NULL;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_classify_dsn_subjects); i++) {
		if (fg_str_has_ci(msg->subject,
					fg_classify_dsn_subjects[i]))
			return fg_xasprintf("delivery failure notice from a "
					    "null or daemon sender (subject "
					    "has \"%s\")",
					    fg_classify_dsn_subjects[i]);
	}
	return NULL;
}

/* fg_classify_auto_header - an automatic reply by a header that says
   so by itself; the reason, or NULL */
static char *fg_classify_auto_header(const struct fg_classify_msg *msg)
{
	const char *report = msg->report_type, *v;
	char *token, *reason = NULL;

	if (msg->bounce_auto_reply != NULL)
		return fg_xstrdup(msg->bounce_auto_reply);
	if (report != NULL &&
	    strcasecmp(report, "disposition-notification") == 0)
		return fg_xstrdup("read receipt (multipart/report; "
				  "report-type=disposition-notification)");
	if ((v = fg_classify_header(msg, "Auto-Submitted")) != NULL) {
		token = fg_classify_token(v, NULL);
		if (*token != '\0' && strcmp(token, "no") != 0)
			reason = fg_xasprintf("Auto-Submitted: %s", token);
		free(token);
		if (reason != NULL)
			return reason;
	}
	if (fg_classify_header(msg, "X-Autoreply") != NULL)
		return fg_xstrdup("X-Autoreply header");
	if (fg_classify_header(msg, "X-Autorespond") != NULL)
		return fg_xstrdup("X-Autorespond header");
	if ((v = fg_classify_header(msg, "Precedence")) != NULL) {
		token = fg_classify_token(v, NULL);
		if (strcmp(token, "auto_reply") == 0 ||
		    strcmp(token, "junk") == 0)
			reason = fg_xasprintf("Precedence: %s", token);
		free(token);
		if (reason != NULL)
			return reason;
	}
	if (fg_classify_null_sender(msg))
		return fg_xstrdup("sent by a null, MAILER-DAEMON or "
				  "postmaster sender");
	return NULL;
}

/* fg_classify - see fg-classify.h */
void fg_classify(const struct fg_classify_msg *msg, const char *secret,
		 enum fg_class *class_r, char **reason_r)
{
	const char *notice;

	fg_classify_list(msg, secret, NULL, NULL, class_r, &notice, reason_r);
}

/* fg_classify_list - see fg-classify.h */
void fg_classify_list(const struct fg_classify_msg *msg, const char *secret,
		      const struct fg_listmail_list *list,
		      const char *envelope_from, enum fg_class *class_r,
		      const char **notice_r, char **reason_r)
{
	const char *prefix, *suppress;
	enum fg_listmail listmail = FG_LISTMAIL_POST;
	char *list_reason = NULL;
	long long topic, post;
	char *reason;

	*notice_r = NULL;
	if (secret != NULL && *secret != '\0' &&
	    fg_msgid_parse(secret, msg->message_id, NULL,
			   &topic, &post) == 1) {
		*class_r = FG_CLASS_OWN;
		*reason_r = fg_xstrdup("Message-ID is one the bridge sent");
		return;
	}
	if (list != NULL) {
		listmail = fg_listmail_check(list, msg, envelope_from,
					     notice_r, &list_reason);
		/* a forged envelope, or the list manager itself: that
		   says more than any header of the message */
		if (listmail == FG_LISTMAIL_NOTICE ||
		    listmail == FG_LISTMAIL_ENVELOPE) {
			*class_r = listmail == FG_LISTMAIL_NOTICE ?
				FG_CLASS_LIST_NOTICE : FG_CLASS_NOT_LIST;
			*reason_r = list_reason;
			return;
		}
	}
	if ((reason = fg_classify_bounce(msg)) != NULL) {
		*class_r = FG_CLASS_BOUNCE;
		*reason_r = reason;
		free(list_reason);
		return;
	}
	if ((reason = fg_classify_auto_header(msg)) != NULL) {
		*class_r = FG_CLASS_AUTO_REPLY;
		*reason_r = reason;
		free(list_reason);
		return;
	}
	if ((prefix = fg_classify_auto_subject(msg->subject)) != NULL &&
	    (suppress = fg_classify_suppress_oof(msg)) != NULL) {
		*class_r = FG_CLASS_AUTO_REPLY;
		*reason_r = fg_xasprintf("subject begins \"%s:\" and "
					 "X-Auto-Response-Suppress has %s",
					 prefix, suppress);
		free(list_reason);
		return;
	}
	if (listmail == FG_LISTMAIL_NOT_LIST) {
		*class_r = FG_CLASS_NOT_LIST;
		*reason_r = list_reason;
		return;
	}
	*class_r = FG_CLASS_POST;
	*reason_r = list_reason != NULL ? list_reason :
		fg_xstrdup("list mail");
}

/* The names of enum fg_not_posted, in its order. */
static const char *const fg_not_posted_names[FG_NOT_POSTED_COUNT] = {
	"own", "auto-reply", "bounce", "duplicate", "empty", "too-large",
	"unparsable", "no-list", "bad-verp", "not-list", "list-notice",
	"refusal", "loop", "rejected", "held", "control",
};

/* fg_not_posted_name - see fg-classify.h */
const char *fg_not_posted_name(enum fg_not_posted reason)
{
	return (unsigned int)reason < FG_NOT_POSTED_COUNT ?
		fg_not_posted_names[reason] : "unknown";
}

/* fg_not_posted_of_class - see fg-classify.h */
enum fg_not_posted fg_not_posted_of_class(enum fg_class class)
{
	switch (class) {
	case FG_CLASS_OWN:
		return FG_NOT_POSTED_OWN;
	case FG_CLASS_BOUNCE:
		return FG_NOT_POSTED_BOUNCE;
	case FG_CLASS_NOT_LIST:
		return FG_NOT_POSTED_NOT_LIST;
	case FG_CLASS_LIST_NOTICE:
		return FG_NOT_POSTED_LIST_NOTICE;
	case FG_CLASS_AUTO_REPLY:
	case FG_CLASS_POST:
		break;
	}
	return FG_NOT_POSTED_AUTO_REPLY;
}

/* fg_not_posted_mask - see fg-classify.h */
int fg_not_posted_mask(const char *names, unsigned int *mask_r,
		       const char **error_r)
{
	const char *p = names;
	unsigned int mask = 0;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ", \t"), i;

		for (i = 0; i < FG_NOT_POSTED_COUNT; i++) {
			if (strlen(fg_not_posted_names[i]) == len &&
			    strncmp(p, fg_not_posted_names[i], len) == 0)
				break;
		}
		if (i == FG_NOT_POSTED_COUNT) {
			*error_r = fg_errorf("unknown reason '%.*s' (own, "
					     "auto-reply, bounce, duplicate, "
					     "empty, too-large, unparsable, "
					     "no-list, bad-verp, not-list, "
					     "list-notice, refusal, loop, "
					     "rejected, held, control)",
					     (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		mask |= 1U << i;
		p += len;
	}
	*mask_r = mask;
	return 0;
}
