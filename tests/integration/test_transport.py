"""The routes of smtp_relay through the real stack (doc/transports.md):
Postfix, Dovecot LMTP with the plugin at a list-mode posting address,
forumgate-policyd, forumgated's fan-out and forum->list worker, the
Discourse simulator, and a pipe route to a small recording script.

A list-mode list has subscribers in example.test (delivered by Postfix
into Dovecot) and in pipe.test, which a route `domains=pipe.test` hands
to the script with its own envelope sender base and From rewrite; the
script records each call's arguments, message and exit status. Exit 75
is retried later and the copy delivered once; exit 1 is a refusal,
counted and not retried. A forum post of the mirror-mode list goes
through a `lists=forum verp=no` pipe route, and its exit 1 dead-letters
the post.
"""

import hashlib
import hmac
import os
import uuid

from stack import requires, wait_for

LIST = "tp"
ADDRESS = "tp@lists.test"
CATEGORY = "23"
GW = "gw@lists.test"
POSTFIX_RCPT = "alice@example.test"
PIPE_RCPTS = ("yan@pipe.test", "zed@pipe.test")

STACK_OPTIONS = {"full": True, "dovecot_list_users": [(ADDRESS, LIST)]}

SCRIPT = """#!/bin/sh
# pipe-gw.sh STATE ARGS...: one call recorded as STATE/call-N.{argv,msg,exit}
d=$1; shift
n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"
code=$(cat "$d/exit" 2>/dev/null || echo 0)
printf '%s\\n' "$@" > "$d/call-$n.argv"
cat > "$d/call-$n.msg"
[ "$code" = 0 ] || echo "gateway says no ($code)" >&2
echo $code > "$d/call-$n.exit"
exit $code
"""


def _uid():
    return uuid.uuid4().hex[:8]


def _verp(stack, base, list_name, rcpt):
    """The VERP return path of a copy to rcpt on base (doc/verp.md)."""
    what = "r" + rcpt.lower().replace("@", "=")
    mac = hmac.new(stack.secret.encode(),
                   ("verp:%s.%s" % (list_name, what)).lower().encode(),
                   hashlib.sha256).hexdigest()[:16]
    local, domain = base.split("@")
    return "%s+fgb.%s.%s.%s@%s" % (local, mac, list_name, what, domain)


def _state(stack, name):
    d = stack.path(name)
    os.makedirs(d, exist_ok=True)
    return d


def _set_exit(stack, name, code):
    with open(os.path.join(_state(stack, name), "exit"), "w") as f:
        f.write("%d\n" % code)


def _calls(stack, name):
    """Every finished call of the script: dicts argv, msg, exit."""
    d, calls = _state(stack, name), []
    done = [f for f in os.listdir(d)
            if f.startswith("call-") and f.endswith(".exit")]
    for f in sorted(done, key=lambda f: int(f[5:-5])):
        base = os.path.join(d, f[:-len(".exit")])
        with open(base + ".argv") as a, open(base + ".msg", "rb") as m, \
                open(base + ".exit") as e:
            calls.append({"argv": a.read().splitlines(), "msg": m.read(),
                          "exit": int(e.read())})
    return calls


def _calls_for(stack, name, message_id):
    return [c for c in _calls(stack, name)
            if ("Message-ID: " + message_id).encode() in c["msg"]]


def _stat(stack, field):
    return int(stack.redis_call("HGET", "fg:{%s}:dist-stats" % LIST,
                                field) or 0)


def _post(stack, title):
    """alice posts to the list; waited for until the fan-out finished
    it. The message."""
    msg = stack.make_message("Alice Example <alice@example.test>", ADDRESS,
                             title, "A post for every route, %s.\n" % title)
    posts = _stat(stack, "posts")
    stack.send_mail("alice@example.test", ADDRESS, msg)
    wait_for(lambda: _stat(stack, "posts") >= posts + 1 and
             stack.redis_call("XLEN", "fg:{%s}:dist" % LIST) == 0,
             timeout=120, what="the fan-out of %s" % title, interval=0.1)
    return msg


def _forumgated_log(stack):
    with open(stack.log_path("forumgated"), errors="replace") as f:
        return f.read()


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_routes_configured(stack):
    """The list, its subscribers, and smtp_relay with three routes: a
    pipe for pipe.test, a pipe for the mirror-mode list's forum posts,
    Postfix for example.test and lists.test."""
    script = stack.path("pipe-gw.sh")
    with open(script, "w") as f:
        f.write(SCRIPT)
    os.chmod(script, 0o755)
    _set_exit(stack, "pipe-fanout", 0)
    _set_exit(stack, "pipe-forum", 0)
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "members", check=True)
    for addr in (POSTFIX_RCPT,) + PIPE_RCPTS:
        stack.admin("subscribe", LIST, addr, check=True)
    relay = (
        "pipe domains=pipe.test sender=%s from=%s timeout=30s "
        "argv=%s %s -f ${sender} -- ${recipient}, "
        "pipe lists=forum sender=%s verp=no argv=%s %s \"${list} list\" "
        "${sender} ${recipient}, "
        "smtp://127.0.0.1:%d domains=example.test:lists.test"
        % (GW, ADDRESS, script, _state(stack, "pipe-fanout"), GW, script,
           _state(stack, "pipe-forum"), stack.smtp_port))
    stack.restart_bridge(smtp_relay=relay)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_domain_routes_pipe_and_postfix(stack):
    """alice's post: her own copy through Postfix into Dovecot, with
    the VERP return path on bridge_address and her From; the pipe.test
    subscribers' copies through the script, one call each, with the
    route's envelope sender (VERP on gw@) in argv, the message on stdin
    with LF line ends and From rewritten to the list's address."""
    title = "Routed post %s" % _uid()
    msg = _post(stack, title)
    mid = msg["Message-ID"]
    got = stack.wait_mail(POSTFIX_RCPT, lambda m: m["Message-ID"] == mid,
                          timeout=60)
    assert got["Return-Path"] == "<%s>" % _verp(
        stack, stack.bridge_address, LIST, POSTFIX_RCPT), got["Return-Path"]
    assert got["From"].addresses[0].addr_spec == "alice@example.test"
    assert got["X-Original-From"] is None

    calls = _calls_for(stack, "pipe-fanout", mid)
    assert sorted(c["argv"][3] for c in calls) == list(PIPE_RCPTS), calls
    for c in calls:
        rcpt = c["argv"][3]
        assert c["exit"] == 0
        assert c["argv"] == ["-f", _verp(stack, GW, LIST, rcpt), "--",
                             rcpt], c["argv"]
        text = c["msg"].decode()
        assert "\r" not in text
        assert "\nSubject: [%s] %s\n" % (LIST, title) in "\n" + text, text
        assert "\nFrom: Alice Example <%s>\n" % ADDRESS in "\n" + text, text
        assert "\nReply-To: Alice Example <alice@example.test>\n" in text
        assert "\nX-Original-From: Alice Example <alice@example.test>\n" \
            in text
        assert "A post for every route, %s." % title in text
    # Postfix never saw the pipe.test recipients
    with open(stack.log_path("postfix"), errors="replace") as f:
        assert "pipe.test" not in f.read()
    assert ("fan-out: list=%s message_id=<%s>: sent to the subscribers: "
            "recipients=3 sent=3 refused=0" % (LIST, mid.strip("<>"))) \
        in _forumgated_log(stack)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_tempfail_retried_and_delivered_once(stack):
    """The script exits 75 (EX_TEMPFAIL): the fan-out stops at the
    first pipe.test recipient and retries; once the script takes mail
    again, each subscriber has the post exactly once."""
    _set_exit(stack, "pipe-fanout", 75)
    title = "Deferred post %s" % _uid()
    msg = stack.make_message("Alice Example <alice@example.test>", ADDRESS,
                             title, "Try again later.\n")
    mid = msg["Message-ID"]
    posts = _stat(stack, "posts")
    stack.send_mail("alice@example.test", ADDRESS, msg)
    deferred = ("fan-out: list=%s message_id=<%s> rcpt=<%s>: relay "
                "deferred: %s: exit status 75; output: gateway says no (75)"
                % (LIST, mid.strip("<>"), PIPE_RCPTS[0],
                   stack.path("pipe-gw.sh")))
    # observed: the command ran and said 75, twice (retried later)
    wait_for(lambda: _forumgated_log(stack).count(deferred) >= 2 and
             len([c for c in _calls_for(stack, "pipe-fanout", mid)
                  if c["exit"] == 75]) >= 2,
             timeout=60, what="two deferred tries", interval=0.1)
    assert _stat(stack, "posts") == posts
    _set_exit(stack, "pipe-fanout", 0)
    wait_for(lambda: _stat(stack, "posts") == posts + 1, timeout=60,
             what="the fan-out after the deferral", interval=0.1)
    calls = _calls_for(stack, "pipe-fanout", mid)
    for rcpt in PIPE_RCPTS:
        ok = [c for c in calls if c["argv"][3] == rcpt and c["exit"] == 0]
        assert len(ok) == 1, (rcpt, calls)
    # the first recipient: only 75s before its one delivery, the last
    first = [c["exit"] for c in calls if c["argv"][3] == PIPE_RCPTS[0]]
    assert first[-1] == 0 and set(first[:-1]) == {75}, first
    stack.wait_mail(POSTFIX_RCPT, lambda m: m["Message-ID"] == mid,
                    timeout=60)
    stack.wait_queue_empty()
    assert len([m for m in stack.mailbox(POSTFIX_RCPT)
                if m["Message-ID"] == mid]) == 1
    assert ("recipients=3 sent=3 refused=0" in
            [ln for ln in _forumgated_log(stack).splitlines()
             if "message_id=<%s>: sent to the subscribers" % mid.strip("<>")
             in ln][0])


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_permanent_exit_refused(stack):
    """The script exits 1: each pipe.test recipient is refused once,
    logged with the script's output and counted; the fan-out goes on
    and finishes (alice has her copy)."""
    _set_exit(stack, "pipe-fanout", 1)
    refused = _stat(stack, "refused")
    msg = _post(stack, "Refused post %s" % _uid())
    mid = msg["Message-ID"]
    calls = _calls_for(stack, "pipe-fanout", mid)
    assert sorted(c["argv"][3] for c in calls) == list(PIPE_RCPTS), calls
    assert all(c["exit"] == 1 for c in calls)
    log = _forumgated_log(stack)
    for rcpt in PIPE_RCPTS:
        line = ("fan-out: list=%s message_id=<%s> rcpt=<%s>: refused by "
                "the relay, not retried: %s: exit status 1; output: "
                "gateway says no (1)" % (LIST, mid.strip("<>"), rcpt,
                                         stack.path("pipe-gw.sh")))
        assert line in log, log[-3000:]
    assert ("message_id=<%s>: sent to the subscribers: recipients=3 sent=1 "
            "refused=2" % mid.strip("<>")) in log
    assert _stat(stack, "refused") == refused + 2
    stack.wait_mail(POSTFIX_RCPT, lambda m: m["Message-ID"] == mid,
                    timeout=60)
    _set_exit(stack, "pipe-fanout", 0)


def _forum_calls(stack, title):
    return [c for c in _calls(stack, "pipe-forum")
            if ("Subject: " + title).encode() in c["msg"] or
            title.encode() in c["msg"]]


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_forum_post_through_list_route(stack):
    """A forum post of the mirror-mode list "forum" goes through its
    `lists=forum verp=no` pipe route: the plain sender, the list address
    and the quoted argument in argv. Then the script exits 1: the post
    is dead-lettered with the script's answer."""
    dead = int(stack.redis("XLEN", "fg:{forum}:dead") or 0)
    title = "Forum post by pipe %s" % _uid()
    stack.forum_topic(title, "Mailed through a command, not SMTP.",
                      "webuser", "Web User",
                      category=int(stack.list_category))
    wait_for(lambda: _forum_calls(stack, title), timeout=60,
             what="the forum post at the pipe")
    (call,) = _forum_calls(stack, title)
    assert call["argv"] == ["forum list", GW, stack.list_address], call
    assert call["exit"] == 0
    assert b"Mailed through a command, not SMTP." in call["msg"]

    _set_exit(stack, "pipe-forum", 1)
    title = "Refused forum post %s" % _uid()
    stack.forum_topic(title, "The gateway refuses this one.", "webuser",
                      "Web User", category=int(stack.list_category))
    wait_for(lambda: int(stack.redis("XLEN", "fg:{forum}:dead") or 0)
             == dead + 1, timeout=60, what="the dead letter")
    entry = stack.redis_call("XREVRANGE", "fg:{forum}:dead", "+", "-",
                             "COUNT", "1")[0][1]
    fields = dict(zip(entry[::2], entry[1::2]))
    assert fields["reason"] == (
        "relay refused the mail: %s: exit status 1; output: gateway says "
        "no (1)" % stack.path("pipe-gw.sh")), fields
    assert len(_forum_calls(stack, title)) == 1
