/*
 * NAME
 *	fg-trim-original 3 - the message replied to or forwarded, under
 *	a separator line or Outlook's header block
 * DESCRIPTION
 *	See fg-trim-private.h. What follows "-----Original Message-----",
 *	"---------- Forwarded message ---------" (any number of dashes),
 *	Apple Mail's "Begin forwarded message:" or the header block
 *	Outlook writes above the message replied to ("From: / Sent: /
 *	To: / Subject:" in the client's language) is cut, when the
 *	sender's own text comes first and the line is not quoted. Header
 *	fields only a real header has (Received:, Message-ID:, X-...)
 *	make a block headers pasted into the text, which stay. The
 *	words are fg-trim-lang.c's.
 */
#include "fg-trim-private.h"
#include "fg-trim-lang.h"
#include "fg-mail-private.h"

/* Lines a header block may span. */
#define FG_MAIL_HDR_BLOCK_LINES 8

/* fg_text_rule_above - a rule or underscore line, as Outlook puts
   above its header block */
static bool fg_text_rule_above(const char *s, size_t len)
{
	size_t marks = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-' || s[i] == '_')
			marks++;
		else if (s[i] != ' ' && s[i] != '\\')
			return false;
	}
	return marks >= 3;
}

/* fg_mail_separator_line - "-----Original Message-----", "----------
   Forwarded message ---------" and their kin, with any number of
   dashes (or underscores) before and after, one at least */
static bool fg_mail_separator_line(const char *s, size_t len)
{
	size_t i = 0, dashes = 0, e;

	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	while (i < len && s[i] == ' ')
		i++;
	while (i < len && (s[i] == '-' || s[i] == '_')) {
		i++;
		dashes++;
	}
	if (dashes < 1)
		return false;
	while (i < len && s[i] == ' ')
		i++;
	len = fg_line_rtrim(s, len);
	e = len;
	while (e > i && (s[e - 1] == '-' || s[e - 1] == '_'))
		e--;
	/* dashes on both sides: "- Original" is an item of a list */
	if (e == len)
		return false;
	while (e > i && s[e - 1] == ' ')
		e--;
	for (size_t k = 0; fg_trim_separators[k] != NULL; k++) {
		const char *phrase = fg_trim_separators[k];

		if (strlen(phrase) == e - i &&
		    strncasecmp(s + i, phrase, e - i) == 0)
			return true;
	}
	return false;
}

/* fg_mail_forward_intro - "Begin forwarded message:" (Apple Mail) */
static bool fg_mail_forward_intro(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	len = fg_line_rtrim(s, len);
	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	for (size_t k = 0; fg_trim_forward_intros[k] != NULL; k++) {
		size_t p = i + strlen(fg_trim_forward_intros[k]);

		if (!fg_line_starts_ci(s + i, len - i,
				       fg_trim_forward_intros[k]))
			continue;
		while (p < len && (s[p] == ' ' || s[p] == '*'))
			p++;
		if ((len - p == 1 && s[p] == ':') ||
		    (len - p == 3 && memcmp(s + p, "\xef\xbc\x9a", 3) == 0))
			return true;
	}
	return false;
}

/* fg_mail_hdr_label - the header-block label a line starts with */
static enum fg_hdr_label fg_mail_hdr_label(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	for (size_t k = 0; fg_trim_hdr_labels[k].word != NULL; k++) {
		const char *word = fg_trim_hdr_labels[k].word;
		size_t n = strlen(word), p = i + n;

		if (!fg_line_starts_ci(s + i, len - i, word))
			continue;
		while (p < len && (s[p] == '*' || s[p] == '_'))
			p++;
		/* "De :" and "Objet :" as French clients write them */
		if (p < len && (s[p] == ' ' || s[p] == '\xc2'))
			p += s[p] == ' ' ? 1 : 2;	/* also U+00A0 */
		if (p < len && s[p] == ':')
			return fg_trim_hdr_labels[k].label;
		if (len - p >= 3 && memcmp(s + p, "\xef\xbc\x9a", 3) == 0)
			return fg_trim_hdr_labels[k].label;
	}
	return FG_HDR_NONE;
}

/* fg_mail_hdr_block - line i starts the header block of a quoted
   message: From:, then a date and a subject or recipient within a few
   lines. Header fields that only a real header has (Received:,
   Message-ID:, X-...) make it headers pasted into the text, which are
   content; so does "Date:" unless a separator line comes before the
   block (Outlook writes "Sent:", a pasted header "Date:"). */
static bool fg_mail_hdr_block(const struct fg_lines *lines, size_t i,
			      size_t n)
{
	bool sent = false, date = false, other = false, separated = false;

	if (fg_mail_hdr_label(lines->start[i], lines->len[i]) != FG_HDR_FROM)
		return false;
	for (size_t k = 1; k <= 3 && k <= i; k++) {
		const char *s = lines->start[i - k];
		size_t len = lines->len[i - k];

		if (fg_text_rule_above(s, len) ||
		    fg_mail_separator_line(s, len) ||
		    fg_mail_forward_intro(s, len))
			separated = true;
		else if (!fg_line_blank(s, len))
			break;
	}
	for (size_t j = i + 1; j < n && j <= i + FG_MAIL_HDR_BLOCK_LINES &&
	     !fg_line_blank(lines->start[j], lines->len[j]); j++) {
		switch (fg_mail_hdr_label(lines->start[j], lines->len[j])) {
		case FG_HDR_SENT: sent = true; break;
		case FG_HDR_DATE: date = true; break;
		case FG_HDR_TO: case FG_HDR_SUBJECT: other = true; break;
		case FG_HDR_RAW: return false;
		default: break;
		}
	}
	return other && (sent || (date && separated));
}

/* fg_mail_trim_original - number of lines left after cutting the
   message replied to (or forwarded) when a separator line or a header
   block introduces it; only after the sender's own text, outside
   quotes */
size_t fg_mail_trim_original(const struct fg_lines *lines, size_t n)
{
	bool content = false;

	for (size_t i = 0; i < n; i++) {
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if (fg_line_quoted(s, len))
			continue;
		if (content && (fg_mail_separator_line(s, len) ||
				fg_mail_forward_intro(s, len) ||
				fg_mail_hdr_block(lines, i, n))) {
			/* a rule or an underscore line above goes too */
			if (i > 0 && fg_text_rule_above(lines->start[i - 1],
							lines->len[i - 1]))
				return i - 1;
			return i;
		}
		if (!fg_line_blank(s, len))
			content = true;
	}
	return n;
}

