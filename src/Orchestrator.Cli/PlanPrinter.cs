using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Cli;

/// <summary>`make plan`: the expanded runs — hash, status from the database, whether their fine-tuned
/// model is stored or must be trained, the swept values —, counts, and the job graph a sweep would run
/// (built exactly as `make sweep` builds it, from the same options).</summary>
public static class PlanPrinter
{
    public static string Status(JobStatus status) => status.IsStale ? "stale (will re-run)" : status.State switch
    {
        JobState.Pending => "new",
        JobState.Completed => "done",
        var s => s.Word(),
    };

    public static void Print(ExperimentSpec spec, IJobLookup lookup, GraphOptions options, string format, TextWriter o)
    {
        var graph = JobGraph.Build(spec, lookup, options);
        string Model(PlannedRun r) => lookup.Status(JobKey.Finetune(r.FinetuneHash)) switch
        {
            { IsStale: false, State: JobState.Running } => "training",
            _ when lookup.Intact(JobKey.Finetune(r.FinetuneHash)) => "stored",
            _ => "to train",
        };
        var header = $"sweep {spec.Name}: {spec.Runs.Count} runs" +
                     (spec.Duplicates > 0 ? $" ({spec.Duplicates} duplicate configurations merged)" : "");
        // Columns: the keys whose value differs between runs (router.type always).
        var axes = spec.SweptKeys.Where(k => k == "router.type" ||
                                             spec.Runs.Select(r
                                                 => r.Axes.GetValueOrDefault(k)).Distinct().Count() > 1).ToList();
        var cols = new List<string> { "hash", "status", "fine-tuned model" };
        cols.AddRange(axes);
        var rows = spec.Runs.Select(r =>
            new object?[] { r.ConfigHash, Status(lookup.Status(JobKey.Evaluate(r.ConfigHash))), Model(r) }
                .Concat(axes.Select(a => (object?)r.Axes.GetValueOrDefault(a, "–"))).ToArray()).ToList();
        // csv and json are the rows alone, for programs; the table adds the counts and the job graph.
        if (format != "table")
        {
            TableWriter.Write(new QueryResult(cols, rows), format, o);
            return;
        }
        o.WriteLine(header);
        TableWriter.Write(new QueryResult(cols, rows), "table", o);
        o.WriteLine("counts: " + string.Join(", ", rows.GroupBy(r => (string)r[1]!).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} {g.Key}")));
        o.WriteLine(graph.Describe());
    }
}
