using System.Text.Json;
using Orchestrator.Moe;
using Orchestrator.Training.Data;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>A multiple-choice item (ARC-style): {"question": …, "choices": […], "answer": index[, "difficulty":
/// n]}.</summary>
public sealed record ChoiceItem(string Question, IReadOnlyList<string> Choices, int Answer, int Difficulty);

/// <summary>Multiple-choice evaluation by log-likelihood: each choice is scored by Σ log p(choice tokens |
/// "question\nAnswer:"), the highest wins; accuracy and experts per token are reported per difficulty
/// under the task name "mc:&lt;file name&gt;".</summary>
public static class MultipleChoice
{
    public static List<ChoiceItem> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"multiple-choice file not found: {path}");
        var items = new List<ChoiceItem>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            string Where() => $"{path}:{line}";
            JsonElement e;
            try { e = JsonDocument.Parse(text).RootElement; }
            catch (JsonException ex) { throw new InvalidDataException($"{Where()}: not JSON: {ex.Message}"); }
            if (!e.TryGetProperty("question", out var q) || q.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{Where()}: expected a string field \"question\"");
            if (!e.TryGetProperty("choices", out var c) || c.ValueKind != JsonValueKind.Array || c.GetArrayLength() < 2
                || c.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw new InvalidDataException($"{Where()}: expected \"choices\": a list of at least two strings");
            if (!e.TryGetProperty("answer", out var a) || a.ValueKind != JsonValueKind.Number
                || !a.TryGetInt32(out var ai) || ai < 0 || ai >= c.GetArrayLength())
                throw new InvalidDataException($"{Where()}: expected \"answer\": an index into choices (0 … " +
                    $"{c.GetArrayLength() - 1})");
            int d = e.TryGetProperty("difficulty", out var dd) && dd.TryGetInt32(out var dv) ? dv : 0;
            items.Add(new ChoiceItem(q.GetString()!, c.EnumerateArray().Select(x => x.GetString()!).ToList(), ai, d));
        }
        if (items.Count == 0) throw new InvalidDataException($"{path}: no items");
        return items;
    }

    public static List<TaskEval> Evaluate(MoeTransformer model, BpeTokenizer tok, IReadOnlyList<ChoiceItem> items,
        string taskName, int context)
    {
        model.eval();
        using var _ = no_grad();
        var results = new List<TaskEval>();
        foreach (var group in items.GroupBy(i => i.Difficulty).OrderBy(g => g.Key))
        {
            int correct = 0, n = 0;
            double loss = 0, experts = 0;
            foreach (var item in group)
            {
                var prompt = new[] { BpeTokenizer.EndOfText }.Concat(tok.Encode(item.Question + "\nAnswer:")).ToArray();
                var scores = new List<double>();
                for (int c = 0; c < item.Choices.Count; c++)
                {
                    using var scope = NewDisposeScope();
                    var answer = tok.Encode(" " + item.Choices[c]);
                    var seq = prompt.Concat(answer).TakeLast(context + 1).ToArray();
                    int a = Math.Min(answer.Length, seq.Length - 1);
                    var batch = Trainer.ToBatch([seq], model.Device);
                    var output = model.Forward(batch.narrow(1, 0, seq.Length - 1), TelemetryLevel.Summary);
                    var logp = output.Logits[0].narrow(0, seq.Length - 1 - a, a).log_softmax(-1)
                        .gather(1, batch[0].narrow(0, seq.Length - a, a).unsqueeze(1));
                    double score = logp.sum().item<float>();
                    scores.Add(score);
                    if (c == item.Answer)
                    {
                        loss += -score / a;
                        experts += output.Telemetry.Count == 0 ? 0 : output.Telemetry.Average(t
                            => t.MeanExpertsPerToken);
                    }
                }
                if (scores.IndexOf(scores.Max()) == item.Answer) correct++;
                n++;
            }
            results.Add(new TaskEval(taskName, group.Key, n, correct, loss / n, experts / n));
        }
        return results;
    }
}
