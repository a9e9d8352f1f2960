/*
 * NAME
 *	check_dmarc - unit tests of the DMARC policy look-up
 * DESCRIPTION
 *	Covers fg-dmarc: DMARC records as RFC 7489 section 6.4 writes
 *	them and as they are found in the wild (white space, case, a
 *	trailing ";", sp= for the organizational domain, a missing or
 *	unknown p=), DNS answers in wire format made here (TXT records of
 *	several strings, other records, several DMARC records, broken
 *	packets), a look-up whose server does not answer, and the build
 *	step's From rewrite when the policy asks for it
 *	(fg_listmsg_build() with a dmarc_policy callback).
 */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fg-common.h"
#include "fg-dmarc.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"

/* rec - fg_dmarc_record() of a C string; -1 stands for "not a record" */
static int rec(const char *text, bool org)
{
	enum fg_listmsg_dmarc p;

	if (fg_dmarc_record(text, strlen(text), org, &p) == 0)
		return -1;
	return (int)p;
}

START_TEST(test_record_policies)
{
	ck_assert_int_eq(rec("v=DMARC1; p=reject", false),
			 FG_LISTMSG_DMARC_REJECT);
	ck_assert_int_eq(rec("v=DMARC1;p=quarantine;pct=100", false),
			 FG_LISTMSG_DMARC_QUARANTINE);
	ck_assert_int_eq(rec("v=DMARC1; p=none; rua=mailto:d@example.org",
			     false), FG_LISTMSG_DMARC_NONE);
	/* white space around names, "=" and values; values in any case */
	ck_assert_int_eq(rec(" v = DMARC1 ;  p = Reject ; ", false),
			 FG_LISTMSG_DMARC_REJECT);
	ck_assert_int_eq(rec("v=DMARC1;\tP=QUARANTINE;", false),
			 FG_LISTMSG_DMARC_QUARANTINE);
	/* a missing or unknown policy is none, but still a record */
	ck_assert_int_eq(rec("v=DMARC1; rua=mailto:d@example.org", false),
			 FG_LISTMSG_DMARC_NONE);
	ck_assert_int_eq(rec("v=DMARC1; p=bounce", false),
			 FG_LISTMSG_DMARC_NONE);
	/* a tag without "=" after v= is skipped */
	ck_assert_int_eq(rec("v=DMARC1; junk; p=reject", false),
			 FG_LISTMSG_DMARC_REJECT);
}
END_TEST

START_TEST(test_record_not_dmarc)
{
	/* v=DMARC1 must be the first tag, exactly */
	ck_assert_int_eq(rec("p=reject; v=DMARC1", false), -1);
	ck_assert_int_eq(rec("v=spf1 -all", false), -1);
	ck_assert_int_eq(rec("v=DMARC2; p=reject", false), -1);
	ck_assert_int_eq(rec("v=dmarc1; p=reject", false), -1);
	ck_assert_int_eq(rec("", false), -1);
	ck_assert_int_eq(rec("v", false), -1);
	ck_assert_int_eq(rec("google-site-verification=abc", false), -1);
}
END_TEST

START_TEST(test_record_subdomain_policy)
{
	const char *r = "v=DMARC1; p=none; sp=reject";

	/* sp= counts for a subdomain, found at the organizational domain */
	ck_assert_int_eq(rec(r, false), FG_LISTMSG_DMARC_NONE);
	ck_assert_int_eq(rec(r, true), FG_LISTMSG_DMARC_REJECT);
	/* no (valid) sp=: p= counts there too */
	ck_assert_int_eq(rec("v=DMARC1; p=quarantine", true),
			 FG_LISTMSG_DMARC_QUARANTINE);
	ck_assert_int_eq(rec("v=DMARC1; p=quarantine; sp=x", true),
			 FG_LISTMSG_DMARC_QUARANTINE);
}
END_TEST

START_TEST(test_record_bounded)
{
	/* p= beyond FG_DMARC_RECORD_MAX is not read */
	size_t n = FG_DMARC_RECORD_MAX + 100;
	char *r = fg_xmalloc(n + 20);

	memset(r, ' ', n);
	memcpy(r, "v=DMARC1;", 9);
	strcpy(r + n, ";p=reject");
	ck_assert_int_eq(rec(r, false), FG_LISTMSG_DMARC_NONE);
	free(r);
}
END_TEST

/* struct answer - a DNS answer being made */
struct answer {
	unsigned char b[4096];
	size_t len;
	unsigned int count;
};

/* answer_start - header and question for _dmarc.example.org TXT */
static void answer_start(struct answer *a)
{
	static const unsigned char head[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
		6, '_', 'd', 'm', 'a', 'r', 'c', 7, 'e', 'x', 'a', 'm', 'p',
		'l', 'e', 3, 'o', 'r', 'g', 0, 0, 16, 0, 1,
	};

	memcpy(a->b, head, sizeof(head));
	a->len = sizeof(head);
	a->count = 0;
}

/* answer_rr - add a record of type with rdata, named by a pointer to
   the question's name */
static void answer_rr(struct answer *a, unsigned int type,
		      const unsigned char *rdata, size_t rdlen)
{
	unsigned char rr[10] = { 0xc0, 12, 0, (unsigned char)type, 0, 1,
				 0, 0, 0, 60 };

	memcpy(a->b + a->len, rr, sizeof(rr));
	a->len += sizeof(rr);
	a->b[a->len++] = (unsigned char)(rdlen >> 8);
	a->b[a->len++] = (unsigned char)rdlen;
	memcpy(a->b + a->len, rdata, rdlen);
	a->len += rdlen;
	a->count++;
	a->b[7] = (unsigned char)a->count;
}

/* answer_txt - add a TXT record of these strings (NULL-ended) */
static void answer_txt(struct answer *a, const char *first, ...)
{
	unsigned char rd[1024];
	size_t n = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
		rd[n++] = (unsigned char)strlen(s);
		memcpy(rd + n, s, strlen(s));
		n += strlen(s);
	}
	va_end(ap);
	answer_rr(a, 16, rd, n);
}

/* ans - fg_dmarc_answer() of a; -1 broken, -2 no record, else policy */
static int ans(const struct answer *a, bool org)
{
	enum fg_listmsg_dmarc p;
	const char *error;
	int ret = fg_dmarc_answer(a->b, a->len, org, &p, &error);

	return ret < 0 ? -1 : ret == 0 ? -2 : (int)p;
}

START_TEST(test_answer_records)
{
	struct answer a;
	static const unsigned char cname[] = { 3, 'f', 'o', 'o', 0 };

	answer_start(&a);
	ck_assert_int_eq(ans(&a, false), -2);		/* no answer */
	answer_txt(&a, "v=spf1 -all", NULL);
	ck_assert_int_eq(ans(&a, false), -2);		/* no DMARC record */
	/* strings of one record are joined: "v=DMARC1; p=" "reject" */
	answer_txt(&a, "v=DMARC1; p=", "reject", NULL);
	ck_assert_int_eq(ans(&a, false), FG_LISTMSG_DMARC_REJECT);

	/* other record types are skipped */
	answer_start(&a);
	answer_rr(&a, 5, cname, sizeof(cname));
	answer_txt(&a, "v=DMARC1; p=quarantine", NULL);
	ck_assert_int_eq(ans(&a, false), FG_LISTMSG_DMARC_QUARANTINE);

	/* several DMARC records: all count, as Mailman tests them all */
	answer_start(&a);
	answer_txt(&a, "v=DMARC1; p=none", NULL);
	answer_txt(&a, "v=DMARC1; p=reject", NULL);
	answer_txt(&a, "v=DMARC1; p=quarantine", NULL);
	ck_assert_int_eq(ans(&a, false), FG_LISTMSG_DMARC_REJECT);

	answer_start(&a);
	answer_txt(&a, "v=DMARC1; p=none; sp=quarantine", NULL);
	ck_assert_int_eq(ans(&a, false), FG_LISTMSG_DMARC_NONE);
	ck_assert_int_eq(ans(&a, true), FG_LISTMSG_DMARC_QUARANTINE);
}
END_TEST

START_TEST(test_answer_broken)
{
	struct answer a;
	unsigned char bad_txt[] = { 20, 'v', '=' };	/* string past rdata */

	ck_assert_int_eq(ans(&(struct answer){ .len = 5 }, false), -1);
	answer_start(&a);
	answer_txt(&a, "v=DMARC1; p=reject", NULL);
	a.len -= 3;					/* cut short */
	ck_assert_int_eq(ans(&a, false), -1);
	answer_start(&a);
	answer_rr(&a, 16, bad_txt, sizeof(bad_txt));
	ck_assert_int_eq(ans(&a, false), -1);
	/* more records announced than there are */
	answer_start(&a);
	answer_txt(&a, "v=DMARC1; p=reject", NULL);
	a.b[7] = 3;
	ck_assert_int_eq(ans(&a, false), -1);
}
END_TEST

START_TEST(test_policy_names)
{
	enum fg_listmsg_dmarc p;

	for (int i = FG_LISTMSG_DMARC_NONE; i <= FG_LISTMSG_DMARC_REJECT;
	     i++) {
		ck_assert_int_eq(fg_dmarc_policy_parse(
			fg_dmarc_policy_name((enum fg_listmsg_dmarc)i), &p), 0);
		ck_assert_int_eq((int)p, i);
	}
	ck_assert_int_eq(fg_dmarc_policy_parse("sometimes", &p), -1);
}
END_TEST

/* closed_port - a UDP port on 127.0.0.1 that nothing listens on */
static int closed_port(void)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
	} a = { .in = { .sin_family = AF_INET } };
	socklen_t len = sizeof(a.in);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port, ret;

	a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ret = bind(fd, &a.sa, sizeof(a.in));
	ck_assert_int_eq(ret, 0);
	ret = getsockname(fd, &a.sa, &len);
	ck_assert_int_eq(ret, 0);
	port = ntohs(a.in.sin_port);
	close(fd);
	return port;
}

START_TEST(test_lookup_fails)
{
	char server[32];
	struct fg_dmarc_resolver r = { server, 1000 };
	enum fg_listmsg_dmarc p = FG_LISTMSG_DMARC_REJECT;
	const char *error = NULL;
	char *where = NULL;

	/* nobody answers: a failure, no policy */
	snprintf(server, sizeof(server), "127.0.0.1:%d", closed_port());
	ck_assert_int_eq(fg_dmarc_lookup(&r, "example.org", &p, &where,
					 &error), -1);
	ck_assert_int_eq(p, FG_LISTMSG_DMARC_NONE);
	ck_assert_ptr_null(where);
	ck_assert_ptr_nonnull(strstr(error, "_dmarc.example.org"));
	/* a bad server setting or domain fails before asking */
	r.server = "ns.example.org";
	ck_assert_int_eq(fg_dmarc_lookup(&r, "example.org", &p, &where,
					 &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "dmarc_resolver"));
	r.server = "127.0.0.1:70000";
	ck_assert_int_eq(fg_dmarc_lookup(&r, "example.org", &p, &where,
					 &error), -1);
	r.server = server;
	ck_assert_int_eq(fg_dmarc_lookup(&r, "exa mple.org", &p, &where,
					 &error), -1);
	ck_assert_int_eq(fg_dmarc_lookup(&r, "", &p, &where, &error), -1);
}
END_TEST

static const struct fg_listmsg_list t_list = {
	.name = "forum",
	.address = "forum@lists.test",
	.display_name = "Forum Talk",
};

#define POST "From: Jane Doe <jane@Mail.Example.ORG>\n" \
	"To: forum@lists.test\nSubject: hi\n" \
	"Message-ID: <1@example.org>\n\nHello.\n"

/* t_policy - a policy callback: the policy in context, the domain
   asked for kept */
static char t_asked[256];
static enum fg_listmsg_dmarc t_policy(void *context, const char *domain)
{
	snprintf(t_asked, sizeof(t_asked), "%s", domain);
	return *(enum fg_listmsg_dmarc *)context;
}

/* built - the copy fg_listmsg_build() makes with that policy */
static char *built(const char *post, enum fg_listmsg_dmarc policy)
{
	struct fg_listmsg_build set = {
		.list = &t_list,
		.dmarc_policy = t_policy,
		.dmarc_context = &policy,
	};
	const char *error;
	char *copy;
	size_t size;

	t_asked[0] = '\0';
	ck_assert_int_eq(fg_listmsg_build(post, strlen(post), &set, &copy,
					  &size, &error), 0);
	return copy;
}

START_TEST(test_build_rewrites_by_policy)
{
	char *copy;

	copy = built(POST, FG_LISTMSG_DMARC_REJECT);
	ck_assert_str_eq(t_asked, "mail.example.org");
	ck_assert_ptr_nonnull(strstr(copy, "From: Jane Doe via Forum Talk "
				     "<forum@lists.test>"));
	ck_assert_ptr_nonnull(strstr(copy, "X-Original-From: Jane Doe "
				     "<jane@Mail.Example.ORG>"));
	free(copy);
	copy = built(POST, FG_LISTMSG_DMARC_QUARANTINE);
	ck_assert_ptr_nonnull(strstr(copy, "via Forum Talk"));
	free(copy);
	copy = built(POST, FG_LISTMSG_DMARC_NONE);
	ck_assert_ptr_nonnull(strstr(copy, "From: Jane Doe "
				     "<jane@Mail.Example.ORG>"));
	ck_assert_ptr_null(strstr(copy, "X-Original-From"));
	free(copy);
	/* an internationalized domain is asked for as DNS knows it */
	copy = built("From: J <j@b\xc3\xbc" "cher.example>\nSubject: s\n\n"
		     "Text.\n", FG_LISTMSG_DMARC_NONE);
	ck_assert_str_eq(t_asked, "xn--bcher-kva.example");
	free(copy);
	/* two authors: no domain to ask about, From kept */
	copy = built("From: a@x.org, b@y.org\nSubject: s\n\nText.\n",
		     FG_LISTMSG_DMARC_REJECT);
	ck_assert_str_eq(t_asked, "");
	ck_assert_ptr_null(strstr(copy, "via Forum Talk"));
	free(copy);
}
END_TEST

static Suite *dmarc_suite(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_record_policies);
	tcase_add_test(tc, test_record_not_dmarc);
	tcase_add_test(tc, test_record_subdomain_policy);
	tcase_add_test(tc, test_record_bounded);
	tcase_add_test(tc, test_answer_records);
	tcase_add_test(tc, test_answer_broken);
	tcase_add_test(tc, test_policy_names);
	tcase_add_test(tc, test_lookup_fails);
	tcase_add_test(tc, test_build_rewrites_by_policy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(dmarc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
