/*
 * NAME
 *	fuzz_html - libFuzzer target of the HTML-to-text converter
 * DESCRIPTION
 *	Feeds arbitrary bytes to fg_html_to_text(), fg_html_to_markdown()
 *	(with and without the trimmed text) and fg_html_sniff_charset(),
 *	as the HTML part of a mail. It asserts the bounds fg-html.h
 *	promises: the output of UTF-8 input is UTF-8, and neither the
 *	text nor the cut quote grows past four times the input plus
 *	64 KB.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-html.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)

/* fuzz_out - an output within the promised bound */
static void fuzz_out(const char *out, size_t in_len, bool utf8_in)
{
	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(strlen(out) <= 4 * in_len + 64 * 1024);
	if (utf8_in)
		FUZZ_ASSERT(g_utf8_validate(out, -1, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *html = (const char *)data;
	bool utf8 = g_utf8_validate(html, (gssize)size, NULL);
	char *text, *md, *trimmed = NULL, *charset;

	text = fg_html_to_text(html, size);
	fuzz_out(text, size, utf8);
	md = fg_html_to_markdown(html, size, NULL);
	fuzz_out(md, size, utf8);
	free(md);
	md = fg_html_to_markdown(html, size, &trimmed);
	fuzz_out(md, size, utf8);
	if (trimmed != NULL) {
		fuzz_out(trimmed, size, utf8);
		free(trimmed);
	}
	free(md);
	free(text);
	charset = fg_html_sniff_charset(html, size);
	if (charset != NULL) {
		FUZZ_ASSERT(*charset != '\0');
		free(charset);
	}
	return 0;
}
