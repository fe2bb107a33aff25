using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
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

    public static JsonObject Run(TextWriter log, string? workerCommand = null)
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
            var clock = Stopwatch.StartNew();
            var summary = new SweepRunner(store, TextWriter.Null, live: false).Run(spec,
                new SweepOptions(WorkerCommand: workerCommand));
            double wall = clock.Elapsed.TotalSeconds;
            if (summary.ExitCode != 0) throw new InvalidOperationException("the benchmark sweep failed: " +
                string.Join("; ", summary.Failures));
            var jobs = store.Query("""
                SELECT kind, json_extract(provenance_json, '$.recipe_seconds'),
                       json_extract(provenance_json, '$.startup_seconds'), executor_job_id
                FROM jobs WHERE state = 'completed'
                """).Rows.Select(r => (kind: (string)r[0]!, recipe: Number(r[1]), startup: Number(r[2]),
                    process: (string?)r[3])).ToList();
            double recipe = jobs.Sum(j => j.recipe), startup = jobs.Sum(j => j.startup);
            var result = new JsonObject
            {
                ["command"] = "make bench ARGS=sweep",
                ["jobs"] = jobs.Count,
                ["worker_processes"] = jobs.Select(j => j.process).Distinct().Count(),
                ["jobs_per_device"] = 1,
                ["data_cache"] = "prepared before timing",
                ["wall_seconds"] = Math.Round(wall, 2),
                ["compute_seconds"] = Math.Round(recipe, 2),
                ["worker_startup_seconds"] = Math.Round(startup, 2),
                ["orchestrator_seconds"] = Math.Round(wall - recipe - startup, 2),
                ["overhead_ratio"] = Math.Round(wall / recipe, 3),
            };
            log.WriteLine($"sweep: {jobs.Count} jobs ({result["worker_processes"]} worker processes) in {wall:F1} s " +
                $"wall, {recipe:F1} s inside recipes: " +
                $"overhead ratio {wall / recipe:F3} (goal ≤ 1.1); worker start-up {startup:F1} s, orchestrator " +
                $"{wall - recipe - startup:F1} s");
            return result;
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
