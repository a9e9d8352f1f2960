#ifndef FG_AUTH_H
#define FG_AUTH_H
/*
 * NAME
 *	fg-auth 3 - is the From address of a message authenticated
 * SYNOPSIS
 *	#include "fg-auth.h"
 *
 *	int fg_auth_results_parse(const char *value, bool arc,
 *				  struct fg_auth_results **ar_r,
 *				  const char **error_r);
 *	void fg_auth_results_free(struct fg_auth_results **ar);
 *	const char *fg_auth_prop_get(const struct fg_auth_result *res,
 *				     const char *ptype, const char *property);
 *
 *	bool fg_auth_id_trusted(const char *trusted, const char *id);
 *	bool fg_auth_aligned(const char *a, const char *b);
 *	char *fg_auth_org_domain(const char *domain);
 *
 *	char *fg_auth_from(const char *from_domain, const char *trusted,
 *			   const struct fg_auth_headers *headers);
 * DESCRIPTION
 *	fg_auth_results_parse() parses the value of one
 *	Authentication-Results header (RFC 8601 section 2.2:
 *	authserv-id, an optional version, "; none" or results
 *	"method[/version]=result", a reason=value and
 *	ptype.property=value properties; comments, nested comments,
 *	quoted strings and folding anywhere CFWS may stand), or with arc
 *	set of an ARC-Authentication-Results header (RFC 8617 section
 *	4.1.1: "i=N;" before the same payload). Names are lowercased;
 *	values are unquoted and kept as written. fg_auth_prop_get() is
 *	the value of one ptype.property of a result, or NULL.
 *
 *	fg_auth_id_trusted() tells whether id is one of the
 *	authserv-ids in trusted (comma or white space separated; case
 *	ignored). An empty list trusts nobody.
 *
 *	fg_auth_aligned() tells whether two domains share their
 *	organizational domain (DMARC relaxed alignment, RFC 7489 section
 *	3.2), by the Public Suffix List through libpsl;
 *	fg_auth_org_domain() is that organizational domain.
 *
 *	fg_auth_from() tells whether a From address in from_domain is
 *	authenticated by the headers of its message: an
 *	Authentication-Results header whose authserv-id is trusted shows
 *	dmarc=pass with header.from equal to from_domain, or dkim=pass
 *	with header.d aligned with from_domain. When such a header also
 *	shows arc=pass (the MTA verified the message's ARC chain), an
 *	ARC-Authentication-Results instance counts the same way when its
 *	authserv-id is trusted and the ARC-Seal of the same instance was
 *	made by a domain aligned with that authserv-id (an ARC set that
 *	anybody sealed under their own domain cannot speak for a trusted
 *	host). It returns the evidence, e.g. "dmarc=pass
 *	header.from=example.org by mx.example.net", or "" when there is
 *	none.
 *
 *	Believing an Authentication-Results header is only safe when the
 *	MTA that accepts mail removes the ones that arrive claiming its
 *	authserv-id (RFC 8601 section 5): see doc/authentication.md.
 * BOUNDS
 *	A header value longer than FG_AUTH_MAX_VALUE, more than
 *	FG_AUTH_MAX_RESULTS results or FG_AUTH_MAX_PROPS properties of one
 *	result, and comments nested deeper than FG_AUTH_MAX_NESTING make
 *	the header unparseable. fg_auth_from() looks at most at
 *	FG_AUTH_MAX_HEADERS headers of each kind.
 * DIAGNOSTICS
 *	fg_auth_results_parse() returns 0, or -1 with *error_r set. It
 *	never logs. A header that does not parse is not believed.
 */
#include <stdbool.h>
#include <stddef.h>

#define FG_AUTH_MAX_VALUE 8192
#define FG_AUTH_MAX_RESULTS 32
#define FG_AUTH_MAX_PROPS 16
#define FG_AUTH_MAX_NESTING 8
#define FG_AUTH_MAX_HEADERS 32
/* RFC 8617 section 4.2.1: at most 50 ARC sets. */
#define FG_AUTH_MAX_ARC_INSTANCE 50

struct fg_auth_prop {
	char *ptype;		/* "header", "smtp", "policy", ... */
	char *property;		/* "from", "d", "mailfrom", ... */
	char *value;
};

struct fg_auth_result {
	char *method;		/* "dmarc", "dkim", "arc", ... */
	char *result;		/* "pass", "fail", ... */
	char *reason;		/* NULL: none */
	struct fg_auth_prop *props;
	size_t n_props;
};

struct fg_auth_results {
	char *authserv_id;
	unsigned int instance;	/* ARC i=; 0 in Authentication-Results */
	struct fg_auth_result *results;
	size_t n_results;
};

/* The headers of one message that fg_auth_from() reads: the values,
   unfolded, in the order of the message. */
struct fg_auth_headers {
	const char *const *ar;		/* Authentication-Results */
	size_t n_ar;
	const char *const *arc_ar;	/* ARC-Authentication-Results */
	size_t n_arc_ar;
	const char *const *arc_seal;	/* ARC-Seal */
	size_t n_arc_seal;
};

/* fg_auth_results_parse - parse one (ARC-)Authentication-Results value */
int fg_auth_results_parse(const char *value, bool arc,
			  struct fg_auth_results **ar_r, const char **error_r);
/* fg_auth_results_free - free a parsed header; NULLs the pointer */
void fg_auth_results_free(struct fg_auth_results **ar);
/* fg_auth_prop_get - the value of ptype.property of a result, or NULL */
const char *fg_auth_prop_get(const struct fg_auth_result *res,
			     const char *ptype, const char *property);

/* fg_auth_id_trusted - id is in the trusted list */
bool fg_auth_id_trusted(const char *trusted, const char *id);
/* fg_auth_aligned - same organizational domain (case ignored) */
bool fg_auth_aligned(const char *a, const char *b);
/* fg_auth_org_domain - the organizational domain of a domain (RFC
   7489 section 3.2, by the Public Suffix List), lower case, caller
   frees; the domain itself when it is a public suffix or the list is
   missing; NULL when it is not a domain */
char *fg_auth_org_domain(const char *domain);

/* fg_auth_from - the evidence that from_domain is authenticated, or "" */
char *fg_auth_from(const char *from_domain, const char *trusted,
		   const struct fg_auth_headers *headers);

#endif
