using Orchestrator.Moe;
using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using Orchestrator.Specs;
using Orchestrator.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

public class ModelTests
{
    internal static readonly ModelConfig Tiny = new(Layers: 2, DModel: 32, Heads: 4, Experts: 4, ExpertHidden: 48, SharedExperts: 0,
        MoeLayers: "all", VocabSize: 64, Context: 16, RopeTheta: 10000);

    static Tensor Tokens(int seed, int b = 2, int s = 16)
    {
        var g = new Random(seed);
        return tensor(Enumerable.Range(0, b * s).Select(_ => (long)g.Next(64)).ToArray(), [b, s]);
    }

    [Fact]
    public void Loss_on_a_fixed_batch_falls_over_optimiser_steps()
    {
        manual_seed(1);
        var model = new MoeTransformer(Tiny, RouterConfig.TopK(2));
        var batch = Tokens(7, 4, 17);
        var cfg = new TrainConfig(Steps: 25, BatchSize: 4, Lr: 1e-2, Warmup: 0, WeightDecay: 0, GradClip: 1, EvalEvery: 0);
        var history = Trainer.Train(model, cfg, model.parameters(), _ => batch);
        Assert.Equal(25, history.Count);
        Assert.True(history[^1].Loss < history[0].Loss * 0.7, $"loss {history[0].Loss} → {history[^1].Loss}");
    }

    [Fact]
    public void TopK_with_k_equal_to_experts_equals_the_dense_mixture()
    {
        manual_seed(2);
        var block = new MoeBlock(0, 32, 4, 48, 0, Routers.Create(RouterConfig.TopK(4), 4));
        var x = randn(2, 5, 32);
        var y = block.forward(x).reshape(10, 32);
        var h = x.reshape(10, 32);
        var p = block.Gate.forward(h).softmax(-1);                 // (T, N)
        var dense = zeros(10, 32);
        for (int e = 0; e < 4; e++) dense += p[.., e].unsqueeze(1) * block.Expert(e).forward(h);
        Assert.True(allclose(y, dense, rtol: 1e-4, atol: 1e-5), $"max diff {(y - dense).abs().max().item<float>()}");
    }

    [Fact]
    public void A_token_choosing_only_null_experts_passes_through_the_residual()
    {
        manual_seed(3);
        var block = new MoeBlock(0, 32, 4, 48, 0, Routers.Create(RouterConfig.Of("null_experts", ("k", 1), ("nulls", 2)), 4));
        using (no_grad()) { block.Gate.weight!.fill_(0); block.NullGate!.weight!.fill_(0); block.NullGate.weight![0, 0] = 100; }
        var x = zeros(1, 3, 32);
        x[0, .., 0] = 1;                                           // every token's null logit is 100: top-1 is a null
        var y = block.Forward(x);
        Assert.Equal(0f, y.Hidden.abs().max().item<float>());
        Assert.Equal(0f, y.Routing.Mask.sum().item<float>());
    }

    [Theory]
    [InlineData("top_k")]
    [InlineData("top_p")]
    [InlineData("adaptive_gating")]
    [InlineData("null_experts")]
    [InlineData("ada_k")]
    [InlineData("relu")]
    public void Changing_later_tokens_never_changes_earlier_outputs_or_routing(string router)
    {
        manual_seed(4);
        var rc = TestRouters.Config(router, ("k", router == "null_experts" ? 3 : 2), ("nulls", 4), ("p", 0.4), ("threshold", 0.1));
        var model = new MoeTransformer(Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(rc);
        model.eval();
        using var _ = no_grad();
        var a = Tokens(5, 1, 16);
        var b = a.clone();
        b[0, 10..] = Tokens(6, 1, 6);
        var oa = model.Forward(a, TelemetryLevel.Tokens);
        var ra = oa.Telemetry.Select(t => t.ExpertsPerToken!).ToList();
        var ob = model.Forward(b, TelemetryLevel.Tokens);
        var rb = ob.Telemetry.Select(t => t.ExpertsPerToken!).ToList();
        Assert.True(allclose(oa.Logits[0, ..10], ob.Logits[0, ..10], rtol: 1e-5, atol: 1e-5));
        for (int l = 0; l < ra.Count; l++) Assert.Equal(ra[l][..10], rb[l][..10]);
        Assert.False(allclose(oa.Logits[0, 10..], ob.Logits[0, 10..]));
    }

    [Theory]
    [InlineData("top_k")]
    [InlineData("top_p")]
    [InlineData("adaptive_gating")]
    [InlineData("null_experts")]
    [InlineData("relu")]
    public void Gradients_reach_the_router(string router)
    {
        manual_seed(5);
        var rc = TestRouters.Config(router, ("k", router == "null_experts" ? 3 : 2), ("nulls", 4), ("p", 0.4), ("threshold", 0.3), ("balance_coef", 0.01));
        var model = new MoeTransformer(Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(rc);
        var (loss, output) = Trainer.LmLoss(model, Tokens(8, 2, 17));
        (loss + output.AuxLoss).backward();
        foreach (var block in model.MoeBlocks)
        {
            Assert.True(block.Gate.weight!.grad is { } g && g.abs().sum().item<float>() > 0, $"{router}: no gradient at the gate");
            if (router == "null_experts")
                Assert.True(block.NullGate!.weight!.grad!.abs().sum().item<float>() > 0, "no gradient at the null logits");
        }
    }

    [Fact]
    public void Null_logits_are_initialised_from_the_trained_gate_rows()
    {
        manual_seed(6);
        var model = new MoeTransformer(Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(RouterConfig.Of("null_experts", ("k", 3), ("nulls", 6)));
        foreach (var b in model.MoeBlocks)
            for (int j = 0; j < 6; j++)
                Assert.True(b.NullGate!.weight![j].allclose(b.Gate.weight![j % 4], rtol: 0, atol: 0));
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.layers.0.block_sparse_moe.null_gate.weight", names);
    }

    [Fact]
    public void Parameter_names_follow_the_mixtral_layout()
    {
        var names = new MoeTransformer(Tiny, RouterConfig.TopK(2)).named_parameters().Select(p => p.name).ToHashSet();
        foreach (var n in new[] {
                     "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                     "model.layers.1.block_sparse_moe.gate.weight", "model.layers.1.block_sparse_moe.experts.3.w1.weight",
                     "model.layers.1.block_sparse_moe.experts.3.w2.weight", "model.layers.1.block_sparse_moe.experts.3.w3.weight",
                     "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight" })
            Assert.Contains(n, names);
    }

    [Fact]
    public void Flops_equal_a_hand_count()
    {
        var c = new ModelConfig(Layers: 2, DModel: 4, Heads: 2, Experts: 2, ExpertHidden: 3, SharedExperts: 0, MoeLayers: "all",
            VocabSize: 10, Context: 3, RopeTheta: 10000);
        // attention: 2·(2·4·16 + 2·2·4·2) = 320; router: 2·(2·4·2) = 32; experts: 2·36·1 + 2·36·2 = 216; head: 2·4·10 = 80
        var f = FlopsCounter.PerToken(c, 0, new HashSet<int>(), [1.0, 2.0], meanContext: 2);
        Assert.Equal(648, f.FlopsPerToken);
        // activated parameters: attention 2·64, router 2·8, experts 36·(1 + 2), head 40
        Assert.Equal(128 + 16 + 108 + 40, f.ActivatedParameters);
        // null experts add router logits but no expert FLOPs.
        var withNulls = FlopsCounter.PerToken(c, 3, new HashSet<int>(), [1.0, 2.0], meanContext: 2);
        Assert.Equal(648 + 2 * 2 * 4 * 3, withNulls.FlopsPerToken);
    }

    [Fact]
    public void A_training_step_leaks_no_native_tensors()
    {
        manual_seed(9);
        var model = new MoeTransformer(Tiny, RouterConfig.Of("top_p", ("p", 0.4), ("entropy_coef", 1e-4)));
        var batch = Tokens(10, 2, 17);
        var cfg = new TrainConfig(Steps: 6, BatchSize: 2, Lr: 1e-3, Warmup: 0, WeightDecay: 0, GradClip: 1, EvalEvery: 0);
        var live = new List<long>();
        // Counted at the end of each step, before its dispose scope closes: the same number every
        // step once the optimiser state exists (step 1), so nothing accumulates.
        Trainer.Train(model, cfg, model.parameters(), _ => batch, _ => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount));
        Assert.Equal(6, live.Count);
        Assert.All(live.Skip(2), n => Assert.Equal(live[1], n));
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope()) { Trainer.LmLoss(model, batch).loss.backward(); }
        model.zero_grad();
        Assert.True(DisposeScopeManager.Statistics.ThreadTotalLiveCount <= before + model.parameters().Count(),
            "a forward/backward inside a dispose scope left tensors behind");
    }
}

public class LoraTests
{
    [Fact]
    public void Lora_starts_equal_to_the_base_and_adds_only_adapter_parameters()
    {
        manual_seed(12);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        model.eval();
        var tokens = tensor(Enumerable.Range(0, 16).Select(i => (long)(i * 3 % 64)).ToArray(), [1, 16]);
        using var _ = no_grad();
        var before = model.Forward(tokens).Logits.clone();
        int count = model.parameters().Count();
        model.EnableLora(4);
        Assert.True(allclose(before, model.Forward(tokens).Logits));        // B = 0: the adapted model is the base
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(count + 2 * 4, names.Count);                             // q and v, A and B, per layer (2 layers)
        Assert.Contains("model.layers.1.self_attn.v_lora_B.weight", names);
    }
}

public class PendingTelemetryTests
{
    static RouterConfig Config(string router) => router switch
    {
        "null_experts" => RouterConfig.Of(router, ("nulls", 2L), ("k", 2L)),
        "moe++" => RouterConfig.Of("null_experts", ("nulls", 2L), ("copies", 1L), ("constants", 1L), ("k", 3L),
            ("gating_residual", true)),
        _ => RouterConfig.Of(router),
    };

    /// <summary>Every field, bit for bit (or equal as integers).</summary>
    internal static void AssertSame(LayerTelemetry a, LayerTelemetry b)
    {
        Assert.Equal((a.Layer, a.Tokens, a.Batches, a.ExpertSelections),
            (b.Layer, b.Tokens, b.Batches, b.ExpertSelections));
        Assert.Equal(a.Histogram, b.Histogram);
        Assert.Equal(a.Load, b.Load);
        Assert.Equal(a.GateProbability, b.GateProbability);
        Assert.Equal(a.CoActivation, b.CoActivation);
        Assert.Equal(a.ExpertsPerToken, b.ExpertsPerToken);
        Assert.Equal([a.EntropySum, a.MarginSum, a.BalanceLossSum, a.EntropyLossSum, a.ZLossSum, a.NullSelections,
            a.MaxVioBatchSum], [b.EntropySum, b.MarginSum, b.BalanceLossSum, b.EntropyLossSum, b.ZLossSum,
            b.NullSelections, b.MaxVioBatchSum]);
        Assert.Equal(a.AllNullTokens, b.AllNullTokens);
    }

    /// <summary>The model measures its layers stacked, by one set of operations (RoutingStatistics): each layer's
    /// statistics must be what that layer measured alone gives, bit for bit.</summary>
    [Theory]
    [InlineData("top_k", TelemetryLevel.Tokens)]
    [InlineData("top_p", TelemetryLevel.Summary)]
    [InlineData("adaptive_gating", TelemetryLevel.Tokens)]
    [InlineData("null_experts", TelemetryLevel.Tokens)]
    [InlineData("moe++", TelemetryLevel.Summary)]
    [InlineData("ada_k", TelemetryLevel.Tokens)]
    [InlineData("relu", TelemetryLevel.Summary)]
    // 400 × 16 tokens × 6 logits: each layer's float sums are over more than RoutingStatistics.ReductionGrain
    // elements, so they are taken layer by layer.
    [InlineData("null_experts", TelemetryLevel.Summary, 400, 16)]
    public void A_forwards_telemetry_equals_each_layer_measured_alone_bit_for_bit(string router, TelemetryLevel level,
        int batch = 3, int length = 11)
    {
        int threads = get_num_threads();
        set_num_threads(2);                  // libtorch splits a large reduction only between threads
        try
        {
            manual_seed(21);
            var model = new MoeTransformer(ModelTests.Tiny with { Layers = 3 }, RouterConfig.TopK(2));
            using (no_grad()) foreach (var b in model.MoeBlocks) b.Gate.weight!.mul_(4.0);
            model.ConvertRouter(Config(router));
            model.eval();
            var tokens = randint(ModelTests.Tiny.VocabSize, [batch, length], dtype: ScalarType.Int64);
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var output = model.Forward(tokens, level);
            Assert.Equal(3, output.Telemetry.Count);
            for (int l = 0; l < 3; l++)
            {
                var alone = model.MoeBlocks[l].Forward(output.Routing[l].RouterInput.view(batch, length, -1), level,
                    false, l > 0 ? output.Routing[l - 1].RouterLogits : null).Telemetry!;
                AssertSame(alone, output.Telemetry[l]);
                Assert.Equal(l, output.Telemetry[l].Layer);
            }
            Assert.Equal(level == TelemetryLevel.Tokens ? batch * length : null,
                output.Telemetry[2].ExpertsPerToken?.Length);
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>RoutingStatistics.ReductionGrain is libtorch's: up to it, a float sum taken as one row of a batched
    /// reduction is the tensor's own sum bit for bit, on two threads as on one.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Up_to_the_reduction_grain_a_row_of_a_batched_sum_is_the_tensors_own_sum(int threads)
    {
        int before = get_num_threads();
        set_num_threads(threads);
        try
        {
            using var scope = NewDisposeScope();
            manual_seed(8);
            foreach (long k in new[] { 1000L, 19456, RoutingStatistics.ReductionGrain })
            {
                var rows = randn(4, k).softmax(-1);
                var batched = rows.sum([1]).data<float>().ToArray();
                var means = rows.mean([1]).data<float>().ToArray();
                for (int l = 0; l < 4; l++)
                {
                    Assert.Equal(rows[l].clone().sum().item<float>(), batched[l]);
                    Assert.Equal(rows[l].clone().mean().item<float>(), means[l]);
                }
            }
        }
        finally { set_num_threads(before); }
    }

    /// <summary>Layers of different shapes (experts, tokens, level) resolved together: each shape is measured on
    /// its own, all come back in one transfer, and each layer reads its own row.</summary>
    [Fact]
    public void Layers_of_different_shapes_resolved_together_each_read_their_own_statistics()
    {
        manual_seed(5);
        MoeBlock Block(int layer, int experts, RouterConfig router) =>
            new(layer, 16, experts, 8, 0, Routers.Create(router, experts));
        var blocks = new[]
        {
            (Block(0, 4, RouterConfig.TopK(2)), randn(2, 5, 16), TelemetryLevel.Tokens),
            (Block(1, 6, Config("null_experts")), randn(2, 5, 16), TelemetryLevel.Summary),
            (Block(2, 4, RouterConfig.Of("top_p")), randn(3, 4, 16), TelemetryLevel.Summary),
            (Block(3, 4, RouterConfig.TopK(2)), randn(2, 5, 16), TelemetryLevel.Tokens),
        };
        using var _ = no_grad();
        foreach (var (b, _, _) in blocks) using (no_grad()) b.Gate.weight!.mul_(3.0);
        var pending = blocks.Select(b => b.Item1.Forward(b.Item2, b.Item3).PendingTelemetry!).ToList();
        PendingTelemetry.ResolveAll([pending[2], pending[0], pending[3], pending[1]]);
        for (int i = 0; i < blocks.Length; i++)
        {
            var (block, x, level) = blocks[i];
            AssertSame(block.Forward(x, level).Telemetry!, pending[i].Value);
        }
        Assert.Equal([4, 6, 4, 4], pending.Select(p => p.Value.Experts));
        Assert.Equal([10L, 10, 12, 10], pending.Select(p => p.Value.Tokens));
        Assert.Equal(20, pending[0].Value.Load.Sum());                        // top-2 of 10 tokens
        Assert.Equal(10, pending[3].Value.ExpertsPerToken!.Length);
    }
}
