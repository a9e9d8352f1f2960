/*
 * NAME
 *	fuzz_listmsg - libFuzzer target of the list's changes to a post
 * DESCRIPTION
 *	The input is a message as a member would post it. GMime parses
 *	it, and every fg-listmsg change a list makes is applied in the
 *	chain's order: passphrase removal, subject tag, footer (with
 *	placeholders), DMARC From munging (always), list headers and a
 *	personal one-click unsubscribe. Besides memory safety it asserts
 *	that
 *
 *	- the result serializes and parses again (for an input without
 *	  NUL bytes, which GMime cannot keep in headers), with exactly one
 *	  List-Id, List-Post, Precedence and List-Unsubscribe-Post, no
 *	  Approved/Approve header left, and a From that is the list's;
 *	- the Subject, decoded, starts with "[forum] " and has no line
 *	  break;
 *	- the subject tag of the input's first line (as decoded text) is
 *	  placed once: tagging the result again changes nothing (for a
 *	  subject shorter than the bound);
 *	- an unsubscribe token made for the input's first line, when that
 *	  is an address, verifies and gives the address back.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_LINE_MAX 1000

static const struct fg_listmsg_list fuzz_list = {
	.name = "forum",
	.address = "forum@lists.test",
	.display_name = "Forum",
	.unsubscribe_base = "https://lists.test/fg/unsubscribe",
};

/* fuzz_count - how often the message has a header */
static int fuzz_count(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = 0;

	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		if (strcasecmp(g_mime_header_get_name(
			g_mime_header_list_get_header_at(list, i)), name) == 0)
			n++;
	}
	return n;
}

/* fuzz_parse - a message from bytes; NULL when GMime finds none */
static GMimeMessage *fuzz_parse(const void *data, size_t size)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	return msg;
}

/* fuzz_strings - the tag and the token on the first line */
static void fuzz_strings(const uint8_t *data, size_t size)
{
	size_t n = 0;
	char *line, *once, *twice, *token, *list, *rcpt;
	const char *error = NULL;

	while (n < size && n < FUZZ_LINE_MAX && data[n] != '\n')
		n++;
	line = fg_xstrndup((const char *)data, n);
	once = fg_listmsg_tag_text(line, "forum", (long long)(size % 3));
	FUZZ_ASSERT(strchr(once, '\n') == NULL && strchr(once, '\r') == NULL);
	if (strlen(once) < FG_LISTMSG_SUBJECT_MAX) {
		twice = fg_listmsg_tag_text(once, "forum",
					    (long long)(size % 3));
		FUZZ_ASSERT(strcmp(once, twice) == 0);
		free(twice);
	}
	free(once);
	token = fg_listmsg_unsub_token(FUZZ_SECRET, "forum", line,
				       4102444800LL);
	FUZZ_ASSERT((token != NULL) == fg_compose_address_valid(line));
	if (token != NULL) {
		FUZZ_ASSERT(fg_listmsg_unsub_verify(FUZZ_SECRET, token, 0, &list,
						    &rcpt, &error) == 1);
		FUZZ_ASSERT(strcasecmp(rcpt, line) == 0);
		free(list);
		free(rcpt);
		free(token);
	}
	/* the line as a token: whatever it is, no crash, no false yes */
	if (fg_listmsg_unsub_verify(FUZZ_SECRET, line, 0, &list, &rcpt,
				    &error) == 1) {
		FUZZ_ASSERT(fg_list_name_valid(list));
		free(list);
		free(rcpt);
	}
	free(line);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fg_mail_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GMimeMessage *msg, *back;
	enum fg_listmsg_approve approve;
	const char *error = NULL;
	char *footer = NULL, *out, *subject;
	GMimeStream *stream;
	GByteArray *bytes;
	size_t out_len;
	bool munged = false;
	int ret;

	fuzz_strings(data, size);
	msg = fuzz_parse(data, size);
	if (msg == NULL)
		return 0;
	FUZZ_ASSERT(fg_listmsg_approval(msg, "pass", &approve, &error) == 0);
	FUZZ_ASSERT(fg_listmsg_tag_subject(msg, "forum", 0, &error) == 0);
	FUZZ_ASSERT(fg_listmsg_footer_expand("-- \n$display_name $list_address\n"
					     "$topic_url $unsubscribe_url\n",
					     &fuzz_list, "https://forum.test/t/1",
					     NULL, &footer, &error) == 0);
	FUZZ_ASSERT(fg_listmsg_add_footer(msg, footer, &error) == 0);
	free(footer);
	/* a From that is not one address is refused, nothing else */
	ret = fg_listmsg_dmarc(msg, &fuzz_list, FG_LISTMSG_DMARC_NONE, true,
			       &munged, &error);
	FUZZ_ASSERT(ret == 0 || !munged);
	FUZZ_ASSERT(fg_listmsg_set_headers(msg, &fuzz_list,
					   "https://forum.test/t/1", &error) == 0);
	FUZZ_ASSERT(fg_listmsg_set_unsubscribe(msg, &fuzz_list, FUZZ_SECRET,
					       "member@example.com",
					       4102444800LL, &error) == 0);

	stream = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	out_len = bytes->len;
	out = fg_xmalloc(out_len + 1);
	memcpy(out, bytes->data, out_len);
	g_object_unref(stream);
	back = fuzz_parse(out, out_len);
	FUZZ_ASSERT(back != NULL);
	if (memchr(data, '\0', size) != NULL) {
		/* GMime keeps header text only up to a NUL: what follows
		   it is not read back the same; memory safety is checked */
		g_object_unref(back);
		free(out);
		g_object_unref(msg);
		return 0;
	}
	FUZZ_ASSERT(fuzz_count(back, "List-Id") == 1);
	FUZZ_ASSERT(fuzz_count(back, "List-Post") == 1);
	FUZZ_ASSERT(fuzz_count(back, "Precedence") == 1);
	FUZZ_ASSERT(fuzz_count(back, "List-Unsubscribe-Post") == 1);
	FUZZ_ASSERT(fuzz_count(back, "Approved") == 0);
	FUZZ_ASSERT(fuzz_count(back, "Approve") == 0);
	if (munged)
		FUZZ_ASSERT(strstr(g_mime_object_get_header(GMIME_OBJECT(back),
							    "From"),
				   "<forum@lists.test>") != NULL);
	subject = g_strdup(g_mime_message_get_subject(back));
	FUZZ_ASSERT(subject != NULL && strncmp(subject, "[forum] ", 8) == 0);
	FUZZ_ASSERT(strchr(subject, '\n') == NULL);
	g_free(subject);
	g_object_unref(back);
	free(out);
	g_object_unref(msg);
	return 0;
}
