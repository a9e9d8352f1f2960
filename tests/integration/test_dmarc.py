"""The DMARC From rewrite by policy (dmarc_from policy) through the real
stack: forumgated asks a small DNS server of the test's own
(dns_txt.py, TXT answers only, on a 127.0.0.1 port: dmarc_resolver)
for the author's domain's DMARC record when it builds a post's copy.

p=reject or p=quarantine at the author's domain, or sp= at its
organizational domain: the subscribers' copies come From the list,
with the author in Reply-To and X-Original-From; no record, or p=none:
the author's From. The answer is cached in Redis (fg:dmarc:DOMAIN, with
dmarc_cache_ttl): a second post asks DNS no more. A server that does
not answer is logged and counts as no policy. Redis runs with the ACL
users of doc/redis-acl.md.
"""

import uuid

from dns_txt import DnsTxt
from stack import requires, wait_for
from test_fanout import _stat, _wait_fanned_out

LIST = "dm"
ADDRESS = "dm@lists.test"
CATEGORY = "22"
READER = "carol@example.test"

STACK_OPTIONS = {"full": True, "redis_acl": True,
                 "dovecot_list_users": [(ADDRESS, LIST)]}

RECORDS = {
    "_dmarc.example.test": ["v=DMARC1; p=reject; rua=mailto:d@example.test"],
    "_dmarc.quarantine.test": ["v=spf1 -all", "v=DMARC1; p=quarantine"],
    "_dmarc.relaxed.test": ["v=DMARC1; p=none"],
    "_dmarc.orgpol.test": ["v=DMARC1; p=none; sp=quarantine"],
}

dns = {}


def _copy_of(stack, sender, title):
    """sender posts to the list; READER's copy of it."""
    msg = stack.make_message(sender, ADDRESS, title, "Hello, %s.\n" % title)
    posts = _stat(stack, LIST, "posts")
    stack.send_mail(sender, ADDRESS, msg)
    _wait_fanned_out(stack, LIST, posts + 1)
    return stack.wait_mail(READER, lambda m: m["Message-ID"] ==
                           msg["Message-ID"], timeout=60)


def _munged(copy, sender):
    """The copy comes From the list, the author kept aside."""
    addr = copy["From"].addresses[0]
    return (addr.addr_spec == ADDRESS and " via " in addr.display_name and
            sender in copy["Reply-To"] and sender in copy["X-Original-From"])


def _title():
    return "DMARC %s" % uuid.uuid4().hex[:8]


def _cached(stack, domain):
    return stack.redis_call("GET", "fg:dmarc:%s" % domain)


def _log(stack):
    return open(stack.log_path("forumgated"), errors="replace").read()


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_list_with_dmarc_policy(stack):
    """An open list-mode list with dmarc_from policy, forumgated asking
    the test's DNS server."""
    dns["server"] = DnsTxt(RECORDS)
    dns["server"].silent.add("_dmarc.slow.test")
    stack.admin("list", "add", LIST, "--mode", "list", "--address",
                ADDRESS, "--category", CATEGORY, check=True)
    stack.admin("list", "set", LIST, "access", "open", check=True)
    stack.admin("list", "set", LIST, "dmarc_from", "policy", check=True)
    assert "dmarc_from: policy" in stack.admin("list", "show", LIST,
                                               check=True).stdout
    stack.admin("subscribe", LIST, READER, check=True)
    stack.restart_bridge(dmarc_resolver="127.0.0.1:%d" % dns["server"].port,
                    dmarc_timeout="1s", dmarc_cache_ttl="1h")


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_reject_and_quarantine_rewrite(stack):
    """p=reject (alice's domain) and p=quarantine: From is the list's;
    the policy is cached with its TTL."""
    copy = _copy_of(stack, "alice@example.test", _title())
    assert _munged(copy, "alice@example.test"), copy.as_string()[:2000]
    assert _cached(stack, "example.test") == "reject"
    ttl = stack.redis_call("TTL", "fg:dmarc:example.test")
    assert 0 < ttl <= 3600, ttl
    copy = _copy_of(stack, "quinn@quarantine.test", _title())
    assert _munged(copy, "quinn@quarantine.test"), copy["From"]
    assert _cached(stack, "quarantine.test") == "quarantine"
    assert "DMARC policy of example.test: reject at _dmarc.example.test" \
        in _log(stack)


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_no_policy_keeps_from(stack):
    """p=none, and no record at all: the author's From stays."""
    for sender, domain in (("rita@relaxed.test", "relaxed.test"),
                           ("nora@norecord.test", "norecord.test")):
        copy = _copy_of(stack, sender, _title())
        assert copy["From"].addresses[0].addr_spec == sender, copy["From"]
        assert copy["X-Original-From"] is None
        assert _cached(stack, domain) == "none"
    assert "_dmarc.norecord.test" in dns["server"].asked


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_organizational_domain(stack):
    """No record at mail.orgpol.test: the one of orgpol.test counts,
    with its sp=quarantine for the subdomain."""
    copy = _copy_of(stack, "gina@mail.orgpol.test", _title())
    assert _munged(copy, "gina@mail.orgpol.test"), copy["From"]
    asked = dns["server"].asked
    assert asked.index("_dmarc.mail.orgpol.test") < \
        asked.index("_dmarc.orgpol.test"), asked
    assert _cached(stack, "mail.orgpol.test") == "quarantine"


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_cached_policy_is_used(stack):
    """The domain's record changes to p=none: for dmarc_cache_ttl the
    cached reject stands, and DNS is not asked again."""
    dns["server"].records["_dmarc.example.test"] = ["v=DMARC1; p=none"]
    before = dns["server"].asked.count("_dmarc.example.test")
    copy = _copy_of(stack, "alice@example.test", _title())
    assert _munged(copy, "alice@example.test"), copy["From"]
    assert dns["server"].asked.count("_dmarc.example.test") == before


@requires("plugin", "forumsim", "bridge", "admin", "policyd")
def test_unanswered_lookup_is_no_policy(stack):
    """A DNS server that does not answer: logged, no policy, From kept,
    nothing cached."""
    try:
        copy = _copy_of(stack, "sam@slow.test", _title())
        assert copy["From"].addresses[0].addr_spec == "sam@slow.test"
        assert _cached(stack, "slow.test") is None
        wait_for(lambda: "_dmarc.slow.test: no answer in time" in
                 _log(stack), timeout=10, what="the look-up's log line")
        assert "treated as no DMARC policy" in _log(stack)
    finally:
        dns["server"].stop()
