/*
 * NAME
 *	check_footer - unit tests of list boilerplate removal
 * DESCRIPTION
 *	Covers fg-footer and the body choice of fg-mailparse: a fixture
 *	per list manager's footer (trailing plain text, a MIME part of
 *	its own, HTML), Mailman 3's multipart/mixed of an HTML-only post
 *	and its footer part, a reply whose quote is trimmed once the
 *	footer is cut, a list's declared footer, an author's text that
 *	only mentions unsubscribing.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg-common.h"
#include "fg-footer.h"
#include "fg-mailparse.h"
#include "fg-record.h"

#define HEAD "From: Alice <alice@example.org>\n" \
	"To: forum@lists.example.org\n" \
	"Subject: [Forum] Test\n" \
	"Message-ID: <footer-test@example.org>\n" \
	"MIME-Version: 1.0\n"

#define MM3_FOOTER "_______________________________________________\n" \
	"Forum mailing list -- forum@lists.example.org\n" \
	"To unsubscribe send an email to forum-leave@lists.example.org\n"

#define GG_FOOTER "-- \n" \
	"You received this message because you are subscribed to the " \
	"Google Groups \"Forum\" group.\n" \
	"To unsubscribe from this group and stop receiving emails from it, " \
	"send an email to forum+unsubscribe@googlegroups.com.\n" \
	"To view this discussion visit https://groups.google.com/d/msgid/" \
	"forum/CAF%3Dabc%40mail.gmail.com.\n"

/* parse_body - the body of a parsed message, with a declared footer */
static char *parse_body(const char *msg, const char *footer)
{
	struct fg_parse_settings set = {
		.secret = "test-secret",
		.mail_domain = "lists.test",
		.max_size = 4 * 1024 * 1024,
		.list_footer = footer,
	};
	struct fg_record *rec = NULL;
	const char *error = NULL;
	char *body;

	ck_assert_msg(fg_mail_parse(msg, strlen(msg), &set, &rec, &error) == 0,
		      "parse failed: %s", error != NULL ? error : "?");
	body = fg_xstrdup(rec->body);
	fg_record_free(&rec);
	return body;
}

/* body_is - a message parses to the expected body */
static void body_is(const char *what, const char *msg, const char *footer,
		    const char *expected)
{
	char *body = parse_body(msg, footer);

	ck_assert_msg(strcmp(body, expected) == 0,
		      "%s: body \"%s\", expected \"%s\"", what, body, expected);
	free(body);
}

/* plain_is - a text/plain message with text as its body */
static void plain_is(const char *what, const char *text, const char *footer,
		     const char *expected)
{
	char *msg = fg_xasprintf(HEAD "Content-Type: text/plain; "
				 "charset=utf-8\n\n%s", text);

	body_is(what, msg, footer, expected);
	free(msg);
}

/* cut_is - fg_footer_cut() of text, and the footer it cut */
static void cut_is(const char *text, const char *declared,
		   const char *expected, const char *footer)
{
	char *cut = NULL, *kept = fg_footer_cut(text, declared, &cut);

	ck_assert_msg(strcmp(kept, expected) == 0,
		      "cut \"%s\" -> \"%s\", expected \"%s\"", text, kept,
		      expected);
	if (footer == NULL)
		ck_assert_msg(cut == NULL, "cut \"%s\" from \"%s\"", cut, text);
	else
		ck_assert_msg(cut != NULL && strcmp(cut, footer) == 0,
			      "footer of \"%s\" is \"%s\", expected \"%s\"",
			      text, cut != NULL ? cut : "(none)", footer);
	free(kept);
	free(cut);
}

START_TEST(test_footer_mailman3)
{
	/* trailing text of a text/plain post */
	plain_is("mailman3 plain", "See you on Friday.\n\n" MM3_FOOTER, NULL,
		 "See you on Friday.");
	/* a translation: the -leave address is in every one of them */
	plain_is("mailman3 de", "Bis Freitag.\n"
		 "_______________________________________________\n"
		 "Forum Mailingliste -- forum@lists.example.org\n"
		 "Zur Abmeldung von dieser Mailingliste senden Sie eine "
		 "Nachricht an forum-leave@lists.example.org\n", NULL,
		 "Bis Freitag.");
	/* a reply: with the footer gone the quote is at the end again,
	   and trimmed */
	plain_is("mailman3 reply", "I agree, let's do it.\n\n"
		 "On Mon, 7 Dec 2026 at 10:00, Bob <bob@example.org> wrote:\n"
		 "> Shall we meet on Friday?\n"
		 "> Bob\n" MM3_FOOTER, NULL, "I agree, let's do it.");
	/* and with a signature between the quote and the footer */
	plain_is("mailman3 signed", "Yes.\n\n"
		 "Bob wrote:\n> Friday?\n\n-- \nAlice\n\n" MM3_FOOTER, NULL,
		 "Yes.");
}
END_TEST

START_TEST(test_footer_mailman3_parts)
{
	/* an HTML-only post: Mailman 3 makes it multipart/mixed with the
	   footer as a text/plain part after it; the text is the HTML */
	body_is("mailman3 html only", HEAD
		"Content-Type: multipart/mixed; boundary=\"===============1==\"\n"
		"\n"
		"--===============1==\n"
		"Content-Type: text/html; charset=\"utf-8\"\n"
		"Content-Transfer-Encoding: 7bit\n\n"
		"<html><body><p>Hello <b>world</b>, this is HTML only.</p>"
		"</body></html>\n"
		"--===============1==\n"
		"Content-Type: text/plain; charset=\"us-ascii\"\n"
		"MIME-Version: 1.0\n"
		"Content-Transfer-Encoding: 7bit\n"
		"Content-Disposition: inline\n\n"
		MM3_FOOTER
		"--===============1==--\n", NULL,
		"Hello **world**, this is HTML only.");
	/* a multipart/alternative post wrapped the same way */
	body_is("mailman3 alternative", HEAD
		"Content-Type: multipart/mixed; boundary=\"OUT\"\n\n"
		"--OUT\n"
		"Content-Type: multipart/alternative; boundary=\"ALT\"\n\n"
		"--ALT\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"Plain words.\n"
		"--ALT\n"
		"Content-Type: text/html; charset=utf-8\n\n"
		"<p>HTML words.</p>\n"
		"--ALT--\n"
		"--OUT\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Disposition: inline\n\n"
		MM3_FOOTER
		"--OUT--\n", NULL, "Plain words.");
	/* an HTML-only reply: the footer part does not stop the HTML
	   quote markers from cutting the quote */
	body_is("mailman3 html reply", HEAD
		"Content-Type: multipart/mixed; boundary=\"B\"\n\n"
		"--B\n"
		"Content-Type: text/html; charset=utf-8\n\n"
		"<div dir=\"ltr\">Count me in.</div><br>"
		"<div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, "
		"Dec 7, 2026 Bob wrote:<br></div><blockquote "
		"class=\"gmail_quote\">Who joins?</blockquote></div>\n"
		"--B\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Disposition: inline\n\n"
		MM3_FOOTER
		"--B--\n", NULL, "Count me in.");
	/* a footer part only (an image post): no text, never the footer */
	body_is("mailman3 footer only", HEAD
		"Content-Type: multipart/mixed; boundary=\"B\"\n\n"
		"--B\n"
		"Content-Type: image/png; name=\"a.png\"\n"
		"Content-Disposition: attachment; filename=\"a.png\"\n"
		"Content-Transfer-Encoding: base64\n\n"
		"iVBORw0KGgo=\n"
		"--B\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Disposition: inline\n\n"
		MM3_FOOTER
		"--B--\n", NULL, "");
}
END_TEST

START_TEST(test_footer_mailman2)
{
	plain_is("mailman2", "Patch attached.\n\n"
		 "_______________________________________________\n"
		 "Forum mailing list\n"
		 "Forum@lists.example.org\n"
		 "https://lists.example.org/mailman/listinfo/forum\n", NULL,
		 "Patch attached.");
	/* with cgiext and without the host line */
	plain_is("mailman2 cgi", "Patch attached.\n"
		 "_______________________________________________\n"
		 "Forum mailing list\n"
		 "http://lists.example.org/listinfo.cgi/forum\n", NULL,
		 "Patch attached.");
}
END_TEST

START_TEST(test_footer_google_groups)
{
	plain_is("google plain", "Thanks, that fixed it.\n\n"
		 "On Mon, Dec 7, 2026 at 10:00 AM Bob <bob@example.org> "
		 "wrote:\n> Restart the daemon.\n\n" GG_FOOTER, NULL,
		 "Thanks, that fixed it.");
	/* the older frame */
	plain_is("google old", "Thanks.\n\n"
		 "--~--~---------~--~----~------------~-------~--~----~\n"
		 "You received this message because you are subscribed to "
		 "the Google Groups \"Forum\" group.\n"
		 "To post to this group, send email to forum@googlegroups.com\n"
		 "To unsubscribe from this group, send email to "
		 "forum+unsubscribe@googlegroups.com\n"
		 "For more options, visit this group at "
		 "http://groups.google.com/group/forum?hl=en\n"
		 "-~----------~----~----~----~------~----~------~--~---\n",
		 NULL, "Thanks.");
	/* HTML only, with a quote: the footer is cut from the HTML, so
	   the quote is at the end and trimmed */
	body_is("google html", HEAD
		"Content-Type: text/html; charset=utf-8\n\n"
		"<div dir=\"ltr\">Thanks, that fixed it.</div><br>"
		"<div class=\"gmail_quote\"><div dir=\"ltr\" "
		"class=\"gmail_attr\">On Mon, Dec 7, 2026 at 10:00 AM Bob "
		"&lt;<a href=\"mailto:bob@example.org\">bob@example.org</a>"
		"&gt; wrote:<br></div><blockquote class=\"gmail_quote\" "
		"style=\"margin:0px 0px 0px 0.8ex\">Restart the daemon."
		"</blockquote></div>\n\n<p></p>\n\n"
		"-- <br />\n"
		"You received this message because you are subscribed to the "
		"Google Groups &quot;Forum&quot; group.<br />\n"
		"To unsubscribe from this group and stop receiving emails from "
		"it, send an email to <a href=\"mailto:forum+unsubscribe@"
		"googlegroups.com\">forum+unsubscribe@googlegroups.com</a>."
		"<br />\nTo view this discussion visit <a href=\"https://"
		"groups.google.com/d/msgid/forum/x\">https://groups.google.com"
		"/d/msgid/forum/x</a>.<br />\n", NULL,
		"Thanks, that fixed it.");
	/* in German: found by the group's address */
	body_is("google html de", HEAD
		"Content-Type: text/html; charset=utf-8\n\n"
		"<div dir=\"ltr\">Danke!</div><br>"
		"<div class=\"gmail_quote\"><div dir=\"ltr\" "
		"class=\"gmail_attr\">Am Mo., 7. Dez. 2026 um 10:00 Uhr "
		"schrieb Bob:<br></div><blockquote class=\"gmail_quote\">"
		"Neu starten.</blockquote></div>\n\n<p></p>\n\n"
		"-- <br />\n"
		"Sie erhalten diese Nachricht, weil Sie in Google Groups die "
		"Gruppe &quot;Forum&quot; abonniert haben.<br />\n"
		"Wenn Sie sich von dieser Gruppe abmelden und keine E-Mails mehr "
		"von dieser Gruppe erhalten m&ouml;chten, senden Sie eine E-Mail "
		"an <a href=\"mailto:forum+unsubscribe@googlegroups.com\">"
		"forum+unsubscribe@googlegroups.com</a>.<br />\n", NULL,
		"Danke!");
}
END_TEST

START_TEST(test_footer_groups_io)
{
	plain_is("groups.io plain", "Sounds good to me.\n\n\n"
		 "-=-=-=-=-=-=-=-=-=-=-=-\n"
		 "Groups.io Links: You receive all messages sent to this "
		 "group.\n"
		 "View/Reply Online (#42): https://groups.io/g/forum/message/42\n"
		 "Mute This Topic: https://groups.io/mt/12345/67890\n"
		 "Group Owner: forum+owner@groups.io\n"
		 "Unsubscribe: https://groups.io/g/forum/leave/123/abc "
		 "[alice@example.org]\n"
		 "-=-=-=-=-=-=-=-=-=-=-=-\n", NULL, "Sounds good to me.");
	body_is("groups.io html", HEAD
		"Content-Type: text/html; charset=utf-8\n\n"
		"<div>Sounds good to me.</div>\n"
		"<div width=\"1\" style=\"color: white; clear: both;\"></div>\n"
		"<div>_._,_._,_</div>\n<hr />\n"
		"Groups.io Links:<p>You receive all messages sent to this "
		"group.</p>\n<p><a href=\"https://groups.io/g/forum/message/42\">"
		"View/Reply Online (#42)</a> | <a href=\"https://groups.io/g/"
		"forum/leave/123\">Leave Group</a></p>\n"
		"<a href=\"mailto:forum+owner@groups.io\">Contact Group Owner</a>"
		" | <a href=\"https://groups.io/g/forum/leave/123/abc\">"
		"Unsubscribe</a> [alice@example.org]<br />\n"
		"<div>_._,_._,_</div>\n", NULL, "Sounds good to me.");
}
END_TEST

START_TEST(test_footer_listserv)
{
	plain_is("listserv plain", "Thanks for the summary.\n\n"
		 "##################################################"
		 "######################\n\n"
		 "To unsubscribe from the FORUM list, click the following "
		 "link:\n"
		 "https://lists.example.edu/cgi-bin/wa?SUBED1=FORUM&A=1\n",
		 NULL, "Thanks for the summary.");
	body_is("listserv html", HEAD
		"Content-Type: text/html; charset=utf-8\n\n"
		"<p>Thanks for the summary.</p>\n"
		"<p>##################################################"
		"######################</p>\n"
		"<p>To unsubscribe from the FORUM list, click the following "
		"link:<br>\n<a href=\"https://lists.example.edu/cgi-bin/wa?"
		"SUBED1=FORUM&amp;A=1\" target=\"_blank\">https://lists."
		"example.edu/cgi-bin/wa?SUBED1=FORUM&amp;A=1</a></p>\n",
		NULL, "Thanks for the summary.");
}
END_TEST

START_TEST(test_footer_sympa)
{
	/* footer_type append */
	plain_is("sympa plain", "Meeting moved to room 4.\n\n"
		 "-- \n"
		 "Archives: https://lists.example.org/sympa/arc/forum\n"
		 "Unsubscribe: mailto:sympa@lists.example.org?subject="
		 "unsubscribe%20forum\n", NULL, "Meeting moved to room 4.");
	/* footer_type mime: a part of its own after an HTML-only post */
	body_is("sympa mime", HEAD
		"Content-Type: multipart/mixed; boundary=\"S\"\n\n"
		"--S\n"
		"Content-Type: text/html; charset=utf-8\n\n"
		"<p>Meeting moved to <i>room 4</i>.</p>\n"
		"--S\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Disposition: inline\n\n"
		"______________________________\n"
		"Forum list: https://lists.example.org/wws/info/forum\n"
		"--S--\n", NULL, "Meeting moved to *room 4*.");
}
END_TEST

START_TEST(test_footer_declared)
{
	/* mlmmj appends control/footer verbatim; a list declares it */
	static const char footer[] =
		"\n-- \nForum rules: be kind, stay on topic.\n"
		"Archive at https://example.org/forum-archive\n";

	plain_is("mlmmj undeclared", "Hello all.\n" "\n-- \n"
		 "Forum rules: be kind, stay on topic.\n"
		 "Archive at https://example.org/forum-archive\n", NULL,
		 "Hello all.");	/* the signature trim, not the footer */
	plain_is("mlmmj declared", "Hello all.\n\n"
		 "Bob wrote:\n> Anyone there?\n"
		 "\n-- \nForum rules: be kind, stay on topic.\n"
		 "Archive at https://example.org/forum-archive\n", footer,
		 "Hello all.");
	/* wrapped differently, indented, trailing blank lines */
	cut_is("Hello all.\n\n--\n  Forum rules: be kind,\nstay on topic. "
	       "Archive at\nhttps://example.org/forum-archive\n\n\n\n",
	       footer, "Hello all.",
	       "--\n  Forum rules: be kind,\nstay on topic. Archive at\n"
	       "https://example.org/forum-archive");
	/* not at the end: kept */
	cut_is("Forum rules: be kind, stay on topic.\n"
	       "Archive at https://example.org/forum-archive\nMore text.",
	       footer, "Forum rules: be kind, stay on topic.\n"
	       "Archive at https://example.org/forum-archive\nMore text.",
	       NULL);
	/* a declared footer with no separator or list wording at all */
	cut_is("Fine by me.\nForum of the Example Club\n", "Forum of the "
	       "Example Club", "Fine by me.", "Forum of the Example Club");
	/* a declared footer as a MIME part before the author's text (a
	   list header) is not the body */
	body_is("declared part", HEAD
		"Content-Type: multipart/mixed; boundary=\"D\"\n\n"
		"--D\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"Forum of the Example Club\n"
		"--D\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"The real text.\n"
		"--D--\n", "Forum of the Example Club", "The real text.");
	/* never to nothing */
	cut_is("Forum of the Example Club\n", "Forum of the Example Club",
	       "Forum of the Example Club", NULL);
}
END_TEST

START_TEST(test_footer_kept)
{
	/* an author's text that mentions unsubscribing stays */
	plain_is("author unsubscribe", "How do I unsubscribe?\n\n"
		 "______________________________\n"
		 "I tried to unsubscribe from the mailing list but it did not "
		 "work.\nJohn\n", NULL,
		 "How do I unsubscribe?\n\n"
		 "______________________________\n"
		 "I tried to unsubscribe from the mailing list but it did not "
		 "work.\nJohn");
	cut_is("Please read this.\n----------------------\n"
	       "To unsubscribe, reply STOP.\n", NULL,
	       "Please read this.\n----------------------\n"
	       "To unsubscribe, reply STOP.", NULL);
	/* list addresses without a separator line */
	cut_is("Send mail to forum-leave@lists.example.org to leave.\n", NULL,
	       "Send mail to forum-leave@lists.example.org to leave.", NULL);
	/* a separator and list wording followed by more than a footer */
	{
		struct fg_buf b = { 0 };
		char *kept;

		fg_buf_puts(&b, "Intro\n_______________________________________________\n"
			    "See https://lists.example.org/mailman/listinfo/x\n");
		for (int i = 0; i < FG_FOOTER_MAX_LINES + 1; i++)
			fg_buf_puts(&b, "a line of my own text\n");
		kept = fg_footer_cut(b.s, NULL, NULL);
		ck_assert_uint_eq(strlen(kept), b.len - 1);
		free(kept);
		fg_buf_free(&b);
	}
	/* a quoted footer above the author's answer stays; only the
	   list's own footer at the end goes */
	cut_is("> Question?\n> " "_______________________________________________\n"
	       "> Forum mailing list -- forum@lists.example.org\n\n"
	       "My answer.\n" MM3_FOOTER, NULL,
	       "> Question?\n> _______________________________________________\n"
	       "> Forum mailing list -- forum@lists.example.org\n\n"
	       "My answer.", "_______________________________________________\n"
	       "Forum mailing list -- forum@lists.example.org\n"
	       "To unsubscribe send an email to forum-leave@lists.example.org");
	/* a footer alone is left as it is, and is a footer only */
	cut_is(MM3_FOOTER, NULL, "_______________________________________________\n"
	       "Forum mailing list -- forum@lists.example.org\n"
	       "To unsubscribe send an email to forum-leave@lists.example.org",
	       NULL);
	ck_assert(fg_footer_only("\n\n" MM3_FOOTER "\n", NULL));
	ck_assert(!fg_footer_only("Hi\n" MM3_FOOTER, NULL));
	ck_assert(!fg_footer_only("   \n", NULL));
	ck_assert(!fg_footer_only("Hi", "Hi there"));
}
END_TEST

START_TEST(test_footer_nested)
{
	/* a mail that passed two lists carries two footers */
	plain_is("two footers", "Hi.\n\n" MM3_FOOTER "\n" GG_FOOTER, NULL,
		 "Hi.");
}
END_TEST

START_TEST(test_footer_html_start)
{
	static const char html[] = "<p>Text -- <br> stays</p>"
		"<div>_._,_._,_</div><hr>Groups.io Links:<p>...</p>";
	static const char news[] = "<p>You received this message because "
		"you are subscribed to the newsletter</p>";
	const char *sep = strstr(html, "<div>_._");

	ck_assert_uint_eq(fg_footer_html_start(html, strlen(html)),
			  (size_t)(sep - html) + 5);
	ck_assert_uint_eq(fg_footer_html_start("<p>plain</p>", 12), 12);
	/* the wording without its separator is no footer */
	ck_assert_uint_eq(fg_footer_html_start(news, strlen(news)),
			  strlen(news));
}
END_TEST

START_TEST(test_footer_bounds)
{
	/* a long text of separators and list words costs linear time and
	   cuts only the end */
	struct fg_buf b = { 0 };
	char *kept;

	fg_buf_puts(&b, "start\n");
	for (int i = 0; i < 20000; i++)
		fg_buf_puts(&b, "-- \n/listinfo\n");
	kept = fg_footer_cut(b.s, "/listinfo /listinfo", NULL);
	ck_assert(strncmp(kept, "start\n", 6) == 0);
	ck_assert_uint_lt(strlen(kept), b.len);
	free(kept);
	ck_assert_uint_lt(fg_footer_html_start(b.s, b.len), b.len + 1);
	fg_buf_free(&b);
}
END_TEST

/* footer_suite - the footer tests: cut text, and the body chosen */
static Suite *footer_suite(void)
{
	Suite *s = suite_create("footer");
	TCase *tc = tcase_create("cut");
	TCase *body = tcase_create("body");

	tcase_add_test(body, test_footer_mailman3_parts);
	tcase_add_test(tc, test_footer_mailman3);
	tcase_add_test(tc, test_footer_mailman2);
	tcase_add_test(tc, test_footer_google_groups);
	tcase_add_test(tc, test_footer_groups_io);
	tcase_add_test(tc, test_footer_listserv);
	tcase_add_test(tc, test_footer_sympa);
	tcase_add_test(tc, test_footer_declared);
	tcase_add_test(tc, test_footer_kept);
	tcase_add_test(tc, test_footer_nested);
	tcase_add_test(tc, test_footer_html_start);
	tcase_add_test(tc, test_footer_bounds);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, body);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(footer_suite());
	int failed;

	/* GMime for the whole run: the tests parse mail in the runner's
	   forked children */
	fg_mail_init();
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed > 0;
}
