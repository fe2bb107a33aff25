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
    /// <summary>A data.multiple_choice value as a path: absolute, or relative to the repository root.</summary>
    public static string Resolve(string file) => Path.IsPathRooted(file) ? file : Path.Combine(Paths.RepoRoot, file);

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

    /// <summary>Every (item, choice) sequence scored in one batched pass; the item is answered correctly when
    /// its answer's choice has the highest total log-likelihood. Per difficulty: accuracy, the answer's mean
    /// per-token loss and experts per token; per item: correctness, the answer's log-likelihood.</summary>
    public static (List<TaskEval> Tasks, List<ItemResult> Items) Evaluate(MoeTransformer model, ITokenizer tok,
        IReadOnlyList<ChoiceItem> items, string taskName, int context)
    {
        model.eval();
        using var _ = no_grad();
        var sequences = new List<ScoredSequence>();
        foreach (var item in items)
        {
            var prompt = new[] { tok.EndOfText }.Concat(tok.Encode(item.Question + "\nAnswer:")).ToArray();
            foreach (var choice in item.Choices)
            {
                var answer = tok.Encode(" " + choice);
                var seq = prompt.Concat(answer).TakeLast(context + 1).ToArray();
                sequences.Add(new ScoredSequence(seq, Math.Min(answer.Length, seq.Length - 1)));
            }
        }
        var scores = BatchScorer.Score(model, sequences);
        var results = new List<ItemResult>();
        var next = new Dictionary<int, int>();                         // item index within its difficulty
        int at = 0;
        foreach (var item in items)
        {
            var mine = scores.Skip(at).Take(item.Choices.Count).ToList();
            at += item.Choices.Count;
            int best = mine.IndexOf(mine.MaxBy(s => s.LogProb)!);
            var truth = mine[item.Answer];
            int index = next.GetValueOrDefault(item.Difficulty);
            next[item.Difficulty] = index + 1;
            results.Add(new ItemResult(taskName, item.Difficulty, index, best == item.Answer, truth.LogProb,
                truth.AnswerTokens, truth.AnswerExperts, truth.SequenceExperts));
        }
        return (Summarise(results), results);
    }

    /// <summary>Per task and difficulty: items, correct ones, mean per-token answer loss, experts per token.</summary>
    public static List<TaskEval> Summarise(IEnumerable<ItemResult> items) => items
        .GroupBy(i => (i.Task, i.Difficulty))
        .OrderBy(g => g.Key.Task, StringComparer.Ordinal).ThenBy(g => g.Key.Difficulty)
        .Select(g => new TaskEval(g.Key.Task, g.Key.Difficulty, g.Count(), g.Count(i => i.Correct == true),
            g.Average(i => -i.AnswerLogProb / Math.Max(1, i.AnswerTokens)), g.Average(i => i.SequenceExperts),
            g.Average(i => i.AnswerExperts))).ToList();
}
