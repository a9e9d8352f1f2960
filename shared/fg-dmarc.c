/*
 * NAME
 *	fg-dmarc 3 - the DMARC policy an author's domain publishes
 * DESCRIPTION
 *	See fg-dmarc.h. The resolver is glibc's libresolv rather than an
 *	asynchronous library (c-ares, libunbound): the look-up runs in a
 *	thread of its own (forumgated's fan-out) that may wait a bounded
 *	time, libresolv comes with the C library on every system
 *	forumgate runs on, takes a per-call state (res_ninit()), so it is
 *	safe in a threaded daemon, and lets the caller name the server,
 *	its port, the time-out and the tries; ns_initparse() and
 *	ns_parserr() read the answer.
 */
#include "fg-dmarc.h"
#include "fg-auth.h"
#include "fg-common.h"

#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

/* fg_dmarc_policy_name - see fg-dmarc.h */
const char *fg_dmarc_policy_name(enum fg_listmsg_dmarc policy)
{
	switch (policy) {
	case FG_LISTMSG_DMARC_REJECT:
		return "reject";
	case FG_LISTMSG_DMARC_QUARANTINE:
		return "quarantine";
	default:
		return "none";
	}
}

/* fg_dmarc_policy_parse - see fg-dmarc.h */
int fg_dmarc_policy_parse(const char *name, enum fg_listmsg_dmarc *policy_r)
{
	if (strcasecmp(name, "reject") == 0)
		*policy_r = FG_LISTMSG_DMARC_REJECT;
	else if (strcasecmp(name, "quarantine") == 0)
		*policy_r = FG_LISTMSG_DMARC_QUARANTINE;
	else if (strcasecmp(name, "none") == 0)
		*policy_r = FG_LISTMSG_DMARC_NONE;
	else
		return -1;
	return 0;
}

/* fg_dmarc_trim - a span without the white space around it */
static void fg_dmarc_trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* fg_dmarc_is - the span is word (case ignored when nocase) */
static bool fg_dmarc_is(const char *s, size_t len, const char *word,
			bool nocase)
{
	return strlen(word) == len && (nocase ? strncasecmp(s, word, len) :
				       strncmp(s, word, len)) == 0;
}

/* fg_dmarc_value - a p= or sp= value; false when it is not a policy */
static bool fg_dmarc_value(const char *s, size_t len,
			   enum fg_listmsg_dmarc *policy_r)
{
	if (fg_dmarc_is(s, len, "reject", true))
		*policy_r = FG_LISTMSG_DMARC_REJECT;
	else if (fg_dmarc_is(s, len, "quarantine", true))
		*policy_r = FG_LISTMSG_DMARC_QUARANTINE;
	else if (fg_dmarc_is(s, len, "none", true))
		*policy_r = FG_LISTMSG_DMARC_NONE;
	else
		return false;
	return true;
}

/* fg_dmarc_record - see fg-dmarc.h */
int fg_dmarc_record(const char *text, size_t len, bool org,
		    enum fg_listmsg_dmarc *policy_r)
{
	enum fg_listmsg_dmarc p = FG_LISTMSG_DMARC_NONE, sp = p;
	bool have_sp = false;
	size_t pos = 0;

	*policy_r = FG_LISTMSG_DMARC_NONE;
	if (len > FG_DMARC_RECORD_MAX)
		len = FG_DMARC_RECORD_MAX;
	for (unsigned int i = 0; pos <= len; i++) {
		const char *tag = text + pos, *eq, *value;
		size_t n = 0, name_len, value_len;

		while (pos + n < len && text[pos + n] != ';')
			n++;
		pos += n + 1;
		eq = memchr(tag, '=', n);
		if (eq == NULL) {
			/* the first tag must be v=; after it an empty tag
			   (a trailing ";") or a broken one is skipped */
			if (i == 0)
				return 0;
			continue;
		}
		name_len = (size_t)(eq - tag);
		value = eq + 1;
		value_len = n - name_len - 1;
		fg_dmarc_trim(&tag, &name_len);
		fg_dmarc_trim(&value, &value_len);
		if (i == 0) {
			if (!fg_dmarc_is(tag, name_len, "v", false) ||
			    !fg_dmarc_is(value, value_len, "DMARC1", false))
				return 0;
		} else if (fg_dmarc_is(tag, name_len, "p", true)) {
			if (!fg_dmarc_value(value, value_len, &p))
				p = FG_LISTMSG_DMARC_NONE;
		} else if (fg_dmarc_is(tag, name_len, "sp", true)) {
			have_sp = fg_dmarc_value(value, value_len, &sp);
		}
	}
	*policy_r = org && have_sp ? sp : p;
	return 1;
}

/* fg_dmarc_txt - one TXT record's strings joined; false when its
   data is not a row of strings */
static bool fg_dmarc_txt(const unsigned char *rd, size_t len,
			 struct fg_buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = rd[pos++];

		if (pos + n > len)
			return false;
		if (out->len + n <= FG_DMARC_RECORD_MAX)
			fg_buf_append(out, (const char *)rd + pos, n);
		pos += n;
	}
	return true;
}

/* fg_dmarc_answer - see fg-dmarc.h */
int fg_dmarc_answer(const unsigned char *answer, size_t len, bool org,
		    enum fg_listmsg_dmarc *policy_r, const char **error_r)
{
	ns_msg handle;
	ns_rr rr;
	int found = 0, count;

	*policy_r = FG_LISTMSG_DMARC_NONE;
	if (len > FG_DMARC_ANSWER_MAX ||
	    ns_initparse(answer, (int)len, &handle) < 0) {
		*error_r = fg_errorf("DMARC: not a DNS answer");
		return -1;
	}
	count = ns_msg_count(handle, ns_s_an);
	for (int i = 0; i < count; i++) {
		struct fg_buf text = { 0 };
		enum fg_listmsg_dmarc policy;

		if (ns_parserr(&handle, ns_s_an, i, &rr) < 0) {
			*error_r = fg_errorf("DMARC: a broken DNS answer");
			return -1;
		}
		/* a CNAME on the way is followed by the resolver: the
		   TXT records of the answer are the name's */
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		if (!fg_dmarc_txt(ns_rr_rdata(rr), ns_rr_rdlen(rr), &text)) {
			fg_buf_free(&text);
			*error_r = fg_errorf("DMARC: a broken TXT record");
			return -1;
		}
		if (fg_dmarc_record(text.s != NULL ? text.s : "", text.len,
				    org, &policy) > 0) {
			found = 1;
			if (policy > *policy_r)
				*policy_r = policy;
		}
		fg_buf_free(&text);
	}
	return found;
}

/* fg_dmarc_server - the one server of resolver->server in the state */
static int fg_dmarc_server(res_state rs, const char *server,
			   const char **error_r)
{
	char *host = fg_xstrdup(server), *colon = strrchr(host, ':');
	long long port = 53;
	struct in_addr addr;

	if (colon != NULL) {
		*colon = '\0';
		if (fg_parse_llong(colon + 1, &port) < 0 || port < 1 ||
		    port > 65535)
			port = -1;
	}
	if (port < 0 || inet_pton(AF_INET, host, &addr) != 1) {
		free(host);
		*error_r = fg_errorf("DMARC: dmarc_resolver '%s' is not an "
				     "IPv4 address with an optional :port",
				     server);
		return -1;
	}
	free(host);
	/* an IPv6 server of resolv.conf would be asked before ours */
	for (int i = 0; i < MAXNS; i++) {
		free(rs->_u._ext.nsaddrs[i]);
		rs->_u._ext.nsaddrs[i] = NULL;
	}
	memset(&rs->nsaddr_list[0], 0, sizeof(rs->nsaddr_list[0]));
	rs->nsaddr_list[0].sin_family = AF_INET;
	rs->nsaddr_list[0].sin_addr = addr;
	rs->nsaddr_list[0].sin_port = htons((uint16_t)port);
	rs->nscount = 1;
	return 0;
}

/* fg_dmarc_ask - the DMARC policy at name: 1 found, 0 none there (no
   such name, no TXT, no DMARC record), -1 the look-up failed */
static int fg_dmarc_ask(res_state rs, const char *name, bool org,
			enum fg_listmsg_dmarc *policy_r, const char **error_r)
{
	unsigned char answer[FG_DMARC_ANSWER_MAX];
	int len;

	len = res_nquery(rs, name, ns_c_in, ns_t_txt, answer, sizeof(answer));
	if (len < 0) {
		switch (rs->res_h_errno) {
		case HOST_NOT_FOUND:	/* NXDOMAIN */
		case NO_DATA:		/* no TXT record */
			*policy_r = FG_LISTMSG_DMARC_NONE;
			return 0;
		case TRY_AGAIN:
			*error_r = fg_errorf("DMARC: %s: no answer in time "
					     "(or SERVFAIL)", name);
			return -1;
		default:
			*error_r = fg_errorf("DMARC: %s: the look-up failed "
					     "(%s)", name,
					     hstrerror(rs->res_h_errno));
			return -1;
		}
	}
	return fg_dmarc_answer(answer, (size_t)len, org, policy_r, error_r);
}

/* fg_dmarc_lookup - see fg-dmarc.h */
int fg_dmarc_lookup(const struct fg_dmarc_resolver *resolver,
		    const char *domain, enum fg_listmsg_dmarc *policy_r,
		    char **where_r, const char **error_r)
{
	struct __res_state rs;
	char *org, *name;
	int ret;

	*policy_r = FG_LISTMSG_DMARC_NONE;
	*where_r = NULL;
	if ((org = fg_auth_org_domain(domain)) == NULL) {
		*error_r = fg_errorf("DMARC: '%s' is not a domain", domain);
		return -1;
	}
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0) {
		free(org);
		*error_r = fg_errorf("DMARC: cannot set up the resolver");
		return -1;
	}
	rs.retrans = resolver->timeout_ms > 0 ?
		(int)((resolver->timeout_ms + 999) / 1000) : 1;
	rs.retry = 1;
	if (resolver->server != NULL && *resolver->server != '\0' &&
	    fg_dmarc_server(&rs, resolver->server, error_r) < 0) {
		res_nclose(&rs);
		free(org);
		return -1;
	}
	name = fg_str_lower(fg_xasprintf("_dmarc.%s", domain));
	if (name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = '\0';
	ret = fg_dmarc_ask(&rs, name, false, policy_r, error_r);
	if (ret == 0 && strcmp(name + 7, org) != 0) {
		free(name);
		name = fg_xasprintf("_dmarc.%s", org);
		ret = fg_dmarc_ask(&rs, name, true, policy_r, error_r);
	}
	if (ret > 0)
		*where_r = fg_xstrdup(name);
	free(name);
	free(org);
	res_nclose(&rs);
	return ret < 0 ? -1 : 0;
}
