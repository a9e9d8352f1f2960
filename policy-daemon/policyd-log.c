/*
 * NAME
 *	policyd-log 3 - the log of forumgate-policyd
 * DESCRIPTION
 *	Messages go to syslog (facility LOG_MAIL, next to Postfix's own
 *	lines), to stderr, or both. Like Postfix, informational lines have
 *	no prefix and the others say "warning:" or "fatal:"; on stderr
 *	each line starts with "forumgate-policyd[PID]: " as syslog would.
 *
 *	Values that come from clients pass through policyd_printable()
 *	first, so a hostile request cannot forge log lines.
 *
 *	Every list decision is logged, so the log must cost little
 *	beside the answer. Once the event loop runs (policyd_log_base),
 *	the informational lines for stderr collect in a buffer that is
 *	written when it holds LOG_FLUSH_SIZE bytes, or LOG_FLUSH_MS after
 *	its first line, whichever comes first (as nginx's buffered access
 *	log does): one write(2), and one wake-up of whatever reads the
 *	log, for many decisions instead of one each. Warnings, fatal
 *	errors and a full buffer are written at once, after what waited
 *	before them, so the order is kept; so is the rest at exit.
 */
#include "forumgate-config.h"
#include "policyd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static const char *log_name = "forumgate-policyd";
static int log_dest = POLICYD_LOG_STDERR;
static bool log_opened;
/* "forumgate-policyd[PID]: ", the start of each line on stderr */
static char log_head[64];
static size_t log_head_len;

/* Lines for stderr not written yet; log_flush_event writes them. */
#define LOG_FLUSH_SIZE	16384
#define LOG_FLUSH_MS	100
static char log_buf[32768];
static size_t log_len;
static struct event *log_flush_event;

void policyd_log_init(const char *name, int dest)
{
	log_name = name;
	policyd_log_dest(dest);
}

/* log_write - write all of buf to stderr (lines are lost only when
   stderr is broken) */
static void log_write(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void policyd_log_flush(void)
{
	int saved_errno = errno;

	log_write(log_buf, log_len);
	log_len = 0;
	errno = saved_errno;
}

/* log_flush_cb - the end of a loop iteration's callbacks */
static void log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	policyd_log_flush();
}

void policyd_log_base(struct event_base *base)
{
	if (log_flush_event != NULL) {
		policyd_log_flush();
		event_free(log_flush_event);
		log_flush_event = NULL;
	}
	if (base == NULL)
		return;
	log_flush_event = evtimer_new(base, log_flush_cb, NULL);
	if (log_flush_event == NULL)
		policyd_fatal(POLICYD_EX_OSERR, "event_new failed");
}

void policyd_log_dest(int dest)
{
	int n;

	policyd_log_flush();
	/* again after daemonize() forked */
	n = snprintf(log_head, sizeof(log_head), "%s[%ld]: ", log_name,
		     (long)getpid());
	log_head_len = n < 0 ? 0 : (size_t)n < sizeof(log_head) ?
		(size_t)n : sizeof(log_head) - 1;
	log_dest = dest;
	if ((dest & POLICYD_LOG_SYSLOG) != 0 && !log_opened) {
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_opened = true;
	}
}

/* log_text - one line to every destination */
static void log_text(int priority, const char *prefix, const char *text,
		     size_t len)
{
	size_t prefix_len = strlen(prefix), need;
	int saved_errno = errno;

	if (len > POLICYD_LINE_MAX)
		len = POLICYD_LINE_MAX;		/* cut */
	if ((log_dest & POLICYD_LOG_SYSLOG) != 0)
		syslog(priority, "%s%.*s", prefix, (int)len, text);
	if ((log_dest & POLICYD_LOG_STDERR) != 0) {
		need = log_head_len + prefix_len + len + 1;
		if (sizeof(log_buf) - log_len < need)
			policyd_log_flush();
		memcpy(log_buf + log_len, log_head, log_head_len);
		memcpy(log_buf + log_len + log_head_len, prefix, prefix_len);
		memcpy(log_buf + log_len + log_head_len + prefix_len, text, len);
		log_len += need;
		log_buf[log_len - 1] = '\n';
		if (priority != LOG_INFO || log_flush_event == NULL ||
		    log_len >= LOG_FLUSH_SIZE) {
			policyd_log_flush();
		} else if (log_len == need) {
			struct timeval tv = { 0, LOG_FLUSH_MS * 1000 };
			evtimer_add(log_flush_event, &tv);
		}
	}
	errno = saved_errno;
}

/* log_vmsg - format one line for every destination */
static void log_vmsg(int priority, const char *prefix, const char *fmt,
		     va_list ap)
{
	char line[POLICYD_LINE_MAX + 1];
	int saved_errno = errno;
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	errno = saved_errno;
	log_text(priority, prefix, line, n < 0 ? 0 : (size_t)n);
}

/* log_printable - a byte from a client as the log shows it */
static inline char log_printable(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c >= 0x20 && c < 0x7f ? ch : '?';
}

/*
 * The decision lines are built with the appends below, not printf:
 * a line is logged for every list decision, on the path of the
 * answer, and glibc's vsnprintf with a dozen arguments costs about as
 * much as the rest of the decision.
 */
void policyd_line_add(struct policyd_line *line, const char *s)
{
	size_t len = strlen(s), room = POLICYD_LINE_MAX - line->len;

	if (len > room)
		len = room;
	memcpy(line->buf + line->len, s, len);
	line->len += len;
}

void policyd_line_add_value(struct policyd_line *line,
			    const struct fg_policy_value *v, size_t max)
{
	size_t n = v->len < max ? v->len : max;

	if (n > POLICYD_LINE_MAX - line->len)
		n = POLICYD_LINE_MAX - line->len;
	for (size_t i = 0; i < n; i++)
		line->buf[line->len + i] = log_printable(v->data[i]);
	line->len += n;
	if (n < v->len)
		policyd_line_add(line, "...");
}

void policyd_line_info(const struct policyd_line *line)
{
	log_text(LOG_INFO, "", line->buf, line->len);
}

void policyd_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void policyd_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void policyd_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(status);
}

const char *policyd_printable(char *buf, size_t size, const char *s)
{
	size_t i, max = size - 4;

	for (i = 0; s[i] != '\0' && i < max; i++)
		buf[i] = log_printable(s[i]);
	if (s[i] != '\0')
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
	return buf;
}

/* log_libevent - libevent's warnings and errors */
static void log_libevent(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		policyd_warn("libevent: %s", msg);
}

/* log_libevent_fatal - libevent found an internal inconsistency */
static void log_libevent_fatal(int err)
{
	policyd_fatal(POLICYD_EX_SOFTWARE, "libevent: fatal error %d", err);
}

void policyd_log_libevent(void)
{
	event_set_log_callback(log_libevent);
	event_set_fatal_callback(log_libevent_fatal);
}
