using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>What a router decides for a batch of T tokens over N real experts (+ m null experts).</summary>
public sealed class RouterOutput
{
    /// <summary>(T, N) float 0/1: which real experts each token is dispatched to. Nulls never appear here.</summary>
    public required Tensor Mask { get; init; }
    /// <summary>(T, N) combine weights, zero where not selected.</summary>
    public required Tensor Weights { get; init; }
    /// <summary>(T, N + m) router probabilities P = softmax(z).</summary>
    public required Tensor Probs { get; init; }
    /// <summary>MoE++: (T, copies + constants) combine weights of the copy and constant experts.</summary>
    public Tensor? ExtraWeights { get; init; }
    /// <summary>Ada-K: (T, N) allocator logits and (T,) chosen k (1..N), for the RL trainer.</summary>
    public Tensor? AllocatorLogits { get; init; }
    public Tensor? ChosenK { get; init; }
    /// <summary>α·balance loss, with the router's own f_i.</summary>
    public required Tensor BalanceLoss { get; init; }
    /// <summary>β·entropy loss (top_p) — zero elsewhere.</summary>
    public required Tensor EntropyLoss { get; init; }
    /// <summary>(T, ≥ 1) the largest probabilities of P, descending, and their slots, where the rule computed them
    /// anyway (a top-k or a sort of P): the telemetry's margin and logsumexp reuse them instead of another top-k.
    /// </summary>
    public (Tensor Values, Tensor Indices)? Top { get; init; }
}

/// <summary>A routing rule: from router logits to a dispatch mask and combine weights. Routers hold
/// no parameters (the gate, null logits and allocators live in <see cref="Module.MoeBlock"/>), so a
/// trained model can switch rule — the papers' conversion of a trained top-k model.</summary>
public abstract class Router
{
    protected Router(RouterConfig config, int experts) { Config = config; Experts = experts; }

    public RouterConfig Config { get; }
    /// <summary>N, the number of real (routed) experts.</summary>
    public int Experts { get; }
    /// <summary>m, extra logits beyond the N real experts (null experts).</summary>
    public virtual int NullExperts => 0;
    public virtual bool NeedsAllocator => false;
    /// <summary>MoE++'s gating residual: this layer's logits plus W_g times the previous MoE layer's.</summary>
    public virtual bool GatingResidual => false;
    /// <summary>The largest number of real experts one token can use: the FLOPs ceiling.</summary>
    public abstract int MaxExpertsPerToken { get; }

    /// <summary>logits: (T, N + m). allocatorLogits: (T, N) for Ada-K, else null.</summary>
    public abstract RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training);

    /// <summary>target_experts: β, a (1) tensor on the device, moved by the budget controller after each training
    /// step (MoeBlock.UpdateBudget) and saved with the model; β &gt; 0 means more real experts per token. Rules
    /// that take a budget (top_p, adaptive_gating, null_experts) read it in Route; null when there is none.
    /// </summary>
    public Tensor? Budget { get; set; }

    /// <summary>Whether MoeBlock keeps a β for this rule when target_experts is set (relu holds its target with
    /// its own L1 controller instead).</summary>
    public virtual bool TakesBudget => false;

    /// <summary>Routing slots per token when some can be null (top-k over real + null experts): the k.</summary>
    public virtual int SlotsPerToken => 0;

    /// <summary>Combine weights for a given selection, from the router's unbiased logits: what Route gives the
    /// experts it chose. Used by auxiliary-loss-free balancing, which chooses with biased scores but weights with
    /// the unbiased ones. Default: P = softmax(z) over the selected real experts, renormalised. mask: (T, N),
    /// logits: (T, N + m).</summary>
    public virtual Tensor Weights(Tensor mask, Tensor logits) =>
        Renormalise(logits.softmax(-1).narrow(1, 0, Experts) * mask);

    /// <summary>Auxiliary-loss-free balancing (Wang et al. 2024; DeepSeek-V3): experts are chosen on z + b (b: (N)
    /// per-expert biases, null experts unbiased) and weighted on z alone; P stays softmax(z).</summary>
    public RouterOutput RouteWithBias(Tensor logits, Tensor? allocatorLogits, bool training, Tensor bias)
    {
        var padded = NullExperts > 0 ? cat([bias, zeros(NullExperts, dtype: bias.dtype, device: bias.device)]) : bias;
        var chosen = Route(logits.add(padded, Scalars.One), allocatorLogits, training);
        return new RouterOutput
        {
            Mask = chosen.Mask, Weights = Weights(chosen.Mask, logits), Probs = logits.softmax(-1),
            AllocatorLogits = chosen.AllocatorLogits, ChosenK = chosen.ChosenK,
            ExtraWeights = chosen.ExtraWeights,
            BalanceLoss = chosen.BalanceLoss, EntropyLoss = chosen.EntropyLoss,
        };
    }

    /// <summary>The bias update after a step: b_i += u · sign(mean load − load_i) — an overloaded expert's bias
    /// falls, an idle one's rises. load: tokens routed to each expert in the step's batch.</summary>
    public static void UpdateBias(Tensor bias, IReadOnlyList<long> load, double rate)
    {
        double mean = load.Average();
        var step = load.Select(l => (float)(rate * Math.Sign(mean - l))).ToArray();
        using var _ = no_grad();
        bias.add_(tensor(step, device: bias.device), Scalars.One);
    }

    /// <summary>Called once after every optimizer step, on the first MoE layer's router, with every layer's router:
    /// a rule with a controller (ReMoE's L1 coefficient) updates it from what the step measured and returns its
    /// state as metrics to log. Most rules have none.</summary>
    public virtual IReadOnlyDictionary<string, double> AfterStep(IReadOnlyList<Router> layers) => NoState;

    protected static readonly IReadOnlyDictionary<string, double> NoState = new Dictionary<string, double>();

    /// <summary>Which MoE layers (0-based among MoE layers) get an allocator; none for most routers.</summary>
    public virtual IReadOnlySet<int> AllocatorLayers(int moeLayers) => new HashSet<int>();

    /// <summary>Switch balance loss L_b = α · E · Σ_i f_i · P̄_i over E experts. f: (E) dispatch fractions
    /// (each router defines its own), probs: (T, E).</summary>
    protected Tensor SwitchBalance(Tensor f, Tensor probs)
    {
        var pMean = probs.mean([0]);                                          // P̄_i, (E)
        return Scalars.Of(Config.BalanceCoef * f.shape[0]) * (f * pMean).sum();
    }

    /// <summary>Fractions of all dispatches that went to each expert: f_i = count_i / Σ count. mask: (T, E).</summary>
    protected static Tensor DispatchFractions(Tensor mask)
    {
        var counts = mask.sum([0]);
        return counts / counts.sum().clamp_min(Scalars.Of(1));
    }

    /// <summary>Scatter per-token selections back to expert order. idx: (T, r) expert ids, keep: (T, r) 0/1.
    /// Adds (scatter_add), so a masked-out slot aliasing a real index never erases it.</summary>
    protected static Tensor MaskFrom(Tensor idx, Tensor keep, long experts) =>
        zeros(idx.shape[0], experts, dtype: keep.dtype, device: idx.device).scatter_add(1, idx, keep);

    /// <summary>Threshold comparisons (c ≤ p, P1 − P2 ≤ T) allow this much float32 rounding, so a
    /// mass equal to the threshold up to rounding counts as not exceeding it.</summary>
    public const double Tolerance = 1e-6;

    protected static Tensor Renormalise(Tensor w) => w / w.sum(-1, keepdim: true).clamp_min(Scalars.Of(1e-9));

    protected Tensor Zero(Tensor like) => zeros([], dtype: like.dtype, device: like.device);
}
