/*
 * NAME
 *	fg-transport-pipe 3 - hand a message to a command, as pipe(8) does
 * DESCRIPTION
 *	See fg-transport.h, fg_pipe_run(). fork() and execve() rather
 *	than posix_spawn(): the child must leave the caller's session,
 *	get default signal handling and an empty signal mask (forumgated
 *	ignores SIGPIPE and blocks its stop signals, which a command
 *	would inherit), close every descriptor but its three, and report
 *	a failed execve() to the parent; the child calls only
 *	async-signal-safe functions between fork() and execve(), so a
 *	threaded caller is safe.
 *
 *	The parent writes the message and reads the command's output in
 *	one poll() loop, both non-blocking, so a command that writes much
 *	before it reads cannot block either side; the time limit covers
 *	the whole run, and when it passes the command's session is
 *	killed (SIGKILL to its process group, as pipe(8) does).
 *
 *	Exit codes follow Postfix's sys_exits table: EX_TEMPFAIL and
 *	EX_OSERR are temporary, every other non-zero code is permanent.
 *	Unlike pipe(8), which returns the mail when the time limit
 *	passes, a time-out here is temporary: the route goes into
 *	back-off and the next route is tried, as for an SMTP relay that
 *	does not answer.
 */
#include "forumgate-config.h"
#include "fg-transport.h"
#include "fg-common.h"
#include "fg-smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* descriptors closed one by one when close_range() is missing */
#define FG_PIPE_CLOSE_MAX 4096

/* fg_pipe_now_ms - a monotonic clock */
static long long fg_pipe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the placeholders of a pipe's arguments */
static const char *const fg_pipe_names[] = {
	"sender", "recipient", "user", "domain", "list",
};

/* fg_pipe_placeholder - see fg-transport.h */
size_t fg_pipe_placeholder(const char *p, const char **name_r, size_t *len_r)
{
	const char *name = p + 1, *end;

	if (p[0] != '$')
		return 0;
	if (p[1] == '$') {
		*name_r = p + 1;
		*len_r = 1;
		return 2;
	}
	if (*name == '{') {
		name++;
		end = strchr(name, '}');
		if (end == NULL)
			return 0;
	} else {
		for (end = name; (*end >= 'a' && *end <= 'z') || *end == '_';
		     end++)
			;
	}
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_pipe_names); i++) {
		if ((size_t)(end - name) == strlen(fg_pipe_names[i]) &&
		    strncmp(name, fg_pipe_names[i], (size_t)(end - name)) == 0) {
			*name_r = name;
			*len_r = (size_t)(end - name);
			return (size_t)(end - p) + (*end == '}' ? 1 : 0);
		}
	}
	return 0;
}

/* fg_pipe_expand - one template word with one recipient's values */
static char *fg_pipe_expand(const char *word, const char *sender,
			    const char *rcpt, const char *list)
{
	struct fg_buf out = { NULL, 0, 0 };
	const char *at = rcpt != NULL ? strrchr(rcpt, '@') : NULL;
	const char *p = word, *name;
	size_t len, n;

	fg_buf_puts(&out, "");
	while (*p != '\0') {
		n = fg_pipe_placeholder(p, &name, &len);
		if (n == 0) {
			/* no placeholder (checked when parsed): as written */
			fg_buf_putc(&out, *p++);
			continue;
		}
		p += n;
		switch (*name) {
		case '$':
			fg_buf_putc(&out, '$');
			break;
		case 's':
			fg_buf_puts(&out, sender);
			break;
		case 'r':
			fg_buf_puts(&out, rcpt != NULL ? rcpt : "");
			break;
		case 'l':
			fg_buf_puts(&out, list);
			break;
		case 'd':
			fg_buf_puts(&out, at != NULL ? at + 1 : "");
			break;
		case 'u':
			if (rcpt != NULL)
				fg_buf_append(&out, rcpt, at != NULL ?
					      (size_t)(at - rcpt) :
					      strlen(rcpt));
			break;
		}
	}
	return fg_buf_steal(&out);
}

/* fg_pipe_per_recipient - does the word name the recipient (${recipient},
   ${user}, ${domain}) */
static bool fg_pipe_per_recipient(const char *word)
{
	const char *name;
	size_t len, n;

	for (const char *p = word; *p != '\0'; p += n > 0 ? n : 1) {
		n = fg_pipe_placeholder(p, &name, &len);
		if (n > 0 && strchr("rud", *name) != NULL)
			return true;
	}
	return false;
}

/* fg_pipe_argv - see fg-transport.h */
char **fg_pipe_argv(const struct fg_route *route, const char *sender,
		    const char *const *rcpts, size_t n_rcpts,
		    const char *list, size_t *argc_r)
{
	char **argv = NULL;
	size_t n = 0;

	for (size_t i = 0; i < route->argc; i++) {
		const char *w = route->argv[i];
		size_t times = i > 0 && fg_pipe_per_recipient(w) ?
			n_rcpts : 1;

		argv = fg_xrealloc(argv, (n + times + 1) * sizeof(char *));
		for (size_t j = 0; j < times; j++)
			argv[n++] = fg_pipe_expand(w, sender, n_rcpts > 0 ?
						   rcpts[j] : NULL,
						   list != NULL ? list : "");
	}
	argv[n] = NULL;
	*argc_r = n;
	return argv;
}

/* fg_pipe_env - the command's environment: PATH, the user's HOME,
   LOGNAME, USER and SHELL, TZ and LANG when the caller has them */
static char **fg_pipe_env(size_t *n_r)
{
	char **env = fg_xcalloc(8, sizeof(char *));
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	size_t n = 0;
	const char *v;

	env[n++] = fg_xstrdup("PATH=/usr/bin:/bin");
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL) {
		env[n++] = fg_xasprintf("HOME=%s", pw.pw_dir);
		env[n++] = fg_xasprintf("LOGNAME=%s", pw.pw_name);
		env[n++] = fg_xasprintf("USER=%s", pw.pw_name);
		env[n++] = fg_xasprintf("SHELL=%s", pw.pw_shell);
	}
	if ((v = getenv("TZ")) != NULL)
		env[n++] = fg_xasprintf("TZ=%s", v);
	if ((v = getenv("LANG")) != NULL)
		env[n++] = fg_xasprintf("LANG=%s", v);
	*n_r = n;
	return env;
}

/* fg_pipe_lf - the message with LF line ends */
static char *fg_pipe_lf(const char *data, size_t size, size_t *size_r)
{
	char *out = fg_xmalloc(size + 1);
	size_t n = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			continue;
		out[n++] = data[i];
	}
	out[n] = '\0';
	*size_r = n;
	return out;
}

/* fg_pipe_high_fd - a descriptor moved to 3 or above, close-on-exec */
static int fg_pipe_high_fd(int fd)
{
	int high;

	if (fd >= 3) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return high;
}

/* fg_pipe_child - in the child: plumbing, then the command; async-
   signal-safe calls only */
static void fg_pipe_child(int in_fd, int out_fd, int err_fd, int max_fd,
			  char *const *argv, char *const *envp)
{
	struct sigaction sa;
	sigset_t none;
	int e;

	setsid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0 ||
	    dup2(err_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
#endif
		for (int fd = 4; fd <= max_fd; fd++)
			(void)close(fd);
	execve(argv[0], argv, envp);
fail:
	e = errno;
	(void)!write(3, &e, sizeof(e));
	_exit(127);
}

/* fg_pipe_clean_line - the output as one printable line */
static void fg_pipe_clean_line(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			   s[len - 1] == ' '))
		s[--len] = '\0';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' || c == '\t' || c == '\r')
			*s = ' ';
		else if (c < 0x20 || c == 0x7f)
			*s = '_';
	}
}

/* the state of one run */
struct fg_pipe_io {
	int in_fd, out_fd;
	const char *data;
	size_t size, pos;
	char output[FG_PIPE_OUTPUT_MAX + 1];
	size_t output_len;
};

/* fg_pipe_io_step - one poll() round: write, read; -1 on a poll error */
static int fg_pipe_io_step(struct fg_pipe_io *io, int wait_ms)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	int in_at = -1, out_at = -1;

	if (io->in_fd >= 0) {
		pfd[n].fd = io->in_fd;
		pfd[n].events = POLLOUT;
		in_at = (int)n++;
	}
	if (io->out_fd >= 0) {
		pfd[n].fd = io->out_fd;
		pfd[n].events = POLLIN;
		out_at = (int)n++;
	}
	if (poll(pfd, n, wait_ms) < 0)
		return errno == EINTR ? 0 : -1;
	if (in_at >= 0 && pfd[in_at].revents != 0) {
		ssize_t w = write(io->in_fd, io->data + io->pos,
				  io->size - io->pos);

		if (w > 0)
			io->pos += (size_t)w;
		/* EPIPE: it stopped reading; its exit status decides */
		if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
		    io->pos == io->size) {
			close(io->in_fd);
			io->in_fd = -1;
		}
	}
	if (out_at >= 0 && pfd[out_at].revents != 0) {
		char buf[4096];
		ssize_t r = read(io->out_fd, buf, sizeof(buf));

		if (r > 0) {
			size_t keep = FG_PIPE_OUTPUT_MAX - io->output_len;

			if (keep > (size_t)r)
				keep = (size_t)r;
			memcpy(io->output + io->output_len, buf, keep);
			io->output_len += keep;
			io->output[io->output_len] = '\0';
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(io->out_fd);
			io->out_fd = -1;
		}
	}
	return 0;
}

/* fg_pipe_outcome - the exit status as an fg_smtp_status and a line */
static int fg_pipe_outcome(const char *path, int wstatus, bool timed_out,
			   unsigned int timeout_ms, char *output,
			   const char **reply_r)
{
	const char *sep = *output != '\0' ? "; output: " : "";
	int code;

	fg_pipe_clean_line(output);
	if (timed_out) {
		*reply_r = fg_errorf("%s: time limit of %u.%03us exceeded, "
				     "killed%s%s", path, timeout_ms / 1000,
				     timeout_ms % 1000, sep, output);
		return FG_SMTP_TRANSIENT;
	}
	if (WIFSIGNALED(wstatus)) {
		*reply_r = fg_errorf("%s: killed by signal %d%s%s", path,
				     WTERMSIG(wstatus), sep, output);
		return FG_SMTP_TRANSIENT;
	}
	code = WEXITSTATUS(wstatus);
	*reply_r = fg_errorf("%s: exit status %d%s%s", path, code, sep,
			     output);
	if (code == 0)
		return FG_SMTP_OK;
	if (code == EX_TEMPFAIL || code == EX_OSERR)
		return FG_SMTP_TRANSIENT;
	return FG_SMTP_PERMANENT;
}

/* fg_pipe_address_ok - an envelope address handed to a command: no
   white space or control characters, and no leading '-' that a
   command could take for an option (Postfix's smtpd refuses those
   too, allow_min_user = no) */
static bool fg_pipe_address_ok(const char *a)
{
	return a != NULL && *a != '-' && fg_smtp_address_ok(a) &&
		strlen(a) <= 320;
}

/* fg_pipe_wait - the exit status, killing the session at the deadline:
   1 it ended, 0 it had to be killed, -1 it cannot be waited for (a
   caller that ignores SIGCHLD; errno set) */
static int fg_pipe_wait(pid_t pid, long long deadline, int *wstatus_r)
{
	for (;;) {
		pid_t r = waitpid(pid, wstatus_r, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (fg_pipe_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, wstatus_r, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		(void)poll(NULL, 0, 10);
	}
}

/* fg_pipe_run - see fg-transport.h */
int fg_pipe_run(const struct fg_pipe_request *req, const char **reply_r)
{
	const struct fg_route *route = req->route;
	unsigned int timeout_ms = route->timeout_ms != 0 ? route->timeout_ms :
		req->timeout_ms != 0 ? req->timeout_ms : 30000;
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 };
	int err_pipe[2] = { -1, -1 }, wstatus = 0, child_errno = 0, ret;
	struct fg_pipe_io io;
	sigset_t block, old;
	long long deadline, next_progress;
	char **argv, **envp;
	size_t argc, n_env;
	struct rlimit rl;
	int max_fd = FG_PIPE_CLOSE_MAX;
	bool finished = true;
	char *lf;
	pid_t pid;

	if (route->kind != FG_ROUTE_PIPE || route->argc == 0) {
		*reply_r = "not a pipe route";
		return FG_SMTP_PERMANENT;
	}
	if (req->sender == NULL ||
	    (*req->sender != '\0' && !fg_pipe_address_ok(req->sender))) {
		*reply_r = "invalid envelope sender";
		return FG_SMTP_PERMANENT;
	}
	if (req->n_rcpts == 0) {
		*reply_r = "no recipients";
		return FG_SMTP_PERMANENT;
	}
	for (size_t i = 0; i < req->n_rcpts; i++) {
		if (!fg_pipe_address_ok(req->rcpts[i])) {
			*reply_r = fg_errorf("invalid recipient '%s'",
					     req->rcpts[i] != NULL ?
					     req->rcpts[i] : "");
			return FG_SMTP_PERMANENT;
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < FG_PIPE_CLOSE_MAX)
		max_fd = (int)rl.rlim_cur;
	if (pipe(in_pipe) < 0 || pipe(out_pipe) < 0 || pipe(err_pipe) < 0) {
		*reply_r = fg_errorf("%s: pipe() failed: %s", route->argv[0],
				     strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (in_pipe[i] >= 0) close(in_pipe[i]);
			if (out_pipe[i] >= 0) close(out_pipe[i]);
			if (err_pipe[i] >= 0) close(err_pipe[i]);
		}
		return FG_SMTP_TRANSIENT;
	}
	for (int i = 0; i < 2; i++) {
		in_pipe[i] = fg_pipe_high_fd(in_pipe[i]);
		out_pipe[i] = fg_pipe_high_fd(out_pipe[i]);
		err_pipe[i] = fg_pipe_high_fd(err_pipe[i]);
	}
	argv = fg_pipe_argv(route, req->sender, req->rcpts, req->n_rcpts,
			    req->list, &argc);
	envp = fg_pipe_env(&n_env);
	lf = fg_pipe_lf(req->data, req->size, &io.size);

	/* a write to a command that stopped reading must not kill us */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	pid = fork();
	if (pid == 0)
		fg_pipe_child(in_pipe[0], out_pipe[1], err_pipe[1], max_fd,
			      argv, envp);
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		*reply_r = fg_errorf("%s: fork() failed: %s", route->argv[0],
				     strerror(errno));
		close(in_pipe[1]);
		close(out_pipe[0]);
		close(err_pipe[0]);
		ret = FG_SMTP_TRANSIENT;
		goto done;
	}
	/* EOF when execve() worked (close-on-exec), else its errno */
	while (read(err_pipe[0], &child_errno, sizeof(child_errno)) < 0 &&
	       errno == EINTR)
		;
	close(err_pipe[0]);
	if (child_errno != 0) {
		close(in_pipe[1]);
		close(out_pipe[0]);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		*reply_r = fg_errorf("%s: cannot run: %s", route->argv[0],
				     strerror(child_errno));
		ret = FG_SMTP_TRANSIENT;
		goto done;
	}

	io.in_fd = in_pipe[1];
	io.out_fd = out_pipe[0];
	io.data = lf;
	io.pos = 0;
	io.output[0] = '\0';
	io.output_len = 0;
	fcntl(io.in_fd, F_SETFL, fcntl(io.in_fd, F_GETFL) | O_NONBLOCK);
	fcntl(io.out_fd, F_SETFL, fcntl(io.out_fd, F_GETFL) | O_NONBLOCK);
	if (io.size == 0) {
		close(io.in_fd);
		io.in_fd = -1;
	}
	deadline = fg_pipe_now_ms() + timeout_ms;
	next_progress = fg_pipe_now_ms() + 1000;
	while (io.in_fd >= 0 || io.out_fd >= 0) {
		long long now = fg_pipe_now_ms();

		if (now >= deadline) {
			finished = false;
			break;
		}
		if (now >= next_progress) {
			if (req->progress != NULL)
				(void)req->progress(req->progress_context);
			next_progress = now + 1000;
		}
		if (fg_pipe_io_step(&io, (int)(deadline - now < 1000 ?
					       deadline - now : 1000)) < 0)
			break;
	}
	if (io.in_fd >= 0)
		close(io.in_fd);
	if (io.out_fd >= 0)
		close(io.out_fd);
	if (finished) {
		int waited = fg_pipe_wait(pid, deadline, &wstatus);

		if (waited < 0) {
			*reply_r = fg_errorf("%s: waitpid() failed: %s",
					     route->argv[0], strerror(errno));
			ret = FG_SMTP_TRANSIENT;
			goto done;
		}
		finished = waited > 0;
	} else {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	ret = fg_pipe_outcome(route->argv[0], wstatus, !finished, timeout_ms,
			      io.output, reply_r);
done:
	{
		/* take a SIGPIPE our writes raised before unblocking */
		struct timespec zero = { 0, 0 };
		sigset_t pending;

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) &&
		    !sigismember(&old, SIGPIPE))
			(void)sigtimedwait(&block, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	fg_strv_free(argv, argc);
	fg_strv_free(envp, n_env);
	free(lf);
	return ret;
}
