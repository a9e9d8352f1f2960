#!/bin/sh
# selftest.sh - the forum simulator's own tests; skipped (77) when the
# published API contracts (../shared/contracts beside the source tree)
# are not there, as in a distribution tarball.
here=$(cd "$(dirname "$0")" && pwd)
contract="$here/../../../shared/contracts/discourse-openapi.json"
if [ ! -f "$contract" ]; then
	echo "forumsim: $contract not found: skipped"
	exit 77
fi
exec "${PYTHON3:-python3}" "$here/forumsim.py" --self-test
