/*
 * NAME
 *	check_chain - list mode: the filter chain, the subscriber store and
 *	the subscriber import, against a real redis-server
 * DESCRIPTION
 *	The chain table's order and flags; each receiving step's decision
 *	on crafted messages; a whole run that queues a post for the forum
 *	and the distribution stream without its approval passphrase; the
 *	subscriber hash (states, canonical addresses, HSCAN over 2,500
 *	subscribers, changes counted); the import parser's forms, errors
 *	with line numbers and directories. Skips (exit 77) without
 *	redis-server.
 */
#include "fg-chain.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-listaddr.h"
#include "fg-mailparse.h"
#include "fg-record.h"
#include "fg-store.h"
#include "fg-subscribers.h"

#include <check.h>
#include <string.h>

#include "check-redis.h"

#define LIST "chain"
#define LIST_ADDRESS "chain@lists.test"

static struct fg_store *store;
static struct fg_config *config;
static struct fg_parse_settings parse_set;

static void setup(void)
{
	const char *error;
	struct fg_list list = {
		.name = LIST, .address = LIST_ADDRESS,
		.bridge_recipient = "", .category = 0,
	};

	if (fg_store_connect(address, 2000, &store, &error) < 0)
		ck_abort_msg("connect: %s", error);
	ck_assert_int_eq(fg_store_list_add(store, &list, &error), 0);
	ck_assert_int_eq(fg_store_list_set(store, LIST, "mode", "list",
					   &error), 0);
	config = fg_config_defaults();
	ck_assert_int_eq(fg_parse_settings_init(&parse_set, config, &error), 0);
	parse_set.secret = "0123456789abcdef0123456789abcdef";
	parse_set.mail_domain = "lists.test";
}

static void teardown(void)
{
	fg_store_free(&store);
	fg_config_free(&config);
}

/* redis_text - the first line of a redis-cli answer */
static char *redis_text(const char *args)
{
	char cmd[1024], out[65536] = "";
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", sock_path, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	return fg_xstrdup(out);
}

/* redis_num - an integer answer of redis-cli */
static long long redis_num(const char *args)
{
	char *text = redis_text(args);
	long long n = strtoll(text, NULL, 10);

	free(text);
	return n;
}

/* set_access - the list's access mode */
static void set_access(const char *mode)
{
	const char *error;

	ck_assert_int_eq(fg_store_list_set(store, LIST, "access", mode,
					   &error), 0);
}

/* message - a small message from a sender with extra headers */
static char *message(const char *from, const char *subject,
		     const char *headers, const char *id)
{
	return fg_xasprintf("From: Ann <%s>\r\nTo: %s\r\nSubject: %s\r\n"
			    "Message-ID: <%s@example.org>\r\n"
			    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n%s"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			    "Hello list, this is %s.\r\n", from, LIST_ADDRESS,
			    subject, id, headers, id);
}

/* run_chain - the whole receiving chain on a message */
static int run_chain(const char *data, const char *envelope,
		     const char *passphrase, struct fg_chain_ctx *ctx,
		     struct fg_chain_decision *d, struct fg_list **list_r)
{
	const char *error;
	int ret;

	ck_assert_int_eq(fg_store_list_get(store, LIST, list_r, &error), 1);
	fg_chain_init(ctx, store, *list_r, &parse_set, envelope, data,
		      strlen(data), passphrase);
	ret = fg_chain_run(ctx, d, &error);
	ck_assert_msg(ret == 0, "chain: %s", ret < 0 ? error : "");
	return ret;
}

/* expect - run the chain, check the deciding step and action */
static void expect(const char *data, const char *envelope,
		   const char *passphrase, const char *step,
		   enum fg_chain_action action, const char *reason_part)
{
	struct fg_chain_ctx ctx;
	struct fg_chain_decision d;
	struct fg_list *list;

	run_chain(data, envelope, passphrase, &ctx, &d, &list);
	ck_assert_msg(strcmp(d.step, step) == 0 && d.action == action,
		      "want %s %s, got %s %s (%s)", step,
		      fg_chain_action_name(action), d.step,
		      fg_chain_action_name(d.action),
		      d.reason != NULL ? d.reason : "");
	if (reason_part != NULL)
		ck_assert_msg(d.reason != NULL &&
			      strstr(d.reason, reason_part) != NULL,
			      "reason '%s' lacks '%s'", d.reason, reason_part);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);
	fg_list_free(&list);
}

START_TEST(test_chain_table)
{
	static const char *const receiving[] = {
		"getinfo", "loopdetect", "bounce", "subscribers", "access",
		"tag", "footer", "queue",
	};
	static const char *const sending[] = {
		"single-instance", "build", "run",
	};
	const struct fg_chain_step *steps;
	unsigned int off;
	const char *error;
	size_t n;

	steps = fg_chain_steps(&n);
	ck_assert_uint_eq(n, 11);
	for (size_t i = 0; i < 8; i++) {
		ck_assert_str_eq(steps[i].name, receiving[i]);
		ck_assert_int_eq(steps[i].side, FG_CHAIN_RECEIVING);
	}
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(steps[8 + i].name, sending[i]);
		ck_assert_int_eq(steps[8 + i].side, FG_CHAIN_SENDING);
		ck_assert_ptr_null(steps[8 + i].run);
	}
	/* tag and footer are built into each copy at fan-out */
	ck_assert_ptr_null(fg_chain_step_find("tag")->run);
	ck_assert_ptr_null(fg_chain_step_find("footer")->run);
	ck_assert_ptr_nonnull(fg_chain_step_find("access")->run);
	ck_assert_ptr_null(fg_chain_step_find("nosuch"));
	ck_assert_int_eq(fg_chain_off_parse("tag, footer loopdetect", &off,
					    &error), 0);
	ck_assert_uint_eq(off, (1U << 5) | (1U << 6) | (1U << 1));
	ck_assert_int_eq(fg_chain_off_parse("", &off, &error), 0);
	ck_assert_uint_eq(off, 0);
	ck_assert_int_eq(fg_chain_off_parse("access", &off, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "'access'"));
	ck_assert_int_eq(fg_chain_off_parse("tag,nosuch", &off, &error), -1);
	ck_assert_str_eq(fg_chain_action_name(FG_CHAIN_HOLD), "hold");
}
END_TEST

START_TEST(test_getinfo_takes_the_approval_out)
{
	char *data = message("ann@example.org",
			     "[approve:sesame] Hello [Approve:sesame2]",
			     "Approved: sesame\r\nApproved: again\r\n",
			     "getinfo1");
	struct fg_chain_ctx ctx;
	struct fg_chain_decision d;
	struct fg_list *list;
	const char *error;

	ck_assert_int_eq(fg_store_list_get(store, LIST, &list, &error), 1);
	fg_chain_init(&ctx, store, list, &parse_set, "ann@example.org", data,
		      strlen(data), "sesame");
	fg_chain_run_step(&ctx, "getinfo", &d);
	ck_assert_int_eq(d.action, FG_CHAIN_CONTINUE);
	ck_assert(ctx.has_approval);
	ck_assert(ctx.approved);
	ck_assert_ptr_null(strstr(ctx.message, "sesame"));
	ck_assert_ptr_null(strstr(ctx.message, "Approved"));
	ck_assert_ptr_null(strstr(ctx.message, "again"));
	ck_assert_ptr_null(strstr(ctx.message, "pprove"));
	ck_assert_str_eq(ctx.rec->subject, "Hello");
	ck_assert_str_eq(ctx.rec->from_email, "ann@example.org");
	ck_assert_int_eq(ctx.access, FG_ACCESS_MEMBERS);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);
	fg_list_free(&list);
	free(data);

	/* no MIME message at all */
	ck_assert_int_eq(fg_store_list_get(store, LIST, &list, &error), 1);
	fg_chain_init(&ctx, store, list, &parse_set, "a@b.example", "", 0,
		      NULL);
	fg_chain_run(&ctx, &d, &error);
	ck_assert_int_ne(d.action, FG_CHAIN_CONTINUE);
	ck_assert_int_eq(d.not_posted, FG_NOT_POSTED_UNPARSABLE);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);
	fg_list_free(&list);
}
END_TEST

START_TEST(test_loopdetect_and_bounce)
{
	char *data;

	set_access("open");
	data = message("ann@example.org", "Loop", "X-Loop: " LIST_ADDRESS
		       "\r\n", "loop1");
	expect(data, "ann@example.org", NULL, "loopdetect", FG_CHAIN_DISCARD,
	       "X-Loop");
	free(data);
	data = message("ann@example.org", "Loop", "List-Id: <chain.lists.test>"
		       "\r\n", "loop2");
	expect(data, "ann@example.org", NULL, "loopdetect", FG_CHAIN_DISCARD,
	       "List-Id");
	free(data);
	data = message("ann@example.org", "Loop", "X-BeenThere: " LIST_ADDRESS
		       "\r\n", "loop4");
	expect(data, "ann@example.org", NULL, "loopdetect", FG_CHAIN_DISCARD,
	       "X-BeenThere");
	free(data);
	/* another list's List-Id is ordinary traffic */
	data = message("ann@example.org", "Other list",
		       "List-Id: <other.lists.test>\r\n", "loop3");
	expect(data, "ann@example.org", NULL, "queue", FG_CHAIN_CONTINUE,
	       NULL);
	free(data);
	/* the null sender goes to the bounce path */
	data = message("ann@example.org", "Null", "", "bounce1");
	expect(data, "", NULL, "bounce", FG_CHAIN_BOUNCE, "null sender");
	free(data);
	data = message("ann@example.org", "Away", "Auto-Submitted: auto-replied"
		       "\r\n", "auto1");
	expect(data, "ann@example.org", NULL, "bounce", FG_CHAIN_DISCARD,
	       NULL);
	free(data);
}
END_TEST

START_TEST(test_access_modes)
{
	const char *error;
	char *data;

	ck_assert_int_eq(fg_store_subscriber_set(store, LIST, "sub@example.org",
						 NULL, &error), 1);
	ck_assert_int_eq(fg_store_member_add(store, LIST, "mem@example.org",
					     &error), 0);
	ck_assert_int_eq(fg_store_allow_add(store, LIST, "vip@example.org",
					    &error), 0);

	set_access("members");
	data = message("dave@example.org", "Not one", "", "acc1");
	expect(data, "dave@example.org", NULL, "access", FG_CHAIN_REJECT,
	       "not a member");
	free(data);
	data = message("sub@example.org", "Subscriber", "", "acc2");
	expect(data, "sub@example.org", NULL, "queue", FG_CHAIN_CONTINUE, NULL);
	free(data);
	data = message("mem@example.org", "Member", "", "acc3");
	expect(data, "mem@example.org", NULL, "queue", FG_CHAIN_CONTINUE, NULL);
	free(data);
	/* a correct passphrase admits anyone, a wrong one nobody more */
	data = message("dave@example.org", "With it", "Approved: sesame\r\n",
		       "acc4");
	expect(data, "dave@example.org", "sesame", "queue", FG_CHAIN_CONTINUE,
	       NULL);
	free(data);
	data = message("dave@example.org", "Wrong", "Approved: sesam\r\n",
		       "acc5");
	expect(data, "dave@example.org", "sesame", "access", FG_CHAIN_REJECT,
	       "not a member");
	free(data);

	set_access("moderated");
	data = message("sub@example.org", "Held", "", "acc6");
	expect(data, "sub@example.org", NULL, "access", FG_CHAIN_HOLD,
	       "moderated");
	free(data);
	data = message("vip@example.org", "Allowed", "", "acc7");
	expect(data, "vip@example.org", NULL, "queue", FG_CHAIN_CONTINUE, NULL);
	free(data);

	set_access("closed");
	data = message("sub@example.org", "Closed", "", "acc8");
	expect(data, "sub@example.org", NULL, "access", FG_CHAIN_REJECT,
	       "closed list");
	free(data);

	set_access("passphrase");
	data = message("sub@example.org", "No phrase", "", "acc9");
	expect(data, "sub@example.org", "sesame", "access", FG_CHAIN_REJECT,
	       "no passphrase");
	free(data);
	data = message("sub@example.org", "[approve:nope] Bad", "", "acc10");
	expect(data, "sub@example.org", "sesame", "access", FG_CHAIN_REJECT,
	       "wrong passphrase");
	free(data);
	/* Mailman's "Approved:" first line of the text */
	data = fg_xasprintf("From: <sub@example.org>\r\nSubject: Body\r\n"
			    "Message-ID: <acc14@example.org>\r\n"
			    "Content-Type: text/plain\r\n\r\n"
			    "Approved: sesame\r\n\r\nThe text.\r\n");
	expect(data, "sub@example.org", "sesame", "queue", FG_CHAIN_CONTINUE,
	       NULL);
	free(data);
	data = message("sub@example.org", "[approve:sesame] Good", "", "acc11");
	expect(data, "sub@example.org", "sesame", "queue", FG_CHAIN_CONTINUE,
	       NULL);
	free(data);
	/* the list has no passphrase: nothing is approved by one */
	data = message("sub@example.org", "[approve:] Empty", "", "acc12");
	expect(data, "sub@example.org", NULL, "access", FG_CHAIN_REJECT,
	       "wrong passphrase");
	free(data);

	/* with the subscribers step off, a subscriber is no member */
	set_access("members");
	ck_assert_int_eq(fg_store_list_set(store, LIST, "chain_off",
					   "subscribers", &error), 0);
	data = message("sub@example.org", "Step off", "", "acc13");
	expect(data, "sub@example.org", NULL, "access", FG_CHAIN_REJECT,
	       "not a member");
	free(data);
	ck_assert_int_eq(fg_store_list_set(store, LIST, "chain_off", NULL,
					   &error), 0);
}
END_TEST

START_TEST(test_queue_forum_and_dist)
{
	struct fg_chain_ctx ctx;
	struct fg_chain_decision d;
	struct fg_list *list;
	const char *error;
	long long in_before, dist_before;
	char *data, *entry;

	set_access("members");
	ck_assert_int_eq(fg_store_subscriber_set(store, LIST, "sub@example.org",
						 NULL, &error) >= 0, 1);
	in_before = redis_num("XLEN 'fg:{chain}:in'");
	dist_before = redis_num("XLEN 'fg:{chain}:dist'");
	data = message("sub@example.org", "[approve:opensesame] Queued",
		       "Approved: opensesame\r\n", "queue1");
	run_chain(data, "sub@example.org", "opensesame", &ctx, &d, &list);
	ck_assert_int_eq(d.action, FG_CHAIN_CONTINUE);
	ck_assert_str_eq(d.step, "queue");
	ck_assert_str_eq(ctx.passed, "getinfo,loopdetect,bounce,subscribers,"
			 "access,queue");
	ck_assert_int_eq(ctx.queued_forum, 1);
	ck_assert_int_eq(ctx.queued_dist, 1);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);
	fg_list_free(&list);
	ck_assert_int_eq(redis_num("XLEN 'fg:{chain}:in'"), in_before + 1);
	ck_assert_int_eq(redis_num("XLEN 'fg:{chain}:dist'"), dist_before + 1);
	entry = redis_text("XREVRANGE 'fg:{chain}:dist' + - COUNT 1");
	ck_assert_ptr_nonnull(strstr(entry, "queue1@example.org"));
	ck_assert_ptr_nonnull(strstr(entry, "Hello list, this is queue1."));
	ck_assert_ptr_nonnull(strstr(entry, "getinfo,loopdetect"));
	ck_assert_ptr_null(strstr(entry, "opensesame"));
	free(entry);
	entry = redis_text("XREVRANGE 'fg:{chain}:in' + - COUNT 1");
	ck_assert_ptr_nonnull(strstr(entry, "queue1@example.org"));
	ck_assert_ptr_null(strstr(entry, "opensesame"));
	free(entry);

	/* the same message again: queued before, nothing added */
	run_chain(data, "sub@example.org", "opensesame", &ctx, &d, &list);
	ck_assert_int_eq(d.action, FG_CHAIN_DISCARD);
	ck_assert_str_eq(d.step, "queue");
	ck_assert_int_eq(d.not_posted, FG_NOT_POSTED_DUPLICATE);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);
	fg_list_free(&list);
	ck_assert_int_eq(redis_num("XLEN 'fg:{chain}:dist'"), dist_before + 1);
	free(data);
}
END_TEST

START_TEST(test_subscriber_store)
{
	const char *error;
	char *state, *next, *cursor, **addrs, **states;
	long long count, serial, added;
	size_t n, seen = 0;
	char *batch[2500];

	ck_assert(fg_subscriber_state_valid("enabled"));
	ck_assert(fg_subscriber_state_valid("nomail"));
	ck_assert(fg_subscriber_state_valid("digest"));
	ck_assert(fg_subscriber_state_valid("disabled:bounce:1765000000"));
	ck_assert(!fg_subscriber_state_valid("disabled:bounce"));
	ck_assert(!fg_subscriber_state_valid("disabled::1"));
	ck_assert(!fg_subscriber_state_valid("paused"));

	serial = redis_num("GET 'fg:{subs}:serial'");
	ck_assert_int_eq(fg_store_subscriber_set(store, "subs",
						 "Ann@Example.ORG.", NULL,
						 &error), 1);
	ck_assert_int_eq(redis_num("GET 'fg:{subs}:serial'"), serial + 1);
	ck_assert_int_eq(fg_store_subscriber_get(store, "subs",
						 "ann@example.org", &state,
						 &error), 1);
	ck_assert_str_eq(state, "enabled");
	free(state);
	ck_assert_int_eq(fg_store_subscriber_set(store, "subs",
						 "ann@example.org", "nomail",
						 &error), 0);
	ck_assert_int_eq(fg_store_subscriber_get(store, "subs",
						 "ANN@example.org", &state,
						 &error), 1);
	ck_assert_str_eq(state, "nomail");
	free(state);
	ck_assert_int_eq(fg_store_subscriber_set(store, "subs",
						 "ann@example.org", "paused",
						 &error), -1);
	ck_assert_int_eq(fg_store_subscriber_set(store, "subs", "no-at-sign",
						 NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not a mail address"));
	ck_assert_int_eq(fg_store_subscriber_get(store, "subs",
						 "bob@example.org", &state,
						 &error), 0);
	ck_assert_ptr_null(state);

	/* an import keeps the states there already */
	for (size_t i = 0; i < 2500; i++)
		batch[i] = fg_xasprintf("user%04zu@example.org", i);
	batch[0][0] = 'u';
	ck_assert_int_eq(fg_store_subscribers_import(store, "subs", batch,
						     2500, &added, &error), 0);
	ck_assert_int_eq(added, 2500);
	ck_assert_int_eq(fg_store_subscribers_import(store, "subs", batch, 10,
						     &added, &error), 0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(fg_store_subscriber_count(store, "subs", &count,
						   &error), 0);
	ck_assert_int_eq(count, 2501);

	/* the scan returns every subscriber, a page at a time */
	cursor = fg_xstrdup("0");
	do {
		ck_assert_int_eq(fg_store_subscriber_scan(store, "subs", cursor,
							  500, &addrs, &states,
							  &n, &next, &error),
				 0);
		ck_assert_uint_le(n, 2501);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(addrs[i], "ann@example.org") == 0)
				ck_assert_str_eq(states[i], "nomail");
		}
		seen += n;
		fg_strv_free(addrs, n);
		fg_strv_free(states, n);
		free(cursor);
		cursor = next;
	} while (strcmp(cursor, "0") != 0);
	free(cursor);
	ck_assert_uint_ge(seen, 2501);

	ck_assert_int_eq(fg_store_subscriber_del(store, "subs",
						 "ann@example.org", &error), 1);
	ck_assert_int_eq(fg_store_subscriber_del(store, "subs",
						 "ann@example.org", &error), 0);
	for (size_t i = 0; i < 2500; i++)
		free(batch[i]);
}
END_TEST

START_TEST(test_import_parser)
{
	static const char text[] =
		"# exported by mailman members\n"
		"Anne Person <Anne@Example.com>\n"
		"\n"
		"\"Bart, Jr.\" <bart@example.com>\r\n"
		"carl@example.com\n"
		"not an address\n"
		"two@example.com, three@example.com\n"
		"   dora@example.com   \n"
		"nodot@localhost\n"
		"carl@example.com";
	struct fg_subscribers_import imp = { 0 };
	char dir[] = "/tmp/fg-subs-XXXXXX", path[256], cmd[512];
	const char *error;
	FILE *f;

	fg_subscribers_parse(text, sizeof(text) - 1, "members.txt", &imp);
	ck_assert_uint_eq(imp.n_lines, 10);
	ck_assert_uint_eq(imp.n_errors, 3);
	ck_assert_str_eq(imp.errors[0], "members.txt:6: no address");
	ck_assert_str_eq(imp.errors[1], "members.txt:7: more than one address");
	ck_assert_str_eq(imp.errors[2], "members.txt:9: not a mail address "
			 "(LOCAL@DOMAIN)");
	fg_subscribers_finish(&imp);
	ck_assert_uint_eq(imp.n_addresses, 4);
	ck_assert_str_eq(imp.addresses[0], "anne@example.com");
	ck_assert_str_eq(imp.addresses[1], "bart@example.com");
	ck_assert_str_eq(imp.addresses[2], "carl@example.com");
	ck_assert_str_eq(imp.addresses[3], "dora@example.com");
	fg_subscribers_import_free(&imp);

	/* a NUL byte is a bad line, not the end of the file */
	static const char nul[] = "a@example.com\nb\0@example.com\n"
		"c@example.com\n";

	fg_subscribers_parse(nul, sizeof(nul) - 1, "nul", &imp);
	ck_assert_uint_eq(imp.n_errors, 1);
	ck_assert_str_eq(imp.errors[0], "nul:2: NUL byte");
	ck_assert_uint_eq(imp.n_addresses, 2);
	fg_subscribers_import_free(&imp);

	/* mlmmj's subscribers.d: every file, in name order */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a", dir);
	f = fopen(path, "w");
	fputs("alice@example.org\nann@example.org\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/b", dir);
	f = fopen(path, "w");
	fputs("bob@example.org\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/.hidden", dir);
	f = fopen(path, "w");
	fputs("hidden@example.org\n", f);
	fclose(f);
	ck_assert_int_eq(fg_subscribers_read(dir, &imp, &error), 0);
	fg_subscribers_finish(&imp);
	ck_assert_uint_eq(imp.n_addresses, 3);
	ck_assert_str_eq(imp.addresses[2], "bob@example.org");
	ck_assert_uint_eq(imp.n_errors, 0);
	fg_subscribers_import_free(&imp);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(fg_subscribers_read(path, &imp, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "missing"));
	fg_subscribers_import_free(&imp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* the control addresses of a list-mode list: told from the recipient
   as Postfix resolves it, with the detail after '+' */
START_TEST(test_listaddr)
{
	static const struct {
		const char *rcpt;
		enum fg_listaddr_role role;
		const char *detail;
	} cases[] = {
		{ "ml@lists.example", FG_LISTADDR_POST, NULL },
		{ "ML@Lists.Example.", FG_LISTADDR_POST, NULL },
		{ "\"ml\"@lists.example", FG_LISTADDR_POST, NULL },
		{ "ml+fgb.0123.ml.rbob=example.org@lists.example",
		  FG_LISTADDR_POST, "fgb.0123.ml.rbob=example.org" },
		{ "ml-join@lists.example", FG_LISTADDR_JOIN, NULL },
		{ "ML-Subscribe@lists.example", FG_LISTADDR_JOIN, NULL },
		{ "ml-leave@lists.example", FG_LISTADDR_LEAVE, NULL },
		{ "ml-unsubscribe@lists.example", FG_LISTADDR_LEAVE, NULL },
		{ "ml-request@lists.example", FG_LISTADDR_REQUEST, NULL },
		{ "ml-confirm+c1.abc.def@lists.example", FG_LISTADDR_CONFIRM,
		  "c1.abc.def" },
		{ "ml-moderate+m1.x@lists.example", FG_LISTADDR_MODERATE,
		  "m1.x" },
		{ "ml-owner@lists.example", FG_LISTADDR_OWNER, NULL },
		{ "ml-bogus@lists.example", FG_LISTADDR_UNKNOWN, NULL },
		/* another list's address, another domain, an alias: posts */
		{ "mlx-join@lists.example", FG_LISTADDR_POST, NULL },
		{ "ml-join@other.example", FG_LISTADDR_POST, NULL },
		{ "talk@lists.example", FG_LISTADDR_POST, NULL },
		{ "", FG_LISTADDR_POST, NULL },
	};
	enum fg_listaddr_role role;
	char *detail, *addr;

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		role = fg_listaddr_parse("ml@lists.example", cases[i].rcpt,
					 &detail);
		ck_assert_msg(role == cases[i].role, "%s: role %s",
			      cases[i].rcpt, fg_listaddr_role_name(role));
		if (cases[i].detail == NULL)
			ck_assert_msg(detail == NULL ||
				      cases[i].role == FG_LISTADDR_POST,
				      "%s: detail %s", cases[i].rcpt, detail);
		else
			ck_assert_str_eq(detail, cases[i].detail);
		free(detail);
	}
	/* no '@' in the list's address: everything is a post */
	ck_assert_int_eq(fg_listaddr_parse("ml", "ml-join@x", NULL),
			 FG_LISTADDR_POST);

	for (unsigned int r = 0; r < FG_LISTADDR_COUNT; r++) {
		ck_assert(fg_listaddr_role_from_name(
				  fg_listaddr_role_name(r), &role));
		ck_assert_int_eq(role, r);
	}
	ck_assert(!fg_listaddr_role_from_name("subscribe", &role));

	addr = fg_listaddr_make("ml@lists.example", FG_LISTADDR_CONFIRM,
				"c1.tok");
	ck_assert_str_eq(addr, "ml-confirm+c1.tok@lists.example");
	ck_assert_int_eq(fg_listaddr_parse("ml@lists.example", addr,
					   &detail), FG_LISTADDR_CONFIRM);
	ck_assert_str_eq(detail, "c1.tok");
	free(detail);
	free(addr);
	addr = fg_listaddr_make("ml@lists.example", FG_LISTADDR_POST, NULL);
	ck_assert_str_eq(addr, "ml@lists.example");
	free(addr);
	addr = fg_listaddr_make("ml@lists.example", FG_LISTADDR_LEAVE, NULL);
	ck_assert_str_eq(addr, "ml-leave@lists.example");
	free(addr);
	ck_assert_ptr_null(fg_listaddr_make("ml", FG_LISTADDR_JOIN, NULL));
	ck_assert_ptr_null(fg_listaddr_make("ml@x", FG_LISTADDR_UNKNOWN,
					    NULL));
}
END_TEST

/* control mail is queued once per role, detail and Message-ID */
START_TEST(test_control_stream)
{
	struct fg_control c = {
		.role = "join", .detail = "", .rcpt = "ml-join@lists.example",
		.envelope_from = "alice@example.org",
		.from_email = "alice@example.org", .message_id = "j1@example.org",
		.subject = "join", .message = "Subject: join\r\n\r\n",
		.message_size = 17,
	};
	const char *error;
	char *text;

	ck_assert_int_eq(fg_store_control_add(store, LIST, &c, &error), 1);
	ck_assert_int_eq(fg_store_control_add(store, LIST, &c, &error), 0);
	c.role = "confirm";
	c.detail = "tok";
	ck_assert_int_eq(fg_store_control_add(store, LIST, &c, &error), 1);
	ck_assert_int_eq(redis_num("XLEN 'fg:{chain}:control'"), 2);
	text = redis_text("--raw XRANGE 'fg:{chain}:control' - +");
	ck_assert_ptr_nonnull(strstr(text, "\nconfirm\ndetail\ntok\n"));
	ck_assert_ptr_nonnull(strstr(text, "\njoin\ndetail\n\n"));
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("chain");
	SRunner *sr;
	int failed;

	if (system("command -v redis-server >/dev/null") != 0) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	redis_start();
	fg_mail_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_table);
	tcase_add_test(tc, test_getinfo_takes_the_approval_out);
	tcase_add_test(tc, test_loopdetect_and_bounce);
	tcase_add_test(tc, test_access_modes);
	tcase_add_test(tc, test_queue_forum_and_dist);
	tcase_add_test(tc, test_subscriber_store);
	tcase_add_test(tc, test_import_parser);
	tcase_add_test(tc, test_listaddr);
	tcase_add_test(tc, test_control_stream);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	redis_stop();
	return failed == 0 ? 0 : 1;
}
