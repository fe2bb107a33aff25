using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Tests.Moe;
using Orchestrator.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Training;

/// <summary>A fact that runs only where a CUDA device is visible to this build, and says why it is skipped
/// elsewhere (CI has no GPU; docs/gpu-run.md records the run on one).</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!CudaVisible())
            Skip = "no CUDA device visible to this build (CPU libtorch or no NVIDIA GPU): see docs/gpu-run.md";
    }

    static bool CudaVisible()
    {
        try { return cuda.is_available(); }
        catch (Exception) { return false; }
    }
}

public class DeviceTests
{
    [CudaFact]
    public void The_smoke_test_passes_on_the_visible_gpu()
    {
        var log = new StringWriter();
        var checks = DeviceSmoke.Run(new Device(DeviceType.CUDA, 0), log);
        Assert.True(checks.All(c => c.Passed), log.ToString());
        Assert.Equal(1 + 2 * RouterCatalog.Names.Count(), checks.Count);
    }

    [Fact]
    public void The_smoke_test_runs_every_router_forward_backward_and_in_bfloat16_on_the_cpu()
    {
        var log = new StringWriter();
        var checks = DeviceSmoke.Run(CPU, log);
        Assert.True(checks.All(c => c.Passed), log.ToString());
        foreach (var router in RouterCatalog.Names)
        {
            Assert.Contains(checks, c => c.Name == $"{router} forward+backward");
            Assert.Contains(checks, c => c.Name == $"{router} bfloat16");
        }
        // The CPU against itself is exact; bfloat16 is not, but stays within its tolerance.
        Assert.Contains("relative 0.0E+000", checks.Single(c => c.Name == "top_k forward+backward").Detail);
        Assert.DoesNotContain("relative 0.0E+000", checks.Single(c => c.Name == "top_k bfloat16").Detail);
    }

    [Fact]
    public void A_bfloat16_model_keeps_bfloat16_weights_and_trains_with_float32_losses()
    {
        manual_seed(3);
        var shape = ModelTests.Tiny with { DType = "bfloat16" };
        using var model = new MoeTransformer(shape, RouterConfig.Of("null_experts", ("nulls", 2), ("k", 2)));
        model.ConvertRouter(RouterConfig.Of("ada_k"));
        model.EnableLora(2);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var batch = randint(shape.VocabSize, [4, 17], dtype: ScalarType.Int64);
        var cfg = new TrainConfig(Steps: 8, BatchSize: 4, Lr: 3e-3, Warmup: 0, WeightDecay: 0, GradClip: 1, EvalEvery: 0);
        var history = Trainer.Train(model, cfg, model.parameters(), _ => batch);
        Assert.All(history, h => Assert.True(double.IsFinite(h.Loss)));
        Assert.True(history[^1].Loss < history[0].Loss, $"loss {history[0].Loss} → {history[^1].Loss}");
        var output = model.Forward(batch.narrow(1, 0, 16), TelemetryLevel.Summary);
        Assert.Equal(ScalarType.Float32, output.Logits.dtype);
        Assert.Equal(ScalarType.Float32, output.AuxLoss.dtype);
        Assert.Equal(ScalarType.Float32, output.Routing[0].Routing.Probs.dtype);
    }

    [Fact]
    public void The_loaded_libtorch_and_the_peak_memory_are_read_from_the_process()
    {
        using var _ = ones(1);                      // libtorch is loaded
        var lib = DeviceInfo.LoadedLibtorch();
        Assert.NotNull(lib);
        Assert.EndsWith("/libtorch_cpu.so", lib);
        Assert.True(File.Exists(lib));
        var peak = DeviceInfo.PeakMemoryBytes(CPU);
        Assert.NotNull(peak);
        Assert.InRange(peak!.Value, 50e6, 64e9);    // libtorch alone maps tens of MB
        Assert.False(DeviceInfo.Describe(CPU).ContainsKey("gpu"));
    }

    [Theory]
    [InlineData("__version__ = '2.11.0+cu130'\ncuda: Optional[str] = '13.0'\n", "2.11.0+cu130", "13.0")]
    [InlineData("__version__ = '2.10.0+cpu'\ncuda = None\n", "2.10.0+cpu", null)]
    public void A_pip_installations_version_is_read_beside_its_libraries(string versionPy, string version, string? cu)
    {
        var root = Directory.CreateTempSubdirectory("torch-");
        Directory.CreateDirectory(Path.Combine(root.FullName, "lib"));
        File.WriteAllText(Path.Combine(root.FullName, "version.py"), versionPy);
        Assert.Equal((version, cu), DeviceInfo.LibtorchVersion(Path.Combine(root.FullName, "lib", "libtorch_cpu.so")));
        Assert.Equal(("libtorch-cpu-linux-x64 2.10.0", (string?)null), DeviceInfo.LibtorchVersion(
            "/root/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native/libtorch_cpu.so"));
    }

    /// <summary>A served worker's second job reports its own peak memory, not the first job's.</summary>
    [Fact]
    public void The_peak_resident_set_starts_again_from_the_current_one()
    {
        using (var big = ones(64, 1024, 1024))                               // 256 MiB, touched
            Assert.True(big.sum().item<float>() > 0);
        double peak = DeviceInfo.PeakResidentBytes()!.Value;
        DeviceInfo.ResetPeakMemory();
        double after = DeviceInfo.PeakResidentBytes()!.Value;
        Assert.True(peak - after > 200 * 1024 * 1024, $"peak {peak / 1e6:F0} MB, after the reset {after / 1e6:F0} MB");
    }
}
