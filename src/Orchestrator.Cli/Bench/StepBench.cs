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
    /// <summary>Phases: synchronise the device at each phase of the step and time them apart (the syncs remove the
    /// overlap of host and device, so the total is then not the step time).</summary>
    public sealed record Options(int Steps = 40, int Warmup = 10, string? DType = null, bool Telemetry = true,
        OptimizerKind Optimizer = OptimizerKind.Flat, bool Phases = false);

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
        var phases = new PhaseClock(device);
        double last = 0;
        Trainer.Train(model, train, model.parameters(), _ => batch, m =>
        {
            if (o.Phases) phases.Mark("readback");
            if (m.Step >= o.Warmup) times.Add((m.WallSeconds - last) * 1000);
            last = m.WallSeconds;
        }, telemetry: o.Telemetry ? TelemetryLevel.Summary : TelemetryLevel.None, optimizerKind: o.Optimizer,
            onPhase: o.Phases ? p => phases.Mark(p.ToString().ToLowerInvariant()) : null);
        double median = Median(times);
        long tokens = (long)train.BatchSize * shape.Context;
        log.WriteLine($"step: {cfg.Router.Type} {shape.Layers}×d{shape.DModel}, {shape.Experts} experts, batch " +
                      $"{train.BatchSize}×{shape.Context}, {shape.DType} on {device}" +
                      $"{(o.Telemetry ? "" : ", training telemetry off")}, {o.Optimizer} AdamW: median {median:F2} ms" +
                      $" ({tokens / median * 1000:F0} tokens/s) over {times.Count} steps" +
                      (o.Phases ? "; synchronised phases: " + string.Join(", ",
                          phases.Medians(o.Warmup).Select(kv => $"{kv.Key} {kv.Value:F2} ms")) : ""));
        return new JsonObject
        {
            ["implementation"] = "orchestrator (TorchSharp)", ["router"] = cfg.Router.Type,
            ["device"] = device.ToString(),
            ["dtype"] = shape.DType, ["telemetry"] = o.Telemetry, ["layers"] = shape.Layers,
            ["optimizer"] = o.Optimizer == OptimizerKind.Flat ? "flat" : "per-tensor",
            ["phases_ms"] = o.Phases ? new JsonObject(phases.Medians(o.Warmup)
                .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) : null,
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

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>Per-phase durations of each step: at each mark the device is synchronised and the time since the
    /// previous mark goes to that phase (forward: from the previous step's read-back, the zeroing of the gradients
    /// and the release of the previous step's tensors included).</summary>
    sealed class PhaseClock(Device device)
    {
        readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        readonly Dictionary<string, List<double>> times = [];
        double last;

        public void Mark(string phase)
        {
            if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            double now = clock.Elapsed.TotalMilliseconds;
            if (!times.TryGetValue(phase, out var list)) times[phase] = list = [];
            list.Add(now - last);
            last = now;
        }

        /// <summary>Each phase's median over the steps after the warm-up.</summary>
        public IEnumerable<KeyValuePair<string, double>> Medians(int warmup) =>
            times.Select(kv => KeyValuePair.Create(kv.Key, Median(kv.Value.Skip(warmup).ToList())));
    }
}
