/*
 * NAME
 *	fg-quote 3 - whether a quote is the text of the post it answers
 * DESCRIPTION
 *	See fg-quote.h. The hash is 32-bit FNV-1a over the words of a
 *	run joined by one space: cheap, and collisions only make a
 *	quote look a little more like its parent than it is, which the
 *	share needed makes up for.
 */
#include "fg-quote.h"
#include "fg-common.h"
#include "fg-trim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A word longer than this is cut: bounds the hashing of a run. */
#define FG_QUOTE_WORD_MAX 64

struct fg_words {
	char (*word)[FG_QUOTE_WORD_MAX + 1];
	size_t n, alloc;
};

/* fg_quote_word_byte - a byte that belongs to a word */
static bool fg_quote_word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* fg_quote_words - the normalised words of text, in order */
static void fg_quote_words(const char *text, struct fg_words *w)
{
	const unsigned char *p = (const unsigned char *)text;
	bool line_start = true;

	while (*p != '\0') {
		size_t len = 0;

		if (line_start) {
			/* quote marks of any depth */
			while (*p == '>' || *p == ' ' || *p == '\t')
				p++;
			line_start = false;
			continue;
		}
		if (!fg_quote_word_byte(*p)) {
			line_start = *p == '\n';
			p++;
			continue;
		}
		if (w->n == w->alloc) {
			w->alloc = w->alloc == 0 ? 64 : w->alloc * 2;
			w->word = fg_xrealloc(w->word,
					      w->alloc * sizeof(*w->word));
		}
		while (fg_quote_word_byte(*p)) {
			if (len < FG_QUOTE_WORD_MAX)
				w->word[w->n][len++] =
					*p >= 'A' && *p <= 'Z' ?
					(char)(*p - 'A' + 'a') : (char)*p;
			p++;
		}
		w->word[w->n][len] = '\0';
		w->n++;
	}
}

/* fg_quote_hash - FNV-1a of words [i, i + n) joined by spaces */
static uint32_t fg_quote_hash(const struct fg_words *w, size_t i, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t k = i; k < i + n; k++) {
		if (k > i)
			h = (h ^ ' ') * 16777619u;
		for (const char *c = w->word[k]; *c != '\0'; c++)
			h = (h ^ (unsigned char)*c) * 16777619u;
	}
	return h;
}

/* fg_quote_cmp - qsort order of hashes */
static int fg_quote_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* fg_quote_sketch - the hashes of a text's word runs, caller frees */
char *fg_quote_sketch(const char *text)
{
	struct fg_words w = { NULL, 0, 0 };
	struct fg_buf out = { 0 };
	uint32_t *h;
	size_t n, kept = 0;

	fg_quote_words(text != NULL ? text : "", &w);
	if (w.n == 0) {
		free(w.word);
		return fg_xstrdup("");
	}
	/* a text shorter than a run is one run */
	n = w.n >= FG_QUOTE_SHINGLE ? w.n - FG_QUOTE_SHINGLE + 1 : 1;
	h = fg_xmalloc(n * sizeof(*h));
	for (size_t i = 0; i < n; i++)
		h[i] = fg_quote_hash(&w, i, w.n >= FG_QUOTE_SHINGLE ?
				     FG_QUOTE_SHINGLE : w.n);
	qsort(h, n, sizeof(*h), fg_quote_cmp);
	for (size_t i = 0; i < n && kept < FG_QUOTE_SKETCH_MAX; i++) {
		char hex[9];

		if (i > 0 && h[i] == h[i - 1])
			continue;
		snprintf(hex, sizeof(hex), "%08x", (unsigned int)h[i]);
		if (kept > 0)
			fg_buf_putc(&out, ' ');
		fg_buf_puts(&out, hex);
		kept++;
	}
	free(h);
	free(w.word);
	return fg_buf_steal(&out);
}

/* fg_quote_sig_line - a quoted "-- " (or "--") or "____" line: what
   follows is a signature or a list's footer */
static bool fg_quote_sig_line(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == '>' || s[i] == ' '))
		i++;
	return fg_mail_sig_line(s + i, len - i);
}

/* fg_quote_sketch_quote - the sketch of a quote, its quoted signature
   or footer left out */
char *fg_quote_sketch_quote(const char *quote)
{
	const char *start = quote != NULL ? quote : "", *p = start;
	char *head, *sketch;

	for (;;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		/* not the first line: a quote that is all signature stays
		   whole */
		if (p != start && fg_quote_sig_line(p, len))
			break;
		p += len;
		if (eol == NULL)
			break;
		p++;
	}
	head = fg_xstrndup(start, (size_t)(p - start));
	sketch = fg_quote_sketch(head);
	free(head);
	return sketch;
}

/* fg_quote_parse - the hashes of a sketch, in order; -1 malformed */
static int fg_quote_parse(const char *s, uint32_t *h, size_t *n_r)
{
	size_t n = 0;

	while (*s != '\0') {
		char *end;
		unsigned long v;

		if (n == FG_QUOTE_SKETCH_MAX || strspn(s, "0123456789abcdef") != 8)
			return -1;
		v = strtoul(s, &end, 16);
		if (end != s + 8 || (*end != ' ' && *end != '\0') ||
		    (n > 0 && (uint32_t)v <= h[n - 1]))
			return -1;
		h[n++] = (uint32_t)v;
		s = *end == ' ' ? end + 1 : end;
	}
	*n_r = n;
	return 0;
}

/* fg_quote_matches - the quote's sketch is (mostly) in the parent's */
bool fg_quote_matches(const char *quote_sketch, const char *parent_sketch,
		      size_t *hits_r, size_t *looked_r)
{
	uint32_t q[FG_QUOTE_SKETCH_MAX], p[FG_QUOTE_SKETCH_MAX];
	uint32_t top = UINT32_MAX;
	size_t nq, np, looked = 0, hits = 0, j = 0;

	if (hits_r != NULL)
		*hits_r = 0;
	if (looked_r != NULL)
		*looked_r = 0;
	if (quote_sketch == NULL || parent_sketch == NULL ||
	    fg_quote_parse(quote_sketch, q, &nq) < 0 ||
	    fg_quote_parse(parent_sketch, p, &np) < 0 || nq == 0 || np == 0)
		return false;
	/* a full sketch says nothing of the hashes above its largest */
	if (np == FG_QUOTE_SKETCH_MAX)
		top = p[np - 1];
	if (nq == FG_QUOTE_SKETCH_MAX && q[nq - 1] < top)
		top = q[nq - 1];
	for (size_t i = 0; i < nq && q[i] <= top; i++) {
		looked++;
		while (j < np && p[j] < q[i])
			j++;
		if (j < np && p[j] == q[i])
			hits++;
	}
	if (hits_r != NULL)
		*hits_r = hits;
	if (looked_r != NULL)
		*looked_r = looked;
	if (looked == 0 || looked < (nq < 3 ? nq : 3))
		return false;
	return hits * 100 >= looked * FG_QUOTE_MATCH_PERCENT;
}
