#ifndef FG_FIT_H
#define FG_FIT_H
/*
 * NAME
 *	fg-fit 3 - fit a title and a post to the lengths a forum accepts
 * SYNOPSIS
 *	#include "fg-fit.h"
 *
 *	struct fg_fit_limits lim = { .max_title = 255, ... };
 *
 *	title = fg_fit_title(subject, &lim);
 *	raw = fg_fit_body(text, &lim, &omitted);
 *	n = fg_fit_length(s, strlen(s), lim.utf16);
 * DESCRIPTION
 *	A forum refuses a title or a post outside its length limits, and
 *	it refuses it every time: a list mail with a long subject or a
 *	long text would never be posted. These functions change the text
 *	just enough to be accepted.
 *
 *	Lengths are counted as the forum counts them: in characters
 *	(Unicode code points, Discourse's Ruby String#length), or with
 *	utf16 set in UTF-16 code units (NodeBB's JavaScript length: a
 *	character outside the BMP counts 2). A byte that does not start a
 *	valid UTF-8 sequence counts as one character. A limit of 0 is no
 *	limit.
 *
 *	fg_fit_title() trims white space; a longer title is cut at a
 *	character boundary, at the last word boundary in its second half
 *	when there is one, and ends in an ellipsis (U+2026); a shorter one
 *	gets FG_FIT_TITLE_PAD appended (as often as needed).
 *
 *	fg_fit_body() cuts a longer text at a character boundary,
 *	preferably at the end of a paragraph, line or word close to the
 *	cut, and appends FG_FIT_BODY_NOTE with the number of characters
 *	left out (*omitted_r); the whole result is within max_post. A
 *	shorter text (the forum counts it without the surrounding white
 *	space) gets FG_FIT_BODY_PAD appended (as often as needed). It is
 *	cut, not split into several posts: see fg-fit.c.
 *
 *	Both always return a new string (the caller frees), unchanged
 *	when it fits.
 */
#include <stdbool.h>
#include <stddef.h>

struct fg_fit_limits {
	unsigned int max_title;		/* 0: no limit */
	unsigned int min_title;
	unsigned int max_post;
	unsigned int min_post;
	bool utf16;			/* count UTF-16 code units */
};

#define FG_FIT_ELLIPSIS "\xe2\x80\xa6"
#define FG_FIT_TITLE_PAD " (from the mailing list)"
#define FG_FIT_BODY_PAD "\n\n(a short message from the mailing list)"
/* printf format; %zu is the number of characters left out */
#define FG_FIT_BODY_NOTE "\n\n[message truncated: %zu more characters; " \
	"the full text is in the list archive]"

/* fg_fit_length - the length of s[0..len) as the forum counts it */
size_t fg_fit_length(const char *s, size_t len, bool utf16);
/* fg_fit_title - the title within min_title..max_title (caller frees) */
char *fg_fit_title(const char *title, const struct fg_fit_limits *lim);
/* fg_fit_body - the text within min_post..max_post (caller frees);
   *omitted_r (may be NULL): characters cut off, 0 when none */
char *fg_fit_body(const char *raw, const struct fg_fit_limits *lim,
		  size_t *omitted_r);

#endif
