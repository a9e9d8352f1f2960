"""forumgate-policyd in depth, through the private Postfix: membership,
access modes, loops, the rate limit, VERP bounce addresses and Redis
going away. The tests share one stack and run in file order; each one
puts back what it changed."""

import hashlib
import hmac
import os
import signal
import smtplib
import subprocess
import uuid

from stack import SmtpError, requires, wait_for

STACK_OPTIONS = {"components": ["policyd", "admin", "plugin"]}
REQUIRES = ("policyd", "admin")

POSTSUPER = "/usr/sbin/postsuper"


def _msg(stack, sender, rcpt, what):
    return stack.make_message(sender, rcpt, "%s %s" % (what, uuid.uuid4().hex[:8]),
                              "Policy test: %s.\n" % what)


def _send(stack, sender, rcpt, what="post", **kw):
    return stack.send_mail(sender, rcpt, _msg(stack, sender, rcpt, what), **kw)


def _refused(stack, sender, rcpt, what="post"):
    try:
        _send(stack, sender, rcpt, what)
    except SmtpError as e:
        return e
    raise AssertionError("%s -> %s was accepted" % (sender, rcpt))


def _verp(stack, payload, secret=None):
    """The VERP return path of a copy to `payload` (doc/verp.md)."""
    what = "r" + payload.lower().replace("@", "=")
    mac = hmac.new((secret or stack.secret).encode(),
                   ("verp:%s.%s" % (stack.list_name, what)).lower().encode(),
                   hashlib.sha256).hexdigest()[:16]
    base, domain = stack.bridge_address.split("@")
    return "%s+fgb.%s.%s.%s@%s" % (base, mac, stack.list_name, what, domain)


def _set_access(stack, mode):
    stack.admin("list", "set", stack.list_name, "access", mode, check=True)


def _restart_policyd(stack, **settings):
    """Rewrite the policy settings of forumgate.conf, restart the daemon."""
    with open(stack.conf_path) as f:
        lines = [ln for ln in f if not ln.startswith("policy_rate")]
    lines += ["%s = %s\n" % kv for kv in settings.items()]
    with open(stack.conf_path, "w") as f:
        f.writelines(lines)
    stack.daemon_stop("policyd")
    stack.daemon_start("policyd")


@requires("policyd", "admin")
def test_member_accepted_and_logged(stack):
    code, _ = _send(stack, "alice@example.test", stack.list_address)
    assert code == 250
    # one log line per decision: instance, sender, recipient, answer, reason
    line = wait_for(lambda: [ln for ln in
                             stack.log_tail("policyd", 50).splitlines()
                             if "sender=<alice@example.test>" in ln and
                             "recipient=<forum@lists.test>" in ln and
                             "end of message" not in ln],
                    timeout=5, what="the decision in the log")[-1]
    assert "instance=" in line and "instance=-" not in line, line
    assert "reason=member" in line and "action=DUNNO" in line, line


@requires("policyd", "admin")
def test_member_with_plus_tag_and_case(stack):
    code, _ = _send(stack, "Alice+Lists@Example.TEST", stack.list_address)
    assert code == 250


@requires("policyd", "admin")
def test_non_member_refused(stack):
    e = _refused(stack, "dave@example.test", stack.list_address)
    assert e.code in (550, 554), (e.code, e.text)
    assert "5.7.1" in e.text and "not a member" in e.text, e.text


@requires("policyd", "admin")
def test_other_recipients_unaffected(stack):
    code, _ = _send(stack, "dave@example.test", "bob@example.test")
    assert code == 250
    # mail that is not for a list gets DUNNO and no log line (-v logs
    # it); a list decision after it is logged, so the log is current
    _refused(stack, "dave@example.test", stack.list_address)
    wait_for(lambda: "sender=<dave@example.test>, recipient=<forum@lists.test>"
             in stack.log_tail("policyd", 200), timeout=5,
             what="the list decision in the log")
    assert "recipient=<bob@example.test>" not in \
        stack.log_tail("policyd", 200)


@requires("policyd", "admin")
def test_loop_refused(stack):
    e = _refused(stack, stack.list_address, stack.list_address)
    assert e.code == 554 and "mail loop" in e.text, (e.code, e.text)


@requires("policyd", "admin", "plugin")
def test_forged_verp_bounce_refused(stack):
    forged = _verp(stack, "alice@example.test", secret="not-the-secret")
    e = _refused(stack, "", forged, "bounce")
    assert e.code == 550 and "5.1.1" in e.text, (e.code, e.text)
    e = _refused(stack, "", "bridge+fgb.junk@lists.test", "bounce")
    assert e.code == 550 and "5.1.1" in e.text, (e.code, e.text)
    # the genuine address of the same recipient passes, and the plugin
    # keeps the bounce in the bridge mailbox instead of posting it
    genuine = _verp(stack, "alice@example.test")
    code, _ = _send(stack, "", genuine, "bounce")
    assert code == 250
    wait_for(lambda: "bounce to <%s>" % genuine in stack.dovecot_log(),
             timeout=20, what="the plugin to keep the bounce")
    # mlmmj's own bounce addresses are not ours to judge
    code, _ = _send(stack, "", "forum+bounces-1-bob=example.test@lists.test",
                    "bounce")
    assert code == 250


@requires("policyd", "admin")
def test_moderated_held(stack):
    _set_access(stack, "moderated")
    try:
        msg = _msg(stack, "bob@example.test", stack.list_address, "held")
        code, _ = stack.send_mail("bob@example.test", stack.list_address, msg)
        assert code == 250

        def held():
            return [q for q in stack.postfix_queue()
                    if q["queue_name"] == "hold" and
                    q["sender"] == "bob@example.test"]
        q = wait_for(held, timeout=10, what="the post in the hold queue")
        assert q[0]["recipients"][0]["address"] == stack.list_address
        # a non-member is still refused, not held
        e = _refused(stack, "dave@example.test", stack.list_address)
        assert "not a member" in e.text, e.text
        subprocess.run([POSTSUPER, "-c", stack.postfix_dir, "-d",
                        q[0]["queue_id"], "hold"], check=True,
                       capture_output=True)
    finally:
        _set_access(stack, "members")


@requires("policyd", "admin")
def test_closed_allow_list(stack):
    _set_access(stack, "closed")
    try:
        e = _refused(stack, "carol@example.test", stack.list_address)
        assert e.code == 554 and "is closed" in e.text, (e.code, e.text)
        stack.admin("allow", "add", stack.list_name, "carol@example.test",
                    check=True)
        code, _ = _send(stack, "carol@example.test", stack.list_address)
        assert code == 250
    finally:
        stack.admin("allow", "del", stack.list_name, "carol@example.test")
        _set_access(stack, "members")
    _set_access(stack, "open")
    try:
        code, _ = _send(stack, "dave@example.test", stack.list_address)
        assert code == 250
    finally:
        _set_access(stack, "members")


def _rcpt_answers(stack, mail_from, rcpt, times=1):
    """The RCPT answers of `times` transactions MAIL FROM:<mail_from>
    RCPT TO:<rcpt> RSET on one connection, never sending DATA; `rcpt`
    goes on the wire as written (quotes, a trailing dot)."""
    answers = []
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30,
                      local_hostname="client.example.test") as s:
        s.ehlo()
        for _ in range(times):
            code, text = s.docmd("MAIL FROM:<%s>" % mail_from)
            assert code == 250, (code, text)
            code, text = s.docmd("RCPT TO:<%s>" % rcpt)
            answers.append((code, text.decode("utf-8", "replace")))
            assert s.docmd("RSET")[0] == 250
    return answers


def _rate_key(stack, sender):
    return "fg:{%s}:rate:%s" % (stack.list_name, sender)


def _count(stack, key):
    return int(stack.redis("GET", key) or 0)


def _low_rate_limit(stack, sender, window):
    """Restart the daemon with a rate limit of 2 posts (DEFER) and 3
    (REJECT) per window; returns the sender's counter, cleared."""
    _restart_policyd(stack, policy_rate_limit=2, policy_rate_reject=3,
                     policy_rate_window=window)
    key = _rate_key(stack, sender)
    stack.redis("DEL", key)
    return key


@requires("policyd", "admin")
def test_list_address_forms_refused(stack):
    # Postfix delivers each of these to the list like forum@lists.test
    # (trivial-rewrite drops the dot, quotes and case do not matter,
    # recipient_delimiter = + in the stack's main.cf)
    for rcpt in ("forum@lists.test.", "forum+x@lists.test",
                 '"forum"@lists.test', "FORUM@Lists.Test",
                 '"forum+x"@lists.test.'):
        (code, text), = _rcpt_answers(stack, "dave@example.test", rcpt)
        assert 500 <= code < 600 and "not a member" in text, \
            (rcpt, code, text)
    # a member's mail to an extension is the list's mail as well
    code, _ = _send(stack, "alice@example.test", "forum@lists.test.")
    assert code == 250
    # and the decision names the list
    wait_for(lambda: "recipient=<forum+x@lists.test>, list=forum, "
             "reason=not a member" in stack.log_tail("policyd", 400),
             timeout=5, what="the extension's decision in the log")


@requires("policyd", "admin")
def test_burst_deferred_then_rejected(stack):
    key = _low_rate_limit(stack, "carol@example.test", "1m")
    try:
        for n in (1, 2):
            assert _send(stack, "carol@example.test", stack.list_address)[0] \
                == 250
            # counted when Postfix asks at END-OF-MESSAGE
            wait_for(lambda: _count(stack, key) == n, timeout=5,
                     what="post %d counted" % n)
        for _ in range(2):
            e = _refused(stack, "carol@example.test", stack.list_address)
            assert e.code == 450 and "4.7.1" in e.text, (e.code, e.text)
        # a refused attempt is not counted
        assert _count(stack, key) == 2
        assert 0 < int(stack.redis("PTTL", key)) <= 60000
        # another sender is not affected
        assert _send(stack, "bob@example.test", stack.list_address)[0] == 250
        # at policy_rate_reject posts, the next one is rejected
        stack.redis("INCR", key)
        e = _refused(stack, "carol@example.test", stack.list_address)
        assert e.code == 554 and "5.7.1" in e.text, (e.code, e.text)
    finally:
        stack.redis("DEL", key)
        stack.redis("DEL", _rate_key(stack, "bob@example.test"))
        _restart_policyd(stack)


@requires("policyd", "admin")
def test_abandoned_transactions_do_not_lock_out(stack):
    # 45 counted RCPTs would be far past both limits
    key = _low_rate_limit(stack, "alice@example.test", "10m")
    try:
        answers = _rcpt_answers(stack, "alice@example.test",
                                stack.list_address, times=45)
        assert [a[0] for a in answers] == [250] * 45, answers
        assert _count(stack, key) == 0
        # the member's own mail still goes through, and is counted once
        msg = _msg(stack, "alice@example.test", stack.list_address, "real")
        code, _ = stack.send_mail("alice@example.test", stack.list_address,
                                  msg)
        assert code == 250
        wait_for(lambda: _count(stack, key) == 1, timeout=5,
                 what="the real post counted")
        wait_for(lambda: "reason=end of message, post (forum counted)"
                 in stack.log_tail("policyd", 100), timeout=5,
                 what="the count in the log")
        # two recipients of one list in one message: counted once
        msg = _msg(stack, "alice@example.test", stack.list_address, "two")
        answers = stack.send_mail("alice@example.test",
                                  [stack.list_address, "forum+x@lists.test"],
                                  msg)
        assert [a[0] for a in answers] == [250, 250], answers
        wait_for(lambda: _count(stack, key) == 2, timeout=5,
                 what="the second post counted")
        # now at the limit: the next one waits
        e = _refused(stack, "alice@example.test", stack.list_address)
        assert e.code == 450 and "4.7.1" in e.text, (e.code, e.text)
        assert _count(stack, key) == 2
    finally:
        stack.redis("DEL", key)
        _restart_policyd(stack)


def _membership_lookups(stack):
    """How many SISMEMBER Redis has run: the per-message script runs
    two; the daemon's reads of a whole list (also every policy_refresh)
    run none. Commands inside scripts count in commandstats."""
    for line in stack.redis("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_sismember:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def _policyd_listening(stack):
    """Wait until forumgate-policyd has read the lists and listens for
    their changes (PUBSUB NUMSUB counts its subscription)."""
    wait_for(lambda: stack.redis("PUBSUB", "NUMSUB", "fg:changes")
             .split()[-1] == "1", timeout=10,
             what="forumgate-policyd subscribed to fg:changes")


@requires("policyd", "admin")
def test_decisions_from_memory_follow_changes(stack):
    # Without a rate limit nothing has to be counted: the daemon answers
    # list mail from the facts it holds, and each change through
    # forumgate reaches it on fg:changes before the next message.
    _restart_policyd(stack, policy_rate_limit=0, policy_rate_reject=0)
    try:
        _policyd_listening(stack)

        # The daemon subscribes, then reads every list: until that read
        # is in, decisions ask Redis. Wait until one costs no lookup.
        def from_memory():
            before = _membership_lookups(stack)
            e = _refused(stack, "erin@example.test", stack.list_address)
            assert "not a member" in e.text, e.text
            return _membership_lookups(stack) == before
        wait_for(from_memory, timeout=15, interval=0.2,
                 what="decisions answered from memory")
        before = _membership_lookups(stack)
        for _ in range(3):
            assert _send(stack, "alice@example.test",
                         stack.list_address)[0] == 250
            e = _refused(stack, "erin@example.test", stack.list_address)
            assert "not a member" in e.text, e.text
        lookups = _membership_lookups(stack) - before
        assert lookups == 0, \
            "%d membership lookups for 6 list decisions" % lookups

        # Each change through forumgate is announced and followed without
        # a restart or SIGHUP. The decisions are waited for, not taken
        # at once: the announcement and the next message travel on
        # different connections.
        def erin_accepted():
            try:
                return _send(stack, "erin@example.test",
                             stack.list_address)[0] == 250
            except SmtpError as e:
                assert "not a member" in e.text, e.text
                return False

        def erin_refused():
            return not erin_accepted()

        stack.admin("member", "add", stack.list_name, "erin@example.test",
                    check=True)
        wait_for(erin_accepted, timeout=15, interval=0.2,
                 what="erin accepted once a member")
        stack.admin("member", "del", stack.list_name, "erin@example.test",
                    check=True)
        wait_for(erin_refused, timeout=15, interval=0.2,
                 what="erin refused once no member")
        _set_access(stack, "open")
        try:
            wait_for(erin_accepted, timeout=15, interval=0.2,
                     what="erin accepted by an open list")
        finally:
            _set_access(stack, "members")
        wait_for(erin_refused, timeout=15, interval=0.2,
                 what="erin refused by a members-only list")

        # A change made around forumgate (redis-cli) is not announced;
        # SIGHUP reads every list again.
        stack.redis("SADD", "fg:{%s}:members" % stack.list_name,
                    "frank@example.test")
        e = _refused(stack, "frank@example.test", stack.list_address)
        assert "not a member" in e.text, e.text
        os.kill(stack.daemon_pid("policyd"), signal.SIGHUP)

        def frank_accepted():
            try:
                return _send(stack, "frank@example.test",
                             stack.list_address)[0] == 250
            except SmtpError:
                return False
        wait_for(frank_accepted, timeout=10, interval=0.3,
                 what="frank accepted after SIGHUP")

        # Redis gone: nothing is answered from memory
        stack.redis_stop()
        try:
            e = _refused(stack, "alice@example.test", stack.list_address)
            assert e.code == 450 and "4.3.0" in e.text, (e.code, e.text)
        finally:
            stack.redis_start()
    finally:
        stack.redis("SREM", "fg:{%s}:members" % stack.list_name,
                    "frank@example.test")
        _restart_policyd(stack)


@requires("policyd", "admin")
def test_redis_down_defers_list_mail_only(stack):
    stack.redis_stop()
    try:
        e = _refused(stack, "alice@example.test", stack.list_address)
        assert e.code == 450 and "4.3.0" in e.text, (e.code, e.text)
        msg = _msg(stack, "alice@example.test", "bob@example.test", "flows")
        code, _ = stack.send_mail("alice@example.test", "bob@example.test",
                                  msg)
        assert code == 250
        stack.wait_mail("bob@example.test",
                        lambda m: m["Message-ID"] == msg["Message-ID"])
    finally:
        stack.redis_start()

    def accepted():
        try:
            return _send(stack, "alice@example.test", stack.list_address)[0] \
                == 250
        except SmtpError:
            return False
    wait_for(accepted, timeout=15, interval=0.5,
             what="list mail accepted again after Redis came back")
