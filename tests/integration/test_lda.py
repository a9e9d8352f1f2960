"""The plugin in dovecot-lda, Dovecot's other delivery path: a list copy
given to dovecot-lda for the bridge recipient is queued and becomes a
topic, any other recipient gets its mail as without the plugin, and
with Redis down dovecot-lda exits 75 (EX_TEMPFAIL) so that the MTA
keeps the mail; delivered again later, it is posted once. The same on
Dovecot 2.3 and 2.4 (the stack writes the configuration for both)."""

import subprocess
import uuid

from stack import LIST_ADDRESS, LIST_ID, LIST_RETURN_PATH, requires, wait_for

STACK_OPTIONS = {"full": True}

DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
EX_TEMPFAIL = 75


def _lda(stack, rcpt, sender, msg):
    """Run dovecot-lda for one recipient; (exit status, stderr)."""
    data = msg.as_bytes() if hasattr(msg, "as_bytes") else msg
    r = subprocess.run([DOVECOT_LDA, "-c", stack.dovecot_conf, "-d", rcpt,
                        "-f", sender], input=data, capture_output=True,
                       timeout=60)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def _list_copy(stack, title, body):
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             title, body)
    msg["List-Id"] = "<%s>" % LIST_ID
    msg["List-Post"] = "<mailto:%s>" % LIST_ADDRESS
    return msg


def _topics(stack, title):
    return [t for t in stack.forum_state()["topics"] if t["title"] == title]


@requires("plugin", "forumsim", "bridge")
def test_lda_list_copy_becomes_topic(stack):
    uid = uuid.uuid4().hex[:8]
    title = "Delivered by dovecot-lda %s" % uid
    msg = _list_copy(stack, title, "Through LDA, %s.\n" % uid)
    rc, err = _lda(stack, stack.bridge_address, LIST_RETURN_PATH, msg)
    assert rc == 0, err
    topic = wait_for(lambda: _topics(stack, title), timeout=60,
                     what="the LDA delivery as a topic")[0]
    assert "Through LDA, %s." % uid in topic["posts"][0]["raw"]


@requires("plugin")
def test_lda_other_recipient_unchanged(stack):
    uid = uuid.uuid4().hex[:8]
    title = "Private mail %s" % uid
    msg = stack.make_message("bob@example.test", "alice@example.test",
                             title, "Not for any forum, %s.\n" % uid)
    rc, err = _lda(stack, "alice@example.test", "bob@example.test", msg)
    assert rc == 0, err
    got = [m for m in stack.mailbox("alice@example.test")
           if str(m["Subject"]) == title]
    assert len(got) == 1


@requires("plugin", "forumsim", "bridge")
def test_lda_redis_down_exits_tempfail(stack):
    uid = uuid.uuid4().hex[:8]
    title = "LDA during an outage %s" % uid
    msg = _list_copy(stack, title, "Waited for Redis, %s.\n" % uid)
    stack.redis_stop()
    try:
        offsets = stack.log_offsets()
        rc, err = _lda(stack, stack.bridge_address, LIST_RETURN_PATH, msg)
        assert rc == EX_TEMPFAIL, (rc, err)
        # dovecot-lda logs to the stack's Dovecot log (log_path)
        log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
        assert "forumgate: list=forum temporary failure, the MTA will " \
            "retry" in log, log
        assert not _topics(stack, title)
        assert not [m for m in stack.mailbox(stack.bridge_address)
                    if str(m["Subject"]) == title]
    finally:
        stack.redis_start()
    # the MTA tries again: posted once
    rc, err = _lda(stack, stack.bridge_address, LIST_RETURN_PATH, msg)
    assert rc == 0, err
    wait_for(lambda: _topics(stack, title), timeout=60,
             what="the retried delivery as a topic")
    stack.wait_bridge_idle(queues=("in",))
    topics = _topics(stack, title)
    assert len(topics) == 1 and len(topics[0]["posts"]) == 1, topics
