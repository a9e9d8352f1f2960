#ifndef FG_THREADING_H
#define FG_THREADING_H
/*
 * NAME
 *	fg-threading 3 - where a message belongs in a thread, both ways
 * SYNOPSIS
 *	#include "fg-threading.h"
 *
 *	ret = fg_threading_find_parent(rec, secret, list, lookup_msgid,
 *				       context, &parent, &parent_id, &error);
 *	ret = fg_threading_outbound(secret, list, domain, post, lookup_post,
 *				    context, &headers, &error);
 *	fg_threading_headers_free(&headers);
 * DESCRIPTION
 *	List to forum: a list message answers the forum post of the first
 *	of its In-Reply-To and then its References, newest to oldest,
 *	that the Message-ID map knows. A Message-ID of our own scheme
 *	(fg-msgid) whose MAC verifies names its post even when the map
 *	lost it. Nothing known: the message starts a topic.
 *
 *	Forum to list: a post's Message-ID is fg_msgid_make() of its
 *	place, or fg_msgid_make_post() of its id on a forum whose post
 *	numbers move (by_id). It answers the post the forum says it
 *	replies to: by id (NodeBB's toPid, reply_to_post_id) or by number
 *	(Discourse's reply_to_post_number); else the topic's first post;
 *	a topic's first post answers nothing. In-Reply-To is the parent's
 *	Message-ID: the list mail's own when the post came from the list,
 *	the one it was mailed with, or else ours for it. References walk
 *	up from the parent through the map's parent links (by id where
 *	the map has one, else by number; at most FG_THREADING_MAX_DEPTH),
 *	oldest first, and always start with the topic's first post, so
 *	every mail client files the mail in the same thread even when
 *	messages in between are missing.
 *
 *	The Redis lookups are callbacks, so these rules are tested without
 *	a server and the store stays the only code that speaks Redis.
 * DIAGNOSTICS
 *	Lookups return 1 found, 0 not found, -1 with *error_r; the
 *	functions here pass a -1 on.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-record.h"
#include "fg-store.h"

#define FG_THREADING_MAX_DEPTH 20

/* Look a Message-ID up in the list's map (fg_store_lookup_msgid). */
typedef int fg_threading_msgid_lookup_fn(void *context,
					 const char *message_id,
					 struct fg_post_ref *ref_r,
					 const char **error_r);
/* Look a post up in the list's map (fg_store_lookup_post: by post_id
   when it is not 0); on 1 the callee allocates *message_id_r. */
typedef int fg_threading_post_lookup_fn(void *context, long long topic_id,
					long long post_number,
					long long post_id,
					char **message_id_r,
					struct fg_post_ref *ref_r,
					const char **error_r);

/* Threading headers of a forum post mailed to the list. */
struct fg_threading_headers {
	char *message_id;
	long long parent_post_number;	/* 0: a topic's first post, or
					   the parent is known by id */
	long long parent_post_id;	/* 0: not known */
	char *in_reply_to;		/* NULL: a topic's first post */
	char **references;		/* oldest first */
	size_t n_references;
};

/* fg_threading_find_parent - the post a list message answers: 1 with
   *parent_r and *parent_id_r (points into rec), 0 none; secret may be
   NULL to trust the map only */
int fg_threading_find_parent(const struct fg_record *rec, const char *secret,
			     const char *list,
			     fg_threading_msgid_lookup_fn *lookup,
			     void *context, struct fg_post_ref *parent_r,
			     const char **parent_id_r, const char **error_r);
/* fg_threading_parent_post - the post number a forum post answers,
   0 for a topic's first post */
long long fg_threading_parent_post(const struct fg_post *post);
/* fg_threading_parent - the post a forum post answers: *id_r (its
   reply_to_post_id) or *number_r (reply_to_post_number, else 1: the
   topic's first post); both 0 for a topic's first post */
void fg_threading_parent(const struct fg_post *post, long long *number_r,
			 long long *id_r);
/* fg_threading_post_msgid - the Message-ID forumgate gives a post it
   mails: by id when by_id (the forum's post numbers move), else by
   place; revision 0 for the post itself */
char *fg_threading_post_msgid(const char *secret, const char *list,
			      const char *domain, bool by_id,
			      const struct fg_post *post, long long revision);
/* fg_threading_outbound - Message-ID, In-Reply-To and References;
   by_id as in fg_threading_post_msgid() */
int fg_threading_outbound(const char *secret, const char *list,
			  const char *domain, bool by_id,
			  const struct fg_post *post,
			  fg_threading_post_lookup_fn *lookup, void *context,
			  struct fg_threading_headers *headers_r,
			  const char **error_r);
/* fg_threading_headers_free - free the members, leave the struct empty */
void fg_threading_headers_free(struct fg_threading_headers *headers);

#endif
