using System.Text.Json.Nodes;
using Orchestrator.Cli.Bench;

namespace Orchestrator.Tests.Execution;

/// <summary>The sweep benchmark measures a real sweep and accounts for its wall time (no timing is asserted:
/// only that the figures exist and add up).</summary>
public class SweepBenchTests
{
    [Fact]
    public void The_sweep_benchmark_splits_wall_time_into_recipes_start_up_and_orchestration()
    {
        SweepTests.FreshResults();
        var before = Paths.Results;
        var log = new StringWriter();
        JsonObject r = SweepBench.Run(log, rounds: 1, $"dotnet {SweepTests.WorkerDll}");
        Assert.Equal(before, Paths.Results);                                  // the scratch folder is left behind
        Assert.Equal(7, (int)r["jobs"]!);                                     // 1 base, 3 fine-tunes, 3 evaluations
        double wall = (double)r["wall_seconds"]!, compute = (double)r["compute_seconds"]!;
        double startup = (double)r["worker_startup_seconds"]!, own = (double)r["orchestrator_seconds"]!;
        Assert.True(compute > 0 && startup > 0, log.ToString());
        Assert.Equal(wall, compute + startup + own, 1);
        Assert.InRange((double)r["overhead_ratio"]!, wall / compute * 0.99, wall / compute * 1.01);
        Assert.Contains("overhead ratio", log.ToString());
        // One round gives a median but no interval: the goal's verdict is inconclusive, never met.
        Assert.Equal(1, r["overhead_ratio_per_round"]!.AsArray().Count);
        Assert.Null(r["overhead_ratio_interval"]);
        Assert.Equal("inconclusive", (string)r["goal"]!["verdict"]!);
        Assert.Contains("(median of 1 round, 95% interval; goal ≤ 1.1): inconclusive", log.ToString());
    }
}
