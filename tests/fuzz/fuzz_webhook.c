/*
 * NAME
 *	fuzz_webhook - libFuzzer target of the forum webhook readers
 * DESCRIPTION
 *	The first byte of the input picks the door the rest arrives at,
 *	as the bridge's webhook intake (bridge/bridge-webhook.c) would
 *	hand it over: a Discourse or generic webhook with event
 *	post_created, post_edited or another event, or a NodeBB webhook.
 *	The body goes to fg_webhook_parse() or fg_webhook_parse_nodebb()
 *	with and without a size limit, and to both signature checks with
 *	a signature cut from the body, which must never verify.
 *
 *	It asserts what the composer relies on: a post has positive ids,
 *	a non-empty username, every text member present and free of NUL
 *	bytes (a C string of the JSON string's length was checked by the
 *	reader), and a revision only for post_edited; any other result
 *	leaves *post_r NULL with a reason.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-record.h"
#include "fg-webhook.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_SECRET "fuzz-secret"

static const char *fuzz_events[] = {
	"post_created", "post_edited", "ping", "topic_created", "", NULL,
};

/* fuzz_post - the members a parsed post promises */
static void fuzz_post(const struct fg_post *post, bool edited)
{
	FUZZ_ASSERT(post->post_id > 0 && post->topic_id > 0 &&
		    post->post_number > 0);
	FUZZ_ASSERT(post->reply_to_post_number >= 0 &&
		    post->category_id >= 0 && post->user_id >= 0);
	FUZZ_ASSERT(post->username != NULL && *post->username != '\0');
	FUZZ_ASSERT(post->name != NULL && post->topic_title != NULL &&
		    post->raw != NULL && post->created_at != NULL);
	FUZZ_ASSERT(edited ? post->revision >= 2 : post->revision == 0);
	/* the rendered HTML is kept only where there is no Markdown */
	FUZZ_ASSERT(post->cooked == NULL || *post->raw == '\0');
}

/* fuzz_result - a result and what comes with it */
static void fuzz_result(int ret, struct fg_post **post, const char *error,
			bool edited)
{
	if (ret == FG_WEBHOOK_POST) {
		FUZZ_ASSERT(*post != NULL);
		fuzz_post(*post, edited);
		fg_post_free(post);
		FUZZ_ASSERT(*post == NULL);
		return;
	}
	FUZZ_ASSERT(ret == FG_WEBHOOK_IGNORE || ret == FG_WEBHOOK_INVALID ||
		    ret == FG_WEBHOOK_TOO_LARGE);
	FUZZ_ASSERT(*post == NULL && error != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1, *error = NULL;
	struct fg_post *post = NULL;
	size_t len, limit;
	char sig[80];
	int ret;

	if (size == 0)
		return 0;
	len = size - 1;
	/* half of the runs with a limit the body may exceed */
	limit = (data[0] & 0x80) != 0 ? 64 : 0;
	if ((data[0] & 0x7f) % 7 == 6) {
		ret = fg_webhook_parse_nodebb(body, len, limit, &post, &error);
		fuzz_result(ret, &post, error, false);
	} else {
		const char *event = fuzz_events[(data[0] & 0x7f) % 7 % 6];
		ret = fg_webhook_parse(event, body, len, limit, &post, &error);
		fuzz_result(ret, &post, error,
			    event != NULL && strcmp(event, "post_edited") == 0);
	}
	if (limit > 0 && len > limit)
		FUZZ_ASSERT(ret == FG_WEBHOOK_TOO_LARGE);

	/* a signature an attacker wrote never verifies */
	snprintf(sig, sizeof(sig), "sha256=%.*s",
		 (int)(len < 64 ? len : 64), body);
	if (memchr(body, '\0', len < 64 ? len : 64) == NULL)
		FUZZ_ASSERT(fg_webhook_verify(FUZZ_SECRET, body, len, sig,
					      &error) < 0);
	snprintf(sig, sizeof(sig), "sha1=%.*s", (int)(len < 40 ? len : 40),
		 body);
	if (memchr(body, '\0', len < 40 ? len : 40) == NULL)
		FUZZ_ASSERT(fg_webhook_verify_nodebb(FUZZ_SECRET, body, len,
						     sig, &error) < 0);
	return 0;
}
