"""Two forumgated daemons on one Redis: each list's queue is worked by
the one holding its lease, so the list stays in order; when that daemon
dies, the other takes the list over with what the first left pending.
"""

import os
import re
import signal
import subprocess
import time
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}


def _start_second(stack, name):
    """A second forumgated with its own webhook port and consumer name,
    and a short lease."""
    conf = stack.path("forumgate-%s.conf" % name)
    with open(stack.conf_path) as f:
        text = f.read()
    text = text.replace("webhook_listen = 127.0.0.1:%d" % stack.webhook_port,
                        "webhook_listen = 127.0.0.1:0")
    with open(conf, "w") as f:
        f.write(text + "queue_lease_ttl = 2s\n")
    log = open(stack.path("forumgated-%s.log" % name), "ab")
    return subprocess.Popen([stack.binaries["bridge"], "-f", "-c", conf,
                             "-n", name], stdout=log, stderr=log)


def _wait_queued(stack, msgid):
    """A reply must reach the bridge after its parent to thread under it:
    wait until the plugin queued this one before sending the next."""
    msgid = msgid.strip("<>")
    wait_for(lambda: stack.day_hget("fg:{forum}:in-seen", msgid) != "",
             timeout=30, what="the plugin to queue %s" % msgid)


def _restart_first_with_short_lease(stack):
    with open(stack.conf_path) as f:
        text = f.read()
    if "queue_lease_ttl" not in text:
        with open(stack.conf_path, "w") as f:
            f.write(text + "queue_lease_ttl = 2s\n")
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")


def _titles_in_forum_order(stack, uid):
    """The "Message number NN of thread UID." lines of the forum's posts,
    in the order the forum stored them (post ids grow)."""
    pattern = re.compile(r"Message number \d+ of thread %s\." % uid)
    posts = []
    for t in stack.forum_state()["topics"]:
        for p in t["posts"]:
            m = pattern.search(p["raw"])
            if m:
                posts.append((p["id"], m.group(0)))
    return [line for _, line in sorted(posts)]


@requires("plugin", "forumsim", "bridge", "admin")
def test_two_daemons_keep_order_and_take_over(stack):
    _restart_first_with_short_lease(stack)
    second = _start_second(stack, "second")
    try:
        uid = uuid.uuid4().hex[:8]
        root = stack.make_message("alice@example.test", stack.bridge_address,
                                  "Lease thread %s begins" % uid,
                                  "Message number 00 of thread %s.\n" % uid)
        stack.send_list_copy(root)
        _wait_queued(stack, root["Message-ID"])
        sent = ["Message number 00 of thread %s." % uid]
        ids = [root["Message-ID"].strip("<>")]
        parent = root["Message-ID"]
        half = 12
        for i in range(1, 2 * half + 1):
            if i == half:
                # kill whichever daemon works the list, between entries
                wait_for(lambda: len(_titles_in_forum_order(stack, uid))
                         >= len(sent), timeout=30,
                         what="the first half on the forum")
                holder = stack.redis("GET", "fg:{forum}:lease:in")
                assert holder in ("second", os.uname().nodename), holder
                if holder == "second":
                    second.send_signal(signal.SIGKILL)
                    second.wait()
                else:
                    os.kill(stack.daemon_pid("bridge"), signal.SIGKILL)
            msg = stack.make_message(
                "bob@example.test", stack.bridge_address,
                "Re: Lease thread %s begins" % uid,
                "Message number %02d of thread %s.\n" % (i, uid),
                in_reply_to=parent, references=[root["Message-ID"], parent])
            stack.send_list_copy(msg)
            _wait_queued(stack, msg["Message-ID"])
            sent.append("Message number %02d of thread %s." % (i, uid))
            ids.append(msg["Message-ID"].strip("<>"))
            parent = msg["Message-ID"]

        # all posted (the survivor takes the lease after about 2 s)
        wait_for(lambda: len(_titles_in_forum_order(stack, uid)) >= len(sent),
                 timeout=60, what="all %d mails on the forum" % len(sent))
        stack.wait_queue_empty()
        stack.wait_bridge_idle(queues=("in",))
        got = [r.strip() for r in _titles_in_forum_order(stack, uid)]
        assert len(got) == len(set(got)) == len(sent), \
            "posted %d, distinct %d, sent %d" % (len(got), len(set(got)),
                                                 len(sent))
        # in the order the plugin queued them (Postfix delivers over
        # several LMTP connections, so that is not the order sent): the
        # stream entry id each Message-ID got is in fg:{forum}:in-seen
        def entry_id(m):
            ms, seq = stack.day_hget("fg:{forum}:in-seen", m).split("-")
            return (int(ms), int(seq))
        queued = ["Message number %02d of thread %s." % (i, uid)
                  for i, m in sorted(enumerate(ids),
                                     key=lambda im: entry_id(im[1]))]
        assert got == queued, "posted in another order than queued:\n%s\n%s" \
            % (got, queued)
        # one topic: a reply whose parent arrived first landed in it
        topics = [t for t in stack.forum_state()["topics"]
                  if uid in t["title"]]
        assert len(topics) == 1, [t["title"] for t in topics]
    finally:
        if second.poll() is None:
            second.terminate()
            second.wait(10)
        if stack.daemon_pid("bridge") is None:
            stack.daemon_start("bridge")


@requires("plugin", "forumsim", "bridge", "admin")
def test_forum_slower_than_the_lease(stack):
    """Two daemons with a 2 s lease and a forum that takes 3 s to answer
    each post: the holder keeps its lease through every slow request,
    nothing is posted twice, and the posts keep their order."""
    _restart_first_with_short_lease(stack)
    second = _start_second(stack, "slow")
    try:
        uid = uuid.uuid4().hex[:8]
        n = 4
        stack.forum_fail("slow", count=2 * n, retry_after=3)
        sent, ids = [], []
        for i in range(n):
            msg = stack.make_message(
                "bob@example.test", stack.bridge_address,
                "Slow forum %s part %d" % (uid, i),
                "Message number %02d of thread %s.\n" % (i, uid))
            stack.send_list_copy(msg)
            _wait_queued(stack, msg["Message-ID"])
            sent.append("Message number %02d of thread %s." % (i, uid))
            ids.append(msg["Message-ID"].strip("<>"))
        wait_for(lambda: len(_titles_in_forum_order(stack, uid)) >= n,
                 timeout=120, what="all %d mails on the forum" % n)
        stack.forum_fail("none")
        stack.wait_bridge_idle(queues=("in",))
        got = _titles_in_forum_order(stack, uid)
        print("# forum slower than the lease: %d mails, %d posts" %
              (n, len(got)))
        assert got == sent, got
        for m in ids:
            assert stack.redis("HGET", "fg:{forum}:msgid-post", m), m
        logs = ""
        for name in ("forumgated.log", "forumgated-slow.log"):
            with open(stack.path(name), errors="replace") as f:
                logs += f.read()
        assert "the lease of the queue was lost" not in logs
    finally:
        stack.forum_fail("none")
        if second.poll() is None:
            second.terminate()
            second.wait(10)
