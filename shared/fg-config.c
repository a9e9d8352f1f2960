/*
 * NAME
 *	fg-config 3 - forumgate.conf, the settings of all forumgate programs
 * DESCRIPTION
 *	The settings table below is the one place that names a setting,
 *	its type, its default and what it means. doc/forumgate.conf.5
 *	documents the same names (checked by tests/unit/check_config.c).
 */
#include "fg-config.h"
#include "fg-common.h"
#include "fg-secret.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(name, type, def, desc) \
	{ #name, type, offsetof(struct fg_config, name), def, desc }
/* a component's own Redis user, password and password file */
#define S_REDIS(prefix, who) \
	S(prefix##_redis_user, FG_SET_STRING, "", \
	  who "'s Redis ACL user (empty: redis_user)"), \
	S(prefix##_redis_password, FG_SET_STRING, "", \
	  who "'s Redis password (empty: redis_password)"), \
	S(prefix##_redis_password_file, FG_SET_STRING, NULL, \
	  "file " #prefix "_redis_password is read from (by " who " only)")

const struct fg_setting fg_settings[] = {
	S(redis, FG_SET_STRING, "127.0.0.1:6379",
	  "Redis server: host:port or unix:/path/to/socket"),
	S(redis_timeout, FG_SET_DURATION, "2s",
	  "connect and command timeout for Redis"),
	S(redis_user, FG_SET_STRING, "",
	  "Redis ACL user every program authenticates as (empty: none, or "
	  "the default user when redis_password is set)"),
	S(redis_password, FG_SET_STRING, "",
	  "password sent with AUTH right after each Redis connect (empty: "
	  "no AUTH)"),
	S(redis_password_file, FG_SET_STRING, NULL,
	  "file the value of redis_password is read from"),
	S_REDIS(plugin, "the Dovecot plugin"),
	S_REDIS(policyd, "forumgate-policyd"),
	S_REDIS(bridge, "forumgated"),
	S_REDIS(admin, "the forumgate command"),
	S(redis_tls, FG_SET_BOOL, "no",
	  "talk TLS to Redis (needs a build with hiredis_ssl)"),
	S(redis_tls_ca_file, FG_SET_STRING, "",
	  "CA certificates the Redis server's certificate is checked "
	  "against (empty: the system's)"),
	S(redis_tls_cert_file, FG_SET_STRING, "",
	  "client certificate shown to Redis (tls-auth-clients)"),
	S(redis_tls_key_file, FG_SET_STRING, "",
	  "private key of redis_tls_cert_file"),
	S(redis_tls_server_name, FG_SET_STRING, "",
	  "name the Redis server's certificate must carry (SNI and check; "
	  "empty: the host of redis)"),
	S(secret, FG_SET_STRING, NULL,
	  "HMAC key for Message-IDs and VERP tokens (required, keep private)"),
	S(mail_domain, FG_SET_STRING, NULL,
	  "domain of the Message-IDs forumgate generates (required)"),
	S(max_message_size, FG_SET_SIZE, "25M",
	  "largest list message that is parsed; larger ones are refused"),
	S(keep_copy, FG_SET_BOOL, "no",
	  "also store list mail in the bridge recipient's mailbox"),
	S(post_format, FG_SET_STRING, "markdown",
	  "markup of posts made from list mail: markdown, bbcode or html"),
	S(show_trimmed, FG_SET_STRING, "no",
	  "show the quote and signature cut from a mail: no, or details (collapsed)"),
	S(trusted_authserv_ids, FG_SET_STRING, "",
	  "authserv-ids of the MTA's Authentication-Results headers that are "
	  "believed (comma-separated; empty: no sender is authenticated, and "
	  "every list mail is posted as the bridge user with the attribution)"),
	S(not_posted_mailbox, FG_SET_STRING, "Not posted",
	  "list mail that is not posted is kept in its reason's mailbox below "
	  "this one (\"\": in INBOX)"),
	S(not_posted_discard, FG_SET_STRING, "own",
	  "reasons whose mail is counted and logged but not kept "
	  "(comma-separated: own, auto-reply, bounce, duplicate, ...)"),
	S(forum_type, FG_SET_STRING, "discourse",
	  "forum API driver: discourse, nodebb, or generic (signed JSON "
	  "to forum_generic_url)"),
	S(forum_url, FG_SET_STRING, NULL,
	  "base URL of the forum, e.g. https://forum.example.org"),
	S(forum_api_key, FG_SET_STRING, NULL,
	  "forum API key (Discourse: an all-users key)"),
	S(forum_api_username, FG_SET_STRING, "system",
	  "forum user the bridge posts as"),
	S(forum_generic_url, FG_SET_STRING, "",
	  "forum_type = generic: the endpoint posts are sent to as signed "
	  "JSON (empty: forum_url)"),
	S(forum_generic_secret, FG_SET_STRING, NULL,
	  "forum_type = generic: shared secret of the requests' "
	  "HMAC-SHA256 signatures (required with generic)"),
	S(forum_generic_link, FG_SET_STRING, "%u/t/%t/%n",
	  "forum_type = generic: web address of a post (%u forum_url, %t "
	  "topic id, %n post number)"),
	S(forum_timeout, FG_SET_DURATION, "30s",
	  "timeout of one forum API request"),
	S(forum_max_tries, FG_SET_UINT, "5",
	  "permanent (4xx) forum answers tolerated before a record is dead-lettered"),
	S(forum_max_title_length, FG_SET_UINT, "0",
	  "longest topic title the forum accepts, in characters; longer "
	  "subjects are cut (0: the forum type's default, 255)"),
	S(forum_min_title_length, FG_SET_UINT, "0",
	  "shortest topic title the forum accepts; shorter ones are padded "
	  "(0: the forum type's default, Discourse 15, NodeBB 3)"),
	S(forum_max_post_length, FG_SET_UINT, "0",
	  "longest post the forum accepts, in characters; longer texts are "
	  "cut with a note (0: the forum type's default, Discourse 32000, "
	  "NodeBB 32767)"),
	S(forum_min_post_length, FG_SET_UINT, "0",
	  "shortest post the forum accepts; shorter ones are padded "
	  "(0: the forum type's default, Discourse 20, NodeBB 8)"),
	S(forum_retry_min, FG_SET_DURATION, "1s",
	  "first wait after a transient forum failure"),
	S(forum_retry_max, FG_SET_DURATION, "5m",
	  "longest wait between retries after transient forum failures"),
	S(forum_retry_after_max, FG_SET_DURATION, "15m",
	  "longest wait a forum's Retry-After answer makes the bridge honour"),
	S(forum_review_expiry, FG_SET_DURATION, "14d",
	  "how long list mail in the forum's review queue is awaited before "
	  "it counts as expired (1s-40d)"),
	S(moderation_expiry, FG_SET_DURATION, "14d",
	  "list mode: a held post no moderator approved or rejected this "
	  "long expires, and its sender is told (1s-40d)"),
	S(moderation_max_held, FG_SET_UINT, "1000",
	  "list mode: most posts a list's moderation queue holds; more are "
	  "kept in the list's mailbox only, with a logged reason"),
	S(author_attribution, FG_SET_STRING, "%n (%a) wrote via the list:",
	  "first line of a post by a sender without a forum user (%n name, "
	  "%a shortened address)"),
	S(thread_by_subject_days, FG_SET_UINT, "0",
	  "join a recent topic with the same subject when no parent is known "
	  "(days, 0: off)"),
	S(reply_wait, FG_SET_DURATION, "10m",
	  "how long a reply waits for a parent the bridge received but has "
	  "not posted yet (0: not at all)"),
	S(reply_wait_unseen, FG_SET_DURATION, "2m",
	  "how long a reply waits for a parent the bridge has not received "
	  "(deliveries out of order; 0: not at all)"),
	S(seen_retention_days, FG_SET_UINT, "30",
	  "days a queued Message-ID or forum post id is remembered, so that "
	  "a copy is not queued again (1-366)"),
	S(dead_letter_max, FG_SET_UINT, "10000",
	  "dead letters kept per list, the oldest are dropped (0: all)"),
	S(attachment_max_size, FG_SET_SIZE, "4M",
	  "largest attachment uploaded to the forum"),
	S(attachment_max_total, FG_SET_SIZE, "10M",
	  "most attachment data one message carries through the queue"),
	S(attachment_types, FG_SET_STRING, "image/* application/pdf text/plain",
	  "MIME types uploaded to the forum (type/* for a whole type)"),
	S(webhook_listen, FG_SET_STRING, "127.0.0.1:8025",
	  "address:port the webhook endpoint listens on"),
	S(webhook_secret, FG_SET_STRING, NULL,
	  "shared secret of the forum's webhook signatures (required)"),
	S(webhook_max_size, FG_SET_SIZE, "1M",
	  "largest webhook body accepted"),
	S(webhook_request_timeout, FG_SET_DURATION, "10s",
	  "a webhook connection must complete each request this long after "
	  "it opened or its last request ended, or it is closed"),
	S(webhook_per_address_limit, FG_SET_UINT, "32",
	  "open webhook connections one untrusted address may hold (0: no "
	  "limit)"),
	S(webhook_max_connections, FG_SET_UINT, "1000",
	  "open webhook connections of all untrusted addresses together"),
	S(webhook_trusted_addresses, FG_SET_STRING, "",
	  "the forum's addresses or networks (address/bits): exempt from "
	  "webhook_per_address_limit, with room beyond "
	  "webhook_max_connections"),
	S(smtp_relay, FG_SET_STRING, "smtp://127.0.0.1:25",
	  "routes of the mail forumgated sends, in order (comma-separated): "
	  "SMTP relays and pipe commands, with conditions (doc/transports.md)"),
	S(smtp_timeout, FG_SET_DURATION, "30s",
	  "timeout of one SMTP submission"),
	S(bridge_address, FG_SET_STRING, NULL,
	  "address forum posts are sent from (and envelope sender)"),
	S(bridge_name_suffix, FG_SET_STRING, "via Forum",
	  "appended to the author's name in From: of forum posts"),
	S(policy_listen, FG_SET_STRING, "127.0.0.1:10040",
	  "policy daemon listener: host:port or unix:/path"),
	S(policy_idle_timeout, FG_SET_DURATION, "300s",
	  "policy connections idle this long are closed"),
	S(queue_lease_ttl, FG_SET_DURATION, "60s",
	  "a list's queue moves to another forumgated this long after its "
	  "daemon stopped"),
	S(smtp_relay_backoff, FG_SET_DURATION, "60s",
	  "a route of smtp_relay (relay or pipe) that failed is skipped this "
	  "long"),
	S(outbound_blocked_users, FG_SET_STRING, "",
	  "forum usernames whose posts are never mailed (comma-separated)"),
	S(outbound_blocked_groups, FG_SET_STRING, "",
	  "forum groups whose members' posts are never mailed (comma-separated)"),
	S(outbound_reply_to_list, FG_SET_BOOL, "yes",
	  "Reply-To: the list address in forum posts mailed to the list"),
	S(policy_redis_down_action, FG_SET_STRING,
	  "DEFER_IF_PERMIT 4.3.0 list membership service is temporarily unavailable",
	  "policy answer for list addresses while Redis is unreachable or slow"),
	S(policy_rate_limit, FG_SET_UINT, "20",
	  "posts from one sender to one list per window before DEFER (0: no limit)"),
	S(policy_rate_reject, FG_SET_UINT, "40",
	  "posts from one sender to one list per window before REJECT (0: never)"),
	S(policy_rate_window, FG_SET_DURATION, "1h",
	  "the window of policy_rate_limit and policy_rate_reject"),
	S(bridge_clients, FG_SET_STRING, "127.0.0.0/8 ::1",
	  "the only clients (address or address/bits) that may mail a "
	  "list's bridge recipient or use a list's return path as sender: "
	  "where the list manager hands mail over"),
	S(policy_strip_extension, FG_SET_BOOL, "yes",
	  "sender user+tag@domain is looked up as user@domain"),
	S(recipient_delimiter, FG_SET_STRING, "+",
	  "characters that start a recipient's address extension, as Postfix's"),
	S(policy_refresh, FG_SET_DURATION, "5s",
	  "how often the policy daemon reads the posting addresses again"),
	S(outbound_html, FG_SET_BOOL, "no",
	  "add a text/html alternative (the post's Markdown) to forum posts"),
	S(outbound_edits, FG_SET_STRING, "ignore",
	  "edited forum posts: ignore, or mail each new revision"),
	S(refused_notify, FG_SET_STRING, "off",
	  "tell a forum post's author that the list refused it: off, or pm"),
	S(fanout_pipelining, FG_SET_BOOL, "yes",
	  "list mode: the fan-out pipelines MAIL, RCPT and DATA on a plain "
	  "smtp:// relay (no: libcurl, one command at a time)"),
	S(list_unsubscribe_url, FG_SET_STRING, "",
	  "list mode: https URL of the one-click unsubscribe endpoint; each "
	  "copy's List-Unsubscribe names URL/TOKEN (empty: mailto only)"),
	S(dmarc_resolver, FG_SET_STRING, "",
	  "list mode, dmarc_from policy: the DNS server asked for DMARC "
	  "records, IPv4 address[:port] (empty: those of /etc/resolv.conf)"),
	S(dmarc_timeout, FG_SET_DURATION, "2s",
	  "list mode: time-out of one DMARC DNS question (whole seconds)"),
	S(dmarc_cache_ttl, FG_SET_DURATION, "1h",
	  "list mode: how long a DMARC policy looked up is kept in Redis "
	  "(0: not kept)"),
	S(confirm_expiry, FG_SET_DURATION, "3d",
	  "list mode: how long a confirmation request of a subscription or "
	  "unsubscription by mail stays valid"),
	S(confirm_url, FG_SET_STRING, "",
	  "list mode: https URL of forumgated's confirmation page; each "
	  "confirmation request names URL/TOKEN (empty: reply only)"),
	S(confirm_daily_limit, FG_SET_UINT, "3",
	  "list mode: confirmation requests sent to one address per list in "
	  "a day; more are not sent (0: no limit)"),
	S(request_max_lines, FG_SET_UINT, "10",
	  "list mode: lines of a mail to LIST-request@ read for commands"),
	S(digest_hour, FG_SET_UINT, "6",
	  "list mode: the hour of the day (0-23, local time) a digest of the "
	  "day's posts goes to digest subscribers"),
	S(digest_size_max, FG_SET_SIZE, "30K",
	  "list mode: a digest goes out as soon as its posts reach this size, "
	  "before its hour (0: only at digest_hour)"),
	S(digest_format, FG_SET_STRING, "mime",
	  "list mode: digests as mime (multipart/digest) or rfc1153 (plain "
	  "text); a list's field digest_format overrides it"),
	S(digest_pending_max, FG_SET_UINT, "5000",
	  "list mode: posts a list's digest holds at most while it waits; "
	  "later posts are left out of it, logged"),
	S(secret_file, FG_SET_STRING, NULL,
	  "file the value of secret is read from (instead of secret)"),
	S(forum_api_key_file, FG_SET_STRING, NULL,
	  "file the value of forum_api_key is read from"),
	S(forum_generic_secret_file, FG_SET_STRING, NULL,
	  "file the value of forum_generic_secret is read from"),
	S(webhook_secret_file, FG_SET_STRING, NULL,
	  "file the value of webhook_secret is read from"),
	S(smtp_relay_file, FG_SET_STRING, NULL,
	  "file the value of smtp_relay (with its user:password@) is read from"),
	S(policyd_user, FG_SET_STRING, "forumgate",
	  "user forumgate-policyd runs as after opening its sockets when "
	  "started as root"),
	S(mailman_rest_url, FG_SET_STRING, "http://localhost:8001/3.1",
	  "GNU Mailman 3's REST API with its version, for lists whose roster "
	  "is mailman3"),
	S(mailman_rest_user, FG_SET_STRING, "restadmin",
	  "user of Mailman's REST API (its [webservice] admin_user)"),
	S(mailman_rest_password, FG_SET_STRING, NULL,
	  "password of Mailman's REST API (its [webservice] admin_pass)"),
	S(mailman_rest_password_file, FG_SET_STRING, NULL,
	  "file the value of mailman_rest_password is read from"),
	S(mailman_rest_timeout, FG_SET_DURATION, "30s",
	  "timeout of one request to Mailman's REST API"),
};
const size_t fg_settings_count = FG_N_ELEMENTS(fg_settings);

static const struct fg_setting *fg_setting_find(const char *name)
{
	for (size_t i = 0; i < fg_settings_count; i++) {
		if (strcmp(fg_settings[i].name, name) == 0)
			return &fg_settings[i];
	}
	return NULL;
}

int fg_config_set(struct fg_config *config, const char *name,
		  const char *value, const char **error_r)
{
	const struct fg_setting *set = fg_setting_find(name);
	void *field;
	long long n;

	if (set == NULL) {
		*error_r = fg_errorf("unknown setting '%s'", name);
		return -1;
	}
	field = (char *)config + set->offset;
	switch (set->type) {
	case FG_SET_STRING:
		fg_secret_free((char **)field);
		*(char **)field = fg_xstrdup(value);
		return 0;
	case FG_SET_DURATION:
		if (fg_parse_duration_ms(value, field) < 0)
			break;
		return 0;
	case FG_SET_SIZE:
		if (fg_parse_size(value, field) < 0)
			break;
		return 0;
	case FG_SET_BOOL:
		if (fg_parse_bool(value, field) < 0)
			break;
		return 0;
	case FG_SET_UINT:
		if (fg_parse_llong(value, &n) < 0 || n < 0 || n > UINT32_MAX)
			break;
		*(unsigned int *)field = (unsigned int)n;
		return 0;
	}
	*error_r = fg_errorf("invalid value '%s' for %s", value, name);
	return -1;
}

struct fg_config *fg_config_defaults(void)
{
	struct fg_config *config = fg_xcalloc(1, sizeof(*config));
	const char *error;

	for (size_t i = 0; i < fg_settings_count; i++) {
		const struct fg_setting *set = &fg_settings[i];
		if (set->default_value == NULL)
			continue;
		if (fg_config_set(config, set->name, set->default_value,
				  &error) < 0)
			abort(); /* a bad default is a bug in the table */
	}
	return config;
}

/* The settings prefix of each component's own Redis user and password. */
static const char *const fg_component_prefix[] = {
	[FG_COMPONENT_NONE] = NULL,
	[FG_COMPONENT_PLUGIN] = "plugin",
	[FG_COMPONENT_POLICYD] = "policyd",
	[FG_COMPONENT_BRIDGE] = "bridge",
	[FG_COMPONENT_ADMIN] = "admin",
};

/* fg_config_string - the value of a string setting by name */
static char **fg_config_string(struct fg_config *config, const char *name)
{
	const struct fg_setting *set = fg_setting_find(name);

	if (set == NULL || set->type != FG_SET_STRING)
		abort(); /* caller bug */
	return (char **)((char *)config + set->offset);
}

/* fg_config_is_set - a string setting has a non-empty value */
static bool fg_config_is_set(struct fg_config *config, const char *name)
{
	const char *v = *fg_config_string(config, name);

	return v != NULL && *v != '\0';
}

/* fg_config_skip_file - is this NAME_file another component's
   secret? (the plugin runs as the mail user and cannot read the
   bridge's password file, nor needs it) */
static bool fg_config_skip_file(struct fg_config *config, const char *name,
				enum fg_component component)
{
	const char *own = fg_component_prefix[component];
	char setting[64];

	if (strcmp(name, "redis_password") == 0) {
		if (own == NULL)
			return false;
		snprintf(setting, sizeof(setting), "%s_redis_password", own);
		if (fg_config_is_set(config, setting))
			return true;
		snprintf(setting, sizeof(setting), "%s_redis_password_file",
			 own);
		return fg_config_is_set(config, setting);
	}
	for (size_t c = 1; c < FG_N_ELEMENTS(fg_component_prefix); c++) {
		size_t len = strlen(fg_component_prefix[c]);
		if (strncmp(name, fg_component_prefix[c], len) == 0 &&
		    strcmp(name + len, "_redis_password") == 0)
			return c != component;
	}
	return false;
}

/* fg_config_own_redis - redis_user and redis_password become the
   component's own when it has them */
static void fg_config_own_redis(struct fg_config *config,
				enum fg_component component)
{
	static const char *const what[] = { "redis_user", "redis_password" };
	const char *own = fg_component_prefix[component];
	char setting[64];

	if (own == NULL)
		return;
	for (size_t i = 0; i < FG_N_ELEMENTS(what); i++) {
		snprintf(setting, sizeof(setting), "%s_%s", own, what[i]);
		if (!fg_config_is_set(config, setting))
			continue;
		char **target = fg_config_string(config, what[i]);
		fg_secret_free(target);
		*target = fg_xstrdup(*fg_config_string(config, setting));
	}
}

/* fg_config_read_files - NAME_file settings: NAME is read from the
   file (once, here); setting both in the file is an error. Other
   components' Redis password files are not read. */
static int fg_config_read_files(struct fg_config *config, const bool *seen,
				enum fg_component component,
				const char **error_r)
{
	for (size_t i = 0; i < fg_settings_count; i++) {
		const struct fg_setting *set = &fg_settings[i], *target;
		size_t len = strlen(set->name);
		const char *path;
		char *name, *value;

		/* only a string setting's member is a char * */
		if (len <= 5 || strcmp(set->name + len - 5, "_file") != 0 ||
		    set->type != FG_SET_STRING)
			continue;
		path = *(char **)((char *)config + set->offset);
		if (path == NULL || *path == '\0')
			continue;
		name = fg_xstrndup(set->name, len - 5);
		target = fg_setting_find(name);
		if (target == NULL) {
			/* a file's path (redis_tls_ca_file), not a secret */
			free(name);
			continue;
		}
		if (target->type != FG_SET_STRING)
			abort(); /* a bad *_file row in the table */
		if (fg_config_skip_file(config, name, component)) {
			free(name);
			continue;
		}
		if (seen[target - fg_settings]) {
			*error_r = fg_errorf("%s and %s are both set: keep one",
					     name, set->name);
			free(name);
			return -1;
		}
		if (fg_secret_file_read(path, &value, error_r) < 0) {
			*error_r = fg_errorf("%s: %s", set->name, *error_r);
			free(name);
			return -1;
		}
		fg_secret_free((char **)((char *)config + target->offset));
		*(char **)((char *)config + target->offset) = value;
		free(name);
	}
	return 0;
}

int fg_config_load(const char *path, struct fg_config **config_r,
		   const char **error_r)
{
	return fg_config_load_component(path, FG_COMPONENT_NONE, config_r,
					error_r);
}

int fg_config_load_component(const char *path, enum fg_component component,
			     struct fg_config **config_r,
			     const char **error_r)
{
	FILE *fp = fopen(path, "r");
	struct fg_config *config;
	char line[4096];
	unsigned int lineno = 0;
	const char *error;
	bool *seen;

	if (fp == NULL) {
		*error_r = fg_errorf("open(%s) failed: %s", path,
				     strerror(errno));
		return -1;
	}
	config = fg_config_defaults();
	seen = fg_xcalloc(fg_settings_count, sizeof(*seen));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			*error_r = fg_errorf("%s:%u: line too long", path,
					     lineno);
			goto fail;
		}
		fg_str_trim(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL) {
			*error_r = fg_errorf("%s:%u: expected 'name = value'",
					     path, lineno);
			goto fail;
		}
		*eq = '\0';
		char *name = fg_str_trim(line), *value = fg_str_trim(eq + 1);
		if (fg_config_set(config, name, value, &error) < 0) {
			*error_r = fg_errorf("%s:%u: %s", path, lineno, error);
			goto fail;
		}
		seen[fg_setting_find(name) - fg_settings] = true;
	}
	if (fg_config_read_files(config, seen, component, error_r) < 0) {
		*error_r = fg_errorf("%s: %s", path, *error_r);
		goto fail;
	}
	fg_config_own_redis(config, component);
	fclose(fp);
	free(seen);
	explicit_bzero(line, sizeof(line));	/* it held a password line */
	*config_r = config;
	return 0;
fail:
	fclose(fp);
	free(seen);
	explicit_bzero(line, sizeof(line));
	fg_config_free(&config);
	return -1;
}

int fg_config_require(const struct fg_config *config, const char **error_r,
		      ...)
{
	va_list ap;
	const char *name;
	int ret = 0;

	va_start(ap, error_r);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const struct fg_setting *set = fg_setting_find(name);
		if (set == NULL || set->type != FG_SET_STRING)
			abort(); /* caller bug */
		const char *v = *(char *const *)((const char *)config +
						 set->offset);
		if (v == NULL || *v == '\0') {
			*error_r = fg_errorf("setting %s is required but not set",
					     name);
			ret = -1;
			break;
		}
	}
	va_end(ap);
	return ret;
}

void fg_config_free(struct fg_config **_config)
{
	struct fg_config *config = *_config;

	if (config == NULL)
		return;
	for (size_t i = 0; i < fg_settings_count; i++) {
		/* every value: secrets are zeroed before they are freed */
		if (fg_settings[i].type == FG_SET_STRING)
			fg_secret_free((char **)((char *)config +
						 fg_settings[i].offset));
	}
	free(config);
	*_config = NULL;
}
