"""Secrets stay out of logs and output; forumgate-policyd gives up root.

The stack's forumgate-policyd is started as root with policyd_user =
nobody: its /proc status shows nobody's ids, and it still answers from
Redis. Then every secret moves into a *_file setting, the main file
becomes world-readable, forum_url and the SMTP routes carry
user:password@, and mail goes both ways (the first route is down, so its
failure is logged); forumgated is also started with a bad route and a
bad forum_url. Redis requires AUTH: each program has its own ACL user
and password file (redis_acl), and the admin command is also run with
a wrong Redis password. No log file of the stack, no admin output and
no mail holds a password or a secret."""

import os
import pwd
import re
import secrets
import subprocess

from stack import (POLICYD_USER, SmtpError, _free_port, requires, wait_for)

STACK_OPTIONS = {"full": True, "redis_acl": True}

PASSWORD = "pw-" + secrets.token_hex(10)
SMTP_SINK = "/usr/sbin/smtp-sink"

state = {}


def _status_ids(pid):
    """The Uid, Gid and Groups lines of /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        status = f.read()

    def field(name):
        m = re.search(r"^%s:\s*(.*)$" % name, status, re.M)
        return m.group(1).split()
    return field("Uid"), field("Gid"), field("Groups")


def _refused(stack, sender):
    msg = stack.make_message(sender, stack.list_address, "secrets policy",
                             "Policy as nobody.\n")
    try:
        stack.send_mail(sender, stack.list_address, msg)
    except SmtpError as e:
        return e
    raise AssertionError("%s was accepted" % sender)


def _write(stack, name, text, mode=0o640):
    path = stack.path(name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    # the plugin reads the configuration as the mail user
    os.chown(path, 0, stack.mail_gid)
    return path


def _run_policyd(stack, conf, as_user=None):
    """forumgate-policyd -f with another configuration, as root or as
    `as_user`; the Popen (stdout and stderr together)."""
    def setup():
        if as_user is not None:
            pw = pwd.getpwnam(as_user)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    return subprocess.Popen([stack.binaries["policyd"], "-c", conf, "-f"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True,
                            preexec_fn=setup, cwd="/")


@requires("policyd", "admin")
def test_policyd_runs_as_policyd_user(stack):
    """Started as root, the daemon runs as nobody (every uid and gid, no
    supplementary root group) and still decides from Redis."""
    pw = pwd.getpwnam(POLICYD_USER)
    uids, gids, groups = _status_ids(stack.daemon_pid("policyd"))
    assert uids == [str(pw.pw_uid)] * 4, uids
    assert gids == [str(pw.pw_gid)] * 4, gids
    assert "0" not in groups, groups
    assert "running as user %s" % POLICYD_USER in stack.log_tail("policyd",
                                                                  200)
    # membership read from Redis as nobody: a stranger is refused ...
    assert "not a member" in str(_refused(stack, "stranger@example.test"))
    # ... and a member is not
    msg = stack.make_message("alice@example.test", stack.list_address,
                             "secrets member", "Member as nobody.\n")
    stack.send_mail("alice@example.test", stack.list_address, msg)


@requires("policyd")
def test_policyd_unknown_user_is_fatal(stack):
    """A policyd_user that does not exist stops the daemon with a clear
    error (exit 78), before it serves anything."""
    conf = _write(stack, "policyd-nouser.conf",
                  "redis = unix:%s\npolicy_listen = 127.0.0.1:%d\n"
                  "policyd_user = fg-no-such-user\n"
                  % (stack.redis_socket, _free_port()), 0o644)
    p = _run_policyd(stack, conf)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 78, (p.returncode, out)
    assert "policyd_user fg-no-such-user: no such user" in out, out


@requires("policyd")
def test_policyd_started_as_user(stack):
    """Started as nobody, the daemon keeps that user (policyd_user names
    one that does not exist: it is not looked at) and serves."""
    port = _free_port()
    conf = _write(stack, "policyd-nobody.conf",
                  "redis = unix:%s\npolicy_listen = 127.0.0.1:%d\n"
                  "policyd_user = fg-no-such-user\n"
                  % (stack.redis_socket, port), 0o644)
    p = _run_policyd(stack, conf, as_user="nobody")
    try:
        line = p.stdout.readline()
        while line and "starting" not in line:
            line = p.stdout.readline()
        assert "starting" in line, line
        uids, _, _ = _status_ids(p.pid)
        assert uids == [str(pwd.getpwnam("nobody").pw_uid)] * 4
    finally:
        p.terminate()
        p.communicate(timeout=20)
    assert p.returncode == 0


def _grep_secrets(stack, needles):
    """Every log file of the stack dir, every mail and every message
    the relay got: (file, needle) pairs of what leaked."""
    found = []
    checked = 0
    for root, dirs, files in os.walk(stack.dir):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, stack.dir)
            if not (name.endswith(".log") or rel.startswith("mail/") or
                    rel.startswith("sink/") or "/new/" in rel or
                    "/cur/" in rel):
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            checked += 1
            for n in needles:
                if n.encode() in data:
                    found.append((rel, n))
    return found, checked


@requires("bridge", "policyd", "admin", "plugin", "forumsim")
def test_no_secret_in_logs_or_output(stack):
    """Secrets in *_file settings, credentials in forum_url and
    smtp_relay: mail both ways, a failing route, bad settings; nothing
    the stack wrote holds one of them."""
    sink_port, dead_port = _free_port(), _free_port()
    sink = stack.path("sink")
    os.makedirs(sink, exist_ok=True)
    os.chmod(sink, 0o777)
    # without AUTH announced (-a), curl sends the mail unauthenticated
    stack._spawn("sink", [SMTP_SINK, "-a", "-u", "nobody", "-d",
                          sink + "/%Y%m%d%H%M%S.",
                          "127.0.0.1:%d" % sink_port, "64"], "sink.log")
    stack._wait_banner("sink", ("tcp", sink_port), b"220")

    routes = ("smtp://fg-relay:%s@127.0.0.1:%d, "
              "smtp://fg-relay:%s@127.0.0.1:%d"
              % (PASSWORD, dead_port, PASSWORD, sink_port))
    files = {
        "secret_file": _write(stack, "secret.key", stack.secret + "\n"),
        "forum_api_key_file": _write(stack, "forum-api.key",
                                     stack.forum_api_key + "\n"),
        "webhook_secret_file": _write(stack, "webhook.key",
                                      stack.webhook_secret + "\n"),
        "smtp_relay_file": _write(stack, "smtp-relay.conf", routes + "\n"),
    }
    values = {k: v for k, v in stack.config.items()
              if k not in ("secret", "forum_api_key", "webhook_secret",
                           "smtp_relay")}
    forum_url = stack.forum_url.replace("http://",
                                        "http://fg-forum:%s@" % PASSWORD)
    values["forum_url"] = forum_url
    values.update(files)
    text = "".join("%s = %s\n" % kv for kv in values.items())
    _write(stack, "forumgate.conf", text, 0o644)   # world-readable now
    for d in ("bridge", "policyd"):
        stack.daemon_stop(d)
        stack.daemon_start(d)

    # forum -> list: the first route is down (logged), the second works
    title = "Secret-free topic %s" % secrets.token_hex(4)
    stack.forum_topic(title, "A post mailed through an authenticated "
                      "relay.", "webuser", "Web User",
                      category=int(stack.list_category))
    wait_for(lambda: any(title.encode() in open(os.path.join(sink, f),
                                                "rb").read()
                         for f in os.listdir(sink)), 30,
             "the forum post at the relay")
    log = stack.log_tail("forumgated", 400)
    assert "relay=smtp://127.0.0.1:%d, smtp://127.0.0.1:%d" \
        % (dead_port, sink_port) in log, log
    assert "forum=http://127.0.0.1:%d" % stack.forum_port in log
    assert "route smtp://127.0.0.1:%d: " % dead_port in log

    # list -> forum through Postfix, mlmmj and the plugin (secret_file)
    subject = "Mail with secrets elsewhere %s" % secrets.token_hex(4)
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, subject,
                             "Posted with forum_url credentials.\n")
    stack.send_mail("alice@example.test", stack.list_address, msg)
    wait_for(lambda: any(t["title"] == subject
                         for t in stack.forum_state()["topics"]), 45,
             "the list mail on the forum")

    # the admin command's output (kept in admin.log)
    for args in (("status",), ("list", "show", stack.list_name),
                 ("list", "ls")):
        stack.admin(*args)

    # fatal messages: a bad route, a bad forum_url
    for name, setting in (
            ("bad-route", "smtp_relay_file = %s\n" % _write(
                stack, "bad-route.relay", "smtp://u:%s@127.0.0.1:25 junk\n"
                % PASSWORD)),
            ("bad-forum", "smtp_relay_file = %s\nforum_url = "
             "ftp://u:%s@127.0.0.1/\n" % (files["smtp_relay_file"],
                                          PASSWORD))):
        lines = [ln for ln in text.splitlines(True)
                 if not ln.startswith(("smtp_relay_file", "forum_url",
                                       "webhook_listen"))]
        lines.append("webhook_listen = 127.0.0.1:%d\n" % _free_port())
        if name == "bad-route":
            lines.append("forum_url = %s\n" % forum_url)
        conf = _write(stack, name + ".conf", "".join(lines) + setting)
        r = subprocess.run([stack.binaries["bridge"], "-c", conf, "-f"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        with open(stack.path(name + ".log"), "w") as f:
            f.write(r.stdout + r.stderr)
        assert r.returncode != 0, (name, r.stdout, r.stderr)
        expect = ("smtp_relay: unexpected 'junk' after "
                  "smtp://127.0.0.1:25" if name == "bad-route" else
                  "forum_url 'ftp://127.0.0.1/' is not")
        assert expect in r.stderr + r.stdout, (name, r.stderr)

    # a wrong Redis password: refused, the user named, the password not
    wrong = "redis-" + PASSWORD
    conf = _write(stack, "wrong-redis.conf", "".join(
        ln for ln in text.splitlines(True)
        if not ln.startswith("admin_redis_password_file")) +
        "admin_redis_password_file = %s\n"
        % _write(stack, "wrong-redis.pass", wrong + "\n"))
    r = subprocess.run([stack.binaries["admin"], "-c", conf, "status"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    with open(stack.path("wrong-redis.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    assert r.returncode != 0 and "AUTH as user 'fg-admin' was refused" \
        in r.stderr, (r.returncode, r.stderr)

    needles = [PASSWORD, wrong, stack.secret, stack.forum_api_key,
               stack.webhook_secret, stack.redis_harness_password] + \
        [password for _, password in stack.redis_users.values()]
    found, checked = _grep_secrets(stack, needles)
    assert checked >= 10, checked
    assert not found, found
