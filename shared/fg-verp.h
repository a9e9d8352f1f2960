#ifndef FG_VERP_H
#define FG_VERP_H
/*
 * NAME
 *	fg-verp 3 - VERP bounce addresses with an HMAC
 * SYNOPSIS
 *	#include "fg-verp.h"
 * DESCRIPTION
 *	Mail forumgate sends carries a return path (envelope sender)
 *
 *		LIST+fgbounce-MAC-PAYLOAD@DOMAIN
 *
 *	LIST is the list name, DOMAIN the domain of the list's posting
 *	address, PAYLOAD the recipient the copy went to with its last
 *	'@' written as '=' (alice=example.org), or a post reference that
 *	contains no '@' and no '=' (e.g. "p.12.3"). MAC is the first 16
 *	hex digits of
 *
 *		HMAC-SHA256(secret, "verp:" LIST ":" payload)
 *
 *	over the lowercased list and payload, so the MAC survives a
 *	relay that changes the case of the local part. The "verp:"
 *	prefix keeps these MACs apart from the Message-ID MACs, which
 *	start with "msgid:". A bounce to an address whose MAC does not
 *	verify was not caused by our mail (a forgery or backscatter) and
 *	is refused at RCPT time by forumgate-policyd(8).
 *
 *	The marker "fgbounce" differs from the bounce addresses of list
 *	managers such as mlmmj ("LIST+bounces-N-...") on purpose: a
 *	deployment in mirror mode keeps its list manager's bounces.
 */
#include <stdbool.h>
#include <stddef.h>

#define FG_VERP_TAG		"fgbounce"
#define FG_VERP_MAC_LEN		16
/* Longest address fg_verp_parse() looks at (RFC 5321 path limit). */
#define FG_VERP_ADDRESS_MAX	256

/* fg_verp_make - the return path for one recipient (or post) of a
   list's mail; NULL when list is not a valid list name or payload is
   empty or too long */
char *fg_verp_make(const char *secret, const char *list,
		   const char *recipient_or_post, const char *domain);

/* fg_verp_parse - take a VERP address apart. Returns 1 when address
   has the VERP form and its MAC verifies (*list_r, *payload_r and
   *domain_r allocated when not NULL; payload with its '@' restored),
   0 when it has the form but the MAC does not verify (nothing
   allocated), -1 when it is not a VERP address (*error_r says why). */
int fg_verp_parse(const char *secret, const char *address,
		  char **list_r, char **payload_r, char **domain_r,
		  const char **error_r);

/* fg_verp_is_candidate - does the local part of address (len bytes)
   start with "LIST+fgbounce-"? Sets *list_len_r. No MAC check. */
bool fg_verp_is_candidate(const char *address, size_t len,
			  size_t *list_len_r);

#endif
