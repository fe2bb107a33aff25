using System.Diagnostics;
using Orchestrator.Moe;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>What one evaluation measured, ready to store.</summary>
public sealed class EvalReport
{
    public double Loss { get; set; }
    public double Perplexity => Math.Exp(Loss);
    public double Accuracy { get; set; }
    public double TokensPerSecond { get; set; }
    public double FlopsPerToken { get; set; }
    public double ActivatedParameters { get; set; }
    public ExpertUsage Usage { get; } = new();
    public List<TaskEval> Tasks { get; } = [];
    public List<ClassUsage> Classes { get; } = [];
    public List<WordUsage> Words { get; } = [];
    public double MeanExpertsPerToken => Usage.MeanExpertsPerToken;
}

/// <summary>Held-out text loss and perplexity with full routing telemetry (per layer, per token
/// class, per word), task accuracy by exact match of the greedy answer and answer loss per task
/// and difficulty, inference throughput, and FLOPs per token from the measured activations.</summary>
public static class Evaluator
{
    const int BatchRows = 16;

    public static double TextLoss(MoeTransformer model, int[] stream, int context, int batches)
    {
        model.eval();
        using var _ = no_grad();
        double sum = 0; long n = 0;
        foreach (var rows in Windows(stream, context, batches))
        {
            using var scope = NewDisposeScope();
            var (loss, _) = Trainer.LmLoss(model, Trainer.ToBatch(rows.Select(r => r.tokens).ToList(), model.Device));
            sum += loss.item<float>() * rows.Count; n += rows.Count;
        }
        return sum / Math.Max(1, n);
    }

    /// <summary>Evenly spaced windows of context + 1 tokens: deterministic and covering the split.</summary>
    static IEnumerable<List<(int start, int[] tokens)>> Windows(int[] stream, int context, int batches)
    {
        int rows = batches * BatchRows, len = context + 1;
        int span = Math.Max(1, (stream.Length - len) / Math.Max(1, rows));
        var all = Enumerable.Range(0, rows).Select(i => i * span).Where(s => s + len <= stream.Length)
            .Select(s => (s, stream.AsSpan(s, len).ToArray())).ToList();
        for (int i = 0; i < all.Count; i += BatchRows) yield return all.Skip(i).Take(BatchRows).ToList();
    }

    public static EvalReport Evaluate(MoeTransformer model, Dataset data, RunConfig cfg)
    {
        model.eval();
        using var _ = no_grad();
        var report = new EvalReport();
        int context = cfg.Model.Context, layers = cfg.Model.Layers;

        // 1. Held-out text, with token-level routing.
        var usage = new TokenUsage();
        double lossSum = 0; long rowsSeen = 0, tokensSeen = 0;
        var clock = new Stopwatch();
        foreach (var rows in Windows(data.Test.Ids, context, cfg.Eval.TextBatches))
        {
            using var scope = NewDisposeScope();
            var batch = Trainer.ToBatch(rows.Select(r => r.tokens).ToList(), model.Device);
            clock.Start();
            var (loss, output) = Trainer.LmLoss(model, batch, TelemetryLevel.Tokens);
            double l = loss.item<float>();
            clock.Stop();
            lossSum += l * rows.Count; rowsSeen += rows.Count; tokensSeen += rows.Count * context;
            report.Usage.Add(output.Telemetry);
            for (int r = 0; r < rows.Count; r++)
                for (int p = 0; p < context; p++)
                {
                    int pos = rows[r].start + p;
                    usage.Add(data.Test.Words[data.Test.WordIndex[pos]],
                        output.Telemetry.Select(t => (t.Layer, t.ExpertsPerToken![r * context + p])).ToList());
                }
        }
        report.Loss = lossSum / Math.Max(1, rowsSeen);
        report.TokensPerSecond = tokensSeen / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        report.Classes.AddRange(usage.Classes());
        report.Words.AddRange(usage.Words());

        // 2. Tasks: answer loss and routing under teacher forcing, then exact match of the greedy answer.
        var samples = TaskSuite.Samples(cfg.Data.Tasks, cfg.Data.MaxDifficulty, cfg.Eval.TaskSamples, (int)cfg.Seed,
            stream: 1);
        int correctAll = 0;
        foreach (var group in samples.GroupBy(s => (s.Task, s.Difficulty)))
        {
            int correct = 0, n = 0;
            double answerLoss = 0, experts = 0;
            foreach (var s in group)
            {
                using var scope = NewDisposeScope();
                var prompt = new[] { BpeTokenizer.EndOfText }.Concat(data.Tokenizer.Encode(s.Prompt)).ToArray();
                var answer = data.Tokenizer.Encode(s.Answer + "\n");
                var seq = prompt.Concat(answer).TakeLast(context + 1).ToArray();
                var batch = Trainer.ToBatch([seq], model.Device);
                var output = model.Forward(batch.narrow(1, 0, seq.Length - 1), TelemetryLevel.Summary);
                int a = Math.Min(answer.Length, seq.Length - 1);
                // predictions of the answer tokens
                var logits = output.Logits[0].narrow(0, seq.Length - 1 - a, a);
                var target = batch[0].narrow(0, seq.Length - a, a);
                answerLoss += nn.functional.cross_entropy(logits, target).item<float>();
                experts += output.Telemetry.Count == 0 ? 0 : output.Telemetry.Average(t => t.MeanExpertsPerToken);
                if (Greedy(model, data.Tokenizer, prompt, cfg.Eval.MaxAnswerTokens, context) == s.Answer) correct++;
                n++;
            }
            correctAll += correct;
            report.Tasks.Add(new TaskEval(group.Key.Task, group.Key.Difficulty, n, correct, answerLoss / n,
                experts / n));
        }
        report.Accuracy = samples.Count == 0 ? 0 : correctAll / (double)samples.Count;

        // Multiple-choice benchmarks the user brings (data.multiple_choice), scored by log-likelihood.
        if (cfg.Data.MultipleChoice.Length > 0)
        {
            var path = Path.IsPathRooted(cfg.Data.MultipleChoice) ? cfg.Data.MultipleChoice
                : Path.Combine(Paths.RepoRoot, cfg.Data.MultipleChoice);
            report.Tasks.AddRange(MultipleChoice.Evaluate(model, data.Tokenizer, MultipleChoice.Load(path),
                "mc:" + Path.GetFileNameWithoutExtension(path), context));
        }

        // 3. FLOPs per token from the measured per-layer activations on held-out text.
        var flops = FlopsCounter.PerToken(cfg.Model, model.NullExperts, model.AllocatorLayers,
            report.Usage.PerLayerMean, FlopsCounter.MeanContext(context));
        report.FlopsPerToken = flops.FlopsPerToken;
        report.ActivatedParameters = flops.ActivatedParameters;
        return report;
    }

    /// <summary>Greedy decoding until a newline or the token limit; returns the text before the newline.</summary>
    public static string Greedy(MoeTransformer model, BpeTokenizer tok, int[] prompt, int maxTokens, int context)
    {
        var seq = prompt.ToList();
        var produced = new List<int>();
        for (int i = 0; i < maxTokens; i++)
        {
            using var scope = NewDisposeScope();
            var window = seq.TakeLast(context).ToArray();
            var logits = model.Forward(Trainer.ToBatch([window], model.Device)).Logits;
            int next = (int)logits[0, window.Length - 1].argmax().item<long>();
            if (next == BpeTokenizer.EndOfText) break;
            seq.Add(next); produced.Add(next);
            var text = tok.Decode(produced);
            int nl = text.IndexOf('\n');
            if (nl >= 0) return text[..nl];
        }
        return tok.Decode(produced);
    }
}
