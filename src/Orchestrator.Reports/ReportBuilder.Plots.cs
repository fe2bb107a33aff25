using System.Globalization;
using System.Text.Json;
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

    /// <summary>Accuracy or held-out loss against FLOPs per token, the Pareto frontier, top-k baselines
    /// marked.</summary>
    static void MetricAgainstFlops(ReportData d, FlopsMetric metric, PlotSink sink)
    {
        var (name, label, higherBetter) = metric == FlopsMetric.Accuracy
            ? ("accuracy", "task accuracy", true) : ("eval_loss", "held-out loss", false);
        double? Value(RunInfo r) => metric == FlopsMetric.Accuracy ? r.Acc : r.Loss;
        var p = new Plot();
        var pts = d.Done.Where(r => r.Flops != null && Value(r) != null)
            .Select(r => (r, x: r.Flops!.Value / 1e6, y: Value(r)!.Value)).ToList();
        foreach (var router in pts.GroupBy(t => t.r.Compare ? $"{t.r.Sweep}: {t.r.Router}" : t.r.Router))
        {
            var sc = p.Add.ScatterPoints(router.Select(t => t.x).ToArray(), router.Select(t => t.y).ToArray());
            sc.LegendText = router.Key;
            bool baseline = IsBaseline(router.First().r.Router);
            sc.MarkerSize = baseline ? 12 : 8;
            sc.MarkerShape = baseline ? MarkerShape.FilledSquare : MarkerShape.FilledCircle;
        }
        // The frontier: a line through its points, each ringed (a single undominated run is a frontier too).
        var frontier = Pareto(pts.Select(t => (t.x, t.y)).ToList(), higherBetter);
        if (frontier.Count > 0)
        {
            var f = p.Add.Scatter(frontier.Select(t => t.x).ToArray(), frontier.Select(t => t.y).ToArray());
            f.LegendText = frontier.Count > 1 ? "Pareto frontier" : "Pareto frontier (one run)";
            f.LineWidth = frontier.Count > 1 ? 2 : 0; f.MarkerSize = 18; f.MarkerShape = MarkerShape.OpenCircle;
            f.Color = Colors.Black.WithAlpha(0.5);
        }
        p.XLabel("MFLOPs per token"); p.YLabel(label); p.ShowLegend(Edge.Right);
        sink.Save(p, name + "_vs_flops", $"{char.ToUpper(label[0])}{label[1..]} against FLOPs per token");
    }

    /// <summary>Mean experts per token by task difficulty, per configuration.</summary>
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
        p.XLabel("task difficulty"); p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        sink.Save(p, "experts_by_difficulty", "Experts per token by task difficulty");
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
            if (train.Count == 0) continue;
            var sc = p.Add.Scatter(train.Select(c => c.Step).ToArray(), Ema(train.Select(c => c.Value),
                CurveSmoothing));
            sc.LegendText = $"{r.Config} s{r.Seed}"; sc.MarkerSize = 0;
            var valid = d.Curves[r.RunId].Where(c => c.Key == "valid_loss").ToList();
            if (valid.Count == 0) continue;
            var v = p.Add.ScatterPoints(valid.Select(c => c.Step).ToArray(), valid.Select(c => c.Value).ToArray());
            v.Color = sc.Color; v.MarkerShape = MarkerShape.OpenCircle; v.MarkerSize = 8;
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

    /// <summary>Layer × expert load heatmap of one run.</summary>
    static void ExpertLoad(ReportData d, RunInfo run, PlotSink sink)
    {
        var rows = d.Loads[run.RunId].ToList();
        if (rows.Count == 0) return;
        var layerIds = rows.Select(x => x.Layer).Distinct().Order().ToList();
        int experts = rows.Max(x => x.Expert) + 1;
        var grid = new double[layerIds.Count, experts];
        foreach (var x in rows) grid[layerIds.IndexOf(x.Layer), x.Expert] = x.Share;
        var p = new Plot();
        var hm = p.Add.Heatmap(grid);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        p.Add.ColorBar(hm).Label = "share of dispatches";
        p.XLabel("expert"); p.YLabel("MoE layer (row)");
        sink.Save(p, $"load_{run.RunId}", $"Expert load: {run.Config} seed {run.Seed}");
    }
}
