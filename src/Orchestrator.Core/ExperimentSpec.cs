namespace Orchestrator.Core;

/// <summary>A run's identity, computed once at expansion and carried from there to the database, the job
/// graph and the workers: the hash of its canonical configuration (every default filled in), of the same
/// without the seed (its group), of the part its base depends on, and of the part its fine-tuned model
/// depends on (all but the evaluation-only keys).</summary>
public sealed record RunIdentity(string ConfigHash, string GroupHash, string BaseHash, string FinetuneHash,
    string CanonicalJson, string BaseJson, string FinetuneJson)
{
    public static RunIdentity Of(IReadOnlyDictionary<string, object> full)
    {
        var config = full.Where(kv => ConfigSchema.Find(kv.Key, (string)full.GetValueOrDefault("router.type",
                RouterCatalog.Baseline)) is not { OmittedAtDefault: true } def
            || ConfigValues.Format(def.Default) != ConfigValues.Format(kv.Value))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
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

/// <summary>Where to run (Hydra's launcher side): the device pool and the executor (`execution:` in a spec).</summary>
public sealed record ExecutionSettings(string Devices, int JobsPerDevice, string Executor, bool CpuFallback,
    double StaggerSeconds, int MaxJobs, SlurmSettings? Slurm = null, long MaxRuns = 100_000, bool ReuseWorkers = true)
{
    /// <summary>execution.* keys, described like every other key (their defaults live here only).</summary>
    public static readonly IReadOnlyList<ParamDef> Keys =
    [
        Param.String("devices", "cpu", "cpu, cuda, cuda:N or a comma-separated list (cuda:0,cuda:1)",
            @"^\s*(cpu|cuda(:\d+)?)(\s*,\s*(cpu|cuda(:\d+)?))*\s*$",
                "cpu, cuda, cuda:N or a list such as cuda:0,cuda:1"),
        Param.String("jobs_per_device", "auto", "concurrent jobs per device: a number, or auto (on the CPU: as " +
            "many jobs as cores for models below d_model 384, each job given cores / jobs running; one job with " +
            "every core for larger models; one job per GPU)", @"^\s*(auto|[1-9][0-9]*)\s*$",
            "auto or a positive integer"),
        Param.Enum("executor", "local", ["local", "slurm"], "local device pool or SLURM"),
        Param.Bool("cpu_fallback", true, "run on the CPU when CUDA is asked for but absent"),
        Param.Float("stagger_seconds", 0.5, "pause between local worker process starts", 0),
        Param.Int("max_jobs", 0, "at most this many jobs at once (0: no limit)", 0),
        Param.Bool("reuse_workers", true, "a CPU worker that finished a job runs the next one (no process start, " +
            "runtime, libtorch or data load per job); false: a process per job. A failed job always ends its process"),
        Param.Int("max_runs", 100_000, "refuse a sweep whose axes multiply to more runs than this (counted before " +
            "any run is made)", 1, 100_000_000),
    ];

    public static ExecutionSettings Default { get; } = From(new Dictionary<string, object>());

    /// <summary>From `execution.*` values already checked against <see cref="Keys"/> (bare names; absent:
    /// default).</summary>
    public static ExecutionSettings From(IReadOnlyDictionary<string, object> v, SlurmSettings? slurm = null)
    {
        object Get(string k) => v.TryGetValue(k, out var x) ? x : Keys.Single(d => d.Key == k).Default;
        return new((string)Get("devices"), ParseJobsPerDevice(Get("jobs_per_device")), (string)Get("executor"),
            (bool)Get("cpu_fallback"), Convert.ToDouble(Get("stagger_seconds")), (int)Convert.ToInt64(Get("max_jobs")),
                slurm, Convert.ToInt64(Get("max_runs")), (bool)Get("reuse_workers"));
    }

    public SlurmSettings SlurmOrDefault => Slurm ?? SlurmSettings.Default;

    /// <summary>jobs_per_device as a number: "auto" is <see cref="AutoJobs"/>.</summary>
    public static int ParseJobsPerDevice(object value) =>
        Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!.Trim() is var s && s == "auto"
            ? AutoJobs : int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    public const int AutoJobs = 0;
}

/// <summary>Resources of each SLURM job (`execution.slurm` in a spec): each maps to one sbatch option;
/// `extra` lines are added to the batch script as written (e.g. "--qos=high", "--constraint=a100").</summary>
public sealed record SlurmSettings(string? Partition, int GpusPerJob, int CpusPerJob, string? Mem, string? Time,
    string? Account, IReadOnlyList<string>? Extra, double PollSeconds)
{
    /// <summary>execution.slurm.* keys; an empty string means "not given" (SLURM's own default).</summary>
    public static readonly IReadOnlyList<ParamDef> Keys =
    [
        Param.String("partition", "", "sbatch --partition"),
        Param.Int("gpus_per_job", 0, "sbatch --gres=gpu:N", 0, 1024),
        Param.Int("cpus_per_job", 1, "sbatch --cpus-per-task", 1, 1024),
        Param.String("mem", "", "sbatch --mem", @"^\d+[KMGT]?$",
            "sbatch --mem: megabytes, or a number with K, M, G or T (e.g. 16G)"),
        Param.String("time", "", "sbatch --time", @"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$|^(infinite|UNLIMITED)$",
            "sbatch --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"),
        Param.String("account", "", "sbatch --account"),
        new("extra", ParamType.StringList, Array.Empty<string>(), "sbatch lines added as written", Pattern: "^-",
            PatternDoc: "sbatch options such as \"--qos=high\" (a string or a list of them)"),
        Param.Float("poll_seconds", 2, "how often squeue is asked", 0, minEx: true),
    ];

    public static SlurmSettings Default { get; } = From(new Dictionary<string, object>());

    public static SlurmSettings From(IReadOnlyDictionary<string, object> v)
    {
        object Get(string k) => v.TryGetValue(k, out var x) ? x : Keys.Single(d => d.Key == k).Default;
        string? Text(string k) => Get(k) is string { Length: > 0 } t ? t : null;
        var extra = (IReadOnlyList<string>)Get("extra");
        return new(Text("partition"), (int)Convert.ToInt64(Get("gpus_per_job")),
            (int)Convert.ToInt64(Get("cpus_per_job")),
            Text("mem"), Text("time"), Text("account"), extra.Count > 0 ? extra : null,
                Convert.ToDouble(Get("poll_seconds")));
    }
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
