/*
 * NAME
 *	fg-listjoin 3 - the confirmation token and the request commands
 * DESCRIPTION
 *	See fg-listjoin.h. The address in the token is hex rather than
 *	base64: a local part may be lower-cased on its way (RFC 5321
 *	lets a server treat it so), and hex survives that; GLib and
 *	OpenSSL have no lower-case base32, and hex takes four lines.
 */
#include "fg-listjoin.h"
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-msgid.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* the longest unknown command word given back */
#define FG_LISTJOIN_WORD_MAX 40

const char *fg_listjoin_action_name(enum fg_listjoin_action action)
{
	return action == FG_LISTJOIN_SUBSCRIBE ? "subscribe" : "unsubscribe";
}

/* fg_listjoin_mac - the MAC over list, action, expiry, address */
static void fg_listjoin_mac(const char *secret, const char *list,
			    char action, long long expires,
			    const char *address,
			    char out[FG_LISTJOIN_MAC_LEN + 1])
{
	char *data = fg_xasprintf("confirm:%s.%c.%lld.%s", list, action,
				  expires, address);
	char hex[65];

	fg_hmac_sha256_hex(secret, strlen(secret), data, strlen(data), hex);
	memcpy(out, hex, FG_LISTJOIN_MAC_LEN);
	out[FG_LISTJOIN_MAC_LEN] = '\0';
	free(data);
}

char *fg_listjoin_token(const char *secret, const char *list,
			enum fg_listjoin_action action, const char *address,
			long long expires)
{
	static const char digits[] = "0123456789abcdef";
	char mac[FG_LISTJOIN_MAC_LEN + 1], *lower, *hex, *token;
	char a = action == FG_LISTJOIN_SUBSCRIBE ? 's' : 'u';
	size_t len;

	if (secret == NULL || *secret == '\0' || list == NULL ||
	    !fg_list_name_valid(list) || expires <= 0 || address == NULL ||
	    strlen(address) > FG_LISTJOIN_ADDRESS_MAX ||
	    !fg_compose_address_valid(address))
		return NULL;
	lower = fg_str_lower(fg_xstrdup(address));
	len = strlen(lower);
	hex = fg_xmalloc(len * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[(unsigned char)lower[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)lower[i] & 15];
	}
	hex[len * 2] = '\0';
	fg_listjoin_mac(secret, list, a, expires, lower, mac);
	token = fg_xasprintf("%c.%lld.%s.%s", a, expires, hex, mac);
	free(hex);
	free(lower);
	return token;
}

/* fg_listjoin_unhex - the text of lower-case hex, NULL when it is not
   hex or holds a NUL */
static char *fg_listjoin_unhex(const char *s, size_t len)
{
	char *out;

	if (len == 0 || len % 2 != 0)
		return NULL;
	out = fg_xmalloc(len / 2 + 1);
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;

		for (size_t j = i; j < i + 2; j++) {
			char c = s[j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else {
				free(out);
				return NULL;
			}
		}
		if (v == 0) {
			free(out);
			return NULL;
		}
		out[i / 2] = (char)v;
	}
	out[len / 2] = '\0';
	return out;
}

int fg_listjoin_verify(const char *secret, const char *list,
		       const char *token, long long now,
		       enum fg_listjoin_action *action_r, char **address_r,
		       long long *expires_r, const char **error_r)
{
	char mac[FG_LISTJOIN_MAC_LEN + 1], *lower, *address = NULL, *end = NULL;
	const char *hex, *dot, *their_mac;
	long long expires = 0;
	char action;
	int ret;

	*address_r = NULL;
	if (token == NULL || strlen(token) > FG_LISTJOIN_TOKEN_MAX ||
	    secret == NULL || *secret == '\0' || list == NULL ||
	    !fg_list_name_valid(list)) {
		*error_r = fg_errorf("confirmation token: not a token");
		return -1;
	}
	/* ACTION "." EXPIRES "." HEX "." MAC, read left to right */
	lower = fg_str_lower(fg_xstrdup(token));
	action = lower[0];
	if ((action == 's' || action == 'u') && lower[1] == '.' &&
	    isdigit((unsigned char)lower[2]))
		expires = strtoll(lower + 2, &end, 10);
	if (expires <= 0 || *end != '.' || end - (lower + 2) > 18 ||
	    (dot = strchr((hex = end + 1), '.')) == NULL ||
	    strlen((their_mac = dot + 1)) != FG_LISTJOIN_MAC_LEN ||
	    strchr(their_mac, '.') != NULL ||
	    (address = fg_listjoin_unhex(hex, (size_t)(dot - hex))) == NULL ||
	    !fg_compose_address_valid(address)) {
		free(address);
		free(lower);
		*error_r = fg_errorf("confirmation token: not a token");
		return -1;
	}
	fg_listjoin_mac(secret, list, action, expires, address, mac);
	if (!fg_mem_equal_ct(mac, their_mac, FG_LISTJOIN_MAC_LEN)) {
		*error_r = fg_errorf("confirmation token: signature does "
				     "not verify");
		ret = 0;
	} else if (expires < now) {
		*error_r = fg_errorf("confirmation token: expired");
		ret = 0;
	} else {
		*action_r = action == 's' ? FG_LISTJOIN_SUBSCRIBE :
			FG_LISTJOIN_UNSUBSCRIBE;
		*expires_r = expires;
		*address_r = address;
		address = NULL;
		ret = 1;
	}
	free(address);
	free(lower);
	return ret;
}

/* fg_listjoin_skip_prefixes - past "Re:", "AW:", "Fwd:" and the like
   (a word of at most four letters and a colon) and spaces */
static const char *fg_listjoin_skip_prefixes(const char *s)
{
	for (;;) {
		const char *p = s;
		size_t n = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		while (isalpha((unsigned char)p[n]) && n < 5)
			n++;
		if (n == 0 || n > 4 || p[n] != ':')
			return p;
		s = p + n + 1;
	}
}

/* fg_listjoin_line - the command of one line; NONE for nothing */
static enum fg_listjoin_command fg_listjoin_line(const char *line,
						 size_t len, bool *end_r,
						 char **word_r)
{
	static const struct {
		const char *word;
		enum fg_listjoin_command cmd;
	} words[] = {
		{ "subscribe", FG_LISTJOIN_CMD_SUBSCRIBE },
		{ "join", FG_LISTJOIN_CMD_SUBSCRIBE },
		{ "unsubscribe", FG_LISTJOIN_CMD_UNSUBSCRIBE },
		{ "leave", FG_LISTJOIN_CMD_UNSUBSCRIBE },
		{ "help", FG_LISTJOIN_CMD_HELP },
	};
	size_t i = 0, start, wlen;

	*end_r = false;
	if (len >= 3 && strncmp(line, "-- ", 3) == 0) {
		*end_r = true;
		return FG_LISTJOIN_CMD_NONE;
	}
	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == '>')
		return FG_LISTJOIN_CMD_NONE;
	start = i;
	while (i < len && !isspace((unsigned char)line[i]))
		i++;
	wlen = i - start;
	if ((wlen == 3 && strncasecmp(line + start, "end", 3) == 0) ||
	    (wlen == 4 && strncasecmp(line + start, "stop", 4) == 0)) {
		*end_r = true;
		return FG_LISTJOIN_CMD_NONE;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == wlen &&
		    strncasecmp(line + start, words[i].word, wlen) == 0)
			return words[i].cmd;
	}
	if (word_r != NULL) {
		size_t n = wlen > FG_LISTJOIN_WORD_MAX ?
			FG_LISTJOIN_WORD_MAX : wlen;
		char *w = fg_xstrndup(line + start, n);

		for (char *q = w; *q != '\0'; q++) {
			if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e)
				*q = '?';
		}
		*word_r = w;
	}
	return FG_LISTJOIN_CMD_UNKNOWN;
}

enum fg_listjoin_command fg_listjoin_commands(const char *subject,
					      const char *body,
					      unsigned int max_lines,
					      char **word_r)
{
	enum fg_listjoin_command cmd, first = FG_LISTJOIN_CMD_NONE;
	unsigned int lines = 0;
	char *subject_word = NULL;
	const char *p;
	bool end = false;

	*word_r = NULL;
	/* a subject that is no command ("Hello") does not hide the
	   commands of the body; it is the answer only when they are
	   missing */
	if (subject != NULL) {
		p = fg_listjoin_skip_prefixes(subject);
		first = fg_listjoin_line(p, strcspn(p, "\r\n"), &end,
					 &subject_word);
		if (first != FG_LISTJOIN_CMD_NONE &&
		    first != FG_LISTJOIN_CMD_UNKNOWN)
			return first;
	}
	for (p = body; !end && p != NULL && *p != '\0' && lines < max_lines;
	     lines++) {
		size_t len = strcspn(p, "\n");

		cmd = fg_listjoin_line(p, len, &end, word_r);
		if (cmd != FG_LISTJOIN_CMD_NONE) {
			free(subject_word);
			return cmd;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	*word_r = subject_word;
	return first;
}
