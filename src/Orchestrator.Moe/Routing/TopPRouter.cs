using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Dynamic routing (Huang et al. 2024, "Harder tasks need more experts"): sort P descending,
/// keep experts up to and including the first rank whose cumulative probability exceeds p (strict
/// c &gt; p), so at least one and at most N (or the cap). Weights are the raw probabilities as in the
/// official code (normalize: false), or renormalised. Adds β·entropy to keep P from spreading.</summary>
public sealed class TopPRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("top_p",
        "dynamic routing (Huang et al. 2024): experts in order of probability until their mass exceeds p",
        [
            Param.Float("p", 0.4, "top-p threshold: keep experts until cumulative probability > p", 0, 1, minEx: true),
            Param.Bool("normalize", false, "renormalise weights over kept experts (official code: raw probabilities)"),
            Param.Int("max_experts", 0, "cap on experts per token (0: none)", 0, 256),
            Param.Float("entropy_coef", 1e-4, "entropy loss coefficient β (dynamic routing)", 0),
        ], "p")
    {
        Constraints = c => RouterDefinition.AtMost(c, "router.max_experts", "cap", "model.experts", "model.experts"),
    };

    readonly double p = config.Double("p");
    readonly bool normalize = config.Bool("normalize");
    readonly int maxExperts = config.Int("max_experts");
    readonly double entropyCoef = config.Double("entropy_coef");

    public override int MaxExpertsPerToken => maxExperts > 0 ? Math.Min(maxExperts, Experts) : Experts;
    public override bool TakesBudget => true;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                        // (T, N)
        var (sorted, idx) = probs.sort(-1, descending: true);                   // (T, N)
        // Exclusive cumulative sum c_{r-1}: rank r is kept iff the mass before it is ≤ p,
        // i.e. c has not yet exceeded p — which keeps the crossing expert.
        var before = sorted.cumsum(-1) - sorted;
        // target_experts: p moved by β (p + β), so that the mean experts per token holds its target.
        var keep = Budget is null ? before.le(Scalars.Of(p + Tolerance))
            : before.le(Budget.add(Scalars.Of(p + Tolerance), Scalars.One));
        if (maxExperts > 0)
            keep = keep.logical_and(Scalars.Arange(Experts, device: probs.device).lt(Scalars.Of(maxExperts))
                .unsqueeze(0));
        var keepF = keep.to(probs.dtype);
        var mask = MaskFrom(idx, keepF, Experts);
        var raw = probs * mask;
        var weights = normalize ? Renormalise(raw) : raw;
        // L_d = −Σ_i P_i log P_i per token, averaged.
        var entropy = -(probs * probs.clamp_min(Scalars.Of(1e-9)).log()).sum(-1).mean();
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, Top = (sorted, idx),
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs),
            EntropyLoss = Scalars.Of(entropyCoef) * entropy,
        };
    }

    /// <summary>Raw probabilities of the kept experts (the official code), or renormalised.</summary>
    public override Tensor Weights(Tensor mask, Tensor logits)
    {
        var raw = logits.softmax(-1) * mask;
        return normalize ? Renormalise(raw) : raw;
    }
}
