using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Cli.Bench;

/// <summary>Results-store throughput: telemetry ingest (rows per second through the real ingest
/// path) and the run_summary view over 10,000 runs, on a scratch database.</summary>
public static class StoreBench
{
    public static JsonObject Run(int runs, TextWriter log)
    {
        var dir = Directory.CreateTempSubdirectory("orch-bench").FullName;
        try
        {
            using var store = ResultStore.Open(Path.Combine(dir, "bench.db"));
            // 10,000 runs: one sweep over seeds × routers, registered through the real path.
            int seeds = Math.Max(1, runs / 5);
            var spec = SpecLoader.LoadText($$"""
                name: bench
                sweep:
                  seeds: {{seeds}}
                  router:
                    top_k: {k: 2}
                    top_p: {p: [0.3, 0.4]}
                    adaptive_gating: {}
                    null_experts: {}
                """, "bench.yaml");
            var sw = Stopwatch.StartNew();
            store.RegisterSweep(spec);
            double register = sw.Elapsed.TotalSeconds;

            // Ingest: bundles shaped like real telemetry (4 layers × 8 experts, 500 steps × 5 metrics, 400 words).
            long rows = 0;
            var ids = spec.Runs.Select(r => r.ConfigHash).ToList();
            sw.Restart();
            int ingested = 0;
            foreach (var id in ids)
            {
                var b = Bundle(id, ingested);
                rows += b.Steps.Count + b.Experts.Count + b.Layers.Count + b.Classes.Count + b.Words.Count
                    + b.Tasks.Count + b.Final.Count;
                store.Ingest(b);
                if (++ingested >= 200 && ingested < ids.Count && sw.Elapsed.TotalSeconds > 20) break;
            }
            double ingestSeconds = sw.Elapsed.TotalSeconds;
            // Final metrics for every run, so run_summary has values to join.
            foreach (var id in ids.Skip(ingested)) store.Ingest(new JobResult { Kind = JobKind.Evaluate, Subject = id,
                Final = Finals(id.GetHashCode()) });

            var times = new List<double>();
            int count = 0;
            for (int i = 0; i < 5; i++)
            {
                sw.Restart();
                count = store.Query("SELECT * FROM run_summary").Rows.Count;
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            var result = new JsonObject
            {
                ["runs"] = count,
                ["register_seconds"] = Math.Round(register, 3),
                ["ingest_rows"] = rows,
                ["ingest_bundles"] = ingested,
                ["ingest_rows_per_second"] = Math.Round(rows / ingestSeconds),
                ["run_summary_ms_median"] = Math.Round(times[2], 2),
            };
            log.WriteLine($"store: ingest {rows:N0} rows from {ingested} bundles at {rows / ingestSeconds:N0} rows/s " +
                $"(target ≥ 200,000)");
            log.WriteLine($"store: run_summary over {count:N0} runs in {times[2]:F1} ms, median of 5 (target < 100 " +
                $"ms)");
            return result;
        }
        finally { Directory.Delete(dir, true); }
    }

    static Dictionary<string, double> Finals(int seed)
    {
        var r = new Random(seed);
        return new() { ["eval_loss"] = 3 + r.NextDouble(), ["perplexity"] = 20 + r.NextDouble(),
            ["accuracy"] = r.NextDouble(),
            ["mean_experts_per_token"] = 1 + r.NextDouble(), ["flops_per_token"] = 2e6 + r.NextDouble() * 1e5 };
    }

    static JobResult Bundle(string id, int n)
    {
        var b = new JobResult { Kind = JobKind.Evaluate, Subject = id, Final = Finals(n) };
        for (int s = 0; s < 500; s++)
            foreach (var k in new[] { "train_loss", "aux_loss", "lr", "mean_experts_per_token", "tokens_per_second" })
                b.Steps.Add(new MetricPoint(k, s, s * 0.001, s * 0.1, "finetune"));
        for (int l = 0; l < 4; l++)
        {
            b.Layers.Add(new LayerStats(l, 6144, 1.5, [0, 3000, 3000, 144, 0, 0, 0, 0, 0], 0, 0, 1.2, 0.2, 0.01, 0, 0));
            for (int e = 0; e < 8; e++) b.Experts.Add(new ExpertLoad(l, e, 700 + e, 0.125, 0.125));
            foreach (var c in new[] { "content_word", "function_word", "number", "punctuation", "whitespace" })
                b.Classes.Add(new ClassUsage(l, c, 1000, 1.5));
        }
        for (int w = 0; w < 400; w++) b.Words.Add(new WordUsage("w" + w, "content_word", 3, 1.5));
        for (int d = 1; d <= 4; d++) b.Tasks.Add(new TaskEval("addition", d, 8, 4, 0.5, 1.5));
        return b;
    }
}
