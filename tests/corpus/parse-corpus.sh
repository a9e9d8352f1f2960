#!/bin/sh
# parse-corpus.sh - every real-world message through `forumgate parse`
#
# Runs the built admin command over every *.eml file of the corpus
# directory (FG_CORPUS_DIR, the Discourse incoming-mail fixtures), in
# each post format, and checks that it exits 0 and prints one JSON
# object with a classification. Under an ASan/UBSan build (see
# scripts/asan-check) a memory error, undefined behaviour or a leak
# makes the command fail, and so this test.
#
# The last line is "N passed, N failed" (one per file).
# Exit status: 0 all parsed, 1 a failure, 77 (skipped) when the corpus
# directory is absent.
builddir=${FORUMGATE_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cmd="$builddir/admin/forumgate"
dir=${FG_CORPUS_DIR:-}
py=${PYTHON3:-python3}

if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "parse-corpus: FG_CORPUS_DIR not set or absent, skipped"
	exit 77
fi
if [ ! -x "$cmd" ]; then
	echo "parse-corpus: $cmd not built"
	exit 1
fi
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT INT TERM

files=0 failed=0
for f in "$dir"/*.eml; do
	[ -f "$f" ] || continue
	files=$((files + 1))
	n=$files
	echo "$f" >>"$out/files"
	for format in markdown bbcode html; do
		rc=0
		"$cmd" -c /dev/null parse --format "$format" "$f" \
		    >"$out/$n.$format.json" 2>"$out/err" || rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL $f ($format): exit $rc: $(head -c 2000 "$out/err")"
			echo "$f" >>"$out/bad"
			failed=$((failed + 1))
			rm -f "$out/$n.$format.json"
		elif [ -s "$out/err" ]; then
			echo "FAIL $f ($format): stderr: $(head -c 2000 "$out/err")"
			echo "$f" >>"$out/bad"
			failed=$((failed + 1))
		fi
	done
done
# one interpreter for all the JSON checks
if ! "$py" -c '
import glob, json, os, sys
bad = 0
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    fmt = p.rsplit(".", 2)[1]
    try:
        d = json.load(open(p))
        assert d["classification"] in ("post", "own", "auto-reply",
                                       "bounce"), d["classification"]
        assert d["format"] == fmt, d["format"]
        for k in ("message_id", "title", "body", "trimmed", "reason"):
            assert isinstance(d[k], str), k
        assert d["title"] != ""
    except Exception as e:
        print("FAIL %s: %r" % (p, e))
        bad += 1
        names = open(os.path.join(sys.argv[1], "files")).read().split("\n")
        index = int(os.path.basename(p).split(".")[0])
        with open(os.path.join(sys.argv[1], "bad"), "a") as f:
            f.write(names[index - 1] + "\n")
sys.exit(1 if bad else 0)
' "$out"; then
	failed=$((failed + 1))
fi
echo "parse-corpus: $files files, 3 formats each, $failed failures"
# the runners' summary line, counted by scripts/test-all: one per file
bad=0
[ -f "$out/bad" ] && bad=$(sort -u "$out/bad" | wc -l)
echo "$((files - bad)) passed, $bad failed"
[ "$files" -gt 0 ] && [ "$failed" -eq 0 ]
