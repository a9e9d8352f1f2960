/*
 * NAME
 *	fg-store-fanout 3 - the progress of a list-mode fan-out
 * SYNOPSIS
 *	#include "fg-store.h"
 *
 *	ret = fg_store_dist_start(store, list, &lease, entry_id,
 *				  message_id, &progress, &error);
 *	fg_store_dist_recipients(store, list, progress.next, 500,
 *				 &rcpts, &n, &error);
 *	fg_store_dist_record(store, list, &lease, entry_id, next, 1, 0,
 *			     &error);
 *	fg_store_dist_record_send(store, list, &lease, entry_id, next, 1,
 *				  0, &error);
 *	... other work, no other command on the store ...
 *	ret = fg_store_dist_record_reply(store, list, &error);
 *	fg_store_dist_finish(store, list, &lease, entry_id, "sent",
 *			     &error);
 * DESCRIPTION
 *	The fan-out (forumgated's bridge-dist.c) sends each post of the
 *	distribution stream fg:{LIST}:dist to the list's subscribers, one
 *	post of a list at a time, under the list's FG_QUEUE_DIST lease.
 *	This file keeps, in Redis, how far it got, so that a daemon that
 *	dies in the middle of a post is followed (by itself restarted, or
 *	by another daemon that takes the lease over) without anyone
 *	getting the post twice:
 *
 *	When the fan-out of an entry starts, the enabled subscribers
 *	(state "enabled"; not nomail, digest or disabled) are copied, in
 *	byte order, into the list FG_KEY_DIST_RCPT: a subscriber added or
 *	removed meanwhile does not move anyone's position. The hash
 *	FG_KEY_DIST_PROGRESS names the entry, its Message-ID, the number
 *	of recipients and the position of the next one to send ("next"),
 *	with the counts of those accepted ("sent") and refused for good
 *	("refused"). The caller records after each SMTP transaction the
 *	relay accepted (or refused permanently); a restart resumes at
 *	"next". Only a crash between the relay's answer and the record
 *	sends one copy twice, with the same Message-ID.
 *	fg_store_dist_record_send() and fg_store_dist_record_reply() are
 *	the two halves of fg_store_dist_record(): the caller can work
 *	while Redis runs the record (the fan-out sends the next
 *	recipient's envelope), as long as it waits for the reply before
 *	the next copy's message goes and sends no other command meanwhile.
 *
 *	Single-instance: FG_KEY_DIST_DONE (a sorted set, the Message-ID
 *	scored by the unix ms its fan-out started, trimmed to the seen
 *	retention) refuses a second fan-out of a Message-ID another entry
 *	began, whatever brought it (a forum post and a mail post of the
 *	same message, a retention that forgot the dist-seen bucket).
 *
 *	Every write is one Lua script that first checks the lease and its
 *	fencing token, as the queue's finishing steps do: a daemon whose
 *	lease lapsed records nothing once another holds the list.
 * BOUNDS
 *	The snapshot is made by one script (HGETALL of the subscribers):
 *	it holds Redis for a few milliseconds per 10,000 subscribers.
 * DIAGNOSTICS
 *	-1 with *error_r on a Redis failure or an unexpected answer.
 *	Never logs.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <time.h>

/* Start or resume: KEYS[3] the progress, KEYS[4] the snapshot, KEYS[5]
   the Message-IDs begun, KEYS[6] the subscribers; ARGV[3] the entry,
   ARGV[4] its Message-ID, ARGV[5] now (unix ms), ARGV[6] the retention
   (ms). Returns {0} lease lost, {2} a duplicate, or {1, total, next,
   sent, refused, resumed}. */
static const char fg_script_dist_start[] =
	FG_DIST_HELD
	"local p = redis.call('HMGET', KEYS[3], 'entry', 'total', 'next',\n"
	"                     'sent', 'refused')\n"
	"if p[1] == ARGV[3] then\n"
	"  return {1, tonumber(p[2]) or 0, tonumber(p[3]) or 0,\n"
	"          tonumber(p[4]) or 0, tonumber(p[5]) or 0, 1}\n"
	"end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf',\n"
	"           tonumber(ARGV[5]) - tonumber(ARGV[6]))\n"
	"if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[5], ARGV[4]) then\n"
	"  return {2}\n"
	"end\n"
	"redis.call('DEL', KEYS[3], KEYS[4])\n"
	"local all = redis.call('HGETALL', KEYS[6])\n"
	"local rcpts = {}\n"
	"for i = 1, #all, 2 do\n"
	"  if all[i + 1] == 'enabled' then rcpts[#rcpts + 1] = all[i] end\n"
	"end\n"
	"table.sort(rcpts)\n"
	"for i = 1, #rcpts, 1000 do\n"
	"  redis.call('RPUSH', KEYS[4],\n"
	"             unpack(rcpts, i, math.min(i + 999, #rcpts)))\n"
	"end\n"
	"redis.call('HSET', KEYS[3], 'entry', ARGV[3], 'message_id', ARGV[4],\n"
	"           'total', #rcpts, 'next', 0, 'sent', 0, 'refused', 0,\n"
	"           'started', ARGV[5])\n"
	"if ARGV[4] ~= '' then\n"
	"  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4])\n"
	"end\n"
	"return {1, #rcpts, 0, 0, 0, 0}\n";

/* Record: KEYS[3] the progress, KEYS[4] the list's totals; ARGV[3] the
   entry, ARGV[4] the new next position, ARGV[5] more sent, ARGV[6] more
   refused. A position never goes back. */
static const char fg_script_dist_record[] =
	FG_DIST_HELD
	"if redis.call('HGET', KEYS[3], 'entry') ~= ARGV[3] then\n"
	"  return {0}\n"
	"end\n"
	"local next = tonumber(ARGV[4])\n"
	"if next > (tonumber(redis.call('HGET', KEYS[3], 'next')) or 0) then\n"
	"  redis.call('HSET', KEYS[3], 'next', next)\n"
	"end\n"
	"if ARGV[5] ~= '0' then\n"
	"  redis.call('HINCRBY', KEYS[3], 'sent', ARGV[5])\n"
	"  redis.call('HINCRBY', KEYS[4], 'sent', ARGV[5])\n"
	"end\n"
	"if ARGV[6] ~= '0' then\n"
	"  redis.call('HINCRBY', KEYS[3], 'refused', ARGV[6])\n"
	"  redis.call('HINCRBY', KEYS[4], 'refused', ARGV[6])\n"
	"end\n"
	"return {1}\n";

/* Finish: KEYS[3] the progress, KEYS[4] the snapshot, KEYS[5] the
   stream, KEYS[6] the totals; ARGV[3] the entry, ARGV[4] the consumer
   group, ARGV[5] what ("sent": one more post, "duplicate"). */
static const char fg_script_dist_finish[] =
	FG_DIST_HELD
	"if redis.call('HGET', KEYS[3], 'entry') == ARGV[3] then\n"
	"  redis.call('DEL', KEYS[3], KEYS[4])\n"
	"end\n"
	"redis.call('XACK', KEYS[5], ARGV[4], ARGV[3])\n"
	"redis.call('XDEL', KEYS[5], ARGV[3])\n"
	"redis.call('HINCRBY', KEYS[6], ARGV[5] == 'sent' and 'posts' or\n"
	"           'duplicates', 1)\n"
	"return {1}\n";

/* fg_dist_args_begin - see fg-store-private.h */
void fg_dist_args_begin(struct fg_argv *a, const char *script,
			       int n_keys, const char *list,
			       char keys[][FG_KEY_SIZE])
{
	fg_argv_str(a, "EVAL");
	fg_argv_str(a, script);
	fg_argv_num(a, n_keys);
	fg_argv_str(a, fg_key(keys[0], fg_queue_lease_fmt(FG_QUEUE_DIST),
			      list));
	fg_argv_str(a, fg_key(keys[1], fg_queue_fence_fmt(FG_QUEUE_DIST),
			      list));
}

/* fg_dist_args_lease - see fg-store-private.h */
void fg_dist_args_lease(struct fg_argv *a, const struct fg_lease *lease)
{
	fg_argv_str(a, lease->consumer);
	fg_argv_num(a, lease->token);
}

/* fg_dist_check - the reply's first number, and the reply itself in
   *reply_r when wanted (caller frees); frees the reply otherwise */
static int fg_dist_check(struct fg_store *store, redisReply *reply,
			 const char *list, const char *what,
			 redisReply **reply_r, const char **error_r)
{
	int ret;

	if (reply_r != NULL)
		*reply_r = NULL;
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER) {
		*error_r = fg_errorf("Redis %s: unexpected answer to the %s "
				     "of list %s's fan-out", store->address,
				     what, list);
		freeReplyObject(reply);
		return -1;
	}
	ret = (int)reply->element[0]->integer;
	if (reply_r != NULL)
		*reply_r = reply;
	else
		freeReplyObject(reply);
	return ret;
}

/* fg_dist_eval - see fg-store-private.h */
int fg_dist_eval(struct fg_store *store, struct fg_argv *a, const char *list,
		 const char *what,
		 redisReply **reply_r, const char **error_r)
{
	redisReply *reply = fg_store_cmdv(store, a->argc, a->argv, a->lens,
					  error_r);

	fg_argv_free(a);
	return fg_dist_check(store, reply, list, what, reply_r, error_r);
}

/* fg_dist_int - see fg-store-private.h */
long long fg_dist_int(const redisReply *reply, size_t i)
{
	if (i >= reply->elements)
		return 0;
	if (reply->element[i]->type == REDIS_REPLY_INTEGER)
		return reply->element[i]->integer;
	if (reply->element[i]->type == REDIS_REPLY_STRING)
		return strtoll(reply->element[i]->str, NULL, 10);
	return 0;
}

int fg_store_dist_start(struct fg_store *store, const char *list,
			const struct fg_lease *lease, const char *entry_id,
			const char *message_id,
			struct fg_dist_progress *progress_r,
			const char **error_r)
{
	char keys[6][FG_KEY_SIZE];
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret;

	memset(progress_r, 0, sizeof(*progress_r));
	fg_dist_args_begin(&a, fg_script_dist_start, 6, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIST_PROGRESS, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIST_RCPT, list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_DIST_DONE, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_SUBSCRIBERS, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, entry_id);
	fg_argv_str(&a, message_id != NULL ? message_id : "");
	fg_argv_num(&a, fg_store_now_ms(store));
	fg_argv_num(&a, store->seen_ms);
	ret = fg_dist_eval(store, &a, list, "start", &reply, error_r);
	if (ret < 0)
		return -1;
	if (ret == FG_DIST_START_GO) {
		progress_r->total = fg_dist_int(reply, 1);
		progress_r->next = fg_dist_int(reply, 2);
		progress_r->sent = fg_dist_int(reply, 3);
		progress_r->refused = fg_dist_int(reply, 4);
		progress_r->resumed = fg_dist_int(reply, 5) != 0;
	} else if (ret != FG_DIST_START_LOST &&
		   ret != FG_DIST_START_DUPLICATE) {
		*error_r = fg_errorf("Redis %s: unexpected answer %d to the "
				     "start of list %s's fan-out",
				     store->address, ret, list);
		ret = -1;
	}
	freeReplyObject(reply);
	return ret;
}

/* fg_store_lrange - see fg-store-private.h */
int fg_store_lrange(struct fg_store *store, const char *key, long long start,
		    size_t max, char ***items_r, size_t *count_r,
		    const char **error_r)
{
	char first[32], last[32];
	redisReply *reply;
	char **items;
	size_t n = 0;

	*items_r = NULL;
	*count_r = 0;
	if (max == 0)
		return 0;
	snprintf(first, sizeof(first), "%lld", start);
	snprintf(last, sizeof(last), "%lld", start + (long long)max - 1);
	reply = fg_store_cmd(store, error_r, "LRANGE", key, first, last,
			     NULL);
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY) {
		*error_r = fg_errorf("Redis %s: unexpected answer to LRANGE "
				     "%s", store->address, key);
		freeReplyObject(reply);
		return -1;
	}
	items = fg_xcalloc(reply->elements + 1, sizeof(*items));
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i];

		if (e->type == REDIS_REPLY_STRING)
			items[n++] = fg_xstrndup(e->str, e->len);
	}
	freeReplyObject(reply);
	*items_r = items;
	*count_r = n;
	return 0;
}

int fg_store_dist_recipients(struct fg_store *store, const char *list,
			     long long start, size_t max, char ***rcpts_r,
			     size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_lrange(store, fg_key(key, FG_KEY_DIST_RCPT, list),
			       start, max, rcpts_r, count_r, error_r);
}

int fg_store_dist_record_send(struct fg_store *store, const char *list,
			      const struct fg_lease *lease,
			      const char *entry_id, long long next,
			      long long sent, long long refused,
			      const char **error_r)
{
	char keys[4][FG_KEY_SIZE];
	struct fg_argv a = { 0 };
	int ret;

	fg_dist_args_begin(&a, fg_script_dist_record, 4, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIST_PROGRESS, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIST_STATS, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, entry_id);
	fg_argv_num(&a, next);
	fg_argv_num(&a, sent);
	fg_argv_num(&a, refused);
	ret = fg_store_send(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	return ret;
}

int fg_store_dist_record_reply(struct fg_store *store, const char *list,
			       const char **error_r)
{
	return fg_dist_check(store, fg_store_reply(store, "EVAL", error_r),
			     list, "record", NULL, error_r);
}

int fg_store_dist_record(struct fg_store *store, const char *list,
			 const struct fg_lease *lease, const char *entry_id,
			 long long next, long long sent, long long refused,
			 const char **error_r)
{
	if (fg_store_dist_record_send(store, list, lease, entry_id, next,
				      sent, refused, error_r) < 0)
		return -1;
	return fg_store_dist_record_reply(store, list, error_r);
}

int fg_store_dist_finish(struct fg_store *store, const char *list,
			 const struct fg_lease *lease, const char *entry_id,
			 const char *what, const char **error_r)
{
	char keys[6][FG_KEY_SIZE];
	struct fg_argv a = { 0 };

	fg_dist_args_begin(&a, fg_script_dist_finish, 6, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIST_PROGRESS, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIST_RCPT, list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_DIST, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_DIST_STATS, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, entry_id);
	fg_argv_str(&a, FG_CONSUMER_GROUP);
	fg_argv_str(&a, what);
	return fg_dist_eval(store, &a, list, "end", NULL, error_r);
}

int fg_store_dist_progress_get(struct fg_store *store, const char *list,
			       struct fg_dist_progress *progress_r,
			       char **entry_id_r, const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	memset(progress_r, 0, sizeof(*progress_r));
	*entry_id_r = NULL;
	/* HGETALL, not HMGET: the admin's ACL rules have the former */
	reply = fg_store_cmd(store, error_r, "HGETALL",
			     fg_key(key, FG_KEY_DIST_PROGRESS, list), NULL);
	if (reply == NULL)
		return -1;
	for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY &&
	     i + 1 < reply->elements; i += 2) {
		const redisReply *k = reply->element[i];
		const redisReply *v = reply->element[i + 1];
		long long n;

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		n = strtoll(v->str, NULL, 10);
		if (strcmp(k->str, "entry") == 0 && *entry_id_r == NULL)
			*entry_id_r = fg_xstrndup(v->str, v->len);
		else if (strcmp(k->str, "total") == 0)
			progress_r->total = n;
		else if (strcmp(k->str, "next") == 0)
			progress_r->next = n;
		else if (strcmp(k->str, "sent") == 0)
			progress_r->sent = n;
		else if (strcmp(k->str, "refused") == 0)
			progress_r->refused = n;
	}
	freeReplyObject(reply);
	return *entry_id_r != NULL ? 1 : 0;
}
