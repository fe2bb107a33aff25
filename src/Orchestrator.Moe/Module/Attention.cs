using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>Causal self-attention with rotary embeddings (Mixtral's self_attn): grouped-query when there are fewer
/// key/value heads than query heads, optional q/k/v biases (Qwen2-MoE) and q/k RMSNorm (OLMoE).</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly RMSNorm? q_norm, k_norm;
    private readonly int heads, kvHeads;
    private readonly RotaryEmbedding rope;
    private Linear? q_lora_A, q_lora_B, v_lora_A, v_lora_B;
    private double loraScale;

    /// <summary>α/r of the LoRA adapters (0 without them).</summary>
    public double LoraScale => q_lora_A is null ? 0 : loraScale;

    public Attention(ModelConfig c, RotaryEmbedding rope) : base("self_attn")
    {
        (heads, kvHeads) = (c.Heads, c.KeyValueHeads);
        this.rope = rope;
        int hd = c.DModel / c.Heads;
        q_proj = nn.Linear(c.DModel, heads * hd, hasBias: c.AttentionBias);
        k_proj = nn.Linear(c.DModel, kvHeads * hd, hasBias: c.AttentionBias);
        v_proj = nn.Linear(c.DModel, kvHeads * hd, hasBias: c.AttentionBias);
        o_proj = nn.Linear(heads * hd, c.DModel, hasBias: false);
        if (c.QkNorm)
            (q_norm, k_norm) = (new RMSNorm(heads * hd, c.RmsNormEps), new RMSNorm(kvHeads * hd, c.RmsNormEps));
        RegisterComponents();
    }

    /// <summary>LoRA (Hu et al. 2021) on the query and value projections: W·x + (α/r)·B·A·x with A
    /// (r × d, random) and B (out × r, zero), so the adapted model starts equal to the base. out is the
    /// projection's width: d for W_q, the key/value heads' for W_v under grouped-query attention.</summary>
    public void EnableLora(int rank, double alpha)
    {
        long d = q_proj.weight!.shape[1], qOut = q_proj.weight!.shape[0], vOut = v_proj.weight!.shape[0];
        var (device, dtype) = (q_proj.weight!.device, q_proj.weight!.dtype);
        Linear L(long i, long o) => nn.Linear(i, o, hasBias: false, device: device, dtype: dtype);
        (q_lora_A, q_lora_B) = (L(d, rank), L(rank, qOut));
        (v_lora_A, v_lora_B) = (L(d, rank), L(rank, vOut));
        using (no_grad()) { q_lora_B.weight!.zero_(); v_lora_B.weight!.zero_(); }
        register_module("q_lora_A", q_lora_A); register_module("q_lora_B", q_lora_B);
        register_module("v_lora_A", v_lora_A); register_module("v_lora_B", v_lora_B);
        loraScale = alpha / rank;
    }

    Tensor Q(Tensor x) => q_lora_A is null ? q_proj.forward(x) : q_proj.forward(x)
        .add(Scalars.Of(loraScale) * q_lora_B!.forward(q_lora_A.forward(x)), Scalars.One);
    Tensor V(Tensor x) => v_lora_A is null ? v_proj.forward(x) : v_proj.forward(x)
        .add(Scalars.Of(loraScale) * v_lora_B!.forward(v_lora_A.forward(x)), Scalars.One);

    /// <summary>x: (B, S, d) → (B, S, d).</summary>
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], s = x.shape[1], d = x.shape[2], hd = d / heads;
        Tensor Heads(Tensor t, int n) => t.view(b, s, n, hd).transpose(1, 2);         // (B, n, S, d_head)
        var (q, k) = (Q(x), k_proj.forward(x));
        if (q_norm is not null) (q, k) = (q_norm.forward(q), k_norm!.forward(k));     // OLMoE: over all heads
        q = rope.Apply(Heads(q, heads));
        k = rope.Apply(Heads(k, kvHeads));
        var v = Heads(V(x), kvHeads);
        if (kvHeads != heads)
        {
            // Grouped-query: each key/value head serves heads/kvHeads query heads (repeat_kv), (B, H, S, d_head).
            long rep = heads / kvHeads;
            k = k.unsqueeze(2).expand(b, kvHeads, rep, s, hd).reshape(b, heads, s, hd);
            v = v.unsqueeze(2).expand(b, kvHeads, rep, s, hd).reshape(b, heads, s, hd);
        }
        // softmax(QKᵀ/√d_head + causal)·V
        var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return o_proj.forward(y.transpose(1, 2).contiguous().view(b, s, heads * hd));
    }
}
