namespace Orchestrator.Moe;

public enum TelemetryLevel { None, Summary, Tokens }

/// <summary>Routing statistics of one layer, summed over the tokens seen (so batches can be merged).
/// Dense (non-MoE) layers report nothing.</summary>
public sealed class LayerTelemetry
{
    public required int Layer { get; init; }
    public required int Experts { get; init; }
    public long Tokens { get; set; }
    /// <summary>Σ real experts per token; / Tokens = mean experts per token.</summary>
    public double ExpertSelections { get; set; }
    /// <summary>Histogram[j] = tokens that used j real experts (j = 0 … N).</summary>
    public required long[] Histogram { get; init; }
    /// <summary>Load[i] = tokens dispatched to expert i.</summary>
    public required long[] Load { get; init; }
    /// <summary>Σ over tokens of the router probability of expert i (mean gate probability = / Tokens).</summary>
    public required double[] GateProbability { get; init; }
    public double NullSelections { get; set; }
    public int NullExperts { get; init; }
    public int SlotsPerToken { get; init; }
    public long AllNullTokens { get; set; }
    public double EntropySum { get; set; }
    public double MarginSum { get; set; }
    public double BalanceLossSum { get; set; }
    public double ZLossSum { get; set; }
    public double EntropyLossSum { get; set; }
    public long Batches { get; set; }
    /// <summary>Σ over batches of each batch's MaxVio (the imbalance a step sees); / Batches = its mean.</summary>
    public double MaxVioBatchSum { get; set; }
    /// <summary>CoActivation[i·N + j] = tokens that used both experts i and j (i = j: the tokens that used i).
    /// </summary>
    public long[]? CoActivation { get; init; }
    /// <summary>(T) real experts per token of the last batch, in token order (TelemetryLevel.Tokens only).</summary>
    public int[]? ExpertsPerToken { get; set; }

    public double MeanExpertsPerToken => Tokens == 0 ? 0 : ExpertSelections / Tokens;
    /// <summary>Share of selected slots that were null experts (null_experts only).</summary>
    public double NullRate => Tokens == 0 || SlotsPerToken == 0 ? 0 : NullSelections / ((double)Tokens * SlotsPerToken);
    public double MeanEntropy => Tokens == 0 ? 0 : EntropySum / Tokens;
    public double MeanMargin => Tokens == 0 ? 0 : MarginSum / Tokens;
    public double BalanceLoss => Batches == 0 ? 0 : BalanceLossSum / Batches;
    public double ZLoss => Batches == 0 ? 0 : ZLossSum / Batches;
    public double EntropyLoss => Batches == 0 ? 0 : EntropyLossSum / Batches;
    /// <summary>MaxVio = (max_i load_i − mean load) / mean load over everything merged (0: balanced; N − 1: one
    /// expert takes every dispatch), as DeepSeek's auxiliary-loss-free balancing reports it.</summary>
    public double MaxVio => Imbalance(Load);
    public double MeanBatchMaxVio => Batches == 0 ? 0 : MaxVioBatchSum / Batches;
    /// <summary>Share of the experts that no token used.</summary>
    public double DeadShare => Load.Length == 0 ? 0 : Load.Count(l => l == 0) / (double)Load.Length;
    /// <summary>Entropy of the load over experts / log N: 1 when every expert gets the same share, 0 for one.</summary>
    public double UsageEntropy
    {
        get
        {
            double total = Load.Sum();
            if (total == 0 || Load.Length < 2) return 0;
            return -Load.Where(l => l > 0).Sum(l => l / total * Math.Log(l / total)) / Math.Log(Load.Length);
        }
    }

    public static double Imbalance(IReadOnlyCollection<long> load)
    {
        double mean = load.Count == 0 ? 0 : load.Average();
        return mean == 0 ? 0 : (load.Max() - mean) / mean;
    }

    public void Add(LayerTelemetry o)
    {
        if (o.Layer != Layer || o.Experts != Experts) throw new ArgumentException("telemetry of different layers");
        Tokens += o.Tokens; ExpertSelections += o.ExpertSelections; NullSelections += o.NullSelections;
        AllNullTokens += o.AllNullTokens; EntropySum += o.EntropySum; MarginSum += o.MarginSum;
        BalanceLossSum += o.BalanceLossSum; ZLossSum += o.ZLossSum; EntropyLossSum += o.EntropyLossSum;
        Batches += o.Batches; MaxVioBatchSum += o.MaxVioBatchSum;
        if (CoActivation != null && o.CoActivation != null)
            for (int i = 0; i < CoActivation.Length; i++) CoActivation[i] += o.CoActivation[i];
        for (int i = 0; i < Load.Length; i++) { Load[i] += o.Load[i]; GateProbability[i] += o.GateProbability[i]; }
        for (int i = 0; i < Histogram.Length; i++) Histogram[i] += o.Histogram[i];
    }

    public LayerTelemetry CloneEmpty() => new()
    {
        Layer = Layer, Experts = Experts, Histogram = new long[Histogram.Length], Load = new long[Load.Length],
        GateProbability = new double[GateProbability.Length], NullExperts = NullExperts, SlotsPerToken = SlotsPerToken,
        CoActivation = CoActivation == null ? null : new long[CoActivation.Length],
    };
}

/// <summary>Expert usage of a whole model over many batches: one merged <see cref="LayerTelemetry"/> per MoE
/// layer.</summary>
public sealed class ExpertUsage
{
    public SortedDictionary<int, LayerTelemetry> Layers { get; } = [];

    public void Add(IEnumerable<LayerTelemetry> batch)
    {
        foreach (var t in batch)
        {
            if (!Layers.TryGetValue(t.Layer, out var acc)) Layers[t.Layer] = acc = t.CloneEmpty();
            acc.Add(t);
        }
    }

    /// <summary>Mean real experts per token, averaged over MoE layers.</summary>
    public double MeanExpertsPerToken => Layers.Count == 0 ? 0 : Layers.Values.Average(l => l.MeanExpertsPerToken);

    public IReadOnlyList<double> PerLayerMean => Layers.Values.Select(l => l.MeanExpertsPerToken).ToList();
}

/// <summary>A layer's statistics, not yet measured: its <see cref="RoutingSample"/> until the model measures every
/// layer of the forward at once and brings them to the host in one transfer (<see cref="ResolveAll"/>); on a GPU
/// each transfer waits for the queue to drain, so one per layer stalls the stream as many times as there are
/// layers. Read within the dispose scope of the forward that routed: the sample's tensors are that forward's.
/// </summary>
public sealed class PendingTelemetry(RoutingSample sample)
{
    RoutingSample? sample = sample;
    LayerTelemetry? value;

    /// <summary>The statistics, measured now (this layer alone) if the model has not yet done so for every layer.
    /// </summary>
    public LayerTelemetry Value
    {
        get
        {
            if (value is null) ResolveAll([this]);
            return value!;
        }
    }

    /// <summary>Measures every pending layer, layers of one shape by one set of operations, and reads them all with
    /// one device-to-host transfer.</summary>
    public static void ResolveAll(IEnumerable<PendingTelemetry> layers)
    {
        var open = layers.Where(p => p.value is null).ToList();
        if (open.Count == 0) return;
        using var scope = TorchSharp.torch.NewDisposeScope();
        var groups = open.GroupBy(p => p.sample!.Shape).Select(g => g.ToList()).ToList();
        var rows = groups.Select(g => RoutingStatistics.Measure(g.Select(p => p.sample!).ToList()).reshape(-1))
            .ToList();
        var all = Array.ConvertAll(TorchSharp.torch.cat(rows, 0).cpu().data<float>().ToArray(), v => (double)v);
        int offset = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            int length = (int)(rows[g].shape[0] / groups[g].Count);
            foreach (var p in groups[g])
            {
                p.value = RoutingStatistics.Read(all[offset..(offset + length)], p.sample!);
                p.sample = null;                           // its tensors are no longer needed
                offset += length;
            }
        }
    }
}
