/*
 * NAME
 *	fg-store-maps 3 - what the bridge remembers of mail and posts
 * DESCRIPTION
 *	The map half of fg-store.h: the Message-ID <-> post maps, the
 *	topics by subject, the mark of a post that may exist, the
 *	fingerprints of posts the bridge asked for, and the counters of
 *	mail not posted. The keys are in doc/redis-schema.md.
 *
 *	The two Message-ID maps of a post are set in one MULTI/EXEC,
 *	pipelined into one round trip. post-msgid has two fields per
 *	post: its id (what a post is looked up by: NodeBB's numbers move)
 *	and its place "TOPIC:POST_NUMBER" (a Discourse reply names its
 *	parent by number only). Releases before the id field wrote only
 *	the place: a lookup by id that misses takes the place's entry
 *	when msgid-post says it is the same post id, and adds the id
 *	field then (in the lookup's script), so old maps are upgraded as
 *	they are used. The subject index is one hash per
 *	day, like the seen hashes of the queues (see fg-store-queue.c),
 *	and looked up through every bucket of the window in one script.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

/* Remove a posting mark if it names the entry: KEYS[1] the mark,
   ARGV[1] the entry id */
static const char fg_script_posting_end[] =
	"if redis.call('HGET', KEYS[1], 'entry') == ARGV[1] then\n"
	"  return redis.call('DEL', KEYS[1])\n"
	"end\n"
	"return 0\n";

/* Look up a post: KEYS[1] post-msgid, KEYS[2] msgid-post, ARGV[1] the
   post id field ("" not known), ARGV[2] the "topic:post" field ("" not
   known). By id when it is known: a place field (all that releases
   before the id field wrote) counts only when msgid-post names the
   same post id, and then gets its id field. Returns {message-id, ref}
   or nil. */
static const char fg_script_lookup_post[] =
	"local id = false\n"
	"if ARGV[1] == '' then\n"
	"  if ARGV[2] ~= '' then id = redis.call('HGET', KEYS[1], ARGV[2]) end\n"
	"else\n"
	"  id = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"  if not id and ARGV[2] ~= '' then\n"
	"    local old = redis.call('HGET', KEYS[1], ARGV[2])\n"
	"    local ref = old and redis.call('HGET', KEYS[2], old)\n"
	"    if ref and string.match(ref, '^%d+:%d+:(%d+)') == ARGV[1] then\n"
	"      redis.call('HSET', KEYS[1], ARGV[1], old)\n"
	"      id = old\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if not id then return false end\n"
	"return {id, redis.call('HGET', KEYS[2], id) or ''}\n";

char *fg_post_ref_value(const struct fg_post_ref *ref)
{
	return fg_xasprintf("%lld:%lld:%lld:%lld:%lld", ref->topic_id,
			    ref->post_number, ref->post_id,
			    ref->parent_post_number, ref->parent_post_id);
}

char *fg_post_place_field(const struct fg_post_ref *ref)
{
	return fg_xasprintf("%lld:%lld", ref->topic_id, ref->post_number);
}

/* ---- Message-ID <-> post maps ---- */

int fg_store_map_post(struct fg_store *store, const char *list,
		      const char *message_id, const struct fg_post_ref *ref,
		      const char *text_sketch, const char **error_r)
{
	char k_msgid[FG_KEY_SIZE], k_post[FG_KEY_SIZE], id_field[32], ttl[32];
	char *place = fg_post_place_field(ref), *value = fg_post_ref_value(ref);
	char *k_text = fg_text_key(list, message_id);
	const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
	const char *set1[] = { "HSET", k_msgid, message_id, value };
	const char *set2[] = { "HSET", k_post, place, message_id,
			       id_field, message_id };
	const char *set3[] = { "SET", k_text, text_sketch, "PX", ttl };
	size_t l0[1], l1[4], l2[6], l3[5], l4[1];
	bool text = text_sketch != NULL && *text_sketch != '\0';
	/* a post without an id (forum-side code may queue one) is known
	   by its place only */
	int n_set2 = ref->post_id > 0 ? 6 : 4;
	int ret;

	fg_key(k_msgid, FG_KEY_MSGID_POST, list);
	fg_key(k_post, FG_KEY_POST_MSGID, list);
	snprintf(id_field, sizeof(id_field), "%lld", ref->post_id);
	snprintf(ttl, sizeof(ttl), "%lld", store->seen_ms);

	/* the sketch, when there is one, goes in before EXEC */
	int argcs[] = { 1, 4, n_set2, text ? 5 : 1, 1 };
	const char **argvs[] = { multi, set1, set2, text ? set3 : exec, exec };
	size_t *lenss[] = { fg_strlens(l0, multi, 1), fg_strlens(l1, set1, 4),
			    fg_strlens(l2, set2, n_set2),
			    text ? fg_strlens(l3, set3, 5) :
			    fg_strlens(l4, exec, 1),
			    fg_strlens(l4, exec, 1) };
	ret = fg_store_pipeline(store, text ? 5 : 4, argcs, argvs, lenss,
				error_r);
	free(k_text);
	free(place);
	free(value);
	return ret;
}

int fg_store_text_get(struct fg_store *store, const char *list,
		      const char *message_id, char **sketch_r,
		      const char **error_r)
{
	char *key = fg_text_key(list, message_id);
	int ret = fg_store_get_string(store, key, sketch_r, error_r);

	free(key);
	return ret;
}

/* fg_post_ref_parse - "topic:post:id:parent:parent_id"; releases
   before the parent's id wrote the first four */
static int fg_post_ref_parse(const char *s, struct fg_post_ref *ref_r)
{
	int n;

	memset(ref_r, 0, sizeof(*ref_r));
	n = sscanf(s, "%lld:%lld:%lld:%lld:%lld", &ref_r->topic_id,
		   &ref_r->post_number, &ref_r->post_id,
		   &ref_r->parent_post_number, &ref_r->parent_post_id);
	if (n == 4)
		ref_r->parent_post_id = 0;
	return n == 4 || n == 5 ? 0 : -1;
}

int fg_store_lookup_msgid(struct fg_store *store, const char *list,
			  const char *message_id, struct fg_post_ref *ref_r,
			  const char **error_r)
{
	char key[FG_KEY_SIZE], *value;
	int ret;

	ret = fg_store_hget_string(store, fg_key(key, FG_KEY_MSGID_POST, list),
				   message_id, &value, error_r);
	if (ret <= 0)
		return ret;
	if (fg_post_ref_parse(value, ref_r) < 0) {
		*error_r = fg_errorf("%s: malformed value '%s' for %s", key,
				     value, message_id);
		ret = -1;
	}
	free(value);
	return ret;
}

int fg_store_lookup_post(struct fg_store *store, const char *list,
			 long long topic_id, long long post_number,
			 long long post_id, char **message_id_r,
			 struct fg_post_ref *ref_r, const char **error_r)
{
	char k_post[FG_KEY_SIZE], k_msgid[FG_KEY_SIZE];
	char id_field[32] = "", place[64] = "";
	redisReply *reply;
	int ret = 0;

	*message_id_r = NULL;
	if (post_id > 0)
		snprintf(id_field, sizeof(id_field), "%lld", post_id);
	if (topic_id > 0 && post_number > 0)
		snprintf(place, sizeof(place), "%lld:%lld", topic_id,
			 post_number);
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_lookup_post, "2",
			     fg_key(k_post, FG_KEY_POST_MSGID, list),
			     fg_key(k_msgid, FG_KEY_MSGID_POST, list), id_field,
			     place, NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING) {
		if (fg_post_ref_parse(reply->element[1]->str != NULL ?
				      reply->element[1]->str : "",
				      ref_r) < 0) {
			/* Only the forward map exists: still a known post. */
			memset(ref_r, 0, sizeof(*ref_r));
			ref_r->topic_id = topic_id;
			ref_r->post_number = post_number;
			ref_r->post_id = post_id;
		}
		*message_id_r = fg_xstrndup(reply->element[0]->str,
					    reply->element[0]->len);
		ret = 1;
	}
	freeReplyObject(reply);
	return ret;
}

/* Add post id fields: KEYS[1] post-msgid; ARGV pairs of a Message-ID
   and its msgid-post value. The number of fields added. */
static const char fg_script_maps_upgrade[] =
	"local added = 0\n"
	"for i = 1, #ARGV, 2 do\n"
	"  local id = string.match(ARGV[i + 1], '^%d+:%d+:(%d+)')\n"
	"  if id and id ~= '0' then\n"
	"    added = added + redis.call('HSETNX', KEYS[1], id, ARGV[i])\n"
	"  end\n"
	"end\n"
	"return added\n";

/* fg_store_maps_upgrade_batch - one HSCAN answer's pairs into the
   script; *added_r grows by what it added */
static int fg_store_maps_upgrade_batch(struct fg_store *store,
				       const char *k_post,
				       const redisReply *pairs,
				       long long *added_r,
				       const char **error_r)
{
	struct fg_argv a = { 0 };
	redisReply *reply;

	if (pairs->elements < 2)
		return 0;
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_maps_upgrade);
	fg_argv_str(&a, "1");
	fg_argv_str(&a, k_post);
	for (size_t i = 0; i + 1 < pairs->elements; i += 2)
		for (size_t j = i; j < i + 2; j++)
			fg_argv_add(&a, pairs->element[j]->str,
				    pairs->element[j]->len);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER)
		*added_r += reply->integer;
	freeReplyObject(reply);
	return 0;
}

int fg_store_maps_upgrade(struct fg_store *store, const char *list,
			  long long *added_r, const char **error_r)
{
	char k_version[FG_KEY_SIZE], k_post[FG_KEY_SIZE], k_msgid[FG_KEY_SIZE];
	char *cursor = fg_xstrdup("0"), *version = NULL, number[16];
	redisReply *reply;
	int ret;

	*added_r = 0;
	fg_key(k_version, FG_KEY_MAPS_VERSION, list);
	fg_key(k_post, FG_KEY_POST_MSGID, list);
	fg_key(k_msgid, FG_KEY_MSGID_POST, list);
	reply = fg_store_cmd(store, error_r, "GET", k_version, NULL);
	if (reply == NULL) {
		free(cursor);
		return -1;
	}
	if (reply->type == REDIS_REPLY_STRING)
		version = fg_xstrndup(reply->str, reply->len);
	freeReplyObject(reply);
	ret = version != NULL && atoi(version) >= FG_MAPS_VERSION;
	free(version);
	if (ret) {
		free(cursor);
		return 0;
	}
	do {
		reply = fg_store_cmd(store, error_r, "HSCAN", k_msgid, cursor,
				     "COUNT", "500", NULL);
		if (reply == NULL) {
			free(cursor);
			return -1;
		}
		if (!fg_scan_reply_valid(reply)) {
			*error_r = fg_errorf("Redis %s: unexpected answer to "
					     "HSCAN %s", store->address,
					     k_msgid);
			freeReplyObject(reply);
			free(cursor);
			return -1;
		}
		free(cursor);
		cursor = fg_xstrndup(reply->element[0]->str,
				     reply->element[0]->len);
		ret = fg_store_maps_upgrade_batch(store, k_post,
						  reply->element[1], added_r,
						  error_r);
		freeReplyObject(reply);
		if (ret < 0) {
			free(cursor);
			return -1;
		}
	} while (strcmp(cursor, "0") != 0);
	free(cursor);
	snprintf(number, sizeof(number), "%d", FG_MAPS_VERSION);
	return fg_cmd_ok(fg_store_cmd(store, error_r, "SET", k_version, number,
				      NULL));
}

/* ---- messages not posted ---- */

int fg_store_not_posted_add(struct fg_store *store, const char *list,
			    const char *reason, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_cmd_ok(fg_store_cmd(store, error_r, "HINCRBY",
				      fg_key(key, FG_KEY_NOT_POSTED, list),
				      reason, "1", NULL));
}

int fg_store_not_posted(struct fg_store *store, const char *list,
			char ***reasons_r, char ***counts_r, size_t *count_r,
			const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply = fg_store_cmd(store, error_r, "HGETALL",
					 fg_key(key, FG_KEY_NOT_POSTED, list),
					 NULL);

	if (reply == NULL)
		return -1;
	fg_store_hash_sorted(reply, reasons_r, counts_r, count_r);
	return 0;
}

/* ---- topics by subject ---- */

/* Remember a subject: KEYS[1] today's bucket, KEYS[2] the index of
   releases before retention; ARGV[1] the field, ARGV[2] the value,
   ARGV[3] the bucket's time to live, ARGV[4] the retention (ms). */
static const char fg_script_subject_set[] =
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
	"if redis.call('PTTL', KEYS[2]) == -1 then\n"
	"  redis.call('PEXPIRE', KEYS[2], ARGV[4])\n"
	"end\n"
	"return 1\n";

/* Look a subject up: KEYS the buckets newest first, then the index of
   releases before retention; ARGV[1] the field. The newest value. */
static const char fg_script_subject_get[] =
	"for i = 1, #KEYS do\n"
	"  local v = redis.call('HGET', KEYS[i], ARGV[1])\n"
	"  if v then return v end\n"
	"end\n"
	"return false\n";

/* fg_subject_field - subjects match case-insensitively */
static char *fg_subject_field(const char *title)
{
	return fg_str_lower(fg_str_trim(fg_xstrdup(title)));
}

int fg_store_subject_set(struct fg_store *store, const char *list,
			 const char *title, const struct fg_post_ref *ref,
			 long long when, const char **error_r)
{
	char key[FG_KEY_SIZE], value[96], ttl[32], retention[32];
	char *field = fg_subject_field(title);
	long long now = fg_store_now_ms(store);
	int ret;

	snprintf(value, sizeof(value), "%lld:%lld:%lld", ref->topic_id,
		 ref->post_id, when);
	snprintf(ttl, sizeof(ttl), "%lld",
		 fg_bucket_ttl_ms(now, store->subject_ms));
	snprintf(retention, sizeof(retention), "%lld", store->subject_ms);
	fg_key(key, FG_KEY_SUBJECT_TOPIC, list);
	char *bucket = fg_xasprintf("%s:%lld", key, now / FG_STORE_DAY_MS);
	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "EVAL",
				     fg_script_subject_set,
				     "2", bucket, key, field, value, ttl, retention,
				     NULL));
	free(bucket);
	free(field);
	return ret;
}

int fg_store_subject_get(struct fg_store *store, const char *list,
			 const char *title, long long since,
			 struct fg_post_ref *ref_r, const char **error_r)
{
	char key[FG_KEY_SIZE], *value, *field = fg_subject_field(title);
	long long topic, post, when, today;
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret, numkeys_at;

	memset(ref_r, 0, sizeof(*ref_r));
	if (*field == '\0') {
		free(field);
		return 0;
	}
	today = fg_store_now_ms(store) / FG_STORE_DAY_MS;
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_subject_get);
	numkeys_at = a.argc;
	fg_argv_str(&a, "");
	fg_argv_day_keys(&a, fg_key(key, FG_KEY_SUBJECT_TOPIC, list), today,
			 since > 0 ? since / 86400 : 0);
	fg_argv_str(&a, key);
	fg_argv_set_numkeys(&a, numkeys_at);
	fg_argv_own(&a, field);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	value = reply->type == REDIS_REPLY_STRING ?
		fg_xstrndup(reply->str, reply->len) : NULL;
	freeReplyObject(reply);
	if (value == NULL)
		return 0;
	ret = sscanf(value, "%lld:%lld:%lld", &topic, &post, &when) == 3 &&
		topic > 0 && when >= since;
	free(value);
	if (ret) {
		ref_r->topic_id = topic;
		ref_r->post_id = post;
		ref_r->post_number = 1;
	}
	return ret;
}

/* ---- a post that may exist ---- */

int fg_store_posting_begin(struct fg_store *store, const char *list,
			   const char *entry_id, const char *consumer,
			   const char **error_r)
{
	char key[FG_KEY_SIZE], at[32];

	snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
	return fg_cmd_ok(fg_store_cmd(store, error_r, "HSET",
				      fg_key(key, FG_KEY_POSTING, list),
				      "entry",
				      entry_id, "consumer", consumer, "at", at,
				      NULL));
}

int fg_store_posting_is(struct fg_store *store, const char *list,
			const char *entry_id, const char **error_r)
{
	char key[FG_KEY_SIZE], *value;
	int ret;

	ret = fg_store_hget_string(store, fg_key(key, FG_KEY_POSTING, list),
				   "entry", &value, error_r);
	if (ret <= 0)
		return ret;
	ret = strcmp(value, entry_id) == 0;
	free(value);
	return ret;
}

int fg_store_posting_end(struct fg_store *store, const char *list,
			 const char *entry_id, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_cmd_ok(fg_store_cmd(store, error_r, "EVAL",
				      fg_script_posting_end,
				      "1", fg_key(key, FG_KEY_POSTING, list),
				      entry_id, NULL));
}

/* ---- posts the bridge asked for ---- */

/* fg_ours_key - the key of a fingerprint */
static char *fg_ours_key(const char *list, const char *fingerprint)
{
	char prefix[FG_KEY_SIZE];

	return fg_xasprintf("%s%s", fg_key(prefix, FG_KEY_OURS, list),
			    fingerprint);
}

int fg_store_ours_add(struct fg_store *store, const char *list,
		      const char *fingerprint, const char **error_r)
{
	char *key = fg_ours_key(list, fingerprint), ttl[32];
	int ret;

	snprintf(ttl, sizeof(ttl), "%lld", FG_OURS_TTL_MS);
	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "SET", key, "1", "PX", ttl,
				     NULL));
	free(key);
	return ret;
}

int fg_store_ours_is(struct fg_store *store, const char *list,
		     const char *fingerprint, const char **error_r)
{
	char *key = fg_ours_key(list, fingerprint);
	int ret = fg_cmd_flag(fg_store_cmd(store, error_r, "EXISTS", key,
					   NULL));

	free(key);
	return ret;
}
