"""A reply's trailing quote without an attribution, through real
Postfix, mlmmj, Dovecot LMTP, Redis, the bridge and the Discourse
simulator: cut when it is the text of the post it answers (list mail or
a forum post mailed to the list), kept when it is not.

The tests of this module share one stack and run in file order: the
first one posts the parent the others answer.
"""

import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}

# What the tests below pass along to each other.
thread = {}


def _uid():
    return uuid.uuid4().hex[:8]


def _posts_with(stack, text):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if text in p["raw"]]


def _one_post_with(stack, text):
    found = _posts_with(stack, text)
    return found[0] if found else None


def _log_has(stack, text):
    return text in stack.log_tail("forumgated", 10 ** 6)


def _quote(text):
    """text as a client quotes it: re-wrapped shorter, "> " in front."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > 50:
            lines.append("> " + line)
            line = w
        else:
            line = (line + " " + w) if line else w
    lines.append("> " + line)
    return "\n".join(lines) + "\n"


def _reply(stack, sender, parent_msgid, title, body):
    msg = stack.make_message(sender, stack.list_address,
                             "Re: [forum] " + title, body,
                             in_reply_to=parent_msgid,
                             references=[parent_msgid])
    stack.send_mail(sender.split("<")[1].rstrip(">"), stack.list_address,
                    msg)
    return msg


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_parent_text_is_kept(stack):
    """The list mail a reply will quote is posted, and the sketch of
    its text is kept under its Message-ID for seen_retention_days."""
    uid = _uid()
    title = "Quote matching parent %s" % uid
    text = ("The build of release %s fails with gcc 14 because of the new "
            "warning about the order of calloc arguments. Adding "
            "-Wno-error=calloc-transposed-args to CFLAGS helps for now; "
            "the real fix swaps the arguments in fg-common.c." % uid)
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, title, text + "\n")
    stack.send_mail("alice@example.test", stack.list_address, msg)
    wait_for(lambda: _one_post_with(stack, "build of release %s" % uid),
             timeout=30, what="the parent on the forum")
    msgid = msg["Message-ID"].strip().strip("<>")
    key = "fg:{forum}:text:" + msgid
    sketch = wait_for(lambda: stack.redis("GET", key), timeout=10,
                      what="the parent's text sketch")
    hashes = sketch.split()
    assert 10 < len(hashes) <= 256, sketch
    assert hashes == sorted(hashes), sketch
    ttl = int(stack.redis("PTTL", key))
    days = int(stack.config.get("seen_retention_days", 30))
    assert 0 < ttl <= days * 86400 * 1000, ttl
    thread.update(uid=uid, title=title, text=text,
                  msgid=msg["Message-ID"])


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_trailing_parent_quote_is_cut(stack):
    """A reply whose trailing quote (no attribution line) is the
    parent's text, re-wrapped by the replier's client: posted without
    the quote."""
    assert thread, "needs test_parent_text_is_kept"
    answer = "Swapping them works here too, answer %s." % thread["uid"]
    msg = _reply(stack, "Bob Example <bob@example.test>", thread["msgid"],
                 thread["title"], answer + "\n\n" + _quote(thread["text"]))
    topic, post = wait_for(
        lambda: _one_post_with(stack, "answer %s" % thread["uid"]),
        timeout=30, what="bob's reply on the forum")
    assert "calloc" not in post["raw"], post["raw"]
    assert ">" not in post["raw"], post["raw"]
    assert post["raw"].rstrip().endswith(answer), post["raw"]
    assert post["reply_to_post_number"] == 1, post
    assert _log_has(stack, "message_id=<%s>: the trailing quote cut: the "
                    "text of the parent <%s>"
                    % (msg["Message-ID"].strip("<>"),
                       thread["msgid"].strip("<>"))), \
        stack.log_tail("forumgated", 20)
    thread.update(topic_id=topic["id"])


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_trailing_other_quote_is_kept(stack):
    """A reply whose trailing quote is not the parent's text (a quote
    of something else): the quote stays in the post."""
    assert thread, "needs test_parent_text_is_kept"
    other = ("The manual of version two says that the option is gone "
             "and that nobody should set it in main.cf any more.")
    answer = "Not what the manual says, reply %s." % thread["uid"]
    msg = _reply(stack, "Carol Example <carol@example.test>",
                 thread["msgid"], thread["title"],
                 answer + "\n\n" + _quote(other))
    _, post = wait_for(
        lambda: _one_post_with(stack, "reply %s" % thread["uid"]),
        timeout=30, what="carol's reply on the forum")
    assert answer in post["raw"], post["raw"]
    assert _quote(other).strip() in post["raw"], post["raw"]
    assert _log_has(stack, "message_id=<%s>: the trailing quote stays: not "
                    "the text of the parent" % msg["Message-ID"].strip("<>"))


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_quote_of_forum_post_is_cut(stack):
    """A forum post mailed to the list keeps its sketch too: a list
    reply that quotes the whole mail at the end (the topic link under
    its signature line too) is posted without the quote."""
    assert "topic_id" in thread, "needs the tests before"
    raw = ("From the forum for %s: the packaged build sets "
           "-Wno-error already, so only source builds are hit by the "
           "calloc warning." % thread["uid"])
    stack.forum_reply(thread["topic_id"], raw, username="dave_web",
                      name="Dave Web", reply_to_post_number=1)

    def arrived():
        for m in stack.mailbox("alice@example.test"):
            if (not m.is_multipart() and
                    "From the forum for %s" % thread["uid"] in
                    m.get_content()):
                return m
        return None
    mail = wait_for(arrived, timeout=30,
                    what="the forum post in alice's mailbox")
    forum_msgid = mail["Message-ID"].strip()
    wait_for(lambda: stack.redis("GET", "fg:{forum}:text:" +
                                 forum_msgid.strip("<>")),
             timeout=10, what="the forum post's text sketch")
    # the whole mail quoted, with the topic link under its "-- "
    sent = mail.get_content()
    assert "\n-- \n" in sent, sent
    quoted = "".join("> " + ln for ln in sent.splitlines(True))
    answer = "Good to know, thanks, answer two %s." % thread["uid"]
    msg = _reply(stack, "Alice Example <alice@example.test>", forum_msgid,
                 thread["title"], answer + "\n\n" + quoted)
    _, post = wait_for(
        lambda: _one_post_with(stack, "answer two %s" % thread["uid"]),
        timeout=30, what="alice's reply on the forum")
    assert "packaged build" not in post["raw"], post["raw"]
    assert post["raw"].rstrip().endswith(answer), post["raw"]
    assert _log_has(stack, "message_id=<%s>: the trailing quote cut"
                    % msg["Message-ID"].strip("<>"))
