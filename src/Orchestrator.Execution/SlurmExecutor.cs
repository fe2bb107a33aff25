using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Orchestrator.Execution;

/// <summary>Runs jobs on a SLURM cluster through SLURM itself: `sbatch` job arrays (one task per job,
/// its job.json looked up by task id), `--dependency=afterok` from fine-tunes to their base and
/// `aftercorr` from evaluations to their fine-tunes, state followed with `squeue` (and `scontrol` /
/// `sacct` once a job has left the queue), `scancel` to stop. Workers on compute nodes write bundles
/// into the shared results folder and never touch the database (SQLite on a network file system is
/// unsafe): the orchestrator ingests them. The results folder and the orchestrator build must be on a
/// file system the compute nodes share.</summary>
public sealed class SlurmExecutor : IJobExecutor
{
    readonly string sweep;
    readonly SlurmSettings settings;
    readonly string? workerCommand;
    readonly Dictionary<JobKey, Tracked> tracked = [];
    DateTime lastPoll = DateTime.MinValue;
    int batches;

    sealed class Tracked
    {
        public required JobTicket Ticket { get; init; }
        public required string SlurmId { get; init; }          // "JOBID_TASK" (array task) or "JOBID"
        public string? LastProgress { get; set; }
        public int MissingPolls { get; set; }
        public bool SeenRunning { get; set; }
    }

    public SlurmExecutor(string sweep, SlurmSettings settings, string? workerCommand)
    {
        this.sweep = sweep;
        this.settings = settings;
        this.workerCommand = workerCommand;
        var (rc, _, err) = Slurm.Run("sbatch", "--version");
        if (rc != 0)
            throw new ExecutorUnavailableException("executor slurm: `sbatch --version` failed"
                + (err.Length > 0 ? $" ({err.Trim()})" : "") +
                                                "; run on a SLURM login node (SLURM_CONF set if the cluster needs " +
                                                "it), or use executor: local");
    }

    public string Description =>
        $"slurm: partition {settings.Partition ?? "(default)"}, {settings.CpusPerJob} CPU(s)" +
        (settings.GpusPerJob > 0 ? $", {settings.GpusPerJob} GPU(s)" : "")
            + (settings.Mem != null ? $", mem {settings.Mem}" : "") +
        (settings.Time != null ? $", time {settings.Time}" : "") + " per job";

    public bool WaitsOnDependencies => true;
    public int Capacity => int.MaxValue;

    string BatchDir => Paths.SlurmBatches(sweep);

    public IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs)
    {
        // Group the jobs into arrays: no dependency; afterok on one job (a base's fine-tunes); or
        // aftercorr on an array (each evaluation runs after the fine-tune with its task id).
        var device = settings.GpusPerJob > 0 ? "cuda" : "cpu";
        var groups = new Dictionary<string, (string? dependency, List<(int task, JobTicket ticket)> tasks)>();
        foreach (var launch in jobs)
        {
            var ticket = launch.Ticket with { Device = device, Threads = settings.CpusPerJob };
            ticket.Save();
            File.Delete(Path.Combine(ticket.Folder, "exit_code"));
            var dep = launch.After is { } after && tracked.TryGetValue(after, out var t) ? t.SlurmId : null;
            if (dep == null) Add($"{ticket.Kind}", null, ticket, null);
            else if (ticket.Kind == JobKind.Evaluate && dep.Contains('_'))
            {
                var (array, task) = (dep[..dep.IndexOf('_')], int.Parse(dep[(dep.IndexOf('_') + 1)..],
                    CultureInfo.InvariantCulture));
                for (int variant = 0; ; variant++)         // two evaluations of one fine-tune: two arrays
                {
                    var key = $"{ticket.Kind}:corr:{array}:{variant}";
                    if (groups.TryGetValue(key, out var g) && g.tasks.Any(x => x.task == task)) continue;
                    Add(key, "aftercorr:" + array, ticket, task);
                    break;
                }
            }
            else Add($"{ticket.Kind}:afterok:{dep}", "afterok:" + dep, ticket, null);
        }
        void Add(string key, string? dependency, JobTicket ticket, int? task)
        {
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = (dependency, []);
            g.tasks.Add((task ?? g.tasks.Count, ticket));
        }

        var started = new List<Launched>();
        foreach (var (_, (dependency, tasks)) in groups)
        {
            var jobId = Submit(tasks, dependency);
            foreach (var (task, ticket) in tasks)
            {
                tracked[ticket.Key] = new Tracked { Ticket = ticket, SlurmId = $"{jobId}_{task}" };
                started.Add(new Launched(ticket.Key, $"slurm:{jobId}_{task}", device));
            }
        }
        return started;
    }

    /// <summary>Writes the task list and batch script of one array and submits it; returns the job id.</summary>
    string Submit(List<(int task, JobTicket ticket)> tasks, string? dependency)
    {
        Directory.CreateDirectory(BatchDir);
        var kind = tasks[0].ticket.Kind.Word();
        var name = $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{batches++}-{kind}";
        var manifest = Path.Combine(BatchDir, name + ".tasks");
        File.WriteAllLines(manifest, tasks.Select(t => $"{t.task}\t{t.ticket.TicketPath}"));
        var script = Path.Combine(BatchDir, name + ".sbatch");
        File.WriteAllText(script, BatchScript(kind, manifest));
        var args = new List<string> { "--parsable", "--array=" + string.Join(",", tasks.Select(t => t.task)) };
        if (dependency != null) { args.Add("--dependency=" + dependency); args.Add("--kill-on-invalid-dep=yes"); }
        args.Add(script);
        var (rc, stdout, stderr) = Slurm.Run("sbatch", [.. args]);
        if (rc != 0) throw new ExecutorUnavailableException($"executor slurm: sbatch {string.Join(' ', args)} failed " +
            $"(exit {rc}): {stderr.Trim()}");
        return stdout.Trim().Split(';')[0];
    }

    static string Q(string s) => "'" + s.Replace("'", "'\\''") + "'";

    string BatchScript(string kind, string manifest)
    {
        var (file, prefix) = WorkerExit.Command(workerCommand);
        var command = string.Join(' ', new[] { file }.Concat(prefix).Select(Q));
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append($"#SBATCH --job-name=orch-{sweep}-{kind}\n");
        sb.Append($"#SBATCH --output={Path.Combine(BatchDir, "%A_%a.out")}\n");
        sb.Append($"#SBATCH --cpus-per-task={settings.CpusPerJob}\n");
        sb.Append("#SBATCH --requeue\n");
        if (settings.Partition != null) sb.Append($"#SBATCH --partition={settings.Partition}\n");
        if (settings.GpusPerJob > 0) sb.Append($"#SBATCH --gres=gpu:{settings.GpusPerJob}\n");
        if (settings.Mem != null) sb.Append($"#SBATCH --mem={settings.Mem}\n");
        if (settings.Time != null) sb.Append($"#SBATCH --time={settings.Time}\n");
        if (settings.Account != null) sb.Append($"#SBATCH --account={settings.Account}\n");
        foreach (var line in settings.Extra ?? []) sb.Append($"#SBATCH {line}\n");
        sb.Append($$"""
            # Written by `orchestrator sweep` for sweep {{sweep}}: one array task per {{kind}} job; the task's
            # job.json is looked up by its task id. The worker writes result.json next to job.json; the
            # orchestrator ingests it. exit_code is written last, so its presence means the worker ended.
            job=$(awk -F'\t' -v t="$SLURM_ARRAY_TASK_ID" '$1 == t { print $2 }' {{Q(manifest)}})
            if [ -z "$job" ]; then echo "no job for task $SLURM_ARRAY_TASK_ID in {{manifest}}" >&2; exit 2; fi
            dir=$(dirname "$job")
            rm -f "$dir/exit_code"
            unset ORCHESTRATOR_PARENT_PID
            {{string.Join("\n", WorkerExit.RuntimeSettings.Select(s => $"export {s.Name}=${{{s.Name}:-{s.Value}}}"))}}
            export ORCHESTRATOR_RESULTS={{Q(Paths.Results)}}
            cd {{Q(Paths.RepoRoot)}}
            {{command}} worker "$job" > "$dir/worker.log" 2> "$dir/stderr.log"
            rc=$?
            echo "$rc" > "$dir/exit_code.tmp" && mv "$dir/exit_code.tmp" "$dir/exit_code"
            exit "$rc"

            """);
        return sb.ToString();
    }

    public IReadOnlyList<ExecutorEvent> Poll()
    {
        var events = new List<ExecutorEvent>();
        if (tracked.Count == 0 || (DateTime.UtcNow - lastPoll).TotalSeconds < settings.PollSeconds) return events;
        lastPoll = DateTime.UtcNow;
        var queue = Slurm.Queue();
        foreach (var (key, t) in tracked.ToList())
        {
            var log = ReadLog(t.Ticket.LogPath);
            if (log.LastOrDefault(m => !m.IsError) is { } progress && progress.ToLine() != t.LastProgress)
            {
                t.LastProgress = progress.ToLine();
                events.Add(new JobProgressed(key, progress));
            }
            var exitFile = Path.Combine(t.Ticket.Folder, "exit_code");
            if (File.Exists(exitFile) && int.TryParse(File.ReadAllText(exitFile).Trim(), out var rc))
            {
                tracked.Remove(key);
                var stderr = ReadTail(Path.Combine(t.Ticket.Folder, "stderr.log"));
                var error = log.LastOrDefault(m => m.IsError)?.Message;
                events.Add(WorkerExit.Ended(t.Ticket, rc, error, stderr, $" (SLURM job {t.SlurmId})"));
                continue;
            }
            if (queue == null) continue;
            if (queue.TryGetValue(t.SlurmId, out var state))
            {
                // Time a job from when it left the queue, not from its submission.
                if (state == "RUNNING" && !t.SeenRunning) { t.SeenRunning = true; events.Add(new JobStarted(key)); }
                t.MissingPolls = 0;
                continue;
            }
            // Gone from the queue without an exit code: wait a little (a shared file system may show
            // the file late), then ask SLURM how it ended.
            if (++t.MissingPolls < 3) continue;
            tracked.Remove(key);
            var final = Slurm.FinalState(t.SlurmId) ?? "UNKNOWN";
            var outTail = ReadTail(Path.Combine(BatchDir, t.SlurmId + ".out")) +
                          ReadTail(Path.Combine(t.Ticket.Folder, "stderr.log"));
            events.Add(final.StartsWith("OUT_OF_ME") || final == "FAILED"
                ? new JobEnded(key, JobEndKind.Failed, null,
                    $"SLURM job {t.SlurmId} ended {final} without a worker exit code",
                    WorkerExit.Tail(outTail))
                : new JobEnded(key, JobEndKind.Interrupted, null,
                    $"SLURM job {t.SlurmId} ended {final} without a result"));
        }
        return events;
    }

    static string ReadTail(string path) => File.Exists(path) ? WorkerExit.Tail(File.ReadAllText(path)) : "";

    /// <summary>The protocol messages among the last 16 KiB of a worker's log.</summary>
    static List<WorkerMessage> ReadLog(string log)
    {
        if (!File.Exists(log)) return [];
        using var f = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Seek(Math.Max(0, f.Length - 16384), SeekOrigin.Begin);
        var text = new StreamReader(f).ReadToEnd();
        return text.Split('\n').Select(l => WorkerMessage.TryParse(l.Trim())).OfType<WorkerMessage>().ToList();
    }

    public void Cancel(JobKey key)
    {
        if (!tracked.Remove(key, out var t)) return;
        Slurm.Run("scancel", t.SlurmId);
    }

    public bool TryAdopt(JobTicket ticket, string executorId)
    {
        if (!executorId.StartsWith("slurm:")) return false;
        var id = executorId[6..];
        // Still queued or running, or ended with its exit code written: follow it (Poll reports the end).
        if (!File.Exists(Path.Combine(ticket.Folder, "exit_code"))
            && Slurm.Queue()?.ContainsKey(id) != true) return false;
        tracked[ticket.Key] = new Tracked { Ticket = ticket, SlurmId = id };
        lastPoll = DateTime.MinValue;
        return true;
    }

    public void Dispose() { }    // queued and running SLURM jobs outlive the orchestrator: a resumed sweep adopts them
}

/// <summary>The SLURM commands the orchestrator uses, run as child processes.</summary>
public static class Slurm
{
    public static (int rc, string stdout, string stderr) Run(string command, params string[] args)
    {
        var psi = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000)) { p.Kill(); return (124, o.Result, $"{command} timed out"); }
            return (p.ExitCode, o.Result, e.Result);
        }
        catch (System.ComponentModel.Win32Exception ex) { return (127, "", $"{command}: {ex.Message}"); }
    }

    /// <summary>This user's queued and running jobs, one entry per array task ("12_3" → RUNNING);
    /// null when squeue cannot answer (the controller is unreachable for a moment).</summary>
    public static Dictionary<string, string>? Queue()
    {
        var (rc, stdout, _) = Run("squeue", "-h", "-r", "-u", Environment.UserName, "-o", "%i|%T");
        if (rc != 0) return null;
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split('|'))
            .Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);
    }

    /// <summary>How a job that left the queue ended (CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL, …): from
    /// the controller while it remembers the job (MinJobAge), else from accounting (sacct).</summary>
    public static string? FinalState(string id)
    {
        var (rc, stdout, _) = Run("scontrol", "show", "job", "-o", id);
        if (rc == 0)
        {
            var field = stdout.Split(' ').FirstOrDefault(f => f.StartsWith("JobState="));
            if (field != null) return field["JobState=".Length..];
        }
        (rc, stdout, _) = Run("sacct", "-n", "-X", "-P", "-o", "State", "-j", id);
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim();
        return rc == 0 && !string.IsNullOrEmpty(line) ? line.Split(' ')[0] : null;
    }

    /// <summary>Live states of the given SLURM ids, for `orchestrator status` (missing: left the queue).</summary>
    public static Dictionary<string, string> States(IEnumerable<string> ids)
    {
        var q = Queue() ?? [];
        return ids.Distinct().ToDictionary(id => id, id => q.TryGetValue(id, out var s) ? s : FinalState(id) ?? "gone");
    }
}
