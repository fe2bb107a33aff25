using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>y = x / sqrt(mean(x²) + ε) · g. x: (…, d).</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RMSNorm(long dim, double eps = 1e-6) : base(nameof(RMSNorm))
    {
        weight = nn.Parameter(ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);            // mean of squares in float32 under bfloat16 (a no-op else)
        var rms = rsqrt(xf.pow(Scalars.Of(2)).mean([-1], keepdim: true).add(Scalars.Of(eps), Scalars.One));
        return ((xf * rms).to(x.dtype) * weight).MoveToOuterDisposeScope();
    }
}
