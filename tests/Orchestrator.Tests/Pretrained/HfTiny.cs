using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Training.Data;

namespace Orchestrator.Tests.Pretrained;

/// <summary>The independent side of the checkpoint tests: tools/hf_tiny.py (NumPy only) writes tiny Hugging Face
/// checkpoints and computes their reference forward from the published modeling code.</summary>
public static class HfTiny
{
    static string Run(params string[] args)
    {
        var script = Path.Combine(Paths.RepoRoot, "tools", "hf_tiny.py");
        using var p = Process.Start(DebianPython.StartInfo([script, .. args]))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"hf_tiny.py {string.Join(' ', args)} failed:\n{stderr}");
        return stdout.Result;
    }

    public static string CorpusFile => Path.Combine(Corpus.FortuneDirs().First(Directory.Exists), "fortunes");

    /// <summary>Writes a tiny checkpoint of `arch` into a new temporary folder; returns the folder.</summary>
    public static string Write(string arch, string layout = "per_expert", string dtype = "float32", int shards = 1,
        int seed = 0)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"hf-{arch}-{layout}-{dtype}-{shards}-{Guid.NewGuid():N}");
        Run("write", "--arch", arch, "--out", dir, "--corpus", CorpusFile, "--layout", layout, "--dtype", dtype,
            "--shards", shards.ToString(), "--seed", seed.ToString());
        return dir;
    }

    /// <summary>The reference logits (prompt, position, vocab) of the folder's model.</summary>
    public static double[][][] Logits(string folder, IEnumerable<int[]> prompts)
    {
        var args = new List<string> { "forward", folder };
        foreach (var p in prompts) args.AddRange(["--tokens", string.Join(",", p)]);
        using var doc = JsonDocument.Parse(Run([.. args]));
        return doc.RootElement.GetProperty("logits").EnumerateArray().Select(prompt => prompt.EnumerateArray()
            .Select(pos => pos.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray()).ToArray();
    }
}
