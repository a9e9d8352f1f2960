/*
 * NAME
 *	check_store - fg-store against a real redis-server
 * DESCRIPTION
 *	Starts redis-server on a unix socket in a private directory (no
 *	TCP port), runs the store operations against it, and stops it.
 *	Skips (exit 77) when redis-server is not installed.
 */
#include "fg-common.h"
#include "fg-refusal.h"
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

static struct fg_record *make_record(const char *msgid, const char *subject)
{
	struct fg_record *rec = fg_xcalloc(1, sizeof(*rec));

	rec->message_id = fg_xstrdup(msgid);
	rec->in_reply_to = fg_xstrdup("parent@example.org");
	rec->references = fg_xcalloc(3, sizeof(char *));
	rec->references[0] = fg_xstrdup("root@example.org");
	rec->references[1] = fg_xstrdup("parent@example.org");
	rec->n_references = 2;
	rec->subject = fg_xstrdup(subject);
	rec->title = fg_xstrdup(subject);
	rec->from_name = fg_xstrdup("Ann Example");
	rec->from_email = fg_xstrdup("ann@example.org");
	rec->date = fg_xstrdup("2026-11-23T10:00:00Z");
	rec->body = fg_xstrdup("body with spaces\nand\0NUL?");
	rec->reason = fg_xstrdup("");
	return rec;
}

/* redis_int - an integer answer of redis-cli (args shell-quoted) */
static long long redis_int(const char *args)
{
	char cmd[1024], out[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", sock_path, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(out, sizeof(out), f) == NULL)
		out[0] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	return strtoll(out, NULL, 10);
}

/* list_serial - GET fg:{LIST}:serial with redis-cli (0 when not set) */
static long list_serial(const char *list)
{
	char args[256];

	snprintf(args, sizeof(args), "GET 'fg:{%s}:serial'", list);
	return (long)redis_int(args);
}

START_TEST(test_review_queue)
{
	struct fg_review held = {
		.held_id = "reply-17", .at = 2000, .topic_id = 12,
		.author = "7", .fingerprint = "ab12",
		.message_id = "held@example.org", .title = "tab\there",
	};
	struct fg_review older = {
		.held_id = "9", .at = 1000, .topic_id = 0, .author = "ann",
		.fingerprint = "cd34", .message_id = "new@example.org",
		.title = "A new topic",
	};
	struct fg_review *r;
	struct fg_entry **log;
	char **outcomes, **counts;
	long long waiting;
	const char *error;
	size_t n, n_log;

	ck_assert_int_eq(fg_store_review_add(store, "rq", &held, &error), 0);
	ck_assert_int_eq(fg_store_review_add(store, "rq", &older, &error), 0);
	ck_assert_int_eq(fg_store_review_all(store, "rq", &r, &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	/* oldest first, every field back, the tab made a space */
	ck_assert_str_eq(r[0].held_id, "9");
	ck_assert_int_eq(r[0].topic_id, 0);
	ck_assert_str_eq(r[0].title, "A new topic");
	ck_assert_str_eq(r[1].held_id, "reply-17");
	ck_assert_int_eq(r[1].at, 2000);
	ck_assert_int_eq(r[1].topic_id, 12);
	ck_assert_str_eq(r[1].author, "7");
	ck_assert_str_eq(r[1].fingerprint, "ab12");
	ck_assert_str_eq(r[1].message_id, "held@example.org");
	ck_assert_str_eq(r[1].title, "tab here");
	fg_reviews_free(r, n);

	ck_assert_int_eq(fg_store_review_end(store, "rq", "reply-17",
					     "rejected", &error), 1);
	ck_assert_int_eq(fg_store_review_end(store, "rq", "reply-17",
					     "rejected", &error), 0);
	ck_assert_int_eq(fg_store_review_end(store, "rq", "9", "approved",
					     &error), 1);
	ck_assert_int_eq(fg_store_review_counts(store, "rq", &waiting,
						&outcomes, &counts, &n,
						&error), 0);
	ck_assert_int_eq(waiting, 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(outcomes[0], "approved");
	ck_assert_str_eq(counts[0], "1");
	ck_assert_str_eq(outcomes[1], "rejected");
	ck_assert_str_eq(counts[1], "1");
	fg_strv_free(outcomes, n);
	fg_strv_free(counts, n);
	ck_assert_int_eq(fg_store_review_log(store, "rq", 5, &log, &n_log,
					     &error), 0);
	ck_assert_uint_eq(n_log, 2);
	ck_assert_str_eq(fg_entry_get(log[0], "outcome"), "approved");
	ck_assert_str_eq(fg_entry_get(log[1], "outcome"), "rejected");
	ck_assert_str_eq(fg_entry_get(log[1], "held_id"), "reply-17");
	ck_assert_str_eq(fg_entry_get(log[1], "message_id"),
			 "held@example.org");
	ck_assert_str_eq(fg_entry_get(log[1], "topic_id"), "12");
	ck_assert_str_eq(fg_entry_get(log[1], "queued_at"), "2000");
	fg_entries_free(log, n_log);
}
END_TEST

START_TEST(test_topic_list)
{
	const char *error;
	char *name;

	ck_assert_int_eq(fg_store_list_by_topic(store, 41, &name, &error), 0);
	ck_assert_int_eq(fg_store_topic_set(store, 41, "first", &error), 0);
	/* the list that had the topic first keeps it */
	ck_assert_int_eq(fg_store_topic_set(store, 41, "second", &error), 0);
	ck_assert_int_eq(fg_store_list_by_topic(store, 41, &name, &error), 1);
	ck_assert_str_eq(name, "first");
	free(name);
	ck_assert_int_eq(fg_store_list_by_topic(store, 0, &name, &error), 0);
}
END_TEST

START_TEST(test_topics_fill)
{
	struct fg_post_ref ref = { .topic_id = 51, .post_number = 1,
				   .post_id = 900 };
	const char *error;
	long long added;
	char *name;

	ck_assert_int_eq(fg_store_map_post(store, "tf", "a@example.org", &ref,
					   NULL, &error), 0);
	ref.post_number = 2;
	ref.post_id = 901;
	ck_assert_int_eq(fg_store_map_post(store, "tf", "b@example.org", &ref,
					   NULL, &error), 0);
	ref.topic_id = 52;
	ck_assert_int_eq(fg_store_map_post(store, "tf", "c@example.org", &ref,
					   NULL, &error), 0);
	ck_assert_int_eq(fg_store_topics_fill(store, "tf", &added, &error), 1);
	ck_assert_int_eq(added, 2);
	ck_assert_int_eq(fg_store_list_by_topic(store, 52, &name, &error), 1);
	ck_assert_str_eq(name, "tf");
	free(name);
	/* once per list */
	ck_assert_int_eq(redis_int("HDEL fg:topics 52"), 1);
	ck_assert_int_eq(fg_store_topics_fill(store, "tf", &added, &error), 0);
	ck_assert_int_eq(fg_store_list_by_topic(store, 52, &name, &error), 0);
}
END_TEST

START_TEST(test_changes_counted)
{
	struct fg_list def = { .name = "serials", .address = "serials@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 0 };
	const char *error;
	long serial;

	/* each change of members, allow list or config counts once */
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	serial = list_serial("serials");
	ck_assert_int_ge(serial, 1);
	ck_assert_int_eq(fg_store_member_add(store, "serials", "a@example.org",
					     &error), 0);
	ck_assert_int_eq(list_serial("serials"), serial + 1);
	ck_assert_int_eq(fg_store_member_del(store, "serials", "a@example.org",
					     &error), 0);
	ck_assert_int_eq(list_serial("serials"), serial + 2);
	ck_assert_int_eq(fg_store_allow_add(store, "serials", "m@example.org",
					    &error), 0);
	ck_assert_int_eq(fg_store_allow_del(store, "serials", "m@example.org",
					    &error), 0);
	ck_assert_int_eq(list_serial("serials"), serial + 4);
	ck_assert_int_eq(fg_store_list_set(store, "serials", "access", "open",
					   &error), 0);
	ck_assert_int_eq(list_serial("serials"), serial + 5);
	/* reading changes nothing */
	ck_assert_int_eq(fg_store_is_member(store, "serials", "a@example.org",
					    &error), 0);
	ck_assert_int_eq(list_serial("serials"), serial + 5);
	/* another list's serial is its own */
	ck_assert_int_eq(list_serial("nolist"), 0);
}
END_TEST

START_TEST(test_list_footer)
{
	struct fg_list def = {
		.name = "footed", .address = "footed@lists.example",
		.bridge_recipient = "bridge-footed@lists.example",
	};
	struct fg_list *list;
	const char *error;

	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "footed", &list, &error), 1);
	ck_assert_ptr_null(list->footer);
	fg_list_free(&list);
	ck_assert_int_eq(fg_store_list_set(store, "footed", "footer",
					   "-- \nForum rules\n", &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "footed", &list, &error), 1);
	ck_assert_str_eq(list->footer, "-- \nForum rules\n");
	fg_list_free(&list);
	/* a new definition of the list keeps its footer */
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "footed", &list, &error), 1);
	ck_assert_str_eq(list->footer, "-- \nForum rules\n");
	fg_list_free(&list);
	/* NULL deletes the field */
	ck_assert_int_eq(fg_store_list_set(store, "footed", "footer", NULL,
					   &error), 0);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{footed}:config' footer"), 0);
	ck_assert_int_eq(fg_store_list_get(store, "footed", &list, &error), 1);
	ck_assert_ptr_null(list->footer);
	fg_list_free(&list);
}
END_TEST

START_TEST(test_list_address_taken)
{
	struct fg_list one = { .name = "takeone", .address = "take@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 71 };
	struct fg_list two = { .name = "taketwo", .address = "take@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 72 };
	struct fg_list three = { .name = "takethree", .address = "three@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 71 };
	struct fg_list *list;
	char *name;
	const char *error;
	long serial_one;

	ck_assert_int_eq(fg_store_list_add(store, &one, &error), 0);
	serial_one = list_serial("takeone");

	/* another list's address is refused, naming that list, and
	   nothing of the refused list is written */
	ck_assert_int_eq(fg_store_list_add(store, &two, &error),
			 FG_STORE_TAKEN);
	ck_assert_ptr_nonnull(strstr(error, "address take@lists.example"));
	ck_assert_ptr_nonnull(strstr(error, "'takeone'"));
	ck_assert_int_eq(fg_store_list_get(store, "taketwo", &list, &error), 0);
	ck_assert_int_eq(fg_store_list_by_category(store, 72, &name, &error),
			 0);
	ck_assert_int_eq(redis_int("SISMEMBER fg:lists taketwo"), 0);
	/* so is its category */
	ck_assert_int_eq(fg_store_list_add(store, &three, &error),
			 FG_STORE_TAKEN);
	ck_assert_ptr_nonnull(strstr(error, "category 71"));
	ck_assert_ptr_nonnull(strstr(error, "'takeone'"));
	ck_assert_int_eq(fg_store_list_get(store, "takethree", &list, &error),
			 0);
	ck_assert_int_eq(list_serial("takeone"), serial_one);
	/* a list redefined with its own address and category is fine */
	ck_assert_int_eq(fg_store_list_add(store, &one, &error), 0);

	/* taking them moves them: the other list loses the category */
	ck_assert_int_eq(fg_store_list_take(store, &three, &error), 0);
	ck_assert_int_eq(fg_store_list_by_category(store, 71, &name, &error),
			 1);
	ck_assert_str_eq(name, "takethree");
	free(name);
	ck_assert_int_eq(fg_store_list_get(store, "takeone", &list, &error), 1);
	ck_assert_int_eq(list->category, 0);
	ck_assert_str_eq(list->address, "take@lists.example");
	fg_list_free(&list);
	ck_assert_int_gt(list_serial("takeone"), serial_one);
	serial_one = list_serial("takeone");
	/* and the address */
	ck_assert_int_eq(fg_store_list_take(store, &two, &error), 0);
	ck_assert_int_eq(fg_store_list_by_address(store, "take@lists.example",
						  &name, &error), 1);
	ck_assert_str_eq(name, "taketwo");
	free(name);
	ck_assert_int_eq(fg_store_list_get(store, "takeone", &list, &error), 1);
	ck_assert_str_eq(list->address, "");
	fg_list_free(&list);
	ck_assert_int_gt(list_serial("takeone"), serial_one);
	/* the list that lost its address can be given a new one, and
	   removes nothing of the list that took the old */
	one.address = "one@lists.example";
	one.category = 0;
	ck_assert_int_eq(fg_store_list_add(store, &one, &error), 0);
	ck_assert_int_eq(fg_store_list_by_address(store, "take@lists.example",
						  &name, &error), 1);
	ck_assert_str_eq(name, "taketwo");
	free(name);
	ck_assert_int_eq(fg_store_list_by_category(store, 71, &name, &error),
			 1);
	ck_assert_str_eq(name, "takethree");
	free(name);
}
END_TEST

START_TEST(test_list_and_members)
{
	struct fg_list def = { .name = "forum", .address = "forum@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 5 };
	struct fg_list *list;
	char *name, **names;
	size_t n;
	const char *error;

	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "forum", &list, &error), 1);
	ck_assert_str_eq(list->address, "forum@lists.example");
	ck_assert_str_eq(list->bridge_recipient, "bridge@lists.example");
	ck_assert_int_eq(list->category, 5);
	fg_list_free(&list);
	ck_assert_int_eq(fg_store_list_get(store, "nolist", &list, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "Bad Name", &list, &error), 0);
	ck_assert_int_eq(fg_store_list_by_address(store, "FORUM@lists.example",
						  &name, &error), 1);
	ck_assert_str_eq(name, "forum");
	free(name);
	ck_assert_int_eq(fg_store_list_by_category(store, 5, &name, &error), 1);
	ck_assert_str_eq(name, "forum");
	free(name);
	ck_assert_int_eq(fg_store_lists(store, &names, &n, &error), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "forum");
	fg_strv_free(names, n);

	/* moving the list to another address and category drops the old */
	struct fg_list moved = { .name = "forum", .address = "talk@lists.example",
		.bridge_recipient = "bridge@lists.example", .category = 6 };
	ck_assert_int_eq(fg_store_list_add(store, &moved, &error), 0);
	ck_assert_int_eq(fg_store_list_by_address(store, "forum@lists.example",
						  &name, &error), 0);
	ck_assert_int_eq(fg_store_list_by_category(store, 5, &name, &error), 0);
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "forum", &list, &error), 1);
	ck_assert_ptr_null(list->unsubscribe);
	fg_list_free(&list);

	/* an unsubscribe URI is kept with the definition, and a
	   definition without one removes it */
	def.unsubscribe = "mailto:forum+unsubscribe@lists.example";
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "forum", &list, &error), 1);
	ck_assert_str_eq(list->unsubscribe,
			 "mailto:forum+unsubscribe@lists.example");
	fg_list_free(&list);
	def.unsubscribe = NULL;
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "forum", &list, &error), 1);
	ck_assert_ptr_null(list->unsubscribe);
	fg_list_free(&list);

	struct fg_list bad = { .name = "no way", .address = "x@y",
		.bridge_recipient = "z@y", .category = 0 };
	ck_assert_int_eq(fg_store_list_add(store, &bad, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid list name"));

	ck_assert_int_eq(fg_store_member_add(store, "forum", " Alice@Example.ORG ",
					     &error), 0);
	ck_assert_int_eq(fg_store_is_member(store, "forum", "alice@example.org",
					    &error), 1);
	ck_assert_int_eq(fg_store_is_member(store, "forum", "ALICE@example.org",
					    &error), 1);
	ck_assert_int_eq(fg_store_is_member(store, "forum", "bob@example.org",
					    &error), 0);
	ck_assert_int_eq(fg_store_members(store, "forum", &names, &n, &error), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "alice@example.org");
	fg_strv_free(names, n);
	ck_assert_int_eq(fg_store_member_del(store, "forum", "alice@example.org",
					     &error), 0);
	ck_assert_int_eq(fg_store_is_member(store, "forum", "alice@example.org",
					    &error), 0);
}
END_TEST

START_TEST(test_list_listmail_fields)
{
	struct fg_list def = {
		.name = "mm", .address = "mm@lists.example",
		.bridge_recipient = "bridge-mm@lists.example",
		.list_id = "mm.example.org",
		.return_path = "mm+bnc*@groups.example",
	};
	struct fg_list *list;
	const char *error;

	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "mm", &list, &error), 1);
	ck_assert_str_eq(list->list_id, "mm.example.org");
	ck_assert_str_eq(list->return_path, "mm+bnc*@groups.example");
	fg_list_free(&list);
	/* the bridge recipient, for the policy daemon */
	ck_assert_int_eq(redis_int("HEXISTS fg:bridges "
				   "bridge-mm@lists.example"), 1);
	/* a definition without them goes back to the defaults */
	def.list_id = def.return_path = NULL;
	def.bridge_recipient = "bridge2-mm@lists.example";
	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "mm", &list, &error), 1);
	ck_assert_ptr_null(list->list_id);
	ck_assert_ptr_null(list->return_path);
	fg_list_free(&list);
	ck_assert_int_eq(redis_int("HEXISTS fg:bridges "
				   "bridge-mm@lists.example"), 0);
	ck_assert_int_eq(redis_int("HEXISTS fg:bridges "
				   "bridge2-mm@lists.example"), 1);
	/* a list defined before fg:bridges existed is entered once */
	ck_assert_int_eq(fg_store_bridge_register(store, &def, &error), 0);
	ck_assert_int_eq(redis_int("HDEL fg:bridges "
				   "bridge2-mm@lists.example"), 1);
	ck_assert_int_eq(fg_store_bridge_register(store, &def, &error), 1);
	ck_assert_int_eq(redis_int("HEXISTS fg:bridges "
				   "bridge2-mm@lists.example"), 1);
	ck_assert_int_eq(fg_store_bridge_register(store, &def, &error), 0);
	/* list set, and "" as the default */
	ck_assert_int_eq(fg_store_list_set(store, "mm", "list_id",
					   "other.example.org", &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "mm", &list, &error), 1);
	ck_assert_str_eq(list->list_id, "other.example.org");
	fg_list_free(&list);
	ck_assert_int_eq(fg_store_list_set(store, "mm", "list_id", "",
					   &error), 0);
	ck_assert_int_eq(fg_store_list_get(store, "mm", &list, &error), 1);
	ck_assert_ptr_null(list->list_id);
	fg_list_free(&list);
}
END_TEST

/* replaced - fg_store_members_replace() with these addresses */
static int replaced(const char *list, const char *const *addrs, size_t n,
		    bool allow_empty, struct fg_member_diff *diff)
{
	const char *error;
	int ret = fg_store_members_replace(store, list, (char *const *)addrs,
					   n, allow_empty, diff, &error);

	if (ret == -1)
		ck_abort_msg("members replace: %s", error);
	return ret;
}

START_TEST(test_members_replace)
{
	struct fg_list def = { .name = "sync", .address = "sync@lists.example",
		.bridge_recipient = "bridge-sync@lists.example", .category = 0 };
	const char *first[] = { "Alice@Example.ORG ", "bob@example.org",
				"bob@example.org" };
	const char *second[] = { "bob@example.org", "carol@example.org" };
	struct fg_member_diff diff;
	char **names;
	size_t n;
	long serial;
	const char *error;

	ck_assert_int_eq(fg_store_list_add(store, &def, &error), 0);
	ck_assert_int_eq(fg_store_member_add(store, "sync", "old@example.org",
					     &error), 0);
	serial = list_serial("sync");
	ck_assert_int_eq(replaced("sync", first, 3, false, &diff), 1);
	ck_assert_uint_eq(diff.n_added, 2);
	ck_assert_str_eq(diff.added[0], "alice@example.org");
	ck_assert_str_eq(diff.added[1], "bob@example.org");
	ck_assert_uint_eq(diff.n_removed, 1);
	ck_assert_str_eq(diff.removed[0], "old@example.org");
	fg_member_diff_free(&diff);
	ck_assert_int_eq(list_serial("sync"), serial + 1);
	ck_assert_int_eq(fg_store_is_member(store, "sync", "alice@example.org",
					    &error), 1);
	ck_assert_int_eq(fg_store_is_member(store, "sync", "old@example.org",
					    &error), 0);

	/* the same members again: no change, not counted */
	ck_assert_int_eq(replaced("sync", first, 3, false, &diff), 0);
	ck_assert_uint_eq(diff.n_added + diff.n_removed, 0);
	fg_member_diff_free(&diff);
	ck_assert_int_eq(list_serial("sync"), serial + 1);

	ck_assert_int_eq(replaced("sync", second, 2, false, &diff), 1);
	ck_assert_uint_eq(diff.n_added, 1);
	ck_assert_uint_eq(diff.n_removed, 1);
	ck_assert_str_eq(diff.removed[0], "alice@example.org");
	fg_member_diff_free(&diff);

	/* no one: refused (nothing changes) unless allowed */
	ck_assert_int_eq(replaced("sync", NULL, 0, false, &diff),
			 FG_STORE_EMPTY);
	ck_assert_int_eq(fg_store_members(store, "sync", &names, &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	fg_strv_free(names, n);
	ck_assert_int_eq(list_serial("sync"), serial + 2);
	ck_assert_int_eq(replaced("sync", NULL, 0, true, &diff), 1);
	ck_assert_uint_eq(diff.n_removed, 2);
	fg_member_diff_free(&diff);
	ck_assert_int_eq(fg_store_members(store, "sync", &names, &n, &error), 0);
	ck_assert_uint_eq(n, 0);
	fg_strv_free(names, n);
	/* an empty roster for an empty list is no change */
	ck_assert_int_eq(replaced("sync", NULL, 0, false, &diff), 0);
	fg_member_diff_free(&diff);

	/* more members than one SADD slice of the script */
	char **many = fg_xcalloc(2500, sizeof(char *));
	for (size_t i = 0; i < 2500; i++)
		many[i] = fg_xasprintf("m%zu@example.org", i);
	ck_assert_int_eq(replaced("sync", (const char *const *)many, 2500,
				  false, &diff), 1);
	ck_assert_uint_eq(diff.n_added, 2500);
	fg_member_diff_free(&diff);
	fg_strv_free(many, 2500);
	ck_assert_int_eq(redis_int("SCARD 'fg:{sync}:members'"), 2500);
	ck_assert_int_eq(fg_store_members_replace(store, "bad name", NULL, 0,
						  true, &diff, &error), -1);
}
END_TEST

START_TEST(test_inbound_queue_once_in_order)
{
	struct fg_record *rec;
	struct fg_entry *entry;
	const char *error;
	long long len;

	for (int i = 0; i < 3; i++) {
		char id[32], subject[32];
		snprintf(id, sizeof(id), "m%d@example.org", i);
		snprintf(subject, sizeof(subject), "subject %d", i);
		rec = make_record(id, subject);
		if (i == 0) {
			/* a trailing quote's place and the sketches */
			rec->quote_start = 4;
			rec->quote_end = 10;
			rec->quote_sketch = fg_xstrdup("00000003");
			rec->text_sketch = fg_xstrdup("00000004");
		} else if (i == 1) {
			/* a place outside the body is not believed */
			rec->quote_start = 4;
			rec->quote_end = 1000;
			rec->quote_sketch = fg_xstrdup("00000003");
		}
		ck_assert_int_eq(fg_store_inbound_add(store, "q1", rec, &error), 1);
		/* the same Message-ID again: queued once */
		ck_assert_int_eq(fg_store_inbound_add(store, "q1", rec, &error), 0);
		fg_record_free(&rec);
	}
	ck_assert_int_eq(fg_store_queue_len(store, "q1", FG_QUEUE_INBOUND, &len,
					    &error), 0);
	ck_assert_int_eq(len, 3);

	/* m0 is handed out, not done: it comes back first, also to the
	   same consumer after a restart */
	ck_assert_int_eq(fg_store_queue_read(store, "q1", FG_QUEUE_INBOUND, "c1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "m0@example.org");
	fg_entry_free(&entry);
	ck_assert_int_eq(fg_store_queue_read(store, "q1", FG_QUEUE_INBOUND, "c1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "m0@example.org");
	rec = fg_record_from_entry(entry);
	ck_assert_str_eq(rec->in_reply_to, "parent@example.org");
	ck_assert_uint_eq(rec->n_references, 2);
	ck_assert_str_eq(rec->references[0], "root@example.org");
	ck_assert_str_eq(rec->references[1], "parent@example.org");
	ck_assert_str_eq(rec->from_name, "Ann Example");
	ck_assert_str_eq(rec->body, "body with spaces\nand");
	ck_assert_uint_eq(rec->quote_start, 4);
	ck_assert_uint_eq(rec->quote_end, 10);
	ck_assert_str_eq(rec->quote_sketch, "00000003");
	ck_assert_str_eq(rec->text_sketch, "00000004");
	fg_record_free(&rec);
	ck_assert_int_eq(fg_store_queue_done(store, "q1", FG_QUEUE_INBOUND,
					     entry->id, &error), 0);
	fg_entry_free(&entry);

	ck_assert_int_eq(fg_store_queue_read(store, "q1", FG_QUEUE_INBOUND, "c1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "m1@example.org");
	rec = fg_record_from_entry(entry);
	ck_assert_ptr_null(rec->quote_sketch);
	ck_assert_uint_eq(rec->quote_end, 0);
	ck_assert_ptr_null(rec->text_sketch);
	fg_record_free(&rec);
	ck_assert_int_eq(fg_store_queue_dead(store, "q1", FG_QUEUE_INBOUND, entry,
					     "422 Title is too short", &error), 0);
	fg_entry_free(&entry);

	ck_assert_int_eq(fg_store_queue_read(store, "q1", FG_QUEUE_INBOUND, "c1",
					     100, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "m2@example.org");
	ck_assert_int_eq(fg_store_queue_done(store, "q1", FG_QUEUE_INBOUND,
					     entry->id, &error), 0);
	fg_entry_free(&entry);
	/* empty: waits block_ms and returns 0 */
	ck_assert_int_eq(fg_store_queue_read(store, "q1", FG_QUEUE_INBOUND, "c1",
					     50, &entry, &error), 0);
	ck_assert_int_eq(fg_store_queue_len(store, "q1", FG_QUEUE_INBOUND, &len,
					    &error), 0);
	ck_assert_int_eq(len, 0);
}
END_TEST

START_TEST(test_outbound_and_maps)
{
	struct fg_post post = { .post_id = 101, .topic_id = 10,
				.post_number = 2, .reply_to_post_number = 1,
				.category_id = 5, .username = "bob",
				.user_id = 17, .name = "Bob", .topic_title = "Hello there",
				.raw = "Hi!\r\nBcc: x", .created_at = "now" };
	struct fg_post_ref ref = { 10, 2, 101, 1, 0 }, got;
	struct fg_entry *entry;
	struct fg_post *back;
	char *msgid;
	const char *error;

	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 1);
	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 0);
	ck_assert_int_eq(fg_store_queue_read(store, "q2", FG_QUEUE_OUTBOUND,
					     "c1", 0, &entry, &error), 1);
	back = fg_post_from_entry(entry);
	ck_assert_int_eq(back->post_id, 101);
	ck_assert_int_eq(back->reply_to_post_number, 1);
	ck_assert_int_eq(back->user_id, 17);
	ck_assert_str_eq(back->raw, "Hi!\r\nBcc: x");
	ck_assert_ptr_null(back->cooked);
	ck_assert_str_eq(back->topic_title, "Hello there");
	fg_post_free(&back);
	fg_entry_free(&entry);

	/* each revision of an edit is queued once, apart from the post */
	post.revision = 2;
	post.raw = "Hi, edited";
	post.cooked = "<p dir=\"auto\">Hi, edited</p>";
	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 1);
	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 0);
	post.revision = 3;
	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 1);
	post.revision = 0;
	ck_assert_int_eq(fg_store_outbound_add(store, "q2", &post, &error), 0);
	for (long long rev = 2; rev <= 3; rev++) {
		ck_assert_int_eq(fg_store_queue_read(store, "q2",
						     FG_QUEUE_OUTBOUND, "c2",
						     0, &entry, &error), 1);
		back = fg_post_from_entry(entry);
		ck_assert_int_eq(back->post_id, 101);
		ck_assert_int_eq(back->revision, rev);
		ck_assert_str_eq(back->raw, "Hi, edited");
		ck_assert_str_eq(back->cooked,
				 "<p dir=\"auto\">Hi, edited</p>");
		ck_assert_int_eq(fg_store_queue_done(store, "q2",
						     FG_QUEUE_OUTBOUND,
						     entry->id, &error), 0);
		fg_post_free(&back);
		fg_entry_free(&entry);
	}

	ck_assert_int_eq(fg_store_map_post(store, "q2", "a@b", &ref,
					   "0000000a 000000ff", &error), 0);
	/* the sketch of the post's text, kept with the maps */
	char *sketch;
	ck_assert_int_eq(fg_store_text_get(store, "q2", "a@b", &sketch,
					   &error), 1);
	ck_assert_str_eq(sketch, "0000000a 000000ff");
	free(sketch);
	ck_assert_int_eq(fg_store_text_get(store, "q2", "x@y", &sketch,
					   &error), 0);
	ck_assert_ptr_null(sketch);
	ck_assert_int_eq(fg_store_lookup_msgid(store, "q2", "a@b", &got,
					       &error), 1);
	ck_assert_int_eq(got.topic_id, 10);
	ck_assert_int_eq(got.post_number, 2);
	ck_assert_int_eq(got.post_id, 101);
	ck_assert_int_eq(got.parent_post_number, 1);
	ck_assert_int_eq(fg_store_lookup_msgid(store, "q2", "x@y", &got,
					       &error), 0);
	ck_assert_int_eq(fg_store_lookup_post(store, "q2", 10, 2, 0, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "a@b");
	ck_assert_int_eq(got.post_id, 101);
	free(msgid);
	/* by id: the place does not matter */
	ck_assert_int_eq(fg_store_lookup_post(store, "q2", 10, 7, 101, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "a@b");
	free(msgid);
	/* another post with the number 2 (NodeBB after a purge) */
	ck_assert_int_eq(fg_store_lookup_post(store, "q2", 10, 2, 105, &msgid,
					      &got, &error), 0);
	ck_assert_ptr_null(msgid);
	ck_assert_int_eq(fg_store_lookup_post(store, "q2", 10, 3, 0, &msgid,
					      &got, &error), 0);
	ck_assert_ptr_null(msgid);
}
END_TEST

/* Maps as releases before the id field wrote them (doc/redis-schema.md
   of that release: post-msgid "TOPIC:POST_NUMBER" -> Message-ID,
   msgid-post Message-ID -> "TOPIC:POST_NUMBER:POST_ID:PARENT"): a
   lookup by id finds the post and adds its id field; a post that has
   the number now but another id is not taken for it. */
START_TEST(test_maps_upgraded_by_id)
{
	struct fg_post_ref got, ref = { .topic_id = 20, .post_number = 4,
				        .post_id = 205, .parent_post_number = 3,
				        .parent_post_id = 204 };
	const char *error;
	char *msgid;

	ck_assert_int_eq(redis_int("HSET 'fg:{up}:post-msgid' 20:3 "
				   "'old3@example.org'"), 1);
	ck_assert_int_eq(redis_int("HSET 'fg:{up}:msgid-post' "
				   "'old3@example.org' 20:3:203:1"), 1);
	ck_assert_int_eq(fg_store_lookup_msgid(store, "up", "old3@example.org",
					       &got, &error), 1);
	ck_assert_int_eq(got.post_id, 203);
	ck_assert_int_eq(got.parent_post_number, 1);
	ck_assert_int_eq(got.parent_post_id, 0);
	/* post 203, NodeBB number 3 then: mapped by the old release */
	ck_assert_int_eq(fg_store_lookup_post(store, "up", 20, 3, 203, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "old3@example.org");
	free(msgid);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up}:post-msgid' 203"), 1);
	/* found by id alone now (it has another number after a purge) */
	ck_assert_int_eq(fg_store_lookup_post(store, "up", 20, 2, 203, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "old3@example.org");
	free(msgid);
	/* a new post that got number 3 is not the old one */
	ck_assert_int_eq(fg_store_lookup_post(store, "up", 20, 3, 206, &msgid,
					      &got, &error), 0);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up}:post-msgid' 206"), 0);
	/* the new release writes both fields and the parent's id */
	ck_assert_int_eq(fg_store_map_post(store, "up", "new4@example.org",
					   &ref, NULL, &error), 0);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up}:post-msgid' 205"), 1);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up}:post-msgid' 20:4"), 1);
	ck_assert_int_eq(fg_store_lookup_post(store, "up", 20, 4, 205, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "new4@example.org");
	ck_assert_int_eq(got.parent_post_id, 204);
	ck_assert_int_eq(got.parent_post_number, 3);
	free(msgid);
}
END_TEST

/* The one-time upgrade: every msgid-post entry gives its post an id
   field, even where the place field names a later post by now (a
   NodeBB purge); fields the daemon wrote are kept; once only. */
START_TEST(test_maps_upgrade_once)
{
	const char *error;
	long long added;
	char *msgid;
	struct fg_post_ref got;

	ck_assert_int_eq(redis_int("HSET 'fg:{up2}:msgid-post' "
				   "'a@example.org' 30:2:302:1 "
				   "'b@example.org' 30:3:303:2 "
				   "'c@example.org' 30:4:304:3 "
				   "'z@example.org' 30:9:0:1"), 4);
	/* b's place is another post's now; c is mapped by id already */
	ck_assert_int_eq(redis_int("HSET 'fg:{up2}:post-msgid' "
				   "30:2 'a@example.org' 30:3 'later@example.org' "
				   "304 'c@example.org'"), 3);
	ck_assert_int_eq(fg_store_maps_upgrade(store, "up2", &added, &error),
			 0);
	ck_assert_int_eq(added, 2);
	ck_assert_int_eq(redis_int("GET 'fg:{up2}:maps-version'"),
			 FG_MAPS_VERSION);
	/* by pid alone: no place, as a NodeBB toPid names a parent */
	ck_assert_int_eq(fg_store_lookup_post(store, "up2", 0, 0, 303, &msgid,
					      &got, &error), 1);
	ck_assert_str_eq(msgid, "b@example.org");
	ck_assert_int_eq(got.post_number, 3);
	free(msgid);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up2}:post-msgid' 0"), 0);
	/* done: a second start changes nothing */
	ck_assert_int_eq(redis_int("HDEL 'fg:{up2}:post-msgid' 302"), 1);
	ck_assert_int_eq(fg_store_maps_upgrade(store, "up2", &added, &error),
			 0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{up2}:post-msgid' 302"), 0);
}
END_TEST

/* Two daemons on one list: one holds the lease; when it lapses the
   other takes it over together with the entry the first had in hand,
   so the list goes on in order. */
START_TEST(test_queue_lease)
{
	struct fg_record *rec;
	struct fg_entry *entry;
	char *holder;
	const char *error;

	for (int i = 0; i < 2; i++) {
		char id[32];
		snprintf(id, sizeof(id), "lease%d@example.org", i);
		rec = make_record(id, "lease");
		ck_assert_int_eq(fg_store_inbound_add(store, "q3", rec, &error), 1);
		fg_record_free(&rec);
	}
	struct fg_lease a = { "a", 0 }, b = { "b", 0 }, a_old;
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_INBOUND,
					      &a, 200, &holder, &error), 1);
	ck_assert_int_gt(a.token, 0);
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_INBOUND,
					      &b, 200, &holder, &error), 0);
	ck_assert_int_eq(b.token, 0);
	ck_assert_str_eq(holder, "a");
	free(holder);
	/* the other direction's lease is separate */
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_OUTBOUND,
					      &b, 200, NULL, &error), 1);
	b.token = 0;
	/* a takes the first entry and dies with it */
	ck_assert_int_eq(fg_store_queue_read(store, "q3", FG_QUEUE_INBOUND, "a",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "lease0@example.org");
	/* renewing keeps it, and its token */
	a_old = a;
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_INBOUND,
					      &a, 200, NULL, &error), 1);
	ck_assert_int_eq(a.token, a_old.token);
	usleep(300 * 1000);
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_INBOUND,
					      &b, 200, NULL, &error), 1);
	ck_assert_int_gt(b.token, a.token);
	/* a, stalled past its lease, can finish nothing: not acknowledge,
	   not dead-letter, not map its post (only post -> Message-ID, so
	   the post's webhook is known as the bridge's) */
	ck_assert_int_eq(fg_store_queue_ack(store, "q3", FG_QUEUE_INBOUND, &a,
					    entry->id, &error), 0);
	ck_assert_int_eq(fg_store_queue_bury(store, "q3", FG_QUEUE_INBOUND,
					     &a, entry, "x", NULL, &error), 0);
	struct fg_post_ref ref = { 7, 2, 70, 1, 0 }, got;
	char *mapped;
	ck_assert_int_eq(fg_store_queue_posted(store, "q3", FG_QUEUE_INBOUND, &a,
					       entry->id,
					       "lease0@example.org", &ref,
					       NULL, &error), 0);
	ck_assert_int_eq(fg_store_lookup_msgid(store, "q3",
					       "lease0@example.org", &got,
					       &error), 0);
	ck_assert_int_eq(fg_store_lookup_post(store, "q3", 7, 2, 70, &mapped,
					      &got, &error), 1);
	ck_assert_str_eq(mapped, "lease0@example.org");
	free(mapped);
	fg_entry_free(&entry);
	/* a restarted a (same name, no token) does not renew b's lease */
	a.token = 0;
	ck_assert_int_eq(fg_store_queue_lease(store, "q3", FG_QUEUE_INBOUND,
					      &a, 200, &holder, &error), 0);
	ck_assert_str_eq(holder, "b");
	free(holder);
	/* b resumes with a's entry, not the newer one, and finishes it */
	ck_assert_int_eq(fg_store_queue_read(store, "q3", FG_QUEUE_INBOUND, "b",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "lease0@example.org");
	ck_assert_int_eq(fg_store_posting_begin(store, "q3", entry->id, "b",
						&error), 0);
	ck_assert_int_eq(fg_store_queue_posted(store, "q3", FG_QUEUE_INBOUND, &b,
					       entry->id,
					       "lease0@example.org", &ref,
					       "00000001 00000002", &error), 1);
	char *sketch;
	ck_assert_int_eq(fg_store_text_get(store, "q3", "lease0@example.org",
					   &sketch, &error), 1);
	ck_assert_str_eq(sketch, "00000001 00000002");
	free(sketch);
	ck_assert_int_eq(fg_store_lookup_msgid(store, "q3",
					       "lease0@example.org", &got,
					       &error), 1);
	ck_assert_int_eq(got.post_id, 70);
	/* the posting mark went with the entry */
	ck_assert_int_eq(fg_store_posting_is(store, "q3", entry->id, &error),
			 0);
	fg_entry_free(&entry);
	ck_assert_int_eq(fg_store_queue_read(store, "q3", FG_QUEUE_INBOUND, "b",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "lease1@example.org");
	/* an early reply is set aside (not by a, who lost the lease), read
	   back with its fields, and finished there */
	ck_assert_int_eq(fg_store_queue_park(store, "q3", &a, entry, &error),
			 0);
	ck_assert_int_eq(fg_store_queue_park(store, "q3", &b, entry, &error),
			 1);
	struct fg_entry **waiting;
	size_t n_waiting;
	ck_assert_int_eq(fg_store_waiting(store, "q3", 10, &waiting,
					  &n_waiting, &error), 0);
	ck_assert_uint_eq(n_waiting, 1);
	ck_assert_str_eq(fg_entry_get(waiting[0], "message_id"),
			 "lease1@example.org");
	long long len = -1;
	ck_assert_int_eq(fg_store_queue_len(store, "q3", FG_QUEUE_INBOUND,
					    &len, &error), 0);
	ck_assert_int_eq(len, 0);
	ck_assert_int_eq(fg_store_queue_ack(store, "q3", FG_QUEUE_INBOUND_WAIT,
					    &b, waiting[0]->id, &error), 1);
	ck_assert_int_eq(fg_store_queue_len(store, "q3", FG_QUEUE_INBOUND_WAIT,
					    &len, &error), 0);
	ck_assert_int_eq(len, 0);
	fg_entries_free(waiting, n_waiting);
	fg_entry_free(&entry);
	const char *ids[] = { "never@example.org", "lease1@example.org",
			      "lease0@example.org" };
	size_t first = 99;
	ck_assert_int_eq(fg_store_inbound_seen(store, "q3", ids, 3, &first,
					       &error), 1);
	ck_assert_uint_eq(first, 1);
	ck_assert_int_eq(fg_store_inbound_seen(store, "q3", ids, 1, &first,
					       &error), 0);
	ck_assert_uint_eq(first, 0);
}
END_TEST

/* A consumer that died with an entry in hand: its work is not lost,
   and a broken connection is replaced on the next call. */
START_TEST(test_errors_and_reconnect)
{
	struct fg_store *bad;
	const char *error;

	ck_assert_int_eq(fg_store_connect("unix:/nonexistent/redis.sock", 200,
					  &bad, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/redis.sock"));
	ck_assert_int_eq(fg_store_connect("no-port-here", 200, &bad, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid Redis address"));

	/* kill our own connection from the server side */
	ck_assert_int_eq(fg_store_ping(store, &error), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "redis-cli -s %s CLIENT KILL TYPE normal >/dev/null", sock_path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(fg_store_ping(store, &error), -1);
	ck_assert_int_eq(fg_store_ping(store, &error), 0);
}
END_TEST

START_TEST(test_dead_letters_replay)
{
	struct fg_record *rec;
	struct fg_entry *entry, **dead;
	const char *error;
	size_t n;
	long long moved, len;

	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof(id), "d%d@example.org", i);
		rec = make_record(id, "dead letter");
		ck_assert_int_eq(fg_store_inbound_add(store, "dl", rec, &error), 1);
		fg_record_free(&rec);
		ck_assert_int_eq(fg_store_queue_read(store, "dl", FG_QUEUE_INBOUND,
						     "c1", 0, &entry, &error), 1);
		ck_assert_int_eq(fg_store_queue_dead(store, "dl", FG_QUEUE_INBOUND,
						     entry, "422 refused", &error), 0);
		fg_entry_free(&entry);
	}
	ck_assert_int_eq(fg_store_dead_list(store, "dl", NULL, 10, &dead, &n,
					    &error), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(fg_entry_get(dead[0], "message_id"), "d0@example.org");
	ck_assert_str_eq(fg_entry_get(dead[0], "reason"), "422 refused");
	ck_assert_str_eq(fg_entry_get(dead[0], "queue"), "in");
	/* the next page starts after an id */
	struct fg_entry **page;
	size_t n_page;
	ck_assert_int_eq(fg_store_dead_list(store, "dl", dead[0]->id, 1, &page,
					    &n_page, &error), 0);
	ck_assert_uint_eq(n_page, 1);
	ck_assert_str_eq(page[0]->id, dead[1]->id);
	fg_entries_free(page, n_page);
	/* one by id, back to the end of its queue without the bookkeeping */
	ck_assert_int_eq(fg_store_dead_replay(store, "dl", dead[1]->id, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 1);
	ck_assert_int_eq(fg_store_dead_replay(store, "dl", dead[1]->id, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 0);
	fg_entries_free(dead, n);
	ck_assert_int_eq(fg_store_queue_read(store, "dl", FG_QUEUE_INBOUND, "c1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "d1@example.org");
	ck_assert_ptr_null(fg_entry_get(entry, "reason"));
	ck_assert_ptr_null(fg_entry_get(entry, "entry_id"));
	rec = fg_record_from_entry(entry);
	ck_assert_str_eq(rec->references[1], "parent@example.org");
	fg_record_free(&rec);
	ck_assert_int_eq(fg_store_queue_done(store, "dl", FG_QUEUE_INBOUND,
					     entry->id, &error), 0);
	fg_entry_free(&entry);
	/* the rest, oldest first */
	ck_assert_int_eq(fg_store_dead_replay(store, "dl", NULL, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 2);
	ck_assert_int_eq(fg_store_dead_list(store, "dl", NULL, 10, &dead, &n,
					    &error), 0);
	ck_assert_uint_eq(n, 0);
	fg_entries_free(dead, n);
	ck_assert_int_eq(fg_store_queue_len(store, "dl", FG_QUEUE_INBOUND, &len,
					    &error), 0);
	ck_assert_int_eq(len, 2);
	ck_assert_int_eq(fg_store_queue_read(store, "dl", FG_QUEUE_INBOUND, "c1",
					     0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), "d0@example.org");
	fg_entry_free(&entry);
}
END_TEST

START_TEST(test_not_posted_counted)
{
	char **reasons, **counts;
	size_t n;
	const char *error;

	ck_assert_int_eq(fg_store_not_posted(store, "np", &reasons, &counts,
					     &n, &error), 0);
	ck_assert_uint_eq(n, 0);
	fg_strv_free(reasons, n);
	fg_strv_free(counts, n);
	ck_assert_int_eq(fg_store_not_posted_add(store, "np", "own", &error), 0);
	ck_assert_int_eq(fg_store_not_posted_add(store, "np", "auto-reply",
						 &error), 0);
	ck_assert_int_eq(fg_store_not_posted_add(store, "np", "own", &error), 0);
	ck_assert_int_eq(fg_store_not_posted(store, "np", &reasons, &counts,
					     &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(reasons[0], "auto-reply");
	ck_assert_str_eq(counts[0], "1");
	ck_assert_str_eq(reasons[1], "own");
	ck_assert_str_eq(counts[1], "2");
	fg_strv_free(reasons, n);
	fg_strv_free(counts, n);
}
END_TEST

START_TEST(test_refused_posts)
{
	struct fg_refusal r = {
		.kind = FG_REFUSAL_HELD, .list = (char *)"rf",
		.topic_id = 7, .post_number = 2,
		.message_id = (char *)"fg.rf.7.2.0123456789abcdef@lists.test",
		.subject = (char *)"[rf] Hello", .reason = (char *)"because x",
		.notice_from = (char *)"rf+owner@lists.test",
	};
	struct fg_post_ref ref = { .topic_id = 7, .post_number = 2,
				   .post_id = 702 };
	struct fg_entry **entries, *entry;
	char **kinds, **counts, *id, *id2, *previous, *post_state;
	long long held_now;
	size_t n;
	const char *error;

	/* the post id comes from the Message-ID map */
	ck_assert_int_eq(fg_store_map_post(store, "rf", r.message_id, &ref, NULL,
					   &error), 0);
	ck_assert_int_eq(fg_store_refused_add(store, &r, 1700000000, &id,
					      &error), 1);
	ck_assert_ptr_nonnull(id);
	/* the same notice again records nothing */
	ck_assert_int_eq(fg_store_refused_add(store, &r, 1700000001, &id2,
					      &error), 0);
	ck_assert_ptr_null(id2);
	ck_assert_int_eq(fg_store_refused_counts(store, "rf", &kinds, &counts,
						 &n, &held_now, &error), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(kinds[0], "held");
	ck_assert_str_eq(counts[0], "1");
	ck_assert_int_eq(held_now, 1);
	fg_strv_free(kinds, n);
	fg_strv_free(counts, n);

	/* it comes through the list: approved, no longer held */
	ck_assert_int_eq(fg_store_refused_delivered(store, "rf", 7, 2, 0,
						    &error), 1);
	ck_assert_int_eq(fg_store_refused_delivered(store, "rf", 7, 2, 0,
						    &error), 0);
	ck_assert_int_eq(fg_store_refused_delivered(store, "rf", 7, 9, 0,
						    &error), 0);
	/* a bounce named by the VERP address only */
	r.kind = FG_REFUSAL_BOUNCED;
	r.message_id = NULL;
	r.topic_id = r.post_number = 0;
	r.post_id = 800;
	ck_assert_int_eq(fg_store_refused_add(store, &r, 1700000002, &id2,
					      &error), 1);
	ck_assert_int_eq(fg_store_refused_counts(store, "rf", &kinds, &counts,
						 &n, &held_now, &error), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(kinds[0], "approved");
	ck_assert_str_eq(counts[0], "1");
	ck_assert_str_eq(kinds[1], "bounced");
	ck_assert_str_eq(kinds[2], "held");
	ck_assert_int_eq(held_now, 0);
	fg_strv_free(kinds, n);
	fg_strv_free(counts, n);

	ck_assert_int_eq(fg_store_refused_list(store, "rf", 10, &entries, &n,
					       &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(entries[0]->id, id2);		/* newest first */
	ck_assert_str_eq(fg_entry_get(entries[0], "post_id"), "800");
	ck_assert_str_eq(fg_entry_get(entries[0], "kind"), "bounced");
	ck_assert_str_eq(fg_entry_get(entries[1], "post_id"), "702");
	ck_assert_str_eq(fg_entry_get(entries[1], "reason"), "because x");
	ck_assert_str_eq(fg_entry_get(entries[1], "at"), "1700000000");
	fg_entries_free(entries, n);

	/* each is taken once; a failed notification puts the mark back */
	ck_assert_int_eq(fg_store_refused_take(store, "rf", &entry, &previous,
					       &post_state, &error), 1);
	ck_assert_str_eq(entry->id, id);
	ck_assert_str_eq(previous, "");
	ck_assert_str_eq(post_state, "approved");
	ck_assert_int_eq(fg_store_refused_untake(store, "rf", entry->id,
						 previous, &error), 0);
	fg_entry_free(&entry);
	free(previous);
	free(post_state);
	ck_assert_int_eq(fg_store_refused_take(store, "rf", &entry, &previous,
					       &post_state, &error), 1);
	ck_assert_str_eq(entry->id, id);
	fg_entry_free(&entry);
	free(previous);
	free(post_state);
	ck_assert_int_eq(fg_store_refused_take(store, "rf", &entry, &previous,
					       &post_state, &error), 1);
	ck_assert_str_eq(entry->id, id2);
	ck_assert_str_eq(previous, id);
	ck_assert_str_eq(post_state, "bounced");
	fg_entry_free(&entry);
	free(previous);
	free(post_state);
	ck_assert_int_eq(fg_store_refused_take(store, "rf", &entry, &previous,
					       &post_state, &error), 0);
	ck_assert_ptr_null(entry);
	free(id);
	free(id2);

	/* a post whose Message-ID names it by id (NodeBB): its state is
	   "pID", and its list copy approves it by that */
	r.kind = FG_REFUSAL_HELD;
	r.message_id = (char *)"fg.rf.7.p901.0123456789abcdef@lists.test";
	r.topic_id = 7;
	r.post_number = 0;
	r.post_id = 901;
	ck_assert_int_eq(fg_store_refused_add(store, &r, 1700000003, &id,
					      &error), 1);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{rf}:refused-state' p901"), 1);
	ck_assert_int_eq(fg_store_refused_take(store, "rf", &entry, &previous,
					       &post_state, &error), 1);
	ck_assert_str_eq(post_state, "held");
	fg_entry_free(&entry);
	free(previous);
	free(post_state);
	ck_assert_int_eq(fg_store_refused_delivered(store, "rf", 7, 0, 901,
						    &error), 1);
	free(id);
}
END_TEST

START_TEST(test_authors_and_subjects)
{
	char **addrs, **users, *user;
	size_t n;
	const char *error;
	struct fg_post_ref ref = { .topic_id = 31, .post_number = 1,
				   .post_id = 310 }, got;

	ck_assert_int_eq(fg_store_author_set(store, " Alice@Example.ORG ",
					     "alice", &error), 0);
	ck_assert_int_eq(fg_store_author_set(store, "bob@example.org", "17",
					     &error), 0);
	ck_assert_int_eq(fg_store_author_get(store, "ALICE@example.org",
					     &user, &error), 1);
	ck_assert_str_eq(user, "alice");
	free(user);
	ck_assert_int_eq(fg_store_author_get(store, "carol@example.org",
					     &user, &error), 0);
	ck_assert_int_eq(fg_store_authors(store, &addrs, &users, &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(addrs[0], "alice@example.org");
	ck_assert_str_eq(users[1], "17");
	fg_strv_free(addrs, n);
	fg_strv_free(users, n);
	ck_assert_int_eq(fg_store_author_del(store, "bob@EXAMPLE.org", &error), 1);
	ck_assert_int_eq(fg_store_author_del(store, "bob@example.org", &error), 0);

	ck_assert_int_eq(fg_store_subject_set(store, "subj", "Disk Full", &ref,
					      1000, &error), 0);
	ck_assert_int_eq(fg_store_subject_get(store, "subj", "disk full", 999,
					      &got, &error), 1);
	ck_assert_int_eq(got.topic_id, 31);
	ck_assert_int_eq(got.post_id, 310);
	ck_assert_int_eq(fg_store_subject_get(store, "subj", "disk full", 1001,
					      &got, &error), 0);
	ck_assert_int_eq(fg_store_subject_get(store, "subj", "", 0, &got,
					      &error), 0);

	/* a post that may exist: marked for its entry until the entry is
	   finished or the post is known not to exist */
	ck_assert_int_eq(fg_store_posting_is(store, "subj", "1-1", &error), 0);
	ck_assert_int_eq(fg_store_posting_begin(store, "subj", "1-1", "c",
						&error), 0);
	ck_assert_int_eq(fg_store_posting_is(store, "subj", "1-1", &error), 1);
	ck_assert_int_eq(fg_store_posting_is(store, "subj", "1-2", &error), 0);
	/* another entry's end leaves it */
	ck_assert_int_eq(fg_store_posting_end(store, "subj", "1-2", &error), 0);
	ck_assert_int_eq(fg_store_posting_is(store, "subj", "1-1", &error), 1);
	ck_assert_int_eq(fg_store_posting_end(store, "subj", "1-1", &error), 0);
	ck_assert_int_eq(fg_store_posting_is(store, "subj", "1-1", &error), 0);

	/* fingerprints of posts the bridge asked for, with an expiry */
	ck_assert_int_eq(fg_store_ours_is(store, "subj", "ab12", &error), 0);
	ck_assert_int_eq(fg_store_ours_add(store, "subj", "ab12", &error), 0);
	ck_assert_int_eq(fg_store_ours_is(store, "subj", "ab12", &error), 1);
	ck_assert_int_eq(fg_store_ours_is(store, "other", "ab12", &error), 0);
	long long ttl = redis_int("PTTL 'fg:{subj}:ours:ab12'");
	ck_assert(ttl > FG_OURS_TTL_MS - 60000 && ttl <= FG_OURS_TTL_MS);
}
END_TEST

#define DAY_MS (86400LL * 1000)

/* the PTTL of a day bucket, e.g. "fg:{ret}:in-seen" and day */
static long long bucket_pttl(const char *base, long long day)
{
	char args[256];

	snprintf(args, sizeof(args), "PTTL '%s:%lld'", base, day);
	return redis_int(args);
}

START_TEST(test_seen_retention)
{
	struct fg_record *rec = make_record("keep@example.org", "kept");
	struct fg_post post = { .post_id = 77, .topic_id = 7, .post_number = 1,
				.username = "u", .name = "U", .topic_title = "t",
				.raw = "r", .created_at = "2026-01-01" };
	/* noon of a day, so that the buckets are plain to compute */
	long long day = 20000, now = day * DAY_MS + DAY_MS / 2;
	long long want, pttl;
	const char *error;

	/* a short retention: 2 s */
	fg_store_set_retention(store, 2000, DAY_MS, 0);
	fg_store_set_clock(store, now);
	ck_assert_int_eq(fg_store_inbound_add(store, "ret", rec, &error), 1);
	ck_assert_int_eq(fg_store_inbound_add(store, "ret", rec, &error), 0);
	ck_assert_int_eq(redis_int("HEXISTS 'fg:{ret}:in-seen:20000' "
				   "keep@example.org"), 1);
	/* the bucket lives until 2 s after the end of its day */
	want = DAY_MS / 2 + 2000;
	pttl = bucket_pttl("fg:{ret}:in-seen", day);
	ck_assert_int_le(pttl, want);
	ck_assert_int_gt(pttl, want - 5000);
	ck_assert_int_eq(fg_store_outbound_add(store, "ret", &post, &error), 1);
	ck_assert_int_eq(fg_store_outbound_add(store, "ret", &post, &error), 0);
	pttl = bucket_pttl("fg:{ret}:out-seen", day);
	ck_assert_int_le(pttl, want);
	ck_assert_int_gt(pttl, want - 5000);

	/* still the same day and inside the retention: queued once */
	fg_store_set_clock(store, (day + 1) * DAY_MS + 1000);
	ck_assert_int_eq(fg_store_inbound_add(store, "ret", rec, &error), 0);
	/* retention past: yesterday's bucket is out of the window (and
	   Redis drops it at the same moment), so a copy is queued again */
	fg_store_set_clock(store, (day + 1) * DAY_MS + 2001);
	ck_assert_int_eq(fg_store_inbound_add(store, "ret", rec, &error), 1);
	ck_assert_int_eq(fg_store_outbound_add(store, "ret", &post, &error), 1);
	fg_record_free(&rec);

	/* the hash of older releases (no expiry) is still read, and gets
	   the retention as its time to live */
	ck_assert_int_eq(redis_int("HSET 'fg:{ret}:in-seen' old@example.org "
				   "1-1"), 1);
	ck_assert_int_eq(redis_int("PTTL 'fg:{ret}:in-seen'"), -1);
	rec = make_record("old@example.org", "old");
	ck_assert_int_eq(fg_store_inbound_add(store, "ret", rec, &error), 0);
	fg_record_free(&rec);
	pttl = redis_int("PTTL 'fg:{ret}:in-seen'");
	ck_assert_int_gt(pttl, 0);
	ck_assert_int_le(pttl, 2000);

	/* the subject index: a day's retention */
	struct fg_post_ref ref = { .topic_id = 5, .post_number = 1,
				   .post_id = 50 }, got;
	fg_store_set_clock(store, now);
	ck_assert_int_eq(fg_store_subject_set(store, "ret", "Disk Full", &ref,
					      now / 1000, &error), 0);
	pttl = bucket_pttl("fg:{ret}:subject-topic", day);
	ck_assert_int_le(pttl, DAY_MS / 2 + DAY_MS);
	ck_assert_int_gt(pttl, DAY_MS / 2 + DAY_MS - 5000);
	fg_store_set_clock(store, now + DAY_MS);
	ck_assert_int_eq(fg_store_subject_get(store, "ret", "disk full",
					      now / 1000 - 86400, &got,
					      &error), 1);
	ck_assert_int_eq(got.topic_id, 5);
	/* two days on, the window starts after that day */
	fg_store_set_clock(store, now + 2 * DAY_MS);
	ck_assert_int_eq(fg_store_subject_get(store, "ret", "disk full",
					      now / 1000 + 86400, &got,
					      &error), 0);
	fg_store_set_clock(store, 0);
}
END_TEST

/* queue_new - queue a record with this Message-ID on a list */
static void queue_new(const char *list, const char *msgid)
{
	struct fg_record *rec = make_record(msgid, "queued");
	const char *error;

	ck_assert_int_eq(fg_store_inbound_add(store, list, rec, &error), 1);
	fg_record_free(&rec);
}

START_TEST(test_dead_letter_max)
{
	struct fg_entry *entry, **dead;
	const char *error;
	long long trimmed;
	size_t n;

	fg_store_set_retention(store, DAY_MS, DAY_MS, 2);
	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof(id), "max%d@example.org", i);
		queue_new("dmax", id);
		ck_assert_int_eq(fg_store_queue_read(store, "dmax",
						     FG_QUEUE_INBOUND, "c1", 0,
						     &entry, &error), 1);
		ck_assert_int_eq(fg_store_queue_dead_trim(store, "dmax",
							  FG_QUEUE_INBOUND,
							  entry, "422 no",
							  &trimmed, &error), 0);
		ck_assert_int_eq(trimmed, i < 2 ? 0 : 1);
		fg_entry_free(&entry);
	}
	ck_assert_int_eq(fg_store_dead_list(store, "dmax", NULL, 10, &dead, &n,
					    &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fg_entry_get(dead[0], "message_id"),
			 "max1@example.org");
	fg_entries_free(dead, n);
}
END_TEST

/* read_expect - the next entry is the one with this Message-ID */
static struct fg_entry *read_expect(const char *list, const char *msgid)
{
	struct fg_entry *entry;
	const char *error;

	ck_assert_int_eq(fg_store_queue_read(store, list, FG_QUEUE_INBOUND,
					     "c1", 0, &entry, &error), 1);
	ck_assert_str_eq(fg_entry_get(entry, "message_id"), msgid);
	return entry;
}

/* done_expect - the next entry is msgid; acknowledge it */
static void done_expect(const char *list, const char *msgid)
{
	struct fg_entry *entry = read_expect(list, msgid);
	const char *error;

	ck_assert_int_eq(fg_store_queue_done(store, list, FG_QUEUE_INBOUND,
					     entry->id, &error), 0);
	fg_entry_free(&entry);
}

START_TEST(test_replay_in_place)
{
	struct fg_entry *entry, *pending, **dead;
	const char *error;
	long long moved, len;
	size_t n;

	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r%d@example.org", i);
		queue_new("rp", id);
	}
	/* r0 and r1 fail for good, r2 is being retried (pending) */
	for (int i = 0; i < 2; i++) {
		entry = read_expect("rp", i == 0 ? "r0@example.org" :
				    "r1@example.org");
		ck_assert_int_eq(fg_store_queue_dead(store, "rp",
						     FG_QUEUE_INBOUND, entry,
						     "422 no", &error), 0);
		fg_entry_free(&entry);
	}
	pending = read_expect("rp", "r2@example.org");
	fg_entry_free(&pending);
	ck_assert_int_eq(fg_store_dead_list(store, "rp", NULL, 10, &dead, &n,
					    &error), 0);
	ck_assert_uint_eq(n, 2);
	/* r1 first, then r0: the replay stream is put in order again */
	ck_assert_int_eq(fg_store_dead_replay(store, "rp", dead[1]->id, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 1);
	ck_assert_int_eq(fg_store_dead_replay(store, "rp", NULL, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 1);
	fg_entries_free(dead, n);
	ck_assert_int_eq(fg_store_queue_len(store, "rp", FG_QUEUE_INBOUND, &len,
					    &error), 0);
	ck_assert_int_eq(len, 5);
	/* back in their places: before the pending r2 and the new r3, r4;
	   a replayed entry not done comes again */
	entry = read_expect("rp", "r0@example.org");
	fg_entry_free(&entry);
	done_expect("rp", "r0@example.org");
	done_expect("rp", "r1@example.org");
	done_expect("rp", "r2@example.org");
	done_expect("rp", "r3@example.org");
	/* dead again and replayed again: back once more */
	entry = read_expect("rp", "r4@example.org");
	ck_assert_int_eq(fg_store_queue_dead(store, "rp", FG_QUEUE_INBOUND,
					     entry, "422 no", &error), 0);
	fg_entry_free(&entry);
	ck_assert_int_eq(fg_store_dead_replay(store, "rp", NULL, &moved,
					      &error), 0);
	ck_assert_int_eq(moved, 1);
	/* a newer entry read from the group meanwhile waits behind it */
	queue_new("rp", "r5@example.org");
	entry = read_expect("rp", "r4@example.org");
	ck_assert_int_eq(fg_store_queue_dead(store, "rp", FG_QUEUE_INBOUND,
					     entry, "422 no", &error), 0);
	fg_entry_free(&entry);
	done_expect("rp", "r5@example.org");
	ck_assert_int_eq(fg_store_queue_len(store, "rp", FG_QUEUE_INBOUND, &len,
					    &error), 0);
	ck_assert_int_eq(len, 0);
	ck_assert_int_eq(fg_store_queue_read(store, "rp", FG_QUEUE_INBOUND,
					     "c1", 10, &entry, &error), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	if (system("command -v redis-server >/dev/null") != 0) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	redis_start();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_list_and_members);
	tcase_add_test(tc, test_list_listmail_fields);
	tcase_add_test(tc, test_members_replace);
	tcase_add_test(tc, test_list_address_taken);
	tcase_add_test(tc, test_list_footer);
	tcase_add_test(tc, test_changes_counted);
	tcase_add_test(tc, test_inbound_queue_once_in_order);
	tcase_add_test(tc, test_outbound_and_maps);
	tcase_add_test(tc, test_maps_upgraded_by_id);
	tcase_add_test(tc, test_maps_upgrade_once);
	tcase_add_test(tc, test_queue_lease);
	tcase_add_test(tc, test_errors_and_reconnect);
	tcase_add_test(tc, test_dead_letters_replay);
	tcase_add_test(tc, test_authors_and_subjects);
	tcase_add_test(tc, test_not_posted_counted);
	tcase_add_test(tc, test_refused_posts);
	tcase_add_test(tc, test_seen_retention);
	tcase_add_test(tc, test_dead_letter_max);
	tcase_add_test(tc, test_replay_in_place);
	tcase_add_test(tc, test_review_queue);
	tcase_add_test(tc, test_topic_list);
	tcase_add_test(tc, test_topics_fill);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_stop();
	return failed == 0 ? 0 : 1;
}
