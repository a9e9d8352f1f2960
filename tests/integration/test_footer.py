"""List footers never reach the forum, through real delivery: the mlmmj
list of the stack with a footer in its control/footer (mlmmj appends it
as it is), declared to forumgate with `forumgate list set forum footer
@FILE`; and Mailman 3's footer, recognised without a declaration, as
trailing text and as a MIME part of its own after an HTML-only post.
"""

import os

from stack import requires, wait_for
from test_text import _body, _post_with, _token

STACK_OPTIONS = {"full": True}

# No separator or list wording forumgate would know: only the
# declaration makes it a footer.
MLMMJ_FOOTER = ("\n---\nThe forum list of lists.test, since 2026.\n"
                "Be kind; rules and archives at https://lists.test/rules\n")

MAILMAN3_FOOTER = ("_______________________________________________\n"
                   "Forum mailing list -- forum@lists.test\n"
                   "To unsubscribe send an email to "
                   "forum-leave@lists.test\n")


def _footer_path(stack):
    return os.path.join(stack.list_dir, "control", "footer")


def _mlmmj_footer(stack, text):
    """Give the mlmmj list a footer (None: none)."""
    path = _footer_path(stack)
    if text is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def _via_list(stack, token, body):
    """Alice posts through the mlmmj list; the forum post it became."""
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, "Footer test %s" % token,
                             body)
    stack.send_mail("alice@example.test", stack.list_address, msg)
    return wait_for(lambda: _post_with(stack, token), timeout=30,
                    what="the post of %s" % token)[1]


def _html_via_list(stack, token, html):
    """Alice posts HTML only (one text/html part) through the list."""
    data = ("From: Alice Example <alice@example.test>\n"
            "To: forum@lists.test\n"
            "Subject: Footer test %s\n"
            "Message-ID: <html-%s@example.test>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/html; charset=utf-8\n\n%s\n"
            % (token, token, html))
    stack.send_mail("alice@example.test", stack.list_address,
                    data.replace("\n", "\r\n").encode())
    return wait_for(lambda: _post_with(stack, token), timeout=30,
                    what="the post of %s" % token)[1]


def _reply_body(token):
    return ("Answer %s.\n\n"
            "On Mon, 7 Dec 2026 at 10:00, Bob <bob@example.test> wrote:\n"
            "> The question of %s?\n" % (token, token))


@requires("plugin", "forumsim", "bridge", "admin")
def test_mlmmj_declared_footer(stack):
    """mlmmj appends control/footer to a reply with a quote. Undeclared,
    the footer is posted and the quote stays (it is not at the end);
    declared with `list set forum footer @control/footer`, the post is
    the reply alone."""
    _mlmmj_footer(stack, MLMMJ_FOOTER)
    try:
        token = _token()
        raw = _via_list(stack, token, _reply_body(token))["raw"]
        # what mlmmj does to the mail, and what it costs undeclared
        assert "Be kind; rules and archives" in raw, raw
        assert "The question of %s" % token in raw, raw

        r = stack.admin("list", "set", "forum", "footer",
                        "@" + _footer_path(stack), check=True)
        assert "footer set" in r.stdout, r.stdout
        shown = stack.admin("list", "show", "forum", check=True).stdout
        assert "  Be kind; rules and archives" in shown, shown
        assert stack.redis("HGET", "fg:{forum}:config",
                           "footer") == MLMMJ_FOOTER.strip(), \
            stack.redis("HGET", "fg:{forum}:config", "footer")

        token = _token()
        post = _via_list(stack, token, _reply_body(token))
        assert _body(post) == "Answer %s." % token, post["raw"]

        # an HTML-only post: mlmmj appends the footer to the HTML, it is
        # cut from the Markdown after the conversion
        token = _token()
        post = _html_via_list(stack, token, "<html><body><p>The <b>HTML</b>"
                              " text %s.</p></body></html>" % token)
        assert "**HTML** text %s." % token in post["raw"], post["raw"]
        assert "Be kind" not in post["raw"], post["raw"]
    finally:
        _mlmmj_footer(stack, None)
        stack.admin("list", "set", "forum", "footer", "-", check=True)
    assert stack.redis("HEXISTS", "fg:{forum}:config", "footer") == "0"


def _deliver(stack, data):
    """A mail as Mailman 3 delivers it to the bridge subscriber: its
    envelope sender is the list's -bounces address."""
    stack.send_mail("forum-bounces@lists.test", stack.bridge_address,
                    data.replace("\n", "\r\n").encode())


@requires("plugin", "forumsim", "bridge", "admin")
def test_mailman3_footer_recognised(stack):
    """Mailman 3's footer, with nothing declared: cut from the end of a
    reply (whose quote is then trimmed), and a footer part after an
    HTML-only post is not what is posted."""
    headers = ("From: Alice Example <alice@example.test>\n"
               "To: forum@lists.test\n"
               "List-Id: <forum.lists.test>\n"
               "List-Post: <mailto:forum@lists.test>\n"
               "MIME-Version: 1.0\n")
    token = _token()
    _deliver(stack, headers +
             "Subject: Re: [Forum] Mailman reply {t}\n"
             "Message-ID: <mm3-reply-{t}@example.test>\n"
             "Content-Type: text/plain; charset=utf-8\n\n".format(t=token) +
             _reply_body(token) + MAILMAN3_FOOTER)
    post = wait_for(lambda: _post_with(stack, token), timeout=30,
                    what="the post of %s" % token)[1]
    assert _body(post) == "Answer %s." % token, post["raw"]

    token = _token()
    _deliver(stack, headers +
             "Subject: [Forum] Mailman HTML {t}\n"
             "Message-ID: <mm3-html-{t}@example.test>\n"
             "Content-Type: multipart/mixed; "
             "boundary=\"===============42==\"\n\n"
             "--===============42==\n"
             "Content-Type: text/html; charset=\"utf-8\"\n\n"
             "<html><body><p>Only <i>HTML</i> here, {t}.</p></body></html>\n"
             "--===============42==\n"
             "Content-Type: text/plain; charset=\"us-ascii\"\n"
             "Content-Disposition: inline\n\n".format(t=token) +
             MAILMAN3_FOOTER +
             "\n--===============42==--\n")
    post = wait_for(lambda: _post_with(stack, token), timeout=30,
                    what="the post of %s" % token)[1]
    assert _body(post) == "Only *HTML* here, %s." % token, post["raw"]
