using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>Rotary position embeddings in the Llama/Mixtral "rotate half" layout:
/// x' = x·cos(mθ) + rotate_half(x)·sin(mθ), θ_i = base^(−2i/d_head).</summary>
public sealed class RotaryEmbedding
{
    private readonly Tensor cos, sin;   // (context, d_head)

    public RotaryEmbedding(int headDim, int context, double theta, Device device,
        ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var inv = pow(theta, -arange(Scalars.Of(0), Scalars.Of(headDim), Scalars.Of(2), dtype: ScalarType.Float64)
            / Scalars.Of(headDim));   // (d_head/2)
        var pos = Scalars.Arange(context, ScalarType.Float64);
        var freqs = outer(pos, inv);                                                         // (S, d_head/2)
        var emb = cat([freqs, freqs], -1);                                                   // (S, d_head)
        cos = emb.cos().to(dtype).to(device).DetachFromDisposeScope();
        sin = emb.sin().to(dtype).to(device).DetachFromDisposeScope();
    }

    /// <summary>x: (B, H, S, d_head).</summary>
    public Tensor Apply(Tensor x)
    {
        long s = x.shape[2], half = x.shape[3] / 2;
        var c = cos.narrow(0, 0, s);
        var n = sin.narrow(0, 0, s);
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * c).add(rotated * n, Scalars.One);
    }
}
