/*
 * NAME
 *	fuzz_dmarc - libFuzzer target of the DMARC record and answer readers
 * DESCRIPTION
 *	What a DNS server (or whoever spoofs one) sends forumgated when it
 *	asks for an author's domain's DMARC policy: the input is read as a
 *	DNS answer by fg_dmarc_answer() and as one TXT record by
 *	fg_dmarc_record(), each for the domain itself and for its
 *	organizational domain. Every result must be one of the
 *	documented ones, and a policy one of the three; a record the
 *	reader does not take for a DMARC record gives none; a record
 *	that is one stays one with a harmless tag added at its end.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-dmarc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)

/* fuzz_policy_ok - one of the three policies */
static bool fuzz_policy_ok(enum fg_listmsg_dmarc p)
{
	return p == FG_LISTMSG_DMARC_NONE ||
		p == FG_LISTMSG_DMARC_QUARANTINE ||
		p == FG_LISTMSG_DMARC_REJECT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fg_listmsg_dmarc p, again;
	const char *error;
	char *more;
	int ret;

	for (int org = 0; org <= 1; org++) {
		ret = fg_dmarc_answer(data, size, org, &p, &error);
		FUZZ_ASSERT(ret >= -1 && ret <= 1 && fuzz_policy_ok(p));
		if (ret <= 0)
			FUZZ_ASSERT(p == FG_LISTMSG_DMARC_NONE);

		ret = fg_dmarc_record((const char *)data, size, org, &p);
		FUZZ_ASSERT((ret == 0 || ret == 1) && fuzz_policy_ok(p));
		if (ret == 0)
			FUZZ_ASSERT(p == FG_LISTMSG_DMARC_NONE);
		if (ret == 1 && size < FG_DMARC_RECORD_MAX - 16 &&
		    memchr(data, '\0', size) == NULL) {
			more = fg_xasprintf("%.*s;x=y", (int)size,
					    (const char *)data);
			FUZZ_ASSERT(fg_dmarc_record(more, strlen(more), org,
						    &again) == 1);
			free(more);
		}
	}
	return 0;
}
