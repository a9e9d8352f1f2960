"""Forum -> list threading on Discourse, through the whole stack: a
forum reply is mailed below the post the forum says it answers
(reply_to_post_number), not below the topic's first post."""

import re

from forum_thread import check_reply_to_post_3, msgid
from stack import requires

STACK_OPTIONS = {"full": True}


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_reply_to_post_3(stack):
    """A reply to post 3 is mailed with In-Reply-To post 3's Message-ID;
    Discourse keeps its post numbers, so the Message-IDs name posts by
    their place (fg.LIST.TOPIC.NUMBER.MAC)."""
    topic_id, mails, answer = check_reply_to_post_3(stack, "erin_web")
    assert re.match(r"fg\.forum\.%d\.3\.[0-9a-f]{16}@" % topic_id,
                    msgid(mails[3])), msgid(mails[3])
    assert re.match(r"fg\.forum\.%d\.5\.[0-9a-f]{16}@" % topic_id,
                    msgid(answer)), msgid(answer)
    # both fields of the map: by the post's id and by its place
    post_id = [p for t in stack.forum_state()["topics"] if t["id"] == topic_id
               for p in t["posts"] if p["post_number"] == 3][0]["id"]
    assert stack.redis("HGET", "fg:{forum}:post-msgid", post_id) == \
        msgid(mails[3])
    assert stack.redis("HGET", "fg:{forum}:post-msgid",
                       "%d:3" % topic_id) == msgid(mails[3])
