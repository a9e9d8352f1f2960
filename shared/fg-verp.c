/*
 * NAME
 *	fg-verp 3 - VERP bounce addresses with an HMAC
 * DESCRIPTION
 *	See fg-verp.h for the format. Parsing works on a bounded copy of
 *	the address; input is hostile (any SMTP client picks it).
 */
#include "fg-verp.h"
#include "fg-common.h"
#include "fg-msgid.h"
#include "fg-store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VERP_MARK "+" FG_VERP_TAG "-"

/* verp_mac - the MAC of list and payload (both lowercased here) */
static void verp_mac(const char *secret, const char *list,
		     const char *payload, char out[FG_VERP_MAC_LEN + 1])
{
	char *data = fg_str_lower(fg_xasprintf("verp:%s:%s", list, payload));
	char hex[65];

	fg_hmac_sha256_hex(secret, strlen(secret), data, strlen(data), hex);
	memcpy(out, hex, FG_VERP_MAC_LEN);
	out[FG_VERP_MAC_LEN] = '\0';
	free(data);
}

char *fg_verp_make(const char *secret, const char *list,
		   const char *recipient_or_post, const char *domain)
{
	char mac[FG_VERP_MAC_LEN + 1], *payload, *at, *addr;

	if (!fg_list_name_valid(list) || *recipient_or_post == '\0' ||
	    *domain == '\0')
		return NULL;
	payload = fg_str_lower(fg_xstrdup(recipient_or_post));
	at = strrchr(payload, '@');
	if (at != NULL)
		*at = '=';
	else if (strchr(payload, '=') != NULL) {
		free(payload);
		return NULL;	/* could not be told from a recipient */
	}
	verp_mac(secret, list, payload, mac);
	addr = fg_xasprintf("%s" VERP_MARK "%s-%s@%s", list, mac, payload,
			    domain);
	free(payload);
	if (strlen(addr) > FG_VERP_ADDRESS_MAX) {
		free(addr);
		return NULL;
	}
	return addr;
}

bool fg_verp_is_candidate(const char *address, size_t len,
			  size_t *list_len_r)
{
	const char *plus = memchr(address, '+', len);
	size_t mark = strlen(VERP_MARK);

	if (plus == NULL || plus == address ||
	    (size_t)(plus - address) > FG_LIST_NAME_MAX ||
	    len - (size_t)(plus - address) < mark ||
	    strncasecmp(plus, VERP_MARK, mark) != 0)
		return false;
	*list_len_r = (size_t)(plus - address);
	return true;
}

int fg_verp_parse(const char *secret, const char *address,
		  char **list_r, char **payload_r, char **domain_r,
		  const char **error_r)
{
	size_t len = strlen(address), list_len;
	char *copy, *list, *mac, *payload, *domain, *at;
	char want[FG_VERP_MAC_LEN + 1];
	int ret = -1;

	if (len > FG_VERP_ADDRESS_MAX) {
		*error_r = "address too long";
		return -1;
	}
	if (!fg_verp_is_candidate(address, len, &list_len)) {
		*error_r = "not a VERP address";
		return -1;
	}
	copy = fg_str_lower(fg_xstrdup(address));
	at = strrchr(copy, '@');
	if (at == NULL || at[1] == '\0') {
		*error_r = "no domain";
		goto out;
	}
	*at = '\0';
	domain = at + 1;
	list = copy;
	list[list_len] = '\0';
	mac = list + list_len + strlen(VERP_MARK);
	if (!fg_list_name_valid(list)) {
		*error_r = "invalid list name";
		goto out;
	}
	if (strlen(mac) < FG_VERP_MAC_LEN + 2 || mac[FG_VERP_MAC_LEN] != '-') {
		ret = 0;	/* our form, but no MAC at all */
		goto out;
	}
	mac[FG_VERP_MAC_LEN] = '\0';
	payload = mac + FG_VERP_MAC_LEN + 1;
	verp_mac(secret, list, payload, want);
	if (!fg_mem_equal_ct(want, mac, FG_VERP_MAC_LEN)) {
		ret = 0;
		goto out;
	}
	if (payload_r != NULL) {
		char *eq = strrchr(payload, '=');
		if (eq != NULL)
			*eq = '@';
		*payload_r = fg_xstrdup(payload);
	}
	if (list_r != NULL)
		*list_r = fg_xstrdup(list);
	if (domain_r != NULL)
		*domain_r = fg_xstrdup(domain);
	ret = 1;
out:
	free(copy);
	return ret;
}
