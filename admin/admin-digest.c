/*
 * NAME
 *	admin-digest - the digest command of forumgate(8)
 * SYNOPSIS
 *	forumgate digest LIST [--send-now]
 * DESCRIPTION
 *	A list-mode list's digest (fg-store-digest.h): the posts and
 *	bytes waiting for the next issue, the last issue's numbers, when
 *	it went out, and an issue being sent with its position. With
 *	--send-now the next issue is asked for at once: the fan-out
 *	daemon that holds the list sends it at its next look (within a
 *	few seconds), whatever digest_hour and digest_size_max say.
 * DIAGNOSTICS
 *	Exit status as forumgate(8): 64 usage, 69 no such list or not a
 *	list-mode list, 75 Redis failed.
 */
#include "forumgate.h"
#include "fg-common.h"
#include "fg-store-digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* digest_time - a unix time for people, UTC */
static void digest_time(long long t, char *buf, size_t size)
{
	time_t when = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&when, &tm) == NULL)
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* print_digest - see forumgate.h */
void print_digest(struct fg_store *store, const char *list)
{
	struct fg_digest_status st;
	const char *error;

	if (fg_store_digest_status(store, list, &st, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("digest: %lld post(s) waiting, %lld bytes", st.posts, st.size);
	if (st.sending)
		printf("; Vol %lld, Issue %lld at recipient %lld of %lld",
		       st.current.volume, st.current.issue, st.current.next,
		       st.current.total);
	printf("\n");
}

/* cmd_digest - see forumgate.h */
int cmd_digest(struct fg_store *store, int argc, char **argv)
{
	struct fg_digest_status st;
	struct fg_list *def;
	const char *error;
	char when[64];
	bool send_now = false;

	if (argc == 2 && strcmp(argv[1], "--send-now") == 0)
		send_now = true;
	else if (argc != 1)
		usage();
	def = need_list(store, argv[0]);
	if (def->mode != FG_LIST_MODE_LIST) {
		fg_list_free(&def);
		die(EX_UNAVAILABLE, "digest: list %s is not in list mode",
		    argv[0]);
	}
	fg_list_free(&def);
	if (fg_store_digest_status(store, argv[0], &st, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (send_now) {
		if (st.posts == 0 && !st.sending) {
			printf("digest %s: no post waiting, nothing to send\n",
			       argv[0]);
			return EX_OK;
		}
		if (fg_store_digest_send_now(store, argv[0], &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		printf("digest %s: %lld post(s) asked to go out now\n",
		       argv[0], st.posts);
		return EX_OK;
	}
	printf("list: %s\n", argv[0]);
	printf("waiting: %lld post(s), %lld bytes\n", st.posts, st.size);
	if (st.volume > 0)
		printf("last issue: Vol %lld, Issue %lld\n", st.volume,
		       st.issue);
	else
		printf("last issue: none\n");
	digest_time(st.last_sent, when, sizeof(when));
	printf("last sent: %s\n", st.issues > 0 ? when : "never");
	printf("issues sent: %lld\n", st.issues);
	if (st.send_now)
		printf("send now: asked\n");
	if (st.sending)
		printf("sending: Vol %lld, Issue %lld, %lld post(s), at "
		       "recipient %lld of %lld (%lld sent, %lld refused)\n",
		       st.current.volume, st.current.issue, st.current.posts,
		       st.current.next, st.current.total, st.current.sent,
		       st.current.refused);
	return EX_OK;
}
