/*
 * NAME
 *	fg-common 3 - memory, strings and error text for the forumgate library
 * SEE ALSO
 *	fg-common.h for the rules on allocation and error text.
 */
#include "fg-common.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>

/* fg_oom - out of memory is not an error a caller can handle */
static void fg_oom(void)
{
	static const char msg[] = "forumgate: out of memory\n";
	fwrite(msg, 1, sizeof(msg) - 1, stderr);
	abort();
}

void *fg_xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		fg_oom();
	return p;
}

void *fg_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (p == NULL)
		fg_oom();
	return p;
}

void *fg_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);
	if (p == NULL)
		fg_oom();
	return p;
}

char *fg_xstrdup(const char *s)
{
	return s == NULL ? NULL : fg_xstrndup(s, strlen(s));
}

char *fg_xstrndup(const char *s, size_t n)
{
	char *p = fg_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *fg_xvasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	char *p = fg_xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *fg_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = fg_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

#define FG_ERROR_RING 4
#define FG_ERROR_SIZE 1024

const char *fg_errorf(const char *fmt, ...)
{
	static _Thread_local char ring[FG_ERROR_RING][FG_ERROR_SIZE];
	static _Thread_local unsigned int next;
	char *buf = ring[next++ % FG_ERROR_RING];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, FG_ERROR_SIZE, fmt, ap);
	va_end(ap);
	return buf;
}

void fg_buf_append(struct fg_buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 64 : b->cap;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->s = fg_xrealloc(b->s, cap);
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void fg_buf_puts(struct fg_buf *b, const char *s)
{
	fg_buf_append(b, s, strlen(s));
}

void fg_buf_putc(struct fg_buf *b, char c)
{
	fg_buf_append(b, &c, 1);
}

void fg_buf_printf(struct fg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = fg_xvasprintf(fmt, ap);
	va_end(ap);
	fg_buf_puts(b, p);
	free(p);
}

char *fg_buf_steal(struct fg_buf *b)
{
	char *s = b->s != NULL ? b->s : fg_xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void fg_buf_free(struct fg_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

bool fg_str_has_ci(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = haystack; *p != '\0'; p++) {
		if (strncasecmp(p, needle, n) == 0)
			return true;
	}
	return false;
}

char *fg_str_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *fg_str_trim(char *s)
{
	char *start = s, *end;

	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	memmove(s, start, (size_t)(end - start));
	s[end - start] = '\0';
	return s;
}

void fg_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int fg_parse_llong(const char *s, long long *value_r)
{
	char *end;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*value_r = v;
	return 0;
}

/* fg_split_unit - split "10M" into 10 and "M" */
static int fg_split_unit(const char *s, unsigned long long *num_r,
			 const char **unit_r)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*num_r = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	*unit_r = end;
	return 0;
}

int fg_parse_duration_ms(const char *s, unsigned int *ms_r)
{
	unsigned long long n, mul;
	const char *unit;

	if (fg_split_unit(s, &n, &unit) < 0)
		return -1;
	if (strcmp(unit, "ms") == 0)
		mul = 1;
	else if (*unit == '\0' || strcmp(unit, "s") == 0)
		mul = 1000;
	else if (strcmp(unit, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(unit, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(unit, "d") == 0)
		mul = 86400ULL * 1000;
	else
		return -1;
	if (n > UINT_MAX / mul)
		return -1;
	*ms_r = (unsigned int)(n * mul);
	return 0;
}

int fg_parse_size(const char *s, size_t *size_r)
{
	unsigned long long n, mul;
	const char *unit;

	if (fg_split_unit(s, &n, &unit) < 0)
		return -1;
	switch (toupper((unsigned char)*unit)) {
	case '\0': mul = 1; break;
	case 'K': mul = 1024; break;
	case 'M': mul = 1024 * 1024; break;
	case 'G': mul = 1024ULL * 1024 * 1024; break;
	default: return -1;
	}
	if (*unit != '\0' && unit[1] != '\0' &&
	    !(toupper((unsigned char)unit[1]) == 'B' && unit[2] == '\0'))
		return -1;
	if (n > SIZE_MAX / mul)
		return -1;
	*size_r = (size_t)(n * mul);
	return 0;
}

int fg_parse_bool(const char *s, bool *value_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < FG_N_ELEMENTS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	return -1;
}

/* fg_list_name_valid - see fg-common.h */
bool fg_list_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > FG_LIST_NAME_MAX ||
	    !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int fg_utf8_prefix_len(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return len > INT_MAX ? INT_MAX : (int)len;
}
