/*
 * NAME
 *	fg-smtp-pipe 3 - many one-recipient SMTP transactions, pipelined
 * DESCRIPTION
 *	See fg-smtp-pipe.h. Written here rather than with libcurl, whose
 *	SMTP sends each command alone and waits for its answer (no RFC
 *	2920 pipelining): a fan-out to 10,000 subscribers makes 10,000
 *	transactions, and their round trips are most of its time.
 */
#include "fg-smtp-pipe.h"
#include "fg-smtp.h"
#include "fg-common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PIPE_LINE_MAX 512
#define PIPE_LINES_MAX 100
#define PIPE_IN_MAX 4096

struct fg_smtp_pipe {
	char *host, *port, *helo;
	unsigned int timeout_ms;
	int fd;				/* -1: not connected */
	bool pipelining;
	char in[PIPE_IN_MAX];		/* what the relay sent, unread */
	size_t in_len;
	bool written;			/* nothing read since the last write */
	struct fg_buf out;		/* what goes out next */
	char reply[PIPE_LINE_MAX];	/* the deciding answer */
	long long deadline_ms;		/* of the call in progress */
	fg_smtp_pipe_data_hook *data_hook;	/* NULL: none */
	void *data_hook_context;
};

/* pipe_now_ms - monotonic milliseconds */
static long long pipe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pipe_wait - poll fd for events until the call's deadline; 1 ready,
   0 timed out, -1 error */
static int pipe_wait(struct fg_smtp_pipe *p, short events)
{
	struct pollfd pfd = { p->fd, events, 0 };

	for (;;) {
		long long left = p->deadline_ms - pipe_now_ms();
		int ret;

		if (left <= 0)
			return 0;
		ret = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (ret > 0)
			return 1;
		if (ret == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* pipe_fail - close the connection; the reason is the reply */
static int pipe_fail(struct fg_smtp_pipe *p, const char *why)
{
	snprintf(p->reply, sizeof(p->reply), "SMTP to %.100s:%.16s: %.300s",
		 p->host, p->port, why);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->in_len = 0;
	p->out.len = 0;
	return FG_SMTP_TRANSIENT;
}

/* pipe_flush - write everything in p->out; -1 failed (closed) */
static int pipe_flush(struct fg_smtp_pipe *p)
{
	size_t done = 0;

	while (done < p->out.len) {
		ssize_t n = send(p->fd, p->out.s + done, p->out.len - done,
				 MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = pipe_wait(p, POLLOUT);
			if (w > 0)
				continue;
			pipe_fail(p, w == 0 ? "timed out sending" :
				  strerror(errno));
			return -1;
		}
		pipe_fail(p, n == 0 ? "connection closed" : strerror(errno));
		return -1;
	}
	p->out.len = 0;
	p->written = true;
	return 0;
}

/* pipe_read_line - one reply line into line (cut to its size); -1
   failed (closed) */
static int pipe_read_line(struct fg_smtp_pipe *p, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(p->in, '\n', p->in_len);
		ssize_t n;

		if (nl != NULL || p->in_len == sizeof(p->in)) {
			size_t len = nl != NULL ? (size_t)(nl - p->in) :
				p->in_len;
			size_t used = nl != NULL ? len + 1 : len;
			size_t keep = len < size - 1 ? len : size - 1;

			while (keep > 0 && p->in[keep - 1] == '\r')
				keep--;
			for (size_t i = 0; i < keep; i++) {
				unsigned char c = (unsigned char)p->in[i];
				line[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			}
			line[keep] = '\0';
			memmove(p->in, p->in + used, p->in_len - used);
			p->in_len -= used;
			return 0;
		}
		/* just written: the answer is not there yet, and a recv()
		   would only say EAGAIN */
		if (p->written) {
			int w = pipe_wait(p, POLLIN);

			if (w <= 0) {
				pipe_fail(p, w == 0 ? "timed out waiting for "
					  "the relay" : strerror(errno));
				return -1;
			}
			p->written = false;
		}
		n = recv(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len,
			 0);
		if (n > 0) {
			p->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = pipe_wait(p, POLLIN);
			if (w > 0)
				continue;
			pipe_fail(p, w == 0 ? "timed out waiting for the "
				  "relay" : strerror(errno));
			return -1;
		}
		pipe_fail(p, n == 0 ? "connection closed by the relay" :
			  strerror(errno));
		return -1;
	}
}

/* pipe_reply - read one reply (all its lines): its code, the last line
   in p->reply, and with ehlo_r the EHLO keyword PIPELINING; -1 failed */
static int pipe_reply(struct fg_smtp_pipe *p, bool *pipelining_r)
{
	char line[PIPE_LINE_MAX];

	for (int i = 0; i < PIPE_LINES_MAX; i++) {
		if (pipe_read_line(p, line, sizeof(line)) < 0)
			return -1;
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (line[3] != '\0' && line[3] != ' ' &&
				      line[3] != '-')) {
			pipe_fail(p, "not an SMTP reply");
			return -1;
		}
		if (pipelining_r != NULL && strncasecmp(line + 4, "PIPELINING",
							10) == 0 &&
		    (line[14] == '\0' || line[14] == ' '))
			*pipelining_r = true;
		if (line[3] != '-') {
			memcpy(p->reply, line, sizeof(p->reply));
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 +
				(line[2] - '0');
		}
	}
	pipe_fail(p, "a reply of too many lines");
	return -1;
}

/* pipe_connect - connect, read the greeting, EHLO; 0 or a status */
static int pipe_connect(struct fg_smtp_pipe *p)
{
	struct addrinfo hints, *res, *ai;
	int code, err, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(p->host, p->port, &hints, &res);
	if (err != 0)
		return pipe_fail(p, gai_strerror(err));
	for (ai = res; ai != NULL && p->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
				SOCK_NONBLOCK, ai->ai_protocol);

		if (fd < 0)
			continue;
		p->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && pipe_wait(p, POLLOUT) > 0) {
			socklen_t len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
				       &len) == 0 && err == 0)
				break;
		}
		close(fd);
		p->fd = -1;
	}
	freeaddrinfo(res);
	if (p->fd < 0)
		return pipe_fail(p, "cannot connect");
	p->written = false;
	/* every write is a whole group of commands or a whole message
	   followed by a wait for the answer: Nagle's algorithm could only
	   hold a message's last segment back until the relay's delayed
	   acknowledgement (40 ms on Linux) */
	(void)setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	code = pipe_reply(p, NULL);
	if (code < 0)
		return FG_SMTP_TRANSIENT;
	if (code != 220) {
		pipe_fail(p, "refused at the greeting");
		return FG_SMTP_TRANSIENT;
	}
	p->pipelining = false;
	fg_buf_printf(&p->out, "EHLO %s\r\n", p->helo);
	if (pipe_flush(p) < 0)
		return FG_SMTP_TRANSIENT;
	code = pipe_reply(p, &p->pipelining);
	if (code < 0)
		return FG_SMTP_TRANSIENT;
	if (code != 250) {
		/* EHLO refused: the relay answers nothing we can use */
		char why[PIPE_LINE_MAX / 2];

		snprintf(why, sizeof(why), "EHLO refused: %.200s", p->reply);
		return pipe_fail(p, why);
	}
	return 0;
}

/* pipe_add_data - the message, dot-stuffed, CR LF, and the final dot;
   copied a line at a time (a fan-out sends the same copy thousands of
   times) */
static void pipe_add_data(struct fg_smtp_pipe *p, const char *data,
			  size_t size)
{
	const char *line = data, *end = data + size;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl != NULL ? (size_t)(nl - line) :
			(size_t)(end - line);

		if (*line == '.')
			fg_buf_putc(&p->out, '.');
		if (len > 0 && line[len - 1] == '\r')
			len--;
		fg_buf_append(&p->out, line, len);
		fg_buf_append(&p->out, "\r\n", 2);
		line = nl != NULL ? nl + 1 : end;
	}
	fg_buf_append(&p->out, ".\r\n", 3);
}

/* pipe_status - the class of a reply code */
static int pipe_status(int code)
{
	return code >= 500 ? FG_SMTP_PERMANENT : FG_SMTP_TRANSIENT;
}

/* pipe_envelope - MAIL, RCPT, DATA, grouped when the relay pipelines;
   354 when the message may follow, else the deciding reply's status
   (the transaction was given up: RSET when the connection is fine) */
static int pipe_envelope(struct fg_smtp_pipe *p, const char *sender,
			 const char *rcpt)
{
	const char *cmds[3];
	char *mail = fg_xasprintf("MAIL FROM:<%s>\r\n", sender);
	char *to = fg_xasprintf("RCPT TO:<%s>\r\n", rcpt);
	int codes[3] = { 0, 0, 0 }, n = p->pipelining ? 3 : 1, ret = 354;
	char texts[3][PIPE_LINE_MAX];

	cmds[0] = mail;
	cmds[1] = to;
	cmds[2] = "DATA\r\n";
	for (int sent = 0, got = 0; got < 3;) {
		while (sent < 3 && sent - got < n)
			fg_buf_puts(&p->out, cmds[sent++]);
		if (p->out.len > 0 && pipe_flush(p) < 0) {
			ret = FG_SMTP_TRANSIENT;
			break;
		}
		codes[got] = pipe_reply(p, NULL);
		if (codes[got] < 0) {
			ret = FG_SMTP_TRANSIENT;
			break;
		}
		memcpy(texts[got], p->reply, sizeof(texts[got]));
		got++;
		if (!p->pipelining && codes[got - 1] / 100 != (got < 3 ? 2 : 3))
			break;
	}
	free(mail);
	free(to);
	if (ret != 354)
		return ret;
	/* the first answer that is not what it should be decides */
	for (int i = 0; i < 3 && ret == 354; i++) {
		if (codes[i] / 100 != (i < 2 ? 2 : 3)) {
			ret = pipe_status(codes[i]);
			memcpy(p->reply, texts[i], sizeof(p->reply));
		}
	}
	if (ret != 354 && codes[2] == 354) {
		/* a relay that took DATA after refusing MAIL or RCPT (RFC
		   2920 says it must not): end the data at once, nothing to
		   deliver, and take its answer */
		memcpy(texts[2], p->reply, sizeof(texts[2]));
		fg_buf_puts(&p->out, ".\r\n");
		if (pipe_flush(p) < 0 || pipe_reply(p, NULL) < 0)
			return FG_SMTP_TRANSIENT;
		memcpy(p->reply, texts[2], sizeof(p->reply));
	}
	return ret;
}

/* pipe_rset - end a transaction the relay refused part of */
static int pipe_rset(struct fg_smtp_pipe *p)
{
	char keep[PIPE_LINE_MAX];
	int code;

	memcpy(keep, p->reply, sizeof(keep));
	fg_buf_puts(&p->out, "RSET\r\n");
	if (pipe_flush(p) < 0)
		return -1;
	code = pipe_reply(p, NULL);
	if (code < 0)
		return -1;
	memcpy(p->reply, keep, sizeof(p->reply));
	if (code != 250)
		pipe_fail(p, "RSET refused");
	return 0;
}

bool fg_smtp_pipe_usable(const char *relay)
{
	const char *rest = relay, *end;

	if (relay == NULL || *relay == '\0' || strpbrk(relay, " \t\r\n"))
		return false;
	if (strstr(relay, "://") != NULL) {
		if (strncasecmp(relay, "smtp://", 7) != 0)
			return false;
		rest = relay + 7;
	}
	end = rest + strcspn(rest, "/?#");
	/* user information: AUTH, which this client does not speak */
	return memchr(rest, '@', (size_t)(end - rest)) == NULL && end > rest;
}

int fg_smtp_pipe_init(const char *relay, const char *helo_name,
		      unsigned int timeout_ms, struct fg_smtp_pipe **pipe_r,
		      const char **error_r)
{
	struct fg_smtp_pipe *p;
	const char *rest, *end, *colon;
	char host_name[256];

	*pipe_r = NULL;
	if (!fg_smtp_pipe_usable(relay)) {
		*error_r = "not a plain smtp:// relay without credentials";
		return -1;
	}
	rest = strncasecmp(relay, "smtp://", 7) == 0 ? relay + 7 : relay;
	end = rest + strcspn(rest, "/?#");
	p = fg_xcalloc(1, sizeof(*p));
	p->fd = -1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	if (*rest == '[') {
		const char *close_br = memchr(rest, ']', (size_t)(end - rest));

		if (close_br == NULL) {
			free(p);
			*error_r = "smtp_relay: an IPv6 address without ']'";
			return -1;
		}
		p->host = fg_xstrndup(rest + 1, (size_t)(close_br - rest - 1));
		colon = close_br + 1 < end && close_br[1] == ':' ?
			close_br + 1 : NULL;
	} else {
		colon = memchr(rest, ':', (size_t)(end - rest));
		p->host = fg_xstrndup(rest, (size_t)((colon != NULL ? colon :
							end) - rest));
	}
	p->port = colon != NULL && colon + 1 < end ?
		fg_xstrndup(colon + 1, (size_t)(end - colon - 1)) :
		fg_xstrdup("25");
	if (*end == '/' && end[1] != '\0')
		p->helo = fg_xstrdup(end + 1);
	else if (helo_name != NULL && *helo_name != '\0')
		p->helo = fg_xstrdup(helo_name);
	else {
		if (gethostname(host_name, sizeof(host_name)) < 0 ||
		    host_name[0] == '\0')
			snprintf(host_name, sizeof(host_name), "localhost");
		host_name[sizeof(host_name) - 1] = '\0';
		p->helo = fg_xstrdup(host_name);
	}
	*pipe_r = p;
	return 0;
}

void fg_smtp_pipe_set_data_hook(struct fg_smtp_pipe *p,
				fg_smtp_pipe_data_hook *hook, void *context)
{
	p->data_hook = hook;
	p->data_hook_context = context;
}

bool fg_smtp_pipe_pipelining(const struct fg_smtp_pipe *p)
{
	return p->fd >= 0 && p->pipelining;
}

int fg_smtp_pipe_send(struct fg_smtp_pipe *p, const char *sender,
		      const char *rcpt, const char *data, size_t size,
		      const char **reply_r)
{
	int ret, code;

	*reply_r = p->reply;
	p->deadline_ms = pipe_now_ms() + p->timeout_ms;
	if (sender == NULL || !fg_smtp_address_ok(sender)) {
		snprintf(p->reply, sizeof(p->reply), "invalid envelope sender");
		return FG_SMTP_PERMANENT;
	}
	if (rcpt == NULL || *rcpt == '\0' || !fg_smtp_address_ok(rcpt)) {
		snprintf(p->reply, sizeof(p->reply), "invalid recipient");
		return FG_SMTP_PERMANENT;
	}
	if (p->fd < 0 && (ret = pipe_connect(p)) != 0)
		return ret;
	ret = pipe_envelope(p, sender, rcpt);
	if (ret != 354) {
		/* refused before the message: the connection goes on */
		if (p->fd >= 0 && pipe_rset(p) < 0)
			return FG_SMTP_TRANSIENT;
		return ret;
	}
	if (p->data_hook != NULL) {
		const char *why = "given up";

		if (p->data_hook(p->data_hook_context, &why) < 0) {
			/* no final dot: the relay drops the transaction */
			pipe_fail(p, why);
			snprintf(p->reply, sizeof(p->reply), "not sent: %.400s",
				 why);
			return FG_SMTP_ABORTED;
		}
	}
	pipe_add_data(p, data, size);
	if (pipe_flush(p) < 0)
		return FG_SMTP_TRANSIENT;
	code = pipe_reply(p, NULL);
	if (code < 0)
		return FG_SMTP_TRANSIENT;
	return code / 100 == 2 ? FG_SMTP_OK : pipe_status(code);
}

void fg_smtp_pipe_deinit(struct fg_smtp_pipe **_p)
{
	struct fg_smtp_pipe *p = *_p;

	if (p == NULL)
		return;
	*_p = NULL;
	if (p->fd >= 0) {
		/* a short goodbye: the answer is not waited for long */
		p->deadline_ms = pipe_now_ms() + 1000;
		fg_buf_puts(&p->out, "QUIT\r\n");
		if (pipe_flush(p) == 0)
			(void)pipe_reply(p, NULL);
		if (p->fd >= 0)
			close(p->fd);
	}
	fg_buf_free(&p->out);
	free(p->host);
	free(p->port);
	free(p->helo);
	free(p);
}
