using System.Diagnostics;
using Orchestrator.Moe.Routing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>What one MoE layer returns: its output (B, S, d), the routing decision, its auxiliary losses (α·L_b
/// + β·L_d + z-loss), the router's input h (T, d) — which Ada-K's trainer re-scores — and telemetry if
/// asked (measured when read: the model measures and reads every layer's at once).</summary>
public sealed record MoeLayerOutput(Tensor Hidden, RouterOutput Routing, Tensor AuxLoss, Tensor RouterInput,
    PendingTelemetry? PendingTelemetry)
{
    /// <summary>(T, N + m) this layer's router logits, its gating residual included: what the next MoE layer's
    /// gating residual reads (MoE++).</summary>
    public Tensor? RouterLogits { get; init; }

    public LayerTelemetry? Telemetry => PendingTelemetry?.Value;
}

/// <summary>Mixtral's block_sparse_moe: a bias-free linear gate, N SwiGLU experts, optional shared
/// experts, optional null-expert logits and an optional Ada-K allocator. Dispatch is dropless and
/// ragged: each expert runs only on the tokens that selected it; nulls and unselected experts cost
/// nothing (no capacity factor, no dropped tokens).</summary>
public sealed class MoeBlock : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate;
    private readonly ModuleList<SwiGluExpert> experts;
    private readonly ModuleList<SwiGluExpert> shared_experts;
    private readonly Linear? shared_expert_gate; // Qwen2-MoE: (d → 1), the shared experts' output · sigmoid(h·w)
    private Linear? null_gate;
    private Linear? allocator;
    private Linear? constant_gate;         // MoE++: d → 2c, [a₁, a₂] = softmax of each constant expert's pair
    private Parameter? constant_values;    // MoE++: (c, d) the constant experts' learned vectors v
    private Linear? gate_map;              // MoE++ gating residual W_g: (N + m) → (N + m), zero at conversion
    private Tensor? expert_bias;           // (N) selection biases of auxiliary-loss-free balancing (balance: bias)
    private long[]? lastLoad;              // tokens per expert in the last training forward, for the bias update
    private Tensor? expert_budget;         // (1) β of the compute budget (router.target_experts)
    private PendingTelemetry? lastRouting; // the last training forward's statistics, for the budget update
    private double? budgetOnHost;          // β mirrored on the host, so that logging it needs no device sync
    private double? budgetAverage;         // β̄, an exponential average of β over the controller's recent steps
    private readonly int dModel, layerIndex;

    public Router Router { get; private set; }
    public int NumExperts { get; }
    public bool HasAllocator => allocator is not null;
    public Linear? Allocator => allocator;
    public Linear Gate => gate;
    public Linear? NullGate => null_gate;
    public SwiGluExpert Expert(int i) => experts[i];

    /// <summary>When set, the routed experts' FFNs run inside it (started and stopped around them in every forward),
    /// so it accumulates their wall time: the model benchmark's split of a forward into experts and the rest. Only
    /// meaningful on the CPU, where an op returns when its result is computed.</summary>
    public Stopwatch? ExpertClock { get; set; }

    /// <summary>A block of N experts of the given hidden size (and `shared` shared experts) at width dModel.</summary>
    public MoeBlock(int layerIndex, int dModel, int numExperts, int hidden, int shared, Router router)
        : this(layerIndex, new ModelConfig(1, dModel, 1, numExperts, hidden, shared, "all", 1, 1, 1), router) { }

    public MoeBlock(int layerIndex, ModelConfig c, Router router) : base("block_sparse_moe")
    {
        this.layerIndex = layerIndex;
        dModel = c.DModel;
        NumExperts = c.Experts;
        gate = nn.Linear(dModel, NumExperts, hasBias: false);
        experts = new ModuleList<SwiGluExpert>(Enumerable.Range(0, NumExperts).Select(_ => new SwiGluExpert(dModel,
            c.ExpertHidden)).ToArray());
        shared_experts = new ModuleList<SwiGluExpert>(Enumerable.Range(0, c.SharedExperts).Select(_ =>
            new SwiGluExpert(dModel, c.SharedHidden)).ToArray());
        if (c.SharedExpertGate) shared_expert_gate = nn.Linear(dModel, 1, hasBias: false);
        Router = router;
        RegisterComponents();
        EnsureRouterModules(router, withAllocator: router.NeedsAllocator);
    }

    /// <summary>Switches the routing rule. For null experts, W_null is initialised from rows of the
    /// trained gate (row j ← gate row j mod N, as the released AdaMoE code repeats the gate).</summary>
    public void SetRouter(Router router, bool withAllocator)
    {
        Router = router;
        EnsureRouterModules(router, withAllocator);
    }

    private void EnsureRouterModules(Router router, bool withAllocator)
    {
        var (device, dtype) = (gate.weight!.device, gate.weight!.dtype);
        if (router.NullExperts > 0 && (null_gate is null || null_gate.weight!.shape[0] != router.NullExperts))
        {
            null_gate = nn.Linear(dModel, router.NullExperts, hasBias: false, device: device, dtype: dtype);
            using (no_grad())
            {
                var rows = Scalars.Arange(router.NullExperts, device: device).remainder(Scalars.Of(NumExperts));
                null_gate.weight!.copy_(gate.weight!.index_select(0, rows));
            }
            register_module("null_gate", null_gate);
        }
        if (router.Config.BiasBalancing && expert_bias is null)
        {
            // Zero biases: routing starts as the unbiased rule; saved with the model, so evaluation chooses as
            // training ended.
            expert_bias = zeros(NumExperts, device: device);
            register_buffer("expert_bias", expert_bias);
        }
        if (router is NullExpertRouter { Constants: > 0 } pp && (constant_gate is null
            || constant_values!.shape[0] != pp.Constants))
        {
            constant_gate = nn.Linear(dModel, 2 * pp.Constants, hasBias: false, device: device, dtype: dtype);
            constant_values = nn.Parameter(randn(pp.Constants, dModel, dtype: dtype, device: device));
            register_module("constant_gate", constant_gate);
            register_parameter("constant_values", constant_values);
        }
        if (router.GatingResidual && (gate_map is null || gate_map.weight!.shape[0] != NumExperts + router.NullExperts))
        {
            // Zero: a converted model routes exactly as before until W_g is trained.
            int width = NumExperts + router.NullExperts;
            gate_map = nn.Linear(width, width, hasBias: false, device: device, dtype: dtype);
            using (no_grad()) gate_map.weight!.zero_();
            register_module("gate_map", gate_map);
        }
        if (router.Config.TargetExperts > 0 && router.TakesBudget && expert_budget is null)
        {
            // β = 0: routing starts as the rule's own threshold; saved with the model, so evaluation routes with the
            // budget training ended on.
            expert_budget = zeros(1, device: device);
            register_buffer("expert_budget", expert_budget);
        }
        router.Budget = router.TakesBudget ? expert_budget : null;
        if (withAllocator && allocator is null)
        {
            // Zero weights: the allocator starts from the uniform policy over k ∈ {1..N}.
            allocator = nn.Linear(dModel, NumExperts, hasBias: false, device: device, dtype: dtype);
            using (no_grad()) allocator.weight!.zero_();
            register_module("allocator", allocator);
        }
    }

    /// <summary>x: (B, S, d) → (B, S, d), without telemetry; <see cref="Forward"/> returns the routing too.</summary>
    public override Tensor forward(Tensor x) => Forward(x).Hidden;

    /// <summary>x: (B, S, d) → the layer's output and its routing decision (as Mixtral's block returns its router
    /// logits). sampleAllocator: an allocator samples k from π (Ada-K training) instead of taking its
    /// argmax.</summary>
    public MoeLayerOutput Forward(Tensor x, TelemetryLevel telemetry = TelemetryLevel.None,
        bool sampleAllocator = false, Tensor? previousLogits = null)
    {
        long b = x.shape[0], s = x.shape[1], t = b * s;
        var h = x.reshape(t, dModel);                                          // (T, d)
        var logits = gate.forward(h);                                          // z = h·W_r, (T, N)
        if (Router.NullExperts > 0) logits = cat([logits, null_gate!.forward(h)], 1);   // (T, N + m)
        // Routing (probabilities, masks, weights, losses) in float32 also when the weights are bfloat16.
        logits = logits.to(ScalarType.Float32);
        // MoE++ gating residual: z_l += W_g · z_(l−1), the previous MoE layer's logits (residual included).
        if (gate_map is not null && previousLogits is not null)
            logits = logits.add(gate_map.forward(previousLogits.to(gate_map.weight!.dtype)).to(ScalarType.Float32),
                Scalars.One);
        var allocLogits = Router.NeedsAllocator && allocator is not null
            ? allocator.forward(h).to(ScalarType.Float32) : null;
        var r = Router.Config.BiasBalancing && expert_bias is not null
            ? Router.RouteWithBias(logits, allocLogits, sampleAllocator, expert_bias)
            : Router.Route(logits, allocLogits, sampleAllocator);
        // Auxiliary losses of this layer: α·L_b (+ β·L_d for top_p) (+ c_z·mean(logsumexp(z)²)).
        var aux = r.BalanceLoss.add(r.EntropyLoss, Scalars.One);
        if (Router.Config.ZLossCoef > 0)
            aux = aux.add(Scalars.Of(Router.Config.ZLossCoef) * ZLoss(logits), Scalars.One);

        // Ragged dispatch: (expert, token) pairs in expert-major order, one host sync for the counts.
        var pairs = r.Mask.t().nonzero();                                      // (P, 2): [expert, token]
        var expertIds = pairs.select(1, 0);
        var tokenIds = pairs.select(1, 1);
        var counts = r.Mask.sum([0]).to(ScalarType.Int64).cpu().data<long>().ToArray();
        if (is_grad_enabled()) lastLoad = counts;
        var w = r.Weights[tokenIds, expertIds].to(h.dtype);                   // (P) w_tj of each pair
        var xs = h.index_select(0, tokenIds);                                  // (P, d)
        var outs = new List<Tensor>(NumExperts);
        long start = 0;
        ExpertClock?.Start();
        for (int e = 0; e < NumExperts; e++)
        {
            if (counts[e] == 0) continue;
            outs.Add(experts[e].forward(xs.narrow(0, start, counts[e])));
            start += counts[e];
        }
        ExpertClock?.Stop();
        // y_t = Σ_j w_tj · E_j(h_t), added in place into fresh zeros (index_add would copy them first).
        var y = zeros_like(h);
        if (outs.Count > 0) y.index_add_(0, tokenIds, cat(outs, 0) * w.unsqueeze(1), Scalars.Of(1.0));
        if (r.ExtraWeights is { } extra) y.add_(CopyAndConstantExperts(h, extra), Scalars.One);   // in place: no copy
        if (shared_experts.Count > 0)
        {
            var shared = shared_experts.Select(se => se.forward(h))
                .Aggregate((a, c) => a.add(c, Scalars.One));                                 // (T, d)
            y = y.add(shared_expert_gate is null ? shared : shared_expert_gate.forward(h).sigmoid() * shared,
                Scalars.One);
        }

        // Measured later, with the forward's other layers (RoutingStatistics); the rule as routed, should it be
        // swapped before then.
        var measured = telemetry != TelemetryLevel.None
            ? new PendingTelemetry(new RoutingSample(layerIndex, NumExperts, r, logits, counts, telemetry, Router))
            : null;
        if (is_grad_enabled() && expert_budget is not null) lastRouting = measured;
        return new MoeLayerOutput(y.view(b, s, dModel), r, aux, h, measured)
        {
            RouterLogits = Router.GatingResidual ? logits : null,
        };
    }

    /// <summary>MoE++'s copy and constant experts, weighted: Σ_copy w·h + Σ_const w·(a₁·h + a₂·v). h: (T, d),
    /// extra: (T, copies + constants) their combine weights. Each costs O(d) per token, no FFN.</summary>
    private Tensor CopyAndConstantExperts(Tensor h, Tensor extra)
    {
        // Summed in place, in the order the expression (Σ_copy + Σ_const a₁) + Σ_const a₂ gives: each (T, d)
        // temporary is a fresh 512 KB allocation at the default size, about as costly as the arithmetic on it.
        var router = (NullExpertRouter)Router;
        var w = extra.dtype == h.dtype ? extra : extra.to(h.dtype);
        int cp = router.Copies, c = router.Constants;
        // Σ_copy w·h; one copy expert's weight column is used as it is (a sum over one non-negative weight is it).
        var y = cp switch
        {
            0 => zeros_like(h),
            1 => w.narrow(1, 0, 1) * h,
            _ => w.narrow(1, 0, cp).sum([1], keepdim: true) * h,
        };
        if (c == 0) return y;
        long t = h.shape[0];
        var a = constant_gate!.forward(h).view(t, c, 2).softmax(-1);              // (T, c, 2): [a₁, a₂] per expert
        var wc = w.narrow(1, cp, c);                                                // (T, c)
        y.add_((wc * a.select(2, 0)).sum([1], keepdim: true) * h, Scalars.One);
        return y.add_((wc * a.select(2, 1)).matmul(constant_values!), Scalars.One);
    }

    /// <summary>After an optimizer step under balance: bias, each expert's bias moves by u against its load in the
    /// step (Router.UpdateBias). Returns the biases' spread, max − min, or null when not balancing by bias.</summary>
    public double? UpdateBias()
    {
        if (!Router.Config.BiasBalancing || expert_bias is null || lastLoad is null) return null;
        Router.UpdateBias(expert_bias, lastLoad, Router.Config.BiasRate);
        lastLoad = null;
        return (expert_bias.max() - expert_bias.min()).item<float>();
    }

    /// <summary>After an optimizer step under target_experts: β += rate · sign(target − mean real experts per token
    /// in the step's batch), so a layer using too few experts loosens its threshold and one using too many
    /// tightens it. Returns β, or null without a budget (or without the step's telemetry).</summary>
    public double? UpdateBudget()
    {
        if (expert_budget is null || lastRouting?.Value.MeanExpertsPerToken is not { } measured) return null;
        lastRouting = null;
        double step = Router.Config.BudgetRate * Math.Sign(Router.Config.TargetExperts - measured);
        double beta = (budgetOnHost ?? expert_budget.item<float>()) + step;   // read once (after a load), then kept
        budgetOnHost = beta;
        // β̄ ← 0.8 β̄ + 0.2 β: the controller's recent average, which training ends on (FinishBudget).
        budgetAverage = budgetAverage is { } avg ? 0.8 * avg + 0.2 * beta : beta;
        using (no_grad()) expert_budget.add_(Scalars.Of(step), Scalars.One);   // ±rate or 0: three values
        return beta;
    }

    /// <summary>At the end of training under target_experts: β ← β̄, the average of its last ~5 values. The sign
    /// controller never rests: it oscillates around the β that holds the target, a whole step either side, and for
    /// adaptive gating's T one step of 0.01 moves the mean by ~10%; evaluation routes with the centre instead.
    /// </summary>
    public void FinishBudget()
    {
        if (expert_budget is null || budgetAverage is not { } avg) return;
        using var average = avg.ToScalar();                                  // β̄: a new value each time
        using (no_grad()) expert_budget.fill_(average);
        budgetOnHost = avg;
        budgetAverage = null;
    }

    /// <summary>β of the compute budget on the host (null without one).</summary>
    public double? Budget => expert_budget is null ? null : budgetOnHost ??= expert_budget.item<float>();

    public void SetBudget(double beta)
    {
        using var value = beta.ToScalar();
        using (no_grad()) expert_budget!.fill_(value);
        budgetOnHost = beta;
    }

    /// <summary>(1) β of the compute budget (target_experts), null otherwise.</summary>
    public Tensor? ExpertBudget => expert_budget;

    /// <summary>(N) the selection biases (balance: bias), null otherwise.</summary>
    public Tensor? ExpertBias => expert_bias;

    /// <summary>z-loss: mean over tokens of logsumexp(z)², from the last forward's logits.</summary>
    public static Tensor ZLoss(Tensor logits) => logits.logsumexp(-1).pow(Scalars.Of(2)).mean();
}
