#!/usr/bin/env bash
# make test: the test assembly, every test's line as it ends, then the failures again at the very end, so that
# a log cut to its last lines (CI keeps the tail) still says which tests failed and why.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test tests/Orchestrator.Tests/Orchestrator.Tests.csproj -c "${CONFIG:-Release}" -p:Torch="${TORCH:-cpu}" \
    --no-build --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && grep -q '^  Failed ' "$log"; then
    echo
    echo "== the failed tests, as reported above (message, then the first frames) =="
    # A failure's block runs from its "Failed" line to the next test's line.
    awk '/^  Failed /{p=1; n=0} /^  (Passed|Skipped) /{p=0} p && n++ < 25' "$log" | cut -c1-300
    echo "== failed: $(grep -c '^  Failed ' "$log") =="
    grep '^  Failed ' "$log" | sed 's/^  Failed /  /'
fi
exit "$rc"
