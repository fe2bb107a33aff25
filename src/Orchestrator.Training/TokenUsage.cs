using Orchestrator.Training.Data;

namespace Orchestrator.Training;

/// <summary>Token-level routing records (the word a token belongs to, and the experts it used at
/// each layer) aggregated per token class and layer, and per word (averaged over layers).</summary>
public sealed class TokenUsage
{
    readonly Dictionary<(int layer, TokenClass cls), (long tokens, double experts)> classes = [];
    readonly Dictionary<string, (TokenClass cls, long tokens, double experts)> words = new(StringComparer.Ordinal);

    /// <param name="word">the word (pre-token) the token belongs to, as written</param>
    /// <param name="experts">(layer, experts used) for each MoE layer</param>
    public void Add(string word, IReadOnlyList<(int layer, int experts)> experts)
    {
        if (experts.Count == 0) return;
        var cls = BpeTokenizer.Classify(word);
        foreach (var (layer, k) in experts)
        {
            var acc = classes.GetValueOrDefault((layer, cls));
            classes[(layer, cls)] = (acc.tokens + 1, acc.experts + k);
        }
        var w = word.Trim().ToLowerInvariant();
        if (w.Length == 0) return;
        var wa = words.GetValueOrDefault(w, (cls, 0, 0));
        words[w] = (cls, wa.tokens + 1, wa.experts + experts.Average(e => e.experts));
    }

    public List<ClassUsage> Classes() => classes.OrderBy(k => k.Key.layer).ThenBy(k => k.Key.cls)
        .Select(k => new ClassUsage(k.Key.layer, BpeTokenizer.ClassName(k.Key.cls), k.Value.tokens,
            k.Value.experts / k.Value.tokens)).ToList();

    /// <summary>Words seen at least `minTokens` times (rarer ones are noise and bloat the store).</summary>
    public List<WordUsage> Words(int minTokens = 2) => words.Where(w => w.Value.tokens >= minTokens).OrderBy(w
        => w.Key, StringComparer.Ordinal)
        .Select(w => new WordUsage(w.Key, BpeTokenizer.ClassName(w.Value.cls), w.Value.tokens,
            w.Value.experts / w.Value.tokens)).ToList();
}
