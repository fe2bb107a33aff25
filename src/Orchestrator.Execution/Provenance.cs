using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Orchestrator.Execution;

/// <summary>Where a result came from: commit, versions, device, host, times, seed, command line.</summary>
public static class Provenance
{
    static string? Meta(string key) => typeof(Provenance).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>Everything but the commit, at the job's start; <see cref="AddCommit"/> adds it at its end.</summary>
    public static Dictionary<string, string> Collect(JobTicket job, string deviceName)
    {
        var torchAsm = typeof(TorchSharp.torch).Assembly;
        return new Dictionary<string, string>
        {
            ["spec"] = job.SpecPath,
            ["config_json"] = job.ConfigJson,
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["dotnet_settings"] = WorkerExit.RuntimeSettingsInEffect,
            ["malloc_settings"] = NativeHeap.Settings,
            ["torchsharp"] = torchAsm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                                 ?.Split('+')[0] ?? torchAsm.GetName().Version?.ToString() ?? "unknown",
            // The package the build referenced; the worker adds the libtorch it actually loaded (DeviceInfo).
            ["libtorch_package"] = Meta("LibTorchPackage") ?? "unknown",
            ["device"] = deviceName,
            ["threads"] = job.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["host"] = Environment.MachineName,
            ["os"] = RuntimeInformation.OSDescription,
            ["command_line"] = job.CommandLine,
            ["started_at"] = DateTime.UtcNow.ToString("O"),
        };
    }

    /// <summary>git_commit and git_dirty, added when the job has run: a served worker asks git (two processes)
    /// only once libtorch has loaded (Worker.Serve), and the first job need not wait for it to begin.</summary>
    public static void AddCommit(Dictionary<string, string> provenance)
    {
        var (commit, dirty) = Commit();
        provenance["git_commit"] = commit;
        provenance["git_dirty"] = dirty.ToString().ToLowerInvariant();
    }

    /// <summary>The source commit: from git, or where there is no repository (a bundle built by
    /// `make gpu-bundle`) from the source-commit.txt the bundle carries ("HASH" or "HASH dirty").</summary>
    public static (string Hash, bool Dirty) Commit() => commit.Value;

    static readonly Lazy<(string, bool)> commit = new(ReadCommit);

    static (string Hash, bool Dirty) ReadCommit()
    {
        if (Git("rev-parse HEAD") is { } hash)
            return (hash, Git("status --porcelain --untracked-files=no") is { Length: > 0 });
        var file = Path.Combine(Paths.RepoRoot, SourceCommitFile);
        if (!File.Exists(file)) return ("unknown", false);
        var parts = File.ReadAllText(file).Split(' ',
            StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (parts.ElementAtOrDefault(0) ?? "unknown", parts.Contains("dirty"));
    }

    public const string SourceCommitFile = "source-commit.txt";

    public static string? Git(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", args)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                WorkingDirectory = Paths.RepoRoot,
            };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(5000);
            return p.ExitCode == 0 ? output : null;
        }
        catch (Exception) { return null; }
    }
}
