/*
 * NAME
 *	fuzz_verp - libFuzzer target of VERP and Message-ID decoding
 * DESCRIPTION
 *	The input, cut at NUL bytes into up to three strings, is what a
 *	bounce's recipient or a reply's In-Reply-To brings back:
 *	fg_verp_parse(), fg_msgid_parse_revision() and fg_msgid_normalize()
 *	read each of them. A VERP address or Message-ID that verifies
 *	must carry a valid list name and positive numbers.
 *
 *	Since a MAC is never guessed, the strings are also used the other
 *	way round, as a list name, a recipient and numbers that forumgate
 *	itself encodes: whatever fg_verp_make_post(),
 *	fg_verp_make_recipient() and fg_msgid_make_revision() produce
 *	must parse back to what went in (the recipient in lower case),
 *	and must stop verifying when one character of it changes.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-msgid.h"
#include "fg-verp.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_BASE "forum-bounces@lists.test"
#define FUZZ_DOMAIN "lists.test"
/* forum ids stay far below this; fg_msgid_parse takes 18 digits */
#define FUZZ_ID_MAX 1000000000000000LL

/* fuzz_decode - a string as a bounce address and as a Message-ID */
static void fuzz_decode(const char *s)
{
	struct fg_verp verp;
	struct fg_msgid_post named;
	char *list = NULL, *norm;
	int ret;

	ret = fg_verp_parse(FUZZ_SECRET, s, &verp);
	FUZZ_ASSERT(ret >= -1 && ret <= 1);
	if (ret == 1) {
		FUZZ_ASSERT(fg_list_name_valid(verp.list));
		if (verp.kind == FG_VERP_POST)
			FUZZ_ASSERT(verp.post_id > 0);
		else
			FUZZ_ASSERT(verp.recipient != NULL &&
				    strchr(verp.recipient, '@') != NULL);
	} else {
		FUZZ_ASSERT(verp.list == NULL && verp.recipient == NULL);
	}
	fg_verp_clear(&verp);

	ret = fg_msgid_parse_post(FUZZ_SECRET, s, &list, &named);
	FUZZ_ASSERT(ret == 0 || ret == 1);
	if (ret == 1) {
		/* a post is named by its number or by its id, never both */
		FUZZ_ASSERT(fg_list_name_valid(list) && named.topic_id > 0 &&
			    (named.post_number > 0) != (named.post_id > 0) &&
			    (named.revision == 0 || named.revision >= 2));
		free(list);
	} else {
		FUZZ_ASSERT(list == NULL);
	}

	norm = fg_msgid_normalize(s);
	if (norm != NULL) {
		FUZZ_ASSERT(*norm != '\0' && strlen(norm) <= strlen(s));
		for (const char *p = norm; *p != '\0'; p++)
			FUZZ_ASSERT(*p > ' ' && *p < 0x7f && *p != '<' &&
				    *p != '>');
		free(norm);
	}
}

/* fuzz_tampered - the address with one character of its extension
   (the MAC, the list or what it names; base and domain only route it)
   changed no longer verifies, or no longer claims to be ours */
static void fuzz_tampered(const char *addr, size_t pick)
{
	char *copy = fg_xstrdup(addr);
	char *ext = strchr(copy, '+'), *at = strrchr(copy, '@');
	struct fg_verp verp;
	size_t at_pos;

	FUZZ_ASSERT(ext != NULL && at != NULL && ext < at);
	ext += 1 + sizeof(FG_VERP_TAG);
	at_pos = (size_t)(ext - copy) + pick % (size_t)(at - ext);
	copy[at_pos] = copy[at_pos] == 'x' || copy[at_pos] == 'X' ? 'y' : 'x';
	FUZZ_ASSERT(fg_verp_parse(FUZZ_SECRET, copy, &verp) != 1);
	fg_verp_clear(&verp);
	free(copy);
}

/* fuzz_number - a positive id below FUZZ_ID_MAX from the input */
static long long fuzz_number(const uint8_t *data, size_t size, size_t skip)
{
	unsigned long long n = 0;

	for (size_t i = skip; i < size && i < skip + 8; i++)
		n = n << 8 | data[i];
	return (long long)(n % (unsigned long long)FUZZ_ID_MAX) + 1;
}

/* fuzz_encode - what forumgate makes of the strings parses back */
static void fuzz_encode(const char *list, const char *recipient,
			long long a, long long b, long long rev)
{
	struct fg_verp verp;
	struct fg_msgid_post named;
	long long topic, post, revision;
	char *addr, *id, *got = NULL;

	if (!fg_list_name_valid(list))
		return;
	addr = fg_verp_make_post(FUZZ_SECRET, list, a, FUZZ_BASE);
	FUZZ_ASSERT(addr != NULL);
	FUZZ_ASSERT(fg_verp_parse(FUZZ_SECRET, addr, &verp) == 1);
	FUZZ_ASSERT(verp.kind == FG_VERP_POST && verp.post_id == a &&
		    strcmp(verp.list, list) == 0);
	fg_verp_clear(&verp);
	fuzz_tampered(addr, (size_t)b);
	free(addr);

	addr = fg_verp_make_recipient(FUZZ_SECRET, list, recipient,
				      FUZZ_BASE);
	if (addr != NULL) {
		FUZZ_ASSERT(fg_verp_parse(FUZZ_SECRET, addr, &verp) == 1);
		FUZZ_ASSERT(verp.kind == FG_VERP_RECIPIENT &&
			    strcmp(verp.list, list) == 0 &&
			    strcasecmp(verp.recipient, recipient) == 0);
		fg_verp_clear(&verp);
		fuzz_tampered(addr, (size_t)a);
		free(addr);
	}

	id = fg_msgid_make_revision(FUZZ_SECRET, list, a, b, rev,
				    FUZZ_DOMAIN);
	FUZZ_ASSERT(fg_msgid_parse_revision(FUZZ_SECRET, id, &got, &topic,
					    &post, &revision) == 1);
	FUZZ_ASSERT(strcmp(got, list) == 0 && topic == a && post == b &&
		    revision == (rev > 1 ? rev : 0));
	free(got);
	/* a Message-ID as it comes back in a header */
	got = fg_xasprintf(" <%s>\t", id);
	free(id);
	id = fg_msgid_normalize(got);
	free(got);
	got = NULL;
	FUZZ_ASSERT(id != NULL);
	FUZZ_ASSERT(fg_msgid_parse(FUZZ_SECRET, id, &got, &topic, &post) == 1);
	free(got);
	free(id);

	/* the same post named by its id (a forum whose numbers move) */
	id = fg_msgid_make_post(FUZZ_SECRET, list, a, b, rev, FUZZ_DOMAIN);
	FUZZ_ASSERT(fg_msgid_parse_post(FUZZ_SECRET, id, &got, &named) == 1);
	FUZZ_ASSERT(strcmp(got, list) == 0 && named.topic_id == a &&
		    named.post_id == b && named.post_number == 0 &&
		    named.revision == (rev > 1 ? rev : 0));
	free(got);
	free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fg_xmalloc(size + 1);
	const char *s[3] = { copy, "", "" };
	size_t n = 1;

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i < size && n < 3; i++)
		if (copy[i] == '\0')
			s[n++] = copy + i + 1;
	for (size_t i = 0; i < n; i++)
		fuzz_decode(s[i]);
	fuzz_encode(s[0], s[1], fuzz_number(data, size, 0),
		    fuzz_number(data, size, 8),
		    fuzz_number(data, size, 16) % 5);
	free(copy);
	return 0;
}
