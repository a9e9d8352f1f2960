"""Mirror mode behind real list managers: GNU Mailman 3 (mm@lists.test)
and mlmmj (forum@lists.test), each with the bridge as a subscriber.

What a list member writes becomes a forum post with the author's text
only (no footer the list manager added, no quoted parent); what the
list manager itself sends the bridge subscriber (welcome, probe,
rejection notice), and mail sent straight to the bridge address, is not
posted but kept in the bridge mailbox's "Not posted/..." folders with
the reason in the log; a forum post the list rejects shows up in
`forumgate status`; `forumgate member sync` takes a list's members from
Mailman's REST API and from mlmmj's directory.
"""

import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import uuid

from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "mailman": True}
REQUIRES = ("plugin", "bridge", "admin", "forumsim", "policyd")

# Mailman 3's footer (its default list:member:regular:footer template)
MAILMAN_FOOTER = ("_______________________________________________",
                  "mailing list --", "To unsubscribe send an email to")
# the footer the stack's mlmmj list gets in test_mlmmj_footer
MLMMJ_FOOTER = ("_______________________________________________\n"
                "forum mailing list -- forum@lists.test\n"
                "To unsubscribe send a mail to forum+unsubscribe@lists.test\n")
MLMMJ_FOOTER_LINES = ("forum mailing list -- forum@lists.test",
                      "forum+unsubscribe@lists.test")
TIMEOUT = 120


def _uid():
    return uuid.uuid4().hex[:10]


def _lists(stack):
    """(list name, posting address, bridge recipient, footer lines)"""
    return [("mm", stack.mm_list_address, stack.mm_bridge_address,
             MAILMAN_FOOTER),
            ("forum", stack.list_address, stack.bridge_address,
             MLMMJ_FOOTER_LINES)]


def _posts(stack, marker):
    """(topic, post) of every forum post whose raw holds `marker`."""
    return [(t, p) for t in stack.forum_state()["topics"]
            for p in t["posts"] if marker in p["raw"]]


def _topics_titled(stack, text):
    return [t for t in stack.forum_state()["topics"] if text in t["title"]]


def _send_post(stack, lst, bridge, sender, address, msg, mark):
    """Send msg to the list and wait until the bridge has queued its
    copy and finished the list's queue; (topic, post) of the one forum
    post made from it (found by `mark` in its text or topic title)."""
    stack.send_mail(sender, address, msg)
    msgid = msg["Message-ID"].strip("<>")
    base = "fg:{%s}:in-seen" % lst
    wait_for(lambda: stack.day_hget(base, msgid) != "" or
             _kept(stack, bridge,
                   lambda m: m["Message-ID"] == msg["Message-ID"]),
             timeout=TIMEOUT, what="the bridge to receive %s" % msgid)
    _idle(stack, lst)
    found = [(t, p) for t in stack.forum_state()["topics"]
             for p in t["posts"]
             if mark in p["raw"] or (p["post_number"] == 1 and
                                     mark in t["title"])]
    assert len(found) == 1, "%s posted %d times: %r" % (msgid, len(found),
                                                         found)
    return found[0]


def _each_list(stack, check):
    """check(list, address, bridge, footer) for each list; every list's
    failure is reported, not only the first."""
    failures = []
    for lst, address, bridge, footer in _lists(stack):
        try:
            check(lst, address, bridge, footer)
        except (AssertionError, TimeoutError) as e:
            failures.append("%s: %s" % (lst, e))
    assert not failures, "\n".join(failures)


def _idle(stack, lst):
    """Wait until the bridge has done everything queued for `lst`."""
    keys = ["fg:{%s}:%s" % (lst, q) for q in ("in", "out")]
    wait_for(lambda: all(stack.redis_call("XLEN", k) == 0 for k in keys),
             timeout=TIMEOUT, what="the bridge to finish list %s" % lst,
             interval=0.1)


def _kept(stack, user, predicate):
    """(folder, message) of the first message of the user's mailbox (INBOX
    or a "Not posted/REASON" folder) that satisfies predicate, or None."""
    for m in stack.mailbox(user):
        if predicate(m):
            return ("INBOX", m)
    for reason, msgs in stack.not_posted(user).items():
        for m in msgs:
            if predicate(m):
                return ("Not posted/" + reason, m)
    return None


def _subject_has(text):
    return lambda m: text in str(m.get("Subject", ""))


def _assert_not_posted(stack, lst, user, predicate, what, offsets,
                       title_text):
    """Wait until the message `what` (matched by predicate) is either kept
    in the user's mailbox or posted; it must be kept in a "Not posted"
    folder, with a log line giving the reason, and not be on the forum."""
    def settled():
        return _kept(stack, user, predicate) or \
            _topics_titled(stack, title_text)
    wait_for(settled, timeout=TIMEOUT,
             what="%s kept in %s's mailbox or posted" % (what, user))
    _idle(stack, lst)
    assert not _topics_titled(stack, title_text), \
        "%s was posted: %r" % (what, _topics_titled(stack, title_text))
    kept = _kept(stack, user, predicate)
    assert kept is not None, "%s is neither posted nor kept" % what
    folder, _ = kept
    assert folder.startswith("Not posted/"), \
        "%s kept in %s, not in a Not posted folder" % (what, folder)
    reason = folder.split("/", 1)[1]
    log = stack.logs_since(offsets, lines=10 ** 6).get("dovecot", "")
    lines = [ln for ln in log.splitlines()
             if "lmtp(%s)" % user in ln and "forumgate:" in ln and
             "not posted: %s " % reason in ln]
    assert lines, "no log line with the reason for %s in %s:\n%s" \
        % (what, folder, log[-3000:])


def _assert_author_text(raw, wanted, footer, unwanted=()):
    assert all(w in raw for w in wanted), (wanted, raw)
    for f in footer:
        assert f not in raw, "list footer %r in the post:\n%s" % (f, raw)
    for u in unwanted:
        assert u not in raw, "%r in the post:\n%s" % (u, raw)


# -- setup of the lists -------------------------------------------------------

def test_mlmmj_footer(stack):
    """The stack's mlmmj list appends a footer from here on, declared to
    forumgate (the Mailman list has Mailman's standard one)."""
    path = os.path.join(stack.list_dir, "control", "footer")
    with open(path, "w") as f:
        f.write(MLMMJ_FOOTER)
    os.chown(path, stack.mail_uid, stack.mail_gid)
    # mlmmj has no footer of its own to recognise: the list declares it
    stack.admin("list", "set", "forum", "footer", "@" + path, check=True)
    msg = stack.make_message("alice@example.test", stack.list_address,
                             "footer check", "Footer check %s.\n" % _uid())
    stack.send_mail("alice@example.test", stack.list_address, msg)
    got = stack.wait_mail("bob@example.test",
                          lambda m: m["Message-ID"] == msg["Message-ID"],
                          timeout=TIMEOUT)
    assert MLMMJ_FOOTER_LINES[0] in got.get_content()


# -- what members write ---------------------------------------------------------

THREADS = {}


@requires("plugin", "bridge", "forumsim")
def test_plain_post_without_footer(stack):
    """A plain text post through each list: the forum post is the
    author's text, without the list's footer, in the list's category."""
    def check(lst, address, bridge, footer):
        mark = _uid()
        text = "A plain post to %s, marker %s.\n\nSecond paragraph " \
            "of the author." % (lst, mark)
        msg = stack.make_message("Alice Example <alice@example.test>",
                                 address, "Plain %s %s" % (lst, mark),
                                 text + "\n")
        topic, post = _send_post(stack, lst, bridge, "alice@example.test", address,
                                 msg, mark)
        THREADS[lst] = {"msg": msg, "text": text, "mark": mark,
                        "topic_id": topic["id"]}
        _assert_author_text(post["raw"], ["Second paragraph of the author."],
                            footer)
        category = int(stack.mm_list_category if lst == "mm"
                       else stack.list_category)
        assert topic["category_id"] == category, (lst, topic)
        # the subject tag ("[Mm] ", "[forum] ") is not in the title
        assert topic["title"].startswith("Plain"), topic["title"]
    _each_list(stack, check)


@requires("plugin", "bridge", "forumsim")
def test_html_only_post(stack):
    """An HTML-only post (Mailman makes it multipart/mixed: the text/html
    part, then its footer as a text/plain part): the post is the
    author's text, not the footer."""
    def check(lst, address, bridge, footer):
        mark = _uid()
        html = ("<html><body><p>HTML only post to %s, marker %s.</p>"
                "<p>The author's <b>second</b> paragraph.</p></body></html>"
                % (lst, mark))
        # a text/html part alone, as HTML-only mailers send
        msg = stack.make_message("Bob Example <bob@example.test>", address,
                                 "HTML only %s %s" % (lst, mark), "")
        msg.set_content(html, subtype="html")
        assert msg.get_content_type() == "text/html"
        _, post = _send_post(stack, lst, bridge, "bob@example.test", address, msg,
                             mark)
        _assert_author_text(post["raw"], ["HTML only post to", "second",
                                          "paragraph"], footer)
    _each_list(stack, check)


@requires("plugin", "bridge", "forumsim")
def test_reply_with_quote(stack):
    """A reply that quotes its parent below an attribution line: the
    post is the answer alone, in the parent's topic."""
    def check(lst, address, bridge, footer):
        parent = THREADS.get(lst)
        assert parent, "needs test_plain_post_without_footer"
        mark = _uid()
        quoted = "".join("> " + line + "\n" if line else ">\n"
                         for line in parent["text"].splitlines())
        body = ("Answer to the plain post, marker %s.\n\n"
                "On Mon, 7 Dec 2026 at 10:00, Alice Example "
                "<alice@example.test> wrote:\n%s" % (mark, quoted))
        pmsg = parent["msg"]
        msg = stack.make_message("Carol Example <carol@example.test>",
                                 address, "Re: " + str(pmsg["Subject"]),
                                 body, in_reply_to=pmsg["Message-ID"],
                                 references=pmsg["Message-ID"])
        topic, post = _send_post(stack, lst, bridge, "carol@example.test", address,
                                 msg, mark)
        assert topic["id"] == parent["topic_id"], (lst, topic["id"])
        _assert_author_text(post["raw"], ["Answer to the plain post"],
                            footer, unwanted=(parent["mark"],
                                              "Second paragraph of the"))
    _each_list(stack, check)


# -- what the list manager sends the bridge ------------------------------------

@requires("plugin", "bridge", "forumsim")
def test_mailman_welcome_not_posted(stack):
    """Mailman's welcome message to the bridge subscriber is kept, not
    posted."""
    offsets = stack.log_offsets()
    assert stack.mailman_unsubscribe(stack.mm_bridge_address)
    stack.mailman_subscribe(stack.mm_bridge_address, welcome=True)
    _assert_not_posted(stack, "mm", stack.mm_bridge_address,
                       _subject_has("Welcome to"), "Mailman's welcome",
                       offsets, "Welcome to")


@requires("plugin", "bridge", "forumsim")
def test_mailman_probe_not_posted(stack):
    """Mailman's bounce probe (a VERP probe from mm-bounces+TOKEN@) to
    the bridge subscriber is kept, not posted."""
    offsets = stack.log_offsets()
    stack.mailman_probe(stack.mm_bridge_address)
    _assert_not_posted(stack, "mm", stack.mm_bridge_address,
                       _subject_has("probe message"), "Mailman's probe",
                       offsets, "probe message")


@requires("plugin", "bridge", "forumsim")
def test_mail_straight_to_bridge_not_posted(stack):
    """Mail sent straight to the bridge address (not through the list),
    by a non-member and by a member, is kept, not posted."""
    def check(lst, address, bridge, footer):
        for sender in ("dave@example.test", "alice@example.test"):
            offsets = stack.log_offsets()
            mark = _uid()
            subject = "Straight to the bridge %s" % mark
            msg = stack.make_message(sender, bridge, subject,
                                     "Publish this, %s.\n" % mark)
            stack.send_mail(sender, bridge, msg)
            _assert_not_posted(stack, lst, bridge, _subject_has(mark),
                               "mail from %s straight to %s" % (sender,
                                                               bridge),
                               offsets, mark)
    _each_list(stack, check)




@requires("plugin", "bridge", "forumsim")
def test_mailman_rejection_notice_not_posted(stack):
    """A forum post mailed to the Mailman list is held (the bridge's
    address is moderated) and rejected by the moderator: Mailman's
    notices to the bridge are kept, not posted."""
    member = stack.mailman_member(stack.bridge_address)
    assert member is not None, "the bridge's address is no Mailman member"
    stack.mailman_rest("PATCH", "/3.1/members/%s" % member["member_id"],
                       {"moderation_action": "hold"})
    offsets = stack.log_offsets()
    mark = _uid()
    title = "Forum topic to be rejected %s" % mark
    stack.forum_topic(title, "A forum post the list will refuse, %s." % mark,
                      username="carol_web", name="Carol Web",
                      category=int(stack.mm_list_category))
    held = wait_for(lambda: [h for h in stack.mailman_held()
                             if mark in h.get("subject", "")],
                    timeout=TIMEOUT, what="the forum post held by Mailman")
    stack.mailman_rest("POST", "/3.1/lists/%s/held/%s"
                       % (stack.mm_list_id, held[0]["request_id"]),
                       {"action": "reject",
                        "comment": "Off topic for this list"})
    stack.mailman_rest("PATCH", "/3.1/members/%s" % member["member_id"],
                       {"moderation_action": "defer"})
    # Mailman's notice goes to the post's From: the bridge_address
    # (Subject: Request to mailing list "Mm" rejected)
    _assert_not_posted(stack, "forum", stack.bridge_address,
                       _subject_has("Request to mailing list"),
                       "Mailman's rejection notice", offsets,
                       "Request to mailing list")


@requires("admin", "bridge")
def test_refused_forum_post_in_status(stack):
    """A forum post that Mailman rejects (the bridge's membership set to
    reject: Mailman bounces the post back with the post attached) shows
    up in `forumgate status`, with its subject and the list's reason.
    (The moderator's later refusal of a held post names the post by its
    subject alone: see doc/forum-to-list.md.)"""
    member = stack.mailman_member(stack.bridge_address)
    assert member is not None, "the bridge's address is no Mailman member"
    stack.mailman_rest("PATCH", "/3.1/members/%s" % member["member_id"],
                       {"moderation_action": "reject"})
    last = []
    try:
        mark = _uid()
        title = "Forum topic the list rejects %s" % mark
        stack.forum_topic(title, "A forum post the list rejects, %s." % mark,
                          username="carol_web", name="Carol Web",
                          category=int(stack.mm_list_category))

        def shown():
            r = stack.admin("status")
            last[:] = [r.stdout + r.stderr]
            return [line for line in r.stdout.splitlines()
                    if mark in line and "rejected" in line]
        try:
            wait_for(shown, timeout=TIMEOUT, what="the refused post in status",
                     interval=0.5)
        except TimeoutError as e:
            raise AssertionError("forumgate status does not show the "
                                 "refused post %s (%s):\n%s"
                                 % (mark, e, last[0])) from e
        # counted for the Mailman list, where the post went
        assert stack.redis("HGET", "fg:{mm}:refused-count", "rejected") \
            not in (None, "", "0")
        assert not _posts(stack, "Request to mailing list")
    finally:
        stack.mailman_rest("PATCH", "/3.1/members/%s" % member["member_id"],
                           {"moderation_action": "defer"})


# -- member sync ------------------------------------------------------------------

def _members(stack, lst):
    return sorted(stack.redis("SMEMBERS", "fg:{%s}:members" % lst).split())


def _serial(stack, lst):
    return int(stack.redis("GET", "fg:{%s}:serial" % lst) or 0)


def _sync(stack, lst, *args):
    return stack.admin("member", "sync", lst, *args)


def _rcpt(stack, sender, rcpt):
    """The RCPT answer (code, text) for sender -> rcpt; nothing is sent."""
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as s:
        s.ehlo("client.example.test")
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        s.rset()
    return code, text.decode("utf-8", "replace")


@requires("admin", "policyd")
def test_member_sync_mailman(stack):
    """member sync reads Mailman's roster over REST: a member Mailman
    gained is added, one it lost is removed (and the policy daemon
    follows), a second sync changes nothing."""
    r = stack.admin("list", "set", "mm", "roster", "mailman3")
    assert r.returncode == 0, r.stderr
    assert stack.redis("HGET", "fg:{mm}:config", "roster") == "mailman3"
    assert "roster: mailman3" in stack.admin("list", "show", "mm").stdout
    # dave joins the Mailman list (mixed case, as people type it), carol
    # leaves it
    stack.mailman_subscribe("Dave@Example.TEST")
    assert stack.mailman_unsubscribe("carol@example.test")
    assert _rcpt(stack, "dave@example.test", stack.mm_list_address)[0] >= 500
    before = _serial(stack, "mm")
    r = _sync(stack, "mm")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "1 added, 1 removed" in r.stdout, r.stdout
    assert "+ dave@example.test" in r.stdout.splitlines(), r.stdout
    assert "- carol@example.test" in r.stdout.splitlines(), r.stdout
    assert _members(stack, "mm") == sorted([
        "alice@example.test", "bob@example.test", "dave@example.test",
        stack.mm_bridge_address, stack.bridge_address]), _members(stack, "mm")
    assert _serial(stack, "mm") == before + 1
    # the policy daemon reloads: dave may post now, carol may not
    wait_for(lambda: _rcpt(stack, "dave@example.test",
                           stack.mm_list_address)[0] == 250,
             timeout=30, what="policyd to let dave post")
    assert _rcpt(stack, "carol@example.test",
                 stack.mm_list_address)[0] >= 500
    r = _sync(stack, "mm")
    assert r.returncode == 0 and "0 added, 0 removed" in r.stdout, r.stdout
    assert _serial(stack, "mm") == before + 1


@requires("admin")
def test_member_sync_mailman_errors(stack):
    """Wrong REST credentials, or a list Mailman does not have: a clear
    error and nothing changed."""
    members, serial = _members(stack, "mm"), _serial(stack, "mm")
    tmp = tempfile.mkdtemp(prefix="fg-sync-", dir=stack.dir)
    try:
        pw = os.path.join(tmp, "pw")
        with open(pw, "w") as f:
            f.write("wrong-password\n")
        conf = os.path.join(tmp, "forumgate.conf")
        with open(stack.conf_path) as f:
            text = f.read()
        text = re.sub(r"(?m)^mailman_rest_password_file = .*$",
                      "mailman_rest_password_file = " + pw, text)
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([stack.binaries["admin"], "-c", conf, "member",
                            "sync", "mm"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 75, (r.returncode, r.stdout, r.stderr)
        assert "credentials" in r.stderr and "nothing changed" in r.stderr, \
            r.stderr
        assert "wrong-password" not in r.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stack.admin("list", "set", "mm", "roster", "mailman3:nosuch.lists.test",
                check=True)
    r = _sync(stack, "mm")
    assert r.returncode == 75, (r.returncode, r.stdout, r.stderr)
    assert "no such list" in r.stderr, r.stderr
    stack.admin("list", "set", "mm", "roster", "mailman3", check=True)
    assert _members(stack, "mm") == members
    assert _serial(stack, "mm") == serial + 2     # the two list set


@requires("admin")
def test_member_sync_mailman_pages(stack):
    """A roster longer than one REST page (500 members) is read whole."""
    extra = ["m%03d@members.example.test" % i for i in range(620)]
    stack.mailman("addmembers", "-W", "-", stack.mm_list_address,
                  input="\n".join(extra) + "\n", check=True)
    before = set(_members(stack, "mm"))
    r = _sync(stack, "mm")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "620 added, 0 removed" in r.stdout, r.stdout.splitlines()[0]
    total = int(stack.mailman_rest(
        "GET", "/3.1/lists/%s/roster/member?count=1&page=1"
        % stack.mm_list_id)["total_size"])
    assert total == len(before) + 620, total
    assert set(_members(stack, "mm")) == before | set(extra)


@requires("admin", "policyd")
def test_member_sync_mlmmj(stack):
    """member sync reads the mlmmj list directory: subscribers, digest
    and no-mail subscribers are members; one who left is removed."""
    r = stack.admin("list", "set", "forum", "roster",
                    "mlmmj:" + stack.list_dir)
    assert r.returncode == 0, r.stderr
    r = stack.mlmmj("sub", "-a", "dave@example.test", "-n", "-f", "-q", "-s")
    assert r.returncode == 0, r.stderr
    r = stack.mlmmj("sub", "-a", "Eve@Example.TEST", "-d", "-f", "-q", "-s")
    assert r.returncode == 0, r.stderr
    stack.mlmmj_unsubscribe("bob@example.test")
    r = _sync(stack, "forum")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "2 added, 1 removed" in r.stdout, r.stdout
    assert _members(stack, "forum") == sorted([
        "alice@example.test", "carol@example.test", "dave@example.test",
        "eve@example.test", stack.bridge_address]), _members(stack, "forum")
    wait_for(lambda: _rcpt(stack, "dave@example.test",
                           stack.list_address)[0] == 250,
             timeout=30, what="policyd to let dave post")
    wait_for(lambda: _rcpt(stack, "bob@example.test",
                           stack.list_address)[0] >= 500,
             timeout=30, what="policyd to refuse bob")


@requires("admin")
def test_member_sync_refuses_to_empty(stack):
    """A source with no one does not empty a list unless --allow-empty;
    a directory that is no mlmmj list is an error; neither changes
    anything."""
    tmp = tempfile.mkdtemp(prefix="fg-empty-", dir=stack.dir)
    try:
        stack.admin("list", "add", "empty", "--address",
                    "empty@lists.test", "--bridge-recipient",
                    "bridge-empty@lists.test", check=True)
        stack.admin("member", "add", "empty", "alice@example.test",
                    check=True)
        stack.admin("list", "set", "empty", "roster", "mlmmj:" + tmp,
                    check=True)
        serial = _serial(stack, "empty")
        r = _sync(stack, "empty")
        assert r.returncode == 75 and "not an mlmmj list directory" in \
            r.stderr, (r.returncode, r.stderr)
        os.mkdir(os.path.join(tmp, "subscribers.d"))
        r = _sync(stack, "empty")
        assert r.returncode == 65, (r.returncode, r.stdout, r.stderr)
        assert "--allow-empty" in r.stderr and "nothing changed" in \
            r.stderr, r.stderr
        assert _members(stack, "empty") == ["alice@example.test"]
        assert _serial(stack, "empty") == serial
        r = _sync(stack, "empty", "--allow-empty")
        assert r.returncode == 0 and "0 added, 1 removed" in r.stdout, \
            (r.stdout, r.stderr)
        assert _members(stack, "empty") == []
        r = _sync(stack, "nolist")
        assert r.returncode == 69, r.stderr
        r = stack.admin("list", "set", "empty", "roster", "sympa:x")
        assert r.returncode == 64 and "unknown roster source" in r.stderr
        r = stack.admin("member", "sync", "forum", "extra")
        assert r.returncode == 64
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- DMARC munging through Mailman -----------------------------------------------

@requires("admin", "bridge")
def test_mailman_munged_from(stack):
    """Mailman 3 with munge_from rewrites From to "Alice Example via Mm
    <mm@lists.test>" and puts Alice in Reply-To. The post is made as the
    mapped forum user only when the list is trusted AND Alice's own
    mail was authenticated by the MTA that received it (its trusted
    Authentication-Results travels through Mailman); a forged Alice
    through the same trusted list is the bridge user."""
    path = "/3.1/lists/%s/config" % stack.mm_list_id
    stack.mailman_rest("PATCH", path, {
        "dmarc_mitigate_action": "munge_from",
        "dmarc_mitigate_unconditionally": "True"})
    stack.admin("author", "set", "alice@example.test", "alice", check=True)
    try:
        def post(authenticated, what):
            mark = _uid()
            msg = stack.make_message("Alice Example <alice@example.test>",
                                     stack.mm_list_address,
                                     "Munged %s %s" % (what, mark),
                                     "Munged From through Mailman, %s.\n"
                                     % mark, authenticated=authenticated)
            return msg, _send_post(stack, "mm", stack.mm_bridge_address,
                                   "alice@example.test",
                                   stack.mm_list_address, msg, mark)[1]

        # not trusted: the list's rewriting stays, the bridge user posts
        msg, p = post(True, "untrusted")
        assert p["username"] == stack.forum_api_username, p
        # what Mailman distributed really was munged (bob's copy)
        copy = stack.wait_mail("bob@example.test",
                               lambda m: m["Message-ID"] == msg["Message-ID"],
                               timeout=TIMEOUT)
        assert " via " in str(copy["From"]) and \
            stack.mm_list_address in str(copy["From"]), copy["From"]
        assert "alice@example.test" in str(copy["Reply-To"]), copy["Reply-To"]

        stack.admin("list", "set", "mm", "trusted", "yes", check=True)
        p = post(True, "trusted")[1]
        assert p["username"] == "alice", p
        p = post(False, "forged")[1]
        assert p["username"] == stack.forum_api_username, p
    finally:
        stack.admin("list", "set", "mm", "trusted", "no")
        stack.admin("author", "del", "alice@example.test")
        stack.mailman_rest("PATCH", path, {
            "dmarc_mitigate_action": "no_mitigation",
            "dmarc_mitigate_unconditionally": "False"})
