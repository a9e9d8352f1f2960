#ifndef FG_POLICY_H
#define FG_POLICY_H
/*
 * NAME
 *	fg-policy 3 - Postfix policy delegation requests and list decisions
 * SYNOPSIS
 *	#include "fg-policy.h"
 * DESCRIPTION
 *	The Postfix SMTP server asks a policy server about each SMTP
 *	protocol stage with a request of "name=value" lines ended by an
 *	empty line, and expects one answer, "action=ACTION" and an empty
 *	line (SMTPD_POLICY_README). This module parses requests and makes
 *	the list decision; it does no I/O, keeps no event loop and never
 *	logs, so the daemon, the unit tests and a fuzzer drive the same
 *	code with plain buffers.
 *
 *	fg_policy_parse() reads one request from the start of a buffer
 *	without copying it: attribute values point into the buffer. The
 *	limits below bound what one request may cost; a request beyond a
 *	limit, a line without '=' and a NUL byte are protocol errors, after
 *	which the server logs and disconnects without replying. A
 *	trailing CR before a LF is accepted (requests typed by hand).
 *	Unknown attributes are skipped; of a repeated attribute the last
 *	one counts.
 *
 *	A decision takes up to three steps, so that the caller alone
 *	decides how it waits: fg_policy_check() answers from the request
 *	and the posting addresses alone, or says what it still needs;
 *	fg_policy_membership() finishes the decision once the sender's
 *	membership is known (or could not be looked up);
 *	fg_policy_unavailable() finishes it when the posting addresses are
 *	not known. fg_policy_answer() formats what goes on the wire.
 * DECISIONS
 *	Requests other than "request=smtpd_access_policy" are errors.
 *	END-OF-MESSAGE gets DUNNO with the verdict FG_POLICY_END_OF_MESSAGE:
 *	the message was accepted, and the caller counts it against the
 *	rate of each list its RCPT requests let it post to (fg_policy_txn
 *	below). Other protocol states and a missing recipient get DUNNO.
 *
 *	A client outside set->bridge_clients (by client_address; a
 *	request without one is not checked) is refused (REJECT 5.7.1)
 *	mail to a list's bridge recipient (or an extension of it), where
 *	only the list manager delivers the list's copies, and mail from
 *	a list's return path (Mailman LIST-bounces, LIST-bounces+...,
 *	mlmmj LIST+bounces-..., at a posting address's domain), which
 *	only the list manager sends from: a forger could otherwise hand
 *	the bridge a copy that looks like the list's.
 *
 *	The recipient is looked up as Postfix resolves it (fg-address.h):
 *	canonical first, then without its recipient_delimiter extension.
 *	A control address of a list (fg-listaddr.h: LIST-join@,
 *	LIST-leave@, LIST-request@, LIST-confirm+TOKEN@ and the others,
 *	LIST@DOMAIN a posting address) is never taken for the posting
 *	address, whatever recipient_delimiter is: anyone may write to it
 *	(DUNNO; the null sender too, without counting), only the rate
 *	limit applies, counted with the sender's posts to that list
 *	(decision->control).
 *	A VERP bounce address (fg-verp.h: BASE+fgb.MAC...) gets DUNNO
 *	when its MAC verifies and "550 5.1.1" when it does not. Other
 *	recipients that are not list posting addresses get DUNNO.
 *	For a posting address: a null sender is rejected (a bounce or an
 *	auto-reply is not a post), except at an extension of the address,
 *	where a list manager takes its own bounces (mlmmj's
 *	LIST+bounces-...); the list's own address or any extension of it
 *	as sender is rejected (a loop). Then the list's facts decide
 *	(fg_policy_facts): the access mode, membership, the allow list
 *	and the sender's posts accepted in the rate window (the message
 *	would be one too many over rate_reject: REJECT 5.7.1, over
 *	rate_limit: DEFER_IF_PERMIT 4.7.1). When the facts cannot be
 *	looked up the answer is redis_down_action.
 */
#include <stdbool.h>
#include <stddef.h>
#include "fg-store.h"

struct fg_net_list;

/* Longest request line (name=value, without the LF). Values Postfix
   takes from SMTP command lines are bounded by its line_length_limit
   (2048 by default); twice that leaves room for the attribute name. */
#define FG_POLICY_LINE_MAX	4096
/* Most attribute lines in one request (Postfix 3.7 sends about 30). */
#define FG_POLICY_ATTR_MAX	100
/* Largest request in bytes, the final empty line included. */
#define FG_POLICY_REQUEST_MAX	32768
/* Longest action text, e.g. "REJECT 5.7.1 <sender> is not ...". */
#define FG_POLICY_ACTION_MAX	512
/* Longest sender address quoted in a reply text; longer ones are cut. */
#define FG_POLICY_QUOTE_MAX	256

/* The attributes the decision or the log uses. */
enum fg_policy_attr {
	FG_POLICY_REQUEST,
	FG_POLICY_PROTOCOL_STATE,
	FG_POLICY_SENDER,
	FG_POLICY_RECIPIENT,
	FG_POLICY_INSTANCE,
	FG_POLICY_QUEUE_ID,
	FG_POLICY_CLIENT_ADDRESS,
	FG_POLICY_CLIENT_NAME,
	FG_POLICY_SASL_USERNAME,

	FG_POLICY_ATTR_COUNT
};

/* A value inside the parsed buffer; not NUL-terminated. */
struct fg_policy_value {
	const char *data;	/* NULL: the attribute was not sent */
	size_t len;
};

struct fg_policy_request {
	struct fg_policy_value attrs[FG_POLICY_ATTR_COUNT];
	unsigned int n_attrs;	/* attribute lines, known or not */
};

/* fg_policy_parse - parse one request at the start of buf. Returns 1
   with *req_r and *size_r (bytes up to and including the empty line),
   0 when more input is needed, -1 on a protocol error. Values in
   *req_r point into buf. */
int fg_policy_parse(const char *buf, size_t len,
		    struct fg_policy_request *req_r, size_t *size_r,
		    const char **error_r);

/* fg_policy_attr_name - the protocol name of a known attribute */
const char *fg_policy_attr_name(enum fg_policy_attr attr);

/* fg_policy_value_dup - a NUL-terminated copy of an attribute ("" when
   it was not sent); lowercased if asked */
char *fg_policy_value_dup(const struct fg_policy_request *req,
			  enum fg_policy_attr attr, bool lower);

/* What a decision depends on besides the request (from the settings,
   see forumgate.conf(5)). */
struct fg_policy_settings {
	const char *secret;		/* VERP MAC key; NULL: none verify */
	bool strip_extension;		/* user+tag@d is user@d for lookups */
	const char *recipient_delimiter;	/* Postfix's; "": none */
	unsigned int rate_limit;	/* posts per window; 0: no limit */
	unsigned int rate_reject;	/* posts per window before REJECT */
	const char *redis_down_action;	/* list lookups that failed */
	/* where list managers hand mail over (bridge_clients); NULL:
	   anywhere (no check) */
	const struct fg_net_list *bridge_clients;
};

/* fg_policy_settings_default - the defaults of the table in
   fg-config.c, for callers without a config (tests, fuzzer) */
void fg_policy_settings_default(struct fg_policy_settings *set);

/* The posting addresses: address (case-insensitive) -> list name. */
struct fg_policy_addresses;

struct fg_policy_addresses *fg_policy_addresses_new(void);
/* fg_policy_addresses_add - add one posting address; -1 when the
   address is empty or the list name is not a valid list name */
int fg_policy_addresses_add(struct fg_policy_addresses *addrs,
			    const char *address, const char *list,
			    const char **error_r);
/* fg_policy_addresses_lookup - the list of a posting address, or NULL */
const char *fg_policy_addresses_lookup(const struct fg_policy_addresses *addrs,
				       const char *address, size_t len);
/* fg_policy_addresses_count - the posting addresses held */
size_t fg_policy_addresses_count(const struct fg_policy_addresses *addrs);
/* fg_policy_addresses_add_bridge - add a list's bridge recipient (kept
   apart from the posting addresses); -1 as fg_policy_addresses_add() */
int fg_policy_addresses_add_bridge(struct fg_policy_addresses *addrs,
				   const char *address, const char *list,
				   const char **error_r);
/* fg_policy_bridge_lookup - the list of a bridge recipient, or NULL */
const char *fg_policy_bridge_lookup(const struct fg_policy_addresses *addrs,
				    const char *address, size_t len);
/* fg_policy_bridges_count - the bridge recipients held */
size_t fg_policy_bridges_count(const struct fg_policy_addresses *addrs);
void fg_policy_addresses_free(struct fg_policy_addresses **addrs);

enum fg_policy_verdict {
	FG_POLICY_ANSWER,		/* action is final */
	FG_POLICY_NEED_ADDRESSES,	/* posting addresses not known */
	FG_POLICY_NEED_MEMBERSHIP,	/* the list's facts about the sender */
	FG_POLICY_END_OF_MESSAGE,	/* action DUNNO; count the message */
};

/* A list's access modes (field "access" of fg:{LIST}:config). */
enum fg_policy_access {
	FG_ACCESS_MEMBERS,	/* members and the allow list post */
	FG_ACCESS_OPEN,		/* anyone posts */
	FG_ACCESS_MODERATED,	/* allow list posts, members held, rest refused */
	FG_ACCESS_CLOSED,	/* only the allow list posts */
	/* the allow list posts; anyone else only with the list's
	   passphrase (Approved: header or [approve:SECRET] in the
	   subject), which only delivery sees (fg-chain.h): at RCPT time
	   the sender passes as on an open list */
	FG_ACCESS_PASSPHRASE,
};

/* fg_policy_access_parse - "open", "members", "moderated", "closed",
   "passphrase";
   -1 for anything else */
int fg_policy_access_parse(const char *s, enum fg_policy_access *access_r);
const char *fg_policy_access_name(enum fg_policy_access access);

/* What Redis knows about a sender and a list, in one round trip. */
struct fg_policy_facts {
	enum fg_policy_access access;
	bool member;		/* in fg:{LIST}:members */
	bool allowed;		/* in fg:{LIST}:allow */
	long long count;	/* posts accepted in the rate window */
};

struct fg_policy_decision {
	enum fg_policy_verdict verdict;
	/* a few words for the log, e.g. "not a list address" */
	const char *reason;
	/* the list of the recipient, "" when it is none */
	char list[FG_LIST_NAME_MAX + 1];
	/* the action text without "action=", set with FG_POLICY_ANSWER */
	char action[FG_POLICY_ACTION_MAX];
	/* the answer lets a post to the list through: count it at
	   END-OF-MESSAGE (set by fg_policy_facts when counts are on) */
	bool post;
	/* the recipient is one of the list's control addresses (LIST-join@
	   and the others of fg-listaddr.h): anyone may write to it, within
	   the rate limit */
	bool control;
};

/* fg_policy_check - decide from the request and the posting addresses
   (NULL: not known). -1 for a request that must not be answered.
   set NULL: fg_policy_settings_default(). */
int fg_policy_check(const struct fg_policy_request *req,
		    const struct fg_policy_addresses *addrs,
		    const struct fg_policy_settings *set,
		    struct fg_policy_decision *decision_r,
		    const char **error_r);
/* fg_policy_membership - finish a FG_POLICY_NEED_MEMBERSHIP decision:
   is_member is 1, 0, or -1 when it could not be looked up */
void fg_policy_membership(struct fg_policy_decision *decision,
			  const char *sender, int is_member);
/* fg_policy_facts - finish a FG_POLICY_NEED_MEMBERSHIP decision from
   the list's facts (NULL: they could not be looked up) */
void fg_policy_facts(struct fg_policy_decision *decision,
		     const struct fg_policy_settings *set, const char *sender,
		     const struct fg_policy_facts *facts);
/* fg_policy_sender_key - the sender as the member sets store it:
   lowercase, "+tag" dropped from the local part if set asks */
char *fg_policy_sender_key(const struct fg_policy_settings *set,
			   const char *sender);
/* fg_policy_sender_normalize - the same, in place */
void fg_policy_sender_normalize(const struct fg_policy_settings *set,
				char *key);
/* fg_policy_unavailable - finish a FG_POLICY_NEED_ADDRESSES decision
   when the posting addresses could not be read */
void fg_policy_unavailable(struct fg_policy_decision *decision);
/* fg_policy_answer - "action=...\n\n" into buf; returns its length */
size_t fg_policy_answer(const struct fg_policy_decision *decision,
			char *buf, size_t size);

/* Longest instance and sender the cache keeps (Postfix's instances are
   about 30 bytes; addresses are at most 254). */
#define FG_POLICY_CACHE_INSTANCE_MAX	127
#define FG_POLICY_CACHE_SENDER_MAX	319

/* fg_policy_facts_can_post - may the sender post at all, as far as
   the facts go (open list, member, or allowed)? Only such a post is
   counted against the rate limit. */
bool fg_policy_facts_can_post(const struct fg_policy_facts *facts);
/* fg_policy_counts - are posts counted at all (a rate limit is set)? */
bool fg_policy_counts(const struct fg_policy_settings *set);

/* A list's access mode, members and allow list as read from Redis at
   one moment, to answer its facts without a round trip (counts
   excepted). Addresses match exactly, as SISMEMBER does. */
struct fg_policy_list_facts;

struct fg_policy_list_facts *
fg_policy_list_facts_new(enum fg_policy_access access);
/* fg_policy_list_facts_reserve - room for n addresses of about len
   bytes each, so that adding them does not grow the table step by
   step */
void fg_policy_list_facts_reserve(struct fg_policy_list_facts *lf, size_t n,
				  size_t len);
/* fg_policy_list_facts_add - an address of the member set, or (allow
   true) of the allow list */
void fg_policy_list_facts_add(struct fg_policy_list_facts *lf, bool allow,
			      const char *address, size_t len);
/* fg_policy_list_facts_get - the facts about a (normalized) sender,
   count 0 */
void fg_policy_list_facts_get(const struct fg_policy_list_facts *lf,
			      const char *sender,
			      struct fg_policy_facts *facts_r);
/* fg_policy_list_facts_count - the addresses held */
size_t fg_policy_list_facts_count(const struct fg_policy_list_facts *lf);
void fg_policy_list_facts_free(struct fg_policy_list_facts **lf);

/* The membership answers of one message (one "instance"), so that a
   message to many recipients of one list costs one lookup. It holds
   the answers of the current instance only, a few lists at most. */
#define FG_POLICY_CACHE_LISTS 4

struct fg_policy_cache {
	char instance[FG_POLICY_CACHE_INSTANCE_MAX + 1];	/* "": empty */
	char sender[FG_POLICY_CACHE_SENDER_MAX + 1];
	unsigned int count, next;
	struct {
		char list[FG_LIST_NAME_MAX + 1];
		struct fg_policy_facts facts;
	} entries[FG_POLICY_CACHE_LISTS];
};

/* fg_policy_cache_get - 1 member, 0 not a member, -1 not cached */
int fg_policy_cache_get(const struct fg_policy_cache *cache,
			const char *instance, const char *sender,
			const char *list);
/* fg_policy_cache_put - remember an answer; a new instance or sender
   forgets the old answers. Nothing is kept without an instance, nor
   with an instance or sender longer than the _MAX above. The cache
   holds no memory of its own: a zeroed one is empty. */
void fg_policy_cache_put(struct fg_policy_cache *cache, const char *instance,
			 const char *sender, const char *list, bool member);
/* fg_policy_cache_get_facts - 1 with *facts_r, 0 not cached */
int fg_policy_cache_get_facts(const struct fg_policy_cache *cache,
			      const char *instance, const char *sender,
			      const char *list,
			      struct fg_policy_facts *facts_r);
void fg_policy_cache_put_facts(struct fg_policy_cache *cache,
			       const char *instance, const char *sender,
			       const char *list,
			       const struct fg_policy_facts *facts);
void fg_policy_cache_clear(struct fg_policy_cache *cache);

/* The lists one message posts to, as its RCPT requests decided, so
   that END-OF-MESSAGE counts the message once per list. Postfix sends
   no recipient at END-OF-MESSAGE when a message has several, but every
   request of one message carries the same instance and comes over the
   same connection: the caller keeps one of these per connection. A
   new instance forgets the lists of the old one (a transaction ended
   by RSET or QUIT is never counted). */
#define FG_POLICY_TXN_LISTS 8

struct fg_policy_txn {
	char instance[FG_POLICY_CACHE_INSTANCE_MAX + 1];	/* "": empty */
	char sender[FG_POLICY_CACHE_SENDER_MAX + 1];	/* normalized */
	unsigned int count;
	char lists[FG_POLICY_TXN_LISTS][FG_LIST_NAME_MAX + 1];
};

/* fg_policy_txn_add - the RCPT decision of instance let a post from
   sender (normalized) to list through. Nothing is kept without an
   instance, nor past FG_POLICY_TXN_LISTS lists. */
void fg_policy_txn_add(struct fg_policy_txn *txn, const char *instance,
		       const char *sender, const char *list);
/* fg_policy_txn_end - END-OF-MESSAGE of instance: true with the lists
   to count (and their sender) in *msg_r; txn is empty afterwards */
bool fg_policy_txn_end(struct fg_policy_txn *txn, const char *instance,
		       struct fg_policy_txn *msg_r);

#endif
