#ifndef FG_HELD_H
#define FG_HELD_H
/*
 * NAME
 *	fg-held 3 - the moderation queue of a list-mode list
 * SYNOPSIS
 *	#include "fg-held.h"
 *
 *	int fg_store_held_add(struct fg_store *store, const char *list,
 *			      const struct fg_held *held, long long max,
 *			      long long *id_r, const char **error_r);
 *	int fg_store_held_get(struct fg_store *store, const char *list,
 *			      long long id, struct fg_held **held_r,
 *			      const char **error_r);
 *
 *	char *fg_held_token(const char *secret, const char *list,
 *			    long long id, char action, long long expires);
 *	int fg_held_token_verify(const char *secret, const char *list,
 *				 const char *token, long long now,
 *				 char *action_r, long long *id_r,
 *				 const char **error_r);
 *
 *	int fg_held_announce_mail(const struct fg_held_mail *m, ...);
 *	int fg_held_notice_mail(const struct fg_held_mail *m, ...);
 * DESCRIPTION
 *	A post the filter chain holds (fg-chain.h, step access) is kept
 *	in Redis per list (fg-store-held.c; doc/redis-schema.md,
 *	"Moderation queue"): a hash per held post under an id counted
 *	per list, an index of the ids by the time they were held, the
 *	ids that forumgated still has to act on (announce the post to
 *	the moderators, tell the sender of a rejection), and the
 *	Message-IDs held so that a delivery retried holds a post once.
 *	The queue holds at most max posts.
 *
 *	The moderators act by mail through a signed token
 *	(fg-held-token.c) carried in the detail of the list's
 *	LIST-moderate+TOKEN@ address: the held post's id, the action
 *	('a' approve, 'r' reject), an expiry and an HMAC-SHA256 under
 *	the project secret over the list, id, action and expiry. The
 *	token is lower-case hexadecimal, digits and '-' only, so an MTA
 *	that changes the case of a local part does not break it; it is
 *	compared in constant time.
 *
 *	fg_held_release() (fg-held-release.c) posts an approved one: the
 *	filter chain runs again on the held message with the moderator's
 *	approval (fg_chain_ctx.moderator_approved), so it is queued for
 *	the forum and the subscribers by the chain's own queue step, once
 *	per Message-ID, and the held post is removed.
 *
 *	fg-held-mail.c writes the mails with GMime: the announcement to
 *	a moderator (the held message attached as message/rfc822) and
 *	the notice to the sender of a rejected or expired post.
 * DIAGNOSTICS
 *	Store functions return -1 with *error_r when Redis fails. Never
 *	logs.
 */
#include <stdbool.h>
#include <stddef.h>

struct fg_store;
struct fg_list;
struct fg_parse_settings;
struct fg_attach_settings;

/* fg:{LIST}:held: a sorted set, held post id -> the time it was held
   (seconds); fg:{LIST}:held:ID a hash with the fields of struct
   fg_held; fg:{LIST}:held-seq: the last id given; fg:{LIST}:held-todo:
   a sorted set of the ids forumgated has to act on (score 0);
   fg:{LIST}:held-msgid: a hash, Message-ID -> id. */
#define FG_KEY_HELD		"fg:{%s}:held"
#define FG_KEY_HELD_SEQ		"fg:{%s}:held-seq"
#define FG_KEY_HELD_TODO	"fg:{%s}:held-todo"
#define FG_KEY_HELD_MSGID	"fg:{%s}:held-msgid"

/* The token's MAC: this many hex digits of the HMAC-SHA256. */
#define FG_HELD_MAC_LEN 24
/* A token is never longer than this. */
#define FG_HELD_TOKEN_MAX 64

/* state of a held post */
#define FG_HELD_STATE_HELD	"held"
#define FG_HELD_STATE_REJECTED	"rejected"	/* the sender is told next */
#define FG_HELD_STATE_EXPIRED	"expired"	/* the sender is told next */

struct fg_held {
	long long id;			/* 0 until stored */
	char *state;			/* FG_HELD_STATE_* */
	char *message_id;
	char *from;			/* From address */
	char *envelope_from;		/* MAIL FROM, "" the null sender */
	char *subject;
	char *reason;			/* why the chain held it */
	char *chain;			/* the steps it passed */
	long long received;		/* seconds since the epoch */
	long long announced;		/* moderators told so far */
	char *reject_reason;		/* rejected: for the sender */
	char *message;			/* the message as held */
	size_t message_size;
};

/* fg_store_held_add - hold a post (held->id, state, announced and
   reject_reason are ignored): 1 held now with *id_r its id, 0 held
   before (same Message-ID; *id_r that id), 2 the queue has max posts
   already (not held), -1 Redis failed */
int fg_store_held_add(struct fg_store *store, const char *list,
		      const struct fg_held *held, long long max,
		      long long *id_r, const char **error_r);
/* fg_store_held_get - one held post: 1 with *held_r (fg_held_free()),
   0 none with that id, -1 Redis failed */
int fg_store_held_get(struct fg_store *store, const char *list,
		      long long id, struct fg_held **held_r,
		      const char **error_r);
/* fg_store_held_ids - the ids of the held posts, oldest first; with
   before > 0 only those held before that time; at most max (0: all) */
int fg_store_held_ids(struct fg_store *store, const char *list,
		      long long before, size_t max, long long **ids_r,
		      size_t *count_r, const char **error_r);
/* fg_store_held_todo - at most max ids forumgated has to act on */
int fg_store_held_todo(struct fg_store *store, const char *list, size_t max,
		       long long **ids_r, size_t *count_r,
		       const char **error_r);
/* fg_store_held_announced - count moderators told; done: every one
   (the id leaves the to-do set) */
int fg_store_held_announced(struct fg_store *store, const char *list,
			    long long id, long long count, bool done,
			    const char **error_r);
/* fg_store_held_decide - a held post in state "held" becomes state
   (rejected or expired) with reason, and goes on the to-do set for
   the notice to its sender: 1 done, 0 no such post in state held */
int fg_store_held_decide(struct fg_store *store, const char *list,
			 long long id, const char *state, const char *reason,
			 const char **error_r);
/* fg_store_held_remove - forget a held post (approved, or its sender
   told), and take its id off the to-do set: 1 removed, 0 it was gone */
int fg_store_held_remove(struct fg_store *store, const char *list,
			 long long id, const char **error_r);
/* fg_held_release - approve a held post: the chain queues it (see
   DESCRIPTION) and it leaves the queue. 1 queued now, 0 queued before
   (the same Message-ID) or the chain discards it with *why_r (static
   or in the error ring), -1 Redis failed. parse_set is
   fg_parse_settings_init()'s; attach NULL: no attachments. */
int fg_held_release(struct fg_store *store, const struct fg_list *list,
		    const struct fg_parse_settings *parse_set,
		    const struct fg_attach_settings *attach,
		    const struct fg_held *held, const char **why_r,
		    const char **error_r);
/* fg_held_free - free a held post and set *held to NULL */
void fg_held_free(struct fg_held **held);

/* fg_held_token - the token for action 'a' (approve) or 'r' (reject)
   of held post id; NULL without a secret or with a bad argument */
char *fg_held_token(const char *secret, const char *list, long long id,
		    char action, long long expires);
/* fg_held_token_verify - 1 valid (*action_r, *id_r), 0 the MAC does
   not verify or it expired, -1 not a token; *error_r says which */
int fg_held_token_verify(const char *secret, const char *list,
			 const char *token, long long now, char *action_r,
			 long long *id_r, const char **error_r);

/* What the mails of the moderation queue say. */
struct fg_held_mail {
	const char *list;		/* the list's name */
	const char *list_address;	/* its posting address */
	const char *from;		/* the mail's From: LIST-owner@ */
	const char *to;			/* the moderator, or the sender */
	const char *message_id;		/* the mail's own Message-ID */
	const struct fg_held *held;
	const char *approve_address;	/* announcement: LIST-moderate+a...@ */
	const char *reject_address;	/* announcement: LIST-moderate+r...@ */
	long long expires;		/* announcement: until then */
};

/* fg_held_announce_mail - the announcement of a held post to one
   moderator, the post attached (message/rfc822), Reply-To the approve
   address; CR LF line ends; -1 with *error_r on a bad address */
int fg_held_announce_mail(const struct fg_held_mail *m, char **data_r,
			  size_t *size_r, const char **error_r);
/* fg_held_notice_mail - the notice to the sender of a rejected or
   expired post (held->state), with the reason */
int fg_held_notice_mail(const struct fg_held_mail *m, char **data_r,
			size_t *size_r, const char **error_r);
/* fg_held_first_line - the first line of a moderator's reply that is
   not quoted or empty, at most max bytes of it, control characters
   out (caller frees); "" when there is none */
char *fg_held_first_line(const char *message, size_t size, size_t max);

#endif
