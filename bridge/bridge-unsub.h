#ifndef BRIDGE_UNSUB_H
#define BRIDGE_UNSUB_H
/*
 * NAME
 *	bridge-unsub 3 - the one-click unsubscribe endpoint (RFC 8058)
 * SYNOPSIS
 *	#include "bridge-unsub.h"
 *
 *	bool unsub_serves(const struct fg_config *c, const char *url);
 *	mhd_result unsub_start(struct MHD_Connection *conn,
 *			const struct fg_config *c, const char *url,
 *			const char *method, const char *peer,
 *			struct unsub_request **req_r);
 *	mhd_result unsub_body(struct unsub_request *req, const char *data,
 *		       size_t size);
 *	mhd_result unsub_finish(struct unsub_request *req,
 *			 struct MHD_Connection *conn,
 *			 struct fg_store *store, const char *store_error);
 *	void unsub_free(struct unsub_request **req);
 * DESCRIPTION
 *	The handler of list_unsubscribe_url on forumgated's HTTP listener
 *	(bridge-webhook.c only routes to it): see bridge-unsub.c.
 *
 *	unsub_serves() tells whether a request path is under the path of
 *	list_unsubscribe_url (off when that setting is empty).
 *	unsub_start() takes a request whose headers are in: a GET or HEAD
 *	is answered at once (*req_r NULL) with a page whose form POSTs;
 *	peer, the client's address, is kept for the log;
 *	a POST gets *req_r, to which unsub_body() gives the body piece by
 *	piece, and unsub_finish() verifies the token and the body,
 *	unsubscribes and answers. store is NULL when Redis could not be
 *	reached (store_error says why): the answer is then 503.
 *	unsub_start(), unsub_body() and unsub_finish() return
 *	libmicrohttpd's MHD_YES or MHD_NO.
 */
#include <stdbool.h>
#include <stddef.h>
#include "bridge-http.h"
#include "fg-config.h"
#include "fg-store.h"

struct unsub_request;

/* unsub_serves - url is the one-click endpoint's */
bool unsub_serves(const struct fg_config *c, const char *url);
/* unsub_start - the headers of a request to the endpoint are in */
mhd_result unsub_start(struct MHD_Connection *conn,
		       const struct fg_config *c, const char *url,
		       const char *method, const char *peer,
		       struct unsub_request **req_r);
/* unsub_body - a piece of a POST's body */
mhd_result unsub_body(struct unsub_request *req, const char *data,
		      size_t size);
/* unsub_finish - the POST is complete: verify, unsubscribe, answer */
mhd_result unsub_finish(struct unsub_request *req,
			struct MHD_Connection *conn, struct fg_store *store,
			const char *store_error);
/* unsub_free - free a request's state */
void unsub_free(struct unsub_request **req);

#endif
