"""The moderation queue of a list-mode list through the real stack:
Dovecot LMTP with the plugin at the posting address, Postfix,
forumgated's control worker and fan-out, the Discourse simulator.

The moderated list `mod@lists.test` has the subscribers alice and carol
and the moderator bob; its LIST-moderate@ address is a Dovecot user
naming the list, so bob's replies to mod-moderate+TOKEN@ reach the
control stream through Postfix and Dovecot's recipient delimiter.
alice's posts are delivered straight over LMTP (Postfix would put them
in its hold queue at RCPT time): each is held in fg:{mod}:held and
announced to bob with the post attached. A reply to the approve address
posts it (a forum topic, and carol's copy by the fan-out); a forged
token and a non-moderator's mail change nothing; `forumgate reject`
and a reply to the reject address send alice the notice with the
reason; a held post whose stored time is older than moderation_expiry
expires and alice is told.
"""

import json
import re
import smtplib
import time

from stack import requires, wait_for
from test_listmode import _topic, _uid

LIST = "mod"
ADDRESS = "mod@lists.test"
CATEGORY = "21"
MODERATE = "mod-moderate@lists.test"
SENDER = "alice@example.test"
READER = "carol@example.test"
MODERATOR = "bob@example.test"
OTHER = "dave@example.test"

STACK_OPTIONS = {"full": True,
                 "dovecot_list_users": [(ADDRESS, LIST), (MODERATE, LIST)]}


def _lmtp(stack, mail_from, msg):
    """Deliver msg to the posting address straight over LMTP."""
    with smtplib.LMTP(stack.lmtp_socket) as lmtp:
        lmtp.ehlo("test.lists.test")
        lmtp.sendmail(mail_from, [ADDRESS], msg.as_bytes())


def _held(stack):
    out = stack.admin("held", LIST, "--json", check=True).stdout
    return json.loads(out)


def _dead(stack):
    reply = stack.redis_call("XRANGE", "fg:{%s}:dead" % LIST, "-", "+")
    return [{f[i]: f[i + 1] for i in range(0, len(f), 2)}
            for _id, f in reply or []]


def _hold(stack, title):
    """alice's post over LMTP, held: its entry of `forumgate held`."""
    msg = stack.make_message(SENDER, ADDRESS, title,
                             "Waits for a moderator: %s.\n" % title)
    _lmtp(stack, SENDER, msg)
    held = wait_for(lambda: [h for h in _held(stack)
                             if h["subject"] == title], timeout=30,
                    what="the post in the moderation queue")[0]
    assert held["state"] == "held" and held["from"] == SENDER, held
    assert held["message_id"] == msg["Message-ID"].strip("<>"), held
    assert "moderated" in held["reason"], held
    return msg, held


def _announcement(stack, title):
    """bob's announcement of the held post titled title."""
    return stack.wait_mail(MODERATOR, lambda m: title in str(m["Subject"])
                           and "needs approval" in str(m["Subject"]),
                           timeout=30)


def _notice(stack, title):
    return stack.wait_mail(SENDER, lambda m: "was not posted" in
                           str(m["Subject"]) and title in str(m["Subject"]),
                           timeout=30)


def _text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


@requires("plugin", "forumsim", "bridge", "admin")
def test_list_defined(stack):
    """A moderated list-mode list with two subscribers and a moderator;
    list show names the moderators, and a bad address is refused."""
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "moderated", check=True)
    for addr in (SENDER, READER):
        stack.admin("subscribe", LIST, addr, check=True)
    assert "moderators: (none)" in stack.admin("list", "show", LIST,
                                               check=True).stdout
    assert stack.admin("list", "set", LIST, "moderators",
                       "not an address").returncode == 64
    stack.admin("list", "set", LIST, "moderators", MODERATOR, check=True)
    assert "moderators: %s" % MODERATOR in stack.admin(
        "list", "show", LIST, check=True).stdout
    assert "no held posts" in stack.admin("held", LIST, check=True).stdout


@requires("plugin", "forumsim", "bridge", "admin")
def test_held_post_approved_by_reply(stack):
    """alice's post is held and announced to bob with the post attached;
    a forged token and dave's mail to the real approve address change
    nothing; bob's reply through Postfix posts it: a forum topic, and
    carol's copy from the fan-out, once."""
    title = "Held then approved %s" % _uid()
    offsets = stack.log_offsets()
    msg, held = _hold(stack, title)
    mid = msg["Message-ID"]
    log = stack.logs_since(offsets, lines=10 ** 6)["dovecot"]
    assert "held=%d" % held["id"] in log, log[-2000:]
    # the mailbox keeps its copy as before
    assert [m for m in stack.not_posted(ADDRESS).get("held", [])
            if title in str(m["Subject"])]

    ann = _announcement(stack, title)
    assert str(ann["Auto-Submitted"]) == "auto-generated"
    approve = ann["Reply-To"].addresses[0].addr_spec
    assert re.fullmatch(r"mod-moderate\+a%d-\d+-[0-9a-f]{24}@lists\.test"
                        % held["id"], approve), approve
    text = _text(ann)
    reject = re.search(r"mod-moderate\+r[0-9a-f-]+@lists\.test",
                       text).group(0)
    assert approve in text and title in text
    attached = [p for p in ann.iter_attachments()
                if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    assert attached[0].get_content()["Message-ID"] == mid
    assert reject.startswith("mod-moderate+r%d-" % held["id"])

    dead_before = len(_dead(stack))
    # a forged token: bob's own address, another MAC
    forged = approve[:approve.index("@") - 4] + "0000@lists.test"
    if forged == approve:
        forged = approve[:approve.index("@") - 4] + "1111@lists.test"
    reply = stack.make_message(MODERATOR, forged, "Re: approve", "Yes.\n")
    stack.send_mail(MODERATOR, forged, reply)
    # dave is no moderator, with the real address
    reply = stack.make_message(OTHER, approve, "Re: approve", "Yes.\n")
    stack.send_mail(OTHER, approve, reply)
    dead = wait_for(lambda: _dead(stack)[dead_before:]
                    if len(_dead(stack)) >= dead_before + 2 else None,
                    timeout=30, what="both dead-lettered")
    reasons = sorted(d["reason"] for d in dead)
    assert "signature does not verify" in reasons[0] or \
        "signature does not verify" in reasons[1], reasons
    assert any("<%s> is not a moderator" % OTHER in r for r in reasons)
    assert [h["id"] for h in _held(stack)] == [held["id"]]
    assert _topic(stack, title) is None

    # bob replies to the announcement through Postfix
    reply = stack.make_message(MODERATOR, approve, "Re: " + str(
        ann["Subject"]), "Fine by me.\n")
    stack.send_mail(MODERATOR, approve, reply)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the approved post as a forum topic")
    assert "Waits for a moderator: %s." % title in topic["posts"][0]["raw"]
    copy = stack.wait_mail(READER, lambda m: m["Message-ID"] == mid,
                           timeout=60)
    assert "[%s]" % LIST in str(copy["Subject"])
    assert _held(stack) == []
    # the same approval again (a resent reply) changes nothing
    reply2 = stack.make_message(MODERATOR, approve, "Re: again", "Yes.\n")
    offsets = stack.log_offsets()
    stack.send_mail(MODERATOR, approve, reply2)
    wait_for(lambda: "held=%d: decided before" % held["id"] in
             stack.logs_since(offsets, lines=10 ** 6)["forumgated"],
             timeout=30, what="the second approval seen as decided")
    assert len([m for m in stack.mailbox(READER)
                if m["Message-ID"] == mid]) == 1
    assert len([t for t in stack.forum_state()["topics"]
                if t["title"] == title]) == 1
    # bob was told once
    assert len([m for m in stack.mailbox(MODERATOR)
                if title in str(m["Subject"])]) == 1


@requires("plugin", "forumsim", "bridge", "admin")
def test_rejected_by_command(stack):
    """forumgate reject: alice gets the notice with the reason; the post
    is gone and never posted; rejecting it again fails."""
    title = "Held then rejected %s" % _uid()
    msg, held = _hold(stack, title)
    _announcement(stack, title)
    r = stack.admin("reject", LIST, str(held["id"]), "--reason",
                    "Off topic for this list", check=True)
    assert "rejected" in r.stdout, r.stdout
    notice = _notice(stack, title)
    assert str(notice["In-Reply-To"]) == msg["Message-ID"]
    text = _text(notice)
    assert "a moderator rejected it" in text, text
    assert "Off topic for this list" in text, text
    wait_for(lambda: not [h for h in _held(stack) if h["id"] == held["id"]],
             timeout=30, what="the rejected post removed")
    assert _topic(stack, title) is None
    assert stack.admin("reject", LIST, str(held["id"])).returncode == 65
    assert stack.admin("approve", LIST, str(held["id"])).returncode == 65


@requires("plugin", "forumsim", "bridge", "admin")
def test_rejected_by_reply(stack):
    """bob writes to the reject address; the first line he wrote is the
    reason alice is given."""
    title = "Held, reply rejects %s" % _uid()
    _msg, held = _hold(stack, title)
    ann = _announcement(stack, title)
    reject = re.search(r"mod-moderate\+r[0-9a-f-]+@lists\.test",
                       _text(ann)).group(0)
    mail = stack.make_message(MODERATOR, reject, "Re: reject",
                              "Please post this to the forum instead.\n\n"
                              "> quoted announcement\n")
    stack.send_mail(MODERATOR, reject, mail)
    notice = _notice(stack, title)
    assert "Please post this to the forum instead." in _text(notice)
    wait_for(lambda: not [h for h in _held(stack) if h["id"] == held["id"]],
             timeout=30, what="the rejected post removed")
    assert _topic(stack, title) is None


@requires("plugin", "forumsim", "bridge", "admin")
def test_approved_by_command(stack):
    """forumgate approve posts at once: a topic and carol's copy."""
    title = "Held, command approves %s" % _uid()
    msg, held = _hold(stack, title)
    r = stack.admin("approve", LIST, str(held["id"]), check=True)
    assert "queued for the forum and the subscribers" in r.stdout, r.stdout
    wait_for(lambda: _topic(stack, title), timeout=60,
             what="the approved post as a forum topic")
    stack.wait_mail(READER, lambda m: m["Message-ID"] == msg["Message-ID"],
                    timeout=60)
    assert not [h for h in _held(stack) if h["id"] == held["id"]]


@requires("plugin", "forumsim", "bridge", "admin")
def test_expired(stack):
    """A held post whose stored time is older than moderation_expiry
    (14 days by default) expires: alice is told, the post is gone."""
    title = "Held until it expires %s" % _uid()
    _msg, held = _hold(stack, title)
    _announcement(stack, title)
    old = int(time.time()) - 15 * 86400
    stack.redis_call("HSET", "fg:{%s}:held:%d" % (LIST, held["id"]),
                     "received", str(old))
    stack.redis_call("ZADD", "fg:{%s}:held" % LIST, str(old),
                     str(held["id"]))
    notice = _notice(stack, title)
    assert "no moderator approved it in time" in _text(notice)
    wait_for(lambda: not [h for h in _held(stack) if h["id"] == held["id"]],
             timeout=30, what="the expired post removed")
    assert _topic(stack, title) is None
