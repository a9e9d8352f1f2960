/*
 * NAME
 *	bridge-log 3 - forumgated's log
 * DESCRIPTION
 *	A daemon logs to syslog with facility mail, beside Postfix and
 *	Dovecot, so one grep of the mail log follows a message through
 *	all three. In the foreground (-f) lines go to stderr with a time
 *	stamp instead. Levels as in Postfix: info, warning (recoverable,
 *	the daemon goes on), error, fatal (the daemon exits).
 *
 *	While a daemon is starting, a fatal error is also written to the
 *	startup pipe, so the command that started it prints the reason
 *	and exits non-zero.
 */
#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool msg_foreground = true;
static int msg_fd = -1;

/* msg_open - choose stderr or syslog */
void msg_open(bool foreground)
{
	msg_foreground = foreground;
	if (!foreground)
		openlog("forumgated", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* msg_startup_fd - set (or with -1, clear) the startup pipe */
void msg_startup_fd(int fd)
{
	msg_fd = fd;
}

/* msg_vlog - one line at one level */
static void msg_vlog(int priority, const char *level, const char *fmt,
		     va_list ap)
{
	char line[2048];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* one event, one line: no line breaks from forum or mail text */
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	len = strlen(line);
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	if (msg_foreground) {
		char stamp[32];
		struct tm tm;
		time_t now = time(NULL);

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s forumgated[%ld]: %s%s%s\n", stamp,
			(long)getpid(), level, *level != '\0' ? ": " : "",
			line);
	} else {
		syslog(priority, "%s%s%s", level, *level != '\0' ? ": " : "",
		       line);
	}
}

/* msg_info - what happened, for an admin following a message */
void msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

/* msg_warn - something failed and will be retried or skipped */
void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_WARNING, "warning", fmt, ap);
	va_end(ap);
}

/* msg_vwarn - msg_warn with a va_list (libmicrohttpd's errors) */
void msg_vwarn(const char *fmt, va_list ap)
{
	msg_vlog(LOG_WARNING, "warning", fmt, ap);
}

/* msg_error - something failed that needs the admin */
void msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_ERR, "error", fmt, ap);
	va_end(ap);
}

/* msg_fatal - log and exit; also tell a waiting starter why */
void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (msg_fd >= 0) {
		char line[1024];
		va_list ap2;
		int n;

		va_copy(ap2, ap);
		n = vsnprintf(line, sizeof(line), fmt, ap2);
		va_end(ap2);
		if (n > 0) {
			ssize_t w = write(msg_fd, line,
					  strnlen(line, sizeof(line)));
			(void)w;
		}
	}
	msg_vlog(LOG_CRIT, "fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
