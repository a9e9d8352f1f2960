"""The walking skeleton end to end, through real Postfix, Dovecot LMTP,
Redis and mlmmj, the forumgate daemons and the Discourse simulator.

The tests of this module share one stack and run in file order: the
topic the first test creates is answered by the next ones.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid

from stack import SmtpError, requires, wait_for

STACK_OPTIONS = {"full": True}

# What the tests below pass along to each other.
thread = {}


def _uid():
    return uuid.uuid4().hex[:8]


def _topic_by_title(stack, title):
    for t in stack.forum_state()["topics"]:
        if t["title"] == title:
            return t
    return None


def _posts_with(stack, text):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if text in p["raw"]]


def _redis_int(stack, *args):
    return int(stack.redis(*args) or 0)


def _wait_outbound_drained(stack):
    wait_for(lambda: _redis_int(stack, "XLEN", "fg:{forum}:out") == 0,
             timeout=20, what="the outbound queue to drain")


def _mails(stack, user, pred):
    return [m for m in stack.mailbox(user) if pred(m)]


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_list_mail_becomes_topic(stack):
    """A member mails the list; the list's copy reaches the bridge through
    Postfix, mlmmj and Dovecot LMTP; the forum has a new topic."""
    uid = _uid()
    title = "Walking skeleton topic %s" % uid
    body = ("Hello forum, this is the first message of thread %s.\n"
            "It has two lines.\n" % uid)
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, title, body)
    stack.send_mail("alice@example.test", stack.list_address, msg)

    topic = wait_for(lambda: _topic_by_title(stack, title), timeout=30,
                     what="topic %r on the forum" % title)
    assert len(topic["posts"]) == 1, topic
    post = topic["posts"][0]
    assert "first message of thread %s" % uid in post["raw"], post["raw"]
    assert post["username"] == stack.forum_api_username, post
    assert topic["category_id"] == int(stack.list_category), topic
    # The subject's "[forum]" tag from mlmmj is not part of the title.
    assert "[forum]" not in topic["title"]

    # Discourse's webhook for the post the bridge made is not mailed back.
    wait_for(lambda: any(w["post_id"] == post["id"] and w["done"]
                         for w in stack.forum_state()["webhooks"]),
             timeout=20, what="the webhook for the bridge's own post")
    _wait_outbound_drained(stack)
    stack.wait_queue_empty()
    copies = _mails(stack, "bob@example.test",
                    lambda m: title in str(m["Subject"]))
    assert len(copies) == 1, "bob got %d copies of %r" % (len(copies), title)

    thread.update(uid=uid, title=title, topic_id=topic["id"],
                  root_msgid=msg["Message-ID"])


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_member_reply_lands_in_same_topic(stack):
    """A member answers the list mail; the reply lands in the same topic."""
    assert thread, "needs test_list_mail_becomes_topic"
    body = "Bob answers thread %s on the list, quite agreeably.\n" % thread["uid"]
    msg = stack.make_message("Bob Example <bob@example.test>",
                             stack.list_address,
                             "Re: [forum] " + thread["title"], body,
                             in_reply_to=thread["root_msgid"],
                             references=[thread["root_msgid"]])
    stack.send_mail("bob@example.test", stack.list_address, msg)

    def reply():
        found = _posts_with(stack, "Bob answers thread %s" % thread["uid"])
        return found[0] if found else None
    topic, post = wait_for(reply, timeout=30, what="bob's reply on the forum")
    assert topic["id"] == thread["topic_id"], (topic["id"], thread)
    assert post["post_number"] == 2, post
    assert post["reply_to_post_number"] == 1, post
    assert len(_topic_by_title(stack, thread["title"])["posts"]) == 2
    thread.update(reply_msgid=msg["Message-ID"])


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_forum_reply_reaches_subscriber_threaded(stack):
    """A forum user answers on the forum; a subscriber's mailbox gets the
    mail threaded under the message it answers; the list's copy that
    comes back to the bridge does not create another post."""
    assert "reply_msgid" in thread, "needs the two tests before"
    raw = "Carol answers from the forum for thread %s, with **Markdown**." \
        % thread["uid"]
    stack.forum_reply(thread["topic_id"], raw, username="carol_web",
                      name="Carol Wéb", reply_to_post_number=2)

    def arrived():
        got = _mails(stack, "alice@example.test",
                     lambda m: "Carol answers from the forum" in
                     m.get_content() if not m.is_multipart() else False)
        return got[0] if got else None
    mail = wait_for(arrived, timeout=30,
                    what="the forum reply in alice's mailbox")

    assert mail["In-Reply-To"].strip() == thread["reply_msgid"], \
        (mail["In-Reply-To"], thread["reply_msgid"])
    refs = mail["References"].split()
    assert refs[0] == thread["root_msgid"], refs
    assert refs[-1] == thread["reply_msgid"], refs
    assert str(mail["Subject"]).endswith(thread["title"]), mail["Subject"]
    assert "Re:" in str(mail["Subject"])
    assert "Carol Wéb" in str(mail["From"]), mail["From"]
    assert "bridge@lists.test" in str(mail["From"]), mail["From"]
    msgid = mail["Message-ID"].strip().strip("<>")
    assert msgid.startswith("fg.forum.%d.3." % thread["topic_id"]), msgid

    # The list copy reached the bridge recipient and was counted as ours
    # (not kept: not_posted_discard = own by default).
    wait_for(lambda: ("not posted: own" in stack.dovecot_log() and
                      msgid in stack.dovecot_log()),
             timeout=20, what="the plugin to drop the list copy as our own")
    assert "discarded (not_posted_discard)" in stack.dovecot_log()
    assert "own" not in stack.not_posted(stack.bridge_address)
    assert int(stack.redis("HGET", "fg:{forum}:not-posted", "own")) >= 1
    stack.wait_queue_empty()
    _wait_outbound_drained(stack)
    topic = _topic_by_title(stack, thread["title"])
    assert len(topic["posts"]) == 3, [p["raw"] for p in topic["posts"]]
    assert _redis_int(stack, "XLEN", "fg:{forum}:in") == 0


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_non_member_refused_at_rcpt(stack):
    """A non-member's mail to the list is refused at RCPT time with a 5xx
    from the policy daemon; nothing is posted."""
    before = stack.forum_state()["requests"]
    uid = _uid()
    msg = stack.make_message("dave@example.test", stack.list_address,
                             "Not a member %s speaking here" % uid,
                             "Dave is not subscribed to this list at all.\n")
    try:
        stack.send_mail("dave@example.test", stack.list_address, msg)
    except SmtpError as e:
        assert e.stage == "RCPT TO", e
        assert 500 <= e.code < 600, e
        assert "5.7.1" in e.text and "not a member" in e.text, e.text
    else:
        raise AssertionError("the non-member's RCPT was accepted")
    # refused at RCPT: nothing reached Postfix's queue or the bridge's
    stack.wait_queue_empty()
    stack.wait_bridge_idle()
    assert stack.forum_state()["requests"] == before
    assert not _posts_with(stack, "Dave is not subscribed")


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_redis_down_defers_then_posts_once(stack):
    """Redis stopped during a delivery: LMTP answers 451 and Postfix keeps
    the mail; after Redis is back it is posted exactly once."""
    uid = _uid()
    title = "Posted after an outage %s" % uid
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             title, "This mail waited for Redis, %s.\n" % uid)
    stack.redis_stop()
    try:
        stack.send_list_copy(msg)

        def deferred():
            for item in stack.postfix_queue():
                for r in item.get("recipients", []):
                    if (r.get("address") == stack.bridge_address and
                            "451" in r.get("delay_reason", "")):
                        return r["delay_reason"]
            return None
        reason = wait_for(deferred, timeout=30,
                          what="Postfix to defer the mail with a 451")
        assert "4.2.0" in reason or "forumgate" in reason, reason
        assert _topic_by_title(stack, title) is None
    finally:
        stack.redis_start()
    stack.postfix_flush()
    wait_for(lambda: _topic_by_title(stack, title), timeout=60,
             what="the deferred mail to be posted")
    stack.wait_queue_empty(timeout=30)
    stack.wait_bridge_idle(queues=("in",))
    matches = [t for t in stack.forum_state()["topics"] if t["title"] == title]
    assert len(matches) == 1 and len(matches[0]["posts"]) == 1, matches


@requires("plugin", "forumsim", "bridge", "admin")
def test_same_message_twice_posts_once(stack):
    """The same Message-ID delivered twice gives one post."""
    uid = _uid()
    title = "Delivered twice %s" % uid
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             title, "Only one post may come of this, %s.\n" % uid)
    stack.send_list_copy(msg)
    stack.send_list_copy(msg)
    wait_for(lambda: _topic_by_title(stack, title), timeout=30,
             what="the topic")
    stack.wait_queue_empty()
    wait_for(lambda: "not posted: duplicate" in stack.dovecot_log(),
             timeout=10, what="the duplicate to be counted")
    stack.wait_bridge_idle(queues=("in",))
    matches = [t for t in stack.forum_state()["topics"] if t["title"] == title]
    assert len(matches) == 1 and len(matches[0]["posts"]) == 1, matches


@requires("bridge", "admin")
def test_forged_webhook_refused(stack):
    """A webhook with a bad signature is refused with 4xx and changes
    nothing."""
    body = json.dumps({"post": {
        "id": 999999, "topic_id": 1, "post_number": 2, "username": "mallory",
        "name": "Mallory", "raw": "forged", "category_id":
        int(stack.list_category), "topic_title": "Forged",
        "reply_to_post_number": None, "created_at": "2026-11-23T10:00:00Z"}
    }).encode()
    before = (stack.redis("XLEN", "fg:{forum}:out"),
              stack.day_hlen("fg:{forum}:out-seen"))
    url = "http://127.0.0.1:%d/webhooks/discourse" % stack.webhook_port
    good = hmac.new(stack.webhook_secret.encode(), body,
                    hashlib.sha256).hexdigest()
    tampered = good[:-1] + ("1" if good[-1] == "0" else "0")
    for signature in ("sha256=" + "0" * 64, None, "sha256=" + tampered,
                      "sha1=" + good):
        headers = {"Content-Type": "application/json",
                   "X-Discourse-Event": "post_created",
                   "X-Discourse-Event-Type": "post"}
        if signature is not None:
            headers["X-Discourse-Event-Signature"] = signature
        req = urllib.request.Request(url, data=body, headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raise AssertionError("forged webhook answered %d" % r.status)
        except urllib.error.HTTPError as e:
            assert 400 <= e.code < 500, (signature, e.code)
    after = (stack.redis("XLEN", "fg:{forum}:out"),
             stack.day_hlen("fg:{forum}:out-seen"))
    assert before == after, (before, after)


@requires("plugin", "forumsim", "bridge", "admin")
def test_keep_copy_setting(stack):
    """keep_copy = yes also stores list mail in the bridge mailbox; the
    plugin picks the changed file up without a restart."""
    with open(stack.conf_path) as f:
        original = f.read()

    def send(tag):
        uid = _uid()
        title = "Keep copy %s %s" % (tag, uid)
        msg = stack.make_message("alice@example.test", stack.bridge_address,
                                 title, "Checking the keep_copy setting, %s.\n"
                                 % uid)
        stack.send_list_copy(msg)
        wait_for(lambda: _topic_by_title(stack, title), timeout=30,
                 what="topic %r" % title)
        stack.wait_queue_empty()
        return [m for m in stack.mailbox(stack.bridge_address)
                if title in str(m["Subject"])]

    assert send("off") == []
    try:
        with open(stack.conf_path, "w") as f:
            f.write(original + "keep_copy = yes\n")
        kept = send("on")
        assert len(kept) == 1, kept
    finally:
        with open(stack.conf_path, "w") as f:
            f.write(original)
