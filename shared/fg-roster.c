/*
 * NAME
 *	fg-roster 3 - a list's members as its list manager knows them
 * DESCRIPTION
 *	See fg-roster.h. Mailman 3 is asked over HTTP with libcurl (basic
 *	authentication, the answer read with jansson); an mlmmj list is
 *	read from its directory. Either source is read completely or not
 *	at all.
 */
#include "fg-roster.h"
#include "fg-common.h"
#include "fg-config.h"
#include "fg-secret.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <jansson.h>

/* members asked for per REST request */
#define FG_ROSTER_PAGE_SIZE 500
/* largest REST answer: a page of FG_ROSTER_PAGE_SIZE members is
   about 300 kB */
#define FG_ROSTER_ANSWER_MAX (16 * 1024 * 1024)
/* longest line read from an mlmmj subscriber file */
#define FG_ROSTER_LINE_MAX 1024

/* the mlmmj directories of addresses that may post */
static const char *const fg_mlmmj_dirs[] = {
	"subscribers.d", "digesters.d", "nomailsubs.d",
};

/* fg_roster_id_valid - a Mailman list id: it goes into a URL path */
static bool fg_roster_id_valid(const char *id)
{
	if (*id == '\0' || strlen(id) > 255)
		return false;
	for (const char *p = id; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("._-+", *p) == NULL)
			return false;
	}
	return true;
}

int fg_roster_source_parse(const char *text, const char *list_address,
			   struct fg_roster_source *source_r,
			   const char **error_r)
{
	memset(source_r, 0, sizeof(*source_r));
	if (strcmp(text, "mailman3") == 0 ||
	    strncmp(text, "mailman3:", 9) == 0) {
		char *id;
		if (text[8] == ':') {
			id = fg_xstrdup(text + 9);
		} else {
			/* Mailman's list id: the posting address with its
			   '@' made a '.' */
			char *at;
			if (list_address == NULL ||
			    (at = strchr(list_address, '@')) == NULL) {
				*error_r = "mailman3: the list has no posting "
					   "address to take the Mailman list "
					   "id from (use mailman3:LIST_ID)";
				return -1;
			}
			id = fg_str_lower(fg_xstrdup(list_address));
			id[at - list_address] = '.';
		}
		if (!fg_roster_id_valid(id)) {
			*error_r = fg_errorf("invalid Mailman list id '%s'", id);
			free(id);
			return -1;
		}
		source_r->kind = FG_ROSTER_MAILMAN3;
		source_r->where = id;
		return 0;
	}
	if (strncmp(text, "mlmmj:", 6) == 0) {
		size_t len = strlen(text);
		if (text[6] != '/' || strstr(text, "/../") != NULL ||
		    (len >= 3 && strcmp(text + len - 3, "/..") == 0)) {
			*error_r = "mlmmj: the list directory must be an "
				   "absolute path (mlmmj:/var/spool/mlmmj/LIST)";
			return -1;
		}
		source_r->kind = FG_ROSTER_MLMMJ;
		source_r->where = fg_xstrdup(text + 6);
		return 0;
	}
	*error_r = fg_errorf("unknown roster source '%s' (want mailman3, "
			     "mailman3:LIST_ID or mlmmj:/LISTDIR)", text);
	return -1;
}

void fg_roster_source_free(struct fg_roster_source *source)
{
	free(source->where);
	source->where = NULL;
}

/* fg_roster_address_ok - a bare addr-spec as a list manager stores it.
   Not parsed with GMime: these are not header fields but one address
   a line (or a JSON string) from the list manager's own store; this
   only keeps what cannot be an address out of the members. */
static bool fg_roster_address_ok(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (len == 0 || len > FG_ROSTER_ADDRESS_MAX || at == NULL ||
	    at == s || at == s + len - 1 ||
	    memchr(at + 1, '@', len - (size_t)(at + 1 - s)) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',')
			return false;
	}
	return true;
}

void fg_roster_add(struct fg_roster *roster, const char *address,
		   size_t len)
{
	while (len > 0 && isspace((unsigned char)*address)) {
		address++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)address[len - 1]))
		len--;
	if (!fg_roster_address_ok(address, len)) {
		roster->ignored++;
		return;
	}
	/* the vector doubles when count is 2^k - 1 (0, 1, 3, 7, ...): it
	   then has count + 1 slots and gets 2 * (count + 1) */
	if ((roster->count & (roster->count + 1)) == 0)
		roster->addresses = fg_xrealloc(roster->addresses,
						(roster->count * 2 + 2) *
						sizeof(char *));
	roster->addresses[roster->count++] =
		fg_str_lower(fg_xstrndup(address, len));
}

static int fg_roster_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fg_roster_finish(struct fg_roster *roster)
{
	size_t n = 0;

	if (roster->count == 0)
		return;
	qsort(roster->addresses, roster->count, sizeof(char *),
	      fg_roster_cmp);
	for (size_t i = 0; i < roster->count; i++) {
		if (n > 0 && strcmp(roster->addresses[n - 1],
				    roster->addresses[i]) == 0)
			free(roster->addresses[i]);
		else
			roster->addresses[n++] = roster->addresses[i];
	}
	roster->count = n;
}

void fg_roster_free(struct fg_roster *roster)
{
	fg_strv_free(roster->addresses, roster->count);
	memset(roster, 0, sizeof(*roster));
}

/* ---- mlmmj ---- */

/* fg_roster_mlmmj_file - the addresses of one subscriber file. The
   directory belongs to the list's user while the sync may run as root:
   a symbolic link there is not followed (it could show another file's
   lines as members), and only regular files are read. */
static int fg_roster_mlmmj_file(struct fg_roster *roster, const char *path,
				const char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char line[FG_ROSTER_LINE_MAX + 2];
	struct stat st;
	FILE *fp;

	if (fd < 0 && errno == ELOOP) {
		*error_r = fg_errorf("%s is a symbolic link, not a subscriber "
				     "file", path);
		return -1;
	}
	if (fd < 0) {
		*error_r = fg_errorf("open(%s) failed: %s", path,
				     strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;	/* not a subscriber file */
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		*error_r = fg_errorf("fdopen(%s) failed: %s", path,
				     strerror(errno));
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			/* an over-long line: skip the rest of it */
			int c;
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			roster->ignored++;
			continue;
		}
		if (len <= 1)
			continue;	/* empty line */
		fg_roster_add(roster, line, len);
		if (roster->count > FG_ROSTER_MAX_MEMBERS) {
			fclose(fp);
			*error_r = fg_errorf("more than %d members",
					     FG_ROSTER_MAX_MEMBERS);
			return -1;
		}
	}
	if (ferror(fp)) {
		*error_r = fg_errorf("read(%s) failed: %s", path,
				     strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

/* fg_roster_mlmmj - every file of the list's subscriber directories;
   subscribers.d must exist (it is what makes an mlmmj list) */
static int fg_roster_mlmmj(const char *dir, struct fg_roster *roster,
			   const char **error_r)
{
	for (size_t i = 0; i < FG_N_ELEMENTS(fg_mlmmj_dirs); i++) {
		char *path = fg_xasprintf("%s/%s", dir, fg_mlmmj_dirs[i]);
		DIR *d = opendir(path);
		struct dirent *de;
		int ret = 0;

		if (d == NULL) {
			int err = errno;
			if (err == ENOENT && i > 0) {
				free(path);
				continue;
			}
			*error_r = err == ENOENT ?
				fg_errorf("%s is not an mlmmj list directory "
					  "(no subscribers.d)", dir) :
				fg_errorf("opendir(%s) failed: %s", path,
					  strerror(err));
			free(path);
			return -1;
		}
		errno = 0;
		while (ret == 0 && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char *file = fg_xasprintf("%s/%s", path, de->d_name);
			ret = fg_roster_mlmmj_file(roster, file, error_r);
			free(file);
			errno = 0;
		}
		if (ret == 0 && errno != 0) {
			*error_r = fg_errorf("readdir(%s) failed: %s", path,
					     strerror(errno));
			ret = -1;
		}
		closedir(d);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* ---- Mailman 3 ---- */

int fg_roster_mailman_page(struct fg_roster *roster, const char *json,
			   size_t len, long long *total_r, size_t *entries_r,
			   const char **error_r)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr), *entries, *total;
	size_t i;

	*total_r = 0;
	*entries_r = 0;
	if (root == NULL || !json_is_object(root)) {
		*error_r = fg_errorf("Mailman's answer is not a JSON object%s%s",
				     root == NULL ? ": " : "",
				     root == NULL ? jerr.text : "");
		json_decref(root);
		return -1;
	}
	total = json_object_get(root, "total_size");
	if (!json_is_integer(total) || json_integer_value(total) < 0) {
		*error_r = "Mailman's answer has no total_size";
		json_decref(root);
		return -1;
	}
	*total_r = json_integer_value(total);
	/* a page past the end has no entries at all */
	entries = json_object_get(root, "entries");
	if (entries != NULL && !json_is_array(entries)) {
		*error_r = "Mailman's answer: entries is not an array";
		json_decref(root);
		return -1;
	}
	for (i = 0; entries != NULL && i < json_array_size(entries); i++) {
		json_t *email = json_object_get(json_array_get(entries, i),
						"email");
		if (json_is_string(email))
			fg_roster_add(roster, json_string_value(email),
				      json_string_length(email));
		else
			roster->ignored++;
	}
	*entries_r = i;
	json_decref(root);
	return 0;
}

/* fg_roster_write - collect the answer body, up to the limit */
static size_t fg_roster_write(char *data, size_t size, size_t nmemb,
			      void *context)
{
	struct fg_buf *answer = context;
	size_t n = size * nmemb;

	if (answer->len + n > FG_ROSTER_ANSWER_MAX)
		return 0;	/* libcurl aborts with CURLE_WRITE_ERROR */
	fg_buf_append(answer, data, n);
	return n;
}

/* fg_roster_get - one GET of Mailman's REST API; the body of a 200 */
static int fg_roster_get(CURL *curl, const char *url, const char *shown,
			 struct fg_buf *answer, const char **error_r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	answer->len = 0;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		*error_r = fg_errorf("cannot read %s: %s", shown,
				     errbuf[0] != '\0' ? errbuf :
				     curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		return 0;
	if (status == 401 || status == 403)
		*error_r = fg_errorf("Mailman refused the REST credentials "
				     "(HTTP %ld from %s): check "
				     "mailman_rest_user and "
				     "mailman_rest_password", status, shown);
	else if (status == 404)
		*error_r = fg_errorf("Mailman has no such list (HTTP 404 from "
				     "%s)", shown);
	else
		*error_r = fg_errorf("Mailman answered HTTP %ld (%s)", status,
				     shown);
	return -1;
}

/* fg_roster_mailman - every page of the list's member roster */
static int fg_roster_mailman(const struct fg_config *config,
			     const char *list_id, struct fg_roster *roster,
			     const char **error_r)
{
	const char *base = config->mailman_rest_url;
	struct fg_buf answer = { 0 };
	size_t base_len, seen = 0;
	long long total = 0;
	char *shown;
	CURL *curl;
	int ret = 0;

	if (base == NULL || *base == '\0') {
		*error_r = "mailman_rest_url is not set";
		return -1;
	}
	if (config->mailman_rest_password == NULL) {
		*error_r = "mailman_rest_password (or "
			   "mailman_rest_password_file) is not set";
		return -1;
	}
	base_len = strlen(base);
	while (base_len > 0 && base[base_len - 1] == '/')
		base_len--;
	curl = curl_easy_init();
	if (curl == NULL) {
		*error_r = "curl_easy_init() failed";
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 (long)config->mailman_rest_timeout);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)config->mailman_rest_timeout);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(curl, CURLOPT_USERNAME,
			 config->mailman_rest_user != NULL ?
			 config->mailman_rest_user : "");
	curl_easy_setopt(curl, CURLOPT_PASSWORD,
			 config->mailman_rest_password);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fg_roster_write);
	for (long long page = 1; ret == 0; page++) {
		char *url = fg_xasprintf("%.*s/lists/%s/roster/member"
					 "?count=%d&page=%lld",
					 (int)base_len, base, list_id,
					 FG_ROSTER_PAGE_SIZE, page);
		size_t entries;

		shown = fg_url_redact(url);
		ret = fg_roster_get(curl, url, shown, &answer, error_r);
		if (ret == 0)
			ret = fg_roster_mailman_page(roster, answer.s,
						     answer.len, &total,
						     &entries, error_r);
		if (ret == 0 && total > FG_ROSTER_MAX_MEMBERS) {
			*error_r = fg_errorf("%s: more than %d members", shown,
					     FG_ROSTER_MAX_MEMBERS);
			ret = -1;
		}
		free(url);
		free(shown);
		seen += ret == 0 ? entries : 0;
		if (ret < 0 || entries == 0 || (long long)seen >= total)
			break;
		/* the roster grew while it was read: give up rather than
		   page on without end */
		if (page > total / FG_ROSTER_PAGE_SIZE + 2) {
			*error_r = "Mailman's roster kept changing while it "
				   "was read: try again";
			ret = -1;
		}
	}
	curl_easy_cleanup(curl);
	fg_buf_free(&answer);
	return ret;
}

int fg_roster_read(const struct fg_config *config,
		   const struct fg_roster_source *source,
		   struct fg_roster *roster_r, const char **error_r)
{
	int ret;

	memset(roster_r, 0, sizeof(*roster_r));
	if (source->kind == FG_ROSTER_MAILMAN3)
		ret = fg_roster_mailman(config, source->where, roster_r,
					error_r);
	else
		ret = fg_roster_mlmmj(source->where, roster_r, error_r);
	if (ret < 0) {
		fg_roster_free(roster_r);
		return -1;
	}
	fg_roster_finish(roster_r);
	return 0;
}
