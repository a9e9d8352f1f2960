#ifndef FG_TRIM_PRIVATE_H
#define FG_TRIM_PRIVATE_H
/*
 * NAME
 *	fg-trim-private 3 - what the files of the trimming share
 * SYNOPSIS
 *	#include "fg-trim-private.h"
 * DESCRIPTION
 *	Internal to fg-trim.c and fg-trim-original.c: the line by line
 *	view of a body (struct fg_lines) and the tests on one line both
 *	use. fg_mail_trim_original() (fg-trim-original.c) cuts the
 *	message replied to or forwarded under a separator line or
 *	Outlook's header block.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* A longer line is no attribution (nor a forward's intro line): keeps
   the search for them linear in the size of the body. */
#define FG_MAIL_ATTRIB_LINE_MAX 512

/* A line by line view of a body, for trimming from the end. */
struct fg_lines {
	const char **start;
	size_t *len;
	size_t n;
};

/* fg_line_blank - the line has nothing but white space */
static inline bool fg_line_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	}
	return true;
}

/* fg_line_quoted - the line is a "> " quote */
static inline bool fg_line_quoted(const char *s, size_t len)
{
	return len > 0 && s[0] == '>';
}

/* fg_line_starts_ci - the line starts with word (ASCII case ignored) */
static inline bool fg_line_starts_ci(const char *s, size_t len,
				     const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(s, word, n) == 0;
}

/* fg_line_skip_decor - skip leading spaces and Markdown emphasis */
static inline size_t fg_line_skip_decor(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' ||
			   s[i] == '_'))
		i++;
	return i;
}

/* fg_mail_trim_original - number of lines left after cutting the
   message replied to (or forwarded) under a separator line or a
   header block */
size_t fg_mail_trim_original(const struct fg_lines *lines, size_t n);

#endif
