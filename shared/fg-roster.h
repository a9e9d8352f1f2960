#ifndef FG_ROSTER_H
#define FG_ROSTER_H
/*
 * NAME
 *	fg-roster 3 - a list's members as its list manager knows them
 * SYNOPSIS
 *	#include "fg-roster.h"
 * DESCRIPTION
 *	A list's roster source (the "roster" field of fg:{LIST}:config,
 *	set with `forumgate list set LIST roster SOURCE`) says where
 *	`forumgate member sync` reads the members from:
 *
 *	mailman3[:LIST_ID]
 *		GNU Mailman 3's REST API (settings mailman_rest_url,
 *		mailman_rest_user, mailman_rest_password): GET
 *		lists/LIST_ID/roster/member, page by page. LIST_ID is the
 *		Mailman list id; without it, the one Mailman derives from
 *		the posting address (forum@lists.example.org:
 *		forum.lists.example.org).
 *	mlmmj:/LISTDIR
 *		an mlmmj list directory: the addresses in the files of
 *		subscribers.d/, digesters.d/ and nomailsubs.d/ (all three
 *		may post).
 *
 *	A roster is the sorted set of addresses, lowercased and trimmed
 *	as `member add` stores them. Entries that are no address (no
 *	'@', white space, too long) are counted in `ignored`, not kept.
 * DIAGNOSTICS
 *	-1 with *error_r when the source cannot be read completely (then
 *	there is no roster: a partial one must not replace the members).
 */
#include <stdbool.h>
#include <stddef.h>

struct fg_config;

/* Most members a roster holds; a larger one is an error. */
#define FG_ROSTER_MAX_MEMBERS 1000000
/* Longest address kept (RFC 5321's path limit less the brackets). */
#define FG_ROSTER_ADDRESS_MAX 254

enum fg_roster_kind {
	FG_ROSTER_MAILMAN3,
	FG_ROSTER_MLMMJ,
};

struct fg_roster_source {
	enum fg_roster_kind kind;
	char *where;		/* Mailman list id or mlmmj directory */
};

struct fg_roster {
	char **addresses;	/* sorted, unique */
	size_t count;
	size_t ignored;		/* entries that were not addresses */
};

/* fg_roster_source_parse - a roster source; the list's posting address
   gives Mailman's list id when the source names none */
int fg_roster_source_parse(const char *text, const char *list_address,
			   struct fg_roster_source *source_r,
			   const char **error_r);
void fg_roster_source_free(struct fg_roster_source *source);

/* fg_roster_read - the whole roster from its source */
int fg_roster_read(const struct fg_config *config,
		   const struct fg_roster_source *source,
		   struct fg_roster *roster_r, const char **error_r);

/* fg_roster_mailman_page - add one page of Mailman's roster (the JSON
   body of GET .../roster/member) to a roster being built; sets
   *total_r to Mailman's total_size and *entries_r to the page's
   entries. For fg_roster_read() and its tests. */
int fg_roster_mailman_page(struct fg_roster *roster, const char *json,
			   size_t len, long long *total_r, size_t *entries_r,
			   const char **error_r);

/* fg_roster_add - add one address (trimmed, lowercased; counted as
   ignored when it is none) */
void fg_roster_add(struct fg_roster *roster, const char *address,
		   size_t len);
/* fg_roster_finish - sort the addresses and drop duplicates */
void fg_roster_finish(struct fg_roster *roster);
void fg_roster_free(struct fg_roster *roster);

#endif
