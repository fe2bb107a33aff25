#!/usr/bin/env bash
# The GPU run recorded in docs/gpu-run.md, as one script to run inside an unpacked bundle (make gpu-bundle) on a
# machine with an NVIDIA GPU and a Python PyTorch: the machine, libtorch (TorchSharp's native library rebuilt for it
# when needed), the CUDA smoke test, our training step against the PyTorch eager twin (tools/gpu/twin.py) at the
# GPU spec's size in float32 and bfloat16 and at the default size on the GPU and on the CPU, the default sweep on
# cuda:0, then a few hundred steps of the GPU spec's model in bfloat16 (experiments/gpu-check.yaml). STAGES picks
# stages (default: smoke steps default mixtral; also: phases, our step with TorchSharp's per-tensor AdamW and both
# sides' forward, backward, optimizer and read-back timed apart; telemetry, our step with and without the training
# telemetry beside the twin's; hf, tiny Hugging Face checkpoints through transformers, NumPy and ours on cuda;
# pretrained, experiments/pretrained-tiny.yaml on cuda:0). Each stage has a time limit inside DEADLINE seconds (default 480), so that what ran is always
# collected: OUT (default ./gpu-run) receives log.txt, smoke.json, orchestrator.db (checkpointed: a sweep stopped at
# its limit leaves its last writes in the WAL), reports.tgz (reports, job logs, step timings) and the rebuilt
# libLibTorchSharp.so.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
out=${OUT:-$here/gpu-run}
mkdir -p "$out" "$here/steps"
exec > >(tee -a "$out/log.txt") 2>&1
began=$(date +%s)
deadline=${DEADLINE:-480}
left() { echo $(( deadline - ($(date +%s) - began) )); }
# limit CAP: the stage's cap, or what is left before the deadline less 25 s for collecting.
limit() { local l=$(( $(left) - 25 )); [ "$l" -lt "$1" ] && echo $(( l > 5 ? l : 5 )) || echo "$1"; }
stage() { echo; echo "== $1 (t+$(( $(date +%s) - began )) s)"; }
run() { local cap=$1; shift; timeout --kill-after=10 "$(limit "$cap")" "$@"; echo "-> exit $?"; }
stages=" ${STAGES:-smoke steps default mixtral} "
want() { [[ "$stages" == *" $1 "* ]]; }

stage "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu",
torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' || true
echo "cpus $(nproc), $(uname -r), commit $(cat source-commit.txt)"

stage "libtorch and TorchSharp's native library"
run 300 ./orchestrator.sh --version
[ -f app/libLibTorchSharp.so.shipped ] && cp app/libLibTorchSharp.so "$out/"
[ -f native-build/build.log ] && tail -5 native-build/build.log

if want smoke; then
  stage "smoke test on cuda"
  run 120 ./orchestrator.sh smoke --device cuda --json "$out/smoke.json"
fi

ours() {   # ours NAME SPEC DEVICE DTYPE [bench step flags]: our step, kept as steps/ours-NAME.json
  local name=$1 spec=$2 device=$3 dtype=$4; shift 4
  run 90 ./orchestrator.sh bench step --spec "$spec" --device "$device" ${dtype:+--dtype $dtype} --steps 30 "$@" &&
    cp "$(ls -t results/bench/step_*.json | head -1)" "steps/ours-$name.json"
}
twin() {   # twin NAME [twin.py flags]: the PyTorch eager twin on the shapes of steps/ours-NAME.json
  local name=$1; shift
  run 90 python3 twin.py --like "steps/ours-$name.json" --out "steps/twin-$name.json" "$@"
}
step() {   # step NAME SPEC DEVICE [DTYPE]: ours, then the twin on the same shapes
  ours "$1" "$2" "$3" "${4:-}" && twin "$1"
}
if want steps; then
  stage "training step: ours against PyTorch eager"
  step mixtral-fp32 experiments/gpu-small-mixtral.yaml cuda
  step mixtral-bf16 experiments/gpu-small-mixtral.yaml cuda bfloat16
  step default-cuda experiments/default.yaml cuda
  step default-cpu experiments/default.yaml cpu
fi
if want phases; then
  stage "training step: TorchSharp's per-tensor AdamW, and each side's phases timed apart"
  for dt in fp32 bf16; do
    dtype=$([ $dt = bf16 ] && echo bfloat16 || echo "")
    ours mixtral-$dt-per-tensor experiments/gpu-small-mixtral.yaml cuda "$dtype" --optimizer per-tensor
    ours mixtral-$dt-phases experiments/gpu-small-mixtral.yaml cuda "$dtype" --phases &&
      twin mixtral-$dt-phases --phases
  done
fi
if want telemetry; then
  stage "training step: what the per-step routing telemetry costs"
  step mixtral-fp32 experiments/gpu-small-mixtral.yaml cuda
  ours mixtral-fp32-no-telemetry experiments/gpu-small-mixtral.yaml cuda "" --telemetry off
fi
python3 - <<'PY' || true
import glob, json, os, re
for ours in sorted(glob.glob("steps/ours-*.json")):
    name = os.path.basename(ours)[5:-5]
    o = json.load(open(ours))
    line = f"{name:24} ours {o['median_step_ms']:8.2f} ms ({o['tokens_per_second']:9.0f} tok/s)"
    twin = f"steps/twin-{re.sub('-(no-telemetry|per-tensor)$', '', name)}.json"
    if os.path.exists(twin):
        t = json.load(open(twin))
        line += f"  PyTorch {t['median_step_ms']:8.2f} ms  ratio {o['median_step_ms'] / t['median_step_ms']:.3f}"
        if o.get("phases_ms") and t.get("phases_ms"):
            line += "\n    phases ours/PyTorch ms: " + ", ".join(
                f"{k} {v:.2f}/{t['phases_ms'].get(k, float('nan')):.2f}" for k, v in o["phases_ms"].items())
    print(line)
PY

if want default; then
  stage "default sweep on cuda:0"
  run 210 ./orchestrator.sh sweep --spec experiments/default.yaml --devices cuda:0 --jobs-per-device 4 \
    execution.cpu_fallback=false
fi
if want hf; then
  stage "Hugging Face checkpoints: transformers (if installed), the NumPy reference and ours on cuda"
  run 150 python3 hf_check.py --out "$out/hf-check.json"
fi
if want pretrained; then
  stage "pretrained tiny checkpoints, five routers each, on cuda:0 (experiments/pretrained-tiny.yaml)"
  run 150 ./orchestrator.sh sweep --spec experiments/pretrained-tiny.yaml --devices cuda:0 --jobs-per-device 4 \
    execution.cpu_fallback=false
fi
if want mixtral; then
  stage "the GPU spec's model, a few hundred steps, bfloat16 (experiments/gpu-check.yaml)"
  run 230 ./orchestrator.sh sweep --spec experiments/gpu-check.yaml
fi

stage "collect"
./orchestrator.sh query --format csv "SELECT sweep, router, knobs, seed, status, accuracy, eval_loss,
  mean_experts_per_token FROM run_summary ORDER BY sweep, router, seed" || true
python3 -c 'import sqlite3; sqlite3.connect("results/orchestrator.db").execute("PRAGMA wal_checkpoint(TRUNCATE)")' &&
  cp results/orchestrator.db "$out/"
tar -czf "$out/reports.tgz" steps results/default results/gpu-check results/pretrained-tiny results/jobs \
  results/bench 2>/dev/null
ls -la "$out"
echo "gpu-check: done in $(( $(date +%s) - began )) s"
