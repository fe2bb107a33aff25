using Orchestrator.Results;

namespace Orchestrator.Analysis;

public enum Verdict { Supported, Contradicted, Inconclusive }

/// <summary>Which values of the effect the claim predicts: above or below the null value, or away from it on
/// either side (then an interval inside ±Margin of it contradicts the claim: "no difference worth the
/// name"), or within ±Margin of it (an equivalence claim: supported when the whole interval lies inside the band,
/// contradicted when it lies wholly outside).</summary>
public enum Claimed { Above, Below, Either, Within }

/// <summary>A published claim checked on one configuration of a sweep.</summary>
public sealed record Finding(string Claim, string Subject, string Statement, string Source, string Metric,
    Interval Interval, double NullValue, Claimed Direction, int Seeds, IReadOnlyList<string> RunIds,
    string? Context = null, double Margin = 0)
{
    /// <summary>From the 95% interval alone: it excludes the null value on the claimed side (supported), on the
    /// other side (contradicted), or spans it (inconclusive); an undefined interval is inconclusive.</summary>
    public Verdict Verdict
    {
        get
        {
            var (lo, hi) = (Interval.Low, Interval.High);
            if (!Interval.IsDefined) return Verdict.Inconclusive;
            return Direction switch
            {
                Claimed.Above when lo > NullValue => Verdict.Supported,
                Claimed.Above when hi < NullValue => Verdict.Contradicted,
                Claimed.Below when hi < NullValue => Verdict.Supported,
                Claimed.Below when lo > NullValue => Verdict.Contradicted,
                Claimed.Either when lo > NullValue || hi < NullValue => Verdict.Supported,
                Claimed.Either when Margin > 0 && lo > NullValue - Margin && hi < NullValue + Margin =>
                    Verdict.Contradicted,
                Claimed.Within when lo > NullValue - Margin && hi < NullValue + Margin => Verdict.Supported,
                Claimed.Within when hi < NullValue - Margin || lo > NullValue + Margin => Verdict.Contradicted,
                _ => Verdict.Inconclusive,
            };
        }
    }

    public static string Word(Verdict v) => v.ToString().ToLowerInvariant();
}

/// <summary>Each published claim as an automatic check (../shared/design/routers.md): computed from the
/// store's rows, written back as the `findings` of the sweep.</summary>
public static class Findings
{
    const string AllFour = "top-p, adaptive gating, AdaMoE, Ada-K";

    public static List<Finding> Compute(SweepEvidence e)
    {
        var list = new List<Finding>();
        var configs = e.Runs.Where(r => !r.IsBaseline).GroupBy(r => r.Config).OrderBy(g => g.Key,
            StringComparer.Ordinal);
        foreach (var config in configs)
        {
            var runs = config.ToList();
            var pairs = e.Pairs(runs).ToList();
            if (pairs.Count > 0) list.AddRange(AgainstTopK(e, config.Key, pairs));
            if (VariesExperts(e, runs)) list.AddRange(Routing(e, config.Key, runs));
            if (runs[0].TargetExperts > 0) list.Add(BudgetHeld(e, config.Key, runs));
        }
        list.AddRange(AdaKLambda(e));
        return list;
    }

    static IEnumerable<Finding> AgainstTopK(SweepEvidence e, string config, List<(RunEvidence Run,
        RunEvidence Baseline)> pairs)
    {
        var ids = pairs.SelectMany(p => new[] { p.Run.RunId, p.Baseline.RunId }).Distinct().ToList();
        int seeds = pairs.Count;
        var flopsRatio = Statistics.MeanT(pairs.Where(p => p.Run.Flops > 0 && p.Baseline.Flops > 0)
            .Select(p => p.Baseline.Flops!.Value / p.Run.Flops!.Value).ToList());
        string atFlops = double.IsFinite(flopsRatio.Estimate) ? $"FLOPs speed-up ×{flopsRatio.Estimate:F2}" : "";
        bool IsTask(ItemEvidence i) => i.Task != "text" && i.Correct != null;
        bool IsText(ItemEvidence i) => i.Task == "text";

        yield return new Finding("accuracy_vs_top_k", config,
            "beats top-k accuracy with fewer experts", AllFour, "Δ accuracy (run − top-k), item-paired",
            Statistics.PairedBootstrap(e.Differences(pairs, IsTask, i => i.Correct == true ? 1 : 0)), 0,
            Claimed.Above, seeds, ids, atFlops);
        yield return new Finding("loss_vs_top_k", config,
            "held-out loss no worse than top-k's (lower is better)", AllFour, "Δ loss, nats/token (run − top-k)",
            Statistics.PairedBootstrap(e.Differences(pairs, IsText, i => i.Loss)), 0, Claimed.Below, seeds, ids,
            atFlops);
        yield return new Finding("experts_vs_top_k", config,
            "activates fewer experts per token than top-k", AllFour, "Δ experts/token on held-out text",
            Statistics.PairedBootstrap(e.Differences(pairs, IsText, i => i.SequenceExperts)), 0, Claimed.Below, seeds,
            ids, atFlops);
        // Wall-clock is compared only between runs measured with the same number of threads.
        var timed = pairs.Where(p => p.Run.InferenceTokensPerSecond > 0 && p.Baseline.InferenceTokensPerSecond > 0
            && p.Run.Threads == p.Baseline.Threads).ToList();
        var speed = Statistics.MeanT(timed
            .Select(p => p.Run.InferenceTokensPerSecond!.Value / p.Baseline.InferenceTokensPerSecond!.Value).ToList());
        yield return new Finding("inference_speedup", config,
            "runs inference faster than top-k", "Ada-K (1.28× reported), AdaMoE", "measured speed-up, tokens/s ratio",
            speed, 1, Claimed.Above, timed.Count, ids, $"{atFlops}; {timed.Count} of {seeds} seeds timed with " +
            "equal threads (wall-clock beside other jobs: `make bench` measures it in isolation)");
        var reached = pairs.Where(p => p.Run.TargetLoss > 0).ToList();
        if (reached.Count > 0 && pairs[0].Run.Router == "adaptive_gating")
        {
            var both = reached.Where(p => p.Run.TimeToTarget != null && p.Baseline.TimeToTarget != null).ToList();
            var t = Statistics.MeanT(both.Select(p => p.Run.TimeToTarget!.Value - p.Baseline.TimeToTarget!.Value)
                .ToList());
            yield return new Finding("time_to_target_loss", config,
                "reaches the top-2 run's converged loss in less training time", "adaptive gating",
                $"Δ seconds to valid loss {reached[0].Run.TargetLoss:G4} (run − top-k)", t, 0, Claimed.Below, seeds,
                ids, $"target reached by both in {both.Count} of {reached.Count} seeds");
        }
    }

    static IEnumerable<Finding> Routing(SweepEvidence e, string config, List<RunEvidence> runs)
    {
        var ids = runs.Select(r => r.RunId).ToList();
        // Experts per answer position against difficulty, generated tasks only, a fixed effect per task and seed.
        var points = runs.SelectMany(r => e.Items[r.RunId].Where(i => i.Task != "text" && !i.Task.StartsWith("mc:"))
            .Select(i => ((double)i.Difficulty, i.AnswerExperts, i.Task + "|" + r.Seed))).ToList();
        yield return new Finding("experts_rise_with_difficulty", config,
            "harder tasks get more experts", "top-p, Ada-K", "slope, experts/answer token per difficulty level",
            Statistics.Slope(points), 0, Claimed.Above, runs.Count, ids, "within-task slope");
        var content = Statistics.MeanT(runs.Select(r => ClassExperts(e, r, "content_word") - ClassExperts(e, r,
            "function_word")).ToList());
        yield return new Finding("content_over_function_words", config,
            "content words get more experts than function words", "Ada-K",
            "Δ experts/token, content − function words", content, 0, Claimed.Above, runs.Count, ids,
            "seed-level t interval");
        var spread = Statistics.MeanT(runs.Select(r => e.Layers[r.RunId].ToList() is { Count: > 1 } l
            ? l.Max(x => x.Experts) - l.Min(x => x.Experts) : double.NaN).ToList());
        yield return new Finding("experts_differ_across_layers", config,
            "layers use different numbers of experts", AllFour, "range of per-layer mean experts/token",
            spread, 0, Claimed.Either, runs.Count, ids, "seed-level t interval", Margin: 0.05);
    }

    /// <summary>router.target_experts: did the budget the controller held in training hold on held-out text? The
    /// relative deviation of each run's held-out experts per token from its target, a t interval over seeds,
    /// supported within ±5% (the tolerance the controller's own test holds to).</summary>
    static Finding BudgetHeld(SweepEvidence e, string config, List<RunEvidence> runs)
    {
        double target = runs[0].TargetExperts;
        var deviation = Statistics.MeanT(runs.Select(r => e.Items[r.RunId].Where(i => i.Task == "text")
            .Select(i => i.SequenceExperts).DefaultIfEmpty(double.NaN).Average() / target - 1).ToList());
        return new Finding("budget_held", config, "holds its compute budget on held-out text",
            "budget controller (LongCat-Flash)", $"relative deviation of held-out experts/token from target {target}",
            deviation, 0, Claimed.Within, runs.Count, runs.Select(r => r.RunId).ToList(),
            "held in training; ±5% band", Margin: 0.05);
    }

    /// <summary>Whether tokens of these runs used different numbers of experts (routing claims are about
    /// variable-k routers; a fixed top-k has nothing to vary).</summary>
    static bool VariesExperts(SweepEvidence e, List<RunEvidence> runs) => runs.Any(r =>
        e.Items[r.RunId].Select(i => Math.Round(i.SequenceExperts, 9)).Distinct().Skip(1).Any());

    static double ClassExperts(SweepEvidence e, RunEvidence r, string cls) =>
        e.Classes[r.RunId].Where(c => c.Class == cls).Select(c => c.Experts).DefaultIfEmpty(double.NaN).First();

    /// <summary>Ada-K: mean experts per token against log10 λ over every Ada-K run of the sweep (a fixed effect
    /// per seed), when the sweep varies λ.</summary>
    static IEnumerable<Finding> AdaKLambda(SweepEvidence e)
    {
        var runs = e.Runs.Where(r => r.Router == "ada_k" && r.Knob("lambda") > 0).ToList();
        if (runs.Select(r => r.Knob("lambda")).Distinct().Count() < 2) yield break;
        var points = runs.Select(r => (Math.Log10(r.Knob("lambda")!.Value),
            e.Layers[r.RunId].Select(l => l.Experts).DefaultIfEmpty(double.NaN).Average(), r.Seed.ToString()))
            .ToList();
        yield return new Finding("ada_k_lambda", "ada_k", "mean k falls as λ rises", "Ada-K",
            "slope, experts/token per decade of λ", Statistics.Slope(points), 0, Claimed.Below,
            runs.Select(r => r.Seed).Distinct().Count(), runs.Select(r => r.RunId).ToList(), "over runs");
    }

    /// <summary>Computes the sweep's findings and replaces them in the store; returns them.</summary>
    public static List<Finding> Refresh(ResultStore store, string sweep)
    {
        var findings = Compute(SweepEvidence.Load(store, sweep));
        int comparisons = findings.Count(f => f.Interval.IsDefined);
        store.ReplaceFindings(sweep, findings.Select(f => new FindingRow(f.Claim, f.Subject, f.Statement, f.Source,
            f.Metric, Finite(f.Interval.Estimate), Finite(f.Interval.Low), Finite(f.Interval.High), f.NullValue,
            f.Interval.N, f.Seeds, f.Interval.Method, Finding.Word(f.Verdict), comparisons, f.Context, f.RunIds))
            .ToList());
        return findings;
    }

    static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
