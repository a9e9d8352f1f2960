/*
 * NAME
 *	fg-address 3 - envelope recipients as Postfix resolves them
 * DESCRIPTION
 *	See fg-address.h. Pure string work on caller buffers.
 * SEE ALSO
 *	Postfix postconf(5) recipient_delimiter, owner_request_special;
 *	Postfix src/global/split_addr.c.
 */
#include "fg-address.h"

#include <string.h>
#include <strings.h>

/* address_lower - ASCII lowercase of one byte */
static char address_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* address_at - the '@' between local part and domain: the last one
   outside a quoted string, or NULL */
static const char *address_at(const char *addr, size_t len)
{
	const char *at = NULL;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (addr[i] == '\\' && quoted)
			i++;
		else if (addr[i] == '"')
			quoted = !quoted;
		else if (addr[i] == '@' && !quoted)
			at = addr + i;
	}
	return at;
}

size_t fg_address_canonical(const char *addr, size_t len, char *buf)
{
	const char *at = address_at(addr, len);
	size_t local = at != NULL ? (size_t)(at - addr) : len, n = 0;
	bool quoted = false;

	for (size_t i = 0; i < local; i++) {
		if (addr[i] == '"') {
			quoted = !quoted;
			continue;
		}
		if (addr[i] == '\\' && quoted && i + 1 < local)
			i++;
		buf[n++] = address_lower(addr[i]);
	}
	if (at != NULL) {
		size_t end = len;
		/* "lists.test." is "lists.test" */
		while (end > local + 1 && addr[end - 1] == '.')
			end--;
		for (size_t i = local; i < end; i++)
			buf[n++] = address_lower(addr[i]);
	}
	buf[n] = '\0';
	return n;
}

bool fg_address_strip_extension(char *addr, const char *delimiters)
{
	char *at = strrchr(addr, '@');
	size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr), ext;

	if (delimiters == NULL || *delimiters == '\0' || local == 0)
		return false;
	if ((local == 10 && strncasecmp(addr, "postmaster", 10) == 0) ||
	    (local == 13 && strncasecmp(addr, "mailer-daemon", 13) == 0))
		return false;
	if (strchr(delimiters, '-') != NULL &&
	    (strncasecmp(addr, "owner-", 6) == 0 ||
	     (local > 8 && strncasecmp(addr + local - 8, "-request", 8) == 0)))
		return false;
	/* the first delimiter character of the local part */
	for (ext = 1; ext < local; ext++) {
		if (strchr(delimiters, addr[ext]) != NULL)
			break;
	}
	if (ext >= local)
		return false;
	memmove(addr + ext, addr + local, strlen(addr + local) + 1);
	return true;
}
