/*
 * NAME
 *	check_mail - unit tests of mail parsing, subjects, HTML and compose
 * DESCRIPTION
 *	Covers fg-subject, fg-html, fg-mailparse and fg-compose: the
 *	record fields of parsed list mail, charsets, format=flowed,
 *	trimming, classification, bounds and hostile input, the exact
 *	header set of composed mail, header injection, and a round trip
 *	compose -> parse.
 *
 *	When FG_CORPUS_DIR names a directory of real-world *.eml files
 *	(the Discourse incoming-mail fixtures), every file is parsed and a
 *	few known outcomes are checked; without it that test passes with
 *	a note. The corpus is read at run time and never copied.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "fg-classify.h"
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-html.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-record.h"
#include "fg-subject.h"
#include "fg-threading.h"

#define SECRET "test-secret"
#define DOMAIN "lists.test"
#define UFFFD "\xef\xbf\xbd"

static const struct fg_parse_settings test_set = {
	.secret = SECRET, .mail_domain = DOMAIN, .max_size = 4 * 1024 * 1024
};

/* parse_mem - parse, asserting success */
static struct fg_record *parse_mem(const char *data, size_t size)
{
	struct fg_record *rec = NULL;
	const char *error = NULL;
	int ret = fg_mail_parse(data, size, &test_set, &rec, &error);

	ck_assert_msg(ret == 0, "parse failed: %s", error ? error : "?");
	ck_assert_ptr_nonnull(rec);
	return rec;
}

static struct fg_record *parse_ok(const char *msg)
{
	return parse_mem(msg, strlen(msg));
}

/* record_valid - every string of the record is valid UTF-8 */
static void record_valid(const struct fg_record *rec)
{
	ck_assert(g_utf8_validate(rec->message_id, -1, NULL));
	ck_assert(g_utf8_validate(rec->subject, -1, NULL));
	ck_assert(g_utf8_validate(rec->title, -1, NULL));
	ck_assert(g_utf8_validate(rec->from_name, -1, NULL));
	ck_assert(g_utf8_validate(rec->from_email, -1, NULL));
	ck_assert(g_utf8_validate(rec->body, -1, NULL));
	ck_assert(g_utf8_validate(rec->reason, -1, NULL));
	ck_assert_ptr_nonnull(rec->date);
	ck_assert_uint_eq(strlen(rec->date), 20);
	ck_assert(*rec->title != '\0');
}

/*
 * Subjects
 */

START_TEST(test_subject_prefixes)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Hello", "Hello" },
		{ "Re: Hello", "Hello" },
		{ "RE: Re: re: Hello", "Hello" },
		{ "Fwd: Re: [forum] Re: Hello", "Hello" },
		{ "[forum] Re: Hello", "Hello" },
		{ "Re: [forum] Hello", "Hello" },
		{ "[forum] [announce] Hello", "Hello" },
		{ "FW: Fw: fwd: Hello", "Hello" },
		{ "AW: WG: Hallo Welt", "Hallo Welt" },
		{ "SV: VS: Hei", "Hei" },
		{ "Antw: Rif: Ref: R: Odp: Ciao", "Ciao" },
		{ "TR: RV: Enc: Bonjour", "Bonjour" },
		{ "Re[2]: Hello", "Hello" },
		{ "Re^3: Hello", "Hello" },
		{ "Re(4): Hello", "Hello" },
		{ "RE : Hello", "Hello" },
		{ "[Fwd: Hello world]", "Hello world" },
		{ "Fw: [Fwd: Re: Hello]", "Hello" },
		{ "Re: [forum] Fwd: [Fwd: AW: Hello ]", "Hello" },
		{ "  Hello \t  world  ", "Hello world" },
		{ "Hello\r\nBcc: x", "Hello Bcc: x" },
		{ "Re: Re: Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
		  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln" },
		{ "\xe5\x9b\x9e\xe5\xa4\x8d\xef\xbc\x9a\xe4\xbd\xa0\xe5\xa5\xbd",
		  "\xe4\xbd\xa0\xe5\xa5\xbd" },
		{ "Reunion plans", "Reunion plans" },
		{ "Refactoring: step 1", "Refactoring: step 1" },
		{ "Answer: 42", "Answer: 42" },
		{ "Re:Hello", "Hello" },
		{ "[forum]", "[forum]" },
		{ "Re: [forum]", "[forum]" },
		{ "Re:", "(no subject)" },
		{ "", "(no subject)" },
		{ "   ", "(no subject)" },
		{ "[unclosed tag Hello", "[unclosed tag Hello" },
		/* list managers' tags, wherever they stand */
		{ "[Forum] Re: x", "x" },
		{ "Re: [Forum] Re: x", "x" },
		{ "AW: [Forum] x", "x" },
		{ "AW: [Forum] AW: [Forum] x", "x" },
		{ "Re: [Forum] AW: [Forum] Re: x", "x" },
		{ "[Forum]Re:x", "x" },
		{ "RE: [forum-l] RE: x", "x" },
		{ "[Forum 123] Re: x", "x" },		/* Mailman's post_id */
		{ "Sv: [forum:42] x", "x" },		/* groups.io */
		{ "Re: [Forum] [Announce] x", "x" },
		{ "Re: [Forum] Fwd: x", "x" },
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		char *t = fg_subject_normalize(cases[i].in);
		ck_assert_msg(strcmp(t, cases[i].out) == 0,
			      "subject \"%s\" -> \"%s\", expected \"%s\"",
			      cases[i].in, t, cases[i].out);
		free(t);
	}
	char *t = fg_subject_normalize(NULL);
	ck_assert_str_eq(t, "(no subject)");
	free(t);
}
END_TEST

START_TEST(test_subject_long)
{
	/* thousands of prefixes and tags: linear, and all of them go */
	struct fg_buf b = { 0 };

	for (int i = 0; i < 20000; i++)
		fg_buf_puts(&b, i % 2 ? "Re: " : "[tag] ");
	fg_buf_puts(&b, "Title");
	char *t = fg_subject_normalize(b.s);
	ck_assert_str_eq(t, "Title");
	free(t);
	fg_buf_free(&b);
}
END_TEST

START_TEST(test_subject_encoded)
{
	struct fg_record *rec = parse_ok(
		"From: a@example.org\n"
		"Subject: Re: =?ISO-8859-1?Q?Gr=FC=DFe?= =?UTF-8?B?YXVzIEvDtmxu?=\n"
		"Message-ID: <enc1@example.org>\n"
		"\n"
		"body\n");
	ck_assert_str_eq(rec->subject, "Re: Gr\xc3\xbc\xc3\x9f" "eaus K\xc3\xb6ln");
	ck_assert_str_eq(rec->title, "Gr\xc3\xbc\xc3\x9f" "eaus K\xc3\xb6ln");
	fg_record_free(&rec);

	rec = parse_ok("From: a@example.org\n"
		       "Subject: =?UTF-8?Q?=5Bforum=5D_Re=3A_=E6=9D=B1=E4=BA=AC?=\n"
		       "Message-ID: <enc2@example.org>\n\nbody\n");
	ck_assert_str_eq(rec->title, "\xe6\x9d\xb1\xe4\xba\xac");
	fg_record_free(&rec);

	/* adjacent base64 words, the first one padded: GMime 3.2.13 alone
	   loses everything after the padding */
	rec = parse_ok("From: =?UTF-8?B?SsO2cmc=?=\n"
		       " =?UTF-8?B?IE3DvGxsZXI=?= <j@example.de>\n"
		       "Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IHdvcmxk?=\n"
		       "  and =?utf-8?q?more?=\n"
		       "Message-ID: <enc3@x>\n\nbody\n");
	ck_assert_str_eq(rec->subject, "Hello world and more");
	ck_assert_str_eq(rec->from_name, "J\xc3\xb6rg M\xc3\xbcller");
	ck_assert_str_eq(rec->from_email, "j@example.de");
	fg_record_free(&rec);

	/* a character split between two words; bytes that do not decode;
	   a charset nobody knows; text that only looks like a word */
	rec = parse_ok("From: x@example.org\n"
		       "Subject: =?UTF-8?Q?K=C3?= =?UTF-8?Q?=B6ln?= "
		       "=?UTF-8?Q?a=FFb?= =?x-unknown?Q?c=E9?= =?broken word\n"
		       "Message-ID: <enc4@x>\n\nbody\n");
	ck_assert_str_eq(rec->subject, "K\xc3\xb6ln" "a" UFFFD "bc" UFFFD
			 " =?broken word");
	fg_record_free(&rec);
}
END_TEST

/*
 * HTML
 */

static void html_is(const char *html, const char *expected)
{
	char *t = fg_html_to_text(html, strlen(html));
	ck_assert_msg(strcmp(t, expected) == 0,
		      "html \"%s\"\n-> \"%s\"\nexpected \"%s\"", html, t,
		      expected);
	ck_assert(g_utf8_validate(t, -1, NULL));
	free(t);
}

START_TEST(test_html)
{
	html_is("<html><head><title>T</title><style>p{x}</style></head>"
		"<body><p>Hello <b>world</b>&nbsp;&amp; friends</p>"
		"<p>Second<br>line</p></body></html>",
		"Hello **world** & friends\n\nSecond\nline");
	html_is("<div>a</div><div>b</div><div><br></div><div>c</div>",
		"a\nb\n\nc");
	html_is("<p>See <a href=\"https://example.com/x?a=1&amp;b=2\">the "
		"docs</a>, <a href='http://example.com/'>example.com</a>, "
		"<a href=\"mailto:x@y.z\">x@y.z</a>, "
		"<a href=\"javascript:alert(1)\">js</a></p>",
		"See [the docs](https://example.com/x?a=1&b=2), example.com, "
		"x@y.z, js");
	html_is("<a href=\"https://example.com/img\"><img src=x></a>",
		"https://example.com/img");
	html_is("<ul><li>one</li><li>two<ul><li>two.a</li></ul></li>"
		"<li>three</li></ul><ol start=3><li>c</li><li>d</li></ol>",
		"- one\n- two\n  - two.a\n- three\n\n3. c\n4. d");
	html_is("<blockquote>outer<blockquote>inner</blockquote>back"
		"</blockquote>after",
		"> outer\n>\n>> inner\n>\n> back\n\nafter");
	html_is("<pre>\ncode  line 1\n  indented\n</pre>text",
		"```\ncode  line 1\n  indented\n```\n\ntext");
	html_is("<h2>Title</h2><p>x &lt;y&gt; &#8364; &#x1F600; &#150; "
		"&#0; &bogus; a & b</p>",
		"## Title\n\nx <y> \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\x93 "
		UFFFD " &bogus; a & b");
	html_is("<!--[if mso]><p>MSO only</p><![endif]--><p>visible</p>"
		"<script>if (a<b) document.write('<p>x</p>')</script>"
		"<p>end</p>",
		"visible\n\nend");
	html_is("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td>"
		"<td>d</td></tr></table>", "a b\nc d");
	html_is("<p>unterminated <a href=\"http://x", "unterminated");
	html_is("<p>cut <!-- never closed", "cut");
	html_is("<img src=x alt=\"a picture\"> text <hr> after",
		"a picture text\n\n---\n\nafter");
	html_is("<div>On Mon, Jan 1, 2024 at 10:00 Bob &lt;bob@x.org&gt; "
		"wrote:<br></div><blockquote>quoted<br>more</blockquote>",
		"On Mon, Jan 1, 2024 at 10:00 Bob <bob@x.org> wrote:\n\n"
		"> quoted\n> more");
	html_is("", "");
	html_is("   \n\t ", "");
	html_is("a < b > c", "a < b > c");
}
END_TEST

START_TEST(test_html_hostile)
{
	/* deep nesting, endless attributes, stray markup: bounded */
	struct fg_buf b = { 0 };

	for (int i = 0; i < 50000; i++)
		fg_buf_puts(&b, "<blockquote><ul><li><a href=\"http://x/\">");
	fg_buf_puts(&b, "deep");
	for (int i = 0; i < 2000; i++)
		fg_buf_puts(&b, "<br>");
	fg_buf_puts(&b, "<p x='unterminated");
	char *t = fg_html_to_text(b.s, b.len);
	ck_assert(g_utf8_validate(t, -1, NULL));
	ck_assert(strlen(t) <= b.len * 4 + 65536);
	free(t);
	fg_buf_free(&b);

	static const char junk[] = "<<<>>><</><a <a href=>&#xffffffff;"
		"&#55296;&#x110000;<\x01\x02\x7f>\xc3";
	t = fg_html_to_text(junk, sizeof(junk) - 1);
	ck_assert_ptr_nonnull(t);
	free(t);

	static const char meta[] = "<meta http-equiv=\"Content-Type\" "
		"content=\"text/html; charset=iso-8859-2\">";
	char *cs = fg_html_sniff_charset(meta, sizeof(meta) - 1);
	ck_assert_str_eq(cs, "iso-8859-2");
	free(cs);
	cs = fg_html_sniff_charset("<META charset='Big5'>", 21);
	ck_assert_str_eq(cs, "Big5");
	free(cs);
	ck_assert_ptr_null(fg_html_sniff_charset("<p>no meta</p>", 14));
}
END_TEST

/*
 * Parsing
 */

START_TEST(test_parse_plain)
{
	struct fg_record *rec = parse_ok(
		"Return-Path: <alice@example.com>\n"
		"From: \"Alice Example\" <Alice@Example.COM>\n"
		"To: forum@lists.test\n"
		"Subject: [forum] Re: Postfix relay question\n"
		"Date: Tue, 14 Nov 2023 23:13:20 +0100\n"
		"Message-ID: <CAF00d=xyz@mail.example.com>\n"
		"In-Reply-To: <parent@example.net> (Bob's message)\n"
		"References: <root@example.net>\n"
		"  <middle@example.net> garbage\n"
		"\t<parent@example.net>\n"
		"List-Id: Forum list <forum.lists.test>\n"
		"Precedence: list\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"\n"
		"Hello list,\n"
		"\n"
		"relayhost = [smtp.example.com]:587\n"
		"\n"
		"-- \n"
		"Alice\n");

	record_valid(rec);
	ck_assert_str_eq(rec->message_id, "CAF00d=xyz@mail.example.com");
	ck_assert_str_eq(rec->in_reply_to, "parent@example.net");
	ck_assert_uint_eq(rec->n_references, 3);
	ck_assert_str_eq(rec->references[0], "root@example.net");
	ck_assert_str_eq(rec->references[1], "middle@example.net");
	ck_assert_str_eq(rec->references[2], "parent@example.net");
	ck_assert_str_eq(rec->subject, "[forum] Re: Postfix relay question");
	ck_assert_str_eq(rec->title, "Postfix relay question");
	ck_assert_str_eq(rec->from_name, "Alice Example");
	ck_assert_str_eq(rec->from_email, "Alice@example.com");
	ck_assert_str_eq(rec->date, "2023-11-14T22:13:20Z");
	ck_assert_str_eq(rec->list_id, "forum.lists.test");
	ck_assert_str_eq(rec->body, "Hello list,\n\n"
			 "relayhost = [smtp.example.com]:587");
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	ck_assert_str_eq(rec->reason, "list mail");
	fg_record_free(&rec);
	ck_assert_ptr_null(rec);
}
END_TEST

START_TEST(test_parse_encoded_from)
{
	struct fg_record *rec = parse_ok(
		"From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@Example.DE>\n"
		"Subject: x\nMessage-ID: <from1@example.de>\n\nbody\n");
	ck_assert_str_eq(rec->from_name, "J\xc3\xb6rg M\xc3\xbcller");
	ck_assert_str_eq(rec->from_email, "joerg@example.de");
	ck_assert_ptr_null(rec->list_id);
	ck_assert_ptr_null(rec->in_reply_to);
	ck_assert_uint_eq(rec->n_references, 0);
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_qp_latin1)
{
	struct fg_record *rec = parse_ok(
		"From: a@example.org\nSubject: qp\nMessage-ID: <qp@x>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"Gr=FC=DFe aus K=F6ln, =\n"
		"und mehr =E0 la carte=3D\n");
	ck_assert_str_eq(rec->body, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, "
			 "und mehr \xc3\xa0 la carte=");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_base64_charsets)
{
	struct fg_record *rec = parse_ok(
		"From: a@example.org\nSubject: cp1251\nMessage-ID: <b64a@x>\n"
		"Content-Type: text/plain; charset=windows-1251\n"
		"Content-Transfer-Encoding: base64\n\n"
		"z/Do4uXyLCDs6PAhIN3y7iDy5fHyLg==\n");
	ck_assert_str_eq(rec->body, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
			 "\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80! \xd0\xad\xd1\x82"
			 "\xd0\xbe \xd1\x82\xd0\xb5\xd1\x81\xd1\x82.");
	fg_record_free(&rec);

	rec = parse_ok("From: a@example.org\nSubject: big5\n"
		       "Message-ID: <b64b@x>\n"
		       "Content-Type: text/plain; charset=Big5\n"
		       "Content-Transfer-Encoding: base64\n\n"
		       "tv2hSafapFe5cbX4pEahSQ==\n");
	ck_assert_str_eq(rec->body, "\xe5\xaa\xbd\xef\xbc\x81\xe6\x88\x91"
			 "\xe4\xb8\x8a\xe9\x9b\xbb\xe8\xa6\x96\xe4\xba\x86"
			 "\xef\xbc\x81");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_bad_bytes)
{
	/* declared UTF-8, invalid bytes: each becomes U+FFFD */
	struct fg_record *rec = parse_ok(
		"From: a@example.org\nSubject: bad\nMessage-ID: <bad1@x>\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n\n"
		"caf\xc3 ok \xff\xfe end \xed\xa0\x80\n");
	ck_assert_str_eq(rec->body, "caf" UFFFD " ok " UFFFD UFFFD " end "
			 UFFFD UFFFD UFFFD);
	fg_record_free(&rec);

	/* a charset nobody knows: ASCII stays, the rest is U+FFFD */
	rec = parse_ok("From: a@example.org\nSubject: unknown\n"
		       "Message-ID: <bad2@x>\n"
		       "Content-Type: text/plain; charset=x-unknown-42\n\n"
		       "abc \xe9t\xe9\n");
	ck_assert_str_eq(rec->body, "abc " UFFFD "t" UFFFD);
	fg_record_free(&rec);

	/* no charset and 8-bit Latin-1: windows-1252 */
	rec = parse_ok("From: a@example.org\nSubject: none\n"
		       "Message-ID: <bad3@x>\n\n"
		       "caf\xe9 \x80 \x93quoted\x94\n");
	ck_assert_str_eq(rec->body, "caf\xc3\xa9 \xe2\x82\xac "
			 "\xe2\x80\x9cquoted\xe2\x80\x9d");
	fg_record_free(&rec);

	/* iso-8859-1 declared, undefined in windows-1252 is fine here;
	   a charset with holes (windows-1252 0x81) becomes U+FFFD */
	rec = parse_ok("From: a@example.org\nSubject: hole\n"
		       "Message-ID: <bad4@x>\n"
		       "Content-Type: text/plain; charset=windows-1252\n\n"
		       "a\x81z\n");
	ck_assert_str_eq(rec->body, "a" UFFFD "z");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_html_only)
{
	struct fg_record *rec = parse_ok(
		"From: a@example.org\nSubject: html\nMessage-ID: <html1@x>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/html; charset=\"utf-8\"\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"<html><head><style>p {color: red}</style></head><body>=\n"
		"<p>Hello <b>there</b></p><p>Visit <a href=3D\"https://exampl=\n"
		"e.org/docs\">our docs</a></p></body></html>\n");
	ck_assert_str_eq(rec->body, "Hello **there**\n\n"
			 "Visit [our docs](https://example.org/docs)");
	fg_record_free(&rec);

	/* no charset parameter: the <meta> one */
	rec = parse_ok("From: a@example.org\nSubject: html\n"
		       "Message-ID: <html2@x>\n"
		       "Content-Type: text/html\n\n"
		       "<meta charset=\"iso-8859-2\"><p>\xb1\xe6</p>\n");
	ck_assert_str_eq(rec->body, "\xc4\x85\xc4\x87");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_alternative)
{
	static const char *const msg =
		"From: a@example.org\nSubject: alt\nMessage-ID: <alt1@x>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/alternative; boundary=\"XX\"\n\n"
		"preamble\n"
		"--XX\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"%s\n"
		"--XX\n"
		"Content-Type: text/html; charset=utf-8\n\n"
		"<p>The <i>HTML</i> part</p>\n"
		"--XX--\n";
	char *m = fg_xasprintf(msg, "The plain part");
	struct fg_record *rec = parse_ok(m);
	ck_assert_str_eq(rec->body, "The plain part");
	fg_record_free(&rec);
	free(m);

	/* an empty text/plain is no reason to lose the HTML */
	m = fg_xasprintf(msg, " \n\n ");
	rec = parse_ok(m);
	ck_assert_str_eq(rec->body, "The *HTML* part");
	fg_record_free(&rec);
	free(m);

	/* mixed: attachment text is not the body */
	rec = parse_ok(
		"From: a@example.org\nSubject: mixed\nMessage-ID: <mix@x>\n"
		"Content-Type: multipart/mixed; boundary=\"B1\"\n\n"
		"--B1\n"
		"Content-Type: text/plain; name=\"log.txt\"\n"
		"Content-Disposition: attachment; filename=\"log.txt\"\n\n"
		"attached log\n"
		"--B1\n"
		"Content-Type: multipart/alternative; boundary=\"B2\"\n\n"
		"--B2\n"
		"Content-Type: text/plain\n\n"
		"inner body\n"
		"--B2--\n"
		"--B1--\n");
	ck_assert_str_eq(rec->body, "inner body");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_flowed)
{
	struct fg_record *rec = parse_ok(
		"From: a@example.org\nSubject: flowed\nMessage-ID: <fl1@x>\n"
		"Content-Type: text/plain; charset=utf-8; format=flowed\n\n"
		"This is a long \n"
		"line that was \n"
		"wrapped.\n"
		" From the start, stuffed.\n"
		"\n"
		"> quoted \n"
		"> flowed\n"
		">> deeper \n"
		"> joins not\n"
		"-- \n"
		"sig\n");
	ck_assert_str_eq(rec->body,
			 "This is a long line that was wrapped.\n"
			 "From the start, stuffed.\n\n"
			 "> quoted flowed\n"
			 ">> deeper \n"
			 "> joins not");
	fg_record_free(&rec);

	rec = parse_ok("From: a@example.org\nSubject: delsp\n"
		       "Message-ID: <fl2@x>\n"
		       "Content-Type: text/plain; format=flowed; delsp=yes\n\n"
		       "\xe6\x9d\xb1 \n\xe4\xba\xac \nend\n");
	ck_assert_str_eq(rec->body, "\xe6\x9d\xb1\xe4\xba\xac" "end");
	fg_record_free(&rec);

	char *t = fg_mail_unflow("a \nb\n", false);
	ck_assert_str_eq(t, "a b\n");
	free(t);
	t = fg_mail_unflow("a \n", true);
	ck_assert_str_eq(t, "a\n");
	free(t);
}
END_TEST

static void trim_is(const char *in, const char *expected)
{
	char *t = fg_mail_trim_body(in);
	ck_assert_msg(strcmp(t, expected) == 0,
		      "trim \"%s\"\n-> \"%s\"\nexpected \"%s\"", in, t,
		      expected);
	free(t);
}

START_TEST(test_trim)
{
	trim_is("Body\n\n-- \nAlice\nexample.org\n", "Body");
	trim_is("Body\n--\nAlice\n", "Body");
	trim_is("Reply\n\nOn Mon, 1 Jan 2024, Bob wrote:\n> old\n>\n> text\n",
		"Reply");
	trim_is("Reply\n\nOn Mon, 1 Jan 2024 at 10:00, Bob Example <\n"
		"bob@example.com> wrote:\n\n> x\n", "Reply");
	trim_is("Reply\n-- \nsig\n\nOn Mon, Bob wrote:\n> q\n", "Reply");
	trim_is("Antwort\n\nAm 1. Januar 2024 um 10:00 schrieb Bob "
		"<bob@example.org>:\n> q\n", "Antwort");
	trim_is("R\xc3\xa9ponse\n\nLe 1 janv. 2024 \xc3\xa0 10:00, Bob a "
		"\xc3\xa9" "crit :\n> q\n", "R\xc3\xa9ponse");
	trim_is("Keep\n\nOn the other hand, wrote:\nnot quoted\n",
		"Keep\n\nOn the other hand, wrote:\nnot quoted");
	trim_is("Reply\n\n> On Nov 28, 2014, Bob wrote:\n> \n> q\n", "Reply");
	/* bottom-posting: the quote above the answer goes */
	trim_is("On Mon, Bob wrote:\n> q\n\nmy answer\n", "my answer");
	/* without attribution, the quote stays */
	trim_is("> q\n\nmy answer\n", "> q\n\nmy answer");
	/* a quote without attribution stays, a block of its own */
	trim_is("Reply\n> not introduced\n", "Reply\n\n> not introduced");
	/* nothing left: the whole text stays */
	trim_is("On Mon, Bob wrote:\n> only quote\n",
		"On Mon, Bob wrote:\n> only quote");
	/* a "-- " far from the end is content, not a signature */
	struct fg_buf b = { 0 };
	fg_buf_puts(&b, "top\n-- \n");
	for (int i = 0; i < 30; i++)
		fg_buf_puts(&b, "line\n");
	char *t = fg_mail_trim_body(b.s);
	ck_assert(strncmp(t, "top\n-- \nline", 12) == 0);
	free(t);
	fg_buf_free(&b);
	trim_is("\n\n  \nText  \n\n", "Text  ");
	trim_is("", "");
}
END_TEST

START_TEST(test_parse_synthetic_id)
{
	static const char msg[] =
		"From: Foo Bar <foo@bar.com>\n"
		"Date: Fri, 15 Jan 2016 00:12:43 +0100\n"
		"Subject: no id\n"
		"\n"
		"Same body\r\n";
	struct fg_record *a = parse_ok(msg), *b = parse_ok(msg), *c;

	ck_assert(strncmp(a->message_id, "fg-synth.", 9) == 0);
	ck_assert_uint_eq(strlen(a->message_id),
			  9 + 24 + 1 + strlen(DOMAIN));
	ck_assert_str_eq(a->message_id + 9 + 24, "@" DOMAIN);
	ck_assert_str_eq(a->message_id, b->message_id);
	ck_assert_int_eq(a->classification, FG_CLASS_POST);

	/* a hop that adds a header or turns LF into CRLF changes nothing */
	char *m2 = fg_xasprintf("Received: from x by y; Fri, 15 Jan 2016\r\n"
				"From: Foo Bar <foo@bar.com>\r\n"
				"Date: Fri, 15 Jan 2016 00:12:43 +0100\r\n"
				"Subject: no id\r\n\r\nSame body\r\n\r\n");
	c = parse_ok(m2);
	ck_assert_str_eq(a->message_id, c->message_id);
	fg_record_free(&c);
	free(m2);

	c = parse_ok("From: Foo Bar <foo@bar.com>\n"
		     "Date: Fri, 15 Jan 2016 00:12:43 +0100\n"
		     "Subject: no id\n\nOther body\n");
	ck_assert_str_ne(a->message_id, c->message_id);
	fg_record_free(&c);

	/* an ID with a space is no ID */
	c = parse_ok("From: x@y.z\nMessage-ID: <not valid@x>\n\nb\n");
	ck_assert(strncmp(c->message_id, "fg-synth.", 9) == 0);
	fg_record_free(&c);
	c = parse_ok("From: x@y.z\nMessage-ID: bare@example.org\n\nb\n");
	ck_assert_str_eq(c->message_id, "bare@example.org");
	fg_record_free(&c);

	fg_record_free(&a);
	fg_record_free(&b);
}
END_TEST

START_TEST(test_parse_no_from_no_date)
{
	time_t now = time(NULL);
	struct tm tm;
	char expect[32];

	struct fg_record *rec = parse_ok(
		"To: meat@bar.com\nMessage-ID: <40@foo.bar.mail>\n"
		"Subject: Nobody sent this\n\nNo From here.\n");
	record_valid(rec);
	ck_assert_str_eq(rec->from_email, "");
	ck_assert_str_eq(rec->from_name, "");
	ck_assert_str_eq(rec->body, "No From here.");
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	/* no Date: the time of parsing */
	gmtime_r(&now, &tm);
	strftime(expect, sizeof(expect), "%Y-%m-%dT%H:", &tm);
	ck_assert(strncmp(rec->date, expect, strlen(expect)) == 0 ||
		  time(NULL) - now > 0);
	fg_record_free(&rec);

	rec = parse_ok("From: a@b.c\nDate: not a date at all\n"
		       "Message-ID: <d@x>\n\nb\n");
	ck_assert_uint_eq(strlen(rec->date), 20);
	ck_assert(rec->date[4] == '-' && rec->date[19] == 'Z');
	ck_assert(strncmp(rec->date, "1970", 4) != 0);
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_own)
{
	char *id = fg_msgid_make(SECRET, "forum", 12, 3, DOMAIN);
	char *m = fg_xasprintf("From: \"Alice via Forum\" <bridge@lists.test>\n"
			       "Subject: Re: x\nMessage-ID: <%s>\n"
			       "Auto-Submitted: auto-generated\n\nbody\n", id);
	struct fg_record *rec = parse_ok(m);

	ck_assert_str_eq(rec->message_id, id);
	ck_assert_int_eq(rec->classification, FG_CLASS_OWN);
	ck_assert_str_eq(rec->reason, "Message-ID is one the bridge sent");
	fg_record_free(&rec);
	free(m);
	free(id);

	/* the same form with another secret's MAC is not ours */
	id = fg_msgid_make("other-secret", "forum", 12, 3, DOMAIN);
	m = fg_xasprintf("From: x@y.z\nMessage-ID: <%s>\n\nbody\n", id);
	rec = parse_ok(m);
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	fg_record_free(&rec);
	free(m);
	free(id);

	/* a post named by its id (NodeBB) is ours as well */
	id = fg_msgid_make_post(SECRET, "forum", 12, 345, 0, DOMAIN);
	m = fg_xasprintf("From: x@y.z\nMessage-ID: <%s>\n\nbody\n", id);
	rec = parse_ok(m);
	ck_assert_int_eq(rec->classification, FG_CLASS_OWN);
	fg_record_free(&rec);
	free(m);
	free(id);
}
END_TEST

/* classify - classification of a message with extra headers */
static enum fg_class classify(const char *headers, const char *subject,
			      char **reason_r)
{
	char *m = fg_xasprintf("From: Someone <someone@example.org>\n"
			       "Message-ID: <cls@example.org>\n"
			       "Subject: %s\n%s\nbody text\n", subject, headers);
	struct fg_record *rec = parse_ok(m);
	enum fg_class class = rec->classification;

	if (reason_r != NULL)
		*reason_r = fg_xstrdup(rec->reason);
	fg_record_free(&rec);
	free(m);
	return class;
}

START_TEST(test_parse_auto_reply)
{
	/* Header sets as the common auto-responders send them. */
	static const char *const exchange =
		"Auto-Submitted: auto-generated\n"
		"X-Auto-Response-Suppress: All\n"
		"X-MS-Exchange-Inbox-Rules-Loop: jane@example.org\n"
		"Thread-Topic: Meeting\n";
	static const struct {
		const char *headers, *subject;
		enum fg_class class;
	} cases[] = {
		/* member posts whose subjects only look like notices */
		{ "", "Out of office coverage plan", FG_CLASS_POST },
		{ "", "Away from the desk tomorrow", FG_CLASS_POST },
		{ "", "Auto: new build", FG_CLASS_POST },
		{ "Precedence: list\nList-Id: <forum.lists.test>\n",
		  "[forum] Out of office coverage plan", FG_CLASS_POST },
		{ "Precedence: list\nList-Id: <forum.lists.test>\n",
		  "[forum] Away from the desk tomorrow", FG_CLASS_POST },
		{ "Precedence: list\nList-Id: <forum.lists.test>\n",
		  "[forum] Auto: new build", FG_CLASS_POST },
		{ "", "Automatic reply: Meeting", FG_CLASS_POST },
		{ "", "Out of Office: who covers support in August?",
		  FG_CLASS_POST },
		{ "", "Autoreply rules in Sieve", FG_CLASS_POST },
		{ "", "Re: Out of Office replies to the list", FG_CLASS_POST },
		/* notification senders ask for no auto-reply */
		{ "X-Auto-Response-Suppress: All\n", "Pipeline failed",
		  FG_CLASS_POST },
		{ "X-Auto-Response-Suppress: DR, RN\n", "Automatic reply: x",
		  FG_CLASS_POST },
		/* headers that say it alone */
		{ "Auto-Submitted: auto-replied\n", "Re: x", FG_CLASS_AUTO_REPLY },
		{ "Auto-Submitted: Auto-Generated (vacation)\n", "x",
		  FG_CLASS_AUTO_REPLY },
		{ "Auto-Submitted: no\n", "x", FG_CLASS_POST },
		{ "X-Autoreply: yes\n", "x", FG_CLASS_AUTO_REPLY },
		{ "X-Autorespond: x\n", "x", FG_CLASS_AUTO_REPLY },
		{ "Precedence: junk\n", "x", FG_CLASS_AUTO_REPLY },
		{ "Precedence: auto_reply\n", "x", FG_CLASS_AUTO_REPLY },
		{ "Precedence: bulk\n", "x", FG_CLASS_POST },
		{ "Precedence: list\nList-Id: <forum.lists.test>\n", "x",
		  FG_CLASS_POST },
		{ "Return-Path: <>\n", "Re: x", FG_CLASS_AUTO_REPLY },
		{ "Return-Path: < >\n", "Re: x", FG_CLASS_AUTO_REPLY },
		/* Outlook/Exchange 2010 and later */
		{ exchange, "Automatic reply: Meeting", FG_CLASS_AUTO_REPLY },
		/* Gmail vacation responder */
		{ "Auto-Submitted: auto-replied\n", "Out of office coverage plan",
		  FG_CLASS_AUTO_REPLY },
		/* Thunderbird, Zimbra, Sieve vacation (Pigeonhole) */
		{ "Auto-Submitted: auto-replied (zimbra; vacation)\n",
		  "Abwesenheitsnotiz: Meeting", FG_CLASS_AUTO_REPLY },
		{ "Auto-Submitted: auto-replied (vacation)\n"
		  "Precedence: bulk\n", "Away from the desk tomorrow",
		  FG_CLASS_AUTO_REPLY },
		/* vacation(1) */
		{ "Precedence: junk\n", "away from my mail", FG_CLASS_AUTO_REPLY },
		/* an older Exchange: no Auto-Submitted; subject + suppress */
		{ "X-Auto-Response-Suppress: All\n", "Out of Office: Meeting",
		  FG_CLASS_AUTO_REPLY },
		{ "X-Auto-Response-Suppress: All\n",
		  "Out of Office AutoReply: Meeting", FG_CLASS_AUTO_REPLY },
		{ "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\n",
		  "[forum] Automatic reply: [forum] Meeting",
		  FG_CLASS_AUTO_REPLY },
		{ "X-Auto-Response-Suppress: OOF\n",
		  "R\xc3\xa9ponse automatique\xc2\xa0: Absent",
		  FG_CLASS_AUTO_REPLY },
		{ "X-Auto-Response-Suppress: oof\n",
		  "\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d\xef\xbc\x9a x",
		  FG_CLASS_AUTO_REPLY },
		/* the subject must have the exact form, even then */
		{ "X-Auto-Response-Suppress: All\n",
		  "Out of office coverage plan", FG_CLASS_POST },
		{ "X-Auto-Response-Suppress: All\n",
		  "Away from the desk tomorrow", FG_CLASS_POST },
	};
	char *reason;

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		enum fg_class c = classify(cases[i].headers, cases[i].subject,
					   &reason);
		ck_assert_msg(c == cases[i].class,
			      "case %zu (%s / %s): %s (%s)", i,
			      cases[i].headers, cases[i].subject,
			      fg_class_name(c), reason);
		free(reason);
	}
	ck_assert_int_eq(classify("Auto-Submitted: auto-replied\n", "x",
				  &reason), FG_CLASS_AUTO_REPLY);
	ck_assert_str_eq(reason, "Auto-Submitted: auto-replied");
	free(reason);
	ck_assert_int_eq(classify("X-Auto-Response-Suppress: All\n",
				  "Automatic reply: Meeting", &reason),
			 FG_CLASS_AUTO_REPLY);
	ck_assert_str_eq(reason, "subject begins \"Automatic reply:\" and "
			 "X-Auto-Response-Suppress has all");
	free(reason);
}
END_TEST

START_TEST(test_classify_auto_subject)
{
	static const struct {
		const char *subject, *prefix;
	} cases[] = {
		{ "Out of office coverage plan", NULL },
		{ "Away from the desk tomorrow", NULL },
		{ "Auto: new build", "Auto" },
		{ "Automatic reply: x", "Automatic reply" },
		{ "AUTOMATIC REPLY : x", "Automatic reply" },
		{ "Automatic reply x", NULL },
		{ "Re: Automatic reply: x", NULL },
		{ "Out of Office: x", "Out of Office" },
		{ "Out of Office AutoReply: x", "Out of Office AutoReply" },
		{ "Autoreply: x", "Autoreply" },
		{ "Autoreply rules in Sieve", NULL },
		{ "Abwesenheitsnotiz: x", "Abwesenheitsnotiz" },
		{ "R\xc3\xa9ponse automatique : x", "R\xc3\xa9ponse automatique" },
		{ "[forum] [x] Autosvar: x", "Autosvar" },
		{ "Vacation plans", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		const char *p = fg_classify_auto_subject(cases[i].subject);

		if (cases[i].prefix == NULL)
			ck_assert_msg(p == NULL, "%s: %s", cases[i].subject, p);
		else
			ck_assert_msg(p != NULL &&
				      strcmp(p, cases[i].prefix) == 0,
				      "%s: %s", cases[i].subject,
				      p != NULL ? p : "(none)");
	}
}
END_TEST

START_TEST(test_not_posted_reasons)
{
	unsigned int mask;
	const char *error;

	ck_assert_str_eq(fg_not_posted_name(FG_NOT_POSTED_AUTO_REPLY),
			 "auto-reply");
	ck_assert_str_eq(fg_not_posted_name(FG_NOT_POSTED_BAD_VERP),
			 "bad-verp");
	ck_assert_int_eq(fg_not_posted_of_class(FG_CLASS_OWN),
			 FG_NOT_POSTED_OWN);
	ck_assert_int_eq(fg_not_posted_of_class(FG_CLASS_BOUNCE),
			 FG_NOT_POSTED_BOUNCE);
	ck_assert_int_eq(fg_not_posted_mask("", &mask, &error), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(fg_not_posted_mask(" own, auto-reply duplicate,",
					    &mask, &error), 0);
	ck_assert_uint_eq(mask, (1U << FG_NOT_POSTED_OWN) |
			  (1U << FG_NOT_POSTED_AUTO_REPLY) |
			  (1U << FG_NOT_POSTED_DUPLICATE));
	ck_assert_int_eq(fg_not_posted_mask("own,autoreply", &mask, &error),
			 -1);
	ck_assert_ptr_nonnull(strstr(error, "'autoreply'"));
}
END_TEST

START_TEST(test_parse_bounce)
{
	struct fg_record *rec = parse_ok(
		"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
		"Subject: Undelivered Mail Returned to Sender\n"
		"Message-ID: <dsn1@mx.example.org>\n"
		"Auto-Submitted: auto-replied\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=delivery-status;\n"
		"    boundary=\"DSN\"\n\n"
		"--DSN\n"
		"Content-Type: text/plain\n\n"
		"Your message could not be delivered.\n"
		"--DSN\n"
		"Content-Type: message/delivery-status\n\n"
		"Reporting-MTA: dns; mx.example.org\n\n"
		"Final-Recipient: rfc822; gone@example.org\n"
		"Action: failed\nStatus: 5.1.1\n"
		"--DSN\n"
		"Content-Type: message/rfc822\n\n"
		"From: forum@lists.test\nSubject: x\n\noriginal\n"
		"--DSN--\n");
	ck_assert_int_eq(rec->classification, FG_CLASS_BOUNCE);
	ck_assert_str_eq(rec->reason,
			 "multipart/report; report-type=delivery-status");
	ck_assert_str_eq(rec->body, "Your message could not be delivered.");
	fg_record_free(&rec);

	char *reason;
	ck_assert_int_eq(classify("", "failure notice", NULL), FG_CLASS_POST);
	rec = parse_ok("Return-Path: <>\nFrom: qmail@mx.example.org\n"
		       "Subject: failure notice\nMessage-ID: <dsn2@x>\n\n"
		       "Hi. This is the qmail-send program.\n");
	ck_assert_int_eq(rec->classification, FG_CLASS_BOUNCE);
	fg_record_free(&rec);
	rec = parse_ok("From: postmaster@example.org\n"
		       "Subject: Delivery Status Notification (Failure)\n"
		       "Message-ID: <dsn3@x>\n\ntext\n");
	ck_assert_int_eq(rec->classification, FG_CLASS_BOUNCE);
	fg_record_free(&rec);
	/* a postmaster address is a daemon's, whatever the subject */
	rec = parse_ok("From: postmaster@example.org\n"
		       "Subject: Maintenance on Sunday\n"
		       "Message-ID: <pm@x>\n\ntext\n");
	ck_assert_int_eq(rec->classification, FG_CLASS_AUTO_REPLY);
	fg_record_free(&rec);
	/* a read receipt is an automatic reply */
	ck_assert_int_eq(classify("Content-Type: multipart/report; "
				  "report-type=disposition-notification; "
				  "boundary=\"R\"\n", "Read: x", &reason),
			 FG_CLASS_AUTO_REPLY);
	free(reason);
}
END_TEST

START_TEST(test_parse_limits)
{
	struct fg_parse_settings set = {
		.secret = SECRET, .mail_domain = DOMAIN, .max_size = 100
	};
	struct fg_record *rec = NULL;
	const char *error = NULL;
	char big[200];

	memset(big, 'a', sizeof(big));
	memcpy(big, "From: a@b.c\n\n", 13);
	ck_assert_int_eq(fg_mail_parse(big, sizeof(big), &set, &rec, &error),
			 -1);
	ck_assert_ptr_null(rec);
	ck_assert_ptr_nonnull(strstr(error, "too large"));
	ck_assert_int_eq(fg_mail_parse(big, 100, &set, &rec, &error), 0);
	fg_record_free(&rec);

	ck_assert_int_eq(fg_mail_parse("", 0, &test_set, &rec, &error), -1);
	ck_assert_ptr_null(rec);
	ck_assert_int_eq(fg_mail_parse("\n\r\n", 3, &test_set, &rec, &error),
			 -1);
}
END_TEST

START_TEST(test_parse_envelope_lines)
{
	/* a leading blank line (seen in real fixtures) and an mbox From_ */
	struct fg_record *rec = parse_ok(
		"\nFrom sender@example.org Mon Jan  1 00:00:00 2024\n"
		"From: Sender <sender@example.org>\n"
		"Subject: mbox\nMessage-ID: <mbox@x>\n\ntext\n");
	ck_assert_str_eq(rec->from_email, "sender@example.org");
	ck_assert_str_eq(rec->subject, "mbox");
	ck_assert_str_eq(rec->body, "text");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_nul_bytes)
{
	static const char msg[] =
		"From: N\0ul <nul@example.org>\n"
		"Subject: nul\0 in subject\n"
		"Message-ID: <nul@x>\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"before\0after\n\0\0\n";
	struct fg_record *rec = parse_mem(msg, sizeof(msg) - 1);

	record_valid(rec);
	ck_assert_ptr_nonnull(strstr(rec->body, "before" UFFFD "after"));
	fg_record_free(&rec);

	static const char b64[] =
		"From: a@b.c\nMessage-ID: <b64bad@x>\n"
		"Content-Transfer-Encoding: base64\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"SGVsbG8gd29ybGQ!!!$$$%%%\0\xff===\nQUJD\n=Q=\n";
	rec = parse_mem(b64, sizeof(b64) - 1);
	record_valid(rec);
	ck_assert(strncmp(rec->body, "Hello world", 11) == 0);
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_parse_nested)
{
	struct fg_buf b = { 0 };
	const int depth = 200;

	fg_buf_puts(&b, "From: a@b.c\nSubject: nested\nMessage-ID: <n@x>\n"
		    "MIME-Version: 1.0\n");
	for (int i = 0; i < depth; i++)
		fg_buf_printf(&b, "Content-Type: multipart/mixed; "
			      "boundary=\"b%d\"\n\n--b%d\n", i, i);
	fg_buf_puts(&b, "Content-Type: text/plain\n\ndeep text\n");
	for (int i = depth - 1; i >= 0; i--)
		fg_buf_printf(&b, "--b%d--\n", i);
	struct fg_record *rec = parse_mem(b.s, b.len);
	record_valid(rec);
	/* too deep to be followed: no body, but a record */
	ck_assert_str_eq(rec->body, "");
	fg_record_free(&rec);
	fg_buf_free(&b);

	/* shallow nesting is followed */
	fg_buf_puts(&b, "From: a@b.c\nMessage-ID: <n2@x>\n");
	for (int i = 0; i < 10; i++)
		fg_buf_printf(&b, "Content-Type: multipart/mixed; "
			      "boundary=\"b%d\"\n\n--b%d\n", i, i);
	fg_buf_puts(&b, "Content-Type: text/plain\n\ndeep text\n");
	for (int i = 9; i >= 0; i--)
		fg_buf_printf(&b, "--b%d--\n", i);
	rec = parse_mem(b.s, b.len);
	ck_assert_str_eq(rec->body, "deep text");
	fg_record_free(&rec);
	fg_buf_free(&b);

	/* more parts than are walked */
	fg_buf_puts(&b, "From: a@b.c\nMessage-ID: <n3@x>\n"
		    "Content-Type: multipart/mixed; boundary=\"P\"\n\n");
	for (int i = 0; i < 150; i++)
		fg_buf_puts(&b, "--P\nContent-Type: application/octet-stream"
			    "\n\nxx\n");
	fg_buf_puts(&b, "--P\nContent-Type: text/plain\n\nlate text\n--P--\n");
	rec = parse_mem(b.s, b.len);
	ck_assert_str_eq(rec->body, "");
	fg_record_free(&rec);
	fg_buf_free(&b);
}
END_TEST

START_TEST(test_parse_huge_header)
{
	struct fg_buf b = { 0 };
	size_t mb = 1024 * 1024;
	char *line = fg_xmalloc(mb + 1);

	memset(line, 'x', mb);
	line[mb] = '\0';
	fg_buf_puts(&b, "From: a@b.c\nMessage-ID: <huge@x>\nX-Long: ");
	fg_buf_puts(&b, line);
	fg_buf_puts(&b, "\nSubject: Re: ");
	fg_buf_puts(&b, line);
	fg_buf_puts(&b, "\nReferences:");
	for (int i = 0; i < 5000; i++)
		fg_buf_printf(&b, " <r%d@x>", i);
	fg_buf_puts(&b, "\n\nbody\n");
	struct fg_record *rec = parse_mem(b.s, b.len);
	record_valid(rec);
	ck_assert_uint_eq(strlen(rec->title), mb);
	ck_assert_uint_eq(rec->n_references, FG_MAIL_MAX_REFERENCES);
	ck_assert_str_eq(rec->references[0], "r4950@x");
	ck_assert_str_eq(rec->references[FG_MAIL_MAX_REFERENCES - 1],
			 "r4999@x");
	ck_assert_str_eq(rec->body, "body");
	fg_record_free(&rec);
	fg_buf_free(&b);
	free(line);
}
END_TEST

START_TEST(test_parse_costly)
{
	/* each case takes GMime minutes or gigabytes when undefended; the
	   test case's timeout catches a regression */
	struct fg_buf b = { 0 };
	struct fg_record *rec;

	fg_buf_puts(&b, "From: a@b.c\nMessage-ID: <cost1@x>\nSubject: Re: ");
	for (int i = 0; i < 50000; i++)
		fg_buf_puts(&b, "=?a?b?x");
	fg_buf_puts(&b, "\nTo: ");
	for (int i = 0; i < 50000; i++)
		fg_buf_puts(&b, "=?utf-8?q?y");
	fg_buf_puts(&b, " <t@x>\n\nbody\n");
	rec = parse_mem(b.s, b.len);
	record_valid(rec);
	ck_assert_str_eq(rec->body, "body");
	fg_record_free(&rec);
	fg_buf_free(&b);

	/* a few unclosed "=?" are left alone */
	rec = parse_ok("From: a@b.c\nMessage-ID: <cost2@x>\n"
		       "Subject: what is 2+2=? and 3=?\n\nb\n");
	ck_assert_str_eq(rec->subject, "what is 2+2=? and 3=?");
	fg_record_free(&rec);

	/* 200000 empty parts after the text part */
	fg_buf_puts(&b, "From: a@b.c\nMessage-ID: <cost3@x>\n"
		    "Content-Type: multipart/mixed; boundary=\"=_x\"\n\n"
		    "--=_x\nContent-Type: text/plain\n\nfirst\n");
	for (int i = 0; i < 200000; i++)
		fg_buf_puts(&b, "--=_x\n\n");
	rec = parse_mem(b.s, b.len);
	ck_assert_str_eq(rec->body, "first");
	fg_record_free(&rec);
	fg_buf_free(&b);
}
END_TEST

/*
 * Compose
 */

/* header_block_end - offset of the blank line that ends the header */
static size_t header_block_end(const char *mail)
{
	const char *p = strstr(mail, "\r\n\r\n");
	ck_assert_ptr_nonnull(p);
	return (size_t)(p - mail) + 2;
}

/* header_names - the field names of the header, in order, joined by
   spaces */
static char *header_names(const char *mail)
{
	size_t end = header_block_end(mail);
	struct fg_buf out = { 0 };

	for (size_t i = 0; i < end;) {
		const char *eol = strstr(mail + i, "\r\n");
		if (mail[i] != ' ' && mail[i] != '\t') {
			const char *colon = memchr(mail + i, ':',
						   (size_t)(eol - mail - i));
			ck_assert_ptr_nonnull(colon);
			if (out.len > 0)
				fg_buf_putc(&out, ' ');
			fg_buf_append(&out, mail + i,
				      (size_t)(colon - mail - i));
		}
		i = (size_t)(eol - mail) + 2;
	}
	return fg_buf_steal(&out);
}

/* header_value - unfolded value of the first field called name */
static char *header_value(const char *mail, const char *name)
{
	size_t end = header_block_end(mail), nlen = strlen(name);
	struct fg_buf out = { 0 };
	bool found = false;

	for (size_t i = 0; i < end;) {
		const char *eol = strstr(mail + i, "\r\n");
		bool cont = mail[i] == ' ' || mail[i] == '\t';

		if (found && !cont)
			break;
		if (found)
			fg_buf_append(&out, mail + i, (size_t)(eol - mail - i));
		else if (!cont && strncasecmp(mail + i, name, nlen) == 0 &&
			 mail[i + nlen] == ':') {
			found = true;
			size_t v = i + nlen + 1;
			while (mail[v] == ' ')
				v++;
			fg_buf_append(&out, mail + v, (size_t)(eol - mail - v));
		}
		i = (size_t)(eol - mail) + 2;
	}
	if (!found)
		return NULL;
	/* folding white space: a tab continuation reads as one space */
	for (size_t i = 0; i < out.len; i++) {
		if (out.s[i] == '\t')
			out.s[i] = ' ';
	}
	return fg_buf_steal(&out);
}

/* assert_crlf - CR LF line ends only, lines within SMTP's limit
   (checked byte by byte without an assertion per byte: in fork mode
   every ck_assert writes to a pipe) */
static void assert_crlf(const char *mail, size_t size)
{
	size_t line = 0;

	ck_assert_uint_eq(strlen(mail), size);
	for (size_t i = 0; i < size; i++) {
		if (mail[i] == '\n') {
			if (i == 0 || mail[i - 1] != '\r')
				ck_abort_msg("bare LF at %zu", i);
			line = 0;
		} else if (mail[i] == '\r') {
			if (mail[i + 1] != '\n')
				ck_abort_msg("bare CR at %zu", i);
		} else if (++line > 998) {
			ck_abort_msg("line too long at %zu", i);
		}
	}
}

/* assert_header_ascii - no 8-bit byte in the header */
static void assert_header_ascii(const char *mail)
{
	size_t end = header_block_end(mail);

	for (size_t i = 0; i < end; i++) {
		if ((unsigned char)mail[i] >= 0x80)
			ck_abort_msg("8-bit header byte at %zu", i);
	}
}

struct compose_fixture {
	struct fg_post post;
	struct fg_compose c;
	char *message_id;
};

static void fixture_init(struct compose_fixture *f, long long post_number)
{
	memset(f, 0, sizeof(*f));
	f->post.post_id = 4711;
	f->post.topic_id = 12;
	f->post.post_number = post_number;
	f->post.username = "alice";
	f->post.name = "Alice Example";
	f->post.topic_title = "Hello world";
	f->post.raw = "Hello **list**\n\nSecond paragraph.";
	f->message_id = fg_msgid_make(SECRET, "forum", 12, post_number,
				      DOMAIN);
	f->c.post = &f->post;
	f->c.list_address = "forum@lists.test";
	f->c.list_name = "forum";
	f->c.mail_domain = DOMAIN;
	f->c.from_address = "bridge@lists.test";
	f->c.name_suffix = "via Forum";
	f->c.message_id = f->message_id;
	f->c.topic_url = "https://forum.example/t/hello-world/12";
	f->c.date = 1700000000;
}

static char *compose_ok(const struct fg_compose *c, size_t *size_r)
{
	char *data = NULL;
	size_t size = 0;
	const char *error = NULL;

	ck_assert_msg(fg_compose_mail(c, &data, &size, &error) == 0,
		      "compose failed: %s", error ? error : "?");
	assert_crlf(data, size);
	assert_header_ascii(data);
	if (size_r != NULL)
		*size_r = size;
	return data;
}

static void value_is(const char *mail, const char *name, const char *expect)
{
	char *v = header_value(mail, name);

	ck_assert_msg(v != NULL, "no %s header", name);
	ck_assert_msg(strcmp(v, expect) == 0, "%s: \"%s\", expected \"%s\"",
		      name, v, expect);
	free(v);
}

START_TEST(test_compose_headers)
{
	struct compose_fixture f;
	char *mail, *names, *mid;

	fixture_init(&f, 1);
	mail = compose_ok(&f.c, NULL);
	names = header_names(mail);
	ck_assert_str_eq(names, "From Reply-To To Subject Date Message-ID "
			 "List-Id List-Post List-Archive MIME-Version "
			 "Content-Type Content-Transfer-Encoding");
	value_is(mail, "From", "Alice Example via Forum <bridge@lists.test>");
	value_is(mail, "Reply-To", "forum@lists.test");
	value_is(mail, "To", "forum@lists.test");
	value_is(mail, "Subject", "Hello world");
	value_is(mail, "Date", "Tue, 14 Nov 2023 22:13:20 +0000");
	mid = fg_xasprintf("<%s>", f.message_id);
	value_is(mail, "Message-ID", mid);
	value_is(mail, "List-Id", "<forum.lists.test>");
	value_is(mail, "List-Post", "<mailto:forum@lists.test>");
	value_is(mail, "List-Archive",
		 "<https://forum.example/t/hello-world/12>");
	value_is(mail, "MIME-Version", "1.0");
	value_is(mail, "Content-Type", "text/plain; charset=utf-8");
	value_is(mail, "Content-Transfer-Encoding", "quoted-printable");
	ck_assert_ptr_null(header_value(mail, "Auto-Submitted"));
	ck_assert_str_eq(mail + header_block_end(mail) + 2,
			 "Hello **list**\r\n\r\nSecond paragraph.\r\n\r\n"
			 "--=20\r\n"
			 "Forum topic: https://forum.example/t/hello-world/12"
			 "\r\n");
	free(mid);
	free(names);
	free(mail);

	/* no URL, no suffix, no display name: username */
	f.c.topic_url = NULL;
	f.c.name_suffix = NULL;
	f.post.name = "";
	mail = compose_ok(&f.c, NULL);
	names = header_names(mail);
	ck_assert_str_eq(names, "From Reply-To To Subject Date Message-ID "
			 "List-Id List-Post MIME-Version "
			 "Content-Type Content-Transfer-Encoding");
	value_is(mail, "From", "alice <bridge@lists.test>");
	ck_assert_str_eq(mail + header_block_end(mail) + 2,
			 "Hello **list**\r\n\r\nSecond paragraph.\r\n");
	free(names);
	free(mail);
	free(f.message_id);
}
END_TEST

START_TEST(test_compose_reply)
{
	struct compose_fixture f;
	const char *refs[] = { "root@lists.test", "<p2@lists.test>",
			       "not an id", "p3@lists.test" };
	char *mail, *names;

	fixture_init(&f, 4);
	f.c.in_reply_to = "<p3@lists.test>";
	f.c.references = refs;
	f.c.n_references = FG_N_ELEMENTS(refs);
	mail = compose_ok(&f.c, NULL);
	names = header_names(mail);
	ck_assert_str_eq(names, "From Reply-To To Subject Date Message-ID "
			 "In-Reply-To References List-Id List-Post "
			 "List-Archive MIME-Version Content-Type "
			 "Content-Transfer-Encoding");
	value_is(mail, "Subject", "Re: Hello world");
	value_is(mail, "In-Reply-To", "<p3@lists.test>");
	value_is(mail, "References",
		 "<root@lists.test> <p2@lists.test> <p3@lists.test>");
	free(names);
	free(mail);

	/* the parent is added when the caller's list lacks it */
	f.c.n_references = 2;
	mail = compose_ok(&f.c, NULL);
	value_is(mail, "References",
		 "<root@lists.test> <p2@lists.test> <p3@lists.test>");
	free(mail);

	/* bounded: the root and the newest */
	char *many[30];
	struct fg_buf expect = { 0 };
	for (int i = 0; i < 30; i++)
		many[i] = fg_xasprintf("r%d@lists.test", i);
	f.c.references = (const char *const *)many;
	f.c.n_references = 30;
	f.c.in_reply_to = "r29@lists.test";
	fg_buf_puts(&expect, "<r0@lists.test>");
	for (int i = 30 - (FG_COMPOSE_MAX_REFERENCES - 1); i < 30; i++)
		fg_buf_printf(&expect, " <r%d@lists.test>", i);
	mail = compose_ok(&f.c, NULL);
	value_is(mail, "References", expect.s);
	free(mail);
	fg_buf_free(&expect);
	for (int i = 0; i < 30; i++)
		free(many[i]);
	free(f.message_id);
}
END_TEST

/* A thread of a topic and 5 replies, mailed one after the other the
   way forumgated does it: threading from the map, the map updated
   with each mailed post, then the composed headers checked. */
struct thread_map {
	char *ids[8];			/* by post number */
	long long parents[8];
};

static int thread_lookup(void *context, long long topic_id,
			 long long post_number, long long post_id,
			 char **message_id_r,
			 struct fg_post_ref *ref_r, const char **error_r)
{
	struct thread_map *m = context;

	(void)error_r;
	(void)post_id;	/* the map's parents are named by number */
	if (topic_id != 12 || post_number < 1 || post_number > 7 ||
	    m->ids[post_number] == NULL)
		return 0;
	*message_id_r = fg_xstrdup(m->ids[post_number]);
	memset(ref_r, 0, sizeof(*ref_r));
	ref_r->topic_id = 12;
	ref_r->post_number = post_number;
	ref_r->parent_post_number = m->parents[post_number];
	return 1;
}

START_TEST(test_compose_thread_of_five)
{
	/* post number -> the post it answers (0: the topic) */
	static const long long reply_to[] = { 0, 0, 0, 2, 3, 2, 5 };
	/* expected References, as post numbers, oldest first */
	static const char *const expect_refs[] = {
		NULL, "", "1", "1 2", "1 2 3", "1 2", "1 2 5",
	};
	static const long long expect_parent[] = { 0, 0, 1, 2, 3, 2, 5 };
	struct thread_map map;
	const char *error;

	memset(&map, 0, sizeof(map));
	for (long long n = 1; n <= 6; n++) {
		struct compose_fixture f;
		struct fg_threading_headers h;
		struct fg_buf refs = { 0 };
		char *mail, *irt;

		fixture_init(&f, n);
		f.post.post_id = 5000 + n;
		f.post.reply_to_post_number = reply_to[n];
		ck_assert_int_eq(fg_threading_outbound(SECRET, "forum", DOMAIN,
						       false, &f.post,
						       thread_lookup,
						       &map, &h, &error), 0);
		ck_assert_str_eq(h.message_id, f.message_id);
		ck_assert_int_eq(h.parent_post_number, expect_parent[n]);
		f.c.in_reply_to = h.in_reply_to;
		f.c.references = (const char *const *)h.references;
		f.c.n_references = h.n_references;
		mail = compose_ok(&f.c, NULL);

		irt = fg_xasprintf("<%s>", f.message_id);
		value_is(mail, "Message-ID", irt);
		free(irt);
		if (n == 1) {
			value_is(mail, "Subject", "Hello world");
			ck_assert_ptr_null(header_value(mail, "In-Reply-To"));
			ck_assert_ptr_null(header_value(mail, "References"));
		} else {
			const char *p = expect_refs[n];

			value_is(mail, "Subject", "Re: Hello world");
			irt = fg_xasprintf("<%s>",
					   map.ids[expect_parent[n]]);
			value_is(mail, "In-Reply-To", irt);
			free(irt);
			for (; *p != '\0'; p++) {
				if (*p == ' ')
					continue;
				fg_buf_printf(&refs, "%s<%s>",
					      refs.len > 0 ? " " : "",
					      map.ids[*p - '0']);
			}
			value_is(mail, "References", refs.s);
			fg_buf_free(&refs);
		}
		/* mailed: the map has it now */
		map.ids[n] = f.message_id;
		map.parents[n] = h.parent_post_number;
		fg_threading_headers_free(&h);
		free(mail);
	}
	for (int n = 1; n <= 6; n++)
		free(map.ids[n]);
}
END_TEST

START_TEST(test_compose_injection)
{
	struct compose_fixture f;
	char *mail, *names, *v;
	const char *error;
	char *data;
	size_t size;
	char ctl[40];

	fixture_init(&f, 2);
	f.post.topic_title = "x\r\nBcc: victim@example.com";
	/* every C0 control byte and DEL in the name */
	size_t n = 0;
	ctl[n++] = 'E';
	for (int c = 1; c < 0x20; c++)
		ctl[n++] = (char)c;
	ctl[n++] = 0x7f;
	ctl[n++] = 'v';
	ctl[n] = '\0';
	char *name = fg_xasprintf("%s\nBcc: a@b.c\r\rTo: x@y.z", ctl);
	f.post.name = name;
	f.post.username = "eve\r\nCc: c@d.e";
	f.c.name_suffix = "via Forum\r\nX-Evil: 1";
	f.post.raw = "body\r\n.\r\nBcc: in the body is only text\r\n";
	mail = compose_ok(&f.c, &size);
	names = header_names(mail);
	ck_assert_str_eq(names, "From Reply-To To Subject Date Message-ID "
			 "List-Id List-Post List-Archive MIME-Version "
			 "Content-Type Content-Transfer-Encoding");
	value_is(mail, "Subject", "Re: x Bcc: victim@example.com");
	v = header_value(mail, "From");
	ck_assert_str_eq(v, "\"E v Bcc: a at b.c To: x at y.z via Forum "
			 "X-Evil: 1\" <bridge@lists.test>");
	free(v);
	/* no header line anywhere starts like an injected one */
	size_t end = header_block_end(mail);
	for (size_t i = 0; i < end; i++) {
		if ((i == 0 || mail[i - 1] == '\n') &&
		    (strncasecmp(mail + i, "Bcc:", 4) == 0 ||
		     strncasecmp(mail + i, "Cc:", 3) == 0 ||
		     strncasecmp(mail + i, "X-Evil:", 7) == 0))
			ck_abort_msg("injected header at %zu", i);
	}
	free(names);
	free(mail);
	free(name);

	/* Message-IDs and addresses with line breaks are refused */
	free(f.message_id);
	fixture_init(&f, 2);
	f.c.message_id = "a@b>\r\nBcc: victim@example.com";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(strstr(error, "Message-ID"));
	f.c.message_id = f.message_id;
	f.c.in_reply_to = "<a@b>\r\nBcc: v@x";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.in_reply_to = NULL;
	f.c.list_address = "forum@lists.test\r\nBcc: v@x";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.list_address = "Forum <forum@lists.test>";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.list_address = "forum@lists.test";
	f.c.from_address = "bridge@lists.test\n";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.from_address = "bridge@lists.test";
	f.c.mail_domain = "lists.test>\r\nX: y";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.mail_domain = DOMAIN;
	f.c.list_name = "forum\nX";
	ck_assert_int_eq(fg_compose_mail(&f.c, &data, &size, &error), -1);
	f.c.list_name = "forum";

	/* a URL that tries to leave its angle brackets */
	f.c.topic_url = "https://forum.example/t/x>\r\nBcc: v@x <y";
	mail = compose_ok(&f.c, NULL);
	value_is(mail, "List-Archive",
		 "<https://forum.example/t/x%3E%0D%0ABcc:%20v@x%20%3Cy>");
	free(mail);
	f.c.topic_url = "javascript:alert(1)";
	mail = compose_ok(&f.c, NULL);
	ck_assert_ptr_null(header_value(mail, "List-Archive"));
	free(mail);

	/* a title that is one enormous word still fits SMTP's lines */
	char *huge = fg_xmalloc(5001);
	memset(huge, 'w', 5000);
	huge[5000] = '\0';
	f.post.topic_title = huge;
	f.post.name = huge;
	mail = compose_ok(&f.c, NULL);
	free(mail);
	free(huge);
	free(f.message_id);
}
END_TEST

/* random_text - n random bytes 1..255, controls and 8-bit included */
static char *random_text(unsigned int *seed)
{
	size_t n = (size_t)(rand_r(seed) % 60);
	char *s = fg_xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		/* half of them line breaks, colons and angle brackets */
		static const char special[] = "\r\n:<>\"\\;,\t";
		s[i] = rand_r(seed) % 2 ?
			special[rand_r(seed) % (sizeof(special) - 1)] :
			(char)(1 + rand_r(seed) % 255);
	}
	s[n] = '\0';
	return s;
}

START_TEST(test_compose_injection_random)
{
	struct compose_fixture f;
	unsigned int seed = 20240101;

	fixture_init(&f, 2);
	for (int i = 0; i < 500; i++) {
		char *title = random_text(&seed), *name = random_text(&seed);
		char *user = random_text(&seed), *suffix = random_text(&seed);
		char *mail, *names;

		f.post.topic_title = title;
		f.post.name = name;
		f.post.username = user;
		f.c.name_suffix = suffix;
		mail = compose_ok(&f.c, NULL);
		names = header_names(mail);
		ck_assert_str_eq(names, "From Reply-To To Subject Date "
				 "Message-ID List-Id List-Post List-Archive "
				 "MIME-Version Content-Type "
				 "Content-Transfer-Encoding");
		/* and what comes back is the cleaned title */
		struct fg_record *rec = parse_ok(mail);
		char *clean = fg_mail_clean_line(title);
		char *expect = fg_subject_normalize(*clean ? clean :
						    "(no subject)");
		ck_assert_msg(strcmp(rec->title, expect) == 0,
			      "title \"%s\" came back as \"%s\"", expect,
			      rec->title);
		free(expect);
		free(clean);
		fg_record_free(&rec);
		free(names);
		free(mail);
		free(title);
		free(name);
		free(user);
		free(suffix);
	}
	free(f.message_id);
}
END_TEST

START_TEST(test_compose_non_ascii)
{
	struct compose_fixture f;
	char *mail, *v;

	fixture_init(&f, 1);
	f.post.name = "J\xc3\xb6rg M\xc3\xbcller";
	f.post.topic_title = "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x80\x93 "
		"\xe6\x9d\xb1\xe4\xba\xac";
	mail = compose_ok(&f.c, NULL);
	v = header_value(mail, "Subject");
	ck_assert_msg(fg_str_has_ci(v, "=?utf-8?"), "Subject %s", v);
	free(v);
	v = header_value(mail, "From");
	ck_assert_msg(fg_str_has_ci(v, "=?utf-8?"), "From %s", v);
	ck_assert_ptr_nonnull(strstr(v, "<bridge@lists.test>"));
	free(v);

	struct fg_record *rec = parse_ok(mail);
	ck_assert_str_eq(rec->title, f.post.topic_title);
	ck_assert_str_eq(rec->from_name,
			 "J\xc3\xb6rg M\xc3\xbcller via Forum");
	fg_record_free(&rec);
	free(mail);

	/* invalid UTF-8 from a forum becomes U+FFFD, not 8-bit headers */
	f.post.topic_title = "bad \xff\xfe title";
	f.post.raw = "bad \xc3 body";
	mail = compose_ok(&f.c, NULL);
	rec = parse_ok(mail);
	ck_assert_str_eq(rec->title, "bad " UFFFD UFFFD " title");
	ck_assert_str_eq(rec->body, "bad " UFFFD " body");
	fg_record_free(&rec);
	free(mail);
	free(f.message_id);
}
END_TEST

/* assert_no_break - decoded header text without any control (C0, DEL,
   C1 with U+0085) or line or paragraph separator (U+2028, U+2029) */
static void assert_no_break(const char *what, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; p[i] != '\0'; i++) {
		ck_assert_msg(p[i] >= 0x20 && p[i] != 0x7f,
			      "%s \"%s\": control byte at %zu", what, text, i);
		ck_assert_msg(!(p[i] == 0xc2 && p[i + 1] >= 0x80 &&
				p[i + 1] <= 0x9f),
			      "%s \"%s\": C1 control at %zu", what, text, i);
		ck_assert_msg(!(p[i] == 0xe2 && p[i + 1] == 0x80 &&
				(p[i + 2] == 0xa8 || p[i + 2] == 0xa9)),
			      "%s \"%s\": separator at %zu", what, text, i);
	}
}

/* assert_no_fake_address - a display name that shows no address: no
   "@", "<", ">" or their full-width look-alikes, and no line break */
static void assert_no_fake_address(const char *name)
{
	assert_no_break("From name", name);
	ck_assert_msg(strpbrk(name, "@<>") == NULL &&
		      strstr(name, "\xef\xbc\xa0") == NULL &&
		      strstr(name, "\xef\xbc\x9c") == NULL,
		      "From name \"%s\" shows an address", name);
}

/* compose_decoded - compose, then parse the mail with GMime: the
   decoded Subject and the From mailbox's decoded name (caller frees),
   checking there is exactly one From mailbox, the bridge's */
static void compose_decoded(const struct fg_compose *c, char **subject_r,
			    char **name_r)
{
	char *mail = compose_ok(c, NULL);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mail,
								strlen(mail));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	InternetAddressList *from;
	InternetAddress *ia;

	ck_assert_ptr_nonnull(msg);
	from = g_mime_message_get_from(msg);
	ck_assert_int_eq(internet_address_list_length(from), 1);
	ia = internet_address_list_get_address(from, 0);
	ck_assert(INTERNET_ADDRESS_IS_MAILBOX(ia));
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(ia)),
			 "bridge@lists.test");
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(msg), "Bcc"));
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(msg), "Cc"));
	*subject_r = fg_xstrdup(g_mime_message_get_subject(msg));
	*name_r = fg_xstrdup(internet_address_get_name(ia) != NULL ?
			     internet_address_get_name(ia) : "");
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	free(mail);
}

START_TEST(test_compose_hostile_text)
{
	static const char *const titles[] = {
		/* an encoded word of CR LF Bcc: passed raw would decode
		   to a line break in the reader's client */
		"=?utf-8?q?=0D=0ABcc:_x@evil?=",
		"Hi =?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?= there",
		"=?iso-8859-1?q?Alice_=3Calice@example.com=3E?=",
		"a\xc2\x85" "Bcc: x@evil",
		"line\xe2\x80\xa8sep\xe2\x80\xa9para",
		"c1 \xc2\x80\xc2\x8d\xc2\x9f end",
		"=?",
	};
	static const char *const expect_titles[] = {
		"Re: =?utf-8?q?=0D=0ABcc:_x@evil?=",
		"Re: Hi =?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?= there",
		"Re: =?iso-8859-1?q?Alice_=3Calice@example.com=3E?=",
		"Re: a Bcc: x@evil",
		"Re: line sep para",
		"Re: c1 end",
		"Re: =?",
	};
	static const char *const names[] = {
		"Alice <alice@example.com>",
		"alice@example.com",
		"\"alice@example.com\" <alice@example.com>",
		"=?utf-8?q?Alice_=3Calice@example.com=3E?=",
		"=?utf-8?q?=0D=0ABcc:_x@evil?=",
		"Eve \xef\xbc\x9c" "eve\xef\xbc\xa0" "example.com\xef\xbc\x9e",
		"Nel\xc2\x85" "Bcc: x@evil\xe2\x80\xa8y",
	};
	static const char *const expect_names[] = {
		"Alice (alice at example.com) via Forum",
		"alice at example.com via Forum",
		"\"alice at example.com\" (alice at example.com) via Forum",
		"=?utf-8?q?Alice_=3Calice at example.com=3E?= via Forum",
		"=?utf-8?q?=0D=0ABcc:_x at evil?= via Forum",
		"Eve (eve at example.com) via Forum",
		"Nel Bcc: x at evil y via Forum",
	};
	struct compose_fixture f;
	char *subject, *name;

	fixture_init(&f, 2);
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		/* the record's fields are owned strings; compose only
		   reads them */
		f.post.topic_title = (char *)titles[i];
		compose_decoded(&f.c, &subject, &name);
		assert_no_break("Subject", subject);
		/* what the forum user wrote, not what it would decode to */
		ck_assert_str_eq(subject, expect_titles[i]);
		free(subject);
		free(name);
	}
	f.post.topic_title = "Hello";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		f.post.name = (char *)names[i];
		compose_decoded(&f.c, &subject, &name);
		ck_assert_str_eq(name, expect_names[i]);
		assert_no_fake_address(name);
		free(subject);
		free(name);
	}
	/* the username stands in for an empty name, defused the same way */
	f.post.name = "";
	f.post.username = "bob@example.com";
	compose_decoded(&f.c, &subject, &name);
	ck_assert_str_eq(name, "bob at example.com via Forum");
	free(subject);
	free(name);
	free(f.message_id);
}
END_TEST

/* part_text - the decoded content of a leaf part, NUL-terminated */
static char *part_text(GMimeObject *obj)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *out = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *text;

	g_mime_data_wrapper_write_to_stream(content, out);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	text = fg_xstrndup((const char *)bytes->data, bytes->len);
	g_object_unref(out);
	return text;
}

/* compose_alternative - compose with html and return the decoded
   text/plain and text/html parts, checking the structure */
static void compose_alternative(const struct fg_compose *c, char **plain_r,
				char **html_r)
{
	char *mail = compose_ok(c, NULL), *v;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mail,
								 strlen(mail));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *top, *a, *b;

	ck_assert_ptr_nonnull(msg);
	v = header_value(mail, "Content-Type");
	ck_assert_msg(strncmp(v, "multipart/alternative;", 22) == 0,
		      "Content-Type %s", v);
	free(v);
	ck_assert_ptr_null(header_value(mail, "Content-Transfer-Encoding"));
	top = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_MULTIPART(top));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	a = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	b = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
	/* get_mime_type returns a new string */
	char *type_a = g_mime_content_type_get_mime_type(
		g_mime_object_get_content_type(a));
	char *type_b = g_mime_content_type_get_mime_type(
		g_mime_object_get_content_type(b));
	ck_assert_str_eq(type_a, "text/plain");
	ck_assert_str_eq(type_b, "text/html");
	g_free(type_a);
	g_free(type_b);
	for (GMimeObject *p = a; p != NULL; p = p == a ? b : NULL) {
		ck_assert_str_eq(g_mime_object_get_content_type_parameter(
					 p, "charset"), "utf-8");
		ck_assert_int_eq(g_mime_part_get_content_encoding(
					 GMIME_PART(p)),
				 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	}
	*plain_r = part_text(a);
	*html_r = part_text(b);
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	free(mail);
}

START_TEST(test_compose_html)
{
	struct compose_fixture f;
	char *plain, *html;

	fixture_init(&f, 1);
	f.c.html = true;
	compose_alternative(&f.c, &plain, &html);
	ck_assert_str_eq(plain, "Hello **list**\r\n\r\nSecond paragraph.\r\n"
			 "\r\n-- \r\nForum topic: "
			 "https://forum.example/t/hello-world/12\r\n");
	ck_assert_msg(strstr(html, "<p>Hello <strong>list</strong></p>") !=
		      NULL, "html: %s", html);
	ck_assert_ptr_nonnull(strstr(html, "<p>Second paragraph.</p>"));
	ck_assert_ptr_nonnull(strstr(html, "<a href=\"https://forum.example/"
				     "t/hello-world/12\">"));
	ck_assert_ptr_nonnull(strstr(html, "<meta charset=\"utf-8\">"));
	free(plain);
	free(html);

	/* hostile input: the forum user's HTML and script links are gone,
	   the text stays readable */
	f.post.raw = "Hi <script>alert(1)</script> there\n\n"
		"<div onclick=\"steal()\">raw block</div>\n\n"
		"<img src=x onerror=alert(2)>\n\n"
		"[click](javascript:alert(3)) and "
		"[ok](https://example.org/?a=1&b=\"2\")\n\n"
		"`<b>code</b>` & <b>bold</b>";
	f.c.topic_url = "https://forum.example/t/x?a=1&b=2";
	compose_alternative(&f.c, &plain, &html);
	ck_assert_msg(!fg_str_has_ci(html, "<script"), "html: %s", html);
	ck_assert_msg(!fg_str_has_ci(html, "onclick"), "html: %s", html);
	ck_assert_msg(!fg_str_has_ci(html, "onerror"), "html: %s", html);
	ck_assert_msg(!fg_str_has_ci(html, "javascript:"), "html: %s",
		      html);
	ck_assert_msg(!fg_str_has_ci(html, "<b>"), "html: %s", html);
	ck_assert_msg(!fg_str_has_ci(html, "<div"), "html: %s", html);
	ck_assert_msg(!fg_str_has_ci(html, "<img"), "html: %s", html);
	ck_assert_ptr_nonnull(strstr(html, "<code>&lt;b&gt;code&lt;/b&gt;"
				     "</code> &amp; "));
	ck_assert_ptr_nonnull(strstr(html, "raw HTML omitted -->bold<!--"));
	ck_assert_ptr_nonnull(strstr(html, "<a href=\"https://example.org/"
				     "?a=1&amp;b=%222%22\">ok</a>"));
	ck_assert_ptr_nonnull(strstr(html, "href=\"https://forum.example/t/"
				     "x?a=1&amp;b=2\""));
	/* the plain part is the text as typed */
	ck_assert_ptr_nonnull(strstr(plain, "<script>alert(1)</script>"));
	free(plain);
	free(html);

	/* non-ASCII in both parts, as UTF-8 */
	f.post.raw = "Gr\xc3\xbc\xc3\x9f" "e aus *K\xc3\xb6ln* \xe2\x80\x93 "
		"\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 bad \xff";
	f.c.topic_url = NULL;
	compose_alternative(&f.c, &plain, &html);
	ck_assert_str_eq(plain, "Gr\xc3\xbc\xc3\x9f" "e aus *K\xc3\xb6ln* "
			 "\xe2\x80\x93 \xe6\x9d\xb1\xe4\xba\xac "
			 "\xf0\x9f\x98\x80 bad " UFFFD "\r\n");
	ck_assert_msg(strstr(html, "<p>Gr\xc3\xbc\xc3\x9f" "e aus <em>K"
			     "\xc3\xb6ln</em> \xe2\x80\x93 \xe6\x9d\xb1"
			     "\xe4\xba\xac \xf0\x9f\x98\x80 bad " UFFFD
			     "</p>") != NULL, "html: %s", html);
	free(plain);
	free(html);
	free(f.message_id);
}
END_TEST

START_TEST(test_compose_unsubscribe)
{
	struct compose_fixture f;
	char *mail, *names;
	const char *bad[] = {
		"http://lists.test/u", "ftp://lists.test/u", "mailto:",
		"mailto:nobody", "https://", "https:///x",
		"https://lists.test/u\r\nBcc: victim@example.org",
		"https://lists.test/u>, <https://evil.example/",
		"mailto:u@lists.test?subject=a b", "https://lists.test/\"x",
		"https://lists.test/\xc3\xa4", "javascript:alert(1)", "",
	};
	struct fg_buf lng = { 0 };

	fixture_init(&f, 1);
	f.c.unsubscribe = "mailto:forum-unsubscribe@lists.test?subject=unsub";
	mail = compose_ok(&f.c, NULL);
	names = header_names(mail);
	ck_assert_str_eq(names, "From Reply-To To Subject Date Message-ID "
			 "List-Id List-Post List-Archive List-Unsubscribe "
			 "MIME-Version Content-Type "
			 "Content-Transfer-Encoding");
	value_is(mail, "List-Unsubscribe",
		 "<mailto:forum-unsubscribe@lists.test?subject=unsub>");
	free(names);
	free(mail);

	f.c.unsubscribe = "https://lists.test/u/forum?id=1&x=2";
	ck_assert(fg_compose_unsubscribe_valid(f.c.unsubscribe));
	ck_assert(fg_compose_unsubscribe_valid("HTTPS://lists.test/u"));
	mail = compose_ok(&f.c, NULL);
	value_is(mail, "List-Unsubscribe",
		 "<https://lists.test/u/forum?id=1&x=2>");
	free(mail);

	/* an invalid URI is left out: never mended, never a new header */
	fg_buf_puts(&lng, "https://lists.test/");
	while (lng.len <= FG_COMPOSE_UNSUBSCRIBE_MAX)
		fg_buf_putc(&lng, 'x');
	for (size_t i = 0; i <= FG_N_ELEMENTS(bad); i++) {
		f.c.unsubscribe = i < FG_N_ELEMENTS(bad) ? bad[i] : lng.s;
		ck_assert_msg(!fg_compose_unsubscribe_valid(f.c.unsubscribe),
			      "accepted \"%s\"", f.c.unsubscribe);
		mail = compose_ok(&f.c, NULL);
		ck_assert_ptr_null(header_value(mail, "List-Unsubscribe"));
		ck_assert_ptr_null(header_value(mail, "Bcc"));
		free(mail);
	}
	fg_buf_free(&lng);
	free(f.message_id);
}
END_TEST

START_TEST(test_compose_edited)
{
	struct compose_fixture f;
	char *mail, *first, *edit, *v;

	fixture_init(&f, 1);
	first = f.message_id;
	edit = fg_msgid_make_revision(SECRET, "forum", 12, 1, 2, DOMAIN);
	f.c.message_id = edit;
	f.c.in_reply_to = first;
	f.c.edited = true;
	mail = compose_ok(&f.c, NULL);
	value_is(mail, "Subject", "[edited] Re: Hello world");
	v = fg_xasprintf("<%s>", edit);
	value_is(mail, "Message-ID", v);
	free(v);
	v = fg_xasprintf("<%s>", first);
	value_is(mail, "In-Reply-To", v);
	value_is(mail, "References", v);
	free(v);
	free(mail);
	free(edit);
	free(first);
}
END_TEST

START_TEST(test_compose_round_trip)
{
	struct compose_fixture f;
	const char *refs[] = { "root@lists.test", "p2@lists.test" };
	struct fg_buf raw = { 0 };
	char *mail;
	size_t size;

	fixture_init(&f, 3);
	f.c.in_reply_to = "p2@lists.test";
	f.c.references = refs;
	f.c.n_references = 2;
	f.post.topic_title = "[SOLVED] no: Postfix \xe2\x86\x92 Dovecot LMTP";
	fg_buf_puts(&raw, "Markdown with **bold**, `code` and a list:\n\n"
		    "- one\n- two\n\n"
		    "A line with trailing spaces for a break  \n"
		    "From the start of a line, and a dot:\n.\n"
		    "Gr\xc3\xbc\xc3\x9f" "e, \xe6\x9d\xb1\xe4\xba\xac, "
		    "\xf0\x9f\x98\x80 = 100%\n"
		    "> a quote in the post\n\n");
	for (int i = 0; i < 300; i++)
		fg_buf_putc(&raw, (char)('a' + i % 26));
	fg_buf_puts(&raw, "\n\ttabbed line");
	f.post.raw = raw.s;
	mail = compose_ok(&f.c, &size);

	struct fg_record *rec = parse_mem(mail, size);
	record_valid(rec);
	ck_assert_str_eq(rec->message_id, f.message_id);
	ck_assert_str_eq(rec->in_reply_to, "p2@lists.test");
	ck_assert_uint_eq(rec->n_references, 2);
	ck_assert_str_eq(rec->references[0], "root@lists.test");
	ck_assert_str_eq(rec->references[1], "p2@lists.test");
	/* "[SOLVED]" reads as a list tag: that is what a title is for */
	ck_assert_str_eq(rec->title,
			 "no: Postfix \xe2\x86\x92 Dovecot LMTP");
	ck_assert_str_eq(rec->body, raw.s);
	ck_assert_str_eq(rec->from_email, "bridge@lists.test");
	ck_assert_str_eq(rec->list_id, "forum.lists.test");
	ck_assert_str_eq(rec->date, "2023-11-14T22:13:20Z");
	ck_assert_int_eq(rec->classification, FG_CLASS_OWN);
	fg_record_free(&rec);
	free(mail);

	/* a plain title survives exactly */
	f.post.topic_title = "Hello world";
	mail = compose_ok(&f.c, &size);
	rec = parse_mem(mail, size);
	ck_assert_str_eq(rec->title, "Hello world");
	ck_assert_str_eq(rec->subject, "Re: Hello world");
	fg_record_free(&rec);
	free(mail);
	fg_buf_free(&raw);
	free(f.message_id);
}
END_TEST

/*
 * Real-world corpus
 */

/* read_file - a whole file; NULL when it cannot be read */
static char *read_file(const char *path, size_t *size_r)
{
	FILE *fp = fopen(path, "rb");
	struct fg_buf b = { 0 };
	char buf[65536];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fg_buf_append(&b, buf, n);
	fclose(fp);
	*size_r = b.len;
	return fg_buf_steal(&b);
}

static struct fg_record *corpus_parse(const char *dir, const char *name)
{
	char *path = fg_xasprintf("%s/%s", dir, name);
	size_t size;
	char *data = read_file(path, &size);
	struct fg_record *rec;

	ck_assert_msg(data != NULL, "cannot read %s", path);
	rec = parse_mem(data, size);
	free(data);
	free(path);
	return rec;
}

START_TEST(test_corpus)
{
	const char *dir = getenv("FG_CORPUS_DIR");
	struct stat st;
	struct dirent *de;
	unsigned int count = 0;
	DIR *d;

	if (dir == NULL || *dir == '\0' || stat(dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "check_mail: FG_CORPUS_DIR not set or absent, "
			"corpus test skipped\n");
		return;
	}
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), size;
		char *path, *data;
		struct fg_record *rec = NULL;
		const char *error;

		if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)
			continue;
		path = fg_xasprintf("%s/%s", dir, de->d_name);
		data = read_file(path, &size);
		ck_assert_ptr_nonnull(data);
		ck_assert_msg(fg_mail_parse(data, size, &test_set, &rec,
					    &error) == 0,
			      "%s: %s", de->d_name, error);
		record_valid(rec);
		fg_record_free(&rec);
		free(data);
		free(path);
		count++;
	}
	closedir(d);
	ck_assert_uint_gt(count, 0);
	fprintf(stderr, "check_mail: parsed %u corpus messages\n", count);

	struct fg_record *rec = corpus_parse(dir, "big5.eml");
	ck_assert_ptr_nonnull(strstr(rec->body, "\xe5\xaa\xbd\xef\xbc\x81"
				     "\xe6\x88\x91\xe4\xb8\x8a\xe9\x9b\xbb"
				     "\xe8\xa6\x96\xe4\xba\x86\xef\xbc\x81"));
	ck_assert_str_eq(rec->in_reply_to,
			 "51efeb9b36c34_66dc2dfce6811866@discourse.mail");
	fg_record_free(&rec);

	rec = corpus_parse(dir, "html_only.eml");
	ck_assert_ptr_nonnull(strstr(rec->body, "The EC2 instance"));
	fg_record_free(&rec);
	rec = corpus_parse(dir, "gmail_html_reply.eml");
	ck_assert_ptr_nonnull(strstr(rec->body, "This is a **GMAIL** reply"));
	fg_record_free(&rec);

	/* headers make an automatic reply; a subject that only says so
	   ("[AUTO GENERATED] Some subject") or Precedence: list do not */
	static const struct {
		const char *name;
		enum fg_class class;
	} classes[] = {
		{ "auto_reply.eml", FG_CLASS_AUTO_REPLY },
		{ "auto_generated_header.eml", FG_CLASS_AUTO_REPLY },
		{ "auto_generated_subject.eml", FG_CLASS_POST },
		{ "auto_generated_precedence.eml", FG_CLASS_POST },
	};
	for (size_t i = 0; i < FG_N_ELEMENTS(classes); i++) {
		rec = corpus_parse(dir, classes[i].name);
		ck_assert_msg(rec->classification == classes[i].class, "%s: %s",
			      classes[i].name,
			      fg_class_name(rec->classification));
		fg_record_free(&rec);
	}

	rec = corpus_parse(dir, "missing_message_id.eml");
	ck_assert(strncmp(rec->message_id, "fg-synth.", 9) == 0);
	struct fg_record *again = corpus_parse(dir, "missing_message_id.eml");
	ck_assert_str_eq(rec->message_id, again->message_id);
	fg_record_free(&again);
	fg_record_free(&rec);

	rec = corpus_parse(dir, "bounced_email.eml");
	ck_assert_int_eq(rec->classification, FG_CLASS_BOUNCE);
	fg_record_free(&rec);

	rec = corpus_parse(dir, "mailman_1.eml");
	ck_assert_int_eq(rec->classification, FG_CLASS_POST);
	ck_assert_str_eq(rec->list_id, "list.ml.example.com");
	fg_record_free(&rec);

	rec = corpus_parse(dir, "no_from.eml");
	ck_assert_str_eq(rec->from_email, "");
	fg_record_free(&rec);

	rec = corpus_parse(dir, "reply_with_8bit_encoding.eml");
	ck_assert_ptr_nonnull(strstr(rec->body, "\xc3\xa4\xc3\xb6\xc3\xbc"));
	fg_record_free(&rec);
}
END_TEST

static Suite *mail_suite(void)
{
	Suite *s = suite_create("mail");
	TCase *tc;

	tc = tcase_create("subject");
	tcase_add_test(tc, test_subject_prefixes);
	tcase_add_test(tc, test_subject_long);
	tcase_add_test(tc, test_subject_encoded);
	suite_add_tcase(s, tc);

	tc = tcase_create("html");
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_html_hostile);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_parse_plain);
	tcase_add_test(tc, test_parse_encoded_from);
	tcase_add_test(tc, test_parse_qp_latin1);
	tcase_add_test(tc, test_parse_base64_charsets);
	tcase_add_test(tc, test_parse_bad_bytes);
	tcase_add_test(tc, test_parse_html_only);
	tcase_add_test(tc, test_parse_alternative);
	tcase_add_test(tc, test_parse_flowed);
	tcase_add_test(tc, test_trim);
	tcase_add_test(tc, test_parse_synthetic_id);
	tcase_add_test(tc, test_parse_no_from_no_date);
	tcase_add_test(tc, test_parse_own);
	tcase_add_test(tc, test_parse_auto_reply);
	tcase_add_test(tc, test_classify_auto_subject);
	tcase_add_test(tc, test_not_posted_reasons);
	tcase_add_test(tc, test_parse_bounce);
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_parse_envelope_lines);
	tcase_add_test(tc, test_parse_nul_bytes);
	tcase_add_test(tc, test_parse_nested);
	tcase_add_test(tc, test_parse_huge_header);
	tcase_add_test(tc, test_parse_costly);
	suite_add_tcase(s, tc);

	tc = tcase_create("compose");
	/* 500 random compositions: seconds on a loaded machine */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_compose_headers);
	tcase_add_test(tc, test_compose_reply);
	tcase_add_test(tc, test_compose_injection);
	tcase_add_test(tc, test_compose_injection_random);
	tcase_add_test(tc, test_compose_non_ascii);
	tcase_add_test(tc, test_compose_hostile_text);
	tcase_add_test(tc, test_compose_round_trip);
	tcase_add_test(tc, test_compose_thread_of_five);
	tcase_add_test(tc, test_compose_html);
	tcase_add_test(tc, test_compose_unsubscribe);
	tcase_add_test(tc, test_compose_edited);
	suite_add_tcase(s, tc);

	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(mail_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
