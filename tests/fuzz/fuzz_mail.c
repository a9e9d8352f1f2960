/*
 * NAME
 *	fuzz_mail - libFuzzer target of the list mail parser
 * DESCRIPTION
 *	Feeds arbitrary bytes to fg_mail_parse() as one message that
 *	Dovecot delivered to the bridge, with every post format (chosen
 *	by the input's length, so the message itself is left as it is),
 *	show_trimmed on and off, and with and without a declared list
 *	footer (the input's last bytes). Everything the parser calls runs as
 *	well: GMime, RFC 2047 and charset decoding, From rewriting undone,
 *	format=flowed, the HTML converter, quote and signature trimming,
 *	classification (VERP and Message-ID checks) and attachments.
 *
 *	It asserts what the callers rely on (fg-mailparse.h): a record
 *	has every field it promises, each one valid UTF-8 (the Redis
 *	stream fields and the forum's JSON need it), the one-line fields
 *	without a line break (Subject and From without any control
 *	character or run of spaces, as fg_mail_clean_line() makes them), the Message-ID normalized, the date in
 *	ISO 8601 UTC form, at most FG_MAIL_MAX_REFERENCES references, and a
 *	trailing quote's range inside the body (cut, the rest is valid UTF-8).
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-mailparse.h"
#include "fg-attach.h"
#include "fg-msgid.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
/* Bytes of the input's end taken as the list's declared footer. */
#define FUZZ_FOOTER_MAX 64

/* fuzz_text - a string the record promises: present, valid UTF-8 */
static void fuzz_text(const char *s, bool one_line)
{
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(g_utf8_validate(s, -1, NULL));
	if (one_line)
		FUZZ_ASSERT(strpbrk(s, "\r\n") == NULL);
}

/* fuzz_header_text - what fg_mail_clean_line() promises: no control
   character (C0, DEL, C1 such as U+0085), no line or paragraph
   separator (U+2028, U+2029) and no run of white space */
static void fuzz_header_text(const char *s)
{
	fuzz_text(s, true);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		FUZZ_ASSERT(*p >= ' ' && *p != 0x7f);
		FUZZ_ASSERT(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
		FUZZ_ASSERT(!(p[0] == 0xe2 && p[1] == 0x80 &&
			      (p[2] == 0xa8 || p[2] == 0xa9)));
		FUZZ_ASSERT(!(p[0] == ' ' && p[1] == ' '));
	}
}

/* fuzz_msgid - a stored Message-ID: what fg_msgid_normalize() keeps */
static void fuzz_msgid(const char *id)
{
	char *norm;

	FUZZ_ASSERT(id != NULL);
	norm = fg_msgid_normalize(id);
	FUZZ_ASSERT(norm != NULL && strcmp(norm, id) == 0);
	free(norm);
}

/* fuzz_date - "YYYY-MM-DDTHH:MM:SSZ" */
static void fuzz_date(const char *d)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";

	FUZZ_ASSERT(d != NULL && strlen(d) == sizeof(form) - 1);
	for (size_t i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] == 'd')
			FUZZ_ASSERT(d[i] >= '0' && d[i] <= '9');
		else
			FUZZ_ASSERT(d[i] == form[i]);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fg_mail_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_parse_settings set = {
		.secret = "fuzz-secret",
		.mail_domain = "lists.test",
		.max_size = 1024 * 1024,
		.format = (enum fg_text_format)(size % 3),
		.show_trimmed = (size / 3) % 2 == 1,
		.trusted_authserv_ids = "mx.lists.test, lists.example.org",
		.list_trusted = (size / 6) % 2 == 1,
	};
	/* the list rule on every other input, with a list copy's envelope
	   sender or none */
	if ((size / 6) % 2 == 1) {
		set.list_address = "forum@lists.test";
		set.recipient_delimiter = "+-";
		set.envelope_from = (size / 12) % 2 == 1 ?
			"forum+bounces-1-bridge=lists.test@lists.test" : NULL;
	}
	struct fg_record *rec = NULL;
	const char *error = NULL;
	char footer[FUZZ_FOOTER_MAX + 1];
	int ret;

	/* a declared footer: the input's last bytes, as a list's footer
	   matches the end of its mail (any bytes, since a footer is what
	   an admin gives) */
	if ((size / 6) % 2 == 1) {
		size_t n = size < FUZZ_FOOTER_MAX ? size : FUZZ_FOOTER_MAX;

		memcpy(footer, data + size - n, n);
		footer[n] = '\0';
		set.list_footer = footer;
	}
	ret = fg_mail_parse(data, size, &set, &rec, &error);
	if (ret < 0) {
		FUZZ_ASSERT(rec == NULL && error != NULL);
		return 0;
	}
	FUZZ_ASSERT(rec != NULL);
	fuzz_msgid(rec->message_id);
	if (rec->in_reply_to != NULL)
		fuzz_msgid(rec->in_reply_to);
	FUZZ_ASSERT(rec->n_references <= FG_MAIL_MAX_REFERENCES);
	for (size_t i = 0; i < rec->n_references; i++)
		fuzz_msgid(rec->references[i]);
	fuzz_header_text(rec->subject);
	fuzz_text(rec->title, true);
	fuzz_header_text(rec->from_name);
	fuzz_header_text(rec->from_email);
	/* evidence names a pass, or there is none */
	fuzz_header_text(rec->from_auth);
	FUZZ_ASSERT(*rec->from_auth == '\0' ||
		    strncmp(rec->from_auth, "dmarc=pass header.from=", 23) == 0 ||
		    strncmp(rec->from_auth, "dkim=pass header.d=", 19) == 0);
	fuzz_date(rec->date);
	if (rec->list_id != NULL)
		fuzz_text(rec->list_id, true);
	fuzz_text(rec->body, false);
	fuzz_text(rec->trimmed, false);
	/* a trailing quote is a range of the body that the bridge may
	   cut: inside it, after some text, and cut it leaves valid UTF-8 */
	if (rec->quote_sketch != NULL) {
		char *cut;

		FUZZ_ASSERT(rec->quote_start > 0);
		FUZZ_ASSERT(rec->quote_end > rec->quote_start);
		FUZZ_ASSERT(rec->quote_end <= strlen(rec->body));
		cut = g_strdup_printf("%.*s%s", (int)rec->quote_start,
				      rec->body, rec->body + rec->quote_end);
		fuzz_text(cut, false);
		g_free(cut);
	} else {
		FUZZ_ASSERT(rec->quote_start == 0 && rec->quote_end == 0);
	}
	FUZZ_ASSERT(rec->text_sketch != NULL);
	fuzz_text(rec->reason, true);
	FUZZ_ASSERT(fg_class_name(rec->classification) != NULL);
	for (size_t i = 0; i < rec->n_attachments; i++) {
		const struct fg_attachment *a = &rec->attachments[i];
		FUZZ_ASSERT(a->name != NULL && a->type != NULL);
	}
	fg_record_free(&rec);
	FUZZ_ASSERT(rec == NULL);
	return 0;
}
