"""NodeBB's post queue, against the simulator's NodeBB mode, through
real Postfix, Dovecot LMTP, Redis and mlmmj.

NodeBB answers a queued post with 200 {"queued": true, "id":
"topic-MS"}; when a moderator approves it, nodebb-plugin-webhooks sends
action:topic.post with the post's rendered HTML as content: the bridge
maps it to the list mail and does not mail it. A rejection fires
action:post-queue:removeFromQueue with the queued post; the bridge
records it and `forumgate status` shows it.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "forum_type": "nodebb",
                 "forumsim_args": ["--nodebb-webhooks"]}

SUBSCRIBER = "carol@example.test"
BOB_UID = "7"


def _text(msg):
    body = msg.get_body(("plain",))
    return body.get_content() if body is not None else ""


def _queued(stack, marker):
    return [e for e in stack.forum_state()["review"]["queue"]
            if marker in (e["raw"] or "")]


def _nodebb_hook(stack, event):
    """POST an event as nodebb-plugin-webhooks does (sha1 signature)."""
    body = json.dumps(event).encode()
    sig = hmac.new(stack.webhook_secret.encode(), body,
                   hashlib.sha1).hexdigest()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/webhooks/nodebb" % stack.webhook_port,
        data=body, method="POST",
        headers={"Content-Type": "application/json",
                 "x-webhook-signature": "sha1=" + sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode().strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode().strip()


def _send_held(stack, subject, text, **kw):
    msg = stack.make_message("Bob Builder <bob@example.test>",
                             stack.bridge_address, subject, text,
                             authenticated=True, **kw)
    stack.send_list_copy(msg)
    marker = text.split(":")[0]
    entry = wait_for(lambda: _queued(stack, marker), timeout=30,
                     what="the post in NodeBB's post queue")[0]
    stack.wait_bridge_idle(queues=("in",))
    return msg["Message-ID"].strip("<>"), entry


@requires("plugin", "forumsim", "bridge", "admin")
def test_nodebb_queued_topic_approved_then_reply_rejected(stack):
    uid = uuid.uuid4().hex[:8]
    stack.admin("author", "set", "bob@example.test", BOB_UID, check=True)
    stack.forum_sim("/__sim/review", {"users": [BOB_UID]})
    try:
        msgid, entry = _send_held(
            stack, "NodeBB queue %s topic" % uid,
            "Queue %s: a new topic NodeBB holds for a moderator.\n" % uid)
        assert entry["type"] == "topic" and entry["id"].startswith("topic-")
        assert stack.redis("HEXISTS", "fg:{forum}:review", entry["id"]) == "1"
        assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0

        post = stack.forum_sim("/__sim/approve", {"id": entry["id"]})
        hook = wait_for(lambda: [w for w in stack.forum_state()["webhooks"]
                                 if w["post_id"] == post["id"] and w["done"]],
                        timeout=20, what="the approved topic's webhook")[0]
        assert hook["event"] == "action:topic.post" and hook["delivered"]
        wait_for(lambda: stack.redis("HGET", "fg:{forum}:msgid-post", msgid),
                 timeout=30, what="the approved topic mapped to the list mail")
        assert stack.redis("HGET", "fg:{forum}:msgid-post",
                           msgid).split(":")[0] == str(post["topic_id"])

        # a reply in it, queued as well, and rejected by the moderator
        reply_id, held = _send_held(
            stack, "Re: NodeBB queue %s topic" % uid,
            "Rejected %s: a reply a moderator turns down.\n" % uid,
            in_reply_to="<%s>" % msgid, references=["<%s>" % msgid])
        assert held["type"] == "reply" and held["topic_id"] == post["topic_id"]
        stack.forum_sim("/__sim/reject", {"id": held["id"]})
        hook = wait_for(lambda: [w for w in stack.forum_state()["webhooks"]
                                 if w.get("held_id") == held["id"]
                                 and w["done"]],
                        timeout=20, what="the rejection's webhook")[0]
        assert hook["event"] == "action:post-queue:removeFromQueue"
        assert hook["delivered"] and hook["status"] == 200, hook
    finally:
        stack.forum_sim("/__sim/review", {})
    out = stack.admin("status", check=True).stdout
    assert "forum review: waiting=0 approved=1 rejected=1 expired=0" in out, out
    line = [x for x in out.splitlines() if "<%s>" % reply_id in x]
    assert line and held["id"] in line[0] and line[0].endswith("rejected"), out
    # the same rejection again changes nothing
    assert _nodebb_hook(stack, {
        "hook": "action:post-queue:removeFromQueue",
        "params": {"data": {"id": held["id"]}}})[1] == \
        "ignored: not a post in review"

    stack.wait_bridge_idle(queues=("out",))
    stack.wait_queue_empty()
    looped = [m for m in stack.mailbox(SUBSCRIBER)
              if "Queue %s" % uid in _text(m) or "Rejected %s" % uid in _text(m)]
    assert looped == [], [m["Subject"] for m in looped]
