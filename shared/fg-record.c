/*
 * NAME
 *	fg-record 3 - the two records that travel through the queues
 */
#include "fg-record.h"
#include "fg-common.h"
#include "fg-attach.h"
#include "fg-bounce.h"

#include <stdlib.h>

const char *fg_class_name(enum fg_class class)
{
	switch (class) {
	case FG_CLASS_POST: return "post";
	case FG_CLASS_OWN: return "own";
	case FG_CLASS_AUTO_REPLY: return "auto-reply";
	case FG_CLASS_BOUNCE: return "bounce";
	case FG_CLASS_NOT_LIST: return "not-list";
	case FG_CLASS_LIST_NOTICE: return "list-notice";
	}
	return "unknown";
}

void fg_record_free(struct fg_record **_rec)
{
	struct fg_record *rec = *_rec;

	if (rec == NULL)
		return;
	free(rec->message_id);
	free(rec->in_reply_to);
	fg_strv_free(rec->references, rec->n_references);
	free(rec->subject);
	free(rec->title);
	free(rec->from_name);
	free(rec->from_email);
	free(rec->date);
	free(rec->list_id);
	free(rec->body);
	free(rec->reason);
	fg_attachments_free(rec->attachments, rec->n_attachments);
	free(rec->trimmed);
	free(rec->quote_sketch);
	free(rec->text_sketch);
	free(rec->from_auth);
	fg_bounce_free(&rec->bounce);
	free(rec);
	*_rec = NULL;
}

void fg_post_free(struct fg_post **_post)
{
	struct fg_post *post = *_post;

	if (post == NULL)
		return;
	free(post->username);
	free(post->name);
	free(post->topic_title);
	free(post->raw);
	free(post->cooked);
	free(post->created_at);
	free(post->group);
	free(post);
	*_post = NULL;
}
