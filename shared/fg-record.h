#ifndef FG_RECORD_H
#define FG_RECORD_H
/*
 * NAME
 *	fg-record 3 - the two records that travel through the queues
 * DESCRIPTION
 *	struct fg_record is one list message, normalized by fg-mailparse
 *	(list -> forum). struct fg_post is one forum post, as a webhook
 *	or forum-side code reported it (forum -> list). Both are stored
 *	field by field in Redis streams (see doc/redis-schema.md); the
 *	field names there are the member names here.
 *
 *	Message-IDs are stored without angle brackets everywhere.
 */
#include <stddef.h>

struct fg_attachment;

enum fg_class {
	FG_CLASS_POST,		/* post it */
	FG_CLASS_OWN,		/* our own message came back */
	FG_CLASS_AUTO_REPLY,	/* vacation, out of office, ... */
	FG_CLASS_BOUNCE,	/* delivery status notification */
	FG_CLASS_NOT_LIST,	/* not distributed by the list */
	FG_CLASS_LIST_NOTICE,	/* the list manager's own mail */
};

struct fg_record {
	char *message_id;
	char *in_reply_to;	/* may be NULL */
	char **references;	/* oldest first */
	size_t n_references;
	char *subject;		/* decoded to UTF-8 */
	char *title;		/* normalized subject */
	char *from_name;	/* may be empty */
	char *from_email;
	char *date;		/* ISO 8601, UTC */
	char *list_id;		/* may be NULL */
	char *body;		/* UTF-8 text that is posted */
	enum fg_class classification;
	char *reason;		/* why it was classified so */
	struct fg_attachment *attachments;	/* fg-attach.h; may be NULL */
	size_t n_attachments;
	char *trimmed;		/* quote and signature cut from the body */
	/* a quote that ends the body without an attribution: the body's
	   bytes [quote_start, quote_end), cut by the bridge when it is
	   the parent's text (fg-quote.h); both 0: none */
	size_t quote_start, quote_end;
	char *quote_sketch;	/* fg_quote_sketch() of it; NULL: none */
	char *text_sketch;	/* fg_quote_sketch() of the whole text sent */
	/* the evidence that from_email is authenticated (fg-auth.h), e.g.
	   "dmarc=pass header.from=example.org by mx.example.net"; "": it
	   is not, and the sender is not mapped to a forum user */
	char *from_auth;
	/* FG_CLASS_LIST_NOTICE: which of the list manager's notices
	   (fg-listmail.h, a static string); NULL otherwise. Not queued. */
	const char *notice;
	/* the delivery or feedback report (fg-bounce.h) of a
	   FG_CLASS_BOUNCE message; NULL otherwise. Not queued. */
	struct fg_bounce *bounce;
};

struct fg_post {
	long long post_id;
	long long topic_id;
	long long post_number;
	long long reply_to_post_number;	/* 0: none */
	/* the id of the post it answers where the forum names the parent
	   by id (NodeBB's toPid); 0: none or not known */
	long long reply_to_post_id;
	long long category_id;		/* 0: unknown */
	char *username;
	/* the author's numeric forum id where the forum names users by
	   it (NodeBB's uid); 0: not known */
	long long user_id;
	char *name;			/* display name, may be empty */
	char *topic_title;
	char *raw;			/* Markdown; "" when only cooked came */
	/* the post as the forum rendered it (HTML), when that is all the
	   payload carried (NodeBB's content, a cooked without raw); NULL
	   otherwise. The outbound worker asks the forum for the raw text
	   or converts this (fg_forum_post_text()): HTML is never mailed
	   as plain text. */
	char *cooked;
	char *created_at;
	char *group;			/* primary group; may be NULL */
	long long revision;		/* 0: the post; 2..: an edit of it */
};

const char *fg_class_name(enum fg_class class);
void fg_record_free(struct fg_record **rec);
void fg_post_free(struct fg_post **post);

#endif
