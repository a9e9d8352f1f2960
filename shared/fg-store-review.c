/*
 * NAME
 *	fg-store-review 3 - list mail in the forum's review queue, and
 *	the list each topic belongs to
 * DESCRIPTION
 *	The review half of fg-store.h. A post the forum put into its
 *	review queue (NodeBB's post queue, Discourse's queued posts) is
 *	one field of FG_KEY_REVIEW under the forum's own id for it; the
 *	value holds the fields of struct fg_review separated by tabs
 *	(tabs and line ends in them are made spaces), the title last.
 *	It ends approved, rejected or expired in one Lua script that
 *	removes it, counts the outcome and logs it in a capped stream
 *	for `forumgate status`.
 *
 *	FG_KEY_TOPICS maps a topic to its list: a global hash, set
 *	with HSETNX, so the list that had the topic first keeps it.
 *	The keys are in doc/redis-schema.md.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

/* End a post in review: KEYS[1] the review hash, KEYS[2] the counts,
   KEYS[3] the log; ARGV[1] the id, ARGV[2] the outcome, ARGV[3] now
   (unix ms), ARGV[4] the log's cap. Returns 1 ended, 0 not there. */
static const char fg_script_review_end[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not v then return 0 end\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"redis.call('HINCRBY', KEYS[2], ARGV[2], 1)\n"
	"local f = {}\n"
	"for s in string.gmatch(v .. '\\t', '([^\\t]*)\\t') do\n"
	"  f[#f + 1] = s\n"
	"end\n"
	"redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',\n"
	"  'outcome', ARGV[2], 'held_id', ARGV[1],\n"
	"  'message_id', f[5] or '', 'topic_id', f[2] or '0',\n"
	"  'title', f[6] or '', 'queued_at', f[1] or '0', 'at', ARGV[3])\n"
	"return 1\n";

/* review_clean - a field without tabs and line ends (caller frees) */
static char *review_clean(const char *s)
{
	char *c = fg_xstrdup(s != NULL ? s : "");

	for (char *p = c; *p != '\0'; p++) {
		if (*p == '\t' || *p == '\r' || *p == '\n')
			*p = ' ';
	}
	return c;
}

int fg_store_review_add(struct fg_store *store, const char *list,
			const struct fg_review *review, const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *author = review_clean(review->author);
	char *title = review_clean(review->title);
	char *msgid = review_clean(review->message_id);
	char *value = fg_xasprintf("%lld\t%lld\t%s\t%s\t%s\t%s", review->at,
				   review->topic_id, author,
				   review->fingerprint != NULL ?
				   review->fingerprint : "", msgid, title);
	int ret;

	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HSET",
				     fg_key(key, FG_KEY_REVIEW, list),
				     review->held_id, value, NULL));
	free(value);
	free(author);
	free(title);
	free(msgid);
	return ret;
}

/* review_parse - one field and value of the hash into *r; false when
   the value is not ours */
static bool review_parse(const redisReply *field, const redisReply *value,
			 struct fg_review *r)
{
	char *v, *f[6], *p;
	size_t n = 0;

	if (field->type != REDIS_REPLY_STRING ||
	    value->type != REDIS_REPLY_STRING)
		return false;
	v = fg_xstrndup(value->str, value->len);
	for (p = v; n < 5; n++) {
		f[n] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n < 5) {
		free(v);
		return false;
	}
	f[5] = p;
	memset(r, 0, sizeof(*r));
	r->held_id = fg_xstrndup(field->str, field->len);
	r->at = strtoll(f[0], NULL, 10);
	r->topic_id = strtoll(f[1], NULL, 10);
	r->author = fg_xstrdup(f[2]);
	r->fingerprint = fg_xstrdup(f[3]);
	r->message_id = fg_xstrdup(f[4]);
	r->title = fg_xstrdup(f[5]);
	free(v);
	return true;
}

/* review_cmp - oldest first */
static int review_cmp(const void *a, const void *b)
{
	const struct fg_review *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

int fg_store_review_all(struct fg_store *store, const char *list,
			struct fg_review **reviews_r, size_t *count_r,
			const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;
	struct fg_review *r;
	size_t n = 0;

	*reviews_r = NULL;
	*count_r = 0;
	reply = fg_store_cmd(store, error_r, "HGETALL",
			     fg_key(key, FG_KEY_REVIEW, list), NULL);
	if (reply == NULL)
		return -1;
	r = fg_xcalloc(reply->elements / 2 + 1, sizeof(*r));
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		if (review_parse(reply->element[i], reply->element[i + 1],
				 &r[n]))
			n++;
	}
	freeReplyObject(reply);
	qsort(r, n, sizeof(*r), review_cmp);
	*reviews_r = r;
	*count_r = n;
	return 0;
}

int fg_store_review_end(struct fg_store *store, const char *list,
			const char *held_id, const char *outcome,
			const char **error_r)
{
	char k_review[FG_KEY_SIZE], k_count[FG_KEY_SIZE], k_log[FG_KEY_SIZE];
	char now[32], cap[32];

	snprintf(now, sizeof(now), "%lld", fg_store_now_ms(store));
	snprintf(cap, sizeof(cap), "%d", FG_REVIEW_LOG_MAX);
	return fg_cmd_flag(fg_store_cmd(store, error_r, "EVAL",
					fg_script_review_end, "3",
					fg_key(k_review, FG_KEY_REVIEW, list),
					fg_key(k_count, FG_KEY_REVIEW_COUNT,
					       list),
					fg_key(k_log, FG_KEY_REVIEW_LOG, list),
					held_id, outcome, now, cap, NULL));
}

int fg_store_review_counts(struct fg_store *store, const char *list,
			   long long *waiting_r, char ***outcomes_r,
			   char ***counts_r, size_t *count_r,
			   const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	*waiting_r = 0;
	reply = fg_store_cmd(store, error_r, "HLEN",
			     fg_key(key, FG_KEY_REVIEW, list), NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER)
		*waiting_r = reply->integer;
	freeReplyObject(reply);
	reply = fg_store_cmd(store, error_r, "HGETALL",
			     fg_key(key, FG_KEY_REVIEW_COUNT, list), NULL);
	if (reply == NULL)
		return -1;
	fg_store_hash_sorted(reply, outcomes_r, counts_r, count_r);
	return 0;
}

int fg_store_review_log(struct fg_store *store, const char *list,
			size_t max, struct fg_entry ***entries_r,
			size_t *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_stream_newest(store,
				      fg_key(key, FG_KEY_REVIEW_LOG, list),
				      max, entries_r, count_r, error_r);
}

void fg_reviews_free(struct fg_review *reviews, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(reviews[i].held_id);
		free(reviews[i].author);
		free(reviews[i].fingerprint);
		free(reviews[i].message_id);
		free(reviews[i].title);
	}
	free(reviews);
}

/* ---- the list of a topic ---- */

int fg_store_topic_set(struct fg_store *store, long long topic_id,
		       const char *list, const char **error_r)
{
	char field[32];

	snprintf(field, sizeof(field), "%lld", topic_id);
	return fg_cmd_ok(fg_store_cmd(store, error_r, "HSETNX", FG_KEY_TOPICS,
				      field, list, NULL));
}

int fg_store_list_by_topic(struct fg_store *store, long long topic_id,
			   char **name_r, const char **error_r)
{
	char field[32];

	*name_r = NULL;
	if (topic_id <= 0)
		return 0;
	snprintf(field, sizeof(field), "%lld", topic_id);
	return fg_store_hget_string(store, FG_KEY_TOPICS, field, name_r,
				    error_r);
}

/* Enter topics of one list: KEYS[1] fg:topics, ARGV[1] the list,
   ARGV[2..] topic ids. Returns how many were new. */
static const char fg_script_topics_fill[] =
	"local n = 0\n"
	"for i = 2, #ARGV do\n"
	"  n = n + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])\n"
	"end\n"
	"return n\n";

/* topics_fill_batch - the topics of one HSCAN page of msgid-post
   (values TOPIC:...) into fg:topics; -1 on error */
static long long topics_fill_batch(struct fg_store *store, const char *list,
				   const redisReply *pairs,
				   const char **error_r)
{
	struct fg_argv a = { 0 };
	redisReply *reply;
	long long n = 0;

	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_topics_fill);
	fg_argv_str(&a, "1");
	fg_argv_str(&a, FG_KEY_TOPICS);
	fg_argv_str(&a, list);
	for (size_t i = 1; i < pairs->elements; i += 2) {
		const redisReply *v = pairs->element[i];
		long long topic;

		if (v->type != REDIS_REPLY_STRING)
			continue;
		topic = strtoll(v->str, NULL, 10);
		if (topic > 0)
			fg_argv_num(&a, topic);
	}
	if (a.argc > 5) {
		reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
		if (reply == NULL)
			n = -1;
		else {
			n = reply->type == REDIS_REPLY_INTEGER ?
				reply->integer : 0;
			freeReplyObject(reply);
		}
	}
	fg_argv_free(&a);
	return n;
}

int fg_store_topics_fill(struct fg_store *store, const char *list,
			 long long *added_r, const char **error_r)
{
	char k_done[FG_KEY_SIZE], k_map[FG_KEY_SIZE], *cursor;
	redisReply *reply;
	int ret;

	*added_r = 0;
	fg_key(k_done, FG_KEY_TOPICS_FILLED, list);
	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "EXISTS", k_done,
				       NULL));
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	fg_key(k_map, FG_KEY_MSGID_POST, list);
	cursor = fg_xstrdup("0");
	do {
		long long n;

		reply = fg_store_cmd(store, error_r, "HSCAN", k_map, cursor,
				     "COUNT", "1000", NULL);
		free(cursor);
		cursor = NULL;
		if (reply == NULL)
			return -1;
		if (!fg_scan_reply_valid(reply)) {
			freeReplyObject(reply);
			*error_r = "HSCAN answered something else";
			return -1;
		}
		cursor = fg_xstrndup(reply->element[0]->str,
				     reply->element[0]->len);
		n = topics_fill_batch(store, list, reply->element[1], error_r);
		freeReplyObject(reply);
		if (n < 0) {
			free(cursor);
			return -1;
		}
		*added_r += n;
	} while (strcmp(cursor, "0") != 0);
	free(cursor);
	if (fg_cmd_ok(fg_store_cmd(store, error_r, "SET", k_done, "1",
				   NULL)) < 0)
		return -1;
	return 1;
}
