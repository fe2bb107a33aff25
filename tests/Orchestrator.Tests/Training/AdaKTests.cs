using Orchestrator.Moe;
using Orchestrator.Specs;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Training;

public class AdaKTests
{
    static readonly ModelConfig Tiny = new(Layers: 2, DModel: 32, Heads: 2, Experts: 4, ExpertHidden: 32, SharedExperts: 0,
        MoeLayers: "all", VocabSize: 32, Context: 16, RopeTheta: 10000);

    /// <summary>Sequences with a learnable pattern: each row counts up by a row-specific stride.</summary>
    static Tensor Batch(int step)
    {
        var rows = Enumerable.Range(0, 8).Select(r =>
        {
            int start = (step * 5 + r * 3) % 32, stride = 1 + (step + r) % 3;
            return Enumerable.Range(0, 17).Select(i => (start + i * stride) % 32).ToArray();
        }).ToList();
        return Trainer.ToBatch(rows, CPU);
    }

    /// <summary>A base trained with every expert active (top-4 of 4), so fewer experts cost likelihood.</summary>
    static MoeTransformer TrainedBase(int k, string moeLayers = "all")
    {
        manual_seed(11);
        var model = new MoeTransformer(Tiny with { MoeLayers = moeLayers }, RouterConfig.TopK(k));
        Trainer.Train(model, new TrainConfig(60, 8, 1e-2, 5, 0, 1, 0), model.parameters(), Batch);
        return model;
    }

    static double PolicyMeanK(MoeTransformer model)
    {
        using var _ = no_grad();
        model.eval();
        var output = model.Forward(Batch(999).narrow(1, 0, 16));
        return model.MoeBlocks.Select((b, i) => (b, i)).Where(x => x.b.HasAllocator)
            .Average(x => AdaKTrainer.ExpectedK(x.b.Allocator!.forward(output.Routing[x.i].RouterInput)).mean().item<float>());
    }

    static double ArgmaxMeanK(MoeTransformer model)
    {
        using var _ = no_grad();
        model.eval();
        var output = model.Forward(Batch(999).narrow(1, 0, 16));
        return model.MoeBlocks.Select((b, i) => (b, i)).Where(x => x.b.HasAllocator)
            .Average(x => output.Routing[x.i].Routing.ChosenK!.to(ScalarType.Float32).mean().item<float>());
    }

    [Fact]
    public void Ppo_loss_equals_a_hand_computation()
    {
        var logpNew = tensor(new[] { 0.5f, 0.2f }).log();
        var logpOld = tensor(new[] { 0.25f, 0.4f }).log();
        var adv = tensor(new[] { 1f, -1f });
        // r = [2, 0.5]; token 0: min(2·1, 1.2·1) = 1.2; token 1: min(0.5·−1, 0.8·−1) = −0.8; loss = −(1.2 − 0.8)/2
        Assert.Equal(-0.2, AdaKTrainer.PpoLoss(logpNew, logpOld, adv, 0.2).item<float>(), 5);
        Assert.Equal(2.5, AdaKTrainer.ExpectedK(zeros(3, 4)).mean().item<float>(), 5);
    }

    [Fact]
    public void Warm_start_labels_equal_hand_computed_ones()
    {
        var probs = tensor(new[] { 0.05f, 0.5f, 0.15f, 0.3f, 0.25f, 0.25f, 0.25f, 0.25f }, [2, 4]);
        long[] Labels(double p) => AdaKTrainer.WarmStartLabels(probs, "p_warm", p, 2).data<long>().ToArray();
        Assert.Equal(new long[] { 1, 2 }, Labels(0.3));     // sorted: [0.5, 0.3, …] → 0.5 ≥ 0.3; uniform: 0.25, 0.5 ≥ 0.3
        Assert.Equal(new long[] { 2, 4 }, Labels(0.8));     // 0.5, 0.8 ≥ 0.8; uniform: 0.25, 0.5, 0.75 < 0.8, 1.0
        Assert.Equal(new long[] { 3, 4 }, Labels(0.9));
        Assert.Equal(new long[] { 2, 2 }, AdaKTrainer.WarmStartLabels(probs, "k_warm", 0, 2).data<long>().ToArray());
    }

    [Fact]
    public void A_large_lambda_drives_mean_k_toward_one_and_the_base_stays_frozen()
    {
        var model = TrainedBase(2, "every_other");
        model.ConvertRouter(RouterConfig.Of("ada_k", ("default_k", 2)));
        var frozen = model.named_parameters().Where(p => !p.name.Contains("allocator")).ToDictionary(p => p.name, p => p.parameter.clone());
        double before = PolicyMeanK(model);
        var rc = RouterConfig.Of("ada_k", ("default_k", 2), ("lambda", 2.0), ("lr", 0.1), ("warm_start", "random"), ("ppo_epochs", 2));
        var history = AdaKTrainer.Train(model, rc, 120, Batch);
        double after = PolicyMeanK(model);
        Assert.Equal(2.5, before, 3);                        // zero-initialised allocators: the uniform policy
        // Bias-free allocators on a 32-wide model cannot reach exactly 1 for every token; 2.5 → < 1.5 is the drive.
        Assert.True(after < 1.5 && ArgmaxMeanK(model) < 1.5, $"E[k] {before:F3} → {after:F3}, argmax k {ArgmaxMeanK(model):F3}");
        Assert.True(history[^1].MeanK.Average() < history[0].MeanK.Average());
        foreach (var (name, p) in model.named_parameters().Where(p => !p.name.Contains("allocator")))
            Assert.True(p.equal(frozen[name]).all().item<bool>(), $"{name} changed");
    }

    [Fact]
    public void Lambda_zero_on_a_model_that_gains_from_more_experts_raises_mean_k()
    {
        // One MoE layer (one agent), so the shared reward is not split across layers.
        var model = TrainedBase(4, "every_other");
        model.ConvertRouter(RouterConfig.Of("ada_k", ("default_k", 1)));
        double before = PolicyMeanK(model);
        var rc = RouterConfig.Of("ada_k", ("default_k", 1), ("lambda", 0.0), ("lr", 0.1), ("warm_start", "random"), ("ppo_epochs", 2));
        var history = AdaKTrainer.Train(model, rc, 120, Batch);
        double after = PolicyMeanK(model);
        Assert.True(after > before + 0.3, $"E[k] {before:F3} → {after:F3}, argmax k {ArgmaxMeanK(model):F3}, adv {history.Average(h => h.AdvantageMean):F4}, first {history[0].AdvantageMean:F4} last {history[^1].AdvantageMean:F4}");
        Assert.True(history.Average(h => h.AdvantageMean) > 0, "more experts should raise the likelihood on this model");
    }

    [Fact]
    public void P_warm_start_teaches_the_allocator_the_pseudo_labels()
    {
        var model = TrainedBase(2, "every_other");
        model.ConvertRouter(RouterConfig.Of("ada_k", ("default_k", 2)));
        var rc = RouterConfig.Of("ada_k", ("default_k", 2), ("warm_start", "k_warm"), ("warm_steps", 120), ("lr", 0.1));
        var history = AdaKTrainer.Train(model, rc, 0, Batch);
        Assert.Equal(120, history.Count(h => h.Phase == "warm"));
        // The allocator is bias-free (as published), so a constant label is learnt through the hidden states' mean direction.
        Assert.True(history[^1].Loss < history[0].Loss * 0.75, $"classification loss {history[0].Loss:F3} → {history[^1].Loss:F3}");
        var k = ArgmaxMeanK(model);
        Assert.True(Math.Abs(k - 2) < 0.35, $"argmax k {k:F3} after k_warm (label 2 for every token)");
    }
}
