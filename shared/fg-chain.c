/*
 * NAME
 *	fg-chain 3 - the filter chain of a list-mode list
 * DESCRIPTION
 *	See fg-chain.h. One table names every step in order; each
 *	receiving step is one function below that looks at the context
 *	and decides. The message is read once with GMime in getinfo: the
 *	approval passphrase is removed there (fg_listmsg_approval()),
 *	before anything is parsed or stored, so no later step, record or
 *	stream entry holds it.
 */
#include "fg-chain.h"
#include "fg-attach.h"
#include "fg-common.h"
#include "fg-listmail.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"
#include "fg-record.h"
#include "fg-store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>

static fg_chain_step_func step_getinfo, step_loopdetect, step_bounce,
	step_subscribers, step_access, step_queue;

static const struct fg_chain_step fg_chain_table[] = {
	{ "getinfo", FG_CHAIN_RECEIVING, false, step_getinfo,
	  "the list's facts, the envelope, the parsed message; the "
	  "approval passphrase taken out" },
	{ "loopdetect", FG_CHAIN_RECEIVING, true, step_loopdetect,
	  "our own Message-ID, X-Loop or this list's List-Id: discard" },
	{ "bounce", FG_CHAIN_RECEIVING, false, step_bounce,
	  "a delivery report or the null sender: the bounce path" },
	{ "subscribers", FG_CHAIN_RECEIVING, true, step_subscribers,
	  "is the sender a subscriber" },
	{ "access", FG_CHAIN_RECEIVING, false, step_access,
	  "the access mode: open, members, moderated, closed, passphrase" },
	{ "tag", FG_CHAIN_RECEIVING, true, NULL,
	  "the subject tag, added to each copy at fan-out" },
	{ "footer", FG_CHAIN_RECEIVING, true, NULL,
	  "the footer, added to each copy at fan-out" },
	{ "queue", FG_CHAIN_RECEIVING, false, step_queue,
	  "queued for the forum and the distribution stream" },
	{ "single-instance", FG_CHAIN_SENDING, false, NULL,
	  "a Message-ID is sent to the subscribers once (fan-out)" },
	{ "build", FG_CHAIN_SENDING, false, NULL,
	  "the copy built once: tag, footer, List-* headers (fan-out)" },
	{ "run", FG_CHAIN_SENDING, false, NULL,
	  "one SMTP transaction per subscriber, own VERP (fan-out)" },
};

const struct fg_chain_step *fg_chain_steps(size_t *count_r)
{
	*count_r = FG_N_ELEMENTS(fg_chain_table);
	return fg_chain_table;
}

const struct fg_chain_step *fg_chain_step_find(const char *name)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_chain_table); i++) {
		if (strcmp(fg_chain_table[i].name, name) == 0)
			return &fg_chain_table[i];
	}
	return NULL;
}

int fg_chain_off_parse(const char *names, unsigned int *off_r,
		       const char **error_r)
{
	*off_r = 0;
	for (const char *p = names; *p != '\0';) {
		size_t len = strcspn(p, ", \t");
		size_t i;

		if (len == 0) {
			p++;
			continue;
		}
		for (i = 0; i < FG_N_ELEMENTS(fg_chain_table); i++) {
			if (strlen(fg_chain_table[i].name) == len &&
			    strncmp(fg_chain_table[i].name, p, len) == 0)
				break;
		}
		if (i == FG_N_ELEMENTS(fg_chain_table) ||
		    !fg_chain_table[i].optional) {
			*error_r = fg_errorf("'%.*s' is not an optional step "
					     "of the chain (loopdetect, "
					     "subscribers, tag, footer)",
					     (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		*off_r |= 1U << i;
		p += len;
	}
	return 0;
}

static const char *const fg_chain_action_names[] = {
	[FG_CHAIN_CONTINUE] = "continue",
	[FG_CHAIN_REJECT] = "reject",
	[FG_CHAIN_HOLD] = "hold",
	[FG_CHAIN_DISCARD] = "discard",
	[FG_CHAIN_BOUNCE] = "bounce",
};

const char *fg_chain_action_name(enum fg_chain_action action)
{
	return (unsigned int)action < FG_N_ELEMENTS(fg_chain_action_names) ?
		fg_chain_action_names[action] : "unknown";
}

/* decide - a decision that does not continue */
static void decide(struct fg_chain_decision *d, enum fg_chain_action action,
		   enum fg_not_posted not_posted, const char *fmt, ...)
	FG_ATTR_FORMAT(4, 5);
static void decide(struct fg_chain_decision *d, enum fg_chain_action action,
		   enum fg_not_posted not_posted, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	free(d->reason);
	d->action = action;
	d->not_posted = not_posted;
	d->reason = fg_xstrdup(text);
}

/* fail - a Redis failure in a step: the chain stops with an error */
static void fail(struct fg_chain_ctx *ctx, const char *error)
{
	if (ctx->error == NULL)
		ctx->error = error;
}

void fg_chain_init(struct fg_chain_ctx *ctx, struct fg_store *store,
		   const struct fg_list *list,
		   const struct fg_parse_settings *parse_set,
		   const char *envelope_from, const char *data, size_t size,
		   const char *passphrase)
{
	const char *error;

	memset(ctx, 0, sizeof(*ctx));
	ctx->store = store;
	ctx->list = list;
	ctx->parse_set = parse_set;
	ctx->envelope_from = envelope_from != NULL ? envelope_from : "";
	ctx->data = data;
	ctx->size = size;
	ctx->passphrase = passphrase != NULL && *passphrase != '\0' ?
		passphrase : NULL;
	/* a bad chain_off was refused when it was set; one written by
	   hand turns nothing off */
	if (list->chain_off != NULL &&
	    fg_chain_off_parse(list->chain_off, &ctx->off, &error) < 0)
		ctx->off = 0;
}

/* ---- getinfo ---- */

/* ci_find - the first place of needle in s, ASCII case ignored (C11
   has no strcasestr) */
static const char *ci_find(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s != '\0'; s++) {
		if (strncasecmp(s, needle, n) == 0)
			return s;
	}
	return NULL;
}

/* read_message - the message with GMime: the approval passphrase
   taken out (fg_listmsg_approval(), wherever Mailman 3 looks for it)
   and compared, X-Loop and X-BeenThere noted; the bytes without the
   passphrase in ctx->message. -1 when it is no message. */
static int read_message(struct fg_chain_ctx *ctx)
{
	GMimeParserOptions *options = g_mime_parser_options_new();
	struct fg_listmsg_list lml = {
		.name = ctx->list->name, .address = ctx->list->address,
		.list_id = ctx->list->list_id,
	};
	enum fg_listmsg_approve approval = FG_LISTMSG_APPROVE_NONE;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	const char *x_loop, *error;

	g_mime_parser_options_set_rfc2047_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	stream = g_mime_stream_mem_new_with_buffer(ctx->data, ctx->size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, options);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(options);
	if (msg == NULL)
		return -1;
	x_loop = g_mime_object_get_header(GMIME_OBJECT(msg), "X-Loop");
	if (x_loop != NULL)
		ctx->x_loop = fg_xstrdup(x_loop);
	ctx->been_there = *lml.address != '\0' && fg_listmsg_looped(msg, &lml);
	if (fg_listmsg_approval(msg, ctx->passphrase, &approval, &error) < 0) {
		/* a passphrase too long to be the list's: removed or not,
		   the message is not approved; keep it from the forum */
		g_object_unref(msg);
		return -1;
	}
	ctx->has_approval = approval != FG_LISTMSG_APPROVE_NONE;
	ctx->approved = approval == FG_LISTMSG_APPROVE_MATCH;
	if (ctx->has_approval) {
		char *text = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);

		ctx->message = fg_xstrdup(text);
		ctx->message_size = strlen(text);
		g_free(text);
	} else {
		ctx->message = fg_xstrndup(ctx->data, ctx->size);
		ctx->message_size = ctx->size;
	}
	g_object_unref(msg);
	return 0;
}

/* step_getinfo - the list's access mode, the message without its
   approval, parsed */
static void step_getinfo(struct fg_chain_ctx *ctx, struct fg_chain_decision *d)
{
	const char *error;

	ctx->access = FG_ACCESS_MEMBERS;
	if (ctx->list->access != NULL)
		(void)fg_policy_access_parse(ctx->list->access, &ctx->access);
	if (read_message(ctx) < 0) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_UNPARSABLE,
		       "unparsable message (not a MIME message)");
		return;
	}
	if (fg_mail_parse(ctx->message, ctx->message_size, ctx->parse_set,
			  &ctx->rec, &error) < 0) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_UNPARSABLE,
		       "unparsable message (%s)", error);
		ctx->rec = NULL;
	}
}

/* ---- loopdetect ---- */

/* step_loopdetect - our own mail, or this list's, coming back */
static void step_loopdetect(struct fg_chain_ctx *ctx,
			    struct fg_chain_decision *d)
{
	const struct fg_list *list = ctx->list;
	char *default_id;

	if (ctx->rec->classification == FG_CLASS_OWN) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_OWN,
		       "message-id=<%s> is our own (%s)", ctx->rec->message_id,
		       ctx->rec->reason);
		return;
	}
	if (ctx->been_there) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_LOOP,
		       "message-id=<%s> has X-BeenThere: %s",
		       ctx->rec->message_id, list->address);
		return;
	}
	if (ctx->x_loop != NULL && *list->address != '\0' &&
	    ci_find(ctx->x_loop, list->address) != NULL) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_LOOP,
		       "message-id=<%s> has X-Loop: %s", ctx->rec->message_id,
		       list->address);
		return;
	}
	if (ctx->rec->list_id == NULL)
		return;
	default_id = list->list_id == NULL ?
		fg_listmail_default_id(list->address) : NULL;
	if (strcasecmp(ctx->rec->list_id, list->list_id != NULL ?
		       list->list_id : default_id) == 0)
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_LOOP,
		       "message-id=<%s> has this list's List-Id <%s>",
		       ctx->rec->message_id, ctx->rec->list_id);
	free(default_id);
}

/* ---- bounce ---- */

/* step_bounce - delivery reports and the null sender go to the bounce
   path, automatic replies are not posted */
static void step_bounce(struct fg_chain_ctx *ctx, struct fg_chain_decision *d)
{
	const struct fg_record *rec = ctx->rec;

	if (rec->classification == FG_CLASS_BOUNCE)
		decide(d, FG_CHAIN_BOUNCE, FG_NOT_POSTED_BOUNCE,
		       "message-id=<%s> (%s)", rec->message_id, rec->reason);
	else if (rec->classification == FG_CLASS_AUTO_REPLY)
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_AUTO_REPLY,
		       "message-id=<%s> (%s)", rec->message_id, rec->reason);
	else if (*ctx->envelope_from == '\0')
		decide(d, FG_CHAIN_BOUNCE, FG_NOT_POSTED_BOUNCE,
		       "message-id=<%s> from the null sender",
		       rec->message_id);
}

/* ---- subscribers ---- */

/* step_subscribers - the sender's subscription, if any */
static void step_subscribers(struct fg_chain_ctx *ctx,
			     struct fg_chain_decision *d)
{
	const char *error;

	(void)d;
	if (fg_store_subscriber_get(ctx->store, ctx->list->name,
				    ctx->rec->from_email,
				    &ctx->subscriber_state, &error) < 0)
		fail(ctx, error);
}

/* ---- access ---- */

/* step_access - may the sender post under the list's access mode */
static void step_access(struct fg_chain_ctx *ctx, struct fg_chain_decision *d)
{
	const char *list = ctx->list->name, *from = ctx->rec->from_email;
	const char *error;
	int member, allowed;
	bool subscriber = ctx->subscriber_state != NULL;

	if (ctx->approved || ctx->moderator_approved)
		return;
	if (ctx->access == FG_ACCESS_OPEN)
		return;
	allowed = fg_store_is_allowed(ctx->store, list, from, &error);
	if (allowed < 0) {
		fail(ctx, error);
		return;
	}
	if (allowed > 0)
		return;
	member = fg_store_is_member(ctx->store, list, from, &error);
	if (member < 0) {
		fail(ctx, error);
		return;
	}
	switch (ctx->access) {
	case FG_ACCESS_OPEN:
		break;
	case FG_ACCESS_MEMBERS:
		if (member == 0 && !subscriber)
			decide(d, FG_CHAIN_REJECT, FG_NOT_POSTED_REJECTED,
			       "not a member: <%s> may not post to the %s "
			       "list; only members may post", from, list);
		break;
	case FG_ACCESS_MODERATED:
		if (member == 0 && !subscriber)
			decide(d, FG_CHAIN_REJECT, FG_NOT_POSTED_REJECTED,
			       "not a member: <%s> may not post to the %s "
			       "list; only members may post", from, list);
		else
			decide(d, FG_CHAIN_HOLD, FG_NOT_POSTED_HELD,
			       "the %s list is moderated; the message from "
			       "<%s> waits for a moderator", list, from);
		break;
	case FG_ACCESS_CLOSED:
		decide(d, FG_CHAIN_REJECT, FG_NOT_POSTED_REJECTED,
		       "closed list: <%s> may not post to the %s list",
		       from, list);
		break;
	case FG_ACCESS_PASSPHRASE:
		decide(d, FG_CHAIN_REJECT, FG_NOT_POSTED_REJECTED,
		       "%s: the %s list takes posts from <%s> only with its "
		       "passphrase", ctx->has_approval ? "wrong passphrase" :
		       "no passphrase", list, from);
		break;
	}
}

/* ---- queue ---- */

/* step_queue - queue the post for the forum and for the fan-out */
static void step_queue(struct fg_chain_ctx *ctx, struct fg_chain_decision *d)
{
	struct fg_record *rec = ctx->rec;
	struct fg_dist dist = {
		.message_id = rec->message_id,
		.envelope_from = ctx->envelope_from,
		.from_email = rec->from_email,
		.subject = rec->subject,
		.chain = ctx->passed != NULL ? ctx->passed : "",
		.message = ctx->message,
		.message_size = ctx->message_size,
	};
	const char *error;

	if (ctx->attach != NULL &&
	    fg_attach_extract(ctx->message, ctx->message_size, ctx->attach,
			      &rec->attachments, &rec->n_attachments,
			      &error) < 0) {
		/* best effort, as in mirror mode */
		rec->attachments = NULL;
		rec->n_attachments = 0;
	}
	if (rec->body[strspn(rec->body, " \t\n")] == '\0' &&
	    rec->n_attachments == 0) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_EMPTY,
		       "message-id=<%s> (no text found to post)",
		       rec->message_id);
		return;
	}
	/* the fan-out first: a delivery retried after the forum's queue
	   took the post still reaches the subscribers, and each add is
	   once per Message-ID */
	ctx->queued_dist = fg_store_dist_add(ctx->store, ctx->list->name,
					     &dist, &error);
	if (ctx->queued_dist < 0) {
		fail(ctx, error);
		return;
	}
	ctx->queued_forum = fg_store_inbound_add(ctx->store, ctx->list->name,
						 rec, &error);
	if (ctx->queued_forum < 0) {
		fail(ctx, error);
		return;
	}
	if (ctx->queued_forum == 0 && ctx->queued_dist == 0)
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_DUPLICATE,
		       "message-id=<%s> (queued before)", rec->message_id);
}

/* ---- running ---- */

/* passed_add - note a step the message passed */
static void passed_add(struct fg_chain_ctx *ctx, const char *name)
{
	size_t len = strlen(name) + 1;

	if (ctx->passed_len + len + 1 > ctx->passed_cap) {
		ctx->passed_cap = (ctx->passed_len + len + 1) * 2;
		ctx->passed = fg_xrealloc(ctx->passed, ctx->passed_cap);
	}
	if (ctx->passed_len > 0)
		ctx->passed[ctx->passed_len++] = ',';
	memcpy(ctx->passed + ctx->passed_len, name, len);
	ctx->passed_len += len - 1;
}

/* run_one - one step of the table, unless it needs a record that
   getinfo could not make */
static void run_one(struct fg_chain_ctx *ctx, const struct fg_chain_step *s,
		    struct fg_chain_decision *d)
{
	d->step = s->name;
	if (s->run != step_getinfo && ctx->rec == NULL) {
		decide(d, FG_CHAIN_DISCARD, FG_NOT_POSTED_UNPARSABLE,
		       "no parsed message (getinfo did not run)");
		return;
	}
	s->run(ctx, d);
}

void fg_chain_run_step(struct fg_chain_ctx *ctx, const char *name,
		       struct fg_chain_decision *d)
{
	const struct fg_chain_step *s = fg_chain_step_find(name);

	memset(d, 0, sizeof(*d));
	d->not_posted = FG_NOT_POSTED_COUNT;
	if (s == NULL || s->run == NULL) {
		d->step = s != NULL ? s->name : "none";
		return;
	}
	run_one(ctx, s, d);
}

int fg_chain_run(struct fg_chain_ctx *ctx, struct fg_chain_decision *d,
		 const char **error_r)
{
	memset(d, 0, sizeof(*d));
	d->not_posted = FG_NOT_POSTED_COUNT;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_chain_table); i++) {
		const struct fg_chain_step *s = &fg_chain_table[i];

		if (s->side != FG_CHAIN_RECEIVING || s->run == NULL ||
		    (ctx->off & (1U << i)) != 0)
			continue;
		run_one(ctx, s, d);
		if (ctx->error != NULL) {
			*error_r = fg_errorf("step %s: %s", s->name,
					     ctx->error);
			return -1;
		}
		if (d->action != FG_CHAIN_CONTINUE)
			return 0;
		passed_add(ctx, s->name);
	}
	return 0;
}

void fg_chain_decision_clear(struct fg_chain_decision *d)
{
	free(d->reason);
	d->reason = NULL;
}

void fg_chain_deinit(struct fg_chain_ctx *ctx)
{
	free(ctx->message);
	free(ctx->x_loop);
	free(ctx->subscriber_state);
	free(ctx->passed);
	fg_record_free(&ctx->rec);
	memset(ctx, 0, sizeof(*ctx));
}
