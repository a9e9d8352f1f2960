/*
 * NAME
 *	admin-held - the moderation commands of forumgate(8)
 * SYNOPSIS
 *	forumgate held LIST [--json]
 *	forumgate approve LIST ID
 *	forumgate reject LIST ID [--reason TEXT]
 * DESCRIPTION
 *	The moderation queue of a list-mode list (fg-held.h). held lists
 *	the held posts, oldest first: id, state, when held, whether the
 *	moderators were told, sender, subject and why the chain held it
 *	(with --json an array of objects with those fields). approve
 *	queues the post for the forum and the subscribers at once, as
 *	an accepted post (fg_held_release()). reject marks it rejected
 *	with the reason; forumgated mails the sender the notice and then
 *	removes it (this command has no SMTP relay).
 * DIAGNOSTICS
 *	Exit status as forumgate(8): 65 no such held post, or one decided
 *	already; 69 no such list; 75 Redis failed.
 */
#include "forumgate.h"
#include "fg-attach.h"
#include "fg-common.h"
#include "fg-held.h"
#include "fg-mailparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <jansson.h>

/* Longest reason a rejection carries. */
#define REASON_MAX 300

/* held_time - a held post's time as ISO 8601 UTC */
static void held_time(long long t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* cmd_held_list - the held posts of a list */
static int cmd_held_list(struct fg_store *store, const char *list, bool json)
{
	json_t *array = json ? json_array() : NULL;
	const char *error;
	long long *ids;
	size_t n;

	if (fg_store_held_ids(store, list, 0, 0, &ids, &n, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (!json && n == 0)
		printf("list %s: no held posts\n", list);
	for (size_t i = 0; i < n; i++) {
		struct fg_held *h;
		char when[32];
		int ret = fg_store_held_get(store, list, ids[i], &h, &error);

		if (ret < 0)
			die(EX_TEMPFAIL, "%s", error);
		if (ret == 0)
			continue;	/* decided meanwhile */
		held_time(h->received, when);
		if (json) {
			json_array_append_new(array, json_pack(
				"{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:s, "
				"s:s, s:s}",
				"id", (json_int_t)h->id, "state", h->state,
				"received", when, "received_unix",
				(json_int_t)h->received, "announced",
				(json_int_t)h->announced, "from", h->from,
				"subject", h->subject, "message_id",
				h->message_id, "reason", h->reason,
				"reject_reason", h->reject_reason));
		} else {
			printf("%lld %s %s announced=%lld from=<%s> "
			       "subject=\"%s\" reason=\"%s\"\n", h->id,
			       h->state, when, h->announced, h->from,
			       h->subject, h->reason);
		}
		fg_held_free(&h);
	}
	free(ids);
	if (json) {
		char *text = json_dumps(array, JSON_INDENT(2));

		printf("%s\n", text);
		free(text);
		json_decref(array);
	}
	return EX_OK;
}

/* need_held - held post id of list in state held, or exit 65 */
static struct fg_held *need_held(struct fg_store *store, const char *list,
				 const char *id_text)
{
	struct fg_held *h;
	const char *error;
	long long id;
	int ret;

	if (fg_parse_llong(id_text, &id) < 0 || id <= 0)
		die(EX_USAGE, "held post id must be a number, not '%s'",
		    id_text);
	ret = fg_store_held_get(store, list, id, &h, &error);
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (ret == 0)
		die(EX_DATAERR, "list %s: no held post %lld", list, id);
	if (strcmp(h->state, FG_HELD_STATE_HELD) != 0)
		die(EX_DATAERR, "list %s: held post %lld is %s already", list,
		    id, h->state);
	return h;
}

/* cmd_approve - queue a held post as an accepted post */
static int cmd_approve(struct fg_store *store, const struct fg_config *config,
		       const char *list, const char *id_text)
{
	struct fg_list *def = need_list(store, list);
	struct fg_held *h = need_held(store, list, id_text);
	struct fg_attach_settings attach = {
		.max_size = config->attachment_max_size,
		.max_total = config->attachment_max_total,
		.types = config->attachment_types,
	};
	struct fg_parse_settings set;
	const char *error, *why;
	int ret;

	if (fg_parse_settings_init(&set, config, &error) < 0)
		die(EX_CONFIG, "%s", error);
	fg_mail_init();
	ret = fg_held_release(store, def, &set, &attach, h, &why, &error);
	fg_mail_deinit();
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (ret > 0)
		printf("list %s: held post %lld approved: queued for the forum "
		       "and the subscribers\n", list, h->id);
	else if (*why == '\0')
		printf("list %s: held post %lld approved: queued before\n",
		       list, h->id);
	else
		printf("list %s: held post %lld approved but not queued: %s\n",
		       list, h->id, why);
	fg_held_free(&h);
	fg_list_free(&def);
	return EX_OK;
}

/* cmd_reject - mark a held post rejected; forumgated tells the sender */
static int cmd_reject(struct fg_store *store, const char *list,
		      const char *id_text, const char *reason)
{
	struct fg_list *def = need_list(store, list);
	struct fg_held *h = need_held(store, list, id_text);
	const char *error;
	int ret;

	if (strlen(reason) > REASON_MAX)
		die(EX_USAGE, "reject: a reason has at most %d bytes",
		    REASON_MAX);
	ret = fg_store_held_decide(store, list, h->id, FG_HELD_STATE_REJECTED,
				   reason, &error);
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (ret == 0)
		die(EX_DATAERR, "list %s: held post %lld was decided "
		    "meanwhile", list, h->id);
	printf("list %s: held post %lld rejected; forumgated tells <%s>\n",
	       list, h->id, h->from);
	fg_held_free(&h);
	fg_list_free(&def);
	return EX_OK;
}

/* cmd_held - held, approve and reject (argv[0] the command) */
int cmd_held(struct fg_store *store, const struct fg_config *config,
	     int argc, char **argv)
{
	struct fg_list *def;
	bool json = argc == 3 && strcmp(argv[2], "--json") == 0;

	if (strcmp(argv[0], "held") == 0 && (argc == 2 || json)) {
		def = need_list(store, argv[1]);
		fg_list_free(&def);
		return cmd_held_list(store, argv[1], json);
	}
	if (strcmp(argv[0], "approve") == 0 && argc == 3)
		return cmd_approve(store, config, argv[1], argv[2]);
	if (strcmp(argv[0], "reject") == 0 && argc == 3)
		return cmd_reject(store, argv[1], argv[2], "");
	if (strcmp(argv[0], "reject") == 0 && argc == 5 &&
	    strcmp(argv[3], "--reason") == 0)
		return cmd_reject(store, argv[1], argv[2], argv[4]);
	usage();
}
