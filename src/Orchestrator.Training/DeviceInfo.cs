using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>What a job ran on, read from the machine rather than from the build: the libtorch this process actually
/// loaded (path and version, from /proc/self/maps), the GPU (name, driver, CUDA driver version, from NVML, the
/// library nvidia-smi reads) and memory: the process's peak resident set on the CPU, and on a GPU the memory
/// NVML attributes to this process. NVML, not TorchSharp: TorchSharp 0.107 exposes no CUDA memory statistics.</summary>
public static partial class DeviceInfo
{
    /// <summary>"cpu", or "cuda"/"cuda:N" as the first visible GPU (workers are pinned with CUDA_VISIBLE_DEVICES, so
    /// the GPU a worker sees is always 0). CUDA asked for but absent is an error saying what is missing.</summary>
    public static Device Resolve(string spec)
    {
        if (!spec.StartsWith("cuda")) return CPU;
        if (!cuda.is_available())
            throw new InvalidOperationException($"device {spec} requested but CUDA is not available to this build " +
                "and host (a CUDA libtorch — `make ... TORCH=cuda`, or `make gpu-bundle` on a host with PyTorch " +
                "— and an NVIDIA GPU are needed; see docs/gpu-run.md)");
        return new Device(DeviceType.CUDA, 0);
    }

    /// <summary>Provenance entries: libtorch_path, libtorch (version), and for CUDA gpu, gpu_driver, cuda_driver,
    /// cuda_runtime (the CUDA version the loaded libtorch was built for, where its installation says).</summary>
    public static Dictionary<string, string> Describe(Device device)
    {
        var d = new Dictionary<string, string>();
        if (LoadedLibtorch() is { } lib)
        {
            d["libtorch_path"] = lib;
            var (version, cudaRuntime) = LibtorchVersion(lib);
            if (version != null) d["libtorch"] = version;
            if (cudaRuntime != null) d["cuda_runtime"] = cudaRuntime;
        }
        if (device.type == DeviceType.CUDA && Nvml.Open(PhysicalIndex()) is { } gpu)
        {
            d["gpu"] = gpu.Name;
            d["gpu_memory_total_bytes"] = gpu.TotalMemory.ToString(CultureInfo.InvariantCulture);
            d["gpu_driver"] = gpu.Driver;
            d["cuda_driver"] = gpu.CudaDriver;
        }
        return d;
    }

    /// <summary>The job's peak memory so far, in bytes: on the CPU the process's peak resident set (VmHWM); on a GPU
    /// the memory NVML attributes to this process (CUDA's caching allocator keeps what it reserved at the peak, so
    /// this is the peak reserve plus the CUDA context). Null where it cannot be read.</summary>
    public static double? PeakMemoryBytes(Device device)
    {
        if (device.type == DeviceType.CUDA)
            return Nvml.Open(PhysicalIndex())?.ProcessMemory(Environment.ProcessId) is { } b ? b : null;
        return PeakResidentBytes();
    }

    /// <summary>Starts the peak resident set again from the current one (Linux: "5" into /proc/self/clear_refs), so
    /// that a job served after another in the same worker reports its own peak.</summary>
    public static void ResetPeakMemory()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>VmHWM of /proc/self/status in bytes.</summary>
    public static double? PeakResidentBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
            if (line == null) return null;
            return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { return null; }
    }

    /// <summary>The libtorch_cpu.so mapped into this process (null before the first tensor operation).</summary>
    public static string? LoadedLibtorch()
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6 && p[5].EndsWith("/libtorch_cpu.so")).Select(p => p[5]).FirstOrDefault();
        }
        catch (IOException) { return null; }
    }

    /// <summary>libtorch's version from where it is installed: a pip wheel's torch/version.py (`__version__`,
    /// `cuda`), a libtorch archive's build-version file, or the NuGet package folder's name and version.</summary>
    public static (string? Version, string? Cuda) LibtorchVersion(string libtorchCpu)
    {
        var lib = Path.GetDirectoryName(libtorchCpu)!;
        var pip = Path.Combine(lib, "..", "version.py");
        if (File.Exists(pip))
        {
            var text = File.ReadAllText(pip);
            string? Field(string name) => Regex.Match(text, $@"^{name}\s*(?::\s*\S+\s*)?=\s*'([^']*)'",
                RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : null;
            return (Field("__version__"), Field("cuda"));
        }
        var archive = Path.Combine(lib, "..", "build-version");
        if (File.Exists(archive)) return (File.ReadAllText(archive).Trim(), null);
        var nuget = NuGetFolder().Match(libtorchCpu);
        return nuget.Success ? ($"{nuget.Groups[1].Value} {nuget.Groups[2].Value}", null) : (null, null);
    }

    [GeneratedRegex(@"/(libtorch-[a-z0-9.\-]+-linux-x64)/([0-9][^/]*)/")]
    private static partial Regex NuGetFolder();

    /// <summary>GPUs the NVIDIA driver reports through NVML (0 without a driver).</summary>
    public static int GpuCount() => Nvml.Count();

    /// <summary>The physical GPU behind visible device 0: workers are pinned with CUDA_VISIBLE_DEVICES=N, while NVML
    /// numbers every GPU of the machine.</summary>
    static uint PhysicalIndex() =>
        uint.TryParse((Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "").Split(',')[0],
            out var i) ? i : 0;

    /// <summary>The few NVML calls we need (libnvidia-ml.so.1 ships with every NVIDIA driver).</summary>
    sealed class Nvml
    {
        const string Lib = "libnvidia-ml.so.1";
        [DllImport(Lib)] static extern int nvmlInit_v2();
        [DllImport(Lib)] static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);
        [DllImport(Lib)] static extern int nvmlDeviceGetCount_v2(out uint count);
        [DllImport(Lib)] static extern int nvmlDeviceGetName(IntPtr device, byte[] name, uint length);
        [DllImport(Lib)] static extern int nvmlSystemGetDriverVersion(byte[] version, uint length);
        [DllImport(Lib)] static extern int nvmlSystemGetCudaDriverVersion_v2(out int version);
        [DllImport(Lib)] static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out MemoryInfo memory);
        [DllImport(Lib)] static extern int nvmlDeviceGetComputeRunningProcesses_v3(IntPtr device, ref uint count,
            [Out] ProcessInfo[]? infos);

        [StructLayout(LayoutKind.Sequential)] struct MemoryInfo { public ulong Total, Free, Used; }
        [StructLayout(LayoutKind.Sequential)]
        struct ProcessInfo
        {
            public uint Pid; public ulong UsedGpuMemory; public uint GpuInstanceId, ComputeInstanceId;
        }

        readonly IntPtr handle;
        public string Name { get; }
        public string Driver { get; }
        public string CudaDriver { get; }
        public ulong TotalMemory { get; }

        Nvml(IntPtr handle)
        {
            this.handle = handle;
            var buffer = new byte[96];
            Name = nvmlDeviceGetName(handle, buffer, (uint)buffer.Length) == 0 ? Text(buffer) : "unknown";
            Driver = nvmlSystemGetDriverVersion(buffer, (uint)buffer.Length) == 0 ? Text(buffer) : "unknown";
            CudaDriver = nvmlSystemGetCudaDriverVersion_v2(out int v) == 0 ? $"{v / 1000}.{v % 1000 / 10}" : "unknown";
            TotalMemory = nvmlDeviceGetMemoryInfo(handle, out var m) == 0 ? m.Total : 0;
        }

        static string Text(byte[] b) => Encoding.ASCII.GetString(b, 0, Math.Max(0, Array.IndexOf(b, (byte)0)));

        public static Nvml? Open(uint index)
        {
            try
            {
                if (nvmlInit_v2() != 0 || nvmlDeviceGetHandleByIndex_v2(index, out var h) != 0) return null;
                return new Nvml(h);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        }

        public static int Count()
        {
            try { return nvmlInit_v2() == 0 && nvmlDeviceGetCount_v2(out var n) == 0 ? (int)n : 0; }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return 0; }
        }

        /// <summary>Bytes NVML attributes to process pid on this GPU, null if it lists no such process.</summary>
        public double? ProcessMemory(int pid)
        {
            uint count = 64;
            var infos = new ProcessInfo[count];
            if (nvmlDeviceGetComputeRunningProcesses_v3(handle, ref count, infos) != 0) return null;
            for (int i = 0; i < count; i++)
                if (infos[i].Pid == pid) return infos[i].UsedGpuMemory;
            return null;
        }
    }
}
