/*
 * NAME
 *	fg-held-release 3 - a held post a moderator approved goes on
 * DESCRIPTION
 *	See fg-held.h, fg_held_release(). The held message is the one
 *	the chain held (its approval passphrase, if any, already taken
 *	out), so the chain runs on it again as at delivery, with the
 *	access step admitting it: the post is queued for the forum and
 *	the fan-out exactly as an accepted post is (fg-chain.h, step
 *	queue), once per Message-ID. Only then is the held post removed:
 *	a failure in between leaves it held, and approving it again
 *	queues nothing twice.
 */
#include "fg-held.h"
#include "fg-chain.h"
#include "fg-common.h"
#include "fg-mailparse.h"

int fg_held_release(struct fg_store *store, const struct fg_list *list,
		    const struct fg_parse_settings *parse_set,
		    const struct fg_attach_settings *attach,
		    const struct fg_held *held, const char **why_r,
		    const char **error_r)
{
	struct fg_parse_settings set = *parse_set;
	struct fg_chain_decision d;
	struct fg_chain_ctx chain;
	int ret;

	*why_r = "";
	set.envelope_from = held->envelope_from;
	fg_chain_init(&chain, store, list, &set, held->envelope_from,
		      held->message, held->message_size, NULL);
	chain.attach = attach;
	chain.moderator_approved = true;
	if (fg_chain_run(&chain, &d, error_r) < 0) {
		fg_chain_deinit(&chain);
		return -1;
	}
	if (d.action == FG_CHAIN_CONTINUE)
		ret = 1;
	else if (d.action == FG_CHAIN_DISCARD &&
		 d.not_posted == FG_NOT_POSTED_DUPLICATE)
		ret = 0;
	else {
		ret = 0;
		*why_r = fg_errorf("step %s %s: %s", d.step,
				   fg_chain_action_name(d.action),
				   d.reason != NULL ? d.reason : "");
	}
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&chain);
	if (fg_store_held_remove(store, list->name, held->id, error_r) < 0)
		return -1;
	return ret;
}
