"""Redis of the test stack: which server, ACL users, TLS.

Which server: the environment variable FG_REDIS_SERVER picks it.  Unset
or "redis": /usr/bin/redis-server and redis-cli; "valkey":
/usr/bin/valkey-server and valkey-cli; a path: that server, and the
client beside it named with "-cli" for "-server" (a server without such a
client is an error).  The arguments are the same for each.

Stack(redis_acl=True): Redis starts with an ACL file made from the rules
in doc/redis-acl.md (the ```acl block, read from the file, so the
documentation and the tests cannot drift), each ">CHANGE-ME-..."
replaced by a random password, the default user behind a password
nobody is told (not "off": see doc/redis-acl.md), and one more user for
the test harness itself (every key, channel and command).  Each
forumgate program gets its own user and password file in forumgate.conf
(PROGRAM_redis_user, PROGRAM_redis_password_file; the plugin's file is
readable by the mail user's group, the others by root only).  The
harness's redis-cli and RESP calls authenticate as its user.

Stack(redis_tls=True): the test makes a CA and a server and a client
certificate with openssl (DIR/redis-tls), Redis also listens with TLS
on a free port, and the forumgate programs reach it there (redis_tls =
yes, redis_tls_ca_file, the client certificate and key); the harness
stays on the unix socket.  Without TLS in the forumgate build (configure
found no hiredis_ssl) or in the server, the test is skipped.

This module is a mixin of Stack; README.md has the API.
"""

import os
import re
import secrets
import shutil
import subprocess

ACL_DOC = "doc/redis-acl.md"
HARNESS_USER = "fg-test"
# forumgate program -> its settings prefix in forumgate.conf
ACL_PROGRAMS = ("plugin", "policyd", "bridge", "admin")


class RedisSetupError(Exception):
    pass


def redis_binaries():
    """(server, client) chosen by FG_REDIS_SERVER."""
    choice = os.environ.get("FG_REDIS_SERVER", "") or "redis"
    if choice in ("redis", "valkey"):
        return ("/usr/bin/%s-server" % choice, "/usr/bin/%s-cli" % choice)
    server = os.path.abspath(choice)
    if not server.endswith("-server"):
        raise RedisSetupError("FG_REDIS_SERVER=%s: want redis, valkey or "
                              "the path of a *-server" % choice)
    return server, server[:-len("-server")] + "-cli"


def acl_rules(repo_root):
    """The `user ...` lines of doc/redis-acl.md's ```acl block."""
    path = os.path.join(repo_root, ACL_DOC)
    with open(path) as f:
        text = f.read()
    m = re.search(r"^```acl\n(.*?)^```", text, re.S | re.M)
    if not m:
        raise RedisSetupError("%s has no ```acl block" % path)
    lines = [l for l in m.group(1).splitlines() if l.startswith("user ")]
    if not lines:
        raise RedisSetupError("%s: the ```acl block has no user" % path)
    return lines


class RedisMixin:
    """Redis server choice, ACL users and TLS for Stack."""

    def _redis_init(self, redis_acl, redis_tls):
        self.redis_server, self.redis_cli = redis_binaries()
        self.redis_acl = redis_acl
        self.redis_tls = redis_tls
        self.redis_users = {}           # program -> (user, password)
        self.redis_harness_password = None
        self.redis_tls_port = None
        self.redis_tls_dir = None

    def _redis_prepare(self, free_port):
        """Files the server needs before it starts: ACL file, certificates."""
        if not os.access(self.redis_server, os.X_OK):
            raise RedisSetupError("%s not found (FG_REDIS_SERVER)"
                                  % self.redis_server)
        if self.redis_acl:
            self._redis_write_acl()
        if self.redis_tls:
            self.redis_tls_port = free_port()
            self._redis_make_certs()

    def _redis_server_args(self):
        """Arguments added to the server's command line."""
        args = []
        if self.redis_acl:
            args += ["--aclfile", self.path("redis", "users.acl")]
        if self.redis_tls:
            d = self.redis_tls_dir
            args += ["--tls-port", str(self.redis_tls_port),
                     "--tls-cert-file", os.path.join(d, "server.crt"),
                     "--tls-key-file", os.path.join(d, "server.key"),
                     "--tls-ca-cert-file", os.path.join(d, "ca.crt"),
                     "--tls-auth-clients", "optional"]
        return args

    # -- ACL -----------------------------------------------------------------

    def _redis_write_acl(self):
        lines = []
        for line in acl_rules(self.repo_root):
            user = line.split()[1]
            program = user[len("fg-"):]
            password = secrets.token_hex(16)
            line, n = re.subn(r">CHANGE-ME-\S+", ">" + password, line)
            if n != 1:
                raise RedisSetupError("%s: user %s needs one >CHANGE-ME-"
                                      " password" % (ACL_DOC, user))
            self.redis_users[program] = (user, password)
            lines.append(line)
        missing = set(ACL_PROGRAMS) - set(self.redis_users)
        if missing:
            raise RedisSetupError("%s has no user for %s"
                                  % (ACL_DOC, ", ".join(sorted(missing))))
        self.redis_harness_password = secrets.token_hex(16)
        # the default user keeps every right, behind a password nobody
        # is told: Redis replays the append-only file's MULTI/EXEC as the
        # default user and drops what that user may not run
        # (doc/redis-acl.md)
        lines += ["user default on >%s ~* &* +@all" % secrets.token_hex(16),
                  "user %s on >%s ~* &* +@all"
                  % (HARNESS_USER, self.redis_harness_password)]
        path = self.path("redis", "users.acl")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)

    def redis_acl_setuser(self, program, *rules):
        """ACL SETUSER on a program's user (e.g. "-eval" to take a right)."""
        user = self.redis_users[program][0]
        return self.redis("ACL", "SETUSER", user, *rules)

    def redis_acl_restore(self, program):
        """Put a program's user back as doc/redis-acl.md has it."""
        user, password = self.redis_users[program]
        for line in acl_rules(self.repo_root):
            words = line.split()
            if words[1] == user:
                rules = ["reset"] + [">" + password if w.startswith(">")
                                     else w for w in words[2:]]
                return self.redis("ACL", "SETUSER", user, *rules)
        raise RedisSetupError("no user %s in %s" % (user, ACL_DOC))

    def _redis_password_file(self, program, password):
        path = self.path("redis-%s.pass" % program)
        with open(path, "w") as f:
            f.write(password + "\n")
        # the plugin reads its file as the mail user; the daemons and
        # the admin command run as root here
        if program == "plugin":
            os.chmod(path, 0o640)
            os.chown(path, 0, self.mail_gid)
        else:
            os.chmod(path, 0o600)
        return path

    # -- TLS -----------------------------------------------------------------

    def _openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60,
                           cwd=self.redis_tls_dir)
        if r.returncode != 0:
            raise RedisSetupError("openssl %s: %s" % (args[0], r.stderr))

    def redis_make_ca(self, name):
        """A self-signed CA in DIR/redis-tls/NAME.crt and NAME.key."""
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                      "-days", "2", "-subj", "/CN=forumgate test %s" % name,
                      "-keyout", name + ".key", "-out", name + ".crt")
        return os.path.join(self.redis_tls_dir, name + ".crt")

    def _redis_issue(self, name, subject_alt, usage):
        ext = name + ".ext"
        with open(os.path.join(self.redis_tls_dir, ext), "w") as f:
            f.write("subjectAltName = %s\nextendedKeyUsage = %s\n"
                    % (subject_alt, usage))
        self._openssl("req", "-newkey", "rsa:2048", "-nodes",
                      "-subj", "/CN=%s" % name,
                      "-keyout", name + ".key", "-out", name + ".csr")
        self._openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
                      "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                      "-extfile", ext, "-out", name + ".crt")

    def _redis_make_certs(self):
        if shutil.which("openssl") is None:
            raise RedisSetupError("openssl not found")
        self.redis_tls_dir = self.path("redis-tls")
        os.makedirs(self.redis_tls_dir, exist_ok=True)
        self.redis_make_ca("ca")
        self._redis_issue("server", "DNS:localhost,IP:127.0.0.1",
                          "serverAuth")
        self._redis_issue("client", "DNS:forumgate", "clientAuth")
        # the plugin runs as the mail user
        for f in os.listdir(self.redis_tls_dir):
            p = os.path.join(self.redis_tls_dir, f)
            os.chown(p, 0, self.mail_gid)
            os.chmod(p, 0o640)
        os.chown(self.redis_tls_dir, 0, self.mail_gid)
        os.chmod(self.redis_tls_dir, 0o750)

    # -- forumgate.conf and the harness's client -------------------------------

    def _redis_forumgate_conf(self):
        """forumgate.conf entries for the options."""
        out = []
        if self.redis_tls:
            d = self.redis_tls_dir
            out += [("redis", "127.0.0.1:%d" % self.redis_tls_port),
                    ("redis_tls", "yes"),
                    ("redis_tls_ca_file", os.path.join(d, "ca.crt")),
                    ("redis_tls_cert_file", os.path.join(d, "client.crt")),
                    ("redis_tls_key_file", os.path.join(d, "client.key")),
                    ("redis_tls_server_name", "localhost")]
        for program in ACL_PROGRAMS if self.redis_acl else ():
            user, password = self.redis_users[program]
            out += [("%s_redis_user" % program, user),
                    ("%s_redis_password_file" % program,
                     self._redis_password_file(program, password))]
        return out

    def redis_cli_args(self, *where):
        """redis-cli's arguments to reach the stack's Redis as the harness
        (where: e.g. "-h", "127.0.0.1", "-p", PORT; default its socket)."""
        args = [self.redis_cli] + list(where or ("-s", self.redis_socket))
        if self.redis_harness_password:
            args += ["--user", HARNESS_USER, "--pass",
                     self.redis_harness_password, "--no-auth-warning"]
        return args

    def redis_auth_command(self):
        """The AUTH command the harness sends first, or None."""
        if not self.redis_harness_password:
            return None
        return ["AUTH", HARNESS_USER, self.redis_harness_password]
