using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Markdig;
using Orchestrator.Results;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>The report's text: the Markdown (tables over the same data as the plots, failures, provenance) and
/// the self-contained HTML made from it.</summary>
public sealed partial class ReportBuilder
{
    sealed record Row(string Config, int N, Analysis.Interval Acc, MeanCi Loss, MeanCi Experts, MeanCi Flops,
        MeanCi Speedup);

    static List<Row> Table(ReportData data) => data.Groups.Select(g
        => new Row(g.First().Config, g.Count(),
        PooledAccuracy(data, g), MeanCi.Of(g.Select(r => r.Loss ?? double.NaN)),
        MeanCi.Of(g.Select(r => r.Experts ?? double.NaN)), MeanCi.Of(g.Select(r => r.Flops ?? double.NaN)),
        MeanCi.Of(g.Select(r => r.Speedup ?? double.NaN)))).ToList();

    string Markdown(ReportData data, List<(string File, string Title)> plots)
    {
        var (sweeps, runs, groups, runsSql) = (data.Sweeps, data.Runs, data.Groups, data.RunsSql);
        var sb = new StringBuilder();
        sb.AppendLine($"# Sweep report: {string.Join(", ", sweeps)}").AppendLine();
        var distinct = runs.DistinctBy(r => r.RunId).ToList();
        sb.AppendLine($"{distinct.Count} runs: {distinct.Count(r => r.Status == "completed")} completed, " +
            $"{distinct.Count(r => r.Status == "failed")} failed, " +
                      $"{distinct.Count(r => r.Status == "skipped")} skipped, " +
                      $"{distinct.Count(r => r.Status is "pending" or "running")} pending or running.").AppendLine();
        Findings(sb, sweeps);
        if (sweeps.Count > 1)
        {
            // History: the sweeps side by side (a run planned by both counts in each).
            sb.AppendLine("## Sweeps compared").AppendLine();
            sb.AppendLine("| sweep | runs | completed | failed | best run's accuracy [95% CI] (items) | " +
                          "fewest experts/token | spec hash |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var sw in sweeps)
            {
                var mine = runs.Where(r => r.Sweep == sw).ToList();
                var hash = store.Query("SELECT spec_hash FROM sweeps WHERE name = $n", ("$n",
                    sw)).Rows.FirstOrDefault()?[0];
                var ok = mine.Where(r => r.Status == "completed").ToList();
                var best = ok.Where(r => r.Acc != null).MaxBy(r => r.Acc);
                sb.AppendLine($"| {sw} | {mine.Count} | {ok.Count} | {mine.Count(r => r.Status == "failed")} | " +
                              $"{(best == null ? "–" : WithInterval(PooledAccuracy(data, [best])))} | " +
                              $"{F(ok.Min(r => r.Experts))} | {hash} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("## By router configuration").AppendLine();
        sb.AppendLine("Task accuracy pooled over seeds with its Wilson 95% interval and item count; the other " +
                      "columns: mean ± 95% Student-t interval over seeds.").AppendLine();
        sb.AppendLine("| configuration | seeds | task accuracy [95% CI] (items) | eval loss | experts/token | " +
                      "FLOPs/token | speed-up vs top-k (FLOPs) |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in Table(data))
            sb.AppendLine($"| {r.Config} | {r.N} | {WithInterval(r.Acc)} | {r.Loss} | {r.Experts} | {r.Flops} | " +
                          $"{r.Speedup} |");
        AccuracyByTask(sb, data);
        ExpertsByClassAndDifficulty(sb, data);
        RoutingHealth(sb, data);
        TokenView(sb, data);
        // Token-wise: the words with the most and the fewest experts per token, per configuration. Rare words'
        // averages are noise: only words seen MinWordTokens times or more (over the configuration's seeds).
        const int MinWordTokens = 20;
        const string WordsSql = """
            SELECT word, token_class, sum(tokens) AS n, sum(tokens * mean_experts_per_token) / sum(tokens) AS experts
            FROM word_usage WHERE run_id IN (%IDS%) AND token_class IN ('content_word', 'function_word', 'number')
            GROUP BY word, token_class HAVING n >= %MIN% ORDER BY experts DESC, word
            """;
        sb.AppendLine().AppendLine("## Words with the most and fewest experts per token").AppendLine();
        sb.AppendLine($"Words (not punctuation) seen at least {MinWordTokens} times in the held-out text, over " +
                      "the configuration's seeds; experts per token averaged over layers.").AppendLine();
        sb.AppendLine("| configuration | most experts | fewest experts |");
        sb.AppendLine("|---|---|---|");
        foreach (var g in groups)
        {
            var ids = g.Select((r, i) => ("$w" + i, (object?)r.RunId)).ToArray();
            var rows = store.Query(WordsSql.Replace("%IDS%", string.Join(",", ids.Select(x => x.Item1)))
                .Replace("%MIN%", MinWordTokens.ToString(CultureInfo.InvariantCulture)), ids).Rows;
            if (rows.Count == 0) continue;
            string W(object?[] r) => $"{r[0]} ({Convert.ToDouble(r[3], CultureInfo.InvariantCulture)
                .ToString("0.##", CultureInfo.InvariantCulture)})";
            sb.AppendLine($"| {g.First().Config} | {string.Join(", ", rows.Take(8).Select(W))} | " +
                $"{string.Join(", ", rows.TakeLast(8).Reverse().Select(W))} |");
        }
        sb.AppendLine().AppendLine("## Runs").AppendLine();
        sb.AppendLine("| run | sweep | configuration | seed | status | accuracy [95% CI] (items) | eval loss | " +
            "perplexity | experts/token | FLOPs/token |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
            sb.AppendLine($"| {r.RunId} | {r.Sweep} | {r.Config} | {r.Seed} | {r.Status} | " +
                $"{WithInterval(PooledAccuracy(data, [r]))} | {F(r.Loss)} | {F(r.Ppl)} | {F(r.Experts)} | " +
                $"{F(r.Flops)} |");
        var failed = runs.Where(r => r.Status is "failed" or "skipped").DistinctBy(r => r.RunId).ToList();
        sb.AppendLine().AppendLine("## Failures").AppendLine();
        if (failed.Count == 0) sb.AppendLine("None.");
        foreach (var r in failed) sb.AppendLine($"- **{r.RunId}** ({r.Config}, seed {r.Seed}) {r.Status}: {r.Error}");
        sb.AppendLine().AppendLine("## Plots").AppendLine();
        foreach (var (file, title) in plots) sb.AppendLine($"![{title}]({file})");
        sb.AppendLine().AppendLine("## Provenance").AppendLine();
        const string ProvenanceSql = """
            SELECT DISTINCT json_extract(provenance_json, '$.git_commit'), json_extract(provenance_json, '$.git_dirty'),
                   json_extract(provenance_json, '$.torchsharp'), json_extract(provenance_json, '$.libtorch'),
                   json_extract(provenance_json, '$.dotnet'), json_extract(provenance_json, '$.device'),
                   json_extract(provenance_json, '$.host'), json_extract(provenance_json, '$.gpu'),
                   json_extract(provenance_json, '$.cuda_runtime'), json_extract(provenance_json, '$.gpu_driver')
            FROM runs WHERE provenance_json IS NOT NULL
              AND run_id IN (SELECT run_id FROM sweep_runs WHERE sweep IN (%IN%))
            """;
        var inSweeps = string.Join(",", sweeps.Select((_, i) => "$s" + i));
        var sweepArgs = sweeps.Select((s, i) => ("$s" + i, (object?)s)).ToArray();
        foreach (var row in store.Query(ProvenanceSql.Replace("%IN%", inSweeps), sweepArgs).Rows)
            sb.AppendLine($"- commit {row[0]} (dirty: {row[1]}), TorchSharp {row[2]}, libtorch {row[3]}, {row[4]}, " +
                $"device {row[5]}{(row[7] is string gpu ? $" ({gpu}, CUDA {row[8]}, driver {row[9]})" : "")}, " +
                $"host {row[6]}");
        foreach (var s in sweeps)
        {
            var spec = store.Query("SELECT spec_path, spec_hash FROM sweeps WHERE name = $n", ("$n",
                s)).Rows.FirstOrDefault();
            if (spec != null) sb.AppendLine($"- sweep {s}: spec {spec[0]} (hash {spec[1]})");
        }
        sb.AppendLine().AppendLine("## Reproduce these numbers").AppendLine().AppendLine("```sql").AppendLine(runsSql)
            .AppendLine("```");
        return sb.ToString();
    }

    static string F(double? v) => v == null ? "–" : Math.Abs(v.Value) >= 1e5 ? v.Value.ToString("0.###e0",
        CultureInfo.InvariantCulture) : v.Value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The Markdown rendered to one self-contained page by Markdig (tables, lists, code blocks as
    /// CommonMark renders them), the plots embedded as data URIs.</summary>
    static string Html(IReadOnlyList<string> sweeps, string md, string outDir)
    {
        var embedded = PlotLink().Replace(md, m =>
        {
            var png = Path.Combine(outDir, m.Groups["file"].Value);
            if (!File.Exists(png)) return m.Value;
            var b64 = Convert.ToBase64String(File.ReadAllBytes(png));
            return $"![{m.Groups["title"].Value}](data:image/png;base64,{b64})";
        });
        var pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseFigures().Build();
        var body = Markdig.Markdown.ToHtml(embedded, pipeline);
        return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Orchestrator report: " +
               WebUtility.HtmlEncode(string.Join(", ", sweeps)) + "</title><style>" + Style + "</style></head><body>" +
               body + "</body></html>";
    }

    const string Style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}" +
                         "table{border-collapse:collapse;font-size:13px}" +
                         "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}" +
                         "td:first-child,th:first-child{text-align:left}" +
                         "img{max-width:100%;border:1px solid #eee}pre{background:#f6f6f6;padding:1em;overflow:auto}" +
                         ".tokens td.text{text-align:left;font-family:monospace;line-height:1.7}";

    [System.Text.RegularExpressions.GeneratedRegex(@"!\[(?<title>[^\]]*)\]\((?<file>[^)\s]+\.png)\)")]
    private static partial System.Text.RegularExpressions.Regex PlotLink();
}
