"""The forum's refusals as Discourse answers them: a rotated API key
(403 invalid_access) stops the list's queue until the configuration has
the new key, which is picked up by the next try without a signal; a
new-user rate limit (429 with extras.wait_seconds) waits and posts."""

import uuid

from stack import requires
from test_forum_errors import delay_then_posted, refused_key_stops, resumed

STACK_OPTIONS = {"full": True}


@requires("plugin", "forumsim", "bridge", "admin")
def test_rotated_key_resumes_without_signal(stack):
    title = "Discourse errors %s key" % uuid.uuid4().hex[:8]
    refused_key_stops(stack, title, r"HTTP 403: You are not permitted to "
                      r"view the requested resource\. The API username or "
                      r"key is invalid\.")
    resumed(stack, title)


@requires("plugin", "forumsim", "bridge", "admin")
def test_rate_limit_waits_and_posts(stack):
    delay_then_posted(stack, "Discourse errors %s wait" % uuid.uuid4().hex[:8],
                      r"HTTP 429: You.ve performed this action too many "
                      r"times\. Please wait 1 seconds")
