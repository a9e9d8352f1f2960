#ifndef FG_LISTMSG_H
#define FG_LISTMSG_H
/*
 * NAME
 *	fg-listmsg 3 - the changes a list makes to a post it distributes
 * SYNOPSIS
 *	#include "fg-listmsg.h"
 *
 *	int fg_listmsg_tag_subject(GMimeMessage *msg, const char *tag,
 *				   long long number, const char **error_r);
 *	char *fg_listmsg_tag_text(const char *subject, const char *tag,
 *				  long long number);
 *
 *	int fg_listmsg_footer_expand(const char *tmpl,
 *				     const struct fg_listmsg_list *list,
 *				     const char *topic_url,
 *				     const char *unsubscribe_url,
 *				     char **text_r, const char **error_r);
 *	int fg_listmsg_add_footer(GMimeMessage *msg, const char *footer,
 *				  const char **error_r);
 *
 *	int fg_listmsg_set_headers(GMimeMessage *msg,
 *				   const struct fg_listmsg_list *list,
 *				   const char *topic_url,
 *				   const char **error_r);
 *	int fg_listmsg_set_unsubscribe(GMimeMessage *msg,
 *				       const struct fg_listmsg_list *list,
 *				       const char *secret,
 *				       const char *recipient,
 *				       long long expires,
 *				       const char **error_r);
 *	int fg_listmsg_unsub_lines(const struct fg_listmsg_list *list,
 *				   const char *secret,
 *				   const char *recipient,
 *				   long long expires, char **lines_r,
 *				   const char **error_r);
 *	char *fg_listmsg_unsub_url(const struct fg_listmsg_list *list,
 *				   const char *secret,
 *				   const char *recipient,
 *				   long long expires,
 *				   const char **error_r);
 *	bool fg_listmsg_looped(GMimeMessage *msg,
 *			       const struct fg_listmsg_list *list);
 *
 *	char *fg_listmsg_unsub_token(const char *secret, const char *list,
 *				     const char *recipient,
 *				     long long expires);
 *	int fg_listmsg_unsub_verify(const char *secret, const char *token,
 *				    long long now, char **list_r,
 *				    char **recipient_r, const char **error_r);
 *
 *	int fg_listmsg_dmarc(GMimeMessage *msg,
 *			     const struct fg_listmsg_list *list,
 *			     enum fg_listmsg_dmarc policy, bool always,
 *			     bool *munged_r, const char **error_r);
 *
 *	int fg_listmsg_approval(GMimeMessage *msg, const char *secret,
 *				enum fg_listmsg_approve *result_r,
 *				const char **error_r);
 *
 *	int fg_listmsg_build(const char *data, size_t size,
 *			     const struct fg_listmsg_build *set,
 *			     char **copy_r, size_t *copy_size_r,
 *			     const char **error_r);
 * DESCRIPTION
 *	These functions (fg-listmsg.c: checks, subject tag, list headers;
 *	fg-listmsg-body.c: footer; fg-listmsg-approve.c: passphrase;
 *	fg-listmsg-token.c: unsubscribe token; fg-listmsg-dmarc.c: From
 *	rewrite) change a parsed message (GMime 3 objects; the
 *	caller parses and serializes) the way a list manager does before
 *	it sends a post to its members, following Mailman 3's handlers
 *	(subject-prefix, decorate, rfc-2369, cook-headers, dmarc) and
 *	its "approved" rule. Each does one job, so that the list's
 *	filter chain calls the ones its configuration turns on, in its
 *	own order: approval first (before anything is stored or shown),
 *	then the subject tag, the footer, DMARC and the list headers,
 *	and per recipient the unsubscribe header last.
 *
 *	struct fg_listmsg_list describes the list: name (a list name,
 *	fg_list_name_valid()), address (posting address, LIST@DOMAIN),
 *	display_name (shown in List-Id and in a DMARC From; NULL: the
 *	name), list_id (NULL: LIST.DOMAIN as fg_listmail_default_id()
 *	makes it), unsubscribe_base (the https URL of the one-click
 *	endpoint; NULL: none). The list manager's own addresses are made
 *	from the posting address as Mailman 3 names them: LIST-request,
 *	LIST-join, LIST-leave, LIST-owner at the list's domain. Every
 *	value is checked before it goes into a header: no CR, LF or
 *	other control character, no non-ASCII byte in an address or
 *	URL, bounded length; a bad one is an error, never mended.
 *
 *	Subject tag. fg_listmsg_tag_text() is Mailman 3's subject
 *	prefixing on decoded (UTF-8) text, the tag a list name
 *	(fg_list_name_valid(); fg_listmsg_tag_subject() refuses others):
 *	every "[tag]" (in any case, with the white space after it) is
 *	removed wherever it stands, then a run of
 *	reply prefixes at the start (Re:, AW:, SV:, VS:, with Mailman's
 *	numbered form "Re[2]:", any case, repeated) becomes one "Re: ",
 *	and "[tag] " goes in front: "Re: [tag] x" and "AW: Re: x" give
 *	"[tag] Re: x", "[tag] x" stays. Other prefixes (Fwd:, WG:)
 *	are not Mailman's reply forms and stay after the tag. An empty
 *	subject becomes "(no subject)". With number > 0 the tag is
 *	"[tag number]" and an existing "[tag N]" of any number is
 *	removed (Mailman's "%d" prefix; off when number is 0). The
 *	result is one line, control characters replaced, at most
 *	FG_LISTMSG_SUBJECT_MAX bytes of the original subject kept.
 *
 *	fg_listmsg_tag_subject() does it to the message's Subject:
 *	RFC 2047 encoded words are decoded, the text tagged, and the
 *	header encoded again in the charset of the first encoded word
 *	(GMime falls back to UTF-8 where that charset cannot hold the
 *	text); a subject without encoded words stays as it is where it
 *	is ASCII.
 *
 *	Footer. fg_listmsg_footer_expand() replaces the placeholders
 *	$list_name, $display_name, $list_address, $list_id, $topic_url
 *	and $unsubscribe_url (also as ${name}; "$$" is "$"; an unknown
 *	one stays as it is) in a UTF-8 template; a NULL URL expands to
 *	"". The result has LF line ends and is at most
 *	FG_LISTMSG_FOOTER_MAX bytes.
 *
 *	fg_listmsg_add_footer() adds the footer text to the message as
 *	Mailman 3's decorate handler does. A single-part text/plain
 *	message gets the footer appended to its text, after a line
 *	break when the text does not end with one, in the part's own
 *	charset and with its Content-Transfer-Encoding (quoted-printable
 *	and base64 encoded again; 7bit becomes quoted-printable when the
 *	footer brings 8-bit text or a line too long for SMTP); where the part's charset cannot hold
 *	the footer, the whole text is converted to UTF-8 and the charset
 *	parameter changed; format= and delsp= parameters are kept. A
 *	multipart/mixed message gets the footer as a last text/plain
 *	part (UTF-8, Content-Disposition: inline). Anything else
 *	(multipart/alternative, multipart/signed, multipart/encrypted,
 *	text/html, a text/plain part whose bytes are not valid in its
 *	charset, any other type) is wrapped: the message's MIME part,
 *	untouched, becomes the first part of a new multipart/mixed,
 *	the footer the second. A signed part is never opened, so its
 *	signature stays valid.
 *
 *	List headers. fg_listmsg_set_headers() first removes every
 *	List-Id, List-Help, List-Post, List-Subscribe, List-Unsubscribe,
 *	List-Unsubscribe-Post, List-Owner, List-Archive, Precedence and
 *	X-BeenThere the message has (a sender's or another list's), then
 *	adds List-Id: "display_name" <list_id> (RFC 2919), List-Help:
 *	<mailto:LIST-request@DOMAIN?subject=help>, List-Post:
 *	<mailto:LIST@DOMAIN>, List-Subscribe: <mailto:LIST-join@DOMAIN>,
 *	List-Unsubscribe: <mailto:LIST-leave@DOMAIN>, List-Owner:
 *	<mailto:LIST-owner@DOMAIN> (RFC 2369), List-Archive: <topic_url>
 *	when given (the forum topic), Precedence: list and X-BeenThere:
 *	LIST@DOMAIN, the header Mailman writes and its loop rule reads.
 *	fg_listmsg_looped() is true when a message already has the
 *	list's X-BeenThere: it went through this list before.
 *
 *	fg_listmsg_set_unsubscribe() makes List-Unsubscribe personal for
 *	one recipient (fan-out calls it per copy): <https://BASE/TOKEN>
 *	first, <mailto:LIST-leave@DOMAIN> second (RFC 8058 wants the
 *	https one for one-click), and RFC 8058
 *	List-Unsubscribe-Post: List-Unsubscribe=One-Click. Without
 *	unsubscribe_base it leaves the mailto form alone.
 *
 *	fg_listmsg_unsub_lines() gives the same two header lines as
 *	text (CR LF line ends) for a sender that serializes the message
 *	once, with List-Unsubscribe removed, and writes these lines in
 *	front of each copy; it needs unsubscribe_base.
 *
 *	fg_listmsg_unsub_url() is that https URL, for the footer's
 *	$unsubscribe_url. The token, fg_listmsg_unsub_token(), is
 *
 *		u1.LIST.EXPIRES.ADDR.MAC
 *
 *	EXPIRES a unix time, ADDR the recipient in lower case as
 *	base64url without padding, MAC the first 32 hex digits of
 *	HMAC-SHA256(secret, "unsub:LIST.EXPIRES.recipient"). It needs no
 *	state and only URL-safe characters. fg_listmsg_unsub_verify()
 *	returns 1 with the list and the recipient (caller frees) when
 *	the MAC verifies (compared in constant time) and EXPIRES is not
 *	before now, 0 when it does not verify or has expired (with
 *	*error_r saying which), -1 when it is not a token.
 *
 *	DMARC. fg_listmsg_dmarc() does Mailman 3's "munge From" when
 *	policy is FG_LISTMSG_DMARC_QUARANTINE or _REJECT, or always:
 *	From becomes "NAME via DISPLAY_NAME" <LIST@DOMAIN>, NAME the
 *	author's display name, else the author's address with its domain
 *	replaced by "---" (Mailman's rule, so that no second domain shows
 *	in From); the author's address is added to Reply-To unless it is
 *	already there (existing Reply-To addresses kept, in their order);
 *	X-Original-From carries the author's From as it was. The DNS
 *	look-up of the author's domain's policy is the caller's: this
 *	library takes the policy it found (FG_LISTMSG_DMARC_NONE when
 *	there was none or the look-up failed). A message whose From has
 *	no single address is refused with an error (-1).
 *
 *	Approval. fg_listmsg_approval() finds and removes a moderator's
 *	passphrase, as Mailman 3's "approved" rule does: the headers
 *	Approved, Approve, X-Approved and X-Approve (all of them, the
 *	first one's value is the passphrase), a "[approve:SECRET]" tag
 *	in the Subject, and, when neither was there, an "Approved:
 *	SECRET" (or "Approve:") first non-blank line of the first
 *	text/plain part, which is removed, and the same "Approved:
 *	SECRET" text in every other text part (the HTML alternative).
 *	The result is FG_LISTMSG_APPROVE_NONE (no passphrase),
 *	_MATCH (equal to secret) or _MISMATCH; the comparison takes the
 *	same time wherever the two differ. The passphrase found is
 *	removed in every case, so it never reaches the members; a
 *	passphrase in a signed part is removed too (the signature then
 *	fails, but the secret does not travel).
 *
 *	Build. fg_listmsg_build() (fg-listmsg-build.c) is the list's
 *	"build" step: it parses a message as delivered to the posting
 *	address, removes the trace headers of that delivery
 *	(Return-Path, Delivered-To), tags the subject (set->tag), adds
 *	the footer template set->footer expanded (NULL: none;
 *	$unsubscribe_url is empty there, as the copy is shared), rewrites
 *	From when set->dmarc_always, or when set->dmarc_policy (called
 *	with the domain of the From address, when From has a single
 *	one) answers quarantine or reject, sets the list headers, and with
 *	set->personal_unsubscribe removes List-Unsubscribe and
 *	List-Unsubscribe-Post so that fg_listmsg_unsub_lines() can be
 *	written in front of each recipient's copy. The copy has CR LF line
 *	ends (caller frees).
 * BOUNDS
 *	A subject longer than FG_LISTMSG_SUBJECT_MAX, a footer longer
 *	than FG_LISTMSG_FOOTER_MAX, a passphrase longer than
 *	FG_LISTMSG_SECRET_MAX are cut or refused as each function says;
 *	MIME trees are walked to FG_LISTMSG_DEPTH_MAX levels. The text
 *	part a footer is appended to is bounded by the caller's message
 *	size limit.
 * DIAGNOSTICS
 *	0 on success, -1 with *error_r set (nothing changed where a
 *	check fails before the change). fg_mail_init() must have been
 *	called. Never logs.
 */
#include <stdbool.h>
#include <gmime/gmime.h>

#define FG_LISTMSG_SUBJECT_MAX 2000
#define FG_LISTMSG_FOOTER_MAX 4096
#define FG_LISTMSG_SECRET_MAX 256
#define FG_LISTMSG_VALUE_MAX 900
#define FG_LISTMSG_DEPTH_MAX 32
#define FG_LISTMSG_TOKEN_MAX 512
#define FG_LISTMSG_BASE_MAX 400

struct fg_listmsg_list {
	const char *name;		/* list name */
	const char *address;		/* posting address LIST@DOMAIN */
	const char *display_name;	/* NULL: name */
	const char *list_id;		/* NULL: LIST.DOMAIN */
	const char *unsubscribe_base;	/* https URL; NULL: none */
};

enum fg_listmsg_dmarc {
	FG_LISTMSG_DMARC_NONE,		/* p=none, no record, unknown */
	FG_LISTMSG_DMARC_QUARANTINE,
	FG_LISTMSG_DMARC_REJECT,
};

enum fg_listmsg_approve {
	FG_LISTMSG_APPROVE_NONE,	/* no passphrase in the message */
	FG_LISTMSG_APPROVE_MATCH,
	FG_LISTMSG_APPROVE_MISMATCH,
};

/* fg_listmsg_forward - a message delivered to one of the list's
   addresses as it is forwarded to a person (mail to LIST-owner@ for the
   moderators): the trace headers of that delivery removed, written with
   CR LF line ends (*copy_r, caller frees) */
int fg_listmsg_forward(const char *data, size_t size, char **copy_r,
		       size_t *copy_size_r, const char **error_r);

/* What fg_listmsg_build() does to a post. */
struct fg_listmsg_build {
	const struct fg_listmsg_list *list;
	bool tag;			/* the subject tag "[name]" */
	const char *footer;		/* footer template; NULL: none */
	const char *topic_url;		/* List-Archive, $topic_url; NULL */
	bool dmarc_always;		/* munge From whatever the policy */
	/* the DMARC policy of the author's domain (the From address's),
	   asked for when set and not dmarc_always; NULL: none asked */
	enum fg_listmsg_dmarc (*dmarc_policy)(void *context,
					      const char *domain);
	void *dmarc_context;
	bool personal_unsubscribe;	/* List-Unsubscribe per recipient */
};

/* fg_listmsg_list_check - the list description is usable in headers */
int fg_listmsg_list_check(const struct fg_listmsg_list *list,
			  const char **error_r);

/* fg_listmsg_tag_text - a decoded subject with the tag placed once */
char *fg_listmsg_tag_text(const char *subject, const char *tag,
			  long long number);
/* fg_listmsg_tag_subject - tag the message's Subject */
int fg_listmsg_tag_subject(GMimeMessage *msg, const char *tag,
			   long long number, const char **error_r);

/* fg_listmsg_footer_expand - a footer template with its values */
int fg_listmsg_footer_expand(const char *tmpl,
			     const struct fg_listmsg_list *list,
			     const char *topic_url, const char *unsubscribe_url,
			     char **text_r, const char **error_r);
/* fg_listmsg_add_footer - the footer into the text or as its own part */
int fg_listmsg_add_footer(GMimeMessage *msg, const char *footer,
			  const char **error_r);

/* fg_listmsg_set_headers - the list's List-*, Precedence, X-BeenThere */
int fg_listmsg_set_headers(GMimeMessage *msg,
			   const struct fg_listmsg_list *list,
			   const char *topic_url, const char **error_r);
/* fg_listmsg_set_unsubscribe - one recipient's one-click unsubscribe */
int fg_listmsg_set_unsubscribe(GMimeMessage *msg,
			       const struct fg_listmsg_list *list,
			       const char *secret, const char *recipient,
			       long long expires, const char **error_r);
/* fg_listmsg_unsub_url - unsubscribe_base/TOKEN for one recipient;
   NULL with *error_r when the list has no base or the recipient is
   not a plain address */
char *fg_listmsg_unsub_url(const struct fg_listmsg_list *list,
			   const char *secret, const char *recipient,
			   long long expires, const char **error_r);
/* fg_listmsg_unsub_lines - fg_listmsg_set_unsubscribe()'s two header
   lines as CR LF text (caller frees), for a sender that serializes the
   message once, without List-Unsubscribe, and writes these in front */
int fg_listmsg_unsub_lines(const struct fg_listmsg_list *list,
			   const char *secret, const char *recipient,
			   long long expires, char **lines_r,
			   const char **error_r);
/* fg_listmsg_reply_has - the address list holds that mailbox (any
   case), e.g. the author in Reply-To */
bool fg_listmsg_reply_has(InternetAddressList *list, const char *addr);
/* fg_listmsg_looped - the message went through this list before */
bool fg_listmsg_looped(GMimeMessage *msg, const struct fg_listmsg_list *list);

/* fg_listmsg_unsub_token - the signed unsubscribe token; NULL when the
   list or recipient cannot be in one */
char *fg_listmsg_unsub_token(const char *secret, const char *list,
			     const char *recipient, long long expires);
/* fg_listmsg_unsub_verify - 1 valid, 0 bad MAC or expired, -1 no token */
int fg_listmsg_unsub_verify(const char *secret, const char *token,
			    long long now, char **list_r, char **recipient_r,
			    const char **error_r);

/* fg_listmsg_dmarc - Mailman's From munging, by policy or always */
int fg_listmsg_dmarc(GMimeMessage *msg, const struct fg_listmsg_list *list,
		     enum fg_listmsg_dmarc policy, bool always,
		     bool *munged_r, const char **error_r);

/* fg_listmsg_approval - remove the passphrase, say whether it matched */
int fg_listmsg_approval(GMimeMessage *msg, const char *secret,
			enum fg_listmsg_approve *result_r,
			const char **error_r);

/* fg_listmsg_build - the copy for the members, made once per post */
int fg_listmsg_build(const char *data, size_t size,
		     const struct fg_listmsg_build *set, char **copy_r,
		     size_t *copy_size_r, const char **error_r);

#endif
