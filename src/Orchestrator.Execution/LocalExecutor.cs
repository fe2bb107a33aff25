using System.Diagnostics;
using Orchestrator.Specs;

namespace Orchestrator.Execution;

/// <summary>Runs each job in a worker child process of this orchestrator (`orchestrator worker JOB.json`)
/// on a slot of the device pool: CUDA workers pinned with CUDA_VISIBLE_DEVICES, CPU workers given their
/// share of the cores, starts staggered. A worker dies with the orchestrator (PR_SET_PDEATHSIG).</summary>
public sealed class LocalExecutor(DevicePool pool, string? workerCommand, double staggerSeconds = 0.5) : IJobExecutor
{
    readonly Queue<DevicePool.Slot> free = new(pool.Slots);
    readonly Dictionary<SweepJob, (Process proc, DevicePool.Slot slot, Task<string> stderr)> running = [];
    DateTime lastStart = DateTime.MinValue;

    public string Description => $"local pool: {string.Join(", ", pool.Slots.Select(s => s.Device).GroupBy(d => d).Select(g => $"{g.Key} ×{g.Count()}"))}";
    public bool WaitsOnDependencies => false;
    public int Capacity => free.Count;

    public IReadOnlyList<SweepJob> Start(IReadOnlyList<SweepJob> ready)
    {
        var started = new List<SweepJob>();
        foreach (var job in ready)
        {
            if (free.Count == 0) break;
            var wait = staggerSeconds - (DateTime.UtcNow - lastStart).TotalSeconds;
            if (wait > 0) Thread.Sleep(TimeSpan.FromSeconds(wait));
            var slot = free.Dequeue();
            job.Spec = job.Spec with { Device = slot.Device, Threads = slot.Threads };
            var jobFile = Path.Combine(job.Directory, "job.json");
            job.Spec.Save(jobFile);
            var proc = StartWorker(jobFile, slot, job);
            running[job] = (proc, slot, proc.StandardError.ReadToEndAsync());
            job.ExecutorId = $"local:{proc.Id}";
            lastStart = DateTime.UtcNow;
            started.Add(job);
        }
        return started;
    }

    public IReadOnlyList<JobEnd> Poll()
    {
        var ended = new List<JobEnd>();
        foreach (var (job, (proc, slot, stderrTask)) in running.ToList())
        {
            if (!proc.HasExited) continue;
            proc.WaitForExit();
            running.Remove(job);
            free.Enqueue(slot);
            var stderr = stderrTask.Result;
            File.AppendAllText(Path.Combine(job.Directory, "worker.log"), stderr);
            int code = proc.ExitCode;
            proc.Dispose();
            ended.Add(code == 0 && File.Exists(job.Spec.BundlePath)
                ? new JobEnd(job, JobEndKind.Succeeded, 0)
                : new JobEnd(job, JobEndKind.Failed, code, WorkerExit.Reason(code, WorkerExit.Tail(stderr)), WorkerExit.Tail(stderr)));
        }
        return ended;
    }

    public void Cancel(SweepJob job)
    {
        if (running.TryGetValue(job, out var r) && !r.proc.HasExited) r.proc.Kill(entireProcessTree: true);
    }

    /// <summary>A local worker never outlives its orchestrator, so there is nothing to adopt.</summary>
    public bool TryAdopt(SweepJob job, string executorId) => false;

    Process StartWorker(string jobFile, DevicePool.Slot slot, SweepJob job)
    {
        var (file, prefix) = WorkerExit.Command(workerCommand);
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
        var log = new StreamWriter(Path.Combine(job.Directory, "worker.log"), append: false) { AutoFlush = true };
        proc.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) { log.Dispose(); return; }
            lock (log) log.WriteLine(e.Data);
            if (e.Data.StartsWith("progress ")) job.LastProgress = e.Data[9..];
        };
        proc.BeginOutputReadLine();
        return proc;
    }

    public void Dispose()
    {
        foreach (var (proc, _, _) in running.Values)
            if (!proc.HasExited) proc.Kill(entireProcessTree: true);
    }
}

/// <summary>The worker command line and how to read a worker's exit, shared by the executors.</summary>
public static class WorkerExit
{
    /// <summary>The command that starts a worker: this same executable (`orchestrator worker JOB`), or an override.</summary>
    public static (string file, string[] prefix) Command(string? workerCommand)
    {
        if (workerCommand != null)
        {
            var parts = workerCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (parts[0], parts[1..]);
        }
        var exe = Environment.ProcessPath!;
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        // Under `dotnet orchestrator.dll` ProcessPath is the dotnet host: pass the dll.
        return Path.GetFileNameWithoutExtension(exe) == "dotnet" && entry != null ? (exe, [entry]) : (exe, []);
    }

    public static string Tail(string s, int max = 4000) => s.Length <= max ? s : s[^max..];

    /// <summary>"exit code 1: &lt;the worker's error line&gt;" or "killed by signal 9 (SIGKILL)".</summary>
    public static string Reason(int code, string stderrTail)
    {
        var lastError = stderrTail.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("error:")) ?? "";
        if (code > 128 && code < 160) return $"killed by signal {code - 128} ({SignalName(code - 128)})" + (lastError.Length > 0 ? "; " + lastError : "");
        if (code == 0) return "worker exited without writing its results";
        return $"exit code {code}" + (lastError.Length > 0 ? ": " + lastError[6..].Trim() : "");
    }

    static string SignalName(int s) => s switch { 6 => "SIGABRT", 9 => "SIGKILL", 11 => "SIGSEGV", 15 => "SIGTERM", 2 => "SIGINT", _ => "signal" };
}
