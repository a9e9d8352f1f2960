"""Redis with ACL users: each forumgate program as its own user.

The stack's Redis runs with the users of doc/redis-acl.md (the rules are
read from that file), the default user behind a password nobody is
told, so nothing works without AUTH. Each program has its own user and password file. The round trip
works (list mail -> forum topic, forum reply -> list mail, policy
decisions, forumgate status); each user is refused what the doc says it
may not do; a program whose user lacks a right fails with an error that
names the user, the command and the keys (the admin command, forumgated,
forumgate-policyd and the plugin are each tried); the plugin then temp-fails
and the mail waits in Postfix's queue until the right is granted.
"""

import os
import subprocess
import uuid

from stack import SmtpError, requires, wait_for

STACK_OPTIONS = {"full": True, "redis_acl": True}

thread = {}


def _topic_by_title(stack, title):
    return next((t for t in stack.forum_state()["topics"]
                 if t["title"] == title), None)


def _as_user(stack, program, *args):
    """redis-cli as a program's ACL user: (exit status, output)."""
    user, password = stack.redis_users[program]
    r = subprocess.run([stack.redis_cli, "-s", stack.redis_socket,
                        "--user", user, "--pass", password,
                        "--no-auth-warning"] + list(args),
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


def _logs_since(stack, offsets):
    return "\n".join(stack.logs_since(offsets, 400).values())


def _take_right(stack, program, rule, what):
    """A list copy titled after `what`, and the log offsets, taken just
    before `rule` (ACL SETUSER) takes a right from the program's user."""
    title = "%s %s" % (what, uuid.uuid4().hex[:8])
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             title, "This mail waited: %s.\n" % what)
    offsets = stack.log_offsets()
    stack.redis_acl_setuser(program, rule)
    return title, msg, offsets


def _deferred_reason(stack, address):
    for item in stack.postfix_queue():
        for r in item.get("recipients", []):
            if (r.get("address") == address and
                    "451" in r.get("delay_reason", "")):
                return r["delay_reason"]
    return None


def test_auth_required(stack):
    """Without AUTH Redis answers nothing: whatever works below went
    through the programs' own users."""
    r = subprocess.run([stack.redis_cli, "-s", stack.redis_socket, "PING"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert "NOAUTH" in r.stdout + r.stderr or \
        "WRONGPASS" in r.stdout + r.stderr, (r.stdout, r.stderr)
    users = stack.redis("ACL", "USERS").split()
    for program in ("plugin", "policyd", "bridge", "admin"):
        assert stack.redis_users[program][0] in users, users


@requires("bridge", "policyd")
def test_daemons_connect_as_their_users(stack):
    """forumgated and forumgate-policyd hold connections as fg-bridge
    and fg-policyd."""
    def users():
        return {f.split("=", 1)[1] for line in
                stack.redis("CLIENT", "LIST").splitlines()
                for f in line.split() if f.startswith("user=")}
    seen = wait_for(lambda: (lambda u: u if {"fg-bridge", "fg-policyd"} <= u
                             else None)(users()),
                    timeout=20, what="the daemons' connections")
    assert "default" not in seen, seen


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_list_mail_becomes_topic(stack):
    """Member -> list -> plugin (fg-plugin) -> queue -> forumgated
    (fg-bridge) -> forum; the policy daemon (fg-policyd) let it in."""
    title = "ACL topic %s" % uuid.uuid4().hex[:8]
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, title,
                             "Posted through Redis ACL users.\n")
    stack.send_mail("alice@example.test", stack.list_address, msg)
    topic = wait_for(lambda: _topic_by_title(stack, title), timeout=45,
                     what="topic %r on the forum" % title)
    thread["topic"] = topic


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_forum_reply_becomes_mail(stack):
    """A forum reply is mailed to the list by forumgated (fg-bridge)."""
    topic = thread.get("topic")
    assert topic, "needs test_list_mail_becomes_topic"
    text = "A reply from the forum %s" % uuid.uuid4().hex[:8]
    stack.forum_reply(topic["id"], text, "webuser", "Web User")
    wait_for(lambda: [m for m in stack.mailbox("bob@example.test")
                      if not m.is_multipart() and text in m.get_content()],
             timeout=45, what="the forum reply in bob's mailbox")


def _stranger_answer(stack):
    """What Postfix answers a stranger's mail to the list."""
    msg = stack.make_message("stranger@example.test", stack.list_address,
                             "ACL policy", "From a stranger.\n")
    try:
        stack.send_mail("stranger@example.test", stack.list_address, msg)
    except SmtpError as e:
        return str(e)
    raise AssertionError("the stranger was accepted")


@requires("policyd")
def test_policy_decisions(stack):
    """forumgate-policyd (fg-policyd) reads members: a stranger is
    refused."""
    answer = _stranger_answer(stack)
    assert "not a member" in answer, answer
    assert "NOPERM" not in stack.log_tail("policyd", 400)


@requires("admin")
def test_admin_status(stack):
    """forumgate status as fg-admin."""
    r = stack.admin("status")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert stack.list_name in r.stdout, r.stdout


def test_round_trip_without_refusals(stack):
    """Nothing any program did so far was refused by Redis: the rules
    of doc/redis-acl.md hold every right the round trip needs."""
    refused = []
    for root, _, files in os.walk(stack.dir):
        for name in files:
            if name.endswith(".log"):
                with open(os.path.join(root, name), errors="replace") as f:
                    refused += [line for line in f
                                if "NOPERM" in line or "may not run" in line
                                or "executing the script can't" in line]
    assert not refused, "".join(refused[:5])


def test_least_privilege(stack):
    """What doc/redis-acl.md says each user may not do, Redis refuses."""
    members = "fg:{%s}:members" % stack.list_name
    queue_in = "fg:{%s}:in" % stack.list_name
    config = "fg:{%s}:config" % stack.list_name
    # the plugin cannot read members, nor change a list's configuration
    assert "NOPERM" in _as_user(stack, "plugin", "SMEMBERS", members)
    assert "NOPERM" in _as_user(stack, "plugin", "HSET", config, "x", "1")
    # the policy daemon cannot write a queue
    assert "NOPERM" in _as_user(stack, "policyd", "XADD", queue_in, "*",
                                "a", "b")
    assert "NOPERM" in _as_user(stack, "policyd", "HSET", config, "x", "1")
    # forumgated cannot read or change members
    assert "NOPERM" in _as_user(stack, "bridge", "SMEMBERS", members)
    assert "NOPERM" in _as_user(stack, "bridge", "SADD", members, "x@y")
    # nobody may act on the whole server or on keys outside fg:
    for program in ("plugin", "policyd", "bridge", "admin"):
        assert "NOPERM" in _as_user(stack, program, "FLUSHALL")
        assert "NOPERM" in _as_user(stack, program, "GET", "other:key")
    # and what they need works
    assert "NOPERM" not in _as_user(stack, "policyd", "SMEMBERS", members)
    assert "NOPERM" not in _as_user(stack, "plugin", "HGETALL", config)


@requires("admin")
def test_admin_missing_right_named(stack):
    """fg-admin without SMEMBERS: `forumgate lists` fails and says
    which user may not run what on which key."""
    stack.redis_acl_setuser("admin", "-smembers")
    try:
        r = stack.admin("lists")
    finally:
        stack.redis_acl_restore("admin")
    assert r.returncode != 0, r.stdout
    assert "user 'fg-admin' may not run SMEMBERS on fg:lists (NOPERM" \
        in r.stderr, r.stderr
    assert stack.admin("lists").returncode == 0


@requires("admin")
def test_wrong_password_names_user(stack):
    """A wrong password: the error names the user, never the password."""
    wrong = "wrong-" + uuid.uuid4().hex
    path = stack.path("wrong-admin.pass")
    with open(path, "w") as f:
        f.write(wrong + "\n")
    conf = stack.path("wrong-admin.conf")
    with open(stack.conf_path) as f:
        text = "".join(line for line in f
                       if not line.startswith("admin_redis_password_file"))
    with open(conf, "w") as f:
        f.write(text + "admin_redis_password_file = %s\n" % path)
    r = subprocess.run([stack.binaries["admin"], "-c", conf, "status"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0, r.stdout
    assert "AUTH as user 'fg-admin' was refused" in r.stderr, r.stderr
    assert wrong not in r.stdout + r.stderr


@requires("plugin", "policyd", "forumsim", "bridge", "admin")
def test_refused_auth_named(stack):
    """The passwords of fg-policyd and fg-plugin change under them and
    their connections are closed: each reconnect's AUTH is refused, the
    log names the user; list mail is deferred, not lost, and goes
    through once the passwords are back."""
    offsets = stack.log_offsets()
    for program in ("policyd", "plugin"):
        stack.redis_acl_setuser(program, "resetpass",
                                ">" + uuid.uuid4().hex)
        stack.redis("CLIENT", "KILL", "USER", stack.redis_users[program][0])
    title = "Waited for a password %s" % uuid.uuid4().hex[:8]
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             title, "This mail waited for AUTH.\n")
    try:
        wait_for(lambda: "AUTH as user 'fg-policyd' was refused"
                 in _logs_since(stack, offsets),
                 timeout=30, what="policyd's refused AUTH in its log")
        stack.send_list_copy(msg)
        wait_for(lambda: _deferred_reason(stack, stack.bridge_address),
                 timeout=30, what="Postfix to defer the mail with a 451")
        # the first delivery may meet the closed connection; its retry
        # connects again and is refused
        def refused():
            stack.postfix_flush()
            return "AUTH as user 'fg-plugin' was refused" in \
                _logs_since(stack, offsets)
        wait_for(refused, timeout=30, interval=1,
                 what="the plugin's refused AUTH in Dovecot's log")
        log = _logs_since(stack, offsets)
        for program in ("policyd", "plugin"):
            assert stack.redis_users[program][1] not in log
    finally:
        stack.redis_acl_restore("policyd")
        stack.redis_acl_restore("plugin")
    stack.postfix_flush()
    wait_for(lambda: _topic_by_title(stack, title), timeout=60,
             what="the deferred mail to be posted")
    wait_for(lambda: "not a member" in _stranger_answer(stack),
             timeout=60, what="policyd to decide from Redis again")


@requires("policyd")
def test_policyd_missing_right_named(stack):
    """fg-policyd without HGETALL: its next read of the posting
    addresses fails with the user, command and key in its log."""
    offsets = stack.log_offsets()
    stack.redis_acl_setuser("policyd", "-hgetall")
    try:
        wait_for(lambda: "may not run HGETALL on fg:addresses (NOPERM"
                 in _logs_since(stack, offsets),
                 timeout=30, what="the refused HGETALL in policyd's log")
    finally:
        stack.redis_acl_restore("policyd")


@requires("plugin", "forumsim", "bridge", "admin")
def test_bridge_missing_right_named(stack):
    """fg-bridge without XREADGROUP: forumgated's log names the user,
    the command and the queue; list mail queued meanwhile is posted once
    the right is back."""
    title, msg, offsets = _take_right(stack, "bridge", "-xreadgroup",
                                      "Waited for the bridge's right")
    try:
        wait_for(lambda: "user 'fg-bridge' may not run XREADGROUP on "
                 "fg:{%s}:" % stack.list_name in _logs_since(stack, offsets),
                 timeout=30, what="the refused XREADGROUP in the log")
        stack.send_list_copy(msg)
        stack.wait_queue_empty()
        assert _topic_by_title(stack, title) is None
    finally:
        stack.redis_acl_restore("bridge")
    wait_for(lambda: _topic_by_title(stack, title), timeout=60,
             what="the queued mail to be posted")


@requires("plugin", "forumsim", "bridge", "admin")
def test_plugin_missing_right_tempfails(stack):
    """fg-plugin without EVAL (its selector gone): the delivery to the bridge temp-fails
    (451, the mail stays in Postfix's queue) with the missing right in
    Dovecot's log; once the right is back the mail is posted once."""
    title, msg, offsets = _take_right(stack, "plugin", "clearselectors",
                                      "Held by a missing right")
    try:
        stack.send_list_copy(msg)
        wait_for(lambda: _deferred_reason(stack, stack.bridge_address),
                 timeout=30, what="Postfix to defer the mail with a 451")
        log = _logs_since(stack, offsets)
        assert "user 'fg-plugin' may not run EVAL on fg:{%s}:in" \
            % stack.list_name in log, log
        assert _topic_by_title(stack, title) is None
    finally:
        stack.redis_acl_restore("plugin")
    stack.postfix_flush()
    wait_for(lambda: _topic_by_title(stack, title), timeout=60,
             what="the deferred mail to be posted")
    stack.wait_queue_empty(timeout=30)
    stack.wait_bridge_idle(queues=("in",))
    matches = [t for t in stack.forum_state()["topics"]
               if t["title"] == title]
    assert len(matches) == 1 and len(matches[0]["posts"]) == 1, matches
