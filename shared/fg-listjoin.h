#ifndef FG_LISTJOIN_H
#define FG_LISTJOIN_H
/*
 * NAME
 *	fg-listjoin 3 - subscribe and unsubscribe by mail: the
 *	confirmation token and the request commands
 * SYNOPSIS
 *	#include "fg-listjoin.h"
 * DESCRIPTION
 *	A subscription or unsubscription asked for by mail (LIST-join@,
 *	LIST-leave@, LIST-request@) changes nothing until the address
 *	confirms it (double opt-in). The confirmation request names
 *	LIST-confirm+TOKEN@ and a link URL/TOKEN; the token carries the
 *	action, the expiry and the address, so nothing is stored for a
 *	request that is never confirmed:
 *
 *	    ACTION.EXPIRES.ADDRESS.MAC
 *
 *	ACTION is "s" (subscribe) or "u" (unsubscribe), EXPIRES a unix
 *	time, ADDRESS the address in lower case as base32 (RFC 4648,
 *	lower-case letters, no padding) and MAC the first
 *	FG_LISTJOIN_MAC_LEN hex digits of HMAC-SHA256 under the project
 *	secret over "confirm:LIST.ACTION.EXPIRES.address". Every
 *	character is a lower-case letter, a digit or a dot: an MTA that
 *	changes the case of a local part does not break it, since
 *	fg_listjoin_verify() reads it in lower case.
 *
 *	fg_listjoin_commands() reads the commands of a mail to
 *	LIST-request@ as Mailman 3's email commands are read: the
 *	Subject first (reply prefixes "Re:" and the like skipped), then
 *	the first max_lines lines of the text; blank lines and quoted
 *	lines ("> ") are skipped, "end" or "stop" ends the commands, a
 *	line starting with "-- " (a signature) ends them too. The first
 *	word of a line (case-insensitive) is the command:
 *	"subscribe" or "join", "unsubscribe" or "leave", "help"; any
 *	other word is unknown. The first command decides, later ones
 *	are ignored, so one mail causes one answer; a Subject that is no
 *	command word ("Hello") counts only when the text has no command.
 * DIAGNOSTICS
 *	fg_listjoin_verify(): 1 valid, 0 forged or expired (with the
 *	reason in *error_r), -1 not a token.
 */
#include <stdbool.h>
#include <stddef.h>

/* MAC length in hex digits (80 bits) */
#define FG_LISTJOIN_MAC_LEN 20
/* the longest address a token is made for: the local part
   LIST-confirm+TOKEN stays below a few hundred bytes */
#define FG_LISTJOIN_ADDRESS_MAX 100
/* the longest token fg_listjoin_verify() reads */
#define FG_LISTJOIN_TOKEN_MAX 256

enum fg_listjoin_action {
	FG_LISTJOIN_SUBSCRIBE,
	FG_LISTJOIN_UNSUBSCRIBE,
};

enum fg_listjoin_command {
	FG_LISTJOIN_CMD_NONE,		/* no command found */
	FG_LISTJOIN_CMD_SUBSCRIBE,
	FG_LISTJOIN_CMD_UNSUBSCRIBE,
	FG_LISTJOIN_CMD_HELP,
	FG_LISTJOIN_CMD_UNKNOWN,
};

/* fg_listjoin_action_name - "subscribe" or "unsubscribe" */
const char *fg_listjoin_action_name(enum fg_listjoin_action action);

/* fg_listjoin_token - the token (malloc'd); NULL when the secret is
   empty, the list name invalid, expires not positive or the address
   not a plain address of at most FG_LISTJOIN_ADDRESS_MAX bytes */
char *fg_listjoin_token(const char *secret, const char *list,
			enum fg_listjoin_action action, const char *address,
			long long expires);

/* fg_listjoin_verify - check a token of list at time now: 1 with
   *action_r, *address_r (lower case, caller frees) and *expires_r;
   0 forged or expired; -1 not a token */
int fg_listjoin_verify(const char *secret, const char *list,
		       const char *token, long long now,
		       enum fg_listjoin_action *action_r, char **address_r,
		       long long *expires_r, const char **error_r);

/* fg_listjoin_commands - the command of a request mail (see
   DESCRIPTION); *word_r is the unknown command word (at most 40 bytes,
   printable ASCII, caller frees) or NULL */
enum fg_listjoin_command fg_listjoin_commands(const char *subject,
					      const char *body,
					      unsigned int max_lines,
					      char **word_r);

#endif
