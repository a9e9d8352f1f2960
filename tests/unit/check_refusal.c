/*
 * NAME
 *	check_refusal - unit tests of the list manager's notices about
 *	forum posts it held, rejected or bounced
 * DESCRIPTION
 *	Covers fg-refusal against fixtures in tests/refusal: mlmmj 1.3's
 *	deny-post and wait-post notices as the real mlmmj of the test stack
 *	sent them (access rule), a deny-post for subonlypost written from
 *	its template, GNU Mailman 3's rejection (bounce_message with
 *	list:user:notice:rejected, the post attached), its hold notice
 *	(names no Message-ID) and its bounce probe (attaches one of our
 *	posts, and is no refusal), Postfix's DSN to our VERP return path
 *	(failed, and delayed; the same report to the bridge address), a
 *	member's reply through the list that names our post and uses the
 *	words, and a notice whose From is not the list manager's. In the fixtures @MSGID@ stands
 *	for our Message-ID and @VERP@ for the post's VERP address; both
 *	are made here with the test secret.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-refusal.h"
#include "fg-verp.h"

#define SECRET "test-secret"
#define DOMAIN "lists.test"
#define LIST "forum"
#define LIST_ADDRESS "forum@lists.test"
#define TOPIC 12
#define POST_NUMBER 3
#define POST_ID 4711

/* replace_all - s with every from replaced by to (caller frees) */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct fg_buf b = { 0 };
	const char *p;

	while ((p = strstr(s, from)) != NULL) {
		fg_buf_append(&b, s, (size_t)(p - s));
		fg_buf_puts(&b, to);
		s = p + strlen(from);
	}
	fg_buf_puts(&b, s);
	return fg_buf_steal(&b);
}

/* fixture - a file of tests/refusal with our IDs filled in, for list */
static char *fixture_for(const char *name, const char *list)
{
	char path[512], *data, *msgid, *verp, *a, *b;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/%s", FG_REFUSAL_TEST_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = fg_xmalloc((size_t)size + 1);
	ck_assert_int_eq(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	msgid = fg_msgid_make(SECRET, list, TOPIC, POST_NUMBER, DOMAIN);
	verp = fg_verp_make_post(SECRET, list, POST_ID, "bridge@" DOMAIN);
	a = replace_all(data, "@MSGID@", msgid);
	b = replace_all(a, "@VERP@", verp);
	free(data);
	free(a);
	free(msgid);
	free(verp);
	return b;
}

static char *fixture(const char *name)
{
	return fixture_for(name, LIST);
}

/* parse - fg_refusal_parse on text; verp true: as delivered to the
   post's VERP address */
static int parse(const char *text, bool to_verp, struct fg_refusal **r_r,
		 const char **why_r)
{
	struct fg_verp verp;
	char *addr = fg_verp_make_post(SECRET, LIST, POST_ID, "bridge@" DOMAIN);
	int ret;

	ck_assert_int_eq(fg_verp_parse(SECRET, addr, &verp), 1);
	*why_r = NULL;
	ret = fg_refusal_parse(SECRET, LIST, LIST_ADDRESS,
			       to_verp ? &verp : NULL, text, strlen(text), r_r,
			       why_r);
	ck_assert(ret == 1 ? *r_r != NULL && *why_r == NULL :
		  *r_r == NULL && *why_r != NULL);
	fg_verp_clear(&verp);
	free(addr);
	return ret;
}

/* assert_ours - the refusal names our post by its Message-ID */
static void assert_ours(const struct fg_refusal *r)
{
	char *msgid = fg_msgid_make(SECRET, LIST, TOPIC, POST_NUMBER, DOMAIN);

	ck_assert_str_eq(r->list, LIST);
	ck_assert_ptr_nonnull(r->message_id);
	ck_assert_str_eq(r->message_id, msgid);
	ck_assert_int_eq(r->topic_id, TOPIC);
	ck_assert_int_eq(r->post_number, POST_NUMBER);
	free(msgid);
}

/* refused - the fixture is a refusal of this kind (caller frees) */
static struct fg_refusal *refused(const char *name, bool to_verp,
				  enum fg_refusal_kind kind)
{
	char *text = fixture(name);
	struct fg_refusal *r;
	const char *why;

	ck_assert_msg(parse(text, to_verp, &r, &why) == 1, "%s: %s", name,
		      why);
	ck_assert_int_eq(r->kind, kind);
	free(text);
	return r;
}

/* not_refused - the fixture is no refusal: why */
static const char *not_refused(const char *name, bool to_verp)
{
	char *text = fixture(name);
	struct fg_refusal *r;
	const char *why;

	ck_assert_int_eq(parse(text, to_verp, &r, &why), 0);
	free(text);
	return why;
}

/* candidate - would the plugin parse the fixture */
static bool candidate(const char *name)
{
	char *text = fixture(name);
	bool ret = fg_refusal_candidate(LIST, text, strlen(text));

	free(text);
	return ret;
}

START_TEST(test_mlmmj_deny_access)
{
	struct fg_refusal *r;

	ck_assert(candidate("mlmmj-deny-access.eml"));
	r = refused("mlmmj-deny-access.eml", false, FG_REFUSAL_REJECTED);
	assert_ours(r);
	ck_assert_str_eq(fg_refusal_kind_name(r->kind), "rejected");
	ck_assert_int_eq(r->post_id, 0);
	ck_assert_str_eq(r->reason, "because of an access rule set up by "
			 "the list administrator.");
	ck_assert_str_eq(r->notice_from, "forum+owner@lists.test");
	ck_assert_str_eq(r->subject,
			 "[forum] Please refuse-me e0166325 from the forum");
	fg_refusal_free(&r);
	ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_refusal_names_post_by_id)
{
	/* a NodeBB post's Message-ID names it by id: the refusal has the
	   post id from it, no number */
	char *old = fg_msgid_make(SECRET, LIST, TOPIC, POST_NUMBER, DOMAIN);
	char *by_id = fg_msgid_make_post(SECRET, LIST, TOPIC, 4242, 0,
					 DOMAIN);
	char *text = fixture("mlmmj-deny-access.eml");
	char *swapped = replace_all(text, old, by_id);
	struct fg_refusal *r;
	const char *why;

	ck_assert_msg(parse(swapped, false, &r, &why) == 1, "%s", why);
	ck_assert_str_eq(r->message_id, by_id);
	ck_assert_int_eq(r->topic_id, TOPIC);
	ck_assert_int_eq(r->post_number, 0);
	ck_assert_int_eq(r->post_id, 4242);
	fg_refusal_free(&r);
	free(swapped);
	free(text);
	free(by_id);
	free(old);
}
END_TEST

START_TEST(test_mlmmj_deny_subonly)
{
	struct fg_refusal *r = refused("mlmmj-deny-subonly.eml", false,
				       FG_REFUSAL_REJECTED);

	assert_ours(r);
	/* up to the empty line: not the advice after it */
	ck_assert_str_eq(r->reason, "because you are not a list subscriber.");
	fg_refusal_free(&r);
}
END_TEST

START_TEST(test_mlmmj_wait_to_verp)
{
	struct fg_refusal *r = refused("mlmmj-wait-access.eml", true,
				       FG_REFUSAL_HELD);

	assert_ours(r);
	ck_assert_int_eq(r->post_id, POST_ID);
	ck_assert_str_eq(r->reason, "because of an access rule.");
	fg_refusal_free(&r);
	/* the same notice to the bridge address names the post as well */
	r = refused("mlmmj-wait-access.eml", false, FG_REFUSAL_HELD);
	ck_assert_int_eq(r->post_id, 0);
	assert_ours(r);
	fg_refusal_free(&r);
}
END_TEST

START_TEST(test_mailman3_rejected)
{
	struct fg_refusal *r;

	ck_assert(candidate("mailman3-rejected.eml"));
	r = refused("mailman3-rejected.eml", false, FG_REFUSAL_REJECTED);
	assert_ours(r);
	ck_assert_str_eq(r->reason, "The message is not from a list member");
	ck_assert_str_eq(r->subject, "Hello from the forum");
	ck_assert_str_eq(r->notice_from, "forum-owner@lists.test");
	fg_refusal_free(&r);
}
END_TEST

START_TEST(test_mailman3_hold_names_no_post)
{
	/* Mailman's hold notice carries only the subject */
	ck_assert(!candidate("mailman3-hold.eml"));
	ck_assert_str_eq(not_refused("mailman3-hold.eml", false),
			 "names none of the list's posts");
}
END_TEST

START_TEST(test_mailman3_probe_is_no_refusal)
{
	ck_assert(candidate("mailman3-probe.eml"));
	ck_assert_str_eq(not_refused("mailman3-probe.eml", false),
			 "a bounce probe");
}
END_TEST

START_TEST(test_dsn_failed)
{
	struct fg_refusal *r = refused("dsn-failed.eml", true,
				       FG_REFUSAL_BOUNCED);

	assert_ours(r);
	ck_assert_int_eq(r->post_id, POST_ID);
	ck_assert_str_eq(r->reason, "smtp; 550 5.7.1 <forum@lists.test>: "
			 "Recipient address rejected: posting is restricted "
			 "to members");
	ck_assert_str_eq(r->subject, "Hello from the forum");
	fg_refusal_free(&r);
	/* the same report sent to the bridge address is anyone's */
	ck_assert_str_eq(not_refused("dsn-failed.eml", false),
			 "a delivery status report that did not come to the "
			 "post's return path");
}
END_TEST

START_TEST(test_dsn_delayed)
{
	ck_assert_str_eq(not_refused("dsn-delayed.eml", true),
			 "a delivery status report without a failed "
			 "recipient");
}
END_TEST

START_TEST(test_member_reply_is_no_refusal)
{
	/* it names our post and says "rejected" and "held": a member's
	   words through the list, never a notice */
	ck_assert(candidate("member-reply.eml"));
	ck_assert_str_eq(not_refused("member-reply.eml", false),
			 "names none of the list's posts");
}
END_TEST

START_TEST(test_forged_notice_sender)
{
	/* mlmmj's notice, but From someone else, or another domain */
	char *text = fixture("mlmmj-deny-access.eml");
	static const char *const senders[] = {
		"From: mallory@example.test", "From: forum+owner@evil.test",
		"From: forumx+owner@lists.test", "From: forum@lists.test",
	};

	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		char *forged = replace_all(text, "From: forum+owner@lists.test",
					   senders[i]);
		struct fg_refusal *r;
		const char *why;

		ck_assert_msg(parse(forged, false, &r, &why) == 0, "%s",
			      senders[i]);
		ck_assert_str_eq(why, "not sent by the list manager");
		free(forged);
	}
	free(text);
}
END_TEST

START_TEST(test_other_list)
{
	char *text = fixture_for("mlmmj-deny-access.eml", "other");
	struct fg_refusal *r;
	const char *why;

	ck_assert(!fg_refusal_candidate(LIST, text, strlen(text)));
	/* the plugin then looks for the list it names */
	ck_assert(fg_refusal_candidate("other", text, strlen(text)));
	ck_assert(fg_refusal_candidate(NULL, text, strlen(text)));
	ck_assert(!fg_refusal_candidate(NULL, "fg", 2));
	ck_assert(!fg_refusal_candidate(NULL, "see cfg.ini", 11));
	ck_assert_int_eq(parse(text, false, &r, &why), 0);
	ck_assert_str_eq(why, "names none of the list's posts");
	free(text);
}
END_TEST

START_TEST(test_forged_msgid)
{
	char *text = fixture("mlmmj-deny-access.eml");
	char *msgid = fg_msgid_make("another-secret", LIST, TOPIC,
				    POST_NUMBER, DOMAIN);
	char *ours = fg_msgid_make(SECRET, LIST, TOPIC, POST_NUMBER, DOMAIN);
	char *forged = replace_all(text, ours, msgid);
	struct fg_refusal *r;
	const char *why;

	ck_assert_int_eq(parse(forged, false, &r, &why), 0);
	free(forged);
	free(ours);
	free(msgid);
	free(text);
}
END_TEST

START_TEST(test_failure_notice_to_verp)
{
	/* a non-DSN failure report that returns nothing of the post:
	   only the VERP address names it */
	static const char text[] =
		"From: MAILER-DAEMON@mail.lists.test\n"
		"To: bridge@lists.test\n"
		"Subject: failure notice\n"
		"Message-ID: <qmail-1@mail.lists.test>\n"
		"\n"
		"Hi. This is the qmail-send program at mail.lists.test.\n"
		"I'm afraid I wasn't able to deliver your message to the\n"
		"following addresses.\n"
		"\n"
		"<forum@lists.test>:\n"
		"Sorry, no mailbox here by that name. (#5.1.1)\n";
	struct fg_refusal *r;
	const char *why;

	ck_assert_int_eq(parse(text, true, &r, &why), 1);
	ck_assert_int_eq(r->kind, FG_REFUSAL_BOUNCED);
	ck_assert_int_eq(r->post_id, POST_ID);
	ck_assert_ptr_null(r->message_id);
	ck_assert_int_eq(r->topic_id, 0);
	ck_assert_str_eq(r->reason, "failure notice");
	fg_refusal_free(&r);
	/* the same to the bridge address names nothing */
	ck_assert_int_eq(parse(text, false, &r, &why), 0);
}
END_TEST

START_TEST(test_hostile_reason)
{
	/* the list manager's text is bounded, one line, no controls */
	struct fg_buf b = { 0 };
	char *msgid = fg_msgid_make(SECRET, LIST, TOPIC, POST_NUMBER, DOMAIN);
	struct fg_refusal *r;
	const char *why;

	fg_buf_printf(&b, "From: forum-owner@lists.test\n"
		      "To: bridge@lists.test\n"
		      "Subject: rejected\n"
		      "In-Reply-To: <%s>\n"
		      "Content-Type: text/plain; charset=utf-8\n\n"
		      "Your post was rejected because <script>x</script>"
		      "\x1b[31m\r\x07 ", msgid);
	for (int i = 0; i < 2000; i++)
		fg_buf_puts(&b, "\xc3\xa9 ");
	fg_buf_puts(&b, "\n");
	ck_assert_int_eq(parse(b.s, false, &r, &why), 1);
	ck_assert_int_eq(r->kind, FG_REFUSAL_REJECTED);
	ck_assert_uint_le(strlen(r->reason), FG_REFUSAL_REASON_MAX);
	for (const char *p = r->reason; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "control byte 0x%02x in the reason", *p);
	ck_assert(strncmp(r->reason, "because <script>x</script>", 26) == 0);
	ck_assert(strcmp(r->reason + strlen(r->reason) - 3, "...") == 0);
	fg_refusal_free(&r);
	fg_buf_free(&b);
	free(msgid);
}
END_TEST

START_TEST(test_reason_never_empty)
{
	/* no "because", a blank subject: still a reason to show */
	static const char text[] =
		"From: forum-owner@lists.test\n"
		"To: bridge@lists.test\n"
		"Subject: \t \x01 \n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\nYour post was rejected.\n"
		"--b\nContent-Type: message/rfc822\n\n"
		"Message-ID: <@MSGID@>\nSubject: x\n\nbody\n--b--\n";
	char *msgid = fg_msgid_make(SECRET, LIST, TOPIC, POST_NUMBER, DOMAIN);
	char *filled = replace_all(text, "@MSGID@", msgid);
	struct fg_refusal *r;
	const char *why;

	ck_assert_int_eq(parse(filled, false, &r, &why), 1);
	ck_assert_int_eq(r->kind, FG_REFUSAL_REJECTED);
	ck_assert_str_eq(r->reason, "no reason given");
	ck_assert_str_eq(r->subject, "x");
	fg_refusal_free(&r);
	free(filled);
	free(msgid);
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_int_eq(fg_refusal_kind_parse("held"), FG_REFUSAL_HELD);
	ck_assert_int_eq(fg_refusal_kind_parse("bounced"),
			 FG_REFUSAL_BOUNCED);
	ck_assert_int_eq(fg_refusal_kind_parse("approved"), -1);
}
END_TEST

static Suite *refusal_suite(void)
{
	Suite *s = suite_create("refusal");
	TCase *tc = tcase_create("notices");

	tcase_add_test(tc, test_mlmmj_deny_access);
	tcase_add_test(tc, test_refusal_names_post_by_id);
	tcase_add_test(tc, test_mlmmj_deny_subonly);
	tcase_add_test(tc, test_mlmmj_wait_to_verp);
	tcase_add_test(tc, test_mailman3_rejected);
	tcase_add_test(tc, test_mailman3_hold_names_no_post);
	tcase_add_test(tc, test_mailman3_probe_is_no_refusal);
	tcase_add_test(tc, test_dsn_failed);
	tcase_add_test(tc, test_dsn_delayed);
	tcase_add_test(tc, test_member_reply_is_no_refusal);
	tcase_add_test(tc, test_forged_notice_sender);
	tcase_add_test(tc, test_other_list);
	tcase_add_test(tc, test_forged_msgid);
	tcase_add_test(tc, test_failure_notice_to_verp);
	tcase_add_test(tc, test_hostile_reason);
	tcase_add_test(tc, test_reason_never_empty);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(refusal_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
