using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>The token-level view: the same held-out text once per configuration (its first seed), each token
/// shaded by the experts it used, averaged over MoE layers — where a router spends its experts, read in place.
/// One colour scale for every line, from the fewest experts seen (white) to the most (dark).</summary>
public sealed partial class ReportBuilder
{
    static void TokenView(StringBuilder sb, ReportData data)
    {
        var lines = data.Groups.Select(g => (Config: g.First().Config, Tokens: data.TokenRoutes[g.First().RunId]
            .ToList())).Where(x => x.Tokens.Count > 0).ToList();
        if (lines.Count == 0) return;
        double lo = lines.Min(l => l.Tokens.Min(t => t.Experts)), hi = lines.Max(l => l.Tokens.Max(t => t.Experts));
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine().AppendLine("## Where tokens use more experts").AppendLine();
        sb.AppendLine($"The first held-out text window, once per configuration (first seed), each token shaded by " +
                      $"the experts it used averaged over MoE layers: white {lo.ToString("0.##", inv)}, darkest " +
                      $"{hi.ToString("0.##", inv)} (hover a token for its value; `token_routes` holds each layer's " +
                      "experts).").AppendLine();
        sb.AppendLine("<table class=\"tokens\">");
        foreach (var (config, tokens) in lines)
        {
            var text = new StringBuilder();
            foreach (var (_, token, experts) in tokens)
            {
                double shade = hi > lo ? (experts - lo) / (hi - lo) : 0;
                var shown = token.Replace("\n", "⏎").Replace("\t", "⇥");
                text.Append($"<span style=\"background:rgba(49,104,142,{(0.85 * shade).ToString("0.###", inv)});" +
                            $"color:{(shade > 0.6 ? "#fff" : "#000")}\" title=\"{experts.ToString("0.##", inv)}\">" +
                            $"{WebUtility.HtmlEncode(shown).Replace(" ", "&nbsp;")}</span>");
            }
            sb.AppendLine($"<tr><td>{WebUtility.HtmlEncode(config)}</td><td class=\"text\">{text}</td></tr>");
        }
        sb.AppendLine("</table>");
    }

    /// <summary>Experts per token against how frequent the word is: the held-out words of each configuration (its
    /// seeds pooled) in bins of doubling count (1, 2–3, 4–7, …), each bin's token-weighted mean experts per
    /// token. Frequent words are mostly function words; whether rare words get more experts is the question.
    /// </summary>
    static void ExpertsByWordFrequency(ReportData d, PlotSink sink)
    {
        var p = new Plot();
        int drawn = 0;
        foreach (var g in d.Groups)
        {
            var words = g.SelectMany(r => d.Words[r.RunId]).Where(w => w.Tokens > 0).ToList();
            if (words.Count == 0) continue;
            var bins = words.GroupBy(w => (int)Math.Floor(Math.Log2(w.Tokens))).OrderBy(b => b.Key)
                .Select(b => (X: Math.Pow(2, b.Key), Y: b.Sum(w => w.Tokens * w.Experts) / b.Sum(w => w.Tokens)))
                .ToList();
            var sc = p.Add.Scatter(bins.Select(b => Math.Log2(b.X)).ToArray(), bins.Select(b => b.Y).ToArray());
            sc.LegendText = g.First().Config;
            drawn++;
        }
        if (drawn == 0) return;
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        p.XLabel("log₂ of the word's count in the held-out text (bins 1, 2–3, 4–7, …)");
        p.YLabel("experts per token (token-weighted)");
        p.ShowLegend(Edge.Right);
        sink.Save(p, "experts_by_word_frequency", "Experts per token against word frequency");
    }
}
