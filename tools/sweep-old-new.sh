#!/bin/bash
# `make sweep` of two builds, alternated in one script, each run in a fresh results folder (README, Benchmarks).
# Usage: tools/sweep-old-new.sh OLD_REV [NEW_REV=HEAD] [ROUNDS=2] [SPEC=experiments/default.yaml]
# Prints one line per run: round, build, exit code, wall seconds. Nothing else should run on the machine.
set -u
old=${1:?usage: tools/sweep-old-new.sh OLD_REV [NEW_REV] [ROUNDS] [SPEC]}
new=${2:-HEAD}
rounds=${3:-2}
spec=${4:-experiments/default.yaml}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sweep-old-new.XXXXXX)
for which in old new; do
  rev=$([ "$which" = old ] && echo "$old" || echo "$new")
  git clone -q "$repo" "$work/$which" && git -C "$work/$which" checkout -q "$rev"
  (cd "$work/$which" && make setup > "$work/$which-setup.log" 2>&1) || { echo "setup of $rev failed"; exit 1; }
done
for round in $(seq "$rounds"); do
  for which in old new; do
    start=$(date +%s.%N)
    (cd "$work/$which" && ORCHESTRATOR_RESULTS="$work/results-$which-$round" make sweep SPEC="$spec" \
      > "$work/$which-$round.log" 2>&1)
    rc=$?
    echo "round $round $which rc=$rc $(echo "$(date +%s.%N) - $start" | bc) s"
  done
done
echo "logs and results: $work"
