/*
 * NAME
 *	fg-listmsg-token 3 - the signed one-click unsubscribe token
 * DESCRIPTION
 *	See fg-listmsg.h: fg_listmsg_unsub_token(), fg_listmsg_unsub_verify()
 *	and fg_listmsg_unsub_url(). The token carries the list, the
 *	expiry and the recipient, so the endpoint needs no stored state;
 *	the HMAC under the project secret makes it unforgeable.
 */
#include "fg-listmsg.h"
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-msgid.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define FG_LISTMSG_MAC_LEN 32

/* fg_listmsg_b64url - base64url without padding */
static char *fg_listmsg_b64url(const char *data, size_t len)
{
	gchar *b64 = g_base64_encode((const guchar *)data, len);
	char *out = fg_xstrdup(b64);
	size_t n = 0;

	g_free(b64);
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '=')
			break;
		out[n++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	out[n] = '\0';
	return out;
}

/* fg_listmsg_unb64url - the bytes of base64url text, NUL-terminated;
   NULL when it is not base64url or holds a NUL */
static char *fg_listmsg_unb64url(const char *s, size_t len)
{
	char *std = fg_xmalloc(len + 4);
	guchar *raw;
	gsize raw_len = 0;
	size_t n = 0;
	char *out;

	if (len % 4 == 1) {
		free(std);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_')) {
			free(std);
			return NULL;
		}
		std[n++] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (n % 4 != 0)
		std[n++] = '=';
	std[n] = '\0';
	raw = g_base64_decode(std, &raw_len);
	free(std);
	if (raw == NULL || memchr(raw, '\0', raw_len) != NULL) {
		g_free(raw);
		return NULL;
	}
	out = fg_xstrndup((const char *)raw, raw_len);
	g_free(raw);
	return out;
}

/* fg_listmsg_unsub_mac - the token's MAC over list, expiry, recipient */
static void fg_listmsg_unsub_mac(const char *secret, const char *list,
				 long long expires, const char *recipient,
				 char out[FG_LISTMSG_MAC_LEN + 1])
{
	char *data = fg_xasprintf("unsub:%s.%lld.%s", list, expires,
				  recipient);
	char hex[65];

	fg_hmac_sha256_hex(secret, strlen(secret), data, strlen(data), hex);
	memcpy(out, hex, FG_LISTMSG_MAC_LEN);
	out[FG_LISTMSG_MAC_LEN] = '\0';
	free(data);
}

/* fg_listmsg_unsub_token - see fg-listmsg.h */
char *fg_listmsg_unsub_token(const char *secret, const char *list,
			     const char *recipient, long long expires)
{
	char mac[FG_LISTMSG_MAC_LEN + 1], *lower, *addr, *token;

	if (secret == NULL || *secret == '\0' || list == NULL ||
	    !fg_list_name_valid(list) || expires <= 0 ||
	    !fg_compose_address_valid(recipient))
		return NULL;
	lower = fg_str_lower(fg_xstrdup(recipient));
	fg_listmsg_unsub_mac(secret, list, expires, lower, mac);
	addr = fg_listmsg_b64url(lower, strlen(lower));
	token = fg_xasprintf("u1.%s.%lld.%s.%s", list, expires, addr, mac);
	free(addr);
	free(lower);
	return token;
}

/* fg_listmsg_unsub_verify - see fg-listmsg.h */
int fg_listmsg_unsub_verify(const char *secret, const char *token,
			    long long now, char **list_r, char **recipient_r,
			    const char **error_r)
{
	const char *f[5], *p;
	size_t n[5], count = 0;
	char mac[FG_LISTMSG_MAC_LEN + 1], *list, *recipient, *end;
	long long expires;

	*list_r = *recipient_r = NULL;
	if (token == NULL || strlen(token) > FG_LISTMSG_TOKEN_MAX ||
	    secret == NULL || *secret == '\0') {
		*error_r = fg_errorf("unsubscribe token: not a token");
		return -1;
	}
	for (p = token; count < 5; count++) {
		f[count] = p;
		n[count] = strcspn(p, ".");
		p += n[count];
		if (*p == '\0') {
			count++;
			break;
		}
		p++;
	}
	if (count != 5 || *p != '\0' || n[0] != 2 ||
	    strncmp(f[0], "u1", 2) != 0 || n[4] != FG_LISTMSG_MAC_LEN ||
	    n[1] == 0 || n[2] == 0 || n[2] > 18) {
		*error_r = fg_errorf("unsubscribe token: not a token");
		return -1;
	}
	list = fg_xstrndup(f[1], n[1]);
	expires = strtoll(f[2], &end, 10);
	recipient = fg_listmsg_unb64url(f[3], n[3]);
	if (!fg_list_name_valid(list) || end != f[2] + n[2] ||
	    !isdigit((unsigned char)f[2][0]) || expires <= 0 ||
	    recipient == NULL || !fg_compose_address_valid(recipient)) {
		free(list);
		free(recipient);
		*error_r = fg_errorf("unsubscribe token: not a token");
		return -1;
	}
	fg_listmsg_unsub_mac(secret, list, expires, recipient, mac);
	if (!fg_mem_equal_ct(mac, f[4], FG_LISTMSG_MAC_LEN)) {
		free(list);
		free(recipient);
		*error_r = fg_errorf("unsubscribe token: signature "
				     "does not verify");
		return 0;
	}
	if (expires < now) {
		free(list);
		free(recipient);
		*error_r = fg_errorf("unsubscribe token: expired");
		return 0;
	}
	*list_r = list;
	*recipient_r = recipient;
	return 1;
}

/* fg_listmsg_unsub_url - see fg-listmsg.h */
char *fg_listmsg_unsub_url(const struct fg_listmsg_list *list,
			   const char *secret, const char *recipient,
			   long long expires, const char **error_r)
{
	char *token, *url;
	size_t n;

	if (fg_listmsg_list_check(list, error_r) < 0)
		return NULL;
	if (list->unsubscribe_base == NULL) {
		*error_r = fg_errorf("listmsg: the list has no unsubscribe URL");
		return NULL;
	}
	token = fg_listmsg_unsub_token(secret, list->name, recipient, expires);
	if (token == NULL) {
		*error_r = fg_errorf("listmsg: no unsubscribe token for "
				     "that recipient (invalid address, "
				     "expiry or secret)");
		return NULL;
	}
	n = strlen(list->unsubscribe_base);
	url = fg_xasprintf("%s%s%s", list->unsubscribe_base,
			   list->unsubscribe_base[n - 1] == '/' ? "" : "/",
			   token);
	free(token);
	return url;
}
