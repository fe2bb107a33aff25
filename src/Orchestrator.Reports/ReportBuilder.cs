using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Results;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>Builds results/&lt;sweep&gt;/report.{html,md} and its PNG/SVG plots from the database only.
/// Every number shown comes from a query written out beside it in report.md.</summary>
public sealed partial class ReportBuilder(ResultStore store)
{
    public const int Width = 1000, Height = 500;

    public sealed record Output(string Html, string Markdown, IReadOnlyList<string> Plots);

    // The knobs that name a configuration (each router's definition says which); others are shown only when they
    // differ from their default. A router stored by an older build and no longer registered shows every knob.
    static IReadOnlyList<string> PrimaryKnobs(string router) =>
        RouterCatalog.All.FirstOrDefault(d => d.Name == router)?.LabelKnobs ?? [];

    static bool IsBaseline(string router) => RouterCatalog.All.Any(d => d.Name == router && d.IsBaseline);
    static readonly Dictionary<string, string> Symbols = new() { ["threshold"] = "T", ["nulls"] = "m",
        ["lambda"] = "λ" };

    static bool SameValue(object schemaDefault, JsonElement value)
        => value.ValueKind == JsonValueKind.Number && schemaDefault is double or long
        ? Convert.ToDouble(schemaDefault, CultureInfo.InvariantCulture) == value.GetDouble()
        : ConfigValues.Format(schemaDefault) == value.GetRawText().Trim('"');

    /// <summary>A short label for plots and tables, e.g. "top_p p=0.4", "null_experts m=4 k=3", "ada_k λ=0.003
    /// lr=0.01".</summary>
    public static string ConfigLabel(string router, string knobsJson)
    {
        var knobs = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(knobsJson) ?? [];
        var defaults = ConfigSchema.Defaults(router);
        var primary = PrimaryKnobs(router);
        var shown = primary.Where(knobs.ContainsKey).Concat(knobs.Keys.Where(k => !primary.Contains(k) &&
            defaults.TryGetValue("router." + k, out var d) && !SameValue(d, knobs[k])));
        var parts = shown.Select(k => $"{Symbols.GetValueOrDefault(k, k)}={knobs[k].GetRawText().Trim('"')}");
        return string.Join(" ", new[] { router }.Concat(parts));
    }

    const double CurveSmoothing = 0.9;

    /// <summary>Exponential moving average, started at the first value:
    /// s_t = α·s_{t−1} + (1 − α)·x_t.</summary>
    public static double[] Ema(IEnumerable<double> xs, double alpha)
    {
        var result = new List<double>();
        foreach (var x in xs) result.Add(result.Count == 0 ? x : alpha * result[^1] + (1 - alpha) * x);
        return result.ToArray();
    }

    public Output Build(IReadOnlyList<string> sweeps, string outDir)
    {
        PlotFonts.Register();
        Directory.CreateDirectory(outDir);
        var data = ReportData.Load(store, sweeps);
        var sink = new PlotSink(outDir);
        ExpertsByLayer(data, sink);
        foreach (var metric in new[] { FlopsMetric.Accuracy, FlopsMetric.Loss }) MetricAgainstFlops(data, metric, sink);
        AccuracyByDifficulty(data, sink);
        ExpertsByDifficulty(data, sink);
        ExpertsByTokenClass(data, sink);
        ExpertsHistogram(data, sink);
        TrainingCurves(data, sink);
        HealthOverTraining(data, sink);
        ExpertsByWordFrequency(data, sink);
        foreach (var g in data.Groups) CoActivation(data, g.First(), sink);
        foreach (var router in data.Done.Where(r => r.Experts != null).GroupBy(r => r.Router)) KnobSweep(router, sink);
        double maxShare = data.Done.SelectMany(r => data.Loads[r.RunId]).Select(l => l.Share).DefaultIfEmpty(1).Max();
        foreach (var run in data.Done.DistinctBy(r => r.RunId)) ExpertLoad(data, run, sink, maxShare);

        var md = Markdown(data, sink.Plots);
        File.WriteAllText(Path.Combine(outDir, "report.md"), md);
        File.WriteAllText(Path.Combine(outDir, "report.html"), Html(sweeps, md, outDir));
        return new Output(Path.Combine(outDir, "report.html"), Path.Combine(outDir, "report.md"),
            sink.Plots.Select(p => Path.Combine(outDir, p.File)).ToList());
    }
}
