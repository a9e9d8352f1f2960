/*
 * NAME
 *	fg-store-queue 3 - the inbound and outbound queues in Redis
 * DESCRIPTION
 *	The queue half of fg-store.h: records and posts queued once,
 *	reading with a consumer group, leases and fencing tokens,
 *	finishing entries (acknowledged, posted, parked as a waiting
 *	reply or buried as a dead letter), dead letters and their replay,
 *	and the queue lengths. The keys are in doc/redis-schema.md.
 *
 *	Atomicity: the queue-once operations are Lua scripts (check the
 *	"seen" hash and XADD in one step), as is finishing an entry under
 *	its lease. All keys of such a step share the list's hash tag.
 *
 *	Retention: Redis 7.0 has no expiry of hash fields, so the seen
 *	hashes are one hash per day (the unix day ends the key name); a
 *	bucket expires as a whole, retention after the end of its day.
 *	The scripts are given every bucket of the window as a key, so
 *	they stay valid on Redis Cluster.
 */
#include "fg-store-private.h"
#include "fg-common.h"
#include "fg-attach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

/* Entries pending on a consumer that has been silent this long are
   taken over (a crashed daemon's work). */
#define FG_RECLAIM_IDLE_MS 60000

/* Queue a record once: KEYS[1] the stream, KEYS[2] today's seen hash,
   KEYS[3..n-1] the older seen hashes of the window, KEYS[n] the seen
   hash of releases before retention (given no expiry yet, it gets the
   retention: it is read until then and then gone). ARGV[1] today's
   hash's time to live (ms), ARGV[2] the retention (ms), ARGV[3] the
   dedupe field, ARGV[4..] the entry's field/value pairs. */
static const char fg_script_queue_once[] =
	"if redis.call('PTTL', KEYS[#KEYS]) == -1 then\n"
	"  redis.call('PEXPIRE', KEYS[#KEYS], ARGV[2])\n"
	"end\n"
	"for i = 2, #KEYS do\n"
	"  if redis.call('HEXISTS', KEYS[i], ARGV[3]) == 1 then return 0 end\n"
	"end\n"
	"local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))\n"
	"redis.call('HSET', KEYS[2], ARGV[3], id)\n"
	"redis.call('PEXPIRE', KEYS[2], ARGV[1])\n"
	"return 1\n";

/* Hold a queue's lease: KEYS[1] the lease, KEYS[2] the stream, KEYS[3]
   the fencing token; ARGV[1] consumer, ARGV[2] ttl ms, ARGV[3] group,
   ARGV[4] the token held ("0": none). Returns {1, token} renewed,
   {2, token} taken (a new token; other consumers' pending entries
   claimed), {0, holder}. The same consumer name without the current
   token (a restarted daemon) takes the lease anew: a process that still
   runs with the old token can no longer finish entries. */
static const char fg_script_lease[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == ARGV[1] and ARGV[4] ~= '0' and\n"
	"   redis.call('GET', KEYS[3]) == ARGV[4] then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"  return {1, tonumber(ARGV[4])}\n"
	"end\n"
	"if cur and cur ~= ARGV[1] then return {0, cur} end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"local token = redis.call('INCR', KEYS[3])\n"
	"local cursor = '0-0'\n"
	"repeat\n"
	"  local r = redis.pcall('XAUTOCLAIM', KEYS[2], ARGV[3], ARGV[1], 0,\n"
	"                       cursor, 'COUNT', 1000, 'JUSTID')\n"
	"  if r['err'] then break end\n"
	"  cursor = r[1]\n"
	"until cursor == '0-0'\n"
	"return {2, token}\n";

/* Finish an entry if the lease is held: KEYS[1] the lease, KEYS[2] the
   fencing token, KEYS[3] the stream, KEYS[4] the posting mark, KEYS[5]
   msgid-post, KEYS[6] post-msgid, KEYS[7] the dead-letter stream,
   KEYS[8] the waiting replies, KEYS[9] the replayed dead letters beside
   the queue, KEYS[10] the text sketch of the post's Message-ID;
   ARGV[1] the consumer ("" for no lease check), ARGV[2] its
   token, ARGV[3] the group ("": none), ARGV[4] the entry id, ARGV[5]
   what: "ack", "posted" (ARGV[7] Message-ID, ARGV[8] ref, ARGV[9]
   "topic:post", ARGV[10] the text sketch ("": none), ARGV[11] how
   many ms it is kept and ARGV[12] the post id field ("": none)),
   "dead" or "wait" (ARGV[7..] the field/value pairs to add to KEYS[7]
   or KEYS[8]); ARGV[6] the most dead letters kept (0:
   all). Returns 0 the lease is lost (a post is still recorded as the
   bridge's), else 1 + the number of old dead letters dropped. */
static const char fg_script_finish[] =
	"local held = ARGV[1] == '' or\n"
	"  (redis.call('GET', KEYS[1]) == ARGV[1] and\n"
	"   redis.call('GET', KEYS[2]) == ARGV[2])\n"
	"local trimmed = 0\n"
	"if ARGV[5] == 'posted' then\n"
	"  redis.call('HSET', KEYS[6], ARGV[9], ARGV[7])\n"
	"  if ARGV[12] ~= '' then redis.call('HSET', KEYS[6], ARGV[12], ARGV[7]) end\n"
	"  if ARGV[10] ~= '' then\n"
	"    redis.call('SET', KEYS[10], ARGV[10], 'PX', ARGV[11])\n"
	"  end\n"
	"  if not held then return 0 end\n"
	"  redis.call('HSET', KEYS[5], ARGV[7], ARGV[8])\n"
	"elseif not held then return 0\n"
	"elseif ARGV[5] == 'dead' then\n"
	"  redis.call('XADD', KEYS[7], '*', unpack(ARGV, 7))\n"
	"  if tonumber(ARGV[6]) > 0 then\n"
	"    trimmed = redis.call('XTRIM', KEYS[7], 'MAXLEN', '=', ARGV[6])\n"
	"  end\n"
	"elseif ARGV[5] == 'wait' then\n"
	"  redis.call('XADD', KEYS[8], '*', unpack(ARGV, 7))\n"
	"end\n"
	"if ARGV[3] ~= '' then redis.call('XACK', KEYS[3], ARGV[3], ARGV[4]) end\n"
	"redis.call('XDEL', KEYS[3], ARGV[4])\n"
	"redis.call('XDEL', KEYS[9], ARGV[4])\n"
	"if redis.call('HGET', KEYS[4], 'entry') == ARGV[4] then\n"
	"  redis.call('DEL', KEYS[4])\n"
	"end\n"
	"return 1 + trimmed\n";

/* fg_store_queue_once_begin - EVAL of the queue-once script with its
   keys (the stream, the seen buckets of the window, the old seen hash)
   and its first two arguments; the dedupe field and the entry follow */
void fg_store_queue_once_begin(struct fg_store *store, struct fg_argv *a,
			       const char *list, const char *stream_fmt,
			       const char *seen_fmt)
{
	char stream[FG_KEY_SIZE], seen[FG_KEY_SIZE];
	long long now = fg_store_now_ms(store);
	long long today = now / FG_STORE_DAY_MS;
	long long first = (now - store->seen_ms) / FG_STORE_DAY_MS;
	int numkeys_at;

	fg_argv_str(a, "EVAL");
	fg_argv_str(a, fg_script_queue_once);
	numkeys_at = a->argc;
	fg_argv_str(a, "");
	fg_argv_own(a, fg_xstrdup(fg_key(stream, stream_fmt, list)));
	fg_argv_day_keys(a, fg_key(seen, seen_fmt, list), today, first);
	fg_argv_own(a, fg_xstrdup(seen));
	fg_argv_set_numkeys(a, numkeys_at);
	fg_argv_num(a, fg_bucket_ttl_ms(now, store->seen_ms));
	fg_argv_num(a, store->seen_ms);
}

/* fg_store_queue_once - run the queue-once script */
int fg_store_queue_once(struct fg_store *store, struct fg_argv *a,
			const char **error_r)
{
	/* the script answers 1 queued, 0 seen before */
	return fg_cmd_flag(fg_store_cmdv(store, a->argc, a->argv, a->lens,
					 error_r));
}

/* fg_store_attachment_fields - "attachments" (the count) and
   attachment.N.name|type|size|data (data base64, "" when not carried) */
static void fg_store_attachment_fields(struct fg_argv *a,
				       const struct fg_record *rec)
{
	if (rec->n_attachments == 0)
		return;
	fg_argv_str(a, "attachments");
	fg_argv_num(a, (long long)rec->n_attachments);
	for (size_t i = 0; i < rec->n_attachments; i++) {
		const struct fg_attachment *att = &rec->attachments[i];
		char *data = att->data != NULL ?
			fg_attach_b64_encode(att->data, att->size) :
			fg_xstrdup("");

		fg_argv_own(a, fg_xasprintf("attachment.%zu.name", i));
		fg_argv_str(a, att->name);
		fg_argv_own(a, fg_xasprintf("attachment.%zu.type", i));
		fg_argv_str(a, att->type);
		fg_argv_own(a, fg_xasprintf("attachment.%zu.size", i));
		fg_argv_num(a, (long long)att->size);
		fg_argv_own(a, fg_xasprintf("attachment.%zu.data", i));
		fg_argv_own(a, data);
	}
}

int fg_store_inbound_add(struct fg_store *store, const char *list,
			 const struct fg_record *rec, const char **error_r)
{
	struct fg_argv a = { 0 };
	struct fg_buf refs = { 0 };
	int ret;

	for (size_t i = 0; i < rec->n_references; i++) {
		if (i > 0)
			fg_buf_putc(&refs, ' ');
		fg_buf_puts(&refs, rec->references[i]);
	}
	fg_store_queue_once_begin(store, &a, list, FG_KEY_INBOUND,
				  FG_KEY_INBOUND_SEEN);
	fg_argv_str(&a, rec->message_id);
	fg_argv_str(&a, "message_id"); fg_argv_str(&a, rec->message_id);
	fg_argv_str(&a, "in_reply_to"); fg_argv_str(&a, rec->in_reply_to);
	fg_argv_str(&a, "references"); fg_argv_str(&a, refs.s);
	fg_argv_str(&a, "subject"); fg_argv_str(&a, rec->subject);
	fg_argv_str(&a, "title"); fg_argv_str(&a, rec->title);
	fg_argv_str(&a, "from_name"); fg_argv_str(&a, rec->from_name);
	fg_argv_str(&a, "from_email"); fg_argv_str(&a, rec->from_email);
	fg_argv_str(&a, "date"); fg_argv_str(&a, rec->date);
	fg_argv_str(&a, "list_id"); fg_argv_str(&a, rec->list_id);
	fg_argv_str(&a, "body"); fg_argv_str(&a, rec->body);
	fg_argv_str(&a, "trimmed"); fg_argv_str(&a, rec->trimmed);
	if (rec->quote_sketch != NULL && rec->quote_end > rec->quote_start) {
		fg_argv_str(&a, "quote_start");
		fg_argv_num(&a, (long long)rec->quote_start);
		fg_argv_str(&a, "quote_end");
		fg_argv_num(&a, (long long)rec->quote_end);
		fg_argv_str(&a, "quote_sketch");
		fg_argv_str(&a, rec->quote_sketch);
	}
	if (rec->text_sketch != NULL && *rec->text_sketch != '\0') {
		fg_argv_str(&a, "text_sketch");
		fg_argv_str(&a, rec->text_sketch);
	}
	fg_argv_str(&a, "from_auth"); fg_argv_str(&a, rec->from_auth);
	fg_argv_str(&a, "received"); fg_argv_num(&a, (long long)time(NULL));
	fg_store_attachment_fields(&a, rec);
	ret = fg_store_queue_once(store, &a, error_r);
	fg_argv_free(&a);
	fg_buf_free(&refs);
	return ret;
}

int fg_store_outbound_add(struct fg_store *store, const char *list,
			  const struct fg_post *post, const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	fg_store_queue_once_begin(store, &a, list, FG_KEY_OUTBOUND,
				  FG_KEY_OUTBOUND_SEEN);
	/* an edit is queued once per revision, apart from the post */
	if (post->revision > 0) {
		fg_argv_own(&a, fg_xasprintf("%lld.r%lld", post->post_id,
					     post->revision));
	} else {
		fg_argv_num(&a, post->post_id);
	}
	fg_argv_str(&a, "post_id"); fg_argv_num(&a, post->post_id);
	fg_argv_str(&a, "topic_id"); fg_argv_num(&a, post->topic_id);
	fg_argv_str(&a, "post_number"); fg_argv_num(&a, post->post_number);
	fg_argv_str(&a, "reply_to_post_number");
	fg_argv_num(&a, post->reply_to_post_number);
	if (post->reply_to_post_id > 0) {
		fg_argv_str(&a, "reply_to_post_id");
		fg_argv_num(&a, post->reply_to_post_id);
	}
	fg_argv_str(&a, "category_id"); fg_argv_num(&a, post->category_id);
	fg_argv_str(&a, "username"); fg_argv_str(&a, post->username);
	if (post->user_id > 0) {
		fg_argv_str(&a, "user_id"); fg_argv_num(&a, post->user_id);
	}
	fg_argv_str(&a, "name"); fg_argv_str(&a, post->name);
	fg_argv_str(&a, "topic_title"); fg_argv_str(&a, post->topic_title);
	fg_argv_str(&a, "raw"); fg_argv_str(&a, post->raw);
	if (post->cooked != NULL && *post->cooked != '\0') {
		fg_argv_str(&a, "cooked"); fg_argv_str(&a, post->cooked);
	}
	fg_argv_str(&a, "created_at"); fg_argv_str(&a, post->created_at);
	if (post->group != NULL) {
		fg_argv_str(&a, "group"); fg_argv_str(&a, post->group);
	}
	if (post->revision > 0) {
		fg_argv_str(&a, "revision"); fg_argv_num(&a, post->revision);
	}
	fg_argv_str(&a, "received"); fg_argv_num(&a, (long long)time(NULL));
	ret = fg_store_queue_once(store, &a, error_r);
	fg_argv_free(&a);
	return ret;
}

static const char *fg_queue_key_fmt(enum fg_queue queue)
{
	switch (queue) {
	case FG_QUEUE_INBOUND:
		return FG_KEY_INBOUND;
	case FG_QUEUE_INBOUND_WAIT:
		return FG_KEY_INBOUND_WAIT;
	case FG_QUEUE_DIST:
		return FG_KEY_DIST;
	case FG_QUEUE_CONTROL:
		return FG_KEY_CONTROL;
	default:
		return FG_KEY_OUTBOUND;
	}
}

/* fg_queue_lease_fmt - the lease of a queue (the waiting replies are
   worked under the inbound one) */
const char *fg_queue_lease_fmt(enum fg_queue queue)
{
	switch (queue) {
	case FG_QUEUE_OUTBOUND:
		return FG_KEY_LEASE_OUT;
	case FG_QUEUE_DIST:
		return FG_KEY_LEASE_DIST;
	case FG_QUEUE_CONTROL:
		return FG_KEY_LEASE_CONTROL;
	default:
		return FG_KEY_LEASE_IN;
	}
}

/* fg_queue_fence_fmt - the fencing token beside the lease */
const char *fg_queue_fence_fmt(enum fg_queue queue)
{
	switch (queue) {
	case FG_QUEUE_OUTBOUND:
		return FG_KEY_FENCE_OUT;
	case FG_QUEUE_DIST:
		return FG_KEY_FENCE_DIST;
	case FG_QUEUE_CONTROL:
		return FG_KEY_FENCE_CONTROL;
	default:
		return FG_KEY_FENCE_IN;
	}
}

/* fg_replay_key_fmt - the replay stream beside a queue (the waiting
   replies have none: a key that is never set) */
static const char *fg_replay_key_fmt(enum fg_queue queue)
{
	switch (queue) {
	case FG_QUEUE_INBOUND:
		return FG_KEY_INBOUND_REPLAY;
	case FG_QUEUE_OUTBOUND:
		return FG_KEY_OUTBOUND_REPLAY;
	case FG_QUEUE_DIST:
		return "fg:{%s}:dist-replay:none";
	case FG_QUEUE_CONTROL:
		return "fg:{%s}:control-replay:none";
	default:
		return "fg:{%s}:in-wait:none";
	}
}

/* fg_entry_parse - one stream entry: [id, [field, value, ...]] */
struct fg_entry *fg_entry_parse(const redisReply *e)
{
	struct fg_entry *entry;
	const redisReply *fields;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return NULL;
	fields = e->element[1];
	entry = fg_xcalloc(1, sizeof(*entry));
	entry->id = fg_xstrndup(e->element[0]->str, e->element[0]->len);
	if (fields->type == REDIS_REPLY_ARRAY) {
		size_t n = fields->elements / 2;
		entry->names = fg_xcalloc(n + 1, sizeof(char *));
		entry->values = fg_xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			const redisReply *k = fields->element[i * 2];
			const redisReply *v = fields->element[i * 2 + 1];
			if (k->type != REDIS_REPLY_STRING ||
			    v->type != REDIS_REPLY_STRING)
				continue;
			entry->names[entry->n_fields] =
				fg_xstrndup(k->str, k->len);
			entry->values[entry->n_fields++] =
				fg_xstrndup(v->str, v->len);
		}
	}
	return entry;
}

/* fg_first_stream_entry - the first entry of an XREADGROUP reply:
   [[stream, [entry, ...]]]; NULL when there is none. A pending entry
   that was deleted (only an admin's XDEL does that) reads as [id, nil]:
   its id is returned in *deleted_id_r so the caller can acknowledge it. */
static struct fg_entry *fg_first_stream_entry(const redisReply *reply,
					      char **deleted_id_r)
{
	*deleted_id_r = NULL;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
		return NULL;
	const redisReply *stream = reply->element[0];
	if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2)
		return NULL;
	const redisReply *entries = stream->element[1];
	if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return NULL;
	struct fg_entry *entry = fg_entry_parse(entries->element[0]);
	if (entry != NULL && entry->n_fields == 0) {
		*deleted_id_r = entry->id;
		entry->id = NULL;
		fg_entry_free(&entry);
	}
	return entry;
}

/* fg_store_xreadgroup - XREADGROUP ... COUNT 1 [BLOCK ms] STREAMS key id */
static redisReply *fg_store_xreadgroup(struct fg_store *store,
				       const char *key, const char *consumer,
				       const char *id, unsigned int block_ms,
				       const char **error_r)
{
	char block[16];
	redisReply *reply;

	snprintf(block, sizeof(block), "%u", block_ms);
	if (block_ms == 0)
		return fg_store_cmd(store, error_r, "XREADGROUP", "GROUP",
				    FG_CONSUMER_GROUP, consumer, "COUNT", "1",
				    "STREAMS", key, id, NULL);
	/* The command may legitimately take block_ms: widen the timeout. */
	if (fg_store_open(store, error_r) < 0)
		return NULL;
	redisSetTimeout(store->ctx, fg_tv(store->timeout_ms + block_ms));
	reply = fg_store_cmd(store, error_r, "XREADGROUP", "GROUP",
			     FG_CONSUMER_GROUP,
			     consumer, "COUNT", "1", "BLOCK", block, "STREAMS",
			     key, id, NULL);
	if (store->ctx != NULL)
		redisSetTimeout(store->ctx, fg_tv(store->timeout_ms));
	return reply;
}

/* fg_store_reclaim - take over one entry another consumer left pending
   for longer than FG_RECLAIM_IDLE_MS; 1 when one was claimed */
static int fg_store_reclaim(struct fg_store *store, const char *key,
			    const char *consumer, const char **error_r)
{
	char idle[16];
	redisReply *reply;
	int ret = 0;

	snprintf(idle, sizeof(idle), "%d", FG_RECLAIM_IDLE_MS);
	reply = fg_store_cmd(store, error_r, "XAUTOCLAIM", key,
			     FG_CONSUMER_GROUP,
			     consumer, idle, "0", "COUNT", "1", "JUSTID", NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
	    reply->element[1]->type == REDIS_REPLY_ARRAY &&
	    reply->element[1]->elements > 0)
		ret = 1;
	freeReplyObject(reply);
	return ret;
}

/* fg_store_queue_read_group - fg_store_queue_read on the queue alone
   (the consumer group's pending entries, reclaims, new entries) */
static int fg_store_queue_read_group(struct fg_store *store,
				     const char *list, enum fg_queue queue,
				     const char *consumer,
				     unsigned int block_ms,
				     struct fg_entry **entry_r,
				     const char **error_r)
{
	char key[FG_KEY_SIZE], *deleted_id;
	redisReply *reply;
	const char *error;
	bool group_created = false;

	*entry_r = NULL;
	fg_key(key, fg_queue_key_fmt(queue), list);
	/* Bounded: each pass either returns, or acknowledged a deleted
	   entry, created the group, or claimed an entry. */
	for (int pass = 0; pass < 16; pass++) {
		/* 1. Our own pending entries, oldest first: after a crash or
		   a transient failure the queue resumes where it stopped. */
		reply = fg_store_xreadgroup(store, key, consumer, "0", 0,
					    &error);
		if (reply == NULL) {
			if (!group_created && strstr(error, "NOGROUP") != NULL) {
				group_created = true;
				if (fg_store_group_create(store, key,
							  error_r) < 0)
					return -1;
				continue;
			}
			*error_r = error;
			return -1;
		}
		*entry_r = fg_first_stream_entry(reply, &deleted_id);
		freeReplyObject(reply);
		if (deleted_id != NULL) {
			int ret = fg_cmd_ok(fg_store_cmd(store, error_r,
							 "XACK", key,
							 FG_CONSUMER_GROUP,
							 deleted_id, NULL));
			free(deleted_id);
			if (ret < 0)
				return -1;
			continue;
		}
		if (*entry_r != NULL)
			return 1;
		/* 2. Entries a dead consumer left behind. */
		int claimed = fg_store_reclaim(store, key, consumer, error_r);
		if (claimed < 0)
			return -1;
		if (claimed > 0)
			continue;
		/* 3. New entries. */
		reply = fg_store_xreadgroup(store, key, consumer, ">",
					    block_ms, error_r);
		if (reply == NULL)
			return -1;
		*entry_r = fg_first_stream_entry(reply, &deleted_id);
		free(deleted_id);
		freeReplyObject(reply);
		return *entry_r != NULL ? 1 : 0;
	}
	return 0;
}

/* fg_stream_id_cmp - order of two stream ids "MS-SEQ" */
static int fg_stream_id_cmp(const char *a, const char *b)
{
	unsigned long long a_ms = 0, a_seq = 0, b_ms = 0, b_seq = 0;

	(void)sscanf(a, "%llu-%llu", &a_ms, &a_seq);
	(void)sscanf(b, "%llu-%llu", &b_ms, &b_seq);
	if (a_ms != b_ms)
		return a_ms < b_ms ? -1 : 1;
	return a_seq < b_seq ? -1 : a_seq > b_seq ? 1 : 0;
}

/* fg_store_replay_head - the oldest replayed dead letter of a queue:
   1 with *entry_r, 0 none */
static int fg_store_replay_head(struct fg_store *store, const char *list,
				enum fg_queue queue, struct fg_entry **entry_r,
				const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	*entry_r = NULL;
	reply = fg_store_cmd(store, error_r, "XRANGE",
			     fg_key(key, fg_replay_key_fmt(queue), list), "-",
			     "+",
			     "COUNT", "1", NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
		*entry_r = fg_entry_parse(reply->element[0]);
	freeReplyObject(reply);
	return *entry_r != NULL ? 1 : 0;
}

/* Replayed dead letters live in a stream of their own, under their
   original ids and without a consumer group: the lease holder reads
   the oldest, and it stays there until fg_store_queue_done or
   fg_store_queue_dead removes it, so a crash loses nothing and no
   pending list is needed. A queue entry read meanwhile (from ">") is
   pending on this consumer and comes back first in the next read. */
int fg_store_queue_read(struct fg_store *store, const char *list,
			enum fg_queue queue, const char *consumer,
			unsigned int block_ms, struct fg_entry **entry_r,
			const char **error_r)
{
	struct fg_entry *replayed;
	int ret;

	*entry_r = NULL;
	if (fg_store_replay_head(store, list, queue, &replayed, error_r) < 0)
		return -1;
	ret = fg_store_queue_read_group(store, list, queue, consumer,
					replayed != NULL ? 0 : block_ms,
					entry_r, error_r);
	if (ret < 0 || replayed == NULL) {
		fg_entry_free(&replayed);
		return ret;
	}
	if (ret > 0 && fg_stream_id_cmp((*entry_r)->id, replayed->id) < 0) {
		fg_entry_free(&replayed);
		return 1;
	}
	fg_entry_free(entry_r);
	*entry_r = replayed;
	return 1;
}

int fg_store_queue_lease(struct fg_store *store, const char *list,
			 enum fg_queue queue, struct fg_lease *lease,
			 unsigned int ttl_ms, char **holder_r,
			 const char **error_r)
{
	char k_lease[FG_KEY_SIZE], stream[FG_KEY_SIZE], fence[FG_KEY_SIZE];
	char ttl[16], token[32];
	redisReply *reply;
	int ret = -1;

	if (holder_r != NULL)
		*holder_r = NULL;
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	snprintf(token, sizeof(token), "%lld", lease->token);
	fg_key(k_lease, fg_queue_lease_fmt(queue), list);
	fg_key(fence, fg_queue_fence_fmt(queue), list);
	fg_key(stream, fg_queue_key_fmt(queue), list);
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_lease, "3",
			     k_lease, stream, fence, lease->consumer, ttl,
			     FG_CONSUMER_GROUP,
			     token, NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER) {
		ret = reply->element[0]->integer > 0 ? 1 : 0;
		if (ret > 0 &&
		    reply->element[1]->type == REDIS_REPLY_INTEGER)
			lease->token = reply->element[1]->integer;
		else
			lease->token = 0;
		if (ret == 0 && holder_r != NULL &&
		    reply->element[1]->type == REDIS_REPLY_STRING)
			*holder_r = fg_xstrndup(reply->element[1]->str,
						reply->element[1]->len);
	} else {
		*error_r = fg_errorf("Redis %s: unexpected answer to the lease "
				     "of %s", store->address, k_lease);
	}
	freeReplyObject(reply);
	return ret;
}

/* fg_store_finish - run fg_script_finish; args are ARGV[7..], and
   message_id (NULL: none) names the text sketch key */
static int fg_store_finish(struct fg_store *store, const char *list,
			   enum fg_queue queue, const struct fg_lease *lease,
			   const char *id, const char *what,
			   const char *message_id,
			   struct fg_argv *args, long long *trimmed_r,
			   const char **error_r)
{
	char keys[9][FG_KEY_SIZE];
	bool in = queue == FG_QUEUE_INBOUND || queue == FG_QUEUE_INBOUND_WAIT;
	struct fg_argv a = { 0 };
	redisReply *reply;
	int ret = -1;

	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_finish);
	fg_argv_str(&a, "10");
	fg_argv_str(&a, fg_key(keys[0], fg_queue_lease_fmt(queue), list));
	fg_argv_str(&a, fg_key(keys[1], fg_queue_fence_fmt(queue), list));
	fg_argv_str(&a, fg_key(keys[2], fg_queue_key_fmt(queue), list));
	/* the posting mark is the inbound queue's; the others name a key
	   that is never set */
	fg_argv_str(&a, fg_key(keys[3], in ? FG_KEY_POSTING :
			       "fg:{%s}:posting:none", list));
	fg_argv_str(&a, fg_key(keys[4], FG_KEY_MSGID_POST, list));
	fg_argv_str(&a, fg_key(keys[5], FG_KEY_POST_MSGID, list));
	fg_argv_str(&a, fg_key(keys[6], FG_KEY_DEAD, list));
	fg_argv_str(&a, fg_key(keys[7], FG_KEY_INBOUND_WAIT, list));
	/* a replayed dead letter is read from beside the queue */
	fg_argv_str(&a, fg_key(keys[8], fg_replay_key_fmt(queue), list));
	fg_argv_own(&a, fg_text_key(list, message_id != NULL ? message_id :
				    ""));
	fg_argv_str(&a, lease != NULL ? lease->consumer : "");
	fg_argv_num(&a, lease != NULL ? lease->token : 0);
	/* the waiting replies are read without a consumer group */
	fg_argv_str(&a, queue == FG_QUEUE_INBOUND_WAIT ? "" :
		    FG_CONSUMER_GROUP);
	fg_argv_str(&a, id);
	fg_argv_str(&a, what);
	fg_argv_num(&a, store->dead_max);
	for (int i = 0; args != NULL && i < args->argc; i++)
		fg_argv_add(&a, args->argv[i], args->lens[i]);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER) {
		ret = reply->integer > 0 ? 1 : 0;
		if (trimmed_r != NULL)
			*trimmed_r = ret > 0 ? reply->integer - 1 : 0;
	} else {
		*error_r = fg_errorf("Redis %s: unexpected answer when "
				     "finishing entry %s of list %s",
				     store->address, id, list);
	}
	freeReplyObject(reply);
	return ret;
}

int fg_store_queue_ack(struct fg_store *store, const char *list,
		       enum fg_queue queue, const struct fg_lease *lease,
		       const char *id, const char **error_r)
{
	return fg_store_finish(store, list, queue, lease, id, "ack", NULL,
			       NULL, NULL, error_r);
}

int fg_store_queue_posted(struct fg_store *store, const char *list,
			  enum fg_queue queue, const struct fg_lease *lease,
			  const char *id,
			  const char *message_id,
			  const struct fg_post_ref *ref,
			  const char *text_sketch, const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	fg_argv_str(&a, message_id);
	fg_argv_own(&a, fg_post_ref_value(ref));
	fg_argv_own(&a, fg_post_place_field(ref));
	fg_argv_str(&a, text_sketch != NULL ? text_sketch : "");
	fg_argv_num(&a, store->seen_ms);
	if (ref->post_id > 0)
		fg_argv_num(&a, ref->post_id);
	else
		fg_argv_str(&a, "");
	ret = fg_store_finish(store, list, queue, lease, id, "posted",
			      message_id, &a, NULL, error_r);
	fg_argv_free(&a);
	return ret;
}

/* fg_store_dead_fields - a dead letter: where it came from, why, when,
   and the entry's own fields */
static void fg_store_dead_fields(struct fg_argv *a, enum fg_queue queue,
				 const struct fg_entry *entry,
				 const char *reason)
{
	fg_argv_str(a, "queue");
	fg_argv_str(a, queue == FG_QUEUE_OUTBOUND ? "out" :
		    queue == FG_QUEUE_DIST ? "dist" :
		    queue == FG_QUEUE_CONTROL ? "control" : "in");
	fg_argv_str(a, "entry_id");
	fg_argv_str(a, entry->id);
	fg_argv_str(a, "reason");
	fg_argv_str(a, reason);
	fg_argv_str(a, "failed_at");
	fg_argv_num(a, (long long)time(NULL));
	for (size_t i = 0; i < entry->n_fields; i++) {
		fg_argv_str(a, entry->names[i]);
		fg_argv_str(a, entry->values[i]);
	}
}

/* fg_store_xrange - up to max entries of a stream after the id after
   (NULL: from the start), oldest first */
static int fg_store_xrange(struct fg_store *store, const char *key,
			   const char *after, size_t max,
			   struct fg_entry ***entries_r, size_t *count_r,
			   const char **error_r)
{
	char count[32], *start;
	redisReply *reply;

	*entries_r = NULL;
	*count_r = 0;
	snprintf(count, sizeof(count), "%zu", max == 0 ? 1 : max);
	/* "(ID": exclusive start (Redis 6.2) */
	start = after != NULL ? fg_xasprintf("(%s", after) : fg_xstrdup("-");
	reply = fg_store_cmd(store, error_r, "XRANGE", key, start, "+", "COUNT",
			     count, NULL);
	free(start);
	if (reply == NULL)
		return -1;
	fg_entries_of_reply(reply, entries_r, count_r);
	return 0;
}

/* fg_entries_of_reply - see fg-store-private.h */
void fg_entries_of_reply(redisReply *reply, struct fg_entry ***entries_r,
			 size_t *count_r)
{
	struct fg_entry **entries;
	size_t n = 0;

	entries = fg_xcalloc(reply->elements + 1, sizeof(*entries));
	for (size_t i = 0; i < reply->elements; i++) {
		struct fg_entry *e = fg_entry_parse(reply->element[i]);
		if (e != NULL)
			entries[n++] = e;
	}
	freeReplyObject(reply);
	*entries_r = entries;
	*count_r = n;
}

int fg_store_queue_park(struct fg_store *store, const char *list,
			const struct fg_lease *lease,
			const struct fg_entry *entry, const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	for (size_t i = 0; i < entry->n_fields; i++) {
		fg_argv_str(&a, entry->names[i]);
		fg_argv_str(&a, entry->values[i]);
	}
	ret = fg_store_finish(store, list, FG_QUEUE_INBOUND, lease, entry->id,
			      "wait", NULL, &a, NULL, error_r);
	fg_argv_free(&a);
	return ret;
}

int fg_store_waiting(struct fg_store *store, const char *list, size_t max,
		     struct fg_entry ***entries_r, size_t *count_r,
		     const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_xrange(store, fg_key(key, FG_KEY_INBOUND_WAIT, list),
			       NULL, max, entries_r, count_r, error_r);
}

/* The first field that is in any of the hashes: KEYS the hashes, ARGV
   the fields. Returns its position (1..), or 0. */
static const char fg_script_hexists_any[] =
	"for j = 1, #ARGV do\n"
	"  for i = 1, #KEYS do\n"
	"    if redis.call('HEXISTS', KEYS[i], ARGV[j]) == 1 then\n"
	"      return j\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return 0\n";

int fg_store_inbound_seen(struct fg_store *store, const char *list,
			  const char *const *message_ids, size_t count,
			  size_t *index_r, const char **error_r)
{
	char seen[FG_KEY_SIZE];
	long long now = fg_store_now_ms(store);
	struct fg_argv a = { 0 };
	redisReply *reply;
	int numkeys_at, ret = -1;

	*index_r = 0;
	if (count == 0)
		return 0;

	/* the day buckets of the window, and the hash from before them */
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_hexists_any);
	numkeys_at = a.argc;
	fg_argv_str(&a, "");
	fg_argv_day_keys(&a, fg_key(seen, FG_KEY_INBOUND_SEEN, list),
			 now / FG_STORE_DAY_MS,
			 (now - store->seen_ms) / FG_STORE_DAY_MS);
	fg_argv_str(&a, seen);
	fg_argv_set_numkeys(&a, numkeys_at);
	for (size_t i = 0; i < count; i++)
		fg_argv_str(&a, message_ids[i]);
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0 &&
	    (unsigned long long)reply->integer <= count) {
		ret = reply->integer > 0;
		if (ret)
			*index_r = (size_t)reply->integer - 1;
	} else {
		*error_r = fg_errorf("Redis %s: unexpected answer when "
				     "looking for queued Message-IDs of list "
				     "%s", store->address, list);
	}
	freeReplyObject(reply);
	return ret;
}

int fg_store_queue_bury(struct fg_store *store, const char *list,
			enum fg_queue queue, const struct fg_lease *lease,
			const struct fg_entry *entry, const char *reason,
			long long *trimmed_r, const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	fg_store_dead_fields(&a, queue, entry, reason);
	ret = fg_store_finish(store, list, queue, lease, entry->id, "dead",
			      NULL, &a, trimmed_r, error_r);
	fg_argv_free(&a);
	return ret;
}

int fg_store_queue_done(struct fg_store *store, const char *list,
			enum fg_queue queue, const char *id,
			const char **error_r)
{
	return fg_store_queue_ack(store, list, queue, NULL, id, error_r) < 0 ?
		-1 : 0;
}

int fg_store_queue_dead(struct fg_store *store, const char *list,
			enum fg_queue queue, const struct fg_entry *entry,
			const char *reason, const char **error_r)
{
	long long trimmed;

	return fg_store_queue_bury(store, list, queue, NULL, entry, reason,
				   &trimmed, error_r) < 0 ? -1 : 0;
}

int fg_store_queue_dead_trim(struct fg_store *store, const char *list,
			     enum fg_queue queue, const struct fg_entry *entry,
			     const char *reason, long long *trimmed_r,
			     const char **error_r)
{
	return fg_store_queue_bury(store, list, queue, NULL, entry, reason,
				   trimmed_r, error_r) < 0 ? -1 : 0;
}

int fg_store_queue_len(struct fg_store *store, const char *list,
		       enum fg_queue queue, long long *len_r,
		       const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;

	*len_r = 0;
	for (int i = 0; i < 2; i++) {
		fg_key(key, i == 0 ? fg_queue_key_fmt(queue) :
		       fg_replay_key_fmt(queue), list);
		reply = fg_store_cmd(store, error_r, "XLEN", key, NULL);
		if (reply == NULL)
			return -1;
		if (reply->type == REDIS_REPLY_INTEGER)
			*len_r += reply->integer;
		freeReplyObject(reply);
	}
	return 0;
}

const char *fg_entry_get(const struct fg_entry *entry, const char *name)
{
	for (size_t i = 0; i < entry->n_fields; i++) {
		if (strcmp(entry->names[i], name) == 0)
			return entry->values[i];
	}
	return NULL;
}

void fg_entry_free(struct fg_entry **_entry)
{
	struct fg_entry *entry = *_entry;

	if (entry == NULL)
		return;
	free(entry->id);
	fg_strv_free(entry->names, entry->n_fields);
	fg_strv_free(entry->values, entry->n_fields);
	free(entry);
	*_entry = NULL;
}

/* ---- records <-> entries ---- */

static char *fg_entry_dup(const struct fg_entry *entry, const char *name)
{
	const char *v = fg_entry_get(entry, name);
	return fg_xstrdup(v != NULL ? v : "");
}

static long long fg_entry_num(const struct fg_entry *entry, const char *name)
{
	const char *v = fg_entry_get(entry, name);
	long long n = 0;

	if (v == NULL || fg_parse_llong(v, &n) < 0)
		return 0;
	return n;
}

struct fg_record *fg_record_from_entry(const struct fg_entry *entry)
{
	struct fg_record *rec = fg_xcalloc(1, sizeof(*rec));
	const char *refs = fg_entry_get(entry, "references");
	const char *irt = fg_entry_get(entry, "in_reply_to");
	const char *list_id = fg_entry_get(entry, "list_id");

	rec->message_id = fg_entry_dup(entry, "message_id");
	rec->in_reply_to = irt != NULL && *irt != '\0' ? fg_xstrdup(irt) : NULL;
	rec->subject = fg_entry_dup(entry, "subject");
	rec->title = fg_entry_dup(entry, "title");
	rec->from_name = fg_entry_dup(entry, "from_name");
	rec->from_email = fg_entry_dup(entry, "from_email");
	rec->date = fg_entry_dup(entry, "date");
	rec->list_id = list_id != NULL && *list_id != '\0' ?
		fg_xstrdup(list_id) : NULL;
	rec->body = fg_entry_dup(entry, "body");
	rec->trimmed = fg_entry_dup(entry, "trimmed");
	if (fg_entry_get(entry, "quote_sketch") != NULL) {
		long long start = fg_entry_num(entry, "quote_start");
		long long end = fg_entry_num(entry, "quote_end");

		/* only a range inside the body */
		if (start > 0 && end > start &&
		    (size_t)end <= strlen(rec->body)) {
			rec->quote_start = (size_t)start;
			rec->quote_end = (size_t)end;
			rec->quote_sketch = fg_entry_dup(entry, "quote_sketch");
		}
	}
	if (fg_entry_get(entry, "text_sketch") != NULL)
		rec->text_sketch = fg_entry_dup(entry, "text_sketch");
	/* an entry from before the field: not authenticated */
	rec->from_auth = fg_entry_dup(entry, "from_auth");
	rec->reason = fg_xstrdup("");
	rec->references = fg_xcalloc(1, sizeof(char *));
	if (refs != NULL) {
		const char *p = refs;
		while (*p != '\0') {
			while (*p == ' ')
				p++;
			const char *end = strchr(p, ' ');
			size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
			if (len == 0)
				break;
			rec->references = fg_xrealloc(rec->references,
				(rec->n_references + 2) * sizeof(char *));
			rec->references[rec->n_references++] =
				fg_xstrndup(p, len);
			p += len;
		}
	}
	return rec;
}

struct fg_post *fg_post_from_entry(const struct fg_entry *entry)
{
	struct fg_post *post = fg_xcalloc(1, sizeof(*post));
	const char *v;

	post->post_id = fg_entry_num(entry, "post_id");
	post->topic_id = fg_entry_num(entry, "topic_id");
	post->post_number = fg_entry_num(entry, "post_number");
	post->reply_to_post_number = fg_entry_num(entry,
						  "reply_to_post_number");
	post->reply_to_post_id = fg_entry_num(entry, "reply_to_post_id");
	post->category_id = fg_entry_num(entry, "category_id");
	post->username = fg_entry_dup(entry, "username");
	post->user_id = fg_entry_num(entry, "user_id");
	post->name = fg_entry_dup(entry, "name");
	post->topic_title = fg_entry_dup(entry, "topic_title");
	post->raw = fg_entry_dup(entry, "raw");
	if ((v = fg_entry_get(entry, "cooked")) != NULL && *v != '\0')
		post->cooked = fg_xstrdup(v);
	post->created_at = fg_entry_dup(entry, "created_at");
	post->group = fg_entry_dup(entry, "group");
	post->revision = fg_entry_num(entry, "revision");
	return post;
}

/* ---- dead letters ---- */

/* Move dead letters back: KEYS[1] the dead stream, KEYS[2] the inbound
   queue, KEYS[3] the outbound queue, KEYS[4] and KEYS[5] their replay
   streams, KEYS[6] the distribution stream (a dead letter of the
   fan-out goes back to its end: it has no replay stream); ARGV[1] an
   entry id or "" for all (at most ARGV[2]). The
   bookkeeping fields of the dead-letter stream are dropped, the rest
   is the entry as it was queued, added to the replay stream under its
   original id (entry_id). A stream only takes ids above its newest:
   an older one rebuilds the replay stream in id order (it holds only
   replayed entries, few, and has no consumer group). An entry without
   a usable entry_id goes to the end of its queue. */
static const char fg_script_dead_replay[] =
	"local function older(a, b)\n"
	"  local am, as = string.match(a[1], '^(%d+)-(%d+)$')\n"
	"  local bm, bs = string.match(b[1], '^(%d+)-(%d+)$')\n"
	"  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"
	"  if am ~= bm then return am < bm end\n"
	"  return as < bs\n"
	"end\n"
	"local function replay(key, id, fields)\n"
	"  if redis.call('XLEN', key) == 0 then redis.call('DEL', key) end\n"
	"  local r = redis.pcall('XADD', key, id, unpack(fields))\n"
	"  if type(r) ~= 'table' or not r['err'] then return end\n"
	"  local all = redis.call('XRANGE', key, '-', '+')\n"
	"  all[#all + 1] = {id, fields}\n"
	"  table.sort(all, older)\n"
	"  redis.call('DEL', key)\n"
	"  local last = ''\n"
	"  for _, e in ipairs(all) do\n"
	"    if e[1] ~= last then redis.call('XADD', key, e[1], unpack(e[2])) end\n"
	"    last = e[1]\n"
	"  end\n"
	"end\n"
	"local entries\n"
	"if ARGV[1] == '' then\n"
	"  entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])\n"
	"else\n"
	"  entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
	"end\n"
	"local moved = 0\n"
	"for _, e in ipairs(entries) do\n"
	"  local f, out, queue, rq, orig = e[2], {}, KEYS[2], KEYS[4], nil\n"
	"  for i = 1, #f, 2 do\n"
	"    local k = f[i]\n"
	"    if k == 'queue' then\n"
	"      if f[i + 1] == 'out' then queue, rq = KEYS[3], KEYS[5] end\n"
	"      if f[i + 1] == 'dist' then queue, rq = KEYS[6], nil end\n"
	"    elseif k == 'entry_id' then\n"
	"      orig = f[i + 1]\n"
	"    elseif k ~= 'reason' and k ~= 'failed_at' then\n"
	"      out[#out + 1] = k\n"
	"      out[#out + 1] = f[i + 1]\n"
	"    end\n"
	"  end\n"
	"  if #out > 0 and rq and orig and string.match(orig, '^%d+%-%d+$') then\n"
	"    replay(rq, orig, out)\n"
	"  elseif #out > 0 then\n"
	"    redis.call('XADD', queue, '*', unpack(out))\n"
	"  end\n"
	"  redis.call('XDEL', KEYS[1], e[1])\n"
	"  moved = moved + 1\n"
	"end\n"
	"return moved\n";

/* Most dead letters one replay of "all" moves (Lua's unpack and the
   script's run time stay bounded); run it again for more. */
#define FG_DEAD_REPLAY_MAX 1000

int fg_store_dead_list(struct fg_store *store, const char *list,
		       const char *after, size_t max,
		       struct fg_entry ***entries_r, size_t *count_r,
		       const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_xrange(store, fg_key(key, FG_KEY_DEAD, list), after,
			       max, entries_r, count_r, error_r);
}

int fg_store_dead_replay(struct fg_store *store, const char *list,
			 const char *id, long long *moved_r,
			 const char **error_r)
{
	char k_dead[FG_KEY_SIZE], k_in[FG_KEY_SIZE], k_out[FG_KEY_SIZE];
	char k_in_replay[FG_KEY_SIZE], k_out_replay[FG_KEY_SIZE];
	char k_dist[FG_KEY_SIZE], max[16];
	redisReply *reply;

	*moved_r = 0;
	snprintf(max, sizeof(max), "%d", FG_DEAD_REPLAY_MAX);
	reply = fg_store_cmd(store, error_r, "EVAL", fg_script_dead_replay, "6",
			     fg_key(k_dead, FG_KEY_DEAD, list),
			     fg_key(k_in, FG_KEY_INBOUND, list),
			     fg_key(k_out, FG_KEY_OUTBOUND, list),
			     fg_key(k_in_replay, FG_KEY_INBOUND_REPLAY, list),
			     fg_key(k_out_replay, FG_KEY_OUTBOUND_REPLAY, list),
			     fg_key(k_dist, FG_KEY_DIST, list),
			     id != NULL ? id : "", max, NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER)
		*moved_r = reply->integer;
	freeReplyObject(reply);
	return 0;
}

void fg_entries_free(struct fg_entry **entries, size_t count)
{
	if (entries == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		fg_entry_free(&entries[i]);
	free(entries);
}
