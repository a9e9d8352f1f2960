"""A webhook that carries only the rendered HTML of a post (a generic
forum's {"post": {..., "cooked"}} without "raw") on a Discourse forum:
the bridge mails the post's raw text from GET /posts/ID.json, or the
HTML converted to text when the forum does not have the post; never
the HTML itself."""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}

OTHER_CATEGORY = 99     # not bridged: the simulator's own webhook is ignored


def _generic(stack, post):
    """POST /webhooks/post, signed; the HTTP status."""
    body = json.dumps({"post": post}).encode()
    sig = hmac.new(stack.webhook_secret.encode(), body,
                   hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/webhooks/post" % stack.webhook_port, data=body,
        method="POST", headers={"Content-Type": "application/json",
                                "X-Forumgate-Event": "post_created",
                                "X-Forumgate-Signature": "sha256=" + sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _text_of(stack, title):
    """The text/plain of the mail in alice's mailbox with that title."""
    for msg in stack.mailbox("alice@example.test"):
        if title in str(msg["Subject"]):
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    return part.get_content()
    return None


@requires("forumsim", "bridge")
def test_cooked_only_gets_raw_from_the_forum(stack):
    uid = uuid.uuid4().hex[:8]
    title = "Cooked %s from a generic forum" % uid
    topic = stack.forum_topic(title, "Raw **Markdown** of %s, as typed." % uid,
                              "dana", "Dana Web", category=OTHER_CATEGORY)
    wait_for(lambda: any(h["post_id"] == topic["id"] and h["done"]
                         for h in stack.forum_state()["webhooks"]),
             timeout=30, what="the simulator's own webhook (ignored)")
    assert _generic(stack, {
        "id": topic["id"], "topic_id": topic["topic_id"], "post_number": 1,
        "username": "dana", "name": "Dana Web", "topic_title": title,
        "cooked": "<p>Rendered <strong>HTML</strong> of %s</p>" % uid,
        "category_id": int(stack.list_category), "post_type": 1,
        "created_at": "2026-11-23T10:00:00Z"}) == 200
    text = wait_for(lambda: _text_of(stack, title), timeout=60,
                    what="the post in alice's mailbox")
    assert "Raw **Markdown** of %s, as typed." % uid in text, text
    assert "Rendered" not in text and "<p>" not in text, text
    assert "GET /posts/%d.json" % topic["id"] in open(
        stack.log_path("forumsim")).read()


@requires("forumsim", "bridge")
def test_cooked_only_converted_without_the_post(stack):
    uid = uuid.uuid4().hex[:8]
    title = "Cooked %s the forum lost" % uid
    offsets = stack.log_offsets()
    assert _generic(stack, {
        "id": 880000, "topic_id": 770000, "post_number": 1,
        "username": "erin", "name": "Erin", "topic_title": title,
        "cooked": "<p>Rendered <strong>HTML</strong> of %s &amp; more</p>\n"
                  "<ul><li>one</li><li>two</li></ul>" % uid,
        "category_id": int(stack.list_category), "post_type": 1}) == 200
    text = wait_for(lambda: _text_of(stack, title), timeout=60,
                    what="the post in alice's mailbox")
    assert "Rendered **HTML** of %s & more" % uid in text, text
    assert "- one" in text and "- two" in text, text
    assert "<" not in text.split("\n-- \n")[0], text
    log = stack.logs_since(offsets, 200).get("forumgated", "")
    assert "post_id=880000: the forum's raw source is not available" in log, \
        log
