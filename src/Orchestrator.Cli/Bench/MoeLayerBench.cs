using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Moe;
using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using Orchestrator.Specs;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Bench;

/// <summary>MoE-layer forward+backward time at a fixed size, measured side by side in one run:
/// a dense SwiGLU FFN with the active FLOPs of top-2, top-2, top-1, and each variable-k router at
/// its measured mean k. Reports ratios only (the machines are noisy), interleaving the candidates
/// round by round so drift hits them all alike.</summary>
public static class MoeLayerBench
{
    public sealed record Options(int DModel = 256, int Experts = 8, int Hidden = 512, int Tokens = 4096,
        int Rounds = 7, int Warmup = 2, double GateScale = 2);

    sealed record Candidate(string Name, Func<Tensor, Tensor> Step, Func<double> MeanK, int Nulls = 0);

    public static JsonObject Run(Options o, TextWriter log)
    {
        manual_seed(0);
        var x = randn(1, o.Tokens, o.DModel);
        // A trained router is peaked, a fresh one nearly uniform: the gate is scaled so that routing looks
        // trained, the regime in which the variable-k routers choose between one and two experts.
        MoeBlock Block(RouterConfig rc)
        {
            manual_seed(1);                                      // identical weights in every block
            var b = new MoeBlock(0, o.DModel, o.Experts, o.Hidden, 0, Routers.Create(RouterConfig.TopK(2), o.Experts));
            using (no_grad()) b.Gate.weight!.mul_(Scalars.Of(o.GateScale));
            var router = Routers.Create(rc, o.Experts);
            b.SetRouter(router, withAllocator: router.NeedsAllocator);
            // Ada-K: an allocator that prefers k ∈ {1, 2} (rows for k ≥ 3 zero), like a trained one under λ > 0.
            if (b.Allocator is { } a) using (no_grad()) { a.weight!.zero_(); a.weight![..2].normal_(0, 1); }
            return b;
        }
        Candidate Moe(string name, RouterConfig rc)
        {
            var b = Block(rc);
            double k = 0;
            return new Candidate(name, t =>
            {
                var y = b.Forward(t, Orchestrator.Moe.TelemetryLevel.Summary);
                k = y.Telemetry!.MeanExpertsPerToken;
                return y.Hidden;
            }, () => k, b.Router.NullExperts);
        }
        manual_seed(2);
        var dense = new SwiGluExpert(o.DModel, 2 * o.Hidden);       // same active expert FLOPs as top-2
        var candidates = new List<Candidate>
        {
            new("dense_ffn_top2_flops", t => dense.forward(t), () => 2),
            Moe("top2", RouterConfig.TopK(2)),
            Moe("top1", RouterConfig.TopK(1)),
        };
        // Every registered variable-k router at its published defaults.
        candidates.AddRange(RouterCatalog.All.Where(d => !d.IsBaseline).Select(d => Moe(d.Name,
            RouterConfig.Of(d.Name))));
        var times = candidates.ToDictionary(c => c.Name, _ => new List<double>());
        for (int round = 0; round < o.Warmup + o.Rounds; round++)
            foreach (var c in round % 2 == 0 ? candidates : Enumerable.Reverse(candidates))
            {
                using var scope = NewDisposeScope();
                var input = x.clone().requires_grad_(true);
                var sw = Stopwatch.StartNew();
                var y = c.Step(input);
                y.pow(Scalars.Of(2)).mean().backward();
                sw.Stop();
                if (round >= o.Warmup) times[c.Name].Add(sw.Elapsed.TotalMilliseconds);
            }
        double Median(List<double> v) { var s = v.Order().ToList(); return s[s.Count / 2]; }
        var med = times.ToDictionary(kv => kv.Key, kv => Median(kv.Value));
        // MoE-layer FLOPs per token: router 2·d·(N + m) + experts 2·3·d·h·k̄.
        double LayerFlops(double k, int nulls = 0) => 2.0 * o.DModel * (o.Experts + nulls)
            + 2.0 * 3 * o.DModel * o.Hidden * k;
        var result = new JsonObject
        {
            ["config"] = new JsonObject { ["d_model"] = o.DModel, ["experts"] = o.Experts,
                ["expert_hidden"] = o.Hidden, ["tokens"] = o.Tokens,
                ["rounds"] = o.Rounds, ["threads"] = get_num_threads(), ["statistic"] = "median forward+backward ms" },
            ["ms"] = new JsonObject(med.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 3)))),
            ["dense_equivalent_ratio"] = Math.Round(med["top2"] / med["dense_ffn_top2_flops"], 4),
        };
        log.WriteLine($"MoE layer d={o.DModel} N={o.Experts} h={o.Hidden} T={o.Tokens}, median of {o.Rounds} rounds, " +
            $"{get_num_threads()} threads");
        log.WriteLine($"  time(top-2 MoE) / time(dense FFN, same active FLOPs) = {result["dense_equivalent_ratio"]}  " +
            $"(target ≤ 1.3)");
        foreach (var c in candidates.Skip(2))
        {
            double k = c.MeanK();
            int nulls = c.Nulls;
            double speed = med["top2"] / med[c.Name];
            double ideal = LayerFlops(2) / LayerFlops(k, nulls);
            result[c.Name] = new JsonObject
            {
                ["mean_k"] = Math.Round(k, 4), ["speedup_vs_top2"] = Math.Round(speed, 4),
                ["ideal_speedup_vs_top2"] = Math.Round(ideal, 4), ["efficiency"] = Math.Round(speed / ideal, 4),
            };
            log.WriteLine($"  {c.Name,-16} mean k {k:F3}  speed-up {speed:F3}  ideal {ideal:F3}  efficiency " +
                $"{speed / ideal:F3}  (target ≥ 0.8)");
        }
        return result;
    }

    public static void Write(JsonObject result, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
