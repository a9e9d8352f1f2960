"""Digests of a list-mode list through the real stack: Postfix, Dovecot
LMTP with the plugin at the posting address, forumgate-policyd,
forumgated's fan-out and digest (bridge-dist.c, bridge-digest.c) and
the Discourse simulator.

Subscribers in state digest get no single copy of a post; after
`forumgate digest LIST --send-now` each gets one digest in their Dovecot
mailbox, a multipart/digest with the posts in thread order after a table
of contents linking the forum topics, the footer once at the end, their
own VERP return path and List-Unsubscribe; enabled subscribers got the
single copies and no digest. The RFC 1153 form, and a digest sent
because the posts reached digest_size_max. Then 3,000 digest subscribers
of a second list are sent a digest through smtp-sink while forumgated is
SIGKILLed again and again, each time the recorded position has moved on:
everyone gets the digest, and no more of them twice than there were
kills.
"""

import base64
import time
import uuid

from listmode_util import kill_at_sixths, restart_bridge, verp
from smtp_sink import SmtpSink
from stack import requires, wait_for

LIST = "dg"
ADDRESS = "dg@lists.test"
CATEGORY = "21"
BIG = "dgk"
BIG_ADDRESS = "dgk@lists.test"
BIG_CATEGORY = "22"
BIG_COUNT = 3000
UNSUB_URL = "https://lists.test/fg/unsubscribe"
FOOTER = "-- \n$list_name digest footer: $list_address\n"

STACK_OPTIONS = {"full": True,
                 "dovecot_list_users": [(ADDRESS, LIST),
                                        (BIG_ADDRESS, BIG)]}

ENABLED = ("alice@example.test", "carol@example.test")
DIGEST = ("bob@example.test", "dave@example.test")


def _uid():
    return uuid.uuid4().hex[:8]


def _unsub_recipient(header):
    """The recipient a List-Unsubscribe's one-click token names."""
    url = header.split("<", 1)[1].split(">", 1)[0]
    assert url.startswith(UNSUB_URL + "/"), header
    addr = url[len(UNSUB_URL) + 1:].split(".")[3]
    return base64.urlsafe_b64decode(addr + "=" * (-len(addr) % 4)).decode()


def _far_hour():
    """An hour of the day twelve hours away: no digest by the hour while
    the test runs."""
    return (time.localtime().tm_hour + 12) % 24


def _state(stack, list_name, field):
    return int(stack.redis_call("HGET", "fg:{%s}:digest-state" % list_name,
                                field) or 0)


def _posts(stack, list_name):
    return int(stack.redis_call("HGET", "fg:{%s}:dist-stats" % list_name,
                                "posts") or 0)


def _post(stack, sender, title, text, **headers):
    """A subscriber's post through Postfix, waited for until the fan-out
    sent it (and so added it to the digest)."""
    msg = stack.make_message(sender, ADDRESS, title, text, **headers)
    posts = _posts(stack, LIST)
    stack.send_mail(sender, ADDRESS, msg)
    wait_for(lambda: _posts(stack, LIST) >= posts + 1, timeout=120,
             what="the fan-out of %s" % title, interval=0.1)
    return msg


def _mapped(stack, message_id):
    """The list->forum worker posted the message (its forum URL known)."""
    return stack.redis_call("HEXISTS", "fg:{%s}:msgid-post" % LIST,
                            message_id.strip("<>")) == 1


def _digests(stack, user, subject):
    return [m for m in stack.mailbox(user) if str(m["Subject"]) == subject]


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_and_subscribers(stack):
    """The list with two enabled and two digest subscribers, a footer,
    one-click unsubscribe; digests by the hour twelve hours away and not
    by size."""
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "members", check=True)
    path = stack.path("dg-footer.txt")
    with open(path, "w") as f:
        f.write(FOOTER)
    stack.admin("list", "set", LIST, "footer", "@" + path, check=True)
    for addr in ENABLED:
        stack.admin("subscribe", LIST, addr, check=True)
    for addr in DIGEST:
        stack.admin("subscribe", LIST, addr, "--state", "digest",
                    check=True)
    assert stack.admin("list", "set", LIST, "digest_format",
                       "daily").returncode == 64
    assert stack.admin("list", "set", LIST, "digest_hour",
                       "24").returncode == 64
    stack.admin("list", "set", LIST, "digest_hour", _far_hour(), check=True)
    show = stack.admin("list", "show", LIST, check=True).stdout
    assert "digest_hour: %d\n" % _far_hour() in show, show
    assert "digest_size_max: (the setting digest_size_max)\n" in show, show
    out = stack.admin("digest", LIST, check=True).stdout
    assert "waiting: 0 post(s), 0 bytes\n" in out, out
    assert "last issue: none\n" in out, out
    restart_bridge(stack, list_unsubscribe_url=UNSUB_URL,
                    digest_hour=_far_hour(), digest_size_max=0)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_digest_send_now(stack):
    """Three posts, two threads: single copies to alice and carol, none
    to bob and dave; after --send-now bob and dave each get one digest
    with the posts in thread order and links to the topics."""
    uid = _uid()
    first = _post(stack, "alice@example.test", "First topic %s" % uid,
                  "The first topic, %s.\n" % uid)
    other = _post(stack, "carol@example.test", "Other topic %s" % uid,
                  "Another topic, %s.\n" % uid)
    reply = _post(stack, "carol@example.test", "Re: First topic %s" % uid,
                  "An answer to the first, %s.\n" % uid,
                  in_reply_to=first["Message-ID"],
                  references=first["Message-ID"])
    ids = [m["Message-ID"] for m in (first, other, reply)]
    for user in ENABLED:
        for mid in ids:
            stack.wait_mail(user, lambda m, mid=mid: m["Message-ID"] == mid,
                            timeout=60)
    for mid in ids:
        wait_for(lambda mid=mid: _mapped(stack, mid), timeout=60,
                 what="the forum post of %s" % mid)
    stack.wait_queue_empty()
    for user in DIGEST:
        got = [m for m in stack.mailbox(user) if m["Message-ID"] in ids]
        assert not got, (user, [m["Subject"] for m in got])
    out = stack.admin("digest", LIST, check=True).stdout
    assert "waiting: 3 post(s)" in out, out

    out = stack.admin("digest", LIST, "--send-now", check=True).stdout
    assert "3 post(s) asked to go out now" in out, out
    subject = "[%s] Digest, Vol 1, Issue 1" % LIST
    for user in DIGEST:
        stack.wait_mail(user, lambda m: str(m["Subject"]) == subject,
                        timeout=60)
    wait_for(lambda: _state(stack, LIST, "issues") >= 1, timeout=30,
             what="the digest recorded as sent")
    stack.wait_queue_empty()
    topic1 = stack.forum_topic_titled("First topic %s" % uid)
    topic2 = stack.forum_topic_titled("Other topic %s" % uid)
    for user in DIGEST:
        digests = _digests(stack, user, subject)
        assert len(digests) == 1, (user, len(digests))
        d = digests[0]
        assert d.get_content_type() == "multipart/mixed", d.get_content_type()
        assert d["Return-Path"] == "<%s>" % verp(stack, LIST, user), \
            (user, d["Return-Path"])
        assert _unsub_recipient(d["List-Unsubscribe"]) == user
        assert d["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<dg.lists.test>" in d["List-Id"], d["List-Id"]
        toc, digest, footer = list(d.iter_parts())
        contents = toc.get_content()
        i1 = contents.index("   1. [dg] First topic %s (" % uid)
        i2 = contents.index("   2. [dg] Re: First topic %s (" % uid)
        i3 = contents.index("   3. [dg] Other topic %s (" % uid)
        assert i1 < i2 < i3, contents
        assert "/t/%d\n" % topic1["id"] in contents, contents
        assert "/t/%d" % topic2["id"] in contents, contents
        assert digest.get_content_type() == "multipart/digest"
        posts = [p.get_content() for p in digest.iter_parts()]
        assert [p["Message-ID"] for p in posts] == \
            [ids[0], ids[2], ids[1]], [p["Message-ID"] for p in posts]
        assert "An answer to the first, %s." % uid in \
            posts[1].get_content(), posts[1]
        assert posts[1]["X-BeenThere"] is None
        assert footer.get_content() == \
            "-- \n%s digest footer: %s\n" % (LIST, ADDRESS), \
            footer.get_content()
    for user in ENABLED:
        assert not _digests(stack, user, subject), user
    out = stack.admin("digest", LIST, check=True).stdout
    assert "waiting: 0 post(s), 0 bytes\n" in out, out
    assert "last issue: Vol 1, Issue 1\n" in out, out
    assert "issues sent: 1\n" in out, out
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert ("digest: list=%s vol=1 issue=1: sent to the digest subscribers: "
            "posts=3" % LIST) in log, log[-3000:]
    assert "recipients=2 sent=2 refused=0" in log, log[-3000:]


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_digest_rfc1153_by_size(stack):
    """The list's fields digest_format rfc1153 and digest_size_max 1 (the
    setting is 0): one post reaches the size, and the next digest comes
    without being asked, as RFC 1153 text."""
    stack.admin("list", "set", LIST, "digest_format", "rfc1153",
                check=True)
    stack.admin("list", "set", LIST, "digest_size_max", "1", check=True)
    restart_bridge(stack)
    uid = _uid()
    msg = _post(stack, "alice@example.test", "Plain digest %s" % uid,
                "In plain text, %s.\n" % uid)
    subject = "[%s] Digest, Vol 1, Issue 2" % LIST
    for user in DIGEST:
        d = stack.wait_mail(user, lambda m: str(m["Subject"]) == subject,
                            timeout=60)
        assert d.get_content_type() == "text/plain", d.get_content_type()
        text = d.get_content()
        assert "   1. [dg] Plain digest %s (" % uid in text, text
        assert "\nMessage: 1\n" in text, text
        assert "Message-ID: %s\n" % msg["Message-ID"] in text, text
        assert "In plain text, %s.\n" % uid in text, text
        assert "\nEnd of %s\n" % subject in text, text
        assert "%s digest footer: %s" % (LIST, ADDRESS) in text, text
    stack.admin("list", "set", LIST, "digest_format", "", check=True)
    stack.admin("list", "set", LIST, "digest_size_max", "", check=True)
    restart_bridge(stack)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_sigkill_during_digest(stack):
    """3,000 digest subscribers, the relay smtp-sink: forumgated is
    SIGKILLed each time the recorded position passed another sixth of
    them, and started again; every subscriber gets the digest once, and
    at most as many twice as there were kills."""
    sink = SmtpSink(stack).start()
    stack.admin("list", "add", BIG, "--mode", "list", "--address",
                BIG_ADDRESS, "--category", BIG_CATEGORY, check=True)
    stack.admin("list", "set", BIG, "access", "open", check=True)
    rcpts = ["user%04d@sink.test" % i for i in range(BIG_COUNT)]
    for r in rcpts[:3]:
        stack.admin("subscribe", BIG, r, "--state", "digest", check=True)
    # the rest in one go: the import keeps an existing state, and new
    # addresses come in enabled; set them to digest with one script
    path = stack.path("dgk-subscribers.txt")
    with open(path, "w") as f:
        f.write("".join(r + "\n" for r in rcpts[3:]))
    stack.admin("subscribers", "import", BIG, path, check=True)
    stack.redis_call(
        "EVAL", "for _, a in ipairs(redis.call('HKEYS', KEYS[1])) do "
        "redis.call('HSET', KEYS[1], a, 'digest') end return 1", 1,
        "fg:{%s}:subscribers" % BIG)
    restart_bridge(stack, smtp_relay=sink.relay, digest_size_max=0)

    msg = stack.make_message("alice@example.test", BIG_ADDRESS,
                             "To three thousand digests %s" % _uid(),
                             "One post, many digests.\n")
    stack.send_mail("alice@example.test", BIG_ADDRESS, msg)
    wait_for(lambda: int(stack.redis_call(
        "HGET", "fg:{%s}:dist-stats" % BIG, "posts") or 0) >= 1,
        timeout=120, what="the post fanned out (to no one)")
    assert sink.recipients() == {} or not any(sink.recipients().values())
    stack.admin("digest", BIG, "--send-now", check=True)

    def position():
        return int(stack.redis_call("HGET", "fg:{%s}:digest-issue" % BIG,
                                    "next") or 0)

    def finished():
        return _state(stack, BIG, "issues") >= 1

    at = kill_at_sixths(stack, BIG_COUNT, position, finished, "the digest")
    kills = len(at)
    wait_for(finished, timeout=120, what="the digest finished")
    got = sink.recipients()
    missing = [r for r in rcpts if got.get(r, 0) == 0]
    twice = sum(n - 1 for n in got.values() if n > 1)
    print("# digest to %d subscribers: %d SIGKILLs (at recipients %s), "
          "%d got it twice, %d missing"
          % (BIG_COUNT, kills, ",".join(map(str, at)), twice, len(missing)))
    assert not missing, missing[:10]
    assert set(got) == set(rcpts), sorted(set(got) - set(rcpts))[:10]
    assert kills >= 3, "the digest ended before the kills (%d)" % kills
    assert twice <= kills, (twice, kills)
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert log.count("digest: list=%s vol=1 issue=1: resuming at "
                     "recipient" % BIG) >= kills, log[-3000:]
    assert ("digest: list=%s vol=1 issue=1: sent to the digest "
            "subscribers: posts=1" % BIG) in log, log[-3000:]
