using Orchestrator.Moe;
using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;
using Xunit;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Training;

/// <summary>Batched evaluation gives the results of scoring one sequence at a time: right padding changes
/// nothing a real position computes (causal attention, per-token dropless routing).</summary>
public class BatchScorerTests
{
    static (MoeTransformer model, BpeTokenizer tok, List<TaskSample> samples) Setup(RouterConfig router)
    {
        random.manual_seed(7);
        var samples = TaskSuite.Samples(["addition", "reverse", "brackets", "sort"], 3, 4, seed: 3, stream: 1);
        var tok = BpeTokenizer.Train(samples.Select(s => s.Text), 300);
        var model = new MoeTransformer(new ModelConfig(2, 32, 2, 4, 48, 0, "all", 300, 24, 10000), router);
        model.eval();
        return (model, tok, samples);
    }

    public static TheoryData<string> Routers => new() { "top_k", "top_p", "adaptive_gating", "null_experts" };

    [Theory]
    [MemberData(nameof(Routers))]
    public void Batched_scores_equal_one_at_a_time(string router)
    {
        var (model, tok, samples) = Setup(RouterConfig.Of(router));
        using var _ = no_grad();
        // Sequences of different lengths (1 to 5 answer tokens), some cut to the context like the evaluator does.
        var seqs = samples.Select(s =>
        {
            var prompt = tok.Encode(s.Prompt).Prepend(BpeTokenizer.EndOfText).ToArray();
            var answer = tok.Encode(s.Answer + "\n");
            var seq = prompt.Concat(answer).TakeLast(25).ToArray();
            return new ScoredSequence(seq, Math.Min(answer.Length, seq.Length - 1));
        }).ToList();
        Assert.True(seqs.Select(s => s.Tokens.Length).Distinct().Count() > 3, "lengths should differ");
        var single = BatchScorer.Score(model, seqs, rows: 1);
        var batched = BatchScorer.Score(model, seqs, rows: 16);
        for (int i = 0; i < seqs.Count; i++)
        {
            Assert.Equal(single[i].LogProb, batched[i].LogProb, 4);
            Assert.Equal(single[i].AnswerTokens, batched[i].AnswerTokens);
            Assert.Equal(single[i].PositionExperts, batched[i].PositionExperts);
            Assert.Equal(single[i].AnswerExperts, batched[i].AnswerExperts, 12);
        }
        // and the log-likelihood is that of a plain forward pass over the one sequence
        var s0 = seqs[5];
        var logits = model.Forward(tensor(s0.Tokens[..^1].Select(t => (long)t).ToArray()).unsqueeze(0)).Logits[0];
        double expected = 0;
        for (int p = s0.Tokens.Length - 1 - s0.AnswerTokens; p < s0.Tokens.Length - 1; p++)
            expected += logits[p].log_softmax(-1)[s0.Tokens[p + 1]].item<float>();
        Assert.Equal(expected, single[5].LogProb, 4);
    }

    [Theory]
    [MemberData(nameof(Routers))]
    public void Batched_greedy_decoding_equals_one_at_a_time(string router)
    {
        var (model, tok, samples) = Setup(RouterConfig.Of(router));
        using var _ = no_grad();
        var prompts = samples.Select(s => tok.Encode(s.Prompt).Prepend(BpeTokenizer.EndOfText).ToArray()).ToList();
        var single = BatchScorer.Greedy(model, tok, prompts, maxTokens: 6, context: 24, rows: 1);
        var batched = BatchScorer.Greedy(model, tok, prompts, maxTokens: 6, context: 24, rows: 16);
        Assert.Equal(single, batched);
        Assert.Equal(prompts.Count, batched.Count);
    }
}
