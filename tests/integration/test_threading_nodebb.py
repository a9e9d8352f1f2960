"""Forum -> list threading and post identity on NodeBB, through the whole
stack with nodebb-plugin-webhooks' events (the simulator's
--nodebb-webhooks): a reply is mailed below the post its toPid names; a
NodeBB post number moves after a purge, so posts are known by their
pid; and a Redis written by the release before ids keeps its threads."""

import re

from forum_thread import (SUBSCRIBER, check_reply_to_post_3, in_reply_to,
                          mail_with, msgid, old_msgid, references, uid)
from stack import requires, wait_for

STACK_OPTIONS = {"full": True, "forum_type": "nodebb",
                 "forumsim_args": ["--nodebb-webhooks"]}

USER = "5"          # a NodeBB user (uid 5); the bridge posts as uid 1


def _topic(stack, topic_id):
    return next(t for t in stack.forum_state()["topics"]
                if t["id"] == topic_id)


def _post(stack, topic_id, marker):
    found = [p for p in _topic(stack, topic_id)["posts"]
             if marker in p["raw"]]
    return found[0] if found else None


def _list_reply(stack, parent_msgid, references_, marker):
    """A member's answer to parent_msgid, as the list's copy reaches the
    bridge; waits until it is queued."""
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.bridge_address, "Re: threading",
                             "List answer %s, sent by mail.\n" % marker,
                             in_reply_to=parent_msgid,
                             references=references_)
    stack.send_list_copy(msg)
    return msg["Message-ID"].strip("<>")


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_reply_to_post_3(stack):
    """A reply to post 3 (toPid) is mailed with In-Reply-To post 3's
    Message-ID; the Message-IDs name NodeBB posts by pid."""
    topic_id, mails, answer = check_reply_to_post_3(stack, USER)
    posts = {p["post_number"]: p for p in _topic(stack, topic_id)["posts"]}
    for n, mail in mails.items():
        assert msgid(mail).startswith("fg.forum.%d.p%d." % (
            topic_id, posts[n]["id"])), (n, msgid(mail))
    assert re.match(r"fg\.forum\.%d\.p%d\.[0-9a-f]{16}@" % (
        topic_id, posts[5]["id"]), msgid(answer)), msgid(answer)


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_purge_then_new_post_mailed(stack):
    """Posts 2 and 3 came from the list; a moderator purges post 2, so
    the old post 3 is number 2 now and the next new post gets number 3,
    which the map knows as list mail. The new post is mailed all the
    same (known by its pid), in the thread."""
    marker = uid()
    first = stack.forum_topic("Purge %s" % marker,
                              "Post 1 of purge %s, the topic." % marker,
                              username=USER, name="Erin Web",
                              category=int(stack.list_category))
    topic_id = first["topic_id"]
    root = msgid(mail_with(stack, "Post 1 of purge %s" % marker))
    two = _list_reply(stack, "<%s>" % root, ["<%s>" % root], marker + "-2")
    wait_for(lambda: _post(stack, topic_id, marker + "-2"), timeout=30,
             what="the first list answer on the forum")
    three = _list_reply(stack, "<%s>" % root, ["<%s>" % root], marker + "-3")
    wait_for(lambda: _post(stack, topic_id, marker + "-3"), timeout=30,
             what="the second list answer on the forum")
    stack.wait_bridge_idle()
    purged = _post(stack, topic_id, marker + "-2")
    assert purged["post_number"] == 2
    assert stack.redis("HGET", "fg:{forum}:post-msgid",
                       "%d:3" % topic_id) == three
    assert stack.forum_sim("/__sim/purge", {"pid": purged["id"]})["ok"]
    assert _post(stack, topic_id, marker + "-3")["post_number"] == 2

    stack.forum_reply(topic_id, "Post after the purge %s." % marker,
                      username="6", name="Frank Web")
    new = _post(stack, topic_id, "after the purge %s" % marker)
    assert new["post_number"] == 3, new     # the number list mail had
    mail = mail_with(stack, "Post after the purge %s" % marker)
    assert msgid(mail).startswith("fg.forum.%d.p%d." % (topic_id,
                                                        new["id"]))
    assert in_reply_to(mail) == root, (in_reply_to(mail), root)
    assert stack.redis("HGET", "fg:{forum}:post-msgid", new["id"]) == \
        msgid(mail)
    # the list mail stays mapped to its own post
    assert stack.redis("HGET", "fg:{forum}:post-msgid",
                       _post(stack, topic_id, marker + "-3")["id"]) == three
    assert two != three


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_upgrade_keeps_threads(stack):
    """A Redis as the release before ids wrote it (doc/redis-schema.md
    of that release: post-msgid "TOPIC:POST_NUMBER" -> Message-ID,
    msgid-post Message-ID -> "TOPIC:POST_NUMBER:POST_ID:PARENT", forum
    posts mailed as fg.LIST.TOPIC.NUMBER.MAC) and the new forumgated:
    replies by mail to posts mapped before land under them, and a forum
    reply to such a post is mailed below the Message-ID it was mailed
    with."""
    marker = uid()
    stack.daemon_stop("bridge")
    try:
        first = stack.forum_topic("Upgrade %s" % marker,
                                  "Post 1 of upgrade %s." % marker,
                                  username=USER, name="Erin Web",
                                  category=int(stack.list_category))
        topic_id = first["topic_id"]
        stack.forum_reply(topic_id, "Post 2 of upgrade %s." % marker,
                          username=USER, name="Erin Web")
        # post 3 was made by the bridge (uid 1) from list mail
        stack.forum_reply(topic_id, "Post 3 of upgrade %s." % marker,
                          username="1", name="Bridge",
                          reply_to_post_number=2)
        posts = {p["post_number"]: p for p in _topic(stack, topic_id)["posts"]}
        listmail = "%s@example.test" % uid()
        maps = [(old_msgid(stack, topic_id, 1), 1, 0),
                (old_msgid(stack, topic_id, 2), 2, 1),
                (listmail, 3, 2)]
        for mid, n, parent in maps:
            stack.redis("HSET", "fg:{forum}:post-msgid",
                        "%d:%d" % (topic_id, n), mid)
            stack.redis("HSET", "fg:{forum}:msgid-post", mid, "%d:%d:%d:%d"
                        % (topic_id, n, posts[n]["id"], parent))
        # that release had no fg:{LIST}:maps-version (this stack's
        # forumgated set it at its first start)
        stack.redis("DEL", "fg:{forum}:maps-version")
        offsets = stack.log_offsets()
    finally:
        stack.daemon_start("bridge")
    wait_for(lambda: "maps upgraded" in stack.logs_since(offsets, 50).get(
        "forumgated", ""), timeout=20, what="the maps' upgrade")
    assert stack.redis("GET", "fg:{forum}:maps-version") == "2"
    old1, old2 = maps[0][0], maps[1][0]

    # by mail, to the forum post mailed before the upgrade, and to the
    # list mail posted before it
    _list_reply(stack, "<%s>" % old2, ["<%s>" % old1, "<%s>" % old2],
                marker + "-a")
    _list_reply(stack, "<%s>" % listmail, ["<%s>" % old1, "<%s>" % old2,
                                           "<%s>" % listmail],
                marker + "-b")
    a = wait_for(lambda: _post(stack, topic_id, marker + "-a"), timeout=30,
                 what="the answer to post 2 on the forum")
    b = wait_for(lambda: _post(stack, topic_id, marker + "-b"), timeout=30,
                 what="the answer to post 3 on the forum")
    assert a["reply_to_post_number"] == 2, a
    assert b["reply_to_post_number"] == 3, b

    # on the forum, to post 2: mailed below the ID post 2 was mailed with
    stack.forum_reply(topic_id, "Forum answer to post 2 of upgrade %s."
                      % marker, username="6", name="Frank Web",
                      reply_to_post_number=2)
    mail = mail_with(stack, "Forum answer to post 2 of upgrade %s" % marker)
    assert in_reply_to(mail) == old2, (in_reply_to(mail), old2)
    assert references(mail)[0] == old1, references(mail)
    # the old map entry got its id field on the way
    assert stack.redis("HGET", "fg:{forum}:post-msgid",
                       posts[2]["id"]) == old2
    # nothing of the thread was mailed twice or dead-lettered
    stack.wait_bridge_idle()
    assert int(stack.redis("XLEN", "fg:{forum}:dead") or 0) == 0
    copies = [m for m in stack.mailbox(SUBSCRIBER)
              if "of upgrade %s" % marker in str(m.get_body(("plain",))
                                                 .get_content())]
    assert len(copies) == 1, [str(m["Message-ID"]) for m in copies]
