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

void policyd_log_init(const char *name, int dest)
{
	log_name = name;
	policyd_log_dest(dest);
}

void policyd_log_dest(int dest)
{
	log_dest = dest;
	if ((dest & POLICYD_LOG_SYSLOG) != 0 && !log_opened) {
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_opened = true;
	}
}

/* log_vmsg - one line to every destination */
static void log_vmsg(int priority, const char *prefix, const char *fmt,
		     va_list ap)
{
	char line[2048];
	int saved_errno = errno;

	vsnprintf(line, sizeof(line), fmt, ap);
	if ((log_dest & POLICYD_LOG_SYSLOG) != 0)
		syslog(priority, "%s%s", prefix, line);
	if ((log_dest & POLICYD_LOG_STDERR) != 0)
		fprintf(stderr, "%s[%ld]: %s%s\n", log_name, (long)getpid(),
			prefix, line);
	errno = saved_errno;
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

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
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
