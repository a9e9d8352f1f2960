#ifndef BRIDGE_H
#define BRIDGE_H
/*
 * NAME
 *	bridge 3 - what the parts of forumgated share
 * DESCRIPTION
 *	forumgated runs four parts, each in its own thread with its own
 *	Redis connection: the list-to-forum worker (bridge-inbound.c),
 *	the forum-to-list worker (bridge-outbound.c, which also tells the
 *	authors of posts the list refused, bridge-refused.c), the fan-out
 *	of list-mode lists to their subscribers (bridge-dist.c), all on
 *	the queue loop of bridge-worker.c, and the webhook intake
 *	(bridge-webhook.c). The main thread only starts them, waits for
 *	a signal and stops them.
 *
 *	Logging (bridge-log.c) goes to syslog (facility mail) or, in the
 *	foreground, to stderr. msg_fatal() exits; everything else goes
 *	on.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <pthread.h>
#include "fg-common.h"
#include "fg-config.h"
#include "fg-store.h"

struct bridge {
	struct fg_config *config;
	const char *config_path;	/* read again for a new forum_api_key */
	const char *consumer;		/* name in the consumer groups */

	pthread_mutex_t lock;
	pthread_cond_t wakeup;
	bool stopping;
	unsigned int refresh_generation;	/* SIGHUP: re-read the lists */
};

/* bridge_stopping - has a stop been asked for */
bool bridge_stopping(struct bridge *b);
/* bridge_sleep - wait ms or until stopped; false when stopping */
bool bridge_sleep(struct bridge *b, unsigned int ms);
/* bridge_stop - ask every thread to finish */
void bridge_stop(struct bridge *b);
/* bridge_refresh - ask the workers to re-read the lists */
void bridge_refresh(struct bridge *b);
/* bridge_refresh_generation - changes with every bridge_refresh() */
unsigned int bridge_refresh_generation(struct bridge *b);
/* bridge_now_ms - monotonic milliseconds */
long long bridge_now_ms(void);
struct fg_forum_settings;
/* bridge_forum_settings - the forum's connection settings of c (the
   limits on titles and posts left 0) */
void bridge_forum_settings(const struct fg_config *c,
			   struct fg_forum_settings *set_r);
/* bridge_store_connect - connect, retrying until it works or a stop;
   false when stopping */
bool bridge_store_connect(struct bridge *b, const char *who,
			  struct fg_store **store_r);

/* Logging */
void msg_open(bool foreground);
/* msg_startup_fd - where a fatal error also goes while starting up */
void msg_startup_fd(int fd);
void msg_info(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);
void msg_warn(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);
void msg_error(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);
void msg_vwarn(const char *fmt, va_list ap) FG_ATTR_FORMAT(1, 0);
void msg_fatal(const char *fmt, ...) FG_ATTR_FORMAT(1, 2)
	__attribute__((noreturn));

/* The parts */
struct worker;
struct webhook;

/* inbound_start - the list -> forum worker thread */
int inbound_start(struct bridge *b, struct worker **worker_r,
		  const char **error_r);
/* outbound_start - the forum -> list worker thread */
int outbound_start(struct bridge *b, struct worker **worker_r,
		   const char **error_r);
/* dist_start - the fan-out of list-mode lists (bridge-dist.c) */
int dist_start(struct bridge *b, struct worker **worker_r,
	       const char **error_r);
/* control_start - the control mail of list-mode lists
   (bridge-control.c) */
int control_start(struct bridge *b, struct worker **worker_r,
		  const char **error_r);
struct fg_listmsg_list;
/* dist_personal_copy - the list's shared copy with the recipient's
   one-click List-Unsubscribe lines in front (a new buffer) when
   list_unsubscribe_url is set, else copy itself; *size_r its size;
   what starts a warning ("fan-out: list=ml ...") */
char *dist_personal_copy(const struct fg_config *c,
			 const struct fg_listmsg_list *lml, const char *rcpt,
			 char *copy, size_t copy_size, const char *what,
			 size_t *size_r);
/* refused_notify - with refused_notify = pm, tell the author of the
   list's oldest refusal not yet told (bridge-refused.c), from the
   forum->list worker before its next entry; WORKER_DONE or
   WORKER_RETRY when it handled one, -1 when there was none;
   *key_refused set when the forum refused the bridge's credentials */
struct worker_list;
struct fg_forum;
int refused_notify(struct worker *w, struct worker_list *l,
		   struct fg_forum *forum, bool *key_refused);
/* review_rejected - the forum rejected the held post held_id: 1 and
   *list_r (caller frees) when a list had it, 0 none, -1 error */
int review_rejected(struct fg_store *store, const char *held_id,
		    char **list_r, const char **error_r);
/* worker_join - wait for a worker thread to end, and free it */
void worker_join(struct worker **worker);
/* webhook_start - listen on webhook_listen, serve in a thread */
int webhook_start(struct bridge *b, struct webhook **webhook_r,
		  const char **error_r);
/* webhook_stop - stop listening, finish, free */
void webhook_stop(struct webhook **webhook);

#endif
