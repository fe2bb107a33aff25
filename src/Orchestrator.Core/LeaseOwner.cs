using System.Globalization;

namespace Orchestrator.Core;

/// <summary>Who holds a job's lease: an orchestrator process, named by host, PID and the process's start
/// time (so a reused PID is not mistaken for it), plus a nonce. A lease whose owner is on this host and no
/// longer running is known dead at once; elsewhere only the lease's expiry tells.</summary>
public sealed record LeaseOwner(string Host, int Pid, long StartTicks, string Nonce)
{
    public static LeaseOwner Current { get; } = new(Environment.MachineName, Environment.ProcessId,
        StartTicksOf(Environment.ProcessId) ?? 0, Guid.NewGuid().ToString("N")[..12]);

    public override string ToString() => string.Join(':', Host, Pid, StartTicks, Nonce);

    /// <summary>"host:pid:start:nonce" as written by <see cref="ToString"/>; null for anything else (an owner
    /// written by an older release, which only its lease's expiry can free).</summary>
    public static LeaseOwner? Parse(string? text)
    {
        var parts = text?.Split(':') ?? [];
        return parts.Length == 4 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid) &&
               long.TryParse(parts[2], CultureInfo.InvariantCulture, out var start)
            ? new LeaseOwner(parts[0], pid, start, parts[3]) : null;
    }

    /// <summary>On this host, and its process has ended (or its PID now belongs to another process).</summary>
    public bool IsKnownDead => Host == Environment.MachineName && CanSeeProcesses && StartTicksOf(Pid) != StartTicks;

    /// <summary>True when a lease string names an orchestrator known to have died.</summary>
    public static bool IsDead(string? owner) => Parse(owner)?.IsKnownDead == true;

    static readonly bool CanSeeProcesses = StartTicksOf(Environment.ProcessId) != null;

    /// <summary>A process's start time in clock ticks since boot (/proc/PID/stat, field 22); null if it is
    /// gone.</summary>
    static long? StartTicksOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException
                                      or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
