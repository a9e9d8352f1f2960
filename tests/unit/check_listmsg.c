/*
 * NAME
 *	check_listmsg - unit tests of the changes a list makes to a post
 * DESCRIPTION
 *	Covers fg-listmsg: the subject tag as Mailman 3 places it, the
 *	footer in the text or as a MIME part, the List-* headers and the
 *	signed one-click unsubscribe token, the DMARC From rewrite and
 *	the passphrase removal.
 *
 *	Golden cases: tests/unit/fixtures/listmsg/NAME.in.eml goes
 *	through the changes the case names and must come out as
 *	NAME.out.eml byte for byte (LF line ends; a multipart the library
 *	made gets the boundary "fg-footer-mixed" here, since GMime draws
 *	its boundaries at random). The output is then read back with GMime
 *	and checked for what the case is about (the footer where it
 *	belongs, one List-Id, the signed part unchanged, the passphrase
 *	gone). FG_LISTMSG_UPDATE=1 in the environment rewrites the .out
 *	files instead, to be reviewed before they are committed.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg-common.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"

#ifndef FG_LISTMSG_FIXTURE_DIR
#define FG_LISTMSG_FIXTURE_DIR "tests/unit/fixtures/listmsg"
#endif

#define SECRET "list-secret"
#define RECIPIENT "Member@Example.COM"
#define EXPIRES 4102444800LL	/* 2100-01-01 */
#define TOPIC "https://forum.test/t/welcome/42"
#define BOUNDARY "fg-footer-mixed"

static const struct fg_listmsg_list t_list = {
	.name = "forum",
	.address = "forum@lists.test",
	.display_name = "Forum Talk",
	.list_id = NULL,
	.unsubscribe_base = "https://lists.test/fg/unsubscribe",
};

#define FOOTER_ASCII "-- \n$display_name mailing list -- $list_address\n" \
	"Topic: $topic_url\nUnsubscribe: $unsubscribe_url\n"

/* read_file - a whole file; NULL when it does not exist */
static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct fg_buf b = { 0 };
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_append(&b, chunk, n);
	fclose(f);
	if (b.s == NULL)
		fg_buf_append(&b, "", 0);
	*len_r = b.len;
	return fg_buf_steal(&b);
}

/* parse - a message from memory */
static GMimeMessage *parse(const char *data, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/* parse_fixture - NAME.in.eml */
static GMimeMessage *parse_fixture(const char *name, char **raw_r)
{
	char *path = fg_xasprintf("%s/%s.in.eml", FG_LISTMSG_FIXTURE_DIR, name);
	size_t len = 0;
	char *data = read_file(path, &len);
	GMimeMessage *msg;

	ck_assert_msg(data != NULL, "cannot read %s", path);
	msg = parse(data, len);
	free(path);
	if (raw_r != NULL)
		*raw_r = data;
	else
		free(data);
	return msg;
}

/* serialize - the message as text with LF line ends */
static char *serialize(GMimeMessage *msg)
{
	GMimeStream *stream = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *out;

	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	out = fg_xstrndup((const char *)bytes->data, bytes->len);
	g_object_unref(stream);
	return out;
}

/* golden - compare with NAME.out.eml (or write it); the output read
   back with GMime */
static GMimeMessage *golden(const char *name, GMimeMessage *msg)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	char *path = fg_xasprintf("%s/%s.out.eml", FG_LISTMSG_FIXTURE_DIR, name);
	char *got, *want;
	size_t len = 0;
	GMimeMessage *back;

	/* the library's own multipart gets a fixed boundary */
	if (GMIME_IS_MULTIPART(top) &&
	    strncmp(g_mime_multipart_get_boundary(GMIME_MULTIPART(top)), "=-",
		    2) == 0)
		g_mime_multipart_set_boundary(GMIME_MULTIPART(top), BOUNDARY);
	got = serialize(msg);
	if (getenv("FG_LISTMSG_UPDATE") != NULL) {
		FILE *f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
	}
	want = read_file(path, &len);
	ck_assert_msg(want != NULL, "cannot read %s", path);
	ck_assert_msg(strcmp(got, want) == 0, "%s differs:\n%s", path, got);
	back = parse(want, len);
	free(got);
	free(want);
	free(path);
	return back;
}

/* part_text - the decoded text of a leaf part, as UTF-8 */
static char *part_text(GMimeObject *obj)
{
	GMimeStream *stream = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(stream);
	const char *cs = g_mime_object_get_content_type_parameter(obj,
								   "charset");
	GByteArray *bytes;
	char *out;

	ck_assert(GMIME_IS_PART(obj));
	if (cs != NULL) {
		GMimeFilter *f = g_mime_filter_charset_new(cs, "utf-8");
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
		g_object_unref(f);
	}
	g_mime_data_wrapper_write_to_stream(
		g_mime_part_get_content(GMIME_PART(obj)), filtered);
	g_mime_stream_flush(filtered);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	out = fg_xstrndup((const char *)bytes->data, bytes->len);
	g_object_unref(filtered);
	g_object_unref(stream);
	return out;
}

/* check_unchanged - the message serializes as before; frees before
   and the message */
static void check_unchanged(GMimeMessage *msg, char *before)
{
	char *after = serialize(msg);

	ck_assert_str_eq(after, before);
	free(after);
	free(before);
	g_object_unref(msg);
}

/* header_count - how often the message has a header */
static int header_count(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = 0;

	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		if (g_ascii_strcasecmp(g_mime_header_get_name(
			g_mime_header_list_get_header_at(list, i)), name) == 0)
			n++;
	}
	return n;
}

/* distribute - the list's changes for one recipient: tag, footer,
   DMARC (by policy), list headers, personal unsubscribe */
static void distribute(GMimeMessage *msg, const char *footer_tmpl,
		       enum fg_listmsg_dmarc policy)
{
	const char *error = NULL;
	char *url, *footer;
	bool munged;

	ck_assert_int_eq(fg_listmsg_tag_subject(msg, "forum", 0, &error), 0);
	url = fg_listmsg_unsub_url(&t_list, SECRET, RECIPIENT, EXPIRES, &error);
	ck_assert_ptr_nonnull(url);
	ck_assert_int_eq(fg_listmsg_footer_expand(footer_tmpl, &t_list, TOPIC,
						  url, &footer, &error), 0);
	ck_assert_int_eq(fg_listmsg_add_footer(msg, footer, &error), 0);
	ck_assert_int_eq(fg_listmsg_dmarc(msg, &t_list, policy, false, &munged,
					  &error), 0);
	ck_assert(munged == (policy != FG_LISTMSG_DMARC_NONE));
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &t_list, TOPIC, &error),
			 0);
	ck_assert_int_eq(fg_listmsg_set_unsubscribe(msg, &t_list, SECRET,
						    RECIPIENT, EXPIRES,
						    &error), 0);
	free(footer);
	free(url);
}

/* check_crlf - written for SMTP (CR LF line ends), the message has
   no bare LF, the raw list headers included */
static void check_crlf(GMimeMessage *msg)
{
	GMimeFormatOptions *format = g_mime_format_options_new();
	char *text;

	g_mime_format_options_set_newline_format(format,
						 GMIME_NEWLINE_FORMAT_DOS);
	text = g_mime_object_to_string(GMIME_OBJECT(msg), format);
	for (const char *p = strchr(text, '\n'); p != NULL;
	     p = strchr(p + 1, '\n'))
		ck_assert_msg(p > text && p[-1] == '\r', "bare LF at %d",
			      (int)(p - text));
	ck_assert_ptr_nonnull(strstr(text, ">,\r\n <mailto:forum-leave@"));
	g_free(text);
	g_mime_format_options_free(format);
}

/* check_list_headers - one of each list header, with the list's values */
static void check_list_headers(GMimeMessage *msg)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	const char *unsub;

	ck_assert_int_eq(header_count(msg, "List-Id"), 1);
	ck_assert_int_eq(header_count(msg, "List-Unsubscribe"), 1);
	ck_assert_int_eq(header_count(msg, "Precedence"), 1);
	ck_assert_str_eq(g_mime_object_get_header(obj, "List-Id"),
			 "Forum Talk <forum.lists.test>");
	ck_assert_str_eq(g_mime_object_get_header(obj, "List-Post"),
			 "<mailto:forum@lists.test>");
	ck_assert_str_eq(g_mime_object_get_header(obj, "List-Help"),
			 "<mailto:forum-request@lists.test?subject=help>");
	ck_assert_str_eq(g_mime_object_get_header(obj, "List-Archive"),
			 "<" TOPIC ">");
	ck_assert_str_eq(g_mime_object_get_header(obj, "Precedence"), "list");
	ck_assert_str_eq(g_mime_object_get_header(obj, "X-BeenThere"),
			 "forum@lists.test");
	ck_assert_str_eq(g_mime_object_get_header(obj, "List-Unsubscribe-Post"),
			 "List-Unsubscribe=One-Click");
	unsub = g_mime_object_get_header(obj, "List-Unsubscribe");
	ck_assert_msg(strncmp(unsub, "<https://lists.test/fg/unsubscribe/u1.",
			      38) == 0, "%s", unsub);
	ck_assert_ptr_nonnull(strstr(unsub, "<mailto:forum-leave@lists.test>"));
}

/* check_footer_part - the last part of a multipart/mixed top is the
   footer, inline, UTF-8 */
static GMimeObject *check_footer_part(GMimeMessage *msg, int parts)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	GMimeObject *last;
	char *text;

	ck_assert(GMIME_IS_MULTIPART(top));
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(top), "multipart",
			  "mixed"));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(top)),
			 parts);
	last = g_mime_multipart_get_part(GMIME_MULTIPART(top), parts - 1);
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(last), "text", "plain"));
	ck_assert_str_eq(g_mime_object_get_disposition(last), "inline");
	text = part_text(last);
	ck_assert_msg(strncmp(text, "-- \nForum Talk mailing list -- "
			      "forum@lists.test\nTopic: " TOPIC, 62) == 0,
		      "%s", text);
	free(text);
	return g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
}

START_TEST(test_golden_plain_utf8)
{
	GMimeMessage *msg = parse_fixture("plain-utf8", NULL), *back;
	GMimeObject *body;
	InternetAddressList *reply;
	char *text;

	distribute(msg, "-- \n$display_name mailing list -- $list_address\n"
		   "Topic: $topic_url\nUnsubscribe: $unsubscribe_url\n"
		   "Grüße — die Liste\n", FG_LISTMSG_DMARC_REJECT);
	back = golden("plain-utf8", msg);
	check_list_headers(back);
	check_crlf(msg);
	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Re: Grüße aus Köln");
	body = g_mime_message_get_mime_part(back);
	ck_assert(GMIME_IS_PART(body));
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(body,
								   "format"),
			 "flowed");
	text = part_text(body);
	ck_assert_msg(strncmp(text, "Hallo zusammen, schöne Grüße.\n-- \n"
			      "Forum Talk mailing list", 58) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "Grüße — die Liste\n"));
	free(text);
	/* DMARC: the list's address in From, the author in Reply-To */
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(
					 internet_address_list_get_address(
						 g_mime_message_get_from(back),
						 0))), "forum@lists.test");
	ck_assert_str_eq(internet_address_get_name(
				 internet_address_list_get_address(
					 g_mime_message_get_from(back), 0)),
			 "Jürgen Müller via Forum Talk");
	reply = g_mime_message_get_reply_to(back);
	ck_assert_int_eq(internet_address_list_length(reply), 1);
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(
					 internet_address_list_get_address(
						 reply, 0))), "juergen@example.org");
	ck_assert_ptr_nonnull(strstr(g_mime_object_get_header(
					     GMIME_OBJECT(back),
					     "X-Original-From"),
				     "<juergen@example.org>"));
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_latin1_qp)
{
	GMimeMessage *msg = parse_fixture("plain-latin1-qp", NULL), *back;
	GMimeObject *body;
	GMimeHeader *subject;
	char *text;

	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_NONE);
	back = golden("plain-latin1-qp", msg);
	check_list_headers(back);
	/* Mailman's AW: becomes Re:, the charset of the words is kept */
	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Re: Grüße");
	subject = g_mime_header_list_get_header(
		g_mime_object_get_header_list(GMIME_OBJECT(back)), "Subject");
	ck_assert_ptr_nonnull(strstr(g_mime_header_get_raw_value(subject),
				     "iso-8859-1"));
	body = g_mime_message_get_mime_part(back);
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(body,
								   "charset"),
			 "iso-8859-1");
	ck_assert_int_eq(g_mime_part_get_content_encoding(GMIME_PART(body)),
			 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	text = part_text(body);
	/* the soft line break at the end: a line break before the footer */
	ck_assert_msg(strncmp(text, "Schöne Grüße aus München.\n-- \n", 31)
		      == 0, "%s", text);
	free(text);
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(
					 internet_address_list_get_address(
						 g_mime_message_get_from(back),
						 0))), "anne@example.org");
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_latin1_euro)
{
	GMimeMessage *msg = parse_fixture("plain-latin1-euro", NULL), *back;
	GMimeObject *body;
	char *text;

	distribute(msg, FOOTER_ASCII "Preise in €\n", FG_LISTMSG_DMARC_NONE);
	back = golden("plain-latin1-euro", msg);
	body = g_mime_message_get_mime_part(back);
	/* Latin-1 has no euro sign: the whole text became UTF-8 */
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(body,
								   "charset"),
			 "utf-8");
	text = part_text(body);
	ck_assert_msg(strncmp(text, "Der Preis ist zu hoch für mich.\n", 33)
		      == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "Preise in €\n"));
	free(text);
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_base64)
{
	GMimeMessage *msg = parse_fixture("plain-base64", NULL), *back;
	GMimeObject *body;
	InternetAddressList *reply;
	char *text;

	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_QUARANTINE);
	back = golden("plain-base64", msg);
	check_list_headers(back);
	ck_assert_str_eq(g_mime_message_get_subject(back), "[forum] Привет");
	body = g_mime_message_get_mime_part(back);
	ck_assert_int_eq(g_mime_part_get_content_encoding(GMIME_PART(body)),
			 GMIME_CONTENT_ENCODING_BASE64);
	text = part_text(body);
	ck_assert_msg(strncmp(text, "Привет, мир!\nВторая строка.\n-- \n",
			      strlen("Привет, мир!\nВторая строка.\n-- \n"))
		      == 0, "%s", text);
	free(text);
	/* no display name: the address, its domain hidden (Mailman) */
	ck_assert_str_eq(internet_address_get_name(
				 internet_address_list_get_address(
					 g_mime_message_get_from(back), 0)),
			 "bob--- via Forum Talk");
	/* the existing Reply-To stays first, the author is added */
	reply = g_mime_message_get_reply_to(back);
	ck_assert_int_eq(internet_address_list_length(reply), 2);
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(
					 internet_address_list_get_address(
						 reply, 0))), "team@example.com");
	ck_assert_str_eq(internet_address_mailbox_get_addr(
				 INTERNET_ADDRESS_MAILBOX(
					 internet_address_list_get_address(
						 reply, 1))), "bob@example.com");
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_alternative)
{
	GMimeMessage *msg = parse_fixture("alternative", NULL), *back;
	GMimeObject *first;

	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_NONE);
	back = golden("alternative", msg);
	check_list_headers(back);
	/* Fwd: is not one of Mailman's reply prefixes: it stays */
	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Fwd: Meeting notes");
	first = check_footer_part(back, 2);
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(first), "multipart",
			  "alternative"));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(first)), 2);
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_signed)
{
	char *raw, *before, *after, *out, *segment;
	GMimeMessage *msg = parse_fixture("signed", &raw), *back;
	GMimeObject *first;
	const char *signed_start, *signed_end;

	before = g_mime_object_to_string(g_mime_message_get_mime_part(msg),
					 NULL);
	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_NONE);
	back = golden("signed", msg);
	first = check_footer_part(back, 2);
	ck_assert(GMIME_IS_MULTIPART_SIGNED(first));
	/* the signed entity, as read back, serializes as it came */
	after = g_mime_object_to_string(first, NULL);
	ck_assert_str_eq(after, before);
	/* and its bytes, boundary to boundary, are in the output file */
	signed_start = strstr(raw, "--sig-boundary\n");
	signed_end = strstr(raw, "--sig-boundary--\n");
	ck_assert(signed_start != NULL && signed_end != NULL);
	out = serialize(back);
	segment = fg_xstrndup(signed_start,
			      (size_t)(signed_end - signed_start));
	ck_assert_ptr_nonnull(strstr(out, segment));
	free(segment);
	g_free(before);
	g_free(after);
	free(out);
	free(raw);
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_html_only)
{
	GMimeMessage *msg = parse_fixture("html-only", NULL), *back;
	GMimeObject *first;
	char *text;

	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_NONE);
	back = golden("html-only", msg);
	first = check_footer_part(back, 2);
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(first), "text", "html"));
	text = part_text(first);
	ck_assert_str_eq(text, "<html><body><p>Only HTML here.</p></body>"
			 "</html>\n");
	free(text);
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_golden_mixed)
{
	GMimeMessage *msg = parse_fixture("mixed", NULL), *back;
	GMimeObject *top;

	distribute(msg, FOOTER_ASCII, FG_LISTMSG_DMARC_NONE);
	back = golden("mixed", msg);
	/* Mailman's multipart/mixed case: the footer is one more part */
	check_footer_part(back, 3);
	top = g_mime_message_get_mime_part(back);
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(top,
								   "boundary"),
			 "mix-boundary");
	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Re: report");
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

/* approve_case - the passphrase case NAME: approval, then tag */
static GMimeMessage *approve_case(const char *name, const char *secret,
				  enum fg_listmsg_approve want)
{
	GMimeMessage *msg = parse_fixture(name, NULL), *back;
	enum fg_listmsg_approve result;
	const char *error = NULL;
	char *out, *lower;

	ck_assert_int_eq(fg_listmsg_approval(msg, secret, &result, &error), 0);
	ck_assert_int_eq(result, want);
	ck_assert_int_eq(fg_listmsg_tag_subject(msg, "forum", 0, &error), 0);
	back = golden(name, msg);
	out = serialize(back);
	ck_assert_msg(strstr(out, "s3cret-pass") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "other-pass") == NULL, "%s", out);
	lower = g_ascii_strdown(out, -1);
	ck_assert_msg(strstr(lower, "approve:") == NULL, "%s", out);
	ck_assert_msg(strstr(lower, "approved:") == NULL, "%s", out);
	g_free(lower);
	free(out);
	g_object_unref(msg);
	return back;
}

START_TEST(test_approve_header)
{
	GMimeMessage *back = approve_case("approve-header", "s3cret-pass",
					  FG_LISTMSG_APPROVE_MATCH);

	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Announcement");
	g_object_unref(back);
}
END_TEST

START_TEST(test_approve_subject)
{
	GMimeMessage *back = approve_case("approve-subject", "wrong",
					  FG_LISTMSG_APPROVE_MISMATCH);

	ck_assert_str_eq(g_mime_message_get_subject(back),
			 "[forum] Announcement");
	g_object_unref(back);
}
END_TEST

START_TEST(test_approve_body)
{
	GMimeMessage *back = approve_case("approve-body", "s3cret-pass",
					  FG_LISTMSG_APPROVE_MATCH);
	GMimeObject *alt = g_mime_message_get_mime_part(back);
	char *text = part_text(g_mime_multipart_get_part(GMIME_MULTIPART(alt),
							 0));

	ck_assert_str_eq(text, "\nThe post itself.");
	free(text);
	g_object_unref(back);
}
END_TEST

START_TEST(test_approve_none)
{
	GMimeMessage *msg = parse_fixture("plain-utf8", NULL);
	enum fg_listmsg_approve result;
	const char *error = NULL;
	char *before = serialize(msg);

	ck_assert_int_eq(fg_listmsg_approval(msg, "s3cret-pass", &result,
					     &error), 0);
	ck_assert_int_eq(result, FG_LISTMSG_APPROVE_NONE);
	check_unchanged(msg, before);
}
END_TEST

START_TEST(test_tag_text)
{
	static const struct {
		const char *in, *out;
		long long number;
	} cases[] = {
		{ "Hello", "[forum] Hello", 0 },
		{ "[forum] Hello", "[forum] Hello", 0 },
		{ "Re: [forum] Hello", "[forum] Re: Hello", 0 },
		{ "RE: Re: aw: [forum] Hello", "[forum] Re: Hello", 0 },
		{ "Re[2]: [forum] Hello", "[forum] Re: Hello", 0 },
		{ "SV: VS: Hello", "[forum] Re: Hello", 0 },
		{ "Fwd: [forum] Hello", "[forum] Fwd: Hello", 0 },
		{ "[forum] Re: [forum] Hello", "[forum] Re: Hello", 0 },
		{ "[FORUM] Hello", "[forum] Hello", 0 },
		{ "[forum-dev] Hello", "[forum] [forum-dev] Hello", 0 },
		{ "Hello [forum]", "[forum] Hello", 0 },
		{ "", "[forum] (no subject)", 0 },
		{ "[forum]", "[forum] (no subject)", 0 },
		{ "Re:", "[forum] Re: (no subject)", 0 },
		{ "Hello\r\nBcc: x@example.org", "[forum] Hello Bcc: x@example.org",
		  0 },
		{ "Re: [forum 41] Hello", "[forum 42] Re: Hello", 42 },
		{ "[forum] Hello", "[forum 7] [forum] Hello", 7 },
		{ "Rex: Hello", "[forum] Rex: Hello", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = fg_listmsg_tag_text(cases[i].in, "forum",
						cases[i].number);
		ck_assert_msg(strcmp(got, cases[i].out) == 0,
			      "%s -> %s, want %s", cases[i].in, got,
			      cases[i].out);
		free(got);
	}
}
END_TEST

START_TEST(test_tag_long)
{
	char *long_subject = fg_xmalloc(100001), *got;

	memset(long_subject, 'x', 100000);
	long_subject[100000] = '\0';
	got = fg_listmsg_tag_text(long_subject, "forum", 0);
	ck_assert_uint_eq(strlen(got), strlen("[forum] ") +
			  FG_LISTMSG_SUBJECT_MAX);
	free(got);
	free(long_subject);
}
END_TEST

START_TEST(test_token)
{
	const char *error = NULL;
	char *token = fg_listmsg_unsub_token(SECRET, "forum", RECIPIENT,
					     EXPIRES);
	char *list, *rcpt, *bad;

	ck_assert_ptr_nonnull(token);
	ck_assert_int_eq(fg_listmsg_unsub_verify(SECRET, token, 1700000000LL,
						 &list, &rcpt, &error), 1);
	ck_assert_str_eq(list, "forum");
	ck_assert_str_eq(rcpt, "member@example.com");
	free(list);
	free(rcpt);
	/* expired */
	ck_assert_int_eq(fg_listmsg_unsub_verify(SECRET, token, EXPIRES + 1,
						 &list, &rcpt, &error), 0);
	ck_assert_ptr_nonnull(strstr(error, "expired"));
	ck_assert_ptr_null(list);
	/* another secret */
	ck_assert_int_eq(fg_listmsg_unsub_verify("other", token, 0, &list,
						 &rcpt, &error), 0);
	/* every single character changed */
	for (size_t i = 0; token[i] != '\0'; i++) {
		bad = fg_xstrdup(token);
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		ck_assert_msg(fg_listmsg_unsub_verify(SECRET, bad, 0, &list,
						      &rcpt, &error) < 1,
			      "%s verified", bad);
		ck_assert_ptr_null(rcpt);
		free(bad);
	}
	/* a longer expiry with the old MAC */
	bad = fg_xstrdup(token);
	bad[strlen("u1.forum.")] = '5';
	ck_assert_int_lt(fg_listmsg_unsub_verify(SECRET, bad, 0, &list, &rcpt,
						 &error), 1);
	free(bad);
	ck_assert_int_eq(fg_listmsg_unsub_verify(SECRET, "u1.forum", 0, &list,
						 &rcpt, &error), -1);
	ck_assert_int_eq(fg_listmsg_unsub_verify(SECRET, "", 0, &list, &rcpt,
						 &error), -1);
	/* what cannot be in a token */
	ck_assert_ptr_null(fg_listmsg_unsub_token(SECRET, "Bad.List", RECIPIENT,
						  EXPIRES));
	ck_assert_ptr_null(fg_listmsg_unsub_token(SECRET, "forum",
						  "a@b\r\nBcc: c@d", EXPIRES));
	ck_assert_ptr_null(fg_listmsg_unsub_token("", "forum", RECIPIENT,
						  EXPIRES));
	free(token);
}
END_TEST

START_TEST(test_hostile_values)
{
	GMimeMessage *msg = parse_fixture("plain-utf8", NULL);
	struct fg_listmsg_list list = t_list;
	const char *error = NULL;
	char *before = serialize(msg), *footer;
	bool munged;

	list.name = "forum\r\nBcc: x@example.org";
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &list, TOPIC, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "list name"));
	list = t_list;
	list.address = "forum@lists.test\nBcc: x@example.org";
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &list, TOPIC, &error), -1);
	list = t_list;
	list.display_name = "Forum\r\nBcc: x@example.org";
	ck_assert_int_eq(fg_listmsg_dmarc(msg, &list, FG_LISTMSG_DMARC_REJECT,
					  false, &munged, &error), -1);
	list = t_list;
	list.list_id = "forum.lists.test>\r\nX: y";
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &list, NULL, &error), -1);
	list = t_list;
	list.unsubscribe_base = "https://lists.test/u\r\nBcc: x@example.org";
	ck_assert_int_eq(fg_listmsg_set_unsubscribe(msg, &list, SECRET,
						    RECIPIENT, EXPIRES,
						    &error), -1);
	list.unsubscribe_base = "http://lists.test/u";
	ck_assert_int_eq(fg_listmsg_set_unsubscribe(msg, &list, SECRET,
						    RECIPIENT, EXPIRES,
						    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "https"));
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &t_list,
						TOPIC "\r\nBcc: x@example.org",
						&error), -1);
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &t_list,
						"javascript:alert(1)", &error),
			 -1);
	ck_assert_int_eq(fg_listmsg_tag_subject(msg, "forum]\r\n", 0, &error),
			 -1);
	ck_assert_int_eq(fg_listmsg_set_unsubscribe(msg, &t_list, SECRET,
						    "x@y\r\nBcc: z@w", EXPIRES,
						    &error), -1);
	ck_assert_int_eq(fg_listmsg_add_footer(msg, "\xff\xfe", &error), -1);
	footer = fg_xmalloc(FG_LISTMSG_FOOTER_MAX + 2);
	memset(footer, 'f', FG_LISTMSG_FOOTER_MAX + 1);
	footer[FG_LISTMSG_FOOTER_MAX + 1] = '\0';
	ck_assert_int_eq(fg_listmsg_add_footer(msg, footer, &error), -1);
	free(footer);
	/* nothing changed by any refused call */
	check_unchanged(msg, before);
}
END_TEST

START_TEST(test_footer_expand)
{
	const char *error = NULL;
	char *text;

	ck_assert_int_eq(fg_listmsg_footer_expand(
				 "$list_name ${list_address} $$5 $unknown "
				 "$list_id ${topic_url}|$unsubscribe_url|\r\n",
				 &t_list, NULL, NULL, &text, &error), 0);
	ck_assert_str_eq(text, "forum forum@lists.test $5 $unknown "
			 "forum.lists.test ||\n");
	free(text);
}
END_TEST

START_TEST(test_dmarc_policy)
{
	GMimeMessage *msg = parse_fixture("mixed", NULL);
	const char *error = NULL;
	char *before = serialize(msg), *after;
	bool munged = true;

	/* no policy, not always: untouched */
	ck_assert_int_eq(fg_listmsg_dmarc(msg, &t_list, FG_LISTMSG_DMARC_NONE,
					  false, &munged, &error), 0);
	ck_assert(!munged);
	after = serialize(msg);
	ck_assert_str_eq(after, before);
	free(after);
	/* always */
	ck_assert_int_eq(fg_listmsg_dmarc(msg, &t_list, FG_LISTMSG_DMARC_NONE,
					  true, &munged, &error), 0);
	ck_assert(munged);
	ck_assert_str_eq(internet_address_get_name(
				 internet_address_list_get_address(
					 g_mime_message_get_from(msg), 0)),
			 "Frank via Forum Talk");
	free(before);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_looped)
{
	GMimeMessage *msg = parse_fixture("plain-utf8", NULL);
	const char *error = NULL;

	ck_assert(!fg_listmsg_looped(msg, &t_list));
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &t_list, NULL, &error), 0);
	ck_assert(fg_listmsg_looped(msg, &t_list));
	ck_assert_int_eq(header_count(msg, "List-Archive"), 0);
	g_object_unref(msg);
}
END_TEST

/* footer_msg - a message given as text, with the plain footer added */
static GMimeMessage *footer_msg(const char *text)
{
	GMimeMessage *msg = parse(text, strlen(text));
	const char *error = NULL;

	ck_assert_int_eq(fg_listmsg_add_footer(msg, "-- \nthe footer\n",
					       &error), 0);
	return msg;
}

START_TEST(test_footer_undecodable)
{
	/* bytes that are not US-ASCII, declared as such: Mailman wraps
	   rather than guess, and so does the list */
	GMimeMessage *msg = footer_msg(
		"From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Transfer-Encoding: 8bit\n\nCaf\xe9\n");
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	char *text;

	ck_assert(GMIME_IS_MULTIPART(top));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	text = part_text(g_mime_multipart_get_part(GMIME_MULTIPART(top), 1));
	ck_assert_str_eq(text, "-- \nthe footer\n");
	free(text);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_footer_plain_cases)
{
	GMimeMessage *msg;
	GMimeObject *top;
	char *text;

	/* no Content-Type at all: text/plain us-ascii, appended */
	msg = footer_msg("From: a@example.org\nSubject: x\n\nHello");
	top = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_PART(top));
	text = part_text(top);
	ck_assert_str_eq(text, "Hello\n-- \nthe footer\n");
	free(text);
	g_object_unref(msg);
	/* CR LF text keeps CR LF */
	msg = footer_msg("From: a@example.org\r\nSubject: x\r\n\r\n"
			 "Hello\r\n");
	text = part_text(g_mime_message_get_mime_part(msg));
	ck_assert_str_eq(text, "Hello\r\n-- \r\nthe footer\r\n");
	free(text);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_footer_long_line)
{
	const char *error = NULL;
	GMimeMessage *msg = parse("From: a@example.org\n\nHi\n", 22);
	char *footer = fg_xmalloc(1201);

	memset(footer, 'x', 1200);
	footer[1200] = '\0';
	ck_assert_int_eq(fg_listmsg_add_footer(msg, footer, &error), 0);
	/* 7bit cannot carry a line of 1200 */
	ck_assert_int_eq(g_mime_part_get_content_encoding(
				 GMIME_PART(g_mime_message_get_mime_part(msg))),
			 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	free(footer);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_dmarc_two_authors)
{
	static const char text[] =
		"From: a@example.org, b@example.org\nSubject: x\n\nHi\n";
	GMimeMessage *msg = parse(text, strlen(text));
	const char *error = NULL;
	char *before = serialize(msg);
	bool munged = true;

	ck_assert_int_eq(fg_listmsg_dmarc(msg, &t_list,
					  FG_LISTMSG_DMARC_REJECT, false,
					  &munged, &error), -1);
	ck_assert(!munged);
	ck_assert_ptr_nonnull(strstr(error, "one address"));
	check_unchanged(msg, before);
}
END_TEST

START_TEST(test_tag_numbered_message)
{
	static const char text[] =
		"From: a@example.org\nSubject: Re: [forum 9] =?utf-8?q?caf=C3=A9?="
		"\n\nHi\n";
	GMimeMessage *msg = parse(text, strlen(text));
	const char *error = NULL;

	ck_assert_int_eq(fg_listmsg_tag_subject(msg, "forum", 10, &error), 0);
	ck_assert_str_eq(g_mime_message_get_subject(msg),
			 "[forum 10] Re: café");
	g_object_unref(msg);
}
END_TEST

START_TEST(test_unsub_lines)
{
	GMimeMessage *msg = parse_fixture("plain-utf8", NULL), *copy;
	const char *error = NULL;
	char *lines, *body, *text;

	/* the lines in front of a message serialized once read as what
	   fg_listmsg_set_unsubscribe() writes */
	ck_assert_int_eq(fg_listmsg_set_headers(msg, &t_list, TOPIC, &error), 0);
	ck_assert(g_mime_object_remove_header(GMIME_OBJECT(msg),
					      "List-Unsubscribe"));
	body = serialize(msg);
	ck_assert_int_eq(fg_listmsg_unsub_lines(&t_list, SECRET, RECIPIENT,
						EXPIRES, &lines, &error), 0);
	ck_assert_ptr_null(strstr(lines, "\n\n"));
	text = fg_xasprintf("%s%s", lines, body);
	copy = parse(text, strlen(text));
	ck_assert_int_eq(fg_listmsg_set_unsubscribe(msg, &t_list, SECRET,
						    RECIPIENT, EXPIRES,
						    &error), 0);
	ck_assert_str_eq(g_mime_object_get_header(GMIME_OBJECT(copy),
						  "List-Unsubscribe"),
			 g_mime_object_get_header(GMIME_OBJECT(msg),
						  "List-Unsubscribe"));
	ck_assert_str_eq(g_mime_object_get_header(GMIME_OBJECT(copy),
						  "List-Unsubscribe-Post"),
			 "List-Unsubscribe=One-Click");
	ck_assert_int_eq(header_count(copy, "List-Unsubscribe"), 1);
	check_list_headers(copy);
	/* a bad recipient gives no lines */
	free(lines);
	ck_assert_int_eq(fg_listmsg_unsub_lines(&t_list, SECRET, "a\r\nb",
						EXPIRES, &lines, &error), -1);
	ck_assert_ptr_null(lines);
	free(text);
	free(body);
	g_object_unref(copy);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_approve_subject_injection)
{
	/* line breaks hidden in encoded words stay out of the new Subject */
	static const char text[] =
		"From: a@example.org\nSubject: =?utf-8?q?=5Bapprove=3Apw=5D_Hi"
		"=0D=0ABcc=3A_evil=40example=2Eorg?=\n\nHi\n";
	GMimeMessage *msg = parse(text, strlen(text));
	enum fg_listmsg_approve result;
	const char *error = NULL;
	char *out;

	ck_assert_int_eq(fg_listmsg_approval(msg, "pw", &result, &error), 0);
	ck_assert_int_eq(result, FG_LISTMSG_APPROVE_MATCH);
	out = serialize(msg);
	ck_assert_msg(strstr(out, "\nBcc:") == NULL, "%s", out);
	ck_assert_str_eq(g_mime_message_get_subject(msg),
			 "Hi Bcc: evil@example.org");
	ck_assert_int_eq(header_count(msg, "Bcc"), 0);
	free(out);
	g_object_unref(msg);
}
END_TEST

START_TEST(test_dmarc_name_injection)
{
	static const char text[] =
		"From: =?utf-8?q?Jane=0D=0ABcc=3A_x=40example=2Eorg?= "
		"<jane@example.org>\nSubject: x\n\nHi\n";
	GMimeMessage *msg = parse(text, strlen(text)), *back;
	const char *error = NULL;
	char *out;
	bool munged;

	ck_assert_int_eq(fg_listmsg_dmarc(msg, &t_list, FG_LISTMSG_DMARC_REJECT,
					  false, &munged, &error), 0);
	out = serialize(msg);
	back = parse(out, strlen(out));
	ck_assert_int_eq(header_count(back, "Bcc"), 0);
	ck_assert_str_eq(internet_address_get_name(
				 internet_address_list_get_address(
					 g_mime_message_get_reply_to(back), 0)),
			 "Jane Bcc: x@example.org");
	ck_assert_str_eq(internet_address_get_name(
				 internet_address_list_get_address(
					 g_mime_message_get_from(back), 0)),
			 "Jane Bcc: x--- via Forum Talk");
	free(out);
	g_object_unref(back);
	g_object_unref(msg);
}
END_TEST

/* a message forwarded to a person: the trace headers of its delivery go,
   the rest stays, CR LF line ends */
START_TEST(test_forward)
{
	static const char in[] =
		"Return-Path: <bob@example.org>\n"
		"Delivered-To: ml-owner@lists.example\n"
		"From: Bob <bob@example.org>\n"
		"To: ml-owner@lists.example\n"
		"Subject: Who runs this list?\n"
		"Message-ID: <q1@example.org>\n"
		"\n"
		"Hello.\n";
	const char *error = NULL;
	char *out;
	size_t size;

	ck_assert_int_eq(fg_listmsg_forward(in, sizeof(in) - 1, &out, &size,
					    &error), 0);
	ck_assert_uint_eq(strlen(out), size);
	ck_assert_ptr_null(strstr(out, "Return-Path"));
	ck_assert_ptr_null(strstr(out, "Delivered-To"));
	ck_assert_ptr_nonnull(strstr(out, "From: Bob <bob@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Subject: Who runs this list?\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nHello.\r\n"));
	ck_assert_ptr_null(strstr(out, "\n\n"));
	free(out);
}
END_TEST

/* listmsg_suite - the cases */
static Suite *listmsg_suite(void)
{
	Suite *s = suite_create("listmsg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_golden_plain_utf8);
	tcase_add_test(tc, test_golden_latin1_qp);
	tcase_add_test(tc, test_golden_latin1_euro);
	tcase_add_test(tc, test_golden_base64);
	tcase_add_test(tc, test_golden_alternative);
	tcase_add_test(tc, test_golden_signed);
	tcase_add_test(tc, test_golden_html_only);
	tcase_add_test(tc, test_golden_mixed);
	tcase_add_test(tc, test_approve_header);
	tcase_add_test(tc, test_approve_subject);
	tcase_add_test(tc, test_approve_body);
	tcase_add_test(tc, test_approve_none);
	tcase_add_test(tc, test_tag_text);
	tcase_add_test(tc, test_tag_long);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_hostile_values);
	tcase_add_test(tc, test_footer_expand);
	tcase_add_test(tc, test_dmarc_policy);
	tcase_add_test(tc, test_looped);
	tcase_add_test(tc, test_footer_undecodable);
	tcase_add_test(tc, test_footer_plain_cases);
	tcase_add_test(tc, test_footer_long_line);
	tcase_add_test(tc, test_dmarc_two_authors);
	tcase_add_test(tc, test_tag_numbered_message);
	tcase_add_test(tc, test_unsub_lines);
	tcase_add_test(tc, test_approve_subject_injection);
	tcase_add_test(tc, test_dmarc_name_injection);
	tcase_add_test(tc, test_forward);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fg_mail_init();
	sr = srunner_create(listmsg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
