using Orchestrator.Moe.Routing;
using static TorchSharp.torch;

namespace Orchestrator.Moe;

/// <summary>What one MoE layer's routing statistics are computed from, kept (on the device) until the model
/// measures every layer of a forward at once: the routing decision, the float32 router logits z (T, N + m), the
/// tokens each expert got (already on the host) and the rule as routed (should it be swapped before reading).
/// </summary>
public sealed record RoutingSample(int Layer, int Experts, RouterOutput Routing, Tensor Logits, long[] Counts,
    TelemetryLevel Level, Router Router)
{
    public long Tokens => Routing.Mask.shape[0];

    /// <summary>Layers whose samples share this key are measured by the same batched operations.</summary>
    internal (int, long, long, TelemetryLevel, bool) Shape =>
        (Experts, Routing.Probs.shape[1], Tokens, Level, HasTop);

    int Two => (int)Math.Min(2, Routing.Probs.shape[1]);

    /// <summary>Whether the rule kept P's top two (or its only one) and their slots.</summary>
    internal bool HasTop => Routing.Top is { } top && top.Values.shape[1] >= Two;
}

/// <summary>The routing statistics of a forward's MoE layers, computed on the device as one float32 row per layer
/// that the model brings to the host in one transfer (PendingTelemetry). Row layout: [histogram (n + 1) | Σ_t P_ti
/// (n) | Σ P log P, Σ margin, balance loss, entropy loss, z-loss | co-activation (n²) | experts per token (T,
/// Tokens level only)].</summary>
/// <remarks>On the CPU each TorchSharp call costs ~5–7 µs whatever its size (a kernel launch, a wrapper object,
/// its dispose-scope entry), about as much as one of these kernels' work, so the layers are stacked and measured
/// by one set of calls: ~50 for a 4-layer forward where each layer took ~25. Results are bit for bit a layer's own:
/// elementwise ops are exact whatever they are stacked with, integer counts (histogram, co-activation, experts
/// per token) are exact in float32 in any order, column sums are reduced alike whatever rows surround them, and a
/// float sum over a whole layer is a row of a batched reduction only where libtorch would sum the layer's own
/// tensor in one pass too (<see cref="ReductionGrain"/>); a test checks each field against a layer measured alone.
/// What the host can work out exactly (Σ experts per token is Σ load, null slots: T·k − Σ load) is not computed
/// on the device.</remarks>
public static class RoutingStatistics
{
    /// <summary>libtorch's GRAIN_SIZE: a reduction over more elements than this is split between threads (the
    /// partial sums then added), one over fewer is summed in one pass whether it is a whole tensor or one row of a
    /// larger one. Up to this many elements a layer, its float sums are taken as rows of one batched reduction;
    /// beyond it, one by one as the layer alone would be (a test checks both sides of it).</summary>
    public const long ReductionGrain = 32768;

    /// <summary>(L, row) the statistics of L samples of one shape (<see cref="RoutingSample.Shape"/>).</summary>
    public static Tensor Measure(IReadOnlyList<RoutingSample> samples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();                      // statistics only: no graph, so no detach per input
        var first = samples[0];
        int n = first.Experts, layers = samples.Count, two = (int)Math.Min(2, first.Routing.Probs.shape[1]);
        Tensor Stack(Func<RoutingSample, Tensor> part) =>
            layers == 1 ? part(first).unsqueeze(0) : stack(samples.Select(part).ToArray());
        var mask = Stack(s => s.Routing.Mask);                                              // (L, T, N) 0/1
        var probs = Stack(s => s.Routing.Probs);                                            // (L, T, N + m)
        var perToken = mask.sum([2]);                                                       // (L, T) real experts
        // The router's own top-k or sort of P where it made one: a top-k over 8–16 columns costs ~0.1–0.4 ms a
        // layer on the CPU (its per-row reduction is slow at these widths), several times a whole elementwise op.
        Tensor topValues, topSlots;                                                         // (L, T, 2), (L, T, 1)
        if (first.HasTop)
        {
            topValues = Stack(s => s.Routing.Top!.Value.Values.narrow(1, 0, two));
            topSlots = Stack(s => s.Routing.Top!.Value.Indices.narrow(1, 0, 1));
        }
        else
        {
            (topValues, var slots) = probs.topk(two, dim: -1);
            topSlots = slots.narrow(2, 0, 1);
        }
        var p1 = topValues.select(2, 0);                                                    // (L, T) P(1)
        var margin = two > 1 ? p1 - topValues.select(2, 1) : p1;                           // (L, T) P(1) − P(2)
        // log Σ_i exp(z_i) = z_i* − log P_i* at i* = argmax P (P_i* ≥ 1/n, so the log is finite): a gather, where
        // logsumexp costs ~0.1–0.4 ms a layer on the CPU. Equal to logsumexp within float32 rounding (a test).
        var lse = Stack(s => s.Logits).gather(2, topSlots).squeeze(2) - p1.log();          // (L, T)
        var pLogP = probs * probs.clamp_min(Scalars.Of(1e-9)).log();                        // (L, T, N + m)
        var lseSquared = lse.pow(Scalars.Of(2));                                            // (L, T)
        static Tensor F32(Tensor x) => x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        static Tensor Scalar(Tensor x) => x.dim() == 0 ? x : x.reshape([]);
        Tensor Each(Func<RoutingSample, Tensor> part) =>                                    // (L), one per layer
            stack(samples.Select(s => Scalar(F32(part(s)))).ToArray());
        // Σ_t H(P_t) is kept as Σ P log P and negated on the host: negation is exact, so −Σ x equals Σ(−x).
        Tensor entropy, margins, zLoss;                                                     // (L) each
        if (probs.shape[1] * probs.shape[2] <= ReductionGrain)
        {
            // A layer's float sum as one row of a (L, ·) reduction: what the layer's own sum gives, bit for bit.
            entropy = pLogP.view(layers, -1).sum([1]);
            margins = margin.sum([1]);
            zLoss = lseSquared.mean([1]);
        }
        else
        {
            Tensor PerLayer(Func<int, Tensor> sum) => stack(Enumerable.Range(0, layers).Select(sum).ToArray());
            entropy = PerLayer(l => pLogP[l].sum());
            margins = PerLayer(l => margin[l].sum());
            zLoss = PerLayer(l => lseSquared[l].mean());
        }
        var scalars = stack([entropy, margins, Each(s => s.Routing.BalanceLoss), Each(s => s.Routing.EntropyLoss),
            zLoss], 1);                                                                     // (L, 5)
        // Σ_t P_ti: column sums, which libtorch reduces the same way whatever the rows around them.
        var gate = F32((n == probs.shape[2] ? probs : probs.narrow(2, 0, n)).sum([1]));    // (L, N)
        // [0, n] per layer: one bincount over every layer, each layer's counts offset by l·(n + 1).
        var offsets = tensor(Enumerable.Range(0, layers).Select(l => (long)l * (n + 1)).ToArray(), [layers, 1],
            device: mask.device);
        var histogram = perToken.to(ScalarType.Int64).add(offsets, Scalars.One).view(-1)
            .bincount(null, layers * (n + 1))
            .to(ScalarType.Float32).view(layers, n + 1);
        var parts = new List<Tensor>
        {
            histogram, gate, scalars,
            F32(mask.transpose(1, 2).bmm(mask)).view(layers, n * n),                       // n²: co-activation
        };
        if (first.Level == TelemetryLevel.Tokens) parts.Add(F32(perToken));                 // T: experts per token
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>A layer's row of <see cref="Measure"/>, read back into its telemetry.</summary>
    public static LayerTelemetry Read(double[] stats, RoutingSample s)
    {
        int n = s.Experts, o = 2 * n + 1, c = o + 5;
        var histogram = stats[..(n + 1)].Select(v => (long)v).ToArray();
        long selections = s.Counts.Sum(), t = s.Tokens;
        var router = s.Router;
        var tel = new LayerTelemetry
        {
            Layer = s.Layer, Experts = n, Tokens = t, Batches = 1, Histogram = histogram, Load = s.Counts,
            GateProbability = stats[(n + 1)..o],
            ExpertSelections = selections, EntropySum = -stats[o], MarginSum = stats[o + 1],
            BalanceLossSum = stats[o + 2], EntropyLossSum = stats[o + 3], ZLossSum = stats[o + 4],
            NullExperts = router.NullExperts, SlotsPerToken = router.SlotsPerToken,
            MaxVioBatchSum = LayerTelemetry.Imbalance(s.Counts),
            CoActivation = stats[c..(c + n * n)].Select(v => (long)v).ToArray(),
        };
        if (router.SlotsPerToken > 0)
        {
            // Top-k over real and null slots: every token fills k slots, so the null ones are T·k − Σ load.
            tel.NullSelections = t * router.SlotsPerToken - selections;
            tel.AllNullTokens = histogram[0];
        }
        if (s.Level == TelemetryLevel.Tokens)
            tel.ExpertsPerToken = stats[(c + n * n)..].Select(v => (int)v).ToArray();
        return tel;
    }
}
