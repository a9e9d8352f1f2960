/*
 * NAME
 *	check_core - unit tests of fg-common, fg-config and fg-msgid
 * DESCRIPTION
 *	Also checks that doc/forumgate.conf.5 documents exactly the
 *	settings of the table in fg-config.c (FG_DOC_DIR from make).
 */
#include "fg-common.h"
#include "fg-config.h"
#include "fg-msgid.h"
#include "fg-redis.h"
#include "fg-secret.h"
#include "fg-verp.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_parse_helpers)
{
	unsigned int ms;
	size_t size;
	bool b;
	long long n;

	ck_assert_int_eq(fg_parse_duration_ms("250ms", &ms), 0);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(fg_parse_duration_ms("2s", &ms), 0);
	ck_assert_uint_eq(ms, 2000);
	ck_assert_int_eq(fg_parse_duration_ms("5", &ms), 0);
	ck_assert_uint_eq(ms, 5000);
	ck_assert_int_eq(fg_parse_duration_ms("3m", &ms), 0);
	ck_assert_uint_eq(ms, 180000);
	ck_assert_int_eq(fg_parse_duration_ms("3x", &ms), -1);
	ck_assert_int_eq(fg_parse_duration_ms("-1s", &ms), -1);
	ck_assert_int_eq(fg_parse_duration_ms("99999999d", &ms), -1);
	ck_assert_int_eq(fg_parse_size("10M", &size), 0);
	ck_assert_uint_eq(size, 10 * 1024 * 1024);
	ck_assert_int_eq(fg_parse_size("64kB", &size), 0);
	ck_assert_uint_eq(size, 64 * 1024);
	ck_assert_int_eq(fg_parse_size("1Q", &size), -1);
	ck_assert_int_eq(fg_parse_bool("Yes", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(fg_parse_bool("off", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(fg_parse_bool("maybe", &b), -1);
	ck_assert_int_eq(fg_parse_llong("42", &n), 0);
	ck_assert_int_eq(n, 42);
	ck_assert_int_eq(fg_parse_llong("42x", &n), -1);
	ck_assert_int_eq(fg_parse_llong("", &n), -1);
}
END_TEST

/* write_tmp - a temporary file with the given text */
static char *write_tmp(const char *text)
{
	char *path = fg_xstrdup("/tmp/fg-check-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_config_load)
{
	char *path = write_tmp("# comment\n\nredis = unix:/run/r.sock\n"
			       "  secret=abc  \nredis_timeout = 250ms\n"
			       "keep_copy = yes\nmax_message_size = 1M\n");
	struct fg_config *config;
	const char *error;

	ck_assert_int_eq(fg_config_load(path, &config, &error), 0);
	ck_assert_str_eq(config->redis, "unix:/run/r.sock");
	ck_assert_str_eq(config->secret, "abc");
	ck_assert_uint_eq(config->redis_timeout, 250);
	ck_assert(config->keep_copy);
	ck_assert_uint_eq(config->max_message_size, 1024 * 1024);
	/* defaults */
	ck_assert_str_eq(config->forum_type, "discourse");
	ck_assert_uint_eq(config->forum_timeout, 30000);
	ck_assert_ptr_null(config->mail_domain);
	ck_assert_int_eq(fg_config_require(config, &error, "secret", NULL), 0);
	ck_assert_int_eq(fg_config_require(config, &error, "secret",
					   "mail_domain", NULL), -1);
	ck_assert_ptr_nonnull(strstr(error, "mail_domain"));
	fg_config_free(&config);
	ck_assert_ptr_null(config);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{ "redis_timout = 2s\n", ":1: unknown setting 'redis_timout'" },
		{ "\nredis_timeout = soon\n", ":2: invalid value 'soon'" },
		{ "just words\n", ":1: expected 'name = value'" },
		{ "keep_copy = perhaps\n", "invalid value 'perhaps'" },
	};
	struct fg_config *config = NULL;
	const char *error;

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		char *path = write_tmp(cases[i].text);
		ck_assert_int_eq(fg_config_load(path, &config, &error), -1);
		ck_assert_ptr_null(config);
		ck_assert_msg(strstr(error, cases[i].expect) != NULL,
			      "case %zu: error '%s'", i, error);
		unlink(path);
		free(path);
	}
	ck_assert_int_eq(fg_config_load("/nonexistent/fg.conf", &config,
					&error), -1);
	ck_assert_ptr_nonnull(strstr(error, "No such file"));
}
END_TEST

/* fg_url_redact: no userinfo of any URL survives, the rest is kept */
START_TEST(test_url_redact)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "https://forum.example.org", "https://forum.example.org" },
		{ "https://bridge:s3cret@forum.example.org/base",
		  "https://forum.example.org/base" },
		{ "smtp://u:p@127.0.0.1:587", "smtp://127.0.0.1:587" },
		{ "smtps://only-user@relay", "smtps://relay" },
		/* a password with '@' in it: up to the last '@' */
		{ "smtp://u:p@ss@relay:25/helo", "smtp://relay:25/helo" },
		{ "http://h/path?a=b@c#x@y", "http://h/path?a=b@c#x@y" },
		/* the routes of smtp_relay */
		{ "smtp://a:pw1@r1:25 sender=bridge@lists.test, "
		  "u:pw2@r2:587,r3:25",
		  "smtp://r1:25 sender=bridge@lists.test, r2:587,r3:25" },
		/* an error message quoting a URL */
		{ "forum request to 'http://k:pw@f:80' failed: x@y",
		  "forum request to 'http://f:80' failed: x@y" },
		{ "alice@example.org", "alice@example.org" },
		{ "127.0.0.1:6379", "127.0.0.1:6379" },
		{ "unix:/run/redis/redis.sock", "unix:/run/redis/redis.sock" },
		{ "", "" },
	};

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		char *s = fg_url_redact(cases[i].in);
		ck_assert_msg(strcmp(s, cases[i].out) == 0,
			      "case %zu: '%s' gave '%s'", i, cases[i].in, s);
		free(s);
	}
	char *s = fg_url_redact(NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* NAME_file: read once at load, newline stripped, errors named */
START_TEST(test_config_secret_files)
{
	char *secret = write_tmp("k3y-from-file\n");
	char *relay = write_tmp("smtp://u:pw@relay:587 sender=b@l.test\r\n");
	char *empty = write_tmp("\n");
	char *two = write_tmp("one\ntwo\n");
	char *text, *path;
	struct fg_config *config;
	const char *error;

	text = fg_xasprintf("secret_file = %s\nsmtp_relay_file = %s\n",
			    secret, relay);
	path = write_tmp(text);
	free(text);
	ck_assert_int_eq(fg_config_load(path, &config, &error), 0);
	ck_assert_str_eq(config->secret, "k3y-from-file");
	ck_assert_str_eq(config->smtp_relay,
			 "smtp://u:pw@relay:587 sender=b@l.test");
	ck_assert_ptr_null(config->webhook_secret);
	fg_config_free(&config);
	unlink(path);
	free(path);

	static const struct {
		const char *fmt, *expect;
	} bad[] = {
		{ "secret = x\nsecret_file = %s\n",
		  "secret and secret_file are both set" },
		{ "smtp_relay = smtp://r:25\nsmtp_relay_file = %s\n",
		  "smtp_relay and smtp_relay_file are both set" },
		{ "forum_api_key_file = %s.missing\n",
		  "forum_api_key_file: open(" },
		{ "webhook_secret_file = %s\n", "is empty" },
		{ "secret_file = %s\n", "more than one line" },
	};
	const char *files[] = { secret, relay, secret, empty, two };
	for (size_t i = 0; i < FG_N_ELEMENTS(bad); i++) {
		text = fg_xasprintf(bad[i].fmt, files[i]);
		path = write_tmp(text);
		free(text);
		ck_assert_int_eq(fg_config_load(path, &config, &error), -1);
		ck_assert_ptr_null(config);
		ck_assert_msg(strstr(error, bad[i].expect) != NULL,
			      "case %zu: error '%s'", i, error);
		/* the error names the file, never what is in it */
		ck_assert_ptr_null(strstr(error, "k3y"));
		ck_assert_ptr_null(strstr(error, ":pw@"));
		unlink(path);
		free(path);
	}
	unlink(secret);
	unlink(relay);
	unlink(empty);
	unlink(two);
	free(secret);
	free(relay);
	free(empty);
	free(two);
}
END_TEST

/* The man page names every setting of the table and no other. */
START_TEST(test_config_documented)
{
	const char *docdir = getenv("FG_DOC_DIR");
	char path[1024], line[1024];
	FILE *fp;
	size_t documented = 0;

	if (docdir == NULL)
		docdir = FG_DOC_DIR;
	snprintf(path, sizeof(path), "%s/forumgate.conf.5", docdir);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	bool *seen = fg_xcalloc(fg_settings_count, sizeof(bool));
	while (fgets(line, sizeof(line), fp) != NULL) {
		/* settings are ".It Cm name" entries */
		if (strncmp(line, ".It Cm ", 7) != 0)
			continue;
		char *name = fg_str_trim(line + 7);
		bool found = false;
		for (size_t i = 0; i < fg_settings_count; i++) {
			if (strcmp(fg_settings[i].name, name) == 0) {
				seen[i] = found = true;
				documented++;
			}
		}
		ck_assert_msg(found, "%s documents unknown setting %s", path,
			      name);
	}
	fclose(fp);
	for (size_t i = 0; i < fg_settings_count; i++)
		ck_assert_msg(seen[i], "setting %s is not documented in %s",
			      fg_settings[i].name, path);
	ck_assert_uint_eq(documented, fg_settings_count);
	free(seen);
}
END_TEST

/* Redis users and passwords: each component reads its own password
   file only, and redis_user / redis_password become its own */
START_TEST(test_config_redis_components)
{
	char *plugin_pw = write_tmp("plugin-pw\n");
	char *default_pw = write_tmp("default-pw\n");
	char *text, *path;
	struct fg_config *config;
	const char *error;

	/* bridge_redis_password_file cannot be read: only forumgated
	   (and nothing else) fails on it */
	text = fg_xasprintf("redis_user = fg-all\n"
			    "redis_password_file = %s\n"
			    "plugin_redis_user = fg-plugin\n"
			    "plugin_redis_password_file = %s\n"
			    "bridge_redis_user = fg-bridge\n"
			    "bridge_redis_password_file = %s.missing\n"
			    "admin_redis_password = admin-pw\n",
			    default_pw, plugin_pw, plugin_pw);
	path = write_tmp(text);
	free(text);

	ck_assert_int_eq(fg_config_load_component(path, FG_COMPONENT_PLUGIN,
						  &config, &error), 0);
	ck_assert_str_eq(config->redis_user, "fg-plugin");
	ck_assert_str_eq(config->redis_password, "plugin-pw");
	fg_config_free(&config);

	ck_assert_int_eq(fg_config_load_component(path, FG_COMPONENT_POLICYD,
						  &config, &error), 0);
	ck_assert_str_eq(config->redis_user, "fg-all");
	ck_assert_str_eq(config->redis_password, "default-pw");
	fg_config_free(&config);

	ck_assert_int_eq(fg_config_load_component(path, FG_COMPONENT_ADMIN,
						  &config, &error), 0);
	ck_assert_str_eq(config->redis_user, "fg-all");
	ck_assert_str_eq(config->redis_password, "admin-pw");
	fg_config_free(&config);

	ck_assert_int_eq(fg_config_load_component(path, FG_COMPONENT_BRIDGE,
						  &config, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "bridge_redis_password_file"));
	ck_assert_ptr_null(strstr(error, "-pw"));

	/* a path setting that ends in _file is not a secret's file */
	unlink(path);
	free(path);
	path = write_tmp("redis_tls_ca_file = /nonexistent/ca.pem\n");
	ck_assert_int_eq(fg_config_load(path, &config, &error), 0);
	ck_assert_str_eq(config->redis_tls_ca_file, "/nonexistent/ca.pem");
	fg_config_free(&config);
	unlink(path);
	free(path);
	unlink(plugin_pw);
	unlink(default_pw);
	free(plugin_pw);
	free(default_pw);
}
END_TEST

/* Redis errors name the user and the refused command and keys, never
   the password; TLS without hiredis_ssl is refused with a way out */
START_TEST(test_redis_errors)
{
	struct fg_config *config = fg_config_defaults();
	struct fg_redis_params *params;
	const char *error;
	const char *argv[] = { "EVALSHA", "abc", "2", "fg:{l}:in",
			       "fg:{l}:in-seen", "fg:{l}:x" };
	size_t lens[6];
	const char *argv3[3];
	size_t lens3[3];

	for (size_t i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	fg_config_set(config, "redis_user", "fg-plugin", &error);
	ck_assert_int_eq(fg_redis_params_new(config, &params, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "'fg-plugin' has no password"));
	fg_config_set(config, "redis_password", "s3cr3t-pw", &error);
	ck_assert_int_eq(fg_redis_params_new(config, &params, &error), 0);

	ck_assert_int_eq(fg_redis_auth_argv(params, argv3, lens3), 3);
	ck_assert_str_eq(argv3[1], "fg-plugin");
	error = fg_redis_reply_error(params, 6, argv, lens,
				     "NOPERM this user has no permissions to "
				     "run the 'evalsha' command");
	ck_assert_msg(strstr(error, "user 'fg-plugin' may not run EVALSHA "
			     "on fg:{l}:in, fg:{l}:in-seen (NOPERM") != NULL,
		      "%s", error);
	error = fg_redis_reply_error(params, 6, argv, lens,
				     "ERR The user executing the script can't "
				     "access at least one of the keys");
	ck_assert_ptr_nonnull(strstr(error, "may not run EVALSHA on"));
	error = fg_redis_reply_error(params, 6, argv, lens, "ERR other");
	ck_assert_ptr_nonnull(strstr(error, "EVALSHA failed: ERR other"));
	error = fg_redis_auth_error(params, "WRONGPASS invalid "
				    "username-password pair");
	ck_assert_ptr_nonnull(strstr(error, "user 'fg-plugin'"));
	ck_assert_ptr_null(strstr(error, "s3cr3t"));
	fg_redis_params_free(&params);

	fg_config_set(config, "redis_tls", "yes", &error);
	if (fg_redis_tls_available()) {
		fg_config_set(config, "redis_tls_ca_file", "/nonexistent/ca",
			      &error);
		ck_assert_int_eq(fg_redis_params_new(config, &params, &error),
				 -1);
		ck_assert_ptr_nonnull(strstr(error, "redis_tls_ca_file"));
	} else {
		ck_assert_int_eq(fg_redis_params_new(config, &params, &error),
				 -1);
		ck_assert_ptr_nonnull(strstr(error, "without TLS"));
		ck_assert_ptr_nonnull(strstr(error, "stunnel"));
	}
	fg_config_free(&config);
}
END_TEST

/* The sample configuration in doc/ loads and names only real settings. */
START_TEST(test_config_sample)
{
	const char *docdir = getenv("FG_DOC_DIR");
	char path[1024];
	struct fg_config *config;
	const char *error;

	snprintf(path, sizeof(path), "%s/forumgate.conf.sample",
		 docdir != NULL ? docdir : FG_DOC_DIR);
	if (fg_config_load(path, &config, &error) < 0)
		ck_abort_msg("%s", error);
	ck_assert_int_eq(fg_config_require(config, &error, "secret",
					   "mail_domain", "forum_url",
					   "forum_api_key", "webhook_secret",
					   "bridge_address", NULL), 0);
	fg_config_free(&config);
}
END_TEST

START_TEST(test_msgid)
{
	char *id = fg_msgid_make("s3cret", "forum", 12, 3, "lists.example");
	char *list = NULL;
	long long topic, post;

	ck_assert_int_eq(strncmp(id, "fg.forum.12.3.", 14), 0);
	ck_assert_ptr_nonnull(strstr(id, "@lists.example"));
	/* stable: no random part */
	char *again = fg_msgid_make("s3cret", "forum", 12, 3, "lists.example");
	ck_assert_str_eq(id, again);
	ck_assert_int_eq(fg_msgid_parse("s3cret", id, &list, &topic, &post), 1);
	ck_assert_str_eq(list, "forum");
	ck_assert_int_eq(topic, 12);
	ck_assert_int_eq(post, 3);
	free(list);
	/* another secret, a changed number or a forged MAC: not ours */
	ck_assert_int_eq(fg_msgid_parse("other", id, NULL, &topic, &post), 0);
	char *forged = fg_xstrdup(id);
	forged[9] = '9';	/* topic 12 -> 92 */
	ck_assert_int_eq(fg_msgid_parse("s3cret", forged, NULL, &topic,
					&post), 0);
	ck_assert_int_eq(fg_msgid_parse("s3cret", "abc@example.org", NULL,
					&topic, &post), 0);
	ck_assert_int_eq(fg_msgid_parse("s3cret", "fg.forum.1@x", NULL,
					&topic, &post), 0);
	ck_assert_int_eq(fg_msgid_parse("s3cret", "fg.Forum!.1.2.0123456789abcdef@x",
					NULL, &topic, &post), 0);
	free(forged);
	free(again);
	free(id);
}
END_TEST

START_TEST(test_msgid_by_id)
{
	/* a post named by its id (a forum whose numbers move) */
	char *id = fg_msgid_make_post("s3cret", "forum", 12, 345, 0,
				      "lists.example");
	char *rev = fg_msgid_make_post("s3cret", "forum", 12, 345, 2,
				       "lists.example");
	char *old = fg_msgid_make("s3cret", "forum", 12, 345,
				  "lists.example");
	char *list = NULL, *forged;
	struct fg_msgid_post p;
	long long topic, post;

	ck_assert_int_eq(strncmp(id, "fg.forum.12.p345.", 17), 0);
	ck_assert_int_eq(strncmp(rev, "fg.forum.12.p345.r2.", 20), 0);
	ck_assert_int_eq(fg_msgid_parse_post("s3cret", id, &list, &p), 1);
	ck_assert_str_eq(list, "forum");
	ck_assert_int_eq(p.topic_id, 12);
	ck_assert_int_eq(p.post_id, 345);
	ck_assert_int_eq(p.post_number, 0);
	ck_assert_int_eq(p.revision, 0);
	free(list);
	ck_assert_int_eq(fg_msgid_parse_post("s3cret", rev, NULL, &p), 1);
	ck_assert_int_eq(p.post_id, 345);
	ck_assert_int_eq(p.revision, 2);
	/* the old form is still read, and names the number */
	ck_assert_int_eq(fg_msgid_parse_post("s3cret", old, NULL, &p), 1);
	ck_assert_int_eq(p.post_number, 345);
	ck_assert_int_eq(p.post_id, 0);
	/* the MAC covers the "p": the number form of the same digits
	   with the id form's MAC is a forgery */
	forged = fg_xasprintf("fg.forum.12.345.%s", id + 17);
	ck_assert_int_eq(fg_msgid_parse_post("s3cret", forged, NULL, &p), 0);
	free(forged);
	ck_assert_int_eq(fg_msgid_parse_post("other", id, NULL, &p), 0);
	ck_assert_int_eq(fg_msgid_parse_post("s3cret",
					     "fg.forum.12.p.0123456789abcdef@x",
					     NULL, &p), 0);
	ck_assert_int_eq(fg_msgid_parse_post("s3cret",
					     "fg.forum.12.pp3.0123456789abcdef@x",
					     NULL, &p), 0);
	/* fg_msgid_parse: ours, no number */
	ck_assert_int_eq(fg_msgid_parse("s3cret", id, NULL, &topic, &post), 1);
	ck_assert_int_eq(post, 0);
	free(id);
	free(rev);
	free(old);
}
END_TEST

START_TEST(test_msgid_revision)
{
	char *first = fg_msgid_make("s3cret", "forum", 12, 3, "lists.example");
	char *rev2 = fg_msgid_make_revision("s3cret", "forum", 12, 3, 2,
					    "lists.example");
	char *rev3 = fg_msgid_make_revision("s3cret", "forum", 12, 3, 3,
					    "lists.example");
	char *rev1 = fg_msgid_make_revision("s3cret", "forum", 12, 3, 1,
					    "lists.example");
	char *list = NULL, *forged;
	long long topic, post, rev;

	/* revision 1 is the post itself */
	ck_assert_str_eq(rev1, first);
	ck_assert_int_eq(strncmp(rev2, "fg.forum.12.3.r2.", 17), 0);
	ck_assert_str_ne(rev2, first);
	ck_assert_str_ne(rev2, rev3);
	ck_assert_int_eq(fg_msgid_parse_revision("s3cret", rev2, &list,
						 &topic, &post, &rev), 1);
	ck_assert_str_eq(list, "forum");
	ck_assert_int_eq(topic, 12);
	ck_assert_int_eq(post, 3);
	ck_assert_int_eq(rev, 2);
	free(list);
	ck_assert_int_eq(fg_msgid_parse_revision("s3cret", first, NULL,
						 &topic, &post, &rev), 1);
	ck_assert_int_eq(rev, 0);
	/* a revision still names its post for fg_msgid_parse */
	ck_assert_int_eq(fg_msgid_parse("s3cret", rev3, NULL, &topic, &post),
			 1);
	ck_assert_int_eq(post, 3);
	/* the MAC covers the revision: changing it is a forgery */
	forged = fg_xstrdup(rev2);
	forged[15] = '7';
	ck_assert_int_eq(fg_msgid_parse("s3cret", forged, NULL, &topic,
					&post), 0);
	free(forged);
	ck_assert_int_eq(fg_msgid_parse("other", rev2, NULL, &topic, &post),
			 0);
	ck_assert_int_eq(fg_msgid_parse("s3cret",
					"fg.forum.12.3.r1.0123456789abcdef@x",
					NULL, &topic, &post), 0);
	ck_assert_int_eq(fg_msgid_parse("s3cret",
					"fg.forum.12.3.x2.0123456789abcdef@x",
					NULL, &topic, &post), 0);
	free(first);
	free(rev1);
	free(rev2);
	free(rev3);
}
END_TEST

START_TEST(test_msgid_normalize)
{
	char *id;

	id = fg_msgid_normalize("  <abc@example.org>\r\n");
	ck_assert_str_eq(id, "abc@example.org");
	free(id);
	id = fg_msgid_normalize("abc@example.org");
	ck_assert_str_eq(id, "abc@example.org");
	free(id);
	ck_assert_ptr_null(fg_msgid_normalize("<>"));
	ck_assert_ptr_null(fg_msgid_normalize("<a b@c>"));
	ck_assert_ptr_null(fg_msgid_normalize("<a\nb@c>"));
	ck_assert_ptr_null(fg_msgid_normalize(NULL));
}
END_TEST

START_TEST(test_hmac)
{
	char hex[65];

	/* RFC 4231 test case 2 */
	fg_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	ck_assert(fg_mem_equal_ct("abc", "abc", 3));
	ck_assert(!fg_mem_equal_ct("abc", "abd", 3));
}
END_TEST

START_TEST(test_verp)
{
	struct fg_verp v;
	char *a;

	a = fg_verp_make_post("k", "forum", 123, "bridge@lists.example");
	ck_assert_int_eq(strncmp(a, "bridge+fgb.", 11), 0);
	ck_assert_ptr_nonnull(strstr(a, ".forum.p123@lists.example"));
	ck_assert_int_eq(fg_verp_parse("k", a, &v), 1);
	ck_assert_str_eq(v.list, "forum");
	ck_assert_int_eq(v.kind, FG_VERP_POST);
	ck_assert_int_eq(v.post_id, 123);
	fg_verp_clear(&v);
	/* an MTA that uppercases the local part does not break it */
	for (char *p = a; *p != '@'; p++)
		*p = (char)toupper((unsigned char)*p);
	ck_assert_int_eq(fg_verp_parse("k", a, &v), 1);
	fg_verp_clear(&v);
	/* another secret: forged */
	ck_assert_int_eq(fg_verp_parse("other", a, &v), -1);
	free(a);

	a = fg_verp_make_recipient("k", "forum", "Ann.Lee@Example.ORG",
				   "bridge@lists.example");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(strstr(a, ".forum.rann.lee=example.org@"));
	ck_assert_int_eq(fg_verp_parse("k", a, &v), 1);
	ck_assert_int_eq(v.kind, FG_VERP_RECIPIENT);
	ck_assert_str_eq(v.recipient, "ann.lee@example.org");
	fg_verp_clear(&v);
	/* a changed recipient with the old MAC: forged */
	char *forged = fg_xstrdup(a);
	char *r = strstr(forged, ".rann");
	r[2] = 'x';
	ck_assert_int_eq(fg_verp_parse("k", forged, &v), -1);
	free(forged);
	free(a);

	/* what cannot be carried in a local part is not encoded */
	ck_assert_ptr_null(fg_verp_make_recipient("k", "forum", "a b@x.org",
						  "b@l.example"));
	ck_assert_ptr_null(fg_verp_make_recipient("k", "forum", "a+b@x.org",
						  "b@l.example"));
	ck_assert_ptr_null(fg_verp_make_post("k", "Bad List", 1, "b@l.example"));
	/* a return path that parsing would not read back is not made
	   (found by tests/fuzz/fuzz_verp: a 226-byte local part) */
	char local[240], *rcpt;
	memset(local, 'w', sizeof(local) - 1);
	local[sizeof(local) - 1] = '\0';
	rcpt = fg_xasprintf("%s@example.org", local);
	ck_assert_ptr_null(fg_verp_make_recipient("k", "forum", rcpt,
						  "b@l.example"));
	ck_assert_ptr_null(fg_verp_make_post("k", "forum", 1, rcpt));
	rcpt[200] = '@';
	rcpt[201] = '\0';
	a = fg_verp_make_post("k", "forum", 1, rcpt + 60);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(fg_verp_parse("k", a, &v), 1);
	fg_verp_clear(&v);
	free(a);
	free(rcpt);

	/* not ours at all, and malformed claims */
	ck_assert_int_eq(fg_verp_parse("k", "alice@example.org", &v), 0);
	ck_assert_int_eq(fg_verp_parse("k", "forum+bounces-1-a=b@l", &v), 0);
	ck_assert_int_eq(fg_verp_parse("k", "b+fgb.@l", &v), -1);
	ck_assert_int_eq(fg_verp_parse("k", "b+fgb.0123456789abcdef.forum.@l",
				       &v), -1);
	ck_assert_int_eq(fg_verp_parse("k", "b+fgb.0123456789abcdef.forum.p1@l",
				       &v), -1);
	ck_assert_int_eq(fg_verp_parse("k", "b+fgb.zz.forum.p1@l", &v), -1);
}
END_TEST

START_TEST(test_buf)
{
	struct fg_buf b = { 0 };
	char *s;

	for (int i = 0; i < 1000; i++)
		fg_buf_printf(&b, "%d,", i);
	ck_assert_uint_eq(b.len, strlen(b.s));
	ck_assert_int_eq(strncmp(b.s, "0,1,2,", 6), 0);
	s = fg_buf_steal(&b);
	ck_assert_ptr_null(b.s);
	free(s);
	s = fg_buf_steal(&b);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse_helpers);
	tcase_add_test(tc, test_config_load);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_url_redact);
	tcase_add_test(tc, test_config_secret_files);
	tcase_add_test(tc, test_config_documented);
	tcase_add_test(tc, test_config_sample);
	tcase_add_test(tc, test_config_redis_components);
	tcase_add_test(tc, test_redis_errors);
	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_msgid_by_id);
	tcase_add_test(tc, test_msgid_revision);
	tcase_add_test(tc, test_msgid_normalize);
	tcase_add_test(tc, test_hmac);
	tcase_add_test(tc, test_verp);
	tcase_add_test(tc, test_buf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
