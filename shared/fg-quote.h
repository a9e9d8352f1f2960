#ifndef FG_QUOTE_H
#define FG_QUOTE_H
/*
 * NAME
 *	fg-quote 3 - whether a quote is the text of the post it answers
 * SYNOPSIS
 *	#include "fg-quote.h"
 *
 *	char *fg_quote_sketch(const char *text);
 *	char *fg_quote_sketch_quote(const char *quote);
 *	bool fg_quote_matches(const char *quote_sketch,
 *			      const char *parent_sketch, size_t *hits_r,
 *			      size_t *looked_r);
 * DESCRIPTION
 *	A reply's trailing quote without an attribution is cut only
 *	when it is the text of the parent post. The parser cannot know
 *	the parent, the bridge can: the parser records a sketch of the
 *	quote and one of the whole message, the bridge keeps the sketch
 *	of every post it records (from the list or mailed to it) and
 *	compares.
 *
 *	fg_quote_sketch() normalises text (quote marks, Markdown
 *	escapes, punctuation and ASCII case go; words are runs of
 *	letters and digits, any non-ASCII byte counts as a letter) and
 *	hashes every run of FG_QUOTE_SHINGLE words that follow each
 *	other, over line ends, so a quote re-wrapped by the replier's
 *	client still matches. The sketch keeps the FG_QUOTE_SKETCH_MAX
 *	smallest distinct hashes (a bottom-k sketch: for a longer text
 *	an unbiased sample), as 8 hex digits each, separated by
 *	spaces, smallest first; "" for a text without words.
 *
 *	fg_quote_sketch_quote() is the sketch of a quote without what
 *	follows a quoted "-- " or "____" line: the signature of the
 *	message quoted, the topic link under a forum post mailed to the
 *	list, a list manager's footer; text the parent post's own sketch
 *	may not have.
 *
 *	fg_quote_matches() is true when at least FG_QUOTE_MATCH_PERCENT
 *	percent of the quote's hashes that both sketches can hold (those
 *	not above the largest hash of a full sketch) are in the parent's
 *	sketch, and those looked at are not fewer than 3 (or than all
 *	of the quote's). *hits_r and *looked_r (may be NULL) get the
 *	counts, for the log.
 * BOUNDS
 *	One pass over the text in constant memory; a sketch is at most
 *	FG_QUOTE_SKETCH_MAX * 9 bytes. Malformed sketches match nothing.
 */
#include <stdbool.h>
#include <stddef.h>

/* Words per hashed run. */
#define FG_QUOTE_SHINGLE 4
/* Hashes kept of a text. */
#define FG_QUOTE_SKETCH_MAX 256
/* Share of the quote found in the parent for a match. */
#define FG_QUOTE_MATCH_PERCENT 80

/* fg_quote_sketch - the hashes of a text's word runs, caller frees */
char *fg_quote_sketch(const char *text);
/* fg_quote_sketch_quote - the sketch of a quote, its quoted signature
   or footer left out */
char *fg_quote_sketch_quote(const char *quote);
/* fg_quote_matches - the quote's sketch is (mostly) in the parent's */
bool fg_quote_matches(const char *quote_sketch, const char *parent_sketch,
		      size_t *hits_r, size_t *looked_r);

#endif
