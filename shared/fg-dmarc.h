#ifndef FG_DMARC_H
#define FG_DMARC_H
/*
 * NAME
 *	fg-dmarc 3 - the DMARC policy an author's domain publishes
 * SYNOPSIS
 *	#include "fg-dmarc.h"
 *
 *	int fg_dmarc_record(const char *text, size_t len, bool org,
 *			    enum fg_listmsg_dmarc *policy_r);
 *	int fg_dmarc_answer(const unsigned char *answer, size_t len,
 *			    bool org, enum fg_listmsg_dmarc *policy_r,
 *			    const char **error_r);
 *	int fg_dmarc_lookup(const struct fg_dmarc_resolver *resolver,
 *			    const char *domain,
 *			    enum fg_listmsg_dmarc *policy_r,
 *			    char **where_r, const char **error_r);
 *	const char *fg_dmarc_policy_name(enum fg_listmsg_dmarc policy);
 *	int fg_dmarc_policy_parse(const char *name,
 *				  enum fg_listmsg_dmarc *policy_r);
 * DESCRIPTION
 *	A list-mode list with dmarc_from = policy rewrites a post's From
 *	(fg_listmsg_dmarc()) only when the author's domain publishes a
 *	DMARC policy of reject or quarantine. This module finds that
 *	policy as GNU Mailman 3's dmarc-mitigation rule does
 *	(rules/dmarc.py), in the way of RFC 7489 section 6.6.3:
 *
 *	fg_dmarc_lookup() asks for the TXT records of _dmarc.DOMAIN.
 *	When that name does not exist, has no TXT record or none that is
 *	a DMARC record, it asks again at _dmarc.ORG, ORG the
 *	organizational domain (fg_auth_org_domain(): the Public Suffix
 *	List through libpsl), when that differs, where the sp= tag, when
 *	present, is the policy for DOMAIN. Found nowhere: no policy
 *	(FG_LISTMSG_DMARC_NONE). *where_r (caller frees) names the
 *	record the policy came from, NULL when none. A look-up that
 *	fails (time-out, SERVFAIL, a refused or broken answer) is -1
 *	with *error_r; the caller decides (forumgated treats it as no
 *	policy and logs it; Mailman rewrites).
 *
 *	fg_dmarc_answer() reads one DNS answer (RFC 1035 wire format):
 *	the TXT records of its answer section, each one's strings joined
 *	(RFC 7489 section 6.6.3). Every record that is a DMARC record
 *	counts, as Mailman tests them all: reject in any of them is
 *	reject, else quarantine in any is quarantine. 1 with *policy_r
 *	when there was a DMARC record, 0 when there was none, -1 when the
 *	answer cannot be parsed.
 *
 *	fg_dmarc_record() reads one record (RFC 7489 section 6.4): its
 *	first tag must be v=DMARC1; tags are separated by ";", with
 *	white space around names, "=" and values allowed; p= (and with
 *	org, sp=) is none, quarantine or reject in any case. A DMARC
 *	record whose policy is missing or unknown is p=none. 1 with
 *	*policy_r when it is a DMARC record, 0 when it is not.
 *
 *	The resolver is glibc's libresolv (res_nquery(), ns_parserr()),
 *	with a state of its own per call: the look-up runs in
 *	forumgated's fan-out thread, which may wait for it, for at most
 *	resolver->timeout_ms per question (rounded up to a second,
 *	libresolv's unit) and two questions. resolver->server is
 *	"ADDRESS" or "ADDRESS:PORT" (IPv4; port 53 by default), the one
 *	server asked; "" or NULL: the servers of /etc/resolv.conf.
 * BOUNDS
 *	A record is read up to FG_DMARC_RECORD_MAX bytes, an answer up to
 *	FG_DMARC_ANSWER_MAX; a domain must be a host name of at most 253
 *	bytes.
 * DIAGNOSTICS
 *	As above; never logs.
 */
#include <stdbool.h>
#include <stddef.h>

#include "fg-listmsg.h"

#define FG_DMARC_RECORD_MAX 4096
#define FG_DMARC_ANSWER_MAX 8192

struct fg_dmarc_resolver {
	const char *server;		/* "ADDR[:PORT]"; "" or NULL: system */
	unsigned int timeout_ms;	/* per question; 0: 1 s */
};

/* fg_dmarc_record - one TXT record: 1 a DMARC record, 0 not one */
int fg_dmarc_record(const char *text, size_t len, bool org,
		    enum fg_listmsg_dmarc *policy_r);
/* fg_dmarc_answer - one DNS answer: 1 a policy, 0 none, -1 broken */
int fg_dmarc_answer(const unsigned char *answer, size_t len, bool org,
		    enum fg_listmsg_dmarc *policy_r, const char **error_r);
/* fg_dmarc_lookup - the policy of an author's domain; -1 look-up failed */
int fg_dmarc_lookup(const struct fg_dmarc_resolver *resolver,
		    const char *domain, enum fg_listmsg_dmarc *policy_r,
		    char **where_r, const char **error_r);
/* fg_dmarc_policy_name - "none", "quarantine" or "reject" */
const char *fg_dmarc_policy_name(enum fg_listmsg_dmarc policy);
/* fg_dmarc_policy_parse - a policy name back; -1 when it is not one */
int fg_dmarc_policy_parse(const char *name, enum fg_listmsg_dmarc *policy_r);

#endif
