"""Forum posts the list manager refused: a forum post that the real
mlmmj list denies (an access rule) or holds for a moderator comes back
to the bridge as mlmmj's notice; the plugin records it, `forumgate
status` and `forumgate refused` show it, the notice is not posted, and
with refused_notify = pm the author gets a private message on the
forum. A held post that the moderator releases comes through the list
and is no longer outstanding.

The tests share one stack and run in file order.
"""

import os
import re
import socket
import threading
import uuid

from stack import requires, wait_for
from test_inbound import _configure

STACK_OPTIONS = {"full": True}

state = {}


def _uid():
    return uuid.uuid4().hex[:8]


def _control(stack, name, value):
    """Write an mlmmj control file (as the mail user owns the list)."""
    path = os.path.join(stack.list_dir, "control", name)
    with open(path, "w") as f:
        f.write(value)
    os.chown(path, stack.mail_uid, stack.mail_gid)


def _refused(stack):
    return stack.redis_call("XRANGE", "fg:{forum}:refused", "-", "+")


def _fields(entry):
    flat = entry[1]
    return dict(zip(flat[0::2], flat[1::2]))


def _posts_with(stack, text):
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if text in p["raw"]]


def _post_refused(stack, word):
    """A forum user posts a topic whose subject has `word` in it; the
    fields of its refusal once recorded."""
    uid = _uid()
    title = "Please %s %s from the forum" % (word, uid)
    stack.forum_topic(title, "A forum post the list looks at, %s." % uid,
                      username="erin_web", name="Erin Web",
                      category=int(stack.list_category))

    def recorded():
        return [e for e in _refused(stack)
                if _fields(e).get("subject", "").endswith(title)] or None
    entry = wait_for(recorded, timeout=60,
                     what="the refusal in fg:{forum}:refused")[0]
    return title, _fields(entry)


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_denied_post_is_recorded(stack):
    """mlmmj denies a forum post by an access rule and sends its
    deny-post notice (the post attached) to the bridge address: the
    refusal is recorded with mlmmj's reason and shown by status."""
    _control(stack, "access", "deny ^Subject:.*refuse-me\n"
             "moderate ^Subject:.*hold-me\nallow\n")
    title, f = _post_refused(stack, "refuse-me")
    assert f["kind"] == "rejected", f
    assert "access rule" in f["reason"], f
    assert f["message_id"].startswith("fg.forum."), f
    assert int(f["post_id"]) > 0, f
    topic_id, post_number = f["message_id"].split(".")[2:4]
    assert (f["topic_id"], f["post_number"]) == (topic_id, post_number), f
    state["rejected"] = f

    counts = stack.redis_call("HGETALL", "fg:{forum}:refused-count")
    assert dict(zip(counts[0::2], counts[1::2])).get("rejected") == "1"
    # the notice is kept, not posted
    wait_for(lambda: "refusal" in stack.not_posted(stack.bridge_address),
             timeout=30, what="mlmmj's notice in the mailbox")
    assert not _posts_with(stack, "unable to be delivered")
    assert not any(t["title"].startswith("Post to")
                   for t in stack.forum_state()["topics"])

    r = stack.admin("status")
    assert r.returncode == 0, r.stderr
    assert "refused: held=0 rejected=1 bounced=0" in r.stdout, r.stdout
    # its line: post id, subject, kind and the list manager's reason
    assert re.search(r'post_id=%s "[^"\n]*refuse-me[^"\n]*" rejected: '
                     r'because of an access rule' % f["post_id"], r.stdout), \
        r.stdout

    r = stack.admin("refused", "forum")
    assert r.returncode == 0, r.stderr
    assert f["post_id"] in r.stdout and "access rule" in r.stdout, r.stdout


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_held_post_then_released(stack):
    """mlmmj holds a forum post for its moderator (an access rule with
    "moderate") and tells the poster at its envelope sender, the post's
    VERP address (wait-post, control/notifymod): recorded as held, still held in status; the moderator releases it,
    the post comes through the list to the bridge, and status counts it
    as approved, no longer held."""
    _control(stack, "moderators", "carol@example.test\n")
    _control(stack, "notifymod", "")
    title, f = _post_refused(stack, "hold-me")
    assert f["kind"] == "held", f
    assert int(f["post_id"]) > 0, f
    state["held"] = f
    # kept with the bounces to the VERP address, as before
    wait_for(lambda: any(str(m["Subject"]).startswith("Awaiting release")
                         for m in stack.not_posted(stack.bridge_address)
                         .get("bounce", [])),
             timeout=30, what="mlmmj's wait-post notice in the mailbox")
    r = stack.admin("status")
    assert "still_held=1" in r.stdout, r.stdout

    # the moderator's copy names the release address in Reply-To
    mod = stack.wait_mail("carol@example.test",
                          lambda m: title in str(m.get("Subject", "")) or
                          title in m.as_string(), timeout=30)
    release = mod["Reply-To"].strip().strip("<>")
    assert "+release-" in release or "+moderate-" in release, release
    msg = stack.make_message("carol@example.test", release, "release",
                             "ok\n")
    stack.send_mail("carol@example.test", release, msg)

    def approved():
        counts = stack.redis_call("HGETALL", "fg:{forum}:refused-count")
        return dict(zip(counts[0::2], counts[1::2])).get("approved")
    assert wait_for(approved, timeout=60,
                    what="the released post to come through") == "1"
    r = stack.admin("status")
    assert "still_held=0" in r.stdout and "approved=1" in r.stdout, r.stdout
    assert "held=1" in r.stdout, r.stdout


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_author_told_in_private_message(stack):
    """With refused_notify = pm, forumgated sends the author of each
    refused post one private message on the forum, as the bridge's
    user: which post, which list, what happened, mlmmj's reason in a
    code block. Each refusal is told once, also across a restart; a
    held post released since is not told about."""
    assert "rejected" in state and "held" in state, "needs the tests before"
    _configure(stack, refused_notify="pm")
    title, f = _post_refused(stack, "refuse-me")
    assert f["kind"] == "rejected", f

    def told(record):
        url = "/t/%s" % record["topic_id"]
        pms = [pm for pm in stack.forum_state()["private_messages"]
               if url in pm["raw"]]
        return pms or None
    pm = wait_for(lambda: told(f), timeout=60,
                  what="the private message to the author")
    assert len(pm) == 1, pm
    pm = pm[0]
    assert pm["username"] == stack.forum_api_username, pm
    assert pm["target_recipients"] == ["erin_web"], pm
    assert pm["title"].startswith("Your post did not reach the mailing "
                                  "list"), pm
    assert "`%s` rejected your forum post" % stack.list_address in \
        pm["raw"], pm["raw"]
    # the list manager's words only as code
    assert "\n    because of an access rule set up by the list " \
        "administrator.\n" in pm["raw"], pm["raw"]
    assert "\n    Subject: [forum] %s\n" % title in pm["raw"], pm["raw"]

    # the refusals recorded before the setting was on are looked at as
    # well (they are less than a day old): the first rejection is told;
    # the held post was released since, so nobody is told about the hold
    wait_for(lambda: told(state["rejected"]), timeout=60,
             what="the private message about the first rejection")
    last = stack.redis_call("XREVRANGE", "fg:{forum}:refused", "+", "-",
                            "COUNT", "1")[0][0]
    wait_for(lambda: stack.redis_call("GET", "fg:{forum}:refused-notified")
             == last, timeout=30, what="the notified mark at the newest")
    assert told(state["held"]) is None
    assert "held, and approved since" in stack.log_tail("forumgated", 200)

    # a restart tells nobody again
    stack.daemon_stop("bridge")
    stack.daemon_start("bridge")
    _, again = _post_refused(stack, "refuse-me")
    wait_for(lambda: told(again), timeout=60,
             what="the private message about the newest refusal")
    pms = stack.forum_state()["private_messages"]
    assert len(pms) == 3, pms

    # the forum unavailable when the author is to be told: the refusal
    # is put back and told after the backoff, once
    stack.forum_fail("503", count=2)
    _, down = _post_refused(stack, "refuse-me")
    wait_for(lambda: told(down), timeout=60,
             what="the private message after the forum's outage")
    assert len(told(down)) == 1
    assert "telling the author failed" in \
        stack.log_tail("forumgated", 200)
    sim = stack.forum_state()
    assert len(sim["private_messages"]) == 4
    assert not sim["violations"], sim["violations"]
    assert not sim["response_errors"], sim["response_errors"]


def _refusing_lmtp(path, reply):
    """An LMTP server on the unix socket path that refuses every
    recipient with reply; close the returned socket to stop it."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(4)

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.write(b"220 later LMTP\r\n")
                f.flush()
                for line in f:
                    verb = line[:4].upper()
                    if verb == b"LHLO":
                        f.write(b"250-later\r\n250 PIPELINING\r\n")
                    elif verb in (b"MAIL", b"RSET", b"NOOP"):
                        f.write(b"250 2.0.0 ok\r\n")
                    elif verb == b"RCPT":
                        f.write(reply.encode() + b"\r\n")
                    elif verb == b"QUIT":
                        f.write(b"221 2.0.0 bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"503 5.5.1 no\r\n")
                    f.flush()
    threading.Thread(target=serve, daemon=True).start()
    return srv


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_bounce_to_verp_is_recorded(stack):
    """The list's address takes no mail: Postfix accepts the forum post,
    the next hop refuses it (an LMTP 550), and Postfix bounces it with a
    real delivery status report to the post's VERP return path. The
    plugin records it as bounced with the diagnostic, and
    (refused_notify = pm since the test before) the author is told that
    the post did not reach the list."""
    from stack import BRIDGE_ADDRESS, LIST_ADDRESS, LIST_CATEGORY, LIST_NAME

    def list_address(address):
        stack.admin("list", "add", LIST_NAME, "--address", address,
                    "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                    LIST_CATEGORY, "--force", check=True)
        stack.daemon_stop("bridge")
        stack.daemon_start("bridge")
    srv = _refusing_lmtp(stack.later_lmtp_socket, "550 5.1.1 <%s>: this "
                         "mailbox takes no forum posts" % stack.later_address)
    list_address(stack.later_address)
    try:
        title, f = _post_refused(stack, "bounce-me")
    finally:
        srv.close()
        os.unlink(stack.later_lmtp_socket)
        list_address(LIST_ADDRESS)
    assert f["kind"] == "bounced", f
    assert "this mailbox takes no forum posts" in f["reason"], f
    assert int(f["post_id"]) > 0 and f["message_id"].startswith("fg.forum.")
    assert f["from"].lower().startswith("mailer-daemon@"), f
    # kept with the bounces, as before
    wait_for(lambda: any("Undelivered" in str(m["Subject"])
                         for m in stack.not_posted(stack.bridge_address)
                         .get("bounce", [])),
             timeout=30, what="the bounce in the mailbox")
    r = stack.admin("status", check=True)
    assert "bounced=1" in r.stdout, r.stdout

    def told():
        return [pm for pm in stack.forum_state()["private_messages"]
                if "/t/%s" % f["topic_id"] in pm["raw"]] or None
    pm = wait_for(told, timeout=60, what="the author told of the bounce")
    assert len(pm) == 1 and "could not be delivered to the mailing list" \
        in pm[0]["raw"], pm
