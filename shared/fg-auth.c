/*
 * NAME
 *	fg-auth 3 - is the From address of a message authenticated
 * DESCRIPTION
 *	See fg-auth.h. The parser follows the ABNF of RFC 8601 section
 *	2.2 by recursive descent over the unfolded header value: no mail
 *	library parses Authentication-Results (GMime does not), and the
 *	grammar is small. Organizational domains come from libpsl and
 *	the Public Suffix List Debian installs (package publicsuffix).
 */
#include "fg-auth.h"
#include "fg-common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

/* The state of one parse: where it is, and the first error. */
struct fg_auth_lex {
	const char *p;
	const char *error;
};

/* fg_auth_fail - record the first error; returns -1 */
static int fg_auth_fail(struct fg_auth_lex *lx, const char *what)
{
	if (lx->error == NULL)
		lx->error = what;
	return -1;
}

/* fg_auth_cfws - skip white space and comments, nested, with quoted
   pairs (RFC 5322 section 3.2.2) */
static int fg_auth_cfws(struct fg_auth_lex *lx)
{
	for (;;) {
		unsigned int depth = 0;

		while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
		       *lx->p == '\n')
			lx->p++;
		if (*lx->p != '(')
			return 0;
		do {
			if (*lx->p == '\0')
				return fg_auth_fail(lx, "unclosed comment");
			if (*lx->p == '(' && ++depth > FG_AUTH_MAX_NESTING)
				return fg_auth_fail(lx, "comments nested too "
						    "deep");
			if (*lx->p == ')')
				depth--;
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			lx->p++;
		} while (depth > 0);
	}
}

/* fg_auth_is_keyword_char - a letter, digit or hyphen (Ldh-str; '_'
   too, which some verifiers write in method names) */
static bool fg_auth_is_keyword_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* fg_auth_keyword - a Keyword, lowercased, or NULL */
static char *fg_auth_keyword(struct fg_auth_lex *lx, const char *what)
{
	const char *start = lx->p;

	while (fg_auth_is_keyword_char(*lx->p))
		lx->p++;
	if (lx->p == start) {
		fg_auth_fail(lx, what);
		return NULL;
	}
	return fg_str_lower(fg_xstrndup(start, (size_t)(lx->p - start)));
}

/* fg_auth_quoted - a quoted-string without its quotes and quoting */
static char *fg_auth_quoted(struct fg_auth_lex *lx)
{
	struct fg_buf b = { 0 };

	lx->p++;		/* the opening quote */
	fg_buf_puts(&b, "");
	while (*lx->p != '"') {
		if (*lx->p == '\0') {
			fg_buf_free(&b);
			fg_auth_fail(lx, "unclosed quoted string");
			return NULL;
		}
		if (*lx->p == '\\' && lx->p[1] != '\0')
			lx->p++;
		fg_buf_putc(&b, *lx->p++);
	}
	lx->p++;
	return fg_buf_steal(&b);
}

/* fg_auth_is_char - a printable ASCII character not in stops, or any
   non-ASCII byte (RFC 8601 section 2.2 allows UTF-8) */
static bool fg_auth_is_char(char c, const char *stops)
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x80)
		return true;
	if (u <= ' ' || u == 0x7f)
		return false;
	return strchr(stops, c) == NULL;
}

/* fg_auth_is_token_char - a character of an RFC 2045 token */
static bool fg_auth_is_token_char(char c)
{
	return fg_auth_is_char(c, "()<>@,;:\\\"/[]?=");
}

/* fg_auth_value - a value: token or quoted-string */
static char *fg_auth_value(struct fg_auth_lex *lx, const char *what)
{
	const char *start = lx->p;

	if (*lx->p == '"')
		return fg_auth_quoted(lx);
	while (fg_auth_is_token_char(*lx->p))
		lx->p++;
	if (lx->p == start) {
		fg_auth_fail(lx, what);
		return NULL;
	}
	return fg_xstrndup(start, (size_t)(lx->p - start));
}

/* fg_auth_is_pvalue_char - a character of an unquoted property value.
   Wider than a token: an address or domain ([[local-part] "@"]
   domain-name), base64 signature fragments (header.b: '/', '+', '='),
   and what verifiers write unquoted although RFC 8601 would quote it
   (IPv6 addresses, <> around an address); only white space, comments,
   quotes and ';' end it. */
static bool fg_auth_is_pvalue_char(char c)
{
	return fg_auth_is_char(c, "();\"\\");
}

/* fg_auth_pvalue - a property value: a value, or an address whose
   local part is a quoted-string */
static char *fg_auth_pvalue(struct fg_auth_lex *lx)
{
	const char *start = lx->p;
	char *local, *v;

	if (*lx->p == '"') {
		local = fg_auth_quoted(lx);
		if (local == NULL || *lx->p != '@')
			return local;
		start = ++lx->p;
		while (fg_auth_is_pvalue_char(*lx->p))
			lx->p++;
		v = fg_xasprintf("%s@%.*s", local, (int)(lx->p - start),
				 start);
		free(local);
		return v;
	}
	while (fg_auth_is_pvalue_char(*lx->p))
		lx->p++;
	if (lx->p == start) {
		fg_auth_fail(lx, "property without a value");
		return NULL;
	}
	return fg_xstrndup(start, (size_t)(lx->p - start));
}

/* fg_auth_digits - a number of at most 9 digits, or -1 */
static long fg_auth_digits(struct fg_auth_lex *lx)
{
	long n = 0;
	int count = 0;

	while (*lx->p >= '0' && *lx->p <= '9') {
		if (++count > 9)
			return fg_auth_fail(lx, "number too long");
		n = n * 10 + (*lx->p++ - '0');
	}
	return count > 0 ? n : fg_auth_fail(lx, "number expected");
}

/* fg_auth_resinfo - one result after its ';': methodspec, reasonspec,
   propspecs; 1 for "none", which adds nothing */
static int fg_auth_resinfo(struct fg_auth_lex *lx, struct fg_auth_results *ar)
{
	struct fg_auth_result res = { 0 };
	char *word;

	if (fg_auth_cfws(lx) < 0 ||
	    (res.method = fg_auth_keyword(lx, "method expected")) == NULL ||
	    fg_auth_cfws(lx) < 0)
		goto fail;
	if (strcmp(res.method, "none") == 0 && ar->n_results == 0 &&
	    (*lx->p == '\0' || *lx->p == ';')) {
		free(res.method);
		return 1;
	}
	if (*lx->p == '/') {
		lx->p++;
		if (fg_auth_cfws(lx) < 0 || fg_auth_digits(lx) < 0 ||
		    fg_auth_cfws(lx) < 0)
			goto fail;
	}
	if (*lx->p != '=') {
		fg_auth_fail(lx, "'=' expected after the method");
		goto fail;
	}
	lx->p++;
	if (fg_auth_cfws(lx) < 0 ||
	    (res.result = fg_auth_keyword(lx, "result expected")) == NULL ||
	    fg_auth_cfws(lx) < 0)
		goto fail;
	while (*lx->p != '\0' && *lx->p != ';') {
		struct fg_auth_prop prop = { 0 };

		if ((word = fg_auth_keyword(lx, "property expected")) == NULL ||
		    fg_auth_cfws(lx) < 0) {
			free(word);
			goto fail;
		}
		if (*lx->p == '=' && strcmp(word, "reason") == 0 &&
		    res.reason == NULL && res.n_props == 0) {
			free(word);
			lx->p++;
			if (fg_auth_cfws(lx) < 0 ||
			    (res.reason = fg_auth_value(lx, "reason without "
							"a value")) == NULL ||
			    fg_auth_cfws(lx) < 0)
				goto fail;
			continue;
		}
		prop.ptype = word;
		if (*lx->p != '.' || res.n_props >= FG_AUTH_MAX_PROPS) {
			free(word);
			fg_auth_fail(lx, *lx->p != '.' ? "ptype.property "
				     "expected" : "too many properties");
			goto fail;
		}
		lx->p++;
		if (fg_auth_cfws(lx) < 0 ||
		    (prop.property = fg_auth_keyword(lx, "property "
						     "expected")) == NULL ||
		    fg_auth_cfws(lx) < 0 || *lx->p != '=') {
			free(prop.ptype);
			free(prop.property);
			fg_auth_fail(lx, "'=' expected after the property");
			goto fail;
		}
		lx->p++;
		if (fg_auth_cfws(lx) < 0 ||
		    (prop.value = fg_auth_pvalue(lx)) == NULL ||
		    fg_auth_cfws(lx) < 0) {
			free(prop.ptype);
			free(prop.property);
			free(prop.value);
			goto fail;
		}
		res.props = fg_xrealloc(res.props, (res.n_props + 1) *
					sizeof(*res.props));
		res.props[res.n_props++] = prop;
	}
	if (ar->n_results >= FG_AUTH_MAX_RESULTS) {
		fg_auth_fail(lx, "too many results");
		goto fail;
	}
	ar->results = fg_xrealloc(ar->results, (ar->n_results + 1) *
				  sizeof(*ar->results));
	ar->results[ar->n_results++] = res;
	return 0;
fail:
	for (size_t i = 0; i < res.n_props; i++) {
		free(res.props[i].ptype);
		free(res.props[i].property);
		free(res.props[i].value);
	}
	free(res.props);
	free(res.method);
	free(res.result);
	free(res.reason);
	return -1;
}

/* fg_auth_instance - ARC's "i=N;" before the payload */
static int fg_auth_instance(struct fg_auth_lex *lx, struct fg_auth_results *ar)
{
	long n;

	if (fg_auth_cfws(lx) < 0)
		return -1;
	if (*lx->p != 'i' && *lx->p != 'I')
		return fg_auth_fail(lx, "i= expected");
	lx->p++;
	if (fg_auth_cfws(lx) < 0 || *lx->p != '=')
		return fg_auth_fail(lx, "i= expected");
	lx->p++;
	if (fg_auth_cfws(lx) < 0 || (n = fg_auth_digits(lx)) < 0)
		return -1;
	if (n < 1 || n > FG_AUTH_MAX_ARC_INSTANCE)
		return fg_auth_fail(lx, "ARC instance out of range");
	ar->instance = (unsigned int)n;
	if (fg_auth_cfws(lx) < 0 || *lx->p != ';')
		return fg_auth_fail(lx, "';' expected after i=");
	lx->p++;
	return 0;
}

/* fg_auth_results_parse - parse one (ARC-)Authentication-Results value */
int fg_auth_results_parse(const char *value, bool arc,
			  struct fg_auth_results **ar_r, const char **error_r)
{
	struct fg_auth_lex lx = { value, NULL };
	struct fg_auth_results *ar;
	int none = 0;

	*ar_r = NULL;
	if (strlen(value) > FG_AUTH_MAX_VALUE) {
		*error_r = fg_errorf("header longer than %d characters",
				     FG_AUTH_MAX_VALUE);
		return -1;
	}
	ar = fg_xcalloc(1, sizeof(*ar));
	if (arc && fg_auth_instance(&lx, ar) < 0)
		goto fail;
	if (fg_auth_cfws(&lx) < 0 ||
	    (ar->authserv_id = fg_auth_value(&lx, "authserv-id expected"))
	    == NULL || fg_auth_cfws(&lx) < 0)
		goto fail;
	if (*lx.p >= '0' && *lx.p <= '9') {
		/* only version 1 exists; another is not understood */
		if (fg_auth_digits(&lx) != 1) {
			fg_auth_fail(&lx, "unknown version");
			goto fail;
		}
		if (fg_auth_cfws(&lx) < 0)
			goto fail;
	}
	if (*lx.p != ';') {
		fg_auth_fail(&lx, "';' expected after the authserv-id");
		goto fail;
	}
	while (*lx.p == ';') {
		lx.p++;
		if (fg_auth_cfws(&lx) < 0)
			goto fail;
		if (*lx.p == '\0' && (ar->n_results > 0 || none))
			break;	/* a trailing ';' */
		if (none) {
			fg_auth_fail(&lx, "results after none");
			goto fail;
		}
		if ((none = fg_auth_resinfo(&lx, ar)) < 0)
			goto fail;
	}
	if (*lx.p != '\0') {
		fg_auth_fail(&lx, "';' expected between results");
		goto fail;
	}
	*ar_r = ar;
	return 0;
fail:
	*error_r = fg_errorf("%s at offset %zu", lx.error != NULL ?
			     lx.error : "syntax error",
			     (size_t)(lx.p - value));
	fg_auth_results_free(&ar);
	return -1;
}

/* fg_auth_results_free - free a parsed header; NULLs the pointer */
void fg_auth_results_free(struct fg_auth_results **arp)
{
	struct fg_auth_results *ar = *arp;

	if (ar == NULL)
		return;
	for (size_t i = 0; i < ar->n_results; i++) {
		struct fg_auth_result *r = &ar->results[i];

		for (size_t j = 0; j < r->n_props; j++) {
			free(r->props[j].ptype);
			free(r->props[j].property);
			free(r->props[j].value);
		}
		free(r->props);
		free(r->method);
		free(r->result);
		free(r->reason);
	}
	free(ar->results);
	free(ar->authserv_id);
	free(ar);
	*arp = NULL;
}

/* fg_auth_prop_get - the value of ptype.property of a result, or NULL */
const char *fg_auth_prop_get(const struct fg_auth_result *res,
			     const char *ptype, const char *property)
{
	for (size_t i = 0; i < res->n_props; i++) {
		if (strcmp(res->props[i].ptype, ptype) == 0 &&
		    strcmp(res->props[i].property, property) == 0)
			return res->props[i].value;
	}
	return NULL;
}

/* fg_auth_id_trusted - id is in the trusted list */
bool fg_auth_id_trusted(const char *trusted, const char *id)
{
	size_t idlen = id != NULL ? strlen(id) : 0;
	const char *p = trusted;

	if (p == NULL || idlen == 0)
		return false;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len > 0 && len == idlen && strncasecmp(p, id, len) == 0)
			return true;
		p += len;
	}
	return false;
}

/* fg_auth_domain - a domain name lowercased without a trailing dot, or
   NULL when it is not one (letters, digits, '-', '_' and dots) */
static char *fg_auth_domain(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || s[0] == '.')
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (!fg_auth_is_keyword_char(s[i]) && s[i] != '.')
			return NULL;
		if (s[i] == '.' && s[i + 1] == '.')
			return NULL;
	}
	return fg_str_lower(fg_xstrndup(s, len));
}

static const psl_ctx_t *fg_auth_psl_ctx;
static pthread_once_t fg_auth_psl_once = PTHREAD_ONCE_INIT;

/* fg_auth_psl_load - load the list, once */
static void fg_auth_psl_load(void)
{
	fg_auth_psl_ctx = psl_latest(NULL);
	if (fg_auth_psl_ctx == NULL)
		fg_auth_psl_ctx = psl_builtin();
}

/* fg_auth_psl - the Public Suffix List: the newer of the data Debian
   installs and libpsl's built-in copy. Loaded once, kept for the
   process; forumgated's threads may ask at the same time. */
static const psl_ctx_t *fg_auth_psl(void)
{
	(void)pthread_once(&fg_auth_psl_once, fg_auth_psl_load);
	return fg_auth_psl_ctx;
}

/* fg_auth_org_domain - see fg-auth.h */
char *fg_auth_org_domain(const char *domain)
{
	char *d = fg_auth_domain(domain);
	const psl_ctx_t *psl = fg_auth_psl();
	const char *org;
	char *out;

	if (d == NULL)
		return NULL;
	org = psl != NULL ? psl_registrable_domain(psl, d) : NULL;
	out = fg_xstrdup(org != NULL ? org : d);
	free(d);
	return out;
}

/* fg_auth_aligned - same organizational domain (case ignored) */
bool fg_auth_aligned(const char *a, const char *b)
{
	char *da = fg_auth_domain(a), *db = fg_auth_domain(b);
	const psl_ctx_t *psl = fg_auth_psl();
	const char *oa, *ob;
	bool aligned = false;

	if (da != NULL && db != NULL) {
		aligned = strcmp(da, db) == 0;
		if (!aligned && psl != NULL) {
			/* a public suffix itself has no organizational
			   domain: then only the same name is aligned */
			oa = psl_registrable_domain(psl, da);
			ob = psl_registrable_domain(psl, db);
			aligned = oa != NULL && ob != NULL &&
				strcmp(oa, ob) == 0;
		}
	}
	free(da);
	free(db);
	return aligned;
}

/* fg_auth_evidence - what in one parsed header authenticates the From
   domain, or NULL */
static char *fg_auth_evidence(const struct fg_auth_results *ar,
			      const char *from_domain)
{
	for (size_t i = 0; i < ar->n_results; i++) {
		const struct fg_auth_result *r = &ar->results[i];
		const char *v;
		char *d;
		bool ok;

		if (strcmp(r->result, "pass") != 0)
			continue;
		if (strcmp(r->method, "dmarc") == 0 &&
		    (v = fg_auth_prop_get(r, "header", "from")) != NULL) {
			d = fg_auth_domain(v);
			ok = d != NULL && strcmp(d, from_domain) == 0;
			free(d);
			if (ok)
				return fg_xasprintf("dmarc=pass header.from=%s "
						    "by %s", from_domain,
						    ar->authserv_id);
		}
		if (strcmp(r->method, "dkim") == 0 &&
		    (v = fg_auth_prop_get(r, "header", "d")) != NULL &&
		    (d = fg_auth_domain(v)) != NULL) {
			char *text = fg_auth_aligned(d, from_domain) ?
				fg_xasprintf("dkim=pass header.d=%s by %s", d,
					     ar->authserv_id) : NULL;
			free(d);
			if (text != NULL)
				return text;
		}
	}
	return NULL;
}

/* fg_auth_tag - the value of tag name in a DKIM-style tag-list
   (RFC 6376 section 3.2: "t=v; t=v"), white space removed; NULL when
   absent or there twice */
static char *fg_auth_tag(const char *list, const char *name)
{
	static const char ws[] = " \t\r\n";
	size_t nlen = strlen(name);
	char *found = NULL;

	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ";");
		const char *tag = p + strspn(p, ws);
		const char *eq = memchr(p, '=', len), *t = eq;

		while (t != NULL && t > tag && strchr(ws, t[-1]) != NULL)
			t--;
		if (t != NULL && (size_t)(t - tag) == nlen &&
		    strncmp(tag, name, nlen) == 0) {
			struct fg_buf b = { 0 };

			if (found != NULL) {
				free(found);
				return NULL;
			}
			fg_buf_puts(&b, "");
			for (const char *v = eq + 1; v < p + len; v++) {
				if (strchr(ws, *v) == NULL)
					fg_buf_putc(&b, *v);
			}
			found = fg_buf_steal(&b);
		}
		p += len;
		if (*p == ';')
			p++;
	}
	return found;
}

/* fg_auth_arc_sealer - the d= of the one ARC-Seal of an instance, or
   NULL when there is none or more than one */
static char *fg_auth_arc_sealer(const struct fg_auth_headers *h,
				unsigned int instance)
{
	char *sealer = NULL;
	int seals = 0;

	for (size_t i = 0; i < h->n_arc_seal && i < FG_AUTH_MAX_HEADERS; i++) {
		char *inst = fg_auth_tag(h->arc_seal[i], "i");
		long long n = 0;

		if (inst != NULL && fg_parse_llong(inst, &n) == 0 &&
		    n == (long long)instance) {
			seals++;
			free(sealer);
			sealer = fg_auth_tag(h->arc_seal[i], "d");
		}
		free(inst);
	}
	if (seals != 1) {
		free(sealer);
		return NULL;
	}
	return sealer;
}

/* fg_auth_arc - evidence from the ARC-Authentication-Results of a
   chain the trusted MTA verified (arc_by: the authserv-id that said
   arc=pass), or NULL */
static char *fg_auth_arc(const char *from_domain, const char *trusted,
			 const struct fg_auth_headers *h, const char *arc_by)
{
	char *evidence = NULL;

	for (size_t i = 0; i < h->n_arc_ar && i < FG_AUTH_MAX_HEADERS &&
	     evidence == NULL; i++) {
		struct fg_auth_results *ar;
		const char *error;
		char *found, *sealer;

		if (fg_auth_results_parse(h->arc_ar[i], true, &ar, &error) < 0)
			continue;
		if (!fg_auth_id_trusted(trusted, ar->authserv_id)) {
			fg_auth_results_free(&ar);
			continue;
		}
		sealer = fg_auth_arc_sealer(h, ar->instance);
		found = sealer != NULL &&
			fg_auth_aligned(sealer, ar->authserv_id) ?
			fg_auth_evidence(ar, from_domain) : NULL;
		if (found != NULL)
			evidence = fg_xasprintf("%s (ARC i=%u sealed by %s, "
						"arc=pass by %s)", found,
						ar->instance, sealer, arc_by);
		free(found);
		free(sealer);
		fg_auth_results_free(&ar);
	}
	return evidence;
}

/* fg_auth_from - the evidence that from_domain is authenticated, or "" */
char *fg_auth_from(const char *from_domain, const char *trusted,
		   const struct fg_auth_headers *h)
{
	char *domain = fg_auth_domain(from_domain), *evidence = NULL;
	char *arc_by = NULL;

	if (domain == NULL || trusted == NULL ||
	    trusted[strspn(trusted, ", \t")] == '\0') {
		free(domain);
		return fg_xstrdup("");
	}
	for (size_t i = 0; i < h->n_ar && i < FG_AUTH_MAX_HEADERS &&
	     evidence == NULL; i++) {
		struct fg_auth_results *ar;
		const char *error;

		if (fg_auth_results_parse(h->ar[i], false, &ar, &error) < 0)
			continue;
		if (fg_auth_id_trusted(trusted, ar->authserv_id)) {
			evidence = fg_auth_evidence(ar, domain);
			for (size_t j = 0; j < ar->n_results &&
			     arc_by == NULL; j++) {
				if (strcmp(ar->results[j].method, "arc") == 0 &&
				    strcmp(ar->results[j].result, "pass") == 0)
					arc_by = fg_xstrdup(ar->authserv_id);
			}
		}
		fg_auth_results_free(&ar);
	}
	if (evidence == NULL && arc_by != NULL)
		evidence = fg_auth_arc(domain, trusted, h, arc_by);
	free(arc_by);
	free(domain);
	return evidence != NULL ? evidence : fg_xstrdup("");
}
