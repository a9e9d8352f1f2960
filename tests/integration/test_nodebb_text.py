"""NodeBB's webhooks as nodebb-plugin-webhooks 2.0.3 sends them (the
simulator's --nodebb-webhooks): the post's content is NodeBB's rendered
HTML, so the bridge mails the Markdown of GET /api/v3/posts/PID/raw,
or the HTML converted to text when that call fails, never the HTML;
and the secrets the payload echoes (the master token, a browser's
session cookie and CSRF token) are never stored, logged or mailed."""

import os
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "forum_type": "nodebb",
                 "forumsim_args": ["--nodebb-webhooks"]}

state = {}


def _text_part(msg):
    """The text/plain part of a mail (the mail itself when not multipart)."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def _mail_with(stack, user, marker):
    """The mail in user's mailbox whose subject carries marker."""
    found = [m for m in stack.mailbox(user) if marker in str(m["Subject"])]
    return found[-1] if found else None


def _webhook_done(stack, post_id):
    """The simulator delivered the post's webhook (answered 200)."""
    for hook in stack.forum_state()["webhooks"]:
        if hook["post_id"] == post_id and hook["done"]:
            assert hook["delivered"], hook
            return hook
    return None


@requires("forumsim", "bridge")
def test_nodebb_content_mailed_as_markdown(stack):
    """A NodeBB topic and a reply reach the list as their Markdown from
    the raw endpoint: no <p dir="auto">, no emoji <img>."""
    uid = uuid.uuid4().hex[:8]
    title = "Rendered %s topic" % uid
    offsets = stack.log_offsets()
    topic = stack.forum_topic(title, "Hello **all** :grinning:\n\nSecond "
                              "paragraph, R&D <tags>.", "7", "Ann Node",
                              category=int(stack.list_category))
    hook = wait_for(lambda: _webhook_done(stack, topic["id"]), timeout=30,
                    what="the topic's webhook")
    reply = stack.forum_reply(topic["topic_id"], "Thanks **a lot** :+1:",
                              "8", "Ben Node", reply_to_post_number=1)
    wait_for(lambda: _webhook_done(stack, reply["id"]), timeout=30,
             what="the reply's webhook")
    mails = wait_for(lambda: (lambda ms: ms if len(ms) == 2 else None)(
        [m for m in stack.mailbox("alice@example.test")
         if title in str(m["Subject"])]),
        timeout=60, what="the topic and the reply in alice's mailbox")
    # the topic's mail answers nothing, the reply's answers it (the two
    # may be delivered in either order)
    first = next(m for m in mails if m["In-Reply-To"] is None)
    second = next(m for m in mails if m["In-Reply-To"] is not None)
    text1, text2 = _text_part(first), _text_part(second)
    assert "Hello **all** :grinning:" in text1, text1
    assert "Second paragraph, R&D <tags>." in text1, text1
    assert "Thanks **a lot** :+1:" in text2, text2
    for text in (text1, text2):
        assert "<p" not in text and "<img" not in text, text
        assert "&amp;" not in text, text
    log = stack.logs_since(offsets, 400).get("forumgated", "")
    assert "post_id=%d: text from the forum's raw source" % topic["id"] \
        in log, log
    assert "post_id=%d: text from the forum's raw source" % reply["id"] \
        in log, log
    requests = [r for r in stack.forum_state()["request_log"]
                if r["path"].endswith("/raw")]
    assert {r["path"] for r in requests} >= {
        "/api/v3/posts/%d/raw" % topic["id"],
        "/api/v3/posts/%d/raw" % reply["id"]}, requests
    assert stack.forum_state()["violations"] == []
    state["secrets"] = list(hook["secrets"])


@requires("forumsim", "bridge")
def test_nodebb_raw_failure_converts_html(stack):
    """The raw call fails (NodeBB's 404 for a post the bridge's user may
    not read): the HTML is converted to text, the emoji to its
    character, and the mail still goes out."""
    uid = uuid.uuid4().hex[:8]
    title = "Converted %s topic" % uid
    offsets = stack.log_offsets()
    stack.forum_sim("/__sim/nodebb-raw-fail", {"count": 1})
    topic = stack.forum_topic(title, "Thanks **a lot** :grinning:\n\n"
                              "Tom & Jerry", "7", "Ann Node",
                              category=int(stack.list_category))
    hook = wait_for(lambda: _webhook_done(stack, topic["id"]), timeout=30,
                    what="the topic's webhook")
    mail = wait_for(lambda: _mail_with(stack, "alice@example.test", title),
                    timeout=60, what="the topic in alice's mailbox")
    text = _text_part(mail)
    assert "Thanks **a lot** \U0001F600" in text, text
    assert "Tom & Jerry" in text, text
    assert "<" not in text.split("\n-- \n")[0] and "&amp;" not in text, text
    assert ":grinning:" not in text, text
    log = stack.logs_since(offsets, 400).get("forumgated", "")
    assert "post_id=%d: the forum's raw source is not available" \
        % topic["id"] in log, log
    assert "mailing the HTML converted to text" in log, log
    assert stack.forum_state()["requests"] > 0
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0
    state.setdefault("secrets", []).extend(hook["secrets"])


def _redis_values(stack):
    """Every key and value in Redis, as text (streams, hashes, sets,
    sorted sets, lists and strings)."""
    out = []
    for key in stack.redis_call("KEYS", "*"):
        kind = stack.redis_call("TYPE", key)
        out.append(key)
        if kind == "stream":
            out.append(repr(stack.redis_call("XRANGE", key, "-", "+")))
        elif kind == "hash":
            out.append(repr(stack.redis_call("HGETALL", key)))
        elif kind == "set":
            out.append(repr(stack.redis_call("SMEMBERS", key)))
        elif kind == "zset":
            out.append(repr(stack.redis_call("ZRANGE", key, 0, -1)))
        elif kind == "list":
            out.append(repr(stack.redis_call("LRANGE", key, 0, -1)))
        elif kind == "string":
            out.append(repr(stack.redis_call("GET", key)))
    return "\n".join(out)


def _files_under(folder):
    """The bytes of every file below folder."""
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    yield os.path.join(root, name), f.read()
            except OSError:
                continue


@requires("plugin", "forumsim", "bridge")
def test_nodebb_webhook_secrets_not_kept(stack):
    """The payload's secrets (params.data.req.headers.authorization, the
    master token of the bridge's own API posts; params.caller.req's
    session cookie and CSRF token of a browser's post) are in no Redis
    value, no append-only file, no log and no mail."""
    assert state.get("secrets"), "needs the tests before"
    uid = uuid.uuid4().hex[:8]
    # the bridge's own post through the API: its webhook echoes the
    # master token, and the post is recognised as the bridge's own
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.bridge_address,
                             "Secret %s from the list" % uid,
                             "Secret %s: a list mail for NodeBB.\n" % uid)
    stack.send_list_copy(msg)

    def own_hook():
        for t in stack.forum_state()["topics"]:
            for p in t["posts"]:
                if "Secret %s" % uid in p["raw"]:
                    return _webhook_done(stack, p["id"])
        return None
    hook = wait_for(own_hook, timeout=60, what="the bridge's own post's "
                    "webhook")
    token = "Bearer " + stack.forum_api_key
    assert token in hook["secrets"], hook
    secrets = state["secrets"] + hook["secrets"] + [stack.forum_api_key]
    assert any(s.startswith("express.sid=") for s in secrets), secrets
    stack.wait_bridge_idle()
    assert "not mailed: created by the bridge" in stack.log_tail(
        "forumgated", 400)
    values = _redis_values(stack)
    # the dump sees what the bridge keeps: the list mail's map entry
    assert msg["Message-ID"].strip("<>") in values
    places = [("redis", values.encode())]
    aof = list(_files_under(stack.path("redis")))
    # the append-only file has every write in clear: what was ever stored
    assert any(msg["Message-ID"].strip("<>").encode() in data
               for _, data in aof), [name for name, _ in aof]
    places += aof
    places += [(name, open(stack.log_path(name), "rb").read())
               for name in ("forumgated", "dovecot", "postfix")
               if os.path.exists(stack.log_path(name))]
    places += list(_files_under(stack.path("mail")))
    for secret in secrets:
        for where, data in places:
            assert secret.encode() not in data, (secret, where)
