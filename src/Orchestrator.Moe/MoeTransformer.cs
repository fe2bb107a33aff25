using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using Orchestrator.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe;

/// <summary>What one forward pass returns.</summary>
public sealed record ModelOutput(Tensor Logits, Tensor AuxLoss, IReadOnlyList<LayerTelemetry> Telemetry);

/// <summary>The body, named as Hugging Face's Mixtral (`model.embed_tokens`, `model.layers.N…`, `model.norm`).</summary>
public sealed class MoeBody : nn.Module
{
    internal readonly Embedding embed_tokens;
    internal readonly ModuleList<DecoderLayer> layers;
    internal readonly RMSNorm norm;

    public MoeBody(ModelConfig c, RouterConfig router, Device device) : base("model")
    {
        var rope = new RotaryEmbedding(c.DModel / c.Heads, c.Context, c.RopeTheta, device);
        embed_tokens = nn.Embedding(c.VocabSize, c.DModel);
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.Layers)
            .Select(i => new DecoderLayer(i, c, rope, c.IsMoeLayer(i) ? Router.Create(router, c.Experts) : null)).ToArray());
        norm = new RMSNorm(c.DModel);
        RegisterComponents();
    }
}

/// <summary>A decoder-only Mixtral-style MoE language model whose routing rule can be swapped.
/// tokens (B, S) → logits (B, S, V), plus the summed auxiliary routing losses and telemetry.</summary>
public sealed class MoeTransformer : nn.Module
{
    private readonly MoeBody model;
    private readonly Linear lm_head;

    public ModelConfig Config { get; }
    public RouterConfig RouterConfig { get; private set; }
    public Device Device { get; }

    public MoeTransformer(ModelConfig config, RouterConfig router, Device? device = null) : base(nameof(MoeTransformer))
    {
        Config = config;
        RouterConfig = router;
        Device = device ?? CPU;
        model = new MoeBody(config, router, Device);
        lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        RegisterComponents();
        InitWeights();
        if (Device.type != DeviceType.CPU) this.to(Device);
    }

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
    /// null experts, Ada-K), keeping the trained weights. Ada-K allocators go to an evenly spaced
    /// `layer_fraction` of the MoE layers; the others keep default_k.</summary>
    public void ConvertRouter(RouterConfig router)
    {
        RouterConfig = router;
        var blocks = MoeBlocks;
        var withAllocator = AllocatorLayers(router, blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
            blocks[i].SetRouter(Router.Create(router, Config.Experts), withAllocator.Contains(i));
    }

    /// <summary>Which MoE layers (0-based among MoE layers) get an Ada-K allocator.</summary>
    public static HashSet<int> AllocatorLayers(RouterConfig router, int moeLayers)
    {
        if (router.Type != "ada_k") return [];
        int count = Math.Max(1, (int)Math.Round(router.LayerFraction * moeLayers));
        return Enumerable.Range(0, count).Select(j => (int)Math.Floor((j + 0.5) * moeLayers / count)).ToHashSet();
    }

    public ModelOutput Forward(Tensor tokens, TelemetryLevel telemetry = TelemetryLevel.None)
    {
        foreach (var b in MoeBlocks) b.Telemetry = telemetry;
        var x = model.embed_tokens.forward(tokens);                  // (B, S, d)
        var aux = zeros([], device: x.device);
        var tel = new List<LayerTelemetry>();
        foreach (var layer in model.layers)
        {
            x = layer.forward(x);
            if (layer.Moe is { } moe)
            {
                aux = aux + moe.LastAuxLoss!;
                if (telemetry != TelemetryLevel.None) tel.Add(moe.LastTelemetry!);
            }
        }
        var logits = lm_head.forward(model.norm.forward(x));         // (B, S, V)
        return new ModelOutput(logits, aux, tel);
    }

    /// <summary>Parameters by group, for FLOPs and "activated parameters" accounting.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
