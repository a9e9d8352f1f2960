/*
 * NAME
 *	fg-listmsg-approve 3 - a moderator's passphrase found and removed
 * DESCRIPTION
 *	See fg-listmsg.h, fg_listmsg_approval(): where Mailman 3's
 *	"approved" rule looks for the passphrase (Approved: headers, the
 *	first line of the first text/plain part) and forumgate's
 *	"[approve:SECRET]" subject tag. Whatever is found is removed
 *	before the comparison, so that no path leaves it in the message.
 */
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-charset.h"
#include "fg-common.h"
#include "fg-msgid.h"
#include "fg-secret.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FG_LISTMSG_TAG_OPEN "[approve:"
/* Text parts looked at in one message. */
#define FG_LISTMSG_PARTS_MAX 256

/* Header names that carry a passphrase (Mailman 3's list). */
static const char *const fg_listmsg_approve_names[] = {
	"Approve", "Approved", "X-Approve", "X-Approved",
};

/* fg_listmsg_approve_name - the n bytes at s are one of the names */
static bool fg_listmsg_approve_name(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(fg_listmsg_approve_names) /
		     sizeof(fg_listmsg_approve_names[0]); i++) {
		const char *name = fg_listmsg_approve_names[i];
		if (strlen(name) == n && strncasecmp(name, s, n) == 0)
			return true;
	}
	return false;
}

/* fg_listmsg_take_headers - the first passphrase header's value, and
   every such header removed */
static char *fg_listmsg_take_headers(GMimeMessage *msg)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
	int count = g_mime_header_list_get_count(headers);
	char *found = NULL;

	for (int i = 0; i < count && found == NULL; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);
		const char *value = g_mime_header_get_value(h);

		if (fg_listmsg_approve_name(name, strlen(name)))
			found = fg_str_trim(fg_mail_clean_line(
						    value != NULL ? value : ""));
	}
	for (size_t i = 0; i < sizeof(fg_listmsg_approve_names) /
		     sizeof(fg_listmsg_approve_names[0]); i++)
		fg_listmsg_remove_all(obj, fg_listmsg_approve_names[i]);
	return found;
}

/* fg_listmsg_take_subject - the first "[approve:SECRET]" tag's secret,
   and every such tag removed from the Subject */
static char *fg_listmsg_take_subject(GMimeMessage *msg)
{
	char *charset = NULL, *subject = fg_listmsg_subject_get(msg, &charset);
	size_t open = strlen(FG_LISTMSG_TAG_OPEN);
	struct fg_buf out = { 0 };
	char *found = NULL;
	bool changed = false;

	if (subject == NULL)
		return NULL;
	for (const char *p = subject; *p != '\0';) {
		const char *end;

		if (strncasecmp(p, FG_LISTMSG_TAG_OPEN, open) != 0 ||
		    (end = strchr(p + open, ']')) == NULL) {
			fg_buf_putc(&out, *p++);
			continue;
		}
		if (found == NULL)
			found = fg_str_trim(fg_xstrndup(p + open,
							(size_t)(end - p) - open));
		changed = true;
		p = end + 1;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (changed) {
		/* one line: encoded words may have carried line breaks */
		char *clean;

		if (out.s == NULL)
			fg_buf_append(&out, "", 0);
		clean = fg_str_trim(fg_mail_clean_line(out.s));
		fg_listmsg_subject_put(msg, clean, charset);
		free(clean);
	}
	fg_buf_free(&out);
	free(subject);
	free(charset);
	return found;
}

/* fg_listmsg_text_parts - the leaf text parts in order, not inside an
   attached message, to FG_LISTMSG_DEPTH_MAX levels */
static void fg_listmsg_text_parts(GMimeObject *obj, int depth, GPtrArray *out)
{
	if (obj == NULL || depth > FG_LISTMSG_DEPTH_MAX ||
	    out->len >= FG_LISTMSG_PARTS_MAX)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (int i = 0; i < n; i++)
			fg_listmsg_text_parts(g_mime_multipart_get_part(
						      GMIME_MULTIPART(obj), i),
					      depth + 1, out);
		return;
	}
	if (GMIME_IS_PART(obj) &&
	    g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
					"text", "*"))
		g_ptr_array_add(out, obj);
}

/* fg_listmsg_take_line - the passphrase of an "Approved: SECRET" first
   non-blank line of the part, the line removed; *name_r is the header
   name as written (caller frees) */
static char *fg_listmsg_take_line(GMimePart *part, char **name_r)
{
	char *text, *found = NULL;
	const char *line, *colon, *eol;
	size_t len, line_len, name_len;

	*name_r = NULL;
	if (fg_listmsg_part_text(part, &text, &len) < 0)
		return NULL;
	line = text;
	for (;;) {
		eol = strchr(line, '\n');
		line_len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		if (strspn(line, " \t\r") < line_len || eol == NULL)
			break;
		line = eol + 1;
	}
	colon = memchr(line, ':', line_len);
	name_len = colon != NULL ? (size_t)(colon - line) : 0;
	if (colon != NULL && fg_listmsg_approve_name(line, name_len)) {
		struct fg_buf out = { 0 };
		size_t next = eol != NULL ? (size_t)(eol + 1 - text) : len;

		found = fg_str_trim(fg_xstrndup(colon + 1, line_len -
						name_len - 1));
		*name_r = fg_xstrndup(line, name_len);
		fg_buf_append(&out, text, (size_t)(line - text));
		fg_buf_append(&out, text + next, len - next);
		if (out.s == NULL)
			fg_buf_append(&out, "", 0);
		fg_listmsg_part_set_text(part, out.s, out.len);
		fg_buf_free(&out);
	}
	free(text);
	return found;
}

/* fg_listmsg_space_at - length of white space or "&nbsp;" at s */
static size_t fg_listmsg_space_at(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		return 1;
	if (strncasecmp(s, "&nbsp;", 6) == 0)
		return 6;
	return 0;
}

/* fg_listmsg_scrub - remove "NAME:" white space "SECRET" from a text
   part (Mailman's pattern, which fits the HTML alternative too) */
static void fg_listmsg_scrub(GMimePart *part, const char *name,
			     const char *secret)
{
	size_t name_len = strlen(name), secret_len = strlen(secret), len;
	struct fg_buf out = { 0 };
	bool changed = false;
	char *text;

	if (fg_listmsg_part_text(part, &text, &len) < 0)
		return;
	for (size_t i = 0; i < len;) {
		size_t j = i + name_len, n;

		if (len - i > name_len &&
		    strncasecmp(text + i, name, name_len) == 0 &&
		    text[j] == ':') {
			j++;
			while ((n = fg_listmsg_space_at(text + j)) > 0)
				j += n;
			if (strncmp(text + j, secret, secret_len) == 0) {
				i = j + secret_len;
				changed = true;
				continue;
			}
		}
		fg_buf_putc(&out, text[i++]);
	}
	if (changed) {
		if (out.s == NULL)
			fg_buf_append(&out, "", 0);
		fg_listmsg_part_set_text(part, out.s, out.len);
	}
	fg_buf_free(&out);
	free(text);
}

/* fg_listmsg_take_body - Mailman's body form: the first text/plain
   part's first line, and the same text in the other text parts */
static char *fg_listmsg_take_body(GMimeMessage *msg)
{
	GPtrArray *parts = g_ptr_array_new();
	GMimePart *first = NULL;
	char *found = NULL, *name = NULL;

	fg_listmsg_text_parts(g_mime_message_get_mime_part(msg), 0, parts);
	for (guint i = 0; i < parts->len && first == NULL; i++) {
		GMimeObject *obj = g_ptr_array_index(parts, i);
		if (g_mime_content_type_is_type(
			    g_mime_object_get_content_type(obj), "text", "plain"))
			first = GMIME_PART(obj);
	}
	if (first != NULL)
		found = fg_listmsg_take_line(first, &name);
	if (found != NULL && *found != '\0') {
		for (guint i = 0; i < parts->len; i++) {
			GMimePart *part = g_ptr_array_index(parts, i);
			if (part != first)
				fg_listmsg_scrub(part, name, found);
		}
	}
	g_ptr_array_free(parts, TRUE);
	free(name);
	return found;
}

/* fg_listmsg_secret_equal - equal passphrases, in time that does not
   depend on where they differ: both are hashed to the same length */
static bool fg_listmsg_secret_equal(const char *given, const char *secret)
{
	static const char key[] = "forumgate approve";
	char a[65], b[65];

	fg_hmac_sha256_hex(key, sizeof(key) - 1, given, strlen(given), a);
	fg_hmac_sha256_hex(key, sizeof(key) - 1, secret, strlen(secret), b);
	return fg_mem_equal_ct(a, b, 64);
}

/* fg_listmsg_approval - see fg-listmsg.h */
int fg_listmsg_approval(GMimeMessage *msg, const char *secret,
			enum fg_listmsg_approve *result_r,
			const char **error_r)
{
	char *header, *tag, *body = NULL, *found;

	*result_r = FG_LISTMSG_APPROVE_NONE;
	if (secret != NULL && strlen(secret) > FG_LISTMSG_SECRET_MAX) {
		*error_r = fg_errorf("approve: passphrase longer than %d "
				     "bytes", FG_LISTMSG_SECRET_MAX);
		return -1;
	}
	/* every form is removed, whichever is used */
	header = fg_listmsg_take_headers(msg);
	tag = fg_listmsg_take_subject(msg);
	if (header == NULL && tag == NULL)
		body = fg_listmsg_take_body(msg);
	found = header != NULL ? header : tag != NULL ? tag : body;
	if (found != NULL) {
		*result_r = secret != NULL && *secret != '\0' &&
			*found != '\0' &&
			strlen(found) <= FG_LISTMSG_SECRET_MAX &&
			fg_listmsg_secret_equal(found, secret) ?
			FG_LISTMSG_APPROVE_MATCH : FG_LISTMSG_APPROVE_MISMATCH;
	}
	fg_secret_free(&header);
	fg_secret_free(&tag);
	fg_secret_free(&body);
	return 0;
}
