/*
 * NAME
 *	fuzz_digest - libFuzzer target of the digest builder
 * DESCRIPTION
 *	The input is up to eight posts, separated by lines "\n--8<--\n",
 *	each a message as the list keeps it for the digest. The digest is
 *	built in both forms (fg_digest_build(): multipart/digest and RFC
 *	1153), with a link per post. Besides memory safety it asserts
 *	that
 *
 *	- when a post is a readable message the digest is built, and it
 *	  parses again with the list's Subject, Message-ID and no header
 *	  but the digest's own at the top (no header injected from a
 *	  post's subject, author or link);
 *	- the table of contents (the first text part) is valid UTF-8;
 *	- fg_digest_order() places every readable post once.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-digest.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_POSTS 8

static const struct fg_listmsg_list fuzz_list = {
	.name = "fz", .address = "fz@lists.example.org",
};

/* fuzz_top_headers_ok - the digest's own headers only */
static bool fuzz_top_headers_ok(GMimeMessage *msg)
{
	static const char *const own[] = {
		"From", "To", "Subject", "Date", "Message-Id", "MIME-Version",
		"List-Id", "List-Help", "List-Post", "List-Subscribe",
		"List-Unsubscribe", "List-Owner", "Precedence", "X-BeenThere",
		"Content-Type", "Content-Transfer-Encoding",
	};
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));

	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		const char *name = g_mime_header_get_name(
			g_mime_header_list_get_header_at(list, i));
		bool known = false;

		for (size_t k = 0; k < G_N_ELEMENTS(own) && !known; k++)
			known = g_ascii_strcasecmp(name, own[k]) == 0;
		if (!known)
			return false;
	}
	return true;
}

/* fuzz_first_text - the first leaf part's decoded bytes */
static char *fuzz_first_text(GMimeObject *obj)
{
	GMimeDataWrapper *content;
	GMimeStream *stream;
	GByteArray *bytes;
	char *text;

	while (GMIME_IS_MULTIPART(obj))
		obj = g_mime_multipart_get_part(GMIME_MULTIPART(obj), 0);
	FUZZ_ASSERT(GMIME_IS_PART(obj));
	content = g_mime_part_get_content(GMIME_PART(obj));
	stream = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	text = fg_xstrndup((const char *)bytes->data, bytes->len);
	g_object_unref(stream);
	return text;
}

/* fuzz_check - build one form and check it */
static void fuzz_check(const struct fg_digest_post *posts, size_t n,
		       enum fg_digest_format format, size_t readable)
{
	struct fg_digest_set set = {
		.list = &fuzz_list, .volume = 1, .issue = 2, .date = 1000,
		.format = format, .footer = "-- \n$list_name",
	};
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	const char *error;
	char *data, *text;
	size_t size;
	int ret;

	ret = fg_digest_build(posts, n, &set, &data, &size, &error);
	FUZZ_ASSERT((ret == 0) == (readable > 0));
	if (ret < 0)
		return;
	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	FUZZ_ASSERT(msg != NULL);
	FUZZ_ASSERT(strcmp(g_mime_message_get_subject(msg),
			   "[fz] Digest, Vol 1, Issue 2") == 0);
	FUZZ_ASSERT(strcmp(g_mime_message_get_message_id(msg),
			   "digest.1.2.1000.fz@lists.example.org") == 0);
	FUZZ_ASSERT(fuzz_top_headers_ok(msg));
	text = fuzz_first_text(g_mime_message_get_mime_part(msg));
	FUZZ_ASSERT(g_utf8_validate(text, -1, NULL));
	free(text);
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct fg_digest_post posts[FUZZ_POSTS];
	size_t order[FUZZ_POSTS], n = 0, readable;
	char *input = fg_xstrndup((const char *)data, size), *p = input;
	bool seen[FUZZ_POSTS] = { false };

	if (!init) {
		fg_mail_init();
		init = true;
	}
	while (n < FUZZ_POSTS) {
		char *sep = strstr(p, "\n--8<--\n");

		if (sep != NULL)
			*sep = '\0';
		posts[n].message = p;
		posts[n].size = strlen(p);
		posts[n].url = n % 2 == 0 ? p : "https://forum.example.org/t/1";
		n++;
		if (sep == NULL)
			break;
		p = sep + 8;
	}
	readable = fg_digest_order(posts, n, order);
	FUZZ_ASSERT(readable <= n);
	for (size_t i = 0; i < readable; i++) {
		FUZZ_ASSERT(order[i] < n && !seen[order[i]]);
		seen[order[i]] = true;
	}
	fuzz_check(posts, n, FG_DIGEST_MIME, readable);
	fuzz_check(posts, n, FG_DIGEST_RFC1153, readable);
	free(input);
	return 0;
}
