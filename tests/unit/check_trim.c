/*
 * NAME
 *	check_trim - the trimming fixtures: each form of quote and
 *	signature, in each language, cut; the author's text kept
 * DESCRIPTION
 *	Reads every .txt file of tests/unit/fixtures/trim (format in the README
 *	there) and checks that the body the parser would post from its
 *	input is the expected text, and that a trailing quote without an
 *	attribution is set apart for the bridge exactly when the fixture
 *	says so. Fails when the directory holds fewer fixtures than the
 *	forms it must cover.
 *
 *	Then the comparison of such a quote with the parent's text
 *	(fg-quote.h): re-wrapped and partial quotes match, other text
 *	does not, a long parent is sampled, malformed sketches match
 *	nothing.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg-common.h"
#include "fg-mail-private.h"
#include "fg-quote.h"
#include "fg-text.h"
#include "fg-trim.h"

/* The fixtures; relative to the top of the tree when the build does
   not say (scripts/asan-check runs from there). */
#ifndef FG_TRIM_FIXTURE_DIR
#define FG_TRIM_FIXTURE_DIR "tests/unit/fixtures/trim"
#endif

/* One per form the trimming knows, and the cases it must keep. */
#define FIXTURES_MIN 100

struct fixture {
	char *input, *expected, *quote;
};

/* fixture_read - the whole file, or NULL */
static char *fixture_read(const char *path)
{
	FILE *f = fopen(path, "r");
	struct fg_buf b = { 0 };
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_append(&b, chunk, n);
	fclose(f);
	return fg_buf_steal(&b);
}

/* fixture_parse - the sections of a fixture file */
static void fixture_parse(char *text, struct fixture *fx)
{
	char **section = NULL;
	struct fg_buf b = { 0 };
	char *p = text;
	bool first = true;

	memset(fx, 0, sizeof(*fx));
	for (;;) {
		char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (len >= 3 && strncmp(p, "@@ ", 3) == 0) {
			if (section != NULL)
				*section = fg_buf_steal(&b);
			if (len == 8 && strncmp(p + 3, "input", 5) == 0)
				section = &fx->input;
			else if (len == 11 && strncmp(p + 3, "expected", 8) == 0)
				section = &fx->expected;
			else if (len == 8 && strncmp(p + 3, "quote", 5) == 0)
				section = &fx->quote;
			else
				ck_abort_msg("unknown section %.*s", (int)len,
					     p);
			fg_buf_free(&b);
			first = true;
		} else if (section != NULL && (eol != NULL || len > 0)) {
			if (!first)
				fg_buf_putc(&b, '\n');
			fg_buf_append(&b, p, len);
			first = false;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (section != NULL)
		*section = fg_buf_steal(&b);
}

/* fixture_free - the sections */
static void fixture_free(struct fixture *fx)
{
	free(fx->input);
	free(fx->expected);
	free(fx->quote);
}

/* fixture_failed - report a failed fixture, go on with the others */
static bool fixture_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* fixture_check - one fixture through the trimming; false when it
   failed */
static bool fixture_check(const char *name, const struct fixture *fx)
{
	char *escaped, *kept, *cut, *quote, *body;
	bool ok = true;

	ck_assert_msg(fx->input != NULL && fx->expected != NULL,
		      "%s: no input or no expected section", name);
	escaped = fg_text_escape_plain(fx->input);
	kept = fg_mail_trim_split_quote(escaped, false, &cut, &quote);
	body = quote != NULL ? fg_xasprintf("%s\n\n%s", kept, quote) :
		fg_xstrdup(kept);
	if (strcmp(body, fx->expected) != 0)
		ok = fixture_failed("%s: body\n\"%s\"\nexpected\n\"%s\"",
				    name, body, fx->expected);
	if (fx->quote == NULL && quote != NULL)
		ok = fixture_failed("%s: a quote set apart: \"%s\"", name,
				    quote);
	if (fx->quote != NULL &&
	    (quote == NULL || strcmp(quote, fx->quote) != 0))
		ok = fixture_failed("%s: quote \"%s\", expected \"%s\"",
				    name, quote != NULL ? quote : "(none)",
				    fx->quote);
	free(kept);
	/* the body without the quote split off reads the same */
	kept = fg_mail_trim_body(escaped);
	if (ok && strcmp(kept, fx->expected) != 0)
		ok = fixture_failed("%s: fg_mail_trim_body \"%s\"", name,
				    kept);
	free(kept);
	free(body);
	free(quote);
	free(cut);
	free(escaped);
	return ok;
}

START_TEST(test_trim_fixtures)
{
	DIR *dir = opendir(FG_TRIM_FIXTURE_DIR);
	struct dirent *de;
	size_t count = 0, failed = 0;

	ck_assert_msg(dir != NULL, "cannot open %s", FG_TRIM_FIXTURE_DIR);
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		struct fixture fx;
		char *path, *text;

		if (len < 5 || strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		path = fg_xasprintf("%s/%s", FG_TRIM_FIXTURE_DIR, de->d_name);
		text = fixture_read(path);
		ck_assert_msg(text != NULL, "cannot read %s", path);
		fixture_parse(text, &fx);
		if (!fixture_check(de->d_name, &fx))
			failed++;
		fixture_free(&fx);
		free(text);
		free(path);
		count++;
	}
	closedir(dir);
	ck_assert_msg(failed == 0, "%zu of %zu fixtures failed", failed,
		      count);
	ck_assert_msg(count >= FIXTURES_MIN, "only %zu fixtures", count);
}
END_TEST

/* quote_matches - whether quote (as the reply has it) is parent */
static bool quote_matches(const char *quote, const char *parent)
{
	char *q = fg_quote_sketch(quote), *p = fg_quote_sketch(parent);
	bool ret = fg_quote_matches(q, p, NULL, NULL);

	free(q);
	free(p);
	return ret;
}

static const char parent_text[] =
	"The build fails with gcc 14 because of the new warning about\n"
	"calloc arguments. Adding -Wno-error=calloc-transposed-args helps\n"
	"for now; the real fix swaps the arguments in fg-common.c.\n\n"
	"\\# make CFLAGS=-Wno-error\n\nAlice";

START_TEST(test_quote_match)
{
	/* quoted, re-wrapped, the Markdown escape gone: the parent */
	ck_assert(quote_matches(
		"> The build fails with gcc 14 because of the new\n"
		"> warning about calloc arguments. Adding\n"
		"> -Wno-error=calloc-transposed-args helps for now; the real\n"
		"> fix swaps the arguments in fg-common.c.\n>\n"
		"> # make CFLAGS=-Wno-error\n>\n> Alice", parent_text));
	/* part of it, quoted twice over */
	ck_assert(quote_matches("> > The build fails with gcc 14 because of "
				"the new warning", parent_text));
	/* a short parent, quoted whole */
	ck_assert(quote_matches("> Yes.", "Yes."));
	ck_assert(!quote_matches("> No.", "Yes."));
	/* other text, or the parent's words in another order */
	ck_assert(!quote_matches("> The tests fail with clang 18 because "
				 "of a missing header in fg-text.c.",
				 parent_text));
	ck_assert(!quote_matches("> warning about the build 14 gcc with "
				 "fails because new", parent_text));
	/* half the parent's, half new: doubt keeps */
	ck_assert(!quote_matches("> The build fails with gcc 14 because of "
				 "the new warning. But the tests pass with "
				 "clang 18 on every platform we have here.",
				 parent_text));
	/* the quote's signature and a list's footer are not compared */
	char *q = fg_quote_sketch_quote("> Yes, it is.\n> -- \n> https://forum."
					"example.org/t/build-fails/12\n");
	char *p = fg_quote_sketch("Yes, it is.");
	ck_assert_str_eq(q, p);
	free(q);
	q = fg_quote_sketch_quote("> Yes, it is.\n>\n> ____\n> Forum mailing "
				  "list -- forum@lists.example.org\n");
	ck_assert_str_eq(q, p);
	free(q);
	free(p);
	/* ... unless there is nothing else */
	q = fg_quote_sketch_quote("> -- \n> Alice Example\n");
	p = fg_quote_sketch("Alice Example");
	ck_assert_str_eq(q, p);
	free(q);
	free(p);
	/* no words, or no sketch */
	ck_assert(!quote_matches("> ...", parent_text));
	ck_assert(!fg_quote_matches(NULL, "00000001", NULL, NULL));
	ck_assert(!fg_quote_matches("00000001", "", NULL, NULL));
	/* malformed: not hex, not ascending, too short */
	ck_assert(!fg_quote_matches("0000000g", "0000000g", NULL, NULL));
	ck_assert(!fg_quote_matches("00000002 00000001",
				    "00000002 00000001", NULL, NULL));
	ck_assert(!fg_quote_matches("0001", "0001", NULL, NULL));
	ck_assert(fg_quote_matches("00000001", "00000001 00000002", NULL,
				   NULL));
}
END_TEST

START_TEST(test_quote_long_parent)
{
	struct fg_buf parent = { 0 }, quote = { 0 }, other = { 0 };
	size_t hits, looked;
	char *p, *q;

	/* 3000 distinct words: a full sketch, a sample of the text */
	for (int i = 0; i < 3000; i++) {
		char word[32];

		snprintf(word, sizeof(word), "word%d%c", i,
			 i % 12 == 11 ? '\n' : ' ');
		fg_buf_puts(&parent, word);
		if (i >= 1000 && i < 1600) {
			/* the replier quotes 600 words of it */
			if (i % 10 == 0)
				fg_buf_puts(&quote, "\n> ");
			fg_buf_puts(&quote, word);
		}
		snprintf(word, sizeof(word), "other%d ", i);
		if (i < 600)
			fg_buf_puts(&other, word);
	}
	p = fg_quote_sketch(parent.s);
	ck_assert_uint_eq(strlen(p), FG_QUOTE_SKETCH_MAX * 9 - 1);
	q = fg_quote_sketch(quote.s);
	ck_assert(fg_quote_matches(q, p, &hits, &looked));
	ck_assert_uint_gt(looked, 3);
	ck_assert_uint_eq(hits, looked);
	free(q);
	q = fg_quote_sketch(other.s);
	ck_assert(!fg_quote_matches(q, p, &hits, &looked));
	free(q);
	free(p);
	fg_buf_free(&parent);
	fg_buf_free(&quote);
	fg_buf_free(&other);
}
END_TEST

/* trim_suite - the fixtures, the comparison with the parent */
static Suite *trim_suite(void)
{
	Suite *s = suite_create("trim");
	TCase *tc = tcase_create("fixtures");

	tcase_add_test(tc, test_trim_fixtures);
	suite_add_tcase(s, tc);
	tc = tcase_create("quote");
	tcase_add_test(tc, test_quote_match);
	tcase_add_test(tc, test_quote_long_parent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
