/*
 * NAME
 *	fg-forum 3 - forum drivers: create topics and replies over a forum API
 * DESCRIPTION
 *	The driver table and the calls that dispatch through it. The
 *	drivers themselves live in one file each (fg-discourse.c).
 * SEE ALSO
 *	fg-forum.h for the result classes.
 */
#include "fg-forum.h"
#include "fg-common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#define FG_RETRY_AFTER_MAX_S (24 * 3600)

static const struct fg_forum_vfuncs *const fg_forum_drivers[] = {
	&fg_forum_discourse,
	&fg_forum_nodebb,
};

/* fg_forum_find_driver - look a driver up by its configured name */
const struct fg_forum_vfuncs *fg_forum_find_driver(const char *type)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_forum_drivers); i++) {
		if (strcasecmp(fg_forum_drivers[i]->name, type) == 0)
			return fg_forum_drivers[i];
	}
	return NULL;
}

/* fg_forum_init - check the common settings, then let the driver open */
int fg_forum_init(const struct fg_forum_settings *set,
		  struct fg_forum **forum_r, const char **error_r)
{
	const struct fg_forum_vfuncs *v;

	*forum_r = NULL;
	if (set->type == NULL || *set->type == '\0') {
		*error_r = "forum_type is not set";
		return -1;
	}
	v = fg_forum_find_driver(set->type);
	if (v == NULL) {
		*error_r = fg_errorf("unknown forum_type '%s' (known: discourse, nodebb)",
				     set->type);
		return -1;
	}
	if (set->url == NULL || (strncasecmp(set->url, "http://", 7) != 0 &&
				 strncasecmp(set->url, "https://", 8) != 0)) {
		*error_r = fg_errorf("forum_url '%s' is not an http:// or "
				     "https:// URL",
				     set->url == NULL ? "" : set->url);
		return -1;
	}
	if (v->init(set, forum_r, error_r) < 0)
		return -1;
	(*forum_r)->v = v;
	return 0;
}

/* fg_forum_deinit - let the driver free its handle */
void fg_forum_deinit(struct fg_forum **_forum)
{
	struct fg_forum *forum = *_forum;

	if (forum == NULL)
		return;
	*_forum = NULL;
	forum->v->deinit(forum);
}

/* fg_forum_answer_reset - no ids, no status, no wait */
static void fg_forum_answer_reset(struct fg_forum_answer *answer)
{
	memset(answer, 0, sizeof(*answer));
}

/* fg_forum_create_topic - dispatch to the driver */
int fg_forum_create_topic(struct fg_forum *forum, const char *title,
			  const char *raw, long long category,
			  struct fg_forum_answer *answer_r,
			  const char **error_r)
{
	fg_forum_answer_reset(answer_r);
	return forum->v->create_topic(forum, title, raw, category, answer_r,
				      error_r);
}

/* fg_forum_create_reply - dispatch to the driver */
int fg_forum_create_reply(struct fg_forum *forum, long long topic_id,
			  long long reply_to_post_number, const char *raw,
			  struct fg_forum_answer *answer_r,
			  const char **error_r)
{
	fg_forum_answer_reset(answer_r);
	return forum->v->create_reply(forum, topic_id, reply_to_post_number,
				      raw, answer_r, error_r);
}

/* fg_forum_post_url - dispatch to the driver */
char *fg_forum_post_url(struct fg_forum *forum, long long topic_id,
			long long post_number)
{
	return forum->v->post_url(forum, topic_id, post_number);
}

/* fg_forum_status_name - a word for the log */
const char *fg_forum_status_name(int status)
{
	switch (status) {
	case FG_FORUM_OK: return "ok";
	case FG_FORUM_TRANSIENT: return "transient";
	case FG_FORUM_PERMANENT: return "permanent";
	case FG_FORUM_HELD: return "held";
	}
	return "unknown";
}

/* fg_forum_retry_wait - see fg-forum.h */
unsigned int fg_forum_retry_wait(unsigned int backoff_ms,
				 unsigned int retry_after_ms,
				 unsigned int retry_after_max_ms)
{
	if (retry_after_ms > retry_after_max_ms)
		retry_after_ms = retry_after_max_ms;
	return retry_after_ms > backoff_ms ? retry_after_ms : backoff_ms;
}

/* fg_forum_parse_retry_after - RFC 9110 section 10.2.3 */
unsigned int fg_forum_parse_retry_after(const char *value, long long now)
{
	long long seconds;
	const char *p;

	if (value == NULL)
		return 0;
	while (isspace((unsigned char)*value))
		value++;
	if (*value == '\0')
		return 0;
	for (p = value; isdigit((unsigned char)*p); p++)
		;
	while (isspace((unsigned char)*p))
		p++;
	if (isdigit((unsigned char)*value) && *p == '\0') {
		/* delta-seconds; a long run of digits is just "very long" */
		seconds = 0;
		for (p = value; isdigit((unsigned char)*p); p++) {
			seconds = seconds * 10 + (*p - '0');
			if (seconds > FG_RETRY_AFTER_MAX_S)
				break;
		}
	} else {
		time_t when = curl_getdate(value, NULL);
		if (when == (time_t)-1)
			return 0;
		seconds = (long long)when - now;
		if (seconds <= 0)
			return 0;
	}
	if (seconds > FG_RETRY_AFTER_MAX_S)
		seconds = FG_RETRY_AFTER_MAX_S;
	return (unsigned int)(seconds * 1000);
}

/* fg_forum_create - the driver's create, else the two older calls */
int fg_forum_create(struct fg_forum *forum, const struct fg_forum_request *req,
		    struct fg_forum_answer *answer_r, const char **error_r)
{
	fg_forum_answer_reset(answer_r);
	if (forum->v->create != NULL)
		return forum->v->create(forum, req, answer_r, error_r);
	if (req->topic_id > 0)
		return forum->v->create_reply(forum, req->topic_id,
					      req->reply_to_post_number,
					      req->raw, answer_r, error_r);
	return forum->v->create_topic(forum, req->title, req->raw,
				      req->category, answer_r, error_r);
}

/* fg_forum_find - dispatch; a driver that cannot look finds nothing */
int fg_forum_find(struct fg_forum *forum, const struct fg_forum_request *req,
		  struct fg_forum_answer *answer_r, const char **error_r)
{
	fg_forum_answer_reset(answer_r);
	if (forum->v->find == NULL)
		return 0;
	return forum->v->find(forum, req, answer_r, error_r);
}

/* fg_forum_can_upload - see fg-forum.h */
int fg_forum_can_upload(struct fg_forum *forum)
{
	return forum->v->upload != NULL;
}

/* fg_forum_upload - dispatch */
int fg_forum_upload(struct fg_forum *forum, const struct fg_forum_file *file,
		    struct fg_forum_upload *upload_r, const char **error_r)
{
	memset(upload_r, 0, sizeof(*upload_r));
	if (forum->v->upload == NULL) {
		*error_r = "the forum driver does not upload files";
		return FG_FORUM_PERMANENT;
	}
	return forum->v->upload(forum, file, upload_r, error_r);
}

/* fg_forum_upload_free - free the members */
void fg_forum_upload_free(struct fg_forum_upload *upload)
{
	free(upload->url);
	free(upload->markdown);
	memset(upload, 0, sizeof(*upload));
}

/* fg_forum_external_id - see fg-forum.h */
char *fg_forum_external_id(const char *message_id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *id = fg_xmalloc(3 + 32 + 1);

	if (EVP_Digest(message_id, strlen(message_id), md, &len,
		       EVP_sha256(), NULL) != 1 || len < 16)
		abort();	/* SHA-256 does not fail */
	memcpy(id, "fg-", 3);
	for (unsigned int i = 0; i < 16; i++)
		snprintf(id + 3 + i * 2, 3, "%02x", md[i]);
	return id;
}

/* fg_forum_raw_same - compare without white space, ASCII case folded */
int fg_forum_raw_same(const char *a, const char *b)
{
	for (;;) {
		while (isspace((unsigned char)*a))
			a++;
		while (isspace((unsigned char)*b))
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

bool fg_forum_post_is_bridge(const char *type, const char *api_username,
			     const struct fg_post *post)
{
	long long uid;

	if (api_username == NULL || *api_username == '\0')
		return false;
	if (type != NULL && strcmp(type, "nodebb") == 0)
		return post->user_id > 0 &&
			fg_parse_llong(api_username, &uid) == 0 &&
			uid == post->user_id;
	return post->username != NULL &&
		strcasecmp(post->username, api_username) == 0;
}
