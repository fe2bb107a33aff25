using Orchestrator.Specs;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Dynamic routing (Huang et al. 2024, "Harder tasks need more experts"): sort P descending,
/// keep experts up to and including the first rank whose cumulative probability exceeds p (strict
/// c &gt; p), so at least one and at most N (or the cap). Weights are the raw probabilities as in the
/// official code (normalize: false), or renormalised. Adds β·entropy to keep P from spreading.</summary>
public sealed class TopPRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public override int MaxExpertsPerToken => Config.MaxExperts > 0 ? Math.Min(Config.MaxExperts, Experts) : Experts;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                        // (T, N)
        var (sorted, idx) = probs.sort(-1, descending: true);                   // (T, N)
        // Exclusive cumulative sum c_{r-1}: rank r is kept iff the mass before it is ≤ p,
        // i.e. c has not yet exceeded p — which keeps the crossing expert.
        var before = sorted.cumsum(-1) - sorted;
        var keep = before.le(Config.P + Tolerance);
        if (Config.MaxExperts > 0)
            keep = keep.logical_and(arange(Experts, device: probs.device).lt(Config.MaxExperts).unsqueeze(0));
        var keepF = keep.to(probs.dtype);
        var mask = MaskFrom(idx, keepF, Experts);
        var raw = probs * mask;
        var weights = Config.Normalize ? Renormalise(raw) : raw;
        // L_d = −Σ_i P_i log P_i per token, averaged.
        var entropy = -(probs * probs.clamp_min(1e-9).log()).sum(-1).mean();
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs,
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs),
            EntropyLoss = Config.EntropyCoef * entropy,
        };
    }
}
