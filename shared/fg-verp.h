#ifndef FG_VERP_H
#define FG_VERP_H
/*
 * NAME
 *	fg-verp 3 - VERP return paths with an HMAC
 * DESCRIPTION
 *	Every message forumgate sends has a return path that says what it
 *	was, so a bounce can be traced to a post or a recipient, and that
 *	carries a MAC, so a bounce to a made-up address (backscatter, a
 *	forged bounce) is recognised and refused at RCPT time:
 *
 *		BASE+fgb.MAC.LIST.WHAT@DOMAIN
 *
 *	BASE@DOMAIN is the bounce base address (the bridge address), '+'
 *	the recipient delimiter, LIST the list name, WHAT either "pID" (a
 *	forum post, for mail to a list manager) or "rLOCAL=DOMAIN" (one
 *	recipient, when forumgate fans out itself; '@' becomes '='), MAC the
 *	first 16 hex digits of HMAC-SHA256(secret, "verp:LIST.WHAT") over
 *	the lowercased text. The MAC comes first so that WHAT may contain
 *	dots. MTAs may change the case of a local part, so parsing is
 *	case-insensitive. A local part longer than 256 bytes is neither
 *	made nor read: the make functions return NULL for it (the caller
 *	sends from the base address instead).
 */
#include <stdbool.h>

#define FG_VERP_TAG "fgb"

enum fg_verp_kind {
	FG_VERP_POST,
	FG_VERP_RECIPIENT,
};

struct fg_verp {
	char *list;
	enum fg_verp_kind kind;
	long long post_id;	/* FG_VERP_POST */
	char *recipient;	/* FG_VERP_RECIPIENT, with '@' */
};

/* fg_verp_make_post - the return path of a post mailed to a list;
   NULL for an invalid list name or a base too long to carry it */
char *fg_verp_make_post(const char *secret, const char *list,
			long long post_id, const char *base_address);
/* fg_verp_make_recipient - the return path of mail to one recipient;
   NULL when the recipient cannot be carried in a local part, or would
   make it longer than fg_verp_parse reads */
char *fg_verp_make_recipient(const char *secret, const char *list,
			     const char *recipient, const char *base_address);
/* fg_verp_parse - 1: a VERP address of ours whose MAC verifies;
   0: not a VERP address of ours (no "+fgb." extension);
   -1: it has our form but the MAC or syntax is wrong (forged) */
int fg_verp_parse(const char *secret, const char *address,
		  struct fg_verp *verp_r);
void fg_verp_clear(struct fg_verp *verp);

#endif
