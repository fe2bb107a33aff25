using Orchestrator.Moe;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>One token of a scored text: its log-probability given the tokens before it (null for the first) and,
/// per MoE layer, the real experts it was routed to with their combine weights.</summary>
public sealed record ScoredToken(int Position, int Id, string? Text, double? LogProb,
    IReadOnlyList<IReadOnlyList<(int Expert, double Weight)>> Experts);

/// <summary>`orchestrator score`: per-token log-probabilities and routing of one sequence — the quickest check of a
/// loaded or converted model, and what is compared against other implementations.</summary>
public static class TokenScorer
{
    public static IReadOnlyList<ScoredToken> Score(MoeTransformer model, IReadOnlyList<int> ids,
        Func<int, string>? text = null)
    {
        model.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var tokens = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count], device: model.Device);
        var output = model.Forward(tokens);
        var logp = output.Logits[0].log_softmax(-1).cpu();                     // (S, V), float32
        // log p(x_t | x_<t) = logp[t − 1, x_t]
        var next = logp.narrow(0, 0, Math.Max(0, ids.Count - 1))
            .gather(1, tensor(ids.Skip(1).Select(i => (long)i).ToArray(), [ids.Count - 1, 1])).squeeze(1);
        var lp = next.data<float>().ToArray();
        var layers = output.Routing.Select(r =>
        {
            int n = model.Config.Experts;
            var mask = r.Routing.Mask.narrow(1, 0, n).cpu().data<float>().ToArray();      // (S, N) of batch row 0
            var w = r.Routing.Weights.narrow(1, 0, n).to(ScalarType.Float32).cpu().data<float>().ToArray();
            return (mask, w, n);
        }).ToList();
        return ids.Select((id, t) => new ScoredToken(t, id, text?.Invoke(id), t == 0 ? null : lp[t - 1],
            layers.Select(l => (IReadOnlyList<(int, double)>)Enumerable.Range(0, l.n)
                .Where(e => l.mask[t * l.n + e] > 0).Select(e => (e, (double)l.w[t * l.n + e])).ToList()).ToList()))
            .ToList();
    }
}
