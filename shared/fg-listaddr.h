#ifndef FG_LISTADDR_H
#define FG_LISTADDR_H
/*
 * NAME
 *	fg-listaddr 3 - the addresses of a list-mode list
 * SYNOPSIS
 *	#include "fg-listaddr.h"
 * DESCRIPTION
 *	A list-mode list (doc/list-mode.md) has its posting address
 *	LIST@DOMAIN and control addresses beside it, as Mailman 3 has:
 *
 *	LIST-join@, LIST-subscribe@	subscribe the sender (confirmed)
 *	LIST-leave@, LIST-unsubscribe@	unsubscribe the sender (confirmed)
 *	LIST-request@			commands in the subject or body
 *	LIST-confirm+TOKEN@		the reply to a confirmation request
 *	LIST-moderate+TOKEN@		a moderator's reply to a held post
 *	LIST-owner@			the list's owners
 *
 *	fg_listaddr_parse() tells which one a recipient is. The
 *	recipient is compared as Postfix resolves it (fg-address.h: case,
 *	quotes, a trailing dot); the extension after the recipient
 *	delimiter '+' is the detail (a confirmation token, or a VERP
 *	return path's "fgb...." on the posting address). Any other local
 *	part "LIST-WORD" is FG_LISTADDR_UNKNOWN: mail to it is neither a
 *	post nor a command. An address that is not LIST or LIST-WORD in
 *	the list's domain (a userdb alias of the list) is a post.
 *
 *	fg_listaddr_make() writes a control address, with a detail.
 */
#include <stdbool.h>

enum fg_listaddr_role {
	FG_LISTADDR_POST,
	FG_LISTADDR_JOIN,
	FG_LISTADDR_LEAVE,
	FG_LISTADDR_REQUEST,
	FG_LISTADDR_CONFIRM,
	FG_LISTADDR_MODERATE,
	FG_LISTADDR_OWNER,
	FG_LISTADDR_UNKNOWN,

	FG_LISTADDR_COUNT
};

/* fg_listaddr_parse - the role of rcpt for the list whose posting
   address is list_address; *detail_r (when not NULL) is the extension
   after '+', malloc'd, or NULL when there is none */
enum fg_listaddr_role fg_listaddr_parse(const char *list_address,
					const char *rcpt, char **detail_r);

/* fg_listaddr_role_name - "post", "join", ...; the name that a stream
   entry of fg:{LIST}:control carries */
const char *fg_listaddr_role_name(enum fg_listaddr_role role);

/* fg_listaddr_role_from_name - the role of a name; false when unknown */
bool fg_listaddr_role_from_name(const char *name,
				enum fg_listaddr_role *role_r);

/* fg_listaddr_make - LIST-ROLE[+detail]@DOMAIN of the list whose posting
   address is list_address (malloc'd); NULL when list_address has no
   '@' or role is FG_LISTADDR_UNKNOWN */
char *fg_listaddr_make(const char *list_address, enum fg_listaddr_role role,
		       const char *detail);

#endif
