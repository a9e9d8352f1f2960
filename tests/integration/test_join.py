"""Subscribing and unsubscribing by mail through the real stack: Postfix
with forumgate-policyd, Dovecot LMTP with the plugin at the list's
control addresses, forumgated's control worker (bridge-join.c) and its
confirmation page (bridge-confirm.c).

The list `jl@lists.test` is in list mode with members-only access; its
control addresses jl-join@, jl-leave@, jl-request@ and jl-confirm@
(for jl-confirm+TOKEN@) are Dovecot users naming the list. A join by
mail brings a confirmation request into the sender's mailbox; the reply
to it, through Postfix, subscribes the address and brings a welcome;
leave works the same way; the link's GET changes nothing and its POST
confirms; a forged, an expired, a used token and a reply from another
address change nothing; past confirm_daily_limit nothing more is sent
to an address; the policy daemon takes jl-join@ from a non-member whose
post to jl@ it refuses.
"""

import hashlib
import hmac
import http.client
import json
import re
import time
import uuid

from stack import SmtpError, requires, wait_for

LIST = "jl"
ADDRESS = "jl@lists.test"
CATEGORY = "21"
CONFIRM_URL = "https://lists.test/fg/confirm"
USERS = [(ADDRESS, LIST)] + [("jl-%s@lists.test" % w, LIST)
                             for w in ("join", "leave", "request", "confirm")]

STACK_OPTIONS = {"full": True, "dovecot_list_users": USERS}


def _uid():
    return uuid.uuid4().hex[:8]


def _subscribers(stack):
    out = stack.admin("subscribers", LIST, "--json", check=True).stdout
    return {s["address"]: s["state"] for s in json.loads(out)}


def _token(stack, action, address, expires, secret=None):
    """A confirmation token as doc/list-mode.md describes it."""
    address = address.lower()
    mac = hmac.new((secret or stack.secret).encode(),
                   ("confirm:%s.%s.%d.%s" % (LIST, action, expires,
                                             address)).encode(),
                   hashlib.sha256).hexdigest()[:20]
    return "%s.%d.%s.%s" % (action, expires, address.encode().hex(), mac)


def _ask(stack, sender, rcpt, subject="", body="Please.\n"):
    """Mail rcpt from sender through Postfix; the message sent."""
    msg = stack.make_message(sender, rcpt, subject or "Request " + _uid(),
                             body)
    stack.send_mail(sender, rcpt, msg)
    return msg


def _answer(stack, user, msg):
    """The list's answer to msg in user's mailbox."""
    return stack.wait_mail(user, lambda m: m["In-Reply-To"] ==
                           msg["Message-ID"], timeout=30)


def _reply(stack, sender, request):
    """Reply to a confirmation request from sender, as a mail client
    does: to its Reply-To."""
    to = request["Reply-To"].strip("<> ")
    msg = stack.make_message(sender, to, "Re: " + str(request["Subject"]),
                             "Yes, please.\n\n> " + _uid() + "\n")
    stack.send_mail(sender, to, msg)
    return msg


def _wait_log(stack, offsets, text, what):
    wait_for(lambda: text in stack.logs_since(offsets, lines=10 ** 6)
             .get("forumgated", ""), timeout=30, what=what)


def _words(msg):
    """A confirmation request's text less its address and token."""
    text = msg.get_content().replace("bob@", "X@").replace("alice@", "X@")
    return text.split("reply to this message")[0]


def _http(stack, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", stack.webhook_port,
                                      timeout=10)
    try:
        conn.request(method, path, body="confirm=1" if method == "POST"
                     else None, headers={"Content-Type":
                                         "application/x-www-form-urlencoded"}
                     if method == "POST" else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _policyd_addresses(stack):
    """How many posting addresses the policy daemon said it read last."""
    with open(stack.log_path("policyd")) as f:
        counts = re.findall(r"(\d+) list posting addresses", f.read())
    return int(counts[-1]) if counts else -1


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_defined(stack):
    stack.admin("list", "add", LIST, "--mode", "list", "--address", ADDRESS,
                "--category", CATEGORY, check=True)
    # the policy daemon reads the posting addresses again within
    # policy_refresh, and logs their new count
    wait_for(lambda: _policyd_addresses(stack) ==
             stack.redis_call("HLEN", "fg:addresses"), timeout=30,
             what="the policy daemon knowing the list")
    stack.admin("list", "set", LIST, "access", "members", check=True)
    stack.restart_bridge(confirm_url=CONFIRM_URL, confirm_daily_limit=3)
    assert _subscribers(stack) == {}


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_policyd_takes_join_from_non_member(stack):
    """dave is no member: his post to jl@ is refused at RCPT time, his
    mail to jl-join@ (and to jl-confirm+TOKEN@) is accepted; his join is
    answered (the first of test_daily_limit's)."""
    msg = stack.make_message("dave@example.test", ADDRESS, "Post", "Hi\n")
    try:
        stack.send_mail("dave@example.test", ADDRESS, msg)
        raise AssertionError("a non-member's post was accepted")
    except SmtpError as e:
        assert e.code in (550, 554) and "not a member" in e.text, e
    offsets = stack.log_offsets()
    code, _text = stack.send_mail(
        "dave@example.test", "jl-join@lists.test",
        stack.make_message("dave@example.test", "jl-join@lists.test",
                           "join", "join\n"))
    assert code == 250
    code, _text = stack.send_mail(
        "dave@example.test", "jl-confirm+x.1.2@lists.test",
        stack.make_message("dave@example.test", "jl-confirm+x.1.2@lists.test",
                           "Re: confirm", "ok\n"))
    assert code == 250
    wait_for(lambda: stack.logs_since(offsets, lines=10 ** 6)["policyd"]
             .count("reason=control address") >= 2, timeout=30,
             what="policyd's two decisions on control addresses")
    # counted against the sender's rate for the list
    wait_for(lambda: int(stack.redis_call(
        "GET", "fg:{%s}:rate:dave@example.test" % LIST) or 0) >= 2,
        timeout=30, what="the two messages counted")


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_join_by_reply(stack):
    """alice mails jl-join@: a confirmation request comes, nothing
    changes before she replies; her reply subscribes her and brings the
    welcome; a second join gets the short notice instead."""
    join = _ask(stack, "alice@example.test", "jl-join@lists.test")
    req = _answer(stack, "alice@example.test", join)
    assert str(req["Subject"]) == "Confirm: subscribe to jl@lists.test"
    assert req["Auto-Submitted"] == "auto-replied"
    confirm = req["Reply-To"].strip("<> ")
    assert confirm.startswith("jl-confirm+s.") and \
        confirm.endswith("@lists.test"), confirm
    assert req["From"].endswith("<%s>" % confirm)
    # the per-recipient VERP return path, as the fan-out's
    assert "+fgb." in req["Return-Path"] and \
        ".jl.ralice=example.test@" in req["Return-Path"], req["Return-Path"]
    token = confirm[len("jl-confirm+"):-len("@lists.test")]
    link = "%s/%s/%s" % (CONFIRM_URL, LIST, token)
    assert link in req.get_content(), req.get_content()
    assert "alice@example.test" not in _subscribers(stack)

    _reply(stack, "alice@example.test", req)
    welcome = stack.wait_mail("alice@example.test", lambda m: str(
        m["Subject"]) == "Welcome to jl@lists.test", timeout=30)
    assert welcome["From"] == "jl <jl-request@lists.test>"
    assert welcome["Auto-Submitted"] == "auto-replied"
    assert _subscribers(stack)["alice@example.test"] == "enabled"

    again = _ask(stack, "alice@example.test", "jl-join@lists.test")
    notice = _answer(stack, "alice@example.test", again)
    assert str(notice["Subject"]) == "You are subscribed to jl@lists.test"
    assert notice["Reply-To"] is None


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_used_forged_expired_and_other_sender_change_nothing(stack):
    """After alice's unsubscription by the admin, her used token does not
    subscribe her again; a forged token, an expired one (signed right,
    its time past) and bob replying to a token of alice's change
    nothing either."""
    stack.admin("unsubscribe", LIST, "alice@example.test", check=True)
    used = [m for m in stack.mailbox("alice@example.test")
            if str(m["Subject"]) == "Confirm: subscribe to jl@lists.test"]
    offsets = stack.log_offsets()
    _reply(stack, "alice@example.test", used[0])
    _wait_log(stack, offsets, "the token was used before",
              "the used token refused")

    now = int(time.time())
    good = _token(stack, "s", "alice@example.test", now + 3600)
    forged = _token(stack, "s", "alice@example.test", now + 3600,
                    secret="not the secret")
    expired = _token(stack, "s", "alice@example.test", now - 10)
    for token, text in ((forged, "signature does not verify"),
                        (expired, "confirmation token: expired")):
        offsets = stack.log_offsets()
        rcpt = "jl-confirm+%s@lists.test" % token
        stack.send_mail("alice@example.test", rcpt, stack.make_message(
            "alice@example.test", rcpt, "Re: confirm", "ok\n"))
        _wait_log(stack, offsets, text, text)
    offsets = stack.log_offsets()
    rcpt = "jl-confirm+%s@lists.test" % good
    stack.send_mail("bob@example.test", rcpt, stack.make_message(
        "bob@example.test", rcpt, "Re: confirm", "ok\n"))
    _wait_log(stack, offsets, "the confirmation of <alice@example.test> "
              "came from <bob@example.test>", "bob's reply refused")
    assert _subscribers(stack) == {}
    # the right address with that token works (it was never used)
    offsets = stack.log_offsets()
    stack.send_mail("alice@example.test", rcpt, stack.make_message(
        "alice@example.test", rcpt, "Re: confirm", "ok\n"))
    _wait_log(stack, offsets, "subscribe confirmed", "alice confirmed")
    assert _subscribers(stack) == {"alice@example.test": "enabled"}


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_leave_by_reply(stack):
    """alice leaves: confirmation request, reply, unsubscribed, notice.
    bob, never subscribed, gets the very same kind of answer."""
    leave = _ask(stack, "alice@example.test", "jl-leave@lists.test")
    req = _answer(stack, "alice@example.test", leave)
    assert str(req["Subject"]) == "Confirm: unsubscribe from jl@lists.test"
    assert "alice@example.test" in _subscribers(stack)
    _reply(stack, "alice@example.test", req)
    stack.wait_mail("alice@example.test", lambda m: str(m["Subject"]) ==
                    "You are unsubscribed from jl@lists.test", timeout=30)
    assert "alice@example.test" not in _subscribers(stack)

    other = _ask(stack, "bob@example.test", "jl-leave@lists.test")
    req_bob = _answer(stack, "bob@example.test", other)
    assert str(req_bob["Subject"]) == str(req["Subject"])
    assert _words(req_bob) == _words(req)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_confirm_by_link(stack):
    """bob asks by a command to jl-request@; the link's GET shows a page
    and changes nothing; its POST subscribes him and the welcome comes;
    a second POST changes nothing more; a bad token is 404."""
    ask = _ask(stack, "bob@example.test", "jl-request@lists.test",
               subject="Re: something", body="\nJoin\nhelp\n")
    req = _answer(stack, "bob@example.test", ask)
    assert str(req["Subject"]) == "Confirm: subscribe to jl@lists.test"
    link = [ln.strip() for ln in req.get_content().splitlines()
            if ln.strip().startswith(CONFIRM_URL)][0]
    path = link[len("https://lists.test"):]
    for _ in range(2):
        status, page = _http(stack, "GET", path)
        assert status == 200 and "bob@example.test" in page and \
            "<form method=\"post\"" in page, (status, page)
    serial = stack.redis_call("GET", "fg:{%s}:serial" % LIST)
    assert "bob@example.test" not in _subscribers(stack)
    assert stack.redis_call("GET", "fg:{%s}:serial" % LIST) == serial

    status, page = _http(stack, "POST", path)
    assert status == 200 and "is confirmed" in page, (status, page)
    stack.wait_mail("bob@example.test", lambda m: str(m["Subject"]) ==
                    "Welcome to jl@lists.test", timeout=30)
    assert _subscribers(stack)["bob@example.test"] == "enabled"
    offsets = stack.log_offsets()
    status, _page = _http(stack, "POST", path)
    assert status == 200
    _wait_log(stack, offsets, "subscribe confirmed, queued before",
              "the second POST found queued before")
    status, _page = _http(stack, "GET", path[:-1] + (
        "0" if path[-1] != "0" else "1"))
    assert status == 404
    status, _page = _http(stack, "DELETE", path)
    assert status == 405
    welcomes = [m for m in stack.mailbox("bob@example.test")
                if str(m["Subject"]) == "Welcome to jl@lists.test"]
    assert len(welcomes) == 1


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_request_help_and_unknown(stack):
    """help and an unknown command are answered with the help text."""
    ask = _ask(stack, "carol@example.test", "jl-request@lists.test",
               subject="help", body="")
    got = _answer(stack, "carol@example.test", ask)
    assert str(got["Subject"]) == "Help for jl@lists.test"
    assert "jl-join@lists.test" in got.get_content()
    ask = _ask(stack, "carol@example.test", "jl-request@lists.test",
               subject="Hello", body="frobnicate\n")
    got = _answer(stack, "carol@example.test", ask)
    assert 'The command "frobnicate" is not known.' in got.get_content()


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_daily_limit(stack):
    """confirm_daily_limit = 3: dave's second and third join in a day
    (the first was test_policyd_takes_join_from_non_member's) are
    answered, the fourth is not."""
    stack.wait_mail("dave@example.test", lambda m: str(
        m["Subject"]).startswith("Confirm:"), timeout=30, count=1)
    for _ in range(2):
        _answer(stack, "dave@example.test",
                _ask(stack, "dave@example.test", "jl-join@lists.test"))
    offsets = stack.log_offsets()
    _ask(stack, "dave@example.test", "jl-join@lists.test")
    _wait_log(stack, offsets, "to=<dave@example.test>: not sent: 4 mails",
              "the fourth request not answered")
    assert stack.redis_call("GET", "fg:{%s}:confirm-sent:dave@example.test"
                            % LIST) == "4"
    ttl = stack.redis_call("PTTL", "fg:{%s}:confirm-sent:dave@example.test"
                           % LIST)
    assert 0 < ttl <= 86400 * 1000, ttl
    got = [m for m in stack.mailbox("dave@example.test")
           if str(m["Subject"]).startswith("Confirm:")]
    assert len(got) == 3


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_from_and_envelope_differ(stack):
    """A join whose From (carol) is not its envelope sender (bob) is
    logged and answered nothing: neither address gets mail."""
    before = {u: len(stack.mailbox(u))
              for u in ("bob@example.test", "carol@example.test")}
    offsets = stack.log_offsets()
    msg = stack.make_message("carol@example.test", "jl-join@lists.test",
                             "join", "join\n")
    stack.send_mail("bob@example.test", "jl-join@lists.test", msg)
    _wait_log(stack, offsets, "From <carol@example.test> and the envelope "
              "sender <bob@example.test> differ: ignored, nothing sent",
              "the join with two senders ignored")
    # that log line is written instead of sending; nothing came either
    assert {u: len(stack.mailbox(u)) for u in before} == before
    assert "carol@example.test" not in _subscribers(stack)
