namespace Orchestrator.Specs;

/// <summary>A run's identity, computed once at expansion and carried from there to the database, the job
/// graph and the workers: the hash of its canonical configuration (every default filled in), of the same
/// without the seed (its group), of the part its base depends on, and of the part its fine-tuned model
/// depends on (all but the evaluation-only keys).</summary>
public sealed record RunIdentity(string ConfigHash, string GroupHash, string BaseHash, string FinetuneHash,
    string CanonicalJson, string BaseJson, string FinetuneJson)
{
    public static RunIdentity Of(IReadOnlyDictionary<string, object> config)
    {
        var json = ConfigValues.CanonicalJson(config);
        var noSeed = config.Where(kv => kv.Key != "seed").ToDictionary(kv => kv.Key, kv => kv.Value);
        var baseJson = ConfigValues.CanonicalJson(RunConfig.BasePart(config));
        var finetuneJson = RunConfig.FinetuneJson(config);
        return new RunIdentity(ConfigValues.Hash(json), ConfigValues.Hash(ConfigValues.CanonicalJson(noSeed)),
            ConfigValues.Hash(baseJson), ConfigValues.Hash(finetuneJson), json, baseJson, finetuneJson);
    }
}

/// <summary>One expanded run: its identity, its configuration and the swept values.</summary>
public sealed record PlannedRun(RunIdentity Identity, IReadOnlyDictionary<string, object> Config,
    IReadOnlyDictionary<string, string> Axes)
{
    public PlannedRun(IReadOnlyDictionary<string, object> config, IReadOnlyDictionary<string, string> axes)
        : this(RunIdentity.Of(config), config, axes) { }

    public string ConfigHash => Identity.ConfigHash;
    public string GroupHash => Identity.GroupHash;
    public string BaseHash => Identity.BaseHash;
    public string FinetuneHash => Identity.FinetuneHash;
    public string CanonicalJson => Identity.CanonicalJson;
    public string Router => (string)Config["router.type"];
    public long Seed => (long)Config["seed"];
    /// <summary>The router's own parameters as JSON, e.g. {"p":0.4} — the `knobs` column.</summary>
    public string Knobs => RouterConfig.KnobsJson(Config);
    /// <summary>"top_p {"p":0.4} seed=0": how the runner and the plan name the run.</summary>
    public string Label => $"{Router} {Knobs} seed={Seed}";
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
