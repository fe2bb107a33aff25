using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>Causal multi-head self-attention with rotary embeddings (Mixtral's self_attn, no GQA).</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly int heads;
    private readonly RotaryEmbedding rope;

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

    /// <summary>x: (B, S, d) → (B, S, d).</summary>
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], s = x.shape[1], d = x.shape[2], hd = d / heads;
        Tensor Heads(Tensor t) => t.view(b, s, heads, hd).transpose(1, 2);   // (B, H, S, d_head)
        var q = rope.Apply(Heads(q_proj.forward(x)));
        var k = rope.Apply(Heads(k_proj.forward(x)));
        var v = Heads(v_proj.forward(x));
        var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);   // softmax(QKᵀ/√d_head + causal)·V
        return o_proj.forward(y.transpose(1, 2).contiguous().view(b, s, d));
    }
}
