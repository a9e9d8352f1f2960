#ifndef CHECK_REDIS_H
#define CHECK_REDIS_H
/*
 * NAME
 *	check-redis.h - a private redis-server for the unit tests
 * DESCRIPTION
 *	redis_start() runs redis-server as a child on a unix socket in a
 *	private directory (no TCP port), address is "unix:SOCKET" for
 *	fg_store_connect(); redis_stop() stops it and removes the
 *	directory. Included by one test program each.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char tmpdir[] = "/tmp/fg-store-XXXXXX";
static char sock_path[256], address[300];
static pid_t redis_pid;

/* redis_start - redis-server in the foreground as our child */
static void redis_start(void)
{
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/redis.sock", tmpdir);
	snprintf(address, sizeof(address), "unix:%s", sock_path);
	redis_pid = fork();
	if (redis_pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("redis-server", "redis-server", "--port", "0",
		       "--unixsocket", sock_path, "--dir", tmpdir,
		       "--save", "", "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(sock_path, &st) == 0)
			return;
		usleep(10000);
	}
	fprintf(stderr, "redis-server did not start\n");
	exit(1);
}

static void redis_stop(void)
{
	char cmd[512];

	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

/* redis_suite_run - run a suite against the private redis-server: 77
   (skipped) without redis-server, else 0 when every test passed */
static inline int redis_suite_run(Suite *s)
{
	SRunner *sr;
	int failed;

	if (system("command -v redis-server >/dev/null") != 0) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	redis_start();
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_stop();
	return failed == 0 ? 0 : 1;
}

#endif
