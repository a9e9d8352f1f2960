/*
 * NAME
 *	fg-subscribers 3 - read subscriber lists to import
 * DESCRIPTION
 *	See fg-subscribers.h. "Name <addr>" is read with GMime's
 *	internet_address_list_parse(), so quoting, comments and encoded
 *	words in the name are handled as in mail headers.
 */
#include "fg-subscribers.h"
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gmime/gmime.h>

/* import_error - record a bad line */
static void import_error(struct fg_subscribers_import *imp,
			 const char *source, size_t line, const char *why)
{
	if (imp->n_errors < FG_SUBSCRIBERS_ERRORS_MAX) {
		imp->errors = fg_xrealloc(imp->errors, (imp->n_errors + 1) *
					  sizeof(*imp->errors));
		imp->errors[imp->n_errors] = fg_xasprintf("%s:%zu: %s", source,
							  line, why);
	}
	imp->n_errors++;
}

/* import_add - keep one canonical address */
static void import_add(struct fg_subscribers_import *imp, char *address)
{
	if (imp->n_addresses == imp->cap) {
		imp->cap = imp->cap == 0 ? 256 : imp->cap * 2;
		imp->addresses = fg_xrealloc(imp->addresses, imp->cap *
					     sizeof(*imp->addresses));
	}
	imp->addresses[imp->n_addresses++] = address;
}

/* line_address - the one address of a line, canonical (caller frees),
   or NULL with *why_r */
static char *line_address(const char *line, const char **why_r)
{
	InternetAddressList *list;
	InternetAddress *ia;
	const char *addr;
	char *canon;

	list = internet_address_list_parse(NULL, line);
	if (list == NULL || internet_address_list_length(list) != 1) {
		*why_r = list == NULL ? "no address" :
			"more than one address";
		if (list != NULL)
			g_object_unref(list);
		return NULL;
	}
	ia = internet_address_list_get_address(list, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		g_object_unref(list);
		*why_r = "a group, not an address";
		return NULL;
	}
	addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
	canon = addr == NULL ? NULL : fg_subscriber_address(addr);
	g_object_unref(list);
	if (canon == NULL)
		*why_r = "not a mail address (LOCAL@DOMAIN)";
	return canon;
}

void fg_subscribers_parse(const char *data, size_t size, const char *source,
			  struct fg_subscribers_import *imp)
{
	size_t pos = 0, lineno = 0;

	fg_mail_init();
	while (pos < size) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) :
			size - pos;
		const char *line = data + pos, *why;
		char *text, *start, *end, *canon;

		pos += len + (nl != NULL ? 1 : 0);
		lineno++;
		imp->n_lines++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > FG_SUBSCRIBERS_LINE_MAX) {
			import_error(imp, source, lineno, "line too long");
			continue;
		}
		if (memchr(line, '\0', len) != NULL) {
			import_error(imp, source, lineno, "NUL byte");
			continue;
		}
		text = fg_xstrndup(line, len);
		start = text + strspn(text, " \t");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*start == '\0' || *start == '#') {
			free(text);
			continue;
		}
		canon = line_address(start, &why);
		free(text);
		if (canon == NULL)
			import_error(imp, source, lineno, why);
		else
			import_add(imp, canon);
	}
	fg_mail_deinit();
}

/* read_file - parse one file */
static int read_file(const char *path, struct fg_subscribers_import *imp,
		     const char **error_r)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *data;
	size_t n;

	if (fp == NULL) {
		*error_r = fg_errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) < 0 || st.st_size > FG_SUBSCRIBERS_FILE_MAX) {
		fclose(fp);
		*error_r = fg_errorf("%s: larger than %d bytes", path,
				     FG_SUBSCRIBERS_FILE_MAX);
		return -1;
	}
	data = fg_xmalloc((size_t)st.st_size + 1);
	n = fread(data, 1, (size_t)st.st_size + 1, fp);
	if (ferror(fp) || n > (size_t)st.st_size) {
		fclose(fp);
		free(data);
		*error_r = fg_errorf("%s: read failed or the file grew", path);
		return -1;
	}
	fclose(fp);
	fg_subscribers_parse(data, n, path, imp);
	free(data);
	return 0;
}

/* name_cmp - qsort order of file names */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fg_subscribers_read(const char *path, struct fg_subscribers_import *imp,
			const char **error_r)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	DIR *dir;
	int ret = 0;

	if (stat(path, &st) < 0) {
		*error_r = fg_errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return read_file(path, imp, error_r);
	if ((dir = opendir(path)) == NULL) {
		*error_r = fg_errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = fg_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = fg_xasprintf("%s/%s", path, de->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			ret = read_file(names[i], imp, error_r);
	}
	fg_strv_free(names, n);
	return ret;
}

void fg_subscribers_finish(struct fg_subscribers_import *imp)
{
	size_t out = 0;

	if (imp->n_addresses == 0)
		return;
	qsort(imp->addresses, imp->n_addresses, sizeof(*imp->addresses),
	      name_cmp);
	for (size_t i = 0; i < imp->n_addresses; i++) {
		if (out > 0 && strcmp(imp->addresses[out - 1],
				      imp->addresses[i]) == 0)
			free(imp->addresses[i]);
		else
			imp->addresses[out++] = imp->addresses[i];
	}
	imp->n_addresses = out;
}

void fg_subscribers_import_free(struct fg_subscribers_import *imp)
{
	for (size_t i = 0; i < imp->n_addresses; i++)
		free(imp->addresses[i]);
	free(imp->addresses);
	for (size_t i = 0; i < imp->n_errors &&
	     i < FG_SUBSCRIBERS_ERRORS_MAX; i++)
		free(imp->errors[i]);
	free(imp->errors);
	memset(imp, 0, sizeof(*imp));
}
