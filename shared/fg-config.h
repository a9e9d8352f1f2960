#ifndef FG_CONFIG_H
#define FG_CONFIG_H
/*
 * NAME
 *	fg-config 3 - forumgate.conf, the settings of all forumgate programs
 * DESCRIPTION
 *	One file, "name = value" lines, '#' starts a comment line. Every
 *	setting has a name, a default and a one-line description in one
 *	table (fg_settings[]); doc/forumgate.conf.5 documents the same
 *	table and a unit test checks that both list the same names.
 *
 *	A setting NAME_file names a file NAME's value is read from when
 *	the file is loaded (a secret kept out of the main file); setting
 *	both is an error.
 *
 *	Unknown names are an error (a typo must not silently fall back to
 *	a default). Values are validated by type when the file is loaded.
 */
#include <stdbool.h>
#include <stddef.h>

#define FG_DEFAULT_CONFIG_PATH "/etc/forumgate/forumgate.conf"

struct fg_config {
	/* Redis */
	char *redis;			/* host:port or unix:/path */
	unsigned int redis_timeout;	/* durations are in milliseconds */
	/* Redis AUTH: after fg_config_load_component() redis_user and
	   redis_password are the loading component's own */
	char *redis_user;
	char *redis_password;
	char *redis_password_file;
	char *plugin_redis_user;
	char *plugin_redis_password;
	char *plugin_redis_password_file;
	char *policyd_redis_user;
	char *policyd_redis_password;
	char *policyd_redis_password_file;
	char *bridge_redis_user;
	char *bridge_redis_password;
	char *bridge_redis_password_file;
	char *admin_redis_user;
	char *admin_redis_password;
	char *admin_redis_password_file;
	/* Redis TLS */
	bool redis_tls;
	char *redis_tls_ca_file;
	char *redis_tls_cert_file;
	char *redis_tls_key_file;
	char *redis_tls_server_name;
	/* Identity and integrity */
	char *secret;			/* HMAC key: Message-IDs, VERP */
	char *mail_domain;		/* right-hand side of our Message-IDs */
	/* List -> forum */
	size_t max_message_size;
	bool keep_copy;
	char *post_format;		/* markdown, bbcode or html */
	char *show_trimmed;		/* no or details */
	char *trusted_authserv_ids;	/* whose Authentication-Results count */
	char *not_posted_mailbox;	/* parent of the reasons' mailboxes */
	char *not_posted_discard;	/* reasons not kept (fg-classify.h) */
	/* Forum */
	char *forum_type;
	char *forum_url;
	char *forum_api_key;
	char *forum_api_username;
	char *forum_generic_url;		/* "": forum_url */
	char *forum_generic_secret;
	char *forum_generic_link;
	unsigned int forum_timeout;
	unsigned int forum_max_tries;
	unsigned int forum_max_title_length;	/* 0: the forum's default */
	unsigned int forum_min_title_length;
	unsigned int forum_max_post_length;
	unsigned int forum_min_post_length;
	unsigned int forum_retry_min;
	unsigned int forum_retry_max;
	unsigned int forum_retry_after_max;
	unsigned int forum_review_expiry;	/* ms */
	/* List mode: the moderation queue (fg-held.h) */
	unsigned int moderation_expiry;		/* ms */
	unsigned int moderation_max_held;
	/* Webhook intake */
	char *webhook_listen;
	char *webhook_secret;
	size_t webhook_max_size;
	unsigned int webhook_request_timeout;	/* ms */
	unsigned int webhook_per_address_limit;	/* 0: no limit */
	unsigned int webhook_max_connections;
	char *webhook_trusted_addresses;
	/* Forum -> list */
	char *smtp_relay;
	unsigned int smtp_timeout;
	char *bridge_address;
	char *bridge_name_suffix;
	/* Policy daemon */
	char *policy_listen;
	unsigned int policy_idle_timeout;
	unsigned int queue_lease_ttl;
	/* Forum -> list: routes and filters */
	unsigned int smtp_relay_backoff;
	char *outbound_blocked_users;
	char *outbound_blocked_groups;
	bool outbound_reply_to_list;
	char *policy_redis_down_action;
	unsigned int policy_rate_limit;
	unsigned int policy_rate_reject;
	unsigned int policy_rate_window;
	bool policy_strip_extension;
	char *bridge_clients;
	char *recipient_delimiter;
	unsigned int policy_refresh;
	/* List -> forum: authors, threading, attachments */
	char *author_attribution;
	unsigned int thread_by_subject_days;
	unsigned int reply_wait;		/* ms */
	unsigned int reply_wait_unseen;		/* ms */
	unsigned int seen_retention_days;
	unsigned int dead_letter_max;
	size_t attachment_max_size;
	size_t attachment_max_total;
	char *attachment_types;
	/* Forum -> list: composition */
	bool outbound_html;
	char *outbound_edits;		/* "ignore" or "mail" */
	char *refused_notify;		/* "off" or "pm" */
	/* List mode: the fan-out */
	char *list_unsubscribe_url;	/* one-click base; "": none */
	bool fanout_pipelining;		/* fg-smtp-pipe on plain smtp:// */
	char *dmarc_resolver;		/* "ADDR[:PORT]"; "": resolv.conf */
	unsigned int dmarc_timeout;	/* ms, per DNS question */
	unsigned int dmarc_cache_ttl;	/* ms; 0: not cached */
	/* List mode: subscribing by mail */
	unsigned int confirm_expiry;	/* ms */
	char *confirm_url;		/* confirmation page base; "": none */
	unsigned int confirm_daily_limit;	/* per address; 0: none */
	unsigned int request_max_lines;
	/* List mode: digests */
	unsigned int digest_hour;	/* 0-23, local time */
	size_t digest_size_max;		/* bytes; 0: by the hour only */
	char *digest_format;		/* "mime" or "rfc1153" */
	unsigned int digest_pending_max;	/* posts waiting, at most */
	/* Secrets in their own files (read by fg_config_load) */
	char *secret_file;
	char *forum_api_key_file;
	char *forum_generic_secret_file;
	char *webhook_secret_file;
	char *smtp_relay_file;
	/* Policy daemon: privileges */
	char *policyd_user;
	/* forumgate member sync: Mailman 3's REST API */
	char *mailman_rest_url;
	char *mailman_rest_user;
	char *mailman_rest_password;
	char *mailman_rest_password_file;
	unsigned int mailman_rest_timeout;	/* ms */
};

enum fg_setting_type {
	FG_SET_STRING,
	FG_SET_DURATION,	/* stored as unsigned int milliseconds */
	FG_SET_SIZE,		/* stored as size_t bytes */
	FG_SET_BOOL,
	FG_SET_UINT,
};

struct fg_setting {
	const char *name;
	enum fg_setting_type type;
	size_t offset;
	const char *default_value;	/* NULL: no default, empty */
	const char *description;
};

extern const struct fg_setting fg_settings[];
extern const size_t fg_settings_count;

/* fg_config_defaults - a config with every default applied */
struct fg_config *fg_config_defaults(void);
/* The programs that read forumgate.conf: each has its own Redis user
   and password settings (PREFIX_redis_user, ...), and reads only its
   own password file. */
enum fg_component {
	FG_COMPONENT_NONE,	/* the defaults only (tools, tests) */
	FG_COMPONENT_PLUGIN,	/* the Dovecot plugin: "plugin" */
	FG_COMPONENT_POLICYD,	/* forumgate-policyd: "policyd" */
	FG_COMPONENT_BRIDGE,	/* forumgated: "bridge" */
	FG_COMPONENT_ADMIN,	/* the forumgate command: "admin" */
};

/* fg_config_load - read a file; -1 with a "file:line: what" error;
   the same as fg_config_load_component() for FG_COMPONENT_NONE */
int fg_config_load(const char *path, struct fg_config **config_r,
		   const char **error_r);
/* fg_config_load_component - read a file for one program: of the
   Redis password files only the component's own is read (and
   redis_password_file when the component has no password of its
   own), and redis_user / redis_password become the component's */
int fg_config_load_component(const char *path, enum fg_component component,
			     struct fg_config **config_r,
			     const char **error_r);
/* fg_config_set - set one setting by name from its text form */
int fg_config_set(struct fg_config *config, const char *name,
		  const char *value, const char **error_r);
/* fg_config_require - error naming the first of the NULL-terminated
   setting names that is empty */
int fg_config_require(const struct fg_config *config, const char **error_r,
		      ...) __attribute__((sentinel));
void fg_config_free(struct fg_config **config);

#endif
