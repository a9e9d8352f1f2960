/*
 * NAME
 *	fg-store-dist 3 - the distribution stream of a list-mode list
 * DESCRIPTION
 *	See fg-store.h for the contract and doc/redis-schema.md for the
 *	entry's fields. The filter chain's queue step (fg-chain.h) adds
 *	each accepted post to fg:{LIST}:dist, once per Message-ID within
 *	the seen retention (the day buckets of fg:{LIST}:dist-seen, the
 *	same script as the inbound queue's), so a delivery retried after a
 *	failure does not send a post twice. The fan-out that reads the
 *	stream makes its own consumer group.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <time.h>

int fg_store_dist_add(struct fg_store *store, const char *list,
		      const struct fg_dist *dist, const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	fg_store_queue_once_begin(store, &a, list, FG_KEY_DIST,
				  FG_KEY_DIST_SEEN);
	fg_argv_str(&a, dist->message_id);
	fg_argv_str(&a, "message_id"); fg_argv_str(&a, dist->message_id);
	fg_argv_str(&a, "envelope_from"); fg_argv_str(&a, dist->envelope_from);
	fg_argv_str(&a, "from"); fg_argv_str(&a, dist->from_email);
	fg_argv_str(&a, "subject"); fg_argv_str(&a, dist->subject);
	fg_argv_str(&a, "chain"); fg_argv_str(&a, dist->chain);
	fg_argv_str(&a, "received"); fg_argv_num(&a, (long long)time(NULL));
	fg_argv_str(&a, "message");
	fg_argv_add(&a, (const char *)dist->message, dist->message_size);
	ret = fg_store_queue_once(store, &a, error_r);
	fg_argv_free(&a);
	return ret;
}
