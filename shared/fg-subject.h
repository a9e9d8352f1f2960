#ifndef FG_SUBJECT_H
#define FG_SUBJECT_H
/*
 * NAME
 *	fg-subject 3 - the topic title of a mail subject
 * SYNOPSIS
 *	#include "fg-subject.h"
 *
 *	char *fg_subject_normalize(const char *subject_utf8);
 * DESCRIPTION
 *	fg_subject_normalize() turns a decoded (UTF-8) subject into the
 *	title that names its forum topic: leading list tags ("[forum]"),
 *	reply and forward prefixes in the languages that mail clients
 *	actually send (Re:, Fwd:, Fw:, AW:, WG:, SV:, VS:, Antw:, Rif:,
 *	Ref:, R:, Odp:, Tr:, RV:, Enc:, ...), their numbered forms
 *	("Re[2]:", "Re^2:", "Re(2):") and the bracketed forward form
 *	("[Fwd: title]") are removed in any order and repetition.
 *	White space, including any control character, is collapsed to
 *	one space and trimmed. The result is never empty: a subject with
 *	nothing left is "(no subject)".
 *
 *	fg_subject_is_forward() tells whether the first prefix (after
 *	list tags) is a forward one (Fwd:, FW:, WG:, TR:, RV:, Enc:, ...):
 *	the quoted header block in such a mail is the content.
 *
 *	A bracketed tag is only removed when text follows it, so a
 *	subject that is nothing but "[announce]" keeps its words.
 * DIAGNOSTICS
 *	None; the result is allocated with fg_xmalloc() and the caller
 *	frees it.
 */

#include <stdbool.h>

#define FG_SUBJECT_EMPTY "(no subject)"

/* fg_subject_normalize - topic title of a subject, caller frees */
char *fg_subject_normalize(const char *subject_utf8);

/* fg_subject_is_forward - the subject marks a forwarded message */
bool fg_subject_is_forward(const char *subject_utf8);

#endif
