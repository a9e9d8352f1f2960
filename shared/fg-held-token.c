/*
 * NAME
 *	fg-held-token 3 - the signed token of a moderator's action
 * DESCRIPTION
 *	See fg-held.h: fg_held_token() and fg_held_token_verify(). The
 *	token is "ACTIONID-EXPIRES-MAC": ACTION 'a' or 'r', ID the held
 *	post's decimal id, EXPIRES seconds since the epoch, MAC the first
 *	FG_HELD_MAC_LEN hex digits of HMAC-SHA256(secret,
 *	"moderate:LIST:ACTION:ID:EXPIRES"). The list is in the MAC, not
 *	in the token: the address LIST-moderate+TOKEN@ names it. Upper
 *	case is taken as lower case (an MTA may change a local part's
 *	case).
 */
#include "fg-held.h"
#include "fg-common.h"
#include "fg-msgid.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* held_mac - the token's MAC */
static void held_mac(const char *secret, const char *list, char action,
		     long long id, long long expires,
		     char out[FG_HELD_MAC_LEN + 1])
{
	char *data = fg_xasprintf("moderate:%s:%c:%lld:%lld", list, action,
				  id, expires);
	char hex[65];

	fg_hmac_sha256_hex(secret, strlen(secret), data, strlen(data), hex);
	memcpy(out, hex, FG_HELD_MAC_LEN);
	out[FG_HELD_MAC_LEN] = '\0';
	free(data);
}

char *fg_held_token(const char *secret, const char *list, long long id,
		    char action, long long expires)
{
	char mac[FG_HELD_MAC_LEN + 1];

	if (secret == NULL || *secret == '\0' || list == NULL ||
	    !fg_list_name_valid(list) || id <= 0 || expires <= 0 ||
	    (action != 'a' && action != 'r'))
		return NULL;
	held_mac(secret, list, action, id, expires, mac);
	return fg_xasprintf("%c%lld-%lld-%s", action, id, expires, mac);
}

/* held_number - a run of 1 to 18 digits at *p, advanced past it */
static bool held_number(const char **p, long long *value_r)
{
	const char *s = *p;
	long long v = 0;
	size_t n = 0;

	while (isdigit((unsigned char)s[n]) && n < 18)
		v = v * 10 + (s[n++] - '0');
	if (n == 0 || isdigit((unsigned char)s[n]))
		return false;
	*p = s + n;
	*value_r = v;
	return true;
}

int fg_held_token_verify(const char *secret, const char *list,
			 const char *token, long long now, char *action_r,
			 long long *id_r, const char **error_r)
{
	char mac[FG_HELD_MAC_LEN + 1], given[FG_HELD_MAC_LEN + 1], action;
	const char *p;
	long long id, expires;

	*id_r = 0;
	*action_r = '\0';
	if (token == NULL || strlen(token) > FG_HELD_TOKEN_MAX ||
	    secret == NULL || *secret == '\0' || list == NULL ||
	    !fg_list_name_valid(list)) {
		*error_r = fg_errorf("moderation token: not a token");
		return -1;
	}
	action = (char)tolower((unsigned char)token[0]);
	p = token + 1;
	if ((action != 'a' && action != 'r') || !held_number(&p, &id) ||
	    *p++ != '-' || !held_number(&p, &expires) || *p++ != '-' ||
	    strlen(p) != FG_HELD_MAC_LEN || id <= 0 || expires <= 0) {
		*error_r = fg_errorf("moderation token: not a token");
		return -1;
	}
	for (size_t i = 0; i < FG_HELD_MAC_LEN; i++) {
		if (!isxdigit((unsigned char)p[i])) {
			*error_r = fg_errorf("moderation token: not a token");
			return -1;
		}
		given[i] = (char)tolower((unsigned char)p[i]);
	}
	given[FG_HELD_MAC_LEN] = '\0';
	held_mac(secret, list, action, id, expires, mac);
	if (!fg_mem_equal_ct(mac, given, FG_HELD_MAC_LEN)) {
		*error_r = fg_errorf("moderation token: signature does not "
				     "verify");
		return 0;
	}
	if (expires < now) {
		*error_r = fg_errorf("moderation token: expired");
		return 0;
	}
	*action_r = action;
	*id_r = id;
	return 1;
}
