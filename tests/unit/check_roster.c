/*
 * NAME
 *	check_roster - unit tests of fg-roster (roster sources)
 * DESCRIPTION
 *	Source names, Mailman 3 roster pages (JSON as Mailman's REST API
 *	answers), an mlmmj list directory made in a temporary directory,
 *	and the errors of a source that cannot be read. The real Mailman
 *	and mlmmj are in tests/integration/test_listmanagers.py.
 */
#include "fg-common.h"
#include "fg-config.h"
#include "fg-roster.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>

START_TEST(test_source_parse)
{
	struct fg_roster_source src;
	const char *error;

	ck_assert_int_eq(fg_roster_source_parse("mailman3", "Forum@Lists.Example",
						&src, &error), 0);
	ck_assert_int_eq(src.kind, FG_ROSTER_MAILMAN3);
	ck_assert_str_eq(src.where, "forum.lists.example");
	fg_roster_source_free(&src);
	ck_assert_int_eq(fg_roster_source_parse("mailman3:talk.example.org",
						NULL, &src, &error), 0);
	ck_assert_str_eq(src.where, "talk.example.org");
	fg_roster_source_free(&src);
	ck_assert_int_eq(fg_roster_source_parse("mlmmj:/var/spool/mlmmj/forum",
						NULL, &src, &error), 0);
	ck_assert_int_eq(src.kind, FG_ROSTER_MLMMJ);
	ck_assert_str_eq(src.where, "/var/spool/mlmmj/forum");
	fg_roster_source_free(&src);

	/* a list id goes into a URL path: nothing that could leave it;
	   an mlmmj directory is absolute */
	static const char *const bad[] = {
		"mailman3:a/../b", "mailman3:a?b", "mailman3:", "mlmmj:forum",
		"mlmmj:/x/../etc", "mlmmj:/x/..", "sympa:x",
	};
	for (size_t i = 0; i < FG_N_ELEMENTS(bad); i++)
		ck_assert_msg(fg_roster_source_parse(bad[i], "x@y", &src,
						     &error) == -1, "%s", bad[i]);
	ck_assert_int_eq(fg_roster_source_parse("mailman3", NULL, &src,
						&error), -1);
	ck_assert_ptr_nonnull(strstr(error, "posting address"));
	ck_assert_int_eq(fg_roster_source_parse("sympa:x", NULL, &src,
						&error), -1);
	ck_assert_ptr_nonnull(strstr(error, "unknown roster source"));
}
END_TEST

START_TEST(test_mailman_pages)
{
	struct fg_roster r = { 0 };
	long long total;
	size_t entries;
	const char *error;
	const char *page1 =
		"{\"start\": 0, \"total_size\": 4, \"entries\": ["
		"{\"email\": \" Bob@Example.ORG\", \"role\": \"member\"},"
		"{\"email\": \"alice@example.org\"},"
		"{\"email\": \"not an address\"},"
		"{\"address\": \"x@y\"}]}";
	const char *past_end = "{\"start\": 500, \"total_size\": 4}";

	ck_assert_int_eq(fg_roster_mailman_page(&r, page1, strlen(page1),
						&total, &entries, &error), 0);
	ck_assert_int_eq(total, 4);
	ck_assert_uint_eq(entries, 4);
	ck_assert_int_eq(fg_roster_mailman_page(&r, past_end, strlen(past_end),
						&total, &entries, &error), 0);
	ck_assert_uint_eq(entries, 0);
	/* the same member twice (the roster moved between pages) */
	ck_assert_int_eq(fg_roster_mailman_page(&r, page1, strlen(page1),
						&total, &entries, &error), 0);
	fg_roster_finish(&r);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_str_eq(r.addresses[0], "alice@example.org");
	ck_assert_str_eq(r.addresses[1], "bob@example.org");
	ck_assert_uint_eq(r.ignored, 4);
	fg_roster_free(&r);

	/* answers that are no roster */
	ck_assert_int_eq(fg_roster_mailman_page(&r, "[]", 2, &total, &entries,
						&error), -1);
	ck_assert_int_eq(fg_roster_mailman_page(&r, "{\"entries\": []}", 15,
						&total, &entries, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "total_size"));
	ck_assert_int_eq(fg_roster_mailman_page(&r, "<html>", 6, &total,
						&entries, &error), -1);
	ck_assert_int_eq(fg_roster_mailman_page(
		&r, "{\"total_size\": 1, \"entries\": {}}", 32, &total,
		&entries, &error), -1);
	fg_roster_free(&r);
}
END_TEST

START_TEST(test_address_filter)
{
	struct fg_roster r = { 0 };
	char longaddr[300];

	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 250, "@b.example", 11);
	fg_roster_add(&r, "ok@example.org\n", 15);
	fg_roster_add(&r, "two@at@example.org", 18);
	fg_roster_add(&r, "@example.org", 12);
	fg_roster_add(&r, "user@", 5);
	fg_roster_add(&r, "a b@example.org", 15);
	fg_roster_add(&r, "<x@example.org>", 15);
	fg_roster_add(&r, longaddr, strlen(longaddr));
	fg_roster_add(&r, "", 0);
	for (int i = 0; i < 100; i++) {
		char a[64];
		snprintf(a, sizeof(a), "m%02d@example.org", 99 - i);
		fg_roster_add(&r, a, strlen(a));
	}
	fg_roster_finish(&r);
	ck_assert_uint_eq(r.count, 101);
	ck_assert_uint_eq(r.ignored, 7);
	ck_assert_str_eq(r.addresses[0], "m00@example.org");
	ck_assert_str_eq(r.addresses[100], "ok@example.org");
	fg_roster_free(&r);
}
END_TEST

/* write_file - a file with this text */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_mlmmj_directory)
{
	char dir[] = "/tmp/fg-roster-XXXXXX", path[512], cmd[600];
	struct fg_config *config = fg_config_defaults();
	struct fg_roster_source src = { FG_ROSTER_MLMMJ, NULL };
	struct fg_roster r;
	const char *error;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	src.where = dir;
	/* no subscribers.d: not an mlmmj list */
	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not an mlmmj list directory"));

	snprintf(path, sizeof(path), "%s/subscribers.d", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	/* an empty list is a roster with no one */
	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), 0);
	ck_assert_uint_eq(r.count, 0);
	fg_roster_free(&r);

	snprintf(path, sizeof(path), "%s/subscribers.d/a", dir);
	write_file(path, "alice@example.org\nAnna@Example.org\n\n");
	snprintf(path, sizeof(path), "%s/subscribers.d/b", dir);
	write_file(path, "bob@example.org\n");
	snprintf(path, sizeof(path), "%s/digesters.d", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/digesters.d/d", dir);
	write_file(path, "dora@example.org\nbob@example.org\n");
	snprintf(path, sizeof(path), "%s/nomailsubs.d", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/nomailsubs.d/n", dir);
	write_file(path, "nora@example.org\ngarbage line\n");
	/* a directory inside is no subscriber file */
	snprintf(path, sizeof(path), "%s/nomailsubs.d/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);

	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), 0);
	ck_assert_uint_eq(r.count, 5);
	ck_assert_str_eq(r.addresses[0], "alice@example.org");
	ck_assert_str_eq(r.addresses[1], "anna@example.org");
	ck_assert_str_eq(r.addresses[2], "bob@example.org");
	ck_assert_str_eq(r.addresses[3], "dora@example.org");
	ck_assert_str_eq(r.addresses[4], "nora@example.org");
	ck_assert_uint_eq(r.ignored, 1);
	fg_roster_free(&r);

	/* a symbolic link is not followed: an error, no roster */
	snprintf(path, sizeof(path), "%s/subscribers.d/l", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "symbolic link"));
	ck_assert_int_eq(unlink(path), 0);

	/* a subscriber file that cannot be read: no roster at all */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/subscribers.d/b", dir);
		ck_assert_int_eq(chmod(path, 0), 0);
		ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), -1);
		ck_assert_ptr_nonnull(strstr(error, "subscribers.d/b"));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	fg_config_free(&config);
}
END_TEST

START_TEST(test_mailman_unreachable)
{
	struct fg_config *config = fg_config_defaults();
	struct fg_roster_source src = { FG_ROSTER_MAILMAN3, "forum.lists.example" };
	struct fg_roster r;
	const char *error;

	/* no password: said before anything is asked */
	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "mailman_rest_password"));
	const char *err2;
	ck_assert_int_eq(fg_config_set(config, "mailman_rest_password", "pw",
				       &err2), 0);
	/* port 1 of the loopback: nobody listens (connection refused) */
	ck_assert_int_eq(fg_config_set(config, "mailman_rest_url",
				       "http://u:secret@127.0.0.1:1/3.1/",
				       &err2), 0);
	ck_assert_int_eq(fg_roster_read(config, &src, &r, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "cannot read http://127.0.0.1:1/"
				     "3.1/lists/forum.lists.example/roster/"
				     "member?count=500&page=1"));
	/* the credentials in the URL are not shown */
	ck_assert_ptr_null(strstr(error, "secret"));
	ck_assert_uint_eq(r.count, 0);
	fg_config_free(&config);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("roster");
	TCase *tc = tcase_create("roster");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_test(tc, test_source_parse);
	tcase_add_test(tc, test_mailman_pages);
	tcase_add_test(tc, test_address_filter);
	tcase_add_test(tc, test_mlmmj_directory);
	tcase_add_test(tc, test_mailman_unreachable);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}
