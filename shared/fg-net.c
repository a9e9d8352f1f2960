/*
 * NAME
 *	fg-net 3 - lists of IP networks (address/bits)
 * DESCRIPTION
 *	See fg-net.h. inet_pton(3) reads the addresses; the prefix match
 *	is a byte compare and a masked last byte.
 */
#include "fg-net.h"
#include "fg-common.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Longest address text looked at (an IPv6 address with a zone). */
#define FG_NET_TEXT_MAX 64

struct fg_net {
	struct fg_net_ip ip;
	unsigned int bits;
};

struct fg_net_list {
	struct fg_net *nets;
	size_t count;
};

/* fg_net_ip_parse - an address as text into 16 bytes; *max_r its
   length in bits (32 or 128); false if it is none */
static bool fg_net_ip_parse(const char *text, struct fg_net_ip *ip,
			    unsigned int *max_r)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		ip->b[10] = ip->b[11] = 0xff;
		memcpy(ip->b + 12, &a4, 4);
		*max_r = 32;
		return true;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		memcpy(ip->b, &a6, 16);
		*max_r = 128;
		return true;
	}
	return false;
}

/* fg_net_list_parse - see fg-net.h */
int fg_net_list_parse(const char *setting, const char *value,
		      struct fg_net_list **list_r, const char **error_r)
{
	struct fg_net_list *list = fg_xcalloc(1, sizeof(*list));
	char *copy = fg_xstrdup(value != NULL ? value : ""), *save = NULL;
	char *tok, *slash;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		struct fg_net net;
		long long bits = -1;
		unsigned int max;

		if ((slash = strchr(tok, '/')) != NULL) {
			*slash = '\0';
			if (fg_parse_llong(slash + 1, &bits) < 0)
				bits = 1000;
		}
		if (!fg_net_ip_parse(tok, &net.ip, &max)) {
			*error_r = fg_errorf("%s: '%s' is not an IP address",
					     setting, tok);
			goto fail;
		}
		if (bits > (long long)max || (slash != NULL && bits < 0)) {
			*error_r = fg_errorf("%s: bad prefix length after "
					     "'%s'", setting, tok);
			goto fail;
		}
		/* an IPv4 prefix counts from the ::ffff: in front */
		net.bits = (max == 32 ? 96 : 0) +
			(bits < 0 ? max : (unsigned int)bits);
		list->nets = fg_xrealloc(list->nets, (list->count + 1) *
					 sizeof(*list->nets));
		list->nets[list->count++] = net;
	}
	free(copy);
	*list_r = list;
	return 0;
fail:
	free(copy);
	fg_net_list_free(&list);
	return -1;
}

/* fg_net_list_match - see fg-net.h */
bool fg_net_list_match(const struct fg_net_list *list,
		       const struct fg_net_ip *ip)
{
	for (size_t i = 0; list != NULL && i < list->count; i++) {
		const struct fg_net *net = &list->nets[i];
		unsigned int full = net->bits / 8, rest = net->bits % 8;

		if (memcmp(ip->b, net->ip.b, full) != 0)
			continue;
		if (rest == 0 ||
		    ((ip->b[full] ^ net->ip.b[full]) &
		     (0xff << (8 - rest)) & 0xff) == 0)
			return true;
	}
	return false;
}

/* fg_net_list_match_text - see fg-net.h */
bool fg_net_list_match_text(const struct fg_net_list *list, const char *addr,
			    size_t len)
{
	char text[FG_NET_TEXT_MAX + 1];
	struct fg_net_ip ip;
	unsigned int max;

	if (len == 0 || len > FG_NET_TEXT_MAX)
		return false;
	memcpy(text, addr, len);
	text[len] = '\0';
	return fg_net_ip_parse(text, &ip, &max) && fg_net_list_match(list, &ip);
}

/* fg_net_list_count - see fg-net.h */
size_t fg_net_list_count(const struct fg_net_list *list)
{
	return list != NULL ? list->count : 0;
}

void fg_net_list_free(struct fg_net_list **_list)
{
	struct fg_net_list *list = *_list;

	if (list == NULL)
		return;
	free(list->nets);
	free(list);
	*_list = NULL;
}
