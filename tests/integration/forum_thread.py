"""Threads made on the forum and read from a subscriber's mailbox, for
the threading tests of both forum types (test_threading,
test_threading_nodebb): which mail is which post, and the reply-link
check both share."""

import hashlib
import hmac
import uuid

from stack import LIST_NAME

SUBSCRIBER = "alice@example.test"


def uid():
    return uuid.uuid4().hex[:8]


def text_of(mail):
    """The plain text of a mail the bridge sent."""
    body = mail.get_body(("plain",))
    return body.get_content() if body is not None else ""


def mail_with(stack, marker, timeout=30):
    """The subscriber's copy of the forum post whose text has marker."""
    return stack.wait_mail(SUBSCRIBER, lambda m: marker in text_of(m),
                           timeout=timeout)


def msgid(mail):
    return str(mail["Message-ID"]).strip().strip("<>")


def in_reply_to(mail):
    return str(mail["In-Reply-To"] or "").strip().strip("<>")


def references(mail):
    return [r.strip("<>") for r in str(mail["References"] or "").split()]


def old_msgid(stack, topic_id, post_number):
    """The Message-ID releases before ids gave a forum post:
    fg.LIST.TOPIC.POST.MAC, MAC the first 16 hex digits of
    HMAC-SHA256(secret, "msgid:LIST.TOPIC.POST") (doc/redis-schema.md)."""
    data = "msgid:%s.%d.%d" % (LIST_NAME, topic_id, post_number)
    mac = hmac.new(stack.secret.encode(), data.encode(),
                   hashlib.sha256).hexdigest()[:16]
    return "fg.%s.%d.%d.%s@%s" % (LIST_NAME, topic_id, post_number, mac,
                                  stack.config["mail_domain"])


def forum_thread(stack, user, tag, replies=3):
    """A forum user's topic in the list's category and its replies (each
    an answer to the topic), every one mailed to the list: the topic id,
    and the subscriber's mail of each post by post number."""
    marker = uid()
    first = stack.forum_topic("Threading %s %s" % (tag, marker),
                              "Post 1 of thread %s, the topic." % marker,
                              username=user, name="Erin Web",
                              category=int(stack.list_category))
    topic_id = first["topic_id"]
    for n in range(2, replies + 2):
        stack.forum_reply(topic_id, "Post %d of thread %s, on the topic."
                          % (n, marker), username=user, name="Erin Web")
    mails = {n: mail_with(stack, "Post %d of thread %s" % (n, marker))
             for n in range(1, replies + 2)}
    return topic_id, marker, mails


def check_reply_to_post_3(stack, user):
    """A forum reply to post 3 is mailed with In-Reply-To post 3's
    Message-ID and References from the topic's first post to post 3; a
    reply to the topic, with In-Reply-To the first post's."""
    topic_id, marker, mails = forum_thread(stack, user, "reply link")
    stack.forum_reply(topic_id, "Answer to post 3 of thread %s, by link."
                      % marker, username=user, name="Erin Web",
                      reply_to_post_number=3)
    answer = mail_with(stack, "Answer to post 3 of thread %s" % marker)
    assert in_reply_to(answer) == msgid(mails[3]), \
        (in_reply_to(answer), {n: msgid(m) for n, m in mails.items()})
    refs = references(answer)
    assert refs[0] == msgid(mails[1]) and refs[-1] == msgid(mails[3]), refs
    # the posts before it answer the topic: its first post
    for n in (2, 3, 4):
        assert in_reply_to(mails[n]) == msgid(mails[1]), n
    stack.wait_bridge_idle(queues=("out",))
    return topic_id, mails, answer
