/*
 * NAME
 *	fg-store-subscribers 3 - a list-mode list's subscribers in Redis
 * DESCRIPTION
 *	See fg-store.h for the contract and doc/redis-schema.md for the
 *	key. fg:{LIST}:subscribers is a hash: the canonical address
 *	(fg_address_canonical()) -> its state ("enabled", "nomail",
 *	"digest", "disabled:REASON:UNIXTIME"). Who receives the list's
 *	mail is kept apart from who may post (fg:{LIST}:members): a
 *	subscriber on nomail may still post, an address allowed to post
 *	need not receive.
 *
 *	Every change is counted in fg:{LIST}:serial and published on
 *	fg:changes, as member changes are, so that copies of the list's
 *	facts know to read them again. A large list is read with HSCAN
 *	(fg_store_subscriber_scan()), never in one reply; an import adds
 *	FG_SUBSCRIBERS_BATCH addresses per script, each batch atomic.
 */
#include "fg-store-private.h"
#include "fg-address.h"
#include "fg-common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The longest address (RFC 5321: a path of 256 octets with <>). */
#define FG_SUBSCRIBER_ADDRESS_MAX 254

bool fg_subscriber_state_valid(const char *s)
{
	const char *p;

	if (strcmp(s, "enabled") == 0 || strcmp(s, "nomail") == 0 ||
	    strcmp(s, "digest") == 0)
		return true;
	/* disabled:REASON:UNIXTIME, REASON a word */
	if (strncmp(s, "disabled:", 9) != 0 ||
	    strlen(s) > FG_SUBSCRIBER_STATE_MAX)
		return false;
	p = s + 9;
	if (*p == ':' || *p == '\0')
		return false;
	for (; *p != ':'; p++) {
		if (*p == '\0' || !(isalnum((unsigned char)*p) ||
				    *p == '-' || *p == '_'))
			return false;
	}
	p++;
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
	}
	return true;
}

char *fg_subscriber_address(const char *address)
{
	size_t len = strlen(address);
	const char *at;
	char *buf;

	if (len == 0 || len > FG_SUBSCRIBER_ADDRESS_MAX)
		return NULL;
	for (const char *p = address; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == ',')
			return NULL;
	}
	buf = fg_xmalloc(len + 1);
	len = fg_address_canonical(address, len, buf);
	buf[len] = '\0';
	at = strrchr(buf, '@');
	if (at == NULL || at == buf || at[1] == '\0' ||
	    strchr(at + 1, '.') == NULL) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* subscriber_key - the address in canonical form, or an error */
static char *subscriber_key(const char *address, const char **error_r)
{
	char *canon = fg_subscriber_address(address);

	if (canon == NULL)
		*error_r = fg_errorf("'%s' is not a mail address", address);
	return canon;
}

int fg_store_subscriber_set(struct fg_store *store, const char *list,
			    const char *address, const char *state,
			    const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *canon;
	int ret;

	if (state == NULL)
		state = "enabled";
	if (!fg_subscriber_state_valid(state)) {
		*error_r = fg_errorf("invalid subscriber state '%s' (enabled, "
				     "nomail, digest or disabled:REASON:TIME)",
				     state);
		return -1;
	}
	if ((canon = subscriber_key(address, error_r)) == NULL)
		return -1;
	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "HSET",
				       fg_key(key, FG_KEY_SUBSCRIBERS, list),
				       canon, state, NULL));
	free(canon);
	if (ret < 0)
		return -1;
	return fg_store_changed(store, list, 0, error_r) < 0 ? -1 : ret;
}

int fg_store_subscriber_del(struct fg_store *store, const char *list,
			    const char *address, const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *canon;
	int ret;

	if ((canon = subscriber_key(address, error_r)) == NULL)
		return -1;
	ret = fg_cmd_flag(fg_store_cmd(store, error_r, "HDEL",
				       fg_key(key, FG_KEY_SUBSCRIBERS, list),
				       canon, NULL));
	free(canon);
	if (ret <= 0)
		return ret;
	return fg_store_changed(store, list, 0, error_r) < 0 ? -1 : 1;
}

int fg_store_subscriber_get(struct fg_store *store, const char *list,
			    const char *address, char **state_r,
			    const char **error_r)
{
	char key[FG_KEY_SIZE];
	char *canon = fg_subscriber_address(address);
	int ret;

	*state_r = NULL;
	if (canon == NULL)
		return 0;	/* no address is no subscriber */
	ret = fg_store_hget_string(store, fg_key(key, FG_KEY_SUBSCRIBERS, list),
				   canon, state_r, error_r);
	free(canon);
	return ret;
}

int fg_store_subscriber_count(struct fg_store *store, const char *list,
			      long long *count_r, const char **error_r)
{
	char key[FG_KEY_SIZE];
	redisReply *reply = fg_store_cmd(store, error_r, "HLEN",
					 fg_key(key, FG_KEY_SUBSCRIBERS, list),
					 NULL);

	if (reply == NULL)
		return -1;
	*count_r = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
	freeReplyObject(reply);
	return 0;
}

int fg_store_subscriber_scan(struct fg_store *store, const char *list,
			     const char *cursor, unsigned int count,
			     char ***addresses_r, char ***states_r,
			     size_t *n_r, char **next_r,
			     const char **error_r)
{
	char key[FG_KEY_SIZE], count_s[16];
	redisReply *reply, *items;
	size_t n = 0;

	snprintf(count_s, sizeof(count_s), "%u", count > 0 ? count : 100);
	reply = fg_store_cmd(store, error_r, "HSCAN",
			     fg_key(key, FG_KEY_SUBSCRIBERS, list), cursor,
			     "COUNT", count_s, NULL);
	if (reply == NULL)
		return -1;
	if (!fg_scan_reply_valid(reply)) {
		freeReplyObject(reply);
		*error_r = fg_errorf("HSCAN %s: unexpected reply", key);
		return -1;
	}
	items = reply->element[1];
	*addresses_r = fg_xcalloc(items->elements / 2 + 1, sizeof(char *));
	*states_r = fg_xcalloc(items->elements / 2 + 1, sizeof(char *));
	for (size_t i = 0; i + 1 < items->elements; i += 2) {
		if (items->element[i]->type != REDIS_REPLY_STRING ||
		    items->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		(*addresses_r)[n] = fg_xstrdup(items->element[i]->str);
		(*states_r)[n++] = fg_xstrdup(items->element[i + 1]->str);
	}
	*n_r = n;
	*next_r = fg_xstrdup(reply->element[0]->str);
	freeReplyObject(reply);
	return 0;
}

/* Add the addresses in ARGV that are not subscribers yet as
   "enabled": KEYS[1] the subscribers; returns how many were added. */
static const char fg_script_subscribers_import[] =
	"local n = 0\n"
	"for i = 1, #ARGV do\n"
	"  n = n + redis.call('HSETNX', KEYS[1], ARGV[i], 'enabled')\n"
	"end\n"
	"return n\n";

int fg_store_subscribers_import(struct fg_store *store, const char *list,
				char *const *addresses, size_t count,
				long long *added_r, const char **error_r)
{
	char key[FG_KEY_SIZE];
	int ret = 0;

	*added_r = 0;
	fg_key(key, FG_KEY_SUBSCRIBERS, list);
	for (size_t start = 0; start < count && ret == 0;
	     start += FG_SUBSCRIBERS_BATCH) {
		struct fg_argv a = { 0 };
		size_t end = start + FG_SUBSCRIBERS_BATCH < count ?
			start + FG_SUBSCRIBERS_BATCH : count;
		redisReply *reply;

		fg_argv_str(&a, "EVAL");
		fg_argv_str(&a, fg_script_subscribers_import);
		fg_argv_str(&a, "1");
		fg_argv_str(&a, key);
		for (size_t i = start; i < end; i++)
			fg_argv_str(&a, addresses[i]);
		reply = fg_store_cmdv(store, a.argc, a.argv, a.lens, error_r);
		fg_argv_free(&a);
		if (reply == NULL) {
			ret = -1;
			break;
		}
		if (reply->type == REDIS_REPLY_INTEGER)
			*added_r += reply->integer;
		freeReplyObject(reply);
	}
	if (count == 0)
		return ret;
	return fg_store_changed(store, list, ret, error_r);
}
