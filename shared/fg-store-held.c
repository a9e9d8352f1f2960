/*
 * NAME
 *	fg-store-held 3 - the held posts of a list-mode list in Redis
 * DESCRIPTION
 *	See fg-held.h for the contract and doc/redis-schema.md
 *	("Moderation queue") for the keys. Holding a post is one script,
 *	so that two deliveries of one message hold it once and the bound
 *	cannot be overrun by a race; every other change is one
 *	MULTI/EXEC or one command. Keys share the list's hash tag.
 */
#include "fg-store-private.h"
#include "fg-held.h"
#include "fg-common.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: held, seq, todo, msgid, the hash's prefix "fg:{L}:held:";
   ARGV: max, message_id, received, then field/value pairs. Returns
   {1, id} held, {0, id} held before, {2, 0} full. */
static const char held_add_script[] =
	"local id = redis.call('HGET', KEYS[4], ARGV[2])\n"
	"if id and redis.call('EXISTS', KEYS[5] .. id) == 1 then\n"
	"  return {0, tonumber(id)}\n"
	"end\n"
	"if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then\n"
	"  return {2, 0}\n"
	"end\n"
	"id = redis.call('INCR', KEYS[2])\n"
	"local h = KEYS[5] .. id\n"
	"redis.call('HSET', h, 'id', id, 'state', 'held', 'announced', 0)\n"
	"for i = 4, #ARGV, 2 do\n"
	"  redis.call('HSET', h, ARGV[i], ARGV[i + 1])\n"
	"end\n"
	"redis.call('ZADD', KEYS[1], ARGV[3], id)\n"
	"redis.call('ZADD', KEYS[3], 0, id)\n"
	"redis.call('HSET', KEYS[4], ARGV[2], id)\n"
	"return {1, id}\n";

/* held_key - the hash of one held post (caller frees) */
static char *held_key(const char *list, long long id)
{
	return fg_xasprintf("fg:{%s}:held:%lld", list, id);
}

int fg_store_held_add(struct fg_store *store, const char *list,
		      const struct fg_held *held, long long max,
		      long long *id_r, const char **error_r)
{
	char k1[FG_KEY_SIZE], k2[FG_KEY_SIZE], k3[FG_KEY_SIZE],
		k4[FG_KEY_SIZE];
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret = -1;

	*id_r = 0;
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, held_add_script);
	fg_argv_str(&a, "5");
	fg_argv_str(&a, fg_key(k1, FG_KEY_HELD, list));
	fg_argv_str(&a, fg_key(k2, FG_KEY_HELD_SEQ, list));
	fg_argv_str(&a, fg_key(k3, FG_KEY_HELD_TODO, list));
	fg_argv_str(&a, fg_key(k4, FG_KEY_HELD_MSGID, list));
	fg_argv_own(&a, fg_xasprintf("fg:{%s}:held:", list));
	fg_argv_num(&a, max);
	fg_argv_str(&a, held->message_id);
	fg_argv_num(&a, held->received);
	fg_argv_str(&a, "message_id"); fg_argv_str(&a, held->message_id);
	fg_argv_str(&a, "from"); fg_argv_str(&a, held->from);
	fg_argv_str(&a, "envelope_from"); fg_argv_str(&a, held->envelope_from);
	fg_argv_str(&a, "subject"); fg_argv_str(&a, held->subject);
	fg_argv_str(&a, "reason"); fg_argv_str(&a, held->reason);
	fg_argv_str(&a, "chain"); fg_argv_str(&a, held->chain);
	fg_argv_str(&a, "received"); fg_argv_num(&a, held->received);
	fg_argv_str(&a, "message");
	fg_argv_add(&a, held->message != NULL ? held->message : "",
		    held->message != NULL ? held->message_size : 0);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER) {
		ret = (int)reply->element[0]->integer;
		*id_r = reply->element[1]->integer;
	} else {
		*error_r = fg_errorf("holding a post: unexpected reply");
	}
	freeReplyObject(reply);
	return ret;
}

/* The string fields of a held post, by name. */
static const struct {
	const char *name;
	size_t offset;
} held_strings[] = {
	{ "state", offsetof(struct fg_held, state) },
	{ "message_id", offsetof(struct fg_held, message_id) },
	{ "from", offsetof(struct fg_held, from) },
	{ "envelope_from", offsetof(struct fg_held, envelope_from) },
	{ "subject", offsetof(struct fg_held, subject) },
	{ "reason", offsetof(struct fg_held, reason) },
	{ "chain", offsetof(struct fg_held, chain) },
	{ "reject_reason", offsetof(struct fg_held, reject_reason) },
	{ "message", offsetof(struct fg_held, message) },
};

/* held_string - a string field of h by its index in held_strings */
static char **held_string(struct fg_held *h, size_t i)
{
	return (char **)(void *)((char *)h + held_strings[i].offset);
}

/* held_set - one field of a held post from an HGETALL reply */
static void held_set(struct fg_held *h, const char *field,
		     const redisReply *value)
{
	if (strcmp(field, "received") == 0)
		(void)fg_parse_llong(value->str, &h->received);
	else if (strcmp(field, "announced") == 0)
		(void)fg_parse_llong(value->str, &h->announced);
	for (size_t i = 0; i < FG_N_ELEMENTS(held_strings); i++) {
		char **slot = held_string(h, i);

		if (strcmp(field, held_strings[i].name) != 0 || *slot != NULL)
			continue;
		*slot = fg_xstrndup(value->str, value->len);
		if (strcmp(field, "message") == 0)
			h->message_size = value->len;
	}
}

/* held_fill - "" for the string fields the hash lacks */
static void held_fill(struct fg_held *h)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(held_strings); i++) {
		if (*held_string(h, i) == NULL)
			*held_string(h, i) = fg_xstrdup("");
	}
}

int fg_store_held_get(struct fg_store *store, const char *list,
		      long long id, struct fg_held **held_r,
		      const char **error_r)
{
	char *key = held_key(list, id);
	redisReply *reply = fg_store_cmd(store, error_r, "HGETALL", key, NULL);
	struct fg_held *h;

	free(key);
	*held_r = NULL;
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		freeReplyObject(reply);
		return 0;
	}
	h = fg_xcalloc(1, sizeof(*h));
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		if (reply->element[i]->type == REDIS_REPLY_STRING &&
		    reply->element[i + 1]->type == REDIS_REPLY_STRING)
			held_set(h, reply->element[i]->str,
				 reply->element[i + 1]);
	}
	freeReplyObject(reply);
	held_fill(h);
	h->id = id;
	*held_r = h;
	return 1;
}

/* held_ids_of - the ids of a reply listing members (NULL: the
   command failed), frees the reply; 0, or -1 with *error_r */
static int held_ids_of(redisReply *reply, long long **ids_r,
		       size_t *count_r, const char **error_r)
{
	long long *ids;
	size_t n = 0;

	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(reply);
		*error_r = fg_errorf("held posts: unexpected reply");
		return -1;
	}
	ids = fg_xcalloc(reply->elements + 1, sizeof(*ids));

	for (size_t i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type == REDIS_REPLY_STRING &&
		    fg_parse_llong(reply->element[i]->str, &ids[n]) == 0 &&
		    ids[n] > 0)
			n++;
	}
	freeReplyObject(reply);
	*ids_r = ids;
	*count_r = n;
	return 0;
}

int fg_store_held_ids(struct fg_store *store, const char *list,
		      long long before, size_t max, long long **ids_r,
		      size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE], *top, *limit;
	redisReply *reply;

	*ids_r = NULL;
	*count_r = 0;
	top = before > 0 ? fg_xasprintf("(%lld", before) : fg_xstrdup("+inf");
	limit = fg_xasprintf("%zu", max > 0 ? max : (size_t)1000000);
	reply = fg_store_cmd(store, error_r, "ZRANGEBYSCORE",
			     fg_key(key, FG_KEY_HELD, list), "-inf", top,
			     "LIMIT", "0", limit, NULL);
	free(top);
	free(limit);
	return held_ids_of(reply, ids_r, count_r, error_r);
}

int fg_store_held_todo(struct fg_store *store, const char *list, size_t max,
		       long long **ids_r, size_t *count_r,
		       const char **error_r)
{
	char key[FG_KEY_SIZE], *last = fg_xasprintf("%zu", max - 1);
	redisReply *reply;

	*ids_r = NULL;
	*count_r = 0;
	reply = fg_store_cmd(store, error_r, "ZRANGE",
			     fg_key(key, FG_KEY_HELD_TODO, list), "0", last,
			     NULL);
	free(last);
	return held_ids_of(reply, ids_r, count_r, error_r);
}

int fg_store_held_announced(struct fg_store *store, const char *list,
			    long long id, long long count, bool done,
			    const char **error_r)
{
	char todo[FG_KEY_SIZE], *key = held_key(list, id);
	char *idstr = fg_xasprintf("%lld", id), *n = fg_xasprintf("%lld", count);
	int ret;

	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HSET", key, "announced",
				     n, NULL));
	if (ret == 0 && done)
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "ZREM",
					     fg_key(todo, FG_KEY_HELD_TODO,
						    list), idstr, NULL));
	free(key);
	free(idstr);
	free(n);
	return ret;
}

/* KEYS: the post's hash, todo; ARGV: id, state, reason */
static const char held_decide_script[] =
	"if redis.call('HGET', KEYS[1], 'state') ~= 'held' then\n"
	"  return 0\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'state', ARGV[2], 'reject_reason', "
	"ARGV[3])\n"
	"redis.call('ZADD', KEYS[2], 0, ARGV[1])\n"
	"return 1\n";

int fg_store_held_decide(struct fg_store *store, const char *list,
			 long long id, const char *state, const char *reason,
			 const char **error_r)
{
	char todo[FG_KEY_SIZE], *key = held_key(list, id);
	char *idstr = fg_xasprintf("%lld", id);
	int ret;

	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "EVAL",
				       held_decide_script, "2", key,
				       fg_key(todo, FG_KEY_HELD_TODO, list),
				       idstr, state,
				       reason != NULL ? reason : "", NULL));
	free(key);
	free(idstr);
	return ret;
}

/* KEYS: the post's hash, held, todo, msgid; ARGV: id */
static const char held_remove_script[] =
	"local mid = redis.call('HGET', KEYS[1], 'message_id')\n"
	"if not mid then\n"
	"  redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"  redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"  return 0\n"
	"end\n"
	"if redis.call('HGET', KEYS[4], mid) == ARGV[1] then\n"
	"  redis.call('HDEL', KEYS[4], mid)\n"
	"end\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"return 1\n";

int fg_store_held_remove(struct fg_store *store, const char *list,
			 long long id, const char **error_r)
{
	char held[FG_KEY_SIZE], todo[FG_KEY_SIZE], msgid[FG_KEY_SIZE];
	char *key = held_key(list, id), *idstr = fg_xasprintf("%lld", id);
	int ret;

	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "EVAL",
				       held_remove_script, "4", key,
				       fg_key(held, FG_KEY_HELD, list),
				       fg_key(todo, FG_KEY_HELD_TODO, list),
				       fg_key(msgid, FG_KEY_HELD_MSGID, list),
				       idstr, NULL));
	free(key);
	free(idstr);
	return ret;
}

void fg_held_free(struct fg_held **_held)
{
	struct fg_held *h = *_held;

	if (h == NULL)
		return;
	for (size_t i = 0; i < FG_N_ELEMENTS(held_strings); i++)
		free(*held_string(h, i));
	free(h);
	*_held = NULL;
}
