#ifndef FG_COMMON_H
#define FG_COMMON_H
/*
 * NAME
 *	fg-common 3 - memory, strings and error text for the forumgate library
 * DESCRIPTION
 *	Allocation never fails for the caller: on exhaustion the process
 *	aborts (a panic, as GLib and Postfix's mymalloc do), so callers
 *	need no NULL checks.
 *
 *	Errors are reported through "const char **error_r". The text
 *	lives in a small per-thread ring of buffers and stays valid until
 *	a few more errors were formatted in the same thread; a caller that
 *	keeps it longer copies it.
 */
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>

#define FG_ATTR_FORMAT(f, a) __attribute__((format(printf, f, a)))
#define FG_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

void *fg_xmalloc(size_t size);
void *fg_xcalloc(size_t n, size_t size);
void *fg_xrealloc(void *ptr, size_t size);
char *fg_xstrdup(const char *s);
char *fg_xstrndup(const char *s, size_t n);
char *fg_xasprintf(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);

/* fg_errorf - format an error text into the per-thread ring */
const char *fg_errorf(const char *fmt, ...) FG_ATTR_FORMAT(1, 2);

/* A growing string buffer; always NUL-terminated once anything was added. */
struct fg_buf {
	char *s;
	size_t len, cap;
};
void fg_buf_append(struct fg_buf *b, const char *data, size_t len);
void fg_buf_puts(struct fg_buf *b, const char *s);
void fg_buf_putc(struct fg_buf *b, char c);
void fg_buf_printf(struct fg_buf *b, const char *fmt, ...) FG_ATTR_FORMAT(2, 3);
/* fg_buf_steal - return the string (never NULL) and reset the buffer */
char *fg_buf_steal(struct fg_buf *b);
void fg_buf_free(struct fg_buf *b);

/* fg_str_has_ci - haystack contains needle, ASCII case ignored */
bool fg_str_has_ci(const char *haystack, const char *needle);
/* fg_str_lower - lowercase ASCII in place; returns s */
char *fg_str_lower(char *s);
/* fg_str_trim - strip leading/trailing ASCII white space in place */
char *fg_str_trim(char *s);
/* fg_utf8_prefix_len - the length of s cut to at most max bytes, not
   inside a UTF-8 character */
int fg_utf8_prefix_len(const char *s, size_t max);
/* fg_strv_free - free a NULL-terminated or counted string vector */
void fg_strv_free(char **v, size_t n);

/* fg_parse_duration_ms - "250ms", "2s", "5m", "1h", bare number = seconds */
int fg_parse_duration_ms(const char *s, unsigned int *ms_r);
/* fg_parse_size - "512", "64k", "10M", "1G" (binary multiples) */
int fg_parse_size(const char *s, size_t *size_r);
/* fg_parse_bool - yes/no, true/false, on/off, 1/0 */
int fg_parse_bool(const char *s, bool *value_r);
/* fg_parse_llong - a whole decimal number, nothing else */
int fg_parse_llong(const char *s, long long *value_r);

/* Longest list name; names are [a-z0-9_-] so they are safe in keys,
   Message-IDs and addresses. */
#define FG_LIST_NAME_MAX 64

/* fg_list_name_valid - a list name: [a-z0-9_-], starting with a letter
   or digit, at most FG_LIST_NAME_MAX bytes */
bool fg_list_name_valid(const char *name);

#endif
