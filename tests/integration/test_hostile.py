"""What a hostile forum user or a careless admin can do to the list.

Forum text that decodes to control characters or looks like an address
must reach the reader as plain text: webhooks with hostile titles and
names are mailed through the bridge to Postfix's smtp-sink, and the
headers are decoded there by Python's own mail parser (not GMime, which
wrote them). `forumgate list add` must not take another list's address
or category unless told to with --force.
"""

import re

from stack import (BRIDGE_ADDRESS, LIST_ADDRESS, LIST_CATEGORY, LIST_NAME,
                   _free_port, requires, wait_for)
import test_outbound as outbound

STACK_OPTIONS = {"full": True}

# C0, DEL, C1 (U+0085 NEL among them), line and paragraph separators
BREAKS = re.compile("[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")

state = {}


def _mailed(stack, post):
    """The one mail of this post at the sink, parsed."""
    prefix = "<fg.%s.%d.%d." % (LIST_NAME, post["topic_id"],
                                post["post_number"])

    def found():
        return [m for m in outbound._sink_mails(state["sink"])
                if str(m["Message-ID"]).startswith(prefix)]
    wait_for(lambda: len(found()) > 0, 15, "the post at the relay")
    mails = found()
    assert len(mails) == 1, mails
    return mails[0]


def _check_headers(msg):
    """No injected header, one From mailbox (the bridge's) whose decoded
    name shows no address, and no line break in the decoded headers
    that carry forum text."""
    for name in ("Bcc", "Cc", "X-Evil"):
        assert msg[name] is None, (name, msg[name])
    for name in ("Subject", "From", "To", "Reply-To"):
        assert not BREAKS.search(str(msg[name])), (name, str(msg[name]))
    addresses = msg["From"].addresses
    assert len(addresses) == 1, addresses
    assert addresses[0].addr_spec == BRIDGE_ADDRESS, addresses
    # Python's parser keeps the space between two encoded words of a
    # phrase (RFC 2047 6.2 says to drop it): compare without it
    display = " ".join(addresses[0].display_name.split())
    assert not re.search("[@<>\uff20\ufe6b\uff1c\uff1e]", display), display
    return display


@requires("bridge")
def test_hostile_titles_and_names(stack):
    """Titles that are encoded words of CR LF Bcc, or carry NEL and
    U+2028, and names that look like addresses: the reader's decoded
    Subject is the literal title (without the line breaks), the From
    name shows no address, no Bcc or Cc appears."""
    port = _free_port()
    state["sink"] = outbound._sink_start(stack, "hostile-sink", port)
    outbound._reconfigure(stack, smtp_relay="smtp://127.0.0.1:%d" % port)
    cases = [
        ("=?utf-8?q?=0D=0ABcc:_victim@evil.test?=",
         "=?utf-8?q?=0D=0ABcc:_victim@evil.test?=",
         "Alice <alice@example.com>",
         "Alice (alice at example.com) via Forum"),
        ("Hi =?utf-8?b?DQpCY2M6IHZAZXZpbC50ZXN0?= all",
         "Hi =?utf-8?b?DQpCY2M6IHZAZXZpbC50ZXN0?= all",
         "alice@example.com",
         "alice at example.com via Forum"),
        ("next\u0085Bcc: victim@evil.test\u2028line\u2029para",
         "next Bcc: victim@evil.test line para",
         "=?utf-8?q?Alice_=3Calice@example.com=3E?=",
         "=?utf-8?q?Alice_=3Calice at example.com=3E?= via Forum"),
        ("full-width", "full-width",
         "Eve \uff1ceve\uff20example.com\uff1e",
         "Eve (eve at example.com) via Forum"),
    ]
    for title, subject, name, display in cases:
        post = outbound._new_post(stack)
        post["topic_title"] = title
        post["name"] = name
        assert outbound._webhook(stack, post) == 200
        msg = _mailed(stack, post)
        assert str(msg["Subject"]) == subject, (str(msg["Subject"]), subject)
        assert _check_headers(msg) == display
        # a reply: "Re: " stays readable before the literal title
        reply = outbound._new_post(stack, topic=post["topic_id"], number=2)
        reply["topic_title"] = title
        reply["name"] = ""
        reply["username"] = "mallory@evil.test"
        assert outbound._webhook(stack, reply) == 200
        msg = _mailed(stack, reply)
        assert str(msg["Subject"]) == "Re: " + subject, str(msg["Subject"])
        assert _check_headers(msg) == "mallory at evil.test via Forum"


@requires("admin")
def test_list_add_refuses_other_lists_address(stack):
    """list add: another list's address or category is refused (65,
    naming the list) and nothing changes; --force moves it, and the list
    that had it loses it."""
    def holder(key, field):
        return stack.redis("HGET", key, field)

    r = stack.admin("list", "add", "other", "--address", LIST_ADDRESS,
                    "--bridge-recipient", BRIDGE_ADDRESS)
    assert r.returncode == 65, r
    assert "address %s belongs to list '%s'" % (LIST_ADDRESS, LIST_NAME) \
        in r.stderr, r.stderr
    r = stack.admin("list", "add", "other", "--address", "other@lists.test",
                    "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                    LIST_CATEGORY)
    assert r.returncode == 65, r
    assert "category %s belongs to list '%s'" % (LIST_CATEGORY, LIST_NAME) \
        in r.stderr, r.stderr
    assert holder("fg:addresses", LIST_ADDRESS) == LIST_NAME
    assert holder("fg:categories", LIST_CATEGORY) == LIST_NAME
    assert holder("fg:addresses", "other@lists.test") == ""
    assert "other" not in stack.admin("lists", check=True).stdout.split()

    # --force: the category moves, the forum list keeps its address
    stack.admin("list", "add", "other", "--address", "other@lists.test",
                "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                LIST_CATEGORY, "--force", check=True)
    assert holder("fg:categories", LIST_CATEGORY) == "other"
    assert holder("fg:{%s}:config" % LIST_NAME, "category") == "0"
    assert holder("fg:addresses", LIST_ADDRESS) == LIST_NAME
    # and back, so the stack is as it was
    stack.admin("list", "add", LIST_NAME, "--address", LIST_ADDRESS,
                "--bridge-recipient", BRIDGE_ADDRESS, "--category",
                LIST_CATEGORY, "--force", check=True)
    assert holder("fg:categories", LIST_CATEGORY) == LIST_NAME
    assert holder("fg:{other}:config", "category") == "0"
    assert holder("fg:{%s}:config" % LIST_NAME, "category") == LIST_CATEGORY
