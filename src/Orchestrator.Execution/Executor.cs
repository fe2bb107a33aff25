
namespace Orchestrator.Execution;

/// <summary>A job handed to an executor: its ticket, and the job it must wait for if the executor waits
/// on dependencies itself (SLURM's --dependency); null when it may start at once.</summary>
public sealed record Launch(JobTicket Ticket, JobKey? After = null);

/// <summary>A job an executor took: its name there ("local:PID", "slurm:JOBID_TASK") and its device.</summary>
public sealed record Launched(JobKey Key, string ExecutorId, string Device);

public enum JobEndKind { Succeeded, Failed, Interrupted }

/// <summary>What an executor reports back about a job it runs.</summary>
public abstract record ExecutorEvent(JobKey Key);

/// <summary>A worker's progress message.</summary>
public sealed record JobProgressed(JobKey Key, WorkerMessage Message) : ExecutorEvent(Key);

/// <summary>A queued job started running (SLURM): its time counts from now.</summary>
public sealed record JobStarted(JobKey Key) : ExecutorEvent(Key);

/// <summary>How a job ended: with its result file (Succeeded), with an error of its own (Failed: exit code
/// or signal, reason, stderr tail), or without a result through no fault of its own (Interrupted).</summary>
public sealed record JobEnded(JobKey Key, JobEndKind Kind, int? ExitCode = null, string Reason = "",
    string StderrTail = "")
    : ExecutorEvent(Key);

/// <summary>Where jobs were to run cannot take them (no SLURM controller, sbatch refused, CUDA asked for
/// but absent): the sweep stops with this message, and the jobs it had claimed are given back.</summary>
public sealed class ExecutorUnavailableException(string message) : InvalidOperationException(message);

/// <summary>Where jobs run (Hydra's launcher side): the local device pool or a SLURM cluster. The runner
/// owns the graph, the database and the leases; an executor receives immutable tickets, runs them and
/// reports events back. Workers never write the database: each writes a result file that the runner
/// ingests, exactly once.</summary>
public interface IJobExecutor : IDisposable
{
    string Description { get; }

    /// <summary>True when a job may be handed over before its dependency has finished (SLURM waits on
    /// it with --dependency); false when dependencies must be done first (local pool).</summary>
    bool WaitsOnDependencies { get; }

    /// <summary>How many more jobs it can take now (free slots; unbounded for a cluster queue).</summary>
    int Capacity { get; }

    /// <summary>Starts or submits as many of the jobs as it can (writing each ticket as job.json); returns
    /// those it took.</summary>
    IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs);

    /// <summary>Progress, starts and ends since the last call.</summary>
    IReadOnlyList<ExecutorEvent> Poll();

    /// <summary>Stops a started job (its result, if any, is discarded by the runner).</summary>
    void Cancel(JobKey key);

    /// <summary>Follows a job that an earlier orchestrator started and that is still queued or running
    /// there (or has ended with its result on disk); false if nothing is left of it.</summary>
    bool TryAdopt(JobTicket ticket, string executorId);

    /// <summary>How many jobs are still to be handed over later (waiting on a dependency or on capacity): the
    /// local pool starts workers ahead for them, into its free slots. Nothing to do for a cluster queue.</summary>
    void Anticipate(int pending) { }

    /// <summary>Waits until something may have happened (a local worker exited) or the timeout passed.</summary>
    void Wait(TimeSpan timeout) => Thread.Sleep(timeout);
}

/// <summary>The worker command line and how to read a worker's exit, shared by the executors.</summary>
public static class WorkerExit
{
    /// <summary>The command that starts a worker: this same executable (`orchestrator worker JOB`), or an
    /// override.</summary>
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

    /// <summary>The .NET runtime settings a worker runs with, as environment variables; a value the user set is
    /// kept. Interactive commands keep the runtime's defaults.
    /// - DOTNET_TieredCompilation=0: a job's code is compiled optimised at its first call instead of running
    ///   unoptimised first. The sweep benchmark's recipes took 20% less time (`make bench ARGS=sweep`, alternated);
    ///   interactive commands keep the tiers because they answer ~0.15 s sooner with them.
    /// - DOTNET_gcConcurrent=0: no background GC, so no GC thread started while libtorch loads. A thread's start
    ///   registers its thread-local destructors under the dynamic loader's lock, which libtorch's initialisers
    ///   hold for the ~0.3–0.4 s of its load: the first job's data read (a large array, a background GC) waited for
    ///   the whole load (gdb: the ".NET BGC" thread in __cxa_thread_atexit). A worker is a batch process; a
    ///   blocking collection of its small managed heap costs it nothing it would feel.</summary>
    public static IEnumerable<(string Name, string Value)> RuntimeSettings =>
        runtimeDefaults.Select(s => (s.Name, Environment.GetEnvironmentVariable(s.Name) ?? s.Default));

    static readonly (string Name, string Default)[] runtimeDefaults =
        [("DOTNET_TieredCompilation", "0"), ("DOTNET_gcConcurrent", "0")];

    /// <summary>What this process runs with, for a job's provenance: "DOTNET_TieredCompilation=0
    /// DOTNET_gcConcurrent=0; GC Batch" (the GC's latency mode: Batch when it never collects in the background).
    /// </summary>
    public static string RuntimeSettingsInEffect => string.Join(' ', runtimeDefaults.Select(s =>
        $"{s.Name}={Environment.GetEnvironmentVariable(s.Name) ?? "unset"}")) +
        $"; GC {System.Runtime.GCSettings.LatencyMode}";

    public static string Tail(string s, int max = 4000) => s.Length <= max ? s : s[^max..];

    /// <summary>"exit code 1: &lt;the worker's error&gt;" or "killed by signal 9 (SIGKILL)".</summary>
    public static string Reason(int code, string? workerError)
    {
        var error = workerError ?? "";
        if (code > 128 && code < 160)
            return $"killed by signal {code - 128} ({SignalName(code - 128)})" + (error.Length > 0 ? "; error: "
                + error : "");
        if (code == 0) return "worker exited without writing its results";
        return $"exit code {code}" + (error.Length > 0 ? ": " + error : "");
    }

    /// <summary>How a worker that exited with `code` ended: Succeeded only with its result file.</summary>
    public static JobEnded Ended(JobTicket ticket, int code, string? workerError, string stderrTail,
        string suffix = "") =>
        code == 0 && File.Exists(ticket.ResultPath)
            ? new JobEnded(ticket.Key, JobEndKind.Succeeded, 0)
            : new JobEnded(ticket.Key, JobEndKind.Failed, code, Reason(code, workerError) + suffix, stderrTail);

    static string SignalName(int s) =>
        s switch { 6 => "SIGABRT", 9 => "SIGKILL", 11 => "SIGSEGV", 15 => "SIGTERM", 2 => "SIGINT", _ => "signal" };
}
