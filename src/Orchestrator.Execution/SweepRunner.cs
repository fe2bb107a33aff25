using System.Globalization;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Execution;

/// <param name="Reevaluate">re-run the evaluation of finished runs, reusing their bases and fine-tuned models</param>
/// <param name="Executor">local or slurm (overrides the spec's execution.executor)</param>
public sealed record SweepOptions(bool RetryFailed = false, bool Force = false, string? Devices = null, int? JobsPerDevice = null,
    int? MaxJobs = null, double LeaseSeconds = 60, string? WorkerCommand = null, bool Reevaluate = false, string? Executor = null);

public sealed record SweepSummary(int Completed, int Failed, int Skipped, int AlreadyDone, int Ran, IReadOnlyList<string> Failures,
    int Interrupted = 0)
{
    public int ExitCode => Failed > 0 || Skipped > 0 || Interrupted > 0 ? 1 : 0;
}

/// <summary>Runs a sweep's job graph — pretrain each distinct base once, fine-tune each distinct router
/// configuration on it once, evaluate every run — on an executor (the local device pool or SLURM), with
/// leases so that a sweep interrupted in any way resumes without redoing or losing finished work. The
/// runner is the only writer of the database: workers hand it bundles.</summary>
public sealed class SweepRunner(ResultStore store, TextWriter output, bool? live = null)
{
    // On a terminal, one status line redrawn in place; when output is redirected, timestamped lines.
    readonly bool liveView = live ?? (output == Console.Out && !Console.IsOutputRedirected);
    DateTime lastProgress = DateTime.MinValue;

    readonly string owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}"[..40];

    void Say(string line)
    {
        if (liveView) output.Write("\r\u001b[2K");
        output.WriteLine($"{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {line}");
    }

    /// <summary>Progress of the running jobs (step, loss, ETA from the worker's `progress` lines) and overall counts.</summary>
    void ShowProgress(List<SweepJob> jobs)
    {
        var now = DateTime.UtcNow;
        if ((now - lastProgress).TotalSeconds < (liveView ? 1 : 30)) return;
        lastProgress = now;
        string Part(SweepJob j)
        {
            var p = (j.LastProgress ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
            var text = $"{j.Label.Split(" {")[0]} {p.GetValueOrDefault("phase", j.LastProgress == null && j.ExecutorId?.StartsWith("slurm:") == true ? "queued" : "starting")}";
            var st = p.GetValueOrDefault("step");
            var of = p.GetValueOrDefault("of");
            if (st != null && of != null) text += $" {st}/{of}";
            if (p.TryGetValue("loss", out var loss)) text += $" loss {loss}";
            if (int.TryParse(st, out var step) && int.TryParse(of, out var total) && step > 0 &&
                double.TryParse(p.GetValueOrDefault("wall"), NumberStyles.Float, CultureInfo.InvariantCulture, out var wall))
                text += $" ETA {wall / step * (total - step):F0}s";
            return text;
        }
        var counts = $"{jobs.Count(j => j.State == "done")} done, {jobs.Count(j => j.State == "running")} running, " +
                     $"{jobs.Count(j => j.State == "failed")} failed, {jobs.Count(j => j.State is "waiting" or "external")} pending";
        var running = string.Join(" | ", jobs.Where(j => j.State == "running").Select(Part));
        if (liveView)
        {
            var line = $"[{counts}] {running}";
            int width = Console.IsOutputRedirected || Console.WindowWidth < 40 ? 160 : Console.WindowWidth - 1;
            output.Write("\r\u001b[2K" + (line.Length > width ? line[..width] : line));
        }
        else output.WriteLine($"{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} progress: {counts}; {running}");
    }

    public SweepSummary Run(ExperimentSpec spec, SweepOptions opt)
    {
        var newRuns = store.RegisterSweep(spec);
        var statuses = store.RunStatuses(spec.Runs.Select(r => r.ConfigHash));
        int done = spec.Runs.Count(r => statuses.GetValueOrDefault(r.ConfigHash) == "completed");
        Say($"sweep {spec.Name}: {spec.Runs.Count} runs — {newRuns.Count} new, {done} already done" +
            (spec.Duplicates > 0 ? $", {spec.Duplicates} duplicate configurations computed once" : ""));

        // Build the job graph: base → fine-tune → evaluate, each distinct base and fine-tune once.
        var jobs = new List<SweepJob>();
        var bases = new Dictionary<string, SweepJob?>();
        var finetunes = new Dictionary<string, SweepJob?>();
        int already = 0;
        foreach (var run in spec.Runs)
        {
            var status = statuses.GetValueOrDefault(run.ConfigHash, "pending");
            bool wanted = opt.Force || status is "pending" or "stale" or "skipped" || (status == "failed" && opt.RetryFailed)
                          || (status == "completed" && opt.Reevaluate);
            if (status == "running")
            {
                Say($"run {run.ConfigHash} is running under another orchestrator (lease held): not started here");
                continue;
            }
            if (!wanted) { already++; continue; }
            var ftHash = RunConfig.FinetuneHash(run.Config);
            if (!finetunes.TryGetValue(ftHash, out var ftJob))
            {
                ftJob = PlanFinetune(ftHash, run, spec, opt, bases, jobs);
                finetunes[ftHash] = ftJob;
                if (ftJob != null) jobs.Add(ftJob);
            }
            jobs.Add(new SweepJob
            {
                Spec = new JobSpec(JobIds.Word(JobKind.Evaluate), run.ConfigHash, run.CanonicalJson,
                    Path.Combine(Paths.Jobs, run.ConfigHash, "bundle.json"), ftHash, Path.Combine(Paths.Finetunes, ftHash, "model.bin"),
                    null, null, "cpu", 0, spec.Path, Environment.CommandLine),
                DependsOn = ftJob,
                Label = $"eval {run.Router} {RouterConfig.KnobsJson(run.Config)} seed={run.Seed}",
            });
        }
        if (jobs.Count == 0)
        {
            Say("nothing to run: every run is already done" + (opt.RetryFailed ? "" : " (use --retry-failed to re-run failed runs)"));
            return new SweepSummary(0, 0, 0, already, 0, []);
        }
        using var executor = CreateExecutor(spec, opt);
        Say($"executor: {executor.Description}");
        return Execute(jobs, executor, opt, already);
    }

    /// <summary>A pretraining job for the base, or null when a finished base's checkpoint is intact.</summary>
    SweepJob? PlanBase(string baseHash, PlannedRun run, ExperimentSpec spec, SweepOptions opt)
    {
        store.EnsureBase(baseHash, ConfigValues.CanonicalJson(RunConfig.BasePart(run.Config)));
        if (Reusable(JobKind.Pretrain, baseHash, opt)) return null;
        return new SweepJob
        {
            Spec = new JobSpec(JobIds.Word(JobKind.Pretrain), baseHash, run.CanonicalJson, Path.Combine(Paths.Jobs, "base-" + baseHash, "bundle.json"),
                null, null, null, Path.Combine(Paths.Checkpoints, baseHash), "cpu", 0, spec.Path, Environment.CommandLine),
            Label = $"pretrain base {baseHash}",
        };
    }

    /// <summary>A fine-tuning job (after its base's, if that must run too), or null when a finished
    /// fine-tune's checkpoint is intact: then the base is not needed at all.</summary>
    SweepJob? PlanFinetune(string ftHash, PlannedRun run, ExperimentSpec spec, SweepOptions opt, Dictionary<string, SweepJob?> bases, List<SweepJob> jobs)
    {
        var baseHash = RunConfig.BaseHash(run.Config);
        store.EnsureFinetune(ftHash, baseHash, RunConfig.FinetuneJson(run.Config));
        if (Reusable(JobKind.Finetune, ftHash, opt)) return null;
        if (!bases.TryGetValue(baseHash, out var baseJob))
        {
            baseJob = PlanBase(baseHash, run, spec, opt);
            bases[baseHash] = baseJob;
            if (baseJob != null) jobs.Add(baseJob);
        }
        return new SweepJob
        {
            Spec = new JobSpec(JobIds.Word(JobKind.Finetune), ftHash, run.CanonicalJson, Path.Combine(Paths.Jobs, "finetune-" + ftHash, "bundle.json"),
                baseHash, Path.Combine(Paths.Checkpoints, baseHash, "model.bin"), null, Path.Combine(Paths.Finetunes, ftHash), "cpu", 0, spec.Path,
                Environment.CommandLine),
            DependsOn = baseJob,
            Label = $"finetune {run.Router} {RouterConfig.KnobsJson(run.Config)} seed={run.Seed}",
        };
    }

    /// <summary>A finished model is reused if its checkpoint is still there and intact (unless --force).</summary>
    bool Reusable(JobKind kind, string id, SweepOptions opt)
    {
        if (store.ModelState(kind, id).status == "running")
            Say($"{(kind == JobKind.Pretrain ? "base" : "fine-tune")} {id} is being trained by another orchestrator; its runs wait for it");
        return !opt.Force && Intact(kind, id);
    }

    bool Intact(JobKind kind, string id)
    {
        var (status, ckpt, sha, _) = store.ModelState(kind, id);
        return status == "completed" && ckpt != null && File.Exists(ckpt) && Worker.Sha256(ckpt) == sha;
    }

    IJobExecutor CreateExecutor(ExperimentSpec spec, SweepOptions opt)
    {
        var kind = opt.Executor ?? spec.Execution.Executor;
        if (kind == "slurm")
            return new SlurmExecutor(spec.Name, spec.Execution.SlurmOrDefault, opt.WorkerCommand);
        if (kind != "local") throw new ArgumentException($"unknown executor '{kind}' (allowed: local, slurm)");
        var pool = new DevicePool(opt.Devices ?? spec.Execution.Devices, opt.JobsPerDevice ?? spec.Execution.JobsPerDevice,
            opt.MaxJobs ?? spec.Execution.MaxJobs, spec.Execution.CpuFallback);
        foreach (var w in pool.Warnings) Say("warning: " + w);
        return new LocalExecutor(pool, opt.WorkerCommand, spec.Execution.StaggerSeconds);
    }

    /// <summary>The sha256 the database recorded for a job's input checkpoint; null while the job that
    /// writes it is still queued (SLURM), when the worker checks the .sha256 file written beside it.</summary>
    string? InputSha(SweepJob j) => j.Kind switch
    {
        JobKind.Finetune or JobKind.Evaluate => store.ModelState(j.Kind == JobKind.Finetune ? JobKind.Pretrain : JobKind.Finetune,
            j.Spec.InputId!) is { status: "completed" } m ? m.sha256 : null,
        _ => null,
    };

    SweepSummary Execute(List<SweepJob> jobs, IJobExecutor executor, SweepOptions opt, int already)
    {
        var failures = new List<string>();
        int completed = 0, failed = 0, skipped = 0, interrupted = 0;
        var heartbeat = System.Diagnostics.Stopwatch.StartNew();

        while (jobs.Any(j => j.State is "waiting" or "running" or "external"))
        {
            // Dependents of a job that did not finish: a failed base skips everything above it; a failed
            // fine-tune fails the runs it belongs to, with its reason; an interrupted job's dependents are
            // skipped (re-run on resume). Dependents already handed to the executor are cancelled there.
            foreach (var j in jobs.Where(j => j.State is "waiting" or "running" && j.DependsOn?.State is "failed" or "skipped" or "interrupted").ToList())
            {
                if (j.State == "running") executor.Cancel(j);
                var dep = j.DependsOn!;
                if (dep.Kind == JobKind.Finetune && dep.State == "failed")
                {
                    j.State = "failed"; failed++;
                    j.Reason = "fine-tune: " + dep.Reason;
                    store.MarkFailedByFinetune(j.Spec.Id, dep.Spec.Id, owner);
                    failures.Add($"{j.Label} [{j.Spec.Id}]: {j.Reason}");
                    Say($"FAIL  {j.Label}: its fine-tune failed");
                    continue;
                }
                j.State = "skipped";
                j.Reason = dep.State switch
                {
                    "skipped" => dep.Reason,
                    "interrupted" => $"{JobIds.Word(dep.Kind)} {dep.Spec.Id} was interrupted ({dep.Reason}); `make sweep` again re-runs it",
                    _ => $"base {dep.Spec.Id} failed",
                };
                if (j.Kind == JobKind.Evaluate) skipped++;
                store.MarkSkipped(j.Kind, j.Spec.Id, j.Reason!, owner);
                Say($"skip  {j.Label}: {j.Reason}");
            }

            // Claim the jobs that are ready (their dependency done, or — for SLURM — handed over too).
            var ready = new List<SweepJob>();
            foreach (var j in jobs.Where(j => j.State == "waiting" && (j.DependsOn == null || j.DependsOn.State == "done" ||
                         (executor.WaitsOnDependencies && j.DependsOn.State == "running"))).ToList())
            {
                if (ready.Count >= executor.Capacity) break;
                // Only a job whose orchestrator died (running, lease expired) may still be queued somewhere;
                // a finished, failed or released one is computed again when claimed (--force, --reevaluate, …).
                var previous = StatusOf(j) == "stale" ? store.ExecutorId(j.Kind, j.Spec.Id) : null;
                if (!Claim(j, opt))
                {
                    // Another orchestrator holds it (or just finished it): follow it through the database.
                    j.State = "external";
                    Say($"wait  {j.Label}: held by another orchestrator");
                    continue;
                }
                // A job left queued or running by an orchestrator that died is followed, not run twice.
                if (previous != null && executor.TryAdopt(j, previous))
                {
                    j.State = "running"; j.StartedAt = DateTime.UtcNow;
                    store.Adopted(j.Kind, j.Spec.Id, owner, previous);
                    Say($"adopt {j.Label} [{j.Spec.Id}] as {previous}");
                    continue;
                }
                j.Spec = j.Spec with { InputSha256 = InputSha(j) };
                Directory.CreateDirectory(j.Directory);
                if (File.Exists(j.Spec.BundlePath)) File.Delete(j.Spec.BundlePath);
                ready.Add(j);
            }
            if (ready.Count > 0)
            {
                HashSet<SweepJob> started;
                try { started = executor.Start(ready).ToHashSet(); }
                catch (ExecutorUnavailableException)
                {
                    foreach (var j in ready) store.Release(j.Kind, j.Spec.Id, owner, null);   // nothing started: give the claims back
                    throw;
                }
                foreach (var j in ready)
                {
                    if (started.Contains(j))
                    {
                        j.State = "running"; j.StartedAt = DateTime.UtcNow;
                        store.SetExecutorId(j.Kind, j.Spec.Id, j.ExecutorId);
                        Say($"start {j.Label} [{j.Spec.Id}] on {j.Spec.Device} ({j.ExecutorId})");
                    }
                    else store.Release(j.Kind, j.Spec.Id, owner, null);    // not taken after all: claimed again later
                }
            }

            // Follow jobs held by other orchestrators; take them over if their lease runs out.
            foreach (var j in jobs.Where(j => j.State == "external"))
            {
                switch (StatusOf(j))
                {
                    case "completed": j.State = "done"; Say($"done  {j.Label} (by another orchestrator)"); break;
                    case "failed":
                        j.State = "failed";
                        j.Reason = (j.Kind == JobKind.Evaluate ? null : store.ModelState(j.Kind, j.Spec.Id).error) ?? "failed under another orchestrator";
                        if (j.Kind != JobKind.Finetune) { failed++; failures.Add($"{j.Label} [{j.Spec.Id}]: failed under another orchestrator"); }
                        break;
                    case "running": break;
                    default: j.State = "waiting"; break;       // stale lease or released: claim it ourselves
                }
            }

            // Jobs that ended: ingest the bundle (exactly once), or record the failure or interruption.
            foreach (var end in executor.Poll())
            {
                var j = end.Job;
                if (j.State != "running") continue;            // cancelled above: its end is not news
                // Ended because its dependency did not finish (SLURM cancels such jobs itself): handled
                // with the dependents above, on the next round.
                if (end.Kind != JobEndKind.Succeeded && j.DependsOn?.State is "failed" or "skipped" or "interrupted") continue;
                var took = (DateTime.UtcNow - j.StartedAt).TotalSeconds;
                switch (end.Kind)
                {
                    case JobEndKind.Succeeded:
                        store.Ingest(RunBundle.Load(j.Spec.BundlePath));
                        j.State = "done";
                        if (j.Kind == JobKind.Evaluate) completed++;
                        Say($"done  {j.Label} in {took:F0}s");
                        break;
                    case JobEndKind.Failed:
                        store.MarkFailed(j.Kind, j.Spec.Id, end.Reason, end.ExitCode, end.StderrTail);
                        j.State = "failed";
                        j.Reason = end.Reason;
                        // A failed fine-tune is counted and listed through the runs it fails.
                        if (j.Kind != JobKind.Finetune) { failed++; failures.Add($"{j.Label} [{j.Spec.Id}]: {end.Reason}"); }
                        Say($"FAIL  {j.Label}: {end.Reason}");
                        break;
                    default:
                        store.Release(j.Kind, j.Spec.Id, owner, end.Reason);
                        j.State = "interrupted";
                        j.Reason = end.Reason;
                        interrupted++;
                        Say($"STOP  {j.Label}: {end.Reason}; `make sweep` again re-runs it");
                        break;
                }
            }
            ShowProgress(jobs);
            // Renew leases of everything still running.
            if (heartbeat.Elapsed.TotalSeconds > opt.LeaseSeconds / 4)
            {
                foreach (var kind in Enum.GetValues<JobKind>())
                    store.Heartbeat(kind, jobs.Where(j => j.State == "running" && j.Kind == kind).Select(j => j.Spec.Id), owner, opt.LeaseSeconds);
                heartbeat.Restart();
            }
            if (jobs.Any(j => j.State is "running" or "external")) Thread.Sleep(200);
            else if (!jobs.Any(j => j.State == "waiting" && (j.DependsOn == null || j.DependsOn.State is "done" or "failed" or "skipped" or "interrupted"))
                     && jobs.Any(j => j.State == "waiting"))
                throw new InvalidOperationException("job graph is stuck: waiting jobs with no runnable dependency");
        }
        if (liveView) output.Write("\r\u001b[2K");
        Say($"summary: {completed} completed, {failed} failed, {skipped} skipped, {already} already done" +
            (interrupted > 0 ? $", {interrupted} interrupted (run `make sweep` again to resume)" : ""));
        foreach (var f in failures) Say("  failed: " + f);
        return new SweepSummary(completed, failed, skipped, already, completed + failed, failures, interrupted);
    }

    /// <summary>The job's status in the database; 'stale' for a running one whose lease ran out.</summary>
    string StatusOf(SweepJob j) => j.Kind == JobKind.Evaluate
        ? store.RunStatuses([j.Spec.Id]).GetValueOrDefault(j.Spec.Id, "pending")
        : store.ModelState(j.Kind, j.Spec.Id).status;

    /// <summary>Bases and fine-tunes are always retried when a wanted run needs them; an evaluation
    /// follows --retry-failed, and --force or --reevaluate re-run a finished one.</summary>
    bool Claim(SweepJob j, SweepOptions opt) => j.Kind == JobKind.Evaluate
        ? store.TryClaim(JobKind.Evaluate, j.Spec.Id, owner, opt.LeaseSeconds, opt.RetryFailed, opt.Force || opt.Reevaluate)
        : store.TryClaim(j.Kind, j.Spec.Id, owner, opt.LeaseSeconds, retryFailed: true,
            // a finished model whose checkpoint was deleted or damaged is trained again
            force: opt.Force || (store.ModelState(j.Kind, j.Spec.Id).status == "completed" && !Intact(j.Kind, j.Spec.Id)));
}
