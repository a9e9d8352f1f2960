#!/bin/sh
# run-fuzz.sh - build the libFuzzer targets with clang and run each one
#
# usage: run-fuzz.sh [TARGET ...]
#
# TARGET is policy (the policy request parser), mail (fg_mail_parse and
# everything it calls), webhook (the Discourse, generic and NodeBB
# webhook readers), verp (VERP and Message-ID decoding), html (the
# HTML-to-text converter), refusal (the list manager's notices about
# forum posts, fg_refusal_parse), auth (Authentication-Results),
# listmsg (the list's changes to a post, fg-listmsg), transport (the
# routes of smtp_relay and a route's From rewrite), dmarc (DMARC
# records and DNS answers, fg-dmarc) or bounce (delivery reports, fg-bounce); all
# of them when none is named. Each runs
# for FG_FUZZ_SECONDS (default 5) after reading its seeds: the
# committed ones in tests/fuzz/corpus/TARGET, plus for policy the golden
# requests in tests/policy, and for mail the real-world messages in
# FG_CORPUS_DIR and FG_BOUNCE_CORPUS_DIR when those directories exist
# (read in place, never copied into the project). tests/fuzz/TARGET.dict,
# when there is one, names the tokens that uninstrumented libraries
# (GMime, jansson) compare with.
#
# Inputs a run finds go to FG_FUZZ_CORPUS/TARGET when FG_FUZZ_CORPUS is
# set (kept for the next run), else to a temporary directory. A crash,
# leak, timeout or failed assertion leaves the input that caused it in
# the build directory as tests/fuzz/TARGET-crash-* (-leak-, -timeout-,
# -oom-), the log in tests/fuzz/TARGET.log, and fails the run.
# tests/fuzz/README describes long runs.
#
# The code under test and what it calls are built here with
# -fsanitize=fuzzer,address,undefined; the rest of the library comes
# from the built shared/.libs/libforumgate.a. Exit 77 (skipped) without
# clang's libFuzzer.
set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${FORUMGATE_BUILDDIR:-$srcdir}
out=$builddir/tests/fuzz
seconds=${FG_FUZZ_SECONDS:-5}
CC=${FUZZ_CC:-clang}
fuzzdir=$srcdir/tests/fuzz
s=$srcdir/shared

command -v "$CC" >/dev/null 2>&1 || { echo "no $CC: fuzzing skipped"; exit 77; }
mkdir -p "$out" || exit 1
hdrdir=$builddir
[ -f "$hdrdir/forumgate-config.h" ] || hdrdir=$srcdir

# sources - the library files a target builds with the sanitizers
sources() {
	case $1 in
	policy)	echo fg-policy.c fg-net.c fg-common.c fg-verp.c fg-msgid.c ;;
	mail)	echo fg-mailparse.c fg-mailfrom.c fg-auth.c fg-charset.c fg-trim.c \
		fg-trim-lang.c fg-trim-original.c fg-quote.c fg-classify.c fg-listmail.c fg-attach.c \
		fg-html.c fg-text.c fg-subject.c fg-bounce.c fg-bounce-text.c \
		fg-mailpart.c fg-msgid.c fg-verp.c fg-common.c fg-record.c ;;
	webhook) echo fg-webhook.c fg-common.c fg-msgid.c fg-record.c ;;
	verp)	echo fg-verp.c fg-msgid.c fg-common.c ;;
	auth)	echo fg-auth.c fg-common.c ;;
	html)	echo fg-html.c fg-common.c ;;
	refusal) echo fg-refusal.c fg-charset.c fg-attach.c fg-mailpart.c \
		fg-msgid.c fg-verp.c fg-common.c ;;
	bounce)	echo fg-bounce.c fg-bounce-text.c fg-mailpart.c fg-charset.c \
		fg-attach.c fg-classify.c fg-verp.c fg-msgid.c fg-common.c ;;
	listmsg) echo fg-listmsg.c fg-listmsg-body.c fg-listmsg-approve.c \
		fg-listmsg-token.c fg-listmsg-dmarc.c fg-charset.c fg-common.c ;;
	transport) echo fg-transport.c fg-transport-from.c \
		fg-transport-pipe.c fg-common.c ;;
	dmarc)	echo fg-dmarc.c fg-common.c ;;
	digest)	echo fg-digest.c fg-listmsg.c fg-listmsg-body.c \
		fg-listmsg-build.c fg-charset.c fg-html.c fg-common.c ;;
	*)	return 1 ;;
	esac
}

# modules - pkg-config modules a target needs besides the common ones
# (fg-compose, whose address check fg-listmsg uses, renders Markdown)
modules() {
	case $1 in
	listmsg|transport|digest) echo libcmark ;;
	esac
}

# seeds - the seed directories of a target that exist
seeds() {
	echo "$fuzzdir/corpus/$1"
	case $1 in
	policy)	echo "$srcdir/tests/policy" ;;
	bounce)	d=${FG_BOUNCE_CORPUS_DIR:-$srcdir/../shared/corpora/sisimai-bounces}
		[ -d "$d" ] && echo "$d" ;;
	mail)	for d in "${FG_CORPUS_DIR:-$srcdir/../shared/corpora/discourse-emails}" \
		    "${FG_BOUNCE_CORPUS_DIR:-$srcdir/../shared/corpora/sisimai-bounces}"; do
			[ -d "$d" ] && echo "$d"
		done ;;
	esac
}

# build - one target; 77 when clang has no libFuzzer
build() {
	files=
	for f in $(sources "$1"); do
		files="$files $s/$f"
	done
	# shellcheck disable=SC2046,SC2086
	if ! "$CC" -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined \
		-I"$s" -I"$hdrdir" $(pkg-config --cflags hiredis gmime-3.0 \
			jansson 2>/dev/null) \
		-o "$out/fuzz_$1" "$fuzzdir/fuzz_$1.c" $files \
		"$builddir/shared/.libs/libforumgate.a" \
		$(pkg-config --libs hiredis gmime-3.0 jansson libcurl \
			libcrypto libpsl $(modules "$1")) -lresolv \
		2>"$out/fuzz-build.log"; then
		if grep -q "libclang_rt.fuzzer\|fsanitize=fuzzer" \
			"$out/fuzz-build.log"; then
			echo "clang without libFuzzer: fuzzing skipped"
			return 77
		fi
		cat "$out/fuzz-build.log"
		return 1
	fi
}

targets=${*:-policy mail webhook verp html refusal auth listmsg transport dmarc bounce digest}
for t in $targets; do
	sources "$t" >/dev/null || { echo "unknown target $t"; exit 2; }
done
work=$(mktemp -d /tmp/fg-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
status=0
for t in $targets; do
	build "$t"
	ret=$?
	[ $ret -eq 0 ] || exit $ret
	if [ -n "${FG_FUZZ_CORPUS:-}" ]; then
		corpus=$FG_FUZZ_CORPUS/$t
	else
		corpus=$work/$t
	fi
	mkdir -p "$corpus" || exit 1
	dict=
	[ -f "$fuzzdir/$t.dict" ] && dict=-dict=$fuzzdir/$t.dict
	# shellcheck disable=SC2046
	(cd "$out" && ./"fuzz_$t" -max_total_time="$seconds" \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
		-artifact_prefix="$out/$t-" $dict \
		"$corpus" $(seeds "$t")) >"$out/$t.log" 2>&1
	ret=$?
	echo "== $t: exit $ret"
	grep -E "^#[0-9]+.*(DONE|INITED)|No such file|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|^(==[0-9]+==)?ERROR|SUMMARY|deadly signal|Test unit written" \
		"$out/$t.log"
	[ $ret -eq 0 ] || status=1
done
exit $status
