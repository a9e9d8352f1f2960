/*
 * NAME
 *	fg-mailparse 3 - one list message as a normalized record
 * DESCRIPTION
 *	See fg-mailparse.h for the record that comes out. GMime parses
 *	the MIME structure and decodes headers and transfer encodings;
 *	charsets are converted with iconv (fg-charset.c), because GMime's
 *	own conversion replaces what it cannot convert with '?' and a
 *	forum post must show that something was lost (U+FFFD) rather
 *	than hide it. The list's footer is cut in fg-footer.c, the body
 *	trimmed in fg-trim.c and the sender found in fg-mailfrom.c; this
 *	file walks the MIME tree for the body, reads the
 *	other headers, bounds what GMime sees and puts the record
 *	together.
 *
 *	Every string that leaves this file went through a UTF-8 check,
 *	so a record never carries invalid UTF-8 or NUL bytes into Redis
 *	or the forum's JSON, whatever the mail contained.
 */
#include "fg-mailparse.h"
#include "fg-mail-private.h"
#include "fg-bounce.h"
#include "fg-classify.h"
#include "fg-common.h"
#include "fg-footer.h"
#include "fg-html.h"
#include "fg-listmail.h"
#include "fg-msgid.h"
#include "fg-quote.h"
#include "fg-subject.h"
#include "fg-text.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>

#define FG_MAIL_LIST_ID_MAX 255
#define FG_MAIL_SYNTH_HEX 24
/* Boundary lines GMime gets to see (see fg_mail_cut_parts). */
#define FG_MAIL_MAX_BOUNDARIES (FG_MAIL_MAX_PARTS * 3)
#define FG_MAIL_MAX_DASH_LINES 20000
/* An HTML part larger than this is the author's text, never a list
   footer part (spares converting it twice). */
#define FG_MAIL_FOOTER_PART_MAX 16384
/* Unclosed "=?" a header field may have before they are defused. */
#define FG_MAIL_OPEN_WORDS_MAX 16

static unsigned int fg_mail_refcount;

/* fg_parse_settings_init - see fg-mailparse.h */
int fg_parse_settings_init(struct fg_parse_settings *set,
			   const struct fg_config *config,
			   const char **error_r)
{
	const char *trimmed = config->show_trimmed;

	memset(set, 0, sizeof(*set));
	set->secret = config->secret;
	set->mail_domain = config->mail_domain;
	set->max_size = config->max_message_size;
	set->trusted_authserv_ids = config->trusted_authserv_ids;
	set->recipient_delimiter = config->recipient_delimiter;
	if (fg_text_format_parse(config->post_format, &set->format) < 0) {
		*error_r = fg_errorf("invalid post_format '%s' (markdown, "
				     "bbcode or html)", config->post_format);
		return -1;
	}
	if (trimmed != NULL && strcmp(trimmed, "details") == 0) {
		set->show_trimmed = true;
	} else if (trimmed != NULL && strcmp(trimmed, "no") != 0) {
		*error_r = fg_errorf("invalid show_trimmed '%s' (no or "
				     "details)", trimmed);
		return -1;
	}
	return 0;
}

/* fg_mail_init - start GMime for the first user */
void fg_mail_init(void)
{
	if (fg_mail_refcount++ == 0)
		g_mime_init();
}

/* fg_mail_deinit - stop GMime after the last user */
void fg_mail_deinit(void)
{
	if (fg_mail_refcount == 0)
		return;
	if (--fg_mail_refcount == 0)
		g_mime_shutdown();
}

/* fg_mail_part_text - the decoded text of a leaf part, in UTF-8 (HTML
   still HTML) */
static char *fg_mail_part_text(GMimePart *part, bool html)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	const char *charset, *format, *delsp;
	struct fg_buf conv = { 0 }, clean = { 0 };
	char *sniffed = NULL, *text;
	GMimeStream *stream;
	GByteArray *bytes;

	if (content == NULL)
		return fg_xstrdup("");
	stream = g_mime_stream_mem_new();
	/* this undoes the Content-Transfer-Encoding, leniently */
	g_mime_data_wrapper_write_to_stream(content, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));

	charset = g_mime_object_get_content_type_parameter(obj, "charset");
	if (html && (charset == NULL || *charset == '\0')) {
		sniffed = fg_html_sniff_charset((const char *)bytes->data,
						bytes->len);
		charset = sniffed;
	}
	fg_charset_to_utf8(&conv, charset, (const char *)bytes->data,
			   bytes->len);
	g_object_unref(stream);
	free(sniffed);
	fg_utf8_clean_text(&clean, conv.s, conv.len);
	fg_buf_free(&conv);

	if (html)
		return fg_buf_steal(&clean);	/* converted by the caller */
	format = g_mime_object_get_content_type_parameter(obj, "format");
	if (format != NULL && strcasecmp(format, "flowed") == 0) {
		delsp = g_mime_object_get_content_type_parameter(obj, "delsp");
		text = fg_mail_unflow(clean.s, delsp != NULL &&
				      strcasecmp(delsp, "yes") == 0);
		fg_buf_free(&clean);
		return text;
	}
	return fg_buf_steal(&clean);
}

/* The state of the walk over the MIME tree that looks for the body. */
struct fg_walk {
	unsigned int parts;
	const char *footer;	/* the list's declared footer, or NULL */
	char *text;		/* the body's text, NULL until found */
	bool html;		/* text is HTML, still to be converted */
};

/* fg_mail_blank - s is only white space */
static bool fg_mail_blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* fg_mail_walk_take - take an inline text part (text/plain, or also
   text/html when html) as the body, unless it is empty or nothing but
   a list footer: the part a list manager adds is never the body */
static bool fg_mail_walk_take(GMimeObject *obj, bool html,
			      struct fg_walk *walk)
{
	GMimeContentType *ct;
	char *text, *plain;
	bool skip;

	/* a forwarded message/rfc822 is an attachment, not the body */
	if (!GMIME_IS_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)))
		return false;
	ct = g_mime_object_get_content_type(obj);
	if (ct == NULL)
		return false;
	if (g_mime_content_type_is_type(ct, "text", "plain")) {
		text = fg_mail_part_text(GMIME_PART(obj), false);
		skip = fg_mail_blank(text) || fg_footer_only(text, walk->footer);
		html = false;
	} else if (html && g_mime_content_type_is_type(ct, "text", "html")) {
		text = fg_mail_part_text(GMIME_PART(obj), true);
		skip = false;
		if (strlen(text) <= FG_MAIL_FOOTER_PART_MAX) {
			/* small enough to be a footer part or empty */
			plain = fg_html_to_text(text, strlen(text));
			skip = fg_mail_blank(plain) ||
				fg_footer_only(plain, walk->footer);
			free(plain);
		}
	} else {
		return false;
	}
	if (skip) {
		free(text);
		return false;
	}
	walk->text = text;
	walk->html = html;
	return true;
}

/* fg_mail_walk - find the body: depth first, in document order, the
   first inline text part; inside a multipart/alternative its text/plain
   first. Bounded in parts and depth. */
static void fg_mail_walk(GMimeObject *obj, unsigned int depth,
			 struct fg_walk *walk)
{
	GMimeMultipart *mp;
	int n;

	if (obj == NULL || walk->text != NULL ||
	    walk->parts >= FG_MAIL_MAX_PARTS)
		return;
	walk->parts++;
	if (!GMIME_IS_MULTIPART(obj)) {
		(void)fg_mail_walk_take(obj, true, walk);
		return;
	}
	mp = GMIME_MULTIPART(obj);
	n = g_mime_multipart_get_count(mp);
	if (depth >= FG_MAIL_MAX_DEPTH)
		return;
	if (g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
					"multipart", "alternative")) {
		/* the plain text the sender's client wrote beside the
		   HTML is what reads best as a post */
		for (int i = 0; i < n && i < FG_MAIL_MAX_PARTS &&
		     walk->text == NULL; i++)
			(void)fg_mail_walk_take(
				g_mime_multipart_get_part(mp, i), false, walk);
	}
	for (int i = 0; i < n && walk->text == NULL; i++)
		fg_mail_walk(g_mime_multipart_get_part(mp, i), depth + 1, walk);
}

/* fg_mail_html_body - Markdown of an HTML body without the footer a
   list manager wrote into it; *html_cut_r gets the quote cut */
static char *fg_mail_html_body(const char *html, char **html_cut_r)
{
	size_t len = strlen(html), start = fg_footer_html_start(html, len);
	char *text = fg_html_to_markdown(html, start, html_cut_r);

	if (start < len && fg_mail_blank(text)) {
		/* never cut to nothing */
		free(text);
		free(*html_cut_r);
		text = fg_html_to_markdown(html, len, html_cut_r);
	}
	return text;
}

/* fg_mail_text_sketch - the sketch of all the text a message has, its
   quotes too: what a reply to it may quote */
static char *fg_mail_text_sketch(const char *text, const char *html_cut)
{
	char *all, *sketch;

	if (html_cut == NULL || *html_cut == '\0')
		return fg_quote_sketch(text);
	all = fg_xasprintf("%s\n%s", text, html_cut);
	sketch = fg_quote_sketch(all);
	free(all);
	return sketch;
}

/* fg_mail_quote_append - body with the trailing quote after it (a
   block of its own), its place and sketch in rec; frees both */
static char *fg_mail_quote_append(char *body, char *quote,
				  enum fg_text_format format,
				  struct fg_record *rec)
{
	char *rendered = fg_text_render(quote, format);
	char *both = fg_xasprintf("%s\n\n%s", body, rendered);

	rec->quote_start = strlen(body);
	rec->quote_end = strlen(both);
	rec->quote_sketch = fg_quote_sketch_quote(quote);
	free(rendered);
	free(body);
	free(quote);
	return both;
}

/* fg_mail_trimmed_summary - the summary line of the collapsed block */
#define FG_MAIL_TRIMMED_SUMMARY "Quoted text"

/* fg_mail_body - the text that is posted, and what was cut from it.
   The list's footer is cut before the quote: trimming looks for the
   quote at the end of the text. rec gets where a trailing quote
   without attribution is and the sketches the bridge compares
   (fg-quote.h). */
static char *fg_mail_body(GMimeMessage *msg,
			  const struct fg_parse_settings *set, bool forward,
			  char **trimmed_r, struct fg_record *rec)
{
	struct fg_walk walk = { 0, set->list_footer, NULL, false };
	char *text, *kept, *cut = NULL, *html_cut = NULL, *body, *footless;
	char *quote;
	bool plain = false;

	GMimeObject *top = g_mime_message_get_mime_part(msg);

	fg_mail_walk(top, 0, &walk);
	if (walk.text != NULL && !walk.html) {
		text = walk.text;
		plain = true;
	} else if (walk.text != NULL) {
		text = fg_mail_html_body(walk.text, &html_cut);
		free(walk.text);
	} else if (top != NULL && GMIME_IS_MULTIPART(top) &&
		   g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0 &&
		   g_mime_multipart_get_prologue(GMIME_MULTIPART(top)) !=
		   NULL) {
		/* a multipart without a single boundary line: the text
		   the sender wrote is all in what GMime calls prologue */
		const char *prologue =
			g_mime_multipart_get_prologue(GMIME_MULTIPART(top));
		text = fg_mail_clean_text(prologue, strlen(prologue));
		plain = true;
	} else {
		text = fg_xstrdup("");
	}
	footless = fg_footer_cut(text, set->list_footer, NULL);
	free(text);
	text = footless;
	if (plain) {
		/* text/plain is posted as it reads, also as Markdown */
		char *escaped = fg_text_escape_plain(text);

		free(text);
		text = escaped;
	}
	kept = fg_mail_trim_split_quote(text, forward, &cut, &quote);
	rec->text_sketch = fg_mail_text_sketch(text, html_cut);
	free(text);
	if (html_cut != NULL && *html_cut != '\0') {
		char *both = *cut != '\0' ?
			fg_xasprintf("%s\n\n%s", cut, html_cut) :
			fg_xstrdup(html_cut);
		free(cut);
		cut = both;
	}
	free(html_cut);
	body = fg_text_render(kept, set->format);
	if (quote != NULL)
		body = fg_mail_quote_append(body, quote, set->format, rec);
	if (set->show_trimmed && *cut != '\0') {
		char *details = fg_text_details(FG_MAIL_TRIMMED_SUMMARY, cut,
						set->format);
		char *both = fg_xasprintf("%s\n\n%s", body, details);

		free(details);
		free(body);
		body = both;
	}
	free(kept);
	*trimmed_r = cut;
	return body;
}

/*
 * Headers
 */

/* fg_mail_msgid - the normalized first Message-ID in a header value */
static char *fg_mail_msgid(GMimeParserOptions *options, const char *value)
{
	GMimeReferences *refs;
	char *id = NULL, *decoded;

	if (value == NULL)
		return NULL;
	refs = g_mime_references_parse(options, value);
	if (refs != NULL) {
		for (int i = 0; i < g_mime_references_length(refs) &&
		     id == NULL; i++)
			id = fg_msgid_normalize(
				g_mime_references_get_message_id(refs, i));
		g_mime_references_free(refs);
	}
	if (id == NULL) {
		/* a bare "id@host" without angle brackets */
		decoded = g_mime_utils_decode_message_id(value);
		if (decoded != NULL)
			id = fg_msgid_normalize(decoded);
		g_free(decoded);
	}
	return id;
}

/* fg_mail_references - the References IDs, oldest first, the newest
   FG_MAIL_MAX_REFERENCES kept */
static void fg_mail_references(GMimeParserOptions *options, const char *value,
			       struct fg_record *rec)
{
	GMimeReferences *refs;
	int n, first;

	rec->references = NULL;
	rec->n_references = 0;
	if (value == NULL || (refs = g_mime_references_parse(options, value))
	    == NULL)
		return;
	n = g_mime_references_length(refs);
	rec->references = fg_xcalloc((size_t)n + 1, sizeof(char *));
	/* walk from the newest so the bound keeps the newest */
	first = n;
	for (int i = n - 1; i >= 0 &&
	     n - first < FG_MAIL_MAX_REFERENCES; i--) {
		char *id = fg_msgid_normalize(
			g_mime_references_get_message_id(refs, i));
		if (id != NULL)
			rec->references[--first] = id;
	}
	g_mime_references_free(refs);
	rec->n_references = (size_t)(n - first);
	memmove(rec->references, rec->references + first,
		rec->n_references * sizeof(char *));
	rec->references[rec->n_references] = NULL;
}

/* fg_mail_list_id - the id inside <> of a List-Id value, or NULL */
static char *fg_mail_list_id(const char *value)
{
	const char *start, *end;

	if (value == NULL)
		return NULL;
	start = strrchr(value, '<');
	if (start != NULL) {
		start++;
		end = strchr(start, '>');
		if (end == NULL)
			return NULL;
	} else {
		while (*value == ' ' || *value == '\t')
			value++;
		start = value;
		end = start + fg_line_rtrim(start, strlen(start));
	}
	if (end == start || end - start > FG_MAIL_LIST_ID_MAX)
		return NULL;
	for (const char *p = start; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return fg_xstrndup(start, (size_t)(end - start));
}

/* fg_mail_subject - the decoded subject, one clean line */
static char *fg_mail_subject(GMimeMessage *msg, GMimeParserOptions *options)
{
	char *raw = fg_mail_raw_header(msg, "Subject"), *decoded, *subject;

	if (raw == NULL)
		return fg_xstrdup("");
	decoded = g_mime_utils_header_decode_text(options, raw);
	subject = fg_mail_clean_line(decoded);
	g_free(decoded);
	free(raw);
	return subject;
}

/* fg_mail_date - ISO 8601 UTC of Date:, or of now */
static char *fg_mail_date(GMimeMessage *msg)
{
	GDateTime *date = g_mime_message_get_date(msg);
	GDateTime *utc = date != NULL ? g_date_time_to_utc(date) : NULL;
	char *s;

	if (utc == NULL) {
		struct tm tm;
		time_t now = time(NULL);

		gmtime_r(&now, &tm);
		return fg_xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
				    tm.tm_year + 1900, tm.tm_mon + 1,
				    tm.tm_mday, tm.tm_hour, tm.tm_min,
				    tm.tm_sec);
	}
	s = fg_xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
			 g_date_time_get_year(utc),
			 g_date_time_get_month(utc),
			 g_date_time_get_day_of_month(utc),
			 g_date_time_get_hour(utc),
			 g_date_time_get_minute(utc),
			 g_date_time_get_second(utc));
	g_date_time_unref(utc);
	return s;
}

/* fg_sha256_field - hash one field with its length, so that fields
   cannot shift into each other */
static void fg_sha256_field(EVP_MD_CTX *ctx, const char *s)
{
	uint64_t len = s != NULL ? strlen(s) : 0;
	unsigned char lenbuf[8];

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)(len >> (56 - 8 * i));
	EVP_DigestUpdate(ctx, lenbuf, sizeof(lenbuf));
	if (len > 0)
		EVP_DigestUpdate(ctx, s, (size_t)len);
}

/* fg_mail_synthetic_id - a Message-ID for a message without one.
   Derived from what a re-delivery keeps: the From, Date and Subject
   headers and the raw body, with CRs and trailing white space left
   out because a hop may change them. */
static char *fg_mail_synthetic_id(GMimeMessage *msg, const char *data,
				  size_t size, const char *domain)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char out[FG_MAIL_SYNTH_HEX + 1];
	const char *body = NULL, *end = data + size, *p;

	if (ctx == NULL)
		abort();	/* out of memory, as fg_xmalloc would */
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	fg_sha256_field(ctx, fg_mail_header(msg, "From"));
	fg_sha256_field(ctx, fg_mail_header(msg, "Date"));
	fg_sha256_field(ctx, fg_mail_header(msg, "Subject"));
	for (p = data; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p + 1 < end && p[1] == '\n') {
			body = p + 2;
			break;
		}
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n') {
			body = p + 3;
			break;
		}
	}
	if (body != NULL) {
		while (end > body && (end[-1] == ' ' || end[-1] == '\t' ||
				      end[-1] == '\r' || end[-1] == '\n'))
			end--;
		for (p = body; p < end;) {
			const char *cr = memchr(p, '\r', (size_t)(end - p));
			const char *stop = cr != NULL ? cr : end;

			EVP_DigestUpdate(ctx, p, (size_t)(stop - p));
			p = stop + (cr != NULL ? 1 : 0);
		}
	}
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < FG_MAIL_SYNTH_HEX / 2; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 15];
	}
	out[FG_MAIL_SYNTH_HEX] = '\0';
	return fg_xasprintf("fg-synth.%s@%s", out,
			    domain != NULL && *domain != '\0' ?
			    domain : "forumgate.invalid");
}

/*
 * Classification (fg-classify.c)
 */

/* Most To and Cc addresses the list rule looks at. */
#define FG_MAIL_MAX_RECIPIENTS 100

/* fg_mail_addresses - append the addresses of a list (through
   groups) to addrs, lowercase, until there are max */
static void fg_mail_addresses(InternetAddressList *list, unsigned int depth,
			      char **addrs, size_t *n, size_t max)
{
	int count = list != NULL ? internet_address_list_length(list) : 0;

	for (int i = 0; i < count && *n < max; i++) {
		InternetAddress *ia = internet_address_list_get_address(list,
									 i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));
			if (addr != NULL && *addr != '\0')
				addrs[(*n)++] = fg_str_lower(
					fg_mail_clean_line(addr));
		} else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2) {
			fg_mail_addresses(internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)), depth + 1,
					  addrs, n, max);
		}
	}
}

/* fg_mail_classify_header - fg_classify()'s header lookup */
static const char *fg_mail_classify_header(void *context, const char *name)
{
	return fg_mail_header(context, name);
}

/* fg_mail_classify - set classification and reason */
static void fg_mail_classify(GMimeMessage *msg, struct fg_record *rec,
			     const struct fg_parse_settings *set)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	GMimeContentType *ct = top != NULL ?
		g_mime_object_get_content_type(top) : NULL;
	struct fg_classify_msg cmsg = {
		.message_id = rec->message_id,
		.subject = rec->subject,
		.from_email = rec->from_email,
		.header = fg_mail_classify_header,
		.context = msg,
		.list_id = rec->list_id,
	};
	struct fg_listmail_list list = {
		.address = set->list_address,
		.list_id = set->list_id,
		.return_path = set->list_return_path,
		.delimiters = set->recipient_delimiter,
	};
	char *recipients[FG_MAIL_MAX_RECIPIENTS + 1];
	char *from[2] = { NULL, NULL };
	size_t n = 0, n_from = 0;
	struct fg_bounce *bounce = fg_bounce_of_message(msg, set->secret,
							set->envelope_to);

	cmsg.bounce_parsed = true;
	if (bounce->bounce || bounce->feedback)
		cmsg.bounce = bounce->reason;
	else if (bounce->auto_reply && bounce->verp_state == 1)
		cmsg.bounce_auto_reply = bounce->reason;

	if (ct != NULL && g_mime_content_type_is_type(ct, "multipart",
						      "report"))
		cmsg.report_type = g_mime_content_type_get_parameter(
			ct, "report-type");
	if (set->list_address != NULL) {
		/* the headers as written: From before any un-munging */
		fg_mail_addresses(g_mime_message_get_from(msg), 0, from,
				  &n_from, 1);
		fg_mail_addresses(g_mime_message_get_to(msg), 0, recipients,
				  &n, FG_MAIL_MAX_RECIPIENTS);
		fg_mail_addresses(g_mime_message_get_cc(msg), 0, recipients,
				  &n, FG_MAIL_MAX_RECIPIENTS);
		recipients[n] = NULL;
		cmsg.header_from = from[0];
		cmsg.recipients = (const char *const *)recipients;
	}
	fg_classify_list(&cmsg, set->secret,
			 set->list_address != NULL ? &list : NULL,
			 set->envelope_from, &rec->classification,
			 &rec->notice, &rec->reason);
	if (rec->classification == FG_CLASS_BOUNCE)
		rec->bounce = bounce;
	else
		fg_bounce_free(&bounce);
	for (size_t i = 0; i < n; i++)
		free(recipients[i]);
	free(from[0]);
}

/*
 * The parse
 */

/* fg_mail_defuse_field - break the encoded-word openers of one header
   field that no "?=" closes nearby, when there are many of them */
static void fg_mail_defuse_field(const char *data, size_t start, size_t end,
				 char **copy, size_t size)
{
	size_t open = 0, term = start;

	for (int pass = 0; pass < 2; pass++) {
		term = start;
		for (size_t j = start; j + 1 < end; j++) {
			if (data[j] != '=' || data[j + 1] != '?')
				continue;
			/* the next "?=" after the opener; it only moves
			   forward, so the whole field costs one scan */
			if (term < j + 2)
				term = j + 2;
			while (term + 1 < end &&
			       !(data[term] == '?' && data[term + 1] == '='))
				term++;
			if (term + 1 < end && term - j <= FG_MAIL_WORD_MAX)
				continue;
			if (pass == 0) {
				open++;
				continue;
			}
			if (*copy == NULL) {
				*copy = fg_xmalloc(size);
				memcpy(*copy, data, size);
			}
			(*copy)[j + 1] = ' ';
		}
		if (open <= FG_MAIL_OPEN_WORDS_MAX)
			return;
	}
}

/* fg_mail_boundaries_in - add the boundary parameters declared on one
   line to the set: boundary=x, boundary="x", and the RFC 2231 forms
   boundary*=''x and boundary*0="x" */
static void fg_mail_boundaries_in(const char *line, size_t len, GHashTable *set)
{
	static const char name[] = "boundary";
	const size_t nlen = sizeof(name) - 1;

	for (size_t i = 0; i + nlen < len; i++) {
		size_t p = i + nlen, v, e;
		bool extended = false;

		if (strncasecmp(line + i, name, nlen) != 0)
			continue;
		while (p < len && (line[p] == '*' ||
				   (line[p] >= '0' && line[p] <= '9'))) {
			extended = line[p] == '*';
			p++;
		}
		while (p < len && (line[p] == ' ' || line[p] == '\t'))
			p++;
		if (p >= len || line[p] != '=')
			continue;
		p++;
		while (p < len && (line[p] == ' ' || line[p] == '\t'))
			p++;
		if (p < len && line[p] == '"') {
			v = ++p;
			while (p < len && line[p] != '"')
				p++;
			e = p;
		} else {
			v = p;
			while (p < len && line[p] != ';' && line[p] != ' ' &&
			       line[p] != '\t' && line[p] != '\r')
				p++;
			e = p;
			if (extended) {
				/* charset'language'value */
				const char *q = memchr(line + v, '\'', e - v);
				q = q != NULL ? memchr(q + 1, '\'',
						       (size_t)(line + e - q - 1)) :
					NULL;
				if (q != NULL)
					v = (size_t)(q + 1 - line);
			}
		}
		if (e > v && e - v <= 200)
			g_hash_table_add(set, g_strndup(line + v, e - v));
		i = p > i ? p - 1 : i;
	}
}

/* fg_mail_cut_parts - how much of the message to parse: all of it, or
   everything before the boundary line that would start one part too
   many.

   GMime builds every part of a message before anything looks at it,
   about 1.4 KB and 11 us each: a 2 MB message of empty parts took
   550 MB. Only the first FG_MAIL_MAX_PARTS parts are ever looked at,
   so the parser never sees more boundary lines than a few times that.
   A boundary line is "--" and a declared boundary, as GMime matches
   it; any "--" line counts when there are very many, in case a
   boundary was declared in a form not recognized here. */
static size_t fg_mail_cut_parts(const char *data, size_t size)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal,
						g_free, NULL);
	unsigned int boundaries = 0, dashes = 0;
	size_t i = 0, cut = size;

	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t eol = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = eol - i;

		if (len >= 2 && data[i] == '-' && data[i + 1] == '-') {
			size_t tlen = len - 2;
			const char *token = data + i + 2;
			char *key;

			while (tlen > 0 && (token[tlen - 1] == ' ' ||
					    token[tlen - 1] == '\t' ||
					    token[tlen - 1] == '\r'))
				tlen--;
			key = g_strndup(token, tlen);
			if (g_hash_table_contains(set, key) ||
			    (tlen > 2 && key[tlen - 1] == '-' &&
			     key[tlen - 2] == '-' &&
			     (key[tlen - 2] = '\0',
			      g_hash_table_contains(set, key))))
				boundaries++;
			g_free(key);
			if (boundaries > FG_MAIL_MAX_BOUNDARIES ||
			    ++dashes > FG_MAIL_MAX_DASH_LINES) {
				cut = i;
				break;
			}
		} else if (len >= 8) {
			fg_mail_boundaries_in(data + i, len, set);
		}
		i = eol + 1;
	}
	g_hash_table_destroy(set);
	return cut;
}

/* fg_mail_defuse - a copy of the message with hostile header fields
   defused, or NULL when there is nothing to defuse.

   In its lenient mode GMime 3.2 looks for the end of every "=?" to
   the end of the header field, and starts again after each one it
   does not find: a field of many unclosed "=?" costs time quadratic
   in its length (a 1 MB Subject took minutes), inside an lmtp
   process. An opener with no "?=" within FG_MAIL_WORD_MAX bytes
   cannot start an encoded word anyway; when a field has more than a
   few, they lose their '?'. Header blocks of MIME parts are found
   by their boundary lines ("--" at the start of a line). */
static char *fg_mail_defuse(const char *data, size_t size)
{
	char *copy = NULL;
	bool in_header = true;
	size_t i = 0;

	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t eol = nl != NULL ? (size_t)(nl - data) : size;
		size_t field_end = eol;

		if (!in_header) {
			if (eol - i >= 2 && data[i] == '-' && data[i + 1] == '-')
				in_header = true;
			i = eol + 1;
			continue;
		}
		if (eol == i || (eol == i + 1 && data[i] == '\r')) {
			in_header = false;
			i = eol + 1;
			continue;
		}
		while (field_end + 1 < size &&
		       (data[field_end + 1] == ' ' ||
			data[field_end + 1] == '\t')) {
			nl = memchr(data + field_end + 1, '\n',
				    size - field_end - 1);
			field_end = nl != NULL ? (size_t)(nl - data) : size;
		}
		fg_mail_defuse_field(data, i, field_end, &copy, size);
		i = field_end + 1;
	}
	return copy;
}

/* fg_mail_header_nuls - a copy of the message with each NUL byte of
   its header replaced by U+FFFD, or NULL when the header has none.
   GMime keeps header values as C strings: a NUL would silently cut
   off the rest of the field (a Subject "a\0b" became "a"). */
static char *fg_mail_header_nuls(const char *data, size_t size,
				 size_t *size_r)
{
	const char *end = data + size, *p;
	struct fg_buf out = { 0 };
	size_t hdr = size;

	for (p = data; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p + 1 < end && (p[1] == '\n' ||
				    (p[1] == '\r' && p + 2 < end &&
				     p[2] == '\n'))) {
			hdr = (size_t)(p - data);
			break;
		}
	}
	if (memchr(data, '\0', hdr) == NULL)
		return NULL;
	for (size_t i = 0; i < hdr; i++) {
		if (data[i] == '\0')
			fg_buf_puts(&out, fg_utf8_replacement);
		else
			fg_buf_putc(&out, data[i]);
	}
	fg_buf_append(&out, data + hdr, size - hdr);
	*size_r = out.len;
	return fg_buf_steal(&out);
}

/* fg_mail_skip_envelope - skip what may come before the header: blank
   lines, and the "From " line of a message taken from an mbox file */
static const char *fg_mail_skip_envelope(const char *p, const char *end)
{
	while (p < end && (*p == '\n' || *p == '\r'))
		p++;
	if (end - p > 5 && memcmp(p, "From ", 5) == 0) {
		const char *q = p + 5;

		while (q < end && *q == ' ')
			q++;
		if (q < end && *q != ':') {
			q = memchr(p, '\n', (size_t)(end - p));
			p = q != NULL ? q + 1 : end;
		}
	}
	return p;
}

/* fg_mail_array_release - free a GByteArray that wraps memory GLib
   does not own, without freeing that memory */
static void fg_mail_array_release(GByteArray *array)
{
	gsize len;

	(void)g_byte_array_steal(array, &len);
	g_byte_array_unref(array);
}

/* fg_mail_parse - parse and classify one message */
int fg_mail_parse(const void *data, size_t size,
		  const struct fg_parse_settings *set,
		  struct fg_record **rec_r, const char **error_r)
{
	const char *start, *end = (const char *)data + size;
	GMimeParserOptions *options;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	struct fg_record *rec;
	char *defused, *nul_free;
	size_t nul_free_size = 0;
	GByteArray *array;
	static const char *fallback[] = {
		"utf-8", "windows-1252", "iso-8859-1", NULL
	};

	*rec_r = NULL;
	if (fg_mail_refcount == 0) {
		*error_r = fg_errorf("mail parser not initialized "
				     "(fg_mail_init)");
		return -1;
	}
	if (set->max_size > 0 && size > set->max_size) {
		*error_r = fg_errorf("message too large: %zu bytes, "
				     "limit %zu", size, set->max_size);
		return -1;
	}
	start = size > 0 ? fg_mail_skip_envelope(data, end) : end;
	if (start == end) {
		*error_r = fg_errorf("empty message");
		return -1;
	}
	nul_free = fg_mail_header_nuls(start, (size_t)(end - start),
				       &nul_free_size);
	if (nul_free != NULL) {
		start = nul_free;
		end = nul_free + nul_free_size;
	}
	defused = fg_mail_defuse(start, (size_t)(end - start));
	if (defused != NULL) {
		end = defused + (end - start);
		start = defused;
	}
	end = start + fg_mail_cut_parts(start, (size_t)(end - start));

	options = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(
		options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(options,
								 TRUE);
	/* raw 8-bit headers: UTF-8 if they are, else Western; Latin-1
	   last because it never fails, so nothing becomes '?' */
	g_mime_parser_options_set_fallback_charsets(options, fallback);

	/* GMime reads the caller's buffer in place instead of copying it
	   (g_mime_stream_mem_new_with_buffer would: a second copy of a
	   25 MB message inside an lmtp process). The parts' contents are
	   substreams of it, so the buffer outlives msg; the array is taken
	   back from GLib, never freed by it (see fg_mail_array_release). */
	array = g_byte_array_new_take((guint8 *)start, (gsize)(end - start));
	stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, options);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL) {
		g_mime_parser_options_free(options);
		fg_mail_array_release(array);
		free(defused);
		free(nul_free);
		*error_r = fg_errorf("not a mail message");
		return -1;
	}

	rec = fg_xcalloc(1, sizeof(*rec));
	rec->subject = fg_mail_subject(msg, options);
	rec->title = fg_subject_normalize(rec->subject);
	fg_mail_from(msg, options, set, rec);
	rec->date = fg_mail_date(msg);
	rec->list_id = fg_mail_list_id(fg_mail_header(msg, "List-Id"));
	rec->in_reply_to = fg_mail_msgid(options,
					 fg_mail_header(msg, "In-Reply-To"));
	fg_mail_references(options, fg_mail_header(msg, "References"), rec);
	rec->body = fg_mail_body(msg, set, fg_subject_is_forward(rec->subject),
				 &rec->trimmed, rec);
	rec->message_id = fg_mail_msgid(options,
					fg_mail_header(msg, "Message-ID"));
	if (rec->message_id == NULL)
		rec->message_id = fg_mail_synthetic_id(msg, start,
						       (size_t)(end - start),
						       set->mail_domain);
	fg_mail_classify(msg, rec, set);

	g_object_unref(msg);
	g_mime_parser_options_free(options);
	fg_mail_array_release(array);
	free(defused);
	free(nul_free);
	*rec_r = rec;
	return 0;
}
