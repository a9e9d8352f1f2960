"""One-click unsubscribe (RFC 8058) through the real stack: a list-mode
list fans a post out through Postfix to Dovecot; the test reads the
List-Unsubscribe URL of the copy in a subscriber's mailbox and uses it
on forumgated's listener (bridge-unsub.c), as the reverse proxy in
front of it would: the path kept, the scheme and host its own.

A GET answers a page with a form and changes nothing; a forged, an
expired or a mangled token and a POST without the one-click body
change nothing; the one-click POST (urlencoded, or multipart/form-data)
removes the subscriber, who is then not in the next fan-out; a second
POST answers 200 and changes nothing. Redis runs with the ACL users of
doc/redis-acl.md, so forumgated's rights for the change are checked too.
"""

import base64
import hashlib
import hmac
import http.client
import time
import uuid
from urllib.parse import urlsplit

from stack import requires, wait_for
from test_fanout import _stat, _wait_fanned_out

LIST = "un"
ADDRESS = "un@lists.test"
CATEGORY = "21"
UNSUB_URL = "https://lists.test/fg/unsubscribe"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"

STACK_OPTIONS = {"full": True, "redis_acl": True,
                 "dovecot_list_users": [(ADDRESS, LIST)]}

SUBSCRIBERS = ("alice@example.test", "carol@example.test",
               "dave@example.test")

# what the tests below find out, for the ones after them
seen = {}


def _post_to_list(stack, sender, title):
    """A post through Postfix, waited for until it was fanned out; its
    Message-ID."""
    msg = stack.make_message(sender, ADDRESS, title, "Hello, list.\n")
    posts = _stat(stack, LIST, "posts")
    stack.send_mail(sender, ADDRESS, msg)
    _wait_fanned_out(stack, LIST, posts + 1)
    return msg["Message-ID"]


def _unsub_url(stack, user, message_id):
    """The one-click URL of user's copy of the post, from the copy in
    user's mailbox."""
    got = stack.wait_mail(user, lambda m: m["Message-ID"] == message_id,
                          timeout=60)
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = got["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert url.startswith(UNSUB_URL + "/"), url
    return url


def _request(stack, method, url, body=None, content_type=FORM):
    """method on forumgated's listener with url's path: (status, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.webhook_port,
                                      timeout=30)
    headers = {}
    if body is not None:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, urlsplit(url).path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _state(stack, addr):
    return stack.redis_call("HGET", "fg:{%s}:subscribers" % LIST, addr)


def _token(stack, rcpt, expires, secret=None):
    """A token as fg-listmsg-token.c makes it (doc/list-mode.md)."""
    mac = hmac.new((secret or stack.secret).encode(),
                   ("unsub:%s.%d.%s" % (LIST, expires, rcpt)).encode(),
                   hashlib.sha256).hexdigest()[:32]
    addr = base64.urlsafe_b64encode(rcpt.encode()).decode().rstrip("=")
    return "u1.%s.%d.%s.%s" % (LIST, expires, addr, mac)


def _log(stack):
    return open(stack.log_path("forumgated"), errors="replace").read()


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_with_one_click(stack):
    """A list-mode list with three subscribers and list_unsubscribe_url;
    each subscriber's copy of a post carries a URL of its own."""
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "members", check=True)
    for addr in SUBSCRIBERS:
        stack.admin("subscribe", LIST, addr, check=True)
    stack.restart_bridge(list_unsubscribe_url=UNSUB_URL)
    mid = _post_to_list(stack, "alice@example.test",
                        "One-click %s" % uuid.uuid4().hex[:8])
    for user in SUBSCRIBERS:
        seen[user] = _unsub_url(stack, user, mid)
    assert len(set(seen.values())) == len(SUBSCRIBERS), seen


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_get_changes_nothing(stack):
    """A GET (a person, or a scanner following links) gets a page whose
    form POSTs the one-click body; carol stays subscribed."""
    status, page = _request(stack, "GET", seen["carol@example.test"])
    assert status == 200, (status, page)
    assert '<form method="post"' in page, page
    assert 'name="List-Unsubscribe" value="One-Click"' in page, page
    assert "carol@example.test" in page, page
    status, _ = _request(stack, "HEAD", seen["carol@example.test"])
    assert status == 200, status
    assert _state(stack, "carol@example.test") == "enabled"


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_bad_tokens_change_nothing(stack):
    """A changed MAC, another secret, an expired token, a mangled one and
    a POST without the one-click body: 4xx, carol stays subscribed, and
    the log never shows the MAC."""
    url = seen["carol@example.test"]
    base, token = url.rsplit("/", 1)
    mac = token.rsplit(".", 1)[1]
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    expired = _token(stack, "carol@example.test", int(time.time()) - 60)
    other = _token(stack, "carol@example.test", int(time.time()) + 3600,
                   secret="not-ours")
    for bad, status, text in ((forged, 403, "does not verify"),
                              (other, 403, "does not verify"),
                              (expired, 403, "expired"),
                              ("u1.un.x", 400, "not a token")):
        got, answer = _request(stack, "POST", base + "/" + bad, ONE_CLICK)
        assert got == status and text in answer, (bad, got, answer)
    got, answer = _request(stack, "POST", url, b"unsubscribe=yes")
    assert got == 400 and "One-Click" in answer, (got, answer)
    got, answer = _request(stack, "POST", url, b"x" * 20000)
    assert got == 413, (got, answer)
    got, _ = _request(stack, "PUT", url, ONE_CLICK)
    assert got == 405, got
    assert _state(stack, "carol@example.test") == "enabled"
    log = _log(stack)
    assert "unsubscribe: refused a request from 127.0.0.1" in log, \
        log[-3000:]
    assert mac not in log and forged.rsplit(".", 1)[1] not in log


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_one_click_unsubscribes(stack):
    """The one-click POST removes carol (urlencoded) and dave
    (multipart/form-data); a second POST answers 200, nothing changes;
    the next post goes to alice only."""
    serial = int(stack.redis_call("GET", "fg:{%s}:serial" % LIST) or 0)
    status, text = _request(stack, "POST", seen["carol@example.test"],
                            ONE_CLICK)
    assert status == 200 and "unsubscribed" in text, (status, text)
    assert _state(stack, "carol@example.test") is None
    boundary = "fgtest%s" % uuid.uuid4().hex
    multipart = ("--%s\r\nContent-Disposition: form-data; "
                 "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--%s--\r\n"
                 % (boundary, boundary)).encode()
    status, text = _request(stack, "POST", seen["dave@example.test"],
                            multipart, "multipart/form-data; boundary=%s"
                            % boundary)
    assert status == 200 and "unsubscribed" in text, (status, text)
    assert _state(stack, "dave@example.test") is None
    # each change counts, as forumgate unsubscribe's does
    assert int(stack.redis_call("GET", "fg:{%s}:serial" % LIST)) == \
        serial + 2
    status, text = _request(stack, "POST", seen["carol@example.test"],
                            ONE_CLICK)
    assert status == 200 and "not subscribed" in text, (status, text)
    assert _state(stack, "alice@example.test") == "enabled"
    log = _log(stack)
    for user in ("carol@example.test", "dave@example.test"):
        assert "unsubscribe: list=%s rcpt=<%s>: unsubscribed" % (LIST, user) \
            in log, log[-3000:]
    assert "unsubscribe: list=%s rcpt=<carol@example.test>: not a " \
        "subscriber" % LIST in log, log[-3000:]

    mid = _post_to_list(stack, "alice@example.test",
                        "After leaving %s" % uuid.uuid4().hex[:8])
    stack.wait_mail("alice@example.test",
                    lambda m: m["Message-ID"] == mid, timeout=60)
    wait_for(lambda: "message_id=<%s>: sent to the subscribers: "
             "recipients=1 sent=1" % mid.strip("<>") in _log(stack),
             timeout=60, what="the fan-out's log line")
    stack.wait_queue_empty()
    for user in ("carol@example.test", "dave@example.test"):
        assert not [m for m in stack.mailbox(user)
                    if m["Message-ID"] == mid], user
