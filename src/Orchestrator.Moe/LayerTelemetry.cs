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

    public void Add(LayerTelemetry o)
    {
        if (o.Layer != Layer || o.Experts != Experts) throw new ArgumentException("telemetry of different layers");
        Tokens += o.Tokens; ExpertSelections += o.ExpertSelections; NullSelections += o.NullSelections;
        AllNullTokens += o.AllNullTokens; EntropySum += o.EntropySum; MarginSum += o.MarginSum;
        BalanceLossSum += o.BalanceLossSum; ZLossSum += o.ZLossSum; EntropyLossSum += o.EntropyLossSum;
        Batches += o.Batches;
        for (int i = 0; i < Load.Length; i++) { Load[i] += o.Load[i]; GateProbability[i] += o.GateProbability[i]; }
        for (int i = 0; i < Histogram.Length; i++) Histogram[i] += o.Histogram[i];
    }

    public LayerTelemetry CloneEmpty() => new()
    {
        Layer = Layer, Experts = Experts, Histogram = new long[Histogram.Length], Load = new long[Load.Length],
        GateProbability = new double[GateProbability.Length], NullExperts = NullExperts, SlotsPerToken = SlotsPerToken,
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
