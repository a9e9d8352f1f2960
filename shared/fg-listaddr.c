/*
 * NAME
 *	fg-listaddr 3 - the addresses of a list-mode list
 * DESCRIPTION
 *	See fg-listaddr.h.
 */
#include "fg-listaddr.h"
#include "fg-address.h"
#include "fg-common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *word;	/* after "LIST-"; NULL: the posting address */
	enum fg_listaddr_role role;
} fg_listaddr_words[] = {
	{ "join", FG_LISTADDR_JOIN },
	{ "subscribe", FG_LISTADDR_JOIN },
	{ "leave", FG_LISTADDR_LEAVE },
	{ "unsubscribe", FG_LISTADDR_LEAVE },
	{ "request", FG_LISTADDR_REQUEST },
	{ "confirm", FG_LISTADDR_CONFIRM },
	{ "moderate", FG_LISTADDR_MODERATE },
	{ "owner", FG_LISTADDR_OWNER },
};

static const char *const fg_listaddr_names[FG_LISTADDR_COUNT] = {
	"post", "join", "leave", "request", "confirm", "moderate", "owner",
	"unknown",
};

/* canonical - addr in canonical form (fg-address.h), malloc'd */
static char *canonical(const char *addr)
{
	size_t len = strlen(addr);
	char *buf = fg_xmalloc(len + 1);

	buf[fg_address_canonical(addr, len, buf)] = '\0';
	return buf;
}

enum fg_listaddr_role fg_listaddr_parse(const char *list_address,
					const char *rcpt, char **detail_r)
{
	enum fg_listaddr_role role = FG_LISTADDR_POST;
	char *list = canonical(list_address), *addr = canonical(rcpt);
	char *list_at = strrchr(list, '@'), *at = strrchr(addr, '@');
	char *plus;
	size_t list_len;

	if (detail_r != NULL)
		*detail_r = NULL;
	if (list_at == NULL || at == NULL || strcmp(list_at, at) != 0)
		goto out;
	*at = '\0';
	/* the detail: after the first '+' that does not begin the local
	   part (fg_address_strip_extension()'s rule) */
	plus = strchr(addr + 1, '+');
	if (plus != NULL) {
		*plus = '\0';
		if (detail_r != NULL)
			*detail_r = fg_xstrdup(plus + 1);
	}
	list_len = (size_t)(list_at - list);
	if (strncmp(addr, list, list_len) != 0 ||
	    (addr[list_len] != '\0' && addr[list_len] != '-'))
		goto out;
	if (addr[list_len] == '\0')
		goto out;
	role = FG_LISTADDR_UNKNOWN;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_listaddr_words); i++) {
		if (strcmp(addr + list_len + 1,
			   fg_listaddr_words[i].word) == 0) {
			role = fg_listaddr_words[i].role;
			break;
		}
	}
out:
	free(list);
	free(addr);
	return role;
}

const char *fg_listaddr_role_name(enum fg_listaddr_role role)
{
	return (unsigned int)role < FG_LISTADDR_COUNT ?
		fg_listaddr_names[role] : "unknown";
}

bool fg_listaddr_role_from_name(const char *name,
				enum fg_listaddr_role *role_r)
{
	for (unsigned int i = 0; i < FG_LISTADDR_COUNT; i++) {
		if (strcmp(name, fg_listaddr_names[i]) == 0) {
			*role_r = (enum fg_listaddr_role)i;
			return true;
		}
	}
	return false;
}

char *fg_listaddr_make(const char *list_address, enum fg_listaddr_role role,
		       const char *detail)
{
	const char *at = strrchr(list_address, '@');
	const char *word = NULL;

	if (at == NULL || role == FG_LISTADDR_UNKNOWN ||
	    (unsigned int)role >= FG_LISTADDR_COUNT)
		return NULL;
	/* the first word of a role is its name */
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_listaddr_words); i++) {
		if (fg_listaddr_words[i].role == role) {
			word = fg_listaddr_words[i].word;
			break;
		}
	}
	return fg_xasprintf("%.*s%s%s%s%s%s", (int)(at - list_address),
			    list_address, word != NULL ? "-" : "",
			    word != NULL ? word : "",
			    detail != NULL ? "+" : "",
			    detail != NULL ? detail : "", at);
}
