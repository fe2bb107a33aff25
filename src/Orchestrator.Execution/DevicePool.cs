namespace Orchestrator.Execution;

/// <summary>Where jobs may run: `cpu`, or `cuda:0,cuda:1`, each with a number of concurrent jobs.
/// Each worker gets one slot; CUDA workers are pinned with CUDA_VISIBLE_DEVICES.
/// jobs_per_device auto (<see cref="ExecutionSettings.AutoJobs"/>): one job per GPU; on the CPU, for a small model
/// one slot per core whose threads are chosen when a job starts (cores / CPU jobs then running: a job that runs
/// alone gets every core), for a large one a single job with every core. Measured on 2 cores: at the default
/// size (d_model 128) two one-thread jobs finish sooner than one two-thread job after the other; at d_model 512
/// two threads speed a step up 2.08×, so there one job keeps both.</summary>
public sealed class DevicePool
{
    /// <summary>Threads: intra-op threads of the job (0 on a GPU; <see cref="Shared"/>: chosen at start).</summary>
    public sealed record Slot(string Device, int Index, int Threads);

    public const int Shared = -1;

    /// <summary>From this width on, one CPU job uses every core (see above).</summary>
    public const int WideModel = 384;

    public IReadOnlyList<Slot> Slots { get; }
    public IReadOnlyList<string> Warnings { get; }

    public DevicePool(string devices, int jobsPerDevice, int maxJobs, bool cpuFallback, Func<int>? visibleGpus = null,
        int modelWidth = 0, int? cores = null)
    {
        int cpus = cores ?? Environment.ProcessorCount;
        bool auto = jobsPerDevice == ExecutionSettings.AutoJobs;
        var warnings = new List<string>();
        var names = devices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (names.Count == 0) throw new ArgumentException("empty device list (expected cpu or cuda:0,cuda:1,…)");
        foreach (var n in names)
            if (n != "cpu" && !(n.StartsWith("cuda") && (n == "cuda" || int.TryParse(n.AsSpan(5), out _))))
                throw new ArgumentException($"unknown device '{n}' (expected cpu, cuda or cuda:N)");
        if (names.Any(n => n.StartsWith("cuda")))
        {
            int gpus = (visibleGpus ?? CountGpus)();
            var missing = names.Where(n => n.StartsWith("cuda") && (gpus == 0 || (n.Length > 5
                && int.Parse(n[5..]) >= gpus))).ToList();
            if (missing.Count > 0)
            {
                if (!cpuFallback)
                    throw new ExecutorUnavailableException($"CUDA device(s) {string.Join(", ", missing)} requested " +
                        $"but {gpus} GPU(s) are visible; " +
                                                        "set execution.cpu_fallback: true to run on the CPU instead");
                warnings.Add($"CUDA device(s) {string.Join(", ", missing)} requested but {gpus} GPU(s) are visible: " +
                    $"falling back to the CPU");
                names = names.Except(missing).ToList();
                if (names.Count == 0) names.Add("cpu");
            }
        }
        var slots = new List<Slot>();
        int JobsOn(string n) => !auto ? jobsPerDevice : n != "cpu" ? 1 : modelWidth >= WideModel ? 1 : cpus;
        int cpuJobs = names.Where(n => n == "cpu").Sum(JobsOn);
        int threads = auto && modelWidth < WideModel ? Shared : Math.Max(1, cpus / Math.Max(1, cpuJobs));
        foreach (var n in names.Distinct())
            for (int j = 0; j < JobsOn(n); j++)
                slots.Add(new Slot(n == "cuda" ? "cuda:0" : n, j, n == "cpu" ? threads : 0));
        if (maxJobs > 0 && slots.Count > maxJobs) slots = slots.Take(maxJobs).ToList();
        Slots = slots;
        Warnings = warnings;
        Cores = cpus;
    }

    public int Cores { get; }

    /// <summary>Threads for a job about to start on a slot, given the CPU jobs that will be running with it
    /// (itself included).</summary>
    public int ThreadsFor(Slot slot, int cpuJobsRunning) => slot.Threads != Shared ? slot.Threads
        : Math.Max(1, Cores / Math.Max(1, cpuJobsRunning));

    /// <summary>GPUs visible to this host, from the NVIDIA driver's /proc entries, else from NVML (no libtorch load
    /// needed either way).</summary>
    static int CountGpus()
    {
        const string dir = "/proc/driver/nvidia/gpus";
        return Directory.Exists(dir) ? Directory.GetDirectories(dir).Length
            : Orchestrator.Training.DeviceInfo.GpuCount();
    }

    public static IDictionary<string, string> WorkerEnvironment(Slot slot)
    {
        var env = new Dictionary<string, string>();
        if (slot.Device.StartsWith("cuda")) env["CUDA_VISIBLE_DEVICES"] = slot.Device[5..];
        else env["CUDA_VISIBLE_DEVICES"] = "";
        return env;
    }
}
