/*
 * NAME
 *	check_forum_errors - the forums' real refusals and their classes
 * DESCRIPTION
 *	Every answer recorded in tests/unit/fixtures/forums (NodeBB's
 *	and Discourse's bodies, byte for byte; see its README for where
 *	each comes from) goes through its driver's classification, and
 *	the class, cause, wait and stated limit must be the ones the
 *	"cases" table names. Then fg_forum_classify_refusal() on words
 *	no fixture has (NodeBB's untranslated keys, a missing wait), and
 *	fg_forum_learn_limits().
 */
#include "fg-common.h"
#include "fg-forum.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

/* read_fixture - a fixture file's bytes (caller frees) */
static char *read_fixture(const char *name, size_t *size_r)
{
	char *path = fg_xasprintf("%s/%s", FG_FORUM_FIXTURE_DIR, name);
	FILE *f = fopen(path, "rb");
	struct fg_buf b = { 0 };
	char chunk[4096];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_append(&b, chunk, n);
	fclose(f);
	free(path);
	*size_r = b.len;
	return fg_buf_steal(&b);
}

START_TEST(test_recorded_answers)
{
	char *path = fg_xasprintf("%s/cases", FG_FORUM_FIXTURE_DIR);
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned int n_cases = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char driver[32], file[128], class[32], cause[32];
		unsigned int wait_ms, min, max, refused;
		long status;
		struct fg_forum_answer a;
		const char *error = NULL;
		char *body;
		size_t size;
		int ret;

		if (sscanf(line, "%31s %ld %127s %31s %31s %u %u %u %u", driver,
			   &status, file, class, cause, &wait_ms, &min, &max,
			   &refused) != 9)
			continue;
		body = read_fixture(file, &size);
		if (strcmp(driver, "nodebb") == 0)
			ret = fg_nodebb_classify(status, body, size, NULL,
						 1700000000, &a, &error);
		else
			ret = fg_discourse_classify(status, body, size, NULL,
						    1700000000, &a, &error);
		ck_assert_msg(strcmp(fg_forum_status_name(ret), class) == 0,
			      "%s: %s, not %s (%s)", file,
			      fg_forum_status_name(ret), class, error);
		ck_assert_msg(strcmp(fg_forum_cause_name(a.cause), cause) == 0,
			      "%s: cause %s, not %s", file,
			      fg_forum_cause_name(a.cause), cause);
		ck_assert_msg(a.retry_after_ms == wait_ms, "%s: wait %u, not %u",
			      file, a.retry_after_ms, wait_ms);
		ck_assert_msg(a.min_length == min && a.max_length == max,
			      "%s: limits %u..%u, not %u..%u", file,
			      a.min_length, a.max_length, min, max);
		ck_assert_msg(a.content_refused == (refused != 0),
			      "%s: content_refused %d", file,
			      (int)a.content_refused);
		ck_assert_int_eq(a.http_status, status);
		/* the forum's words reach the log and the dead letter */
		ck_assert_ptr_nonnull(error);
		ck_assert_msg(strstr(error, "forum answered HTTP") == error,
			      "%s: %s", file, error);
		free(body);
		n_cases++;
	}
	fclose(f);
	free(path);
	ck_assert_uint_ge(n_cases, 15);
}
END_TEST

START_TEST(test_classify_words)
{
	struct fg_forum_answer a;

	/* NodeBB's key, when a language lacks the string */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(
		400, "[[error:too-many-posts-newbie, 120, 10]]", NULL, 0, true,
		0, &a), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_RATE_LIMIT);
	ck_assert_uint_eq(a.retry_after_ms, 120000);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(
		400, "[[error:content-too-short, 12]]", NULL, 0, true, 0, &a),
		FG_FORUM_PERMANENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_TOO_SHORT);
	ck_assert_uint_eq(a.min_length, 12);
	/* a rate limit that names no time: the default */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(429, NULL, NULL, 0, true,
						   0, &a), FG_FORUM_TRANSIENT);
	ck_assert_uint_eq(a.retry_after_ms,
			  FG_FORUM_RATE_LIMIT_DEFAULT_S * 1000);
	/* Retry-After goes before the words */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(
		400, "You can only post once every 10 second(s)", "4", 0,
		true, 0, &a), FG_FORUM_TRANSIENT);
	ck_assert_uint_eq(a.retry_after_ms, 4000);
	/* 403 that is not about the key, and 401 that always is */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(403, "no", NULL, 0, false,
						   0, &a), FG_FORUM_PERMANENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_OTHER);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(401, NULL, NULL, 0, false,
						   0, &a), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_CREDENTIALS);
	/* an absurd wait is not believed beyond a day */
	memset(&a, 0, sizeof(a));
	fg_forum_classify_refusal(400, "can only post once every "
				  "99999999999 second(s)", NULL, 0, true, 0,
				  &a);
	ck_assert_uint_eq(a.retry_after_ms, 24 * 3600 * 1000u);
	/* the first error text ("Invalid post id") names no cause */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fg_forum_classify_refusal(400, "Invalid post id",
						   NULL, 0, true, 0, &a),
			 FG_FORUM_PERMANENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_OTHER);
	ck_assert(!a.content_refused);
}
END_TEST

START_TEST(test_learn_limits)
{
	struct fg_forum_settings set = {
		.type = "nodebb", .url = "https://nodebb.example.org/",
		.api_key = "token", .api_username = "1", .timeout_ms = 1000,
	};
	struct fg_forum *forum = NULL;
	struct fg_forum_answer a;
	const char *error;
	char *raw;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	ck_assert_uint_eq(fg_forum_limits(forum)->min_post,
			  FG_NODEBB_MIN_POST_DEFAULT);
	raw = fg_forum_fit_raw(forum, "Thanks!");
	ck_assert_str_ne(raw, "Thanks!");	/* 7 < 8: padded */
	free(raw);
	raw = fg_forum_fit_raw(forum, "Thank you!");
	ck_assert_str_eq(raw, "Thank you!");
	free(raw);
	/* the forum's administrators raised minimumPostLength to 50 */
	memset(&a, 0, sizeof(a));
	fg_forum_classify_refusal(400, "Please enter a longer post. Posts "
				  "should contain at least 50 character(s).",
				  NULL, 0, true, 0, &a);
	ck_assert(fg_forum_learn_limits(forum, &a));
	ck_assert_uint_eq(fg_forum_limits(forum)->min_post, 50);
	raw = fg_forum_fit_raw(forum, "Thank you!");
	ck_assert_uint_ge(strlen(raw), 50);
	free(raw);
	/* the same again teaches nothing: no second retry */
	ck_assert(!fg_forum_learn_limits(forum, &a));
	/* a lower maximum is learnt, a higher one is not */
	memset(&a, 0, sizeof(a));
	a.cause = FG_FORUM_CAUSE_TOO_LONG;
	a.max_length = 40000;
	ck_assert(!fg_forum_learn_limits(forum, &a));
	a.max_length = 1000;
	ck_assert(fg_forum_learn_limits(forum, &a));
	ck_assert_uint_eq(fg_forum_limits(forum)->max_post, 1000);
	/* too small to hold a cut text and its note: not believed */
	a.max_length = 20;
	ck_assert(!fg_forum_learn_limits(forum, &a));
	ck_assert_uint_eq(fg_forum_limits(forum)->max_post, 1000);
	/* no number stated: nothing to learn */
	memset(&a, 0, sizeof(a));
	a.cause = FG_FORUM_CAUSE_TITLE_TOO_SHORT;
	ck_assert(!fg_forum_learn_limits(forum, &a));
	fg_forum_deinit(&forum);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("forum_errors");
	TCase *tc = tcase_create("classify");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_test(tc, test_recorded_answers);
	tcase_add_test(tc, test_classify_words);
	tcase_add_test(tc, test_learn_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}
