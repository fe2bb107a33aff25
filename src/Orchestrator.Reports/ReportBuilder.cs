using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Results;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>Builds results/&lt;sweep&gt;/report.{html,md} and its PNG/SVG plots from the database only.
/// Every number shown comes from a query written out beside it in report.md.</summary>
public sealed class ReportBuilder(ResultStore store)
{
    public const int Width = 1000, Height = 500;

    /// <summary>One run as one sweep planned it. When a report compares sweeps, a run planned by two of
    /// them appears under each, and every configuration label starts with its sweep's name.</summary>
    sealed record RunInfo(string RunId, string Router, string Knobs, string Curriculum, long Seed, string Status, string GroupHash,
        double? Loss, double? Ppl, double? Acc, double? Experts, double? Flops, double? Speedup, string? Error, string Sweep, bool Compare)
    {
        public string Config => (Compare ? Sweep + ": " : "") + ConfigLabel(Router, Knobs) + (Curriculum != "none" ? $" [{Curriculum}]" : "");
    }

    public sealed record Output(string Html, string Markdown, IReadOnlyList<string> Plots);

    // The knobs that name a configuration (each router's definition says which); others are shown only when they
    // differ from their default. A router stored by an older build and no longer registered shows every knob.
    static IReadOnlyList<string> PrimaryKnobs(string router) =>
        RouterCatalog.All.FirstOrDefault(d => d.Name == router)?.LabelKnobs ?? [];

    static bool IsBaseline(string router) => RouterCatalog.All.Any(d => d.Name == router && d.IsBaseline);
    static readonly Dictionary<string, string> Symbols = new() { ["threshold"] = "T", ["nulls"] = "m", ["lambda"] = "λ" };

    static bool SameValue(object schemaDefault, JsonElement value) => value.ValueKind == JsonValueKind.Number && schemaDefault is double or long
        ? Convert.ToDouble(schemaDefault, CultureInfo.InvariantCulture) == value.GetDouble()
        : ConfigValues.Format(schemaDefault) == value.GetRawText().Trim('"');

    /// <summary>A short label for plots and tables, e.g. "top_p p=0.4", "null_experts m=4 k=3", "ada_k λ=0.003 lr=0.01".</summary>
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

    /// <summary>Exponential moving average, started at the first value: s_t = α·s_{t−1} + (1 − α)·x_t.</summary>
    public static double[] Ema(IEnumerable<double> xs, double alpha)
    {
        var result = new List<double>();
        foreach (var x in xs) result.Add(result.Count == 0 ? x : alpha * result[^1] + (1 - alpha) * x);
        return result.ToArray();
    }

    static double? D(object? o) => o == null ? null : Convert.ToDouble(o, CultureInfo.InvariantCulture);

    public Output Build(IReadOnlyList<string> sweeps, string outDir)
    {
        PlotFonts.Register();
        Directory.CreateDirectory(outDir);
        var inList = string.Join(",", sweeps.Select((_, i) => "$s" + i));
        var args = sweeps.Select((s, i) => ("$s" + i, (object?)s)).ToArray();
        const string RunsSql = """
            SELECT s.run_id, s.router, s.knobs, s.curriculum, s.seed, s.status, s.group_hash, s.eval_loss, s.perplexity, s.accuracy,
                   s.mean_experts_per_token, s.flops_per_token, s.speedup_vs_topk, r.error, sr.sweep
            FROM sweep_runs sr JOIN run_summary s ON s.run_id = sr.run_id JOIN runs r ON r.run_id = s.run_id
            WHERE sr.sweep IN (%IN%)
            ORDER BY sr.sweep, s.router, s.knobs, s.curriculum, s.seed
            """;
        var q = store.Query(RunsSql.Replace("%IN%", inList), args);
        bool compare = sweeps.Count > 1;
        var runs = q.Rows.Select(r => new RunInfo((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, Convert.ToInt64(r[4]), (string)r[5]!,
            (string)r[6]!, D(r[7]), D(r[8]), D(r[9]), D(r[10]), D(r[11]), D(r[12]), r[13] as string, (string)r[14]!, compare)).ToList();
        var done = runs.Where(r => r.Status == "completed").ToList();
        var groups = done.GroupBy(r => r.Sweep + "/" + r.GroupHash).OrderBy(g => g.First().Config).ToList();
        var plots = new List<(string file, string title)>();
        string Save(Plot p, string name, string title)
        {
            p.Title(title);
            p.SavePng(Path.Combine(outDir, name + ".png"), Width, Height);
            p.SaveSvg(Path.Combine(outDir, name + ".svg"), Width, Height);
            plots.Add((name + ".png", title));
            return name + ".png";
        }

        // 1. Mean experts per token by layer, one line per configuration, error bars over seeds.
        const string LayerSql = "SELECT layer, mean_experts_per_token FROM usage_by_layer WHERE run_id = $r ORDER BY layer";
        {
            var p = new Plot();
            foreach (var g in groups)
            {
                var perRun = g.Select(r => store.Query(LayerSql, ("$r", r.RunId)).Rows.Select(x => (l: Convert.ToInt32(x[0]), v: D(x[1])!.Value)).ToList()).ToList();
                var layers = perRun.SelectMany(x => x.Select(y => y.l)).Distinct().Order().ToArray();
                var stats = layers.Select(l => MeanCi.Of(perRun.SelectMany(x => x.Where(y => y.l == l).Select(y => y.v)))).ToArray();
                var xs = layers.Select(l => (double)l).ToArray();
                var sc = p.Add.Scatter(xs, stats.Select(s => s.Mean).ToArray());
                sc.LegendText = g.First().Config;
                if (g.Count() > 1) p.Add.ErrorBar(xs, stats.Select(s => s.Mean).ToArray(), stats.Select(s => s.HalfWidth).ToArray()).Color = sc.Color;
            }
            p.XLabel("layer"); p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            Save(p, "experts_by_layer", "Experts per token by layer");
        }

        // 2. Accuracy and loss against FLOPs per token, Pareto frontier, top-k baselines marked.
        foreach (var (metric, label, higherBetter) in new[] { ("accuracy", "task accuracy", true), ("eval_loss", "held-out loss", false) })
        {
            var p = new Plot();
            var pts = done.Where(r => r.Flops != null && (metric == "accuracy" ? r.Acc : r.Loss) != null)
                .Select(r => (r, x: r.Flops!.Value / 1e6, y: (metric == "accuracy" ? r.Acc : r.Loss)!.Value)).ToList();
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
            Save(p, metric + "_vs_flops", $"{char.ToUpper(label[0])}{label[1..]} against FLOPs per token");
        }

        // 3. Mean experts per token by task difficulty, per router.
        const string DiffSql = "SELECT difficulty, avg(mean_experts_per_token) FROM usage_by_difficulty WHERE run_id = $r GROUP BY difficulty ORDER BY difficulty";
        {
            var p = new Plot();
            foreach (var g in groups)
            {
                var rows = g.SelectMany(r => store.Query(DiffSql, ("$r", r.RunId)).Rows).GroupBy(x => Convert.ToInt32(x[0])).OrderBy(x => x.Key).ToList();
                if (rows.Count == 0) continue;
                var sc = p.Add.Scatter(rows.Select(x => (double)x.Key).ToArray(), rows.Select(x => x.Average(y => D(y[1])!.Value)).ToArray());
                sc.LegendText = g.First().Config;
            }
            p.XLabel("task difficulty"); p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            Save(p, "experts_by_difficulty", "Experts per token by task difficulty");
        }

        // 4. Mean experts per token by token class, per router configuration (bars).
        const string ClassSql = "SELECT token_class, sum(tokens * mean_experts_per_token) / sum(tokens) FROM usage_by_token_class WHERE run_id = $r GROUP BY token_class ORDER BY token_class";
        {
            var p = new Plot();
            var classes = new[] { "content_word", "function_word", "number", "punctuation", "whitespace" };
            int gi = 0;
            foreach (var g in groups)
            {
                var vals = g.SelectMany(r => store.Query(ClassSql, ("$r", r.RunId)).Rows).GroupBy(x => (string)x[0]!)
                    .ToDictionary(x => x.Key, x => x.Average(y => D(y[1])!.Value));
                var bars = classes.Select((c, ci) => new Bar
                {
                    Position = ci * (groups.Count + 1) + gi, Value = vals.GetValueOrDefault(c),
                    FillColor = new ScottPlot.Palettes.Category10().GetColor(gi),
                }).ToList();
                var bp = p.Add.Bars(bars);
                bp.LegendText = g.First().Config;
                gi++;
            }
            p.Axes.Bottom.SetTicks(classes.Select((_, ci) => ci * (groups.Count + 1) + (groups.Count - 1) / 2.0).ToArray(), classes);
            p.YLabel("mean experts per token"); p.ShowLegend(Edge.Right);
            Save(p, "experts_by_token_class", "Experts per token by token class");
        }

        // 5. Histogram of experts per token (all layers), per configuration.
        const string HistSql = "SELECT experts_histogram FROM routing_stats WHERE run_id = $r";
        {
            var p = new Plot();
            foreach (var g in groups)
            {
                var sums = new double[64];
                foreach (var r in g)
                    foreach (var row in store.Query(HistSql, ("$r", r.RunId)).Rows)
                    {
                        var h = JsonSerializer.Deserialize<long[]>((string)row[0]!)!;
                        for (int i = 0; i < h.Length && i < sums.Length; i++) sums[i] += h[i];
                    }
                double total = sums.Sum();
                int last = Array.FindLastIndex(sums, v => v > 0);
                if (total == 0 || last < 0) continue;
                var sc = p.Add.Scatter(Enumerable.Range(0, last + 1).Select(i => (double)i).ToArray(), sums.Take(last + 1).Select(v => v / total).ToArray());
                sc.LegendText = g.First().Config;
            }
            p.XLabel("experts used by a token"); p.YLabel("share of tokens"); p.ShowLegend(Edge.Right);
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            Save(p, "experts_histogram", "Distribution of experts per token");
        }

        // 6. Training curves: fine-tuning loss per step, smoothed (every run sees the same noisy batches,
        // so raw curves overlap), and held-out loss where it was measured.
        const string CurveSql = "SELECT step, value FROM run_metrics WHERE run_id = $r AND phase = 'finetune' AND key = $k AND value IS NOT NULL ORDER BY step";
        {
            var p = new Plot();
            foreach (var r in done)
            {
                var rows = store.Query(CurveSql, ("$r", r.RunId), ("$k", "train_loss")).Rows;
                if (rows.Count == 0) continue;
                var sc = p.Add.Scatter(rows.Select(x => Convert.ToDouble(x[0])).ToArray(), Ema(rows.Select(x => D(x[1])!.Value), CurveSmoothing));
                sc.LegendText = $"{r.Config} s{r.Seed}"; sc.MarkerSize = 0;
                var valid = store.Query(CurveSql, ("$r", r.RunId), ("$k", "valid_loss")).Rows;
                if (valid.Count == 0) continue;
                var v = p.Add.ScatterPoints(valid.Select(x => Convert.ToDouble(x[0])).ToArray(), valid.Select(x => D(x[1])!.Value).ToArray());
                v.Color = sc.Color; v.MarkerShape = MarkerShape.OpenCircle; v.MarkerSize = 8;
            }
            p.XLabel("fine-tuning step"); p.YLabel($"training loss (EMA {CurveSmoothing}); ○ held-out loss"); p.ShowLegend(Edge.Right);
            Save(p, "training_curves", "Fine-tuning curves");
        }

        // 7. For each router whose main knob takes several values (Ada-K's λ, top-p's p, …): mean experts per token
        // and accuracy against it (mean over seeds; values on categorical positions, 0 included).
        foreach (var router in done.Where(r => r.Experts != null).GroupBy(r => r.Router))
        {
            if (PrimaryKnobs(router.Key).FirstOrDefault() is not { } knob) continue;
            var byValue = router.Where(r => JsonDocument.Parse(r.Knobs).RootElement.TryGetProperty(knob, out _))
                .GroupBy(r => JsonDocument.Parse(r.Knobs).RootElement.GetProperty(knob).GetDouble()).OrderBy(g => g.Key).ToList();
            if (byValue.Count < 2) continue;
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
            Save(p, $"{router.Key}_{knob}", $"{router.Key}: experts per token and accuracy against {symbol}");
        }

        // 8. Layer × expert load heatmap per run.
        const string LoadSql = "SELECT layer, expert, share FROM expert_usage WHERE run_id = $r";
        foreach (var r in done.DistinctBy(r => r.RunId))
        {
            var rows = store.Query(LoadSql, ("$r", r.RunId)).Rows;
            if (rows.Count == 0) continue;
            var layerIds = rows.Select(x => Convert.ToInt32(x[0])).Distinct().Order().ToList();
            int experts = rows.Max(x => Convert.ToInt32(x[1])) + 1;
            var grid = new double[layerIds.Count, experts];
            foreach (var x in rows) grid[layerIds.IndexOf(Convert.ToInt32(x[0])), Convert.ToInt32(x[1])] = D(x[2])!.Value;
            var p = new Plot();
            var hm = p.Add.Heatmap(grid);
            hm.Colormap = new ScottPlot.Colormaps.Viridis();
            p.Add.ColorBar(hm).Label = "share of dispatches";
            p.XLabel("expert"); p.YLabel("MoE layer (row)");
            Save(p, $"load_{r.RunId}", $"Expert load: {r.Config} seed {r.Seed}");
        }

        var md = Markdown(sweeps, runs, groups, plots, RunsSql.Replace("%IN%", string.Join(", ", sweeps.Select(s => $"'{s}'"))));
        var html = Html(sweeps, md, runs, groups, plots, outDir);
        File.WriteAllText(Path.Combine(outDir, "report.md"), md);
        File.WriteAllText(Path.Combine(outDir, "report.html"), html);
        return new Output(Path.Combine(outDir, "report.html"), Path.Combine(outDir, "report.md"), plots.Select(p => Path.Combine(outDir, p.file)).ToList());
    }

    /// <summary>Points not dominated by another (less FLOPs and better metric), sorted by FLOPs.</summary>
    public static List<(double x, double y)> Pareto(List<(double x, double y)> pts, bool higherBetter)
    {
        var sorted = pts.OrderBy(p => p.x).ThenBy(p => higherBetter ? -p.y : p.y).ToList();
        var front = new List<(double, double)>();
        double best = higherBetter ? double.NegativeInfinity : double.PositiveInfinity;
        foreach (var p in sorted)
            if (higherBetter ? p.y > best : p.y < best) { front.Add(p); best = p.y; }
        return front;
    }

    sealed record Row(string Config, int N, MeanCi Acc, MeanCi Loss, MeanCi Experts, MeanCi Flops, MeanCi Speedup);

    static List<Row> Table(IEnumerable<IGrouping<string, RunInfo>> groups) => groups.Select(g => new Row(g.First().Config, g.Count(),
        MeanCi.Of(g.Select(r => r.Acc ?? double.NaN)), MeanCi.Of(g.Select(r => r.Loss ?? double.NaN)),
        MeanCi.Of(g.Select(r => r.Experts ?? double.NaN)), MeanCi.Of(g.Select(r => r.Flops ?? double.NaN)),
        MeanCi.Of(g.Select(r => r.Speedup ?? double.NaN)))).ToList();

    string Markdown(IReadOnlyList<string> sweeps, List<RunInfo> runs, List<IGrouping<string, RunInfo>> groups,
        List<(string file, string title)> plots, string runsSql)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Sweep report: {string.Join(", ", sweeps)}").AppendLine();
        var distinct = runs.DistinctBy(r => r.RunId).ToList();
        sb.AppendLine($"{distinct.Count} runs: {distinct.Count(r => r.Status == "completed")} completed, {distinct.Count(r => r.Status == "failed")} failed, " +
                      $"{distinct.Count(r => r.Status == "skipped")} skipped, {distinct.Count(r => r.Status is "pending" or "running")} pending or running.").AppendLine();
        if (sweeps.Count > 1)
        {
            // History: the sweeps side by side (a run planned by both counts in each).
            sb.AppendLine("## Sweeps compared").AppendLine();
            sb.AppendLine("| sweep | runs | completed | failed | best accuracy | fewest experts/token | spec hash |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var sw in sweeps)
            {
                var mine = runs.Where(r => r.Sweep == sw).ToList();
                var hash = store.Query("SELECT spec_hash FROM sweeps WHERE name = $n", ("$n", sw)).Rows.FirstOrDefault()?[0];
                var ok = mine.Where(r => r.Status == "completed").ToList();
                sb.AppendLine($"| {sw} | {mine.Count} | {ok.Count} | {mine.Count(r => r.Status == "failed")} | " +
                              $"{F(ok.Max(r => r.Acc))} | {F(ok.Min(r => r.Experts))} | {hash} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("## By router configuration (mean ± 95% CI over seeds)").AppendLine();
        sb.AppendLine("| configuration | n | accuracy | eval loss | experts/token | FLOPs/token | speed-up vs top-k (FLOPs) |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in Table(groups))
            sb.AppendLine($"| {r.Config} | {r.N} | {r.Acc} | {r.Loss} | {r.Experts} | {r.Flops} | {r.Speedup} |");
        // Token-wise: the words (seen ≥ 5 times) with the most and the fewest experts per token, per configuration.
        const string WordsSql = """
            SELECT word, token_class, sum(tokens) AS n, sum(tokens * mean_experts_per_token) / sum(tokens) AS experts
            FROM word_usage WHERE run_id IN (%IDS%) GROUP BY word, token_class HAVING n >= 5 ORDER BY experts DESC, word
            """;
        sb.AppendLine().AppendLine("## Words with the most and fewest experts per token").AppendLine();
        sb.AppendLine("| configuration | most experts | fewest experts |");
        sb.AppendLine("|---|---|---|");
        foreach (var g in groups)
        {
            var ids = g.Select((r, i) => ("$w" + i, (object?)r.RunId)).ToArray();
            var rows = store.Query(WordsSql.Replace("%IDS%", string.Join(",", ids.Select(x => x.Item1))), ids).Rows;
            if (rows.Count == 0) continue;
            string W(object?[] r) => $"{r[0]} ({D(r[3])!.Value.ToString("0.##", CultureInfo.InvariantCulture)})";
            sb.AppendLine($"| {g.First().Config} | {string.Join(", ", rows.Take(8).Select(W))} | {string.Join(", ", rows.TakeLast(8).Reverse().Select(W))} |");
        }
        sb.AppendLine().AppendLine("## Runs").AppendLine();
        sb.AppendLine("| run | sweep | router | knobs | curriculum | seed | status | accuracy | eval loss | perplexity | experts/token | FLOPs/token |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
            sb.AppendLine($"| {r.RunId} | {r.Sweep} | {r.Router} | {r.Knobs} | {r.Curriculum} | {r.Seed} | {r.Status} | {F(r.Acc)} | {F(r.Loss)} | {F(r.Ppl)} | {F(r.Experts)} | {F(r.Flops)} |");
        var failed = runs.Where(r => r.Status is "failed" or "skipped").DistinctBy(r => r.RunId).ToList();
        sb.AppendLine().AppendLine("## Failures").AppendLine();
        if (failed.Count == 0) sb.AppendLine("None.");
        foreach (var r in failed) sb.AppendLine($"- **{r.RunId}** ({r.Config}, seed {r.Seed}) {r.Status}: {r.Error}");
        sb.AppendLine().AppendLine("## Plots").AppendLine();
        foreach (var (file, title) in plots) sb.AppendLine($"![{title}]({file})");
        sb.AppendLine().AppendLine("## Provenance").AppendLine();
        foreach (var row in store.Query("""
                 SELECT DISTINCT json_extract(provenance_json, '$.git_commit'), json_extract(provenance_json, '$.git_dirty'),
                        json_extract(provenance_json, '$.torchsharp'), json_extract(provenance_json, '$.libtorch'),
                        json_extract(provenance_json, '$.dotnet'), json_extract(provenance_json, '$.device'), json_extract(provenance_json, '$.host')
                 FROM runs WHERE provenance_json IS NOT NULL AND run_id IN (SELECT run_id FROM sweep_runs WHERE sweep IN (%IN%))
                 """.Replace("%IN%", string.Join(",", sweeps.Select((_, i) => "$s" + i))), sweeps.Select((s, i) => ("$s" + i, (object?)s)).ToArray()).Rows)
            sb.AppendLine($"- commit {row[0]} (dirty: {row[1]}), TorchSharp {row[2]}, {row[3]}, {row[4]}, device {row[5]}, host {row[6]}");
        foreach (var s in sweeps)
        {
            var spec = store.Query("SELECT spec_path, spec_hash FROM sweeps WHERE name = $n", ("$n", s)).Rows.FirstOrDefault();
            if (spec != null) sb.AppendLine($"- sweep {s}: spec {spec[0]} (hash {spec[1]})");
        }
        sb.AppendLine().AppendLine("## Reproduce these numbers").AppendLine().AppendLine("```sql").AppendLine(runsSql).AppendLine("```");
        return sb.ToString();
    }

    static string F(double? v) => v == null ? "–" : Math.Abs(v.Value) >= 1e5 ? v.Value.ToString("0.###e0", CultureInfo.InvariantCulture) : v.Value.ToString("0.####", CultureInfo.InvariantCulture);

    static string Html(IReadOnlyList<string> sweeps, string md, List<RunInfo> runs, List<IGrouping<string, RunInfo>> groups,
        List<(string file, string title)> plots, string outDir)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Orchestrator report: ")
          .Append(WebUtility.HtmlEncode(string.Join(", ", sweeps)))
          .Append("</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;font-size:13px}" +
                  "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}" +
                  "img{max-width:100%;border:1px solid #eee}.failed{color:#b00}</style></head><body>");
        // The HTML is the markdown's content, rendered simply; images are embedded as data URIs.
        foreach (var line in md.Split('\n'))
        {
            if (line.StartsWith("# ")) sb.Append("<h1>").Append(WebUtility.HtmlEncode(line[2..])).Append("</h1>");
            else if (line.StartsWith("## ")) sb.Append("<h2>").Append(WebUtility.HtmlEncode(line[3..])).Append("</h2>");
            else if (line.StartsWith("|---")) continue;
            else if (line.StartsWith('|'))
            {
                var cells = line.Trim().Trim('|').Split('|').Select(c => WebUtility.HtmlEncode(c.Trim()));
                sb.Append("<tr>").Append(string.Concat(cells.Select(c => $"<td>{c}</td>"))).Append("</tr>");
            }
            else if (line.StartsWith("!["))
            {
                int a = line.IndexOf("](", StringComparison.Ordinal);
                var file = line[(a + 2)..^1];
                var title = line[2..a];
                var b64 = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(outDir, file)));
                sb.Append($"<figure><img alt=\"{WebUtility.HtmlEncode(title)}\" src=\"data:image/png;base64,{b64}\"><figcaption>{WebUtility.HtmlEncode(title)}</figcaption></figure>");
            }
            else if (line.StartsWith("- ")) sb.Append("<li>").Append(WebUtility.HtmlEncode(line[2..])).Append("</li>");
            else if (line.Length > 0 && !line.StartsWith("```")) sb.Append("<p>").Append(WebUtility.HtmlEncode(line)).Append("</p>");
        }
        sb.Append("</body></html>");
        // Wrap runs of <tr> in tables.
        var html = System.Text.RegularExpressions.Regex.Replace(sb.ToString(), "((?:<tr>.*?</tr>)+)", "<table>$1</table>");
        return html;
    }
}
