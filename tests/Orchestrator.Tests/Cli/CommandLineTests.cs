using Orchestrator.Execution;

namespace Orchestrator.Tests.Cli;

/// <summary>Every command, driven as a new user drives it: `--help` prints and starts nothing, `--version` names
/// the commit, a misspelt flag and a bad value are usage errors (exit 2) with what was meant, on stderr.</summary>
public class CommandLineTests
{
    internal static (int rc, string stdout, string stderr) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (Orchestrator.Cli.Cli.Run(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    // command, a misspelt flag and what it should suggest, a bad value and the message it should give
    public static TheoryData<string, string, string, string[], string> Commands => new()
    {
        { "sweep", "--spek", "--spec", ["--max-jobs", "abc"], "--max-jobs must be an integer ≥ 0, got 'abc'" },
        { "plan", "--reevaluat", "--reevaluate", ["--format", "xml"],
            "--format must be one of table, csv, json, got 'xml'" },
        { "status", "--sweeep", "--sweep", ["--format", "jsn"],
            "--format must be one of table, csv, json, got 'jsn' — did you mean json?" },
        { "cancel", "--sweeep", "--sweep", [], "Option '--sweep' is required" },
        { "query", "--formt", "--format", ["--timeout", "soon", "SELECT 1"], "--timeout must be a number ≥ 0.1, got 'soon'" },
        { "report", "--sweps", "--sweeps", ["--sweep"], "Required argument missing for option: '--sweep'" },
        { "export", "--outt", "--out", ["--out"], "Required argument missing for option: '--out'" },
        { "bench", "--round", "--rounds", ["--rounds", "0"], "--rounds must be an integer ≥ 1, got '0'" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_help_a_version_and_refuses_misspelt_flags_and_bad_values(string command,
        string misspelt, string meant, string[] badValue, string message)
    {
        var results = Tests.Execution.SweepTests.FreshResults();

        var (rc, stdout, stderr) = Run(command, "--help");
        Assert.Equal(0, rc);
        Assert.Matches($@"Usage:\s+\S+ {command}\b", stdout);     // the program's name: orchestrator, or the test host
        Assert.Contains("Options:", stdout);
        Assert.Equal("", stderr);

        (rc, stdout, _) = Run(command, "--version");
        Assert.Equal(0, rc);
        Assert.StartsWith("orchestrator ", stdout);
        var commit = Provenance.Git("rev-parse --short=12 HEAD");
        Assert.NotNull(commit);
        Assert.Contains($"commit {commit}", stdout);

        (rc, stdout, stderr) = Run(command, misspelt, "x");
        Assert.Equal(2, rc);
        Assert.Contains($"error: unknown flag {misspelt} — did you mean {meant}?", stderr);
        Assert.Equal("", stdout);

        (rc, stdout, stderr) = Run([command, .. badValue]);
        Assert.Equal(2, rc);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("", stdout);

        // None of it touched the results folder: no database, no job, no log.
        Assert.Empty(Directory.EnumerateFileSystemEntries(results));
    }

    [Fact]
    public void Sweep_help_starts_nothing_even_with_a_spec_and_overrides()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        var (rc, stdout, _) = Run("sweep", "--spec", Path.Combine(Paths.RepoRoot, "experiments", "default.yaml"),
            "finetune.steps=5", "--help");
        Assert.Equal(0, rc);
        Assert.Contains("--jobs-per-device <N|auto>", stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(results));
    }

    [Fact]
    public void No_command_or_an_unknown_one_is_a_usage_error_that_lists_the_commands()
    {
        Tests.Execution.SweepTests.FreshResults();
        var (rc, stdout, _) = Run();
        Assert.Equal(2, rc);
        Assert.Contains("Commands:", stdout);
        string stderr;
        (rc, _, stderr) = Run("sweeep");
        Assert.Equal(2, rc);
        Assert.StartsWith("error: unknown command 'sweeep' — did you mean sweep? (commands: sweep, plan, status", stderr);
    }

    [Fact]
    public void Unknown_sweeps_are_refused_naming_the_known_ones()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        using (var s = Orchestrator.Results.ResultStore.Open(Path.Combine(results, "orchestrator.db")))
            s.RegisterSweep(Tests.Results.StoreTests.Spec("mine", seeds: 1));
        foreach (var args in new[] { new[] { "status", "--sweep", "nope" }, ["cancel", "--sweep", "nope"],
                     ["report", "--sweep", "nope"] })
        {
            var (rc, stdout, stderr) = Run(args);
            Assert.Equal(2, rc);
            Assert.Equal("error: unknown sweep nope (known: mine)\n", stderr);
            Assert.Equal("", stdout);
        }
    }

    [Fact]
    public void Under_make_an_error_names_the_make_variable_of_the_flag()
    {
        Tests.Execution.SweepTests.FreshResults();
        var old = Environment.GetEnvironmentVariable("ORCHESTRATOR_MAKE_VARS");
        Environment.SetEnvironmentVariable("ORCHESTRATOR_MAKE_VARS", "spec=SPEC sweep=SWEEP sweeps=SWEEPS format=FORMAT");
        try
        {
            var (rc, _, stderr) = Run("report");
            Assert.Equal(2, rc);
            Assert.Equal("error: report needs --sweep NAME or --sweeps \"A B\" (make: SWEEP=…, SWEEPS=…)\n", stderr);
            (rc, _, stderr) = Run("status", "--format", "xml");
            Assert.Equal(2, rc);
            Assert.StartsWith("error: --format must be one of table, csv, json, got 'xml' (make: FORMAT=…)", stderr);
        }
        finally { Environment.SetEnvironmentVariable("ORCHESTRATOR_MAKE_VARS", old); }
    }
}
