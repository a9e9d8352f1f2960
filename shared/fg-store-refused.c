/*
 * NAME
 *	fg-store-refused 3 - forum posts the list manager did not
 *	distribute
 * DESCRIPTION
 *	The refusal half of fg-store.h: a capped stream of refusals, a
 *	count per kind, the latest state of each refused post, and the
 *	mark up to which authors were told. The keys are in
 *	doc/redis-schema.md. Each write is one Lua script, so a refusal
 *	is recorded, counted and its post's state set together, in one
 *	round trip, and a refusal is taken for telling its author once
 *	even when several daemons look.
 */
#include "fg-store-private.h"
#include "fg-common.h"
#include "fg-refusal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

/* Record a refusal: KEYS[1] the stream, KEYS[2] the counts, KEYS[3]
   the states, KEYS[4] msgid-post; ARGV[1] the post's state field,
   ARGV[2] the kind, ARGV[3] the stream's cap, ARGV[4] the Message-ID
   ("" none), ARGV[5] the post id ("0" unknown), then the other fields
   as pairs. The new entry's id, or 0 when the post's state is this
   kind already. */
static const char fg_script_refused_add[] =
	"if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then\n"
	"  return 0\n"
	"end\n"
	"local post_id = ARGV[5]\n"
	"if post_id == '0' and ARGV[4] ~= '' then\n"
	"  local ref = redis.call('HGET', KEYS[4], ARGV[4])\n"
	"  if ref then\n"
	"    post_id = string.match(ref, '^%d+:%d+:(%d+)') or '0'\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])\n"
	"redis.call('HINCRBY', KEYS[2], ARGV[2], 1)\n"
	"local f = {'kind', ARGV[2], 'post_id', post_id,\n"
	"           'message_id', ARGV[4]}\n"
	"for i = 6, #ARGV do f[#f + 1] = ARGV[i] end\n"
	"return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',\n"
	"                  unpack(f))\n";

/* A held post came through the list: KEYS[1] the states, KEYS[2] the
   counts, ARGV[1] the post's field. 1 when it was held. */
static const char fg_script_refused_delivered[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'held' then\n"
	"  return 0\n"
	"end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], 'approved')\n"
	"redis.call('HINCRBY', KEYS[2], 'approved', 1)\n"
	"return 1\n";

/* Take the next refusal: KEYS[1] the stream, KEYS[2] the mark,
   KEYS[3] the states. {entry, previous mark, the post's state now} or
   nil. */
static const char fg_script_refused_take[] =
	"local mark = redis.call('GET', KEYS[2])\n"
	"local start = '-'\n"
	"if mark then start = '(' .. mark end\n"
	"local e = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 1)\n"
	"if #e == 0 then return false end\n"
	"redis.call('SET', KEYS[2], e[1][1])\n"
	"local f, v = e[1][2], {}\n"
	"for i = 1, #f, 2 do v[f[i]] = f[i + 1] end\n"
	"local field = 'p' .. (v['post_id'] or '0')\n"
	"if (v['topic_id'] or '0') ~= '0' and (v['post_number'] or '0') ~= '0' then\n"
	"  field = v['topic_id'] .. '.' .. (v['post_number'] or '0')\n"
	"end\n"
	"return {e[1], mark or '', redis.call('HGET', KEYS[3], field) or ''}\n";

/* Put the mark back: KEYS[1] the mark, ARGV[1] where it should be,
   ARGV[2] where it goes back to ("" none). */
static const char fg_script_refused_untake[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	"if ARGV[2] == '' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"else\n"
	"  redis.call('SET', KEYS[1], ARGV[2])\n"
	"end\n"
	"return 1\n";

/* fg_refused_post_field - the post's field in the state hash */
static char *fg_refused_post_field(long long topic_id, long long post_number,
				   long long post_id)
{
	if (topic_id > 0 && post_number > 0)
		return fg_xasprintf("%lld.%lld", topic_id, post_number);
	return fg_xasprintf("p%lld", post_id);
}

int fg_store_refused_add(struct fg_store *store,
			 const struct fg_refusal *r, long long at,
			 char **id_r, const char **error_r)
{
	char k_stream[FG_KEY_SIZE], k_count[FG_KEY_SIZE];
	char k_state[FG_KEY_SIZE], k_map[FG_KEY_SIZE];
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret = -1;

	if (id_r != NULL)
		*id_r = NULL;
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_refused_add);
	fg_argv_str(&a, "4");
	fg_argv_str(&a, fg_key(k_stream, FG_KEY_REFUSED, r->list));
	fg_argv_str(&a, fg_key(k_count, FG_KEY_REFUSED_COUNT, r->list));
	fg_argv_str(&a, fg_key(k_state, FG_KEY_REFUSED_STATE, r->list));
	fg_argv_str(&a, fg_key(k_map, FG_KEY_MSGID_POST, r->list));
	fg_argv_own(&a, fg_refused_post_field(r->topic_id, r->post_number,
					      r->post_id));
	fg_argv_str(&a, fg_refusal_kind_name(r->kind));
	fg_argv_num(&a, FG_REFUSED_MAX);
	fg_argv_str(&a, r->message_id);
	fg_argv_num(&a, r->post_id);
	fg_argv_str(&a, "topic_id");
	fg_argv_num(&a, r->topic_id);
	fg_argv_str(&a, "post_number");
	fg_argv_num(&a, r->post_number);
	fg_argv_str(&a, "subject");
	fg_argv_str(&a, r->subject);
	fg_argv_str(&a, "reason");
	fg_argv_str(&a, r->reason);
	fg_argv_str(&a, "from");
	fg_argv_str(&a, r->notice_from);
	fg_argv_str(&a, "at");
	fg_argv_num(&a, at);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_STRING) {
		if (id_r != NULL)
			*id_r = fg_xstrndup(reply->str, reply->len);
		ret = 1;
	} else if (reply->type == REDIS_REPLY_INTEGER) {
		ret = 0;
	} else {
		*error_r = fg_errorf("Redis %s: unexpected answer when "
				     "recording a refusal of list %s",
				     store->address, r->list);
	}
	freeReplyObject(reply);
	return ret;
}

int fg_store_refused_delivered(struct fg_store *store, const char *list,
			       long long topic_id, long long post_number,
			       long long post_id, const char **error_r)
{
	char k_state[FG_KEY_SIZE], k_count[FG_KEY_SIZE];
	char *field = fg_refused_post_field(topic_id, post_number, post_id);
	int ret;

	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "EVAL",
				       fg_script_refused_delivered, "2",
				       fg_key(k_state, FG_KEY_REFUSED_STATE,
					      list),
				       fg_key(k_count, FG_KEY_REFUSED_COUNT,
					      list),
				       field, NULL));
	free(field);
	return ret;
}

int fg_store_refused_counts(struct fg_store *store, const char *list,
			    char ***kinds_r, char ***counts_r,
			    size_t *count_r, long long *held_now_r,
			    const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	*held_now_r = 0;
	reply = fg_store_cmd(store, error_r, "HVALS",
			     fg_key(key, FG_KEY_REFUSED_STATE, list), NULL);
	if (reply == NULL)
		return -1;
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *v = reply->element[i];
		if (v->type == REDIS_REPLY_STRING && v->len == 4 &&
		    memcmp(v->str, "held", 4) == 0)
			(*held_now_r)++;
	}
	freeReplyObject(reply);
	reply = fg_store_cmd(store, error_r, "HGETALL",
			     fg_key(key, FG_KEY_REFUSED_COUNT, list), NULL);
	if (reply == NULL)
		return -1;
	fg_store_hash_sorted(reply, kinds_r, counts_r, count_r);
	return 0;
}

/* fg_store_stream_newest - see fg-store-private.h */
int fg_store_stream_newest(struct fg_store *store, const char *key,
			   size_t max, struct fg_entry ***entries_r,
			   size_t *count_r, const char **error_r)
{
	char count[32];
	redisReply *reply;

	*entries_r = NULL;
	*count_r = 0;
	snprintf(count, sizeof(count), "%zu", max == 0 ? 1 : max);
	reply = fg_store_cmd(store, error_r, "XREVRANGE", key, "+", "-",
			     "COUNT", count, NULL);
	if (reply == NULL)
		return -1;
	fg_entries_of_reply(reply, entries_r, count_r);
	return 0;
}

int fg_store_refused_list(struct fg_store *store, const char *list,
			  size_t max, struct fg_entry ***entries_r,
			  size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_stream_newest(store, fg_key(key, FG_KEY_REFUSED, list),
				      max, entries_r, count_r, error_r);
}

int fg_store_refused_take(struct fg_store *store, const char *list,
			  struct fg_entry **entry_r, char **previous_r,
			  char **state_r, const char **error_r)
{
	char k_stream[FG_KEY_SIZE], k_mark[FG_KEY_SIZE], k_state[FG_KEY_SIZE];
	redisReply *reply;
	int ret = 0;

	*entry_r = NULL;
	*previous_r = NULL;
	*state_r = NULL;
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_refused_take,
			     "3", fg_key(k_stream, FG_KEY_REFUSED, list),
			     fg_key(k_mark, FG_KEY_REFUSED_NOTIFIED, list),
			     fg_key(k_state, FG_KEY_REFUSED_STATE, list),
			     NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    reply->element[2]->type == REDIS_REPLY_STRING) {
		*entry_r = fg_entry_parse(reply->element[0]);
		if (*entry_r != NULL) {
			*previous_r = fg_xstrndup(reply->element[1]->str,
						  reply->element[1]->len);
			*state_r = fg_xstrndup(reply->element[2]->str,
					       reply->element[2]->len);
			ret = 1;
		}
	}
	freeReplyObject(reply);
	return ret;
}

int fg_store_refused_untake(struct fg_store *store, const char *list,
			    const char *id, const char *previous,
			    const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_cmd_ok(fg_store_cmd(store, error_r, "EVAL",
				      fg_script_refused_untake, "1",
				      fg_key(key, FG_KEY_REFUSED_NOTIFIED,
					     list),
				      id, previous, NULL));
}
