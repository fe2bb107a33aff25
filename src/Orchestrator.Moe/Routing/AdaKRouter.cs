using Orchestrator.Specs;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Ada-K (Yue et al. 2024): a per-layer allocator π = softmax(h·W_alloc) over k ∈ {1..N}
/// picks each token's k; the frozen router then sends the token to its top-k experts with
/// renormalised weights. k is sampled while training the allocator, argmax at inference
/// (router.sample: true samples there too). Layers without an allocator use default_k.</summary>
public sealed class AdaKRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public override bool NeedsAllocator => true;
    public override int MaxExpertsPerToken => Experts;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                        // (T, N)
        Tensor k;                                                              // (T,) in 1..N
        if (allocatorLogits is null)
            k = full(probs.shape[0], (long)Config.DefaultK, dtype: ScalarType.Int64, device: probs.device);
        else if (training || Config.Sample)
            k = allocatorLogits.softmax(-1).multinomial(1).squeeze(1) + 1;
        else
            k = allocatorLogits.argmax(-1) + 1;
        var (sorted, idx) = probs.sort(-1, descending: true);
        var keep = arange(Experts, device: probs.device).unsqueeze(0).lt(k.unsqueeze(1)).to(probs.dtype);   // rank < k
        var mask = MaskFrom(idx, keep, Experts);
        var weights = MaskFrom(idx, Renormalise(sorted * keep), Experts);
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, AllocatorLogits = allocatorLogits, ChosenK = k,
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs),
            EntropyLoss = Zero(probs),
        };
    }
}
