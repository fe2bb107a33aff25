namespace Orchestrator.Core;

/// <summary>A full disk is the machine's condition, not a job's fault: a job that meets it is interrupted (a plain
/// resume runs it again), the sweep stops starting others, and the user reads one line saying where and what to
/// do. Recognised from the errno (ENOSPC, 28, which .NET carries as the IOException's HResult on Unix), SQLite's
/// SQLITE_FULL, or either's message as a worker reports it.</summary>
public static class DiskFull
{
    const int Enospc = 28;

    static readonly string[] Messages = ["No space left on device", "database or disk is full"];

    /// <summary>`folder`: where the failed write went. SQLite reports a write to its WAL or shared-memory file on a
    /// full disk as a plain "disk I/O error" (SQLITE_IOERR), so that error counts when the folder has (almost) no
    /// space left.</summary>
    public static bool Is(Exception? e, string? folder = null) => e switch
    {
        null => false,
        IOException io when (io.HResult & 0xFFFF) == Enospc => true,
        _ when Describes(e.Message) => true,
        _ when folder != null && e.Message.Contains("disk I/O error", StringComparison.Ordinal)
            => FreeBytes(folder) < 1 << 20,
        _ => Is(e.InnerException, folder),
    };

    static long FreeBytes(string folder)
    {
        try { return new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace; }
        catch (Exception) { return long.MaxValue; }
    }

    public static bool Describes(string? reason) =>
        reason != null && Messages.Any(m => reason.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>The line the user reads (the detail names the file or the database).</summary>
    public static string Advice(string detail) =>
        $"no space left on device ({detail.Trim()}); nothing stored was lost: free space and run `make sweep` " +
        "again to resume";
}

/// <summary>A sweep stopped because the disk is full; its interrupted jobs run again on resume.</summary>
public sealed class DiskFullException(string detail) : IOException(DiskFull.Advice(detail), 28);
