"""What the list-mode tests share (test_fanout.py, test_digest.py): the
VERP return path forumgated gives a recipient, a restart of forumgated
with changed settings, and SIGKILLs of forumgated at observed progress.
"""

import hashlib
import hmac

from stack import wait_for


def verp(stack, list_name, rcpt, secret=None):
    """The VERP return path of mail to rcpt (doc/verp.md)."""
    what = "r" + rcpt.lower().replace("@", "=")
    mac = hmac.new((secret or stack.secret).encode(),
                   ("verp:%s.%s" % (list_name, what)).lower().encode(),
                   hashlib.sha256).hexdigest()[:16]
    base, domain = stack.bridge_address.split("@")
    return "%s+fgb.%s.%s.%s@%s" % (base, mac, list_name, what, domain)


def restart_bridge(stack, **settings):
    """Set forumgate.conf settings, restart forumgated."""
    stack.restart_bridge(**settings)


def kill_at_sixths(stack, total, position, finished, what):
    """SIGKILL forumgated each time position() passed another sixth of
    total recipients (five times at most, none once finished()), and
    start it again; the positions it was killed at."""
    at = []
    for k in range(1, 6):
        mark = total * k // 6
        wait_for(lambda: finished() or position() >= mark, timeout=120,
                 what="%s to pass recipient %d" % (what, mark),
                 interval=0.005)
        if finished():
            break
        stack.daemon_kill("bridge")
        at.append(position())
        stack.daemon_start("bridge")
    return at
