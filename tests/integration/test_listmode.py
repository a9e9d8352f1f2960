"""List mode through the real stack: Postfix, Dovecot LMTP with the plugin
running the filter chain at the posting address, forumgate-policyd, the
bridge and the Discourse simulator.

The list-mode list `ml@lists.test` is a Dovecot user with
forumgate_list=ml (STACK_OPTIONS["dovecot_list_users"]). A subscriber's
post (the policy daemon counts a list-mode list's subscribers as
members) becomes a forum topic and an fg:{ml}:dist entry (the fan-out
that sends it is held off here: another daemon holds its lease); a
non-subscriber's post to the members-only list is refused at RCPT time
by the policy daemon and, delivered straight over LMTP (mail that did not pass the
policy daemon), refused by the chain's access step, named in Dovecot's
log and kept under "Not posted/rejected"; an Approved: passphrase admits
a post whose secret reaches neither the forum nor the dist entry; 1,000
subscribers are imported from a file and exported back.
"""

import json
import os
import smtplib
import uuid

from stack import SmtpError, requires, wait_for

LIST = "ml"
ADDRESS = "ml@lists.test"
CATEGORY = "9"

STACK_OPTIONS = {"full": True, "dovecot_list_users": [(ADDRESS, LIST)]}


def _uid():
    return uuid.uuid4().hex[:8]


def _topic(stack, title):
    for t in stack.forum_state()["topics"]:
        if t["title"] == title:
            return t
    return None


def _lmtp(stack, mail_from, msg):
    """Deliver msg to the list's posting address straight over LMTP, as
    mail that did not pass through Postfix and the policy daemon."""
    with smtplib.LMTP(stack.lmtp_socket) as lmtp:
        lmtp.ehlo("test.lists.test")
        lmtp.sendmail(mail_from, [ADDRESS], msg.as_bytes())


def _dist_entries(stack):
    """Every entry of fg:{ml}:dist as {field: value}."""
    reply = stack.redis_call("XRANGE", "fg:{%s}:dist" % LIST, "-", "+")
    out = []
    for _id, fields in reply or []:
        out.append({fields[i]: fields[i + 1]
                    for i in range(0, len(fields), 2)})
    return out


def _wait_log(stack, offsets, text, what):
    """Wait until Dovecot's log since offsets has text; return the log."""
    got = []

    def look():
        got[:] = [stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")]
        return text in got[0]

    wait_for(look, timeout=30, what=what)
    return got[0]


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_mode_defined(stack):
    """`list add --mode list` needs no bridge recipient; list show and
    lists show the mode; list set switches it; a subscriber is added."""
    # these tests read the entries of fg:{ml}:dist: "another daemon"
    # holds the list's fan-out lease, so forumgated's fan-out leaves
    # them (the fan-out itself: test_fanout.py)
    stack.redis_call("SET", "fg:{%s}:lease:dist" % LIST, "another-daemon",
                     "PX", 3600 * 1000)
    r = stack.admin("list", "add", LIST, "--mode", "list", "--address",
                    ADDRESS, "--category", CATEGORY, check=True)
    assert "mode=list" in r.stdout, r.stdout
    show = stack.admin("list", "show", LIST, check=True).stdout
    assert "mode: list" in show and "subscribers: 0" in show, show
    assert "%s mode=list" % LIST in \
        stack.admin("lists", check=True).stdout.splitlines()
    # the mirror list is listed as before
    assert stack.list_name in \
        stack.admin("lists", check=True).stdout.splitlines()
    stack.admin("list", "set", LIST, "mode", "mirror", check=True)
    assert "mode: mirror" in stack.admin("list", "show", LIST).stdout
    stack.admin("list", "set", LIST, "mode", "list", check=True)
    assert stack.admin("list", "set", LIST, "mode", "bogus").returncode == 64
    stack.admin("list", "set", LIST, "access", "members", check=True)
    stack.admin("subscribe", LIST, "Alice@Example.Test", check=True)
    stack.admin("subscribe", LIST, "bob@example.test", "--state", "nomail",
                check=True)
    out = stack.admin("subscribers", LIST, "--json", check=True).stdout
    assert sorted((s["address"], s["state"]) for s in json.loads(out)) == [
        ("alice@example.test", "enabled"), ("bob@example.test", "nomail")]
    # subscribers are not members: who may post stays apart
    assert stack.redis("SCARD", "fg:{%s}:members" % LIST) == "0"


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_subscriber_post_is_topic_and_dist(stack):
    """A subscriber (not a member) posts through Postfix: the policy
    daemon lets a list-mode list's subscriber pass, and the post becomes
    a forum topic and one fg:{ml}:dist entry carrying the message."""
    uid = _uid()
    title = "List mode post %s" % uid
    offsets = stack.log_offsets()
    msg = stack.make_message("alice@example.test", ADDRESS, title,
                             "Posted to a list-mode list, %s.\n" % uid)
    stack.send_mail("alice@example.test", ADDRESS, msg)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the list-mode post as a topic")
    assert "Posted to a list-mode list, %s." % uid in topic["posts"][0]["raw"]
    mid = msg["Message-ID"].strip("<>")
    entries = [e for e in _dist_entries(stack) if e["message_id"] == mid]
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["from"] == "alice@example.test" and e["subject"] == title, e
    assert e["envelope_from"] == "alice@example.test", e
    # the steps the post passed before the queue step added it
    assert e["chain"] == "getinfo,loopdetect,bounce,subscribers,access", e
    assert "Posted to a list-mode list, %s." % uid in e["message"]
    log = _wait_log(stack, offsets, "queued for the forum and the "
                    "subscribers", "the queue line in Dovecot's log")
    assert "list=%s" % LIST in log and mid in log, log[-2000:]


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_non_subscriber_refused(stack):
    """dave is neither a member nor a subscriber: the policy daemon
    refuses him at RCPT time; his post delivered over LMTP is refused by
    the access step, named in Dovecot's log, kept under Not
    posted/rejected, and reaches neither the forum nor the dist stream."""
    uid = _uid()
    title = "Not a subscriber %s" % uid
    msg = stack.make_message("dave@example.test", ADDRESS, title,
                             "Should not be posted, %s.\n" % uid)
    try:
        stack.send_mail("dave@example.test", ADDRESS, msg)
        raise AssertionError("the policy daemon let dave post")
    except SmtpError as e:
        assert e.code == 550 or str(e.code).startswith("5"), e
        assert "not a member" in e.text, e.text

    offsets = stack.log_offsets()
    dist_before = len(_dist_entries(stack))
    _lmtp(stack, "dave@example.test", msg)
    log = _wait_log(stack, offsets, "list=%s step=access reject: not a "
                    "member" % LIST, "the access step's refusal")
    assert "<dave@example.test> may not post to the %s list" % LIST in log
    kept = wait_for(lambda: [m for m in stack.not_posted(ADDRESS).get(
        "rejected", []) if title in str(m["Subject"])], timeout=30,
        what="the refused post kept under Not posted/rejected")
    assert len(kept) == 1
    assert _topic(stack, title) is None
    assert len(_dist_entries(stack)) == dist_before
    assert int(stack.redis("HGET", "fg:{%s}:not-posted" % LIST,
                           "rejected") or 0) >= 1


@requires("plugin", "forumsim", "bridge", "admin")
def test_moderated_subscriber_held(stack):
    """On a moderated list-mode list a subscriber's post delivered over
    LMTP (Postfix would put it in its hold queue at RCPT time) is held
    by the access step: logged, kept under Not posted/held, not posted,
    not distributed."""
    stack.admin("list", "set", LIST, "access", "moderated", check=True)
    uid = _uid()
    title = "Held post %s" % uid
    msg = stack.make_message("alice@example.test", ADDRESS, title,
                             "Waits for a moderator, %s.\n" % uid)
    offsets = stack.log_offsets()
    dist_before = len(_dist_entries(stack))
    try:
        _lmtp(stack, "alice@example.test", msg)
        log = _wait_log(stack, offsets, "list=%s step=access hold: the %s "
                        "list is moderated" % (LIST, LIST),
                        "the access step holding the post")
        assert "<alice@example.test> waits for a moderator" in log
        kept = wait_for(lambda: [m for m in stack.not_posted(ADDRESS).get(
            "held", []) if title in str(m["Subject"])], timeout=30,
            what="the held post under Not posted/held")
        assert len(kept) == 1
        assert _topic(stack, title) is None
        assert len(_dist_entries(stack)) == dist_before
    finally:
        stack.admin("list", "set", LIST, "access", "members", check=True)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_passphrase_admits_and_stays_secret(stack):
    """access passphrase: the policy daemon lets the post through at RCPT
    time, the chain admits it for its Approved: passphrase, a wrong
    passphrase is refused; the secret is in no forum post, no dist entry,
    no queue entry and no log line."""
    secret = "pass-%s" % uuid.uuid4().hex
    path = os.path.join(stack.dir, "ml.passphrase")
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o644)
    stack.admin("list", "set", LIST, "passphrase_file", path, check=True)
    stack.admin("list", "set", LIST, "access", "passphrase", check=True)
    show = stack.admin("list", "show", LIST, check=True).stdout
    assert "passphrase_file: %s" % path in show and secret not in show

    uid = _uid()
    title = "Approved post %s" % uid
    msg = stack.make_message("dave@example.test", ADDRESS,
                             "[approve:%s] %s" % (secret, title),
                             "Approved by passphrase, %s.\n" % uid,
                             headers={"Approved": secret})
    stack.send_mail("dave@example.test", ADDRESS, msg)
    topic = wait_for(lambda: _topic(stack, title), timeout=60,
                     what="the approved post as a topic")
    assert "Approved by passphrase, %s." % uid in topic["posts"][0]["raw"]
    mid = msg["Message-ID"].strip("<>")
    entries = [e for e in _dist_entries(stack) if e["message_id"] == mid]
    assert len(entries) == 1 and entries[0]["subject"] == title, entries
    assert "Approved:" not in entries[0]["message"]

    wrong = stack.make_message("dave@example.test", ADDRESS,
                               "Wrong phrase %s" % uid, "No.\n",
                               headers={"Approved": secret + "x"})
    offsets = stack.log_offsets()
    stack.send_mail("dave@example.test", ADDRESS, wrong)
    _wait_log(stack, offsets, "list=%s step=access reject: wrong "
              "passphrase" % LIST, "the wrong passphrase refused")

    assert secret not in json.dumps(stack.forum_state())
    assert secret not in json.dumps(_dist_entries(stack))
    assert secret not in stack.redis("XRANGE", "fg:{%s}:in" % LIST, "-", "+")
    for name in ("dovecot", "bridge", "policyd"):
        p = stack.log_path(name)
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                assert secret not in f.read(), name
    stack.admin("list", "set", LIST, "access", "members", check=True)


@requires("admin")
def test_import_export_round_trip(stack):
    """1,000 subscribers from a file in Mailman's and bare forms are
    imported and exported back; a file with bad lines is refused whole,
    naming each line, unless --partial; mlmmj's subscribers.d imports."""
    lst = "imp"
    stack.admin("list", "add", lst, "--mode", "list", "--address",
                "imp@lists.test", check=True)
    addrs = ["member%04d@example.org" % i for i in range(1000)]
    path = os.path.join(stack.dir, "members.txt")
    with open(path, "w") as f:
        f.write("# mailman members imp\n\n")
        for i, a in enumerate(addrs):
            f.write("Member %d <%s>\n" % (i, a.upper()) if i % 2 else
                    a + "\n")
    r = stack.admin("subscribers", "import", lst, path, check=True)
    assert "1000 addresses read, 1000 added" in r.stdout, r.stdout
    assert "subscribers: 1000" in stack.admin("list", "show", lst).stdout
    out = stack.admin("subscribers", "export", lst, check=True).stdout
    assert sorted(out.split()) == addrs
    js = json.loads(stack.admin("subscribers", "export", lst, "--json",
                                check=True).stdout)
    assert sorted(s["address"] for s in js) == addrs
    assert {s["state"] for s in js} == {"enabled"}
    # the export imports again as the same set
    again = os.path.join(stack.dir, "export.txt")
    with open(again, "w") as f:
        f.write(out)
    r = stack.admin("subscribers", "import", lst, again, check=True)
    assert "1000 addresses read, 0 added" in r.stdout, r.stdout

    bad = os.path.join(stack.dir, "bad.txt")
    with open(bad, "w") as f:
        f.write("new1@example.org\nnot an address\nnew2@example.org\n"
                "a@b.example, c@d.example\n")
    r = stack.admin("subscribers", "import", lst, bad)
    assert r.returncode == 65, r
    assert "bad.txt:2:" in r.stderr and "bad.txt:4:" in r.stderr, r.stderr
    assert "nothing imported" in r.stderr
    assert stack.redis("HLEN", "fg:{%s}:subscribers" % lst) == "1000"
    r = stack.admin("subscribers", "import", lst, bad, "--partial",
                    check=True)
    assert "2 added" in r.stdout, r.stdout
    assert stack.redis("HLEN", "fg:{%s}:subscribers" % lst) == "1002"

    subdir = os.path.join(stack.dir, "subscribers.d")
    os.makedirs(subdir)
    for letter, who in (("x", "xena@example.org"), ("y", "yann@example.org")):
        with open(os.path.join(subdir, letter), "w") as f:
            f.write(who + "\n")
    r = stack.admin("subscribers", "import", lst, subdir, check=True)
    assert "2 added" in r.stdout, r.stdout
    assert stack.redis("HGET", "fg:{%s}:subscribers" % lst,
                       "yann@example.org") == "enabled"
    stack.admin("unsubscribe", lst, "yann@example.org", check=True)
    assert stack.admin("unsubscribe", lst,
                       "yann@example.org").returncode == 69
