"""The bounce parser on real bounces: the stack's Postfix bounces mail to
an unknown mailbox (Dovecot LMTP refuses the recipient) back to a VERP
return path of ours, the bounce is delivered through Dovecot LMTP to the
bridge's mailbox, and `forumgate parse --envelope-to` reads it
(doc/bounces.md).

The plugin is not loaded, so the bounce stays in the bridge's INBOX as
Postfix wrote it."""

import hashlib
import hmac
import json

from stack import requires

STACK_OPTIONS = {"components": ["admin"]}


def _verp(stack, recipient):
    """The VERP return path of a copy to `recipient` (doc/verp.md)."""
    what = "r" + recipient.lower().replace("@", "=")
    mac = hmac.new(stack.secret.encode(),
                   ("verp:%s.%s" % (stack.list_name, what)).lower().encode(),
                   hashlib.sha256).hexdigest()[:16]
    base, domain = stack.bridge_address.split("@")
    return "%s+fgb.%s.%s.%s@%s" % (base, mac, stack.list_name, what, domain)


def _bounce_of(stack, msg):
    """The bounce of `msg` that came back to the bridge's mailbox."""
    return stack.wait_mail(
        stack.bridge_address,
        lambda m: m.get_content_type() == "multipart/report" and
        msg["Message-ID"] in m.as_string(), timeout=60)


def _parse(stack, path, *extra):
    r = stack.admin("parse", *extra, path, check=True)
    return json.loads(r.stdout)


@requires("admin")
def test_postfix_bounce_of_unknown_mailbox(stack):
    member = "nobody@example.test"
    verp = _verp(stack, member)
    msg = stack.make_message(stack.list_address, member,
                             "[forum] Meeting notes", "Notes.\n")
    code, text = stack.send_mail(verp, member, msg)
    assert code == 250, (code, text)     # Dovecot LMTP refuses it later
    dsn = _bounce_of(stack, msg)
    # it came back to the VERP address, through Dovecot LMTP
    assert dsn["Return-Path"] == "<>"
    assert dsn["Delivered-To"].lower() == verp.lower()

    got = _parse(stack, dsn.maildir_path, "--envelope-to", verp)
    assert got["classification"] == "bounce", got["reason"]
    b = got["bounce"]
    assert b["temporary"] is False
    assert b["feedback"] is None
    assert b["reporting_mta"], b
    assert b["verp"] == {"list": stack.list_name, "recipient": member,
                         "valid": True}
    assert len(b["recipients"]) == 1, b
    r = b["recipients"][0]
    assert r["address"] == member
    assert r["action"] == "failed"
    assert r["status"].startswith("5.1."), r      # 5.1.1 user unknown
    assert r["kind"] == "hard"
    assert member in r["diagnostic"] or "exist" in r["diagnostic"], r

    # without the envelope recipient the report alone names the member
    got = _parse(stack, dsn.maildir_path)
    assert got["classification"] == "bounce"
    assert "verp" not in got["bounce"]
    assert [x["address"] for x in got["bounce"]["recipients"]] == [member]
    assert got["bounce"]["recipients"][0]["status"] == r["status"]


@requires("admin")
def test_forged_verp_is_not_trusted(stack):
    """A VERP address whose MAC does not verify names nobody: the report's
    own recipient stands, and the VERP is reported invalid."""
    member = "nobody@example.test"
    msg = stack.make_message(stack.list_address, member, "[forum] Forged",
                             "Forged.\n")
    verp = _verp(stack, member)
    code, _ = stack.send_mail(verp, member, msg)
    assert code == 250
    dsn = _bounce_of(stack, msg)
    forged = "bridge+fgb.%s.%s.rsomeone=example.org@lists.test" % (
        "0" * 16, stack.list_name)
    got = _parse(stack, dsn.maildir_path, "--envelope-to", forged)
    b = got["bounce"]
    assert b["verp"]["valid"] is False
    assert [x["address"] for x in b["recipients"]] == [member]
