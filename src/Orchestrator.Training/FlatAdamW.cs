using System.Runtime.InteropServices;
using Orchestrator.Moe;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>How a training step updates the weights.</summary>
public enum OptimizerKind
{
    /// <summary><see cref="FlatAdamW"/>: every update is a few kernels over one flat buffer, whatever the number of
    /// parameter tensors. What training runs.</summary>
    Flat,
    /// <summary>TorchSharp's optim.AdamW and nn.utils.clip_grad_norm_: one series of kernels per parameter tensor and
    /// a host sync in the clipping. The reference FlatAdamW is tested against, and the bench's baseline.</summary>
    PerTensor,
}

/// <summary>The three things a training step asks of its optimiser, so that the trainer reads the same either
/// way.</summary>
public interface IStepOptimizer : IDisposable
{
    void ZeroGrad();

    /// <summary>Scales the gradients by min(1, max / (‖g‖₂ + 1e-6)); returns ‖g‖₂ over all of
    /// them, a scalar tensor (still on the device for FlatAdamW, so that reading it costs no extra sync).</summary>
    Tensor ClipGradNorm(double maxNorm);

    void Step(double lr);

    public static IStepOptimizer Create(OptimizerKind kind, IReadOnlyList<Parameter> parameters, double weightDecay) =>
        kind == OptimizerKind.Flat ? new FlatAdamW(parameters, weightDecay)
            : new PerTensorAdamW(parameters, weightDecay);
}

/// <summary>AdamW (Loshchilov &amp; Hutter 2019), TorchSharp's update equation for equation, over flat buffers: the
/// parameters of each (device, dtype) become views into one contiguous tensor, and so do their gradients, which
/// autograd then accumulates in place. A step is then nine kernels per buffer instead of nine per parameter tensor
/// (a 150M-parameter MoE has ~250 tensors: ~2,250 launches and as many managed calls per step). This is PyTorch's
/// multi-tensor ("foreach") AdamW by other means: TorchSharp exposes no _foreach ops, so it is written here.
/// A parameter that backward did not reach has a zero gradient, as after TorchSharp's zero_grad.</summary>
public sealed class FlatAdamW : IStepOptimizer
{
    sealed record Slab(Tensor Param, Tensor Grad, Tensor ExpAvg, Tensor ExpAvgSq) : IDisposable
    {
        public void Dispose()
        {
            Param.Dispose(); Grad.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose();
        }
    }

    readonly List<Slab> slabs = [];
    readonly double weightDecay, beta1, beta2, eps;
    long step;

    public FlatAdamW(IReadOnlyList<Parameter> parameters, double weightDecay, double beta1 = 0.9,
        double beta2 = 0.999, double eps = 1e-8)
    {
        (this.weightDecay, this.beta1, this.beta2, this.eps) = (weightDecay, beta1, beta2, eps);
        using var _ = no_grad();
        foreach (var group in parameters.DistinctBy(p => p.Handle).GroupBy(p => (p.device.ToString(), p.dtype)))
        {
            var members = group.ToList();
            long total = members.Sum(p => p.numel());
            var device = members[0].device;
            var flat = empty(total, dtype: group.Key.dtype, device: device).DetachFromDisposeScope();
            var grads = zeros(total, dtype: group.Key.dtype, device: device).DetachFromDisposeScope();
            long offset = 0;
            foreach (var p in members)
            {
                long n = p.numel();
                var view = flat.narrow(0, offset, n).view(p.shape);
                view.copy_(p);
                SetStorage(p, view);                                       // p now lives in flat[offset : offset + n]
                p.grad = grads.narrow(0, offset, n).view(p.shape);          // and accumulates its gradient there
                view.Dispose();
                offset += n;
            }
            slabs.Add(new Slab(flat, grads, zeros_like(flat).DetachFromDisposeScope(),
                zeros_like(flat).DetachFromDisposeScope()));
        }
    }

    public void ZeroGrad()
    {
        foreach (var s in slabs) s.Grad.zero_();
    }

    public Tensor ClipGradNorm(double maxNorm)
    {
        using var _ = no_grad();
        // ‖g‖₂ = sqrt(Σ_slabs ‖g_slab‖₂²), in float32 whatever the parameters' dtype.
        var norms = slabs.Select(s => s.Grad.to(ScalarType.Float32).norm()).ToArray();
        var total = norms.Length == 1 ? norms[0] : stack(norms).norm();
        // clip = min(1, max / (‖g‖ + 1e-6)), applied as a tensor: no host sync, as PyTorch's clip_grad_norm_.
        var clip = (Scalars.Of(maxNorm) / total.add(Scalars.Of(1e-6), Scalars.One)).clamp_max(Scalars.Of(1.0));
        foreach (var s in slabs) s.Grad.mul_(clip.to(s.Grad.dtype));
        return total;
    }

    public void Step(double lr)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        step++;
        double bias1 = 1 - Math.Pow(beta1, step), bias2 = 1 - Math.Pow(beta2, step);
        // What changes every step is a Scalar of its own, alive to the end of the method; the rest is cached (Scalars).
        using Scalar decay = (1 - lr * weightDecay).ToScalar(), root = Math.Sqrt(bias2).ToScalar(),
            rate = (-lr / bias1).ToScalar();
        foreach (var s in slabs)
        {
            s.Param.mul_(decay);                                                      // θ ← θ(1 − ηλ)
            // m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²
            s.ExpAvg.mul_(Scalars.Of(beta1)).add_(s.Grad, alpha: Scalars.Of(1 - beta1));
            s.ExpAvgSq.mul_(Scalars.Of(beta2)).addcmul_(s.Grad, s.Grad, value: Scalars.Of(1 - beta2));
            var denom = (s.ExpAvgSq.sqrt() / root).add_(Scalars.Of(eps), Scalars.One); // √(v/(1 − β₂ᵗ)) + ε
            s.Param.addcdiv_(s.ExpAvg, denom, value: rate);             // θ −= η m / (1 − β₁ᵗ) / denom
        }
    }

    public void Dispose()
    {
        foreach (var s in slabs) s.Dispose();
        slabs.Clear();
    }

    // Tensor.set_ in TorchSharp 0.107.0 wraps a return value that the native function (void) does not give; the
    // native call itself is sound, so it is made directly.
    [DllImport("LibTorchSharp")] static extern void THSTensor_set_(IntPtr tensor, IntPtr source);

    static void SetStorage(Tensor target, Tensor source)
    {
        THSTensor_set_(target.Handle, source.Handle);
        CheckForErrors();
    }
}

/// <summary>TorchSharp's own AdamW and gradient clipping, behind the same interface.</summary>
sealed class PerTensorAdamW(IReadOnlyList<Parameter> parameters, double weightDecay) : IStepOptimizer
{
    readonly optim.Optimizer optimizer = optim.AdamW(parameters, lr: 1e-3, weight_decay: weightDecay);

    public void ZeroGrad() => optimizer.zero_grad();

    public Tensor ClipGradNorm(double maxNorm) => tensor(nn.utils.clip_grad_norm_(parameters, maxNorm));

    public void Step(double lr)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
        optimizer.step();
    }

    public void Dispose() => optimizer.Dispose();
}
