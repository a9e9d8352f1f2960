"""The bridge against a NodeBB forum (the simulator's NodeBB mode, which
checks every request against the NodeBB Write API contract): list mail
through real Postfix, Dovecot LMTP and Redis becomes NodeBB topics and
replies (toPid), as the mapped author's uid, through a 503 outage."""

import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "forum_type": "nodebb"}


def _posts(stack, marker):
    found = [(t, p) for t in stack.forum_state()["topics"]
             for p in t["posts"] if marker in p["raw"]]
    return sorted(found, key=lambda tp: tp[1]["id"])


def _send(stack, sender, subject, body, **kw):
    return stack.queue_list_copy(sender, subject, body, **kw)


@requires("plugin", "forumsim", "bridge", "admin")
def test_nodebb_topics_replies_authors(stack):
    uid = uuid.uuid4().hex[:8]
    stack.admin("author", "set", "bob@example.test", "7", check=True)
    stack.forum_fail("503", count=3)
    first = _send(stack, "Alice Example <alice@example.test>",
                  "NodeBB %s thread" % uid,
                  "NodeBB %s: the first message.\n" % uid)
    second = _send(stack, "Bob Builder <bob@example.test>",
                   "Re: NodeBB %s thread" % uid,
                   "NodeBB %s: Bob answers the first message.\n" % uid,
                   in_reply_to=first, references=[first],
                   authenticated=True)
    _send(stack, "Alice Example <alice@example.test>",
          "Re: Re: NodeBB %s thread" % uid,
          "NodeBB %s: Alice answers Bob.\n" % uid,
          in_reply_to=second, references=[first, second])
    wait_for(lambda: len(_posts(stack, "NodeBB %s" % uid)) == 3,
             timeout=60, what="three NodeBB posts")
    posts = _posts(stack, "NodeBB %s" % uid)
    (t1, p1), (t2, p2), (t3, p3) = posts
    assert t1["id"] == t2["id"] == t3["id"], posts
    assert [p["post_number"] for _, p in posts] == [1, 2, 3]
    assert p2["reply_to_post_number"] == 1 and p3["reply_to_post_number"] == 2
    assert t1["category_id"] == int(stack.list_category)
    assert [p["username"] for _, p in posts] == ["1", "7", "1"], posts
    assert p1["raw"].startswith("Alice Example (alice@e\u2026) wrote via")
    assert not p2["raw"].startswith("Bob")
    st = stack.forum_state()
    assert st["violations"] == [] and st["response_errors"] == [], st
    # the entry is acknowledged right after the post exists
    wait_for(lambda: int(stack.redis("XLEN", "fg:{forum}:in") or 0) == 0,
             timeout=10, what="the inbound queue to drain")
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_nodebb_attachments_listed(stack):
    """NodeBB's Write API has no upload call: attachments are listed."""
    uid = uuid.uuid4().hex[:8]
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.bridge_address, "NodeBB %s files" % uid,
                             "NodeBB %s: one picture attached.\n" % uid)
    msg.add_attachment(b"\x89PNG\r\n\x1a\n1234", maintype="image",
                       subtype="png", filename="photo.png")
    stack.send_list_copy(msg)
    wait_for(lambda: _posts(stack, "NodeBB %s" % uid), timeout=30,
             what="the post")
    (_, post), = _posts(stack, "NodeBB %s" % uid)
    assert "photo.png (image/png, 12 bytes, not uploaded)" in post["raw"], \
        post["raw"]


@requires("plugin", "forumsim", "bridge", "admin")
def test_stale_author_mapping_falls_back(stack):
    """An authors map entry the forum cannot use (not a NodeBB uid) does
    not stop the list: the post is made as the bridge user, attributed."""
    uid = uuid.uuid4().hex[:8]
    stack.admin("author", "set", "carol@example.test", "carol", check=True)
    _send(stack, "Carol Singer <carol@example.test>", "NodeBB %s stale" % uid,
          "NodeBB %s: Carol's mapping is not a uid.\n" % uid,
          authenticated=True)
    wait_for(lambda: _posts(stack, "NodeBB %s" % uid), timeout=30,
             what="the post")
    (_, post), = _posts(stack, "NodeBB %s" % uid)
    assert post["username"] == stack.forum_api_username, post
    assert post["raw"].startswith("Carol Singer (carol@e\u2026) wrote via"), \
        post["raw"]
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_nodebb_long_mail_cut(stack):
    """A 40,000-character mail with a 300-character subject is posted at
    the first try within NodeBB's limits, counted as NodeBB counts them
    (UTF-16 code units: each emoji here counts two)."""
    uid = uuid.uuid4().hex[:8]
    subject = ("NodeBB %s long subject " % uid) * 20
    subject = subject[:300]
    body = "".join(("NodeBB %s line %05d \U0001F600 " % (uid, i)).ljust(79, "x")
                   + "\n" for i in range(500))
    assert len(subject) == 300 and len(body) == 40000
    since = len(stack.forum_state()["request_log"])
    _send(stack, "Alice Example <alice@example.test>", subject, body)
    wait_for(lambda: _posts(stack, "NodeBB %s line 00000" % uid), timeout=60,
             what="the long mail posted")
    (topic, post), = _posts(stack, "NodeBB %s line 00000" % uid)

    def units(text):
        return len(text.encode("utf-16-le")) // 2
    assert units(topic["title"]) <= 255, topic["title"]
    assert topic["title"].endswith("\u2026"), topic["title"]
    assert units(post["raw"]) <= 32767, units(post["raw"])
    assert units(post["raw"]) > 31000, units(post["raw"])
    assert post["raw"].rstrip().endswith(
        "more characters; the full text is in the list archive]"), \
        post["raw"][-200:]
    refused = [r for r in stack.forum_state()["request_log"][since:]
               if r["status"] is not None and 400 <= r["status"] < 500]
    assert refused == [], refused
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0
