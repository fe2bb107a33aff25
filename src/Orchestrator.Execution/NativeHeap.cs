using System.Runtime.InteropServices;

namespace Orchestrator.Execution;

/// <summary>glibc malloc's thresholds for this process, where libtorch's CPU tensors live. By default glibc serves
/// a block above its mmap threshold (128 KiB at first, raised as such blocks are freed, at most 32 MiB) with a
/// fresh mmap, and gives the top of its heap back to the system past its trim threshold: a training step's (T, d)
/// activations and gradients, 0.1–16 MiB each, came as new pages every step, faulted in and zeroed by the kernel
/// (307k minor page faults in 40 steps, against 81k). Fixed thresholds keep freed blocks for reuse:
/// `make bench ARGS=step`, the sweep's training step at the default size, went from 146 to 101 ms at the same
/// peak resident set (439 against 432 MB). Numbers are untouched: only where the bytes come from changes.
/// A user's own MALLOC_* or GLIBC_TUNABLES setting is left as it is.</summary>
public static class NativeHeap
{
    /// <summary>Blocks below 32 MiB (glibc's largest mmap threshold) come from the heap; 256 MiB of free heap is
    /// kept before any is given back. Setting either threshold turns off glibc's own adjustment of both, so both
    /// are set: the trim threshold alone leaves the mmap threshold at 128 KiB, and a step took 4× as long.</summary>
    public const int MmapThreshold = 32 << 20, TrimThreshold = 256 << 20;

    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    /// <summary>What this process's heap runs with, for a job's provenance (malloc_settings).</summary>
    public static string Settings { get; private set; } = "glibc defaults";

    /// <summary>Sets the thresholds once, at the process's start (the CLI, and so every worker; the test assembly).
    /// </summary>
    public static void Configure()
    {
        if (!OperatingSystem.IsLinux()) { Settings = "not glibc"; return; }
        if (UserSettings(Environment.GetEnvironmentVariable) is { } user)
        {
            Settings = "from the environment: " + user;
            return;
        }
        try
        {
            // mallopt returns 1 on success.
            if (mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1)
                Settings = $"mmap_threshold={MmapThreshold} trim_threshold={TrimThreshold}";
            else Settings = "glibc defaults (mallopt refused)";
        }
        catch (EntryPointNotFoundException) { Settings = "not glibc"; }
    }

    /// <summary>The malloc settings a user gave in the environment (glibc reads them at the process's start), or null:
    /// "MALLOC_TRIM_THRESHOLD_=… GLIBC_TUNABLES=…".</summary>
    public static string? UserSettings(Func<string, string?> environment)
    {
        var given = new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_" }
            .Where(n => environment(n) is not null).Select(n => $"{n}={environment(n)}").ToList();
        if (environment("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc."))
            given.Add($"GLIBC_TUNABLES={tunables}");
        return given.Count > 0 ? string.Join(' ', given) : null;
    }

    /// <summary>Gives the heap's free memory back to the system (between a served worker's jobs, so that the next
    /// job's peak resident set does not carry the last one's).</summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (EntryPointNotFoundException) { }      // not glibc
    }

    [DllImport("libc")] static extern int mallopt(int param, int value);
    [DllImport("libc")] static extern int malloc_trim(nuint pad);
}
