using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>AdaMoE (Zeng et al. 2024): m null experts with their own logits; top-k over all N + m;
/// nulls output zero and are never dispatched; weights renormalised over the selected REAL experts
/// only; a token that picks only nulls gets a zero MoE output and passes through the residual.
/// Balance loss over N + m with the null experts' loads averaged among the nulls.
/// MoE++ (Jin et al., ICLR 2025) as options: besides the zero (null) experts, `copies` copy experts (output x)
/// and `constants` constant experts (a₁·x + a₂·v, [a₁, a₂] = softmax(W_c·x), v learned), all chosen by
/// the same top-k; weights renormalised over every selected expert that is not a zero expert, as the official
/// code does; and a gating residual, each MoE layer's logits plus a learned map of the previous MoE layer's.
/// Extra logits are laid out [zero experts | copy experts | constant experts] after the N real ones.</summary>
public sealed class NullExpertRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("null_experts",
        "AdaMoE (Zeng et al. 2024): top-k over real and m null experts; a null slot costs nothing",
        [
            Param.Int("nulls", 8, "null experts m (AdaMoE)", 0, 1024),
            Param.Int("k", 3, "top-k over real + null experts", 1, 1280),
            Param.Int("copies", 0, "MoE++ copy experts (output x)", 0, 64) with { OmittedAtDefault = true },
            Param.Int("constants", 0, "MoE++ constant experts (output a₁·x + a₂·v)", 0, 64)
                with { OmittedAtDefault = true },
            Param.Bool("gating_residual", false, "MoE++ gating residual: logits + W_g · the previous MoE layer's")
                with { OmittedAtDefault = true },
        ], "nulls", "k")
    {
        // k picks among every slot: real experts, nulls and (MoE++) copy and constant experts.
        Constraints = c => Convert.ToInt64(c["router.copies"]) + Convert.ToInt64(c["router.constants"]) == 0
            ? RouterDefinition.AtMost(c, "router.k", "k", "experts + nulls =", "model.experts", "router.nulls")
            : RouterDefinition.AtMost(c, "router.k", "k", "experts + nulls + copies + constants =", "model.experts",
                "router.nulls", "router.copies", "router.constants"),
    };

    readonly int k = config.Int("k");
    readonly int nullCount = config.Int("nulls");

    /// <summary>MoE++ copy and constant experts, and whether logits take the previous layer's through W_g.</summary>
    public int Copies { get; } = config.Int("copies");
    public int Constants { get; } = config.Int("constants");
    readonly bool gatingResidual = config.Bool("gating_residual");
    public override bool GatingResidual => gatingResidual;

    /// <summary>Every extra logit: zero, copy and constant experts.</summary>
    public override int NullExperts => nullCount + Copies + Constants;
    public override int SlotsPerToken => k;
    public override bool TakesBudget => true;
    public override int MaxExpertsPerToken => Math.Min(k, Experts);

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        long n = Experts, m = NullExperts;                              // m: every extra logit
        var probs = logits.softmax(-1);                                  // (T, N + m)
        var (vals, idx) = probs.topk(k, dim: -1);                        // (T, k) over real and null experts
        var top = (vals, idx);                                           // P's top k, whatever the budget chooses
        if (Budget is not null && m > 0)
        {
            // target_experts (LongCat-Flash's budget on zero-computation experts): chosen on z with −β on every
            // null logit, weighted on P = softmax(z).
            var nullOffset = cat([zeros(n, dtype: logits.dtype, device: logits.device), (-Budget).expand(m)]);
            idx = logits.add(nullOffset, Scalars.One).topk(k, dim: -1).Item2;
            vals = probs.gather(1, idx);
        }
        var isReal = idx.lt(Scalars.Of(n)).to(probs.dtype);              // (T, k)
        var realIdx = idx.clamp_max(Scalars.Of(n - 1));                  // nulls are masked out below
        // Top-k slots are distinct experts and a null slot adds 0, so the mask is 0/1 as it is.
        var mask = MaskFrom(realIdx, isReal, n);
        // Renormalised over the selected experts that have an output: real ones (AdaMoE), and copy and constant
        // experts (MoE++); zero experts' weights are dropped. All-zero rows: 0/ε = 0.
        int extra = Copies + Constants;
        var isExtra = extra > 0 ? idx.ge(Scalars.Of(n + nullCount)).to(probs.dtype) : null;   // (T, k) copy/constant
        var isOutput = isExtra is null ? isReal : isReal.add(isExtra, Scalars.One);        // (T, k)
        var kept = vals * isOutput;
        var w = kept / kept.sum(-1, keepdim: true).clamp_min(Scalars.Of(1e-9));
        var weights = MaskFrom(realIdx, w * isReal, n);
        Tensor? extraWeights = null;
        if (extra > 0)
        {
            // (T, copies + constants): weight of each copy and constant slot, in their logit order.
            var slot = (idx - Scalars.Of(n + nullCount)).clamp(Scalars.Of(0), Scalars.Of(extra - 1));
            extraWeights = MaskFrom(slot, w * isExtra!, extra);
        }

        // f_i over every slot, (N + m): each token fills exactly k slots, so f = bincount(idx) / (T·k).
        var f = idx.reshape(-1).bincount(null, n + m).to(probs.dtype) / Scalars.Of(probs.shape[0] * (double)k);
        var pMean = probs.mean([0]);
        Tensor balance;
        if (m > 0)
        {
            // Nulls balanced as one group: each null gets the mean null load and mean null probability.
            var fNull = f.narrow(0, n, m).mean();
            var pNull = pMean.narrow(0, n, m).mean();
            balance = Scalars.Of(Config.BalanceCoef * (n + m)) *
                      (f.narrow(0, 0, n) * pMean.narrow(0, 0, n)).sum().add(Scalars.Of(m) * fNull * pNull, Scalars.One);
        }
        else balance = SwitchBalance(f, probs);
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, ExtraWeights = extraWeights,
            Top = top,
            BalanceLoss = balance, EntropyLoss = Zero(probs),
        };
    }
}
