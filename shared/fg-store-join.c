/*
 * NAME
 *	fg-store-join 3 - the state of subscribing by mail
 * DESCRIPTION
 *	See fg-store.h for the contract and doc/redis-schema.md for the
 *	keys. A confirmation token (fg-listjoin.h) carries everything
 *	its confirmation needs; Redis keeps only two small things, each
 *	expiring by itself:
 *
 *	fg:{LIST}:confirm-sent:ADDRESS counts the confirmation requests
 *	sent to an address in a window (forged joins must not mail-bomb
 *	a victim), and fg:{LIST}:confirm-used:MAC marks a token used
 *	until it expires, so that a confirmation works once (an old
 *	"subscribe" link does not undo a later unsubscription).
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* one more request to the address; its count; the window starts with
   the first. KEYS[1] the counter, ARGV[1] the window in ms */
static const char fg_script_confirm_count[] =
	"local n = redis.call('INCR', KEYS[1])\n"
	"if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
	"return n\n";

int fg_store_confirm_count(struct fg_store *store, const char *list,
			   const char *address, unsigned int window_s,
			   long long *count_r, const char **error_r)
{
	char *key = fg_xasprintf(FG_KEY_CONFIRM_SENT, list, address);
	char ms[32];
	redisReply *reply;
	int ret = -1;

	snprintf(ms, sizeof(ms), "%lld", (long long)window_s * 1000);
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_confirm_count,
			     "1", key, ms, NULL);
	free(key);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER) {
		*count_r = reply->integer;
		ret = 0;
	} else {
		*error_r = fg_errorf("confirmation count: unexpected reply");
	}
	freeReplyObject(reply);
	return ret;
}

/* mark the token used and change the subscription, in one step.
   KEYS[1] the token's mark, KEYS[2] the subscribers, KEYS[3] the
   list's serial; ARGV[1] the mark's life in ms, ARGV[2] "s" subscribe
   or "u" unsubscribe, ARGV[3] the address, ARGV[4] the list. -1 the
   token was used before, else 1 changed or 0 nothing to change. */
static const char fg_script_confirm_apply[] =
	"if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then\n"
	"  return -1\n"
	"end\n"
	"local changed\n"
	"if ARGV[2] == 's' then\n"
	"  changed = redis.call('HSETNX', KEYS[2], ARGV[3], 'enabled')\n"
	"else\n"
	"  changed = redis.call('HDEL', KEYS[2], ARGV[3])\n"
	"end\n"
	"if changed == 1 then\n"
	"  redis.call('INCR', KEYS[3])\n"
	"  redis.call('PUBLISH', '" FG_CHANNEL_CHANGES "', ARGV[4])\n"
	"end\n"
	"return changed\n";

int fg_store_confirm_apply(struct fg_store *store, const char *list,
			   const char *mac, long long ttl_s, bool subscribe,
			   const char *address, bool *changed_r,
			   const char **error_r)
{
	char *used = fg_xasprintf(FG_KEY_CONFIRM_USED, list, mac);
	char subs[FG_KEY_SIZE], serial[FG_KEY_SIZE], ms[32];
	char *canon = fg_subscriber_address(address);
	redisReply *reply;
	int ret = -1;

	*changed_r = false;
	if (canon == NULL) {
		free(used);
		*error_r = fg_errorf("'%s' is not a mail address", address);
		return -1;
	}
	snprintf(ms, sizeof(ms), "%lld", (ttl_s > 0 ? ttl_s : 1) * 1000);
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_confirm_apply,
			     "3", used, fg_key(subs, FG_KEY_SUBSCRIBERS, list),
			     fg_key(serial, FG_KEY_SERIAL, list), ms,
			     subscribe ? "s" : "u", canon, list, NULL);
	free(used);
	free(canon);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER) {
		ret = reply->integer < 0 ? 0 : 1;
		*changed_r = reply->integer > 0;
	} else {
		*error_r = fg_errorf("confirmation: unexpected reply");
	}
	freeReplyObject(reply);
	return ret;
}
