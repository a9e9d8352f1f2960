#ifndef FG_SMTP_H
#define FG_SMTP_H
/*
 * NAME
 *	fg-smtp 3 - submit one message to an SMTP relay
 * SYNOPSIS
 *	#include "fg-smtp.h"
 *
 *	struct fg_smtp_settings set = { .relay = "smtp://127.0.0.1:25",
 *					.timeout_ms = 30000 };
 *	fg_smtp_init(&set, &smtp, &error);
 *	ret = fg_smtp_send(smtp, sender, rcpts, n_rcpts, data, size,
 *			   &reply);
 *	fg_smtp_deinit(&smtp);
 * DESCRIPTION
 *	The message (CRLF line ends, headers and body) is handed to the
 *	relay with libcurl: MAIL FROM, one RCPT TO per recipient, DATA.
 *	libcurl does the dot-stuffing. The relay is an smtp:// or smtps://
 *	URL, or plain host[:port] (port 25); credentials in the URL are
 *	used for AUTH. A handle keeps its connection for the next message
 *	and is used by one thread at a time.
 *
 *	The outcome decides what the caller does:
 *
 *	FG_SMTP_OK		the relay took the message (250).
 *	FG_SMTP_TRANSIENT	try again later: a 4xx answer, a timeout, a
 *				refused or broken connection.
 *	FG_SMTP_PERMANENT	the relay refused the message (5xx).
 *
 *	Any recipient refused fails the whole submission.
 * DIAGNOSTICS
 *	fg_smtp_send() returns one of the values above and sets *reply_r
 *	to the relay's last answer (e.g. "250 2.0.0 Ok: queued as 4Xz",
 *	"550 5.1.1 <x@y>: Recipient address rejected"), or to why there
 *	was none. The text is one line, valid until a few more errors are
 *	formatted in the same thread.
 */
#include <stdbool.h>
#include <stddef.h>

enum fg_smtp_status {
	FG_SMTP_OK = 0,
	FG_SMTP_TRANSIENT = -1,
	FG_SMTP_PERMANENT = -2,
	/* given up by the caller before the message was sent
	   (fg_smtp_pipe_set_data_hook()); nothing was delivered */
	FG_SMTP_ABORTED = -3,
};

struct fg_smtp_settings {
	const char *relay;		/* smtp://host:port or host[:port] */
	unsigned int timeout_ms;	/* one submission, connect included */
	const char *helo_name;		/* NULL: this host's name */
	/* optional: called about once a second and whenever data moves
	   during a submission (the caller keeps a lease alive); non-zero
	   aborts the submission, which then has no reply (transient) */
	int (*progress)(void *context);
	void *progress_context;
};

struct fg_smtp;

/* fg_smtp_init - check the relay and prepare a handle */
int fg_smtp_init(const struct fg_smtp_settings *set, struct fg_smtp **smtp_r,
		 const char **error_r);
/* fg_smtp_deinit - say QUIT, free, and NULL the pointer */
void fg_smtp_deinit(struct fg_smtp **smtp);
/* fg_smtp_send - one message to n_rcpts recipients; sender "" is <> */
int fg_smtp_send(struct fg_smtp *smtp, const char *sender,
		 const char *const *rcpts, size_t n_rcpts,
		 const char *data, size_t size, const char **reply_r);
/* fg_smtp_address_ok - an address that may stand between < and > in
   MAIL FROM or RCPT TO (no space, control character, '<' or '>') */
bool fg_smtp_address_ok(const char *address);
/* fg_smtp_classify - the class of an SMTP reply code (0: no reply) */
int fg_smtp_classify(int reply_code);
/* fg_smtp_status_name - "ok", "transient", "permanent" for logs */
const char *fg_smtp_status_name(int status);

#endif
