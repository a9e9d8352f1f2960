/*
 * NAME
 *	fg-redis 3 - how a forumgate program reaches Redis: AUTH and TLS
 * DESCRIPTION
 *	See fg-redis.h. TLS: the client context is made here with
 *	OpenSSL, not with hiredis' redisCreateSSLContext(), because
 *	hiredis only sends the server name (SNI) and does not check it
 *	against the certificate; SSL_set1_host() does. The connection
 *	itself is handed to hiredis with redisInitiateSSL().
 */
#include "fg-redis.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-secret.h"
#include "forumgate-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef HAVE_HIREDIS_SSL
#include <hiredis/hiredis_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

/* Keys named in a refused command's error, at most. */
#define FG_REDIS_DENIED_KEYS 3

struct fg_redis_params {
	char *address;
	unsigned int timeout_ms;
	char *user;		/* NULL: the default user */
	char *password;		/* NULL: no AUTH */
	bool tls;
	char *server_name;	/* the name the certificate must carry */
#ifdef HAVE_HIREDIS_SSL
	SSL_CTX *ssl_ctx;
#endif
};

bool fg_redis_tls_available(void)
{
#ifdef HAVE_HIREDIS_SSL
	return true;
#else
	return false;
#endif
}

/* fg_redis_nonempty - a copy of a setting's value, NULL when empty */
static char *fg_redis_nonempty(const char *value)
{
	return value != NULL && *value != '\0' ? fg_xstrdup(value) : NULL;
}

#ifdef HAVE_HIREDIS_SSL
/* fg_redis_host - the host of "host:port" or "[v6]:port", NULL for a
   unix socket */
static char *fg_redis_host(const char *address)
{
	const char *colon = strrchr(address, ':');

	if (strncmp(address, "unix:", 5) == 0 || colon == NULL)
		return NULL;
	if (address[0] == '[' && colon > address + 1 && colon[-1] == ']')
		return fg_xstrndup(address + 1, (size_t)(colon - address - 2));
	return fg_xstrndup(address, (size_t)(colon - address));
}

/* fg_redis_is_ip - is the name an IPv4 or IPv6 address? */
static bool fg_redis_is_ip(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 ||
		inet_pton(AF_INET6, name, buf) == 1;
}

/* fg_redis_ssl_error - OpenSSL's reason for the last failure */
static const char *fg_redis_ssl_error(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown OpenSSL error";
}

/* fg_redis_readable - can the file of a setting be read? (OpenSSL's
   own error for a file it cannot open says only "BIO lib") */
static int fg_redis_readable(const char *setting, const char *path,
			     const char **error_r)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		*error_r = fg_errorf("%s %s: %s", setting, path,
				     strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

/* fg_redis_tls_context - the client TLS context of the settings */
static int fg_redis_tls_context(struct fg_redis_params *p,
				const struct fg_config *config,
				const char **error_r)
{
	const char *ca = config->redis_tls_ca_file;
	const char *cert = config->redis_tls_cert_file;
	const char *key = config->redis_tls_key_file;
	SSL_CTX *ctx;

	if ((cert != NULL && *cert != '\0') != (key != NULL && *key != '\0')) {
		*error_r = "redis_tls_cert_file and redis_tls_key_file go "
			"together: set both or neither";
		return -1;
	}
	(void)redisInitOpenSSL();
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = fg_errorf("Redis TLS: %s", fg_redis_ssl_error());
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((ca != NULL && *ca != '\0' &&
	     fg_redis_readable("redis_tls_ca_file", ca, error_r) < 0) ||
	    (cert != NULL && *cert != '\0' &&
	     (fg_redis_readable("redis_tls_cert_file", cert, error_r) < 0 ||
	      fg_redis_readable("redis_tls_key_file", key, error_r) < 0)))
		goto fail;
	if (ca != NULL && *ca != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			*error_r = fg_errorf("redis_tls_ca_file %s: %s", ca,
					     fg_redis_ssl_error());
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		*error_r = fg_errorf("Redis TLS: the system's CA "
				     "certificates: %s", fg_redis_ssl_error());
		goto fail;
	}
	if (cert != NULL && *cert != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			*error_r = fg_errorf("redis_tls_cert_file %s: %s",
					     cert, fg_redis_ssl_error());
			goto fail;
		}
		/* the key's error never quotes the key */
		if (SSL_CTX_use_PrivateKey_file(ctx, key,
						SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			*error_r = fg_errorf("redis_tls_key_file %s: %s", key,
					     fg_redis_ssl_error());
			goto fail;
		}
	}
	p->ssl_ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

/* fg_redis_ssl_new - the TLS state of one connection, or NULL */
static SSL *fg_redis_ssl_new(const struct fg_redis_params *p,
			     const char **error_r)
{
	SSL *ssl = SSL_new(p->ssl_ctx);

	if (ssl == NULL) {
		*error_r = fg_errorf("Redis %s: TLS: %s", p->address,
				     fg_redis_ssl_error());
		return NULL;
	}
	/* an address is matched against the certificate's IP entries and
	   sent without SNI (RFC 6066 names hosts only) */
	if (p->server_name != NULL && fg_redis_is_ip(p->server_name) &&
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
					  p->server_name) != 1) {
		*error_r = fg_errorf("Redis %s: TLS: server address '%s': %s",
				     p->address, p->server_name,
				     fg_redis_ssl_error());
		SSL_free(ssl);
		return NULL;
	}
	if (p->server_name != NULL && !fg_redis_is_ip(p->server_name) &&
	    (SSL_set_tlsext_host_name(ssl, p->server_name) != 1 ||
	     SSL_set1_host(ssl, p->server_name) != 1)) {
		*error_r = fg_errorf("Redis %s: TLS: server name '%s': %s",
				     p->address, p->server_name,
				     fg_redis_ssl_error());
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
#endif

int fg_redis_params_new(const struct fg_config *config,
			struct fg_redis_params **params_r,
			const char **error_r)
{
	struct fg_redis_params *p =
		fg_redis_params_plain(config->redis, config->redis_timeout);

	p->user = fg_redis_nonempty(config->redis_user);
	p->password = fg_redis_nonempty(config->redis_password);
	if (p->user != NULL && p->password == NULL) {
		*error_r = fg_errorf("Redis user '%s' has no password: set "
				     "its redis_password or "
				     "redis_password_file", p->user);
		fg_redis_params_free(&p);
		return -1;
	}
	p->tls = config->redis_tls;
	if (!p->tls) {
		*params_r = p;
		return 0;
	}
#ifdef HAVE_HIREDIS_SSL
	if (strncmp(p->address, "unix:", 5) == 0) {
		*error_r = "redis_tls is set but redis is a unix socket: "
			"TLS is for host:port";
		fg_redis_params_free(&p);
		return -1;
	}
	p->server_name = fg_redis_nonempty(config->redis_tls_server_name);
	if (p->server_name == NULL)
		p->server_name = fg_redis_host(p->address);
	if (fg_redis_tls_context(p, config, error_r) < 0) {
		fg_redis_params_free(&p);
		return -1;
	}
	*params_r = p;
	return 0;
#else
	*error_r = "redis_tls is set, but this forumgate was built without "
		"TLS for Redis (hiredis_ssl was not found at build time): "
		"rebuild with hiredis 1.0 or later and its hiredis_ssl, or "
		"reach Redis through a unix socket (redis = unix:/path) or "
		"through a local TLS tunnel such as stunnel "
		"(doc/redis-acl.md)";
	fg_redis_params_free(&p);
	return -1;
#endif
}

struct fg_redis_params *fg_redis_params_plain(const char *address,
					      unsigned int timeout_ms)
{
	struct fg_redis_params *p = fg_xcalloc(1, sizeof(*p));

	p->address = fg_xstrdup(address);
	p->timeout_ms = timeout_ms == 0 ? 2000 : timeout_ms;
	return p;
}

void fg_redis_params_free(struct fg_redis_params **_params)
{
	struct fg_redis_params *p = *_params;

	if (p == NULL)
		return;
#ifdef HAVE_HIREDIS_SSL
	if (p->ssl_ctx != NULL)
		SSL_CTX_free(p->ssl_ctx);
#endif
	free(p->address);
	free(p->user);
	fg_secret_free(&p->password);
	free(p->server_name);
	free(p);
	*_params = NULL;
}

const char *fg_redis_address(const struct fg_redis_params *params)
{
	return params->address;
}

unsigned int fg_redis_timeout_ms(const struct fg_redis_params *params)
{
	return params->timeout_ms;
}

const char *fg_redis_user(const struct fg_redis_params *params)
{
	return params->user != NULL ? params->user : "default";
}

#ifdef HAVE_HIREDIS_SSL
/* fg_redis_tls_sync - the TLS handshake of a synchronous context */
static int fg_redis_tls_sync(const struct fg_redis_params *p,
			     redisContext *ctx, const char **error_r)
{
	SSL *ssl = fg_redis_ssl_new(p, error_r);
	long verify;

	if (ssl == NULL)
		return -1;
	if (redisInitiateSSL(ctx, ssl) == REDIS_OK)
		return 0;
	verify = SSL_get_verify_result(ssl);
	if (verify != X509_V_OK) {
		*error_r = fg_errorf("Redis %s: TLS: the server's certificate "
				     "was refused: %s (check "
				     "redis_tls_ca_file and "
				     "redis_tls_server_name)", p->address,
				     X509_verify_cert_error_string(verify));
	} else {
		*error_r = fg_errorf("Redis %s: TLS handshake failed: %s",
				     p->address, ctx->errstr);
	}
	SSL_free(ssl);	/* not taken by hiredis when it failed */
	return -1;
}
#endif

int fg_redis_setup(const struct fg_redis_params *params, redisContext *ctx,
		   const char **error_r)
{
	const char *argv[3];
	size_t lens[3];
	redisReply *reply;
	int argc;

#ifdef HAVE_HIREDIS_SSL
	if (params->tls && fg_redis_tls_sync(params, ctx, error_r) < 0)
		return -1;
#endif
	argc = fg_redis_auth_argv(params, argv, lens);
	if (argc == 0)
		return 0;
	reply = redisCommandArgv(ctx, argc, argv, lens);
	if (reply == NULL) {
		/* TLS 1.3: a server that refuses the client's certificate
		   closes the connection after the client's handshake ended */
		*error_r = fg_errorf("Redis %s: AUTH as user '%s' failed: %s%s",
				     params->address, fg_redis_user(params),
				     ctx->errstr[0] != '\0' ? ctx->errstr :
				     "connection lost", params->tls ?
				     " (TLS: does the server want a client "
				     "certificate it trusts? "
				     "redis_tls_cert_file)" : "");
		return -1;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		*error_r = fg_redis_auth_error(params, reply->str);
		freeReplyObject(reply);
		return -1;
	}
	freeReplyObject(reply);
	return 0;
}

int fg_redis_tls_async(const struct fg_redis_params *params,
		       redisAsyncContext *ac, const char **error_r)
{
	if (!params->tls)
		return 0;
#ifdef HAVE_HIREDIS_SSL
	SSL *ssl = fg_redis_ssl_new(params, error_r);
	if (ssl == NULL)
		return -1;
	if (redisInitiateSSL(&ac->c, ssl) != REDIS_OK) {
		*error_r = fg_errorf("Redis %s: TLS handshake failed: %s",
				     params->address, ac->c.errstr);
		SSL_free(ssl);
		return -1;
	}
	return 0;
#else
	(void)ac;
	*error_r = "this build has no TLS for Redis";
	return -1;
#endif
}

int fg_redis_auth_argv(const struct fg_redis_params *params,
		       const char *argv[3], size_t lens[3])
{
	int argc = 0;

	if (params->password == NULL)
		return 0;
	argv[argc++] = "AUTH";
	if (params->user != NULL)
		argv[argc++] = params->user;
	argv[argc++] = params->password;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return argc;
}

const char *fg_redis_auth_error(const struct fg_redis_params *params,
				const char *reply)
{
	if (strncmp(reply, "WRONGPASS", 9) == 0 ||
	    strstr(reply, "invalid password") != NULL ||
	    strstr(reply, "invalid username-password") != NULL)
		return fg_errorf("Redis %s: AUTH as user '%s' was refused "
				 "(unknown user, wrong password, or the user "
				 "is off): %s", params->address,
				 fg_redis_user(params), reply);
	if (strstr(reply, "no password is set") != NULL ||
	    strstr(reply, "without any password configured") != NULL)
		return fg_errorf("Redis %s: AUTH as user '%s' failed: the "
				 "server has no password set (%s)",
				 params->address, fg_redis_user(params),
				 reply);
	return fg_errorf("Redis %s: AUTH as user '%s' failed: %s",
			 params->address, fg_redis_user(params), reply);
}

bool fg_redis_is_denied(const char *reply)
{
	return strncmp(reply, "NOPERM", 6) == 0 ||
		strstr(reply, "NOPERM ") != NULL ||
		strstr(reply, "user executing the script can't") != NULL;
}

/* fg_redis_keys - the keys of a command as text: EVAL's declared
   keys, otherwise the arguments that are forumgate keys ("fg:") */
static void fg_redis_keys(struct fg_buf *out, int argc,
			  const char *const *argv, const size_t *lens)
{
	int first = 1, last = argc, n = 0;
	long long numkeys;

	if (argc >= 3 && (strcasecmp(argv[0], "EVALSHA") == 0 ||
			  strcasecmp(argv[0], "EVAL") == 0)) {
		char num[24];
		snprintf(num, sizeof(num), "%.*s",
			 (int)(lens[2] < 20 ? lens[2] : 20), argv[2]);
		if (fg_parse_llong(num, &numkeys) < 0 || numkeys < 0)
			return;
		first = 3;
		last = 3 + numkeys < argc ? 3 + (int)numkeys : argc;
	}
	for (int i = first; i < last; i++) {
		if (lens[i] < 3 || memcmp(argv[i], "fg:", 3) != 0 ||
		    memchr(argv[i], '\0', lens[i]) != NULL)
			continue;
		if (n == FG_REDIS_DENIED_KEYS) {
			fg_buf_puts(out, ", ...");
			break;
		}
		fg_buf_puts(out, n == 0 ? " on " : ", ");
		fg_buf_append(out, argv[i], lens[i] > 200 ? 200 : lens[i]);
		n++;
	}
}

const char *fg_redis_reply_error(const struct fg_redis_params *params,
				 int argc, const char *const *argv,
				 const size_t *lens, const char *reply)
{
	struct fg_buf keys = { 0 };
	const char *error;

	if (!fg_redis_is_denied(reply)) {
		return fg_errorf("Redis %s: %s failed: %s", params->address,
				 argc > 0 ? argv[0] : "command", reply);
	}
	if (argc > 0)
		fg_redis_keys(&keys, argc, argv, lens);
	error = fg_errorf("Redis %s: user '%s' may not run %.*s%s (%s)",
			  params->address, fg_redis_user(params),
			  argc > 0 ? (int)(lens[0] < 32 ? lens[0] : 32) : 7,
			  argc > 0 ? argv[0] : "command",
			  keys.s != NULL ? keys.s : "", reply);
	fg_buf_free(&keys);
	return error;
}
