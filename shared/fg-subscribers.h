#ifndef FG_SUBSCRIBERS_H
#define FG_SUBSCRIBERS_H
/*
 * NAME
 *	fg-subscribers 3 - read subscriber lists to import
 * SYNOPSIS
 *	#include "fg-subscribers.h"
 *
 *	void fg_subscribers_parse(const char *data, size_t size,
 *				  const char *source,
 *				  struct fg_subscribers_import *imp);
 *	int fg_subscribers_read(const char *path,
 *				struct fg_subscribers_import *imp,
 *				const char **error_r);
 *	void fg_subscribers_import_free(struct fg_subscribers_import *imp);
 * DESCRIPTION
 *	fg_subscribers_parse() reads one address a line: a bare address
 *	(mlmmj's subscribers.d files, an admin's list) or "Name <addr>"
 *	as GNU Mailman 3's `mailman members LIST` prints it. Blank lines
 *	and lines starting with '#' are skipped; a trailing CR is
 *	dropped. Each line is read with GMime's address parser and must
 *	hold exactly one mailbox whose address has a local part and a
 *	domain with a dot; the address is kept in canonical form
 *	(fg_subscriber_address()). A line that is not such an address, is
 *	longer than FG_SUBSCRIBERS_LINE_MAX or holds a NUL byte is an
 *	error, recorded as "SOURCE:LINE: why" in imp->errors; reading
 *	goes on, so every bad line is reported at once.
 *
 *	fg_subscribers_read() parses a file, or every regular file of a
 *	directory (mlmmj's subscribers.d, digesters.d or nomailsubs.d:
 *	files named by the first letter, one address a line), in name
 *	order, skipping names that start with '.'. A file larger than
 *	FG_SUBSCRIBERS_FILE_MAX is an error.
 *
 *	After the last source, fg_subscribers_finish() sorts the
 *	addresses and drops repeats.
 * DIAGNOSTICS
 *	fg_subscribers_read() returns -1 with *error_r when a path cannot
 *	be read (bad lines are not such an error: see imp->n_errors).
 *	Never logs.
 */
#include <stddef.h>

#define FG_SUBSCRIBERS_LINE_MAX		1024
#define FG_SUBSCRIBERS_FILE_MAX		(64 * 1024 * 1024)
/* errors kept; more are counted in n_errors only */
#define FG_SUBSCRIBERS_ERRORS_MAX	100

struct fg_subscribers_import {
	char **addresses;	/* canonical */
	size_t n_addresses, cap;
	char **errors;		/* "SOURCE:LINE: why" */
	size_t n_errors;	/* may exceed the errors kept */
	size_t n_lines;		/* lines read, comments and blanks too */
};

/* fg_subscribers_parse - add the addresses of data, bad lines as
   errors */
void fg_subscribers_parse(const char *data, size_t size, const char *source,
			  struct fg_subscribers_import *imp);
/* fg_subscribers_read - parse a file, or every file in a directory */
int fg_subscribers_read(const char *path, struct fg_subscribers_import *imp,
			const char **error_r);
/* fg_subscribers_finish - sort the addresses, drop repeats */
void fg_subscribers_finish(struct fg_subscribers_import *imp);
/* fg_subscribers_import_free - free what the import holds */
void fg_subscribers_import_free(struct fg_subscribers_import *imp);

#endif
