/*
 * NAME
 *	fg-bounce 3 - delivery failure reports: who failed, how, and why
 * DESCRIPTION
 *	See fg-bounce.h. GMime parses the message and decodes its parts;
 *	the fields of a delivery-status or feedback-report part are read
 *	with fg_mail_fields() (GMime leaves them as the text of a leaf
 *	part). The text of a report is read in fg-bounce-text.c. This
 *	file walks the parts, reads the report fields, decides what the
 *	message is and prints the JSON.
 */
#include "fg-bounce-private.h"
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












static const char *const fg_bounce_kind_names[] = {
	"hard", "soft", "policy", "complaint",
};


/* fg_bounce_kind_name - see fg-bounce.h */
const char *fg_bounce_kind_name(enum fg_bounce_kind kind)
{
	return (unsigned int)kind < FG_N_ELEMENTS(fg_bounce_kind_names) ?
		fg_bounce_kind_names[kind] : "unknown";
}












/* fg_bounce_token - a short field value, one line, bounded; NULL when
   empty */
char *fg_bounce_token(const char *value)
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
struct fg_bounce_recipient *fg_bounce_find(struct fg_bounce *b,
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
struct fg_bounce_recipient *fg_bounce_add(struct fg_bounce *b,
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
void fg_bounce_block_end(struct fg_bounce_walk *w)
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
void fg_bounce_set(char **slot, const char *value)
{
	if (*slot == NULL && strlen(value) <= FG_BOUNCE_TEXT_MAX)
		*slot = fg_xstrdup(value);
}

/* fg_bounce_dsn_field - one field of a delivery-status or
   feedback-report part */
void fg_bounce_dsn_field(void *ctx, const char *name,
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
char *fg_bounce_mailbox(InternetAddressList *list)
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
static void fg_bounce_leaf(struct fg_mail_visit *walk, GMimePart *part)
{
	struct fg_bounce_walk *w = walk->context;
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

/* fg_bounce_empty - a multipart without parts: a report whose
   boundary lines were lost is all prologue */
static void fg_bounce_empty(struct fg_mail_visit *walk, GMimeMultipart *mp)
{
	struct fg_bounce_walk *w = walk->context;

	if (w->prologue == NULL)
		w->prologue = g_mime_multipart_get_prologue(mp);
}

/* fg_bounce_message - an attached message: the returned one (its
   sender and recipient; its parts are someone else's), or the report
   a gateway wrapped */
static void fg_bounce_message(struct fg_mail_visit *walk, GMimeMessage *inner,
			      unsigned int depth)
{
	struct fg_bounce_walk *w = walk->context;

	w->original = true;
	if (inner == NULL)
		return;
	GMimeObject *body = g_mime_message_get_mime_part(inner);
	GMimeContentType *ict = body != NULL ?
		g_mime_object_get_content_type(body) : NULL;
	if (w->unwrap && !w->dsn && ict != NULL &&
	    g_mime_content_type_is_type(ict, "multipart", "report")) {
		w->unwrap = false;
		fg_mail_visit(walk, body, depth + 1);
		return;
	}
	if (w->orig_to == NULL)
		w->orig_to = fg_bounce_mailbox(g_mime_message_get_to(inner));
	if (w->orig_from == NULL)
		w->orig_from = fg_bounce_mailbox(
			g_mime_message_get_from(inner));
	const char *hm = g_mime_object_get_header(
		GMIME_OBJECT(inner), "X-HmXmrOriginalRecipient");
	if (hm != NULL && w->orig_rcpt == NULL)
		w->orig_rcpt = fg_bounce_clean_address(hm);
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
		bool daemon = fg_bounce_words(low, FG_BOUNCE_DAEMON_NAMES) !=
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
	word = fg_bounce_words(subject_low, FG_BOUNCE_FAILURE);
	if (word == NULL)
		word = fg_bounce_words(subject_low, FG_BOUNCE_DELAY);
	if (word == NULL)
		word = fg_bounce_words(low, FG_BOUNCE_FAILURE);
	if (word == NULL)
		word = fg_bounce_words(low, FG_BOUNCE_DELAY);
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
			(fg_bounce_words(subject_low, FG_BOUNCE_DELAY) !=
			 NULL || fg_bounce_words(low, FG_BOUNCE_DELAY) !=
			 NULL) &&
			fg_bounce_words(subject_low, FG_BOUNCE_FINAL) ==
			NULL && fg_bounce_words(low, FG_BOUNCE_FINAL) ==
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
	words = fg_bounce_words(low, FG_BOUNCE_FAILURE) != NULL ||
		fg_bounce_words(low, FG_BOUNCE_DELAY) != NULL;
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
	struct fg_mail_visit walk = {
		.max_parts = FG_BOUNCE_MAX_PARTS,
		.part = fg_bounce_leaf,
		.message = fg_bounce_message,
		.empty = fg_bounce_empty,
		.context = &w,
	};
	fg_mail_visit(&walk, g_mime_message_get_mime_part(msg), 0);
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
