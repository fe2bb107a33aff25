using System.Runtime.InteropServices;

namespace Orchestrator.Core;

/// <summary>Deterministic failures for testing the runner's isolation, on the real code path:
/// ORCHESTRATOR_FAULT="&lt;job id&gt;:throw|signal|nan|enospc|ingest_kill" makes that job's worker throw at start,
/// die from SIGKILL at start, fine-tune from NaN weights (so training diverges for real), or meet a full disk
/// writing its checkpoint (where a test cannot mount a small filesystem); or kills the orchestrator itself with
/// SIGKILL in the middle of ingesting that job's result (inside the transaction).</summary>
public static class FaultInjection
{
    public static bool Wants(string jobId, string kind) =>
        Environment.GetEnvironmentVariable("ORCHESTRATOR_FAULT") is { Length: > 0 } f &&
        f.Split(',').Any(x => x == $"{jobId}:{kind}");

    [DllImport("libc")]
    private static extern int kill(int pid, int sig);

    /// <summary>The IOException a write to a full disk raises on Linux, for the file about to be written.</summary>
    public static void DiskFullAt(string jobId, string path)
    {
        if (Wants(jobId, "enospc")) throw new IOException($"No space left on device : '{path}'", 28);
    }

    public static void KillDuringIngest(string jobId)
    {
        if (Wants(jobId, "ingest_kill")) kill(Environment.ProcessId, 9);
    }

    public static void At(string jobId, string place)
    {
        if (Wants(jobId, "throw")) throw new InvalidOperationException($"injected failure in job {jobId} at {place}");
        if (Wants(jobId, "signal")) kill(Environment.ProcessId, 9);
    }
}
