/*
 * NAME
 *	check_listjoin - list mode: subscribing by mail (the confirmation
 *	token, the request commands, the Redis state)
 * DESCRIPTION
 *	Tokens made and verified; every kind of change refused (a
 *	character of the MAC or the address, another list, another
 *	secret, a later expiry, the other action); expiry; upper case
 *	from an MTA accepted; hostile addresses refused. The commands of
 *	a request mail: Subject and body, synonyms, case, quotes,
 *	"end", the line limit, unknown words. The daily counter and the
 *	one-time confirmation against a real redis-server (skipped,
 *	exit 77, without one).
 */
#include "fg-common.h"
#include "fg-listjoin.h"
#include "fg-store.h"

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check-redis.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define NOW 1700000000LL

static bool have_redis;

/* verify - fg_listjoin_verify at NOW for list "ml" */
static int verify(const char *token, enum fg_listjoin_action *action,
		  char **address)
{
	const char *error;
	long long expires;

	return fg_listjoin_verify(SECRET, "ml", token, NOW, action, address,
				  &expires, &error);
}

START_TEST(test_token_round_trip)
{
	enum fg_listjoin_action action = FG_LISTJOIN_UNSUBSCRIBE;
	char *token, *address = NULL, *upper;

	token = fg_listjoin_token(SECRET, "ml", FG_LISTJOIN_SUBSCRIBE,
				  "Jane.Doe@Example.ORG", NOW + 3600);
	ck_assert_ptr_nonnull(token);
	/* nothing an MTA could change the case of */
	for (const char *p = token; *p != '\0'; p++)
		ck_assert(strchr("0123456789abcdefsu.", *p) != NULL);
	ck_assert_int_eq(verify(token, &action, &address), 1);
	ck_assert_int_eq(action, FG_LISTJOIN_SUBSCRIBE);
	ck_assert_str_eq(address, "jane.doe@example.org");
	free(address);
	/* a local part upper-cased on its way */
	upper = fg_xstrdup(token);
	for (char *p = upper; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	ck_assert_int_eq(verify(upper, &action, &address), 1);
	ck_assert_str_eq(address, "jane.doe@example.org");
	free(address);
	free(upper);
	free(token);

	token = fg_listjoin_token(SECRET, "ml", FG_LISTJOIN_UNSUBSCRIBE,
				  "bob@example.org", NOW + 1);
	ck_assert_int_eq(verify(token, &action, &address), 1);
	ck_assert_int_eq(action, FG_LISTJOIN_UNSUBSCRIBE);
	free(address);
	free(token);
}
END_TEST

START_TEST(test_token_forged)
{
	enum fg_listjoin_action action;
	char *token, *t, *address = NULL, *other;
	const char *error;
	long long expires;
	size_t len;

	token = fg_listjoin_token(SECRET, "ml", FG_LISTJOIN_SUBSCRIBE,
				  "jane@example.org", NOW + 3600);
	len = strlen(token);
	/* every single changed character: never valid */
	for (size_t i = 0; i < len; i++) {
		t = fg_xstrdup(token);
		if (t[i] == '.')
			t[i] = 'a';
		else
			t[i] = t[i] == '0' ? '1' : '0';
		ck_assert_int_le(verify(t, &action, &address), 0);
		ck_assert_ptr_null(address);
		free(t);
	}
	/* another list, another secret */
	ck_assert_int_eq(fg_listjoin_verify(SECRET, "other", token, NOW,
					    &action, &address, &expires,
					    &error), 0);
	ck_assert_int_eq(fg_listjoin_verify("another secret", "ml", token, NOW,
					    &action, &address, &expires,
					    &error), 0);
	ck_assert_str_eq(error, "confirmation token: signature does not "
			 "verify");
	/* the action turned round */
	t = fg_xstrdup(token);
	t[0] = 'u';
	ck_assert_int_eq(verify(t, &action, &address), 0);
	free(t);
	/* a later expiry */
	t = fg_xasprintf("s.%lld%s", NOW + 999999, strchr(token + 2, '.'));
	ck_assert_int_eq(verify(t, &action, &address), 0);
	free(t);
	/* another address with the same MAC */
	other = fg_listjoin_token(SECRET, "ml", FG_LISTJOIN_SUBSCRIBE,
				  "mallory@example.org", NOW + 3600);
	t = fg_xstrndup(other, (size_t)(strrchr(other, '.') - other));
	{
		char *mixed = fg_xasprintf("%s%s", t, strrchr(token, '.'));

		ck_assert_int_eq(verify(mixed, &action, &address), 0);
		free(mixed);
	}
	free(t);
	free(other);
	/* not tokens at all */
	ck_assert_int_eq(verify("", &action, &address), -1);
	ck_assert_int_eq(verify("s.1.2", &action, &address), -1);
	ck_assert_int_eq(verify("x.1700000000.6a.0123456789abcdef0123",
				&action, &address), -1);
	ck_assert_int_eq(verify("s.1700000000.6a00.0123456789abcdef0123",
				&action, &address), -1);
	ck_assert_ptr_null(address);
	free(token);
}
END_TEST

START_TEST(test_token_expiry_and_bad_input)
{
	enum fg_listjoin_action action;
	char *token, *address = NULL;
	const char *error;
	long long expires;

	token = fg_listjoin_token(SECRET, "ml", FG_LISTJOIN_SUBSCRIBE,
				  "jane@example.org", NOW - 1);
	ck_assert_int_eq(fg_listjoin_verify(SECRET, "ml", token, NOW, &action,
					    &address, &expires, &error), 0);
	ck_assert_str_eq(error, "confirmation token: expired");
	ck_assert_int_eq(fg_listjoin_verify(SECRET, "ml", token, NOW - 1,
					    &action, &address, &expires,
					    &error), 1);
	ck_assert_int_eq(expires, NOW - 1);
	free(address);
	free(token);
	/* hostile or unusable input makes no token */
	ck_assert_ptr_null(fg_listjoin_token(SECRET, "ml",
					     FG_LISTJOIN_SUBSCRIBE,
					     "a@b.org\r\nBcc: x@y.org",
					     NOW));
	ck_assert_ptr_null(fg_listjoin_token(SECRET, "ml",
					     FG_LISTJOIN_SUBSCRIBE,
					     "<a@b.org>", NOW));
	ck_assert_ptr_null(fg_listjoin_token("", "ml", FG_LISTJOIN_SUBSCRIBE,
					     "a@b.org", NOW));
	ck_assert_ptr_null(fg_listjoin_token(SECRET, "no such/list",
					     FG_LISTJOIN_SUBSCRIBE,
					     "a@b.org", NOW));
	ck_assert_ptr_null(fg_listjoin_token(SECRET, "ml",
					     FG_LISTJOIN_SUBSCRIBE,
					     "a@b.org", 0));
	{
		char longaddr[FG_LISTJOIN_ADDRESS_MAX + 20];

		memset(longaddr, 'a', sizeof(longaddr) - 1);
		longaddr[sizeof(longaddr) - 1] = '\0';
		memcpy(longaddr + sizeof(longaddr) - 9, "@b.org", 7);
		ck_assert_ptr_null(fg_listjoin_token(SECRET, "ml",
						     FG_LISTJOIN_SUBSCRIBE,
						     longaddr, NOW));
	}
}
END_TEST

/* cmd - the command of subject and body, with the unknown word */
static enum fg_listjoin_command cmd(const char *subject, const char *body,
				    unsigned int max, const char *word)
{
	char *w = NULL;
	enum fg_listjoin_command c = fg_listjoin_commands(subject, body, max,
							  &w);

	if (word == NULL)
		ck_assert_ptr_null(w);
	else
		ck_assert_str_eq(w, word);
	free(w);
	return c;
}

START_TEST(test_commands)
{
	ck_assert_int_eq(cmd("subscribe", "", 10, NULL),
			 FG_LISTJOIN_CMD_SUBSCRIBE);
	ck_assert_int_eq(cmd("Re: JOIN", NULL, 10, NULL),
			 FG_LISTJOIN_CMD_SUBSCRIBE);
	ck_assert_int_eq(cmd("", "\n\n  Unsubscribe me please\n", 10, NULL),
			 FG_LISTJOIN_CMD_UNSUBSCRIBE);
	ck_assert_int_eq(cmd(NULL, "leave\n", 10, NULL),
			 FG_LISTJOIN_CMD_UNSUBSCRIBE);
	ck_assert_int_eq(cmd("help", "subscribe", 10, NULL),
			 FG_LISTJOIN_CMD_HELP);
	/* a subject that is no command leaves the body its say */
	ck_assert_int_eq(cmd("Hello there", "subscribe\n", 10, NULL),
			 FG_LISTJOIN_CMD_SUBSCRIBE);
	ck_assert_int_eq(cmd("Hello there", "", 10, "Hello"),
			 FG_LISTJOIN_CMD_UNKNOWN);
	ck_assert_int_eq(cmd("", "frobnicate all\nsubscribe\n", 10,
			     "frobnicate"), FG_LISTJOIN_CMD_UNKNOWN);
	/* quotes, "end" and a signature stop or are skipped */
	ck_assert_int_eq(cmd("", "> subscribe\nleave\n", 10, NULL),
			 FG_LISTJOIN_CMD_UNSUBSCRIBE);
	ck_assert_int_eq(cmd("", "end\nsubscribe\n", 10, NULL),
			 FG_LISTJOIN_CMD_NONE);
	ck_assert_int_eq(cmd("", "-- \nsubscribe\n", 10, NULL),
			 FG_LISTJOIN_CMD_NONE);
	ck_assert_int_eq(cmd("", "", 10, NULL), FG_LISTJOIN_CMD_NONE);
	/* at most max lines are read */
	ck_assert_int_eq(cmd("", "\n\n\nsubscribe\n", 3, NULL),
			 FG_LISTJOIN_CMD_NONE);
	ck_assert_int_eq(cmd("", "\n\n\nsubscribe\n", 4, NULL),
			 FG_LISTJOIN_CMD_SUBSCRIBE);
	/* an unknown word comes back short and printable */
	{
		char body[200];

		memset(body, 'x', sizeof(body) - 1);
		body[sizeof(body) - 1] = '\0';
		body[3] = '\x01';
		ck_assert_int_eq(cmd("", body, 10,
				     "xxx?xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
				 FG_LISTJOIN_CMD_UNKNOWN);
	}
}
END_TEST

START_TEST(test_store)
{
	struct fg_store *store;
	const char *error;
	long long count;
	bool changed;
	char *state;

	if (!have_redis)
		return;
	if (fg_store_connect(address, 2000, &store, &error) < 0)
		ck_abort_msg("connect: %s", error);
	for (long long i = 1; i <= 4; i++) {
		ck_assert_int_eq(fg_store_confirm_count(store, "ml",
							"jane@example.org",
							86400, &count,
							&error), 0);
		ck_assert_int_eq(count, i);
	}
	ck_assert_int_eq(fg_store_confirm_count(store, "ml", "bob@example.org",
						86400, &count, &error), 0);
	ck_assert_int_eq(count, 1);
	/* one use per token */
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac1", 60, true,
						"Jane@Example.org", &changed,
						&error), 1);
	ck_assert(changed);
	ck_assert_int_eq(fg_store_subscriber_get(store, "ml",
						 "jane@example.org", &state,
						 &error), 1);
	ck_assert_str_eq(state, "enabled");
	free(state);
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac1", 60, true,
						"jane@example.org", &changed,
						&error), 0);
	ck_assert(!changed);
	/* subscribed already: the state stays */
	ck_assert_int_eq(fg_store_subscriber_set(store, "ml",
						 "jane@example.org", "digest",
						 &error), 0);
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac2", 60, true,
						"jane@example.org", &changed,
						&error), 1);
	ck_assert(!changed);
	ck_assert_int_eq(fg_store_subscriber_get(store, "ml",
						 "jane@example.org", &state,
						 &error), 1);
	ck_assert_str_eq(state, "digest");
	free(state);
	/* unsubscribe, and again with a new token: nothing to change */
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac3", 60, false,
						"jane@example.org", &changed,
						&error), 1);
	ck_assert(changed);
	ck_assert_int_eq(fg_store_subscriber_get(store, "ml",
						 "jane@example.org", &state,
						 &error), 0);
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac4", 60, false,
						"jane@example.org", &changed,
						&error), 1);
	ck_assert(!changed);
	/* the subscribe token used before does not come back */
	ck_assert_int_eq(fg_store_confirm_apply(store, "ml", "mac1", 60, true,
						"jane@example.org", &changed,
						&error), 0);
	ck_assert_int_eq(fg_store_subscriber_get(store, "ml",
						 "jane@example.org", &state,
						 &error), 0);
	fg_store_free(&store);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("listjoin");
	TCase *tc = tcase_create("listjoin");
	SRunner *sr;
	int failed;

	have_redis = system("command -v redis-server >/dev/null") == 0;
	if (have_redis) {
		signal(SIGPIPE, SIG_IGN);
		redis_start();
	} else {
		fprintf(stderr, "redis-server not installed: the store test "
			"is skipped\n");
	}
	tcase_add_test(tc, test_token_round_trip);
	tcase_add_test(tc, test_token_forged);
	tcase_add_test(tc, test_token_expiry_and_bad_input);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_store);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (have_redis)
		redis_stop();
	return failed == 0 ? 0 : 1;
}
