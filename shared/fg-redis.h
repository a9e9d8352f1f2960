#ifndef FG_REDIS_H
#define FG_REDIS_H
/*
 * NAME
 *	fg-redis 3 - how a forumgate program reaches Redis: AUTH and TLS
 * SYNOPSIS
 *	#include "fg-redis.h"
 * DESCRIPTION
 *	struct fg_redis_params is what every Redis connection of a
 *	program is made with: the address, the timeout, the ACL user and
 *	password (the loading component's, see fg_config_load_component())
 *	and the TLS settings. fg_redis_params_new() checks them once (a
 *	build without hiredis_ssl refuses redis_tls here) and loads the
 *	TLS certificates, so a reconnect costs no file reads.
 *
 *	fg_redis_setup() runs on a new synchronous connection: the TLS
 *	handshake, then AUTH. fg_redis_tls_async() starts the handshake
 *	of an asynchronous connection, and fg_redis_auth_argv() gives the
 *	AUTH command its caller queues first (hiredis 0.14 has no
 *	connect options; AUTH user password is an ordinary command, Redis
 *	6 and later).
 *
 *	Error texts name the user, never the password: a refused AUTH
 *	says which user; a refused command (NOPERM, or a script's
 *	"user executing the script can't ...") becomes "Redis user 'U'
 *	may not run COMMAND on KEYS (Redis's answer)", so the missing
 *	right can be read off the log line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

struct fg_config;
struct fg_redis_params;

/* fg_redis_tls_available - was this build made with hiredis_ssl? */
bool fg_redis_tls_available(void);

/* fg_redis_params_new - the Redis settings of a loaded configuration;
   -1 when TLS is asked for and cannot be had, or its files cannot be
   loaded */
int fg_redis_params_new(const struct fg_config *config,
			struct fg_redis_params **params_r,
			const char **error_r);
/* fg_redis_params_plain - an address and a timeout only: no AUTH, no
   TLS (tools and tests) */
struct fg_redis_params *fg_redis_params_plain(const char *address,
					      unsigned int timeout_ms);
/* fg_redis_params_free - the passwords are zeroed */
void fg_redis_params_free(struct fg_redis_params **params);

const char *fg_redis_address(const struct fg_redis_params *params);
unsigned int fg_redis_timeout_ms(const struct fg_redis_params *params);
/* fg_redis_user - the ACL user's name for messages ("default" when
   none is set) */
const char *fg_redis_user(const struct fg_redis_params *params);

/* fg_redis_setup - TLS and AUTH on a new connected synchronous
   context; -1 with an error naming the address (and the user) */
int fg_redis_setup(const struct fg_redis_params *params, redisContext *ctx,
		   const char **error_r);
/* fg_redis_tls_async - start TLS on a new asynchronous context (a no-op
   without redis_tls) */
int fg_redis_tls_async(const struct fg_redis_params *params,
		       redisAsyncContext *ac, const char **error_r);
/* fg_redis_auth_argv - the AUTH command in argv/lens: its argc, 0 when
   no password is set */
int fg_redis_auth_argv(const struct fg_redis_params *params,
		       const char *argv[3], size_t lens[3]);
/* fg_redis_auth_error - the text of a refused AUTH */
const char *fg_redis_auth_error(const struct fg_redis_params *params,
				const char *reply);
/* fg_redis_is_denied - is an error reply a refused right? */
bool fg_redis_is_denied(const char *reply);
/* fg_redis_reply_error - the text of an error reply to a command:
   "Redis ADDRESS: COMMAND failed: REPLY", or for a refused right
   "Redis ADDRESS: user 'U' may not run COMMAND on KEYS (REPLY)" */
const char *fg_redis_reply_error(const struct fg_redis_params *params,
				 int argc, const char *const *argv,
				 const size_t *lens, const char *reply);

#endif
