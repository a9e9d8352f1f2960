/*
 * NAME
 *	fg-verp 3 - VERP return paths with an HMAC
 * SEE ALSO
 *	fg-verp.h for the address format.
 */
#include "fg-verp.h"
#include "fg-common.h"
#include "fg-msgid.h"
#include "fg-store.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FG_VERP_MAC_LEN 16
/* A local part longer than this is not something we made: fg_verp_make
   refuses to make one, fg_verp_parse to read one. */
#define FG_VERP_LOCAL_MAX 256

/* fg_verp_mac - the MAC over "verp:LIST.WHAT", lowercased */
static void fg_verp_mac(const char *secret, const char *list, const char *what,
			char out[FG_VERP_MAC_LEN + 1])
{
	char *data = fg_str_lower(fg_xasprintf("verp:%s.%s", list, what));
	char hex[65];

	fg_hmac_sha256_hex(secret, strlen(secret), data, strlen(data), hex);
	memcpy(out, hex, FG_VERP_MAC_LEN);
	out[FG_VERP_MAC_LEN] = '\0';
	free(data);
}

/* fg_verp_make - BASE+fgb.MAC.LIST.WHAT@DOMAIN */
static char *fg_verp_make(const char *secret, const char *list,
			  const char *what, const char *base_address)
{
	const char *at = strrchr(base_address, '@');
	char mac[FG_VERP_MAC_LEN + 1];

	if (at == NULL || !fg_list_name_valid(list))
		return NULL;
	/* BASE+fgb.MAC.LIST.WHAT must stay within what parsing accepts */
	if ((size_t)(at - base_address) + sizeof("+" FG_VERP_TAG ".") - 1 +
	    FG_VERP_MAC_LEN + 1 + strlen(list) + 1 + strlen(what) >
	    FG_VERP_LOCAL_MAX)
		return NULL;
	fg_verp_mac(secret, list, what, mac);
	return fg_str_lower(fg_xasprintf("%.*s+" FG_VERP_TAG ".%s.%s.%s%s",
					 (int)(at - base_address), base_address,
					 mac, list, what, at));
}

char *fg_verp_make_post(const char *secret, const char *list,
			long long post_id, const char *base_address)
{
	char what[32];

	snprintf(what, sizeof(what), "p%lld", post_id);
	return fg_verp_make(secret, list, what, base_address);
}

/* fg_verp_atext - RFC 5322 atext plus '.', so the result needs no
   quoting; '@' and '+' (the delimiter) are not allowed */
static bool fg_verp_atext(const char *s, size_t len)
{
	static const char specials[] = "!#$%&'*/=?^_`{|}~-.";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && strchr(specials, c) == NULL)
			return false;
	}
	return len > 0;
}

char *fg_verp_make_recipient(const char *secret, const char *list,
			     const char *recipient, const char *base_address)
{
	const char *at = strrchr(recipient, '@');
	char *what, *ret;

	if (at == NULL || !fg_verp_atext(recipient, (size_t)(at - recipient)) ||
	    !fg_verp_atext(at + 1, strlen(at + 1)) ||
	    strchr(at + 1, '=') != NULL)
		return NULL;
	what = fg_xasprintf("r%.*s=%s", (int)(at - recipient), recipient,
			    at + 1);
	ret = fg_verp_make(secret, list, what, base_address);
	free(what);
	return ret;
}

int fg_verp_parse(const char *secret, const char *address,
		  struct fg_verp *verp_r)
{
	const char *at = strrchr(address, '@'), *plus, *p;
	const char *dot_mac, *dot_list;
	char mac[FG_VERP_MAC_LEN + 1], list[FG_LIST_NAME_MAX + 1];
	char *what, *lower;
	size_t list_len;
	int ret = -1;

	memset(verp_r, 0, sizeof(*verp_r));
	if (at == NULL || at - address > FG_VERP_LOCAL_MAX)
		return 0;
	plus = memchr(address, '+', (size_t)(at - address));
	if (plus == NULL ||
	    strncasecmp(plus + 1, FG_VERP_TAG ".", sizeof(FG_VERP_TAG)) != 0)
		return 0;
	/* From here on it claims to be ours. */
	p = plus + 1 + sizeof(FG_VERP_TAG);
	dot_mac = memchr(p, '.', (size_t)(at - p));
	if (dot_mac == NULL || dot_mac - p != FG_VERP_MAC_LEN)
		return -1;
	dot_list = memchr(dot_mac + 1, '.', (size_t)(at - dot_mac - 1));
	if (dot_list == NULL)
		return -1;
	list_len = (size_t)(dot_list - dot_mac - 1);
	if (list_len == 0 || list_len > FG_LIST_NAME_MAX || dot_list + 1 >= at)
		return -1;
	memcpy(list, dot_mac + 1, list_len);
	list[list_len] = '\0';
	fg_str_lower(list);
	if (!fg_list_name_valid(list))
		return -1;
	what = fg_str_lower(fg_xstrndup(dot_list + 1,
					(size_t)(at - dot_list - 1)));
	fg_verp_mac(secret, list, what, mac);
	lower = fg_str_lower(fg_xstrndup(p, FG_VERP_MAC_LEN));
	if (!fg_mem_equal_ct(mac, lower, FG_VERP_MAC_LEN))
		goto out;
	if (what[0] == 'p') {
		long long id;
		if (fg_parse_llong(what + 1, &id) < 0 || id <= 0)
			goto out;
		verp_r->kind = FG_VERP_POST;
		verp_r->post_id = id;
	} else if (what[0] == 'r') {
		char *eq = strrchr(what, '=');
		if (eq == NULL || eq == what + 1 || eq[1] == '\0')
			goto out;
		*eq = '@';
		verp_r->kind = FG_VERP_RECIPIENT;
		verp_r->recipient = fg_xstrdup(what + 1);
	} else {
		goto out;
	}
	verp_r->list = fg_xstrdup(list);
	ret = 1;
out:
	free(what);
	free(lower);
	return ret;
}

void fg_verp_clear(struct fg_verp *verp)
{
	free(verp->list);
	free(verp->recipient);
	memset(verp, 0, sizeof(*verp));
}
