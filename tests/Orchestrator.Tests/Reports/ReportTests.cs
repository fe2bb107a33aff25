using System.Globalization;
using Orchestrator.Reports;
using Orchestrator.Results;
using Orchestrator.Tests.Results;
using SkiaSharp;

namespace Orchestrator.Tests.Reports;

/// <summary>Reports from a fixture database (bundles ingested through the real store).</summary>
public class ReportTests
{
    static (ResultStore store, string dir, List<string> ids) Fixture()
    {
        var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec(seeds: 2);
        store.RegisterSweep(spec);
        var ids = spec.Runs.Select(r => r.ConfigHash).ToList();
        int i = 0;
        foreach (var r in spec.Runs)
        {
            store.Jobs.TryClaim(JobKey.Evaluate(r.ConfigHash), "t", 60);
            if (r.Router == "top_p" && (double)r.Config["router.p"] == 0.3 && r.Seed == 1) { store.Jobs.Fail(JobKey.Evaluate(r.ConfigHash), "exit code 1: out of memory", 1, "tail"); continue; }
            store.Ingest(StoreTests.Bundle(r.ConfigHash, r.Router == "top_k" ? 2000 : 1500 + 100 * i, 0.4 + 0.05 * i));
            i++;
        }
        // Ada-K runs over λ on the same sweep name, for the λ plot.
        var ada = Orchestrator.Specs.SpecLoader.LoadText("name: s\nsweep:\n  router:\n    ada_k: {lambda: [0.0, 0.1]}\n");
        store.RegisterSweep(ada);
        foreach (var r in ada.Runs)
        {
            store.Jobs.TryClaim(JobKey.Evaluate(r.ConfigHash), "t", 60);
            store.Ingest(StoreTests.Bundle(r.ConfigHash, 1200, 0.3));
            ids.Add(r.ConfigHash);
        }
        return (store, Directory.CreateTempSubdirectory("orch-report").FullName, ids);
    }

    static (int width, int height, double spread) Inspect(string png)
    {
        using var bmp = SKBitmap.Decode(png);
        var lum = new List<double>();
        for (int y = 0; y < bmp.Height; y += 4)
            for (int x = 0; x < bmp.Width; x += 4) { var c = bmp.GetPixel(x, y); lum.Add(0.3 * c.Red + 0.59 * c.Green + 0.11 * c.Blue); }
        double mean = lum.Average();
        return (bmp.Width, bmp.Height, Math.Sqrt(lum.Average(v => (v - mean) * (v - mean))));
    }

    [Fact]
    public void Every_plot_is_produced_non_blank_at_its_size_and_the_report_lists_every_run()
    {
        var (store, dir, ids) = Fixture();
        using var _ = store;
        var output = new ReportBuilder(store).Build(["s"], dir);
        var expected = new[] { "experts_by_layer", "accuracy_vs_flops", "eval_loss_vs_flops", "experts_by_difficulty", "experts_by_token_class",
                               "experts_histogram", "training_curves", "ada_k_lambda" };
        foreach (var name in expected)
        {
            Assert.True(File.Exists(Path.Combine(dir, name + ".svg")), name + ".svg");
            var (w, h, spread) = Inspect(Path.Combine(dir, name + ".png"));
            Assert.Equal((ReportBuilder.Width, ReportBuilder.Height), (w, h));
            Assert.True(spread > 10, $"{name}.png looks blank (luminance spread {spread:F1})");
        }
        Assert.Equal(7, Directory.GetFiles(dir, "load_*.png").Length);      // one heatmap per completed run
        var html = File.ReadAllText(output.Html);
        foreach (var id in ids) Assert.Contains(id, html);
        Assert.DoesNotContain("src=\"experts_by_layer.png\"", html);       // self-contained: images are data URIs
        Assert.Contains("data:image/png;base64,", html);
    }

    [Fact]
    public void Table_numbers_equal_the_sql_and_failures_are_named()
    {
        var (store, dir, ids) = Fixture();
        using var _ = store;
        var md = File.ReadAllText(new ReportBuilder(store).Build(["s"], dir).Markdown);
        // Per configuration: task accuracy pooled over seeds (correct / items) with its Wilson interval, from SQL.
        foreach (var row in store.Query("""
                     SELECT r.router, r.knobs, sum(t.correct), sum(t.samples), count(DISTINCT r.run_id)
                     FROM run_summary r JOIN task_results t ON t.run_id = r.run_id
                     WHERE r.status = 'completed' AND t.task NOT LIKE 'mc:%' GROUP BY r.router, r.knobs
                     """).Rows)
        {
            var label = ReportBuilder.ConfigLabel((string)row[0]!, (string)row[1]!);
            var byConfig = md[md.IndexOf("## By router", StringComparison.Ordinal)..md.IndexOf("## Accuracy by task",
                StringComparison.Ordinal)];
            var line = byConfig.Split('\n').Single(l => l.StartsWith($"| {label} |"));
            var cells = line.Split('|').Select(c => c.Trim()).ToArray();
            Assert.Equal(Convert.ToInt64(row[4]).ToString(CultureInfo.InvariantCulture), cells[2]);
            var wilson = Orchestrator.Analysis.Statistics.Wilson(Convert.ToInt64(row[2]), Convert.ToInt64(row[3]));
            Assert.Equal($"{wilson.Estimate:0.000} [{wilson.Low:0.000}, {wilson.High:0.000}] (n={row[3]})", cells[3]);
        }
        Assert.Contains("exit code 1: out of memory", md);
        // Token-wise table: the fixture's only word "the" (12 tokens, 1.1 experts) under every configuration.
        Assert.Contains("| top_k k=2 | the (1.1) | the (1.1) |", md);
        Assert.Contains("| failed |", md);
    }

    [Fact]
    public void A_report_over_two_sweeps_compares_them_side_by_side()
    {
        var (store, dir, ids) = Fixture();
        using var _ = store;
        // Sweep t shares one configuration with s (top_k k=2, seed 0: one run, computed once) and adds null experts.
        var t = Orchestrator.Specs.SpecLoader.LoadText("name: t\nsweep:\n  seeds: 1\n  router:\n    top_k: {k: 2}\n    null_experts: {nulls: 4, k: 3}\n");
        Assert.Single(store.RegisterSweep(t));
        var nulls = t.Runs.Single(r => r.Router == "null_experts").ConfigHash;
        store.Jobs.TryClaim(JobKey.Evaluate(nulls), "t", 60);
        store.Ingest(StoreTests.Bundle(nulls, 1300, 0.9));

        var md = File.ReadAllText(new ReportBuilder(store).Build(["s", "t"], dir).Markdown);
        var compared = md[md.IndexOf("## Sweeps compared", StringComparison.Ordinal)..md.IndexOf("## By router", StringComparison.Ordinal)];
        foreach (var sweep in new[] { "s", "t" })
        {
            var sql = store.Query("""
                SELECT count(*), sum(s.status = 'completed'), sum(s.status = 'failed'), max(s.accuracy), min(s.mean_experts_per_token), w.spec_hash
                FROM sweep_runs sr JOIN run_summary s USING (sweep, run_id) JOIN sweeps w ON w.name = sr.sweep WHERE sr.sweep = $w
                """, ("$w", sweep)).Rows[0];
            var cells = compared.Split('\n').Single(l => l.StartsWith($"| {sweep} |")).Split('|').Select(c => c.Trim()).ToArray();
            Assert.Equal([Convert.ToString(sql[0], CultureInfo.InvariantCulture), Convert.ToString(sql[1], CultureInfo.InvariantCulture),
                          Convert.ToString(sql[2], CultureInfo.InvariantCulture)], cells[2..5]);
            // The best run's task accuracy, pooled over its items, with its interval and item count.
            var best = store.Query("""
                SELECT sum(t.correct), sum(t.samples) FROM task_results t WHERE t.task NOT LIKE 'mc:%' AND t.run_id =
                  (SELECT s.run_id FROM sweep_runs sr JOIN run_summary s USING (sweep, run_id)
                   WHERE sr.sweep = $w AND s.status = 'completed' ORDER BY s.accuracy DESC LIMIT 1)
                """, ("$w", sweep)).Rows[0];
            var wilson = Orchestrator.Analysis.Statistics.Wilson(Convert.ToInt64(best[0]), Convert.ToInt64(best[1]));
            Assert.Equal(FormattableString.Invariant(
                $"{wilson.Estimate:0.000} [{wilson.Low:0.000}, {wilson.High:0.000}] (n={best[1]})"), cells[5]);
            Assert.Equal((double)sql[4]!, double.Parse(cells[6], CultureInfo.InvariantCulture), 4);
            Assert.Equal((string)sql[5]!, cells[7]);
        }
        // Each configuration is labelled with its sweep; the shared run counts in both.
        Assert.Contains("| s: top_k k=2 | 2 |", md);
        Assert.Contains("| t: top_k k=2 | 1 |", md);
        Assert.Contains("| t: null_experts m=4 k=3 | 1 |", md);
        Assert.Contains("9 runs: 8 completed, 1 failed", md);       // distinct runs: 8 in s, 1 new in t
        foreach (var id in ids.Append(nulls)) Assert.Contains(id, md);

        // The command behind `make report SWEEPS="s t"`, against the same database.
        var results = Directory.CreateTempSubdirectory("orch-results").FullName;
        File.Copy(store.Path, Path.Combine(results, "orchestrator.db"));
        foreach (var suffix in new[] { "-wal", "-shm" })
            if (File.Exists(store.Path + suffix)) File.Copy(store.Path + suffix, Path.Combine(results, "orchestrator.db" + suffix));
        var saved = Environment.GetEnvironmentVariable("ORCHESTRATOR_RESULTS");
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var (o, e) = (Console.Out, Console.Error);
        Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", results);
        Console.SetOut(stdout); Console.SetError(stderr);
        try
        {
            Assert.Equal(0, Orchestrator.Cli.Cli.Run(["report", "--sweeps", "s t"]));
            Assert.Equal(2, Orchestrator.Cli.Cli.Run(["report", "--sweeps", "s nope"]));
        }
        finally { Console.SetOut(o); Console.SetError(e); Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", saved); }
        Assert.True(File.Exists(Path.Combine(results, "s+t", "report.html")), stdout.ToString() + stderr);
        Assert.Contains("## Sweeps compared", File.ReadAllText(Path.Combine(results, "s+t", "report.md")));
        Assert.Contains("unknown sweep nope (known: s, t)", stderr.ToString());
    }

    [Fact]
    public void Plot_text_renders_headless()
    {
        PlotFonts.Register();
        Assert.Equal(PlotFonts.Family, ScottPlot.Fonts.Default);
        var dir = Directory.CreateTempSubdirectory().FullName;
        string Render(string title)
        {
            var p = new ScottPlot.Plot();
            p.Add.Scatter(new double[] { 0, 1 }, new double[] { 0, 1 });
            p.Title(title);
            var f = Path.Combine(dir, (title.Length == 0 ? "none" : "title") + ".png");
            p.SavePng(f, 400, 300);
            return f;
        }
        using var with = SKBitmap.Decode(Render("Experts per token"));
        using var without = SKBitmap.Decode(Render(""));
        int differing = 0;
        for (int y = 0; y < 40; y++)
            for (int x = 0; x < 400; x++)
                if (with.GetPixel(x, y) != without.GetPixel(x, y)) differing++;
        Assert.True(differing > 200, $"the title changed only {differing} pixels: text is not rendering");
    }

    [Theory]
    [InlineData("top_p", "{\"entropy_coef\":0.0001,\"max_experts\":0,\"normalize\":false,\"p\":0.4}", "top_p p=0.4")]
    [InlineData("top_p", "{\"entropy_coef\":0.0001,\"max_experts\":2,\"normalize\":true,\"p\":0.3}", "top_p p=0.3 max_experts=2 normalize=true")]
    [InlineData("null_experts", "{\"k\":3,\"nulls\":8}", "null_experts m=8 k=3")]
    [InlineData("adaptive_gating", "{\"normalize\":true,\"threshold\":0.2}", "adaptive_gating T=0.2")]
    public void Configuration_labels_name_the_papers_knobs(string router, string knobs, string expected) =>
        Assert.Equal(expected, ReportBuilder.ConfigLabel(router, knobs));

    [Fact]
    public void A_point_is_dominated_only_when_a_cheaper_one_is_better_beyond_both_intervals()
    {
        static Orchestrator.Analysis.Interval I(double lo, double hi) => new((lo + hi) / 2, lo, hi, 100, "wilson");
        var pts = new List<(double, Orchestrator.Analysis.Interval)>
        {
            (1, I(0.50, 0.60)),     // cheapest
            (2, I(0.55, 0.70)),     // overlaps the cheaper one: not dominated
            (3, I(0.30, 0.45)),     // wholly below a cheaper one: dominated
            (0.5, I(0.10, 0.20)),   // cheapest of all, worst: nothing cheaper, not dominated
            (4, Orchestrator.Analysis.Interval.Undefined(0.1, 1, "wilson")),   // no interval: never marked
        };
        Assert.Equal([false, false, true, false, false], ReportBuilder.DominatedWithConfidence(pts, higherBetter: true));
        // Lower is better (loss): the cheapest point is now wholly below the others, which it dominates.
        Assert.Equal([true, true, true, false, false], ReportBuilder.DominatedWithConfidence(pts, higherBetter: false));
    }

    [Fact]
    public void Training_curves_are_smoothed_with_an_ema_started_at_the_first_value()
    {
        Assert.Equal([4.0, 3.0, 3.5], ReportBuilder.Ema([4.0, 2.0, 4.0], 0.5));
        Assert.Empty(ReportBuilder.Ema([], 0.9));
    }

    [Fact]
    public void Confidence_interval_uses_students_t()
    {
        var ci = MeanCi.Of([1.0, 2.0, 3.0]);
        Assert.Equal(2.0, ci.Mean, 9);
        // t(0.975, df 2) = 4.302652729749464 (exact, not a rounded table value)
        Assert.Equal(4.302652729749464 / Math.Sqrt(3), ci.HalfWidth, 9);
        Assert.Equal(3, ci.N);
    }
}
