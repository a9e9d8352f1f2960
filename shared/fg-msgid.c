/*
 * NAME
 *	fg-msgid 3 - Message-IDs of forum posts, and HMAC helpers
 * SEE ALSO
 *	fg-msgid.h for the scheme.
 */
#include "fg-msgid.h"
#include "fg-common.h"
#include "fg-store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define FG_MSGID_MAC_LEN 16
#define FG_MSGID_MAX 998	/* RFC 5322 line limit bounds any ID */

void fg_hmac_sha256_hex(const void *key, size_t key_len,
			const void *data, size_t data_len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	static const char hex[] = "0123456789abcdef";

	HMAC(EVP_sha256(), key, (int)key_len, data, data_len, mac, &mac_len);
	for (unsigned int i = 0; i < mac_len && i < 32; i++) {
		out[i * 2] = hex[mac[i] >> 4];
		out[i * 2 + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

bool fg_mem_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* fg_msgid_mac - the MAC part for list/topic/post (and revision); the
   post is its number, or "p" and its id (by_id) */
static void fg_msgid_mac(const char *secret, const char *list,
			 long long topic, bool by_id, long long post,
			 long long revision, char out[FG_MSGID_MAC_LEN + 1])
{
	char data[FG_LIST_NAME_MAX + 96], hex[65];
	const char *p = by_id ? "p" : "";
	int n = revision > 1 ?
		snprintf(data, sizeof(data), "msgid:%s.%lld.%s%lld.r%lld",
			 list, topic, p, post, revision) :
		snprintf(data, sizeof(data), "msgid:%s.%lld.%s%lld",
			 list, topic, p, post);

	fg_hmac_sha256_hex(secret, strlen(secret), data, (size_t)n, hex);
	memcpy(out, hex, FG_MSGID_MAC_LEN);
	out[FG_MSGID_MAC_LEN] = '\0';
}

/* fg_msgid_build - either form */
static char *fg_msgid_build(const char *secret, const char *list,
			    long long topic, bool by_id, long long post,
			    long long revision, const char *domain)
{
	char mac[FG_MSGID_MAC_LEN + 1];
	const char *p = by_id ? "p" : "";

	fg_msgid_mac(secret, list, topic, by_id, post, revision, mac);
	if (revision > 1)
		return fg_xasprintf("fg.%s.%lld.%s%lld.r%lld.%s@%s", list,
				    topic, p, post, revision, mac, domain);
	return fg_xasprintf("fg.%s.%lld.%s%lld.%s@%s", list, topic, p, post,
			    mac, domain);
}

char *fg_msgid_make(const char *secret, const char *list, long long topic,
		    long long post_number, const char *domain)
{
	return fg_msgid_make_revision(secret, list, topic, post_number, 0,
				      domain);
}

char *fg_msgid_make_revision(const char *secret, const char *list,
			     long long topic, long long post_number,
			     long long revision, const char *domain)
{
	return fg_msgid_build(secret, list, topic, false, post_number,
			      revision, domain);
}

char *fg_msgid_make_post(const char *secret, const char *list,
			 long long topic, long long post_id,
			 long long revision, const char *domain)
{
	return fg_msgid_build(secret, list, topic, true, post_id, revision,
			      domain);
}

/* fg_parse_id_number - a positive decimal without sign or leading zero */
static int fg_parse_id_number(const char *s, size_t len, long long *value_r)
{
	long long v = 0;

	if (len == 0 || len > 18 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*value_r = v;
	return 0;
}

int fg_msgid_parse(const char *secret, const char *message_id,
		   char **list_r, long long *topic_r, long long *post_r)
{
	long long revision;

	return fg_msgid_parse_revision(secret, message_id, list_r, topic_r,
				       post_r, &revision);
}

int fg_msgid_parse_revision(const char *secret, const char *message_id,
			    char **list_r, long long *topic_r,
			    long long *post_r, long long *revision_r)
{
	struct fg_msgid_post p;
	int ret = fg_msgid_parse_post(secret, message_id, list_r, &p);

	if (ret == 1) {
		*topic_r = p.topic_id;
		*post_r = p.post_number;
		*revision_r = p.revision;
	}
	return ret;
}

int fg_msgid_parse_post(const char *secret, const char *message_id,
			char **list_r, struct fg_msgid_post *post_r)
{
	const char *p, *at, *dot[4], *mac_start, *num;
	char list[FG_LIST_NAME_MAX + 1], mac[FG_MSGID_MAC_LEN + 1];
	long long topic, post, revision = 0;
	size_t list_len;
	bool by_id;

	if (strncmp(message_id, "fg.", 3) != 0)
		return 0;
	at = strchr(message_id, '@');
	if (at == NULL)
		return 0;
	/* fg.LIST.TOPIC.[p]POST[.rREV].MAC@ : the dots after LIST from the
	   left, since LIST itself has no dots. */
	p = message_id + 3;
	dot[0] = memchr(p, '.', (size_t)(at - p));
	if (dot[0] == NULL)
		return 0;
	for (int i = 1; i < 3; i++) {
		dot[i] = memchr(dot[i - 1] + 1, '.',
				(size_t)(at - dot[i - 1] - 1));
		if (dot[i] == NULL)
			return 0;
	}
	mac_start = dot[2] + 1;
	dot[3] = memchr(mac_start, '.', (size_t)(at - mac_start));
	if (dot[3] != NULL) {
		if (*mac_start != 'r' ||
		    fg_parse_id_number(mac_start + 1,
				       (size_t)(dot[3] - mac_start - 1),
				       &revision) < 0 || revision < 2)
			return 0;
		mac_start = dot[3] + 1;
	}
	list_len = (size_t)(dot[0] - p);
	if (list_len == 0 || list_len > FG_LIST_NAME_MAX)
		return 0;
	memcpy(list, p, list_len);
	list[list_len] = '\0';
	num = dot[1] + 1;
	by_id = *num == 'p';
	if (by_id)
		num++;
	if (!fg_list_name_valid(list) ||
	    fg_parse_id_number(dot[0] + 1, (size_t)(dot[1] - dot[0] - 1),
			       &topic) < 0 ||
	    fg_parse_id_number(num, (size_t)(dot[2] - num), &post) < 0 ||
	    (size_t)(at - mac_start) != FG_MSGID_MAC_LEN)
		return 0;
	fg_msgid_mac(secret, list, topic, by_id, post, revision, mac);
	if (!fg_mem_equal_ct(mac, mac_start, FG_MSGID_MAC_LEN))
		return 0;
	if (list_r != NULL)
		*list_r = fg_xstrdup(list);
	memset(post_r, 0, sizeof(*post_r));
	post_r->topic_id = topic;
	post_r->post_number = by_id ? 0 : post;
	post_r->post_id = by_id ? post : 0;
	post_r->revision = revision;
	return 1;
}

char *fg_msgid_normalize(const char *raw)
{
	const char *start, *end;

	if (raw == NULL)
		return NULL;
	start = raw;
	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (end > start && *start == '<' && end[-1] == '>') {
		start++;
		end--;
	}
	if (end == start || (size_t)(end - start) > FG_MSGID_MAX)
		return NULL;
	for (const char *p = start; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return fg_xstrndup(start, (size_t)(end - start));
}
