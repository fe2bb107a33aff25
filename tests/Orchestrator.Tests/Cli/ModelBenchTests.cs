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
            Assert.True((double)r["training_mfu"]! > 0, $"{name}: MFU {r["training_mfu"]}");
            Assert.InRange((double)top["forward_flops_per_token"]! / (double)r["forward_flops_per_token"]!
                           - (double)r["flops_speedup_vs_top_k"]!, -2e-3, 2e-3);
            if (name == "top_k")
            {
                Assert.Null(r["top_k_inference_ms"]);
                continue;
            }
            // Each speed-up is top-k's time in the router's own block over the router's (one round: one block; the
            // stored milliseconds are rounded to 3 places).
            foreach (var (mine, speedup) in new[] { ("inference_ms", "inference_speedup_vs_top_k"),
                         ("inference_with_telemetry_ms", "inference_with_telemetry_speedup_vs_top_k"),
                         ("training_step_ms", "training_speedup_vs_top_k") })
                Assert.InRange((double)r["top_k_" + mine]! / (double)r[mine]! - (double)r[speedup]!, -2e-3, 2e-3);
            // The forward split into its routed experts (timed inside each MoE layer) and the rest, beside top-k's:
            // the experts are part of the forward, and the ceiling follows from the block's figures (one round).
            var split = r["split_with_telemetry"]!;
            double e = (double)split["expert_ms"]!, ek = (double)split["top_k_expert_ms"]!;
            double tr = (double)r["inference_with_telemetry_ms"]!, tk = (double)r["top_k_inference_with_telemetry_ms"]!;
            Assert.InRange(e, 0.05 * tr, tr);
            Assert.InRange(ek, 0.05 * tk, tk);
            double rho = (double)split["expert_flops_ratio"]!;
            Assert.InRange(rho / (k / 2) - 1, -2e-3, 2e-3);          // no shared experts: ρ = k̄ / 2
            double f = (double)r["flops_speedup_vs_top_k"]!;
            Assert.InRange((double)split["efficiency_ceiling"]! - tk / (tk - (1 - rho) * ek) / f, -3e-3, 3e-3);
            Assert.InRange((double)split["outside_experts_ms"]! - (tr - e - (tk - ek)), -5e-3, 5e-3);
            Assert.InRange((double)split["expert_time_over_flops"]! - e / (rho * ek), -3e-3, 3e-3);
            Assert.InRange((double)split["efficiency_with_nothing_outside_experts"]! - tk / (tk + e - ek) / f,
                -3e-3, 3e-3);
        }
        Assert.Null(top["split_with_telemetry"]);
        Assert.Contains("of FLOPs-proportional", log.ToString());
        // Top-k is measured in every router's block: its own figure is the median of those (one round: one each).
        var blocks = routers.Where(kv => kv.Key != "top_k").Select(kv => (double)kv.Value!["top_k_inference_ms"]!)
            .Order().ToList();
        Assert.Equal(blocks[blocks.Count / 2], (double)top["inference_ms"]!);
        Assert.Contains("matmul peak", log.ToString());
        // One round is too few for an interval: every goal is inconclusive, none met or failed on a single sample —
        // but top-k's telemetry cost, whose with/without pairs come from every router's block (5 a block, 35 in a
        // round), has an interval, and a verdict, after one round.
        Assert.All(routers, kv => Assert.Null(kv.Value!["training_efficiency_interval"]));
        Assert.NotNull(top["telemetry_cost_interval"]);
        var goals = size["goals"]!;
        string[] Goals(string verdict) => goals[verdict]!.AsArray().Select(g => (string)g!)
            .Where(g => g != "top_k telemetry").ToArray();
        Assert.Empty(Goals("met"));
        Assert.Empty(Goals("not_met"));
        Assert.Equal(2 * (routers.Count - 1) + routers.Count - 1, Goals("inconclusive").Length);
        Assert.Equal(1, new[] { "met", "not_met", "inconclusive" }
            .Sum(v => goals[v]!.AsArray().Count(g => (string)g! == "top_k telemetry")));
        // One expert's throughput by the tokens it gets, from its own timing: FLOPs = 2 · 3·d·h · tokens.
        var gemm = result["expert_gemm"]!.AsArray();
        Assert.Equal([32, 64, 128, 256, 512, 1024], gemm.Select(g => (int)g!["tokens"]!));
        // (Stored to 0.1 GFLOP/s and 0.0001 ms: one round's sample can be a stall, tens of ms, so the rounding is
        // allowed for in absolute terms, not as a ratio.)
        foreach (var g in gemm)
        {
            double fromMs = 2.0 * 3 * 128 * 256 * (int)g!["tokens"]! / ((double)g["ms"]! / 1000) / 1e9;
            Assert.InRange((double)g["gflops"]! - fromMs, -0.05 - 0.01 * fromMs, 0.05 + 0.01 * fromMs);
        }
        Assert.Contains("one expert", log.ToString());
        // Its straight line: the fixed part and the per-token part reproduce the curve's own times.
        var fit = result["expert_gemm_fit"]!;
        double fixedMs = (double)fit["fixed_ms"]!, perToken = (double)fit["per_token_us"]! / 1000;
        double Residual(JsonNode g) => (double)g["ms"]! - (fixedMs + perToken * (int)g["tokens"]!);
        Assert.InRange(gemm.Sum(g => Residual(g!)), -5e-3, 5e-3);        // least squares: residuals sum to zero
        Assert.InRange(gemm.Sum(g => Residual(g!) * (int)g!["tokens"]!), -1, 1);    // and are orthogonal to x
        Assert.InRange((double)fit["fixed_ms_per_forward"]! - fixedMs * 8 * 4, -4e-3, 4e-3);   // 8 experts, 4 layers
    }

    [Theory]
    [InlineData(0.92, 0.97, true, "met")]          // the whole interval above 0.9
    [InlineData(0.85, 0.89, true, "not_met")]
    [InlineData(0.88, 0.93, true, "inconclusive")]  // spans the goal
    [InlineData(0.01, 0.025, false, "met")]         // telemetry: below 3%
    [InlineData(0.02, 0.04, false, "inconclusive")]
    [InlineData(0.031, 0.05, false, "not_met")]
    public void A_goal_is_met_only_when_the_whole_interval_is_on_its_side(double low, double high, bool atLeast,
        string verdict)
    {
        var ci = new Orchestrator.Analysis.Interval((low + high) / 2, low, high, 15, "median, order statistics");
        Assert.Equal(verdict, BenchGoal.Verdict(ci, atLeast ? 0.9 : 0.03, atLeast));
        Assert.Equal("inconclusive", BenchGoal.Verdict(
            Orchestrator.Analysis.Interval.Undefined(0.95, 3, "median, order statistics"), 0.9, atLeast: true));
    }

    [Theory]
    [InlineData(0.0123, "+1.2%")]
    [InlineData(-0.0041, "-0.4%")]
    [InlineData(-0.0001, "0.0%")]   // rounds to zero: neither sign, where a two-section format printed "-+0.0%"
    [InlineData(0.0, "0.0%")]
    public void Percentages_in_the_log_carry_one_sign(double x, string shown) =>
        Assert.Equal(shown, BenchGoal.SignedPercent(x));
}
