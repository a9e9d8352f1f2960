/*
 * NAME
 *	check_listmail - unit tests of the list-mail rule
 * DESCRIPTION
 *	Covers fg-listmail and its use by fg_mail_parse(): which mail to
 *	a list's bridge recipient the list distributed (each list header
 *	form, each return path form, the per-list overrides), which the
 *	list manager wrote itself (Mailman 3 and mlmmj notices, as their
 *	sources write them), and which was sent straight to the bridge,
 *	with or without forged list headers.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fg-classify.h"
#include "fg-common.h"
#include "fg-listmail.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-record.h"

#define SECRET "test-secret"
#define LIST "forum@lists.test"
#define MLMMJ_RP "forum+bounces-7-bridge=lists.test@lists.test"
#define MAILMAN_RP "forum-bounces@lists.test"

/* The list settings of a test: the default list unless changed. */
static const char *t_list_id, *t_return_path, *t_delims = "+";

/* parse_list - parse msg as delivered for the list with the envelope
   sender (NULL: not known); the record */
static struct fg_record *parse_list(const char *msg, const char *envelope)
{
	struct fg_parse_settings set = {
		.secret = SECRET, .mail_domain = "lists.test",
		.max_size = 1024 * 1024,
		.list_address = LIST, .list_id = t_list_id,
		.list_return_path = t_return_path,
		.envelope_from = envelope,
		.recipient_delimiter = t_delims,
	};
	struct fg_record *rec = NULL;
	const char *error = NULL;

	ck_assert_msg(fg_mail_parse(msg, strlen(msg), &set, &rec, &error) == 0,
		      "parse failed: %s", error != NULL ? error : "?");
	return rec;
}

/* class_of - the class of a message with these headers, body "text";
   *reason_r (caller frees) when not NULL */
static enum fg_class class_of(const char *headers, const char *envelope,
			      char **reason_r)
{
	char *msg = fg_xasprintf("%s\nSubject: x\n\ntext\n", headers);
	struct fg_record *rec = parse_list(msg, envelope);
	enum fg_class class = rec->classification;

	if (reason_r != NULL)
		*reason_r = fg_xstrdup(rec->reason);
	fg_record_free(&rec);
	free(msg);
	return class;
}

/* assert_class - class_of() is want, and the reason has text */
static void assert_class(const char *headers, const char *envelope,
			 enum fg_class want, const char *text)
{
	char *reason;
	enum fg_class got = class_of(headers, envelope, &reason);

	ck_assert_msg(got == want, "%s\n(envelope %s): %s, want %s (%s)",
		      headers, envelope != NULL ? envelope : "unknown",
		      fg_class_name(got), fg_class_name(want), reason);
	if (text != NULL)
		ck_assert_msg(strstr(reason, text) != NULL,
			      "reason '%s' lacks '%s'", reason, text);
	free(reason);
}

START_TEST(test_record_notice)
{
	/* the record names the notice for code that reads notices */
	static const char msg[] = "From: forum-bounces@lists.test\n"
		"To: bridge@lists.test\nPrecedence: bulk\n"
		"Message-ID: <r1@localhost>\nSubject: rejected\n\ntext\n";
	struct fg_record *rec = parse_list(msg, MAILMAN_RP);

	ck_assert_int_eq(rec->classification, FG_CLASS_LIST_NOTICE);
	ck_assert_str_eq(rec->notice, "mailman:bounces");
	fg_record_free(&rec);
	rec = parse_list("From: alice@example.test\nTo: forum@lists.test\n"
			 "Message-ID: <r2@x.test>\n\ntext\n", MAILMAN_RP);
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	ck_assert_ptr_null(rec->notice);
	fg_record_free(&rec);
}
END_TEST

static void reset(void)
{
	t_list_id = NULL;
	t_return_path = NULL;
	t_delims = "+";
}

START_TEST(test_list_headers)
{
	reset();
	/* mlmmj with the List-Id of its customheaders */
	assert_class("From: Alice <alice@example.test>\n"
		     "To: bridge@lists.test\n"
		     "List-Id: <forum.lists.test>\n"
		     "Message-ID: <a1@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, "List-Id");
	/* Mailman 3: a description, another case */
	assert_class("From: Alice <alice@example.test>\n"
		     "List-Id: Forum talk <Forum.Lists.Test>\n"
		     "Message-ID: <a2@example.test>", MAILMAN_RP,
		     FG_CLASS_POST, "List-Id");
	/* a bare id (RFC 2919 wants <>, some write none) */
	assert_class("From: alice@example.test\n"
		     "List-Id: forum.lists.test\n"
		     "Message-ID: <a3@example.test>", MAILMAN_RP,
		     FG_CLASS_POST, "List-Id");
	/* List-Post alone */
	assert_class("From: alice@example.test\n"
		     "List-Post: <mailto:forum@lists.test>\n"
		     "Message-ID: <a4@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, "List-Post");
	/* plain mlmmj: no List-* at all, the author wrote To: the list */
	assert_class("From: alice@example.test\n"
		     "To: Forum <Forum@lists.test>\n"
		     "Message-ID: <a5@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, "To/Cc");
	assert_class("From: alice@example.test\n"
		     "To: bob@example.test\nCc: other@example.org, "
		     "forum@lists.test\n"
		     "Message-ID: <a6@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, "To/Cc");
	assert_class("From: alice@example.test\n"
		     "To: team: forum@lists.test, bob@example.test;\n"
		     "Message-ID: <a7@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, "To/Cc");
	/* a member at the list's domain, a Message-ID there, no List-Post:
	   a post, not a notice */
	assert_class("From: carol@lists.test\nTo: forum@lists.test\n"
		     "Message-ID: <123.456@lists.test>", MLMMJ_RP,
		     FG_CLASS_POST, NULL);
	/* Mailman's DMARC mitigation: From is the list's own address */
	assert_class("From: Alice via Forum <forum@lists.test>\n"
		     "Reply-To: alice@example.test\n"
		     "List-Id: <forum.lists.test>\n"
		     "List-Post: <mailto:forum@lists.test>\n"
		     "Message-ID: <a9@example.test>", MAILMAN_RP,
		     FG_CLASS_POST, NULL);
	/* Precedence: list and bulk are ordinary list traffic with
	   List-Post */
	assert_class("From: alice@example.test\nPrecedence: bulk\n"
		     "List-Id: <forum.lists.test>\n"
		     "List-Post: <mailto:forum@lists.test>\n"
		     "Message-ID: <a8@example.test>", MAILMAN_RP,
		     FG_CLASS_POST, NULL);

	/* nothing names the list */
	assert_class("From: alice@example.test\nTo: bridge@lists.test\n"
		     "Message-ID: <n1@example.test>", MLMMJ_RP,
		     FG_CLASS_NOT_LIST, "names the list");
	assert_class("From: alice@example.test\nTo: bridge@lists.test\n"
		     "List-Id: <other.lists.test>\n"
		     "List-Post: <mailto:other@lists.test>\n"
		     "Message-ID: <n2@example.test>", MLMMJ_RP,
		     FG_CLASS_NOT_LIST, NULL);
	/* the address as a part of another */
	assert_class("From: alice@example.test\n"
		     "To: xforum@lists.test, forum@lists.test.evil\n"
		     "List-Post: <mailto:forum@lists.test.evil>\n"
		     "List-Id: <forum.lists.test.evil>\n"
		     "Message-ID: <n3@example.test>", MLMMJ_RP,
		     FG_CLASS_NOT_LIST, NULL);
	/* headers alone decide when the envelope is not known */
	assert_class("From: alice@example.test\nTo: forum@lists.test\n"
		     "Message-ID: <n4@example.test>", NULL,
		     FG_CLASS_POST, NULL);
	assert_class("From: alice@example.test\nTo: bridge@lists.test\n"
		     "Message-ID: <n5@example.test>", NULL,
		     FG_CLASS_NOT_LIST, NULL);
}
END_TEST

START_TEST(test_list_id_setting)
{
	reset();
	t_list_id = "forum.example.org";
	assert_class("From: alice@example.test\n"
		     "List-Id: <forum.example.org>\n"
		     "Message-ID: <i1@example.test>", MAILMAN_RP,
		     FG_CLASS_POST, "List-Id");
	/* the default form is no longer the list's */
	assert_class("From: alice@example.test\n"
		     "List-Id: <forum.lists.test>\n"
		     "Message-ID: <i2@example.test>", MAILMAN_RP,
		     FG_CLASS_NOT_LIST, NULL);
	reset();

	char *id = fg_listmail_default_id("Forum@Lists.Test");
	ck_assert_str_eq(id, "forum.lists.test");
	free(id);
}
END_TEST

START_TEST(test_return_paths)
{
	static const char *const good[] = {
		"forum-bounces@lists.test",
		"FORUM-Bounces@LISTS.test",
		"forum-bounces+bridge=lists.test@lists.test",
		"forum+bounces-7-bridge=lists.test@lists.test",
		"forum+bounces-help@lists.test",
		"forum+bounces-probe-bridge=lists.test@lists.test",
	};
	static const char *const bad[] = {
		"alice@example.test", "forum@lists.test",
		"forum+x@lists.test", "forum-bounces@other.test",
		"forum-bounces@lists.test.evil", "xforum-bounces@lists.test",
		"forum+bounces@lists.test", "forum+bounces-@lists.test",
		"forum-bouncesx@lists.test", "forum-request@lists.test",
		"bridge@lists.test", "forum-bounces", "",
	};
	struct fg_listmail_list list = { .address = LIST };

	for (size_t i = 0; i < FG_N_ELEMENTS(good); i++)
		ck_assert_msg(fg_listmail_return_path(&list, good[i]),
			      "%s is a return path", good[i]);
	for (size_t i = 0; i < FG_N_ELEMENTS(bad); i++)
		ck_assert_msg(!fg_listmail_return_path(&list, bad[i]),
			      "%s is no return path", bad[i]);
	/* Postfix's recipient_delimiter: "-" as well */
	list.delimiters = "+-";
	ck_assert(fg_listmail_return_path(&list,
		"forum-bounces-bridge=lists.test@lists.test"));
	ck_assert(fg_listmail_return_path(&list,
		"forum-bounces-7-bridge=lists.test@lists.test"));
	list.delimiters = "+";
	ck_assert(!fg_listmail_return_path(&list,
		"forum-bounces-bridge=lists.test@lists.test"));
	/* the list's own patterns replace the default forms */
	list.return_path = "forum+bnc*@googlegroups.com, "
		"owner-forum@lists.test";
	ck_assert(fg_listmail_return_path(&list,
		"forum+bncABC123@GoogleGroups.com"));
	ck_assert(fg_listmail_return_path(&list, "owner-forum@lists.test"));
	ck_assert(!fg_listmail_return_path(&list, "forum-bounces@lists.test"));
	ck_assert(!fg_listmail_return_path(&list, "forum+bnc@evil.test"));
}
END_TEST

START_TEST(test_envelope)
{
	char *reason;

	reset();
	/* straight to the bridge by a member, as it is */
	assert_class("From: alice@example.test\nTo: bridge@lists.test\n"
		     "Message-ID: <e1@example.test>", "alice@example.test",
		     FG_CLASS_NOT_LIST, "envelope sender <alice@example.test>");
	/* ... and with every list header forged */
	assert_class("From: alice@example.test\nTo: forum@lists.test\n"
		     "List-Id: <forum.lists.test>\n"
		     "List-Post: <mailto:forum@lists.test>\n"
		     "Precedence: list\n"
		     "Message-ID: <e2@example.test>", "alice@example.test",
		     FG_CLASS_NOT_LIST, "not a return path");
	/* a forger naming the list's own address as envelope sender */
	assert_class("From: alice@example.test\nTo: forum@lists.test\n"
		     "Message-ID: <e3@example.test>", LIST,
		     FG_CLASS_NOT_LIST, "envelope");
	/* an automatic reply sent straight: the envelope decides first */
	assert_class("From: alice@example.test\nTo: bridge@lists.test\n"
		     "Auto-Submitted: auto-replied\n"
		     "Message-ID: <e4@example.test>", "alice@example.test",
		     FG_CLASS_NOT_LIST, NULL);
	/* the null sender is left to the bounce rule */
	assert_class("From: MAILER-DAEMON@mx.example.org\n"
		     "To: bridge@lists.test\nSubject: Undelivered Mail\n"
		     "Content-Type: multipart/report; "
		     "report-type=delivery-status; boundary=b\n"
		     "Message-ID: <e5@mx.example.org>", "",
		     FG_CLASS_BOUNCE, NULL);
	/* a member's automatic reply that the list distributed */
	assert_class("From: alice@example.test\nTo: forum@lists.test\n"
		     "Auto-Submitted: auto-replied\n"
		     "Message-ID: <e6@example.test>", MLMMJ_RP,
		     FG_CLASS_AUTO_REPLY, NULL);
	/* our own mail is ours whatever the envelope */
	char *id = fg_msgid_make(SECRET, "forum", 12, 3, "lists.test");
	char *h = fg_xasprintf("From: \"Alice via Forum\" <bridge@lists.test>\n"
			       "Message-ID: <%s>", id);
	ck_assert_int_eq(class_of(h, "alice@example.test", &reason),
			 FG_CLASS_OWN);
	free(reason);
	free(h);
	free(id);
}
END_TEST

/* assert_notice - the headers are the list manager's notice of form */
static void assert_notice(const char *headers, const char *envelope,
			  const char *form)
{
	assert_class(headers, envelope, FG_CLASS_LIST_NOTICE, form);
}

START_TEST(test_mailman_notices)
{
	reset();
	/* welcome: From LIST-request, Precedence: bulk, List-Id but no
	   List-Post, X-Mailman-Version, Message-ID from make_msgid() */
	assert_notice("From: forum-request@lists.test\n"
		      "To: bridge@lists.test\nPrecedence: bulk\n"
		      "List-Id: <forum.lists.test>\n"
		      "X-Mailman-Version: 3.3.8\n"
		      "Message-ID: <170.1.2@mail.lists.test>",
		      MAILMAN_RP, "mailman:request");
	/* probe: From the VERP probe address, no Precedence */
	assert_notice("From: forum-bounces+abcdef0123@lists.test\n"
		      "To: bridge@lists.test\n"
		      "List-Id: <forum.lists.test>\n"
		      "Message-ID: <170.1.3@mail.lists.test>",
		      "forum-bounces+abcdef0123@lists.test",
		      "mailman:bounces");
	/* a rejected post */
	assert_notice("From: forum-bounces@lists.test\n"
		      "To: bridge@lists.test\nPrecedence: bulk\n"
		      "List-Id: <forum.lists.test>\n"
		      "Message-ID: <170.1.4@localhost>",
		      MAILMAN_RP, "mailman:bounces");
	/* a confirmation: Auto-Submitted, yet the list's own notice */
	assert_notice("From: forum-confirm+0123abc@lists.test\n"
		      "To: bridge@lists.test\n"
		      "Auto-Submitted: auto-generated\n"
		      "Message-ID: <170.1.5@localhost>",
		      MAILMAN_RP, "mailman:confirm");
	assert_notice("From: forum-owner@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o1@x.test>", MAILMAN_RP, "mailman:owner");
	assert_notice("From: forum-admin@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o2@x.test>", MAILMAN_RP, "mailman:admin");
	assert_notice("From: forum-join@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o3@x.test>", MAILMAN_RP, "mailman:join");
	assert_notice("From: forum-leave@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o4@x.test>", MAILMAN_RP, "mailman:leave");
	assert_notice("From: mailman@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o5@x.test>", MAILMAN_RP, "mailman:site");
	assert_notice("From: owner-forum@lists.test\nTo: forum@lists.test\n"
		      "Message-ID: <o6@x.test>", MAILMAN_RP, "owner-list");
	/* Mailman 2's administrivia mark, and a notice that only shows
	   itself by its Message-ID */
	assert_notice("From: someone@example.test\nTo: bridge@lists.test\n"
		      "X-List-Administrivia: yes\n"
		      "List-Id: <forum.lists.test>\n"
		      "Message-ID: <o7@x.test>", MAILMAN_RP,
		      "mailman:administrivia");
	assert_notice("From: someone@example.test\nTo: bridge@lists.test\n"
		      "List-Id: <forum.lists.test>\n"
		      "Message-ID: <170.1.6@localhost.localdomain>",
		      MAILMAN_RP, "localhost-message-id");
	assert_notice("From: someone@example.test\nTo: forum@lists.test\n"
		      "Precedence: Bulk\n"
		      "Message-ID: <o8@x.test>", MAILMAN_RP,
		      "precedence-bulk");
	/* the same roles at another domain, or another list's, are a
	   member's address */
	assert_class("From: forum-request@example.test\n"
		     "To: forum@lists.test\nMessage-ID: <p1@x.test>",
		     MAILMAN_RP, FG_CLASS_POST, NULL);
	assert_class("From: forumx-request@lists.test\n"
		     "To: forum@lists.test\nMessage-ID: <p2@x.test>",
		     MAILMAN_RP, FG_CLASS_POST, NULL);
	assert_class("From: forum-requester@lists.test\n"
		     "To: forum@lists.test\nMessage-ID: <p3@x.test>",
		     MAILMAN_RP, FG_CLASS_POST, NULL);
	/* @localhost with List-Post is a member's odd mail client */
	assert_class("From: alice@example.test\n"
		     "List-Post: <mailto:forum@lists.test>\n"
		     "Message-ID: <p4@localhost>", MAILMAN_RP,
		     FG_CLASS_POST, NULL);
}
END_TEST

START_TEST(test_mlmmj_notices)
{
	reset();
	/* help, welcome, deny-post, probe: From LIST+owner, Message-ID
	   TIME-PID-mlmmj-HEX@LISTDOMAIN, envelope LIST+bounces-help */
	assert_notice("From: forum+owner@lists.test\n"
		      "To: bridge@lists.test\n"
		      "Subject: Welcome to forum@lists.test\n"
		      "Message-ID: <1765000000-4242-mlmmj-1a2b3c4d@lists.test>",
		      "forum+bounces-help@lists.test", "mlmmj:owner");
	assert_notice("From: Forum <forum+owner@lists.test>\n"
		      "To: bridge@lists.test\n"
		      "Message-ID: <x@y.test>",
		      "forum+bounces-probe-bridge=lists.test@lists.test",
		      "mlmmj:owner");
	assert_notice("From: someone@example.test\nTo: forum@lists.test\n"
		      "Message-ID: <1765000000-4242-mlmmj-1a2b3c4d@lists.test>",
		      MLMMJ_RP, "mlmmj:message-id");
	assert_notice("From: forum+help@lists.test\nTo: bridge@lists.test\n"
		      "Message-ID: <x2@y.test>", MLMMJ_RP, "list-extension");
	/* -mlmmj- in another domain's Message-ID is nobody's notice */
	assert_class("From: alice@example.test\nTo: forum@lists.test\n"
		     "Message-ID: <1-2-mlmmj-3@example.test>", MLMMJ_RP,
		     FG_CLASS_POST, NULL);
}
END_TEST

/* table_header - a header lookup over a NULL-ended name/value table */
static const char *table_header(void *context, const char *name)
{
	const char *const (*t)[2] = context;

	for (; (*t)[0] != NULL; t++) {
		if (strcasecmp((*t)[0], name) == 0)
			return (*t)[1];
	}
	return NULL;
}

START_TEST(test_notice_form)
{
	static const char *const headers[][2] = {
		{ "From", "forum-bounces@lists.test" },
		{ "Precedence", "bulk" },
		{ NULL, NULL },
	};
	struct fg_listmail_list list = { .address = LIST };
	struct fg_classify_msg msg = {
		.message_id = "m@x.test", .subject = "s", .from_email = "",
		.header = table_header, .context = (void *)headers,
		.header_from = "forum-bounces@lists.test",
	};
	const char *notice;
	enum fg_class class;
	char *reason;

	/* the classifier says which notice it is, for code that reads
	   the list manager's notices */
	fg_classify_list(&msg, SECRET, &list, MAILMAN_RP, &class, &notice,
			 &reason);
	ck_assert_int_eq(class, FG_CLASS_LIST_NOTICE);
	ck_assert_str_eq(notice, "mailman:bounces");
	free(reason);
	ck_assert_int_eq(fg_listmail_check(&list, &msg, NULL, &notice,
					   &reason), FG_LISTMAIL_NOTICE);
	ck_assert_str_eq(notice, "mailman:bounces");
	free(reason);
	/* a post has none */
	msg.header_from = "alice@example.test";
	msg.context = (void *)(headers + 1);
	static const char *const to[] = { LIST, NULL };
	msg.recipients = to;
	static const char *const plain[][2] = { { NULL, NULL } };
	msg.context = (void *)plain;
	fg_classify_list(&msg, SECRET, &list, MAILMAN_RP, &class, &notice,
			 &reason);
	ck_assert_int_eq(class, FG_CLASS_POST);
	ck_assert_ptr_null(notice);
	free(reason);
}
END_TEST

START_TEST(test_not_posted_names)
{
	unsigned int mask;
	const char *error;

	ck_assert_str_eq(fg_not_posted_name(FG_NOT_POSTED_NOT_LIST),
			 "not-list");
	ck_assert_str_eq(fg_not_posted_name(FG_NOT_POSTED_LIST_NOTICE),
			 "list-notice");
	ck_assert_int_eq(fg_not_posted_of_class(FG_CLASS_NOT_LIST),
			 FG_NOT_POSTED_NOT_LIST);
	ck_assert_int_eq(fg_not_posted_of_class(FG_CLASS_LIST_NOTICE),
			 FG_NOT_POSTED_LIST_NOTICE);
	ck_assert_str_eq(fg_class_name(FG_CLASS_NOT_LIST), "not-list");
	ck_assert_str_eq(fg_class_name(FG_CLASS_LIST_NOTICE), "list-notice");
	ck_assert_int_eq(fg_not_posted_mask("not-list, list-notice", &mask,
					    &error), 0);
	ck_assert_uint_eq(mask, (1U << FG_NOT_POSTED_NOT_LIST) |
			  (1U << FG_NOT_POSTED_LIST_NOTICE));
}
END_TEST

START_TEST(test_no_list_rule)
{
	/* without a list (the standalone parser) nothing changes */
	static const char msg[] = "From: alice@example.test\n"
		"To: bridge@lists.test\nMessage-ID: <q@x.test>\n"
		"Subject: x\n\ntext\n";
	struct fg_parse_settings set = {
		.secret = SECRET, .mail_domain = "lists.test",
		.envelope_from = "alice@example.test",
	};
	struct fg_record *rec = NULL;
	const char *error;

	ck_assert_int_eq(fg_mail_parse(msg, strlen(msg), &set, &rec, &error),
			 0);
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	fg_record_free(&rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("listmail");
	TCase *tc = tcase_create("rule");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_list_headers);
	tcase_add_test(tc, test_list_id_setting);
	tcase_add_test(tc, test_return_paths);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_mailman_notices);
	tcase_add_test(tc, test_mlmmj_notices);
	tcase_add_test(tc, test_notice_form);
	tcase_add_test(tc, test_record_notice);
	tcase_add_test(tc, test_not_posted_names);
	tcase_add_test(tc, test_no_list_rule);
	suite_add_tcase(s, tc);
	fg_mail_init();
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
