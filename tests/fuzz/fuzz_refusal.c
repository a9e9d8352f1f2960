/*
 * NAME
 *	fuzz_refusal - libFuzzer target of the refusal notice parser
 * DESCRIPTION
 *	Feeds arbitrary bytes to fg_refusal_candidate() and
 *	fg_refusal_parse() as a message the list manager or an MTA sent
 *	back about a forum post of list "forum" (forum@lists.test), with
 *	the secret "fuzz-secret" of the seeds in corpus/refusal, once as
 *	delivered to the bridge address and once to the VERP address of
 *	post 4711 (the input's first byte chooses). It asserts what
 *	fg-refusal.h promises: 1 comes with a refusal, 0 with a reason
 *	why not; a refusal names the list, has a valid kind, names its
 *	post by a Message-ID of ours of that list (normalized, its MAC
 *	verifying) or by the VERP address, and its reason (never empty),
 *	subject and sender are one clean line each of at most
 *	FG_REFUSAL_REASON_MAX bytes, as fg_mail_clean_line() makes them.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-refusal.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-verp.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define SECRET "fuzz-secret"

/* fuzz_line - one clean, bounded line */
static void fuzz_line(const char *s, bool may_be_empty)
{
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(may_be_empty || *s != '\0');
	FUZZ_ASSERT(strlen(s) <= FG_REFUSAL_REASON_MAX);
	FUZZ_ASSERT(g_utf8_validate(s, -1, NULL));
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		FUZZ_ASSERT(*p >= ' ' && *p != 0x7f);
		FUZZ_ASSERT(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fg_verp verp;
	static bool ready;
	struct fg_refusal *r = NULL;
	const char *why = NULL;
	bool to_verp = size > 0 && (data[0] & 1) != 0;
	int ret;

	if (!ready) {
		char *addr = fg_verp_make_post(SECRET, "forum", 4711,
					       "bridge@lists.test");

		fg_mail_init();
		FUZZ_ASSERT(fg_verp_parse(SECRET, addr, &verp) == 1);
		free(addr);
		ready = true;
	}
	(void)fg_refusal_candidate("forum", data, size);
	ret = fg_refusal_parse(SECRET, "forum", "forum@lists.test",
			       to_verp ? &verp : NULL, data, size, &r, &why);
	FUZZ_ASSERT(ret == 0 || ret == 1);
	if (ret == 0) {
		FUZZ_ASSERT(r == NULL && why != NULL);
		return 0;
	}
	FUZZ_ASSERT(r != NULL && strcmp(r->list, "forum") == 0);
	FUZZ_ASSERT((unsigned int)r->kind < FG_REFUSAL_KIND_COUNT);
	if (r->message_id != NULL) {
		char *norm = fg_msgid_normalize(r->message_id), *list = NULL;
		long long topic, post;

		FUZZ_ASSERT(norm != NULL && strcmp(norm, r->message_id) == 0);
		FUZZ_ASSERT(fg_msgid_parse(SECRET, norm, &list, &topic,
					   &post) == 1);
		FUZZ_ASSERT(strcmp(list, "forum") == 0 &&
			    topic == r->topic_id && post == r->post_number);
		free(list);
		free(norm);
	} else {
		FUZZ_ASSERT(to_verp && r->post_id == 4711);
	}
	fuzz_line(r->reason, false);
	fuzz_line(r->subject, true);
	fuzz_line(r->notice_from, true);
	fg_refusal_free(&r);
	return 0;
}
