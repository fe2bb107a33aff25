#!/usr/bin/env python3
"""The PyTorch eager twin of Orchestrator's model, for one number: our training step time over PyTorch's.

Same architecture as src/Orchestrator.Moe (Mixtral-style decoder: RMSNorm, rotary attention through
scaled_dot_product_attention, a top-k MoE block with SwiGLU experts and the Switch balance loss, ragged dropless
dispatch with one host sync for the per-expert counts), same shapes, same random batch size, same optimiser step
(AdamW, gradient clipping at grad_clip, the loss read back every step). Shapes and settings come from the JSON
`orchestrator bench step` wrote (--like), so both sides time the same thing; the output has the same fields.

    python3 twin.py --like results/bench/step_cuda_top_k.json --out twin.json
"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):                                   # x: (..., d); the mean of squares in float32
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class Rotary:
    def __init__(self, head_dim, context, theta, device, dtype):
        inv = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        freqs = torch.outer(torch.arange(context, dtype=torch.float64), inv)
        emb = torch.cat([freqs, freqs], -1)                # (S, d_head), "rotate half" layout
        self.cos, self.sin = emb.cos().to(device, dtype), emb.sin().to(device, dtype)

    def apply(self, x):                                     # x: (B, H, S, d_head)
        s, half = x.shape[2], x.shape[3] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * self.cos[:s] + rotated * self.sin[:s]


class Attention(nn.Module):
    def __init__(self, d, heads, rope):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.heads, self.rope = heads, rope

    def forward(self, x):
        b, s, d = x.shape
        heads = lambda t: t.view(b, s, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = self.rope.apply(heads(self.q_proj(x))), self.rope.apply(heads(self.k_proj(x))), heads(self.v_proj(x))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).contiguous().view(b, s, d))


class Expert(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.w1, self.w2, self.w3 = nn.Linear(d, hidden, bias=False), nn.Linear(hidden, d, bias=False), \
            nn.Linear(d, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MoeBlock(nn.Module):
    def __init__(self, d, experts, hidden, k, balance_coef):
        super().__init__()
        self.gate = nn.Linear(d, experts, bias=False)
        self.experts = nn.ModuleList(Expert(d, hidden) for _ in range(experts))
        self.k, self.n, self.alpha = k, experts, balance_coef

    def forward(self, x):
        b, s, d = x.shape
        h = x.reshape(-1, d)                                                 # (T, d)
        t = h.shape[0]
        probs = self.gate(h).float().softmax(-1)                            # (T, N), routing in float32
        vals, idx = probs.topk(self.k, dim=-1)
        mask = torch.zeros_like(probs).scatter_add(1, idx, torch.ones_like(vals))
        weights = torch.zeros_like(probs).scatter_add(1, idx, vals / vals.sum(-1, keepdim=True).clamp_min(1e-9))
        counts_t = mask.sum(0)
        balance = self.alpha * self.n * ((counts_t / counts_t.sum().clamp_min(1)) * probs.mean(0)).sum()
        pairs = mask.t().nonzero()                                           # (P, 2): [expert, token], expert-major
        expert_ids, token_ids = pairs[:, 0], pairs[:, 1]
        counts = counts_t.long().cpu().tolist()                              # the one host sync
        w = weights.t().reshape(-1).index_select(0, expert_ids * t + token_ids).to(h.dtype)
        xs = h.index_select(0, token_ids)
        outs, start = [], 0
        for e, c in enumerate(counts):
            if c:
                outs.append(self.experts[e](xs.narrow(0, start, c)))
                start += c
        y = torch.zeros_like(h).index_add(0, token_ids, torch.cat(outs) * w.unsqueeze(1))
        return y.view(b, s, d), balance


class Layer(nn.Module):
    def __init__(self, c, rope):
        super().__init__()
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(c["d_model"]), RMSNorm(c["d_model"])
        self.self_attn = Attention(c["d_model"], c["heads"], rope)
        self.block_sparse_moe = MoeBlock(c["d_model"], c["experts"], c["expert_hidden"], c["k"], c["balance_coef"])

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        y, aux = self.block_sparse_moe(self.post_attention_layernorm(x))
        return x + y, aux


class Model(nn.Module):
    def __init__(self, c, device, dtype):
        super().__init__()
        rope = Rotary(c["d_model"] // c["heads"], c["context"], c["rope_theta"], device, dtype)
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["d_model"])
        self.layers = nn.ModuleList(Layer(c, rope) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["d_model"])
        self.lm_head = nn.Linear(c["d_model"], c["vocab_size"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0, 0.02)

    def forward(self, tokens):
        x, aux = self.embed_tokens(tokens), 0
        for layer in self.layers:
            x, a = layer(x)
            aux = aux + a
        return self.lm_head(self.norm(x)).float(), aux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--like", required=True, help="the JSON `orchestrator bench step` wrote")
    ap.add_argument("--out", help="write the result here as JSON")
    ap.add_argument("--phases", action="store_true", help="also time forward, backward, optimizer and read-back "
                    "apart, synchronising the device between them (as `bench step --phases`)")
    a = ap.parse_args()
    c = json.load(open(a.like))
    if c["router"] != "top_k" or c["moe_layers"] != "all" or c["shared_experts"]:
        raise SystemExit("twin.py implements top_k with every layer MoE and no shared experts")
    device = torch.device("cuda" if c["device"].startswith("cuda") else "cpu")
    dtype = torch.bfloat16 if c["dtype"] == "bfloat16" else torch.float32
    torch.manual_seed(0)
    model = Model(c, device, dtype).to(device=device, dtype=dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=c["weight_decay"])
    batch = torch.randint(c["vocab_size"], (c["batch"], c["context"] + 1), device=device)
    times, phases, last = [], {}, [time.perf_counter()]

    def mark(name):                                          # --phases: sync, then the time since the last mark
        if a.phases:
            if device.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            phases.setdefault(name, []).append((now - last[0]) * 1000)
            last[0] = now

    for step in range(c["warmup"] + c["steps"]):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits, aux = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        mark("forward")
        (loss + aux).backward()
        mark("backward")
        if c["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        mark("optimizer")
        value = loss.item()                                  # the loss read back, as our trainer does
        if not math.isfinite(value):
            raise SystemExit(f"loss {value} at step {step}")
        mark("readback")
        if step >= c["warmup"]:
            times.append((time.perf_counter() - t0) * 1000)
    median = statistics.median(times)
    phase_ms = {k: statistics.median(v[c["warmup"]:]) for k, v in phases.items()} if a.phases else None
    tokens = c["batch"] * c["context"]
    out = {k: c[k] for k in ("router", "device", "dtype", "layers", "d_model", "heads", "experts", "expert_hidden",
                             "vocab_size", "batch", "context", "warmup")}
    out.update(implementation=f"PyTorch {torch.__version__} eager", steps=len(times), median_step_ms=median,
               tokens_per_second=tokens / median * 1000, step_ms=times, phases_ms=phase_ms,
               gpu=torch.cuda.get_device_name(0) if device.type == "cuda" else None)
    print(f"twin: PyTorch {torch.__version__} eager, {c['layers']}×d{c['d_model']} {c['dtype']} on {device}: "
          f"median {median:.2f} ms ({tokens / median * 1000:.0f} tokens/s)" + (
              "; synchronised phases: " + ", ".join(f"{k} {v:.2f} ms" for k, v in phase_ms.items()) if phase_ms else ""))
    if a.out:
        json.dump(out, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
