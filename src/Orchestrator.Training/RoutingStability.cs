using Orchestrator.Moe;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>How much of the base model's routing a fine-tuned (or converted) router keeps — OLMoE's "router
/// saturation", taken from the base to the fine-tune: per MoE layer, over the same tokens, the share of each
/// token's top-k experts under the base (k = the base's k) that the fine-tuned router still uses,
///     stability_l = mean_t |TopK_base,l(t) ∩ Used_tuned,l(t)| / k.
/// 1: every token still uses all its base experts (it may use more); converting top-2 to top-1 gives exactly 0.5.
/// </summary>
public static class RoutingStability
{
    /// <summary>tokens: (B, S). Returns (layer, stability) for every MoE layer, numbered as telemetry numbers them.
    /// </summary>
    public static IReadOnlyList<(int Layer, double Stability)> PerLayer(MoeTransformer baseModel,
        MoeTransformer tuned, Tensor tokens, int k)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        baseModel.eval();
        tuned.eval();
        var a = baseModel.Forward(tokens, TelemetryLevel.Summary);
        var b = tuned.Forward(tokens, TelemetryLevel.Summary);
        if (a.Routing.Count != b.Routing.Count)
            throw new InvalidOperationException("base and fine-tuned model have different MoE layers");
        return a.Routing.Zip(b.Routing, (x, y) => (x.Telemetry!.Layer,
            (double)(x.Routing.Mask * y.Routing.Mask).sum(1).div(Scalars.Of(k)).mean().item<float>())).ToList();
    }
}
