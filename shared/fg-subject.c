/*
 * NAME
 *	fg-subject 3 - the topic title of a mail subject
 * DESCRIPTION
 *	See fg-subject.h. The work is done on byte offsets into one copy
 *	of the subject: every step removes at least one byte from the
 *	front, and a bracketed tag is looked for only within a bounded
 *	window, so the cost stays linear in the length of the subject
 *	whatever the input looks like.
 */
#include "fg-subject.h"
#include "fg-common.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* A list tag longer than this is more likely part of the title
   ("[PATCH v3 0/7] ..." is fine, a bracketed sentence is not a tag). */
#define FG_SUBJECT_TAG_MAX 64

/* Reply and forward prefixes, compared without regard to ASCII case.
   Longer words come before their own prefixes only where it matters
   for readability; matching requires the colon, so "Re" never eats
   the start of "Ref:" or "Reunion". */
static const char *const fg_subject_prefixes[] = {
	"re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw", "rif", "ref",
	"r", "odp", "tr", "rv", "enc", "res", "doorst", "vl", "ynt", "ilt",
	"atb", "sv", "odg", "pd",
	/* CJK clients write these, usually with a full-width colon */
	"\xe5\x9b\x9e\xe5\xa4\x8d",	/* 回复 */
	"\xe5\x9b\x9e\xe8\xa6\x86",	/* 回覆 */
	"\xe7\xad\x94\xe5\xa4\x8d",	/* 答复 */
	"\xe7\xad\x94\xe8\xa6\x86",	/* 答覆 */
	"\xe8\xbd\xac\xe5\x8f\x91",	/* 转发 */
	"\xe8\xbd\x89\xe7\x99\xbc",	/* 轉發 */
	"\xe8\xbd\x89\xe5\xaf\x84",	/* 轉寄 */
};

#define FG_FULLWIDTH_COLON "\xef\xbc\x9a"

/* fg_subject_is_space - white space or any control byte */
static bool fg_subject_is_space(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

/* fg_subject_skip_space - first offset at or after pos that is not space */
static size_t fg_subject_skip_space(const char *s, size_t pos, size_t end)
{
	while (pos < end && fg_subject_is_space((unsigned char)s[pos]))
		pos++;
	return pos;
}

/* fg_subject_match_prefix - length of a reply/forward prefix with its
   colon at pos, 0 when there is none */
static size_t fg_subject_match_prefix(const char *s, size_t pos, size_t end)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_subject_prefixes); i++) {
		const char *word = fg_subject_prefixes[i];
		size_t len = strlen(word), p = pos;

		if (end - pos < len || strncasecmp(s + pos, word, len) != 0)
			continue;
		p += len;
		/* a counter: Re[2]: Re^2: Re(2): */
		if (p < end && (s[p] == '[' || s[p] == '(')) {
			char close = s[p] == '[' ? ']' : ')';
			size_t q = p + 1;

			while (q < end && q - p <= 6 && s[q] >= '0' && s[q] <= '9')
				q++;
			if (q > p + 1 && q < end && s[q] == close)
				p = q + 1;
		} else if (p < end && s[p] == '^') {
			size_t q = p + 1;

			while (q < end && q - p <= 6 && s[q] >= '0' && s[q] <= '9')
				q++;
			if (q > p + 1)
				p = q;
		}
		/* "RE : " as French clients write it */
		while (p < end && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p < end && s[p] == ':')
			return p + 1 - pos;
		if (end - p >= 3 && memcmp(s + p, FG_FULLWIDTH_COLON, 3) == 0)
			return p + 3 - pos;
	}
	return 0;
}

/* fg_subject_match_tag - length of a "[tag]" at pos, 0 when none */
static size_t fg_subject_match_tag(const char *s, size_t pos, size_t end)
{
	if (s[pos] != '[')
		return 0;
	for (size_t p = pos + 1; p < end && p - pos <= FG_SUBJECT_TAG_MAX;
	     p++) {
		if (s[p] == '[')
			return 0;
		if (s[p] == ']')
			return p > pos + 1 ? p + 1 - pos : 0;
	}
	return 0;
}

/* fg_subject_strip - advance *pos and *end past one prefix or tag; false
   when there is nothing more to strip */
static bool fg_subject_strip(const char *s, size_t *pos, size_t *end)
{
	size_t p = *pos, n, inner;

	if ((n = fg_subject_match_prefix(s, p, *end)) > 0) {
		*pos = p + n;
		return true;
	}
	if (s[p] != '[')
		return false;
	/* "[Fwd: title]": the closing bracket is the last character */
	inner = fg_subject_skip_space(s, p + 1, *end);
	if (inner < *end && (n = fg_subject_match_prefix(s, inner, *end)) > 0) {
		size_t e = *end;

		while (e > inner + n &&
		       fg_subject_is_space((unsigned char)s[e - 1]))
			e--;
		if (e > inner + n && s[e - 1] == ']')
			e--;
		*pos = inner + n;
		*end = e;
		return true;
	}
	/* "[list] title": only when a title follows the tag */
	if ((n = fg_subject_match_tag(s, p, *end)) > 0 &&
	    fg_subject_skip_space(s, p + n, *end) < *end) {
		*pos = p + n;
		return true;
	}
	return false;
}

/* Forward prefixes among fg_subject_prefixes. */
static const char *const fg_subject_forwards[] = {
	"fwd", "fw", "wg", "vs", "tr", "rv", "enc", "doorst", "vl", "ilt",
	"\xe8\xbd\xac\xe5\x8f\x91", "\xe8\xbd\x89\xe7\x99\xbc",
	"\xe8\xbd\x89\xe5\xaf\x84",
};

/* fg_subject_is_forward - the first reply or forward prefix, after
   list tags, is a forward one */
bool fg_subject_is_forward(const char *subject_utf8)
{
	const char *s = subject_utf8 != NULL ? subject_utf8 : "";
	size_t pos = 0, end = strlen(s), n;

	for (;;) {
		pos = fg_subject_skip_space(s, pos, end);
		if (pos < end && s[pos] == '[' &&
		    (n = fg_subject_match_tag(s, pos, end)) > 0) {
			size_t inner = fg_subject_skip_space(s, pos + 1, end);

			if (fg_subject_match_prefix(s, inner, end) > 0) {
				pos = inner;	/* "[Fwd: title]" */
				break;
			}
			pos += n;
			continue;
		}
		if (pos < end && s[pos] == '[')
			pos = fg_subject_skip_space(s, pos + 1, end);
		break;
	}
	if (fg_subject_match_prefix(s, pos, end) == 0)
		return false;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_subject_forwards); i++) {
		size_t len = strlen(fg_subject_forwards[i]);

		if (end - pos > len &&
		    strncasecmp(s + pos, fg_subject_forwards[i], len) == 0 &&
		    !((s[pos + len] | 0x20) >= 'a' &&
		      (s[pos + len] | 0x20) <= 'z'))
			return true;
	}
	return false;
}

/* fg_subject_normalize - topic title of a subject */
char *fg_subject_normalize(const char *subject_utf8)
{
	const char *s = subject_utf8 != NULL ? subject_utf8 : "";
	size_t pos = 0, end = strlen(s);
	struct fg_buf out = { 0 };
	bool space = false;

	for (;;) {
		pos = fg_subject_skip_space(s, pos, end);
		if (pos >= end || !fg_subject_strip(s, &pos, &end))
			break;
	}
	while (end > pos && fg_subject_is_space((unsigned char)s[end - 1]))
		end--;
	for (size_t i = pos; i < end; i++) {
		unsigned char c = (unsigned char)s[i];

		if (fg_subject_is_space(c)) {
			space = true;
			continue;
		}
		if (space && out.len > 0)
			fg_buf_putc(&out, ' ');
		space = false;
		fg_buf_putc(&out, (char)c);
	}
	if (out.len == 0)
		fg_buf_puts(&out, FG_SUBJECT_EMPTY);
	return fg_buf_steal(&out);
}
