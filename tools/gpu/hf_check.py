#!/usr/bin/env python3
"""The GPU run's checkpoint check (gpu-check.sh, stage hf): tiny checkpoints of each architecture written by
tools/hf_tiny.py, then three forward passes compared on the same prompts —
  the NumPy reference (hf_tiny.py forward, float64, written from the modeling code),
  transformers' own model classes (AutoModelForCausalLM, float32), when transformers is installed,
  ours (orchestrator score, float32, on cuda) — its per-token log-probabilities.
Writes a JSON summary: for each architecture the largest |Δlogit| (transformers vs NumPy) and |Δlog p| (ours vs
NumPy)."""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--device", default="cuda")
args = ap.parse_args()
corpus = os.path.join(here, ".cache/fortunes/usr/share/games/fortunes/fortunes")
prompts = [[1, 2, 3, 4, 5, 6, 7, 8], [200, 17, 17, 300, 42, 9, 100, 101, 250, 3, 77, 0], [90, 91, 92, 93, 94, 95]]
try:
    import torch, transformers
    from transformers import AutoModelForCausalLM
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
except Exception as e:  # noqa: BLE001 — absent or broken: the check says so and goes on without it
    transformers, versions = None, {"transformers": f"unavailable: {e}"}


def log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


summary = {"versions": versions, "architectures": {}}
for arch, layout in (("mixtral", "per_expert"), ("mixtral", "packed"), ("qwen2_moe", "per_expert"),
                     ("olmoe", "per_expert")):
    folder = tempfile.mkdtemp(prefix=f"hf-{arch}-{layout}-")
    subprocess.run([sys.executable, os.path.join(here, "hf_tiny.py"), "write", "--arch", arch, "--out", folder,
                    "--corpus", corpus, "--layout", layout], check=True)
    ref = json.loads(subprocess.run([sys.executable, os.path.join(here, "hf_tiny.py"), "forward", folder]
                                    + sum([["--tokens", ",".join(map(str, p))] for p in prompts], []),
                                    check=True, capture_output=True, text=True).stdout)["logits"]
    row = {}
    if transformers is not None and layout == "per_expert":
        try:
            model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
            with torch.no_grad():
                row["transformers_vs_numpy_max_abs_logit"] = max(
                    float(np.abs(model(torch.tensor([p])).logits[0].double().numpy() - np.array(r)).max())
                    for p, r in zip(prompts, ref))
        except Exception as e:  # noqa: BLE001
            row["transformers_error"] = str(e)[:300]
    worst = 0.0
    for p, r in zip(prompts, ref):
        out = subprocess.run([os.path.join(here, "orchestrator.sh"), "score", "--model", "hf:" + folder, "--tokens",
                              ",".join(map(str, p)), "--device", args.device], capture_output=True, text=True)
        if out.returncode != 0:
            row["ours_error"] = out.stderr[-300:]
            break
        scored = json.loads(out.stdout)["scored"]
        lp = log_softmax(r)
        worst = max(worst, max(abs(scored[t]["logprob"] - lp[t - 1][p[t]]) for t in range(1, len(p))))
    row[f"ours_{args.device}_vs_numpy_max_abs_logprob"] = worst
    summary["architectures"][f"{arch}/{layout}"] = row
    print(arch, layout, row, flush=True)
json.dump(summary, open(args.out, "w"), indent=2)
