/*
 * NAME
 *	admin-subscribers - the subscriber commands of forumgate(8)
 * SYNOPSIS
 *	forumgate subscribe LIST ADDRESS [--state enabled|nomail|digest]
 *	forumgate unsubscribe LIST ADDRESS
 *	forumgate subscribers LIST [--json]
 *	forumgate subscribers import LIST FILE|DIR [--partial]
 *	forumgate subscribers export LIST [--json]
 * DESCRIPTION
 *	The subscribers of a list-mode list (fg:{LIST}:subscribers,
 *	fg-store.h). An import reads a file of one address a line (bare,
 *	or "Name <addr>" as `mailman members LIST` prints) or every file
 *	of a directory (mlmmj's subscribers.d) with fg-subscribers.h;
 *	when any line is bad, every bad line is reported with its number
 *	and nothing is imported, unless --partial imports the good ones.
 *	An export prints one address a line, or with --json an array of
 *	{"address", "state"} objects; either is read with HSCAN a page at
 *	a time, in no particular order.
 * DIAGNOSTICS
 *	Exit status as forumgate(8): 65 bad lines in an import, 66 a file
 *	that cannot be read, 69 no such list, 75 Redis failed.
 */
#include "forumgate.h"
#include "fg-common.h"
#include "fg-subscribers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <jansson.h>

/* Subscribers asked for per HSCAN step. */
#define SCAN_COUNT 1000

void print_subscriber_count(struct fg_store *store, const char *list)
{
	long long count;
	const char *error;

	if (fg_store_subscriber_count(store, list, &count, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("subscribers: %lld\n", count);
}

/* print_fanout - list show's line on the fan-out: posts waiting in
   fg:{LIST}:dist, and where the one being sent stands */
void print_fanout(struct fg_store *store, const char *list)
{
	struct fg_dist_progress p;
	const char *error;
	char *entry_id;
	long long waiting;
	int ret;

	if (fg_store_queue_len(store, list, FG_QUEUE_DIST, &waiting,
			       &error) < 0 ||
	    (ret = fg_store_dist_progress_get(store, list, &p, &entry_id,
					      &error)) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("fan-out: %lld post(s) waiting", waiting);
	if (ret > 0)
		printf("; entry %s at recipient %lld of %lld (%lld sent, %lld "
		       "refused)", entry_id, p.next, p.total, p.sent,
		       p.refused);
	printf("\n");
	free(entry_id);
}

/* subscribers_export - every subscriber, a page at a time */
static int subscribers_export(struct fg_store *store, const char *list,
			      bool json)
{
	char *cursor = fg_xstrdup("0");
	bool first = true;
	const char *error;

	if (json)
		fputs("[", stdout);
	do {
		char **addrs, **states, *next;
		size_t n;

		if (fg_store_subscriber_scan(store, list, cursor, SCAN_COUNT,
					     &addrs, &states, &n, &next,
					     &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		for (size_t i = 0; i < n; i++) {
			if (!json) {
				printf("%s\n", addrs[i]);
				continue;
			}
			json_t *o = json_pack("{s:s, s:s}", "address",
					      addrs[i], "state", states[i]);
			char *text = json_dumps(o, JSON_COMPACT);
			printf("%s\n  %s", first ? "" : ",", text);
			first = false;
			free(text);
			json_decref(o);
		}
		fg_strv_free(addrs, n);
		fg_strv_free(states, n);
		free(cursor);
		cursor = next;
	} while (strcmp(cursor, "0") != 0);
	free(cursor);
	if (json)
		fputs(first ? "]\n" : "\n]\n", stdout);
	return EX_OK;
}

/* subscribers_import - import a file or a directory */
static int subscribers_import(struct fg_store *store, const char *list,
			      const char *path, bool partial)
{
	struct fg_subscribers_import imp = { 0 };
	const char *error;
	long long added;

	if (fg_subscribers_read(path, &imp, &error) < 0)
		die(EX_NOINPUT, "subscribers import: %s", error);
	fg_subscribers_finish(&imp);
	for (size_t i = 0; i < imp.n_errors &&
	     i < FG_SUBSCRIBERS_ERRORS_MAX; i++)
		fprintf(stderr, "%s: %s\n", progname, imp.errors[i]);
	if (imp.n_errors > FG_SUBSCRIBERS_ERRORS_MAX)
		fprintf(stderr, "%s: ... %zu bad lines in all\n", progname,
			imp.n_errors);
	if (imp.n_errors > 0 && !partial) {
		fprintf(stderr, "%s: subscribers import %s: %zu bad lines; "
			"nothing imported (--partial imports the %zu good "
			"addresses)\n", progname, list, imp.n_errors,
			imp.n_addresses);
		fg_subscribers_import_free(&imp);
		return EX_DATAERR;
	}
	if (fg_store_subscribers_import(store, list, imp.addresses,
					imp.n_addresses, &added, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("subscribers import %s: %zu addresses read, %lld added, "
	       "%lld there already, %zu bad lines skipped\n", list,
	       imp.n_addresses, added, (long long)imp.n_addresses - added,
	       imp.n_errors);
	fg_subscribers_import_free(&imp);
	return EX_OK;
}

/* cmd_subscribe - subscribe LIST ADDRESS [--state STATE] */
static int cmd_subscribe(struct fg_store *store, int argc, char **argv)
{
	const char *state = NULL, *error;
	int ret;

	if (argc == 5 && strcmp(argv[3], "--state") == 0)
		state = argv[4];
	else if (argc != 3)
		usage();
	if (state != NULL && strcmp(state, "enabled") != 0 &&
	    strcmp(state, "nomail") != 0 && strcmp(state, "digest") != 0)
		die(EX_USAGE, "subscribe: --state must be enabled, nomail or "
		    "digest, not '%s'", state);
	ret = fg_store_subscriber_set(store, argv[1], argv[2], state, &error);
	if (ret < 0)
		die(strstr(error, "not a mail address") != NULL ? EX_USAGE :
		    EX_TEMPFAIL, "%s", error);
	printf("%s %s: %s%s\n", ret > 0 ? "subscribed to" : "changed on",
	       argv[1], argv[2], state != NULL ?
	       (strcmp(state, "nomail") == 0 ? " (nomail)" :
		strcmp(state, "digest") == 0 ? " (digest)" : "") : "");
	return EX_OK;
}

int cmd_subscribers(struct fg_store *store, int argc, char **argv)
{
	const char *cmd = argv[0], *error;
	struct fg_list *list;
	int ret;

	if (argc < 2)
		usage();
	if (strcmp(cmd, "subscribers") == 0 && argc >= 3 &&
	    (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "export") == 0)) {
		bool opt = argc == 5 && strcmp(argv[4],
			strcmp(argv[1], "import") == 0 ? "--partial" :
			"--json") == 0;

		list = need_list(store, argv[2]);
		fg_list_free(&list);
		if (strcmp(argv[1], "import") == 0) {
			if (argc != 4 && !opt)
				usage();
			return subscribers_import(store, argv[2], argv[3],
						  opt);
		}
		if (argc == 4 && strcmp(argv[3], "--json") == 0)
			return subscribers_export(store, argv[2], true);
		if (argc != 3)
			usage();
		return subscribers_export(store, argv[2], false);
	}
	list = need_list(store, argv[1]);
	fg_list_free(&list);
	if (strcmp(cmd, "subscribers") == 0) {
		if (argc == 3 && strcmp(argv[2], "--json") == 0)
			return subscribers_export(store, argv[1], true);
		if (argc != 2)
			usage();
		return subscribers_export(store, argv[1], false);
	}
	if (strcmp(cmd, "subscribe") == 0)
		return cmd_subscribe(store, argc, argv);
	if (argc != 3)
		usage();
	ret = fg_store_subscriber_del(store, argv[1], argv[2], &error);
	if (ret < 0)
		die(strstr(error, "not a mail address") != NULL ? EX_USAGE :
		    EX_TEMPFAIL, "%s", error);
	if (ret == 0)
		die(EX_UNAVAILABLE, "%s is not subscribed to %s", argv[2],
		    argv[1]);
	printf("unsubscribed from %s: %s\n", argv[1], argv[2]);
	return EX_OK;
}
