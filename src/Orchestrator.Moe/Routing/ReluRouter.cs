using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>ReMoE (Wang et al., ICLR 2025): R = ReLU(z) — no softmax, no top-k. An expert is active for a token
/// when R_ti &gt; 0 and its combine weight is R_ti itself, so a token uses a variable number of experts (zero
/// included: it then passes through the residual). Sparsity is held at the budget 1 − k/N by an L1 term
/// shaped like the Switch balance loss, L_reg = λ · N/(T²·k) · Σ_i (Σ_t R_ti) · n_i (n_i tokens routed to i,
/// not differentiated), whose coefficient λ is a controller: from λ₀ = 1e-8, after every optimizer step it is
/// multiplied by α = 1.2 while the layers' mean sparsity is below the target and divided by α otherwise — so
/// training starts dense and sparsifies (the paper's warm-up), then holds the budget. One λ for the whole
/// model, as in the released code (thu-ml/ReMoE).</summary>
public sealed class ReluRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("relu",
        "ReMoE (Wang et al. 2025): ReLU(z) routing, experts active where positive; an adaptive L1 term holds the " +
        "mean experts per token at k",
        [
            Param.Int("k", 2, "target experts per token: the L1 controller holds sparsity at 1 − k/N", 1, 256),
            Param.Float("l1_init", 1e-8, "λ₀, the L1 coefficient at the first step", 0, null, minEx: true),
            Param.Float("l1_multiplier", 1.2, "α: λ ×α while sparsity is below target, ÷α otherwise", 1, null,
                minEx: true),
        ], "k")
    {
        Constraints = c => RouterDefinition.AtMost(c, "router.k", "k", "model.experts", "model.experts"),
        NoBudgetCalibration = "it holds its budget with ReMoE's L1 controller while training and has no threshold " +
                              "to move afterwards",
    };

    readonly int k = config.Int("k");
    readonly double multiplier = config.Double("l1_multiplier");
    Tensor? sparsity;         // () this layer's last training sparsity, read by the controller after the step

    /// <summary>λ, the L1 coefficient: the controller's state.</summary>
    public double L1Coefficient { get; private set; } = config.Double("l1_init");

    /// <summary>1 − k/N: the share of (token, expert) pairs that should be inactive.</summary>
    /// <summary>1 − k/N, or 1 − target_experts/N when a compute budget is set.</summary>
    public double TargetSparsity => 1 - (Config.TargetExperts > 0 ? Config.TargetExperts : k) / Experts;

    public override int MaxExpertsPerToken => Experts;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var relu = logits.relu();                                        // R = ReLU(z), (T, N)
        var mask = relu.gt(Scalars.Of(0)).to(logits.dtype);             // active where R > 0
        long t = logits.shape[0];
        var routed = mask.sum([0]).detach();                             // n_i, (N)
        // L_reg = λ · N/(T²·k) · Σ_i (Σ_t R_ti) · n_i
        // λ moves every step (its controller): a Scalar of its own, alive to the end of the method (Scalars).
        using var scale = (L1Coefficient * Experts / ((double)t * t * k)).ToScalar();
        var l1 = scale * (relu.sum([0]) * routed).sum();
        if (is_grad_enabled())
        {
            sparsity?.Dispose();                                         // owned here, outside any dispose scope
            sparsity = mask.mean().negative().add(Scalars.One, Scalars.One).detach().DetachFromDisposeScope();
        }
        return new RouterOutput
        {
            Mask = mask, Weights = relu, Probs = logits.softmax(-1),       // P = softmax(z): for telemetry only
            BalanceLoss = l1, EntropyLoss = Zero(logits),
        };
    }

    /// <summary>The model-wide controller: the MoE layers' mean sparsity in the step just taken against the
    /// target; λ ×α below it, ÷α at or above it, the same λ for every layer.</summary>
    public override IReadOnlyDictionary<string, double> AfterStep(IReadOnlyList<Router> layers)
    {
        var relus = layers.OfType<ReluRouter>().Where(r => r.sparsity is not null).ToList();
        if (relus.Count == 0) return NoState;
        double mean = relus.Average(r => r.sparsity!.item<float>());
        double next = mean < TargetSparsity ? L1Coefficient * multiplier : L1Coefficient / multiplier;
        foreach (var r in relus)
        {
            r.L1Coefficient = next;
            r.sparsity!.Dispose();
            r.sparsity = null;
        }
        return new Dictionary<string, double> { ["relu_sparsity"] = mean, ["relu_l1_coef"] = next };
    }

    /// <summary>ReLU(z) of the chosen experts: ReMoE's weights are the router's outputs themselves.</summary>
    public override Tensor Weights(Tensor mask, Tensor logits) => logits.relu() * mask;
}
