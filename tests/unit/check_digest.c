/*
 * NAME
 *	check_digest - the digest builder and the digest's Redis records
 * DESCRIPTION
 *	fg_digest_order() and fg_digest_build() (fg-digest.c): thread
 *	order, the table of contents, the multipart/digest structure, the
 *	RFC 1153 form, hostile subjects with CR LF, 8-bit charsets. Then
 *	fg-store-digest.c against a real redis-server on a unix socket in
 *	a private directory: once per Message-ID, the bound, when an issue
 *	is due (asked, by size, by the hour), its numbers, the recipients'
 *	snapshot, a resume after a crash, the fencing, the finish. The
 *	Redis tests are skipped (exit 77 for them alone is not possible:
 *	the whole program exits 77) when redis-server is not installed.
 */
#include "fg-common.h"
#include "fg-digest.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"
#include "fg-store.h"
#include "fg-store-digest.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-redis.h"

static const struct fg_listmsg_list ml = {
	.name = "ml",
	.address = "ml@lists.example.org",
};

/* post - a small message: id, In-Reply-To and References may be NULL */
static char *post(const char *id, const char *irt, const char *refs,
		  const char *subject, const char *body)
{
	struct fg_buf b = { 0 };

	fg_buf_printf(&b, "From: Alice Example <alice@example.org>\r\n"
		      "To: ml@lists.example.org\r\n"
		      "Received: from x by y\r\n"
		      "X-BeenThere: ml@lists.example.org\r\n"
		      "List-Id: <ml.lists.example.org>\r\n"
		      "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
		      "Subject: %s\r\n", subject);
	if (id != NULL)
		fg_buf_printf(&b, "Message-ID: <%s>\r\n", id);
	if (irt != NULL)
		fg_buf_printf(&b, "In-Reply-To: <%s>\r\n", irt);
	if (refs != NULL)
		fg_buf_printf(&b, "References: %s\r\n", refs);
	fg_buf_printf(&b, "MIME-Version: 1.0\r\n"
		      "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		      body);
	return fg_buf_steal(&b);
}

/* parse - a message with GMime */
static GMimeMessage *parse(const char *data, size_t size)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/* part_text - the decoded content of a leaf part, LF line ends
   (caller frees) */
static char *part_text(GMimeObject *obj)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *stream = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *text;
	size_t j = 0;

	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	text = fg_xstrndup((const char *)bytes->data, bytes->len);
	g_object_unref(stream);
	for (size_t i = 0; text[i] != '\0'; i++) {
		if (text[i] != '\r' || text[i + 1] != '\n')
			text[j++] = text[i];
	}
	text[j] = '\0';
	return text;
}

/* build - fg_digest_build() of the posts, which must work */
static char *build(struct fg_digest_post *posts, size_t n,
		   enum fg_digest_format format, const char *footer,
		   size_t *size_r)
{
	struct fg_digest_set set = {
		.list = &ml, .volume = 2, .issue = 5, .date = 1796551200,
		.format = format, .footer = footer,
	};
	const char *error = NULL;
	char *data;

	if (fg_digest_build(posts, n, &set, &data, size_r, &error) < 0)
		ck_abort_msg("fg_digest_build: %s", error);
	return data;
}

START_TEST(test_thread_order)
{
	char *m[8];
	struct fg_digest_post posts[8];
	size_t order[8], n;
	/* arrival: A, B (new topic), C (re A), E (re an older topic X),
	   G (re B), D (re C), F (re X), and a message that is no MIME */
	static const size_t want[] = { 0, 2, 5, 1, 4, 3, 6 };

	m[0] = post("a@x", NULL, NULL, "A", "a");
	m[1] = post("b@x", NULL, NULL, "B", "b");
	m[2] = post("c@x", "a@x", "<a@x>", "Re: A", "c");
	m[3] = post("e@x", "x@x", "<x@x>", "Re: X", "e");
	m[4] = post("g@x", "b@x", "<b@x>", "Re: B", "g");
	m[5] = post("d@x", "c@x", "<a@x> <c@x>", "Re: A", "d");
	m[6] = post("f@x", NULL, "<x@x> <gone@x>", "Re: X", "f");
	m[7] = fg_xstrdup("");
	for (size_t i = 0; i < 8; i++) {
		posts[i].message = m[i];
		posts[i].size = strlen(m[i]);
		posts[i].url = NULL;
	}
	n = fg_digest_order(posts, 8, order);
	ck_assert_uint_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(order[i], want[i]);
	for (size_t i = 0; i < 8; i++)
		free(m[i]);
}
END_TEST

START_TEST(test_thread_cycle)
{
	char *m[2] = {
		post("p@x", "q@x", "<q@x>", "P", "p"),
		post("q@x", "p@x", "<p@x>", "Q", "q"),
	};
	struct fg_digest_post posts[2] = {
		{ m[0], strlen(m[0]), NULL }, { m[1], strlen(m[1]), NULL },
	};
	size_t order[2];

	/* replies to each other: both placed once, none lost */
	ck_assert_uint_eq(fg_digest_order(posts, 2, order), 2);
	ck_assert_uint_ne(order[0], order[1]);
	free(m[0]);
	free(m[1]);
}
END_TEST

START_TEST(test_mime_digest)
{
	char *m[3] = {
		post("a@x", NULL, NULL, "[ml] Hello", "first"),
		post("b@x", NULL, NULL, "[ml] Other", "second"),
		post("c@x", "a@x", "<a@x>", "[ml] Re: Hello", "third"),
	};
	struct fg_digest_post posts[3] = {
		{ m[0], strlen(m[0]), "https://forum.example.org/t/7" },
		{ m[1], strlen(m[1]), NULL },
		{ m[2], strlen(m[2]), "https://forum.example.org/t/7/2" },
	};
	GMimeMessage *msg;
	GMimeObject *top, *toc, *dig, *foot;
	GMimeMessage *inner;
	char *data, *text;
	const char *p;
	size_t size;

	data = build(posts, 3, FG_DIGEST_MIME, "-- \n$list_name at $list_address",
		     &size);
	for (p = strchr(data, '\n'); p != NULL; p = strchr(p + 1, '\n'))
		ck_assert_int_eq(p[-1], '\r');
	msg = parse(data, size);
	ck_assert_str_eq(g_mime_message_get_subject(msg),
			 "[ml] Digest, Vol 2, Issue 5");
	ck_assert_str_eq(g_mime_message_get_message_id(msg),
			 "digest.2.5.1796551200.ml@lists.example.org");
	ck_assert_ptr_nonnull(strstr(data, "From: ml <ml-request@lists."
				     "example.org>\r\n"));
	ck_assert_ptr_nonnull(g_mime_object_get_header(GMIME_OBJECT(msg),
						       "List-Id"));
	ck_assert_ptr_nonnull(g_mime_object_get_header(GMIME_OBJECT(msg),
						       "List-Unsubscribe"));
	top = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_MULTIPART(top));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 3);
	toc = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	dig = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
	foot = g_mime_multipart_get_part(GMIME_MULTIPART(top), 2);
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(dig), "multipart",
			  "digest"));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(dig)), 3);
	text = part_text(toc);
	ck_assert_ptr_nonnull(strstr(text, "Today's Topics:\n\n"
				     "   1. [ml] Hello (Alice Example)\n"
				     "      https://forum.example.org/t/7\n"
				     "   2. [ml] Re: Hello (Alice Example)\n"
				     "      https://forum.example.org/t/7/2\n"
				     "   3. [ml] Other (Alice Example)\n"));
	free(text);
	/* thread order in the digest too: a, c, b */
	inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(
		g_mime_multipart_get_part(GMIME_MULTIPART(dig), 1)));
	ck_assert_str_eq(g_mime_message_get_message_id(inner), "c@x");
	ck_assert_ptr_nonnull(g_mime_object_get_header(GMIME_OBJECT(inner),
						       "In-Reply-To"));
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(inner),
						    "Received"));
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(inner),
						    "X-BeenThere"));
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(inner),
						    "List-Id"));
	text = part_text(foot);
	ck_assert_str_eq(text, "-- \nml at ml@lists.example.org");
	free(text);
	g_object_unref(msg);
	free(data);
	for (size_t i = 0; i < 3; i++)
		free(m[i]);
}
END_TEST

START_TEST(test_personal_unsubscribe)
{
	char *m = post("a@x", NULL, NULL, "Hi", "x");
	struct fg_digest_post p = { m, strlen(m), NULL };
	struct fg_digest_set set = {
		.list = &ml, .volume = 1, .issue = 1, .date = 1,
		.personal_unsubscribe = true,
	};
	const char *error;
	char *data;
	size_t size;

	ck_assert_int_eq(fg_digest_build(&p, 1, &set, &data, &size, &error),
			 0);
	ck_assert_ptr_null(strstr(data, "List-Unsubscribe"));
	ck_assert_ptr_nonnull(strstr(data, "\r\nList-Post: "));
	free(data);
	free(m);
}
END_TEST

START_TEST(test_rfc1153)
{
	char *m[2] = {
		post("a@x", NULL, NULL, "Hello",
		     "line one\r\n------------------------------\r\nend"),
		fg_xstrdup("From: Bob <bob@example.org>\r\n"
			   "Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n"
			   "Message-ID: <b@x>\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: multipart/mixed; boundary=\"B\"\r\n"
			   "\r\n--B\r\n"
			   "Content-Type: text/plain; charset=iso-8859-1\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n"
			   "Gr\xfc\xdf" "e aus K\xf6ln\r\n"
			   "--B\r\n"
			   "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
			   "Content-Disposition: attachment; "
			   "filename=\"a.pdf\"\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n"
			   "JVBERg==\r\n--B--\r\n"),
	};
	struct fg_digest_post posts[2] = {
		{ m[0], strlen(m[0]), "https://forum.example.org/t/1" },
		{ m[1], strlen(m[1]), NULL },
	};
	GMimeMessage *msg;
	GMimeObject *body;
	char *data, *text;
	size_t size;

	data = build(posts, 2, FG_DIGEST_RFC1153, "footer text", &size);
	msg = parse(data, size);
	body = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_PART(body));
	ck_assert(g_mime_content_type_is_type(
			  g_mime_object_get_content_type(body), "text",
			  "plain"));
	text = part_text(body);
	ck_assert(g_utf8_validate(text, -1, NULL));
	ck_assert_ptr_nonnull(strstr(text,
		"   1. Hello (Alice Example)\n"
		"      https://forum.example.org/t/1\n"
		"   2. Gr\xc3\xbc\xc3\x9f" "e (Bob)\n"
		"\n------------------------------------------------------------"
		"----------\n\nMessage: 1\n"
		"Date: Mon, 7 Dec 2026 10:00:00 +0000\n"
		"From: Alice Example <alice@example.org>\n"
		"Subject: Hello\nMessage-ID: <a@x>\n\n"
		"line one\n ------------------------------\nend\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"Message: 2\nFrom: Bob <bob@example.org>\n"
		"Subject: Gr\xc3\xbc\xc3\x9f" "e\nMessage-ID: <b@x>\n\n"
		"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n"));
	ck_assert_ptr_nonnull(strstr(text, "[attachment left out: a.pdf, "
				     "application/pdf]\n"));
	ck_assert_ptr_nonnull(strstr(text, "footer text\n\n"
				     "------------------------------\n\n"
				     "End of [ml] Digest, Vol 2, Issue 5\n"
				     "**********************************"
				     "\n"));
	free(text);
	g_object_unref(msg);
	free(data);
	free(m[0]);
	free(m[1]);
}
END_TEST

START_TEST(test_hostile_subject)
{
	char *m[2] = {
		post("a@x", NULL, NULL,
		     "=?utf-8?q?Hi=0D=0ABcc:_evil@example.net?=", "x"),
		/* raw 8-bit bytes that are no UTF-8, a bare CR */
		post("b@x", NULL, NULL, "Caf\xe9 \r au lait", "y"),
	};
	struct fg_digest_post posts[2] = {
		{ m[0], strlen(m[0]), "https://f.example/t/1\r\nBcc: x@y" },
		{ m[1], strlen(m[1]), NULL },
	};
	GMimeMessage *msg;
	GMimeObject *toc;
	char *data, *text;
	size_t size;

	data = build(posts, 2, FG_DIGEST_MIME, NULL, &size);
	ck_assert_ptr_null(strstr(data, "\r\nBcc:"));
	msg = parse(data, size);
	ck_assert_ptr_null(g_mime_object_get_header(GMIME_OBJECT(msg), "Bcc"));
	toc = g_mime_multipart_get_part(GMIME_MULTIPART(
		g_mime_message_get_mime_part(msg)), 0);
	text = part_text(toc);
	ck_assert(g_utf8_validate(text, -1, NULL));
	ck_assert_ptr_nonnull(strstr(text, "   1. Hi Bcc: evil@example.net "
				     "(Alice Example)\n      "
				     "https://f.example/t/1 Bcc: x@y\n"));
	ck_assert_ptr_null(strstr(text, "\nBcc"));
	ck_assert_ptr_nonnull(strstr(text, "   2. Caf"));
	free(text);
	g_object_unref(msg);
	free(data);
	free(m[0]);
	free(m[1]);
}
END_TEST

START_TEST(test_long_subject_and_errors)
{
	char subject[600], *m, *data;
	struct fg_digest_post p;
	struct fg_listmsg_list bad = { .name = "ml", .address = "ml\r\n@x" };
	struct fg_digest_set set = { .list = &bad, .volume = 1, .issue = 1 };
	const char *error;
	size_t size;

	/* 2-byte characters: cut at a character boundary */
	for (size_t i = 0; i + 2 < sizeof(subject); i += 2)
		memcpy(subject + i, "\xc3\xa9", 2);
	subject[sizeof(subject) - 2] = '\0';
	m = post("a@x", NULL, NULL, subject, "x");
	p = (struct fg_digest_post){ m, strlen(m), NULL };
	data = build(&p, 1, FG_DIGEST_RFC1153, NULL, &size);
	ck_assert_ptr_nonnull(data);
	free(data);
	ck_assert_int_eq(fg_digest_build(&p, 1, &set, &data, &size, &error),
			 -1);
	set.list = &ml;
	p.message = "";
	p.size = 0;
	ck_assert_int_eq(fg_digest_build(&p, 1, &set, &data, &size, &error),
			 -1);
	ck_assert_ptr_nonnull(strstr(error, "no post"));
	free(m);
}
END_TEST

/* The Redis part. */
static struct fg_store *store;

static void setup(void)
{
	const char *error;

	if (fg_store_connect(address, 2000, &store, &error) < 0)
		ck_abort_msg("connect: %s", error);
	fg_store_set_retention(store, 30LL * 86400000, 30LL * 86400000, 100);
}

static void teardown(void)
{
	fg_store_free(&store);
}

/* lease - the fan-out lease of list for consumer, a new token */
static struct fg_lease lease(const char *list, const char *consumer)
{
	struct fg_lease l = { consumer, 0 };
	const char *error;

	ck_assert_int_eq(fg_store_queue_lease(store, list, FG_QUEUE_DIST, &l,
					      10000, NULL, &error), 1);
	return l;
}

/* add - one post of size bytes; the result of fg_store_digest_add */
static int add(const char *list, const struct fg_lease *l, const char *id,
	       size_t size, long long max)
{
	char *copy = fg_xcalloc(size + 1, 1);
	const char *error;
	int ret;

	memset(copy, 'x', size);
	ret = fg_store_digest_add(store, list, l, id, copy, size, max, &error);
	ck_assert_int_ge(ret, 0);
	free(copy);
	return ret;
}

/* due_now - nothing due by the hour or the size */
static struct fg_digest_due due_now(long long size_max)
{
	struct fg_digest_due due = {
		.now = 2000000000, .since = 0, .size_max = size_max,
		.bytes_max = 1000000, .posts_max = 100, .month = 202612,
	};
	return due;
}

/* take - fg_store_digest_take(), which must answer */
static int take(const char *list, const struct fg_lease *l,
		const struct fg_digest_due *due, struct fg_digest_issue *is)
{
	const char *error = NULL;
	int ret = fg_store_digest_take(store, list, l, due, is, &error);

	if (ret < 0)
		ck_abort_msg("take: %s", error);
	return ret;
}

START_TEST(test_store_issue)
{
	struct fg_lease l = lease("d1", "daemon-a");
	struct fg_digest_due due = due_now(0);
	struct fg_digest_issue is, again;
	struct fg_digest_stored *posts;
	struct fg_digest_status st;
	const char *error;
	char **rcpts;
	size_t n;

	ck_assert_int_ge(fg_store_subscriber_set(store, "d1", "zed@x.org",
						 "digest", &error), 0);
	ck_assert_int_ge(fg_store_subscriber_set(store, "d1", "amy@x.org",
						 "digest", &error), 0);
	ck_assert_int_ge(fg_store_subscriber_set(store, "d1", "bob@x.org",
						 "enabled", &error), 0);
	ck_assert_int_eq(take("d1", &l, &due, &is), FG_DIGEST_NOT_DUE);
	ck_assert_int_eq(add("d1", &l, "m1@x", 100, 10), 1);
	ck_assert_int_eq(add("d1", &l, "m1@x", 100, 10), 2);
	ck_assert_int_eq(add("d1", &l, "m2@x", 50, 10), 1);
	/* the first post set last_sent: nothing due before the hour */
	ck_assert_int_eq(take("d1", &l, &due, &is), FG_DIGEST_NOT_DUE);
	ck_assert_int_eq(fg_store_digest_status(store, "d1", &st, &error), 0);
	ck_assert_int_eq(st.posts, 2);
	ck_assert_int_eq(st.size, 150);
	ck_assert_int_eq(fg_store_digest_send_now(store, "d1", &error), 0);
	ck_assert_int_eq(take("d1", &l, &due, &is), FG_DIGEST_GO);
	ck_assert(!is.resumed);
	ck_assert_int_eq(is.volume, 1);
	ck_assert_int_eq(is.issue, 1);
	ck_assert_int_eq(is.posts, 2);
	ck_assert_int_eq(is.size, 150);
	ck_assert_int_eq(is.total, 2);
	ck_assert_int_eq(is.date, 2000000000);
	ck_assert_int_eq(fg_store_digest_recipients(store, "d1", 0, 10, &rcpts,
						    &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rcpts[0], "amy@x.org");
	ck_assert_str_eq(rcpts[1], "zed@x.org");
	fg_strv_free(rcpts, n);
	ck_assert_int_eq(fg_store_digest_posts(store, "d1", &is, &posts, &n,
					       &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(posts[0].message_id, "m1@x");
	ck_assert_uint_eq(posts[1].size, 50);
	fg_store_digest_posts_free(posts, n);
	/* a post that comes meanwhile waits for the next issue */
	ck_assert_int_eq(add("d1", &l, "m3@x", 10, 10), 1);
	ck_assert_int_eq(fg_store_digest_record(store, "d1", &l, is.first, 1,
						1, 0, &error), 1);
	/* a crash: the issue comes back where it was, under a new lease */
	l = lease("d1", "daemon-a");
	ck_assert_int_eq(take("d1", &l, &due, &again), FG_DIGEST_GO);
	ck_assert(again.resumed);
	ck_assert_int_eq(again.next, 1);
	ck_assert_int_eq(again.sent, 1);
	ck_assert_int_eq(again.date, 2000000000);
	ck_assert_str_eq(again.first, is.first);
	ck_assert_str_eq(again.last, is.last);
	ck_assert_int_eq(fg_store_digest_finish(store, "d1", &l, is.first,
						2000000100, &error), 1);
	ck_assert_int_eq(fg_store_digest_status(store, "d1", &st, &error), 0);
	ck_assert_int_eq(st.posts, 1);
	ck_assert_int_eq(st.size, 10);
	ck_assert_int_eq(st.issues, 1);
	ck_assert_int_eq(st.last_sent, 2000000100);
	ck_assert(!st.sending);
	ck_assert(!st.send_now);
	/* by the hour: the next one, same month, is issue 2 */
	due.since = 2000000200;
	ck_assert_int_eq(take("d1", &l, &due, &is), FG_DIGEST_GO);
	ck_assert_int_eq(is.volume, 1);
	ck_assert_int_eq(is.issue, 2);
	ck_assert_int_eq(is.posts, 1);
	ck_assert_int_eq(fg_store_digest_finish(store, "d1", &l, is.first,
						2000000300, &error), 1);
	/* a new month: a new volume, issue 1 */
	ck_assert_int_eq(add("d1", &l, "m4@x", 10, 10), 1);
	due.since = 2000000400;
	due.month = 202701;
	ck_assert_int_eq(take("d1", &l, &due, &is), FG_DIGEST_GO);
	ck_assert_int_eq(is.volume, 2);
	ck_assert_int_eq(is.issue, 1);
}
END_TEST

START_TEST(test_store_size_bound_fence)
{
	struct fg_lease a = lease("d2", "daemon-a"), b;
	struct fg_digest_due due = due_now(250);
	struct fg_digest_issue is;
	const char *error;

	due.bytes_max = 250;

	ck_assert_int_eq(add("d2", &a, "m1@x", 100, 3), 1);
	ck_assert_int_eq(add("d2", &a, "m2@x", 100, 3), 1);
	ck_assert_int_eq(take("d2", &a, &due, &is), FG_DIGEST_NOT_DUE);
	ck_assert_int_eq(add("d2", &a, "m3@x", 100, 3), 1);
	/* full: left out, and not marked as added */
	ck_assert_int_eq(add("d2", &a, "m4@x", 100, 3), 3);
	/* 300 bytes reach 250: due; an issue holds 250 bytes at most */
	ck_assert_int_eq(take("d2", &a, &due, &is), FG_DIGEST_GO);
	ck_assert_int_eq(is.posts, 2);
	ck_assert_int_eq(is.size, 200);
	/* another daemon took the list over: the first records nothing */
	b = lease("d2", "daemon-a");
	ck_assert_int_eq(fg_store_digest_record(store, "d2", &a, is.first, 1,
						1, 0, &error), 0);
	ck_assert_int_eq(fg_store_digest_finish(store, "d2", &a, is.first, 1,
						&error), 0);
	ck_assert_int_eq(take("d2", &a, &due, &is), FG_DIGEST_LOST);
	ck_assert_int_eq(fg_store_digest_finish(store, "d2", &b, is.first, 1,
						&error), 0);
	ck_assert_int_eq(take("d2", &b, &due, &is), FG_DIGEST_GO);
	ck_assert(is.resumed);
	ck_assert_int_eq(fg_store_digest_finish(store, "d2", &b, is.first, 1,
						&error), 1);
	/* 100 bytes left: under the size, and last_sent is now */
	due.since = 0;
	ck_assert_int_eq(take("d2", &b, &due, &is), FG_DIGEST_NOT_DUE);
	ck_assert_int_eq(add("d2", &b, "m4@x", 100, 3), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("digest");
	TCase *tb = tcase_create("build");
	TCase *tr = tcase_create("store");
	SRunner *sr;
	int failed;

	if (system("command -v redis-server >/dev/null") != 0) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	fg_mail_init();
	redis_start();
	tcase_add_test(tb, test_thread_order);
	tcase_add_test(tb, test_thread_cycle);
	tcase_add_test(tb, test_mime_digest);
	tcase_add_test(tb, test_personal_unsubscribe);
	tcase_add_test(tb, test_rfc1153);
	tcase_add_test(tb, test_hostile_subject);
	tcase_add_test(tb, test_long_subject_and_errors);
	suite_add_tcase(s, tb);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_store_issue);
	tcase_add_test(tr, test_store_size_bound_fence);
	suite_add_tcase(s, tr);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_stop();
	fg_mail_deinit();
	return failed == 0 ? 0 : 1;
}
