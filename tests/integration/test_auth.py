"""Authors only when authenticated, through real Postfix, mlmmj, Dovecot
LMTP (the plugin), Redis, the bridge daemon and the Discourse simulator.

alice@example.test is mapped to the forum user "alice". Mail claiming to
be from her, in every form a forger tries, goes through the list (the
envelope sender is bob, a member) and is posted as the bridge user with
the attribution line; the same mail with the MTA's DMARC pass for
example.test is posted as alice. An Authentication-Results header the
sender wrote, claiming the MTA's own authserv-id, is removed by the
public smtpd and never believed.

The stack's verifier is a stand-in (a Postfix header_checks rule, see
stack.py): make_message(authenticated=True) asks it for a pass.
"""

import uuid

from stack import requires, wait_for, AUTHSERV_ID, VERIFIER_HEADER

STACK_OPTIONS = {"full": True}

ALICE = "alice@example.test"
ENVELOPE = "bob@example.test"     # a member: the list takes the post


def _uid():
    return uuid.uuid4().hex[:8]


def _raw(stack, from_lines, subject, body, extra=""):
    """A message with From header lines exactly as written (a library
    would rewrite the odd forms); its Message-ID."""
    msgid = "<%s@example.test>" % uuid.uuid4().hex
    text = ("%sTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Mon, 07 Dec 2026 12:00:00 +0000\r\n%s"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8"
            "\r\n\r\n%s\r\n" % (from_lines, stack.list_address, subject,
                                msgid, extra, body))
    return text.encode(), msgid


def _posts(stack, marker):
    return [p for t in stack.forum_state()["topics"] for p in t["posts"]
            if marker in p["raw"]]


def _one_post(stack, marker):
    wait_for(lambda: _posts(stack, marker), timeout=60,
             what="the post of %s" % marker)
    posts = _posts(stack, marker)
    assert len(posts) == 1, posts
    return posts[0]


# Each form names alice; none is authenticated.
FORGED_FORMS = [
    ("plain", "From: Alice <alice@example.test>\r\n"),
    ("group", "From: g: alice@example.test;\r\n"),
    ("source route", "From: <@relay.evil.test:alice@example.test>\r\n"),
    ("comment", "From: alice@example.test (alice@example.test)\r\n"),
    ("quoted local part", "From: \"alice\"@example.test\r\n"),
    ("trailing dot", "From: alice@example.test.\r\n"),
    ("spaces", "From: alice @ example . test\r\n"),
    ("two From headers", "From: Alice <alice@example.test>\r\n"
                         "From: Bob <bob@example.test>\r\n"),
    ("two mailboxes", "From: alice@example.test, bob@example.test\r\n"),
]
# Forms that are never authenticated, even with the MTA's DMARC pass
# for example.test: more than one sender, or a group.
NEVER_FORMS = [
    ("group", "From: g: alice@example.test;\r\n"),
    ("two From headers", "From: Alice <alice@example.test>\r\n"
                         "From: Bob <bob@example.test>\r\n"),
    ("two mailboxes", "From: alice@example.test, bob@example.test\r\n"),
]


# mlmmj discards these (queue/discarded); another list manager may pass
# them on, so they are delivered to the bridge as list mail directly.
DIRECT = ("two From headers", "two mailboxes")


def _send(stack, name, data):
    """Through mlmmj, or as the list's copy straight to the bridge."""
    if name in DIRECT:
        stack.send_list_copy(data)
    else:
        stack.send_mail(ENVELOPE, stack.list_address, data)


def _verified(domain="example.test"):
    return "%s: dmarc=pass header.from=%s\r\n" % (VERIFIER_HEADER, domain)


@requires("plugin", "forumsim", "bridge", "admin")
def test_forged_from_posted_as_bridge_user(stack):
    """A forged From naming a mapped user, in every form and with a
    " via " name plus Reply-To/X-Original-From/Cc/X-MailFrom naming her,
    is posted as the bridge user with the attribution line."""
    stack.admin("author", "set", ALICE, "alice", check=True)
    # a trusted list: its From rewriting is undone, and the author found
    # must still be authenticated
    stack.admin("list", "set", stack.list_name, "trusted", "yes",
                check=True)
    try:
        _forged(stack)
    finally:
        stack.admin("list", "set", stack.list_name, "trusted", "no",
                    check=True)


def _forged(stack):
    uid = _uid()
    cases = list(FORGED_FORMS)
    via = "From: Alice via forum <forum@lists.test>\r\n"
    for header in ("Reply-To", "X-Original-From", "Cc", "X-MailFrom"):
        cases.append(("via + " + header,
                      via + "%s: %s\r\n" % (header, ALICE)))
    # the forger's own domain passes; the From names someone else
    cases.append(("pass for evil.test",
                  "From: Alice <alice@example.test>\r\n"))
    markers = []
    for n, (name, from_lines) in enumerate(cases):
        marker = "Forged %s case %02d" % (uid, n)
        extra = _verified("evil.test") if name == "pass for evil.test" \
            else ""
        data, msgid = _raw(stack, from_lines, "Forged %s %d" % (uid, n),
                           "%s: %s, written by bob.\r\n" % (marker, name),
                           extra=extra)
        _send(stack, name, data)
        markers.append((marker, name, msgid.strip("<>")))
    for marker, name, _ in markers:
        post = _one_post(stack, marker)
        assert post["username"] == stack.forum_api_username, (name, post)
        first = post["raw"].splitlines()[0]
        assert first.endswith("wrote via the list:"), (name, first)
    log = stack.log_tail("forumgated", 1000)
    for _, name, msgid in markers:
        assert ("message_id=<%s>: sender not authenticated" % msgid
                in log), (name, msgid)


@requires("plugin", "forumsim", "bridge", "admin")
def test_dmarc_pass_posted_as_mapped_user(stack):
    """The same mail with the MTA's DMARC pass for example.test is posted
    as alice; the forms with more than one sender are not, pass or not."""
    stack.admin("author", "set", ALICE, "alice", check=True)
    uid = _uid()
    marker = "Verified %s plain" % uid
    data, msgid = _raw(stack, "From: Alice <alice@example.test>\r\n",
                       "Verified %s" % uid, marker + ": by alice.\r\n",
                       extra=_verified())
    stack.send_mail(ENVELOPE, stack.list_address, data)
    markers = []
    for n, (name, from_lines) in enumerate(NEVER_FORMS):
        m = "Verified %s never %d" % (uid, n)
        d, _ = _raw(stack, from_lines, "Verified %s %d" % (uid, n),
                    "%s: %s.\r\n" % (m, name), extra=_verified())
        _send(stack, name, d)
        markers.append((m, name))
    post = _one_post(stack, marker)
    assert post["username"] == "alice", post
    assert "wrote via the list" not in post["raw"], post["raw"]
    for m, name in markers:
        p = _one_post(stack, m)
        assert p["username"] == stack.forum_api_username, (name, p)
    wait_for(lambda: "dmarc=pass header.from=example.test by %s): "
             "posted as forum user alice" % AUTHSERV_ID
             in stack.log_tail("forumgated", 400), timeout=10,
             what="the bridge to log the evidence")
    # a subscriber's copy carries the one trusted header, added once
    copy = stack.wait_mail("carol@example.test",
                           lambda m: m["Message-ID"] == msgid)
    ars = copy.get_all("Authentication-Results") or []
    assert ars == ["%s; dmarc=pass header.from=example.test"
                   % AUTHSERV_ID], ars


@requires("plugin", "forumsim", "bridge", "admin")
def test_forged_authentication_results_removed(stack):
    """An Authentication-Results header the sender wrote, claiming the
    MTA's authserv-id (plain, quoted with a quoted-pair, folded with a
    comment), is removed by the public smtpd: the post is the bridge
    user's, and the subscribers' copies carry no such header."""
    stack.admin("author", "set", ALICE, "alice", check=True)
    uid = _uid()
    forged = ("Authentication-Results: %s; dmarc=pass "
              "header.from=example.test\r\n"
              "Authentication-Results: \"mx.lists\\.test\"; dkim=pass "
              "header.d=example.test\r\n"
              "Authentication-Results: (the MTA)\r\n %s;\r\n"
              "\tdmarc=pass header.from=example.test\r\n"
              % (AUTHSERV_ID, AUTHSERV_ID))
    marker = "Forged A-R %s" % uid
    data, msgid = _raw(stack, "From: Alice <alice@example.test>\r\n",
                       marker, marker + ": not from alice.\r\n",
                       extra=forged)
    stack.send_mail(ENVELOPE, stack.list_address, data)
    post = _one_post(stack, marker)
    assert post["username"] == stack.forum_api_username, post
    assert post["raw"].splitlines()[0].endswith("wrote via the list:")
    copy = stack.wait_mail("carol@example.test",
                           lambda m: m["Message-ID"] == msgid)
    assert copy.get_all("Authentication-Results") is None, \
        copy.get_all("Authentication-Results")


@requires("plugin", "forumsim", "bridge", "admin")
def test_dkim_verified_by_opendkim(stack):
    """A real verifier: OpenDKIM at the public smtpd. Alice's mail signed
    for example.test is posted as alice; the same mail changed after
    signing, or signed by the forger's own domain, as the bridge user."""
    stack.admin("author", "set", ALICE, "alice", check=True)
    uid = _uid()
    cases = []
    for name, domain, tamper in (("signed", "example.test", False),
                                 ("tampered", "example.test", True),
                                 ("other domain", "evil.test", False)):
        marker = "DKIM %s %s" % (uid, name)
        data, msgid = _raw(stack, "From: Alice <alice@example.test>\r\n",
                           marker, marker + ": by alice.\r\n")
        signed = stack.dkim_sign(data, domain=domain)
        if tamper:
            signed = signed.replace(b"by alice.", b"by mallory.")
        stack.send_mail(ENVELOPE, stack.list_address, signed)
        cases.append((name, marker, msgid, domain))
    for name, marker, msgid, domain in cases:
        post = _one_post(stack, marker)
        expect = "alice" if name == "signed" else stack.forum_api_username
        assert post["username"] == expect, (name, post)
        copy = stack.wait_mail("carol@example.test",
                               lambda m: m["Message-ID"] == msgid)
        ars = copy.get_all("Authentication-Results") or []
        assert len(ars) == 1 and ars[0].startswith(AUTHSERV_ID + ";"), ars
        result = "fail" if name == "tampered" else "pass"
        assert "dkim=%s" % result in ars[0], (name, ars)
        assert "header.d=%s" % domain in ars[0], (name, ars)
