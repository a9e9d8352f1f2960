#ifndef FG_STORE_ASYNC_H
#define FG_STORE_ASYNC_H
/*
 * NAME
 *	fg-store-async 3 - the Redis lookups of event-driven programs
 * SYNOPSIS
 *	#include "fg-store-async.h"
 * DESCRIPTION
 *	The asynchronous (hiredis async API) counterpart of the lookups
 *	in fg-store.h, for programs that run an event loop. The key
 *	names are the ones fg-store.h defines. This module does not know
 *	the event loop: the caller attaches an adapter (for example
 *	hiredis/adapters/libevent.h) to the context it gets from
 *	fg_store_async_connect(), and owns reconnects and timeouts.
 *	hiredis 0.14 has neither a connect nor a command timeout in its
 *	async API, so a caller that must not wait forever runs its own
 *	timer and frees the context when it fires; every command still
 *	pending then completes with an error.
 *
 *	A lookup function that returns 0 has queued its command and calls
 *	its callback exactly once: with the answer, or with ret -1 and an
 *	error text when Redis answered with an error or the connection
 *	went away. A function that returns -1 calls nothing.
 *
 *	Strings handed to a callback are valid during the call only.
 */
#include <stddef.h>
#include <hiredis/async.h>

struct fg_redis_params;

/* Redis refused the AUTH sent first on ac: the error names the user.
   Called from inside hiredis: disconnect with redisAsyncDisconnect(). */
typedef void fg_store_async_auth_cb(void *context, redisAsyncContext *ac,
				    const char *error);

/* fg_store_async_connect - start connecting to the address of params
   ("host:port", "[v6addr]:port" or "unix:/path"), with its TLS, and
   queue its AUTH first (auth_failed is called if Redis refuses it).
   The connect itself completes later (connect callback). The host is
   best given as an address: hiredis resolves a name synchronously. */
int fg_store_async_connect(const struct fg_redis_params *params,
			   fg_store_async_auth_cb *auth_failed, void *context,
			   redisAsyncContext **ac_r, const char **error_r);
/* fg_store_async_address_check - is the address well formed? (so a
   program can refuse a typo at startup instead of retrying forever) */
int fg_store_async_address_check(const char *address, const char **error_r);

/* ret: 1 the address is a member, 0 it is not, -1 error */
typedef void fg_store_async_member_cb(void *context, int ret,
				      const char *error);

/* fg_store_async_is_member - is the (normalized) address a member of
   the list? SISMEMBER on the list's member set. */
int fg_store_async_is_member(redisAsyncContext *ac, const char *list,
			     const char *address,
			     fg_store_async_member_cb *callback, void *context,
			     const char **error_r);

/* ret: 0 with the facts, -1 error. mode is the config hash's "access"
   field ("" when not set). */
typedef void fg_store_async_facts_cb(void *context, int ret,
				     const char *mode, int member,
				     int allowed, long long count,
				     const char *error);

/* fg_store_async_facts - in one atomic round trip (a Lua script on
   the list's keys): the list's access mode, whether the (normalized)
   sender is a member and on the allow list, and, when window_ms > 0
   and the sender could post (open list, member or allowed), its posts
   accepted in the current rate window (this one not counted: that is
   fg_store_async_count at END-OF-MESSAGE). */
int fg_store_async_facts(redisAsyncContext *ac, const char *list,
			 const char *sender, unsigned int window_ms,
			 fg_store_async_facts_cb *callback, void *context,
			 const char **error_r);

/* ret: 0 with the sender's posts in the window, this one counted; -1
   error */
typedef void fg_store_async_count_cb(void *context, int ret,
				     long long count, const char *error);

/* fg_store_async_count - count an accepted post of the (normalized)
   sender to the list in the rate window of window_ms (> 0): the
   counter starts with the window as its time to live */
int fg_store_async_count(redisAsyncContext *ac, const char *list,
			 const char *sender, unsigned int window_ms,
			 fg_store_async_count_cb *callback, void *context,
			 const char **error_r);

/* ret: 0 with the list's serial and, when it differs from the one
   asked with, the list's facts (lf, the caller's to free) and its
   access mode as stored (mode, "" when not set; a mode the library
   does not know counts as "members"); lf NULL: unchanged. -1 error. */
struct fg_policy_list_facts;
typedef void fg_store_async_list_facts_cb(void *context, int ret,
					  const char *serial,
					  const char *mode,
					  struct fg_policy_list_facts *lf,
					  const char *error);

/* fg_store_async_list_facts - a list's access mode, member set and
   allow list at one moment, unless its serial (FG_KEY_SERIAL, counted
   by every change) is still the one given ("": read them anyway) */
int fg_store_async_list_facts(redisAsyncContext *ac, const char *list,
			      const char *serial,
			      fg_store_async_list_facts_cb *callback,
			      void *context, const char **error_r);

/* ret: 0 subscribed, 1 a message: the facts of list changed; -1 an
   error. When the context goes, one last call says -1 and the
   subscription's record is freed. */
typedef void fg_store_async_changes_cb(void *context, int ret,
				       const char *list, const char *error);

/* fg_store_async_subscribe_changes - SUBSCRIBE to FG_CHANNEL_CHANGES on
   a context that is used for nothing else from then on */
int fg_store_async_subscribe_changes(redisAsyncContext *ac,
				     fg_store_async_changes_cb *callback,
				     void *context, const char **error_r);

/* ret: 0 with count pairs of (posting address, list name) and
   n_bridges pairs of (bridge recipient, list name), -1 error */
typedef void fg_store_async_addresses_cb(void *context, int ret,
					 const char *const *addresses,
					 const char *const *lists, size_t count,
					 const char *const *bridges,
					 const char *const *bridge_lists,
					 size_t n_bridges,
					 const char *error);

/* fg_store_async_addresses - every posting address and every bridge
   recipient with its list: the whole FG_KEY_ADDRESSES and
   FG_KEY_BRIDGES hashes, in one pipeline */
int fg_store_async_addresses(redisAsyncContext *ac,
			     fg_store_async_addresses_cb *callback,
			     void *context, const char **error_r);

#endif
