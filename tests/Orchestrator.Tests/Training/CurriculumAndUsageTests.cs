using Orchestrator.Moe;
using Orchestrator.Specs;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Training;

public class CurriculumAndUsageTests
{
    [Fact]
    public void Complexity_curriculum_orders_by_cosine_similarity_to_the_simplest_sample()
    {
        var c = new List<double[]>
        {
            new[] { 0.5, 0.5 },      // 0
            new[] { 0.1, 0.0 },      // 1: fewest two-expert tokens → the anchor
            new[] { 0.9, 0.1 },      // 2: cos to [1, 0] = 0.994
            new[] { 0.0, 0.4 },      // 3: cos 0
            new[] { 0.3, 0.3 },      // 4: cos 0.707 (ties with 0, index order)
        };
        Assert.Equal([1, 2, 0, 4, 3], ComplexityCurriculum.Order(c));
        // An all-zero anchor: by norm, smallest first.
        Assert.Equal([1, 2, 0], ComplexityCurriculum.Order([new[] { 0.2, 0.2 }, new[] { 0.0, 0.0 }, new[] { 0.1, 0.25 }]));
    }

    [Fact]
    public void Token_class_and_word_aggregation_matches_a_hand_count()
    {
        var u = new TokenUsage();
        u.Add(" The", [(0, 1), (1, 2)]);
        u.Add(" cat", [(0, 2), (1, 3)]);
        u.Add(" the", [(0, 1), (1, 1)]);
        u.Add(",", [(0, 1), (1, 2)]);
        u.Add(" 4", [(0, 2), (1, 2)]);
        u.Add(" cat", [(0, 4), (1, 1)]);
        var classes = u.Classes().ToDictionary(c => (c.Layer, c.TokenClass));
        Assert.Equal((2L, 1.0), (classes[(0, "function_word")].Tokens, classes[(0, "function_word")].MeanExpertsPerToken));
        Assert.Equal((2L, 1.5), (classes[(1, "function_word")].Tokens, classes[(1, "function_word")].MeanExpertsPerToken));
        Assert.Equal(3.0, classes[(0, "content_word")].MeanExpertsPerToken);
        Assert.Equal(2.0, classes[(1, "content_word")].MeanExpertsPerToken);
        Assert.Equal(2.0, classes[(1, "punctuation")].MeanExpertsPerToken);
        Assert.Equal(2.0, classes[(0, "number")].MeanExpertsPerToken);
        var words = u.Words().ToDictionary(w => w.Word);
        Assert.Equal(["cat", "the"], words.Keys.Order());              // seen twice or more
        Assert.Equal(1.25, words["the"].MeanExpertsPerToken);            // (1.5 + 1) / 2
        Assert.Equal(2.5, words["cat"].MeanExpertsPerToken);             // (2.5 + 2.5) / 2
    }

    [Fact]
    public void Two_runs_with_the_same_seed_give_identical_losses()
    {
        var cfg = new ModelConfig(2, 32, 2, 4, 32, 0, "all", 64, 16, 10000);
        List<double> Run()
        {
            Trainer.Seed(123);
            var model = new MoeTransformer(cfg, RouterConfig.Of("top_p", ("p", 0.4), ("entropy_coef", 1e-4)));
            var rng = new Random(5);
            Tensor Batch(int _) => Trainer.ToBatch(Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 17).Select(_ => rng.Next(64)).ToArray()).ToList(), CPU);
            return Trainer.Train(model, new TrainConfig(8, 4, 1e-2, 2, 0.1, 1, 0), model.parameters(), Batch).Select(m => m.Loss).ToList();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void The_curriculum_pool_is_reordered_each_epoch_with_the_current_model()
    {
        manual_seed(3);
        var data = Orchestrator.Training.Data.BpeTokenizer.Train(["1+2=3\n", "close ([:\n ])"], 270);
        var model = new MoeTransformer(new ModelConfig(2, 32, 2, 4, 32, 0, "all", 270, 16, 10000), RouterConfig.Of("adaptive_gating", ("threshold", 0.3), ("normalize", false)));
        var pool = Orchestrator.Training.Tasks.TaskSuite.Samples(["addition", "brackets"], 2, 3, seed: 0, stream: 2);
        var cur = new ComplexityCurriculum(pool, data, 16);
        var epochs = new List<string>();
        for (int i = 0; i < 12; i++) cur.NextRow(17, model, epochs.Add);
        Assert.True(cur.Epoch >= 2, $"epochs {cur.Epoch}");
        Assert.Equal(cur.Epoch, epochs.Count);
        Assert.Equal(pool.Count, cur.CurrentOrder.Distinct().Count());
    }
}
