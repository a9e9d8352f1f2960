/*
 * NAME
 *	check_fanout - the fan-out's progress record and its copy
 * DESCRIPTION
 *	Runs fg-store-fanout.c against a real redis-server on a unix
 *	socket in a private directory, as check_store does: the
 *	recipients' snapshot, the recorded position and a resume after a
 *	crash (a new lease), the single-instance refusal, the fencing of
 *	every write, the finish. Then fg_listmsg_build(), the copy the
 *	fan-out sends. Skips (exit 77) when redis-server is not installed.
 */
#include "fg-common.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"
#include "fg-store.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check-redis.h"

static struct fg_store *store;

static void setup(void)
{
	const char *error;

	if (fg_store_connect(address, 2000, &store, &error) < 0)
		ck_abort_msg("connect: %s", error);
}

static void teardown(void)
{
	fg_store_free(&store);
}

/* redis_out - the first line redis-cli prints for args (shell-quoted) */
static void redis_out(const char *args, char *out, size_t size)
{
	char cmd[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", sock_path, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(out, (int)size, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	ck_assert_int_eq(pclose(f), 0);
}

/* redis_int - an integer answer of redis-cli */
static long long redis_int(const char *args)
{
	char out[128];

	redis_out(args, out, sizeof(out));
	return strtoll(out, NULL, 10);
}

/* subscribe - one subscriber with a state */
static void subscribe(const char *list, const char *addr, const char *state)
{
	const char *error;

	ck_assert_int_ge(fg_store_subscriber_set(store, list, addr, state,
						 &error), 0);
}

/* queue_post - a post in the list's distribution stream, read by the
   consumer (the entry id in id_r) */
static void queue_post(const char *list, const char *message_id,
		       const char *consumer, char *id_r, size_t id_size)
{
	struct fg_dist dist = {
		.message_id = message_id, .envelope_from = "a@example.org",
		.from_email = "a@example.org", .subject = "s", .chain = "x",
		.message = "Subject: s\r\n\r\nbody\r\n", .message_size = 21,
	};
	struct fg_entry *entry;
	const char *error;

	ck_assert_int_eq(fg_store_dist_add(store, list, &dist, &error), 1);
	ck_assert_int_eq(fg_store_queue_read(store, list, FG_QUEUE_DIST,
					     consumer, 0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), message_id);
	snprintf(id_r, id_size, "%s", entry->id);
	fg_entry_free(&entry);
}

/* take_lease - the fan-out lease for consumer, a new token */
static struct fg_lease take_lease(const char *list, const char *consumer)
{
	struct fg_lease lease = { consumer, 0 };
	const char *error;

	ck_assert_int_eq(fg_store_queue_lease(store, list, FG_QUEUE_DIST,
					      &lease, 10000, NULL, &error), 1);
	ck_assert_int_gt(lease.token, 0);
	return lease;
}

/* assert_rcpts - the snapshot from start is exactly want (NULL ends) */
static void assert_rcpts(const char *list, long long start,
			 const char *const *want)
{
	const char *error;
	char **rcpts;
	size_t n, n_want = 0;

	while (want[n_want] != NULL)
		n_want++;
	ck_assert_int_eq(fg_store_dist_recipients(store, list, start, 100,
						  &rcpts, &n, &error), 0);
	ck_assert_uint_eq(n, n_want);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(rcpts[i], want[i]);
	fg_strv_free(rcpts, n);
}

START_TEST(test_snapshot_record_resume)
{
	static const char *const all[] = {
		"a@example.org", "e@example.org", "f@example.org", NULL };
	struct fg_dist_progress p;
	struct fg_lease lease, again;
	char id[64], *entry_id;
	const char *error;

	subscribe("fo", "f@example.org", NULL);
	subscribe("fo", "a@example.org", NULL);
	subscribe("fo", "b@example.org", "nomail");
	subscribe("fo", "c@example.org", "digest");
	subscribe("fo", "d@example.org", "disabled:bounce:1765000000");
	subscribe("fo", "e@example.org", "enabled");
	lease = take_lease("fo", "d1");
	queue_post("fo", "m1@example.org", "d1", id, sizeof(id));

	ck_assert_int_eq(fg_store_dist_start(store, "fo", &lease, id,
					     "m1@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert_int_eq(p.total, 3);
	ck_assert_int_eq(p.next, 0);
	ck_assert(!p.resumed);
	/* only the enabled subscribers, in byte order */
	assert_rcpts("fo", 0, all);
	/* the first is sent; a subscriber added now is not in this post */
	ck_assert_int_eq(fg_store_dist_record(store, "fo", &lease, id, 1, 1,
					      0, &error), 1);
	subscribe("fo", "b0@example.org", NULL);
	assert_rcpts("fo", 0, all);

	/* the daemon dies; restarted, it takes the lease anew */
	again = take_lease("fo", "d1");
	ck_assert_int_gt(again.token, lease.token);
	/* the old token records nothing more */
	ck_assert_int_eq(fg_store_dist_record(store, "fo", &lease, id, 2, 1,
					      0, &error), 0);
	ck_assert_int_eq(fg_store_dist_start(store, "fo", &again, id,
					     "m1@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert(p.resumed);
	ck_assert_int_eq(p.total, 3);
	ck_assert_int_eq(p.next, 1);
	ck_assert_int_eq(p.sent, 1);
	assert_rcpts("fo", p.next, all + 1);
	/* one refused for good, one sent */
	ck_assert_int_eq(fg_store_dist_record(store, "fo", &again, id, 2, 0,
					      1, &error), 1);
	ck_assert_int_eq(fg_store_dist_record(store, "fo", &again, id, 3, 1,
					      0, &error), 1);
	/* a late record of an earlier position does not move it back */
	ck_assert_int_eq(fg_store_dist_record(store, "fo", &again, id, 1, 0,
					      0, &error), 1);
	ck_assert_int_eq(fg_store_dist_progress_get(store, "fo", &p,
						    &entry_id, &error), 1);
	ck_assert_str_eq(entry_id, id);
	free(entry_id);
	ck_assert_int_eq(p.next, 3);
	ck_assert_int_eq(p.sent, 2);
	ck_assert_int_eq(p.refused, 1);

	/* finished: the entry, the snapshot and the progress are gone */
	ck_assert_int_eq(fg_store_dist_finish(store, "fo", &lease, id, "sent",
					      &error), 0);
	ck_assert_int_eq(fg_store_dist_finish(store, "fo", &again, id, "sent",
					      &error), 1);
	ck_assert_int_eq(redis_int("XLEN 'fg:{fo}:dist'"), 0);
	ck_assert_int_eq(redis_int("EXISTS 'fg:{fo}:dist-rcpt'"), 0);
	ck_assert_int_eq(redis_int("EXISTS 'fg:{fo}:dist-progress'"), 0);
	ck_assert_int_eq(redis_int("XPENDING 'fg:{fo}:dist' forumgated"), 0);
	ck_assert_int_eq(fg_store_dist_progress_get(store, "fo", &p,
						    &entry_id, &error), 0);
	ck_assert_int_eq(redis_int("HGET 'fg:{fo}:dist-stats' posts"), 1);
	ck_assert_int_eq(redis_int("HGET 'fg:{fo}:dist-stats' sent"), 2);
	ck_assert_int_eq(redis_int("HGET 'fg:{fo}:dist-stats' refused"), 1);

	/* single-instance: the same Message-ID in another entry */
	ck_assert_int_eq(fg_store_dist_start(store, "fo", &again, "99-1",
					     "m1@example.org", &p, &error),
			 FG_DIST_START_DUPLICATE);
	ck_assert_int_eq(fg_store_dist_finish(store, "fo", &again, "99-1",
					      "duplicate", &error), 1);
	ck_assert_int_eq(redis_int("HGET 'fg:{fo}:dist-stats' duplicates"),
			 1);
	/* ... but another Message-ID goes, to the subscribers of now */
	ck_assert_int_eq(fg_store_dist_start(store, "fo", &again, "99-2",
					     "m2@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert_int_eq(p.total, 4);
}
END_TEST

START_TEST(test_fenced)
{
	struct fg_lease holder, stale = { "other", 1 };
	struct fg_dist_progress p;
	char id[64];
	const char *error;

	subscribe("ff", "a@example.org", NULL);
	holder = take_lease("ff", "d1");
	queue_post("ff", "f1@example.org", "d1", id, sizeof(id));
	/* a daemon without the lease starts, records, finishes nothing */
	ck_assert_int_eq(fg_store_dist_start(store, "ff", &stale, id,
					     "f1@example.org", &p, &error),
			 FG_DIST_START_LOST);
	ck_assert_int_eq(redis_int("EXISTS 'fg:{ff}:dist-progress'"), 0);
	ck_assert_int_eq(redis_int("EXISTS 'fg:{ff}:dist-done'"), 0);
	ck_assert_int_eq(fg_store_dist_start(store, "ff", &holder, id,
					     "f1@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert_int_eq(fg_store_dist_record(store, "ff", &stale, id, 1, 1,
					      0, &error), 0);
	ck_assert_int_eq(fg_store_dist_finish(store, "ff", &stale, id, "sent",
					      &error), 0);
	ck_assert_int_eq(redis_int("XLEN 'fg:{ff}:dist'"), 1);
	ck_assert_int_eq(redis_int("HGET 'fg:{ff}:dist-progress' next"), 0);
	/* a record for another entry than the one in progress: refused */
	ck_assert_int_eq(fg_store_dist_record(store, "ff", &holder, "1-1", 1,
					      1, 0, &error), 0);
	ck_assert_int_eq(redis_int("HGET 'fg:{ff}:dist-progress' next"), 0);
}
END_TEST

START_TEST(test_large_snapshot)
{
	enum { N = 10000 };
	char **addrs = fg_xcalloc(N, sizeof(char *));
	struct fg_dist_progress p;
	struct fg_lease lease;
	char id[64], **rcpts;
	const char *error;
	long long added;
	size_t n;

	for (size_t i = 0; i < N; i++)
		addrs[i] = fg_xasprintf("user%05zu@example.org", i);
	ck_assert_int_eq(fg_store_subscribers_import(store, "fl", addrs, N,
						     &added, &error), 0);
	ck_assert_int_eq(added, N);
	subscribe("fl", "user00007@example.org", "nomail");
	lease = take_lease("fl", "d1");
	queue_post("fl", "big@example.org", "d1", id, sizeof(id));
	ck_assert_int_eq(fg_store_dist_start(store, "fl", &lease, id,
					     "big@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert_int_eq(p.total, N - 1);
	ck_assert_int_eq(redis_int("LLEN 'fg:{fl}:dist-rcpt'"), N - 1);
	ck_assert_int_eq(fg_store_dist_recipients(store, "fl", N - 11, 256,
						  &rcpts, &n, &error), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_str_eq(rcpts[9], "user09999@example.org");
	fg_strv_free(rcpts, n);
	fg_strv_free(addrs, N);
}
END_TEST

static const char build_in[] =
	"Return-Path: <alice@example.org>\r\n"
	"Delivered-To: ml@lists.example.org\r\n"
	"Received: from mx by lists.example.org; Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	"From: Alice <alice@example.org>\r\n"
	"To: ml@lists.example.org\r\n"
	"Subject: Re: hello\r\n"
	"Message-ID: <b1@example.org>\r\n"
	"List-Id: <other.example.net>\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"the text\r\n";

START_TEST(test_build)
{
	struct fg_listmsg_list lml = {
		.name = "ml", .address = "ml@lists.example.org",
		.unsubscribe_base = "https://lists.example.org/u",
	};
	struct fg_listmsg_build set = {
		.list = &lml, .tag = true,
		.footer = "--\nml list: $list_address\n",
	};
	char *copy, *lines;
	const char *error;
	size_t size;

	ck_assert_int_eq(fg_listmsg_build(build_in, sizeof(build_in) - 1,
					  &set, &copy, &size, &error), 0);
	ck_assert_uint_eq(strlen(copy), size);
	ck_assert_ptr_null(strstr(copy, "Return-Path:"));
	ck_assert_ptr_null(strstr(copy, "Delivered-To:"));
	ck_assert_ptr_nonnull(strstr(copy, "Received: from mx"));
	ck_assert_ptr_nonnull(strstr(copy, "\r\nSubject: [ml] Re: hello\r\n"));
	ck_assert_ptr_nonnull(strstr(copy, "<ml.lists.example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(copy, "\r\nList-Id: "));
	ck_assert_ptr_null(strstr(copy, "other.example.net"));
	ck_assert_ptr_nonnull(strstr(copy, "List-Post: <mailto:ml@lists.example.org>"));
	ck_assert_ptr_nonnull(strstr(copy, "List-Unsubscribe: <mailto:ml-leave@lists.example.org>"));
	ck_assert_ptr_nonnull(strstr(copy, "X-BeenThere: ml@lists.example.org"));
	ck_assert_ptr_nonnull(strstr(copy, "Message-ID: <b1@example.org>"));
	ck_assert_ptr_nonnull(strstr(copy, "the text\r\n--\r\nml list: ml@lists.example.org\r\n"));
	/* every line ends in CR LF */
	for (const char *p = strchr(copy, '\n'); p != NULL;
	     p = strchr(p + 1, '\n'))
		ck_assert_int_eq(p[-1], '\r');
	free(copy);

	/* personal unsubscribe: the shared copy has none, each recipient's
	   lines go in front */
	set.tag = false;
	set.footer = NULL;
	set.personal_unsubscribe = true;
	ck_assert_int_eq(fg_listmsg_build(build_in, sizeof(build_in) - 1,
					  &set, &copy, &size, &error), 0);
	ck_assert_ptr_null(strstr(copy, "List-Unsubscribe"));
	ck_assert_ptr_nonnull(strstr(copy, "\r\nSubject: Re: hello\r\n"));
	ck_assert_int_eq(fg_listmsg_unsub_lines(&lml, "s3cret",
						"bob@example.net",
						4102444800LL, &lines, &error),
			 0);
	ck_assert_ptr_nonnull(strstr(lines, "List-Unsubscribe: <https://lists.example.org/u/u1.ml."));
	ck_assert_ptr_nonnull(strstr(lines, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	free(lines);
	free(copy);

	/* the DMARC rewrite of every copy */
	set.dmarc_always = true;
	ck_assert_int_eq(fg_listmsg_build(build_in, sizeof(build_in) - 1,
					  &set, &copy, &size, &error), 0);
	ck_assert_ptr_nonnull(strstr(copy, "\r\nFrom: Alice via ml <ml@lists.example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(copy, "\r\nReply-To: Alice <alice@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(copy, "\r\nX-Original-From: Alice <alice@example.org>\r\n"));
	free(copy);
	set.dmarc_always = false;

	/* not a message, or a list that cannot be in a header: refused */
	ck_assert_int_eq(fg_listmsg_build("", 0, &set, &copy, &size, &error),
			 -1);
	ck_assert_ptr_null(copy);
	lml.address = "ml@lists.example.org\r\nX-Evil: 1";
	ck_assert_int_eq(fg_listmsg_build(build_in, sizeof(build_in) - 1,
					  &set, &copy, &size, &error), -1);
	ck_assert_ptr_null(copy);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fanout");
	TCase *tc = tcase_create("progress");
	TCase *tb = tcase_create("build");
	SRunner *sr;
	int failed;

	if (system("command -v redis-server >/dev/null") != 0) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	fg_mail_init();
	redis_start();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_snapshot_record_resume);
	tcase_add_test(tc, test_fenced);
	tcase_add_test(tc, test_large_snapshot);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(tb, test_build);
	suite_add_tcase(s, tb);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_stop();
	fg_mail_deinit();
	return failed == 0 ? 0 : 1;
}
