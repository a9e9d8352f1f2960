#ifndef FG_STORE_PRIVATE_H
#define FG_STORE_PRIVATE_H
/*
 * NAME
 *	fg-store-private 3 - what the fg-store*.c files share
 * SYNOPSIS
 *	#include "fg-store-private.h"
 * DESCRIPTION
 *	Internal to libforumgate's Redis store: included by fg-store.c,
 *	fg-store-queue.c, fg-store-maps.c and fg-store-refused.c only, and
 *	not installed.
 *	Every other caller uses fg-store.h.
 *
 *	struct fg_store is the connection. fg_store_cmd() and
 *	fg_store_cmdv() send one command (reconnecting first when the
 *	last one failed) and return the reply, or NULL with *error_r set
 *	(an error reply is an error); fg_store_pipeline() sends several
 *	in one round trip. fg_key() builds a list's key from a format in
 *	fg-store.h; struct fg_argv builds the argument vector of a long
 *	command (EVAL with many keys, XADD of a record).
 *
 *	fg_store_now_ms() is the time the day buckets are chosen by
 *	(fg_store_set_clock() fixes it for tests); fg_argv_day_keys()
 *	and fg_bucket_ttl_ms() name the buckets of a retention window and
 *	the time to live of today's.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>
#include "fg-common.h"
#include "fg-store.h"
#include "fg-redis.h"

/* Keys fit in this: "fg:{" + 64-byte list + "}:msgid-post" */
#define FG_KEY_SIZE 128

struct fg_store {
	struct fg_redis_params *params;	/* address, AUTH, TLS */
	const char *address;		/* params' */
	unsigned int timeout_ms;
	redisContext *ctx;
	long long seen_ms, subject_ms;	/* retention, fg_store_set_retention */
	long long dead_max;
	long long clock_ms;		/* tests: a fixed time, 0: the clock */
};

/* fg_key - build a list key; list names were validated on the way in */
static inline const char *fg_key(char buf[FG_KEY_SIZE], const char *fmt,
				 const char *list)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, FG_KEY_SIZE, fmt, list);
#pragma GCC diagnostic pop
	return buf;
}

/* fg_text_key - the key of a post's text sketch, caller frees; a
   Message-ID does not fit FG_KEY_SIZE */
static inline char *fg_text_key(const char *list, const char *message_id)
{
	return fg_xasprintf("fg:{%s}:text:%s", list, message_id);
}

/* fg_tv - milliseconds as a struct timeval */
static inline struct timeval fg_tv(unsigned int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

/* fg_cmd_ok - run a command whose reply only matters as success */
static inline int fg_cmd_ok(redisReply *reply)
{
	if (reply == NULL)
		return -1;
	freeReplyObject(reply);
	return 0;
}

/* fg_cmd_flag - run a command whose reply is an integer that answers
   yes (above 0) or no: 1, 0, or -1 when it failed */
static inline int fg_cmd_flag(redisReply *reply)
{
	int ret;

	if (reply == NULL)
		return -1;
	ret = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
	freeReplyObject(reply);
	return ret;
}

/* fg_scan_reply_valid - a SCAN-family reply: [cursor, [items...]] */
static inline bool fg_scan_reply_valid(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
		reply->element[0]->type == REDIS_REPLY_STRING &&
		reply->element[1]->type == REDIS_REPLY_ARRAY;
}

/* fg_strlens - fill a length vector for NUL-terminated arguments */
static inline size_t *fg_strlens(size_t *lens, const char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return lens;
}

/* fg_store_changed - after a change of the list's members, allow list,
   subscribers or config (ret 0): count it (FG_KEY_SERIAL) and say so
   on FG_CHANNEL_CHANGES; returns ret when it is negative */
int fg_store_changed(struct fg_store *store, const char *list, int ret,
		     const char **error_r);
/* fg_store_open - (re)connect; the context is dropped on any failure */
int fg_store_open(struct fg_store *store, const char **error_r);
/* fg_post_ref_value - the value of a post in msgid-post (caller frees) */
char *fg_post_ref_value(const struct fg_post_ref *ref);
/* fg_post_place_field - the post's "TOPIC:POST_NUMBER" field in
   post-msgid (caller frees) */
char *fg_post_place_field(const struct fg_post_ref *ref);
/* fg_store_now_ms - the time the day buckets are chosen by */
long long fg_store_now_ms(const struct fg_store *store);
/* fg_store_send - send one command from an argument vector without
   reading its reply; fg_store_reply() reads it, and no other command
   may be sent on the store in between */
int fg_store_send(struct fg_store *store, int argc, const char **argv,
		  const size_t *lens, const char **error_r);
/* fg_store_reply - the reply to fg_store_send()'s command (name: its
   name in errors); NULL with *error_r on failure or an error reply */
redisReply *fg_store_reply(struct fg_store *store, const char *name,
			   const char **error_r);
/* fg_store_cmdv - one command from an argument vector */
redisReply *fg_store_cmdv(struct fg_store *store, int argc,
			  const char **argv, const size_t *lens,
			  const char **error_r);
/* fg_store_cmd - one command from NUL-terminated string arguments,
   ended by NULL */
redisReply *fg_store_cmd(struct fg_store *store, const char **error_r,
			 const char *arg0, ...);
/* fg_store_pipeline - send several commands, read every reply, fail on
   any error; used for MULTI ... EXEC in one round trip */
int fg_store_pipeline(struct fg_store *store, unsigned int n,
		      int argcs[], const char **argvs[], size_t *lenss[],
		      const char **error_r);
/* fg_store_group_create - the bridge's consumer group on a queue;
   an existing group is fine */
int fg_store_group_create(struct fg_store *store, const char *key,
			  const char **error_r);
/* fg_store_get_string - GET into a new string; 0 when absent */
int fg_store_get_string(struct fg_store *store, const char *key,
			char **value_r, const char **error_r);
/* fg_store_hget_string - HGET into a new string; 0 when absent */
int fg_store_hget_string(struct fg_store *store, const char *key,
			 const char *field, char **value_r,
			 const char **error_r);
/* fg_store_hash_sorted - the string fields and values of an HGETALL
   reply, sorted by field; frees the reply */
void fg_store_hash_sorted(redisReply *reply, char ***fields_r,
			  char ***values_r, size_t *count_r);

/* fg_entry_parse - one stream entry of a reply: [id, [field, value,
   ...]]; NULL when it has another shape */
struct fg_entry *fg_entry_parse(const redisReply *e);
/* fg_store_stream_newest - the newest max entries of a stream, newest
   first */
int fg_store_stream_newest(struct fg_store *store, const char *key,
			   size_t max, struct fg_entry ***entries_r,
			   size_t *count_r, const char **error_r);
/* fg_entries_of_reply - the entries of an XRANGE-style reply, in its
   order; frees the reply */
void fg_entries_of_reply(redisReply *reply, struct fg_entry ***entries_r,
			 size_t *count_r);

/* An argument vector under construction. */
struct fg_argv {
	const char **argv;
	size_t *lens;
	char **owned;
	int argc, n_owned, cap;
};

/* fg_argv_add - append one argument of len bytes */
static inline void fg_argv_add(struct fg_argv *a, const char *s, size_t len)
{
	if (a->argc == a->cap) {
		a->cap = a->cap == 0 ? 32 : a->cap * 2;
		a->argv = fg_xrealloc(a->argv, a->cap * sizeof(*a->argv));
		a->lens = fg_xrealloc(a->lens, a->cap * sizeof(*a->lens));
		a->owned = fg_xrealloc(a->owned, a->cap * sizeof(*a->owned));
	}
	a->argv[a->argc] = s;
	a->lens[a->argc++] = len;
}

/* fg_argv_str - append a string argument; NULL is "" */
static inline void fg_argv_str(struct fg_argv *a, const char *s)
{
	fg_argv_add(a, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* fg_argv_own - an argument the vector frees (added first, so that
   the vectors have grown for it) */
static inline void fg_argv_own(struct fg_argv *a, char *s)
{
	fg_argv_str(a, s);
	a->owned[a->n_owned++] = s;
}

/* fg_argv_num - append a number argument */
static inline void fg_argv_num(struct fg_argv *a, long long n)
{
	fg_argv_own(a, fg_xasprintf("%lld", n));
}

/* fg_argv_free - free the vector and the arguments it owns */
static inline void fg_argv_free(struct fg_argv *a)
{
	for (int i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
	free(a->argv);
	free(a->lens);
	free(a->owned);
}

/* fg_argv_set_numkeys - EVAL's key count at argument at: the
   arguments added after it so far */
static inline void fg_argv_set_numkeys(struct fg_argv *a, int at)
{
	char *numkeys = fg_xasprintf("%d", a->argc - at - 1);

	a->owned[a->n_owned++] = numkeys;
	a->argv[at] = numkeys;
	a->lens[at] = strlen(numkeys);
}

/* fg_argv_day_keys - the day buckets of base from day newest down to
   day oldest, at most FG_STORE_RETENTION_DAYS_MAX + 1 of them */
static inline void fg_argv_day_keys(struct fg_argv *a, const char *base,
				    long long newest, long long oldest)
{
	if (newest - oldest > FG_STORE_RETENTION_DAYS_MAX)
		oldest = newest - FG_STORE_RETENTION_DAYS_MAX;
	for (long long day = newest; day >= oldest; day--)
		fg_argv_own(a, fg_xasprintf("%s:%lld", base, day));
}

/* fg_bucket_ttl_ms - how long today's bucket lives: retention after
   the end of its day */
static inline long long fg_bucket_ttl_ms(long long now_ms,
					 long long retention_ms)
{
	return (now_ms / FG_STORE_DAY_MS + 1) * FG_STORE_DAY_MS - now_ms +
		retention_ms;
}

/* fg_queue_lease_fmt, fg_queue_fence_fmt - the key formats of a
   queue's lease and of its fencing token */
const char *fg_queue_lease_fmt(enum fg_queue queue);
const char *fg_queue_fence_fmt(enum fg_queue queue);

/* The lease check every script of the list-mode fan-out and digest
   (fg-store-fanout.c, fg-store-digest.c) starts with: KEYS[1] the
   FG_QUEUE_DIST lease, KEYS[2] its fencing token, ARGV[1] the consumer,
   ARGV[2] its token. */
#define FG_DIST_HELD \
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] or\n" \
	"   redis.call('GET', KEYS[2]) ~= ARGV[2] then return {0} end\n"
/* fg_dist_args_begin - EVAL script, its key count, the lease keys and
   the lease; the caller adds the other keys, then its arguments */
void fg_dist_args_begin(struct fg_argv *a, const char *script, int n_keys,
			const char *list, char keys[][FG_KEY_SIZE]);
/* fg_dist_args_lease - ARGV[1] and ARGV[2]: the consumer and its token */
void fg_dist_args_lease(struct fg_argv *a, const struct fg_lease *lease);
/* fg_dist_eval - run the vector; the reply's first number, and the
   reply itself in *reply_r when wanted (caller frees); what names the
   script in an error */
int fg_dist_eval(struct fg_store *store, struct fg_argv *a, const char *list,
		 const char *what, redisReply **reply_r, const char **error_r);
/* fg_dist_int - element i of an array reply as a number (0 if none) */
long long fg_dist_int(const redisReply *reply, size_t i);

/* fg_store_lrange - max strings of a list from position start
   (caller frees with fg_strv_free) */
int fg_store_lrange(struct fg_store *store, const char *key, long long start,
		    size_t max, char ***items_r, size_t *count_r,
		    const char **error_r);

/* fg_store_queue_once_begin - EVAL of the queue-once script (XADD once
   per dedupe field within the seen retention) with its keys and first
   arguments; the dedupe field and the entry's fields follow */
void fg_store_queue_once_begin(struct fg_store *store, struct fg_argv *a,
			       const char *list, const char *stream_fmt,
			       const char *seen_fmt);
/* fg_store_queue_once - run it: 1 queued, 0 seen before */
int fg_store_queue_once(struct fg_store *store, struct fg_argv *a,
			const char **error_r);

#endif
