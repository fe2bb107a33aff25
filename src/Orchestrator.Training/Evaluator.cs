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
    public List<ItemResult> Items { get; } = [];
    public List<TaskClassUsage> TaskClasses { get; } = [];
    /// <summary>The token-level view: the first held-out window's experts per position and layer.</summary>
    public List<TokenRoute> TokenRoutes { get; } = [];
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

    /// <summary>Inputs (B, context) of evenly spaced text windows, `batches` batches: what budget calibration
    /// reads.</summary>
    public static IReadOnlyList<Tensor> TextInputs(int[] stream, int context, int batches, Device device) =>
        Windows(stream, context, batches)
            .Select(rows => Trainer.ToBatch(rows.Select(r => r.tokens[..context]).ToList(), device)).ToList();

    /// <summary>Evenly spaced windows of context + 1 tokens: deterministic and covering the split.</summary>
    static IEnumerable<List<(int start, int[] tokens)>> Windows(int[] stream, int context, int batches)
    {
        int rows = batches * BatchRows, len = context + 1;
        int span = Math.Max(1, (stream.Length - len) / Math.Max(1, rows));
        var all = Enumerable.Range(0, rows).Select(i => i * span).Where(s => s + len <= stream.Length)
            .Select(s => (s, stream.AsSpan(s, len).ToArray())).ToList();
        for (int i = 0; i < all.Count; i += BatchRows) yield return all.Skip(i).Take(BatchRows).ToList();
    }

    /// <summary>The first batch of held-out text windows (the same for every run on a tokenizer): (B, context).
    /// </summary>
    public static Tensor FirstTextBatch(Dataset data, int context, Device device)
    {
        var rows = Windows(data.Test.Ids, context, 1).First();
        return Trainer.ToBatch(rows.Select(r => r.tokens).ToList(), device).narrow(1, 0, context);
    }

    public static EvalReport Evaluate(MoeTransformer model, Dataset data, RunConfig cfg)
    {
        model.eval();
        using var _ = no_grad();
        var report = new EvalReport();
        HeldOutText(model, data, cfg, report);
        Tasks(model, data, cfg, report);

        // Multiple-choice benchmarks the user brings (data.multiple_choice), scored by log-likelihood.
        if (cfg.Data.MultipleChoice.Length > 0)
        {
            var path = MultipleChoice.Resolve(cfg.Data.MultipleChoice);
            var (tasks, items) = MultipleChoice.Evaluate(model, data.Tokenizer, MultipleChoice.Load(path),
                "mc:" + Path.GetFileNameWithoutExtension(path), cfg.Model.Context);
            report.Tasks.AddRange(tasks);
            report.Items.AddRange(items);
        }

        // FLOPs per token from the measured per-layer activations on held-out text.
        var flops = FlopsCounter.PerToken(cfg.Model, model.NullExperts, model.AllocatorLayers,
            report.Usage.PerLayerMean, FlopsCounter.MeanContext(cfg.Model.Context));
        report.FlopsPerToken = flops.FlopsPerToken;
        report.ActivatedParameters = flops.ActivatedParameters;
        return report;
    }

    /// <summary>Which experts each position of the first window (row 0 of the first batch: the same tokens for every
    /// run) used at each MoE layer.</summary>
    static void SampleRoutes(ModelOutput output, int[] window, int context, ITokenizer tokenizer,
        EvalReport report)
    {
        foreach (var (index, moe) in output.Routing.Select((m, i) => (i, m)))
        {
            int layer = moe.Telemetry?.Layer ?? index;                 // numbered as routing_stats numbers layers
            long n = moe.Routing.Mask.shape[1];
            var mask = moe.Routing.Mask.narrow(0, 0, context).cpu().data<float>().ToArray();   // row 0's positions
            for (int p = 0; p < context; p++)
                report.TokenRoutes.Add(new TokenRoute(p, tokenizer.TokenText(window[p]), layer,
                    Enumerable.Range(0, (int)n).Where(e => mask[p * n + e] > 0).ToArray()));
        }
    }

    /// <summary>Held-out text: loss per window (each window an item of task "text"), token-level routing per
    /// layer, token class and word, and inference throughput (forward passes only).</summary>
    static void HeldOutText(MoeTransformer model, Dataset data, RunConfig cfg, EvalReport report)
    {
        int context = cfg.Model.Context;
        var usage = new TokenUsage();
        var clock = new Stopwatch();
        long tokensSeen = 0;
        foreach (var rows in Windows(data.Test.Ids, context, cfg.Eval.TextBatches))
        {
            using var scope = NewDisposeScope();
            var batch = Trainer.ToBatch(rows.Select(r => r.tokens).ToList(), model.Device);
            clock.Start();
            var output = model.Forward(batch.narrow(1, 0, context), TelemetryLevel.Tokens);
            // (B, S, V) → per-token negative log-likelihood, (B, S) → per-window sums, (B)
            var nll = nn.functional.cross_entropy(output.Logits.reshape(-1, output.Logits.shape[2]),
                batch.narrow(1, 1, context).reshape(-1), reduction: nn.Reduction.None).reshape(rows.Count, context)
                .sum(1).to(ScalarType.Float64).cpu().data<double>().ToArray();
            clock.Stop();
            tokensSeen += rows.Count * context;
            report.Usage.Add(output.Telemetry);
            if (report.TokenRoutes.Count == 0) SampleRoutes(output, rows[0].tokens, context, data.Tokenizer, report);
            for (int r = 0; r < rows.Count; r++)
            {
                double experts = 0;
                for (int p = 0; p < context; p++)
                {
                    int pos = rows[r].start + p;
                    var perLayer = output.Telemetry.Select(t => (t.Layer, t.ExpertsPerToken![r * context + p]))
                        .ToList();
                    usage.Add(data.Test.Words[data.Test.WordIndex[pos]], perLayer);
                    experts += perLayer.Count == 0 ? 0 : perLayer.Average(l => l.Item2);
                }
                report.Items.Add(new ItemResult("text", 0, report.Items.Count, null, -nll[r], context,
                    experts / context, experts / context));
            }
        }
        var windows = report.Items.Where(i => i.Task == "text").ToList();
        report.Loss = windows.Count == 0 ? 0 : windows.Average(w => -w.AnswerLogProb / w.AnswerTokens);
        report.TokensPerSecond = tokensSeen / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        report.Classes.AddRange(usage.Classes());
        report.Words.AddRange(usage.Words());
    }

    /// <summary>Generated task items (the run's seed, stream 1: the same items for every run on a seed): the
    /// answer's log-likelihood and routing under teacher forcing, exact match of the greedy answer, and
    /// experts per token by token class within each task and difficulty.</summary>
    static void Tasks(MoeTransformer model, Dataset data, RunConfig cfg, EvalReport report)
    {
        int context = cfg.Model.Context;
        var samples = TaskSuite.Samples(cfg.Data.Tasks, cfg.Data.MaxDifficulty, cfg.Eval.TaskSamples, (int)cfg.Seed,
            stream: 1);
        var prompts = new List<int[]>();
        var sequences = new List<ScoredSequence>();
        var classes = new List<TokenClass?[]>();
        foreach (var s in samples)
        {
            var p = data.Tokenizer.EncodeWithWords(s.Prompt);
            var a = data.Tokenizer.EncodeWithWords(s.Answer + "\n");
            var prompt = p.Ids.Prepend(data.Tokenizer.EndOfText).ToArray();
            var seq = prompt.Concat(a.Ids).TakeLast(context + 1).ToArray();
            prompts.Add(prompt);
            sequences.Add(new ScoredSequence(seq, Math.Min(a.Ids.Length, seq.Length - 1)));
            // the class of each input token (none for end-of-text), truncated like the sequence
            var cls = p.WordIndex.Select(w => (TokenClass?)BpeTokenizer.Classify(p.Words[w])).Prepend(null)
                .Concat(a.WordIndex.Select(w => (TokenClass?)BpeTokenizer.Classify(a.Words[w])))
                .TakeLast(context + 1).ToArray();
            classes.Add(cls[..^1]);
        }
        var scores = BatchScorer.Score(model, sequences);
        var answers = BatchScorer.Greedy(model, data.Tokenizer, prompts, cfg.Eval.MaxAnswerTokens, context);
        var byClass = new Dictionary<(string, int, TokenClass), (long n, double sum)>();
        var next = new Dictionary<(string, int), int>();                 // item index within (task, difficulty)
        for (int i = 0; i < samples.Count; i++)
        {
            var (s, sc) = (samples[i], scores[i]);
            int index = next.GetValueOrDefault((s.Task, s.Difficulty));
            next[(s.Task, s.Difficulty)] = index + 1;
            report.Items.Add(new ItemResult(s.Task, s.Difficulty, index, answers[i] == s.Answer, sc.LogProb,
                sc.AnswerTokens, sc.AnswerExperts, sc.SequenceExperts));
            for (int p = 0; p < sc.PositionExperts.Length; p++)
            {
                if (classes[i][p] is not { } c) continue;
                var key = (s.Task, s.Difficulty, c);
                var acc = byClass.GetValueOrDefault(key);
                byClass[key] = (acc.n + 1, acc.sum + sc.PositionExperts[p]);
            }
        }
        var taskItems = report.Items.Where(r => r.Task != "text").ToList();
        report.Tasks.AddRange(MultipleChoice.Summarise(taskItems));
        report.Accuracy = taskItems.Count == 0 ? 0 : taskItems.Count(r => r.Correct == true) / (double)taskItems.Count;
        report.TaskClasses.AddRange(byClass.OrderBy(k => k.Key.Item1, StringComparer.Ordinal).ThenBy(k => k.Key.Item2)
            .ThenBy(k => k.Key.Item3).Select(k => new TaskClassUsage(k.Key.Item1, k.Key.Item2,
                BpeTokenizer.ClassName(k.Key.Item3), k.Value.n, k.Value.sum / k.Value.n)));
    }
}
