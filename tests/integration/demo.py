"""A round trip a person can follow: starts the private stack (Redis,
Postfix, Dovecot with the forumgate plugin, an mlmmj list, the policy
daemon, the bridge daemon and the Discourse simulator), sends a list
mail, shows the forum topic it became, answers it on the forum, and
shows the headers of the mail that reached a subscriber. Stops
everything at the end.

    python3 tests/integration/demo.py [--builddir DIR] [--keep]
"""

import argparse
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import Stack, install_signal_handlers, wait_for  # noqa: E402


def say(text=""):
    print(text, flush=True)


def step(n, text):
    say()
    say("== %d. %s" % (n, text))


def show(text, indent="   "):
    say(textwrap.indent(text.rstrip("\n"), indent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=None)
    ap.add_argument("--keep", action="store_true",
                    help="keep the stack's directory (logs) afterwards")
    args = ap.parse_args()
    install_signal_handlers()

    with Stack(builddir=args.builddir, full=True, keep=args.keep) as st:
        if st.missing:
            sys.exit("demo: not built: %s (run scripts/build)"
                     % ", ".join(st.missing))
        step(1, "The stack is up in %s" % st.dir)
        show("Postfix smtpd    127.0.0.1:%d (policy: forumgate-policyd)\n"
             "Dovecot LMTP     with lib95_forumgate_plugin.so\n"
             "mlmmj list       %s, subscribers: %s\n"
             "forumgated       webhooks on 127.0.0.1:%d\n"
             "forum simulator  %s (Discourse API)\n"
             "Redis            %s/redis.sock"
             % (st.smtp_port, st.list_address, ", ".join(st.subscribers),
                st.webhook_port, st.forum_url, st.dir))

        title = "Welcome to the forumgate demo"
        body = ("Hello everyone,\n\nthis message was sent to the mailing "
                "list and should appear\non the forum as a new topic.\n\n"
                "-- \nAlice\n")
        msg = st.make_message("Alice Example <alice@example.test>",
                              st.list_address, title, body)
        step(2, "alice@example.test mails the list %s" % st.list_address)
        show("Subject: %s\nMessage-ID: %s" % (title, msg["Message-ID"]))
        st.send_mail("alice@example.test", st.list_address, msg)
        show("Postfix accepted it (the policy daemon found alice a member);\n"
             "mlmmj sent the list copy to bridge@lists.test, Dovecot LMTP\n"
             "handed it to the plugin, which queued it in Redis.")

        def topic():
            for t in st.forum_state()["topics"]:
                if t["title"] == title:
                    return t
            return None
        t = wait_for(topic, timeout=30, what="the forum topic")
        step(3, "forumgated posted it: forum topic #%d" % t["id"])
        p = t["posts"][0]
        show("title: %s\npost %d by %s:\n" % (t["title"], p["post_number"],
                                              p["username"]))
        show(p["raw"], indent="   | ")

        step(4, "A forum user, carol_web, answers on the forum")
        reply = "Welcome, Alice! I am answering from the forum web page."
        st.forum_reply(t["id"], reply, username="carol_web",
                       name="Carol Web", reply_to_post_number=1)
        show(reply, indent="   | ")
        show("The forum sent a signed post_created webhook to forumgated,\n"
             "which mailed the post to the list through Postfix.")

        def arrived():
            for m in st.mailbox("bob@example.test"):
                if "Carol Web" in str(m["From"]):
                    return m
            return None
        m = wait_for(arrived, timeout=30, what="the reply in bob's mailbox")
        step(5, "bob@example.test (a subscriber) received it, via mlmmj:")
        for h in ("From", "Reply-To", "To", "Subject", "Date", "Message-ID",
                  "In-Reply-To", "References", "List-Id", "List-Post",
                  "List-Archive"):
            if m[h] is not None:
                show("%s: %s" % (h, " ".join(str(m[h]).split())))
        show("")
        show(m.get_content() if not m.is_multipart() else "(multipart)",
             indent="   | ")
        ok = m["In-Reply-To"].strip() == msg["Message-ID"]
        show("\nIn-Reply-To is alice's Message-ID: %s -> it threads under "
             "her mail in every client." % ("yes" if ok else "NO"))

        step(6, "The state in Redis (see doc/redis-schema.md)")
        for cmd in (("HGETALL", "fg:{forum}:post-msgid"),
                    ("XLEN", "fg:{forum}:in"), ("XLEN", "fg:{forum}:out")):
            show("$ redis-cli %s" % " ".join(cmd))
            show(st.redis(*cmd) or "(empty)", indent="     ")
        say()
        say("demo: round trip complete%s" %
            ("; stack kept in " + st.dir if args.keep else ""))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
