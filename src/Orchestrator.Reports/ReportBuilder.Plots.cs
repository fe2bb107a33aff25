using System.Globalization;
using System.Text.Json;
using Orchestrator.Analysis;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>Where a report's plots go: PNG and SVG side by side, and the list the text links.</summary>
sealed class PlotSink(string outDir)
{
    public List<(string File, string Title)> Plots { get; } = [];

    public void Save(Plot p, string name, string title)
    {
        p.Title(title);
        p.SavePng(Path.Combine(outDir, name + ".png"), ReportBuilder.Width, ReportBuilder.Height);
        p.SaveSvg(Path.Combine(outDir, name + ".svg"), ReportBuilder.Width, ReportBuilder.Height);
        Plots.Add((name + ".png", title));
    }
}

enum FlopsMetric { Accuracy, Loss }

/// <summary>The plots, one method each, all drawn from <see cref="ReportData"/>.</summary>
public sealed partial class ReportBuilder
{
    /// <summary>Mean experts per token by layer, one line per configuration, error bars over seeds.</summary>
    static void ExpertsByLayer(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        foreach (var g in d.Groups)
        {
            var perRun = g.Select(r => d.Layers[r.RunId].ToList()).ToList();
            var layers = perRun.SelectMany(x => x.Select(y => y.Layer)).Distinct().Order().ToArray();
            var stats = layers.Select(l => MeanCi.Of(perRun.SelectMany(x => x.Where(y => y.Layer == l)
                .Select(y => y.Experts)))).ToArray();
            var xs = layers.Select(l => (double)l).ToArray();
            var sc = p.Add.Scatter(xs, stats.Select(s => s.Mean).ToArray());
            sc.LegendText = g.First().Config;
            if (g.Count() > 1)
                p.Add.ErrorBar(xs, stats.Select(s => s.Mean).ToArray(), stats.Select(s => s.HalfWidth).ToArray())
                    .Color = sc.Color;
        }
        p.XLabel("layer"); p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        sink.Save(p, "experts_by_layer", "Experts per token by layer");
    }

    /// <summary>Accuracy or held-out loss against FLOPs per token, one point per configuration with its 95%
    /// interval (accuracy: Wilson over the items of every seed; loss: Student t over seeds). No frontier is drawn
    /// through points whose intervals overlap: a configuration is marked dominated only when another one uses no
    /// more FLOPs and its interval lies wholly on the better side of this one's.</summary>
    static void MetricAgainstFlops(ReportData d, FlopsMetric metric, PlotSink sink)
    {
        bool accuracy = metric == FlopsMetric.Accuracy;
        var (name, label) = accuracy ? ("accuracy", "task accuracy") : ("eval_loss", "held-out loss");
        var points = d.Groups.Where(g => g.Any(r => r.Flops != null)).Select(g =>
        {
            var ci = accuracy ? PooledAccuracy(d, g) : Interval(MeanCi.Of(g.Select(r => r.Loss ?? double.NaN)));
            return (g: g.ToList(), x: g.Where(r => r.Flops != null).Average(r => r.Flops!.Value) / 1e6, ci);
        }).Where(t => double.IsFinite(t.ci.Estimate)).ToList();
        var dominatedAt = DominatedWithConfidence(points.Select(t => (t.x, t.ci)).ToList(), higherBetter: accuracy);
        var p = new Plot();
        foreach (var (t, dominated) in points.Zip(dominatedAt))
        {
            var sc = p.Add.ScatterPoints(new[] { t.x }, new[] { t.ci.Estimate });
            sc.LegendText = t.g[0].Config + (dominated ? " (dominated)" : "");
            bool baseline = IsBaseline(t.g[0].Router);
            sc.MarkerSize = baseline ? 12 : 9;
            sc.MarkerShape = dominated ? MarkerShape.OpenCircle
                : baseline ? MarkerShape.FilledSquare : MarkerShape.FilledCircle;
            if (t.ci.IsDefined) IntervalBars(p, [t.x], [t.ci], sc.Color);
        }
        p.XLabel("MFLOPs per token");
        p.YLabel(label + " (95% interval)");
        p.ShowLegend(Edge.Right);
        sink.Save(p, name + "_vs_flops", $"{char.ToUpper(label[0])}{label[1..]} against FLOPs per token; open " +
            "marker: dominated with confidence");
    }

    /// <summary>For each (FLOPs, interval): whether another point with no more FLOPs has an interval wholly on
    /// the better side of this one's (a point without an interval is never marked).</summary>
    public static bool[] DominatedWithConfidence(IReadOnlyList<(double Flops, Analysis.Interval Ci)> points,
        bool higherBetter) => points.Select(t => t.Ci.IsDefined && points.Any(o => o.Flops <= t.Flops && o.Ci.IsDefined
        && (higherBetter ? o.Ci.Low > t.Ci.High : o.Ci.High < t.Ci.Low))).ToArray();

    /// <summary>Vertical bars from each interval's low to its high end (asymmetric: Wilson intervals are).</summary>
    static void IntervalBars(Plot p, double[] xs, Analysis.Interval[] cis, Color color)
    {
        var defined = Enumerable.Range(0, xs.Length).Where(i => cis[i].IsDefined).ToArray();
        if (defined.Length == 0) return;
        p.Add.Plottable(new ScottPlot.Plottables.ErrorBar(defined.Select(i => xs[i]).ToArray(),
            defined.Select(i => cis[i].Estimate).ToArray(), null, null,
            defined.Select(i => cis[i].High - cis[i].Estimate).ToArray(),
            defined.Select(i => cis[i].Estimate - cis[i].Low).ToArray()) { Color = color });
    }

    static Analysis.Interval Interval(MeanCi m) => m.N < 2 ? Analysis.Interval.Undefined(m.Mean, m.N, "t")
        : new Analysis.Interval(m.Mean, m.Mean - m.HalfWidth, m.Mean + m.HalfWidth, m.N, "t");

    /// <summary>Task accuracy by difficulty (generated tasks pooled), per configuration, Wilson 95% bars.</summary>
    static void AccuracyByDifficulty(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        foreach (var g in d.Groups)
        {
            var cells = g.SelectMany(r => d.TaskCounts[r.RunId]).GroupBy(c => c.Difficulty).OrderBy(c => c.Key)
                .Select(c => (x: (double)c.Key, ci: Statistics.Wilson(c.Sum(x => x.Correct), c.Sum(x => x.Samples))))
                .ToList();
            if (cells.Count == 0) continue;
            var sc = p.Add.Scatter(cells.Select(c => c.x).ToArray(), cells.Select(c => c.ci.Estimate).ToArray());
            sc.LegendText = g.First().Config;
            IntervalBars(p, cells.Select(c => c.x).ToArray(), cells.Select(c => c.ci).ToArray(), sc.Color);
        }
        p.XLabel("task difficulty"); p.YLabel("task accuracy (Wilson 95%)"); p.ShowLegend(Edge.Right);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        sink.Save(p, "accuracy_by_difficulty", "Task accuracy by difficulty");
    }

    /// <summary>Mean experts per token by task difficulty on the answer's positions (those whose predictions are
    /// the answer tokens; the whole sequence for runs stored before they were measured), per configuration.
    /// </summary>
    static void ExpertsByDifficulty(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        foreach (var g in d.Groups)
        {
            var rows = g.SelectMany(r => d.Difficulties[r.RunId]).GroupBy(x => x.Difficulty).OrderBy(x
                => x.Key).ToList();
            if (rows.Count == 0) continue;
            var sc = p.Add.Scatter(rows.Select(x => (double)x.Key).ToArray(),
                rows.Select(x => x.Average(y => y.Experts)).ToArray());
            sc.LegendText = g.First().Config;
        }
        p.XLabel("task difficulty"); p.YLabel("mean experts per answer token"); p.ShowLegend(Edge.Right);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        sink.Save(p, "experts_by_difficulty", "Experts per answer token by task difficulty");
    }

    static readonly string[] TokenClasses = ["content_word", "function_word", "number", "punctuation", "whitespace"];

    /// <summary>Mean experts per token by token class, per configuration (grouped bars).</summary>
    static void ExpertsByTokenClass(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        var groups = d.Groups;
        for (int gi = 0; gi < groups.Count; gi++)
        {
            var vals = groups[gi].SelectMany(r => d.Classes[r.RunId]).GroupBy(x => x.Class)
                .ToDictionary(x => x.Key, x => x.Average(y => y.Experts));
            var bars = TokenClasses.Select((c, ci) => new Bar
            {
                Position = ci * (groups.Count + 1) + gi, Value = vals.GetValueOrDefault(c),
                FillColor = new ScottPlot.Palettes.Category10().GetColor(gi),
            }).ToList();
            p.Add.Bars(bars).LegendText = groups[gi].First().Config;
        }
        var centres = TokenClasses.Select((_, ci) => ci * (groups.Count + 1) + (groups.Count - 1) / 2.0).ToArray();
        p.Axes.Bottom.SetTicks(centres, TokenClasses);
        p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
        sink.Save(p, "experts_by_token_class", "Experts per token by token class");
    }

    /// <summary>The distribution of experts per token (all layers), per configuration.</summary>
    static void ExpertsHistogram(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        foreach (var g in d.Groups)
        {
            var sums = new double[64];
            foreach (var h in g.SelectMany(r => d.Histograms[r.RunId]))
                for (int i = 0; i < h.Length && i < sums.Length; i++) sums[i] += h[i];
            double total = sums.Sum();
            int last = Array.FindLastIndex(sums, v => v > 0);
            if (total == 0 || last < 0) continue;
            var sc = p.Add.Scatter(Enumerable.Range(0, last + 1).Select(i => (double)i).ToArray(),
                sums.Take(last + 1).Select(v => v / total).ToArray());
            sc.LegendText = g.First().Config;
        }
        p.XLabel("experts used by a token"); p.YLabel("share of tokens"); p.ShowLegend(Edge.Right);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        sink.Save(p, "experts_histogram", "Distribution of experts per token");
    }

    /// <summary>Fine-tuning loss per step, smoothed (every run sees the same noisy batches, so raw curves
    /// overlap), and held-out loss where it was measured.</summary>
    static void TrainingCurves(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        foreach (var r in d.Done)
        {
            var train = d.Curves[r.RunId].Where(c => c.Key == "train_loss").ToList();
            var valid = d.Curves[r.RunId].Where(c => c.Key == "valid_loss").ToList();
            if (train.Count == 0 && valid.Count == 0) continue;
            // Ada-K trains only its allocators (PPO, no language-modelling loss): its held-out loss is drawn alone.
            var v = p.Add.ScatterPoints(valid.Select(c => c.Step).ToArray(), valid.Select(c => c.Value).ToArray());
            v.MarkerShape = MarkerShape.OpenCircle; v.MarkerSize = 8;
            v.LegendText = $"{r.Config} s{r.Seed}" + (train.Count == 0 ? " (PPO: held-out loss only)" : "");
            if (train.Count == 0) continue;
            var sc = p.Add.Scatter(train.Select(c => c.Step).ToArray(), Ema(train.Select(c => c.Value),
                CurveSmoothing));
            sc.MarkerSize = 0; sc.Color = v.Color;
        }
        p.XLabel("fine-tuning step");
        p.YLabel($"training loss (EMA {CurveSmoothing}); ○ held-out loss");
        p.ShowLegend(Edge.Right);
        sink.Save(p, "training_curves", "Fine-tuning curves");
    }

    /// <summary>For a router whose main knob takes several values (Ada-K's λ, top-p's p, …): mean experts per
    /// token and accuracy against it (mean over seeds; values on categorical positions, 0 included).</summary>
    static void KnobSweep(IGrouping<string, RunInfo> router, PlotSink sink)
    {
        if (PrimaryKnobs(router.Key).FirstOrDefault() is not { } knob) return;
        double? KnobValue(RunInfo r) => JsonDocument.Parse(r.Knobs).RootElement.TryGetProperty(knob, out var v)
            ? v.GetDouble() : null;
        var byValue = router.Where(r => KnobValue(r) != null).GroupBy(r => KnobValue(r)!.Value).OrderBy(g => g.Key)
            .ToList();
        if (byValue.Count < 2) return;
        var xs = Enumerable.Range(0, byValue.Count).Select(i => (double)i).ToArray();
        var p = new Plot();
        var k = p.Add.Scatter(xs, byValue.Select(g => g.Average(r => r.Experts!.Value)).ToArray());
        k.LegendText = "mean experts per token (left)";
        var acc = p.Add.Scatter(xs, byValue.Select(g => g.Average(r => r.Acc ?? double.NaN)).ToArray());
        acc.LegendText = "task accuracy (right)";
        acc.Axes.YAxis = p.Axes.Right;
        acc.MarkerShape = MarkerShape.FilledSquare;   // (Skia's SVG backend cannot write dashed lines)
        p.Axes.Bottom.SetTicks(xs, byValue.Select(g => g.Key.ToString("G3", CultureInfo.InvariantCulture)).ToArray());
        var symbol = Symbols.GetValueOrDefault(knob, knob);
        p.XLabel($"{symbol} ({router.Key}.{knob})"); p.YLabel("mean experts per token");
        p.Axes.Right.Label.Text = "task accuracy";
        p.ShowLegend(Edge.Right);
        sink.Save(p, $"{router.Key}_{knob}", $"{router.Key}: experts per token and accuracy against {symbol}");
    }

    /// <summary>Layer × expert load heatmap of one run, on one colour scale for every run of the report (0 to the
    /// largest share seen), integer ticks, and the uniform share 1/N named on the colour bar.</summary>
    static void ExpertLoad(ReportData d, RunInfo run, PlotSink sink, double maxShare)
    {
        var rows = d.Loads[run.RunId].ToList();
        if (rows.Count == 0) return;
        var layerIds = rows.Select(x => x.Layer).Distinct().Order().ToList();
        int experts = rows.Max(x => x.Expert) + 1;
        var grid = new double[layerIds.Count, experts];
        foreach (var x in rows) grid[layerIds.IndexOf(x.Layer), x.Expert] = x.Share;
        var p = new Plot();
        var hm = p.Add.Heatmap(BottomUp(grid));
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        hm.ManualRange = new ScottPlot.Range(0, maxShare);
        p.Add.ColorBar(hm).Label = $"share of dispatches (uniform: 1/{experts} = {1.0 / experts:0.###})";
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        p.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        p.XLabel("expert"); p.YLabel("MoE layer (row index)");
        sink.Save(p, $"load_{run.RunId}", $"Expert load: {run.Config} seed {run.Seed}");
    }

    /// <summary>A heatmap draws its first row at the top, as an image; the axis counts up from the bottom. The rows
    /// reversed, row i is drawn where the axis says i.</summary>
    static double[,] BottomUp(double[,] grid)
    {
        int rows = grid.GetLength(0), cols = grid.GetLength(1);
        var flipped = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) flipped[rows - 1 - i, j] = grid[i, j];
        return flipped;
    }
}
