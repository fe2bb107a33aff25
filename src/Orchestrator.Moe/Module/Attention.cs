using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>Causal multi-head self-attention with rotary embeddings (Mixtral's self_attn, no GQA).</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly int heads;
    private readonly RotaryEmbedding rope;
    private Linear? q_lora_A, q_lora_B, v_lora_A, v_lora_B;
    private double loraScale;

    public Attention(int dModel, int heads, RotaryEmbedding rope) : base("self_attn")
    {
        this.heads = heads;
        this.rope = rope;
        q_proj = nn.Linear(dModel, dModel, hasBias: false);
        k_proj = nn.Linear(dModel, dModel, hasBias: false);
        v_proj = nn.Linear(dModel, dModel, hasBias: false);
        o_proj = nn.Linear(dModel, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>LoRA (Hu et al. 2021) on the query and value projections: W·x + (α/r)·B·A·x with A
    /// (r × d, random) and B (d × r, zero), so the adapted model starts equal to the base.</summary>
    public void EnableLora(int rank, double alpha)
    {
        long d = q_proj.weight!.shape[1];
        var (device, dtype) = (q_proj.weight!.device, q_proj.weight!.dtype);
        Linear L(long i, long o) => nn.Linear(i, o, hasBias: false, device: device, dtype: dtype);
        (q_lora_A, q_lora_B) = (L(d, rank), L(rank, d));
        (v_lora_A, v_lora_B) = (L(d, rank), L(rank, d));
        using (no_grad()) { q_lora_B.weight!.zero_(); v_lora_B.weight!.zero_(); }
        register_module("q_lora_A", q_lora_A); register_module("q_lora_B", q_lora_B);
        register_module("v_lora_A", v_lora_A); register_module("v_lora_B", v_lora_B);
        loraScale = alpha / rank;
    }

    Tensor Q(Tensor x) => q_lora_A is null ? q_proj.forward(x) : q_proj.forward(x)
        + loraScale * q_lora_B!.forward(q_lora_A.forward(x));
    Tensor V(Tensor x) => v_lora_A is null ? v_proj.forward(x) : v_proj.forward(x)
        + loraScale * v_lora_B!.forward(v_lora_A.forward(x));

    /// <summary>x: (B, S, d) → (B, S, d).</summary>
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], s = x.shape[1], d = x.shape[2], hd = d / heads;
        Tensor Heads(Tensor t) => t.view(b, s, heads, hd).transpose(1, 2);   // (B, H, S, d_head)
        var q = rope.Apply(Heads(Q(x)));
        var k = rope.Apply(Heads(k_proj.forward(x)));
        var v = Heads(V(x));
        // softmax(QKᵀ/√d_head + causal)·V
        var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return o_proj.forward(y.transpose(1, 2).contiguous().view(b, s, d));
    }
}
