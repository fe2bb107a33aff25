using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Static top-k (Switch/Mixtral): (p, idx) = topk(P, k); w = p / Σp, or w = p without renormalising
/// (Qwen-MoE's and OLMoE's norm_topk_prob: false).</summary>
public sealed class TopKRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("top_k",
        "static top-k routing (Switch, Mixtral): every token to its k most probable experts",
        [
            Param.Int("k", 2, "experts per token", 1, 256),
            Param.Bool("normalize", true, "renormalise the k probabilities to sum to 1 (Mixtral); false keeps them " +
                "as the softmax over all experts gave them (Qwen-MoE, OLMoE: norm_topk_prob)")
                with { OmittedAtDefault = true },
        ], "k")
    {
        IsBaseline = true,
        NoTargetExperts = "it uses exactly k experts per token",
        Constraints = c => RouterDefinition.AtMost(c, "router.k", "k", "model.experts", "model.experts"),
    };

    readonly int k = config.Int("k");
    readonly bool normalize = config.Bool("normalize");

    public override int MaxExpertsPerToken => k;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                  // (T, N)
        var (vals, idx) = probs.topk(k, dim: -1);                        // (T, k)
        var mask = MaskFrom(idx, ones_like(vals), Experts);
        var weights = MaskFrom(idx, normalize ? Renormalise(vals) : vals, Experts);
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, Top = (vals, idx),
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs),   // f_i counts every selected expert
            EntropyLoss = Zero(probs),
        };
    }
}
