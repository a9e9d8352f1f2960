"""Forum -> list in depth: the SMTP routes of smtp_relay, and exactly-once
mailing while the bridge is killed over and over.

The relays are Postfix's smtp-sink, a real SMTP server that writes each
message it accepted into a file of its own, so the tests count what was
delivered by Message-ID. They are started on ports of their own and the
bridge is restarted with smtp_relay pointing at them; the list manager
path (mlmmj) is left out, so that 1,000 posts take seconds.
"""

import hashlib
import hmac
import json
import os
import email
import email.policy
import re
import resource
import select
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

from stack import (BRIDGE_ADDRESS, LIST_ADDRESS, LIST_CATEGORY, LIST_NAME,
                   _free_port, requires, wait_for)

STACK_OPTIONS = {"full": True}

SMTP_SINK = "/usr/sbin/smtp-sink"
MSGID_RE = re.compile(rb"^Message-ID: <fg\.forum\.(\d+)\.(\d+)\.[0-9a-f]+@",
                      re.M | re.I)

# what the tests pass along to each other
state = {"next_post": 900000, "next_topic": 700000}


def _sink_start(stack, name, port):
    """smtp-sink on 127.0.0.1:port, one file per message in a folder."""
    folder = stack.path(name)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o777)
    stack._spawn(name, [SMTP_SINK, "-u", "nobody", "-d",
                        folder + "/%Y%m%d%H%M%S.", "127.0.0.1:%d" % port,
                        "256"], name + ".log")
    stack._wait_banner(name, ("tcp", port), b"220")
    return folder


def _sink_stop(stack, name):
    stack._stop_proc(name)


def _sink_ids(folder):
    """(topic, post_number) of each message in the folder, one per file."""
    ids = []
    for entry in os.listdir(folder):
        try:
            with open(os.path.join(folder, entry), "rb") as f:
                m = MSGID_RE.search(f.read())
        except FileNotFoundError:
            continue
        if m:
            ids.append((int(m.group(1)), int(m.group(2))))
    return ids


def _reconfigure(stack, **settings):
    """Restart the bridge with these settings on top of the stack's."""
    values = dict(stack.config)
    values.update(settings)
    with open(stack.conf_path, "w") as f:
        f.write("".join("%s = %s\n" % kv for kv in values.items()))
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")


def _new_post(stack, topic=None, number=1, raw=None):
    state["next_post"] += 1
    if topic is None:
        state["next_topic"] += 1
        topic = state["next_topic"]
    return {"id": state["next_post"], "topic_id": topic,
            "post_number": number, "reply_to_post_number": None,
            "username": "webuser", "name": "Web User",
            "raw": raw or "post %d" % state["next_post"],
            "topic_title": "Topic %d" % topic,
            "category_id": int(stack.list_category),
            "created_at": "2026-11-23T10:00:00Z", "post_type": 1}


def _webhook(stack, post, timeout=5, event="post_created", generic=False,
             secret=None):
    """POST a signed event (Discourse's, or the generic webhook's
    headers); the HTTP status."""
    body = json.dumps({"post": post}).encode()
    sig = hmac.new((secret or stack.webhook_secret).encode(), body,
                   hashlib.sha256).hexdigest()
    if generic:
        path = "/webhooks/post"
        headers = {"X-Forumgate-Event": event,
                   "X-Forumgate-Signature": "sha256=" + sig}
    else:
        path = "/webhooks/discourse"
        headers = {"X-Discourse-Event": event,
                   "X-Discourse-Event-Type": "post",
                   "X-Discourse-Event-Signature": "sha256=" + sig}
    headers["Content-Type"] = "application/json"
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (stack.webhook_port, path),
        data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@requires("bridge")
def test_second_relay_when_first_down(stack):
    """First relay down: the mail goes through the second; the first
    back after smtp_relay_backoff: it is used again."""
    p1, p2 = _free_port(), _free_port()
    sink2 = _sink_start(stack, "sink2", p2)
    _reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d, "
                 "smtp://127.0.0.1:%d" % (p1, p2),
                 smtp_relay_backoff="2s")
    post = _new_post(stack)
    assert _webhook(stack, post) == 200
    wait_for(lambda: (post["topic_id"], 1) in _sink_ids(sink2), 15,
             "the post at the second relay")

    sink1 = _sink_start(stack, "sink1", p1)
    time.sleep(2.5)             # the first route's back-off ends
    post = _new_post(stack)
    assert _webhook(stack, post) == 200
    wait_for(lambda: (post["topic_id"], 1) in _sink_ids(sink1), 15,
             "the post at the first relay, back again")
    assert (post["topic_id"], 1) not in _sink_ids(sink2)
    state["sink1"] = sink1
    state["sink1_port"] = p1


@requires("bridge")
def test_generic_webhook_edits_and_replays(stack):
    """The generic signed webhook queues a post; a replay, an edit and a
    deletion mail nothing more; a wrong signature is refused."""
    sink = state["sink1"]
    post = _new_post(stack)
    key = (post["topic_id"], 1)
    assert _webhook(stack, post, generic=True, secret="wrong") == 403
    assert _webhook(stack, post, generic=True) == 200
    wait_for(lambda: key in _sink_ids(sink), 15, "the generic post")
    assert _webhook(stack, post, generic=True) == 200          # replay
    edited = dict(post, raw="edited text")
    assert _webhook(stack, edited, event="post_edited") == 200
    assert _webhook(stack, edited, event="post_edited",
                    generic=True) == 200
    assert _webhook(stack, post, event="post_destroyed") == 200
    # a later post is mailed after them, so the queue is through
    later = _new_post(stack)
    assert _webhook(stack, later) == 200
    wait_for(lambda: (later["topic_id"], 1) in _sink_ids(sink), 15,
             "the later post")
    assert _sink_ids(sink).count(key) == 1, _sink_ids(sink)


@requires("bridge")
def test_generic_webhook_names_its_headers(stack):
    """Errors of the generic webhook name its own headers, not
    Discourse's."""
    body = json.dumps({"post": _new_post(stack)}).encode()
    sig = hmac.new(stack.webhook_secret.encode(), body,
                   hashlib.sha256).hexdigest()

    def post(headers):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/webhooks/post" % stack.webhook_port,
            data=body, method="POST",
            headers=dict(headers, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    offsets = stack.log_offsets()
    code, text = post({"X-Forumgate-Signature": "sha256=" + sig})
    assert code == 400 and "no X-Forumgate-Event header" in text, (code, text)
    code, text = post({"X-Forumgate-Event": "post_created"})
    assert code == 403, (code, text)
    wait_for(lambda: "X-Forumgate-Signature: no signature" in
             stack.logs_since(offsets, 50).get("forumgated", ""), 5,
             "the refusal in the log")
    assert "X-Discourse" not in stack.logs_since(offsets, 50).get(
        "forumgated", "")


@requires("bridge")
def test_nodebb_webhook(stack):
    """A NodeBB reply (nodebb-plugin-webhooks, sha1 signature) is mailed;
    the request headers it echoes appear in no log and no mail."""
    sink = state["sink1"]
    token = "Bearer nodebb-echoed-%s" % os.urandom(8).hex()
    state["next_post"] += 1
    state["next_topic"] += 1
    event = {"hook": "action:topic.reply", "params": {
        "post": {"pid": state["next_post"], "tid": state["next_topic"],
                 "uid": 7, "index": 2, "content": "A NodeBB reply",
                 "timestamp": 1795428000000, "toPid": None,
                 "topic": {"title": "NodeBB topic title", "cid":
                           int(stack.list_category), "slug": "x"},
                 "user": {"username": "nodeuser",
                          "displayname": "Node\r\nBcc: x@evil.test"}},
        "data": {"req": {"headers": {"authorization": token,
                                     "x-forwarded-for": "10.0.0.1"}}}}}
    body = json.dumps(event).encode()

    def send(sig):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/webhooks/nodebb" % stack.webhook_port,
            data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "x-webhook-signature": sig})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
    good = hmac.new(stack.webhook_secret.encode(), body,
                    hashlib.sha1).hexdigest()
    assert send("sha1=" + "0" * 40) == 403
    assert send("sha256=" + good) == 403
    assert send("sha1=" + good) == 200
    key = (state["next_topic"], 3)
    wait_for(lambda: key in _sink_ids(sink), 15, "the NodeBB post")
    assert send("sha1=" + good) == 200          # replay: nothing more
    for name in os.listdir(sink):
        with open(os.path.join(sink, name), "rb") as f:
            data = f.read()
        assert token.encode() not in data
        if b"A NodeBB reply" in data:
            head = data.split(b"\r\n\r\n", 1)[0]
            assert b"\nBcc:" not in head, head
    with open(stack.log_path("forumgated"), "rb") as f:
        assert token.encode() not in f.read()
    stack.wait_bridge_idle(queues=("out",))
    assert _sink_ids(sink).count(key) == 1


@requires("bridge")
def test_blocked_user_not_mailed(stack):
    """Posts of outbound_blocked_users are never mailed."""
    sink = state["sink1"]
    _reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d"
                 % state["sink1_port"],
                 outbound_blocked_users="spammer, Other")
    blocked = dict(_new_post(stack), username="Spammer")
    assert _webhook(stack, blocked) == 200
    later = _new_post(stack)
    assert _webhook(stack, later) == 200
    wait_for(lambda: (later["topic_id"], 1) in _sink_ids(sink), 15,
             "the post after the blocked one")
    assert (blocked["topic_id"], 1) not in _sink_ids(sink)


def _sink_mails(folder):
    """Every message in the folder, parsed."""
    mails = []
    for entry in sorted(os.listdir(folder)):
        try:
            with open(os.path.join(folder, entry), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        mails.append(email.message_from_bytes(data,
                                              policy=email.policy.default))
    return mails


def _sink_by_id(folder, message_id):
    return [m for m in _sink_mails(folder)
            if str(m["Message-ID"]) == message_id]


@requires("bridge", "admin")
def test_html_unsubscribe_and_edits(stack):
    """outbound_html, the list's List-Unsubscribe and outbound_edits = mail
    through the daemon: the post carries both parts (no script of the
    forum user's) and List-Unsubscribe; an edit with a new version is
    mailed once, threaded below the post with a Message-ID of its own; a
    replay, an edit in the grace period and an edit of a post the list
    never had are not."""
    sink = state["sink1"]
    unsub = "mailto:%s+unsubscribe@%s" % tuple(LIST_ADDRESS.split("@"))
    bad = stack.admin("list", "add", LIST_NAME, "--address", LIST_ADDRESS,
                      "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                      LIST_CATEGORY, "--unsubscribe",
                      "https://x.test/u>\r\nBcc: a@evil.test")
    assert bad.returncode == 64, bad
    stack.admin("list", "add", LIST_NAME, "--address", LIST_ADDRESS,
                "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                LIST_CATEGORY, "--unsubscribe", unsub, check=True)
    assert "unsubscribe: " + unsub in \
        stack.admin("list", "show", LIST_NAME, check=True).stdout
    _reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d"
                 % state["sink1_port"], outbound_html="yes",
                 outbound_edits="mail")
    post = _new_post(stack, raw="Hello **all** <script>alert(1)</script>"
                     " \u00e4\u00f6\u00fc")
    key = (post["topic_id"], 1)
    assert _webhook(stack, post) == 200
    wait_for(lambda: key in _sink_ids(sink), 15, "the post")
    prefix = "<fg.%s.%d.1." % (LIST_NAME, post["topic_id"])
    first = [m for m in _sink_mails(sink)
             if str(m["Message-ID"]).startswith(prefix)]
    assert len(first) == 1, first
    msg = first[0]
    original_id = str(msg["Message-ID"])
    assert msg["List-Unsubscribe"] == "<%s>" % unsub
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"], parts
    html = msg.get_body(("html",)).get_content()
    assert "<strong>all</strong>" in html, html
    assert "<script" not in html.lower(), html
    assert "\u00e4\u00f6\u00fc" in html
    assert "\u00e4\u00f6\u00fc" in msg.get_body(("plain",)).get_content()

    # the edit: version 2, mailed once, below the post
    edited = dict(post, raw="Hello **all**, edited", version=2)

    def edits():
        return [m for m in _sink_mails(sink)
                if str(m["Message-ID"]).startswith(prefix + "r2.")]
    assert _webhook(stack, edited, event="post_edited") == 200
    wait_for(edits, 15, "the edit")
    assert _webhook(stack, edited, event="post_edited") == 200   # replay
    grace = dict(post, raw="within the grace period", version=1)
    assert _webhook(stack, grace, event="post_edited") == 200
    unknown = dict(_new_post(stack), version=2)
    assert _webhook(stack, unknown, event="post_edited") == 200
    later = _new_post(stack)
    assert _webhook(stack, later) == 200
    wait_for(lambda: (later["topic_id"], 1) in _sink_ids(sink), 15,
             "the post after the edits")
    assert len(edits()) == 1, edits()
    e = edits()[0]
    assert str(e["Message-ID"]) != original_id
    assert e["Subject"] == "[edited] Re: " + post["topic_title"], \
        e["Subject"]
    assert str(e["In-Reply-To"]) == original_id
    assert str(e["References"]) == original_id
    assert "edited" in e.get_body(("plain",)).get_content()
    assert len(_sink_by_id(sink, original_id)) == 1
    ids = [str(m["Message-ID"]) for m in _sink_mails(sink)]
    # one mail of the topic each: the post and its version 2
    assert len([i for i in ids if i.startswith(prefix)]) == 2, ids
    assert not any(i.startswith("<fg.%s.%d." % (LIST_NAME,
                                                 unknown["topic_id"]))
                   for i in ids), ids
    assert _sink_ids(sink).count(key) == 1


@requires("bridge")
def test_sigkill_while_posts_arrive(stack):
    """SIGKILL the bridge again and again while 1,000 posts arrive by
    webhook: every post is mailed, and the duplicates are counted."""
    total = 1000
    if "sink1" not in state:
        port = _free_port()
        state["sink1"] = _sink_start(stack, "sink1", port)
        state["sink1_port"] = port
    folder = stack.path("sink-kill")
    os.makedirs(folder)
    os.chmod(folder, 0o777)
    port = _free_port()
    stack._spawn("sink-kill", [SMTP_SINK, "-u", "nobody", "-d",
                               folder + "/%Y%m%d%H%M%S.",
                               "127.0.0.1:%d" % port, "256"],
                 "sink-kill.log")
    stack._wait_banner("sink-kill", ("tcp", port), b"220")
    _reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d" % port)

    # 100 topics of 10 posts, replies answering the post before
    posts = []
    for t in range(total // 10):
        state["next_topic"] += 1
        for n in range(1, 11):
            p = _new_post(stack, state["next_topic"], n)
            if n > 1:
                p["reply_to_post_number"] = n - 1
            posts.append(p)
    sent = {"n": 0, "retries": 0}
    # The kills are driven by the sender's progress, not by the clock:
    # at each checkpoint the sender stops until the bridge has been
    # killed and started again, so every run has the same number of
    # kills whatever the machine's speed. The bridge is killed while it
    # still works on the posts sent before the checkpoint.
    checkpoints = [total * k // 5 for k in range(1, 5)]
    reached = threading.Event()
    resume = threading.Event()

    def sender():
        for i, p in enumerate(posts):
            if i in checkpoints:
                reached.set()
                resume.wait(120)
                resume.clear()
            while True:
                try:
                    if _webhook(stack, p, timeout=2) == 200:
                        break
                except OSError:
                    pass
                sent["retries"] += 1
                time.sleep(0.02)
            sent["n"] += 1

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    kills = 0
    for _ in checkpoints:
        assert reached.wait(120), "the sender stopped at %d" % sent["n"]
        reached.clear()
        pid = stack.daemon_pid("bridge")
        assert pid is not None, "the bridge is not running"
        os.kill(pid, signal.SIGKILL)
        stack._procs["forumgated"].popen.wait()
        stack.started.discard("bridge")
        kills += 1
        stack.daemon_start("bridge")
        resume.set()
    th.join()

    want = {(p["topic_id"], p["post_number"]) for p in posts}

    def all_there():
        return want <= set(_sink_ids(folder))
    wait_for(all_there, 120, "all %d posts at the relay" % total,
             interval=0.5)
    # a post is acknowledged (deleted from the queue) after the relay's
    # 250: an empty queue means every mail, duplicates too, has arrived
    out = "fg:{%s}:out" % stack.list_name
    wait_for(lambda: stack.redis_call("XLEN", out) == 0, 60,
             "the outbound queue empty", interval=0.2)
    ids = [i for i in _sink_ids(folder) if i in want]
    twice = len(ids) - len(set(ids))
    print("# sigkill: %d posts, %d kills, %d webhook retries, %d mails, "
          "%d Message-IDs arrived twice"
          % (total, kills, sent["retries"], len(ids), twice))
    assert kills == len(checkpoints), kills
    # only a kill between the relay's 250 and the acknowledgement may
    # send a post twice: at most one per kill
    assert twice <= kills, (twice, kills)


@requires("bridge")
def test_all_relays_down_logged_once_per_route(stack):
    """Every relay down: each route says once that it goes into
    back-off; the retries while all are in back-off log one "relay
    deferred" line each, not a line per route; the mail goes out when
    a relay is back."""
    p1, p2 = _free_port(), _free_port()
    _reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d, "
                 "smtp://127.0.0.1:%d" % (p1, p2),
                 smtp_relay_backoff="60s")
    offsets = stack.log_offsets()
    post = _new_post(stack)
    assert _webhook(stack, post) == 200

    def log():
        return stack.logs_since(offsets, lines=1000).get("forumgated", "")
    wait_for(lambda: log().count("relay deferred") >= 3, 30,
             "three tries of the stopped queue")
    text = log()
    for port in (p1, p2):
        route = "route smtp://127.0.0.1:%d:" % port
        assert text.count(route) == 1, (route, text)
    sink = _sink_start(stack, "sink3", p2)
    wait_for(lambda: (post["topic_id"], 1) in _sink_ids(sink), 60,
             "the post at the relay that came back")
    wait_for(lambda: "route smtp://127.0.0.1:%d: works again" % p2 in log(),
             10, "the route's return in the log")
    _sink_stop(stack, "sink3")


# -- the webhook port under idle and slow clients ------------------------------

SLOW_START = (b"POST /webhooks/discourse HTTP/1.1\r\nHost: bridge\r\n"
              b"X-Slow: ")


def _raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(need, hard) if hard != resource.RLIM_INFINITY
                            else need, hard))


def _connect_from(stack, source):
    """A TCP connection to the webhook port from source (an address of
    127.0.0.0/8: many clients of their own, as a flood from many hosts)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", stack.webhook_port))
    return s


def _bridge_sockets(stack):
    """How many connections of the webhook port forumgated holds open
    (its sockets' inodes in /proc/net/tcp, the listener left out)."""
    fd_dir = "/proc/%d/fd" % stack.daemon_pid("bridge")
    inodes = set()
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except FileNotFoundError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            port = int(fields[1].split(":")[1], 16)
            if port == stack.webhook_port and fields[3] != "0A" and \
                    fields[9] in inodes:
                n += 1
    return n


def _closed_by_peer(socks, timeout, want=None):
    """The sockets of socks that the bridge closes within timeout, or
    as soon as want of them are closed."""
    want = len(socks) if want is None else want
    closed, deadline = set(), time.monotonic() + timeout
    while len(closed) < want and time.monotonic() < deadline:
        open_ = [s for s in socks if s not in closed]
        ready, _, _ = select.select(open_, [], [], 0.2)
        for s in ready:
            try:
                if s.recv(4096) == b"":
                    closed.add(s)
            except OSError:
                closed.add(s)
    return closed


def _timed_webhook(stack):
    """A signed post_created from the forum's address: (status, seconds)."""
    start = time.monotonic()
    status = _webhook(stack, _new_post(stack), timeout=5)
    return status, time.monotonic() - start


@requires("bridge")
def test_webhook_survives_idle_and_slow_clients(stack):
    """500 idle and 100 slow connections (a header byte every 2 s) from
    25 other addresses, all accepted and held by the bridge: a signed
    webhook from the forum is answered 200 within a second, again and
    again; the slow ones are cut at webhook_request_timeout (10 s by
    default) although they never go idle."""
    _reconfigure(stack)             # the defaults, whatever ran before
    _raise_nofile(4096)
    idle = [_connect_from(stack, "127.0.1.%d" % (i // 25 + 1))
            for i in range(500)]
    slow = [_connect_from(stack, "127.0.2.%d" % (i // 20 + 1))
            for i in range(100)]
    stop = threading.Event()

    def drip():
        for s in slow:
            s.send(SLOW_START)
        while not stop.wait(2.0):
            for s in slow:
                try:
                    s.send(b"x")
                except OSError:
                    pass
    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        wait_for(lambda: _bridge_sockets(stack) >= 600, 20,
                 "the bridge holding the 600 connections", interval=0.2)
        times = []
        opened = time.monotonic()
        status, took = _timed_webhook(stack)
        assert status == 200 and took < 1.0, (status, took)
        times.append(took)
        # the slow clients keep sending; every one is cut at the deadline
        cut = _closed_by_peer(slow, 20)
        cut_after = time.monotonic() - opened
        for _ in range(3):
            status, took = _timed_webhook(stack)
            assert status == 200 and took < 1.0, (status, took)
            times.append(took)
        print("# webhook under 500 idle + 100 slow connections: answered "
              "200 in %s ms; the 100 slow ones cut within %.1f s"
              % (", ".join("%.0f" % (t * 1000) for t in times), cut_after))
        assert len(cut) == len(slow), len(cut)
    finally:
        stop.set()
        dripper.join()
        for s in idle + slow:
            s.close()
    wait_for(lambda: _bridge_sockets(stack) == 0, 20,
             "the bridge closing every test connection", interval=0.2)


@requires("bridge")
def test_webhook_connection_limits(stack):
    """One address gets webhook_per_address_limit connections, the
    rest are closed at once; with webhook_max_connections used up by
    others, the forum (webhook_trusted_addresses) still gets in."""
    _reconfigure(stack)
    _raise_nofile(4096)
    one = [_connect_from(stack, "127.0.3.1") for _ in range(40)]
    try:
        # 32 by default: the bridge holds 32 and closes the other 8
        refused = _closed_by_peer(one, 20, want=8)
        wait_for(lambda: _bridge_sockets(stack) == 32, 20,
                 "the bridge holding 32 connections", interval=0.2)
        refused |= _closed_by_peer(one, 0.5)
        assert len(refused) == 8, len(refused)
    finally:
        for s in one:
            s.close()
    wait_for(lambda: _bridge_sockets(stack) == 0, 20,
             "the bridge closing them", interval=0.2)

    _reconfigure(stack, webhook_max_connections="100",
                 webhook_trusted_addresses="127.0.0.1/32, ::1")
    many = [_connect_from(stack, "127.0.4.%d" % (i // 20 + 1))
            for i in range(120)]
    try:
        refused = _closed_by_peer(many, 20, want=20)
        wait_for(lambda: _bridge_sockets(stack) == 100, 20,
                 "the bridge holding 100 connections", interval=0.2)
        refused |= _closed_by_peer(many, 0.5)
        assert len(refused) == 20, len(refused)
        status, took = _timed_webhook(stack)
        print("# webhook with webhook_max_connections used up by others: "
              "%d in %.0f ms" % (status, took * 1000))
        assert status == 200 and took < 1.0, (status, took)
    finally:
        for s in many:
            s.close()
    wait_for(lambda: _bridge_sockets(stack) == 0, 20,
             "the bridge closing them", interval=0.2)
    _reconfigure(stack)
