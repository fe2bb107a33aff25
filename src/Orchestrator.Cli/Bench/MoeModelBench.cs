using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Analysis;
using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Training;
using TorchSharp;
using static Orchestrator.Cli.Bench.BenchGoal;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Bench;

/// <summary>Whole-model wall clock per router, side by side in one process, at the default model size and at a
/// larger one: inference (no telemetry), inference with the evaluator's telemetry, and a training step (forward,
/// backward, clipping, AdamW). Each router's wall-clock speed-up over top-k is set beside its FLOPs speed-up (from
/// the experts its tokens actually used in that round): their ratio `efficiency` says how much of the saving the
/// implementation realises (1 = all of it). Training MFU is set against a 2048² matmul timed in the same rounds.
/// A round measures each candidate in a block of its own beside top-k (MeasureBlock), candidates in reversed order
/// every other round; each ratio is the block's, and medians over rounds are reported.</summary>
public static class MoeModelBench
{
    public sealed record Options(int Rounds = 9, int Warmup = 2, double GateScale = 2, bool Large = true);

    /// <summary>Inference forwards per block and model with and without telemetry: a forward is ~45 ms against a
    /// ~150 ms training step, so five of each cost little and steady the telemetry figure, a difference of a few %.
    /// </summary>
    const int InferencePairs = 5;

    sealed record Size(string Name, ModelConfig Model, int Batch);

    sealed class Candidate(string name, MoeTransformer model)
    {
        public string Name { get; } = name;
        public MoeTransformer Model { get; } = model;
        /// <summary>Every MoE layer's routed experts run inside it: their share of a forward (ExpertSplit).</summary>
        public Stopwatch ExpertClock { get; } = Attach(model);
        public IStepOptimizer Optimizer { get; } = new FlatAdamW(model.parameters().ToList(), weightDecay: 0);
        public List<double> Inference { get; } = [];
        public List<double> Telemetry { get; } = [];
        /// <summary>Each back-to-back pair's forward with telemetry ÷ without: the telemetry cost's samples.</summary>
        public List<double> TelemetryRatios { get; } = [];
        public List<double> Training { get; } = [];
        public List<double> Flops { get; } = [];
        /// <summary>Forward FLOPs per token in the routed experts, and the experts' ms in a forward with telemetry
        /// (the block's median; top-k's beside it in the same block): ExpertSplit's inputs, one per round.</summary>
        public List<double> ExpertFlops { get; } = [];
        public List<double> ExpertMs { get; } = [];
        public List<double> TopExpertMs { get; } = [];
        public List<double> MeanK { get; } = [];
        /// <summary>Top-k's times in the same blocks as this candidate's (one per round each): the other side of
        /// each round's ratio, measured back to back with it.</summary>
        public List<double> TopInference { get; } = [];
        public List<double> TopTelemetry { get; } = [];
        public List<double> TopTraining { get; } = [];

        static Stopwatch Attach(MoeTransformer model)
        {
            var clock = new Stopwatch();
            foreach (var block in model.MoeBlocks) block.ExpertClock = clock;
            return clock;
        }
    }

    public static JsonObject Run(Options o, TextWriter log)
    {
        var defaults = RunConfig.From(ConfigSchema.Defaults("top_k"));
        var sizes = new List<Size> { new("default", defaults.Model, defaults.Pretrain.BatchSize) };
        if (o.Large)
        {
            var large = defaults.Model with { DModel = 256, ExpertHidden = 512 };
            sizes.Add(new("large", large, defaults.Pretrain.BatchSize));
        }
        var result = new JsonObject
        {
            ["config"] = new JsonObject
            {
                ["rounds"] = o.Rounds, ["warmup"] = o.Warmup, ["threads"] = get_num_threads(),
                ["gate_scale"] = o.GateScale,
                ["statistic"] = "times: median ms over rounds; ratios: median over rounds of each round's " +
                                "ratio, top-k and the router timed back to back in one block",
                ["flops"] = "analytic forward FLOPs per token from the experts used (FlopsCounter); training ×3",
            },
        };
        // The curve is sampled in every round of the default size, beside the blocks whose experts it explains.
        var curve = new ExpertCurve(defaults.Model);
        foreach (var size in sizes) result[size.Name] = RunSize(size, o, log, size.Name == "default" ? curve : null);
        result["expert_gemm"] = curve.Table(log);
        result["expert_gemm_fit"] = curve.Fit(log);
        return result;
    }

    static JsonObject RunSize(Size size, Options o, TextWriter log, ExpertCurve? curve)
    {
        var c = size.Model;
        manual_seed(0);
        var tokens = randint(c.VocabSize, [size.Batch, c.Context], dtype: ScalarType.Int64);
        var candidates = new List<Candidate> { new("top_k", Build(c, RouterConfig.TopK(2), o.GateScale)) };
        candidates.AddRange(RouterCatalog.All.Where(d => !d.IsBaseline)
            .Select(d => new Candidate(d.Name, Build(c, RouterConfig.Of(d.Name), o.GateScale))));
        // MoE++ (null experts with copy and constant experts and the gating residual), as experiments/beyond.yaml
        // runs it.
        candidates.Add(new("moe++", Build(c, RouterConfig.Of("null_experts", ("copies", 1L), ("constants", 2L),
            ("gating_residual", true)), o.GateScale)));
        var matmul = new List<double>();
        var a = randn(2048, 2048);
        var b = randn(2048, 2048);
        for (int round = 0; round < o.Warmup + o.Rounds; round++)
        {
            bool keep = round >= o.Warmup;
            var others = candidates.Skip(1).ToList();
            var order = round % 2 == 0 ? others : Enumerable.Reverse(others).ToList();
            var sw = Stopwatch.StartNew();
            using (NewDisposeScope()) a.matmul(b).sum().item<float>();
            if (keep) matmul.Add(sw.Elapsed.TotalMilliseconds);
            curve?.Sample(keep);
            for (int i = 0; i < order.Count; i++)
                MeasureBlock(candidates[0], order[i], tokens, keep, first: (round + i) % 2, topFlops: i == 0);
        }
        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        double peak = 2.0 * Math.Pow(2048, 3) / (Median(matmul) / 1000);                 // FLOP/s
        double tokensPerStep = (double)size.Batch * c.Context;
        var top = candidates[0];
        var routers = new JsonObject();
        var efficiencies = new List<(string name, double inference, double withTelemetry, double training)>();
        log.WriteLine($"MoE model {size.Name}: {c.Layers} layers, d_model {c.DModel}, {c.Experts} experts of " +
                      $"{c.ExpertHidden}, batch {size.Batch}×{c.Context}, {get_num_threads()} threads, median of " +
                      $"{o.Rounds} rounds; matmul peak {peak / 1e9:F1} GFLOP/s");
        // Ratios are taken within each round's block (top-k and the candidate timed back to back, under the same
        // load), then their median: a machine that slows down for a while moves both sides of a ratio together.
        static double Paired(List<double> over, List<double> under) =>
            Median(over.Zip(under, (a, b) => a / b).ToList());
        // Each round's efficiency: that round's wall-clock speed-up over top-k ÷ its FLOPs speed-up. Their median is
        // the estimate; its distribution-free interval (order statistics) decides the verdict against the goal.
        List<double> Efficiencies(Candidate c, Func<Candidate, List<double>> times,
            Func<Candidate, List<double>> topTimes) => c == top ? Enumerable.Repeat(1.0, c.Flops.Count).ToList()
                : Enumerable.Range(0, c.Flops.Count)
                    .Select(i => topTimes(c)[i] / times(c)[i] / (top.Flops[i] / c.Flops[i])).ToList();
        var verdicts = new Dictionary<string, List<string>> { ["met"] = [], ["not_met"] = [], ["inconclusive"] = [] };
        foreach (var cand in candidates)
        {
            double flopsSpeedup = Paired(top.Flops, cand.Flops);
            bool isTop = cand == top;
            double inf = isTop ? 1 : Paired(cand.TopInference, cand.Inference);
            double train = isTop ? 1 : Paired(cand.TopTraining, cand.Training);
            double telemetry = Median(cand.TelemetryRatios) - 1;
            double infTelemetry = isTop ? 1 : Paired(cand.TopTelemetry, cand.Telemetry);
            double mfu = 3 * Median(cand.Flops) * tokensPerStep / (Median(cand.Training) / 1000) / peak;
            var infCi = Statistics.MedianInterval(Efficiencies(cand, c => c.Inference, c => c.TopInference));
            var telInfCi = Statistics.MedianInterval(Efficiencies(cand, c => c.Telemetry, c => c.TopTelemetry));
            var trainCi = Statistics.MedianInterval(Efficiencies(cand, c => c.Training, c => c.TopTraining));
            var telCi = Statistics.MedianInterval(cand.TelemetryRatios.Select(x => x - 1).ToList());
            routers[cand.Name] = new JsonObject
            {
                ["mean_experts_per_token"] = Math.Round(Median(cand.MeanK), 4),
                ["forward_flops_per_token"] = Math.Round(Median(cand.Flops)),
                ["inference_ms"] = Math.Round(Median(cand.Inference), 3),
                ["inference_with_telemetry_ms"] = Math.Round(Median(cand.Telemetry), 3),
                ["training_step_ms"] = Math.Round(Median(cand.Training), 3),
                // Top-k's times in this router's blocks: the other side of its ratios (medians over rounds).
                ["top_k_inference_ms"] = isTop ? null : Math.Round(Median(cand.TopInference), 3),
                ["top_k_inference_with_telemetry_ms"] = isTop ? null : Math.Round(Median(cand.TopTelemetry), 3),
                ["top_k_training_step_ms"] = isTop ? null : Math.Round(Median(cand.TopTraining), 3),
                ["flops_speedup_vs_top_k"] = Math.Round(flopsSpeedup, 4),
                ["inference_speedup_vs_top_k"] = Math.Round(inf, 4),
                ["training_speedup_vs_top_k"] = Math.Round(train, 4),
                ["inference_efficiency"] = Math.Round(inf / flopsSpeedup, 4),
                ["inference_efficiency_interval"] = Bounds(infCi),
                ["inference_with_telemetry_speedup_vs_top_k"] = Math.Round(infTelemetry, 4),
                ["inference_with_telemetry_efficiency"] = Math.Round(infTelemetry / flopsSpeedup, 4),
                ["inference_with_telemetry_efficiency_interval"] = Bounds(telInfCi),
                ["training_efficiency"] = Math.Round(train / flopsSpeedup, 4),
                ["training_efficiency_interval"] = Bounds(trainCi),
                ["telemetry_cost"] = Math.Round(telemetry, 4),
                ["telemetry_cost_interval"] = Bounds(telCi),
                ["training_mfu"] = Math.Round(mfu, 4),
            };
            string? split = null;
            if (cand != top)
            {
                var blocks = Enumerable.Range(0, cand.Flops.Count).Select(i => new ExpertSplit.Block(
                    cand.TopTelemetry[i], cand.TopExpertMs[i], cand.Telemetry[i], cand.ExpertMs[i],
                    cand.ExpertFlops[i] / top.ExpertFlops[i], top.Flops[i] / cand.Flops[i])).ToList();
                var figures = ExpertSplit.Summarise(blocks, out var ceiling);
                routers[cand.Name]!["split_with_telemetry"] = figures;
                split = ExpertSplit.Describe(figures, ceiling);
                efficiencies.Add((cand.Name, inf / flopsSpeedup, infTelemetry / flopsSpeedup, train / flopsSpeedup));
                foreach (var (what, ci) in new[] { ("inference", telInfCi), ("training", trainCi) })
                    verdicts[Verdict(ci, EfficiencyGoal, atLeast: true)].Add($"{cand.Name} {what}");
            }
            verdicts[Verdict(telCi, TelemetryGoal, atLeast: false)].Add($"{cand.Name} telemetry");
            log.WriteLine($"  {cand.Name,-16} k̄ {Median(cand.MeanK):F3}  FLOPs ×{flopsSpeedup:F3}  " +
                          $"inference ×{inf:F3} (efficiency {inf / flopsSpeedup:F3} {Show(infCi)}; with telemetry " +
                          $"{infTelemetry / flopsSpeedup:F3} {Show(telInfCi)})  training ×{train:F3} (efficiency " +
                          $"{train / flopsSpeedup:F3} {Show(trainCi)})  telemetry {SignedPercent(telemetry)} " +
                          $"{Show(telCi, percent: true)}  MFU {mfu:P1}");
            if (split is not null) log.WriteLine($"    {split}");
        }
        log.WriteLine($"  goals (efficiency with telemetry ≥ {EfficiencyGoal}, telemetry ≤ " +
                      $"{TelemetryGoal:P0}; 95% intervals): met {verdicts["met"].Count}, " +
                      $"not met: [{string.Join(", ", verdicts["not_met"])}]" +
                      $", inconclusive: [{string.Join(", ", verdicts["inconclusive"])}]");
        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["layers"] = c.Layers, ["d_model"] = c.DModel, ["experts"] = c.Experts,
                ["expert_hidden"] = c.ExpertHidden,
                ["batch"] = size.Batch, ["context"] = c.Context, ["vocab_size"] = c.VocabSize,
            },
            ["matmul_gflops"] = Math.Round(peak / 1e9, 2),
            ["routers"] = routers,
            ["min_inference_efficiency"] = Math.Round(efficiencies.Min(e => e.inference), 4),
            ["min_inference_with_telemetry_efficiency"] = Math.Round(efficiencies.Min(e => e.withTelemetry), 4),
            ["min_training_efficiency"] = Math.Round(efficiencies.Min(e => e.training), 4),
            ["max_telemetry_cost"] = Math.Round(candidates.Max(x => Median(x.TelemetryRatios) - 1), 4),
            ["goals"] = new JsonObject
            {
                ["efficiency_at_least"] = EfficiencyGoal, ["telemetry_cost_at_most"] = TelemetryGoal,
                ["rule"] = "met: the 95% interval of the median lies on the goal's side; not met: on the other " +
                           "side; inconclusive: it spans the goal (or too few samples for an interval: < 6)",
                ["met"] = new JsonArray(verdicts["met"].Select(v => (JsonNode)v!).ToArray()),
                ["not_met"] = new JsonArray(verdicts["not_met"].Select(v => (JsonNode)v!).ToArray()),
                ["inconclusive"] = new JsonArray(verdicts["inconclusive"].Select(v => (JsonNode)v!).ToArray()),
            },
        };
    }

    /// <summary>The issue's goals: every variable-k router keeps ≥ 0.9 of its FLOPs saving in wall clock, telemetry
    /// on; the telemetry costs ≤ 3% of an inference forward.</summary>
    public const double EfficiencyGoal = 0.9, TelemetryGoal = 0.03;

    /// <summary>The same weights for every router (seeded), the gate scaled so routing is peaked as a trained
    /// one is (the regime where variable-k routers choose between one and two experts); Ada-K's allocator
    /// prefers k ∈ {1, 2}, as a trained one under λ &gt; 0 does.</summary>
    static MoeTransformer Build(ModelConfig c, RouterConfig router, double gateScale)
    {
        manual_seed(1);
        var model = new MoeTransformer(c, RouterConfig.TopK(2));
        using (no_grad())
            foreach (var block in model.MoeBlocks) block.Gate.weight!.mul_(Scalars.Of(gateScale));
        model.ConvertRouter(router);
        using (no_grad())
            foreach (var block in model.MoeBlocks)
                if (block.Allocator is { } a) { a.weight!.zero_(); a.weight![..2].normal_(0, 1); }
        return model;
    }

    /// <summary>One block of a round: top-k and a candidate measured back to back — InferencePairs forwards of each
    /// with and without telemetry, alternating model and telemetry, then two training steps of each — so that each
    /// ratio of the round is taken between times measured within a second of each other (the machine's speed
    /// drifts over seconds by more than the few % being measured). first: which of the two goes first (0: top-k).
    /// Top-k is measured in every block: its own figures are the medians over all of them.</summary>
    static void MeasureBlock(Candidate top, Candidate cand, Tensor tokens, bool keep, int first, bool topFlops)
    {
        Candidate[] pair = first == 0 ? [top, cand] : [cand, top];
        long s = tokens.shape[1];
        var plain = pair.ToDictionary(c => c, _ => new List<double>());
        var measured = pair.ToDictionary(c => c, _ => new List<double>());
        var expertMs = pair.ToDictionary(c => c, _ => new List<double>());
        foreach (var c in pair) c.Model.eval();
        using (no_grad())
            for (int p = 0; p < InferencePairs; p++)
                foreach (var c in p % 2 == 0 ? pair : pair.Reverse())
                {
                    // With and without the evaluator's telemetry, in alternating order (a second forward finds warm
                    // caches); each pair's ratio is a sample of the telemetry cost (a ~1% effect under ±5% noise).
                    foreach (var withTelemetry in p % 2 == 0 ? [false, true] : new[] { true, false })
                    {
                        using var scope = NewDisposeScope();
                        c.ExpertClock.Reset();
                        var sw = Stopwatch.StartNew();
                        var level = withTelemetry ? TelemetryLevel.Summary : TelemetryLevel.None;
                        var output = c.Model.Forward(tokens, level);
                        output.Logits.sum().item<float>();                          // one sync, as a caller makes
                        (withTelemetry ? measured : plain)[c].Add(sw.Elapsed.TotalMilliseconds);
                        if (withTelemetry) expertMs[c].Add(c.ExpertClock.Elapsed.TotalMilliseconds);
                        // FLOPs from the experts the tokens used: once a round for each (top-k: in its first block).
                        if (!keep || !withTelemetry || p > 0 || (c == top && !topFlops)) continue;
                        var perLayer = output.Telemetry.Select(t => t.MeanExpertsPerToken).ToList();
                        c.MeanK.Add(perLayer.Average());
                        var flops = FlopsCounter.PerToken(c.Model.Config, c.Model.NullExperts,
                            c.Model.AllocatorLayers, perLayer, FlopsCounter.MeanContext((int)s));
                        c.Flops.Add(flops.FlopsPerToken);
                        c.ExpertFlops.Add(flops.ExpertFlops);
                    }
                    if (keep) c.TelemetryRatios.Add(measured[c][^1] / plain[c][^1]);
                }
        // Training steps in the order A B B A, each side's figure the mean of its two: a single step is ~150 ms, and
        // a drift of the machine's speed across the four moves both sides alike.
        var training = pair.ToDictionary(c => c, _ => 0.0);
        foreach (var c in pair.Concat(pair.Reverse())) training[c] += TrainingStep(c, tokens) / 2;
        if (!keep) return;
        static double Mid(List<double> v) => v.Order().ElementAt(v.Count / 2);
        cand.Inference.Add(Mid(plain[cand]));
        cand.Telemetry.Add(Mid(measured[cand]));
        cand.Training.Add(training[cand]);
        cand.TopInference.Add(Mid(plain[top]));
        cand.TopTelemetry.Add(Mid(measured[top]));
        cand.TopTraining.Add(training[top]);
        cand.ExpertMs.Add(Mid(expertMs[cand]));
        cand.TopExpertMs.Add(Mid(expertMs[top]));
        top.Inference.Add(Mid(plain[top]));
        top.Telemetry.Add(Mid(measured[top]));
        top.Training.Add(training[top]);
    }

    /// <summary>A training step (forward, backward, clipping, AdamW): its milliseconds. The rate is 0: AdamW does all
    /// its work and the weights stay as built: every router routes the same weights all through the rounds, however
    /// many steps each took (top-k takes one block's steps per candidate).</summary>
    static double TrainingStep(Candidate c, Tensor tokens)
    {
        long s = tokens.shape[1];
        c.Model.train();
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        var output = c.Model.Forward(tokens.narrow(1, 0, s - 1));
        var logits = output.Logits;
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]),
            tokens.narrow(1, 1, s - 1).reshape(-1)).add(output.AuxLoss, Scalars.One);
        loss.backward();
        c.Optimizer.ClipGradNorm(1.0);
        c.Optimizer.Step(0);
        c.Optimizer.ZeroGrad();
        return sw.Elapsed.TotalMilliseconds;
    }
}
