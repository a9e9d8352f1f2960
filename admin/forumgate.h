#ifndef FORUMGATE_ADMIN_H
#define FORUMGATE_ADMIN_H
/*
 * NAME
 *	forumgate.h - what the files of the forumgate command share
 * DESCRIPTION
 *	forumgate.c holds the command table and the list, member, queue
 *	and author commands; admin-subscribers.c the subscriber commands
 *	of list mode; admin-held.c its moderation queue. Both exit through die() with a sysexits code.
 */
#include "fg-store.h"

extern const char *progname;

/* usage - print the commands and exit 64 */
void usage(void) __attribute__((noreturn));
/* die - print an error and exit with a sysexits code */
void die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* need_list - the named list, or exit 69 */
struct fg_list *need_list(struct fg_store *store, const char *name);

/* cmd_subscribers - subscribe, unsubscribe, subscribers [import|export]
   (argv[0] the command) */
int cmd_subscribers(struct fg_store *store, int argc, char **argv);
/* print_subscriber_count - "subscribers: N" of list show */
void print_subscriber_count(struct fg_store *store, const char *list);
/* print_fanout - "fan-out: ..." of list show (a list-mode list) */
void print_fanout(struct fg_store *store, const char *list);

/* cmd_held - held, approve, reject: the moderation queue of a
   list-mode list (admin-held.c; argv[0] the command) */
struct fg_config;
int cmd_held(struct fg_store *store, const struct fg_config *config,
	     int argc, char **argv);

/* cmd_digest - digest LIST [--send-now] (admin-digest.c) */
int cmd_digest(struct fg_store *store, int argc, char **argv);
/* print_digest - "digest: ..." of list show (a list-mode list) */
void print_digest(struct fg_store *store, const char *list);

#endif
