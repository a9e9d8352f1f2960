#ifndef FG_SMTP_PIPE_H
#define FG_SMTP_PIPE_H
/*
 * NAME
 *	fg-smtp-pipe 3 - many one-recipient SMTP transactions, pipelined
 * SYNOPSIS
 *	#include "fg-smtp-pipe.h"
 *
 *	if (fg_smtp_pipe_usable(relay))
 *		fg_smtp_pipe_init(relay, helo, 30000, &pipe, &error);
 *	fg_smtp_pipe_set_data_hook(pipe, hook, context);
 *	status = fg_smtp_pipe_send(pipe, sender, rcpt, data, size, &reply);
 *	fg_smtp_pipe_deinit(&pipe);
 * DESCRIPTION
 *	A list's fan-out sends one transaction per recipient (each has its
 *	own VERP envelope sender). libcurl (fg-smtp.h) sends every SMTP
 *	command and waits for its answer, four round trips a transaction;
 *	this client groups MAIL FROM, RCPT TO and DATA in one write where
 *	the relay announces PIPELINING (RFC 2920), and then the message,
 *	two round trips a transaction, on one connection kept open from
 *	one transaction to the next (no RSET is needed between them: each
 *	ends with the relay's answer to the message). A relay without
 *	PIPELINING gets the commands one at a time.
 *
 *	It speaks plain SMTP only: fg_smtp_pipe_usable() is true for an
 *	smtp:// URL or host[:port] without user information (no AUTH, no
 *	TLS), the local MTA a fan-out hands its copies to; anything else
 *	goes through fg-smtp.h. A path in the URL is the EHLO name, as
 *	for fg-smtp.h.
 *
 *	A data hook, when set, is called in every transaction once the
 *	relay took DATA (354) and before the message goes: the caller
 *	can finish other work while the envelope's round trip was under
 *	way (the fan-out reads the record of the previous recipient
 *	there) and give the transaction up; then the connection is closed
 *	without the message's final dot, so the relay delivers nothing,
 *	and the send returns FG_SMTP_ABORTED with the hook's reason.
 *
 *	The message has CR LF line ends; lines that start with "." are
 *	dot-stuffed here. A bare LF is sent as CR LF.
 *
 *	The outcome is an enum fg_smtp_status (fg-smtp.h): FG_SMTP_OK for
 *	a 250 to the message, FG_SMTP_PERMANENT for a 5xx to MAIL, RCPT,
 *	DATA or the message, FG_SMTP_TRANSIENT for a 4xx, a timeout or a
 *	broken connection (then the connection is closed and the next
 *	send opens a new one).
 * BOUNDS
 *	Every wait for the relay is bounded by the timeout; a reply line
 *	longer than 512 bytes is cut, a reply of more than 100 lines is a
 *	protocol error (transient).
 * DIAGNOSTICS
 *	*reply_r is the relay's deciding answer (one line) or why there
 *	was none; valid until the next call on the same handle. Never
 *	logs.
 */
#include <stdbool.h>
#include <stddef.h>

struct fg_smtp_pipe;

/* fg_smtp_pipe_usable - plain SMTP without credentials: this client */
bool fg_smtp_pipe_usable(const char *relay);
/* fg_smtp_pipe_init - a handle; it connects at the first send */
int fg_smtp_pipe_init(const char *relay, const char *helo_name,
		      unsigned int timeout_ms, struct fg_smtp_pipe **pipe_r,
		      const char **error_r);
/* fg_smtp_pipe_send - one transaction: sender ("" is <>) to rcpt */
int fg_smtp_pipe_send(struct fg_smtp_pipe *pipe, const char *sender,
		      const char *rcpt, const char *data, size_t size,
		      const char **reply_r);
/* a data hook: 0 send the message, -1 give the transaction up */
typedef int fg_smtp_pipe_data_hook(void *context, const char **error_r);
/* fg_smtp_pipe_set_data_hook - call hook(context) before each message
   (NULL: none) */
void fg_smtp_pipe_set_data_hook(struct fg_smtp_pipe *pipe,
				fg_smtp_pipe_data_hook *hook, void *context);
/* fg_smtp_pipe_pipelining - the relay announced PIPELINING (after a
   send) */
bool fg_smtp_pipe_pipelining(const struct fg_smtp_pipe *pipe);
/* fg_smtp_pipe_deinit - QUIT, close, free, NULL the pointer */
void fg_smtp_pipe_deinit(struct fg_smtp_pipe **pipe);

#endif
