/*
 * NAME
 *	fuzz_bounce - libFuzzer target of the delivery report parser
 * DESCRIPTION
 *	Feeds arbitrary bytes to fg_bounce_parse() as a message delivered
 *	to the bridge, with the secret "fuzz-secret", once without an
 *	envelope recipient and once to the VERP address of recipient
 *	member@example.net of list "forum" (the input's first byte
 *	chooses). It asserts what fg-bounce.h promises: -1 only with an
 *	error and no report; a report is at most one of bounce, feedback
 *	report and automatic reply; at most FG_BOUNCE_MAX_RECIPIENTS
 *	recipients, each with a lowercase address holding an '@', a status
 *	that is NULL or an RFC 3463 code of class 2, 4 or 5, an action, a
 *	known kind and a diagnostic of one valid UTF-8 line of at most
 *	FG_BOUNCE_DIAG_MAX bytes; temporary only for a bounce; with the
 *	VERP recipient, a bounce names that recipient and nobody else;
 *	fg_bounce_json() gives a JSON object.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-bounce.h"
#include "fg-mailparse.h"
#include "fg-verp.h"

#include <ctype.h>
#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define SECRET "fuzz-secret"

/* fuzz_status - NULL or D.D{1,3}.D{1,3} of class 2, 4 or 5 */
static void fuzz_status(const char *s)
{
	int dots = 0;

	if (s == NULL)
		return;
	FUZZ_ASSERT(s[0] == '2' || s[0] == '4' || s[0] == '5');
	FUZZ_ASSERT(s[1] == '.');
	for (const char *p = s + 1; *p != '\0'; p++) {
		if (*p == '.')
			dots++;
		else
			FUZZ_ASSERT(isdigit((unsigned char)*p));
	}
	FUZZ_ASSERT(dots == 2 && strlen(s) <= 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *verp;
	struct fg_bounce *b = NULL;
	const char *error = NULL;
	bool to_verp = size > 0 && (data[0] & 1) != 0;
	int ret;

	if (verp == NULL) {
		fg_mail_init();
		verp = fg_verp_make_recipient(SECRET, "forum",
					      "member@example.net",
					      "bridge@lists.test");
		FUZZ_ASSERT(verp != NULL);
	}
	ret = fg_bounce_parse(data, size, SECRET, to_verp ? verp : NULL, &b,
			      &error);
	if (ret < 0) {
		FUZZ_ASSERT(b == NULL && error != NULL);
		return 0;
	}
	FUZZ_ASSERT(ret == 0 && b != NULL && b->reason != NULL);
	FUZZ_ASSERT((int)b->bounce + (int)b->feedback + (int)b->auto_reply
		    <= 1);
	FUZZ_ASSERT(!b->temporary || b->bounce);
	FUZZ_ASSERT(b->n_recipients <= FG_BOUNCE_MAX_RECIPIENTS);
	FUZZ_ASSERT(b->bounce || b->feedback || b->n_recipients == 0);
	for (size_t i = 0; i < b->n_recipients; i++) {
		const struct fg_bounce_recipient *r = &b->recipients[i];
		const char *d = r->diagnostic;

		FUZZ_ASSERT(r->address != NULL && strchr(r->address, '@'));
		for (const char *p = r->address; *p != '\0'; p++)
			FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
		fuzz_status(r->status);
		FUZZ_ASSERT(r->action != NULL && *r->action != '\0');
		FUZZ_ASSERT(r->kind <= FG_BOUNCE_COMPLAINT);
		FUZZ_ASSERT(d != NULL && strlen(d) <= FG_BOUNCE_DIAG_MAX);
		FUZZ_ASSERT(g_utf8_validate(d, -1, NULL));
		FUZZ_ASSERT(strchr(d, '\n') == NULL);
	}
	if (to_verp) {
		FUZZ_ASSERT(b->verp_state == 1);
		if (b->bounce)
			FUZZ_ASSERT(b->n_recipients == 1 &&
				    strcmp(b->recipients[0].address,
					   "member@example.net") == 0);
	}
	char *text = fg_bounce_json(b);
	json_t *obj = json_loads(text, 0, NULL);
	FUZZ_ASSERT(json_is_object(obj));
	json_decref(obj);
	free(text);
	fg_bounce_free(&b);
	FUZZ_ASSERT(b == NULL);
	return 0;
}
