/*
 * NAME
 *	bridge-moderate 3 - the moderation queue of list-mode lists
 * DESCRIPTION
 *	Posts the filter chain held are in the list's moderation queue
 *	(fg-held.h; the Dovecot plugin puts them there). The control
 *	worker (bridge-control.c), under the list's control lease, does
 *	the rest:
 *
 *	Before its next entry (moderate_before()): held posts older than
 *	moderation_expiry become "expired"; each held post not yet
 *	announced is mailed to every moderator of the list (the list's
 *	field "moderators"), with the held message attached and the
 *	signed approve and reject addresses LIST-moderate+TOKEN@; each
 *	rejected or expired post's sender gets a notice, and the post is
 *	removed. Progress is recorded after each mail (the moderators
 *	told so far, the post removed after its notice), so a crash
 *	costs at most one mail sent twice, with the same Message-ID.
 *	A list with held posts and no moderators is logged, and its
 *	posts wait for forumgate approve or reject.
 *
 *	The handler of role "moderate" (moderate_handle()): a moderator's
 *	mail to LIST-moderate+TOKEN@. The token's MAC and expiry are the
 *	proof; the From address must also be one of the list's moderators.
 *	Approve: the post is queued as an accepted post
 *	(fg_held_release()). Reject: the reason is the first line of the
 *	mail that is not quoted, and the sender's notice follows as above.
 *	A token that does not verify, or a sender who is no moderator,
 *	changes nothing: the mail is dead-lettered with the reason.
 *
 *	The handler of role "owner" (owner_handle()): mail to
 *	LIST-owner@ (the address of List-Owner) is forwarded as it came,
 *	less the trace headers of its delivery, to every moderator, each
 *	from its own VERP return path. A moderator address that is one of
 *	the list's own is skipped (a loop). No moderators, or none that
 *	took it: dead-lettered with the reason. A relay failure retries
 *	the mail, and the moderators before it in the list may then get
 *	it twice, with the same Message-ID.
 * SEE ALSO
 *	doc/list-mode.md ("Moderation"), doc/redis-schema.md.
 */
#include "bridge-control.h"
#include "fg-address.h"
#include "fg-attach.h"
#include "fg-held.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"
#include "fg-smtp.h"
#include "fg-verp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* held posts looked at per list before each control entry */
#define MODERATE_BATCH 10
/* the longest reason taken from a moderator's mail */
#define MODERATE_REASON_MAX 300

/* moderation_expiry is taken within these bounds (seconds) */
#define MODERATE_EXPIRY_MIN 1LL
#define MODERATE_EXPIRY_MAX (40LL * 86400)

/* moderate_expiry_s - moderation_expiry in seconds, bounded */
static long long moderate_expiry_s(const struct fg_config *c)
{
	long long s = c->moderation_expiry / 1000;

	if (s < MODERATE_EXPIRY_MIN)
		return MODERATE_EXPIRY_MIN;
	return s > MODERATE_EXPIRY_MAX ? MODERATE_EXPIRY_MAX : s;
}

/* moderate_is_moderator - is addr one of the list's moderators */
static bool moderate_is_moderator(const struct fg_list *def, const char *addr)
{
	char *want, *list, *tok, *save = NULL;
	bool found = false;
	size_t n = strlen(addr);

	if (def->moderators == NULL || n == 0)
		return false;
	want = fg_xmalloc(n + 1);
	fg_address_canonical(addr, n, want);
	list = fg_xstrdup(def->moderators);
	for (tok = strtok_r(list, ", \t", &save); tok != NULL && !found;
	     tok = strtok_r(NULL, ", \t", &save)) {
		char *m = fg_xmalloc(strlen(tok) + 1);

		fg_address_canonical(tok, strlen(tok), m);
		found = strcmp(m, want) == 0;
		free(m);
	}
	free(list);
	free(want);
	return found;
}

/* moderate_moderators - the list's moderators (fg_strv_free()) */
static char **moderate_moderators(const struct fg_list *def, size_t *count_r)
{
	char **v = NULL, *list, *tok, *save = NULL;
	size_t n = 0;

	*count_r = 0;
	if (def->moderators == NULL)
		return NULL;
	list = fg_xstrdup(def->moderators);
	for (tok = strtok_r(list, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		v = fg_xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = fg_xstrdup(tok);
		v[n] = NULL;
	}
	free(list);
	*count_r = n;
	return v;
}

/* One recipient of a notice. */
struct moderate_rcpt {
	const char *secret, *list, *rcpt;
};

/* moderate_sender - the recipient's VERP return path on the route's
   base (relay_sender_func), so that a bounce names the moderator or
   sender it came from */
static char *moderate_sender(void *context, const char *base)
{
	const struct moderate_rcpt *to = context;

	return fg_verp_make_recipient(to->secret, to->list, to->rcpt, base);
}

/* moderate_send - one mail through the relay: 1 sent, 0 refused for
   good (logged), -1 try again later (logged) */
static int moderate_send(struct worker *w, struct worker_list *l,
			 struct relay *relay, const char *what,
			 const char *rcpt, const char *data, size_t size)
{
	struct moderate_rcpt to = {
		w->bridge->config->secret, l->name, rcpt
	};
	const char *reply = NULL;
	int status;

	status = relay_send(relay, w->bridge->config, what, l->name,
			    moderate_sender, &to, rcpt, data, size, &reply);
	if (status == FG_SMTP_OK)
		return 1;
	if (status == FG_SMTP_PERMANENT) {
		msg_warn("moderate: %s: <%s> refused for good: %s", what,
			 rcpt, reply != NULL ? reply : "");
		return 0;
	}
	msg_warn("moderate: %s: <%s> not reached, tried again later: %s",
		 what, rcpt, reply != NULL ? reply : "");
	(void)worker_retry(w, l, 0);
	return -1;
}

/* moderate_announce - mail a held post to the moderators not yet told */
static int moderate_announce(struct worker *w, struct worker_list *l,
			     struct relay *relay, const struct fg_held *h)
{
	const struct fg_config *c = w->bridge->config;
	const char *error;
	long long expires = h->received + moderate_expiry_s(c);
	size_t n_mods;
	char **mods = moderate_moderators(l->def, &n_mods);
	size_t n = n_mods;		/* those to tell */
	char *atok = fg_held_token(c->secret, l->name, h->id, 'a', expires);
	char *rtok = fg_held_token(c->secret, l->name, h->id, 'r', expires);
	char *approve = NULL, *reject = NULL, *owner;
	int ret = WORKER_DONE;

	owner = fg_listaddr_make(l->def->address, FG_LISTADDR_OWNER, NULL);
	if (atok != NULL) {
		approve = fg_listaddr_make(l->def->address,
					   FG_LISTADDR_MODERATE, atok);
		reject = fg_listaddr_make(l->def->address,
					  FG_LISTADDR_MODERATE, rtok);
	}
	if (n == 0) {
		msg_warn("moderate: list=%s held=%lld: the list has no "
			 "moderators (forumgate list set %s moderators "
			 "ADDRESSES): the post waits for forumgate approve or "
			 "reject", l->name, h->id, l->name);
	} else if (approve == NULL || reject == NULL || owner == NULL) {
		msg_warn("moderate: list=%s held=%lld: no approve address "
			 "(no secret, or the list has no address): the post "
			 "waits for forumgate approve or reject", l->name,
			 h->id);
		n = 0;		/* told once, in the log */
	}
	for (long long i = h->announced; i < (long long)n; i++) {
		struct fg_held_mail m = {
			.list = l->name, .list_address = l->def->address,
			.from = owner, .to = mods[i], .held = h,
			.approve_address = approve, .reject_address = reject,
			.expires = expires,
		};
		char *mid = fg_xasprintf("held.%s.%lld.%lld@%s", l->name,
					 h->id, i, c->mail_domain);
		char *what = fg_xasprintf("list=%s held=%lld", l->name, h->id);
		char *data = NULL;
		size_t size = 0;
		int sent = 0;

		m.message_id = mid;
		if (fg_held_announce_mail(&m, &data, &size, &error) < 0)
			msg_warn("moderate: %s: moderator <%s>: %s", what,
				 mods[i], error);
		else
			sent = moderate_send(w, l, relay, what, mods[i], data,
					     size);
		if (sent > 0)
			msg_info("moderate: %s message_id=<%s>: announced to "
				 "moderator <%s>", what, h->message_id,
				 mods[i]);
		free(data);
		free(mid);
		free(what);
		if (sent < 0) {
			ret = WORKER_RETRY;
			break;
		}
		if (fg_store_held_announced(w->store, l->name, h->id, i + 1,
					    i + 1 == (long long)n,
					    &error) < 0) {
			ret = worker_store_failed(w, l, "recording an "
						  "announcement", error);
			break;
		}
	}
	if (ret == WORKER_DONE && h->announced >= (long long)n &&
	    fg_store_held_announced(w->store, l->name, h->id, h->announced,
				    true, &error) < 0)
		ret = worker_store_failed(w, l, "recording an announcement",
					  error);
	fg_strv_free(mods, n_mods);
	free(atok);
	free(rtok);
	free(approve);
	free(reject);
	free(owner);
	return ret;
}

/* moderate_notice - tell the sender of a rejected or expired post, then
   forget the post */
static int moderate_notice(struct worker *w, struct worker_list *l,
			   struct relay *relay, const struct fg_held *h)
{
	const struct fg_config *c = w->bridge->config;
	char *owner = fg_listaddr_make(l->def->address, FG_LISTADDR_OWNER,
				       NULL);
	char *mid = fg_xasprintf("held.%s.%lld.notice@%s", l->name, h->id,
				 c->mail_domain);
	char *what = fg_xasprintf("list=%s held=%lld", l->name, h->id);
	struct fg_held_mail m = {
		.list = l->name, .list_address = l->def->address,
		.from = owner, .to = h->from, .message_id = mid, .held = h,
	};
	const char *error;
	char *data = NULL;
	size_t size = 0;
	int sent = 0;

	if (owner == NULL ||
	    fg_held_notice_mail(&m, &data, &size, &error) < 0)
		msg_warn("moderate: %s: the sender <%s> is not told: %s", what,
			 h->from, owner == NULL ? "the list has no address" :
			 error);
	else
		sent = moderate_send(w, l, relay, what, h->from, data, size);
	if (sent > 0)
		msg_info("moderate: %s message_id=<%s>: %s; the sender <%s> "
			 "is told", what, h->message_id, h->state, h->from);
	free(data);
	free(mid);
	free(what);
	free(owner);
	if (sent < 0)
		return WORKER_RETRY;
	if (fg_store_held_remove(w->store, l->name, h->id, &error) < 0)
		return worker_store_failed(w, l, "removing a held post", error);
	return WORKER_DONE;
}

/* moderate_expire - held posts past moderation_expiry become expired */
static int moderate_expire(struct worker *w, struct worker_list *l)
{
	const struct fg_config *c = w->bridge->config;
	long long before = (long long)time(NULL) - moderate_expiry_s(c);
	long long *ids;
	size_t n;
	const char *error;

	if (fg_store_held_ids(w->store, l->name, before + 1, MODERATE_BATCH,
			      &ids, &n, &error) < 0)
		return worker_store_failed(w, l, "reading held posts", error);
	for (size_t i = 0; i < n; i++) {
		int ret = fg_store_held_decide(w->store, l->name, ids[i],
					       FG_HELD_STATE_EXPIRED, "",
					       &error);
		if (ret < 0) {
			free(ids);
			return worker_store_failed(w, l, "expiring a held "
						   "post", error);
		}
		if (ret > 0)
			msg_info("moderate: list=%s held=%lld: no moderator "
				 "decided within moderation_expiry: expired",
				 l->name, ids[i]);
	}
	free(ids);
	return WORKER_DONE;
}

/* moderate_before - see bridge-control.h */
int moderate_before(struct worker *w, struct worker_list *l,
		    struct relay *relay)
{
	long long *ids;
	size_t n;
	const char *error;
	int ret;

	if (!worker_keep_lease(w, l))
		return -1;
	if (moderate_expire(w, l) == WORKER_RETRY)
		return WORKER_RETRY;
	if (fg_store_held_todo(w->store, l->name, MODERATE_BATCH, &ids, &n,
			       &error) < 0)
		return worker_store_failed(w, l, "reading held posts", error);
	ret = -1;
	for (size_t i = 0; i < n && ret != WORKER_RETRY; i++) {
		struct fg_held *h;
		int got = fg_store_held_get(w->store, l->name, ids[i], &h,
					    &error);

		if (got < 0) {
			ret = worker_store_failed(w, l, "reading a held post",
						  error);
			break;
		}
		if (got == 0) {
			/* gone (approved meanwhile): off the to-do set */
			if (fg_store_held_remove(w->store, l->name, ids[i],
						 &error) < 0)
				ret = worker_store_failed(w, l, "removing a "
							  "held post", error);
			continue;
		}
		if (strcmp(h->state, FG_HELD_STATE_HELD) == 0)
			ret = moderate_announce(w, l, relay, h);
		else
			ret = moderate_notice(w, l, relay, h);
		fg_held_free(&h);
	}
	free(ids);
	/* the queue's next entry is read in the same pass either way */
	return ret == WORKER_RETRY ? WORKER_RETRY : -1;
}

/* moderate_approve - a moderator approved held post h */
static void moderate_approve(struct worker *w, struct worker_list *l,
			     const struct fg_held *h, const char *by,
			     const char **error_r, int *ret_r)
{
	const struct fg_config *c = w->bridge->config;
	struct fg_attach_settings attach = {
		.max_size = c->attachment_max_size,
		.max_total = c->attachment_max_total,
		.types = c->attachment_types,
	};
	struct fg_parse_settings set;
	const char *why;
	int ret;

	*ret_r = 0;
	if (fg_parse_settings_init(&set, c, error_r) < 0) {
		*ret_r = -1;
		return;
	}
	ret = fg_held_release(w->store, l->def, &set, &attach, h, &why,
			      error_r);
	if (ret < 0) {
		*ret_r = -1;
		return;
	}
	msg_info("moderate: list=%s held=%lld message_id=<%s>: approved by "
		 "<%s>: %s%s", l->name, h->id, h->message_id, by,
		 ret > 0 ? "queued for the forum and the subscribers" :
		 *why != '\0' ? "not queued: " : "queued before", why);
}

/* moderate_handle - see bridge-control.h */
int moderate_handle(struct worker *w, struct worker_list *l,
		    const struct fg_entry *entry,
		    const struct control_mail *mail, struct relay *relay)
{
	const struct fg_config *c = w->bridge->config;
	const char *error;
	char action, *why = NULL, *reason;
	long long id;
	struct fg_held *h = NULL;
	int ret, failed = 0;

	(void)relay;
	ret = fg_held_token_verify(c->secret, l->name, mail->detail,
				   (long long)time(NULL), &action, &id,
				   &error);
	if (ret <= 0)
		why = fg_xasprintf("%s: nothing done", error);
	else if (!moderate_is_moderator(l->def, mail->from))
		why = fg_xasprintf("<%s> is not a moderator of the list: "
				   "nothing done", mail->from);
	if (why != NULL) {
		ret = worker_dead(w, l, entry, why);
		if (ret == WORKER_DONE)
			msg_warn("moderate: list=%s from=<%s> "
				 "message_id=<%s>: %s", l->name, mail->from,
				 mail->message_id, why);
		free(why);
		return ret;
	}
	ret = fg_store_held_get(w->store, l->name, id, &h, &error);
	if (ret < 0)
		return worker_store_failed(w, l, "reading a held post", error);
	if (ret == 0 || strcmp(h->state, FG_HELD_STATE_HELD) != 0) {
		msg_info("moderate: list=%s held=%lld: %s; <%s>'s %s changes "
			 "nothing", l->name, id, ret == 0 ? "decided before" :
			 h->state, mail->from, action == 'a' ? "approval" :
			 "rejection");
		fg_held_free(&h);
		return worker_finish(w, l, entry);
	}
	if (action == 'a') {
		moderate_approve(w, l, h, mail->from, &error, &failed);
	} else {
		reason = fg_held_first_line(mail->message, strlen(mail->message),
					    MODERATE_REASON_MAX);
		if (fg_store_held_decide(w->store, l->name, id,
					 FG_HELD_STATE_REJECTED, reason,
					 &error) < 0)
			failed = -1;
		else
			msg_info("moderate: list=%s held=%lld message_id=<%s>: "
				 "rejected by <%s>: reason \"%s\"", l->name, id,
				 h->message_id, mail->from, reason);
		free(reason);
	}
	fg_held_free(&h);
	if (failed < 0)
		return worker_store_failed(w, l, "deciding a held post", error);
	return worker_finish(w, l, entry);
}

/* owner_own_address - is addr the list's posting address or one of its
   control addresses (forwarding to it would loop) */
static bool owner_own_address(const struct fg_list *def, const char *addr)
{
	size_t a = strlen(addr), b = strlen(def->address);
	char *x = fg_xmalloc(a + 1), *y = fg_xmalloc(b + 1);
	bool own;

	fg_address_canonical(addr, a, x);
	fg_address_canonical(def->address, b, y);
	own = strcmp(x, y) == 0 ||
		fg_listaddr_parse(def->address, addr, NULL) != FG_LISTADDR_POST;
	free(x);
	free(y);
	return own;
}

/* owner_dead - dead-letter mail to LIST-owner@ that reached no one */
static int owner_dead(struct worker *w, struct worker_list *l,
		      const struct fg_entry *entry,
		      const struct control_mail *mail, const char *why)
{
	char *reason = fg_xasprintf("mail to <%s> not forwarded: %s",
				    mail->rcpt, why);
	int ret = worker_dead(w, l, entry, reason);

	if (ret == WORKER_DONE)
		msg_warn("owner: list=%s from=<%s> message_id=<%s>: "
			 "dead-letter: %s", l->name, mail->from,
			 mail->message_id, reason);
	free(reason);
	return ret;
}

/* owner_handle - see bridge-control.h */
int owner_handle(struct worker *w, struct worker_list *l,
		 const struct fg_entry *entry,
		 const struct control_mail *mail, struct relay *relay)
{
	char **mods, *copy, what[256];
	size_t n, size, sent = 0;
	const char *error;
	int ret = WORKER_DONE;

	mods = moderate_moderators(l->def, &n);
	if (n == 0) {
		fg_strv_free(mods, n);
		return owner_dead(w, l, entry, mail, "the list has no "
				  "moderators (forumgate list set LIST "
				  "moderators ADDRS)");
	}
	if (fg_listmsg_forward(mail->message, strlen(mail->message), &copy,
			       &size, &error) < 0) {
		fg_strv_free(mods, n);
		return owner_dead(w, l, entry, mail, error);
	}
	snprintf(what, sizeof(what), "owner: list=%s message_id=<%s>",
		 l->name, mail->message_id);
	for (size_t i = 0; i < n && ret == WORKER_DONE; i++) {
		if (owner_own_address(l->def, mods[i])) {
			msg_warn("%s: moderator <%s> is an address of the "
				 "list itself: not forwarded to it", what,
				 mods[i]);
			continue;
		}
		switch (moderate_send(w, l, relay, what, mods[i], copy, size)) {
		case 1:
			sent++;
			break;
		case 0:
			break;
		default:
			ret = WORKER_RETRY;
		}
	}
	free(copy);
	fg_strv_free(mods, n);
	if (ret != WORKER_DONE)
		return ret;
	if (sent == 0)
		return owner_dead(w, l, entry, mail, "no moderator took it");
	msg_info("owner: list=%s from=<%s> message_id=<%s>: forwarded to "
		 "%zu of %zu moderators", l->name, mail->from,
		 mail->message_id, sent, n);
	return worker_finish(w, l, entry);
}
