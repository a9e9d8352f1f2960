/*
 * NAME
 *	check_verp - unit tests of the VERP bounce address scheme (fg-verp)
 */
#include "fg-common.h"
#include "fg-verp.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "s3cret"

START_TEST(test_verp_round_trip)
{
	char *addr = fg_verp_make(SECRET, "forum", "Alice@Example.org",
				  "lists.test");
	char *list, *payload, *domain;
	const char *error;

	ck_assert_ptr_nonnull(addr);
	ck_assert_int_eq(strncmp(addr, "forum+fgbounce-", 15), 0);
	ck_assert_ptr_nonnull(strstr(addr, "-alice=example.org@lists.test"));
	ck_assert_int_eq(fg_verp_parse(SECRET, addr, &list, &payload, &domain,
				       &error), 1);
	ck_assert_str_eq(list, "forum");
	ck_assert_str_eq(payload, "alice@example.org");
	ck_assert_str_eq(domain, "lists.test");
	free(list);
	free(payload);
	free(domain);

	/* A relay that uppercases the address does not break the MAC. */
	for (char *p = addr; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	ck_assert_int_eq(fg_verp_parse(SECRET, addr, NULL, NULL, NULL,
				       &error), 1);
	free(addr);
}
END_TEST

START_TEST(test_verp_post)
{
	char *addr = fg_verp_make(SECRET, "dev-list", "p.12.3", "lists.test");
	char *payload;
	const char *error;

	ck_assert_ptr_nonnull(addr);
	ck_assert_int_eq(fg_verp_parse(SECRET, addr, NULL, &payload, NULL,
				       &error), 1);
	ck_assert_str_eq(payload, "p.12.3");
	free(payload);
	free(addr);
	/* '=' without '@' could not be told from a recipient */
	ck_assert_ptr_null(fg_verp_make(SECRET, "forum", "a=b", "x.test"));
	ck_assert_ptr_null(fg_verp_make(SECRET, "Bad}", "a@b", "x.test"));
	ck_assert_ptr_null(fg_verp_make(SECRET, "forum", "", "x.test"));
}
END_TEST

START_TEST(test_verp_forged)
{
	char *addr = fg_verp_make(SECRET, "forum", "alice@example.org",
				  "lists.test");
	char *other = fg_verp_make(SECRET, "dev", "alice@example.org",
				   "lists.test");
	const char *error;
	char *p;

	/* another secret, another payload, another list */
	ck_assert_int_eq(fg_verp_parse("other", addr, NULL, NULL, NULL,
				       &error), 0);
	p = strstr(addr, "alice");
	*p = 'b';
	ck_assert_int_eq(fg_verp_parse(SECRET, addr, NULL, NULL, NULL,
				       &error), 0);
	*p = 'a';
	memcpy(other, "forum", 3);	/* "fordev+..." */
	ck_assert_int_eq(fg_verp_parse(SECRET, other, NULL, NULL, NULL,
				       &error), 0);
	/* the Message-ID MAC of the same data does not pass */
	ck_assert_int_eq(fg_verp_parse(SECRET,
		"forum+fgbounce-0123456789abcdef-alice=example.org@lists.test",
		NULL, NULL, NULL, &error), 0);
	ck_assert_int_eq(fg_verp_parse(SECRET, "forum+fgbounce-@lists.test",
				       NULL, NULL, NULL, &error), 0);
	/* not VERP at all */
	ck_assert_int_eq(fg_verp_parse(SECRET,
		"forum+bounces-12-alice=example.org@lists.test", NULL, NULL,
		NULL, &error), -1);
	ck_assert_int_eq(fg_verp_parse(SECRET, "forum@lists.test", NULL, NULL,
				       NULL, &error), -1);
	ck_assert_int_eq(fg_verp_parse(SECRET, "+fgbounce-x@lists.test", NULL,
				       NULL, NULL, &error), -1);
	ck_assert_int_eq(fg_verp_parse(SECRET, "forum+fgbounce-", NULL, NULL,
				       NULL, &error), -1);
	free(addr);
	free(other);
}
END_TEST

START_TEST(test_verp_hostile)
{
	char buf[600];
	const char *error;

	/* random bytes never crash and never verify */
	srand(4);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)rand() % sizeof(buf);
		memcpy(buf, "forum+fgbounce-", 15);
		for (size_t i = 15; i < len; i++)
			buf[i] = (char)(1 + rand() % 255);
		buf[len < 15 ? 15 : len] = '\0';
		ck_assert_int_le(fg_verp_parse(SECRET, buf, NULL, NULL, NULL,
					       &error), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verp");
	TCase *tc = tcase_create("verp");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_verp_round_trip);
	tcase_add_test(tc, test_verp_post);
	tcase_add_test(tc, test_verp_forged);
	tcase_add_test(tc, test_verp_hostile);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
