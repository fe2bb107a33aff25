using Orchestrator.Moe;
using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using Orchestrator.Reports;
using Orchestrator.Results;
using Orchestrator.Tests.Results;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>Routing health — MaxVio, dead experts, load entropy, co-activation — by hand, measured by a real MoE
/// layer, stored, and shown in the report with the stored values.</summary>
public class RoutingHealthTests
{
    static LayerTelemetry Telemetry(long[] load) => new()
    {
        Layer = 0, Experts = load.Length, Histogram = new long[load.Length + 1], Load = load,
        GateProbability = new double[load.Length], Batches = 1, MaxVioBatchSum = LayerTelemetry.Imbalance(load),
    };

    [Fact]
    public void MaxVio_dead_experts_and_load_entropy_by_hand()
    {
        var t = Telemetry([6, 2, 0, 0]);
        Assert.Equal(2.0, t.MaxVio, 12);                     // (6 − 2) / 2
        Assert.Equal(0.5, t.DeadShare, 12);
        // H(0.75, 0.25) / ln 4
        Assert.Equal(-(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25)) / Math.Log(4), t.UsageEntropy, 12);
        Assert.Equal(0, Telemetry([3, 3, 3, 3]).MaxVio, 12);
        Assert.Equal(1, Telemetry([3, 3, 3, 3]).UsageEntropy, 12);
        // Merged over batches: MaxVio of the summed load, and the per-batch MaxVio averaged.
        var merged = t.CloneEmpty();
        merged.Add(t);
        merged.Add(Telemetry([2, 2, 2, 2]));
        Assert.Equal((8 - 4) / 4.0, merged.MaxVio, 12);
        Assert.Equal((2.0 + 0) / 2, merged.MeanBatchMaxVio, 12);
    }

    [Fact]
    public void A_layer_measures_which_experts_its_tokens_use_together()
    {
        manual_seed(5);
        var block = new MoeBlock(0, 16, 4, 8, 0, Routers.Create(RouterConfig.Of("top_p", ("p", 0.6)), 4));
        var output = block.Forward(randn(3, 7, 16), TelemetryLevel.Summary);
        var mask = output.Routing.Mask;
        var rows = Enumerable.Range(0, (int)mask.shape[0]).Select(i => mask[i].data<float>().ToArray()).ToList();
        var co = output.Telemetry!.CoActivation!;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(rows.Count(r => r[i] > 0 && r[j] > 0), co[i * 4 + j]);
        Assert.Equal(output.Telemetry.Load, Enumerable.Range(0, 4).Select(i => co[i * 4 + i]));
        Assert.Equal(LayerTelemetry.Imbalance(output.Telemetry.Load), output.Telemetry.MeanBatchMaxVio, 12);
    }

    /// <summary>The telemetry takes P's top two from the router's own top-k or sort, and log Σ exp(z) from the
    /// argmax (z_i* − log P_i*): the margin is exactly the one a top-k of P gives, the z-loss logsumexp's within
    /// float32 rounding, peaked routing (gate ×20) included.</summary>
    [Theory]
    [InlineData("top_k", 1.0)]
    [InlineData("top_k", 20.0)]
    [InlineData("top_p", 1.0)]
    [InlineData("adaptive_gating", 20.0)]
    [InlineData("null_experts", 1.0)]
    [InlineData("null_experts", 20.0)]
    [InlineData("ada_k", 1.0)]
    [InlineData("relu", 1.0)]
    public void The_telemetry_margin_and_z_loss_equal_a_direct_computation(string router, double gateScale)
    {
        manual_seed(7);
        var config = router == "null_experts" ? RouterConfig.Of(router, ("nulls", 4L), ("k", 2L)) : RouterConfig.Of(router);
        var block = new MoeBlock(0, 16, 4, 8, 0, Routers.Create(config, 4));
        using (no_grad()) block.Gate.weight!.mul_(gateScale);
        var x = randn(3, 7, 16);
        var output = block.Forward(x, TelemetryLevel.Summary);
        var h = x.reshape(21, 16);
        var logits = block.NullGate is { } ng ? cat([block.Gate.forward(h), ng.forward(h)], 1) : block.Gate.forward(h);
        var top2 = logits.softmax(-1).topk(2, dim: -1).Item1;
        double margin = (top2.select(1, 0) - top2.select(1, 1)).sum().item<float>();
        double zLoss = MoeBlock.ZLoss(logits).item<float>();
        var t = output.Telemetry!;
        Assert.Equal(margin, t.MarginSum, 5);
        Assert.True(Math.Abs(t.ZLoss - zLoss) <= 1e-5 * zLoss, $"z-loss {t.ZLoss} against logsumexp's {zLoss}");
    }

    /// <summary>Every other statistic the telemetry reads back equals its direct computation from the layer's own
    /// routing bit for bit (float32 sums widened to float64), including those the host works out instead of the
    /// device: null slots (T·k − Σ load) and the entropy (Σ P log P negated on the host).</summary>
    [Theory]
    [InlineData("top_k")]
    [InlineData("top_p")]
    [InlineData("null_experts")]
    [InlineData("moe++")]
    [InlineData("ada_k")]
    [InlineData("relu")]
    public void The_telemetry_statistics_equal_a_direct_computation_exactly(string router)
    {
        manual_seed(11);
        var config = router switch
        {
            "null_experts" => RouterConfig.Of(router, ("nulls", 4L), ("k", 2L)),
            "moe++" => RouterConfig.Of("null_experts", ("nulls", 2L), ("copies", 1L), ("constants", 1L), ("k", 3L)),
            _ => RouterConfig.Of(router),
        };
        var block = new MoeBlock(0, 16, 4, 8, 0, Routers.Create(config, 4));
        using (no_grad()) block.Gate.weight!.mul_(3.0);
        var output = block.Forward(randn(5, 9, 16), TelemetryLevel.Tokens);
        var t = output.Telemetry!;
        var r = output.Routing;
        var p = r.Probs.detach();
        float F(Tensor x) => x.item<float>();
        Assert.Equal(F(-(p * p.clamp_min(1e-9).log()).sum()), t.EntropySum);
        Assert.Equal(F(r.BalanceLoss), t.BalanceLossSum);
        Assert.Equal(F(r.EntropyLoss), t.EntropyLossSum);
        var gate = p.narrow(1, 0, 4).sum([0]).data<float>().ToArray();
        Assert.Equal(gate.Select(v => (double)v), t.GateProbability);
        var real = Enumerable.Range(0, 45).Select(i => (int)r.Mask[i].sum().item<float>()).ToArray();
        Assert.Equal(real, t.ExpertsPerToken);
        Assert.Equal(Enumerable.Range(0, 5).Select(j => (long)real.Count(c => c == j)), t.Histogram);
        if (block.Router.SlotsPerToken is var k and > 0)
        {
            // Direct: the top-k slots over real and extra logits that are not a real expert.
            var slots = p.topk(k, dim: -1).Item2;
            Assert.Equal(F(slots.ge(4).sum().to(ScalarType.Float32)), t.NullSelections);
            Assert.Equal(real.Count(c => c == 0), t.AllNullTokens);
            Assert.True(t.NullSelections > 0, "the case should select some null slots");
        }
        else Assert.Equal(0, t.NullSelections);
    }

    [Theory]
    [InlineData(2, 1.0)]          // the same routing
    [InlineData(1, 0.5)]          // top-1 keeps one of each token's two base experts, always the first
    [InlineData(4, 1.0)]          // every expert: all of the base's kept
    public void Routing_kept_from_the_base_by_hand(int tunedK, double expected)
    {
        manual_seed(7);
        var baseModel = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        var path = Path.Combine(Directory.CreateTempSubdirectory("orch-stab").FullName, "model.bin");
        baseModel.save(path);
        var tuned = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        tuned.load(path);
        tuned.ConvertRouter(RouterConfig.TopK(tunedK));
        var tokens = randint(ModelTests.Tiny.VocabSize, [3, 16], dtype: ScalarType.Int64);
        var layers = Orchestrator.Training.RoutingStability.PerLayer(baseModel, tuned, tokens, 2);
        Assert.Equal(ModelTests.Tiny.Layers, layers.Count);
        Assert.All(layers, l => Assert.Equal(expected, l.Stability, 6));
    }

    [Fact]
    public void Heatmaps_draw_layer_zero_at_the_bottom_where_the_axis_says_zero()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec(seeds: 1);
        store.RegisterSweep(spec);
        var run = spec.Runs[0].ConfigHash;
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(run), "t", 60));
        var b = StoreTests.Bundle(run, 2000, 0.5, layers: 2, experts: 4);
        b.Experts.Clear();                                   // layer 1 sends everything to expert 0, layer 0 nothing
        for (int l = 0; l < 2; l++)
            for (int e = 0; e < 4; e++) b.Experts.Add(new ExpertLoad(l, e, 0, l == 1 && e == 0 ? 1 : 0, 0));
        store.Ingest(b);
        var dir = Directory.CreateTempSubdirectory("orch-report").FullName;
        new ReportBuilder(store).Build(["s"], dir);
        using var bmp = SkiaSharp.SKBitmap.Decode(Path.Combine(dir, $"load_{run}.png"));
        double Lum(double fx, double fy)
        {
            var c = bmp.GetPixel((int)(fx * bmp.Width), (int)(fy * bmp.Height));
            return 0.3 * c.Red + 0.59 * c.Green + 0.11 * c.Blue;
        }
        // Expert 0's column: the upper row (layer 1) is the bright one (viridis: yellow at the top of the scale).
        Assert.True(Lum(0.12, 0.3) > Lum(0.12, 0.75) + 100, $"top {Lum(0.12, 0.3)}, bottom {Lum(0.12, 0.75)}");
    }

    [Fact]
    public void Health_is_stored_per_layer_and_the_report_shows_the_stored_values()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec(seeds: 1);
        store.RegisterSweep(spec);
        foreach (var (r, i) in spec.Runs.Select((r, i) => (r, i)))
        {
            Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(r.ConfigHash), "t", 60));
            var b = StoreTests.Bundle(r.ConfigHash, 2000 - 100 * i, 0.5, layers: 2, experts: 4);
            for (int l = 0; l < b.Layers.Count; l++)
                b.Layers[l] = b.Layers[l] with
                {
                    MaxVio = 0.1 * (i + 1) + l, MaxVioBatch = 0.2 * (i + 1), DeadShare = 0.25 * l,
                    UsageEntropy = 0.9 - 0.1 * i, CoActivation = [5, 2, 0, 1, 2, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 3],
                    StabilityFromBase = 1 - 0.25 * l,
                };
            foreach (var (token, p) in new[] { "The", " cat", " <sat>" }.Select((t, p) => (t, p)))
                for (int l = 0; l < 2; l++)
                    b.TokenRoutes.Add(new TokenRoute(p, token, l, p == 0 ? [0] : p == 1 ? [0, 1] : [0, 1, 2]));
            b.Steps.Add(new MetricPoint("max_vio", 0, 1.5, 0, "finetune"));
            b.Steps.Add(new MetricPoint("dead_experts", 0, 0.25, 0, "finetune"));
            store.Ingest(b);
        }
        var run = spec.Runs[0].ConfigHash;
        Assert.Equal(new object?[] { 1.1, 0.2, 0.25, 0.9 }, store.Query(
            "SELECT max_vio, max_vio_batch, dead_experts, usage_entropy FROM routing_stats WHERE run_id = $r AND layer = 1",
            ("$r", run)).Rows.Single());
        // The upper triangle with the diagonal, pairs that occurred.
        Assert.Equal([[0L, 0L, 5L], [0L, 1L, 2L], [0L, 3L, 1L], [1L, 1L, 4L], [3L, 3L, 3L]], store.Query(
            "SELECT expert_a, expert_b, tokens FROM coactivation WHERE run_id = $r AND layer = 0 ORDER BY 1, 2",
            ("$r", run)).Rows.Select(x => x.Cast<long>().ToArray()));

        var dir = Directory.CreateTempSubdirectory("orch-report").FullName;
        var output = new ReportBuilder(store).Build(["s"], dir);
        var md = File.ReadAllText(output.Markdown);
        var section = md[md.IndexOf("## Routing health", StringComparison.Ordinal)..];
        var expected = store.Query("""
            SELECT avg(max_vio), avg(max_vio_batch), avg(dead_experts), avg(usage_entropy), avg(stability_from_base)
            FROM routing_stats WHERE run_id = $r
            """, ("$r", run)).Rows.Single().Select(v => Convert.ToDouble(v).ToString("0.####",
            System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains($"| top_k k=2 | {string.Join(" | ", expected)} |", section);
        foreach (var plot in new[] { "max_vio_training.png", "dead_experts_training.png", $"coactivation_{run}.png",
                     "experts_by_word_frequency.png" })
            Assert.True(File.Exists(Path.Combine(dir, plot)), plot);
        // The token-level view: each token shaded by its experts (1 → white, 3 → darkest), HTML-escaped.
        var tokens = md[md.IndexOf("## Where tokens use more experts", StringComparison.Ordinal)..];
        Assert.Contains("white 1, darkest 3", tokens);
        Assert.Contains("<span style=\"background:rgba(49,104,142,0);color:#000\" title=\"1\">The</span>", tokens);
        Assert.Contains("title=\"3\">&nbsp;&lt;sat&gt;</span>", tokens);
        Assert.Contains("<td class=\"text\">", File.ReadAllText(output.Html));
    }
}
