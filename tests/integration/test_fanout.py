"""The fan-out of a list-mode list through the real stack: Postfix,
Dovecot LMTP with the plugin at the posting address, forumgate-policyd,
forumgated's fan-out (bridge-dist.c) and the Discourse simulator.

A subscriber's post reaches every enabled subscriber's mailbox once,
tagged, with the footer, the list headers, a one-click List-Unsubscribe
of the recipient's own and a VERP return path naming the recipient,
which forumgate-policyd accepts as a bounce address (and refuses
forged); nomail and digest subscribers get nothing. A forum reply to
the post reaches every subscriber threaded under it (the forum->list
worker adds it to the distribution stream instead of mailing the
posting address). Then 5,000 subscribers of a second list are sent a
post through smtp-sink while forumgated is SIGKILLed again and again,
each time the recorded position has moved on: everyone gets the post,
and no more of them twice than there were kills.
"""

import base64
import hashlib
import hmac
import time
import uuid

from listmode_util import kill_at_sixths, restart_bridge, verp
from smtp_sink import SmtpSink
from stack import SmtpError, requires, wait_for

LIST = "ml"
ADDRESS = "ml@lists.test"
CATEGORY = "19"
BIG = "big"
BIG_ADDRESS = "big@lists.test"
BIG_CATEGORY = "20"
BIG_COUNT = 5000
UNSUB_URL = "https://lists.test/fg/unsubscribe"
FOOTER = "-- \n$list_name mailing list: $list_address\n"

STACK_OPTIONS = {"full": True,
                 "dovecot_list_users": [(ADDRESS, LIST),
                                        (BIG_ADDRESS, BIG)]}

ENABLED = ("alice@example.test", "carol@example.test")
NOT_SENT = ("bob@example.test", "dave@example.test")


def _uid():
    return uuid.uuid4().hex[:8]


def _unsub_recipient(stack, header):
    """The recipient a List-Unsubscribe's one-click token names, checked
    against its MAC (doc/list-mode.md, "One-click unsubscribe")."""
    url = header.split("<", 1)[1].split(">", 1)[0]
    assert url.startswith(UNSUB_URL + "/"), header
    token = url[len(UNSUB_URL) + 1:]
    version, name, expires, addr, mac = token.split(".")
    assert version == "u1" and name == LIST, token
    rcpt = base64.urlsafe_b64decode(addr + "=" * (-len(addr) % 4)).decode()
    want = hmac.new(stack.secret.encode(),
                    ("unsub:%s.%s.%s" % (LIST, expires, rcpt)).encode(),
                    hashlib.sha256).hexdigest()[:32]
    assert mac == want, (token, want)
    assert int(expires) > time.time() + 86400 * 100, expires
    return rcpt


def _copies(stack, user, message_id):
    return [m for m in stack.mailbox(user)
            if m["Message-ID"] == message_id]


def _stat(stack, list_name, field):
    return int(stack.redis_call("HGET", "fg:{%s}:dist-stats" % list_name,
                                field) or 0)


def _wait_fanned_out(stack, list_name, posts):
    """Wait until the fan-out finished `posts` posts of the list and its
    distribution stream is empty."""
    wait_for(lambda: _stat(stack, list_name, "posts") >= posts and
             stack.redis_call("XLEN", "fg:{%s}:dist" % list_name) == 0,
             timeout=120, what="the fan-out of %d post(s) to %s"
             % (posts, list_name), interval=0.1)


def _post(stack, sender, title, text):
    """A subscriber's post through Postfix, waited for until the fan-out
    sent it; the message and the list's count of posts fanned out."""
    msg = stack.make_message(sender, ADDRESS, title, text)
    posts = _stat(stack, LIST, "posts")
    stack.send_mail(sender, ADDRESS, msg)
    _wait_fanned_out(stack, LIST, posts + 1)
    return msg, posts + 1


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_and_subscribers(stack):
    """The list-mode list with two enabled subscribers, a nomail and a
    digest one, a footer, and one-click unsubscribe configured."""
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "members", check=True)
    path = stack.path("ml-footer.txt")
    with open(path, "w") as f:
        f.write(FOOTER)
    stack.admin("list", "set", LIST, "footer", "@" + path, check=True)
    for addr in ENABLED:
        stack.admin("subscribe", LIST, addr, check=True)
    stack.admin("subscribe", LIST, NOT_SENT[0], "--state", "nomail",
                check=True)
    stack.admin("subscribe", LIST, NOT_SENT[1], "--state", "digest",
                check=True)
    assert "dmarc_from: off" in stack.admin("list", "show", LIST,
                                            check=True).stdout
    assert stack.admin("list", "set", LIST, "dmarc_from",
                       "sometimes").returncode == 64
    restart_bridge(stack, list_unsubscribe_url=UNSUB_URL)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_post_reaches_each_subscriber_once(stack):
    """alice posts through Postfix: alice and carol get one copy each,
    tagged, with the footer, the list headers, their own List-Unsubscribe
    and VERP return path; bob (nomail) and dave (digest) get nothing."""
    uid = _uid()
    title = "Fan-out post %s" % uid
    msg, _ = _post(stack, "alice@example.test", title,
                   "To every subscriber, %s.\n" % uid)
    mid = msg["Message-ID"]
    for user in ENABLED:
        stack.wait_mail(user, lambda m: m["Message-ID"] == mid, timeout=60)
    stack.wait_queue_empty()
    for user in ENABLED:
        copies = _copies(stack, user, mid)
        assert len(copies) == 1, (user, len(copies))
        m = copies[0]
        assert str(m["Subject"]) == "[%s] %s" % (LIST, title), m["Subject"]
        body = m.get_content()
        assert "To every subscriber, %s." % uid in body, body
        assert "-- \n%s mailing list: %s\n" % (LIST, ADDRESS) in body, body
        assert "<ml.lists.test>" in m["List-Id"], m["List-Id"]
        assert m["List-Post"] == "<mailto:%s>" % ADDRESS, m["List-Post"]
        assert m["Precedence"] == "list" and m["X-BeenThere"] == ADDRESS
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert len(m.get_all("List-Unsubscribe")) == 1
        assert _unsub_recipient(stack, m["List-Unsubscribe"]) == user
        assert "<mailto:ml-leave@lists.test>" in m["List-Unsubscribe"]
        assert m["Return-Path"] == "<%s>" % verp(stack, LIST, user), \
            (user, m["Return-Path"])
        # the delivery to the posting address left no trace header
        assert ADDRESS not in " ".join(m.get_all("Delivered-To") or []), \
            m.get_all("Delivered-To")
    for user in NOT_SENT:
        assert not _copies(stack, user, mid), user
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert ("fan-out: list=%s message_id=<%s>: sent to the subscribers: "
            "recipients=2 sent=2 refused=0" % (LIST, mid.strip("<>"))) \
        in log, log[-3000:]
    assert stack.redis_call("EXISTS", "fg:{%s}:dist-progress" % LIST) == 0
    show = stack.admin("list", "show", LIST, check=True).stdout
    assert "fan-out: 0 post(s) waiting\n" in show, show


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_dmarc_from_always(stack):
    """dmarc_from always: each copy comes from the list, the author in
    Reply-To and X-Original-From."""
    stack.admin("list", "set", LIST, "dmarc_from", "always", check=True)
    try:
        # read at start (else within 10 s, or on SIGHUP)
        restart_bridge(stack)
        msg, _ = _post(stack, "alice@example.test", "Munged %s" % _uid(),
                       "From the list's address.\n")
        got = stack.wait_mail("carol@example.test",
                              lambda m: m["Message-ID"] == msg["Message-ID"],
                              timeout=60)
        assert got["From"].addresses[0].addr_spec == ADDRESS, got["From"]
        assert "via" in got["From"].addresses[0].display_name, got["From"]
        assert "alice@example.test" in got["Reply-To"], got["Reply-To"]
        assert "alice@example.test" in got["X-Original-From"]
    finally:
        stack.admin("list", "set", LIST, "dmarc_from", "off", check=True)
        restart_bridge(stack)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_verp_is_a_bounce_address(stack):
    """The return path of a subscriber's copy is an address the policy
    daemon accepts a bounce for; the same with another MAC is refused."""
    genuine = verp(stack, LIST, "carol@example.test")
    bounce = stack.make_message("MAILER-DAEMON@example.test", genuine,
                                "Undelivered Mail Returned to Sender",
                                "carol's mailbox is full.\n")
    code, _ = stack.send_mail("", genuine, bounce)
    assert code == 250, code
    forged = verp(stack, LIST, "carol@example.test", secret="not-ours")
    try:
        stack.send_mail("", forged, bounce)
        raise AssertionError("a forged VERP bounce was accepted")
    except SmtpError as e:
        assert e.code == 550 and "5.1.1" in e.text, (e.code, e.text)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_forum_reply_reaches_subscribers_threaded(stack):
    """A forum user's reply to a list post reaches alice and carol, once
    each, threaded under the post, and not the posting address."""
    uid = _uid()
    title = "Forum answers %s" % uid
    msg, posts = _post(stack, "carol@example.test", title,
                       "Who answers on the forum, %s?\n" % uid)
    topic = wait_for(lambda: stack.forum_topic_titled(title), timeout=60,
                     what="the post as a forum topic")
    text = "The forum answers, %s." % uid
    stack.forum_reply(topic["id"], text, username="erin_web",
                      name="Erin Web")
    _wait_fanned_out(stack, LIST, posts + 1)
    mid = msg["Message-ID"]
    for user in ENABLED:
        got = stack.wait_mail(user, lambda m: text in str(m.get_body(
            ("plain",)).get_content()), timeout=60)
        assert mid in (got["In-Reply-To"] or ""), got["In-Reply-To"]
        assert mid in (got["References"] or ""), got["References"]
        assert str(got["Subject"]).startswith("[%s] Re: " % LIST), \
            got["Subject"]
        assert got["Return-Path"] == "<%s>" % verp(stack, LIST, user)
    stack.wait_queue_empty()
    for user in ENABLED:
        n = [m for m in stack.mailbox(user)
             if text in str(m.get_body(("plain",)).get_content())]
        assert len(n) == 1, (user, len(n))
    for user in NOT_SENT:
        assert not [m for m in stack.mailbox(user) if text in str(m)], user
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert "queued for the subscribers (list mode)" in log, log[-3000:]
    assert "mailed to %s" % ADDRESS not in log


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_sigkill_during_fanout(stack):
    """5,000 subscribers, the relay smtp-sink: forumgated is SIGKILLed
    each time the recorded position passed another sixth of them, and
    started again; every subscriber gets the post, and at most as many
    twice as there were kills."""
    sink = SmtpSink(stack).start()
    stack.admin("list", "add", BIG, "--mode", "list", "--address",
                BIG_ADDRESS, "--category", BIG_CATEGORY, check=True)
    stack.admin("list", "set", BIG, "access", "open", check=True)
    rcpts = ["user%04d@sink.test" % i for i in range(BIG_COUNT)]
    path = stack.path("big-subscribers.txt")
    with open(path, "w") as f:
        f.write("".join(r + "\n" for r in rcpts))
    stack.admin("subscribers", "import", BIG, path, check=True)
    restart_bridge(stack, smtp_relay=sink.relay)

    msg = stack.make_message("alice@example.test", BIG_ADDRESS,
                             "To five thousand %s" % _uid(),
                             "One post, many subscribers.\n")
    stack.send_mail("alice@example.test", BIG_ADDRESS, msg)

    def position():
        return int(stack.redis_call("HGET", "fg:{%s}:dist-progress" % BIG,
                                    "next") or 0)

    def finished():
        return _stat(stack, BIG, "posts") >= 1

    at = kill_at_sixths(stack, BIG_COUNT, position, finished, "the fan-out")
    kills = len(at)
    _wait_fanned_out(stack, BIG, 1)
    got = sink.recipients()
    missing = [r for r in rcpts if got[r] == 0]
    twice = sum(n - 1 for n in got.values() if n > 1)
    print("# fan-out to %d subscribers: %d SIGKILLs (at recipients %s), "
          "%d got the post twice, %d missing"
          % (BIG_COUNT, kills, ",".join(map(str, at)), twice, len(missing)))
    assert not missing, missing[:10]
    assert set(got) == set(rcpts), sorted(set(got) - set(rcpts))[:10]
    assert kills >= 3, "the fan-out ended before the kills (%d)" % kills
    assert twice <= kills, (twice, kills)
    assert _stat(stack, BIG, "sent") == BIG_COUNT
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert log.count("fan-out: list=%s message_id=<%s>: resuming at "
                     "recipient" % (BIG, msg["Message-ID"].strip("<>"))) \
        >= kills, log[-3000:]
