/*
 * NAME
 *	fg-store-stopped 3 - why a list's inbound queue waits for the forum
 * DESCRIPTION
 *	forumgated records in FG_KEY_IN_STOPPED why the forum keeps a
 *	list's queue from moving (its credentials refused, a rate limit),
 *	so that `forumgate status` can say so; the first post that goes
 *	through removes it. One small hash per list, written when the
 *	cause changes, not on every retry.
 * SEE ALSO
 *	fg-store.h, doc/redis-schema.md
 */
#include "fg-store-private.h"

#include <stdio.h>

/* fg_store_in_stopped_set - see fg-store.h */
int fg_store_in_stopped_set(struct fg_store *store, const char *list,
			    const char *cause, const char *reason,
			    long long since, long long retry_at,
			    const char **error_r)
{
	char key[FG_KEY_SIZE], since_s[32], retry_s[32];

	snprintf(since_s, sizeof(since_s), "%lld", since);
	snprintf(retry_s, sizeof(retry_s), "%lld", retry_at);
	return fg_cmd_ok(fg_store_cmd(store, error_r, "HSET",
				      fg_key(key, FG_KEY_IN_STOPPED, list),
				      "cause", cause,
				      "reason", reason != NULL ? reason : "",
				      "since", since_s, "retry_at", retry_s,
				      NULL));
}

/* fg_store_in_stopped_clear - see fg-store.h */
int fg_store_in_stopped_clear(struct fg_store *store, const char *list,
			      const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_cmd_ok(fg_store_cmd(store, error_r, "DEL",
				      fg_key(key, FG_KEY_IN_STOPPED, list),
				      NULL));
}

/* fg_store_in_stopped_get - see fg-store.h */
int fg_store_in_stopped_get(struct fg_store *store, const char *list,
			    char ***names_r, char ***values_r,
			    size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply = fg_store_cmd(store, error_r, "HGETALL",
					 fg_key(key, FG_KEY_IN_STOPPED, list),
					 NULL);

	if (reply == NULL)
		return -1;
	fg_store_hash_sorted(reply, names_r, values_r, count_r);
	return *count_r > 0 ? 1 : 0;
}
