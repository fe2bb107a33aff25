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
    [Fact]
    public void Every_layers_statistics_come_back_in_one_transfer_split_as_each_layer_laid_them_out()
    {
        var seen = new List<double[]>();
        // float32 on the device (each statistic is exact in it), widened to float64 on the host.
        PendingTelemetry Layer(params float[] values) => new(tensor(values, ScalarType.Float32), s =>
        {
            seen.Add(s);
            return new LayerTelemetry { Layer = seen.Count, Experts = 1, Histogram = [], Load = [],
                GateProbability = [] };
        });
        var layers = new[] { Layer(1, 2, 3), Layer(4), Layer(5, 16_777_216f, 0.1f) };
        PendingTelemetry.ResolveAll(layers);
        Assert.Equal([[1.0, 2, 3], [4.0], [5.0, 16_777_216, (double)0.1f]], seen);
        Assert.Equal([1, 2, 3], layers.Select(l => l.Value.Layer));        // read once, not again
        Assert.Equal(3, seen.Count);
        var alone = Layer(7, 8);
        Assert.Equal(4, alone.Value.Layer);                                 // read on its own when asked first
        Assert.Equal([7.0, 8], seen[^1]);
    }

    [Fact]
    public void A_forwards_telemetry_equals_each_layers_own_reading()
    {
        manual_seed(21);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.Of("null_experts", ("nulls", 2), ("k", 2)));
        var tokens = randint(ModelTests.Tiny.VocabSize, [2, 12], dtype: ScalarType.Int64);
        using var _ = no_grad();
        var output = model.Forward(tokens, TelemetryLevel.Tokens);
        var h = model.MoeBlocks[0].Forward(output.Routing[0].RouterInput.view(2, 12, -1), TelemetryLevel.Tokens);
        var own = h.Telemetry!;
        var batched = output.Telemetry[0];
        Assert.Equal(own.Histogram, batched.Histogram);
        Assert.Equal(own.ExpertsPerToken, batched.ExpertsPerToken);
        Assert.Equal(own.CoActivation, batched.CoActivation);
        Assert.Equal(own.NullSelections, batched.NullSelections);
        Assert.Equal(own.EntropySum, batched.EntropySum, 9);
        Assert.Equal(24, batched.ExpertsPerToken!.Length);
    }
}
