using System.Text.Json.Nodes;
using Orchestrator.Cli.Bench;

namespace Orchestrator.Tests.Cli;

/// <summary>The whole-model benchmark measures what it says: every router side by side on the same weights, the
/// FLOPs from the experts actually used (top-k: exactly k), and ratios computed from its own medians. (What the
/// numbers are is the benchmark's business, not a test's.)</summary>
public class ModelBenchTests
{
    [Fact]
    public void The_model_benchmark_reports_every_router_against_top_k_from_its_own_measurements()
    {
        var log = new StringWriter();
        var result = MoeModelBench.Run(new MoeModelBench.Options(Rounds: 1, Warmup: 0, Large: false), log);
        var size = result["default"]!.AsObject();
        Assert.Equal(128, (int)size["model"]!["d_model"]!);
        var routers = size["routers"]!.AsObject();
        Assert.Equal(["top_k", .. RouterCatalog.All.Where(d => !d.IsBaseline).Select(d => d.Name), "moe++"],
            routers.Select(kv => kv.Key));
        var top = routers["top_k"]!;
        Assert.Equal(2.0, (double)top["mean_experts_per_token"]!);
        Assert.Equal(1.0, (double)top["flops_speedup_vs_top_k"]!);
        Assert.Equal(1.0, (double)top["inference_efficiency"]!);
        foreach (var (name, node) in routers)
        {
            var r = node!.AsObject();
            foreach (var key in new[] { "inference_ms", "inference_with_telemetry_ms", "training_step_ms" })
                Assert.True((double)r[key]! > 0, $"{name}.{key}");
            double k = (double)r["mean_experts_per_token"]!;
            Assert.InRange(k, 0, 8);
            // The ratios are the medians' ratios (the stored milliseconds are rounded to 3 places).
            double Ratio(string a, string b) => (double)top[a]! / (double)r[b]!;
            Assert.InRange(Ratio("inference_ms", "inference_ms") - (double)r["inference_speedup_vs_top_k"]!, -2e-3, 2e-3);
            Assert.InRange(Ratio("forward_flops_per_token", "forward_flops_per_token")
                           - (double)r["flops_speedup_vs_top_k"]!, -2e-3, 2e-3);
            Assert.True((double)r["training_mfu"]! > 0, $"{name}: MFU {r["training_mfu"]}");
        }
        Assert.Contains("matmul peak", log.ToString());
        // One expert's throughput by the tokens it gets, from its own timing: FLOPs = 2 · 3·d·h · tokens.
        var gemm = result["expert_gemm"]!.AsArray();
        Assert.Equal([32, 64, 128, 256, 512, 1024], gemm.Select(g => (int)g!["tokens"]!));
        foreach (var g in gemm)
            Assert.InRange((double)g!["gflops"]! / (2.0 * 3 * 128 * 256 * (int)g["tokens"]! / ((double)g["ms"]! / 1000)
                / 1e9), 0.95, 1.05);
        Assert.Contains("one expert", log.ToString());
    }
}
