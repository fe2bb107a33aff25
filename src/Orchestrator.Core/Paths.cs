namespace Orchestrator.Core;

/// <summary>Every path the orchestrator uses, in one place. ORCHESTRATOR_RESULTS overrides the results root.</summary>
public static class Paths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Results => Environment.GetEnvironmentVariable("ORCHESTRATOR_RESULTS") is { Length: > 0 } r
        ? Path.GetFullPath(r) : Path.Combine(RepoRoot, "results");

    public static string Database => Path.Combine(Results, "orchestrator.db");
    public static string DataCache => Path.Combine(Results, "data");
    /// <summary>Pretrained bases: checkpoints/&lt;base hash&gt;/model.bin.</summary>
    public static string Checkpoints => Path.Combine(Results, "checkpoints");
    /// <summary>Fine-tuned models: finetunes/&lt;fine-tune hash&gt;/model.bin and train.json.</summary>
    public static string Finetunes => Path.Combine(Results, "finetunes");
    public static string Jobs => Path.Combine(Results, "jobs");
    /// <summary>A sweep's SLURM batch scripts, task lists and batch output: jobs/slurm-&lt;sweep&gt;/.</summary>
    public static string SlurmBatches(string sweep) => Path.Combine(Jobs, "slurm-" + sweep);
    public static string Bench => Path.Combine(Results, "bench");
    public static string Sweep(string name) => Path.Combine(Results, name);

    /// <summary>A path as the results store records it: relative to the results folder when it lies inside it,
    /// so that a moved or copied results folder keeps working; absolute otherwise.</summary>
    public static string ToStored(string path)
    {
        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(Results, full);
        bool outside = relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar) ||
                       Path.IsPathRooted(relative);
        return outside ? full : relative;
    }

    /// <summary>A stored path back to a file on disk (stores written before relative paths hold absolute
    /// ones).</summary>
    public static string FromStored(string stored) =>
        Path.IsPathRooted(stored) ? stored : Path.Combine(Results, stored);

    /// <summary>ORCHESTRATOR_ROOT, when set (a bundle from `make gpu-bundle`); else the folder holding
    /// Orchestrator.sln, above the working directory or the program.</summary>
    static string FindRepoRoot()
    {
        if (Environment.GetEnvironmentVariable("ORCHESTRATOR_ROOT") is { Length: > 0 } root)
            return Path.GetFullPath(root);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir != null)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) return dir.FullName;
                dir = dir.Parent;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
