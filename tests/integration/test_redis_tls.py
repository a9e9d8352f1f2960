"""Redis over TLS, with certificates the test makes.

Skipped where this forumgate build has no TLS for Redis (configure found
no hiredis_ssl: Debian 12's hiredis 0.14). The stack makes a CA, a
server certificate (localhost, 127.0.0.1) and a client certificate with
openssl, and Redis listens with TLS as well; every forumgate program
reaches it there (redis_tls = yes) as its own ACL user. Mail goes from
the list through the plugin to the forum, the admin command answers, and
a wrong CA or a wrong server name is refused with a clear error.
"""

import os
import subprocess
import uuid

from stack import REPO_ROOT, SkipTest, requires, wait_for


def _build_has_tls():
    builddir = os.environ.get("FORUMGATE_BUILDDIR") or REPO_ROOT
    try:
        with open(os.path.join(builddir, "forumgate-config.h")) as f:
            return "#define HAVE_HIREDIS_SSL 1" in f.read()
    except OSError:
        return False


if not _build_has_tls():
    raise SkipTest("this build has no TLS for Redis (hiredis_ssl not "
                   "found by configure)")

STACK_OPTIONS = {"full": True, "redis_tls": True, "redis_acl": True}


def _topic_by_title(stack, title):
    return next((t for t in stack.forum_state()["topics"]
                 if t["title"] == title), None)


def _admin_with(stack, name, **settings):
    """forumgate status with settings replaced: CompletedProcess."""
    with open(stack.conf_path) as f:
        lines = [ln for ln in f if ln.split("=")[0].strip() not in settings]
    conf = stack.path(name + ".conf")
    with open(conf, "w") as f:
        f.write("".join(lines) + "".join("%s = %s\n" % kv
                                         for kv in settings.items()))
    r = subprocess.run([stack.binaries["admin"], "-c", conf, "status"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    with open(stack.path(name + ".log"), "w") as f:
        f.write(r.stdout + r.stderr)
    return r


@requires("bridge", "policyd")
def test_daemons_on_the_tls_port(stack):
    """forumgated and forumgate-policyd are connected to the TLS port."""
    def tls_users():
        users = set()
        for line in stack.redis("CLIENT", "LIST").splitlines():
            f = dict(x.split("=", 1) for x in line.split() if "=" in x)
            if f.get("laddr") == "127.0.0.1:%d" % stack.redis_tls_port:
                users.add(f.get("user"))
        return users if {"fg-bridge", "fg-policyd"} <= users else None
    wait_for(tls_users, timeout=20, what="the daemons on the TLS port")


@requires("plugin", "forumsim", "bridge", "policyd", "admin")
def test_list_mail_over_tls(stack):
    """The plugin queues over TLS, forumgated posts: a topic."""
    title = "TLS topic %s" % uuid.uuid4().hex[:8]
    msg = stack.make_message("Alice Example <alice@example.test>",
                             stack.list_address, title,
                             "Queued through Redis over TLS.\n")
    stack.send_mail("alice@example.test", stack.list_address, msg)
    wait_for(lambda: _topic_by_title(stack, title), timeout=45,
             what="topic %r on the forum" % title)


@requires("admin")
def test_admin_over_tls(stack):
    r = stack.admin("status")
    assert r.returncode == 0, (r.stdout, r.stderr)


@requires("admin")
def test_wrong_ca_refused(stack):
    """A CA that did not sign the server's certificate: refused, and the
    error says why and which setting to check."""
    other = stack.redis_make_ca("other-ca")
    r = _admin_with(stack, "wrong-ca", redis_tls_ca_file=other)
    assert r.returncode != 0, r.stdout
    assert "the server's certificate was refused" in r.stderr, r.stderr
    assert "redis_tls_ca_file" in r.stderr, r.stderr


@requires("admin")
def test_address_matches_ip_entry(stack):
    """No redis_tls_server_name: the host of redis, 127.0.0.1, is
    checked against the certificate's IP entries."""
    r = _admin_with(stack, "by-address", redis_tls_server_name="")
    assert r.returncode == 0, (r.stdout, r.stderr)


@requires("admin")
def test_wrong_server_name_refused(stack):
    r = _admin_with(stack, "wrong-name",
                    redis_tls_server_name="redis.elsewhere.test")
    assert r.returncode != 0, r.stdout
    assert "the server's certificate was refused" in r.stderr, r.stderr


@requires("admin")
def test_client_certificate(stack):
    """With tls-auth-clients yes the client certificate is what lets a
    program in."""
    stack.redis("CONFIG", "SET", "tls-auth-clients", "yes")
    try:
        r = _admin_with(stack, "no-client-cert", redis_tls_cert_file="",
                        redis_tls_key_file="")
        assert r.returncode != 0, r.stdout
        assert "redis_tls_cert_file" in r.stderr, r.stderr
        r = stack.admin("status")
        assert r.returncode == 0, (r.stdout, r.stderr)
    finally:
        stack.redis("CONFIG", "SET", "tls-auth-clients", "optional")


@requires("admin")
def test_plain_client_gets_nothing(stack):
    """Without redis_tls the TLS port does not answer a plain client."""
    r = _admin_with(stack, "plain", redis_tls="no")
    assert r.returncode != 0, r.stdout
