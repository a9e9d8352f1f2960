/*
 * NAME
 *	check_held - list mode: the moderation queue, against a real
 *	redis-server
 * DESCRIPTION
 *	The moderator's token (round trip, upper case, every kind of
 *	forgery, expiry); the held-post store (hold once per Message-ID,
 *	the bound, the to-do set, decisions, removal, the ids by age);
 *	the release of a held post through the chain's queue step, once;
 *	the announcement and the notice as GMime reads them back; the
 *	reason line of a moderator's reply. Skips (exit 77) without
 *	redis-server.
 */
#include "fg-chain.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-held.h"
#include "fg-mailparse.h"
#include "fg-record.h"
#include "fg-store.h"

#include <check.h>
#include <ctype.h>
#include <gmime/gmime.h>
#include <string.h>

#include "check-redis.h"

#define LIST "held"
#define LIST_ADDRESS "held@lists.test"
#define SECRET "0123456789abcdef0123456789abcdef"

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
	parse_set.secret = SECRET;
	parse_set.mail_domain = "lists.test";
}

static void teardown(void)
{
	fg_store_free(&store);
	fg_config_free(&config);
}

/* redis_num - an integer answer of redis-cli */
static long long redis_num(const char *args)
{
	char cmd[1024], out[256] = "";
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", sock_path, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	return strtoll(out, NULL, 10);
}

/* message - a small post */
static char *message(const char *from, const char *id)
{
	return fg_xasprintf("From: Ann <%s>\r\nTo: " LIST_ADDRESS "\r\n"
			    "Subject: Post %s\r\n"
			    "Message-ID: <%s@example.org>\r\n"
			    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			    "Hello list, this is %s.\r\n", from, id, id, id);
}

/* held_of - a held post of a message */
static struct fg_held held_of(char *data, const char *id, long long when)
{
	struct fg_held h = {
		.message_id = (char *)id, .from = (char *)"ann@example.org",
		.envelope_from = (char *)"ann@example.org",
		.subject = (char *)"Post", .reason = (char *)"moderated",
		.chain = (char *)"getinfo,access", .received = when,
		.message = data, .message_size = strlen(data),
	};
	return h;
}

START_TEST(test_token)
{
	const char *error;
	char *t, *upper, action;
	long long id;

	t = fg_held_token(SECRET, LIST, 42, 'a', 2000000000);
	ck_assert_ptr_nonnull(t);
	ck_assert_msg(t[0] == 'a' &&
		      strspn(t + 1, "0123456789abcdef-") == strlen(t) - 1,
		      "lower case, digits and '-' only: %s", t);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, t, 1000, &action,
					      &id, &error), 1);
	ck_assert_int_eq(action, 'a');
	ck_assert_int_eq(id, 42);
	/* an MTA that upper-cases the local part */
	upper = fg_xstrdup(t);
	for (char *p = upper; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, upper, 1000,
					      &action, &id, &error), 1);
	free(upper);
	/* another list, secret, action, id, expiry: the MAC fails */
	ck_assert_int_eq(fg_held_token_verify(SECRET, "other", t, 1000,
					      &action, &id, &error), 0);
	ck_assert_int_eq(fg_held_token_verify("another secret", LIST, t, 1000,
					      &action, &id, &error), 0);
	ck_assert_str_eq(error, "moderation token: signature does not "
			 "verify");
	t[0] = 'r';
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, t, 1000, &action,
					      &id, &error), 0);
	ck_assert_int_eq(id, 0);
	free(t);
	t = fg_held_token(SECRET, LIST, 42, 'a', 2000000000);
	t[1] = '3';
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, t, 1000, &action,
					      &id, &error), 0);
	free(t);
	/* expired */
	t = fg_held_token(SECRET, LIST, 7, 'r', 1000);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, t, 1001, &action,
					      &id, &error), 0);
	ck_assert_str_eq(error, "moderation token: expired");
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, t, 1000, &action,
					      &id, &error), 1);
	ck_assert_int_eq(action, 'r');
	free(t);
	/* not tokens */
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, "", 0, &action,
					      &id, &error), -1);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST, "x1-2-abc", 0,
					      &action, &id, &error), -1);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST,
		"a1-2-0123456789abcdef0123456", 0, &action, &id, &error), -1);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST,
		"a1-2-0123456789abcdef012345zz", 0, &action, &id, &error), -1);
	ck_assert_int_eq(fg_held_token_verify(SECRET, LIST,
		"a-2-0123456789abcdef01234567", 0, &action, &id, &error), -1);
	ck_assert_ptr_null(fg_held_token(NULL, LIST, 1, 'a', 1));
	ck_assert_ptr_null(fg_held_token(SECRET, LIST, 1, 'x', 1));
	ck_assert_ptr_null(fg_held_token(SECRET, LIST, 0, 'a', 1));
}
END_TEST

START_TEST(test_store)
{
	const char *error;
	char *data = message("ann@example.org", "s1");
	char *data2 = message("ann@example.org", "s2");
	struct fg_held h = held_of(data, "s1@example.org", 1000);
	struct fg_held h2 = held_of(data2, "s2@example.org", 5000);
	struct fg_held *got;
	long long id, id2, again, *ids;
	size_t n;

	ck_assert_int_eq(fg_store_held_add(store, LIST, &h, 10, &id, &error),
			 1);
	ck_assert_int_gt(id, 0);
	/* the same Message-ID again: held once */
	ck_assert_int_eq(fg_store_held_add(store, LIST, &h, 10, &again,
					   &error), 0);
	ck_assert_int_eq(again, id);
	/* the bound */
	ck_assert_int_eq(fg_store_held_add(store, LIST, &h2, 1, &id2, &error),
			 2);
	ck_assert_int_eq(fg_store_held_add(store, LIST, &h2, 10, &id2, &error),
			 1);
	ck_assert_int_gt(id2, id);

	ck_assert_int_eq(fg_store_held_get(store, LIST, id, &got, &error), 1);
	ck_assert_str_eq(got->state, FG_HELD_STATE_HELD);
	ck_assert_str_eq(got->message_id, "s1@example.org");
	ck_assert_str_eq(got->from, "ann@example.org");
	ck_assert_str_eq(got->reason, "moderated");
	ck_assert_str_eq(got->reject_reason, "");
	ck_assert_int_eq(got->received, 1000);
	ck_assert_int_eq(got->announced, 0);
	ck_assert_uint_eq(got->message_size, strlen(data));
	ck_assert_mem_eq(got->message, data, strlen(data));
	fg_held_free(&got);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(fg_store_held_get(store, LIST, 999, &got, &error), 0);

	/* both to do; by age */
	ck_assert_int_eq(fg_store_held_todo(store, LIST, 10, &ids, &n, &error),
			 0);
	ck_assert_uint_eq(n, 2);
	free(ids);
	ck_assert_int_eq(fg_store_held_ids(store, LIST, 3000, 10, &ids, &n,
					   &error), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ids[0], id);
	free(ids);
	ck_assert_int_eq(fg_store_held_ids(store, LIST, 0, 0, &ids, &n,
					   &error), 0);
	ck_assert_uint_eq(n, 2);
	free(ids);

	/* announced to 1 of 2, then all: off the to-do set */
	ck_assert_int_eq(fg_store_held_announced(store, LIST, id, 1, false,
						 &error), 0);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held-todo'"), 2);
	ck_assert_int_eq(fg_store_held_announced(store, LIST, id, 2, true,
						 &error), 0);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held-todo'"), 1);
	ck_assert_int_eq(fg_store_held_get(store, LIST, id, &got, &error), 1);
	ck_assert_int_eq(got->announced, 2);
	fg_held_free(&got);

	/* rejected once: back on the to-do set for the notice */
	ck_assert_int_eq(fg_store_held_decide(store, LIST, id,
					      FG_HELD_STATE_REJECTED,
					      "off topic", &error), 1);
	ck_assert_int_eq(fg_store_held_decide(store, LIST, id,
					      FG_HELD_STATE_EXPIRED, "",
					      &error), 0);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held-todo'"), 2);
	ck_assert_int_eq(fg_store_held_get(store, LIST, id, &got, &error), 1);
	ck_assert_str_eq(got->state, FG_HELD_STATE_REJECTED);
	ck_assert_str_eq(got->reject_reason, "off topic");
	fg_held_free(&got);

	/* removed: every key forgets it; the Message-ID may be held anew */
	ck_assert_int_eq(fg_store_held_remove(store, LIST, id, &error), 1);
	ck_assert_int_eq(fg_store_held_remove(store, LIST, id, &error), 0);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held'"), 1);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held-todo'"), 1);
	ck_assert_int_eq(redis_num("HLEN 'fg:{held}:held-msgid'"), 1);
	ck_assert_int_eq(redis_num("EXISTS 'fg:{held}:held:1'"), 0);
	ck_assert_int_eq(fg_store_held_add(store, LIST, &h, 10, &again,
					   &error), 1);
	ck_assert_int_gt(again, id2);
	ck_assert_int_eq(fg_store_held_remove(store, LIST, again, &error), 1);
	ck_assert_int_eq(fg_store_held_remove(store, LIST, id2, &error), 1);
	ck_assert_int_eq(redis_num("ZCARD 'fg:{held}:held'"), 0);
	free(data);
	free(data2);
}
END_TEST

START_TEST(test_release)
{
	const char *error, *why;
	char *data = message("sub@example.org", "r1");
	struct fg_chain_ctx ctx;
	struct fg_chain_decision d;
	struct fg_list *list;
	struct fg_held h, *got;
	long long id, in_before, dist_before;

	ck_assert_int_eq(fg_store_list_set(store, LIST, "access", "moderated",
					   &error), 0);
	ck_assert_int_eq(fg_store_subscriber_set(store, LIST, "sub@example.org",
						 NULL, &error), 1);
	ck_assert_int_eq(fg_store_list_get(store, LIST, &list, &error), 1);
	fg_chain_init(&ctx, store, list, &parse_set, "sub@example.org", data,
		      strlen(data), NULL);
	ck_assert_int_eq(fg_chain_run(&ctx, &d, &error), 0);
	ck_assert_int_eq(d.action, FG_CHAIN_HOLD);
	h = held_of(ctx.message, ctx.rec->message_id, 1000);
	h.message_size = ctx.message_size;
	ck_assert_int_eq(fg_store_held_add(store, LIST, &h, 10, &id, &error),
			 1);
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&ctx);

	in_before = redis_num("XLEN 'fg:{held}:in'");
	dist_before = redis_num("XLEN 'fg:{held}:dist'");
	ck_assert_int_eq(fg_store_held_get(store, LIST, id, &got, &error), 1);
	ck_assert_int_eq(fg_held_release(store, list, &parse_set, NULL, got,
					 &why, &error), 1);
	ck_assert_int_eq(redis_num("XLEN 'fg:{held}:in'"), in_before + 1);
	ck_assert_int_eq(redis_num("XLEN 'fg:{held}:dist'"), dist_before + 1);
	ck_assert_int_eq(redis_num("EXISTS 'fg:{held}:held:1'") +
			 redis_num("ZCARD 'fg:{held}:held'"), 0);
	/* approved twice (a reply and the command): queued once */
	ck_assert_int_eq(fg_held_release(store, list, &parse_set, NULL, got,
					 &why, &error), 0);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(redis_num("XLEN 'fg:{held}:in'"), in_before + 1);
	ck_assert_int_eq(redis_num("XLEN 'fg:{held}:dist'"), dist_before + 1);
	fg_held_free(&got);
	fg_list_free(&list);
	free(data);
}
END_TEST

/* parse - a mail as GMime reads it */
static GMimeMessage *parse(const char *data, size_t size)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

START_TEST(test_mails)
{
	char *data = message("ann@example.org", "m1"), *out;
	struct fg_held h = held_of(data, "m1@example.org", 1000);
	struct fg_held_mail m = {
		.list = LIST, .list_address = LIST_ADDRESS,
		.from = "held-owner@lists.test", .to = "mod@example.org",
		.message_id = "held.1.0@lists.test", .held = &h,
		.approve_address = "held-moderate+a1-2-abc@lists.test",
		.reject_address = "held-moderate+r1-2-abc@lists.test",
		.expires = 2000000000,
	};
	const char *error;
	GMimeMessage *msg;
	GMimeObject *body, *part;
	InternetAddressList *rt;
	size_t size;

	h.id = 1;
	h.subject = (char *)"Evil\r\nBcc: x@example.org";
	ck_assert_int_eq(fg_held_announce_mail(&m, &out, &size, &error), 0);
	ck_assert_ptr_null(strstr(out, "\nBcc:"));
	ck_assert_ptr_nonnull(strstr(out, "Auto-Submitted: auto-generated"));
	ck_assert_ptr_nonnull(strstr(out, "\r\n"));
	msg = parse(out, size);
	rt = g_mime_message_get_reply_to(msg);
	ck_assert_int_eq(internet_address_list_length(rt), 1);
	ck_assert_str_eq(internet_address_mailbox_get_addr(
		INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(
			rt, 0))), m.approve_address);
	body = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_MULTIPART(body));
	ck_assert_int_eq(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
	part = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
	ck_assert(GMIME_IS_MESSAGE_PART(part));
	ck_assert_str_eq(g_mime_message_get_message_id(
		g_mime_message_part_get_message(GMIME_MESSAGE_PART(part))),
		"m1@example.org");
	g_object_unref(msg);
	free(out);

	/* a bad address is refused, not sent */
	m.to = "mod@example.org>\r\nBcc: x@example.org";
	ck_assert_int_eq(fg_held_announce_mail(&m, &out, &size, &error), -1);
	m.to = "ann@example.org";

	h.state = (char *)FG_HELD_STATE_REJECTED;
	h.reject_reason = (char *)"off topic";
	ck_assert_int_eq(fg_held_notice_mail(&m, &out, &size, &error), 0);
	ck_assert_ptr_nonnull(strstr(out, "In-Reply-To: <m1@example.org>"));
	ck_assert_ptr_nonnull(strstr(out, "Auto-Submitted: auto-replied"));
	ck_assert_ptr_nonnull(strstr(out, "rejected"));
	ck_assert_ptr_nonnull(strstr(out, "off topic"));
	free(out);
	h.state = (char *)FG_HELD_STATE_EXPIRED;
	h.reject_reason = (char *)"";
	ck_assert_int_eq(fg_held_notice_mail(&m, &out, &size, &error), 0);
	ck_assert_ptr_nonnull(strstr(out, "in time"));
	free(out);
	free(data);
}
END_TEST

START_TEST(test_first_line)
{
	static const char reply[] =
		"From: mod@example.org\r\nSubject: Re: x\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"\r\n   Spam, and off topic   \r\nmore\r\n"
		"> quoted\r\n";
	static const char quoted_only[] =
		"From: mod@example.org\r\nSubject: Re: x\r\n\r\n"
		"On Mon, Ann wrote:\r\n> quoted\r\n";
	char *line;

	line = fg_held_first_line(reply, strlen(reply), 300);
	ck_assert_str_eq(line, "Spam, and off topic");
	free(line);
	line = fg_held_first_line(reply, strlen(reply), 4);
	ck_assert_str_eq(line, "Spam");
	free(line);
	line = fg_held_first_line(quoted_only, strlen(quoted_only), 300);
	ck_assert_str_eq(line, "");
	free(line);
	line = fg_held_first_line("", 0, 300);
	ck_assert_str_eq(line, "");
	free(line);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("held");
	TCase *tc = tcase_create("held");
	int ret;

	fg_mail_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_release);
	tcase_add_test(tc, test_mails);
	tcase_add_test(tc, test_first_line);
	suite_add_tcase(s, tc);
	ret = redis_suite_run(s);
	fg_mail_deinit();
	return ret;
}
