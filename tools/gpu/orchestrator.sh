#!/usr/bin/env bash
# The bundle's entry point (make gpu-bundle): the bundled orchestrator on the host's libtorch.
#   ./orchestrator.sh smoke --device cuda
#   ./orchestrator.sh sweep --spec experiments/default.yaml --devices cuda:0
# LIBTORCH_LIB: a folder holding libtorch_cpu.so (default: python3's torch/lib). Results go to ./results unless
# ORCHESTRATOR_RESULTS says otherwise.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=libtorch.sh
source "$here/libtorch.sh"
export ORCHESTRATOR_ROOT="$here"
export ORCHESTRATOR_FONT="${ORCHESTRATOR_FONT:-$here/data/DejaVuSans.ttf}"
cd "$here"
exec "$here/app/orchestrator" "$@"
