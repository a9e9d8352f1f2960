"""List -> forum in depth, through real Postfix, Dovecot LMTP (the plugin),
Redis, the bridge daemon and the Discourse simulator: a forum outage
while 200 list mails arrive, authors, dead letters and their replay.

Mail goes to the bridge recipient directly (what the list manager would
deliver to it), which keeps 200 mails fast.
"""

import time
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}


def _uid():
    return uuid.uuid4().hex[:8]


def _configure(stack, **values):
    """Append settings to forumgate.conf and restart the bridge (the
    plugin notices the changed file by itself)."""
    with open(stack.conf_path, "a") as f:
        for name, value in values.items():
            f.write("%s = %s\n" % (name, value))
            stack.config[name] = str(value)
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")


def _posts(stack, marker):
    """(topic, post) of every forum post whose raw contains marker,
    in the order the forum created them (post id)."""
    found = [(t, p) for t in stack.forum_state()["topics"]
             for p in t["posts"] if marker in p["raw"]]
    return sorted(found, key=lambda tp: tp[1]["id"])


def _xlen(stack, key):
    return int(stack.redis("XLEN", key) or 0)


def _queue_order(stack, msgids):
    """msgids sorted by the stream entry id the plugin gave each (kept in
    fg:{forum}:in-seen:DAY): the order they arrived in, which is not the order
    sent, since Postfix delivers over several LMTP connections at once."""
    def entry_id(m):
        ms, seq = stack.day_hget("fg:{forum}:in-seen", m).split("-")
        return (int(ms), int(seq))
    return sorted(msgids, key=entry_id)


def _quiet(stack):
    """Wait until earlier tests' mail is delivered and posted, so that a
    fault injected for "the next N requests" meets this test's mail."""
    stack.wait_queue_empty(timeout=30)
    wait_for(lambda: _xlen(stack, "fg:{forum}:in") == 0, timeout=60,
             what="the inbound queue to drain")


def _send(stack, sender, subject, body, wait=True, **kw):
    msg = stack.make_message(sender, stack.bridge_address, subject, body,
                             **kw)
    stack.send_list_copy(msg)
    msgid = msg["Message-ID"].strip("<>")
    if wait:
        # queued before the caller goes on: the next mail (a reply) then
        # arrives after it, and a drained queue means this one is done
        wait_for(lambda: stack.day_hget("fg:{forum}:in-seen", msgid) != "",
                 timeout=30, what="the plugin to queue %s" % msgid)
    return msgid


@requires("plugin", "forumsim", "bridge", "admin")
def test_forum_down_for_200_mails(stack):
    """The forum is down while 200 list mails arrive (some are replies to
    earlier ones, sent once their parent is queued); when it is back,
    all 200 are posted, in arrival order, none twice, threads intact."""
    _configure(stack, forum_retry_min="200ms", forum_retry_max="2s")
    uid = _uid()
    started = time.monotonic()
    stack.forum_fail("down", count=10 ** 9)
    sender = "Alice Example <alice@example.test>"
    parent_of = {}          # n -> parent n (replies only)
    ids = {}                # n -> Message-ID
    refs = {}               # n -> References list

    def send(n, subject, parent=None):
        body = ("Outage %s message %03d: a list mail written while the "
                "forum was down.\n" % (uid, n))
        kw = {}
        if parent is not None:
            parent_of[n] = parent
            refs[n] = refs.get(parent, []) + [ids[parent]]
            kw = {"in_reply_to": "<%s>" % ids[parent],
                  "references": ["<%s>" % r for r in refs[n]]}
        ids[n] = _send(stack, sender, subject, body, wait=False, **kw)

    def queued(count):
        wait_for(lambda: _xlen(stack, "fg:{forum}:in") >= count,
                 timeout=90, what="%d records in the inbound queue" % count)

    # 120 new topics, then 50 replies to them, then 30 replies to replies
    for n in range(120):
        send(n, "Outage %s topic number %03d" % (uid, n))
    queued(120)
    for n in range(120, 170):
        p = (n - 120) * 2
        send(n, "Re: Outage %s topic number %03d" % (uid, p), parent=p)
    queued(170)
    for n in range(170, 200):
        p = 120 + (n - 170)
        send(n, "Re: Re: Outage %s topic number %03d"
             % (uid, parent_of[p]), parent=p)
    queued(200)
    queued_at = time.monotonic()
    assert _posts(stack, "Outage %s" % uid) == [], "posted while down"

    # arrival order: the order of the inbound stream
    stream = stack.redis_call("XRANGE", "fg:{forum}:in", "-", "+")
    by_id = {v: k for k, v in ids.items()}
    arrival = []
    for _, fields in stream:
        f = dict(zip(fields[::2], fields[1::2]))
        if f.get("message_id") in by_id:
            arrival.append(by_id[f["message_id"]])
    assert sorted(arrival) == list(range(200)), arrival

    stack.forum_fail("none")
    wait_for(lambda: len(_posts(stack, "Outage %s" % uid)) >= 200,
             timeout=120, what="200 posts after the outage")
    wait_for(lambda: _xlen(stack, "fg:{forum}:in") == 0, timeout=30,
             what="the inbound queue to drain")
    posted_at = time.monotonic()
    posts = _posts(stack, "Outage %s" % uid)
    numbers = [int(p["raw"].split("message ")[1][:3]) for _, p in posts]
    assert len(posts) == 200 and len(set(numbers)) == 200, numbers
    assert numbers == arrival, "not in arrival order"
    where = {n: (t, p) for n, (t, p) in zip(numbers, posts)}
    for n, parent in parent_of.items():
        t, p = where[n]
        pt, pp = where[parent]
        assert t["id"] == pt["id"], (n, parent, t["id"], pt["id"])
        assert p["reply_to_post_number"] == pp["post_number"], (n, p, pp)
    topics = {t["id"] for t, _ in posts}
    assert len(topics) == 120, len(topics)
    assert _xlen(stack, "fg:{forum}:dead") == 0
    assert stack.forum_state()["violations"] == []
    print("# outage: 200 mails queued in %.1fs, posted %.1fs after the "
          "forum came back" % (queued_at - started, posted_at - queued_at))


@requires("plugin", "forumsim", "bridge", "admin")
def test_authors(stack):
    """A mapped sender posts as that forum user; an unknown one as the
    bridge user with an attribution line that hides the address."""
    _quiet(stack)
    uid = _uid()
    r = stack.admin("author", "set", "Bob@Example.test", "bob", check=True)
    assert r.returncode == 0
    r = stack.admin("authors", check=True)
    assert "bob@example.test bob" in r.stdout.splitlines(), r.stdout
    assert stack.redis("HGET", "fg:authors", "bob@example.test") == "bob"

    _send(stack, "Bob Builder <bob@example.test>",
          "Authors %s mapped sender" % uid,
          "Authors %s: written by a mapped sender.\n" % uid,
          authenticated=True)
    _send(stack, "Carol Singer <carol@example.test>",
          "Authors %s unknown sender" % uid,
          "Authors %s: written by someone without a forum user.\n" % uid)
    wait_for(lambda: len(_posts(stack, "Authors %s" % uid)) == 2,
             timeout=30, what="both posts")
    posts = {p["username"]: p for _, p in _posts(stack, "Authors %s" % uid)}
    assert set(posts) == {"bob", stack.forum_api_username}, posts
    assert "wrote via the list" not in posts["bob"]["raw"]
    carol = posts[stack.forum_api_username]["raw"]
    first = carol.splitlines()[0]
    assert first == "Carol Singer (carol@e\u2026) wrote via the list:", first
    assert "carol@example.test" not in carol

    # the forum's webhooks for both posts are not mailed back to the list
    ids = {p["id"] for p in posts.values()}
    wait_for(lambda: sum(1 for h in stack.forum_state()["webhooks"]
                         if h["post_id"] in ids and h["delivered"]) == 2,
             timeout=20, what="both webhooks delivered")
    wait_for(lambda: _xlen(stack, "fg:{forum}:out") == 0, timeout=20,
             what="the outbound queue to drain")
    stack.wait_queue_empty()
    for user in ("alice@example.test", "carol@example.test"):
        echoed = [m for m in stack.mailbox(user)
                  if "Authors %s" % uid in m.as_string()]
        assert echoed == [], (user, echoed)
    r = stack.admin("author", "del", "bob@example.test", check=True)
    assert stack.redis("HEXISTS", "fg:authors", "bob@example.test") == "0"
    r = stack.admin("author", "del", "bob@example.test")
    assert r.returncode == 69, r


@requires("plugin", "forumsim", "bridge", "admin")
def test_dead_letter_and_replay(stack):
    """A post the forum refuses forum_max_tries times goes to the
    dead-letter stream with the forum's reason and the queue goes on;
    `forumgate dead` shows it, `forumgate replay` posts it."""
    _quiet(stack)
    uid = _uid()
    tries = int(stack.config.get("forum_max_tries", 5))
    stack.forum_fail("422", count=tries)
    refused = _send(stack, "Alice Example <alice@example.test>",
                    "Dead letter %s refused" % uid,
                    "Dead letter %s: the forum refuses this one.\n" % uid)
    _send(stack, "Alice Example <alice@example.test>",
          "Dead letter %s next one" % uid,
          "Dead letter %s: the queue goes on with this one.\n" % uid)
    wait_for(lambda: _xlen(stack, "fg:{forum}:dead") == 1, timeout=60,
             what="a dead letter")
    wait_for(lambda: len(_posts(stack, "Dead letter %s" % uid)) == 1,
             timeout=30, what="the next record posted")
    r = stack.admin("dead", "forum", check=True)
    assert "message_id=<%s>" % refused in r.stdout, r.stdout
    assert "Refused by the simulator" in r.stdout, r.stdout
    assert "%d times" % tries in r.stdout, r.stdout
    dead_id = r.stdout.split()[0]

    r = stack.admin("replay", "forum", "1-1")
    assert r.returncode == 65, r
    r = stack.admin("replay", "forum", dead_id, check=True)
    assert "replayed 1 dead letter" in r.stdout, r.stdout
    assert _xlen(stack, "fg:{forum}:dead") == 0
    wait_for(lambda: len(_posts(stack, "Dead letter %s" % uid)) == 2,
             timeout=30, what="the replayed record posted")
    raws = [p["raw"] for _, p in _posts(stack, "Dead letter %s" % uid)]
    assert sum("refuses this one" in r for r in raws) == 1, raws
    r = stack.admin("replay", "forum", "all", check=True)
    assert "replayed 0 dead letters" in r.stdout, r.stdout


@requires("plugin", "forumsim", "bridge", "admin")
def test_replay_in_original_place(stack):
    """Two dead letters replayed while newer mail waits in the queue are
    posted in their original place: before the newer mail."""
    _quiet(stack)
    uid = _uid()
    tries = int(stack.config.get("forum_max_tries", 5))
    # the first two records are refused until they are dead letters
    stack.forum_fail("422", count=2 * tries)
    for name in ("A", "B"):
        _send(stack, "Alice Example <alice@example.test>",
              "Replay order %s %s" % (uid, name),
              "Replay order %s: record %s.\n" % (uid, name))
    wait_for(lambda: _xlen(stack, "fg:{forum}:dead") == 2, timeout=90,
             what="two dead letters")
    _quiet(stack)
    # newer mail waits while the bridge is stopped
    stack.daemon_stop("bridge")
    try:
        for name in ("C", "D"):
            _send(stack, "Alice Example <alice@example.test>",
                  "Replay order %s %s" % (uid, name),
                  "Replay order %s: record %s.\n" % (uid, name))
        assert _xlen(stack, "fg:{forum}:in") == 2
        r = stack.admin("replay", "forum", "all", check=True)
        assert "replayed 2 dead letters" in r.stdout, r.stdout
        assert _xlen(stack, "fg:{forum}:in-replay") == 2
    finally:
        stack.daemon_start("bridge")
    wait_for(lambda: len(_posts(stack, "Replay order %s" % uid)) == 4,
             timeout=60, what="the four records posted")
    got = [p["raw"].split("record ")[1][0]
           for _, p in _posts(stack, "Replay order %s" % uid)]
    assert got == ["A", "B", "C", "D"], got
    assert _xlen(stack, "fg:{forum}:in-replay") == 0
    assert _xlen(stack, "fg:{forum}:dead") == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_lost_answer_is_not_posted_twice(stack):
    """A request that reached the forum but whose answer was lost: the
    retry finds the post (external_id for a topic, the topic's newest
    posts for a reply) instead of ending as a "too similar" dead letter."""
    _quiet(stack)
    uid = _uid()
    # the simulator creates the topic but drops the connection after
    stack.forum_sim("/__sim/fail", {"mode": "lost", "count": 1})
    first = _send(stack, "Alice Example <alice@example.test>",
                  "Lost answer %s topic" % uid,
                  "Lost answer %s: the first message.\n" % uid)
    wait_for(lambda: _xlen(stack, "fg:{forum}:in") == 0, timeout=30,
             what="the topic's record done")
    stack.forum_sim("/__sim/fail", {"mode": "lost", "count": 1})
    _send(stack, "Alice Example <alice@example.test>",
          "Re: Lost answer %s topic" % uid,
          "Lost answer %s: a reply whose answer is lost.\n" % uid,
          in_reply_to="<%s>" % first, references=["<%s>" % first])
    wait_for(lambda: _xlen(stack, "fg:{forum}:in") == 0, timeout=30,
             what="the reply's record done")
    posts = _posts(stack, "Lost answer %s" % uid)
    assert len(posts) == 2, posts
    (t1, p1), (t2, p2) = posts
    assert t1["id"] == t2["id"] and p2["reply_to_post_number"] == 1, posts
    assert t1["external_id"] and t1["external_id"].startswith("fg-"), t1
    assert _xlen(stack, "fg:{forum}:dead") == 0
    # the map knows both, so a third message threads under the reply
    mapped = stack.redis("HGET", "fg:{forum}:msgid-post", first)
    assert mapped.startswith("%d:1:" % t1["id"]), mapped


@requires("plugin", "forumsim", "bridge", "admin")
def test_attachments(stack):
    """Attachments reach the forum: an allowed type is uploaded and
    linked, another type is listed by name, winmail.dat and signatures
    never appear; the file name's RFC 2231 encoding is undone."""
    _quiet(stack)
    uid = _uid()
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.bridge_address,
                             "Attachments %s logs" % uid,
                             "Attachments %s: the logs are attached.\n" % uid)
    png = b"\x89PNG\r\n\x1a\n" + uid.encode() + bytes(range(256))
    msg.add_attachment(png, maintype="image", subtype="png",
                       filename=("utf-8", "", "gr\u00fc\u00dfe %s.png" % uid))
    msg.add_attachment(b"PK\x03\x04 zip bytes", maintype="application",
                       subtype="zip", filename="archive.zip")
    msg.add_attachment(b"\x78\x9f\x3e\x22 tnef", maintype="application",
                       subtype="ms-tnef", filename="winmail.dat")
    msg.add_attachment(b"-----BEGIN PGP SIGNATURE-----", maintype="application",
                       subtype="pgp-signature", filename="signature.asc")
    stack.send_list_copy(msg)
    wait_for(lambda: _posts(stack, "Attachments %s" % uid), timeout=30,
             what="the post with attachments")
    (_, post), = _posts(stack, "Attachments %s" % uid)
    raw = post["raw"]
    uploads = [u for u in stack.forum_state()["uploads"]
               if uid in u["original_filename"]]
    assert len(uploads) == 1, stack.forum_state()["uploads"]
    up = uploads[0]
    assert up["original_filename"] == "gr\u00fc\u00dfe %s.png" % uid, up
    assert up["filesize"] == len(png) and up["content_type"] == "image/png"
    assert "![gr\u00fc\u00dfe %s.png](%s)" % (uid, up["short_url"]) in raw, raw
    assert "archive.zip (application/zip, 14 bytes, not uploaded)" in raw, raw
    assert "winmail" not in raw and "signature.asc" not in raw, raw


@requires("plugin", "forumsim", "bridge", "admin")
def test_thread_by_subject(stack):
    """thread_by_subject_days: a reply that lost its threading headers
    joins the recent topic with the same normalized subject."""
    _quiet(stack)
    _configure(stack, thread_by_subject_days=7)
    uid = _uid()
    _send(stack, "Alice Example <alice@example.test>",
          "Subject fallback %s question" % uid,
          "Subject fallback %s: the question.\n" % uid)
    wait_for(lambda: _posts(stack, "Subject fallback %s" % uid), timeout=30,
             what="the topic")
    _send(stack, "Bob Builder <bob@example.test>",
          "AW: [forum] Re: Subject fallback %s question" % uid,
          "Subject fallback %s: an answer without In-Reply-To.\n" % uid)
    wait_for(lambda: len(_posts(stack, "Subject fallback %s" % uid)) == 2,
             timeout=30, what="the answer")
    (t1, p1), (t2, p2) = _posts(stack, "Subject fallback %s" % uid)
    assert t1["id"] == t2["id"] and p2["post_number"] == 2, (t1, t2)
    assert stack.day_hget("fg:{forum}:subject-topic",
                          "subject fallback %s question" % uid).startswith(
                           "%d:" % t1["id"])


@requires("plugin", "forumsim", "bridge", "admin")
def test_rate_limit_and_5xx_keep_order(stack):
    """429 with Retry-After and 503 stop the list's queue; it waits at
    least as long as the forum asked, then posts everything in order."""
    _quiet(stack)
    uid = _uid()
    stack.forum_fail("429", count=2, retry_after=2)
    started = time.monotonic()
    first = {}
    for n in range(3):
        first[_send(stack, "Alice Example <alice@example.test>",
                    "Rate limit %s number %d" % (uid, n),
                    "Rate limit %s message %d of three.\n" % (uid, n))] = n
    wait_for(lambda: len(_posts(stack, "Rate limit %s" % uid)) == 3,
             timeout=60, what="three posts after the rate limit")
    assert time.monotonic() - started >= 4, "Retry-After not honoured"
    numbers = [int(p["raw"].split("message ")[1][0])
               for _, p in _posts(stack, "Rate limit %s" % uid)]
    first_order = [first[m] for m in _queue_order(stack, list(first))]
    assert numbers == first_order, numbers
    stack.forum_fail("503", count=3)
    sent = {}
    for n in range(3, 6):
        sent[_send(stack, "Alice Example <alice@example.test>",
                   "Rate limit %s number %d" % (uid, n),
                   "Rate limit %s message %d of three more.\n"
                   % (uid, n))] = n
    wait_for(lambda: len(_posts(stack, "Rate limit %s" % uid)) == 6,
             timeout=60, what="three more posts after the 503s")
    numbers = [int(p["raw"].split("message ")[1][0])
               for _, p in _posts(stack, "Rate limit %s" % uid)]
    assert numbers == first_order + [sent[m] for m in
                                     _queue_order(stack, list(sent))], numbers
    assert _xlen(stack, "fg:{forum}:dead") == 0


def _not_posted(stack, reason):
    return int(stack.redis("HGET", "fg:{forum}:not-posted", reason) or 0)


@requires("plugin", "forumsim", "bridge", "admin")
def test_not_posted_kept_and_counted(stack):
    """Subjects that only look like vacation notices are posts: members
    mail them through the list (mlmmj) and they reach the forum. A real
    auto-reply (Outlook's headers) is not posted: it is kept in the
    bridge mailbox's "Not posted/auto-reply" with its reason in the log,
    and counted in fg:{forum}:not-posted, which forumgate status shows."""
    _quiet(stack)
    uid = _uid()
    subjects = ["Out of office coverage plan %s" % uid,
                "Away from the desk tomorrow %s" % uid,
                "Auto: new build %s" % uid]
    for title in subjects:
        msg = stack.make_message("Alice Example <alice@example.test>",
                                 stack.list_address, title,
                                 "A member writes about: %s.\n" % title)
        stack.send_mail("alice@example.test", stack.list_address, msg)
    for title in subjects:
        wait_for(lambda: any(t["title"] == title
                             for t in stack.forum_state()["topics"]),
                 timeout=30, what="topic %r on the forum" % title)

    before = _not_posted(stack, "auto-reply")
    offsets = stack.log_offsets()
    title = "Automatic reply: Coverage %s" % uid
    auto = stack.make_message(
        "Jane Away <jane@example.test>", stack.bridge_address, title,
        "I am out of the office until Monday, %s.\n" % uid,
        headers=[("Auto-Submitted", "auto-generated"),
                 ("X-Auto-Response-Suppress", "All")])
    stack.send_list_copy(auto)

    def kept():
        box = stack.not_posted(stack.bridge_address).get("auto-reply", [])
        return [m for m in box if title in str(m["Subject"])]
    got = wait_for(kept, timeout=30, what="the auto-reply kept")
    assert len(got) == 1, got
    log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
    assert ("not posted: auto-reply" in log and
            "(Auto-Submitted: auto-generated); kept in mailbox "
            "Not posted.auto-reply" in log), log[-2000:]
    assert _not_posted(stack, "auto-reply") == before + 1
    r = stack.admin("status", check=True)
    assert "not posted:" in r.stdout and \
        "auto-reply=%d" % (before + 1) in r.stdout, r.stdout
    stack.wait_queue_empty()
    assert not any(title in t["title"]
                   for t in stack.forum_state()["topics"])
    assert not [m for m in stack.mailbox(stack.bridge_address)
                if title in str(m["Subject"])]
