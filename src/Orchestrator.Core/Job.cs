namespace Orchestrator.Core;

/// <summary>The three kinds of job in a sweep's graph: pretrain a base (shared by every run that agrees
/// on model, data, pretraining and seed) → fine-tune it with a router configuration → evaluate a run.</summary>
public enum JobKind { Pretrain, Finetune, Evaluate }

/// <summary>A job's lifecycle as the database records it (table `jobs`, column `state`). A running job
/// whose lease has expired belongs to an orchestrator that died: see <see cref="JobStatus.IsStale"/>.</summary>
public enum JobState { Pending, Running, Completed, Failed, Skipped }

/// <summary>A job's identity: its kind and the hash (base, fine-tune) or run id it produces. <see cref="Id"/>
/// is its name in `jobs.job_id`, `metrics.job_id` and `events.job_id`: 'base:…', 'finetune:…' or the
/// run id.</summary>
public readonly record struct JobKey(JobKind Kind, string Subject)
{
    public string Id => Kind switch
    {
        JobKind.Pretrain => "base:" + Subject,
        JobKind.Finetune => "finetune:" + Subject,
        _ => Subject,
    };

    public static JobKey Base(string hash) => new(JobKind.Pretrain, hash);
    public static JobKey Finetune(string hash) => new(JobKind.Finetune, hash);
    public static JobKey Evaluate(string runId) => new(JobKind.Evaluate, runId);

    /// <summary>The job's folder name under results/jobs/: base-…, finetune-… or the run id.</summary>
    public string Folder => Id.Replace(':', '-');

    public override string ToString() => Id;
}

/// <summary>A job's state with what the lease says about its owner.</summary>
public readonly record struct JobStatus(JobState State, bool LeaseExpired = false)
{
    /// <summary>Running under an orchestrator that stopped renewing its lease (killed, powered off).</summary>
    public bool IsStale => State == JobState.Running && LeaseExpired;

    public static readonly JobStatus Pending = new(JobState.Pending);
}

/// <summary>The words the database and the worker protocol use for kinds and states: converted here
/// only, at the boundary.</summary>
public static class JobWords
{
    public static string Word(this JobKind kind) => kind switch
    {
        JobKind.Pretrain => "pretrain",
        JobKind.Finetune => "finetune",
        _ => "evaluate",
    };

    public static JobKind ParseKind(string word) => word switch
    {
        "pretrain" => JobKind.Pretrain,
        "finetune" => JobKind.Finetune,
        "evaluate" => JobKind.Evaluate,
        _ => throw new InvalidDataException($"unknown job kind '{word}' (expected pretrain, finetune or evaluate)"),
    };

    public static string Word(this JobState state) => state switch
    {
        JobState.Pending => "pending",
        JobState.Running => "running",
        JobState.Completed => "completed",
        JobState.Failed => "failed",
        _ => "skipped",
    };

    public static JobState ParseState(string word) => word switch
    {
        "pending" => JobState.Pending,
        "running" => JobState.Running,
        "completed" => JobState.Completed,
        "failed" => JobState.Failed,
        "skipped" => JobState.Skipped,
        _ => throw new InvalidDataException($"unknown job state '{word}'"),
    };

    /// <summary>What `make status` and `make plan` print: the state, or 'stale' for an orphaned lease.</summary>
    public static string Word(this JobStatus status) => status.IsStale ? "stale" : status.State.Word();
}
