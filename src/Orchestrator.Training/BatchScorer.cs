using Orchestrator.Moe;
using Orchestrator.Training.Data;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>A sequence scored under teacher forcing: the model reads Tokens[..^1]; the last AnswerTokens of
/// Tokens are the answer whose log-likelihood is measured.</summary>
public sealed record ScoredSequence(int[] Tokens, int AnswerTokens);

/// <summary>What scoring one sequence measured. PositionExperts[p]: real experts the token read at position p
/// used, averaged over MoE layers (empty for a model without MoE layers).</summary>
public sealed record SequenceScore(double LogProb, int AnswerTokens, double AnswerExperts, double SequenceExperts,
    double[] PositionExperts);

/// <summary>Evaluation in batches: sequences of different lengths are sorted by length, cut into batches and
/// padded on the right. The model is causal and routes each token on its own (dropless, no capacity), so a
/// right pad changes nothing a real position computes: batched results equal one-at-a-time ones (up to
/// the float summation order of batched kernels, which never flipped a choice in the tests).</summary>
public static class BatchScorer
{
    public const int DefaultRows = 32;

    /// <summary>Σ log p(answer tokens | everything before them), and experts per token on the answer's
    /// positions (the a positions whose next-token predictions are the answer) and on the whole input.</summary>
    public static List<SequenceScore> Score(MoeTransformer model, IReadOnlyList<ScoredSequence> sequences,
        int rows = DefaultRows)
    {
        var scores = new SequenceScore[sequences.Count];
        foreach (var chunk in ByLength(sequences.Select(s => s.Tokens.Length - 1).ToList(), rows))
        {
            using var scope = NewDisposeScope();
            var inputs = chunk.Select(i => sequences[i].Tokens[..^1]).ToList();
            var output = model.Forward(Padded(inputs, model.Device), TelemetryLevel.Tokens);
            int width = (int)output.Logits.shape[1];
            // (B, S, V) → log p of each next token, (B, S)
            var next = Padded(chunk.Select(i => sequences[i].Tokens[1..]).ToList(), model.Device);
            var logp = output.Logits.log_softmax(-1).gather(2, next.unsqueeze(2)).squeeze(2)
                .to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int r = 0; r < chunk.Count; r++)
            {
                var seq = sequences[chunk[r]];
                int len = seq.Tokens.Length - 1, a = seq.AnswerTokens;
                var experts = PositionExperts(output.Telemetry, r, width, len);
                double lp = 0;
                for (int p = len - a; p < len; p++) lp += logp[r * width + p];
                scores[chunk[r]] = new SequenceScore(lp, a, Mean(experts, len - a, len), Mean(experts, 0, len),
                    experts);
            }
        }
        return scores.ToList();
    }

    /// <summary>Greedy decoding of every prompt, batched: each step feeds every unfinished row its last
    /// `context` tokens and appends the argmax at its own last position. A row ends at end-of-text, at a
    /// newline (returning the text before it) or after maxTokens.</summary>
    public static List<string> Greedy(MoeTransformer model, ITokenizer tok, IReadOnlyList<int[]> prompts,
        int maxTokens, int context, int rows = DefaultRows)
    {
        var answers = new string?[prompts.Count];
        var seqs = prompts.Select(p => p.ToList()).ToArray();
        var produced = prompts.Select(_ => new List<int>()).ToArray();
        for (int step = 0; step < maxTokens; step++)
        {
            var active = Enumerable.Range(0, prompts.Count).Where(i => answers[i] == null).ToList();
            if (active.Count == 0) break;
            var windows = active.Select(i => seqs[i].TakeLast(context).ToArray()).ToList();
            foreach (var chunk in ByLength(windows.Select(w => w.Length).ToList(), rows))
            {
                using var scope = NewDisposeScope();
                var batch = chunk.Select(c => windows[c]).ToList();
                var logits = model.Forward(Padded(batch, model.Device)).Logits;
                var last = tensor(batch.Select(w => (long)w.Length - 1).ToArray(), dtype: ScalarType.Int64,
                    device: model.Device);
                // (B, S, V) → logits at each row's last real position, (B, V) → argmax, (B)
                var picked = logits[Scalars.Arange(batch.Count, device: model.Device), last].argmax(-1).cpu()
                    .data<long>().ToArray();
                for (int r = 0; r < chunk.Count; r++)
                {
                    int i = active[chunk[r]], next = (int)picked[r];
                    if (next == tok.EndOfText) { answers[i] = tok.Decode(produced[i]); continue; }
                    seqs[i].Add(next); produced[i].Add(next);
                    var text = tok.Decode(produced[i]);
                    int nl = text.IndexOf('\n');
                    if (nl >= 0) answers[i] = text[..nl];
                }
            }
        }
        return answers.Select((a, i) => a ?? tok.Decode(produced[i])).ToList();
    }

    /// <summary>Indices cut into batches of at most `rows`, ordered by length so that padding stays small.</summary>
    static IEnumerable<List<int>> ByLength(IReadOnlyList<int> lengths, int rows) =>
        Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).Chunk(Math.Max(1, rows))
            .Select(c => c.ToList());

    /// <summary>(B, max length) token ids, each row padded on the right with id 0: causal attention keeps the
    /// padding out of every real position.</summary>
    static Tensor Padded(IReadOnlyList<int[]> rows, Device device)
    {
        int width = rows.Max(r => r.Length);
        return Trainer.ToBatch(rows.Select(r => r.Length == width ? r
            : r.Concat(Enumerable.Repeat(0, width - r.Length)).ToArray()).ToList(), device);
    }

    /// <summary>Experts per position of row r (first len positions), averaged over MoE layers.</summary>
    static double[] PositionExperts(IReadOnlyList<LayerTelemetry> layers, int r, int width, int len)
    {
        var e = new double[layers.Count == 0 ? 0 : len];
        foreach (var l in layers)
            for (int p = 0; p < e.Length; p++) e[p] += l.ExpertsPerToken![r * width + p] / (double)layers.Count;
        return e;
    }

    static double Mean(double[] v, int from, int to) => v.Length == 0 || to <= from ? 0
        : v.AsSpan(from, to - from).ToArray().Average();
}
