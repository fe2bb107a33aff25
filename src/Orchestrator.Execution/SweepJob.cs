using Orchestrator.Results;

namespace Orchestrator.Execution;

/// <summary>One node of a sweep's job graph (pretrain, fine-tune or evaluate) as the runner follows it.</summary>
public sealed class SweepJob
{
    public required JobSpec Spec { get; set; }
    public SweepJob? DependsOn { get; init; }
    /// <summary>waiting, running (started or submitted), done, failed, skipped, interrupted (ended without
    /// a result: cancelled, timed out, preempted; re-run on resume), or external (held by another
    /// orchestrator, followed through the database).</summary>
    public string State { get; set; } = "waiting";
    public string? Reason { get; set; }
    public JobKind Kind => Spec.JobKind;
    public string Label { get; init; } = "";
    /// <summary>The last `progress` line of the worker (phase, step, loss, wall time).</summary>
    public string? LastProgress { get; set; }
    /// <summary>The executor's name for the job while it runs: "local:PID" or "slurm:JOBID_TASK".</summary>
    public string? ExecutorId { get; set; }
    public DateTime StartedAt { get; set; }
    public string Directory => Path.GetDirectoryName(Spec.BundlePath)!;
}

public enum JobEndKind { Succeeded, Failed, Interrupted }

/// <summary>Where jobs were to run cannot take them (no SLURM controller, sbatch refused, CUDA asked for
/// but absent): the sweep stops with this message, and the jobs it had claimed are given back.</summary>
public sealed class ExecutorUnavailableException(string message) : InvalidOperationException(message);

/// <summary>How a job ended: with a bundle (Succeeded), with an error of its own (Failed: exit code or
/// signal, reason, stderr tail), or without a result through no fault of its own (Interrupted).</summary>
public sealed record JobEnd(SweepJob Job, JobEndKind Kind, int? ExitCode = null, string Reason = "", string StderrTail = "");

/// <summary>Where jobs run (Hydra's launcher side): the local device pool or a SLURM cluster. The runner
/// owns the graph, the database and the leases; an executor only starts jobs and reports how they end.
/// Workers never write the database: each writes a bundle that the runner ingests, exactly once.</summary>
public interface IJobExecutor : IDisposable
{
    string Description { get; }

    /// <summary>True when a job may be handed over before its dependency has finished (SLURM waits on
    /// it with --dependency); false when dependencies must be done first (local pool).</summary>
    bool WaitsOnDependencies { get; }

    /// <summary>How many more jobs it can take now (free slots; unbounded for a cluster queue).</summary>
    int Capacity { get; }

    /// <summary>Starts or submits as many of the ready jobs as it can (each job's folder holds job.json);
    /// returns those it took, with their ExecutorId set.</summary>
    IReadOnlyList<SweepJob> Start(IReadOnlyList<SweepJob> ready);

    /// <summary>Jobs that have ended since the last call.</summary>
    IReadOnlyList<JobEnd> Poll();

    /// <summary>Stops a started job (its result, if any, is discarded by the runner).</summary>
    void Cancel(SweepJob job);

    /// <summary>Follows a job that an earlier orchestrator started and that is still queued or running
    /// there (or has ended with its result on disk); false if nothing is left of it.</summary>
    bool TryAdopt(SweepJob job, string executorId);
}
