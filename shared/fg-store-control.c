/*
 * NAME
 *	fg-store-control 3 - the control mail of a list-mode list
 * DESCRIPTION
 *	See fg-store.h for the contract and doc/redis-schema.md for the
 *	entry's fields. The Dovecot plugin adds each message for one of a
 *	list-mode list's control addresses (fg-listaddr.h) to
 *	fg:{LIST}:control, once per role, detail and Message-ID within the
 *	seen retention (the day buckets of fg:{LIST}:control-seen, the
 *	same script as the inbound queue's): a delivery retried after a
 *	failure does not run a command twice. forumgated's control worker
 *	reads the stream with its own consumer group.
 */
#include "fg-store-private.h"
#include "fg-common.h"

#include <stdlib.h>
#include <time.h>

int fg_store_control_add(struct fg_store *store, const char *list,
			 const struct fg_control *control,
			 const char **error_r)
{
	struct fg_argv a = { 0 };
	int ret;

	fg_store_queue_once_begin(store, &a, list, FG_KEY_CONTROL,
				  FG_KEY_CONTROL_SEEN);
	fg_argv_own(&a, fg_xasprintf("%s:%s:%s", control->role,
				     control->detail, control->message_id));
	fg_argv_str(&a, "role"); fg_argv_str(&a, control->role);
	fg_argv_str(&a, "detail"); fg_argv_str(&a, control->detail);
	fg_argv_str(&a, "rcpt"); fg_argv_str(&a, control->rcpt);
	fg_argv_str(&a, "envelope_from");
	fg_argv_str(&a, control->envelope_from);
	fg_argv_str(&a, "from"); fg_argv_str(&a, control->from_email);
	fg_argv_str(&a, "message_id"); fg_argv_str(&a, control->message_id);
	fg_argv_str(&a, "subject"); fg_argv_str(&a, control->subject);
	fg_argv_str(&a, "received"); fg_argv_num(&a, (long long)time(NULL));
	fg_argv_str(&a, "message");
	fg_argv_add(&a, (const char *)control->message,
		    control->message_size);
	ret = fg_store_queue_once(store, &a, error_r);
	fg_argv_free(&a);
	return ret;
}
