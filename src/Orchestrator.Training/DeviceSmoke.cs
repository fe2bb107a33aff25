using System.Diagnostics;
using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>One check of the smoke test: passed or not, what was measured, how long it took.</summary>
public sealed record SmokeCheck(string Name, bool Passed, string Detail, double Seconds);

/// <summary>Does this device compute what the CPU computes? A matmul against the CPU's, then for every registered
/// router a forward and backward pass of the same small model (same weights) on the CPU and on the device: the
/// loss, the routing decisions and the router's gradient must agree, every output must live on the device and the
/// gradient must be finite and non-zero; then the same in bfloat16 on the device, which must stay close to float32.
/// `orchestrator smoke` runs it; on the CPU it still exercises every router's forward, backward and bfloat16 path.
/// </summary>
public static class DeviceSmoke
{
    /// <summary>Relative loss difference allowed between the CPU and the device (float32 kernels differ in
    /// summation order), and in bfloat16 against float32 (8 bits of mantissa).</summary>
    public const double LossTolerance = 2e-3, BFloat16Tolerance = 0.05;

    /// <summary>Share of (token, expert) routing decisions that must agree with the CPU's: a token whose two best
    /// experts tie up to rounding may go either way on another device.</summary>
    public const double RoutingAgreement = 0.98;

    public static IReadOnlyList<SmokeCheck> Run(Device device, TextWriter log)
    {
        var checks = new List<SmokeCheck>();
        void Add(SmokeCheck c)
        {
            checks.Add(c);
            log.WriteLine($"{(c.Passed ? "ok  " : "FAIL")} {c.Name}: {c.Detail} ({c.Seconds:F2} s)");
        }
        Add(Timed("matmul", () => Matmul(device)));
        foreach (var router in RouterCatalog.Names)
        {
            Add(Timed($"{router} forward+backward", () => Model(router, device, bfloat16: false)));
            Add(Timed($"{router} bfloat16", () => Model(router, device, bfloat16: true)));
        }
        return checks;
    }

    static SmokeCheck Timed(string name, Func<(bool ok, string detail)> check)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var scope = NewDisposeScope();
            var (ok, detail) = check();
            return new SmokeCheck(name, ok, detail, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e)
        {
            return new SmokeCheck(name, false, e.GetType().Name + ": " + e.Message.Split('\n')[0],
                clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>C = A·B for 1024² float32 matrices on the device against the CPU's product.</summary>
    static (bool, string) Matmul(Device device)
    {
        var gen = new Generator(0);
        var a = randn([1024, 1024], generator: gen);
        var b = randn([1024, 1024], generator: gen);
        var cpu = a.matmul(b);
        var dev = a.to(device).matmul(b.to(device));
        bool onDevice = dev.device.type == device.type;
        double err = ((dev.cpu() - cpu).norm() / cpu.norm()).item<float>();
        return (onDevice && err < 1e-4, $"relative error {err:E2}, result on {dev.device}");
    }

    /// <summary>The small default-shaped model with router's defaults, on the CPU and on the device.</summary>
    static (bool, string) Model(string router, Device device, bool bfloat16)
    {
        var cfg = RunConfig.From(ConfigSchema.Defaults(router));
        var shape = cfg.Model with { Layers = 2, DModel = 64, Heads = 4, ExpertHidden = 128, VocabSize = 300 };
        manual_seed(0);
        using var reference = new MoeTransformer(shape, cfg.Router);
        SpreadGates(reference);
        var tokens = randint(shape.VocabSize, [4, 33], generator: new Generator(1), dtype: ScalarType.Int64);
        var (cpuLoss, cpuMask, _) = Step(reference, tokens);

        var onDevice = shape with { DType = bfloat16 ? "bfloat16" : "float32" };
        using var model = new MoeTransformer(onDevice, cfg.Router, device);
        var weights = reference.named_parameters().ToDictionary(np => np.name, np => np.parameter);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                p.copy_(weights[name].to(p.dtype));
        var (loss, mask, gradNorm) = Step(model, tokens.to(device));
        double rel = Math.Abs(loss - cpuLoss) / Math.Abs(cpuLoss);
        double agree = (mask.cpu().eq(cpuMask)).to(ScalarType.Float32).mean().item<float>();
        double tolerance = bfloat16 ? BFloat16Tolerance : LossTolerance;
        bool placed = mask.device.type == device.type;
        bool ok = placed && rel <= tolerance && (bfloat16 || agree >= RoutingAgreement)
                  && double.IsFinite(gradNorm) && gradNorm > 0;
        return (ok, $"loss {loss:F5} vs CPU float32 {cpuLoss:F5} (relative {rel:E1}, allowed {tolerance:E0}), " +
                    $"routing agreement {agree:P2}, router gradient norm {gradNorm:E2}, on {mask.device}");
    }

    /// <summary>Gate weights scaled up so that probabilities are spread as in a trained router (at N(0, 0.02) every
    /// token's experts nearly tie, and which one wins is up to rounding).</summary>
    static void SpreadGates(MoeTransformer model)
    {
        using var _ = no_grad();
        foreach (var block in model.MoeBlocks) block.Gate.weight!.mul_(Scalars.Of(50));
    }

    /// <summary>Loss, the first MoE layer's routing mask and the norm of the router gradients after backward.</summary>
    static (double Loss, Tensor Mask, double GradNorm) Step(MoeTransformer model, Tensor tokens)
    {
        model.train();
        model.zero_grad();
        var (loss, output) = Trainer.LmLoss(model, tokens, TelemetryLevel.Summary);
        loss.add(output.AuxLoss, Scalars.One).backward();
        var grads = model.MoeBlocks.Select(b => b.Gate.weight!.grad).OfType<Tensor>()
            .Select(g => g.to(ScalarType.Float32).norm().item<float>()).ToList();
        double norm = grads.Count == 0 ? double.NaN : Math.Sqrt(grads.Sum(g => (double)g * g));
        return (loss.item<float>(), output.Routing[0].Routing.Mask.detach(), norm);
    }
}
