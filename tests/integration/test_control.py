"""The control addresses of a list-mode list through the real stack:
Postfix, Dovecot LMTP with the plugin, forumgated's control worker.

The list `ctl@lists.test` is in list mode; its control addresses
(ctl-owner@, ctl-confirm@ for ctl-confirm+TOKEN@, ctl-bogus@) are Dovecot
users naming the list, as doc/list-mode.md ("Control addresses") says.
Mail to them is queued in fg:{ctl}:control once per address and
Message-ID and handed to the command of its role by forumgated; what is
no command (an automatic reply, mail to an unknown ctl-WORD@) is kept
under "Not posted/control". Mail to ctl-owner@ is forwarded to the
list's moderators, and dead-lettered with the reason while it has none.
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
    logged by forumgated's control worker, and (the list has no
    moderators yet) dead-lettered with the reason; the same message
    delivered again is not queued a second time."""
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
    assert d["reason"] == ("mail to <ctl-owner@lists.test> not forwarded: "
                           "the list has no moderators (forumgate list set "
                           "LIST moderators ADDRS)"), d["reason"]
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
    delimiter to the list's user and on to forumgated with its token:
    a token that is none changes nothing and is said so in the log."""
    uid = _uid()
    title = "Re: confirm %s" % uid
    rcpt = "ctl-confirm+c1.%s@lists.test" % uid
    msg = stack.make_message("alice@example.test", rcpt, title, "ok\n")
    mid = msg["Message-ID"].strip("<>")
    offsets = stack.log_offsets()
    stack.send_mail("alice@example.test", rcpt, msg)
    seen = "control: list=ctl role=confirm from=<alice@example.test> " \
        "message_id=<%s> rcpt=<%s>" % (mid, rcpt)
    refused = "message_id=<%s> from=<alice@example.test>: confirmation " \
        "token: not a token: nothing changed" % mid
    wait_for(lambda: refused in stack.logs_since(
        offsets, lines=10 ** 6)["forumgated"], timeout=30,
        what="forumgated refusing the token")
    assert seen in stack.logs_since(offsets, lines=10 ** 6)["forumgated"]
    assert stack.admin("subscribers", LIST, "--json",
                       check=True).stdout.count("alice@example.test") == 1


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


@requires("plugin", "forumsim", "bridge", "admin")
def test_owner_mail_forwarded_to_moderators(stack):
    """With moderators set, mail to ctl-owner@ reaches each of them once,
    as it came (without the trace headers of its delivery to ctl-owner@),
    from the moderator's own VERP return path; a moderator address that
    is the list's own is skipped, not mailed (a loop)."""
    stack.admin("list", "set", LIST, "moderators",
                "carol@example.test, ctl@lists.test", check=True)
    uid = _uid()
    title = "Question for the owners %s" % uid
    msg = stack.make_message("bob@example.test", "ctl-owner@lists.test",
                             title, "Who runs this list, %s?\n" % uid)
    offsets = stack.log_offsets()
    stack.send_mail("bob@example.test", "ctl-owner@lists.test", msg)
    got = stack.wait_mail("carol@example.test",
                          lambda m: m["Subject"] == title, timeout=30)
    assert got["Message-ID"] == msg["Message-ID"]
    assert got["From"] == msg["From"]
    assert "Who runs this list, %s?" % uid in got.get_payload()
    assert got.get_all("Delivered-To") == ["carol@example.test"], \
        got.get_all("Delivered-To")
    assert "+fgb." in got["Return-Path"], got["Return-Path"]
    assert ".ctl.rcarol=example.test@" in got["Return-Path"].lower(), \
        got["Return-Path"]
    log = wait_for(lambda: (lambda t: t if "forwarded to 1 of 2 "
                            "moderators" in t else None)(
        stack.logs_since(offsets, lines=10 ** 6)["forumgated"]),
        timeout=30, what="the forwarding logged")
    assert "moderator <ctl@lists.test> is an address of the list itself" \
        in log
    # nothing reached the list's own mailbox or the forum
    assert not [m for m in stack.mailbox(ADDRESS)
                if m["Subject"] == title]
    assert len([m for m in stack.mailbox("carol@example.test")
                if m["Subject"] == title]) == 1
