using Orchestrator.Results;

namespace Orchestrator.Execution;

/// <summary>The graph's view of the results store: every job status of a sweep read in one pass.</summary>
public sealed class StoreLookup(ResultStore? store, IEnumerable<PlannedRun> runs) : IJobLookup
{
    readonly Dictionary<JobKey, JobStatus> statuses = store?.Jobs.Statuses(runs.SelectMany(r => new[]
        { JobKey.Evaluate(r.ConfigHash), JobKey.Finetune(r.FinetuneHash), JobKey.Base(r.BaseHash) })) ?? [];

    /// <summary>Without a database (a plan before the first sweep): nothing is known, everything is new.</summary>
    public static StoreLookup Empty { get; } = new(null, []);

    public JobStatus Status(JobKey key) => statuses.GetValueOrDefault(key, JobStatus.Pending);

    public bool Intact(JobKey model) => store != null && Status(model).State == JobState.Completed
        && store.Intact(model);
}
