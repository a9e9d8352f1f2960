#ifndef FORUMGATE_SETTINGS_H
#define FORUMGATE_SETTINGS_H
/*
 * NAME
 *	forumgate-settings 3 - the plugin's settings in Dovecot 2.4
 * DESCRIPTION
 *	Dovecot 2.4 has plugins declare their settings: forumgate_config
 *	and forumgate_list are declared here, read by the plugin with
 *	settings_get() (userdb fields of the same name override them per
 *	user), and made known to Dovecot's config process by
 *	libforumgate_settings.so in MODULEDIR/settings, built from the same
 *	declaration. Dovecot 2.3 reads them from plugin {} instead.
 */
#include "settings-parser.h"

struct forumgate_settings {
	pool_t pool;
	const char *forumgate_config;	/* path of forumgate.conf */
	const char *forumgate_list;	/* "": not a bridge recipient */
};

extern const struct setting_parser_info forumgate_setting_parser_info;

#endif
