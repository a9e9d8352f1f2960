/*
 * NAME
 *	check_bounce - delivery failure reports: golden files, the real
 *	corpus, and hostile input
 * DESCRIPTION
 *	Fixtures: every NAME.eml of tests/unit/fixtures/bounce is read by
 *	fg_bounce_parse() with the secret "fixture-secret" and its
 *	Delivered-To header as the envelope recipient; NAME.json says
 *	what it is ("is": bounce, feedback, auto-reply or none) and, for
 *	a report, the bounce object fg_bounce_json() must print, member
 *	for member (tests/unit/fixtures/bounce/README).
 *
 *	Corpus: when FG_BOUNCE_CORPUS_DIR names a directory (make check
 *	sets ../shared/corpora/sisimai-bounces), every *.eml in it must
 *	be recognised: a feedback report (arf-*, and Amazon SES
 *	complaints), or a bounce with a recipient and a status for every report with a DSN Status
 *	field; the RFC 3834 automatic replies (rfc3834-*) as automatic
 *	replies, and the few files that are no report of a failure (see
 *	corpus_not_reports) as not a bounce. The figures are printed.
 *	Absent: skipped, with a line that says so.
 *
 *	Hostile input: a bounce of 10 MB, a DSN with 10,000 recipients,
 *	delivery-status fields of garbage: bounded time, bounded output,
 *	no crash.
 */
#include "fg-bounce.h"
#include "fg-common.h"
#include "fg-mailparse.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SECRET "fixture-secret"

/* Corpus files that report no delivery failure, and what they are:
   nothing may be made of them but that. */
static const char *const corpus_not_reports[] = {
	"arf-26.eml",		/* Apple Mail's unsubscribe request */
	"lhost-amazonses-12.eml",	/* SES delivery notification */
	"lhost-amazonses-13.eml",	/* SES delivery notification */
	"lhost-fml-02.eml",	/* fml: "you are not a member" */
	"lhost-fml-03.eml",	/* fml: loop alert */
	"lhost-sendmail-14.eml",	/* a person forwarding a bounce */
};

/* read_file - a whole file, NUL-terminated; NULL when absent */
static char *read_file(const char *path, size_t *size_r)
{
	FILE *fp = fopen(path, "rb");
	struct fg_buf buf = { 0 };
	char chunk[8192];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fg_buf_append(&buf, chunk, n);
	fclose(fp);
	*size_r = buf.len;
	return fg_buf_steal(&buf);
}

/* delivered_to - the Delivered-To header of a fixture, or NULL */
static char *delivered_to(const char *data)
{
	const char *p = strstr(data, "Delivered-To: ");

	if (p == NULL || (p != data && p[-1] != '\n'))
		return NULL;
	p += strlen("Delivered-To: ");
	return fg_xstrndup(p, strcspn(p, "\r\n"));
}

/* report_is - what fg-bounce made of a message */
static const char *report_is(const struct fg_bounce *b)
{
	return b->feedback ? "feedback" : b->bounce ? "bounce" :
		b->auto_reply ? "auto-reply" : "none";
}

/* check_fixture - one golden file */
static void check_fixture(const char *dir, const char *name)
{
	char *path = fg_xasprintf("%s/%s", dir, name);
	char *json_path = fg_xasprintf("%.*s.json",
				       (int)(strlen(path) - 4), path);
	size_t size, jsize;
	char *data = read_file(path, &size);
	char *expect_text = read_file(json_path, &jsize);
	char *env, *got_text;
	json_error_t jerr;
	json_t *expect, *got;
	struct fg_bounce *b;
	const char *error;

	ck_assert_msg(data != NULL, "%s unreadable", path);
	ck_assert_msg(expect_text != NULL, "%s: no %s", name, json_path);
	expect = json_loads(expect_text, 0, &jerr);
	ck_assert_msg(expect != NULL, "%s: %s", json_path, jerr.text);
	env = delivered_to(data);
	ck_assert_int_eq(fg_bounce_parse(data, size, SECRET, env, &b,
					 &error), 0);
	ck_assert_msg(strcmp(report_is(b), json_string_value(
				     json_object_get(expect, "is"))) == 0,
		      "%s: is %s (%s), want %s", name, report_is(b),
		      b->reason, json_string_value(json_object_get(expect,
								   "is")));
	got_text = fg_bounce_json(b);
	got = json_loads(got_text, 0, &jerr);
	ck_assert_ptr_nonnull(got);
	if (json_object_get(expect, "bounce") != NULL)
		ck_assert_msg(json_equal(got, json_object_get(expect,
							       "bounce")),
			      "%s: bounce object\n got  %s\n want %s", name,
			      got_text, json_dumps(json_object_get(
				expect, "bounce"), JSON_COMPACT |
						   JSON_PRESERVE_ORDER));
	json_decref(got);
	json_decref(expect);
	free(got_text);
	fg_bounce_free(&b);
	free(env);
	free(data);
	free(expect_text);
	free(json_path);
	free(path);
}

/* fixture_names - the .eml files of a directory, sorted */
static char **fixture_names(const char *dir, size_t *n_r)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	char **names = fg_xcalloc(n > 0 ? (size_t)n : 1, sizeof(*names));
	size_t count = 0;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);
		if (len > 4 && strcmp(list[i]->d_name + len - 4, ".eml") == 0)
			names[count++] = fg_xstrdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	*n_r = count;
	return names;
}

START_TEST(test_fixtures)
{
	size_t n;
	char **names = fixture_names(FG_BOUNCE_FIXTURE_DIR, &n);

	/* one per format, and the VERP cases */
	ck_assert_uint_ge(n, 25);
	for (size_t i = 0; i < n; i++)
		check_fixture(FG_BOUNCE_FIXTURE_DIR, names[i]);
	fg_strv_free(names, n);
}
END_TEST

/* has_dsn_status - the file has a DSN Status field of a failure or
   delay ("Status: 5.1.1") */
static bool has_dsn_status(const char *data)
{
	for (const char *p = data; (p = strstr(p, "Status:")) != NULL;
	     p++) {
		const char *v = p + 7;

		if (p != data && p[-1] != '\n')
			continue;
		v += strspn(v, " \t");
		if ((*v == '4' || *v == '5') && v[1] == '.')
			return true;
	}
	return false;
}

/* not_report - the corpus file is one of corpus_not_reports */
static bool not_report(const char *name)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(corpus_not_reports); i++) {
		if (strcmp(name, corpus_not_reports[i]) == 0)
			return true;
	}
	return false;
}

START_TEST(test_corpus)
{
	const char *dir = getenv("FG_BOUNCE_CORPUS_DIR");
	struct stat st;
	size_t n, reports = 0, recognised = 0, with_status = 0,
		stated = 0, feedback = 0, auto_replies = 0, others = 0;
	struct fg_buf fails = { 0 };
	char **names;

	if (dir == NULL || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "check_bounce: FG_BOUNCE_CORPUS_DIR not set "
			"or absent, corpus test skipped\n");
		return;
	}
	names = fixture_names(dir, &n);
	for (size_t i = 0; i < n; i++) {
		char *path = fg_xasprintf("%s/%s", dir, names[i]);
		size_t size;
		char *data = read_file(path, &size);
		struct fg_bounce *b;
		const char *error;
		bool status = false;

		ck_assert_ptr_nonnull(data);
		ck_assert_msg(fg_bounce_parse(data, size, SECRET, NULL, &b,
					      &error) == 0, "%s: %s",
			      names[i], error);
		for (size_t r = 0; r < b->n_recipients; r++)
			status = status || b->recipients[r].status != NULL;
		if (strncmp(names[i], "rfc3834-", 8) == 0) {
			if (!b->auto_reply || b->bounce)
				fg_buf_printf(&fails, "%s: not an automatic "
					      "reply (%s)\n", names[i],
					      b->reason);
			auto_replies++;
		} else if (not_report(names[i])) {
			if (b->bounce)
				fg_buf_printf(&fails, "%s: a bounce (%s)\n",
					      names[i], b->reason);
			others++;
		} else if (b->feedback ||
			   strncmp(names[i], "arf-", 4) == 0) {
			/* Amazon SES complaints come as lhost-amazonses */
			reports++;
			if (b->feedback && !b->bounce) {
				recognised++;
				feedback++;
			} else {
				fg_buf_printf(&fails, "%s: not a feedback "
					      "report (%s)\n", names[i],
					      b->reason);
			}
		} else {
			reports++;
			if (!b->bounce || b->n_recipients == 0)
				fg_buf_printf(&fails, "%s: %s (%s)\n",
					      names[i], b->bounce ?
					      "no recipient" : "not a bounce",
					      b->reason);
			else
				recognised++;
			if (has_dsn_status(data)) {
				stated++;
				if (!status)
					fg_buf_printf(&fails, "%s: no status\n",
						      names[i]);
			}
			with_status += status;
		}
		fg_bounce_free(&b);
		free(data);
		free(path);
	}
	fprintf(stderr, "check_bounce: corpus: %zu of %zu reports recognised "
		"(%zu feedback reports); %zu of the %zu bounces with a status "
		"(%zu state one in a DSN Status field, all read); "
		"%zu automatic replies as such; %zu mails that report no "
		"failure not taken for bounces; %zu files\n",
		recognised, reports, feedback, with_status,
		reports - feedback, stated, auto_replies, others, n);
	ck_assert_msg(fails.len == 0, "corpus:\n%s", fails.s);
	ck_assert_uint_eq(recognised, reports);
	fg_strv_free(names, n);
}
END_TEST

/* elapsed - seconds since start */
static double elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
		(double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

START_TEST(test_ten_thousand_recipients)
{
	struct fg_buf msg = { 0 };
	struct fg_bounce *b;
	const char *error;
	struct timespec start;

	fg_buf_puts(&msg, "From: MAILER-DAEMON@mx.example.org\n"
		    "Subject: Undelivered Mail Returned to Sender\n"
		    "Content-Type: multipart/report; "
		    "report-type=delivery-status; boundary=B\n\n--B\n"
		    "Content-Type: message/delivery-status\n\n"
		    "Reporting-MTA: dns; mx.example.org\n\n");
	for (int i = 0; i < 10000; i++)
		fg_buf_printf(&msg, "Final-Recipient: rfc822; u%d@example.net"
			      "\nAction: failed\nStatus: 5.1.1\n\n", i);
	fg_buf_puts(&msg, "--B--\n");
	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_int_eq(fg_bounce_parse(msg.s, msg.len, SECRET, NULL, &b,
					 &error), 0);
	ck_assert(b->bounce);
	ck_assert_uint_eq(b->n_recipients, FG_BOUNCE_MAX_RECIPIENTS);
	ck_assert(b->truncated);
	ck_assert_str_eq(b->recipients[0].address, "u0@example.net");
	ck_assert_str_eq(b->recipients[0].status, "5.1.1");
	ck_assert_msg(elapsed(&start) < 5.0, "took %.1f s", elapsed(&start));
	fg_bounce_free(&b);
	fg_buf_free(&msg);
}
END_TEST

START_TEST(test_ten_megabytes)
{
	static const char head[] =
		"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.org\n"
		"Subject: failure notice\n\n"
		"Hi. This is the qmail-send program at mx.example.org.\n"
		"I'm afraid I wasn't able to deliver your message to the "
		"following addresses.\n\n<big@example.net>:\n"
		"Sorry, no mailbox here by that name. (#5.1.1)\n\n";
	size_t size = 10 * 1024 * 1024;
	char *data = fg_xmalloc(size + 1);
	struct fg_bounce *b;
	const char *error;
	struct timespec start;

	/* a report, then 10 MB of one line of addresses and codes */
	memcpy(data, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < size; i++)
		data[i] = "a@b.c 550 5.1.1 x"[i % 17];
	data[size] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_int_eq(fg_bounce_parse(data, size, SECRET, NULL, &b,
					 &error), 0);
	ck_assert(b->bounce);
	ck_assert_uint_le(b->n_recipients, FG_BOUNCE_MAX_RECIPIENTS);
	ck_assert_str_eq(b->recipients[0].address, "big@example.net");
	ck_assert_str_eq(b->recipients[0].status, "5.1.1");
	for (size_t i = 0; i < b->n_recipients; i++)
		ck_assert_uint_le(strlen(b->recipients[i].diagnostic),
				  FG_BOUNCE_DIAG_MAX);
	ck_assert_msg(elapsed(&start) < 10.0, "took %.1f s",
		      elapsed(&start));
	fg_bounce_free(&b);
	free(data);
}
END_TEST

START_TEST(test_garbage_fields)
{
	struct fg_buf msg = { 0 };
	struct fg_bounce *b;
	const char *error;
	char *json;

	fg_buf_puts(&msg, "From: MAILER-DAEMON@mx.example.org\n"
		    "Subject: Undelivered Mail Returned to Sender\n"
		    "Content-Type: multipart/report; "
		    "report-type=delivery-status; boundary=B\n\n--B\n"
		    "Content-Type: message/delivery-status\n\n"
		    "Reporting-MTA: ;;;;\n\n"
		    "Final-Recipient: rfc822;\n"
		    "Action: \n"
		    "Status: 9.9.9.9.9\n\n"
		    "Final-Recipient: rfc822; <<<@@@>>>\n"
		    "Action: failed\n\n"
		    "Final-Recipient: \x01\x02\xff\xfe@\x80.\n"
		    "Status: 5.\n\n"
		    "Final-Recipient: rfc822; ok@example.net\n"
		    "Action: \xff\xfe failed\n"
		    "Status: 5.1.1.1\n"
		    "Diagnostic-Code: smtp; \x01\x7f");
	for (int i = 0; i < 100000; i++)
		fg_buf_putc(&msg, "\xff\x01 ;:<>@"[i % 8]);
	fg_buf_puts(&msg, "\n: no name\nno colon at all\n"
		    "Final-Recipient\n--B--\n");
	ck_assert_int_eq(fg_bounce_parse(msg.s, msg.len, SECRET, NULL, &b,
					 &error), 0);
	ck_assert(b->bounce);
	ck_assert_uint_eq(b->n_recipients, 1);
	ck_assert_str_eq(b->recipients[0].address, "ok@example.net");
	ck_assert_ptr_null(b->recipients[0].status);	/* 5.1.1.1 is none */
	ck_assert_uint_le(strlen(b->recipients[0].diagnostic),
			  FG_BOUNCE_DIAG_MAX);
	json = fg_bounce_json(b);
	ck_assert_ptr_nonnull(strstr(json, "\"ok@example.net\""));
	free(json);
	fg_bounce_free(&b);
	fg_buf_free(&msg);

	/* not a message at all */
	ck_assert_int_eq(fg_bounce_parse("", 0, SECRET, NULL, &b, &error),
			 -1);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_kinds)
{
	static const struct {
		const char *status, *diag, *kind;
	} cases[] = {
		{ "5.1.1", "User unknown", "hard" },
		{ "5.2.1", "mailbox disabled", "hard" },
		{ "5.2.2", "Mailbox full", "soft" },
		{ "5.3.4", "message too big", "soft" },
		{ "4.4.1", "Connection timed out", "soft" },
		{ "5.7.1", "rejected", "policy" },
		{ "5.0.0", "blocked using zen.spamhaus.org", "policy" },
		{ "5.0.0", "mailbox is full", "soft" },
		{ "5.0.0", "no such user here", "hard" },
		{ "5.5.0", "Requested action not taken", "hard" },
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		char *msg = fg_xasprintf(
			"From: MAILER-DAEMON@mx.example.org\n"
			"Subject: Undelivered Mail Returned to Sender\n"
			"Content-Type: multipart/report; "
			"report-type=delivery-status; boundary=B\n\n--B\n"
			"Content-Type: message/delivery-status\n\n"
			"Final-Recipient: rfc822; x@example.net\n"
			"Action: failed\nStatus: %s\n"
			"Diagnostic-Code: smtp; %s\n\n--B--\n",
			cases[i].status, cases[i].diag);
		struct fg_bounce *b;
		const char *error;

		ck_assert_int_eq(fg_bounce_parse(msg, strlen(msg), SECRET,
						 NULL, &b, &error), 0);
		ck_assert_uint_eq(b->n_recipients, 1);
		ck_assert_msg(strcmp(fg_bounce_kind_name(
					     b->recipients[0].kind),
				     cases[i].kind) == 0,
			      "%s %s: %s, want %s", cases[i].status,
			      cases[i].diag, fg_bounce_kind_name(
				      b->recipients[0].kind), cases[i].kind);
		fg_bounce_free(&b);
		free(msg);
	}
}
END_TEST

static Suite *bounce_suite(void)
{
	Suite *s = suite_create("bounce");
	TCase *tc = tcase_create("bounce");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fixtures);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_ten_thousand_recipients);
	tcase_add_test(tc, test_ten_megabytes);
	tcase_add_test(tc, test_garbage_fields);
	tcase_add_test(tc, test_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(bounce_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
