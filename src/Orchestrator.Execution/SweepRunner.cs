using Orchestrator.Results;

namespace Orchestrator.Execution;

/// <param name="Reevaluate">re-run the evaluation of finished runs, reusing their bases and fine-tuned models</param>
/// <param name="Executor">local or slurm (overrides the spec's execution.executor)</param>
public sealed record SweepOptions(bool RetryFailed = false, bool Force = false, string? Devices = null,
    int? JobsPerDevice = null, int? MaxJobs = null, double LeaseSeconds = 60, string? WorkerCommand = null,
    bool Reevaluate = false, string? Executor = null)
{
    public GraphOptions Graph => new(RetryFailed, Force, Reevaluate);
}

/// <param name="ByOthers">runs that another orchestrator on the same database finished while this sweep followed
/// them</param>
public sealed record SweepSummary(int Completed, int Failed, int Skipped, int AlreadyDone, int Ran,
    IReadOnlyList<string> Failures, int Interrupted = 0, int ByOthers = 0)
{
    public int ExitCode => Failed > 0 || Skipped > 0 || Interrupted > 0 ? 1 : 0;
}

/// <summary>Runs a sweep (Hydra's sweeper side): registers it, builds its <see cref="JobGraph"/> once, and
/// walks it on an executor (the local device pool or SLURM) — claiming each job with a lease, handing
/// tickets over, ingesting results, propagating failures — so that a sweep interrupted in any way resumes
/// without redoing or losing finished work. The runner is the only writer of the database.</summary>
public sealed class SweepRunner(ResultStore store, TextWriter output, bool? live = null)
{
    readonly StatusView view = new(output, live);
    readonly string owner = LeaseOwner.Current.ToString();
    readonly List<string> failures = [];
    int completed, failed, skipped, interrupted, byOthers;
    /// <summary>The result contracts being built in the background (Protocol.PrepareResultContracts).</summary>
    Task? resultContracts;

    /// <summary>Set when a job met a full disk: the sweep stops (DiskFull.cs).</summary>
    string? diskFull;

    public SweepSummary Run(ExperimentSpec spec, SweepOptions opt) => Run(spec, opt, () => CreateExecutor(spec, opt));

    /// <summary>Runs the sweep on the given executor (created only if there is work to do).</summary>
    public SweepSummary Run(ExperimentSpec spec, SweepOptions opt, Func<IJobExecutor> createExecutor)
    {
        if (!(opt.LeaseSeconds >= 1))
            throw new ArgumentOutOfRangeException(nameof(opt),
                $"lease time must be at least 1 s, got {opt.LeaseSeconds}");
        // A local pool is made first and starts a worker at once: the process start (~0.4 s: runtime, libtorch)
        // overlaps the checks and the planning below instead of following them. A cluster's executor is made only
        // when there is work (making it asks the cluster).
        bool local = (opt.Executor ?? spec.Execution.Executor) == "local";
        using var early = local ? createExecutor() : null;
        early?.Anticipate(1);
        // Every data file is checked before anything is written or started.
        Training.Data.DataCheck.Verify(spec.Runs.Select(r => r.Typed));
        CheckpointCheck.Verify(store, spec);
        var newRuns = store.RegisterSweep(spec);
        var graph = JobGraph.Build(spec, new StoreLookup(store, spec.Runs), opt.Graph);
        view.Say($"sweep {spec.Name}: {spec.Runs.Count} runs — {newRuns.Count} new, " +
                 $"{graph.AlreadyDone} already done" +
                 (spec.Duplicates > 0 ? $", {spec.Duplicates} duplicate configurations computed once" : ""));
        if (graph.Nodes.Count == 0)
        {
            view.Say("nothing to run: every run is already done" +
                     (opt.RetryFailed ? "" : " (use --retry-failed to re-run failed runs)"));
            return new SweepSummary(0, 0, 0, graph.AlreadyDone, 0, []);
        }
        view.Say(graph.Describe());
        using var made = early is null ? createExecutor() : null;
        var executor = early ?? made!;
        view.Say($"executor: {executor.Description}");
        Execute(graph, executor, opt);
        view.Finish();
        view.Say($"summary: {completed} completed, {failed} failed, {skipped} skipped, {graph.AlreadyDone} already " +
            $"done" + (byOthers > 0 ? $", {byOthers} done by another orchestrator" : "") +
                 (interrupted > 0 ? $", {interrupted} interrupted (run `make sweep` again to resume)" : ""));
        foreach (var f in failures) view.Say("  failed: " + f);
        return new SweepSummary(completed, failed, skipped, graph.AlreadyDone, completed + failed, failures,
            interrupted, byOthers);
    }

    IJobExecutor CreateExecutor(ExperimentSpec spec, SweepOptions opt)
    {
        var kind = opt.Executor ?? spec.Execution.Executor;
        if (kind == "slurm") return new SlurmExecutor(spec.Name, spec.Execution.SlurmOrDefault, opt.WorkerCommand);
        if (kind != "local") throw new ArgumentException($"unknown executor '{kind}' (allowed: local, slurm)");
        var pool = new DevicePool(opt.Devices ?? spec.Execution.Devices,
            opt.JobsPerDevice ?? spec.Execution.JobsPerDevice,
            opt.MaxJobs ?? spec.Execution.MaxJobs, spec.Execution.CpuFallback,
            modelWidth: spec.Runs.Select(r => r.Typed.Model.DModel).DefaultIfEmpty(0).Max());
        foreach (var w in pool.Warnings) view.Say("warning: " + w);
        return new LocalExecutor(pool, opt.WorkerCommand, spec.Execution.StaggerSeconds, spec.Execution.ReuseWorkers);
    }

    void Execute(JobGraph graph, IJobExecutor executor, SweepOptions opt)
    {
        var heartbeat = System.Diagnostics.Stopwatch.StartNew();
        while (graph.Active)
        {
            foreach (var node in graph.Blocked().ToList()) Propagate(node, executor);
            Start(graph, executor, opt);
            executor.Anticipate(graph.Nodes.Count(n => n.State == NodeState.Waiting));
            foreach (var node in graph.Nodes.Where(n => n.State == NodeState.External)) Follow(node);
            foreach (var e in executor.Poll()) Handle(graph, e);
            if (diskFull != null) StopForFullDisk(graph, executor);
            view.Show(graph);
            if (heartbeat.Elapsed.TotalSeconds > opt.LeaseSeconds / 4)
            {
                store.Jobs.Heartbeat(graph.Nodes.Where(n => n.State == NodeState.Running).Select(n => n.Key), owner,
                    opt.LeaseSeconds);
                heartbeat.Restart();
            }
            if (graph.Nodes.Any(n => n.State is NodeState.Running or NodeState.External))
                executor.Wait(TimeSpan.FromMilliseconds(200));
            else if (graph.Stuck) throw new InvalidOperationException("job graph is stuck: waiting jobs with no " +
                "runnable dependency");
        }
    }

    /// <summary>Every other job would meet the full disk too: the running ones are stopped and given back
    /// (interrupted, so that a plain resume runs them), and the sweep ends with one line saying what to do.</summary>
    void StopForFullDisk(JobGraph graph, IJobExecutor executor)
    {
        foreach (var node in graph.Nodes.Where(n => n.State == NodeState.Running))
        {
            executor.Cancel(node.Key);
            store.Jobs.Release(node.Key, owner, "stopped: the disk is full");
            node.State = NodeState.Interrupted;
        }
        view.Finish();
        throw new DiskFullException(diskFull!);
    }

    /// <summary>A dependency did not finish: a failed base or an interrupted job skips its dependents; a
    /// failed fine-tune fails the runs it belongs to, with its reason. Dependents already handed to the
    /// executor are cancelled there.</summary>
    void Propagate(JobNode node, IJobExecutor executor)
    {
        if (node.State == NodeState.Running) executor.Cancel(node.Key);
        var dep = node.DependsOn!;
        if (dep.Kind == JobKind.Finetune && dep.State == NodeState.Failed)
        {
            node.State = NodeState.Failed;
            node.Reason = "fine-tune: " + dep.Reason;
            store.Jobs.FailWith(node.Key, dep.Key, owner);
            failed++;
            failures.Add($"{node.Label} [{node.Key.Subject}]: {node.Reason}");
            view.Say($"FAIL  {node.Label}: its fine-tune failed");
            return;
        }
        node.State = NodeState.Skipped;
        node.Reason = dep.State switch
        {
            NodeState.Skipped => dep.Reason,
            NodeState.Interrupted =>
                $"{dep.Kind.Word()} {dep.Key.Subject} was interrupted ({dep.Reason}); `make sweep` again re-runs it",
            _ => $"base {dep.Key.Subject} failed",
        };
        if (node.Kind == JobKind.Evaluate) skipped++;
        store.Jobs.Skip(node.Key, node.Reason!, owner);
        view.Say($"skip  {node.Label}: {node.Reason}");
    }

    /// <summary>Claims the ready jobs and hands them over; a job another orchestrator holds is followed.</summary>
    void Start(JobGraph graph, IJobExecutor executor, SweepOptions opt)
    {
        var ready = new List<JobNode>();
        foreach (var node in graph.Ready(executor.WaitsOnDependencies).ToList())
        {
            if (ready.Count >= executor.Capacity) break;
            // Only a job whose orchestrator died (running, lease expired) may still be queued somewhere;
            // a finished, failed or released one is computed again when claimed (--force, --reevaluate, …).
            var previous = store.Jobs.Status(node.Key).IsStale ? store.Jobs.ExecutorId(node.Key) : null;
            if (!Claim(node, opt))
            {
                node.State = NodeState.External;
                view.Say($"wait  {node.Label}: held by another orchestrator");
                continue;
            }
            node.Ticket = WithInputSha(node.Ticket);
            if (previous != null && executor.TryAdopt(node.Ticket, previous))
            {
                Running(node, previous);
                store.Jobs.Adopt(node.Key, owner, previous);
                view.Say($"adopt {node.Label} [{node.Key.Subject}] as {previous}");
                continue;
            }
            if (File.Exists(node.Ticket.ResultPath)) File.Delete(node.Ticket.ResultPath);
            ready.Add(node);
        }
        if (ready.Count == 0) return;
        IReadOnlyList<Launched> started;
        var launches = ready.Select(n => new Launch(n.Ticket,
            n.DependsOn is { State: NodeState.Running } d ? d.Key : null));
        try { started = executor.Start(launches.ToList()); }
        catch (ExecutorUnavailableException)
        {
            foreach (var n in ready) store.Jobs.Release(n.Key, owner, null);   // nothing started: give the claims back
            throw;
        }
        var byKey = started.ToDictionary(s => s.Key);
        foreach (var node in ready)
        {
            if (!byKey.TryGetValue(node.Key, out var s))
            {
                // not taken after all: claimed again later
                store.Jobs.Release(node.Key, owner, null);
                continue;
            }
            Running(node, s.ExecutorId);
            store.Jobs.SetExecutorId(node.Key, s.ExecutorId);
            view.Say($"start {node.Label} [{node.Key.Subject}] on {s.Device} ({s.ExecutorId})");
        }
    }

    static void Running(JobNode node, string executorId)
    {
        node.State = NodeState.Running;
        node.StartedAt = DateTime.UtcNow;
        node.ExecutorId = executorId;
    }

    /// <summary>The sha256 the database recorded for the job's input checkpoint; null while the job that
    /// writes it is still queued (SLURM): then the worker checks the manifest written beside it.</summary>
    JobTicket WithInputSha(JobTicket t)
    {
        if (t.Input is not { } input) return t;
        var model = t.Kind == JobKind.Finetune ? JobKey.Base(input.Hash) : JobKey.Finetune(input.Hash);
        var sha = store.Jobs.Status(model).State == JobState.Completed ? store.Model(model).Sha256 : null;
        return t with { Input = input with { Sha256 = sha } };
    }

    /// <summary>Bases and fine-tunes are always retried when a wanted run needs them (a finished one is
    /// claimed again when the graph found its checkpoint missing); an evaluation follows --retry-failed,
    /// and --force or --reevaluate re-run a finished one.</summary>
    bool Claim(JobNode node, SweepOptions opt) => node.Kind == JobKind.Evaluate
        ? store.Jobs.TryClaim(node.Key, owner, opt.LeaseSeconds, opt.RetryFailed, opt.Force || opt.Reevaluate)
        : store.Jobs.TryClaim(node.Key, owner, opt.LeaseSeconds, retryFailed: true,
            force: opt.Force || (store.Jobs.Status(node.Key).State == JobState.Completed && !store.Intact(node.Key)));

    /// <summary>A job held by another orchestrator, followed through the database; taken over if its lease runs
    /// out.</summary>
    void Follow(JobNode node)
    {
        var status = store.Jobs.Status(node.Key);
        switch (status.State)
        {
            case JobState.Completed:
                node.State = NodeState.Done;
                if (node.Kind == JobKind.Evaluate) byOthers++;          // a run: the summary accounts for every one
                view.Say($"done  {node.Label} (by another orchestrator)");
                break;
            case JobState.Failed:
                node.State = NodeState.Failed;
                node.Reason = store.Jobs.Error(node.Key) ?? "failed under another orchestrator";
                if (node.Kind == JobKind.Finetune) break;
                failed++;
                failures.Add($"{node.Label} [{node.Key.Subject}]: failed under another orchestrator");
                break;
            case JobState.Running when !status.IsStale: break;
            default: node.State = NodeState.Waiting; break;       // stale lease or released: claim it ourselves
        }
    }

    void Handle(JobGraph graph, ExecutorEvent e)
    {
        var node = graph.Nodes.FirstOrDefault(n => n.Key == e.Key);
        if (node is not { State: NodeState.Running }) return;       // cancelled above: its end is not news
        switch (e)
        {
            case JobProgressed p:
                node.Progress = p.Message;
                // Once the first job computes (its start-up is over): its result is read sooner when it ends.
                resultContracts ??= Task.Run(Protocol.PrepareResultContracts);
                break;
            case JobStarted: node.StartedAt = DateTime.UtcNow; break;
            case JobEnded end: Ended(node, end); break;
        }
    }

    /// <summary>A job ended: its result ingested (exactly once), or its failure or interruption recorded.</summary>
    void Ended(JobNode node, JobEnded end)
    {
        // Ended because its dependency did not finish (SLURM cancels such jobs itself): handled with the
        // dependents, on the next round.
        if (end.Kind != JobEndKind.Succeeded && node.DependsOn is { Ended: true }) return;
        // Dropped while its dependency still runs (SLURM cancels a queued job with the job it waits on, and the
        // two ends may be seen in either order): it never ran. It waits again — skipped if its dependency ends
        // without a result, handed over again if it finishes.
        if (end.Kind == JobEndKind.Interrupted && node.DependsOn is { State: NodeState.Running })
        {
            store.Jobs.Release(node.Key, owner, null);
            node.State = NodeState.Waiting;
            node.DroppedWithDependency = true;
            return;
        }
        var took = (DateTime.UtcNow - node.StartedAt).TotalSeconds;
        switch (end.Kind)
        {
            case JobEndKind.Succeeded:
                JobResult result;
                try { result = JobResult.Load(node.Ticket.ResultPath); }
                catch (Exception e) when (e is InvalidDataException or IOException)
                {
                    // A damaged or vanished result fails this job only; the sweep goes on.
                    Ended(node, end with { Kind = JobEndKind.Failed, Reason = "result unusable: " + e.Message });
                    return;
                }
                store.Ingest(result);
                node.State = NodeState.Done;
                if (node.Kind == JobKind.Evaluate) completed++;
                view.Say($"done  {node.Label} in {took:F0}s");
                break;
            case JobEndKind.Failed when DiskFull.Describes(end.Reason):
                diskFull ??= end.Reason;        // not the job's fault: interrupted, and the sweep stops
                Ended(node, end with { Kind = JobEndKind.Interrupted });
                break;
            case JobEndKind.Failed:
                store.Jobs.Fail(node.Key, end.Reason, end.ExitCode, end.StderrTail);
                node.State = NodeState.Failed;
                node.Reason = end.Reason;
                // A failed fine-tune is counted and listed through the runs it fails.
                if (node.Kind != JobKind.Finetune)
                {
                    failed++;
                    failures.Add($"{node.Label} [{node.Key.Subject}]: {end.Reason}");
                }
                view.Say($"FAIL  {node.Label}: {end.Reason}");
                break;
            default:
                store.Jobs.Release(node.Key, owner, end.Reason);
                node.State = NodeState.Interrupted;
                node.Reason = end.Reason;
                interrupted++;
                view.Say($"STOP  {node.Label}: {end.Reason}; `make sweep` again re-runs it");
                break;
        }
    }
}
