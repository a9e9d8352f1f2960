/*
 * NAME
 *	fuzz_policy - libFuzzer target of the policy request parser
 * DESCRIPTION
 *	Feeds arbitrary bytes to fg_policy_parse() as one client
 *	connection would send them, and every parsed request through
 *	fg_policy_check(), fg_policy_facts() (with every access mode) and
 *	fg_policy_answer(), plus the VERP parser on the recipient. It
 *	asserts what the daemon relies on: a parsed request ends inside
 *	the input and within FG_POLICY_REQUEST_MAX, values point into the
 *	input, an answer is one "action=...\n\n" of bounded length with
 *	no other line break.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-net.h"
#include "fg-policy.h"
#include "fg-verp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)

static struct fg_policy_addresses *fuzz_addrs;
static struct fg_net_list *fuzz_nets;

/* fuzz_answer_ok - one action line, the empty line, nothing else */
static void fuzz_answer_check(const struct fg_policy_decision *d)
{
	char answer[FG_POLICY_ACTION_MAX + 16];
	size_t len = fg_policy_answer(d, answer, sizeof(answer));

	FUZZ_ASSERT(len > 9 && len < sizeof(answer));
	FUZZ_ASSERT(memcmp(answer, "action=", 7) == 0);
	FUZZ_ASSERT(memcmp(answer + len - 2, "\n\n", 2) == 0);
	FUZZ_ASSERT(memchr(answer, '\n', len - 2) == NULL);
	FUZZ_ASSERT(memchr(answer, '\r', len) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *error;
	struct fg_policy_settings set;
	size_t pos = 0;

	if (fuzz_addrs == NULL) {
		fuzz_addrs = fg_policy_addresses_new();
		(void)fg_policy_addresses_add(fuzz_addrs, "forum@lists.test",
					      "forum", &error);
		(void)fg_policy_addresses_add(fuzz_addrs, "dev@lists.test",
					      "dev", &error);
		(void)fg_policy_addresses_add_bridge(fuzz_addrs,
						     "bridge@lists.test",
						     "forum", &error);
		(void)fg_net_list_parse("bridge_clients", "127.0.0.0/8 ::1",
					&fuzz_nets, &error);
	}
	fg_policy_settings_default(&set);
	set.secret = "fuzz-secret";
	set.bridge_clients = fuzz_nets;

	while (pos < size) {
		struct fg_policy_request req;
		struct fg_policy_decision d;
		size_t used = 0;
		int ret = fg_policy_parse(buf + pos, size - pos, &req, &used,
					  &error);

		if (ret <= 0)
			break;
		FUZZ_ASSERT(used > 0 && used <= size - pos &&
			    used <= FG_POLICY_REQUEST_MAX);
		for (unsigned int i = 0; i < FG_POLICY_ATTR_COUNT; i++) {
			const struct fg_policy_value *v = &req.attrs[i];
			FUZZ_ASSERT(v->data == NULL ||
				    (v->data >= buf + pos &&
				     v->data + v->len <= buf + pos + used));
		}
		if (fg_policy_check(&req, fuzz_addrs, &set, &d, &error) < 0)
			break;
		if (d.verdict == FG_POLICY_NEED_MEMBERSHIP) {
			char *sender = fg_policy_value_dup(&req,
							   FG_POLICY_SENDER,
							   true);
			char *key = fg_policy_sender_key(&set, sender);
			struct fg_policy_facts f = {
				.access = (enum fg_policy_access)(used % 4),
				.member = (used & 4) != 0,
				.allowed = (used & 8) != 0,
				.count = (long long)(used % 50),
			};
			struct fg_policy_decision copy = d;
			fg_policy_facts(&d, &set, sender, &f);
			fuzz_answer_check(&d);
			fg_policy_facts(&copy, &set, sender, NULL);
			fuzz_answer_check(&copy);
			free(key);
			free(sender);
		} else if (d.verdict == FG_POLICY_ANSWER ||
			   d.verdict == FG_POLICY_END_OF_MESSAGE) {
			fuzz_answer_check(&d);
		}
		char *rcpt = fg_policy_value_dup(&req, FG_POLICY_RECIPIENT,
						 false);
		struct fg_verp verp;
		if (rcpt != NULL) {
			(void)fg_verp_parse(set.secret, rcpt, &verp);
			fg_verp_clear(&verp);
		}
		free(rcpt);
		pos += used;
	}
	return 0;
}
