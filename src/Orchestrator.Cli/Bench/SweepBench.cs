using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Analysis;
using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Cli.Bench;

/// <summary>What the orchestration costs around the work: a small real sweep (real workers, one job at a time,
/// in a scratch results folder) timed end to end, against the time its workers spent inside their recipes.
/// overhead_ratio = wall ÷ Σ recipe time (1.0 would be no overhead at all; goal ≤ 1.1). The rest is split
/// into the workers' start-up inside the worker (ticket, threads, data) and the orchestrator's share (planning,
/// process starts, claims, scheduling, ingest). The data cache (tokenizer, token streams) is prepared before the
/// clock starts, as every sweep after a corpus's first finds it: training a tokenizer is work, not overhead.
/// </summary>
public static class SweepBench
{
    const string Spec = """
        name: bench-sweep
        base:
          model: {layers: 2, d_model: 64, heads: 2, experts: 4, expert_hidden: 128, vocab_size: 300, context: 32}
          data: {tasks: "addition,brackets", max_difficulty: 2}
          pretrain: {steps: 150, batch_size: 8, eval_every: 0}
          finetune: {steps: 60, batch_size: 8, eval_every: 0}
          eval: {text_batches: 2, task_samples: 4}
        sweep:
          router:
            top_k: {k: 2}
            top_p: {p: 0.4}
            adaptive_gating: {threshold: 0.1}
        execution:
          jobs_per_device: 1
        """;

    /// <summary>The goal: orchestration adds at most 10% to the time spent inside recipes.</summary>
    public const double OverheadGoal = 1.1;

    /// <summary>One round's figures: the sweep's wall time, the time inside recipes and inside the workers' start-up
    /// (seconds), the jobs and the worker processes that ran them; and the same wall time along the sweep's timeline
    /// (jobs run one at a time): before the first recipe starts, between one recipe's end and the next one's start
    /// (result, ingest, hand-over, start-up), and after the last recipe ends. Before + Σ recipes + between + after =
    /// wall, from the workers' clock readings at each recipe's end (jobs.provenance_json's finished_at).</summary>
    public sealed record Round(double Wall, double Recipe, double Startup, int Jobs, int Processes,
        double BeforeFirst, double Between, double AfterLast)
    {
        public double Orchestrator => Wall - Recipe - Startup;
        public double OverheadRatio => Wall / Recipe;
        /// <summary>Mean time between one recipe's end and the next one's start.</summary>
        public double Handover => Jobs > 1 ? Between / (Jobs - 1) : 0;
    }

    /// <summary>`rounds` sweeps, each in a fresh scratch results folder; the figures are medians over rounds, and
    /// overhead_ratio comes with its 95% interval and a verdict against the goal (BenchGoal).</summary>
    public static JsonObject Run(TextWriter log, int rounds = 7, string? workerCommand = null)
    {
        var all = new List<Round>();
        for (int i = 0; i < rounds; i++)
        {
            var r = RunOnce(workerCommand);
            all.Add(r);
            log.WriteLine($"sweep round {i + 1}/{rounds}: {r.Jobs} jobs ({r.Processes} worker processes) in " +
                $"{r.Wall:F2} s wall, {r.Recipe:F2} s inside recipes: overhead ratio {r.OverheadRatio:F3}; worker " +
                $"start-up {r.Startup:F2} s, orchestrator {r.Orchestrator:F2} s; before the first recipe " +
                $"{r.BeforeFirst:F2} s, between recipes {r.Between:F2} s ({r.Handover * 1000:F0} ms a hand-over), " +
                $"after the last {r.AfterLast:F2} s");
        }
        double Median(Func<Round, double> f) => Statistics.Quantile(all.Select(f).Order().ToArray(), 0.5);
        var ci = Statistics.MedianInterval(all.Select(r => r.OverheadRatio).ToList());
        var verdict = BenchGoal.Verdict(ci, OverheadGoal, atLeast: false);
        var of = rounds == 1 ? "1 round" : $"{rounds} rounds";
        log.WriteLine($"sweep: overhead ratio {ci.Estimate:F3} {BenchGoal.Show(ci)} (median of {of}, 95% interval; " +
                      $"goal ≤ {OverheadGoal}): {verdict.Replace('_', ' ')}");
        return new JsonObject
        {
            ["command"] = "make bench ARGS=sweep",
            ["rounds"] = rounds,
            ["jobs"] = all[0].Jobs,
            ["worker_processes"] = all[0].Processes,
            ["jobs_per_device"] = 1,
            ["data_cache"] = "prepared before timing",
            ["wall_seconds"] = Math.Round(Median(r => r.Wall), 2),
            ["compute_seconds"] = Math.Round(Median(r => r.Recipe), 2),
            ["worker_startup_seconds"] = Math.Round(Median(r => r.Startup), 2),
            ["orchestrator_seconds"] = Math.Round(Median(r => r.Orchestrator), 2),
            // The timeline: the first recipe waits for a worker process and its libtorch; each next one waits for
            // the previous job's result to be stored and its own ticket to arrive.
            ["before_first_recipe_seconds"] = Math.Round(Median(r => r.BeforeFirst), 2),
            ["between_recipes_seconds"] = Math.Round(Median(r => r.Between), 2),
            ["handover_ms"] = Math.Round(Median(r => r.Handover) * 1000, 1),
            ["after_last_recipe_seconds"] = Math.Round(Median(r => r.AfterLast), 2),
            ["overhead_ratio"] = Math.Round(ci.Estimate, 3),
            ["overhead_ratio_interval"] = BenchGoal.Bounds(ci, 3),
            ["overhead_ratio_per_round"] = new JsonArray(all.Select(r => (JsonNode)Math.Round(r.OverheadRatio, 3))
                .ToArray()),
            ["goal"] = new JsonObject { ["overhead_ratio_at_most"] = OverheadGoal, ["verdict"] = verdict },
        };
    }

    static Round RunOnce(string? workerCommand)
    {
        var previous = Environment.GetEnvironmentVariable("ORCHESTRATOR_RESULTS");
        var dir = Directory.CreateTempSubdirectory("orch-bench-sweep").FullName;
        Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", dir);
        try
        {
            var spec = SpecLoader.LoadText(Spec, "bench-sweep.yaml");
            var first = spec.Runs[0].Typed;
            Orchestrator.Training.Data.Dataset.Prepare(first.Data, first.Model);
            using var store = ResultStore.Open(Paths.Database);
            // Wall time by the system clock, which the workers' finished_at readings share.
            var start = DateTime.UtcNow;
            var summary = new SweepRunner(store, TextWriter.Null, live: false).Run(spec,
                new SweepOptions(WorkerCommand: workerCommand));
            var end = DateTime.UtcNow;
            if (summary.ExitCode != 0) throw new InvalidOperationException("the benchmark sweep failed: " +
                string.Join("; ", summary.Failures));
            var jobs = store.Query("""
                SELECT json_extract(provenance_json, '$.recipe_seconds'),
                       json_extract(provenance_json, '$.startup_seconds'), executor_job_id,
                       json_extract(provenance_json, '$.finished_at')
                FROM jobs WHERE state = 'completed'
                """).Rows.Select(r => (recipe: Number(r[0]), startup: Number(r[1]), process: (string?)r[2],
                    end: DateTime.Parse((string)r[3]!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)))
                .OrderBy(j => j.end).ToList();
            double Seconds(DateTime from, DateTime to) => (to - from).TotalSeconds;
            // Recipe i ran from end_i − recipe_i to end_i; jobs run one at a time (jobs_per_device: 1).
            double between = jobs.Skip(1).Zip(jobs, (next, prev) => Seconds(prev.end, next.end) - next.recipe).Sum();
            return new Round(Seconds(start, end), jobs.Sum(j => j.recipe), jobs.Sum(j => j.startup), jobs.Count,
                jobs.Select(j => j.process).Distinct().Count(),
                BeforeFirst: Seconds(start, jobs[0].end) - jobs[0].recipe, Between: between,
                AfterLast: Seconds(jobs[^1].end, end));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", previous);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    static double Number(object? v) => v switch
    {
        null => 0,
        string s => double.Parse(s, CultureInfo.InvariantCulture),
        _ => Convert.ToDouble(v, CultureInfo.InvariantCulture),
    };
}
