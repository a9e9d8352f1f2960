/*
 * NAME
 *	fg-trim 3 - the text a reply adds, without quote and signature
 * DESCRIPTION
 *	See fg-trim.h. A body is looked at line by line (struct
 *	fg_lines) and cut from the end: each trim sees what the one
 *	before left, until none cuts more. The patterns (attributions,
 *	"Original Message" separators, Outlook header blocks, phone
 *	signatures) are tables below, in the common languages.
 *
 *	fg_mail_trim_split() and fg_line_rtrim() serve the rest of the
 *	mail parser, through fg-mail-private.h.
 */
#include "fg-trim.h"
#include "fg-mail-private.h"
#include "fg-common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A signature longer than this is more likely content after a "-- "
   line than a signature. */
#define FG_MAIL_SIG_MAX_LINES 15
/* Lines an "On ... wrote:" attribution may be wrapped over. */
#define FG_MAIL_ATTRIB_MAX_LINES 3
/* A longer line is no attribution (nor a forward's intro line): keeps
   the search for them linear in the size of the body. */
#define FG_MAIL_ATTRIB_LINE_MAX 512

/* fg_mail_unflow - join the flowed lines of RFC 3676 text */
char *fg_mail_unflow(const char *text, bool delsp)
{
	struct fg_buf out = { 0 };
	const char *p = text;
	bool in_para = false;
	size_t para_depth = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		size_t depth = 0;
		const char *content;
		size_t clen;
		bool flowed;

		while (depth < len && p[depth] == '>')
			depth++;
		content = p + depth;
		clen = len - depth;
		if (clen > 0 && content[0] == ' ') {
			/* space-stuffing (RFC 3676 4.4) */
			content++;
			clen--;
		}
		flowed = clen > 0 && content[clen - 1] == ' ' &&
			!(clen == 3 && memcmp(content, "-- ", 3) == 0);
		if (in_para && depth != para_depth) {
			/* a flowed line may not join another quote depth */
			fg_buf_putc(&out, '\n');
			in_para = false;
		}
		if (!in_para) {
			for (size_t i = 0; i < depth; i++)
				fg_buf_putc(&out, '>');
			if (depth > 0 && clen > 0)
				fg_buf_putc(&out, ' ');
		}
		if (flowed && delsp)
			clen--;
		fg_buf_append(&out, content, clen);
		if (flowed) {
			in_para = true;
			para_depth = depth;
		} else {
			fg_buf_putc(&out, '\n');
			in_para = false;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (in_para)
		fg_buf_putc(&out, '\n');
	return fg_buf_steal(&out);
}

/* A line by line view of a body, for trimming from the end. */
struct fg_lines {
	const char **start;
	size_t *len;
	size_t n;
};

/* fg_lines_split - point at every line of text (without its LF) */
static void fg_lines_split(const char *text, struct fg_lines *lines)
{
	size_t n = 1, i = 0;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (*p == '\n')
			n++;
	}
	lines->start = fg_xmalloc(n * sizeof(*lines->start));
	lines->len = fg_xmalloc(n * sizeof(*lines->len));
	p = text;
	for (;;) {
		const char *eol = strchr(p, '\n');

		lines->start[i] = p;
		lines->len[i] = eol != NULL ? (size_t)(eol - p) : strlen(p);
		i++;
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	lines->n = i;
}

/* fg_line_blank - the line has nothing but white space */
static bool fg_line_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	}
	return true;
}

/* fg_line_rtrim - length without trailing white space */
size_t fg_line_rtrim(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

/* How mail clients introduce the quote of the message replied to, in
   the languages seen on lists: the first line starts with "start",
   the (possibly wrapped) last line ends with "end", and one of the
   lines has "word" (languages that put the name after the verb). */
static const struct {
	const char *start, *word, *end;
} fg_mail_attributions[] = {
	{ "On ", NULL, "wrote:" },
	{ "", NULL, " wrote:" },
	{ "Am ", " schrieb ", ":" },
	{ "Le ", " a \xc3\xa9" "crit", ":" },
	{ "El ", " escribi\xc3\xb3", ":" },
	{ "Op ", " schreef ", ":" },
	{ "Il ", " ha scritto", ":" },
	{ "Em ", " escreveu", ":" },
	{ "Den ", " skrev", ":" },
	{ "W dniu ", " pisze", ":" },
	{ "W dniu ", " napisa", ":" },
	{ "Dne ", " napsal", ":" },
	/* languages that may start with the date or the name */
	{ "", " \xd0\xbd\xd0\xb0\xd0\xbf\xd0\xb8\xd1\x81\xd0\xb0\xd0\xbb",
	  ":" },				/* написал */
	{ "", " \xd0\xbf\xd0\xb8\xd1\x88\xd0\xb5\xd1\x82", ":" },	/* пишет */
	{ "", "\xe5\x86\x99\xe9\x81\x93", "\xef\xbc\x9a" },	/* 写道： */
	{ "", "\xe5\x86\x99\xe9\x81\x93", ":" },
	{ "", "\xe5\xaf\xab\xe9\x81\x93", "\xef\xbc\x9a" },	/* 寫道： */
	{ "", "\xe5\xaf\xab\xe9\x81\x93", ":" },
	{ "", "\xe3\x81\xae\xe3\x83\xa1\xe3\x83\x83\xe3\x82\xbb\xe3\x83\xbc"
	  "\xe3\x82\xb8", ":" },		/* のメッセージ: */
	{ "", "\xe6\x9b\xb8\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f",
	  ":" },				/* 書きました: */
};

/* fg_line_has - the line contains word (ASCII case ignored) */
static bool fg_line_has(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; i + wlen <= len; i++) {
		if (strncasecmp(s + i, word, wlen) == 0)
			return true;
	}
	return false;
}

/* fg_mail_attribution_end - the line ends like attribution a */
static bool fg_mail_attribution_end(const char *s, size_t len, size_t a)
{
	const char *end = fg_mail_attributions[a].end;
	size_t elen = strlen(end);

	len = fg_line_rtrim(s, len);
	return len >= elen && strncasecmp(s + len - elen, end, elen) == 0;
}

/* fg_mail_attribution_start - the line starts like attribution a */
static bool fg_mail_attribution_start(const char *s, size_t len, size_t a)
{
	const char *start = fg_mail_attributions[a].start;
	size_t slen = strlen(start);

	return len >= slen && strncasecmp(s, start, slen) == 0;
}

/* fg_mail_attribution - first line of an attribution ending at line
   last, or -1 when line last does not end one */
static long fg_mail_attribution(const struct fg_lines *lines, size_t last)
{
	if (lines->len[last] > FG_MAIL_ATTRIB_LINE_MAX)
		return -1;
	for (size_t a = 0; a < FG_N_ELEMENTS(fg_mail_attributions); a++) {
		const char *word = fg_mail_attributions[a].word;
		bool has_word = word == NULL;

		if (!fg_mail_attribution_end(lines->start[last],
					     lines->len[last], a))
			continue;
		for (size_t k = 0; k < FG_MAIL_ATTRIB_MAX_LINES &&
		     k <= last; k++) {
			size_t i = last - k;

			if (fg_line_blank(lines->start[i], lines->len[i]) ||
			    lines->len[i] > FG_MAIL_ATTRIB_LINE_MAX)
				break;
			if (!has_word)
				has_word = fg_line_has(lines->start[i],
						       lines->len[i], word);
			if (has_word &&
			    fg_mail_attribution_start(lines->start[i],
						      lines->len[i], a))
				return (long)i;
		}
	}
	return -1;
}

/* fg_mail_quoted_attribution - the quoted line is itself an
   attribution ("> On ... wrote:"), as Apple's clients quote it */
static bool fg_mail_quoted_attribution(const char *s, size_t len)
{
	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	while (len > 0 && (*s == '>' || *s == ' ')) {
		s++;
		len--;
	}
	for (size_t a = 0; a < FG_N_ELEMENTS(fg_mail_attributions); a++) {
		const char *word = fg_mail_attributions[a].word;

		if (fg_mail_attribution_start(s, len, a) &&
		    fg_mail_attribution_end(s, len, a) &&
		    (word == NULL || fg_line_has(s, len, word)))
			return true;
	}
	return false;
}

/* fg_mail_trim_quote - number of lines left after cutting a trailing
   quote that an attribution line introduces */
static size_t fg_mail_trim_quote(const struct fg_lines *lines, size_t n)
{
	size_t i = n, quoted = 0, first = n;
	long attrib;

	while (i > 0) {
		const char *s = lines->start[i - 1];
		size_t len = lines->len[i - 1];

		if (fg_line_blank(s, len)) {
			i--;
		} else if (s[0] == '>') {
			quoted++;
			first = --i;
		} else {
			break;
		}
	}
	if (quoted == 0)
		return n;
	if (fg_mail_quoted_attribution(lines->start[first],
				       lines->len[first]))
		return first;
	if (i == 0)
		return n;
	attrib = fg_mail_attribution(lines, i - 1);
	return attrib < 0 ? n : (size_t)attrib;
}

/* fg_mail_trim_signature - number of lines left after cutting a
   signature that starts with "-- " (or "--", as clients that strip
   trailing spaces send it) */
static size_t fg_mail_trim_signature(const struct fg_lines *lines, size_t n)
{
	for (size_t k = 0; k < n && k <= FG_MAIL_SIG_MAX_LINES; k++) {
		size_t i = n - 1 - k;
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if ((len == 3 && memcmp(s, "-- ", 3) == 0) ||
		    (len == 2 && memcmp(s, "--", 2) == 0))
			return i;
	}
	return n;
}

/* Last lines that phones and webmail append to every message. */
static const char *const fg_mail_mobile_sigs[] = {
	"Sent from my ", "Sent from Mail for ", "Sent from Outlook",
	"Sent from Yahoo Mail", "Sent from Samsung", "Sent from BlueMail",
	"Sent from ProtonMail", "Sent from Proton Mail", "Sent with ",
	"Sent via ", "Sent using ", "Get Outlook for ",
	"Von meinem ", "Gesendet von meinem ", "Gesendet mit ",
	"Gesendet von ", "Envoy\xc3\xa9 de mon ", "Envoy\xc3\xa9 depuis mon ",
	"Enviado desde mi ", "Enviado de mi ", "Enviado do meu ",
	"Enviado de meu ", "Verzonden vanaf mijn ", "Verstuurd vanaf mijn ",
	"Verzonden met ", "Inviato da ", "Skickat fr\xc3\xa5n min ",
	"Sendt fra min ", "Sendt fra ", "L\xc3\xa4hetetty ",
	"Wys\xc5\x82" "ane z ", "Odesl\xc3\xa1no z ",
	"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe "
	"\xd1\x81 ",				/* Отправлено с */
};
/* A mobile signature line is short; a longer line is content. */
#define FG_MAIL_MOBILE_SIG_MAX 80

/* Separators Outlook and others put above the message replied to. */
static const char *const fg_mail_original_phrases[] = {
	"Original Message", "Original", "Urspr\xc3\xbcngliche Nachricht",
	"Message d'origine", "Mensaje original", "Mensagem original",
	"Oorspronkelijk bericht", "Origineel bericht",
	"Messaggio originale", "Originalmeddelande",
	"Oprindelig meddelelse", "Opprinnelig melding",
	"Alkuper\xc3\xa4inen viesti", "Wiadomo\xc5\x9b\xc4\x87 oryginalna",
	"P\xc5\xafvodn\xc3\xad zpr\xc3\xa1va",
	"\xd0\x98\xd1\x81\xd1\x85\xd0\xbe\xd0\xb4\xd0\xbd\xd0\xbe\xd0\xb5 "
	"\xd1\x81\xd0\xbe\xd0\xbe\xd0\xb1\xd1\x89\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5",
};

/* The labels of the header block Outlook (and others) write above the
   message replied to, by what they label. */
enum fg_hdr_label {
	FG_HDR_NONE,
	FG_HDR_FROM,
	FG_HDR_SENT,		/* Outlook's own word for the date */
	FG_HDR_DATE,		/* also in headers pasted into a mail */
	FG_HDR_TO,
	FG_HDR_SUBJECT,
	FG_HDR_RAW,		/* only in a real header: pasted, not a quote */
};
static const struct {
	const char *word;
	enum fg_hdr_label label;
} fg_mail_hdr_labels[] = {
	{ "From", FG_HDR_FROM }, { "Von", FG_HDR_FROM }, { "De", FG_HDR_FROM },
	{ "Van", FG_HDR_FROM }, { "Da", FG_HDR_FROM },
	{ "Fr\xc3\xa5n", FG_HDR_FROM }, { "Fra", FG_HDR_FROM },
	{ "Od", FG_HDR_FROM }, { "\xd0\x9e\xd1\x82", FG_HDR_FROM },
	{ "Sent", FG_HDR_SENT }, { "Date", FG_HDR_DATE },
	{ "Gesendet", FG_HDR_SENT }, { "Datum", FG_HDR_DATE },
	{ "Envoy\xc3\xa9", FG_HDR_SENT }, { "Enviado", FG_HDR_SENT },
	{ "Enviada", FG_HDR_SENT }, { "Fecha", FG_HDR_DATE },
	{ "Verzonden", FG_HDR_SENT }, { "Inviato", FG_HDR_SENT },
	{ "Data", FG_HDR_DATE }, { "Skickat", FG_HDR_SENT },
	{ "Sendt", FG_HDR_SENT }, { "Wys\xc5\x82" "ano", FG_HDR_SENT },
	{ "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe",
	  FG_HDR_SENT },
	{ "To", FG_HDR_TO }, { "An", FG_HDR_TO }, { "\xc3\x80", FG_HDR_TO },
	{ "A", FG_HDR_TO }, { "Para", FG_HDR_TO }, { "Aan", FG_HDR_TO },
	{ "Till", FG_HDR_TO }, { "Til", FG_HDR_TO }, { "Do", FG_HDR_TO },
	{ "Subject", FG_HDR_SUBJECT }, { "Betreff", FG_HDR_SUBJECT },
	{ "Objet", FG_HDR_SUBJECT }, { "Asunto", FG_HDR_SUBJECT },
	{ "Assunto", FG_HDR_SUBJECT }, { "Onderwerp", FG_HDR_SUBJECT },
	{ "Oggetto", FG_HDR_SUBJECT }, { "\xc3\x84mne", FG_HDR_SUBJECT },
	{ "Emne", FG_HDR_SUBJECT }, { "Temat", FG_HDR_SUBJECT },
	{ "\xd0\xa2\xd0\xb5\xd0\xbc\xd0\xb0", FG_HDR_SUBJECT },
	{ "Received", FG_HDR_RAW }, { "Return-Path", FG_HDR_RAW },
	{ "Message-ID", FG_HDR_RAW }, { "MIME-Version", FG_HDR_RAW },
	{ "Content-Type", FG_HDR_RAW }, { "Delivered-To", FG_HDR_RAW },
	{ "DKIM-Signature", FG_HDR_RAW }, { "X-", FG_HDR_RAW },
	{ "Authentication-Results", FG_HDR_RAW }, { "References", FG_HDR_RAW },
	{ "In-Reply-To", FG_HDR_RAW },
};
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

/* fg_lines_have_digit - one of lines [from, to] has a digit (a date) */
static bool fg_lines_have_digit(const struct fg_lines *lines, size_t from,
				size_t to)
{
	for (size_t i = from; i <= to; i++) {
		for (size_t k = 0; k < lines->len[i]; k++) {
			if (lines->start[i][k] >= '0' &&
			    lines->start[i][k] <= '9')
				return true;
		}
	}
	return false;
}

/* fg_line_skip_decor - skip leading spaces and Markdown emphasis */
static size_t fg_line_skip_decor(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' ||
			   s[i] == '_'))
		i++;
	return i;
}

/* fg_line_starts_ci - the line starts with word (ASCII case ignored) */
static bool fg_line_starts_ci(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(s, word, n) == 0;
}

/* fg_mail_mobile_sig - the line is a phone's or webmail's signature */
static bool fg_mail_mobile_sig(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	if (len > FG_MAIL_MOBILE_SIG_MAX)
		return false;
	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_mobile_sigs); k++) {
		if (fg_line_starts_ci(s + i, len - i, fg_mail_mobile_sigs[k]))
			return true;
	}
	return false;
}

/* fg_mail_original_line - "-----Original Message-----" and friends */
static bool fg_mail_original_line(const char *s, size_t len)
{
	size_t i = 0, dashes = 0, e;

	while (i < len && s[i] == ' ')
		i++;
	while (i < len && (s[i] == '-' || s[i] == '_')) {
		i++;
		dashes++;
	}
	if (dashes < 2)
		return false;
	while (i < len && s[i] == ' ')
		i++;
	len = fg_line_rtrim(s, len);
	e = len;
	while (e > i && (s[e - 1] == '-' || s[e - 1] == '_'))
		e--;
	if (len - e < 2)
		return false;
	while (e > i && s[e - 1] == ' ')
		e--;
	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_original_phrases); k++) {
		const char *phrase = fg_mail_original_phrases[k];

		if (strlen(phrase) == e - i &&
		    strncasecmp(s + i, phrase, e - i) == 0)
			return true;
	}
	return false;
}

/* fg_mail_hdr_label - the header-block label a line starts with */
static enum fg_hdr_label fg_mail_hdr_label(const char *s, size_t len)
{
	size_t i = fg_line_skip_decor(s, len);

	for (size_t k = 0; k < FG_N_ELEMENTS(fg_mail_hdr_labels); k++) {
		const char *word = fg_mail_hdr_labels[k].word;
		size_t n = strlen(word), p = i + n;

		if (!fg_line_starts_ci(s + i, len - i, word))
			continue;
		while (p < len && (s[p] == '*' || s[p] == '_'))
			p++;
		/* "De :" and "Objet :" as French clients write them */
		if (p < len && (s[p] == ' ' || s[p] == '\xc2'))
			p += s[p] == ' ' ? 1 : 2;	/* also U+00A0 */
		if (p < len && s[p] == ':')
			return fg_mail_hdr_labels[k].label;
		if (len - p >= 3 && memcmp(s + p, "\xef\xbc\x9a", 3) == 0)
			return fg_mail_hdr_labels[k].label;
	}
	return FG_HDR_NONE;
}

/* fg_mail_forward_intro - the line introduces a forwarded message,
   whose header block is content, not a quote */
static bool fg_mail_forward_intro(const char *s, size_t len)
{
	if (len > FG_MAIL_ATTRIB_LINE_MAX)
		return false;
	return fg_line_has(s, len, "Forwarded message") ||
		fg_line_has(s, len, "Begin forwarded message") ||
		fg_line_has(s, len, "Weitergeleitete Nachricht") ||
		fg_line_has(s, len, "Message transf\xc3\xa9r\xc3\xa9") ||
		fg_line_has(s, len, "Mensaje reenviado");
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

		if (fg_mail_forward_intro(s, len))
			return false;
		if (fg_text_rule_above(s, len) || fg_mail_original_line(s, len))
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
   message replied to when a separator line or a header block
   introduces it; only after the sender's own text, outside quotes */
static size_t fg_mail_trim_original(const struct fg_lines *lines, size_t n)
{
	bool content = false;

	for (size_t i = 0; i < n; i++) {
		const char *s = lines->start[i];
		size_t len = lines->len[i];

		if (len > 0 && s[0] == '>')
			continue;
		if (content && (fg_mail_original_line(s, len) ||
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

/* fg_mail_trim_unquoted - number of lines left after cutting an
   attribution ("On ... wrote:") and the unmarked text after it, as
   phones send the message replied to; only when no line after it is
   a "> " quote (that would be an inline reply) */
static size_t fg_mail_trim_unquoted(const struct fg_lines *lines, size_t n)
{
	size_t limit = n > 400 ? n - 400 : 0;

	for (size_t i = n; i > limit; i--) {
		const char *s = lines->start[i - 1];
		size_t len = lines->len[i - 1];
		long attrib;

		if (len > 0 && s[0] == '>')
			return n;
		attrib = fg_mail_attribution(lines, i - 1);
		if (attrib > 0 && fg_lines_have_digit(lines, (size_t)attrib,
						      i - 1)) {
			for (size_t k = 0; k < (size_t)attrib; k++) {
				if (!fg_line_blank(lines->start[k],
						   lines->len[k]))
					return (size_t)attrib;
			}
			return n;
		}
	}
	return n;
}

/* fg_mail_trim_mobile - number of lines left after cutting a phone's
   signature on the last line */
static size_t fg_mail_trim_mobile(const struct fg_lines *lines, size_t n)
{
	if (n > 1 && fg_mail_mobile_sig(lines->start[n - 1], lines->len[n - 1]))
		return n - 1;
	return n;
}

/* fg_lines_strip_blank - n without trailing blank lines */
static size_t fg_lines_strip_blank(const struct fg_lines *lines, size_t n)
{
	while (n > 0 && fg_line_blank(lines->start[n - 1], lines->len[n - 1]))
		n--;
	return n;
}

/* fg_lines_join - lines [first, n) as text, blank edges left out */
static char *fg_lines_join(const struct fg_lines *lines, size_t first,
			   size_t n)
{
	struct fg_buf out = { 0 };

	n = fg_lines_strip_blank(lines, n);
	while (first < n && fg_line_blank(lines->start[first],
					  lines->len[first]))
		first++;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			fg_buf_putc(&out, '\n');
		fg_buf_append(&out, lines->start[i],
			      fg_line_rtrim(lines->start[i], lines->len[i]) ==
			      0 ? 0 : lines->len[i]);
	}
	return fg_buf_steal(&out);
}

/* fg_mail_trim_split - body without trailing quote and signature;
   *cut_r (when not NULL) gets what was cut, "" when nothing */
char *fg_mail_trim_split(const char *text, bool forward,
			 char **cut_r)
{
	struct fg_lines lines;
	size_t n, before;
	char *kept;

	fg_lines_split(text, &lines);
	/* in a forward, the header block introduces the content */
	n = forward ? lines.n : fg_mail_trim_original(&lines, lines.n);
	/* The trims are a sequence of cuts at the end, each seeing what
	   the one before left. */
	do {
		before = n;
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_quote(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_unquoted(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_signature(&lines, n);
		n = fg_lines_strip_blank(&lines, n);
		n = fg_mail_trim_mobile(&lines, n);
	} while (n < before && n > 0);
	n = fg_lines_strip_blank(&lines, n);
	if (n == 0) {
		/* nothing but quote and signature: better post it all
		   than an empty post */
		n = lines.n;
	}
	kept = fg_lines_join(&lines, 0, n);
	if (cut_r != NULL)
		*cut_r = fg_lines_join(&lines, n, lines.n);
	free(lines.start);
	free(lines.len);
	return kept;
}

/* fg_mail_trim_body - cut trailing quote and signature */
char *fg_mail_trim_body(const char *text)
{
	return fg_mail_trim_split(text, false, NULL);
}
