using Orchestrator.Analysis;
using Orchestrator.Results;
using Orchestrator.Specs;
using Orchestrator.Tests.Results;

namespace Orchestrator.Tests.Analysis;

/// <summary>Findings computed from stored rows with planted effects: a verdict of each kind, the numbers
/// in the `findings` view, the runs they came from.</summary>
public class FindingsTests
{
    /// <summary>An evaluation result with `items` task items per difficulty 1–4 (correct with probability
    /// pCorrect; answer experts rising by `slope` per difficulty), 64 text windows (loss and experts as given),
    /// per-layer and per-class experts, and the measured inference speed.</summary>
    static JobResult Result(string runId, Random rng, double pCorrect, double loss, double experts, double slope,
        double tokensPerSecond, int items = 100)
    {
        var r = StoreTests.Bundle(runId, 1000 * experts, pCorrect);
        r.Final["inference_tokens_per_second"] = tokensPerSecond;
        for (int d = 1; d <= 4; d++)
            for (int i = 0; i < items; i++)
            {
                // items share their difficulty across runs (same seed): a per-item offset paired across runs
                double itemBase = new Random(d * 1000 + i).NextDouble() * 0.4 - 0.2;
                r.Items.Add(new ItemResult("addition", d, i, rng.NextDouble() < pCorrect + itemBase, -2.0, 2,
                    experts + slope * (d - 2.5) + rng.NextDouble() * 0.1, experts));
            }
        for (int d = 1; d <= 4; d++)
            r.TaskClasses.Add(new TaskClassUsage("addition", d, "number", 100 * d, experts + slope * (d - 2.5)));
        for (int w = 0; w < 64; w++)
        {
            double windowLoss = loss + new Random(w).NextDouble() * 0.5 + rng.NextDouble() * 0.05;
            r.Items.Add(new ItemResult("text", 0, w, null, -windowLoss * 64, 64, experts, experts +
                (rng.NextDouble() - 0.5) * 0.02));
        }
        r.Layers.Clear();
        r.Layers.AddRange(Enumerable.Range(0, 2).Select(l => new LayerStats(l, 1000, experts + (l == 0 ? 0.4 : -0.4)
            + rng.NextDouble() * 0.02, [0, 1], 0, 0, 1, 0.3, 0.01, 0, 0)));
        r.Classes.Clear();
        r.Classes.AddRange([new ClassUsage(0, "content_word", 500, experts + 0.2 + rng.NextDouble() * 0.02),
            new ClassUsage(0, "function_word", 500, experts - 0.2)]);
        return r;
    }

    /// <summary>A store holding the sweep of `yaml`, every run evaluated with the result `result` plants.</summary>
    static ResultStore Evaluated(string yaml, Func<PlannedRun, JobResult> result)
    {
        var spec = SpecLoader.LoadText(yaml);
        var store = ResultStore.Open(StoreTests.TempDb());
        store.RegisterSweep(spec);
        foreach (var run in spec.Runs)
        {
            Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(run.ConfigHash), "me", 60));
            store.Ingest(result(run));
        }
        return store;
    }

    [Fact]
    public void Planted_effects_give_each_verdict_and_land_in_the_findings_view()
    {
        var rng = new Random(5);
        // top-p: +0.3 accuracy (supported), +0.4 nats loss (contradicted: the claim is "lower"), 1.6 vs 2.0
        // experts (supported), the same speed up to noise (inconclusive), experts rising 0.2 per level.
        using var store = Evaluated("""
            name: evidence
            sweep:
              seeds: [0, 1, 2]
              router:
                top_k: {k: 2}
                top_p: {p: 0.4}
            """, run => run.Router == "top_p"
            ? Result(run.ConfigHash, rng, 0.7, 3.4, 1.6, 0.2, 1000 + rng.NextDouble() * 200)
            : Result(run.ConfigHash, rng, 0.4, 3.0, 2.0, 0, 1000 + rng.NextDouble() * 200));
        var findings = Findings.Refresh(store, "evidence").ToDictionary(f => f.Claim);

        var acc = findings["accuracy_vs_top_k"];
        Assert.Equal(Verdict.Supported, acc.Verdict);
        Assert.True(acc.Interval.Spans(0.3), $"Δacc {acc.Interval}");
        Assert.Equal(1200, acc.Interval.N);                      // 400 item pairs × 3 seeds
        Assert.Equal(3, acc.Seeds);
        Assert.Equal(Verdict.Contradicted, findings["loss_vs_top_k"].Verdict);
        Assert.True(findings["loss_vs_top_k"].Interval.Spans(0.4));
        Assert.Equal(Verdict.Supported, findings["experts_vs_top_k"].Verdict);
        Assert.Equal(Verdict.Inconclusive, findings["inference_speedup"].Verdict);
        Assert.Equal(Verdict.Supported, findings["experts_rise_with_difficulty"].Verdict);
        Assert.True(findings["experts_rise_with_difficulty"].Interval.Spans(0.2));
        Assert.Equal(Verdict.Supported, findings["content_over_function_words"].Verdict);
        Assert.Equal(Verdict.Supported, findings["experts_differ_across_layers"].Verdict);
        Assert.DoesNotContain("ada_k_lambda", findings.Keys);     // the sweep does not vary λ
        Assert.DoesNotContain("time_to_target_loss", findings.Keys);  // no target loss was set

        // The same from SQL, with the runs each finding was computed from.
        var rows = store.Query("SELECT claim, subject, verdict, effect, ci_low, ci_high, n, comparisons, run_ids " +
                               "FROM findings WHERE claim = 'accuracy_vs_top_k'").Rows;
        var row = Assert.Single(rows);
        Assert.StartsWith("top_p {", (string)row[1]!);                 // the configuration: router and every knob
        Assert.Contains("\"p\":0.4", (string)row[1]!);
        Assert.Equal("supported", row[2]);
        Assert.Equal(acc.Interval.Estimate, (double)row[3]!, 12);
        Assert.Equal(1200L, row[6]);
        Assert.Equal((long)findings.Values.Count(f => f.Interval.IsDefined), row[7]);
        Assert.Equal(6, System.Text.Json.JsonSerializer.Deserialize<string[]>((string)row[8]!)!.Length);
        // Recomputing replaces, never duplicates.
        Findings.Refresh(store, "evidence");
        Assert.Equal((long)findings.Count, store.Query("SELECT count(*) FROM findings").Rows[0][0]);

        // The report leads with them: the first section, one row per finding, the verdict and the interval.
        var md = File.ReadAllText(new Orchestrator.Reports.ReportBuilder(store)
            .Build(["evidence"], Directory.CreateTempSubdirectory("findings-report").FullName).Markdown);
        Assert.StartsWith("## Findings", md[md.IndexOf("## ", StringComparison.Ordinal)..]);
        var section = md[..md.IndexOf("## By router", StringComparison.Ordinal)];
        Assert.Contains($"{findings.Count} claims checked: 5 supported, 1 contradicted, 1 inconclusive", section);
        Assert.Contains("| **supported** | beats top-k accuracy with fewer experts | top_p p=0.4 | " + FormattableString
            .Invariant($"{acc.Interval.Estimate:0.####} [{acc.Interval.Low:0.####}, {acc.Interval.High:0.####}]") +
            " | 1200 | 3 |", section);
        // Experts by token class within each difficulty, from task_class_usage: 3 seeds × 100·d tokens.
        var sql = store.Query("""
            SELECT sum(c.tokens * c.mean_experts_per_token) / sum(c.tokens), sum(c.tokens) FROM task_class_usage c
            JOIN runs r USING (run_id) WHERE r.router = 'top_p' AND c.difficulty = 4
            """).Rows[0];
        Assert.Contains(FormattableString.Invariant($"| top_p p=0.4 | number | ") +
            string.Join(" | ", Enumerable.Range(1, 4).Select(d => FormattableString.Invariant(
                $"{1.6 + 0.2 * (d - 2.5):0.000} ({300 * d})"))) + " |", md);
        Assert.Equal(1200L, sql[1]);
        Assert.Equal(1.9, (double)sql[0]!, 9);
    }

    [Fact]
    public void A_budget_is_held_when_held_out_experts_stay_within_5_percent_of_the_target()
    {
        var rng = new Random(8);
        // Both budgeted configurations used 1.6 experts/token on held-out text.
        using var store = Evaluated("""
            name: budget
            sweep:
              seeds: [0, 1, 2]
              router:
                top_k: {k: 2}
                top_p: {p: 0.4, target_experts: [1.6, 1.2]}
            """, run => Result(run.ConfigHash, rng, 0.5, 3.0, run.Router == "top_p" ? 1.6 : 2.0, 0, 1000));
        var held = Findings.Refresh(store, "budget").Where(f => f.Claim == "budget_held")
            .ToDictionary(f => f.Subject.Contains("\"target_experts\":1.6") ? 1.6 : 1.2);
        Assert.Equal(2, held.Count);                                     // top-k has no budget: no row
        Assert.Equal(Verdict.Supported, held[1.6].Verdict);             // 1.6 against 1.6: inside ±5%
        Assert.Equal(Verdict.Contradicted, held[1.2].Verdict);          // 1.6 against 1.2: +33%
        Assert.Equal(1.6 / 1.2 - 1, held[1.2].Interval.Estimate, 2);
    }

    [Theory]
    [InlineData(Claimed.Above, 0.1, 0.3, Verdict.Supported)]
    [InlineData(Claimed.Above, -0.3, -0.1, Verdict.Contradicted)]
    [InlineData(Claimed.Above, -0.1, 0.3, Verdict.Inconclusive)]
    [InlineData(Claimed.Below, -0.3, -0.1, Verdict.Supported)]
    [InlineData(Claimed.Below, 0.1, 0.3, Verdict.Contradicted)]
    [InlineData(Claimed.Either, 0.1, 0.3, Verdict.Supported)]
    [InlineData(Claimed.Either, -0.01, 0.02, Verdict.Contradicted)]    // inside the ±0.05 margin: no difference
    [InlineData(Claimed.Either, -0.01, 0.2, Verdict.Inconclusive)]
    [InlineData(Claimed.Above, double.NaN, double.NaN, Verdict.Inconclusive)]
    [InlineData(Claimed.Within, -0.03, 0.04, Verdict.Supported)]       // the whole interval inside ±0.05
    [InlineData(Claimed.Within, 0.06, 0.10, Verdict.Contradicted)]     // wholly outside the band
    [InlineData(Claimed.Within, -0.12, -0.07, Verdict.Contradicted)]
    [InlineData(Claimed.Within, 0.02, 0.08, Verdict.Inconclusive)]     // straddles the band's edge
    public void Verdicts_follow_from_the_interval_alone(Claimed side, double low, double high, Verdict expected)
    {
        var f = new Finding("c", "s", "statement", "paper", "metric", new Interval((low + high) / 2, low, high, 10,
            "t"), 0, side, 3, [], Margin: 0.05);
        Assert.Equal(expected, f.Verdict);
    }
}
