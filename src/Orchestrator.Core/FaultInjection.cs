using System.Runtime.InteropServices;

namespace Orchestrator.Core;

/// <summary>Deterministic failures for testing the runner's isolation, on the real code path:
/// ORCHESTRATOR_FAULT="&lt;job id&gt;:throw|signal|nan" makes that job's worker throw at start, die from
/// SIGKILL at start, or fine-tune from NaN weights (so training diverges for real).</summary>
public static class FaultInjection
{
    public static bool Wants(string jobId, string kind) =>
        Environment.GetEnvironmentVariable("ORCHESTRATOR_FAULT") is { Length: > 0 } f &&
        f.Split(',').Any(x => x == $"{jobId}:{kind}");

    [DllImport("libc")]
    private static extern int kill(int pid, int sig);

    public static void At(string jobId, string place)
    {
        if (Wants(jobId, "throw")) throw new InvalidOperationException($"injected failure in job {jobId} at {place}");
        if (Wants(jobId, "signal")) kill(Environment.ProcessId, 9);
    }
}
