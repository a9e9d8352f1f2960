/*
 * NAME
 *	forumgate-settings - the plugin's settings in Dovecot 2.4
 * DESCRIPTION
 *	One declaration of the plugin's Dovecot settings, compiled into
 *	the plugin (lib95_forumgate_plugin.so, which reads them) and into
 *	the settings module libforumgate_settings.so. Dovecot's config
 *	process loads every module of MODULEDIR/settings and takes the
 *	setting_parser_info array named after the module
 *	(forumgate_settings_set_infos); without it "forumgate_config" in
 *	dovecot.conf is an unknown setting. Plugin and module must come
 *	from the same build: Dovecot checks that the names match.
 * SEE ALSO
 *	doc/dovecot-plugin.md
 */
#include "lib.h"
#include "settings-parser.h"

#include "fg-config.h"
#include "forumgate-settings.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct forumgate_settings)
static const struct setting_define forumgate_setting_defines[] = {
	DEF(STR, forumgate_config),
	DEF(STR, forumgate_list),
	SETTING_DEFINE_LIST_END
};

static const struct forumgate_settings forumgate_default_settings = {
	.forumgate_config = FG_DEFAULT_CONFIG_PATH,
	.forumgate_list = "",
};

const struct setting_parser_info forumgate_setting_parser_info = {
	.name = "forumgate",
	.plugin_dependency = "lib95_forumgate_plugin",
	.defines = forumgate_setting_defines,
	.defaults = &forumgate_default_settings,
	.struct_size = sizeof(struct forumgate_settings),
	.pool_offset1 = 1 + offsetof(struct forumgate_settings, pool),
};

#ifdef FORUMGATE_SETTINGS_MODULE
/* What Dovecot's config process looks up in libforumgate_settings.so. */
const char *forumgate_settings_version = DOVECOT_ABI_VERSION;
extern const struct setting_parser_info *forumgate_settings_set_infos[];
const struct setting_parser_info *forumgate_settings_set_infos[] = {
	&forumgate_setting_parser_info,
	NULL
};
#endif
