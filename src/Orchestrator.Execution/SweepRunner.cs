using System.Diagnostics;
using System.Globalization;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Execution;

/// <param name="Reevaluate">re-run the evaluation of finished runs, reusing their bases and fine-tuned models</param>
public sealed record SweepOptions(bool RetryFailed = false, bool Force = false, string? Devices = null, int? JobsPerDevice = null,
    int? MaxJobs = null, double LeaseSeconds = 60, string? WorkerCommand = null, bool Reevaluate = false);

public sealed record SweepSummary(int Completed, int Failed, int Skipped, int AlreadyDone, int Ran, IReadOnlyList<string> Failures)
{
    public int ExitCode => Failed > 0 || Skipped > 0 ? 1 : 0;
}

/// <summary>Runs a sweep's job graph — pretrain each distinct base once, fine-tune each distinct router
/// configuration on it once, evaluate every run — in isolated worker processes on a device pool, with
/// leases so that a sweep interrupted in any way resumes without redoing or losing finished work.</summary>
public sealed class SweepRunner(ResultStore store, TextWriter output, bool? live = null)
{
    // On a terminal, one status line redrawn in place; when output is redirected, timestamped lines.
    readonly bool liveView = live ?? (output == Console.Out && !Console.IsOutputRedirected);
    DateTime lastProgress = DateTime.MinValue;

    readonly string owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}"[..40];

    sealed class Job
    {
        public required JobSpec Spec { get; init; }
        public Job? DependsOn { get; init; }
        // waiting, running, done, failed, skipped, or external: held by another orchestrator, followed through the database
        public string State { get; set; } = "waiting";
        public string? Reason { get; set; }           // why it failed or was skipped
        public JobKind Kind => Spec.JobKind;
        public string Label { get; init; } = "";
        public string? LastProgress { get; set; }
    }

    void Say(string line)
    {
        if (liveView) output.Write("\r\u001b[2K");
        output.WriteLine($"{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {line}");
    }

    /// <summary>Progress of the running jobs (step, loss, ETA from the worker's `progress` lines) and overall counts.</summary>
    void ShowProgress(List<Job> jobs)
    {
        var now = DateTime.UtcNow;
        if ((now - lastProgress).TotalSeconds < (liveView ? 1 : 30)) return;
        lastProgress = now;
        string Part(Job j)
        {
            var p = (j.LastProgress ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
            var text = $"{j.Label.Split(" {")[0]} {p.GetValueOrDefault("phase", "starting")}";
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

        var pool = new DevicePool(opt.Devices ?? spec.Execution.Devices, opt.JobsPerDevice ?? spec.Execution.JobsPerDevice,
            opt.MaxJobs ?? spec.Execution.MaxJobs, spec.Execution.CpuFallback);
        foreach (var w in pool.Warnings) Say("warning: " + w);

        // Build the job graph: base → fine-tune → evaluate, each distinct base and fine-tune once.
        var jobs = new List<Job>();
        var bases = new Dictionary<string, Job?>();
        var finetunes = new Dictionary<string, Job?>();
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
            jobs.Add(new Job
            {
                Spec = new JobSpec(JobIds.Word(JobKind.Evaluate), run.ConfigHash, run.CanonicalJson,
                    Path.Combine(Paths.Jobs, run.ConfigHash, "bundle.json"), Path.Combine(Paths.Finetunes, ftHash, "model.bin"),
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
        return Execute(jobs, pool, opt, already);
    }

    /// <summary>A pretraining job for the base, or null when a finished base's checkpoint is intact.</summary>
    Job? PlanBase(string baseHash, PlannedRun run, ExperimentSpec spec, SweepOptions opt)
    {
        var part = run.Config.Where(kv => RunConfig.BasePrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        store.EnsureBase(baseHash, ConfigValues.CanonicalJson(part));
        if (Reusable(JobKind.Pretrain, baseHash, opt)) return null;
        return new Job
        {
            Spec = new JobSpec(JobIds.Word(JobKind.Pretrain), baseHash, run.CanonicalJson, Path.Combine(Paths.Jobs, "base-" + baseHash, "bundle.json"),
                null, null, Path.Combine(Paths.Checkpoints, baseHash), "cpu", 0, spec.Path, Environment.CommandLine),
            Label = $"pretrain base {baseHash}",
        };
    }

    /// <summary>A fine-tuning job (after its base's, if that must run too), or null when a finished
    /// fine-tune's checkpoint is intact: then the base is not needed at all.</summary>
    Job? PlanFinetune(string ftHash, PlannedRun run, ExperimentSpec spec, SweepOptions opt, Dictionary<string, Job?> bases, List<Job> jobs)
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
        return new Job
        {
            Spec = new JobSpec(JobIds.Word(JobKind.Finetune), ftHash, run.CanonicalJson, Path.Combine(Paths.Jobs, "finetune-" + ftHash, "bundle.json"),
                Path.Combine(Paths.Checkpoints, baseHash, "model.bin"), null, Path.Combine(Paths.Finetunes, ftHash), "cpu", 0, spec.Path,
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

    SweepSummary Execute(List<Job> jobs, DevicePool pool, SweepOptions opt, int already)
    {
        var free = new Queue<DevicePool.Slot>(pool.Slots);
        var running = new Dictionary<Job, (Process proc, DevicePool.Slot slot, Task<string> stderr, Stopwatch clock)>();
        var failures = new List<string>();
        int completed = 0, failed = 0, skipped = 0;
        var heartbeat = Stopwatch.StartNew();
        DateTime lastStart = DateTime.MinValue;

        while (jobs.Any(j => j.State is "waiting" or "running" or "external"))
        {
            // Dependents of a failed job: a failed base skips everything above it; a failed fine-tune
            // fails the runs it belongs to, with its reason.
            foreach (var j in jobs.Where(j => j.State == "waiting" && j.DependsOn?.State is "failed" or "skipped").ToList())
            {
                var dep = j.DependsOn!;
                if (dep.Kind == JobKind.Finetune && dep.State == "failed")
                {
                    j.State = "failed"; failed++;
                    j.Reason = "fine-tune: " + dep.Reason;
                    store.MarkFailedByFinetune(j.Spec.Id, dep.Spec.Id);
                    failures.Add($"{j.Label} [{j.Spec.Id}]: {j.Reason}");
                    Say($"FAIL  {j.Label}: its fine-tune failed");
                    continue;
                }
                j.State = "skipped";
                j.Reason = dep.State == "skipped" ? dep.Reason : $"base {dep.Spec.Id} failed";
                if (j.Kind == JobKind.Evaluate) skipped++;
                store.MarkSkipped(j.Kind, j.Spec.Id, j.Reason!);
                Say($"skip  {j.Label}: {j.Reason}");
            }
            // Start ready jobs on free slots, staggered.
            foreach (var j in jobs.Where(j => j.State == "waiting" && (j.DependsOn == null || j.DependsOn.State == "done")).ToList())
            {
                if (free.Count == 0) break;
                if ((DateTime.UtcNow - lastStart).TotalSeconds < 0.5) { Thread.Sleep(500); }
                if (!Claim(j, opt))
                {
                    // Another orchestrator holds it (or just finished it): follow it through the database.
                    j.State = "external";
                    Say($"wait  {j.Label}: held by another orchestrator");
                    continue;
                }
                var slot = free.Dequeue();
                var spec = j.Spec with
                {
                    Device = slot.Device, Threads = slot.Threads,
                    InputSha256 = j.Kind switch
                    {
                        JobKind.Finetune => store.ModelState(JobKind.Pretrain, Path.GetFileName(Path.GetDirectoryName(j.Spec.InputCheckpoint)!)).sha256,
                        JobKind.Evaluate => store.ModelState(JobKind.Finetune, Path.GetFileName(Path.GetDirectoryName(j.Spec.InputCheckpoint)!)).sha256,
                        _ => null,
                    },
                };
                var dir = Path.GetDirectoryName(spec.BundlePath)!;
                Directory.CreateDirectory(dir);
                if (File.Exists(spec.BundlePath)) File.Delete(spec.BundlePath);
                var jobFile = Path.Combine(dir, "job.json");
                spec.Save(jobFile);
                var proc = StartWorker(jobFile, slot, Path.Combine(dir, "worker.log"), opt, j);
                running[j] = (proc, slot, proc.StandardError.ReadToEndAsync(), Stopwatch.StartNew());
                j.State = "running";
                lastStart = DateTime.UtcNow;
                Say($"start {j.Label} [{j.Spec.Id}] on {slot.Device}");
            }
            // Follow jobs held by other orchestrators; take them over if their lease runs out.
            foreach (var j in jobs.Where(j => j.State == "external"))
            {
                var status = j.Kind == JobKind.Evaluate ? store.RunStatuses([j.Spec.Id]).GetValueOrDefault(j.Spec.Id, "pending")
                    : store.ModelState(j.Kind, j.Spec.Id).status;
                switch (status)
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
            // Reap finished workers.
            foreach (var (j, (proc, slot, stderrTask, clock)) in running.ToList())
            {
                if (!proc.HasExited) continue;
                proc.WaitForExit();
                running.Remove(j);
                free.Enqueue(slot);
                var stderr = stderrTask.Result;
                File.AppendAllText(Path.Combine(Path.GetDirectoryName(j.Spec.BundlePath)!, "worker.log"), stderr);
                if (proc.ExitCode == 0 && File.Exists(j.Spec.BundlePath))
                {
                    store.Ingest(RunBundle.Load(j.Spec.BundlePath));
                    j.State = "done";
                    if (j.Kind == JobKind.Evaluate) completed++;
                    Say($"done  {j.Label} in {clock.Elapsed.TotalSeconds:F0}s");
                }
                else
                {
                    var tail = Tail(stderr, 4000);
                    var reason = ExitReason(proc.ExitCode, tail);
                    store.MarkFailed(j.Kind, j.Spec.Id, reason, proc.ExitCode, tail);
                    j.State = "failed";
                    j.Reason = reason;
                    // A failed fine-tune is counted and listed through the runs it fails.
                    if (j.Kind != JobKind.Finetune) { failed++; failures.Add($"{j.Label} [{j.Spec.Id}]: {reason}"); }
                    Say($"FAIL  {j.Label}: {reason}");
                }
                proc.Dispose();
            }
            ShowProgress(jobs);
            // Renew leases of everything still running.
            if (heartbeat.Elapsed.TotalSeconds > opt.LeaseSeconds / 4)
            {
                foreach (var kind in Enum.GetValues<JobKind>())
                    store.Heartbeat(kind, running.Keys.Where(j => j.Kind == kind).Select(j => j.Spec.Id), owner, opt.LeaseSeconds);
                heartbeat.Restart();
            }
            if (running.Count > 0 || jobs.Any(j => j.State == "external")) Thread.Sleep(200);
            else if (!jobs.Any(j => j.State == "waiting" && (j.DependsOn == null || j.DependsOn.State is "done" or "failed" or "skipped"))
                     && jobs.Any(j => j.State == "waiting"))
                throw new InvalidOperationException("job graph is stuck: waiting jobs with no runnable dependency");
        }
        if (liveView) output.Write("\r\u001b[2K");
        Say($"summary: {completed} completed, {failed} failed, {skipped} skipped, {already} already done");
        foreach (var f in failures) Say("  failed: " + f);
        return new SweepSummary(completed, failed, skipped, already, completed + failed, failures);
    }

    /// <summary>Bases and fine-tunes are always retried when a wanted run needs them; an evaluation
    /// follows --retry-failed, and --force or --reevaluate re-run a finished one.</summary>
    bool Claim(Job j, SweepOptions opt) => j.Kind == JobKind.Evaluate
        ? store.TryClaim(JobKind.Evaluate, j.Spec.Id, owner, opt.LeaseSeconds, opt.RetryFailed, opt.Force || opt.Reevaluate)
        : store.TryClaim(j.Kind, j.Spec.Id, owner, opt.LeaseSeconds, retryFailed: true,
            // a finished model whose checkpoint was deleted or damaged is trained again
            force: opt.Force || (store.ModelState(j.Kind, j.Spec.Id).status == "completed" && !Intact(j.Kind, j.Spec.Id)));

    Process StartWorker(string jobFile, DevicePool.Slot slot, string logPath, SweepOptions opt, Job job)
    {
        var (file, prefix) = WorkerCommand(opt);
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Paths.RepoRoot,
        };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("worker");
        psi.ArgumentList.Add(jobFile);
        foreach (var (k, v) in DevicePool.WorkerEnvironment(slot)) psi.Environment[k] = v;
        psi.Environment["ORCHESTRATOR_RESULTS"] = Paths.Results;
        psi.Environment["ORCHESTRATOR_PARENT_PID"] = Environment.ProcessId.ToString();
        var proc = Process.Start(psi)!;
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        proc.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) { log.Dispose(); return; }
            lock (log) log.WriteLine(e.Data);
            if (e.Data.StartsWith("progress ")) job.LastProgress = e.Data[9..];
        };
        proc.BeginOutputReadLine();
        return proc;
    }

    /// <summary>The command that starts a worker: this same executable (`orchestrator worker JOB`).</summary>
    static (string file, string[] prefix) WorkerCommand(SweepOptions opt)
    {
        if (opt.WorkerCommand != null)
        {
            var parts = opt.WorkerCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (parts[0], parts[1..]);
        }
        var exe = Environment.ProcessPath!;
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        // Under `dotnet orchestrator.dll` ProcessPath is the dotnet host: pass the dll.
        return Path.GetFileNameWithoutExtension(exe) == "dotnet" && entry != null ? (exe, [entry]) : (exe, []);
    }

    static string Tail(string s, int max) => s.Length <= max ? s : s[^max..];

    static string ExitReason(int code, string stderrTail)
    {
        var lastError = stderrTail.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("error:")) ?? "";
        if (code > 128 && code < 160) return $"killed by signal {code - 128} ({SignalName(code - 128)})" + (lastError.Length > 0 ? "; " + lastError : "");
        if (code == 0) return "worker exited without writing its results";
        return $"exit code {code}" + (lastError.Length > 0 ? ": " + lastError[6..].Trim() : "");
    }

    static string SignalName(int s) => s switch { 6 => "SIGABRT", 9 => "SIGKILL", 11 => "SIGSEGV", 15 => "SIGTERM", 2 => "SIGINT", _ => "signal" };
}
