/*
 * NAME
 *	fg-threading 3 - where a message belongs in a thread, both ways
 * DESCRIPTION
 *	Pure rules over two lookup callbacks; see fg-threading.h.
 */
#include "fg-threading.h"
#include "fg-common.h"
#include "fg-msgid.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* fg_threading_try - one candidate: the map first, then our own scheme */
static int fg_threading_try(const char *id, const char *secret,
			    const char *list,
			    fg_threading_msgid_lookup_fn *lookup,
			    void *context, struct fg_post_ref *parent_r,
			    const char **error_r)
{
	struct fg_msgid_post named;
	char *id_list = NULL;
	int ret;

	ret = lookup(context, id, parent_r, error_r);
	if (ret != 0)
		return ret;
	if (secret == NULL ||
	    fg_msgid_parse_post(secret, id, &id_list, &named) != 1)
		return 0;
	/* one of our own posts, forgotten by the map: the ID names it,
	   by its place or by its id */
	ret = strcmp(id_list, list) == 0;
	free(id_list);
	if (ret) {
		memset(parent_r, 0, sizeof(*parent_r));
		parent_r->topic_id = named.topic_id;
		parent_r->post_number = named.post_number;
		parent_r->post_id = named.post_id;
	}
	return ret;
}

/* fg_threading_find_parent - In-Reply-To, then References newest first */
int fg_threading_find_parent(const struct fg_record *rec, const char *secret,
			     const char *list,
			     fg_threading_msgid_lookup_fn *lookup,
			     void *context, struct fg_post_ref *parent_r,
			     const char **parent_id_r, const char **error_r)
{
	const char *id;
	int ret;

	memset(parent_r, 0, sizeof(*parent_r));
	*parent_id_r = NULL;
	for (size_t i = 0; i <= rec->n_references; i++) {
		if (i == 0) {
			id = rec->in_reply_to;
		} else {
			id = rec->references[rec->n_references - i];
			/* asked already as In-Reply-To */
			if (rec->in_reply_to != NULL &&
			    strcmp(id, rec->in_reply_to) == 0)
				continue;
		}
		if (id == NULL || *id == '\0' ||
		    (rec->message_id != NULL &&
		     strcmp(id, rec->message_id) == 0))
			continue;
		ret = fg_threading_try(id, secret, list, lookup, context,
				       parent_r, error_r);
		if (ret < 0)
			return -1;
		if (ret > 0 && parent_r->topic_id > 0 &&
		    (parent_r->post_number > 0 || parent_r->post_id > 0)) {
			*parent_id_r = id;
			return 1;
		}
	}
	memset(parent_r, 0, sizeof(*parent_r));
	return 0;
}

/* fg_threading_parent_post - reply_to_post_number when it names an
   earlier post, else the topic's first post */
long long fg_threading_parent_post(const struct fg_post *post)
{
	if (post->post_number <= 1)
		return 0;
	if (post->reply_to_post_number > 0 &&
	    post->reply_to_post_number < post->post_number)
		return post->reply_to_post_number;
	return 1;
}

void fg_threading_parent(const struct fg_post *post, long long *number_r,
			 long long *id_r)
{
	*number_r = 0;
	*id_r = 0;
	if (post->post_number <= 1)
		return;
	/* ids only grow: a link to a later post is no parent */
	if (post->reply_to_post_id > 0 &&
	    (post->post_id <= 0 || post->reply_to_post_id < post->post_id)) {
		*id_r = post->reply_to_post_id;
		return;
	}
	*number_r = fg_threading_parent_post(post);
}

char *fg_threading_post_msgid(const char *secret, const char *list,
			      const char *domain, bool by_id,
			      const struct fg_post *post, long long revision)
{
	if (by_id && post->post_id > 0)
		return fg_msgid_make_post(secret, list, post->topic_id,
					  post->post_id, revision, domain);
	return fg_msgid_make_revision(secret, list, post->topic_id,
				      post->post_number, revision, domain);
}

/* One post on the way up the thread: its number and its id, either
   of which may be 0 (not known). */
struct fg_threading_link {
	long long number, id;
};

/* fg_threading_post_id - a post's Message-ID: the map's, else ours for
   it (by id when the id is known); *next_r is the post it answers as
   far as the map knows, else {0, 0}; *first_r: it is the topic's first
   post */
static int fg_threading_post_id(const char *secret, const char *list,
				const char *domain, long long topic,
				struct fg_threading_link cur,
				fg_threading_post_lookup_fn *lookup,
				void *context, char **id_r,
				struct fg_threading_link *next_r,
				bool *first_r, const char **error_r)
{
	struct fg_post_ref ref;
	char *id = NULL;
	int ret;

	memset(next_r, 0, sizeof(*next_r));
	*first_r = cur.number == 1;
	memset(&ref, 0, sizeof(ref));
	ret = lookup(context, topic, cur.number, cur.id, &id, &ref, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0 && id != NULL && *id != '\0') {
		*id_r = id;
		if (ref.post_number == 1)
			*first_r = true;
		/* numbers and ids only grow: anything else is no parent */
		if (ref.parent_post_id > 0 &&
		    (ref.post_id <= 0 || ref.parent_post_id < ref.post_id)) {
			next_r->id = ref.parent_post_id;
			next_r->number = ref.parent_post_number;
		} else if (ref.parent_post_number > 0 &&
			   (ref.post_number <= 0 ||
			    ref.parent_post_number < ref.post_number)) {
			next_r->number = ref.parent_post_number;
		}
		return 0;
	}
	free(id);
	*id_r = cur.id > 0 ?
		fg_msgid_make_post(secret, list, topic, cur.id, 0, domain) :
		fg_msgid_make(secret, list, topic, cur.number, domain);
	return 0;
}

/* fg_threading_has - is id in the vector already */
static bool fg_threading_has(char **v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], id) == 0)
			return true;
	}
	return false;
}

/* fg_threading_outbound - walk up from the parent to the topic start */
int fg_threading_outbound(const char *secret, const char *list,
			  const char *domain, bool by_id,
			  const struct fg_post *post,
			  fg_threading_post_lookup_fn *lookup, void *context,
			  struct fg_threading_headers *headers_r,
			  const char **error_r)
{
	/* newest first while walking; the depth bound plus the first post */
	char *chain[FG_THREADING_MAX_DEPTH + 1], *id;
	struct fg_threading_link cur, next;
	const struct fg_threading_link first_post = { 1, 0 };
	size_t n = 0;
	bool have_first = false, is_first;

	memset(headers_r, 0, sizeof(*headers_r));
	headers_r->message_id = fg_threading_post_msgid(secret, list, domain,
							by_id, post, 0);
	fg_threading_parent(post, &cur.number, &cur.id);
	headers_r->parent_post_number = cur.number;
	headers_r->parent_post_id = cur.id;
	if (cur.number == 0 && cur.id == 0)
		return 0;

	while (n < FG_THREADING_MAX_DEPTH) {
		if (fg_threading_post_id(secret, list, domain, post->topic_id,
					 cur, lookup, context, &id, &next,
					 &is_first, error_r) < 0)
			goto fail;
		if (fg_threading_has(chain, n, id))
			free(id);	/* a loop in the map: stop here */
		else
			chain[n++] = id;
		if (is_first) {
			have_first = true;
			break;
		}
		cur = next.number > 0 || next.id > 0 ? next : first_post;
	}
	if (!have_first) {
		if (fg_threading_post_id(secret, list, domain, post->topic_id,
					 first_post, lookup, context, &id,
					 &next, &is_first, error_r) < 0)
			goto fail;
		if (fg_threading_has(chain, n, id))
			free(id);
		else
			chain[n++] = id;
	}
	headers_r->in_reply_to = fg_xstrdup(chain[0]);
	headers_r->references = fg_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		headers_r->references[i] = chain[n - 1 - i];
	headers_r->n_references = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(chain[i]);
	fg_threading_headers_free(headers_r);
	return -1;
}

/* fg_threading_headers_free - free the members */
void fg_threading_headers_free(struct fg_threading_headers *headers)
{
	free(headers->message_id);
	free(headers->in_reply_to);
	fg_strv_free(headers->references, headers->n_references);
	memset(headers, 0, sizeof(*headers));
}
