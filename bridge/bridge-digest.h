#ifndef BRIDGE_DIGEST_H
#define BRIDGE_DIGEST_H
/*
 * NAME
 *	bridge-digest 3 - digests of a list-mode list, sent by the fan-out
 * SYNOPSIS
 *	#include "bridge-digest.h"
 *	digest_init(bridge, &digest, &error);
 *	ret = digest_add(worker, list, &lml, message, message_id, tag,
 *			 dmarc_always);
 *	ret = digest_run(worker, list, digest, relay, footer);
 *	digest_deinit(&digest);
 * DESCRIPTION
 *	See bridge-digest.c.
 */
#include <stdbool.h>
#include "bridge-worker.h"

struct digest;
struct relay;
struct fg_listmsg_list;

/* digest_init - check the digest settings, open the forum for its URLs */
int digest_init(struct bridge *b, struct digest **digest_r,
		const char **error_r);
/* digest_deinit - free it */
void digest_deinit(struct digest **digest);
/* digest_add - the post's copy (tagged, no footer) into the list's
   digest; WORKER_DONE, or WORKER_RETRY (Redis failed, lease lost) */
int digest_add(struct worker *w, struct worker_list *l,
	       const struct fg_listmsg_list *lml, const char *message,
	       const char *message_id, bool tag, bool dmarc_always);
/* digest_run - a worker's "before" step: send the list's digest if one
   is due or begun; -1 nothing to do, else WORKER_DONE or WORKER_RETRY */
int digest_run(struct worker *w, struct worker_list *l, struct digest *dg,
	       struct relay *relay, const char *footer);

#endif
