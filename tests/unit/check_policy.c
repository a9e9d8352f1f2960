/*
 * NAME
 *	check_policy - unit and golden tests of fg-policy and fg-store-async
 * DESCRIPTION
 *	The golden tests replay tests/policy/NAME.in as one client
 *	connection of forumgate-policyd and compare what the daemon would
 *	write with NAME.out, byte for byte. The replay takes the daemon's
 *	steps without the event loop: parse a request, check it, look up
 *	membership in the fixture below (with the per-message cache), and
 *	write the answer. Where the daemon closes the connection without
 *	an answer, the replay writes one line instead and stops:
 *
 *	    -- closed without an answer: ERROR
 *	    -- closed inside a request
 *
 *	Posts are counted as the daemon counts them: an RCPT answer that
 *	lets a post through is remembered with its instance, and the
 *	END-OF-MESSAGE request of that instance counts it once per list.
 *
 *	The fixture: forum@lists.test posts to "forum" (members
 *	alice@example.org, bob@example.net), dev-list@lists.test to
 *	"dev-list" (member carol@example.com). A file named "redis-down-*"
 *	replays with every membership lookup failing, "no-addresses-*"
 *	with the posting addresses never read.
 *
 *	FG_POLICY_TEST_DIR (from make) is where the golden files are.
 */
#include "fg-address.h"
#include "fg-common.h"
#include "fg-net.h"
#include "fg-policy.h"
#include "fg-store-async.h"
#include "fg-redis.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef FG_POLICY_TEST_DIR
#define FG_POLICY_TEST_DIR "tests/policy"
#endif

#define REQ(...) "request=smtpd_access_policy\n" __VA_ARGS__ "\n"

/* The fixture's membership "Redis". */
static const char *const fixture_members[][2] = {
	{ "forum", "alice@example.org" },
	{ "forum", "bob@example.net" },
	{ "dev-list", "carol@example.com" },
};
static unsigned int fixture_lookups;

static struct fg_policy_addresses *fixture_addresses(void)
{
	struct fg_policy_addresses *addrs = fg_policy_addresses_new();
	const char *error;

	ck_assert_int_eq(fg_policy_addresses_add(addrs, "forum@lists.test",
						 "forum", &error), 0);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "dev-list@lists.test",
						 "dev-list", &error), 0);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "open@lists.test",
						 "open", &error), 0);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "mod@lists.test",
						 "mod", &error), 0);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "closed@lists.test",
						 "closed", &error), 0);
	return addrs;
}

static int fixture_is_member(const char *list, const char *sender);

/* The fixture's access modes and allow lists, rate counters and
   settings (secret "golden-secret", DEFER above 10 posts, REJECT
   above 12). */
static const char *const fixture_allowed[][2] = {
	{ "mod", "moderator@example.org" },
	{ "closed", "announce@example.org" },
	{ "forum", "bridge@lists.test" },
};
static struct {
	char key[300];
	long long count;
} fixture_counts[64];

static void fixture_settings(struct fg_policy_settings *set)
{
	fg_policy_settings_default(set);
	set->secret = "golden-secret";
	set->rate_limit = 10;
	set->rate_reject = 12;
}

/* fixture_counter - the rate counter of a sender and a list */
static long long *fixture_counter(const char *list, const char *sender)
{
	char key[300];

	snprintf(key, sizeof(key), "%s:%s", list, sender);
	for (size_t i = 0; i < FG_N_ELEMENTS(fixture_counts); i++) {
		if (fixture_counts[i].key[0] == '\0')
			memcpy(fixture_counts[i].key, key, strlen(key) + 1);
		if (strcmp(fixture_counts[i].key, key) == 0)
			return &fixture_counts[i].count;
	}
	ck_abort_msg("more rate counters than the fixture holds");
	return NULL;
}

/* fixture_facts - what the facts script would answer */
static void fixture_facts(const char *list, const char *sender,
			  struct fg_policy_facts *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	if (strcmp(list, "open") == 0)
		f->access = FG_ACCESS_OPEN;
	else if (strcmp(list, "mod") == 0)
		f->access = FG_ACCESS_MODERATED;
	else if (strcmp(list, "closed") == 0)
		f->access = FG_ACCESS_CLOSED;
	f->member = fixture_is_member(list, sender) > 0 ||
		(strcmp(list, "mod") == 0 &&
		 strcmp(sender, "alice@example.org") == 0);
	for (i = 0; i < FG_N_ELEMENTS(fixture_allowed); i++)
		if (strcmp(fixture_allowed[i][0], list) == 0 &&
		    strcmp(fixture_allowed[i][1], sender) == 0)
			f->allowed = true;
	if (!(f->access == FG_ACCESS_OPEN || f->member || f->allowed))
		return;
	f->count = *fixture_counter(list, sender);
}

static int fixture_is_member(const char *list, const char *sender)
{
	fixture_lookups++;
	for (size_t i = 0; i < FG_N_ELEMENTS(fixture_members); i++) {
		if (strcmp(fixture_members[i][0], list) == 0 &&
		    strcmp(fixture_members[i][1], sender) == 0)
			return 1;
	}
	return 0;
}

/* replay - what the daemon writes to a client that sends input */
static char *replay(const char *input, size_t len, bool redis_down,
		    bool no_addresses)
{
	struct fg_policy_addresses *addrs =
		no_addresses ? NULL : fixture_addresses();
	struct fg_policy_cache cache;
	struct fg_policy_txn txn;
	struct fg_policy_settings set;
	struct fg_buf out = { 0 };
	size_t pos = 0;

	fixture_settings(&set);
	memset(fixture_counts, 0, sizeof(fixture_counts));
	memset(&cache, 0, sizeof(cache));
	memset(&txn, 0, sizeof(txn));
	fg_buf_puts(&out, "");
	while (pos < len) {
		struct fg_policy_request req;
		struct fg_policy_decision d;
		const char *error;
		size_t size;
		int ret = fg_policy_parse(input + pos, len - pos, &req, &size,
					  &error);

		if (ret == 0) {
			fg_buf_puts(&out, "-- closed inside a request\n");
			break;
		}
		if (ret < 0 || fg_policy_check(&req, addrs, &set, &d, &error) < 0) {
			fg_buf_printf(&out, "-- closed without an answer: %s\n",
				      error);
			break;
		}
		ck_assert_uint_le(size, len - pos);
		if (d.verdict == FG_POLICY_NEED_ADDRESSES) {
			fg_policy_unavailable(&d);
		} else if (d.verdict == FG_POLICY_NEED_MEMBERSHIP) {
			char *sender = fg_policy_value_dup(&req,
							   FG_POLICY_SENDER,
							   true);
			char *instance = fg_policy_value_dup(&req,
							     FG_POLICY_INSTANCE,
							     false);
			char *key = fg_policy_sender_key(&set, sender);
			struct fg_policy_facts f;
			int cached = fg_policy_cache_get_facts(&cache, instance,
							       key, d.list,
							       &f);
			if (cached == 0 && !redis_down) {
				fixture_facts(d.list, key, &f);
				fg_policy_cache_put_facts(&cache, instance,
							  key, d.list, &f);
			}
			fg_policy_facts(&d, &set, sender,
					cached > 0 || !redis_down ? &f : NULL);
			if (d.post)
				fg_policy_txn_add(&txn, instance, key, d.list);
			free(key);
			free(sender);
			free(instance);
		}
		if (d.verdict == FG_POLICY_END_OF_MESSAGE) {
			char *instance = fg_policy_value_dup(&req,
							     FG_POLICY_INSTANCE,
							     false);
			struct fg_policy_txn msg;
			if (fg_policy_txn_end(&txn, instance, &msg) &&
			    !redis_down) {
				for (unsigned int i = 0; i < msg.count; i++)
					++*fixture_counter(msg.lists[i],
							   msg.sender);
			}
			free(instance);
		} else {
			ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
		}

		char answer[FG_POLICY_ACTION_MAX + 16];
		size_t n = fg_policy_answer(&d, answer, sizeof(answer));
		fg_buf_append(&out, answer, n);
		pos += size;
	}
	fg_policy_cache_clear(&cache);
	fg_policy_addresses_free(&addrs);
	return fg_buf_steal(&out);
}

static char *read_file(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	struct fg_buf b = { 0 };
	char chunk[4096];
	size_t n;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	fg_buf_puts(&b, "");
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fg_buf_append(&b, chunk, n);
	fclose(fp);
	*len_r = b.len;
	return fg_buf_steal(&b);
}

/* The golden cases, found in FG_POLICY_TEST_DIR before the tests run. */
static char **golden_names;
static size_t golden_count;

static int golden_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void golden_scan(void)
{
	DIR *dir = opendir(FG_POLICY_TEST_DIR);
	struct dirent *de;

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len > 3 && strcmp(de->d_name + len - 3, ".in") == 0) {
			golden_names = fg_xrealloc(golden_names,
						   (golden_count + 1) *
						   sizeof(*golden_names));
			golden_names[golden_count++] =
				fg_xstrndup(de->d_name, len - 3);
		}
	}
	closedir(dir);
	if (golden_count > 0)
		qsort(golden_names, golden_count, sizeof(*golden_names),
		      golden_cmp);
}

/* async_connect_plain - fg_store_async_connect() without AUTH or TLS */
static int async_connect_plain(const char *address, redisAsyncContext **ac_r,
			       const char **error_r)
{
	struct fg_redis_params *params = fg_redis_params_plain(address, 0);
	int ret = fg_store_async_connect(params, NULL, NULL, ac_r, error_r);

	fg_redis_params_free(&params);
	return ret;
}

START_TEST(test_golden_found)
{
	/* A wrong directory must fail, not pass with nothing tested. */
	ck_assert_msg(golden_count >= 20, "only %zu golden cases in %s",
		      golden_count, FG_POLICY_TEST_DIR);
}
END_TEST

START_TEST(test_golden)
{
	const char *name = golden_names[_i];
	char *in_path = fg_xasprintf("%s/%s.in", FG_POLICY_TEST_DIR, name);
	char *out_path = fg_xasprintf("%s/%s.out", FG_POLICY_TEST_DIR, name);
	size_t in_len, out_len;
	char *input = read_file(in_path, &in_len);
	char *expected = read_file(out_path, &out_len);
	char *got = replay(input, in_len,
			   strncmp(name, "redis-down-", 11) == 0,
			   strncmp(name, "no-addresses-", 13) == 0);

	/* FG_POLICY_GOLDEN_WRITE=1 writes what the code answers now, for
	   a new case (read it before committing it). */
	if (getenv("FG_POLICY_GOLDEN_WRITE") != NULL) {
		FILE *fp = fopen(out_path, "w");
		ck_assert_ptr_nonnull(fp);
		fputs(got, fp);
		fclose(fp);
		free(expected);
		expected = fg_xstrdup(got);
	}
	ck_assert_msg(strcmp(got, expected) == 0,
		      "%s: got\n%s\nexpected\n%s", name, got, expected);

	/* The same bytes in 1- and 7-byte steps, as a slow client sends
	   them: a prefix is incomplete until it gives the same result as
	   the whole input. */
	struct fg_policy_request req;
	const char *error;
	size_t whole_size = 0, size = 0;
	int whole_ret = fg_policy_parse(input, in_len, &req, &whole_size,
					&error);

	for (size_t step = 1; step <= 7; step += 6) {
		for (size_t have = 0;; have += step) {
			if (have > in_len)
				have = in_len;
			int ret = fg_policy_parse(input, have, &req, &size,
						  &error);
			if (ret != 0) {
				ck_assert_int_eq(ret, whole_ret);
				if (ret > 0)
					ck_assert_uint_eq(size, whole_size);
				break;
			}
			if (have == in_len) {
				ck_assert_int_eq(whole_ret, 0);
				break;
			}
		}
	}
	free(got);
	free(input);
	free(expected);
	free(in_path);
	free(out_path);
}
END_TEST

START_TEST(test_parse_basic)
{
	static const char buf[] =
		REQ("protocol_state=RCPT\nsender=a@b.example\n"
		    "recipient=forum@lists.test\nunknown=x\ninstance=1.2.3\n")
		"request=smtpd_access_policy\n";
	struct fg_policy_request req;
	const char *error;
	size_t size;

	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	ck_assert_uint_eq(size, strlen(buf) - strlen(REQ("")) + 1);
	ck_assert_uint_eq(req.n_attrs, 6);
	/* Values point into the buffer: nothing was copied. */
	ck_assert_ptr_eq(req.attrs[FG_POLICY_SENDER].data,
			 strstr(buf, "a@b.example"));
	ck_assert_uint_eq(req.attrs[FG_POLICY_SENDER].len, 11);
	ck_assert_ptr_null(req.attrs[FG_POLICY_QUEUE_ID].data);
	ck_assert_str_eq(fg_policy_attr_name(FG_POLICY_RECIPIENT),
			 "recipient");

	char *s = fg_policy_value_dup(&req, FG_POLICY_INSTANCE, false);
	ck_assert_str_eq(s, "1.2.3");
	free(s);
	s = fg_policy_value_dup(&req, FG_POLICY_QUEUE_ID, true);
	ck_assert_str_eq(s, "");
	free(s);

	/* The rest is an incomplete second request. */
	ck_assert_int_eq(fg_policy_parse(buf + size, strlen(buf) - size, &req,
					 &size, &error), 0);
	ck_assert_int_eq(fg_policy_parse("", 0, &req, &size, &error), 0);
}
END_TEST

START_TEST(test_parse_values)
{
	static const char buf[] =
		"request=smtpd_access_policy\nsender=\nrecipient==x=\n\n";
	struct fg_policy_request req;
	const char *error;
	size_t size;

	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	/* An empty value is sent, not missing. */
	ck_assert_ptr_nonnull(req.attrs[FG_POLICY_SENDER].data);
	ck_assert_uint_eq(req.attrs[FG_POLICY_SENDER].len, 0);
	/* Only the first '=' separates. */
	ck_assert_uint_eq(req.attrs[FG_POLICY_RECIPIENT].len, 3);
	ck_assert_int_eq(memcmp(req.attrs[FG_POLICY_RECIPIENT].data, "=x=", 3),
			 0);
}
END_TEST

/* make_request - n attribute lines of total length total (including
   the final empty line) */
static char *make_request(size_t total, size_t *len_r)
{
	struct fg_buf b = { 0 };
	static const char head[] = "request=smtpd_access_policy\n";

	fg_buf_puts(&b, head);
	while (b.len + FG_POLICY_LINE_MAX + 2 < total) {
		fg_buf_puts(&b, "x=");
		for (size_t i = 0; i < FG_POLICY_LINE_MAX - 2; i++)
			fg_buf_putc(&b, 'v');
		fg_buf_putc(&b, '\n');
	}
	size_t pad = total - b.len - 2;	/* "\n" of this line and "\n" */
	fg_buf_puts(&b, "y=");
	for (size_t i = 2; i < pad; i++)
		fg_buf_putc(&b, 'w');
	fg_buf_puts(&b, "\n\n");
	ck_assert_uint_eq(b.len, total);
	*len_r = b.len;
	return fg_buf_steal(&b);
}

START_TEST(test_parse_limits)
{
	struct fg_policy_request req;
	const char *error;
	size_t len, size;
	char *buf;

	/* The largest request is accepted, one byte more is not. */
	buf = make_request(FG_POLICY_REQUEST_MAX, &len);
	ck_assert_int_eq(fg_policy_parse(buf, len, &req, &size, &error), 1);
	ck_assert_uint_eq(size, FG_POLICY_REQUEST_MAX);
	/* A prefix of it is merely incomplete... */
	ck_assert_int_eq(fg_policy_parse(buf, len - 1, &req, &size, &error), 0);
	free(buf);
	buf = make_request(FG_POLICY_REQUEST_MAX + 1, &len);
	ck_assert_int_eq(fg_policy_parse(buf, len, &req, &size, &error), -1);
	ck_assert_str_eq(error, "request longer than 32768 bytes");
	/* ...but a full buffer without the end is an error, so a reader
	   never has to hold more than FG_POLICY_REQUEST_MAX bytes. */
	ck_assert_int_eq(fg_policy_parse(buf, FG_POLICY_REQUEST_MAX, &req,
					 &size, &error), -1);
	free(buf);

	/* A pending line is rejected as soon as it is too long. */
	char line[FG_POLICY_LINE_MAX + 8];
	memset(line, 'a', sizeof(line));
	memcpy(line, "request=", 8);
	ck_assert_int_eq(fg_policy_parse(line, FG_POLICY_LINE_MAX + 1, &req,
					 &size, &error), 0);
	ck_assert_int_eq(fg_policy_parse(line, FG_POLICY_LINE_MAX + 2, &req,
					 &size, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "line 1 longer than 4096 bytes"));
	/* A CR before the LF does not count. */
	line[FG_POLICY_LINE_MAX] = '\r';
	line[FG_POLICY_LINE_MAX + 1] = '\n';
	line[FG_POLICY_LINE_MAX + 2] = '\n';
	ck_assert_int_eq(fg_policy_parse(line, FG_POLICY_LINE_MAX + 3, &req,
					 &size, &error), 1);
}
END_TEST

START_TEST(test_parse_random)
{
	/* Random input: never a crash, a size beyond the input, or a
	   value outside it. Bytes are drawn from a small alphabet, so
	   that lines, '=' and empty lines are frequent. */
	static const char alphabet[] = "=\n\n\r\0ab=_request";
	unsigned int seed = 12345;
	char buf[512];

	for (unsigned int round = 0; round < 20000; round++) {
		struct fg_policy_request req;
		const char *error;
		size_t size, len;

		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(buf);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = alphabet[(seed >> 16) %
					  (sizeof(alphabet) - 1)];
		}
		int ret = fg_policy_parse(buf, len, &req, &size, &error);
		ck_assert(ret >= -1 && ret <= 1);
		if (ret < 0)
			ck_assert_ptr_nonnull(error);
		if (ret == 1) {
			ck_assert_uint_le(size, len);
			for (unsigned int a = 0; a < FG_POLICY_ATTR_COUNT;
			     a++) {
				const struct fg_policy_value *v =
					&req.attrs[a];
				if (v->data == NULL)
					continue;
				ck_assert(v->data >= buf &&
					  v->data + v->len <= buf + size);
			}
		}
	}
}
END_TEST

START_TEST(test_addresses)
{
	struct fg_policy_addresses *addrs = fg_policy_addresses_new();
	const char *error;
	char address[64], list[16];

	ck_assert_uint_eq(fg_policy_addresses_count(addrs), 0);
	ck_assert_ptr_null(fg_policy_addresses_lookup(addrs, "a@b", 3));
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "Forum@Lists.Test",
						 "forum", &error), 0);
	ck_assert_str_eq(fg_policy_addresses_lookup(addrs, "forum@lists.test",
						    16), "forum");
	ck_assert_str_eq(fg_policy_addresses_lookup(addrs, "FORUM@LISTS.TEST",
						    16), "forum");
	/* Length counts: a prefix or an extension is another address. */
	ck_assert_ptr_null(fg_policy_addresses_lookup(addrs, "forum@lists.tes",
						      15));
	ck_assert_ptr_null(fg_policy_addresses_lookup(addrs,
						      "forum@lists.test2", 17));
	/* Set again: the list changes, the count does not. */
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "forum@lists.test",
						 "forum2", &error), 0);
	ck_assert_uint_eq(fg_policy_addresses_count(addrs), 1);
	ck_assert_str_eq(fg_policy_addresses_lookup(addrs, "forum@lists.test",
						    16), "forum2");
	/* Names that would break a key are refused. */
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "x@lists.test",
						 "a}b", &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid list name"));
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "x@lists.test",
						 "Forum", &error), -1);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "x@lists.test", "",
						 &error), -1);
	ck_assert_int_eq(fg_policy_addresses_add(addrs, "", "forum", &error),
			 -1);
	/* Many: the table grows and keeps everything. */
	for (unsigned int i = 0; i < 5000; i++) {
		snprintf(address, sizeof(address), "list%u@lists.test", i);
		snprintf(list, sizeof(list), "list%u", i);
		ck_assert_int_eq(fg_policy_addresses_add(addrs, address, list,
							 &error), 0);
	}
	ck_assert_uint_eq(fg_policy_addresses_count(addrs), 5001);
	for (unsigned int i = 0; i < 5000; i += 7) {
		snprintf(address, sizeof(address), "LIST%u@lists.test", i);
		snprintf(list, sizeof(list), "list%u", i);
		ck_assert_str_eq(fg_policy_addresses_lookup(addrs, address,
							    strlen(address)),
				 list);
	}
	fg_policy_addresses_free(&addrs);
	ck_assert_ptr_null(addrs);
	fg_policy_addresses_free(&addrs);
}
END_TEST

/* decide - parse and check one request */
static int decide(const char *buf, struct fg_policy_addresses *addrs,
		  struct fg_policy_decision *d)
{
	struct fg_policy_request req;
	const char *error;
	size_t size;

	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	return fg_policy_check(&req, addrs, NULL, d, &error);
}

START_TEST(test_decisions)
{
	struct fg_policy_addresses *addrs = fixture_addresses();
	struct fg_policy_decision d;
	char answer[FG_POLICY_ACTION_MAX + 16];

	ck_assert_int_eq(decide(REQ("protocol_state=RCPT\nsender=x@y\n"
				    "recipient=forum@lists.test\n"), addrs,
				&d), 0);
	ck_assert_int_eq(d.verdict, FG_POLICY_NEED_MEMBERSHIP);
	ck_assert_str_eq(d.list, "forum");

	fg_policy_membership(&d, "x@y", 1);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert_str_eq(d.reason, "member");

	fg_policy_membership(&d, "x@y", 0);
	ck_assert_str_eq(d.action, "REJECT 5.7.1 <x@y> is not a member of the "
			 "forum list; only members may post");
	ck_assert_uint_eq(fg_policy_answer(&d, answer, sizeof(answer)),
			  strlen(d.action) + 9);
	ck_assert_int_eq(strncmp(answer, "action=REJECT 5.7.1 <x@y>", 25), 0);
	ck_assert_str_eq(answer + strlen(answer) - 2, "\n\n");

	fg_policy_membership(&d, "x@y", -1);
	ck_assert_str_eq(d.action, "DEFER_IF_PERMIT 4.3.0 list membership "
			 "service is temporarily unavailable");

	/* Without the addresses nothing can be told about a recipient. */
	ck_assert_int_eq(decide(REQ("protocol_state=RCPT\nsender=x@y\n"
				    "recipient=a@b\n"), NULL, &d), 0);
	ck_assert_int_eq(d.verdict, FG_POLICY_NEED_ADDRESSES);
	fg_policy_unavailable(&d);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_int_eq(strncmp(d.action, "DEFER_IF_PERMIT 4.3.0 ", 22), 0);

	/* ...but the protocol state can. */
	ck_assert_int_eq(decide(REQ("protocol_state=rcpt\nrecipient=a@b\n"),
				addrs, &d), 0);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert_str_eq(d.reason, "not a list address");
	ck_assert_int_eq(decide(REQ("protocol_state=DATA\n"
				    "recipient=forum@lists.test\n"), NULL, &d),
			 0);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert_str_eq(d.reason, "not the RCPT stage");

	/* Null sender, sent empty or not at all. */
	ck_assert_int_eq(decide(REQ("protocol_state=RCPT\n"
				    "recipient=forum@lists.test\n"), addrs, &d),
			 0);
	ck_assert_str_eq(d.reason, "null sender");
	ck_assert_int_eq(strncmp(d.action, "REJECT 5.7.1 ", 13), 0);

	/* Requests that must not be answered. */
	ck_assert_int_eq(decide("protocol_state=RCPT\n\n", addrs, &d), -1);
	ck_assert_int_eq(decide("request=smtpd_access_policyx\n\n", addrs, &d),
			 -1);
	ck_assert_int_eq(decide("request=SMTPD_ACCESS_POLICY\n\n", addrs, &d),
			 -1);
	fg_policy_addresses_free(&addrs);
}
END_TEST

/* canonical - fg_address_canonical() of s, then without the extension
   of delims (NULL: keep it), into a static buffer */
static const char *canonical(const char *s, const char *delims)
{
	static char buf[256];

	ck_assert_uint_lt(strlen(s), sizeof(buf));
	ck_assert_uint_le(fg_address_canonical(s, strlen(s), buf),
			  strlen(s));
	if (delims != NULL)
		(void)fg_address_strip_extension(buf, delims);
	return buf;
}

/* address, delimiters (NULL: keep the extension), the result */
static const char *const canonical_cases[][3] = {
	{ "forum@lists.test", NULL, "forum@lists.test" },
	{ "Forum@Lists.TEST.", NULL, "forum@lists.test" },
	{ "forum@lists.test...", NULL, "forum@lists.test" },
	{ "\"forum\"@lists.test", NULL, "forum@lists.test" },
	{ "\"fo\\rum\"@lists.test", NULL, "forum@lists.test" },
	/* an '@' inside the quotes is part of the local part */
	{ "\"a@b\"@lists.test.", NULL, "a@b@lists.test" },
	{ "forum", NULL, "forum" },
	{ "", NULL, "" },
	/* a domain of dots only is empty */
	{ "forum@.", NULL, "forum@" },
	{ "forum+x@lists.test", "+", "forum@lists.test" },
	{ "forum+x+y@lists.test.", "+", "forum@lists.test" },
	{ "\"forum+x\"@lists.test", "+", "forum@lists.test" },
	{ "forum-x@lists.test", "+", "forum-x@lists.test" },
	/* several delimiters: the first of any of them */
	{ "forum-x+y@lists.test", "+-", "forum@lists.test" },
	{ "forum+x-y@lists.test", "-+", "forum@lists.test" },
	/* none */
	{ "forum+x@lists.test", "", "forum+x@lists.test" },
	/* not an extension: a delimiter first, reserved names */
	{ "+x@lists.test", "+", "+x@lists.test" },
	{ "owner-forum@lists.test", "-", "owner-forum@lists.test" },
	{ "forum-request@lists.test", "-", "forum-request@lists.test" },
	{ "owner-forum+x@lists.test", "+", "owner-forum@lists.test" },
	{ "Postmaster@lists.test", "+-", "postmaster@lists.test" },
	{ "mailer-daemon@lists.test", "-", "mailer-daemon@lists.test" },
	/* without a domain */
	{ "forum+x", "+", "forum" },
};

START_TEST(test_address_canonical)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(canonical_cases); i++) {
		const char *const *c = canonical_cases[i];
		ck_assert_msg(strcmp(canonical(c[0], c[1]), c[2]) == 0,
			      "%s (%s): got %s, want %s", c[0],
			      c[1] != NULL ? c[1] : "keep",
			      canonical(c[0], c[1]), c[2]);
	}
}
END_TEST

START_TEST(test_recipient_forms)
{
	struct fg_policy_addresses *addrs = fixture_addresses();
	struct fg_policy_settings set;
	struct fg_policy_request req;
	struct fg_policy_decision d;
	const char *error;
	size_t size;
	static const char *const forms[] = {
		"forum@lists.test.", "forum+x@lists.test",
		"\"forum\"@lists.test", "FORUM@LISTS.TEST",
		"forum-x+y@lists.test",
	};

	fixture_settings(&set);
	set.recipient_delimiter = "+-";
	for (size_t i = 0; i < FG_N_ELEMENTS(forms); i++) {
		char *buf = fg_xasprintf(REQ("protocol_state=RCPT\n"
					     "sender=dave@example.org\n"
					     "recipient=%s\n"), forms[i]);
		ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req,
						 &size, &error), 1);
		ck_assert_int_eq(fg_policy_check(&req, addrs, &set, &d,
						 &error), 0);
		ck_assert_msg(d.verdict == FG_POLICY_NEED_MEMBERSHIP &&
			      strcmp(d.list, "forum") == 0,
			      "%s: verdict %d list '%s'", forms[i],
			      d.verdict, d.list);
		free(buf);
	}
	/* without delimiters the extension is another address */
	set.recipient_delimiter = "";
	const char *buf = REQ("protocol_state=RCPT\nsender=dave@example.org\n"
			      "recipient=forum+x@lists.test\n");
	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	ck_assert_int_eq(fg_policy_check(&req, addrs, &set, &d, &error), 0);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_str_eq(d.action, "DUNNO");
	fg_policy_addresses_free(&addrs);
}
END_TEST

/* control_decide - the decision on a non-member's mail to rcpt with
   recipient_delimiter delims, finished with facts of count posts */
static void control_decide(struct fg_policy_addresses *addrs,
			   const char *delims, const char *sender,
			   const char *rcpt, long long count,
			   struct fg_policy_decision *d)
{
	struct fg_policy_settings set;
	struct fg_policy_request req;
	struct fg_policy_facts f = { .access = FG_ACCESS_CLOSED,
				     .count = count };
	const char *error;
	size_t size;
	char *buf = fg_xasprintf(REQ("protocol_state=RCPT\nsender=%s\n"
				     "recipient=%s\n"), sender, rcpt);

	fixture_settings(&set);
	set.recipient_delimiter = delims;
	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	ck_assert_int_eq(fg_policy_check(&req, addrs, &set, d, &error), 0);
	if (d->verdict == FG_POLICY_NEED_MEMBERSHIP)
		fg_policy_facts(d, &set, sender, &f);
	free(buf);
}

START_TEST(test_control_addresses)
{
	struct fg_policy_addresses *addrs = fixture_addresses();
	struct fg_policy_decision d;
	static const char *const controls[][2] = {
		{ "forum-join@lists.test", "forum" },
		{ "FORUM-Leave@lists.test", "forum" },
		{ "forum-request@lists.test", "forum" },
		{ "forum-confirm+s.1.6a.0123@lists.test", "forum" },
		{ "dev-list-subscribe@lists.test", "dev-list" },
		{ "closed-owner@lists.test", "closed" },
	};

	/* anyone may write to a control address, whatever the delimiter
	   (with "-" it is not taken for the posting address) */
	for (size_t i = 0; i < FG_N_ELEMENTS(controls); i++) {
		for (int k = 0; k < 2; k++) {
			control_decide(addrs, k == 0 ? "+" : "+-",
				       "stranger@example.org", controls[i][0],
				       0, &d);
			ck_assert_msg(d.control &&
				      strcmp(d.action, "DUNNO") == 0 &&
				      strcmp(d.list, controls[i][1]) == 0,
				      "%s: action '%s' list '%s'",
				      controls[i][0], d.action, d.list);
			ck_assert_str_eq(d.reason, "control address");
			ck_assert(d.post);	/* counted */
		}
	}
	/* the rate limit applies, per list and sender */
	control_decide(addrs, "+", "stranger@example.org",
		       "forum-join@lists.test", 10, &d);
	ck_assert_str_eq(d.reason, "rate limit, deferred");
	control_decide(addrs, "+", "stranger@example.org",
		       "forum-join@lists.test", 12, &d);
	ck_assert_str_eq(d.reason, "rate limit, rejected");
	/* a bounce to a control address is not refused at RCPT time */
	control_decide(addrs, "+", "", "forum-confirm+x@lists.test", 0, &d);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert(!d.post);
	/* other words, other lists' words, and posts are not control */
	control_decide(addrs, "+-", "stranger@example.org",
		       "forum-x@lists.test", 0, &d);
	ck_assert(!d.control);
	ck_assert_str_eq(d.reason, "closed list");
	control_decide(addrs, "+", "stranger@example.org",
		       "nolist-join@lists.test", 0, &d);
	ck_assert(!d.control);
	ck_assert_str_eq(d.reason, "not a list address");
	control_decide(addrs, "+", "stranger@example.org",
		       "forum-join@other.test", 0, &d);
	ck_assert(!d.control);
	ck_assert_str_eq(d.reason, "not a list address");
	fg_policy_addresses_free(&addrs);
}
END_TEST

/* outside - the decision on a request from client with sender and
   recipient, with bridge_clients set */
static void outside(const struct fg_policy_addresses *addrs,
		    const struct fg_policy_settings *set, const char *client,
		    const char *sender, const char *rcpt,
		    struct fg_policy_decision *d)
{
	struct fg_policy_request req;
	const char *error;
	size_t size;
	char *buf = fg_xasprintf(REQ("protocol_state=RCPT\n"
				     "client_address=%s\nsender=%s\n"
				     "recipient=%s\n"), client, sender, rcpt);

	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	ck_assert_int_eq(fg_policy_check(&req, addrs, set, d, &error), 0);
	free(buf);
}

START_TEST(test_bridge_clients)
{
	struct fg_policy_addresses *addrs = fixture_addresses();
	struct fg_policy_settings set;
	struct fg_policy_decision d;
	struct fg_net_list *nets;
	const char *error;
	static const char *const return_paths[] = {
		"forum-bounces@lists.test",
		"Forum-Bounces+alice=example.org@lists.test",
		"forum+bounces-12-alice=example.org@lists.test",
		"forum+bounces-help@lists.test",
		"dev-list-bounces@lists.test",
	};
	static const char *const not_return_paths[] = {
		"alice@example.org", "forum-bounces@other.test",
		"forum+bounces@lists.test", "forum-bouncesx@lists.test",
		"nolist-bounces@lists.test", "forum@lists.test",
	};

	ck_assert_int_eq(fg_policy_addresses_add_bridge(addrs,
		"bridge@lists.test", "forum", &error), 0);
	ck_assert_int_eq(fg_policy_addresses_add_bridge(addrs, "", "forum",
							&error), -1);
	ck_assert_uint_eq(fg_policy_bridges_count(addrs), 1);
	/* kept apart: a bridge recipient is no posting address */
	ck_assert_ptr_null(fg_policy_addresses_lookup(addrs,
		"bridge@lists.test", 17));
	ck_assert_str_eq(fg_policy_bridge_lookup(addrs, "Bridge@Lists.Test",
						 17), "forum");
	ck_assert_int_eq(fg_net_list_parse("bridge_clients",
		"127.0.0.0/8, ::1 192.0.2.128/25", &nets, &error), 0);
	fixture_settings(&set);
	set.bridge_clients = nets;

	/* from outside: the bridge recipient, an extension of it */
	outside(addrs, &set, "192.0.2.7", "dave@example.org",
		"bridge@lists.test", &d);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_str_eq(d.list, "forum");
	ck_assert_str_eq(d.action, "REJECT 5.7.1 <bridge@lists.test>: this "
			 "address takes the forum list's copies from its list "
			 "manager only; post to the list instead");
	outside(addrs, &set, "2001:db8::1", "dave@example.org",
		"BRIDGE+x@lists.test.", &d);
	ck_assert_str_eq(d.reason,
			 "bridge recipient from outside bridge_clients");
	/* from the list manager's host: as before */
	outside(addrs, &set, "127.0.0.1", "forum-bounces@lists.test",
		"bridge@lists.test", &d);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_str_eq(d.action, "DUNNO");
	outside(addrs, &set, "192.0.2.200", "x@y.test", "bridge@lists.test",
		&d);
	ck_assert_str_eq(d.action, "DUNNO");
	outside(addrs, &set, "::ffff:127.0.0.2", "x@y.test",
		"bridge@lists.test", &d);
	ck_assert_str_eq(d.action, "DUNNO");
	/* a list's return path as sender from outside, to anyone */
	for (size_t i = 0; i < FG_N_ELEMENTS(return_paths); i++) {
		outside(addrs, &set, "192.0.2.7", return_paths[i],
			"someone@example.org", &d);
		ck_assert_msg(d.verdict == FG_POLICY_ANSWER &&
			      strncmp(d.action, "REJECT 5.7.1 <", 14) == 0 &&
			      strstr(d.action, "return path") != NULL,
			      "%s: %s", return_paths[i], d.action);
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(not_return_paths); i++) {
		outside(addrs, &set, "192.0.2.7", not_return_paths[i],
			"someone@example.org", &d);
		ck_assert_msg(strcmp(d.action, "DUNNO") == 0, "%s: %s",
			      not_return_paths[i], d.action);
	}
	/* and to the list: refused before membership is asked */
	outside(addrs, &set, "192.0.2.7", "forum-bounces@lists.test",
		"forum@lists.test", &d);
	ck_assert_int_eq(d.verdict, FG_POLICY_ANSWER);
	ck_assert_str_eq(d.reason, "list return path from outside "
			 "bridge_clients");
	/* no bridge_clients: no check */
	set.bridge_clients = NULL;
	outside(addrs, &set, "192.0.2.7", "dave@example.org",
		"bridge@lists.test", &d);
	ck_assert_str_eq(d.action, "DUNNO");

	fg_net_list_free(&nets);
	ck_assert_int_eq(fg_net_list_parse("bridge_clients", "10.0.0.0/33",
					   &nets, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "bridge_clients"));
	ck_assert_int_eq(fg_net_list_parse("bridge_clients", "localhost",
					   &nets, &error), -1);
	ck_assert_int_eq(fg_net_list_parse("bridge_clients", "", &nets,
					   &error), 0);
	ck_assert(!fg_net_list_match_text(nets, "127.0.0.1", 9));
	fg_net_list_free(&nets);
	fg_policy_addresses_free(&addrs);
}
END_TEST

START_TEST(test_txn)
{
	struct fg_policy_txn txn, msg;

	memset(&txn, 0, sizeof(txn));
	/* no instance: nothing kept */
	fg_policy_txn_add(&txn, "", "a@b", "forum");
	ck_assert(!fg_policy_txn_end(&txn, "", &msg));
	/* one message, a list twice and another list: each once */
	fg_policy_txn_add(&txn, "I1", "a@b", "forum");
	fg_policy_txn_add(&txn, "I1", "a@b", "forum");
	fg_policy_txn_add(&txn, "I1", "a@b", "dev-list");
	ck_assert(!fg_policy_txn_end(&txn, "I2", &msg));
	/* a wrong END-OF-MESSAGE forgets it too */
	ck_assert(!fg_policy_txn_end(&txn, "I1", &msg));
	fg_policy_txn_add(&txn, "I1", "a@b", "forum");
	fg_policy_txn_add(&txn, "I1", "a@b", "dev-list");
	fg_policy_txn_add(&txn, "I1", "a@b", "forum");
	ck_assert(fg_policy_txn_end(&txn, "I1", &msg));
	ck_assert_uint_eq(msg.count, 2);
	ck_assert_str_eq(msg.lists[0], "forum");
	ck_assert_str_eq(msg.lists[1], "dev-list");
	ck_assert_str_eq(msg.sender, "a@b");
	ck_assert(!fg_policy_txn_end(&txn, "I1", &msg));
	/* RSET: a new instance replaces the abandoned one */
	fg_policy_txn_add(&txn, "I3", "a@b", "forum");
	fg_policy_txn_add(&txn, "I4", "c@d", "dev-list");
	ck_assert(!fg_policy_txn_end(&txn, "I3", &msg));
	fg_policy_txn_add(&txn, "I4", "c@d", "dev-list");
	ck_assert(fg_policy_txn_end(&txn, "I4", &msg));
	ck_assert_uint_eq(msg.count, 1);
	ck_assert_str_eq(msg.sender, "c@d");
	/* at most FG_POLICY_TXN_LISTS lists */
	for (unsigned int i = 0; i < FG_POLICY_TXN_LISTS + 3; i++) {
		char list[16];
		snprintf(list, sizeof(list), "l%u", i);
		fg_policy_txn_add(&txn, "I5", "a@b", list);
	}
	ck_assert(fg_policy_txn_end(&txn, "I5", &msg));
	ck_assert_uint_eq(msg.count, FG_POLICY_TXN_LISTS);
}
END_TEST

START_TEST(test_end_of_message)
{
	struct fg_policy_addresses *addrs = fixture_addresses();
	struct fg_policy_request req;
	struct fg_policy_decision d;
	struct fg_policy_settings set;
	struct fg_policy_facts f = { .access = FG_ACCESS_MEMBERS,
				     .member = true };
	const char *error;
	size_t size;
	const char *buf = REQ("protocol_state=END-OF-MESSAGE\n"
			      "sender=alice@example.org\nrecipient=\n"
			      "recipient_count=2\ninstance=I1\n");

	ck_assert_int_eq(fg_policy_parse(buf, strlen(buf), &req, &size,
					 &error), 1);
	ck_assert_int_eq(fg_policy_check(&req, addrs, NULL, &d, &error), 0);
	ck_assert_int_eq(d.verdict, FG_POLICY_END_OF_MESSAGE);
	ck_assert_str_eq(d.action, "DUNNO");

	/* posts accepted before this one: at the limit, the next waits */
	fixture_settings(&set);
	memset(&d, 0, sizeof(d));
	memcpy(d.list, "forum", 6);
	f.count = 9;
	fg_policy_facts(&d, &set, "alice@example.org", &f);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert(d.post);
	f.count = 10;
	fg_policy_facts(&d, &set, "alice@example.org", &f);
	ck_assert_str_eq(d.action, "DEFER_IF_PERMIT 4.7.1 <alice@example.org> "
			 "sent more than 10 messages to the forum list in "
			 "the rate window; try again later");
	f.count = 12;
	fg_policy_facts(&d, &set, "alice@example.org", &f);
	ck_assert(strncmp(d.action, "REJECT 5.7.1", 12) == 0);
	/* without a rate limit nothing is counted */
	set.rate_limit = set.rate_reject = 0;
	f.count = 0;
	d.post = false;
	fg_policy_facts(&d, &set, "alice@example.org", &f);
	ck_assert_str_eq(d.action, "DUNNO");
	ck_assert(!d.post);
	fg_policy_addresses_free(&addrs);
}
END_TEST

START_TEST(test_answer_bounded)
{
	struct fg_policy_decision d;
	char sender[5000], small[16];

	memset(&d, 0, sizeof(d));
	memcpy(d.list, "forum", 6);
	memset(sender, 'a', sizeof(sender) - 1);
	sender[sizeof(sender) - 1] = '\0';
	fg_policy_membership(&d, sender, 0);
	ck_assert_uint_lt(strlen(d.action), FG_POLICY_ACTION_MAX);
	ck_assert_ptr_nonnull(strstr(d.action, "aaa...> is not a member"));
	/* A buffer too small gets a truncated, terminated answer. */
	ck_assert_uint_eq(fg_policy_answer(&d, small, sizeof(small)), 15);
	ck_assert_str_eq(small, "action=REJECT 5");
}
END_TEST

START_TEST(test_cache)
{
	struct fg_policy_cache cache;

	memset(&cache, 0, sizeof(cache));
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "forum"), -1);
	fg_policy_cache_put(&cache, "i1", "s", "forum", true);
	fg_policy_cache_put(&cache, "i1", "s", "dev", false);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "forum"), 1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "dev"), 0);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "other"), -1);
	/* Another sender or message: nothing is known. */
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "t", "forum"), -1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "forum"), -1);
	/* Without an instance nothing is kept or found. */
	fg_policy_cache_put(&cache, "", "s", "forum", false);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "", "s", "forum"), -1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "forum"), 1);
	/* A new message forgets the old answers. */
	fg_policy_cache_put(&cache, "i2", "s", "dev", true);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "dev"), 1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "forum"), -1);
	/* Bounded: the oldest list goes first. */
	fg_policy_cache_put(&cache, "i2", "s", "l1", true);
	fg_policy_cache_put(&cache, "i2", "s", "l2", true);
	fg_policy_cache_put(&cache, "i2", "s", "l3", true);
	fg_policy_cache_put(&cache, "i2", "s", "l4", false);
	ck_assert_uint_eq(cache.count, FG_POLICY_CACHE_LISTS);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "dev"), -1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "l4"), 0);
	fg_policy_cache_clear(&cache);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i2", "s", "l4"), -1);
	fg_policy_cache_clear(&cache);
}
END_TEST

START_TEST(test_cache_long_keys)
{
	struct fg_policy_cache cache;
	char instance[FG_POLICY_CACHE_INSTANCE_MAX + 2];
	char sender[FG_POLICY_CACHE_SENDER_MAX + 2];

	memset(&cache, 0, sizeof(cache));
	memset(instance, 'i', sizeof(instance) - 1);
	instance[sizeof(instance) - 1] = '\0';
	memset(sender, 's', sizeof(sender) - 1);
	sender[sizeof(sender) - 1] = '\0';
	/* Too long to keep: not kept, and the answer before stays. */
	fg_policy_cache_put(&cache, "i1", "s", "forum", true);
	fg_policy_cache_put(&cache, instance, "s", "forum", false);
	ck_assert_int_eq(fg_policy_cache_get(&cache, instance, "s", "forum"),
			 -1);
	fg_policy_cache_put(&cache, "i1", sender, "forum", false);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", sender, "forum"),
			 -1);
	ck_assert_int_eq(fg_policy_cache_get(&cache, "i1", "s", "forum"), 1);
	/* One byte shorter fits. */
	instance[FG_POLICY_CACHE_INSTANCE_MAX] = '\0';
	fg_policy_cache_put(&cache, instance, "s", "forum", false);
	ck_assert_int_eq(fg_policy_cache_get(&cache, instance, "s", "forum"),
			 0);
}
END_TEST

START_TEST(test_cache_saves_lookups)
{
	static const char input[] =
		REQ("protocol_state=RCPT\nsender=carol@example.com\n"
		    "recipient=forum@lists.test\ninstance=M1\n")
		REQ("protocol_state=RCPT\nsender=carol@example.com\n"
		    "recipient=forum@lists.test\ninstance=M1\n")
		REQ("protocol_state=RCPT\nsender=carol@example.com\n"
		    "recipient=forum@lists.test\ninstance=M1\n")
		REQ("protocol_state=RCPT\nsender=carol@example.com\n"
		    "recipient=forum@lists.test\ninstance=M2\n");
	char *out;

	fixture_lookups = 0;
	out = replay(input, strlen(input), false, false);
	/* Three recipients of message M1 cost one lookup, M2 another. */
	ck_assert_uint_eq(fixture_lookups, 2);
	free(out);
}
END_TEST

START_TEST(test_store_async_address)
{
	redisAsyncContext *ac;
	const char *error;

	ck_assert_int_eq(fg_store_async_address_check("127.0.0.1:6379",
						      &error), 0);
	ck_assert_int_eq(fg_store_async_address_check("[::1]:6379", &error),
			 0);
	ck_assert_int_eq(fg_store_async_address_check("unix:/run/redis.sock",
						      &error), 0);
	ck_assert_int_eq(fg_store_async_address_check("localhost", &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid Redis address"));
	ck_assert_int_eq(fg_store_async_address_check("host:0", &error), -1);
	ck_assert_int_eq(fg_store_async_address_check("host:65536", &error),
			 -1);
	ck_assert_int_eq(fg_store_async_address_check(":6379", &error), -1);
	ck_assert_int_eq(fg_store_async_address_check("[::1:6379", &error), -1);
	ck_assert_int_eq(fg_store_async_address_check("unix:", &error), -1);
	ck_assert_int_eq(fg_store_async_address_check("unix:relative",
						      &error), -1);
	/* A missing socket fails at once, without an event loop. */
	ck_assert_int_eq(async_connect_plain("unix:/nonexistent/redis.sock",
					     &ac, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/redis.sock"));
	ck_assert_int_eq(async_connect_plain("nonsense", &ac, &error), -1);
}
END_TEST

static void member_never_called(void *context, int ret, const char *error)
{
	(void)context;
	(void)ret;
	(void)error;
	ck_abort_msg("callback of a command that was not queued");
}

static void member_answer(void *context, int ret, const char *error)
{
	int *ret_r = context;

	*ret_r = ret;
	ck_assert_ptr_nonnull(error);
}

static void list_facts_answer(void *context, int ret, const char *serial,
			      const char *mode,
			      struct fg_policy_list_facts *lf,
			      const char *error)
{
	int *ret_r = context;

	*ret_r = ret;
	ck_assert_ptr_null(serial);
	ck_assert_ptr_null(mode);
	ck_assert_ptr_null(lf);
	ck_assert_ptr_nonnull(error);
}

static void changes_answer(void *context, int ret, const char *list,
			   const char *error)
{
	int *calls = context;

	(*calls)++;
	ck_assert_int_eq(ret, -1);
	ck_assert_ptr_null(list);
	ck_assert_ptr_nonnull(error);
}

START_TEST(test_store_async_pending)
{
	int list_ret = 99, changes_calls = 0;
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
	} addr;
	struct sockaddr_in *sin = &addr.sin;
	socklen_t addr_len = sizeof(*sin);
	redisAsyncContext *ac;
	const char *error;
	char *address;
	int ret = 99, fd;

	/* A server that never answers: the connect goes through in the
	   kernel, commands queue, and freeing the context answers each
	   with an error. No event loop is needed for that. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&addr, 0, sizeof(addr));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, &addr.sa, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, &addr.sa, &addr_len), 0);
	address = fg_xasprintf("127.0.0.1:%u", ntohs(sin->sin_port));

	ck_assert_int_eq(async_connect_plain(address, &ac, &error), 0);
	ck_assert_int_eq(fg_store_async_is_member(ac, "bad}name", "a@b",
						  member_never_called, NULL,
						  &error), -1);
	ck_assert_int_eq(fg_store_async_is_member(ac, "forum", "a@b",
						  member_answer, &ret, &error),
			 0);
	ck_assert_int_eq(fg_store_async_list_facts(ac, "forum", "",
						   list_facts_answer,
						   &list_ret, &error), 0);
	ck_assert_int_eq(fg_store_async_list_facts(ac, "bad}name", "",
						   list_facts_answer,
						   &list_ret, &error), -1);
	ck_assert_int_eq(fg_store_async_subscribe_changes(ac, changes_answer,
							  &changes_calls,
							  &error), 0);
	ck_assert_int_eq(ret, 99);
	redisAsyncFree(ac);
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(list_ret, -1);
	/* the subscription ends with exactly one call */
	ck_assert_int_eq(changes_calls, 1);
	close(fd);
	free(address);
}
END_TEST

START_TEST(test_list_facts)
{
	struct fg_policy_list_facts *lf =
		fg_policy_list_facts_new(FG_ACCESS_MODERATED);
	struct fg_policy_facts f;
	char addr[32];

	fg_policy_list_facts_get(lf, "a@x", &f);
	ck_assert_int_eq(f.access, FG_ACCESS_MODERATED);
	ck_assert(!f.member && !f.allowed && f.count == 0);
	fg_policy_list_facts_add(lf, false, "a@x", 3);
	fg_policy_list_facts_add(lf, true, "mod@x", 5);
	fg_policy_list_facts_add(lf, true, "a@x", 3);	/* both sets */
	fg_policy_list_facts_add(lf, false, "", 0);	/* ignored */
	ck_assert_uint_eq(fg_policy_list_facts_count(lf), 2);
	fg_policy_list_facts_get(lf, "a@x", &f);
	ck_assert(f.member && f.allowed);
	fg_policy_list_facts_get(lf, "mod@x", &f);
	ck_assert(!f.member && f.allowed);
	/* exact bytes, as SISMEMBER: no case folding, no prefixes */
	fg_policy_list_facts_get(lf, "A@x", &f);
	ck_assert(!f.member && !f.allowed);
	fg_policy_list_facts_get(lf, "a@", &f);
	ck_assert(!f.member);
	fg_policy_list_facts_get(lf, "", &f);
	ck_assert(!f.member);
	/* many: the table grows (first at once, by reserve, then step
	   by step past what was reserved) and still finds each */
	fg_policy_list_facts_reserve(lf, 1000, 24);
	for (unsigned int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "m%u@example.org", i);
		fg_policy_list_facts_add(lf, i % 3 == 0, addr, strlen(addr));
	}
	ck_assert_uint_eq(fg_policy_list_facts_count(lf), 5002);
	for (unsigned int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "m%u@example.org", i);
		fg_policy_list_facts_get(lf, addr, &f);
		ck_assert(f.member == (i % 3 != 0));
		ck_assert(f.allowed == (i % 3 == 0));
	}
	fg_policy_list_facts_get(lf, "m5000@example.org", &f);
	ck_assert(!f.member && !f.allowed);
	fg_policy_list_facts_free(&lf);
	ck_assert_ptr_null(lf);
	fg_policy_list_facts_free(&lf);
}
END_TEST

START_TEST(test_facts_can_post)
{
	struct fg_policy_facts f = { .access = FG_ACCESS_MEMBERS };

	ck_assert(!fg_policy_facts_can_post(&f));
	f.member = true;
	ck_assert(fg_policy_facts_can_post(&f));
	f.member = false;
	f.allowed = true;
	ck_assert(fg_policy_facts_can_post(&f));
	f.allowed = false;
	f.access = FG_ACCESS_OPEN;
	ck_assert(fg_policy_facts_can_post(&f));
	f.access = FG_ACCESS_CLOSED;
	ck_assert(!fg_policy_facts_can_post(&f));
	f.access = FG_ACCESS_MODERATED;
	ck_assert(!fg_policy_facts_can_post(&f));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;
	SRunner *sr;
	int failed;

	golden_scan();
	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_basic);
	tcase_add_test(tc, test_parse_values);
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_parse_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("decide");
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_decisions);
	tcase_add_test(tc, test_address_canonical);
	tcase_add_test(tc, test_recipient_forms);
	tcase_add_test(tc, test_control_addresses);
	tcase_add_test(tc, test_bridge_clients);
	tcase_add_test(tc, test_txn);
	tcase_add_test(tc, test_end_of_message);
	tcase_add_test(tc, test_answer_bounded);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_cache_long_keys);
	tcase_add_test(tc, test_list_facts);
	tcase_add_test(tc, test_facts_can_post);
	tcase_add_test(tc, test_cache_saves_lookups);
	suite_add_tcase(s, tc);

	tc = tcase_create("golden");
	tcase_add_test(tc, test_golden_found);
	if (golden_count > 0)
		tcase_add_loop_test(tc, test_golden, 0, (int)golden_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("store-async");
	tcase_add_test(tc, test_store_async_address);
	tcase_add_test(tc, test_store_async_pending);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_strv_free(golden_names, golden_count);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
