"""Only list mail is posted: through real Postfix, mlmmj, Dovecot LMTP with
the plugin, the bridge and the Discourse simulator.

A post through the mlmmj list becomes a topic; mail sent straight to the
bridge recipient (or to bridge+x), mlmmj's own notices and a forged copy
that carries the list's headers are kept in the bridge mailbox under
"Not posted/REASON" with the reason in Dovecot's log; a forged copy with
the Message-ID of a real list mail, sent before the list's copy arrives,
never pre-empts it.
"""

import json
import smtplib
import uuid

from stack import LIST_RETURN_PATH, requires, wait_for

STACK_OPTIONS = {"full": True}


def _uid():
    return uuid.uuid4().hex[:8]


def _topic(stack, title):
    for t in stack.forum_state()["topics"]:
        if t["title"] == title:
            return t
    return None


def _kept(stack, reason, text):
    """The messages kept under Not posted/REASON whose subject has text."""
    return [m for m in stack.not_posted(stack.bridge_address).get(reason, [])
            if text in str(m["Subject"])]


def _count(stack, reason):
    return int(stack.redis("HGET", "fg:{forum}:not-posted", reason) or 0)


def _wait_kept(stack, reason, text, offsets):
    """Wait until the message is kept under reason; the log since offsets."""
    got = wait_for(lambda: _kept(stack, reason, text), timeout=30,
                   what="a message with %r kept as %s" % (text, reason))
    assert len(got) == 1, got
    return stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")


@requires("plugin", "forumsim", "bridge", "admin")
def test_post_through_mlmmj_is_posted(stack):
    """A member's post through the real mlmmj list becomes a topic."""
    uid = _uid()
    title = "Through the list %s" % uid
    msg = stack.make_message("alice@example.test", stack.list_address, title,
                             "Posted through mlmmj, %s.\n" % uid)
    stack.send_mail("alice@example.test", stack.list_address, msg)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the list post as a topic")
    assert "Posted through mlmmj, %s." % uid in topic["posts"][0]["raw"]


@requires("plugin", "forumsim", "bridge", "admin")
def test_straight_to_bridge_is_not_posted(stack):
    """Mail sent straight to the bridge recipient, and to bridge+x, by a
    non-member is kept under Not posted/not-list with the reason logged,
    counted, and never reaches the forum or the seen set."""
    before = _count(stack, "not-list")
    for rcpt in (stack.bridge_address, "bridge+x@lists.test"):
        uid = _uid()
        title = "Straight to the bridge %s" % uid
        offsets = stack.log_offsets()
        msg = stack.make_message("dave@example.test", rcpt, title,
                                 "Not through the list, %s.\n" % uid)
        stack.send_mail("dave@example.test", rcpt, msg)
        log = _wait_kept(stack, "not-list", title, offsets)
        assert ("not posted: not-list" in log and
                "envelope sender <dave@example.test> is not a return path "
                "of the list <forum@lists.test>" in log and
                "kept in mailbox Not posted.not-list" in log), log[-2000:]
        msgid = msg["Message-ID"].strip("<>")
        assert stack.day_hget("fg:{forum}:in-seen", msgid) == ""
        assert _topic(stack, title) is None
    assert _count(stack, "not-list") == before + 2
    r = stack.admin("status", check=True)
    assert "not-list=%d" % (before + 2) in r.stdout, r.stdout


@requires("plugin", "forumsim", "bridge", "admin")
def test_forged_list_headers_are_not_posted(stack):
    """List-Id, List-Post and To: the list written by the sender of a mail
    straight to the bridge do not make it list mail: the envelope sender
    is not the list's return path."""
    uid = _uid()
    title = "Forged list headers %s" % uid
    offsets = stack.log_offsets()
    msg = stack.make_message(
        "alice@example.test", stack.list_address, title,
        "Pretending to be list mail, %s.\n" % uid,
        headers=[("List-Id", "<%s>" % stack.list_id),
                 ("List-Post", "<mailto:%s>" % stack.list_address),
                 ("Precedence", "list")])
    stack.send_mail("alice@example.test", stack.bridge_address, msg)
    log = _wait_kept(stack, "not-list", title, offsets)
    assert "envelope sender <alice@example.test>" in log, log[-2000:]
    stack.wait_queue_empty()
    assert _topic(stack, title) is None


@requires("plugin", "forumsim", "bridge", "admin")
def test_mlmmj_notice_is_not_posted(stack):
    """mlmmj's own mail to the bridge (its help text, from LIST+owner with
    an mlmmj Message-ID, envelope LIST+bounces-help) is a list notice."""
    offsets = stack.log_offsets()
    req = stack.make_message(stack.bridge_address, "forum+help@lists.test",
                             "help")
    stack.send_mail(stack.bridge_address, "forum+help@lists.test", req)

    def notice():
        box = stack.not_posted(stack.bridge_address).get("list-notice", [])
        return [m for m in box if "forum" in str(m["From"])]
    got = wait_for(notice, timeout=60, what="mlmmj's help text kept")
    assert "-mlmmj-" in got[0]["Message-ID"], got[0]["Message-ID"]
    log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
    assert ("not posted: list-notice" in log and
            "the list manager's own mail (mlmmj:owner" in log and
            "kept in mailbox Not posted.list-notice" in log), log[-2000:]
    stack.wait_queue_empty()
    subject = str(got[0]["Subject"])
    assert not any(subject in t["title"] or t["title"] in subject
                   for t in stack.forum_state()["topics"]), subject


@requires("plugin", "forumsim", "bridge", "admin")
def test_forged_copy_does_not_preempt_the_list(stack):
    """A forged copy with the Message-ID of a real list mail is sent
    straight to the bridge first; the list's copy comes after it. The
    forged one is kept as not-list and never enters the seen set; the
    forum gets the list's text."""
    uid = _uid()
    title = "The real text %s" % uid
    msgid = "<forged-race-%s@example.test>" % uid
    forged = stack.make_message(
        "alice@example.test", stack.list_address, title,
        "FORGED words that must never be posted, %s.\n" % uid,
        message_id=msgid,
        headers=[("List-Id", "<%s>" % stack.list_id)])
    offsets = stack.log_offsets()
    stack.send_mail("dave@example.test", stack.bridge_address, forged)
    _wait_kept(stack, "not-list", title, offsets)
    assert stack.day_hget("fg:{forum}:in-seen", msgid.strip("<>")) == ""

    real = stack.make_message("alice@example.test", stack.list_address,
                              title, "The words alice wrote, %s.\n" % uid,
                              message_id=msgid)
    stack.send_mail("alice@example.test", stack.list_address, real)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the list's copy as a topic")
    assert "The words alice wrote, %s." % uid in topic["posts"][0]["raw"]
    stack.wait_queue_empty()
    stack.wait_bridge_idle(queues=("in",))
    for t in stack.forum_state()["topics"]:
        for p in t["posts"]:
            assert "FORGED words" not in p["raw"], p
    assert "message-id=<%s> (queued before)" % msgid.strip("<>") \
        not in stack.dovecot_log()


def _remote_rcpt(stack, client, mail_from, rcpt):
    """MAIL FROM and RCPT TO as Postfix sees them from client (XCLIENT):
    the RCPT answer (code, text)."""
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30,
                      local_hostname="client.example.test") as s:
        s.ehlo()
        code, text = s.docmd("XCLIENT", "ADDR=%s" % client)
        assert code == 220, (code, text)
        s.ehlo()
        code, text = s.mail(mail_from)
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text.decode("utf-8", "replace")


@requires("policyd", "admin")
def test_bridge_only_from_bridge_clients(stack):
    """forumgate-policyd refuses, from a client outside bridge_clients,
    mail to the bridge recipient (and bridge+x) and mail whose envelope
    sender is the list's return path; from the list manager's host
    (127.0.0.1) both pass."""
    wait_for(lambda: "bridge recipients read" in stack.log_tail("policyd"),
             timeout=30, what="policyd to read the bridge recipients")
    for rcpt in (stack.bridge_address, "bridge+x@lists.test"):
        code, text = _remote_rcpt(stack, "192.0.2.7", "dave@example.test",
                                  rcpt)
        assert code == 554 and "5.7.1 <%s>" % rcpt in text and \
            "takes the forum list's copies from its list manager only" \
            in text, (code, text)
    for sender in (LIST_RETURN_PATH, "forum-bounces@lists.test",
                   "forum-bounces+alice=example.test@lists.test"):
        code, text = _remote_rcpt(stack, "192.0.2.7", sender,
                                  "alice@example.test")
        assert code == 554 and "the forum list's return path is used by " \
            "its list manager only" in text, (code, text)
    # an ordinary remote sender to an ordinary recipient is not concerned
    code, text = _remote_rcpt(stack, "192.0.2.7", "dave@example.test",
                              "alice@example.test")
    assert code == 250, (code, text)
    # the list manager's host
    code, text = _remote_rcpt(stack, "127.0.0.1", LIST_RETURN_PATH,
                              stack.bridge_address)
    assert code == 250, (code, text)
    for reason in ("bridge recipient", "list return path"):
        wait_for(lambda: "reason=%s from outside bridge_clients" % reason
                 in stack.log_tail("policyd", 200), timeout=10,
                 what="policyd to log the %s refused" % reason)


@requires("admin")
def test_admin_parse_with_list(stack):
    """forumgate parse --list applies the list rule as the plugin does."""
    path = stack.path("parse-listmail.eml")
    msg = stack.make_message("alice@example.test", stack.bridge_address,
                             "Parse me", "Text.\n",
                             headers=[("List-Id", "<%s>" % stack.list_id)])
    with open(path, "wb") as f:
        f.write(bytes(msg))
    cases = ((("--envelope-from", "dave@example.test"), "not-list",
              "envelope sender <dave@example.test>"),
             (("--envelope-from", LIST_RETURN_PATH), "post", "List-Id"),
             ((), "post", "List-Id"))
    for extra, cls, reason in cases:
        r = stack.admin("parse", "--list", "forum", *extra, path,
                        check=True)
        rec = json.loads(r.stdout)
        assert rec["classification"] == cls and reason in rec["reason"], \
            (extra, rec["classification"], rec["reason"])
    # without --list nothing is said about the list
    r = stack.admin("parse", path, check=True)
    assert json.loads(r.stdout)["classification"] == "post"
    r = stack.admin("parse", "--list", "nolist", path)
    assert r.returncode == 69, (r.returncode, r.stderr)
