#!/usr/bin/env bash
# Prints one hash of every input of the build (sources, projects, props, schema, settings): path, size and
# modification time of each, so that `make` rebuilds after any change and skips the build (≈25 s of MSBuild)
# when nothing changed. Run from the repository root, or give it as $1.
set -eu    # (no pipefail: a missing optional path must not stop the hash)
cd "${1:-$(dirname "$0")/..}"
find src tests build Directory.Build.props Directory.Build.targets Directory.Packages.props global.json \
     Orchestrator.sln -type f \
     \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.sql' \
        -o -name '*.json' -o -name '*.sln' -o -name '*.jsonl' -o -name '*.sh' \) \
     -not -path '*/bin/*' -not -path '*/obj/*' -printf '%p %s %T@\n' 2>/dev/null | LC_ALL=C sort | sha256sum \
  | cut -d' ' -f1
