/*
 * NAME
 *	fg-quote 3 - whether a quote is the text of the post it answers
 * DESCRIPTION
 *	See fg-quote.h. A word's hash is 32-bit FNV-1a of its bytes, a
 *	run's the FNV-1a of its words' hashes: cheap, one pass in
 *	constant memory, and collisions only make a quote look a little
 *	more like its parent than it is, which the share needed makes up
 *	for.
 */
#include "fg-quote.h"
#include "fg-common.h"
#include "fg-trim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sketch being built: the smallest distinct hashes, ascending. */
struct fg_sketch {
	uint32_t h[FG_QUOTE_SKETCH_MAX];
	size_t n;
};

#define FG_FNV_BASIS 2166136261u
#define FG_FNV_PRIME 16777619u

/* fg_quote_word_byte - a byte that belongs to a word */
static bool fg_quote_word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* fg_sketch_add - keep v if it is among the smallest distinct hashes */
static void fg_sketch_add(struct fg_sketch *k, uint32_t v)
{
	size_t lo = 0, hi = k->n;

	if (k->n == FG_QUOTE_SKETCH_MAX && v >= k->h[k->n - 1])
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->h[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->n && k->h[lo] == v)
		return;
	if (k->n == FG_QUOTE_SKETCH_MAX)
		k->n--;			/* the largest goes */
	memmove(&k->h[lo + 1], &k->h[lo], (k->n - lo) * sizeof(k->h[0]));
	k->h[lo] = v;
	k->n++;
}

/* fg_quote_run - the hash of the n word hashes of a run, oldest first
   (ring[] holds the last FG_QUOTE_SHINGLE, the newest at last) */
static uint32_t fg_quote_run(const uint32_t *ring, size_t last, size_t n)
{
	uint32_t h = FG_FNV_BASIS;

	for (size_t k = 0; k < n; k++) {
		uint32_t w = ring[(last + FG_QUOTE_SHINGLE - (n - 1 - k)) %
				  FG_QUOTE_SHINGLE];

		for (int b = 0; b < 4; b++)
			h = (h ^ ((w >> (8 * b)) & 0xff)) * FG_FNV_PRIME;
	}
	return h;
}

/* fg_quote_sketch - the hashes of a text's word runs, caller frees */
char *fg_quote_sketch(const char *text)
{
	const unsigned char *p = (const unsigned char *)
		(text != NULL ? text : "");
	uint32_t ring[FG_QUOTE_SHINGLE];
	struct fg_sketch *k = fg_xcalloc(1, sizeof(*k));
	struct fg_buf out = { 0 };
	bool line_start = true;
	size_t words = 0;

	/* one pass, constant memory: each word is hashed as it is read,
	   each run from the hashes of its words */
	while (*p != '\0') {
		uint32_t h = FG_FNV_BASIS;

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
		for (; fg_quote_word_byte(*p); p++) {
			unsigned char c = *p >= 'A' && *p <= 'Z' ?
				(unsigned char)(*p - 'A' + 'a') : *p;

			h = (h ^ c) * FG_FNV_PRIME;
		}
		ring[words % FG_QUOTE_SHINGLE] = h;
		words++;
		if (words >= FG_QUOTE_SHINGLE)
			fg_sketch_add(k, fg_quote_run(ring, words - 1,
						      FG_QUOTE_SHINGLE));
	}
	/* a text shorter than a run is one run */
	if (words > 0 && words < FG_QUOTE_SHINGLE)
		fg_sketch_add(k, fg_quote_run(ring, words - 1, words));
	for (size_t i = 0; i < k->n; i++) {
		char hex[9];

		snprintf(hex, sizeof(hex), "%08x", (unsigned int)k->h[i]);
		if (i > 0)
			fg_buf_putc(&out, ' ');
		fg_buf_puts(&out, hex);
	}
	free(k);
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
