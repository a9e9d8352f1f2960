/*
 * NAME
 *	fg-policy 3 - Postfix policy delegation requests and list decisions
 * DESCRIPTION
 *	See fg-policy.h for the protocol limits and the decision rules.
 *	Everything here works on caller buffers and returns; the caller
 *	owns the I/O, the waiting and the log.
 * SEE ALSO
 *	Postfix SMTPD_POLICY_README, the policy delegation protocol.
 */
#include "fg-policy.h"
#include "fg-address.h"
#include "fg-common.h"
#include "fg-listaddr.h"
#include "fg-net.h"
#include "fg-verp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POLICY_STR(x) #x
#define POLICY_XSTR(x) POLICY_STR(x)
/* " longer than 4096 bytes", for line errors */
#define POLICY_TOO_LONG " longer than " POLICY_XSTR(FG_POLICY_LINE_MAX) " bytes"

static const char *const fg_policy_attr_names[FG_POLICY_ATTR_COUNT] = {
	[FG_POLICY_REQUEST] = "request",
	[FG_POLICY_PROTOCOL_STATE] = "protocol_state",
	[FG_POLICY_SENDER] = "sender",
	[FG_POLICY_RECIPIENT] = "recipient",
	[FG_POLICY_INSTANCE] = "instance",
	[FG_POLICY_QUEUE_ID] = "queue_id",
	[FG_POLICY_CLIENT_ADDRESS] = "client_address",
	[FG_POLICY_CLIENT_NAME] = "client_name",
	[FG_POLICY_SASL_USERNAME] = "sasl_username",
};

#define FG_POLICY_DEFER_ACTION "DEFER_IF_PERMIT 4.3.0 list membership " \
	"service is temporarily unavailable"

void fg_policy_settings_default(struct fg_policy_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->strip_extension = true;
	set->recipient_delimiter = "+";
	set->rate_limit = 20;
	set->rate_reject = 40;
	set->redis_down_action = FG_POLICY_DEFER_ACTION;
}

static const char *const policy_access_names[] = {
	[FG_ACCESS_MEMBERS] = "members",
	[FG_ACCESS_OPEN] = "open",
	[FG_ACCESS_MODERATED] = "moderated",
	[FG_ACCESS_CLOSED] = "closed",
	[FG_ACCESS_PASSPHRASE] = "passphrase",
};

int fg_policy_access_parse(const char *s, enum fg_policy_access *access_r)
{
	for (unsigned int i = 0; i < FG_N_ELEMENTS(policy_access_names); i++) {
		if (strcmp(s, policy_access_names[i]) == 0) {
			*access_r = (enum fg_policy_access)i;
			return 0;
		}
	}
	return -1;
}

const char *fg_policy_access_name(enum fg_policy_access access)
{
	return (unsigned int)access < FG_N_ELEMENTS(policy_access_names) ?
		policy_access_names[access] : "members";
}

const char *fg_policy_attr_name(enum fg_policy_attr attr)
{
	return attr < FG_POLICY_ATTR_COUNT ? fg_policy_attr_names[attr] : "";
}

/* A printable excerpt of bad input for an error text. */
struct policy_snippet {
	char s[48];
};

/* policy_snippet - a printable excerpt of data into snip */
static void policy_snippet(struct policy_snippet *snip, const char *data,
			   size_t len)
{
	char *buf = snip->s;
	size_t i, n = len < sizeof(snip->s) - 4 ? len : sizeof(snip->s) - 4;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len)
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
}

/* policy_line_error - an error about line n, with an excerpt of it */
static int policy_line_error(const char **error_r, unsigned int n,
			     const char *what, const char *line, size_t len)
{
	struct policy_snippet snip;

	policy_snippet(&snip, line, len);
	*error_r = fg_errorf("line %u%s: %s", n, what, snip.s);
	return -1;
}

/* policy_attr_find - the known attribute called name, or ATTR_COUNT */
static enum fg_policy_attr policy_attr_find(const char *name, size_t len)
{
	for (unsigned int i = 0; i < FG_POLICY_ATTR_COUNT; i++) {
		const char *known = fg_policy_attr_names[i];
		if (strlen(known) == len && memcmp(known, name, len) == 0)
			return (enum fg_policy_attr)i;
	}
	return FG_POLICY_ATTR_COUNT;
}

int fg_policy_parse(const char *buf, size_t len,
		    struct fg_policy_request *req_r, size_t *size_r,
		    const char **error_r)
{
	size_t pos = 0;

	memset(req_r, 0, sizeof(*req_r));
	for (;;) {
		const char *line = buf + pos;
		const char *nl = pos < len ? memchr(line, '\n', len - pos) :
			NULL;

		if (nl == NULL) {
			/* Decide early when the rest can only be too long,
			   so the caller never needs to buffer more than
			   FG_POLICY_REQUEST_MAX bytes. A pending line may
			   still lose a CR before its LF. */
			if (len - pos > FG_POLICY_LINE_MAX + 1)
				return policy_line_error(error_r,
							 req_r->n_attrs + 1,
							 POLICY_TOO_LONG, line,
							 len - pos);
			if (len + 1 > FG_POLICY_REQUEST_MAX) {
				*error_r = fg_errorf(
					"request longer than %u bytes",
					FG_POLICY_REQUEST_MAX);
				return -1;
			}
			return 0;
		}

		size_t end = (size_t)(nl - buf) + 1;
		size_t line_len = (size_t)(nl - line);

		if (end > FG_POLICY_REQUEST_MAX) {
			*error_r = fg_errorf("request longer than %u bytes",
					     FG_POLICY_REQUEST_MAX);
			return -1;
		}
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0) {
			*size_r = end;
			return 1;
		}
		if (line_len > FG_POLICY_LINE_MAX)
			return policy_line_error(error_r, req_r->n_attrs + 1,
						 POLICY_TOO_LONG, line,
						 line_len);
		if (++req_r->n_attrs > FG_POLICY_ATTR_MAX) {
			*error_r = fg_errorf("more than %u attributes",
					     FG_POLICY_ATTR_MAX);
			return -1;
		}
		if (memchr(line, '\0', line_len) != NULL)
			return policy_line_error(error_r, req_r->n_attrs,
						 ": NUL byte", line, line_len);

		const char *eq = memchr(line, '=', line_len);
		if (eq == NULL || eq == line)
			return policy_line_error(
				error_r, req_r->n_attrs,
				eq == NULL ? ": not name=value" :
				": empty attribute name", line, line_len);

		enum fg_policy_attr attr =
			policy_attr_find(line, (size_t)(eq - line));
		if (attr != FG_POLICY_ATTR_COUNT) {
			req_r->attrs[attr].data = eq + 1;
			req_r->attrs[attr].len =
				line_len - (size_t)(eq - line) - 1;
		}
		pos = end;
	}
}

char *fg_policy_value_dup(const struct fg_policy_request *req,
			  enum fg_policy_attr attr, bool lower)
{
	const struct fg_policy_value *v = &req->attrs[attr];
	char *s = v->data == NULL ? fg_xstrdup("") :
		fg_xstrndup(v->data, v->len);

	return lower ? fg_str_lower(s) : s;
}

/* policy_value_is - compare a value, ASCII case-insensitively */
static bool policy_value_is(const struct fg_policy_value *v, const char *s)
{
	size_t len = strlen(s);

	return v->data != NULL && v->len == len &&
		strncasecmp(v->data, s, len) == 0;
}

/*
 * The posting addresses: a chained hash table over the lowercased
 * address. It is built once per refresh and only read in between.
 */
struct fg_policy_address {
	struct fg_policy_address *next;
	char *address;			/* lowercase */
	char list[FG_LIST_NAME_MAX + 1];
	bool bridge;			/* a bridge recipient */
};

struct fg_policy_addresses {
	struct fg_policy_address **buckets;
	size_t n_buckets;		/* a power of two */
	size_t count;			/* posting addresses */
	size_t n_bridges;		/* bridge recipients */
};

/* policy_fnv - FNV-1a of the bytes, lowercased if fold */
static inline uint64_t policy_fnv(const char *s, size_t len, bool fold)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		h ^= fold ? (unsigned char)tolower(c) : c;
		h *= 1099511628211ULL;
	}
	return h;
}

/* policy_hash - the addresses' hash: case-insensitive */
static uint64_t policy_hash(const char *s, size_t len)
{
	return policy_fnv(s, len, true);
}

struct fg_policy_addresses *fg_policy_addresses_new(void)
{
	struct fg_policy_addresses *addrs = fg_xcalloc(1, sizeof(*addrs));

	addrs->n_buckets = 64;
	addrs->buckets = fg_xcalloc(addrs->n_buckets,
				    sizeof(*addrs->buckets));
	return addrs;
}

/* policy_addresses_grow - double the buckets */
static void policy_addresses_grow(struct fg_policy_addresses *addrs)
{
	size_t n = addrs->n_buckets * 2;
	struct fg_policy_address **buckets = fg_xcalloc(n, sizeof(*buckets));

	for (size_t i = 0; i < addrs->n_buckets; i++) {
		struct fg_policy_address *a = addrs->buckets[i], *next;
		for (; a != NULL; a = next) {
			size_t b = policy_hash(a->address, strlen(a->address)) &
				(n - 1);
			next = a->next;
			a->next = buckets[b];
			buckets[b] = a;
		}
	}
	free(addrs->buckets);
	addrs->buckets = buckets;
	addrs->n_buckets = n;
}

/* policy_addresses_find - the entry of an address of the kind, or
   NULL */
static struct fg_policy_address *
policy_addresses_find(const struct fg_policy_addresses *addrs,
		      const char *address, size_t len, bool bridge)
{
	size_t b = policy_hash(address, len) & (addrs->n_buckets - 1);

	for (struct fg_policy_address *a = addrs->buckets[b]; a != NULL;
	     a = a->next) {
		if (a->bridge == bridge && strlen(a->address) == len &&
		    strncasecmp(a->address, address, len) == 0)
			return a;
	}
	return NULL;
}

/* policy_addresses_put - add an address of the kind */
static int policy_addresses_put(struct fg_policy_addresses *addrs,
				const char *address, const char *list,
				bool bridge, const char **error_r)
{
	const char *what = bridge ? "bridge recipient" : "posting address";
	struct policy_snippet snip1, snip2;
	size_t len = strlen(address);
	struct fg_policy_address *a;

	if (len == 0) {
		policy_snippet(&snip1, list, strlen(list));
		*error_r = fg_errorf("empty %s for list '%s'", what, snip1.s);
		return -1;
	}
	if (!fg_list_name_valid(list)) {
		policy_snippet(&snip1, address, len);
		policy_snippet(&snip2, list, strlen(list));
		*error_r = fg_errorf("%s %s: invalid list name '%s'", what,
				     snip1.s, snip2.s);
		return -1;
	}
	a = policy_addresses_find(addrs, address, len, bridge);
	if (a == NULL) {
		if (addrs->count + addrs->n_bridges >= addrs->n_buckets)
			policy_addresses_grow(addrs);
		size_t b = policy_hash(address, len) & (addrs->n_buckets - 1);
		a = fg_xcalloc(1, sizeof(*a));
		a->address = fg_str_lower(fg_xstrndup(address, len));
		a->bridge = bridge;
		a->next = addrs->buckets[b];
		addrs->buckets[b] = a;
		if (bridge)
			addrs->n_bridges++;
		else
			addrs->count++;
	}
	memcpy(a->list, list, strlen(list) + 1);
	return 0;
}

int fg_policy_addresses_add(struct fg_policy_addresses *addrs,
			    const char *address, const char *list,
			    const char **error_r)
{
	return policy_addresses_put(addrs, address, list, false, error_r);
}

int fg_policy_addresses_add_bridge(struct fg_policy_addresses *addrs,
				   const char *address, const char *list,
				   const char **error_r)
{
	return policy_addresses_put(addrs, address, list, true, error_r);
}

const char *fg_policy_addresses_lookup(const struct fg_policy_addresses *addrs,
				       const char *address, size_t len)
{
	const struct fg_policy_address *a =
		policy_addresses_find(addrs, address, len, false);

	return a == NULL ? NULL : a->list;
}

const char *fg_policy_bridge_lookup(const struct fg_policy_addresses *addrs,
				    const char *address, size_t len)
{
	const struct fg_policy_address *a =
		policy_addresses_find(addrs, address, len, true);

	return a == NULL ? NULL : a->list;
}

size_t fg_policy_bridges_count(const struct fg_policy_addresses *addrs)
{
	return addrs->n_bridges;
}

size_t fg_policy_addresses_count(const struct fg_policy_addresses *addrs)
{
	return addrs->count;
}

void fg_policy_addresses_free(struct fg_policy_addresses **_addrs)
{
	struct fg_policy_addresses *addrs = *_addrs;

	if (addrs == NULL)
		return;
	for (size_t i = 0; i < addrs->n_buckets; i++) {
		struct fg_policy_address *a = addrs->buckets[i], *next;
		for (; a != NULL; a = next) {
			next = a->next;
			free(a->address);
			free(a);
		}
	}
	free(addrs->buckets);
	free(addrs);
	*_addrs = NULL;
}

/* policy_answer - make the decision final */
static void policy_answer(struct fg_policy_decision *d, const char *reason,
			  const char *fmt, ...) FG_ATTR_FORMAT(3, 4);

static void policy_answer(struct fg_policy_decision *d, const char *reason,
			  const char *fmt, ...)
{
	va_list ap;

	d->verdict = FG_POLICY_ANSWER;
	d->reason = reason;
	va_start(ap, fmt);
	vsnprintf(d->action, sizeof(d->action), fmt, ap);
	va_end(ap);
}

/* policy_quote - a printable, bounded copy of an address for a reply */
static void policy_quote(char *buf, size_t size, const char *s);

/* Longer recipients are not VERP addresses forumgate made. */
#define FG_POLICY_VERP_MAX 512

/* policy_control - the list whose control address canon is (LIST-WORD
   or LIST-WORD+DETAIL at the domain of the posting address LIST@),
   or NULL; canon is NUL-terminated, len bytes. Asked for every
   recipient that is no posting address: no allocation, and nothing
   more than a scan when the local part has no '-'. */
static const char *policy_control(const struct fg_policy_addresses *addrs,
				  const char *canon, size_t len)
{
	char candidate[FG_POLICY_LINE_MAX + 1];
	enum fg_listaddr_role role;
	const char *at = strrchr(canon, '@');
	size_t domain_len;

	if (at == NULL || len > FG_POLICY_LINE_MAX ||
	    memchr(canon, '-', (size_t)(at - canon)) == NULL)
		return NULL;
	domain_len = strlen(at);
	/* each '-' of the local part, from the right: LIST may have some */
	for (const char *dash = at; dash > canon;) {
		const char *found;
		size_t n;

		while (--dash > canon && *dash != '-')
			;
		if (dash == canon)
			break;
		n = (size_t)(dash - canon);
		memcpy(candidate, canon, n);
		memcpy(candidate + n, at, domain_len + 1);
		found = fg_policy_addresses_lookup(addrs, candidate,
						   n + domain_len);
		if (found == NULL)
			continue;
		role = fg_listaddr_parse(candidate, canon, NULL);
		if (role != FG_LISTADDR_POST && role != FG_LISTADDR_UNKNOWN &&
		    role != FG_LISTADDR_COUNT)
			return found;
	}
	return NULL;
}

/* policy_verp - the answer for a recipient in forumgate's VERP form
   (BASE+fgb.MAC.LIST.WHAT@DOMAIN, fg-verp.h); false when it is not one.
   The MAC decides without Redis: a bounce to an address we never sent
   from (backscatter, a forged bounce) is refused at the door. */
static bool policy_verp(const struct fg_policy_value *rcpt,
			const struct fg_policy_settings *set,
			struct fg_policy_decision *d)
{
	char quoted[FG_POLICY_QUOTE_MAX + 4];
	struct fg_verp verp;
	char *copy;
	int ret;

	if (rcpt->len > FG_POLICY_VERP_MAX ||
	    memchr(rcpt->data, '+', rcpt->len) == NULL)
		return false;
	copy = fg_xstrndup(rcpt->data, rcpt->len);
	/* Without a secret nothing can be verified: treat every VERP
	   address as forged rather than let backscatter through. */
	ret = fg_verp_parse(set->secret != NULL ? set->secret : "", copy,
			    &verp);
	if (ret == 0) {
		free(copy);
		return false;
	}
	if (ret > 0 && set->secret != NULL && *set->secret != '\0') {
		snprintf(d->list, sizeof(d->list), "%s", verp.list);
		policy_answer(d, "genuine bounce address", "DUNNO");
	} else {
		policy_quote(quoted, sizeof(quoted), copy);
		policy_answer(d, "forged bounce address",
			      "550 5.1.1 <%s>: no such bounce address; this "
			      "bounce does not answer mail forumgate sent",
			      quoted);
	}
	fg_verp_clear(&verp);
	free(copy);
	return true;
}

/* policy_is_loop - is sender the posting address rcpt (canonical,
   without extension), or an extension of it (user+anything@domain)? */
static bool policy_is_loop(const struct fg_policy_value *sender,
			   const struct fg_policy_value *rcpt)
{
	const char *s_at = memchr(sender->data, '@', sender->len);
	const char *r_at = memchr(rcpt->data, '@', rcpt->len);
	size_t s_local, r_local;

	if (s_at == NULL || r_at == NULL)
		return false;
	s_local = (size_t)(s_at - sender->data);
	r_local = (size_t)(r_at - rcpt->data);
	if (sender->len - s_local != rcpt->len - r_local ||
	    strncasecmp(s_at, r_at, rcpt->len - r_local) != 0)
		return false;
	return (s_local == r_local ||
		(s_local > r_local && sender->data[r_local] == '+')) &&
		strncasecmp(sender->data, rcpt->data, r_local) == 0;
}

/* policy_return_path_list - the list whose return path sender is, in
   the default forms of fg-listmail.h (Mailman LIST-bounces[+...],
   mlmmj LIST+bounces-...), or NULL */
static const char *
policy_return_path_list(const struct fg_policy_addresses *addrs,
			const struct fg_policy_settings *set,
			const struct fg_policy_value *sender)
{
	const char *at = memchr(sender->data, '@', sender->len);
	const char *delims = set->recipient_delimiter;
	char addr[FG_POLICY_VERP_MAX + 1];
	size_t local, domain;

	if (at == NULL || sender->len > FG_POLICY_VERP_MAX)
		return NULL;
	local = (size_t)(at - sender->data);
	domain = sender->len - local;
	for (size_t i = 1; i < local; i++) {
		const char *p = sender->data + i, *rest;
		size_t tail = local - i;

		if (*p == '-' && tail >= 8 &&
		    strncasecmp(p, "-bounces", 8) == 0) {
			rest = p + 8;
			if (rest != at && *rest != '+' &&
			    (delims == NULL || strchr(delims, *rest) == NULL))
				continue;
		} else if ((*p == '+' ||
			    (delims != NULL && strchr(delims, *p) != NULL)) &&
			   tail > 9 && strncasecmp(p + 1, "bounces-", 8) == 0) {
			/* mlmmj: something after "bounces-" */
		} else {
			continue;
		}
		/* LIST@DOMAIN, the part before it */
		memcpy(addr, sender->data, i);
		memcpy(addr + i, at, domain);
		const char *list = fg_policy_addresses_lookup(addrs, addr,
							      i + domain);
		if (list != NULL)
			return list;
	}
	return NULL;
}

/* policy_outside - the answer for a client outside bridge_clients that
   names a bridge recipient or uses a list's return path; false when it
   does neither */
static bool policy_outside(const struct fg_policy_request *req,
			   const struct fg_policy_addresses *addrs,
			   const struct fg_policy_settings *set,
			   const struct fg_policy_value *crcpt,
			   struct fg_policy_decision *d)
{
	const struct fg_policy_value *client =
		&req->attrs[FG_POLICY_CLIENT_ADDRESS];
	const struct fg_policy_value *sender = &req->attrs[FG_POLICY_SENDER];
	char quoted[FG_POLICY_QUOTE_MAX + 4];
	char copy[FG_POLICY_LINE_MAX + 1];
	const char *list;

	if (set->bridge_clients == NULL || client->data == NULL ||
	    client->len == 0 ||
	    fg_net_list_match_text(set->bridge_clients, client->data,
				   client->len))
		return false;
	memcpy(copy, crcpt->data, crcpt->len);
	copy[crcpt->len] = '\0';
	list = fg_policy_bridge_lookup(addrs, copy, crcpt->len);
	if (list == NULL &&
	    fg_address_strip_extension(copy, set->recipient_delimiter))
		list = fg_policy_bridge_lookup(addrs, copy, strlen(copy));
	if (list != NULL) {
		snprintf(d->list, sizeof(d->list), "%s", list);
		memcpy(copy, crcpt->data, crcpt->len);
		copy[crcpt->len] = '\0';
		policy_quote(quoted, sizeof(quoted), copy);
		policy_answer(d, "bridge recipient from outside bridge_clients",
			      "REJECT 5.7.1 <%s>: this address takes the %s "
			      "list's copies from its list manager only; "
			      "post to the list instead", quoted, list);
		return true;
	}
	if (sender->data != NULL && sender->len > 0 &&
	    (list = policy_return_path_list(addrs, set, sender)) != NULL) {
		char *s = fg_xstrndup(sender->data, sender->len);

		snprintf(d->list, sizeof(d->list), "%s", list);
		policy_quote(quoted, sizeof(quoted), s);
		free(s);
		policy_answer(d, "list return path from outside "
			      "bridge_clients",
			      "REJECT 5.7.1 <%s>: the %s list's return path "
			      "is used by its list manager only", quoted,
			      list);
		return true;
	}
	return false;
}

int fg_policy_check(const struct fg_policy_request *req,
		    const struct fg_policy_addresses *addrs,
		    const struct fg_policy_settings *set,
		    struct fg_policy_decision *d, const char **error_r)
{
	struct fg_policy_settings defaults;
	const struct fg_policy_value *request = &req->attrs[FG_POLICY_REQUEST];
	const struct fg_policy_value *rcpt = &req->attrs[FG_POLICY_RECIPIENT];
	const struct fg_policy_value *sender = &req->attrs[FG_POLICY_SENDER];
	struct policy_snippet snip;
	/* the recipient as Postfix resolves it; never longer than sent */
	char canon[FG_POLICY_LINE_MAX + 1];
	struct fg_policy_value crcpt;
	const char *list;
	bool extension = false;

	memset(d, 0, sizeof(*d));
	if (set == NULL) {
		fg_policy_settings_default(&defaults);
		set = &defaults;
	}
	if (request->data == NULL) {
		*error_r = "request without a request attribute";
		return -1;
	}
	if (!(request->len == strlen("smtpd_access_policy") &&
	      memcmp(request->data, "smtpd_access_policy",
		     request->len) == 0)) {
		policy_snippet(&snip, request->data, request->len);
		*error_r = fg_errorf("unsupported request type '%s'", snip.s);
		return -1;
	}
	if (policy_value_is(&req->attrs[FG_POLICY_PROTOCOL_STATE],
			    "END-OF-MESSAGE")) {
		policy_answer(d, "end of message", "DUNNO");
		d->verdict = FG_POLICY_END_OF_MESSAGE;
		return 0;
	}
	if (!policy_value_is(&req->attrs[FG_POLICY_PROTOCOL_STATE], "RCPT")) {
		policy_answer(d, "not the RCPT stage", "DUNNO");
		return 0;
	}
	if (rcpt->data == NULL || rcpt->len == 0) {
		policy_answer(d, "no recipient", "DUNNO");
		return 0;
	}
	if (addrs == NULL) {
		d->verdict = FG_POLICY_NEED_ADDRESSES;
		d->reason = "posting addresses not known";
		return 0;
	}
	if (rcpt->len > FG_POLICY_LINE_MAX) {
		policy_answer(d, "not a list address", "DUNNO");
		return 0;
	}
	crcpt.data = canon;
	crcpt.len = fg_address_canonical(rcpt->data, rcpt->len, canon);
	if (policy_outside(req, addrs, set, &crcpt, d))
		return 0;
	list = fg_policy_addresses_lookup(addrs, crcpt.data, crcpt.len);
	if (list == NULL &&
	    (list = policy_control(addrs, crcpt.data, crcpt.len)) != NULL) {
		memcpy(d->list, list, strlen(list) + 1);
		d->control = true;
		if (sender->data == NULL || sender->len == 0) {
			policy_answer(d, "null sender to a control address",
				      "DUNNO");
			return 0;
		}
		d->verdict = FG_POLICY_NEED_MEMBERSHIP;
		d->reason = "rate lookup";
		return 0;
	}
	if (list == NULL) {
		if (policy_verp(&crcpt, set, d))
			return 0;
		/* forum+x@lists.test goes where forum@lists.test goes */
		extension = fg_address_strip_extension(canon,
						       set->recipient_delimiter);
		crcpt.len = strlen(canon);
		if (extension)
			list = fg_policy_addresses_lookup(addrs, crcpt.data,
							  crcpt.len);
		if (list == NULL) {
			policy_answer(d, "not a list address", "DUNNO");
			return 0;
		}
	}
	memcpy(d->list, list, strlen(list) + 1);
	if ((sender->data == NULL || sender->len == 0) && extension) {
		/* A list manager's own bounce and command addresses
		   (mlmmj's LIST+bounces-...): a bounce is no post, and a
		   list manager does not distribute mail from <>. */
		policy_answer(d, "null sender to an address extension",
			      "DUNNO");
		return 0;
	}
	if (sender->data == NULL || sender->len == 0) {
		policy_answer(d, "null sender", "REJECT 5.7.1 mail from the "
			      "null sender (a bounce or an auto-reply) cannot "
			      "be posted to the %s list", d->list);
		return 0;
	}
	if (policy_is_loop(sender, &crcpt)) {
		policy_answer(d, "mail loop", "REJECT 5.7.1 mail from the %s "
			      "list's own address to itself (a mail loop)",
			      d->list);
		return 0;
	}
	d->verdict = FG_POLICY_NEED_MEMBERSHIP;
	d->reason = "membership lookup";
	return 0;
}

static void policy_quote(char *buf, size_t size, const char *s)
{
	size_t i, max = size - 4;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (s[i] != '\0')
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
}

void fg_policy_membership(struct fg_policy_decision *d, const char *sender,
			  int is_member)
{
	struct fg_policy_settings set;
	struct fg_policy_facts f = { .access = FG_ACCESS_MEMBERS };

	fg_policy_settings_default(&set);
	f.member = is_member > 0;
	fg_policy_facts(d, &set, sender, is_member < 0 ? NULL : &f);
	if (is_member < 0)
		d->reason = "membership lookup failed";
}

void fg_policy_sender_normalize(const struct fg_policy_settings *set,
				char *key)
{
	char *at = strrchr(fg_str_lower(key), '@'), *plus;

	if (set->strip_extension && at != NULL &&
	    (plus = memchr(key, '+', (size_t)(at - key))) != NULL &&
	    plus != key)
		memmove(plus, at, strlen(at) + 1);
}

char *fg_policy_sender_key(const struct fg_policy_settings *set,
			   const char *sender)
{
	char *key = fg_xstrdup(sender);

	fg_policy_sender_normalize(set, key);
	return key;
}

void fg_policy_facts(struct fg_policy_decision *d,
		     const struct fg_policy_settings *set, const char *sender,
		     const struct fg_policy_facts *f)
{
	char quoted[FG_POLICY_QUOTE_MAX + 4];
	bool hold = false;

	if (f == NULL) {
		policy_answer(d, "list lookup failed", "%s",
			      set->redis_down_action);
		return;
	}
	policy_quote(quoted, sizeof(quoted), sender);
	/* anyone may write to a control address: the rate limit only */
	switch (d->control ? FG_ACCESS_OPEN : f->access) {
	case FG_ACCESS_OPEN:
	case FG_ACCESS_PASSPHRASE:
		/* a passphrase is in the message, checked at delivery */
		break;
	case FG_ACCESS_MEMBERS:
		if (!f->member && !f->allowed) {
			policy_answer(d, "not a member",
				      "REJECT 5.7.1 <%s> is not a member of "
				      "the %s list; only members may post",
				      quoted, d->list);
			return;
		}
		break;
	case FG_ACCESS_MODERATED:
		if (f->allowed)
			break;
		if (!f->member) {
			policy_answer(d, "not a member",
				      "REJECT 5.7.1 <%s> is not a member of "
				      "the %s list; only members may post",
				      quoted, d->list);
			return;
		}
		hold = true;
		break;
	case FG_ACCESS_CLOSED:
		if (!f->allowed) {
			policy_answer(d, "closed list",
				      "REJECT 5.7.1 the %s list is closed; "
				      "<%s> may not post to it", d->list,
				      quoted);
			return;
		}
		break;
	}
	/* f->count: posts accepted before this one */
	if (set->rate_reject > 0 && f->count >= set->rate_reject) {
		policy_answer(d, "rate limit, rejected",
			      "REJECT 5.7.1 <%s> sent more than %u messages "
			      "to the %s list in the rate window; rejected",
			      quoted, set->rate_reject, d->list);
	} else if (set->rate_limit > 0 && f->count >= set->rate_limit) {
		policy_answer(d, "rate limit, deferred",
			      "DEFER_IF_PERMIT 4.7.1 <%s> sent more than %u "
			      "messages to the %s list in the rate window; "
			      "try again later", quoted, set->rate_limit,
			      d->list);
	} else if (hold) {
		policy_answer(d, "moderated list",
			      "HOLD the %s list is moderated; the message "
			      "from <%s> waits for a moderator", d->list,
			      quoted);
		d->post = fg_policy_counts(set);
	} else {
		policy_answer(d, d->control ? "control address" :
			      f->access == FG_ACCESS_OPEN ? "open list" :
			      f->allowed ? "allowed sender" :
			      f->access == FG_ACCESS_PASSPHRASE ?
			      "passphrase checked at delivery" : "member",
			      "DUNNO");
		d->post = fg_policy_counts(set);
	}
}

void fg_policy_unavailable(struct fg_policy_decision *d)
{
	policy_answer(d, "posting addresses not known", "%s",
		      FG_POLICY_DEFER_ACTION);
}

size_t fg_policy_answer(const struct fg_policy_decision *d, char *buf,
			size_t size)
{
	int n = snprintf(buf, size, "action=%s\n\n", d->action);

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

bool fg_policy_facts_can_post(const struct fg_policy_facts *f)
{
	return f->access == FG_ACCESS_OPEN || f->member || f->allowed;
}

bool fg_policy_counts(const struct fg_policy_settings *set)
{
	return set->rate_limit > 0 || set->rate_reject > 0;
}

/*
 * A list's facts: one open-addressing table over both sets. Each slot
 * holds an address's hash, where its bytes are in one string arena,
 * and which sets it is in; the table is kept between a quarter and
 * half full, so a list of n addresses costs 32n to 64n bytes of table
 * and its addresses once.
 */
#define POLICY_IN_MEMBERS	1u
#define POLICY_IN_ALLOW		2u

struct policy_fact_slot {
	uint64_t hash;
	uint32_t off;			/* into arena */
	uint32_t len_sets;		/* len << 2 | POLICY_IN_* */
};

struct fg_policy_list_facts {
	enum fg_policy_access access;
	struct policy_fact_slot *slots;	/* NULL: empty */
	size_t n_slots;			/* a power of two */
	size_t count;
	char *arena;
	size_t arena_len, arena_size;
};

/* policy_bytes_hash - the lists' facts' hash: exact bytes */
static uint64_t policy_bytes_hash(const char *s, size_t len)
{
	return policy_fnv(s, len, false);
}

struct fg_policy_list_facts *
fg_policy_list_facts_new(enum fg_policy_access access)
{
	struct fg_policy_list_facts *lf = fg_xcalloc(1, sizeof(*lf));

	lf->access = access;
	return lf;
}

/* policy_fact_find - the slot of an address, or the free slot where it
   would go */
static struct policy_fact_slot *
policy_fact_find(const struct fg_policy_list_facts *lf, uint64_t hash,
		 const char *address, size_t len)
{
	size_t i = (size_t)hash & (lf->n_slots - 1);

	for (;; i = (i + 1) & (lf->n_slots - 1)) {
		struct policy_fact_slot *slot = &lf->slots[i];
		if (slot->len_sets == 0)
			return slot;
		if (slot->hash == hash && (slot->len_sets >> 2) == len &&
		    memcmp(lf->arena + slot->off, address, len) == 0)
			return slot;
	}
}

/* policy_facts_grow - at least twice the slots, and at least min (the
   table stays at most half full, so a probe ends soon) */
static void policy_facts_grow(struct fg_policy_list_facts *lf, size_t min)
{
	struct policy_fact_slot *old = lf->slots;
	size_t n_old = lf->n_slots;

	lf->n_slots = n_old == 0 ? 64 : n_old * 2;
	while (lf->n_slots < min)
		lf->n_slots *= 2;
	lf->slots = fg_xcalloc(lf->n_slots, sizeof(*lf->slots));
	for (size_t i = 0; i < n_old; i++) {
		if (old[i].len_sets == 0)
			continue;
		size_t j = (size_t)old[i].hash & (lf->n_slots - 1);
		while (lf->slots[j].len_sets != 0)
			j = (j + 1) & (lf->n_slots - 1);
		lf->slots[j] = old[i];
	}
	free(old);
}

void fg_policy_list_facts_reserve(struct fg_policy_list_facts *lf, size_t n,
				  size_t len)
{
	if (2 * (lf->count + n) > lf->n_slots)
		policy_facts_grow(lf, 2 * (lf->count + n));
	if (lf->arena_len + n * len > lf->arena_size) {
		lf->arena_size = lf->arena_len + n * len;
		lf->arena = fg_xrealloc(lf->arena, lf->arena_size);
	}
}

void fg_policy_list_facts_add(struct fg_policy_list_facts *lf, bool allow,
			      const char *address, size_t len)
{
	uint64_t hash = policy_bytes_hash(address, len);
	struct policy_fact_slot *slot;

	/* Longer than any address: it cannot match a sender Postfix
	   accepted, and it would not fit the slot. */
	if (len == 0 || len > FG_POLICY_LINE_MAX)
		return;
	if (2 * (lf->count + 1) > lf->n_slots)
		policy_facts_grow(lf, 0);
	slot = policy_fact_find(lf, hash, address, len);
	if (slot->len_sets == 0) {
		if (lf->arena_len + len > lf->arena_size) {
			lf->arena_size = lf->arena_size == 0 ? 4096 :
				lf->arena_size * 2;
			if (lf->arena_size < lf->arena_len + len)
				lf->arena_size = lf->arena_len + len;
			lf->arena = fg_xrealloc(lf->arena, lf->arena_size);
		}
		memcpy(lf->arena + lf->arena_len, address, len);
		slot->hash = hash;
		slot->off = (uint32_t)lf->arena_len;
		slot->len_sets = (uint32_t)len << 2;
		lf->arena_len += len;
		lf->count++;
	}
	slot->len_sets |= allow ? POLICY_IN_ALLOW : POLICY_IN_MEMBERS;
}

void fg_policy_list_facts_get(const struct fg_policy_list_facts *lf,
			      const char *sender,
			      struct fg_policy_facts *facts_r)
{
	size_t len = strlen(sender);
	const struct policy_fact_slot *slot = NULL;

	memset(facts_r, 0, sizeof(*facts_r));
	facts_r->access = lf->access;
	if (lf->count > 0 && len > 0)
		slot = policy_fact_find(lf, policy_bytes_hash(sender, len),
					sender, len);
	if (slot != NULL && slot->len_sets != 0) {
		facts_r->member = (slot->len_sets & POLICY_IN_MEMBERS) != 0;
		facts_r->allowed = (slot->len_sets & POLICY_IN_ALLOW) != 0;
	}
}

size_t fg_policy_list_facts_count(const struct fg_policy_list_facts *lf)
{
	return lf->count;
}

void fg_policy_list_facts_free(struct fg_policy_list_facts **_lf)
{
	struct fg_policy_list_facts *lf = *_lf;

	if (lf == NULL)
		return;
	free(lf->slots);
	free(lf->arena);
	free(lf);
	*_lf = NULL;
}

int fg_policy_cache_get_facts(const struct fg_policy_cache *cache,
			      const char *instance, const char *sender,
			      const char *list, struct fg_policy_facts *facts_r)
{
	if (cache->instance[0] == '\0' || *instance == '\0' ||
	    strcmp(cache->instance, instance) != 0 ||
	    strcmp(cache->sender, sender) != 0)
		return 0;
	for (unsigned int i = 0; i < cache->count; i++) {
		if (strcmp(cache->entries[i].list, list) == 0) {
			*facts_r = cache->entries[i].facts;
			return 1;
		}
	}
	return 0;
}

int fg_policy_cache_get(const struct fg_policy_cache *cache,
			const char *instance, const char *sender,
			const char *list)
{
	struct fg_policy_facts f;

	if (fg_policy_cache_get_facts(cache, instance, sender, list, &f) == 0)
		return -1;
	return f.member ? 1 : 0;
}

void fg_policy_cache_put(struct fg_policy_cache *cache, const char *instance,
			 const char *sender, const char *list, bool member)
{
	struct fg_policy_facts f = { .access = FG_ACCESS_MEMBERS,
				     .member = member };

	fg_policy_cache_put_facts(cache, instance, sender, list, &f);
}

void fg_policy_cache_put_facts(struct fg_policy_cache *cache,
			       const char *instance, const char *sender,
			       const char *list,
			       const struct fg_policy_facts *facts)
{
	size_t instance_len = strlen(instance), sender_len = strlen(sender);
	unsigned int i;

	if (instance_len == 0 || instance_len >= sizeof(cache->instance) ||
	    sender_len >= sizeof(cache->sender) ||
	    strlen(list) > FG_LIST_NAME_MAX)
		return;
	if (strcmp(cache->instance, instance) != 0 ||
	    strcmp(cache->sender, sender) != 0) {
		fg_policy_cache_clear(cache);
		memcpy(cache->instance, instance, instance_len + 1);
		memcpy(cache->sender, sender, sender_len + 1);
	}
	for (i = 0; i < cache->count; i++) {
		if (strcmp(cache->entries[i].list, list) == 0)
			break;
	}
	if (i == cache->count) {
		/* Full: replace the oldest answer. */
		if (cache->count < FG_POLICY_CACHE_LISTS) {
			i = cache->count++;
		} else {
			i = cache->next;
			cache->next = (cache->next + 1) % FG_POLICY_CACHE_LISTS;
		}
		memcpy(cache->entries[i].list, list, strlen(list) + 1);
	}
	cache->entries[i].facts = *facts;
}

void fg_policy_cache_clear(struct fg_policy_cache *cache)
{
	cache->instance[0] = '\0';
	cache->sender[0] = '\0';
	cache->count = 0;
	cache->next = 0;
}

void fg_policy_txn_add(struct fg_policy_txn *txn, const char *instance,
		       const char *sender, const char *list)
{
	size_t instance_len = strlen(instance), sender_len = strlen(sender);

	if (instance_len == 0 || instance_len >= sizeof(txn->instance) ||
	    sender_len >= sizeof(txn->sender) ||
	    strlen(list) > FG_LIST_NAME_MAX)
		return;
	if (strcmp(txn->instance, instance) != 0) {
		/* a new message: the last one ended without its data */
		memcpy(txn->instance, instance, instance_len + 1);
		memcpy(txn->sender, sender, sender_len + 1);
		txn->count = 0;
	}
	for (unsigned int i = 0; i < txn->count; i++) {
		if (strcmp(txn->lists[i], list) == 0)
			return;
	}
	if (txn->count < FG_POLICY_TXN_LISTS)
		memcpy(txn->lists[txn->count++], list, strlen(list) + 1);
}

bool fg_policy_txn_end(struct fg_policy_txn *txn, const char *instance,
		       struct fg_policy_txn *msg_r)
{
	bool found = *instance != '\0' && strcmp(txn->instance, instance) == 0 &&
		txn->count > 0;

	if (found)
		*msg_r = *txn;
	txn->instance[0] = '\0';
	txn->sender[0] = '\0';
	txn->count = 0;
	return found;
}
