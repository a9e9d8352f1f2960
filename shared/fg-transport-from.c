/*
 * NAME
 *	fg-transport-from 3 - a route's From rewrite
 * DESCRIPTION
 *	See fg-transport.h, fg_from_rewrite(). GMime parses and encodes
 *	the addresses (quoting, comments, RFC 2047 names); the header
 *	block around them is edited as text. Parsing the whole message
 *	with GMime and writing it again would re-encode parts of the
 *	body and cost a parse per recipient of a fan-out, which shares
 *	one built copy among all of them; only three fields change here.
 */
#include "fg-transport.h"
#include "fg-common.h"
#include "fg-charset.h"
#include "fg-listmsg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>

/* longest From or Reply-To value taken */
#define FG_FROM_VALUE_MAX 900

/* one header field of the message, continuation lines included */
struct fg_from_field {
	const char *start;	/* the field name */
	size_t len;		/* through the last line end */
};

/* fg_from_fields - the header fields, and where the header ends */
static size_t fg_from_fields(const char *data, size_t size,
			     struct fg_from_field **fields_r, size_t *n_r)
{
	struct fg_from_field *fields = NULL;
	size_t n = 0, pos = 0;

	while (pos < size) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) + 1 : size;
		size_t content = end - pos;

		while (content > 0 && (data[pos + content - 1] == '\n' ||
				       data[pos + content - 1] == '\r'))
			content--;
		if (content == 0)
			break;		/* the empty line: the body follows */
		if ((data[pos] == ' ' || data[pos] == '\t') && n > 0)
			fields[n - 1].len = end - (size_t)(fields[n - 1].start -
							   data);
		else {
			fields = fg_xrealloc(fields, (n + 1) * sizeof(*fields));
			fields[n].start = data + pos;
			fields[n].len = end - pos;
			n++;
		}
		pos = end;
	}
	*fields_r = fields;
	*n_r = n;
	return pos;
}

/* fg_from_is - the field has this name */
static bool fg_from_is(const struct fg_from_field *f, const char *name)
{
	size_t len = strlen(name);

	return f->len > len && f->start[len] == ':' &&
		strncasecmp(f->start, name, len) == 0;
}

/* fg_from_value - the field's value unfolded and trimmed */
static char *fg_from_value(const struct fg_from_field *f)
{
	const char *colon = memchr(f->start, ':', f->len);
	const char *end = f->start + f->len;
	struct fg_buf b = { NULL, 0, 0 };

	fg_buf_puts(&b, "");
	for (const char *p = colon + 1; p < end; p++) {
		if (*p != '\r' && *p != '\n')
			fg_buf_putc(&b, *p);
	}
	fg_str_trim(b.s);
	return fg_buf_steal(&b);
}

/* fg_from_line - "Name: value" with the message's line end */
static void fg_from_line(struct fg_buf *out, const char *name,
			 const char *value, const char *eol)
{
	fg_buf_printf(out, "%s: %s%s", name, value, eol);
}

/* fg_from_rewrite - see fg-transport.h */
int fg_from_rewrite(const char *data, size_t size, const char *address,
		    char **out_r, size_t *out_size_r, const char **error_r)
{
	struct fg_from_field *fields, *from = NULL, *reply = NULL;
	InternetAddressList *from_list = NULL, *reply_list = NULL, *new_from;
	InternetAddress *author, *ia;
	struct fg_buf out = { NULL, 0, 0 };
	char *from_raw = NULL, *reply_raw = NULL, *s, *original;
	const char *eol, *addr, *name;
	size_t n, body;
	int ret = -1;

	body = fg_from_fields(data, size, &fields, &n);
	for (size_t i = 0; i < n; i++) {
		if (fg_from_is(&fields[i], "From")) {
			if (from != NULL) {
				*error_r = "from=: the message has two From "
					"headers";
				goto done;
			}
			from = &fields[i];
		} else if (fg_from_is(&fields[i], "Reply-To")) {
			if (reply != NULL) {
				*error_r = "from=: the message has two "
					"Reply-To headers";
				goto done;
			}
			reply = &fields[i];
		}
	}
	if (from == NULL) {
		*error_r = "from=: the message has no From header";
		goto done;
	}
	from_raw = fg_from_value(from);
	reply_raw = reply != NULL ? fg_from_value(reply) : NULL;
	if (strlen(from_raw) > FG_FROM_VALUE_MAX ||
	    (reply_raw != NULL && strlen(reply_raw) > FG_FROM_VALUE_MAX)) {
		*error_r = "from=: From or Reply-To is too long";
		goto done;
	}
	from_list = internet_address_list_parse(NULL, from_raw);
	if (from_list == NULL || internet_address_list_length(from_list) != 1 ||
	    !INTERNET_ADDRESS_IS_MAILBOX(
		    internet_address_list_get_address(from_list, 0))) {
		*error_r = "from=: From is not one address";
		goto done;
	}
	author = internet_address_list_get_address(from_list, 0);
	addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(author));
	name = internet_address_get_name(author);
	if (addr == NULL || strchr(addr, '@') == NULL) {
		*error_r = "from=: From has no address";
		goto done;
	}
	if (strcasecmp(addr, address) == 0) {
		/* already from the route's address: nothing to do */
		*out_r = fg_xmalloc(size + 1);
		memcpy(*out_r, data, size);
		(*out_r)[size] = '\0';
		*out_size_r = size;
		ret = 0;
		goto done;
	}
	eol = from->len >= 2 && from->start[from->len - 2] == '\r' ?
		"\r\n" : "\n";

	new_from = internet_address_list_new();
	ia = internet_address_mailbox_new(name, address);
	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(new_from, ia);
	g_object_unref(ia);
	reply_list = reply_raw != NULL ?
		internet_address_list_parse(NULL, reply_raw) : NULL;
	if (reply_list == NULL)
		reply_list = internet_address_list_new();
	if (!fg_listmsg_reply_has(reply_list, addr))
		internet_address_list_add(reply_list, author);
	original = fg_mail_clean_line(from_raw);

	for (size_t i = 0; i < n; i++) {
		const struct fg_from_field *f = &fields[i];

		if (f == from) {
			s = internet_address_list_to_string(new_from, NULL,
							    TRUE);
			fg_from_line(&out, "From", s, eol);
			g_free(s);
			if (reply == NULL) {
				s = internet_address_list_to_string(
					reply_list, NULL, TRUE);
				fg_from_line(&out, "Reply-To", s, eol);
				g_free(s);
			}
		} else if (f == reply) {
			s = internet_address_list_to_string(reply_list, NULL,
							    TRUE);
			fg_from_line(&out, "Reply-To", s, eol);
			g_free(s);
		} else if (!fg_from_is(f, "X-Original-From")) {
			fg_buf_append(&out, f->start, f->len);
		}
	}
	fg_from_line(&out, "X-Original-From", original, eol);
	fg_buf_append(&out, data + body, size - body);
	free(original);
	g_object_unref(new_from);
	*out_size_r = out.len;
	*out_r = fg_buf_steal(&out);
	ret = 0;
done:
	if (from_list != NULL)
		g_object_unref(from_list);
	if (reply_list != NULL)
		g_object_unref(reply_list);
	free(from_raw);
	free(reply_raw);
	free(fields);
	return ret;
}
