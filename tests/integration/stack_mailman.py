"""GNU Mailman 3 as an optional list manager of the test stack.

Stack(mailman=True) runs Debian's mailman3 (3.3.8) beside mlmmj, in
DIR/mailman with a private mailman.cfg: var_dir there, SQLite, the REST
API on a free 127.0.0.1 port with a random admin password, the LMTP
runner on a free 127.0.0.1 port, outgoing mail to the private Postfix,
Postfix maps made with `postmap -c DIR/postfix`, the public suffix list
read from Debian's publicsuffix package.  The list mm@lists.test
(List-Id mm.lists.test) is made with `mailman create`; the private
Postfix routes its addresses (mm, mm-request, mm-bounces+VERP, ...) to
Mailman's LMTP runner.  Members: alice, bob, carol and the bridge
recipient bridge-mm@lists.test (Dovecot user with forumgate_list=mm),
plus the bridge's own address bridge@lists.test with delivery disabled
(it sends the forum's posts: a member, so they are not held).

The master runs in the foreground under the stack's process control
(its own process group, known to the watchdog); readiness is the REST
API answering and the LMTP runner's banner.  Stopping runs `mailman
stop`, waits for the master, then kills what is left of its process
group.  This module is a mixin of Stack; README.md has the API.
"""

import base64
import json
import os
import pwd
import secrets
import signal
import subprocess
import urllib.error
import urllib.request

MAILMAN = "/usr/bin/mailman"
MAILMAN_MASTER = "/usr/lib/mailman3/bin/master"
MAILMAN_USER = "list"
PUBLIC_SUFFIX_LIST = "/usr/share/publicsuffix/public_suffix_list.dat"

MM_LIST_NAME = "mm"
MM_LIST_DOMAIN = "lists.test"
MM_LIST_ADDRESS = "mm@lists.test"
MM_LIST_ID = "mm.lists.test"
MM_LIST_CATEGORY = "6"
MM_BRIDGE_ADDRESS = "bridge-mm@lists.test"
MM_SUBSCRIBERS = (
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
    MM_BRIDGE_ADDRESS,
)
# the addresses Mailman 3 answers for a list (mailman/mta/postfix.py)
MM_SUFFIXES = ("", "-bounces", "-confirm", "-join", "-leave", "-owner",
               "-request", "-subscribe", "-unsubscribe")
# Starting Mailman takes 10-25 s on a busy 2-core machine (each runner
# is a Python process importing all of Mailman).
MAILMAN_START_TIMEOUT = 180.0


class MailmanError(Exception):
    """A Mailman command or REST call failed (`status`: HTTP status)."""

    def __init__(self, text, status=None):
        super().__init__(text)
        self.status = status


class MailmanMixin:
    """Mailman 3 parts of Stack (see the module docstring)."""

    def _mailman_init(self, enabled):
        self.mailman_enabled = bool(enabled)
        self.mm_list_name = MM_LIST_NAME
        self.mm_list_address = MM_LIST_ADDRESS
        self.mm_list_domain = MM_LIST_DOMAIN
        self.mm_list_id = MM_LIST_ID
        self.mm_list_category = MM_LIST_CATEGORY
        self.mm_bridge_address = MM_BRIDGE_ADDRESS
        self.mm_subscribers = list(MM_SUBSCRIBERS)
        self.mailman_rest_user = "restadmin"
        self.mailman_rest_password = secrets.token_hex(16)
        self.mailman_rest_port = None
        self.mailman_lmtp_port = None
        self.mailman_rest_url = None

    def _mailman_paths(self, free_port):
        if not self.mailman_enabled:
            return
        self.mailman_rest_port = free_port()
        self.mailman_lmtp_port = free_port()
        self.mailman_rest_url = "http://127.0.0.1:%d" % self.mailman_rest_port
        self.mailman_dir = self.path("mailman")
        self.mailman_cfg = self.path("mailman", "mailman.cfg")
        self.mailman_rest_password_file = self.path("mailman-rest.password")

    # -- what the rest of the stack adds for Mailman -------------------------

    def _mailman_transport_entries(self):
        """transport_maps entries: every list address to the LMTP runner."""
        if not self.mailman_enabled:
            return []
        local, _, domain = MM_LIST_ADDRESS.partition("@")
        return ["%s%s@%s=lmtp:[127.0.0.1]:%d"
                % (local, s, domain, self.mailman_lmtp_port)
                for s in MM_SUFFIXES]

    def _mailman_dovecot_users(self):
        """(address, forumgate list) of the Dovecot users Mailman needs."""
        return [(MM_BRIDGE_ADDRESS, MM_LIST_NAME)] \
            if self.mailman_enabled else []

    def _mailman_forumgate_conf(self):
        """forumgate.conf settings for reading Mailman's roster."""
        if not self.mailman_enabled:
            return []
        with open(self.mailman_rest_password_file, "w") as f:
            f.write(self.mailman_rest_password + "\n")
        # every program reads the *_file settings with the configuration,
        # the plugin too (as the mail user inside Dovecot's lmtp)
        os.chmod(self.mailman_rest_password_file, 0o640)
        os.chown(self.mailman_rest_password_file, 0, self.mail_gid)
        return [("mailman_rest_url", self.mailman_rest_url + "/3.1"),
                ("mailman_rest_user", self.mailman_rest_user),
                ("mailman_rest_password_file",
                 self.mailman_rest_password_file)]

    def _mailman_admin_setup(self):
        """forumgate's list for the Mailman list, its members and roster."""
        self.admin("list", "add", MM_LIST_NAME, "--address", MM_LIST_ADDRESS,
                   "--bridge-recipient", MM_BRIDGE_ADDRESS,
                   "--category", MM_LIST_CATEGORY, check=True)
        for addr in MM_SUBSCRIBERS + (self.bridge_address,):
            self.admin("member", "add", MM_LIST_NAME, addr, check=True)

    # -- setup ---------------------------------------------------------------

    def _mailman_write_config(self):
        d = self.mailman_dir
        var = os.path.join(d, "var")
        os.makedirs(var, exist_ok=True)
        with open(os.path.join(d, "postfix-mailman.cfg"), "w") as f:
            # the private Postfix has no /etc/postfix/main.cf to lean on
            f.write("[postfix]\npostmap_command: /usr/sbin/postmap -c %s\n"
                    "transport_file_type: hash\n" % self.postfix_dir)
        cfg = """\
# private Mailman 3 of the forumgate integration test stack
[mailman]
layout: fgstack
site_owner: owner@example.test
html_to_plain_text_command: /usr/bin/lynx -dump $filename

[paths.fgstack]
var_dir: {var}
bin_dir: /usr/lib/mailman3/bin
pid_file: {var}/master.pid

[database]
class: mailman.database.sqlite.SQLiteDatabase
# Mailman's runners share one SQLite file; SQLite's default busy wait
# (5 s) is too short on a loaded machine ("database is locked", the
# message shunted), so each connection waits up to a minute.
url: sqlite:///{var}/data/mailman.db?timeout=60

[webservice]
hostname: 127.0.0.1
port: {rest}
admin_user: {user}
admin_pass: {password}

[mta]
incoming: mailman.mta.postfix.LMTP
outgoing: mailman.mta.deliver.deliver
smtp_host: 127.0.0.1
smtp_port: {smtp}
lmtp_host: 127.0.0.1
lmtp_port: {lmtp}
configuration: {d}/postfix-mailman.cfg

[dmarc]
org_domain_data_url: file://{psl}

[archiver.prototype]
enable: no
""".format(var=var, d=d, rest=self.mailman_rest_port,
           user=self.mailman_rest_user, password=self.mailman_rest_password,
           smtp=getattr(self, "reinject_port", self.smtp_port),
           lmtp=self.mailman_lmtp_port, psl=PUBLIC_SUFFIX_LIST)
        with open(self.mailman_cfg, "w") as f:
            f.write(cfg)
        os.chmod(self.mailman_cfg, 0o600)
        self._chown_user_tree(d, MAILMAN_USER)

    def _chown_user_tree(self, top, user):
        pw = pwd.getpwnam(user)
        for root, dirs, files in os.walk(top):
            os.lchown(root, pw.pw_uid, pw.pw_gid)
            for n in files:
                os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)

    def _mailman_setup(self):
        """Config, the list and its members (before the master runs, so
        nobody gets a welcome).  Runs in a thread."""
        if not (os.access(MAILMAN, os.X_OK) and os.path.exists(MAILMAN_MASTER)
                and os.path.exists(PUBLIC_SUFFIX_LIST)):
            from stack import StackError
            raise StackError("Mailman 3 is not installed (Debian packages "
                             "mailman3, lynx, publicsuffix: "
                             "scripts/install-deps)")
        self._mailman_write_config()
        self.mailman("create", "-N", "-o", "owner@example.test",
                     MM_LIST_ADDRESS, check=True)
        self.mailman("addmembers", "-W", "-", MM_LIST_ADDRESS, check=True,
                     input="\n".join(MM_SUBSCRIBERS) + "\n")
        # the bridge's sending address: a member without deliveries
        self.mailman("addmembers", "-W", "-d", "disabled", "-", MM_LIST_ADDRESS,
                     check=True, input=self.bridge_address + "\n")
        self._mark("mailman list")

    def _mailman_start(self):
        """Start the master and wait until the REST API answers and the
        LMTP runner greets.  From the main thread: the parent-death
        signal of a child goes with the thread that started it."""
        pw = pwd.getpwnam(MAILMAN_USER)
        self._spawn("mailman", [MAILMAN_MASTER, "-C", self.mailman_cfg],
                    "mailman-master.log", user=(pw.pw_uid, pw.pw_gid))

        def rest_ok():
            self._check_alive("mailman")
            try:
                self.mailman_rest("GET", "/3.1/system/versions")
                return True
            except (MailmanError, OSError):
                return None
        try:
            self.wait_for(rest_ok, MAILMAN_START_TIMEOUT,
                          "Mailman's REST API on %s" % self.mailman_rest_url,
                          interval=0.2)
        except TimeoutError as e:
            from stack import StackError
            raise StackError("%s; see %s" % (
                e, self.log_path("mailman"))) from e
        saved = self.start_timeout
        self.start_timeout = MAILMAN_START_TIMEOUT
        try:
            self._wait_banner("mailman", ("tcp", self.mailman_lmtp_port),
                              b"220")
        finally:
            self.start_timeout = saved
        self.started.add("mailman")
        self._mark("mailman ready")

    def _mailman_stop(self):
        """`mailman stop`, wait for the master, kill what is left of its
        process group (runners) by the pids seen in /proc."""
        proc = self._procs.get("mailman")
        if proc is None:
            return
        pgid = proc.popen.pid
        if proc.popen.poll() is None:
            r = self.mailman("stop", timeout=30)
            if r.returncode != 0:
                try:
                    proc.popen.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        # the master passes SIGTERM on to its runners and waits for them
        self._stop_procs(("mailman",), timeout=30.0)
        left = _group_members(pgid)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            self.wait_for(lambda: not _group_members(pgid), 10,
                          "Mailman's runners to exit")
        self.started.discard("mailman")

    # -- API -------------------------------------------------------------------

    def mailman(self, *args, input=None, check=False, timeout=120):
        """Run `mailman -C DIR/mailman/mailman.cfg ARGS` as user list
        (cwd /); a CompletedProcess (text).  check=True raises
        MailmanError on a non-zero exit."""
        if not self.mailman_enabled:
            from stack import SkipTest
            raise SkipTest("Mailman not in this stack (STACK_OPTIONS "
                           "{'mailman': True})")
        pw = pwd.getpwnam(MAILMAN_USER)
        env = dict(os.environ, HOME=self.mailman_dir,
                   PYTHONPATH=self.mailman_dir)
        r = subprocess.run([MAILMAN, "-C", self.mailman_cfg] + list(args),
                           input=input, capture_output=True, text=True,
                           timeout=timeout, cwd="/", env=env,
                           user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        with open(self.path("mailman-commands.log"), "a") as log:
            log.write("$ mailman %s\n%s%s[exit %d]\n"
                      % (" ".join(args), r.stdout, r.stderr, r.returncode))
        if check and r.returncode != 0:
            raise MailmanError("mailman %s failed (exit %d): %s"
                               % (" ".join(args), r.returncode,
                                  (r.stderr or r.stdout).strip()))
        return r

    def mailman_rest(self, method, path, body=None, timeout=30):
        """Call Mailman's REST API (path like "/3.1/lists"); the decoded
        JSON answer (None when empty).  An HTTP error raises MailmanError
        with .status."""
        if not self.mailman_enabled:
            from stack import SkipTest
            raise SkipTest("Mailman not in this stack")
        auth = "%s:%s" % (self.mailman_rest_user, self.mailman_rest_password)
        return http_json(
            method, self.mailman_rest_url + path, body, timeout,
            {"Authorization": "Basic " + base64.b64encode(auth.encode())
             .decode()},
            lambda code, text: MailmanError("Mailman REST %s %s: HTTP %d %s"
                                            % (method, path, code, text),
                                            status=code))

    def mailman_member(self, address, list_id=MM_LIST_ID):
        """The REST member entry of `address` in the list, or None."""
        ans = self.mailman_rest("GET", "/3.1/lists/%s/roster/member?count=500"
                                "&page=1" % list_id)
        for e in (ans or {}).get("entries", []):
            if e.get("email", "").lower() == address.lower():
                return e
        return None

    def mailman_subscribe(self, address, welcome=False, list_id=MM_LIST_ID):
        """Subscribe `address` by REST, pre-confirmed and pre-approved;
        Mailman sends its welcome message when `welcome`."""
        return self.mailman_rest("POST", "/3.1/members", {
            "list_id": list_id, "subscriber": address,
            "pre_verified": True, "pre_confirmed": True,
            "pre_approved": True, "send_welcome_message": welcome})

    def mailman_unsubscribe(self, address, list_id=MM_LIST_ID):
        """Remove `address` from the list by REST (no goodbye message)."""
        m = self.mailman_member(address, list_id)
        if m is None:
            return False
        self.mailman_rest("DELETE", "/3.1/members/%s" % m["member_id"])
        return True

    def mailman_held(self, list_id=MM_LIST_ID):
        """The list's held messages (REST entries)."""
        ans = self.mailman_rest("GET", "/3.1/lists/%s/held" % list_id)
        return (ans or {}).get("entries", [])

    def mailman_probe(self, address, list_id=MM_LIST_ID):
        """Make Mailman send its bounce probe (app/bounces.py send_probe)
        to the member `address`."""
        script = os.path.join(self.mailman_dir, "fgstack_probe.py")
        if not os.path.exists(script):
            with open(script, "w") as f:
                f.write(_PROBE_SCRIPT)
            os.chmod(script, 0o644)
        return self.mailman("shell", "-l", list_id, "-r",
                            "fgstack_probe.probe", address, check=True)


# run inside `mailman shell -l LIST -r fgstack_probe.probe ADDRESS`
_PROBE_SCRIPT = '''\
from mailman.app.bounces import send_probe
from mailman.config import config
from mailman.email.message import Message


def probe(mlist, address):
    member = mlist.members.get_member(address)
    if member is None:
        raise SystemExit("not a member: " + address)
    msg = Message()
    msg["Message-ID"] = "<fgstack-probe-%d@lists.test>" % id(member)
    msg["Subject"] = "a message that bounced"
    token = send_probe(member, msg)
    config.db.commit()
    print(token)
'''


def http_json(method, url, body=None, timeout=10, headers=None,
              error=None):
    """`method` `url` with `body` as JSON; the decoded JSON answer (None
    when empty).  An HTTP error raises error(code, text)."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise error(e.code, e.read().decode(errors="replace")) from e
    return json.loads(raw) if raw.strip() else None


def _group_members(pgid):
    """Pids of live processes in process group `pgid` (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(name))
    return out
