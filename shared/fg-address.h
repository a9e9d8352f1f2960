#ifndef FG_ADDRESS_H
#define FG_ADDRESS_H
/*
 * NAME
 *	fg-address 3 - envelope recipients as Postfix resolves them
 * SYNOPSIS
 *	#include "fg-address.h"
 * DESCRIPTION
 *	Postfix delivers <forum@lists.test.>, <"forum"@lists.test>,
 *	<Forum@Lists.Test> and <forum+x@lists.test> to the same place
 *	as <forum@lists.test>: trivial-rewrite(8) drops the trailing dot
 *	of the domain, the address is kept unquoted internally, table
 *	lookups ignore case, and a recipient_delimiter extension is
 *	looked up without it when the full address is not found. A
 *	decision about a list address must see a recipient the same way,
 *	or a different spelling of the address passes it by.
 *
 *	fg_address_canonical() writes the address with its local part
 *	unquoted (quotes and backslash escapes removed), lowercased, and
 *	with the trailing dots of the domain removed. The result is never
 *	longer than the input.
 *
 *	fg_address_strip_extension() cuts the extension off a canonical
 *	address like Postfix's split_addr(): the local part ends at the
 *	first of the delimiter characters (several are allowed, as in
 *	Postfix 2.11 and later; "" means none). As in Postfix, postmaster
 *	and mailer-daemon are never split, and when '-' is a delimiter
 *	neither are owner-* and *-request. A delimiter at the start of the
 *	local part is not an extension.
 */
#include <stdbool.h>
#include <stddef.h>

/* fg_address_canonical - addr (len bytes) in canonical form into buf,
   which has room for len + 1 bytes; returns the length written */
size_t fg_address_canonical(const char *addr, size_t len, char *buf);

/* fg_address_strip_extension - drop the recipient_delimiter extension
   of a canonical address in place; true when there was one */
bool fg_address_strip_extension(char *addr, const char *delimiters);

#endif
