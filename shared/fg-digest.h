#ifndef FG_DIGEST_H
#define FG_DIGEST_H
/*
 * NAME
 *	fg-digest 3 - a list's digest of posts, as one mail
 * SYNOPSIS
 *	#include "fg-digest.h"
 *
 *	int fg_digest_format_parse(const char *name,
 *				   enum fg_digest_format *format_r);
 *	size_t fg_digest_order(const struct fg_digest_post *posts,
 *			       size_t n, size_t *order_r);
 *	int fg_digest_build(const struct fg_digest_post *posts, size_t n,
 *			    const struct fg_digest_set *set, char **data_r,
 *			    size_t *size_r, const char **error_r);
 * DESCRIPTION
 *	A subscriber in state "digest" gets the list's posts bundled, as
 *	Mailman 3's digests do. posts[] are the messages of one issue in
 *	the order the list distributed them (oldest first), each the copy
 *	the list built for it (subject tagged, no footer), with the URL of
 *	its forum post when known.
 *
 *	fg_digest_order() puts the posts in thread order: a post's
 *	parent is the post of the issue its In-Reply-To names, else the
 *	last of its References that is in the issue; posts without a
 *	parent in the issue belong to the same thread when their first
 *	Reference (or In-Reply-To) is the same (replies to one older
 *	topic). Threads come in the order of their oldest post; inside a
 *	thread, each post is followed by its replies, depth first, oldest
 *	first. order_r[] (n entries) gets the indexes of the readable
 *	posts in that order; the count is returned. A post that is not a
 *	MIME message is left out.
 *
 *	fg_digest_build() makes the digest mail, with CR LF line ends:
 *	From LIST-request@DOMAIN, To the posting address, Subject
 *	"[LIST] Digest, Vol N, Issue M", Date set->date, Message-ID
 *	<digest.VOL.ISSUE.DATE.LIST@DOMAIN> (the same for a rebuild of
 *	the same issue), and the list headers of fg_listmsg_set_headers()
 *	(List-Unsubscribe left out with set->personal_unsubscribe, for
 *	fg_listmsg_unsub_lines() in front of each recipient's copy).
 *
 *	FG_DIGEST_MIME (RFC 2046 5.1.5), as Mailman's MIME digest: a
 *	multipart/mixed of a text/plain masthead with the table of
 *	contents (each post's number, subject and author, and the link to
 *	its forum post), a multipart/digest with one message/rfc822 part
 *	per post in thread order, holding only the headers a reader needs
 *	(Date, From, To, Cc, Reply-To, Subject, Message-ID, In-Reply-To,
 *	References, Keywords, MIME-Version and the Content-* headers),
 *	and the footer, once, as a last text/plain part.
 *
 *	FG_DIGEST_RFC1153, the plain-text form of RFC 1153: one
 *	text/plain part (UTF-8): the masthead and table of contents, a
 *	line of 70 hyphens, then per post "Message: N" with its Date,
 *	From, Subject and Message-ID lines, an empty line, the text of
 *	its first text/plain part (or its HTML as text), a line naming
 *	each attachment left out, and a line of 30 hyphens; the footer;
 *	"End of LIST Digest, Vol N, Issue M" and a line of asterisks. A
 *	line of the text that starts with 30 hyphens gets a space in
 *	front, so that it cannot pass for a separator.
 *
 *	Subjects and authors in the table of contents and in the RFC 1153
 *	header lines are decoded (RFC 2047, any charset GMime knows) to
 *	UTF-8, control characters (CR and LF among them) replaced by
 *	spaces, and cut to FG_DIGEST_TOC_FIELD_MAX bytes.
 * BOUNDS
 *	The caller bounds the issue (posts and bytes): this builds it in
 *	memory. At most FG_DIGEST_POSTS_MAX posts.
 * DIAGNOSTICS
 *	-1 with *error_r: an unusable list description, no readable post,
 *	too many posts. fg_mail_init() must have been called. Never logs.
 */
#include <stdbool.h>
#include <stddef.h>

struct fg_listmsg_list;		/* fg-listmsg.h */

#define FG_DIGEST_POSTS_MAX 1000
#define FG_DIGEST_TOC_FIELD_MAX 200

enum fg_digest_format {
	FG_DIGEST_MIME,		/* multipart/digest */
	FG_DIGEST_RFC1153,	/* plain text */
};

struct fg_digest_post {
	const char *message;		/* the list's copy of the post */
	size_t size;
	const char *url;		/* its forum post; NULL: unknown */
};

struct fg_digest_set {
	const struct fg_listmsg_list *list;
	long long volume, issue;
	long long date;			/* unix time of the issue */
	enum fg_digest_format format;
	const char *footer;		/* footer template; NULL: none */
	bool personal_unsubscribe;	/* List-Unsubscribe per recipient */
};

/* fg_digest_format_parse - "mime" or "rfc1153"; -1 otherwise */
int fg_digest_format_parse(const char *name, enum fg_digest_format *format_r);
/* fg_digest_order - the readable posts' indexes in thread order */
size_t fg_digest_order(const struct fg_digest_post *posts, size_t n,
		       size_t *order_r);
/* fg_digest_build - the digest mail of one issue (caller frees) */
int fg_digest_build(const struct fg_digest_post *posts, size_t n,
		    const struct fg_digest_set *set, char **data_r,
		    size_t *size_r, const char **error_r);

#endif
