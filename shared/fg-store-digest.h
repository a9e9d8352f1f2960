#ifndef FG_STORE_DIGEST_H
#define FG_STORE_DIGEST_H
/*
 * NAME
 *	fg-store-digest 3 - a list-mode list's digest in Redis
 * SYNOPSIS
 *	#include "fg-store-digest.h"
 *
 *	ret = fg_store_digest_add(store, list, &lease, message_id, copy,
 *				  size, posts_max, &error);
 *	ret = fg_store_digest_take(store, list, &lease, &due, &issue,
 *				   &error);
 *	fg_store_digest_posts(store, list, &issue, &posts, &n, &error);
 *	fg_store_digest_recipients(store, list, issue.next, 256, &rcpts,
 *				   &n, &error);
 *	fg_store_digest_record(store, list, &lease, issue.first, next, 1,
 *			       0, &error);
 *	fg_store_digest_finish(store, list, &lease, issue.first, now,
 *			       &error);
 *	fg_store_digest_status(store, list, &status, &error);
 *	fg_store_digest_send_now(store, list, &error);
 * DESCRIPTION
 *	The fan-out (bridge-dist.c) adds the copy of every post it
 *	distributes to the list's digest accumulator FG_KEY_DIGEST (a
 *	stream: message_id, size, message), once per Message-ID
 *	(FG_KEY_DIGEST_SEEN, trimmed to the seen retention; a Message-ID
 *	whose fan-out began, FG_KEY_DIST_DONE, is not added again either):
 *	1 added, 2 added before, 3 not added because the accumulator holds
 *	posts_max posts already, 0 the lease is lost. FG_KEY_DIGEST_STATE
 *	keeps the bytes waiting ("size"), the numbers of the last issue
 *	("volume", "issue", "month"), when the last one went out
 *	("last_sent", unix s; set at the first post), "send_now" when an
 *	administrator asked for one, and "issues" sent.
 *
 *	fg_store_digest_take() starts an issue when one is due: a post
 *	is waiting and send_now is set, or the size waiting reached
 *	due->size_max (0: never by size), or the last issue went out
 *	before due->since (the last digest hour). The issue takes the
 *	oldest posts up to due->bytes_max bytes (at least one post) and
 *	due->posts_max posts; it is numbered as Mailman numbers digests
 *	(the volume goes up when due->month differs from the last
 *	issue's, and the issue number starts at 1 again); the subscribers
 *	in state "digest" are copied, in byte order, to FG_KEY_DIGEST_RCPT
 *	and FG_KEY_DIGEST_ISSUE records the issue: volume, issue, date,
 *	its first and last entry ids, posts, size, total, next, sent,
 *	refused. An issue begun and not finished is returned again,
 *	resumed set, whatever is due: a daemon killed while it sent the
 *	digest resumes at "next" with the same posts, numbers and date.
 *	FG_DIGEST_GO (issue_r set), FG_DIGEST_NOT_DUE, FG_DIGEST_LOST.
 *
 *	fg_store_digest_record() records the position after a recipient
 *	the relay answered for good; fg_store_digest_finish() deletes the
 *	issue's posts from the accumulator (XTRIM MINID past its last
 *	entry), the issue and its recipients, lowers "size" and sets
 *	"last_sent", in one step. Every write is one script that checks
 *	the list's FG_QUEUE_DIST lease and fencing token first (the
 *	fan-out's): the digest of a list is sent by the daemon that holds
 *	its fan-out, between two posts.
 *
 *	fg_store_digest_status() is what the admin command shows;
 *	fg_store_digest_send_now() sets "send_now".
 * DIAGNOSTICS
 *	-1 with *error_r on a Redis failure or an unexpected answer.
 *	Never logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-store.h"

#define FG_KEY_DIGEST		"fg:{%s}:digest"
#define FG_KEY_DIGEST_SEEN	"fg:{%s}:digest-seen"
#define FG_KEY_DIGEST_STATE	"fg:{%s}:digest-state"
#define FG_KEY_DIGEST_ISSUE	"fg:{%s}:digest-issue"
#define FG_KEY_DIGEST_RCPT	"fg:{%s}:digest-rcpt"

#define FG_DIGEST_ID_MAX 64

enum fg_digest_take {
	FG_DIGEST_LOST = 0,	/* the lease is held by another daemon */
	FG_DIGEST_GO = 1,	/* an issue to send (new or resumed) */
	FG_DIGEST_NOT_DUE = 2,	/* nothing to send now */
};

/* When an issue is due, and how big it may be. */
struct fg_digest_due {
	long long now;		/* unix s */
	long long since;	/* the last digest hour, unix s */
	long long size_max;	/* bytes waiting that make it due; 0 never */
	long long bytes_max;	/* bytes of posts in one issue */
	long long posts_max;	/* posts in one issue */
	long long month;	/* YYYYMM of now, for the volume */
};

/* An issue being sent. */
struct fg_digest_issue {
	long long volume, issue;
	long long date;		/* unix s, when it was taken */
	long long posts, size;
	long long total, next, sent, refused;
	char first[FG_DIGEST_ID_MAX], last[FG_DIGEST_ID_MAX];
	bool resumed;
};

/* A post of the accumulator. */
struct fg_digest_stored {
	char *message_id;
	char *message;
	size_t size;
};

/* What the admin command shows. */
struct fg_digest_status {
	long long posts, size;		/* waiting */
	long long volume, issue;	/* of the last issue taken */
	long long last_sent, issues;
	bool send_now;
	bool sending;			/* an issue is being sent: */
	struct fg_digest_issue current;
};

/* fg_store_digest_add - the copy of a post into the accumulator */
int fg_store_digest_add(struct fg_store *store, const char *list,
			const struct fg_lease *lease, const char *message_id,
			const char *message, size_t size, long long posts_max,
			const char **error_r);
/* fg_store_digest_take - an issue to send, if one is due */
int fg_store_digest_take(struct fg_store *store, const char *list,
			 const struct fg_lease *lease,
			 const struct fg_digest_due *due,
			 struct fg_digest_issue *issue_r, const char **error_r);
/* fg_store_digest_posts - the posts of the issue (free with
   fg_store_digest_posts_free) */
int fg_store_digest_posts(struct fg_store *store, const char *list,
			  const struct fg_digest_issue *issue,
			  struct fg_digest_stored **posts_r, size_t *count_r,
			  const char **error_r);
void fg_store_digest_posts_free(struct fg_digest_stored *posts, size_t n);
/* fg_store_digest_recipients - max recipients from position start */
int fg_store_digest_recipients(struct fg_store *store, const char *list,
			       long long start, size_t max, char ***rcpts_r,
			       size_t *count_r, const char **error_r);
/* fg_store_digest_record - the position after a recipient; 1 recorded,
   0 lease lost or not this issue */
int fg_store_digest_record(struct fg_store *store, const char *list,
			   const struct fg_lease *lease, const char *first,
			   long long next, long long sent, long long refused,
			   const char **error_r);
/* fg_store_digest_finish - the issue is sent; 1 done, 0 lease lost */
int fg_store_digest_finish(struct fg_store *store, const char *list,
			   const struct fg_lease *lease, const char *first,
			   long long now, const char **error_r);
/* fg_store_digest_status - the digest's state for the admin */
int fg_store_digest_status(struct fg_store *store, const char *list,
			   struct fg_digest_status *status_r,
			   const char **error_r);
/* fg_store_digest_send_now - ask for an issue at the next look */
int fg_store_digest_send_now(struct fg_store *store, const char *list,
			     const char **error_r);

#endif
