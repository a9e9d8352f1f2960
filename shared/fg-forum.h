#ifndef FG_FORUM_H
#define FG_FORUM_H
/*
 * NAME
 *	fg-forum 3 - forum drivers: create topics and replies over a forum API
 * SYNOPSIS
 *	#include "fg-forum.h"
 *
 *	struct fg_forum_settings set = { .type = "discourse", ... };
 *	struct fg_forum *forum;
 *	struct fg_forum_answer answer;
 *
 *	fg_forum_init(&set, &forum, &error);
 *	ret = fg_forum_create_topic(forum, title, raw, category,
 *				    &answer, &error);
 *	ret = fg_forum_create_reply(forum, topic_id, reply_to, raw,
 *				    &answer, &error);
 *	fg_forum_deinit(&forum);
 * DESCRIPTION
 *	A driver speaks one forum's HTTP API behind a table of functions,
 *	so the bridge does not care which forum it talks to: Discourse
 *	(fg-discourse.c), NodeBB (fg-nodebb.c), and any other forum through
 *	a signed JSON endpoint of its own (fg-generic.c, the contract in
 *	doc/generic-forum.md). fg_forum_create() posts
 *	as another user and with an external id; fg_forum_find(),
 *	fg_forum_upload(), fg_forum_post_author(), fg_forum_post_raw()
 *	and fg_forum_private_message() are optional per driver.
 *
 *	A forum handle is not thread-safe: each thread opens its own. A
 *	handle keeps its HTTP connection open between requests. The
 *	program calls curl_global_init() once before it starts threads.
 *
 *	Every request has an explicit timeout and a bounded answer size.
 *	Its outcome is classified, because the caller acts on the class:
 *
 *	FG_FORUM_OK		the post exists; answer_r has its ids.
 *	FG_FORUM_TRANSIENT	try the same request again later, in the same
 *				order: a timeout, a refused connection, a 5xx
 *				answer, a redirect (a wrong forum_url); a rate
 *				limit or posting delay (answer_r->cause
 *				FG_FORUM_CAUSE_RATE_LIMIT: a 429, NodeBB's
 *				400 "once every N second(s)"); refused
 *				credentials (FG_FORUM_CAUSE_CREDENTIALS).
 *				answer_r->retry_after_ms is the wait the forum
 *				asked for (Retry-After, or the wait its words
 *				name), 0 when it named none.
 *	FG_FORUM_PERMANENT	the forum refused this post (another 4xx);
 *				*error_r carries the forum's own reason.
 *				answer_r->content_refused is set when the
 *				reason is the post's content (too long,
 *				too short, blank, too similar, "seems
 *				unclear"): sending the same text again cannot
 *				succeed; answer_r->cause and min/max_length
 *				say which limit, when the words tell.
 *
 *	fg_forum_classify_refusal() makes these classes from a failed
 *	answer's status and words for every driver.
 *	FG_FORUM_HELD		the forum accepted the post but holds it for
 *				a moderator (Discourse's review queue,
 *				NodeBB's post queue): no post exists yet,
 *				so there are no ids but answer_r->held_id,
 *				the forum's id of the queued post. Do not
 *				send it again.
 *
 *	Limits: fg_forum_create() and fg_forum_find() fit the request's
 *	title and text to the forum's length limits first (fg-fit.h):
 *	the settings' max/min lengths, 0 standing for the forum type's
 *	default (FG_FORUM_*_DEFAULT below, from the forums' own sources),
 *	so a long mail is posted cut with a note instead of refused.
 * DIAGNOSTICS
 *	The create functions return one of the values above; FG_FORUM_OK
 *	is 0, failures are negative and FG_FORUM_HELD is positive; except
 *	after FG_FORUM_OK, *error_r is set to a one-line text for the
 *	log. fg_forum_init() returns -1 on a bad setting.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-fit.h"
#include "fg-record.h"

enum fg_forum_status {
	FG_FORUM_OK = 0,
	FG_FORUM_TRANSIENT = -1,
	FG_FORUM_PERMANENT = -2,
	FG_FORUM_HELD = 1,
};

struct fg_forum_settings {
	const char *type;		/* driver name: "discourse" */
	const char *url;		/* base URL, e.g. https://forum.example */
	const char *api_key;
	const char *api_username;
	unsigned int timeout_ms;	/* one request, connect included */
	size_t max_answer_size;		/* 0: FG_FORUM_DEFAULT_MAX_ANSWER */
	/* optional: called about once a second and whenever data moves
	   while a request is in progress (the caller keeps a lease alive
	   through a long request); non-zero aborts the request, which
	   then ends as FG_FORUM_TRANSIENT without an answer */
	int (*progress)(void *context);
	void *progress_context;
	/* length limits, in characters; 0: the forum type's default */
	unsigned int max_title_length;
	unsigned int min_title_length;
	unsigned int max_post_length;
	unsigned int min_post_length;
	/* forum_type generic (fg-generic.c): where posts are sent, the
	   shared signing secret, and the web address of a post (%u
	   forum_url, %t topic id, %n post number; NULL: "%u/t/%t/%n") */
	const char *generic_url;
	const char *generic_secret;
	const char *generic_link;
};

/* Discourse's defaults (config/site_settings.yml): max_topic_title_length,
   min_topic_title_length, max_post_length, and min_post_length and
   min_first_post_length (both 20). Counted in code points. */
#define FG_DISCOURSE_MAX_TITLE_DEFAULT 255
#define FG_DISCOURSE_MIN_TITLE_DEFAULT 15
#define FG_DISCOURSE_MAX_POST_DEFAULT 32000
#define FG_DISCOURSE_MIN_POST_DEFAULT 20
/* NodeBB's defaults (install/data/defaults.json): maximumTitleLength,
   minimumTitleLength (3; 0 since NodeBB 4.10), maximumPostLength,
   minimumPostLength. Counted in UTF-16 code units. */
#define FG_NODEBB_MAX_TITLE_DEFAULT 255
#define FG_NODEBB_MIN_TITLE_DEFAULT 3
#define FG_NODEBB_MAX_POST_DEFAULT 32767
#define FG_NODEBB_MIN_POST_DEFAULT 8

#define FG_FORUM_DEFAULT_MAX_ANSWER (1024 * 1024)

/* Why the forum refused a request, when its answer tells (see
   fg_forum_classify_refusal()). */
enum fg_forum_cause {
	FG_FORUM_CAUSE_OTHER = 0,
	FG_FORUM_CAUSE_RATE_LIMIT,	/* transient: a rate limit or posting
					   delay; retry_after_ms the wait */
	FG_FORUM_CAUSE_CREDENTIALS,	/* transient: the API key (or the
					   user it acts as) was refused */
	FG_FORUM_CAUSE_TOO_SHORT,	/* permanent: the text; min_length */
	FG_FORUM_CAUSE_TOO_LONG,	/* permanent: the text; max_length */
	FG_FORUM_CAUSE_TITLE_TOO_SHORT,	/* permanent: the title; min_length */
	FG_FORUM_CAUSE_TITLE_TOO_LONG,	/* permanent: the title; max_length */
	FG_FORUM_CAUSE_TOO_SIMILAR,	/* permanent: the same text again */
};

/* What the forum answered to one request. */
struct fg_forum_answer {
	long long post_id;
	long long topic_id;
	long long post_number;
	long http_status;		/* 0: no HTTP answer at all */
	unsigned int retry_after_ms;	/* transient: wait asked for, or 0 */
	bool content_refused;		/* permanent: because of the text */
	enum fg_forum_cause cause;	/* why, when the answer tells */
	unsigned int min_length;	/* TOO_SHORT: the forum's minimum */
	unsigned int max_length;	/* TOO_LONG: the forum's maximum */
	char held_id[64];		/* held: the forum's id of the queued
					   post (NodeBB "reply-MS", Discourse
					   the pending post's id), or "" */
};

struct fg_forum;

/* One post to create, with everything a driver may use; see
   fg_forum_create() below. */
struct fg_forum_request {
	const char *title;		/* a new topic: its title */
	long long category;		/* a new topic: 0 the forum's default */
	long long topic_id;		/* a reply: its topic; 0: a new topic */
	long long reply_to_post_number;	/* a reply: 0 answers the topic */
	long long reply_to_post_id;	/* the same post by id (NodeBB's
					   toPid); 0 unknown */
	const char *raw;
	const char *author;		/* forum user to post as (Discourse
					   username, NodeBB uid); NULL: the
					   bridge's own user */
	const char *external_id;	/* stable id of the source message,
					   fg_forum_external_id(); NULL none */
	const char *message_id;		/* the list message's Message-ID,
					   without <>; NULL unknown */
};

/* A file to upload and what became of it. */
struct fg_forum_file {
	const char *name;		/* UTF-8 file name */
	const char *type;		/* MIME type */
	const unsigned char *data;
	size_t size;
	const char *author;		/* as in fg_forum_request */
};
struct fg_forum_upload {
	char *url;			/* what the post links to */
	char *markdown;			/* the link as the forum wants it */
};

/* The functions a driver provides. */
struct fg_forum_vfuncs {
	const char *name;
	int (*init)(const struct fg_forum_settings *set,
		    struct fg_forum **forum_r, const char **error_r);
	void (*deinit)(struct fg_forum *forum);
	/* create_topic and create_reply: NULL when create is set */
	int (*create_topic)(struct fg_forum *forum, const char *title,
			    const char *raw, long long category,
			    struct fg_forum_answer *answer_r,
			    const char **error_r);
	int (*create_reply)(struct fg_forum *forum, long long topic_id,
			    long long reply_to_post_number, const char *raw,
			    struct fg_forum_answer *answer_r,
			    const char **error_r);
	char *(*post_url)(struct fg_forum *forum, long long topic_id,
			  long long post_number);
	/* optional: NULL falls back to create_topic/create_reply */
	int (*create)(struct fg_forum *forum,
		      const struct fg_forum_request *req,
		      struct fg_forum_answer *answer_r, const char **error_r);
	/* optional: NULL finds nothing */
	int (*find)(struct fg_forum *forum, const struct fg_forum_request *req,
		    struct fg_forum_answer *answer_r, const char **error_r);
	/* optional: NULL uploads nothing (files are listed by name) */
	int (*upload)(struct fg_forum *forum, const struct fg_forum_file *file,
		      struct fg_forum_upload *upload_r, const char **error_r);
	/* optional: the author of a post, named as
	   fg_forum_request.author names users; NULL: not known */
	int (*post_author)(struct fg_forum *forum, long long post_id,
			   char **author_r, struct fg_forum_answer *answer_r,
			   const char **error_r);
	/* optional: a post's source text (Markdown), as the bridge's
	   user reads it; NULL: the forum type has none to give */
	int (*post_raw)(struct fg_forum *forum, long long post_id,
			char **raw_r, struct fg_forum_answer *answer_r,
			const char **error_r);
	/* optional: a private message from the bridge's user to one
	   user; NULL: the forum type gets none */
	int (*private_message)(struct fg_forum *forum, const char *recipient,
			       const char *title, const char *raw,
			       struct fg_forum_answer *answer_r,
			       const char **error_r);
	/* the forum type's length limits when the settings name none */
	struct fg_fit_limits default_limits;
};

/* Every driver's handle starts with this. */
struct fg_forum {
	const struct fg_forum_vfuncs *v;
	int (*progress)(void *context);
	void *progress_context;
	struct fg_fit_limits limits;	/* what requests are fitted to */
};

/* fg_forum_progress_init - for drivers: make the curl handle call the
   settings' progress function (set in forum by fg_forum_init()) */
void fg_forum_progress_init(struct fg_forum *forum, void *curl);

extern const struct fg_forum_vfuncs fg_forum_discourse;

/* fg_forum_find_driver - the driver of that name, or NULL */
const struct fg_forum_vfuncs *fg_forum_find_driver(const char *type);
/* fg_forum_init - open a handle for the driver set->type names */
int fg_forum_init(const struct fg_forum_settings *set,
		  struct fg_forum **forum_r, const char **error_r);
/* fg_forum_limits - the length limits requests are fitted to */
const struct fg_fit_limits *fg_forum_limits(const struct fg_forum *forum);
/* fg_forum_fit_raw - the text as fg_forum_create() sends it, fitted
   to the forum's limits (caller frees): what a fingerprint of the post
   is made of */
char *fg_forum_fit_raw(const struct fg_forum *forum, const char *raw);
/* fg_forum_content_refused - is a refusal's reason (the forum's own
   words, as the classify functions below put it in *error_r) about the
   post's content: its length, or a text the forum finds empty or
   unclear */
bool fg_forum_content_refused(const char *reason);
/* fg_forum_deinit - close the connection, free, and NULL the pointer */
void fg_forum_deinit(struct fg_forum **forum);
/* fg_forum_create_topic - a new topic; category 0: the forum's default */
int fg_forum_create_topic(struct fg_forum *forum, const char *title,
			  const char *raw, long long category,
			  struct fg_forum_answer *answer_r,
			  const char **error_r);
/* fg_forum_create_reply - a post in a topic; reply_to_post_number 0:
   an answer to the topic as a whole */
int fg_forum_create_reply(struct fg_forum *forum, long long topic_id,
			  long long reply_to_post_number, const char *raw,
			  struct fg_forum_answer *answer_r,
			  const char **error_r);
/* fg_forum_post_url - the web address of a post (caller frees) */
char *fg_forum_post_url(struct fg_forum *forum, long long topic_id,
			long long post_number);
/* fg_forum_status_name - "ok", "transient", ... for logs */
const char *fg_forum_status_name(int status);
/* fg_forum_post_is_bridge - was the post made as api_username (the
   forum_api_username setting)? NodeBB's is the bridge's numeric uid
   and is compared with the post's uid; the others compare usernames,
   without regard to case. */
bool fg_forum_post_is_bridge(const char *type, const char *api_username,
			     const struct fg_post *post);

/* Discourse answer classification, exposed for tests: status is the
   HTTP status, body the answer (may be NULL), retry_after the
   Retry-After header value (may be NULL), now the current time for
   an HTTP-date Retry-After. Fills answer_r and returns the class. */
int fg_discourse_classify(long http_status, const char *body, size_t size,
			  const char *retry_after, long long now,
			  struct fg_forum_answer *answer_r,
			  const char **error_r);
/* fg_forum_parse_retry_after - delta-seconds or an HTTP-date, in ms
   from now; 0 when absent or unreadable, capped at one day */
unsigned int fg_forum_parse_retry_after(const char *value, long long now);
/* fg_forum_retry_wait - the wait before the next try: the backoff, or
   the forum's Retry-After when that is longer, up to retry_after_max
   (forum_retry_after_max) but never below the backoff */
unsigned int fg_forum_retry_wait(unsigned int backoff_ms,
				 unsigned int retry_after_ms,
				 unsigned int retry_after_max_ms);

/* fg_forum_create - a topic (req->topic_id 0) or a reply, posted as
   req->author when given; same classes as fg_forum_create_topic() */
int fg_forum_create(struct fg_forum *forum, const struct fg_forum_request *req,
		    struct fg_forum_answer *answer_r, const char **error_r);
/* fg_forum_find - look for the post req made earlier (a request that
   timed out after the forum stored it): 1 found with answer_r, 0 not
   found, or FG_FORUM_TRANSIENT / FG_FORUM_PERMANENT */
int fg_forum_find(struct fg_forum *forum, const struct fg_forum_request *req,
		  struct fg_forum_answer *answer_r, const char **error_r);
/* fg_forum_can_upload - does the driver upload files */
int fg_forum_can_upload(struct fg_forum *forum);
/* fg_forum_upload - upload one file; FG_FORUM_OK with upload_r (free
   it with fg_forum_upload_free()), or a failure class */
int fg_forum_upload(struct fg_forum *forum, const struct fg_forum_file *file,
		    struct fg_forum_upload *upload_r, const char **error_r);
void fg_forum_upload_free(struct fg_forum_upload *upload);
/* fg_forum_post_author - the author of a post (caller frees): FG_FORUM_OK
   with *author_r, FG_FORUM_PERMANENT when the forum does not have the
   post or the driver cannot tell, or a failure class */
int fg_forum_post_author(struct fg_forum *forum, long long post_id,
			 char **author_r, struct fg_forum_answer *answer_r,
			 const char **error_r);
/* fg_forum_post_raw - a post's source text (caller frees): FG_FORUM_OK
   with *raw_r, FG_FORUM_PERMANENT when the forum does not have the post
   or the driver cannot ask, or a failure class */
int fg_forum_post_raw(struct fg_forum *forum, long long post_id,
		      char **raw_r, struct fg_forum_answer *answer_r,
		      const char **error_r);
/* fg_forum_post_text - make post->raw the post's Markdown when the
   payload carried only the rendered HTML (post->cooked): the forum's
   source text (fg_forum_post_raw(); forum may be NULL), or when that
   fails the HTML converted by fg_html_to_text(), never the HTML
   itself. Returns 0 when raw was there already, 1 when the forum gave
   it, 2 when it was converted (*error_r: why the forum did not give
   it). post->cooked is kept. */
int fg_forum_post_text(struct fg_forum *forum, struct fg_post *post,
		       const char **error_r);
/* fg_forum_can_message - does the driver send private messages */
bool fg_forum_can_message(const struct fg_forum *forum);
/* fg_forum_private_message - a private message from the bridge's user
   to recipient (named as fg_forum_request.author): one of the create
   functions' values; FG_FORUM_PERMANENT when the driver sends none */
int fg_forum_private_message(struct fg_forum *forum, const char *recipient,
			     const char *title, const char *raw,
			     struct fg_forum_answer *answer_r,
			     const char **error_r);
/* fg_forum_external_id - "fg-" and 32 hex digits of SHA-256 of the
   Message-ID: fits Discourse's external_id (50 of [A-Za-z0-9_-]) */
char *fg_forum_external_id(const char *message_id);
/* fg_forum_raw_same - would the forum call the two texts the same post
   (white space and case ignored, as Discourse's raw_hash) */
int fg_forum_raw_same(const char *a, const char *b);
/* fg_forum_fingerprint - 32 hex digits of SHA-256 of the author (NULL:
   the bridge's user) and the text without white space (Unicode spaces
   too: forums turn them into ASCII ones) and ASCII case folded, so a
   post's text as the forum stores it has the fingerprint of the text
   the bridge sent */
char *fg_forum_fingerprint(const char *author, const char *raw);

extern const struct fg_forum_vfuncs fg_forum_nodebb;

/* The wait when a forum names a rate limit or posting delay but no
   time (seconds), and when it says the user is "already posting". */
#define FG_FORUM_RATE_LIMIT_DEFAULT_S 60
#define FG_FORUM_BUSY_DEFAULT_S 5

/* fg_forum_classify_refusal - for drivers: the class of a failed
   answer (http_status not 2xx) from its status and the forum's own
   words (reason: NodeBB's status.message or translation key,
   Discourse's errors; may be NULL), the Retry-After header (may be
   NULL) and a wait the body named in seconds (Discourse's
   extras.wait_seconds; 0 none). Fills answer_r's http_status,
   retry_after_ms, content_refused, cause and min/max_length:

   - 3xx, 408, 5xx: transient, Retry-After honoured;
   - 429 and a refusal that names a rate limit or posting delay (also
     in a 400: NodeBB's too-many-posts, too-many-posts-newbie,
     user-too-new, already-posting): transient, cause RATE_LIMIT, the
     wait from Retry-After, wait_s or the seconds in the words, else
     FG_FORUM_RATE_LIMIT_DEFAULT_S;
   - 401, and 403 when forbidden_is_credentials: transient, cause
     CREDENTIALS (the queue waits until the key works);
   - other 4xx: permanent; the causes of content refusals with the
     limit the forum named (0 unknown).
   Returns FG_FORUM_TRANSIENT or FG_FORUM_PERMANENT. */
int fg_forum_classify_refusal(long http_status, const char *reason,
			      const char *retry_after, unsigned int wait_s,
			      bool forbidden_is_credentials, long long now,
			      struct fg_forum_answer *answer_r);
/* fg_forum_cause_name - "rate-limit", "credentials", ... for logs */
const char *fg_forum_cause_name(enum fg_forum_cause cause);
/* fg_forum_learn_limits - a length refusal that named the forum's
   limit (answer->min_length / max_length) tightens the limits later
   requests are fitted to; true when they changed (the same request,
   fitted again, has a chance) */
bool fg_forum_learn_limits(struct fg_forum *forum,
			   const struct fg_forum_answer *answer);

/* NodeBB answer classification, exposed for tests: like
   fg_discourse_classify(), for the {status, response} envelope; a
   topic's answer carries tid and mainPid, a reply's pid, tid, index. */
int fg_nodebb_classify(long http_status, const char *body, size_t size,
		       const char *retry_after, long long now,
		       struct fg_forum_answer *answer_r,
		       const char **error_r);

extern const struct fg_forum_vfuncs fg_forum_generic;

/* The generic driver (doc/generic-forum.md), exposed for tests:
   fg_generic_sign() is the X-Forumgate-Signature value of a request
   ("sha256=" and the hex HMAC-SHA256 of the decimal timestamp, ".",
   and the body, under secret; caller frees); fg_generic_classify() is
   like fg_discourse_classify() for the contract's answers. */
char *fg_generic_sign(const char *secret, long long timestamp,
		      const char *body, size_t size);
int fg_generic_classify(long http_status, const char *body, size_t size,
			const char *retry_after, long long now,
			struct fg_forum_answer *answer_r,
			const char **error_r);
/* fg_generic_idempotency_key - the key of a request: "fg-" and 32 hex
   digits of SHA-256 of the Message-ID (fg_forum_external_id()), else
   the request's external id, else "fp-" and its fingerprint (caller
   frees) */
char *fg_generic_idempotency_key(const struct fg_forum_request *req);

#endif
