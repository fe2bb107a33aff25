using System.Runtime.InteropServices;
using Orchestrator.Execution;

namespace Orchestrator.Tests.Execution;

public class NativeHeapTests
{
    /// <summary>Whether glibc served the block at p with an mmap of its own: the IS_MMAPPED bit (2) of the chunk's size
    /// word, the 8 bytes before the pointer malloc returned (glibc's chunk layout on 64-bit).</summary>
    static bool Mapped(IntPtr p) => (Marshal.ReadInt64(p, -8) & 2) != 0;

    /// <summary>A block of `bytes` from malloc (Marshal.AllocHGlobal on Unix), freed again: was it mapped?</summary>
    static bool MappedBlock(int bytes)
    {
        var p = Marshal.AllocHGlobal(bytes);
        try { return Mapped(p); }
        finally { Marshal.FreeHGlobal(p); }
    }

    [Fact]
    public void Blocks_under_the_threshold_come_from_the_heap()
    {
        if (!OperatingSystem.IsLinux()) return;
        // The test assembly configures the heap at its start, as the CLI (and so every worker) does.
        Assert.Equal($"mmap_threshold={NativeHeap.MmapThreshold} trim_threshold={NativeHeap.TrimThreshold}",
            NativeHeap.Settings);
        // A 4 MiB activation — above glibc's initial 128 KiB threshold, so mapped in a fresh process with glibc's
        // defaults — is heap, reused once freed, not fresh pages. (A block above the threshold is mapped only when
        // the heap's free top cannot hold it, which after other tests' work it may: no assertion either way.)
        Assert.False(MappedBlock(4 << 20));
        Assert.False(MappedBlock(NativeHeap.MmapThreshold - (1 << 20)));
    }

    [Fact]
    public void A_users_own_malloc_settings_are_kept_and_named()
    {
        var env = new Dictionary<string, string>
        {
            ["MALLOC_TRIM_THRESHOLD_"] = "1000000", ["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=2", ["PATH"] = "/bin",
        };
        Assert.Equal("MALLOC_TRIM_THRESHOLD_=1000000 GLIBC_TUNABLES=glibc.malloc.arena_max=2",
            NativeHeap.UserSettings(n => env.GetValueOrDefault(n)));
        // Tunables of other parts of glibc are not malloc settings.
        Assert.Null(NativeHeap.UserSettings(n => n == "GLIBC_TUNABLES" ? "glibc.pthread.rseq=0" : null));
        Assert.Null(NativeHeap.UserSettings(_ => null));
    }
}
