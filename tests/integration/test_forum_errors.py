"""The forum's refusals as NodeBB really answers them (the simulator's
NodeBB mode): a posting delay is a 400 with the seconds in its words,
and the mail waits that long and is posted, not dead-lettered; a revoked
master token is a guest's 403, which stops the list's queue until the
configuration has a key that works; a mapped author's short "Thanks!"
that the forum refuses is posted as the bridge user with the
attribution line, and a minimum the forum names is learnt and met."""

import os
import re
import signal
import uuid

from stack import requires, wait_for
from test_nodebb import _send

STACK_OPTIONS = {"full": True, "forum_type": "nodebb"}


def _topic(stack, marker):
    """The topic whose title has marker (in any case: Discourse
    prettifies titles), or None."""
    for t in stack.forum_state()["topics"]:
        if marker.lower() in t["title"].lower():
            return t
    return None


def _bridge_log(stack):
    with open(stack.log_path("forumgated"), encoding="utf-8",
              errors="replace") as f:
        return f.read()


def _dead(stack):
    return int(stack.redis("XLEN", "fg:{forum}:dead") or 0)


def _set_config_key(stack, key):
    """forum_api_key in forumgate.conf, rewritten in place (its owner and
    mode stay: the plugin reads it too)."""
    with open(stack.conf_path) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^forum_api_key = .*$",
                      "forum_api_key = " + key, text)
    assert n == 1, text
    with open(stack.conf_path, "w") as f:
        f.write(text)
    stack.forum_api_key = key
    stack.config["forum_api_key"] = key


def delay_then_posted(stack, title, answer):
    """A posting delay of 1 s, more times than forum_max_tries: the mail
    waits the second each time, is posted and not dead-lettered; answer
    is a pattern of the forum's refusal in the log. The topic."""
    tries = int(stack.config.get("forum_max_tries", 5)) + 1
    stack.forum_fail("newbie-delay", count=tries, retry_after=1)
    _send(stack, "Alice Example <alice@example.test>", title,
          "%s: a message while the forum says wait.\n" % title)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the post after the delay")
    log = _bridge_log(stack)
    assert re.search(r"the forum asks to wait \(rate limit or posting "
                     r"delay\): forum answered " + answer +
                     r".*retry in 1\.000s", log), log[-3000:]
    assert log.count("the forum asks to wait") >= tries, log[-3000:]
    assert _dead(stack) == 0
    assert stack.forum_state()["fail"]["remaining"] == 0
    return topic


def refused_key_stops(stack, title, answer):
    """The forum's key is rotated: a mail stops the queue (log, status
    with the forum's answer, a pattern), is neither posted nor
    dead-lettered; then the configuration gets the new key."""
    new_key = "rotated-" + uuid.uuid4().hex
    stack.forum_sim("/__sim/settings", {"api_key": new_key})
    try:
        _send(stack, "Alice Example <alice@example.test>", title,
              "%s: sent while the key is revoked.\n" % title)
        wait_for(lambda: "the forum refused the bridge's credentials" in
                 _bridge_log(stack), timeout=60,
                 what="the bridge to see the refused key")
        status = stack.admin("status", check=True).stdout
        assert re.search(r"inbound stopped by the forum: credentials "
                         r"refused .* forum answered " + answer, status), \
            status
        assert _topic(stack, title) is None
        assert _dead(stack) == 0
        assert int(stack.redis("XLEN", "fg:{forum}:in") or 0) == 1
        assert stack.redis("HGET", "fg:{forum}:in-stopped",
                           "cause") == "credentials"
    finally:
        _set_config_key(stack, new_key)


def resumed(stack, title):
    """The queue stopped by refused_key_stops() moved again."""
    wait_for(lambda: _topic(stack, title), timeout=60,
             what="the post with the new key")
    wait_for(lambda: int(stack.redis("EXISTS", "fg:{forum}:in-stopped")
                         or 0) == 0, timeout=10,
             what="fg:{forum}:in-stopped to go")
    assert "inbound stopped" not in stack.admin("status", check=True).stdout
    log = _bridge_log(stack)
    assert "forum_api_key changed in" in log
    assert "the forum accepts the bridge's credentials again" in log
    assert _dead(stack) == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_posting_delay_waits_and_posts(stack):
    """NodeBB's "As a new user, you can only post once every N
    second(s)" is HTTP 400: the queue waits the N seconds, as often as
    the forum says so (more times than forum_max_tries), then posts."""
    topic = delay_then_posted(
        stack, "Errors %s delay" % uuid.uuid4().hex[:8],
        r"HTTP 400: As a new user, you can only post once every 1 "
        r"second\(s\)")
    assert topic["posts"][0]["username"] == stack.forum_api_username
    # the record of the wait goes with the first post that went through
    wait_for(lambda: int(stack.redis("EXISTS", "fg:{forum}:in-stopped")
                         or 0) == 0, timeout=10,
             what="fg:{forum}:in-stopped to go")


@requires("plugin", "forumsim", "bridge", "admin")
def test_mapped_short_post_posted(stack):
    """A mapped author's "Thanks!" below the forum's minimumPostLength
    goes again as the bridge user with the attribution line; an
    unmapped one still too short with it is fitted to the minimum the
    forum named."""
    uid = uuid.uuid4().hex[:8]
    stack.admin("author", "set", "bob@example.test", "7", check=True)
    # 60: more than "Thanks!" padded to the bridge's own minimum (48
    # characters), less than it with the attribution line (64)
    stack.forum_sim("/__sim/settings", {"min_post_length": 60})
    try:
        _send(stack, "Robert Bartholomew Builder <bob@example.test>",
              "Errors %s thanks" % uid, "Thanks!\n", authenticated=True)
        topic = wait_for(lambda: _topic(stack, "Errors %s thanks" % uid),
                         timeout=60, what="Bob's short post")
        post = topic["posts"][0]
        assert post["username"] == stack.forum_api_username, post
        assert post["raw"].startswith(
            "Robert Bartholomew Builder (bob@e\u2026) wrote via"), \
            post["raw"]
        assert "Thanks!" in post["raw"]
        assert "as the bridge user with the attribution line" in \
            _bridge_log(stack)

        stack.forum_sim("/__sim/settings", {"min_post_length": 300})
        _send(stack, "Al <al@example.test>", "Errors %s ok" % uid, "Ok!\n")
        topic = wait_for(lambda: _topic(stack, "Errors %s ok" % uid),
                         timeout=60, what="the padded short post")
        raw = topic["posts"][0]["raw"]
        assert "Ok!" in raw and len(raw.strip()) >= 300, raw
        assert "(a short message from the mailing list)" in raw
        assert re.search(r"Please enter a longer post\. Posts should "
                         r"contain at least 300 character\(s\)\.; fitted "
                         r"to the forum's own limit", _bridge_log(stack))
        assert _dead(stack) == 0
    finally:
        stack.forum_sim("/__sim/settings", {"min_post_length": 8})


@requires("plugin", "forumsim", "bridge", "admin")
def test_revoked_token_stops_queue_until_fixed(stack):
    """A revoked master token (NodeBB: 403, the request made as a guest)
    stops the list's queue, never dead-letters, shows in `forumgate
    status`, and a fixed forum_api_key (SIGHUP) resumes the queue."""
    title = "Errors %s token" % uuid.uuid4().hex[:8]
    refused_key_stops(stack, title, r"HTTP 403: You do not have enough "
                      r"privileges for this action\.")
    os.kill(stack.daemon_pid("bridge"), signal.SIGHUP)
    resumed(stack, title)
