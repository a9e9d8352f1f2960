/*
 * NAME
 *	fuzz_auth - libFuzzer target of the Authentication-Results reader
 * DESCRIPTION
 *	The input, cut at NUL bytes into up to four strings, is read as an
 *	Authentication-Results value, an ARC-Authentication-Results value
 *	and an ARC-Seal, and the first string is also a From domain:
 *	fg_auth_results_parse() in both modes and fg_auth_from() over
 *	them. A parse that succeeds has an authserv-id, lowercase method
 *	and result names, at most FG_AUTH_MAX_RESULTS results and
 *	FG_AUTH_MAX_PROPS properties each, and an ARC instance from 1 to
 *	FG_AUTH_MAX_ARC_INSTANCE; one that fails says why and returns
 *	nothing. Evidence is "" or names a DMARC or DKIM pass.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-auth.h"
#include "fg-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_TRUSTED "mx.lists.test, lists.example.org"

/* fuzz_lower - a name has no uppercase ASCII */
static void fuzz_lower(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_ASSERT(!(*s >= 'A' && *s <= 'Z'));
}

/* fuzz_parse - one value in one mode */
static void fuzz_parse(const char *value, bool arc)
{
	struct fg_auth_results *ar = NULL;
	const char *error = NULL;

	if (fg_auth_results_parse(value, arc, &ar, &error) < 0) {
		FUZZ_ASSERT(ar == NULL && error != NULL);
		return;
	}
	FUZZ_ASSERT(ar != NULL && ar->authserv_id != NULL);
	FUZZ_ASSERT(ar->n_results <= FG_AUTH_MAX_RESULTS);
	FUZZ_ASSERT(arc ? ar->instance >= 1 &&
		    ar->instance <= FG_AUTH_MAX_ARC_INSTANCE :
		    ar->instance == 0);
	for (size_t i = 0; i < ar->n_results; i++) {
		const struct fg_auth_result *r = &ar->results[i];

		fuzz_lower(r->method);
		fuzz_lower(r->result);
		FUZZ_ASSERT(r->n_props <= FG_AUTH_MAX_PROPS);
		for (size_t j = 0; j < r->n_props; j++) {
			fuzz_lower(r->props[j].ptype);
			fuzz_lower(r->props[j].property);
			FUZZ_ASSERT(r->props[j].value != NULL);
		}
	}
	fg_auth_results_free(&ar);
	FUZZ_ASSERT(ar == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fg_xmalloc(size + 1), *s[4];
	const char *ar[1], *arc_ar[1], *seal[1];
	struct fg_auth_headers h = { ar, 1, arc_ar, 1, seal, 1 };
	size_t n = 0, at = 0;
	char *evidence;

	memcpy(copy, data, size);
	copy[size] = '\0';
	while (n < 4) {
		s[n++] = copy + at;
		at += strlen(copy + at);
		if (at < size)
			at++;
	}
	fuzz_parse(s[0], false);
	fuzz_parse(s[0], true);
	ar[0] = s[1];
	arc_ar[0] = s[2];
	seal[0] = s[3];
	evidence = fg_auth_from(s[0], FUZZ_TRUSTED, &h);
	FUZZ_ASSERT(*evidence == '\0' ||
		    strncmp(evidence, "dmarc=pass header.from=", 23) == 0 ||
		    strncmp(evidence, "dkim=pass header.d=", 19) == 0);
	free(evidence);
	(void)fg_auth_aligned(s[1], s[2]);
	(void)fg_auth_id_trusted(s[3], s[0]);
	free(copy);
	return 0;
}
