/*
 * NAME
 *	fg-footer 3 - the footer a list manager appends to list mail
 * DESCRIPTION
 *	See fg-footer.h. A recognised footer is a separator line and the
 *	lines after it to the end of the text, of which one names the
 *	list manager (an address or URL only list managers write, below
 *	in fg_footer_markers). The separator is looked for from the last
 *	line upwards, so the list's own footer is found before a quoted
 *	one, and the cut is repeated for a mail that passed two lists.
 *
 *	The texts come from the list managers themselves: Mailman 3's
 *	templates/LANG/list:member:generic:footer.txt (every translation
 *	names ${short_listname}-leave@${domain}), Mailman 2's
 *	DEFAULT_MSG_FOOTER (Defaults.py: "%(real_name)s mailing list",
 *	".../listinfo%(cgiext)s/..."), and the footers Google Groups,
 *	groups.io, LISTSERV and Sympa write into list mail.
 */
#include "fg-footer.h"
#include "fg-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How often a cut is tried again (a mail through nested lists). */
#define FG_FOOTER_MAX_CUTS 4
/* Mailman's separator: 47 underscores (Mailman 2 and 3). */
#define FG_FOOTER_MAILMAN_RULE 47
/* The HTML separator is this close before the footer's wording. */
#define FG_FOOTER_HTML_GAP 600

/* The separator lines footers start with. */
enum fg_footer_sep {
	FG_SEP_NONE,
	FG_SEP_UNDERSCORES,	/* Mailman 2 and 3, Sympa sites */
	FG_SEP_MAILMAN,		/* exactly Mailman's 47 underscores */
	FG_SEP_DASHES,		/* "-- ", "--", a rule of dashes */
	FG_SEP_TILDES,		/* Google Groups' old "--~--~---~" */
	FG_SEP_EQUALS,		/* groups.io's "-=-=-=-" */
	FG_SEP_HASHES,		/* LISTSERV's "#####" */
};

/* Wording only list managers write into a footer: their command
   addresses and web interfaces, in lowercase. */
static const char *const fg_footer_markers[] = {
	/* Mailman 3 (-leave, -join), Mailman 2 (-request), ezmlm and
	   mlmmj style unsubscribe addresses */
	"-leave@", "-request@", "-unsubscribe@", "+unsubscribe@",
	"/listinfo", "/mailman/", "/mailman3/", "/postorius/",
	"/hyperkitty/",
	/* Google Groups */
	"googlegroups.com", "groups.google.", "google groups",
	/* groups.io */
	"groups.io links", "groups.io/g/",
	/* LISTSERV (and JISCMail's LISTSERV) */
	"subed1=", "listserv", "wa.exe?", "/wa?",
	/* Sympa */
	"sympa@", "/sympa/", "/wws/",
};

/* Wording that counts only under Mailman's exact separator: Mailman 2's
   "NAME mailing list" (its other lines may be site-specific). */
static const char *const fg_footer_mailman_words[] = {
	"mailing list", "maillist", "mailingliste", "lista de correo",
	"liste de diffusion",
};

/* fg_footer_has_word - the lowercased line has one of words (written
   lowercase) */
static bool fg_footer_has_word(const char *lower, const char *const *words,
			       size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (strstr(lower, words[k]) != NULL)
			return true;
	}
	return false;
}

/* fg_footer_space - white space (Markdown escapes count as such) */
static bool fg_footer_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v' || c == '\\';
}

/* fg_footer_runs - true when line (without surrounding blanks) is made
   of the characters of set only, at least min of them */
static bool fg_footer_runs(const char *s, size_t len, const char *set,
			   size_t min, size_t *count_r)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\\')
			continue;	/* a Markdown escape too */
		if (strchr(set, s[i]) == NULL)
			return false;
		n++;
	}
	if (count_r != NULL)
		*count_r = n;
	return n >= min;
}

/* fg_footer_separator - the kind of separator line s is */
static enum fg_footer_sep fg_footer_separator(const char *s, size_t len)
{
	size_t n;

	if (len > FG_FOOTER_LINE_MAX)
		return FG_SEP_NONE;
	if ((len == 3 && memcmp(s, "-- ", 3) == 0) ||
	    (len == 2 && memcmp(s, "--", 2) == 0))
		return FG_SEP_DASHES;
	if (fg_footer_runs(s, len, "_", 10, &n))
		return n == FG_FOOTER_MAILMAN_RULE ? FG_SEP_MAILMAN :
			FG_SEP_UNDERSCORES;
	if (fg_footer_runs(s, len, "-", 10, NULL))
		return FG_SEP_DASHES;
	if (fg_footer_runs(s, len, "-~", 10, NULL) && memchr(s, '~', len))
		return FG_SEP_TILDES;
	if (fg_footer_runs(s, len, "-=", 10, NULL) && memchr(s, '=', len) &&
	    memchr(s, '-', len))
		return FG_SEP_EQUALS;
	if (fg_footer_runs(s, len, "#", 10, NULL))
		return FG_SEP_HASHES;
	return FG_SEP_NONE;
}

/* fg_footer_words - note the list manager's wording in one line (at
   most FG_FOOTER_LINE_MAX bytes): *strong for an address or link of a
   list manager, *mailman for Mailman 2's words */
static void fg_footer_words(const char *s, size_t len, bool *strong,
			    bool *mailman)
{
	char lower[FG_FOOTER_LINE_MAX + 1];

	for (size_t k = 0; k < len; k++)	/* ASCII only */
		lower[k] = s[k] >= 'A' && s[k] <= 'Z' ?
			(char)(s[k] + 'a' - 'A') : s[k];
	lower[len] = '\0';
	*strong = *strong ||
		fg_footer_has_word(lower, fg_footer_markers,
				   FG_N_ELEMENTS(fg_footer_markers));
	*mailman = *mailman ||
		fg_footer_has_word(lower, fg_footer_mailman_words,
				   FG_N_ELEMENTS(fg_footer_mailman_words));
}

/* fg_footer_recognised - offset where a recognised footer starts at the
   end of text[0..len), or len when there is none. One pass over the
   last lines, from the end: at each separator line, the lines below it
   (few, short, one with the list manager's wording) decide. */
static size_t fg_footer_recognised(const char *text, size_t len)
{
	size_t pos = len, nonblank = 0, lines = 0;
	bool strong = false, mailman = false;

	while (pos > 0 && lines++ < FG_FOOTER_MAX_LINES * 2 + 1) {
		size_t start = pos, slen;
		enum fg_footer_sep sep;

		/* the line before pos (its LF at pos - 1 unless at the end) */
		if (pos < len)
			start--;
		slen = start;
		while (start > 0 && text[start - 1] != '\n' &&
		       slen - start <= FG_FOOTER_LINE_MAX)
			start--;
		if (slen - start > FG_FOOTER_LINE_MAX)
			break;		/* text, and so is all above it */
		pos = start;
		while (slen > start && (text[slen - 1] == '\r' ||
					(text[slen - 1] == ' ' &&
					 slen - start != 3)))
			slen--;
		sep = fg_footer_separator(text + start, slen - start);
		if (sep != FG_SEP_NONE && nonblank > 0 &&
		    (strong || (sep == FG_SEP_MAILMAN && mailman)))
			return start;
		if (strspn(text + start, " \t\r") >= slen - start)
			continue;
		if (++nonblank > FG_FOOTER_MAX_LINES)
			break;
		fg_footer_words(text + start, slen - start, &strong, &mailman);
	}
	return len;
}

/* fg_footer_declared - offset where the declared footer starts at the
   end of text[0..len), white space ignored, or len when it is not
   there */
static size_t fg_footer_declared(const char *text, size_t len,
				 const char *declared)
{
	size_t i = len, j = declared != NULL ? strlen(declared) : 0;
	bool any = false;

	while (j > 0) {
		char c = declared[j - 1];

		j--;
		if (fg_footer_space(c))
			continue;
		while (i > 0 && fg_footer_space(text[i - 1]))
			i--;
		if (i == 0 || text[i - 1] != c)
			return len;
		i--;
		any = true;
	}
	/* a footer of other bytes than UTF-8 characters never splits one */
	if (any && ((unsigned char)text[i] & 0xc0) == 0x80)
		return len;
	return any ? i : len;
}

/* fg_footer_blank - text[0..len) is only white space */
static bool fg_footer_blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!fg_footer_space(text[i]) || text[i] == '\\')
			return false;
	}
	return true;
}

/* fg_footer_end - length of text without its trailing blank lines and
   the white space that ends its last line */
static size_t fg_footer_end(const char *text, size_t len)
{
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
			   text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	return len;
}

/* fg_footer_start - where the footer at the end of text[0..len)
   starts (the declared one, else a recognised one), or len */
static size_t fg_footer_start(const char *text, size_t len,
			      const char *declared)
{
	size_t start = fg_footer_declared(text, len, declared);

	return start < len ? start : fg_footer_recognised(text, len);
}

/* fg_footer_cut - text without the list footer at its end */
char *fg_footer_cut(const char *text, const char *declared, char **footer_r)
{
	size_t len = fg_footer_end(text, strlen(text)), orig = len;

	for (int cuts = 0; cuts < FG_FOOTER_MAX_CUTS; cuts++) {
		size_t start = fg_footer_start(text, len, declared);

		if (start >= len || fg_footer_blank(text, start))
			break;	/* none, or nothing would be left */
		len = fg_footer_end(text, start);
	}
	if (footer_r != NULL && len < orig) {
		size_t skip = strspn(text + len, " \t\r\n");

		*footer_r = fg_xstrndup(text + len + skip, orig - len - skip);
	} else if (footer_r != NULL) {
		*footer_r = NULL;
	}
	return fg_xstrndup(text, len);
}

/* fg_footer_only - text is a footer and nothing else */
bool fg_footer_only(const char *text, const char *declared)
{
	size_t len = fg_footer_end(text, strlen(text));
	size_t start;

	if (fg_footer_blank(text, len))
		return false;
	start = fg_footer_start(text, len, declared);
	return start < len && fg_footer_blank(text, start);
}

/* The footers list managers write into HTML: the wording that
   identifies one and the separator above it. */
static const struct {
	const char *wording;
	const char *const separators[3];
} fg_footer_html[] = {
	/* Google Groups: "-- <br />" then the subscription notice */
	{ "You received this message because you are subscribed to",
	  { "-- <br", "--<br", "--\n<br" } },
	/* the same in other languages: the group's address */
	{ "@googlegroups.com", { "-- <br", "--<br", "--\n<br" } },
	/* groups.io: <div>_._,_._,_</div><hr>Groups.io Links: */
	{ "Groups.io Links", { "_._,_._,_", NULL, NULL } },
	/* LISTSERV: a row of '#', then the unsubscribe link */
	{ "SUBED1=", { "##########", NULL, NULL } },
};

/* fg_mem_last_ci - offset of the last word in s[from..to), or SIZE_MAX */
static size_t fg_mem_last_ci(const char *s, size_t from, size_t to,
			     const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = to; i >= from + wlen; i--) {
		if (strncasecmp(s + i - wlen, word, wlen) == 0)
			return i - wlen;
	}
	return SIZE_MAX;
}

/* fg_footer_html_start - offset of the footer in HTML, or len */
size_t fg_footer_html_start(const char *html, size_t len)
{
	size_t tail = len > FG_FOOTER_HTML_TAIL ? len - FG_FOOTER_HTML_TAIL : 0;
	size_t best = len;

	for (size_t k = 0; k < FG_N_ELEMENTS(fg_footer_html); k++) {
		size_t at = fg_mem_last_ci(html, tail, len,
					   fg_footer_html[k].wording);
		size_t from;

		if (at == SIZE_MAX)
			continue;
		from = at > tail + FG_FOOTER_HTML_GAP ?
			at - FG_FOOTER_HTML_GAP : tail;
		for (size_t s = 0; s < 3; s++) {
			const char *sep = fg_footer_html[k].separators[s];
			size_t pos;

			if (sep == NULL)
				break;
			pos = fg_mem_last_ci(html, from, at, sep);
			/* the start of a row of '#' */
			while (pos != SIZE_MAX && pos > tail &&
			       html[pos - 1] == sep[0] && sep[0] == sep[1])
				pos--;
			if (pos != SIZE_MAX && pos < best)
				best = pos;
		}
	}
	return best;
}
