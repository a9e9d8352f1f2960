#ifndef FG_NET_H
#define FG_NET_H
/*
 * NAME
 *	fg-net 3 - lists of IP networks (address/bits)
 * SYNOPSIS
 *	#include "fg-net.h"
 *
 *	int fg_net_list_parse(const char *setting, const char *value,
 *			      struct fg_net_list **list_r,
 *			      const char **error_r);
 *	bool fg_net_list_match(const struct fg_net_list *list,
 *			       const struct fg_net_ip *ip);
 *	bool fg_net_list_match_text(const struct fg_net_list *list,
 *				    const char *addr, size_t len);
 *	size_t fg_net_list_count(const struct fg_net_list *list);
 *	void fg_net_list_free(struct fg_net_list **list);
 * DESCRIPTION
 *	A setting such as webhook_trusted_addresses or bridge_clients
 *	names addresses and networks, "address" or "address/bits",
 *	IPv4 or IPv6, separated by commas or spaces. fg_net_list_parse()
 *	reads one (an empty value is an empty list, matching nothing);
 *	the error names the setting.
 *
 *	Addresses are compared as 16 bytes, an IPv4 address as
 *	::ffff:a.b.c.d, so "127.0.0.0/8" also matches ::ffff:127.0.0.1.
 *	fg_net_list_match_text() takes an address as text (Postfix's
 *	client_address, at most len bytes; not an address: no match).
 * DIAGNOSTICS
 *	fg_net_list_parse() returns -1 with *error_r on a value that is
 *	not an address or has a bad prefix length. Never logs.
 */
#include <stdbool.h>
#include <stddef.h>

/* an address as 16 bytes: IPv4 as ::ffff:a.b.c.d */
struct fg_net_ip {
	unsigned char b[16];
};

struct fg_net_list;

/* fg_net_list_parse - read a list of addresses and networks */
int fg_net_list_parse(const char *setting, const char *value,
		      struct fg_net_list **list_r, const char **error_r);
/* fg_net_list_match - the address is in one of the networks */
bool fg_net_list_match(const struct fg_net_list *list,
		       const struct fg_net_ip *ip);
/* fg_net_list_match_text - the same for an address written as text */
bool fg_net_list_match_text(const struct fg_net_list *list,
			    const char *addr, size_t len);
/* fg_net_list_count - the networks in the list */
size_t fg_net_list_count(const struct fg_net_list *list);
void fg_net_list_free(struct fg_net_list **list);

#endif
