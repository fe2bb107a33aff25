using System.Text.Json.Nodes;
using Orchestrator.Cli.Bench;

namespace Orchestrator.Tests.Execution;

/// <summary>The sweep benchmark measures a real sweep and accounts for its wall time twice, by where it goes and
/// along the timeline (no timing is asserted: only that the figures exist and add up).</summary>
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
        // Each figure is rounded to 0.01 s on its own, so their sum is the wall time within 3 × 0.005 s (rounding
        // both sides to 0.1 s instead failed whenever they straddled a rounding boundary: 9.25 against 9.26).
        Assert.InRange(compute + startup + own, wall - 0.0151, wall + 0.0151);
        Assert.InRange((double)r["overhead_ratio"]!, wall / compute * 0.99, wall / compute * 1.01);
        // Along the timeline, by the workers' clock at each recipe's end: the first recipe waits for a worker and its
        // libtorch, each next one for a hand-over; with the recipes they are the wall time again.
        double lead = (double)r["before_first_recipe_seconds"]!, between = (double)r["between_recipes_seconds"]!;
        double after = (double)r["after_last_recipe_seconds"]!;
        Assert.True(lead > startup / 7 && between > 0 && after >= 0, log.ToString());
        Assert.InRange(lead + compute + between + after, wall - 0.0201, wall + 0.0201);
        // Six hand-overs among 7 jobs; between is rounded to 0.01 s (±0.84 ms a hand-over), handover_ms to 0.1 ms.
        Assert.InRange((double)r["handover_ms"]!, between / 6 * 1000 - 0.9, between / 6 * 1000 + 0.9);
        Assert.Contains("overhead ratio", log.ToString());
        // One round gives a median but no interval: the goal's verdict is inconclusive, never met.
        Assert.Equal(1, r["overhead_ratio_per_round"]!.AsArray().Count);
        Assert.Null(r["overhead_ratio_interval"]);
        Assert.Equal("inconclusive", (string)r["goal"]!["verdict"]!);
        Assert.Contains("(median of 1 round, 95% interval; goal ≤ 1.1): inconclusive", log.ToString());
    }
}
