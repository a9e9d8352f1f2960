"""Bounces through the Dovecot plugin: what the bounce parser recognises
(doc/bounces.md) is classified `bounce`, kept in the bridge mailbox's
"Not posted/bounce" with the parser's reason in the log, and never
posted; hostile reports (10 MB, 10,000 recipients, garbage fields) are
kept the same way, nothing lost."""

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}


def _kept(stack, marker):
    """The message with `marker` in its Message-ID once the plugin kept
    it in "Not posted/bounce"."""
    def look():
        box = stack.not_posted(stack.bridge_address).get("bounce", [])
        return [m for m in box if marker in str(m["Message-ID"])]
    got = wait_for(look, timeout=60, what="%s kept as a bounce" % marker)
    assert len(got) == 1, got
    return got[0]


def _send_bounce(stack, marker, headers, body):
    """Send a report from the null sender to the bridge address."""
    text = ("%s\nTo: %s\nMessage-ID: <%s@mx.example.net>\n"
            "Date: Mon, 07 Dec 2026 10:00:00 +0000\n\n%s"
            % (headers, stack.bridge_address, marker, body))
    code, answer = stack.send_mail("", stack.bridge_address,
                                   text.replace("\n", "\r\n").encode())
    assert code == 250, (code, answer)


CASES = [
    # Yahoo's subject that no keyword list had
    ("yahoo-failure-delivery",
     "Return-Path: <>\nFrom: MAILER-DAEMON@yahoo.co.jp\n"
     "Subject: failure delivery",
     "Sorry, we were unable to deliver your message to the following "
     "address.\n\n<taro@yahoo.co.jp>:\nRemote host said: 550 5.2.2 "
     "<taro@yahoo.co.jp>... Mailbox Full [RCPT_TO]\n",
     "failure delivery"),
    # MDaemon: an empty address is a null sender
    ("mdaemon-postmaster",
     "From: Postmaster <>\nSubject: Permanent Delivery Failure",
     "The attached message had PERMANENT fatal delivery errors!\n\n"
     " --> RCPT To:<left@example.com>\n"
     " <-- 550 5.1.1 Mailbox unavailable: left@example.com\n",
     "delivery failure"),
    # a DSN without report-type, nested in multipart/mixed
    ("nested-dsn",
     "From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.com>\n"
     "Subject: Notice\nMIME-Version: 1.0\n"
     "Content-Type: multipart/mixed; boundary=outer",
     "--outer\nContent-Type: multipart/report; boundary=inner\n\n"
     "--inner\nContent-Type: message/delivery-status\n\n"
     "Reporting-MTA: dns; gw.example.com\n\n"
     "Final-Recipient: rfc822; nobody@example.com\n"
     "Action: failed\nStatus: 5.1.1\n\n--inner--\n\n--outer--\n",
     "message/delivery-status part"),
    # a delay warning
    ("delay-warning",
     "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
     "Subject: Delayed Mail (still being retried)",
     "Your message could not be delivered for more than 4 hour(s).\n"
     "It will be retried until it is 5 day(s) old.\n\n"
     "<slow@example.net>: connect to mx.example.net: Connection timed "
     "out\n",
     "delivery delay report"),
]


@requires("plugin", "forumsim", "bridge")
def test_reports_are_kept_as_bounces(stack):
    offsets = stack.log_offsets()
    for marker, headers, body, _ in CASES:
        _send_bounce(stack, marker, headers, body)
    for marker, _, _, reason in CASES:
        _kept(stack, marker)
    log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
    for marker, _, _, reason in CASES:
        assert reason in log, (marker, reason, log[-3000:])
    assert log.count("not posted: bounce") >= len(CASES), log[-3000:]
    stack.wait_queue_empty()
    titles = [t["title"] for t in stack.forum_state()["topics"]]
    assert not [t for t in titles if "failure" in t.lower() or
                "notice" in t.lower() or "delayed" in t.lower()], titles


@requires("plugin", "forumsim", "bridge")
def test_hostile_reports_are_kept(stack):
    """A bounce of 10 MB, a DSN of 10,000 recipients and one of garbage
    fields: each is delivered and kept, none posted, none lost."""
    big = ("Sorry, we were unable to deliver your message to the "
           "following address.\n\n<big@example.net>:\n"
           "550 5.1.1 no such user\n\n" +
           ("a@b.c 550 5.1.1 x " * 50 + "\n") * 11500)
    assert len(big) > 10 * 1000 * 1000
    _send_bounce(stack, "ten-megabytes",
                 "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net\n"
                 "Subject: failure notice", big)
    many = "".join("Final-Recipient: rfc822; u%d@example.net\n"
                   "Action: failed\nStatus: 5.1.1\n\n" % i
                   for i in range(10000))
    _send_bounce(stack, "ten-thousand",
                 "From: MAILER-DAEMON@mx.example.net\n"
                 "Subject: Undelivered Mail Returned to Sender\n"
                 "MIME-Version: 1.0\nContent-Type: multipart/report; "
                 "report-type=delivery-status; boundary=B",
                 "--B\nContent-Type: message/delivery-status\n\n"
                 "Reporting-MTA: dns; mx.example.net\n\n" + many +
                 "--B--\n")
    _send_bounce(stack, "garbage-fields",
                 "From: MAILER-DAEMON@mx.example.net\n"
                 "Subject: Undelivered Mail Returned to Sender\n"
                 "MIME-Version: 1.0\nContent-Type: multipart/report; "
                 "report-type=delivery-status; boundary=B",
                 "--B\nContent-Type: message/delivery-status\n\n"
                 "Reporting-MTA: ;;;;\n\nFinal-Recipient: rfc822; <<<@@@>>>"
                 "\nAction: \nStatus: 9.9.9.9.9\n: no name\nno colon\n"
                 + "\x01;:<>@" * 20000 + "\n--B--\n")
    for marker in ("ten-megabytes", "ten-thousand", "garbage-fields"):
        _kept(stack, marker)
