using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Cli;

/// <summary>`make plan`: the expanded runs — hash, status from the database, whether their fine-tuned
/// model is stored or must be trained, the swept values — and counts.</summary>
public static class PlanPrinter
{
    public static string Status(string? stored) => stored switch
    {
        null or "pending" => "new",
        "completed" => "done",
        "stale" => "stale (will re-run)",
        var s => s,
    };

    public static void Print(ExperimentSpec spec, IReadOnlyDictionary<string, string> statuses, TextWriter o,
        IReadOnlyDictionary<string, string>? finetunes = null)
    {
        finetunes ??= new Dictionary<string, string>();
        string Model(PlannedRun r) => finetunes.GetValueOrDefault(RunConfig.FinetuneHash(r.Config)) switch
        {
            "completed" => "stored",
            "running" => "training",
            _ => "to train",
        };
        o.WriteLine($"sweep {spec.Name}: {spec.Runs.Count} runs" + (spec.Duplicates > 0 ? $" ({spec.Duplicates} duplicate configurations merged)" : ""));
        // Columns: the keys whose value differs between runs (router.type always).
        var axes = spec.SweptKeys.Where(k => k == "router.type" || spec.Runs.Select(r => r.Axes.GetValueOrDefault(k)).Distinct().Count() > 1).ToList();
        var cols = new List<string> { "hash", "status", "fine-tuned model" };
        cols.AddRange(axes);
        var rows = spec.Runs.Select(r => new object?[] { r.ConfigHash, Status(statuses.GetValueOrDefault(r.ConfigHash)), Model(r) }
            .Concat(axes.Select(a => (object?)r.Axes.GetValueOrDefault(a, "–"))).ToArray()).ToList();
        TableWriter.Write(new QueryResult(cols, rows), "table", o);
        o.WriteLine("counts: " + string.Join(", ", rows.GroupBy(r => (string)r[1]!).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}")));
        // Jobs: each distinct fine-tune once; runs that differ only in eval.* settings share one.
        var pending = spec.Runs.Where(r => Status(statuses.GetValueOrDefault(r.ConfigHash)) is not ("done" or "failed" or "running")).ToList();
        var toTrain = pending.Select(r => RunConfig.FinetuneHash(r.Config)).Distinct().Count(h => finetunes.GetValueOrDefault(h) != "completed");
        o.WriteLine($"jobs: {toTrain} fine-tune(s) to train, {pending.Count} evaluation(s) to run" +
                    (pending.Count > toTrain ? $" ({pending.Count - toTrain} from stored fine-tuned models)" : ""));
    }
}
