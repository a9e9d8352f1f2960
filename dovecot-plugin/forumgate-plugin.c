/*
 * NAME
 *	forumgate-plugin - Dovecot delivery plugin of forumgate
 * SYNOPSIS
 *	Dovecot 2.3:
 *	protocol lmtp { mail_plugins = $mail_plugins forumgate }
 *	plugin { forumgate_config = /etc/forumgate/forumgate.conf }
 *	userdb extra field (or plugin setting): forumgate_list=LIST
 *
 *	Dovecot 2.4:
 *	protocol lmtp { mail_plugins { forumgate = yes } }
 *	forumgate_config = /etc/forumgate/forumgate.conf
 *	userdb extra field (or setting): forumgate_list=LIST
 * DESCRIPTION
 *	A thin adapter between Dovecot's delivery (LMTP and dovecot-lda)
 *	and the forumgate library. For a recipient whose forumgate_list
 *	setting names a list (the list's bridge recipient), the message is
 *	read, parsed and classified by fg_mail_parse() and a post is queued
 *	in the list's inbound stream in Redis, once per Message-ID. For
 *	every other recipient the previous delivery hook (e.g. Sieve) or
 *	Dovecot's own delivery runs unchanged.
 *
 *	Only mail the list distributed is posted (fg-listmail.h): the
 *	envelope sender must be one of the list's return paths (Mailman
 *	LIST-bounces, mlmmj LIST+bounces-..., or the list's return_path
 *	patterns), the message must name the list (List-Id, List-Post or
 *	To/Cc) and must not be the list manager's own notice. Mail sent
 *	straight to the bridge recipient is "not-list", the list
 *	manager's notices "list-notice"; neither is queued, so neither
 *	takes a Message-ID from the list's own copy.
 *
 *	The list manager's notice that it held or rejected a forum post
 *	the bridge mailed, and a bounce to a post's VERP return path, are
 *	recorded in Redis first (fg_store_refused_add(), forumgate
 *	status); such a notice is "refusal". Our own post coming back
 *	through the list marks a held post as approved.
 *
 *	For a list-mode list (field mode=list, doc/list-mode.md) the
 *	posting address itself is the recipient with forumgate_list: the
 *	message runs through the filter chain (fg-chain.h) instead of the
 *	mirror classification. An accepted post is queued for the forum
 *	and for the fan-out (fg:{LIST}:dist); a refused one is logged with
 *	the step that decided ("list=L step=access reject: ...") and kept
 *	as "rejected" (LMTP has no permanent refusal for a delivery hook:
 *	forumgate-policyd refuses at RCPT time), a held one as "held"
 *	and also in the list's moderation queue (fg-held.h), once per
 *	Message-ID, for forumgated to announce to the moderators.
 *	Mail to the list's control addresses beside the posting address
 *	(fg-listaddr.h: LIST-join@, LIST-leave@, LIST-request@,
 *	LIST-confirm+TOKEN@, ...; a userdb entry each, naming the list)
 *	is queued for forumgated in fg:{LIST}:control; an automatic reply
 *	or bounce to one, or mail to an unknown LIST-WORD@, is kept as
 *	"control".
 *
 *	Nothing is dropped silently. A message that is not posted (our
 *	own mail coming back, an automatic reply, a bounce, a refusal
 *	notice, a duplicate, a message too large, unparsable or without
 *	text, mail for a list Redis does not know, mail the list did not
 *	distribute, the list manager's notices) is counted per list and
 *	reason in Redis
 *	(fg:{LIST}:not-posted, shown by forumgate status), logged with its
 *	reason, and kept in the bridge recipient's mailbox named after the
 *	reason below not_posted_mailbox ("Not posted/auto-reply", created
 *	and subscribed on demand); the reasons listed in
 *	not_posted_discard (default: own) are counted and logged, not
 *	kept. Setting keep_copy stores every posted list message in the
 *	mailbox as well.
 * DIAGNOSTICS
 *	Redis unreachable or failing: the delivery is temp-failed
 *	(tempfail_error), so LMTP answers 451 4.2.0 and dovecot-lda exits
 *	75; the MTA keeps the mail and retries.
 * SEE ALSO
 *	doc/dovecot-plugin.md, doc/forumgate.conf.5
 */
#include "lib.h"
#include "buffer.h"
#include "str.h"
#include "istream.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "smtp-address.h"
#include "str-sanitize.h"
#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "forumgate-settings.h"
#endif

#include <sys/stat.h>
#include <time.h>

#include "fg-address.h"
#include "fg-attach.h"
#include "fg-chain.h"
#include "fg-held.h"
#include "fg-classify.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-listaddr.h"
#include "fg-mailparse.h"
#include "fg-msgid.h"
#include "fg-record.h"
#include "fg-refusal.h"
#include "fg-secret.h"
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
	unsigned int not_posted_discard;	/* from config, a bit mask */
	struct fg_store *store;
} fg_plugin;

/* forumgate_user_settings - the recipient's forumgate_config and
   forumgate_list (userdb fields override the server's settings) */
static int forumgate_user_settings(struct mail_user *user,
				   const char **config_r, const char **list_r,
				   const char **error_r)
{
#if DOVECOT_PREREQ(2, 4, 0)
	const struct forumgate_settings *set;
	const char *error;

	if (settings_get(user->event, &forumgate_setting_parser_info, 0,
			 &set, &error) < 0) {
		/* Typically the settings module is missing: Dovecot's
		   config process never learnt the names. */
		*error_r = t_strdup_printf("reading the forumgate settings "
			"failed (is libforumgate_settings.so installed in "
			"Dovecot's module directory settings/, from the same "
			"build as the plugin?): %s", error);
		return -1;
	}
	*config_r = t_strdup(set->forumgate_config);
	*list_r = t_strdup(set->forumgate_list);
	settings_free(set);
#else
	*config_r = mail_user_plugin_getenv(user, "forumgate_config");
	*list_r = mail_user_plugin_getenv(user, "forumgate_list");
	*error_r = NULL;
#endif
	if (*config_r == NULL || **config_r == '\0')
		*config_r = FG_DEFAULT_CONFIG_PATH;
	if (*list_r == NULL)
		*list_r = "";
	return 0;
}

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
	unsigned int discard;
	if (fg_config_load_component(path, FG_COMPONENT_PLUGIN,
				     &config, &error) < 0) {
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
	if (fg_not_posted_mask(config->not_posted_discard, &discard,
			       &error) < 0) {
		*error_r = t_strdup_printf("not_posted_discard: %s", error);
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
	fg_plugin.not_posted_discard = discard;
	*config_r = config;
	return 0;
}

/* forumgate_store_get - the Redis connection, opened when needed */
static int forumgate_store_get(const struct fg_config *config,
			       struct fg_store **store_r, const char **error_r)
{
	const char *error;

	if (fg_plugin.store == NULL &&
	    fg_store_connect_config(config, &fg_plugin.store, &error) < 0) {
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

/* forumgate_refusal_list - the other list (and its posting address)
   whose post a message names, when it names one (fg.LIST. in its
   bytes); 1 found, 0 none, -1 Redis failed */
static int forumgate_refusal_list(struct fg_store *store, const char *list,
				  const buffer_t *buf, const char **list_r,
				  const char **address_r, const char **error_r)
{
	char **names;
	size_t count;
	int ret = 0;

	if (!fg_refusal_candidate(NULL, buf->data, buf->used))
		return 0;
	if (fg_store_lists(store, &names, &count, error_r) < 0) {
		*error_r = t_strdup(*error_r);
		return -1;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		struct fg_list *def;

		if (strcmp(names[i], list) == 0 ||
		    !fg_refusal_candidate(names[i], buf->data, buf->used))
			continue;
		ret = fg_store_list_get(store, names[i], &def, error_r);
		if (ret < 0) {
			*error_r = t_strdup(*error_r);
			break;
		}
		if (ret > 0) {
			*list_r = t_strdup(def->name);
			*address_r = t_strdup(def->address);
			fg_list_free(&def);
		}
	}
	fg_strv_free(names, count);
	return ret;
}

/* forumgate_refusal - record the list manager's notice that it held,
   rejected or bounced one of our posts (fg-refusal.h); verp the
   envelope recipient when it is a post's VERP address. 1 recorded (or
   recorded before), 0 not such a notice, -1 Redis failed. */
static int forumgate_refusal(struct mail_deliver_context *ctx,
			     const struct fg_config *config,
			     struct fg_store *store, const char *list,
			     const char *list_address, const buffer_t *buf,
			     const struct fg_verp *verp, const char **reason_r)
{
	struct fg_refusal *r;
	const char *why, *error;
	char *id;
	int ret;

	if (verp == NULL && !fg_refusal_candidate(list, buf->data, buf->used)) {
		/* the notice may be about another list's post: the forum
		   posts of every list go out From one address, and the
		   list managers answer there */
		ret = forumgate_refusal_list(store, list, buf, &list,
					     &list_address, &error);
		if (ret < 0) {
			*reason_r = t_strdup_printf("looking for the list a "
						    "notice names: %s", error);
			return -1;
		}
		if (ret == 0)
			return 0;
	}
	if (fg_refusal_parse(config->secret, list, list_address, verp,
			     buf->data, buf->used, &r, &why) == 0)
		return 0;
	ret = fg_store_refused_add(store, r, (long long)time(NULL), &id,
				   &error);
	if (ret < 0) {
		*reason_r = t_strdup_printf("recording a refused post: %s",
					    error);
		fg_refusal_free(&r);
		return -1;
	}
	e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s post %s: %s (notice "
	       "from %s)%s%s message_id=<%s> reason=\"%s\"",
	       list, ret > 0 ? "refused" : "refusal seen before",
	       fg_refusal_kind_name(r->kind), r->notice_from,
	       ret > 0 ? t_strdup_printf(" record=%s", id) : "",
	       r->post_id > 0 ? t_strdup_printf(" post_id=%lld", r->post_id) :
	       "", r->message_id != NULL ? r->message_id : "",
	       str_sanitize(r->reason, 200));
	*reason_r = t_strdup_printf("%s notice of a forum post (message-id="
				    "<%s>)", fg_refusal_kind_name(r->kind),
				    r->message_id != NULL ? r->message_id :
				    "");
	free(id);
	fg_refusal_free(&r);
	return 1;
}

/* forumgate_own_delivered - our post came through the list: when it
   was held, it is approved now; best effort (a failure costs the mark,
   never the message) */
static void forumgate_own_delivered(struct mail_deliver_context *ctx,
				    const struct fg_config *config,
				    struct fg_store *store, const char *list,
				    const struct fg_record *rec)
{
	struct fg_msgid_post post;
	const char *error;
	char *id_list = NULL;
	int ret;

	if (fg_msgid_parse_post(config->secret, rec->message_id, &id_list,
				&post) != 1 || strcmp(id_list, list) != 0) {
		free(id_list);
		return;
	}
	free(id_list);
	ret = fg_store_refused_delivered(store, list, post.topic_id,
					 post.post_number, post.post_id,
					 &error);
	if (ret < 0)
		e_warning(ctx->event, FORUMGATE_LOG_PREFIX "list=%s marking a "
			  "held post as approved failed: %s", list, error);
	else if (ret > 0)
		e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s held post "
		       "message_id=<%s> came through the list: approved",
		       list, rec->message_id);
}

enum forumgate_result {
	FG_RESULT_QUEUED,	/* queued for the forum */
	FG_RESULT_NOT_POSTED,	/* not posted, for *not_posted_r */
	FG_RESULT_TEMPFAIL,	/* let the MTA retry */
};

/* forumgate_queue_result - what an add to a stream (1 added, 0 added
   before, -1 failed) makes of the message */
static enum forumgate_result
forumgate_queue_result(int ret, enum fg_not_posted *not_posted_r)
{
	if (ret < 0)
		return FG_RESULT_TEMPFAIL;
	if (ret == 0) {
		*not_posted_r = FG_NOT_POSTED_DUPLICATE;
		return FG_RESULT_NOT_POSTED;
	}
	return FG_RESULT_QUEUED;
}

/* forumgate_read_list_mail - the message, at most max_message_size:
   true and *buf_r; false when it is not read, *result_r saying what
   becomes of it (too large: not posted; a read error: tempfail) */
static bool forumgate_read_list_mail(struct mail_deliver_context *ctx,
				     const struct fg_config *config,
				     buffer_t **buf_r,
				     enum forumgate_result *result_r,
				     enum fg_not_posted *not_posted_r,
				     const char **reason_r)
{
	const char *error;
	int ret;

	ret = forumgate_read_mail(ctx->src_mail, config->max_message_size,
				  buf_r, &error);
	if (ret > 0)
		return TRUE;
	if (ret < 0) {
		*reason_r = error;
		*result_r = FG_RESULT_TEMPFAIL;
		return FALSE;
	}
	*reason_r = t_strdup_printf("message larger than "
				    "max_message_size=%zu",
				    config->max_message_size);
	*not_posted_r = FG_NOT_POSTED_TOO_LARGE;
	*result_r = FG_RESULT_NOT_POSTED;
	return FALSE;
}

/* forumgate_hold - a post the chain held goes into the list's
   moderation queue (fg-held.h), once per Message-ID; the mailbox keeps
   its copy under "Not posted/held" as before. *reason_r says where it
   went (" held=ID", or why it is in the mailbox only). -1: Redis failed
   (the delivery is temp-failed, so nothing is lost). */
static int forumgate_hold(struct mail_deliver_context *ctx,
			  const struct fg_config *config, struct fg_store *store,
			  const struct fg_list *list_def,
			  const struct fg_chain_ctx *chain,
			  const struct fg_chain_decision *d,
			  const char **reason_r)
{
	/* fg_store_held_add() only reads the strings */
	struct fg_held held = {
		.message_id = chain->rec->message_id,
		.from = chain->rec->from_email,
		.envelope_from = (char *)chain->envelope_from,
		.subject = chain->rec->subject,
		.reason = d->reason,
		.chain = chain->passed != NULL ? chain->passed : (char *)"",
		.received = (long long)time(NULL),
		.message = chain->message,
		.message_size = chain->message_size,
	};
	const char *error;
	long long id;
	int ret;

	ret = fg_store_held_add(store, list_def->name, &held,
				config->moderation_max_held, &id, &error);
	if (ret < 0) {
		*reason_r = t_strdup_printf("holding the post: %s", error);
		return -1;
	}
	if (ret == 2) {
		e_warning(ctx->event, FORUMGATE_LOG_PREFIX "list=%s "
			  "message-id=<%s>: the moderation queue holds "
			  "moderation_max_held=%u posts already: kept in the "
			  "mailbox only", list_def->name,
			  str_sanitize(held.message_id, 200),
			  config->moderation_max_held);
		*reason_r = " (moderation queue full: in the mailbox only)";
		return 0;
	}
	e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s message-id=<%s> "
	       "held=%lld%s", list_def->name,
	       str_sanitize(held.message_id, 200), id,
	       ret == 0 ? " (held before)" : "");
	*reason_r = t_strdup_printf(" held=%lld", id);
	return 0;
}

/* forumgate_deliver_chain - a message to a list-mode list's posting
   address: the filter chain (fg-chain.h) decides, and its decision is
   logged with the step that made it. LMTP gives a delivery hook no
   permanent refusal (only 451 through tempfail_error), so a rejected
   or held post is kept as a message not posted ("rejected", "held"). */
static enum forumgate_result
forumgate_deliver_chain(struct mail_deliver_context *ctx,
			const struct fg_config *config, struct fg_store *store,
			const struct fg_list *list_def,
			enum fg_not_posted *not_posted_r, const char **reason_r)
{
	struct fg_attach_settings attach = {
		.max_size = config->attachment_max_size,
		.max_total = config->attachment_max_total,
		.types = config->attachment_types,
	};
	struct fg_parse_settings parse_set = fg_plugin.parse_set;
	struct fg_chain_decision d;
	struct fg_chain_ctx chain;
	const char *error, *envelope_from;
	char *passphrase = NULL;
	enum forumgate_result result;
	buffer_t *buf;
	int ret;

	if (list_def->passphrase_file != NULL &&
	    fg_secret_file_read(list_def->passphrase_file, &passphrase,
				&error) < 0) {
		/* the admin fixes the file; meanwhile the MTA keeps the
		   mail */
		*reason_r = t_strdup_printf("the list's passphrase_file: %s",
					    error);
		return FG_RESULT_TEMPFAIL;
	}
	if (!forumgate_read_list_mail(ctx, config, &buf, &result,
				      not_posted_r, reason_r)) {
		fg_secret_free(&passphrase);
		return result;
	}
	/* a post to the list itself: no list rule of mirror mode */
	envelope_from = ctx->mail_from == NULL ? "" :
		smtp_address_encode(ctx->mail_from);
	parse_set.envelope_from = envelope_from;
	fg_chain_init(&chain, store, list_def, &parse_set, envelope_from,
		      buf->data, buf->used, passphrase);
	chain.attach = &attach;
	ret = fg_chain_run(&chain, &d, &error);
	if (ret < 0) {
		*reason_r = t_strdup(error);
		fg_chain_deinit(&chain);
		fg_secret_free(&passphrase);
		return FG_RESULT_TEMPFAIL;
	}
	if (d.action == FG_CHAIN_HOLD &&
	    forumgate_hold(ctx, config, store, list_def, &chain, &d,
			   reason_r) < 0) {
		fg_chain_decision_clear(&d);
		fg_chain_deinit(&chain);
		fg_secret_free(&passphrase);
		return FG_RESULT_TEMPFAIL;
	}
	if (d.action == FG_CHAIN_CONTINUE) {
		*reason_r = t_strdup_printf("message-id=<%s> queued for the "
			"forum%s and the subscribers%s: from=<%s> title=\"%s\" "
			"chain=%s", chain.rec->message_id,
			chain.queued_forum > 0 ? "" : " (before)",
			chain.queued_dist > 0 ? "" : " (before)",
			chain.rec->from_email,
			str_sanitize(chain.rec->title, 80), chain.passed);
	} else {
		e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s step=%s %s: "
		       "%s", list_def->name, d.step,
		       fg_chain_action_name(d.action),
		       str_sanitize(d.reason, 300));
		*reason_r = t_strdup_printf("step=%s %s%s", d.step,
					    str_sanitize(d.reason, 300),
					    d.action == FG_CHAIN_HOLD ?
					    *reason_r : "");
		*not_posted_r = d.not_posted;
	}
	ret = d.action == FG_CHAIN_CONTINUE;
	fg_chain_decision_clear(&d);
	fg_chain_deinit(&chain);
	fg_secret_free(&passphrase);
	return ret ? FG_RESULT_QUEUED : FG_RESULT_NOT_POSTED;
}

/* forumgate_deliver_control - a message to one of a list-mode list's
   control addresses (fg-listaddr.h: LIST-join@, LIST-confirm+TOKEN@,
   ...): queued for forumgated, which runs the command. An automatic
   reply or a bounce is no command (a vacation reply to
   LIST-confirm+TOKEN@ must not confirm a subscription), and neither is
   mail to an unknown LIST-WORD@ address: both are kept as "control". */
static enum forumgate_result
forumgate_deliver_control(struct mail_deliver_context *ctx,
			  const struct fg_config *config,
			  struct fg_store *store, const struct fg_list *list_def,
			  enum fg_listaddr_role role, const char *detail,
			  const char *rcpt, enum fg_not_posted *not_posted_r,
			  const char **reason_r)
{
	struct fg_parse_settings parse_set = fg_plugin.parse_set;
	struct fg_control control;
	struct fg_record *rec;
	const char *error, *envelope_from;
	enum forumgate_result result;
	buffer_t *buf;
	int ret;

	if (role == FG_LISTADDR_UNKNOWN) {
		*reason_r = t_strdup_printf("mail to <%s>, which is no "
					    "address of list %s", rcpt,
					    list_def->name);
		*not_posted_r = FG_NOT_POSTED_CONTROL;
		return FG_RESULT_NOT_POSTED;
	}
	if (!forumgate_read_list_mail(ctx, config, &buf, &result,
				      not_posted_r, reason_r))
		return result;
	envelope_from = ctx->mail_from == NULL ? "" :
		smtp_address_encode(ctx->mail_from);
	parse_set.envelope_from = envelope_from;
	if (fg_mail_parse(buf->data, buf->used, &parse_set, &rec,
			  &error) < 0) {
		*reason_r = t_strdup_printf("unparsable message (%s)", error);
		*not_posted_r = FG_NOT_POSTED_UNPARSABLE;
		return FG_RESULT_NOT_POSTED;
	}
	if (rec->classification == FG_CLASS_OWN ||
	    rec->classification == FG_CLASS_BOUNCE ||
	    rec->classification == FG_CLASS_AUTO_REPLY ||
	    *envelope_from == '\0') {
		*reason_r = t_strdup_printf("message-id=<%s> to <%s> is no "
			"command (%s)", rec->message_id, rcpt,
			*envelope_from == '\0' ? "the null sender" :
			rec->reason);
		*not_posted_r = rec->classification == FG_CLASS_OWN ?
			FG_NOT_POSTED_OWN : FG_NOT_POSTED_CONTROL;
		fg_record_free(&rec);
		return FG_RESULT_NOT_POSTED;
	}
	memset(&control, 0, sizeof(control));
	control.role = fg_listaddr_role_name(role);
	control.detail = detail != NULL ? detail : "";
	control.rcpt = rcpt;
	control.envelope_from = envelope_from;
	control.from_email = rec->from_email;
	control.message_id = rec->message_id;
	control.subject = rec->subject;
	control.message = buf->data;
	control.message_size = buf->used;
	ret = fg_store_control_add(store, list_def->name, &control, &error);
	if (ret < 0)
		*reason_r = t_strdup(error);
	else if (ret == 0)
		*reason_r = t_strdup_printf("message-id=<%s> to <%s> (queued "
					    "before)", rec->message_id, rcpt);
	else
		*reason_r = t_strdup_printf("message-id=<%s> queued for "
			"forumgated: control role=%s from=<%s> rcpt=<%s>",
			rec->message_id, control.role, rec->from_email, rcpt);
	fg_record_free(&rec);
	return forumgate_queue_result(ret, not_posted_r);
}

/* forumgate_deliver_list - handle one message for a list's bridge
   recipient; *reason_r is the text for the log (and for a tempfail),
   *not_posted_r why it is not posted */
static enum forumgate_result
forumgate_deliver_list(struct mail_deliver_context *ctx, const char *list,
		       const char *path, enum fg_not_posted *not_posted_r,
		       const char **reason_r)
{
	const char *error, *list_address;
	struct fg_config *config;
	struct fg_store *store;
	struct fg_list *list_def;
	struct fg_parse_settings parse_set;
	struct fg_record *rec;
	enum forumgate_result result;
	buffer_t *buf;
	int ret;

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
					    "(forumgate list add)", list);
		*not_posted_r = FG_NOT_POSTED_NO_LIST;
		return FG_RESULT_NOT_POSTED;
	}
	if (list_def->mode == FG_LIST_MODE_LIST) {
		enum fg_listaddr_role role = FG_LISTADDR_POST;
		char *detail = NULL;
		const char *rcpt = ctx->rcpt_to == NULL ? "" :
			smtp_address_encode(ctx->rcpt_to);

		/* the posting address, or one of the control addresses
		   beside it (a userdb entry each, all naming the list) */
		if (list_def->address != NULL && *rcpt != '\0')
			role = fg_listaddr_parse(list_def->address, rcpt,
						 &detail);
		if (role == FG_LISTADDR_POST) {
			result = forumgate_deliver_chain(ctx, config, store,
							 list_def,
							 not_posted_r,
							 reason_r);
		} else {
			result = forumgate_deliver_control(ctx, config, store,
							   list_def, role,
							   detail, rcpt,
							   not_posted_r,
							   reason_r);
		}
		free(detail);
		fg_list_free(&list_def);
		return result;
	}
	/* The list's own parse settings for this delivery: only what the
	   list distributed is posted (the list's facts and the envelope
	   sender), and its declared footer is cut. */
	parse_set = fg_plugin.parse_set;
	parse_set.list_address = t_strdup(list_def->address);
	parse_set.list_id = t_strdup(list_def->list_id);
	parse_set.list_return_path = t_strdup(list_def->return_path);
	parse_set.envelope_from = ctx->mail_from == NULL ? NULL :
		smtp_address_encode(ctx->mail_from);
	parse_set.list_footer = t_strdup(list_def->footer);
	parse_set.list_trusted = list_def->trusted;
	list_address = parse_set.list_address;
	fg_list_free(&list_def);

	/* Mail to one of our VERP return paths is a bounce of something
	   forumgate sent, never a post. The address is read as Postfix
	   resolved it (quotes, case and a trailing dot do not hide it). */
	if (ctx->rcpt_to != NULL) {
		struct fg_verp verp;
		const char *raw = smtp_address_encode(ctx->rcpt_to);
		char *rcpt = t_malloc0(strlen(raw) + 1);

		(void)fg_address_canonical(raw, strlen(raw), rcpt);
		ret = fg_verp_parse(config->secret, rcpt, &verp);
		if (ret > 0 && verp.kind == FG_VERP_POST &&
		    strcmp(verp.list, list) == 0 &&
		    forumgate_read_mail(ctx->src_mail,
					config->max_message_size, &buf,
					&error) > 0 &&
		    forumgate_refusal(ctx, config, store, list, list_address,
				      buf, &verp, reason_r) < 0) {
			fg_verp_clear(&verp);
			return FG_RESULT_TEMPFAIL;
		}
		if (ret != 0) {
			*reason_r = ret > 0 ?
				t_strdup_printf("bounce to <%s> (list %s)",
						rcpt, verp.list) :
				t_strdup_printf("mail to <%s>, a VERP address "
						"whose MAC does not verify", rcpt);
			*not_posted_r = ret > 0 ? FG_NOT_POSTED_BOUNCE :
				FG_NOT_POSTED_BAD_VERP;
			fg_verp_clear(&verp);
			return FG_RESULT_NOT_POSTED;
		}
	}

	if (!forumgate_read_list_mail(ctx, config, &buf, &result,
				      not_posted_r, reason_r))
		return result;

	/* the list manager's notice about one of our posts is recorded,
	   not posted */
	ret = forumgate_refusal(ctx, config, store, list, list_address, buf,
				NULL, reason_r);
	if (ret < 0)
		return FG_RESULT_TEMPFAIL;
	if (ret > 0) {
		*not_posted_r = FG_NOT_POSTED_REFUSAL;
		return FG_RESULT_NOT_POSTED;
	}

	if (fg_mail_parse(buf->data, buf->used, &parse_set, &rec,
			  &error) < 0) {
		*reason_r = t_strdup_printf("unparsable message (%s)", error);
		*not_posted_r = FG_NOT_POSTED_UNPARSABLE;
		return FG_RESULT_NOT_POSTED;
	}
	if (rec->classification == FG_CLASS_OWN)
		forumgate_own_delivered(ctx, config, store, list, rec);
	if (rec->classification != FG_CLASS_POST) {
		*reason_r = t_strdup_printf("message-id=<%s> (%s)",
					    rec->message_id, rec->reason);
		*not_posted_r = fg_not_posted_of_class(rec->classification);
		fg_record_free(&rec);
		return FG_RESULT_NOT_POSTED;
	}
	forumgate_attachments(config, buf, rec);
	if (rec->body[strspn(rec->body, " \t\n")] == '\0' &&
	    rec->n_attachments == 0) {
		/* a forum refuses an empty post; the text may be where the
		   parser's bounds did not reach: an admin looks at it */
		*reason_r = t_strdup_printf("message-id=<%s> (no text found "
					    "to post)", rec->message_id);
		*not_posted_r = FG_NOT_POSTED_EMPTY;
		fg_record_free(&rec);
		return FG_RESULT_NOT_POSTED;
	}
	ret = fg_store_inbound_add(store, list, rec, &error);
	if (ret < 0)
		*reason_r = t_strdup(error);
	else if (ret == 0)
		*reason_r = t_strdup_printf("message-id=<%s> (queued before)",
					    rec->message_id);
	else
		*reason_r = t_strdup_printf("message-id=<%s> queued for the "
					    "forum: from=<%s> title=\"%s\"",
					    rec->message_id, rec->from_email,
					    str_sanitize(rec->title, 80));
	fg_record_free(&rec);
	return forumgate_queue_result(ret, not_posted_r);
}

/* forumgate_not_posted_box - the mailbox a message not posted for
   reason is kept in, created and subscribed when it is missing;
   NULL: the default mailbox (not_posted_mailbox is empty) */
static int forumgate_not_posted_box(struct mail_user *user,
				    const char *parent, const char *reason,
				    const char **name_r, const char **error_r)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(user->namespaces);
	struct mailbox *box;
	enum mail_error error;
	string_t *name;
	char sep;
	int ret = 0;

	*name_r = NULL;
	if (*parent == '\0')
		return 0;
	if (ns == NULL) {
		*error_r = "no INBOX namespace";
		return -1;
	}
	/* the parent is written with '/' between levels */
	sep = mail_namespace_get_sep(ns);
	name = t_str_new(128);
	str_append(name, ns->prefix);
	for (const char *p = parent; *p != '\0'; p++)
		str_append_c(name, *p == '/' ? sep : *p);
	str_append_c(name, sep);
	str_append(name, reason);

	box = mailbox_alloc(ns->list, str_c(name), 0);
	if (mailbox_create(box, NULL, FALSE) < 0) {
		const char *text = mailbox_get_last_error(box, &error);
		if (error != MAIL_ERROR_EXISTS) {
			*error_r = t_strdup_printf("creating mailbox %s "
						   "failed: %s", str_c(name),
						   text);
			ret = -1;
		}
	} else {
		/* best effort: the mailbox is there either way, an IMAP
		   client lists it without asking once it is subscribed */
		(void)mailbox_set_subscribed(box, TRUE);
	}
	mailbox_free(&box);
	if (ret == 0)
		*name_r = str_c(name);
	return ret;
}

/* forumgate_not_posted - count, log and keep (or discard) a message
   that is not posted; 1 discarded, 0 keep it in ctx's default mailbox.
   Only called after the configuration was loaded. */
static int forumgate_not_posted(struct mail_deliver_context *ctx,
				const char *list, enum fg_not_posted not_posted,
				const char *reason)
{
	const char *name = fg_not_posted_name(not_posted);
	const char *box, *error;

	/* Counted only for lists Redis knows; a count failure costs the
	   count, never the message. */
	if (not_posted != FG_NOT_POSTED_NO_LIST && fg_plugin.store != NULL &&
	    fg_store_not_posted_add(fg_plugin.store, list, name,
				    &error) < 0) {
		e_warning(ctx->event, FORUMGATE_LOG_PREFIX "list=%s counting "
			  "a message not posted failed: %s", list, error);
	}
	if ((fg_plugin.not_posted_discard & (1U << not_posted)) != 0) {
		e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s not posted: "
		       "%s %s; discarded (not_posted_discard)", list, name,
		       reason);
		return 1;
	}
	if (forumgate_not_posted_box(ctx->rcpt_user,
				     fg_plugin.config->not_posted_mailbox,
				     name, &box, &error) < 0) {
		e_warning(ctx->event, FORUMGATE_LOG_PREFIX "list=%s %s; kept "
			  "in the default mailbox", list, error);
		box = NULL;
	}
	if (box != NULL)
		ctx->rcpt_default_mailbox = p_strdup(ctx->pool, box);
	e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s not posted: %s %s; "
	       "kept in mailbox %s", list, name, reason,
	       ctx->rcpt_default_mailbox);
	return 0;
}

/* forumgate_deliver_mail - the delivery hook */
static int forumgate_deliver_mail(struct mail_deliver_context *ctx,
				  struct mail_storage **storage_r)
{
	const char *list, *path, *error, *reason = "";
	enum forumgate_result result;
	enum fg_not_posted not_posted = FG_NOT_POSTED_COUNT;
	bool keep = FALSE;

	if (forumgate_user_settings(ctx->rcpt_user, &path, &list,
				    &error) < 0) {
		/* Whether this recipient is a bridge cannot be told: the
		   MTA keeps the mail until the installation is fixed. */
		e_error(ctx->event, FORUMGATE_LOG_PREFIX
			"temporary failure, the MTA will retry: %s", error);
		ctx->tempfail_error = p_strdup_printf(ctx->pool,
			"forumgate: temporary failure: %s", error);
		return -1;
	}
	if (*list == '\0') {
		return next_deliver_mail != NULL ?
			next_deliver_mail(ctx, storage_r) : 0;
	}
	T_BEGIN {
		result = forumgate_deliver_list(ctx, list, path, &not_posted,
						&reason);
		switch (result) {
		case FG_RESULT_QUEUED:
			e_info(ctx->event, FORUMGATE_LOG_PREFIX "list=%s %s",
			       list, reason);
			keep = fg_plugin.config->keep_copy;
			break;
		case FG_RESULT_NOT_POSTED:
			keep = forumgate_not_posted(ctx, list, not_posted,
						    reason) == 0;
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

	if (result == FG_RESULT_TEMPFAIL)
		return -1;
	if (!keep)
		return 1;
	/* Not handled here: the next hook (Sieve) or Dovecot's own
	   delivery stores it in the default mailbox, which is the reason's
	   mailbox for a message not posted. */
	return next_deliver_mail != NULL ? next_deliver_mail(ctx, storage_r) : 0;
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
