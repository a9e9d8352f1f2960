/*
 * NAME
 *	check_auth - unit tests of sender authentication
 * DESCRIPTION
 *	Covers fg-auth (the Authentication-Results parser: the examples
 *	of RFC 8601 appendix B, comments, quoting, hostile forms; trusted
 *	authserv-ids; DMARC and aligned DKIM passes; ARC) and the From
 *	decisions of fg-mailparse: which senders are authenticated, in
 *	each of the forms a forger tries (another domain's pass, groups,
 *	two mailboxes, two From headers, source routes, comments, quoted
 *	local parts, trailing dots, spaces, and "X via List" with the
 *	headers a sender can write), and when a list's From rewriting is
 *	undone; a queue entry without from_auth is not authenticated.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg-auth.h"
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-record.h"
#include "fg-store.h"

#define TRUSTED "mx.lists.test, verifier.lists.test"

/* parse_one - parse an A-R value, asserting success */
static struct fg_auth_results *parse_one(const char *value, bool arc)
{
	struct fg_auth_results *ar = NULL;
	const char *error = NULL;

	ck_assert_msg(fg_auth_results_parse(value, arc, &ar, &error) == 0,
		      "'%s': %s", value, error != NULL ? error : "?");
	ck_assert_ptr_nonnull(ar);
	return ar;
}

/* parse_fails - an A-R value that must not parse */
static void parse_fails(const char *value, bool arc)
{
	struct fg_auth_results *ar = NULL;
	const char *error = NULL;

	ck_assert_msg(fg_auth_results_parse(value, arc, &ar, &error) < 0,
		      "'%s' parsed", value);
	ck_assert_ptr_null(ar);
	ck_assert_ptr_nonnull(error);
}

/* result_is - method, result and one property of a result */
static void result_is(const struct fg_auth_results *ar, size_t i,
		      const char *method, const char *result,
		      const char *ptype, const char *property,
		      const char *value)
{
	ck_assert_uint_gt(ar->n_results, i);
	ck_assert_str_eq(ar->results[i].method, method);
	ck_assert_str_eq(ar->results[i].result, result);
	if (ptype != NULL) {
		const char *v = fg_auth_prop_get(&ar->results[i], ptype,
						 property);
		ck_assert_msg(v != NULL, "%s.%s missing", ptype, property);
		ck_assert_str_eq(v, value);
	}
}

/* One parse and what it must give: the authserv-id, the number of
   results, and up to four ptype.property values of results. */
struct parse_case {
	const char *value, *authserv_id;
	size_t n_results;
	struct {
		size_t i;
		const char *method, *result, *ptype, *property, *value;
	} expect[4];
};

/* The examples of RFC 8601 appendix B, and forms verifiers write. */
static const struct parse_case parse_cases[] = {
	/* B.2: nothing done */
	{ "example.org 1; none", "example.org", 0, { { 0 } } },
	/* B.3: SPF */
	{ "example.com; spf=pass smtp.mailfrom=example.net", "example.com", 1,
	  { { 0, "spf", "pass", "smtp", "mailfrom", "example.net" } } },
	/* B.4: SMTP AUTH with a comment, then SPF; iprev */
	{ "example.com;\r\n\tauth=pass (cram-md5) smtp.auth=sender@example.net;"
	  "\r\n\tspf=pass smtp.mailfrom=example.net", "example.com", 2,
	  { { 0, "auth", "pass", "smtp", "auth", "sender@example.net" },
	    { 1, "spf", "pass", "smtp", "mailfrom", "example.net" } } },
	{ "example.com; iprev=pass\r\n\tpolicy.iprev=192.0.2.200",
	  "example.com", 1,
	  { { 0, "iprev", "pass", "policy", "iprev", "192.0.2.200" } } },
	/* B.5/B.6: two DKIM signatures */
	{ "mail-router.example.net;\r\n\tdkim=pass (good signature) "
	  "header.d=newyork.example.com\r\n\theader.b=oINEO8hg;\r\n\t"
	  "dkim=fail (bad signature) header.d=mail-router.example.net\r\n\t"
	  "header.b=EToRSuvU", "mail-router.example.net", 2,
	  { { 0, "dkim", "pass", "header", "d", "newyork.example.com" },
	    { 0, "dkim", "pass", "header", "b", "oINEO8hg" },
	    { 1, "dkim", "fail", "header", "d", "mail-router.example.net" } } },
	/* B.7: comments everywhere CFWS may stand */
	{ "foo.example.net (foobar) 1 (baz);\r\n\tdkim (Because I like it) / "
	  "1 (One yay) = (wait for it) fail\r\n\tpolicy (A dot can go here) "
	  ". (like that) expired\r\n\t(this surprised me) = (as I wasn't "
	  "expecting it) 1362471462", "foo.example.net", 1,
	  { { 0, "dkim", "fail", "policy", "expired", "1362471462" } } },
	/* what verifiers write unquoted: IPv6, <> around an address */
	{ "mx.lists.test; iprev=pass policy.iprev=2001:db8::1; spf=none "
	  "smtp.mailfrom=<>; dmarc=pass header.from=example.test",
	  "mx.lists.test", 3,
	  { { 0, "iprev", "pass", "policy", "iprev", "2001:db8::1" },
	    { 1, "spf", "none", "smtp", "mailfrom", "<>" },
	    { 2, "dmarc", "pass", "header", "from", "example.test" } } },
};

START_TEST(test_rfc8601_examples)
{
	const struct parse_case *c = &parse_cases[_i];
	struct fg_auth_results *ar = parse_one(c->value, false);

	ck_assert_str_eq(ar->authserv_id, c->authserv_id);
	ck_assert_uint_eq(ar->n_results, c->n_results);
	for (size_t j = 0; j < 4 && c->expect[j].method != NULL; j++)
		result_is(ar, c->expect[j].i, c->expect[j].method,
			  c->expect[j].result, c->expect[j].ptype,
			  c->expect[j].property, c->expect[j].value);
	fg_auth_results_free(&ar);
	ck_assert_ptr_null(ar);
}
END_TEST

START_TEST(test_parse_forms)
{
	struct fg_auth_results *ar;

	/* quoted authserv-id and values, a reason, case of names */
	ar = parse_one("\"mx.lists.test\"; DMARC=Pass reason=\"DKIM ok\" "
		       "Header.From=\"example.test\"", false);
	ck_assert_str_eq(ar->authserv_id, "mx.lists.test");
	result_is(ar, 0, "dmarc", "pass", "header", "from", "example.test");
	ck_assert_str_eq(ar->results[0].reason, "DKIM ok");
	fg_auth_results_free(&ar);

	/* a quoted local part, nested comments, a trailing ';' */
	ar = parse_one("mx.lists.test (a (nested (comment))); spf=pass "
		       "smtp.mailfrom=\"a b\"@example.test;", false);
	result_is(ar, 0, "spf", "pass", "smtp", "mailfrom",
		  "a b@example.test");
	fg_auth_results_free(&ar);

	/* a comment that looks like a property is only a comment */
	ar = parse_one("mx.lists.test; dmarc=pass (header.from=example.test) "
		       "header.from=evil.test", false);
	ck_assert_uint_eq(ar->results[0].n_props, 1);
	result_is(ar, 0, "dmarc", "pass", "header", "from", "evil.test");
	fg_auth_results_free(&ar);

	/* base64 fragments of a signature */
	ar = parse_one("mx.lists.test; dkim=pass header.d=example.test "
		       "header.i=@example.test header.b=ab+/cd==", false);
	result_is(ar, 0, "dkim", "pass", "header", "b", "ab+/cd==");
	result_is(ar, 0, "dkim", "pass", "header", "i", "@example.test");
	fg_auth_results_free(&ar);

	/* ARC-Authentication-Results */
	ar = parse_one(" i=2; lists.example.org; dmarc=pass "
		       "header.from=example.test", true);
	ck_assert_uint_eq(ar->instance, 2);
	ck_assert_str_eq(ar->authserv_id, "lists.example.org");
	fg_auth_results_free(&ar);
}
END_TEST

START_TEST(test_parse_hostile)
{
	char *deep, *long_value;
	struct fg_buf b = { 0 };

	parse_fails("", false);
	parse_fails("   ", false);
	parse_fails("mx.lists.test", false);		/* no ';' */
	parse_fails("; dmarc=pass", false);		/* no authserv-id */
	parse_fails("mx.lists.test; dmarc", false);
	parse_fails("mx.lists.test; dmarc=", false);
	parse_fails("mx.lists.test; dmarc=pass header.from", false);
	parse_fails("mx.lists.test; dmarc=pass header=example.test", false);
	parse_fails("mx.lists.test; dmarc=pass header.from=example.test "
		    "extra junk", false);
	parse_fails("mx.lists.test (unclosed; dmarc=pass", false);
	parse_fails("mx.lists.test; dmarc=pass header.from=\"example.test",
		    false);
	parse_fails("mx.lists.test; none; dmarc=pass "
		    "header.from=example.test", false);
	parse_fails("mx.lists.test 2; dmarc=pass header.from=example.test",
		    false);			/* unknown version */
	parse_fails("mx.lists.test; dmarc=pass header.from=example.test",
		    true);			/* no i= */
	parse_fails("i=0; mx.lists.test; dmarc=pass", true);
	parse_fails("i=51; mx.lists.test; dmarc=pass", true);
	parse_fails("i=99999999999; mx.lists.test; dmarc=pass", true);

	fg_buf_puts(&b, "mx.lists.test ");
	for (int i = 0; i < 20; i++)
		fg_buf_putc(&b, '(');
	for (int i = 0; i < 20; i++)
		fg_buf_putc(&b, ')');
	fg_buf_puts(&b, "; dmarc=pass header.from=example.test");
	deep = fg_buf_steal(&b);
	parse_fails(deep, false);
	free(deep);

	fg_buf_puts(&b, "mx.lists.test");
	for (int i = 0; i < 40; i++)
		fg_buf_puts(&b, "; spf=none");
	long_value = fg_buf_steal(&b);
	parse_fails(long_value, false);		/* too many results */
	free(long_value);

	fg_buf_puts(&b, "mx.lists.test; dmarc=pass header.from=");
	for (int i = 0; i < FG_AUTH_MAX_VALUE; i++)
		fg_buf_putc(&b, 'a');
	long_value = fg_buf_steal(&b);
	parse_fails(long_value, false);
	free(long_value);
}
END_TEST

START_TEST(test_trusted_and_aligned)
{
	ck_assert(fg_auth_id_trusted(TRUSTED, "mx.lists.test"));
	ck_assert(fg_auth_id_trusted(TRUSTED, "MX.Lists.Test"));
	ck_assert(fg_auth_id_trusted(TRUSTED, "verifier.lists.test"));
	ck_assert(!fg_auth_id_trusted(TRUSTED, "lists.test"));
	ck_assert(!fg_auth_id_trusted(TRUSTED, "mx.lists.tes"));
	ck_assert(!fg_auth_id_trusted(TRUSTED, "mx.lists.test.evil"));
	ck_assert(!fg_auth_id_trusted(TRUSTED, ""));
	ck_assert(!fg_auth_id_trusted("", "mx.lists.test"));
	ck_assert(!fg_auth_id_trusted(NULL, "mx.lists.test"));

	ck_assert(fg_auth_aligned("example.test", "example.test"));
	ck_assert(fg_auth_aligned("mail.example.test", "example.test"));
	ck_assert(fg_auth_aligned("a.example.org", "B.Example.ORG."));
	ck_assert(fg_auth_aligned("news.bbc.co.uk", "bbc.co.uk"));
	ck_assert(!fg_auth_aligned("bbc.co.uk", "evil.co.uk"));
	ck_assert(!fg_auth_aligned("co.uk", "evil.co.uk"));
	ck_assert(!fg_auth_aligned("evil-example.test", "example.test"));
	ck_assert(!fg_auth_aligned("example.test.evil", "example.test"));
	/* a public suffix with private registrations */
	ck_assert(!fg_auth_aligned("alice.github.io", "mallory.github.io"));
	ck_assert(!fg_auth_aligned("exa mple.test", "exa mple.test"));
	ck_assert(!fg_auth_aligned("", ""));
}
END_TEST

/* evidence - fg_auth_from() over A-R values (NULL-terminated lists) */
static char *evidence(const char *from_domain, const char *trusted,
		      const char *const *ar, const char *const *arc_ar,
		      const char *const *arc_seal)
{
	struct fg_auth_headers h = { ar, 0, arc_ar, 0, arc_seal, 0 };

	while (ar != NULL && ar[h.n_ar] != NULL)
		h.n_ar++;
	while (arc_ar != NULL && arc_ar[h.n_arc_ar] != NULL)
		h.n_arc_ar++;
	while (arc_seal != NULL && arc_seal[h.n_arc_seal] != NULL)
		h.n_arc_seal++;
	return fg_auth_from(from_domain, trusted, &h);
}

/* evidence_is - fg_auth_from() gives this text ("" for none) */
static void evidence_is(const char *expect, const char *from_domain,
			const char *trusted, const char *const *ar,
			const char *const *arc_ar,
			const char *const *arc_seal)
{
	char *e = evidence(from_domain, trusted, ar, arc_ar, arc_seal);

	ck_assert_str_eq(e, expect);
	free(e);
}

START_TEST(test_evidence)
{
	static const char *const dmarc[] = {
		"mx.lists.test; dkim=none; dmarc=pass (p=reject) "
		"header.from=example.test", NULL };
	static const char *const dkim_sub[] = {
		"verifier.lists.test; dkim=pass header.d=mail.example.test "
		"header.s=sel", NULL };
	static const char *const fails[] = {
		"mx.lists.test; dmarc=fail header.from=example.test; "
		"dkim=fail header.d=example.test; dkim=neutral "
		"header.d=example.test", NULL };
	static const char *const other_domain[] = {
		"mx.lists.test; dmarc=pass header.from=evil.test; dkim=pass "
		"header.d=evil.test; dmarc=pass header.from=sub.example.test",
		NULL };
	static const char *const untrusted_first[] = {
		"evil.test; dmarc=pass header.from=example.test",
		"mx.lists.test; dmarc=fail header.from=example.test", NULL };
	static const char *const broken[] = {
		"mx.lists.test; dmarc=pass header.from=example.test junk",
		NULL };
	static const char *const in_comment[] = {
		"mx.lists.test; dmarc=fail (dmarc=pass header.from="
		"example.test) header.from=example.test", NULL };
	static const char *const psl[] = {
		"mx.lists.test; dkim=pass header.d=co.uk", NULL };

	evidence_is("dmarc=pass header.from=example.test by mx.lists.test",
		    "example.test", TRUSTED, dmarc, NULL, NULL);
	evidence_is("dmarc=pass header.from=example.test by mx.lists.test",
		    "Example.TEST", TRUSTED, dmarc, NULL, NULL);
	/* DMARC speaks of the From domain itself */
	evidence_is("", "mail.example.test", TRUSTED, dmarc, NULL, NULL);
	/* nothing is trusted by default */
	evidence_is("", "example.test", "", dmarc, NULL, NULL);
	evidence_is("", "example.test", NULL, dmarc, NULL, NULL);
	evidence_is("", "example.test", "other.lists.test", dmarc, NULL,
		    NULL);
	/* relaxed DKIM alignment, both ways */
	evidence_is("dkim=pass header.d=mail.example.test by "
		    "verifier.lists.test", "example.test", TRUSTED, dkim_sub,
		    NULL, NULL);
	evidence_is("dkim=pass header.d=mail.example.test by "
		    "verifier.lists.test", "news.example.test", TRUSTED,
		    dkim_sub, NULL, NULL);
	evidence_is("", "example.test", TRUSTED, fails, NULL, NULL);
	evidence_is("", "example.test", TRUSTED, other_domain, NULL, NULL);
	evidence_is("", "example.test", TRUSTED, untrusted_first, NULL, NULL);
	evidence_is("", "example.test", TRUSTED, broken, NULL, NULL);
	evidence_is("", "example.test", TRUSTED, in_comment, NULL, NULL);
	evidence_is("", "example.co.uk", TRUSTED, psl, NULL, NULL);
	evidence_is("", "", TRUSTED, dmarc, NULL, NULL);
	evidence_is("", "example.test>", TRUSTED, dmarc, NULL, NULL);
}
END_TEST

START_TEST(test_evidence_arc)
{
	static const char *const arc_pass[] = {
		"mx.lists.test; dmarc=fail header.from=lists.example.org; "
		"arc=pass (i=1) smtp.remote-ip=192.0.2.1", NULL };
	static const char *const arc_fail[] = {
		"mx.lists.test; arc=fail", NULL };
	static const char *const arc_pass_untrusted[] = {
		"evil.test; arc=pass", NULL };
	static const char *const arc_ar[] = {
		"i=1; lists.example.org; dkim=pass header.d=example.test; "
		"dmarc=pass header.from=example.test", NULL };
	static const char *const arc_ar_twice[] = {
		"i=1; lists.example.org; dmarc=pass header.from=example.test",
		"i=1; lists.example.org; dmarc=pass header.from=example.test",
		NULL };
	static const char *const seal[] = {
		"i=1; a=rsa-sha256; cv=none; d=example.org; s=arc;\r\n\t"
		"t=1700000000; b=AbCd", NULL };
	static const char *const seal_by_other[] = {
		"i=1; a=rsa-sha256; cv=none; d=evil.test; s=arc; b=AbCd",
		NULL };
	static const char *const two_seals[] = {
		"i=1; a=rsa-sha256; cv=none; d=example.org; s=arc; b=AbCd",
		"i=1; a=rsa-sha256; cv=none; d=example.org; s=arc; b=EfGh",
		NULL };
	static const char *const seal_other_instance[] = {
		"i=2; a=rsa-sha256; cv=pass; d=example.org; s=arc; b=AbCd",
		NULL };
	const char *trusted = TRUSTED ", lists.example.org";

	evidence_is("dkim=pass header.d=example.test by "
		    "lists.example.org (ARC i=1 sealed by example.org, "
		    "arc=pass by mx.lists.test)", "example.test", trusted,
		    arc_pass, arc_ar, seal);
	/* the chain did not verify, or an untrusted host says it did */
	evidence_is("", "example.test", trusted, arc_fail, arc_ar, seal);
	evidence_is("", "example.test", trusted, arc_pass_untrusted, arc_ar,
		    seal);
	evidence_is("", "example.test", trusted, NULL, arc_ar, seal);
	/* the sealer's authserv-id is not trusted */
	evidence_is("", "example.test", TRUSTED, arc_pass, arc_ar, seal);
	/* sealed by someone else under a trusted authserv-id */
	evidence_is("", "example.test", trusted, arc_pass, arc_ar,
		    seal_by_other);
	evidence_is("", "example.test", trusted, arc_pass, arc_ar, two_seals);
	evidence_is("", "example.test", trusted, arc_pass, arc_ar,
		    seal_other_instance);
	evidence_is("", "example.test", trusted, arc_pass, arc_ar, NULL);
	/* ARC-A-R twice for one instance: the seal does not decide it,
	   but both say the same; any instance that passes counts once */
	evidence_is("dmarc=pass header.from=example.test by "
		    "lists.example.org (ARC i=1 sealed by example.org, "
		    "arc=pass by mx.lists.test)", "example.test", trusted,
		    arc_pass, arc_ar_twice, seal);
	evidence_is("", "evil.test", trusted, arc_pass, arc_ar, seal);
}
END_TEST

/*
 * From decisions of the mail parser
 */

#define AR_PASS "Authentication-Results: mx.lists.test; " \
	"dmarc=pass header.from=example.test\n"
/* what a forger at their own domain gets from the MTA: real passes */
#define AR_EVIL "Authentication-Results: mx.lists.test; " \
	"dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test\n"

/* parse_from_list - parse a message of these headers with the trust
   given, for a list of this posting address (NULL: not known) */
static struct fg_record *parse_from_list(const char *headers,
					 bool list_trusted,
					 const char *list_address)
{
	struct fg_parse_settings set;
	struct fg_record *rec = NULL;
	const char *error = NULL;
	char *m = fg_xasprintf("%sTo: forum@lists.test\nSubject: s\n"
			       "Message-ID: <m@example.test>\n\nbody\n",
			       headers);

	memset(&set, 0, sizeof(set));
	set.secret = "test-secret";
	set.mail_domain = "lists.test";
	set.trusted_authserv_ids = TRUSTED;
	set.list_trusted = list_trusted;
	set.list_address = list_address;
	ck_assert_msg(fg_mail_parse(m, strlen(m), &set, &rec, &error) == 0,
		      "%s", error != NULL ? error : "?");
	free(m);
	return rec;
}

/* parse_from - parse_from_list() of a list not known */
static struct fg_record *parse_from(const char *headers, bool list_trusted)
{
	return parse_from_list(headers, list_trusted, NULL);
}

/* from_is_list - the sender and its authentication after parsing, for
   a list of this posting address (NULL: not known) */
static void from_is_list(const char *headers, bool list_trusted,
			 const char *list_address, const char *email,
			 bool authenticated)
{
	struct fg_record *rec = parse_from_list(headers, list_trusted,
						list_address);

	ck_assert_ptr_nonnull(rec->from_auth);
	if (email != NULL)
		ck_assert_msg(strcmp(rec->from_email, email) == 0,
			      "%s: from_email '%s', expected '%s'", headers,
			      rec->from_email, email);
	ck_assert_msg((*rec->from_auth != '\0') == authenticated,
		      "%s: from_auth '%s'", headers, rec->from_auth);
	fg_record_free(&rec);
}

/* from_is - from_is_list() of a list not known */
static void from_is(const char *headers, bool list_trusted,
		    const char *email, bool authenticated)
{
	from_is_list(headers, list_trusted, NULL, email, authenticated);
}

START_TEST(test_from_authenticated)
{
	struct fg_record *rec;

	rec = parse_from("From: Alice <alice@example.test>\n" AR_PASS, false);
	ck_assert_str_eq(rec->from_email, "alice@example.test");
	ck_assert_str_eq(rec->from_auth, "dmarc=pass header.from=example.test"
			 " by mx.lists.test");
	fg_record_free(&rec);
	/* the domain's case does not matter */
	from_is("From: Alice <alice@EXAMPLE.test>\n" AR_PASS, false,
		"alice@example.test", true);
	/* no header, another's header, a header not trusted */
	from_is("From: Alice <alice@example.test>\n", false,
		"alice@example.test", false);
	from_is("From: Alice <alice@example.test>\n" AR_EVIL, false,
		"alice@example.test", false);
	from_is("From: Alice <alice@example.test>\n"
		"Authentication-Results: evil.test; dmarc=pass "
		"header.from=example.test\n", false, "alice@example.test",
		false);
	/* two A-R headers: the trusted one counts, wherever it stands */
	from_is("From: Alice <alice@example.test>\n" AR_EVIL AR_PASS, false,
		"alice@example.test", true);
}
END_TEST

START_TEST(test_from_forged_forms)
{
	/* each form names alice; the MTA authenticated only evil.test */
	static const char *const forms[] = {
		"From: alice@example.test\n",
		"From: g: alice@example.test;\n",
		"From: g: alice@example.test, mallory@evil.test;\n",
		"From: <@relay.evil.test:alice@example.test>\n",
		"From: alice@example.test (alice@example.test)\n",
		"From: (mallory@evil.test) alice@example.test\n",
		"From: \"alice\"@example.test\n",
		"From: alice@example.test.\n",
		"From: alice @ example . test\n",
		"From: Alice <alice@example.test>\nFrom: mallory@evil.test\n",
		"From: alice@example.test, mallory@evil.test\n",
		"From: Alice <alice@example.test>\nSender: mallory@evil.test\n",
		"From: Alice <alice@example.test>\n"
		"Return-Path: <mallory@evil.test>\n",
		"From: Alice, Example <alice@example.test>\n",
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(forms); i++) {
		char *h = fg_xasprintf("%s%s", forms[i], AR_EVIL);

		from_is(h, false, NULL, false);
		from_is(h, true, NULL, false);
		free(h);
	}
}
END_TEST

START_TEST(test_from_never_authenticated)
{
	/* even with a pass for example.test: more than one sender, a
	   group, or two From headers is never authenticated */
	static const char *const forms[] = {
		"From: g: alice@example.test;\n",
		"From: alice@example.test, bob@example.test\n",
		"From: Alice <alice@example.test>\nFrom: bob@example.test\n",
		"From: Alice <alice@example.test>\nFrom: Alice "
		"<alice@example.test>\n",
		"From: Doe, Jane <alice@example.test>\n",
		"From: alice\n",
		"From: \n",
		/* the domain is evil.test, whatever the local part says */
		"From: \"alice@example.test\"@evil.test\n",
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(forms); i++) {
		char *h = fg_xasprintf("%s%s", forms[i], AR_PASS);

		from_is(h, false, NULL, false);
		free(h);
	}
	/* the first mailbox is still shown, for the attribution line */
	from_is("From: alice@example.test, bob@example.test\n" AR_PASS, false,
		"alice@example.test", false);
	/* GMime's reading of an address is what counts: it reads the
	   trailing dot of a domain as the same domain, which the
	   verifier authenticated */
	from_is("From: alice@example.test.\n" AR_PASS, false,
		"alice@example.test", true);
}
END_TEST

#define MUNGED "From: Alice via Forum <forum@lists.test>\n" \
	"List-Post: <mailto:forum@lists.test>\n"

START_TEST(test_from_via_list)
{
	/* Mailman's munge_from: Reply-To is the author */
	from_is(MUNGED "Reply-To: Alice <alice@example.test>\n" AR_PASS, true,
		"alice@example.test", true);
	/* ... but only for a trusted list */
	from_is(MUNGED "Reply-To: Alice <alice@example.test>\n" AR_PASS, false,
		"forum@lists.test", false);
	/* X-Original-From (Google Groups and others) */
	from_is(MUNGED "X-Original-From: alice@example.test\n" AR_PASS, true,
		"alice@example.test", true);
	from_is(MUNGED "X-Original-From: alice@example.test\n"
		"Reply-To: alice@example.test\n" AR_PASS, true,
		"alice@example.test", true);
	/* un-munged, and yet not authenticated: the pass is evil.test's */
	from_is(MUNGED "Reply-To: Alice <alice@example.test>\n" AR_EVIL, true,
		"alice@example.test", false);
	/* headers a sender writes are never used */
	from_is(MUNGED "Cc: Alice <alice@example.test>\n" AR_PASS, true,
		"forum@lists.test", false);
	from_is(MUNGED "X-MailFrom: alice@example.test\n" AR_PASS, true,
		"forum@lists.test", false);
	/* ambiguous: two mailboxes, or two headers that disagree */
	from_is(MUNGED "Reply-To: mallory@evil.test, alice@example.test\n"
		AR_PASS, true, "forum@lists.test", false);
	from_is(MUNGED "X-Original-From: alice@example.test\n"
		"Reply-To: mallory@evil.test\n" AR_PASS, true,
		"forum@lists.test", false);
	from_is(MUNGED "Reply-To: alice@example.test\n"
		"Reply-To: mallory@evil.test\n" AR_PASS, true,
		"forum@lists.test", false);
	/* Reply-To the list itself names nobody */
	from_is(MUNGED "Reply-To: forum@lists.test\n" AR_PASS, true,
		"forum@lists.test", false);
	/* From is not the list's posting address: no rewriting to undo */
	from_is("From: Alice via Forum <mallory@evil.test>\n"
		"List-Post: <mailto:forum@lists.test>\n"
		"Reply-To: alice@example.test\n" AR_PASS, true,
		"mallory@evil.test", false);
	from_is("From: Alice via Forum <forum@lists.test>\n"
		"Reply-To: alice@example.test\n" AR_PASS, true,
		"forum@lists.test", false);
	/* the list's definition names its posting address, not the
	   List-Post header a sender may have written */
	from_is_list("From: Alice via Forum <forum@lists.test>\n"
		     "List-Post: <mailto:evil@evil.test>\n"
		     "Reply-To: alice@example.test\n" AR_PASS, true,
		     "forum@lists.test", "alice@example.test", true);
	from_is_list("From: Alice via Forum <evil@evil.test>\n"
		     "List-Post: <mailto:evil@evil.test>\n"
		     "Reply-To: alice@example.test\n" AR_PASS, true,
		     "forum@lists.test", "evil@evil.test", false);
	/* not "via": nothing to undo */
	from_is("From: Alice <forum@lists.test>\n"
		"List-Post: <mailto:forum@lists.test>\n"
		"Reply-To: alice@example.test\n" AR_PASS, true,
		"forum@lists.test", false);
}
END_TEST

START_TEST(test_entry_from_auth)
{
	/* a queue entry from before the field: not authenticated */
	char *names[] = { "message_id", "from_email", "from_auth" };
	char *values[] = { "m@example.test", "alice@example.test",
			   "dmarc=pass header.from=example.test by x" };
	struct fg_entry entry = { "1-0", 2, names, values, 0 };
	struct fg_record *rec = fg_record_from_entry(&entry);

	ck_assert_str_eq(rec->from_email, "alice@example.test");
	ck_assert_str_eq(rec->from_auth, "");
	fg_record_free(&rec);
	entry.n_fields = 3;
	rec = fg_record_from_entry(&entry);
	ck_assert_str_eq(rec->from_auth, values[2]);
	fg_record_free(&rec);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("results");
	tcase_add_loop_test(tc, test_rfc8601_examples, 0,
			    (int)FG_N_ELEMENTS(parse_cases));
	tcase_add_test(tc, test_parse_forms);
	tcase_add_test(tc, test_parse_hostile);
	tcase_add_test(tc, test_trusted_and_aligned);
	tcase_add_test(tc, test_evidence);
	tcase_add_test(tc, test_evidence_arc);
	suite_add_tcase(s, tc);

	tc = tcase_create("from");
	tcase_add_test(tc, test_from_authenticated);
	tcase_add_test(tc, test_from_forged_forms);
	tcase_add_test(tc, test_from_never_authenticated);
	tcase_add_test(tc, test_from_via_list);
	tcase_add_test(tc, test_entry_from_auth);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
