"""Postfix's smtp-sink as the relay of a fan-out test or benchmark.

SmtpSink(stack) starts /usr/sbin/smtp-sink on a free 127.0.0.1 port as a
process of the stack (stopped with it, and by its watchdog), as root with
`-u nobody` (TEST-STACK.md), appending every mail transaction to a dump
file (`-D`). recipients() reads that file: a Counter of the RCPT TO
addresses of every transaction the sink accepted, so a test sees who got
a message and who got it more than once.
"""

import collections
import os
import pwd
import re

import stack as stack_module

SMTP_SINK = "/usr/sbin/smtp-sink"

_RCPT = re.compile(r"^X-Rcpt-Args: <([^>]*)>", re.M)


class SmtpSink:
    def __init__(self, stack, name="smtp-sink"):
        if not os.path.exists(SMTP_SINK):
            raise stack_module.SkipTest("%s is not installed" % SMTP_SINK)
        self.stack = stack
        self.name = name
        self.port = stack_module._free_port()
        self.dir = stack.path(name)
        self.dump = os.path.join(self.dir, "dump")
        os.makedirs(self.dir, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)

    def start(self):
        """Start the sink and wait until it listens."""
        argv = [SMTP_SINK, "-u", "nobody", "-D", self.dump, "-m", "64",
                "127.0.0.1:%d" % self.port, "256"]
        self.stack._spawn(self.name, argv, self.name + ".log")
        self.stack._wait_port(self.name, self.port)
        return self

    def stop(self):
        self.stack._stop_proc(self.name)

    @property
    def relay(self):
        return "smtp://127.0.0.1:%d" % self.port

    def recipients(self):
        """Counter: RCPT TO address -> transactions accepted for it."""
        try:
            with open(self.dump, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return collections.Counter()
        return collections.Counter(m.lower() for m in _RCPT.findall(text))

    def reset(self):
        """Forget what was received so far."""
        try:
            os.truncate(self.dump, 0)
        except FileNotFoundError:
            pass
