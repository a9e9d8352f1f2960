/*
 * NAME
 *	check_transport - the routes of smtp_relay, the pipe runner and
 *	the From rewrite
 * DESCRIPTION
 *	Route syntax (today's "URL [sender=]" forms, pipes, quotes,
 *	options, errors), the choice of routes by list and recipient
 *	domain with back-off and fall-back, the pipe's argument template,
 *	real runs of a shell script (arguments, message on stdin with LF
 *	line ends, exit codes as sysexits.h says, signals, the time
 *	limit, a clean environment, no inherited descriptor, bounded
 *	output, a command that does not read its input), and the From
 *	rewrite of a route.
 */
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-smtp.h"
#include "fg-transport.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char script[128];

/* the test command: record.sh DIR MODE ARGS...; MODE is an exit code,
   "sig" (SIGTERM itself), "hang" (sleeps in a child), "noread" (exit 0
   without reading), "loud" (much output, exit 1) */
static const char script_text[] =
	"#!/bin/sh\n"
	"d=$1; mode=$2; shift 2\n"
	"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$d/argv\"\n"
	"env > \"$d/env\"\n"
	"if [ -e /proc/$$/fd/57 ]; then echo open; else echo closed; fi"
	" > \"$d/fd57\"\n"
	"case $mode in\n"
	"noread) exit 0;;\n"
	"hang) sleep 30; exit 0;;\n"
	"esac\n"
	"cat > \"$d/stdin\"\n"
	"case $mode in\n"
	"sig) kill -TERM $$;;\n"
	"loud) i=0; while [ $i -lt 200 ]; do"
	" echo 'a line of complaint, fifty bytes long, or so........' >&2;"
	" i=$((i+1)); done; exit 1;;\n"
	"esac\n"
	"echo \"said on stderr: mode $mode\" >&2\n"
	"exit $mode\n";

static void setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/check_transport.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/record.sh", dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script_text, f);
	fclose(f);
	ck_assert_int_eq(chmod(script, 0755), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* slurp - a file of the test directory, "" when missing */
static char *slurp(const char *name)
{
	char path[160], buf[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return fg_xstrdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return fg_xstrdup(buf);
}

static int parse(const char *value, struct fg_routes *routes,
		 const char **error)
{
	return fg_routes_parse(value, routes, error);
}

START_TEST(test_parse_smtp_routes_as_before)
{
	struct fg_routes routes;
	const char *error;

	ck_assert_int_eq(parse("smtp://127.0.0.1:25", &routes, &error), 0);
	ck_assert_uint_eq(routes.n_routes, 1);
	ck_assert_int_eq(routes.routes[0].kind, FG_ROUTE_SMTP);
	ck_assert_str_eq(routes.routes[0].relay, "smtp://127.0.0.1:25");
	ck_assert_ptr_null(routes.routes[0].sender);
	ck_assert(routes.routes[0].verp);
	ck_assert_uint_eq(routes.routes[0].n_domains, 0);
	fg_routes_free(&routes);

	ck_assert_int_eq(parse("smtps://u:pw@relay.test:465 sender=b@lists.test,"
			       "127.0.0.1:2525", &routes, &error), 0);
	ck_assert_uint_eq(routes.n_routes, 2);
	ck_assert_str_eq(routes.routes[0].relay,
			 "smtps://u:pw@relay.test:465");
	ck_assert_str_eq(routes.routes[0].shown, "smtps://relay.test:465");
	ck_assert_str_eq(routes.routes[0].sender, "b@lists.test");
	ck_assert_str_eq(routes.routes[1].relay, "127.0.0.1:2525");
	fg_routes_free(&routes);

	/* empty items are skipped, as before */
	ck_assert_int_eq(parse(" smtp://a:25 , , smtp://b:25 ,", &routes,
			       &error), 0);
	ck_assert_uint_eq(routes.n_routes, 2);
	fg_routes_free(&routes);
}
END_TEST

START_TEST(test_parse_pipe_and_options)
{
	struct fg_routes routes;
	const struct fg_route *r;
	const char *error;

	ck_assert_int_eq(parse(
		"pipe domains=Pipe.Test:.sub.test lists=ml:other "
		"sender=gw@lists.test verp=no from=ml@lists.test timeout=5s "
		"argv=/usr/sbin/sendmail -i -f ${sender} -- ${recipient}, "
		"smtp://127.0.0.1:25 domains=example.test "
		"from=list@lists.test", &routes, &error), 0);
	ck_assert_uint_eq(routes.n_routes, 2);
	r = &routes.routes[0];
	ck_assert_int_eq(r->kind, FG_ROUTE_PIPE);
	ck_assert_str_eq(r->shown, "pipe:/usr/sbin/sendmail");
	ck_assert_uint_eq(r->argc, 6);
	ck_assert_str_eq(r->argv[0], "/usr/sbin/sendmail");
	ck_assert_str_eq(r->argv[3], "${sender}");
	ck_assert_str_eq(r->argv[5], "${recipient}");
	ck_assert_ptr_null(r->argv[6]);
	ck_assert_uint_eq(r->n_domains, 2);
	ck_assert_str_eq(r->domains[0], "pipe.test");
	ck_assert_str_eq(r->domains[1], ".sub.test");
	ck_assert_uint_eq(r->n_lists, 2);
	ck_assert_str_eq(r->sender, "gw@lists.test");
	ck_assert(!r->verp);
	ck_assert_str_eq(r->from, "ml@lists.test");
	ck_assert_uint_eq(r->timeout_ms, 5000);
	r = &routes.routes[1];
	ck_assert_int_eq(r->kind, FG_ROUTE_SMTP);
	ck_assert_str_eq(r->domains[0], "example.test");
	ck_assert_str_eq(r->from, "list@lists.test");
	fg_routes_free(&routes);

	/* quotes keep white space and commas in one argument */
	ck_assert_int_eq(parse("pipe argv=/bin/gw \"a, b\" x\\y "
			       "\"say \\\"hi\\\"\"", &routes, &error), 0);
	ck_assert_uint_eq(routes.n_routes, 1);
	ck_assert_uint_eq(routes.routes[0].argc, 4);
	ck_assert_str_eq(routes.routes[0].argv[1], "a, b");
	ck_assert_str_eq(routes.routes[0].argv[2], "x\\y");
	ck_assert_str_eq(routes.routes[0].argv[3], "say \"hi\"");
	fg_routes_free(&routes);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct {
		const char *value, *error;
	} cases[] = {
		{ "smtp://u:pw@127.0.0.1:25 junk",
		  "unexpected 'junk' after smtp://127.0.0.1:25" },
		{ "smtp://h:25 colour=blue", "unknown option 'colour'" },
		{ "smtp://h:25 timeout=5s", "unknown option 'timeout'" },
		{ "pipe sender=a@b.test", "needs argv=" },
		{ "pipe argv=", "argv= is empty" },
		{ "pipe argv=sendmail -i", "absolute path" },
		{ "pipe argv=/bin/x ${nobody}", "unknown placeholder" },
		{ "pipe argv=/bin/x $", "unknown placeholder" },
		{ "pipe argv=/bin/x \"open", "quote is not closed" },
		{ "smtp://h:25 domains=bad_domain", "is not a domain" },
		{ "smtp://h:25 domains=..x", "is not a domain" },
		{ "smtp://h:25 domains=", "is empty" },
		{ "smtp://h:25 lists=Not/A/List", "is not a list name" },
		{ "smtp://h:25 sender=nobody", "is not an address" },
		{ "smtp://h:25 from=a@b from=c@d", "given twice" },
		{ "smtp://h:25 verp=maybe", "not yes or no" },
		{ "pipe timeout=0 argv=/bin/x", "not a duration" },
		{ "", "names no relay" },
		{ " , ", "names no relay" },
	};
	struct fg_routes routes;
	const char *error;

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		error = NULL;
		ck_assert_msg(parse(cases[i].value, &routes, &error) < 0,
			      "accepted: %s", cases[i].value);
		ck_assert_msg(error != NULL &&
			      strstr(error, cases[i].error) != NULL,
			      "%s: %s", cases[i].value, error);
		ck_assert_uint_eq(routes.n_routes, 0);
		/* the password never shows */
		ck_assert_ptr_null(strstr(error, "pw@"));
	}
}
END_TEST

START_TEST(test_choice_by_condition_and_backoff)
{
	struct fg_routes routes;
	const char *error;
	size_t order[8], n;

	ck_assert_int_eq(parse(
		"pipe domains=pipe.test argv=/bin/true, "
		"smtp://sub:25 domains=.example.org, "
		"smtp://ml:25 lists=ml, "
		"smtp://all:25", &routes, &error), 0);
	ck_assert(fg_route_matches(&routes.routes[0], "x", "a@PIPE.test"));
	ck_assert(!fg_route_matches(&routes.routes[0], "x", "a@pipe.test.org"));
	ck_assert(!fg_route_matches(&routes.routes[0], "x", "no-domain"));
	ck_assert(fg_route_matches(&routes.routes[1], "x", "a@b.example.org"));
	ck_assert(fg_route_matches(&routes.routes[1], "x", "a@c.b.example.org"));
	ck_assert(!fg_route_matches(&routes.routes[1], "x", "a@example.org"));
	ck_assert(!fg_route_matches(&routes.routes[1], "x", "a@xexample.org"));
	ck_assert(fg_route_matches(&routes.routes[2], "ml", "a@b.c"));
	ck_assert(!fg_route_matches(&routes.routes[2], "other", "a@b.c"));
	ck_assert(!fg_route_matches(&routes.routes[2], NULL, "a@b.c"));

	n = fg_routes_plan(&routes, 1000, "ml", "a@pipe.test", order);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_uint_eq(order[1], 2);
	ck_assert_uint_eq(order[2], 3);
	n = fg_routes_plan(&routes, 1000, "other", "a@x.example.org", order);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(order[1], 3);

	/* the pipe fails: skipped for the back-off, the next one first */
	ck_assert(fg_route_failed(&routes.routes[0], 1000, 60000));
	ck_assert(!fg_route_failed(&routes.routes[0], 2000, 60000));
	n = fg_routes_plan(&routes, 2000, "ml", "a@pipe.test", order);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(order[0], 2);
	ck_assert_uint_eq(order[1], 3);
	/* back after the back-off */
	n = fg_routes_plan(&routes, 62000, "ml", "a@pipe.test", order);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(order[0], 0);

	/* every matching route in back-off: all of them, in order */
	ck_assert(fg_route_failed(&routes.routes[3], 2000, 60000));
	n = fg_routes_plan(&routes, 3000, "other", "a@pipe.test", order);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_uint_eq(order[1], 3);
	ck_assert(fg_route_worked(&routes.routes[0]));
	ck_assert(!fg_route_worked(&routes.routes[0]));
	n = fg_routes_plan(&routes, 3000, "other", "a@pipe.test", order);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(order[0], 0);
	fg_routes_free(&routes);

	/* only conditional routes: a recipient none takes has no route */
	ck_assert_int_eq(parse("smtp://a:25 domains=a.test, pipe lists=ml "
			       "argv=/bin/true", &routes, &error), 0);
	ck_assert_uint_eq(fg_routes_plan(&routes, 0, "other", "x@b.test",
					 order), 0);
	ck_assert_uint_eq(fg_routes_plan(&routes, 0, "ml", "x@b.test",
					 order), 1);
	fg_routes_free(&routes);
}
END_TEST

START_TEST(test_pipe_argv_template)
{
	struct fg_routes routes;
	const char *rcpts[] = { "ann@a.test", "bob@b.test" };
	const char *error;
	char **argv;
	size_t argc;

	ck_assert_int_eq(parse("pipe argv=/bin/gw -f${sender} --list=$list "
			       "$$5 -- ${recipient} to:${user}@${domain}",
			       &routes, &error), 0);
	argv = fg_pipe_argv(&routes.routes[0], "b+x@lists.test", rcpts, 2,
			    "ml", &argc);
	ck_assert_uint_eq(argc, 9);
	ck_assert_str_eq(argv[0], "/bin/gw");
	ck_assert_str_eq(argv[1], "-fb+x@lists.test");
	ck_assert_str_eq(argv[2], "--list=ml");
	ck_assert_str_eq(argv[3], "$5");
	ck_assert_str_eq(argv[4], "--");
	ck_assert_str_eq(argv[5], "ann@a.test");
	ck_assert_str_eq(argv[6], "bob@b.test");
	ck_assert_str_eq(argv[7], "to:ann@a.test");
	ck_assert_str_eq(argv[8], "to:bob@b.test");
	ck_assert_ptr_null(argv[9]);
	fg_strv_free(argv, argc);
	/* a value is one argument, whatever it holds */
	argv = fg_pipe_argv(&routes.routes[0], "", rcpts, 1, NULL, &argc);
	ck_assert_uint_eq(argc, 7);
	ck_assert_str_eq(argv[1], "-f");
	ck_assert_str_eq(argv[2], "--list=");
	fg_strv_free(argv, argc);
	fg_routes_free(&routes);
}
END_TEST

/* run - the test script through fg_pipe_run() in MODE */
static int run(const char *mode, const char *options, const char *sender,
	       const char *rcpt, const char *data, const char **reply)
{
	struct fg_routes routes;
	const char *error;
	char *value = fg_xasprintf("pipe %s argv=%s %s %s -f ${sender} -- "
				   "${recipient}", options, script, dir, mode);
	struct fg_pipe_request req = {
		.sender = sender, .rcpts = &rcpt, .n_rcpts = 1,
		.list = "ml", .data = data, .size = strlen(data),
		.timeout_ms = 20000,
	};
	int status;

	ck_assert_msg(parse(value, &routes, &error) == 0, "%s", error);
	free(value);
	req.route = &routes.routes[0];
	status = fg_pipe_run(&req, reply);
	fg_routes_free(&routes);
	return status;
}

static const char message[] =
	"From: Ann <ann@a.test>\r\nSubject: hi\r\n\r\nline one\r\n"
	".dot line\r\nlast\r\n";

START_TEST(test_pipe_delivers)
{
	const char *reply;
	char *s;
	int fd;

	/* a descriptor the caller has open must not reach the command */
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 57), 57);
	close(fd);
	setenv("FG_CHECK_SECRET", "not for the command", 1);

	ck_assert_int_eq(run("0", "", "gw+v@lists.test", "ann@a.test",
			     message, &reply), FG_SMTP_OK);
	ck_assert_ptr_nonnull(strstr(reply, "exit status 0"));
	s = slurp("argv");
	ck_assert_str_eq(s, "-f\ngw+v@lists.test\n--\nann@a.test\n");
	free(s);
	s = slurp("stdin");
	ck_assert_str_eq(s, "From: Ann <ann@a.test>\nSubject: hi\n\nline one\n"
			 ".dot line\nlast\n");
	free(s);
	s = slurp("env");
	ck_assert_ptr_nonnull(strstr(s, "PATH=/usr/bin:/bin\n"));
	ck_assert_ptr_null(strstr(s, "FG_CHECK_SECRET"));
	free(s);
	s = slurp("fd57");
	ck_assert_str_eq(s, "closed\n");
	free(s);
	close(57);
	unsetenv("FG_CHECK_SECRET");
}
END_TEST

START_TEST(test_pipe_exit_codes)
{
	static const struct {
		const char *mode;
		int status;
		const char *said;
	} cases[] = {
		{ "75", FG_SMTP_TRANSIENT, "exit status 75" },
		{ "71", FG_SMTP_TRANSIENT, "exit status 71" },
		{ "1", FG_SMTP_PERMANENT, "exit status 1" },
		{ "67", FG_SMTP_PERMANENT, "exit status 67" },
		{ "78", FG_SMTP_PERMANENT, "exit status 78" },
		{ "sig", FG_SMTP_TRANSIENT, "killed by signal 15" },
	};
	const char *reply;

	for (size_t i = 0; i < FG_N_ELEMENTS(cases); i++) {
		ck_assert_int_eq(run(cases[i].mode, "", "s@l.test",
				     "ann@a.test", message, &reply),
				 cases[i].status);
		ck_assert_msg(strstr(reply, cases[i].said) != NULL, "%s: %s",
			      cases[i].mode, reply);
		ck_assert_ptr_nonnull(strstr(reply, script));
		if (strcmp(cases[i].mode, "sig") != 0)
			/* stderr, in one line, in the answer */
			ck_assert_msg(strstr(reply, "; output: said on stderr: "
					     "mode ") != NULL, "%s", reply);
		ck_assert_ptr_null(strchr(reply, '\n'));
	}
}
END_TEST

START_TEST(test_pipe_limits)
{
	const char *reply;
	char *big;
	time_t start;

	/* output is cut */
	ck_assert_int_eq(run("loud", "", "s@l.test", "ann@a.test", message,
			     &reply), FG_SMTP_PERMANENT);
	ck_assert_ptr_nonnull(strstr(reply, "a line of complaint"));
	ck_assert_uint_le(strlen(reply), FG_PIPE_OUTPUT_MAX + 200);

	/* the time limit kills the command and its children */
	start = time(NULL);
	ck_assert_int_eq(run("hang", "timeout=300ms", "s@l.test",
			     "ann@a.test", message, &reply),
			 FG_SMTP_TRANSIENT);
	ck_assert_msg(strstr(reply, "time limit of 0.300s exceeded") != NULL,
		      "%s", reply);
	ck_assert_int_lt(time(NULL) - start, 20);

	/* a command that takes 1 MB without reading it, exit 0: taken */
	big = fg_xmalloc(1 << 20);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	ck_assert_int_eq(run("noread", "", "s@l.test", "ann@a.test", big,
			     &reply), FG_SMTP_OK);
	free(big);

	/* addresses that are not one argument's worth, or look like an
	   option, never reach the command */
	ck_assert_int_eq(run("0", "", "s@l.test", "-oQ/tmp@a.test", message,
			     &reply), FG_SMTP_PERMANENT);
	ck_assert_ptr_nonnull(strstr(reply, "invalid recipient"));
	ck_assert_int_eq(run("0", "", "a b@l.test", "ann@a.test", message,
			     &reply), FG_SMTP_PERMANENT);
	ck_assert_ptr_nonnull(strstr(reply, "invalid envelope sender"));
}
END_TEST

START_TEST(test_pipe_cannot_run)
{
	struct fg_routes routes;
	const char *error, *reply, *rcpt = "ann@a.test";
	struct fg_pipe_request req = {
		.sender = "", .rcpts = &rcpt, .n_rcpts = 1,
		.data = message, .size = strlen(message),
	};

	ck_assert_int_eq(parse("pipe argv=/nonexistent/gateway ${recipient}",
			       &routes, &error), 0);
	req.route = &routes.routes[0];
	ck_assert_int_eq(fg_pipe_run(&req, &reply), FG_SMTP_TRANSIENT);
	ck_assert_msg(strstr(reply, "/nonexistent/gateway: cannot run: No "
			     "such file") != NULL, "%s", reply);
	fg_routes_free(&routes);
}
END_TEST

START_TEST(test_from_rewrite)
{
	static const char body[] = "\r\n--b\r\nsigned part\r\n--b--\r\n";
	char *in, *out;
	size_t size;
	const char *error;

	in = fg_xasprintf("Received: x\r\nFrom: =?utf-8?q?J=C3=BCrgen?=\r\n"
			  " <juergen@a.test>\r\nX-Original-From: forged\r\n"
			  "Subject: s\r\n%s", body);
	ck_assert_int_eq(fg_from_rewrite(in, strlen(in), "ml@lists.test",
					 &out, &size, &error), 0);
	ck_assert_uint_eq(size, strlen(out));
	ck_assert_msg(strncmp(out, "Received: x\r\nFrom: ", 19) == 0,
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\r\nFrom: "));
	ck_assert_ptr_nonnull(strstr(out, " <ml@lists.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\nReply-To: "));
	ck_assert_ptr_nonnull(strstr(out, " <juergen@a.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\nX-Original-From: "
				     "=?utf-8?q?J=C3=BCrgen?= "
				     "<juergen@a.test>\r\n"));
	ck_assert_ptr_null(strstr(out, "forged"));
	/* the body passes byte for byte */
	ck_assert_str_eq(out + size - strlen(body), body);
	free(out);
	free(in);

	/* an existing Reply-To keeps its addresses, the author after them */
	in = fg_xstrdup("From: ann@a.test\nReply-To: team@a.test\n\nbody\n");
	ck_assert_int_eq(fg_from_rewrite(in, strlen(in), "ml@lists.test",
					 &out, &size, &error), 0);
	ck_assert_str_eq(out, "From: ml@lists.test\nReply-To: team@a.test, "
			 "ann@a.test\nX-Original-From: ann@a.test\n\nbody\n");
	free(out);
	free(in);

	/* already from that address: unchanged */
	in = fg_xstrdup("From: List <ML@lists.test>\n\nbody\n");
	ck_assert_int_eq(fg_from_rewrite(in, strlen(in), "ml@lists.test",
					 &out, &size, &error), 0);
	ck_assert_str_eq(out, in);
	free(out);
	free(in);

	ck_assert_int_eq(fg_from_rewrite("From: a@b.test\nFrom: c@d.test\n\n",
					 28, "ml@lists.test", &out, &size,
					 &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "two From"));
	ck_assert_int_eq(fg_from_rewrite("Subject: x\n\nbody\n", 17,
					 "ml@lists.test", &out, &size,
					 &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "no From"));
	in = fg_xstrdup("From: a@b.test, c@d.test\n\n");
	ck_assert_int_eq(fg_from_rewrite(in, strlen(in), "ml@lists.test",
					 &out, &size, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not one address"));
	free(in);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_parse_smtp_routes_as_before, test_parse_pipe_and_options,
		test_parse_errors, test_choice_by_condition_and_backoff,
		test_pipe_argv_template, test_pipe_delivers,
		test_pipe_exit_codes, test_pipe_limits, test_pipe_cannot_run,
		test_from_rewrite,
	};
	Suite *suite = suite_create("transport");
	TCase *tc = tcase_create("transport");
	SRunner *runner;
	int n_failed;

	fg_mail_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	/* the time-limit test waits for a killed command */
	tcase_set_timeout(tc, 60);
	for (size_t i = 0; i < FG_N_ELEMENTS(tests); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	n_failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	fg_mail_deinit();
	return n_failed == 0 ? 0 : 1;
}
