using Orchestrator.Moe.Routing;
using Orchestrator.Specs;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>Hand-computed routing decisions: logits = log(P), so softmax(logits) = P exactly.</summary>
public class RouterTests
{
    static RouterOutput Route(RouterConfig c, int experts, double[][] probs, double[][]? alloc = null)
    {
        var p = tensor(probs.SelectMany(r => r).Select(x => (float)x).ToArray(), [probs.Length, probs[0].Length]);
        var a = alloc == null ? null : tensor(alloc.SelectMany(r => r).Select(x => (float)x).ToArray(), [alloc.Length, alloc[0].Length]);
        return Routers.Create(c, experts).Route(p.log(), a, training: false);
    }

    static float[][] Rows(Tensor t) => Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<float>().ToArray()).ToArray();

    static void Near(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"index {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void TopK_picks_the_k_largest_and_renormalises()
    {
        var r = Route(RouterConfig.TopK(2), 4, [[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]]);
        Near([1, 1, 0, 0], Rows(r.Mask)[0]);
        Near([0.625, 0.375, 0, 0], Rows(r.Weights)[0]);
        Near([0, 0, 0.3 / 0.7, 0.4 / 0.7], Rows(r.Weights)[1]);
    }

    [Fact]
    public void TopK_with_k_equal_to_experts_uses_all_with_the_router_probabilities()
    {
        var r = Route(RouterConfig.TopK(4), 4, [[0.5, 0.3, 0.15, 0.05]]);
        Near([1, 1, 1, 1], Rows(r.Mask)[0]);
        Near([0.5, 0.3, 0.15, 0.05], Rows(r.Weights)[0]);
    }

    [Fact]
    public void TopK_tie_selects_exactly_k_experts()
    {
        var r = Route(RouterConfig.TopK(1), 4, [[0.4, 0.4, 0.1, 0.1]]);
        var mask = Rows(r.Mask)[0];
        Assert.Equal(1, mask.Sum());
        Assert.Equal(1.0, Rows(r.Weights)[0].Sum(), 5);
        Assert.True(mask[0] == 1 || mask[1] == 1);
    }

    [Theory]
    [InlineData(0.4, new double[] { 1, 0, 0, 0 })]        // c = 0.5 > 0.4 at rank 0
    [InlineData(0.5, new double[] { 1, 1, 0, 0 })]        // strict: 0.5 is not > 0.5, the crossing expert (c = 0.8) is kept
    [InlineData(0.79, new double[] { 1, 1, 0, 0 })]
    [InlineData(0.8, new double[] { 1, 1, 1, 0 })]
    [InlineData(1.0, new double[] { 1, 1, 1, 1 })]        // p = 1 keeps every expert
    public void TopP_keeps_experts_until_the_cumulative_probability_exceeds_p(double p, double[] expected)
    {
        var r = Route(RouterConfig.Of("top_p", ("p", p), ("entropy_coef", 0.0)), 4, [[0.5, 0.3, 0.15, 0.05]]);
        Near(expected, Rows(r.Mask)[0]);
        // Raw probabilities as weights (official code): the kept experts' P, unnormalised.
        Near(expected.Select((m, i) => m * new[] { 0.5, 0.3, 0.15, 0.05 }[i]).ToArray(), Rows(r.Weights)[0]);
    }

    [Fact]
    public void TopP_normalize_and_cap()
    {
        var n = Route(RouterConfig.Of("top_p", ("p", 0.5), ("normalize", true), ("entropy_coef", 0.0)), 4, [[0.5, 0.3, 0.15, 0.05]]);
        Near([0.625, 0.375, 0, 0], Rows(n.Weights)[0]);
        var capped = Route(RouterConfig.Of("top_p", ("p", 1.0), ("max_experts", 2), ("entropy_coef", 0.0)), 4, [[0.05, 0.15, 0.3, 0.5]]);
        Near([0, 0, 1, 1], Rows(capped.Mask)[0]);
    }

    [Fact]
    public void TopP_entropy_loss_is_beta_times_mean_entropy()
    {
        var r = Route(RouterConfig.Of("top_p", ("p", 0.4), ("entropy_coef", 0.5)), 4, [[0.25, 0.25, 0.25, 0.25]]);
        Assert.Equal(0.5 * Math.Log(4), r.EntropyLoss.item<float>(), 4);
    }

    [Fact]
    public void AdaptiveGating_goes_top2_only_when_the_margin_is_small()
    {
        var c = RouterConfig.Of("adaptive_gating", ("threshold", 0.1), ("normalize", true));
        var r = Route(c, 4, [[0.5, 0.3, 0.15, 0.05], [0.4, 0.35, 0.15, 0.1]]);
        Near([1, 0, 0, 0], Rows(r.Mask)[0]);
        Near([1, 0, 0, 0], Rows(r.Weights)[0]);
        Near([1, 1, 0, 0], Rows(r.Mask)[1]);
        Near([0.4 / 0.75, 0.35 / 0.75, 0, 0], Rows(r.Weights)[1]);
        var raw = Route(RouterConfig.Of("adaptive_gating", ("threshold", 0.1), ("normalize", false)), 4, [[0.4, 0.35, 0.15, 0.1]]);
        Near([0.4, 0.35, 0, 0], Rows(raw.Weights)[0]);
    }

    [Fact]
    public void AdaptiveGating_with_T_zero_goes_top2_only_on_exact_ties()
    {
        var r = Route(RouterConfig.Of("adaptive_gating", ("threshold", 0.0), ("normalize", false)), 4, [[0.4, 0.4, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1]]);
        Assert.Equal(2, Rows(r.Mask)[0].Sum());
        Assert.Equal(1, Rows(r.Mask)[1].Sum());
    }

    [Fact]
    public void AdaptiveGating_balance_loss_counts_only_top1_tokens()
    {
        // Token 0 is top-1 to expert 0; token 1 goes top-2 and must not count in f¹.
        var r = Route(RouterConfig.Of("adaptive_gating", ("threshold", 0.1), ("balance_coef", 1.0), ("normalize", false)), 2, [[0.9, 0.1], [0.5, 0.5]]);
        // f¹ = [1, 0]; P̄ = [0.7, 0.3]; L = α·N·Σ f¹·P̄ = 2 · 0.7
        Assert.Equal(1.4, r.BalanceLoss.item<float>(), 4);
    }

    [Fact]
    public void NullExperts_renormalise_over_real_experts_and_never_dispatch_nulls()
    {
        var c = RouterConfig.Of("null_experts", ("k", 2), ("nulls", 2));
        // Columns 0–1 are real experts, 2–3 null experts.
        var r = Route(c, 2, [[0.1, 0.4, 0.3, 0.2], [0.05, 0.05, 0.5, 0.4], [0.4, 0.35, 0.15, 0.1]]);
        Near([0, 1], Rows(r.Mask)[0]);
        Near([0, 1], Rows(r.Weights)[0]);                 // 0.4 / 0.4: the null's share is not kept
        Near([0, 0], Rows(r.Mask)[1]);                    // only nulls: no expert, zero output
        Near([0, 0], Rows(r.Weights)[1]);
        Near([0.4 / 0.75, 0.35 / 0.75], Rows(r.Weights)[2]);
        Near([1, 2, 0], (2 - r.Mask.sum([1])).data<float>().ToArray());    // null slots: k − real experts
    }

    [Fact]
    public void NullExperts_balance_loss_averages_the_null_loads()
    {
        var c = RouterConfig.Of("null_experts", ("k", 1), ("nulls", 2), ("balance_coef", 1.0));
        var r = Route(c, 2, [[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]]);
        // f = [0.5, 0, 0.5, 0]; P̄ = [0.4, 0.1, 0.4, 0.1]; nulls averaged: f̄ = 0.25, P̄̄ = 0.25
        // L = (N + m) · (0.5·0.4 + 0·0.1 + 2 · 0.25 · 0.25) = 4 · 0.325
        Assert.Equal(1.3, r.BalanceLoss.item<float>(), 4);
    }

    [Fact]
    public void AdaK_routes_each_token_to_its_allocated_k()
    {
        var c = RouterConfig.Of("ada_k", ("default_k", 2));
        var r = Route(c, 4, [[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]],
            alloc: [[0, 0, 5, 0], [9, 0, 0, 0]]);         // argmax → k = 3 and k = 1
        Near([1, 1, 1, 0], Rows(r.Mask)[0]);
        Near([0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], Rows(r.Weights)[0]);
        Near([0, 0, 0, 1], Rows(r.Mask)[1]);
        Assert.Equal(new long[] { 3, 1 }, r.ChosenK!.data<long>().ToArray());
    }
}
