#ifndef POLICYD_H
#define POLICYD_H
/*
 * NAME
 *	policyd 3 - the parts of forumgate-policyd(8)
 * DESCRIPTION
 *	forumgate-policyd.c: options, settings, listeners, signals and
 *	the event loop. policyd-conn.c: one Postfix policy client
 *	connection. policyd-redis.c: the Redis connection, the posting
 *	addresses and the membership lookups. policyd-log.c: the log.
 *
 *	Everything runs in one thread on one libevent event_base; no
 *	call blocks.
 */
#include <stdbool.h>
#include <stdnoreturn.h>
#include <event2/event.h>
#include <event2/bufferevent.h>

#include "fg-common.h"
#include "fg-config.h"
#include "fg-policy.h"

/* Built-in tunables (candidates for settings). */
/* First and longest wait before reconnecting to Redis. */
#define POLICYD_BACKOFF_MIN_MS	100
#define POLICYD_BACKOFF_MAX_MS	10000
/* Unsent answers a client may leave unread before its requests are
   no longer read. */
#define POLICYD_OUTPUT_MAX	(64 * 1024)
/* Wait after accept() failed (e.g. out of file descriptors). */
#define POLICYD_ACCEPT_PAUSE_MS	1000
/* The lists' facts are read in full every this many policy_refresh
   (a minute with the default), whatever their serial says. */
#define POLICYD_FULL_READ_EVERY	12

/* Exit codes (sysexits.h). */
#define POLICYD_EX_USAGE	64
#define POLICYD_EX_SOFTWARE	70
#define POLICYD_EX_OSERR	71
#define POLICYD_EX_CONFIG	78

struct policyd_redis;
struct policyd_conn;

struct fg_redis_params;

struct policyd {
	struct fg_config *config;
	struct event_base *base;
	struct policyd_redis *redis;
	/* Redis address, AUTH and TLS, made before privileges are
	   dropped; policyd_redis_new() takes it */
	struct fg_redis_params *redis_params;
	struct fg_policy_settings policy;	/* from config */
	/* policy_idle_timeout as one of libevent's common timeouts: every
	   connection has the same one, and a read re-arms it in O(1)
	   instead of moving it in the timer heap */
	const struct timeval *idle_timeout;
	struct policyd_conn *conns;	/* every open client connection */
	unsigned int n_conns;
	bool spawn;			/* one client on stdin/stdout */
	bool verbose;
	bool stopping;
};

/* policyd-log.c */
enum policyd_log_dest {
	POLICYD_LOG_STDERR = 1,
	POLICYD_LOG_SYSLOG = 2,
};
void policyd_log_init(const char *name, int dest);
void policyd_log_dest(int dest);
void policyd_info(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);
void policyd_warn(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);
noreturn void policyd_fatal(int status, const char *fmt, ...)
	FG_ATTR_FORMAT(2, 3);
/* policyd_log_base - from now on, write the info lines for stderr
   once per iteration of base's loop (NULL: at once again) */
void policyd_log_base(struct event_base *base);
/* policyd_log_flush - write the info lines not written yet */
void policyd_log_flush(void);
/* policyd_printable - a printable, bounded copy of s for the log */
const char *policyd_printable(char *buf, size_t size, const char *s);
/* A log line built piece by piece (longer ones are cut). */
#define POLICYD_LINE_MAX 2048
struct policyd_line {
	size_t len;
	char buf[POLICYD_LINE_MAX];
};
/* policyd_line_add - append a string of our own */
void policyd_line_add(struct policyd_line *line, const char *s);
/* policyd_line_add_value - append a value from a client: at most max
   bytes (then "..."), anything not printable ASCII as '?' */
void policyd_line_add_value(struct policyd_line *line,
			    const struct fg_policy_value *v, size_t max);
/* policyd_line_info - log the line as an informational message */
void policyd_line_info(const struct policyd_line *line);
/* policyd_log_libevent - route libevent's own messages to the log */
void policyd_log_libevent(void);

/* policyd-redis.c */
/* policyd_addresses_cb - the first attempt to read the posting
   addresses finished (whether or not it succeeded) */
typedef void policyd_addresses_cb(struct policyd *pd);
/* facts NULL: the lookup failed (error set) */
typedef void policyd_member_cb(void *context,
			       const struct fg_policy_facts *facts,
			       const char *error);
struct policyd_lookup;

struct policyd_redis *policyd_redis_new(struct policyd *pd,
					policyd_addresses_cb *callback);
void policyd_redis_free(struct policyd_redis **r);
/* policyd_redis_addresses - the posting addresses last read, or NULL */
const struct fg_policy_addresses *
policyd_redis_addresses(const struct policyd_redis *r);
/* policyd_redis_tried - has the first read of the addresses finished? */
bool policyd_redis_tried(const struct policyd_redis *r);
/* policyd_redis_refresh - read the posting addresses now, and the
   lists' facts that changed (full: all of them) */
void policyd_redis_refresh(struct policyd_redis *r, bool full);
/* policyd_redis_list_facts - what is known of a list's members, allow
   list and access mode, or NULL (ask Redis); change notifications
   already received are applied first */
const struct fg_policy_list_facts *
policyd_redis_list_facts(struct policyd_redis *r, const char *list);
/* policyd_redis_is_member - start a lookup of the list's facts about
   the (normalized) sender; 0 with
   *lookup_r and a later callback, or -1 with *error_r and none */
int policyd_redis_is_member(struct policyd_redis *r, const char *list,
			    const char *address, policyd_member_cb *callback,
			    void *context, struct policyd_lookup **lookup_r,
			    const char **error_r);
/* policyd_redis_count - count an accepted post of the (normalized)
   sender to the list in the rate window; the answer is not waited
   for (a failure is logged). -1 with *error_r when it cannot be sent */
int policyd_redis_count(struct policyd_redis *r, const char *list,
			const char *address, const char **error_r);
/* policyd_lookup_cancel - the caller no longer wants the answer */
void policyd_lookup_cancel(struct policyd_lookup *lookup);

/* policyd-conn.c */
/* policyd_conn_new - serve a client on fd (and write to out_fd when it
   differs, spawn mode on pipes); peer names it in the log */
void policyd_conn_new(struct policyd *pd, int fd, int out_fd,
		      const char *peer);
/* policyd_conn_resume_all - the posting addresses are known or failed:
   continue every connection that waited for them */
void policyd_conn_resume_all(struct policyd *pd);
void policyd_conn_close_all(struct policyd *pd);

#endif
