using System.Diagnostics;

namespace Orchestrator.Tests;

/// <summary>`make` skips the build when nothing changed and rebuilds after any change: the decision is
/// build/fingerprint.sh's hash of the build inputs (setup.sh compares it with the last build's).</summary>
public class BuildFingerprintTests
{
    static string Fingerprint(string root)
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(Paths.RepoRoot, "build", "fingerprint.sh"), root])
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output;
    }

    [Fact]
    public void The_fingerprint_holds_while_nothing_changes_and_moves_with_any_input()
    {
        var root = Directory.CreateTempSubdirectory("fingerprint").FullName;
        foreach (var f in new[] { "src/A/A.cs", "src/A/A.csproj", "src/R/Schema.sql", "tests/T/T.cs", "build/x.sh",
                     "Directory.Build.props", "Orchestrator.sln", "global.json" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, f))!);
            File.WriteAllText(Path.Combine(root, f), f);
        }
        var first = Fingerprint(root);
        Assert.Matches("^[0-9a-f]{64}$", first);
        Assert.Equal(first, Fingerprint(root));                                   // nothing changed: no rebuild
        // Build outputs do not count.
        Directory.CreateDirectory(Path.Combine(root, "src/A/bin"));
        File.WriteAllText(Path.Combine(root, "src/A/bin/A.cs"), "output");
        Assert.Equal(first, Fingerprint(root));
        // Any source change does: an edit, a new file, a deletion.
        File.AppendAllText(Path.Combine(root, "src/A/A.cs"), "// edited");
        var edited = Fingerprint(root);
        Assert.NotEqual(first, edited);
        File.WriteAllText(Path.Combine(root, "src/A/B.cs"), "new");
        var added = Fingerprint(root);
        Assert.NotEqual(edited, added);
        File.Delete(Path.Combine(root, "src/R/Schema.sql"));
        Assert.NotEqual(added, Fingerprint(root));
        // A touched file (same content, new time) rebuilds too: safe over clever.
        var before = Fingerprint(root);
        File.SetLastWriteTimeUtc(Path.Combine(root, "tests/T/T.cs"), DateTime.UtcNow.AddMinutes(5));
        Assert.NotEqual(before, Fingerprint(root));
    }
}
