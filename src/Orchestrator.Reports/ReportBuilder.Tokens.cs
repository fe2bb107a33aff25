using System.Globalization;
using System.Net;
using System.Text;

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
}
