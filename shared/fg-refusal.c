/*
 * NAME
 *	fg-refusal 3 - a list manager's notice that it held, rejected or
 *	bounced a forum post the bridge mailed
 * DESCRIPTION
 *	See fg-refusal.h. The notice is parsed by GMime; only the
 *	wording tests and the DSN's per-recipient fields (RFC 3464
 *	section 2.3, lines of "Name: value" that GMime leaves as the
 *	text of a message/delivery-status part) are read by hand.
 */
#include "fg-refusal.h"
#include "fg-common.h"
#include "fg-mail-private.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>

/* What the walk over the notice's parts found. */
struct fg_refusal_walk {
	const char *secret, *list;
	GMimePart *first_text;		/* the notice's own text */
	char *message_id;		/* ours, of the list */
	long long topic_id, post_number, post_id;
	char *orig_subject;		/* of an attached original */
	bool dsn_failed;		/* a recipient with Action: failed */
	char *dsn_diag, *dsn_status;	/* of the first failed one */
};

static const char *const fg_refusal_kind_names[FG_REFUSAL_KIND_COUNT] = {
	"held", "rejected", "bounced",
};

const char *fg_refusal_kind_name(enum fg_refusal_kind kind)
{
	return (unsigned int)kind < FG_REFUSAL_KIND_COUNT ?
		fg_refusal_kind_names[kind] : "unknown";
}

int fg_refusal_kind_parse(const char *name)
{
	for (int i = 0; i < FG_REFUSAL_KIND_COUNT; i++) {
		if (strcmp(name, fg_refusal_kind_names[i]) == 0)
			return i;
	}
	return -1;
}

bool fg_refusal_candidate(const char *list, const void *data, size_t size)
{
	char needle[FG_LIST_NAME_MAX + 8];
	size_t n;

	/* list NULL: a Message-ID of any list, in its angle brackets (a
	   word like "cfg." in the text is none) */
	if (list == NULL)
		n = (size_t)snprintf(needle, sizeof(needle), "<fg.");
	else
		n = (size_t)snprintf(needle, sizeof(needle), "fg.%s.", list);
	if (n >= sizeof(needle))
		return false;
	if (size > FG_REFUSAL_SCAN_MAX)
		size = FG_REFUSAL_SCAN_MAX;
	/* memmem() is a GNU extension: the project builds as C11 */
	for (const char *p = data, *end = p + size; (size_t)(end - p) >= n;
	     p++) {
		p = memchr(p, needle[0], (size_t)(end - p) - n + 1);
		if (p == NULL)
			return false;
		if (memcmp(p, needle, n) == 0)
			return true;
	}
	return false;
}

/* fg_refusal_find - where phrase ends in text, ASCII case ignored and
   each space of phrase matching any run of white space (list managers
   wrap their text anywhere); NULL when it is not there */
static const char *fg_refusal_find(const char *text, const char *phrase)
{
	for (const char *start = text; *start != '\0'; start++) {
		const char *t = start, *p = phrase;

		while (*p != '\0') {
			if (*p == ' ') {
				if (!isspace((unsigned char)*t))
					break;
				while (isspace((unsigned char)*t))
					t++;
				p++;
			} else if (tolower((unsigned char)*t) ==
				   tolower((unsigned char)*p)) {
				t++;
				p++;
			} else {
				break;
			}
		}
		if (*p == '\0')
			return t;
	}
	return NULL;
}

/* fg_refusal_any - does text contain one of the phrases */
static bool fg_refusal_any(const char *text, const char *const *phrases)
{
	for (; *phrases != NULL; phrases++) {
		if (fg_refusal_find(text, *phrases) != NULL)
			return true;
	}
	return false;
}

/* fg_refusal_line - one clean line of at most FG_REFUSAL_REASON_MAX
   bytes (not cutting a UTF-8 sequence) */
static char *fg_refusal_line(const char *text, size_t len)
{
	char *raw = fg_xstrndup(text, len), *line = fg_mail_clean_line(raw);
	size_t n;

	free(raw);
	fg_str_trim(line);
	n = strlen(line);
	if (n > FG_REFUSAL_REASON_MAX) {
		n = FG_REFUSAL_REASON_MAX - 3;
		while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
			n--;
		memcpy(line + n, "...", 4);
	}
	return line;
}

/* fg_refusal_paragraph - the text from p to the next empty line */
static char *fg_refusal_paragraph(const char *p)
{
	const char *end;

	while (isspace((unsigned char)*p))
		p++;
	for (end = p; *end != '\0'; end++) {
		const char *q = end + 1;

		if (*end != '\n')
			continue;
		while (*q == ' ' || *q == '\t' || *q == '\r')
			q++;
		if (*q == '\n')
			break;
	}
	return end > p ? fg_refusal_line(p, (size_t)(end - p)) : NULL;
}

/* fg_refusal_try_msgid - keep the ID when it is one of ours of the list */
static void fg_refusal_try_msgid(struct fg_refusal_walk *w, const char *raw)
{
	char *id, *id_list = NULL;
	struct fg_msgid_post post;

	if (w->message_id != NULL || raw == NULL)
		return;
	id = fg_msgid_normalize(raw);
	if (id == NULL)
		return;
	if (fg_msgid_parse_post(w->secret, id, &id_list, &post) == 1 &&
	    strcmp(id_list, w->list) == 0) {
		w->message_id = id;
		w->topic_id = post.topic_id;
		w->post_number = post.post_number;
		w->post_id = post.post_id;
		id = NULL;
	}
	free(id_list);
	free(id);
}

/* fg_refusal_header_field - a field of attached headers */
static void fg_refusal_header_field(void *ctx, const char *name,
				    const char *value)
{
	struct fg_refusal_walk *w = ctx;

	if (strcasecmp(name, "Message-ID") == 0) {
		fg_refusal_try_msgid(w, value);
	} else if (strcasecmp(name, "Subject") == 0 &&
		   w->orig_subject == NULL) {
		char *dec = g_mime_utils_header_decode_text(NULL, value);
		w->orig_subject = fg_refusal_line(dec, strlen(dec));
		g_free(dec);
	}
}

/* DSN fields of the recipient block being read */
struct fg_refusal_dsn {
	struct fg_refusal_walk *w;
	char *action, *status, *diag;
};

/* fg_refusal_dsn_end - a recipient block ended: keep a failed one */
static void fg_refusal_dsn_end(struct fg_refusal_dsn *d)
{
	if (d->action != NULL && strncasecmp(d->action, "failed", 6) == 0 &&
	    !d->w->dsn_failed) {
		d->w->dsn_failed = true;
		d->w->dsn_diag = d->diag;
		d->w->dsn_status = d->status;
		d->diag = d->status = NULL;
	}
	free(d->action);
	free(d->status);
	free(d->diag);
	d->action = d->status = d->diag = NULL;
}

/* fg_refusal_dsn_field - one field of a message/delivery-status part */
static void fg_refusal_dsn_field(void *ctx, const char *name,
				 const char *value)
{
	struct fg_refusal_dsn *d = ctx;
	char **slot = NULL;

	if (*name == '\0') {
		fg_refusal_dsn_end(d);
		return;
	}
	if (strcasecmp(name, "Action") == 0)
		slot = &d->action;
	else if (strcasecmp(name, "Status") == 0)
		slot = &d->status;
	else if (strcasecmp(name, "Diagnostic-Code") == 0)
		slot = &d->diag;
	if (slot != NULL && *slot == NULL)
		*slot = fg_xstrdup(value);
}

/* fg_refusal_leaf - a leaf part: attached headers, DSN fields, or the
   notice's own text */
static void fg_refusal_leaf(struct fg_mail_visit *walk, GMimePart *part)
{
	struct fg_refusal_walk *w = walk->context;
	GMimeContentType *ct = g_mime_object_get_content_type(
		GMIME_OBJECT(part));
	const char *disposition = g_mime_object_get_disposition(
		GMIME_OBJECT(part));
	char *text;
	size_t len;

	if (ct == NULL)
		return;
	if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	    g_mime_content_type_is_type(ct, "message", "rfc822-headers")) {
		text = fg_mail_part_bytes(part, FG_REFUSAL_TEXT_MAX, &len);
		fg_mail_fields(text, fg_refusal_header_field, w);
		free(text);
	} else if (g_mime_content_type_is_type(ct, "message",
					       "delivery-status")) {
		struct fg_refusal_dsn d = { .w = w };

		text = fg_mail_part_bytes(part, FG_REFUSAL_TEXT_MAX, &len);
		fg_mail_fields(text, fg_refusal_dsn_field, &d);
		fg_refusal_dsn_end(&d);
		free(text);
	} else if (g_mime_content_type_is_type(ct, "text", "plain") &&
		   w->first_text == NULL &&
		   (disposition == NULL ||
		    strcasecmp(disposition, "attachment") != 0)) {
		w->first_text = part;
	}
}

/* fg_refusal_message - an attached message: its Message-ID and
   subject (a DSN's returned message is not looked into further: its
   parts are someone else's) */
static void fg_refusal_message(struct fg_mail_visit *walk,
			       GMimeMessage *inner, unsigned int depth)
{
	struct fg_refusal_walk *w = walk->context;
	const char *subject;

	(void)depth;
	if (inner == NULL)
		return;
	fg_refusal_try_msgid(w, g_mime_message_get_message_id(inner));
	subject = g_mime_message_get_subject(inner);
	if (w->orig_subject == NULL && subject != NULL)
		w->orig_subject = fg_refusal_line(subject, strlen(subject));
}

/* fg_refusal_local_is - the local part is one of the names */
static bool fg_refusal_local_is(const char *local, size_t len,
				const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strlen(*names) == len && strncasecmp(local, *names, len) == 0)
			return true;
	}
	return false;
}

/* fg_refusal_from_manager - does the notice come from the list's
   manager, not from a member through the list: with the list's
   address, From must be LIST+x@ or LIST-x@ at its domain (or the list
   manager's own name there); without it, any -owner, -bounces,
   -request or -admin address, or a bulk mail without List-Post */
static bool fg_refusal_from_manager(GMimeMessage *msg, const char *from,
				    const char *list_address)
{
	static const char *const own_names[] = {
		"mailman", "mlmmj", "mailer-daemon", "postmaster", NULL,
	};
	static const char *const roles[] = {
		"-owner", "+owner", "-bounces", "+bounces", "-request",
		"+request", "-admin", NULL,
	};
	const char *at = strrchr(from, '@'), *precedence, *auto_submitted;
	size_t local_len = at != NULL ? (size_t)(at - from) : strlen(from);
	char *local;
	bool ret = false;

	if (list_address != NULL) {
		const char *list_at = strrchr(list_address, '@');
		size_t n;

		if (at == NULL || list_at == NULL ||
		    strcasecmp(at, list_at) != 0)
			return false;
		n = (size_t)(list_at - list_address);
		return (local_len > n + 1 &&
			strncasecmp(from, list_address, n) == 0 &&
			(from[n] == '+' || from[n] == '-')) ||
			fg_refusal_local_is(from, local_len, own_names);
	}
	if (fg_refusal_local_is(from, local_len, own_names))
		return true;
	local = fg_str_lower(fg_xstrndup(from, local_len));
	for (size_t i = 0; roles[i] != NULL && !ret; i++)
		ret = strstr(local, roles[i]) != NULL;
	free(local);
	if (ret)
		return true;
	if (fg_mail_header(msg, "List-Post") != NULL)
		return false;
	precedence = fg_mail_header(msg, "Precedence");
	auto_submitted = fg_mail_header(msg, "Auto-Submitted");
	if (precedence != NULL &&
	    (strcasecmp(precedence, "bulk") == 0 ||
	     strcasecmp(precedence, "junk") == 0))
		return true;
	return auto_submitted != NULL && strcasecmp(auto_submitted, "no") != 0;
}

/* fg_refusal_references - our Message-ID in In-Reply-To or References */
static void fg_refusal_references(struct fg_refusal_walk *w,
				  GMimeMessage *msg,
				  GMimeParserOptions *options)
{
	static const char *const names[] = { "In-Reply-To", "References" };

	for (size_t i = 0; i < FG_N_ELEMENTS(names); i++) {
		const char *value = fg_mail_header(msg, names[i]);
		GMimeReferences *refs;

		if (value == NULL)
			continue;
		refs = g_mime_references_parse(options, value);
		for (int j = 0; refs != NULL &&
		     j < g_mime_references_length(refs) &&
		     j < FG_MAIL_MAX_REFERENCES; j++)
			fg_refusal_try_msgid(w, g_mime_references_get_message_id(
						     refs, j));
		if (refs != NULL)
			g_mime_references_free(refs);
	}
}

/* Wording of the notices (fg-refusal.h): a probe first, since it
   attaches a message of ours that bounced */
static const char *const fg_refusal_probe[] = {
	"probe message", "bouncing messages from",
	"received a number of bounces", NULL,
};
static const char *const fg_refusal_rejected[] = {
	"denied", "rejected", "refused", "unable to be delivered to the list",
	"not allowed to post", NULL,
};
static const char *const fg_refusal_held[] = {
	"awaits moderator approval", "awaiting release", "awaiting moderat",
	"being held", "held for moderat", "held until", "requires approval",
	"moderators are being asked", NULL,
};
static const char *const fg_refusal_failure[] = {
	"undelivered", "undeliverable", "delivery failure", "failure notice",
	"returned mail", "could not be delivered", "delivery has failed",
	"delivery failed", "delivery status notification (failure)", NULL,
};
/* where the list manager's reason begins, most specific first */
static const char *const fg_refusal_markers[] = {
	"following reason for rejecting your request:",
	"following reasons:", "following reason:", "held because:",
	"because", NULL,
};

/* fg_refusal_text_reason - the reason in the notice's own words */
static char *fg_refusal_text_reason(const char *text)
{
	for (size_t i = 0; fg_refusal_markers[i] != NULL; i++) {
		const char *p = fg_refusal_find(text, fg_refusal_markers[i]);
		char *reason;

		if (p == NULL)
			continue;
		/* "because ..." reads as a reason with the word */
		if (strcmp(fg_refusal_markers[i], "because") == 0)
			p -= strlen("because");
		reason = fg_refusal_paragraph(p);
		if (reason != NULL && *reason != '\0')
			return reason;
		free(reason);
	}
	return NULL;
}

/* fg_refusal_decide - the kind and reason, or 0 with *why_r */
static int fg_refusal_decide(struct fg_refusal_walk *w, GMimeMessage *msg,
			     bool dsn, bool to_verp, const char *text,
			     struct fg_refusal *r, const char **why_r)
{
	const char *subject = g_mime_message_get_subject(msg);
	struct fg_buf both = { 0 };
	int ret = 1;

	fg_buf_puts(&both, subject != NULL ? subject : "");
	fg_buf_puts(&both, "\n\n");
	fg_buf_puts(&both, text);
	if (dsn) {
		if (!w->dsn_failed) {
			*why_r = "a delivery status report without a failed "
				"recipient";
			ret = 0;
		} else {
			const char *why = w->dsn_diag != NULL ? w->dsn_diag :
				w->dsn_status != NULL ? w->dsn_status :
				subject != NULL ? subject : "delivery failed";
			r->kind = FG_REFUSAL_BOUNCED;
			r->reason = fg_refusal_line(why, strlen(why));
		}
	} else if (fg_refusal_any(both.s, fg_refusal_probe)) {
		*why_r = "a bounce probe";
		ret = 0;
	} else if (fg_refusal_any(both.s, fg_refusal_rejected)) {
		r->kind = FG_REFUSAL_REJECTED;
	} else if (fg_refusal_any(both.s, fg_refusal_held)) {
		r->kind = FG_REFUSAL_HELD;
	} else if (to_verp && fg_refusal_any(subject != NULL ? subject : "",
					     fg_refusal_failure)) {
		r->kind = FG_REFUSAL_BOUNCED;
	} else {
		*why_r = "not a notice of a held, rejected or bounced post";
		ret = 0;
	}
	if (ret > 0 && r->reason == NULL)
		r->reason = fg_refusal_text_reason(text);
	/* else the notice's subject; never empty */
	if (ret > 0 && (r->reason == NULL || *r->reason == '\0')) {
		free(r->reason);
		r->reason = fg_refusal_line(subject != NULL ? subject : "",
					    subject != NULL ? strlen(subject) :
					    0);
	}
	if (ret > 0 && *r->reason == '\0') {
		free(r->reason);
		r->reason = fg_xstrdup("no reason given");
	}
	fg_buf_free(&both);
	return ret;
}

int fg_refusal_parse(const char *secret, const char *list,
		     const char *list_address, const struct fg_verp *verp,
		     const void *data, size_t size,
		     struct fg_refusal **refusal_r, const char **why_r)
{
	struct fg_refusal_walk w = { .secret = secret, .list = list };
	GMimeParserOptions *options;
	GMimeMessage *msg;
	GMimeObject *top;
	GMimeContentType *ct;
	InternetAddressList *from_list;
	struct fg_refusal *r;
	const char *report;
	char *text = NULL, *from = NULL;
	bool dsn, to_verp = verp != NULL && verp->kind == FG_VERP_POST &&
		verp->list != NULL && strcmp(verp->list, list) == 0;
	int ret;

	*refusal_r = NULL;
	if (secret == NULL || *secret == '\0') {
		*why_r = "no secret to recognise our posts by";
		return 0;
	}
	if (size > FG_REFUSAL_SCAN_MAX)
		size = FG_REFUSAL_SCAN_MAX;
	msg = fg_mail_construct(data, size, &options);
	if (msg == NULL) {
		g_mime_parser_options_free(options);
		*why_r = "not a mail message";
		return 0;
	}
	top = g_mime_message_get_mime_part(msg);
	ct = top != NULL ? g_mime_object_get_content_type(top) : NULL;
	report = ct != NULL && g_mime_content_type_is_type(ct, "multipart",
							   "report") ?
		g_mime_content_type_get_parameter(ct, "report-type") : NULL;
	dsn = report != NULL && strcasecmp(report, "delivery-status") == 0;

	from_list = g_mime_message_get_from(msg);
	if (from_list != NULL &&
	    internet_address_list_length(from_list) > 0) {
		InternetAddress *a = internet_address_list_get_address(
			from_list, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(a))
			from = fg_xstrdup(internet_address_mailbox_get_addr(
						  INTERNET_ADDRESS_MAILBOX(a)));
	}
	if (from == NULL)
		from = fg_xstrdup("");

	struct fg_mail_visit walk = {
		.max_parts = FG_REFUSAL_MAX_PARTS,
		.part = fg_refusal_leaf,
		.message = fg_refusal_message,
		.context = &w,
	};
	fg_mail_visit(&walk, top, 0);
	/* In-Reply-To and References only count on a notice from the
	   list manager: a member's reply to a forum post names it too */
	if (w.message_id == NULL && !dsn &&
	    fg_refusal_from_manager(msg, from, list_address))
		fg_refusal_references(&w, msg, options);
	text = w.first_text != NULL ?
		fg_mail_part_utf8(w.first_text, FG_REFUSAL_TEXT_MAX) :
		fg_xstrdup("");

	r = fg_xcalloc(1, sizeof(*r));
	if (w.message_id == NULL && !to_verp) {
		*why_r = "names none of the list's posts";
		ret = 0;
	} else if (dsn && !to_verp) {
		/* an MTA reports to the envelope sender, the VERP address;
		   one that came elsewhere may be anyone's */
		*why_r = "a delivery status report that did not come to the "
			"post's return path";
		ret = 0;
	} else if (!to_verp &&
		   !fg_refusal_from_manager(msg, from, list_address)) {
		*why_r = "not sent by the list manager";
		ret = 0;
	} else {
		ret = fg_refusal_decide(&w, msg, dsn, to_verp, text, r, why_r);
	}
	if (ret > 0) {
		r->list = fg_xstrdup(list);
		r->post_id = to_verp ? verp->post_id : w.post_id;
		r->topic_id = w.topic_id;
		r->post_number = w.post_number;
		r->message_id = w.message_id;
		w.message_id = NULL;
		r->subject = w.orig_subject != NULL ? w.orig_subject :
			fg_xstrdup("");
		w.orig_subject = NULL;
		r->notice_from = fg_refusal_line(from, strlen(from));
		*refusal_r = r;
	} else {
		fg_refusal_free(&r);
	}
	free(text);
	free(from);
	free(w.message_id);
	free(w.orig_subject);
	free(w.dsn_diag);
	free(w.dsn_status);
	g_object_unref(msg);
	g_mime_parser_options_free(options);
	return ret;
}

void fg_refusal_free(struct fg_refusal **_r)
{
	struct fg_refusal *r = *_r;

	if (r == NULL)
		return;
	*_r = NULL;
	free(r->list);
	free(r->message_id);
	free(r->subject);
	free(r->reason);
	free(r->notice_from);
	free(r);
}
