"""Private test stack for forumgate integration tests.

Starts real Redis, Postfix, Dovecot (LMTP) and mlmmj processes in a private
temporary directory, plus the forumgate daemons and the forum simulator when
they are built.  Everything listens on 127.0.0.1 or on unix sockets inside
the directory, and everything is stopped again on exit, on errors, on
SIGINT/SIGTERM/SIGHUP and (through a watchdog process) when the test process
is killed.  README.md in this directory describes the layout and the API.

    with Stack(full=True) as stack:
        msg = stack.make_message("alice@example.test", stack.list_address,
                                 "Hello", "Hello list.\n")
        stack.send_mail("alice@example.test", stack.list_address, msg)
        stack.wait_mail("bob@example.test",
                        lambda m: m["Message-ID"] == msg["Message-ID"])

Needs root (Postfix and Dovecot drop privileges themselves) and only the
Python standard library.
"""

import atexit
import ctypes
import email
import email.policy
import email.utils
import json
import os
import pwd
import grp
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from email.message import EmailMessage

from stack_mailman import MailmanMixin, MailmanError, http_json
from stack_redis import RedisMixin, RedisSetupError
from stack_dovecot import DovecotMixin

__all__ = [
    "Stack", "StackError", "DaemonExited", "RedisError", "SkipTest",
    "SmtpError", "MailmanError", "requires",
    "wait_for", "make_message", "install_signal_handlers", "REPO_ROOT",
]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
DOVECOT = "/usr/sbin/dovecot"
OPENDKIM = "/usr/sbin/opendkim"
# Debian's python3 has python3-dkim (dkimpy), which signs test mail.
SYSTEM_PYTHON = "/usr/bin/python3"
MLMMJ_BIN = "/usr/bin"
# the forum simulator needs Debian's python3-jsonschema
PYTHON = os.environ.get("FORUMGATE_PYTHON", "/usr/bin/python3")

# The unprivileged user that owns the mail store and runs mlmmj.  Debian's
# "mail" user (uid 8) exists everywhere; Dovecot refuses uids below
# first_valid_uid, so the Dovecot config lowers it to this uid.
MAIL_USER = "mail"

LIST_NAME = "forum"
LIST_DOMAIN = "lists.test"
LIST_ADDRESS = "forum@lists.test"
LIST_OWNER = "owner@example.test"
LIST_PREFIX = "[forum]"
LIST_ID = "forum.lists.test"
LIST_CATEGORY = "5"
BRIDGE_ADDRESS = "bridge@lists.test"
# The envelope sender of mlmmj's copies to the bridge (LIST+bounces-N-USER=
# DOMAIN@): what send_list_copy() gives a copy it delivers itself.
LIST_RETURN_PATH = "forum+bounces-0-bridge=lists.test@lists.test"
USERS = (
    "bridge@lists.test",
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
    "dave@example.test",        # not a list member
)
SUBSCRIBERS = (
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
    "bridge@lists.test",
)
USER_PASSWORD = "secret"
# forumgate-policyd runs as this user (it reaches Redis by its socket,
# mode 777, and logs to the stdout it was started with)
POLICYD_USER = "nobody"
# Mail to this address goes to the LMTP socket DIR/later-lmtp, which does not
# exist until a test creates it: the stack's ready-made defer path.
LATER_ADDRESS = "carol+later@example.test"

COMPONENTS = ("forumsim", "policyd", "bridge", "admin", "plugin")

# The authserv-id of the Authentication-Results header the stack's MTA
# adds (forumgate.conf trusted_authserv_ids). The public smtpd removes
# every Authentication-Results header that arrives from outside (RFC 8601
# section 5); a stand-in for a verifier milter adds the trusted one
# (see _write_postfix_config and make_message(authenticated=...)).
AUTHSERV_ID = "mx.lists.test"
# The header a test writes to tell the stand-in verifier what it found.
VERIFIER_HEADER = "X-Stack-Verified"
# OpenDKIM verifies DKIM signatures at the public smtpd for real, with the
# public keys from a file (TestPublicKeys) instead of DNS: the stack's key
# signs for these domains with this selector (stack.dkim_sign()); evil.test
# is a forger's own domain.
DKIM_DOMAINS = ("example.test", "evil.test")
DKIM_SELECTOR = "stack"

LOG_NAMES = {
    "redis": "redis.log",
    "redis-stdout": "redis-stdout.log",
    "postfix": "postfix.log",
    "postfix-stdout": "postfix-stdout.log",
    "dovecot": "dovecot.log",
    "dovecot-stdout": "dovecot-stdout.log",
    "mlmmj": "mlmmj/forum/mlmmj.operation.log",
    "forumsim": "forumsim.log",
    "forumsim-out": "forumsim.out",
    "policyd": "policyd.log",
    "forumgated": "forumgated.log",
    "admin": "admin.log",
    "mailman": "mailman/var/logs/mailman.log",
    "mailman-master": "mailman-master.log",
    "opendkim": "opendkim.log",
}


class StackError(Exception):
    """The stack could not be started, or a stack operation failed."""


class DaemonExited(StackError):
    """A daemon of the stack exited while the stack waited for it."""


class RedisError(StackError):
    """Redis answered with an error reply."""


class SkipTest(Exception):
    """Raised by a test (or stack.require) to skip it."""


class SmtpError(Exception):
    """An SMTP command got a negative answer."""

    def __init__(self, stage, code, text, rcpt=None):
        self.stage, self.code, self.text, self.rcpt = stage, code, text, rcpt
        where = stage if rcpt is None else "%s <%s>" % (stage, rcpt)
        super().__init__("SMTP %s answered %d %s" % (where, code, text))


def requires(*components):
    """Decorator: skip the test unless these components are running."""
    for c in components:
        if c not in COMPONENTS:
            raise ValueError("unknown component %r (known: %s)"
                             % (c, ", ".join(COMPONENTS)))

    def deco(fn):
        fn.fg_requires = tuple(components)
        return fn
    return deco


def wait_for(fn, timeout=10.0, what="condition", interval=0.05):
    """Call fn() until it returns a true value; return that value.

    Raises TimeoutError naming `what` (and the last exception fn raised,
    if any) when `timeout` seconds pass.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    delay = min(interval, 0.02)
    while True:
        try:
            value = fn()
            if value:
                return value
            last_exc = None
        except (SkipTest, DaemonExited):
            raise
        except Exception as e:          # keep polling; report it on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %s: %s)" % (type(last_exc).__name__,
                                                  last_exc)
            raise TimeoutError(msg)
        time.sleep(delay)
        delay = min(delay * 2, interval)


def make_message(from_addr, to, subject, body="Hello.\n", message_id=None,
                 in_reply_to=None, references=None, cc=None, date=None,
                 headers=None, html=None, return_path=None,
                 authenticated=False):
    """Build an RFC 5322 message (email.message.EmailMessage).

    `to`/`cc` may be strings or lists; `references` a string or a list of
    Message-IDs; `message_id` defaults to a fresh <uuid@domain-of-from>;
    `headers` is a dict or list of (name, value) added at the end; `html`
    adds a text/html alternative.  The generated Message-ID is in
    msg["Message-ID"].  `authenticated=True` has the stack's stand-in
    verifier find a DMARC pass for the From domain (a domain string: for
    that domain instead); the public smtpd then adds
    "Authentication-Results: mx.lists.test; dmarc=pass header.from=D".
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    if return_path:
        msg["Return-Path"] = "<%s>" % return_path.strip("<>")
    msg["From"] = from_addr
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    if cc:
        msg["Cc"] = cc if isinstance(cc, str) else ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = date or email.utils.formatdate(localtime=False)
    if message_id is None:
        domain = email.utils.parseaddr(from_addr)[1].rpartition("@")[2]
        message_id = "<%s@%s>" % (uuid.uuid4().hex, domain or "example.test")
    elif not message_id.startswith("<"):
        message_id = "<%s>" % message_id
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = (references if isinstance(references, str)
                             else " ".join(references))
    if headers:
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            msg[name] = value
    if authenticated:
        domain = (authenticated if isinstance(authenticated, str) else
                  email.utils.parseaddr(from_addr)[1].rpartition("@")[2])
        msg[VERIFIER_HEADER] = "dmarc=pass header.from=%s" % domain
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def _message_bytes(msg):
    if isinstance(msg, bytes):
        data = msg
    elif isinstance(msg, str):
        data = msg.encode("utf-8")
    else:
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    # normalise line ends to CRLF for SMTP
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


# ---------------------------------------------------------------------------
# process hygiene: every child dies with us

_libc = None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    pass
_PR_SET_PDEATHSIG = 1


def _child_setup_for(parent):
    def child_setup():
        # runs in the child between fork and exec: if the test process dies
        # (even by SIGKILL), the kernel sends SIGTERM to the daemon
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:      # it died before prctl
            os._exit(1)
    return child_setup


# A watchdog process per stack: the stack tells it the process group of
# every daemon it starts; if the test process dies without saying "done"
# (even by SIGKILL, when no cleanup code runs), the watchdog sees EOF on its
# stdin and kills those groups.  PR_SET_PDEATHSIG alone is not enough: the
# kernel clears it when a process changes its effective uid, as Postfix's
# master does at start-up.
_WATCHDOG = r"""
import os, signal, sys, time
for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
    signal.signal(s, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "add":
        groups.add(int(arg))
    elif cmd == "del":
        groups.discard(int(arg))
    elif cmd == "done":
        sys.exit(0)
for sig in (signal.SIGTERM, signal.SIGKILL):
    for g in list(groups):
        try:
            os.killpg(g, sig)
        except ProcessLookupError:
            groups.discard(g)
    deadline = time.time() + 5
    while groups and time.time() < deadline:
        time.sleep(0.1)
        for g in list(groups):
            try:
                os.killpg(g, 0)
            except ProcessLookupError:
                groups.discard(g)
"""


class _Watchdog:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            close_fds=True)

    def _send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def add(self, pgid):
        self._send("add %d" % pgid)

    def remove(self, pgid):
        self._send("del %d" % pgid)

    def done(self):
        self._send("done")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_live_stacks = weakref.WeakSet()
_handlers_installed = False


def _stop_all_stacks():
    for st in list(_live_stacks):
        try:
            st.stop()
        except Exception as e:      # at exit: report and go on
            sys.stderr.write("stack cleanup: %s\n" % e)


atexit.register(_stop_all_stacks)


def _on_signal(signum, frame):
    # turn SIGTERM/SIGHUP into KeyboardInterrupt so that with-blocks and
    # finally-clauses stop the stack on the way out
    raise KeyboardInterrupt("signal %d" % signum)


def install_signal_handlers():
    """Make SIGTERM and SIGHUP unwind like Ctrl-C (main thread only)."""
    global _handlers_installed
    if _handlers_installed or \
            threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)
    _handlers_installed = True


_PORTS_GIVEN = set()


def _ephemeral_low():
    """The lowest port the kernel hands out to outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_port():
    """A free 127.0.0.1 port below the ephemeral range: a daemon that is
    stopped and started again (same port) must find it free, and a port
    from the ephemeral range may meanwhile be the local end of some
    outgoing connection (seen: forumgated restarted under ASan could not
    listen again)."""
    high = _ephemeral_low() - 1
    for _ in range(200):
        port = secrets.randbelow(high - 10000) + 10000
        if port in _PORTS_GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    # no luck below the range: let the kernel choose
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail_text(path, lines=40, start=0):
    try:
        with open(path, "rb") as f:
            if start:
                f.seek(start)
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    parts = text.splitlines()
    return "\n".join(parts[-lines:])


class _Proc:
    def __init__(self, name, popen, log):
        self.name, self.popen, self.log = name, popen, log


# ---------------------------------------------------------------------------

class Stack(MailmanMixin, DovecotMixin, RedisMixin):
    """A private mail + Redis (+ forumgate) stack; see the module docstring.

    Arguments:
      builddir   where the forumgate binaries are (default: env
                 FORUMGATE_BUILDDIR or the repository root)
      full       start every forumgate component whose binary exists
      components an explicit iterable of components to start (subset of
                 COMPONENTS); overrides `full`
      plugin_dir a directory with lib95_forumgate_plugin.so: load it into
                 Dovecot LMTP (implies the "plugin" component)
      keep       keep the temporary directory after stop()
      debug      Dovecot mail_debug/auth_debug on
      start_timeout  seconds to wait for each daemon to become ready
      forum_type "discourse" (default), "nodebb" or "generic": the
                 simulator's API and the bridge's forum_type (NodeBB:
                 posts as uid 1; generic: the signed endpoint
                 /forumgate/posts, its secret read from a file, webhooks
                 to /webhooks/post)
      mailman    also run GNU Mailman 3 with the list mm@lists.test
                 (stack_mailman.py)
      redis_acl  Redis with the ACL users of doc/redis-acl.md and AUTH
                 required; each program runs as its own user
                 (stack_redis.py)
      redis_tls  the programs reach Redis over TLS with certificates
                 the test makes (stack_redis.py)
      dovecot_list_users  extra Dovecot users [(address, list), ...]
                 with userdb forumgate_list=LIST (stack_dovecot.py),
                 e.g. a list-mode list's posting address
    """

    def __init__(self, builddir=None, full=False, components=None,
                 plugin_dir=None, keep=False, debug=False, start_timeout=20.0,
                 tmp_parent="/tmp", forum_type="discourse",
                 forumsim_args=(), mailman=False, redis_acl=False,
                 redis_tls=False, dovecot_list_users=()):
        self.repo_root = REPO_ROOT
        self.builddir = os.path.abspath(
            builddir or os.environ.get("FORUMGATE_BUILDDIR") or REPO_ROOT)
        self.keep = keep
        self.report_kept = True     # stop() prints the kept directory
        self.debug = debug
        self.failed = False
        self.start_timeout = start_timeout
        self.tmp_parent = tmp_parent
        self.dir = None
        self.started = set()         # optional components running
        self.start_seconds = None
        self._procs = {}
        self._running = False
        self._watchdog = None

        self.binaries = self._find_binaries(plugin_dir)
        if components is not None:
            wanted = set(components)
            bad = wanted - set(COMPONENTS)
            if bad:
                raise ValueError("unknown components: %s" % ", ".join(bad))
        elif full:
            wanted = set(COMPONENTS)
        else:
            wanted = set()
        if plugin_dir:
            wanted.add("plugin")
        self.wanted = wanted
        # what will actually be started: wanted and built
        self.enabled = {c for c in wanted if self.binaries.get(c)}
        self.missing = sorted(wanted - self.enabled)

        self.list_name = LIST_NAME
        self.list_address = LIST_ADDRESS
        self.list_domain = LIST_DOMAIN
        self.list_prefix = LIST_PREFIX
        self.list_id = LIST_ID
        self.list_category = LIST_CATEGORY
        self.bridge_address = BRIDGE_ADDRESS
        self.users = USERS
        self.subscribers = list(SUBSCRIBERS)
        self.user_password = USER_PASSWORD
        self.later_address = LATER_ADDRESS

        self.secret = secrets.token_hex(32)
        self.forum_api_key = secrets.token_hex(16)
        self.forum_type = forum_type
        self.forumsim_args = list(forumsim_args)   # e.g. ["--staff", "bob"]
        self.forum_api_username = "1" if forum_type == "nodebb" else "forumgate"
        self.webhook_secret = secrets.token_hex(16)
        self.forum_port = None
        self.forum_url = None
        self.last_data_answer = None
        # extra Dovecot users delivered to the plugin: (address, list),
        # e.g. the posting address of a list-mode list
        self.dovecot_list_users = list(dovecot_list_users)
        self._mailman_init(mailman)
        # FG_REDIS_ACL=1: every module with the ACL users (a check of
        # doc/redis-acl.md's rules against all the tests)
        self._redis_init(redis_acl or os.environ.get("FG_REDIS_ACL") == "1",
                         redis_tls)

    # -- discovery ----------------------------------------------------------

    def _find_binaries(self, plugin_dir):
        b = self.builddir
        env = os.environ

        def first(envname, *cands):
            if envname and env.get(envname):
                cands = (env[envname],)
            for c in cands:
                if os.path.isfile(c) and (c.endswith(".so") or c.endswith(".py")
                                          or os.access(c, os.X_OK)):
                    return os.path.abspath(c)
            return None

        plugin_cands = []
        if plugin_dir:
            plugin_cands.append(os.path.join(plugin_dir,
                                             "lib95_forumgate_plugin.so"))
        plugin_cands += [
            os.path.join(b, "dovecot-plugin", ".libs",
                         "lib95_forumgate_plugin.so"),
            os.path.join(b, "dovecot-plugin", "lib95_forumgate_plugin.so"),
        ]
        found = {
            "policyd": first("FORUMGATE_POLICYD",
                             os.path.join(b, "policy-daemon",
                                          "forumgate-policyd")),
            "bridge": first("FORUMGATE_BRIDGE",
                            os.path.join(b, "bridge", "forumgated")),
            "admin": first("FORUMGATE_ADMIN",
                           os.path.join(b, "admin", "forumgate")),
            "plugin": (first(None, *plugin_cands[:1]) if plugin_dir else
                       first("FORUMGATE_PLUGIN", *plugin_cands)),
            "forumsim": first("FORUMGATE_FORUMSIM",
                              os.path.join(REPO_ROOT, "tests", "forumsim",
                                           "forumsim.py")),
        }
        return found

    def require(self, *components):
        """Raise SkipTest unless all these components are running."""
        missing = [c for c in components if c not in self.started]
        if missing:
            why = []
            for c in missing:
                if not self.binaries.get(c):
                    why.append("%s not built" % c)
                elif c not in self.wanted:
                    why.append("%s not requested (use a full stack)" % c)
                else:
                    why.append("%s not running" % c)
            raise SkipTest(", ".join(why))

    # -- paths --------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def log_path(self, name):
        if name in LOG_NAMES:
            return self.path(LOG_NAMES[name])
        return name if os.path.isabs(name) else self.path(name)

    def log_tail(self, name, lines=40):
        """Last `lines` lines of a log ("postfix", "dovecot", "redis",
        "policyd", "forumgated", "forumsim", "mlmmj", or a file name)."""
        return _tail_text(self.log_path(name), lines)

    def postfix_log(self):
        return _tail_text(self.log_path("postfix"), 10 ** 9)

    def dovecot_log(self):
        return _tail_text(self.log_path("dovecot"), 10 ** 9)

    def log_offsets(self):
        """Current size of every log: pass to logs_since() later."""
        out = {}
        for name in LOG_NAMES:
            try:
                out[name] = os.path.getsize(self.log_path(name))
            except (OSError, TypeError):
                out[name] = 0
        return out

    def logs_since(self, offsets, lines=30):
        """{name: text} of what each log got since log_offsets()."""
        out = {}
        for name in LOG_NAMES:
            p = self.log_path(name)
            try:
                size = os.path.getsize(p)
            except OSError:
                continue
            start = offsets.get(name, 0)
            if size > start:
                text = _tail_text(p, lines, start)
                if text.strip():
                    out[name] = text
        return out

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        install_signal_handlers()
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    def start(self):
        if self._running:
            return self
        t0 = self._t0 = time.monotonic()
        self.timings = []
        self.dir = tempfile.mkdtemp(prefix="fg-", dir=self.tmp_parent)
        os.chmod(self.dir, 0o755)    # postfix and mail users must traverse it
        _live_stacks.add(self)
        self._running = True
        self._watchdog = _Watchdog()
        try:
            self._start_all()
        except BaseException as e:
            self.failed = True
            tails = self._all_log_tails(25)
            try:
                self.stop()
            except StackError as stop_error:
                tails += "\n" + str(stop_error)
            if isinstance(e, KeyboardInterrupt):
                raise
            if isinstance(e, StackError):
                what = str(e)
            else:
                what = "%s: %s" % (type(e).__name__, e)
            raise StackError("%s\nstack directory kept: %s\n%s"
                             % (what, self.dir, tails)) from e
        self.start_seconds = time.monotonic() - t0
        return self

    def _mark(self, step):
        self.timings.append((step, round(time.monotonic() - self._t0, 3)))

    def _all_log_tails(self, lines):
        out = []
        for name in LOG_NAMES:
            t = self.log_tail(name, lines) if self.dir else ""
            if t.strip():
                out.append("--- %s (%s) ---\n%s"
                           % (name, self.log_path(name), t))
        return "\n".join(out)

    def _start_all(self):
        mail_pw = pwd.getpwnam(MAIL_USER)
        self.mail_uid, self.mail_gid = mail_pw.pw_uid, mail_pw.pw_gid
        self.postfix_uid = pwd.getpwnam("postfix").pw_uid

        # ports and paths
        self.smtp_port = _free_port()
        self.reinject_port = _free_port()
        self.dkim_port = _free_port()
        # OpenDKIM verifies at the public smtpd when it is installed
        self.dkim = os.access(OPENDKIM, os.X_OK)
        self.redis_port = _free_port()
        self.webhook_port = _free_port()
        self.policy_port = _free_port()
        self.redis_socket = self.path("redis.sock")
        self.lmtp_socket = self.path("lmtp")
        self.later_lmtp_socket = self.path("later-lmtp")
        self.conf_path = self.path("forumgate.conf")
        self.postfix_dir = self.path("postfix")
        self.dovecot_conf = self.path("dovecot", "dovecot.conf")
        self.mail_dir = self.path("mail")
        self.mlmmj_spool = self.path("mlmmj")
        self.list_dir = self.path("mlmmj", LIST_NAME)
        self.redis_dir = self.path("redis")
        self._mailman_paths(_free_port)
        for d in ("postfix", "postfix-queue", "dovecot", "dovecot/run",
                  "dovecot/state", "mail", "redis", "modules"):
            os.makedirs(self.path(d), exist_ok=True)
        os.chown(self.mail_dir, self.mail_uid, self.mail_gid)
        os.makedirs(self.path("postfix-data"), exist_ok=True)
        os.chown(self.path("postfix-data"), self.postfix_uid, -1)
        os.chmod(self.path("postfix-data"), 0o700)

        # 1. start what takes a while first, in parallel: forum simulator,
        #    redis, postfix
        if "forumsim" in self.enabled:
            self._spawn_forumsim()
        else:
            self.forum_port = _free_port()      # nothing listens there
            self.forum_url = "http://127.0.0.1:%d" % self.forum_port
        try:
            self._redis_prepare(_free_port)
        except RedisSetupError as e:
            raise StackError(str(e)) from e
        self._spawn_redis()
        self._write_postfix_config()
        self._make_postfix_queue()
        if self.dkim:
            self._spawn_opendkim()
        self._spawn_daemon("postfix")

        # the list is needed only once mail flows: set it up meanwhile
        list_error = []

        def make_list():
            try:
                self._make_list()
                self._mark("mlmmj list")
            except BaseException as e:      # re-raised below
                list_error.append(e)
        list_thread = threading.Thread(target=make_list, name="mlmmj-setup")
        list_thread.start()
        threads = [list_thread]
        if self.mailman_enabled:
            # Mailman starts slowly: from here on, beside everything else
            def mailman_setup():
                try:
                    self._mailman_setup()
                except BaseException as e:      # re-raised below
                    list_error.append(e)
            threads.append(threading.Thread(target=mailman_setup,
                                            name="mailman-setup"))
            threads[-1].start()
        try:
            self._start_rest()
        finally:
            for t in threads:
                t.join()
        if list_error:
            raise list_error[0]
        if self.mailman_enabled:
            self._mailman_start()

    def _start_rest(self):
        if "forumsim" in self.enabled:
            self._wait_forumsim()
        self._write_forumgate_conf()
        self._mark("config written")

        # 2. dovecot (needs forumgate.conf written for the plugin)
        self._write_dovecot_config(USERS, BRIDGE_ADDRESS, LIST_NAME)
        self._spawn_daemon("dovecot")

        # 3. redis ready -> admin setup -> policy daemon, bridge daemon
        self._wait_redis()
        self.started.add("redis")
        self._mark("redis ready")
        if "admin" in self.enabled:
            self._admin_setup()
            if self.mailman_enabled:
                self._mailman_admin_setup()
            self.started.add("admin")
        for component in ("policyd", "bridge"):
            if component in self.enabled:
                self._spawn_daemon(component)

        # 4. readiness of everything
        self._wait_daemon("dovecot")
        self._mark("dovecot ready")
        if "plugin" in self.enabled:
            self.started.add("plugin")
        for component in ("policyd", "bridge"):
            if component in self.enabled:
                self._wait_daemon(component)
                self.started.add(component)
        self._wait_daemon("postfix")
        self._mark("postfix ready")
        if self.dkim:
            self._wait_port("opendkim", self.dkim_port)
            self._mark("opendkim ready")

    # -- daemons that tests may stop and start again ---------------------------

    # component -> (process name, log file)
    _DAEMONS = {
        "postfix": ("postfix", "postfix-stdout.log"),
        "dovecot": ("dovecot", "dovecot-stdout.log"),
        "policyd": ("policyd", "policyd.log"),
        "bridge": ("forumgated", "forumgated.log"),
    }

    def _spawn_daemon(self, component):
        name, log = self._DAEMONS[component]
        if component == "postfix":
            argv = [POSTFIX_MASTER, "-c", self.postfix_dir, "-s"]
        elif component == "dovecot":
            argv = [DOVECOT, "-F", "-c", self.dovecot_conf]
        elif component == "policyd":
            argv = [self.binaries["policyd"], "-c", self.conf_path, "-f"]
        else:
            argv = [self.binaries["bridge"], "-c", self.conf_path, "-f"]
        self._spawn(name, argv, log)

    def _wait_daemon(self, component):
        if component == "postfix":
            self._wait_banner("postfix", ("tcp", self.smtp_port), b"220")
        elif component == "dovecot":
            self._wait_banner("dovecot", ("unix", self.lmtp_socket), b"220")
        elif component == "policyd":
            self._wait_port("policyd", self.policy_port)
        else:
            self._wait_port("forumgated", self.webhook_port)

    def daemon_stop(self, component):
        """Stop "postfix", "dovecot", "policyd" or "bridge" (SIGTERM, then
        SIGKILL after 10 s).  Redis: redis_stop()."""
        if component not in self._DAEMONS:
            raise ValueError("unknown daemon %r" % component)
        self._stop_proc(self._DAEMONS[component][0])
        self.started.discard(component)

    def daemon_start(self, component):
        """Start a daemon stopped with daemon_stop() again (same
        configuration, ports and sockets) and wait until it is ready."""
        if component not in self._DAEMONS:
            raise ValueError("unknown daemon %r" % component)
        if component in ("policyd", "bridge") and \
                component not in self.enabled:
            raise SkipTest("%s not built or not requested" % component)
        self._spawn_daemon(component)
        self._wait_daemon(component)
        if component in ("policyd", "bridge"):
            self.started.add(component)

    def restart_bridge(self, **settings):
        """Set these forumgate.conf settings (replacing the lines that
        name them) and restart forumgated with them."""
        with open(self.conf_path) as f:
            lines = [ln for ln in f
                     if ln.split("=")[0].strip() not in settings]
        lines += ["%s = %s\n" % kv for kv in settings.items()]
        with open(self.conf_path, "w") as f:
            f.writelines(lines)
        self.daemon_stop("bridge")
        self.daemon_start("bridge")

    def daemon_kill(self, component):
        """SIGKILL a running "policyd" or "bridge" (a crash) and reap it;
        daemon_start() starts it again."""
        pid = self.daemon_pid(component)
        if pid is None:
            raise StackError("%s is not running" % component)
        os.kill(pid, signal.SIGKILL)
        self._procs[self._DAEMONS[component][0]].popen.wait()
        self.started.discard(component)

    def daemon_pid(self, component):
        """PID of a running daemon ("redis", "postfix", "dovecot",
        "policyd", "bridge", "forumsim") or None."""
        name = self._DAEMONS.get(component, (component,))[0]
        proc = self._procs.get(name)
        if proc is None or proc.popen.poll() is not None:
            return None
        return proc.popen.pid

    def stop(self):
        """Stop every process (SIGTERM, SIGKILL after a timeout) and remove
        the directory unless keep is set or a failure was recorded."""
        if not self._running:
            return
        self._running = False
        errors = []
        try:
            self._mailman_stop()
        except Exception as e:
            errors.append("mailman: %s" % e)
        # daemons that talk to the mail system and Redis first, then the
        # servers; each group is signalled at once and then waited for
        for group in (("forumgated", "policyd", "forumsim"),
                      ("postfix", "dovecot", "redis"),
                      tuple(self._procs)):
            try:
                self._stop_procs(group)
            except Exception as e:
                errors.append(str(e))
        if self._watchdog is not None:
            self._watchdog.done()
            self._watchdog = None
        self.started = set()
        _live_stacks.discard(self)
        if self.keep or self.failed:
            if self.report_kept:
                sys.stderr.write("stack directory kept: %s\n" % self.dir)
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise StackError("errors while stopping: " + "; ".join(errors))

    def mark_failed(self):
        """Keep the directory at stop() (the runner calls this on failure)."""
        self.failed = True

    # -- process helpers ------------------------------------------------------

    def _spawn(self, name, argv, log, env=None, user=None):
        if name in self._procs and self._procs[name].popen.poll() is None:
            raise StackError("%s already running" % name)
        logf = open(self.path(log), "ab")
        try:
            p = subprocess.Popen(
                argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_child_setup_for(os.getpid()), env=env,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None)
        except OSError as e:
            raise StackError("cannot start %s (%s): %s"
                             % (name, argv[0], e)) from e
        finally:
            logf.close()
        if self._watchdog is not None:
            self._watchdog.add(p.pid)      # its own session: pgid == pid
        self._procs[name] = _Proc(name, p, self.path(log))
        return p

    def _stop_proc(self, name, timeout=10.0):
        self._stop_procs((name,), timeout)

    def _stop_procs(self, names, timeout=10.0):
        """SIGTERM the named processes, wait for them, SIGKILL (the whole
        process group) whatever is left after `timeout` seconds."""
        procs = [self._procs.pop(n) for n in names if n in self._procs]
        for proc in procs:
            if proc.popen.poll() is None:
                try:
                    if proc.name == "dovecot":
                        # the master alone waits ~1 s for its children;
                        # signalling the whole group stops it at once
                        os.killpg(proc.popen.pid, signal.SIGTERM)
                    else:
                        proc.popen.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        killed = []
        for proc in procs:
            p = proc.popen
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(proc.name)
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                p.kill()
                p.wait(timeout=5)
        if self._watchdog is not None:
            for proc in procs:
                self._watchdog.remove(proc.popen.pid)
        if killed:
            raise StackError("did not stop within %.0fs, killed: %s"
                             % (timeout, ", ".join(killed)))

    def _check_alive(self, name):
        proc = self._procs.get(name)
        if proc is not None and proc.popen.poll() is not None:
            raise DaemonExited("%s exited with status %s during start-up; "
                             "see %s" % (name, proc.popen.returncode,
                                         self.log_path(name)))

    def _wait_port(self, name, port):
        def ok():
            self._check_alive(name)
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        try:
            wait_for(ok, self.start_timeout,
                     "%s to listen on 127.0.0.1:%d" % (name, port))
        except TimeoutError as e:
            raise StackError("%s; see %s" % (e, self.log_path(name))) from e

    def _wait_banner(self, name, addr, prefix):
        def ok():
            self._check_alive(name)
            if addr[0] == "unix":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                target = addr[1]
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                target = ("127.0.0.1", addr[1])
            with s:
                s.settimeout(2)
                s.connect(target)
                banner = s.recv(512)
                s.sendall(b"QUIT\r\n")
                try:
                    s.recv(512)
                except OSError:
                    pass
                return banner.startswith(prefix)
        what = "%s to answer on %s" % (name, addr[1] if addr[0] == "unix"
                                       else "127.0.0.1:%d" % addr[1])
        try:
            wait_for(ok, self.start_timeout, what)
        except TimeoutError as e:
            raise StackError("%s; see %s" % (e, self.log_path(name))) from e

    # -- redis -----------------------------------------------------------------

    def _spawn_redis(self):
        argv = [self.redis_server,
                "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--unixsocket", self.redis_socket, "--unixsocketperm", "777",
                "--dir", self.redis_dir, "--daemonize", "no",
                "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--logfile", self.log_path("redis"),
                "--protected-mode", "yes", "--databases", "16"] + \
            self._redis_server_args()
        self._spawn("redis", argv, "redis-stdout.log")

    def _wait_redis(self):
        def ok():
            self._check_alive("redis")
            return self.redis_call("PING") == "PONG"
        try:
            wait_for(ok, self.start_timeout,
                     "redis to answer PING on %s" % self.redis_socket)
        except TimeoutError as e:
            raise StackError("%s; see %s" % (e, self.log_path("redis"))) \
                from e

    def redis_stop(self):
        """Shut Redis down (data is kept in the append-only file)."""
        self._stop_proc("redis")
        self.started.discard("redis")

    def redis_start(self):
        """Start Redis again with the same data, port and socket."""
        self._spawn_redis()
        self._wait_redis()
        self.started.add("redis")

    def redis(self, *args):
        """Run redis-cli against the stack's Redis; return stdout stripped."""
        r = subprocess.run(self.redis_cli_args() +
                           [str(a) for a in args], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise StackError("redis-cli %s failed: %s"
                             % (" ".join(map(str, args)),
                                (r.stderr or r.stdout).decode(errors="replace")))
        return r.stdout.decode("utf-8", "replace").strip()

    def day_hget(self, base, field):
        """HGET from a hash kept in day buckets (BASE:DAY, DAY = unix
        time / 86400: fg:{LIST}:in-seen, out-seen, subject-topic): today's
        value, else yesterday's; "" when neither has the field."""
        today = int(time.time()) // 86400
        for day in (today, today - 1):
            value = self.redis("HGET", "%s:%d" % (base, day), field)
            if value:
                return value
        return ""

    def day_hlen(self, base):
        """Fields of today's and yesterday's bucket of a day-bucketed hash."""
        today = int(time.time()) // 86400
        return sum(int(self.redis("HLEN", "%s:%d" % (base, day)) or 0)
                   for day in (today, today - 1))

    def redis_call(self, *args, timeout=5.0):
        """Send one command over RESP; return the decoded reply (str, int,
        None, list; an error reply raises StackError)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        with s:
            s.connect(self.redis_socket)
            auth = self.redis_auth_command()
            req = b""
            for command in ([auth] if auth else []) + [args]:
                parts = [a if isinstance(a, bytes) else str(a).encode()
                         for a in command]
                req += b"*%d\r\n" % len(parts) + b"".join(
                    b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
            s.sendall(req)
            f = s.makefile("rb")
            if auth:
                _resp_read(f)
            return _resp_read(f)

    # -- postfix ---------------------------------------------------------------

    def _write_postfix_config(self):
        d = self.dir
        restrictions = []
        if "policyd" in self.enabled:
            restrictions.append("check_policy_service inet:127.0.0.1:%d"
                                % self.policy_port)
        restrictions += ["permit_mynetworks", "reject_unauth_destination"]
        # forumgate-policyd counts a post against the rate limit when the
        # message is accepted (doc/postfix-policy.md)
        end_of_data = restrictions[0] if "policyd" in self.enabled else ""
        main = """\
# private Postfix instance of the forumgate integration test stack
compatibility_level = 3.6
queue_directory = {d}/postfix-queue
data_directory = {d}/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/postfix.log
maillog_file_prefixes = {d}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.lists.test
mydomain = lists.test
myorigin = lists.test
mydestination =
mynetworks = 127.0.0.0/8
# a test may pose as a remote client: XCLIENT ADDR=192.0.2.7
smtpd_authorized_xclient_hosts = 127.0.0.1
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in the test stack
default_transport = error:5.4.4 no outside delivery in the test stack
relay_transport = $default_transport
virtual_mailbox_domains = lists.test example.test
virtual_transport = lmtp:unix:{d}/lmtp
transport_maps = inline:{{ {list}=mlmmj:{name}, {later}=lmtp:unix:{d}/later-lmtp{mailman} }}
mlmmj_destination_recipient_limit = 1
recipient_delimiter = +
append_dot_mydomain = no
biff = no
smtpd_banner = $myhostname ESMTP forumgate test stack
smtpd_recipient_restrictions = {restrictions}
smtpd_end_of_data_restrictions = {end_of_data}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
message_size_limit = 52428800
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
""".format(d=d, list=LIST_ADDRESS, name=LIST_NAME, later=LATER_ADDRESS,
           restrictions=", ".join(restrictions),
           mailman="".join(", " + e for e in
                           self._mailman_transport_entries()),
           end_of_data=end_of_data)
        # Sender authentication (doc/authentication.md). The public smtpd
        # hands its mail to cleanup_in, whose header_checks remove every
        # Authentication-Results header that arrives from outside: a
        # sender must never be able to write the trusted one (RFC 8601
        # section 5). A verifier milter (OpenDMARC, rspamd) would then add
        # its own; it needs DNS, which the test stack has not, so a
        # header_checks PREPEND rule stands in for it: a test writes what
        # the verifier found in X-Stack-Verified (make_message(
        # authenticated=...)) and the trusted header is added from that.
        # The list manager re-injects its copies through the second
        # listener (reinject_port), which keeps the header.
        # disable_mime_input_processing: the checks look at the message
        # header only, and cleanup_in refuses no MIME structure that the
        # plain cleanup took before (mime_nesting_limit).
        checks = r"""# Every Authentication-Results header from outside goes (RFC 8601 s. 5).
/^Authentication-Results:/ IGNORE
# STAND-IN for a verifier milter (test stack only): what a test says the
# verifier found becomes the trusted header.
/^{verifier}:[[:space:]]*((dmarc|dkim)=[a-z]+ header\.(from|d)=[-a-z0-9.]+)$/ PREPEND Authentication-Results: {authserv}; $1
""".format(verifier=VERIFIER_HEADER, authserv=AUTHSERV_ID)
        with open(self.path("postfix", "auth_header_checks"), "w") as f:
            f.write(checks)
        # a verifier that is down leaves mail unauthenticated, not lost
        milters = ("\n  -o smtpd_milters=inet:127.0.0.1:%d"
                   "\n  -o milter_default_action=accept" % self.dkim_port
                   if self.dkim else "")
        master = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{port} inet n       -       n       -       -       smtpd
  -o cleanup_service_name=cleanup_in{milters}
127.0.0.1:{reinject} inet n   -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
cleanup_in unix n       -       n       -       0       cleanup
  -o header_checks=regexp:{d}/postfix/auth_header_checks
  -o disable_mime_input_processing=yes
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
mlmmj     unix  -       n       n       -       -       pipe
  flags=ORhu user={mail} argv={mlmmj}/mlmmj-receive -F -L {d}/mlmmj/${{nexthop}}
""".format(port=self.smtp_port, reinject=self.reinject_port,
           mail=MAIL_USER, mlmmj=MLMMJ_BIN, d=d, milters=milters)
        # Postfix waits (300 ms steps) until main.cf is more than a second
        # old before it loads it ("pausing to let main.cf settle"): back-date
        # the files so that the master starts at once.
        past = time.time() - 60
        for name, text in (("main.cf", main), ("master.cf", master)):
            p = self.path("postfix", name)
            with open(p, "w") as f:
                f.write(text)
            os.utime(p, (past, past))

    def _spawn_opendkim(self):
        """OpenDKIM in verify mode for the public smtpd: a fresh RSA key,
        its public half in the TestPublicKeys file (no DNS here)."""
        d = self.path("opendkim")
        os.makedirs(d, exist_ok=True)
        self.dkim_key = os.path.join(d, "stack.key")
        subprocess.run(["openssl", "genrsa", "-out", self.dkim_key, "1024"],
                       check=True, capture_output=True, timeout=30)
        pub = subprocess.run(["openssl", "rsa", "-in", self.dkim_key,
                              "-pubout"], check=True, capture_output=True,
                             timeout=30).stdout.decode()
        p = "".join(l for l in pub.splitlines() if not l.startswith("-"))
        with open(os.path.join(d, "keys"), "w") as f:
            for domain in DKIM_DOMAINS:
                f.write("%s._domainkey.%s v=DKIM1; k=rsa; p=%s\n"
                        % (DKIM_SELECTOR, domain, p))
        conf = os.path.join(d, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Mode v\nSocket inet:%d@127.0.0.1\nAuthservID %s\n"
                    "TestPublicKeys %s\nBackground no\nSyslog no\n"
                    "PidFile %s\n"
                    % (self.dkim_port, AUTHSERV_ID,
                       os.path.join(d, "keys"), os.path.join(d, "pid")))
        self._spawn("opendkim", [OPENDKIM, "-f", "-x", conf],
                    "opendkim.log")

    def dkim_sign(self, msg, domain=DKIM_DOMAINS[0]):
        """The message (bytes, str or EmailMessage) as bytes with a
        DKIM-Signature of the stack's key for domain (d=), which the
        stack's OpenDKIM verifies; signed by Debian's python3-dkim."""
        if not self.dkim:
            raise SkipTest("opendkim is not installed")
        data = _message_bytes(msg)
        script = ("import sys, dkim\n"
                  "key = open(sys.argv[1], 'rb').read()\n"
                  "msg = sys.stdin.buffer.read()\n"
                  "sig = dkim.sign(msg, sys.argv[2].encode(), "
                  "sys.argv[3].encode(), key, "
                  "canonicalize=(b'relaxed', b'relaxed'), include_headers="
                  "[b'from', b'to', b'subject', b'date', b'message-id'])\n"
                  "sys.stdout.buffer.write(sig + msg)\n")
        r = subprocess.run([SYSTEM_PYTHON, "-c", script, self.dkim_key,
                            DKIM_SELECTOR, domain], input=data,
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            raise StackError("DKIM signing failed: %s"
                             % r.stderr.decode(errors="replace"))
        return r.stdout

    def _make_postfix_queue(self):
        # What "postfix check" (post-install create-missing) would create;
        # done here because the shell scripts take 1-3 s.  Run
        # stack.postfix("check") to get Postfix's own verdict.
        q = self.path("postfix-queue")
        postdrop = grp.getgrnam("postdrop").gr_gid
        for name in ("active", "bounce", "corrupt", "defer", "deferred",
                     "flush", "hold", "incoming", "private", "saved",
                     "trace"):
            os.mkdir(os.path.join(q, name), 0o700)
            os.chown(os.path.join(q, name), self.postfix_uid, 0)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            os.mkdir(os.path.join(q, name))
            os.chown(os.path.join(q, name), self.postfix_uid, postdrop)
            os.chmod(os.path.join(q, name), mode)
        os.mkdir(os.path.join(q, "pid"), 0o755)

    def postfix_queue(self):
        """Queued messages (all queues): list of dicts from postqueue -j
        (queue_name, queue_id, sender, recipients[{address,
        delay_reason}], ...)."""
        r = subprocess.run([POSTQUEUE, "-c", self.postfix_dir, "-j"],
                           capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise StackError("postqueue -j failed: %s"
                             % r.stderr.decode(errors="replace"))
        return [json.loads(line) for line in r.stdout.decode().splitlines()
                if line.strip()]

    def postfix_flush(self):
        """Ask Postfix to retry every deferred message now."""
        r = subprocess.run([POSTQUEUE, "-c", self.postfix_dir, "-f"],
                           capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise StackError("postqueue -f failed: %s"
                             % r.stderr.decode(errors="replace"))

    def postfix(self, *args):
        """Run `postfix -c DIR ARGS` (e.g. "reload"); CompletedProcess."""
        return subprocess.run([POSTFIX, "-c", self.postfix_dir] + list(args),
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def wait_deferred(self, recipient, since, timeout=60.0):
        """Wait until Postfix has logged a failed try for `recipient`
        (status=deferred) after log offset `since` (from log_offsets());
        return the reason Postfix gave.  The log keeps every try, so
        this cannot miss a short stay in the deferred queue the way a
        poll of postqueue can (the stack's backoff is seconds)."""
        path = self.log_path("postfix")
        needle = "to=<%s>," % recipient

        def logged():
            text = _tail_text(path, 10 ** 9, start=since.get("postfix", 0))
            for line in text.splitlines():
                if needle in line and "status=deferred" in line:
                    _, _, reason = line.partition("status=deferred")
                    return reason.strip() or "(no reason)"
            return None
        return wait_for(logged, timeout,
                        "Postfix to defer the mail to %s" % recipient)

    def wait_queue_empty(self, timeout=45.0):
        """Wait until Postfix has no message left in any queue."""
        last = []

        def empty():
            last[:] = self.postfix_queue()
            return not last
        try:
            wait_for(empty, timeout, "the Postfix queue to be empty")
        except TimeoutError as e:
            raise TimeoutError("%s; still queued: %s"
                               % (e, _queue_summary(last))) from e

    def wait_bridge_idle(self, timeout=60.0, queues=("in", "out")):
        """Wait until the bridge has finished every entry of the list's
        queues (an entry leaves its stream when it is done: posted,
        mailed, skipped or dead-lettered).  What it was going to do is
        done then, so a test can count posts or mails without sleeping."""
        keys = ["fg:{%s}:%s" % (self.list_name, q) for q in queues]
        wait_for(lambda: all(self.redis_call("XLEN", k) == 0 for k in keys),
                 timeout, "the bridge to finish its queues", interval=0.1)

    # -- smtp -------------------------------------------------------------------

    def send_mail(self, mail_from, rcpt_to, msg, check=True, helo=None,
                  timeout=30, mail_options=(), rcpt_options=()):
        """Submit `msg` (EmailMessage, bytes or str) to the private Postfix.

        `rcpt_to` is an address or a list of addresses.  Returns the RCPT
        answer (code, text), or a list of them for a list of recipients.
        With check=True (default) any negative RCPT answer raises SmtpError
        (and nothing is sent); with check=False the message is sent to the
        accepted recipients and all answers are returned.  A negative MAIL
        or DATA answer always raises SmtpError.  mail_options/rcpt_options
        are ESMTP parameters (e.g. ["SMTPUTF8"]); the DATA answer is kept
        in stack.last_data_answer.
        """
        single = isinstance(rcpt_to, str)
        rcpts = [rcpt_to] if single else list(rcpt_to)
        data = _message_bytes(msg)
        answers = []
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout,
                          local_hostname=helo or "client.example.test") as s:
            s.ehlo()
            code, text = s.mail(mail_from, list(mail_options))
            if code != 250:
                raise SmtpError("MAIL FROM", code, text.decode(errors="replace"))
            accepted = []
            for r in rcpts:
                code, text = s.rcpt(r, list(rcpt_options))
                text = text.decode("utf-8", "replace")
                answers.append((code, text))
                if code in (250, 251):
                    accepted.append(r)
                elif check:
                    s.rset()
                    raise SmtpError("RCPT TO", code, text, rcpt=r)
            if accepted:
                try:
                    code, text = s.data(data)
                except smtplib.SMTPResponseException as e:
                    raise SmtpError("DATA", e.smtp_code,
                                    e.smtp_error.decode("utf-8", "replace")) \
                        from e
                if code != 250:
                    raise SmtpError("DATA", code,
                                    text.decode("utf-8", "replace"))
                self.last_data_answer = (code, text.decode("utf-8", "replace"))
            else:
                s.rset()
        return answers[0] if single else answers

    def send_list_copy(self, msg, rcpt_to=None, **kw):
        """Deliver `msg` to the bridge recipient (or `rcpt_to`) the way the
        list's copy reaches it: envelope sender LIST_RETURN_PATH (mlmmj's
        form), and List-Id and List-Post as the stack's mlmmj list adds them
        when the message has none.  For tests of what the bridge does with
        list mail; tests of the list itself send to stack.list_address.
        Other arguments as send_mail()."""
        if isinstance(msg, (bytes, str)):
            data = msg.encode() if isinstance(msg, str) else msg
            head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            if b"\nlist-id:" not in b"\n" + head.lower():
                data = (b"List-Id: <%s>\r\nList-Post: <mailto:%s>\r\n"
                        % (LIST_ID.encode(), LIST_ADDRESS.encode()) + data)
            msg = data
        else:
            if msg["List-Id"] is None:
                msg["List-Id"] = "<%s>" % LIST_ID
            if msg["List-Post"] is None:
                msg["List-Post"] = "<mailto:%s>" % LIST_ADDRESS
        return self.send_mail(LIST_RETURN_PATH, rcpt_to or self.bridge_address,
                              msg, **kw)

    def queue_list_copy(self, sender, subject, body, **kw):
        """A list copy from sender (make_message's keywords), sent and
        waited for until the plugin queued it, so that a reply sent next
        reaches the bridge after its parent; returns its Message-ID."""
        msg = make_message(sender, self.bridge_address, subject, body, **kw)
        self.send_list_copy(msg)
        wait_for(lambda: self.day_hget("fg:{%s}:in-seen" % LIST_NAME,
                                       msg["Message-ID"].strip("<>")) != "",
                 timeout=30, what="the plugin to queue the mail")
        return msg["Message-ID"]

    make_message = staticmethod(make_message)
    wait_for = staticmethod(wait_for)

    # -- dovecot ----------------------------------------------------------------

    def maildir(self, user):
        local, _, domain = user.partition("@")
        return self.path("mail", domain, local)

    def mailbox(self, user, folder=None):
        """Messages in the user's INBOX (Maildir new/ and cur/), or in
        `folder` ("Not posted/auto-reply": levels separated by '/'),
        oldest first, as email.message.EmailMessage (a Message subclass)
        with `.maildir_path` set."""
        box = self.maildir(user)
        if folder:
            # Maildir++: one directory ".A.B" per folder A/B
            box = os.path.join(box, "." + folder.replace("/", "."))
        items = []
        for sub in ("new", "cur"):
            try:
                names = os.listdir(os.path.join(box, sub))
            except FileNotFoundError:
                continue
            for n in names:
                p = os.path.join(box, sub, n)
                try:
                    st = os.stat(p)
                except FileNotFoundError:
                    continue        # moved new/ -> cur/ meanwhile
                items.append((st.st_mtime, n, p))
        items.sort()
        out = []
        for _, _, p in items:
            try:
                with open(p, "rb") as f:
                    m = email.message_from_binary_file(
                        f, policy=email.policy.default)
            except FileNotFoundError:
                continue
            m.maildir_path = p
            out.append(m)
        return out

    def not_posted(self, user, parent="Not posted"):
        """{reason: [messages]} of the folders below `parent` the
        forumgate plugin keeps list mail in that it did not post."""
        prefix = "." + parent.replace("/", ".") + "."
        try:
            names = os.listdir(self.maildir(user))
        except FileNotFoundError:
            return {}
        return {n[len(prefix):]: self.mailbox(user, n[1:].replace(".", "/"))
                for n in sorted(names) if n.startswith(prefix)}

    def wait_mail(self, user, predicate=None, timeout=15.0, count=1):
        """Wait until `count` messages in the user's mailbox satisfy
        `predicate(msg)` (any message when None).  Returns the first match
        (count == 1) or the list of matches."""
        seen = []

        def look():
            box = self.mailbox(user)
            seen[:] = box
            hits = [m for m in box if predicate is None or predicate(m)]
            if len(hits) >= count:
                return hits
            return None
        try:
            hits = wait_for(look, timeout,
                            "%d matching message(s) for %s" % (count, user))
        except TimeoutError as e:
            subjects = [str(m.get("Subject")) for m in seen]
            try:
                queue = _queue_summary(self.postfix_queue())
            except Exception as qe:
                queue = "(postqueue failed: %s)" % qe
            raise TimeoutError("%s; mailbox has %d message(s) %r; postfix "
                               "queue: %s" % (e, len(seen), subjects[-10:],
                                              queue)) from e
        return hits[0] if count == 1 else hits[:count]

    # -- mlmmj -------------------------------------------------------------------

    def _make_list(self):
        os.makedirs(self.mlmmj_spool, exist_ok=True)
        r = subprocess.run(
            [os.path.join(MLMMJ_BIN, "mlmmj-make-ml"), "-L", LIST_NAME,
             "-s", self.mlmmj_spool],
            input=("%s\n%s\nen\n" % (LIST_DOMAIN, LIST_OWNER)).encode(),
            capture_output=True, timeout=30)
        if r.returncode != 0 or not os.path.isdir(self.list_dir):
            raise StackError("mlmmj-make-ml failed: %s"
                             % (r.stderr or r.stdout).decode(errors="replace"))
        control = os.path.join(self.list_dir, "control")
        for name, value in (("smtpport", str(self.reinject_port)),
                            ("relayhost", "127.0.0.1"),
                            ("prefix", LIST_PREFIX),
                            ("customheaders",
                             "List-Id: <%s>\nList-Post: <mailto:%s>"
                             % (LIST_ID, LIST_ADDRESS))):
            with open(os.path.join(control, name), "w") as f:
                f.write(value + "\n")
        self._chown_tree(self.mlmmj_spool)
        for addr in SUBSCRIBERS:
            self.mlmmj_subscribe(addr)

    def _chown_tree(self, top):
        os.chown(top, self.mail_uid, self.mail_gid)
        for root, dirs, files in os.walk(top):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), self.mail_uid, self.mail_gid)

    def mlmmj(self, tool, *args):
        """Run /usr/bin/mlmmj-TOOL -L LISTDIR ARGS as the mail user."""
        r = subprocess.run(
            [os.path.join(MLMMJ_BIN, "mlmmj-" + tool), "-L", self.list_dir]
            + list(args), capture_output=True, text=True, timeout=30,
            user=self.mail_uid, group=self.mail_gid, extra_groups=[],
            stdin=subprocess.DEVNULL, cwd=self.list_dir)
        return r

    def mlmmj_subscribe(self, addr):
        """Subscribe `addr` to the mlmmj list (no mails sent)."""
        r = self.mlmmj("sub", "-a", addr, "-f", "-q", "-s")
        if r.returncode != 0:
            raise StackError("mlmmj-sub %s failed: %s"
                             % (addr, r.stderr or r.stdout))
        if addr not in self.subscribers:
            self.subscribers.append(addr)

    def mlmmj_unsubscribe(self, addr):
        r = self.mlmmj("unsub", "-a", addr, "-q", "-s")
        if r.returncode != 0:
            raise StackError("mlmmj-unsub %s failed: %s"
                             % (addr, r.stderr or r.stdout))
        if addr in self.subscribers:
            self.subscribers.remove(addr)

    def mlmmj_subscribers(self):
        r = self.mlmmj("list")
        return sorted(line.strip() for line in r.stdout.splitlines()
                      if line.strip())

    # -- forumgate config, admin, forum simulator ---------------------------------

    def _write_forumgate_conf(self):
        values = [
            ("redis", "unix:" + self.redis_socket),
            ("redis_timeout", "2s"),
            ("secret", self.secret),
            ("mail_domain", LIST_DOMAIN),
            ("forum_type", self.forum_type),
            ("forum_url", self.forum_url),
            ("forum_api_key", self.forum_api_key),
            ("forum_api_username", self.forum_api_username),
            ("webhook_listen", "127.0.0.1:%d" % self.webhook_port),
            ("webhook_secret", self.webhook_secret),
            ("smtp_relay", "smtp://127.0.0.1:%d" % self.smtp_port),
            ("bridge_address", BRIDGE_ADDRESS),
            ("policy_listen", "127.0.0.1:%d" % self.policy_port),
            # started as root, policyd switches to this user
            ("policyd_user", POLICYD_USER),
            ("trusted_authserv_ids", AUTHSERV_ID),
        ] + self._mailman_forumgate_conf() + self._generic_forumgate_conf()
        redis = dict(self._redis_forumgate_conf())
        values = [(k, redis.pop(k, v)) for k, v in values] + \
            list(redis.items())
        self.config = dict(values)
        text = "# forumgate configuration of the integration test stack\n"
        text += "".join("%s = %s\n" % kv for kv in values)
        with open(self.conf_path, "w") as f:
            f.write(text)
        # the plugin reads it as the mail user inside Dovecot's lmtp process
        os.chmod(self.conf_path, 0o640)
        os.chown(self.conf_path, 0, self.mail_gid)

    def _generic_forumgate_conf(self):
        """forum_type = generic: the simulator's endpoint, and its secret
        (the simulator's --api-key) in a file of its own"""
        if self.forum_type != "generic":
            return []
        path = self.path("forum-generic-secret")
        with open(path, "w") as f:
            f.write(self.forum_api_key + "\n")
        os.chmod(path, 0o640)
        os.chown(path, 0, self.mail_gid)
        return [("forum_generic_url", self.forum_url + "/forumgate/posts"),
                ("forum_generic_secret_file", path)]

    def admin(self, *args, check=False, timeout=30):
        """Run `forumgate -c CONF ARGS`; returns CompletedProcess (text).
        The command line and output are appended to admin.log."""
        if not self.binaries.get("admin"):
            raise SkipTest("admin command not built")
        argv = [self.binaries["admin"], "-c", self.conf_path] + \
            [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        with open(self.log_path("admin"), "a") as log:
            log.write("$ %s\n%s%s[exit %d]\n" % (" ".join(argv), r.stdout,
                                                 r.stderr, r.returncode))
        if check and r.returncode != 0:
            raise StackError("forumgate %s failed (exit %d): %s"
                             % (" ".join(map(str, args)), r.returncode,
                                (r.stderr or r.stdout).strip()))
        return r

    def _admin_setup(self):
        self.admin("list", "add", LIST_NAME, "--address", LIST_ADDRESS,
                   "--bridge-recipient", BRIDGE_ADDRESS,
                   "--category", LIST_CATEGORY, check=True)
        for addr in SUBSCRIBERS:
            self.admin("member", "add", LIST_NAME, addr, check=True)

    def _spawn_forumsim(self):
        argv = [PYTHON, self.binaries["forumsim"],
                "--listen", "127.0.0.1:0",
                "--api-key", self.forum_api_key,
                # the forum type's endpoint (NodeBB's webhooks are sent
                # only with "--nodebb-webhooks" in forumsim_args)
                "--webhook-url", "http://127.0.0.1:%d/webhooks/%s"
                % (self.webhook_port,
                   {"generic": "post", "nodebb": "nodebb"}.get(
                       self.forum_type, "discourse")),
                "--webhook-secret", self.webhook_secret,
                "--forum-type", self.forum_type,
                "--log", self.log_path("forumsim")] + self.forumsim_args
        if self.forum_type == "generic":
            argv += ["--generic-user", self.forum_api_username]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._spawn("forumsim", argv, LOG_NAMES["forumsim-out"], env=env)

    def _wait_forumsim(self):
        out = self.log_path("forumsim-out")

        def port():
            try:
                with open(out, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if line.startswith("forumsim listening on "):
                            return int(line.rsplit(":", 1)[1])
            except FileNotFoundError:
                pass
            self._check_alive("forumsim")
            return None
        try:
            self.forum_port = wait_for(port, self.start_timeout,
                                       "forumsim to print its port")
        except TimeoutError as e:
            raise StackError("%s; see %s and %s"
                             % (e, out, self.log_path("forumsim"))) from e
        self.forum_url = "http://127.0.0.1:%d" % self.forum_port
        self._wait_port("forumsim", self.forum_port)
        self.started.add("forumsim")

    def forum_sim(self, path, body=None, method=None, timeout=10):
        """Call a control endpoint of the simulator (e.g. "/__sim/reset");
        POST when a body is given, else GET; returns the decoded JSON."""
        if "forumsim" not in self.started:
            raise SkipTest("forum simulator not running")
        method = method or ("GET" if body is None else "POST")
        return http_json(method, self.forum_url + path, body, timeout,
                         error=lambda code, text: StackError(
                             "forumsim %s %s: HTTP %d %s"
                             % (method, path, code, text)))

    def forum_state(self):
        """The simulator's whole state (GET /__sim/state)."""
        return self.forum_sim("/__sim/state")

    def forum_topic_titled(self, title):
        """The simulator's topic with this title, or None."""
        for t in self.forum_state()["topics"]:
            if t["title"] == title:
                return t
        return None

    def forum_topic(self, title, raw, username, name, category=None):
        """A forum user creates a topic (POST /__sim/topic)."""
        body = {"title": title, "raw": raw, "username": username,
                "name": name}
        if category is not None:
            body["category"] = category
        return self.forum_sim("/__sim/topic", body)

    def forum_fail(self, mode, count=1, retry_after=1):
        """The next `count` API requests get `mode` ("429", "502", "503",
        "down" or "none") (POST /__sim/fail)."""
        return self.forum_sim("/__sim/fail", {"mode": mode, "count": count,
                                              "retry_after": retry_after})

    def forum_reply(self, topic_id, raw, username, name,
                    reply_to_post_number=None):
        """Create a post in the simulated forum as a forum user
        (POST /__sim/reply); returns the simulator's answer."""
        body = {"topic_id": topic_id, "raw": raw, "username": username,
                "name": name}
        if reply_to_post_number is not None:
            body["reply_to_post_number"] = reply_to_post_number
        return self.forum_sim("/__sim/reply", body)

    # -- misc ---------------------------------------------------------------------

    def describe(self):
        """One line per component, for humans."""
        lines = ["dir %s" % self.dir,
                 "smtp 127.0.0.1:%d (re-injection %d)"
                 % (self.smtp_port, self.reinject_port),
                 "lmtp %s" % self.lmtp_socket,
                 "redis %s (127.0.0.1:%d)" % (self.redis_socket,
                                              self.redis_port),
                 "config %s" % self.conf_path]
        if "forumsim" in self.started:
            lines.append("forum %s" % self.forum_url)
        if "policyd" in self.started:
            lines.append("policyd 127.0.0.1:%d" % self.policy_port)
        if "bridge" in self.started:
            lines.append("webhook 127.0.0.1:%d" % self.webhook_port)
        if "plugin" in self.started:
            lines.append("plugin %s" % self.binaries["plugin"])
        if "mailman" in self.started:
            lines.append("mailman %s (REST), LMTP 127.0.0.1:%d, %s"
                         % (self.mailman_rest_url, self.mailman_lmtp_port,
                            self.mailman_cfg))
        return "\n".join(lines)


def _queue_summary(items):
    if not items:
        return "empty"
    out = []
    for it in items:
        rc = ", ".join("%s (%s)" % (r.get("address"),
                                    r.get("delay_reason", "-"))
                       for r in it.get("recipients", []))
        out.append("%s %s from <%s> to %s" % (it.get("queue_name"),
                                              it.get("queue_id"),
                                              it.get("sender"), rc))
    return "; ".join(out)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise StackError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode("utf-8", "replace")
    if kind == b"-":
        raise RedisError(rest.decode("utf-8", "replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_resp_read(f) for _ in range(n)]
    raise StackError("unexpected redis reply: %r" % line)
