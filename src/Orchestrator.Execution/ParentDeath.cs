using System.Runtime.InteropServices;

namespace Orchestrator.Execution;

/// <summary>A worker must not outlive the orchestrator that started it: after a kill -9 of the
/// orchestrator, an orphan would keep computing a job that the resumed sweep runs again.
/// Linux delivers SIGKILL to the worker when its parent dies (PR_SET_PDEATHSIG).</summary>
internal static class ParentDeath
{
    const int PR_SET_PDEATHSIG = 1, SIGKILL = 9;

    [DllImport("libc", SetLastError = true)]
    private static extern int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [DllImport("libc")]
    private static extern int getppid();

    public static void KillMeWithParent()
    {
        if (!OperatingSystem.IsLinux()) return;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        // The parent may have died before prctl took effect: then we were re-parented (to init or a subreaper).
        var expected = Environment.GetEnvironmentVariable("ORCHESTRATOR_PARENT_PID");
        if (expected != null && int.TryParse(expected, out var pid) && getppid() != pid)
            Environment.Exit(137);
    }
}
