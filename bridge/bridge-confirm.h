#ifndef BRIDGE_CONFIRM_H
#define BRIDGE_CONFIRM_H
/*
 * NAME
 *	bridge-confirm 3 - the confirmation page of subscribing by mail
 * SYNOPSIS
 *	#include "bridge-confirm.h"
 * DESCRIPTION
 *	A confirmation request (bridge-join.c) names confirm_url/LIST/
 *	TOKEN besides its reply address. forumgated's HTTP listener
 *	(bridge-webhook.c) hands the requests under the path of
 *	confirm_url to confirm_page():
 *
 *	GET PATH/LIST/TOKEN
 *		200 and a page that says what the token would do, with a
 *		button that POSTs to the same URL; 404 when the token
 *		does not verify or has expired. A GET changes nothing: a
 *		mail scanner that opens every link confirms nothing.
 *	POST PATH/LIST/TOKEN
 *		The token is checked again and the confirmation queued in
 *		fg:{LIST}:control as if the address had replied (role
 *		confirm, the token as detail, the address as sender), so
 *		the control worker applies it once and sends the welcome;
 *		200 with a page saying so, 404 for a bad token, 503 when
 *		Redis fails. A second POST queues nothing more.
 *
 *	Other methods get 405. Nothing of the request but its path is
 *	read.
 */
#include <stdbool.h>
#include "bridge.h"

struct MHD_Connection;

/* confirm_serves - is url under the path of confirm_url (set) */
bool confirm_serves(const struct fg_config *c, const char *url);
/* confirm_page - answer a request of confirm_serves(); store NULL when
   Redis cannot be reached (store_error says why); false when no
   answer could be queued */
bool confirm_page(struct bridge *b, struct fg_store *store,
		  const char *store_error, struct MHD_Connection *conn,
		  const char *url, const char *method);

#endif
