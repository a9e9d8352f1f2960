#ifndef FG_MSGID_H
#define FG_MSGID_H
/*
 * NAME
 *	fg-msgid 3 - Message-IDs of forum posts, and HMAC helpers
 * DESCRIPTION
 *	A forum post mailed to the list gets the Message-ID
 *
 *		fg.LIST.TOPIC.POST.MAC@DOMAIN
 *
 *	(without angle brackets, as Message-IDs are stored everywhere):
 *	LIST the list name, TOPIC the forum topic id, POST the post number
 *	in the topic, MAC the first 16 hex digits of
 *	HMAC-SHA256(secret, "msgid:LIST.TOPIC.POST"). It has no random part,
 *	so a re-sent post keeps its Message-ID, the parent of a reply can be
 *	named without a lookup, and a list copy of our own mail is
 *	recognised even when the Message-ID map was lost. The MAC stops
 *	anyone else from minting IDs that we would take for our own.
 *
 *	A later revision of a post (an edit mailed again) gets
 *
 *		fg.LIST.TOPIC.POST.rREV.MAC@DOMAIN
 *
 *	REV the forum's revision number (2 and up), the MAC over
 *	"msgid:LIST.TOPIC.POST.rREV": a Message-ID of its own, as stable
 *	as the first one, that still names the post it belongs to.
 *
 *	A forum whose post numbers move (NodeBB: the number is the post's
 *	index in the topic plus one, and a purge renumbers the posts after
 *	it, so a new post can get a number another post had) names the
 *	post by its id instead:
 *
 *		fg.LIST.TOPIC.pPOSTID.MAC@DOMAIN
 *		fg.LIST.TOPIC.pPOSTID.rREV.MAC@DOMAIN
 *
 *	the MAC over "msgid:LIST.TOPIC.pPOSTID" (and ".rREV"). Both forms
 *	are parsed, whichever the forum: mail already sent keeps its ID.
 */
#include <stdbool.h>
#include <stddef.h>

/* fg_hmac_sha256_hex - lowercase hex HMAC-SHA256; out must hold 65 bytes */
void fg_hmac_sha256_hex(const void *key, size_t key_len,
			const void *data, size_t data_len, char out[65]);
/* fg_mem_equal_ct - compare without leaking the position of a mismatch */
bool fg_mem_equal_ct(const void *a, const void *b, size_t len);

/* fg_msgid_make - the Message-ID of a forum post */
char *fg_msgid_make(const char *secret, const char *list, long long topic,
		    long long post_number, const char *domain);
/* fg_msgid_make_revision - the Message-ID of a post's revision;
   revision 0 or 1 is the post itself (fg_msgid_make) */
char *fg_msgid_make_revision(const char *secret, const char *list,
			     long long topic, long long post_number,
			     long long revision, const char *domain);
/* fg_msgid_parse_revision - fg_msgid_parse, and the revision (0 for
   the post itself) */
int fg_msgid_parse_revision(const char *secret, const char *message_id,
			    char **list_r, long long *topic_r,
			    long long *post_r, long long *revision_r);
/* fg_msgid_parse - 1 when message_id is ours and its MAC verifies,
   filling the list name (caller frees), topic and post number (0 when
   the ID names the post by id: see fg_msgid_parse_post); a revision's
   ID names its post as well */
int fg_msgid_parse(const char *secret, const char *message_id,
		   char **list_r, long long *topic_r, long long *post_r);
/* What one of our Message-IDs names. */
struct fg_msgid_post {
	long long topic_id;
	long long post_number;	/* 0: the ID names the post by id */
	long long post_id;	/* 0: the ID names the post by number */
	long long revision;	/* 0: the post itself */
};

/* fg_msgid_make_post - the Message-ID of a post named by its id
   (revision 0 or 1: the post itself) */
char *fg_msgid_make_post(const char *secret, const char *list,
			 long long topic, long long post_id,
			 long long revision, const char *domain);
/* fg_msgid_parse_post - 1 when message_id is ours (either form) and
   its MAC verifies, with the list (caller frees; list_r may be NULL)
   and what it names */
int fg_msgid_parse_post(const char *secret, const char *message_id,
			char **list_r, struct fg_msgid_post *post_r);
/* fg_msgid_normalize - strip white space and angle brackets; NULL when
   nothing is left or the ID contains bytes that cannot be in one */
char *fg_msgid_normalize(const char *raw);

#endif
