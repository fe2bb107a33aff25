using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Reports;
using Orchestrator.Specs;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>A router written for this test only, as a plug-in: one file (this class) and one registration
/// line. Every token goes to its single most probable expert after the logits are divided by a temperature,
/// with weight 1 (a toy rule, but a complete router: knob, range, constraint, label, FLOPs, training).</summary>
public sealed class ThrowawayRouter(RouterConfig config, int experts) : Router(config, experts)
{
    public static readonly RouterDefinition Definition = new("throwaway_top1", "top-1 after a temperature (test plug-in)",
        [Param.Float("temperature", 1.0, "divides the logits", 0, 10, minEx: true), Param.Int("spare", 0, "unused", 0, 64)],
        "temperature")
    {
        Constraints = c => RouterDefinition.AtMost(c, "router.spare", "spare", "model.experts", "model.experts"),
    };

    readonly double temperature = config.Double("temperature");

    public override int MaxExpertsPerToken => 1;

    public override RouterOutput Route(Tensor logits, Tensor? allocatorLogits, bool training)
    {
        var probs = (logits / Scalars.Of(temperature)).softmax(-1);     // (T, N); numbers as Scalars.Of
        var (vals, idx) = probs.topk(1, dim: -1);                       // (T, 1)
        var mask = MaskFrom(idx, ones_like(vals), Experts);
        return new RouterOutput
        {
            Mask = mask, Weights = mask, Probs = probs,
            BalanceLoss = SwitchBalance(DispatchFractions(mask), probs), EntropyLoss = Zero(probs),
        };
    }
}

public class PluginRouterTests
{
    [Fact]
    public void A_router_added_by_one_file_and_one_line_is_validated_swept_trained_and_labelled()
    {
        using var registration = Routers.Add(ThrowawayRouter.Definition, (c, n) => new ThrowawayRouter(c, n));

        // Specs: its knobs are keys like any other, with their ranges, constraints and did-you-mean.
        var spec = SpecLoader.LoadText("""
            name: plug
            base:
              model: {layers: 2, d_model: 32, heads: 2, experts: 4, expert_hidden: 32, vocab_size: 300, context: 16}
            sweep:
              router:
                top_k: {k: 2}
                throwaway_top1: {temperature: [0.5, 2.0]}
            """, "plug.yaml");
        Assert.Equal(3, spec.Runs.Count);
        Assert.Equal("{\"spare\":0,\"temperature\":0.5}", spec.Runs.First(r => r.Router == "throwaway_top1").Knobs);
        var bad = Assert.Throws<SpecException>(() => SpecLoader.LoadText(
            "name: bad\nbase:\n  model: {experts: 4}\nsweep:\n  router:\n    throwaway_top1: {temperatur: 0, spare: 9}\n", "bad.yaml"));
        Assert.Contains(bad.Errors, e => e.ToString().Contains("did you mean 'temperature'"));
        Assert.Contains(bad.Errors, e => e.ToString().Contains("router.spare: spare 9 exceeds model.experts 4"));
        var range = Assert.Throws<SpecException>(() => SpecLoader.LoadText(
            "name: bad\nsweep:\n  router:\n    throwaway_top1: {temperature: 0}\n", "bad.yaml"));
        Assert.Contains("(expected a number in (0, 10])", range.Errors.Single().ToString());

        // Model: a trained top-k model converts to it; every token then uses one expert, and FLOPs follow.
        var cfg = spec.Runs.First(r => r.Router == "throwaway_top1").Typed;
        manual_seed(0);
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(2));
        model.ConvertRouter(cfg.Router);
        var output = model.Forward(randint(0, 300, [2, 16]), TelemetryLevel.Summary);
        Assert.All(output.Telemetry, t => Assert.Equal(1.0, t.MeanExpertsPerToken, 9));
        output.AuxLoss.backward();
        Assert.NotNull(model.MoeBlocks[0].Gate.weight!.grad);                 // the balance loss reaches the gate

        // Reports: labelled by its own knob.
        Assert.Equal("throwaway_top1 temperature=0.5", ReportBuilder.ConfigLabel("throwaway_top1",
            spec.Runs.First(r => r.Router == "throwaway_top1").Knobs));
    }

    [Fact]
    public void An_unregistered_router_is_an_error_naming_the_registered_ones()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.LoadText("name: x\nsweep:\n  router:\n    throwaway_top1: {}\n", "x.yaml"));
        Assert.Contains("allowed: top_k, top_p, adaptive_gating, null_experts, ada_k", e.Errors.Single().ToString());
        var gone = new RouterConfig("throwaway_top1", new Dictionary<string, object>());
        Assert.Contains("unknown router type 'throwaway_top1'", Assert.Throws<ArgumentException>(() => Routers.Create(gone, 4)).Message);
    }
}
