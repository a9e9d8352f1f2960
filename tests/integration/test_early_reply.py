"""A reply that reaches the bridge before its parent waits aside for
it while the rest of the list's queue goes on, and lands under the
parent as soon as the parent is posted; one whose parent never comes is
posted on its own when reply_wait_unseen is up.
"""

import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}


def _uid():
    return uuid.uuid4().hex[:8]


def _post_with(stack, text):
    for t in stack.forum_state()["topics"]:
        for p in t["posts"]:
            if text in p["raw"]:
                return t, p
    return None


def _waiting(stack):
    return stack.redis_call("XLEN", "fg:{%s}:in-wait" % stack.list_name)


def _log(stack):
    with open(stack.log_path("forumgated"), errors="replace") as f:
        return f.read()


@requires("plugin", "forumsim", "bridge", "admin")
def test_reply_before_parent_lands_under_it(stack):
    uid = _uid()
    parent = stack.make_message("alice@example.test", stack.bridge_address,
                                "Early reply %s" % uid,
                                "The parent of %s.\n" % uid)
    reply = stack.make_message("bob@example.test", stack.bridge_address,
                               "Re: Early reply %s" % uid,
                               "The reply of %s, sent first.\n" % uid,
                               in_reply_to=parent["Message-ID"],
                               references=[parent["Message-ID"]])
    other = stack.make_message("carol@example.test", stack.bridge_address,
                               "Unrelated %s" % uid,
                               "Posted while the reply waits, %s.\n" % uid)
    # the reply first: it is set aside, and the queue goes on
    stack.send_list_copy(reply)
    wait_for(lambda: _waiting(stack) == 1, 30, "the reply set aside")
    stack.send_list_copy(other)
    wait_for(lambda: _post_with(stack, "Posted while the reply waits, %s"
                                % uid), 30, "the next mail posted")
    assert _post_with(stack, "The reply of %s" % uid) is None
    assert "set aside for up to" in _log(stack)
    # the parent comes: the reply goes right after it, under it
    stack.send_list_copy(parent)
    wait_for(lambda: _post_with(stack, "The reply of %s" % uid), 30,
             "the reply posted")
    ptopic, ppost = _post_with(stack, "The parent of %s" % uid)
    rtopic, rpost = _post_with(stack, "The reply of %s" % uid)
    assert rtopic["id"] == ptopic["id"], (rtopic["title"], ptopic["title"])
    assert ppost["post_number"] == 1 and rpost["post_number"] == 2
    assert rpost.get("reply_to_post_number") in (None, 1), rpost
    # recorded (and gone from the waiting replies) just after the forum
    # made the post
    wait_for(lambda: _waiting(stack) == 0, 30, "the reply recorded")
    status = stack.admin("status", check=True).stdout
    assert "waiting=0" in status, status


@requires("plugin", "forumsim", "bridge", "admin")
def test_parent_never_comes(stack):
    """reply_wait_unseen up: the reply becomes a topic of its own."""
    with open(stack.conf_path) as f:
        text = f.read()
    with open(stack.conf_path, "w") as f:
        f.write(text + "reply_wait_unseen = 6s\n")
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")
    uid = _uid()
    reply = stack.make_message("bob@example.test", stack.bridge_address,
                               "Re: Never seen %s" % uid,
                               "A reply whose parent never came, %s.\n" % uid,
                               in_reply_to="<never-%s@example.test>" % uid)
    stack.send_list_copy(reply)
    wait_for(lambda: _waiting(stack) == 1, 30, "the reply set aside")
    wait_for(lambda: _post_with(stack, "whose parent never came, %s" % uid),
             60, "the reply posted on its own")
    topic, post = _post_with(stack, "whose parent never came, %s" % uid)
    assert post["post_number"] == 1, post
    wait_for(lambda: _waiting(stack) == 0, 30, "the reply recorded")
    assert "posted without it" in _log(stack)
