#ifndef FG_SECRET_H
#define FG_SECRET_H
/*
 * NAME
 *	fg-secret 3 - secrets kept out of logs, and read from their own files
 * DESCRIPTION
 *	fg_url_redact() is what every program prints instead of a setting
 *	that may hold a URL with credentials (forum_url, smtp_relay,
 *	redis): the same text with the userinfo ("user:password@") of each
 *	URL in it removed.
 *
 *	fg_secret_file_read() reads the value of a "*_file" setting
 *	(secret_file, forum_api_key_file, ...): the whole file, one line,
 *	the trailing line break removed.
 */

/* fg_url_redact - text with the userinfo of every URL in it removed */
char *fg_url_redact(const char *text);

/* fg_secret_file_read - the one-line secret in a file; -1 when it
   cannot be read, is empty, or has more than one line */
int fg_secret_file_read(const char *path, char **secret_r,
			const char **error_r);

/* fg_secret_free - zero a string, free it and set the pointer NULL */
void fg_secret_free(char **secret);

#endif
