#ifndef BRIDGE_CONTROL_H
#define BRIDGE_CONTROL_H
/*
 * NAME
 *	bridge-control 3 - the control mail of list-mode lists
 * SYNOPSIS
 *	#include "bridge-control.h"
 * DESCRIPTION
 *	The Dovecot plugin queues mail to a list-mode list's control
 *	addresses (fg-listaddr.h) in fg:{LIST}:control. The control
 *	worker takes the entries in order, one list at a time per daemon
 *	under the list's control lease (FG_QUEUE_CONTROL), and hands each
 *	to the handler of its role: one function per role, in the table
 *	of bridge-control.c, each in the module of its command. A role
 *	without a handler is dead-lettered with that reason.
 *
 *	A handler gets the entry's fields as a struct control_mail and
 *	the worker's SMTP relay for the answers it sends (a confirmation
 *	request, a notice). It returns what a worker's process function
 *	returns (bridge-worker.h): WORKER_DONE when it finished the entry
 *	(worker_finish() or worker_dead()), WORKER_RETRY when the entry
 *	is to be tried again (a Redis or relay failure).
 */
#include "bridge-worker.h"
#include "bridge-relay.h"
#include "fg-listaddr.h"

/* One control mail, from its entry (doc/redis-schema.md); every field
   is set ("" when the entry lacks it). */
struct control_mail {
	enum fg_listaddr_role role;
	const char *detail;		/* after '+' of the address */
	const char *rcpt;		/* the envelope recipient */
	const char *envelope_from;	/* MAIL FROM */
	const char *from;		/* the From address */
	const char *message_id;
	const char *subject;
	const char *message;		/* the message as received */
};

typedef int control_handler_func(struct worker *w, struct worker_list *l,
				 const struct fg_entry *entry,
				 const struct control_mail *mail,
				 struct relay *relay);

/* moderate_handle - role moderate: a moderator's approval or
   rejection of a held post (bridge-moderate.c) */
control_handler_func moderate_handle;
/* owner_handle - role owner: mail to LIST-owner@, forwarded to the
   moderators (bridge-moderate.c) */
control_handler_func owner_handle;
/* moderate_before - the moderation queue's housekeeping before the
   list's next control entry: expiry, announcements to the moderators,
   notices to senders (bridge-moderate.c); WORKER_RETRY when Redis or
   the relay failed, else -1 (the entry is read all the same) */
int moderate_before(struct worker *w, struct worker_list *l,
		    struct relay *relay);
/* The handlers of subscribing by mail (bridge-join.c): roles join,
   leave, request and confirm. */
control_handler_func join_handle, leave_handle, request_handle,
	confirm_handle;

#endif
