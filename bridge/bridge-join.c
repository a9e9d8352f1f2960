/*
 * NAME
 *	bridge-join 3 - subscribe and unsubscribe by mail
 * DESCRIPTION
 *	The control worker's handlers (bridge-control.h) of the roles
 *	join, leave, request and confirm of a list-mode list:
 *
 *	join (LIST-join@), leave (LIST-leave@) and the commands
 *	"subscribe"/"join" and "unsubscribe"/"leave" of a mail to
 *	LIST-request@ (fg_listjoin_commands(): the Subject, then at most
 *	request_max_lines lines of the text) send the sender a
 *	confirmation request and change nothing (double opt-in). It
 *	comes from LIST-confirm+TOKEN@ with that Reply-To, so a plain
 *	reply confirms, and names confirm_url/LIST/TOKEN when that is
 *	set (bridge-confirm.c). The token (fg-listjoin.h) names the
 *	list, the action and the address and expires after
 *	confirm_expiry. A join from an address that is subscribed gets
 *	a short notice instead. A leave is answered with a confirmation
 *	request whether the address is subscribed or not, so that the
 *	answer tells nobody who is a member.
 *
 *	The sender is the From address, and the envelope sender must be
 *	the same address (compared as Postfix resolves it, less a
 *	recipient_delimiter extension): a mail whose two senders differ
 *	is logged and answered nothing, since either may be forged and
 *	an answer would be backscatter. A From proves nothing either:
 *	that is what the confirmation is for.
 *
 *	"help", an unknown command and a request without any command
 *	are answered with the help text.
 *
 *	confirm (LIST-confirm+TOKEN@, and the confirmation page, which
 *	queues the same entry): the token must verify and be unexpired,
 *	and the sender must be the address it names (case-insensitive);
 *	otherwise nothing changes and nothing is sent (logged). The
 *	token is marked used and the subscription changed in one step
 *	(fg_store_confirm_apply()), so it works once; then a welcome, a
 *	notice that the address was subscribed already, or a notice of
 *	the unsubscription is sent.
 *
 *	At most confirm_daily_limit mails (confirmation requests,
 *	notices, help) go to one address for one list in a day; the
 *	rest are logged and not sent, so forged requests cannot flood
 *	an address. The answers to a confirmation are not counted: its
 *	token came from a mail that was.
 *
 *	Every answer comes from LIST-request@ (a confirmation request
 *	from LIST-confirm+TOKEN@) with a per-recipient VERP return path
 *	(fg_verp_make_recipient(), as the fan-out's), so its bounce is
 *	recognised; it carries Auto-Submitted: auto-replied, and its
 *	header fields hold only addresses and tokens checked to be plain
 *	ASCII (fg_compose_address_valid()), so the sender's address
 *	cannot add a header.
 * SEE ALSO
 *	doc/list-mode.md ("Subscribing by mail").
 */
#include "bridge-control.h"
#include "fg-address.h"
#include "fg-compose.h"
#include "fg-listjoin.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-record.h"
#include "fg-smtp.h"
#include "fg-verp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the window of confirm_daily_limit */
#define JOIN_DAY_S (24 * 3600)
/* the longest Message-ID put into In-Reply-To */
#define JOIN_MSGID_MAX 250

/* what one answer is */
struct join_answer {
	struct worker *w;
	struct worker_list *l;
	const struct fg_entry *entry;
	const char *to;			/* the requester, canonical */
	const char *from;		/* From: and, with reply_to, Reply-To: */
	bool reply_to;
	const char *subject;
	const char *in_reply_to;	/* "" none */
	const char *kind;		/* for the log */
	char *body;
};

/* join_addresses - the list's join, leave and request addresses */
struct join_addresses {
	char *join, *leave, *request;
};

/* join_addresses_make - the addresses of the list l */
static void join_addresses_make(const struct worker_list *l,
				struct join_addresses *a)
{
	a->join = fg_listaddr_make(l->def->address, FG_LISTADDR_JOIN, NULL);
	a->leave = fg_listaddr_make(l->def->address, FG_LISTADDR_LEAVE, NULL);
	a->request = fg_listaddr_make(l->def->address, FG_LISTADDR_REQUEST,
				      NULL);
}

/* join_addresses_free - free what join_addresses_make() made */
static void join_addresses_free(struct join_addresses *a)
{
	free(a->join);
	free(a->leave);
	free(a->request);
}

/* join_sender - the recipient's VERP return path on a route's base */
static char *join_sender(void *context, const char *base)
{
	const struct join_answer *a = context;

	return fg_verp_make_recipient(a->w->bridge->config->secret,
				      a->l->name, a->to, base);
}

/* join_msgid_ok - a Message-ID that may go into In-Reply-To */
static bool join_msgid_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JOIN_MSGID_MAX)
		return false;
	for (const char *p = id; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>')
			return false;
	}
	return true;
}

/* join_compose - the answer as an RFC 5322 message with CR LF. Written
   by hand rather than with GMime: every header value is a checked
   ASCII address, a token or text of this file, and the body is ASCII. */
static char *join_compose(const struct join_answer *a, size_t *size_r)
{
	const struct fg_config *c = a->w->bridge->config;
	struct fg_buf b = { 0 };
	char date[64], hex[65], *data;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* the same Message-ID on every try of one entry */
	data = fg_xasprintf("answer:%s:%s:%s", a->l->name, a->entry->id,
			    a->kind);
	fg_hmac_sha256_hex(c->secret, strlen(c->secret), data, strlen(data),
			   hex);
	free(data);
	hex[24] = '\0';
	fg_buf_printf(&b, "From: %s <%s>\r\n", a->l->name, a->from);
	if (a->reply_to)
		fg_buf_printf(&b, "Reply-To: <%s>\r\n", a->from);
	fg_buf_printf(&b, "To: <%s>\r\n", a->to);
	fg_buf_printf(&b, "Subject: %s\r\n", a->subject);
	fg_buf_printf(&b, "Date: %s\r\n", date);
	fg_buf_printf(&b, "Message-ID: <fg-join.%s@%s>\r\n", hex,
		      c->mail_domain);
	if (join_msgid_ok(a->in_reply_to))
		fg_buf_printf(&b, "In-Reply-To: <%s>\r\n", a->in_reply_to);
	fg_buf_puts(&b, "Auto-Submitted: auto-replied\r\n"
		    "X-Auto-Response-Suppress: All\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=us-ascii\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n");
	for (const char *p = a->body; *p != '\0'; p++) {
		if (*p == '\n')
			fg_buf_puts(&b, "\r\n");
		else
			fg_buf_putc(&b, *p);
	}
	*size_r = b.len;
	return fg_buf_steal(&b);
}

/* join_send - send one answer: WORKER_DONE sent or refused for good
   (logged), WORKER_RETRY deferred */
static int join_send(struct join_answer *a, struct relay *relay)
{
	const struct fg_config *c = a->w->bridge->config;
	char what[200], *data;
	const char *reply;
	size_t size;
	int status;

	data = join_compose(a, &size);
	snprintf(what, sizeof(what), "control: list=%s %s", a->l->name,
		 a->kind);
	status = relay_send(relay, c, what, a->l->name, join_sender, a, a->to,
			    data, size, &reply);
	free(data);
	switch (status) {
	case FG_SMTP_OK:
		msg_info("control: list=%s to=<%s>: sent the %s", a->l->name,
			 a->to, a->kind);
		return WORKER_DONE;
	case FG_SMTP_PERMANENT:
		msg_warn("control: list=%s to=<%s>: the %s was refused by the "
			 "relay, not retried: %s", a->l->name, a->to, a->kind,
			 reply);
		return WORKER_DONE;
	default: {
		unsigned int wait = worker_retry(a->w, a->l, 0);

		msg_warn("control: list=%s to=<%s>: the %s was deferred: %s; "
			 "retry in %u.%03us", a->l->name, a->to, a->kind,
			 reply, wait / 1000, wait % 1000);
		return WORKER_RETRY;
	}
	}
}

/* join_requester - the sender as a canonical address (caller frees),
   or NULL (logged) when From is not one or the envelope sender is
   another address */
static char *join_requester(struct worker *w, struct worker_list *l,
			    const struct control_mail *mail)
{
	const char *delim = w->bridge->config->recipient_delimiter;
	char *from = fg_subscriber_address(mail->from);
	char *env = fg_subscriber_address(mail->envelope_from);
	char *from_base, *env_base;
	bool same;

	if (from == NULL || !fg_compose_address_valid(from) ||
	    strlen(from) > FG_LISTJOIN_ADDRESS_MAX) {
		msg_warn("control: list=%s message_id=<%s>: From <%s> is not "
			 "an address a confirmation can go to: ignored",
			 l->name, mail->message_id, mail->from);
		free(from);
		free(env);
		return NULL;
	}
	same = env != NULL && strcmp(from, env) == 0;
	if (!same && env != NULL) {
		from_base = fg_xstrdup(from);
		env_base = fg_xstrdup(env);
		(void)fg_address_strip_extension(from_base, delim);
		(void)fg_address_strip_extension(env_base, delim);
		same = strcmp(from_base, env_base) == 0;
		free(from_base);
		free(env_base);
	}
	free(env);
	if (!same) {
		msg_warn("control: list=%s message_id=<%s>: From <%s> and the "
			 "envelope sender <%s> differ: ignored, nothing sent",
			 l->name, mail->message_id, mail->from,
			 mail->envelope_from);
		free(from);
		return NULL;
	}
	return from;
}

/* join_finish - finish the entry after its answer: sent, refused,
   not sent */
static int join_finish(struct worker *w, struct worker_list *l,
		       const struct fg_entry *entry, int ret)
{
	if (ret != WORKER_DONE)
		return ret;
	worker_mark_done(l, entry->id, "sent", NULL);
	return worker_finish(w, l, entry);
}

/* join_counted - count one more mail to the requester: true when it
   may be sent; *ret_r the result when not (finished, or a retry) */
static bool join_counted(struct worker *w, struct worker_list *l,
			 const struct fg_entry *entry, const char *to,
			 int *ret_r)
{
	const struct fg_config *c = w->bridge->config;
	const char *error;
	long long count;

	if (worker_is_done(l, entry->id))
		return true;	/* counted on an earlier try */
	if (c->confirm_daily_limit == 0)
		return true;
	if (fg_store_confirm_count(w->store, l->name, to, JOIN_DAY_S, &count,
				   &error) < 0) {
		*ret_r = worker_store_failed(w, l, "counting the mail to an "
					     "address", error);
		return false;
	}
	worker_mark_done(l, entry->id, "counted", NULL);
	if (count > c->confirm_daily_limit) {
		msg_warn("control: list=%s to=<%s>: not sent: %lld mails to "
			 "this address today, confirm_daily_limit is %u",
			 l->name, to, count, c->confirm_daily_limit);
		*ret_r = worker_finish(w, l, entry);
		return false;
	}
	return true;
}

/* join_request - a subscription or unsubscription asked for: the
   confirmation request, or the notice that the address is subscribed */
static int join_request(struct worker *w, struct worker_list *l,
			const struct fg_entry *entry,
			const struct control_mail *mail, struct relay *relay,
			enum fg_listjoin_action action)
{
	const struct fg_config *c = w->bridge->config;
	struct join_answer a = { .w = w, .l = l, .entry = entry,
				 .in_reply_to = mail->message_id };
	char *to, *state = NULL, *token = NULL, *confirm = NULL;
	char *subject = NULL, *url = NULL;
	struct join_addresses addrs;
	const char *error;
	struct fg_buf b = { 0 };
	long long expires;
	int ret, sub;

	if ((to = join_requester(w, l, mail)) == NULL)
		return worker_finish(w, l, entry);
	if (!join_counted(w, l, entry, to, &ret)) {
		free(to);
		return ret;
	}
	sub = action == FG_LISTJOIN_SUBSCRIBE ?
		fg_store_subscriber_get(w->store, l->name, to, &state, &error) :
		0;
	if (sub < 0) {
		free(to);
		return worker_store_failed(w, l, "reading a subscriber", error);
	}
	a.to = to;
	join_addresses_make(l, &addrs);
	if (sub > 0) {
		a.from = addrs.request;
		a.kind = "notice (subscribed already)";
		subject = fg_xasprintf("You are subscribed to %s",
				       l->def->address);
		a.subject = subject;
		fg_buf_printf(&b, "The address %s is subscribed to the mailing "
			      "list %s already: nothing was changed.\n\n"
			      "To unsubscribe, write to %s.\n",
			      to, l->def->address, addrs.leave);
	} else {
		expires = (long long)time(NULL) + c->confirm_expiry / 1000;
		token = fg_listjoin_token(c->secret, l->name, action, to,
					  expires);
		confirm = token == NULL ? NULL :
			fg_listaddr_make(l->def->address, FG_LISTADDR_CONFIRM,
					 token);
		if (confirm == NULL || !fg_compose_address_valid(confirm)) {
			msg_warn("control: list=%s to=<%s>: no confirmation "
				 "token for this address: ignored", l->name,
				 to);
			free(token);
			free(confirm);
			join_addresses_free(&addrs);
			free(to);
			free(state);
			return worker_finish(w, l, entry);
		}
		a.from = confirm;
		a.reply_to = true;
		a.kind = action == FG_LISTJOIN_SUBSCRIBE ?
			"confirmation request (subscribe)" :
			"confirmation request (unsubscribe)";
		subject = fg_xasprintf("Confirm: %s %s %s",
				       fg_listjoin_action_name(action),
				       action == FG_LISTJOIN_SUBSCRIBE ?
				       "to" : "from", l->def->address);
		a.subject = subject;
		fg_buf_printf(&b, "Someone, perhaps you, asked to %s the "
			      "address %s %s the mailing list %s.\n\n"
			      "To confirm, reply to this message: the reply "
			      "address holds the confirmation, the text of "
			      "the reply does not matter.\n",
			      fg_listjoin_action_name(action), to,
			      action == FG_LISTJOIN_SUBSCRIBE ? "to" : "from",
			      l->def->address);
		if (*c->confirm_url != '\0') {
			size_t n = strlen(c->confirm_url);

			url = fg_xasprintf("%s%s%s/%s", c->confirm_url,
					   c->confirm_url[n - 1] == '/' ?
					   "" : "/", l->name, token);
			fg_buf_printf(&b, "Or open this page and press its "
				      "button:\n\n    %s\n", url);
		}
		fg_buf_printf(&b, "\nIf you did not ask for this, ignore this "
			      "message: nothing changes without a "
			      "confirmation, and this one expires in %u "
			      "hours.\n", c->confirm_expiry / 3600000);
	}
	a.body = fg_buf_steal(&b);
	ret = join_finish(w, l, entry, join_send(&a, relay));
	free(a.body);
	free(url);
	free(subject);
	free(token);
	free(confirm);
	join_addresses_free(&addrs);
	free(state);
	free(to);
	return ret;
}

/* join_help_text - the help text (caller frees) */
static char *join_help_text(const struct worker_list *l,
			    const struct join_addresses *addrs,
			    const char *word)
{
	struct fg_buf b = { 0 };

	if (word != NULL)
		fg_buf_printf(&b, "The command \"%s\" is not known.\n\n", word);
	fg_buf_printf(&b, "This is the mailing list %s.\n\n"
		      "To subscribe, write to %s; to unsubscribe, to %s. "
		      "Either way you get a message to confirm, and nothing "
		      "changes before you do.\n\n"
		      "Or write to %s with one of these commands as the "
		      "Subject or the first line of the text:\n\n"
		      "    subscribe     (or join)\n"
		      "    unsubscribe   (or leave)\n"
		      "    help\n\n"
		      "To post, write to %s.\n",
		      l->def->address, addrs->join, addrs->leave,
		      addrs->request, l->def->address);
	return fg_buf_steal(&b);
}

/* join_help - answer with the help text */
static int join_help(struct worker *w, struct worker_list *l,
		     const struct fg_entry *entry,
		     const struct control_mail *mail, struct relay *relay,
		     const char *word)
{
	struct join_answer a = { .w = w, .l = l, .entry = entry,
				 .in_reply_to = mail->message_id,
				 .kind = "help" };
	struct join_addresses addrs;
	char *to, *subject;
	int ret;

	if ((to = join_requester(w, l, mail)) == NULL)
		return worker_finish(w, l, entry);
	if (!join_counted(w, l, entry, to, &ret)) {
		free(to);
		return ret;
	}
	join_addresses_make(l, &addrs);
	subject = fg_xasprintf("Help for %s", l->def->address);
	a.to = to;
	a.from = addrs.request;
	a.subject = subject;
	a.body = join_help_text(l, &addrs, word);
	ret = join_finish(w, l, entry, join_send(&a, relay));
	free(a.body);
	free(subject);
	join_addresses_free(&addrs);
	free(to);
	return ret;
}

/* join_handle - role join: see control_handler_func */
int join_handle(struct worker *w, struct worker_list *l,
		const struct fg_entry *entry, const struct control_mail *mail,
		struct relay *relay)
{
	return join_request(w, l, entry, mail, relay, FG_LISTJOIN_SUBSCRIBE);
}

/* leave_handle - role leave: see control_handler_func */
int leave_handle(struct worker *w, struct worker_list *l,
		 const struct fg_entry *entry, const struct control_mail *mail,
		 struct relay *relay)
{
	return join_request(w, l, entry, mail, relay,
			    FG_LISTJOIN_UNSUBSCRIBE);
}

/* request_handle - role request: the first command of the mail */
int request_handle(struct worker *w, struct worker_list *l,
		   const struct fg_entry *entry,
		   const struct control_mail *mail, struct relay *relay)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_parse_settings set;
	struct fg_record *rec = NULL;
	enum fg_listjoin_command cmd;
	const char *error;
	char *word = NULL;
	int ret;

	if (fg_parse_settings_init(&set, c, &error) == 0 &&
	    fg_mail_parse(mail->message, strlen(mail->message), &set, &rec,
			  &error) < 0)
		rec = NULL;
	cmd = fg_listjoin_commands(mail->subject,
				   rec != NULL ? rec->body : NULL,
				   c->request_max_lines, &word);
	fg_record_free(&rec);
	msg_info("control: list=%s message_id=<%s>: request: %s%s",
		 l->name, mail->message_id,
		 cmd == FG_LISTJOIN_CMD_SUBSCRIBE ? "subscribe" :
		 cmd == FG_LISTJOIN_CMD_UNSUBSCRIBE ? "unsubscribe" :
		 cmd == FG_LISTJOIN_CMD_HELP ? "help" :
		 cmd == FG_LISTJOIN_CMD_UNKNOWN ? "unknown command " :
		 "no command", word != NULL ? word : "");
	switch (cmd) {
	case FG_LISTJOIN_CMD_SUBSCRIBE:
		ret = join_request(w, l, entry, mail, relay,
				   FG_LISTJOIN_SUBSCRIBE);
		break;
	case FG_LISTJOIN_CMD_UNSUBSCRIBE:
		ret = join_request(w, l, entry, mail, relay,
				   FG_LISTJOIN_UNSUBSCRIBE);
		break;
	default:
		ret = join_help(w, l, entry, mail, relay, word);
		break;
	}
	free(word);
	return ret;
}

/* confirm_answer - the welcome or notice after a confirmation */
static int confirm_answer(struct worker *w, struct worker_list *l,
			  const struct fg_entry *entry,
			  const struct control_mail *mail,
			  struct relay *relay, const char *to,
			  enum fg_listjoin_action action, bool changed)
{
	struct join_answer a = { .w = w, .l = l, .entry = entry, .to = to,
				 .in_reply_to = mail->message_id };
	struct join_addresses addrs;
	struct fg_buf b = { 0 };
	char *subject;
	int ret;

	join_addresses_make(l, &addrs);
	a.from = addrs.request;
	if (action == FG_LISTJOIN_SUBSCRIBE && changed) {
		a.kind = "welcome";
		subject = fg_xasprintf("Welcome to %s", l->def->address);
		fg_buf_printf(&b, "Welcome to the mailing list %s: the address "
			      "%s is subscribed.\n\nTo post, write to %s.\n"
			      "To unsubscribe, write to %s.\n",
			      l->def->address, to, l->def->address,
			      addrs.leave);
	} else if (action == FG_LISTJOIN_SUBSCRIBE) {
		a.kind = "notice (subscribed already)";
		subject = fg_xasprintf("You are subscribed to %s",
				       l->def->address);
		fg_buf_printf(&b, "The address %s is subscribed to the mailing "
			      "list %s already: nothing was changed.\n", to,
			      l->def->address);
	} else {
		/* the same words whether the address was subscribed */
		a.kind = "notice (unsubscribed)";
		subject = fg_xasprintf("You are unsubscribed from %s",
				       l->def->address);
		fg_buf_printf(&b, "The address %s is not subscribed to the "
			      "mailing list %s (any more).\n\nTo subscribe "
			      "again, write to %s.\n", to, l->def->address,
			      addrs.join);
	}
	a.subject = subject;
	a.body = fg_buf_steal(&b);
	ret = join_finish(w, l, entry, join_send(&a, relay));
	free(a.body);
	free(subject);
	join_addresses_free(&addrs);
	return ret;
}

/* confirm_handle - role confirm: see the DESCRIPTION */
int confirm_handle(struct worker *w, struct worker_list *l,
		   const struct fg_entry *entry,
		   const struct control_mail *mail, struct relay *relay)
{
	const struct fg_config *c = w->bridge->config;
	enum fg_listjoin_action action;
	char *address = NULL, *to, *mac;
	const char *error;
	long long expires, now = (long long)time(NULL);
	bool changed;
	int ret;

	ret = fg_listjoin_verify(c->secret, l->name, mail->detail, now,
				 &action, &address, &expires, &error);
	if (ret <= 0) {
		msg_warn("control: list=%s message_id=<%s> from=<%s>: %s: "
			 "nothing changed", l->name, mail->message_id,
			 mail->from, error);
		return worker_finish(w, l, entry);
	}
	if ((to = join_requester(w, l, mail)) == NULL) {
		free(address);
		return worker_finish(w, l, entry);
	}
	if (strcmp(to, address) != 0) {
		msg_warn("control: list=%s message_id=<%s>: the confirmation "
			 "of <%s> came from <%s>: nothing changed", l->name,
			 mail->message_id, address, to);
		free(address);
		free(to);
		return worker_finish(w, l, entry);
	}
	free(address);
	if (worker_is_done(l, entry->id)) {
		/* applied on an earlier try whose answer was deferred */
		changed = strcmp(l->done_message_id, "applied:1") == 0;
	} else {
		mac = fg_str_lower(fg_xstrdup(strrchr(mail->detail, '.') + 1));
		ret = fg_store_confirm_apply(w->store, l->name, mac,
					     expires - now + 1,
					     action == FG_LISTJOIN_SUBSCRIBE,
					     to, &changed, &error);
		free(mac);
		if (ret < 0) {
			free(to);
			return worker_store_failed(w, l, "confirming", error);
		}
		if (ret == 0) {
			msg_info("control: list=%s to=<%s>: the token was used "
				 "before: nothing changed", l->name, to);
			free(to);
			return worker_finish(w, l, entry);
		}
		msg_info("control: list=%s address=<%s>: %s confirmed%s",
			 l->name, to, fg_listjoin_action_name(action),
			 changed ? "" : " (nothing to change)");
		worker_mark_done(l, entry->id, changed ? "applied:1" :
				 "applied:0", NULL);
	}
	ret = confirm_answer(w, l, entry, mail, relay, to, action, changed);
	free(to);
	return ret;
}
