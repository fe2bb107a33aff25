using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>AdaMoE (Zeng et al. 2024): m null experts with their own logits; top-k over all N + m;
/// nulls output zero and are never dispatched; weights renormalised over the selected REAL experts
/// only; a token that picks only nulls gets a zero MoE output and passes through the residual.
/// Balance loss over N + m with the null experts' loads averaged among the nulls.</summary>
public sealed class NullExpertRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("null_experts",
        "AdaMoE (Zeng et al. 2024): top-k over real and m null experts; a null slot costs nothing",
        [
            Param.Int("nulls", 8, "null experts m (AdaMoE)", 0, 1024),
            Param.Int("k", 3, "top-k over real + null experts", 1, 1280),
        ], "nulls", "k")
    {
        Constraints = c => RouterDefinition.AtMost(c, "router.k", "k", "experts + nulls =", "model.experts",
            "router.nulls"),
    };

    readonly int k = config.Int("k");
    readonly int nullCount = config.Int("nulls");

    public override int NullExperts => nullCount;
    public override int SlotsPerToken => k;
    public override bool TakesBudget => true;
    public override int MaxExpertsPerToken => Math.Min(k, Experts);

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        long n = Experts, m = nullCount;
        var probs = logits.softmax(-1);                                  // (T, N + m)
        var (vals, idx) = probs.topk(k, dim: -1);                        // (T, k) over real and null experts
        if (Budget is not null && m > 0)
        {
            // target_experts (LongCat-Flash's budget on zero-computation experts): chosen on z with −β on every
            // null logit, weighted on P = softmax(z).
            var nullOffset = cat([zeros(n, dtype: logits.dtype, device: logits.device), (-Budget).expand(m)]);
            idx = (logits + nullOffset).topk(k, dim: -1).Item2;
            vals = probs.gather(1, idx);
        }
        var isReal = idx.lt(n).to(probs.dtype);                          // (T, k)
        var realIdx = idx.clamp_max(n - 1);                              // nulls are masked out below
        var mask = MaskFrom(realIdx, isReal, n).clamp_max(1);
        var weights = MaskFrom(realIdx, Renormalise(vals * isReal), n);  // all-null rows: 0/ε = 0
        var nulls = (1 - isReal).sum([1]);                               // (T,)

        var all = MaskFrom(idx, ones_like(vals), n + m);                 // (T, N + m) every selection
        var f = DispatchFractions(all);
        var pMean = probs.mean([0]);
        Tensor balance;
        if (m > 0)
        {
            // Nulls balanced as one group: each null gets the mean null load and mean null probability.
            var fNull = f.narrow(0, n, m).mean();
            var pNull = pMean.narrow(0, n, m).mean();
            balance = Config.BalanceCoef * (n + m) *
                      ((f.narrow(0, 0, n) * pMean.narrow(0, 0, n)).sum() + m * fNull * pNull);
        }
        else balance = SwitchBalance(f, probs);
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, NullsSelected = nulls,
            BalanceLoss = balance, EntropyLoss = Zero(probs),
        };
    }
}
