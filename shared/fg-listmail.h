#ifndef FG_LISTMAIL_H
#define FG_LISTMAIL_H
/*
 * NAME
 *	fg-listmail 3 - did the list distribute this message
 * SYNOPSIS
 *	#include "fg-listmail.h"
 *
 *	enum fg_listmail fg_listmail_check(const struct fg_listmail_list *list,
 *					   const struct fg_classify_msg *msg,
 *					   const char *envelope_from,
 *					   const char **notice_r,
 *					   char **reason_r);
 *
 *	bool fg_listmail_return_path(const struct fg_listmail_list *list,
 *				     const char *address);
 *	char *fg_listmail_default_id(const char *address);
 * DESCRIPTION
 *	In mirror mode the bridge is one subscriber of a list another
 *	list manager runs. Whatever reaches its subscription address is
 *	not necessarily list mail: the list manager writes to it itself
 *	(welcome, probe, rejection and moderation notices), and anyone
 *	can mail the address directly, with whatever headers they like.
 *	fg_listmail_check() decides what a message is, in
 *	this order:
 *
 *	FG_LISTMAIL_ENVELOPE (not list mail) when the envelope sender
 *	(MAIL FROM, as the delivery agent got it; NULL when not known, ""
 *	the null sender, which is left to the bounce and auto-reply
 *	rules) is not one of
 *	the list's return paths. A list manager sends its copies from its
 *	bounce address: Mailman LIST-bounces@DOMAIN, with VERP
 *	LIST-bounces+...@DOMAIN; mlmmj LIST+bounces-...@DOMAIN (also its
 *	notices: LIST+bounces-help@, ...); the delimiter is '+' or one of
 *	list->delimiters (Postfix's recipient_delimiter). A list whose
 *	manager does otherwise names its return paths in
 *	list->return_path: patterns of whole addresses with '*' and '?'
 *	(fnmatch(3), case ignored), separated by spaces or commas, e.g.
 *	"forum+bnc*@googlegroups.com"; they replace the default forms.
 *	Headers alone prove nothing: whoever mails the bridge directly
 *	can write List-Id and To: the list.
 *
 *	FG_LISTMAIL_NOTICE when the list manager wrote it itself: From is
 *	one of its addresses at the list's domain (Mailman LIST-request,
 *	LIST-bounces, LIST-bounces+TOKEN (probes), LIST-owner,
 *	LIST-admin, LIST-confirm, LIST-confirm+TOKEN, LIST-join,
 *	LIST-leave, LIST-subscribe, LIST-unsubscribe, and the site list
 *	"mailman"; mlmmj and others LIST+ANYTHING, e.g. LIST+owner; and
 *	owner-LIST), or the Message-ID is one mlmmj makes
 *	(<TIME-PID-mlmmj-HEX@LISTDOMAIN>), or the message has no List-Post
 *	and is either Precedence: bulk (Mailman's UserNotification),
 *	X-List-Administrivia: yes (Mailman 2) or has a Message-ID
 *	@localhost (Python's make_msgid(), which Mailman's notices use,
 *	on a host without a name; the list's own domain is no sign, since
 *	members' mail clients use it too). *notice_r names the form that matched (a static
 *	string such as "mailman:request", "mlmmj:owner",
 *	"mlmmj:message-id", "precedence-bulk"), for code that reads the
 *	notices (the list refusing a post).
 *
 *	FG_LISTMAIL_POST when the list distributed it: List-Id names the
 *	list (list->list_id; NULL or "": fg_listmail_default_id()), or
 *	List-Post is <mailto:POSTING-ADDRESS>, or To or Cc holds the
 *	posting address (msg->recipients). FG_LISTMAIL_NOT_LIST
 *	otherwise.
 *
 *	*reason_r (the caller frees it) says why, for the log.
 *
 *	fg_listmail_return_path() tells whether an address is one of the
 *	list's return paths (the first rule above); the policy daemon
 *	uses it to refuse them as senders from outside.
 *
 *	fg_listmail_default_id() is the List-Id Mailman 3 writes for a
 *	posting address, LIST.DOMAIN (the '@' becomes '.'), lowercase;
 *	mlmmj writes none of its own, and the id its admins configure in
 *	control/customheaders follows the same form. The caller frees it.
 * DIAGNOSTICS
 *	Every message gets an answer. Never logs.
 */
#include <stdbool.h>
#include "fg-classify.h"

/* Longest List-Id, return path pattern list or address looked at. */
#define FG_LISTMAIL_VALUE_MAX 512

struct fg_listmail_list {
	const char *address;		/* posting address */
	const char *list_id;		/* expected List-Id; NULL: default */
	const char *return_path;	/* envelope patterns; NULL: default */
	const char *delimiters;		/* recipient_delimiter; NULL: "+" */
};

enum fg_listmail {
	FG_LISTMAIL_POST,	/* distributed by the list */
	FG_LISTMAIL_NOTICE,	/* the list manager's own mail */
	FG_LISTMAIL_NOT_LIST,	/* not from the list */
	/* not from the list: the envelope sender is none of its return
	   paths (decided before the headers were looked at) */
	FG_LISTMAIL_ENVELOPE,
};

/* fg_listmail_check - which of the three the message is */
enum fg_listmail fg_listmail_check(const struct fg_listmail_list *list,
				   const struct fg_classify_msg *msg,
				   const char *envelope_from,
				   const char **notice_r, char **reason_r);
/* fg_listmail_return_path - the address is a return path of the list */
bool fg_listmail_return_path(const struct fg_listmail_list *list,
			     const char *address);
/* fg_listmail_default_id - LIST.DOMAIN of a posting address */
char *fg_listmail_default_id(const char *address);

#endif
