"""Tests of the test stack itself: stock Dovecot, no forumgate binaries."""

import os
import re
import subprocess


def _subject(m):
    return str(m.get("Subject", ""))


def test_local_delivery(stack):
    msg = stack.make_message("alice@example.test", "bob@example.test",
                             "Local delivery", "Hi Bob.\n")
    code, text = stack.send_mail("alice@example.test", "bob@example.test",
                                 msg)
    assert code == 250, (code, text)
    got = stack.wait_mail("bob@example.test",
                          lambda m: m["Message-ID"] == msg["Message-ID"])
    assert _subject(got) == "Local delivery"
    assert got["Return-Path"] == "<alice@example.test>"
    assert got["Delivered-To"] == "bob@example.test"
    assert "Hi Bob." in got.get_content()
    # Maildir layout the stack documents
    assert got.maildir_path.startswith(
        os.path.join(stack.dir, "mail", "example.test", "bob") + os.sep)
    # nobody else got it
    assert not [m for m in stack.mailbox("alice@example.test")
                if m["Message-ID"] == msg["Message-ID"]]


def test_list_roundtrip_through_mlmmj(stack):
    msg = stack.make_message("alice@example.test", stack.list_address,
                             "Hello list", "First post.\n")
    code, _ = stack.send_mail("alice@example.test", stack.list_address, msg)
    assert code == 250
    want = "%s Hello list" % stack.list_prefix

    def is_post(m):
        return m["Message-ID"] == msg["Message-ID"]

    for user in ("alice@example.test", "bob@example.test",
                 "carol@example.test", stack.bridge_address):
        got = stack.wait_mail(user, is_post)
        assert _subject(got) == want, _subject(got)
        # mlmmj's per-recipient bounce address
        assert re.fullmatch(r"<forum\+bounces-\d+-%s@lists\.test>"
                            % re.escape(user.replace("@", "=")),
                            str(got["Return-Path"])), got["Return-Path"]
        assert got["List-Id"] == "<%s>" % stack.list_id
        assert got["Delivered-To"] == user
    # dave is not subscribed
    stack.wait_queue_empty()
    assert not [m for m in stack.mailbox("dave@example.test") if is_post(m)]


def test_list_extension_address_goes_to_mlmmj(stack):
    # forum+help@lists.test reaches mlmmj (the transport map strips the
    # extension), which answers with its help text
    msg = stack.make_message("carol@example.test", "forum+help@lists.test",
                             "help")
    stack.send_mail("carol@example.test", "forum+help@lists.test", msg)
    got = stack.wait_mail(
        "carol@example.test",
        lambda m: "forum" in str(m.get("From", "")) and
        m["Message-ID"] != msg["Message-ID"])
    assert "forum" in str(got["From"])
    assert "relay=mlmmj" in stack.postfix_log()


def test_unknown_mailbox_bounces(stack):
    msg = stack.make_message("alice@example.test", "nobody@example.test",
                             "To nobody")
    code, _ = stack.send_mail("alice@example.test", "nobody@example.test",
                              msg)
    assert code == 250      # Postfix accepts, Dovecot LMTP rejects later
    dsn = stack.wait_mail(
        "alice@example.test",
        lambda m: m.get_content_type() == "multipart/report" and
        msg["Message-ID"] in m.as_string())
    assert "nobody@example.test" in dsn.as_string()


def test_redis_set_get_and_persistence(stack):
    assert stack.redis("SET", "fg:test:key", "value 1") == "OK"
    assert stack.redis("GET", "fg:test:key") == "value 1"
    stack.redis_call("XADD", "fg:test:stream", "*", "field", "v")
    stack.redis_stop()
    assert not os.path.exists(stack.redis_socket) or \
        _refused(stack.redis_socket)
    stack.redis_start()
    assert stack.redis("GET", "fg:test:key") == "value 1"
    assert stack.redis_call("XLEN", "fg:test:stream") == 1
    # TCP port works as well and is the same
    out = subprocess.run(stack.redis_cli_args("-h", "127.0.0.1", "-p",
                                              str(stack.redis_port)) +
                         ["GET", "fg:test:key"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "value 1", out


def _refused(path):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        return True
    finally:
        s.close()
    return False


def test_postfix_defer_and_retry(stack):
    # carol+later@example.test is routed to the LMTP socket DIR/later-lmtp,
    # which does not exist yet: Postfix defers the mail
    msg = stack.make_message("bob@example.test", stack.later_address,
                             "Deferred then delivered")
    since = stack.log_offsets()
    stack.send_mail("bob@example.test", stack.later_address, msg)
    reason = stack.wait_deferred(stack.later_address, since)
    assert "later-lmtp" in reason, reason
    # the socket appears (a link to Dovecot's LMTP): the retry delivers it
    os.symlink(stack.lmtp_socket, stack.later_lmtp_socket)
    try:
        stack.postfix_flush()
        got = stack.wait_mail("carol@example.test",
                              lambda m: m["Message-ID"] == msg["Message-ID"])
        assert got["Delivered-To"] == stack.later_address
        stack.wait_queue_empty()
    finally:
        os.unlink(stack.later_lmtp_socket)


def test_dovecot_down_defers_then_delivers(stack):
    stack.daemon_stop("dovecot")
    try:
        msg = stack.make_message("alice@example.test", "bob@example.test",
                                 "Waiting for Dovecot")
        since = stack.log_offsets()
        stack.send_mail("alice@example.test", "bob@example.test", msg)
        stack.wait_deferred("bob@example.test", since)
    finally:
        stack.daemon_start("dovecot")
    stack.postfix_flush()
    stack.wait_mail("bob@example.test",
                    lambda m: m["Message-ID"] == msg["Message-ID"])
    stack.wait_queue_empty()


def test_forumgate_conf_and_userdb(stack):
    conf = {}
    with open(stack.conf_path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                conf[k.strip()] = v.strip()
    assert conf["redis"] == "unix:" + stack.redis_socket
    assert conf["smtp_relay"] == "smtp://127.0.0.1:%d" % stack.smtp_port
    assert conf["webhook_listen"] == "127.0.0.1:%d" % stack.webhook_port
    assert conf["policy_listen"] == "127.0.0.1:%d" % stack.policy_port
    assert conf["forum_url"] == "http://127.0.0.1:%d" % stack.forum_port
    assert conf["webhook_secret"] == stack.webhook_secret
    assert conf["forum_api_key"] == stack.forum_api_key
    assert conf["secret"] == stack.secret
    assert conf["bridge_address"] == stack.bridge_address
    assert conf == stack.config
    # the bridge recipient carries the list in its userdb extra field
    r = subprocess.run(["doveadm", "-c", stack.dovecot_conf, "user",
                        stack.bridge_address], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines()
                  if len(line.split(None, 1)) == 2)
    assert fields.get("forumgate_list") == "forum", r.stdout
    r = subprocess.run(["doveadm", "-c", stack.dovecot_conf, "user",
                        "alice@example.test"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0 and "forumgate_list" not in r.stdout, r.stdout


def test_mlmmj_subscribers(stack):
    assert stack.mlmmj_subscribers() == sorted(
        ["alice@example.test", "bob@example.test", "carol@example.test",
         "bridge@lists.test"])
    stack.mlmmj_subscribe("dave@example.test")
    try:
        assert "dave@example.test" in stack.mlmmj_subscribers()
    finally:
        stack.mlmmj_unsubscribe("dave@example.test")
    assert "dave@example.test" not in stack.mlmmj_subscribers()


def test_no_forumgate_components_in_stock_stack(stack):
    # the self-test stack is stock: nothing optional runs, and Postfix has
    # no policy service configured
    assert stack.started == {"redis"}
    main_cf = open(os.path.join(stack.postfix_dir, "main.cf")).read()
    assert "check_policy_service" not in main_cf
    assert "mail_plugins" not in open(stack.dovecot_conf).read()
