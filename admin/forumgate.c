/*
 * NAME
 *	forumgate - forumgate administration command
 * SYNOPSIS
 *	forumgate [-c config] command [arguments]
 * DESCRIPTION
 *	Inspects and changes the state forumgate keeps in Redis, and runs
 *	the list-mail parser on a file exactly as the Dovecot plugin does.
 *	See forumgate(8) for the commands.
 * DIAGNOSTICS
 *	Errors go to stderr. Exit status: 0 success, 64 usage error,
 *	65 bad input, 69 a list or member does not exist, 75 Redis or
 *	another service is unavailable (try again), 78 configuration error.
 */
#include "forumgate.h"
#include "fg-attach.h"
#include "fg-bounce.h"
#include "fg-chain.h"
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-secret.h"
#include "fg-config.h"
#include "fg-digest.h"
#include "fg-listmail.h"
#include "fg-mailparse.h"
#include "fg-policy.h"
#include "fg-record.h"
#include "fg-roster.h"
#include "fg-store.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <jansson.h>
#include <curl/curl.h>

const char *progname = "forumgate";

void usage(void)
{
	fprintf(stderr,
		"usage: %s [-c config] command [arguments]\n"
		"commands:\n"
		"  status                          Redis, lists, queues, mail not posted,\n"
		"                                  forum posts the list refused,\n"
		"                                  list mail in the forum's review\n"
		"                                  queue\n"
		"  lists                           list names\n"
		"  list add NAME --address ADDR --bridge-recipient ADDR [--category ID]\n"
		"           (--mode list: no --bridge-recipient needed)\n"
		"           [--unsubscribe mailto:ADDR|https://URL] [--list-id ID]\n"
		"           [--return-path PATTERNS] [--mode mirror|list] [--force]\n"
		"  list show NAME\n"
		"  list set NAME access open|members|moderated|closed|passphrase\n"
		"  list set NAME mode mirror|list  list mode: forumgate runs the list\n"
		"  list set NAME passphrase_file PATH|''  the approval passphrase\n"
		"  list set NAME chain_off STEPS|''  optional chain steps turned off\n"
		"  list set NAME dmarc_from off|policy|always  list mode: rewrite From\n"
		"  list set NAME moderators ADDRS   list mode: told of held posts\n"
		"  list set NAME digest_format mime|rfc1153|''  its digests' form\n"
		"  list set NAME digest_hour 0-23|''  the hour its digests go out\n"
		"  list set NAME digest_size_max SIZE|''  or when this size waits\n"
		"  list set NAME footer TEXT|@FILE|-   the list manager's footer\n"
		"  list set NAME trusted yes|no    undo its From rewriting\n"
		"  list set NAME list_id ID|''         List-Id of the list's copies\n"
		"  list set NAME return_path PATTERNS|''  their envelope senders\n"
		"  list set NAME roster mailman3[:LIST_ID]|mlmmj:/LISTDIR\n"
		"  allow add|del LIST ADDRESS      senders who may always post\n"
		"  member add|del LIST ADDRESS\n"
		"  member sync LIST [--allow-empty]  members from the list manager\n"
		"  members LIST\n"
		"  subscribe LIST ADDRESS [--state enabled|nomail|digest]\n"
		"  unsubscribe LIST ADDRESS\n"
		"  subscribers LIST [--json]       a list-mode list's subscribers\n"
		"  held LIST [--json]              a list-mode list's held posts\n"
		"  approve LIST ID                 post a held post\n"
		"  reject LIST ID [--reason TEXT]  reject it; the sender is told\n"
		"  subscribers import LIST FILE|DIR [--partial]\n"
		"  subscribers export LIST [--json]\n"
		"  digest LIST [--send-now]        a list-mode list's digest: what waits,\n"
		"                                  or ask for it to go out now\n"
		"  parse [--format markdown|bbcode|html] [--footer TEXT|@FILE]\n"
		"        [--envelope-to ADDR] [--list LIST [--envelope-from ADDR]]\n"
		"        [FILE|-]\n"
		"                                  parse one message as the plugin does\n"
		"  dead LIST                       dead letters with their reasons\n"
		"  replay LIST ID|all              move dead letters back to their queue\n"
		"  refused LIST [COUNT]            forum posts the list manager held,\n"
		"                                  rejected or bounced, newest first\n"
		"  author set ADDRESS USER         post mail from ADDRESS as forum USER\n"
		"  author del ADDRESS\n"
		"  authors                         the address -> forum user map\n",
		progname);
	exit(EX_USAGE);
}

/* die - print an error and exit with a sysexits code */
void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static struct fg_config *load_config(const char *path)
{
	struct fg_config *config;
	const char *error;

	if (fg_config_load_component(path, FG_COMPONENT_ADMIN, &config,
				     &error) < 0)
		die(EX_CONFIG, "%s", error);
	return config;
}

static struct fg_store *open_store(const struct fg_config *config)
{
	struct fg_store *store;
	const char *error;

	if (fg_store_connect_config(config, &store, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	return store;
}

/* need_list - the named list, or exit 69 */
struct fg_list *need_list(struct fg_store *store, const char *name)
{
	struct fg_list *list;
	const char *error;
	int ret = fg_store_list_get(store, name, &list, &error);

	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (ret == 0)
		die(EX_UNAVAILABLE, "no list named '%s' (see: %s lists)",
		    name, progname);
	return list;
}

/* cmd_status_not_posted - one list's messages not posted, by reason */
static void cmd_status_not_posted(struct fg_store *store, const char *list)
{
	char **reasons, **counts;
	size_t n;
	const char *error;

	if (fg_store_not_posted(store, list, &reasons, &counts, &n,
				&error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("    not posted:%s", n == 0 ? " none" : "");
	for (size_t i = 0; i < n; i++)
		printf(" %s=%s", reasons[i], counts[i]);
	printf("\n");
	fg_strv_free(reasons, n);
	fg_strv_free(counts, n);
}

/* status_time - unix time text as "YYYY-MM-DD HH:MM:SS UTC" */
static void status_time(const char *unix_time, char *buf, size_t size)
{
	long long t;
	time_t tt;
	struct tm tm;

	if (unix_time == NULL || fg_parse_llong(unix_time, &t) < 0) {
		snprintf(buf, size, "?");
		return;
	}
	tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* cmd_status_stopped - why the forum keeps the list's inbound queue
   from moving (its credentials refused, a rate limit), when it does */
static void cmd_status_stopped(struct fg_store *store, const char *list)
{
	char **names, **values, since[64], retry[64];
	const char *error, *cause = "", *reason = "", *since_s = NULL,
		*retry_s = NULL;
	size_t n;
	int ret;

	ret = fg_store_in_stopped_get(store, list, &names, &values, &n,
				      &error);
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "cause") == 0)
			cause = values[i];
		else if (strcmp(names[i], "reason") == 0)
			reason = values[i];
		else if (strcmp(names[i], "since") == 0)
			since_s = values[i];
		else if (strcmp(names[i], "retry_at") == 0)
			retry_s = values[i];
	}
	if (ret > 0) {
		status_time(since_s, since, sizeof(since));
		status_time(retry_s, retry, sizeof(retry));
		printf("    inbound stopped by the forum: %s since %s, next "
		       "try %s: %s\n", strcmp(cause, "credentials") == 0 ?
		       "credentials refused (fix forum_api_key, then SIGHUP "
		       "forumgated)" : cause, since, retry, reason);
	}
	fg_strv_free(names, n);
	fg_strv_free(values, n);
}

/* Bytes of a refused post's subject shown on its line. */
#define REFUSED_SUBJECT_SHOWN 80

/* print_refused_line - one refusal on one line (its text was made one
   clean line when it was recorded) */
static void print_refused_line(const struct fg_entry *e, const char *indent)
{
	const char *reason = fg_entry_get(e, "reason");
	const char *subject = fg_entry_get(e, "subject");

	printf("%s%s post_id=%s \"%.*s\" %s: %s\n", indent, e->id,
	       fg_entry_get(e, "post_id") != NULL ?
	       fg_entry_get(e, "post_id") : "0",
	       fg_utf8_prefix_len(subject != NULL ? subject : "",
				  REFUSED_SUBJECT_SHOWN),
	       subject != NULL ? subject : "",
	       fg_entry_get(e, "kind") != NULL ? fg_entry_get(e, "kind") : "",
	       reason != NULL ? reason : "");
}

/* print_counts - " kind=N" for each kind, 0 for those not in names */
static void print_counts(const char *const *kinds, size_t n_kinds,
			 char **names, char **counts, size_t n)
{
	for (size_t k = 0; k < n_kinds; k++) {
		const char *count = "0";
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i], kinds[k]) == 0)
				count = counts[i];
		}
		printf(" %s=%s", kinds[k], count);
	}
}

/* cmd_status_review - one list's mail the forum held for review: how
   many still wait, the counts by outcome, the last few that were not
   approved */
static void cmd_status_review(struct fg_store *store, const char *list)
{
	static const char *const outcomes[] = {
		"approved", "rejected", "expired",
	};
	char **names, **counts;
	struct fg_entry **entries;
	size_t n, n_entries, shown = 0;
	long long waiting;
	const char *error;

	if (fg_store_review_counts(store, list, &waiting, &names, &counts, &n,
				   &error) < 0 ||
	    fg_store_review_log(store, list, 20, &entries, &n_entries,
				&error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("    forum review: waiting=%lld", waiting);
	print_counts(outcomes, FG_N_ELEMENTS(outcomes), names, counts, n);
	printf("\n");
	for (size_t i = 0; i < n_entries && shown < 3; i++) {
		const char *outcome = fg_entry_get(entries[i], "outcome");
		const char *title = fg_entry_get(entries[i], "title");

		if (outcome == NULL || strcmp(outcome, "approved") == 0)
			continue;
		shown++;
		printf("      %s %s <%s> topic=%s \"%.*s\" %s\n",
		       entries[i]->id,
		       fg_entry_get(entries[i], "held_id") != NULL ?
		       fg_entry_get(entries[i], "held_id") : "",
		       fg_entry_get(entries[i], "message_id") != NULL ?
		       fg_entry_get(entries[i], "message_id") : "",
		       fg_entry_get(entries[i], "topic_id") != NULL ?
		       fg_entry_get(entries[i], "topic_id") : "0",
		       fg_utf8_prefix_len(title != NULL ? title : "",
					  REFUSED_SUBJECT_SHOWN),
		       title != NULL ? title : "", outcome);
	}
	fg_entries_free(entries, n_entries);
	fg_strv_free(names, n);
	fg_strv_free(counts, n);
}

/* cmd_status_refused - one list's forum posts the list refused: the
   counts by kind, how many held posts are still held, the last few */
static void cmd_status_refused(struct fg_store *store, const char *list)
{
	static const char *const kinds[] = {
		"held", "rejected", "bounced", "approved",
	};
	char **names, **counts;
	struct fg_entry **entries;
	size_t n, n_entries;
	long long held_now;
	const char *error;

	if (fg_store_refused_counts(store, list, &names, &counts, &n,
				    &held_now, &error) < 0 ||
	    fg_store_refused_list(store, list, 3, &entries, &n_entries,
				  &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("    refused:");
	print_counts(kinds, FG_N_ELEMENTS(kinds), names, counts, n);
	printf(" still_held=%lld\n", held_now);
	for (size_t i = 0; i < n_entries; i++)
		print_refused_line(entries[i], "      ");
	fg_entries_free(entries, n_entries);
	fg_strv_free(names, n);
	fg_strv_free(counts, n);
}

static int cmd_status(struct fg_store *store, const struct fg_config *config)
{
	char **names, *redis;
	size_t n;
	const char *error;

	if (fg_store_ping(store, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	redis = fg_url_redact(config->redis);

	printf("redis: %s ok\n", redis);
	free(redis);
	if (fg_store_lists(store, &names, &n, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("lists: %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		long long in = 0, waiting = 0, out = 0;
		if (fg_store_queue_len(store, names[i], FG_QUEUE_INBOUND, &in,
				       &error) < 0 ||
		    fg_store_queue_len(store, names[i], FG_QUEUE_INBOUND_WAIT,
				       &waiting, &error) < 0 ||
		    fg_store_queue_len(store, names[i], FG_QUEUE_OUTBOUND, &out,
				       &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		printf("  %s: inbound=%lld waiting=%lld outbound=%lld\n",
		       names[i], in, waiting, out);
		cmd_status_stopped(store, names[i]);
		cmd_status_not_posted(store, names[i]);
		cmd_status_refused(store, names[i]);
		cmd_status_review(store, names[i]);
	}
	fg_strv_free(names, n);
	return EX_OK;
}

static int cmd_lists(struct fg_store *store)
{
	char **names;
	size_t n;
	const char *error;

	if (fg_store_lists(store, &names, &n, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	for (size_t i = 0; i < n; i++) {
		struct fg_list *list;
		int ret = fg_store_list_get(store, names[i], &list, &error);

		if (ret < 0)
			die(EX_TEMPFAIL, "%s", error);
		/* a mirror list is its name alone, as before list mode */
		printf("%s%s\n", names[i], ret > 0 &&
		       list->mode == FG_LIST_MODE_LIST ? " mode=list" : "");
		fg_list_free(&list);
	}
	fg_strv_free(names, n);
	return EX_OK;
}

/* list_field_check - exit 64 unless value fits a list's list_id or
   return_path field: printable ASCII, at most FG_LISTMAIL_VALUE_MAX
   characters; a List-Id without space or <> */
static void list_field_check(const char *field, const char *value)
{
	bool id = strcmp(field, "list_id") == 0;

	if (strlen(value) > FG_LISTMAIL_VALUE_MAX)
		die(EX_USAGE, "%s: longer than %d characters", field,
		    FG_LISTMAIL_VALUE_MAX);
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < ' ' || c >= 0x7f ||
		    (id && (c == ' ' || c == '<' || c == '>')))
			die(EX_USAGE, "%s: '%s' is not %s", field, value,
			    id ? "a List-Id (LIST.DOMAIN, without <>)" :
			    "a list of address patterns");
	}
}

static int cmd_list_add(struct fg_store *store, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "bridge-recipient", required_argument, NULL, 'r' },
		{ "category", required_argument, NULL, 'C' },
		{ "unsubscribe", required_argument, NULL, 'u' },
		{ "list-id", required_argument, NULL, 'i' },
		{ "return-path", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct fg_list list = { 0 };
	const char *mode = NULL;
	const char *error;
	bool force = false;
	int c, ret;

	if (argc < 1)
		usage();
	list.name = argv[0];
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': list.address = fg_str_lower(optarg); break;
		case 'r': list.bridge_recipient = fg_str_lower(optarg); break;
		case 'C':
			if (fg_parse_llong(optarg, &list.category) < 0 ||
			    list.category < 0)
				die(EX_USAGE, "invalid --category '%s'", optarg);
			break;
		case 'u':
			if (!fg_compose_unsubscribe_valid(optarg))
				die(EX_USAGE, "invalid --unsubscribe: a "
				    "mailto: or https: URI of at most %d "
				    "printable ASCII characters without "
				    "space, quotes or <>",
				    FG_COMPOSE_UNSUBSCRIBE_MAX);
			list.unsubscribe = optarg;
			break;
		case 'i':
			list_field_check("list_id", optarg);
			list.list_id = optarg;
			break;
		case 'p':
			list_field_check("return_path", optarg);
			list.return_path = optarg;
			break;
		case 'm':
			if (fg_list_mode_parse(optarg, &list.mode) < 0)
				die(EX_USAGE, "invalid --mode '%s' (mirror or "
				    "list)", optarg);
			mode = optarg;
			break;
		case 'f': force = true; break;
		default: usage();
		}
	}
	if (list.address == NULL || strchr(list.address, '@') == NULL)
		die(EX_USAGE, "list add: --address must be a mail address");
	/* a list-mode list is delivered at its posting address; it needs
	   no bridge recipient */
	if (list.bridge_recipient == NULL && list.mode == FG_LIST_MODE_LIST)
		list.bridge_recipient = "";
	else if (list.bridge_recipient == NULL ||
		 strchr(list.bridge_recipient, '@') == NULL)
		die(EX_USAGE, "list add: --bridge-recipient must be a mail "
		    "address");
	ret = force ? fg_store_list_take(store, &list, &error) :
		fg_store_list_add(store, &list, &error);
	if (ret == FG_STORE_TAKEN)
		die(EX_DATAERR, "list add %s: %s (--force moves it to list %s)",
		    list.name, error, list.name);
	if (ret < 0)
		die(strstr(error, "invalid list name") != NULL ?
		    EX_USAGE : EX_TEMPFAIL, "%s", error);
	/* a redefinition without --mode keeps the list's mode */
	if (mode != NULL &&
	    fg_store_list_set(store, list.name, "mode", mode, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("list %s:%s%s address=%s bridge_recipient=%s category=%lld%s%s"
	       "%s%s%s%s\n",
	       list.name, mode != NULL ? " mode=" : "", mode != NULL ? mode : "",
	       list.address, list.bridge_recipient, list.category,
	       list.unsubscribe != NULL ? " unsubscribe=" : "",
	       list.unsubscribe != NULL ? list.unsubscribe : "",
	       list.list_id != NULL ? " list_id=" : "",
	       list.list_id != NULL ? list.list_id : "",
	       list.return_path != NULL ? " return_path=" : "",
	       list.return_path != NULL ? list.return_path : "");
	if (list.category == 0)
		fprintf(stderr, "%s: warning: list %s has no --category: its "
			"topics go to the forum's default category, and forum "
			"posts are not mailed to the list (webhooks find the "
			"list by category)\n", progname, list.name);
	return EX_OK;
}

/* print_footer - a list's footer, each line indented under its name */
static void print_footer(const char *footer)
{
	fputs("footer:\n", stdout);
	for (const char *p = footer; *p != '\0';) {
		size_t len = strcspn(p, "\n");

		printf("  %.*s\n", (int)len, p);
		p += len + (p[len] == '\n' ? 1 : 0);
	}
}

static int cmd_list_show(struct fg_store *store, const char *name)
{
	struct fg_list *list = need_list(store, name);
	char *default_id = NULL;

	printf("name: %s\nmode: %s\naddress: %s\nbridge_recipient: %s\n"
	       "category: %lld\n", list->name, fg_list_mode_name(list->mode),
	       list->address, list->bridge_recipient, list->category);
	printf("access: %s\n", list->access != NULL ? list->access :
	       "members (default)");
	if (list->unsubscribe != NULL)
		printf("unsubscribe: %s\n", list->unsubscribe);
	printf("trusted: %s\n", list->trusted ? "yes" : "no");
	if (list->footer != NULL)
		print_footer(list->footer);
	if (list->list_id != NULL)
		printf("list_id: %s\n", list->list_id);
	else
		printf("list_id: %s (default)\n", default_id =
		       fg_listmail_default_id(list->address));
	printf("return_path: %s\n", list->return_path != NULL ?
	       list->return_path : "(default: LIST-bounces, LIST-bounces+*, "
	       "LIST+bounces-*)");
	free(default_id);
	if (list->roster != NULL)
		printf("roster: %s\n", list->roster);
	if (list->mode == FG_LIST_MODE_LIST) {
		printf("chain_off: %s\n", list->chain_off != NULL ?
		       list->chain_off : "(none)");
		printf("dmarc_from: %s\n", list->dmarc_always ? "always" :
		       list->dmarc_policy ? "policy" : "off");
		printf("moderators: %s\n", list->moderators != NULL ?
		       list->moderators : "(none)");
		print_subscriber_count(store, list->name);
		print_fanout(store, list->name);
		printf("digest_format: %s\n", list->digest_format != NULL ?
		       list->digest_format : "(the setting digest_format)");
		if (list->digest_hour_set)
			printf("digest_hour: %u\n", list->digest_hour);
		else
			printf("digest_hour: (the setting digest_hour)\n");
		if (list->digest_size_set)
			printf("digest_size_max: %zu\n",
			       list->digest_size_max);
		else
			printf("digest_size_max: (the setting "
			       "digest_size_max)\n");
		print_digest(store, list->name);
	}
	/* the path only: the passphrase is never printed */
	if (list->passphrase_file != NULL)
		printf("passphrase_file: %s\n", list->passphrase_file);
	fg_list_free(&list);
	return EX_OK;
}

/* A declared footer longer than this is no footer (fg-footer.h). */
#define FOOTER_MAX 4096

/* read_footer - the footer text of "list set NAME footer @FILE" */
static char *read_footer(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = fg_xmalloc(FOOTER_MAX + 2);
	size_t n;

	if (fp == NULL)
		die(EX_NOINPUT, "list set: %s: %s", path, strerror(errno));
	n = fread(text, 1, FOOTER_MAX + 1, fp);
	if (ferror(fp))
		die(EX_IOERR, "list set: reading %s failed", path);
	fclose(fp);
	text[n] = '\0';
	if (strlen(text) != n)
		die(EX_DATAERR, "list set: %s has a NUL byte", path);
	return text;
}

/* moderators_check - "list set NAME moderators": addresses separated
   by commas or spaces ("" none), or exit 64 */
static void moderators_check(const char *value)
{
	char *copy = fg_xstrdup(value), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (!fg_compose_address_valid(tok))
			die(EX_USAGE, "list set: moderators: '%s' is not an "
			    "address", tok);
	}
	free(copy);
}

/* cmd_list_set - change one field of a list's config: the access
   policy, the footer the list manager appends ("-" clears it,
   "@FILE" reads it from FILE), the List-Id or the return paths of
   the list's copies ("" goes back to the default) */
static int cmd_list_set(struct fg_store *store, const char *name,
			const char *field, const char *value)
{
	struct fg_list *list = need_list(store, name);
	struct fg_roster_source source;
	enum fg_policy_access access;
	const char *error;
	char *text = NULL;
	bool trusted;

	if (strcmp(field, "access") == 0) {
		if (fg_policy_access_parse(value, &access) < 0)
			die(EX_USAGE, "list set: access must be open, members, "
			    "moderated, closed or passphrase, not '%s'", value);
	} else if (strcmp(field, "mode") == 0) {
		enum fg_list_mode mode;
		if (fg_list_mode_parse(value, &mode) < 0)
			die(EX_USAGE, "list set: mode must be mirror or list, "
			    "not '%s'", value);
	} else if (strcmp(field, "chain_off") == 0) {
		unsigned int off;
		if (fg_chain_off_parse(value, &off, &error) < 0)
			die(EX_USAGE, "list set: chain_off: %s", error);
	} else if (strcmp(field, "dmarc_from") == 0) {
		if (strcmp(value, "off") != 0 && strcmp(value, "always") != 0 &&
		    strcmp(value, "policy") != 0)
			die(EX_USAGE, "list set: dmarc_from must be off, "
			    "policy or always, not '%s'", value);
	} else if (strcmp(field, "moderators") == 0) {
		moderators_check(value);
	} else if (strcmp(field, "digest_hour") == 0) {
		unsigned int hour;
		if (*value != '\0' && !fg_list_digest_hour(value, &hour))
			die(EX_USAGE, "list set: digest_hour must be an hour "
			    "from 0 to 23, not '%s'", value);
	} else if (strcmp(field, "digest_size_max") == 0) {
		size_t size;
		if (*value != '\0' && fg_parse_size(value, &size) < 0)
			die(EX_USAGE, "list set: digest_size_max must be a "
			    "size (30K, 1M, 0), not '%s'", value);
	} else if (strcmp(field, "digest_format") == 0) {
		enum fg_digest_format format;
		/* "" goes back to the setting */
		if (*value != '\0' && fg_digest_format_parse(value, &format) < 0)
			die(EX_USAGE, "list set: digest_format must be mime or "
			    "rfc1153, not '%s'", value);
	} else if (strcmp(field, "passphrase_file") == 0) {
		char *secret;
		/* checked here, read at every delivery by the plugin;
		   the passphrase itself is never printed */
		if (*value != '\0' &&
		    fg_secret_file_read(value, &secret, &error) < 0)
			die(EX_DATAERR, "list set: passphrase_file: %s", error);
		if (*value != '\0')
			fg_secret_free(&secret);
	} else if (strcmp(field, "trusted") == 0) {
		if (fg_parse_bool(value, &trusted) < 0)
			die(EX_USAGE, "list set: trusted must be yes or no, "
			    "not '%s'", value);
		value = trusted ? "yes" : "no";
	} else if (strcmp(field, "footer") == 0) {
		if (strcmp(value, "-") == 0)
			value = NULL;
		else if (value[0] == '@')
			value = text = read_footer(value + 1);
		if (value != NULL && strlen(value) > FOOTER_MAX)
			die(EX_DATAERR, "list set: a footer has at most %d "
			    "bytes", FOOTER_MAX);
		if (value != NULL && value[strspn(value, " \t\r\n")] == '\0')
			value = NULL;	/* a blank footer is none */
	} else if (strcmp(field, "list_id") == 0 ||
		   strcmp(field, "return_path") == 0) {
		/* "" goes back to the default */
		list_field_check(field, value);
	} else if (strcmp(field, "roster") == 0) {
		if (fg_roster_source_parse(value, list->address, &source,
					   &error) < 0)
			die(EX_USAGE, "list set: roster: %s", error);
		fg_roster_source_free(&source);
	} else {
		die(EX_USAGE, "list set: unknown field '%s' (known: access, "
		    "chain_off, digest_format, digest_hour, digest_size_max, "
		    "dmarc_from, footer, list_id, mode, "
		    "moderators, passphrase_file, "
		    "return_path, roster, trusted)", field);
	}
	fg_list_free(&list);
	if (fg_store_list_set(store, name, field, value, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	if (value == NULL)
		printf("list %s: %s cleared\n", name, field);
	else if (text != NULL)
		printf("list %s: %s set (%zu bytes)\n", name, field,
		       strlen(text));
	else
		printf("list %s: %s=%s\n", name, field, value);
	free(text);
	return EX_OK;
}

/* An address set of a list: its members or its allow list. */
typedef int address_set_func(struct fg_store *store, const char *list,
			     const char *address, const char **error_r);

/* cmd_address_set - add an address to, or remove it from, a list's
   members (member add|del) or allow list (allow add|del) */
static int cmd_address_set(struct fg_store *store, const char *op,
			   const char *list_name, const char *address,
			   address_set_func *add, address_set_func *del)
{
	struct fg_list *list = need_list(store, list_name);
	const char *error;
	int ret;

	fg_list_free(&list);
	if (strchr(address, '@') == NULL)
		die(EX_USAGE, "'%s' is not a mail address", address);
	if (strcmp(op, "add") == 0)
		ret = add(store, list_name, address, &error);
	else if (strcmp(op, "del") == 0)
		ret = del(store, list_name, address, &error);
	else
		usage();
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	return EX_OK;
}

static int cmd_members(struct fg_store *store, const char *list_name)
{
	struct fg_list *list = need_list(store, list_name);
	char **addrs;
	size_t n;
	const char *error;

	fg_list_free(&list);
	if (fg_store_members(store, list_name, &addrs, &n, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", addrs[i]);
	fg_strv_free(addrs, n);
	return EX_OK;
}

/* cmd_member_sync - make the list's members those of its list
   manager (its roster source); nothing changes when the source cannot
   be read, or answers with no one while the list has members */
static int cmd_member_sync(struct fg_store *store,
			   const struct fg_config *config, int argc,
			   char **argv)
{
	struct fg_roster_source source;
	struct fg_roster roster;
	struct fg_member_diff diff;
	struct fg_list *list;
	bool allow_empty = false;
	const char *name = NULL, *error;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--allow-empty") == 0)
			allow_empty = true;
		else if (name == NULL && argv[i][0] != '-')
			name = argv[i];
		else
			usage();
	}
	if (name == NULL)
		usage();
	list = need_list(store, name);
	if (list->roster == NULL || list->roster[0] == '\0')
		die(EX_CONFIG, "list %s has no roster source (%s list set %s "
		    "roster mailman3[:LIST_ID]|mlmmj:/LISTDIR)", name,
		    progname, name);
	if (fg_roster_source_parse(list->roster, list->address, &source,
				   &error) < 0)
		die(EX_CONFIG, "list %s: roster: %s", name, error);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die(EX_SOFTWARE, "curl_global_init failed");
	if (fg_roster_read(config, &source, &roster, &error) < 0)
		die(EX_TEMPFAIL, "member sync %s: %s: %s; nothing changed",
		    name, list->roster, error);
	ret = fg_store_members_replace(store, name, roster.addresses,
				       roster.count, allow_empty, &diff,
				       &error);
	if (ret == FG_STORE_EMPTY)
		die(EX_DATAERR, "member sync %s: %s has no members; nothing "
		    "changed (--allow-empty to remove every member)", name,
		    list->roster);
	if (ret < 0)
		die(EX_TEMPFAIL, "%s", error);
	printf("member sync %s: %s: %zu members, %zu added, %zu removed",
	       name, list->roster, roster.count, diff.n_added,
	       diff.n_removed);
	if (roster.ignored > 0)
		printf(", %zu entries not addresses ignored", roster.ignored);
	printf("\n");
	for (size_t i = 0; i < diff.n_added; i++)
		printf("+ %s\n", diff.added[i]);
	for (size_t i = 0; i < diff.n_removed; i++)
		printf("- %s\n", diff.removed[i]);
	fg_member_diff_free(&diff);
	fg_roster_free(&roster);
	fg_roster_source_free(&source);
	fg_list_free(&list);
	curl_global_cleanup();
	return EX_OK;
}

/* read_all - a whole file or stdin, bounded */
static char *read_all(const char *path, size_t max, size_t *size_r)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct fg_buf buf = { 0 };
	char chunk[65536];
	size_t n;

	if (fp == NULL)
		die(EX_NOINPUT, "open(%s) failed: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf.len + n > max)
			die(EX_DATAERR, "%s: larger than max_message_size=%zu",
			    path, max);
		fg_buf_append(&buf, chunk, n);
	}
	if (ferror(fp))
		die(EX_IOERR, "read(%s) failed: %s", path, strerror(errno));
	if (fp != stdin)
		fclose(fp);
	*size_r = buf.len;
	return fg_buf_steal(&buf);
}

/* parse_attachments - [{name, type, size}] as the plugin extracts them */
static json_t *parse_attachments(const struct fg_config *config,
				 const char *data, size_t size)
{
	struct fg_attach_settings set = {
		.max_size = config->attachment_max_size,
		.max_total = config->attachment_max_total,
		.types = config->attachment_types,
	};
	struct fg_attachment *atts;
	size_t n;
	const char *error;
	json_t *array = json_array();

	if (fg_attach_extract(data, size, &set, &atts, &n, &error) < 0)
		return array;
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_pack("{s:s, s:s, s:I}", "name", atts[i].name,
				      "type", atts[i].type,
				      "size", (json_int_t)atts[i].size);
		if (a != NULL)
			json_array_append_new(array, a);
	}
	fg_attachments_free(atts, n);
	return array;
}

/* What parse was asked for besides the file. */
struct parse_options {
	const char *format;		/* NULL: post_format */
	const char *list;		/* NULL: no list rule */
	const char *envelope_from;	/* NULL: not known */
	const char *envelope_to;	/* NULL: not known */
	const char *footer;		/* NULL: the list's, or none */
};

static int cmd_parse(const struct fg_config *config, const char *path,
		     const struct parse_options *po)
{
	struct fg_parse_settings set;
	struct fg_list *list = NULL;
	const char *error;

	if (fg_parse_settings_init(&set, config, &error) < 0)
		die(EX_CONFIG, "%s", error);
	set.list_footer = po->footer;
	set.envelope_to = po->envelope_to;
	if (set.secret == NULL)
		set.secret = "";
	if (set.mail_domain == NULL)
		set.mail_domain = "localhost";
	if (po->format != NULL &&
	    fg_text_format_parse(po->format, &set.format) < 0)
		die(EX_USAGE, "unknown format '%s' (markdown, bbcode or html)",
		    po->format);
	if (po->list != NULL) {
		/* the list rule as the plugin applies it to this list */
		struct fg_store *store = open_store(config);

		list = need_list(store, po->list);
		fg_store_free(&store);
		set.list_address = list->address;
		set.list_id = list->list_id;
		set.list_return_path = list->return_path;
		set.envelope_from = po->envelope_from;
		if (po->footer == NULL)
			set.list_footer = list->footer;
	}
	struct fg_record *rec;
	size_t size;
	char *data = read_all(path, config->max_message_size, &size);

	fg_mail_init();
	if (fg_mail_parse(data, size, &set, &rec, &error) < 0)
		die(EX_DATAERR, "%s: %s", path, error);
	json_t *refs = json_array();
	for (size_t i = 0; i < rec->n_references; i++)
		json_array_append_new(refs, json_string(rec->references[i]));
	json_t *obj = json_pack("{s:s, s:s?, s:o, s:s, s:s, s:s, s:s, s:s, "
				"s:s, s:s?, s:s, s:s, s:s, s:s, s:s}",
		"message_id", rec->message_id,
		"in_reply_to", rec->in_reply_to,
		"references", refs,
		"subject", rec->subject,
		"title", rec->title,
		"from_name", rec->from_name,
		"from_email", rec->from_email,
		"from_auth", rec->from_auth != NULL ? rec->from_auth : "",
		"date", rec->date,
		"list_id", rec->list_id,
		"body", rec->body,
		"trimmed", rec->trimmed != NULL ? rec->trimmed : "",
		"format", fg_text_format_name(set.format),
		"classification", fg_class_name(rec->classification),
		"reason", rec->reason);
	if (obj == NULL)
		die(EX_SOFTWARE, "%s: record is not valid UTF-8", path);
	if (rec->quote_sketch != NULL) {
		/* a trailing quote the bridge compares with the parent */
		json_object_set_new(obj, "quote_start",
				    json_integer((json_int_t)rec->quote_start));
		json_object_set_new(obj, "quote_end",
				    json_integer((json_int_t)rec->quote_end));
	}
	json_object_set_new(obj, "attachments", parse_attachments(config,
								  data, size));
	if (rec->bounce != NULL) {
		/* the report: who failed, how and why (doc/bounces.md) */
		char *text = fg_bounce_json(rec->bounce);
		json_t *bounce = json_loads(text, 0, NULL);

		free(text);
		if (bounce != NULL)
			json_object_set_new(obj, "bounce", bounce);
	}
	json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(obj);
	fg_record_free(&rec);
	fg_list_free(&list);
	free(data);
	fg_mail_deinit();
	return EX_OK;
}

/* print_dead - one block per dead letter: id, queue, message, reason */
static void print_dead(struct fg_entry **entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fg_entry *e = entries[i];
		const char *queue = fg_entry_get(e, "queue");
		const char *id = fg_entry_get(e, "message_id");
		const char *reason = fg_entry_get(e, "reason");
		const char *failed = fg_entry_get(e, "failed_at");

		if (id == NULL) {
			id = fg_entry_get(e, "post_id");
			printf("%s queue=%s post_id=%s failed_at=%s\n", e->id,
			       queue != NULL ? queue : "?",
			       id != NULL ? id : "?",
			       failed != NULL ? failed : "?");
		} else {
			printf("%s queue=%s message_id=<%s> failed_at=%s\n",
			       e->id, queue != NULL ? queue : "?", id,
			       failed != NULL ? failed : "?");
		}
		printf("  reason: %s\n", reason != NULL ? reason : "");
	}
}

/* cmd_dead - the dead-letter stream, oldest first, in pages (a dead
   letter may carry attachment data) */
static int cmd_dead(struct fg_store *store, const char *list_name)
{
	struct fg_list *list = need_list(store, list_name);
	struct fg_entry **entries;
	size_t n, total = 0;
	const char *error;
	char *after = NULL;

	fg_list_free(&list);
	do {
		if (fg_store_dead_list(store, list_name, after, 20, &entries,
				       &n, &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		print_dead(entries, n);
		total += n;
		if (n > 0) {
			free(after);
			after = fg_xstrdup(entries[n - 1]->id);
		}
		fg_entries_free(entries, n);
	} while (n > 0);
	free(after);
	fprintf(stderr, "%zu dead letter%s\n", total, total == 1 ? "" : "s");
	return EX_OK;
}

/* cmd_refused - the newest refusals of a list, all their fields */
static int cmd_refused(struct fg_store *store, const char *list_name,
		       const char *count)
{
	struct fg_list *list = need_list(store, list_name);
	static const char *const fields[] = {
		"topic_id", "post_number", "message_id", "subject", "from", "at",
	};
	struct fg_entry **entries;
	long long max = FG_REFUSED_MAX;
	size_t n;
	const char *error;

	fg_list_free(&list);
	if (count != NULL && (fg_parse_llong(count, &max) < 0 || max <= 0))
		die(EX_USAGE, "refused: '%s' is not a count", count);
	if (fg_store_refused_list(store, list_name, (size_t)max, &entries, &n,
				  &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	for (size_t i = 0; i < n; i++) {
		print_refused_line(entries[i], "");
		for (size_t f = 0; f < FG_N_ELEMENTS(fields); f++) {
			const char *v = fg_entry_get(entries[i], fields[f]);
			if (v != NULL && *v != '\0')
				printf("  %s: %s\n", fields[f], v);
		}
	}
	fg_entries_free(entries, n);
	fprintf(stderr, "%zu refused post%s\n", n, n == 1 ? "" : "s");
	return EX_OK;
}

/* cmd_replay - dead letters back to the end of their queue */
static int cmd_replay(struct fg_store *store, const char *list_name,
		      const char *id)
{
	struct fg_list *list = need_list(store, list_name);
	long long moved, total = 0;
	const char *error;
	bool all = strcmp(id, "all") == 0;

	fg_list_free(&list);
	if (!all && strspn(id, "0123456789-") != strlen(id))
		die(EX_USAGE, "replay: '%s' is not an entry id (see: %s dead "
		    "%s) or 'all'", id, progname, list_name);
	do {
		if (fg_store_dead_replay(store, list_name, all ? NULL : id,
					 &moved, &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		total += moved;
	} while (all && moved > 0);
	if (!all && total == 0)
		die(EX_DATAERR, "no dead letter %s in list %s", id, list_name);
	printf("replayed %lld dead letter%s\n", total, total == 1 ? "" : "s");
	return EX_OK;
}

/* cmd_author - set or delete one address -> forum user mapping */
static int cmd_author(struct fg_store *store, int argc, char **argv)
{
	const char *error;
	int ret;

	if (argc >= 2 && strchr(argv[1], '@') == NULL)
		die(EX_USAGE, "'%s' is not a mail address", argv[1]);
	if (argc == 3 && strcmp(argv[0], "set") == 0) {
		if (argv[2][0] == '\0' || strpbrk(argv[2], "\r\n") != NULL)
			die(EX_USAGE, "invalid forum user '%s'", argv[2]);
		if (fg_store_author_set(store, argv[1], argv[2], &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
		return EX_OK;
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		ret = fg_store_author_del(store, argv[1], &error);
		if (ret < 0)
			die(EX_TEMPFAIL, "%s", error);
		if (ret == 0)
			die(EX_UNAVAILABLE, "no author mapping for %s",
			    argv[1]);
		return EX_OK;
	}
	usage();
}

/* cmd_authors - "address user" lines */
static int cmd_authors(struct fg_store *store)
{
	char **addresses, **users;
	size_t n;
	const char *error;

	if (fg_store_authors(store, &addresses, &users, &n, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", addresses[i], users[i]);
	fg_strv_free(addresses, n);
	fg_strv_free(users, n);
	return EX_OK;
}

int main(int argc, char *argv[])
{
	const char *config_path = FG_DEFAULT_CONFIG_PATH;
	struct fg_config *config;
	struct fg_store *store;
	int c, ret;

	while ((c = getopt(argc, argv, "+c:h")) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if (strcmp(argv[0], "parse") == 0) {
		/* parse works without Redis and without a config file,
		   unless a list is named */
		static const struct option opts[] = {
			{ "format", required_argument, NULL, 'F' },
			{ "list", required_argument, NULL, 'l' },
			{ "envelope-from", required_argument, NULL, 'e' },
			{ "envelope-to", required_argument, NULL, 't' },
			{ "footer", required_argument, NULL, 'f' },
			{ NULL, 0, NULL, 0 }
		};
		struct parse_options po = { 0 };
		char *footer_text = NULL;
		int c;

		optind = 1;
		while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			switch (c) {
			case 'F': po.format = optarg; break;
			case 'l': po.list = optarg; break;
			case 'e': po.envelope_from = optarg; break;
			case 't': po.envelope_to = optarg; break;
			case 'f': po.footer = optarg; break;
			default: usage();
			}
		}
		if (argc - optind > 1 ||
		    (po.envelope_from != NULL && po.list == NULL))
			usage();
		if (po.footer != NULL && po.footer[0] == '@')
			po.footer = footer_text = read_footer(po.footer + 1);
		config = po.list != NULL || access(config_path, R_OK) == 0 ?
			load_config(config_path) : fg_config_defaults();
		ret = cmd_parse(config, optind < argc ? argv[optind] : "-",
				&po);
		fg_config_free(&config);
		free(footer_text);
		return ret;
	}

	config = load_config(config_path);
	store = open_store(config);
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		ret = cmd_status(store, config);
	else if (strcmp(argv[0], "lists") == 0 && argc == 1)
		ret = cmd_lists(store);
	else if (strcmp(argv[0], "list") == 0 && argc >= 3 &&
		 strcmp(argv[1], "add") == 0)
		ret = cmd_list_add(store, argc - 2, argv + 2);
	else if (strcmp(argv[0], "list") == 0 && argc == 3 &&
		 strcmp(argv[1], "show") == 0)
		ret = cmd_list_show(store, argv[2]);
	else if (strcmp(argv[0], "list") == 0 && argc == 5 &&
		 strcmp(argv[1], "set") == 0)
		ret = cmd_list_set(store, argv[2], argv[3], argv[4]);
	else if (strcmp(argv[0], "allow") == 0 && argc == 4)
		ret = cmd_address_set(store, argv[1], argv[2], argv[3],
				      fg_store_allow_add, fg_store_allow_del);
	else if (strcmp(argv[0], "member") == 0 && argc >= 3 &&
		 strcmp(argv[1], "sync") == 0)
		ret = cmd_member_sync(store, config, argc - 2, argv + 2);
	else if (strcmp(argv[0], "member") == 0 && argc == 4)
		ret = cmd_address_set(store, argv[1], argv[2], argv[3],
				      fg_store_member_add, fg_store_member_del);
	else if (strcmp(argv[0], "members") == 0 && argc == 2)
		ret = cmd_members(store, argv[1]);
	else if (strcmp(argv[0], "subscribe") == 0 ||
		 strcmp(argv[0], "unsubscribe") == 0 ||
		 strcmp(argv[0], "subscribers") == 0)
		ret = cmd_subscribers(store, argc, argv);
	else if (strcmp(argv[0], "held") == 0 ||
		 strcmp(argv[0], "approve") == 0 ||
		 strcmp(argv[0], "reject") == 0)
		ret = cmd_held(store, config, argc, argv);
	else if (strcmp(argv[0], "digest") == 0 &&
		 (argc == 2 || argc == 3))
		ret = cmd_digest(store, argc - 1, argv + 1);
	else if (strcmp(argv[0], "dead") == 0 && argc == 2)
		ret = cmd_dead(store, argv[1]);
	else if (strcmp(argv[0], "refused") == 0 && (argc == 2 || argc == 3))
		ret = cmd_refused(store, argv[1], argc == 3 ? argv[2] : NULL);
	else if (strcmp(argv[0], "replay") == 0 && argc == 3)
		ret = cmd_replay(store, argv[1], argv[2]);
	else if (strcmp(argv[0], "author") == 0 && argc >= 3)
		ret = cmd_author(store, argc - 1, argv + 1);
	else if (strcmp(argv[0], "authors") == 0 && argc == 1)
		ret = cmd_authors(store);
	else
		usage();
	fg_store_free(&store);
	fg_config_free(&config);
	return ret;
}
