using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>ReMoE's ReLU router, by hand: which experts are active, with which weights, the L1 term's value and
/// gradient, the controller's update, and in a real training run that the controller brings the mean experts per
/// token from dense down to its budget k.</summary>
public class ReluRouterTests
{
    static RouterConfig Relu(int k = 2, double l1 = 0.5, double alpha = 1.2) =>
        RouterConfig.Of("relu", ("k", (long)k), ("l1_init", l1), ("l1_multiplier", alpha));

    static Tensor Logits(params float[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    [Fact]
    public void Experts_with_positive_logits_are_active_and_weighted_by_their_relu()
    {
        var r = Routers.Create(Relu(), 4).Route(Logits([1f, -1f, 0.5f, 0f], [-2f, -1f, -0.5f, -3f]), null, false);
        Assert.Equal([1f, 0, 1, 0, 0, 0, 0, 0], r.Mask.data<float>().ToArray());        // z = 0 is not active
        Assert.Equal([1f, 0, 0.5f, 0, 0, 0, 0, 0], r.Weights.data<float>().ToArray());  // not renormalised
        // L_reg = λ·N/(T²·k)·Σ_i (Σ_t R_ti)·n_i = 0.5·4/(4·2)·(1·1 + 0.5·1) = 0.375
        Assert.Equal(0.375, r.BalanceLoss.item<float>(), 6);
    }

    [Fact]
    public void The_l1_term_pushes_active_logits_down_in_proportion_to_their_experts_load()
    {
        var z = Logits([1f, -1f, 0.5f, 0f], [2f, 1f, -0.5f, -3f]).requires_grad_(true);
        var r = Routers.Create(Relu(l1: 1), 4).Route(z, null, false);
        r.BalanceLoss.backward();
        // dL/dz_ti = λ·N/(T²·k)·n_i where z_ti > 0, else 0; n = (2, 1, 1, 0), λ·N/(T²·k) = 0.5
        Assert.Equal([1f, 0, 0.5f, 0, 1, 0.5f, 0, 0], z.grad!.data<float>().ToArray());
    }

    [Fact]
    public void The_controller_raises_lambda_below_the_target_sparsity_and_lowers_it_above()
    {
        var layers = new[] { Routers.Create(Relu(k: 2, l1: 1e-3), 4), Routers.Create(Relu(k: 2, l1: 1e-3), 4) };
        using (enable_grad())
        {
            layers[0].Route(Logits([1f, 1f, 1f, -1f]), null, true);            // sparsity 0.25
            layers[1].Route(Logits([1f, 1f, 1f, 1f]), null, true);             // sparsity 0
        }
        var state = layers[0].AfterStep(layers);                               // mean 0.125 < target 0.5
        Assert.Equal(0.125, state["relu_sparsity"], 6);
        Assert.Equal(1.2e-3, state["relu_l1_coef"], 12);
        Assert.All(layers, l => Assert.Equal(1.2e-3, ((ReluRouter)l).L1Coefficient, 12));    // one λ for the model
        using (enable_grad())
            foreach (var l in layers) l.Route(Logits([1f, -1f, -1f, -1f]), null, true);   // sparsity 0.75
        Assert.Equal(1e-3, layers[0].AfterStep(layers)["relu_l1_coef"], 12);
        Assert.Empty(layers[0].AfterStep(layers));                              // nothing measured since: no update
    }

    [Fact]
    public void Gradient_reaches_the_gate_through_the_relu_weights()
    {
        manual_seed(3);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(Relu());
        var tokens = randint(ModelTests.Tiny.VocabSize, [2, 9], dtype: ScalarType.Int64);
        var (loss, output) = Trainer.LmLoss(model, tokens);
        (loss + output.AuxLoss).backward();
        foreach (var block in model.MoeBlocks) Assert.True(block.Gate.weight!.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Training_starts_dense_and_the_controller_brings_experts_per_token_to_k()
    {
        manual_seed(4);
        var config = ModelTests.Tiny with { Experts = 8 };
        var model = new MoeTransformer(config, RouterConfig.TopK(2));
        model.ConvertRouter(Relu(k: 2, l1: 1e-8));
        var data = randint(config.VocabSize, [64, 17], dtype: ScalarType.Int64);
        var train = new TrainConfig(Steps: 300, BatchSize: 8, Lr: 3e-3, Warmup: 10, WeightDecay: 0, GradClip: 1,
            EvalEvery: 0);
        var history = Trainer.Train(model, train, model.parameters(), step => data.narrow(0, step * 8 % 64, 8));
        Assert.True(history[0].MeanExperts > 3.5, $"first step: {history[0].MeanExperts} experts per token (dense)");
        var last = history.TakeLast(50).Average(m => m.MeanExperts);
        Assert.InRange(last, 1.6, 2.4);                                          // k = 2 within ±20%
        Assert.True(history[^1].Routing!["relu_l1_coef"] > 1e-6);             // λ rose from 1e-8 to act
    }
}
