/*
 * NAME
 *	fg-smtp 3 - submit one message to an SMTP relay
 * DESCRIPTION
 *	libcurl hands the relay's answers to the header callback, line
 *	by line. The last answer that is not the 221 of QUIT is the one
 *	that decided the submission: it is the text the caller logs or
 *	stores with a dead letter, and its code gives the class when
 *	libcurl reports a failure.
 * SEE ALSO
 *	fg-smtp.h for the result classes.
 */
#include "forumgate-config.h"
#include "fg-smtp.h"
#include "fg-common.h"
#include "fg-secret.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>

#define FG_SMTP_REPLY_MAX 512

struct fg_smtp {
	CURL *curl;
	char *url;
	char *relay;		/* as configured less userinfo, for messages */
	unsigned int timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
	int (*progress)(void *context);
	void *progress_context;

	/* the submission in progress */
	const char *data;
	size_t size, pos;
	char reply[FG_SMTP_REPLY_MAX];
	int reply_code;
};

/* fg_smtp_xferinfo - curl's progress callback: the caller's function */
static int fg_smtp_xferinfo(void *context, curl_off_t dltotal,
			    curl_off_t dlnow, curl_off_t ultotal,
			    curl_off_t ulnow)
{
	struct fg_smtp *smtp = context;

	(void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
	return smtp->progress != NULL &&
		smtp->progress(smtp->progress_context) != 0;
}

/* fg_smtp_header - keep the relay's latest deciding answer line */
static size_t fg_smtp_header(char *line, size_t size, size_t nmemb,
			     void *context)
{
	struct fg_smtp *smtp = context;
	size_t n = size * nmemb, len = n;
	int code;

	if (n < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return n;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code == 221)
		return n;	/* QUIT's answer decides nothing */
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= sizeof(smtp->reply))
		len = sizeof(smtp->reply) - 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		smtp->reply[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	smtp->reply[len] = '\0';
	smtp->reply_code = code;
	return n;
}

/* fg_smtp_read - hand libcurl the next piece of the message */
static size_t fg_smtp_read(char *buf, size_t size, size_t nmemb,
			   void *context)
{
	struct fg_smtp *smtp = context;
	size_t n = size * nmemb;

	if (n > smtp->size - smtp->pos)
		n = smtp->size - smtp->pos;
	memcpy(buf, smtp->data + smtp->pos, n);
	smtp->pos += n;
	return n;
}

/* fg_smtp_url - the relay as a URL, with the EHLO name as its path */
static char *fg_smtp_url(const char *relay, const char *helo)
{
	const char *scheme = "smtp://", *rest = relay, *sep;
	char host[HOST_NAME_MAX + 1];

	sep = strstr(relay, "://");
	if (sep != NULL) {
		scheme = "";
		rest = sep + 3;
	}
	/* curl takes the URL path as the EHLO name; keep one given there */
	if (strchr(rest, '/') != NULL)
		return fg_xasprintf("%s%s", scheme, relay);
	if (helo == NULL || *helo == '\0') {
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		helo = host;
	}
	return fg_xasprintf("%s%s/%s", scheme, relay, helo);
}

/* fg_smtp_address_ok - see fg-smtp.h */
bool fg_smtp_address_ok(const char *address)
{
	for (const char *p = address; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* fg_smtp_init - a handle that reuses its connection */
int fg_smtp_init(const struct fg_smtp_settings *set, struct fg_smtp **smtp_r,
		 const char **error_r)
{
	struct fg_smtp *smtp;

	*smtp_r = NULL;
	if (set->relay == NULL || *set->relay == '\0' ||
	    strpbrk(set->relay, " \t\r\n") != NULL) {
		*error_r = "smtp_relay is not set or contains white space";
		return -1;
	}
	if (strstr(set->relay, "://") != NULL &&
	    strncasecmp(set->relay, "smtp://", 7) != 0 &&
	    strncasecmp(set->relay, "smtps://", 8) != 0) {
		char *shown = fg_url_redact(set->relay);

		*error_r = fg_errorf("smtp_relay '%s': only smtp:// and "
				     "smtps:// URLs are supported", shown);
		free(shown);
		return -1;
	}
	smtp = fg_xcalloc(1, sizeof(*smtp));
	smtp->curl = curl_easy_init();
	if (smtp->curl == NULL) {
		free(smtp);
		*error_r = "curl_easy_init() failed";
		return -1;
	}
	smtp->url = fg_smtp_url(set->relay, set->helo_name);
	smtp->relay = fg_url_redact(set->relay);
	smtp->timeout_ms = set->timeout_ms;
	smtp->progress = set->progress;
	smtp->progress_context = set->progress_context;

	curl_easy_setopt(smtp->curl, CURLOPT_NOSIGNAL, 1L);
	if (smtp->progress != NULL) {
		curl_easy_setopt(smtp->curl, CURLOPT_XFERINFOFUNCTION,
				 fg_smtp_xferinfo);
		curl_easy_setopt(smtp->curl, CURLOPT_XFERINFODATA, smtp);
		curl_easy_setopt(smtp->curl, CURLOPT_NOPROGRESS, 0L);
	}
	curl_easy_setopt(smtp->curl, CURLOPT_URL, smtp->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(smtp->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(smtp->curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(smtp->curl, CURLOPT_TIMEOUT_MS,
			 (long)smtp->timeout_ms);
	curl_easy_setopt(smtp->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)smtp->timeout_ms);
	curl_easy_setopt(smtp->curl, CURLOPT_ERRORBUFFER, smtp->errbuf);
	curl_easy_setopt(smtp->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(smtp->curl, CURLOPT_READFUNCTION, fg_smtp_read);
	curl_easy_setopt(smtp->curl, CURLOPT_READDATA, smtp);
	curl_easy_setopt(smtp->curl, CURLOPT_HEADERFUNCTION, fg_smtp_header);
	curl_easy_setopt(smtp->curl, CURLOPT_HEADERDATA, smtp);
	*smtp_r = smtp;
	return 0;
}

/* fg_smtp_deinit - closing the handle closes the connection */
void fg_smtp_deinit(struct fg_smtp **_smtp)
{
	struct fg_smtp *smtp = *_smtp;

	if (smtp == NULL)
		return;
	*_smtp = NULL;
	curl_easy_cleanup(smtp->curl);
	free(smtp->url);
	free(smtp->relay);
	free(smtp);
}

/* fg_smtp_classify - 2xx/3xx done, 5xx refused, all else try again */
int fg_smtp_classify(int reply_code)
{
	if (reply_code >= 200 && reply_code <= 399)
		return FG_SMTP_OK;
	if (reply_code >= 500 && reply_code <= 599)
		return FG_SMTP_PERMANENT;
	return FG_SMTP_TRANSIENT;
}

/* fg_smtp_status_name - a word for the log */
const char *fg_smtp_status_name(int status)
{
	switch (status) {
	case FG_SMTP_OK: return "ok";
	case FG_SMTP_TRANSIENT: return "transient";
	case FG_SMTP_PERMANENT: return "permanent";
	}
	return "unknown";
}

/* fg_smtp_send - MAIL FROM, RCPT TO..., DATA */
int fg_smtp_send(struct fg_smtp *smtp, const char *sender,
		 const char *const *rcpts, size_t n_rcpts,
		 const char *data, size_t size, const char **reply_r)
{
	struct curl_slist *rcpt_list = NULL, *l;
	char *from;
	CURLcode code;
	int status;

	if (sender == NULL || !fg_smtp_address_ok(sender)) {
		*reply_r = "invalid envelope sender";
		return FG_SMTP_PERMANENT;
	}
	if (n_rcpts == 0) {
		*reply_r = "no recipients";
		return FG_SMTP_PERMANENT;
	}
	for (size_t i = 0; i < n_rcpts; i++) {
		if (rcpts[i] == NULL || *rcpts[i] == '\0' ||
		    !fg_smtp_address_ok(rcpts[i])) {
			curl_slist_free_all(rcpt_list);
			*reply_r = fg_errorf("invalid recipient '%s'",
					     rcpts[i] == NULL ? "" : rcpts[i]);
			return FG_SMTP_PERMANENT;
		}
		char *r = fg_xasprintf("<%s>", rcpts[i]);
		l = curl_slist_append(rcpt_list, r);
		free(r);
		if (l == NULL)
			abort();
		rcpt_list = l;
	}
	from = fg_xasprintf("<%s>", sender);
	smtp->data = data;
	smtp->size = size;
	smtp->pos = 0;
	smtp->reply[0] = '\0';
	smtp->reply_code = 0;
	smtp->errbuf[0] = '\0';

	curl_easy_setopt(smtp->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(smtp->curl, CURLOPT_MAIL_RCPT, rcpt_list);
	curl_easy_setopt(smtp->curl, CURLOPT_INFILESIZE_LARGE,
			 (curl_off_t)size);
	code = curl_easy_perform(smtp->curl);
	curl_easy_setopt(smtp->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt_list);
	free(from);
	smtp->data = NULL;

	if (code == CURLE_OK) {
		*reply_r = fg_errorf("%s", smtp->reply[0] != '\0' ?
				     smtp->reply : "250 accepted");
		return FG_SMTP_OK;
	}
	status = fg_smtp_classify(smtp->reply_code);
	if (status == FG_SMTP_OK) {
		/* the last answer was fine, then the connection failed */
		status = FG_SMTP_TRANSIENT;
	}
	if (smtp->reply_code >= 400 && smtp->reply_code <= 599)
		*reply_r = fg_errorf("%s", smtp->reply);
	else
		*reply_r = fg_errorf("SMTP to %s failed: %s", smtp->relay,
				     smtp->errbuf[0] != '\0' ? smtp->errbuf :
				     curl_easy_strerror(code));
	return status;
}
