using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Moe.Module;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Bench;

/// <summary>One expert's forward (SwiGLU: three matrix products, SiLU, the product) timed by how many tokens it
/// gets: the FLOPs count assumes a token costs the same whether an expert gets 64 or 1,024 of them, and on the CPU
/// it does not. A router that uses fewer experts per token also hands each expert fewer tokens, so its wall-clock
/// saving falls short of its FLOPs saving by what this curve loses. Sampled once a round, between the model
/// bench's blocks, so that it is measured under the same load as the forwards it explains.</summary>
public sealed class ExpertCurve
{
    static readonly int[] Rows = [32, 64, 128, 256, 512, 1024];
    const int Repeats = 5;

    readonly ModelConfig config;
    readonly SwiGluExpert expert;
    readonly Tensor[] inputs;
    readonly List<double>[] times = Rows.Select(_ => new List<double>()).ToArray();

    public ExpertCurve(ModelConfig c)
    {
        config = c;
        manual_seed(2);
        expert = new SwiGluExpert(c.DModel, c.ExpertHidden);
        inputs = Rows.Select(r => randn(r, c.DModel)).ToArray();
        // One untimed forward of each size: a first call costs up to ~50 ms more (libtorch's and the BLAS's first
        // use of a shape), which a bench of one round, no warm-up, would take for the curve.
        using var noGrad = no_grad();
        foreach (var x in inputs) using (NewDisposeScope()) expert.forward(x).sum().item<float>();
    }

    /// <summary>One round: each token count, five forwards; kept unless it is a warm-up round.</summary>
    public void Sample(bool keep)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < Rows.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            for (int rep = 0; rep < Repeats; rep++)
                using (NewDisposeScope()) expert.forward(inputs[i]).sum().item<float>();
            if (keep) times[i].Add(sw.Elapsed.TotalMilliseconds / Repeats);
        }
    }

    double Ms(int i) => times[i].Order().ElementAt(times[i].Count / 2);

    /// <summary>Per token count: the median ms over rounds and the GFLOP/s it makes.</summary>
    public JsonArray Table(TextWriter log)
    {
        var table = new JsonArray();
        var line = new List<string>();
        for (int i = 0; i < Rows.Length; i++)
        {
            // 2 FLOPs per weight per token (SwiGluExpert.ParameterCount: 3 · d · hidden weights).
            double gflops = 2.0 * SwiGluExpert.ParameterCount(config.DModel, config.ExpertHidden) * Rows[i]
                / (Ms(i) / 1000) / 1e9;
            table.Add(new JsonObject { ["tokens"] = Rows[i], ["ms"] = Math.Round(Ms(i), 4),
                ["gflops"] = Math.Round(gflops, 1) });
            line.Add($"{Rows[i]}: {gflops:F0}");
        }
        log.WriteLine($"one expert (d {config.DModel}, hidden {config.ExpertHidden}) by tokens it gets, GFLOP/s: " +
                      string.Join(", ", line));
        return table;
    }

    /// <summary>The curve as t(tokens) ≈ a + b · tokens, least squares (of the medians the table holds, unrounded):
    /// a is what an expert's forward costs whatever it gets, paid by every expert of every MoE layer in every
    /// forward, so it does not shrink when a router gives the experts fewer tokens.</summary>
    public JsonObject Fit(TextWriter log)
    {
        var (a, b) = MathNet.Numerics.Fit.Line(Rows.Select(r => (double)r).ToArray(),
            Enumerable.Range(0, Rows.Length).Select(Ms).ToArray());
        int moeLayers = Enumerable.Range(0, config.Layers).Count(config.IsMoeLayer);
        double perForward = a * config.Experts * moeLayers;
        log.WriteLine($"one expert's forward ≈ {a:F3} ms + {b * 1000:F2} µs a token: {config.Experts} experts × " +
                      $"{moeLayers} MoE layers pay {perForward:F1} ms of a forward whatever the router");
        return new JsonObject
        {
            ["fixed_ms"] = Math.Round(a, 4), ["per_token_us"] = Math.Round(b * 1000, 4),
            ["fixed_ms_per_forward"] = Math.Round(perForward, 3),
            ["model"] = "ms ≈ fixed_ms + per_token_us / 1000 · tokens, least squares over expert_gemm",
        };
    }
}
