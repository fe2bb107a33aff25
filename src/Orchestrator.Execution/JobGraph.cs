
namespace Orchestrator.Execution;

/// <summary>Where a node of the graph is, as the runner follows it: Waiting for its dependency or a slot;
/// Running (started or submitted); Done; Failed; Skipped (a dependency did not finish); Interrupted
/// (ended without a result through no fault of its own: re-run on resume); External (held by another
/// orchestrator, followed through the database).</summary>
public enum NodeState { Waiting, Running, Done, Failed, Skipped, Interrupted, External }

/// <summary>One job of the graph: its ticket (immutable; replaced, never edited), what it waits on, and
/// where it is. Only the runner changes a node; executors see tickets.</summary>
public sealed class JobNode(JobTicket ticket, JobNode? dependsOn, string label)
{
    public JobTicket Ticket { get; internal set; } = ticket;
    public JobKey Key => Ticket.Key;
    public JobKind Kind => Ticket.Kind;
    public JobNode? DependsOn { get; } = dependsOn;
    public string Label { get; } = label;
    public NodeState State { get; internal set; } = NodeState.Waiting;
    public string? Reason { get; internal set; }
    public string? ExecutorId { get; internal set; }
    public WorkerMessage? Progress { get; internal set; }
    public DateTime StartedAt { get; internal set; }
    /// <summary>Handed over early and dropped before its dependency ended (SLURM cancels a job whose dependency
    /// is cancelled): it never ran, and waits for its dependency to finish before it is handed over again.</summary>
    public bool DroppedWithDependency { get; internal set; }

    /// <summary>Ended without its result: its dependents cannot run.</summary>
    public bool Ended => State is NodeState.Failed or NodeState.Skipped or NodeState.Interrupted;
}

/// <summary>What the graph needs to know of earlier work: each job's status, and whether a finished
/// model's checkpoint is still there.</summary>
public interface IJobLookup
{
    JobStatus Status(JobKey key);
    /// <summary>A completed base or fine-tune whose checkpoint is present (its sha256 is checked by the job that reads
    /// it).</summary>
    bool Intact(JobKey model);
}

/// <param name="Reevaluate">evaluate finished runs again from their stored fine-tuned models</param>
public sealed record GraphOptions(bool RetryFailed = false, bool Force = false, bool Reevaluate = false);

/// <summary>A sweep's job graph — pretrain each distinct base once → fine-tune each distinct router
/// configuration on it once → evaluate every run — built once from the planned runs and what the store
/// already holds. It answers which jobs are ready, propagates a job's failure to its dependents, and
/// describes itself (`make plan`). The runner walks it; executors never see it.</summary>
public sealed class JobGraph
{
    readonly List<JobNode> nodes = [];
    public IReadOnlyList<JobNode> Nodes => nodes;
    /// <summary>Runs not wanted: finished (or failed, without --retry-failed).</summary>
    public int AlreadyDone { get; private set; }
    /// <summary>Evaluations that read a fine-tuned model stored by an earlier sweep.</summary>
    public int FromStoredModels { get; private set; }

    public static JobGraph Build(ExperimentSpec spec, IJobLookup lookup, GraphOptions opt)
    {
        var graph = new JobGraph();
        var bases = new Dictionary<string, JobNode?>();
        var finetunes = new Dictionary<string, JobNode?>();
        foreach (var run in spec.Runs)
        {
            var status = lookup.Status(JobKey.Evaluate(run.ConfigHash));
            bool wanted = opt.Force || status.State is JobState.Pending or JobState.Skipped or JobState.Running
                          || (status.State == JobState.Failed && opt.RetryFailed)
                          || (status.State == JobState.Completed && opt.Reevaluate);
            if (!wanted) { graph.AlreadyDone++; continue; }
            if (!finetunes.TryGetValue(run.FinetuneHash, out var finetune))
                finetunes[run.FinetuneHash] = finetune = graph.PlanFinetune(run, spec, lookup, opt, bases);
            if (finetune == null) graph.FromStoredModels++;
            var input = new ModelInput(run.FinetuneHash, Path.Combine(Paths.Finetunes, run.FinetuneHash, "model.bin"),
                null);
            graph.Add(new JobNode(Ticket(JobKey.Evaluate(run.ConfigHash), run, spec, input, null), finetune,
                "eval " + run.Label), lookup);
        }
        return graph;
    }

    /// <summary>A fine-tuning node (after its base's, if that must run too), or null when the fine-tune is
    /// finished and its checkpoint intact: then its base is not needed at all.</summary>
    JobNode? PlanFinetune(PlannedRun run, ExperimentSpec spec, IJobLookup lookup, GraphOptions opt,
        Dictionary<string, JobNode?> bases)
    {
        var key = JobKey.Finetune(run.FinetuneHash);
        if (!opt.Force && lookup.Intact(key)) return null;
        if (!bases.TryGetValue(run.BaseHash, out var pretrain))
        {
            var baseKey = JobKey.Base(run.BaseHash);
            bases[run.BaseHash] = pretrain = !opt.Force && lookup.Intact(baseKey) ? null
                : Add(new JobNode(Ticket(baseKey, run, spec, null, Path.Combine(Paths.Checkpoints, run.BaseHash)), null,
                    $"pretrain base {run.BaseHash}"), lookup);
        }
        var input = new ModelInput(run.BaseHash, Path.Combine(Paths.Checkpoints, run.BaseHash, "model.bin"), null);
        return Add(new JobNode(Ticket(key, run, spec, input, Path.Combine(Paths.Finetunes, run.FinetuneHash)), pretrain,
            "finetune " + run.Label), lookup);
    }

    /// <summary>A job another orchestrator holds (running, lease alive) starts External: followed, not
    /// claimed.</summary>
    JobNode Add(JobNode node, IJobLookup lookup)
    {
        if (lookup.Status(node.Key) is { State: JobState.Running, IsStale: false }) node.State = NodeState.External;
        nodes.Add(node);
        return node;
    }

    static JobTicket Ticket(JobKey key, PlannedRun run, ExperimentSpec spec, ModelInput? input, string? output) =>
        new(key.Kind, key.Subject, run.CanonicalJson, Path.Combine(Paths.Jobs, key.Folder), input, output, spec.Path,
            Environment.CommandLine);

    /// <summary>Anything still to follow: waiting, running, or held by another orchestrator.</summary>
    public bool Active => nodes.Any(n => n.State is NodeState.Waiting or NodeState.Running or NodeState.External);

    /// <summary>Waiting nodes whose dependency is done — or, for an executor that waits on dependencies
    /// itself (SLURM), handed over too.</summary>
    public IEnumerable<JobNode> Ready(bool handOverEarly) => nodes.Where(n => n.State == NodeState.Waiting &&
        (n.DependsOn == null || n.DependsOn.State == NodeState.Done ||
         (handOverEarly && n.DependsOn.State == NodeState.Running && !n.DroppedWithDependency)));

    /// <summary>Waiting or running nodes whose dependency ended without its result.</summary>
    public IEnumerable<JobNode> Blocked() => nodes.Where(n => n.State is NodeState.Waiting or NodeState.Running &&
                                                              n.DependsOn is { Ended: true });

    /// <summary>Nothing running, nothing held elsewhere, and no waiting node can ever start: a bug, not a
    /// state.</summary>
    public bool Stuck => !nodes.Any(n => n.State is NodeState.Running or NodeState.External) &&
                         nodes.Any(n => n.State == NodeState.Waiting) &&
                         !nodes.Any(n => n.State == NodeState.Waiting && (n.DependsOn == null ||
                                         n.DependsOn.State == NodeState.Done || n.DependsOn.Ended));

    public int Count(JobKind kind, NodeState state) => nodes.Count(n => n.Kind == kind && n.State == state);

    public int Count(NodeState state) => nodes.Count(n => n.State == state);

    /// <summary>"jobs: 1 base(s) to pretrain, 4 fine-tune(s) to train, 5 evaluation(s) to run (1 from stored
    /// fine-tuned models); 2 held by another orchestrator".</summary>
    public string Describe()
    {
        int held = Count(NodeState.External);
        return $"jobs: {Count(JobKind.Pretrain, NodeState.Waiting)} base(s) to pretrain, " +
               $"{Count(JobKind.Finetune, NodeState.Waiting)} fine-tune(s) to train, " +
               $"{Count(JobKind.Evaluate, NodeState.Waiting)} evaluation(s) to run" +
               (FromStoredModels > 0 ? $" ({FromStoredModels} from stored fine-tuned models)" : "") +
               (held > 0 ? $"; {held} held by another orchestrator (followed until they finish)" : "");
    }
}
