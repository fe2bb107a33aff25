namespace Orchestrator.Results;

/// <summary>The three kinds of job in a sweep's graph: pretrain a base (shared by every run that agrees
/// on model, data, pretraining and seed) → fine-tune it with a router configuration → evaluate.</summary>
public enum JobKind { Pretrain = 0, Finetune = 1, Evaluate = 2 }   // the numbers are used in SQL (ActiveExecutorIds)

/// <summary>How jobs are named in `metrics.job_id` and `events.job_id`, and in bundles.</summary>
public static class JobIds
{
    public static string Of(JobKind kind, string id) => kind switch
    {
        JobKind.Pretrain => "base:" + id,
        JobKind.Finetune => "finetune:" + id,
        _ => id,
    };

    /// <summary>The bundle's `kind` word (`run` is what bundles written before the split said for evaluate).</summary>
    public static string Word(JobKind kind) => kind switch { JobKind.Pretrain => "pretrain", JobKind.Finetune => "finetune", _ => "evaluate" };

    public static JobKind KindOf(string word) => word switch
    {
        "pretrain" => JobKind.Pretrain,
        "finetune" => JobKind.Finetune,
        "evaluate" or "run" => JobKind.Evaluate,
        _ => throw new InvalidDataException($"unknown job kind '{word}' (expected pretrain, finetune or evaluate)"),
    };
}
