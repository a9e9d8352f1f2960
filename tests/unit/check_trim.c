/*
 * NAME
 *	check_trim - the trimming fixtures: each form of quote and
 *	signature, in each language, cut; the author's text kept
 * DESCRIPTION
 *	Reads every tests/unit/fixtures/trim/*.txt (format in the README
 *	there) and checks that the body the parser would post from its
 *	input is the expected text, and that a trailing quote without an
 *	attribution is set apart for the bridge exactly when the fixture
 *	says so. Fails when the directory holds fewer fixtures than the
 *	forms it must cover.
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
#include "fg-text.h"
#include "fg-trim.h"

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

/* trim_suite - the fixtures */
static Suite *trim_suite(void)
{
	Suite *s = suite_create("trim");
	TCase *tc = tcase_create("fixtures");

	tcase_add_test(tc, test_trim_fixtures);
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
