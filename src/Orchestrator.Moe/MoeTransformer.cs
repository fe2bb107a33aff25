using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe;

/// <summary>What one forward pass returns: logits (B, S, V), the summed auxiliary routing losses, each MoE
/// layer's telemetry (when asked for) and each MoE layer's output with its routing decision.</summary>
public sealed record ModelOutput(Tensor Logits, Tensor AuxLoss, IReadOnlyList<LayerTelemetry> Telemetry,
    IReadOnlyList<MoeLayerOutput> Routing);

/// <summary>The body, named as Hugging Face's Mixtral (`model.embed_tokens`, `model.layers.N…`,
/// `model.norm`).</summary>
public sealed class MoeBody : nn.Module
{
    internal readonly Embedding embed_tokens;
    internal readonly ModuleList<DecoderLayer> layers;
    internal readonly RMSNorm norm;

    public MoeBody(ModelConfig c, RouterConfig router, Device device) : base("model")
    {
        var rope = new RotaryEmbedding(c.DModel / c.Heads, c.Context, c.RopeTheta, device, MoeTransformer.DType(c));
        embed_tokens = nn.Embedding(c.VocabSize, c.DModel);
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.Layers)
            .Select(i => new DecoderLayer(i, c, rope, c.IsMoeLayer(i) ? Routers.Create(router,
                c.Experts) : null)).ToArray());
        norm = new RMSNorm(c.DModel, c.RmsNormEps);
        RegisterComponents();
    }
}

/// <summary>A decoder-only Mixtral-style MoE language model whose routing rule can be swapped.
/// tokens (B, S) → logits (B, S, V), plus the summed auxiliary routing losses and telemetry.</summary>
public sealed class MoeTransformer : nn.Module
{
    private readonly MoeBody model;
    private readonly Linear? lm_head;      // null when tied to the embedding (tie_word_embeddings)

    public ModelConfig Config { get; }
    public RouterConfig RouterConfig { get; private set; }
    public Device Device { get; }

    /// <param name="initialize">false: the weights are about to be read from a checkpoint — they are created
    /// directly in the model's dtype and left uninitialised (a 47B-parameter model is never drawn at random, nor
    /// held twice, in float32 and in bfloat16).</param>
    public MoeTransformer(ModelConfig config, RouterConfig router, Device? device = null, bool initialize = true)
        : base(nameof(MoeTransformer))
    {
        Config = config;
        RouterConfig = router;
        Device = device ?? CPU;
        var dtype = get_default_dtype();
        if (!initialize) set_default_dtype(DType(config));
        try
        {
            model = new MoeBody(config, router, Device);
            if (!config.TieEmbeddings) lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        }
        finally { set_default_dtype(dtype); }
        RegisterComponents();
        if (initialize) InitWeights();
        if (config.BFloat16) this.to(ScalarType.BFloat16);
        if (Device.type != DeviceType.CPU) this.to(Device);
    }

    /// <summary>The dtype of the weights and activations (model.dtype).</summary>
    public static ScalarType DType(ModelConfig c) => c.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>Adds LoRA adapters (rank r, α = 2r) to every attention layer's query and value projections.</summary>
    public void EnableLora(int rank)
    {
        foreach (var layer in model.layers) layer.SelfAttention.EnableLora(rank, 2.0 * rank);
    }

    public IReadOnlyList<MoeBlock> MoeBlocks => model.layers.Select(l => l.Moe).OfType<MoeBlock>().ToList();

    /// <summary>GPT-2 style initialisation: N(0, 0.02) for every weight matrix, ones for norms.</summary>
    private void InitWeights()
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
            if (p.dim() == 2) nn.init.normal_(p, 0, 0.02);
    }

    /// <summary>Switches every MoE layer to another routing rule (top-k → top-p, adaptive gating,
    /// null experts, Ada-K), keeping the trained weights; allocators go to the layers the rule asks for.</summary>
    public void ConvertRouter(RouterConfig router)
    {
        RouterConfig = router;
        var blocks = MoeBlocks;
        AllocatorLayers = Routers.Create(router, Config.Experts).AllocatorLayers(blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
            blocks[i].SetRouter(Routers.Create(router, Config.Experts), AllocatorLayers.Contains(i));
    }

    /// <summary>After an optimizer step: routers with a controller update it (ReMoE's λ); returns its state.</summary>
    public IReadOnlyDictionary<string, double> AfterTrainingStep()
    {
        var blocks = MoeBlocks;
        var routers = blocks.Select(b => b.Router).ToList();
        var state = new Dictionary<string, double>(routers.Count == 0 ? [] : routers[0].AfterStep(routers));
        var spreads = blocks.Select(b => b.UpdateBias()).OfType<double>().ToList();
        if (spreads.Count > 0) state["expert_bias_spread"] = spreads.Average();      // balance: bias
        var budgets = blocks.Select(b => b.UpdateBudget()).OfType<double>().ToList();
        if (budgets.Count > 0) state["expert_budget"] = budgets.Average();           // target_experts: mean β
        return state;
    }

    /// <summary>Budget calibration (router.budget_calibration): with the weights frozen, each MoE layer's β is
    /// searched, from the first layer up (a layer's routing depends on the βs below it, not above), so that its
    /// mean real experts per token over the given text meets the target. That mean rises with β and, the text being
    /// the same every round, is a fixed function of it: the search brackets the target (steps from budget_rate,
    /// doubling) and bisects the bracket, `rounds` evaluations per layer, and keeps the β that came closest. Each
    /// evaluation runs only the layer being calibrated, on the residual stream the layers below (already
    /// calibrated) produced once. inputs: token batches (B, S). Returns each MoE layer's mean at the β it keeps.
    /// </summary>
    public IReadOnlyList<double> CalibrateBudget(IReadOnlyList<Tensor> inputs, int rounds)
    {
        double target = RouterConfig.TargetExperts, rate = RouterConfig.BudgetRate;
        eval();
        using var _ = no_grad();
        using var outer = NewDisposeScope();
        // Per batch: x, the residual stream (B, S, d) entering the next layer, and the last MoE layer's router
        // logits (what a gating residual reads; they do not depend on that layer's β).
        var states = inputs.Select(t => (x: model.embed_tokens.forward(t), logits: (Tensor?)null)).ToList();
        var reached = new List<double>();
        foreach (var layer in model.layers)
        {
            if (layer.Moe is { } block)
            {
                double MeanAt(double beta)
                {
                    block.SetBudget(beta);
                    double mean = 0;
                    foreach (var (x, logits) in states)
                    {
                        using var scope = NewDisposeScope();
                        mean += layer.Forward(x, TelemetryLevel.Summary, false, logits).Moe!.Telemetry!
                            .MeanExpertsPerToken / states.Count;
                    }
                    return mean;
                }
                double beta = block.Budget!.Value, mean = MeanAt(beta), step = rate;
                var best = (beta, mean);
                double? below = mean < target ? beta : null, above = mean < target ? null : beta;
                for (int round = 1; round < rounds && best.mean != target; round++)
                {
                    // Bracketing: away from the side the mean is on, the step doubling; then the bracket's midpoint.
                    beta = below is { } lo && above is { } hi ? (lo + hi) / 2 : below is not null ? beta + step
                        : beta - step;
                    step *= 2;
                    mean = MeanAt(beta);
                    if (mean < target) below = beta; else above = beta;
                    if (Math.Abs(mean - target) < Math.Abs(best.mean - target)) best = (beta, mean);
                }
                block.SetBudget(best.beta);
                reached.Add(best.mean);
            }
            states = states.Select(s =>
            {
                var (y, moe) = layer.Forward(s.x, TelemetryLevel.None, false, s.logits);
                return (y, moe is null ? s.logits : moe.RouterLogits);
            }).ToList();
        }
        return reached;
    }

    /// <summary>After the last training step: compute budgets settle on their controllers' recent average
    /// (MoeBlock.FinishBudget).</summary>
    public void AfterTraining()
    {
        foreach (var b in MoeBlocks) b.FinishBudget();
    }

    /// <summary>Which MoE layers (0-based among MoE layers) have an allocator (Ada-K).</summary>
    public IReadOnlySet<int> AllocatorLayers { get; private set; } = new HashSet<int>();

    /// <summary>m, the null-expert logits each MoE layer's router adds (FLOPs accounting).</summary>
    public int NullExperts => MoeBlocks.FirstOrDefault()?.Router.NullExperts ?? 0;

    /// <summary>tokens (B, S) → logits (B, S, V) with every MoE layer's routing. sampleAllocators: Ada-K allocators
    /// sample k from π (allocator training) instead of taking its argmax.</summary>
    public ModelOutput Forward(Tensor tokens, TelemetryLevel telemetry = TelemetryLevel.None,
        bool sampleAllocators = false)
    {
        var x = model.embed_tokens.forward(tokens);                  // (B, S, d)
        var aux = zeros([], device: x.device);
        var routing = new List<MoeLayerOutput>();
        foreach (var layer in model.layers)
        {
            (x, var moe) = layer.Forward(x, telemetry, sampleAllocators, routing.LastOrDefault()?.RouterLogits);
            if (moe is null) continue;
            aux = aux.add(moe.AuxLoss, Scalars.One);
            routing.Add(moe);
        }
        var final = model.norm.forward(x);
        var logits = lm_head is null ? nn.functional.linear(final, model.embed_tokens.weight!)   // tied: h·Eᵀ
            : lm_head.forward(final);                                // (B, S, V)
        // Every layer's statistics in one device-to-host transfer, queued behind the whole forward.
        var pending = routing.Select(m => m.PendingTelemetry).OfType<PendingTelemetry>().ToList();
        PendingTelemetry.ResolveAll(pending);
        var tel = pending.Select(p => p.Value).ToList();
        // Losses and log-probabilities are taken in float32 whatever the weights' dtype.
        return new ModelOutput(logits.to(ScalarType.Float32), aux, tel, routing);
    }

    /// <summary>Parameters by group, for FLOPs and "activated parameters" accounting.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
