using System.Diagnostics;

namespace Orchestrator.Tests;

/// <summary>Debian's python3 with python3-pandas and its NumPy (build/setup.sh installs them), or the copy setup
/// unpacked under .cache/python without root.</summary>
static class DebianPython
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", args)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false,
        };
        var local = Path.Combine(Paths.RepoRoot, ".cache", "python");
        if (Directory.Exists(local))
        {
            psi.Environment["PYTHONPATH"] = Path.Combine(local, "usr", "lib", "python3", "dist-packages");
            var lib = Path.Combine(local, "usr", "lib", "x86_64-linux-gnu");
            psi.Environment["LD_LIBRARY_PATH"] = string.Join(":", lib, Path.Combine(lib, "blas"),
                Path.Combine(lib, "lapack"));
        }
        return psi;
    }
}
