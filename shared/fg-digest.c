/*
 * NAME
 *	fg-digest 3 - a list's digest of posts, as one mail
 * DESCRIPTION
 *	See fg-digest.h. The posts are read and the digest is written
 *	with GMime; thread order follows In-Reply-To and References as
 *	fg-threading.c reads them for the forum.
 */
#include "fg-digest.h"
#include "fg-charset.h"
#include "fg-common.h"
#include "fg-html.h"
#include "fg-listmsg.h"
#include "fg-listmsg-private.h"
#include "fg-mail-private.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* References looked at per post for its parent (the last ones) */
#define FG_DIGEST_REFS_MAX 50
#define FG_DIGEST_NONE SIZE_MAX

/* the headers of a post a digest reader needs (Mailman's
   mime_digest_keep_headers, with the threading headers); Content-*
   headers stay too */
static const char *const fg_digest_keep[] = {
	"Date", "From", "To", "Cc", "Reply-To", "Subject", "Message-ID",
	"In-Reply-To", "References", "Keywords", "MIME-Version",
};

/* One post of the issue, read. */
struct fg_digest_item {
	GMimeMessage *msg;		/* NULL: not a MIME message */
	const char *id;			/* Message-ID without <>, or NULL */
	char *irt;			/* In-Reply-To's first id, or NULL */
	char **refs;			/* References, oldest first */
	size_t n_refs;
	size_t parent;			/* index, or FG_DIGEST_NONE */
	const char *key;		/* the thread, for its root */
	bool placed;
};

/* fg_digest_format_parse - see fg-digest.h */
int fg_digest_format_parse(const char *name, enum fg_digest_format *format_r)
{
	if (strcmp(name, "mime") == 0)
		*format_r = FG_DIGEST_MIME;
	else if (strcmp(name, "rfc1153") == 0)
		*format_r = FG_DIGEST_RFC1153;
	else
		return -1;
	return 0;
}

/* fg_digest_ids - the message ids of a References-like header (caller
   frees with fg_strv_free) */
static char **fg_digest_ids(GMimeMessage *msg, const char *name, size_t *n_r)
{
	const char *value = g_mime_object_get_header(GMIME_OBJECT(msg), name);
	GMimeReferences *refs;
	char **ids;
	int count;

	*n_r = 0;
	if (value == NULL)
		return NULL;
	refs = g_mime_references_parse(NULL, value);
	if (refs == NULL)
		return NULL;
	count = g_mime_references_length(refs);
	ids = fg_xcalloc((size_t)count + 1, sizeof(*ids));
	for (int i = 0; i < count; i++)
		ids[(*n_r)++] = fg_xstrdup(g_mime_references_get_message_id(
						   refs, i));
	g_mime_references_free(refs);
	return ids;
}

/* fg_digest_read - parse the posts (unreadable ones get msg NULL) */
static struct fg_digest_item *fg_digest_read(const struct fg_digest_post *posts,
					     size_t n)
{
	struct fg_digest_item *items = fg_xcalloc(n + 1, sizeof(*items));

	for (size_t i = 0; i < n; i++) {
		struct fg_digest_item *it = &items[i];
		GMimeParserOptions *options;
		char **irt;
		size_t n_irt;

		it->parent = FG_DIGEST_NONE;
		if (posts[i].message == NULL)
			continue;
		it->msg = fg_mail_construct(posts[i].message, posts[i].size,
					    &options);
		g_mime_parser_options_free(options);
		if (it->msg == NULL)
			continue;
		it->id = g_mime_message_get_message_id(it->msg);
		if (it->id != NULL && *it->id == '\0')
			it->id = NULL;
		irt = fg_digest_ids(it->msg, "In-Reply-To", &n_irt);
		if (n_irt > 0) {
			it->irt = irt[0];
			irt[0] = NULL;
		}
		fg_strv_free(irt, n_irt);
		it->refs = fg_digest_ids(it->msg, "References", &it->n_refs);
	}
	return items;
}

/* fg_digest_free_items - the parsed posts */
static void fg_digest_free_items(struct fg_digest_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].msg != NULL)
			g_object_unref(items[i].msg);
		free(items[i].irt);
		fg_strv_free(items[i].refs, items[i].n_refs);
	}
	free(items);
}

/* fg_digest_find - the readable post other than self with this id */
static size_t fg_digest_find(const struct fg_digest_item *items, size_t n,
			     size_t self, const char *id)
{
	if (id == NULL)
		return FG_DIGEST_NONE;
	for (size_t j = 0; j < n; j++) {
		if (j != self && items[j].id != NULL &&
		    strcmp(items[j].id, id) == 0)
			return j;
	}
	return FG_DIGEST_NONE;
}

/* fg_digest_link - each post's parent in the issue, cycles broken, and
   each post's thread key (its root's) */
static void fg_digest_link(struct fg_digest_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fg_digest_item *it = &items[i];
		size_t stop = it->n_refs > FG_DIGEST_REFS_MAX ?
			it->n_refs - FG_DIGEST_REFS_MAX : 0;

		if (it->msg == NULL)
			continue;
		it->parent = fg_digest_find(items, n, i, it->irt);
		for (size_t r = it->n_refs; r > stop &&
		     it->parent == FG_DIGEST_NONE; r--)
			it->parent = fg_digest_find(items, n, i,
						    it->refs[r - 1]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t at = i, steps = 0;

		if (items[i].msg == NULL)
			continue;
		while (items[at].parent != FG_DIGEST_NONE && steps <= n) {
			at = items[at].parent;
			steps++;
		}
		if (steps > n) {
			/* a cycle of replies: this post starts its thread */
			items[i].parent = FG_DIGEST_NONE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct fg_digest_item *it = &items[i];

		if (it->msg == NULL || it->parent != FG_DIGEST_NONE)
			continue;
		if (it->n_refs > 0)
			it->key = it->refs[0];
		else if (it->irt != NULL)
			it->key = it->irt;
		else
			it->key = it->id;
	}
}

/* fg_digest_place - post i and its replies, depth first, in order_r */
static void fg_digest_place(struct fg_digest_item *items, size_t n, size_t i,
			    size_t *order_r, size_t *count)
{
	items[i].placed = true;
	order_r[(*count)++] = i;
	for (size_t j = 0; j < n; j++) {
		if (items[j].msg != NULL && !items[j].placed &&
		    items[j].parent == i)
			fg_digest_place(items, n, j, order_r, count);
	}
}

/* fg_digest_same_thread - roots a and b start the same thread */
static bool fg_digest_same_thread(const struct fg_digest_item *a,
				  const struct fg_digest_item *b)
{
	return a->key != NULL && b->key != NULL && strcmp(a->key, b->key) == 0;
}

/* fg_digest_order_items - see fg_digest_order() */
static size_t fg_digest_order_items(struct fg_digest_item *items, size_t n,
				    size_t *order_r)
{
	size_t count = 0;

	fg_digest_link(items, n);
	for (size_t i = 0; i < n; i++) {
		if (items[i].msg == NULL || items[i].placed ||
		    items[i].parent != FG_DIGEST_NONE)
			continue;
		fg_digest_place(items, n, i, order_r, &count);
		for (size_t j = i + 1; j < n; j++) {
			if (items[j].msg != NULL && !items[j].placed &&
			    items[j].parent == FG_DIGEST_NONE &&
			    fg_digest_same_thread(&items[i], &items[j]))
				fg_digest_place(items, n, j, order_r, &count);
		}
	}
	return count;
}

/* fg_digest_order - see fg-digest.h */
size_t fg_digest_order(const struct fg_digest_post *posts, size_t n,
		       size_t *order_r)
{
	struct fg_digest_item *items = fg_digest_read(posts, n);
	size_t count = fg_digest_order_items(items, n, order_r);

	fg_digest_free_items(items, n);
	return count;
}

/* fg_digest_field - one line of header text for the table of contents:
   control characters gone, cut at a character boundary */
static char *fg_digest_field(const char *text)
{
	char *s = fg_mail_clean_line(text != NULL ? text : "");
	size_t len = strlen(s);

	if (len > FG_DIGEST_TOC_FIELD_MAX) {
		len = FG_DIGEST_TOC_FIELD_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
		s[len] = '\0';
	}
	return s;
}

/* fg_digest_subject - the post's decoded subject, cleaned */
static char *fg_digest_subject(GMimeMessage *msg)
{
	const char *subject = g_mime_message_get_subject(msg);

	return fg_digest_field(subject != NULL && *subject != '\0' ?
			       subject : "(no subject)");
}

/* fg_digest_author - the author's name, else address; with_address:
   "Name <address>" */
static char *fg_digest_author(GMimeMessage *msg, bool with_address)
{
	InternetAddressList *from = g_mime_message_get_from(msg);
	InternetAddress *ia;
	const char *name;
	char *text, *field;

	if (from == NULL || internet_address_list_length(from) == 0)
		return fg_xstrdup("(unknown)");
	ia = internet_address_list_get_address(from, 0);
	name = internet_address_get_name(ia);
	if (with_address || name == NULL || *name == '\0') {
		if (!with_address && INTERNET_ADDRESS_IS_MAILBOX(ia))
			return fg_digest_field(internet_address_mailbox_get_addr(
						       INTERNET_ADDRESS_MAILBOX(ia)));
		text = internet_address_to_string(ia, NULL, FALSE);
		field = fg_digest_field(text);
		g_free(text);
		return field;
	}
	return fg_digest_field(name);
}

/* fg_digest_title - "[LIST] Digest, Vol N, Issue M" */
static char *fg_digest_title(const struct fg_digest_set *set)
{
	return fg_xasprintf("[%s] Digest, Vol %lld, Issue %lld",
			    set->list->name, set->volume, set->issue);
}

/* fg_digest_masthead - Mailman's digest masthead and the table of
   contents, LF line ends */
static void fg_digest_masthead(struct fg_buf *b, struct fg_digest_item *items,
			       const struct fg_digest_post *posts,
			       const size_t *order, size_t count,
			       const struct fg_digest_set *set)
{
	const char *address = set->list->address;
	const char *at = strrchr(address, '@');
	int local_len = (int)(at - address);
	char *title = fg_digest_title(set);

	fg_buf_printf(b, "%s\n\n", title);
	fg_buf_printf(b, "Send %s mailing list submissions to\n\t%s\n\n",
		      set->list->name, address);
	fg_buf_printf(b, "To unsubscribe, send a message to\n\t%.*s-leave%s\n\n",
		      local_len, address, at);
	fg_buf_printf(b, "You can reach the person managing the list at\n"
		      "\t%.*s-owner%s\n\n", local_len, address, at);
	fg_buf_printf(b, "When replying, please edit your Subject line so it "
		      "is more specific\nthan \"Re: Contents of %s "
		      "digest...\"\n\n", set->list->name);
	fg_buf_puts(b, "Today's Topics:\n\n");
	for (size_t k = 0; k < count; k++) {
		size_t i = order[k];
		char *subject = fg_digest_subject(items[i].msg);
		char *author = fg_digest_author(items[i].msg, false);

		fg_buf_printf(b, "%4zu. %s (%s)\n", k + 1, subject, author);
		if (posts[i].url != NULL && *posts[i].url != '\0') {
			char *url = fg_digest_field(posts[i].url);

			fg_buf_printf(b, "      %s\n", url);
			free(url);
		}
		free(subject);
		free(author);
	}
	free(title);
}

/* fg_digest_footer - the footer template expanded, or NULL */
static int fg_digest_footer(const struct fg_digest_set *set, char **text_r,
			    const char **error_r)
{
	*text_r = NULL;
	if (set->footer == NULL || *set->footer == '\0')
		return 0;
	return fg_listmsg_footer_expand(set->footer, set->list, NULL, NULL,
					text_r, error_r);
}

/* fg_digest_text_part - a text/plain part in UTF-8, 7bit when it is
   ASCII in short lines, else quoted-printable (a plain GMimePart: GMime's text part and
   its best-encoding search would pick a charset of their own) */
static GMimeObject *fg_digest_text_part(const char *text, bool inline_part)
{
	GMimePart *part = g_mime_part_new_with_type("text", "plain");
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text,
								strlen(text));
	GMimeDataWrapper *content =
		g_mime_data_wrapper_new_with_stream(stream,
					GMIME_CONTENT_ENCODING_DEFAULT);
	bool ascii = true;
	size_t line = 0;

	/* 7bit: ASCII in lines SMTP carries (RFC 5322 2.1.1) */
	for (const char *p = text; *p != '\0' && ascii; p++) {
		line = *p == '\n' ? 0 : line + 1;
		ascii = (unsigned char)*p < 0x80 && line < 990;
	}
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	g_mime_part_set_content_encoding(part, ascii ?
					 GMIME_CONTENT_ENCODING_7BIT :
					 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	if (inline_part)
		g_mime_object_set_header(GMIME_OBJECT(part),
					 "Content-Disposition", "inline", NULL);
	return GMIME_OBJECT(part);
}

/* fg_digest_keep_only - remove the headers a digest reader does not
   need from a post */
static void fg_digest_keep_only(GMimeMessage *msg)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));

	for (int i = g_mime_header_list_get_count(list) - 1; i >= 0; i--) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h);
		bool keep = strncasecmp(name, "Content-", 8) == 0;

		for (size_t k = 0; !keep && k < G_N_ELEMENTS(fg_digest_keep); k++)
			keep = strcasecmp(name, fg_digest_keep[k]) == 0;
		if (!keep)
			g_mime_header_list_remove_at(list, i);
	}
}

/* Walking a post for its text (RFC 1153). */
struct fg_digest_walk {
	char *text;			/* the first text/plain part */
	char *html;			/* the first text/html part, as text */
	struct fg_buf left_out;		/* a line per attachment */
};

/* fg_digest_walk_part - one part of a post, depth levels deep */
static void fg_digest_walk_part(GMimeObject *obj, unsigned int depth,
				struct fg_digest_walk *walk)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *text = NULL, *type;
	const char *name = NULL;
	size_t len;

	if (depth > FG_LISTMSG_DEPTH_MAX)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			fg_digest_walk_part(g_mime_multipart_get_part(mp, i),
					    depth + 1, walk);
		return;
	}
	if (GMIME_IS_PART(obj)) {
		GMimePart *part = GMIME_PART(obj);

		name = g_mime_part_get_filename(part);
		if (!g_mime_part_is_attachment(part) && ct != NULL &&
		    g_mime_content_type_is_type(ct, "text", "plain") &&
		    walk->text == NULL &&
		    fg_listmsg_part_text(part, &text, &len) == 0) {
			walk->text = text;
			return;
		}
		if (!g_mime_part_is_attachment(part) && ct != NULL &&
		    g_mime_content_type_is_type(ct, "text", "html") &&
		    walk->html == NULL &&
		    fg_listmsg_part_text(part, &text, &len) == 0) {
			walk->html = fg_html_to_text(text, len);
			free(text);
			return;
		}
		if (ct != NULL && g_mime_content_type_is_type(ct, "text", "*") &&
		    !g_mime_part_is_attachment(part) && name == NULL &&
		    (walk->text != NULL || walk->html != NULL) &&
		    !g_mime_content_type_is_type(ct, "text", "plain"))
			return;	/* an alternative of the text taken */
	}
	type = ct != NULL ? g_mime_content_type_get_mime_type(ct) :
		g_strdup("application/octet-stream");
	text = fg_digest_field(name != NULL ? name : "");
	fg_buf_printf(&walk->left_out, "[attachment left out: %s%s%s]\n",
		      text, *text != '\0' ? ", " : "", type);
	free(text);
	g_free(type);
}

/* fg_digest_1153_post - one post in RFC 1153 form */
static void fg_digest_1153_post(struct fg_buf *b, size_t number,
				GMimeMessage *msg)
{
	struct fg_digest_walk walk = { 0 };
	const char *date = g_mime_object_get_header(GMIME_OBJECT(msg), "Date");
	const char *id = g_mime_message_get_message_id(msg);
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	char *s, *text;

	fg_buf_printf(b, "Message: %zu\n", number);
	if (date != NULL) {
		s = fg_digest_field(date);
		fg_buf_printf(b, "Date: %s\n", s);
		free(s);
	}
	s = fg_digest_author(msg, true);
	fg_buf_printf(b, "From: %s\n", s);
	free(s);
	s = fg_digest_subject(msg);
	fg_buf_printf(b, "Subject: %s\n", s);
	free(s);
	if (id != NULL && *id != '\0') {
		s = fg_digest_field(id);
		fg_buf_printf(b, "Message-ID: <%s>\n", s);
		free(s);
	}
	fg_buf_puts(b, "\n");
	if (body != NULL)
		fg_digest_walk_part(body, 0, &walk);
	text = walk.text != NULL ? walk.text : walk.html;
	if (text != NULL) {
		char *clean = fg_mail_clean_text(text, strlen(text));
		const char *line = clean;

		/* a line that could pass for the separator is stuffed */
		while (*line != '\0') {
			const char *end = strchr(line, '\n');
			size_t len = end != NULL ? (size_t)(end - line) :
				strlen(line);

			if (strncmp(line, "------------------------------",
				    30) == 0)
				fg_buf_putc(b, ' ');
			fg_buf_append(b, line, len);
			fg_buf_putc(b, '\n');
			line += len + (end != NULL ? 1 : 0);
		}
		free(clean);
	}
	if (walk.left_out.len > 0) {
		fg_buf_puts(b, "\n");
		fg_buf_append(b, walk.left_out.s, walk.left_out.len);
	}
	fg_buf_puts(b, "\n------------------------------\n\n");
	free(walk.text);
	free(walk.html);
	fg_buf_free(&walk.left_out);
}

/* fg_digest_body_1153 - the whole digest as RFC 1153 text */
static GMimeObject *fg_digest_body_1153(struct fg_digest_item *items,
					const struct fg_digest_post *posts,
					const size_t *order, size_t count,
					const struct fg_digest_set *set,
					const char *footer)
{
	struct fg_buf b = { 0 };
	GMimeObject *part;
	char *title = fg_digest_title(set), *text;
	size_t stars;

	fg_digest_masthead(&b, items, posts, order, count, set);
	fg_buf_puts(&b, "\n----------------------------------------"
		    "------------------------------\n\n");
	for (size_t k = 0; k < count; k++)
		fg_digest_1153_post(&b, k + 1, items[order[k]].msg);
	if (footer != NULL)
		fg_buf_printf(&b, "%s\n\n------------------------------\n\n",
			      footer);
	fg_buf_printf(&b, "End of %s\n", title);
	stars = strlen("End of ") + strlen(title);
	for (size_t i = 0; i < stars; i++)
		fg_buf_putc(&b, '*');
	fg_buf_putc(&b, '\n');
	text = fg_buf_steal(&b);
	part = fg_digest_text_part(text, false);
	free(text);
	free(title);
	return part;
}

/* fg_digest_body_mime - the digest as multipart/mixed: contents,
   multipart/digest, footer */
static GMimeObject *fg_digest_body_mime(struct fg_digest_item *items,
					const struct fg_digest_post *posts,
					const size_t *order, size_t count,
					const struct fg_digest_set *set,
					const char *footer)
{
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	GMimeMultipart *digest = g_mime_multipart_new_with_subtype("digest");
	struct fg_buf b = { 0 };
	GMimeObject *part;
	char *text;

	fg_digest_masthead(&b, items, posts, order, count, set);
	text = fg_buf_steal(&b);
	part = fg_digest_text_part(text, true);
	g_mime_object_set_header(part, "Content-Description",
				 "Today's Topics", NULL);
	free(text);
	g_mime_multipart_add(mixed, part);
	g_object_unref(part);
	for (size_t k = 0; k < count; k++) {
		GMimeMessage *msg = items[order[k]].msg;
		GMimeMessagePart *mp;

		fg_digest_keep_only(msg);
		mp = g_mime_message_part_new_with_message("rfc822", msg);
		g_mime_multipart_add(digest, GMIME_OBJECT(mp));
		g_object_unref(mp);
	}
	g_mime_multipart_add(mixed, GMIME_OBJECT(digest));
	g_object_unref(digest);
	if (footer != NULL) {
		part = fg_digest_text_part(footer, true);
		g_mime_multipart_add(mixed, part);
		g_object_unref(part);
	}
	return GMIME_OBJECT(mixed);
}

/* fg_digest_headers - From, To, Subject, Date, Message-ID and the list
   headers of the digest */
static int fg_digest_headers(GMimeMessage *out, const struct fg_digest_set *set,
			     const char **error_r)
{
	const struct fg_listmsg_list *list = set->list;
	const char *at = strrchr(list->address, '@');
	char *title = fg_digest_title(set), *from, *id;
	GDateTime *date;

	from = fg_xasprintf("%.*s-request%s", (int)(at - list->address),
			    list->address, at);
	g_mime_message_add_mailbox(out, GMIME_ADDRESS_TYPE_FROM,
				   list->display_name != NULL ?
				   list->display_name : list->name, from);
	g_mime_message_add_mailbox(out, GMIME_ADDRESS_TYPE_TO, NULL,
				   list->address);
	g_mime_message_set_subject(out, title, "utf-8");
	date = g_date_time_new_from_unix_utc(set->date);
	g_mime_message_set_date(out, date);
	g_date_time_unref(date);
	id = fg_xasprintf("digest.%lld.%lld.%lld.%s%s", set->volume,
			  set->issue, set->date, list->name, at);
	g_mime_message_set_message_id(out, id);
	g_mime_object_set_header(GMIME_OBJECT(out), "MIME-Version", "1.0",
				 NULL);
	free(from);
	free(id);
	free(title);
	if (fg_listmsg_set_headers(out, list, NULL, error_r) < 0)
		return -1;
	if (set->personal_unsubscribe) {
		fg_listmsg_remove_all(GMIME_OBJECT(out), "List-Unsubscribe");
		fg_listmsg_remove_all(GMIME_OBJECT(out),
				      "List-Unsubscribe-Post");
	}
	return 0;
}

/* fg_digest_build - see fg-digest.h */
int fg_digest_build(const struct fg_digest_post *posts, size_t n,
		    const struct fg_digest_set *set, char **data_r,
		    size_t *size_r, const char **error_r)
{
	struct fg_digest_item *items;
	GMimeMessage *out;
	GMimeObject *body;
	size_t *order, count;
	char *footer;

	*data_r = NULL;
	*size_r = 0;
	if (n > FG_DIGEST_POSTS_MAX) {
		*error_r = fg_errorf("a digest holds %d posts at most, not %zu",
				     FG_DIGEST_POSTS_MAX, n);
		return -1;
	}
	if (fg_listmsg_list_check(set->list, error_r) < 0 ||
	    fg_digest_footer(set, &footer, error_r) < 0)
		return -1;
	items = fg_digest_read(posts, n);
	order = fg_xcalloc(n + 1, sizeof(*order));
	count = fg_digest_order_items(items, n, order);
	if (count == 0) {
		*error_r = "no post of the digest is a readable message";
		fg_digest_free_items(items, n);
		free(order);
		free(footer);
		return -1;
	}
	out = g_mime_message_new(FALSE);
	if (fg_digest_headers(out, set, error_r) < 0) {
		g_object_unref(out);
		fg_digest_free_items(items, n);
		free(order);
		free(footer);
		return -1;
	}
	body = set->format == FG_DIGEST_RFC1153 ?
		fg_digest_body_1153(items, posts, order, count, set, footer) :
		fg_digest_body_mime(items, posts, order, count, set, footer);
	g_mime_message_set_mime_part(out, body);
	g_object_unref(body);
	*data_r = fg_listmsg_write(out, size_r);
	g_object_unref(out);
	fg_digest_free_items(items, n);
	free(order);
	free(footer);
	return 0;
}
