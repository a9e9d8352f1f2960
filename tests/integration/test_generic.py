"""The bridge against a forum without a driver of its own (forum_type =
generic): list mail through real Postfix, Dovecot LMTP and Redis goes as
signed JSON to the simulator's generic endpoint, which checks every request
against doc/generic-forum.schema.json and its signature; a forum post comes
back through the generic webhook (/webhooks/post) and is mailed; an answer
that is lost after the forum made the post does not make a second one.

The tests share one stack and run in file order: the topic of the first is
answered by the next ones.
"""

import hashlib
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "forum_type": "generic"}

thread = {}


def _posts(stack, marker):
    found = [(t, p) for t in stack.forum_state()["topics"]
             for p in t["posts"] if marker in p["raw"]]
    return sorted(found, key=lambda tp: tp[1]["id"])


def _key(message_id):
    """The request's idempotency key (doc/generic-forum.md)."""
    return "fg-" + hashlib.sha256(message_id.strip("<>").encode()) \
        .hexdigest()[:32]


def _requests(stack, key):
    return [r for r in stack.forum_sim("/__sim/generic")["requests"]
            if r.get("key") == key]


def _send(stack, sender, subject, body, **kw):
    return stack.queue_list_copy(sender, subject, body, **kw)


def _answer_second(stack, text):
    """Alice answers the thread's second message; its Message-ID."""
    return _send(stack, "Alice Example <alice@example.test>",
                 "Re: Generic %s thread" % thread["uid"],
                 "Generic %s: %s.\n" % (thread["uid"], text),
                 in_reply_to=thread["second"],
                 references=[thread["first"], thread["second"]])


def _assert_clean(stack):
    st = stack.forum_state()
    assert st["violations"] == [] and st["response_errors"] == [], \
        (st["violations"], st["response_errors"])
    wait_for(lambda: int(stack.redis("XLEN", "fg:{forum}:in") or 0) == 0,
             timeout=20, what="the inbound queue to drain")
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_generic_topic_and_threaded_reply(stack):
    """A list mail becomes a topic in the list's category, its reply a
    post answering it, each through one signed, schema-valid request
    whose idempotency key is the Message-ID's."""
    uid = uuid.uuid4().hex[:8]
    first = _send(stack, "Alice Example <alice@example.test>",
                  "Generic %s thread" % uid,
                  "Generic %s: the first message of the thread.\n" % uid)
    second = _send(stack, "Bob Builder <bob@example.test>",
                   "Re: Generic %s thread" % uid,
                   "Generic %s: Bob answers the first message.\n" % uid,
                   in_reply_to=first, references=[first])
    wait_for(lambda: len(_posts(stack, "Generic %s" % uid)) == 2,
             timeout=60, what="two posts")
    (t1, p1), (t2, p2) = _posts(stack, "Generic %s" % uid)
    assert t1["id"] == t2["id"]
    assert t1["title"] == "Generic %s thread" % uid
    assert t1["category_id"] == int(stack.list_category)
    assert [p1["post_number"], p2["post_number"]] == [1, 2]
    assert p2["reply_to_post_number"] == 1
    # no forum user for the senders: the bridge's user, attributed
    assert p1["username"] == p2["username"] == stack.forum_api_username
    assert p1["raw"].startswith("Alice Example (alice@e\u2026) wrote via")
    assert [r["action"] for r in _requests(stack, _key(first))] == \
        ["create_topic"]
    assert [r["action"] for r in _requests(stack, _key(second))] == \
        ["create_reply"]
    _assert_clean(stack)
    thread.update(uid=uid, topic_id=t1["id"], title=t1["title"],
                  first=first, second=second)


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_generic_forum_post_is_mailed(stack):
    """A forum user's reply comes back by the generic webhook and reaches
    the list's subscribers threaded under the mail it answers; the
    bridge's own posts (their webhooks came too) are not mailed."""
    assert thread, "needs the test before"
    raw = "Carol answers on the generic forum, thread %s." % thread["uid"]
    stack.forum_reply(thread["topic_id"], raw, username="carol_web",
                      name="Carol Web", reply_to_post_number=2)

    def arrived():
        got = [m for m in stack.mailbox("alice@example.test")
               if not m.is_multipart() and raw in m.get_content()]
        return got[0] if got else None
    mail = wait_for(arrived, timeout=30, what="the forum reply mailed")
    assert mail["In-Reply-To"].strip() == thread["second"], \
        (mail["In-Reply-To"], thread["second"])
    assert mail["References"].split()[0] == thread["first"]
    assert str(mail["Subject"]).endswith(thread["title"])
    assert "Carol Web" in str(mail["From"])
    # the webhooks of every post went out signed and were taken (200)
    hooks = stack.forum_state()["webhooks"]
    mine = [h for h in hooks if h["topic_id"] == thread["topic_id"]]
    assert len(mine) == 3 and all(h["delivered"] for h in mine), mine
    # the bridge's own two posts were never mailed back
    marker = "Generic %s" % thread["uid"]
    assert not [m for m in stack.mailbox("alice@example.test")
                if not m.is_multipart() and marker in m.get_content()
                and "via Forum" in str(m["From"])]


@requires("plugin", "forumsim", "bridge", "admin")
def test_generic_lost_answer_posts_once(stack):
    """The endpoint makes the post but its answer is lost: the bridge
    looks the post up by its key (find) and gets the first post's ids;
    the forum has one post, nothing is dead-lettered."""
    assert thread, "needs the first test"
    # two: curl itself sends a request again once when a kept-alive
    # connection closes without an answer, so the bridge sees no answer
    # only when that one is lost too
    stack.forum_fail("lost", count=2)
    key = _key(_answer_second(stack, "this answer's reply was lost"))
    wait_for(lambda: "find" in [r["action"] for r in
                                _requests(stack, key)][2:], timeout=60,
             what="the bridge to look the post up by its key")
    _assert_clean(stack)
    posts = _posts(stack, "this answer's reply was lost")
    assert len(posts) == 1, posts
    (topic, post), = posts
    assert topic["id"] == thread["topic_id"]
    assert post["reply_to_post_number"] == 2
    # every request of the key named the same post: the first made it
    seen = _requests(stack, key)
    assert seen[0]["action"] == "create_reply", seen
    assert all(r["status"] == 200 for r in seen), seen
    wait_for(lambda: "the forum has the post already" in
             stack.log_tail("forumgated", 200), timeout=10,
             what="the bridge to log that it found the post")
    keys = stack.forum_sim("/__sim/generic")["keys"]
    assert keys[key]["post_id"] == post["id"]


@requires("plugin", "forumsim", "bridge", "admin")
def test_generic_credentials_refused_queue_waits(stack):
    """The endpoint's secret changed on the forum's side only: every
    request is refused 401, the list's queue waits (nothing posted,
    nothing dead-lettered) and the log says why; with the secret back,
    the mail is posted."""
    assert thread, "needs the first test"
    stack.forum_sim("/__sim/generic", {"secret": "changed-on-the-forum"})
    try:
        key = _key(_answer_second(stack, "sent while the secrets differ"))
        wait_for(lambda: len(_requests(stack, key)) >= 2, timeout=30,
                 what="two refused requests")
        refused = _requests(stack, key)
        assert all(r["status"] == 401 and
                   r["refusal"] == "signature mismatch" for r in refused), \
            refused
        assert not _posts(stack, "sent while the secrets differ")
        assert int(stack.redis("XLEN", "fg:{forum}:in") or 0) >= 1
        assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0
        assert "credentials refused" in stack.log_tail("forumgated", 200)
    finally:
        stack.forum_sim("/__sim/generic", {"secret": stack.forum_api_key})
    wait_for(lambda: _posts(stack, "sent while the secrets differ"),
             timeout=60, what="the post once the secrets agree")
    _assert_clean(stack)
    assert len(_posts(stack, "sent while the secrets differ")) == 1
