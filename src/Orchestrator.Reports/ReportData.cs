using System.Globalization;
using System.Text.Json;
using Orchestrator.Results;

namespace Orchestrator.Reports;

/// <summary>One run as one sweep planned it. When a report compares sweeps, a run planned by two of
/// them appears under each, and every configuration label starts with its sweep's name.</summary>
sealed record RunInfo(string RunId, string Router, string Knobs, string Curriculum, long Seed, string Status,
    string GroupHash, double? Loss, double? Ppl, double? Acc, double? Experts, double? Flops, double? Speedup,
    string? Error, string Sweep, bool Compare, string Source = "native")
{
    public string Config => (Compare ? Sweep + ": " : "") + ReportBuilder.ConfigLabel(Router, Knobs) +
                            (Curriculum != "none" ? $" [{Curriculum}]" : "") + HfConfig.Label(Source);
}

/// <summary>Everything a report draws, read from the store once: one query per table for all the sweeps'
/// runs (never one per run per plot), grouped by run id.</summary>
sealed class ReportData
{
    public required IReadOnlyList<string> Sweeps { get; init; }
    public required List<RunInfo> Runs { get; init; }
    /// <summary>The SQL behind the run tables, printed in the report so that its numbers can be reproduced.</summary>
    public required string RunsSql { get; init; }
    List<RunInfo>? done;
    List<IGrouping<string, RunInfo>>? groups;
    public List<RunInfo> Done => done ??= Runs.Where(r => r.Status == "completed").ToList();
    /// <summary>Completed runs by configuration (same sweep and configuration but the seed).</summary>
    public List<IGrouping<string, RunInfo>> Groups =>
        groups ??= Done.GroupBy(r => r.Sweep + "/" + r.GroupHash).OrderBy(g => g.First().Config).ToList();

    public required ILookup<string, (int Layer, double Experts)> Layers { get; init; }
    public required ILookup<string, (int Difficulty, double Experts)> Difficulties { get; init; }
    public required ILookup<string, (string Class, double Experts)> Classes { get; init; }
    public required ILookup<string, long[]> Histograms { get; init; }
    public required ILookup<string, (string Key, double Step, double Value)> Curves { get; init; }
    public required ILookup<string, (int Layer, int Expert, double Share)> Loads { get; init; }
    /// <summary>Per run and layer: routing health over its evaluation (NULL for runs stored before schema 8).</summary>
    public required ILookup<string, (int Layer, double? MaxVio, double? MaxVioBatch, double? Dead, double? Entropy,
        double? Stability)> Health { get; init; }
    /// <summary>Per run: each word's held-out count and its experts per token (averaged over MoE layers).</summary>
    public required ILookup<string, (long Tokens, double Experts)> Words { get; init; }
    /// <summary>Per run: the held-out sample's (position, token, experts used averaged over MoE layers).</summary>
    public required ILookup<string, (int Position, string Token, double Experts)> TokenRoutes { get; init; }
    /// <summary>Per run: (layer, expert a, expert b, tokens that used both), a ≤ b.</summary>
    public required ILookup<string, (int Layer, int A, int B, long Tokens)> CoActivation { get; init; }
    /// <summary>Per run: (difficulty, token class, tokens, experts per token) over generated task sequences.</summary>
    public required ILookup<string, (int Difficulty, string Class, long Tokens, double Experts)> TaskClasses
    {
        get; init;
    }
    /// <summary>Per run and generated task (not multiple choice): (task, difficulty, items, correct).</summary>
    public required ILookup<string, (string Task, int Difficulty, long Samples, long Correct)> TaskCounts
    {
        get; init;
    }

    const string RunsSqlTemplate = """
        SELECT s.run_id, s.router, s.knobs, s.curriculum, s.seed, s.status, s.group_hash, s.eval_loss, s.perplexity,
               s.accuracy, s.mean_experts_per_token, s.flops_per_token, s.speedup_vs_topk, r.error, sr.sweep,
               coalesce(json_extract(r.config_json, '$.model.source'), 'native') AS model_source
        FROM sweep_runs sr JOIN run_summary s ON s.run_id = sr.run_id AND s.sweep = sr.sweep
        JOIN runs r ON r.run_id = s.run_id
        WHERE sr.sweep IN (%IN%)
        ORDER BY sr.sweep, s.router, s.knobs, s.curriculum, s.seed
        """;

    static double? D(object? o) => o == null ? null : Convert.ToDouble(o, CultureInfo.InvariantCulture);
    static int I(object? o) => Convert.ToInt32(o, CultureInfo.InvariantCulture);

    public static ReportData Load(ResultStore store, IReadOnlyList<string> sweeps)
    {
        var inList = string.Join(",", sweeps.Select((_, i) => "$s" + i));
        var args = sweeps.Select((s, i) => ("$s" + i, (object?)s)).ToArray();
        bool compare = sweeps.Count > 1;
        var runs = store.Query(RunsSqlTemplate.Replace("%IN%", inList), args).Rows.Select(r => new RunInfo(
            (string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, Convert.ToInt64(r[4]), (string)r[5]!,
            (string)r[6]!, D(r[7]), D(r[8]), D(r[9]), D(r[10]), D(r[11]), D(r[12]), r[13] as string, (string)r[14]!,
            compare, (string)r[15]!)).ToList();
        // Every per-run table, once, for the runs these sweeps planned.
        var mine = $"(SELECT run_id FROM sweep_runs WHERE sweep IN ({inList}))";
        List<object?[]> Rows(string sql) => store.Query(sql.Replace("%RUNS%", mine), args).Rows.ToList();
        return new ReportData
        {
            Sweeps = sweeps, Runs = runs,
            RunsSql = RunsSqlTemplate.Replace("%IN%", string.Join(", ", sweeps.Select(s => $"'{s}'"))),
            Layers = Rows("""
                SELECT run_id, layer, mean_experts_per_token FROM routing_stats WHERE run_id IN %RUNS%
                ORDER BY run_id, layer
                """).ToLookup(r => (string)r[0]!, r => (I(r[1]), D(r[2])!.Value)),
            Difficulties = Rows("""
                SELECT run_id, difficulty, avg(coalesce(answer_experts_per_token, mean_experts_per_token))
                FROM task_results WHERE run_id IN %RUNS% AND task NOT LIKE 'mc:%'
                GROUP BY run_id, difficulty ORDER BY run_id, difficulty
                """).ToLookup(r => (string)r[0]!, r => (I(r[1]), D(r[2])!.Value)),
            Classes = Rows("""
                SELECT run_id, token_class, sum(tokens * mean_experts_per_token) / sum(tokens) FROM token_class_usage
                WHERE run_id IN %RUNS% GROUP BY run_id, token_class ORDER BY run_id, token_class
                """).ToLookup(r => (string)r[0]!, r => ((string)r[1]!, D(r[2])!.Value)),
            Histograms = Rows("SELECT run_id, experts_histogram FROM routing_stats WHERE run_id IN %RUNS%")
                .ToLookup(r => (string)r[0]!, r => JsonSerializer.Deserialize<long[]>((string)r[1]!)!),
            Curves = Rows("""
                SELECT run_id, key, step, value FROM run_metrics
                WHERE run_id IN %RUNS% AND phase = 'finetune'
                  AND key IN ('train_loss', 'valid_loss', 'max_vio', 'dead_experts')
                  AND value IS NOT NULL
                ORDER BY run_id, key, step
                """).ToLookup(r => (string)r[0]!, r => ((string)r[1]!, (double)D(r[2])!.Value, D(r[3])!.Value)),
            Loads = Rows("SELECT run_id, layer, expert, share FROM expert_usage WHERE run_id IN %RUNS%")
                .ToLookup(r => (string)r[0]!, r => (I(r[1]), I(r[2]), D(r[3])!.Value)),
            Health = Rows("""
                SELECT run_id, layer, max_vio, max_vio_batch, dead_experts, usage_entropy, stability_from_base
                FROM routing_stats WHERE run_id IN %RUNS% ORDER BY run_id, layer
                """).ToLookup(r => (string)r[0]!, r => (I(r[1]), D(r[2]), D(r[3]), D(r[4]), D(r[5]), D(r[6]))),
            Words = Rows("SELECT run_id, tokens, mean_experts_per_token FROM word_usage WHERE run_id IN %RUNS%")
                .ToLookup(r => (string)r[0]!, r => (Convert.ToInt64(r[1]), D(r[2])!.Value)),
            TokenRoutes = Rows("""
                SELECT run_id, position, token, avg(json_array_length(experts)) FROM token_routes
                WHERE run_id IN %RUNS% GROUP BY run_id, position, token ORDER BY run_id, position
                """).ToLookup(r => (string)r[0]!, r => (I(r[1]), (string)r[2]!, D(r[3])!.Value)),
            CoActivation = Rows(
                    "SELECT run_id, layer, expert_a, expert_b, tokens FROM coactivation WHERE run_id IN %RUNS%")
                .ToLookup(r => (string)r[0]!, r => (I(r[1]), I(r[2]), I(r[3]), Convert.ToInt64(r[4]))),
            TaskClasses = Rows("""
                SELECT run_id, difficulty, token_class, sum(tokens), sum(tokens * mean_experts_per_token) / sum(tokens)
                FROM task_class_usage WHERE run_id IN %RUNS% AND task NOT LIKE 'mc:%'
                GROUP BY run_id, difficulty, token_class
                """).ToLookup(r => (string)r[0]!, r => (I(r[1]), (string)r[2]!, Convert.ToInt64(r[3]), D(r[4])!.Value)),
            TaskCounts = Rows("""
                SELECT run_id, task, difficulty, samples, correct FROM task_results
                WHERE run_id IN %RUNS% AND task NOT LIKE 'mc:%' ORDER BY run_id, task, difficulty
                """).ToLookup(r => (string)r[0]!, r => ((string)r[1]!, I(r[2]), Convert.ToInt64(r[3]),
                Convert.ToInt64(r[4]))),
        };
    }
}
