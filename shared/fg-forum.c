/*
 * NAME
 *	fg-forum 3 - forum drivers: create topics and replies over a forum API
 * DESCRIPTION
 *	The driver table and the calls that dispatch through it. The
 *	drivers themselves live in one file each (fg-discourse.c,
 *	fg-nodebb.c, fg-generic.c).
 * SEE ALSO
 *	fg-forum.h for the result classes.
 */
#include "fg-forum.h"
#include "fg-common.h"
#include "fg-html.h"
#include "fg-secret.h"

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
	&fg_forum_generic,
};

/* fg_forum_limits_merge - the settings' limits, the driver's defaults
   where they name none */
static void fg_forum_limits_merge(const struct fg_forum_settings *set,
				  const struct fg_fit_limits *def,
				  struct fg_fit_limits *lim_r)
{
	*lim_r = *def;
	if (set->max_title_length > 0)
		lim_r->max_title = set->max_title_length;
	if (set->min_title_length > 0)
		lim_r->min_title = set->min_title_length;
	if (set->max_post_length > 0)
		lim_r->max_post = set->max_post_length;
	if (set->min_post_length > 0)
		lim_r->min_post = set->min_post_length;
	/* a minimum above the maximum cannot be met: the maximum wins */
	if (lim_r->max_title > 0 && lim_r->min_title > lim_r->max_title)
		lim_r->min_title = lim_r->max_title;
	if (lim_r->max_post > 0 && lim_r->min_post > lim_r->max_post)
		lim_r->min_post = lim_r->max_post;
}

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
		*error_r = fg_errorf("unknown forum_type '%s' (known: discourse, nodebb, generic)",
				     set->type);
		return -1;
	}
	if (set->url == NULL || (strncasecmp(set->url, "http://", 7) != 0 &&
				 strncasecmp(set->url, "https://", 8) != 0)) {
		char *shown = fg_url_redact(set->url);

		*error_r = fg_errorf("forum_url '%s' is not an http:// or "
				     "https:// URL", shown);
		free(shown);
		return -1;
	}
	if (v->init(set, forum_r, error_r) < 0)
		return -1;
	(*forum_r)->v = v;
	(*forum_r)->progress = set->progress;
	(*forum_r)->progress_context = set->progress_context;
	fg_forum_limits_merge(set, &v->default_limits, &(*forum_r)->limits);
	return 0;
}

/* fg_forum_limits - see fg-forum.h */
const struct fg_fit_limits *fg_forum_limits(const struct fg_forum *forum)
{
	return &forum->limits;
}

/* Words of the forums' refusals of a post's content: Discourse (Rails'
   errors.messages and Discourse's too_long_validation and is_invalid,
   prefixed with the attribute: "Title", "Body") and NodeBB
   (public/language/en-GB/error.json, and the untranslated keys). */
static const char *const fg_forum_content_words[] = {
	"is too long (maximum is",
	"is too short (minimum is",
	"is limited to",
	"can't be blank",
	"seems unclear, is it a complete sentence?",
	"Please enter a shorter title.",
	"Please enter a longer title.",
	"Please enter a shorter post.",
	"Please enter a longer post.",
	"[[error:title-too-long",
	"[[error:title-too-short",
	"[[error:content-too-long",
	"[[error:content-too-short",
};

/* fg_forum_content_refused - see fg-forum.h */
bool fg_forum_content_refused(const char *reason)
{
	if (reason == NULL)
		return false;
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_forum_content_words); i++) {
		if (strstr(reason, fg_forum_content_words[i]) != NULL)
			return true;
	}
	return false;
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
	if (forum->v->create_topic == NULL) {
		struct fg_forum_request req = {
			.title = title, .raw = raw, .category = category,
		};
		return forum->v->create(forum, &req, answer_r, error_r);
	}
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
	if (forum->v->create_reply == NULL) {
		struct fg_forum_request req = {
			.topic_id = topic_id, .raw = raw,
			.reply_to_post_number = reply_to_post_number,
		};
		if (topic_id <= 0) {
			*error_r = fg_errorf("invalid topic id %lld", topic_id);
			return FG_FORUM_PERMANENT;
		}
		return forum->v->create(forum, &req, answer_r, error_r);
	}
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

/* fg_forum_fit - req with its title and text fitted to the forum's
   limits; free the two strings with fg_forum_fit_free() */
static void fg_forum_fit(const struct fg_forum *forum,
			 const struct fg_forum_request *req,
			 struct fg_forum_request *fitted_r)
{
	*fitted_r = *req;
	fitted_r->title = req->topic_id > 0 ? NULL :
		fg_fit_title(req->title, &forum->limits);
	fitted_r->raw = fg_forum_fit_raw(forum, req->raw);
}

/* fg_forum_fit_raw - see fg-forum.h */
char *fg_forum_fit_raw(const struct fg_forum *forum, const char *raw)
{
	return fg_fit_body(raw, &forum->limits, NULL);
}

/* fg_forum_fit_free - the strings fg_forum_fit() made */
static void fg_forum_fit_free(struct fg_forum_request *fitted)
{
	free((char *)fitted->title);
	free((char *)fitted->raw);
}

/* fg_forum_create - fit, then the driver's create, else the two older
   calls */
int fg_forum_create(struct fg_forum *forum, const struct fg_forum_request *req,
		    struct fg_forum_answer *answer_r, const char **error_r)
{
	struct fg_forum_request fit;
	int ret;

	fg_forum_answer_reset(answer_r);
	fg_forum_fit(forum, req, &fit);
	if (forum->v->create != NULL)
		ret = forum->v->create(forum, &fit, answer_r, error_r);
	else if (fit.topic_id > 0)
		ret = forum->v->create_reply(forum, fit.topic_id,
					     fit.reply_to_post_number,
					     fit.raw, answer_r, error_r);
	else
		ret = forum->v->create_topic(forum, fit.title, fit.raw,
					     fit.category, answer_r, error_r);
	fg_forum_fit_free(&fit);
	return ret;
}

/* fg_forum_find - fit (the post was made from the fitted request),
   then dispatch; a driver that cannot look finds nothing */
int fg_forum_find(struct fg_forum *forum, const struct fg_forum_request *req,
		  struct fg_forum_answer *answer_r, const char **error_r)
{
	struct fg_forum_request fit;
	int ret;

	fg_forum_answer_reset(answer_r);
	if (forum->v->find == NULL)
		return 0;
	fg_forum_fit(forum, req, &fit);
	ret = forum->v->find(forum, &fit, answer_r, error_r);
	fg_forum_fit_free(&fit);
	return ret;
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

/* fg_forum_post_author - dispatch */
int fg_forum_post_author(struct fg_forum *forum, long long post_id,
			 char **author_r, struct fg_forum_answer *answer_r,
			 const char **error_r)
{
	*author_r = NULL;
	fg_forum_answer_reset(answer_r);
	if (forum->v->post_author == NULL) {
		*error_r = "the forum driver does not look posts up";
		return FG_FORUM_PERMANENT;
	}
	return forum->v->post_author(forum, post_id, author_r, answer_r,
				     error_r);
}

/* fg_forum_post_raw - dispatch */
int fg_forum_post_raw(struct fg_forum *forum, long long post_id,
		      char **raw_r, struct fg_forum_answer *answer_r,
		      const char **error_r)
{
	*raw_r = NULL;
	fg_forum_answer_reset(answer_r);
	if (forum->v->post_raw == NULL) {
		*error_r = fg_errorf("the %s driver cannot ask for a post's "
				     "source text", forum->v->name);
		return FG_FORUM_PERMANENT;
	}
	return forum->v->post_raw(forum, post_id, raw_r, answer_r, error_r);
}

/* fg_forum_post_text - see fg-forum.h */
int fg_forum_post_text(struct fg_forum *forum, struct fg_post *post,
		       const char **error_r)
{
	struct fg_forum_answer answer;
	char *raw = NULL;

	if (post->cooked == NULL || *post->cooked == '\0' ||
	    (post->raw != NULL && *post->raw != '\0'))
		return 0;
	if (forum == NULL)
		*error_r = "no forum to ask";
	else if (post->post_id <= 0)
		*error_r = "the post has no id to ask for";
	else if (fg_forum_post_raw(forum, post->post_id, &raw, &answer,
				   error_r) == FG_FORUM_OK) {
		if (*raw != '\0') {
			free(post->raw);
			post->raw = raw;
			return 1;
		}
		*error_r = "the forum's source text is empty";
	}
	free(raw);
	free(post->raw);
	post->raw = fg_html_to_text(post->cooked, strlen(post->cooked));
	return 2;
}

/* fg_forum_can_message - see fg-forum.h */
bool fg_forum_can_message(const struct fg_forum *forum)
{
	return forum->v->private_message != NULL;
}

/* fg_forum_private_message - dispatch */
int fg_forum_private_message(struct fg_forum *forum, const char *recipient,
			     const char *title, const char *raw,
			     struct fg_forum_answer *answer_r,
			     const char **error_r)
{
	fg_forum_answer_reset(answer_r);
	if (forum->v->private_message == NULL) {
		*error_r = "the forum driver sends no private messages";
		return FG_FORUM_PERMANENT;
	}
	return forum->v->private_message(forum, recipient, title, raw,
					 answer_r, error_r);
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

/* fg_forum_xferinfo - curl's progress callback: the caller's function */
static int fg_forum_xferinfo(void *context, curl_off_t dltotal,
			     curl_off_t dlnow, curl_off_t ultotal,
			     curl_off_t ulnow)
{
	struct fg_forum *forum = context;

	(void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
	return forum->progress != NULL &&
		forum->progress(forum->progress_context) != 0;
}

/* fg_forum_progress_init - see fg-forum.h */
void fg_forum_progress_init(struct fg_forum *forum, void *curl)
{
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, fg_forum_xferinfo);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, forum);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

/* fg_forum_space_len - the length of the white space at s: ASCII, or
   one of the Unicode spaces in UTF-8 (U+00A0, U+1680, U+2000-U+200B,
   U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF); 0 for none */
static size_t fg_forum_space_len(const unsigned char *s)
{
	if (isspace(s[0]))
		return 1;
	if (s[0] == 0xc2 && s[1] == 0xa0)
		return 2;
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x80 &&
	     ((s[2] >= 0x80 && s[2] <= 0x8b) || s[2] == 0xa8 ||
	      s[2] == 0xa9 || s[2] == 0xaf)) ||
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||
	    (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf))
		return 3;
	return 0;
}

/* fg_forum_fingerprint - see fg-forum.h */
char *fg_forum_fingerprint(const char *author, const char *raw)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct fg_buf b = { 0 };
	char *hex = fg_xmalloc(32 + 1);

	for (const char *p = author != NULL ? author : ""; *p != '\0'; p++)
		fg_buf_putc(&b, (char)tolower((unsigned char)*p));
	fg_buf_putc(&b, '\n');
	for (const unsigned char *p = (const unsigned char *)raw;
	     *p != '\0';) {
		size_t n = fg_forum_space_len(p);
		if (n > 0) {
			p += n;
			continue;
		}
		fg_buf_putc(&b, (char)tolower(*p));
		p++;
	}
	if (EVP_Digest(b.s, b.len, md, &len, EVP_sha256(), NULL) != 1 ||
	    len < 16)
		abort();	/* SHA-256 does not fail */
	fg_buf_free(&b);
	for (unsigned int i = 0; i < 16; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	return hex;
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
