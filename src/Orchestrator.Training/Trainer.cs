using System.Diagnostics;
using Orchestrator.Moe;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>One training step as logged; Routing: the step's routing health (max_vio: MaxVio of the batch,
/// dead_experts: share of experts no token used, both averaged over MoE layers) and a routing controller's state
/// after the step (ReMoE: relu_l1_coef, relu_sparsity).</summary>
public sealed record StepMetrics(int Step, double Loss, double AuxLoss, double Lr, double GradNorm, double MeanExperts,
    double TokensPerSecond, double WallSeconds, IReadOnlyDictionary<string, double>? Routing = null);

/// <summary>A loss that is NaN or infinite: the job ends as failed with this reason.</summary>
public sealed class DivergedException(int step,
    double loss) : Exception($"loss is {loss} at step {step}: training diverged")
{
    public int Step { get; } = step;
}

/// <summary>The points of a training step that <see cref="Trainer.Train"/> reports (for the step benchmark's
/// per-phase timings).</summary>
public enum StepPhase { Forward, Backward, Optimizer }

/// <summary>AdamW with linear warm-up and cosine decay to 10% of the peak, gradient clipping,
/// next-token cross-entropy plus the routers' auxiliary losses. One dispose scope per step.</summary>
public static class Trainer
{
    public static double LearningRate(TrainConfig c, int step)
    {
        if (c.Warmup > 0 && step < c.Warmup) return c.Lr * (step + 1) / c.Warmup;
        double progress = c.Steps <= c.Warmup ? 1 : (step - c.Warmup) / (double)Math.Max(1, c.Steps - c.Warmup);
        return c.Lr * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(progress, 0, 1))));
    }

    /// <summary>Cross-entropy of next-token prediction. tokens: (B, S + 1) int64.</summary>
    public static (Tensor loss, ModelOutput output) LmLoss(MoeTransformer model, Tensor tokens,
        TelemetryLevel level = TelemetryLevel.None)
    {
        long s = tokens.shape[1] - 1;
        var input = tokens.narrow(1, 0, s);
        var target = tokens.narrow(1, 1, s);
        var output = model.Forward(input, level);
        var loss = nn.functional.cross_entropy(output.Logits.reshape(-1, output.Logits.shape[2]), target.reshape(-1));
        return (loss, output);
    }

    /// <summary>Runs the configured number of steps. nextBatch(step) returns (B, S + 1) token ids on the model's
    /// device. telemetry: the routing statistics logged per step (None only to measure what they cost).</summary>
    public static IReadOnlyList<StepMetrics> Train(MoeTransformer model, TrainConfig cfg,
        IEnumerable<Parameter> trainable,
        Func<int, Tensor> nextBatch, Action<StepMetrics>? onStep = null, Action<int>? onEval = null,
        TelemetryLevel telemetry = TelemetryLevel.Summary, OptimizerKind optimizerKind = OptimizerKind.Flat,
        Action<StepPhase>? onPhase = null)
    {
        var parameters = trainable.ToList();
        var history = new List<StepMetrics>();
        if (cfg.Steps == 0 || parameters.Count == 0) return history;
        using var optimizer = IStepOptimizer.Create(optimizerKind, parameters, cfg.WeightDecay);
        model.train();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < cfg.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var t0 = clock.Elapsed.TotalSeconds;
            double lr = LearningRate(cfg, step);
            optimizer.ZeroGrad();
            var batch = nextBatch(step);
            var (loss, output) = LmLoss(model, batch, telemetry);
            onPhase?.Invoke(StepPhase.Forward);
            var total = loss.add(output.AuxLoss, Scalars.One);
            total.backward();
            onPhase?.Invoke(StepPhase.Backward);
            var gradNorm = cfg.GradClip > 0 ? optimizer.ClipGradNorm(cfg.GradClip) : zeros(1, device: loss.device);
            optimizer.Step(lr);
            onPhase?.Invoke(StepPhase.Optimizer);
            var read = ReadBack(loss, output.AuxLoss, gradNorm);
            var routing = new Dictionary<string, double>(model.AfterTrainingStep());
            if (output.Telemetry.Count > 0)
            {
                routing["max_vio"] = output.Telemetry.Average(t => t.MaxVio);          // this batch, mean over layers
                routing["dead_experts"] = output.Telemetry.Average(t => t.DeadShare);
            }
            double lossValue = read[0];
            if (!double.IsFinite(lossValue)) throw new DivergedException(step, lossValue);
            double tokens = batch.shape[0] * (batch.shape[1] - 1);
            var m = new StepMetrics(step, lossValue, read[1], lr, read[2],
                output.Telemetry.Count == 0 ? 0 : output.Telemetry.Average(t => t.MeanExpertsPerToken),
                tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds - t0), clock.Elapsed.TotalSeconds, routing);
            history.Add(m);
            onStep?.Invoke(m);
            if (cfg.EvalEvery > 0 && (step + 1) % cfg.EvalEvery == 0 && step + 1 < cfg.Steps)
            {
                onEval?.Invoke(step + 1);
                model.train();
            }
        }
        model.AfterTraining();
        return history;
    }

    /// <summary>Scalars (any device, any dtype) as doubles, in one device-to-host transfer: one sync per step for
    /// what the step logs.</summary>
    static double[] ReadBack(params Tensor[] scalars)
    {
        var device = scalars[0].device;
        var all = stack(scalars.Select(v => v.detach().reshape([]).to(ScalarType.Float64).to(device)).ToArray());
        return all.cpu().data<double>().ToArray();
    }

    /// <summary>Deterministic given the seed: torch's generator and the data sampler both seeded.</summary>
    public static void Seed(long seed)
    {
        torch.manual_seed(seed);
        torch.random.manual_seed(seed);
    }

    /// <summary>(B, S + 1) rows → an int64 tensor on the device.</summary>
    public static Tensor ToBatch(IReadOnlyList<int[]> rows, Device device)
    {
        int b = rows.Count, s = rows[0].Length;
        var flat = new long[b * s];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < s; j++) flat[i * s + j] = rows[i][j];
        return tensor(flat, [b, s], dtype: ScalarType.Int64).to(device);
    }
}
