using Orchestrator.Core;

namespace Orchestrator.Tests;

/// <summary>The code base's own rules, checked on its files: lines that read in one go (≤ 120 bytes) and
/// files with one job each (≤ 400 lines).</summary>
public class SourceStyleTests
{
    static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(Paths.RepoRoot, "src"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs") || f.EndsWith(".sql") || f.EndsWith(".csproj"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    [Fact]
    public void No_source_line_is_longer_than_120_characters()
    {
        var files = SourceFiles().ToList();
        Assert.True(files.Count > 50, $"only {files.Count} source files found under {Paths.RepoRoot}/src");
        var longLines = files.SelectMany(f => File.ReadAllLines(f).Select((l, i) => (f, i, l)))
            // Counted in UTF-8 bytes, as byte-oriented tools (awk, many linters) count them: α and → weigh more.
            .Where(x => System.Text.Encoding.UTF8.GetByteCount(x.l) > 120)
            .Select(x => $"{Path.GetRelativePath(Paths.RepoRoot, x.f)}:{x.i + 1} ({x.l.Length})");
        Assert.Empty(longLines);
    }

    [Fact]
    public void No_source_file_is_longer_than_400_lines()
    {
        var longFiles = SourceFiles().Where(f => f.EndsWith(".cs"))
            .Select(f => (f, n: File.ReadAllLines(f).Length)).Where(x => x.n > 400)
            .Select(x => $"{Path.GetRelativePath(Paths.RepoRoot, x.f)} ({x.n} lines)");
        Assert.Empty(longFiles);
    }
}
