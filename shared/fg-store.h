#ifndef FG_STORE_H
#define FG_STORE_H
/*
 * NAME
 *	fg-store 3 - the Redis key schema and every Redis command
 * DESCRIPTION
 *	This module is the only code that speaks Redis. Key names are
 *	built here and documented key by key in doc/redis-schema.md.
 *	Every key starts with "fg:"; the keys of one list carry the list
 *	name in a hash tag ("fg:{LIST}:...") so they share a cluster slot
 *	and the multi-key scripts below stay valid on Redis Cluster.
 *
 *	A connection is synchronous (hiredis) with explicit connect and
 *	command timeouts. After a network error the connection is
 *	dropped and the next call reconnects once, so one failed command
 *	never poisons the ones after it.
 *
 *	Functions return -1 with *error_r set on a Redis or network
 *	failure; lookups return 1 found / 0 not found.
 *
 *	hiredis writes with write(2): a program using this module ignores
 *	SIGPIPE (Dovecot's processes already do), so a connection closed
 *	by the server is an error return, not a signal.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-common.h"
#include "fg-record.h"

/* Key names (printf formats where a list name goes). */
#define FG_KEY_LISTS		"fg:lists"
#define FG_KEY_ADDRESSES	"fg:addresses"
/* bridge recipient -> list, as fg:addresses for posting addresses */
#define FG_KEY_BRIDGES		"fg:bridges"
#define FG_KEY_CATEGORIES	"fg:categories"
#define FG_KEY_LIST_CONFIG	"fg:{%s}:config"
#define FG_KEY_MEMBERS		"fg:{%s}:members"
#define FG_KEY_INBOUND		"fg:{%s}:in"
/* the seen hashes: one per day, named base + ":" + the unix day
   (unix time / 86400); the base name alone is the hash of releases
   before retention, read until it expires */
#define FG_KEY_INBOUND_SEEN	"fg:{%s}:in-seen"
/* list mail set aside until its parent is posted (a stream, no group) */
#define FG_KEY_INBOUND_WAIT	"fg:{%s}:in-wait"
#define FG_KEY_OUTBOUND		"fg:{%s}:out"
#define FG_KEY_OUTBOUND_SEEN	"fg:{%s}:out-seen"
/* dead letters moved back, read before the queue in entry id order */
#define FG_KEY_INBOUND_REPLAY	"fg:{%s}:in-replay"
#define FG_KEY_OUTBOUND_REPLAY	"fg:{%s}:out-replay"
#define FG_KEY_MSGID_POST	"fg:{%s}:msgid-post"
#define FG_KEY_POST_MSGID	"fg:{%s}:post-msgid"
#define FG_KEY_MAPS_VERSION	"fg:{%s}:maps-version"
/* post-msgid has a field per post id (see fg_store_maps_upgrade) */
#define FG_MAPS_VERSION		2
#define FG_KEY_DEAD		"fg:{%s}:dead"
#define FG_KEY_LEASE_IN	"fg:{%s}:lease:in"
#define FG_KEY_LEASE_OUT	"fg:{%s}:lease:out"
/* the fencing token of a queue's lease: one more at every take */
#define FG_KEY_FENCE_IN		"fg:{%s}:fence:in"
#define FG_KEY_FENCE_OUT	"fg:{%s}:fence:out"
/* the lease and fencing token of a list-mode list's fan-out */
#define FG_KEY_LEASE_DIST	"fg:{%s}:lease:dist"
#define FG_KEY_FENCE_DIST	"fg:{%s}:fence:dist"
/* the lease and fencing token of a list-mode list's control mail */
#define FG_KEY_LEASE_CONTROL	"fg:{%s}:lease:control"
#define FG_KEY_FENCE_CONTROL	"fg:{%s}:fence:control"
#define FG_KEY_ALLOW		"fg:{%s}:allow"
/* counts the changes of a list's members, allow list and config, so
   that copies (forumgate-policyd's) know when to read them again */
#define FG_KEY_SERIAL		"fg:{%s}:serial"
/* a message with the list's name is published here after each change
   counted in FG_KEY_SERIAL */
#define FG_CHANNEL_CHANGES	"fg:changes"
/* + the normalized sender; a counter that expires with its window */
#define FG_KEY_RATE		"fg:{%s}:rate:"

/* The consumer group of the bridge daemons on both queues. */
#define FG_CONSUMER_GROUP "forumgated"

struct fg_store;
struct fg_config;

/* How a list is run (field "mode" of fg:{LIST}:config). */
enum fg_list_mode {
	/* a list manager runs the list, the bridge is a subscriber */
	FG_LIST_MODE_MIRROR,
	/* forumgate is the list manager: the posting address is delivered
	   to the plugin, which runs the filter chain (fg-chain.h) */
	FG_LIST_MODE_LIST,
};
/* fg_list_mode_parse - "mirror" or "list"; -1 for anything else */
int fg_list_mode_parse(const char *s, enum fg_list_mode *mode_r);
/* fg_list_digest_hour - an hour of the day, 0 to 23 (field and setting
   digest_hour); false for anything else */
bool fg_list_digest_hour(const char *value, unsigned int *hour_r);
/* fg_list_mode_name - the name of a mode */
const char *fg_list_mode_name(enum fg_list_mode mode);

struct fg_list {
	char *name;
	char *address;		/* posting address, lowercase */
	char *bridge_recipient;	/* where list copies reach the bridge */
	long long category;	/* forum category id, 0: forum default */
	char *unsubscribe;	/* List-Unsubscribe URI; NULL: none */
	/* field "trusted" (yes/no, default no): its list manager's From
	   rewriting may be undone (fg-mailparse.h) */
	bool trusted;
	/* the footer the list manager appends (fg-footer.h); NULL: none */
	char *footer;
	/* how the list manager's copies are recognised (fg-listmail.h) */
	char *list_id;		/* List-Id; NULL: LIST.DOMAIN of address */
	char *return_path;	/* envelope sender patterns; NULL: default */
	char *roster;		/* member sync source (fg-roster.h); NULL */
	/* field "mode": "mirror" (default) or "list" (doc/list-mode.md) */
	enum fg_list_mode mode;
	/* field "access" (fg_policy_access_parse()); NULL: members */
	char *access;
	/* list mode: optional chain steps turned off (field "chain_off",
	   names separated by commas or spaces, fg-chain.h); NULL none */
	char *chain_off;
	/* the file holding the list's approval passphrase (field
	   "passphrase_file", read with fg_secret_file_read()); NULL none */
	char *passphrase_file;
	/* list mode: field "dmarc_from" = "always": every copy's From is
	   rewritten as Mailman's DMARC mitigation does (fg_listmsg_dmarc()) */
	bool dmarc_always;
	/* "policy": rewritten only when the author's domain publishes a
	   DMARC policy of reject or quarantine (forumgated looks it up,
	   fg-dmarc.h) */
	bool dmarc_policy;
	/* list mode: field "moderators", the addresses told of held posts
	   and allowed to approve or reject them (commas or spaces); NULL
	   none */
	char *moderators;
	/* list mode: field "digest_format", "mime" or "rfc1153"
	   (fg-digest.h); NULL: the setting digest_format */
	char *digest_format;
	/* list mode: fields "digest_hour" (0-23) and "digest_size_max"
	   (a size, 0: by the hour only); not set: the settings */
	bool digest_hour_set, digest_size_set;
	unsigned int digest_hour;
	size_t digest_size_max;
};

enum fg_queue {
	FG_QUEUE_INBOUND,	/* list -> forum: fg_record fields */
	FG_QUEUE_OUTBOUND,	/* forum -> list: fg_post fields */
	/* replies waiting for their parent: inbound records outside the
	   consumer group, under the inbound lease; finishing one deletes
	   it from there */
	FG_QUEUE_INBOUND_WAIT,
	/* list mode: posts for the subscribers (fg:{LIST}:dist), under a
	   lease of their own */
	FG_QUEUE_DIST,
	/* list mode: mail to the control addresses (fg:{LIST}:control),
	   under a lease of their own */
	FG_QUEUE_CONTROL,
};

/* A queue's lease as its holder knows it: the consumer and the fencing
   token it got when it took the lease. Every step that finishes an
   entry checks both in the same atomic step, so a daemon whose lease
   lapsed (a stall, a partition) cannot record or acknowledge anything
   once another holds the list. */
struct fg_lease {
	const char *consumer;
	long long token;		/* 0: not held */
};

/* One stream entry: the id and its field/value pairs. */
struct fg_entry {
	char *id;
	size_t n_fields;
	char **names;
	char **values;
	unsigned long long deliveries;	/* times handed out (pending) */
};

/* Where a forum post stands in the Message-ID <-> post maps. */
struct fg_post_ref {
	long long topic_id;
	long long post_number;
	long long post_id;
	long long parent_post_number;	/* 0: answers the topic */
	long long parent_post_id;	/* 0: not known (the number says) */
};

/* fg_store_connect - a connection without AUTH or TLS (tools, tests) */
int fg_store_connect(const char *address, unsigned int timeout_ms,
		     struct fg_store **store_r, const char **error_r);
/* fg_store_connect_config - a connection made as the configuration
   says: address, timeout, the loading component's user and password
   (AUTH right after every connect and reconnect) and TLS */
int fg_store_connect_config(const struct fg_config *config,
			    struct fg_store **store_r, const char **error_r);
void fg_store_free(struct fg_store **store);

/* Retention. The seen hashes and the subject index are kept in day
   buckets (one hash per unix day, whole buckets expire): an item is
   kept at least its retention and at most a day longer. A lookup
   reads the buckets of the window, newest first, at most
   FG_STORE_RETENTION_DAYS_MAX + 1 of them. */
#define FG_STORE_SEEN_DAYS_DEFAULT	30
#define FG_STORE_DEAD_MAX_DEFAULT	10000
#define FG_STORE_RETENTION_DAYS_MAX	366
#define FG_STORE_DAY_MS			(86400LL * 1000)

/* fg_store_set_retention - how long the seen hashes (seen_ms) and the
   subject index (subject_ms) keep an item, and how many entries the
   dead-letter stream keeps (dead_max, 0: all). The defaults are
   FG_STORE_SEEN_DAYS_DEFAULT days for both and FG_STORE_DEAD_MAX_DEFAULT;
   retentions are bounded by FG_STORE_RETENTION_DAYS_MAX days. */
void fg_store_set_retention(struct fg_store *store, long long seen_ms,
			    long long subject_ms, long long dead_max);
/* fg_store_set_retention_config - the retention the settings ask for:
   seen_retention_days, thread_by_subject_days (when 0, no index is
   written: seen_retention_days) and dead_letter_max */
void fg_store_set_retention_config(struct fg_store *store,
				   const struct fg_config *config);
/* fg_store_set_clock - for tests: the time (unix ms) the day buckets
   are chosen by; 0 the real clock */
void fg_store_set_clock(struct fg_store *store, long long now_ms);
/* fg_store_ping - round trip to Redis (for status and readiness) */
int fg_store_ping(struct fg_store *store, const char **error_r);

/* Lists */
/* fg_store_list_add - add a list or change its definition. The posting
   address and the category are claimed in one step: when another list
   holds either, nothing changes and FG_STORE_TAKEN is returned with
   *error_r naming that list. 0 when done, -1 on other errors. */
#define FG_STORE_TAKEN (-2)
int fg_store_list_add(struct fg_store *store, const struct fg_list *list,
		      const char **error_r);
/* fg_store_list_take - fg_store_list_add() that moves the address and
   the category from the lists holding them: such a list loses its
   address (its config has none until it is given one) or gets
   category 0, and is counted as changed */
int fg_store_list_take(struct fg_store *store, const struct fg_list *list,
		       const char **error_r);
int fg_store_list_get(struct fg_store *store, const char *name,
		      struct fg_list **list_r, const char **error_r);
int fg_store_list_by_address(struct fg_store *store, const char *address,
			     char **name_r, const char **error_r);
int fg_store_list_by_category(struct fg_store *store, long long category,
			      char **name_r, const char **error_r);
int fg_store_lists(struct fg_store *store, char ***names_r, size_t *count_r,
		   const char **error_r);
void fg_list_free(struct fg_list **list);

/* fg_store_bridge_register - enter the list's bridge recipient in
   fg:bridges when it is missing (a list defined before that key
   existed); 1 entered, 0 there already, -1 error */
int fg_store_bridge_register(struct fg_store *store, const struct fg_list *list,
			     const char **error_r);
/* fg_store_list_set - set one field of a list's config hash (e.g.
   "access"), or delete it when value is NULL; the list must exist */
int fg_store_list_set(struct fg_store *store, const char *list,
		      const char *field, const char *value,
		      const char **error_r);
/* The allow list of a list (senders who may always post) */
int fg_store_allow_add(struct fg_store *store, const char *list,
		       const char *address, const char **error_r);
int fg_store_allow_del(struct fg_store *store, const char *list,
		       const char *address, const char **error_r);

/* fg_store_is_allowed - 1 the address is on the list's allow list */
int fg_store_is_allowed(struct fg_store *store, const char *list,
			const char *address, const char **error_r);

/* Members (normalized addresses) */
int fg_store_member_add(struct fg_store *store, const char *list,
			const char *address, const char **error_r);
int fg_store_member_del(struct fg_store *store, const char *list,
			const char *address, const char **error_r);
int fg_store_is_member(struct fg_store *store, const char *list,
		       const char *address, const char **error_r);
int fg_store_members(struct fg_store *store, const char *list,
		     char ***addresses_r, size_t *count_r,
		     const char **error_r);
/* What fg_store_members_replace() changed. */
struct fg_member_diff {
	char **added, **removed;	/* sorted */
	size_t n_added, n_removed;
};
#define FG_STORE_EMPTY (-2)
/* fg_store_members_replace - make the list's members exactly these
   addresses (lowercased and trimmed as member add does), in one atomic
   step counted as one change when anything changed. 1: changed, 0: the
   same already; FG_STORE_EMPTY (nothing changed): no addresses given
   while the list has members, unless allow_empty. */
int fg_store_members_replace(struct fg_store *store, const char *list,
			     char *const *addresses, size_t count,
			     bool allow_empty, struct fg_member_diff *diff_r,
			     const char **error_r);
void fg_member_diff_free(struct fg_member_diff *diff);

/* fg_store_inbound_add - queue a list message once per Message-ID
   (within the seen retention); returns 1 queued, 0 the Message-ID was
   queued before */
int fg_store_inbound_add(struct fg_store *store, const char *list,
			 const struct fg_record *rec, const char **error_r);
/* fg_store_outbound_add - queue a forum post once per post id
   (within the seen retention); returns 1 queued, 0 the post was
   queued before */
int fg_store_outbound_add(struct fg_store *store, const char *list,
			  const struct fg_post *post, const char **error_r);

/* fg_store_queue_read - the next entry for this consumer: its own
   pending entries first (oldest first, so order survives a crash),
   then new ones, waiting up to block_ms. A replayed dead letter
   (fg_store_dead_replay) comes before every queued entry with a
   larger id, so it is back in its original place. Returns 1 with
   *entry_r, 0 when nothing arrived. */
int fg_store_queue_read(struct fg_store *store, const char *list,
			enum fg_queue queue, const char *consumer,
			unsigned int block_ms, struct fg_entry **entry_r,
			const char **error_r);
/* fg_store_queue_lease - hold the lease on one list's queue, so that
   only one of several daemons works a list at a time and the list stays
   in order. lease->consumer names the caller; lease->token is the token
   it holds (0 none). Returns 1 held by this consumer: renewed when the
   token is still the current one, else taken with a new token in
   lease->token (every entry other consumers left pending is claimed
   first, so work resumes at the oldest). Returns 0 held by another
   (*holder_r, caller frees, when not NULL; lease->token becomes 0). The
   lease lapses ttl_ms after the last renewal. */
int fg_store_queue_lease(struct fg_store *store, const char *list,
			 enum fg_queue queue, struct fg_lease *lease,
			 unsigned int ttl_ms, char **holder_r,
			 const char **error_r);
/* fg_store_queue_ack - acknowledge and delete a processed entry if the
   lease is still held (lease NULL: unconditionally); the posting mark
   of the entry goes with it. 1 done, 0 the lease is lost: nothing
   changed. */
int fg_store_queue_ack(struct fg_store *store, const char *list,
		       enum fg_queue queue, const struct fg_lease *lease,
		       const char *id, const char **error_r);
/* fg_store_queue_posted - the entry (of FG_QUEUE_INBOUND or
   FG_QUEUE_INBOUND_WAIT) became the post ref: record
   Message-ID <-> post, acknowledge and delete the entry and its posting
   mark, in one atomic step if the lease is still held (1). When the
   lease is lost (0) only post -> Message-ID is recorded, so the post's
   webhook is known as the bridge's own; the new holder decides the rest
   (it finds the post, fg_forum_find()). text_sketch (NULL or "":
   none) is kept as the post's text for seen_retention_days, in the
   same step (fg_store_text_get()). */
int fg_store_queue_posted(struct fg_store *store, const char *list,
			  enum fg_queue queue, const struct fg_lease *lease,
			  const char *id,
			  const char *message_id,
			  const struct fg_post_ref *ref,
			  const char *text_sketch, const char **error_r);
/* fg_store_queue_park - move an inbound entry to the waiting replies
   (fg:{LIST}:in-wait, in arrival order) if the lease is still held: 1
   moved, 0 the lease is lost */
int fg_store_queue_park(struct fg_store *store, const char *list,
			const struct fg_lease *lease,
			const struct fg_entry *entry, const char **error_r);
/* fg_store_waiting - the oldest max waiting replies (caller frees with
   fg_entries_free()) */
int fg_store_waiting(struct fg_store *store, const char *list, size_t max,
		     struct fg_entry ***entries_r, size_t *count_r,
		     const char **error_r);
/* fg_store_inbound_seen - 1 list mail with one of these Message-IDs
   was queued (it may be waiting, held, dead-lettered or posted), with
   *index_r the first such; 0 none. One round trip. */
int fg_store_inbound_seen(struct fg_store *store, const char *list,
			  const char *const *message_ids, size_t count,
			  size_t *index_r, const char **error_r);
/* fg_store_queue_bury - fg_store_queue_dead_trim() if the lease is
   still held (lease NULL: unconditionally): 1 moved, 0 the lease is
   lost */
int fg_store_queue_bury(struct fg_store *store, const char *list,
			enum fg_queue queue, const struct fg_lease *lease,
			const struct fg_entry *entry, const char *reason,
			long long *trimmed_r, const char **error_r);
/* fg_store_queue_done - acknowledge and delete a processed entry */
int fg_store_queue_done(struct fg_store *store, const char *list,
			enum fg_queue queue, const char *id,
			const char **error_r);
/* fg_store_queue_dead - move an entry to the list's dead-letter stream
   with the reason, atomically with its removal from the queue */
int fg_store_queue_dead(struct fg_store *store, const char *list,
			enum fg_queue queue, const struct fg_entry *entry,
			const char *reason, const char **error_r);
/* Messages of a list that were not posted (fg:{LIST}:not-posted): a
   hash, reason -> count. Reasons are the names the Dovecot plugin
   gives them (auto-reply, own, duplicate, ...). */
#define FG_KEY_NOT_POSTED	"fg:{%s}:not-posted"
/* fg_store_not_posted_add - count one message not posted, by reason */
int fg_store_not_posted_add(struct fg_store *store, const char *list,
			    const char *reason, const char **error_r);
/* fg_store_not_posted - every reason counted, sorted by reason; the
   counts as decimal strings */
int fg_store_not_posted(struct fg_store *store, const char *list,
			char ***reasons_r, char ***counts_r, size_t *count_r,
			const char **error_r);
/* fg_store_queue_len - entries waiting (not yet done) */
/* fg_store_queue_dead_trim - fg_store_queue_dead, then the dead-letter
   stream is cut to the dead_max newest entries (fg_store_set_retention);
   *trimmed_r is the number of old dead letters that were dropped */
int fg_store_queue_dead_trim(struct fg_store *store, const char *list,
			     enum fg_queue queue, const struct fg_entry *entry,
			     const char *reason, long long *trimmed_r,
			     const char **error_r);
/* fg_store_queue_len - entries waiting (not yet done), replayed dead
   letters included */
int fg_store_queue_len(struct fg_store *store, const char *list,
		       enum fg_queue queue, long long *len_r,
		       const char **error_r);
const char *fg_entry_get(const struct fg_entry *entry, const char *name);
void fg_entry_free(struct fg_entry **entry);

/* fg_store_map_post - record both directions of Message-ID <-> post,
   and (text_sketch not NULL or "") the sketch of its text for
   seen_retention_days, in one round trip */
int fg_store_map_post(struct fg_store *store, const char *list,
		      const char *message_id, const struct fg_post_ref *ref,
		      const char *text_sketch, const char **error_r);
/* fg_store_text_get - the sketch of the text of the post that
   message_id names (fg-quote.h): 1 and *sketch_r (caller frees), 0
   none kept (or no longer), -1 error */
int fg_store_text_get(struct fg_store *store, const char *list,
		      const char *message_id, char **sketch_r,
		      const char **error_r);
int fg_store_lookup_msgid(struct fg_store *store, const char *list,
			  const char *message_id, struct fg_post_ref *ref_r,
			  const char **error_r);
/* fg_store_maps_upgrade - give every post of the list's maps its post
   id field in post-msgid, once: maps written before posts were mapped
   by id have only the place fields, and a reply names its parent by id
   alone (NodeBB's toPid). Reads msgid-post with HSCAN and adds the id
   fields a batch at a time (one script each, HSETNX: a field the
   daemon wrote since is kept), then sets fg:{LIST}:maps-version.
   Idempotent and safe to interrupt: a crash leaves the version unset
   and the next start goes over the map again. *added_r the fields
   added; 0 done (or done before), -1 error */
int fg_store_maps_upgrade(struct fg_store *store, const char *list,
			  long long *added_r, const char **error_r);
/* fg_store_lookup_post - the Message-ID of a post: by post_id when it
   is not 0 (a map written before posts were mapped by id is taken by
   the place when msgid-post names the same id, and upgraded), else by
   topic_id and post_number (a Discourse reply names its parent so);
   1 found with *message_id_r (caller frees) and *ref_r, 0 not found */
int fg_store_lookup_post(struct fg_store *store, const char *list,
			 long long topic_id, long long post_number,
			 long long post_id, char **message_id_r,
			 struct fg_post_ref *ref_r, const char **error_r);

/* Conversions between the records and stream entries. */
struct fg_record *fg_record_from_entry(const struct fg_entry *entry);
struct fg_post *fg_post_from_entry(const struct fg_entry *entry);

/* Dead letters (fg:{LIST}:dead) */

/* fg_store_dead_list - up to max entries of the dead-letter stream
   after the entry id after (NULL: from the start), oldest first; each
   has the original fields plus queue, entry_id, reason and failed_at.
   Entries may carry attachment data: page with a small max. */
int fg_store_dead_list(struct fg_store *store, const char *list,
		       const char *after, size_t max,
		       struct fg_entry ***entries_r, size_t *count_r,
		       const char **error_r);
/* fg_store_dead_replay - move one dead letter (id), or every one (id
   NULL), back to the queue it came from, each atomically (one Lua
   script): into the queue's replay stream under its original entry
   id, which fg_store_queue_read reads in order with the queue.
   *moved_r is the number moved. An unknown id moves nothing. */
int fg_store_dead_replay(struct fg_store *store, const char *list,
			 const char *id, long long *moved_r,
			 const char **error_r);
/* fg_entries_free - free a vector of entries */
void fg_entries_free(struct fg_entry **entries, size_t count);

/* Authors (fg:authors): mail address (lowercase) -> forum user */
#define FG_KEY_AUTHORS		"fg:authors"

/* fg_store_author_set - map an address to a forum user */
int fg_store_author_set(struct fg_store *store, const char *address,
			const char *user, const char **error_r);
/* fg_store_author_del - remove an address; 1 removed, 0 not there */
int fg_store_author_del(struct fg_store *store, const char *address,
			const char **error_r);
/* fg_store_author_get - the forum user of an address: 1 with *user_r
   (caller frees), 0 none */
int fg_store_author_get(struct fg_store *store, const char *address,
			char **user_r, const char **error_r);
/* fg_store_authors - every mapping, sorted by address */
int fg_store_authors(struct fg_store *store, char ***addresses_r,
		     char ***users_r, size_t *count_r, const char **error_r);

/* Topics by subject (fg:{LIST}:subject-topic:DAY, day buckets as the
   seen hashes): normalized subject, lowercased -> "TOPIC:POST_ID:UNIXTIME"
   of the topic list mail with that subject started last */
#define FG_KEY_SUBJECT_TOPIC	"fg:{%s}:subject-topic"

/* fg_store_subject_set - remember the topic a subject started */
int fg_store_subject_set(struct fg_store *store, const char *list,
			 const char *title, const struct fg_post_ref *ref,
			 long long when, const char **error_r);
/* fg_store_subject_get - the topic of a subject started at or after
   since (unix time; the buckets from since's day on are read): 1 with
   *ref_r (post_number 1), 0 none */
int fg_store_subject_get(struct fg_store *store, const char *list,
			 const char *title, long long since,
			 struct fg_post_ref *ref_r, const char **error_r);

/* A post that may exist (fg:{LIST}:posting, a hash: entry, consumer,
   at): set before the forum is asked to create the post of an entry,
   kept while it is not known whether the forum has it (no answer, a
   crash, a 5xx), removed with the entry when its post is recorded or
   the entry is finished otherwise. Whoever works the entry next, this
   daemon after a restart or another one, looks for the post before
   posting again. No expiry: it names the head entry of the list, which
   someone always works on. */
#define FG_KEY_POSTING		"fg:{%s}:posting"

/* fg_store_posting_begin - the post of entry_id may exist from now on */
int fg_store_posting_begin(struct fg_store *store, const char *list,
			   const char *entry_id, const char *consumer,
			   const char **error_r);
/* fg_store_posting_is - 1 the post of entry_id may exist, 0 no */
int fg_store_posting_is(struct fg_store *store, const char *list,
			const char *entry_id, const char **error_r);
/* fg_store_posting_end - the post of entry_id does not exist (a clear
   refusal): remove the mark if it names that entry */
int fg_store_posting_end(struct fg_store *store, const char *list,
			 const char *entry_id, const char **error_r);

/* Posts the bridge asked the forum for (fg:{LIST}:ours:FINGERPRINT,
   fg_forum_fingerprint() of the author and the text, with an expiry):
   set before the request, so the post's webhook, even one that comes
   before the post is recorded, or for a post made by a try whose
   answer was lost, is known as the bridge's own and not mailed back to
   the list. */
#define FG_KEY_OURS		"fg:{%s}:ours:"
/* How long a fingerprint is kept: longer than any forum holds back or
   retries a webhook (Discourse retries for hours, NodeBB not at all). */
#define FG_OURS_TTL_MS		(7LL * 86400 * 1000)

/* fg_store_ours_add - remember a post the bridge asks for */
int fg_store_ours_add(struct fg_store *store, const char *list,
		      const char *fingerprint, const char **error_r);
/* fg_store_ours_is - 1 the bridge asked for a post with this
   fingerprint in the last FG_OURS_TTL_MS, 0 no */
int fg_store_ours_is(struct fg_store *store, const char *list,
		     const char *fingerprint, const char **error_r);

/* Topics and the list they belong to (FG_KEY_TOPICS: a global hash,
   topic id -> list name), set once a post of the topic was posted from
   the list or mailed to it: the topic's later posts go to that list
   whatever category the topic is in now. */
#define FG_KEY_TOPICS		"fg:topics"

/* fg_store_topic_set - the topic belongs to the list (an earlier
   owner stays) */
int fg_store_topic_set(struct fg_store *store, long long topic_id,
		       const char *list, const char **error_r);
/* fg_store_list_by_topic - the list the topic belongs to: 1 with
   *name_r (caller frees), 0 none */
int fg_store_list_by_topic(struct fg_store *store, long long topic_id,
			   char **name_r, const char **error_r);
/* Set once the topics of a list's maps are in FG_KEY_TOPICS. */
#define FG_KEY_TOPICS_FILLED	"fg:{%s}:topics-filled"
/* fg_store_topics_fill - once per list (FG_KEY_TOPICS_FILLED): every
   topic of the list's Message-ID map into FG_KEY_TOPICS (maps written
   before FG_KEY_TOPICS existed); 1 done now with *added_r new ones, 0
   done before */
int fg_store_topics_fill(struct fg_store *store, const char *list,
			 long long *added_r, const char **error_r);

/* List mail the forum put into its review queue (fg-store-review.c).
   FG_KEY_REVIEW: a hash, the forum's id of the queued post -> the
   fields of struct fg_review; FG_KEY_REVIEW_COUNT: a hash, outcome
   ("approved", "rejected", "expired") -> count; FG_KEY_REVIEW_LOG: a
   stream of the ended ones (fields outcome, held_id, message_id,
   topic_id, title, at), capped near FG_REVIEW_LOG_MAX entries. */
#define FG_KEY_REVIEW		"fg:{%s}:review"
#define FG_KEY_REVIEW_COUNT	"fg:{%s}:review-count"
#define FG_KEY_REVIEW_LOG	"fg:{%s}:review-log"
#define FG_REVIEW_LOG_MAX	1000

struct fg_review {
	char *held_id;		/* the forum's id: NodeBB "reply-MS",
				   Discourse the reviewable's id */
	long long at;		/* unix ms when the forum queued it */
	long long topic_id;	/* a reply's topic; 0 a new topic */
	char *author;		/* forum user posted as; "" the bridge */
	char *fingerprint;	/* fg_forum_fingerprint() of author, text */
	char *message_id;	/* the list mail's */
	char *title;		/* a new topic's title, else "" */
};

/* fg_store_review_add - remember a post the forum queued */
int fg_store_review_add(struct fg_store *store, const char *list,
			const struct fg_review *review, const char **error_r);
/* fg_store_review_all - every post still in review, oldest first */
int fg_store_review_all(struct fg_store *store, const char *list,
			struct fg_review **reviews_r, size_t *count_r,
			const char **error_r);
/* fg_store_review_end - the post left the review queue (outcome
   "approved", "rejected" or "expired"): removed, counted and logged in
   one script; 1 done, 0 it was not there */
int fg_store_review_end(struct fg_store *store, const char *list,
			const char *held_id, const char *outcome,
			const char **error_r);
/* fg_store_review_counts - how many are in review (*waiting_r), and
   the counts by outcome (as fg_store_refused_counts()) */
int fg_store_review_counts(struct fg_store *store, const char *list,
			   long long *waiting_r, char ***outcomes_r,
			   char ***counts_r, size_t *count_r,
			   const char **error_r);
/* fg_store_review_log - the newest max ended ones, newest first */
int fg_store_review_log(struct fg_store *store, const char *list,
			size_t max, struct fg_entry ***entries_r,
			size_t *count_r, const char **error_r);
void fg_reviews_free(struct fg_review *reviews, size_t count);

/* Forum posts the list manager held, rejected or bounced (fg-refusal.h).
   FG_KEY_REFUSED: a stream, one entry per refusal (fields kind, post_id,
   topic_id, post_number, message_id, subject, reason, from, at), capped
   near FG_REFUSED_MAX entries; FG_KEY_REFUSED_COUNT: a hash, kind ->
   count, and "approved" for held posts that later came through the
   list; FG_KEY_REFUSED_STATE: a hash, the post ("TOPIC.POST", or
   "pPOST_ID" when only the VERP address named it) -> its latest kind
   or "approved"; FG_KEY_REFUSED_NOTIFIED: the id of the last entry
   taken for telling its author. */
#define FG_KEY_REFUSED		"fg:{%s}:refused"
#define FG_KEY_REFUSED_COUNT	"fg:{%s}:refused-count"
#define FG_KEY_REFUSED_STATE	"fg:{%s}:refused-state"
#define FG_KEY_REFUSED_NOTIFIED	"fg:{%s}:refused-notified"
#define FG_REFUSED_MAX		1000

struct fg_refusal;

/* fg_store_refused_add - record a refusal, count it and note the
   post's state, in one script (one round trip); the post's id is
   looked up in the Message-ID map when the refusal names none. 1
   recorded (*id_r, caller frees, when not NULL), 0 the post's latest
   refusal is of the same kind already (the same notice again). */
int fg_store_refused_add(struct fg_store *store,
			 const struct fg_refusal *refusal, long long at,
			 char **id_r, const char **error_r);
/* fg_store_refused_delivered - the post came through the list: a held
   post is "approved" now (counted); 1 it was held, 0 it was not. The
   post is named by topic_id and post_number, or by post_id when
   post_number is 0 (as its Message-ID names it) */
int fg_store_refused_delivered(struct fg_store *store, const char *list,
			       long long topic_id, long long post_number,
			       long long post_id, const char **error_r);
/* fg_store_refused_counts - the counts by kind (and "approved"),
   sorted by name, and *held_now_r the posts whose latest state is
   held */
int fg_store_refused_counts(struct fg_store *store, const char *list,
			    char ***kinds_r, char ***counts_r,
			    size_t *count_r, long long *held_now_r,
			    const char **error_r);
/* fg_store_refused_list - the newest max refusals, newest first */
int fg_store_refused_list(struct fg_store *store, const char *list,
			  size_t max, struct fg_entry ***entries_r,
			  size_t *count_r, const char **error_r);
/* fg_store_refused_take - the oldest refusal after the notified mark,
   moving the mark to it in the same step, so that each refusal is
   taken once: 1 with *entry_r, *previous_r (the mark before, "" when
   there was none) and *state_r (the post's latest state now, e.g.
   "approved" for a held post that came through since; "" unknown);
   the caller frees all three. 0 none left. */
int fg_store_refused_take(struct fg_store *store, const char *list,
			  struct fg_entry **entry_r, char **previous_r,
			  char **state_r, const char **error_r);
/* fg_store_refused_untake - put the mark back to previous if it is
   still at id (telling the author failed for a while) */
int fg_store_refused_untake(struct fg_store *store, const char *list,
			    const char *id, const char *previous,
			    const char **error_r);

/* ---- a list's inbound queue stopped by the forum ---- */
/* Why the forum keeps the list's queue waiting (refused credentials,
   a rate limit): fields cause, reason, since (unix time) and retry_at
   (unix time of the next try). Gone once a post goes through. */
#define FG_KEY_IN_STOPPED	"fg:{%s}:in-stopped"
/* fg_store_in_stopped_set - record why, from when, until when */
int fg_store_in_stopped_set(struct fg_store *store, const char *list,
			    const char *cause, const char *reason,
			    long long since, long long retry_at,
			    const char **error_r);
/* fg_store_in_stopped_clear - the queue moves again */
int fg_store_in_stopped_clear(struct fg_store *store, const char *list,
			      const char **error_r);
/* fg_store_in_stopped_get - 1 with the fields (fg_strv_free() both),
   sorted by name; 0 when the queue is not stopped */
int fg_store_in_stopped_get(struct fg_store *store, const char *list,
			    char ***names_r, char ***values_r,
			    size_t *count_r, const char **error_r);

/* ---- DMARC policies looked up (fg-store-dmarc.c) ---- */

/* fg:dmarc:DOMAIN (string with a TTL): the policy of an author's
   domain, "none", "quarantine" or "reject" (fg_dmarc_policy_name()) */
#define FG_KEY_DMARC_PREFIX	"fg:dmarc:"
/* fg_store_dmarc_get - 1 with the cached policy (caller frees), 0 none
   cached (or domain is not a lower-case host name) */
int fg_store_dmarc_get(struct fg_store *store, const char *domain,
		       char **policy_r, const char **error_r);
/* fg_store_dmarc_set - cache a policy for ttl_s seconds (0: not at all) */
int fg_store_dmarc_set(struct fg_store *store, const char *domain,
		       const char *policy, unsigned int ttl_s,
		       const char **error_r);

/* ---- subscribers (fg-store-subscribers.c) ---- */
/* Who receives a list-mode list's mail: a hash, canonical address
   (fg_address_canonical()) -> state. Separate from FG_KEY_MEMBERS
   (who may post). */
#define FG_KEY_SUBSCRIBERS	"fg:{%s}:subscribers"
/* A subscriber's state: "enabled", "nomail", "digest", or
   "disabled:REASON:UNIXTIME" (e.g. "disabled:bounce:1765000000"). */
#define FG_SUBSCRIBER_STATE_MAX	128
/* fg_subscriber_state_valid - is s one of the states above */
bool fg_subscriber_state_valid(const char *s);
/* fg_subscriber_address - the canonical form of a subscriber's
   address (caller frees); NULL when it is no address (no '@', a
   control character, empty local part or domain, longer than 254) */
char *fg_subscriber_address(const char *address);
/* fg_store_subscriber_set - subscribe address with state (NULL:
   "enabled"), or change the state of a subscriber; 1 added, 0
   changed or the same. A change is counted and published as list
   changes are (FG_KEY_SERIAL, FG_CHANNEL_CHANGES). */
int fg_store_subscriber_set(struct fg_store *store, const char *list,
			    const char *address, const char *state,
			    const char **error_r);
/* fg_store_subscriber_del - unsubscribe; 1 removed, 0 was not there */
int fg_store_subscriber_del(struct fg_store *store, const char *list,
			    const char *address, const char **error_r);
/* fg_store_subscriber_get - 1 with *state_r (caller frees), 0 not a
   subscriber */
int fg_store_subscriber_get(struct fg_store *store, const char *list,
			    const char *address, char **state_r,
			    const char **error_r);
/* fg_store_subscriber_count - how many subscribers */
int fg_store_subscriber_count(struct fg_store *store, const char *list,
			      long long *count_r, const char **error_r);
/* fg_store_subscriber_scan - one HSCAN step: up to about count
   subscribers from cursor ("0" to start) with their states; *next_r
   (caller frees) is "0" when the scan is done. A subscriber present
   for the whole scan is returned at least once. */
int fg_store_subscriber_scan(struct fg_store *store, const char *list,
			     const char *cursor, unsigned int count,
			     char ***addresses_r, char ***states_r,
			     size_t *n_r, char **next_r,
			     const char **error_r);
/* fg_store_subscribers_import - add these canonical addresses as
   "enabled" (a subscriber already there keeps its state), in one
   atomic step per FG_SUBSCRIBERS_BATCH addresses; *added_r the new
   ones. Counted and published once. */
#define FG_SUBSCRIBERS_BATCH	1000
int fg_store_subscribers_import(struct fg_store *store, const char *list,
				char *const *addresses, size_t count,
				long long *added_r, const char **error_r);

/* ---- the distribution stream (fg-store-dist.c) ---- */
/* A list-mode post accepted by the filter chain, for the fan-out to
   the subscribers: a stream, one entry per post (fields in
   doc/redis-schema.md), added once per Message-ID within the seen
   retention (day buckets of FG_KEY_DIST_SEEN). */
#define FG_KEY_DIST		"fg:{%s}:dist"
#define FG_KEY_DIST_SEEN	"fg:{%s}:dist-seen"
/* One post for the fan-out. */
struct fg_dist {
	const char *message_id;		/* normalized, without <> */
	const char *envelope_from;	/* MAIL FROM; "" the null sender */
	const char *from_email;		/* the From address */
	const char *subject;		/* decoded, the passphrase removed */
	/* the steps passed before the queue step, "getinfo,...,access" */
	const char *chain;
	const void *message;		/* the message as received, the */
	size_t message_size;		/*  passphrase removed */
};
/* fg_store_dist_add - add a post to the distribution stream once per
   Message-ID: 1 added, 0 added before */
int fg_store_dist_add(struct fg_store *store, const char *list,
		      const struct fg_dist *dist, const char **error_r);

/* ---- control mail (fg-store-control.c) ---- */
/* Mail to a list-mode list's control addresses (fg-listaddr.h:
   LIST-join@, LIST-confirm+TOKEN@, ...), for forumgated: a stream, one
   entry per message and address (fields in doc/redis-schema.md), added
   once per role, detail and Message-ID within the seen retention (day
   buckets of FG_KEY_CONTROL_SEEN). */
#define FG_KEY_CONTROL		"fg:{%s}:control"
#define FG_KEY_CONTROL_SEEN	"fg:{%s}:control-seen"
/* One control mail. */
struct fg_control {
	const char *role;		/* fg_listaddr_role_name() */
	const char *detail;		/* after '+' of the address, or "" */
	const char *rcpt;		/* the envelope recipient */
	const char *envelope_from;	/* MAIL FROM; "" the null sender */
	const char *from_email;		/* the From address */
	const char *message_id;		/* normalized, without <> */
	const char *subject;		/* decoded */
	const void *message;		/* the message as received */
	size_t message_size;
};
/* fg_store_control_add - add a control mail to the list's stream once
   per role, detail and Message-ID: 1 added, 0 added before */
int fg_store_control_add(struct fg_store *store, const char *list,
			 const struct fg_control *control,
			 const char **error_r);

/* ---- subscribing by mail (fg-store-join.c) ---- */
/* Confirmation requests sent to an address (a counter expiring a
   window after the first) and the tokens already used (one key each,
   expiring with the token). */
#define FG_KEY_CONFIRM_SENT	"fg:{%s}:confirm-sent:%s"
#define FG_KEY_CONFIRM_USED	"fg:{%s}:confirm-used:%s"
/* fg_store_confirm_count - count one more confirmation request to the
   canonical address within window_s: the count, 1 for the first */
int fg_store_confirm_count(struct fg_store *store, const char *list,
			   const char *address, unsigned int window_s,
			   long long *count_r, const char **error_r);
/* fg_store_confirm_apply - mark a confirmation token (by its MAC) used
   for ttl_s and, in the same step, subscribe the address (state
   enabled, unless it is subscribed) or unsubscribe it: 1 with
   *changed_r, 0 the token was used before (nothing changed) */
int fg_store_confirm_apply(struct fg_store *store, const char *list,
			   const char *mac, long long ttl_s, bool subscribe,
			   const char *address, bool *changed_r,
			   const char **error_r);

/* The fan-out's progress (fg-store-fanout.c). One post of a list is
   fanned out at a time, in stream order, under the FG_QUEUE_DIST
   lease: FG_KEY_DIST_RCPT holds its recipients, snapshot when the
   fan-out started; FG_KEY_DIST_PROGRESS how far it got; FG_KEY_DIST_DONE
   the Message-IDs whose fan-out started (a sorted set scored by unix
   ms, kept for the seen retention: single-instance); FG_KEY_DIST_STATS
   the list's totals. Every write checks the lease's fencing token in
   the same script. */
#define FG_KEY_DIST_RCPT	"fg:{%s}:dist-rcpt"
#define FG_KEY_DIST_PROGRESS	"fg:{%s}:dist-progress"
#define FG_KEY_DIST_DONE	"fg:{%s}:dist-done"
#define FG_KEY_DIST_STATS	"fg:{%s}:dist-stats"

/* Where the fan-out of one post stands. */
struct fg_dist_progress {
	long long total;	/* recipients in the snapshot */
	long long next;		/* the position of the next to send */
	long long sent;		/* accepted by the relay */
	long long refused;	/* refused permanently, not retried */
	bool resumed;		/* it had started before */
};

enum fg_dist_start {
	FG_DIST_START_LOST = 0,	/* the lease is held by another daemon */
	FG_DIST_START_GO = 1,	/* started or resumed: send from next */
	/* the Message-ID was fanned out (or begun) by another entry */
	FG_DIST_START_DUPLICATE = 2,
};

/* fg_store_dist_start - begin the fan-out of entry entry_id (Message-ID
   message_id): resume it when the progress names this entry, else
   refuse a Message-ID fanned out before, else snapshot the enabled
   subscribers (sorted) and start at 0. An enum fg_dist_start, or -1 */
int fg_store_dist_start(struct fg_store *store, const char *list,
			const struct fg_lease *lease, const char *entry_id,
			const char *message_id,
			struct fg_dist_progress *progress_r,
			const char **error_r);
/* fg_store_dist_recipients - up to max recipients of the snapshot from
   position start (caller frees with fg_strv_free()) */
int fg_store_dist_recipients(struct fg_store *store, const char *list,
			     long long start, size_t max, char ***rcpts_r,
			     size_t *count_r, const char **error_r);
/* fg_store_dist_record - recipients up to position next (exclusive) are
   done: sent more accepted, refused more refused. 1 recorded, 0 the
   lease is lost or the progress is another entry's: nothing recorded */
int fg_store_dist_record(struct fg_store *store, const char *list,
			 const struct fg_lease *lease, const char *entry_id,
			 long long next, long long sent, long long refused,
			 const char **error_r);
/* fg_store_dist_record_send - fg_store_dist_record() without waiting:
   the command goes; no other command on the store before
   fg_store_dist_record_reply() */
int fg_store_dist_record_send(struct fg_store *store, const char *list,
			      const struct fg_lease *lease,
			      const char *entry_id, long long next,
			      long long sent, long long refused,
			      const char **error_r);
/* fg_store_dist_record_reply - the outcome of the record sent: as
   fg_store_dist_record()'s */
int fg_store_dist_record_reply(struct fg_store *store, const char *list,
			       const char **error_r);
/* fg_store_dist_finish - the fan-out of entry_id is over (what:
   "sent" or "duplicate"): acknowledge and delete the entry, drop the
   snapshot and the progress, count it; 1 done, 0 the lease is lost */
int fg_store_dist_finish(struct fg_store *store, const char *list,
			 const struct fg_lease *lease, const char *entry_id,
			 const char *what, const char **error_r);
/* fg_store_dist_progress_get - the progress of the post being fanned
   out: 1 with *progress_r and *entry_id_r (caller frees), 0 none */
int fg_store_dist_progress_get(struct fg_store *store, const char *list,
			       struct fg_dist_progress *progress_r,
			       char **entry_id_r, const char **error_r);

#endif
