/*
 * NAME
 *	fg-listmsg 3 - the header changes a list makes to a post
 * DESCRIPTION
 *	See fg-listmsg.h: the checks of a list's values, the subject tag
 *	and the list headers. The others are in their own files: the
 *	footer (fg-listmsg-body.c), the passphrase (fg-listmsg-approve.c),
 *	the unsubscribe token (fg-listmsg-token.c) and the DMARC From
 *	munging (fg-listmsg-dmarc.c). GMime decodes and encodes the header text; this file decides
 *	what goes in and refuses any value that could end a header.
 */
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-charset.h"
#include "fg-common.h"
#include "fg-compose.h"
#include "fg-listmail.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FG_LISTMSG_NO_SUBJECT "(no subject)"

/* fg_listmsg_text_ok - header text: no control character, bounded */
static bool fg_listmsg_text_ok(const char *s, size_t max)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* fg_listmsg_url_ok - an http(s) URL that can stand in <...> */
static bool fg_listmsg_url_ok(const char *url, bool https_only)
{
	if (url == NULL || strlen(url) > FG_LISTMSG_VALUE_MAX)
		return false;
	if (strncasecmp(url, "https://", 8) != 0 &&
	    (https_only || strncasecmp(url, "http://", 7) != 0))
		return false;
	for (const char *p = url; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' ||
		    c == '"')
			return false;
	}
	return true;
}

/* fg_listmsg_list_check - see fg-listmsg.h */
int fg_listmsg_list_check(const struct fg_listmsg_list *list,
			  const char **error_r)
{
	if (list == NULL || list->name == NULL ||
	    !fg_list_name_valid(list->name)) {
		*error_r = fg_errorf("listmsg: invalid list name");
		return -1;
	}
	if (!fg_compose_address_valid(list->address)) {
		*error_r = fg_errorf("listmsg: invalid list address");
		return -1;
	}
	if (list->display_name != NULL &&
	    !fg_listmsg_text_ok(list->display_name, 200)) {
		*error_r = fg_errorf("listmsg: invalid list display name");
		return -1;
	}
	if (list->list_id != NULL) {
		if (!fg_listmsg_text_ok(list->list_id, 255) ||
		    strpbrk(list->list_id, " <>\"\\@") != NULL ||
		    strchr(list->list_id, '.') == NULL) {
			*error_r = fg_errorf("listmsg: invalid List-Id");
			return -1;
		}
		for (const char *p = list->list_id; *p != '\0'; p++) {
			if ((unsigned char)*p >= 0x7f) {
				*error_r = fg_errorf("listmsg: invalid List-Id");
				return -1;
			}
		}
	}
	if (list->unsubscribe_base != NULL &&
	    (!fg_listmsg_url_ok(list->unsubscribe_base, true) ||
	     strlen(list->unsubscribe_base) > FG_LISTMSG_BASE_MAX)) {
		*error_r = fg_errorf("listmsg: invalid unsubscribe URL "
				     "(https, printable ASCII)");
		return -1;
	}
	return 0;
}

/* fg_listmsg_remove_all - see fg-listmsg-private.h */
void fg_listmsg_remove_all(GMimeObject *obj, const char *name)
{
	while (g_mime_object_remove_header(obj, name))
		;
}

/* fg_listmsg_header_end - end the last header with a line break: GMime
   keeps the raw value of a header cut off at the end of the input
   without one, and a header appended after it would join its line */
void fg_listmsg_header_end(GMimeObject *obj)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(headers);
	GMimeHeader *h;
	const char *raw;
	char *fixed;

	if (n == 0)
		return;
	h = g_mime_header_list_get_header_at(headers, n - 1);
	raw = g_mime_header_get_raw_value(h);
	if (raw == NULL || (*raw != '\0' && raw[strlen(raw) - 1] == '\n'))
		return;
	fixed = fg_xasprintf("%s\n", raw);
	g_mime_header_set_raw_value(h, fixed);
	free(fixed);
}

/* fg_listmsg_append_raw - append a header whose checked ASCII value
   goes out as it is: GMime would turn a long URL, which it cannot
   fold, into encoded words, and RFC 2369 readers want the URL bare */
static void fg_listmsg_append_raw(GMimeObject *obj, const char *name,
				  const char *value)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
	char *raw = fg_xasprintf(" %s\n", value);
	GMimeHeader *h;

	fg_listmsg_header_end(obj);
	g_mime_object_append_header(obj, name, "", NULL);
	h = g_mime_header_list_get_header_at(
		headers, g_mime_header_list_get_count(headers) - 1);
	g_mime_header_set_raw_value(h, raw);
	free(raw);
}

/* fg_listmsg_cut - cut a UTF-8 string to at most max bytes between
   characters */
static void fg_listmsg_cut(char *s, size_t max)
{
	s[fg_utf8_prefix_len(s, max)] = '\0';
}

/* fg_listmsg_tag_at - length of "[tag]" or "[tag N]" at s (Mailman's
   escaped prefix, with "%d" matching any number), 0 when none */
static size_t fg_listmsg_tag_at(const char *s, const char *tag,
				bool numbered)
{
	size_t n = strlen(tag), i;

	if (s[0] != '[' || strncasecmp(s + 1, tag, n) != 0)
		return 0;
	i = 1 + n;
	if (numbered) {
		size_t digits = 0;

		while (s[i] == ' ' || s[i] == '\t')
			i++;
		while (isdigit((unsigned char)s[i])) {
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
		while (s[i] == ' ' || s[i] == '\t')
			i++;
	}
	if (s[i] != ']')
		return 0;
	return i + 1;
}

/* fg_listmsg_reply_len - length of Mailman's RE_PATTERN at s: a run
   of "Re:", "AW:", "SV:", "VS:" (any case, "[N]" allowed), with the
   white space around them; 0 when s does not start with one */
static size_t fg_listmsg_reply_len(const char *s)
{
	static const char *const words[] = { "re", "aw", "sv", "vs" };
	size_t end = 0, i = 0;

	for (;;) {
		size_t j = i, w;

		while (s[j] == ' ' || s[j] == '\t')
			j++;
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			if (strncasecmp(s + j, words[w], 2) == 0)
				break;
		}
		if (w == sizeof(words) / sizeof(words[0]))
			return end;
		j += 2;
		if (s[j] == '[') {
			size_t k = j + 1;
			while (isdigit((unsigned char)s[k]))
				k++;
			if (k == j + 1 || s[k] != ']')
				return end;
			j = k + 1;
		}
		while (s[j] == ' ' || s[j] == '\t')
			j++;
		if (s[j] != ':')
			return end;
		j++;
		while (s[j] == ' ' || s[j] == '\t')
			j++;
		end = i = j;
	}
}

/* fg_listmsg_tag_text - see fg-listmsg.h */
char *fg_listmsg_tag_text(const char *subject, const char *tag,
			  long long number)
{
	char *clean = fg_mail_clean_line(subject != NULL ? subject : "");
	struct fg_buf out = { 0 };
	const char *rest;
	size_t reply;
	char *result;

	fg_listmsg_cut(clean, FG_LISTMSG_SUBJECT_MAX);
	/* every copy of the tag, and the white space after it */
	for (const char *p = clean; *p != '\0';) {
		size_t n = fg_listmsg_tag_at(p, tag, number > 0);

		if (n == 0) {
			fg_buf_putc(&out, *p++);
			continue;
		}
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (out.s == NULL)
		fg_buf_append(&out, "", 0);
	fg_str_trim(out.s);
	rest = out.s;
	reply = fg_listmsg_reply_len(rest);
	rest += reply;
	if (number > 0)
		result = fg_xasprintf("[%s %lld] %s%s", tag, number,
				      reply > 0 ? "Re: " : "",
				      *rest != '\0' ? rest :
				      FG_LISTMSG_NO_SUBJECT);
	else
		result = fg_xasprintf("[%s] %s%s", tag,
				      reply > 0 ? "Re: " : "",
				      *rest != '\0' ? rest :
				      FG_LISTMSG_NO_SUBJECT);
	fg_buf_free(&out);
	free(clean);
	return result;
}

/* fg_listmsg_word_charset - the charset of the first RFC 2047 encoded
   word in a raw header value, NULL when there is none */
static char *fg_listmsg_word_charset(const char *raw)
{
	for (const char *p = strstr(raw, "=?"); p != NULL;
	     p = strstr(p + 2, "=?")) {
		const char *cs = p + 2;
		size_t n = strcspn(cs, "?*");

		/* RFC 2231 language ("*en") follows the charset */
		if (n == 0 || n > 40 || (cs[n] != '?' && cs[n] != '*'))
			continue;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)cs[i];
			if (!(isalnum(c) || c == '-' || c == '_' || c == '.' ||
			      c == ':'))
				goto next;
		}
		return fg_xstrndup(cs, n);
	next:
		;
	}
	return NULL;
}

/* fg_listmsg_subject_get - see fg-listmsg-private.h */
char *fg_listmsg_subject_get(GMimeMessage *msg, char **charset_r)
{
	GMimeHeader *header = g_mime_header_list_get_header(
		g_mime_object_get_header_list(GMIME_OBJECT(msg)), "Subject");
	const char *raw = header != NULL ?
		g_mime_header_get_raw_value(header) : NULL;
	char *bounded, *text;
	gchar *decoded;

	*charset_r = NULL;
	if (raw == NULL)
		return NULL;
	/* the decoder is linear; only the bound is ours */
	bounded = fg_xstrndup(raw, strnlen(raw, 4 * FG_LISTMSG_SUBJECT_MAX));
	decoded = g_mime_utils_header_decode_text(NULL, bounded);
	*charset_r = fg_listmsg_word_charset(bounded);
	free(bounded);
	text = fg_xstrdup(decoded != NULL ? decoded : "");
	g_free(decoded);
	return text;
}

/* fg_listmsg_subject_put - see fg-listmsg-private.h */
void fg_listmsg_subject_put(GMimeMessage *msg, const char *text,
			    const char *charset)
{
	fg_listmsg_remove_all(GMIME_OBJECT(msg), "Subject");
	fg_listmsg_header_end(GMIME_OBJECT(msg));
	g_mime_message_set_subject(msg, text,
				   charset != NULL ? charset : "utf-8");
}

/* fg_listmsg_tag_subject - see fg-listmsg.h */
int fg_listmsg_tag_subject(GMimeMessage *msg, const char *tag,
			   long long number, const char **error_r)
{
	char *decoded, *tagged, *charset = NULL;

	if (tag == NULL || !fg_list_name_valid(tag)) {
		*error_r = fg_errorf("listmsg: invalid subject tag");
		return -1;
	}
	decoded = fg_listmsg_subject_get(msg, &charset);
	tagged = fg_listmsg_tag_text(decoded, tag, number);
	fg_listmsg_subject_put(msg, tagged, charset);
	free(decoded);
	free(tagged);
	free(charset);
	return 0;
}

/* fg_listmsg_split - the local part and the domain of the posting
   address (checked already), the local part copied */
static char *fg_listmsg_split(const char *address, const char **domain_r)
{
	const char *at = strrchr(address, '@');

	*domain_r = at + 1;
	return fg_xstrndup(address, (size_t)(at - address));
}

/* fg_listmsg_list_id - List-Id's value: "display" <id> */
static char *fg_listmsg_list_id(const struct fg_listmsg_list *list)
{
	const char *display = list->display_name != NULL ?
		list->display_name : list->name;
	char *id = list->list_id != NULL ? fg_xstrdup(list->list_id) :
		fg_listmail_default_id(list->address);
	GMimeFormatOptions *format = g_mime_format_options_new();
	char *phrase = g_mime_utils_header_encode_phrase(format, display,
							 "utf-8");
	char *value;

	/* GMime quotes a phrase with specials and encodes non-ASCII */
	value = fg_xasprintf("%s <%s>", phrase, id);
	g_free(phrase);
	g_mime_format_options_free(format);
	free(id);
	return value;
}

/* Headers a list owns: a sender's copies are removed first. */
static const char *const fg_listmsg_owned[] = {
	"List-Id", "List-Help", "List-Post", "List-Subscribe",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Owner",
	"List-Archive", "Precedence", "X-BeenThere",
};

/* fg_listmsg_set_headers - see fg-listmsg.h */
int fg_listmsg_set_headers(GMimeMessage *msg,
			   const struct fg_listmsg_list *list,
			   const char *topic_url, const char **error_r)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	const char *domain;
	char *local, *value;

	if (fg_listmsg_list_check(list, error_r) < 0)
		return -1;
	if (topic_url != NULL && !fg_listmsg_url_ok(topic_url, false)) {
		*error_r = fg_errorf("listmsg: invalid topic URL "
				     "(http or https, printable ASCII)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(fg_listmsg_owned) /
		     sizeof(fg_listmsg_owned[0]); i++)
		fg_listmsg_remove_all(obj, fg_listmsg_owned[i]);

	local = fg_listmsg_split(list->address, &domain);
	value = fg_listmsg_list_id(list);
	fg_listmsg_header_end(obj);
	g_mime_object_append_header(obj, "List-Id", value, NULL);
	free(value);
	value = fg_xasprintf("<mailto:%s-request@%s?subject=help>", local,
			     domain);
	fg_listmsg_append_raw(obj, "List-Help", value);
	free(value);
	value = fg_xasprintf("<mailto:%s>", list->address);
	fg_listmsg_append_raw(obj, "List-Post", value);
	free(value);
	value = fg_xasprintf("<mailto:%s-join@%s>", local, domain);
	fg_listmsg_append_raw(obj, "List-Subscribe", value);
	free(value);
	value = fg_xasprintf("<mailto:%s-leave@%s>", local, domain);
	fg_listmsg_append_raw(obj, "List-Unsubscribe", value);
	free(value);
	value = fg_xasprintf("<mailto:%s-owner@%s>", local, domain);
	fg_listmsg_append_raw(obj, "List-Owner", value);
	free(value);
	if (topic_url != NULL) {
		value = fg_xasprintf("<%s>", topic_url);
		fg_listmsg_append_raw(obj, "List-Archive", value);
		free(value);
	}
	g_mime_object_append_header(obj, "Precedence", "list", NULL);
	g_mime_object_append_header(obj, "X-BeenThere", list->address, NULL);
	free(local);
	return 0;
}

/* fg_listmsg_looped - see fg-listmsg.h */
bool fg_listmsg_looped(GMimeMessage *msg, const struct fg_listmsg_list *list)
{
	GMimeHeaderList *headers =
		g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int count = g_mime_header_list_get_count(headers);

	if (list == NULL || list->address == NULL)
		return false;
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *value = g_mime_header_get_value(h);
		char *clean;
		bool same;

		if (strcasecmp(g_mime_header_get_name(h), "X-BeenThere") != 0 ||
		    value == NULL)
			continue;
		clean = fg_mail_clean_line(value);
		same = strcasecmp(clean, list->address) == 0;
		free(clean);
		if (same)
			return true;
	}
	return false;
}

#define FG_LISTMSG_ONE_CLICK "List-Unsubscribe=One-Click"

/* fg_listmsg_unsub_value - List-Unsubscribe's value for one recipient,
   its two URIs on lines of their own (the https one can be long);
   NULL with *error_r */
static char *fg_listmsg_unsub_value(const struct fg_listmsg_list *list,
				    const char *secret, const char *recipient,
				    long long expires, const char *newline,
				    const char **error_r)
{
	const char *domain;
	char *url, *local, *value;

	url = fg_listmsg_unsub_url(list, secret, recipient, expires, error_r);
	if (url == NULL)
		return NULL;
	local = fg_listmsg_split(list->address, &domain);
	value = fg_xasprintf("<%s>,%s <mailto:%s-leave@%s>", url, newline,
			     local, domain);
	free(local);
	free(url);
	return value;
}

/* fg_listmsg_set_unsubscribe - see fg-listmsg.h */
int fg_listmsg_set_unsubscribe(GMimeMessage *msg,
			       const struct fg_listmsg_list *list,
			       const char *secret, const char *recipient,
			       long long expires, const char **error_r)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	char *value;

	if (fg_listmsg_list_check(list, error_r) < 0)
		return -1;
	if (list->unsubscribe_base == NULL)
		return 0;
	value = fg_listmsg_unsub_value(list, secret, recipient, expires, "\n",
				       error_r);
	if (value == NULL)
		return -1;
	fg_listmsg_remove_all(obj, "List-Unsubscribe");
	fg_listmsg_remove_all(obj, "List-Unsubscribe-Post");
	fg_listmsg_append_raw(obj, "List-Unsubscribe", value);
	g_mime_object_append_header(obj, "List-Unsubscribe-Post",
				    FG_LISTMSG_ONE_CLICK, NULL);
	free(value);
	return 0;
}

/* fg_listmsg_unsub_lines - see fg-listmsg.h */
int fg_listmsg_unsub_lines(const struct fg_listmsg_list *list,
			   const char *secret, const char *recipient,
			   long long expires, char **lines_r,
			   const char **error_r)
{
	char *value;

	*lines_r = NULL;
	if (fg_listmsg_list_check(list, error_r) < 0)
		return -1;
	if (list->unsubscribe_base == NULL) {
		*error_r = fg_errorf("listmsg: the list has no unsubscribe URL");
		return -1;
	}
	value = fg_listmsg_unsub_value(list, secret, recipient, expires,
				       "\r\n", error_r);
	if (value == NULL)
		return -1;
	*lines_r = fg_xasprintf("List-Unsubscribe: %s\r\n"
				"List-Unsubscribe-Post: " FG_LISTMSG_ONE_CLICK
				"\r\n", value);
	free(value);
	return 0;
}

