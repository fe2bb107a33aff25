using System.Text.Json.Nodes;
using Orchestrator.Moe;
using Orchestrator.Training;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Bench;

/// <summary>The training step a sweep runs (Trainer.Train: forward with the training telemetry, backward, clipping,
/// AdamW, the loss read back), timed step by step on one device for a spec's model and pretraining batch. It is
/// our side of the comparison with a PyTorch eager twin of the same model (tools/gpu/twin.py), which prints the
/// same fields; the median after the warm-up steps is the figure.</summary>
public static class StepBench
{
    public sealed record Options(int Steps = 40, int Warmup = 10, string? DType = null, bool Telemetry = true);

    /// <summary>cfg: one run of a spec (its model, router and pretraining batch).</summary>
    public static JsonObject Run(RunConfig cfg, Device device, Options o, TextWriter log)
    {
        var shape = o.DType is { } dt ? cfg.Model with { DType = dt } : cfg.Model;
        var train = cfg.Pretrain with { Steps = o.Warmup + o.Steps, Warmup = 0, EvalEvery = 0 };
        Trainer.Seed(0);
        using var model = new MoeTransformer(shape, cfg.Router, device);
        var batch = randint(shape.VocabSize, [train.BatchSize, shape.Context + 1], dtype: ScalarType.Int64)
            .to(device);
        var times = new List<double>();
        double last = 0;
        Trainer.Train(model, train, model.parameters(), _ => batch, m =>
        {
            if (m.Step >= o.Warmup) times.Add((m.WallSeconds - last) * 1000);
            last = m.WallSeconds;
        }, telemetry: o.Telemetry ? TelemetryLevel.Summary : TelemetryLevel.None);
        times.Sort();
        double median = times[times.Count / 2];
        long tokens = (long)train.BatchSize * shape.Context;
        log.WriteLine($"step: {cfg.Router.Type} {shape.Layers}×d{shape.DModel}, {shape.Experts} experts, batch " +
                      $"{train.BatchSize}×{shape.Context}, {shape.DType} on {device}" +
                      $"{(o.Telemetry ? "" : ", training telemetry off")}: median {median:F2} ms " +
                      $"({tokens / median * 1000:F0} tokens/s) over {times.Count} steps");
        return new JsonObject
        {
            ["implementation"] = "orchestrator (TorchSharp)", ["router"] = cfg.Router.Type,
            ["device"] = device.ToString(),
            ["dtype"] = shape.DType, ["telemetry"] = o.Telemetry, ["layers"] = shape.Layers,
            ["d_model"] = shape.DModel, ["heads"] = shape.Heads,
            ["experts"] = shape.Experts, ["expert_hidden"] = shape.ExpertHidden, ["vocab_size"] = shape.VocabSize,
            ["rope_theta"] = shape.RopeTheta, ["moe_layers"] = shape.MoeLayers,
            ["shared_experts"] = shape.SharedExperts,
            ["k"] = cfg.Router.Knobs.TryGetValue("k", out var k) ? Convert.ToInt32(k) : null,
            ["balance_coef"] = Convert.ToDouble(cfg.Router.Knobs["balance_coef"]),
            ["lr"] = train.Lr, ["weight_decay"] = train.WeightDecay, ["grad_clip"] = train.GradClip,
            ["batch"] = train.BatchSize, ["context"] = shape.Context, ["steps"] = times.Count, ["warmup"] = o.Warmup,
            ["median_step_ms"] = median, ["tokens_per_second"] = tokens / median * 1000,
            ["step_ms"] = new JsonArray(times.Select(t => (JsonNode)t).ToArray()),
        };
    }
}
