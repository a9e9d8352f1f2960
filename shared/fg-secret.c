/*
 * NAME
 *	fg-secret 3 - secrets kept out of logs, and read from their own files
 * DESCRIPTION
 *	URLs with credentials: libcurl takes "smtp://user:password@host"
 *	and "https://user:password@forum" as they are, so the settings
 *	that carry them are printed through fg_url_redact(). Its input is
 *	any text (one URL, the comma-separated routes of smtp_relay, an
 *	error message that quotes a URL): every URL keeps its scheme, host,
 *	port and path, and loses what stands before the last '@' of its
 *	authority. A word without a scheme is a URL with userinfo when it
 *	reads "user:password@host", so "alice@example.org" and
 *	"sender=a@b" stay as they are. (libcurl's URL API parses one URL
 *	at a time and rewrites it; a display of any text needs neither.)
 *
 *	Secret files: the value of a *_file setting is read once when the
 *	configuration is loaded, so the main configuration file may be
 *	world-readable and only the secret files restricted.
 */
#include "fg-secret.h"
#include "fg-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* a secret file is a key or a password; more is a mistake */
#define FG_SECRET_FILE_MAX 4096

/* fg_url_word_end - where a word of text ends */
static const char *fg_url_word_end(const char *p)
{
	while (*p != '\0' && strchr(" \t\r\n,", *p) == NULL)
		p++;
	return p;
}

/* fg_url_scheme_sep - the first "://" in [p, end), or NULL */
static const char *fg_url_scheme_sep(const char *p, const char *end)
{
	for (; end - p >= 3; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/')
			return p;
	}
	return NULL;
}

/* fg_url_authority_end - where the authority starting at p ends */
static const char *fg_url_authority_end(const char *p, const char *end)
{
	while (p < end && strchr("/?#", *p) == NULL)
		p++;
	return p;
}

/* fg_url_redact_word - append one word, its URLs without userinfo */
static void fg_url_redact_word(struct fg_buf *out, const char *p,
			       const char *end)
{
	const char *sep, *auth, *auth_end, *at, *colon;

	while ((sep = fg_url_scheme_sep(p, end)) != NULL) {
		auth = sep + 3;
		auth_end = fg_url_authority_end(auth, end);
		at = NULL;
		for (const char *q = auth; q < auth_end; q++) {
			if (*q == '@')
				at = q;
		}
		fg_buf_append(out, p, (size_t)(auth - p));
		p = at != NULL ? at + 1 : auth;
		fg_buf_append(out, p, (size_t)(auth_end - p));
		p = auth_end;
	}
	if (p == end)
		return;
	/* no scheme left: "user:password@host..." is a URL too */
	auth_end = fg_url_authority_end(p, end);
	at = memchr(p, '@', (size_t)(auth_end - p));
	colon = memchr(p, ':', (size_t)(auth_end - p));
	if (at != NULL && colon != NULL && colon < at &&
	    memchr(p, '=', (size_t)(colon - p)) == NULL) {
		for (const char *q = at; q < auth_end; q++) {
			if (*q == '@')
				at = q;
		}
		p = at + 1;
	}
	fg_buf_append(out, p, (size_t)(end - p));
}

/* fg_url_redact - see fg-secret.h */
char *fg_url_redact(const char *text)
{
	struct fg_buf out = { 0 };
	const char *p = text != NULL ? text : "", *end;

	while (*p != '\0') {
		end = fg_url_word_end(p);
		fg_url_redact_word(&out, p, end);
		p = end;
		while (*p != '\0' && strchr(" \t\r\n,", *p) != NULL)
			fg_buf_putc(&out, *p++);
	}
	return fg_buf_steal(&out);
}

/* fg_secret_file_read - see fg-secret.h */
int fg_secret_file_read(const char *path, char **secret_r,
			const char **error_r)
{
	char buf[FG_SECRET_FILE_MAX + 1];
	size_t len = 0;
	ssize_t n;
	int fd;

	*secret_r = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*error_r = fg_errorf("open(%s) failed: %s", path,
				     strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) &&
	       (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = fg_errorf("read(%s) failed: %s", path,
					     strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > FG_SECRET_FILE_MAX) {
		*error_r = fg_errorf("%s: longer than %d bytes", path,
				     FG_SECRET_FILE_MAX);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0) {
		*error_r = fg_errorf("%s is empty", path);
		return -1;
	}
	if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL ||
	    memchr(buf, '\0', len) != NULL) {
		*error_r = fg_errorf("%s: more than one line", path);
		return -1;
	}
	*secret_r = fg_xstrndup(buf, len);
	return 0;
}

/* fg_secret_free - see fg-secret.h */
void fg_secret_free(char **secret)
{
	if (*secret == NULL)
		return;
	explicit_bzero(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}
