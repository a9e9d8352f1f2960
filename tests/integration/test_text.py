"""What list mail looks like on the forum, through real delivery:
Postfix, Dovecot LMTP with the plugin, Redis, the bridge and the
Discourse simulator. Quotes and signatures are cut, HTML becomes
Markdown, the sender behind a list manager's From rewriting is found.
"""

import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True}


def _token():
    return uuid.uuid4().hex[:10]


def _post_with(stack, token):
    for t in stack.forum_state()["topics"]:
        for p in t["posts"]:
            if token in p["raw"]:
                return t, p
    return None


def _body(post):
    """The posted text without the attribution line the bridge puts in
    front of mail from senders who have no forum user (author_attribution)."""
    raw = post["raw"]
    first, sep, rest = raw.partition("\n\n")
    return rest if sep and first.endswith("wrote via the list:") else raw


def _deliver(stack, data):
    stack.send_list_copy(data.replace("\n", "\r\n").encode())


@requires("plugin", "forumsim", "bridge", "admin")
def test_gmail_html_reply_is_trimmed(stack):
    """An HTML-only Gmail reply: Markdown, without the quoted message."""
    token = _token()
    _deliver(stack, """From: Alice Example <alice@example.test>
To: bridge@lists.test
Subject: Re: Dovecot LMTP quota question {t}
Message-ID: <html-{t}@example.test>
MIME-Version: 1.0
Content-Type: text/html; charset=UTF-8

<div dir="ltr">Set <b>lmtp_rcpt_check_quota</b> to <code>yes</code>, see
<a href="https://doc.dovecot.org/">the docs</a>. Answer {t}.</div>
<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon,
Nov 23, 2026 at 10:00 AM Bob &lt;bob@example.test&gt; wrote:<br></div>
<blockquote class="gmail_quote">How do I reject over-quota mail at RCPT?
</blockquote></div>
""".format(t=token))
    topic, post = wait_for(lambda: _post_with(stack, token), timeout=30,
                           what="the post of %s" % token)
    assert "**lmtp_rcpt_check_quota**" in post["raw"], post["raw"]
    assert "`yes`" in post["raw"], post["raw"]
    assert "[the docs](https://doc.dovecot.org/)" in post["raw"], post["raw"]
    assert "over-quota" not in post["raw"], post["raw"]
    assert "wrote:" not in post["raw"], post["raw"]
    assert topic["title"] == "Dovecot LMTP quota question %s" % token


@requires("plugin", "forumsim", "bridge", "admin")
def test_outlook_reply_and_phone_signature(stack):
    """Plain text from Outlook on a phone: the header block and the
    phone's signature are cut."""
    token = _token()
    _deliver(stack, """From: Alice Example <alice@example.test>
To: bridge@lists.test
Subject: RE: postscreen and the DNSBL threshold {t}
Message-ID: <outlook-{t}@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

A threshold of 3 works well here, answer {t}.

Get Outlook for Android

________________________________
From: Bob <bob@example.test>
Sent: Monday, November 23, 2026 10:00
To: forum@lists.test
Subject: postscreen and the DNSBL threshold

Which postscreen_dnsbl_threshold do you use?
""".format(t=token))
    _, post = wait_for(lambda: _post_with(stack, token), timeout=30,
                       what="the post of %s" % token)
    assert _body(post).strip() == ("A threshold of 3 works well here, "
                                   "answer %s." % token), post["raw"]


@requires("plugin", "forumsim", "bridge", "admin")
def test_mailman_munged_from(stack):
    """A DMARC-munged From ("Alice via List"): for a list marked trusted
    the post is attributed to the real sender (Reply-To as Mailman
    writes it), not to the list; for any other list it is not undone."""
    for trusted in ("no", "yes"):
        stack.admin("list", "set", stack.list_name, "trusted", trusted,
                    check=True)
        token = _munged(stack)
        log = stack.dovecot_log()
        line = [ln for ln in log.splitlines() if "munged-%s" % token in ln]
        expect = ("from=<carol@example.test>" if trusted == "yes" else
                  "from=<forum@lists.test>")
        assert line and expect in line[-1], (trusted, line)
    stack.admin("list", "set", stack.list_name, "trusted", "no", check=True)


def _munged(stack):
    """Deliver a Mailman 3 munge_from copy, wait for its post; its token."""
    token = _token()
    _deliver(stack, """From: Carol Example via Forum <forum@lists.test>
Reply-To: Carol Example <carol@example.test>
To: forum@lists.test
Subject: Munged From header case {t}
Message-ID: <munged-{t}@example.test>
List-Id: <forum.lists.test>
List-Post: <mailto:forum@lists.test>
X-Mailman-Version: 3.3.8
Content-Type: text/plain; charset=UTF-8

Text of the munged case {t}, long enough to be a post.
""".format(t=token))
    wait_for(lambda: _post_with(stack, token), timeout=30,
             what="the post of %s" % token)
    return token
