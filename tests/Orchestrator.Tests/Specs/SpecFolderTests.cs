using Orchestrator.Specs;

namespace Orchestrator.Tests.Specs;

/// <summary>The hostile-spec suite: every file in Specs/Hostile/ is a malformed spec (one defect class each)
/// that must be refused with its position, key and message — listed in Hostile/expected.tsv — and never with
/// a .NET exception's text.</summary>
public class SpecFolderTests
{
    static readonly string Folder = Path.Combine(Paths.RepoRoot, "tests", "Orchestrator.Tests", "Specs", "Hostile");

    static Dictionary<string, string> Expected() => File.ReadLines(Path.Combine(Folder, "expected.tsv"))
        .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t', 2))
        .ToDictionary(p => p[0], p => p[1]);

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void The_suite_covers_at_least_sixty_defects_and_lists_every_file()
    {
        var files = Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).ToHashSet();
        Assert.True(files.Count >= 60, $"{files.Count} files");
        Assert.Equal(files.Order(), Expected().Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void A_malformed_spec_file_is_refused_with_its_position_and_a_plain_message(string file)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(Path.Combine(Folder, file)));
        var first = e.Errors[0].ToString();
        Assert.Contains(Expected()[file], first);
        Assert.Matches(@"\.yaml:\d+:\d+: ", first);
        foreach (var error in e.Errors)
        {
            Assert.DoesNotContain("Exception", error.ToString());
            Assert.DoesNotContain("   at ", error.ToString());
        }
    }
}
