/*
 * NAME
 *	forumgate-policyd 8 - Postfix policy server for forumgate lists
 * SYNOPSIS
 *	forumgate-policyd [-fsvV] [-c config_file]
 * DESCRIPTION
 *	Answers the Postfix SMTP server's policy delegation requests at
 *	RCPT time: mail to a list posting address is accepted from list
 *	members only; every other recipient gets DUNNO without a Redis
 *	round trip. One process serves many persistent smtpd connections
 *	on the listeners of policy_listen (TCP and UNIX-domain sockets),
 *	or, with -s, the one connection that spawn(8) hands it on standard
 *	input and output. doc/forumgate-policyd.8 is the manual.
 *
 *	This file owns the process: options, settings, listeners,
 *	signals, daemon mode and the event loop. The connections are in
 *	policyd-conn.c, Redis in policyd-redis.c, the decisions in the
 *	shared library (fg-policy.c).
 * DIAGNOSTICS
 *	Problems go to the log (syslog, facility mail; stderr with -f).
 *	Exit status 0 after SIGTERM or SIGINT, or when the spawn(8)
 *	client is gone; 64 usage; 71 system error (socket, fork); 78 bad
 *	configuration.
 */
#include "forumgate-config.h"
#include "policyd.h"
#include "fg-net.h"
#include "fg-store-async.h"
#include "fg-redis.h"
#include "fg-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <event2/event.h>
#include <event2/listener.h>

#define POLICYD_NAME "forumgate-policyd"

struct listener {
	struct listener *next;
	struct policyd *pd;
	char *name;			/* as in policy_listen */
	char *unix_path;		/* removed at exit */
	int fd;
	struct evconnlistener *evl;
	struct event *pause_timer;	/* accept() failed: try again later */
	unsigned int serial;		/* names UNIX-domain clients */
};

/* usage - the synopsis, to stdout on -h, otherwise to stderr */
static noreturn void usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
		"usage: %s [-fsvV] [-c config_file]\n"
		"  -c FILE  settings (default %s)\n"
		"  -f       stay in the foreground, log to stderr\n"
		"  -s       serve one client on stdin/stdout (spawn(8))\n"
		"  -v       also log connections and Redis reconnects\n"
		"  -V       print the version and exit\n",
		POLICYD_NAME, FG_DEFAULT_CONFIG_PATH);
	exit(status);
}

/* listen_unix - a UNIX-domain listener; a stale socket file is
   replaced, a live one (another daemon) is not */
static int listen_unix(const char *path, const char **error_r)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr;
	struct sockaddr_un *un = &addr.un;
	struct stat st;
	int fd;

	if (path[0] != '/' || strlen(path) >= sizeof(un->sun_path)) {
		*error_r = fg_errorf("unix:%s: want an absolute path shorter "
				     "than %zu bytes", path,
				     sizeof(un->sun_path));
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = fg_errorf("socket: %s", strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			*error_r = fg_errorf("%s exists and is not a socket",
					     path);
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, &addr.sa, sizeof(*un)) == 0) {
			close(probe);
			*error_r = fg_errorf("%s is in use by another server",
					     path);
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		(void)unlink(path);
	}
	if (bind(fd, &addr.sa, sizeof(*un)) < 0) {
		*error_r = fg_errorf("bind %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Like Postfix's private/ sockets: who may connect is decided by
	   the permissions of the directory. */
	if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0) {
		*error_r = fg_errorf("listen %s: %s", path, strerror(errno));
		(void)unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* listen_tcp - a TCP listener on host:port, [v6addr]:port or *:port */
static int listen_tcp(const char *spec, const char **error_r)
{
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints, *res, *ai;
	char *host;
	int fd = -1, err, on = 1;

	if (colon == NULL || colon == spec || colon[1] == '\0') {
		*error_r = fg_errorf("'%s': want host:port or unix:/path",
				     spec);
		return -1;
	}
	host = fg_xstrndup(spec, (size_t)(colon - spec));
	if (host[0] == '[' && strlen(host) > 2 &&
	    host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	/* "*" is every IPv4 address; "[::]" every IPv6 address. */
	hints.ai_family = strcmp(host, "*") == 0 ? AF_INET : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, colon + 1,
			  &hints, &res);
	free(host);
	if (err != 0) {
		*error_r = fg_errorf("'%s': %s", spec, gai_strerror(err));
		return -1;
	}
	*error_r = fg_errorf("'%s': no address", spec);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			*error_r = fg_errorf("socket: %s", strerror(errno));
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
				 sizeof(on));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
					 sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		*error_r = fg_errorf("bind %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* listen_open_all - open every listener of policy_listen (names
   separated by commas or white space) before the daemon forks, so
   that a bad address stops the start with a message on the terminal */
static struct listener *listen_open_all(struct policyd *pd, const char *spec)
{
	struct listener *list = NULL, **tail = &list;
	char *copy = fg_xstrdup(spec), *save = NULL;

	for (char *name = strtok_r(copy, ", \t", &save); name != NULL;
	     name = strtok_r(NULL, ", \t", &save)) {
		struct listener *l = fg_xcalloc(1, sizeof(*l));
		const char *error = "unknown error";

		l->pd = pd;
		l->name = fg_xstrdup(name);
		if (strncmp(name, "unix:", 5) != 0 &&
		    (strrchr(name, ':') == NULL || strrchr(name, ':') == name ||
		     strrchr(name, ':')[1] == '\0'))
			policyd_fatal(POLICYD_EX_CONFIG, "policy_listen: '%s': "
				      "want host:port or unix:/path", name);
		if (strncmp(name, "unix:", 5) == 0) {
			l->fd = listen_unix(name + 5, &error);
			l->unix_path = fg_xstrdup(name + 5);
		} else {
			l->fd = listen_tcp(name, &error);
		}
		if (l->fd < 0)
			policyd_fatal(POLICYD_EX_OSERR, "policy_listen: %s",
				      error);
		*tail = l;
		tail = &l->next;
	}
	free(copy);
	if (list == NULL)
		policyd_fatal(POLICYD_EX_CONFIG, "policy_listen is empty");
	return list;
}

/* listen_accept - a new smtpd connection */
static void listen_accept(struct evconnlistener *evl, evutil_socket_t fd,
			  struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	char peer[INET6_ADDRSTRLEN + 32], host[INET6_ADDRSTRLEN],
		port[16];

	(void)evl;
	if (sa->sa_family == AF_UNIX ||
	    getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(peer, sizeof(peer), "unix#%u", ++l->serial);
	else if (sa->sa_family == AF_INET6)
		snprintf(peer, sizeof(peer), "[%s]:%s", host, port);
	else
		snprintf(peer, sizeof(peer), "%s:%s", host, port);
	policyd_conn_new(l->pd, fd, fd, peer);
}

/* listen_resume - the pause after an accept() failure is over */
static void listen_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->evl);
}

/* listen_error - accept() failed; with EMFILE the pending connection
   would wake the loop at once again, so pause the listener */
static void listen_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { POLICYD_ACCEPT_PAUSE_MS / 1000,
			      (POLICYD_ACCEPT_PAUSE_MS % 1000) * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	policyd_warn("accept on %s: %s", l->name,
		     evutil_socket_error_to_string(err));
	evconnlistener_disable(evl);
	evtimer_add(l->pause_timer, &tv);
}

/* listen_start - put the listeners on the event loop */
static void listen_start(struct listener *list, struct event_base *base)
{
	for (struct listener *l = list; l != NULL; l = l->next) {
		l->evl = evconnlistener_new(base, listen_accept, l,
					    LEV_OPT_CLOSE_ON_FREE |
					    LEV_OPT_CLOSE_ON_EXEC, 0, l->fd);
		l->pause_timer = evtimer_new(base, listen_resume, l);
		if (l->evl == NULL || l->pause_timer == NULL)
			policyd_fatal(POLICYD_EX_OSERR,
				      "cannot listen on %s", l->name);
		evconnlistener_set_error_cb(l->evl, listen_error);
	}
}

static void listen_free_all(struct listener **_list)
{
	struct listener *l = *_list, *next;

	for (; l != NULL; l = next) {
		next = l->next;
		if (l->evl != NULL)
			evconnlistener_free(l->evl);
		else
			close(l->fd);
		if (l->pause_timer != NULL)
			event_free(l->pause_timer);
		if (l->unix_path != NULL)
			(void)unlink(l->unix_path);
		free(l->unix_path);
		free(l->name);
		free(l);
	}
	*_list = NULL;
}

/* drop_privileges - started as root: become policyd_user for good (its
   uid, gid and groups) once the listeners are open; started as
   another user: stay that user */
static void drop_privileges(const char *user)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return;
	if (user == NULL || *user == '\0')
		policyd_fatal(POLICYD_EX_CONFIG, "policyd_user is empty: "
			      "refusing to run as root");
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL)
		policyd_fatal(POLICYD_EX_CONFIG, "policyd_user %s: %s", user,
			      errno != 0 ? strerror(errno) : "no such user");
	if (pw->pw_uid == 0)
		policyd_fatal(POLICYD_EX_CONFIG, "policyd_user %s is root",
			      user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		policyd_fatal(POLICYD_EX_OSERR, "initgroups(%s): %s", user,
			      strerror(errno));
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		policyd_fatal(POLICYD_EX_OSERR, "setresgid(%lu): %s",
			      (unsigned long)pw->pw_gid, strerror(errno));
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		policyd_fatal(POLICYD_EX_OSERR, "setresuid(%lu): %s",
			      (unsigned long)pw->pw_uid, strerror(errno));
	/* all three uids changed: no way back, or something is wrong */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		policyd_fatal(POLICYD_EX_SOFTWARE, "could regain root after "
			      "switching to %s", user);
	policyd_info("running as user %s (uid %lu, gid %lu)", user,
		     (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
}

/* daemonize - detach from the terminal; the listeners stay open */
static void daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		policyd_fatal(POLICYD_EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	(void)setsid();
	if (chdir("/") < 0)
		policyd_fatal(POLICYD_EX_OSERR, "chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		policyd_fatal(POLICYD_EX_OSERR, "/dev/null: %s",
			      strerror(errno));
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* on_stop - SIGTERM or SIGINT: leave the event loop */
static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct policyd *pd = arg;

	(void)what;
	policyd_info("terminating on signal %d", (int)sig);
	pd->stopping = true;
	event_base_loopbreak(pd->base);
}

/* on_hup - SIGHUP: read the posting addresses now */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct policyd *pd = arg;

	(void)sig;
	(void)what;
	policyd_info("SIGHUP: reading the posting addresses and the lists "
		     "again");
	policyd_redis_refresh(pd->redis, true);
}

/* spawn_out_fd - spawn(8) connects one socket to stdin and stdout;
   anything else (pipes, files, a terminal) is read from 0, written
   to 1 */
static int spawn_out_fd(void)
{
	struct stat st;

	if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode))
		return 0;
	return 1;
}

int main(int argc, char **argv)
{
	const char *config_path = FG_DEFAULT_CONFIG_PATH, *error;
	struct policyd pd;
	struct listener *listeners = NULL;
	struct fg_net_list *bridge_clients = NULL;
	struct event_config *ev_config;
	struct event *ev_term, *ev_int, *ev_hup;
	bool foreground = false;
	int c, stdio_flags[2] = { -1, -1 };

	memset(&pd, 0, sizeof(pd));
	while ((c = getopt(argc, argv, "c:fhsvV")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(0);
		case 's':
			pd.spawn = true;
			break;
		case 'v':
			pd.verbose = true;
			break;
		case 'V':
			printf("%s %s\n", POLICYD_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(POLICYD_EX_USAGE);
		}
	}
	if (optind != argc)
		usage(POLICYD_EX_USAGE);

	/* Under spawn(8), stderr may be the client's socket: never write
	   to it unless asked to with -f. Before the daemon detaches,
	   startup errors also go to the terminal. */
	policyd_log_init(POLICYD_NAME, foreground ? POLICYD_LOG_STDERR :
			 pd.spawn ? POLICYD_LOG_SYSLOG :
			 POLICYD_LOG_SYSLOG | POLICYD_LOG_STDERR);

	if (fg_config_load_component(config_path, FG_COMPONENT_POLICYD,
				     &pd.config, &error) < 0)
		policyd_fatal(POLICYD_EX_CONFIG, "%s", error);
	if (fg_store_async_address_check(pd.config->redis, &error) < 0)
		policyd_fatal(POLICYD_EX_CONFIG, "redis: %s", error);
	/* the TLS certificates and key are read now, before root is
	   given up, like the secret files */
	if (fg_redis_params_new(pd.config, &pd.redis_params, &error) < 0)
		policyd_fatal(POLICYD_EX_CONFIG, "%s", error);
	fg_policy_settings_default(&pd.policy);
	pd.policy.secret = pd.config->secret;
	pd.policy.strip_extension = pd.config->policy_strip_extension;
	pd.policy.recipient_delimiter = pd.config->recipient_delimiter;
	pd.policy.rate_limit = pd.config->policy_rate_limit;
	pd.policy.rate_reject = pd.config->policy_rate_reject;
	pd.policy.redis_down_action = pd.config->policy_redis_down_action;
	if (fg_net_list_parse("bridge_clients", pd.config->bridge_clients,
			      &bridge_clients, &error) < 0)
		policyd_fatal(POLICYD_EX_CONFIG, "%s", error);
	pd.policy.bridge_clients = bridge_clients;
	if (pd.config->secret == NULL || *pd.config->secret == '\0')
		policyd_warn("secret is not set: every VERP bounce address "
			     "will be refused");
	if (*pd.policy.redis_down_action == '\0')
		policyd_fatal(POLICYD_EX_CONFIG,
			      "policy_redis_down_action is empty");
	if (!pd.spawn)
		listeners = listen_open_all(&pd, pd.config->policy_listen);
	drop_privileges(pd.config->policyd_user);

	/* A client that goes away must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if (!foreground && !pd.spawn) {
		daemonize();
		policyd_log_dest(POLICYD_LOG_SYSLOG);
	}

	ev_config = event_config_new();
	if (ev_config == NULL)
		policyd_fatal(POLICYD_EX_OSERR, "event_config_new failed");
	/* epoll cannot wait on regular files, which spawn mode may be
	   given for a test from the shell; one client needs no epoll. */
	if (pd.spawn)
		event_config_avoid_method(ev_config, "epoll");
	/* hiredis adds and removes its write event in every loop
	   iteration that sends commands; with the changelist the two
	   cancel out instead of costing two epoll_ctl calls. (The flag's
	   known problem, descriptors shared with dup(), does not arise:
	   spawn mode is the only one that dups, and it avoids epoll.) */
	event_config_set_flag(ev_config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	pd.base = event_base_new_with_config(ev_config);
	event_config_free(ev_config);
	if (pd.base == NULL)
		policyd_fatal(POLICYD_EX_OSERR, "event_base_new failed");
	policyd_log_libevent();
	policyd_log_base(pd.base);
	if (pd.config->policy_idle_timeout > 0) {
		unsigned int idle = pd.config->policy_idle_timeout;
		struct timeval tv = { (time_t)(idle / 1000),
				      (suseconds_t)(idle % 1000) * 1000 };
		pd.idle_timeout = event_base_init_common_timeout(pd.base, &tv);
		if (pd.idle_timeout == NULL)
			policyd_fatal(POLICYD_EX_OSERR,
				      "event_base_init_common_timeout failed");
	}

	ev_term = evsignal_new(pd.base, SIGTERM, on_stop, &pd);
	ev_int = evsignal_new(pd.base, SIGINT, on_stop, &pd);
	ev_hup = evsignal_new(pd.base, SIGHUP, on_hup, &pd);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    evsignal_add(ev_term, NULL) < 0 || evsignal_add(ev_int, NULL) < 0 ||
	    evsignal_add(ev_hup, NULL) < 0)
		policyd_fatal(POLICYD_EX_OSERR, "cannot catch signals");

	if (pd.spawn) {
		int out_fd = spawn_out_fd(), in_dup, out_dup;

		/* Non-blocking I/O changes the file status flags of a
		   terminal or pipe we may share with others: the client
		   gets copies of the descriptors, the originals stay open
		   to put the flags back at exit. */
		stdio_flags[0] = fcntl(0, F_GETFL);
		stdio_flags[1] = out_fd != 0 ? fcntl(1, F_GETFL) : -1;
		in_dup = fcntl(0, F_DUPFD_CLOEXEC, 3);
		out_dup = out_fd == 0 ? in_dup : fcntl(1, F_DUPFD_CLOEXEC, 3);
		if (in_dup < 0 || out_dup < 0)
			policyd_fatal(POLICYD_EX_OSERR, "dup: %s",
				      strerror(errno));
		policyd_conn_new(&pd, in_dup, out_dup, "spawn");
	} else {
		listen_start(listeners, pd.base);
	}
	/* After the client exists: a Redis failure at startup resumes
	   the requests that waited for the posting addresses. */
	pd.redis = policyd_redis_new(&pd, policyd_conn_resume_all);
	if (pd.verbose || !pd.spawn) {
		char *redis = fg_url_redact(pd.config->redis);

		policyd_info("starting %s: %s, Redis at %s", PACKAGE_VERSION,
			     pd.spawn ? "spawn mode" : pd.config->policy_listen,
			     redis);
		free(redis);
	}

	if (event_base_dispatch(pd.base) < 0)
		policyd_fatal(POLICYD_EX_OSERR, "event loop failed");

	policyd_conn_close_all(&pd);
	listen_free_all(&listeners);
	policyd_redis_free(&pd.redis);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	policyd_log_base(NULL);
	event_base_free(pd.base);
	if (stdio_flags[0] >= 0)
		(void)fcntl(0, F_SETFL, stdio_flags[0]);
	if (stdio_flags[1] >= 0)
		(void)fcntl(1, F_SETFL, stdio_flags[1]);
	if (pd.verbose || !pd.spawn)
		policyd_info("stopped");
	fg_net_list_free(&bridge_clients);
	fg_config_free(&pd.config);
	return 0;
}
