using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Specs;
using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>router.target_experts: a controller moves each layer's threshold (top_p's p, adaptive gating's T, the
/// null logits) after every training step until the mean real experts per token holds the target — measured
/// afterwards on held-out text, where no controller acts.</summary>
public class TargetExpertsTests
{
    static readonly Lazy<(BpeTokenizer tok, int[] train, int[] test, int[] valid)> Text = new(() =>
    {
        var corpus = Corpus.Load("fortunes", 0.05, 0.05);
        var tok = BpeTokenizer.Train(corpus.Train.Take(2000), 300);
        int[] Encode(IEnumerable<string> docs) => docs.SelectMany(d => tok.Encode(d)).ToArray();
        return (tok, Encode(corpus.Train.Take(3000)), Encode(corpus.Test.Take(600)), Encode(corpus.Valid.Take(600)));
    });

    static List<(string, object)> Knobs(string router, double target, params (string, object)[] more)
    {
        var knobs = new List<(string, object)> { ("target_experts", target), ("budget_rate", 0.01) };
        if (router == "null_experts") knobs.AddRange([("nulls", 4), ("k", 3)]);
        return [.. knobs, .. more];
    }

    static Tensor Windows(int[] ids, int count, int length, Random rng)
    {
        var rows = Enumerable.Range(0, count).Select(_ =>
        {
            int start = rng.Next(ids.Length - length);
            return ids[start..(start + length)];
        }).ToList();
        return Trainer.ToBatch(rows, CPU);
    }

    [Theory]
    [InlineData("top_p", 1.6)]
    [InlineData("adaptive_gating", 1.6)]
    [InlineData("null_experts", 1.3)]
    public void The_controller_holds_mean_experts_per_token_within_5_percent_of_the_target_on_held_out_text(
        string router, double target)
    {
        var (_, train, test, _) = Text.Value;
        var config = RouterConfig.Of(router, [.. Knobs(router, target)]);
        manual_seed(5);
        var shape = ModelTests.Tiny with { VocabSize = 300 };
        using var model = new MoeTransformer(shape, config);
        var rng = new Random(5);
        var cfg = new TrainConfig(Steps: 300, BatchSize: 8, Lr: 3e-3, Warmup: 10, WeightDecay: 0, GradClip: 1,
            EvalEvery: 0);
        var history = Trainer.Train(model, cfg, model.parameters(), _ => Windows(train, 16, 17, rng));
        Assert.Contains(history, h => h.Routing!.ContainsKey("expert_budget"));
        // The budget moved away from the rule's own threshold: without it the rule would use another number.
        Assert.All(model.MoeBlocks, b => Assert.NotEqual(0f, b.ExpertBudget!.item<float>()));

        model.eval();
        using var _ = no_grad();
        var held = Windows(test, 128, 17, new Random(9));
        var output = model.Forward(held.narrow(1, 0, 16), TelemetryLevel.Summary);
        foreach (var layer in output.Telemetry)
            Assert.InRange(layer.MeanExpertsPerToken, target * 0.95, target * 1.05);
    }

    /// <summary>Trained on text, then on task samples (arithmetic, sorting, brackets) as a fine-tune mixes them,
    /// the controller holds the target on the tasks, not on prose; calibration on validation prose then holds it on
    /// the test prose, which it never read.</summary>
    [Theory]
    [InlineData("top_p", 1.6)]
    [InlineData("adaptive_gating", 1.6)]
    [InlineData("null_experts", 1.3)]
    [InlineData("null_experts", 1.3, true)]
    public void Calibration_on_validation_text_holds_the_budget_on_test_text_after_training_on_tasks(
        string router, double target, bool moePlusPlus = false)
    {
        var (tok, train, test, valid) = Text.Value;
        manual_seed(7);
        // MoE++: copy and constant experts, and the gating residual, whose logits calibration carries up the layers.
        (string, object)[] plus = moePlusPlus
            ? [("copies", 1L), ("constants", 1L), ("gating_residual", true)] : [];
        using var model = new MoeTransformer(ModelTests.Tiny with { VocabSize = 300 },
            RouterConfig.Of(router, [.. Knobs(router, target, [("budget_calibration", 16L), .. plus])]));
        var cfg = new TrainConfig(Steps: 200, BatchSize: 16, Lr: 3e-3, Warmup: 10, WeightDecay: 0, GradClip: 1,
            EvalEvery: 0);
        var rng = new Random(7);
        Trainer.Train(model, cfg, model.parameters(), _ => Windows(train, 16, 17, rng));
        var tasks = TaskSuite.Samples(["arithmetic", "sort", "brackets"], 4, 200, 7, 1)
            .SelectMany(t => tok.Encode(t.Prompt + " " + t.Answer + "\n")).ToArray();
        Trainer.Train(model, cfg with { Steps = 100 }, model.parameters(), _ => Windows(tasks, 16, 17, rng));

        double[] Means(int[] text)
        {
            var means = new double[2];
            var inputs = Evaluator.TextInputs(text, 16, 64, CPU);
            foreach (var tokens in inputs)
            {
                var telemetry = model.Forward(tokens, TelemetryLevel.Summary).Telemetry;
                for (int l = 0; l < 2; l++) means[l] += telemetry[l].MeanExpertsPerToken / inputs.Count;
            }
            return means;
        }
        model.eval();
        using var _ = no_grad();
        var before = Means(test);
        var reached = model.CalibrateBudget(Evaluator.TextInputs(valid, 16, 64, CPU),
            model.RouterConfig.BudgetCalibration);
        var after = Means(test);
        Assert.All(reached, m => Assert.InRange(m, target * 0.97, target * 1.03));
        Assert.All(after, m => Assert.InRange(m, target * 0.95, target * 1.05));
        Assert.Contains(before, m => Math.Abs(m / target - 1) > 0.05);
    }

    [Theory]
    [InlineData("relu: {target_experts: 1.5, budget_calibration: 8}",
        "router.budget_calibration: relu cannot calibrate its budget: it holds its budget with ReMoE's L1 controller")]
    [InlineData("top_p: {budget_calibration: 8}",
        "router.budget_calibration: budget_calibration calibrates a compute budget: set router.target_experts too")]
    public void Calibration_is_refused_without_a_budget_or_a_threshold_to_move(string router, string expected)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.LoadText($"name: t\nsweep:\n  router:\n    {router}\n",
            "t.yaml"));
        Assert.Contains(expected, Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void The_budget_is_saved_with_the_model_and_routes_the_same_after_loading()
    {
        var config = RouterConfig.Of("top_p", ("target_experts", 1.5));
        manual_seed(6);
        using var model = new MoeTransformer(ModelTests.Tiny, config);
        using (no_grad()) model.MoeBlocks[0].ExpertBudget!.fill_(0.2);
        var path = Path.Combine(Directory.CreateTempSubdirectory("budget-").FullName, "model.bin");
        model.save(path);
        using var loaded = new MoeTransformer(ModelTests.Tiny, config);
        loaded.load(path);
        Assert.Equal(0.2f, loaded.MoeBlocks[0].ExpertBudget!.item<float>());
        var tokens = randint(ModelTests.Tiny.VocabSize, [2, 16], dtype: ScalarType.Int64);
        using var _ = no_grad();
        var before = model.Forward(tokens).Routing[0].Routing.Mask;
        Assert.True(before.eq(loaded.Forward(tokens).Routing[0].Routing.Mask).all().item<bool>());
    }

    [Theory]
    [InlineData("top_k", "top_k cannot hold a target number of experts per token: it uses exactly k experts per token")]
    [InlineData("ada_k", "ada_k cannot hold a target number of experts per token: its allocators learn k")]
    public void Routers_without_a_threshold_to_move_refuse_a_target_with_the_routers_that_take_one(string router,
        string expected)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.LoadText(
            $"name: t\nsweep:\n  router:\n    {router}: {{target_experts: 1.5}}\n", "t.yaml"));
        var message = Assert.Single(e.Errors).ToString();
        Assert.Contains(expected, message);
        Assert.Contains("(target_experts applies to top_p, adaptive_gating, null_experts, relu)", message);
    }

    [Fact]
    public void A_budget_names_its_configuration_and_options_at_their_defaults_stay_out_of_the_knobs()
    {
        var flat = ConfigSchema.Defaults("null_experts").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("{\"k\":3,\"nulls\":8}", RouterConfig.KnobsJson(flat));       // as stored before MoE++
        flat["router.target_experts"] = 1.5;
        flat["router.copies"] = 1L;
        Assert.Equal("{\"budget_rate\":0.01,\"copies\":1,\"k\":3,\"nulls\":8,\"target_experts\":1.5}",
            RouterConfig.KnobsJson(flat));
        Assert.Equal("null_experts m=8 k=3 copies=1 target_experts=1.5",
            Orchestrator.Reports.ReportBuilder.ConfigLabel("null_experts", RouterConfig.KnobsJson(flat)));
    }
}
