
namespace Orchestrator.Moe;

/// <summary>Analytic forward FLOPs per token from the activations actually used.
/// Per layer:   attention projections 2·4d²  +  scores and mixing 2·2·d·c̄  (c̄ = mean attended context)
/// MoE layer:   router 2·d·(N + m) [+ allocator 2·d·N]  +  2·3·d·h·k̄_l (k̄_l real experts, nulls free)
///              + shared experts 2·3·d·h·s
/// dense layer: 2·3·d·h
/// head:        2·d·V.   Norms, residual adds, softmax and the embedding lookup are not counted.
/// Activated parameters per token = the parameters those matrix products touch (embedding excluded).</summary>
public static class FlopsCounter
{
    public sealed record Breakdown(double FlopsPerToken, double ActivatedParameters, double AttentionFlops,
        double ExpertFlops, double OtherFlops);

    /// <param name="meanExpertsPerMoeLayer">k̄ for each MoE layer, in order.</param>
    /// <param name="meanContext">c̄: for full causal sequences of length S, (S + 1) / 2.</param>
    public static Breakdown PerToken(ModelConfig c, int nullExperts, IReadOnlyCollection<int> allocatorLayers,
        IReadOnlyList<double> meanExpertsPerMoeLayer, double meanContext)
    {
        double d = c.DModel, h = c.ExpertHidden, n = c.Experts;
        double expertParams = 3 * d * h;
        double attn = 0, experts = 0, other = 0, activated = 0;
        int moeIndex = 0;
        for (int l = 0; l < c.Layers; l++)
        {
            attn += 2 * 4 * d * d + 2 * 2 * d * meanContext;
            activated += 4 * d * d;
            if (c.IsMoeLayer(l))
            {
                double k = meanExpertsPerMoeLayer[moeIndex];
                double router = d * (n + nullExperts) + (allocatorLayers.Contains(moeIndex) ? d * n : 0);
                other += 2 * router;
                experts += 2 * expertParams * (k + c.SharedExperts);
                activated += router + expertParams * (k + c.SharedExperts);
                moeIndex++;
            }
            else
            {
                experts += 2 * expertParams;
                activated += expertParams;
            }
        }
        other += 2 * d * c.VocabSize;
        activated += d * c.VocabSize;
        return new Breakdown(attn + experts + other, activated, attn, experts, other);
    }

    public static double MeanContext(int sequenceLength) => (sequenceLength + 1) / 2.0;
}
