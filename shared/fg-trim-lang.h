#ifndef FG_TRIM_LANG_H
#define FG_TRIM_LANG_H
/*
 * NAME
 *	fg-trim-lang 3 - the words mail clients write around a quote
 * SYNOPSIS
 *	#include "fg-trim-lang.h"
 * DESCRIPTION
 *	Internal to fg-trim.c: the tables of what mail clients write,
 *	in each language they are used in on lists, around the message
 *	replied to. Each table ends with a NULL entry.
 *
 *	fg_trim_attributions: "On DATE, NAME wrote:" and its kin. The
 *	first line starts with start (""; any), one line has word (NULL:
 *	none needed), the last line ends with end.
 *
 *	fg_trim_separators: the phrase of a separator line between
 *	dashes ("-----Original Message-----", "---------- Forwarded
 *	message ---------").
 *
 *	fg_trim_forward_intros: a line that introduces a forwarded
 *	message without dashes (Apple Mail's "Begin forwarded message:").
 *
 *	fg_trim_hdr_labels: the labels of the header block that Outlook
 *	and others write above the message replied to.
 *
 *	fg_trim_mobile_prefixes and fg_trim_mobile_suffixes: how the
 *	signature of a phone or a webmail starts or ends.
 * BOUNDS
 *	All words are UTF-8; matching ignores ASCII case only.
 */

/* An attribution's shape (see above). */
struct fg_trim_attribution {
	const char *start, *word, *end;
};

/* What a line of a header block labels. */
enum fg_hdr_label {
	FG_HDR_NONE,
	FG_HDR_FROM,
	FG_HDR_SENT,		/* Outlook's own word for the date */
	FG_HDR_DATE,		/* also in headers pasted into a mail */
	FG_HDR_TO,
	FG_HDR_SUBJECT,
	FG_HDR_RAW,		/* only in a real header: pasted, not a quote */
};

struct fg_trim_hdr_label {
	const char *word;
	enum fg_hdr_label label;
};

extern const struct fg_trim_attribution fg_trim_attributions[];
extern const char *const fg_trim_separators[];
extern const char *const fg_trim_forward_intros[];
extern const struct fg_trim_hdr_label fg_trim_hdr_labels[];
extern const char *const fg_trim_mobile_prefixes[];
extern const char *const fg_trim_mobile_suffixes[];

#endif
