#!/bin/bash
# `make bench` of two builds, alternated in one script, so that a change's effect on a figure is read side by side
# under the same machine load (README, Benchmarks).
# Usage: tools/bench-old-new.sh OLD_REV [NEW_REV=HEAD] [RUNS=3] [BENCH_ARGS="model --default-size-only --rounds 9"]
# Prints each run's per-router lines of the model bench or the sweep bench's verdict line (the bench's last line
# otherwise), then each build's mean telemetry cost (model) or overhead ratio (sweep) over its runs. Nothing else
# should run on the machine.
set -u
old=${1:?usage: tools/bench-old-new.sh OLD_REV [NEW_REV] [RUNS] [BENCH_ARGS]}
new=${2:-HEAD}
runs=${3:-3}
args=${4:-model --default-size-only --rounds 9}
name=bench-old-new
source "$(dirname "$0")/old-new-builds.sh"
for run in $(seq "$runs"); do
  for which in old new; do
    (cd "$work/$which" && make bench ARGS="$args" > "$work/$which-$run.log" 2>&1) || echo "run $run $which failed"
    echo "run $run $which:"
    grep -E '^  [a-z_+]+ +k̄|^sweep: overhead ratio' "$work/$which-$run.log" | sed 's/  */ /g' ||
      tail -1 "$work/$which-$run.log"
  done
done
for which in old new; do
  # "telemetry +2.6% [...]" on each router's line: the mean over routers and runs.
  cat "$work/$which"-*.log | grep -oE 'telemetry [+-][0-9.]+%' | tr -d '+%' |
    awk -v w="$which" '{s += $2; n++} END {if (n) printf "%s: mean telemetry cost %.2f%% over %d router-runs\n", w, s / n, n}'
  # "sweep round i/n: … in W s wall, R s inside recipes: overhead ratio Q; …" of the sweep bench: the means over
  # rounds and runs of the ratio and of the overhead itself, W − R (the ratio also moves with the recipes' speed).
  cat "$work/$which"-*.log | grep -E '^sweep round ' |
    sed -E 's/.* in ([0-9.]+) s wall, ([0-9.]+) s inside recipes: overhead ratio ([0-9.]+);.*/\1 \2 \3/' |
    awk -v w="$which" '{o += $1 - $2; q += $3; n++}
      END {if (n) printf "%s: mean overhead ratio %.3f, mean overhead %.2f s over %d sweeps\n", w, q / n, o / n, n}'
done
echo "logs: $work"
