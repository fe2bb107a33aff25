using Orchestrator.Moe;
using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>MoE++ as options of null_experts: copy experts (output x), constant experts (a₁·x + a₂·v), zero experts
/// (the nulls), weights renormalised over every selected expert with an output, and the gating residual.</summary>
public class MoePlusPlusTests
{
    static RouterConfig PlusPlus(int nulls = 1, int copies = 1, int constants = 1, int k = 2, bool residual = false) =>
        RouterConfig.Of("null_experts", ("nulls", nulls), ("copies", copies), ("constants", constants), ("k", k),
            ("gating_residual", residual));

    [Fact]
    public void Routing_by_hand_zero_experts_drop_out_and_copy_and_constant_weights_are_renormalised_with_real_ones()
    {
        // N = 2 real, then [zero | copy | constant]. Token 0: real 0 (0.4) and copy (0.3) → 4/7 and 3/7.
        // Token 1: zero (0.5) and constant (0.3) → the zero expert is dropped, the constant gets all the weight.
        double[][] p = [[0.4, 0.1, 0.1, 0.3, 0.1], [0.1, 0.05, 0.5, 0.05, 0.3]];
        var r = Routers.Create(PlusPlus(), 2).Route(tensor(p.SelectMany(x => x).ToArray(), [2, 5]).to(ScalarType.Float32)
            .log(), null, training: false);
        Assert.Equal([1f, 0f, 0f, 0f], r.Mask.data<float>().ToArray());
        var w = r.Weights.data<float>().ToArray();
        Assert.Equal(4 / 7f, w[0], 5);
        Assert.Equal([0f, 0f, 0f], w[1..]);
        var extra = r.ExtraWeights!.data<float>().ToArray();          // (T, copies + constants) = [copy, const]
        Assert.Equal(3 / 7f, extra[0], 5);
        Assert.Equal(0f, extra[1]);
        Assert.Equal([0f, 1f], extra[2..]);
        Assert.Equal([1f, 0f], r.Mask.sum([1]).data<float>().ToArray());     // slots without an FFN: k − this
    }

    [Fact]
    public void Without_copy_or_constant_experts_routing_is_exactly_adamoes()
    {
        double[][] p = [[0.4, 0.1, 0.1, 0.3, 0.1], [0.1, 0.05, 0.5, 0.05, 0.3]];
        var logits = tensor(p.SelectMany(x => x).ToArray(), [2, 5]).to(ScalarType.Float32).log();
        var a = Routers.Create(RouterConfig.Of("null_experts", ("nulls", 3), ("k", 2)), 2).Route(logits, null, false);
        var b = Routers.Create(PlusPlus(nulls: 3, copies: 0, constants: 0), 2).Route(logits, null, false);
        Assert.True(a.Weights.allclose(b.Weights, 0, 0));
        Assert.Null(b.ExtraWeights);
    }

    /// <summary>A block whose FFN experts output zero and whose gate sends every token to one extra expert and the
    /// zero expert, so that the block's output is that extra expert's alone, at weight 1.</summary>
    static (MoeBlock block, Tensor x) Block(int extraSlot)
    {
        manual_seed(3);
        var block = new MoeBlock(0, 8, 2, 16, 0, Routers.Create(PlusPlus(), 2));
        using (no_grad())
        {
            for (int e = 0; e < 2; e++) block.Expert(e).parameters().Last().zero_();   // w2 = 0: FFN output 0
            block.Gate.weight!.zero_();
            block.NullGate!.weight!.zero_();
            // x ≥ 0 below, so a positive row makes that logit the largest: slot 0 (zero) and extraSlot win top-2.
            block.NullGate.weight![0].fill_(1);
            block.NullGate.weight![extraSlot].fill_(0.5);
        }
        return (block, rand(1, 5, 8));
    }

    [Fact]
    public void A_copy_expert_passes_its_input_through()
    {
        var (block, x) = Block(extraSlot: 1);
        using var _ = no_grad();
        var y = block.Forward(x).Hidden;
        Assert.True(y.allclose(x, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void A_constant_expert_mixes_its_input_with_its_learned_vector()
    {
        var (block, x) = Block(extraSlot: 2);
        using var _ = no_grad();
        var y = block.Forward(x).Hidden.reshape(5, 8);
        var h = x.reshape(5, 8);
        var pw = block.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var a = h.matmul(pw["constant_gate.weight"].t()).softmax(-1);              // (T, 2)
        var expected = a.narrow(1, 0, 1) * h + a.narrow(1, 1, 1) * pw["constant_values"].reshape(1, 8);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Gradients_reach_the_null_logits_the_constant_experts_and_the_gating_residual()
    {
        manual_seed(4);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(PlusPlus(nulls: 2, copies: 1, constants: 1, k: 3, residual: true));
        using (no_grad())
            foreach (var (name, p) in model.named_parameters().Where(p => p.name.Contains("gate_map")))
                p.normal_(0, 0.1);                                           // trained: W_g no longer zero
        var tokens = randint(ModelTests.Tiny.VocabSize, [4, 17], dtype: ScalarType.Int64);
        var (loss, output) = Trainer.LmLoss(model, tokens);
        (loss + output.AuxLoss).backward();
        var names = model.named_parameters().Where(p => p.parameter.grad is { } g && g.abs().sum().item<float>() > 0)
            .Select(p => p.name).ToHashSet();
        foreach (var part in new[] { "null_gate", "constant_gate", "constant_values" })
            Assert.Contains(names, n => n.Contains(part));
        Assert.Contains("model.layers.1.block_sparse_moe.gate_map.weight", names);   // the second MoE layer reads
        Assert.DoesNotContain("model.layers.0.block_sparse_moe.gate_map.weight", names);  // the first has none before it
    }

    [Fact]
    public void A_zero_gating_residual_leaves_a_converted_model_exactly_as_it_was()
    {
        manual_seed(5);
        var model = new MoeTransformer(ModelTests.Tiny, RouterConfig.TopK(2));
        model.ConvertRouter(PlusPlus(nulls: 2, copies: 1, constants: 1, k: 3, residual: false));
        var tokens = randint(ModelTests.Tiny.VocabSize, [2, 16], dtype: ScalarType.Int64);
        using var _ = no_grad();
        var before = model.Forward(tokens).Logits;
        var state = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        model.ConvertRouter(PlusPlus(nulls: 2, copies: 1, constants: 1, k: 3, residual: true));
        foreach (var (name, p) in model.named_parameters())
            if (state.TryGetValue(name, out var v)) p.copy_(v);
        Assert.Equal(0f, (model.Forward(tokens).Logits - before).abs().max().item<float>());
    }
}
