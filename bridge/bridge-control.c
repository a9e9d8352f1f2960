/*
 * NAME
 *	bridge-control 3 - the control mail of list-mode lists
 * DESCRIPTION
 *	See bridge-control.h. The worker serves list-mode lists only;
 *	its entries come from the plugin (fg_store_control_add()), and
 *	each is logged with its list, role and sender before its handler
 *	runs.
 * SEE ALSO
 *	doc/list-mode.md ("Control addresses"), doc/redis-schema.md.
 */
#include "bridge-control.h"

#include <stdlib.h>
#include <string.h>

struct control {
	struct relay relay;
};

/* The handler of each role; a role not here is dead-lettered. */
static const struct {
	enum fg_listaddr_role role;
	control_handler_func *handle;
} control_handlers[] = {
	{ FG_LISTADDR_MODERATE, moderate_handle },
	{ FG_LISTADDR_OWNER, owner_handle },
	{ FG_LISTADDR_JOIN, join_handle },
	{ FG_LISTADDR_LEAVE, leave_handle },
	{ FG_LISTADDR_REQUEST, request_handle },
	{ FG_LISTADDR_CONFIRM, confirm_handle },
	{ FG_LISTADDR_COUNT, NULL },
};

/* control_serves - list-mode lists only */
static bool control_serves(const struct fg_list *def)
{
	return def->mode == FG_LIST_MODE_LIST;
}

/* control_field - an entry's field, "" when it lacks it */
static const char *control_field(const struct fg_entry *entry,
				 const char *name)
{
	const char *value = fg_entry_get(entry, name);

	return value != NULL ? value : "";
}

/* control_process - one control mail: its role's handler */
static int control_process(struct worker *w, struct worker_list *l,
			   const struct fg_entry *entry)
{
	struct control *c = w->context;
	const char *role = control_field(entry, "role");
	struct control_mail mail;
	control_handler_func *handle = NULL;
	struct fg_list *def;
	const char *error;
	char *why;
	int ret;

	/* The list's definition as it is now: an admin's change (the
	   moderators) applies to the next control mail, not only after
	   the worker reads the lists again. */
	ret = fg_store_list_get(w->store, l->name, &def, &error);
	if (ret < 0)
		return worker_store_failed(w, l, "reading the list", error);
	if (ret > 0) {
		fg_list_free(&l->def);
		l->def = def;
	}
	memset(&mail, 0, sizeof(mail));
	mail.detail = control_field(entry, "detail");
	mail.rcpt = control_field(entry, "rcpt");
	mail.envelope_from = control_field(entry, "envelope_from");
	mail.from = control_field(entry, "from");
	mail.message_id = control_field(entry, "message_id");
	mail.subject = control_field(entry, "subject");
	mail.message = control_field(entry, "message");
	if (fg_listaddr_role_from_name(role, &mail.role)) {
		for (size_t i = 0; control_handlers[i].handle != NULL; i++) {
			if (control_handlers[i].role == mail.role) {
				handle = control_handlers[i].handle;
				break;
			}
		}
	}
	msg_info("control: list=%s role=%s from=<%s> message_id=<%s> "
		 "rcpt=<%s>", l->name, role, mail.from, mail.message_id,
		 mail.rcpt);
	if (handle != NULL)
		return handle(w, l, entry, &mail, &c->relay);
	why = fg_xasprintf("no command for mail to <%s> (role %s)",
			   mail.rcpt, role);
	ret = worker_dead(w, l, entry, why);
	if (ret == WORKER_DONE)
		msg_warn("control: list=%s message_id=<%s>: dead-letter: %s",
			 l->name, mail.message_id, why);
	free(why);
	return ret;
}

/* control_before - housekeeping of the list before its next entry */
static int control_before(struct worker *w, struct worker_list *l)
{
	struct control *c = w->context;

	return moderate_before(w, l, &c->relay);
}

/* control_deinit - close the relay */
static void control_deinit(struct worker *w)
{
	struct control *c = w->context;

	relay_close(&c->relay);
	free(c);
}

/* control_start - see bridge.h */
int control_start(struct bridge *b, struct worker **worker_r,
		  const char **error_r)
{
	struct control *c = fg_xcalloc(1, sizeof(*c));
	struct worker *w = fg_xcalloc(1, sizeof(*w));

	if (relay_open(&c->relay, b->config, w, false, error_r) < 0) {
		free(c);
		free(w);
		return -1;
	}
	w->name = "control";
	w->queue = FG_QUEUE_CONTROL;
	w->bridge = b;
	w->context = c;
	w->process = control_process;
	w->before = control_before;
	w->serves = control_serves;
	w->deinit = control_deinit;
	if (worker_start(w, error_r) < 0) {
		worker_join(&w);
		return -1;
	}
	*worker_r = w;
	return 0;
}
