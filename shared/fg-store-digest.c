/*
 * NAME
 *	fg-store-digest 3 - a list-mode list's digest in Redis
 * DESCRIPTION
 *	See fg-store-digest.h for the contract and doc/redis-schema.md
 *	for the keys. The scripts share the fan-out's lease check
 *	(FG_DIST_HELD, fg-store-private.h).
 * BOUNDS
 *	The accumulator holds posts_max posts at most (the caller's
 *	bound); an issue reads its posts' sizes twenty entries at a time
 *	and stops at bytes_max, so a take loads little more than one
 *	issue into the script.
 */
#include "fg-store-digest.h"
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdio.h>
#include <string.h>

/* Add: KEYS[3] the accumulator, KEYS[4] its Message-IDs, KEYS[5] the
   state, KEYS[6] the fan-out's Message-IDs begun; ARGV[3] the
   Message-ID, ARGV[4] now (ms), ARGV[5] the retention (ms), ARGV[6]
   the posts at most, ARGV[7] the size, ARGV[8] the copy. */
static const char fg_script_digest_add[] =
	FG_DIST_HELD
	"redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf',\n"
	"           tonumber(ARGV[4]) - tonumber(ARGV[5]))\n"
	"if redis.call('ZSCORE', KEYS[4], ARGV[3]) or\n"
	"   redis.call('ZSCORE', KEYS[6], ARGV[3]) then return {2} end\n"
	"if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[6]) then\n"
	"  return {3}\n"
	"end\n"
	"redis.call('XADD', KEYS[3], '*', 'message_id', ARGV[3],\n"
	"           'size', ARGV[7], 'message', ARGV[8])\n"
	"redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])\n"
	"redis.call('HINCRBY', KEYS[5], 'size', ARGV[7])\n"
	"redis.call('HSETNX', KEYS[5], 'last_sent',\n"
	"           math.floor(tonumber(ARGV[4]) / 1000))\n"
	"return {1}\n";

/* Take: KEYS[3] the accumulator, KEYS[4] the state, KEYS[5] the
   issue, KEYS[6] its recipients, KEYS[7] the subscribers; ARGV[3]
   now, ARGV[4] since, ARGV[5] size_max, ARGV[6] posts_max, ARGV[7]
   bytes_max, ARGV[8] month. Returns {0} lease lost, {2} not due, or
   {1, resumed, volume, issue, date, first, last, posts, size, total,
   next, sent, refused}. */
static const char fg_script_digest_take[] =
	FG_DIST_HELD
	"local function reply(h, resumed)\n"
	"  return {1, resumed, h.volume, h.issue, h.date, h.first, h.last,\n"
	"          h.posts, h.size, h.total, h.next, h.sent, h.refused}\n"
	"end\n"
	"local p = redis.call('HGETALL', KEYS[5])\n"
	"if #p > 0 then\n"
	"  local h = {}\n"
	"  for i = 1, #p, 2 do h[p[i]] = p[i + 1] end\n"
	"  return reply(h, 1)\n"
	"end\n"
	"if redis.call('XLEN', KEYS[3]) == 0 then return {2} end\n"
	"local s = redis.call('HMGET', KEYS[4], 'size', 'last_sent',\n"
	"                     'send_now', 'volume', 'issue', 'month')\n"
	"local size_max = tonumber(ARGV[5])\n"
	"if not (s[3] == '1' or\n"
	"        (size_max > 0 and (tonumber(s[1]) or 0) >= size_max) or\n"
	"        (tonumber(s[2]) or 0) < tonumber(ARGV[4])) then\n"
	"  return {2}\n"
	"end\n"
	"local posts_max, bytes_max = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
	"local count, bytes, first, last, from = 0, 0, nil, nil, '-'\n"
	"local full = false\n"
	"while not full and count < posts_max do\n"
	"  local es = redis.call('XRANGE', KEYS[3], from, '+', 'COUNT', 20)\n"
	"  if #es == 0 then break end\n"
	"  for _, e in ipairs(es) do\n"
	"    local size = 0\n"
	"    for i = 1, #e[2], 2 do\n"
	"      if e[2][i] == 'size' then size = tonumber(e[2][i + 1]) or 0 end\n"
	"    end\n"
	"    if count >= posts_max or\n"
	"       (count > 0 and bytes + size > bytes_max) then\n"
	"      full = true\n"
	"      break\n"
	"    end\n"
	"    count = count + 1\n"
	"    bytes = bytes + size\n"
	"    first = first or e[1]\n"
	"    last = e[1]\n"
	"  end\n"
	"  from = '(' .. es[#es][1]\n"
	"end\n"
	"local volume, issue = tonumber(s[4]) or 0, tonumber(s[5]) or 0\n"
	"if volume == 0 then volume, issue = 1, 1\n"
	"elseif s[6] ~= ARGV[8] then volume, issue = volume + 1, 1\n"
	"else issue = issue + 1 end\n"
	"redis.call('HSET', KEYS[4], 'volume', volume, 'issue', issue,\n"
	"           'month', ARGV[8])\n"
	"redis.call('HDEL', KEYS[4], 'send_now')\n"
	"redis.call('DEL', KEYS[6])\n"
	"local all = redis.call('HGETALL', KEYS[7])\n"
	"local rcpts = {}\n"
	"for i = 1, #all, 2 do\n"
	"  if all[i + 1] == 'digest' then rcpts[#rcpts + 1] = all[i] end\n"
	"end\n"
	"table.sort(rcpts)\n"
	"for i = 1, #rcpts, 1000 do\n"
	"  redis.call('RPUSH', KEYS[6],\n"
	"             unpack(rcpts, i, math.min(i + 999, #rcpts)))\n"
	"end\n"
	"local h = {volume = volume, issue = issue, date = ARGV[3],\n"
	"           first = first, last = last, posts = count, size = bytes,\n"
	"           total = #rcpts, next = 0, sent = 0, refused = 0}\n"
	"redis.call('HSET', KEYS[5], 'volume', h.volume, 'issue', h.issue,\n"
	"           'date', h.date, 'first', h.first, 'last', h.last,\n"
	"           'posts', h.posts, 'size', h.size, 'total', h.total,\n"
	"           'next', 0, 'sent', 0, 'refused', 0)\n"
	"return reply(h, 0)\n";

/* Record: KEYS[3] the issue; ARGV[3] its first entry, ARGV[4] the new
   position, ARGV[5] more sent, ARGV[6] more refused. */
static const char fg_script_digest_record[] =
	FG_DIST_HELD
	"if redis.call('HGET', KEYS[3], 'first') ~= ARGV[3] then\n"
	"  return {0}\n"
	"end\n"
	"local next = tonumber(ARGV[4])\n"
	"if next > (tonumber(redis.call('HGET', KEYS[3], 'next')) or 0) then\n"
	"  redis.call('HSET', KEYS[3], 'next', next)\n"
	"end\n"
	"redis.call('HINCRBY', KEYS[3], 'sent', ARGV[5])\n"
	"redis.call('HINCRBY', KEYS[3], 'refused', ARGV[6])\n"
	"return {1}\n";

/* Finish: KEYS[3] the accumulator, KEYS[4] the state, KEYS[5] the
   issue, KEYS[6] its recipients; ARGV[3] its first entry, ARGV[4]
   now. The issue's posts are the oldest entries: everything up to its
   last entry goes. */
static const char fg_script_digest_finish[] =
	FG_DIST_HELD
	"local h = redis.call('HMGET', KEYS[5], 'first', 'last', 'size')\n"
	"if h[1] ~= ARGV[3] then return {0} end\n"
	"local ms, seq = string.match(h[2], '^(%d+)-(%d+)$')\n"
	"redis.call('XTRIM', KEYS[3], 'MINID',\n"
	"           ms .. '-' .. string.format('%d', tonumber(seq) + 1))\n"
	"local size = redis.call('HINCRBY', KEYS[4], 'size',\n"
	"                        -(tonumber(h[3]) or 0))\n"
	"if size < 0 or redis.call('XLEN', KEYS[3]) == 0 then\n"
	"  redis.call('HSET', KEYS[4], 'size', 0)\n"
	"end\n"
	"redis.call('HSET', KEYS[4], 'last_sent', ARGV[4])\n"
	"redis.call('HINCRBY', KEYS[4], 'issues', 1)\n"
	"redis.call('DEL', KEYS[5], KEYS[6])\n"
	"return {1}\n";

/* fg_digest_str - element i of an array reply as a string into buf */
static void fg_digest_str(const redisReply *reply, size_t i, char *buf,
			  size_t size)
{
	*buf = '\0';
	if (i < reply->elements && reply->element[i]->type == REDIS_REPLY_STRING)
		snprintf(buf, size, "%s", reply->element[i]->str);
}

/* fg_store_digest_add - see fg-store-digest.h */
int fg_store_digest_add(struct fg_store *store, const char *list,
			const struct fg_lease *lease, const char *message_id,
			const char *message, size_t size, long long posts_max,
			const char **error_r)
{
	char keys[6][FG_KEY_SIZE];
	struct fg_argv a = { 0 };

	fg_dist_args_begin(&a, fg_script_digest_add, 6, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIGEST, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIGEST_SEEN, list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_DIGEST_STATE, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_DIST_DONE, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, message_id);
	fg_argv_num(&a, fg_store_now_ms(store));
	fg_argv_num(&a, store->seen_ms);
	fg_argv_num(&a, posts_max);
	fg_argv_num(&a, (long long)size);
	fg_argv_add(&a, message, size);
	return fg_dist_eval(store, &a, list, "digest add", NULL, error_r);
}

/* fg_store_digest_take - see fg-store-digest.h */
int fg_store_digest_take(struct fg_store *store, const char *list,
			 const struct fg_lease *lease,
			 const struct fg_digest_due *due,
			 struct fg_digest_issue *issue_r, const char **error_r)
{
	char keys[7][FG_KEY_SIZE];
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret;

	memset(issue_r, 0, sizeof(*issue_r));
	fg_dist_args_begin(&a, fg_script_digest_take, 7, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIGEST, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIGEST_STATE, list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_DIGEST_ISSUE, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_DIGEST_RCPT, list));
	fg_argv_str(&a, fg_key(keys[6], FG_KEY_SUBSCRIBERS, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_num(&a, due->now);
	fg_argv_num(&a, due->since);
	fg_argv_num(&a, due->size_max);
	fg_argv_num(&a, due->posts_max > 0 ? due->posts_max : 1);
	fg_argv_num(&a, due->bytes_max);
	fg_argv_num(&a, due->month);
	ret = fg_dist_eval(store, &a, list, "digest take", &reply, error_r);
	if (ret < 0)
		return -1;
	if (ret == FG_DIGEST_GO) {
		issue_r->resumed = fg_dist_int(reply, 1) != 0;
		issue_r->volume = fg_dist_int(reply, 2);
		issue_r->issue = fg_dist_int(reply, 3);
		issue_r->date = fg_dist_int(reply, 4);
		fg_digest_str(reply, 5, issue_r->first, sizeof(issue_r->first));
		fg_digest_str(reply, 6, issue_r->last, sizeof(issue_r->last));
		issue_r->posts = fg_dist_int(reply, 7);
		issue_r->size = fg_dist_int(reply, 8);
		issue_r->total = fg_dist_int(reply, 9);
		issue_r->next = fg_dist_int(reply, 10);
		issue_r->sent = fg_dist_int(reply, 11);
		issue_r->refused = fg_dist_int(reply, 12);
		if (*issue_r->first == '\0' || *issue_r->last == '\0') {
			*error_r = fg_errorf("Redis %s: list %s's digest issue "
					     "names no posts", store->address,
					     list);
			ret = -1;
		}
	} else if (ret != FG_DIGEST_LOST && ret != FG_DIGEST_NOT_DUE) {
		*error_r = fg_errorf("Redis %s: unexpected answer %d to the "
				     "digest take of list %s", store->address,
				     ret, list);
		ret = -1;
	}
	freeReplyObject(reply);
	return ret;
}

/* fg_digest_stored_from - one XRANGE entry into a stored post */
static bool fg_digest_stored_from(const redisReply *e,
				  struct fg_digest_stored *post_r)
{
	const redisReply *fields;

	memset(post_r, 0, sizeof(*post_r));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	fields = e->element[1];
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "message_id") == 0 &&
		    post_r->message_id == NULL)
			post_r->message_id = fg_xstrndup(v->str, v->len);
		else if (strcmp(k->str, "message") == 0 &&
			 post_r->message == NULL) {
			post_r->message = fg_xstrndup(v->str, v->len);
			post_r->size = v->len;
		}
	}
	if (post_r->message == NULL) {
		free(post_r->message_id);
		post_r->message_id = NULL;
		return false;
	}
	if (post_r->message_id == NULL)
		post_r->message_id = fg_xstrdup("");
	return true;
}

/* fg_store_digest_posts - see fg-store-digest.h */
int fg_store_digest_posts(struct fg_store *store, const char *list,
			  const struct fg_digest_issue *issue,
			  struct fg_digest_stored **posts_r, size_t *count_r,
			  const char **error_r)
{
	char key[FG_KEY_SIZE];
	struct fg_digest_stored *posts;
	redisReply *reply;
	size_t n = 0;

	*posts_r = NULL;
	*count_r = 0;
	reply = fg_store_cmd(store, error_r, "XRANGE",
			     fg_key(key, FG_KEY_DIGEST, list), issue->first,
			     issue->last, NULL);
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY) {
		*error_r = fg_errorf("Redis %s: unexpected answer to XRANGE "
				     "%s", store->address, key);
		freeReplyObject(reply);
		return -1;
	}
	posts = fg_xcalloc(reply->elements + 1, sizeof(*posts));
	for (size_t i = 0; i < reply->elements; i++) {
		if (fg_digest_stored_from(reply->element[i], &posts[n]))
			n++;
	}
	freeReplyObject(reply);
	*posts_r = posts;
	*count_r = n;
	return 0;
}

/* fg_store_digest_posts_free - see fg-store-digest.h */
void fg_store_digest_posts_free(struct fg_digest_stored *posts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(posts[i].message_id);
		free(posts[i].message);
	}
	free(posts);
}

/* fg_store_digest_recipients - see fg-store-digest.h */
int fg_store_digest_recipients(struct fg_store *store, const char *list,
			       long long start, size_t max, char ***rcpts_r,
			       size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_lrange(store, fg_key(key, FG_KEY_DIGEST_RCPT, list),
			       start, max, rcpts_r, count_r, error_r);
}

/* fg_store_digest_record - see fg-store-digest.h */
int fg_store_digest_record(struct fg_store *store, const char *list,
			   const struct fg_lease *lease, const char *first,
			   long long next, long long sent, long long refused,
			   const char **error_r)
{
	char keys[3][FG_KEY_SIZE];
	struct fg_argv a = { 0 };

	fg_dist_args_begin(&a, fg_script_digest_record, 3, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIGEST_ISSUE, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, first);
	fg_argv_num(&a, next);
	fg_argv_num(&a, sent);
	fg_argv_num(&a, refused);
	return fg_dist_eval(store, &a, list, "digest record", NULL, error_r);
}

/* fg_store_digest_finish - see fg-store-digest.h */
int fg_store_digest_finish(struct fg_store *store, const char *list,
			   const struct fg_lease *lease, const char *first,
			   long long now, const char **error_r)
{
	char keys[6][FG_KEY_SIZE];
	struct fg_argv a = { 0 };

	fg_dist_args_begin(&a, fg_script_digest_finish, 6, list, keys);
	fg_argv_str(&a, fg_key(keys[2], FG_KEY_DIGEST, list));
	fg_argv_str(&a, fg_key(keys[3], FG_KEY_DIGEST_STATE, list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_DIGEST_ISSUE, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_DIGEST_RCPT, list));
	fg_dist_args_lease(&a, lease);
	fg_argv_str(&a, first);
	fg_argv_num(&a, now);
	return fg_dist_eval(store, &a, list, "digest finish", NULL, error_r);
}

/* fg_digest_hash - HGETALL of a key as name=value pairs to fn */
static int fg_digest_hash(struct fg_store *store, const char *key,
			  void (*fn)(void *ctx, const char *name,
				     const char *value),
			  void *ctx, const char **error_r)
{
	redisReply *reply = fg_store_cmd(store, error_r, "HGETALL", key, NULL);

	if (reply == NULL)
		return -1;
	for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY &&
	     i + 1 < reply->elements; i += 2) {
		if (reply->element[i]->type == REDIS_REPLY_STRING &&
		    reply->element[i + 1]->type == REDIS_REPLY_STRING)
			fn(ctx, reply->element[i]->str,
			   reply->element[i + 1]->str);
	}
	freeReplyObject(reply);
	return 0;
}

/* fg_digest_state_field - one field of the state hash */
static void fg_digest_state_field(void *ctx, const char *name,
				  const char *value)
{
	struct fg_digest_status *st = ctx;
	long long n = strtoll(value, NULL, 10);

	if (strcmp(name, "size") == 0)
		st->size = n;
	else if (strcmp(name, "volume") == 0)
		st->volume = n;
	else if (strcmp(name, "issue") == 0)
		st->issue = n;
	else if (strcmp(name, "last_sent") == 0)
		st->last_sent = n;
	else if (strcmp(name, "issues") == 0)
		st->issues = n;
	else if (strcmp(name, "send_now") == 0)
		st->send_now = n != 0;
}

/* fg_digest_issue_field - one field of the issue hash */
static void fg_digest_issue_field(void *ctx, const char *name,
				  const char *value)
{
	struct fg_digest_issue *is = ctx;
	long long n = strtoll(value, NULL, 10);

	if (strcmp(name, "volume") == 0)
		is->volume = n;
	else if (strcmp(name, "issue") == 0)
		is->issue = n;
	else if (strcmp(name, "date") == 0)
		is->date = n;
	else if (strcmp(name, "posts") == 0)
		is->posts = n;
	else if (strcmp(name, "size") == 0)
		is->size = n;
	else if (strcmp(name, "total") == 0)
		is->total = n;
	else if (strcmp(name, "next") == 0)
		is->next = n;
	else if (strcmp(name, "sent") == 0)
		is->sent = n;
	else if (strcmp(name, "refused") == 0)
		is->refused = n;
	else if (strcmp(name, "first") == 0)
		snprintf(is->first, sizeof(is->first), "%s", value);
	else if (strcmp(name, "last") == 0)
		snprintf(is->last, sizeof(is->last), "%s", value);
}

/* fg_store_digest_status - see fg-store-digest.h */
int fg_store_digest_status(struct fg_store *store, const char *list,
			   struct fg_digest_status *status_r,
			   const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	memset(status_r, 0, sizeof(*status_r));
	if (fg_digest_hash(store, fg_key(key, FG_KEY_DIGEST_STATE, list),
			   fg_digest_state_field, status_r, error_r) < 0 ||
	    fg_digest_hash(store, fg_key(key, FG_KEY_DIGEST_ISSUE, list),
			   fg_digest_issue_field, &status_r->current,
			   error_r) < 0)
		return -1;
	status_r->sending = *status_r->current.first != '\0';
	reply = fg_store_cmd(store, error_r, "XLEN",
			     fg_key(key, FG_KEY_DIGEST, list), NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER)
		status_r->posts = reply->integer;
	freeReplyObject(reply);
	return 0;
}

/* fg_store_digest_send_now - see fg-store-digest.h */
int fg_store_digest_send_now(struct fg_store *store, const char *list,
			     const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	reply = fg_store_cmd(store, error_r, "HSET",
			     fg_key(key, FG_KEY_DIGEST_STATE, list),
			     "send_now", "1", NULL);
	if (reply == NULL)
		return -1;
	freeReplyObject(reply);
	return 0;
}
