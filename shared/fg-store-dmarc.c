/*
 * NAME
 *	fg-store-dmarc 3 - DMARC policies looked up, cached in Redis
 * DESCRIPTION
 *	See fg-store.h and doc/redis-schema.md: fg:dmarc:DOMAIN holds the
 *	policy forumgated found for an author's domain ("none",
 *	"quarantine" or "reject"), with a TTL (dmarc_cache_ttl), so that
 *	a busy list asks DNS once per domain in that time. A failed
 *	look-up is not cached.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdlib.h>
#include <string.h>

/* fg_dmarc_key - the key of a domain (caller frees); NULL when the
   domain has characters a host name has not */
static char *fg_dmarc_key(const char *domain)
{
	size_t n = strlen(domain);

	if (n == 0 || n > 253 ||
	    strspn(domain, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
		return NULL;
	return fg_xasprintf("%s%s", FG_KEY_DMARC_PREFIX, domain);
}

int fg_store_dmarc_get(struct fg_store *store, const char *domain,
		       char **policy_r, const char **error_r)
{
	char *key = fg_dmarc_key(domain);
	int ret;

	*policy_r = NULL;
	if (key == NULL)
		return 0;
	ret = fg_store_get_string(store, key, policy_r, error_r);
	free(key);
	return ret;
}

int fg_store_dmarc_set(struct fg_store *store, const char *domain,
		       const char *policy, unsigned int ttl_s,
		       const char **error_r)
{
	char *key = fg_dmarc_key(domain), ttl[24];
	int ret;

	if (key == NULL || ttl_s == 0) {
		free(key);
		return 0;
	}
	snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	ret = fg_cmd_ok(fg_store_cmd(store, error_r, "SET", key, policy,
				     "EX", ttl, NULL));
	free(key);
	return ret;
}
