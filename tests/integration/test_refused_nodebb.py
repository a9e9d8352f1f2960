"""Forum posts the list refused, with a NodeBB forum (the simulator's
NodeBB mode, checked against the NodeBB Write API contract): the post
comes in as forum-side code queues it (NodeBB mode sends no webhooks),
the real mlmmj list denies it, the plugin records mlmmj's notice, and
with refused_notify = pm the author gets a chat message: the uid from
GET /api/v3/posts/PID, a chat room with the author, the message in it."""

import uuid

from stack import requires, wait_for
from test_inbound import _configure
from test_refused import _control, _fields, _refused

STACK_OPTIONS = {"full": True, "forum_type": "nodebb"}


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_nodebb_author_told_in_chat(stack):
    _control(stack, "access", "deny ^Subject:.*refuse-me\nallow\n")
    _configure(stack, refused_notify="pm")
    uid = uuid.uuid4().hex[:8]
    title = "Please refuse-me %s from NodeBB" % uid
    post = stack.forum_topic(title, "A NodeBB post the list will not take, "
                             "%s." % uid, username="7", name="Seven",
                             category=int(stack.list_category))
    post_id, topic_id = post["id"], post["topic_id"]
    stack.redis_call("XADD", "fg:{forum}:out", "*", "post_id", str(post_id),
                     "topic_id", str(topic_id), "post_number", "1",
                     "username", "7", "user_id", "7", "name", "Seven",
                     "topic_title", title, "raw", "A NodeBB post the list "
                     "will not take, %s." % uid)

    def recorded():
        return [_fields(e) for e in _refused(stack)
                if _fields(e).get("subject", "").endswith(title)] or None
    f = wait_for(recorded, timeout=60, what="the refusal")[0]
    assert f["kind"] == "rejected" and f["post_id"] == str(post_id), f

    def chats():
        return [c for c in stack.forum_state()["chats"]
                if "/topic/%d" % topic_id in c["content"]] or None
    chat = wait_for(chats, timeout=60, what="the chat message to uid 7")
    assert len(chat) == 1, chat
    chat = chat[0]
    assert chat["fromuid"] == int(stack.forum_api_username), chat
    assert chat["uids"] == [7], chat
    assert "`%s` rejected your forum post" % stack.list_address in \
        chat["content"], chat["content"]
    assert "\n    because of an access rule set up by the list " \
        "administrator.\n" in chat["content"], chat["content"]
    assert len(chat["content"]) <= 1000
    state = stack.forum_state()
    assert not state["violations"], state["violations"]
    assert not state["unimplemented"], state["unimplemented"]
    assert not state["response_errors"], state["response_errors"]
