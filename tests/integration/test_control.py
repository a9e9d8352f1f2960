"""The control addresses of a list-mode list through the real stack:
Postfix, Dovecot LMTP with the plugin, forumgated's control worker.

The list `ctl@lists.test` is in list mode; its control addresses
(ctl-owner@, ctl-confirm@ for ctl-confirm+TOKEN@, ctl-bogus@) are Dovecot
users naming the list, as doc/list-mode.md ("Control addresses") says.
Mail to them is queued in fg:{ctl}:control once per address and
Message-ID and handed to the command of its role by forumgated; what is
no command (an automatic reply, mail to an unknown ctl-WORD@) is kept
under "Not posted/control"; a role without a command is dead-lettered
with the reason.
"""

import uuid

from stack import requires, wait_for

LIST = "ctl"
ADDRESS = "ctl@lists.test"
CATEGORY = "9"
USERS = [(ADDRESS, LIST)] + [("ctl-%s@lists.test" % w, LIST)
                             for w in ("owner", "confirm", "bogus")]

STACK_OPTIONS = {"full": True, "dovecot_list_users": USERS}


def _uid():
    return uuid.uuid4().hex[:8]


def _control_entries(stack):
    """Every entry of fg:{ctl}:control (and those forumgated finished
    are gone): [{field: value}]."""
    reply = stack.redis_call("XRANGE", "fg:{%s}:control" % LIST, "-", "+")
    return [{f[i]: f[i + 1] for i in range(0, len(f), 2)}
            for _id, f in reply or []]


def _dead(stack):
    reply = stack.redis_call("XRANGE", "fg:{%s}:dead" % LIST, "-", "+")
    return [{f[i]: f[i + 1] for i in range(0, len(f), 2)}
            for _id, f in reply or []]


def _kept(stack, user, title):
    return [m for m in stack.not_posted(user).get("control", [])
            if title in str(m["Subject"])]


@requires("plugin", "forumsim", "bridge", "admin")
def test_list_defined(stack):
    stack.admin("list", "add", LIST, "--mode", "list", "--address", ADDRESS,
                "--category", CATEGORY, check=True)
    stack.admin("subscribe", LIST, "alice@example.test", check=True)


@requires("plugin", "forumsim", "bridge", "admin")
def test_control_mail_reaches_its_role_once(stack):
    """Mail to ctl-owner@ through Postfix is queued with role owner,
    logged by forumgated's control worker, and (no command takes owner
    mail) dead-lettered with the reason; the same message delivered
    again is not queued a second time."""
    uid = _uid()
    title = "For the owners %s" % uid
    msg = stack.make_message("alice@example.test", "ctl-owner@lists.test",
                             title, "Hello owners.\n")
    offsets = stack.log_offsets()
    stack.send_mail("alice@example.test", "ctl-owner@lists.test", msg)
    dead = wait_for(lambda: [d for d in _dead(stack)
                             if d.get("subject") == title], timeout=30,
                    what="the owner mail dead-lettered by forumgated")
    assert len(dead) == 1
    d = dead[0]
    assert d["queue"] == "control", d
    assert d["role"] == "owner" and d["detail"] == "", d
    assert d["from"] == "alice@example.test", d
    assert d["rcpt"] == "ctl-owner@lists.test", d
    assert "no command for mail to <ctl-owner@lists.test>" in d["reason"]
    assert title in d["message"]
    logs = stack.logs_since(offsets, lines=10 ** 6)
    assert "queued for forumgated: control role=owner" in logs["dovecot"]
    assert "control: list=ctl role=owner from=<alice@example.test>" in \
        logs["forumgated"]
    # delivered again (a retried delivery): queued once
    stack.send_mail("alice@example.test", "ctl-owner@lists.test", msg)
    wait_for(lambda: "(queued before)" in
             stack.logs_since(offsets, lines=10 ** 6)["dovecot"],
             timeout=30, what="the second delivery found queued before")
    assert len([d for d in _dead(stack) if d.get("subject") == title]) == 1


@requires("plugin", "forumsim", "bridge", "admin")
def test_confirm_token_reaches_control_stream(stack):
    """ctl-confirm+TOKEN@ goes through Postfix and Dovecot's recipient
    delimiter to the list's user; the token is the entry's detail."""
    uid = _uid()
    title = "Re: confirm %s" % uid
    # forumgated would take the entry at once: another daemon holds the
    # list's control lease while the entry is looked at
    stack.redis_call("SET", "fg:{%s}:lease:control" % LIST,
                     "another-daemon", "PX", 3600 * 1000)
    try:
        rcpt = "ctl-confirm+c1.%s@lists.test" % uid
        msg = stack.make_message("alice@example.test", rcpt, title, "ok\n")
        stack.send_mail("alice@example.test", rcpt, msg)
        entry = wait_for(lambda: [e for e in _control_entries(stack)
                                  if e.get("subject") == title],
                         timeout=30, what="the confirmation queued")[0]
        assert entry["role"] == "confirm"
        assert entry["detail"] == "c1.%s" % uid
        assert entry["envelope_from"] == "alice@example.test"
    finally:
        stack.redis_call("DEL", "fg:{%s}:lease:control" % LIST)


@requires("plugin", "forumsim", "bridge", "admin")
def test_auto_reply_and_unknown_address_are_no_command(stack):
    """A vacation reply to ctl-confirm+TOKEN@ confirms nothing, mail to
    ctl-bogus@ is no command: both are kept under Not posted/control
    and neither reaches the control stream."""
    before = stack.redis_call("XLEN", "fg:{%s}:control" % LIST)
    dead_before = len(_dead(stack))
    uid = _uid()
    auto = "Out of office %s" % uid
    msg = stack.make_message("alice@example.test",
                             "ctl-confirm+c1.x@lists.test", auto,
                             "I am away.\n")
    msg["Auto-Submitted"] = "auto-replied"
    stack.send_mail("alice@example.test", "ctl-confirm+c1.x@lists.test", msg)
    kept = wait_for(lambda: _kept(stack, "ctl-confirm@lists.test", auto),
                    timeout=30, what="the auto-reply kept as control")
    assert len(kept) == 1
    bogus = "Bogus %s" % uid
    msg = stack.make_message("alice@example.test", "ctl-bogus@lists.test",
                             bogus, "What is this?\n")
    stack.send_mail("alice@example.test", "ctl-bogus@lists.test", msg)
    wait_for(lambda: _kept(stack, "ctl-bogus@lists.test", bogus),
             timeout=30, what="the unknown address's mail kept as control")
    assert stack.redis_call("XLEN", "fg:{%s}:control" % LIST) == before
    assert len(_dead(stack)) == dead_before
    counts = stack.redis_call("HGETALL", "fg:{%s}:not-posted" % LIST)
    counts = dict(zip(counts[::2], counts[1::2]))
    assert int(counts.get("control", 0)) >= 2, counts
