"""The test stack's private Dovecot: its configuration, for Dovecot 2.3
and 2.4 alike.

Dovecot 2.4 changed the configuration syntax (dovecot_config_version
first, mail_driver/mail_path, %{user|domain} variables, named passdb and
userdb filters, mail_plugins as a list) and has plugins declare their
settings: its config process learns forumgate_config and forumgate_list
from libforumgate_settings.so in Dovecot's own module directory
(MODULEDIR/settings, compiled into Dovecot). On 2.4 the stack therefore
installs that module there, the one place Dovecot reads it from, as
`make install` does; it declares two setting names and nothing else."""

import filecmp
import os
import re
import shutil
import subprocess

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_MODULEDIR = "/usr/lib/dovecot/modules"
SETTINGS_MODULE = "libforumgate_settings.so"

_version = None


def dovecot_version():
    """(major, minor) of the installed Dovecot, from `dovecot --version`."""
    global _version
    if _version is None:
        out = subprocess.run([DOVECOT, "--version"], capture_output=True,
                             text=True, timeout=20).stdout
        m = re.match(r"(\d+)\.(\d+)", out.strip())
        if not m:
            raise RuntimeError("cannot read the Dovecot version from %r"
                               % out)
        _version = (int(m.group(1)), int(m.group(2)))
    return _version


def settings_module_for(plugin_so):
    """The settings module built beside the plugin (Dovecot 2.4), or
    None."""
    if not plugin_so:
        return None
    cand = os.path.join(os.path.dirname(plugin_so), SETTINGS_MODULE)
    return cand if os.path.isfile(cand) else None


def install_settings_module(so):
    """Put the settings module where Dovecot 2.4's config process loads
    it from (unless the same file is there already)."""
    dest_dir = os.path.join(DOVECOT_MODULEDIR, "settings")
    dest = os.path.join(dest_dir, SETTINGS_MODULE)
    if os.path.isfile(dest) and filecmp.cmp(so, dest, shallow=False):
        return dest
    os.makedirs(dest_dir, exist_ok=True)
    tmp = dest + ".new"
    shutil.copy2(so, tmp)
    os.rename(tmp, dest)
    return dest


class DovecotMixin:
    """Writes the Stack's dovecot.conf (the Stack provides dir, path(),
    enabled, binaries, debug, mail_uid/mail_gid, dovecot_conf,
    lmtp_socket and _mailman_dovecot_users())."""

    def _dovecot_users(self, users, bridge_address, list_name):
        d = self.dir
        lines = []
        # a test module adds (address, list) pairs with
        # STACK_OPTIONS["dovecot_list_users"] (e.g. a list-mode list's
        # posting address, which the plugin receives itself)
        extra = [tuple(p) for p in getattr(self, "dovecot_list_users", ())]
        for u, lst in [(u, list_name if u == bridge_address else None)
                       for u in users] + self._mailman_dovecot_users() + \
                extra:
            extra = "userdb_forumgate_list=%s" % lst if lst else ""
            lines.append("%s:{PLAIN}%s::::::%s" % (u, self.user_password,
                                                    extra))
        path = os.path.join(d, "dovecot", "users")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o644)

    def _write_dovecot_config(self, users, bridge_address, list_name):
        self._dovecot_users(users, bridge_address, list_name)
        so = self.binaries.get("plugin") if "plugin" in self.enabled \
            else None
        if so:
            shutil.copy2(so, self.path("modules", os.path.basename(so)))
        if dovecot_version() >= (2, 4):
            conf = self._dovecot24_conf(so)
        else:
            conf = self._dovecot23_conf(so)
        with open(self.dovecot_conf, "w") as f:
            f.write(conf)

    def _dovecot_common(self):
        """Settings spelt the same in 2.3 and 2.4."""
        return """\
base_dir = {d}/dovecot/run
state_dir = {d}/dovecot/state
instance_name = {inst}
protocols = lmtp
ssl = no
hostname = mail.lists.test
postmaster_address = postmaster@lists.test
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
debug_log_path = {d}/dovecot.log
mail_debug = {debug}
auth_debug = {debug}
auth_verbose = {debug}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_uid = {uid}
mail_gid = {gid}
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
service lmtp {{
  # lmtp processes kept ready, as a busy server would (the plugin's
  # libraries load once per process, not per delivery)
  process_min_avail = 2
  unix_listener {d}/lmtp {{
    mode = 0666
  }}
}}
""".format(d=self.dir, inst="fg-" + os.path.basename(self.dir),
           uid=self.mail_uid, gid=self.mail_gid,
           debug="yes" if self.debug else "no")

    def _dovecot23_conf(self, plugin_so):
        d = self.dir
        plugin = ""
        if plugin_so:
            plugin = """
mail_plugin_dir = {d}/modules
protocol lmtp {{
  mail_plugins = $mail_plugins forumgate
}}
protocol lda {{
  mail_plugins = $mail_plugins forumgate
}}
""".format(d=d)
        return ("# private Dovecot 2.3 instance of the forumgate "
                "integration test stack\n" + self._dovecot_common() + """\
mail_location = maildir:{d}/mail/%d/%n
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/dovecot/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/dovecot/users
  default_fields = uid={uid} gid={gid} home={d}/mail/%d/%n
}}
{plugin}
plugin {{
  forumgate_config = {d}/forumgate.conf
}}
""".format(d=d, uid=self.mail_uid, gid=self.mail_gid, plugin=plugin))

    def _dovecot24_conf(self, plugin_so):
        d = self.dir
        # the settings module of the same build: without it Dovecot
        # rejects forumgate_config and the userdb's forumgate_list
        settings_so = settings_module_for(self.binaries.get("plugin"))
        if settings_so:
            install_settings_module(settings_so)
        plugin = ""
        if plugin_so:
            plugin = """
mail_plugin_dir = {d}/modules
protocol lmtp {{
  mail_plugins {{
    forumgate = yes
  }}
}}
protocol lda {{
  mail_plugins {{
    forumgate = yes
  }}
}}
""".format(d=d)
        forumgate = ("forumgate_config = %s/forumgate.conf\n" % d
                     if settings_so else "")
        home = "%s/mail/%%{user|domain}/%%{user|username}" % d
        return ("dovecot_config_version = 2.4.1\n"
                "dovecot_storage_version = 2.4.1\n"
                "# private Dovecot 2.4 instance of the forumgate "
                "integration test stack\n" + self._dovecot_common() + """\
mail_driver = maildir
mail_path = {home}
mail_home = {home}
auth_allow_cleartext = yes
passdb passwd-file {{
  passwd_file_path = {d}/dovecot/users
  auth_username_format = %{{user}}
}}
userdb passwd-file {{
  passwd_file_path = {d}/dovecot/users
  auth_username_format = %{{user}}
}}
{plugin}
{forumgate}""".format(d=d, home=home, plugin=plugin, forumgate=forumgate))
