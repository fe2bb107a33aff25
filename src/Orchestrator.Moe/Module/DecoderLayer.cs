using Orchestrator.Moe.Routing;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>Pre-norm decoder layer: x += attn(norm(x)); x += moe(norm(x)) (or a dense SwiGLU `mlp`).</summary>
public sealed class DecoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly RMSNorm input_layernorm, post_attention_layernorm;
    private readonly Attention self_attn;
    private readonly MoeBlock? block_sparse_moe;
    private readonly SwiGluExpert? mlp;

    public MoeBlock? Moe => block_sparse_moe;
    public Attention SelfAttention => self_attn;

    public DecoderLayer(int index, ModelConfig c, RotaryEmbedding rope, Router? router) : base(nameof(DecoderLayer))
    {
        input_layernorm = new RMSNorm(c.DModel, c.RmsNormEps);
        post_attention_layernorm = new RMSNorm(c.DModel, c.RmsNormEps);
        self_attn = new Attention(c, rope);
        if (router is not null) block_sparse_moe = new MoeBlock(index, c, router);
        else mlp = new SwiGluExpert(c.DModel, c.DenseFfnHidden);
        RegisterComponents();
    }

    /// <summary>x: (B, S, d) → (B, S, d).</summary>
    public override Tensor forward(Tensor x) => Forward(x, TelemetryLevel.None, false).Hidden;

    /// <summary>x: (B, S, d) → (B, S, d) and, for an MoE layer, its routing.</summary>
    public (Tensor Hidden, MoeLayerOutput? Moe) Forward(Tensor x, TelemetryLevel telemetry, bool sampleAllocator,
        Tensor? previousLogits = null)
    {
        x = x.add(self_attn.forward(input_layernorm.forward(x)), Scalars.One);
        var h = post_attention_layernorm.forward(x);
        if (block_sparse_moe is null) return (x.add(mlp!.forward(h), Scalars.One), null);
        var moe = block_sparse_moe.Forward(h, telemetry, sampleAllocator, previousLogits);
        return (x.add(moe.Hidden, Scalars.One), moe);
    }
}
