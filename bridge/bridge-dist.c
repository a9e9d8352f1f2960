/*
 * NAME
 *	bridge-dist 3 - the fan-out of a list-mode list to its subscribers
 * DESCRIPTION
 *	A list in list mode (doc/list-mode.md) is its own list manager:
 *	the Dovecot plugin's filter chain adds each accepted post to the
 *	list's distribution stream fg:{LIST}:dist, and so does the
 *	forum->list worker for a forum post (bridge-outbound.c). This
 *	worker takes the stream's entries in order, one list at a time
 *	per daemon under the list's fan-out lease (FG_QUEUE_DIST: several
 *	daemons may run, one works a list, fenced), and runs the chain's
 *	sending steps for each:
 *
 *	build: the copy is made once, from the message as delivered,
 *	by the message library (fg_listmsg_build()): the trace headers of
 *	the delivery to the posting address (Return-Path, Delivered-To)
 *	go, the subject gets the list's tag (step "tag", unless chain_off
 *	names it), the list's footer template (field "footer") is added
 *	(step "footer"), From is rewritten when the list's dmarc_from is
 *	"always" (Mailman's DMARC mitigation), or "policy" and the
 *	author's domain publishes a DMARC policy of reject or quarantine
 *	(dist_dmarc(): fg:dmarc:DOMAIN, else a DNS look-up, fg-dmarc.h,
 *	cached there for dmarc_cache_ttl; a look-up that fails is logged
 *	and counts as no policy), the list headers are set
 *	(List-Id, List-Post, ..., Precedence, X-BeenThere), and the
 *	message is written with CR LF line ends. A message that cannot
 *	be read or changed is dead-lettered with the reason, before any
 *	copy is sent.
 *	single-instance: fg_store_dist_start() refuses a Message-ID whose
 *	fan-out another entry began; else it snapshots the enabled
 *	subscribers, or finds the snapshot and the position of a fan-out
 *	this or another daemon began and did not finish (fg-store.h,
 *	shared/fg-store-fanout.c).
 *	run: one SMTP transaction per recipient through smtp_relay's
 *	routes (bridge-relay.h; each route keeps its connection; a plain
 *	smtp:// route, the local MTA, gets MAIL, RCPT and DATA pipelined,
 *	fg-smtp-pipe.h), from
 *	the recipient's own VERP return path (fg_verp_make_recipient():
 *	a bounce names the subscriber, and a forged one fails its MAC),
 *	with the recipient's one-click List-Unsubscribe lines in front
 *	when list_unsubscribe_url is set. After each transaction the
 *	relay answered, the position is recorded (fg_store_dist_record()),
 *	so a daemon killed in the middle resumes with the next recipient:
 *	only a kill between the relay's 250 and the record sends that one
 *	copy twice, with the same Message-ID. When every route is the
 *	pipelining client, the record goes to Redis while the next
 *	recipient's envelope goes to the relay, and its answer is read
 *	when the relay took DATA, before that copy's message
 *	(dist_data_hook()): a record that failed gives that transaction
 *	up without its final dot, so no copy goes before the one before it
 *	is recorded, and the fan-out waits on one round trip less.
 *
 *	A recipient the relay refuses (5xx) is logged, counted as refused
 *	and not tried again. A 4xx or a relay that cannot be reached
 *	stops the list's fan-out where it is, and it is tried again with
 *	the queues' backoff (forum_retry_min to forum_retry_max), from the
 *	same recipient. When the fan-out's last recipient is done, the
 *	entry is acknowledged and deleted with the snapshot and the
 *	progress, in one step under the lease.
 *
 *	When Redis fails right after a copy was accepted, the position is
 *	kept here and recorded first when the same entry comes back, so
 *	a Redis outage does not send anyone a second copy either.
 * SEE ALSO
 *	doc/list-mode.md ("The fan-out"), doc/redis-schema.md.
 */
#include "bridge-worker.h"
#include "bridge-relay.h"
#include "bridge-digest.h"
#include "fg-chain.h"
#include "fg-dmarc.h"
#include "fg-listmsg.h"
#include "fg-smtp.h"
#include "fg-smtp-pipe.h"
#include "fg-verp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* recipients read from the snapshot at a time */
#define DIST_PAGE 256
/* how long a one-click unsubscribe link stays valid */
#define DIST_UNSUB_VALID_S (180LL * 86400)

struct dist {
	struct relay relay;
	/* every route is the pipelining client: a record goes to Redis
	   while the next envelope goes to the relay (dist_data_hook()) */
	bool overlap;
	struct dist_run *run;		/* the fan-out in progress */
	struct digest *digest;		/* bridge-digest.c */
	/* a record Redis refused after the relay accepted the copy */
	char *unrecorded_list, *unrecorded_entry;
	long long unrecorded_next, unrecorded_sent, unrecorded_refused;
};

/* the parts of one fan-out the send loop needs */
struct dist_run {
	struct worker *w;
	struct worker_list *l;
	const struct fg_entry *entry;
	const char *message_id;
	struct fg_listmsg_list lml;
	char *copy;			/* the built message */
	size_t copy_size;
	struct fg_dist_progress p;
	const char *rcpt;		/* the recipient being sent */
	/* a record sent to Redis, its reply not read yet */
	bool pending;
	long long pending_next, pending_sent, pending_refused;
	int collected;			/* what reading it gave in the hook */
};

/* dist_serves - the fan-out works list-mode lists only */
static bool dist_serves(const struct fg_list *def)
{
	return def->mode == FG_LIST_MODE_LIST;
}

/* dist_step_on - is the optional step name on for the list */
static bool dist_step_on(const struct fg_list *def, const char *name)
{
	const struct fg_chain_step *steps;
	unsigned int off = 0;
	const char *error;
	size_t count;

	if (def->chain_off == NULL ||
	    fg_chain_off_parse(def->chain_off, &off, &error) < 0)
		return true;
	steps = fg_chain_steps(&count);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(steps[i].name, name) == 0)
			return (off & (1U << i)) == 0;
	}
	return true;
}

/* dist_dmarc - the DMARC policy of the author's domain: cached in
   Redis, else looked up in DNS and cached; a failure is logged and
   counts as no policy */
static enum fg_listmsg_dmarc dist_dmarc(void *context, const char *domain)
{
	struct dist_run *run = context;
	const struct fg_config *c = run->w->bridge->config;
	struct fg_dmarc_resolver resolver = { c->dmarc_resolver,
					      c->dmarc_timeout };
	enum fg_listmsg_dmarc policy;
	char *cached, *where;
	const char *error;
	int ret;

	ret = fg_store_dmarc_get(run->w->store, domain, &cached, &error);
	if (ret > 0) {
		ret = fg_dmarc_policy_parse(cached, &policy);
		free(cached);
		if (ret == 0)
			return policy;
	} else if (ret < 0) {
		msg_warn("fan-out: list=%s message_id=<%s>: reading the "
			 "cached DMARC policy of %s: %s; looking it up",
			 run->l->name, run->message_id, domain, error);
	}
	if (fg_dmarc_lookup(&resolver, domain, &policy, &where, &error) < 0) {
		msg_warn("fan-out: list=%s message_id=<%s>: step=build: %s; "
			 "treated as no DMARC policy: From is kept",
			 run->l->name, run->message_id, error);
		return FG_LISTMSG_DMARC_NONE;
	}
	msg_info("fan-out: list=%s message_id=<%s>: step=build: DMARC "
		 "policy of %s: %s%s%s", run->l->name, run->message_id,
		 domain, fg_dmarc_policy_name(policy),
		 where != NULL ? " at " : " (no record)",
		 where != NULL ? where : "");
	free(where);
	if (fg_store_dmarc_set(run->w->store, domain,
			       fg_dmarc_policy_name(policy),
			       c->dmarc_cache_ttl / 1000, &error) < 0)
		msg_warn("fan-out: list=%s: caching the DMARC policy of %s: "
			 "%s", run->l->name, domain, error);
	return policy;
}

/* dist_build - the chain's build step (fg_listmsg_build()): the copy
   every subscriber gets, the per-recipient lines aside */
static int dist_build(struct dist_run *run, const char *message,
		      const char **error_r)
{
	const struct fg_list *def = run->l->def;
	struct fg_listmsg_build set = {
		.list = &run->lml,
		.tag = dist_step_on(def, "tag"),
		.footer = dist_step_on(def, "footer") ? def->footer : NULL,
		.dmarc_always = def->dmarc_always,
		.dmarc_policy = def->dmarc_policy ? dist_dmarc : NULL,
		.dmarc_context = run,
		.personal_unsubscribe = run->lml.unsubscribe_base != NULL,
	};

	return fg_listmsg_build(message, strlen(message), &set, &run->copy,
				&run->copy_size, error_r);
}

/* dist_sender - the recipient's VERP return path on a route's base */
static char *dist_sender(void *context, const char *base)
{
	const struct dist_run *run = context;

	return fg_verp_make_recipient(run->w->bridge->config->secret,
				      run->l->name, run->rcpt, base);
}

/* dist_keep_unrecorded - Redis refused a record the relay's answer
   needs: kept for the entry's next try; WORKER_RETRY */
static int dist_keep_unrecorded(struct dist_run *run, long long next,
				long long sent, long long refused,
				const char *error)
{
	struct dist *d = run->w->context;

	free(d->unrecorded_list);
	free(d->unrecorded_entry);
	d->unrecorded_list = fg_xstrdup(run->l->name);
	d->unrecorded_entry = fg_xstrdup(run->entry->id);
	d->unrecorded_next = next;
	d->unrecorded_sent = sent;
	d->unrecorded_refused = refused;
	return worker_store_failed(run->w, run->l, "recording the fan-out's "
				   "progress", error);
}

/* dist_record - fg_store_dist_record(), kept for the entry's next try
   when Redis fails; WORKER_DONE recorded, else WORKER_RETRY */
static int dist_record(struct dist_run *run, long long next, long long sent,
		       long long refused)
{
	struct fg_lease lease = { run->w->bridge->consumer,
				  run->l->lease_token };
	const char *error;
	int ret;

	ret = fg_store_dist_record(run->w->store, run->l->name, &lease,
				   run->entry->id, next, sent, refused, &error);
	if (ret > 0)
		return WORKER_DONE;
	if (ret == 0)
		return worker_lease_lost(run->w, run->l, run->entry,
					 "recording the fan-out's progress");
	return dist_keep_unrecorded(run, next, sent, refused, error);
}

/* dist_record_kept - a record Redis refused before, for this entry:
   made now; WORKER_DONE when there was none or it is made */
static int dist_record_kept(struct dist_run *run)
{
	struct dist *d = run->w->context;
	long long next = d->unrecorded_next, sent = d->unrecorded_sent;
	long long refused = d->unrecorded_refused;
	bool ours = d->unrecorded_entry != NULL &&
		strcmp(d->unrecorded_list, run->l->name) == 0 &&
		strcmp(d->unrecorded_entry, run->entry->id) == 0;
	int ret;

	if (!ours)
		return WORKER_DONE;
	free(d->unrecorded_list);
	free(d->unrecorded_entry);
	d->unrecorded_list = d->unrecorded_entry = NULL;
	if (next <= run->p.next)
		return WORKER_DONE;
	ret = dist_record(run, next, sent, refused);
	if (ret == WORKER_DONE) {
		run->p.next = next;
		run->p.sent += sent;
		run->p.refused += refused;
	}
	return ret;
}

/* dist_record_wait - the reply to the record in flight, if any:
   WORKER_DONE recorded (or none), else as dist_record() */
static int dist_record_wait(struct dist_run *run)
{
	const char *error;
	int ret;

	if (!run->pending)
		return WORKER_DONE;
	run->pending = false;
	ret = fg_store_dist_record_reply(run->w->store, run->l->name, &error);
	if (ret > 0) {
		run->p.sent += run->pending_sent;
		run->p.refused += run->pending_refused;
		return WORKER_DONE;
	}
	if (ret == 0)
		return worker_lease_lost(run->w, run->l, run->entry,
					 "recording the fan-out's progress");
	return dist_keep_unrecorded(run, run->pending_next, run->pending_sent,
				    run->pending_refused, error);
}

/* dist_record_begin - record the position after a relay's answer: at
   once, or (overlap) sent now and its reply read before the next
   copy's message goes; WORKER_DONE, else as dist_record() */
static int dist_record_begin(struct dist_run *run, long long next,
			     long long sent, long long refused)
{
	struct dist *d = run->w->context;
	struct fg_lease lease = { run->w->bridge->consumer,
				  run->l->lease_token };
	const char *error;
	int ret = dist_record_wait(run);

	if (ret != WORKER_DONE)
		return ret;
	if (!d->overlap) {
		ret = dist_record(run, next, sent, refused);
		if (ret == WORKER_DONE) {
			run->p.sent += sent;
			run->p.refused += refused;
		}
		return ret;
	}
	if (fg_store_dist_record_send(run->w->store, run->l->name, &lease,
				      run->entry->id, next, sent, refused,
				      &error) < 0)
		return dist_keep_unrecorded(run, next, sent, refused, error);
	run->pending = true;
	run->pending_next = next;
	run->pending_sent = sent;
	run->pending_refused = refused;
	return WORKER_DONE;
}

/* dist_data_hook - the relay took the next envelope: the record of the
   copy before must be made before this copy goes (fg-smtp-pipe.h) */
static int dist_data_hook(void *context, const char **error_r)
{
	struct dist *d = context;
	struct dist_run *run = d->run;

	if (run == NULL || !run->pending)
		return 0;
	run->collected = dist_record_wait(run);
	if (run->collected == WORKER_DONE)
		return 0;
	*error_r = "the fan-out's progress could not be recorded";
	return -1;
}

/* dist_personal_copy - see bridge.h */
char *dist_personal_copy(const struct fg_config *c,
			 const struct fg_listmsg_list *lml, const char *rcpt,
			 char *copy, size_t copy_size, const char *what,
			 size_t *size_r)
{
	char *lines, *data;
	const char *error;
	size_t len;

	*size_r = copy_size;
	if (*c->list_unsubscribe_url == '\0')
		return copy;
	if (fg_listmsg_unsub_lines(lml, c->secret, rcpt,
				   (long long)time(NULL) + DIST_UNSUB_VALID_S,
				   &lines, &error) < 0) {
		msg_warn("%s rcpt=<%s>: no one-click unsubscribe: %s", what,
			 rcpt, error);
		return copy;
	}
	len = strlen(lines);
	*size_r = len + copy_size;
	data = fg_xmalloc(*size_r + 1);
	memcpy(data, lines, len);
	memcpy(data + len, copy, copy_size + 1);
	free(lines);
	return data;
}

/* dist_send_one - one copy to run->rcpt at position pos; WORKER_DONE
   when the relay answered for good (and it is recorded) */
static int dist_send_one(struct dist_run *run, long long pos)
{
	struct worker *w = run->w;
	struct dist *d = w->context;
	const struct fg_config *c = w->bridge->config;
	char *data, what[200];
	const char *reply;
	size_t size;
	int status, ret;

	snprintf(what, sizeof(what), "fan-out: list=%s message_id=<%s>",
		 run->l->name, run->message_id);
	run->collected = WORKER_DONE;
	data = dist_personal_copy(c, &run->lml, run->rcpt, run->copy,
				  run->copy_size, what, &size);
	status = relay_send(&d->relay, c, what, run->l->name, dist_sender,
			    run, run->rcpt, data, size, &reply);
	if (data != run->copy)
		free(data);
	/* given up by dist_data_hook(): the record before failed */
	if (status == FG_SMTP_ABORTED)
		return run->collected;
	/* the transaction ended before the hook: the record before it */
	ret = dist_record_wait(run);
	if (ret != WORKER_DONE)
		return ret;
	switch (status) {
	case FG_SMTP_OK:
		return dist_record_begin(run, pos + 1, 1, 0);
	case FG_SMTP_PERMANENT:
		msg_warn("fan-out: list=%s message_id=<%s> rcpt=<%s>: refused "
			 "by the relay, not retried: %s", run->l->name,
			 run->message_id, run->rcpt, reply);
		return dist_record_begin(run, pos + 1, 0, 1);
	default: {
		unsigned int wait = worker_retry(w, run->l, 0);

		msg_warn("fan-out: list=%s message_id=<%s> rcpt=<%s>: relay "
			 "deferred: %s; fan-out stopped at %lld/%lld, retry "
			 "in %u.%03us", run->l->name, run->message_id,
			 run->rcpt, reply, pos, run->p.total, wait / 1000,
			 wait % 1000);
		return WORKER_RETRY;
	}
	}
}

/* dist_next - the copy to rcpt, the next in the snapshot */
static int dist_next(struct dist_run *run, const char *rcpt)
{
	struct worker *w = run->w;
	int ret;

	/* renewing the lease is a command: the record in flight first */
	if (run->pending && bridge_now_ms() >= run->l->lease_renew_ms) {
		ret = dist_record_wait(run);
		if (ret != WORKER_DONE)
			return ret;
	}
	if (bridge_stopping(w->bridge))
		return WORKER_RETRY;
	if (!worker_keep_lease(w, run->l))
		return worker_lease_lost(w, run->l, run->entry,
					 "sending a copy");
	run->rcpt = rcpt;
	ret = dist_send_one(run, run->p.next);
	run->rcpt = NULL;
	if (ret == WORKER_DONE)
		run->p.next++;
	return ret;
}

/* dist_run_all - the run step: every recipient from the recorded
   position; a record may still be in flight at the end */
static int dist_run_all(struct dist_run *run)
{
	struct worker *w = run->w;
	const char *error;

	while (run->p.next < run->p.total) {
		char **rcpts;
		size_t n;
		int ret = dist_record_wait(run);

		if (ret != WORKER_DONE)
			return ret;
		if (fg_store_dist_recipients(w->store, run->l->name,
					     run->p.next, DIST_PAGE, &rcpts,
					     &n, &error) < 0)
			return worker_store_failed(w, run->l, "reading the "
						   "recipients", error);
		if (n == 0) {
			/* the snapshot is shorter than recorded: only a
			   hand-made change does that; the rest is gone */
			msg_warn("fan-out: list=%s message_id=<%s>: the "
				 "recipients end at %lld of %lld", run->l->name,
				 run->message_id, run->p.next, run->p.total);
			fg_strv_free(rcpts, n);
			break;
		}
		for (size_t i = 0; i < n && ret == WORKER_DONE; i++)
			ret = dist_next(run, rcpts[i]);
		fg_strv_free(rcpts, n);
		if (ret != WORKER_DONE)
			return ret;
	}
	return WORKER_DONE;
}

/* dist_run - dist_run_all(), the last record read */
static int dist_run(struct dist_run *run)
{
	struct dist *d = run->w->context;
	int ret, last;

	d->run = run;
	ret = dist_run_all(run);
	last = dist_record_wait(run);
	d->run = NULL;
	return ret != WORKER_DONE ? ret : last;
}

/* dist_finish - the entry is done (what: "sent" or "duplicate") */
static int dist_finish(struct dist_run *run, const char *what)
{
	struct fg_lease lease = { run->w->bridge->consumer,
				  run->l->lease_token };
	const char *error;
	int ret;

	ret = fg_store_dist_finish(run->w->store, run->l->name, &lease,
				   run->entry->id, what, &error);
	if (ret < 0)
		return worker_store_failed(run->w, run->l, "finishing the "
					   "fan-out", error);
	if (ret == 0)
		return worker_lease_lost(run->w, run->l, run->entry,
					 "finishing the fan-out");
	return WORKER_DONE;
}

/* dist_process - one post of the stream; see the DESCRIPTION */
static int dist_process(struct worker *w, struct worker_list *l,
			const struct fg_entry *entry)
{
	const struct fg_config *c = w->bridge->config;
	const char *message = fg_entry_get(entry, "message");
	struct fg_lease lease = { w->bridge->consumer, l->lease_token };
	struct dist_run run;
	const char *error;
	int ret;

	memset(&run, 0, sizeof(run));
	run.w = w;
	run.l = l;
	run.entry = entry;
	run.message_id = fg_entry_get(entry, "message_id");
	if (run.message_id == NULL)
		run.message_id = "";
	run.lml.name = l->name;
	run.lml.address = l->def->address;
	run.lml.list_id = l->def->list_id;
	run.lml.unsubscribe_base = *c->list_unsubscribe_url != '\0' ?
		c->list_unsubscribe_url : NULL;
	if (message == NULL || *message == '\0' || *run.message_id == '\0') {
		ret = worker_dead(w, l, entry, "the entry has no message or "
				  "no Message-ID");
		if (ret == WORKER_DONE)
			msg_warn("fan-out: list=%s entry=%s: dead-letter: no "
				 "message or no Message-ID", l->name,
				 entry->id);
		return ret;
	}
	if (dist_build(&run, message, &error) < 0) {
		char *why = fg_xasprintf("cannot build the copy: %s", error);

		ret = worker_dead(w, l, entry, why);
		if (ret == WORKER_DONE)
			msg_warn("fan-out: list=%s message_id=<%s>: "
				 "dead-letter: %s", l->name, run.message_id,
				 why);
		free(why);
		return ret;
	}
	/* the digest subscribers' copy, before anyone gets one */
	ret = digest_add(w, l, &run.lml, message, run.message_id,
			 dist_step_on(l->def, "tag"), l->def->dmarc_always);
	if (ret != WORKER_DONE) {
		free(run.copy);
		return ret;
	}
	ret = fg_store_dist_start(w->store, l->name, &lease, entry->id,
				  run.message_id, &run.p, &error);
	if (ret < 0) {
		free(run.copy);
		return worker_store_failed(w, l, "starting the fan-out",
					   error);
	}
	if (ret == FG_DIST_START_LOST) {
		free(run.copy);
		return worker_lease_lost(w, l, entry, "starting the fan-out");
	}
	if (ret == FG_DIST_START_DUPLICATE) {
		free(run.copy);
		ret = dist_finish(&run, "duplicate");
		if (ret == WORKER_DONE)
			msg_info("fan-out: list=%s message_id=<%s>: not sent: "
				 "step=single-instance: this Message-ID was "
				 "sent to the subscribers before", l->name,
				 run.message_id);
		return ret;
	}
	if (run.p.resumed)
		msg_info("fan-out: list=%s message_id=<%s>: resuming at "
			 "recipient %lld of %lld", l->name, run.message_id,
			 run.p.next, run.p.total);
	ret = dist_record_kept(&run);
	if (ret == WORKER_DONE)
		ret = dist_run(&run);
	free(run.copy);
	if (ret != WORKER_DONE)
		return ret;
	ret = dist_finish(&run, "sent");
	if (ret == WORKER_DONE)
		msg_info("fan-out: list=%s message_id=<%s>: sent to the "
			 "subscribers: recipients=%lld sent=%lld refused=%lld "
			 "chain=single-instance,build,run", l->name,
			 run.message_id, run.p.total, run.p.sent,
			 run.p.refused);
	return ret;
}

/* dist_before - the list's digest, when one is due (bridge-digest.c):
   sent under the fan-out's lease, between two posts */
static int dist_before(struct worker *w, struct worker_list *l)
{
	struct dist *d = w->context;

	return digest_run(w, l, d->digest, &d->relay,
			  dist_step_on(l->def, "footer") ? l->def->footer :
			  NULL);
}

/* dist_deinit - close the relay */
static void dist_deinit(struct worker *w)
{
	struct dist *d = w->context;

	relay_close(&d->relay);
	digest_deinit(&d->digest);
	free(d->unrecorded_list);
	free(d->unrecorded_entry);
	free(d);
}

/* dist_start - see bridge.h */
int dist_start(struct bridge *b, struct worker **worker_r,
	       const char **error_r)
{
	struct dist *d = fg_xcalloc(1, sizeof(*d));
	struct worker *w = fg_xcalloc(1, sizeof(*w));

	if (digest_init(b, &d->digest, error_r) < 0) {
		free(d);
		free(w);
		return -1;
	}
	if (relay_open(&d->relay, b->config, w, b->config->fanout_pipelining,
		       error_r) < 0) {
		digest_deinit(&d->digest);
		free(d);
		free(w);
		return -1;
	}
	/* the record overlaps the next envelope only where every route
	   has the pipelining client (a pipe command or libcurl: at once) */
	d->overlap = d->relay.routes.n_routes > 0;
	for (size_t i = 0; i < d->relay.routes.n_routes; i++) {
		if (d->relay.handles[i].pipe == NULL)
			d->overlap = false;
	}
	for (size_t i = 0; d->overlap && i < d->relay.routes.n_routes; i++)
		fg_smtp_pipe_set_data_hook(d->relay.handles[i].pipe,
					   dist_data_hook, d);
	w->name = "fan-out";
	w->queue = FG_QUEUE_DIST;
	w->bridge = b;
	w->context = d;
	w->process = dist_process;
	w->before = dist_before;
	w->serves = dist_serves;
	w->deinit = dist_deinit;
	if (worker_start(w, error_r) < 0) {
		worker_join(&w);
		return -1;
	}
	*worker_r = w;
	return 0;
}
