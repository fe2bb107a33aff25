using static TorchSharp.torch;

namespace Orchestrator.Moe.Routing;

/// <summary>Ada-K (Yue et al. 2024): a per-layer allocator π = softmax(h·W_alloc) over k ∈ {1..N}
/// picks each token's k; the frozen router then sends the token to its top-k experts with
/// renormalised weights. k is sampled while training the allocator, argmax at inference
/// (router.sample: true samples there too). Layers without an allocator use default_k.</summary>
public sealed class AdaKRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("ada_k",
        "Ada-K (Yue et al. 2024): per-layer allocators trained with PPO on the frozen model choose each token's k",
        [
            Param.Float("lambda", 3e-3, "Ada-K regulariser λ on E[k]", 0),
            Param.Int("default_k", 2, "the frozen model's top-k (baseline for the advantage)", 1, 256),
            Param.Float("epsilon", 0.2, "PPO clip ε (paper gives none)", 0, 1, minEx: true),
            Param.Float("gamma", 1.0, "reward discount γ per layer", 0, 1),
            Param.Int("ppo_epochs", 2, "PPO epochs per batch", 1, 100),
            Param.Enum("warm_start", "p_warm", ["random", "k_warm", "p_warm"], "allocator warm start"),
            Param.Float("warm_p", 0.3, "p for p_warm pseudo-labels", 0, 1, minEx: true),
            Param.Float("layer_fraction", 1.0, "fraction of MoE layers that get an allocator", 0, 1, minEx: true),
            Param.Bool("sample", false, "sample k at inference instead of argmax"),
            Param.Float("lr", 1e-3, "allocator learning rate (published 1e-3); PPO steps are finetune.steps", 0,
                minEx: true),
            Param.Int("warm_steps", 20, "warm-start classification steps before PPO (ignored for warm_start: random)",
                0, 1_000_000),
        ], "lambda")
    {
        Finetune = FinetuneStrategy.AllocatorPolicy,
        NoTargetExperts = "its allocators learn k by policy gradient against the FLOPs penalty lambda, which sets " +
                          "its budget",
        Constraints = c => RouterDefinition.AtMost(c, "router.default_k", "default_k", "model.experts",
            "model.experts"),
    };

    /// <summary>The allocator trainer's settings (Training/AdaKTrainer), read from the knobs above.</summary>
    public sealed record Settings(double Lambda, int DefaultK, double Epsilon, double Gamma, int PpoEpochs,
        string WarmStart,
        double WarmP, double LayerFraction, bool Sample, double Lr, int WarmSteps)
    {
        public static Settings Of(RouterConfig c) => new(c.Double("lambda"), c.Int("default_k"), c.Double("epsilon"),
            c.Double("gamma"), c.Int("ppo_epochs"), c.String("warm_start"), c.Double("warm_p"),
                c.Double("layer_fraction"),
            c.Bool("sample"), c.Double("lr"), c.Int("warm_steps"));
    }

    readonly Settings settings = Settings.Of(config);

    public override bool NeedsAllocator => true;
    public override int MaxExpertsPerToken => Experts;

    /// <summary>Allocators go to an evenly spaced `layer_fraction` of the MoE layers; the others keep
    /// default_k.</summary>
    public override IReadOnlySet<int> AllocatorLayers(int moeLayers)
    {
        int count = Math.Max(1, (int)Math.Round(settings.LayerFraction * moeLayers));
        return Enumerable.Range(0, count).Select(j => (int)Math.Floor((j + 0.5) * moeLayers / count)).ToHashSet();
    }

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = logits.softmax(-1);                                        // (T, N)
        Tensor k;                                                              // (T,) in 1..N
        if (allocatorLogits is null)
            k = full(probs.shape[0], Scalars.Of(settings.DefaultK), dtype: ScalarType.Int64, device: probs.device);
        else if (training || settings.Sample)
            k = allocatorLogits.softmax(-1).multinomial(1).squeeze(1).add(Scalars.One, Scalars.One);
        else
            k = allocatorLogits.argmax(-1).add(Scalars.One, Scalars.One);
        var (sorted, idx) = probs.sort(-1, descending: true);
        var ranks = Scalars.Arange(Experts, device: probs.device).unsqueeze(0);           // (1, N)
        var keep = ranks.lt(k.unsqueeze(1)).to(probs.dtype);                       // (T, N): rank < k
        var mask = MaskFrom(idx, keep, Experts);
        var weights = MaskFrom(idx, Renormalise(sorted * keep), Experts);
        return new RouterOutput
        {
            Mask = mask, Weights = weights, Probs = probs, AllocatorLogits = allocatorLogits, ChosenK = k,
            Top = (sorted, idx),
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs),
            EntropyLoss = Zero(probs),
        };
    }
}
