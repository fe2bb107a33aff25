#!/bin/bash
# `make sweep` of two builds, alternated in one script, each run in a fresh results folder (README, Benchmarks).
# Usage: tools/sweep-old-new.sh OLD_REV [NEW_REV=HEAD] [ROUNDS=2] [SPEC=experiments/default.yaml]
# Prints one line per run: round, build, exit code, wall seconds. Nothing else should run on the machine.
set -u
old=${1:?usage: tools/sweep-old-new.sh OLD_REV [NEW_REV] [ROUNDS] [SPEC]}
new=${2:-HEAD}
rounds=${3:-2}
spec=${4:-experiments/default.yaml}
name=sweep-old-new
source "$(dirname "$0")/old-new-builds.sh"
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
