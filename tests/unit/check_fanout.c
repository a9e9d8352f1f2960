/*
 * NAME
 *	check_fanout - the fan-out's progress record and its copy
 * DESCRIPTION
 *	Runs fg-store-fanout.c against a real redis-server on a unix
 *	socket in a private directory, as check_store does: the
 *	recipients' snapshot, the recorded position and a resume after a
 *	crash (a new lease), the single-instance refusal, the fencing of
 *	every write, the finish. Then fg_listmsg_build(), the copy the
 *	fan-out sends, and fg-smtp-pipe against a scripted SMTP server in
 *	a child process (pipelined commands, refusals, a dropped
 *	connection, dot-stuffing). Skips (exit 77) when redis-server is not
 *	installed.
 */
#include "fg-common.h"
#include "fg-listmsg.h"
#include "fg-mailparse.h"
#include "fg-smtp.h"
#include "fg-smtp-pipe.h"
#include "fg-store.h"

#include <netinet/in.h>
#include <sys/socket.h>

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

/* the record in two halves: sent, other work, its reply read */
START_TEST(test_record_two_halves)
{
	struct fg_dist_progress p;
	struct fg_lease lease, stale;
	char id[64], *entry_id;
	const char *error;

	subscribe("fh", "a@example.org", NULL);
	subscribe("fh", "b@example.org", NULL);
	lease = take_lease("fh", "d1");
	queue_post("fh", "m3@example.org", "d1", id, sizeof(id));
	ck_assert_int_eq(fg_store_dist_start(store, "fh", &lease, id,
					     "m3@example.org", &p, &error),
			 FG_DIST_START_GO);
	ck_assert_int_eq(fg_store_dist_record_send(store, "fh", &lease, id, 1,
						   1, 0, &error), 0);
	/* Redis runs it whether or not the reply is read yet */
	ck_assert_int_eq(redis_int("HGET 'fg:{fh}:dist-progress' next"), 1);
	ck_assert_int_eq(fg_store_dist_record_reply(store, "fh", &error), 1);
	/* the connection is in step: the next command gets its own reply */
	ck_assert_int_eq(fg_store_dist_progress_get(store, "fh", &p,
						    &entry_id, &error), 1);
	free(entry_id);
	ck_assert_int_eq(p.next, 1);
	ck_assert_int_eq(p.sent, 1);
	/* the daemon restarted with a new token: the old one is refused */
	stale = lease;
	lease = take_lease("fh", "d1");
	ck_assert_int_eq(fg_store_dist_record_send(store, "fh", &stale, id, 2,
						   1, 0, &error), 0);
	ck_assert_int_eq(fg_store_dist_record_reply(store, "fh", &error), 0);
	ck_assert_int_eq(redis_int("HGET 'fg:{fh}:dist-progress' next"), 1);
	ck_assert_int_eq(fg_store_dist_record(store, "fh", &lease, id, 2, 1, 0,
					      &error), 1);
	ck_assert_int_eq(redis_int("HGET 'fg:{fh}:dist-progress' next"), 2);
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

START_TEST(test_dead_letter_back_to_dist)
{
	struct fg_lease lease;
	struct fg_entry *entry;
	const char *error;
	long long moved, len;
	char id[64];

	lease = take_lease("fd", "d1");
	queue_post("fd", "dead@example.org", "d1", id, sizeof(id));
	ck_assert_int_eq(fg_store_queue_read(store, "fd", FG_QUEUE_DIST, "d1",
					     0, &entry, &error), 1);
	ck_assert_int_eq(fg_store_queue_bury(store, "fd", FG_QUEUE_DIST,
					     &lease, entry, "cannot build",
					     NULL, &error), 1);
	fg_entry_free(&entry);
	ck_assert_int_eq(redis_int("XLEN 'fg:{fd}:dist'"), 0);
	ck_assert_int_eq(redis_int("XLEN 'fg:{fd}:dead'"), 1);
	/* replayed: back at the end of the distribution stream, never
	   into the forum's queue */
	ck_assert_int_eq(fg_store_dead_replay(store, "fd", NULL, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 1);
	ck_assert_int_eq(fg_store_queue_len(store, "fd", FG_QUEUE_DIST, &len,
					    &error), 0);
	ck_assert_int_eq(len, 1);
	ck_assert_int_eq(redis_int("XLEN 'fg:{fd}:in'"), 0);
	ck_assert_int_eq(fg_store_queue_read(store, "fd", FG_QUEUE_DIST, "d1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "dead@example.org");
	ck_assert_ptr_null(fg_entry_get(entry, "reason"));
	fg_entry_free(&entry);
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


/* ---- fg-smtp-pipe against a scripted relay ---- */

static char relay_log[300];

/* relay_line - one line from fd into line (without CR LF); the number
   of complete lines that were in the same read in *batch_r; -1 EOF */
static int relay_line(int fd, char *buf, size_t *len, char *line,
		      size_t size, int *batch_r)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - buf), used = n + 1;

			if (n > 0 && buf[n - 1] == '\r')
				n--;
			if (n >= size)
				n = size - 1;
			memcpy(line, buf, n);
			line[n] = '\0';
			memmove(buf, buf + used, *len - used);
			*len -= used;
			return 0;
		}
		ssize_t r = read(fd, buf + *len, 8192 - *len);
		if (r <= 0)
			return -1;
		*len += (size_t)r;
		*batch_r = 0;
		for (size_t i = 0; i < *len; i++)
			*batch_r += buf[i] == '\n';
	}
}

/* relay_say - write a reply */
static void relay_say(int fd, const char *text)
{
	if (write(fd, text, strlen(text)) < 0)
		_exit(2);
}

/* relay_serve - the scripted relay: one connection after another;
   RCPT refuse@ 550, defer@ 451, close@ drops the connection; each
   message and each read of several commands is logged */
static void relay_serve(int lfd, bool pipelining)
{
	FILE *log = fopen(relay_log, "a");

	setvbuf(log, NULL, _IONBF, 0);
	for (;;) {
		int fd = accept(lfd, NULL, NULL), batch = 0, rcpts = 0;
		char buf[8192], line[1100], from[1100] = "", to[1100] = "";
		size_t len = 0;

		if (fd < 0)
			_exit(0);
		relay_say(fd, "220 relay.test ESMTP\r\n");
		while (relay_line(fd, buf, &len, line, sizeof(line),
				  &batch) == 0) {
			if (batch >= 3)
				fprintf(log, "BATCH %d\n", batch);
			if (strncasecmp(line, "EHLO ", 5) == 0)
				relay_say(fd, pipelining ?
					  "250-relay.test\r\n250-PIPELINING\r\n"
					  "250 8BITMIME\r\n" :
					  "250-relay.test\r\n250 8BITMIME\r\n");
			else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
				snprintf(from, sizeof(from), "%s", line + 10);
				rcpts = 0;
				relay_say(fd, "250 2.1.0 Ok\r\n");
			} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
				if (strstr(line, "close@") != NULL)
					break;
				if (strstr(line, "refuse@") != NULL)
					relay_say(fd, "550 5.1.1 <refuse@x.test>: "
						  "Recipient address rejected\r\n");
				else if (strstr(line, "defer@") != NULL)
					relay_say(fd, "451 4.2.0 later\r\n");
				else {
					snprintf(to, sizeof(to), "%s", line + 8);
					rcpts++;
					relay_say(fd, "250 2.1.5 Ok\r\n");
				}
			} else if (strcasecmp(line, "DATA") == 0) {
				if (rcpts == 0) {
					relay_say(fd, "554 5.5.1 no valid "
						  "recipients\r\n");
					continue;
				}
				relay_say(fd, "354 go ahead\r\n");
				fprintf(log, "MSG %s %s\n", from, to);
				while (relay_line(fd, buf, &len, line,
						  sizeof(line), &batch) == 0 &&
				       strcmp(line, ".") != 0)
					fprintf(log, "| %s\n", line);
				relay_say(fd, "250 2.0.0 Ok: queued\r\n");
			} else if (strcasecmp(line, "RSET") == 0) {
				rcpts = 0;
				relay_say(fd, "250 2.0.0 Ok\r\n");
			} else if (strcasecmp(line, "QUIT") == 0) {
				relay_say(fd, "221 2.0.0 Bye\r\n");
				break;
			} else
				relay_say(fd, "502 5.5.2 what\r\n");
		}
		close(fd);
	}
}

/* relay_start - the scripted relay in a child; its port */
static int relay_start(bool pipelining, pid_t *pid_r)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
	} u = { .sin = { .sin_family = AF_INET } };
	socklen_t slen = sizeof(u.sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	u.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, &u.sa, sizeof(u.sin)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, &u.sa, &slen), 0);
	snprintf(relay_log, sizeof(relay_log), "%s/relay-%d.log", tmpdir,
		 pipelining);
	*pid_r = fork();
	if (*pid_r == 0) {
		/* not the test's handlers: stopped with SIGKILL */
		signal(SIGTERM, SIG_DFL);
		relay_serve(lfd, pipelining);
		_exit(0);
	}
	close(lfd);
	return ntohs(u.sin.sin_port);
}

/* relay_log_text - what the relay logged */
static char *relay_log_text(void)
{
	char *text = fg_xcalloc(1, 65536);
	FILE *f = fopen(relay_log, "r");

	if (f != NULL) {
		size_t n = fread(text, 1, 65535, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

START_TEST(test_pipe_usable)
{
	ck_assert(fg_smtp_pipe_usable("smtp://127.0.0.1:25"));
	ck_assert(fg_smtp_pipe_usable("smtp://127.0.0.1:25/helo.test"));
	ck_assert(fg_smtp_pipe_usable("localhost:2525"));
	ck_assert(fg_smtp_pipe_usable("smtp://[::1]:25"));
	ck_assert(!fg_smtp_pipe_usable("smtps://127.0.0.1:465"));
	ck_assert(!fg_smtp_pipe_usable("smtp://user:pw@127.0.0.1:587"));
	ck_assert(!fg_smtp_pipe_usable(""));
	ck_assert(!fg_smtp_pipe_usable("smtp://"));
}
END_TEST

static const char pipe_msg[] =
	"Subject: pipelined\r\n\r\n.a line with a dot\r\nbare LF\nend\r\n";

/* pipe_send - pipe_msg from sender to rcpt */
static int pipe_send(struct fg_smtp_pipe *pipe, const char *sender,
		     const char *rcpt, const char **reply_r)
{
	return fg_smtp_pipe_send(pipe, sender, rcpt, pipe_msg,
				 sizeof(pipe_msg) - 1, reply_r);
}

/* pipe_open - a scripted relay and a client of it (prefix: "smtp://" or
   "" before host:port; the relay's address in relay, 64 bytes) */
static struct fg_smtp_pipe *pipe_open(bool pipelining, const char *prefix,
				      const char *helo, char *relay,
				      pid_t *pid_r)
{
	struct fg_smtp_pipe *pipe;
	const char *error;
	int port = relay_start(pipelining, pid_r);

	snprintf(relay, 64, "%s127.0.0.1:%d", prefix, port);
	ck_assert_int_eq(fg_smtp_pipe_init(relay, helo, 5000, &pipe, &error),
			 0);
	return pipe;
}

/* pipe_close - QUIT, the relay stopped; what it logged (caller frees) */
static char *pipe_close(struct fg_smtp_pipe **pipe, pid_t pid)
{
	fg_smtp_pipe_deinit(pipe);
	ck_assert_ptr_null(*pipe);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return relay_log_text();
}

START_TEST(test_pipe_transactions)
{
	const char *reply;
	char relay[64], *log;
	pid_t pid;
	struct fg_smtp_pipe *pipe = pipe_open(true, "smtp://", "client.test",
					      relay, &pid);

	ck_assert_int_eq(pipe_send(pipe, "b+1@l.test", "ok@x.test", &reply),
			 FG_SMTP_OK);
	ck_assert(fg_smtp_pipe_pipelining(pipe));
	ck_assert_ptr_nonnull(strstr(reply, "250 2.0.0"));
	/* refused for good: the deciding answer is the RCPT's */
	ck_assert_int_eq(pipe_send(pipe, "b+2@l.test", "refuse@x.test", &reply),
			 FG_SMTP_PERMANENT);
	ck_assert_ptr_nonnull(strstr(reply, "550 5.1.1"));
	ck_assert_int_eq(pipe_send(pipe, "b+3@l.test", "defer@x.test", &reply),
			 FG_SMTP_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(reply, "451 4.2.0"));
	/* the connection goes on after refusals */
	ck_assert_int_eq(pipe_send(pipe, "", "ok2@x.test", &reply),
			 FG_SMTP_OK);
	/* dropped: transient; the next send connects again */
	ck_assert_int_eq(pipe_send(pipe, "b+5@l.test", "close@x.test", &reply),
			 FG_SMTP_TRANSIENT);
	ck_assert_int_eq(pipe_send(pipe, "b+6@l.test", "ok3@x.test", &reply),
			 FG_SMTP_OK);
	/* bad addresses never reach the relay */
	ck_assert_int_eq(pipe_send(pipe, "b@l.test", "a>\r\nDATA", &reply),
			 FG_SMTP_PERMANENT);
	log = pipe_close(&pipe, pid);
	ck_assert_ptr_nonnull(strstr(log, "MSG <b+1@l.test> <ok@x.test>\n"
				     "| Subject: pipelined\n| \n"
				     "| ..a line with a dot\n| bare LF\n"
				     "| end\n"));
	ck_assert_ptr_nonnull(strstr(log, "MSG <> <ok2@x.test>\n"));
	ck_assert_ptr_nonnull(strstr(log, "MSG <b+6@l.test> <ok3@x.test>\n"));
	ck_assert_ptr_null(strstr(log, "refuse@x.test>\n|"));
	ck_assert_ptr_null(strstr(log, "defer@"));
	/* MAIL, RCPT and DATA came in one write */
	ck_assert_ptr_nonnull(strstr(log, "BATCH 3\n"));
	free(log);
}
END_TEST

/* the data hook's calls: what it saw, and a recipient it gives up */
struct hook_calls {
	int calls;
	const char *give_up;		/* the recipient it refuses */
	const char *rcpt;		/* the recipient being sent */
};

/* hook_count - count the call; refuse give_up */
static int hook_count(void *context, const char **error_r)
{
	struct hook_calls *h = context;

	h->calls++;
	if (h->give_up != NULL && strcmp(h->rcpt, h->give_up) == 0) {
		*error_r = "the record before failed";
		return -1;
	}
	return 0;
}

START_TEST(test_pipe_data_hook)
{
	struct hook_calls h = { 0, "stop@x.test", NULL };
	const char *reply;
	char relay[64], *log;
	pid_t pid;
	struct fg_smtp_pipe *pipe = pipe_open(true, "smtp://", NULL, relay,
					      &pid);

	fg_smtp_pipe_set_data_hook(pipe, hook_count, &h);
	h.rcpt = "ok@x.test";
	ck_assert_int_eq(pipe_send(pipe, "b+1@l.test", h.rcpt, &reply),
			 FG_SMTP_OK);
	ck_assert_int_eq(h.calls, 1);
	/* refused before DATA: the hook is not called */
	h.rcpt = "refuse@x.test";
	ck_assert_int_eq(pipe_send(pipe, "b+2@l.test", h.rcpt, &reply),
			 FG_SMTP_PERMANENT);
	ck_assert_int_eq(h.calls, 1);
	/* given up after 354: no final dot, nothing delivered */
	h.rcpt = "stop@x.test";
	ck_assert_int_eq(pipe_send(pipe, "b+3@l.test", h.rcpt, &reply),
			 FG_SMTP_ABORTED);
	ck_assert_int_eq(h.calls, 2);
	ck_assert_str_eq(reply, "not sent: the record before failed");
	/* the next transaction connects again */
	h.rcpt = "ok2@x.test";
	ck_assert_int_eq(pipe_send(pipe, "b+4@l.test", h.rcpt, &reply),
			 FG_SMTP_OK);
	ck_assert_int_eq(h.calls, 3);
	log = pipe_close(&pipe, pid);
	ck_assert_ptr_nonnull(strstr(log, "MSG <b+1@l.test> <ok@x.test>\n"
				     "| Subject: pipelined\n"));
	ck_assert_ptr_nonnull(strstr(log, "MSG <b+3@l.test> <stop@x.test>\n"));
	ck_assert_ptr_null(strstr(log, "MSG <b+3@l.test> <stop@x.test>\n|"));
	ck_assert_ptr_nonnull(strstr(log, "MSG <b+4@l.test> <ok2@x.test>\n"
				     "| Subject: pipelined\n"));
	free(log);
}
END_TEST

START_TEST(test_pipe_without_pipelining)
{
	const char *error, *reply;
	char relay[64], *log;
	pid_t pid;
	struct fg_smtp_pipe *pipe = pipe_open(false, "", NULL, relay, &pid);

	ck_assert_int_eq(pipe_send(pipe, "b@l.test", "refuse@x.test", &reply),
			 FG_SMTP_PERMANENT);
	ck_assert_int_eq(pipe_send(pipe, "b@l.test", "ok@x.test", &reply),
			 FG_SMTP_OK);
	ck_assert(!fg_smtp_pipe_pipelining(pipe));
	log = pipe_close(&pipe, pid);
	ck_assert_ptr_nonnull(strstr(log, "MSG <b@l.test> <ok@x.test>\n"));
	/* one command at a time */
	ck_assert_ptr_null(strstr(log, "BATCH"));
	free(log);
	/* nobody listens: transient */
	ck_assert_int_eq(fg_smtp_pipe_init(relay, NULL, 2000, &pipe, &error),
			 0);
	ck_assert_int_eq(pipe_send(pipe, "b@l.test", "ok@x.test", &reply),
			 FG_SMTP_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(reply, "cannot connect"));
	fg_smtp_pipe_deinit(&pipe);
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
	tcase_add_test(tc, test_record_two_halves);
	tcase_add_test(tc, test_fenced);
	tcase_add_test(tc, test_dead_letter_back_to_dist);
	tcase_add_test(tc, test_large_snapshot);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(tb, test_build);
	tcase_add_test(tb, test_pipe_usable);
	tcase_add_test(tb, test_pipe_transactions);
	tcase_add_test(tb, test_pipe_data_hook);
	tcase_add_test(tb, test_pipe_without_pipelining);
	suite_add_tcase(s, tb);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_stop();
	fg_mail_deinit();
	return failed == 0 ? 0 : 1;
}
