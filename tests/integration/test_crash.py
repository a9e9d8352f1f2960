"""Crashes and outages while a post is being made: the post is made
once, and the forum's webhook of it is never mailed back to the list.

The forum simulator's "slow" mode carries a request out at once (the
post exists, its webhook goes out) and answers only later, so every
fault below strikes while the bridge waits for that answer. Faults are
driven by what the test observes (the post on the forum), not by time.
Under scripts/asan-check, forumgated runs with ASan/UBSan here too.
"""

import os
import signal
import uuid

from stack import requires, wait_for

# the bridge's API user and the mapped author are staff: Discourse does
# not refuse their repeats as "too similar", so only the bridge itself
# can keep a post from being made twice
STACK_OPTIONS = {"full": True,
                 "forumsim_args": ["--staff", "forumgate", "--staff", "alice"]}

AUTHOR = "alice@example.test"
AUTHOR_USER = "alice"
# longer than any test waits: the answer never comes in time
SLOW_S = 60


def _uid():
    return uuid.uuid4().hex[:8]


def _posts_with(stack, text):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if text in p["raw"]]


def _mails_with(stack, user, text):
    return [m for m in stack.mailbox(user) if text in str(m)]


def _webhooks_done(stack):
    return all(w.get("done") for w in stack.forum_state()["webhooks"])


def _settled(stack):
    """Everything the faults set going is finished: the simulator sent
    its webhooks, the bridge emptied both queues, Postfix delivered."""
    wait_for(lambda: _webhooks_done(stack), 60, "the forum's webhooks")
    stack.wait_bridge_idle()
    stack.wait_queue_empty()


def _kill_bridge(stack):
    pid = stack.daemon_pid("bridge")
    assert pid is not None, "the bridge is not running"
    os.kill(pid, signal.SIGKILL)
    stack._procs["forumgated"].popen.wait()
    stack.started.discard("bridge")


def _root_topic(stack, uid):
    """A topic by the mapped author to reply in; its Message-ID."""
    stack.admin("author", "set", AUTHOR, AUTHOR_USER, check=True)
    root = stack.make_message(AUTHOR, stack.bridge_address,
                              "Crash thread %s" % uid,
                              "The root of crash thread %s.\n" % uid,
                              authenticated=True)
    stack.send_list_copy(root)
    wait_for(lambda: _posts_with(stack, "root of crash thread %s" % uid),
             60, "the root post")
    return root["Message-ID"]


@requires("plugin", "forumsim", "bridge", "admin")
def test_sigkill_while_posting_as_staff(stack):
    """SIGKILL the bridge again and again while the forum holds the
    answer of a reply it already made: no reply is posted twice, and no
    orphan post's webhook reaches the list."""
    uid = _uid()
    root = _root_topic(stack, uid)
    rounds = 6
    texts = []
    for n in range(rounds):
        text = "Reply %d of crash thread %s, made once." % (n, uid)
        texts.append(text)
        msg = stack.make_message(AUTHOR, stack.bridge_address,
                                 "Re: Crash thread %s" % uid, text + "\n",
                                 in_reply_to=root, references=[root],
                                 authenticated=True)
        stack.forum_fail("slow", count=1, retry_after=SLOW_S)
        stack.send_list_copy(msg)
        # the forum made the post and holds the answer: kill now
        wait_for(lambda: _posts_with(stack, text), 60,
                 "reply %d on the forum" % n)
        _kill_bridge(stack)
        stack.forum_fail("none")
        stack.daemon_start("bridge")
        stack.wait_bridge_idle(queues=("in",))
    _settled(stack)

    duplicates = sum(len(_posts_with(stack, t)) - 1 for t in texts)
    echoes = sum(len(_mails_with(stack, "bob@example.test", t))
                 for t in texts)
    print("# sigkill while posting as staff: %d kills, %d duplicate "
          "posts, %d echoes to the list" % (rounds, duplicates, echoes))
    assert all(len(_posts_with(stack, t)) == 1 for t in texts), \
        [(t, len(_posts_with(stack, t))) for t in texts]
    assert echoes == 0, echoes
    # each reply is recorded under its root: the map has them all
    for t in texts:
        (topic, post), = _posts_with(stack, t)
        assert post["post_number"] > 1, post
        assert stack.redis("HGET", "fg:{forum}:post-msgid", "%d:%d" % (
            topic["id"], post["post_number"])), (topic["id"], post)
    log = open(stack.log_path("forumgated"), errors="replace").read()
    assert log.count("the forum has the post already") >= rounds, \
        "the restarted daemon did not look for the post first"


@requires("plugin", "forumsim", "bridge", "admin")
def test_redis_lost_while_forum_slow(stack):
    """Redis stopped and started while the forum holds an entry's
    answer: the post is recorded once Redis is back, posted once."""
    uid = _uid()
    text = "Posted while Redis went away, %s." % uid
    msg = stack.make_message(AUTHOR, stack.bridge_address,
                             "Redis outage %s" % uid, text + "\n")
    def answered():
        return sum(1 for r in stack.forum_state()["request_log"]
                   if r["method"] == "POST" and r["path"] == "/posts.json"
                   and r["status"] == 200)
    before = answered()
    stack.forum_fail("slow", count=1, retry_after=3)
    stack.send_list_copy(msg)
    wait_for(lambda: _posts_with(stack, text), 60, "the post on the forum")
    log = stack.log_path("forumgated")
    offset = os.path.getsize(log)
    stack.redis_stop()
    try:
        # the bridge notices the outage while it waits for the forum
        # (renewing its lease), then the forum's answer comes
        def outage_seen():
            with open(log, errors="replace") as f:
                f.seek(offset)
                return any("list->forum:" in line and "retrying" in line
                           for line in f)
        wait_for(outage_seen, 60, "the bridge to see Redis gone")
        wait_for(lambda: answered() > before, 60, "the forum's answer")
    finally:
        stack.redis_start()
    _settled(stack)
    posts = _posts_with(stack, text)
    assert len(posts) == 1, posts
    topic, post = posts[0]
    assert stack.redis("HGET", "fg:{forum}:post-msgid",
                       "%d:%d" % (topic["id"], post["post_number"])) \
        == msg["Message-ID"].strip("<>")
    assert not _mails_with(stack, "bob@example.test", text)
