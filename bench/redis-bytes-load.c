/*
 * NAME
 *	redis-bytes-load - queue records through fg-store, for bench/redis-bytes
 * SYNOPSIS
 *	redis-bytes-load SOCKET LIST STEP PER_DAY DAYS
 * DESCRIPTION
 *	Does one STEP of what the plugin, the webhook intake and forumgated
 *	do for PER_DAY records a day over DAYS days that end now (the
 *	store's clock is moved day by day, so the seen hashes fill one
 *	bucket a day as they do in use), through the real fg-store
 *	functions, with the default retention:
 *
 *	in	list mail queued (fg_store_inbound_add), then read and done
 *	in-maps	its Message-ID <-> post maps (fg_store_map_post)
 *	subject	every record starts a topic (fg_store_subject_set)
 *	out	forum posts queued (fg_store_outbound_add), read and done
 *	out-maps their Message-ID <-> post maps
 *
 *	Message-IDs are 48 characters (a common length: 36 of local part,
 *	a short domain), subjects 40, bodies 1500 bytes (they leave Redis
 *	with the stream entry, the seen hashes keep only the id).
 */
#include "fg-common.h"
#include "fg-record.h"
#include "fg-store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define DAY_MS (86400LL * 1000)

/* die - a failed store call ends the bench */
static void die(const char *what, const char *error)
{
	fprintf(stderr, "redis-bytes-load: %s: %s\n", what, error);
	exit(1);
}

/* drain - read and acknowledge what was queued, as forumgated does */
static void drain(struct fg_store *store, const char *list,
		  enum fg_queue queue)
{
	struct fg_entry *entry;
	const char *error;
	int ret;

	while ((ret = fg_store_queue_read(store, list, queue, "bench", 0,
					  &entry, &error)) > 0) {
		if (fg_store_queue_done(store, list, queue, entry->id,
					&error) < 0)
			die("done", error);
		fg_entry_free(&entry);
	}
	if (ret < 0)
		die("read", error);
}

/* step_one - one record of a step; n numbers it across the run */
static void step_one(struct fg_store *store, const char *list,
		     const char *step, long long n, long long now_ms)
{
	char msgid[64], subject[64], body[1501];
	const char *error;
	struct fg_post_ref ref = { .topic_id = 10000 + n, .post_number = 1,
				   .post_id = 500000 + n };

	snprintf(msgid, sizeof(msgid), "%036llx@example.org", 0xca1f00d0000ULL + (unsigned long long)n);
	snprintf(subject, sizeof(subject), "Re: a question about topic %013lld", n);
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	if (strcmp(step, "in") == 0) {
		char *refs[] = { NULL };
		struct fg_record rec = {
			.message_id = msgid, .subject = subject,
			.title = subject, .from_name = "Ann Example",
			.from_email = "ann@example.org",
			.date = "2026-11-23T10:00:00Z", .body = body,
			.trimmed = "", .references = refs, .reason = "",
		};
		if (fg_store_inbound_add(store, list, &rec, &error) != 1)
			die("inbound_add", error);
	} else if (strcmp(step, "out") == 0) {
		struct fg_post post = {
			.post_id = ref.post_id, .topic_id = ref.topic_id,
			.post_number = 2, .username = "ann", .name = "Ann",
			.topic_title = subject, .raw = body,
			.created_at = "2026-11-23T10:00:00.000Z",
		};
		if (fg_store_outbound_add(store, list, &post, &error) != 1)
			die("outbound_add", error);
	} else if (strcmp(step, "in-maps") == 0 ||
		   strcmp(step, "out-maps") == 0) {
		if (step[0] == 'o') {
			/* fg.LIST.TOPIC.POST.MAC@mail_domain */
			snprintf(msgid, sizeof(msgid),
				 "fg.forum.%lld.%lld.0123456789abcdef@lists.example.org",
				 ref.topic_id, ref.post_id);
			ref.post_number = 2;
			ref.parent_post_number = 1;
		}
		if (fg_store_map_post(store, list, msgid, &ref, NULL, &error) < 0)
			die("map_post", error);
	} else if (strcmp(step, "subject") == 0) {
		if (fg_store_subject_set(store, list, subject, &ref,
					 now_ms / 1000, &error) < 0)
			die("subject_set", error);
	} else {
		die(step, "unknown step");
	}
}

int main(int argc, char **argv)
{
	struct fg_store *store;
	const char *error;
	struct timeval tv;
	long long per_day, days, n = 0;

	if (argc != 6 || fg_parse_llong(argv[4], &per_day) < 0 ||
	    fg_parse_llong(argv[5], &days) < 0) {
		fprintf(stderr, "usage: redis-bytes-load SOCKET LIST STEP "
			"PER_DAY DAYS\n");
		return 64;
	}
	char *address = fg_xasprintf("unix:%s", argv[1]);
	if (fg_store_connect(address, 5000, &store, &error) < 0)
		die("connect", error);
	free(address);
	gettimeofday(&tv, NULL);
	long long now = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	for (long long d = days - 1; d >= 0; d--) {
		long long day_now = now - d * DAY_MS;
		fg_store_set_clock(store, day_now);
		for (long long i = 0; i < per_day; i++)
			step_one(store, argv[2], argv[3], n++, day_now);
		if (strcmp(argv[3], "in") == 0)
			drain(store, argv[2], FG_QUEUE_INBOUND);
		else if (strcmp(argv[3], "out") == 0)
			drain(store, argv[2], FG_QUEUE_OUTBOUND);
	}
	fg_store_free(&store);
	return 0;
}
