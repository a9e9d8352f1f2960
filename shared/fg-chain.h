#ifndef FG_CHAIN_H
#define FG_CHAIN_H
/*
 * NAME
 *	fg-chain 3 - the filter chain of a list-mode list
 * SYNOPSIS
 *	#include "fg-chain.h"
 *
 *	const struct fg_chain_step *fg_chain_steps(size_t *count_r);
 *	const struct fg_chain_step *fg_chain_step_find(const char *name);
 *	int fg_chain_off_parse(const char *names, unsigned int *off_r,
 *			       const char **error_r);
 *
 *	void fg_chain_init(struct fg_chain_ctx *ctx, ...);
 *	int fg_chain_run(struct fg_chain_ctx *ctx,
 *			 struct fg_chain_decision *d, const char **error_r);
 *	void fg_chain_deinit(struct fg_chain_ctx *ctx);
 * DESCRIPTION
 *	A message to a list-mode list's posting address passes a chain of
 *	named steps, each a function with one job, in the order of one
 *	table (fg_chain_steps()). The receiving side runs when the
 *	message is delivered (the Dovecot plugin calls fg_chain_run()):
 *
 *	getinfo: the list's facts, the envelope, the message read with
 *	GMime; an approval passphrase (an Approved:, Approve:, X-Approved:
 *	or X-Approve: header, "[approve:SECRET]" in the subject, or an
 *	"Approved:" first line of the text: fg_listmsg_approval()) is
 *	taken out of the message whatever its value and compared with the
 *	list's, and the rest is parsed into a record (fg_mail_parse()
 *	without the mirror mode's list rule).
 *	loopdetect (optional): our own Message-ID coming back, an
 *	X-BeenThere (the header the fan-out writes, fg_listmsg_looped())
 *	or X-Loop header naming the posting address, or a List-Id naming
 *	this list: discard.
 *	bounce: a delivery report or a null sender: kept as "bounce",
 *	the bounce path of today (an automatic reply: "auto-reply").
 *	subscribers (optional): is the sender a subscriber
 *	(fg:{LIST}:subscribers)? A fact for access: any subscriber may
 *	post where members may.
 *	access: the list's access mode (field "access", as
 *	forumgate-policyd reads it): open; members (a member, a
 *	subscriber or an allowed sender, else reject); moderated (allowed
 *	senders post, members and subscribers are held, the rest
 *	rejected); closed (allowed senders only); passphrase (allowed
 *	senders, or anyone with the list's passphrase). In every mode a
 *	correct passphrase admits the post, and so does a moderator's
 *	approval of a held post (ctx->moderator_approved: forumgated and
 *	forumgate approve run the chain again on the held message, so an
 *	approved post is queued by the same queue step, once per
 *	Message-ID). The policy daemon makes the
 *	same checks at RCPT time; this step makes them again for mail
 *	that did not pass through it.
 *	tag, footer (optional, sending side of the message): listed here
 *	so that a list turns them on and off in one place, but they run
 *	when the fan-out builds each copy (fg-listmsg), not here: on the
 *	receiving side they pass the message on unchanged.
 *	queue: the post is queued for the forum (fg_store_inbound_add(),
 *	as in mirror mode) and added to the list's distribution stream
 *	fg:{LIST}:dist (fg_store_dist_add()), each once per Message-ID.
 *
 *	The sending side (single-instance, build, run) is the fan-out of
 *	the distribution stream to the subscribers; its steps are listed
 *	in the table (fg_chain_step.run is NULL) and are not run by
 *	fg_chain_run().
 *
 *	Each step returns a decision (struct fg_chain_decision): continue
 *	to the next step, reject (with a reason), hold, discard or bounce,
 *	naming the step that made it; a chain whose last step continues
 *	accepted the post. A decision that does not continue also names
 *	why the message is not posted (enum fg_not_posted) for the
 *	caller's counters and mailboxes.
 *
 *	A list turns optional steps off with its field "chain_off"
 *	(names separated by commas or spaces; fg_chain_off_parse()).
 * DIAGNOSTICS
 *	fg_chain_run() returns -1 with *error_r when Redis fails (the
 *	caller temp-fails the delivery), else 0 with the decision. The
 *	passphrase never appears in a decision, an error or the record.
 *	Never logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-classify.h"
#include "fg-policy.h"

struct fg_store;
struct fg_list;
struct fg_record;
struct fg_parse_settings;
struct fg_attach_settings;

enum fg_chain_action {
	FG_CHAIN_CONTINUE,	/* on to the next step; after the last: accepted */
	FG_CHAIN_REJECT,	/* refused, with a reason for the sender */
	FG_CHAIN_HOLD,		/* kept for a moderator */
	FG_CHAIN_DISCARD,	/* not posted, no one is told */
	FG_CHAIN_BOUNCE,	/* a bounce: the bounce path */
};

struct fg_chain_decision {
	enum fg_chain_action action;
	const char *step;		/* the step that decided (static) */
	char *reason;			/* for the log; never the passphrase */
	enum fg_not_posted not_posted;	/* not CONTINUE: why not posted */
};

enum fg_chain_side {
	FG_CHAIN_RECEIVING,	/* at delivery, in the plugin */
	FG_CHAIN_SENDING,	/* at fan-out, in forumgated */
};

struct fg_chain_ctx;
typedef void fg_chain_step_func(struct fg_chain_ctx *ctx,
				struct fg_chain_decision *d);

struct fg_chain_step {
	const char *name;
	enum fg_chain_side side;
	bool optional;		/* a list may turn it off (chain_off) */
	/* what the step does; NULL: run where the copies are built
	   (tag, footer) or by the fan-out (the sending side) */
	fg_chain_step_func *run;
	const char *purpose;
};

/* What the steps know about one message. The caller fills the first
   block (fg_chain_init()); the steps fill the rest. */
struct fg_chain_ctx {
	struct fg_store *store;
	const struct fg_list *list;
	const struct fg_parse_settings *parse_set;	/* list rule unset */
	const char *envelope_from;	/* MAIL FROM; "" the null sender */
	const char *data;		/* the message as delivered */
	size_t size;
	const char *passphrase;		/* the list's; NULL: none */
	/* the attachments carried to the forum; NULL: none */
	const struct fg_attach_settings *attach;
	unsigned int off;		/* steps turned off, bit (1 << index) */
	/* a held post a moderator approved (fg-held.h): access admits it */
	bool moderator_approved;

	/* getinfo */
	enum fg_policy_access access;
	char *message;			/* without the approval */
	size_t message_size;
	struct fg_record *rec;
	bool has_approval;		/* a passphrase was given (removed) */
	bool approved;			/* ... and it is the list's */
	char *x_loop;			/* X-Loop values, NULL none */
	bool been_there;		/* X-BeenThere: the posting address */
	/* subscribers */
	char *subscriber_state;		/* NULL: not a subscriber */
	/* queue: 1 queued, 0 queued before */
	int queued_forum, queued_dist;
	/* the names of the steps passed, "getinfo,loopdetect,..." */
	char *passed;
	size_t passed_len, passed_cap;
	/* a Redis failure during a step: fg_chain_run() returns -1 */
	const char *error;
};

/* fg_chain_steps - the table, receiving steps first, in order */
const struct fg_chain_step *fg_chain_steps(size_t *count_r);
/* fg_chain_step_find - a step by name, NULL when there is none */
const struct fg_chain_step *fg_chain_step_find(const char *name);
/* fg_chain_off_parse - the optional steps named (commas or spaces) as
   a bit mask of table indexes; -1 naming an unknown or required step */
int fg_chain_off_parse(const char *names, unsigned int *off_r,
		       const char **error_r);

/* fg_chain_init - a context for one message of a list */
void fg_chain_init(struct fg_chain_ctx *ctx, struct fg_store *store,
		   const struct fg_list *list,
		   const struct fg_parse_settings *parse_set,
		   const char *envelope_from, const char *data, size_t size,
		   const char *passphrase);
/* fg_chain_run - run the receiving steps not turned off until one
   does not continue; 0 with *d (fg_chain_decision_clear() it), -1
   when Redis failed */
int fg_chain_run(struct fg_chain_ctx *ctx, struct fg_chain_decision *d,
		 const char **error_r);
/* fg_chain_run_step - run one step by name (tests) */
void fg_chain_run_step(struct fg_chain_ctx *ctx, const char *name,
		       struct fg_chain_decision *d);
/* fg_chain_action_name - "continue", "reject", "hold", "discard",
   "bounce" */
const char *fg_chain_action_name(enum fg_chain_action action);
void fg_chain_decision_clear(struct fg_chain_decision *d);
void fg_chain_deinit(struct fg_chain_ctx *ctx);

#endif
