#!/usr/bin/env python3
"""Tiny Hugging Face MoE checkpoints and their reference forward pass, independent of Orchestrator.

Written from the published formats and modeling code only (safetensors' byte layout; transformers'
modeling_mixtral.py, modeling_qwen2_moe.py and modeling_olmoe.py; tokenizers' tokenizer.json), with NumPy
and the standard library, so that the C# loader is checked against something it shares no code with.

  hf_tiny.py write   --arch mixtral|qwen2_moe|olmoe --out DIR --corpus FILE
                     [--layout per_expert|packed] [--dtype float32|bfloat16|float16] [--shards N] [--seed S]
  hf_tiny.py forward DIR --tokens 1,2,3 [--tokens ...]      → JSON: {"logits": [[[...V] per position] per prompt]}
"""
import argparse
import collections
import json
import os
import re
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------------------------------
# safetensors: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, raw bytes.

def bf16_bits(x):
    """float32 → bfloat16 bit patterns (uint16), rounding to nearest even."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        if dtype == "bfloat16":
            raw, tag = bf16_bits(array).tobytes(), "BF16"
        elif dtype == "float16":
            raw, tag = array.astype(np.float16).tobytes(), "F16"
        else:
            raw, tag = array.astype(np.float32).tobytes(), "F32"
        header[name] = {"dtype": tag, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = np.frombuffer(data[lo:hi], dtype={"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[info["dtype"]])
        a = bf16_to_f32(raw) if info["dtype"] == "BF16" else raw.astype(np.float32)
        out[name] = a.reshape(info["shape"]).astype(np.float64)
    return out


def read_folder(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) \
        else ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(os.path.join(folder, f)))
    return weights

# ---------------------------------------------------------------------------------------------------------------
# tokenizer.json: a byte-level BPE (GPT-2's byte ↔ unicode map), trained here on the given corpus.

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(text, merges_wanted):
    byte_map = bytes_to_unicode()
    words = collections.Counter(re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+", text))
    seqs = {w: [byte_map[b] for b in w.encode()] for w in words}
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, count in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    vocab = {"<|endoftext|>": 0}
    for b in range(256):
        vocab[byte_map[b]] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }

# ---------------------------------------------------------------------------------------------------------------
# Configurations, as each architecture's config.json names its fields.

def make_config(arch, vocab):
    common = {"vocab_size": vocab, "hidden_size": 64, "num_attention_heads": 4, "max_position_embeddings": 256,
              "hidden_act": "silu", "initializer_range": 0.02, "bos_token_id": 0, "eos_token_id": 0,
              "torch_dtype": "float32", "attention_dropout": 0.0, "rope_scaling": None}
    if arch == "mixtral":
        return {**common, "architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
                "num_hidden_layers": 2, "num_key_value_heads": 2, "intermediate_size": 96,
                "num_local_experts": 4, "num_experts_per_tok": 2, "rope_theta": 1e6, "rms_norm_eps": 1e-5,
                "tie_word_embeddings": False, "sliding_window": None, "router_aux_loss_coef": 0.02,
                "output_router_logits": False}
    if arch == "qwen2_moe":
        return {**common, "architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe",
                "num_hidden_layers": 3, "num_key_value_heads": 2, "intermediate_size": 128,
                "moe_intermediate_size": 48, "shared_expert_intermediate_size": 96, "num_experts": 8,
                "num_experts_per_tok": 2, "norm_topk_prob": False, "decoder_sparse_step": 1,
                "mlp_only_layers": [1], "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
                "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 3,
                "qkv_bias": True, "router_aux_loss_coef": 0.001}
    if arch == "olmoe":
        return {**common, "architectures": ["OlmoeForCausalLM"], "model_type": "olmoe",
                "num_hidden_layers": 2, "num_key_value_heads": 4, "intermediate_size": 32, "num_experts": 16,
                "num_experts_per_tok": 4, "norm_topk_prob": False, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
                "tie_word_embeddings": False, "attention_bias": False, "clip_qkv": None,
                "router_aux_loss_coef": 0.01}
    raise SystemExit(f"unknown arch {arch}")


def moe_layer(cfg, i):
    if cfg["model_type"] != "qwen2_moe":
        return True
    return i not in cfg.get("mlp_only_layers", []) and (i + 1) % cfg.get("decoder_sparse_step", 1) == 0


def n_experts(cfg):
    return cfg.get("num_local_experts", cfg.get("num_experts"))


def make_weights(cfg, rng, layout):
    """Every tensor under the name transformers gives it (the per-expert layout, or the packed 3-D one)."""
    d, v, h = cfg["hidden_size"], cfg["vocab_size"], cfg["num_attention_heads"]
    kv, hd = cfg["num_key_value_heads"], cfg["hidden_size"] // cfg["num_attention_heads"]
    mixtral = cfg["model_type"] == "mixtral"

    def w(*shape, scale=0.08):
        return rng.normal(0, scale, shape).astype(np.float32)

    def norm(n):
        return (1 + rng.normal(0, 0.1, n)).astype(np.float32)

    t = {"model.embed_tokens.weight": w(v, d, scale=0.5), "model.norm.weight": norm(d)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = w(v, d, scale=0.2)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm(d)
        t[p + "post_attention_layernorm.weight"] = norm(d)
        for name, out in (("q", h * hd), ("k", kv * hd), ("v", kv * hd)):
            t[p + f"self_attn.{name}_proj.weight"] = w(out, d, scale=0.15)
            if cfg.get("qkv_bias") or cfg.get("attention_bias"):
                t[p + f"self_attn.{name}_proj.bias"] = w(out, scale=0.1)
        t[p + "self_attn.o_proj.weight"] = w(d, h * hd, scale=0.15)
        if cfg["model_type"] == "olmoe":
            t[p + "self_attn.q_norm.weight"] = norm(h * hd)
            t[p + "self_attn.k_norm.weight"] = norm(kv * hd)
        if not moe_layer(cfg, i):
            ffn = cfg["intermediate_size"]
            t[p + "mlp.gate_proj.weight"], t[p + "mlp.up_proj.weight"] = w(ffn, d), w(ffn, d)
            t[p + "mlp.down_proj.weight"] = w(d, ffn)
            continue
        ffn = cfg["intermediate_size"] if mixtral else cfg["moe_intermediate_size"] \
            if cfg["model_type"] == "qwen2_moe" else cfg["intermediate_size"]
        block = p + ("block_sparse_moe." if mixtral and layout == "per_expert" else "mlp.")
        t[block + "gate.weight"] = w(n_experts(cfg), d, scale=0.5)
        gates = [w(ffn, d) for _ in range(n_experts(cfg))]
        ups = [w(ffn, d) for _ in range(n_experts(cfg))]
        downs = [w(d, ffn) for _ in range(n_experts(cfg))]
        if layout == "packed":
            t[block + "experts.gate_up_proj"] = np.stack([np.concatenate([g, u]) for g, u in zip(gates, ups)])
            t[block + "experts.down_proj"] = np.stack(downs)
        else:
            names = ("w1", "w3", "w2") if mixtral else ("gate_proj", "up_proj", "down_proj")
            for e in range(n_experts(cfg)):
                t[block + f"experts.{e}.{names[0]}.weight"] = gates[e]
                t[block + f"experts.{e}.{names[1]}.weight"] = ups[e]
                t[block + f"experts.{e}.{names[2]}.weight"] = downs[e]
        if cfg["model_type"] == "qwen2_moe":
            sh = cfg["shared_expert_intermediate_size"]
            t[block + "shared_expert.gate_proj.weight"], t[block + "shared_expert.up_proj.weight"] = w(sh, d), w(sh, d)
            t[block + "shared_expert.down_proj.weight"] = w(d, sh)
            t[block + "shared_expert_gate.weight"] = w(1, d, scale=0.3)
    return t


def write(args):
    os.makedirs(args.out, exist_ok=True)
    tokenizer = train_bpe(open(args.corpus, encoding="utf-8", errors="replace").read()[:400_000], args.merges)
    json.dump(tokenizer, open(os.path.join(args.out, "tokenizer.json"), "w"), ensure_ascii=False)
    cfg = make_config(args.arch, len(tokenizer["model"]["vocab"]))
    cfg["torch_dtype"] = args.dtype
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    tensors = make_weights(cfg, np.random.default_rng(args.seed), args.layout)
    names = list(tensors)
    if args.shards <= 1:
        write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, args.dtype)
        return
    weight_map, per = {}, -(-len(names) // args.shards)
    for s in range(args.shards):
        file = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
        write_safetensors(os.path.join(args.out, file), part, args.dtype)
        weight_map.update({n: file for n in part})
    json.dump({"metadata": {}, "weight_map": weight_map},
              open(os.path.join(args.out, "model.safetensors.index.json"), "w"), indent=2)

# ---------------------------------------------------------------------------------------------------------------
# The reference forward, in float64, step for step as the modeling files do it.

def rms_norm(x, weight, eps):
    return weight * (x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps))


def silu(x):
    return x / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rope(x, theta):
    """x: (H, S, hd), rotate-half layout."""
    s, hd = x.shape[1], x.shape[2]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    freqs = np.outer(np.arange(s), inv)
    emb = np.concatenate([freqs, freqs], -1)
    rotated = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return x * np.cos(emb) + rotated * np.sin(emb)


def attention(cfg, W, p, x):
    s, d = x.shape
    h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // h
    eps = cfg["rms_norm_eps"]

    def proj(name):
        y = x @ W[p + f"self_attn.{name}_proj.weight"].T
        bias = W.get(p + f"self_attn.{name}_proj.bias")
        return y if bias is None else y + bias
    q, k, v = proj("q"), proj("k"), proj("v")
    if cfg["model_type"] == "olmoe":
        q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
        k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
    q = rope(q.reshape(s, h, hd).transpose(1, 0, 2), cfg["rope_theta"])
    k = rope(k.reshape(s, kv, hd).transpose(1, 0, 2), cfg["rope_theta"])
    v = v.reshape(s, kv, hd).transpose(1, 0, 2)
    k, v = np.repeat(k, h // kv, axis=0), np.repeat(v, h // kv, axis=0)     # repeat_kv
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
    scores = np.where(np.tril(np.ones((s, s), dtype=bool)), scores, -np.inf)
    y = (softmax(scores) @ v).transpose(1, 0, 2).reshape(s, h * hd)
    return y @ W[p + "self_attn.o_proj.weight"].T


def experts_of(cfg, W, block, e):
    """(gate, up, down) of expert e in either layout."""
    if block + "experts.gate_up_proj" in W:
        gu = W[block + "experts.gate_up_proj"][e]
        half = gu.shape[0] // 2
        return gu[:half], gu[half:], W[block + "experts.down_proj"][e]
    if block + f"experts.{e}.w1.weight" in W:
        return tuple(W[block + f"experts.{e}.{n}.weight"] for n in ("w1", "w3", "w2"))
    return tuple(W[block + f"experts.{e}.{n}_proj.weight"] for n in ("gate", "up", "down"))


def swiglu(x, gate, up, down):
    return (silu(x @ gate.T) * (x @ up.T)) @ down.T


def moe(cfg, W, p, x):
    block = p + "block_sparse_moe." if p + "block_sparse_moe.gate.weight" in W else p + "mlp."
    probs = softmax(x @ W[block + "gate.weight"].T)                   # (S, N)
    k = cfg["num_experts_per_tok"]
    top = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
    weights = np.take_along_axis(probs, top, -1)
    if cfg["model_type"] == "mixtral" or cfg.get("norm_topk_prob"):
        weights = weights / weights.sum(-1, keepdims=True)
    y = np.zeros_like(x)
    for t in range(x.shape[0]):
        for j in range(k):
            y[t] += weights[t, j] * swiglu(x[t:t + 1], *experts_of(cfg, W, block, top[t, j]))[0]
    if block + "shared_expert_gate.weight" in W:
        shared = swiglu(x, *(W[block + f"shared_expert.{n}_proj.weight"] for n in ("gate", "up", "down")))
        y += 1 / (1 + np.exp(-(x @ W[block + "shared_expert_gate.weight"].T))) * shared
    return y


def forward(cfg, W, tokens):
    x = W["model.embed_tokens.weight"][tokens]
    eps = cfg["rms_norm_eps"]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = x + attention(cfg, W, p, rms_norm(x, W[p + "input_layernorm.weight"], eps))
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        if moe_layer(cfg, i):
            x = x + moe(cfg, W, p, h)
        else:
            x = x + swiglu(h, *(W[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up", "down")))
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return rms_norm(x, W["model.norm.weight"], eps) @ head.T


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--arch", required=True, choices=["mixtral", "qwen2_moe", "olmoe"])
    w.add_argument("--out", required=True)
    w.add_argument("--corpus", required=True)
    w.add_argument("--layout", default="per_expert", choices=["per_expert", "packed"])
    w.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    w.add_argument("--shards", type=int, default=1)
    w.add_argument("--merges", type=int, default=240)
    w.add_argument("--seed", type=int, default=0)
    f = sub.add_parser("forward")
    f.add_argument("folder")
    f.add_argument("--tokens", action="append", required=True)
    args = ap.parse_args()
    if args.cmd == "write":
        write(args)
        return
    cfg = json.load(open(os.path.join(args.folder, "config.json")))
    W = read_folder(args.folder)
    out = [forward(cfg, W, np.array([int(t) for t in s.split(",")])).tolist() for s in args.tokens]
    json.dump({"logits": out}, sys.stdout)


if __name__ == "__main__":
    main()
