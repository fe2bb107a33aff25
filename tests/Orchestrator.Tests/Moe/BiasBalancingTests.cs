using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>Auxiliary-loss-free balancing (router.balance: bias): experts chosen on z + b and weighted on z, the
/// sign update of b, no balance loss, the biases saved with the model, and a frozen model whose routing the
/// biases alone bring toward balance.</summary>
public class BiasBalancingTests
{
    static RouterConfig WithBias(string type, params (string, object)[] knobs) =>
        RouterConfig.Of(type, [.. knobs, ("balance", "bias"), ("bias_rate", 0.01)]);

    [Fact]
    public void Experts_are_chosen_on_biased_scores_and_weighted_on_unbiased_ones()
    {
        var router = Routers.Create(WithBias("top_k", ("k", 2L)), 3);
        var z = tensor(new[] { 2f, 1f, 0f }, [1, 3]);
        var r = router.RouteWithBias(z, null, false, tensor(new[] { 0f, 0f, 1.5f }));   // z + b = (2, 1, 1.5)
        Assert.Equal([1f, 0, 1], r.Mask.data<float>().ToArray());
        double e2 = Math.Exp(2);                                    // softmax(z) over {0, 2}, renormalised
        var w = r.Weights.data<float>().ToArray();
        Assert.Equal(e2 / (e2 + 1), w[0], 5);
        Assert.Equal(0, w[1]);
        Assert.Equal(1 / (e2 + 1), w[2], 5);
        Assert.Equal(0f, r.BalanceLoss.item<float>());            // loss-free: α is 0
        Assert.Equal(z.softmax(-1).data<float>().ToArray(), r.Probs.data<float>().ToArray());
        // ReMoE keeps its own weights, ReLU(z), under a bias.
        var relu = Routers.Create(WithBias("relu", ("k", 2L)), 3).RouteWithBias(tensor(new[] { 0.5f, -1f, -0.2f },
            [1, 3]), null, false, tensor(new[] { 0f, 0f, 0.5f }));
        Assert.Equal([0.5f, 0, 0], relu.Weights.data<float>().ToArray());
        Assert.Equal([1f, 0, 1], relu.Mask.data<float>().ToArray());
    }

    [Fact]
    public void The_bias_of_an_overloaded_expert_falls_and_an_idle_ones_rises()
    {
        var bias = zeros(3);
        Router.UpdateBias(bias, [10, 2, 0], 0.01);                  // mean 4
        Assert.Equal([-0.01f, 0.01f, 0.01f], bias.data<float>().ToArray());
        Router.UpdateBias(bias, [4, 4, 4], 0.01);                   // balanced: unchanged
        Assert.Equal([-0.01f, 0.01f, 0.01f], bias.data<float>().ToArray());
    }

    [Fact]
    public void The_biases_are_saved_with_the_model()
    {
        manual_seed(8);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(WithBias("top_k", ("k", 2L)));
        using (no_grad()) model.MoeBlocks[0].ExpertBias!.copy_(tensor(new[] { 0.5f, -0.25f, 0f, 0.125f }));
        var path = Path.Combine(Directory.CreateTempSubdirectory("orch-bias").FullName, "model.bin");
        model.save(path);
        var loaded = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        loaded.ConvertRouter(WithBias("top_k", ("k", 2L)));
        loaded.load(path);
        Assert.Equal([0.5f, -0.25f, 0f, 0.125f], loaded.MoeBlocks[0].ExpertBias!.data<float>().ToArray());
        Assert.Contains("model.layers.0.block_sparse_moe.expert_bias", loaded.state_dict().Keys);
    }

    [Fact]
    public void On_a_frozen_model_the_biases_alone_bring_a_skewed_routing_toward_balance()
    {
        manual_seed(9);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        using (no_grad())
            foreach (var b in model.MoeBlocks) b.Gate.weight![0].add_(b.Gate.weight![0].sign() * 2);   // expert 0 favoured
        model.ConvertRouter(RouterConfig.Of("top_k", ("k", 1L), ("balance", "bias"), ("bias_rate", 0.02)));
        var data = randint(ModelTests.Tiny.VocabSize, [64, 17], dtype: ScalarType.Int64);
        var frozen = new TrainConfig(Steps: 120, BatchSize: 8, Lr: 1e-12, Warmup: 0, WeightDecay: 0, GradClip: 0,
            EvalEvery: 0);
        var history = Trainer.Train(model, frozen, model.parameters(), step => data.narrow(0, step * 8 % 64, 8));
        double first = history.Take(5).Average(m => m.Routing!["max_vio"]);
        double last = history.TakeLast(20).Average(m => m.Routing!["max_vio"]);
        Assert.True(first > 1, $"the skew did not take: MaxVio {first:F2} at the start");
        Assert.True(last < first / 2, $"MaxVio {first:F2} at the start, {last:F2} at the end");
        Assert.True(history[^1].Routing!["expert_bias_spread"] > 0.1);
    }
}
