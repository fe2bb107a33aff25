namespace Orchestrator.Execution;

/// <summary>Where jobs may run: `cpu`, or `cuda:0,cuda:1`, each with a number of concurrent jobs.
/// Each worker gets one slot; CUDA workers are pinned with CUDA_VISIBLE_DEVICES.</summary>
public sealed class DevicePool
{
    public sealed record Slot(string Device, int Index, int Threads);

    public IReadOnlyList<Slot> Slots { get; }
    public IReadOnlyList<string> Warnings { get; }

    public DevicePool(string devices, int jobsPerDevice, int maxJobs, bool cpuFallback, Func<int>? visibleGpus = null)
    {
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
        int cpuJobs = names.Count(n => n == "cpu") * jobsPerDevice;
        int threads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, cpuJobs));
        foreach (var n in names.Distinct())
            for (int j = 0; j < jobsPerDevice; j++)
                slots.Add(new Slot(n == "cuda" ? "cuda:0" : n, j, n == "cpu" ? threads : 0));
        if (maxJobs > 0 && slots.Count > maxJobs) slots = slots.Take(maxJobs).ToList();
        Slots = slots;
        Warnings = warnings;
    }

    /// <summary>GPUs visible to this host, from the NVIDIA driver's /proc entries (no libtorch load needed).</summary>
    static int CountGpus()
    {
        const string dir = "/proc/driver/nvidia/gpus";
        return Directory.Exists(dir) ? Directory.GetDirectories(dir).Length : 0;
    }

    public static IDictionary<string, string> WorkerEnvironment(Slot slot)
    {
        var env = new Dictionary<string, string>();
        if (slot.Device.StartsWith("cuda")) env["CUDA_VISIBLE_DEVICES"] = slot.Device[5..];
        else env["CUDA_VISIBLE_DEVICES"] = "";
        return env;
    }
}
