/*
 * NAME
 *	fg-fit 3 - fit a title and a post to the lengths a forum accepts
 * DESCRIPTION
 *	See fg-fit.h. A text longer than the forum's post limit is cut
 *	with a note, not split into several posts. One list mail is one
 *	post: the Message-ID map, the topic's external id, the repeat
 *	check after a lost answer and the forum-to-list direction (which
 *	must not mail the parts back as new messages) all rest on that;
 *	parts would need a map entry each and could be half posted when
 *	the bridge stops between them. The list archive keeps the whole
 *	mail, and the note says so. A text that long (32,000 characters
 *	on Discourse, 32,767 on NodeBB, by default) is rare on a list.
 *
 *	A too short title or text gets a fixed phrase appended, so that
 *	the reader sees where it came from rather than filler.
 */
#include "fg-fit.h"
#include "fg-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fg_fit_char - bytes of the UTF-8 sequence at p (1 when not valid) */
static size_t fg_fit_char(const unsigned char *p, size_t left)
{
	size_t n;

	if (p[0] < 0x80)
		n = 1;
	else if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 1;
	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	}
	return n;
}

/* fg_fit_width - how much one sequence of n bytes counts */
static size_t fg_fit_width(size_t n, bool utf16)
{
	return n == 4 && utf16 ? 2 : 1;
}

/* fg_fit_length - see fg-fit.h */
size_t fg_fit_length(const char *s, size_t len, bool utf16)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t count = 0, i = 0, n;

	while (i < len) {
		n = fg_fit_char(p + i, len - i);
		count += fg_fit_width(n, utf16);
		i += n;
	}
	return count;
}

/* fg_fit_prefix - bytes of the longest prefix of s that counts at most
   max; never ends inside a character */
static size_t fg_fit_prefix(const char *s, size_t len, size_t max,
			    bool utf16)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t count = 0, i = 0, n, w;

	while (i < len) {
		n = fg_fit_char(p + i, len - i);
		w = fg_fit_width(n, utf16);
		if (count + w > max)
			break;
		count += w;
		i += n;
	}
	return i;
}

/* fg_fit_space - ASCII white space, as the forums strip it */
static bool fg_fit_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/* fg_fit_trim - the bounds of s without white space around it */
static void fg_fit_trim(const char *s, size_t len, size_t *start_r,
			size_t *end_r)
{
	size_t start = 0, end = len;

	while (start < end && fg_fit_space(s[start]))
		start++;
	while (end > start && fg_fit_space(s[end - 1]))
		end--;
	*start_r = start;
	*end_r = end;
}

/* fg_fit_pad - append pad to b until its text (trimmed) counts min */
static void fg_fit_pad(struct fg_buf *b, const char *pad, unsigned int min,
		       bool utf16)
{
	size_t start, end;

	for (;;) {
		const char *s = b->s != NULL ? b->s : "";

		fg_fit_trim(s, b->len, &start, &end);
		if (fg_fit_length(s + start, end - start, utf16) >= min)
			return;
		if (end == start) {
			/* nothing to follow: the phrase alone */
			fg_buf_free(b);
			while (fg_fit_space(*pad))
				pad++;
		}
		fg_buf_puts(b, pad);
	}
}

/* fg_fit_title - see fg-fit.h */
char *fg_fit_title(const char *title, const struct fg_fit_limits *lim)
{
	struct fg_buf b = { 0 };
	size_t start, end, len, cut, budget, p;

	if (title == NULL)
		title = "";
	fg_fit_trim(title, strlen(title), &start, &end);
	title += start;
	len = end - start;
	if (lim->max_title > 0 &&
	    fg_fit_length(title, len, lim->utf16) > lim->max_title) {
		budget = lim->max_title - 1;	/* the ellipsis counts 1 */
		cut = fg_fit_prefix(title, len, budget, lim->utf16);
		if (!fg_fit_space(title[cut])) {
			/* the last word boundary in the second half */
			for (p = cut; p > 0 && !fg_fit_space(title[p - 1]); p--)
				;
			if (p > 0 &&
			    fg_fit_length(title, p, lim->utf16) >= budget / 2)
				cut = p;
		}
		while (cut > 0 && fg_fit_space(title[cut - 1]))
			cut--;
		fg_buf_append(&b, title, cut);
		fg_buf_puts(&b, FG_FIT_ELLIPSIS);
	} else {
		fg_buf_append(&b, title, len);
	}
	if (lim->min_title > 0)
		fg_fit_pad(&b, FG_FIT_TITLE_PAD, lim->min_title, lim->utf16);
	return fg_buf_steal(&b);
}

/* fg_fit_boundary - a better place to cut s[0..cut): after the last
   paragraph, else line, else word in the last tenth; cut when none */
static size_t fg_fit_boundary(const char *s, size_t cut)
{
	size_t floor = cut - cut / 10, p;
	static const char *const marks[] = { "\n\n", "\n", " " };

	for (size_t m = 0; m < FG_N_ELEMENTS(marks); m++) {
		size_t n = strlen(marks[m]);
		for (p = cut; p >= floor + n && p >= n; p--) {
			if (memcmp(s + p - n, marks[m], n) == 0)
				return p;
		}
	}
	return cut;
}

/* fg_fit_body - see fg-fit.h */
char *fg_fit_body(const char *raw, const struct fg_fit_limits *lim,
		  size_t *omitted_r)
{
	struct fg_buf b = { 0 };
	size_t len, total, note_len, cut, start, end, omitted = 0;
	char note[160];

	if (raw == NULL)
		raw = "";
	len = strlen(raw);
	total = lim->max_post > 0 ? fg_fit_length(raw, len, lim->utf16) : 0;
	if (lim->max_post > 0 && total > lim->max_post) {
		/* the note for the most that can be left out: any
		   shorter number makes a note no longer than this */
		note_len = (size_t)snprintf(note, sizeof(note),
					    FG_FIT_BODY_NOTE, total);
		if (note_len < lim->max_post) {
			cut = fg_fit_prefix(raw, len,
					    lim->max_post - note_len,
					    lim->utf16);
			cut = fg_fit_boundary(raw, cut);
			fg_fit_trim(raw, cut, &start, &end);
			omitted = total - fg_fit_length(raw, end, lim->utf16);
			fg_buf_append(&b, raw, end);
			fg_buf_printf(&b, FG_FIT_BODY_NOTE, omitted);
		} else {
			/* a limit too small for a note */
			cut = fg_fit_prefix(raw, len, lim->max_post,
					    lim->utf16);
			omitted = total - fg_fit_length(raw, cut, lim->utf16);
			fg_buf_append(&b, raw, cut);
		}
	} else {
		fg_buf_puts(&b, raw);
	}
	if (lim->min_post > 0)
		fg_fit_pad(&b, FG_FIT_BODY_PAD, lim->min_post, lim->utf16);
	if (omitted_r != NULL)
		*omitted_r = omitted;
	return fg_buf_steal(&b);
}
