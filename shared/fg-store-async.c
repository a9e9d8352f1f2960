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
#include "fg-policy.h"
#include "fg-redis.h"

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
		fg_store_async_facts_cb *facts;
		fg_store_async_count_cb *count;
		fg_store_async_list_facts_cb *list_facts;
		fg_store_async_changes_cb *changes;
	} callback;
	void *context;
	/* scripts: which one, with its keys and arguments, kept to
	   repeat EVALSHA as EVAL; they point into args_buf, allocated
	   with the record */
	struct async_script *script;
	unsigned int n_keys, n_args;
	const char *args[8];
	size_t args_len[8];
	bool retried;
	char args_buf[];
};

/* A Lua script, sent by its SHA1 once Redis knows it. */
struct async_script {
	const char *body;
	char sha[41];
	redisCallbackFn *reply;
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

/* The AUTH sent first on a new context. */
struct async_auth {
	fg_store_async_auth_cb *failed;
	void *context;
	char user[128];
	char address[256];
};

/* async_auth_reply - AUTH answered: only a refusal is reported (the
   error names the user, never the password) */
static void async_auth_reply(redisAsyncContext *ac, void *_reply,
			     void *privdata)
{
	struct async_auth *auth = privdata;
	redisReply *reply = _reply;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		auth->failed(auth->context, ac,
			     fg_errorf("Redis %s: AUTH as user '%s' was "
				       "refused: %s", auth->address,
				       auth->user, reply->str));
	}
	free(auth);
}

int fg_store_async_connect(const struct fg_redis_params *params,
			   fg_store_async_auth_cb *auth_failed, void *context,
			   redisAsyncContext **ac_r, const char **error_r)
{
	const char *address = fg_redis_address(params);
	const char *argv[3];
	size_t lens[3];
	redisAsyncContext *ac;
	char *host;
	int port, argc;

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
	if (fg_redis_tls_async(params, ac, error_r) < 0) {
		redisAsyncFree(ac);
		return -1;
	}
	/* queued before any other command: hiredis sends it first once
	   the connection is up, on every new context (reconnects too) */
	argc = fg_redis_auth_argv(params, argv, lens);
	if (argc > 0) {
		struct async_auth *auth = fg_xcalloc(1, sizeof(*auth));
		auth->failed = auth_failed;
		auth->context = context;
		snprintf(auth->user, sizeof(auth->user), "%s",
			 fg_redis_user(params));
		snprintf(auth->address, sizeof(auth->address), "%s", address);
		if (redisAsyncCommandArgv(ac, async_auth_reply, auth, argc,
					  argv, lens) != REDIS_OK) {
			free(auth);
			*error_r = fg_errorf("Redis connect to %s failed: "
					     "cannot queue AUTH", address);
			redisAsyncFree(ac);
			return -1;
		}
	}
	*ac_r = ac;
	return 0;
}

/* async_reply_error - the error text of a failed reply to the
   command "what" (its name and keys), or NULL; a refused right names
   the command and the keys (the user is in the caller's log line) */
static const char *async_reply_error(const redisAsyncContext *ac,
				     const redisReply *reply,
				     const char *what)
{
	if (reply == NULL) {
		if (ac->err != 0 && ac->errstr[0] != '\0')
			return fg_errorf("Redis connection lost: %s",
					 ac->errstr);
		return "Redis connection closed";
	}
	if (reply->type == REDIS_REPLY_ERROR && fg_redis_is_denied(reply->str))
		return fg_errorf("Redis error: the ACL user may not run %s "
				 "(%s)", what, reply->str);
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
	const char *error = async_reply_error(ac, reply,
					      "SISMEMBER on fg:{LIST}:members");

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

/* The two maps fg_store_async_addresses() reads in one pipeline: the
   posting addresses (copied when they arrive) wait for the bridge
   recipients. */
struct async_maps {
	fg_store_async_addresses_cb *callback;
	void *context;
	char **names, **values;		/* the posting addresses */
	size_t count;
	char *error;			/* the first reply's error */
	bool alone;			/* the second command was not sent */
};

/* async_maps_free - free the pair's record */
static void async_maps_free(struct async_maps *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->names[i]);
		free(m->values[i]);
	}
	free(m->names);
	free(m->values);
	free(m->error);
	free(m);
}

/* async_hash_pairs - the fields and values of an HGETALL reply (they
   point into it); the error text, or NULL */
static const char *async_hash_pairs(const redisReply *reply,
				    const char ***names_r,
				    const char ***values_r, size_t *count_r)
{
	size_t count = reply->elements / 2;

	*names_r = *values_r = NULL;
	*count_r = 0;
	if (reply->type != REDIS_REPLY_ARRAY)
		return "unexpected Redis reply to HGETALL";
	*names_r = fg_xcalloc(count + 1, sizeof(**names_r));
	*values_r = fg_xcalloc(count + 1, sizeof(**values_r));
	for (size_t i = 0; i < count; i++) {
		const redisReply *name = reply->element[2 * i];
		const redisReply *value = reply->element[2 * i + 1];
		if (name->type != REDIS_REPLY_STRING ||
		    value->type != REDIS_REPLY_STRING)
			return "unexpected Redis reply to HGETALL";
		(*names_r)[i] = name->str;
		(*values_r)[i] = value->str;
	}
	*count_r = count;
	return NULL;
}

/* async_addresses_reply - HGETALL of the posting addresses answered:
   keep them for the bridge recipients' reply */
static void async_addresses_reply(redisAsyncContext *ac, void *_reply,
				  void *privdata)
{
	struct async_maps *m = privdata;
	const char *error = async_reply_error(ac, _reply,
					      "HGETALL on " FG_KEY_ADDRESSES);
	const char **names = NULL, **values = NULL;
	size_t count = 0;

	if (error == NULL)
		error = async_hash_pairs(_reply, &names, &values, &count);
	if (error != NULL) {
		m->error = fg_xstrdup(error);
	} else {
		m->names = fg_xcalloc(count + 1, sizeof(*m->names));
		m->values = fg_xcalloc(count + 1, sizeof(*m->values));
		for (; m->count < count; m->count++) {
			m->names[m->count] = fg_xstrdup(names[m->count]);
			m->values[m->count] = fg_xstrdup(values[m->count]);
		}
	}
	free(names);
	free(values);
	if (m->alone) {
		m->callback(m->context, -1, NULL, NULL, 0, NULL, NULL, 0,
			    "Redis connection is closing");
		async_maps_free(m);
	}
}

/* async_bridges_reply - HGETALL of the bridge recipients answered:
   both maps to the caller */
static void async_bridges_reply(redisAsyncContext *ac, void *_reply,
				void *privdata)
{
	struct async_maps *m = privdata;
	const char *error = m->error != NULL ? m->error :
		async_reply_error(ac, _reply, "HGETALL on " FG_KEY_BRIDGES);
	const char **names = NULL, **values = NULL;
	size_t count = 0;

	if (error == NULL)
		error = async_hash_pairs(_reply, &names, &values, &count);
	if (error != NULL)
		m->callback(m->context, -1, NULL, NULL, 0, NULL, NULL, 0,
			    error);
	else
		m->callback(m->context, 0,
			    (const char *const *)m->names,
			    (const char *const *)m->values, m->count,
			    names, values, count, NULL);
	free(names);
	free(values);
	async_maps_free(m);
}

int fg_store_async_addresses(redisAsyncContext *ac,
			     fg_store_async_addresses_cb *callback,
			     void *context, const char **error_r)
{
	const char *argv[2] = { "HGETALL", FG_KEY_ADDRESSES };
	size_t argvlen[2] = { strlen(argv[0]), strlen(argv[1]) };
	struct async_maps *m = fg_xcalloc(1, sizeof(*m));

	m->callback = callback;
	m->context = context;
	if (redisAsyncCommandArgv(ac, async_addresses_reply, m, 2, argv,
				  argvlen) != REDIS_OK) {
		async_maps_free(m);
		*error_r = "Redis connection is closing";
		return -1;
	}
	argv[1] = FG_KEY_BRIDGES;
	argvlen[1] = strlen(argv[1]);
	if (redisAsyncCommandArgv(ac, async_bridges_reply, m, 2, argv,
				  argvlen) != REDIS_OK) {
		/* the first reply reports the failure and frees m */
		m->alone = true;
	}
	return 0;
}

/*
 * The facts script. KEYS: config, members, allow, rate counter,
 * subscribers. ARGV: sender, window in ms (0: no counting). Returns
 * {access or "", member 0/1, allowed 0/1, posts in the window}; on a
 * list-mode list a subscriber counts as a member. It
 * only reads the counter: a post is counted once accepted
 * (async_count_script), so RCPT commands of a message that is never
 * sent cannot use up a member's rate.
 */
static const char async_facts_script[] =
	"local mode = redis.call('HGET', KEYS[1], 'access') or ''\n"
	"local member = redis.call('SISMEMBER', KEYS[2], ARGV[1])\n"
	"if member == 0 and redis.call('HGET', KEYS[1], 'mode') == 'list' "
	"then\n"
	"  member = redis.call('HEXISTS', KEYS[5], ARGV[1])\n"
	"end\n"
	"local allowed = redis.call('SISMEMBER', KEYS[3], ARGV[1])\n"
	"local count = 0\n"
	"local window = tonumber(ARGV[2])\n"
	"if window > 0 and (mode == 'open' or member == 1 or allowed == 1) "
	"then\n"
	"  count = tonumber(redis.call('GET', KEYS[4]) or '0') or 0\n"
	"end\n"
	"return {mode, member, allowed, count}\n";
static void async_facts_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata);
static struct async_script async_facts = {
	async_facts_script, "", async_facts_reply
};

/* async_script_new - the record of a script on a list's keys, with
   size bytes for its arguments; NULL for an invalid list name (only
   valid names go into keys: a '}' would move a key out of the list's
   hash tag) */
static struct fg_async_request *async_script_new(const char *list,
						 struct async_script *script,
						 unsigned int n_keys,
						 unsigned int n_args,
						 size_t size, void *context,
						 const char **error_r)
{
	struct fg_async_request *req;

	if (!fg_list_name_valid(list)) {
		*error_r = fg_errorf("invalid list name '%s'", list);
		return NULL;
	}
	req = fg_xcalloc(1, sizeof(*req) + size);
	if (n_args > FG_N_ELEMENTS(req->args))
		abort();	/* a script with more arguments than args[] */
	req->context = context;
	req->script = script;
	req->n_keys = n_keys;
	req->n_args = n_args;
	return req;
}

/* async_script_arg - format argument i at pos of the record's buffer;
   returns the position after it. The caller sized the buffer so that
   nothing is cut. */
static size_t async_script_arg(struct fg_async_request *req, unsigned int i,
			       size_t pos, size_t size, const char *fmt, ...)
	FG_ATTR_FORMAT(5, 6);

static size_t async_script_arg(struct fg_async_request *req, unsigned int i,
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

/* async_script_send - EVALSHA, or EVAL with the script body */
static int async_script_send(redisAsyncContext *ac,
			     struct fg_async_request *req, bool eval)
{
	struct async_script *script = req->script;
	const char *argv[3 + FG_N_ELEMENTS(req->args)];
	size_t argvlen[3 + FG_N_ELEMENTS(req->args)];
	char n_keys[8];

	if (script->sha[0] == '\0') {
		unsigned char md[20];
		SHA1((const unsigned char *)script->body, strlen(script->body),
		     md);
		for (unsigned int i = 0; i < 20; i++)
			snprintf(script->sha + 2 * i, 3, "%02x", md[i]);
	}
	snprintf(n_keys, sizeof(n_keys), "%u", req->n_keys);
	argv[0] = eval ? "EVAL" : "EVALSHA";
	argv[1] = eval ? script->body : script->sha;
	argv[2] = n_keys;
	for (unsigned int i = 0; i < 3; i++)
		argvlen[i] = strlen(argv[i]);
	for (unsigned int i = 0; i < req->n_args; i++) {
		argv[3 + i] = req->args[i];
		argvlen[3 + i] = req->args_len[i];
	}
	return redisAsyncCommandArgv(ac, script->reply, req,
				     (int)(3 + req->n_args), argv,
				     argvlen) == REDIS_OK ? 0 : -1;
}

/* async_script_error - the error of a script's reply, or NULL; NULL
   with *resent_r when Redis did not know the script and it went out
   again with its body (the reply comes to the callback again) */
static const char *async_script_error(redisAsyncContext *ac,
				      const redisReply *reply,
				      struct fg_async_request *req,
				      bool *resent_r)
{
	*resent_r = false;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && !req->retried) {
		/* First use on this server: send the body once. */
		req->retried = true;
		if (async_script_send(ac, req, true) == 0) {
			*resent_r = true;
			return NULL;
		}
		return "Redis connection is closing";
	}
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		/* EVALSHA on the script's keys */
		struct fg_buf what = { 0 };
		fg_buf_puts(&what, req->retried ? "EVAL" : "EVALSHA");
		for (unsigned int i = 0; i < req->n_keys; i++) {
			fg_buf_puts(&what, i == 0 ? " on " : ", ");
			fg_buf_append(&what, req->args[i], req->args_len[i]);
		}
		const char *error = async_reply_error(ac, reply, what.s);
		fg_buf_free(&what);
		return error;
	}
	return async_reply_error(ac, reply, "EVALSHA");
}

/* async_facts_reply - the script answered */
static void async_facts_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	bool resent;
	const char *error = async_script_error(ac, reply, req, &resent);
	redisReply **e;

	if (resent)
		return;
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

/*
 * The count script. KEYS: rate counter. ARGV: window in ms. Returns
 * the count with this post. A counter left without a time to live
 * gets one, so it cannot hold a sender back for ever.
 */
static const char async_count_script[] =
	"local count = redis.call('INCR', KEYS[1])\n"
	"if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"end\n"
	"return count\n";
static void async_count_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata);
static struct async_script async_count = {
	async_count_script, "", async_count_reply
};

int fg_store_async_facts(redisAsyncContext *ac, const char *list,
			 const char *sender, unsigned int window_ms,
			 fg_store_async_facts_cb *callback, void *context,
			 const char **error_r)
{
	/* The record and its arguments in one allocation: the three
	   list keys fit FG_ASYNC_KEY_SIZE each, the rate key adds the
	   sender, and the window has at most 10 digits. */
	size_t sender_len = strlen(sender);
	size_t size = 5 * FG_ASYNC_KEY_SIZE + 2 * (sender_len + 1) + 16;
	size_t pos = 0;
	struct fg_async_request *req;

	req = async_script_new(list, &async_facts, 5, 7, size, context,
			       error_r);
	if (req == NULL)
		return -1;
	req->callback.facts = callback;
	pos = async_script_arg(req, 0, pos, size, FG_KEY_LIST_CONFIG, list);
	pos = async_script_arg(req, 1, pos, size, FG_KEY_MEMBERS, list);
	pos = async_script_arg(req, 2, pos, size, FG_KEY_ALLOW, list);
	pos = async_script_arg(req, 3, pos, size, FG_KEY_RATE "%s", list,
			       sender);
	pos = async_script_arg(req, 4, pos, size, FG_KEY_SUBSCRIBERS, list);
	pos = async_script_arg(req, 5, pos, size, "%s", sender);
	(void)async_script_arg(req, 6, pos, size, "%u", window_ms);
	if (async_script_send(ac, req, false) < 0) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}

/*
 * The list facts script. KEYS: serial, config, members, allow,
 * subscribers. ARGV: the serial the caller holds ("": none). Returns
 * {serial} when that is still the list's serial, else {serial, access
 * or "", members, allow list}, read at one moment (the keys share the
 * list's slot); on a list-mode list the subscribers are members too.
 */
static const char async_list_facts_script[] =
	"local serial = redis.call('GET', KEYS[1]) or '0'\n"
	"if serial == ARGV[1] then return {serial} end\n"
	"local members = redis.call('SMEMBERS', KEYS[3])\n"
	"if redis.call('HGET', KEYS[2], 'mode') == 'list' then\n"
	"  for _, a in ipairs(redis.call('HKEYS', KEYS[5])) do\n"
	"    members[#members + 1] = a\n"
	"  end\n"
	"end\n"
	"return {serial, redis.call('HGET', KEYS[2], 'access') or '',\n"
	"        members, redis.call('SMEMBERS', KEYS[4])}\n";
static void async_list_facts_reply(redisAsyncContext *ac, void *_reply,
				   void *privdata);
static struct async_script async_list_facts = {
	async_list_facts_script, "", async_list_facts_reply
};

/* async_list_facts_build - the facts of a full reply; NULL when it is
   not what the script returns */
static struct fg_policy_list_facts *
async_list_facts_build(const redisReply *reply)
{
	const redisReply *sets[2] = { reply->element[2], reply->element[3] };
	enum fg_policy_access access = FG_ACCESS_MEMBERS;
	struct fg_policy_list_facts *lf;

	if (reply->element[1]->type != REDIS_REPLY_STRING ||
	    sets[0]->type != REDIS_REPLY_ARRAY ||
	    sets[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	/* an unknown mode counts as "members"; the caller gets the
	   text to say so */
	(void)fg_policy_access_parse(reply->element[1]->str, &access);
	lf = fg_policy_list_facts_new(access);
	/* addresses are about 24 bytes */
	fg_policy_list_facts_reserve(lf, sets[0]->elements + sets[1]->elements,
				     24);
	for (unsigned int s = 0; s < 2; s++) {
		for (size_t i = 0; i < sets[s]->elements; i++) {
			const redisReply *e = sets[s]->element[i];
			if (e->type == REDIS_REPLY_STRING)
				fg_policy_list_facts_add(lf, s == 1, e->str,
							 e->len);
		}
	}
	return lf;
}

/* async_list_facts_reply - the list facts script answered */
static void async_list_facts_reply(redisAsyncContext *ac, void *_reply,
				   void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	bool resent;
	const char *error = async_script_error(ac, reply, req, &resent);
	struct fg_policy_list_facts *lf = NULL;

	if (resent)
		return;
	if (error == NULL &&
	    (reply->type != REDIS_REPLY_ARRAY ||
	     (reply->elements != 1 && reply->elements != 4) ||
	     reply->element[0]->type != REDIS_REPLY_STRING))
		error = "unexpected Redis reply to the list facts script";
	if (error == NULL && reply->elements == 4 &&
	    (lf = async_list_facts_build(reply)) == NULL)
		error = "unexpected Redis reply to the list facts script";
	if (error != NULL)
		req->callback.list_facts(req->context, -1, NULL, NULL, NULL,
					 error);
	else
		req->callback.list_facts(req->context, 0,
					 reply->element[0]->str,
					 lf == NULL ? NULL :
					 reply->element[1]->str, lf, NULL);
	free(req);
}

int fg_store_async_list_facts(redisAsyncContext *ac, const char *list,
			      const char *serial,
			      fg_store_async_list_facts_cb *callback,
			      void *context, const char **error_r)
{
	size_t size = 5 * FG_ASYNC_KEY_SIZE + strlen(serial) + 1, pos = 0;
	struct fg_async_request *req;

	req = async_script_new(list, &async_list_facts, 5, 6, size, context,
			       error_r);
	if (req == NULL)
		return -1;
	req->callback.list_facts = callback;
	pos = async_script_arg(req, 0, pos, size, FG_KEY_SERIAL, list);
	pos = async_script_arg(req, 1, pos, size, FG_KEY_LIST_CONFIG, list);
	pos = async_script_arg(req, 2, pos, size, FG_KEY_MEMBERS, list);
	pos = async_script_arg(req, 3, pos, size, FG_KEY_ALLOW, list);
	pos = async_script_arg(req, 4, pos, size, FG_KEY_SUBSCRIBERS, list);
	(void)async_script_arg(req, 5, pos, size, "%s", serial);
	if (async_script_send(ac, req, false) < 0) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}

/* async_changes_reply - a reply on the changes channel: the subscription
   itself, a message, or NULL when the context goes (then the record
   goes too: hiredis calls a channel's callback once more, with NULL,
   when it frees the context) */
static void async_changes_reply(redisAsyncContext *ac, void *_reply,
				void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	const char *error = async_reply_error(ac, reply,
					      "SUBSCRIBE on " FG_CHANNEL_CHANGES);
	const redisReply *kind, *list;

	if (reply == NULL) {
		req->callback.changes(req->context, -1, NULL, error);
		free(req);
		return;
	}
	if (error == NULL &&
	    (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	     reply->element[0]->type != REDIS_REPLY_STRING))
		error = "unexpected Redis reply on the changes channel";
	if (error != NULL) {
		req->callback.changes(req->context, -1, NULL, error);
		return;
	}
	kind = reply->element[0];
	list = reply->element[2];
	if (strcmp(kind->str, "subscribe") == 0)
		req->callback.changes(req->context, 0, NULL, NULL);
	else if (strcmp(kind->str, "message") == 0 &&
		 list->type == REDIS_REPLY_STRING)
		req->callback.changes(req->context, 1, list->str, NULL);
}

int fg_store_async_subscribe_changes(redisAsyncContext *ac,
				     fg_store_async_changes_cb *callback,
				     void *context, const char **error_r)
{
	const char *argv[2] = { "SUBSCRIBE", FG_CHANNEL_CHANGES };
	size_t argvlen[2] = { strlen(argv[0]), strlen(argv[1]) };
	struct fg_async_request *req = fg_xcalloc(1, sizeof(*req));

	req->callback.changes = callback;
	req->context = context;
	if (redisAsyncCommandArgv(ac, async_changes_reply, req, 2, argv,
				  argvlen) != REDIS_OK) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}

/* async_count_reply - the count script answered */
static void async_count_reply(redisAsyncContext *ac, void *_reply,
			      void *privdata)
{
	struct fg_async_request *req = privdata;
	redisReply *reply = _reply;
	bool resent;
	const char *error = async_script_error(ac, reply, req, &resent);

	if (resent)
		return;
	if (error == NULL && reply->type != REDIS_REPLY_INTEGER)
		error = "unexpected Redis reply to the count script";
	if (error != NULL)
		req->callback.count(req->context, -1, 0, error);
	else
		req->callback.count(req->context, 0, reply->integer, NULL);
	free(req);
}

int fg_store_async_count(redisAsyncContext *ac, const char *list,
			 const char *sender, unsigned int window_ms,
			 fg_store_async_count_cb *callback, void *context,
			 const char **error_r)
{
	/* the rate key (list key size plus the sender), the window */
	size_t size = FG_ASYNC_KEY_SIZE + strlen(sender) + 1 + 16, pos;
	struct fg_async_request *req;

	req = async_script_new(list, &async_count, 1, 2, size, context,
			       error_r);
	if (req == NULL)
		return -1;
	req->callback.count = callback;
	pos = async_script_arg(req, 0, 0, size, FG_KEY_RATE "%s", list,
			       sender);
	(void)async_script_arg(req, 1, pos, size, "%u", window_ms);
	if (async_script_send(ac, req, false) < 0) {
		free(req);
		*error_r = "Redis connection is closing";
		return -1;
	}
	return 0;
}
