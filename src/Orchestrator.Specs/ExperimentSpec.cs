namespace Orchestrator.Specs;

/// <summary>One expanded run: its canonical configuration (every default filled in), the content
/// hash that is its identity, the hash without the seed (its group), and the swept values.</summary>
public sealed record PlannedRun(
    string ConfigHash, string GroupHash, string CanonicalJson,
    IReadOnlyDictionary<string, object> Config, IReadOnlyDictionary<string, string> Axes)
{
    public string Router => (string)Config["router.type"];
    public long Seed => (long)Config["seed"];
    public RunConfig Typed => RunConfig.From(Config);
}

/// <summary>Where to run (Hydra's launcher side): the device pool and the executor.</summary>
public sealed record ExecutionSettings(string Devices = "cpu", int JobsPerDevice = 1, string Executor = "local",
    bool CpuFallback = true, double StaggerSeconds = 0.5, int MaxJobs = 0, SlurmSettings? Slurm = null)
{
    public SlurmSettings SlurmOrDefault => Slurm ?? new SlurmSettings();
}

/// <summary>Resources of each SLURM job (`execution.slurm` in a spec): each maps to one sbatch option;
/// `extra` lines are added to the batch script as written (e.g. "--qos=high", "--constraint=a100").</summary>
public sealed record SlurmSettings(string? Partition = null, int GpusPerJob = 0, int CpusPerJob = 1, string? Mem = null,
    string? Time = null, string? Account = null, IReadOnlyList<string>? Extra = null, double PollSeconds = 2)
{
    public static readonly string[] Keys = ["partition", "gpus_per_job", "cpus_per_job", "mem", "time", "account", "extra", "poll_seconds"];
}

/// <summary>A loaded, validated and expanded experiment spec.</summary>
public sealed class ExperimentSpec
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string Path { get; init; }
    /// <summary>The spec as written (its own file, the files it extends, and the overrides), for provenance.</summary>
    public required string Text { get; init; }
    public required string Hash { get; init; }
    public required IReadOnlyList<PlannedRun> Runs { get; init; }
    public required IReadOnlyList<string> SweptKeys { get; init; }
    public required ExecutionSettings Execution { get; init; }
    /// <summary>Runs produced twice by the sweep (identical configurations), computed once.</summary>
    public int Duplicates { get; init; }
}
