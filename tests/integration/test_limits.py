"""The forum's length limits (Discourse simulator): list mail with a
subject longer than max_topic_title_length and a text longer than
max_post_length goes through real Postfix, mlmmj, Dovecot LMTP and Redis
and is posted at the first try, cut to fit with a note; a short one is
padded; a refusal of the content despite fitting is dead-lettered at once
and does not stall the queue.
"""

import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}

NOTE_END = "more characters; the full text is in the list archive]"


def _uid():
    return uuid.uuid4().hex[:8]


def _xlen(stack, key):
    return int(stack.redis("XLEN", key) or 0)


def _posts(stack, marker):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if marker in p["raw"]]


def _long_subject(uid, length):
    words = ("limits %s a subject that goes on and on " % uid).split()
    out = []
    while len(" ".join(out)) < length:
        out.append(words[len(out) % len(words)])
    return " ".join(out)[:length]


def _long_body(uid, lines):
    """lines of 80 characters (79 and the newline), numbered"""
    return "".join(("Limits %s line %05d: " % (uid, i)).ljust(79, "x") + "\n"
                   for i in range(lines))


def _quiet(stack):
    stack.wait_queue_empty(timeout=30)
    wait_for(lambda: _xlen(stack, "fg:{forum}:in") == 0, timeout=60,
             what="the inbound queue to drain")


def _refusals(stack, since):
    """the forum's 4xx answers to posts since request number `since`"""
    return [r for r in stack.forum_state()["request_log"][since:]
            if r["path"] == "/posts.json" and r["method"] == "POST"
            and 400 <= (r["status"] or 0) < 500]


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_long_mail_posted_cut(stack):
    """A 40,000-character mail with a 300-character subject, sent to the
    list, becomes one topic at the first try: the title cut after a word
    with an ellipsis, the text cut with the note."""
    _quiet(stack)
    uid = _uid()
    subject = _long_subject(uid, 300)
    body = _long_body(uid, 500)
    assert len(subject) == 300 and len(body) == 40000
    since = len(stack.forum_state()["request_log"])
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, subject, body)
    stack.send_mail("alice@example.test", stack.list_address, msg)
    (topic, post), = wait_for(lambda: _posts(stack, "Limits %s line 00000"
                                             % uid),
                              timeout=60, what="the long mail posted")
    title, raw = topic["title"], post["raw"]
    assert len(title) <= 255 and title.endswith("\u2026"), title
    # cut after a whole word of the subject
    assert subject.lower().startswith(title[:-1].lower()), (title, subject)
    assert subject[len(title) - 1] == " ", title
    assert len(raw) <= 32000, len(raw)
    assert raw.rstrip().endswith(NOTE_END), raw[-200:]
    omitted = int(raw.rsplit("[message truncated: ", 1)[1].split()[0])
    assert 8000 <= omitted <= 9000, omitted
    assert "Limits %s line 00390:" % uid in raw
    assert "Limits %s line 00499:" % uid not in raw
    assert _refusals(stack, since) == [], _refusals(stack, since)
    assert _xlen(stack, "fg:{forum}:dead") == 0
    # the forum's webhook for the cut post is known as the bridge's own:
    # the list has the mail once
    wait_for(lambda: any(w["post_id"] == post["id"] and w["done"]
                         for w in stack.forum_state()["webhooks"]),
             timeout=20, what="the webhook for the bridge's own post")
    stack.wait_bridge_idle()
    stack.wait_queue_empty()
    copies = [m for m in stack.mailbox("bob@example.test")
              if "Limits %s line 00000" % uid in
              m.get_body(("plain",)).get_content()]
    assert len(copies) == 1, len(copies)
    st = stack.forum_state()
    assert st["violations"] == [] and st["response_errors"] == [], st


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_short_subject_padded(stack):
    """A subject shorter than min_topic_title_length (15) is posted with
    the phrase appended, not refused."""
    _quiet(stack)
    uid = _uid()[:4]
    since = len(stack.forum_state()["request_log"])
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, "Hi %s" % uid,
                             "Limits %s: a short subject.\n" % uid)
    stack.send_mail("alice@example.test", stack.list_address, msg)
    (topic, _), = wait_for(lambda: _posts(stack, "Limits %s:" % uid),
                           timeout=60, what="the short mail posted")
    assert topic["title"] == "Hi %s (from the mailing list)" % uid, topic
    assert _refusals(stack, since) == []
    assert _xlen(stack, "fg:{forum}:dead") == 0


@requires("plugin", "forumsim", "bridge", "admin")
def test_content_refusal_dead_letter_at_once(stack):
    """forum_max_post_length set above what the forum takes: the forum
    refuses the text (422 "Body is limited to ..."); the record goes to
    the dead-letter stream at the first refusal, with the forum's reason,
    and the next mail is posted right after."""
    _quiet(stack)
    with open(stack.conf_path, "a") as f:
        f.write("forum_max_post_length = 40000\n")
    stack.config["forum_max_post_length"] = "40000"
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")
    uid = _uid()
    since = len(stack.forum_state()["request_log"])
    refused = stack.make_message("Alice Example <alice@example.test>",
                                 stack.bridge_address,
                                 "Limits %s refused text" % uid,
                                 _long_body(uid, 450))
    stack.send_list_copy(refused)
    nxt = stack.make_message("Alice Example <alice@example.test>",
                             stack.bridge_address,
                             "Limits %s the next one" % uid,
                             "Limits %s next: the queue goes on.\n" % uid)
    stack.send_list_copy(nxt)
    wait_for(lambda: _xlen(stack, "fg:{forum}:dead") == 1, timeout=30,
             what="the dead letter")
    wait_for(lambda: _posts(stack, "Limits %s next:" % uid), timeout=30,
             what="the next mail posted")
    assert len(_refusals(stack, since)) == 1, _refusals(stack, since)
    r = stack.admin("dead", "forum", check=True)
    assert "message_id=%s" % refused["Message-ID"] in r.stdout, r.stdout
    assert "Body is limited to 32000 characters; you entered" in r.stdout, \
        r.stdout
    # one refusal, no retry: before, five tries with backoff (15 s)
    # stalled the list; the count above says so on any machine
