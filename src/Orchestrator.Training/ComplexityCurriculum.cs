using Orchestrator.Moe;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>The adaptive-gating paper's curriculum. Each sample d gets a complexity vector
/// C_d = [r_1 … r_L], r_l = the fraction of its tokens sent to two or more experts at layer l; the
/// anchor is the sample with the fewest such tokens; before every epoch the pool is ordered by cosine
/// similarity to the anchor, most similar (simplest) first. C_d comes from one routing pass with the
/// current model (the paper does not say how the first epoch is ordered; this is the natural choice).</summary>
public sealed class ComplexityCurriculum(IReadOnlyList<TaskSample> pool, ITokenizer tokenizer, int context)
{
    readonly List<int[]> encoded = pool.Select(s => tokenizer.Encode(s.Text).Take(context + 1).ToArray()).ToList();
    List<int> order = [];
    int next, epoch;

    public int Epoch => epoch;
    public IReadOnlyList<int> CurrentOrder => order;

    /// <summary>C_d for one sample: per MoE layer, the share of its tokens that used two or more experts.</summary>
    public static double[] ComplexityVector(MoeTransformer model, int[] tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var output = model.Forward(Trainer.ToBatch([tokens], model.Device), TelemetryLevel.Tokens);
        return output.Telemetry.Select(t => t.ExpertsPerToken!.Count(k
            => k >= 2) / (double)t.ExpertsPerToken!.Length).ToArray();
    }

    /// <summary>Sample indices, most similar to the anchor first. With an all-zero anchor (a sample
    /// with no two-expert token at all) cosine is undefined: samples are ordered by ‖C_d‖, smallest
    /// first.</summary>
    public static List<int> Order(IReadOnlyList<double[]> c)
    {
        int anchor = Enumerable.Range(0, c.Count).OrderBy(i => c[i].Sum()).ThenBy(i => i).First();
        double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
        double na = Norm(c[anchor]);
        if (na == 0) return Enumerable.Range(0, c.Count).OrderBy(i => Norm(c[i])).ThenBy(i => i).ToList();
        double Cos(double[] v) { double n = Norm(v); return n == 0 ? 0 : v.Zip(c[anchor], (x,
            y) => x * y).Sum() / (n * na); }
        return Enumerable.Range(0, c.Count).OrderByDescending(i => Cos(c[i])).ThenBy(i => i).ToList();
    }

    void Reorder(MoeTransformer model)
    {
        bool wasTraining = model.training;
        model.eval();
        order = Order(encoded.Select(t => ComplexityVector(model, t)).ToList());
        if (wasTraining) model.train();
        next = 0;
        epoch++;
    }

    /// <summary>The next row of `length` tokens: samples in curriculum order, re-ordered at each epoch.</summary>
    public int[] NextRow(int length, MoeTransformer model, Action<string>? onEpoch = null)
    {
        var row = new List<int>(length + 32);
        while (row.Count < length)
        {
            if (next >= order.Count)
            {
                Reorder(model);
                onEpoch?.Invoke($"epoch {epoch}: {order.Count} samples ordered by complexity, anchor {order[0]}");
            }
            row.AddRange(encoded[order[next++]]);
        }
        return row.Take(length).ToArray();
    }
}
