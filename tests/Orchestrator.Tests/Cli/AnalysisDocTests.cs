using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Markdig;
using Markdig.Syntax;
using Orchestrator.Results;

namespace Orchestrator.Tests.Cli;

/// <summary>docs/analysis.md answers each question in SQL and in pandas: both are run on a database of two sweeps
/// that share runs (one failed, items and findings stored), and must give the same table, cell for cell.</summary>
public class AnalysisDocTests
{
    static readonly string Doc = Path.Combine(Paths.RepoRoot, "docs", "analysis.md");

    static ProcessStartInfo Python() => DebianPython.StartInfo();

    sealed record Question(string Title, string Sql, string Pandas);

    static (string setup, List<Question> questions) Parse()
    {
        var doc = Markdown.Parse(File.ReadAllText(Doc));
        string? setup = null, title = null, sqlText = null;
        var questions = new List<Question>();
        foreach (var block in doc)
        {
            if (block is HeadingBlock { Level: 2 } h)
            {
                title = h.Inline?.FirstChild?.ToString();
                sqlText = null;
            }
            if (block is not FencedCodeBlock code) continue;
            var text = code.Lines.ToString();
            if (code.Info == "sql") sqlText = text;
            else if (code.Info == "python" && title == "Setup") setup = text;
            else if (code.Info == "python")
            {
                Assert.True(sqlText != null, $"'{title}': its pandas block has no SQL block before it");
                questions.Add(new Question(title!, sqlText!, text));
                sqlText = null;
            }
        }
        return (setup ?? throw new InvalidDataException("docs/analysis.md has no Setup block"), questions);
    }

    static string Database()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        var path = Path.Combine(results, "orchestrator.db");
        using var store = ResultStore.Open(path);
        var spec = Tests.Results.StoreTests.Spec("s", seeds: 2);
        store.RegisterSweep(spec);
        store.RegisterSweep(Tests.Results.StoreTests.Spec("t", seeds: 1));    // shares half of s's runs
        var rng = new Random(7);
        foreach (var (run, i) in spec.Runs.Select((r, i) => (r, i)))
        {
            Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(run.ConfigHash), "me", 60));
            if (i == 3) { store.Jobs.Fail(JobKey.Evaluate(run.ConfigHash), "loss became NaN at step 7", 1, "tail"); continue; }
            var bundle = Tests.Results.StoreTests.Bundle(run.ConfigHash, 2000 - 150 * i, 0.4 + 0.03 * i);
            bundle.Provenance["threads"] = (1 + i % 2).ToString(CultureInfo.InvariantCulture);
            for (int d = 1; d <= 2; d++)
                for (int item = 0; item < 20; item++)
                    bundle.Items.Add(new ItemResult("addition", d, item, rng.NextDouble() < 0.6 - 0.1 * d,
                        -rng.NextDouble() * 3, 2, 1.5 + rng.NextDouble(), 1.6));
            store.Ingest(bundle);
        }
        Orchestrator.Analysis.Findings.Refresh(store, "s");
        return path;
    }

    [Fact]
    public void Every_question_gives_the_same_answer_in_sql_and_in_pandas()
    {
        var (setup, questions) = Parse();
        Assert.Equal(10, questions.Count);
        var db = Database();
        setup = setup.Replace("results/orchestrator.db", db);
        Assert.Contains(db, setup);

        // One Python process runs every pandas block in a namespace of its own after the setup, and prints each
        // `answer` as JSON (NaN as null, numpy scalars as Python numbers).
        const string Harness = """
            import json, math, sys
            blocks = json.load(sys.stdin)
            base = {}
            exec(blocks["setup"], base)
            def cell(v):
                v = v.item() if hasattr(v, "item") else v
                return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
            for code in blocks["questions"]:
                ns = dict(base)
                exec(code, ns)
                df = ns["answer"].reset_index(drop=True)
                print(json.dumps({"columns": [str(c) for c in df.columns],
                                  "rows": [[cell(v) for v in row] for row in df.itertuples(index=False)]}))
            """;
        var psi = Python();
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Harness);
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(JsonSerializer.Serialize(new { setup, questions = questions.Select(q => q.Pandas) }));
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"pandas blocks failed (is python3-pandas installed? build/setup.sh installs " +
                                     $"it):\n{stderr}");
        var answers = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(questions.Count, answers.Count);

        using var store = ResultStore.OpenReadOnly(db);
        for (int q = 0; q < questions.Count; q++)
        {
            var title = questions[q].Title;
            var sql = store.QueryReadOnly(questions[q].Sql, TimeSpan.FromSeconds(30));
            var pandas = answers[q];
            Assert.Equal(sql.Columns, pandas.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!));
            var rows = pandas.GetProperty("rows").EnumerateArray().ToList();
            Assert.True(sql.Rows.Count > 0, $"'{title}' has no rows to compare");
            Assert.True(sql.Rows.Count == rows.Count, $"'{title}': SQL {sql.Rows.Count} rows, pandas {rows.Count}");
            for (int r = 0; r < rows.Count; r++)
            {
                var cells = rows[r].EnumerateArray().ToList();
                for (int c = 0; c < cells.Count; c++)
                    Assert.True(Same(sql.Rows[r][c], cells[c]),
                        $"'{title}' row {r} column {sql.Columns[c]}: SQL {sql.Rows[r][c]}, pandas {cells[c]}");
            }
        }
    }

    /// <summary>Numbers equal to 1e-9 (SQLite and NumPy sum in different orders), text and NULL exactly.</summary>
    static bool Same(object? sql, JsonElement pandas) => (sql, pandas.ValueKind) switch
    {
        (null, JsonValueKind.Null) => true,
        (string s, JsonValueKind.String) => s == pandas.GetString(),
        (long or double, JsonValueKind.Number) => Math.Abs(Convert.ToDouble(sql, CultureInfo.InvariantCulture)
            - pandas.GetDouble()) <= 1e-9 * Math.Max(1, Math.Abs(pandas.GetDouble())),
        (long l, JsonValueKind.True or JsonValueKind.False) => l == (pandas.GetBoolean() ? 1 : 0),
        _ => false,
    };
}
