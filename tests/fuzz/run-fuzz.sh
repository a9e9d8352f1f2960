#!/bin/sh
# Build the libFuzzer target of the policy request parser with clang and
# run it for FG_FUZZ_SECONDS (default 30), seeded with the golden
# request files in tests/policy and tests/fuzz/corpus. Exit 77 (skipped)
# without clang's libFuzzer. A crash leaves its input in the build
# directory (tests/fuzz/crash-*) and fails. The parser and what it
# calls are built here with the sanitizers; the rest of the library
# comes from the built shared/.libs/libforumgate.a.
set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${FORUMGATE_BUILDDIR:-$srcdir}
out=$builddir/tests/fuzz
seconds=${FG_FUZZ_SECONDS:-30}
CC=${FUZZ_CC:-clang}

command -v "$CC" >/dev/null 2>&1 || { echo "no $CC: fuzzing skipped"; exit 77; }
mkdir -p "$out" || exit 1
hdrdir=$builddir
[ -f "$hdrdir/forumgate-config.h" ] || hdrdir=$srcdir
s=$srcdir/shared
if ! "$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$s" -I"$hdrdir" $(pkg-config --cflags hiredis 2>/dev/null) \
	-o "$out/fuzz_policy" "$srcdir/tests/fuzz/fuzz_policy.c" \
	"$s/fg-policy.c" "$s/fg-common.c" "$s/fg-verp.c" "$s/fg-msgid.c" \
	"$builddir/shared/.libs/libforumgate.a" \
	$(pkg-config --libs hiredis gmime-3.0 jansson libcurl libcrypto) \
	2>"$out/fuzz-build.log"; then
	if grep -q "libclang_rt.fuzzer\|fsanitize=fuzzer" "$out/fuzz-build.log"; then
		echo "clang without libFuzzer: fuzzing skipped"; exit 77
	fi
	cat "$out/fuzz-build.log"; exit 1
fi
work=$(mktemp -d /tmp/fg-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cd "$out" || exit 1
./fuzz_policy -max_total_time="$seconds" -max_len=40000 -timeout=10 \
	-rss_limit_mb=1024 -print_final_stats=1 \
	"$work" "$srcdir/tests/fuzz/corpus" "$srcdir/tests/policy" \
	>"$out/fuzz.log" 2>&1
status=$?
tail -n 12 "$out/fuzz.log"
exit $status
