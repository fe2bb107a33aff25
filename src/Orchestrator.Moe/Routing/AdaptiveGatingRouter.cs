using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Adaptive gating (Li et al. 2023): a token goes to its top-2 experts when
/// P_top1 − P_top2 ≤ T, else to top-1 only. Weights renormalised over the chosen experts by default.
/// Its balance loss counts only the tokens routed top-1 (f¹_e).</summary>
public sealed class AdaptiveGatingRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("adaptive_gating",
        "adaptive gating (Li et al. 2023): top-2 when the two most probable experts are within T, else top-1",
        [
            Param.Float("threshold", 0.1, "adaptive gating T: top-2 when P1 − P2 ≤ T", 0),
            Param.Bool("normalize", true, "renormalise weights over the chosen experts"),
        ], "threshold");

    readonly double threshold = config.Double("threshold");
    readonly bool normalize = config.Bool("normalize");

    public override int MaxExpertsPerToken => Math.Min(2, Experts);
    public override bool TakesBudget => true;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                     // (T, N)
        var (vals, idx) = probs.topk(MaxExpertsPerToken, dim: -1);           // (T, 2)
        Tensor keep;
        if (MaxExpertsPerToken == 1) keep = ones_like(vals);
        else
        {
            var gap = vals.select(1, 0) - vals.select(1, 1);                                      // P1 − P2, (T,)
            // target_experts: T moved by β (T + β), so that the mean experts per token holds its target.
            var two = (Budget is null ? gap.le(Scalars.Of(threshold + Tolerance))
                : gap.le(Budget.add(Scalars.Of(threshold + Tolerance), Scalars.One)))
                .to(vals.dtype);
            keep = stack([ones_like(two), two], 1);                                                // (T, 2)
        }
        var mask = MaskFrom(idx, keep, Experts);
        var raw = MaskFrom(idx, vals * keep, Experts);
        var weights = normalize ? Renormalise(raw) : raw;
        // f¹_e: among tokens processed by top-1 gating, the fraction sent to e.
        var single = mask.sum([1]).eq(Scalars.Of(1)).to(probs.dtype).unsqueeze(1);             // (T, 1)
        var f1 = (mask * single).sum([0]) / single.sum().clamp_min(Scalars.Of(1));
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, Top = (vals, idx),
            BalanceLoss = SwitchBalance(f1, probs),
            EntropyLoss = Zero(probs),
        };
    }

    public override Tensor Weights(Tensor mask, Tensor logits)
    {
        var raw = logits.softmax(-1) * mask;
        return normalize ? Renormalise(raw) : raw;
    }
}
