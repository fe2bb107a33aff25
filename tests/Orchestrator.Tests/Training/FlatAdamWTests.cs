using Orchestrator.Moe;
using Orchestrator.Tests.Moe;
using Orchestrator.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Training;

public class FlatAdamWTests
{
    static Tensor Batch(int seed) =>
        randint(ModelTests.Tiny.VocabSize, [4, ModelTests.Tiny.Context + 1], dtype: ScalarType.Int64,
            generator: new Generator((ulong)seed));

    static (MoeTransformer model, IReadOnlyList<StepMetrics> history) TrainWith(OptimizerKind kind,
        string router = "top_k", Func<MoeTransformer, IEnumerable<TorchSharp.Modules.Parameter>>? trainable = null)
    {
        manual_seed(21);
        var model = new MoeTransformer(ModelTests.Tiny, router == "top_k" ? RouterConfig.TopK(2)
            : RouterConfig.Of("top_p", ("p", 0.4)));
        // A clip below the gradient norm (clipping happens), weight decay, warm-up: every term of the update used.
        var cfg = new TrainConfig(Steps: 8, BatchSize: 4, Lr: 1e-2, Warmup: 2, WeightDecay: 0.1, GradClip: 0.5,
            EvalEvery: 0);
        var history = Trainer.Train(model, cfg, (trainable ?? (m => m.parameters()))(model), Batch,
            optimizerKind: kind);
        return (model, history);
    }

    static double MaxDifference(MoeTransformer a, MoeTransformer b) => a.named_parameters()
        .Zip(b.named_parameters(), (x, y) => (x.parameter - y.parameter).abs().max().item<float>()).Max();

    [Theory]
    [InlineData("top_k")]
    [InlineData("top_p")]
    public void Flat_AdamW_trains_as_TorchSharps_AdamW_does(string router)
    {
        var (flat, flatHistory) = TrainWith(OptimizerKind.Flat, router);
        var (reference, referenceHistory) = TrainWith(OptimizerKind.PerTensor, router);
        Assert.All(referenceHistory, h => Assert.True(h.GradNorm > 0.5, $"step {h.Step}: no clipping ({h.GradNorm})"));
        for (int i = 0; i < flatHistory.Count; i++)
        {
            Assert.Equal(referenceHistory[i].Loss, flatHistory[i].Loss, 4);
            Assert.Equal(referenceHistory[i].GradNorm, flatHistory[i].GradNorm, 3);
        }
        // Not bit for bit: the clip coefficient comes from one norm over a flat buffer instead of a norm of norms.
        Assert.True(MaxDifference(flat, reference) < 1e-5, $"weights differ by {MaxDifference(flat, reference)}");
        Assert.True(flatHistory[^1].Loss < flatHistory[0].Loss, "the loss did not fall");
    }

    [Fact]
    public void Only_the_trainable_parameters_move_and_the_frozen_ones_keep_their_values()
    {
        manual_seed(21);
        var untouched = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        var (model, _) = TrainWith(OptimizerKind.Flat, trainable: m => m.MoeBlocks.Select(b => b.Gate.weight!));
        var moved = model.named_parameters().Zip(untouched.named_parameters(),
                (x, y) => (x.name, differs: !x.parameter.allclose(y.parameter)))
            .Where(p => p.differs).Select(p => p.name).ToList();
        Assert.Equal(["model.layers.0.block_sparse_moe.gate.weight", "model.layers.1.block_sparse_moe.gate.weight"], moved);
    }

    [Fact]
    public void Parameters_become_views_of_one_buffer_with_their_values_and_gradients_in_place()
    {
        manual_seed(3);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        var batch = Batch(4);
        model.eval();
        float before;
        using (no_grad()) before = Trainer.LmLoss(model, batch).loss.item<float>();
        var parameters = model.parameters().ToList();
        using var optimizer = new FlatAdamW(parameters, weightDecay: 0);
        using (no_grad()) Assert.Equal(before, Trainer.LmLoss(model, batch).loss.item<float>());
        Trainer.LmLoss(model, batch).loss.backward();
        double norm = optimizer.ClipGradNorm(1e9).item<float>();
        double expected = Math.Sqrt(parameters.Sum(p => p.grad!.pow(2).sum().item<float>()));
        Assert.Equal(expected, norm, 3);
        Assert.True(norm > 0);
        // A step moves the parameters the model computes with, not a copy of them.
        optimizer.Step(1e-2);
        using (no_grad()) Assert.NotEqual(before, Trainer.LmLoss(model, batch).loss.item<float>());
        optimizer.ZeroGrad();
        Assert.All(parameters, p => Assert.Equal(0, p.grad!.abs().sum().item<float>()));
    }
}
