#!/bin/bash
# `make sweep` of two builds, alternated in one script, each run in a fresh results folder (README, Benchmarks).
# Usage: tools/sweep-old-new.sh OLD_REV [NEW_REV=HEAD] [ROUNDS=2] [SPEC=experiments/default.yaml] [ARGS=""]
# ARGS overrides the spec as `make sweep ARGS=...` does, e.g. "pretrain.steps=300 seeds=[0]" for a shorter sweep.
# Prints one line per run: round, build, exit code, wall seconds, and the seconds its workers spent inside the
# recipes of each job kind (jobs.provenance_json's recipe_seconds); after each round, whether the two builds' results
# are the same bit for bit, timings aside (tools/compare-results.py). Nothing else should run on the machine.
set -u
old=${1:?usage: tools/sweep-old-new.sh OLD_REV [NEW_REV] [ROUNDS] [SPEC] [ARGS]}
new=${2:-HEAD}
rounds=${3:-2}
spec=${4:-experiments/default.yaml}
overrides=${5:-}
name=sweep-old-new
source "$(dirname "$0")/old-new-builds.sh"
recipes="SELECT kind || ' ' || printf('%.1f', sum(json_extract(provenance_json, '$.recipe_seconds'))) || ' s'"
recipes="$recipes FROM jobs GROUP BY kind ORDER BY kind"
for round in $(seq "$rounds"); do
  for which in old new; do
    results="$work/results-$which-$round"
    start=$(date +%s.%N)
    (cd "$work/$which" && ORCHESTRATOR_RESULTS="$results" make sweep SPEC="$spec" ARGS="$overrides" \
      > "$work/$which-$round.log" 2>&1)
    rc=$?
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    jobs=$(cd "$work/$which" && ORCHESTRATOR_RESULTS="$results" make -s query SQL="$recipes" FORMAT=csv 2>/dev/null |
      tail -n +2 | paste -sd, -)
    echo "round $round $which rc=$rc $wall s; recipes: $jobs"
  done
  # The two builds' results, row by row (tools/compare-results.py): the last line says whether they are equal.
  python3 "$repo/tools/compare-results.py" "$work/results-old-$round/orchestrator.db" \
    "$work/results-new-$round/orchestrator.db" > "$work/compare-$round.txt" 2>&1
  echo "round $round results: $(tail -1 "$work/compare-$round.txt") ($work/compare-$round.txt)"
done
echo "logs and results: $work"
