/*
 * NAME
 *	fg-store 3 - the Redis connection, lists, members and authors
 * DESCRIPTION
 *	See fg-store.h for the contract and doc/redis-schema.md for the
 *	keys. Commands are sent with hiredis' argv interface, so values
 *	(mail bodies, subjects) are binary safe and never parsed as
 *	command syntax.
 *
 *	This file holds the connection and the command helpers the other
 *	fg-store*.c files use (declared in fg-store-private.h), the lists
 *	and their configuration, members, allow lists and the authors
 *	map. The queues are in fg-store-queue.c; the Message-ID maps,
 *	the subject index, the posting mark, the fingerprints and the
 *	counters of mail not posted in fg-store-maps.c.
 */
#include "fg-store-private.h"
#include "fg-common.h"
#include "fg-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>

#define FG_ARGV_MAX 32

/* fg_store_open - (re)connect; the context is dropped on any failure */
int fg_store_open(struct fg_store *store, const char **error_r)
{
	struct timeval tv = fg_tv(store->timeout_ms);
	redisContext *ctx;

	if (store->ctx != NULL)
		return 0;
	if (strncmp(store->address, "unix:", 5) == 0) {
		ctx = redisConnectUnixWithTimeout(store->address + 5, tv);
	} else {
		const char *colon = strrchr(store->address, ':');
		long long port;
		if (colon == NULL || fg_parse_llong(colon + 1, &port) < 0 ||
		    port <= 0 || port > 65535) {
			*error_r = fg_errorf("invalid Redis address '%s' "
					     "(want host:port or unix:/path)",
					     store->address);
			return -1;
		}
		char *host = fg_xstrndup(store->address,
					 (size_t)(colon - store->address));
		/* [::1]:6379 */
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		ctx = redisConnectWithTimeout(host, (int)port, tv);
		free(host);
	}
	if (ctx == NULL || ctx->err != 0) {
		*error_r = fg_errorf("Redis connect to %s failed: %s",
				     store->address,
				     ctx == NULL ? "out of memory" : ctx->errstr);
		if (ctx != NULL)
			redisFree(ctx);
		return -1;
	}
	if (redisSetTimeout(ctx, tv) != REDIS_OK) {
		*error_r = fg_errorf("Redis %s: setting timeout failed",
				     store->address);
		redisFree(ctx);
		return -1;
	}
	/* TLS and AUTH on every connection, reconnects too */
	if (fg_redis_setup(store->params, ctx, error_r) < 0) {
		redisFree(ctx);
		return -1;
	}
	store->ctx = ctx;
	return 0;
}

/* fg_store_drop - forget a failed connection; the next call reconnects */
static void fg_store_drop(struct fg_store *store)
{
	if (store->ctx != NULL) {
		redisFree(store->ctx);
		store->ctx = NULL;
	}
}

/* fg_store_connect_params - connect with the given parameters, which
   the store takes */
static int fg_store_connect_params(struct fg_redis_params *params,
				   struct fg_store **store_r,
				   const char **error_r)
{
	struct fg_store *store = fg_xcalloc(1, sizeof(*store));

	store->params = params;
	store->address = fg_redis_address(params);
	store->timeout_ms = fg_redis_timeout_ms(params);
	fg_store_set_retention(store,
			       FG_STORE_SEEN_DAYS_DEFAULT * FG_STORE_DAY_MS,
			       FG_STORE_SEEN_DAYS_DEFAULT * FG_STORE_DAY_MS,
			       FG_STORE_DEAD_MAX_DEFAULT);
	if (fg_store_open(store, error_r) < 0) {
		fg_store_free(&store);
		return -1;
	}
	*store_r = store;
	return 0;
}

int fg_store_connect(const char *address, unsigned int timeout_ms,
		     struct fg_store **store_r, const char **error_r)
{
	return fg_store_connect_params(fg_redis_params_plain(address,
							     timeout_ms),
				       store_r, error_r);
}

int fg_store_connect_config(const struct fg_config *config,
			    struct fg_store **store_r, const char **error_r)
{
	struct fg_redis_params *params;

	if (fg_redis_params_new(config, &params, error_r) < 0)
		return -1;
	return fg_store_connect_params(params, store_r, error_r);
}

void fg_store_free(struct fg_store **_store)
{
	struct fg_store *store = *_store;

	if (store == NULL)
		return;
	fg_store_drop(store);
	fg_redis_params_free(&store->params);
	free(store);
	*_store = NULL;
}

/* fg_retention_bound - a retention within 1 ms ..
   FG_STORE_RETENTION_DAYS_MAX days */
static long long fg_retention_bound(long long ms)
{
	if (ms < 1)
		return 1;
	if (ms > FG_STORE_RETENTION_DAYS_MAX * FG_STORE_DAY_MS)
		return FG_STORE_RETENTION_DAYS_MAX * FG_STORE_DAY_MS;
	return ms;
}

void fg_store_set_retention(struct fg_store *store, long long seen_ms,
			    long long subject_ms, long long dead_max)
{
	store->seen_ms = fg_retention_bound(seen_ms);
	store->subject_ms = fg_retention_bound(subject_ms);
	store->dead_max = dead_max > 0 ? dead_max : 0;
}

void fg_store_set_retention_config(struct fg_store *store,
				   const struct fg_config *config)
{
	unsigned int subject_days = config->thread_by_subject_days > 0 ?
		config->thread_by_subject_days : config->seen_retention_days;

	fg_store_set_retention(store,
			       config->seen_retention_days * FG_STORE_DAY_MS,
			       subject_days * FG_STORE_DAY_MS,
			       config->dead_letter_max);
}

void fg_store_set_clock(struct fg_store *store, long long now_ms)
{
	store->clock_ms = now_ms;
}

/* fg_store_now_ms - the time the day buckets are chosen by */
long long fg_store_now_ms(const struct fg_store *store)
{
	struct timeval tv;

	if (store->clock_ms > 0)
		return store->clock_ms;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* fg_reply_check - turn a NULL or error reply to the command in argv
   into an error text (a refused right names the user and the keys) */
static redisReply *fg_reply_check(struct fg_store *store, redisReply *reply,
				  int argc, const char **argv,
				  const size_t *lens, const char **error_r)
{
	if (reply == NULL) {
		*error_r = fg_errorf("Redis %s: %s failed: %s", store->address,
				     argv[0], store->ctx->errstr[0] != '\0' ?
				     store->ctx->errstr : "connection lost");
		fg_store_drop(store);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		*error_r = fg_redis_reply_error(store->params, argc, argv,
						lens, reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* fg_store_cmdv - one command from an argument vector */
redisReply *fg_store_cmdv(struct fg_store *store, int argc,
			  const char **argv, const size_t *lens,
			  const char **error_r)
{
	if (fg_store_open(store, error_r) < 0)
		return NULL;
	return fg_reply_check(store,
			      redisCommandArgv(store->ctx, argc, argv, lens),
			      argc, argv, lens, error_r);
}

/* fg_store_send - send one command without reading its reply */
int fg_store_send(struct fg_store *store, int argc, const char **argv,
		  const size_t *lens, const char **error_r)
{
	int done = 0;

	if (fg_store_open(store, error_r) < 0)
		return -1;
	if (redisAppendCommandArgv(store->ctx, argc, argv, lens) != REDIS_OK) {
		*error_r = fg_errorf("Redis %s: %s failed: out of memory",
				     store->address, argv[0]);
		fg_store_drop(store);
		return -1;
	}
	while (!done) {
		if (redisBufferWrite(store->ctx, &done) != REDIS_OK) {
			*error_r = fg_errorf("Redis %s: %s failed: %s",
					     store->address, argv[0],
					     store->ctx->errstr[0] != '\0' ?
					     store->ctx->errstr :
					     "connection lost");
			fg_store_drop(store);
			return -1;
		}
	}
	return 0;
}

/* fg_store_reply - the reply to the command fg_store_send() sent */
redisReply *fg_store_reply(struct fg_store *store, const char *name,
			   const char **error_r)
{
	size_t len = strlen(name);
	void *reply = NULL;

	if (store->ctx == NULL) {
		*error_r = fg_errorf("Redis %s: %s failed: connection lost",
				     store->address, name);
		return NULL;
	}
	if (redisGetReply(store->ctx, &reply) != REDIS_OK)
		reply = NULL;
	return fg_reply_check(store, reply, 1, &name, &len, error_r);
}

/* fg_store_cmd - one command from NUL-terminated string arguments */
redisReply *fg_store_cmd(struct fg_store *store, const char **error_r,
			 const char *arg0, ...)
{
	const char *argv[FG_ARGV_MAX];
	size_t lens[FG_ARGV_MAX];
	int argc = 0;
	va_list ap;

	va_start(ap, arg0);
	for (const char *a = arg0; a != NULL && argc < FG_ARGV_MAX;
	     a = va_arg(ap, const char *)) {
		argv[argc] = a;
		lens[argc++] = strlen(a);
	}
	va_end(ap);
	return fg_store_cmdv(store, argc, argv, lens, error_r);
}

/* fg_store_pipeline - send several commands, read every reply, fail on any
   error; used for MULTI ... EXEC in one round trip */
int fg_store_pipeline(struct fg_store *store, unsigned int n,
		      int argcs[], const char **argvs[], size_t *lenss[],
		      const char **error_r)
{
	unsigned int multi = 0;	/* EXEC's replies are those after it */
	int ret = 0;

	if (fg_store_open(store, error_r) < 0)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		redisAppendCommandArgv(store->ctx, argcs[i], argvs[i],
				       lenss[i]);
	for (unsigned int i = 0; i < n; i++) {
		void *r = NULL;
		if (redisGetReply(store->ctx, &r) != REDIS_OK) {
			fg_reply_check(store, NULL, argcs[i], argvs[i],
				       lenss[i], error_r);
			return -1;
		}
		redisReply *reply = r;
		if (strcmp(argvs[i][0], "MULTI") == 0)
			multi = i;
		if (reply->type == REDIS_REPLY_ERROR && ret == 0) {
			*error_r = fg_redis_reply_error(store->params,
							argcs[i], argvs[i],
							lenss[i], reply->str);
			ret = -1;
		} else if (reply->type == REDIS_REPLY_ARRAY && ret == 0 &&
			   strcmp(argvs[i][0], "EXEC") == 0) {
			for (size_t j = 0; j < reply->elements; j++) {
				redisReply *e = reply->element[j];
				if (e->type == REDIS_REPLY_ERROR) {
					unsigned int c = multi + 1 + (unsigned int)j;
					*error_r = c < i ?
						fg_redis_reply_error(
							store->params, argcs[c],
							argvs[c], lenss[c], e->str) :
						fg_errorf("Redis %s: transaction "
							  "failed: %s",
							  store->address, e->str);
					ret = -1;
					break;
				}
			}
		} else if (reply->type == REDIS_REPLY_NIL && ret == 0 &&
			   strcmp(argvs[i][0], "EXEC") == 0) {
			*error_r = fg_errorf("Redis %s: transaction aborted",
					     store->address);
			ret = -1;
		}
		freeReplyObject(reply);
	}
	return ret;
}

int fg_store_ping(struct fg_store *store, const char **error_r)
{
	return fg_cmd_ok(fg_store_cmd(store, error_r, "PING", NULL));
}

/* fg_store_group_create - the bridge's consumer group on a queue;
   an existing group is fine */
int fg_store_group_create(struct fg_store *store, const char *key,
			  const char **error_r)
{
	redisReply *reply;

	if (fg_store_open(store, error_r) < 0)
		return -1;
	const char *argv[] = { "XGROUP", "CREATE", key, FG_CONSUMER_GROUP,
			       "0", "MKSTREAM" };
	size_t lens[6];
	reply = redisCommandArgv(store->ctx, 6, argv,
				 fg_strlens(lens, argv, 6));
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "BUSYGROUP", 9) == 0) {
		freeReplyObject(reply);
		return 0;
	}
	return fg_cmd_ok(fg_reply_check(store, reply, 6, argv, lens,
					error_r));
}

/* ---- lists ---- */

static const char *const fg_list_mode_names[] = {
	[FG_LIST_MODE_MIRROR] = "mirror",
	[FG_LIST_MODE_LIST] = "list",
};

int fg_list_mode_parse(const char *s, enum fg_list_mode *mode_r)
{
	for (unsigned int i = 0; i < FG_N_ELEMENTS(fg_list_mode_names); i++) {
		if (strcmp(s, fg_list_mode_names[i]) == 0) {
			*mode_r = (enum fg_list_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *fg_list_mode_name(enum fg_list_mode mode)
{
	return (unsigned int)mode < FG_N_ELEMENTS(fg_list_mode_names) ?
		fg_list_mode_names[mode] : "mirror";
}

/* fg_store_changed - after a change of the list's members, allow list
   or config: count it (FG_KEY_SERIAL) and say so on FG_CHANNEL_CHANGES,
   where forumgate-policyd listens */
int fg_store_changed(struct fg_store *store, const char *list,
		     int ret, const char **error_r)
{
	char key[FG_KEY_SIZE];

	if (ret < 0)
		return ret;
	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "INCR",
				     fg_key(key, FG_KEY_SERIAL, list), NULL));
	if (ret < 0)
		return ret;
	return fg_cmd_ok(fg_store_cmd(store, error_r, "PUBLISH",
				      FG_CHANNEL_CHANGES, list, NULL));
}

/* Claim a list's posting address and category and write its
   definition, in one step, so that two lists never hold the same one.
   KEYS[1] fg:addresses, KEYS[2] fg:categories, KEYS[3] the list's
   config, KEYS[4] and KEYS[5] the configs of the lists that held the
   address and the category when the caller looked (the list's own
   when none); ARGV[1] name, ARGV[2] address, ARGV[3] category ("0":
   none), ARGV[4] bridge_recipient, ARGV[5] "1" to take them from
   another list, ARGV[6] and ARGV[7] the holders the caller saw ("":
   none). Returns {"changed"} when a holder is no longer the one the
   caller saw, {"taken", what, holder} when another list holds one and
   ARGV[5] is not "1", else {"ok", address's former holder, category's
   former holder} ("": none). A list that loses its address loses the
   config field; one that loses its category gets category 0. */
static const char fg_script_list_claim[] =
	"local a = redis.call('HGET', KEYS[1], ARGV[2]) or ''\n"
	"local c = ''\n"
	"if ARGV[3] ~= '0' then\n"
	"  c = redis.call('HGET', KEYS[2], ARGV[3]) or ''\n"
	"end\n"
	"if a ~= ARGV[6] or c ~= ARGV[7] then return {'changed'} end\n"
	"if a == ARGV[1] then a = '' end\n"
	"if c == ARGV[1] then c = '' end\n"
	"if ARGV[5] ~= '1' then\n"
	"  if a ~= '' then return {'taken', 'address', a} end\n"
	"  if c ~= '' then return {'taken', 'category', c} end\n"
	"end\n"
	"if a ~= '' then redis.call('HDEL', KEYS[4], 'address') end\n"
	"if c ~= '' then redis.call('HSET', KEYS[5], 'category', '0') end\n"
	"redis.call('HSET', KEYS[3], 'name', ARGV[1], 'address', ARGV[2],\n"
	"           'bridge_recipient', ARGV[4], 'category', ARGV[3])\n"
	"redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])\n"
	"if ARGV[3] ~= '0' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end\n"
	"return {'ok', a, c}\n";

/* How often a claim is tried again when another change came between
   the look at the holders and the claim. */
#define FG_STORE_CLAIM_TRIES 5

/* fg_store_list_holder - the list a map field names, "" for none */
static int fg_store_list_holder(struct fg_store *store, const char *map,
				const char *field, char **holder_r,
				const char **error_r)
{
	int ret = fg_store_hget_string(store, map, field, holder_r, error_r);

	if (ret == 0)
		*holder_r = fg_xstrdup("");
	return ret < 0 ? -1 : 0;
}

/* fg_store_list_claim - run the claim script until no other change
   comes between; the former holders (caller frees) on success */
static int fg_store_list_claim(struct fg_store *store,
			       const struct fg_list *list, bool force,
			       char **from_address_r, char **from_category_r,
			       const char **error_r)
{
	char k_config[FG_KEY_SIZE], k_a[FG_KEY_SIZE], k_c[FG_KEY_SIZE];
	char category[32];

	*from_address_r = *from_category_r = NULL;
	snprintf(category, sizeof(category), "%lld", list->category);
	fg_key(k_config, FG_KEY_LIST_CONFIG, list->name);
	for (int try = 0; try < FG_STORE_CLAIM_TRIES; try++) {
		char *a = NULL, *c = NULL;
		redisReply *reply;
		int ret = -1;

		if (fg_store_list_holder(store, FG_KEY_ADDRESSES,
					 list->address, &a, error_r) < 0)
			return -1;
		if (list->category == 0)
			c = fg_xstrdup("");
		else if (fg_store_list_holder(store, FG_KEY_CATEGORIES,
					      category, &c, error_r) < 0) {
			free(a);
			return -1;
		}
		fg_key(k_a, FG_KEY_LIST_CONFIG,
		       fg_list_name_valid(a) ? a : list->name);
		fg_key(k_c, FG_KEY_LIST_CONFIG,
		       fg_list_name_valid(c) ? c : list->name);
		reply = fg_store_cmd(store, error_r, "EVAL",
				     fg_script_list_claim, "5",
				     FG_KEY_ADDRESSES, FG_KEY_CATEGORIES,
				     k_config, k_a, k_c, list->name,
				     list->address, category,
				     list->bridge_recipient,
				     force ? "1" : "0", a, c, NULL);
		free(a);
		free(c);
		if (reply == NULL)
			return -1;
		if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
		    reply->element[0]->type != REDIS_REPLY_STRING) {
			*error_r = fg_errorf("list add: unexpected reply");
		} else if (strcmp(reply->element[0]->str, "changed") == 0) {
			freeReplyObject(reply);
			continue;
		} else if (strcmp(reply->element[0]->str, "taken") == 0 &&
			   reply->elements == 3) {
			*error_r = fg_errorf("%s %s belongs to list '%s'",
					     reply->element[1]->str,
					     strcmp(reply->element[1]->str,
						    "address") == 0 ?
					     list->address : category,
					     reply->element[2]->str);
			ret = FG_STORE_TAKEN;
		} else if (strcmp(reply->element[0]->str, "ok") == 0 &&
			   reply->elements == 3) {
			*from_address_r = fg_xstrdup(reply->element[1]->str);
			*from_category_r = fg_xstrdup(reply->element[2]->str);
			ret = 0;
		} else {
			*error_r = fg_errorf("list add: unexpected reply");
		}
		freeReplyObject(reply);
		return ret;
	}
	*error_r = fg_errorf("list add: address %s or category %s keeps "
			     "changing hands, try again", list->address,
			     category);
	return -1;
}

/* fg_store_bridge_forget - remove a bridge recipient from
   fg:bridges if it is still the list's */
static int fg_store_bridge_forget(struct fg_store *store, const char *address,
				  const char *list, const char **error_r)
{
	char *holder = NULL;
	int ret = fg_store_hget_string(store, FG_KEY_BRIDGES, address,
				       &holder, error_r);

	if (ret > 0 && strcmp(holder, list) == 0)
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HDEL",
					     FG_KEY_BRIDGES, address, NULL));
	free(holder);
	return ret < 0 ? -1 : 0;
}

/* fg_store_bridge_register - enter a list's bridge recipient in
   fg:bridges unless it is there (lists defined before that key
   existed); 1 when it was entered */
int fg_store_bridge_register(struct fg_store *store, const struct fg_list *list,
			     const char **error_r)
{
	redisReply *reply;
	int ret;

	if (list->bridge_recipient == NULL || *list->bridge_recipient == '\0')
		return 0;
	reply = fg_store_cmd(store, error_r, "HSETNX", FG_KEY_BRIDGES,
			     list->bridge_recipient, list->name, NULL);
	if (reply == NULL)
		return -1;
	ret = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
	freeReplyObject(reply);
	return ret;
}

/* fg_store_list_optional - set an optional field of a list's config,
   or remove it when value is NULL or empty */
static int fg_store_list_optional(struct fg_store *store, const char *key,
				  const char *field, const char *value,
				  const char **error_r)
{
	if (value != NULL && *value != '\0')
		return fg_cmd_ok(fg_store_cmd(store, error_r, "HSET", key,
					      field, value, NULL));
	return fg_cmd_ok(fg_store_cmd(store, error_r, "HDEL", key, field,
				      NULL));
}

/* fg_store_list_define - add or redefine a list; force takes the
   address and category from the lists that hold them */
static int fg_store_list_define(struct fg_store *store,
				const struct fg_list *list, bool force,
				const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *from_address = NULL, *from_category = NULL;
	struct fg_list *old = NULL;
	int ret;

	if (!fg_list_name_valid(list->name)) {
		*error_r = fg_errorf("invalid list name '%s': use 1-%d "
				     "characters a-z, 0-9, '-' and '_'",
				     list->name, FG_LIST_NAME_MAX);
		return -1;
	}
	if (fg_store_list_get(store, list->name, &old, error_r) < 0)
		return -1;
	fg_key(key, FG_KEY_LIST_CONFIG, list->name);
	/* The list becomes visible in fg:lists last, after its config,
	   address and category maps and queues exist. The global keys live
	   in other cluster slots, so this is ordered rather than atomic;
	   the claim of address and category is one script. */
	ret = fg_store_list_claim(store, list, force, &from_address,
				  &from_category, error_r);
	if (ret == 0 && old != NULL && *old->address != '\0' &&
	    strcmp(old->address, list->address) != 0)
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HDEL",
					     FG_KEY_ADDRESSES, old->address,
					     NULL));
	if (ret == 0 && old != NULL && old->category != 0 &&
	    old->category != list->category) {
		char old_category[32];
		snprintf(old_category, sizeof(old_category), "%lld",
			 old->category);
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HDEL",
					     FG_KEY_CATEGORIES, old_category,
					     NULL));
	}
	/* the bridge recipients, for the policy daemon */
	if (ret == 0 && old != NULL && *old->bridge_recipient != '\0' &&
	    strcmp(old->bridge_recipient, list->bridge_recipient) != 0)
		ret = fg_store_bridge_forget(store, old->bridge_recipient,
					     list->name, error_r);
	if (ret == 0 && *list->bridge_recipient != '\0')
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HSET",
					     FG_KEY_BRIDGES,
					     list->bridge_recipient,
					     list->name, NULL));
	fg_list_free(&old);
	/* the list's definition: an optional field not given is not
	   kept */
	if (ret == 0)
		ret = fg_store_list_optional(store, key, "unsubscribe",
					     list->unsubscribe, error_r);
	if (ret == 0)
		ret = fg_store_list_optional(store, key, "list_id",
					     list->list_id, error_r);
	if (ret == 0)
		ret = fg_store_list_optional(store, key, "return_path",
					     list->return_path, error_r);
	if (ret == 0)
		ret = fg_store_group_create(store, fg_key(key, FG_KEY_INBOUND,
							  list->name), error_r);
	if (ret == 0)
		ret = fg_store_group_create(store, fg_key(key, FG_KEY_OUTBOUND,
							  list->name), error_r);
	if (ret == 0)
		ret = fg_cmd_ok(fg_store_cmd(store, error_r, "SADD",
					     FG_KEY_LISTS, list->name, NULL));
	/* the lists that lost their address or category changed too */
	if (ret == 0 && fg_list_name_valid(from_address))
		ret = fg_store_changed(store, from_address, ret, error_r);
	if (ret == 0 && fg_list_name_valid(from_category) &&
	    (from_address == NULL || strcmp(from_category, from_address) != 0))
		ret = fg_store_changed(store, from_category, ret, error_r);
	free(from_address);
	free(from_category);
	return fg_store_changed(store, list->name, ret, error_r);
}

int fg_store_list_add(struct fg_store *store, const struct fg_list *list,
		      const char **error_r)
{
	return fg_store_list_define(store, list, false, error_r);
}

int fg_store_list_take(struct fg_store *store, const struct fg_list *list,
		       const char **error_r)
{
	return fg_store_list_define(store, list, true, error_r);
}

/* fg_list_digest_hour - see fg-store.h */
bool fg_list_digest_hour(const char *value, unsigned int *hour_r)
{
	long long n;

	if (fg_parse_llong(value, &n) < 0 || n < 0 || n > 23)
		return false;
	*hour_r = (unsigned int)n;
	return true;
}

int fg_store_list_get(struct fg_store *store, const char *name,
		      struct fg_list **list_r, const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply;
	struct fg_list *list;

	*list_r = NULL;
	if (!fg_list_name_valid(name))
		return 0;
	reply = fg_store_cmd(store, error_r, "HGETALL",
			     fg_key(key, FG_KEY_LIST_CONFIG, name), NULL);
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		freeReplyObject(reply);
		return 0;
	}
	list = fg_xcalloc(1, sizeof(*list));
	list->name = fg_xstrdup(name);
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const char *field = reply->element[i]->str;
		const char *value = reply->element[i + 1]->str;
		if (field == NULL || value == NULL)
			continue;
		if (strcmp(field, "address") == 0)
			list->address = fg_xstrdup(value);
		else if (strcmp(field, "bridge_recipient") == 0)
			list->bridge_recipient = fg_xstrdup(value);
		else if (strcmp(field, "category") == 0)
			(void)fg_parse_llong(value, &list->category);
		else if (strcmp(field, "unsubscribe") == 0)
			list->unsubscribe = fg_xstrdup(value);
		else if (strcmp(field, "trusted") == 0)
			(void)fg_parse_bool(value, &list->trusted);
		else if (strcmp(field, "footer") == 0 && *value != '\0')
			list->footer = fg_xstrdup(value);
		else if (strcmp(field, "list_id") == 0 && *value != '\0')
			list->list_id = fg_xstrdup(value);
		else if (strcmp(field, "return_path") == 0 && *value != '\0')
			list->return_path = fg_xstrdup(value);
		else if (strcmp(field, "roster") == 0)
			list->roster = fg_xstrdup(value);
		else if (strcmp(field, "access") == 0 && *value != '\0')
			list->access = fg_xstrdup(value);
		else if (strcmp(field, "mode") == 0)
			(void)fg_list_mode_parse(value, &list->mode);
		else if (strcmp(field, "chain_off") == 0 && *value != '\0')
			list->chain_off = fg_xstrdup(value);
		else if (strcmp(field, "passphrase_file") == 0 &&
			 *value != '\0')
			list->passphrase_file = fg_xstrdup(value);
		else if (strcmp(field, "dmarc_from") == 0)
		{
			list->dmarc_always = strcmp(value, "always") == 0;
			list->dmarc_policy = strcmp(value, "policy") == 0;
		}
		else if (strcmp(field, "moderators") == 0 && *value != '\0')
			list->moderators = fg_xstrdup(value);
		else if (strcmp(field, "digest_format") == 0 &&
			 *value != '\0')
			list->digest_format = fg_xstrdup(value);
		else if (strcmp(field, "digest_hour") == 0)
			list->digest_hour_set =
				fg_list_digest_hour(value, &list->digest_hour);
		else if (strcmp(field, "digest_size_max") == 0)
			list->digest_size_set =
				fg_parse_size(value, &list->digest_size_max) == 0;
	}
	freeReplyObject(reply);
	if (list->address == NULL)
		list->address = fg_xstrdup("");
	if (list->bridge_recipient == NULL)
		list->bridge_recipient = fg_xstrdup("");
	*list_r = list;
	return 1;
}

/* fg_store_hget_string - HGET into a new string; 0 when absent */
int fg_store_get_string(struct fg_store *store, const char *key,
			char **value_r, const char **error_r)
{
	redisReply *reply;
	int ret = 0;

	*value_r = NULL;
	reply = fg_store_cmd(store, error_r, "GET", key, NULL);
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_STRING) {
		*value_r = fg_xstrndup(reply->str, reply->len);
		ret = 1;
	}
	freeReplyObject(reply);
	return ret;
}

int fg_store_hget_string(struct fg_store *store, const char *key,
			 const char *field, char **value_r,
			 const char **error_r)
{
	redisReply *reply = fg_store_cmd(store, error_r, "HGET", key, field,
					 NULL);

	*value_r = NULL;
	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_STRING)
		*value_r = fg_xstrndup(reply->str, reply->len);
	freeReplyObject(reply);
	return *value_r != NULL ? 1 : 0;
}

int fg_store_list_by_address(struct fg_store *store, const char *address,
			     char **name_r, const char **error_r)
{
	char *lower = fg_str_lower(fg_xstrdup(address));
	int ret = fg_store_hget_string(store, FG_KEY_ADDRESSES, lower, name_r,
				       error_r);
	free(lower);
	return ret;
}

int fg_store_list_by_category(struct fg_store *store, long long category,
			      char **name_r, const char **error_r)
{
	char field[32];

	snprintf(field, sizeof(field), "%lld", category);
	return fg_store_hget_string(store, FG_KEY_CATEGORIES, field, name_r,
				    error_r);
}

static int fg_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fg_reply_strv - the strings of an array reply, sorted */
static char **fg_reply_strv(const redisReply *reply, size_t *count_r)
{
	char **v = fg_xcalloc(reply->elements + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			v[n++] = fg_xstrndup(reply->element[i]->str,
					     reply->element[i]->len);
	}
	qsort(v, n, sizeof(*v), fg_strcmp_p);
	*count_r = n;
	return v;
}

/* fg_store_smembers - a set as a sorted string vector */
static int fg_store_smembers(struct fg_store *store, const char *key,
			     char ***values_r, size_t *count_r,
			     const char **error_r)
{
	redisReply *reply = fg_store_cmd(store, error_r, "SMEMBERS", key, NULL);

	if (reply == NULL)
		return -1;
	*values_r = fg_reply_strv(reply, count_r);
	freeReplyObject(reply);
	return 0;
}

int fg_store_lists(struct fg_store *store, char ***names_r, size_t *count_r,
		   const char **error_r)
{
	return fg_store_smembers(store, FG_KEY_LISTS, names_r, count_r,
				 error_r);
}

void fg_list_free(struct fg_list **_list)
{
	struct fg_list *list = *_list;

	if (list == NULL)
		return;
	free(list->name);
	free(list->chain_off);
	free(list->access);
	free(list->passphrase_file);
	free(list->moderators);
	free(list->digest_format);
	free(list->address);
	free(list->bridge_recipient);
	free(list->unsubscribe);
	free(list->footer);
	free(list->list_id);
	free(list->return_path);
	free(list->roster);
	free(list);
	*_list = NULL;
}

/* ---- members ---- */

/* fg_member_cmd - a set command on the list's members with the
   address lowercased (addresses are compared case-insensitively) */
static redisReply *fg_member_cmd(struct fg_store *store, const char *cmd,
				 const char *list, const char *address,
				 const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *lower = fg_str_lower(fg_str_trim(fg_xstrdup(address)));
	redisReply *reply;

	reply = fg_store_cmd(store, error_r, cmd, fg_key(key, FG_KEY_MEMBERS,
							 list),
			     lower, NULL);
	free(lower);
	return reply;
}

int fg_store_list_set(struct fg_store *store, const char *list,
		      const char *field, const char *value,
		      const char **error_r)
{
	char key[FG_KEY_SIZE];

	if (!fg_list_name_valid(list)) {
		*error_r = fg_errorf("invalid list name '%s'", list);
		return -1;
	}
	fg_key(key, FG_KEY_LIST_CONFIG, list);
	if (value == NULL)
		return fg_store_changed(store, list,
					fg_cmd_ok(fg_store_cmd(store, error_r,
							       "HDEL", key,
							       field, NULL)),
					error_r);
	return fg_store_changed(store, list,
				fg_cmd_ok(fg_store_cmd(store, error_r, "HSET",
						       key, field, value,
						       NULL)), error_r);
}

/* fg_allow_cmd - a set command on the list's allow list */
static int fg_allow_cmd(struct fg_store *store, const char *cmd,
			const char *list, const char *address,
			const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *lower = fg_str_lower(fg_str_trim(fg_xstrdup(address)));
	int ret = fg_cmd_ok(fg_store_cmd(store, error_r, cmd,
					 fg_key(key, FG_KEY_ALLOW, list), lower,
					 NULL));

	free(lower);
	return fg_store_changed(store, list, ret, error_r);
}

int fg_store_allow_add(struct fg_store *store, const char *list,
		       const char *address, const char **error_r)
{
	return fg_allow_cmd(store, "SADD", list, address, error_r);
}

int fg_store_allow_del(struct fg_store *store, const char *list,
		       const char *address, const char **error_r)
{
	return fg_allow_cmd(store, "SREM", list, address, error_r);
}

int fg_store_is_allowed(struct fg_store *store, const char *list,
			const char *address, const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *lower = fg_str_lower(fg_str_trim(fg_xstrdup(address)));
	int ret = fg_cmd_flag(fg_store_cmd(store, error_r, "SISMEMBER",
					   fg_key(key, FG_KEY_ALLOW, list),
					   lower, NULL));

	free(lower);
	return ret;
}

int fg_store_member_add(struct fg_store *store, const char *list,
			const char *address, const char **error_r)
{
	return fg_store_changed(store, list,
				fg_cmd_ok(fg_member_cmd(store, "SADD", list,
							address, error_r)),
				error_r);
}

int fg_store_member_del(struct fg_store *store, const char *list,
			const char *address, const char **error_r)
{
	return fg_store_changed(store, list,
				fg_cmd_ok(fg_member_cmd(store, "SREM", list,
							address, error_r)),
				error_r);
}

int fg_store_is_member(struct fg_store *store, const char *list,
		       const char *address, const char **error_r)
{
	return fg_cmd_flag(fg_member_cmd(store, "SISMEMBER", list, address,
					 error_r));
}

int fg_store_members(struct fg_store *store, const char *list,
		     char ***addresses_r, size_t *count_r,
		     const char **error_r)
{
	char key[FG_KEY_SIZE];

	return fg_store_smembers(store, fg_key(key, FG_KEY_MEMBERS, list),
				 addresses_r, count_r, error_r);
}

/* Replace a list's members. KEYS[1] the members, KEYS[2] the serial;
   ARGV[1] "1" to allow an empty result, ARGV[2] the changes channel,
   ARGV[3] the list name, ARGV[4..] the new members. Returns {1, added,
   removed}, {0, {}, {}} when nothing changes, {-1, {}, {}} when it
   would empty the list without ARGV[1]. SADD in slices: Lua's unpack()
   takes a few thousand values at most. */
static const char fg_script_members_replace[] =
	"local old = redis.call('SMEMBERS', KEYS[1])\n"
	"if #ARGV == 3 and #old > 0 and ARGV[1] ~= '1' then\n"
	"  return {-1, {}, {}}\n"
	"end\n"
	"local want, have, added, removed = {}, {}, {}, {}\n"
	"for _, a in ipairs(old) do have[a] = true end\n"
	"for i = 4, #ARGV do\n"
	"  local a = ARGV[i]\n"
	"  if not want[a] and not have[a] then added[#added + 1] = a end\n"
	"  want[a] = true\n"
	"end\n"
	"for _, a in ipairs(old) do\n"
	"  if not want[a] then removed[#removed + 1] = a end\n"
	"end\n"
	"if #added == 0 and #removed == 0 then return {0, {}, {}} end\n"
	"redis.call('DEL', KEYS[1])\n"
	"for i = 4, #ARGV, 1000 do\n"
	"  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))\n"
	"end\n"
	"redis.call('INCR', KEYS[2])\n"
	"redis.call('PUBLISH', ARGV[2], ARGV[3])\n"
	"return {1, added, removed}\n";

int fg_store_members_replace(struct fg_store *store, const char *list,
			     char *const *addresses, size_t count,
			     bool allow_empty, struct fg_member_diff *diff_r,
			     const char **error_r)
{
	struct fg_argv a = { 0 };
	char key[FG_KEY_SIZE];
	redisReply *reply;
	int ret = -1;

	memset(diff_r, 0, sizeof(*diff_r));
	if (!fg_list_name_valid(list)) {
		*error_r = fg_errorf("invalid list name '%s'", list);
		return -1;
	}
	fg_argv_str(&a, "EVAL");
	fg_argv_str(&a, fg_script_members_replace);
	fg_argv_str(&a, "2");
	fg_argv_own(&a, fg_xstrdup(fg_key(key, FG_KEY_MEMBERS, list)));
	fg_argv_own(&a, fg_xstrdup(fg_key(key, FG_KEY_SERIAL, list)));
	fg_argv_str(&a, allow_empty ? "1" : "0");
	fg_argv_str(&a, FG_CHANNEL_CHANGES);
	fg_argv_str(&a, list);
	for (size_t i = 0; i < count; i++)
		fg_argv_own(&a, fg_str_lower(fg_str_trim(
			fg_xstrdup(addresses[i]))));
	reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
	fg_argv_free(&a);
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY ||
	    reply->element[2]->type != REDIS_REPLY_ARRAY) {
		*error_r = "members replace: unexpected reply from Redis";
	} else if (reply->element[0]->integer < 0) {
		ret = FG_STORE_EMPTY;
	} else {
		ret = (int)reply->element[0]->integer;
		diff_r->added = fg_reply_strv(reply->element[1],
					      &diff_r->n_added);
		diff_r->removed = fg_reply_strv(reply->element[2],
						&diff_r->n_removed);
	}
	freeReplyObject(reply);
	return ret;
}

void fg_member_diff_free(struct fg_member_diff *diff)
{
	fg_strv_free(diff->added, diff->n_added);
	fg_strv_free(diff->removed, diff->n_removed);
	memset(diff, 0, sizeof(*diff));
}

/* ---- authors ---- */

/* fg_author_field - addresses are compared case-insensitively */
static char *fg_author_field(const char *address)
{
	return fg_str_lower(fg_str_trim(fg_xstrdup(address)));
}

int fg_store_author_set(struct fg_store *store, const char *address,
			const char *user, const char **error_r)
{
	char *field = fg_author_field(address);
	int ret = fg_cmd_ok(fg_store_cmd(store, error_r, "HSET", FG_KEY_AUTHORS,
					 field, user, NULL));

	free(field);
	return ret;
}

int fg_store_author_del(struct fg_store *store, const char *address,
			const char **error_r)
{
	char *field = fg_author_field(address);
	int ret = fg_cmd_flag(fg_store_cmd(store, error_r, "HDEL",
					   FG_KEY_AUTHORS, field, NULL));

	free(field);
	return ret;
}

int fg_store_author_get(struct fg_store *store, const char *address,
			char **user_r, const char **error_r)
{
	char *field = fg_author_field(address);
	int ret = fg_store_hget_string(store, FG_KEY_AUTHORS, field, user_r,
				       error_r);

	free(field);
	return ret;
}

/* fg_store_hash_sorted - the string fields and values of an HGETALL reply,
   sorted by field; frees the reply */
void fg_store_hash_sorted(redisReply *reply, char ***fields_r,
			  char ***values_r, size_t *count_r)
{
	char **pairs;
	size_t n = 0;

	/* "field\0value" strings sort by field */
	pairs = fg_xcalloc(reply->elements / 2 + 1, sizeof(*pairs));
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const redisReply *k = reply->element[i];
		const redisReply *v = reply->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		pairs[n++] = fg_xasprintf("%.*s%c%.*s", (int)k->len, k->str,
					  '\0', (int)v->len, v->str);
	}
	freeReplyObject(reply);
	qsort(pairs, n, sizeof(*pairs), fg_strcmp_p);
	*fields_r = fg_xcalloc(n + 1, sizeof(char *));
	*values_r = fg_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		(*fields_r)[i] = fg_xstrdup(pairs[i]);
		(*values_r)[i] = fg_xstrdup(pairs[i] + strlen(pairs[i]) + 1);
		free(pairs[i]);
	}
	free(pairs);
	*count_r = n;
}

int fg_store_authors(struct fg_store *store, char ***addresses_r,
		     char ***users_r, size_t *count_r, const char **error_r)
{
	redisReply *reply = fg_store_cmd(store, error_r, "HGETALL",
					 FG_KEY_AUTHORS, NULL);

	if (reply == NULL)
		return -1;
	fg_store_hash_sorted(reply, addresses_r, users_r, count_r);
	return 0;
}
