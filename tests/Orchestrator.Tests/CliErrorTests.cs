using Orchestrator.Results;

namespace Orchestrator.Tests;

/// <summary>Commands that cannot do their work say why in one line with a documented exit code, never with a
/// .NET stack trace.</summary>
public class CliErrorTests
{
    static (int rc, string stderr) Run(params string[] args)
    {
        var (rc, _, stderr) = Cli.CommandLineTests.Run(args);
        return (rc, stderr);
    }

    [Fact]
    public void Reading_commands_before_any_sweep_say_so_and_exit_1()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        foreach (var args in new[] { new[] { "status" }, ["query", "SELECT 1"], ["report", "--sweep", "x"] })
        {
            var (rc, stderr) = Run(args);
            Assert.Equal(1, rc);
            Assert.StartsWith($"error: no results database at {Path.Combine(results, "orchestrator.db")}", stderr);
            Assert.DoesNotContain("   at ", stderr);
        }
    }

    [Fact]
    public void A_misspelt_flag_is_a_usage_error_that_starts_nothing()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        var (rc, stderr) = Run("plan", "--reevaluat");
        Assert.Equal(2, rc);
        Assert.Contains("error: unknown flag --reevaluat — did you mean --reevaluate?", stderr);
        (rc, stderr) = Run("sweep", "--sweeep", "x");
        Assert.Equal(2, rc);
        Assert.StartsWith("error: unknown flag --sweeep", stderr);
        Assert.Contains("--retry-failed", stderr);
        Assert.False(File.Exists(Path.Combine(results, "orchestrator.db")));
    }

    [Fact]
    public void A_results_database_that_is_not_one_is_a_plain_error()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        File.WriteAllText(Path.Combine(results, "orchestrator.db"), "not a database, just text that is long enough");
        var (rc, stderr) = Run("status");
        Assert.Equal(1, rc);
        Assert.StartsWith("error: results database ", stderr);
        Assert.Contains("file is not a database", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}

public class NewerSchemaTests
{
    [Fact]
    public void A_database_from_a_newer_build_is_refused_naming_both_versions()
    {
        var path = Orchestrator.Tests.Results.StoreTests.TempDb();
        var latest = ResultStore.LatestVersion;
        using (var s = ResultStore.Open(path)) s.Query($"PRAGMA user_version = {latest + 3}");
        foreach (var open in new Func<string, ResultStore>[] { ResultStore.Open, ResultStore.OpenReadOnly })
        {
            var e = Assert.Throws<InvalidDataException>(() => open(path));
            Assert.Contains($"schema version {latest + 3}, newer than this build's {latest}", e.Message);
        }
    }
}
