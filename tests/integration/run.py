#!/usr/bin/python3
"""Run the forumgate integration tests.

Discovers tests/integration/test_*.py, starts one private stack per test
module (see stack.py), runs every function test_*(stack) of the module and
prints one line per test:

    PASS test_stack.test_local_delivery (0.3s)
    FAIL test_x.test_y: AssertionError: ...      (+ traceback and log tails)
    SKIP test_x.test_z: policyd not built

and at the end `N skipped` (when there are any) and `N passed, N failed`.
Lines starting with '#' are information.  Exit status: 0 when nothing
failed, 1 when something failed, 2 on a usage error, 130 when interrupted.

A test module may define:
    STACK_OPTIONS = {"full": True}     keyword arguments for Stack(...)
    REQUIRES = ("policyd", "bridge")   components without which the whole
                                       module is skipped (no stack started)
and decorate single tests with @requires("forumsim") (from stack).
"""

import argparse
import fnmatch
import glob
import importlib.util
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stack as stackmod  # noqa: E402
from stack import Stack, SkipTest, StackError  # noqa: E402


class TestTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so that wait_for() and broad
    `except Exception` clauses in tests do not swallow it."""


def _on_alarm(signum, frame):
    raise TestTimeout("the test ran longer than --timeout")


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def first_line(text):
    text = str(text).strip()
    return text.splitlines()[0] if text else ""


def describe_exc(e):
    msg = first_line(e)
    return "%s: %s" % (type(e).__name__, msg) if msg else type(e).__name__


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def collect(mod):
    tests = []
    for name, fn in vars(mod).items():
        if name.startswith("test_") and inspect.isfunction(fn) and \
                fn.__module__ == mod.__name__:
            tests.append(fn)
    tests.sort(key=lambda f: f.__code__.co_firstlineno)
    return tests


def selected(fullname, patterns):
    if not patterns:
        return True
    for p in patterns:
        if any(c in p for c in "*?["):
            if fnmatch.fnmatchcase(fullname, p) or \
                    fnmatch.fnmatchcase(fullname.split(".", 1)[1], p):
                return True
        elif p in fullname:
            return True
    return False


class Runner:
    def __init__(self, args):
        self.args = args
        self.passed = self.failed = self.skipped = 0
        self.kept = []

    def out(self, line=""):
        print(line, flush=True)

    def fail(self, name, reason, details=""):
        self.failed += 1
        self.out("FAIL %s: %s" % (name, reason))
        if details.strip():
            self.out(indent(details))

    def skip(self, name, reason):
        self.skipped += 1
        self.out("SKIP %s: %s" % (name, reason))

    def run_module(self, path):
        modname = os.path.splitext(os.path.basename(path))[0]
        try:
            mod = load_module(path)
        except SkipTest as e:
            self.skip(modname, first_line(e) or "skipped")
            return
        except Exception as e:
            self.fail(modname, "cannot import: %s" % describe_exc(e),
                      traceback.format_exc())
            return
        tests = [t for t in collect(mod)
                 if selected("%s.%s" % (modname, t.__name__),
                             self.args.patterns)]
        if not tests:
            return

        options = dict(getattr(mod, "STACK_OPTIONS", None) or {})
        options.setdefault("builddir", self.args.builddir)
        options.setdefault("keep", self.args.keep)
        options.setdefault("debug", self.args.debug)
        probe = Stack(**options)            # finds binaries, starts nothing

        # skip what cannot run before starting anything; under make
        # check (FORUMGATE_REQUIRE_ALL=1) a component that was not built
        # is a failure, not a skip
        def unbuilt(components):
            return [c for c in components if not probe.binaries.get(c)]

        require_all = os.environ.get("FORUMGATE_REQUIRE_ALL") == "1"
        not_run = self.fail if require_all else self.skip
        missing = unbuilt(getattr(mod, "REQUIRES", ()))
        if missing:
            for t in tests:
                not_run("%s.%s" % (modname, t.__name__),
                          "not built: %s" % ", ".join(missing))
            return
        runnable = []
        for t in tests:
            m = unbuilt(getattr(t, "fg_requires", ()))
            if m:
                not_run("%s.%s" % (modname, t.__name__),
                          "not built: %s" % ", ".join(m))
            else:
                runnable.append(t)
        if not runnable:
            return

        st = Stack(**options)
        st.report_kept = False          # summary() lists kept directories
        try:
            try:
                st.start()
            except StackError as e:
                reason = "stack start failed: %s" % first_line(e)
                for i, t in enumerate(runnable):
                    self.fail("%s.%s" % (modname, t.__name__), reason,
                              str(e) if i == 0 else "")
                self.kept.append(st.dir)
                return
            self.out("# %s: stack started in %.2fs in %s%s"
                     % (modname, st.start_seconds, st.dir,
                        (" with " + ", ".join(sorted(st.started - {"redis"})))
                        if st.started - {"redis"} else ""))
            if st.missing:
                self.out("# %s: not built, not started: %s"
                         % (modname, ", ".join(st.missing)))
            if self.args.verbose:
                self.out(indent(st.describe(), "#   "))
                self.out("#   start steps: " + ", ".join(
                    "%s %.3fs" % s for s in st.timings))
            for t in runnable:
                self.run_test(modname, t, st)
                if self.args.exitfirst and self.failed:
                    break
        finally:
            try:
                st.stop()
            except StackError as e:
                self.out("# %s: %s" % (modname, e))
            if st.failed or self.args.keep:
                if st.dir and st.dir not in self.kept:
                    self.kept.append(st.dir)

    def run_test(self, modname, fn, st):
        name = "%s.%s" % (modname, fn.__name__)
        missing = [c for c in getattr(fn, "fg_requires", ())
                   if c not in st.started]
        if missing:
            self.skip(name, "not running: %s" % ", ".join(missing))
            return
        offsets = st.log_offsets()
        nparams = len(inspect.signature(fn).parameters)
        t0 = time.monotonic()
        if self.args.timeout:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.alarm(self.args.timeout)
        try:
            fn(st) if nparams else fn()
        except SkipTest as e:
            self.skip(name, first_line(e) or "skipped")
            return
        except KeyboardInterrupt:
            st.mark_failed()
            raise
        except (Exception, TestTimeout) as e:
            st.mark_failed()
            tb = traceback.format_exc(limit=-8)
            details = tb
            logs = st.logs_since(offsets, lines=self.args.log_lines)
            for logname, text in logs.items():
                details += "--- %s (%s), new lines ---\n%s\n" % (
                    logname, st.log_path(logname), text)
            details += "stack directory: %s\n" % st.dir
            self.fail(name, describe_exc(e), details)
            return
        finally:
            if self.args.timeout:
                signal.alarm(0)
        self.passed += 1
        self.out("PASS %s (%.1fs)" % (name, time.monotonic() - t0))

    def summary(self):
        for d in self.kept:
            if d and os.path.isdir(d):
                self.out("# kept stack directory: %s" % d)
        if self.skipped:
            self.out("%d skipped" % self.skipped)
        self.out("%d passed, %d failed" % (self.passed, self.failed))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run the forumgate integration tests against a private "
                    "Redis/Postfix/Dovecot/mlmmj stack.")
    ap.add_argument("modules", nargs="*",
                    help="test files or module names (default: all "
                         "test_*.py here)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    metavar="PATTERN",
                    help="run only tests whose name (module.function) "
                         "contains PATTERN, or matches it as a glob; may be "
                         "repeated")
    ap.add_argument("--keep", action="store_true",
                    help="keep the stack directories (default: kept only "
                         "when a test failed)")
    ap.add_argument("--builddir", metavar="DIR",
                    default=os.environ.get("FORUMGATE_BUILDDIR")
                    or stackmod.REPO_ROOT,
                    help="where the forumgate binaries are (default: "
                         "$FORUMGATE_BUILDDIR or the repository root)")
    ap.add_argument("--timeout", type=int, default=300, metavar="SECONDS",
                    help="per-test time limit (0: none; default 300)")
    ap.add_argument("--log-lines", type=int, default=30, metavar="N",
                    help="log lines shown per log on failure (default 30)")
    ap.add_argument("--debug", action="store_true",
                    help="Dovecot mail_debug/auth_debug on")
    ap.add_argument("-x", "--exitfirst", action="store_true",
                    help="stop after the first failure")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print stack details and start-up timings")
    ap.add_argument("--list", action="store_true",
                    help="list the selected tests and exit")
    args = ap.parse_args(argv)

    if os.geteuid() != 0:
        # 77: "skipped" for automake's test driver
        print("run.py: skipped: the test stack needs root (Postfix and "
              "Dovecot drop privileges themselves)", file=sys.stderr)
        return 77
    args.builddir = os.path.abspath(args.builddir)
    # test modules may look at the build (test_redis_tls: its TLS)
    os.environ["FORUMGATE_BUILDDIR"] = args.builddir

    if args.modules:
        paths = []
        for m in args.modules:
            p = m if m.endswith(".py") else os.path.join(HERE, m + ".py")
            if not os.path.isfile(p):
                print("run.py: no such test module: %s" % m, file=sys.stderr)
                return 2
            paths.append(os.path.abspath(p))
    else:
        paths = sorted(glob.glob(os.path.join(HERE, "test_*.py")))

    if args.list:
        for p in paths:
            mod = load_module(p)
            for t in collect(mod):
                name = "%s.%s" % (mod.__name__, t.__name__)
                if selected(name, args.patterns):
                    print(name)
        return 0

    stackmod.install_signal_handlers()
    # Ctrl-C must unwind through the stack's cleanup even when the runner
    # was started with SIGINT ignored (e.g. in the background by a script)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    runner = Runner(args)
    t0 = time.monotonic()
    interrupted = False
    try:
        for p in paths:
            runner.run_module(p)
            if args.exitfirst and runner.failed:
                break
    except KeyboardInterrupt:
        interrupted = True
        runner.out("# interrupted")
    runner.out("# total %.1fs" % (time.monotonic() - t0))
    runner.summary()
    if interrupted:
        return 130
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
