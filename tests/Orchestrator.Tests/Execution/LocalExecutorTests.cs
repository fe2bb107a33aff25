using System.Reflection.PortableExecutable;
using Orchestrator.Execution;

namespace Orchestrator.Tests.Execution;

/// <summary>The local pool's workers started ahead of their jobs, and the program the make targets run.</summary>
public class LocalExecutorTests
{
    /// <summary>This process's children that are served workers (`worker --serve`), from /proc.</summary>
    static List<int> Workers() => Directory.GetDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : 0).Where(pid => pid > 0)
        .Where(pid =>
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                return parent == Environment.ProcessId &&
                       File.ReadAllText($"/proc/{pid}/cmdline").Contains("worker\0--serve");
            }
            catch (IOException) { return false; }                  // it ended while being read
        }).ToList();

    static void WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition() && DateTime.UtcNow < until) Thread.Sleep(50);
    }

    [Fact]
    public void Workers_started_ahead_fill_free_slots_once_and_end_with_the_executor()
    {
        SweepTests.FreshResults();
        Assert.Empty(Workers());
        var pool = new DevicePool("cpu", jobsPerDevice: 2, maxJobs: 0, cpuFallback: false, cores: 2);
        var executor = new LocalExecutor(pool, $"dotnet {SweepTests.WorkerDll}", staggerSeconds: 0);
        executor.Anticipate(1);
        Assert.Single(Workers());
        executor.Anticipate(1);                        // one job to come: the worker already started serves it
        Assert.Single(Workers());
        executor.Anticipate(5);                        // five to come, two free slots: one more worker, no third
        executor.Anticipate(5);
        Assert.Equal(2, Workers().Count);
        executor.Anticipate(0);
        Assert.Equal(2, Workers().Count);
        executor.Dispose();                            // idle workers do not outlive the sweep
        WaitFor(() => Workers().Count == 0);
        Assert.Empty(Workers());
    }

    [SkippableFact]
    public void The_program_make_runs_is_compiled_ahead_of_time()
    {
        var publish = Path.Combine(Path.GetDirectoryName(SweepTests.WorkerDll)!, "publish");
        Skip.IfNot(File.Exists(Path.Combine(publish, "orchestrator.dll")),
            $"{publish} is written by `make` (build/setup.sh), not by a plain dotnet build");
        foreach (var name in new[] { "orchestrator.dll", "Orchestrator.Execution.dll", "Orchestrator.Training.dll",
                     "Orchestrator.Core.dll", "TorchSharp.dll" })
        {
            using var pe = new PEReader(File.OpenRead(Path.Combine(publish, name)));
            // A ReadyToRun image carries native code behind the CLI header's managed native header.
            Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{name} is IL only");
        }
    }
}
