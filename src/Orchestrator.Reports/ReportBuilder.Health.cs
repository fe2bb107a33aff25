using System.Text;
using ScottPlot;

namespace Orchestrator.Reports;

/// <summary>Routing health, as MoE training toolkits log it: load imbalance (MaxVio), dead experts and the entropy
/// of the load over the evaluation (a table per configuration), the same imbalance and dead experts over
/// fine-tuning (plots), and which experts tokens use together (a co-activation heatmap per configuration).</summary>
public sealed partial class ReportBuilder
{
    static void RoutingHealth(StringBuilder sb, ReportData data)
    {
        var rows = data.Groups.Select(g => (Config: g.First().Config,
            Layers: g.SelectMany(r => data.Health[r.RunId]).Where(h => h.MaxVio != null).ToList()))
            .Where(x => x.Layers.Count > 0).ToList();
        if (rows.Count == 0) return;
        sb.AppendLine().AppendLine("## Routing health").AppendLine();
        sb.AppendLine("Over the evaluation, averaged over MoE layers and seeds (`routing_stats`): MaxVio = " +
                      "(max load − mean load) / mean load over all of it and per batch (0: balanced), the share " +
                      "of experts no token used, the entropy of the load over experts / log N (1: uniform), and " +
                      "the share of each token's top-k experts under the base model that the router still uses " +
                      "(1: all kept).").AppendLine();
        sb.AppendLine("| configuration | MaxVio | MaxVio per batch | dead experts | load entropy | kept from base |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var (config, layers) in rows)
            sb.AppendLine($"| {config} | {F(layers.Average(h => h.MaxVio))} | " +
                          $"{F(layers.Average(h => h.MaxVioBatch))} | {F(layers.Average(h => h.Dead))} | " +
                          $"{F(layers.Average(h => h.Entropy))} | {F(layers.Average(h => h.Stability))} |");
    }

    /// <summary>MaxVio of each fine-tuning batch and the share of dead experts, per run (EMA, as the loss curves).
    /// </summary>
    static void HealthOverTraining(ReportData d, PlotSink sink)
    {
        foreach (var (key, label, file) in new[]
                 {
                     ("max_vio", "MaxVio of the batch (mean over layers)", "max_vio_training"),
                     ("dead_experts", "share of dead experts in the batch", "dead_experts_training"),
                 })
        {
            var p = new Plot();
            int drawn = 0;
            foreach (var r in d.Done)
            {
                var curve = d.Curves[r.RunId].Where(c => c.Key == key).ToList();
                if (curve.Count == 0) continue;
                var sc = p.Add.Scatter(curve.Select(c => c.Step).ToArray(), Ema(curve.Select(c => c.Value),
                    CurveSmoothing));
                sc.MarkerSize = 0;
                sc.LegendText = $"{r.Config} s{r.Seed}";
                drawn++;
            }
            if (drawn == 0) continue;
            p.XLabel("fine-tuning step"); p.YLabel($"{label} (EMA {CurveSmoothing})");
            p.ShowLegend(Edge.Right);
            sink.Save(p, file, $"Routing health during fine-tuning: {label}");
        }
    }

    /// <summary>P(expert j used | expert i used) for one run of the configuration (its first seed), averaged over
    /// MoE layers: row i, column j = tokens that used both / tokens that used i.</summary>
    static void CoActivation(ReportData d, RunInfo run, PlotSink sink)
    {
        var pairs = d.CoActivation[run.RunId].ToList();
        if (pairs.Count == 0) return;
        int n = pairs.Max(x => x.B) + 1;
        var layers = pairs.Select(x => x.Layer).Distinct().ToList();
        var grid = new double[n, n];
        foreach (var layer in layers)
        {
            var co = new double[n, n];
            foreach (var x in pairs.Where(x => x.Layer == layer)) co[x.A, x.B] = co[x.B, x.A] = x.Tokens;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    grid[i, j] += co[i, i] == 0 ? 0 : co[i, j] / co[i, i] / layers.Count;
        }
        var p = new Plot();
        var hm = p.Add.Heatmap(BottomUp(grid));
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        hm.ManualRange = new ScottPlot.Range(0, 1);
        p.Add.ColorBar(hm).Label = "P(column expert used | row expert used)";
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        p.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        p.XLabel("expert j"); p.YLabel("expert i");
        sink.Save(p, $"coactivation_{run.RunId}",
            $"Co-activation: {run.Config} seed {run.Seed}, mean over {layers.Count} MoE layers");
    }
}
