/*
 * NAME
 *	forumgate-plugin - Dovecot delivery plugin of forumgate
 * SYNOPSIS
 *	protocol lmtp { mail_plugins = $mail_plugins forumgate }
 *	plugin { forumgate_config = /etc/forumgate/forumgate.conf }
 *	userdb extra field (or plugin setting): forumgate_list=LIST
 * DESCRIPTION
 *	A thin adapter between Dovecot's delivery (LMTP and dovecot-lda)
 *	and the forumgate library. For a recipient whose forumgate_list
 *	setting names a list (the list's bridge recipient), the message is
 *	read, parsed and classified by fg_mail_parse() and a post is queued
 *	in the list's inbound stream in Redis, once per Message-ID. For
 *	every other recipient the previous delivery hook (e.g. Sieve) or
 *	Dovecot's own delivery runs unchanged.
 *
 *	What is not posted is logged with its reason: our own mail coming
 *	back and auto-replies are dropped; bounces, messages too large or
 *	impossible to parse, and messages without any text to post stay in
 *	the bridge mailbox (nothing is lost).
 *	Setting keep_copy stores every list message in the mailbox as well.
 * DIAGNOSTICS
 *	Redis unreachable or failing: the delivery is temp-failed
 *	(tempfail_error), so LMTP answers 451 4.2.0 and dovecot-lda exits
 *	75; the MTA keeps the mail and retries.
 * SEE ALSO
 *	doc/dovecot-plugin.md, doc/forumgate.conf.5
 */
#include "lib.h"
#include "buffer.h"
#include "istream.h"
#include "mail-storage.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "smtp-address.h"
#include "str-sanitize.h"

#include <sys/stat.h>

#include "fg-attach.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-mailparse.h"
#include "fg-record.h"
#include "fg-store.h"
#include "fg-verp.h"
#include "fg-text.h"

#define FORUMGATE_LOG_PREFIX "forumgate: "

const char *forumgate_plugin_version = DOVECOT_ABI_VERSION;

void forumgate_plugin_init(struct module *module);
void forumgate_plugin_deinit(void);

static deliver_mail_func_t *next_deliver_mail;

/* Per process: the lmtp process delivers many messages, so the parsed
   configuration and the Redis connection are kept between deliveries.
   The configuration is re-read when its file changes. */
static struct {
	char *path;
	struct timespec mtime;
	struct fg_config *config;
	struct fg_parse_settings parse_set;	/* from config */
	struct fg_store *store;
} fg_plugin;

/* forumgate_config_get - the configuration, loaded or refreshed */
static int forumgate_config_get(const char *path, struct fg_config **config_r,
				const char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*error_r = t_strdup_printf("stat(%s) failed: %m", path);
		return -1;
	}
	if (fg_plugin.config != NULL && fg_plugin.path != NULL &&
	    strcmp(fg_plugin.path, path) == 0 &&
	    st.st_mtim.tv_sec == fg_plugin.mtime.tv_sec &&
	    st.st_mtim.tv_nsec == fg_plugin.mtime.tv_nsec) {
		*config_r = fg_plugin.config;
		return 0;
	}
	struct fg_config *config;
	const char *error;
	struct fg_parse_settings parse_set;
	if (fg_config_load(path, &config, &error) < 0) {
		*error_r = t_strdup(error);
		return -1;
	}
	if (fg_config_require(config, &error, "secret", "mail_domain",
			      NULL) < 0 ||
	    fg_parse_settings_init(&parse_set, config, &error) < 0) {
		*error_r = t_strdup(error);
		fg_config_free(&config);
		return -1;
	}
	fg_config_free(&fg_plugin.config);
	fg_store_free(&fg_plugin.store);
	free(fg_plugin.path);
	fg_plugin.path = fg_xstrdup(path);
	fg_plugin.mtime = st.st_mtim;
	fg_plugin.config = config;
	fg_plugin.parse_set = parse_set;
	*config_r = config;
	return 0;
}

/* forumgate_store_get - the Redis connection, opened when needed */
static int forumgate_store_get(const struct fg_config *config,
			       struct fg_store **store_r, const char **error_r)
{
	const char *error;

	if (fg_plugin.store == NULL &&
	    fg_store_connect(config->redis, config->redis_timeout,
			     &fg_plugin.store, &error) < 0) {
		*error_r = t_strdup(error);
		return -1;
	}
	fg_store_set_retention_config(fg_plugin.store, config);
	*store_r = fg_plugin.store;
	return 0;
}

/* forumgate_read_mail - the whole message, bounded by max_size;
   1 read, 0 too large, -1 error */
static int forumgate_read_mail(struct mail *mail, size_t max_size,
			       buffer_t **buf_r, const char **error_r)
{
	struct istream *input;
	const unsigned char *data;
	size_t size;
	uoff_t phys_size;
	buffer_t *buf;
	int ret;

	if (mail_get_physical_size(mail, &phys_size) == 0 &&
	    phys_size > max_size)
		return 0;
	if (mail_get_stream(mail, NULL, NULL, &input) < 0) {
		*error_r = t_strdup_printf("reading the message failed: %s",
			mailbox_get_last_internal_error(mail->box, NULL));
		return -1;
	}
	buf = t_buffer_create(I_MIN(phys_size, max_size) + 1);
	while ((ret = i_stream_read_more(input, &data, &size)) > 0) {
		if (buf->used + size > max_size)
			return 0;
		buffer_append(buf, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("reading the message failed: %s",
					   i_stream_get_error(input));
		return -1;
	}
	*buf_r = buf;
	return 1;
}

/* forumgate_attachments - attach the message's files to the record;
   best effort: a message whose parts cannot be read is posted without */
static void forumgate_attachments(const struct fg_config *config,
				  const buffer_t *buf, struct fg_record *rec)
{
	struct fg_attach_settings set = {
		.max_size = config->attachment_max_size,
		.max_total = config->attachment_max_total,
		.types = config->attachment_types,
	};
	const char *error;

	if (fg_attach_extract(buf->data, buf->used, &set, &rec->attachments,
			      &rec->n_attachments, &error) < 0) {
		rec->attachments = NULL;
		rec->n_attachments = 0;
	}
}

enum forumgate_result {
	FG_RESULT_CONSUMED,	/* queued or dropped on purpose */
	FG_RESULT_KEEP,		/* store it in the mailbox */
	FG_RESULT_TEMPFAIL,	/* let the MTA retry */
};

/* forumgate_deliver_list - handle one message for a list's bridge
   recipient; *reason_r is the text for the log (and for a tempfail) */
static enum forumgate_result
forumgate_deliver_list(struct mail_deliver_context *ctx, const char *list,
		       const char **reason_r)
{
	struct mail_user *user = ctx->rcpt_user;
	const char *path, *error;
	struct fg_config *config;
	struct fg_store *store;
	struct fg_list *list_def;
	struct fg_record *rec;
	buffer_t *buf;
	int ret;

	path = mail_user_plugin_getenv(user, "forumgate_config");
	if (path == NULL || *path == '\0')
		path = FG_DEFAULT_CONFIG_PATH;
	if (forumgate_config_get(path, &config, &error) < 0) {
		/* A broken configuration is fixed by the admin; meanwhile
		   the MTA keeps the mail. */
		*reason_r = t_strdup_printf("configuration: %s", error);
		return FG_RESULT_TEMPFAIL;
	}
	if (forumgate_store_get(config, &store, &error) < 0) {
		*reason_r = error;
		return FG_RESULT_TEMPFAIL;
	}
	ret = fg_store_list_get(store, list, &list_def, &error);
	if (ret < 0) {
		*reason_r = t_strdup(error);
		return FG_RESULT_TEMPFAIL;
	}
	if (ret == 0) {
		*reason_r = t_strdup_printf("list '%s' is not defined in Redis "
					    "(forumgate list add); kept in the "
					    "mailbox", list);
		return FG_RESULT_KEEP;
	}
	fg_list_free(&list_def);

	/* Mail to one of our VERP return paths is a bounce of something
	   forumgate sent, never a post. */
	if (ctx->rcpt_to != NULL) {
		struct fg_verp verp;
		const char *rcpt = smtp_address_encode(ctx->rcpt_to);
		ret = fg_verp_parse(config->secret, rcpt, &verp);
		if (ret != 0) {
			*reason_r = ret > 0 ?
				t_strdup_printf("bounce to <%s> (list %s); kept "
						"in the mailbox, not posted",
						rcpt, verp.list) :
				t_strdup_printf("mail to <%s>, a VERP address "
						"whose MAC does not verify; kept "
						"in the mailbox, not posted", rcpt);
			fg_verp_clear(&verp);
			return FG_RESULT_KEEP;
		}
	}

	ret = forumgate_read_mail(ctx->src_mail, config->max_message_size,
				  &buf, &error);
	if (ret < 0) {
		*reason_r = error;
		return FG_RESULT_TEMPFAIL;
	}
	if (ret == 0) {
		*reason_r = t_strdup_printf("message larger than "
					    "max_message_size=%zu; kept in "
					    "the mailbox, not posted",
					    config->max_message_size);
		return FG_RESULT_KEEP;
	}

	if (fg_mail_parse(buf->data, buf->used, &fg_plugin.parse_set, &rec,
			  &error) < 0) {
		*reason_r = t_strdup_printf("unparsable message (%s); kept in "
					    "the mailbox, not posted", error);
		return FG_RESULT_KEEP;
	}
	switch (rec->classification) {
	case FG_CLASS_POST:
		break;
	case FG_CLASS_BOUNCE:
		*reason_r = t_strdup_printf("message-id=<%s> not posted: %s "
					    "(%s); kept in the mailbox",
					    rec->message_id,
					    fg_class_name(rec->classification),
					    rec->reason);
		fg_record_free(&rec);
		return FG_RESULT_KEEP;
	case FG_CLASS_OWN:
	case FG_CLASS_AUTO_REPLY:
		*reason_r = t_strdup_printf("message-id=<%s> dropped: %s (%s)",
					    rec->message_id,
					    fg_class_name(rec->classification),
					    rec->reason);
		fg_record_free(&rec);
		return FG_RESULT_CONSUMED;
	}
	forumgate_attachments(config, buf, rec);
	if (rec->body[strspn(rec->body, " \t\n")] == '\0' &&
	    rec->n_attachments == 0) {
		/* a forum refuses an empty post; the text may be where the
		   parser's bounds did not reach: an admin looks at it */
		*reason_r = t_strdup_printf("message-id=<%s> not posted: no "
					    "text found to post; kept in the "
					    "mailbox", rec->message_id);
		fg_record_free(&rec);
		return FG_RESULT_KEEP;
	}
	ret = fg_store_inbound_add(store, list, rec, &error);
	if (ret < 0)
		*reason_r = t_strdup(error);
	else if (ret == 0)
		*reason_r = t_strdup_printf("message-id=<%s> dropped: "
					    "duplicate (queued before)",
					    rec->message_id);
	else
		*reason_r = t_strdup_printf("message-id=<%s> queued for the "
					    "forum: from=<%s> title=\"%s\"",
					    rec->message_id, rec->from_email,
					    str_sanitize(rec->title, 80));
	fg_record_free(&rec);
	if (ret < 0)
		return FG_RESULT_TEMPFAIL;
	return config->keep_copy ? FG_RESULT_KEEP : FG_RESULT_CONSUMED;
}

/* forumgate_deliver_mail - the delivery hook */
static int forumgate_deliver_mail(struct mail_deliver_context *ctx,
				  struct mail_storage **storage_r)
{
	const char *list, *reason = "";
	enum forumgate_result result;

	list = mail_user_plugin_getenv(ctx->rcpt_user, "forumgate_list");
	if (list == NULL || *list == '\0') {
		return next_deliver_mail != NULL ?
			next_deliver_mail(ctx, storage_r) : 0;
	}
	T_BEGIN {
		result = forumgate_deliver_list(ctx, list, &reason);
		switch (result) {
		case FG_RESULT_CONSUMED:
			e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s %s",
			       list, reason);
			break;
		case FG_RESULT_KEEP:
			e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s %s",
			       list, reason);
			break;
		case FG_RESULT_TEMPFAIL:
			e_error(ctx->event, FORUMGATE_LOG_PREFIX
				"list=%s temporary failure, the MTA will "
				"retry: %s", list, reason);
			ctx->tempfail_error = p_strdup_printf(ctx->pool,
				"forumgate: temporary failure: %s", reason);
			/* Reconnect on the next delivery. */
			fg_store_free(&fg_plugin.store);
			break;
		}
	} T_END;

	switch (result) {
	case FG_RESULT_CONSUMED:
		return 1;
	case FG_RESULT_KEEP:
		/* Not handled here: the next hook (Sieve) or Dovecot's own
		   delivery stores it in the bridge mailbox. */
		return next_deliver_mail != NULL ?
			next_deliver_mail(ctx, storage_r) : 0;
	case FG_RESULT_TEMPFAIL:
		break;
	}
	return -1;
}

void forumgate_plugin_init(struct module *module ATTR_UNUSED)
{
	fg_mail_init();
	next_deliver_mail = mail_deliver_hook_set(forumgate_deliver_mail);
}

void forumgate_plugin_deinit(void)
{
	mail_deliver_hook_set(next_deliver_mail);
	fg_store_free(&fg_plugin.store);
	fg_config_free(&fg_plugin.config);
	free(fg_plugin.path);
	fg_plugin.path = NULL;
	fg_mail_deinit();
}
