"""The forum's review queue and moved topics, against the Discourse
simulator, through real Postfix, Dovecot LMTP, Redis and mlmmj.

A list mail posted as a mapped user that Discourse enqueues for review
is finished in the list's queue and remembered; when a moderator
approves it, its post_created webhook maps it (a forum reply to it is
threaded under the list mail) and it is not mailed back to the list.
One a moderator rejects (Discourse's reviewable_transitioned_to) and
one that is never approved (it expires) show in `forumgate status`.
A topic with mailed posts that a moderator moved out of the bridged
category keeps mailing its replies, also when it was mapped by a
release before fg:topics; a new topic in that category is not mailed.
"""

import uuid

from stack import requires, wait_for
from test_outbound import _reconfigure

STACK_OPTIONS = {"full": True}

SUBSCRIBER = "carol@example.test"
OTHER_CATEGORY = 977


def _uid():
    return uuid.uuid4().hex[:8]


def _queued(stack, marker):
    return [e for e in stack.forum_state()["review"]["queue"]
            if marker in (e["raw"] or "")]


def _posts_with(stack, marker):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if marker in p["raw"]]


def _text(msg):
    body = msg.get_body(("plain",))
    return body.get_content() if body is not None else ""


def _mails_with(stack, marker):
    return [m for m in stack.mailbox(SUBSCRIBER) if marker in _text(m)]


def _send_held(stack, author, marker, **kw):
    """A list copy from a mapped, authenticated author that the forum
    queues; returns its Message-ID once the bridge finished the entry."""
    msg = stack.make_message("Bob Builder <bob@example.test>",
                             stack.bridge_address,
                             "Review %s needs a moderator" % marker,
                             "Review %s: a first post by a new forum "
                             "user, held for a moderator.\n" % marker,
                             authenticated=True, **kw)
    stack.send_list_copy(msg)
    entry = wait_for(lambda: _queued(stack, marker), timeout=30,
                     what="the post in the forum's review queue")[0]
    assert entry["username"] == author, entry
    stack.wait_bridge_idle(queues=("in",))
    msgid = msg["Message-ID"].strip("<>")
    assert stack.redis("HGET", "fg:{forum}:msgid-post", msgid) in ("", None)
    return msgid, entry


def _hold(stack, prefix):
    """A list mail from a new forum user that the forum holds."""
    uid = _uid()
    author = "%s_%s" % (prefix, uid)
    stack.admin("author", "set", "bob@example.test", author, check=True)
    stack.forum_sim("/__sim/review", {"users": [author]})
    try:
        msgid, entry = _send_held(stack, author, uid)
    finally:
        stack.forum_sim("/__sim/review", {})
    return uid, msgid, entry


def _status(stack):
    return stack.admin("status", check=True).stdout


@requires("plugin", "forumsim", "bridge", "admin")
def test_approved_post_is_mapped_not_mailed(stack):
    uid, msgid, entry = _hold(stack, "bob_rev")
    assert int(stack.redis("XLEN", "fg:{forum}:in") or 0) == 0
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0
    assert stack.redis("HEXISTS", "fg:{forum}:review", entry["id"]) == "1"

    post = stack.forum_sim("/__sim/approve", {"id": entry["id"]})
    wait_for(lambda: stack.redis("HGET", "fg:{forum}:msgid-post", msgid),
             timeout=30, what="the approved post mapped to the list mail")
    ref = stack.redis("HGET", "fg:{forum}:msgid-post", msgid).split(":")
    assert ref[0] == str(post["topic_id"]) and ref[1] == "1", ref
    assert stack.redis("HEXISTS", "fg:{forum}:review", entry["id"]) == "0"
    assert stack.redis("HGET", "fg:topics", str(post["topic_id"])) == "forum"
    assert "forum review: waiting=0 approved=1" in _status(stack)

    # a forum reply to it threads under the list mail; the approved
    # post itself never reached the list
    stack.forum_reply(post["topic_id"], "Review %s: a forum user answers "
                      "the approved post." % uid, username="dora_web",
                      name="Dora Web", reply_to_post_number=1)
    reply = stack.wait_mail(SUBSCRIBER, lambda m: "a forum user answers"
                            in _text(m) and uid in _text(m), timeout=30)
    assert reply["In-Reply-To"].strip() == "<%s>" % msgid, reply["In-Reply-To"]
    stack.wait_bridge_idle(queues=("out",))
    stack.wait_queue_empty()
    held_text = [m for m in _mails_with(stack, uid)
                 if "held for a moderator" in _text(m)]
    assert held_text == [], [m["Message-ID"] for m in held_text]


@requires("plugin", "forumsim", "bridge", "admin")
def test_bridge_user_post_in_queued_category(stack):
    """A category whose posts all need approval: a sender without a
    forum user is posted as the bridge's user, held, approved, mapped."""
    uid = _uid()
    stack.forum_sim("/__sim/review", {"categories": [int(stack.list_category)]})
    try:
        msg = stack.make_message("Alice Example <alice@example.test>",
                                 stack.bridge_address,
                                 "Queued category %s topic" % uid,
                                 "Category %s: every post here waits for "
                                 "a moderator.\n" % uid)
        stack.send_list_copy(msg)
        entry = wait_for(lambda: _queued(stack, "Category %s" % uid),
                         timeout=30, what="the post in the review queue")[0]
        stack.wait_bridge_idle(queues=("in",))
    finally:
        stack.forum_sim("/__sim/review", {})
    assert entry["username"] == stack.forum_api_username, entry
    msgid = msg["Message-ID"].strip("<>")
    post = stack.forum_sim("/__sim/approve", {"id": entry["id"]})
    wait_for(lambda: stack.redis("HGET", "fg:{forum}:msgid-post", msgid),
             timeout=30, what="the approved post mapped to the list mail")
    assert stack.redis("HGET", "fg:{forum}:msgid-post",
                       msgid).split(":")[0] == str(post["topic_id"])


@requires("plugin", "forumsim", "bridge", "admin")
def test_rejected_post_shows_in_status(stack):
    _, msgid, entry = _hold(stack, "bob_rej")
    stack.forum_sim("/__sim/reject", {"id": entry["id"]})
    # Discourse's reviewable_transitioned_to reaches the bridge
    wait_for(lambda: any(w.get("reviewable_id") == int(entry["id"])
                         and w["done"]
                         for w in stack.forum_state()["webhooks"]),
             timeout=20, what="the rejection's webhook")
    record = [w for w in stack.forum_state()["webhooks"]
              if w.get("reviewable_id") == int(entry["id"])][0]
    assert record["delivered"] and record["status"] == 200, record
    out = _status(stack)
    line = [x for x in out.splitlines() if "<%s>" % msgid in x]
    assert line and line[0].strip().endswith("rejected"), out
    assert entry["id"] in line[0].split(), line
    assert stack.redis("HEXISTS", "fg:{forum}:review", entry["id"]) == "0"


@requires("plugin", "forumsim", "bridge", "admin")
def test_unapproved_post_expires_into_status(stack):
    _reconfigure(stack, forum_review_expiry="2s")
    try:
        _, msgid, entry = _hold(stack, "bob_exp")
        # observed progress: the expiry shows in status
        out = wait_for(lambda: (lambda s: s if "<%s>" % msgid in s else None)(
            _status(stack)), timeout=30, what="the expired post in status")
    finally:
        _reconfigure(stack)
    line = [x for x in out.splitlines() if "<%s>" % msgid in x][0]
    assert line.strip().endswith("expired"), line
    assert entry["id"] in line, line
    assert stack.redis("HEXISTS", "fg:{forum}:review", entry["id"]) == "0"
    assert int(stack.redis("HGET", "fg:{forum}:review-count", "expired")) >= 1


@requires("plugin", "forumsim", "bridge", "admin")
def test_reply_in_moved_topic_is_mailed(stack):
    uid = _uid()
    topic = stack.forum_topic("Moved topic %s from the forum" % uid,
                              "Moved %s: the first post, started on the "
                              "forum." % uid, username="erin_web",
                              name="Erin Web", category=int(stack.list_category))
    first = stack.wait_mail(SUBSCRIBER, lambda m: "Moved %s: the first" % uid
                            in _text(m), timeout=30)
    assert stack.redis("HGET", "fg:topics", str(topic["topic_id"])) == "forum"
    # a Redis of an older release: maps, but no fg:topics; the bridge
    # enters the maps' topics when it starts serving the list
    stack.redis("HDEL", "fg:topics", str(topic["topic_id"]))
    stack.redis("DEL", "fg:{forum}:topics-filled")
    _reconfigure(stack)
    wait_for(lambda: stack.redis("HGET", "fg:topics",
                                 str(topic["topic_id"])) == "forum",
             timeout=30, what="the topic entered from the maps")

    stack.forum_sim("/__sim/move", {"topic_id": topic["topic_id"],
                                    "category": OTHER_CATEGORY})
    stack.forum_reply(topic["topic_id"], "Moved %s: a reply after the "
                      "moderator moved the topic." % uid,
                      username="fred_web", name="Fred Web",
                      reply_to_post_number=1)
    reply = stack.wait_mail(SUBSCRIBER, lambda m: "Moved %s: a reply" % uid
                            in _text(m), timeout=30)
    assert reply["In-Reply-To"].strip() == first["Message-ID"].strip()

    # a new topic in that category is not the list's
    other = stack.forum_topic("Unbridged topic %s on the forum" % uid,
                              "Unbridged %s: not for the list." % uid,
                              username="erin_web", name="Erin Web",
                              category=OTHER_CATEGORY)
    wait_for(lambda: any(w["post_id"] == other["id"] and w["done"]
                         for w in stack.forum_state()["webhooks"]),
             timeout=20, what="the unbridged topic's webhook")
    stack.wait_bridge_idle(queues=("out",))
    stack.wait_queue_empty()
    assert _mails_with(stack, "Unbridged %s" % uid) == []
    assert stack.redis("HGET", "fg:topics", str(other["topic_id"])) in ("", None)
