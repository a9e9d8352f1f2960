/*
 * NAME
 *	check_bridge - unit tests of the bridge daemon's library modules
 * DESCRIPTION
 *	fg-webhook (signatures, payloads, events, limits), the answer
 *	classification of fg-discourse and fg-smtp, and the threading
 *	rules of fg-threading over a map kept in memory. Nothing here
 *	needs a server: the only sockets are loopback ports that are
 *	known to be closed.
 *
 *	The program is linked with -Wl,--wrap=fg_mem_equal_ct, so the
 *	tests see every call of the constant-time comparison and can
 *	check that signature checks go through it.
 */
#include "fg-common.h"
#include "fg-config.h"
#include "fg-forum.h"
#include "fg-msgid.h"
#include "fg-smtp.h"
#include "fg-threading.h"
#include "fg-webhook.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <curl/curl.h>

#define SECRET "webhook-secret"
#define MSGID_SECRET "msgid-secret"

/* ---- the constant-time comparison, observed ---- */

bool __real_fg_mem_equal_ct(const void *a, const void *b, size_t len);
bool __wrap_fg_mem_equal_ct(const void *a, const void *b, size_t len);

static unsigned int ct_calls;
static size_t ct_last_len;

/* __wrap_fg_mem_equal_ct - count, then compare as the library does */
bool __wrap_fg_mem_equal_ct(const void *a, const void *b, size_t len)
{
	ct_calls++;
	ct_last_len = len;
	return __real_fg_mem_equal_ct(a, b, len);
}

/* ---- fg-webhook ---- */

static const char full_post[] =
	"{\"post\":{\"id\":123,\"name\":\"Dave \\u00dcnicode\","
	"\"username\":\"dave\",\"avatar_template\":\"/a/{size}.png\","
	"\"created_at\":\"2024-05-01T12:34:56.789Z\",\"cooked\":\"<p>x</p>\","
	"\"post_number\":4,\"post_type\":1,\"reply_to_post_number\":3,"
	"\"topic_id\":10,\"topic_slug\":\"hello\",\"topic_title\":\"Hello\","
	"\"category_id\":5,\"raw\":\"Line one\\nLine two\","
	"\"topic_archetype\":\"regular\",\"category_slug\":\"general\"}}";

START_TEST(test_webhook_signature_good)
{
	const char *error = NULL;
	char *sig = fg_webhook_sign(SECRET, full_post, strlen(full_post));

	ck_assert_uint_eq(strlen(sig), 7 + 64);
	ck_assert(strncmp(sig, "sha256=", 7) == 0);
	ct_calls = 0;
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post,
					   strlen(full_post), sig, &error), 0);
	/* the comparison went through the constant-time function */
	ck_assert_uint_eq(ct_calls, 1);
	ck_assert_uint_eq(ct_last_len, 64);

	/* upper-case hex and surrounding blanks are the same signature */
	for (char *p = sig + 7; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	}
	char *spaced = fg_xasprintf("  %s  ", sig);
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post,
					   strlen(full_post), spaced, &error),
			 0);
	free(spaced);
	free(sig);
}
END_TEST

START_TEST(test_webhook_signature_bad)
{
	const char *error = NULL;
	size_t size = strlen(full_post);
	char *sig = fg_webhook_sign(SECRET, full_post, size);
	char *copy;

	/* the last and the first digit flipped: both compared in full */
	copy = fg_xstrdup(sig);
	copy[strlen(copy) - 1] = copy[strlen(copy) - 1] == '0' ? '1' : '0';
	ct_calls = 0;
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size, copy,
					   &error), -1);
	ck_assert_uint_eq(ct_calls, 1);
	ck_assert_str_eq(error, "signature mismatch");
	copy[strlen(copy) - 1] = sig[strlen(sig) - 1];
	copy[7] = copy[7] == '0' ? '1' : '0';
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size, copy,
					   &error), -1);
	free(copy);

	/* another secret, another body */
	ck_assert_int_eq(fg_webhook_verify("other", full_post, size, sig,
					   &error), -1);
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size - 1, sig,
					   &error), -1);

	/* wrong form: no digest compared at all */
	ct_calls = 0;
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size,
					   sig + 7, &error), -1);
	copy = fg_xasprintf("sha1=%s", sig + 7);
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size, copy,
					   &error), -1);
	free(copy);
	copy = fg_xstrndup(sig, strlen(sig) - 1);
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size, copy,
					   &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "length"));
	free(copy);
	copy = fg_xasprintf("%s0", sig);
	ck_assert_int_eq(fg_webhook_verify(SECRET, full_post, size, copy,
					   &error), -1);
	free(copy);
	ck_assert_uint_eq(ct_calls, 0);

	/* no secret configured: nothing verifies */
	ck_assert_int_eq(fg_webhook_verify("", full_post, size, sig, &error),
			 -1);
	free(sig);
}
END_TEST

START_TEST(test_webhook_signature_missing)
{
	const char *error = NULL;

	ck_assert_int_eq(fg_webhook_verify(SECRET, "{}", 2, NULL, &error), -1);
	ck_assert_str_eq(error, "no signature");
	ck_assert_int_eq(fg_webhook_verify(SECRET, "{}", 2, "", &error), -1);
}
END_TEST

START_TEST(test_webhook_signature_known)
{
	/* HMAC-SHA256 of RFC 4231 test case 2 */
	const char *error;
	const char *sig = "sha256=5bdcc146bf60754e6a042426089575c7"
		"5a003f089d2739839dec58b964ec3843";

	ck_assert_int_eq(fg_webhook_verify("Jefe", "what do ya want for "
					   "nothing?", 28, sig, &error), 0);
}
END_TEST

START_TEST(test_webhook_parse_full)
{
	struct fg_post *post = NULL;
	const char *error = NULL;

	ck_assert_int_eq(fg_webhook_parse("post_created", full_post,
					  strlen(full_post), 0, &post,
					  &error), FG_WEBHOOK_POST);
	ck_assert_ptr_nonnull(post);
	ck_assert_int_eq(post->post_id, 123);
	ck_assert_int_eq(post->topic_id, 10);
	ck_assert_int_eq(post->post_number, 4);
	ck_assert_int_eq(post->reply_to_post_number, 3);
	ck_assert_int_eq(post->category_id, 5);
	ck_assert_str_eq(post->username, "dave");
	ck_assert_str_eq(post->name, "Dave \xc3\x9cnicode");
	ck_assert_str_eq(post->topic_title, "Hello");
	ck_assert_str_eq(post->raw, "Line one\nLine two");
	ck_assert_str_eq(post->created_at, "2024-05-01T12:34:56.789Z");
	fg_post_free(&post);
}
END_TEST

START_TEST(test_webhook_parse_nulls)
{
	static const char body[] =
		"{\"post\":{\"id\":7,\"topic_id\":2,\"post_number\":2,"
		"\"reply_to_post_number\":null,\"username\":\"eve\","
		"\"name\":null,\"raw\":\"text\",\"topic_title\":null,"
		"\"category_id\":null,\"created_at\":null}}";
	static const char minimal[] =
		"{\"post\":{\"id\":\"8\",\"topic_id\":\"3\",\"post_number\":1,"
		"\"username\":\"eve\",\"raw\":\"\"}}";
	struct fg_post *post = NULL;
	const char *error;

	ck_assert_int_eq(fg_webhook_parse("post_created", body, strlen(body),
					  1024, &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_int_eq(post->reply_to_post_number, 0);
	ck_assert_int_eq(post->category_id, 0);
	ck_assert_str_eq(post->name, "");
	ck_assert_str_eq(post->topic_title, "");
	ck_assert_str_eq(post->created_at, "");
	fg_post_free(&post);

	/* absent members, and ids sent as strings of digits */
	ck_assert_int_eq(fg_webhook_parse("post_created", minimal,
					  strlen(minimal), 0, &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_int_eq(post->post_id, 8);
	ck_assert_int_eq(post->topic_id, 3);
	ck_assert_int_eq(post->reply_to_post_number, 0);
	ck_assert_str_eq(post->raw, "");
	fg_post_free(&post);
}
END_TEST

START_TEST(test_webhook_parse_invalid)
{
	static const char *const bodies[] = {
		"",
		"{\"post\": nope",
		"not json at all",
		"[1,2,3]",
		"{\"ping\":\"OK\"}",
		"{\"post\":[]}",
		"{\"post\":{\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":-1,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":0,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":\"x1\",\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":1.5,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"raw\":\"r\"}}",
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"\",\"raw\":\"r\"}}",
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":5}}",
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"a\\u0000b\"}}",
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\",\"reply_to_post_number\":"
		"\"two\"}}",
		"{\"post\":{\"id\":1,\"id\":2,\"topic_id\":1,\"post_number\":1,"
		"\"username\":\"a\",\"raw\":\"r\"}}",
	};
	struct fg_post *post = NULL;
	const char *error;

	for (size_t i = 0; i < FG_N_ELEMENTS(bodies); i++) {
		error = NULL;
		ck_assert_msg(fg_webhook_parse("post_created", bodies[i],
					       strlen(bodies[i]), 0, &post,
					       &error) == FG_WEBHOOK_INVALID,
			      "body %zu was accepted", i);
		ck_assert_ptr_null(post);
		ck_assert_ptr_nonnull(error);
	}
	/* bytes that are not UTF-8 */
	static const char not_utf8[] = "{\"post\":\"\xff\"}";
	ck_assert_int_eq(fg_webhook_parse("post_created", not_utf8,
					  strlen(not_utf8), 0, &post, &error),
			 FG_WEBHOOK_INVALID);
}
END_TEST

START_TEST(test_webhook_parse_events)
{
	static const char whisper[] =
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":2,"
		"\"post_type\":4,\"username\":\"a\",\"raw\":\"r\"}}";
	static const char small_action[] =
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":2,"
		"\"post_type\":3,\"username\":\"a\",\"raw\":\"\"}}";
	static const char pm[] =
		"{\"post\":{\"id\":1,\"topic_id\":1,\"post_number\":1,"
		"\"post_type\":1,\"topic_archetype\":\"private_message\","
		"\"username\":\"a\",\"raw\":\"secret\"}}";
	struct fg_post *post = NULL;
	const char *error;
	size_t size = strlen(full_post);

	ck_assert_int_eq(fg_webhook_parse("post_edited", full_post, size, 0,
					  &post, &error), FG_WEBHOOK_IGNORE);
	ck_assert_ptr_nonnull(strstr(error, "post_edited"));
	/* an edit with a new version is the post with its revision; one
	   in the grace period (version 1) is no revision */
	char *edit = fg_xasprintf("{\"post\":{\"version\":3,%s",
				  full_post + 9);
	ck_assert_int_eq(fg_webhook_parse("post_edited", edit, strlen(edit), 0,
					  &post, &error), FG_WEBHOOK_POST);
	ck_assert_int_eq(post->post_id, 123);
	ck_assert_int_eq(post->post_number, 4);
	ck_assert_int_eq(post->revision, 3);
	ck_assert_str_eq(post->raw, "Line one\nLine two");
	fg_post_free(&post);
	edit[19] = '1';
	ck_assert_int_eq(fg_webhook_parse("post_edited", edit, strlen(edit), 0,
					  &post, &error), FG_WEBHOOK_IGNORE);
	ck_assert_ptr_null(post);
	ck_assert_int_eq(fg_webhook_parse("post_created", edit, strlen(edit),
					  0, &post, &error), FG_WEBHOOK_POST);
	ck_assert_int_eq(post->revision, 0);
	fg_post_free(&post);
	free(edit);
	ck_assert_int_eq(fg_webhook_parse("post_destroyed", full_post, size,
					  0, &post, &error),
			 FG_WEBHOOK_IGNORE);
	ck_assert_int_eq(fg_webhook_parse("post_recovered", full_post, size,
					  0, &post, &error),
			 FG_WEBHOOK_IGNORE);
	ck_assert_int_eq(fg_webhook_parse("ping", "{\"ping\":\"OK\"}", 13, 0,
					  &post, &error), FG_WEBHOOK_IGNORE);
	ck_assert_int_eq(fg_webhook_parse("topic_created", "garbage", 7, 0,
					  &post, &error), FG_WEBHOOK_IGNORE);
	ck_assert_ptr_null(post);
	/* no event header: not a Discourse webhook */
	ck_assert_int_eq(fg_webhook_parse(NULL, full_post, size, 0, &post,
					  &error), FG_WEBHOOK_INVALID);
	ck_assert_int_eq(fg_webhook_parse("", full_post, size, 0, &post,
					  &error), FG_WEBHOOK_INVALID);
	/* posts that must never reach a list */
	ck_assert_int_eq(fg_webhook_parse("post_created", whisper,
					  strlen(whisper), 0, &post, &error),
			 FG_WEBHOOK_IGNORE);
	ck_assert_int_eq(fg_webhook_parse("post_created", small_action,
					  strlen(small_action), 0, &post,
					  &error), FG_WEBHOOK_IGNORE);
	ck_assert_int_eq(fg_webhook_parse("post_created", pm, strlen(pm), 0,
					  &post, &error), FG_WEBHOOK_IGNORE);
	ck_assert_ptr_nonnull(strstr(error, "private"));
	ck_assert_ptr_null(post);
}
END_TEST

START_TEST(test_webhook_parse_oversize)
{
	struct fg_post *post = NULL;
	const char *error;
	size_t size = strlen(full_post);

	ck_assert_int_eq(fg_webhook_parse("post_created", full_post, size,
					  size - 1, &post, &error),
			 FG_WEBHOOK_TOO_LARGE);
	ck_assert_ptr_null(post);
	ck_assert_int_eq(fg_webhook_parse("post_created", full_post, size,
					  size, &post, &error),
			 FG_WEBHOOK_POST);
	fg_post_free(&post);
}
END_TEST

/* ---- fg-discourse and fg-forum ---- */

/* a NodeBB action:topic.post event, signed with "nb-secret" (HMAC-SHA1
   computed independently) */
static const char nodebb_body[] =
	"{\"hook\":\"action:topic.post\",\"params\":{\"post\":{\"pid\":\"31\","
	"\"tid\":9,\"index\":0,\"content\":\"Hi\",\"timestamp\":1700000000000,"
	"\"user\":{\"username\":\"ann\",\"displayname\":\"Ann\"}},"
	"\"topic\":{\"title\":\"A topic\",\"cid\":4},"
	"\"req\":{\"headers\":{\"cookie\":\"x\"}}}}";

START_TEST(test_webhook_rejections)
{
	/* NodeBB's removeFromQueue, as nodebb-plugin-webhooks sends it */
	static const char nodebb[] =
		"{\"hook\":\"action:post-queue:removeFromQueue\",\"params\":"
		"{\"data\":{\"id\":\"reply-1796650003214\",\"uid\":7,"
		"\"type\":\"reply\",\"data\":{\"tid\":12}}}}";
	static const char nodebb_other[] =
		"{\"hook\":\"action:post-queue:submitFromQueue\",\"params\":"
		"{\"data\":{\"id\":\"reply-1\"}}}";
	static const char rejected[] =
		"{\"reviewable\":{\"id\":31,\"type\":\"ReviewableQueuedPost\","
		"\"status\":2,\"topic_id\":12}}";
	static const char approved[] =
		"{\"reviewable\":{\"id\":31,\"type\":\"ReviewableQueuedPost\","
		"\"status\":1}}";
	static const char flagged[] =
		"{\"reviewable\":{\"id\":31,\"type\":\"ReviewableFlaggedPost\","
		"\"status\":2}}";
	char *id;

	ck_assert_int_eq(fg_webhook_nodebb_rejected(nodebb, strlen(nodebb), 0,
						    &id), 1);
	ck_assert_str_eq(id, "reply-1796650003214");
	free(id);
	ck_assert_int_eq(fg_webhook_nodebb_rejected(nodebb_other,
						    strlen(nodebb_other), 0,
						    &id), 0);
	ck_assert_ptr_null(id);
	/* too large: not read */
	ck_assert_int_eq(fg_webhook_nodebb_rejected(nodebb, strlen(nodebb), 10,
						    &id), 0);
	ck_assert_int_eq(fg_webhook_discourse_rejected(
		"reviewable_transitioned_to", rejected, strlen(rejected), 0,
		&id), 1);
	ck_assert_str_eq(id, "31");
	free(id);
	ck_assert_int_eq(fg_webhook_discourse_rejected(
		"reviewable_transitioned_to", approved, strlen(approved), 0,
		&id), 0);
	ck_assert_int_eq(fg_webhook_discourse_rejected(
		"reviewable_transitioned_to", flagged, strlen(flagged), 0,
		&id), 0);
	ck_assert_int_eq(fg_webhook_discourse_rejected(
		"post_created", rejected, strlen(rejected), 0, &id), 0);
}
END_TEST

START_TEST(test_webhook_nodebb)
{
	const char *sig = "sha1=02075ef898e4634cb25353e4bd6ad177276bab11";
	size_t len = strlen(nodebb_body);
	struct fg_post *post;
	const char *error;
	char *edit;

	ck_assert_int_eq(fg_webhook_verify_nodebb("nb-secret", nodebb_body,
						  len, sig, &error), 0);
	ck_assert_int_eq(fg_webhook_verify_nodebb("other", nodebb_body, len,
						  sig, &error), -1);
	ck_assert_int_eq(fg_webhook_verify_nodebb("nb-secret", nodebb_body,
						  len - 1, sig, &error), -1);
	ck_assert_int_eq(fg_webhook_verify_nodebb("nb-secret", nodebb_body,
						  len, "sha1=02", &error), -1);
	ck_assert_int_eq(fg_webhook_verify_nodebb("nb-secret", nodebb_body,
						  len, NULL, &error), -1);
	ck_assert_int_eq(fg_webhook_parse_nodebb(nodebb_body, len, 0, &post,
						 &error), FG_WEBHOOK_POST);
	ck_assert_int_eq(post->post_id, 31);
	ck_assert_int_eq(post->topic_id, 9);
	ck_assert_int_eq(post->post_number, 1);
	ck_assert_int_eq(post->category_id, 4);
	ck_assert_str_eq(post->username, "ann");
	ck_assert_str_eq(post->name, "Ann");
	ck_assert_str_eq(post->topic_title, "A topic");
	/* content is NodeBB's rendering: kept as cooked, never as raw */
	ck_assert_str_eq(post->raw, "");
	ck_assert_str_eq(post->cooked, "Hi");
	ck_assert_str_eq(post->created_at, "2023-11-14T22:13:20Z");
	fg_post_free(&post);
	ck_assert_int_eq(fg_webhook_parse_nodebb(nodebb_body, len, 10, &post,
						 &error),
			 FG_WEBHOOK_TOO_LARGE);
	/* an edit is acknowledged, never a post */
	edit = fg_xstrdup(nodebb_body);
	memcpy(strstr(edit, "topic.post"), "post.edit ", 10);
	ck_assert_int_eq(fg_webhook_parse_nodebb(edit, strlen(edit), 0, &post,
						 &error), FG_WEBHOOK_IGNORE);
	ck_assert_ptr_null(post);
	free(edit);
	ck_assert_int_eq(fg_webhook_parse_nodebb("{\"hook\":1}", 10, 0, &post,
						 &error), FG_WEBHOOK_INVALID);
}
END_TEST

/* a reply as nodebb-plugin-webhooks 2.0.3 sends it from NodeBB 4.11:
   params.post is the parsed summary (HTML content, emoji as <img>),
   params.data the request's data with the master token in
   data.req.headers.authorization, params.caller the browser's request
   with its session cookie (src/plugins/hooks.js sets caller; the
   plugin cleans only params.req and params.socket) */
static const char nodebb_secrets[] =
	"{\"hook\":\"action:topic.reply\",\"params\":{\"post\":{"
	"\"pid\":40,\"tid\":9,\"toPid\":\"31\",\"uid\":5,\"index\":1,"
	"\"content\":\"<p dir=\\\"auto\\\">Thanks <strong>a lot</strong> "
	"<img src=\\\"/e/1f600.png\\\" class=\\\"not-responsive emoji\\\" "
	"alt=\\\"\\ud83d\\ude00\\\" title=\\\":grinning:\\\" /></p>\\n\","
	"\"timestamp\":1700000000000,\"topic\":{\"tid\":9,\"cid\":4,"
	"\"title\":\"A topic\"},\"user\":{\"uid\":5,\"username\":\"ann\","
	"\"displayname\":\"Ann\"}},"
	"\"data\":{\"tid\":9,\"content\":\"Thanks **a lot** :grinning:\","
	"\"uid\":5,\"req\":{\"uid\":5,\"method\":\"POST\","
	"\"session\":{\"csrf\":\"SESSION-CSRF-SECRET\"},"
	"\"headers\":{\"authorization\":\"Bearer MASTER-TOKEN-SECRET\","
	"\"cookie\":\"express.sid=DATA-COOKIE-SECRET\"}}},"
	"\"caller\":{\"uid\":5,\"req\":{\"headers\":{"
	"\"cookie\":\"express.sid=CALLER-COOKIE-SECRET\","
	"\"x-csrf-token\":\"CSRF-HEADER-SECRET\"}}}}}";

/* no_secret - s carries none of the secrets of nodebb_secrets */
static bool no_secret(const char *s)
{
	return s == NULL || (strstr(s, "SECRET") == NULL &&
			     strstr(s, "express.sid") == NULL &&
			     strstr(s, "Bearer") == NULL);
}

START_TEST(test_webhook_nodebb_secrets)
{
	struct fg_post *post;
	const char *error = NULL;
	char *bad, *p;

	ck_assert_int_eq(fg_webhook_parse_nodebb(nodebb_secrets,
						 strlen(nodebb_secrets), 0,
						 &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_int_eq(post->post_id, 40);
	ck_assert_int_eq(post->post_number, 2);
	ck_assert_str_eq(post->raw, "");
	ck_assert_ptr_nonnull(strstr(post->cooked, "<p dir=\"auto\">"));
	ck_assert(no_secret(post->username) && no_secret(post->name) &&
		  no_secret(post->topic_title) && no_secret(post->raw) &&
		  no_secret(post->cooked) && no_secret(post->created_at) &&
		  no_secret(post->group));
	fg_post_free(&post);
	/* an invalid body: the error names the place, never the text */
	bad = fg_xstrdup(nodebb_secrets);
	p = strstr(bad, "MASTER-TOKEN-SECRET");
	memcpy(p + 6, "\\q", 2);
	ck_assert_int_eq(fg_webhook_parse_nodebb(bad, strlen(bad), 0, &post,
						 &error), FG_WEBHOOK_INVALID);
	ck_assert_ptr_nonnull(strstr(error, "invalid JSON"));
	ck_assert_msg(no_secret(error) && strstr(error, "MASTER") == NULL,
		      "%s", error);
	free(bad);
}
END_TEST

/* a generic or Discourse post with only cooked keeps it for the worker */
START_TEST(test_webhook_parse_cooked)
{
	static const char cooked_only[] =
		"{\"post\":{\"id\":1,\"topic_id\":2,\"post_number\":1,"
		"\"username\":\"a\",\"cooked\":\"<p>Hi <em>there</em></p>\"}}";
	static const char neither[] =
		"{\"post\":{\"id\":1,\"topic_id\":2,\"post_number\":1,"
		"\"username\":\"a\"}}";
	struct fg_post *post;
	const char *error;

	ck_assert_int_eq(fg_webhook_parse("post_created", cooked_only,
					  strlen(cooked_only), 0, &post,
					  &error), FG_WEBHOOK_POST);
	ck_assert_str_eq(post->raw, "");
	ck_assert_str_eq(post->cooked, "<p>Hi <em>there</em></p>");
	fg_post_free(&post);
	ck_assert_int_eq(fg_webhook_parse("post_created", neither,
					  strlen(neither), 0, &post, &error),
			 FG_WEBHOOK_INVALID);
	ck_assert_str_eq(error, "post.raw is missing");
	/* raw wins: Discourse sends both */
	ck_assert_int_eq(fg_webhook_parse("post_created", full_post,
					  strlen(full_post), 0, &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_str_eq(post->raw, "Line one\nLine two");
	ck_assert_ptr_null(post->cooked);
	fg_post_free(&post);
}
END_TEST

START_TEST(test_webhook_nodebb_reply_link)
{
	/* the post a reply answers: toPid (a number or a string), else
	   parent.pid; null, absent or not a number: none */
	static const char *const bodies[] = {
		"\"toPid\":40",
		"\"toPid\":\"40\"",
		"\"toPid\":null,\"parent\":{\"pid\":40,\"username\":\"a\"}",
		"\"toPid\":null",
		"\"parent\":{\"username\":\"a\"}",
		"\"toPid\":\"x\"",
	};
	static const long long expect[] = { 40, 40, 40, 0, 0, 0 };
	struct fg_post *post;
	const char *error;

	for (size_t i = 0; i < FG_N_ELEMENTS(bodies); i++) {
		char *body = fg_xasprintf(
			"{\"hook\":\"action:topic.reply\",\"params\":{\"post\":"
			"{\"pid\":41,\"tid\":9,\"index\":2,\"content\":\"Hi\","
			"%s,\"user\":{\"username\":\"ann\"}},"
			"\"topic\":{\"title\":\"T\",\"cid\":4}}}", bodies[i]);

		ck_assert_int_eq(fg_webhook_parse_nodebb(body, strlen(body), 0,
							 &post, &error),
				 FG_WEBHOOK_POST);
		ck_assert_msg(post->reply_to_post_id == expect[i], "%s: %lld",
			      bodies[i], post->reply_to_post_id);
		ck_assert_int_eq(post->post_number, 3);
		fg_post_free(&post);
		free(body);
	}
}
END_TEST

START_TEST(test_post_is_bridge)
{
	static const char with_uid[] =
		"{\"hook\":\"action:topic.reply\",\"params\":{\"post\":{"
		"\"pid\":32,\"tid\":9,\"index\":1,\"content\":\"Hi\","
		"\"uid\":7,\"user\":{\"username\":\"bridge\"}},"
		"\"topic\":{\"title\":\"T\",\"cid\":4}}}";
	static const char user_uid[] =
		"{\"hook\":\"action:topic.reply\",\"params\":{\"post\":{"
		"\"pid\":33,\"tid\":9,\"index\":2,\"content\":\"Hi\","
		"\"user\":{\"username\":\"ann\",\"uid\":\"8\"}},"
		"\"topic\":{\"title\":\"T\",\"cid\":4}}}";
	struct fg_post *post;
	struct fg_post named = { .username = "Forum-Bridge" };
	const char *error;

	/* NodeBB: forum_api_username is the bridge's uid; its username
	   plays no part */
	ck_assert_int_eq(fg_webhook_parse_nodebb(with_uid, strlen(with_uid), 0,
						 &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_int_eq(post->user_id, 7);
	ck_assert(fg_forum_post_is_bridge("nodebb", "7", post));
	ck_assert(!fg_forum_post_is_bridge("nodebb", "8", post));
	ck_assert(!fg_forum_post_is_bridge("nodebb", "bridge", post));
	fg_post_free(&post);
	ck_assert_int_eq(fg_webhook_parse_nodebb(user_uid, strlen(user_uid), 0,
						 &post, &error),
			 FG_WEBHOOK_POST);
	ck_assert_int_eq(post->user_id, 8);
	ck_assert(fg_forum_post_is_bridge("nodebb", "8", post));
	fg_post_free(&post);
	/* no uid sent: never taken for the bridge's */
	ck_assert_int_eq(fg_webhook_parse_nodebb(nodebb_body,
						 strlen(nodebb_body), 0, &post,
						 &error), FG_WEBHOOK_POST);
	ck_assert_int_eq(post->user_id, 0);
	ck_assert(!fg_forum_post_is_bridge("nodebb", "0", post));
	fg_post_free(&post);
	/* Discourse: the username, in any case */
	ck_assert(fg_forum_post_is_bridge("discourse", "forum-bridge", &named));
	ck_assert(!fg_forum_post_is_bridge("discourse", "forum", &named));
	ck_assert(!fg_forum_post_is_bridge("discourse", NULL, &named));
	ck_assert(!fg_forum_post_is_bridge("discourse", "", &named));
}
END_TEST

START_TEST(test_discourse_classify_ok)
{
	static const char body[] =
		"{\"id\":101,\"topic_id\":10,\"post_number\":2,"
		"\"username\":\"system\",\"reply_to_post_number\":null}";
	struct fg_forum_answer a;
	const char *error = NULL;

	ck_assert_int_eq(fg_discourse_classify(200, body, strlen(body), NULL,
					       0, &a, &error), FG_FORUM_OK);
	ck_assert_int_eq(a.post_id, 101);
	ck_assert_int_eq(a.topic_id, 10);
	ck_assert_int_eq(a.post_number, 2);
	ck_assert_int_eq(a.http_status, 200);
}
END_TEST

START_TEST(test_discourse_classify_held)
{
	static const char body[] =
		"{\"success\":true,\"action\":\"enqueued\","
		"\"pending_post\":{\"id\":5,\"raw\":\"x\"},\"pending_count\":1}";
	struct fg_forum_answer a;
	const char *error = NULL;

	ck_assert_int_eq(fg_discourse_classify(200, body, strlen(body), NULL,
					       0, &a, &error), FG_FORUM_HELD);
	ck_assert_int_eq(a.post_id, 0);
	ck_assert_int_eq(a.topic_id, 0);
	/* the pending post's id: what recognises it when approved */
	ck_assert_str_eq(a.held_id, "5");
}
END_TEST

START_TEST(test_discourse_classify_permanent)
{
	static const char e422[] =
		"{\"action\":\"create_post\",\"errors\":[\"Title has already "
		"been used\",\"Body is too short\"]}";
	static const char e403[] =
		"{\"errors\":[\"You are not permitted to view the requested "
		"resource.\"],\"error_type\":\"invalid_access\"}";
	static const char nl[] = "{\"errors\":[\"line one\\nline two\\r\"]}";
	struct fg_forum_answer a;
	const char *error = NULL;
	struct fg_buf big = { 0 };

	ck_assert_int_eq(fg_discourse_classify(422, e422, strlen(e422), NULL,
					       0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_str_eq(error, "forum answered HTTP 422: Title has already "
			 "been used; Body is too short");
	ck_assert_int_eq(fg_discourse_classify(403, e403, strlen(e403), NULL,
					       0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_ptr_nonnull(strstr(error, "not permitted"));
	ck_assert_int_eq(fg_discourse_classify(404, NULL, 0, NULL, 0, &a,
					       &error), FG_FORUM_PERMANENT);
	ck_assert_str_eq(error, "forum answered HTTP 404");
	/* one line, whatever the forum sent */
	ck_assert_int_eq(fg_discourse_classify(400, nl, strlen(nl), NULL, 0,
					       &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_str_eq(error, "forum answered HTTP 400: line one line two");
	/* bounded */
	fg_buf_puts(&big, "{\"errors\":[\"");
	for (int i = 0; i < 2000; i++)
		fg_buf_puts(&big, "\xc3\xa9");
	fg_buf_puts(&big, "\"]}");
	ck_assert_int_eq(fg_discourse_classify(422, big.s, big.len, NULL, 0,
					       &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_uint_lt(strlen(error), 500);
	ck_assert_ptr_nonnull(strstr(error, "..."));
	fg_buf_free(&big);
	/* success without a post: the post may exist, do not loop on it */
	ck_assert_int_eq(fg_discourse_classify(200, "{}", 2, NULL, 0, &a,
					       &error), FG_FORUM_PERMANENT);
	ck_assert_int_eq(fg_discourse_classify(200, "<html>", 6, NULL, 0, &a,
					       &error), FG_FORUM_PERMANENT);
}
END_TEST

START_TEST(test_discourse_classify_transient)
{
	static const char e429[] =
		"{\"errors\":[\"You've performed this action too many "
		"times.\"],\"error_type\":\"rate_limit\","
		"\"extras\":{\"wait_seconds\":3}}";
	static const char html[] = "<html><body>Bad Gateway</body></html>";
	static const char bad_key[] =
		"{\"errors\":[\"You are not permitted to view the requested "
		"resource. The API username or key is invalid.\"],"
		"\"error_type\":\"invalid_access\"}";
	struct fg_forum_answer a;
	const char *error = NULL;
	long long now = 1700000000;

	ck_assert_int_eq(fg_discourse_classify(429, e429, strlen(e429), "7",
					       now, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_uint_eq(a.retry_after_ms, 7000);
	ck_assert_ptr_nonnull(strstr(error, "too many times"));
	/* no Retry-After: Discourse's wait_seconds */
	ck_assert_int_eq(fg_discourse_classify(429, e429, strlen(e429), NULL,
					       now, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_uint_eq(a.retry_after_ms, 3000);
	/* an HTML error page stays out of the log */
	ck_assert_int_eq(fg_discourse_classify(502, html, strlen(html), NULL,
					       now, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_str_eq(error, "forum answered HTTP 502");
	ck_assert_uint_eq(a.retry_after_ms, 0);
	/* HTTP-date: 2023-11-14T22:13:20Z is now, ask for 90 s later */
	ck_assert_int_eq(fg_discourse_classify(503, NULL, 0,
					       "Tue, 14 Nov 2023 22:14:50 GMT",
					       now, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_uint_eq(a.retry_after_ms, 90000);
	ck_assert_int_eq(fg_discourse_classify(500, NULL, 0, NULL, now, &a,
					       &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(fg_discourse_classify(401, NULL, 0, NULL, now, &a,
					       &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(fg_discourse_classify(408, NULL, 0, NULL, now, &a,
					       &error), FG_FORUM_TRANSIENT);
	/* configuration, not the post: a wrong key or forum_url */
	ck_assert_int_eq(fg_discourse_classify(403, bad_key, strlen(bad_key),
					       NULL, now, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(fg_discourse_classify(301, NULL, 0, NULL, now, &a,
					       &error), FG_FORUM_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(error, "forum_url"));
}
END_TEST

START_TEST(test_forum_retry_after)
{
	long long now = 1700000000;

	ck_assert_uint_eq(fg_forum_parse_retry_after(NULL, now), 0);
	ck_assert_uint_eq(fg_forum_parse_retry_after("", now), 0);
	ck_assert_uint_eq(fg_forum_parse_retry_after("120", now), 120000);
	ck_assert_uint_eq(fg_forum_parse_retry_after(" 5 ", now), 5000);
	ck_assert_uint_eq(fg_forum_parse_retry_after("0", now), 0);
	ck_assert_uint_eq(fg_forum_parse_retry_after("soon", now), 0);
	ck_assert_uint_eq(fg_forum_parse_retry_after("-5", now), 0);
	ck_assert_uint_eq(fg_forum_parse_retry_after(
				  "99999999999999999999999", now),
			  24 * 3600 * 1000);
	/* a date in the past: no wait */
	ck_assert_uint_eq(fg_forum_parse_retry_after(
				  "Tue, 14 Nov 2023 22:00:00 GMT", now), 0);

	/* the wait honoured: capped at forum_retry_after_max (15m by
	   default), never below the backoff */
	struct fg_config *config = fg_config_defaults();
	unsigned int max = config->forum_retry_after_max;
	ck_assert_uint_eq(max, 15 * 60 * 1000);
	fg_config_free(&config);
	ck_assert_uint_eq(fg_forum_retry_wait(1000, fg_forum_parse_retry_after(
				  "86400", now), max), max);
	ck_assert_uint_eq(fg_forum_retry_wait(1000, fg_forum_parse_retry_after(
				  "Tue, 14 Nov 2023 23:00:00 GMT", now), max),
			  max);
	ck_assert_uint_eq(fg_forum_retry_wait(1000, 5000, max), 5000);
	ck_assert_uint_eq(fg_forum_retry_wait(60000, 5000, max), 60000);
	ck_assert_uint_eq(fg_forum_retry_wait(1000, 0, max), 1000);
	ck_assert_uint_eq(fg_forum_retry_wait(300000, 3600000, 60000), 300000);
}
END_TEST

/* closed_port - a loopback port nobody listens on */
static int closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

START_TEST(test_forum_init)
{
	struct fg_forum_settings set = {
		.type = "discourse", .url = "https://forum.example.org/",
		.api_key = "k", .api_username = "system", .timeout_ms = 1000,
	};
	struct fg_forum *forum = NULL;
	const char *error;
	char *url;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	url = fg_forum_post_url(forum, 10, 1);
	ck_assert_str_eq(url, "https://forum.example.org/t/10");
	free(url);
	url = fg_forum_post_url(forum, 10, 4);
	ck_assert_str_eq(url, "https://forum.example.org/t/10/4");
	free(url);
	fg_forum_deinit(&forum);
	ck_assert_ptr_null(forum);

	set.type = "phpbb";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "phpbb"));
	set.type = "Discourse";
	set.url = "ftp://forum.example.org";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	set.url = "https://forum.example.org";
	set.api_key = "";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	set.api_key = "k\r\nX-Evil: 1";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_null(forum);
	ck_assert_str_eq(fg_forum_status_name(FG_FORUM_TRANSIENT),
			 "transient");
}
END_TEST

/* closed_forum - a forum handle of that type on a closed port */
static struct fg_forum *closed_forum(const char *type, const char *user)
{
	char *url = fg_xasprintf("http://127.0.0.1:%d", closed_port());
	struct fg_forum_settings set = {
		.type = type, .url = url, .api_key = "k",
		.api_username = user, .timeout_ms = 2000,
	};
	struct fg_forum *forum;
	const char *error;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	free(url);
	return forum;
}

START_TEST(test_forum_unreachable)
{
	struct fg_forum *forum = closed_forum("discourse", "system");
	struct fg_forum_answer a;
	const char *error;

	ck_assert_int_eq(fg_forum_create_topic(forum, "A title long enough",
					       "raw", 5, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.http_status, 0);
	ck_assert_int_eq(fg_forum_create_reply(forum, 10, 2, "raw", &a,
					       &error), FG_FORUM_TRANSIENT);
	/* nothing to send: refused before any request */
	ck_assert_int_eq(fg_forum_create_reply(forum, 0, 0, "raw", &a,
					       &error), FG_FORUM_PERMANENT);
	ck_assert_int_eq(fg_forum_create_topic(forum, "bad \xff title",
					       "raw", 0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_ptr_nonnull(strstr(error, "UTF-8"));
	fg_forum_deinit(&forum);
}
END_TEST

/* fg_forum_post_text: the forum's source, else the HTML converted */
START_TEST(test_forum_post_text)
{
	struct fg_forum *forum;
	struct fg_post post = { .post_id = 40 };
	const char *error = NULL;

	/* Markdown already: nothing asked, nothing changed */
	post.raw = fg_xstrdup("**Markdown**");
	post.cooked = fg_xstrdup("<p><strong>Markdown</strong></p>");
	ck_assert_int_eq(fg_forum_post_text(NULL, &post, &error), 0);
	ck_assert_str_eq(post.raw, "**Markdown**");
	/* only HTML, the forum unreachable: converted, never HTML */
	free(post.raw);
	post.raw = fg_xstrdup("");
	free(post.cooked);
	post.cooked = fg_xstrdup("<p dir=\"auto\">Thanks <strong>a lot</strong> "
				 "<img src=\"/e/1f600.png\" class=\"emoji\" "
				 "alt=\"\xf0\x9f\x98\x80\" /></p>\n"
				 "<p dir=\"auto\">R&amp;D</p>");
	forum = closed_forum("nodebb", "1");
	ck_assert_int_eq(fg_forum_post_text(forum, &post, &error), 2);
	ck_assert_ptr_nonnull(strstr(error, "failed"));
	ck_assert_ptr_null(strchr(post.raw, '<'));
	ck_assert_ptr_nonnull(strstr(post.raw, "Thanks **a lot** "
				     "\xf0\x9f\x98\x80"));
	ck_assert_ptr_nonnull(strstr(post.raw, "R&D"));
	ck_assert_ptr_nonnull(post.cooked);
	/* no forum (a driver without post_raw is the same) */
	free(post.raw);
	post.raw = fg_xstrdup("");
	ck_assert_int_eq(fg_forum_post_text(NULL, &post, &error), 2);
	ck_assert_ptr_null(strchr(post.raw, '<'));
	fg_forum_deinit(&forum);
	free(post.raw);
	free(post.cooked);
}
END_TEST

/* ---- fg-smtp ---- */

START_TEST(test_smtp_classify)
{
	ck_assert_int_eq(fg_smtp_classify(250), FG_SMTP_OK);
	ck_assert_int_eq(fg_smtp_classify(354), FG_SMTP_OK);
	ck_assert_int_eq(fg_smtp_classify(421), FG_SMTP_TRANSIENT);
	ck_assert_int_eq(fg_smtp_classify(451), FG_SMTP_TRANSIENT);
	ck_assert_int_eq(fg_smtp_classify(550), FG_SMTP_PERMANENT);
	ck_assert_int_eq(fg_smtp_classify(554), FG_SMTP_PERMANENT);
	ck_assert_int_eq(fg_smtp_classify(0), FG_SMTP_TRANSIENT);
	ck_assert_str_eq(fg_smtp_status_name(FG_SMTP_PERMANENT), "permanent");
}
END_TEST

START_TEST(test_smtp_send_failures)
{
	static const char msg[] = "Subject: x\r\n\r\nbody\r\n";
	char *relay = fg_xasprintf("127.0.0.1:%d", closed_port());
	struct fg_smtp_settings set = { .relay = relay, .timeout_ms = 2000 };
	struct fg_smtp *smtp;
	const char *error, *reply;
	const char *rcpt = "list@example.org", *bad = "a b@example.org";

	ck_assert_int_eq(fg_smtp_init(&set, &smtp, &error), 0);
	ck_assert_int_eq(fg_smtp_send(smtp, "bridge@example.org", &rcpt, 1,
				      msg, strlen(msg), &reply),
			 FG_SMTP_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(reply, relay));
	ck_assert_int_eq(fg_smtp_send(smtp, "bridge@example.org", &bad, 1,
				      msg, strlen(msg), &reply),
			 FG_SMTP_PERMANENT);
	ck_assert_int_eq(fg_smtp_send(smtp, "bridge@example.org", &rcpt, 0,
				      msg, strlen(msg), &reply),
			 FG_SMTP_PERMANENT);
	ck_assert_int_eq(fg_smtp_send(smtp, "x\r\n@y", &rcpt, 1, msg,
				      strlen(msg), &reply),
			 FG_SMTP_PERMANENT);
	fg_smtp_deinit(&smtp);
	ck_assert_ptr_null(smtp);
	free(relay);

	set.relay = "http://127.0.0.1:25";
	ck_assert_int_eq(fg_smtp_init(&set, &smtp, &error), -1);
	set.relay = "";
	ck_assert_int_eq(fg_smtp_init(&set, &smtp, &error), -1);
}
END_TEST

/* ---- fg-threading over a map in memory ---- */

struct fake_map_entry {
	const char *message_id;
	long long topic, post_number, parent;
};

struct fake_map {
	const struct fake_map_entry *entries;
	size_t n;
	unsigned int lookups;
	bool fail;
};

/* fake_lookup_msgid - fg_store_lookup_msgid over the table */
static int fake_lookup_msgid(void *context, const char *message_id,
			     struct fg_post_ref *ref_r, const char **error_r)
{
	struct fake_map *map = context;

	map->lookups++;
	if (map->fail) {
		*error_r = "Redis down";
		return -1;
	}
	for (size_t i = 0; i < map->n; i++) {
		if (strcmp(map->entries[i].message_id, message_id) == 0) {
			memset(ref_r, 0, sizeof(*ref_r));
			ref_r->topic_id = map->entries[i].topic;
			ref_r->post_number = map->entries[i].post_number;
			ref_r->parent_post_number = map->entries[i].parent;
			return 1;
		}
	}
	return 0;
}

/* fake_lookup_post - fg_store_lookup_post over the table; post N of
   the table has the id 1000 + N, as forum_post() gives it */
static int fake_lookup_post(void *context, long long topic,
			    long long post_number, long long post_id,
			    char **message_id_r,
			    struct fg_post_ref *ref_r, const char **error_r)
{
	struct fake_map *map = context;

	map->lookups++;
	*message_id_r = NULL;
	if (map->fail) {
		*error_r = "Redis down";
		return -1;
	}
	for (size_t i = 0; i < map->n; i++) {
		if (post_id > 0 ?
		    1000 + map->entries[i].post_number == post_id :
		    map->entries[i].topic == topic &&
		    map->entries[i].post_number == post_number) {
			memset(ref_r, 0, sizeof(*ref_r));
			ref_r->topic_id = map->entries[i].topic;
			ref_r->post_number = map->entries[i].post_number;
			ref_r->post_id = 1000 + map->entries[i].post_number;
			ref_r->parent_post_number = map->entries[i].parent;
			*message_id_r = fg_xstrdup(map->entries[i].message_id);
			return 1;
		}
	}
	return 0;
}

/* record - a list message with In-Reply-To and References */
static struct fg_record *record(const char *id, const char *irt,
				const char *const *refs, size_t n)
{
	struct fg_record *rec = fg_xcalloc(1, sizeof(*rec));

	rec->message_id = fg_xstrdup(id);
	rec->in_reply_to = fg_xstrdup(irt);
	rec->references = fg_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		rec->references[i] = fg_xstrdup(refs[i]);
	rec->n_references = n;
	return rec;
}

static const struct fake_map_entry thread_map[] = {
	{ "m1@example.org", 10, 1, 0 },
	{ "m2@example.org", 10, 2, 1 },
	{ "m3@example.org", 10, 3, 2 },
	{ "other@example.org", 11, 1, 0 },
};

START_TEST(test_threading_parent_in_reply_to)
{
	static const char *const refs[] = { "m1@example.org",
					    "m2@example.org" };
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_record *rec = record("new@example.org", "m3@example.org",
				       refs, 2);
	struct fg_post_ref parent;
	const char *parent_id, *error;

	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 1);
	ck_assert_str_eq(parent_id, "m3@example.org");
	ck_assert_int_eq(parent.topic_id, 10);
	ck_assert_int_eq(parent.post_number, 3);
	ck_assert_uint_eq(map.lookups, 1);
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_threading_parent_references)
{
	/* In-Reply-To unknown (a message the bridge never saw); the
	   newest known reference wins, not the oldest */
	static const char *const refs[] = { "m1@example.org",
					    "m2@example.org",
					    "lost@example.org" };
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_record *rec = record("new@example.org", "lost@example.org",
				       refs, 3);
	struct fg_post_ref parent;
	const char *parent_id, *error;

	ck_assert_int_eq(fg_threading_find_parent(rec, NULL, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 1);
	ck_assert_str_eq(parent_id, "m2@example.org");
	ck_assert_int_eq(parent.post_number, 2);
	/* In-Reply-To once, the duplicate in References skipped, m2 */
	ck_assert_uint_eq(map.lookups, 2);
	fg_record_free(&rec);

	/* no In-Reply-To at all */
	rec = record("new@example.org", NULL, refs, 2);
	ck_assert_int_eq(fg_threading_find_parent(rec, NULL, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 1);
	ck_assert_str_eq(parent_id, "m2@example.org");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_threading_parent_none)
{
	static const char *const refs[] = { "a@x", "b@x" };
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_record *rec = record("m1@example.org", "m1@example.org",
				       refs, 2);
	struct fg_post_ref parent;
	const char *parent_id, *error;

	/* a message never answers itself, even when it is mapped */
	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 0);
	ck_assert_ptr_null(parent_id);
	ck_assert_int_eq(parent.topic_id, 0);
	fg_record_free(&rec);

	rec = record("new@x", NULL, NULL, 0);
	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 0);
	fg_record_free(&rec);

	/* a lookup failure is not "no parent" */
	map.fail = true;
	rec = record("new@x", "m3@example.org", NULL, 0);
	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), -1);
	ck_assert_str_eq(error, "Redis down");
	fg_record_free(&rec);
}
END_TEST

START_TEST(test_threading_parent_own_msgid)
{
	/* a reply to a mail the bridge sent, after the map lost it: the
	   Message-ID itself names the post, if its MAC verifies and it
	   belongs to this list */
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	char *ours = fg_msgid_make(MSGID_SECRET, "dev", 42, 7, "lists.test");
	char *other_list = fg_msgid_make(MSGID_SECRET, "ops", 42, 7,
					 "lists.test");
	char *forged = fg_msgid_make("not-the-secret", "dev", 42, 7,
				     "lists.test");
	struct fg_record *rec = record("new@x", ours, NULL, 0);
	struct fg_post_ref parent;
	const char *parent_id, *error;

	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 1);
	ck_assert_int_eq(parent.topic_id, 42);
	ck_assert_int_eq(parent.post_number, 7);
	fg_record_free(&rec);

	rec = record("new@x", other_list, NULL, 0);
	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 0);
	fg_record_free(&rec);
	rec = record("new@x", forged, NULL, 0);
	ck_assert_int_eq(fg_threading_find_parent(rec, MSGID_SECRET, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 0);
	fg_record_free(&rec);
	/* without the secret only the map counts */
	rec = record("new@x", ours, NULL, 0);
	ck_assert_int_eq(fg_threading_find_parent(rec, NULL, "dev",
						  fake_lookup_msgid, &map,
						  &parent, &parent_id,
						  &error), 0);
	fg_record_free(&rec);
	free(ours);
	free(other_list);
	free(forged);
}
END_TEST

/* forum_post - a post of topic 10 */
static struct fg_post forum_post(long long number, long long reply_to)
{
	struct fg_post post;

	memset(&post, 0, sizeof(post));
	post.post_id = 1000 + number;
	post.topic_id = 10;
	post.post_number = number;
	post.reply_to_post_number = reply_to;
	return post;
}

/* our_id - fg_msgid_make for topic 10 of list dev */
static char *our_id(long long number)
{
	return fg_msgid_make(MSGID_SECRET, "dev", 10, number, "lists.test");
}

START_TEST(test_threading_outbound_first_post)
{
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_post post = forum_post(1, 0);
	struct fg_threading_headers h;
	const char *error;
	char *id = our_id(1);

	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_str_eq(h.message_id, id);
	ck_assert_ptr_null(h.in_reply_to);
	ck_assert_uint_eq(h.n_references, 0);
	ck_assert_int_eq(h.parent_post_number, 0);
	ck_assert_uint_eq(map.lookups, 0);
	fg_threading_headers_free(&h);
	free(id);
}
END_TEST

START_TEST(test_threading_outbound_list_chain)
{
	/* post 4 answers post 3, which came from the list: the list
	   mail's own Message-IDs, oldest first */
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_post post = forum_post(4, 3);
	struct fg_threading_headers h;
	const char *error;

	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_int_eq(h.parent_post_number, 3);
	ck_assert_str_eq(h.in_reply_to, "m3@example.org");
	ck_assert_uint_eq(h.n_references, 3);
	ck_assert_str_eq(h.references[0], "m1@example.org");
	ck_assert_str_eq(h.references[1], "m2@example.org");
	ck_assert_str_eq(h.references[2], "m3@example.org");
	fg_threading_headers_free(&h);

	/* no reply_to_post_number: an answer to the topic */
	post = forum_post(4, 0);
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_int_eq(h.parent_post_number, 1);
	ck_assert_str_eq(h.in_reply_to, "m1@example.org");
	ck_assert_uint_eq(h.n_references, 1);
	ck_assert_str_eq(h.references[0], "m1@example.org");
	fg_threading_headers_free(&h);
}
END_TEST

START_TEST(test_threading_outbound_unmapped)
{
	/* nothing in the map: our own scheme names every post, and the
	   References still start at the topic's first post */
	struct fake_map map = { NULL, 0, 0, 0 };
	struct fg_post post = forum_post(6, 4);
	struct fg_threading_headers h;
	const char *error;
	char *id1 = our_id(1), *id4 = our_id(4), *id6 = our_id(6);

	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_str_eq(h.message_id, id6);
	ck_assert_str_eq(h.in_reply_to, id4);
	ck_assert_uint_eq(h.n_references, 2);
	ck_assert_str_eq(h.references[0], id1);
	ck_assert_str_eq(h.references[1], id4);
	fg_threading_headers_free(&h);

	/* a reply_to_post_number that is not earlier is no parent */
	post = forum_post(6, 6);
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_int_eq(h.parent_post_number, 1);
	ck_assert_str_eq(h.in_reply_to, id1);
	fg_threading_headers_free(&h);
	free(id1);
	free(id4);
	free(id6);
}
END_TEST

START_TEST(test_threading_outbound_reply_link)
{
	/* NodeBB: the post names its parent by id (toPid), the mail's
	   Message-ID names the post by id; a parent known by id that the
	   map does not have gets ours by id */
	struct fake_map map = { thread_map, FG_N_ELEMENTS(thread_map), 0, 0 };
	struct fg_post post = forum_post(5, 0);
	struct fg_threading_headers h;
	const char *error;
	char *own = fg_msgid_make_post(MSGID_SECRET, "dev", 10, 1005, 0,
				       "lists.test");
	char *phantom = fg_msgid_make_post(MSGID_SECRET, "dev", 10, 1004, 0,
					   "lists.test");

	post.reply_to_post_id = 1002;
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", true, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_str_eq(h.message_id, own);
	ck_assert_int_eq(h.parent_post_id, 1002);
	ck_assert_str_eq(h.in_reply_to, "m2@example.org");
	ck_assert_uint_eq(h.n_references, 2);
	ck_assert_str_eq(h.references[0], "m1@example.org");
	ck_assert_str_eq(h.references[1], "m2@example.org");
	fg_threading_headers_free(&h);

	/* the reply link wins over the topic's first post */
	map.n = 0;
	post = forum_post(6, 0);
	post.reply_to_post_id = 1004;
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", true, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_str_eq(h.in_reply_to, phantom);
	ck_assert_uint_eq(h.n_references, 2);
	fg_threading_headers_free(&h);

	/* a link to a later post is no parent: the topic's first post */
	post.reply_to_post_id = 1009;
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", true, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_int_eq(h.parent_post_number, 1);
	ck_assert_int_eq(h.parent_post_id, 0);
	fg_threading_headers_free(&h);
	free(own);
	free(phantom);
}
END_TEST

START_TEST(test_threading_outbound_bounded)
{
	/* a chain of 40 posts, each answering the one before */
	struct fake_map_entry entries[40];
	char ids[40][32];
	struct fake_map map = { entries, 40, 0, 0 };
	struct fg_post post = forum_post(41, 40);
	struct fg_threading_headers h;
	const char *error;

	for (int i = 0; i < 40; i++) {
		snprintf(ids[i], sizeof(ids[i]), "p%d@example.org", i + 1);
		entries[i].message_id = ids[i];
		entries[i].topic = 10;
		entries[i].post_number = i + 1;
		entries[i].parent = i;	/* post 1 answers nothing */
	}
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_uint_eq(h.n_references, FG_THREADING_MAX_DEPTH + 1);
	ck_assert_str_eq(h.references[0], "p1@example.org");
	ck_assert_str_eq(h.references[1], "p21@example.org");
	ck_assert_str_eq(h.references[FG_THREADING_MAX_DEPTH],
			 "p40@example.org");
	ck_assert_str_eq(h.in_reply_to, "p40@example.org");
	ck_assert_uint_le(map.lookups, FG_THREADING_MAX_DEPTH + 1);
	fg_threading_headers_free(&h);
}
END_TEST

START_TEST(test_threading_outbound_loop)
{
	/* a map that says post 3 answers post 5: ignored, no loop */
	static const struct fake_map_entry loop[] = {
		{ "a@x", 10, 3, 5 },
		{ "b@x", 10, 5, 3 },
		{ "c@x", 10, 1, 0 },
	};
	struct fake_map map = { loop, FG_N_ELEMENTS(loop), 0, 0 };
	struct fg_post post = forum_post(6, 5);
	struct fg_threading_headers h;
	const char *error;

	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), 0);
	ck_assert_uint_eq(h.n_references, 3);
	ck_assert_str_eq(h.references[0], "c@x");
	ck_assert_str_eq(h.references[1], "a@x");
	ck_assert_str_eq(h.references[2], "b@x");
	fg_threading_headers_free(&h);

	map.fail = true;
	ck_assert_int_eq(fg_threading_outbound(MSGID_SECRET, "dev",
					       "lists.test", false, &post,
					       fake_lookup_post, &map, &h,
					       &error), -1);
	ck_assert_ptr_null(h.message_id);
	ck_assert_ptr_null(h.references);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bridge");
	TCase *tc;
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tc = tcase_create("webhook");
	tcase_add_test(tc, test_webhook_signature_good);
	tcase_add_test(tc, test_webhook_signature_bad);
	tcase_add_test(tc, test_webhook_signature_missing);
	tcase_add_test(tc, test_webhook_signature_known);
	tcase_add_test(tc, test_webhook_parse_full);
	tcase_add_test(tc, test_webhook_parse_nulls);
	tcase_add_test(tc, test_webhook_parse_invalid);
	tcase_add_test(tc, test_webhook_parse_events);
	tcase_add_test(tc, test_webhook_parse_oversize);
	tcase_add_test(tc, test_webhook_nodebb);
	tcase_add_test(tc, test_webhook_nodebb_secrets);
	tcase_add_test(tc, test_webhook_parse_cooked);
	tcase_add_test(tc, test_webhook_nodebb_reply_link);
	tcase_add_test(tc, test_post_is_bridge);
	suite_add_tcase(s, tc);

	tc = tcase_create("forum");
	tcase_add_test(tc, test_discourse_classify_ok);
	tcase_add_test(tc, test_discourse_classify_held);
	tcase_add_test(tc, test_webhook_rejections);
	tcase_add_test(tc, test_discourse_classify_permanent);
	tcase_add_test(tc, test_discourse_classify_transient);
	tcase_add_test(tc, test_forum_retry_after);
	tcase_add_test(tc, test_forum_init);
	tcase_add_test(tc, test_forum_unreachable);
	tcase_add_test(tc, test_forum_post_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("smtp");
	tcase_add_test(tc, test_smtp_classify);
	tcase_add_test(tc, test_smtp_send_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("threading");
	tcase_add_test(tc, test_threading_parent_in_reply_to);
	tcase_add_test(tc, test_threading_parent_references);
	tcase_add_test(tc, test_threading_parent_none);
	tcase_add_test(tc, test_threading_parent_own_msgid);
	tcase_add_test(tc, test_threading_outbound_first_post);
	tcase_add_test(tc, test_threading_outbound_list_chain);
	tcase_add_test(tc, test_threading_outbound_unmapped);
	tcase_add_test(tc, test_threading_outbound_reply_link);
	tcase_add_test(tc, test_threading_outbound_bounded);
	tcase_add_test(tc, test_threading_outbound_loop);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
