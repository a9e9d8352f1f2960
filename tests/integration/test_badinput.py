"""Hostile and broken list mail through real Postfix and Dovecot LMTP.

Each message goes to the bridge recipient through the private Postfix,
which delivers it over LMTP to Dovecot with the forumgate plugin: a
10 MB message, a 1 MB header line, NUL bytes, 200 nested multiparts,
broken base64, an unknown charset, no From:. Each must end as a forum
post (best effort) or stay in the bridge mailbox with the reason in
Dovecot's log; the lmtp process must never crash, and nothing may be
lost: every message is a forum post, in the bridge mailbox, or still in
Postfix's queue (a temporary failure is retried, not dropped).

The same messages then go straight to Dovecot's LMTP socket, without
Postfix's cleanup in between (it folds long lines and caps headers), to
see the plugin handle the raw bytes.
"""

import base64
import os
import smtplib
import socket
import uuid

from stack import LIST_RETURN_PATH, requires, wait_for

STACK_OPTIONS = {"full": True}

SENDER = "alice@example.test"
CRASH_SIGNS = ("Fatal", "Panic", "killed with signal", "core dumped",
               "terminated abnormally")

# message-id -> how it was sent, for the final check
sent = {}


def _token():
    return uuid.uuid4().hex[:12]


def _headers(token, subject=None, sender=True, extra=""):
    h = ""
    if sender:
        h += "From: Alice Example <alice@example.test>\r\n"
    h += "To: bridge@lists.test\r\n"
    # what the list's copy carries (see _lmtp_send for its envelope)
    h += "List-Id: <forum.lists.test>\r\n"
    h += "Subject: %s\r\n" % (subject or "Bad input case %s" % token)
    h += "Message-ID: <bad-%s@example.test>\r\n" % token
    h += "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    h += "MIME-Version: 1.0\r\n"
    return h + extra


def _msgid(token):
    return "bad-%s@example.test" % token


def _in_forum(stack, token):
    for t in stack.forum_state()["topics"]:
        if token in t["title"]:
            return True
        for p in t["posts"]:
            if token in p["raw"]:
                return True
    return False


def _in_mailbox(stack, token):
    """In the bridge mailbox: INBOX, or a folder of mail not posted."""
    kept = [m for msgs in stack.not_posted(stack.bridge_address).values()
            for m in msgs]
    for m in stack.mailbox(stack.bridge_address) + kept:
        if token in (m.get("Message-ID") or "") or \
                token in (m.get("Subject") or ""):
            return True
    return False


def _in_queue(stack):
    return [q for q in stack.postfix_queue()
            if any(r["address"] == stack.bridge_address
                   for r in q["recipients"])]


def _no_crash(stack, offsets):
    log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
    bad = [ln for ln in log.splitlines()
           if any(s in ln for s in CRASH_SIGNS)]
    assert not bad, "Dovecot logged a crash:\n" + "\n".join(bad[:10])
    return log


def _outcome(stack, token, offsets, timeout=90):
    """Wait until the message with this token is a forum post, in the
    bridge mailbox (with a logged reason) or deferred in Postfix's
    queue; returns which."""
    found = []

    def look():
        if _in_forum(stack, token):
            found.append("forum")
        elif _in_mailbox(stack, token):
            found.append("mailbox")
        return bool(found)
    try:
        wait_for(look, timeout=timeout,
                 what="message %s posted or kept" % token)
    except TimeoutError:
        queued = _in_queue(stack)
        assert queued, ("message %s is nowhere: not posted, not in the "
                        "bridge mailbox, not in Postfix's queue" % token)
        found.append("queue")
    log = _no_crash(stack, offsets)
    if found[0] == "mailbox":
        # kept: the plugin said why
        assert "forumgate:" in log and ("kept in the mailbox" in log or
                                        "not posted" in log), log[-2000:]
    if found[0] == "queue":
        assert "forumgate:" in log, log[-2000:]
    return found[0]


def _send(stack, token, data):
    offsets = stack.log_offsets()
    stack.send_list_copy(data)
    sent[token] = "smtp"
    return offsets


@requires("plugin", "forumsim", "bridge", "admin")
def test_ten_megabytes(stack):
    """A 10 MB message (text and a 10 MB attachment) is posted."""
    token = _token()
    blob = base64.encodebytes(os.urandom(7 * 1024 * 1024 + 512 * 1024))
    data = (_headers(token, extra="Content-Type: multipart/mixed; "
                     "boundary=\"B\"\r\n") +
            "\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "The log file of last night's outage is attached (%s).\r\n"
            "--B\r\nContent-Type: application/octet-stream; name=x.bin\r\n"
            "Content-Disposition: attachment; filename=x.bin\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % token).encode() + \
        blob.replace(b"\n", b"\r\n") + b"--B--\r\n"
    assert len(data) >= 10 * 1000 * 1000
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets, timeout=120) == "forum"


@requires("plugin", "forumsim", "bridge", "admin")
def test_megabyte_header_line(stack):
    """A header line of 1 MB does not stop the message."""
    token = _token()
    data = (_headers(token, extra="X-Junk: " + "a" * (1024 * 1024) +
                     "\r\nContent-Type: text/plain\r\n") +
            "\r\nA message with a one megabyte header line %s.\r\n"
            % token).encode()
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets) in ("forum", "mailbox")


@requires("plugin", "forumsim", "bridge", "admin")
def test_nul_bytes(stack):
    """NUL bytes in the body become U+FFFD, not truncation. (Postfix's
    cleanup cuts a header line at a NUL itself; test_raw_over_lmtp
    sends NULs in a header past it.)"""
    token = _token()
    data = (_headers(token, subject="NUL bytes in the body %s" % token,
                     extra="Content-Type: text/plain; charset=utf-8\r\n") +
            "\r\nBefore the NUL\x00after the NUL, case %s.\r\n"
            % token).encode()
    offsets = _send(stack, token, data)
    where = _outcome(stack, token, offsets)
    assert where in ("forum", "mailbox")
    if where == "forum":
        posts = [p for t in stack.forum_state()["topics"]
                 for p in t["posts"] if token in p["raw"]]
        assert posts and "\ufffdafter the NUL" in posts[0]["raw"], posts


@requires("plugin", "forumsim", "bridge", "admin")
def test_nested_multiparts(stack):
    """200 nested multiparts: parsed within bounds, the text is posted."""
    token = _token()
    parts = ["--L0\r\nContent-Type: text/plain\r\n\r\n"
             "The top text of a deeply nested message %s.\r\n" % token]
    for i in range(1, 201):
        parts.append("--L%d\r\nContent-Type: multipart/mixed; "
                     "boundary=\"L%d\"\r\n\r\n" % (i - 1, i))
    parts.append("--L200\r\nContent-Type: text/plain\r\n\r\ndeep\r\n")
    for i in range(200, -1, -1):
        parts.append("--L%d--\r\n" % i)
    data = (_headers(token, extra="Content-Type: multipart/mixed; "
                     "boundary=\"L0\"\r\n") + "\r\n" +
            "".join(parts)).encode()
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets) == "forum"


@requires("plugin", "forumsim", "bridge", "admin")
def test_broken_base64(stack):
    """Broken base64: what decodes is posted."""
    token = _token()
    good = base64.b64encode(("Broken base64 body of case %s, the rest is "
                             "garbage." % token).encode()).decode()
    data = (_headers(token, extra="Content-Type: text/plain; "
                     "charset=utf-8\r\nContent-Transfer-Encoding: base64"
                     "\r\n") + "\r\n" + good + "\r\n!!!@@@###\r\nQUJD=" +
            "\r\n").encode()
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets) == "forum"


@requires("plugin", "forumsim", "bridge", "admin")
def test_unknown_charset(stack):
    """An unknown charset: ASCII stays, other bytes become U+FFFD."""
    token = _token()
    data = (_headers(token, extra="Content-Type: text/plain; "
                     "charset=\"x-no-such-charset\"\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n").encode() +
            b"\r\nUnknown charset case " + token.encode() +
            b": \xe9\xe8\xff\xfe done.\r\n")
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets) == "forum"
    posts = [p for t in stack.forum_state()["topics"]
             for p in t["posts"] if token in p["raw"]]
    assert "\ufffd" in posts[0]["raw"] and "done." in posts[0]["raw"], posts


@requires("plugin", "forumsim", "bridge", "admin")
def test_no_from(stack):
    """No From: posted as the bridge user, or kept with a reason."""
    token = _token()
    data = (_headers(token, sender=False,
                     extra="Content-Type: text/plain\r\n") +
            "\r\nA message without a From header, case %s.\r\n"
            % token).encode()
    offsets = _send(stack, token, data)
    assert _outcome(stack, token, offsets) in ("forum", "mailbox")


def _lmtp_send(stack, data):
    """Deliver straight to Dovecot's LMTP socket; the answer code."""
    s = smtplib.LMTP(stack.lmtp_socket, timeout=120)
    try:
        s.ehlo("client.example.test")
        s.mail(LIST_RETURN_PATH)
        code, _ = s.rcpt(stack.bridge_address)
        assert code == 250, code
        try:
            s.data(data)
            code = 250
        except smtplib.SMTPDataError as e:
            code = e.smtp_code
        except (smtplib.SMTPServerDisconnected, socket.error) as e:
            raise AssertionError("LMTP connection lost: %s" % e)
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
    return code


@requires("plugin", "forumsim", "bridge", "admin")
def test_raw_over_lmtp(stack):
    """The hostile bytes straight over LMTP, without Postfix's cleanup:
    each is accepted (posted or kept) or temp-failed with a reason, and
    no lmtp process dies."""
    cases = {
        "header": lambda t: (_headers(t, extra="X-Junk: " +
                                      "=?" * (512 * 1024) + "\r\n") +
                             "\r\nA raw megabyte header line %s.\r\n"
                             % t).encode(),
        "nul": lambda t: (_headers(t, subject="Raw NUL \x00 in the "
                                   "subject %s" % t) +
                          "\r\nRaw NUL \x00\x00 bytes of case %s.\r\n"
                          % t).encode(),
        "nested": lambda t: (_headers(t, extra="Content-Type: "
                                      "multipart/mixed; boundary=\"Z\""
                                      "\r\n") + "\r\n" +
                             "--Z\r\nContent-Type: multipart/mixed; "
                             "boundary=\"Z\"\r\n\r\n" * 5000 +
                             "Raw nesting case %s.\r\n" % t).encode(),
        "nofrom": lambda t: (_headers(t, sender=False) +
                             "\r\nRaw case without From %s.\r\n"
                             % t).encode(),
    }
    for name, make in cases.items():
        token = _token()
        offsets = stack.log_offsets()
        code = _lmtp_send(stack, make(token))
        log = _no_crash(stack, offsets)
        if code == 250:
            where = _outcome(stack, token, offsets)
            assert where in ("forum", "mailbox"), (name, where)
            if name == "nul":
                # the subject goes on after the NUL
                assert where == "forum", where
                titles = [t["title"] for t in stack.forum_state()["topics"]
                          if token in t["title"]]
                assert titles == ["Raw NUL \ufffd in the subject %s"
                                  % token], titles
        else:
            assert 400 <= code < 500, (name, code)
            assert "forumgate:" in log, (name, log[-2000:])


@requires("plugin", "forumsim", "bridge", "admin")
def test_nothing_lost_no_crash(stack):
    """After all of it: Postfix delivered everything, no lmtp process
    crashed during the whole run."""
    stack.wait_queue_empty(timeout=60)
    _no_crash(stack, {})
