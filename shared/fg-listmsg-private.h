#ifndef FG_LISTMSG_PRIVATE_H
#define FG_LISTMSG_PRIVATE_H
/*
 * NAME
 *	fg-listmsg-private 3 - what the fg-listmsg files share
 * DESCRIPTION
 *	fg_listmsg_subject_get() is the message's Subject decoded to
 *	UTF-8 (NULL when it has none) and the charset of its first
 *	encoded word (*charset_r, NULL when none; caller frees both);
 *	fg_listmsg_subject_put() replaces the Subject with text, encoded
 *	in that charset where it can hold the text, else in UTF-8.
 *
 *	fg_listmsg_part_text() is the text of a MIME part, transfer
 *	encoding undone and converted from its charset (us-ascii when
 *	none is declared) to UTF-8; -1 when the charset is unknown or
 *	the bytes are not valid in it. fg_listmsg_part_set_text() puts
 *	UTF-8 text back: in the part's charset when it can hold the
 *	text, else as UTF-8 with the charset parameter changed; the
 *	Content-Transfer-Encoding stays, except that 7bit (or none)
 *	becomes quoted-printable when the text needs 8 bits.
 */
#include <stddef.h>
#include <gmime/gmime.h>

/* fg_listmsg_remove_all - remove every header of that name */
void fg_listmsg_remove_all(GMimeObject *obj, const char *name);
/* fg_listmsg_header_end - the last header ends with a line break */
void fg_listmsg_header_end(GMimeObject *obj);
/* fg_listmsg_subject_get - the decoded Subject and its charset */
char *fg_listmsg_subject_get(GMimeMessage *msg, char **charset_r);
/* fg_listmsg_subject_put - a new Subject in the charset if it can */
void fg_listmsg_subject_put(GMimeMessage *msg, const char *text,
			    const char *charset);
/* fg_listmsg_part_text - a part's text as UTF-8, or -1 */
int fg_listmsg_part_text(GMimePart *part, char **text_r, size_t *len_r);
/* fg_listmsg_part_set_text - new UTF-8 text for a part */
void fg_listmsg_part_set_text(GMimePart *part, const char *text, size_t len);
/* fg_listmsg_write - the message with CR LF line ends (caller frees) */
char *fg_listmsg_write(GMimeMessage *msg, size_t *size_r);

#endif
