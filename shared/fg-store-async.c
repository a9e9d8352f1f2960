/*
 * NAME
 *	fg-store-async 3 - the Redis lookups of event-driven programs
 * DESCRIPTION
 *	See fg-store-async.h. Commands go out with hiredis' argv
 *	interface, so addresses are binary safe. Each command carries a
 *	small request record as its hiredis private data; the reply
 *	callback turns the reply into the answer the caller asked for and
 *	frees the record. hiredis calls the reply callback with a NULL
 *	reply when the context is freed or disconnected with commands
 *	pending, so every queued command is answered exactly once.
 */
#include "fg-store-async.h"
#include "fg-store.h"
#include "fg-common.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

/* Keys fit in this: "fg:{" + 64-byte list + "}:members" */
#define FG_ASYNC_KEY_SIZE 128

struct fg_async_request {
	union {
		fg_store_async_member_cb *member;
		fg_store_async_addresses_cb *addresses;
		fg_store_async_facts_cb *facts;
	} callback;
	void *context;
	/* facts: the script's 6 arguments, kept to repeat EVALSHA as
	   EVAL; they point into args_buf, allocated with the record */
	const char *args[6];
	size_t args_len[6];
	bool retried;
	char args_buf[];
};

/* async_address_parse - "unix:/path" to the path, "host:port" and
   "[v6addr]:port" to host and port; *host_r is allocated */
static int async_address_parse(const char *address, char **host_r,
			       int *port_r, const char **error_r)
{
	const char *colon;
	long long port;

	if (strncmp(address, "unix:", 5) == 0) {
		if (address[5] != '/')
			goto invalid;
		*host_r = fg_xstrdup(address + 5);
		*port_r = -1;
		return 0;
	}
	colon = strrchr(address, ':');
	if (colon == NULL || colon == address ||
	    fg_parse_llong(colon + 1, &port) < 0 || port <= 0 || port > 65535)
		goto invalid;

	char *host = fg_xstrndup(address, (size_t)(colon - address));
	size_t len = strlen(host);
	if (host[0] == '[') {
		/* [::1]:6379 */
		if (len < 3 || host[len - 1] != ']') {
			free(host);
			goto invalid;
		}
		memmove(host, host + 1, len - 2);
		host[len - 2] = '\0';
	}
	*host_r = host;
	*port_r = (int)port;
	return 0;
invalid:
	*error_r = fg_errorf("invalid Redis address '%s' "
			     "(want host:port or unix:/path)", address);
	return -1;
}

int fg_store_async_address_check(const char *address, const char **error_r)
{
	char *host;
	int port;

	if (async_address_parse(address, &host, &port, error_r) < 0)
		return -1;
	free(host);
	return 0;
}

int fg_store_async_connect(const char *address, redisAsyncContext **ac_r,
			   const char **error_r)
{
	redisAsyncContext *ac;
	char *host;
	int port;

	if (async_address_parse(address, &host, &port, error_r) < 0)
		return -1;
	if (port < 0)
		ac = redisAsyncConnectUnix(host);
	else
		ac = redisAsyncConnect(host, port);
	free(host);
	if (ac == NULL) {
		*error_r = fg_errorf("Redis connect to %s failed: "
				     "out of memory", address);
		return -1;
	}
	if (ac->err != 0) {
		*error_r = fg_errorf("Redis connect to %s failed: %s", address,
				     ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	*ac_r = ac;
	return 0;
}

/* async_reply_error - the error text of a failed reply, or NULL */
static const char *async_reply_error(const redisAsyncContext *ac,
				     const redisReply *reply)
{
	if (reply == NULL) {
		if (ac->err != 0 && ac->errstr[0] != '\0')
			return fg_errorf("Redis connection lost: %s",
					 ac->errstr);
		return "Redis connection closed";
	}
	if (reply->type == REDIS_REPLY_ERROR)
		return fg_errorf("Redis error: %s", reply->str);
	return NULL;
}

/* async_member_reply - SISMEMBER answered */
static void async_member_reply(redisAsyncContext *ac, void *_reply,
			       void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	const char *error = async_reply_error(ac, reply);

	if (error != NULL)
		req->callback.member(req->context, -1, error);
	else if (reply->type != REDIS_REPLY_INTEGER)
		req->callback.member(req->context, -1,
				     "unexpected Redis reply to SISMEMBER");
	else
		req->callback.member(req->context, reply->integer == 1, NULL);
	free(req);
}

int fg_store_async_is_member(redisAsyncContext *ac, const char *list,
			     const char *address,
			     fg_store_async_member_cb *callback, void *context,
			     const char **error_r)
{
	char key[FG_ASYNC_KEY_SIZE];
	const char *argv[3];
	size_t argvlen[3];
	struct fg_async_request *req;

	/* Only valid names go into a key: a '}' would move the key out
	   of the list's hash tag. */
	if (!fg_list_name_valid(list)) {
		*error_r = fg_errorf("invalid list name '%s'", list);
		return -1;
	}
	snprintf(key, sizeof(key), FG_KEY_MEMBERS, list);
	argv[0] = "SISMEMBER";
	argv[1] = key;
	argv[2] = address;
	for (unsigned int i = 0; i < 3; i++)
		argvlen[i] = strlen(argv[i]);

	req = fg_xcalloc(1, sizeof(*req));
	req->callback.member = callback;
	req->context = context;
	if (redisAsyncCommandArgv(ac, async_member_reply, req, 3, argv,
				  argvlen) != REDIS_OK) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}

/* async_addresses_reply - HGETALL answered: name, value, name, ... */
static void async_addresses_reply(redisAsyncContext *ac, void *_reply,
				  void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	const char *error = async_reply_error(ac, reply);
	const char **addresses = NULL, **lists = NULL;
	size_t count = 0;

	if (error == NULL && reply->type != REDIS_REPLY_ARRAY)
		error = "unexpected Redis reply to HGETALL";
	if (error == NULL) {
		count = reply->elements / 2;
		addresses = fg_xcalloc(count, sizeof(*addresses));
		lists = fg_xcalloc(count, sizeof(*lists));
		for (size_t i = 0; i < count; i++) {
			const redisReply *name = reply->element[2 * i];
			const redisReply *value = reply->element[2 * i + 1];
			if (name->type != REDIS_REPLY_STRING ||
			    value->type != REDIS_REPLY_STRING) {
				error = "unexpected Redis reply to HGETALL";
				break;
			}
			addresses[i] = name->str;
			lists[i] = value->str;
		}
	}
	if (error != NULL)
		req->callback.addresses(req->context, -1, NULL, NULL, 0, error);
	else
		req->callback.addresses(req->context, 0, addresses, lists,
					count, NULL);
	free(addresses);
	free(lists);
	free(req);
}

int fg_store_async_addresses(redisAsyncContext *ac,
			     fg_store_async_addresses_cb *callback,
			     void *context, const char **error_r)
{
	const char *argv[2] = { "HGETALL", FG_KEY_ADDRESSES };
	size_t argvlen[2] = { strlen(argv[0]), strlen(argv[1]) };
	struct fg_async_request *req = fg_xcalloc(1, sizeof(*req));

	req->callback.addresses = callback;
	req->context = context;
	if (redisAsyncCommandArgv(ac, async_addresses_reply, req, 2, argv,
				  argvlen) != REDIS_OK) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}

/*
 * The facts script. KEYS: config, members, allow, rate counter.
 * ARGV: sender, window in ms (0: no counting). Returns
 * {access or "", member 0/1, allowed 0/1, count}.
 */
static const char async_facts_script[] =
	"local mode = redis.call('HGET', KEYS[1], 'access') or ''\n"
	"local member = redis.call('SISMEMBER', KEYS[2], ARGV[1])\n"
	"local allowed = redis.call('SISMEMBER', KEYS[3], ARGV[1])\n"
	"local count = 0\n"
	"local window = tonumber(ARGV[2])\n"
	"if window > 0 and (mode == 'open' or member == 1 or allowed == 1) "
	"then\n"
	"  count = redis.call('INCR', KEYS[4])\n"
	"  if count == 1 then redis.call('PEXPIRE', KEYS[4], window) end\n"
	"end\n"
	"return {mode, member, allowed, count}\n";
static char async_facts_sha[41];

static void async_facts_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata);

/* async_facts_arg - format argument i at pos of the record's buffer;
   returns the position after it. The caller sized the buffer so that
   nothing is cut. */
static size_t async_facts_arg(struct fg_async_request *req, unsigned int i,
			      size_t pos, size_t size, const char *fmt, ...)
	FG_ATTR_FORMAT(5, 6);

static size_t async_facts_arg(struct fg_async_request *req, unsigned int i,
			      size_t pos, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(req->args_buf + pos, size - pos, fmt, ap);
	va_end(ap);
	req->args[i] = req->args_buf + pos;
	req->args_len[i] = n < 0 ? 0 : (size_t)n;
	return pos + req->args_len[i] + 1;
}

/* async_facts_send - EVALSHA, or EVAL with the script body */
static int async_facts_send(redisAsyncContext *ac,
			    struct fg_async_request *req, bool eval)
{
	const char *argv[9];
	size_t argvlen[9];

	argv[0] = eval ? "EVAL" : "EVALSHA";
	argv[1] = eval ? async_facts_script : async_facts_sha;
	argv[2] = "4";
	argvlen[0] = strlen(argv[0]);
	argvlen[1] = strlen(argv[1]);
	argvlen[2] = 1;
	for (unsigned int i = 0; i < 6; i++) {
		argv[3 + i] = req->args[i];
		argvlen[3 + i] = req->args_len[i];
	}
	return redisAsyncCommandArgv(ac, async_facts_reply, req, 9, argv,
				     argvlen) == REDIS_OK ? 0 : -1;
}

/* async_facts_reply - the script answered */
static void async_facts_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	const char *error = async_reply_error(ac, reply);
	redisReply **e;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && !req->retried) {
		/* First use on this server: send the body once. */
		req->retried = true;
		if (async_facts_send(ac, req, true) == 0)
			return;
		error = "Redis connection is closing";
	}
	if (error == NULL &&
	    (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
	     reply->element[0]->type != REDIS_REPLY_STRING ||
	     reply->element[1]->type != REDIS_REPLY_INTEGER ||
	     reply->element[2]->type != REDIS_REPLY_INTEGER ||
	     reply->element[3]->type != REDIS_REPLY_INTEGER))
		error = "unexpected Redis reply to the facts script";
	if (error != NULL) {
		req->callback.facts(req->context, -1, NULL, 0, 0, 0, error);
	} else {
		e = reply->element;
		req->callback.facts(req->context, 0, e[0]->str,
				    e[1]->integer == 1, e[2]->integer == 1,
				    e[3]->integer, NULL);
	}
	free(req);
}

int fg_store_async_facts(redisAsyncContext *ac, const char *list,
			 const char *sender, unsigned int window_ms,
			 fg_store_async_facts_cb *callback, void *context,
			 const char **error_r)
{
	/* The record and its arguments in one allocation: the three
	   list keys fit FG_ASYNC_KEY_SIZE each, the rate key adds the
	   sender, and the window has at most 10 digits. */
	size_t sender_len = strlen(sender);
	size_t size = 4 * FG_ASYNC_KEY_SIZE + 2 * (sender_len + 1) + 16;
	size_t pos = 0;
	struct fg_async_request *req;

	if (!fg_list_name_valid(list)) {
		*error_r = fg_errorf("invalid list name '%s'", list);
		return -1;
	}
	if (async_facts_sha[0] == '\0') {
		unsigned char md[20];
		SHA1((const unsigned char *)async_facts_script,
		     strlen(async_facts_script), md);
		for (unsigned int i = 0; i < 20; i++)
			snprintf(async_facts_sha + 2 * i, 3, "%02x", md[i]);
	}
	req = fg_xcalloc(1, sizeof(*req) + size);
	req->callback.facts = callback;
	req->context = context;
	pos = async_facts_arg(req, 0, pos, size, FG_KEY_LIST_CONFIG, list);
	pos = async_facts_arg(req, 1, pos, size, FG_KEY_MEMBERS, list);
	pos = async_facts_arg(req, 2, pos, size, FG_KEY_ALLOW, list);
	pos = async_facts_arg(req, 3, pos, size, FG_KEY_RATE "%s", list,
			      sender);
	pos = async_facts_arg(req, 4, pos, size, "%s", sender);
	(void)async_facts_arg(req, 5, pos, size, "%u", window_ms);
	if (async_facts_send(ac, req, false) < 0) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}
