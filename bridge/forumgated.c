/*
 * NAME
 *	forumgated 8 - the forumgate bridge daemon
 * SYNOPSIS
 *	forumgated [-f] [-t] [-c config] [-n consumer]
 * DESCRIPTION
 *	forumgated carries a list's conversation between the mailing list
 *	and the forum, in both directions, with Redis holding all state:
 *
 *	list -> forum: list mail that the Dovecot plugin queued (one
 *	inbound stream per list) becomes forum topics and replies, in
 *	order, through the forum's API (forum_type, forum_url,
 *	forum_api_key, forum_api_username).
 *
 *	forum -> list: the forum's webhooks (webhook_listen,
 *	webhook_secret) are verified and queued (one outbound stream per
 *	list); each post is mailed to the list address through
 *	smtp_relay, with Message-ID, In-Reply-To and References that
 *	thread it in every mail client.
 *
 *	list mode: a list whose mode is "list" has forumgate as its list
 *	manager; each post of its distribution stream (a subscriber's
 *	mail the Dovecot plugin accepted, or a forum post) is sent to
 *	every enabled subscriber, one SMTP transaction per recipient
 *	with the recipient's own VERP return path, resuming after a
 *	crash where it stopped (doc/list-mode.md, "The fan-out").
 *
 *	Each direction, the fan-out and the webhook server run in their
 *	own thread with their own Redis connection. Any number of forumgated
 *	processes may share one Redis: the queues are Redis streams read
 *	through the consumer group "forumgated".
 * OPTIONS
 *	-c config
 *		The configuration file (default
 *		/etc/forumgate/forumgate.conf, see forumgate.conf(5)).
 *	-f	Stay in the foreground and log to stderr; otherwise the
 *		daemon detaches and logs to syslog, facility mail.
 *	-n consumer
 *		The name in the consumer groups (default: the host name).
 *		Keep it stable across restarts: a restarted daemon first
 *		finishes the entries it had in hand under that name, so
 *		each list's order survives the restart. Two daemons must
 *		never share a name.
 *	-t	Check the configuration and exit.
 * SIGNALS
 *	SIGTERM, SIGINT
 *		Finish the entry in hand, stop, exit 0.
 *	SIGHUP	Re-read the list definitions from Redis now, and try a
 *		queue stopped by refused forum credentials at once (the
 *		configuration's forum_api_key is read again before every
 *		try of such a queue).
 * DIAGNOSTICS
 *	Problems with the configuration or the listening socket are
 *	reported on stderr (also when detaching) with exit status 1.
 *	Everything later goes to the log: one line per queued webhook,
 *	per posted record and per mailed post, with list and ids.
 * SEE ALSO
 *	forumgate.conf(5), forumgate(8), doc/redis-schema.md
 */
#include "forumgate-config.h"
#include "bridge.h"
#include "fg-forum.h"
#include "fg-mailparse.h"
#include "fg-redis.h"
#include "fg-secret.h"
#include "fg-transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>

#define STORE_RETRY_MIN_MS 500
#define STORE_RETRY_MAX_MS 10000

/* bridge_forum_settings - see bridge.h */
void bridge_forum_settings(const struct fg_config *c,
			   struct fg_forum_settings *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	set_r->type = c->forum_type;
	set_r->url = c->forum_url;
	set_r->api_key = c->forum_api_key;
	set_r->generic_url = c->forum_generic_url;
	set_r->generic_secret = c->forum_generic_secret;
	set_r->generic_link = c->forum_generic_link;
	set_r->api_username = c->forum_api_username;
	set_r->timeout_ms = c->forum_timeout;
}

/* bridge_stopping - see bridge.h */
bool bridge_stopping(struct bridge *b)
{
	bool stopping;

	pthread_mutex_lock(&b->lock);
	stopping = b->stopping;
	pthread_mutex_unlock(&b->lock);
	return stopping;
}

/* bridge_sleep - a wait that a stop cuts short */
bool bridge_sleep(struct bridge *b, unsigned int ms)
{
	struct timespec until;
	bool stopping;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (!b->stopping &&
	       pthread_cond_timedwait(&b->wakeup, &b->lock, &until) == 0)
		;
	stopping = b->stopping;
	pthread_mutex_unlock(&b->lock);
	return !stopping;
}

/* bridge_stop - see bridge.h */
void bridge_stop(struct bridge *b)
{
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->wakeup);
	pthread_mutex_unlock(&b->lock);
}

/* bridge_refresh - see bridge.h */
void bridge_refresh(struct bridge *b)
{
	pthread_mutex_lock(&b->lock);
	b->refresh_generation++;
	pthread_mutex_unlock(&b->lock);
}

/* bridge_refresh_generation - see bridge.h */
unsigned int bridge_refresh_generation(struct bridge *b)
{
	unsigned int gen;

	pthread_mutex_lock(&b->lock);
	gen = b->refresh_generation;
	pthread_mutex_unlock(&b->lock);
	return gen;
}

/* bridge_now_ms - see bridge.h */
long long bridge_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* bridge_store_connect - see bridge.h */
bool bridge_store_connect(struct bridge *b, const char *who,
			  struct fg_store **store_r)
{
	const struct fg_config *c = b->config;
	unsigned int wait = STORE_RETRY_MIN_MS;
	const char *error;
	bool warned = false;

	while (!bridge_stopping(b)) {
		if (fg_store_connect_config(c, store_r, &error) == 0) {
			fg_store_set_retention_config(*store_r, c);
			if (warned)
				msg_info("%s: connected to Redis %s", who,
					 c->redis);
			return true;
		}
		if (!warned)
			msg_warn("%s: %s; retrying", who, error);
		warned = true;
		bridge_sleep(b, wait);
		wait = wait * 2 > STORE_RETRY_MAX_MS ? STORE_RETRY_MAX_MS :
			wait * 2;
	}
	return false;
}

/* usage - the command line, then exit */
static void usage(void)
{
	fprintf(stderr, "usage: forumgated [-f] [-t] [-c config] "
		"[-n consumer]\n");
	exit(1);
}

/* startup_fatal - a problem before logging is set up */
static void startup_fatal(const char *fmt, ...) FG_ATTR_FORMAT(1, 2)
	__attribute__((noreturn));
static void startup_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("forumgated: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* check_config - the settings the daemon cannot run without */
static void check_config(const struct fg_config *c)
{
	const char *error;

	if (fg_config_require(c, &error, "redis", "secret", "mail_domain",
			      "forum_type", "forum_url",
			      "forum_api_username", "webhook_listen",
			      "webhook_secret", "smtp_relay",
			      "bridge_address", NULL) < 0)
		startup_fatal("%s", error);
	/* the generic driver signs with its own secret, needs no key */
	if (fg_config_require(c, &error, strcmp(c->forum_type, "generic") == 0 ?
			      "forum_generic_secret" : "forum_api_key",
			      NULL) < 0)
		startup_fatal("%s", error);
	if (strchr(c->bridge_address, '@') == NULL)
		startup_fatal("bridge_address '%s' is not an address",
			      c->bridge_address);
	/* the routes' syntax; the relays and commands at start */
	struct fg_routes routes;
	if (fg_routes_parse(c->smtp_relay, &routes, &error) < 0)
		startup_fatal("%s", error);
	fg_routes_free(&routes);
	/* TLS that cannot be had is a configuration error, not an outage
	   to retry */
	struct fg_redis_params *redis;
	if (fg_redis_params_new(c, &redis, &error) < 0)
		startup_fatal("%s", error);
	fg_redis_params_free(&redis);
	if (c->webhook_max_size == 0)
		startup_fatal("webhook_max_size must not be 0");
	if (c->webhook_request_timeout < 1000)
		startup_fatal("webhook_request_timeout must be 1s or more");
	if (c->webhook_max_connections == 0)
		startup_fatal("webhook_max_connections must not be 0");
	if (strcmp(c->outbound_edits, "ignore") != 0 &&
	    strcmp(c->outbound_edits, "mail") != 0)
		startup_fatal("outbound_edits '%s' is neither ignore nor mail",
			      c->outbound_edits);
}

/* consumer_name - -n, else the host name */
static char *consumer_name(const char *given)
{
	char host[HOST_NAME_MAX + 1];
	const char *name = given;

	if (name == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			startup_fatal("gethostname: %s", strerror(errno));
		host[sizeof(host) - 1] = '\0';
		name = host;
	}
	if (*name == '\0' || strlen(name) > 200)
		startup_fatal("consumer name '%s' is empty or too long", name);
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			startup_fatal("consumer name '%s' contains white "
				      "space or control characters", name);
	}
	return fg_xstrdup(name);
}

/* daemonize - detach; the parent exits when the child reports "ok" (or
   prints the child's fatal error). Returns the child's report fd. */
static int daemonize(void)
{
	int fds[2], fd;
	pid_t pid;

	if (pipe(fds) < 0)
		startup_fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		startup_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		char buf[1024];
		size_t len = 0;
		ssize_t n;

		close(fds[1]);
		while (len < sizeof(buf) - 1 &&
		       (n = read(fds[0], buf + len,
				 sizeof(buf) - 1 - len)) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			len += (size_t)n;
		}
		buf[len] = '\0';
		if (strcmp(buf, "ok") == 0)
			_exit(0);
		if (len > 0)
			fprintf(stderr, "forumgated: fatal: %s\n", buf);
		else
			fprintf(stderr, "forumgated: fatal: the daemon "
				"ended while starting; see the mail log\n");
		_exit(1);
	}
	close(fds[0]);
	if (setsid() < 0)
		msg_fatal("setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		msg_fatal("chdir /: %s", strerror(errno));
	umask(022);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return fds[1];
}

/* main - configure, detach, start the three parts, wait for a signal */
int main(int argc, char **argv)
{
	const char *path = FG_DEFAULT_CONFIG_PATH, *given_consumer = NULL;
	const char *error;
	bool foreground = false, test_only = false;
	struct bridge bridge;
	struct worker *inbound = NULL, *outbound = NULL, *dist = NULL;
	struct worker *control = NULL;
	struct webhook *webhook = NULL;
	sigset_t signals;
	int ch, sig, report_fd = -1;

	while ((ch = getopt(argc, argv, "c:fn:t")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': given_consumer = optarg; break;
		case 't': test_only = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&bridge, 0, sizeof(bridge));
	if (fg_config_load_component(path, FG_COMPONENT_BRIDGE,
				     &bridge.config, &error) < 0)
		startup_fatal("%s", error);
	check_config(bridge.config);
	bridge.config_path = path;
	bridge.consumer = consumer_name(given_consumer);
	if (test_only) {
		printf("forumgated: %s: configuration OK\n", path);
		return 0;
	}

	msg_open(foreground);
	if (!foreground) {
		report_fd = daemonize();
		msg_startup_fd(report_fd);
	}

	/* Signals go to the main thread's sigwait(); the threads started
	   below inherit the blocked set. A closed socket must not kill
	   the daemon: writes fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		msg_fatal("curl_global_init failed");
	fg_mail_init();
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&bridge.wakeup, &attr);
		pthread_condattr_destroy(&attr);
		pthread_mutex_init(&bridge.lock, NULL);
	}

	if (webhook_start(&bridge, &webhook, &error) < 0)
		msg_fatal("webhook: %s", error);
	if (inbound_start(&bridge, &inbound, &error) < 0)
		msg_fatal("list->forum: %s", error);
	if (outbound_start(&bridge, &outbound, &error) < 0)
		msg_fatal("forum->list: %s", error);
	if (dist_start(&bridge, &dist, &error) < 0)
		msg_fatal("fan-out: %s", error);
	if (control_start(&bridge, &control, &error) < 0)
		msg_fatal("control: %s", error);
	{
		char *forum = fg_url_redact(bridge.config->forum_url);
		char *relay = fg_url_redact(bridge.config->smtp_relay);
		char *redis = fg_url_redact(bridge.config->redis);

		msg_info("forumgated %s started: consumer=%s forum=%s "
			 "relay=%s redis=%s", PACKAGE_VERSION, bridge.consumer,
			 forum, relay, redis);
		free(forum);
		free(relay);
		free(redis);
	}
	if (report_fd >= 0) {
		ssize_t w = write(report_fd, "ok", 2);
		(void)w;
		close(report_fd);
		msg_startup_fd(-1);
	}

	for (;;) {
		if (sigwait(&signals, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			msg_info("SIGHUP: re-reading the lists");
			bridge_refresh(&bridge);
			continue;
		}
		msg_info("%s: stopping", strsignal(sig));
		break;
	}

	bridge_stop(&bridge);
	webhook_stop(&webhook);
	worker_join(&inbound);
	worker_join(&outbound);
	worker_join(&dist);
	worker_join(&control);
	msg_info("stopped");

	fg_mail_deinit();
	curl_global_cleanup();
	pthread_cond_destroy(&bridge.wakeup);
	pthread_mutex_destroy(&bridge.lock);
	free((char *)bridge.consumer);
	fg_config_free(&bridge.config);
	return 0;
}
