using System.Globalization;
using System.Text.Json;
using Orchestrator.Results;

namespace Orchestrator.Analysis;

/// <summary>A completed run as the findings need it: its configuration (router, knobs, curriculum: `Config`
/// groups the seeds of one configuration), its base and seed (the pairing key) and its headline numbers.</summary>
public sealed record RunEvidence(string RunId, string Router, string Knobs, string Curriculum, long Seed,
    string BaseHash, long PretrainK, double? Flops, double? InferenceTokensPerSecond, double? TimeToTarget,
    double TargetLoss, double? Threads, double TargetExperts = 0, string Source = "native")
{
    public string Config => Router + " " + Knobs + (Curriculum == "none" ? "" : $" [{Curriculum}]") +
                            HfConfig.Label(Source);
    /// <summary>The top-k run with the base's k: what every other run on its base and seed is compared with.
    /// </summary>
    public bool IsBaseline { get; } = Router == RouterCatalog.Baseline && KnobOf(Knobs, "k") == PretrainK;

    public double? Knob(string name) => KnobOf(Knobs, name);

    static double? KnobOf(string knobs, string name)
    {
        using var doc = JsonDocument.Parse(knobs);
        return doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble() : null;
    }
}

/// <summary>One evaluated item of a run (see item_results).</summary>
public sealed record ItemEvidence(string Task, int Difficulty, int Item, bool? Correct, double LogProb, int Tokens,
    double AnswerExperts, double SequenceExperts)
{
    public (string, int, int) Key => (Task, Difficulty, Item);
    public double Loss => -LogProb / Math.Max(1, Tokens);
}

/// <summary>Everything the findings of one sweep are computed from, read from the store in one query per
/// table.</summary>
public sealed class SweepEvidence
{
    public required string Sweep { get; init; }
    public required List<RunEvidence> Runs { get; init; }
    public required ILookup<string, ItemEvidence> Items { get; init; }
    /// <summary>Per run: (layer, mean experts per token) on held-out text.</summary>
    public required ILookup<string, (int Layer, double Experts)> Layers { get; init; }
    /// <summary>Per run: (token class, tokens, mean experts per token) on held-out text, over every layer.</summary>
    public required ILookup<string, (string Class, long Tokens, double Experts)> Classes { get; init; }

    static double? D(object? o) => o == null ? null : Convert.ToDouble(o, CultureInfo.InvariantCulture);

    public static SweepEvidence Load(ResultStore store, string sweep)
    {
        var mine = "(SELECT run_id FROM sweep_runs WHERE sweep = $s)";
        List<object?[]> Rows(string sql) => store.Query(sql.Replace("%RUNS%", mine), ("$s", sweep)).Rows.ToList();
        var runs = Rows("""
            SELECT r.run_id, r.router, r.knobs, r.curriculum, r.seed, r.base_hash, r.pretrain_k, r.flops_per_token,
                   (SELECT value FROM final_metrics f WHERE f.run_id = r.run_id
                    AND f.key = 'inference_tokens_per_second'),
                   (SELECT value FROM final_metrics f WHERE f.run_id = r.run_id AND f.key = 'time_to_target_loss'),
                   coalesce(json_extract(r.config_json, '$.eval.target_loss'), 0),
                   (SELECT value FROM final_metrics f WHERE f.run_id = r.run_id AND f.key = 'threads'),
                   coalesce(json_extract(r.config_json, '$.router.target_experts'), 0),
                   coalesce(json_extract(r.config_json, '$.model.source'), 'native')
            FROM runs r WHERE r.run_id IN %RUNS% AND r.status = 'completed'
            ORDER BY r.router, r.knobs, r.curriculum, r.seed
            """).Select(r => new RunEvidence((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!,
            Convert.ToInt64(r[4]), (string)r[5]!, Convert.ToInt64(r[6]), D(r[7]), D(r[8]), D(r[9]), D(r[10]) ?? 0,
            D(r[11]), D(r[12]) ?? 0, (string)r[13]!))
            .ToList();
        return new SweepEvidence
        {
            Sweep = sweep, Runs = runs,
            Items = Rows("""
                SELECT run_id, task, difficulty, item, correct, answer_logprob, answer_tokens, answer_experts,
                       sequence_experts
                FROM item_results WHERE run_id IN %RUNS% ORDER BY run_id, task, difficulty, item
                """).ToLookup(r => (string)r[0]!, r => new ItemEvidence((string)r[1]!, Convert.ToInt32(r[2]),
                Convert.ToInt32(r[3]), r[4] == null ? null : Convert.ToInt64(r[4]) == 1, D(r[5]) ?? double.NaN,
                Convert.ToInt32(r[6]), D(r[7]) ?? double.NaN, D(r[8]) ?? double.NaN)),
            Layers = Rows("SELECT run_id, layer, mean_experts_per_token FROM routing_stats WHERE run_id IN %RUNS% " +
                          "ORDER BY run_id, layer")
                .ToLookup(r => (string)r[0]!, r => (Convert.ToInt32(r[1]), D(r[2]) ?? double.NaN)),
            Classes = Rows("""
                SELECT run_id, token_class, sum(tokens), sum(tokens * mean_experts_per_token) / sum(tokens)
                FROM token_class_usage WHERE run_id IN %RUNS% GROUP BY run_id, token_class
                """).ToLookup(r => (string)r[0]!, r => ((string)r[1]!, Convert.ToInt64(r[2]), D(r[3]) ?? double.NaN)),
        };
    }

    /// <summary>Each run of a configuration with the baseline run on the same base and seed.</summary>
    public IEnumerable<(RunEvidence Run, RunEvidence Baseline)> Pairs(IEnumerable<RunEvidence> config) =>
        config.Select(r => (r, Runs.FirstOrDefault(b => b.IsBaseline && b.BaseHash == r.BaseHash && b.Seed == r.Seed)))
            .Where(p => p.Item2 != null).Select(p => (p.r, p.Item2!));

    /// <summary>Per pair, the item-by-item differences (run − baseline) of a measure over the items both scored.
    /// </summary>
    public List<double[]> Differences(IEnumerable<(RunEvidence Run, RunEvidence Baseline)> pairs,
        Func<ItemEvidence, bool> which, Func<ItemEvidence, double> measure) => pairs.Select(p =>
    {
        var baseline = Items[p.Baseline.RunId].Where(which).ToDictionary(i => i.Key);
        return Items[p.Run.RunId].Where(which).Where(i => baseline.ContainsKey(i.Key))
            .Select(i => measure(i) - measure(baseline[i.Key])).Where(double.IsFinite).ToArray();
    }).ToList();
}
